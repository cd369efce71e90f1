package h5

import (
	"bytes"
	"fmt"
	"math"
)

// Element conversion to what h5py reads.
//
// h5py reads a dataset into the NumPy type matching the stored one, and
// libhdf5 converts elements on the way whenever that memory type is not
// identical to the stored type. Most stored types are identical (a
// little-endian int32 is an "<i4"), and then the bytes are the stored
// bytes. For the rest, a read gives the bytes h5py gives (SPEC §3: the
// mounted file read as user.h5.dtype equals ds[()]):
//
//   - fixed-length strings become null-padded: a null-terminated string
//     is cut at its first NUL, a space-padded one loses its trailing spaces,
//     and the rest of the element is zeros;
//   - integers and bitfields with fewer significant bits than their size
//     (N-bit types) are shifted to bit 0 and sign- or zero-extended;
//   - floats of a non-IEEE layout (N-bit floats, say) become the IEEE
//     float of their size, in their byte order;
//   - a compound any of whose members converts is rebuilt member by
//     member, so the bytes between members read as zeros; arrays and enums
//     convert their elements.
//
// Anything else (opaque, references, variable-length, 16-byte floats,
// integers wider than 8 bytes) keeps its stored bytes.

// ReadsConverted reports whether the dataset's bytes, as ReadAt gives
// them, differ in form from the stored elements (see the conversions
// above): writing such bytes back unchanged would not restore the file.
func (d *Dataset) ReadsConverted() bool { return d.conv != nil }

// converter converts whole elements of one datatype in place.
type converter struct {
	t       *Datatype
	plan    *convPlan
	scratch int // element size
}

type convKind int

const (
	convCopy convKind = iota
	convString
	convInteger
	convFloat
	convCompound
	convArray
)

type convPlan struct {
	kind    convKind
	t       *Datatype
	members []memberPlan // compound
	base    *convPlan    // array
	count   uint64       // array elements
}

type memberPlan struct {
	off, size uint64
	plan      *convPlan // nil: copy
}

// newConverter returns nil when elements of t read as stored.
func newConverter(t *Datatype) *converter {
	p := planFor(t, 0)
	if p == nil {
		return nil
	}
	return &converter{t: t, plan: p, scratch: int(t.Size)}
}

// planFor returns nil when t needs no conversion.
func planFor(t *Datatype, depth int) *convPlan {
	if t == nil || depth > 32 {
		return nil
	}
	switch t.Class {
	case ClassString:
		if t.StrPad != PadNullPad {
			return &convPlan{kind: convString, t: t}
		}
	case ClassInteger, ClassBitfield:
		if t.Size <= 8 && (t.BitOffset != 0 || (t.Precision != 0 && uint32(t.Precision) != 8*t.Size)) &&
			uint32(t.BitOffset)+uint32(t.Precision) <= 8*t.Size {
			return &convPlan{kind: convInteger, t: t}
		}
		if t.Class == ClassBitfield {
			// NumPy has no bitfield: the memory type is an integer, and
			// a compound holding one converts member by member.
			return &convPlan{kind: convCopy, t: t}
		}
	case ClassEnum:
		if b := planFor(t.Base, depth+1); b != nil && b.kind == convInteger {
			return &convPlan{kind: convInteger, t: t.Base}
		}
	case ClassFloat:
		if !ieeeLayout(t) && (t.Size == 2 || t.Size == 4 || t.Size == 8) && floatDecodable(t) {
			return &convPlan{kind: convFloat, t: t}
		}
	case ClassArray:
		if b := planFor(t.Base, depth+1); b != nil && t.Base.Size > 0 {
			return &convPlan{kind: convArray, t: t, base: b, count: t.ElementCount()}
		}
	case ClassCompound:
		var members []memberPlan
		any := false
		for _, m := range t.Members {
			mp := memberPlan{off: uint64(m.Offset), size: uint64(m.Type.Size), plan: planFor(m.Type, depth+1)}
			if mp.plan != nil {
				any = true
			}
			members = append(members, mp)
		}
		if any {
			return &convPlan{kind: convCompound, t: t, members: members}
		}
	}
	return nil
}

