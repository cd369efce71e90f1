package filter

import (
	"bytes"
	"compress/zlib"
	"errors"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/format"
)

func zlibBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

func TestDeflateRoundTripAndBound(t *testing.T) {
	data := bytes.Repeat([]byte("h5mount "), 4096)
	z := zlibBytes(t, data)
	pipeline := []format.Filter{{ID: Deflate, Params: []uint32{6}}}
	got, err := DecodePipeline(pipeline, 0, z, len(data))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("decode: %v (len %d)", err, len(got))
	}
	// A stream that inflates past the chunk size is refused, not followed.
	if _, err := DecodePipeline(pipeline, 0, z, len(data)/2-100); !errors.Is(err, format.ErrCorrupt) {
		t.Fatalf("oversized stream: %v", err)
	}
	if _, err := DecodePipeline(pipeline, 0, z[:len(z)/2], len(data)); err == nil {
		t.Fatal("truncated stream accepted")
	}
	// Mask bit 0 set: the filter was skipped on write.
	if got, err := DecodePipeline(pipeline, 1, data, len(data)); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("masked filter applied: %v", err)
	}
}

func TestShuffleUndo(t *testing.T) {
	// Three 4-byte elements plus a 2-byte tail, shuffled by hand.
	orig := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
	shuffled := []byte{1, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, 12, 13, 14}
	got, err := DecodePipeline([]format.Filter{{ID: Shuffle, Params: []uint32{4}}}, 0, shuffled, len(orig))
	if err != nil || !bytes.Equal(got, orig) {
		t.Fatalf("unshuffle = %v, %v", got, err)
	}
}

func TestFletcher32(t *testing.T) {
	data := []byte("abcdefgh")
	sum := Fletcher32Sum(data)
	stored := append(append([]byte(nil), data...), byte(sum), byte(sum>>8), byte(sum>>16), byte(sum>>24))
	got, err := DecodePipeline([]format.Filter{{ID: Fletcher32}}, 0, stored, len(data))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("verify: %v", err)
	}
	stored[0] ^= 1
	if _, err := DecodePipeline([]format.Filter{{ID: Fletcher32}}, 0, stored, len(data)); !errors.Is(err, ErrChecksum) {
		t.Fatalf("corrupt chunk: %v", err)
	}
	// Odd lengths pad the last word with zero.
	if Fletcher32Sum([]byte{1, 2, 3}) != Fletcher32Sum([]byte{1, 2, 3, 0}) {
		t.Error("odd-length sum differs from zero-padded")
	}
}

func TestUnknownFilterIsUnsupported(t *testing.T) {
	_, err := DecodePipeline([]format.Filter{{ID: 32017}}, 0, []byte{1}, 1) // SZ
	if !errors.Is(err, format.ErrUnsupported) {
		t.Fatalf("SZ: %v", err)
	}
}

// A chunk that claims to be huge but holds a few bytes of stream must not
// make a buffer of the claimed size: the bytes read bound what they can
// become.
func TestClaimedChunkSizeDoesNotSizeBuffers(t *testing.T) {
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(make([]byte, 1<<16))
	w.Close()
	pipelines := [][]format.Filter{
		{{ID: Deflate, Params: []uint32{4}}},
		{{ID: Shuffle, Params: []uint32{4}}, {ID: Deflate, Params: []uint32{4}}},
	}
	for _, p := range pipelines {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		out, err := DecodePipeline(p, 0, z.Bytes(), 1<<31)
		runtime.ReadMemStats(&after)
		if err != nil || len(out) != 1<<16 {
			t.Fatalf("%v: %d bytes, %v", p, len(out), err)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
			t.Errorf("%v: decoding %d bytes into a chunk claimed at 2 GiB allocated %d bytes", p, z.Len(), grew)
		}
	}
}

// TestShuffleSizes checks shuffle and unshuffle against the definition,
// byte by byte, for every element size the word-at-a-time paths take and
// their neighbours, with lengths around the eight-element steps and tails.
func TestShuffleSizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for size := 1; size <= 17; size++ {
		for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1000} {
			for _, tail := range []int{0, 1, size - 1} {
				if tail < 0 || (tail >= size && size > 0) {
					continue
				}
				orig := make([]byte, n*size+tail)
				for i := range orig {
					orig[i] = byte(rng.Uint32())
				}
				want := make([]byte, len(orig))
				for e := range n {
					for b := range size {
						want[b*n+e] = orig[e*size+b]
					}
				}
				copy(want[n*size:], orig[n*size:])
				got := make([]byte, len(orig))
				shuffle(got, orig, size)
				if !bytes.Equal(got, want) {
					t.Fatalf("shuffle size %d, %d elements, tail %d: wrong bytes", size, n, tail)
				}
				back := make([]byte, len(orig))
				unshuffle(back, got, size)
				if !bytes.Equal(back, orig) {
					t.Fatalf("unshuffle size %d, %d elements, tail %d: wrong bytes", size, n, tail)
				}
			}
		}
	}
}

