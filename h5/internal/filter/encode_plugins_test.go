package filter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/format"
	"github.com/klauspost/compress/zstd"
)

// lz4Encode is one LZ4 block of src, made by the real compressor (the
// decoder tests use it).
func lz4Encode(src []byte) []byte {
	out := make([]byte, lz4Bound(len(src)))
	n := lz4CompressBlock(out, src, new(lz4Table))
	if n == 0 {
		panic("lz4: bound too small")
	}
	return out[:n]
}

// lzfEncode is the LZF stream of src, however long (the encoder proper
// gives up when it does not shrink). A match of m bytes takes at most m-1
// bytes and may split a literal run, whose control byte costs 1: the
// stream is never longer than all literals, a control byte per 32, plus 1.
func lzfEncode(src []byte) []byte {
	out := make([]byte, len(src)+len(src)/lzfMaxLit+2)
	n := lzfCompress(out, src, new(lzfTable))
	if n == 0 && len(src) > 0 {
		panic("lzf: bound too small")
	}
	return out[:n]
}

// ---- test data ----

var encodeSizes = []int{0, 1, 7, 8, 4095, 1 << 20}

type sample struct {
	name         string
	data         []byte
	compressible bool // any of the codecs should halve it, from 4 KiB up
}

// samples are inputs of one size: random bytes, zeros, smooth floats,
// slowly growing integers with and without noise, and bytes with repeats.
func samples(n int, seed int64) []sample {
	r := rand.New(rand.NewSource(seed))
	random := make([]byte, n)
	r.Read(random)
	floats := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(floats[i:], math.Float64bits(100*math.Sin(float64(i)/4000)))
	}
	ints := make([]byte, n)
	noisy := make([]byte, n)
	for i := 0; i+4 <= n; i += 4 {
		binary.LittleEndian.PutUint32(ints[i:], uint32(i/256))
		binary.LittleEndian.PutUint32(noisy[i:], uint32(i/64+r.Intn(4)))
	}
	return []sample{
		{"random", random, false},
		{"zeros", make([]byte, n), true},
		{"floats", floats, false},
		{"ints", ints, true},
		{"noisy", noisy, false},
		{"text", randomish(r, n), false},
	}
}

// ---- LZF ----

func TestEncodeLZF(t *testing.T) {
	c, _ := Lookup(LZF)
	for _, n := range append(encodeSizes, 2, 3, 4, 33, 300, 8192+300, 70000) {
		for _, s := range samples(n, int64(n)) {
			f := &format.Filter{ID: LZF, Flags: 1, Params: []uint32{4, 261, uint32(n)}}
			z, err := lzfEncoder{}.Encode(f, s.data)
			if err != nil {
				if !errors.Is(err, errNoGain) {
					t.Fatalf("%s %d: %v", s.name, n, err)
				}
				if n >= 4095 && s.compressible {
					t.Errorf("%s %d: not compressed", s.name, n)
				}
			} else {
				if len(z) >= n {
					t.Fatalf("%s %d: %d-byte stream", s.name, n, len(z))
				}
				got, err := c.Decode(f, z, n+64)
				if err != nil || !bytes.Equal(got, s.data) {
					t.Fatalf("%s %d: round trip: %v", s.name, n, err)
				}
			}
			// The unbounded stream always decodes.
			if n > 0 {
				got, err := c.Decode(f, lzfEncode(s.data), n+64)
				if err != nil || !bytes.Equal(got, s.data) {
					t.Fatalf("%s %d: unbounded stream: %v", s.name, n, err)
				}
			}
		}
	}
	// Long runs take the longest back-references, far ones the farthest.
	src := make([]byte, 100000)
	for i := range src {
		src[i] = byte(i % 8191 * 7 / 5)
	}
	z := lzfEncode(src)
	if got, err := c.Decode(&format.Filter{ID: LZF}, z, len(src)); err != nil || !bytes.Equal(got, src) {
		t.Fatalf("period 8191: %v", err)
	}
	if len(z) > len(src)/20 {
		t.Errorf("period 8191: %d bytes from %d", len(z), len(src))
	}
}

