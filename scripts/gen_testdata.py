#!/usr/bin/python3
"""Generate h5mount's test HDF5 files and their h5py reference dumps.

Run from the repository root with Debian's interpreter (h5py 3.7, HDF5 1.10.8):

    /usr/bin/python3 scripts/gen_testdata.py

It (re)writes, in testdata/:

  weather.h5          the issue's example file, h5py's default format (superblock 0,
                      v1 object headers, symbol-table groups, v1 B-tree chunk index):
                      /15 and /20 {temperature 1024 x <f8 (attrs dt, start_time),
                      wind 2048 x <f8 (attr dt)}, /big (below), /comp = arange(1024)
                      <i4, chunks (256,), gzip level 4
  weather_latest.h5   the same content with libver="latest" (superblock 3, v2 object
                      headers, compact link storage; /comp: fixed array index, /big:
                      extensible array index)
  features.h5         layouts (contiguous, compact, chunked), every int/float type,
  features_latest.h5  big-endian, scalar, null dataspace, |S10, filters (shuffle,
                      gzip, fletcher32), fill values, edge chunks, sparse chunks,
                      attributes of many kinds (50 on one dataset, one whose text is
                      > 64 KiB), soft/hard/external/dangling links, unicode and
                      spaced names, a 40-member group, creation-order tracking; the
                      /index datasets get every chunk index libhdf5 1.10 writes
                      with libver=latest (single chunk, implicit, fixed array, paged
                      fixed array, extensible array, v2 B-tree; filtered variants)
  types.h5            further datatypes SPEC §8 lists (bool, enum, compound, array,
                      float16, vlen strings and sequences, opaque, references,
                      complex, named datatype, empty, NaN and space-padded attributes)
  links.h5            a group with two names (/alias = /a/b), and a group reachable
                      from itself (/a/b/up = /a), plus a soft link to its own group
  other.h5            the target of features*.h5's external link (/x)
  NAME.h5.json        for each of them: the reference dump of scripts/dump_ref.py
                      (its module docstring documents the JSON schema)

Everything is deterministic (fixed seeds, numpy's frozen RandomState stream, values
rounded to 2 decimals), except the timestamps libhdf5 stores in the v2 object
headers of groups in *_latest.h5 (h5py's default): regenerating changes those bytes
and the "mtime" members of the JSON, nothing else.

/big in weather*.h5 is 2 TiB of float32 (shape 1024,1024,1024,512), chunked (1,1,64,512)
(128 KiB chunks, 16 Mi of them), no filter, default fill value 0.0; maxshape = shape
in weather.h5 (v1 B-tree index) but (None,1024,1024,512) in weather_latest.h5
(extensible array index: with a fixed maxshape libver=latest picks the fixed array,
whose data block libhdf5 1.10 allocates whole, 128 MiB for 16 Mi chunks); only element
[344,678,23,36] = 42.0 was written, so one chunk is allocated.  Its JSON entry has
"sha256": null and instead "windows" (sha256 of 1 MiB windows: the first and last
MiB, and the MiB holding the written chunk, which starts at byte offset
BIG_WINDOW_OFFSET below) and "probes" (values at [344,678,23,36] = 42.0 and at a few
unwritten elements = 0.0).
"""

import os
import sys

import numpy as np
import h5py

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no scripts/__pycache__
import dump_ref  # noqa: E402

MiB = 1 << 20
BIG_SHAPE = (1024, 1024, 1024, 512)
BIG_CHUNKS = (1, 1, 64, 512)
BIG_POINT = (344, 678, 23, 36)
BIG_ELEMENT = ((BIG_POINT[0] * 1024 + BIG_POINT[1]) * 1024 + BIG_POINT[2]) * 512 + BIG_POINT[3]
BIG_BYTE_OFFSET = BIG_ELEMENT * 4
BIG_WINDOW_OFFSET = BIG_BYTE_OFFSET // MiB * MiB


def rounded(x):
    """Round to 2 decimals, so libm differences between machines cannot show."""
    return np.round(np.asarray(x, dtype=np.float64) * 100.0) / 100.0


