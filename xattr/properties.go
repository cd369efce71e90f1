package xattr

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/h5mount/h5mount/h5"
)

// Property is one read-only user.h5.* attribute of a dataset.
type Property struct {
	Name  string // full name, "user.h5.dtype"
	Value string
}

// PropertyNames lists the dataset properties in the order listxattr gives.
var PropertyNames = []string{
	"user.h5.dtype", "user.h5.shape", "user.h5.maxshape", "user.h5.chunks",
	"user.h5.compression", "user.h5.fillvalue", "user.h5.layout",
}

// DType is the NumPy type string of a datatype: "<f8", ">i4", "|u1",
// "|S10", "|b1"; a compound type is a JSON object NumPy accepts
// (names, formats, offsets, itemsize).
func DType(t *h5.Datatype) (string, error) {
	order := func() string {
		if t.Size == 1 {
			return "|"
		}
		if t.BigEndian {
			return ">"
		}
		return "<"
	}
	switch t.Class {
	case h5.ClassInteger:
		k := "u"
		if t.Signed {
			k = "i"
		}
		return fmt.Sprintf("%s%s%d", order(), k, t.Size), nil
	case h5.ClassBitfield:
		return fmt.Sprintf("%su%d", order(), t.Size), nil
	case h5.ClassTime:
		return fmt.Sprintf("%si%d", order(), t.Size), nil
	case h5.ClassFloat:
		return fmt.Sprintf("%sf%d", order(), t.Size), nil
	case h5.ClassString:
		return fmt.Sprintf("|S%d", t.Size), nil
	case h5.ClassOpaque:
		// h5py stores NumPy datetime64/timedelta64 as opaque types tagged
		// "NUMPY:<M8[s]" and reads them back as that NumPy type.
		if tag, ok := strings.CutPrefix(t.Tag, "NUMPY:"); ok && numpyTimeType(tag, t.Size) {
			return tag, nil
		}
		return fmt.Sprintf("|V%d", t.Size), nil
	case h5.ClassEnum:
		if isBool(t) {
			return "|b1", nil
		}
		return DType(t.Base)
	case h5.ClassVLen:
		return "|O", nil
	case h5.ClassComplex:
		if t.Base == nil || t.Base.Class != h5.ClassFloat {
			return "", fmt.Errorf("xattr: complex type without a float base: %w", h5.ErrCorrupt)
		}
		order := "<"
		if t.Base.BigEndian {
			order = ">"
		}
		return fmt.Sprintf("%sc%d", order, t.Size), nil
	case h5.ClassReference:
		if t.Size == 8 {
			return "<u8", nil
		}
		return fmt.Sprintf("|V%d", t.Size), nil
	case h5.ClassArray:
		base, err := DType(t.Base)
		if err != nil {
			return "", err
		}
		dims := make([]string, len(t.Dims))
		for i, d := range t.Dims {
			dims[i] = strconv.FormatUint(uint64(d), 10)
		}
		shape := strings.Join(dims, ",")
		if len(dims) == 1 {
			shape += ","
		}
		return "(" + shape + ")" + base, nil
	case h5.ClassCompound:
		if c, ok := complexDType(t); ok {
			return c, nil
		}
		descr := struct {
			Names    []string `json:"names"`
			Formats  []string `json:"formats"`
			Offsets  []uint32 `json:"offsets"`
			ItemSize uint32   `json:"itemsize"`
		}{ItemSize: t.Size}
		for _, m := range t.Members {
			f, err := DType(m.Type)
			if err != nil {
				return "", err
			}
			descr.Names = append(descr.Names, m.Name)
			descr.Formats = append(descr.Formats, f)
			descr.Offsets = append(descr.Offsets, m.Offset)
		}
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false) // "<f8" must stay readable
		if err := enc.Encode(descr); err != nil {
			return "", err
		}
		return strings.TrimSuffix(b.String(), "\n"), nil
	}
	return "", fmt.Errorf("xattr: no NumPy type for %v: %w", t.Class, h5.ErrUnsupported)
}