// TestUnshuffleStreams: streams that lie apart (Blosc's stored splits, read
// in the frame) and start at any alignment unshuffle as one contiguous
// shuffled buffer does, through the vector path (groups of 16 elements)
// and the word and byte paths after it.
func TestUnshuffleStreams(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, size := range []int{1, 2, 3, 4, 8, 12, 16} {
		for _, n := range []int{1, 15, 16, 17, 40, 1000, 4099} {
			for _, skew := range []int{0, 1, 5} {
				streams := make([][]byte, size)
				want := make([]byte, n*size)
				for b := range streams {
					mem := make([]byte, skew+n+3)
					for i := range mem {
						mem[i] = byte(rng.Uint32())
					}
					streams[b] = mem[skew : skew+n]
					for e := range n {
						want[e*size+b] = streams[b][e]
					}
				}
				got := make([]byte, n*size)
				unshuffleStreams(got, streams)
				if !bytes.Equal(got, want) {
					t.Fatalf("size %d, %d elements, skew %d: wrong bytes", size, n, skew)
				}
			}
		}
	}
}

// TestPipelineKeepsItsOutputs: DecodePipeline decodes the filters before
// the last into recycled buffers, and what it returns must never be one of
// them (the chunk cache keeps it). Outputs of earlier calls must still hold
// their bytes after many later calls, for pipelines whose stages hand back
// their input (shuffle of 1-byte elements, fletcher32) and after errors.
func TestPipelineKeepsItsOutputs(t *testing.T) {
	pipelines := [][]format.Filter{
		{{ID: Shuffle, Params: []uint32{8}}, {ID: Deflate, Params: []uint32{4}}},
		{{ID: Shuffle, Params: []uint32{1}}, {ID: Deflate, Params: []uint32{4}}},
		{{ID: Shuffle, Params: []uint32{4}}, {ID: Deflate, Params: []uint32{1}}, {ID: Fletcher32}},
		{{ID: Shuffle, Params: []uint32{8}}, {ID: LZ4}},
		{{ID: Shuffle, Params: []uint32{8}}, {ID: Zstd, Params: []uint32{3}}},
		{{ID: Shuffle, Params: []uint32{2}}, {ID: LZF}},
		{{ID: Deflate, Params: []uint32{6}}, {ID: Deflate, Params: []uint32{1}}},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	type kept struct {
		got, want []byte
	}
	var outputs []kept
	for round := range 20 {
		for pi, p := range pipelines {
			size := 1024 * (16 + rng.IntN(64))
			want := make([]byte, size)
			for i := range want {
				// Compressible, different every time.
				want[i] = byte(i/(1+rng.IntN(4)) + round + pi)
			}
			stored, mask, err := EncodePipeline(p, want)
			if err != nil {
				t.Fatalf("pipeline %d: encode: %v", pi, err)
			}
			got, err := DecodePipeline(p, mask, stored, size)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("round %d pipeline %d: decode: %v", round, pi, err)
			}
			outputs = append(outputs, kept{got, want})
			// A damaged chunk fails (or, with no checksum to catch
			// it, decodes to something) without giving memory back
			// twice; DEFLATE's Adler-32 always catches it.
			bad := append([]byte(nil), stored...)
			bad[len(bad)/2] ^= 0xff
			bad = bad[:len(bad)*3/4]
			if _, err := DecodePipeline(p, mask, bad, size); err == nil && mask == 0 && p[1].ID == Deflate {
				t.Fatalf("round %d pipeline %d: damaged chunk decoded", round, pi)
			}
		}
	}
	for i, o := range outputs {
		if !bytes.Equal(o.got, o.want) {
			t.Fatalf("output %d changed after later decodes", i)
		}
	}
}

// TestClaimedChunkSizeSizesNoBuffer: decoding into pooled memory takes a
// buffer of the most the stream could expand to, bounded by the chunk size
// the file claims. Past what a pool keeps, that bound follows a damaged
// file's claim, and the codec sizes its output by its own stream instead:
// a 4 KiB zstd stream in a chunk claimed to hold 1 GiB took 128 MiB.
func TestClaimedChunkSizeSizesNoBuffer(t *testing.T) {
	noise := make([]byte, 4096)
	for i := range noise {
		noise[i] = byte(i*2654435761>>13 ^ i)
	}
	pipeline := []format.Filter{{ID: Zstd}}
	stored, _, err := EncodePipeline(pipeline, noise)
	if err != nil {
		t.Fatal(err)
	}
	var pool BufferPool
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	out, _, err := DecodePipelineInto(pipeline, 0, stored, 1<<30, &pool)
	runtime.ReadMemStats(&after)
	if err != nil || !bytes.Equal(out, noise) {
		t.Fatalf("decode: %v", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
		t.Errorf("decoding %d stored bytes allocated %d MiB", len(stored), n>>20)
	}
}

// TestBufferPoolHandsOutBuffersNearTheirSize: whatever the pool holds, a
// request gets a buffer of its size and at most twice the capacity a new
// one would have: a chunk of 8 bytes took a 1 MiB buffer from a pool of
// all sizes, and a cache of decoded chunks held it for those 8 bytes.
func TestBufferPoolHandsOutBuffersNearTheirSize(t *testing.T) {
	sizes := []int{1, 8, 64, 100, 4000, 65536, 65537, 300 << 10, 1 << 20, 3 << 20}
	var pool BufferPool
	for round := 0; round < 3; round++ {
		for _, n := range sizes {
			pool.Put(make([]byte, n))
			pool.Put(make([]byte, n, pooledCap(n)))
		}
		for _, n := range sizes {
			b := pool.Get(n)
			if len(b) != n || cap(b) > 2*pooledCap(n) {
				t.Fatalf("Get(%d): a buffer of %d bytes and capacity %d; want at most %d", n, len(b), cap(b), 2*pooledCap(n))
			}
		}
	}
}
