package h5_test

import (
	"encoding/json"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/h5mount/h5mount/h5"
)

// Tests of writing through the fixed array, extensible array and implicit
// chunk indexes, judged by libhdf5 (h5py over libhdf5 1.10.8, h5dump).

// TestWriteArrayIndexFixtures writes random ranges and hyperslabs into the
// fixtures' datasets indexed by fixed and extensible arrays and the
// implicit index: existing chunks rewritten in place or moved (gzip), new
// chunks in existing indexes (sparse and paged arrays, super blocks), edge
// chunks, and datasets never written (the index created from nothing).
func TestWriteArrayIndexFixtures(t *testing.T) {
	bt2NeedLibhdf5(t)
	type target struct {
		path     string
		writes   int
		maxBytes int
	}
	for _, tc := range []struct {
		file    string
		targets []target
	}{
		{"../testdata/features_latest.h5", []target{
			{"/index/fixed", 20, 600}, {"/index/fixed_gzip", 20, 600}, {"/index/fixed_paged", 30, 900},
			{"/index/extensible", 20, 300}, {"/index/extensible_gzip", 20, 300}, {"/index/extensible_many", 30, 2000},
			{"/index/implicit", 20, 3000}, {"/edge/cube", 25, 2000}, {"/edge/cube_gzip", 25, 1000},
			{"/edge/unlimited", 20, 2000}, {"/fill/partial", 20, 4000}, {"/fill/untouched", 10, 100},
			{"/sparse/few_chunks", 20, 5000}, {"/sparse/many_chunks", 20, 800},
		}},
		{"../testdata/chunkindex/fixedarray.h5", []target{
			{"/fa_small", 20, 200}, {"/fa_small_gzip", 20, 200}, {"/fa_paged", 30, 2000}, {"/fa_paged_gzip", 30, 4000},
			{"/fa_maxgt", 20, 300}, {"/fa_1d_gzip", 10, 150}, {"/fa_3d_gzip", 20, 1500},
		}},
		{"../testdata/chunkindex/extensible.h5", []target{
			{"/ea_1d", 12, 80}, {"/ea_1d_gzip", 12, 120}, {"/ea_2d_unlim_last", 14, 800},
		}},
		{"../testdata/chunkindex/extensible2.h5", []target{
			{"/ea_2d_unlim_last_gzip", 14, 800}, {"/ea_2d_first_maxgt", 20, 600},
			{"/ea_2d_last_maxgt_gzip", 20, 1000}, {"/ea_3d_mid_gzip", 20, 1000},
		}},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			pristine := copyFile(t, tc.file)
			file := copyFile(t, pristine)
			f, err := h5.OpenFileRW(file, nil)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewSource(int64(len(tc.file))))
			var log []bt2WriteOp
			for _, tg := range tc.targets {
				bt2RandomWrites(t, f, tg.path, rng, tg.writes, tg.maxBytes, &log)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			bt2Check(t, file, pristine, log)
			if strings.HasSuffix(tc.file, "features_latest.h5") {
				for _, p := range []string{"/index/fixed", "/index/extensible_gzip", "/index/implicit", "/fill/untouched"} {
					out, err := exec.Command("h5dump", "-d", p, file).CombinedOutput()
					if err != nil || !strings.Contains(string(out), "DATA {") {
						t.Fatalf("h5dump -d %s: %v\n%s", p, err, out)
					}
				}
			}
		})
	}
}