// ieeeLayout reports whether a float is the IEEE 754 binary format of its
// size (or x87 extended precision in 16 bytes), as NumPy keeps it.
func ieeeLayout(t *Datatype) bool {
	type layout struct {
		size                                         uint32
		prec, sign                                   uint16
		expLoc, expSize, mantLoc, mantSize, mantNorm uint8
		bias                                         uint32
	}
	l := layout{t.Size, t.Precision, uint16(t.SignLoc), t.ExpLoc, t.ExpSize, t.MantLoc, t.MantSize, t.MantNorm, t.ExpBias}
	if t.BitOffset != 0 {
		return false
	}
	switch l {
	case layout{2, 16, 15, 10, 5, 0, 10, 2, 15},
		layout{4, 32, 31, 23, 8, 0, 23, 2, 127},
		layout{8, 64, 63, 52, 11, 0, 52, 2, 1023}:
		return true
	}
	return t.Size > 8 // long double and wider: kept as stored
}

// floatDecodable reports whether decodeFloat can handle the layout.
func floatDecodable(t *Datatype) bool {
	bits := 8 * t.Size
	return t.ExpSize > 0 && t.ExpSize < 32 && t.MantSize > 0 && t.MantSize <= 63 &&
		uint32(t.ExpLoc)+uint32(t.ExpSize) <= bits && uint32(t.MantLoc)+uint32(t.MantSize) <= bits &&
		uint32(t.SignLoc) < bits
}

// convert converts the whole elements in buf in place.
func (c *converter) convert(buf []byte) {
	es := int(c.t.Size)
	tmp := make([]byte, es)
	for i := 0; i+es <= len(buf); i += es {
		el := buf[i : i+es]
		copy(tmp, el)
		c.plan.apply(tmp, el)
	}
}

// apply writes the converted src into dst (both one element of p.t).
func (p *convPlan) apply(src, dst []byte) {
	switch p.kind {
	case convString:
		n := len(src)
		switch p.t.StrPad {
		case PadNullTerm:
			for i, b := range src {
				if b == 0 {
					n = i
					break
				}
			}
		case PadSpacePad:
			for n > 0 && src[n-1] == ' ' {
				n--
			}
		}
		copy(dst, src[:n])
		clear(dst[n:])
	case convInteger:
		convertInteger(p.t, src, dst)
	case convFloat:
		convertFloat(p.t, src, dst)
	case convCompound:
		clear(dst)
		for _, m := range p.members {
			end := m.off + m.size
			if end > uint64(len(src)) {
				continue
			}
			if m.plan == nil {
				copy(dst[m.off:end], src[m.off:end])
			} else {
				m.plan.apply(src[m.off:end], dst[m.off:end])
			}
		}
	case convArray:
		es := uint64(p.t.Base.Size)
		for i := uint64(0); i < p.count && (i+1)*es <= uint64(len(src)); i++ {
			p.base.apply(src[i*es:(i+1)*es], dst[i*es:(i+1)*es])
		}
	default:
		copy(dst, src)
	}
}

// getBits returns n <= 64 bits of an element starting at bit pos (bit 0 is
// the least significant bit of the value in its byte order).
func getBits(data []byte, bigEndian bool, pos, n uint) uint64 {
	if len(data) <= 8 {
		var w uint64
		for i := range data {
			b := data[i]
			if bigEndian {
				b = data[len(data)-1-i]
			}
			w |= uint64(b) << (8 * uint(i))
		}
		if pos >= 64 {
			return 0
		}
		w >>= pos
		if n < 64 {
			w &= 1<<n - 1
		}
		return w
	}
	var v uint64
	for i := uint(0); i < n; i++ {
		bit := pos + i
		byteIdx := bit / 8
		if byteIdx >= uint(len(data)) {
			break
		}
		if bigEndian {
			byteIdx = uint(len(data)) - 1 - byteIdx
		}
		if data[byteIdx]>>(bit%8)&1 != 0 {
			v |= 1 << i
		}
	}
	return v
}

// putUint stores v in all of dst in the given byte order.
func putUint(dst []byte, bigEndian bool, v uint64) {
	n := len(dst)
	for i := 0; i < n; i++ {
		b := byte(0)
		if i < 8 {
			b = byte(v >> (8 * uint(i)))
		}
		if bigEndian {
			dst[n-1-i] = b
		} else {
			dst[i] = b
		}
	}
}

// convertInteger does what libhdf5's integer conversion does between an
// N-bit integer and the full-width one of the same size.
func convertInteger(t *Datatype, src, dst []byte) {
	prec := uint(t.Precision)
	if prec == 0 || prec > 64 {
		prec = uint(8 * t.Size)
	}
	v := getBits(src, t.BigEndian, uint(t.BitOffset), prec)
	if t.Signed && prec < 64 && v&(1<<(prec-1)) != 0 {
		v |= ^uint64(0) << prec
	}
	putUint(dst, t.BigEndian, v)
}