// numpyTimeType reports whether s is a NumPy datetime64 or timedelta64
// type string of size bytes, as "<M8[s]" or ">m8[us]".
func numpyTimeType(s string, size uint32) bool {
	if size != 8 || len(s) < 3 || (s[0] != '<' && s[0] != '>' && s[0] != '|') ||
		(s[1] != 'M' && s[1] != 'm') || s[2] != '8' {
		return false
	}
	rest := s[3:]
	if rest == "" {
		return true
	}
	if len(rest) < 3 || rest[0] != '[' || rest[len(rest)-1] != ']' {
		return false
	}
	for _, c := range rest[1 : len(rest)-1] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// complexDType recognises h5py's complex numbers: a compound of two equal
// floats named r and i, packed.
func complexDType(t *h5.Datatype) (string, bool) {
	if len(t.Members) != 2 || t.Members[0].Name != "r" || t.Members[1].Name != "i" {
		return "", false
	}
	r, i := t.Members[0], t.Members[1]
	if r.Type.Class != h5.ClassFloat || i.Type.Class != h5.ClassFloat || r.Type.Size != i.Type.Size ||
		r.Type.BigEndian != i.Type.BigEndian || r.Offset != 0 || i.Offset != r.Type.Size || t.Size != 2*r.Type.Size {
		return "", false
	}
	order := "<"
	if r.Type.BigEndian {
		order = ">"
	}
	return fmt.Sprintf("%sc%d", order, t.Size), true
}

// isBool recognises h5py's boolean: an 8-bit enum of FALSE=0, TRUE=1.
func isBool(t *h5.Datatype) bool {
	// A damaged enum can name members without values.
	return t.Size == 1 && len(t.Names) == 2 && t.Names[0] == "FALSE" && t.Names[1] == "TRUE" &&
		len(t.Values) == 2 && len(t.Values[0]) > 0 && len(t.Values[1]) > 0 &&
		t.Values[0][0] == 0 && t.Values[1][0] == 1
}

func joinDims(dims []uint64) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		if d == h5.Unlimited {
			parts[i] = "-1"
		} else {
			parts[i] = strconv.FormatUint(d, 10)
		}
	}
	return strings.Join(parts, ",")
}

// Compression describes the filter pipeline in the order the filters were
// applied, as h5py names the filters: "gzip:LEVEL" for deflate,
// "zstd:LEVEL", "shuffle", "fletcher32", "szip", "nbit", "scaleoffset",
// "lzf", "lz4", "bitshuffle", "blosc", "zfp", "sz", "blosc2", and "filterID" for any
// other filter (bzip2 is "filter307"): "shuffle,gzip:4", "lzf".
func Compression(filters []h5.Filter) string {
	parts := make([]string, 0, len(filters))
	for i := range filters {
		f := &filters[i]
		var name string
		switch f.ID {
		case 1:
			level := uint32(6)
			if len(f.Params) > 0 {
				level = f.Params[0]
			}
			name = fmt.Sprintf("gzip:%d", level)
		case 32015:
			name = "zstd"
			if len(f.Params) > 0 {
				name = fmt.Sprintf("zstd:%d", int32(f.Params[0]))
			}
		default:
			if n, ok := filterNames[f.ID]; ok {
				name = n
			} else {
				name = fmt.Sprintf("filter%d", f.ID)
			}
		}
		parts = append(parts, name)
	}
	return strings.Join(parts, ",")
}

// filterNames are the names h5py knows filters by.
var filterNames = map[uint16]string{
	2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset",
	32000: "lzf", 32001: "blosc", 32004: "lz4", 32008: "bitshuffle", 32013: "zfp", 32017: "sz", 32026: "blosc2",
}

// DatasetProperty computes one user.h5.* property; ok is false for names
// that are not properties.
func DatasetProperty(d *h5.Dataset, name string) (value string, ok bool, err error) {
	switch name {
	case "user.h5.dtype":
		v, err := DType(d.Type)
		return v, true, err
	case "user.h5.shape":
		return joinDims(d.Shape()), true, nil
	case "user.h5.maxshape":
		return joinDims(d.MaxShape()), true, nil
	case "user.h5.chunks":
		return joinDims(d.ChunkDims()), true, nil
	case "user.h5.compression":
		return Compression(d.Filters), true, nil
	case "user.h5.fillvalue":
		v, err := Value(d.Type, h5.Dataspace{Kind: h5.SpaceScalar}, d.FillValue(), d.File())
		return v, true, err
	case "user.h5.layout":
		return d.Layout().String(), true, nil
	}
	return "", false, nil
}