// arrWrites makes, for each dataset, a never-written twin in two files and
// writes the same whole chunks in the same random order into one of them
// through libhdf5: lib.h5 and engine.h5; the writes go to writes.json.
const arrWrites = `
import sys, json, base64, h5py, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
specs = {
    # 100 chunks, one unpaged data block
    "fa_plain": dict(shape=(30, 40), chunks=(3, 4), dtype="<i4"),
    "fa_gzip": dict(shape=(30, 40), chunks=(3, 4), dtype="<i4", compression="gzip"),
    # 3000 chunks in pages of 1024: pages 0 and 2 written, 1 left alone
    "fa_paged": dict(shape=(3000,), chunks=(1,), dtype="u1", pick="paged"),
    # 2500 chunks, gzip: three pages, partly written
    "fa_paged_gzip": dict(shape=(50, 50), chunks=(1, 1), dtype="<i2", compression="gzip"),
    # edge chunks, a maximum extent beyond the current one
    "fa_edge": dict(shape=(17, 13, 11), maxshape=(20, 13, 12), chunks=(5, 4, 3), dtype="<i2"),
    # index block elements and data blocks, super blocks, paged data
    # blocks (from chunk 131060 on: 2048 elements, pages of 1024)
    "ea_1d": dict(shape=(140000,), maxshape=(None,), chunks=(1,), dtype="u1", pick="ea"),
    "ea_1d_gzip": dict(shape=(280000,), maxshape=(None,), chunks=(2,), dtype="<i2", compression="gzip", pick="ea"),
    "ea_2d_last": dict(shape=(10, 3000), maxshape=(10, None), chunks=(3, 2), dtype="<f4", pick=400),
    "ea_2d_first": dict(shape=(2000, 10), maxshape=(None, 30), chunks=(4, 4), dtype="<i4", pick=500),
    "ea_3d_mid_gzip": dict(shape=(4, 300, 5), maxshape=(4, None, 5), chunks=(2, 3, 2), dtype="<i2",
                           compression="gzip", pick=300),
}
ea_sample = [0, 1, 2, 3, 4, 5, 19, 20, 21, 51, 52, 83, 84, 115, 116, 179, 180, 243, 244, 300, 307, 308,
             499, 500, 1011, 1012, 1500, 2035, 2036, 4083, 4084, 8000, 8180, 8181, 20000, 32755, 32756,
             65523, 65524, 70000, 131059, 131060, 131061, 132083, 132084, 133107, 133108, 135000, 139999]
out = {}
for name, spec in specs.items():
    spec = dict(spec)
    pick = spec.pop("pick", 0.6)
    shape, chunks = spec["shape"], spec["chunks"]
    grid = [(s + c - 1) // c for s, c in zip(shape, chunks)]
    n = int(np.prod(grid))
    if pick == "paged":
        lins = [i for i in range(n) if i < 1024 or i >= 2048]
        lins = list(rng.choice(lins, 700, replace=False))
    elif pick == "ea":
        lins = list(ea_sample) + list(rng.choice(n, 200, replace=False))
        lins = sorted(set(int(i) for i in lins if i < n))
    elif isinstance(pick, float):
        lins = list(rng.choice(n, int(n * pick), replace=False))
    else:
        lins = list(rng.choice(n, pick, replace=False))
    lins = [int(i) for i in rng.permutation(lins)]
    for which in ("lib", "engine"):
        with h5py.File("%s/%s.h5" % (d, which), "a", libver="latest") as f:
            f.create_dataset(name, **spec)
    writes = []
    dt = np.dtype(spec["dtype"])
    for k, lin in enumerate(lins):
        sc = np.unravel_index(lin, grid)
        start = [int(s * c) for s, c in zip(sc, chunks)]
        count = [int(min(c, s - st)) for c, s, st in zip(chunks, shape, start)]
        vals = (np.arange(int(np.prod(count))) * 7 + k * 13) % 120 + 1
        data = vals.astype(dt).reshape(count)
        writes.append(dict(start=start, count=count, data=base64.b64encode(data.tobytes()).decode()))
    out[name] = writes
with h5py.File(d + "/lib.h5", "r+") as f:
    for name, writes in out.items():
        ds = f[name]
        for w in writes:
            sl = tuple(slice(s, s + c) for s, c in zip(w["start"], w["count"]))
            ds[sl] = np.frombuffer(base64.b64decode(w["data"]), ds.dtype).reshape(w["count"])
json.dump(out, open(d + "/writes.json", "w"))
print("ok")
`

