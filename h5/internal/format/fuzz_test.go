package format

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// seedMessages adds real header messages of the committed fixtures to a
// fuzz corpus: every message body of the given type found in their object
// headers.
func seedMessages(f *testing.F, typ uint16) {
	files, _ := filepath.Glob("../../../testdata/*.h5")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		sb, err := FindSuperblock(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			continue
		}
		r := &Reader{R: bytes.NewReader(data), Size: int64(len(data)), Base: sb.BaseAddr, Sizes: sb.Sizes}
		h, err := ReadObjectHeader(r, sb.RootAddr)
		if err != nil {
			continue
		}
		for _, m := range h.Messages {
			if m.Type == typ {
				f.Add(append([]byte(nil), m.Data...))
			}
		}
	}
}

func FuzzDatatype(f *testing.F) {
	f.Add([]byte{0x10, 0x08, 0, 0, 8, 0, 0, 0, 0, 0, 64, 0})
	f.Add([]byte{0x16, 2, 0, 0, 16, 0, 0, 0, 'r', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		dt, err := DecodeDatatype(b, 0)
		if err == nil {
			_ = dt.HasVariableSize()
			_ = dt.ElementCount()
		}
	})
}

func FuzzDataspace(f *testing.F) {
	f.Add([]byte{2, 1, 1, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{1, 2, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := DecodeDataspace(b, 0, Sizes{8, 8}); err == nil {
			_ = s.NumElements()
		}
	})
}

func FuzzLayout(f *testing.F) {
	seedMessages(f, MsgLayout)
	f.Add([]byte{3, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{4, 2, 0, 2, 4, 64, 0, 0, 0, 8, 0, 0, 0, 3, 10, 0, 1, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if l, err := DecodeLayout(b, 0, Sizes{8, 8}); err == nil {
			_ = l.Encode(Sizes{8, 8})
		}
	})
}

func FuzzFilterPipeline(f *testing.F) {
	f.Add([]byte{2, 1, 1, 0, 1, 0, 1, 0, 4, 0, 0, 0})
	f.Add([]byte{1, 1, 0, 0, 0, 0, 0, 0, 2, 0, 8, 0, 0, 0, 1, 0, 's', 'h', 'u', 'f', 'f', 'l', 'e', 0, 8, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = DecodeFilterPipeline(b, 0) })
}

func FuzzAttributeMessage(f *testing.F) {
	f.Add([]byte{1, 0, 3, 0, 8, 0, 8, 0, 'd', 't', 0, 0, 0, 0, 0, 0, 0x11, 0x20, 0x3f, 0, 8, 0, 0, 0, 0, 0, 64, 0, 0x35, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x24, 0x40})
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = DecodeAttribute(b, 0, Sizes{8, 8}) })
}

func FuzzLinkMessage(f *testing.F) {
	f.Add([]byte{1, 0, 2, 'a', 'b', 0x60, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 8, 1, 1, 'x', 3, 0, '/', 'a', 'b'})
	f.Add([]byte{1, 8, 64, 1, 'x', 8, 0, 0, 'f', '.', 'h', '5', 0, '/', 0})
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = DecodeLink(b, 0, Sizes{8, 8}) })
}

// FuzzFileStructures corrupts whole fixture files and decodes their
// superblock, root object header and root group, which must end in an
// error or a result, never a panic or a hang.
func FuzzFileStructures(f *testing.F) {
	for _, name := range []string{"links.h5", "other.h5", "types.h5"} {
		data, err := os.ReadFile(filepath.Join("../../../testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint32(0), byte(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, at uint32, x byte) {
		if len(data) > 0 {
			data = append([]byte(nil), data...)
			data[int(at)%len(data)] ^= x
		}
		sb, err := FindSuperblock(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		r := &Reader{R: bytes.NewReader(data), Size: int64(len(data)), Base: sb.BaseAddr, Sizes: sb.Sizes}
		h, err := ReadObjectHeader(r, sb.RootAddr)
		if err != nil {
			return
		}
		if m := h.Find(MsgSymbolTable); m != nil {
			st, err := DecodeSymbolTableMessage(m.Data, m.Addr, r.Sizes)
			if err != nil {
				return
			}
			heap, err := ReadLocalHeap(r, st.HeapAddr)
			if err != nil {
				return
			}
			_ = WalkSymbolTable(r, st.BTreeAddr, heap, func(string, SymbolTableEntry) error { return nil })
		}
		for _, m := range h.Messages {
			if m.Type == MsgLink {
				_, _ = DecodeLink(m.Data, m.Addr, r.Sizes)
			}
		}
	})
}
