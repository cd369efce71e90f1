package chunk

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/filter"
	"github.com/h5mount/h5mount/h5/internal/format"
)

// The files and their JSON are written by scripts/gen_chunkindex.py
// (h5py 3.7, libhdf5 1.10.8, libver="latest").

var arrayFiles = []string{"fixedarray", "extensible", "extensible2"}

type ciFile struct {
	File     string      `json:"file"`
	Datasets []ciDataset `json:"datasets"`
}

type ciDataset struct {
	Name     string    `json:"name"`
	Addr     uint64    `json:"addr"`
	Index    string    `json:"index"`
	Shape    []uint64  `json:"shape"`
	MaxShape []int64   `json:"maxshape"`
	Chunks   []uint64  `json:"chunks"`
	Filters  []int     `json:"filters"`
	NChunks  int       `json:"nchunks"`
	Stored   []ciChunk `json:"stored"`
}

type ciChunk struct {
	Scaled     []uint64 `json:"scaled"`
	Addr       uint64   `json:"addr"`
	Size       uint64   `json:"size"`
	FilterMask uint32   `json:"filter_mask"`
	RawSHA     string   `json:"raw_sha256"`
	DataSHA    string   `json:"data_sha256"`
}

func testdataDir() string { return filepath.Join("..", "..", "..", "testdata", "chunkindex") }

func loadArrayFile(t testing.TB, name string) ([]byte, *ciFile) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testdataDir(), name+".h5"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join(testdataDir(), name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var f ciFile
	if err := json.Unmarshal(js, &f); err != nil {
		t.Fatal(err)
	}
	return data, &f
}

// countingReader counts ReadAt calls, to check that the caches work.
type countingReader struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.n.Add(1)
	return c.r.ReadAt(p, off)
}

// datasetParams reads the dataset's object header and builds the Params
// an index needs, with the filter pipeline.
func datasetParams(data []byte, ra io.ReaderAt, addr uint64) (Params, []format.Filter, error) {
	size := int64(len(data))
	sb, err := format.FindSuperblock(bytes.NewReader(data), size)
	if err != nil {
		return Params{}, nil, err
	}
	r := &format.Reader{R: ra, Size: size, Base: sb.BaseAddr, Sizes: sb.Sizes}
	oh, err := format.ReadObjectHeader(r, addr)
	if err != nil {
		return Params{}, nil, err
	}
	p := Params{R: r}
	m := oh.Find(format.MsgLayout)
	if m == nil {
		return p, nil, errors.New("no layout message")
	}
	if p.Layout, err = format.DecodeLayout(m.Data, m.Addr, r.Sizes); err != nil {
		return p, nil, err
	}
	if p.Layout.Class != format.LayoutChunked {
		return p, nil, errors.New("not chunked")
	}
	if m = oh.Find(format.MsgDataspace); m == nil {
		return p, nil, errors.New("no dataspace message")
	}
	space, err := format.DecodeDataspace(m.Data, m.Addr, r.Sizes)
	if err != nil {
		return p, nil, err
	}
	p.Dims, p.MaxDims = space.Dims, space.MaxDims
	if m = oh.Find(format.MsgDatatype); m == nil {
		return p, nil, errors.New("no datatype message")
	}
	dt, err := format.DecodeDatatype(m.Data, m.Addr)
	if err != nil {
		return p, nil, err
	}
	p.ElementSize = dt.Size
	var filters []format.Filter
	if m = oh.Find(format.MsgFilterPipeline); m != nil {
		if filters, err = format.DecodeFilterPipeline(m.Data, m.Addr); err != nil {
			return p, nil, err
		}
	}
	p.Filtered = len(filters) > 0
	return p, filters, nil
}

func key(s []uint64) string { return fmt.Sprint(s) }

func shaHex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// forGrid calls f with every scaled coordinate of the chunk grid g.
func forGrid(g []uint64, f func([]uint64)) {
	s := make([]uint64, len(g))
	for _, n := range g {
		if n == 0 {
			return
		}
	}
	for {
		f(s)
		i := len(g) - 1
		for ; i >= 0; i-- {
			s[i]++
			if s[i] < g[i] {
				break
			}
			s[i] = 0
		}
		if i < 0 {
			return
		}
	}
}

func TestArrayIndexes(t *testing.T) {
	for _, name := range arrayFiles {
		data, f := loadArrayFile(t, name)
		for _, ds := range f.Datasets {
			t.Run(name+"/"+ds.Name, func(t *testing.T) { checkArrayDataset(t, data, &ds) })
		}
	}
}