// pyLookup3 is libhdf5's metadata checksum (Bob Jenkins' lookup3
// hashlittle with seed 0), in Python.
const pyLookup3 = `
def rot(x, k): return ((x << k) | (x >> (32 - k))) & 0xffffffff
def lookup3(data):
    n = len(data); a = b = c = (0xdeadbeef + n) & 0xffffffff
    i = 0
    M = 0xffffffff
    while n > 12:
        a = (a + int.from_bytes(data[i:i+4], "little")) & M
        b = (b + int.from_bytes(data[i+4:i+8], "little")) & M
        c = (c + int.from_bytes(data[i+8:i+12], "little")) & M
        a = (a - c) & M; a ^= rot(c, 4); c = (c + b) & M
        b = (b - a) & M; b ^= rot(a, 6); a = (a + c) & M
        c = (c - b) & M; c ^= rot(b, 8); b = (b + a) & M
        a = (a - c) & M; a ^= rot(c, 16); c = (c + b) & M
        b = (b - a) & M; b ^= rot(a, 19); a = (a + c) & M
        c = (c - b) & M; c ^= rot(b, 4); b = (b + a) & M
        n -= 12; i += 12
    if n == 0: return c
    t = data[i:i+n] + bytes(12 - n)
    a = (a + int.from_bytes(t[0:4], "little")) & M
    b = (b + int.from_bytes(t[4:8], "little")) & M
    c = (c + int.from_bytes(t[8:12], "little")) & M
    c ^= b; c = (c - rot(b, 14)) & M
    a ^= c; a = (a - rot(c, 11)) & M
    b ^= a; b = (b - rot(a, 25)) & M
    c ^= b; c = (c - rot(b, 16)) & M
    a ^= c; a = (a - rot(c, 4)) & M
    b ^= a; b = (b - rot(a, 14)) & M
    c ^= b; c = (c - rot(b, 24)) & M
    return c
`

