package filter_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/chunk"
	"github.com/h5mount/h5mount/h5/internal/filter"
	"github.com/h5mount/h5mount/h5/internal/format"
)

// The files and filters.json are written by scripts/gen_filters.py (h5py
// 3.7, libhdf5 1.10.8 and Debian's filter plugins); some entries name files
// of the shared corpus (../shared/corpus/ from the project root), skipped
// when it is absent.

type fFile struct {
	File     string     `json:"file"`
	Path     string     `json:"path"`
	Datasets []fDataset `json:"datasets"`
}

type fDataset struct {
	Name         string   `json:"name"`
	Addr         uint64   `json:"addr"`
	Dtype        string   `json:"dtype"`
	ItemSize     int      `json:"itemsize"`
	Shape        []uint64 `json:"shape"`
	Chunks       []uint64 `json:"chunks"`
	Filters      [][]any  `json:"filters"` // [id, nparams, [first 16 params]]
	NChunks      int      `json:"nchunks"`
	MaskedChunks int      `json:"masked_chunks"`
	SHA256       string   `json:"sha256"`
	Expect       string   `json:"expect"`
}

func projectRoot() string { return filepath.Join("..", "..", "..") }

func loadFilterFiles(t testing.TB) []fFile {
	t.Helper()
	var files []fFile
	// wasm.json is scripts/gen_wasm_filters.mjs's: libhdf5 1.10 has no
	// Blosc2 nor the quantizers.
	for _, name := range []string{"filters.json", "wasm.json"} {
		js, err := os.ReadFile(filepath.Join(projectRoot(), "testdata", "filters", name))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Files []fFile `json:"files"`
		}
		if err := json.Unmarshal(js, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		files = append(files, doc.Files...)
	}
	return files
}

// path is where the file is, and whether it is one of ours (not corpus).
func (f *fFile) path() (string, bool) {
	if f.File != "" {
		return filepath.Join(projectRoot(), "testdata", "filters", f.File), true
	}
	return filepath.Join(projectRoot(), filepath.FromSlash(f.Path)), false
}

func (f *fFile) label() string {
	if f.File != "" {
		return strings.TrimSuffix(f.File, ".h5")
	}
	return strings.TrimSuffix(filepath.Base(f.Path), filepath.Ext(f.Path))
}

// dataset is one chunked dataset opened through the format and chunk
// packages.
type dataset struct {
	params  chunk.Params
	filters []format.Filter
	index   chunk.Index
}

func openDataset(data []byte, addr uint64) (*dataset, error) {
	size := int64(len(data))
	sb, err := format.FindSuperblock(bytes.NewReader(data), size)
	if err != nil {
		return nil, err
	}
	r := &format.Reader{R: bytes.NewReader(data), Size: size, Base: sb.BaseAddr, Sizes: sb.Sizes}
	oh, err := format.ReadObjectHeader(r, addr)
	if err != nil {
		return nil, err
	}
	ds := &dataset{params: chunk.Params{R: r}}
	p := &ds.params
	m := oh.Find(format.MsgLayout)
	if m == nil {
		return nil, errors.New("no layout message")
	}
	if p.Layout, err = format.DecodeLayout(m.Data, m.Addr, r.Sizes); err != nil {
		return nil, err
	}
	if p.Layout.Class != format.LayoutChunked {
		return nil, errors.New("not chunked")
	}
	if m = oh.Find(format.MsgDataspace); m == nil {
		return nil, errors.New("no dataspace message")
	}
	space, err := format.DecodeDataspace(m.Data, m.Addr, r.Sizes)
	if err != nil {
		return nil, err
	}
	p.Dims, p.MaxDims = space.Dims, space.MaxDims
	if m = oh.Find(format.MsgDatatype); m == nil {
		return nil, errors.New("no datatype message")
	}
	dt, err := format.DecodeDatatype(m.Data, m.Addr)
	if err != nil {
		return nil, err
	}
	p.ElementSize = dt.Size
	if m = oh.Find(format.MsgFilterPipeline); m != nil {
		if ds.filters, err = format.DecodeFilterPipeline(m.Data, m.Addr); err != nil {
			return nil, err
		}
	}
	p.Filtered = len(ds.filters) > 0
	if ds.index, err = chunk.Open(*p); err != nil {
		return nil, err
	}
	return ds, nil
}

