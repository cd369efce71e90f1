#!/usr/bin/python3
"""Write the dense-storage test files of testdata/dense/ and their expectations.

Run with Debian's interpreter (h5py 3.7 over libhdf5 1.10.8), never the
python3 on PATH:

    /usr/bin/python3 scripts/gen_dense.py [OUTDIR]

OUTDIR defaults to testdata/dense beside this script's parent.  Every NAME.h5
gets a NAME.json holding what libhdf5 reports about it; the Go tests in
h5/internal/format/dense_test.go and h5/internal/chunk/btree2_test.go decode
the files and compare every record with the JSON.

Files
=====

links.h5 (libver latest: new-style groups, dense above 8 links)
  /many      200 links (hard, soft, external) of varied name lengths: a
             fractal heap with a root indirect block, a depth >= 1 name index
  /ordered   track_order=True, 100 links created in shuffled name order: a
             creation order index (v2 B-tree type 6) beside the name index
  /deep      2000 hard links: a name index of depth 2
  /huge      a soft link whose target is longer than the heap's largest
             managed object (4 KiB): a "huge" heap object, found through the
             heap's own v2 B-tree (record type 1)
  /filtered  group creation property list with deflate (set through ctypes,
             h5py has no wrapper): compressed direct blocks and a filtered
             huge object (record type 2)
  /filtered_big  deflate again, 170 links of about 4 KiB: over 512 KiB of
             managed space, so the root indirect block has child indirect
             blocks

attrs.h5 (libver latest)
  /obj       100 attributes of several fixed-size types: dense attributes
  /ordered   track_order=True, 60 attributes: creation order index (type 9)
  /huge      a 100 KiB attribute and a 72000-byte big-endian one (huge heap
             objects, record type 1) and a few small ones

chunks.h5
  /unfiltered   (24, 24) int32, chunks (2, 2), maxshape (None, None): a v2
                B-tree chunk index with record type 10, 144 records, depth 1
  /filtered     the same with gzip: record type 11
  /sparse       (40, 40) int32, chunks (2, 2), only some chunks written
  /deep         (80, 80) uint8, chunks (1, 1): 6400 records, depth 2

JSON
====

links.json: {"groups": {PATH: {"addr": object header address,
             "name_order": [names, H5_INDEX_NAME increasing],
             "creation_order": [names, H5_INDEX_CRT_ORDER] (only if tracked),
             "links": {NAME: {"type": "hard"|"soft"|"external",
                              "addr": target object header address (hard),
                              "target": soft link value (up to 256
                              characters; longer ones as "target_len"
                              and "target_sha256"),
                              "file", "path": external link parts,
                              "corder": creation order or null}}}}}
attrs.json: {"objects": {PATH: {"addr": ..., "name_order": [...],
             "creation_order": [...] (only if tracked),
             "attrs": {NAME: {"dtype": numpy dtype.str, "shape": [...],
                              "value": JSON-able value (null above 64
                              elements), "corder": int or null if not tracked,
                              "sha256": sha256 of the stored value's bytes
                              (read with the attribute's own file dtype),
                              "nbytes": len of those bytes}}}}}
chunks.json: {"datasets": {PATH: {"addr": ..., "shape", "maxshape" (null for
             unlimited), "chunks", "itemsize", "filtered": bool,
             "chunk_info": [[element offsets..., filter_mask, byte_offset,
                             size], ... in get_chunk_info order]}}}
"""

import ctypes
import hashlib
import json
import os
import random
import sys

import h5py
import numpy as np


def addr(obj):
    return int(h5py.h5o.get_info(obj.id).addr)


def link_names(gid, index):
    names = []

    def visit(name, *args):
        names.append(name.decode())
        return None

    gid.links.iterate(visit, idx_type=index, order=h5py.h5.ITER_INC)
    return names


def describe_group(f, path, tracked):
    g = f[path]
    out = {"addr": addr(g), "name_order": link_names(g.id, h5py.h5.INDEX_NAME), "links": {}}
    if tracked:
        out["creation_order"] = link_names(g.id, h5py.h5.INDEX_CRT_ORDER)
    for name in out["name_order"]:
        info = g.id.links.get_info(name.encode())
        link = g.get(name, getlink=True)
        rec = {"corder": int(info.corder) if info.corder_valid else None}
        if isinstance(link, h5py.HardLink):
            rec["type"] = "hard"
            rec["addr"] = addr(g[name])
        elif isinstance(link, h5py.SoftLink):
            rec["type"] = "soft"
            if len(link.path) > 256:
                rec["target_len"] = len(link.path)
                rec["target_sha256"] = hashlib.sha256(link.path.encode()).hexdigest()
            else:
                rec["target"] = link.path
        elif isinstance(link, h5py.ExternalLink):
            rec["type"] = "external"
            rec["file"] = link.filename
            rec["path"] = link.path
        out["links"][name] = rec
    return out