// arrShape dumps a dataset's fixed or extensible array: parameters,
// statistics, which blocks, pages and elements exist, block offsets,
// bitmaps, checksums verified; everything but addresses and filtered
// sizes. Both files' dumps of each dataset must be equal.
const arrShape = pyLookup3 + `
import sys, struct, h5py
UNDEF = (1 << 64) - 1

class Buf:
    def __init__(s, b, p): s.b, s.p = b, p
    def u8(s): v = s.b[s.p]; s.p += 1; return v
    def uint(s, n): v = int.from_bytes(s.b[s.p:s.p+n], "little"); s.p += n; return v
    def raw(s, n): v = s.b[s.p:s.p+n]; s.p += n; return v

def layout_index(b, oh):
    # the layout message (type 8) of a version 2 object header
    assert b[oh:oh+4] == b"OHDR", oh
    flags = b[oh+5]
    p = oh + 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
    szlen = 1 << (flags & 3)
    size = int.from_bytes(b[p:p+szlen], "little"); p += szlen
    end = p + size
    while p + 4 <= end:
        t = b[p]; ms = int.from_bytes(b[p+1:p+3], "little")
        q = p + 4 + (2 if flags & 0x04 else 0)
        if t == 8:
            assert b[q] == 4 and b[q+1] == 2, "layout v4 chunked"
            fl, nd = b[q+2], b[q+3]
            enc = b[q+4]
            q += 5 + nd * enc
            typ = b[q]; q += 1
            q += {1: 0, 2: 0, 3: 1, 4: 5, 5: 6}[typ] + (12 if typ == 1 and fl & 2 else 0)
            return typ, int.from_bytes(b[q:q+8], "little")
        p = q + ms
    raise AssertionError("no layout message")

def dump(fn, name):
    b = open(fn, "rb").read()
    with h5py.File(fn, "r") as f:
        oh = h5py.h5o.get_info(f[name].id).addr
    typ, h = layout_index(b, oh)
    out = [("index type", typ)]
    def chk(start, end, what):
        if lookup3(b[start:end]) != int.from_bytes(b[end:end+4], "little"):
            out.append(("BAD CHECKSUM", what))
    def elems(q, n, esz, filt, base):
        res = []
        for i in range(n):
            a = q.uint(8)
            size = q.uint(esz - 12) if filt else 0
            mask = q.uint(4) if filt else 0
            if a == UNDEF:
                if size or mask: res.append((base + i, "undefined with size or mask", size, mask))
            else:
                res.append((base + i, mask))
        return res
    if h == UNDEF:
        return out + ["no index"]
    if typ == 3:
        assert b[h:h+4] == b"FAHD"
        q = Buf(b, h + 4)
        ver, client, esz, pbits = q.u8(), q.u8(), q.u8(), q.u8()
        n, dblk = q.uint(8), q.uint(8)
        chk(h, q.p, "FAHD")
        out.append(("FAHD", ver, client, esz, pbits, n))
        q = Buf(b, dblk)
        assert q.raw(4) == b"FADB"
        out.append(("FADB", q.u8(), q.u8(), q.uint(8) == h))
        pn, filt = 1 << pbits, client == 1
        if n > pn:
            npages = (n + pn - 1) // pn
            bm = q.raw((npages + 7) // 8)
            chk(dblk, q.p, "FADB")
            out.append(("bitmap", bm.hex()))
            base = q.p + 4
            for pg in range(npages):
                if bm[pg // 8] & (0x80 >> (pg % 8)):
                    r = Buf(b, base + pg * (pn * esz + 4))
                    out.append(("page", pg, elems(r, min(pn, n - pg * pn), esz, filt, pg * pn)))
                    chk(base + pg * (pn * esz + 4), r.p, "page %d" % pg)
        else:
            out.append(("elements", elems(q, n, esz, filt, 0)))
            chk(dblk, q.p, "FADB")
        return out
    assert typ == 4 and b[h:h+4] == b"EAHD"
    q = Buf(b, h + 4)
    ver, client, esz, maxbits, ibe, dmin, smin, pbits = [q.u8() for _ in range(8)]
    stats = [q.uint(8) for _ in range(6)]
    ib = q.uint(8)
    chk(h, q.p, "EAHD")
    out.append(("EAHD", ver, client, esz, maxbits, ibe, dmin, smin, pbits, "statistics", stats))
    filt, aoff, pn = client == 1, (maxbits + 7) // 8, 1 << pbits
    nsblks = 1 + maxbits - (dmin.bit_length() - 1)
    info, si, sd = [], 0, 0
    for u in range(nsblks):
        nd, dn = 1 << (u // 2), (1 << ((u + 1) // 2)) * dmin
        info.append((nd, dn, si, sd)); si += nd * dn; sd += nd
    inb, ndb = 2 * (smin.bit_length() - 1), 2 * (smin - 1)
    q = Buf(b, ib)
    assert q.raw(4) == b"EAIB"
    out.append(("EAIB", q.u8(), q.u8(), q.uint(8) == h))
    out.append(("index block elements", elems(q, ibe, esz, filt, 0)))
    dbl = [q.uint(8) for _ in range(ndb)]
    sbl = [q.uint(8) for _ in range(nsblks - inb)]
    chk(ib, q.p, "EAIB")
    out.append(("data blocks", [a != UNDEF for a in dbl], "super blocks", [a != UNDEF for a in sbl]))
    def dblock(addr, s, k, bm, npages):
        nd, dn, si, sd = info[s]
        r = Buf(b, addr)
        assert r.raw(4) == b"EADB", (s, k)
        hdr = (r.u8(), r.u8(), r.uint(8) == h, r.uint(aoff))
        first = ibe + si + k * dn
        if not npages:
            e = elems(r, dn, esz, filt, first)
            chk(addr, r.p, "EADB %d %d" % (s, k))
            out.append(("EADB", s, k, hdr, e))
            return
        chk(addr, r.p, "EADB %d %d" % (s, k))
        out.append(("EADB paged", s, k, hdr))
        base = r.p + 4
        for pg in range(npages):
            bit = k * npages + pg
            if bm[bit // 8] & (0x80 >> (bit % 8)):
                pa = base + pg * (pn * esz + 4)
                r2 = Buf(b, pa)
                out.append(("page", s, k, pg, elems(r2, pn, esz, filt, first + pg * pn)))
                chk(pa, r2.p, "page")
    for s in range(inb):
        nd, dn, si, sd = info[s]
        for k in range(nd):
            if dbl[sd + k] != UNDEF:
                dblock(dbl[sd + k], s, k, None, 0)
    for j, a in enumerate(sbl):
        if a == UNDEF:
            continue
        s = inb + j
        nd, dn, si, sd = info[s]
        r = Buf(b, a)
        assert r.raw(4) == b"EASB"
        hdr = (r.u8(), r.u8(), r.uint(8) == h, r.uint(aoff))
        npages = dn // pn if dn > pn else 0
        bm = r.raw(nd * ((npages + 7) // 8))
        das = [r.uint(8) for _ in range(nd)]
        chk(a, r.p, "EASB %d" % s)
        out.append(("EASB", s, hdr, bm.hex(), [x != UNDEF for x in das]))
        for k, da in enumerate(das):
            if da != UNDEF:
                dblock(da, s, k, bm, npages)
    return out

lib, eng = sys.argv[1], sys.argv[2]
for name in sys.argv[3:]:
    x, y = dump(lib, name), dump(eng, name)
    bad = [e for e in x + y if isinstance(e, tuple) and e[0] == "BAD CHECKSUM"]
    assert not bad, (name, bad)
    if x != y:
        for i, (p, q) in enumerate(zip(x, y)):
            if p != q:
                raise AssertionError((name, "first difference", i, str(p)[:400], str(q)[:400]))
        raise AssertionError((name, "lengths", len(x), len(y)))
print("ok")
`

