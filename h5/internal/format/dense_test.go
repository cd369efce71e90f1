package format

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"
)

// The files of testdata/dense and their JSON expectations are written by
// scripts/gen_dense.py with h5py over libhdf5 1.10.8.

const denseDir = "../../../testdata/dense"

// testUnfilter decodes the deflate-only pipelines of the test files. The
// real decoder lives in package filter, which imports this one.
func testUnfilter(pipeline []Filter, mask uint32, data []byte, size int) ([]byte, error) {
	buf := data
	for i := len(pipeline) - 1; i >= 0; i-- {
		if mask&(1<<uint(i)) != 0 {
			continue
		}
		if pipeline[i].ID != 1 {
			return nil, fmt.Errorf("filter %d: %w", pipeline[i].ID, ErrUnsupported)
		}
		zr, err := zlib.NewReader(bytes.NewReader(buf))
		if err != nil {
			return nil, fmt.Errorf("zlib: %v: %w", err, ErrCorrupt)
		}
		out, err := io.ReadAll(io.LimitReader(zr, int64(size)+1))
		if err != nil {
			return nil, fmt.Errorf("zlib: %v: %w", err, ErrCorrupt)
		}
		if len(out) > size {
			return nil, fmt.Errorf("zlib: more than %d bytes: %w", size, ErrCorrupt)
		}
		buf = out
	}
	return buf, nil
}

func init() { DefaultUnfilter = testUnfilter }

// openBytes makes a Reader over an in-memory file.
func openBytes(t testing.TB, data []byte) *Reader {
	t.Helper()
	r := tryOpen(data)
	if r == nil {
		t.Fatal("no superblock")
	}
	return r
}

// tryOpen is openBytes for fuzzed files: nil when the superblock is gone.
func tryOpen(data []byte) *Reader {
	sb, err := FindSuperblock(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil
	}
	return &Reader{R: bytes.NewReader(data), Size: int64(len(data)), Base: sb.BaseAddr, Sizes: sb.Sizes}
}

func readTestFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(denseDir, name))
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 scripts/gen_dense.py)", err)
	}
	return data
}