def deflate_gcpl(level=6):
    """A group creation property list with the deflate filter: h5py has no
    wrapper for H5Pset_deflate on a GCPL, so call the very libhdf5 h5py is
    linked with (the same soname is already loaded in this process)."""
    lib = ctypes.CDLL("libhdf5_serial.so.103")
    lib.H5Pset_deflate.argtypes = [ctypes.c_int64, ctypes.c_uint]
    lib.H5Pset_deflate.restype = ctypes.c_int
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    if lib.H5Pset_deflate(gcpl.id, level) < 0:
        raise RuntimeError("H5Pset_deflate failed")
    return gcpl


def gen_links(outdir):
    rnd = random.Random(5)
    path = os.path.join(outdir, "links.h5")
    with h5py.File(path, "w", libver="latest") as f:
        targets = [f.create_group("t%d" % i) for i in range(3)]
        f.create_dataset("tds", data=np.arange(4, dtype="<i2"))
        targets.append(f["tds"])

        g = f.create_group("many")
        for i in range(200):
            name = "link_%03d_%s" % (i, "x" * (i % 17))
            kind = i % 10
            if kind < 7:
                g[name] = targets[i % len(targets)]
            elif kind < 9:
                g[name] = h5py.SoftLink("/t%d/soft/%d" % (i % 3, i))
            else:
                g[name] = h5py.ExternalLink("other_%d.h5" % i, "/path/to/%d" % i)

        g = f.create_group("ordered", track_order=True)
        names = ["ord_%03d" % i for i in range(100)]
        rnd.shuffle(names)
        for i, name in enumerate(names):
            if i % 4 == 3:
                g[name] = h5py.SoftLink("/soft/" + name)
            else:
                g[name] = targets[i % len(targets)]

        g = f.create_group("deep")
        for i in range(2000):
            g["d%04d" % i] = targets[0]

        g = f.create_group("huge")
        for i in range(12):
            g["small%02d" % i] = targets[1]
        g["big"] = h5py.SoftLink("/" + "y" * 6000)
        g["big2"] = h5py.SoftLink("/" + "".join(chr(97 + (i * 7) % 26) for i in range(5000)))

        h5py.h5g.create(f.id, b"filtered", gcpl=deflate_gcpl())
        g = f["filtered"]
        for i in range(150):
            if i % 3 == 0:
                g["f%03d" % i] = h5py.SoftLink("/filtered/target/" + "z" * (i % 40))
            else:
                g["f%03d" % i] = targets[i % len(targets)]
        g["fbig"] = h5py.SoftLink("/" + "q" * 7000)

        # Over 512 KiB of managed objects: past the nine rows of direct
        # blocks a root indirect block holds, so child indirect blocks.
        # Deflate keeps the file small.
        h5py.h5g.create(f.id, b"filtered_big", gcpl=deflate_gcpl())
        g = f["filtered_big"]
        for i in range(170):
            g["big%03d" % i] = h5py.SoftLink("/%03d/" % i + ("abcdefgh%03d" % i) * 330)

    with h5py.File(path, "r") as f:
        doc = {"groups": {}}
        for p, tracked in (("/many", False), ("/ordered", True), ("/deep", False),
                           ("/huge", False), ("/filtered", False), ("/filtered_big", False)):
            doc["groups"][p] = describe_group(f, p, tracked)
    return path, doc


def attr_names(oid, index):
    names = []

    def visit(name, *args):
        names.append(name.decode())
        return None

    h5py.h5a.iterate(oid, visit, index_type=index, order=h5py.h5.ITER_INC)
    return names


def describe_attrs(f, path, tracked):
    o = f[path]
    out = {"addr": addr(o), "name_order": attr_names(o.id, h5py.h5.INDEX_NAME), "attrs": {}}
    if tracked:
        out["creation_order"] = attr_names(o.id, h5py.h5.INDEX_CRT_ORDER)
    for name in out["name_order"]:
        # Read through the low-level API in the attribute's own file type:
        # np.asarray(o.attrs[name]) trims the padding of fixed-length strings,
        # and the raw bytes must be the stored ones.
        aid = h5py.h5a.open(o.id, name.encode())
        arr = np.empty(aid.shape, dtype=aid.dtype)
        aid.read(arr)
        info = h5py.h5a.get_info(o.id, name.encode())
        raw = arr.tobytes()
        if arr.dtype.kind == "S":
            jv = [x.decode("latin-1") for x in arr.ravel().tolist()]
        else:
            jv = arr.tolist()
        out["attrs"][name] = {
            "dtype": arr.dtype.str,
            "shape": list(arr.shape),
            "value": jv if arr.size <= 64 else None,
            "corder": int(info.corder) if info.corder_valid else None,
            "sha256": hashlib.sha256(raw).hexdigest(),
            "nbytes": len(raw),
        }
    return out


