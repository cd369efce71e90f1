package format

import "bytes"

// VirtualMapping is one entry of a virtual dataset's mapping list: the
// elements Virtual selects in the virtual dataset are those Source selects
// in dataset Dataset of file File ("." for the virtual dataset's own file),
// both in row-major order. File and Dataset may hold printf-style "%b"
// block numbers for unlimited mappings ("%%" is a percent sign).
type VirtualMapping struct {
	File, Dataset string
	Source        *Selection
	Virtual       *Selection
}

// maxVirtualMappings bounds the entries of a mapping list.
const maxVirtualMappings = 1 << 20

// DecodeVirtualMappings decodes the global heap object a virtual layout
// message points to: version, number of entries, the entries, and a
// checksum of everything before it.
func DecodeVirtualMappings(buf []byte, addr uint64, sizes Sizes) ([]VirtualMapping, error) {
	const what = "virtual dataset mapping list"
	if err := VerifyChecksum(buf, addr, what); err != nil {
		return nil, err
	}
	d := NewDecoder(buf[:len(buf)-4], addr, what, sizes)
	if v := d.U8(); v != 0 && d.Err() == nil {
		return nil, Unsupportedf(addr, what, "encoding version %d", v)
	}
	n := d.Length()
	if err := d.Err(); err != nil {
		return nil, err
	}
	// Each entry holds two names of at least one byte and two selections
	// of at least 16.
	if n > maxVirtualMappings || n*34 > uint64(d.Remaining()) {
		return nil, Corruptf(addr, what, "%d entries in %d bytes", n, d.Remaining())
	}
	out := make([]VirtualMapping, 0, n)
	for i := uint64(0); i < n; i++ {
		var m VirtualMapping
		m.File = cString(d)
		m.Dataset = cString(d)
		m.Source = DecodeSelection(d)
		m.Virtual = DecodeSelection(d)
		if err := d.Err(); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// cString reads a NUL-terminated string.
func cString(d *Decoder) string {
	if d.Err() != nil {
		return ""
	}
	rest := d.buf[d.pos:]
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		d.Corrupt("unterminated string")
		return ""
	}
	d.pos += i + 1
	return string(rest[:i])
}