// TestEncodeLZFMasked: h5py's LZF filter is optional, so an incompressible
// chunk is stored as it is with the filter's bit in the mask; later
// filters still run. A mandatory LZF fails as libhdf5 would.
func TestEncodeLZFMasked(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	in := make([]byte, 4096)
	r.Read(in)
	pipeline := []format.Filter{{ID: Shuffle, Flags: 1, Params: []uint32{4}}, {ID: LZF, Flags: 1, Params: []uint32{4, 261, 4096}}, {ID: Fletcher32}}
	enc, mask, err := EncodePipeline(pipeline, in)
	if err != nil || mask != 0b010 || len(enc) != len(in)+4 {
		t.Fatalf("random chunk: %v, mask %b, %d bytes", err, mask, len(enc))
	}
	if out, err := DecodePipeline(pipeline, mask, enc, len(in)); err != nil || !bytes.Equal(out, in) {
		t.Fatalf("random chunk back: %v", err)
	}
	zeros := make([]byte, 4096)
	if enc, mask, err = EncodePipeline(pipeline, zeros); err != nil || mask != 0 || len(enc) > 200 {
		t.Fatalf("zero chunk: %v, mask %b, %d bytes", err, mask, len(enc))
	}
	if out, err := DecodePipeline(pipeline, mask, enc, len(in)); err != nil || !bytes.Equal(out, zeros) {
		t.Fatalf("zero chunk back: %v", err)
	}
	if _, _, err := EncodePipeline([]format.Filter{{ID: LZF, Params: []uint32{4, 261, 4096}}}, in); !errors.Is(err, errNoGain) {
		t.Fatalf("mandatory LZF on random data: %v", err)
	}
}

// ---- LZ4 ----

// checkLZ4Rules walks an LZ4 block and checks the format's end rules,
// which liblz4's LZ4_decompress_safe enforces: no match starts in the
// last 12 bytes, the last 5 are literals.
func checkLZ4Rules(t *testing.T, block []byte, n int) {
	t.Helper()
	si, di := 0, 0
	for si < len(block) {
		tok := int(block[si])
		si++
		l := tok >> 4
		if l == 15 {
			for block[si] == 255 {
				l += 255
				si++
			}
			l += int(block[si])
			si++
		}
		si += l
		di += l
		if si == len(block) {
			break
		}
		si += 2
		m := tok & 15
		if m == 15 {
			for block[si] == 255 {
				m += 255
				si++
			}
			m += int(block[si])
			si++
		}
		m += 4
		if di > n-12 || di+m > n-5 {
			t.Fatalf("match of %d at %d in a %d-byte block", m, di, n)
		}
		di += m
	}
	if di != n {
		t.Fatalf("block walks to %d, want %d", di, n)
	}
}

func TestEncodeLZ4(t *testing.T) {
	c, _ := Lookup(LZ4)
	for _, n := range append(encodeSizes, 12, 13, 14, 100, 65536+300) {
		for _, s := range samples(n, int64(n)+100) {
			for _, p := range [][]uint32{nil, {0}, {1}, {100}, {4096}, {1 << 30}, {0xffffffff}, {0, 9}} {
				f := &format.Filter{ID: LZ4, Params: p}
				z, err := lz4Encoder{}.Encode(f, s.data)
				if err != nil {
					t.Fatalf("%s %d %v: %v", s.name, n, p, err)
				}
				block := n
				if len(p) > 0 && p[0] > 0 && int(min(p[0], 1<<30)) < n {
					block = int(p[0])
				}
				if got := binary.BigEndian.Uint64(z); got != uint64(n) {
					t.Fatalf("%s %d %v: header size %d", s.name, n, p, got)
				}
				if got := binary.BigEndian.Uint32(z[8:]); got != uint32(block) {
					t.Fatalf("%s %d %v: header block %d, want %d", s.name, n, p, got, block)
				}
				nblocks := 0
				if n > 0 {
					nblocks = (n + block - 1) / block
				}
				if len(z) > 12+4*nblocks+n {
					t.Fatalf("%s %d %v: %d bytes, more than stored raw", s.name, n, p, len(z))
				}
				if n >= 4095 && s.compressible && block >= 4095 && len(z) > n/2 {
					t.Errorf("%s %d %v: %d bytes", s.name, n, p, len(z))
				}
				// Every compressed block keeps the end rules.
				pos := 12
				for done := 0; done < n; done += block {
					bs := min(block, n-done)
					cs := int(binary.BigEndian.Uint32(z[pos:]))
					if cs > bs {
						t.Fatalf("%s %d %v: %d-byte block stored in %d", s.name, n, p, bs, cs)
					}
					if cs < bs {
						checkLZ4Rules(t, z[pos+4:pos+4+cs], bs)
					}
					pos += 4 + cs
				}
				if pos != len(z) {
					t.Fatalf("%s %d %v: blocks end at %d of %d", s.name, n, p, pos, len(z))
				}
				got, err := c.Decode(f, z, n+64)
				if err != nil || !bytes.Equal(got, s.data) {
					t.Fatalf("%s %d %v: round trip: %v", s.name, n, p, err)
				}
			}
		}
	}
	// Far matches stay within 65535 bytes.
	src := make([]byte, 300000)
	r := rand.New(rand.NewSource(9))
	r.Read(src[:70000])
	copy(src[70000:], src[:70000])
	copy(src[140000:], src[:140000])
	z := lz4Encode(src)
	checkLZ4Rules(t, z, len(src))
	dst := make([]byte, len(src))
	if err := lz4Block(z, dst); err != nil || !bytes.Equal(dst, src) {
		t.Fatalf("far repeats: %v", err)
	}
}