// TestWriteArrayIndexSameAsLibhdf5 writes the same whole chunks, in the
// same order, into never-written datasets through libhdf5 and through the
// engine: the engine creates each index from nothing, and the two files'
// fixed and extensible arrays must be the same structure, block for
// block (statistics, block offsets, page bitmaps, elements set). Then
// libhdf5 carries on writing into the engine's arrays.
func TestWriteArrayIndexSameAsLibhdf5(t *testing.T) {
	bt2NeedLibhdf5(t)
	dir := t.TempDir()
	if out := bt2RunPython(t, arrWrites, dir); strings.TrimSpace(out) != "ok" {
		t.Fatal(out)
	}
	js, err := os.ReadFile(filepath.Join(dir, "writes.json"))
	if err != nil {
		t.Fatal(err)
	}
	var writes map[string][]struct {
		Start, Count []uint64
		Data         []byte
	}
	if err := json.Unmarshal(js, &writes); err != nil {
		t.Fatal(err)
	}
	engine := filepath.Join(dir, "engine.h5")
	f, err := h5.OpenFileRW(engine, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name, ws := range writes {
		names = append(names, name)
		d := openDatasetRW(t, f, "/"+name)
		for i, w := range ws {
			if err := d.WriteHyperslab(w.Start, w.Count, w.Data); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if i%50 == 49 {
				if err := f.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	lib := filepath.Join(dir, "lib.h5")
	out := bt2RunPython(t, arrShape, append([]string{lib, engine}, names...)...)
	if strings.TrimSpace(out) != "ok" {
		t.Fatal(out)
	}
	h5pyCheck(t, engine, `
import sys, h5py, numpy as np
eng, lib = sys.argv[1], sys.argv[2]
with h5py.File(eng, "r") as a, h5py.File(lib, "r") as b:
    for n in b:
        assert a[n].shape == b[n].shape, n
        assert a[n][()].tobytes() == b[n][()].tobytes(), n
        assert a[n].id.get_num_chunks() == b[n].id.get_num_chunks(), n
        for i in range(a[n].id.get_num_chunks()):
            ia, ib = a[n].id.get_chunk_info(i), b[n].id.get_chunk_info(i)
            assert ia.chunk_offset == ib.chunk_offset and ia.filter_mask == ib.filter_mask, (n, i)
# libhdf5 carries on in the engine's arrays: rewrites, new chunks, growth.
with h5py.File(eng, "r+") as a, h5py.File(lib, "r+") as b:
    for f in (a, b):
        for n in f:
            d = f[n]
            if d.ndim == 1:
                d[::97] = 5
            else:
                d[..., ::3] = 6
            if d.maxshape[0] is None:
                d.resize(d.shape[0] + 1000, axis=0)
                d[-3:] = 9
            elif d.maxshape[-1] is None and d.ndim > 1:
                d.resize(d.shape[-1] + 100, axis=d.ndim - 1)
                d[..., -2:] = 8
            elif d.ndim > 1 and d.maxshape[1] is None:
                d.resize(d.shape[1] + 100, axis=1)
                d[:, -2:] = 8
with h5py.File(eng, "r") as a, h5py.File(lib, "r") as b:
    for n in b:
        assert a[n][()].tobytes() == b[n][()].tobytes(), n
print("ok")`, lib)
	for _, p := range []string{"/fa_plain", "/fa_edge", "/ea_3d_mid_gzip"} {
		out, err := exec.Command("h5dump", "-d", p, engine).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "DATA {") {
			t.Fatalf("h5dump -d %s: %v\n%s", p, err, out)
		}
	}
}

// implicitFresh makes datasets with the implicit index (early allocation,
// no filters) whose storage the layout message no longer points to: a
// dataset never written, for the engine to allocate all of it.
const implicitFresh = pyLookup3 + `
import sys, h5py, numpy as np
fn = sys.argv[1]
with h5py.File(fn, "w", libver="latest") as f:
    for name, fv in (("zero", 0), ("fill", -7)):
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((3, 4))
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
        dcpl.set_fill_value(np.array(fv, "<i4"))
        sp = h5py.h5s.create_simple((10, 13), (10, 13))
        h5py.h5d.create(f.id, name.encode(), h5py.h5t.STD_I32LE, sp, dcpl=dcpl)
b = bytearray(open(fn, "rb").read())
with h5py.File(fn, "r") as f:
    heads = [h5py.h5o.get_info(f[n].id).addr for n in ("zero", "fill")]
for oh in heads:
    i = b.index(bytes([4, 2]), oh)  # layout message version 4, chunked
    nd, enc = b[i + 3], b[i + 4]
    q = i + 5 + nd * enc
    assert b[q] == 2, b[q]  # implicit index: the address follows
    b[q + 1:q + 9] = b"\xff" * 8
    flags = b[oh + 5]
    p = oh + 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
    szlen = 1 << (flags & 3)
    end = p + szlen + int.from_bytes(b[p:p + szlen], "little")
    b[end:end + 4] = lookup3(bytes(b[oh:end])).to_bytes(4, "little")
open(fn, "wb").write(b)
with h5py.File(fn, "r") as f:
    for n, fv in (("zero", 0), ("fill", -7)):
        assert f[n].id.get_storage_size() == 0 and (f[n][()] == fv).all(), n
print("ok")
`

// TestWriteImplicitFresh writes into implicit-index datasets with no
// storage: the index allocates all chunks at once (Place), the engine
// fills them with the fill value, libhdf5 reads the result and writes on.
func TestWriteImplicitFresh(t *testing.T) {
	bt2NeedLibhdf5(t)
	pristine := filepath.Join(t.TempDir(), "implicit.h5")
	if out := bt2RunPython(t, implicitFresh, pristine); strings.TrimSpace(out) != "ok" {
		t.Fatal(out)
	}
	file := copyFile(t, pristine)
	f, err := h5.OpenFileRW(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(2))
	var log []bt2WriteOp
	for _, p := range []string{"/zero", "/fill"} {
		bt2RandomWrites(t, f, p, rng, 12, 100, &log)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	bt2Check(t, file, pristine, log)
	h5pyCheck(t, file, `
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    for n in ("zero", "fill"):
        d = f[n]
        assert d.id.get_storage_size() == 12 * 16 * 4, d.id.get_storage_size()
        v = d[()]
        d[0, :] = 1
        v[0, :] = 1
        assert (d[()] == v).all(), n
print("ok")`)
}

// TestWriteExtensibleGrow appends past the end of datasets indexed by
// extensible arrays: the engine grows them along the unlimited first
// dimension, and the new chunks extend the arrays (new data blocks, super
// blocks); libhdf5 reads the grown datasets.
func TestWriteExtensibleGrow(t *testing.T) {
	bt2NeedLibhdf5(t)
	pristine := copyFile(t, "../testdata/features_latest.h5")
	file := copyFile(t, pristine)
	f, err := h5.OpenFileRW(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(9))
	type appended struct {
		Path string `json:"path"`
		Off  int64  `json:"off"`
		Data []byte `json:"data"`
	}
	var log []appended
	for _, tc := range []struct {
		path string
		rows int64
	}{{"/edge/unlimited", 300}, {"/index/extensible", 5000}, {"/index/extensible_many", 20000}} {
		d := openDatasetRW(t, f, tc.path)
		a := appended{Path: tc.path, Off: d.Size(), Data: make([]byte, tc.rows*d.RowBytes())}
		rng.Read(a.Data)
		if _, err := d.WriteAt(a.Data, a.Off); err != nil {
			t.Fatalf("%s: append: %v", tc.path, err)
		}
		log = append(log, a)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(log)
	if err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(t.TempDir(), "appended.json")
	if err := os.WriteFile(logFile, js, 0o644); err != nil {
		t.Fatal(err)
	}
	h5pyCheck(t, file, `
import sys, json, base64, h5py, numpy as np
written, pristine, log = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
with h5py.File(written, "r") as f, h5py.File(pristine, "r") as g:
    for a in log:
        d, old = f[a["path"]], g[a["path"]][()]
        data = base64.b64decode(a["data"])
        new = np.frombuffer(data, d.dtype).reshape((-1,) + d.shape[1:])
        assert d.shape == (old.shape[0] + new.shape[0],) + old.shape[1:], (a["path"], d.shape)
        v = d[()]
        assert v[:old.shape[0]].tobytes() == old.tobytes(), a["path"]
        assert v[old.shape[0]:].tobytes() == new.tobytes(), a["path"]
print("ok")`, pristine, logFile)
}
