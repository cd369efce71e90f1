#!/usr/bin/python3
"""Write the conformance files: one small HDF5 file per feature that libhdf5 writes.

Run from anywhere with Debian's interpreter (h5py 3.7 on libhdf5 1.10.8), never
the python3 on PATH:

    /usr/bin/python3 scripts/gen_conformance.py [OUTDIR]

OUTDIR defaults to testdata/conformance/.  HDF5_PLUGIN_PATH is set to the
directory of Debian's hdf5-filter-plugin package (where `dpkg -L` puts
libh5lz4.so), unless it is set already.  A filter whose plugin does not load is
left out, and the script says which.

For every feature NAME it writes

  NAME.h5             h5py's default format (libver earliest..latest: superblock 0,
                      v1 object headers, symbol-table groups, v1 B-tree chunk index)
  NAME_latest.h5      the same content with libver="latest" (superblock 3, v2 object
                      headers, compact/dense links and attributes, the new chunk
                      indexes)
  NAME.h5.json        the reference dump of scripts/dump_ref.py (schema in its
  NAME_latest.h5.json docstring), read by conformance_mount_test.go

(a few features change the format on purpose: superblock_v2 uses libver v108,
see FEATURES below), plus the raw files of external storage (efl*.bin) and the
sibling files that external links and virtual datasets refer to (links_target*.h5,
vds_src*.h5, which are features of their own and tested too).  Relative names are
resolved from OUTDIR: the script works there.

Everything is deterministic: fixed seeds, and object modification times are
switched off (H5Pset_obj_track_times(0)) for the file's root group, every group,
dataset and committed datatype, so two runs give identical bytes -- except in the
three files with libver latest and a superblock extension (page_latest.h5,
shared_messages_latest.h5, superblock_v1_latest.h5): libhdf5 stores the time in
the extension's object header whatever the property lists say.

Where h5py 3.7 has no binding (H5Pset_istore_k, H5Pset_shared_mesg_*,
H5Pset_chunk_opts, H5Tcommit2 with a datatype creation property list), this
script calls, through ctypes, the very libhdf5 that h5py has loaded: the files are
still written by libhdf5 itself.

Sizes: most files are a few KiB, the largest (attr_large*) 30 KiB; all of
OUTDIR stays below 1.5 MiB.  The JSON dumps are a third of it.

What is not here, because h5py 3.7 / libhdf5 1.10.8 cannot make or read it:
  - a 1-byte big-endian bitfield (STD_B8BE): h5py cannot read it back ("no
    appropriate function for conversion path"), so the dump would hold no data.
  - an opaque type with a tag: h5py cannot read it back either (same error).
  - complex64 datasets: dump_ref.py fails on their fill value ("Object of type
    float32 is not JSON serializable"); complex128 is here.
  - an attribute whose value is larger than 64 KiB in the default format (v1
    object headers: "object header message is too large").  The attributes of
    attr_large* have texts larger than 64 KiB (E2BIG) but values of 13 KiB: a
    single string of 64 KiB would cost twice that again in the dump, which does
    not shorten scalar strings.
  - a dataset with an unlimited dimension in offsets4*: with 4-byte lengths
    libhdf5 1.10.8 writes H5S_UNLIMITED as 0xffffffff and reads it back as
    4294967295; with libver latest it cannot even open the dataset ("didn't find
    unlimited dimension").
  - superblock version 2 with h5py's default libver needs a superblock extension:
    superblock_v2.h5 uses libver ("v108", "v108"); shared_messages.h5 and page.h5
    have superblock 2 with the default libver, through their extension.  In the
    latest style these files all have superblock 3.
  - zstd (32015): Debian's libhdf5 1.10 has no plugin for it (testdata/filters has
    zstd files, made by gen_filters.py with write_direct_chunk).

Notes on what libhdf5 does (the dumps record it as it is):
  - external raw data files (EFL) are found relative to the current directory by
    libhdf5 1.10 (this script and the dumps run in OUTDIR), virtual dataset source
    files relative to the virtual dataset's file;
  - EFL bytes never written read as zeros, not as the fill value (efl*/partial).
"""

import ctypes
import glob
import os
import subprocess
import sys
import tempfile


def _plugin_dir():
    try:
        out = subprocess.run(["dpkg", "-L", "hdf5-filter-plugin"], capture_output=True, text=True,
                             check=True).stdout
        for line in out.splitlines():
            if line.endswith("/libh5lz4.so"):
                return os.path.dirname(line)
    except (OSError, subprocess.CalledProcessError):
        pass
    return "/usr/lib/x86_64-linux-gnu/hdf5/serial/plugins"


# Before h5py (libhdf5) starts: the plugin search path is read at its start.
os.environ.setdefault("HDF5_PLUGIN_PATH", _plugin_dir())

import numpy as np  # noqa: E402
import h5py  # noqa: E402
from h5py import h5a, h5d, h5f, h5g, h5p, h5s, h5t, h5z  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no scripts/__pycache__
import dump_ref  # noqa: E402

ROOT = os.path.dirname(HERE)
OUT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "testdata", "conformance")

LZF, BLOSC, LZ4, BSHUF, BZIP2 = 32000, 32001, 32004, 32008, 307
PADS = {"nullterm": h5t.STR_NULLTERM, "nullpad": h5t.STR_NULLPAD, "spacepad": h5t.STR_SPACEPAD}
CSETS = {"ascii": h5t.CSET_ASCII, "utf8": h5t.CSET_UTF8}


# ------------------------------------------------------------------ libhdf5 through ctypes

def _libhdf5():
    """The libhdf5 h5py has loaded (the same instance, so ids are shared)."""
    with open("/proc/self/maps") as fh:
        for line in fh:
            p = line.split()[-1]
            if "libhdf5" in p and "_hl" not in p and ".so" in p:
                lib = ctypes.CDLL(p)
                break
        else:
            raise SystemExit("libhdf5 not found among the loaded libraries")
    hid, herr = ctypes.c_int64, ctypes.c_int
    for name, args in (("H5Pset_istore_k", [hid, ctypes.c_uint]),
                       ("H5Pset_shared_mesg_nindexes", [hid, ctypes.c_uint]),
                       ("H5Pset_shared_mesg_index", [hid, ctypes.c_uint, ctypes.c_uint, ctypes.c_uint]),
                       ("H5Pset_shared_mesg_phase_change", [hid, ctypes.c_uint, ctypes.c_uint]),
                       ("H5Pset_chunk_opts", [hid, ctypes.c_uint]),
                       ("H5Pset_obj_track_times", [hid, ctypes.c_uint]),
                       ("H5Pclose", [hid]),
                       ("H5Tcommit2", [hid, ctypes.c_char_p, hid, hid, hid, hid])):
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = args, herr
    lib.H5Pcreate.argtypes, lib.H5Pcreate.restype = [hid], hid
    return lib


LIB = _libhdf5()


def check(rc, what):
    if rc < 0:
        raise RuntimeError("%s failed" % what)


# ------------------------------------------------------------------ helpers

def lcpl_for(name):
    """h5py's rule: an ASCII name gets an ASCII link, anything else UTF-8."""
    lcpl = h5p.create(h5p.LINK_CREATE)
    lcpl.set_create_intermediate_group(True)
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        lcpl.set_char_encoding(h5t.CSET_UTF8)
    return lcpl


