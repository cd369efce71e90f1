package format

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// encodeRegular serializes a version 2 regular hyperslab, as libhdf5 writes
// unlimited ones.
func encodeRegular(start, stride, count, block []uint64) []byte {
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	le(uint32(SelHyperslab))
	le(uint32(2))
	b.WriteByte(1)
	le(uint32(4 + 32*len(start)))
	le(uint32(len(start)))
	for k := range start {
		le(start[k])
		le(stride[k])
		le(count[k])
		le(block[k])
	}
	return b.Bytes()
}

func TestDecodeSelectionRegularAndBlocks(t *testing.T) {
	buf := encodeRegular([]uint64{0, 2}, []uint64{1, 1}, []uint64{Unlimited, 1}, []uint64{1, 3})
	s := DecodeSelection(NewDecoder(buf, 0, "selection", Sizes{8, 8}))
	if !s.Regular || s.Rank != 2 || s.Count[0] != Unlimited || s.Block[1] != 3 {
		t.Fatalf("decoded %+v", s)
	}
	// Version 1: a list of two blocks of 4-byte corners.
	var b bytes.Buffer
	for _, v := range []uint32{SelHyperslab, 1, 0, 0, 2, 2, 0, 0, 1, 1, 3, 3, 4, 5} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	s = DecodeSelection(NewDecoder(b.Bytes(), 0, "selection", Sizes{8, 8}))
	if s.Regular || len(s.Blocks) != 2 || s.String() != "{(0,0)-(1,1), (3,3)-(4,5)}" {
		t.Fatalf("decoded %+v as %s", s, s.String())
	}
}

// Every prefix of a valid encoding, and every single-byte corruption of it,
// decodes to an error or a value: never a panic, never a huge allocation.
func TestNewDecodersSurviveHostileBytes(t *testing.T) {
	sel := encodeRegular([]uint64{1, 0}, []uint64{4, 1}, []uint64{Unlimited, 1}, []uint64{2, 7})
	var vds bytes.Buffer
	vds.WriteByte(0)
	_ = binary.Write(&vds, binary.LittleEndian, uint64(1))
	vds.WriteString("src.h5\x00/data\x00")
	vds.Write(sel)
	vds.Write(sel)
	block := vds.Bytes()
	block = binary.LittleEndian.AppendUint32(block, Lookup3(block, 0))
	if maps, err := DecodeVirtualMappings(block, 0, Sizes{8, 8}); err != nil || len(maps) != 1 || maps[0].File != "src.h5" {
		t.Fatalf("valid mapping list: %v %+v", err, maps)
	}
	inputs := [][]byte{sel, block}
	for _, in := range inputs {
		for n := 0; n <= len(in); n++ {
			DecodeSelection(NewDecoder(in[:n], 0, "selection", Sizes{8, 8}))
			_, _ = DecodeVirtualMappings(in[:n], 0, Sizes{8, 8})
			_, _, _ = DecodeSOHMTableMessage(in[:n], 0, Sizes{8, 8})
			_, _ = DecodeAttribute(in[:n], 0, Sizes{8, 8})
		}
		for i := range in {
			for _, v := range []byte{0, 0xff, 0x7f, 0x80} {
				c := append([]byte(nil), in...)
				c[i] = v
				DecodeSelection(NewDecoder(c, 0, "selection", Sizes{8, 8}))
				// Recompute the checksum so the body is decoded.
				if len(c) > 4 {
					binary.LittleEndian.PutUint32(c[len(c)-4:], Lookup3(c[:len(c)-4], 0))
				}
				_, _ = DecodeVirtualMappings(c, 0, Sizes{8, 8})
			}
		}
	}
}