// DecodeFloat decodes one float element of any layout a datatype message
// can describe (IEEE half, single and double, x87 extended precision, N-bit
// and other odd layouts) to the nearest float64.
func DecodeFloat(t *Datatype, data []byte) (float64, error) {
	if t.Class != ClassFloat || uint64(len(data)) < uint64(t.Size) || t.Size > 32 {
		return 0, fmt.Errorf("h5: %d bytes are not a %d-byte float: %w", len(data), t.Size, ErrCorrupt)
	}
	bits := 8 * t.Size
	if t.ExpSize == 0 || t.ExpSize >= 32 || t.MantSize == 0 || t.MantSize > 64 ||
		uint32(t.ExpLoc)+uint32(t.ExpSize) > bits || uint32(t.MantLoc)+uint32(t.MantSize) > bits ||
		uint32(t.SignLoc) >= bits {
		return 0, fmt.Errorf("h5: float layout of %d bytes (exponent %d bits at %d, mantissa %d bits at %d): %w",
			t.Size, t.ExpSize, t.ExpLoc, t.MantSize, t.MantLoc, ErrUnsupported)
	}
	if ieeeLayout(t) {
		switch t.Size {
		case 4:
			return float64(math.Float32frombits(uint32(getBits(data[:4], t.BigEndian, 0, 32)))), nil
		case 8:
			return math.Float64frombits(getBits(data[:8], t.BigEndian, 0, 64)), nil
		}
	}
	return decodeFloat(t, data[:t.Size]), nil
}

// decodeFloat decodes a float of any layout a datatype message describes
// (with an implied or explicit leading mantissa bit) to a float64.
func decodeFloat(t *Datatype, data []byte) float64 {
	mant := getBits(data, t.BigEndian, uint(t.MantLoc), uint(t.MantSize))
	exp := int64(getBits(data, t.BigEndian, uint(t.ExpLoc), uint(t.ExpSize)))
	neg := getBits(data, t.BigEndian, uint(t.SignLoc), 1) != 0
	maxExp := int64(1)<<t.ExpSize - 1
	bias := int64(t.ExpBias)
	msize := int(t.MantSize)
	var f float64
	switch {
	case exp == maxExp && t.MantNorm == 2:
		if mant == 0 {
			f = math.Inf(1)
		} else {
			f = math.NaN()
		}
	case exp == maxExp:
		// The leading bit is stored: infinity has only it set.
		if mant&(1<<uint(msize-1)-1) == 0 {
			f = math.Inf(1)
		} else {
			f = math.NaN()
		}
	case t.MantNorm != 2:
		// The leading bit is stored: value = 0.mant or m.ant by the bias.
		f = math.Ldexp(float64(mant), int(exp-bias-int64(msize)+1))
	case exp == 0:
		f = math.Ldexp(float64(mant), int(1-bias-int64(msize)))
	default:
		f = math.Ldexp(float64(mant|1<<uint(msize)), int(exp-bias-int64(msize)))
	}
	if neg {
		f = math.Copysign(f, -1)
	}
	return f
}

// convertFloat converts a float of an odd layout to the IEEE float of the
// same size and byte order, rounding as libhdf5 does (see
// encodeFloatLayout).
func convertFloat(t *Datatype, src, dst []byte) {
	ieee := ieeeFloats[t.Size]
	if ieee == nil {
		return
	}
	if t.BigEndian {
		ieee = ieeeFloatsBE[t.Size]
	}
	encodeFloatLayout(ieee, decodeFloat(t, src), dst)
}

// ieeeFloats are the IEEE 754 layouts a read gives odd floats in.
var ieeeFloats, ieeeFloatsBE = ieeeLayouts(false), ieeeLayouts(true)

func ieeeLayouts(bigEndian bool) map[uint32]*Datatype {
	m := map[uint32]*Datatype{}
	for _, l := range []struct {
		size      uint32
		exp, bias uint32
		mant      uint8
	}{{2, 5, 15, 10}, {4, 8, 127, 23}, {8, 11, 1023, 52}} {
		m[l.size] = &Datatype{Class: ClassFloat, Size: l.size, BigEndian: bigEndian, Precision: uint16(8 * l.size),
			SignLoc: uint8(8*l.size - 1), ExpLoc: l.mant, ExpSize: uint8(l.exp), MantSize: l.mant, MantNorm: 2, ExpBias: l.bias}
	}
	return m
}