def smooth(n, seed, base, amp, periods, noise):
    rs = np.random.RandomState(seed)
    t = np.arange(n, dtype=np.float64)
    return rounded(base + amp * np.sin(2 * np.pi * periods * t / n) + rs.normal(0.0, noise, n))


# ------------------------------------------------------------------ weather

def make_weather(path, libver=None):
    kw = {"libver": libver} if libver else {}
    with h5py.File(path, "w", **kw) as f:
        for station, seed, start, base in (("15", 15, 1375204299, 15.0), ("20", 20, 1375290699, 20.0)):
            g = f.create_group(station)
            t = g.create_dataset("temperature", data=smooth(1024, seed, base, 8.0, 2, 0.5))
            t.attrs["dt"] = 10.0
            t.attrs["start_time"] = np.int64(start)
            w = g.create_dataset("wind", data=np.abs(smooth(2048, seed + 1000, 3.0, 2.0, 5, 0.8)))
            w.attrs["dt"] = 5.0
        # libver=latest would index a fixed-shape /big with a fixed array, whose data
        # block libhdf5 1.10 allocates whole: 16 Mi chunk addresses = 128 MiB.  An
        # unlimited first dimension gives the extensible array, allocated lazily.
        maxshape = (None,) + BIG_SHAPE[1:] if libver == "latest" else BIG_SHAPE
        big = f.create_dataset("big", shape=BIG_SHAPE, maxshape=maxshape, dtype="<f4",
                               chunks=BIG_CHUNKS)
        big[BIG_POINT] = 42.0
        f.create_dataset("comp", data=np.arange(1024, dtype="<i4"), chunks=(256,),
                         compression="gzip", compression_opts=4)


WEATHER_WINDOWS = {"/big": [(BIG_WINDOW_OFFSET, MiB)]}
WEATHER_PROBES = {"/big": [BIG_POINT, (0, 0, 0, 0), (1023, 1023, 1023, 511),
                           (344, 678, 23, 37), (344, 678, 87, 36)]}


# ------------------------------------------------------------------ features

def compact_dataset(group, name, data):
    """A dataset with the compact layout (data inside the object header)."""
    data = np.asarray(data)
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    space = h5py.h5s.create_simple(data.shape)
    tid = h5py.h5t.py_create(data.dtype)
    dsid = h5py.h5d.create(group.id, name.encode("utf-8"), tid, space, dcpl=dcpl)
    dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(data))
    return group[name]


def early_alloc_dataset(group, name, shape, dtype, chunks):
    """Chunked, space allocated at creation: libver=latest gives the implicit index."""
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk(chunks)
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    space = h5py.h5s.create_simple(shape)
    tid = h5py.h5t.py_create(np.dtype(dtype))
    h5py.h5d.create(group.id, name.encode("utf-8"), tid, space, dcpl=dcpl)
    return group[name]


def attr_kinds(obj):
    """Attributes of many kinds (the same set on a group and on a dataset)."""
    a = obj.attrs
    a["int"] = 42                                  # int64
    a["negative_int8"] = np.int8(-5)
    a["negative_int16"] = np.int16(-300)
    a["negative_int32"] = np.int32(-70000)
    a["negative_int64"] = np.int64(-5000000000)
    a["uint64_max"] = np.uint64(2 ** 64 - 1)
    a["float"] = 3.14                              # float64
    a["float_whole"] = 10.0
    a["float_tiny"] = 1e-05
    a["float_huge"] = 1.5e300
    a["float32"] = np.float32(0.1)
    a["bytes_fixed"] = np.bytes_(b"hello")         # |S5, ascii, nullpad
    a["str_vlen"] = "hello world"                  # vlen, utf-8
    a["str_unicode"] = "température à 15 °C — ✓"   # vlen, utf-8, non-ascii
    a["str_empty"] = ""
    a["int_array"] = np.array([1, 2, 3], dtype="<i8")
    a["float_array"] = np.array([0.5, 1.5, 2.5e-7], dtype="<f8")
    a["float32_array"] = np.array([0.1, 0.2, 1e20], dtype="<f4")
    a["array_2d"] = np.arange(6, dtype="<i4").reshape(2, 3)
    a["bool_like"] = np.uint8(1)
    a["str_array"] = ["a", "bé", "c d"]            # vlen utf-8 strings, shape (3,)
    a["be_int"] = np.array(258, dtype=">i4")       # big-endian scalar


