package h5

import (
	"bytes"
	"math/rand"
	"slices"
	"testing"
)

// memReaderAt is a fixed byte slice as a file.
type memReaderAt []byte

func (m memReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m)) {
		return 0, nil
	}
	return copy(p, m[off:]), nil
}

// TestOverlayMatchesModel writes and forgets random ranges and checks that
// reads through the overlay, and the file with the commit's records
// applied, equal a plain byte model.
func TestOverlayMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	base := make([]byte, 64<<10)
	rng.Read(base)
	model := append([]byte(nil), base...)
	ov := newOverlay()
	r := overlayReader{r: memReaderAt(base), ov: ov, end: func() int64 { return int64(len(base)) }}
	for i := 0; i < 2000; i++ {
		off := rng.Intn(len(base) - 1)
		n := 1 + rng.Intn(min(9000, len(base)-off))
		if rng.Intn(5) == 0 {
			// Forgotten bytes read as the file holds them.
			ov.forget(int64(off), uint64(n))
			copy(model[off:off+n], base[off:off+n])
			continue
		}
		p := make([]byte, n)
		rng.Read(p)
		ov.write(p, int64(off))
		copy(model[off:], p)
	}
	got := make([]byte, len(base))
	if _, err := r.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, model) {
		t.Fatal("reads through the overlay differ from the model")
	}
	applied := append([]byte(nil), base...)
	recs := ov.records()
	for i, rec := range recs {
		if i > 0 && recs[i-1].off+int64(len(recs[i-1].data)) >= rec.off {
			t.Fatalf("records %d and %d overlap or touch", i-1, i)
		}
		copy(applied[rec.off:], rec.data)
	}
	if !bytes.Equal(applied, model) {
		t.Fatal("the commit's records do not make the file equal the model")
	}
}

// TestOverlayTouchesMatchesModel: touches answers whether a range holds a
// byte written and not forgotten, for ranges of fewer pages than the
// overlay holds and of more (the two ways it looks).
func TestOverlayTouchesMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	const size = 256 << 10
	for trial := 0; trial < 50; trial++ {
		ov := newOverlay()
		marked := make([]bool, size)
		for i := rng.Intn(12); i > 0; i-- {
			off, n := rng.Intn(size-64), 1+rng.Intn(64)
			if rng.Intn(4) == 0 {
				n = 1 + rng.Intn(20000)
				n = min(n, size-off)
			}
			if rng.Intn(4) == 0 {
				ov.forget(int64(off), uint64(n))
				clear(marked[off : off+n])
				continue
			}
			ov.write(make([]byte, n), int64(off))
			for j := off; j < off+n; j++ {
				marked[j] = true
			}
		}
		for q := 0; q < 200; q++ {
			off := rng.Intn(size - 1)
			n := 1 + rng.Intn(min(size-off, []int{100, 5000, 100000}[q%3]))
			want := slices.Contains(marked[off:off+n], true)
			if got := ov.touches(int64(off), int64(n)); got != want {
				t.Fatalf("trial %d: [%d, +%d): touches %v, want %v", trial, off, n, got, want)
			}
		}
	}
}

// TestSpaceReusesOnlyAfterCommit: space freed from a committed structure is
// not handed out before the commit; fresh space is reused at once.
func TestSpaceReusesOnlyAfterCommit(t *testing.T) {
	s := space{eoa: 1000, committedEOA: 1000}
	if s.release(100, 50) {
		t.Fatal("committed space released for reuse before a commit")
	}
	a, _ := s.alloc(40)
	if a != 1000 {
		t.Fatalf("alloc gave %d, want 1000 (the end)", a)
	}
	b, _ := s.alloc(60)
	if !s.release(a, 40) {
		t.Fatal("fresh space not reusable at once")
	}
	if c, _ := s.alloc(30); c != a {
		t.Fatalf("alloc gave %d, want the freed %d", c, a)
	}
	s.committed()
	if c, _ := s.alloc(50); c != 100 {
		t.Fatalf("after the commit, alloc gave %d, want 100", c)
	}
	if !s.fresh(100, 50) {
		t.Fatal("space reused since the commit is not fresh")
	}
	if s.fresh(b, 60) {
		t.Fatal("committed space reported fresh")
	}
	// Freeing the tail gives the end of the file back.
	end := s.eoa
	d, _ := s.alloc(8)
	s.release(d, 8)
	if s.eoa != end {
		t.Fatalf("eoa %d after freeing the tail, want %d", s.eoa, end)
	}
}

// hintedMem is a file in memory that records read hints.
type hintedMem struct {
	memReaderAt
	hints [][2]int64
}

func (h *hintedMem) WillNeed(off, n int64) { h.hints = append(h.hints, [2]int64{off, n}) }

// TestOverlayReaderPassesHints: a writable file's reads go through the
// overlay, and so must the read-ahead's hints, to reach the disk.
func TestOverlayReaderPassesHints(t *testing.T) {
	h := &hintedMem{memReaderAt: make(memReaderAt, 4096)}
	r := overlayReader{r: h, ov: newOverlay(), end: func() int64 { return 4096 }}
	r.WillNeed(100, 2000)
	if !slices.Equal(h.hints, [][2]int64{{100, 2000}}) {
		t.Errorf("hints reaching the file: %v", h.hints)
	}
}