// Writing converted datasets: the inverse of the conversions above, as
// libhdf5 converts h5py's memory type into the stored one.

// unconvert turns whole elements in their read form (src) into their stored
// form, written over stored (which holds the elements as they are now, so
// that bits the conversion does not describe keep their stored values).
//
// before, when not nil, is the read form of stored as it was: a value
// (a string, a number, down to each member of a compound) that the write
// leaves as it read keeps its stored bytes. Converting it again would not
// be a no-op: the bits beside an N-bit value, and the bytes after a
// string's terminator, would be cleared, so writing back what was read
// (cp, an editor's save, a dd into one member of a compound element)
// would change bytes nobody wrote. h5py's writes of single fields leave
// the other members alone the same way.
func (c *converter) unconvert(src, before, stored []byte) {
	es := int(c.t.Size)
	for i := 0; i+es <= len(src) && i+es <= len(stored); i += es {
		var was []byte
		if before != nil {
			was = before[i : i+es]
		}
		c.plan.unapply(src[i:i+es], was, stored[i:i+es])
	}
}

// unapply writes the stored form of the read-form element src into dst.
func (p *convPlan) unapply(src, was, dst []byte) {
	if was != nil && bytes.Equal(src, was) {
		return
	}
	switch p.kind {
	case convString:
		// The read form is null-padded: the text ends at the first NUL.
		n := len(src)
		for i, b := range src {
			if b == 0 {
				n = i
				break
			}
		}
		copy(dst, src[:n])
		pad := byte(0)
		if p.t.StrPad == PadSpacePad {
			pad = ' '
		}
		// A string that fills a null-terminated field is stored whole,
		// as PyTables, pandas, netCDF and MATLAB store them and as a
		// written attribute is: libhdf5 reads it back whole, where its
		// conversion of h5py's values would cut the last byte for the
		// terminator and a reader would not get back what it wrote.
		for i := n; i < len(dst); i++ {
			dst[i] = pad
		}
	case convInteger:
		unconvertInteger(p.t, src, dst)
	case convFloat:
		encodeFloatLayout(p.t, decodeStoredIEEE(p.t, src), dst)
	case convCompound:
		for _, m := range p.members {
			end := m.off + m.size
			if end > uint64(len(src)) || end > uint64(len(dst)) {
				continue
			}
			if m.plan == nil {
				copy(dst[m.off:end], src[m.off:end])
			} else {
				m.plan.unapply(src[m.off:end], part(was, m.off, end), dst[m.off:end])
			}
		}
	case convArray:
		es := uint64(p.t.Base.Size)
		for i := uint64(0); i < p.count && (i+1)*es <= uint64(len(src)); i++ {
			p.base.unapply(src[i*es:(i+1)*es], part(was, i*es, (i+1)*es), dst[i*es:(i+1)*es])
		}
	default:
		copy(dst, src)
	}
}

// part is was[from:to], or nil when there is no earlier read form.
func part(was []byte, from, to uint64) []byte {
	if was == nil {
		return nil
	}
	return was[from:to]
}

// unconvertInteger stores a full-width integer in an N-bit field: values
// beyond the field's range clamp to its limits, as libhdf5's integer
// conversion does; the bits outside the field are zero.
func unconvertInteger(t *Datatype, src, dst []byte) {
	prec := uint(t.Precision)
	if prec == 0 || prec > 64 {
		prec = uint(8 * t.Size)
	}
	width := uint(8 * len(src))
	raw := getBits(src, t.BigEndian, 0, min(width, 64))
	var field uint64
	if t.Signed {
		v := int64(raw)
		if width < 64 {
			v = int64(raw<<(64-width)) >> (64 - width)
		}
		lo, hi := int64(-1)<<(prec-1), int64(1)<<(prec-1)-1
		if prec >= 64 {
			lo, hi = math.MinInt64, math.MaxInt64
		}
		v = max(lo, min(hi, v))
		field = uint64(v)
	} else {
		field = raw
		if prec < 64 {
			field = min(field, 1<<prec-1)
		}
	}
	if prec < 64 {
		field &= 1<<prec - 1
	}
	putUint(dst, t.BigEndian, field<<uint(t.BitOffset))
}

