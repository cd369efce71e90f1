package filter

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"errors"
	stdadler32 "hash/adler32"
	"io"
	"math"
	"math/rand"
	"testing"

	kflate "github.com/klauspost/compress/flate"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// inflateInputs are data of the shapes chunks hold: noise, smooth floats,
// text, runs, zeros, and a mix that makes every block type appear.
func inflateInputs() map[string][]byte {
	rng := rand.New(rand.NewSource(7))
	noise := make([]byte, 100_000)
	rng.Read(noise)
	floats := make([]byte, 8*20_000)
	for i := 0; i < 20_000; i++ {
		binary.LittleEndian.PutUint64(floats[8*i:], math.Float64bits(math.Sin(float64(i)*1e-3)+rng.NormFloat64()*1e-3))
	}
	text := bytes.Repeat([]byte("groups are directories, datasets are files; "), 3000)
	runs := make([]byte, 0, 150_000)
	for len(runs) < 150_000 {
		runs = append(runs, bytes.Repeat([]byte{byte(rng.Intn(4))}, 1+rng.Intn(600))...)
	}
	short := make([]byte, 0, 90_000)
	for len(short) < 90_000 {
		// Patterns of period 1..9 exercise every overlapping-copy path.
		p := 1 + rng.Intn(9)
		pat := make([]byte, p)
		rng.Read(pat)
		for range 2 + rng.Intn(80) {
			short = append(short, pat...)
		}
	}
	mixed := append(append(append([]byte{}, noise[:30_000]...), text[:40_000]...), floats[:50_000]...)
	return map[string][]byte{
		"empty": {}, "one": {42}, "noise": noise, "floats": floats, "text": text,
		"runs": runs, "periods": short, "zeros": make([]byte, 1<<20), "mixed": mixed,
	}
}

func deflateWith(t testing.TB, data []byte, level int, klaus bool) []byte {
	t.Helper()
	var b bytes.Buffer
	var w io.WriteCloser
	var err error
	if klaus {
		w, err = kflate.NewWriter(&b, level)
	} else {
		w, err = flate.NewWriter(&b, level)
	}
	if err != nil {
		t.Fatal(err)
	}
	// Written in pieces with flushes, so streams also hold empty stored
	// blocks and blocks that end mid-byte.
	for len(data) > 0 {
		n := min(len(data), 70_000)
		w.Write(data[:n])
		data = data[n:]
		if len(data) > 0 {
			w.(interface{ Flush() error }).Flush()
		}
	}
	w.Close()
	return b.Bytes()
}

// TestInflateMatchesStdlib decodes every input at every level of two
// encoders, into a buffer of exactly the right size, and checks one byte
// less is refused.
func TestInflateMatchesStdlib(t *testing.T) {
	for name, data := range inflateInputs() {
		for _, level := range []int{flate.HuffmanOnly, flate.NoCompression, 1, 2, 4, 6, 9} {
			for _, klaus := range []bool{false, true} {
				z := deflateWith(t, data, level, klaus)
				trailing := append(append([]byte{}, z...), 0xde, 0xad)
				out := make([]byte, len(data))
				n, used, sum, err := inflate(out, trailing)
				if err != nil || n != len(data) || used != len(z) || !bytes.Equal(out, data) {
					t.Fatalf("%s level %d klauspost %v: n=%d/%d used=%d/%d err=%v", name, level, klaus, n, len(data), used, len(z), err)
				}
				if want := stdadler32.Checksum(data); sum != want {
					t.Fatalf("%s level %d klauspost %v: Adler-32 %08x, want %08x", name, level, klaus, sum, want)
				}
				if len(data) > 0 {
					if _, _, _, err := inflate(out[:len(data)-1], z); !errors.Is(err, format.ErrCorrupt) {
						t.Fatalf("%s level %d: one byte short: %v", name, level, err)
					}
				}
			}
		}
	}
}

