package format

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"
)

// TestHeaderEditsMatchModel creates headers of both versions, then adds,
// removes and replaces messages at random (forcing continuation chunks and
// moved messages), and checks after every commit that a fresh read of the
// header lists exactly the model's messages.
func TestHeaderEditsMatchModel(t *testing.T) {
	for _, hc := range []HeaderCreate{{Version: 1}, {Version: 2}, {Version: 2, Flags: 0x04 | 0x20, ModTime: 7}} {
		t.Run(fmt.Sprintf("v%d-flags%x", hc.Version, hc.Flags), func(t *testing.T) {
			mem, r := newMemSpace(64)
			rng := rand.New(rand.NewSource(int64(hc.Version)*10 + int64(hc.Flags)))
			body := func(tag byte) []byte {
				b := make([]byte, 1+rng.Intn(120))
				for i := range b {
					b[i] = tag
				}
				return b
			}
			var model [][]byte
			var msgs []NewMessage
			for i := 0; i < 3; i++ {
				b := body(byte(i + 1))
				model = append(model, b)
				msgs = append(msgs, NewMessage{Type: MsgAttribute, Data: b})
			}
			addr, err := CreateObjectHeader(r, mem, hc, msgs)
			if err != nil {
				t.Fatal(err)
			}
			tag := byte(10)
			for step := 0; step < 300; step++ {
				h, err := ReadObjectHeader(r, addr)
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				checkHeaderModel(t, h, model, step)
				checkChunkGaps(t, h, step)
				e, err := EditObjectHeader(r, h)
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				switch op := rng.Intn(4); {
				case op <= 1 || len(model) == 0:
					tag++
					b := body(tag)
					model = append(model, b)
					err = e.Add(mem, NewMessage{Type: MsgAttribute, Data: b})
				case op == 2:
					i := rng.Intn(len(model))
					victim := model[i]
					model = append(model[:i], model[i+1:]...)
					if n := e.Remove(func(typ uint16, data []byte) bool { return typ == MsgAttribute && data[0] == victim[0] }); n != 1 {
						t.Fatalf("step %d: removed %d messages, want 1", step, n)
					}
				default:
					i := rng.Intn(len(model))
					old := model[i][0]
					tag++
					b := body(tag)
					model[i] = b
					var ok bool
					ok, err = e.Replace(mem, MsgAttribute, func(data []byte) bool { return data[0] == old }, NewMessage{Type: MsgAttribute, Data: b})
					if !ok && err == nil {
						t.Fatalf("step %d: nothing replaced", step)
					}
				}
				if err == nil {
					err = e.Commit(mem)
				}
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
			}
			h, err := ReadObjectHeader(r, addr)
			if err != nil {
				t.Fatal(err)
			}
			if len(h.Chunks) < 2 {
				t.Fatalf("%d chunks: the test never needed a continuation", len(h.Chunks))
			}
			e, _ := EditObjectHeader(r, h)
			if err := e.SetRefCount(mem, 3); err != nil {
				t.Fatal(err)
			}
			if err := e.Commit(mem); err != nil {
				t.Fatal(err)
			}
			if h, err = ReadObjectHeader(r, addr); err != nil || h.RefCount != 3 {
				t.Fatalf("reference count %d, %v; want 3", h.RefCount, err)
			}
			checkHeaderModel(t, h, model, -1)
		})
	}
}

// checkChunkGaps checks what libhdf5 2.0 checks of each version 2
// chunk they read (H5O__chunk_deserialize): unused bytes at its end fewer
// than a message header, and only in a chunk without null messages.
func checkChunkGaps(t *testing.T, h *ObjectHeader, step int) {
	t.Helper()
	if h.Version != 2 {
		return
	}
	hdr := uint64(4)
	if h.Flags&0x04 != 0 {
		hdr = 6
	}
	for _, c := range h.Chunks {
		end, nulls := c.MsgStart, 0
		for _, m := range h.Messages {
			if m.Addr >= c.MsgStart && m.Addr <= c.MsgEnd {
				end = max(end, m.Addr+uint64(len(m.Data)))
				if m.Type == MsgNil {
					nulls++
				}
			}
		}
		if gap := c.MsgEnd - end; gap >= hdr || gap > 0 && nulls > 0 {
			t.Fatalf("step %d: chunk at 0x%x ends in a gap of %d bytes beside %d null messages", step, c.Addr, gap, nulls)
		}
	}
}

// checkHeaderModel compares the attribute messages of h (the bodies may be
// padded) with the model, as multisets keyed by their tag byte.
func checkHeaderModel(t *testing.T, h *ObjectHeader, model [][]byte, step int) {
	t.Helper()
	want := map[byte][]byte{}
	for _, b := range model {
		want[b[0]] = b
	}
	got := 0
	for _, m := range h.Messages {
		if m.Type != MsgAttribute {
			continue
		}
		got++
		w, ok := want[m.Data[0]]
		if !ok || !bytes.Equal(m.Data[:len(w)], w) || len(bytes.Trim(m.Data[len(w):], "\x00")) != 0 {
			t.Fatalf("step %d: unexpected message %x", step, m.Data[:min(8, len(m.Data))])
		}
	}
	if got != len(model) {
		t.Fatalf("step %d: %d messages, want %d", step, got, len(model))
	}
}

// TestEncodeLayoutV3RoundTrip: each class decodes back to what was encoded.
func TestEncodeLayoutV3RoundTrip(t *testing.T) {
	sizes := Sizes{Offset: 8, Length: 8}
	for _, l := range []*Layout{
		{Class: LayoutContiguous, Addr: 0x1234, Size: 4096},
		{Class: LayoutContiguous, Addr: Undefined, Size: 1 << 40},
		{Class: LayoutCompact, CompactData: []byte("abcdefgh")},
		{Class: LayoutChunked, Addr: Undefined, ChunkDims: []uint64{1, 64, 512}, ElementSize: 4},
	} {
		raw, err := EncodeLayoutV3(l, sizes)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeLayout(raw, 0, sizes)
		if err != nil {
			t.Fatal(err)
		}
		if got.Class != l.Class || got.Version != 3 || !bytes.Equal(got.CompactData, l.CompactData) ||
			fmt.Sprint(got.ChunkDims) != fmt.Sprint(l.ChunkDims) || got.ElementSize != l.ElementSize ||
			(l.Class != LayoutCompact && (got.Addr != l.Addr)) || (l.Class == LayoutContiguous && got.Size != l.Size) {
			t.Fatalf("encoded %+v, decoded %+v", l, got)
		}
		// The address patch of Encode finds the address where this put it.
		if l.Class != LayoutCompact {
			got.Addr = 0x42
			again, _ := DecodeLayout(got.Encode(sizes), 0, sizes)
			if again.Addr != 0x42 {
				t.Fatalf("Encode after EncodeLayoutV3: address %x", again.Addr)
			}
		}
	}
}
