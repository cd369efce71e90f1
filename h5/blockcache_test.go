package h5

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
)

// countingReader is a file in memory that counts the reads it serves.
type countingReader struct {
	data  []byte
	reads atomic.Int64
	fail  atomic.Bool
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.reads.Add(1)
	if c.fail.Load() {
		return 0, errors.New("device error")
	}
	if off >= int64(len(c.data)) {
		return 0, io.EOF
	}
	n := copy(p, c.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// TestBlockReaderReadsWhatTheFileHolds: small reads anywhere (across block
// boundaries, up to and past the end) return the file's bytes with
// ReaderAt's EOF rules, from few reads of the file; large reads pass
// through.
func TestBlockReaderReadsWhatTheFileHolds(t *testing.T) {
	data := make([]byte, 5*blockSize+1234)
	rand.New(rand.NewSource(1)).Read(data)
	file := &countingReader{data: data}
	b := newBlockReader(file)
	check := func(off int64, n int) {
		t.Helper()
		got := make([]byte, n)
		gotN, gotErr := b.ReadAt(got, off)
		want := make([]byte, n)
		wantN, wantErr := (&countingReader{data: data}).ReadAt(want, off)
		if gotN != wantN || (gotErr == nil) != (wantErr == nil) || !bytes.Equal(got[:gotN], want[:wantN]) {
			t.Fatalf("[%d, +%d): %d bytes, %v; want %d, %v", off, n, gotN, gotErr, wantN, wantErr)
		}
	}
	for _, r := range []struct {
		off int64
		n   int
	}{
		{0, 1}, {0, 16}, {blockSize - 3, 8}, {blockSize, smallRead}, {2*blockSize - 1, 2},
		{int64(len(data)) - 10, 10}, {int64(len(data)) - 10, 100}, {int64(len(data)), 4}, {int64(len(data)) + blockSize, 4},
		{100, smallRead + 1}, {0, len(data)},
	} {
		check(r.off, r.n)
	}
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < 2000; i++ {
		check(rng.Int63n(int64(len(data))+100), 1+rng.Intn(smallRead))
	}

	// Metadata-sized reads over the whole file: one read of it a block.
	fresh := &countingReader{data: data}
	b = newBlockReader(fresh)
	buf := make([]byte, 300)
	for off := int64(0); off < int64(len(data)); off += int64(len(buf)) {
		b.ReadAt(buf, off)
	}
	if got, blocks := fresh.reads.Load(), int64(len(data)/blockSize+1); got != blocks {
		t.Errorf("%d reads of the file for %d blocks", got, blocks)
	}
	before := fresh.reads.Load()
	b.ReadAt(make([]byte, smallRead+1), 0)
	if fresh.reads.Load() != before+1 {
		t.Error("a large read did not go to the file as it is")
	}
}

func TestBlockReaderErrorsAreNotKept(t *testing.T) {
	file := &countingReader{data: bytes.Repeat([]byte{7}, blockSize)}
	b := newBlockReader(file)
	file.fail.Store(true)
	if _, err := b.ReadAt(make([]byte, 8), 0); err == nil || err == io.EOF {
		t.Fatalf("a failing file read gave %v", err)
	}
	file.fail.Store(false)
	got := make([]byte, 8)
	if n, err := b.ReadAt(got, 0); n != 8 || err != nil || got[0] != 7 {
		t.Fatalf("after the failure: %d bytes, %v", n, err)
	}
}

// TestBlockReaderConcurrent: readers racing over blocks that evict each
// other's slots all get the right bytes (run with -race).
func TestBlockReaderConcurrent(t *testing.T) {
	data := make([]byte, 3*blockSlots*blockSize)
	rand.New(rand.NewSource(3)).Read(data)
	b := newBlockReader(&countingReader{data: data})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(g)))
			buf := make([]byte, 512)
			for i := 0; i < 3000; i++ {
				off := rng.Int63n(int64(len(data) - len(buf)))
				if n, err := b.ReadAt(buf, off); n != len(buf) || err != nil || !bytes.Equal(buf, data[off:off+int64(len(buf))]) {
					t.Errorf("[%d, +%d): %d bytes, %v, or other bytes", off, len(buf), n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// hookedReader calls during before each read it serves (a change of the
// file racing the read).
type hookedReader struct {
	countingReader
	during func()
}

func (h *hookedReader) ReadAt(p []byte, off int64) (int, error) {
	if h.during != nil {
		h.during()
	}
	return h.countingReader.ReadAt(p, off)
}

// TestBlockReaderForgets: after a writer's change and forget, reads show
// the file's new bytes: in the blocks changed, at the old end of a file
// that grew (the short block there is dropped whatever range changed), and
// for a block whose read raced a change (it is not kept).
func TestBlockReaderForgets(t *testing.T) {
	f := &hookedReader{countingReader: countingReader{data: bytes.Repeat([]byte{1}, 3*blockSize+100)}}
	b := newBlockReader(f)
	read := func(off int64, n int) []byte {
		t.Helper()
		p := make([]byte, n)
		if got, err := b.ReadAt(p, off); err != nil && err != io.EOF {
			t.Fatal(err)
		} else {
			p = p[:got]
		}
		return p
	}
	read(blockSize+10, 100)
	read(3*blockSize, 100) // the short last block
	copy(f.data[blockSize+10:], bytes.Repeat([]byte{2}, 100))
	if got := read(blockSize+10, 100); got[0] != 1 {
		t.Fatal("the test's premise: a kept block shows the file as it was")
	}
	b.forget(blockSize+50, 10)
	if got := read(blockSize+10, 100); !bytes.Equal(got, bytes.Repeat([]byte{2}, 100)) {
		t.Error("a changed block read as before after forget")
	}
	// The file grows past its end; the change forgotten lies elsewhere.
	f.data = append(f.data, bytes.Repeat([]byte{3}, blockSize)...)
	b.forget(4*blockSize, 10)
	if got := read(3*blockSize+50, 100); len(got) != 100 || got[50] != 3 {
		t.Errorf("the old end read %d bytes after the file grew", len(got))
	}
	// A change while a block is being read: the block read is not kept.
	read(0, 10)
	f.during = func() { b.forget(0, 1) }
	copy(f.data, []byte{9})
	before := f.reads.Load()
	read(2*blockSize, 10)
	f.during = nil
	read(2*blockSize, 10)
	if f.reads.Load() != before+2 {
		t.Errorf("%d reads of the file for a block read while a change was forgotten and read again, want 2", f.reads.Load()-before)
	}
	if got := read(0, 1); got[0] != 9 {
		t.Error("a block changed and forgotten read as before")
	}
}
