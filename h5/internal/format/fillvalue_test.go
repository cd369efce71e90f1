package format

import (
	"bytes"
	"testing"
)

// TestFillValueSizeIsSigned decodes fill value messages of versions 1 and 2
// as the format and libhdf5 (H5O_fill_new_decode) read them: the size is a
// signed 32-bit number, -1 meaning no value at all. PyTables 1.x (HDF5 1.6)
// wrote its undefined fill values as "defined, size -1"; read as unsigned,
// every such dataset failed to open ("need 4294967295 bytes").
func TestFillValueSizeIsSigned(t *testing.T) {
	for _, c := range []struct {
		name    string
		raw     []byte
		defined bool
		value   []byte
	}{
		{"v2 defined, size -1 (undefined)", []byte{2, 2, 2, 1, 0xff, 0xff, 0xff, 0xff}, false, nil},
		{"v1 defined, size -1 (undefined)", []byte{1, 2, 2, 1, 0xff, 0xff, 0xff, 0xff}, false, nil},
		{"v2 defined, size 0 (the default: zeros)", []byte{2, 2, 2, 1, 0, 0, 0, 0}, true, nil},
		{"v2 defined, a 4-byte value", []byte{2, 2, 2, 1, 4, 0, 0, 0, 7, 0, 0, 0}, true, []byte{7, 0, 0, 0}},
		{"v2 not defined, no size", []byte{2, 2, 2, 0, 0, 0, 0, 0}, false, nil},
		{"v1 not defined, a size and value libhdf5 ignores", []byte{1, 2, 2, 0, 2, 0, 0, 0, 9, 9}, false, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := DecodeFillValue(c.raw, 0x100)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if f.Defined != c.defined || !bytes.Equal(f.Value, c.value) {
				t.Errorf("defined %v value %v, want defined %v value %v", f.Defined, f.Value, c.defined, c.value)
			}
			if f.AllocTime != 2 || f.WriteTime != 2 {
				t.Errorf("allocation time %d, write time %d, want 2 and 2", f.AllocTime, f.WriteTime)
			}
		})
	}
	// A positive size still has to fit the message.
	if _, err := DecodeFillValue([]byte{2, 2, 2, 1, 8, 0, 0, 0, 1}, 0x100); err == nil {
		t.Error("a value running past the message decoded")
	}
}
