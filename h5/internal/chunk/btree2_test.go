package chunk

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// testdata/dense/chunks.h5 and chunks.json are written by
// scripts/gen_dense.py (h5py over libhdf5 1.10.8); chunk_info holds
// H5Dget_chunk_info for every stored chunk.

const bt2TestDir = "../../../testdata/dense"

type bt2JSONDataset struct {
	Addr      uint64     `json:"addr"`
	Shape     []uint64   `json:"shape"`
	MaxShape  []*uint64  `json:"maxshape"`
	Chunks    []uint64   `json:"chunks"`
	ItemSize  uint32     `json:"itemsize"`
	Filtered  bool       `json:"filtered"`
	ChunkInfo [][]uint64 `json:"chunk_info"` // offsets..., filter mask, address, size
}

func bt2LoadTest(t testing.TB) ([]byte, map[string]bt2JSONDataset) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(bt2TestDir, "chunks.h5"))
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 scripts/gen_dense.py)", err)
	}
	js, err := os.ReadFile(filepath.Join(bt2TestDir, "chunks.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Datasets map[string]bt2JSONDataset `json:"datasets"`
	}
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Datasets) == 0 {
		t.Fatal("no datasets in chunks.json")
	}
	return data, doc.Datasets
}

func bt2OpenReader(data []byte, rd io.ReaderAt) *format.Reader {
	sb, err := format.FindSuperblock(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil
	}
	return &format.Reader{R: rd, Size: int64(len(data)), Base: sb.BaseAddr, Sizes: sb.Sizes}
}

// bt2DatasetParams decodes what Open needs from a dataset's object header.
func bt2DatasetParams(r *format.Reader, addr uint64) (Params, error) {
	hdr, err := format.ReadObjectHeader(r, addr)
	if err != nil {
		return Params{}, err
	}
	p := Params{R: r}
	for _, m := range hdr.Messages {
		switch m.Type {
		case format.MsgLayout:
			p.Layout, err = format.DecodeLayout(m.Data, m.Addr, r.Sizes)
		case format.MsgDataspace:
			var s *format.Dataspace
			s, err = format.DecodeDataspace(m.Data, m.Addr, r.Sizes)
			if err == nil {
				p.Dims, p.MaxDims = s.Dims, s.MaxDims
			}
		case format.MsgFilterPipeline:
			p.Filtered = true
		}
		if err != nil {
			return Params{}, err
		}
	}
	if p.Layout == nil {
		return Params{}, format.Corruptf(addr, "object header", "no layout message")
	}
	p.ElementSize = p.Layout.ElementSize
	return p, nil
}

func TestBTree2Index(t *testing.T) {
	data, sets := bt2LoadTest(t)
	r := bt2OpenReader(data, bytes.NewReader(data))
	for path, ds := range sets {
		t.Run(path, func(t *testing.T) {
			p, err := bt2DatasetParams(r, ds.Addr)
			if err != nil {
				t.Fatal(err)
			}
			if p.Layout.Version != 4 || p.Layout.IndexType != format.IndexBTree2 {
				t.Fatalf("layout version %d, index type %d: want a v2 B-tree index", p.Layout.Version, p.Layout.IndexType)
			}
			idx, err := Open(p)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			x, ok := idx.(*btree2Index)
			if !ok {
				t.Fatalf("Open gave a %T", idx)
			}
			t.Logf("B-tree type %d, depth %d, %d records of %d bytes, node size %d",
				x.bt.Type, x.bt.Depth, x.bt.TotalRecords, x.bt.RecordSize, x.bt.NodeSize)
			if x.filtered != ds.Filtered {
				t.Errorf("filtered index %v, dataset filtered %v", x.filtered, ds.Filtered)
			}
			if x.bt.Depth < 1 {
				t.Errorf("depth %d: the test data should need internal nodes", x.bt.Depth)
			}
			if path == "/deep" && x.bt.Depth < 2 {
				t.Errorf("/deep: depth %d, want 2", x.bt.Depth)
			}
			rank := len(ds.Chunks)
			want := map[[2]uint64][]uint64{}
			for _, ci := range ds.ChunkInfo {
				if len(ci) != rank+3 || rank != 2 {
					t.Fatalf("chunk info %v", ci)
				}
				want[[2]uint64{ci[0] / ds.Chunks[0], ci[1] / ds.Chunks[1]}] = ci
			}
			check := func(c Chunk, ci []uint64) {
				t.Helper()
				if c.Scaled[0]*ds.Chunks[0] != ci[0] || c.Scaled[1]*ds.Chunks[1] != ci[1] ||
					uint64(c.FilterMask) != ci[2] || c.Addr != ci[3] || c.Size != ci[4] {
					t.Errorf("chunk %v: addr 0x%x size %d mask %d, want %v", c.Scaled, c.Addr, c.Size, c.FilterMask, ci)
				}
			}
			n := 0
			var prev []uint64
			if err := idx.Walk(func(c Chunk) error {
				n++
				if prev != nil && compareOffsets(prev, c.Scaled) >= 0 {
					t.Errorf("walk order: %v after %v", c.Scaled, prev)
				}
				prev = c.Scaled
				ci, ok := want[[2]uint64{c.Scaled[0], c.Scaled[1]}]
				if !ok {
					t.Errorf("walk gave chunk %v, which libhdf5 does not list", c.Scaled)
					return nil
				}
				check(c, ci)
				return nil
			}); err != nil {
				t.Fatalf("Walk: %v", err)
			}
			if n != len(ds.ChunkInfo) {
				t.Errorf("walked %d chunks, libhdf5 lists %d", n, len(ds.ChunkInfo))
			}
			// Every grid position, stored or not, and a few beyond.
			grid := gridDims(ds.Shape, ds.Chunks)
			for i := uint64(0); i <= grid[0]; i++ {
				for j := uint64(0); j <= grid[1]; j++ {
					c, ok, err := idx.Lookup([]uint64{i, j})
					if err != nil {
						t.Fatalf("Lookup(%d, %d): %v", i, j, err)
					}
					ci, stored := want[[2]uint64{i, j}]
					if ok != stored {
						t.Errorf("Lookup(%d, %d) found %v, stored %v", i, j, ok, stored)
						continue
					}
					if ok {
						check(c, ci)
					}
				}
			}
			if _, ok, err := idx.Lookup([]uint64{1}); ok || err != nil {
				t.Errorf("Lookup of the wrong rank: %v, %v", ok, err)
			}
		})
	}
}

