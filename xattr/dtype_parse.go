package xattr

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/h5mount/h5mount/h5"
)

// numpyNames maps NumPy's type names to type strings.
var numpyNames = map[string]string{
	"bool": "|b1", "int8": "|i1", "uint8": "|u1", "int16": "<i2", "uint16": "<u2",
	"int32": "<i4", "uint32": "<u4", "int64": "<i8", "uint64": "<u8",
	"float16": "<f2", "float32": "<f4", "float64": "<f8", "float": "<f8", "int": "<i8",
	"double": "<f8", "single": "<f4", "half": "<f2", "complex64": "<c8", "complex128": "<c16", "complex": "<c16",
}

// ParseDType parses a user.h5.dtype value: a NumPy type string ("<f8",
// ">i4", "|u1", "|b1", "|S10", "<c16", "(3,)<f4"), a NumPy name
// ("float32", "uint8", "bool"), or the JSON compound form DType writes.
// The type is the one h5py creates for it.
func ParseDType(text string) (*h5.Datatype, error) {
	s := strings.TrimSpace(text)
	if strings.HasPrefix(s, "{") {
		return parseCompoundDType(s)
	}
	if strings.HasPrefix(s, "(") {
		end := strings.IndexByte(s, ')')
		if end < 0 {
			return nil, invalidf("dtype %q", text)
		}
		var dims []uint32
		size := uint64(1)
		for _, part := range strings.Split(s[1:end], ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			n, err := strconv.ParseUint(part, 10, 32)
			if err != nil || n == 0 {
				return nil, invalidf("dtype %q", text)
			}
			dims = append(dims, uint32(n))
			size *= n
		}
		base, err := ParseDType(s[end+1:])
		if err != nil || len(dims) == 0 || size*uint64(base.Size) > 1<<32-1 {
			return nil, invalidf("dtype %q", text)
		}
		return &h5.Datatype{Class: h5.ClassArray, Size: uint32(size) * base.Size, Dims: dims, Base: base}, nil
	}
	if canon, ok := numpyNames[strings.ToLower(s)]; ok {
		s = canon
	}
	order := byte('<')
	if s != "" && strings.ContainsRune("<>|=", rune(s[0])) {
		order, s = s[0], s[1:]
	}
	if len(s) < 2 {
		return nil, invalidf("dtype %q", text)
	}
	kind, sizeText := s[0], s[1:]
	size, err := strconv.ParseUint(sizeText, 10, 32)
	if err != nil || size == 0 || size > 1<<31 {
		return nil, invalidf("dtype %q", text)
	}
	be := order == '>'
	switch kind {
	case 'i', 'u':
		if size != 1 && size != 2 && size != 4 && size != 8 {
			return nil, invalidf("dtype %q", text)
		}
		return &h5.Datatype{Class: h5.ClassInteger, Version: 1, Size: uint32(size), BigEndian: be, Signed: kind == 'i', Precision: uint16(8 * size)}, nil
	case 'f':
		if size != 2 && size != 4 && size != 8 {
			return nil, invalidf("dtype %q: floats of 2, 4 or 8 bytes", text)
		}
		return floatType(uint32(size), be), nil
	case 'c':
		if size != 8 && size != 16 {
			return nil, invalidf("dtype %q", text)
		}
		f := floatType(uint32(size/2), be)
		return &h5.Datatype{Class: h5.ClassCompound, Version: 1, Size: uint32(size),
			Members: []h5.Member{{Name: "r", Offset: 0, Type: f}, {Name: "i", Offset: uint32(size / 2), Type: floatType(uint32(size/2), be)}}}, nil
	case 'b':
		if size != 1 {
			return nil, invalidf("dtype %q", text)
		}
		return BoolType(), nil
	case 'S':
		return &h5.Datatype{Class: h5.ClassString, Version: 1, Size: uint32(size), StrPad: h5.PadNullPad, CharSet: h5.CharSetASCII}, nil
	case 'V':
		return &h5.Datatype{Class: h5.ClassOpaque, Version: 1, Size: uint32(size)}, nil
	}
	return nil, invalidf("dtype %q", text)
}

// BoolType is h5py's bool: an enum over int8 of FALSE=0 and TRUE=1.
func BoolType() *h5.Datatype {
	base := &h5.Datatype{Class: h5.ClassInteger, Version: 1, Size: 1, Signed: true, Precision: 8}
	return &h5.Datatype{Class: h5.ClassEnum, Version: 1, Size: 1, Base: base,
		Names: []string{"FALSE", "TRUE"}, Values: [][]byte{{0}, {1}}}
}