// storedChunk is one chunk as stored, with what the pipeline needs.
type storedChunk struct {
	c   chunk.Chunk
	raw []byte
}

func (ds *dataset) chunks() ([]storedChunk, error) {
	var out []storedChunk
	err := ds.index.Walk(func(c chunk.Chunk) error {
		raw, err := ds.params.R.Read(c.Addr, int(c.Size), "chunk")
		if err != nil {
			return err
		}
		c.Scaled = append([]uint64(nil), c.Scaled...)
		out = append(out, storedChunk{c, raw})
		return nil
	})
	return out, err
}

// copyChunk copies the part of a decoded chunk inside the dataset extent
// into the row-major dataset buffer.
func copyChunk(dst []byte, dims, cdims, scaled []uint64, elem int, src []byte) {
	rank := len(dims)
	// Elements along each dimension inside the extent.
	n := make([]uint64, rank)
	for i := range dims {
		start := scaled[i] * cdims[i]
		if start >= dims[i] {
			return
		}
		n[i] = min(cdims[i], dims[i]-start)
	}
	idx := make([]uint64, rank) // position within the chunk, last dim whole
	row := int(n[rank-1]) * elem
	for {
		var so, do uint64
		for i := 0; i < rank; i++ {
			so = so*cdims[i] + idx[i]
			do = do*dims[i] + scaled[i]*cdims[i] + idx[i]
		}
		copy(dst[int(do)*elem:int(do)*elem+row], src[int(so)*elem:])
		i := rank - 2
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < n[i] {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return
		}
	}
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestFilterFiles decodes every chunk of every dataset the generator wrote
// (and the corpus files it lists) and compares the assembled dataset with
// what libhdf5 read.
func TestFilterFiles(t *testing.T) {
	seen := map[uint16]bool{}
	for _, ff := range loadFilterFiles(t) {
		path, ours := ff.path()
		data, err := os.ReadFile(path)
		if err != nil {
			if !ours && errors.Is(err, os.ErrNotExist) {
				t.Logf("skipping %s: %v", ff.Path, err)
				continue
			}
			t.Fatal(err)
		}
		for _, d := range ff.Datasets {
			t.Run(ff.label()+d.Name, func(t *testing.T) {
				ids := checkFilterDataset(t, data, &d)
				for _, id := range ids {
					seen[id] = true
				}
			})
		}
	}
	// The files exercise every decoder this package has beyond the
	// original three.
	for _, id := range []uint16{filter.LZF, filter.LZ4, filter.Zstd, filter.Bitshuffle, filter.BZip2, filter.ScaleOffset, filter.NBit, filter.Blosc,
		filter.SZip, filter.VBZ, filter.LZO, filter.ZFP, filter.Blosc2, filter.BitGroom, filter.GranularBitRound} {
		if !seen[id] {
			t.Errorf("no test dataset decoded filter %d", id)
		}
	}
}

func checkFilterDataset(t *testing.T, data []byte, d *fDataset) []uint16 {
	ds, err := openDataset(data, d.Addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &ds.params
	if fmt.Sprint(p.Dims) != fmt.Sprint(d.Shape) || fmt.Sprint(p.Layout.ChunkDims[:len(d.Chunks)]) != fmt.Sprint(d.Chunks) || int(p.ElementSize) != d.ItemSize {
		t.Fatalf("dims %v chunks %v size %d, want %v %v %d", p.Dims, p.Layout.ChunkDims, p.ElementSize, d.Shape, d.Chunks, d.ItemSize)
	}
	// The pipeline message says what h5py said.
	if len(ds.filters) != len(d.Filters) {
		t.Fatalf("%d filters, want %d", len(ds.filters), len(d.Filters))
	}
	var ids []uint16
	for i, f := range ds.filters {
		want := d.Filters[i]
		nparams := int(want[1].(float64))
		first := want[2].([]any)
		if f.ID != uint16(want[0].(float64)) || len(f.Params) != nparams {
			t.Fatalf("filter %d: id %d with %d params, want %v", i, f.ID, len(f.Params), want)
		}
		for j, v := range first {
			if f.Params[j] != uint32(v.(float64)) {
				t.Fatalf("filter %d params %v, want %v", i, f.Params, first)
			}
		}
		ids = append(ids, f.ID)
	}

	elem := int(p.ElementSize)
	total := elem
	for _, n := range p.Dims {
		total *= int(n)
	}
	out := make([]byte, total)
	cs, err := ds.chunks()
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != d.NChunks {
		t.Fatalf("%d chunks stored, want %d", len(cs), d.NChunks)
	}
	chunkBytes := int(p.ChunkBytes())
	masked := 0
	for _, c := range cs {
		if c.c.FilterMask != 0 {
			masked++
		}
		dec, err := filter.DecodePipeline(ds.filters, c.c.FilterMask, c.raw, chunkBytes)
		if d.Expect == "unsupported" {
			// Every chunk fails, saying which filter is missing.
			if !errors.Is(err, format.ErrUnsupported) || !namesFilter(err, ds.filters) {
				t.Fatalf("chunk %v: %v, want unsupported naming the filter", c.c.Scaled, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("chunk %v: %v", c.c.Scaled, err)
		}
		if len(dec) != chunkBytes {
			t.Fatalf("chunk %v: %d bytes decoded, want %d", c.c.Scaled, len(dec), chunkBytes)
		}
		checkDecodesIntoGarbage(t, ds.filters, c.c.FilterMask, c.raw, chunkBytes, dec)
		copyChunk(out, p.Dims, p.Layout.ChunkDims, c.c.Scaled, elem, dec)
		if len(ds.filters) == 1 && ds.filters[0].ID == filter.Blosc && c.c.FilterMask == 0 {
			checkBloscFrameLikeCBlosc(t, ds.filters, c.raw, dec)
		}
	}
	if d.Expect == "unsupported" {
		return nil
	}
	if masked != d.MaskedChunks {
		t.Errorf("%d chunks with a filter mask, want %d", masked, d.MaskedChunks)
	}
	if got := sha(out); got != d.SHA256 {
		t.Fatalf("dataset bytes differ from libhdf5's (sha256 %s, want %s)", got, d.SHA256)
	}
	return ids
}

// namesFilter: the error names a filter of the pipeline that has no codec.
func namesFilter(err error, pipeline []format.Filter) bool {
	for i := range pipeline {
		f := &pipeline[i]
		if _, ok := filter.Lookup(f.ID); !ok && strings.Contains(err.Error(), filter.Name(f)) {
			return true
		}
	}
	return false
}

// TestUnsupportedFilterIsNamed: a filter with no decoder (SZ here) fails
// with ErrUnsupported, saying which filter, by id or by the file's name.
func TestUnsupportedFilterIsNamed(t *testing.T) {
	_, err := filter.DecodePipeline([]format.Filter{{ID: 32017, Params: []uint32{3, 0, 0, 0, 20, 32}}}, 0, []byte{1, 2, 3}, 64)
	if !errors.Is(err, format.ErrUnsupported) || !strings.Contains(err.Error(), "32017") {
		t.Fatalf("SZ: %v", err)
	}
	_, err = filter.DecodePipeline([]format.Filter{{ID: 40000, Name: "mystery"}}, 0, []byte{1}, 1)
	if !errors.Is(err, format.ErrUnsupported) || !strings.Contains(err.Error(), "mystery") {
		t.Fatalf("unknown filter: %v", err)
	}
}

// TestConcurrentDecode decodes every chunk of the test files from several
// goroutines at once (pooled decoders and scratch must not be shared).
func TestConcurrentDecode(t *testing.T) {
	type job struct {
		filters []format.Filter
		c       storedChunk
		size    int
		want    string
	}
	var jobs []job
	for _, ff := range loadFilterFiles(t) {
		path, ours := ff.path()
		if !ours {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ff.Datasets {
			if d.Expect != "ok" {
				continue
			}
			ds, err := openDataset(data, d.Addr)
			if err != nil {
				t.Fatal(err)
			}
			cs, err := ds.chunks()
			if err != nil {
				t.Fatal(err)
			}
			size := int(ds.params.ChunkBytes())
			for _, c := range cs {
				dec, err := filter.DecodePipeline(ds.filters, c.c.FilterMask, c.raw, size)
				if err != nil {
					t.Fatal(err)
				}
				jobs = append(jobs, job{ds.filters, c, size, sha(dec)})
			}
		}
	}
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		go func(w int) {
			for i := range jobs {
				j := jobs[(i*7+w*13)%len(jobs)]
				dec, err := filter.DecodePipeline(j.filters, j.c.c.FilterMask, j.c.raw, j.size)
				if err == nil && sha(dec) != j.want {
					err = fmt.Errorf("chunk %v decoded differently", j.c.c.Scaled)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}(w)
	}
	for w := 0; w < 8; w++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"/lzf_runs_i4", "/lz4_f8_blocks", "/bs_f8_lz4", "/bs_i4", "/bs_f4_zstd", "/zstd_i4", "/so_f8_be", "/so_i4", "/nbit_i4_p12", "/nbit_compound", "/bz2_i4"} {
		var ds *dataset
		for _, ff := range loadFilterFiles(b) {
			path, ours := ff.path()
			if !ours {
				continue
			}
			for _, d := range ff.Datasets {
				if d.Name == name {
					data, err := os.ReadFile(path)
					if err != nil {
						b.Fatal(err)
					}
					if ds, err = openDataset(data, d.Addr); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
		if ds == nil {
			b.Fatalf("no dataset %s", name)
		}
		cs, err := ds.chunks()
		if err != nil {
			b.Fatal(err)
		}
		size := int(ds.params.ChunkBytes())
		b.Run(name[1:], func(b *testing.B) {
			b.SetBytes(int64(size * len(cs)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				for _, c := range cs {
					if _, err := filter.DecodePipeline(ds.filters, c.c.FilterMask, c.raw, size); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// checkBloscFrameLikeCBlosc: the encoder makes the frame c-blosc made of
// the same chunk with the same settings: the same flags (shuffle, split,
// compressor) and block size, so that the blocks and splits line up, and
// it decodes to the chunk.
func checkBloscFrameLikeCBlosc(t *testing.T, pipeline []format.Filter, theirs, chunk []byte) {
	t.Helper()
	ours, mask, err := filter.EncodePipeline(pipeline, chunk)
	if err != nil || mask != 0 {
		t.Fatalf("blosc encode: %v (mask %b)", err, mask)
	}
	if !bytes.Equal(ours[:4], theirs[:4]) || !bytes.Equal(ours[8:12], theirs[8:12]) {
		t.Errorf("frame header % x, c-blosc's % x", ours[:16], theirs[:16])
	}
	back, err := filter.DecodePipeline(pipeline, 0, ours, len(chunk))
	if err != nil || !bytes.Equal(back, chunk) {
		t.Errorf("blosc round trip: %v", err)
	}
}

// checkDecodesIntoGarbage decodes a chunk again into recycled memory full
// of garbage, as the chunk cache has it decoded, and checks every byte
// comes out as decoded into fresh memory (dec): a codec that left a byte
// unwritten would show another chunk's bytes.
func checkDecodesIntoGarbage(t *testing.T, pipeline []format.Filter, mask uint32, raw []byte, chunkBytes int, dec []byte) {
	t.Helper()
	var pool filter.BufferPool
	garbage := make([]byte, 2*chunkBytes+256<<10)
	for i := range garbage {
		garbage[i] = byte(0x5a + i*7)
	}
	pool.Put(garbage)
	got, mem, err := filter.DecodePipelineInto(pipeline, mask, raw, chunkBytes, &pool)
	if err != nil {
		t.Fatalf("decoding into recycled memory: %v", err)
	}
	if !bytes.Equal(got, dec) {
		t.Fatalf("decoded into recycled memory, %d bytes differ from the %d decoded into fresh memory", len(got), len(dec))
	}
	if mem != nil && !filter.SharesMemory(got, mem) {
		t.Fatalf("the result does not lie in the memory it names")
	}
}
