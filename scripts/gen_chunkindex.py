#!/usr/bin/python3
"""Write the fixed-array and extensible-array chunk index test files.

Run with Debian's interpreter (h5py 3.7 on libhdf5 1.10.8), never the python3
on PATH:

    /usr/bin/python3 scripts/gen_chunkindex.py [OUTDIR]

OUTDIR defaults to testdata/chunkindex/.  Every NAME.h5 written gets a
NAME.json beside it that h5/internal/chunk/arrays_test.go compares against:

{
  "file": "NAME.h5", "libhdf5": "1.10.8", "h5py": "3.7.0",
  "datasets": [
    {
      "name": "fa_small",            dataset path (in the root group)
      "addr": 1234,                  object header address (h5o.get_info().addr)
      "index": "fixed_array" | "extensible_array",   the index libhdf5 chose
      "shape": [..], "maxshape": [.., -1 = unlimited], "chunks": [..],
      "dtype": "<i4", "itemsize": 4, "filters": [filter ids],
      "fillvalue": number,
      "nchunks": chunks libhdf5 reports allocated (get_num_chunks),
      "stored": [                    every allocated chunk, in index order
        {"scaled": [..],             chunk offset / chunk dims
         "addr": file address, "size": stored bytes, "filter_mask": int,
         "raw_sha256": sha256 of the stored bytes (read_direct_chunk),
         "data_sha256": sha256 of the chunk unfiltered: the full chunk shape,
                        the part outside the extent holding the fill value}
      ]
    }
  ]
}

Every chunk position of the current extent that is not in "stored" must read
as never written.  The generator checks itself: the allocated set is exactly
the chunks it wrote, and each stored chunk, unfiltered (zlib for gzip),
equals the data written padded with the fill value.
"""

import hashlib
import json
import os
import sys
import zlib

import h5py
import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "chunkindex")


