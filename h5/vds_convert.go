package h5

import (
	"math"
)

// A virtual dataset may map sources of another numeric type than its own
// (int32 detector frames seen as float64, say): libhdf5 converts each
// source element to the virtual dataset's type as it reads, and so does a
// mount. The conversions are libhdf5's hard ones: integers that do not fit
// clip to the destination's range, floats truncate toward zero into
// integers (NaN becomes 0) and round to nearest into narrower floats (past
// the largest finite value, infinity).

// numericConvertible reports whether elements of t can be converted.
func numericConvertible(t *Datatype) bool {
	switch t.Class {
	case ClassInteger:
		return t.Size >= 1 && t.Size <= 8 && t.Precision > 0 && uint32(t.BitOffset)+uint32(t.Precision) <= 8*t.Size
	case ClassFloat:
		return t.Size <= 16 && floatDecodable(t)
	}
	return false
}

// number is one element's value: a float, or an integer as its sign and
// magnitude (so that every int64 and uint64 fits).
type number struct {
	isFloat bool
	f       float64
	neg     bool
	mag     uint64
}

func decodeNumber(t *Datatype, src []byte) number {
	if t.Class == ClassFloat {
		f, err := DecodeFloat(t, src)
		if err != nil {
			f = math.NaN()
		}
		return number{isFloat: true, f: f}
	}
	prec := uint(t.Precision)
	v := getBits(src[:t.Size], t.BigEndian, uint(t.BitOffset), prec)
	if t.Signed && v&(1<<(prec-1)) != 0 {
		x := int64(v<<(64-prec)) >> (64 - prec)
		return number{neg: true, mag: uint64(^x) + 1}
	}
	return number{mag: v}
}

// encodeNumber stores v in dst as one element of t.
func encodeNumber(t *Datatype, v number, dst []byte) {
	dst = dst[:t.Size]
	if t.Class == ClassFloat {
		f := v.f
		if !v.isFloat {
			f = float64(v.mag)
			if v.neg {
				f = -f
			}
		}
		switch {
		case ieeeLayout(t) && t.Size == 4:
			putUint(dst, t.BigEndian, uint64(math.Float32bits(float32(f))))
		case ieeeLayout(t) && t.Size == 8:
			putUint(dst, t.BigEndian, math.Float64bits(f))
		default:
			encodeFloatLayout(t, f, dst)
		}
		return
	}
	prec := uint(t.Precision)
	// The range of t, as a sign and magnitude: [-lo, hi].
	hi, lo := uint64(math.MaxUint64)>>(64-prec), uint64(0)
	if t.Signed {
		hi, lo = hi>>1, hi>>1+1
	}
	neg, mag := v.neg, v.mag
	if v.isFloat {
		switch f := math.Trunc(v.f); {
		case math.IsNaN(f):
			neg, mag = false, 0
		case f >= float64(hi):
			neg, mag = false, hi
		case f <= -float64(lo):
			neg, mag = true, lo
		case f < 0:
			neg, mag = true, uint64(-f)
		default:
			neg, mag = false, uint64(f)
		}
	}
	switch {
	case neg && mag > lo:
		mag = lo
	case !neg && mag > hi:
		mag = hi
	}
	bits := mag
	if neg {
		bits = -mag // two's complement, cut to prec bits below
	}
	bits &= uint64(math.MaxUint64) >> (64 - prec)
	putUint(dst, t.BigEndian, bits<<t.BitOffset)
}

// convertNumbers converts n elements of type from in src into elements of
// type to in dst.
func convertNumbers(from, to *Datatype, src, dst []byte, n int) {
	fs, ts := int(from.Size), int(to.Size)
	for i := 0; i < n; i++ {
		encodeNumber(to, decodeNumber(from, src[i*fs:]), dst[i*ts:])
	}
}