def gen_attrs(outdir):
    path = os.path.join(outdir, "attrs.h5")
    with h5py.File(path, "w", libver="latest") as f:
        o = f.create_group("obj")
        for i in range(100):
            name = "attr_%03d%s" % (i, "_long" * (i % 5))
            k = i % 6
            if k == 0:
                o.attrs.create(name, np.int32(i * 1000 - 7))
            elif k == 1:
                o.attrs.create(name, np.float64(i) / 7.0)
            elif k == 2:
                o.attrs.create(name, np.arange(i % 9 + 1, dtype="<i8") * (i + 1))
            elif k == 3:
                o.attrs.create(name, np.array(b"value-%d" % i, dtype="S16"))
            elif k == 4:
                o.attrs.create(name, np.linspace(0, 1, 6, dtype="<f4").reshape(2, 3) + i)
            else:
                o.attrs.create(name, np.array([i % 256, 255 - i % 256], dtype="u1"))

        o = f.create_group("ordered", track_order=True)
        names = ["zz_%02d" % (59 - i) for i in range(60)]
        for i, name in enumerate(names):
            o.attrs.create(name, np.int16(i))

        o = f.create_group("huge")
        for i in range(4):
            o.attrs.create("small%d" % i, np.uint16(i + 40000))
        o.attrs.create("big", np.arange(25600, dtype="<i4"))  # 100 KiB
        o.attrs.create("big_f8", np.linspace(-1, 1, 9000, dtype=">f8"))  # big-endian, 72000 bytes

    with h5py.File(path, "r") as f:
        doc = {"objects": {}}
        for p, tracked in (("/obj", False), ("/ordered", True), ("/huge", False)):
            doc["objects"][p] = describe_attrs(f, p, tracked)
    return path, doc


def describe_chunks(f, path):
    ds = f[path]
    infos = []
    for i in range(ds.id.get_num_chunks()):
        si = ds.id.get_chunk_info(i)
        infos.append([int(x) for x in si.chunk_offset] +
                     [int(si.filter_mask), int(si.byte_offset), int(si.size)])
    return {
        "addr": addr(ds),
        "shape": list(ds.shape),
        "maxshape": [None if m is None else int(m) for m in ds.maxshape],
        "chunks": list(ds.chunks),
        "itemsize": ds.dtype.itemsize,
        "filtered": ds.compression is not None,
        "chunk_info": infos,
    }


def gen_chunks(outdir):
    path = os.path.join(outdir, "chunks.h5")
    with h5py.File(path, "w", libver="latest") as f:
        data = (np.arange(576, dtype="<i8") * 2654435761 % 1000003).reshape(24, 24).astype("<i4")
        f.create_dataset("unfiltered", data=data, chunks=(2, 2), maxshape=(None, None))
        f.create_dataset("filtered", data=data, chunks=(2, 2), maxshape=(None, None),
                         compression="gzip", compression_opts=4)
        sp = f.create_dataset("sparse", shape=(40, 40), dtype="<i4", chunks=(2, 2),
                              maxshape=(None, None))
        sp[0:10, 0:40] = 7
        sp[30:40, 20:24] = 9
        sp[36:38, 2:4] = 1
        # A depth-1 tree of 2048-byte nodes holds at most 62 leaves of 84
        # records and 61 records between them (H5B2__hdr_init): 5269.
        # libhdf5 redistributes between siblings before it splits, so 6400
        # records give depth 2 whatever the insertion order.
        small = (np.arange(6400) % 251).astype("u1").reshape(80, 80)
        f.create_dataset("deep", data=small, chunks=(1, 1), maxshape=(None, None))

    with h5py.File(path, "r") as f:
        doc = {"datasets": {}}
        for p in ("/unfiltered", "/filtered", "/sparse", "/deep"):
            doc["datasets"][p] = describe_chunks(f, p)
    return path, doc


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "testdata", "dense")
    os.makedirs(outdir, exist_ok=True)
    total = 0
    for gen in (gen_links, gen_attrs, gen_chunks):
        path, doc = gen(outdir)
        jpath = os.path.splitext(path)[0] + ".json"
        with open(jpath, "w") as fp:
            json.dump(doc, fp, sort_keys=True, separators=(",", ":"))
            fp.write("\n")
        total += os.path.getsize(path) + os.path.getsize(jpath)
        print("%s: %d bytes" % (path, os.path.getsize(path)))
    print("total %d bytes" % total)
    if total >= 1 << 20:
        sys.exit("test data exceeds 1 MiB")


if __name__ == "__main__":
    main()
