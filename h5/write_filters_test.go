package h5_test

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/h5mount/h5mount/h5"
)

// filterPluginPath holds Debian's filter plugins (hdf5-filter-plugin,
// hdf5-plugin-lzf, bitshuffle, hdf5-filter-plugin-blosc-serial): LZF, LZ4,
// bitshuffle (without zstd), bzip2, Blosc. There is no zstd plugin.
const filterPluginPath = "/usr/lib/x86_64-linux-gnu/hdf5/serial/plugins"

// writeFilterFiles are committed files whose chunks went through the
// plugin filters, and their datasets (see the .json beside each, or
// testdata/filters/filters.json). zstd.h5 and bitshuffle.h5's *_zstd
// datasets were made with the zstd tool, libhdf5 here having no zstd.
var writeFilterFiles = []struct {
	file     string
	datasets []string
}{
	{"filters/lzf.h5", []string{"/lzf_i2", "/lzf_f8_be", "/lzf_f4_shuffle", "/lzf_random_u1", "/lzf_runs_i4"}},
	{"filters/lz4.h5", []string{"/lz4_i4", "/lz4_f8_blocks", "/lz4_mixed_u1", "/lz4_i2_be", "/lz4_shuffle_f4"}},
	{"filters/bitshuffle.h5", []string{"/bs_i4", "/bs_u2_block64", "/bs_i8", "/bs_f8_lz4", "/bs_u1_lz4",
		"/bs_f4_be_lz4", "/bs_c16_lz4", "/bs_f4_zstd", "/bs_i2_be_zstd"}},
	{"filters/zstd.h5", []string{"/zstd_i4", "/zstd_f8_be", "/zstd_u1_random"}},
	{"filters/blosc.h5", []string{"/blosc_lz_i4", "/blosc_lz4_bit_i2", "/blosc_zstd_f8", "/blosc_lz_f8_big",
		"/blosc_lz4_i4_big", "/blosc_lz4hc_bit_u2", "/blosc_snappy_f4", "/blosc_zlib_i8", "/blosc_zstd_bit_f8",
		"/blosc_zstd_level1_i2", "/blosc_lz_plain_u1", "/blosc_lz_level9_f8", "/blosc_bit_odd_i4", "/blosc_compound",
		"/blosc_wide_lz4"}},
	// szip is built into Debian's libhdf5 (libaec). Not the 12- and 24-bit
	// datasets: libhdf5 reads their values' unused high bits as zeros, so
	// random bytes written there do not read back from it as written.
	{"filters/szip.h5", []string{"/szip_i4", "/szip_u1_ec", "/szip_i2_be_nn", "/szip_u2_zeros", "/szip_f8_nn",
		"/szip_f4_be_ec", "/szip_small_chunk", "/szip_long_rows", "/szip_i8_3d", "/szip_shuffle_f4", "/szip_i1"}},
	// ZFP has no encoder: chunks written are stored without it (the
	// filter is optional in h5py's pipelines), patched chunks decoded first.
	{"filters/zfp.h5", []string{"/zfp_f8_rate16_3d", "/zfp_f4_rev_1d", "/zfp_i4_expert_3d", "/zfp_f8_singleton"}},
	{"conformance/filter_lzf.h5", []string{"/lzf_f8_shuffle", "/lzf_i2", "/lzf_random"}},
	{"conformance/filter_lzf_latest.h5", []string{"/lzf_f8_shuffle", "/lzf_i2", "/lzf_random"}},
	{"conformance/filter_lz4.h5", []string{"/lz4_f8_blocks", "/lz4_i4", "/lz4_shuffle_f4"}},
	{"conformance/filter_lz4_latest.h5", []string{"/lz4_f8_blocks", "/lz4_i4", "/lz4_shuffle_f4"}},
	{"conformance/filter_bitshuffle.h5", []string{"/bs_f4_be_lz4", "/bs_f8_lz4", "/bs_i4"}},
	{"conformance/filter_bitshuffle_latest.h5", []string{"/bs_f4_be_lz4", "/bs_f8_lz4", "/bs_i4"}},
}