// ---- zstd ----

func TestEncodeZstd(t *testing.T) {
	c, _ := Lookup(Zstd)
	for _, n := range append(encodeSizes, 255, 256, 1024, 1025, 9<<20) {
		for _, s := range samples(n, int64(n)+200) {
			if n == 9<<20 && s.name != "text" {
				continue // past the encoders' windows: one is enough
			}
			params := [][]uint32{nil, {0}, {1}, {3}, {5}, {7}, {12}, {19}, {22}, {uint32(0xffffffff - 4)}}
			switch {
			case n > 1<<20:
				params = [][]uint32{nil}
			case n == 1<<20:
				if s.name == "noisy" || s.name == "text" {
					continue
				}
				params = [][]uint32{nil, {1}, {7}, {19}} // one per encoder level
			}
			for _, p := range params {
				f := &format.Filter{ID: Zstd, Params: p}
				z, err := zstdEncoder{}.Encode(f, s.data)
				if err != nil {
					t.Fatalf("%s %d %v: %v", s.name, n, p, err)
				}
				// The plugin's reader sizes its buffer from the header.
				var h zstd.Header
				if err := h.Decode(z); err != nil || !h.HasFCS || h.FrameContentSize != uint64(n) {
					t.Fatalf("%s %d %v: header %+v, %v", s.name, n, p, h, err)
				}
				if n >= 4095 && s.compressible && len(z) > n/2 {
					t.Errorf("%s %d %v: %d bytes", s.name, n, p, len(z))
				}
				got, err := c.Decode(f, z, n+64)
				if err != nil || !bytes.Equal(got, s.data) {
					t.Fatalf("%s %d %v: round trip: %v", s.name, n, p, err)
				}
			}
		}
	}
	for level, want := range map[int]zstd.EncoderLevel{-7: zstd.SpeedFastest, 0: zstd.SpeedDefault, 1: zstd.SpeedFastest,
		2: zstd.SpeedFastest, 3: zstd.SpeedDefault, 5: zstd.SpeedDefault, 6: zstd.SpeedBetterCompression,
		9: zstd.SpeedBetterCompression, 10: zstd.SpeedBestCompression, 22: zstd.SpeedBestCompression} {
		if got := zstdEncoderLevel(level); got != want {
			t.Errorf("level %d: %v, want %v", level, got, want)
		}
	}
}

