package xattr

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/h5mount/h5mount/h5"
)

// Text to values: the inverse of Value, for setfattr (SPEC §5).

// ErrInvalid is text that does not fit the type or shape it is parsed
// into: the mount answers EINVAL and changes nothing.
var ErrInvalid = errors.New("xattr: value does not fit")

func invalidf(format string, a ...any) error {
	return fmt.Errorf("xattr: "+format+": %w", append(a, ErrInvalid)...)
}

// Parsed is a value ready to store: Bytes holds fixed-size elements in the
// type's byte order; for a variable-length string type Strings holds one
// string per element instead.
type Parsed struct {
	Bytes   []byte
	Strings []string
}

// ParseValue parses text into the given type and shape (nil dims: a
// scalar), as Value renders them: a scalar bare, anything with dimensions
// as nested JSON arrays.
func ParseValue(t *h5.Datatype, dims []uint64, text string) (Parsed, error) {
	var p Parsed
	if len(dims) == 0 {
		var v any = text
		if !isTextual(t) {
			var err error
			if v, err = decodeJSON(text); err != nil {
				return p, err
			}
		}
		err := appendElement(&p, t, v, true)
		return p, err
	}
	v, err := decodeJSON(text)
	if err != nil {
		return p, err
	}
	return p, appendArray(&p, t, dims, v)
}

// isTextual reports whether a scalar of this type is written as bare text.
func isTextual(t *h5.Datatype) bool {
	return t.Class == h5.ClassString || t.Class == h5.ClassEnum || (t.Class == h5.ClassVLen && t.VLenStr)
}

func decodeJSON(text string) (any, error) {
	d := json.NewDecoder(strings.NewReader(quoteSpecialFloats(strings.TrimSpace(text))))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		// Python's spellings of the special floats.
		switch strings.ToLower(strings.TrimSpace(text)) {
		case "nan", "inf", "+inf", "-inf", "infinity", "-infinity":
			return json.Number(strings.TrimSpace(text)), nil
		}
		return nil, invalidf("%q is not a value", text)
	}
	if d.More() {
		return nil, invalidf("%q has text after its value", text)
	}
	return unmarkSpecialFloats(v), nil
}

// specialFloats are the spellings of NaN and infinity that Python, NumPy
// and the attribute text (for lists: [nan, inf, -inf]) use; JSON has none.
var specialFloats = []string{"-infinity", "+infinity", "infinity", "-inf", "+inf", "inf", "-nan", "+nan", "nan"}

// specialMark starts a JSON string that stands for a special float:
// quoteSpecialFloats makes them, unmarkSpecialFloats turns them back into
// numbers once the JSON is decoded.
const specialMark = "\x00"