func checkArrayDataset(t *testing.T, data []byte, ds *ciDataset) {
	cr := &countingReader{r: bytes.NewReader(data)}
	p, filters, err := datasetParams(data, cr, ds.Addr)
	if err != nil {
		t.Fatal(err)
	}
	wantType := map[string]uint8{"fixed_array": format.IndexFixedArray, "extensible_array": format.IndexExtensible}[ds.Index]
	if p.Layout.Version != 4 || p.Layout.IndexType != wantType {
		t.Fatalf("layout version %d index type %d, want version 4 type %d (%s)", p.Layout.Version, p.Layout.IndexType, wantType, ds.Index)
	}
	if fmt.Sprint(p.Dims) != fmt.Sprint(ds.Shape) || fmt.Sprint(p.Layout.ChunkDims) != fmt.Sprint(ds.Chunks) {
		t.Fatalf("dims %v chunks %v, want %v %v", p.Dims, p.Layout.ChunkDims, ds.Shape, ds.Chunks)
	}
	idx, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]ciChunk{}
	for _, c := range ds.Stored {
		want[key(c.Scaled)] = c
	}
	if len(want) != ds.NChunks {
		t.Fatalf("JSON lists %d chunks, libhdf5 counted %d", len(want), ds.NChunks)
	}

	// Lookup every position of the current chunk grid, and one row beyond
	// it along each dimension (inside the maximum extent or not).
	g := gridDims(p.Dims, p.Layout.ChunkDims)
	probe := make([]uint64, len(g))
	for i := range g {
		probe[i] = g[i] + 1
	}
	found := 0
	check := func(s []uint64) {
		c, ok, err := idx.Lookup(s)
		if err != nil {
			t.Fatalf("Lookup(%v): %v", s, err)
		}
		w, stored := want[key(s)]
		if ok != stored {
			t.Fatalf("Lookup(%v): ok=%v, want %v", s, ok, stored)
		}
		if !ok {
			return
		}
		found++
		if key(c.Scaled) != key(s) || c.Addr != w.Addr || c.Size != w.Size || c.FilterMask != w.FilterMask {
			t.Fatalf("Lookup(%v) = %+v, want %+v", s, c, w)
		}
	}
	forGrid(probe, check)
	if found != len(want) {
		t.Fatalf("Lookup found %d chunks, want %d", found, len(want))
	}

	// Walk reports each stored chunk once, with the right coordinates.
	walked := map[string]bool{}
	err = idx.Walk(func(c Chunk) error {
		k := key(c.Scaled)
		if walked[k] {
			return fmt.Errorf("chunk %v walked twice", c.Scaled)
		}
		walked[k] = true
		w, ok := want[k]
		if !ok {
			return fmt.Errorf("Walk: unexpected chunk %+v", c)
		}
		if c.Addr != w.Addr || c.Size != w.Size || c.FilterMask != w.FilterMask {
			return fmt.Errorf("Walk: %+v, want %+v", c, w)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(walked) != len(want) {
		t.Fatalf("Walk visited %d chunks, want %d", len(walked), len(want))
	}

	// A second pass of lookups is served from the caches.
	before := cr.n.Load()
	forGrid(g, func(s []uint64) { _, _, _ = idx.Lookup(s) })
	if n := cr.n.Load() - before; n != 0 {
		t.Errorf("second lookup pass read the file %d times", n)
	}

	// The stored bytes, and the chunk unfiltered, are what libhdf5 wrote.
	chunkBytes := p.ChunkBytes()
	for _, w := range ds.Stored {
		raw, err := p.R.Read(w.Addr, int(w.Size), "chunk")
		if err != nil {
			t.Fatal(err)
		}
		if shaHex(raw) != w.RawSHA {
			t.Fatalf("chunk %v: stored bytes differ", w.Scaled)
		}
		dec := raw
		if p.Filtered {
			if dec, err = filter.DecodePipeline(filters, w.FilterMask, raw, int(chunkBytes)); err != nil {
				t.Fatalf("chunk %v: %v", w.Scaled, err)
			}
		}
		if uint64(len(dec)) != chunkBytes || shaHex(dec) != w.DataSHA {
			t.Fatalf("chunk %v: unfiltered data differ (%d bytes, want %d)", w.Scaled, len(dec), chunkBytes)
		}
	}
}

// TestArrayStructures checks that the test files exercise what they are
// meant to: paged fixed arrays with an uninitialized page, extensible
// arrays with super blocks and paged data blocks.
func TestArrayStructures(t *testing.T) {
	open := func(file, dset string) Index {
		data, f := loadArrayFile(t, file)
		for _, ds := range f.Datasets {
			if ds.Name == dset {
				p, _, err := datasetParams(data, bytes.NewReader(data), ds.Addr)
				if err != nil {
					t.Fatal(err)
				}
				idx, err := Open(p)
				if err != nil {
					t.Fatal(err)
				}
				return idx
			}
		}
		t.Fatalf("%s: no dataset %s", file, dset)
		return nil
	}
	for _, name := range []string{"fa_paged", "fa_paged_gzip"} {
		fa, ok := open("fixedarray", name).(*fixedArray)
		if !ok || !fa.paged || fa.npages != 3 || bitSet(fa.pageInit, 1) || !bitSet(fa.pageInit, 0) || !bitSet(fa.pageInit, 2) {
			t.Errorf("%s: want a paged fixed array with pages 0 and 2 initialized, got %+v", name, fa)
		}
	}
	for _, name := range []string{"fa_small", "fa_maxgt"} {
		if fa, ok := open("fixedarray", name).(*fixedArray); !ok || fa.paged {
			t.Errorf("%s: want an unpaged fixed array", name)
		}
	}
	for _, c := range [][2]string{{"extensible", "ea_1d"}, {"extensible", "ea_1d_gzip"}, {"extensible", "ea_2d_unlim_last"}, {"extensible2", "ea_2d_unlim_last_gzip"}} {
		ea, ok := open(c[0], c[1]).(*extensibleArray)
		if !ok {
			t.Fatalf("%s: not an extensible array", c[1])
		}
		var sblocks, paged int
		for s := ea.iblkNsblks; s < len(ea.sblks); s++ {
			a := ea.iblkSblks[s-ea.iblkNsblks]
			if a == format.Undefined {
				continue
			}
			sblocks++
			sb, err := ea.superBlock(a, s)
			if err != nil {
				t.Fatal(err)
			}
			if sb.npages > 0 {
				paged++
			}
		}
		if sblocks < 3 || paged == 0 {
			t.Errorf("%s: %d super blocks, %d with paged data blocks; want super blocks and paging", c[1], sblocks, paged)
		}
	}
}

func TestArrayConcurrentLookups(t *testing.T) {
	for _, name := range []string{"fixedarray", "extensible"} {
		data, f := loadArrayFile(t, name)
		for _, ds := range f.Datasets {
			p, _, err := datasetParams(data, bytes.NewReader(data), ds.Addr)
			if err != nil {
				t.Fatal(err)
			}
			idx, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for w := 0; w < 8; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := range ds.Stored {
						c := ds.Stored[(i+w*7)%len(ds.Stored)]
						got, ok, err := idx.Lookup(c.Scaled)
						if err != nil || !ok || got.Addr != c.Addr {
							errs <- fmt.Errorf("%s: Lookup(%v) = %+v %v %v", ds.Name, c.Scaled, got, ok, err)
							return
						}
					}
				}(w)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		}
	}
}

func TestArrayChunkSizeLen(t *testing.T) {
	for _, c := range []struct {
		n    uint64
		want int
	}{{0, 2}, {1, 2}, {2, 2}, {255, 2}, {256, 3}, {65535, 3}, {65536, 4}, {1 << 24, 5}, {1<<32 - 1, 5}, {1 << 48, 8}, {1 << 56, 8}, {1<<64 - 1, 8}} {
		if got := chunkSizeLen(c.n); got != c.want {
			t.Errorf("chunkSizeLen(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

func TestLinearizerSwizzle(t *testing.T) {
	// maxshape (4, None, 5), chunks (2, 3, 2): max grid (2, inf, 3); the
	// unlimited dimension 1 moves to the front: index = s1*6 + s0*3 + s2.
	p := Params{
		Layout: &format.Layout{ChunkDims: []uint64{2, 3, 2}},
		Dims:   []uint64{4, 30, 5}, MaxDims: []uint64{4, format.Unlimited, 5},
	}
	z, err := newLinearizer(&p, 1, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		s   []uint64
		idx uint64
	}{{[]uint64{0, 0, 0}, 0}, {[]uint64{0, 0, 2}, 2}, {[]uint64{1, 0, 0}, 3}, {[]uint64{0, 1, 0}, 6}, {[]uint64{1, 9, 2}, 59}} {
		got, ok := z.index(c.s)
		if !ok || got != c.idx {
			t.Errorf("index(%v) = %d %v, want %d", c.s, got, ok, c.idx)
		}
		if back := z.coords(c.idx); key(back) != key(c.s) {
			t.Errorf("coords(%d) = %v, want %v", c.idx, back, c.s)
		}
	}
	if _, ok := z.index([]uint64{2, 0, 0}); ok {
		t.Error("index outside the maximum grid accepted")
	}
}

// spanRecorder remembers the file spans read.
type spanRecorder struct {
	r     io.ReaderAt
	mu    sync.Mutex
	spans [][2]int64
}

func (s *spanRecorder) ReadAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	s.spans = append(s.spans, [2]int64{off, off + int64(len(p))})
	s.mu.Unlock()
	return s.r.ReadAt(p, off)
}

// checksummedSpans returns the checksummed blocks the dataset's index
// reads (object header included): spans whose last four bytes are the
// lookup3 checksum of the rest.
func checksummedSpans(t testing.TB, data []byte, ds *ciDataset) [][2]int64 {
	rec := &spanRecorder{r: bytes.NewReader(data)}
	p, _, err := datasetParams(data, rec, ds.Addr)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.Walk(func(Chunk) error { return nil }); err != nil {
		t.Fatal(err)
	}
	var out [][2]int64
	for _, sp := range rec.spans {
		b := data[sp[0]:sp[1]]
		if len(b) > 4 && format.VerifyChecksum(b, 0, "") == nil {
			out = append(out, sp)
		}
	}
	return out
}

// fuzzArray corrupts bytes of a test file and runs Open, Walk and Lookup on
// one of its datasets, then removes chunks (a shrink's edit of the damaged
// index): errors are fine, panics and hangs are not. With fix
// set, the checksums of the corrupted blocks are recomputed, so the
// decoders behind the checksum checks see the damage.
func fuzzArray(f *testing.F, file string) {
	data, js := loadArrayFile(f, file)
	spans := make([][][2]int64, len(js.Datasets))
	for i := range js.Datasets {
		ds := &js.Datasets[i]
		spans[i] = checksummedSpans(f, data, ds)
		// Seeds: bytes inside each block of the dataset's index.
		for _, sp := range spans[i] {
			for _, off := range []int64{4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 20, 24, 32, 40, 48, 56} {
				if sp[0]+off < sp[1] {
					f.Add(uint8(i), uint32(sp[0]+off), uint8(0x41), uint32(0), uint8(0), true)
				}
			}
			f.Add(uint8(i), uint32(sp[1]-5), uint8(0xff), uint32(sp[0]+6), uint8(1), true)
		}
		f.Add(uint8(i), uint32(ds.Addr+10), uint8(0xff), uint32(0), uint8(1), false)
	}
	f.Fuzz(func(t *testing.T, which uint8, off1 uint32, x1 uint8, off2 uint32, x2 uint8, fix bool) {
		i := int(which) % len(js.Datasets)
		ds := &js.Datasets[i]
		buf := append([]byte(nil), data...)
		o1, o2 := int64(off1)%int64(len(buf)), int64(off2)%int64(len(buf))
		buf[o1] ^= x1
		buf[o2] ^= x2
		if fix {
			for _, sp := range spans[i] {
				if (o1 >= sp[0] && o1 < sp[1]) || (o2 >= sp[0] && o2 < sp[1]) {
					b := buf[sp[0]:sp[1]]
					binary.LittleEndian.PutUint32(b[len(b)-4:], format.Lookup3(b[:len(b)-4], 0))
				}
			}
		}
		mem := &memFile{buf: buf}
		p, _, err := datasetParams(buf, mem, ds.Addr)
		if err != nil {
			return
		}
		idx, err := Open(p)
		if err != nil {
			return
		}
		defer removeWalked(idx, mem)
		n := 0
		_ = idx.Walk(func(c Chunk) error {
			n++
			if n > 1<<20 {
				return errors.New("too many chunks")
			}
			return nil
		})
		rank := len(p.Layout.ChunkDims)
		probe := func(s []uint64) {
			if len(s) == rank {
				_, _, _ = idx.Lookup(s)
			}
		}
		for i, c := range ds.Stored {
			if i >= 64 {
				break
			}
			probe(c.Scaled)
		}
		s := make([]uint64, rank)
		for i := range s {
			s[i] = uint64(off1) % 1000
		}
		probe(s)
		for i := range s {
			s[i] = ^uint64(0) - uint64(i)
		}
		probe(s)
	})
}

// removeWalked removes up to 16 of the chunks idx walks to (as a shrink
// does), then walks it again: on a damaged index, errors are fine.
func removeWalked(idx Index, s format.Space) {
	r, ok := idx.(Remover)
	if !ok {
		return
	}
	var gone [][]uint64
	stop := errors.New("enough")
	_ = idx.Walk(func(c Chunk) error {
		if len(gone) == 16 {
			return stop
		}
		gone = append(gone, append([]uint64(nil), c.Scaled...))
		return nil
	})
	for _, sc := range gone {
		_ = r.Remove(s, sc)
	}
	n := 0
	_ = idx.Walk(func(Chunk) error {
		if n++; n > 1<<20 {
			return stop
		}
		return nil
	})
}

func FuzzFixedArray(f *testing.F)      { fuzzArray(f, "fixedarray") }
func FuzzExtensibleArray(f *testing.F) { fuzzArray(f, "extensible2") }