// TestEncodeZstdCLI: the reference decoder (the zstd command, libzstd)
// takes our frames, small ones with their rewritten headers included.
func TestEncodeZstdCLI(t *testing.T) {
	bin, err := exec.LookPath("zstd")
	if err != nil {
		t.Skip("no zstd command (Debian package zstd): the libzstd cross-check is skipped")
	}
	dir := t.TempDir()
	var names []string
	var want [][]byte
	for _, n := range []int{0, 1, 2, 7, 100, 254, 255, 256, 1000, 1024, 1025, 5000, 200000} {
		for _, s := range samples(n, int64(n)+400) {
			for _, level := range []uint32{1, 3, 7, 19} {
				z, err := zstdEncoder{}.Encode(&format.Filter{ID: Zstd, Params: []uint32{level}}, s.data)
				if err != nil {
					t.Fatal(err)
				}
				name := filepath.Join(dir, fmt.Sprintf("%s-%d-%d.zst", s.name, n, level))
				if err := os.WriteFile(name, z, 0o644); err != nil {
					t.Fatal(err)
				}
				names = append(names, name)
				want = append(want, s.data)
			}
		}
	}
	if out, err := exec.Command(bin, append([]string{"-q", "-d", "-f"}, names...)...).CombinedOutput(); err != nil {
		t.Fatalf("zstd -d: %v\n%s", err, out)
	}
	for i, name := range names {
		got, err := os.ReadFile(strings.TrimSuffix(name, ".zst"))
		if err != nil || !bytes.Equal(got, want[i]) {
			t.Errorf("%s: zstd decodes another content (%v)", filepath.Base(name), err)
		}
	}
}

// ---- bitshuffle ----

func TestEncodeBitShuffleTranspose(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for elem := 1; elem <= 17; elem++ {
		for _, n := range []int{8, 16, 64, 136, 1024} {
			src := randomish(r, n*elem)
			dst := make([]byte, len(src))
			bitShuffle(dst, src, elem)
			if want := bitShuffleRef(src, elem); !bytes.Equal(dst, want) {
				t.Fatalf("elem %d, %d elements: differs from the bit-by-bit transpose", elem, n)
			}
		}
	}
}

func TestEncodeBitshuffle(t *testing.T) {
	c, _ := Lookup(Bitshuffle)
	for _, n := range append(encodeSizes, 16*1000+24) {
		for _, s := range samples(n, int64(n)+300) {
			elems, blocks := []int{1, 2, 4, 8, 12, 16}, []uint32{0, 8, 64, 2048, 1 << 20}
			if n >= 1<<20 {
				if s.name == "noisy" || s.name == "text" || s.name == "zeros" {
					continue
				}
				elems, blocks = []int{4}, []uint32{0}
			}
			for _, elem := range elems {
				in := s.data[:len(s.data)/elem*elem]
				for _, block := range blocks {
					for _, comp := range []uint32{0, bshufLZ4, bshufZstd} {
						p := []uint32{0, 3, uint32(elem), block, comp, 3}
						f := &format.Filter{ID: Bitshuffle, Params: p}
						z, err := bitshuffleEncoder{}.Encode(f, in)
						if err != nil {
							t.Fatalf("%s %d %v: %v", s.name, len(in), p, err)
						}
						nelem := len(in) / elem
						rest := nelem % 8 * elem
						if !bytes.Equal(z[len(z)-rest:], in[len(in)-rest:]) {
							t.Fatalf("%s %d %v: the last %d elements are not stored as they are", s.name, len(in), p, nelem%8)
						}
						if comp == 0 {
							if len(z) != len(in) {
								t.Fatalf("%s %d %v: %d bytes", s.name, len(in), p, len(z))
							}
						} else {
							bs := int(block)
							if bs == 0 {
								bs = bshufDefaultBlock(elem)
							}
							if binary.BigEndian.Uint64(z) != uint64(len(in)) || binary.BigEndian.Uint32(z[8:]) != uint32(bs*elem) {
								t.Fatalf("%s %d %v: header %x", s.name, len(in), p, z[:12])
							}
						}
						got, err := c.Decode(f, z, len(in)+64)
						if err != nil || !bytes.Equal(got, in) {
							t.Fatalf("%s %d %v: round trip: %v", s.name, len(in), p, err)
						}
					}
				}
			}
		}
	}
	// Short parameter lists: the defaults (no compression, default block).
	in := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7, 8}, 300)
	for _, p := range [][]uint32{{0, 3, 4}, {0, 3, 4, 0}, {0, 3, 4, 0, 2}, {0, 3, 4, 0, 3}} {
		f := &format.Filter{ID: Bitshuffle, Params: p}
		z, err := bitshuffleEncoder{}.Encode(f, in)
		if err != nil {
			t.Fatalf("%v: %v", p, err)
		}
		if got, err := c.Decode(f, z, len(in)); err != nil || !bytes.Equal(got, in) {
			t.Fatalf("%v: round trip: %v", p, err)
		}
	}
	for _, p := range [][]uint32{{0, 3}, {0, 3, 0}, {0, 3, 7, 0, 2}, {0, 3, 4, 12, 2}, {0, 3, 4, 12, 0}, {0, 3, 1 << 16, 1 << 16, 2}} {
		if _, err := (bitshuffleEncoder{}).Encode(&format.Filter{ID: Bitshuffle, Params: p}, in); err == nil {
			t.Errorf("%v accepted", p)
		}
	}
}