// fillPatternKind fills buf with one of several kinds of bytes, so that
// some chunks compress and some do not: random bytes, zeros, one element
// repeated, smooth values (elements of size elem).
func fillPatternKind(rng *rand.Rand, buf []byte, elem int) {
	switch k := rng.Intn(20); {
	case k < 8:
		rng.Read(buf)
	case k < 14:
		clear(buf)
	case k < 17:
		e := make([]byte, elem)
		rng.Read(e)
		for i := range buf {
			buf[i] = e[i%elem]
		}
	default:
		base := rng.Float64() * 1000
		for i := 0; i < len(buf); i += 8 {
			var w [8]byte
			binary.LittleEndian.PutUint64(w[:], math.Float64bits(base+float64(i)/64))
			copy(buf[i:], w[:])
		}
	}
}

// TestWriteFiltersMatchH5py writes random ranges through the engine into
// datasets filtered by LZF, LZ4, bitshuffle (plain, LZ4, zstd), zstd and
// Blosc (every compressor and shuffle),
// then has libhdf5 with the plugins read them back (h5py) and compares
// with a model of the writes. zstd, for which libhdf5 here has no plugin,
// is judged chunk by chunk: the stored bytes (read_direct_chunk) are
// decompressed by the zstd command (and, for bitshuffle, un-transposed by
// NumPy), and the file is read again by this engine.
func TestWriteFiltersMatchH5py(t *testing.T) {
	if _, err := os.Stat(filterPluginPath); err != nil {
		t.Fatalf("filter plugins: %v (Debian packages hdf5-filter-plugin, hdf5-plugin-lzf, bitshuffle)", err)
	}
	for _, ff := range writeFilterFiles {
		t.Run(strings.TrimSuffix(filepath.Base(ff.file), ".h5"), func(t *testing.T) {
			t.Parallel()
			writeFilteredAndJudge(t, ff.file, ff.datasets)
		})
	}
}

