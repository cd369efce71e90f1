package format

import (
	"bytes"
	"os"
	"testing"
)

// rawDecoders are the structure readers that take an address in a file:
// each fuzz input is a byte image, an address in it and the structure to
// read there, so that every reader meets hostile bytes where its structure
// should be, with 8- and 4-byte offsets alike.
var rawDecoders = []func(r *Reader, addr uint64){
	func(r *Reader, addr uint64) { FindSuperblock(r.R, r.Size) },
	func(r *Reader, addr uint64) { ReadObjectHeader(r, addr) },
	func(r *Reader, addr uint64) { ReadLocalHeap(r, addr) },
	func(r *Reader, addr uint64) { ReadGlobalHeapCollection(r, addr) },
	func(r *Reader, addr uint64) { ReadSymbolTableNode(r, addr) },
	func(r *Reader, addr uint64) { ReadBTree1Node(r, addr, r.Sizes.Length) },
	func(r *Reader, addr uint64) { ReadBTree1Node(r, addr, 8+8*3) },
	func(r *Reader, addr uint64) {
		if h, err := ReadLocalHeap(r, 0); err == nil {
			WalkSymbolTable(r, addr, h, func(string, SymbolTableEntry) error { return nil })
		}
	},
	func(r *Reader, addr uint64) {
		if h, err := ReadFractalHeap(r, addr); err == nil {
			for _, id := range [][]byte{{0, 0, 0, 0, 0, 0, 0, 0}, {0x10, 1, 2, 3}, {0x20, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0}, {0, 8, 0, 0, 0, 4, 0}} {
				h.Object(id)
			}
		}
	},
	func(r *Reader, addr uint64) {
		if bt, err := ReadBTree2(r, addr); err == nil {
			bt.Walk(func([]byte) error { return nil })
			bt.Search(func([]byte) int { return 1 })
		}
	},
	func(r *Reader, addr uint64) { ReadSOHMTable(r, addr, 3) },
	func(r *Reader, addr uint64) {
		b, err := r.Read(addr, 64, "fuzz")
		if err != nil {
			return
		}
		DecodeFillValue(b, addr)
		DecodeFillValueOld(b, addr)
		DecodeGroupInfo(b, addr)
		DecodeLinkInfo(b, addr, r.Sizes)
		DecodeAttributeInfo(b, addr, r.Sizes)
		DecodeSharedMessage(b, addr, r.Sizes)
		DecodeSymbolTableMessage(b, addr, r.Sizes)
		DecodeSOHMTableMessage(b, addr, r.Sizes)
		DecodeExternalFiles(r, b, addr)
		DecodeVirtualMappings(b, addr, r.Sizes)
		DecodeSelection(NewDecoder(b, addr, "selection", r.Sizes))
	},
}

func FuzzRawStructures(f *testing.F) {
	for _, name := range []string{"links.h5", "other.h5", "weather_latest.h5"} {
		data, err := os.ReadFile("../../../testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > 8192 {
			data = data[:8192]
		}
		for kind := range rawDecoders {
			for _, addr := range []uint16{0, 48, 96, 136, 680, 1400} {
				f.Add(uint8(kind), addr, false, data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, kind uint8, addr uint16, small bool, data []byte) {
		sizes := Sizes{Offset: 8, Length: 8}
		if small {
			sizes = Sizes{Offset: 4, Length: 4}
		}
		r := &Reader{R: bytes.NewReader(data), Size: int64(len(data)), Sizes: sizes}
		rawDecoders[int(kind)%len(rawDecoders)](r, uint64(addr))
	})
}