// quoteSpecialFloats quotes the bare special floats of text (outside JSON
// strings) so that a JSON decoder takes them.
func quoteSpecialFloats(text string) string {
	var out strings.Builder
	inString, escaped := false, false
	for i := 0; i < len(text); i++ {
		c := text[i]
		if inString {
			out.WriteByte(c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			out.WriteByte(c)
			continue
		}
		if i == 0 || !isWordByte(text[i-1]) {
			if tok := specialAt(text[i:]); tok != "" {
				out.WriteString(`"\u0000` + tok + `"`)
				i += len(tok) - 1
				continue
			}
		}
		out.WriteByte(c)
	}
	return out.String()
}

func specialAt(s string) string {
	for _, sp := range specialFloats {
		if len(s) >= len(sp) && strings.EqualFold(s[:len(sp)], sp) && (len(s) == len(sp) || !isWordByte(s[len(sp)])) {
			return s[:len(sp)]
		}
	}
	return ""
}

func isWordByte(c byte) bool {
	return c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func unmarkSpecialFloats(v any) any {
	switch x := v.(type) {
	case string:
		if rest, ok := strings.CutPrefix(x, specialMark); ok {
			return json.Number(rest)
		}
	case []any:
		for i := range x {
			x[i] = unmarkSpecialFloats(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = unmarkSpecialFloats(x[k])
		}
	}
	return v
}

func appendArray(p *Parsed, t *h5.Datatype, dims []uint64, v any) error {
	if len(dims) == 0 {
		return appendElement(p, t, v, false)
	}
	list, ok := v.([]any)
	if !ok || uint64(len(list)) != dims[0] {
		return invalidf("want a list of %d", dims[0])
	}
	for _, x := range list {
		if err := appendArray(p, t, dims[1:], x); err != nil {
			return err
		}
	}
	return nil
}

// appendElement adds one element; top says it stood alone (a string is then
// the bare text, not JSON).
func appendElement(p *Parsed, t *h5.Datatype, v any, top bool) error {
	switch t.Class {
	case h5.ClassInteger, h5.ClassBitfield, h5.ClassTime:
		n, ok := v.(json.Number)
		if !ok {
			return invalidf("%v is not an integer", v)
		}
		b, err := encodeInteger(t, string(n))
		if err != nil {
			return err
		}
		p.Bytes = append(p.Bytes, b...)
	case h5.ClassFloat:
		n, ok := v.(json.Number)
		if !ok {
			return invalidf("%v is not a number", v)
		}
		f, err := parseFloat(string(n))
		if err != nil {
			return err
		}
		b, err := encodeFloat(t, f)
		if err != nil {
			return err
		}
		p.Bytes = append(p.Bytes, b...)
	case h5.ClassString:
		s, ok := v.(string)
		if !ok {
			return invalidf("%v is not a string", v)
		}
		// A null-terminated string that fills its size is stored without
		// the terminator, as netCDF and MATLAB write them and as reading
		// shows them: what getfattr printed, setfattr takes back.
		if uint64(len(s)) > uint64(t.Size) {
			return invalidf("%q does not fit %d bytes", s, t.Size)
		}
		b := make([]byte, t.Size)
		copy(b, s)
		if t.StrPad == h5.PadSpacePad {
			for i := len(s); i < len(b); i++ {
				b[i] = ' '
			}
		}
		p.Bytes = append(p.Bytes, b...)
	case h5.ClassVLen:
		if !t.VLenStr {
			return invalidf("variable-length sequences cannot be set")
		}
		s, ok := v.(string)
		if !ok {
			return invalidf("%v is not a string", v)
		}
		p.Strings = append(p.Strings, s)
	case h5.ClassEnum:
		name, isName := v.(string)
		for i, n := range t.Names {
			if isName && n == name {
				p.Bytes = append(p.Bytes, t.Values[i]...)
				return nil
			}
		}
		if isName && top {
			// A bare number names the member of that value.
			if _, err := strconv.ParseInt(strings.TrimSpace(name), 10, 64); err == nil {
				v = json.Number(strings.TrimSpace(name))
			}
		}
		n, ok := v.(json.Number)
		if !ok {
			return invalidf("%v is no member of the enum", v)
		}
		b, err := encodeInteger(t.Base, string(n))
		if err != nil {
			return err
		}
		for _, val := range t.Values {
			if bytes.Equal(val, b) {
				p.Bytes = append(p.Bytes, b...)
				return nil
			}
		}
		return invalidf("%s is no member of the enum", n)
	case h5.ClassArray:
		dims := make([]uint64, len(t.Dims))
		for i, d := range t.Dims {
			dims[i] = uint64(d)
		}
		return appendArray(p, t.Base, dims, v)
	case h5.ClassCompound:
		if c, ok := complexDType(t); ok && c != "" {
			return appendComplex(p, t, v)
		}
		obj, ok := v.(map[string]any)
		if !ok || len(obj) != len(t.Members) {
			return invalidf("want an object of %d members", len(t.Members))
		}
		elem := make([]byte, t.Size)
		for _, m := range t.Members {
			mv, ok := obj[m.Name]
			if !ok {
				return invalidf("member %q missing", m.Name)
			}
			var sub Parsed
			if err := appendElement(&sub, m.Type, mv, false); err != nil {
				return err
			}
			if sub.Strings != nil || uint64(len(sub.Bytes)) != uint64(m.Type.Size) {
				return invalidf("member %q cannot be set", m.Name)
			}
			copy(elem[m.Offset:], sub.Bytes)
		}
		p.Bytes = append(p.Bytes, elem...)
	case h5.ClassComplex:
		return appendComplex(p, t, v)
	default:
		return invalidf("values of class %v cannot be set", t.Class)
	}
	return nil
}

// appendComplex takes [re, im] for a complex number.
func appendComplex(p *Parsed, t *h5.Datatype, v any) error {
	base := t.Base
	if base == nil && len(t.Members) == 2 {
		base = t.Members[0].Type
	}
	list, ok := v.([]any)
	if !ok || len(list) != 2 || base == nil {
		return invalidf("want [re, im]")
	}
	for _, x := range list {
		if err := appendElement(p, base, x, false); err != nil {
			return err
		}
	}
	return nil
}

// encodeInteger is n in the integer type t, range-checked.
func encodeInteger(t *h5.Datatype, n string) ([]byte, error) {
	v, ok := new(big.Int).SetString(strings.TrimSpace(n), 10)
	if !ok {
		return nil, invalidf("%q is not an integer", n)
	}
	bits := uint(t.Precision)
	if bits == 0 || bits > 8*uint(t.Size) {
		bits = 8 * uint(t.Size)
	}
	lo, hi := new(big.Int), new(big.Int).Lsh(big.NewInt(1), bits)
	if t.Signed {
		hi.Rsh(hi, 1)
		lo.Neg(hi)
	}
	hi.Sub(hi, big.NewInt(1))
	if v.Cmp(lo) < 0 || v.Cmp(hi) > 0 {
		return nil, invalidf("%s is outside [%s, %s]", n, lo, hi)
	}
	if v.Sign() < 0 {
		v.Add(v, new(big.Int).Lsh(big.NewInt(1), 8*uint(t.Size)))
	}
	v.Lsh(v, uint(t.BitOffset))
	out := make([]byte, t.Size)
	be := v.Bytes() // big-endian magnitude
	for i := 0; i < len(be) && i < len(out); i++ {
		out[i] = be[len(be)-1-i]
	}
	if t.BigEndian {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

func parseFloat(s string) (float64, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "nan", "-nan", "+nan":
		return math.NaN(), nil
	case "inf", "+inf", "infinity":
		return math.Inf(1), nil
	case "-inf", "-infinity":
		return math.Inf(-1), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, invalidf("%q is not a number", s)
	}
	return f, nil
}

// encodeFloat is f in an IEEE float type of 2, 4 or 8 bytes.
func encodeFloat(t *h5.Datatype, f float64) ([]byte, error) {
	out := make([]byte, t.Size)
	switch {
	case t.Size == 8 && t.MantSize == 52:
		binary.LittleEndian.PutUint64(out, math.Float64bits(f))
	case t.Size == 4 && t.MantSize == 23:
		if !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) > math.MaxFloat32 {
			return nil, invalidf("%g overflows a 32-bit float", f)
		}
		binary.LittleEndian.PutUint32(out, math.Float32bits(float32(f)))
	case t.Size == 2 && t.MantSize == 10:
		if !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) > 65504 {
			return nil, invalidf("%g overflows a 16-bit float", f)
		}
		binary.LittleEndian.PutUint16(out, toFloat16Bits(f))
	default:
		return nil, invalidf("floats of %d bytes cannot be set", t.Size)
	}
	if t.BigEndian {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// InferValue types a new attribute from its text (SPEC §5): an integer is
// an int64, a float a float64, a JSON array of numbers an int64 or float64
// array (nested lists make more dimensions), anything else a
// variable-length UTF-8 string, as h5py writes a Python str.
func InferValue(text string) (*h5.Datatype, []uint64, Parsed, error) {
	trimmed := strings.TrimSpace(text)
	if trimmed != "" && (trimmed[0] == '[' || isNumberText(trimmed)) {
		if v, err := decodeJSON(trimmed); err == nil {
			if t, dims, ok := numericShape(v); ok {
				p, err := ParseValue(t, dims, trimmed)
				if err == nil {
					return t, dims, p, nil
				}
			}
		}
	}
	return VLenStringType(), nil, Parsed{Strings: []string{text}}, nil
}

// isNumberText reports whether text is an integer or float as Python
// prints them (nan and inf included).
func isNumberText(s string) bool {
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return true
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return !strings.ContainsAny(s, "xXpP_") // no hex floats
	}
	return false
}

// numericShape finds the type and shape of a number or rectangular list of
// numbers: int64 when every number is an integer, else float64.
func numericShape(v any) (*h5.Datatype, []uint64, bool) {
	allInt := true
	var dims []uint64
	var walk func(v any, depth int) bool
	walk = func(v any, depth int) bool {
		switch x := v.(type) {
		case json.Number:
			if depth != len(dims) {
				return false
			}
			if _, err := strconv.ParseInt(string(x), 10, 64); err != nil {
				if _, err := parseFloat(string(x)); err != nil {
					return false
				}
				allInt = false
			}
			return true
		case []any:
			if depth == len(dims) {
				if len(x) == 0 {
					return false
				}
				dims = append(dims, uint64(len(x)))
			} else if depth > len(dims) || dims[depth] != uint64(len(x)) {
				return false
			}
			for _, e := range x {
				if !walk(e, depth+1) {
					return false
				}
			}
			return true
		}
		return false
	}
	if !walk(v, 0) {
		return nil, nil, false
	}
	if allInt {
		return Int64Type(), dims, true
	}
	return Float64Type(), dims, true
}

// Int64Type is a little-endian int64, as libhdf5's H5T_STD_I64LE.
func Int64Type() *h5.Datatype {
	return &h5.Datatype{Class: h5.ClassInteger, Version: 1, Size: 8, Signed: true, Precision: 64}
}

// Float64Type is a little-endian IEEE double, as H5T_IEEE_F64LE.
func Float64Type() *h5.Datatype { return floatType(8, false) }

// VLenStringType is a variable-length UTF-8 string, as h5py stores a str.
func VLenStringType() *h5.Datatype {
	return &h5.Datatype{Class: h5.ClassVLen, Version: 1, Size: 16, VLenStr: true, StrPad: h5.PadNullTerm, CharSet: h5.CharSetUTF8,
		Base: &h5.Datatype{Class: h5.ClassInteger, Version: 1, Size: 1, Precision: 8}}
}

// floatType is an IEEE float of 2, 4 or 8 bytes with libhdf5's field
// layout.
func floatType(size uint32, bigEndian bool) *h5.Datatype {
	t := &h5.Datatype{Class: h5.ClassFloat, Version: 1, Size: size, BigEndian: bigEndian, Precision: uint16(8 * size), MantNorm: 2}
	switch size {
	case 2:
		t.SignLoc, t.ExpLoc, t.ExpSize, t.MantSize, t.ExpBias = 15, 10, 5, 10, 15
	case 4:
		t.SignLoc, t.ExpLoc, t.ExpSize, t.MantSize, t.ExpBias = 31, 23, 8, 23, 127
	default:
		t.SignLoc, t.ExpLoc, t.ExpSize, t.MantSize, t.ExpBias = 63, 52, 11, 52, 1023
	}
	return t
}