func writeFilteredAndJudge(t *testing.T, name string, paths []string) {
	file := copyFile(t, filepath.Join("..", "testdata", filepath.FromSlash(name)))
	f, err := h5.OpenFileRW(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	seed := fnv.New64a()
	seed.Write([]byte(name))
	rng := rand.New(rand.NewSource(int64(seed.Sum64())))
	models := map[string][]byte{}
	for _, p := range paths {
		d := openDatasetRW(t, f, p)
		size := d.Size()
		elem := int(d.Type.Size)
		model := make([]byte, size)
		if _, err := d.ReadAt(model, 0); err != nil {
			t.Fatalf("%s: read: %v", p, err)
		}
		write := func(buf []byte, off int64) {
			t.Helper()
			if _, err := d.WriteAt(buf, off); err != nil {
				t.Fatalf("%s: write %d at %d: %v", p, len(buf), off, err)
			}
			copy(model[off:], buf)
		}
		// Random bytes over the first half (all of it for the datasets of
		// random data): chunks LZF gives up on, stored with the mask bit.
		half := size / 2
		if strings.Contains(p, "random") {
			half = size
		}
		buf := make([]byte, half)
		rng.Read(buf)
		write(buf, 0)
		if err := f.Flush(); err != nil {
			t.Fatalf("%s: flush: %v", p, err)
		}
		// Then ranges of every kind, some replacing stored chunks whole,
		// some patching them (read, decoded, modified, encoded again).
		for i := 0; i < 40; i++ {
			n := 1 + rng.Intn(int(min(size, 3000)))
			if i%8 == 7 {
				n = int(size) // now and then all of it
			}
			off := rng.Int63n(size - int64(n) + 1)
			if rng.Intn(2) == 0 {
				off -= off % int64(elem) // element-aligned, usually
			}
			buf := make([]byte, n)
			fillPatternKind(rng, buf, elem)
			write(buf, off)
			if i%10 == 9 {
				if err := f.Flush(); err != nil {
					t.Fatalf("%s: flush: %v", p, err)
				}
			}
		}
		// Random bytes over the second half, zeros over the first tenth:
		// chunks stored raw and chunks that compress again after being
		// stored raw.
		buf = make([]byte, size-size/2)
		rng.Read(buf)
		write(buf, size/2)
		write(make([]byte, size/10), 0)
		got := make([]byte, size)
		if _, err := d.ReadAt(got, 0); err != nil || string(got) != string(model) {
			t.Fatalf("%s: read back before closing differs (%v)", p, err)
		}
		models[p] = model
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	// Our decoders, through a fresh read-only open.
	rf, err := h5.OpenFile(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		d := openDatasetRW(t, rf, p)
		got := make([]byte, d.Size())
		if _, err := d.ReadAt(got, 0); err != nil || string(got) != string(models[p]) {
			t.Errorf("%s: this engine reads back other bytes (%v)", p, err)
		}
	}
	rf.Close()

	dir := t.TempDir()
	var specs []string
	for i, p := range paths {
		m := filepath.Join(dir, fmt.Sprintf("model%d", i))
		if err := os.WriteFile(m, models[p], 0o644); err != nil {
			t.Fatal(err)
		}
		specs = append(specs, p+"="+m)
	}
	cmd := exec.Command(python(), append([]string{"-c", filterJudge, file}, specs...)...)
	cmd.Env = append(os.Environ(), "HDF5_PLUGIN_PATH="+filterPluginPath)
	out, err := cmd.CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err != nil || lines[len(lines)-1] != "ok" {
		t.Fatalf("h5py judge: %v\n%s", err, out)
	}
	var lzfMasked, lzfPlain, bloscCompressed, szipCompressed int
	for _, l := range lines {
		fields := strings.Fields(l)
		switch {
		case l == "nozstd":
			t.Log("no zstd command: the zstd chunks are checked by this engine's decoder only, not by libzstd; " +
				"add zstd to the apt-get list of scripts/test.sh")
		case len(fields) == 5 && fields[0] == "stat":
			t.Logf("%s (%s): %s chunks, %s stored with the filter skipped", fields[1], fields[2], fields[3], fields[4])
			nchunks, _ := strconv.Atoi(fields[3])
			masked, _ := strconv.Atoi(fields[4])
			switch {
			case fields[2] == "lzf":
				lzfMasked += masked
				lzfPlain += nchunks - masked
			case fields[2] == "blosc":
				// As hdf5-blosc: a chunk that does not shrink is stored
				// unfiltered (the filter is optional).
				bloscCompressed += nchunks - masked
			case fields[2] == "zfp":
				// No encoder: every chunk written stays unfiltered.
			case fields[2] == "szip":
				// As libhdf5: szip is optional, a chunk it cannot
				// shrink is stored unfiltered.
				szipCompressed += nchunks - masked
			case masked != 0:
				t.Errorf("%s: %d chunks stored with a filter skipped; only LZF, Blosc and szip give up", fields[1], masked)
			}
		}
	}
	if strings.Contains(name, "blosc") && bloscCompressed == 0 {
		t.Errorf("Blosc: no chunk compressed")
	}
	if strings.Contains(name, "szip") && szipCompressed == 0 {
		t.Errorf("szip: no chunk compressed")
	}
	if strings.Contains(name, "lzf") && (lzfMasked == 0 || lzfPlain == 0) {
		t.Errorf("LZF chunks: %d stored raw (mask bit set), %d compressed: want some of each", lzfMasked, lzfPlain)
	}
	if dump, err := exec.Command("h5dump", "-H", file).CombinedOutput(); err != nil {
		t.Fatalf("h5dump -H: %v\n%s", err, dump)
	}
}

// filterJudge compares each dataset of the file with its model: through
// libhdf5 and the plugins when it can read the pipeline, else chunk by
// chunk with the zstd command. It prints "stat PATH KIND CHUNKS MASKED"
// per dataset, "nozstd" when the zstd command is missing, then "ok".
const filterJudge = `
import shutil, subprocess, sys
import h5py, numpy as np

ZSTD = shutil.which("zstd")

def zstd_d(b):
    # libhdf5's zstd plugin sizes its output from the frame header.
    fhd = b[4]
    assert b[:4] == b"\x28\xb5\x2f\xfd", b[:4]
    assert fhd >> 6 or fhd & 0x20, "frame without a content size"
    return subprocess.run([ZSTD, "-q", "-d", "-c"], input=b, check=True, capture_output=True).stdout

def unshuffle(b, elem):
    # Inverse of bitshuffle's block transpose: row 8*j+k holds bit k of
    # byte j of every element, 8 elements a byte, least significant first.
    m = len(b) // elem
    rows = np.frombuffer(b, np.uint8).reshape(8 * elem, m // 8)
    bits = np.unpackbits(rows, axis=1, bitorder="little")
    return np.packbits(bits.T, axis=1, bitorder="little").tobytes()

def bshuf_zstd(raw, elem, block, nbytes):
    total = int.from_bytes(raw[:8], "big")
    bb = int.from_bytes(raw[8:12], "big")
    assert total == nbytes, (total, nbytes)
    want_block = block or max(8192 // elem // 8 * 8, 128)
    assert bb == want_block * elem, (bb, want_block, elem)
    n, pos, i, out = total // elem, 12, 0, []
    while n - i >= 8:
        m = want_block if n - i >= want_block else (n - i) // 8 * 8
        cs = int.from_bytes(raw[pos:pos + 4], "big")
        pos += 4
        d = zstd_d(raw[pos:pos + cs])
        pos += cs
        assert len(d) == m * elem, (len(d), m, elem)
        out.append(unshuffle(d, elem))
        i += m
    assert len(raw) - pos == (n - i) * elem, (len(raw), pos, n, i)
    out.append(raw[pos:])
    return b"".join(out)

f = h5py.File(sys.argv[1], "r")
for spec in sys.argv[2:]:
    p, model = spec.split("=", 1)
    ds = f[p]
    want = np.frombuffer(open(model, "rb").read(), dtype=ds.dtype).reshape(ds.shape)
    pl = ds.id.get_create_plist()
    filters = [pl.get_filter(i) for i in range(pl.get_nfilters())]
    ids = [fl[0] for fl in filters]
    kind = "szip" if 4 in ids else "zfp" if 32013 in ids else "lzf" if 32000 in ids else "blosc" if 32001 in ids else "lz4" if 32004 in ids else "bitshuffle" if 32008 in ids else "zstd" if 32015 in ids else "other"
    zstd = [fl for fl in filters if fl[0] == 32015 or (fl[0] == 32008 and len(fl[2]) > 4 and fl[2][4] == 3)]
    grid = [(s + c - 1) // c for s, c in zip(ds.shape, ds.chunks)]
    nchunks = ds.id.get_num_chunks()
    assert nchunks == int(np.prod(grid)), (p, nchunks, grid)
    masked = 0
    csize = int(np.prod(ds.chunks)) * ds.dtype.itemsize
    for k in range(nchunks):
        info = ds.id.get_chunk_info(k)
        if info.filter_mask:
            masked += 1
        if not zstd or ZSTD is None:
            continue
        assert len(filters) == 1, filters
        mask, raw = ds.id.read_direct_chunk(info.chunk_offset)
        assert mask == 0, (p, info.chunk_offset, mask)
        fid, _, cd, _ = filters[0]
        data = zstd_d(raw) if fid == 32015 else bshuf_zstd(raw, cd[2], cd[3], csize)
        assert len(data) == csize, (p, len(data), csize)
        arr = np.frombuffer(data, dtype=ds.dtype).reshape(ds.chunks)
        sl = tuple(slice(o, min(o + c, s)) for o, c, s in zip(info.chunk_offset, ds.chunks, ds.shape))
        sub = tuple(slice(0, s.stop - s.start) for s in sl)
        if arr[sub].tobytes() != want[sl].tobytes():
            raise AssertionError((p, "chunk", info.chunk_offset, "differs"))
    if not zstd:
        got = ds[()]
        if got.tobytes() != want.tobytes():
            g, w = got.view(np.uint8).ravel(), want.view(np.uint8).ravel()
            bad = np.nonzero(g != w)[0]
            raise AssertionError((p, len(bad), bad[:5]))
    print("stat", p, kind, nchunks, masked)
if ZSTD is None:
    print("nozstd")
print("ok")
`