def grid(shape, chunks):
    return tuple((s + c - 1) // c for s, c in zip(shape, chunks))


def chunk_slices(scaled, shape, chunks):
    return tuple(slice(s * c, min((s + 1) * c, n)) for s, c, n in zip(scaled, chunks, shape))


def write_chunks(ds, coords, rng):
    """Write whole chunks (clipped to the extent) at the scaled coords, each
    with data no other chunk of the dataset holds."""
    seen = set()
    for sc in coords:
        sl = chunk_slices(sc, ds.shape, ds.chunks)
        part = tuple(s.stop - s.start for s in sl)
        while True:
            if ds.dtype.kind == "f":
                vals = rng.standard_normal(part).astype(ds.dtype)
            else:
                info = np.iinfo(ds.dtype)
                vals = rng.integers(max(info.min, -1000), min(info.max, 1000), size=part).astype(ds.dtype)
            if np.any(vals == ds.fillvalue):
                continue
            key = vals.tobytes()
            if key not in seen:
                break
        seen.add(key)
        ds[sl] = vals


def padded_chunk(ds, sc):
    """The chunk as libhdf5 stores it unfiltered: full chunk shape, fill outside the extent."""
    buf = np.full(ds.chunks, ds.fillvalue, dtype=ds.dtype)
    sl = chunk_slices(sc, ds.shape, ds.chunks)
    buf[tuple(slice(0, s.stop - s.start) for s in sl)] = ds[sl]
    return buf.astype(ds.dtype.newbyteorder("<")).tobytes()


def index_kind(ds):
    """The chunk index libhdf5 1.10 picks for a layout version 4 dataset with
    late allocation and more than one chunk (h5py cannot read it back; the Go
    test checks it against the layout message)."""
    unlim = sum(1 for m in ds.maxshape if m is None)
    if unlim == 0:
        return "fixed_array"
    if unlim == 1:
        return "extensible_array"
    return "btree_v2"


def unfilter(ds, mask, raw):
    if ds.compression == "gzip" and mask & (1 << (1 if ds.shuffle else 0)) == 0:
        raw = zlib.decompress(raw)
    if ds.shuffle and mask & 1 == 0:
        k = ds.dtype.itemsize
        raw = np.frombuffer(raw, np.uint8).reshape(k, -1).T.tobytes()
    return raw


def describe(ds, written, fp):
    """Map every written chunk to where libhdf5 stored it.

    The h5py/libhdf5 1.10.8 chunk query calls cannot be trusted for this:
    H5Dget_chunk_info(i) reports coordinates by counting through the current
    chunk grid in index order (wrong when the extensible array's index order
    is swizzled or the maximum dimensions exceed the current ones), and
    H5Dget_chunk_info_by_coord / read_direct_chunk ignore the swizzle of an
    extensible array whose unlimited dimension is not the first.  Reading
    (ds[...]) and writing agree with each other, so the truth is taken from
    them: every stored chunk (from the index iteration, whose addresses,
    sizes and masks are right) is read straight from the file, unfiltered,
    and matched by content with the data written at each coordinate; the
    written data is unique per chunk.
    """
    by_sha = {}
    n = ds.id.get_num_chunks()
    for i in range(n):
        info = ds.id.get_chunk_info(i)
        fp.seek(info.byte_offset)
        raw = fp.read(info.size)
        assert len(raw) == info.size
        h = hashlib.sha256(unfilter(ds, info.filter_mask, raw)).hexdigest()
        assert h not in by_sha, ("two stored chunks hold the same data", ds.name)
        by_sha[h] = {
            "addr": info.byte_offset,
            "size": info.size,
            "filter_mask": info.filter_mask,
            "raw_sha256": hashlib.sha256(raw).hexdigest(),
            "data_sha256": h,
        }
    stored = []
    for sc in sorted(set(tuple(w) for w in written)):
        h = hashlib.sha256(padded_chunk(ds, sc)).hexdigest()
        assert h in by_sha, ("no stored chunk holds the data written at", ds.name, sc)
        e = by_sha.pop(h)
        stored.append(dict(scaled=list(sc), **e))
    assert not by_sha, ("stored chunks nobody wrote", ds.name, len(by_sha))
    # Unwritten positions read as the fill value (all of them in small
    # grids, a sample in large ones).
    chunks = ds.chunks
    g = grid(ds.shape, chunks)
    total = int(np.prod(g))
    wset = set(tuple(w) for w in written)
    for lin in range(0, total, max(1, total // 2000)):
        sc = tuple(int(x) for x in np.unravel_index(lin, g))
        if sc in wset:
            continue
        assert np.all(ds[chunk_slices(sc, ds.shape, chunks)] == ds.fillvalue), (ds.name, sc)
    dcpl = ds.id.get_create_plist()
    filters = [dcpl.get_filter(k)[0] for k in range(dcpl.get_nfilters())]
    fv = ds.fillvalue
    return {
        "name": ds.name.lstrip("/"),
        "addr": h5py.h5o.get_info(ds.id).addr,
        "index": index_kind(ds),
        "shape": list(ds.shape),
        "maxshape": [-1 if m is None else m for m in ds.maxshape],
        "chunks": list(chunks),
        "dtype": ds.dtype.str,
        "itemsize": ds.dtype.itemsize,
        "filters": filters,
        "fillvalue": float(fv) if ds.dtype.kind == "f" else int(fv),
        "nchunks": n,
        "stored": stored,
    }


def sparse(g, rng, p):
    coords = []
    for lin in range(int(np.prod(g))):
        if rng.random() < p:
            coords.append(tuple(int(x) for x in np.unravel_index(lin, g)))
    return coords


def gen_fixed(path):
    rng = np.random.default_rng(20240501)
    out = []
    with h5py.File(path, "w", libver="latest") as f:
        # Small, not paged; edge chunks (10 % 3, 7 % 2), sparse, fill value -1.
        for name, comp in (("fa_small", None), ("fa_small_gzip", "gzip")):
            ds = f.create_dataset(name, shape=(10, 7), chunks=(3, 2), dtype="<i4",
                                  compression=comp, fillvalue=-1)
            w = sparse(grid(ds.shape, ds.chunks), rng, 0.5)
            write_chunks(ds, w, rng)
            out.append((ds, w))
        # Paged: 51 x 50 = 2550 chunks > 2^10, three pages of the data block;
        # the middle page (linear indexes 1024..2047) is never written, so its
        # 'page init' bit stays clear.
        for name, comp, dt in (("fa_paged", None, "<i2"), ("fa_paged_gzip", "gzip", "<f8")):
            ds = f.create_dataset(name, shape=(101, 99), chunks=(2, 2), dtype=dt, compression=comp)
            g = grid(ds.shape, ds.chunks)
            w = []
            for lin in range(int(np.prod(g))):
                if 1024 <= lin < 2048:
                    continue
                if rng.random() < 0.06 or lin in (0, 1023, 2048, 2549):
                    w.append(tuple(int(x) for x in np.unravel_index(lin, g)))
            write_chunks(ds, w, rng)
            out.append((ds, w))
        # Maximum dimensions larger than the current ones: the array is laid
        # out over the maximum chunk grid (7 x 8), not the current one (4 x 3).
        ds = f.create_dataset("fa_maxgt", shape=(10, 10), maxshape=(20, 30), chunks=(3, 4), dtype="<i4")
        w = [tuple(int(x) for x in np.unravel_index(i, grid(ds.shape, ds.chunks)))
             for i in range(int(np.prod(grid(ds.shape, ds.chunks))))]
        write_chunks(ds, w, rng)
        out.append((ds, w))
        # One and three dimensions, gzip, sparse.
        ds = f.create_dataset("fa_1d_gzip", shape=(100,), chunks=(7,), dtype="<u2", compression="gzip")
        w = sparse(grid(ds.shape, ds.chunks), rng, 0.6)
        write_chunks(ds, w, rng)
        out.append((ds, w))
        ds = f.create_dataset("fa_3d_gzip", shape=(5, 6, 7), chunks=(2, 3, 4), dtype="<i8",
                              compression="gzip", shuffle=True)
        w = sparse(grid(ds.shape, ds.chunks), rng, 0.5)
        write_chunks(ds, w, rng)
        out.append((ds, w))
        f.flush()
        with open(path, "rb") as fp:
            return [describe(ds, w, fp) for ds, w in out]


# Element indexes that exercise every part of an extensible array with
# libhdf5's default parameters (index block: 4 elements; super blocks 0-3's
# data blocks addressed from the index block, covering indexes 4..243; later
# super blocks; data blocks of super block 13 and up, starting at index
# 131060, hold 2048 elements in two pages of 1024).
EA_IDX = [0, 1, 2, 3, 4, 5, 19, 20, 100, 243, 244, 600, 1500, 5000, 20000, 70000,
          131059, 131060, 131061, 132100, 135000, 139999]


def gen_extensible(path):
    rng = np.random.default_rng(20240502)
    out = []
    with h5py.File(path, "w", libver="latest") as f:
        # 1-D, one element per chunk, so a chunk's index is its coordinate.
        ds = f.create_dataset("ea_1d", shape=(140000,), maxshape=(None,), chunks=(1,), dtype="|i1")
        w = [(i,) for i in EA_IDX]
        write_chunks(ds, w, rng)
        out.append((ds, w))
        # 1-D gzip: partial last chunk (279999 = 139999 * 2 + 1).
        ds = f.create_dataset("ea_1d_gzip", shape=(279999,), maxshape=(None,), chunks=(2,),
                              dtype="<i2", compression="gzip")
        w = [(i,) for i in EA_IDX]
        write_chunks(ds, w, rng)
        out.append((ds, w))
        # The unlimited dimension is not the first: chunk coordinates are
        # swizzled so it becomes the slowest (index = s1 * 4 + s0).
        ds = f.create_dataset("ea_2d_unlim_last", shape=(10, 70000), maxshape=(10, None), chunks=(3, 2),
                              dtype="<f4")
        w = []
        for s1 in (0, 1, 2, 30, 60, 61, 62, 100, 500, 8000, 32764, 32765, 32766, 34999):
            for s0 in range(4):
                if (s0 + s1) % 3 != 1 or s1 in (0, 32765):
                    w.append((s0, s1))
        write_chunks(ds, w, rng)
        out.append((ds, w))
        f.flush()
        with open(path, "rb") as fp:
            return [describe(ds, w, fp) for ds, w in out]


def gen_extensible2(path):
    rng = np.random.default_rng(20240503)
    out = []
    with h5py.File(path, "w", libver="latest") as f:
        ds = f.create_dataset("ea_2d_unlim_last_gzip", shape=(10, 70000), maxshape=(10, None),
                              chunks=(3, 2), dtype="<f4", compression="gzip")
        w = []
        for s1 in (0, 1, 61, 62, 500, 32765, 33000, 34999):
            for s0 in range(4):
                if (s0 * 7 + s1) % 4 != 2 or s1 == 32765:
                    w.append((s0, s1))
        write_chunks(ds, w, rng)
        out.append((ds, w))
        # A fixed dimension whose maximum exceeds its current size: the
        # linear index is taken over the maximum chunk grid.
        ds = f.create_dataset("ea_2d_first_maxgt", shape=(20, 10), maxshape=(None, 30), chunks=(4, 4),
                              dtype="<i4")
        w = [tuple(int(x) for x in np.unravel_index(i, grid(ds.shape, ds.chunks)))
             for i in range(int(np.prod(grid(ds.shape, ds.chunks))))]
        write_chunks(ds, w, rng)
        out.append((ds, w))
        ds = f.create_dataset("ea_2d_last_maxgt_gzip", shape=(10, 50), maxshape=(25, None), chunks=(3, 5),
                              dtype="<i4", compression="gzip")
        w = sparse(grid(ds.shape, ds.chunks), rng, 0.7)
        write_chunks(ds, w, rng)
        out.append((ds, w))
        # Three dimensions, the unlimited one in the middle.
        ds = f.create_dataset("ea_3d_mid_gzip", shape=(4, 30, 5), maxshape=(4, None, 5), chunks=(2, 3, 2),
                              dtype="<i2", compression="gzip")
        w = sparse(grid(ds.shape, ds.chunks), rng, 0.5)
        write_chunks(ds, w, rng)
        out.append((ds, w))
        f.flush()
        with open(path, "rb") as fp:
            return [describe(ds, w, fp) for ds, w in out]


def dump(doc):
    """JSON with one stored chunk per line: small, and diffs stay readable."""
    lines = ["{"]
    for k in ("file", "libhdf5", "h5py"):
        lines.append(" %s: %s," % (json.dumps(k), json.dumps(doc[k])))
    lines.append(' "datasets": [')
    for i, d in enumerate(doc["datasets"]):
        lines.append("  {")
        for k, v in d.items():
            if k != "stored":
                lines.append("   %s: %s," % (json.dumps(k), json.dumps(v)))
        lines.append('   "stored": [')
        for j, c in enumerate(d["stored"]):
            lines.append("    " + json.dumps(c) + ("," if j + 1 < len(d["stored"]) else ""))
        lines.append("   ]")
        lines.append("  }" + ("," if i + 1 < len(doc["datasets"]) else ""))
    lines.append(" ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, gen in (("fixedarray", gen_fixed), ("extensible", gen_extensible),
                      ("extensible2", gen_extensible2)):
        path = os.path.join(OUT, name + ".h5")
        if os.path.exists(path):
            os.remove(path)
        dsets = gen(path)
        doc = {
            "file": name + ".h5",
            "libhdf5": h5py.version.hdf5_version,
            "h5py": h5py.version.version,
            "datasets": dsets,
        }
        with open(os.path.join(OUT, name + ".json"), "w") as fp:
            fp.write(dump(doc))
        print(path, os.path.getsize(path), "bytes,", sum(len(d["stored"]) for d in dsets), "chunks")


if __name__ == "__main__":
    main()