func TestInflateZlib(t *testing.T) {
	data := inflateInputs()["mixed"]
	var b bytes.Buffer
	w, _ := zlib.NewWriterLevel(&b, 4)
	w.Write(data)
	w.Close()
	z := b.Bytes()
	out := make([]byte, len(data)+64)
	n, err := inflateZlib(out, z)
	if err != nil || !bytes.Equal(out[:n], data) {
		t.Fatalf("zlib stream: %v", err)
	}
	bad := append([]byte{}, z...)
	bad[len(bad)-1] ^= 1
	if _, err := inflateZlib(out, bad); !errors.Is(err, format.ErrCorrupt) {
		t.Fatalf("Adler-32 damage: %v", err)
	}
	for _, hdr := range [][2]byte{{0x78, 0x9d}, {0x79, 0x9c}, {0x88, 0x98}, {0x78, 0xbb}} {
		bad := append([]byte{hdr[0], hdr[1]}, z[2:]...)
		if _, err := inflateZlib(out, bad); !errors.Is(err, format.ErrCorrupt) {
			t.Fatalf("header %x: %v", hdr, err)
		}
	}
	for cut := 0; cut < len(z); cut += 1 + cut/3 {
		if _, err := inflateZlib(out, z[:cut]); !errors.Is(err, format.ErrCorrupt) {
			t.Fatalf("cut at %d of %d: %v", cut, len(z), err)
		}
	}
}

// TestInflateHandMadeBlocks covers what encoders rarely write: a distance
// code with a single one-bit code, a block with no distance codes, codes
// of the full 15 bits, and the forbidden symbols of the fixed code.
func TestInflateHandMadeBlocks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream []byte
		want   []byte // nil: must fail
	}{
		// Fixed code: 'a', then length 3 distance 1 (a match), EOB.
		{"fixed match", fixedStream(t, []fixedSym{{lit: 'a'}, {length: 3, dist: 1}}), []byte("aaaa")},
		{"fixed distance 30", fixedStream(t, []fixedSym{{lit: 'a'}, {length: 3, dist: 1, distCode: 30}}), nil},
		{"fixed symbol 286", fixedStream(t, []fixedSym{{lit: 'a'}, {raw: 286}}), nil},
		{"distance before start", fixedStream(t, []fixedSym{{lit: 'a'}, {length: 3, dist: 2}}), nil},
		{"block type 3", []byte{0x07}, nil},
		{"stored length check", []byte{0x01, 0x01, 0x00, 0x00, 0x00, 'x'}, nil},
		{"stored", []byte{0x01, 0x02, 0x00, 0xfd, 0xff, 'h', '5'}, []byte("h5")},
	} {
		out := make([]byte, 64)
		n, _, _, err := inflate(out, tc.stream)
		ref, refErr := io.ReadAll(flate.NewReader(bytes.NewReader(tc.stream)))
		if tc.want == nil {
			if err == nil || refErr == nil {
				t.Errorf("%s: accepted (ours %v, stdlib %v)", tc.name, err, refErr)
			}
			continue
		}
		if err != nil || !bytes.Equal(out[:n], tc.want) || !bytes.Equal(ref, tc.want) {
			t.Errorf("%s: %q %v (stdlib %q %v)", tc.name, out[:n], err, ref, refErr)
		}
	}
}

type fixedSym struct {
	lit          int // a literal, when length is 0 and raw is 0
	raw          int // a literal/length symbol written as is
	length, dist int
	distCode     int // forced distance code (0: from dist)
}

// fixedStream writes a final fixed-code block, LSB first.
func fixedStream(t *testing.T, syms []fixedSym) []byte {
	var bw bitWriter
	bw.put(1, 1)
	bw.put(1, 2)
	code := func(sym int) {
		switch {
		case sym < 144:
			bw.putRev(0x30+sym, 8)
		case sym < 256:
			bw.putRev(0x190+sym-144, 9)
		case sym < 280:
			bw.putRev(sym-256, 7)
		default:
			bw.putRev(0xc0+sym-280, 8)
		}
	}
	for _, s := range syms {
		switch {
		case s.raw != 0:
			code(s.raw)
		case s.length == 0:
			code(s.lit)
		default:
			if s.length != 3 {
				t.Fatal("fixedStream writes length 3 only")
			}
			code(257)
			dc := s.dist - 1 // distances 1..4 have codes 0..3 and no extra bits
			if s.distCode != 0 {
				dc = s.distCode
			}
			bw.putRev(dc, 5)
		}
	}
	code(256)
	return bw.bytes()
}