def group(parent, name, track_order=False, tracked_only=False):
    """A group without modification time (h5py's create_group stores one)."""
    gcpl = h5p.create(h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    if track_order:
        flags = h5p.CRT_ORDER_TRACKED | h5p.CRT_ORDER_INDEXED
        gcpl.set_link_creation_order(flags)
        gcpl.set_attr_creation_order(flags)
    elif tracked_only:
        gcpl.set_link_creation_order(h5p.CRT_ORDER_TRACKED)
    gid = h5g.create(parent.id, name.encode("utf-8"), lcpl=lcpl_for(name), gcpl=gcpl)
    return h5py.Group(gid)


def space_for(shape, maxshape=None):
    if shape is None:
        return h5s.create(h5s.NULL)
    if shape == ():
        return h5s.create(h5s.SCALAR)
    if maxshape is not None:
        maxshape = tuple(h5s.UNLIMITED if m is None else m for m in maxshape)
    return h5s.create_simple(tuple(shape), maxshape)


def dataset(parent, name, tid, shape, data=None, mtype=None, *, maxshape=None, chunks=None,
            layout=None, fill=None, fill_time=None, alloc=None, filters=(), chunk_opts=None,
            external=None):
    """A dataset made through the low-level API, for what create_dataset cannot set.

    tid: an h5t TypeID or a numpy dtype; fill: a value of the memory type of data
    (or of tid's numpy equivalent); filters: [(id, flags, cd_values)] or names
    "shuffle", "fletcher32", ("deflate", level)."""
    if not isinstance(tid, h5t.TypeID):
        tid = h5t.py_create(np.dtype(tid), logical=True)
    dcpl = h5p.create(h5p.DATASET_CREATE)
    dcpl.set_obj_track_times(False)
    if layout == "compact":
        dcpl.set_layout(h5d.COMPACT)
    if chunks is not None:
        dcpl.set_chunk(tuple(chunks))
    for flt in filters:
        if flt == "shuffle":
            dcpl.set_shuffle()
        elif flt == "fletcher32":
            dcpl.set_fletcher32()
        elif flt[0] == "deflate":
            dcpl.set_deflate(flt[1])
        else:
            dcpl.set_filter(flt[0], flt[1], tuple(flt[2]))
    if fill is not None:
        dcpl.set_fill_value(np.asarray(fill))
    if fill_time is not None:
        dcpl.set_fill_time(fill_time)
    if alloc is not None:
        dcpl.set_alloc_time(alloc)
    if chunk_opts is not None:
        check(LIB.H5Pset_chunk_opts(dcpl.id, chunk_opts), "H5Pset_chunk_opts")
    if external is not None:
        for fname, off, size in external:
            dcpl.set_external(fname.encode(), off, size)
    dsid = h5d.create(parent.id, name.encode("utf-8"), tid, space_for(shape, maxshape), dcpl=dcpl,
                      lcpl=lcpl_for(name))
    if data is not None:
        arr = np.ascontiguousarray(data)
        dsid.write(h5s.ALL, h5s.ALL, arr, mtype=mtype if mtype is not None else h5t.py_create(arr.dtype))
    return h5py.Dataset(dsid)


def attr(obj, name, tid, shape, data=None, mtype=None):
    """An attribute of any type (shape None: null dataspace, (): scalar)."""
    if not isinstance(tid, h5t.TypeID):
        tid = h5t.py_create(np.dtype(tid), logical=True)
    aid = h5a.create(obj.id, name.encode("utf-8"), tid, space_for(shape))
    if data is not None:
        arr = np.ascontiguousarray(data)
        aid.write(arr, mtype=mtype if mtype is not None else h5t.py_create(arr.dtype))
    return aid


def commit(parent, name, dt):
    """A committed (named) datatype, without a modification time."""
    tid = dt if isinstance(dt, h5t.TypeID) else h5t.py_create(np.dtype(dt), logical=True)
    tid = tid.copy()
    tcpl = LIB.H5Pcreate(ctypes.c_int64.in_dll(LIB, "H5P_CLS_DATATYPE_CREATE_ID_g").value)
    check(tcpl, "H5Pcreate(DATATYPE_CREATE)")
    try:
        check(LIB.H5Pset_obj_track_times(tcpl, 0), "H5Pset_obj_track_times")
        lcpl = lcpl_for(name)  # (held: its id must stay open during the call)
        check(LIB.H5Tcommit2(parent.id.id, name.encode("utf-8"), tid.id, lcpl.id, tcpl, 0), "H5Tcommit2")
    finally:
        LIB.H5Pclose(tcpl)
    return parent[name]


def str_type(size, pad="nullpad", cset="ascii"):
    t = h5t.C_S1.copy()
    t.set_size(size)
    t.set_strpad(PADS[pad])
    t.set_cset(CSETS[cset])
    return t


def str_bytes(values, size, pad):
    """Strings as libhdf5 stores them in a type of that size and padding."""
    out = []
    for v in values:
        b = v.encode("utf-8") if isinstance(v, str) else v
        assert len(b) <= size - (pad == "nullterm"), (v, size, pad)
        out.append(b + (b" " if pad == "spacepad" else b"\0") * (size - len(b)))
    return np.array(out, dtype="S%d" % size)


def ds(f, name, data, **kw):
    """h5py's create_dataset (which stores no modification time by default)."""
    return f.create_dataset(name, data=data, **kw)


def smooth(rs, shape, dtype, scale=100.0):
    """Compressible, deterministic values rounded to 2 decimals (ints for int types)."""
    n = int(np.prod(shape))
    t = np.arange(n, dtype=np.float64)
    v = scale * np.sin(t / 17.0) + rs.normal(0, scale / 20.0, n)
    dt = np.dtype(dtype)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        v = np.clip(np.round(v), info.min, info.max)
    else:
        v = np.round(v * 100.0) / 100.0
    return v.astype(dt).reshape(shape)


# ------------------------------------------------------------------ features
#
# Each feature is a function f(f, ctx) filling an open h5py.File; ctx.style is
# "default" or "latest", ctx.stem the file name without ".h5", ctx.rs a
# RandomState seeded from the feature name.

def int_types(f, ctx):
    """Every integer size, signed and unsigned, both byte orders (1-byte ones too)."""
    for bits in (8, 16, 32, 64):
        for kind in "iu":
            for order in "<>":
                dt = np.dtype(order + kind + str(bits // 8))
                info = np.iinfo(dt)
                vals = np.array([info.min, info.max, 0, 1, info.max // 3,
                                 info.min // 7 if info.min else 100, 0x5A], dtype=dt)
                name = "%s%d_%s" % ("int" if kind == "i" else "uint", bits, "le" if order == "<" else "be")
                if bits == 8:
                    # numpy has no byte order for one byte: the file's type does.
                    base = {("i", "<"): h5t.STD_I8LE, ("i", ">"): h5t.STD_I8BE,
                            ("u", "<"): h5t.STD_U8LE, ("u", ">"): h5t.STD_U8BE}[kind, order]
                    dataset(f, name, base, vals.shape, vals)
                else:
                    ds(f, name, vals)
    f.attrs["int16_be"] = np.array([-2, 258], ">i2")  # (attr_types has all of them)


def float_types(f, ctx):
    """float16/32/64, both byte orders, with the special values."""
    for bits in (16, 32, 64):
        for order in "<>":
            dt = np.dtype("%sf%d" % (order, bits // 8))
            fi = np.finfo(dt)
            with np.errstate(over="ignore", under="ignore"):
                vals = np.array([0.0, -0.0, 1.0, -2.5, fi.max, fi.min, fi.tiny, fi.tiny / 4, fi.eps,
                                 np.inf, -np.inf, np.nan, 0.1, 1e-5 if bits > 16 else 0.0999,
                                 1234.5], dtype=dt)
            name = "float%d_%s" % (bits, "le" if order == "<" else "be")
            d = ds(f, name, vals)
            d.attrs["tenth"] = dt.type(0.1)
            if order == "<":
                d.attrs["max"] = np.array(fi.max, dt)
                d.attrs["nan"] = np.array(np.nan, dt)
                d.attrs["minus_inf"] = np.array(-np.inf, dt)
    f.attrs["float16_be"] = np.array([0.5, -1.25, 0.1, 3.0], dtype=">f2")


STR_VALUES = {
    "ascii": ["", "a", "hello", "a b c", "1234567", "12345678"],
    "utf8": ["", "é", "日本", "ça va", "ü-ö", "ü€uro"],  # the last: 8 bytes
}


def strings_fixed(f, ctx):
    """Fixed-length strings: nullterm, nullpad, spacepad x ascii, utf-8."""
    for pad in ("nullterm", "nullpad", "spacepad"):
        for cset in ("ascii", "utf8"):
            size = 8
            vals = [v for v in STR_VALUES[cset] if len(v.encode()) <= size - (pad == "nullterm")]
            t = str_type(size, pad, cset)
            name = "%s_%s" % (pad, cset)
            d = dataset(f, name, t, (len(vals),), str_bytes(vals, size, pad), mtype=t)
            attr(d, "array", t, (len(vals),), str_bytes(vals, size, pad), mtype=t)
    t = str_type(4, "nullpad")
    dataset(f, "nullpad_2d", t, (2, 3), str_bytes(["ab", "cd", "", "wxyz", "q", "r s"], 4, "nullpad")
            .reshape(2, 3), mtype=t)
    t = str_type(100, "nullterm")
    dataset(f, "long_nullterm", t, (3,), str_bytes(["x" * 99, "", "long " * 10], 100, "nullterm"),
            mtype=t)
    # through h5py's own path (|S5, nullpad ascii)
    ds(f, "numpy_S5", np.array([b"alpha", b"beta", b"", b"x y"], dtype="S5"))
    f.attrs["numpy_S5"] = np.bytes_(b"hello")


def strings_vlen(f, ctx):
    """Variable-length strings (ascii, utf-8) in datasets and attributes."""
    sa = h5py.string_dtype("ascii")
    su = h5py.string_dtype("utf-8")
    ascii_vals = [b"", b"a", b"hello world", b"x" * 300, b"tab\there", b"last"]
    utf8_vals = ["", "é", "日本語のテキスト", "emoji 🙂", "mixed ascii", "ünïcödé"]
    ds(f, "ascii", np.array(ascii_vals, dtype=sa))
    ds(f, "utf8", np.array(utf8_vals, dtype=su))
    ds(f, "utf8_2d", np.array(utf8_vals, dtype=su).reshape(2, 3))
    ds(f, "scalar_utf8", np.array("just one", dtype=su))
    ds(f, "scalar_ascii", np.array(b"just one", dtype=sa))
    ds(f, "chunked_gzip", np.array(["row %d %s" % (i, "é" * (i % 4)) for i in range(20)], dtype=su),
       chunks=(8,), compression="gzip")
    d = f["utf8"]
    d.attrs["ascii"] = np.array(b"vlen ascii", dtype=sa)
    d.attrs["utf8"] = "vlen utf-8 ✓"
    f.attrs.create("ascii", b"vlen ascii", dtype=sa)
    f.attrs["utf8"] = "température"
    f.attrs["empty"] = ""
    f.attrs.create("ascii_array", ascii_vals[:3], dtype=sa)
    f.attrs["utf8_array"] = utf8_vals
    f.attrs.create("utf8_2d", np.array(utf8_vals, dtype=object).reshape(3, 2), dtype=su)


def vlen_sequences(f, ctx):
    """Variable-length sequences of integers and floats."""
    def objs(lists, dt):
        a = np.empty(len(lists), dtype=object)
        for i, v in enumerate(lists):
            a[i] = np.array(v, dtype=dt)
        return a
    ints = [[1, 2, 3], [], [-5], list(range(10, 30))]
    floats = [[0.5], [1.25, -2.5, 1e30], [], [np.pi]]
    for name, dt, lists in (("int32", "<i4", ints), ("int16_be", ">i2", ints),
                            ("uint8", "u1", [[1], [2, 3], [255], []]), ("int64", "<i8", ints),
                            ("float64", "<f8", floats), ("float32", "<f4", floats)):
        ds(f, name, objs(lists, dt), dtype=h5py.vlen_dtype(np.dtype(dt)))
        if name in ("int16_be", "float64"):
            f.attrs.create(name, objs(lists, dt), dtype=h5py.vlen_dtype(np.dtype(dt)))
    a = np.empty((2, 2), dtype=object)
    for i in range(2):
        for j in range(2):
            a[i, j] = np.arange(i * 2 + j, dtype="<i4")
    ds(f, "int32_2d", a, dtype=h5py.vlen_dtype(np.dtype("<i4")))


def enums(f, ctx):
    """Enums on int8, int32 (both byte orders), uint16, and h5py's bool."""
    e8 = h5py.enum_dtype({"NEG": -1, "ZERO": 0, "POS": 1, "BIG": 100}, basetype="i1")
    e32 = h5py.enum_dtype({"A": 0, "B": 1000, "C": -100000, "D": 2 ** 31 - 1}, basetype="<i4")
    e32be = h5py.enum_dtype({"A": 0, "B": 1000, "C": -100000}, basetype=">i4")
    e16 = h5py.enum_dtype({"RED": 0, "GREEN": 1, "BLUE": 65535}, basetype="<u2")
    ds(f, "int8_enum", np.array([-1, 0, 1, 100, 1], dtype="i1"), dtype=e8)
    ds(f, "int32_enum", np.array([0, 1000, -100000, 2 ** 31 - 1], dtype="<i4"), dtype=e32)
    ds(f, "int32_be_enum", np.array([1000, 0, -100000], dtype=">i4"), dtype=e32be)
    ds(f, "uint16_enum", np.array([[0, 1], [65535, 0]], dtype="<u2"), dtype=e16)
    ds(f, "bool", np.array([True, False, True, True]))
    ds(f, "bool_2d", np.array([[True, False], [False, False]]), chunks=(1, 2))
    f.attrs.create("int8_enum", -1, dtype=e8)
    f.attrs.create("int32_enum", 1000, dtype=e32)
    f.attrs.create("int32_be_enum", -100000, dtype=e32be)
    f.attrs.create("enum_array", np.array([0, 1, 65535], dtype="<u2"), dtype=e16)
    f.attrs["bool_true"] = np.bool_(True)
    f.attrs["bool_false"] = np.bool_(False)
    f.attrs["bool_array"] = np.array([True, False, True])


CMP_SIMPLE = np.dtype([("x", "<f8"), ("y", "<i4"), ("name", "S4")])
CMP_NESTED = np.dtype([("pos", [("x", "<f4"), ("y", "<f4")]), ("id", "<u2"),
                       ("inner", [("a", "u1"), ("b", [("c", ">i2")])])])
CMP_PADDED = np.dtype({"names": ["a", "b", "c"], "formats": ["u1", "<i4", "<f8"],
                       "offsets": [0, 4, 16], "itemsize": 32})
CMP_ARRAYS = np.dtype([("id", "<i4"), ("vec", "<f4", (3,)), ("mat", "<i2", (2, 2)), ("tag", "S2", (2,))])
CMP_BE = np.dtype([("a", ">i4"), ("b", ">f8"), ("c", "<u2")])


def compound_values():
    simple = np.array([(1.5, 2, b"abc"), (-1.0, -3, b"wxyz"), (0.0, 0, b"")], dtype=CMP_SIMPLE)
    nested = np.array([((1, 2), 7, (3, (-4,))), ((3.5, -4), 8, (255, (300,)))], dtype=CMP_NESTED)
    padded = np.zeros(3, dtype=CMP_PADDED)  # zeros: the padding bytes are written too
    padded["a"], padded["b"], padded["c"] = [1, 2, 3], [-1, 0, 2 ** 30], [0.5, -0.25, 1e10]
    arrays = np.zeros(2, dtype=CMP_ARRAYS)
    arrays["id"] = [1, 2]
    arrays["vec"] = [[0.5, 1.5, 2.5], [-1, -2, -3]]
    arrays["mat"] = [[[1, 2], [3, 4]], [[-5, 6], [7, -8]]]
    arrays["tag"] = [[b"ab", b"c"], [b"", b"zz"]]
    be = np.array([(1, 0.5, 2), (-2, -1e-3, 65535)], dtype=CMP_BE)
    return simple, nested, padded, arrays, be


def compound(f, ctx):
    """Compound types: simple, nested, padded with offsets, array members, mixed byte
    orders, complex numbers (h5py's r/i compound), an enum/bool member, a vlen member."""
    simple, nested, padded, arrays, be = compound_values()
    ds(f, "simple", simple)
    ds(f, "nested", nested)
    ds(f, "padded", padded)
    ds(f, "array_members", arrays)
    ds(f, "mixed_order", be)
    # (complex64 is left out: dump_ref.py cannot write its fill value as JSON,
    # "Object of type float32 is not JSON serializable")
    ds(f, "complex128", np.array([1 + 2j, -0.5j, 3], dtype="<c16"))
    ds(f, "complex128_be", np.array([1 + 2j, -0.5j], dtype=">c16"))
    e8 = h5py.enum_dtype({"OFF": 0, "ON": 1, "AUTO": 2}, basetype="u1")
    et = np.dtype([("flag", "?"), ("mode", e8), ("v", "<i2")])
    ds(f, "enum_members", np.array([(True, 2, 5), (False, 0, -5)], dtype=et))
    vt = np.dtype([("id", "<i4"), ("label", h5py.string_dtype())])
    ds(f, "vlen_member", np.array([(1, "one"), (2, "deux é")], dtype=vt))
    f.attrs["simple_array"] = simple  # (attr_types has the others)
    f.attrs["mixed_order"] = be


def array_type(f, ctx):
    """The HDF5 array datatype, alone and of strings and compounds."""
    def arr(name, data, dt, **kw):
        d = f.create_dataset(name, shape=data.shape[:data.ndim - len(dt.shape)], dtype=dt, **kw)
        d[...] = data
        return d
    a = arr("int32_x3", np.arange(12, dtype="<i4").reshape(4, 3), np.dtype(("<i4", (3,))))
    arr("float64_2x3", (np.arange(12, dtype="<f8") / 4).reshape(2, 2, 3), np.dtype(("<f8", (2, 3))))
    arr("int16_be_x4", np.arange(-8, 8, dtype=">i2").reshape(4, 4), np.dtype((">i2", (4,))))
    arr("str_x2", np.array([[b"ab", b"c"], [b"", b"xyz"], [b"q", b"r"]], dtype="S3"), np.dtype(("S3", (2,))))
    cd = np.dtype([("p", "<i2"), ("q", "<f4")])
    arr("compound_x2", np.array([[(1, 0.5), (2, 1.5)], [(3, 2.5), (4, -1)]], dtype=cd), np.dtype((cd, (2,))))
    f.attrs.create("int32_x3", np.arange(6, dtype="<i4").reshape(2, 3), dtype=np.dtype(("<i4", (3,))))
    f.attrs.create("scalar_x3", np.array([1.5, 2.5, 3.5], dtype="<f8"), dtype=np.dtype(("<f8", (3,))))
    a.attrs.create("be_x2", np.array([[1, 2]], dtype=">i4"), dtype=np.dtype((">i4", (2,))))


def opaque(f, ctx):
    """Opaque types (numpy void, no tag)."""
    ds(f, "v4", np.array([b"\x01\x02\x03\x04", b"\xff\x00\xff\x00", b"\0\0\0\0"], dtype="V4"))
    # (An opaque type with a tag, h5t.create(OPAQUE, n).set_tag(...), is not here:
    # h5py 3.7 cannot read one back, "no appropriate function for conversion path".)
    ds(f, "v16", np.frombuffer(bytes(range(48)), dtype="V16"))
    f.attrs["v4"] = np.void(b"\xde\xad\xbe\xef")
    f.attrs["v2_array"] = np.array([b"\x01\x02", b"\x03\x04"], dtype="V2")


# (h5py 3.7 cannot read a 1-byte big-endian bitfield, STD_B8BE: "no appropriate
# function for conversion path", so there is none here.)
BITFIELDS = (("b8", h5t.STD_B8LE, "<u1"),
             ("b16_le", h5t.STD_B16LE, "<u2"), ("b16_be", h5t.STD_B16BE, ">u2"),
             ("b32_le", h5t.STD_B32LE, "<u4"), ("b32_be", h5t.STD_B32BE, ">u4"),
             ("b64_le", h5t.STD_B64LE, "<u8"), ("b64_be", h5t.STD_B64BE, ">u8"))


def bitfield(f, ctx):
    """Bitfields (h5t.STD_B*): no conversion to integers exists, so the values are
    written in the file's own type."""
    for name, t, npt in BITFIELDS:
        vals = np.array([0, 1, 0x81, 2 ** (8 * np.dtype(npt).itemsize) - 1, 0x55], dtype=npt)
        dataset(f, name, t, vals.shape, vals, mtype=t)
    attr(f, "b32_be", h5t.STD_B32BE, (2,), np.array([1, 0x80000001], ">u4"), mtype=h5t.STD_B32BE)


def references(f, ctx):
    """Object and region references, in datasets and attributes."""
    g = group(f, "g")
    data = ds(g, "data", np.arange(20, dtype="<i4").reshape(4, 5))
    nt = commit(f, "named", np.dtype("<i2"))
    refs = f.create_dataset("obj_refs", shape=(5,), dtype=h5py.ref_dtype)
    refs[0] = data.ref
    refs[1] = g.ref
    refs[2] = f.ref
    refs[3] = nt.ref
    # refs[4]: the null reference
    f.create_dataset("obj_ref_scalar", data=data.ref, dtype=h5py.ref_dtype)
    rr = f.create_dataset("region_refs", shape=(4,), dtype=h5py.regionref_dtype)
    rr[0] = data.regionref[1:3, 2:4]
    rr[1] = data.regionref[...]
    rr[2] = data.regionref[[0, 3], :]
    # rr[3]: the null region reference
    f.attrs["obj_ref"] = data.ref
    f.attrs.create("obj_refs", [data.ref, g.ref, f.ref], dtype=h5py.ref_dtype)
    f.attrs["region_ref"] = data.regionref[0:2, 0:2]
    f.attrs.create("region_refs", [data.regionref[3, :], data.regionref[:, 4]], dtype=h5py.regionref_dtype)
    data.attrs["self"] = data.ref


def named_types(f, ctx):
    """Committed datatypes used by datasets and attributes."""
    ti = commit(f, "t_int16_be", np.dtype(">i2"))
    tf = commit(f, "t_float32", np.dtype("<f4"))
    tc = commit(f, "t_compound", CMP_SIMPLE)
    te = commit(f, "t_enum", h5py.enum_dtype({"LOW": 1, "HIGH": 9}, basetype="u1"))
    ts = commit(f, "t_vlen_str", h5py.string_dtype())
    tg = group(f, "types")
    tn = commit(tg, "t_nested", CMP_NESTED)
    tc.attrs["doc"] = "a compound type with an attribute"
    ds(f, "int16_be", np.arange(5, dtype=">i2"), dtype=ti)
    ds(f, "float32", np.array([0.5, 1.5], dtype="<f4"), dtype=tf, chunks=(1,))
    ds(f, "compound", compound_values()[0], dtype=tc)
    ds(f, "enum", np.array([1, 9, 9], dtype="u1"), dtype=te)
    ds(f, "vlen_str", np.array(["a", "bc"], dtype=object), dtype=ts)
    ds(f, "nested", compound_values()[1], dtype=tn)
    ds(f, "int16_be_again", np.array([-1], dtype=">i2"), dtype=ti)
    f.attrs.create("int16_be", np.array([7, 8], dtype=">i2"), dtype=ti)
    f.attrs.create("float32", np.float32(0.25), dtype=tf)
    f.attrs.create("compound", compound_values()[0][1], dtype=tc)
    f.attrs.create("enum", 9, dtype=te)
    f.attrs.create("vlen_str", "named string", dtype=ts)
    f["float32"].attrs.create("named", np.float32(2.5), dtype=tf)


def dataspaces(f, ctx):
    """Scalar and null dataspaces (datasets and attributes), and zero-sized extents."""
    ds(f, "scalar_f8", np.float64(3.25))
    ds(f, "scalar_i2_be", np.array(-7, dtype=">i2"))
    ds(f, "scalar_str", np.bytes_(b"hello"))
    ds(f, "scalar_vlen", np.array("vlen scalar", dtype=h5py.string_dtype()))
    ds(f, "scalar_compound", compound_values()[0][0])
    ds(f, "null_f8", h5py.Empty("<f8"))
    ds(f, "null_i2", h5py.Empty(">i2"))
    ds(f, "null_str", h5py.Empty("S4"))
    ds(f, "zero_1d", np.zeros((0,), dtype="<i4"))
    f.create_dataset("zero_2d_chunked", shape=(0, 5), maxshape=(None, 5), dtype="<f4", chunks=(4, 5))
    f.create_dataset("zero_2d_contig", shape=(3, 0), dtype="u1")
    f.attrs["scalar_int"] = np.int32(5)
    f.attrs["scalar_str"] = np.bytes_(b"fixed")
    f.attrs["scalar_vlen"] = "vlen"
    f.attrs["null_f4"] = h5py.Empty("<f4")
    f.attrs["null_str"] = h5py.Empty("S3")
    f.attrs["null_i8"] = h5py.Empty("<i8")
    f.attrs["zero_1d"] = np.zeros((0,), dtype="<i4")
    f["scalar_f8"].attrs["null"] = h5py.Empty("<i2")
    f["null_f8"].attrs["scalar"] = np.float64(1.0)


def layouts(f, ctx):
    """Contiguous, compact and chunked layouts, written and never written."""
    ds(f, "contiguous", np.arange(100, dtype="<f8") * 0.5)
    f.create_dataset("contiguous_unwritten", shape=(50,), dtype="<i4")
    dataset(f, "compact", "<i4", (10,), np.arange(10, dtype="<i4") - 3, layout="compact")
    dataset(f, "compact_2d", "u1", (3, 4), np.arange(12, dtype="u1").reshape(3, 4), layout="compact")
    dataset(f, "compact_unwritten", "<i2", (6,), layout="compact")
    dataset(f, "compact_scalar", "<f4", (), np.float32(2.5), layout="compact")
    ds(f, "chunked", np.arange(20 * 15, dtype="<i4").reshape(20, 15), chunks=(10, 10))
    f.create_dataset("chunked_unwritten", shape=(30, 30), dtype="<f8", chunks=(10, 10))


def chunk_single(f, ctx):
    """Single chunk (chunk = extent, fixed maxshape): unfiltered and filtered."""
    ds(f, "single", np.arange(600, dtype="<i4").reshape(20, 30), chunks=(20, 30))
    ds(f, "single_gzip", np.arange(600, dtype="<i4").reshape(20, 30), chunks=(20, 30), compression="gzip",
       shuffle=True)
    f.create_dataset("single_unwritten", shape=(8, 8), dtype="<i2", chunks=(8, 8), fillvalue=-3)


def chunk_implicit(f, ctx):
    """Implicit index: allocation early, no filter, fixed maxshape."""
    d = dataset(f, "implicit", "<i4", (20, 20), chunks=(5, 5), alloc=h5d.ALLOC_TIME_EARLY)
    d[0:12, 0:12] = np.arange(144, dtype="<i4").reshape(12, 12)
    dataset(f, "implicit_unwritten", "<f4", (9, 7), chunks=(4, 4), alloc=h5d.ALLOC_TIME_EARLY,
            fill=np.float32(1.5))
    dataset(f, "implicit_full", "<u2", (12,), np.arange(12, dtype="<u2"), chunks=(5,),
            alloc=h5d.ALLOC_TIME_EARLY)


def chunk_fixed_array(f, ctx):
    """Fixed array index (fixed maxshape, more than one chunk)."""
    ds(f, "fixed", np.arange(300, dtype="<i4").reshape(30, 10), chunks=(7, 4))
    ds(f, "fixed_gzip", np.arange(300, dtype="<i4").reshape(30, 10), chunks=(7, 4), compression="gzip")
    p = f.create_dataset("fixed_partial", shape=(20, 20), dtype="<i2", chunks=(5, 5), fillvalue=-1)
    p[5:13, 3:7] = np.arange(8 * 4, dtype="<i2").reshape(8, 4)
    p = f.create_dataset("fixed_partial_gzip", shape=(50,), dtype="<f8", chunks=(8,), compression="gzip",
                         fillvalue=0.5)
    p[10:30] = np.arange(20) / 4


def chunk_fixed_array_paged(f, ctx):
    """Fixed array with more than 1024 chunks: its data block is paged (1024 entries a
    page), and a page where no chunk was written is never initialised."""
    d = f.create_dataset("paged", shape=(1100,), dtype="u1", chunks=(1,), fillvalue=7)
    d[1030:1100] = np.arange(70, dtype="u1") + 100      # page 1 only; page 0 stays unwritten


def chunk_extensible_array(f, ctx):
    """Extensible array index (one unlimited dimension)."""
    e = f.create_dataset("extensible", shape=(100,), maxshape=(None,), dtype="<i4", chunks=(8,))
    e[...] = np.arange(100)
    ds(f, "extensible_gzip", np.arange(100, dtype="<i4"), maxshape=(None,), chunks=(8,), compression="gzip")
    m = f.create_dataset("extensible_2d", shape=(20, 7), maxshape=(None, 7), dtype="<f4", chunks=(3, 4))
    m[...] = np.arange(140).reshape(20, 7) / 2
    # 140000 chunks, a few written: in the index block, in a data block it points
    # to, in a data block of a super block, and in a paged data block (2048
    # entries, from entry 131060 on: one of its two pages is never written).
    s = f.create_dataset("extensible_sparse_paged", shape=(140000,), maxshape=(None,), dtype="u1",
                         chunks=(1,), fillvalue=9)
    s[0:3] = [1, 2, 3]
    s[20:23] = [4, 5, 6]
    s[5000:5003] = [7, 8, 9]
    s[135000:135003] = [10, 11, 12]
    g = f.create_dataset("extensible_grown", shape=(10,), maxshape=(None,), dtype="<i2", chunks=(4,))
    g[...] = np.arange(10)
    g.resize((45,))
    g[30:45] = -np.arange(15)


def chunk_btree2(f, ctx):
    """Version 2 B-tree index (two unlimited dimensions)."""
    b = f.create_dataset("btree2", shape=(30, 31), maxshape=(None, None), dtype="<i2", chunks=(3, 3))
    b[...] = np.arange(30 * 31).reshape(30, 31)  # 110 chunks: more than one leaf
    ds(f, "btree2_gzip", np.arange(400, dtype="<i4").reshape(20, 20), maxshape=(None, None), chunks=(6, 6),
       compression="gzip")
    ds(f, "btree2_3d", np.arange(3 * 6 * 7, dtype="<f4").reshape(3, 6, 7), maxshape=(None, 6, None),
       chunks=(3, 3, 4))


def edge_chunks(f, ctx):
    """Extents that are not multiples of the chunk shape."""
    ds(f, "cube", np.arange(7 * 6 * 5, dtype="<i2").reshape(7, 6, 5), chunks=(3, 4, 2))
    ds(f, "cube_gzip", np.arange(9 * 7 * 5, dtype="<u4").reshape(9, 7, 5), chunks=(4, 4, 4),
       compression="gzip")
    u = f.create_dataset("unlimited", shape=(17, 8), maxshape=(None, 8), dtype="<f8", chunks=(5, 3))
    u[...] = np.arange(17 * 8).reshape(17, 8) * 1.25
    # H5D_CHUNK_DONT_FILTER_PARTIAL_BOUND_CHUNKS (2): partial edge chunks are stored
    # unfiltered.  It needs a version 4 layout message, which libhdf5 then writes in
    # the default format too: a fixed array / extensible array index in a file of
    # superblock 0 and version 1 object headers.
    dataset(f, "edge_unfiltered", "<i4", (23, 10), np.arange(230, dtype="<i4").reshape(23, 10),
            chunks=(5, 4), filters=[("deflate", 6)], chunk_opts=2)
    e = dataset(f, "edge_unfiltered_ea", "<i4", (23,), np.arange(23, dtype="<i4"), maxshape=(None,),
                chunks=(5,), filters=["shuffle", ("deflate", 6)], chunk_opts=2)
    e.attrs["note"] = "extensible array, last chunk unfiltered"


def short_chunks(f, ctx):
    """Chunks written directly (H5Dwrite_chunk) that hold less than a chunk: only
    the part of an edge chunk up to its last element inside the extent, as Oxford
    Nanopore's fast5 writer stores them.  libhdf5 reads them without a check."""
    import zlib

    def short(name, dtype, shape, chunks, fill=None, maxshape=None):
        values = np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape) * 3 + 1
        d = f.create_dataset(name, shape=shape, maxshape=maxshape, dtype=dtype, chunks=chunks,
                             compression="gzip", fillvalue=fill)
        grid = [-(-n // c) for n, c in zip(shape, chunks)]
        for scaled in np.ndindex(*grid):
            start = [s * c for s, c in zip(scaled, chunks)]
            inside = [min(c, n - a) for c, n, a in zip(chunks, shape, start)]
            block = np.zeros(chunks, dtype=dtype)
            block[tuple(slice(0, k) for k in inside)] = values[tuple(slice(a, a + k) for a, k in zip(start, inside))]
            # up to the last element inside the extent, in the chunk's row-major order
            last = np.ravel_multi_index([k - 1 for k in inside], chunks)
            kept = block.reshape(-1)[:last + 1].tobytes()
            d.id.write_direct_chunk(tuple(start), zlib.compress(kept, 6))
        return d

    short("edge_1d", "<f4", (25,), (10,))
    short("edge_rows", "<i2", (7, 6), (4, 6), fill=-5)
    short("edge_corner", "<u4", (7, 5), (4, 6), maxshape=(None, None))
    short("edge_growable", "<i8", (23,), (10,), maxshape=(None,))


def fill_values(f, ctx):
    """User-defined fill values (int, float, string, compound), never written and
    partly written, with allocation early, late and incremental."""
    f.create_dataset("int_never", shape=(20,), dtype="<i4", chunks=(6,), fillvalue=-7)
    p = f.create_dataset("int_partial", shape=(25, 20), dtype="<i4", chunks=(5, 5), fillvalue=-1)
    p[3:12, 2:8] = np.arange(9 * 6, dtype="<i4").reshape(9, 6)
    f.create_dataset("float_never_contig", shape=(30,), dtype="<f8", fillvalue=2.5)
    q = f.create_dataset("float_partial_chunked", shape=(30,), dtype="<f2", chunks=(7,), fillvalue=np.nan)
    q[0:4] = [1, 2, 3, 4]
    st = f.create_dataset("string_fixed", shape=(6,), dtype="S6", chunks=(2,), fillvalue=np.bytes_(b"none"))
    st[1] = b"one"
    st[4] = b"four"
    cfill = np.array((-1.0, 9, b"fill"), dtype=CMP_SIMPLE)
    c = f.create_dataset("compound", shape=(8,), dtype=CMP_SIMPLE, chunks=(3,), fillvalue=cfill)
    c[2] = (1.5, 2, b"set")
    for at, name in ((h5d.ALLOC_TIME_EARLY, "early"), (h5d.ALLOC_TIME_LATE, "late"),
                     (h5d.ALLOC_TIME_INCR, "incr")):
        if at == h5d.ALLOC_TIME_EARLY:
            dataset(f, "chunked_%s_never" % name, "<i2", (12, 5), chunks=(4, 5), alloc=at, fill=np.int16(42))
            dataset(f, "contig_%s_never" % name, "<u4", (10,), alloc=at, fill=np.uint32(0xDEADBEEF))
        else:
            d = dataset(f, "contig_%s_partial" % name, ">u4", (10,), alloc=at, fill=np.uint32(0xDEADBEEF))
            d[4:6] = [1, 2]
        if at == h5d.ALLOC_TIME_INCR:
            d = dataset(f, "chunked_%s_partial" % name, "<i2", (12, 5), chunks=(4, 5), alloc=at,
                        fill=np.int16(42))
            d[5, 1:3] = [1, 2]


def filter_gzip(f, ctx):
    """Deflate levels 1 and 9, with and without shuffle."""
    rs = ctx.rs
    v = smooth(rs, (30, 20), "<f4")
    ds(f, "gzip1", v, chunks=(16, 8), compression="gzip", compression_opts=1)
    ds(f, "shuffle_gzip9", v, chunks=(16, 8), compression="gzip", compression_opts=9, shuffle=True)
    # incompressible: libhdf5 stores the deflate output anyway
    ds(f, "gzip_random", rs.randint(0, 256, 300).astype("u1"), chunks=(128,), compression="gzip",
       compression_opts=1)


def filter_shuffle(f, ctx):
    """Shuffle alone, on every element size."""
    rs = ctx.rs
    for dt in ("<i2", ">i4", "<f8"):
        ds(f, "shuffle_" + dt.replace("<", "le_").replace(">", "be_"), smooth(rs, (50,), dt), chunks=(30,),
           shuffle=True)
    ds(f, "shuffle_compound", np.tile(compound_values()[0], 5), chunks=(4,), shuffle=True)


def filter_fletcher32(f, ctx):
    """Fletcher32 alone and after shuffle+deflate."""
    rs = ctx.rs
    ds(f, "fletcher32", np.arange(300, dtype="<i2"), chunks=(128,), fletcher32=True)
    ds(f, "fletcher32_odd", np.arange(35, dtype="u1"), chunks=(7,), fletcher32=True)  # odd byte counts
    ds(f, "shuffle_gzip_fletcher32", smooth(rs, (200,), "<f8"), chunks=(64,), shuffle=True, compression="gzip",
       fletcher32=True)


def filter_lzf(f, ctx):
    """LZF (32000, h5py's own filter)."""
    rs = ctx.rs
    ds(f, "lzf_i2", smooth(rs, (30, 37), "<i2"), chunks=(16, 16), compression="lzf")
    ds(f, "lzf_f8_shuffle", smooth(rs, (200,), "<f8"), chunks=(64,), compression="lzf", shuffle=True)
    ds(f, "lzf_random", rs.randint(0, 256, 300).astype("u1"), chunks=(200,), compression="lzf")


def filter_scaleoffset(f, ctx):
    """Scale-offset on integers (bits auto and fixed) and floats (decimal scale)."""
    rs = ctx.rs
    ds(f, "so_int_auto", smooth(rs, (30, 20), "<i4", 500), chunks=(16, 20), scaleoffset=0)
    ds(f, "so_int_fill", smooth(rs, (100,), "i1", 50), chunks=(30,), scaleoffset=0, fillvalue=-5)
    ds(f, "so_float", smooth(rs, (30, 20), "<f4", 30), chunks=(16, 16), scaleoffset=2)
    ds(f, "so_double_be", smooth(rs, (200,), ">f8", 1000), chunks=(128,), scaleoffset=3)


def _precise(base, precision, offset=0):
    t = base.copy()
    t.set_precision(precision)
    if offset:
        t.set_offset(offset)
    return t


def filter_nbit(f, ctx):
    """N-bit (5; h5py has no set_nbit, the filter is set by id and libhdf5 fills in
    its parameters): integers with precision and offset, a float, a compound."""
    rs = ctx.rs
    nb = (h5z.FILTER_NBIT, h5z.FLAG_OPTIONAL, ())
    dataset(f, "nbit_i4_p12", _precise(h5t.STD_I32LE, 12), (30, 20), rs.randint(-2048, 2048, (30, 20)).astype("<i4"),
            chunks=(16, 16), filters=[nb])
    dataset(f, "nbit_u2_be_p10_o3", _precise(h5t.STD_U16BE, 10, 3), (20, 20),
            rs.randint(0, 1024, (20, 20)).astype("<u2"), chunks=(16, 16), filters=[nb])
    ft = h5t.IEEE_F32LE.copy()  # as libhdf5's own test_nbit_float
    ft.set_fields(26, 20, 6, 7, 13)
    ft.set_offset(7)
    ft.set_precision(20)
    ft.set_size(4)
    ft.set_ebias(31)
    dataset(f, "nbit_f4_p20_o7", ft, (150,), smooth(rs, (150,), "<f4", 3), chunks=(64,), filters=[nb])
    ct = h5t.create(h5t.COMPOUND, 8)
    ct.insert(b"a", 0, _precise(h5t.STD_I32LE, 14))
    ct.insert(b"c", 4, _precise(h5t.STD_U8LE, 5, 1))
    ct.insert(b"d", 5, h5t.STD_U8LE)
    mt = np.dtype([("a", "<i4"), ("c", "u1"), ("d", "u1")])
    cd = np.zeros(50, mt)
    cd["a"] = rs.randint(-8192, 8192, 50)
    cd["c"] = rs.randint(0, 32, 50)
    cd["d"] = np.arange(50)
    dataset(f, "nbit_compound", ct, (50,), cd, chunks=(20,), filters=[nb])


def filter_lz4(f, ctx):
    """LZ4 (32004, HDF Group plugin), default and small block sizes."""
    rs = ctx.rs
    ds(f, "lz4_i4", smooth(rs, (30, 30), "<i4"), chunks=(16, 16), compression=LZ4)
    ds(f, "lz4_f8_blocks", smooth(rs, (300,), "<f8"), chunks=(200,), compression=LZ4, compression_opts=(256,))
    ds(f, "lz4_shuffle_f4", smooth(rs, (300,), "<f4"), chunks=(300,), compression=LZ4, compression_opts=(100,),
       shuffle=True)


def filter_bzip2(f, ctx):
    """bzip2 (307, HDF Group plugin)."""
    rs = ctx.rs
    ds(f, "bz2_i4", smooth(rs, (40, 30), "<i4"), chunks=(32, 16), compression=BZIP2, compression_opts=(9,))
    ds(f, "bz2_f8_be", smooth(rs, (300,), ">f8"), chunks=(128,), compression=BZIP2, compression_opts=(1,))


def filter_bitshuffle(f, ctx):
    """Bitshuffle (32008), alone and with its LZ4 compression (cd: block size, 2 = lz4)."""
    rs = ctx.rs
    ds(f, "bs_i4", smooth(rs, (300,), "<i4"), chunks=(200,), compression=BSHUF, compression_opts=(0, 0))
    ds(f, "bs_f8_lz4", smooth(rs, (600,), "<f8"), chunks=(550,), compression=BSHUF, compression_opts=(0, 2))
    ds(f, "bs_f4_be_lz4", smooth(rs, (20, 33), ">f4"), chunks=(16, 16), compression=BSHUF,
       compression_opts=(0, 2))


def filter_blosc(f, ctx):
    """Blosc (32001, hdf5-blosc); cd: 4 set by the filter, clevel, shuffle, compressor."""
    rs = ctx.rs
    for name, dt, shape, chunks, opts in (("blosc_lz_i4", "<i4", (30, 20), (16, 16), (5, 1, 0)),
                                          ("blosc_lz4_bit_i2", ">i2", (300,), (200,), (9, 2, 1)),
                                          ("blosc_zlib_f8", "<f8", (200,), (150,), (3, 1, 4))):
        ds(f, name, smooth(rs, shape, dt), chunks=chunks, compression=BLOSC, compression_opts=(0, 0, 0, 0) + opts)


def _attr_set(obj, n, prefix="a"):
    for i in range(n):
        kind = i % 5
        name = "%s%02d" % (prefix, i)
        if kind == 0:
            obj.attrs[name] = np.int64(i)
        elif kind == 1:
            obj.attrs[name] = i + 0.5
        elif kind == 2:
            obj.attrs[name] = "value %d" % i
        elif kind == 3:
            obj.attrs[name] = np.arange(i % 7 + 1, dtype="<i2")
        else:
            obj.attrs[name] = np.bytes_(("fixed%d" % i).encode())


def attrs_compact(f, ctx):
    """Few attributes (compact storage in every format), also in creation order."""
    _attr_set(f, 4, "root")
    g = group(f, "group")
    _attr_set(g, 6)
    d = ds(f, "dataset", np.arange(4, dtype="<i4"))
    _attr_set(d, 8)
    o = group(f, "ordered", track_order=True)
    for name in ("zulu", "alpha", "mike", "bravo"):
        o.attrs[name] = len(name)


def attrs_dense(f, ctx):
    """More than 8 attributes: dense storage (fractal heap + v2 B-tree) with libver
    latest, also with creation order indexed, and with holes left by deletions."""
    _attr_set(f, 9, "root")
    g = group(f, "group")
    _attr_set(g, 10)
    d = ds(f, "dataset", np.arange(4, dtype="<i4"))
    _attr_set(d, 12)
    for i in (3, 7):
        del d.attrs["a%02d" % i]
    o = group(f, "ordered", track_order=True)
    for i in range(10):
        o.attrs["attr_%02d" % (9 - i)] = i
    od = f.create_dataset("ordered_dataset", data=np.zeros(2, dtype="u1"), track_order=True)
    for i in range(9):
        od.attrs["z%02d" % (8 - i)] = "text %d" % i
    # a big value in dense storage: a "huge" object outside the heap's blocks
    g.attrs["big_array"] = np.arange(1030, dtype="<i4")


def groups_dense(f, ctx):
    """More than 8 links: dense link storage with libver latest (symbol table B-tree
    with several nodes in the default format); also in creation order."""
    g = group(f, "many")
    for i in range(30):
        if i % 5 == 0:
            ds(g, "d%02d" % i, np.array([i], dtype="<i2"))
        else:
            g["s%02d" % i] = h5py.SoftLink("/many/d%02d" % (i // 5 * 5))
    del g["s01"]
    del g["d25"]
    o = group(f, "ordered", track_order=True)
    for i in range(12):
        name = "n%02d" % (11 - i)
        if i % 5 == 0:
            ds(o, name, np.array([i], dtype="u1"))
        else:
            o[name] = h5py.SoftLink("/ordered/n11")
    del o["n05"]


def groups_order(f, ctx):
    """Link creation order tracked and indexed (h5py track_order), in compact and
    dense storage, and tracked but not indexed."""
    o = group(f, "compact_ordered", track_order=True)
    for name in ("zulu", "alpha", "mike", "bravo"):
        ds(o, name, np.array([len(name)], dtype="<i4"))
    d = group(f, "dense_ordered", track_order=True)
    for name in ("z", "y", "x", "w", "v", "u", "t", "s", "r", "q", "b", "a"):
        if name in "zqa":
            group(d, name)
        else:
            d[name] = h5py.SoftLink("/dense_ordered/a")
    t = group(f, "tracked_only", tracked_only=True)
    for name in ("c", "b", "a"):
        ds(t, name, np.array([ord(name)], dtype="u1"))
    n = group(f, "nested_ordered", track_order=True)
    group(n, "second", track_order=True)
    group(n, "first", track_order=True)


def links(f, ctx):
    """Hard, soft (absolute, relative, dangling), external (to a sibling file and to a
    missing one) links and a cycle."""
    data = group(f, "data")
    x = ds(data, "x", np.arange(5, dtype="<f8") * 1.5)
    a = group(f, "a")
    b = group(a, "b")
    ds(b, "leaf", np.array([1, 2, 3], dtype="<i4"))
    f["hard"] = x                              # a second name of /data/x
    f["alias"] = b                             # a second name of group /a/b
    b["up"] = a                                # /a/b/up is /a: a cycle
    f["soft"] = h5py.SoftLink("/data/x")
    f["soft_group"] = h5py.SoftLink("/a/b")
    a["relative"] = h5py.SoftLink("b/leaf")
    a["dotdot"] = h5py.SoftLink("../data/x")   # stored as is; libhdf5 cannot resolve ".."
    f["dangling"] = h5py.SoftLink("/no/such/object")
    b["self"] = h5py.SoftLink("/a/b")
    target = "links_target%s.h5" % ("_latest" if ctx.style == "latest" else "")
    f["external"] = h5py.ExternalLink(target, "/t")
    f["external_group"] = h5py.ExternalLink(target, "/")
    f["external_missing"] = h5py.ExternalLink("no_such_file.h5", "/x")


def links_target(f, ctx):
    """The file links.h5 points into (an external link's target)."""
    ds(f, "t", np.arange(4, dtype="<i2"))
    f.attrs["role"] = "external link target"


NAMES = ["with space", " leading space", "trailing space ", "-dash", "--double-dash", "ünïcödé",
         "emoji 🙂", "back\\slash"]


def names(f, ctx):
    """Names exactly as stored: spaces, unicode, leading dashes, punctuation."""
    g = group(f, "température à 15 °C")
    for i, n in enumerate(NAMES):
        if i % 2:
            g[n] = h5py.SoftLink("/日本語")
        else:
            ds(g, n, np.array([i], dtype="u1"))
        g.attrs[n] = i
    ds(f, "日本語", np.array([1, 2], dtype="<i2"))
    h = group(f, "-group with dash")
    group(h, " ")
    h["lien ✓"] = h5py.SoftLink("/température à 15 °C/ünïcödé")
    f.attrs["unité"] = "°C"


def attr_types(f, ctx):
    """Attributes of every type, on the root group, a group and a dataset."""
    d = ds(f, "dataset", np.arange(3, dtype="<i4"))
    nt = commit(f, "named", np.dtype(">u2"))
    simple, nested, padded, arrays, be = compound_values()
    d.attrs["int32"] = np.int32(-5)
    d.attrs["vlen_utf8"] = "on a dataset"
    d.attrs["compound"] = simple[0]
    for obj in (f,):
        for bits in (8, 16, 32, 64):
            for kind in "iu":
                for order in "<>":
                    dt = np.dtype(order + kind + str(bits // 8))
                    name = "%s%d_%s" % ("int" if kind == "i" else "uint", bits, "le" if order == "<" else "be")
                    v = np.iinfo(dt).min if kind == "i" else np.iinfo(dt).max
                    if bits == 8:
                        t = {("i", "<"): h5t.STD_I8LE, ("i", ">"): h5t.STD_I8BE,
                             ("u", "<"): h5t.STD_U8LE, ("u", ">"): h5t.STD_U8BE}[kind, order]
                        attr(obj, name, t, (), np.array(v, dt))
                    else:
                        obj.attrs[name] = np.array(v, dt)
        for bits in (16, 32, 64):
            for order in "<>":
                dt = np.dtype("%sf%d" % (order, bits // 8))
                obj.attrs["float%d_%s" % (bits, "le" if order == "<" else "be")] = np.array(0.1, dt)
                obj.attrs["float%d_%s_array" % (bits, "le" if order == "<" else "be")] = \
                    np.array([1.0, -2.5, 1e4], dt)
        for pad in ("nullterm", "nullpad", "spacepad"):
            for cset in ("ascii", "utf8"):
                t = str_type(8, pad, cset)
                v = STR_VALUES[cset][3]
                attr(obj, "str_%s_%s" % (pad, cset), t, (), str_bytes([v], 8, pad)[0], mtype=t)
        obj.attrs["vlen_utf8"] = "vlen ✓"
        obj.attrs.create("vlen_ascii", b"vlen", dtype=h5py.string_dtype("ascii"))
        obj.attrs["vlen_str_array"] = ["a", "bé", ""]
        seq = np.empty(2, dtype=object)
        seq[0], seq[1] = np.array([1, 2], "<i4"), np.array([], "<i4")
        obj.attrs.create("vlen_seq", seq, dtype=h5py.vlen_dtype(np.dtype("<i4")))
        obj.attrs.create("enum", 2, dtype=h5py.enum_dtype({"A": 1, "B": 2}, basetype="i1"))
        obj.attrs["bool"] = np.bool_(True)
        obj.attrs["compound"] = simple[0]
        obj.attrs["compound_nested"] = nested[0]
        obj.attrs["compound_padded"] = padded[0]
        obj.attrs["compound_arrays"] = arrays[1]
        obj.attrs["compound_array"] = simple
        obj.attrs.create("array_type", np.arange(6, dtype="<i4").reshape(2, 3), dtype=np.dtype(("<i4", (3,))))
        obj.attrs["opaque"] = np.void(b"\x00\x01\x02")
        attr(obj, "bitfield", h5t.STD_B16BE, (2,), np.array([1, 0x8001], ">u2"), mtype=h5t.STD_B16BE)
        obj.attrs["obj_ref"] = d.ref
        obj.attrs["region_ref"] = d.regionref[0:2]
        obj.attrs.create("named_type", 7, dtype=nt)
        obj.attrs["null"] = h5py.Empty("<f8")
        obj.attrs["int_2d"] = np.arange(6, dtype="<i8").reshape(2, 3)
        obj.attrs["complex"] = np.complex128(1 - 1j)


def attr_large(f, ctx):
    """Attributes whose text is larger than an xattr value may be (64 KiB: E2BIG),
    and one whose text is exactly 64 KiB.  (Values of few bytes with long texts keep
    the files small; a single string > 64 KiB would cost twice its size again in the
    JSON dump, which does not shorten scalar strings.)"""
    d = ds(f, "dataset", np.int32(0))
    # u1 values of 3 digits: 5 bytes of text each ("123, "), and "[]"
    big = (np.arange(13108) % 100 + 100).astype("u1")    # text 65540 bytes
    d.attrs["big_int_array"] = big
    exact = big.copy()
    exact[:2] = 9                                         # two digits less each: 65536 bytes
    d.attrs["exact_limit"] = exact
    d.attrs["small"] = 1


def efl(f, ctx):
    """External raw data storage (EFL): the bytes live in raw files beside the HDF5
    file, named relative to it."""
    a, b = ctx.stem + ".bin", ctx.stem + "_b.bin"
    d = f.create_dataset("external", shape=(10,), dtype="<i4", external=[(a, 0, 40)])
    d[...] = np.arange(10) * 3
    # two files, the first with an offset; the segments sum to more than needed
    d = f.create_dataset("split", shape=(6, 5), dtype=">f8", external=[(a, 64, 80), (b, 16, 200)])
    d[...] = np.arange(30).reshape(6, 5) / 4
    d = f.create_dataset("partial", shape=(20,), dtype="<i2", external=[(b, 400, 40)], fillvalue=-1)
    d[5:9] = [1, 2, 3, 4]


def vds_src(f, ctx):
    """The source file of vds.h5's virtual datasets."""
    ds(f, "b", np.arange(100, 120, dtype="<i4"))
    ds(f, "m", np.arange(12, dtype="<f4").reshape(2, 6) / 2, chunks=(1, 3), compression="gzip")


def vds(f, ctx):
    """Virtual datasets mapping to the same file and to a sibling file (with a
    strided selection), unmapped regions and a missing source taking the fill value."""
    src = "vds_src%s.h5" % ("_latest" if ctx.style == "latest" else "")
    local = ds(f, "local", np.arange(10, dtype="<i4"))
    ds(f, "local2", np.array([[7.5, 8.5, 9.5]], dtype="<f4"))
    lay = h5py.VirtualLayout(shape=(40,), dtype="<i4")
    lay.dcpl.set_obj_track_times(False)
    lay[0:10] = h5py.VirtualSource(".", "/local", shape=(10,))
    lay[20:30] = h5py.VirtualSource(src, "/b", shape=(20,))[0:10]
    lay[30:40] = h5py.VirtualSource(src, "/b", shape=(20,))[0:20:2]
    f.create_virtual_dataset("vds_1d", lay, fillvalue=-1)
    lay = h5py.VirtualLayout(shape=(4, 6), dtype="<f4")
    lay.dcpl.set_obj_track_times(False)
    lay[0:2, :] = h5py.VirtualSource(src, "/m", shape=(2, 6))
    lay[3, 0:3] = h5py.VirtualSource(".", "/local2", shape=(1, 3))[0, :]
    f.create_virtual_dataset("vds_2d", lay, fillvalue=0.25)
    lay = h5py.VirtualLayout(shape=(6,), dtype="<i4")
    lay.dcpl.set_obj_track_times(False)
    lay[0:3] = h5py.VirtualSource("no_such_source.h5", "/x", shape=(3,))
    lay[3:6] = h5py.VirtualSource(".", "/local", shape=(10,))[7:10]
    f.create_virtual_dataset("vds_missing_source", lay, fillvalue=-2)
    local.attrs["note"] = "mapped into /vds_1d"


def vds_convert(f, ctx):
    """Virtual datasets of another numeric type than their sources, which
    libhdf5 converts as it reads: integers widened, narrowed (clipping) and
    made floats, floats truncated into integers (clipping) and narrowed,
    big-endian sources."""
    ds(f, "i4", np.array([1, -2, 300, 4000, -70000, 2**31 - 1], dtype="<i4"))
    ds(f, "f8", np.array([1.5, -2.7, 255.9, 1e10, -1e10, 3.4e39], dtype="<f8"))
    ds(f, "i2_be", np.array([-5, 0, 7, -32768, 32767, 12], dtype=">i2"))
    ds(f, "u8", np.array([0, 1, 2**40, 2**64 - 1, 7, 9], dtype="<u8"))
    for name, dtype, source in [("f8_from_i4", "<f8", "i4"), ("i1_from_i4", "<i1", "i4"), ("u2_from_i4", "<u2", "i4"),
                                ("i4_from_f8", "<i4", "f8"), ("u1_from_f8", "|u1", "f8"), ("f4_from_f8", "<f4", "f8"),
                                ("i8_from_i2_be", "<i8", "i2_be"), ("f4_be_from_i2_be", ">f4", "i2_be"),
                                ("i4_from_u8", "<i4", "u8"), ("f8_from_u8", "<f8", "u8")]:
        lay = h5py.VirtualLayout(shape=(6,), dtype=dtype)
        lay.dcpl.set_obj_track_times(False)
        lay[:] = h5py.VirtualSource(".", "/" + source, shape=(6,))
        f.create_virtual_dataset(name, lay, fillvalue=0)


def userblock(f, ctx):
    """A 512-byte user block before the superblock (filled with text afterwards)."""
    ds(f, "x", np.arange(10, dtype="<i2"))
    group(f, "g").attrs["a"] = 1


def userblock_prepended(f, ctx):
    """A file given a 1 KiB user block by h5jam after libhdf5 wrote it: its
    superblock's base address still says 0, so libhdf5 counts the stored end
    of file from the superblock (NeXus files from PSI's SLS carry 32 KiB of
    XMP the same way)."""
    ds(f, "x", np.arange(10, dtype="<i2"))
    ds(f, "grow", smooth(ctx.rs, (30, 4), "<f8"), chunks=(8, 4), maxshape=(None, 4), compression="gzip")
    group(f, "g").attrs["a"] = 1


def prepend_userblock(path, size):
    """Put a user block of size bytes in front of the file with h5jam, which
    leaves the HDF5 bytes as they are."""
    text = b"h5mount conformance: a user block h5jam put in front of the file.\n"
    with tempfile.TemporaryDirectory() as tmp:
        ub, out = os.path.join(tmp, "ub"), os.path.join(tmp, "out.h5")
        with open(ub, "wb") as fh:
            fh.write(text + b"\0" * (size - len(text)))
        subprocess.run(["h5jam", "-i", path, "-u", ub, "-o", out], check=True)
        with open(out, "rb") as fh:
            jammed = fh.read()
    with open(path, "rb") as fh:
        assert jammed[size:] == fh.read(), "h5jam changed the HDF5 bytes"
    with open(path, "wb") as fh:
        fh.write(jammed)


def offsets4(f, ctx):
    """Size of offsets and lengths 4 (H5Pset_sizes(4, 4))."""
    g = group(f, "g")
    ds(g, "contig", np.arange(50, dtype="<i4"))
    ds(g, "chunked", np.arange(200, dtype="<f8").reshape(20, 10), chunks=(6, 4), compression="gzip")
    # (No dataset with an unlimited dimension: with 4-byte lengths libhdf5 1.10.8
    # writes H5S_UNLIMITED as 0xffffffff and reads it back as 4294967295, so with
    # libver latest it cannot even open the dataset: "didn't find unlimited dimension".)
    dataset(g, "compact", "<i4", (4,), np.arange(4, dtype="<i4"), layout="compact")
    ds(g, "vlen", np.array(["four", "byte", "offsets"], dtype=h5py.string_dtype()))
    _attr_set(g, 10)


def page(f, ctx):
    """Paged aggregation (fs_strategy "page", 512-byte pages, free space persisted),
    with free space left by a deleted dataset."""
    ds(f, "a", np.arange(300, dtype="<i4"))
    ds(f, "b", np.arange(100, dtype="<f8"), chunks=(30,), compression="gzip")
    ds(f, "gone", np.arange(500, dtype="<i4"))
    _attr_set(f, 3)
    group(f, "g")
    del f["gone"]
    ds(f, "c", np.arange(50, dtype="<i2"))


def _basic(f):
    g = group(f, "g")
    ds(g, "contig", np.arange(20, dtype="<i4"))
    e = g.create_dataset("chunked", shape=(20,), maxshape=(None,), dtype="<f4", chunks=(6,),
                         compression="gzip")
    e[...] = np.arange(20) / 2
    g.attrs["a"] = "text"
    f.attrs["n"] = 1


def superblock_v1(f, ctx):
    """Superblock version 1 (a non-default H5Pset_istore_k: 64)."""
    _basic(f)


def superblock_v2(f, ctx):
    """Superblock version 2 (libver v108 for the low bound too)."""
    _basic(f)


def shared_messages(f, ctx):
    """Shared object header messages (SOHM, H5Pset_shared_mesg_*): two indexes, list
    up to 8 messages.  Index 0 (dataspaces, datatypes) gets 9 messages and so becomes
    a v2 B-tree; index 1 (fill values, pipelines, attributes) stays a list of 3."""
    cmp_t = CMP_SIMPLE
    for i in range(2):
        d = ds(f, "d%d" % i, np.arange(20, dtype="<f8") + i, chunks=(8,), compression="gzip", shuffle=True,
               fillvalue=-1.0)
        d.attrs["units"] = np.bytes_(b"metres per second")
        d.attrs["scale"] = np.arange(10, dtype="<i4")
        c = ds(f, "c%d" % i, compound_values()[0], dtype=cmp_t)
        c.attrs["same"] = "same text on every dataset"
    group(f, "g").attrs["units"] = np.bytes_(b"metres per second")


# name: (function, {style: file options}); the options are those of new_file().
FEATURES = [
    ("int_types", int_types, {}),
    ("float_types", float_types, {}),
    ("strings_fixed", strings_fixed, {}),
    ("strings_vlen", strings_vlen, {}),
    ("vlen_sequences", vlen_sequences, {}),
    ("enums", enums, {}),
    ("compound", compound, {}),
    ("array_type", array_type, {}),
    ("opaque", opaque, {}),
    ("bitfield", bitfield, {}),
    ("references", references, {}),
    ("named_types", named_types, {}),
    ("dataspaces", dataspaces, {}),
    ("layouts", layouts, {}),
    ("chunk_single", chunk_single, {}),
    ("chunk_implicit", chunk_implicit, {}),
    ("chunk_fixed_array", chunk_fixed_array, {}),
    ("chunk_fixed_array_paged", chunk_fixed_array_paged, {}),
    ("chunk_extensible_array", chunk_extensible_array, {}),
    ("chunk_btree2", chunk_btree2, {}),
    ("edge_chunks", edge_chunks, {}),
    ("fill_values", fill_values, {}),
    ("short_chunks", short_chunks, {}),
    ("filter_gzip", filter_gzip, {}),
    ("filter_shuffle", filter_shuffle, {}),
    ("filter_fletcher32", filter_fletcher32, {}),
    ("filter_lzf", filter_lzf, {"plugin": LZF}),
    ("filter_scaleoffset", filter_scaleoffset, {}),
    ("filter_nbit", filter_nbit, {}),
    ("filter_lz4", filter_lz4, {"plugin": LZ4}),
    ("filter_bzip2", filter_bzip2, {"plugin": BZIP2}),
    ("filter_bitshuffle", filter_bitshuffle, {"plugin": BSHUF}),
    ("filter_blosc", filter_blosc, {"plugin": BLOSC}),
    ("attrs_compact", attrs_compact, {}),
    ("attrs_dense", attrs_dense, {}),
    ("groups_dense", groups_dense, {}),
    ("groups_order", groups_order, {"root_track_order": True}),
    ("links_target", links_target, {}),
    ("links", links, {}),
    ("names", names, {}),
    ("attr_types", attr_types, {}),
    ("attr_large", attr_large, {}),
    ("efl", efl, {}),
    ("vds_src", vds_src, {}),
    ("vds", vds, {}),
    ("vds_convert", vds_convert, {}),
    ("userblock", userblock, {"userblock": 512}),
    ("userblock_prepended", userblock_prepended, {"prepend": 1024}),
    ("offsets4", offsets4, {"sizes": (4, 4)}),
    ("page", page, {"page": 512}),
    ("superblock_v1", superblock_v1, {"istore_k": 64}),
    ("superblock_v2", superblock_v2, {"default_libver": (h5f.LIBVER_V18, h5f.LIBVER_V18)}),
    ("shared_messages", shared_messages, {"sohm": (8, 6)}),
]

# The filter probes (what compression_opts to try, and a dtype).
PLUGIN_PROBE = {LZF: None, LZ4: (), BZIP2: (9,), BSHUF: (0, 2), BLOSC: (0, 0, 0, 0, 5, 1, 0)}


def plugin_loads(fid):
    """Can libhdf5 write and read back a dataset through filter fid?"""
    try:
        with h5py.File("probe.h5", "w", driver="core", backing_store=False) as f:
            kw = {} if PLUGIN_PROBE[fid] is None else {"compression_opts": PLUGIN_PROBE[fid]}
            d = f.create_dataset("p", data=np.arange(100, dtype="<i4"), chunks=(50,),
                                 compression="lzf" if fid == LZF else fid, **kw)
            return bool((d[...] == np.arange(100)).all())
    except Exception as e:  # noqa: BLE001
        print("  (filter %d: %s)" % (fid, e))
        return False


# ------------------------------------------------------------------ files

def new_file(path, style, userblock=0, sizes=None, istore_k=None, page=None, sohm=None,
             default_libver=None, root_track_order=False, plugin=None):
    fcpl = h5p.create(h5p.FILE_CREATE)
    fcpl.set_obj_track_times(False)
    if root_track_order:
        flags = h5p.CRT_ORDER_TRACKED | h5p.CRT_ORDER_INDEXED
        fcpl.set_link_creation_order(flags)
        fcpl.set_attr_creation_order(flags)
    if userblock:
        fcpl.set_userblock(userblock)
    if sizes:
        fcpl.set_sizes(*sizes)
    if istore_k:
        check(LIB.H5Pset_istore_k(fcpl.id, istore_k), "H5Pset_istore_k")
    if page:
        fcpl.set_file_space_strategy(h5f.FSPACE_STRATEGY_PAGE, True, 1)
        fcpl.set_file_space_page_size(page)
    if sohm:
        max_list, min_btree = sohm
        check(LIB.H5Pset_shared_mesg_nindexes(fcpl.id, 2), "H5Pset_shared_mesg_nindexes")
        # index 0: datatypes and dataspaces; index 1: fill values, pipelines, attributes
        # (H5O_SHMESG_SDSPACE_FLAG 2, DTYPE 8, FILL 16, PLINE 32, ATTR 64)
        check(LIB.H5Pset_shared_mesg_index(fcpl.id, 0, 2 | 8, 1), "H5Pset_shared_mesg_index")
        check(LIB.H5Pset_shared_mesg_index(fcpl.id, 1, 16 | 32 | 64, 1), "H5Pset_shared_mesg_index")
        check(LIB.H5Pset_shared_mesg_phase_change(fcpl.id, max_list, min_btree),
              "H5Pset_shared_mesg_phase_change")
    fapl = h5p.create(h5p.FILE_ACCESS)
    fapl.set_fclose_degree(h5f.CLOSE_STRONG)
    if style == "latest":
        fapl.set_libver_bounds(h5f.LIBVER_LATEST, h5f.LIBVER_LATEST)
    elif default_libver:
        fapl.set_libver_bounds(*default_libver)
    fid = h5f.create(path.encode(), h5f.ACC_TRUNC, fcpl=fcpl, fapl=fapl)
    return h5py.File(fid)


class Ctx:
    def __init__(self, name, style):
        self.name = name
        self.style = style
        self.stem = name + ("_latest" if style == "latest" else "")
        seed = sum(ord(c) * (i + 1) for i, c in enumerate(name)) % (2 ** 31)
        self.rs = np.random.RandomState(seed)


def write_userblock(path):
    text = b"h5mount conformance: this is the user block, not HDF5.\n"
    with open(path, "r+b") as fh:
        fh.write(text + b"\0" * (512 - len(text)))


def main():
    os.makedirs(OUT, exist_ok=True)
    os.chdir(OUT)  # relative names (external links, EFL, VDS sources) resolve here
    for pat in ("*.h5", "*.h5.json", "*.bin"):
        for p in glob.glob(pat):
            os.remove(p)
    print("HDF5_PLUGIN_PATH=%s" % os.environ["HDF5_PLUGIN_PATH"])
    skipped = []
    made = []
    for name, fn, opts in FEATURES:
        fid = opts.get("plugin")
        if fid is not None and not plugin_loads(fid):
            print("skipping %s: filter %d does not load" % (name, fid))
            skipped.append(name)
            continue
        for style in ("default", "latest"):
            ctx = Ctx(name, style)
            path = ctx.stem + ".h5"
            with new_file(path, style, **{k: v for k, v in opts.items() if k != "prepend"}) as f:
                fn(f, ctx)
            if opts.get("userblock"):
                write_userblock(path)
            if opts.get("prepend"):
                prepend_userblock(path, opts["prepend"])
            made.append(path)
    for path in made:
        d = dump_ref.dump(path)
        with open(path + ".json", "w", encoding="utf-8") as fh:
            fh.write(dump_ref.to_json(d))
        errs = [p for p, e in d.items() if e.get("error")]
        print("%-40s %7d bytes%s" % (path, os.path.getsize(path),
                                    "  (dump errors: %s)" % ", ".join(errs) if errs else ""))
    total = sum(os.path.getsize(p) for p in os.listdir("."))
    print("%d HDF5 files, %d bytes in %s" % (len(made), total, OUT))
    if skipped:
        print("skipped (plugin did not load): %s" % ", ".join(skipped))


if __name__ == "__main__":
    main()