func TestChunkSizeLen(t *testing.T) {
	// 1 + (floor(log2(size)) + 8) / 8, at most 8 (H5Dbtree2.c)
	for _, c := range []struct {
		size uint64
		want int
	}{{1, 2}, {16, 2}, {255, 2}, {256, 3}, {65535, 3}, {65536, 4}, {1 << 40, 7}, {1 << 56, 8}, {1 << 63, 8}} {
		if got := chunkSizeLen(c.size); got != c.want {
			t.Errorf("chunkSizeLen(%d) = %d, want %d", c.size, got, c.want)
		}
	}
}

type bt2RecordingReader struct {
	r     io.ReaderAt
	mu    sync.Mutex
	reads [][2]int64
}

func (rr *bt2RecordingReader) ReadAt(p []byte, off int64) (int, error) {
	rr.mu.Lock()
	rr.reads = append(rr.reads, [2]int64{off, int64(len(p))})
	rr.mu.Unlock()
	return rr.r.ReadAt(p, off)
}

// bt2WalkFile opens every index of the file and walks and searches it,
// and with a space to write in removes chunks from it, ignoring errors: the
// fuzz test wants no panic and no hang.
func bt2WalkFile(r *format.Reader, addrs []uint64, space format.Space) {
	for _, addr := range addrs {
		p, err := bt2DatasetParams(r, addr)
		if err != nil || p.Layout.Class != format.LayoutChunked {
			continue
		}
		idx, err := Open(p)
		if err != nil {
			continue
		}
		_ = idx.Walk(func(Chunk) error { return nil })
		for _, s := range [][]uint64{{0, 0}, {3, 7}, {19, 19}, {59, 59}, {100, 0}} {
			_, _, _ = idx.Lookup(s)
		}
		if space != nil {
			removeWalked(idx, space)
		}
	}
}

// FuzzBTree2 overwrites bytes of chunks.h5, reads every chunk index and
// removes chunks from it.
// With fix set, the checksum of every v2 B-tree structure the patch hits is
// recomputed, so the node decoding behind the checksum sees the damage.
func FuzzBTree2(f *testing.F) {
	data, sets := bt2LoadTest(f)
	var addrs []uint64
	for _, ds := range sets {
		addrs = append(addrs, ds.Addr)
	}
	rr := &bt2RecordingReader{r: bytes.NewReader(data)}
	bt2WalkFile(bt2OpenReader(data, rr), addrs, nil)
	type span struct{ start, end int64 }
	var spans []span
	seen := map[[2]int64]bool{}
	for _, rd := range rr.reads {
		if seen[rd] || rd[1] < 8 {
			continue
		}
		seen[rd] = true
		if format.VerifyChecksum(data[rd[0]:rd[0]+rd[1]], 0, "") == nil {
			spans = append(spans, span{rd[0], rd[0] + rd[1]})
		}
	}
	for i, s := range spans {
		if i%2 == 0 {
			f.Add(uint32(s.start+6), []byte{0xff}, true)
			f.Add(uint32(s.start+(s.end-s.start)/2), []byte{0x80, 0}, true)
			f.Add(uint32(s.end-12), []byte{0xff, 0xff, 0xff, 0xff}, true)
		}
	}
	f.Fuzz(func(t *testing.T, pos uint32, patch []byte, fix bool) {
		if len(patch) > 64 || int64(pos) >= int64(len(data)) {
			return
		}
		d := append([]byte(nil), data...)
		n := int64(copy(d[pos:], patch))
		if fix {
			for _, s := range spans {
				if int64(pos)+n <= s.start || int64(pos) >= s.end {
					continue
				}
				b := d[s.start:s.end]
				binary.LittleEndian.PutUint32(b[len(b)-4:], format.Lookup3(b[:len(b)-4], 0))
			}
		}
		m := &memFile{buf: d}
		r := bt2OpenReader(d, m)
		if r == nil {
			return
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			bt2WalkFile(r, addrs, m)
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("decoding did not finish in 20s")
		}
	})
}