// TestEncodeConcurrently: the pooled state is safe to share (run with
// -race).
func TestEncodeConcurrently(t *testing.T) {
	filters := []format.Filter{
		{ID: LZF, Flags: 1, Params: []uint32{4, 261, 0}},
		{ID: LZ4, Params: []uint32{3000}},
		{ID: Zstd, Params: []uint32{3}},
		{ID: Zstd, Params: []uint32{1}},
		{ID: Bitshuffle, Params: []uint32{0, 3, 4, 0, bshufLZ4}},
		{ID: Bitshuffle, Params: []uint32{0, 3, 8, 0, bshufZstd, 5}},
		{ID: VBZ, Params: []uint32{1, 2, 1, 1}},
		{ID: VBZ, Params: []uint32{1, 1, 1, 3}},
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(g)))
			for i := 0; i < 20; i++ {
				in := randomish(r, 8*(1+r.Intn(4000)))
				f := filters[(g+i)%len(filters)]
				pl := []format.Filter{f}
				z, mask, err := EncodePipeline(pl, in)
				if err == nil {
					var out []byte
					if out, err = DecodePipeline(pl, mask, z, len(in)); err == nil && !bytes.Equal(out, in) {
						err = errors.New("differs")
					}
				}
				if err != nil {
					errs <- fmt.Errorf("filter %d: %v", f.ID, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// ---- benchmarks ----

// BenchmarkEncode compresses 1 MiB chunks; "ratio" is the input size over
// the output size.
func BenchmarkEncode(b *testing.B) {
	const n = 1 << 20
	data := samples(n, 42)
	// Smooth float32s: what bitshuffle is for.
	f32 := make([]byte, n)
	for i := 0; i+4 <= n; i += 4 {
		binary.LittleEndian.PutUint32(f32[i:], math.Float32bits(float32(20+5*math.Sin(float64(i)/3000))))
	}
	data = append(data, sample{"float32", f32, true})
	cases := []struct {
		name string
		f    format.Filter
	}{
		{"lzf", format.Filter{ID: LZF, Flags: 1, Params: []uint32{4, 261, n}}},
		{"lz4", format.Filter{ID: LZ4}},
		{"zstd1", format.Filter{ID: Zstd, Params: []uint32{1}}},
		{"zstd3", format.Filter{ID: Zstd, Params: []uint32{3}}},
		{"zstd7", format.Filter{ID: Zstd, Params: []uint32{7}}},
		{"zstd19", format.Filter{ID: Zstd, Params: []uint32{19}}},
		{"bitshuffle", format.Filter{ID: Bitshuffle, Params: []uint32{0, 3, 4, 0, 0}}},
		{"bitshuffle-lz4", format.Filter{ID: Bitshuffle, Params: []uint32{0, 3, 4, 0, bshufLZ4}}},
		{"bitshuffle-zstd", format.Filter{ID: Bitshuffle, Params: []uint32{0, 3, 4, 0, bshufZstd, 3}}},
	}
	for _, c := range cases {
		e, _ := lookupEncoder(c.f.ID)
		for _, s := range data {
			if s.name == "zeros" {
				continue
			}
			b.Run(c.name+"/"+s.name, func(b *testing.B) {
				b.SetBytes(n)
				b.ReportAllocs()
				var out int
				for b.Loop() {
					z, err := e.Encode(&c.f, s.data)
					if err != nil {
						out = n // stored as it is
					} else {
						out = len(z)
					}
				}
				b.ReportMetric(float64(n)/float64(out), "ratio")
			})
		}
	}
}