func parseCompoundDType(s string) (*h5.Datatype, error) {
	var descr struct {
		Names    []string `json:"names"`
		Formats  []string `json:"formats"`
		Offsets  []uint32 `json:"offsets"`
		ItemSize uint32   `json:"itemsize"`
	}
	if err := json.Unmarshal([]byte(s), &descr); err != nil || len(descr.Names) == 0 || len(descr.Names) != len(descr.Formats) {
		return nil, invalidf("compound dtype %q", s)
	}
	t := &h5.Datatype{Class: h5.ClassCompound, Size: descr.ItemSize}
	var off uint32
	for i, name := range descr.Names {
		mt, err := ParseDType(descr.Formats[i])
		if err != nil {
			return nil, err
		}
		if i < len(descr.Offsets) {
			off = descr.Offsets[i]
		}
		t.Members = append(t.Members, h5.Member{Name: name, Offset: off, Type: mt})
		off += mt.Size
	}
	if t.Size == 0 {
		t.Size = off
	}
	for _, m := range t.Members {
		if uint64(m.Offset)+uint64(m.Type.Size) > uint64(t.Size) {
			return nil, invalidf("compound dtype %q: member %q past the item size", s, m.Name)
		}
	}
	return t, nil
}

// ParseShape parses "1024,1024,1024,512" (spaces and parentheses allowed);
// "" is a scalar (nil).
func ParseShape(text string) ([]uint64, error) {
	s := strings.Trim(strings.TrimSpace(text), "()[]")
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var dims []uint64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.ParseUint(part, 10, 64)
		if err != nil || n == h5.Unlimited {
			return nil, invalidf("shape %q", text)
		}
		dims = append(dims, n)
	}
	if len(dims) > 32 {
		return nil, invalidf("shape %q has more than 32 dimensions", text)
	}
	return dims, nil
}

// ParseMaxShape parses a maximum shape: -1 or None is unlimited. It must
// have shape's rank and hold shape.
func ParseMaxShape(text string, shape []uint64) ([]uint64, error) {
	s := strings.Trim(strings.TrimSpace(text), "()[]")
	var dims []uint64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		switch part {
		case "":
			continue
		case "-1", "None", "none", "inf":
			dims = append(dims, h5.Unlimited)
			continue
		}
		n, err := strconv.ParseUint(part, 10, 64)
		if err != nil {
			return nil, invalidf("maxshape %q", text)
		}
		dims = append(dims, n)
	}
	if len(dims) != len(shape) {
		return nil, invalidf("maxshape %q for a shape of rank %d", text, len(shape))
	}
	for i, d := range dims {
		if d != h5.Unlimited && d < shape[i] {
			return nil, invalidf("maxshape %q below the shape", text)
		}
	}
	return dims, nil
}

// writableFilters are the names ParseCompression takes.
const writableFilters = "gzip, zstd, lzf, lz4, shuffle, bitshuffle, bitshuffle:lz4, bitshuffle:zstd, blosc, blosc:COMPRESSOR:LEVEL, szip, szip:nn|ec:PIXELS, fletcher32"

// bloscCompressors are c-blosc's compressors by their code.
var bloscCompressors = []string{"blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd"}