type bitWriter struct {
	buf  []byte
	bits uint
}

func (w *bitWriter) put(v int, n uint) {
	for i := uint(0); i < n; i++ {
		if w.bits%8 == 0 {
			w.buf = append(w.buf, 0)
		}
		w.buf[len(w.buf)-1] |= byte(v>>i&1) << (w.bits % 8)
		w.bits++
	}
}

// putRev writes a Huffman code, most significant bit first.
func (w *bitWriter) putRev(code int, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		w.put(code>>uint(i)&1, 1)
	}
}

func (w *bitWriter) bytes() []byte { return w.buf }

// FuzzInflate holds the decoder to Go's own on any input: the same bytes
// when Go's succeeds within the buffer, a failure when it fails.
func FuzzInflate(f *testing.F) {
	for _, name := range []string{"text", "periods", "floats"} {
		data := inflateInputs()[name][:3000]
		for _, level := range []int{flate.HuffmanOnly, 1, 6} {
			f.Add(deflateWith(f, data, level, false))
		}
	}
	f.Add([]byte{0x01, 0x02, 0x00, 0xfd, 0xff, 'h', '5'})
	f.Fuzz(func(t *testing.T, stream []byte) {
		const limit = 1 << 16
		ref, refErr := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(stream)), limit+1))
		out := make([]byte, limit)
		n, used, sum, err := inflate(out, stream)
		switch {
		case refErr == nil && len(ref) <= limit:
			if err != nil || !bytes.Equal(out[:n], ref) {
				t.Fatalf("stdlib decodes %d bytes, ours %d: %v", len(ref), n, err)
			}
			if want := stdadler32.Checksum(ref); sum != want {
				t.Fatalf("Adler-32 %08x, want %08x", sum, want)
			}
			if used > len(stream) {
				t.Fatalf("used %d of %d bytes", used, len(stream))
			}
		case refErr == nil:
			if err == nil {
				t.Fatalf("%d bytes decoded into a %d-byte buffer", n, limit)
			}
		default:
			if err == nil {
				t.Fatalf("stdlib fails (%v), ours decodes %d bytes", refErr, n)
			}
		}
	})
}

func TestAdler32(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	buf := make([]byte, 1<<20+77)
	rng.Read(buf)
	ff := bytes.Repeat([]byte{0xff}, 1<<20)
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 5551, 5552, 5553, 65536, 1 << 20, len(buf)} {
		if got, want := adler32(buf[:n]), stdadler32.Checksum(buf[:n]); got != want {
			t.Errorf("%d random bytes: %08x, want %08x", n, got, want)
		}
		// Continued over pieces, as the decoder sums block by block.
		sum := uint32(1)
		for rest, step := buf[:n], 1; len(rest) > 0; step = step*3 + 1 {
			piece := rest[:min(step, len(rest))]
			sum, rest = adler32Update(sum, piece), rest[len(piece):]
		}
		if want := stdadler32.Checksum(buf[:n]); sum != want {
			t.Errorf("%d random bytes in pieces: %08x, want %08x", n, sum, want)
		}
		if n <= len(ff) {
			if got, want := adler32(ff[:n]), stdadler32.Checksum(ff[:n]); got != want {
				t.Errorf("%d bytes of 0xff: %08x, want %08x", n, got, want)
			}
		}
	}
}

func BenchmarkAdler32(b *testing.B) {
	buf := smoothChunk()
	b.Run("ours", func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		for i := 0; i < b.N; i++ {
			adler32(buf)
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		for i := 0; i < b.N; i++ {
			stdadler32.Checksum(buf)
		}
	})
}