// decodeStoredIEEE reads the IEEE float of t's size and byte order that a
// read gave for an odd-layout float.
func decodeStoredIEEE(t *Datatype, src []byte) float64 {
	switch t.Size {
	case 2:
		return float16Value(uint16(getBits(src, t.BigEndian, 0, 16)))
	case 4:
		return float64(math.Float32frombits(uint32(getBits(src, t.BigEndian, 0, 32))))
	}
	return math.Float64frombits(getBits(src, t.BigEndian, 0, 64))
}

func float16Value(b uint16) float64 {
	exp := int(b>>10) & 0x1f
	mant := float64(b & 0x3ff)
	var f float64
	switch exp {
	case 0:
		f = math.Ldexp(mant, -24)
	case 31:
		if mant == 0 {
			f = math.Inf(1)
		} else {
			f = math.NaN()
		}
	default:
		f = math.Ldexp(mant+1024, exp-25)
	}
	if b&0x8000 != 0 {
		f = math.Copysign(f, -1)
	}
	return f
}

// encodeFloatLayout rounds f to the nearest value of t's layout and stores
// it in dst: beyond the largest finite value it is infinity, below the
// smallest subnormal zero. Halfway values round away from zero, not to
// even: libhdf5's conversion (H5T__conv_f_f) rounds up whenever the first
// bit it cuts off is set, except where that would carry the largest
// finite binade into infinity, where it cuts.
func encodeFloatLayout(t *Datatype, f float64, dst []byte) {
	msize := uint(t.MantSize)
	maxExp := uint64(1)<<t.ExpSize - 1
	bias := int64(t.ExpBias)
	neg := math.Signbit(f)
	f = math.Abs(f)
	var exp, mant uint64
	implied := t.MantNorm == 2
	switch {
	case math.IsNaN(f):
		// Every mantissa bit set, as libhdf5 writes any NaN (with the
		// leading bit stored, as in x87, that is a NaN too).
		exp, mant = maxExp, 1<<msize-1
	case math.IsInf(f, 0):
		exp = maxExp
		if !implied {
			mant = 1 << (msize - 1)
		}
	case f == 0:
	default:
		frac, e2 := math.Frexp(f) // f = frac·2^e2, frac in [0.5, 1)
		if implied {
			e := int64(e2) - 1 + bias
			if e <= 0 {
				m := math.Round(math.Ldexp(f, int(int64(msize)+bias-1)))
				if m >= math.Ldexp(1, int(msize)) {
					exp, mant = 1, 0
				} else {
					mant = uint64(m)
				}
			} else {
				m := math.Round((frac*2 - 1) * math.Ldexp(1, int(msize)))
				if m >= math.Ldexp(1, int(msize)) {
					if uint64(e)+1 == maxExp {
						m-- // the largest finite value, not infinity
					} else {
						m, e = 0, e+1
					}
				}
				if uint64(e) >= maxExp {
					exp, mant = maxExp, 0
				} else {
					exp, mant = uint64(e), uint64(m)
				}
			}
		} else {
			// The leading bit is stored: value = m · 2^(e-bias-msize+1).
			e := int64(e2) - 1 + bias
			m := math.Round(frac * math.Ldexp(1, int(msize)))
			if m >= math.Ldexp(1, int(msize)) {
				m, e = m/2, e+1
			}
			switch {
			case e >= int64(maxExp):
				exp, mant = maxExp, 1<<(msize-1)
			case e < 0:
				exp, mant = 0, 0
			default:
				exp, mant = uint64(e), uint64(m)
			}
		}
	}
	var w [32]byte
	out := w[:len(dst)]
	setBits(out, uint(t.MantLoc), msize, mant)
	setBits(out, uint(t.ExpLoc), uint(t.ExpSize), exp)
	if neg {
		setBits(out, uint(t.SignLoc), 1, 1)
	}
	if t.BigEndian {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	copy(dst, out)
}

// setBits sets n bits at bit pos of a little-endian buffer to v.
func setBits(b []byte, pos, n uint, v uint64) {
	for i := uint(0); i < n; i++ {
		bit := pos + i
		if bit/8 >= uint(len(b)) {
			return
		}
		if i < 64 && v>>i&1 != 0 {
			b[bit/8] |= 1 << (bit % 8)
		} else {
			b[bit/8] &^= 1 << (bit % 8)
		}
	}
}