def make_features(path, libver=None):
    kw = {"libver": libver} if libver else {}
    with h5py.File(path, "w", **kw) as f:
        f.attrs["title"] = "h5mount feature test file"
        f.attrs["libver"] = libver or "default"

        # layouts, scalar, empty, fixed-length strings
        d = f.create_group("data")
        d.create_dataset("contig", data=np.arange(100, dtype="<f8") * 0.5)
        compact_dataset(d, "compact", np.arange(10, dtype="<i4") - 3)
        d.create_dataset("chunked", data=np.arange(40 * 25, dtype="<i4").reshape(40, 25),
                         chunks=(10, 10))
        d.create_dataset("scalar", data=np.float64(3.25))
        d.create_dataset("scalar_int", data=np.int32(-7))
        d.create_dataset("empty", data=h5py.Empty("<f8"))
        d.create_dataset("strings", data=np.array([b"alpha", b"beta", b"0123456789", b"", b"x y"],
                                                  dtype="|S10"))

        # every integer and float type, both byte orders
        t = f.create_group("types")
        for name in ("i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8"):
            info = np.iinfo(np.dtype(name))
            vals = [info.min, info.max, 0, 1, info.max // 3, info.min // 5 if info.min else 7]
            t.create_dataset("int%d" % (info.bits) if name[0] == "i" else "uint%d" % info.bits,
                             data=np.array(vals, dtype="<" + name if name[1] != "1" else name))
        for name in ("f4", "f8"):
            dt = np.dtype("<" + name)
            fi = np.finfo(dt)
            vals = np.array([0.0, -0.0, 1.0, -2.5, fi.max, fi.min, fi.tiny, fi.eps, np.inf, -np.inf,
                             np.nan, 1e-5, 123456.789], dtype=dt)
            t.create_dataset("float%d" % (dt.itemsize * 8), data=vals)
        t.create_dataset("be_i4", data=np.array([1, -2, 0x01020304, -0x01020304, 0], dtype=">i4"))
        t.create_dataset("be_f8", data=np.array([1.0, -2.5, 1e300, np.pi], dtype=">f8"))
        t.create_dataset("be_i4_2d", data=np.arange(12, dtype=">i4").reshape(3, 4), chunks=(2, 2))

        # filters
        fl = f.create_group("filters")
        rs = np.random.RandomState(7)
        fl.create_dataset("shuffle_gzip", data=rounded(rs.normal(0, 1, (100, 30))).astype("<f4"),
                          chunks=(50, 10), shuffle=True, compression="gzip", compression_opts=4)
        fl.create_dataset("gzip9", data=np.arange(3000, dtype="<i8") % 17, chunks=(1000,),
                          compression="gzip", compression_opts=9)
        fl.create_dataset("fletcher32", data=np.arange(1000, dtype="<i2"), chunks=(128,),
                          fletcher32=True)
        fl.create_dataset("shuffle_gzip_fletcher32", data=np.arange(500, dtype="<f8") / 7,
                          chunks=(64,), shuffle=True, compression="gzip", fletcher32=True)

        # fill values
        fv = f.create_group("fill")
        p = fv.create_dataset("partial", shape=(50, 40), dtype="<i4", chunks=(10, 10), fillvalue=-1)
        p[5:23, 3:17] = np.arange(18 * 14, dtype="<i4").reshape(18, 14)
        fv.create_dataset("untouched", shape=(30,), dtype="<f8", chunks=(8,), fillvalue=2.5)
        fv.create_dataset("contig_untouched", shape=(20,), dtype="<i2", fillvalue=7)

        # edge chunks
        e = f.create_group("edge")
        u = e.create_dataset("unlimited", shape=(37, 8), maxshape=(None, 8), dtype="<f8",
                             chunks=(10, 3))
        u[...] = rounded(np.arange(37 * 8).reshape(37, 8) * 1.25)
        e.create_dataset("cube", data=np.arange(17 * 13 * 11, dtype="<i2").reshape(17, 13, 11),
                         chunks=(5, 4, 3))
        e.create_dataset("cube_gzip", data=np.arange(9 * 7 * 5, dtype="<u4").reshape(9, 7, 5),
                         chunks=(4, 4, 4), compression="gzip")

        # sparse
        s = f.create_group("sparse")
        fc = s.create_dataset("few_chunks", shape=(1000, 1000), dtype="<i2", chunks=(32, 32))
        fc[0:32, 0:32] = 1
        fc[450:460, 720:730] = np.arange(100, dtype="<i2").reshape(10, 10)
        fc[999, 999] = -5
        mc = s.create_dataset("many_chunks", shape=(400,), dtype="<i4", chunks=(4,))
        mc[0:160] = np.arange(160)        # 80 of 100 chunks: a v1 B-tree of two levels
        mc[240:400] = -np.arange(240, 400)

        # chunk index variants (all v1 B-tree with the default libver)
        ix = f.create_group("index")
        ea = ix.create_dataset("extensible", shape=(100,), maxshape=(None,), dtype="<i4", chunks=(8,))
        ea[...] = np.arange(100)
        ix.create_dataset("extensible_gzip", data=np.arange(100, dtype="<i4"), maxshape=(None,),
                          chunks=(8,), compression="gzip")
        if libver == "latest":  # (with the v1 B-tree these two would cost ~100 KiB of nodes)
            ea2 = ix.create_dataset("extensible_many", shape=(3000,), maxshape=(None,),
                                    dtype="<i2", chunks=(2,))
            ea2[...] = np.arange(3000) % 1000
            fp = ix.create_dataset("fixed_paged", shape=(4200,), dtype="<i2", chunks=(2,))
            fp[0:1000] = np.arange(1000)
            fp[4100:4200] = np.arange(100)
        ix.create_dataset("fixed", data=np.arange(300, dtype="<i4").reshape(30, 10), chunks=(7, 4))
        ix.create_dataset("fixed_gzip", data=np.arange(300, dtype="<i4").reshape(30, 10),
                          chunks=(7, 4), compression="gzip")
        ix.create_dataset("single", data=np.arange(600, dtype="<i4").reshape(20, 30),
                          chunks=(20, 30))
        ix.create_dataset("single_gzip", data=np.arange(600, dtype="<i4").reshape(20, 30),
                          chunks=(20, 30), compression="gzip")
        im = early_alloc_dataset(ix, "implicit", (40, 40), "<i4", (10, 10))
        im[0:25, 0:25] = np.arange(625).reshape(25, 25)
        b2 = ix.create_dataset("btree2", shape=(30, 31), maxshape=(None, None), dtype="<i2",
                               chunks=(3, 3))
        b2[0:21, :] = np.arange(21 * 31).reshape(21, 31)
        b2[27:30, 0:16] = 7
        ix.create_dataset("btree2_gzip", data=np.arange(400, dtype="<i4").reshape(20, 20),
                          maxshape=(None, None), chunks=(6, 6), compression="gzip")

        # attributes
        ag = f.create_group("attrs")
        attr_kinds(ag)
        ad = ag.create_dataset("dset", data=np.arange(4, dtype="<i4"))
        attr_kinds(ad)
        fifty = ag.create_dataset("fifty", data=np.arange(4, dtype="<i4"))
        for i in range(50):
            kind = i % 5
            if kind == 0:
                fifty.attrs["a%02d" % i] = i
            elif kind == 1:
                fifty.attrs["a%02d" % i] = i + 0.5
            elif kind == 2:
                fifty.attrs["a%02d" % i] = "value %d" % i
            elif kind == 3:
                fifty.attrs["a%02d" % i] = np.arange(i % 7 + 1, dtype="<i2")
            else:
                fifty.attrs["a%02d" % i] = np.bytes_(("fixed%d" % i).encode())
        big = ag.create_dataset("big_attr", data=np.int32(0))
        big.attrs["big"] = np.arange(1, 4001, dtype="<f8") / 7.0  # 32 KB; its text > 64 KiB
        big.attrs["small"] = 1

        # links
        ln = f.create_group("links")
        ln["hard"] = d["contig"]                           # second name of /data/contig
        ln["soft"] = h5py.SoftLink("/data/contig")
        ln["relative"] = h5py.SoftLink("hard")             # relative soft link
        ln["dangling"] = h5py.SoftLink("/no/such/object")
        ln["external"] = h5py.ExternalLink("other.h5", "/x")

        # names and depth
        n = f.create_group("nested/level1/level2/level3")
        n.create_dataset("deep", data=np.array([1, 2, 3], dtype="i1"))
        f["nested"].attrs["depth"] = 3
        # A non-ASCII link name needs a link message (symbol table entries have no
        # character set), so libhdf5 turns /names into a "new style" group (link
        # messages in a v1 object header) even in the default format; under the
        # root it would convert the root group (13 members: dense links).
        nm = f.create_group("names")
        u = nm.create_group("température à 15")
        u.create_dataset("vitesse du vent", data=rounded(np.linspace(0, 10, 11)))
        u.create_dataset("-dash name", data=np.array([1], dtype="u1"))
        u.attrs["unité"] = "°C"
        nm.create_dataset("with space", data=np.array([2], dtype="u1"))
        nm.create_dataset("ünïcödé", data=np.array([3], dtype="u1"))

        # a group with many members (symbol table B-tree with several leaves;
        # dense link storage with libver=latest)
        m = f.create_group("many")
        for i in range(40):
            m.create_dataset("d%02d" % i, data=np.array([i, i * i, -i], dtype="<i2"))

        # creation order tracked
        o = f.create_group("ordered", track_order=True)
        for name in ("zulu", "alpha", "mike", "bravo"):
            o.create_dataset(name, data=np.array([len(name)], dtype="<i4"))
        o.attrs["z_first"] = 1
        o.attrs["a_second"] = 2
        o.attrs["m_third"] = 3
        od = o.create_dataset("with_attrs", data=np.zeros(2, dtype="u1"), track_order=True)
        od.attrs["zz"] = 1
        od.attrs["aa"] = 2


# ------------------------------------------------------------------ types

def make_types(path):
    with h5py.File(path, "w") as f:
        f.create_dataset("bool", data=np.array([True, False, True]))
        enum_t = h5py.enum_dtype({"RED": 0, "GREEN": 1, "BLUE": 42}, basetype="u1")
        f.create_dataset("enum", data=np.array([0, 42, 1, 1], dtype="u1"), dtype=enum_t)
        f.attrs.create("enum_attr", 42, dtype=enum_t)
        f.attrs["bool_attr"] = np.bool_(True)
        cmp_t = np.dtype([("x", "<f8"), ("y", "<i2"), ("name", "S3")])
        f.create_dataset("compound", data=np.array([(1.5, 2, b"abc"), (-1.0, -3, b"z")], dtype=cmp_t))
        padded = np.dtype({"names": ["a", "b"], "formats": ["u1", "<i4"], "offsets": [0, 4],
                           "itemsize": 12})
        pd = np.zeros(2, dtype=padded)   # zeros: the padding bytes get written too
        pd["a"] = [1, 3]
        pd["b"] = [2, 4]
        f.create_dataset("compound_padded", data=pd)
        nested = np.dtype([("pos", [("x", "<f4"), ("y", "<f4")]), ("id", "<u2")])
        f.create_dataset("compound_nested", data=np.array([((1, 2), 7), ((3, 4), 8)], dtype=nested))
        f.attrs["compound_attr"] = np.array((1.5, 2, b"abc"), dtype=cmp_t)
        at = f.create_dataset("array_type", shape=(4,), dtype=np.dtype(("<i4", (3,))))
        at[...] = np.arange(12, dtype="<i4").reshape(4, 3)
        f.create_dataset("float16", data=np.array([0.5, -1.0, 65504.0, 0.1], dtype="<f2"))
        f.create_dataset("complex", data=np.array([1 + 2j, -0.5j], dtype="<c16"))
        f.create_dataset("vlen_str", data=["one", "two words", "trois é"],
                         dtype=h5py.string_dtype("utf-8"))
        f.create_dataset("vlen_ascii", data=[b"a", b"bc"], dtype=h5py.string_dtype("ascii"))
        uf = f.create_dataset("utf8_fixed", shape=(2,), dtype=h5py.string_dtype("utf-8", 4))
        uf.id.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array(["é".encode(), b"ab"], dtype="S4"),
                    mtype=uf.id.get_type())
        vl = f.create_dataset("vlen_int", shape=(3,), dtype=h5py.vlen_dtype(np.dtype("<i4")))
        vl[0] = [1, 2, 3]
        vl[1] = []
        vl[2] = [9]
        f.create_dataset("opaque", data=np.array([b"\x01\x02\x03\x04", b"\xff\x00\xff\x00"],
                                                 dtype="V4"))
        f["named_type"] = np.dtype("<i8")                       # a committed datatype
        f.create_dataset("uses_named", data=np.arange(3, dtype="<i8"), dtype=f["named_type"])
        refs = f.create_dataset("obj_refs", shape=(2,), dtype=h5py.ref_dtype)
        refs[0] = f["bool"].ref
        refs[1] = f.ref
        f.attrs["empty_attr"] = h5py.Empty("<f4")
        f.attrs["nan"] = np.nan
        f.attrs["inf"] = -np.inf
        f.attrs["float16_attr"] = np.float16(0.1)
        f.attrs["spacepad"] = np.bytes_(b"ab")  # replaced by a space-padded one below
        tid = h5py.h5t.C_S1.copy()
        tid.set_size(6)
        tid.set_strpad(h5py.h5t.STR_SPACEPAD)
        del f.attrs["spacepad"]
        space = h5py.h5s.create(h5py.h5s.SCALAR)
        aid = h5py.h5a.create(f.id, b"spacepad", tid, space)
        aid.write(np.array(b"ab    ", dtype="S6"), mtype=tid)


