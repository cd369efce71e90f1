package xattr

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/h5mount/h5mount/h5"
)

// rawBits reads an element's bytes as an unsigned integer in its byte
// order; elements wider than 8 bytes give their low 64 bits.
func rawBits(t *h5.Datatype, data []byte) uint64 {
	var v uint64
	n := len(data)
	for i := 0; i < n && i < 8; i++ {
		var b byte
		if t.BigEndian {
			b = data[n-1-i]
		} else {
			b = data[i]
		}
		v |= uint64(b) << (8 * uint(i))
	}
	return v
}

func formatInteger(t *h5.Datatype, data []byte) string {
	if len(data) > 8 {
		return formatBigInteger(t, data)
	}
	v := rawBits(t, data)
	prec := uint(t.Precision)
	if prec == 0 || prec > 64 {
		prec = uint(len(data) * 8)
	}
	v >>= uint(t.BitOffset)
	if prec < 64 {
		v &= 1<<prec - 1
	}
	if t.Signed && prec > 0 && v&(1<<(prec-1)) != 0 {
		if prec < 64 {
			v |= ^uint64(0) << prec
		}
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatUint(v, 10)
}

func formatBigInteger(t *h5.Datatype, data []byte) string {
	be := make([]byte, len(data))
	for i := range data {
		if t.BigEndian {
			be[i] = data[i]
		} else {
			be[i] = data[len(data)-1-i]
		}
	}
	v := new(big.Int).SetBytes(be)
	if t.Signed && be[0]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(data))))
	}
	return v.String()
}

// FloatValue decodes a float element of any layout the datatype message
// can describe (float16, float32, float64, x87 long double and odd ones)
// to the nearest float64.
func FloatValue(t *h5.Datatype, data []byte) (float64, error) {
	return h5.DecodeFloat(t, data)
}

func formatFloat(t *h5.Datatype, data []byte) (string, error) {
	v, err := FloatValue(t, data)
	if err != nil {
		return "", err
	}
	// h5py reads a float as the NumPy float of its size; wider ones
	// (long double) are shown at double precision.
	bits := 64
	switch t.Size {
	case 2:
		bits = 16
	case 4:
		bits = 32
	}
	return FormatFloat(v, bits), nil
}

// FormatFloat writes v as Python's repr does: the shortest digits that
// round-trip at the given precision, positional between 1e-4 and 1e16,
// always with a '.' or an exponent ("10.0", "1e-05", "1.5e+16").
func FormatFloat(v float64, bits int) string {
	switch {
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	case math.IsNaN(v):
		return "nan"
	}
	var e string
	if bits == 16 {
		e = shortestFloat16(v)
	} else {
		if bits != 32 {
			bits = 64
		}
		e = strconv.FormatFloat(v, 'e', -1, bits)
	}
	// e is "-d.ddde±XX": split into sign, digits and exponent.
	sign := ""
	if e[0] == '-' {
		sign, e = "-", e[1:]
	}
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	digits := strings.Replace(mant, ".", "", 1)
	if exp < -4 || exp >= 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		es := "+"
		if exp < 0 {
			es, exp = "-", -exp
		}
		return fmt.Sprintf("%s%se%s%02d", sign, m, es, exp)
	}
	var s string
	switch {
	case exp < 0:
		s = "0." + strings.Repeat("0", -exp-1) + digits
	case exp+1 >= len(digits):
		s = digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
	default:
		s = digits[:exp+1] + "." + digits[exp+1:]
	}
	return sign + s
}

// shortestFloat16 finds the fewest significant digits that round back to
// the same half-precision value.
//
// At each number of digits there are two candidates, the decimals just
// below and just above v: the nearest (what rounding v gives) may miss
// where the other does not, as for 0.015625, a power of two where the
// spacing of halves changes (0.01562 rounds to the half below it, 0.01563
// back to it): NumPy shows 0.01563.
func shortestFloat16(v float64) string {
	want := toFloat16Bits(v)
	for prec := 0; prec < 17; prec++ {
		s := strconv.FormatFloat(v, 'e', prec, 64)
		p, _ := strconv.ParseFloat(s, 64)
		if toFloat16Bits(p) == want {
			return s
		}
		// The decimal on v's other side, one unit of the last digit away.
		_, expStr, _ := strings.Cut(s, "e")
		exp, _ := strconv.Atoi(expStr)
		unit := math.Pow(10, float64(exp-prec))
		other := p + unit
		if p > v {
			other = p - unit
		}
		if o := strconv.FormatFloat(other, 'e', prec, 64); o != s {
			if q, _ := strconv.ParseFloat(o, 64); toFloat16Bits(q) == want {
				return o
			}
		}
	}
	return strconv.FormatFloat(v, 'e', -1, 64)
}

// toFloat16Bits rounds a float64 to the nearest half-precision value and
// returns its bits (round half to even), enough to compare two values.
func toFloat16Bits(f float64) uint16 {
	b := math.Float32bits(float32(f))
	sign := uint16(b>>16) & 0x8000
	exp := int((b>>23)&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case exp >= 31:
		return sign | 0x7c00
	case exp <= 0:
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - exp)
		half := uint32(1) << (shift - 1)
		r := mant >> shift
		if rem := mant & (1<<shift - 1); rem > half || rem == half && r&1 == 1 {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(exp)<<10 | mant>>13
	if rem := mant & 0x1fff; rem > 0x1000 || rem == 0x1000 && r&1 == 1 {
		r++
	}
	return sign | uint16(r)
}