func readJSON(t testing.TB, name string, v any) {
	t.Helper()
	if err := json.Unmarshal(readTestFile(t, name), v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

type jsonLink struct {
	Type   string `json:"type"`
	Addr   uint64 `json:"addr"`
	Target string `json:"target"`
	TLen   int    `json:"target_len"`
	TSum   string `json:"target_sha256"`
	File   string `json:"file"`
	Path   string `json:"path"`
	Corder *int64 `json:"corder"`
}

type jsonGroup struct {
	Addr          uint64              `json:"addr"`
	NameOrder     []string            `json:"name_order"`
	CreationOrder []string            `json:"creation_order"`
	Links         map[string]jsonLink `json:"links"`
}

type jsonAttr struct {
	Dtype  string `json:"dtype"`
	Shape  []int  `json:"shape"`
	Corder *int   `json:"corder"`
	SHA256 string `json:"sha256"`
	NBytes int    `json:"nbytes"`
}

type jsonObject struct {
	Addr          uint64              `json:"addr"`
	NameOrder     []string            `json:"name_order"`
	CreationOrder []string            `json:"creation_order"`
	Attrs         map[string]jsonAttr `json:"attrs"`
}

func linkInfoAt(t testing.TB, r *Reader, addr uint64) *LinkInfo {
	t.Helper()
	hdr, err := ReadObjectHeader(r, addr)
	if err != nil {
		t.Fatalf("object header 0x%x: %v", addr, err)
	}
	m := hdr.Find(MsgLinkInfo)
	if m == nil {
		t.Fatalf("object header 0x%x: no link info message", addr)
	}
	li, err := DecodeLinkInfo(m.Data, m.Addr, r.Sizes)
	if err != nil {
		t.Fatalf("link info: %v", err)
	}
	return li
}

func attrInfoAt(t testing.TB, r *Reader, addr uint64) *AttributeInfo {
	t.Helper()
	hdr, err := ReadObjectHeader(r, addr)
	if err != nil {
		t.Fatalf("object header 0x%x: %v", addr, err)
	}
	m := hdr.Find(MsgAttributeInfo)
	if m == nil {
		t.Fatalf("object header 0x%x: no attribute info message", addr)
	}
	ai, err := DecodeAttributeInfo(m.Data, m.Addr, r.Sizes)
	if err != nil {
		t.Fatalf("attribute info: %v", err)
	}
	return ai
}

func checkLink(t *testing.T, where string, l *Link, want jsonLink) {
	t.Helper()
	switch want.Type {
	case "hard":
		if l.Type != LinkHard || l.Addr != want.Addr {
			t.Errorf("%s: hard link to 0x%x (type %d), want 0x%x", where, l.Addr, l.Type, want.Addr)
		}
	case "soft":
		sum := sha256.Sum256([]byte(l.Target))
		if want.TSum != "" && (l.Type != LinkSoft || len(l.Target) != want.TLen || hex.EncodeToString(sum[:]) != want.TSum) {
			t.Errorf("%s: soft link (type %d) to %d bytes %.40q..., want %d bytes", where, l.Type, len(l.Target), l.Target, want.TLen)
		} else if want.TSum == "" && (l.Type != LinkSoft || l.Target != want.Target) {
			t.Errorf("%s: soft link (type %d) to %.40q..., want %.40q...", where, l.Type, l.Target, want.Target)
		}
	case "external":
		if l.Type != LinkExternal || l.ExtFile != want.File || l.ExtPath != want.Path {
			t.Errorf("%s: external link (type %d) %q:%q, want %q:%q", where, l.Type, l.ExtFile, l.ExtPath, want.File, want.Path)
		}
	default:
		t.Errorf("%s: unexpected JSON link type %q", where, want.Type)
	}
	if want.Corder != nil {
		if !l.HasCreationOrder || l.CreationOrder != *want.Corder {
			t.Errorf("%s: creation order %v/%d, want %d", where, l.HasCreationOrder, l.CreationOrder, *want.Corder)
		}
	}
}

func TestDenseLinks(t *testing.T) {
	r := openBytes(t, readTestFile(t, "links.h5"))
	var doc struct {
		Groups map[string]jsonGroup `json:"groups"`
	}
	readJSON(t, "links.json", &doc)
	if len(doc.Groups) == 0 {
		t.Fatal("no groups in links.json")
	}
	for path, g := range doc.Groups {
		t.Run(path, func(t *testing.T) {
			li := linkInfoAt(t, r, g.Addr)
			if li.HeapAddr == Undefined {
				t.Fatalf("group is not dense")
			}
			var names []string
			err := WalkDenseLinks(r, li, false, func(l *Link) error {
				names = append(names, l.Name)
				want, ok := g.Links[l.Name]
				if !ok {
					t.Errorf("unexpected link %q", l.Name)
					return nil
				}
				checkLink(t, l.Name, l, want)
				return nil
			})
			if err != nil {
				t.Fatalf("WalkDenseLinks: %v", err)
			}
			if fmt.Sprint(names) != fmt.Sprint(g.NameOrder) {
				t.Errorf("name order:\n got %v\nwant %v", names, g.NameOrder)
			}
			if g.CreationOrder != nil {
				if li.OrderIndexAddr == Undefined {
					t.Errorf("creation order tracked but not indexed")
				}
				names = names[:0]
				if err := WalkDenseLinks(r, li, true, func(l *Link) error {
					names = append(names, l.Name)
					return nil
				}); err != nil {
					t.Fatalf("WalkDenseLinks by creation order: %v", err)
				}
				if fmt.Sprint(names) != fmt.Sprint(g.CreationOrder) {
					t.Errorf("creation order:\n got %v\nwant %v", names, g.CreationOrder)
				}
			}
			for _, name := range g.NameOrder {
				l, ok, err := LookupDenseLink(r, li, name)
				if err != nil || !ok {
					t.Errorf("LookupDenseLink(%q) = %v, %v", name, ok, err)
					continue
				}
				if l.Name != name {
					t.Errorf("LookupDenseLink(%q) found %q", name, l.Name)
				}
				checkLink(t, "lookup "+name, l, g.Links[name])
			}
			for _, name := range []string{"", "nope", g.NameOrder[0] + "x", "link_000"} {
				if _, ok := g.Links[name]; ok {
					continue
				}
				if _, ok, err := LookupDenseLink(r, li, name); ok || err != nil {
					t.Errorf("LookupDenseLink(%q) of a missing link = %v, %v", name, ok, err)
				}
			}
			describeDense(t, r, li.HeapAddr, li.NameIndexAddr)
		})
	}
}

// describeDense checks (and logs) the shape of what a test file was meant
// to exercise: the heap and index kinds named in scripts/gen_dense.py.
func describeDense(t *testing.T, r *Reader, heapAddr, indexAddr uint64) (*FractalHeap, *BTree2) {
	t.Helper()
	h, err := ReadFractalHeap(r, heapAddr)
	if err != nil {
		t.Fatalf("ReadFractalHeap: %v", err)
	}
	bt, err := ReadBTree2(r, indexAddr)
	if err != nil {
		t.Fatalf("ReadBTree2: %v", err)
	}
	t.Logf("heap: id %d, filters %d, root rows %d, managed %d objects, huge %d objects (B-tree 0x%x); index: type %d, depth %d, %d records",
		h.IDLen, len(h.Filters), h.RootRows, h.ManagedObjects, h.HugeObjects, h.HugeBTreeAddr, bt.Type, bt.Depth, bt.TotalRecords)
	return h, bt
}

func TestDenseLinkShapes(t *testing.T) {
	r := openBytes(t, readTestFile(t, "links.h5"))
	var doc struct {
		Groups map[string]jsonGroup `json:"groups"`
	}
	readJSON(t, "links.json", &doc)
	shape := func(path string) (*FractalHeap, *BTree2) {
		li := linkInfoAt(t, r, doc.Groups[path].Addr)
		return describeDense(t, r, li.HeapAddr, li.NameIndexAddr)
	}
	if h, bt := shape("/many"); h.RootRows == 0 || bt.Depth < 1 || bt.TotalRecords != 200 {
		t.Errorf("/many: root rows %d, depth %d, %d records: want an indirect root, depth >= 1, 200 records", h.RootRows, bt.Depth, bt.TotalRecords)
	}
	if _, bt := shape("/deep"); bt.Depth < 2 {
		t.Errorf("/deep: depth %d, want >= 2", bt.Depth)
	}
	if h, _ := shape("/filtered_big"); int(h.RootRows) <= h.maxDirectRows {
		t.Errorf("/filtered_big: root rows %d, want more than the %d direct rows (child indirect blocks)", h.RootRows, h.maxDirectRows)
	}
	// Without a pipeline decoder a filtered heap answers ErrUnsupported.
	li := linkInfoAt(t, r, doc.Groups["/filtered"].Addr)
	DefaultUnfilter = nil
	err := WalkDenseLinks(r, li, false, func(*Link) error { return nil })
	DefaultUnfilter = testUnfilter
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("filtered heap without Unfilter: %v, want ErrUnsupported", err)
	}
	for _, p := range []string{"/huge", "/filtered"} {
		h, _ := shape(p)
		if h.HugeObjects == 0 {
			t.Errorf("%s: no huge objects", p)
			continue
		}
		hb, err := h.hugeBTree()
		if err != nil {
			t.Fatalf("%s: huge object B-tree: %v", p, err)
		}
		want := uint8(BTree2HugeIndirect)
		if p == "/filtered" {
			want = BTree2HugeFiltIndirect
			if len(h.Filters) != 1 || h.Filters[0].ID != 1 {
				t.Errorf("/filtered: filters %+v, want deflate", h.Filters)
			}
		}
		if hb.Type != want {
			t.Errorf("%s: huge object B-tree type %d, want %d", p, hb.Type, want)
		}
	}
}

func TestDenseAttributes(t *testing.T) {
	r := openBytes(t, readTestFile(t, "attrs.h5"))
	var doc struct {
		Objects map[string]jsonObject `json:"objects"`
	}
	readJSON(t, "attrs.json", &doc)
	if len(doc.Objects) == 0 {
		t.Fatal("no objects in attrs.json")
	}
	for path, o := range doc.Objects {
		t.Run(path, func(t *testing.T) {
			ai := attrInfoAt(t, r, o.Addr)
			if ai.HeapAddr == Undefined {
				t.Fatalf("attributes are not dense")
			}
			var names []string
			err := WalkDenseAttributes(r, ai, false, func(am *AttributeMessage) error {
				names = append(names, am.Name)
				want, ok := o.Attrs[am.Name]
				if !ok {
					t.Errorf("unexpected attribute %q", am.Name)
					return nil
				}
				if want.Corder != nil && int(am.CreationOrder) != *want.Corder {
					t.Errorf("%s: creation order %d, want %d", am.Name, am.CreationOrder, *want.Corder)
				}
				if len(am.Data) != want.NBytes {
					t.Errorf("%s: %d data bytes, want %d", am.Name, len(am.Data), want.NBytes)
				}
				sum := sha256.Sum256(am.Data)
				if hex.EncodeToString(sum[:]) != want.SHA256 {
					t.Errorf("%s: data sha256 %x, want %s", am.Name, sum, want.SHA256)
				}
				n := uint64(1)
				for _, d := range am.Space.Dims {
					n *= d
				}
				if fmt.Sprint(am.Space.Dims) != fmt.Sprint(want.Shape) && !(len(want.Shape) == 0 && len(am.Space.Dims) == 0) {
					t.Errorf("%s: shape %v, want %v", am.Name, am.Space.Dims, want.Shape)
				}
				if am.Type == nil || n*uint64(am.Type.Size) != uint64(want.NBytes) {
					t.Errorf("%s: datatype %+v for %d elements, want %d bytes", am.Name, am.Type, n, want.NBytes)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("WalkDenseAttributes: %v", err)
			}
			if fmt.Sprint(names) != fmt.Sprint(o.NameOrder) {
				t.Errorf("name order:\n got %v\nwant %v", names, o.NameOrder)
			}
			if o.CreationOrder != nil {
				if ai.OrderIndexAddr == Undefined {
					t.Errorf("creation order tracked but not indexed")
				}
				names = names[:0]
				if err := WalkDenseAttributes(r, ai, true, func(am *AttributeMessage) error {
					names = append(names, am.Name)
					return nil
				}); err != nil {
					t.Fatalf("WalkDenseAttributes by creation order: %v", err)
				}
				if fmt.Sprint(names) != fmt.Sprint(o.CreationOrder) {
					t.Errorf("creation order:\n got %v\nwant %v", names, o.CreationOrder)
				}
			}
			h, bt := describeDense(t, r, ai.HeapAddr, ai.NameIndexAddr)
			if path == "/obj" && (bt.Depth < 1 || h.RootRows == 0) {
				t.Errorf("/obj: depth %d, root rows %d: want depth >= 1 and an indirect root", bt.Depth, h.RootRows)
			}
			if path == "/huge" && h.HugeObjects < 2 {
				t.Errorf("/huge: %d huge objects, want 2", h.HugeObjects)
			}
		})
	}
}

// TestTinyObjects checks both encodings of objects stored in the heap ID
// (H5HF__tiny_init decides which one a heap uses from its ID length).
func TestTinyObjects(t *testing.T) {
	newHeap := func(idLen uint16) *FractalHeap {
		h := &FractalHeap{r: &Reader{Sizes: Sizes{8, 8}}, IDLen: idLen, TableWidth: 4, StartBlockSize: 512,
			MaxDirectBlockSize: 65536, MaxHeapBits: 32, MaxManagedSize: 4096, HugeBTreeAddr: Undefined}
		if err := h.init(); err != nil {
			t.Fatal(err)
		}
		return h
	}
	h := newHeap(7)
	if h.tinyExtended {
		t.Fatal("7-byte IDs use the short tiny encoding")
	}
	got, err := h.Object([]byte{0x20 | 4, 'h', 'e', 'l', 'l', 'o', 0})
	if err != nil || string(got) != "hello" {
		t.Errorf("short tiny object = %q, %v", got, err)
	}
	if _, err := h.Object([]byte{0x20 | 6, 'h', 'e', 'l', 'l', 'o', 0}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("tiny object longer than its ID: %v", err)
	}
	if newHeap(18).tinyExtended {
		t.Error("18-byte IDs (17 after the flags) use the short encoding")
	}
	h = newHeap(300)
	if !h.tinyExtended {
		t.Fatal("300-byte IDs use the extended tiny encoding")
	}
	payload := bytes.Repeat([]byte("0123456789"), 27)[:270]
	id := append([]byte{0x20 | byte((len(payload)-1)>>8), byte(len(payload) - 1)}, payload...)
	id = append(id, make([]byte, 300-len(id))...)
	got, err = h.Object(id)
	if err != nil || !bytes.Equal(got, payload) {
		t.Errorf("extended tiny object: %d bytes, %v", len(got), err)
	}
	if _, err := h.Object([]byte{0x30}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("reserved ID type: %v", err)
	}
	if _, err := h.Object([]byte{0x40}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("ID version 1: %v", err)
	}
}

func TestBTree2Search(t *testing.T) {
	r := openBytes(t, readTestFile(t, "links.h5"))
	var doc struct {
		Groups map[string]jsonGroup `json:"groups"`
	}
	readJSON(t, "links.json", &doc)
	li := linkInfoAt(t, r, doc.Groups["/deep"].Addr)
	bt, err := ReadBTree2(r, li.NameIndexAddr)
	if err != nil {
		t.Fatal(err)
	}
	var hashes []uint32
	if err := bt.Walk(func(rec []byte) error {
		hashes = append(hashes, binary.LittleEndian.Uint32(rec))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if uint64(len(hashes)) != bt.TotalRecords {
		t.Fatalf("walked %d records, header says %d", len(hashes), bt.TotalRecords)
	}
	if !sort.SliceIsSorted(hashes, func(i, j int) bool { return hashes[i] < hashes[j] }) {
		t.Error("records are not in key order")
	}
	for i, want := range hashes {
		rec, ok, err := bt.Search(func(rec []byte) int {
			h := binary.LittleEndian.Uint32(rec)
			switch {
			case want < h:
				return -1
			case want > h:
				return 1
			}
			return 0
		})
		if err != nil || !ok || binary.LittleEndian.Uint32(rec) != want {
			t.Fatalf("Search(record %d) = %v, %v", i, ok, err)
		}
	}
}

// recordingReader notes every read, so that the fuzz tests learn where the
// checksummed structures of a file lie.
type recordingReader struct {
	r     io.ReaderAt
	mu    sync.Mutex
	reads [][2]int64
}

func (rr *recordingReader) ReadAt(p []byte, off int64) (int, error) {
	rr.mu.Lock()
	rr.reads = append(rr.reads, [2]int64{off, int64(len(p))})
	rr.mu.Unlock()
	return rr.r.ReadAt(p, off)
}

// checksumSpan is a checksummed structure at [start, end) of a file, with
// its lookup3 checksum at sumAt. The checksum covers the bytes before it, or
// (zeroed: fractal heap direct blocks) the whole block with the field zeroed.
type checksumSpan struct {
	start, end, sumAt int64
	zeroed            bool
}

// findChecksums reads a file once with walk and returns every read range
// that carries a valid checksum, so a fuzzer can mutate a structure and fix
// its checksum to reach the decoding behind it.
func findChecksums(t testing.TB, data []byte, walk func(r *Reader)) []checksumSpan {
	rr := &recordingReader{r: bytes.NewReader(data)}
	sb, err := FindSuperblock(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	walk(&Reader{R: rr, Size: int64(len(data)), Base: sb.BaseAddr, Sizes: sb.Sizes})
	var spans []checksumSpan
	seen := map[[2]int64]bool{}
	for _, rd := range rr.reads {
		if seen[rd] || rd[1] < 8 {
			continue
		}
		seen[rd] = true
		b := data[rd[0] : rd[0]+rd[1]]
		if VerifyChecksum(b, 0, "") == nil {
			spans = append(spans, checksumSpan{start: rd[0], end: rd[0] + rd[1], sumAt: rd[0] + rd[1] - 4})
			continue
		}
		if string(b[:4]) == "FHDB" {
			pos := int64(5 + sb.Sizes.Offset)
			for n := int64(1); n <= 8; n++ { // the block offset's width is not known here
				at := pos + n
				if at+4 > int64(len(b)) {
					break
				}
				tmp := append([]byte(nil), b...)
				stored := binary.LittleEndian.Uint32(tmp[at:])
				clear(tmp[at : at+4])
				if Lookup3(tmp, 0) == stored {
					spans = append(spans, checksumSpan{start: rd[0], end: rd[0] + rd[1], sumAt: rd[0] + at, zeroed: true})
					break
				}
			}
		}
	}
	return spans
}

// fixChecksums recomputes the checksums of the spans that contain position
// [pos, pos+n).
func fixChecksums(data []byte, spans []checksumSpan, pos, n int64) {
	for _, s := range spans {
		if pos+n <= s.start || pos >= s.end {
			continue
		}
		b := data[s.start:s.end]
		at := s.sumAt - s.start
		if s.zeroed {
			clear(b[at : at+4])
			binary.LittleEndian.PutUint32(b[at:], Lookup3(b, 0))
		} else {
			binary.LittleEndian.PutUint32(b[at:], Lookup3(b[:at], 0))
		}
	}
}

// walkDenseFile runs every dense reader over a file, ignoring errors: what
// the fuzz tests care about is that nothing panics or hangs.
func walkDenseFile(r *Reader, groups, objects []uint64, names []string) {
	for _, addr := range groups {
		hdr, err := ReadObjectHeader(r, addr)
		if err != nil {
			continue
		}
		m := hdr.Find(MsgLinkInfo)
		if m == nil {
			continue
		}
		li, err := DecodeLinkInfo(m.Data, m.Addr, r.Sizes)
		if err != nil {
			continue
		}
		_ = WalkDenseLinks(r, li, false, func(*Link) error { return nil })
		_ = WalkDenseLinks(r, li, true, func(*Link) error { return nil })
		for _, name := range names {
			_, _, _ = LookupDenseLink(r, li, name)
		}
	}
	for _, addr := range objects {
		hdr, err := ReadObjectHeader(r, addr)
		if err != nil {
			continue
		}
		m := hdr.Find(MsgAttributeInfo)
		if m == nil {
			continue
		}
		ai, err := DecodeAttributeInfo(m.Data, m.Addr, r.Sizes)
		if err != nil {
			continue
		}
		_ = WalkDenseAttributes(r, ai, false, func(*AttributeMessage) error { return nil })
		_ = WalkDenseAttributes(r, ai, true, func(*AttributeMessage) error { return nil })
	}
}

type denseFuzzFile struct {
	data    []byte
	spans   []checksumSpan
	groups  []uint64
	objects []uint64
	names   []string
}

func loadDenseFuzzFiles(t testing.TB) []denseFuzzFile {
	var links struct {
		Groups map[string]jsonGroup `json:"groups"`
	}
	readJSON(t, "links.json", &links)
	var attrs struct {
		Objects map[string]jsonObject `json:"objects"`
	}
	readJSON(t, "attrs.json", &attrs)
	var files []denseFuzzFile
	lf := denseFuzzFile{data: readTestFile(t, "links.h5")}
	for _, p := range []string{"/many", "/ordered", "/huge", "/filtered"} { // /deep is slow to fuzz
		g := links.Groups[p]
		lf.groups = append(lf.groups, g.Addr)
		lf.names = append(lf.names, g.NameOrder[0], g.NameOrder[len(g.NameOrder)-1])
	}
	af := denseFuzzFile{data: readTestFile(t, "attrs.h5")}
	for _, p := range []string{"/obj", "/ordered", "/huge"} {
		af.objects = append(af.objects, attrs.Objects[p].Addr)
	}
	for _, f := range []*denseFuzzFile{&lf, &af} {
		f.spans = findChecksums(t, f.data, func(r *Reader) { walkDenseFile(r, f.groups, f.objects, f.names) })
		files = append(files, *f)
	}
	return files
}

// runWithDeadline fails the test if fn does not return in time: decoding a
// corrupt file must never loop.
func runWithDeadline(t *testing.T, fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("decoding did not finish in 20s")
	}
}

// FuzzFractalHeap overwrites bytes of the real dense test files (and, when
// fix is set, repairs the checksum of the structure it hit so the decoders
// behind the checksum see the damage) and reads every dense group and
// attribute list.
func FuzzFractalHeap(f *testing.F) {
	files := loadDenseFuzzFiles(f)
	for i, df := range files {
		for j, s := range df.spans {
			if j%3 != 0 {
				continue
			}
			for _, off := range []int64{5, 8, 20, (s.end - s.start) / 2} {
				f.Add(uint8(i), uint32(s.start+off), []byte{0xff}, true)
				f.Add(uint8(i), uint32(s.start+off), []byte{0x00, 0x01}, true)
			}
		}
		f.Add(uint8(i), uint32(len(df.data)/2), []byte{1, 2, 3}, false)
	}
	f.Fuzz(func(t *testing.T, which uint8, pos uint32, patch []byte, fix bool) {
		df := files[int(which)%len(files)]
		if len(patch) > 64 || int64(pos) >= int64(len(df.data)) {
			return
		}
		data := append([]byte(nil), df.data...)
		n := copy(data[pos:], patch)
		if fix {
			fixChecksums(data, df.spans, int64(pos), int64(n))
		}
		r := tryOpen(data)
		if r == nil {
			return
		}
		runWithDeadline(t, func() { walkDenseFile(r, df.groups, df.objects, df.names) })
	})
}

// FuzzBTree2 does the same, aimed at the B-tree nodes and at Search.
func FuzzBTree2(f *testing.F) {
	data := readTestFile(f, "links.h5")
	var links struct {
		Groups map[string]jsonGroup `json:"groups"`
	}
	readJSON(f, "links.json", &links)
	li := linkInfoAt(f, openBytes(f, data), links.Groups["/deep"].Addr)
	walk := func(r *Reader) {
		bt, err := ReadBTree2(r, li.NameIndexAddr)
		if err != nil {
			return
		}
		_ = bt.Walk(func([]byte) error { return nil })
		for _, key := range []uint32{0, 1 << 31, ^uint32(0), 0x12345678} {
			_, _, _ = bt.Search(func(rec []byte) int {
				h := binary.LittleEndian.Uint32(rec)
				switch {
				case key < h:
					return -1
				case key > h:
					return 1
				}
				return 0
			})
		}
	}
	spans := findChecksums(f, data, walk)
	for j, s := range spans {
		if j%4 == 0 {
			f.Add(uint32(s.start+6), []byte{0xff}, true)
			f.Add(uint32(s.start+(s.end-s.start)/2), []byte{0x00, 0x10}, true)
		}
	}
	f.Fuzz(func(t *testing.T, pos uint32, patch []byte, fix bool) {
		if len(patch) > 64 || int64(pos) >= int64(len(data)) {
			return
		}
		d := append([]byte(nil), data...)
		n := copy(d[pos:], patch)
		if fix {
			fixChecksums(d, spans, int64(pos), int64(n))
		}
		r := tryOpen(d)
		if r == nil {
			return
		}
		runWithDeadline(t, func() { walk(r) })
	})
}