// ParseCompression parses a filter pipeline as Compression writes it:
// "gzip" (level 4, as h5py), "gzip:6", "shuffle,gzip:4", "zstd:3", "lzf",
// "lz4", "bitshuffle", "blosc:lz4:5", "szip", "szip:ec:16", "fletcher32"; "" or "none" is no filter. The
// filters carry the ids, flags, names and parameters h5py gives them;
// parameters that depend on the datatype are filled in at creation.
func ParseCompression(text string) ([]h5.Filter, error) {
	s := strings.TrimSpace(text)
	if s == "" || s == "none" {
		return nil, nil
	}
	var out []h5.Filter
	for _, part := range strings.Split(s, ",") {
		name, arg, hasArg := strings.Cut(strings.TrimSpace(part), ":")
		level := func(def, lo, hi int) (uint32, error) {
			if !hasArg {
				return uint32(def), nil
			}
			n, err := strconv.Atoi(arg)
			if err != nil || n < lo || n > hi {
				return 0, invalidf("compression %q: level %q", text, arg)
			}
			return uint32(int32(n)), nil
		}
		var f h5.Filter
		switch strings.ToLower(name) {
		case "gzip", "deflate":
			l, err := level(4, 0, 9)
			if err != nil {
				return nil, err
			}
			f = h5.Filter{ID: 1, Name: "deflate", Flags: 1, Params: []uint32{l}}
		case "zstd":
			l, err := level(3, -131072, 22)
			if err != nil {
				return nil, err
			}
			f = h5.Filter{ID: 32015, Name: "Zstandard compression: http://www.zstd.net", Flags: 1, Params: []uint32{l}}
		case "shuffle":
			f = h5.Filter{ID: 2, Name: "shuffle", Flags: 1}
		case "fletcher32":
			f = h5.Filter{ID: 3, Name: "fletcher32"}
		case "lzf":
			f = h5.Filter{ID: 32000, Name: "lzf", Flags: 1, Params: []uint32{4, 261, 0}}
		case "lz4":
			f = h5.Filter{ID: 32004, Name: "HDF5 lz4 filter; see http://www.hdfgroup.org/services/contributions.html", Flags: 1}
		case "bitshuffle":
			// Parameters as the bitshuffle plugin and hdf5plugin write
			// them: version 0.3, element size (set per dataset), block
			// size 0 (automatic), then the compressor: 2 LZ4, 3 zstd
			// with its level.
			f = h5.Filter{ID: 32008, Name: "bitshuffle; see https://github.com/kiyo-masui/bitshuffle", Flags: 1, Params: []uint32{0, 3, 0}}
			if hasArg {
				codec, lvl, hasLevel := strings.Cut(arg, ":")
				switch strings.ToLower(codec) {
				case "lz4":
					if hasLevel {
						return nil, invalidf("compression %q: bitshuffle:lz4 takes no level", text)
					}
					f.Params = append(f.Params, 0, 2)
				case "zstd":
					l := 3
					if hasLevel {
						n, err := strconv.Atoi(lvl)
						if err != nil || n < 1 || n > 22 {
							return nil, invalidf("compression %q: zstd level %q", text, lvl)
						}
						l = n
					}
					f.Params = append(f.Params, 0, 3, uint32(l))
				default:
					return nil, invalidf("compression %q: bitshuffle compresses with lz4 or zstd, not %q", text, codec)
				}
				hasArg = false
			}
		case "blosc":
			// hdf5-blosc's parameters (element and chunk size set per
			// dataset), Blosc's byte shuffle, and the compressor with its
			// level: blosc (blosclz at 5), blosc:lz4, blosc:zstd:9, ...
			f = h5.Filter{ID: 32001, Name: "blosc", Flags: 1, Params: []uint32{2, 2, 0, 0, 5, 1, 0}}
			if hasArg {
				codec, lvl, hasLevel := strings.Cut(arg, ":")
				comp := slices.Index(bloscCompressors, strings.ToLower(codec))
				if comp < 0 {
					return nil, invalidf("compression %q: Blosc compresses with %s, not %q", text, strings.Join(bloscCompressors, ", "), codec)
				}
				f.Params[6] = uint32(comp)
				if hasLevel {
					n, err := strconv.Atoi(lvl)
					if err != nil || n < 1 || n > 9 {
						return nil, invalidf("compression %q: Blosc level %q (1-9)", text, lvl)
					}
					f.Params[4] = uint32(n)
				}
				hasArg = false
			}
		case "szip":
			// As h5py's compression="szip": nearest-neighbour coding, 8
			// pixels a block; szip:ec:16 codes the values themselves.
			// H5Pset_szip adds "k13" and "raw" to the options and makes
			// the filter optional; byte order, pixel width and scanline
			// are set per dataset.
			const nn, ec, k13, raw = 32, 4, 1, 128
			f = h5.Filter{ID: 4, Name: "szip", Flags: 1, Params: []uint32{nn | k13 | raw, 8}}
			if hasArg {
				coding, ppb, hasPPB := strings.Cut(arg, ":")
				switch strings.ToLower(coding) {
				case "nn":
				case "ec":
					f.Params[0] = ec | k13 | raw
				default:
					return nil, invalidf("compression %q: szip codes nn or ec, not %q", text, coding)
				}
				if hasPPB {
					n, err := strconv.Atoi(ppb)
					if err != nil || n < 2 || n > 32 || n%2 != 0 {
						return nil, invalidf("compression %q: szip pixels a block %q (even, 2-32)", text, ppb)
					}
					f.Params[1] = uint32(n)
				}
				hasArg = false
			}
		case "bzip2", "filter307":
			return nil, invalidf("compression %q: h5mount reads %s but cannot write it (%s)", text, name, writableFilters)
		default:
			return nil, invalidf("compression %q: unknown filter %q (%s)", text, name, writableFilters)
		}
		if hasArg && f.ID != 1 && f.ID != 32015 {
			return nil, invalidf("compression %q: %s takes no level", text, name)
		}
		out = append(out, f)
	}
	return out, nil
}