# ------------------------------------------------------------------ links

def make_links(path):
    with h5py.File(path, "w") as f:
        a = f.create_group("a")
        b = a.create_group("b")
        b.create_dataset("x", data=np.arange(3, dtype="<i4"))
        f["alias"] = b                      # /alias is a second name of /a/b
        b["up"] = a                         # /a/b/up is /a again: a cycle
        f["a/b/self"] = h5py.SoftLink("/a/b")


def make_other(path):
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.arange(5, dtype="<f8") * 1.5)


# ------------------------------------------------------------------ main

def write_json(h5path, **kw):
    d = dump_ref.dump(h5path, isolate=False, **kw)
    with open(h5path + ".json", "w", encoding="utf-8") as fh:
        fh.write(dump_ref.to_json(d))
    return d


def main():
    root = os.path.dirname(HERE)
    out = os.path.join(root, "testdata")
    os.makedirs(out, exist_ok=True)
    os.chdir(out)
    make_other("other.h5")
    make_weather("weather.h5")
    make_weather("weather_latest.h5", "latest")
    make_features("features.h5")
    make_features("features_latest.h5", "latest")
    make_types("types.h5")
    make_links("links.h5")
    for name in ("other.h5", "features.h5", "features_latest.h5", "types.h5", "links.h5"):
        write_json(name)
    for name in ("weather.h5", "weather_latest.h5"):
        write_json(name, windows=WEATHER_WINDOWS, probes=WEATHER_PROBES)
    total = 0
    for name in sorted(os.listdir(".")):
        size = os.path.getsize(name)
        total += size
        print("%8d  testdata/%s" % (size, name))
    print("%8d  total" % total)


if __name__ == "__main__":
    main()
