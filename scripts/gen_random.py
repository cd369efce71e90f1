#!/usr/bin/python3
"""Write random HDF5 files for the randomized differential test.

    /usr/bin/python3 scripts/gen_random.py SEED COUNT OUTDIR

writes OUTDIR/r<SEED>_<I>.h5 for I in 0..COUNT-1, each a random mix of what
libhdf5 1.10 writes and SPEC §8 lists: libver earliest or latest (track_order
on some groups), nested groups with odd names (spaces, unicode, leading
dashes), a group of many links (dense link storage under libver latest), soft,
external and hard links; datasets of random shape (scalar to 4-D, zero-size
dimensions, sizes that do not divide the chunk shape), type (integers and floats
of every size and both byte orders, float16, bool, enum, fixed strings of every
padding, variable-length strings, compound nested and padded, array, opaque),
layout (contiguous, compact, chunked with random chunk shapes and maxshapes, so
that libver latest picks every chunk index; partially written, so some chunks
are missing), fill values, filters (deflate, shuffle, fletcher32, LZF, LZ4, Blosc,
Bitshuffle, scale-offset, N-bit, in combinations), and attributes of random
types and shapes (sometimes many: dense attribute storage under libver latest).

text_safe: where SPEC §5 leaves the text of a value open and h5mount and
dump_ref.py spell it differently, the values avoid it: NaN and infinities
inside attribute arrays (h5mount writes [nan, inf] as NumPy prints them,
dump_ref.py the JSON strings "NaN", "Infinity"), and string fields of compounds
hold printable ASCII (control characters are escaped differently by Go's and
Python's JSON, bytes that are not UTF-8 replaced differently).

The content is a function of SEED and the file's index alone (object times are
not stored, so the bytes are too).  Each file stays below 2 MB.  Whatever
libhdf5 refuses is caught, the half-made object removed, and something else is
made instead: the script never fails on a combination.  Run it with Debian's
interpreter (h5py 3.7, libhdf5 1.10.8); HDF5_PLUGIN_PATH is set to the
Debian filter plugins unless already set.  The test that uses it is
random_mount_test.go.
"""

import os
import random
import sys

os.environ.setdefault("HDF5_PLUGIN_PATH", "/usr/lib/x86_64-linux-gnu/hdf5/serial/plugins")

import h5py  # noqa: E402
import numpy as np  # noqa: E402

np.seterr(all="ignore")  # casts of random values wrap, as intended
from h5py import h5a, h5d, h5g, h5p, h5s, h5t, h5z  # noqa: E402

LZF, BLOSC, LZ4, BSHUF = 32000, 32001, 32004, 32008
PADS = [h5t.STR_NULLTERM, h5t.STR_NULLPAD, h5t.STR_SPACEPAD]

# Link names: plain, with spaces, unicode, leading dashes, dots and marks.
NAMES = ["data", "x", "temp", "T_2m", "with space", " lead", "trail ", "ünïcødé", "日本語", "名 前",
         "-dash", "--help", "-", "a.b", "#hash", "100", "e\u0301", "tab\tin", "ok!", "[x]", "ç~"]

MAX_BYTES = 96 << 10  # largest dataset, in bytes


class Ctx:
    def __init__(self, rng, f, latest):
        self.rng = rng
        self.rs = np.random.RandomState(rng.randrange(2 ** 32))
        self.f = f
        self.latest = latest
        self.objects = []  # paths of groups and datasets made
        self.groups = ["/"]
        self.many_links = False


def fresh_name(ctx, g):
    rng = ctx.rng
    for _ in range(50):
        base = rng.choice(NAMES)
        name = base if rng.random() < 0.5 else "%s%d" % (base, rng.randrange(1000))
        if name.encode("utf-8") not in g.id:  # (h5g: membership by bytes)
            return name
    return "n%d" % rng.randrange(10 ** 9)


def lcpl_for(name):
    """h5py's rule: an ASCII name gets an ASCII link, anything else UTF-8."""
    lcpl = h5p.create(h5p.LINK_CREATE)
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        lcpl.set_char_encoding(h5t.CSET_UTF8)
    return lcpl


def remove(g, name):
    """Drop what a failed attempt left behind."""
    try:
        if name.encode("utf-8") in g.id:
            g.id.unlink(name.encode("utf-8"))
    except Exception:
        pass


def space_for(shape, maxshape=None):
    if shape is None:
        return h5s.create(h5s.NULL)
    if shape == ():
        return h5s.create(h5s.SCALAR)
    if maxshape is not None:
        maxshape = tuple(h5s.UNLIMITED if m is None else m for m in maxshape)
    return h5s.create_simple(tuple(shape), maxshape)


# ------------------------------------------------------------------ types and values

class RType:
    """A file type (tid), the NumPy type values are made in (mem), and how."""

    def __init__(self, kind, tid, mem, numeric=False, nbit=False):
        self.kind, self.tid, self.mem = kind, tid, mem
        self.numeric = numeric  # integer or float: scale-offset applies
        self.nbit = nbit  # an integer of reduced precision


def int_dtype(rng, signed=None, size=None):
    size = size or rng.choice([1, 2, 4, 8])
    kind = ("i" if rng.random() < 0.5 else "u") if signed is None else ("i" if signed else "u")
    order = "|" if size == 1 else rng.choice("<>")
    return np.dtype(order + kind + str(size))


def float_dtype(rng):
    return np.dtype(rng.choice("<>") + rng.choice(["f2", "f4", "f8"]))


def numeric_dtype(rng):
    return int_dtype(rng) if rng.random() < 0.6 else float_dtype(rng)


def mem_type(rt, arr):
    """The memory type values of rt are written from: libhdf5 converts string
    padding but not character sets, so a fixed string is written from a
    null-padded copy of its own type."""
    if rt.kind == "fstr":
        t = rt.tid.copy()
        t.set_strpad(h5t.STR_NULLPAD)
        return t
    if rt.kind == "vstr":  # h5py's own object type, which it converts from Python objects
        return h5t.py_create(rt.mem)
    return h5t.py_create(rt.mem if rt.kind in ("array", "enum", "bool") else arr.dtype, logical=True)


def str_type(size, pad, utf8):
    t = h5t.C_S1.copy()
    t.set_size(size)
    t.set_strpad(pad)
    t.set_cset(h5t.CSET_UTF8 if utf8 else h5t.CSET_ASCII)
    return t


def compound_dtype(rng, depth=0):
    n = rng.randint(1, 4)
    names, formats, offsets = [], [], []
    off = 0
    for i in range(n):
        r = rng.random()
        if r < 0.15 and depth < 2:
            fmt = compound_dtype(rng, depth + 1)
        elif r < 0.3:
            fmt = np.dtype((numeric_dtype(rng), (rng.randint(1, 3),)))
        elif r < 0.4:
            fmt = np.dtype("S%d" % rng.randint(1, 6))
        else:
            fmt = numeric_dtype(rng)
        off += rng.choice([0, 0, 1, 3])  # padding before the field
        names.append("f%d_%s" % (i, rng.choice(["x", "y", "val", "ü"])))
        formats.append(fmt)
        offsets.append(off)
        off += fmt.itemsize
    return np.dtype({"names": names, "formats": formats, "offsets": offsets,
                     "itemsize": off + rng.choice([0, 0, 2, 5])})


def rand_type(ctx, for_attr=False):
    rng = ctx.rng
    r = rng.random()
    if r < 0.30:
        dt = int_dtype(rng)
        if not for_attr and rng.random() < 0.15:  # reduced precision, for N-bit
            tid = h5t.py_create(dt, logical=True).copy()
            bits = dt.itemsize * 8
            prec = rng.randint(1, bits)
            tid.set_precision(prec)
            tid.set_offset(rng.randint(0, bits - prec))
            return RType("int", tid, dt, numeric=True, nbit=True)
        return RType("int", h5t.py_create(dt, logical=True), dt, numeric=True)
    if r < 0.52:
        dt = float_dtype(rng)
        return RType("float", h5t.py_create(dt, logical=True), dt, numeric=True)
    if r < 0.56:
        dt = np.dtype(bool)
        return RType("bool", h5t.py_create(dt, logical=True), dt)
    if r < 0.62:
        members = {"RED": 0, "GREEN": 1, "BLUE": 7, "ÖTHER": -3 if rng.random() < 0.5 else 200}
        base = int_dtype(rng, signed=members["ÖTHER"] < 0, size=rng.choice([1, 2, 4, 8]))
        dt = h5py.enum_dtype(members, basetype=base)
        return RType("enum", h5t.py_create(dt, logical=True), dt)
    if r < 0.72:
        size = rng.randint(1, 24)
        pad = rng.choice(PADS)
        return RType("fstr", str_type(size, pad, rng.random() < 0.3), np.dtype("S%d" % size))
    if r < 0.80:
        dt = h5py.string_dtype("utf-8" if rng.random() < 0.6 else "ascii")
        return RType("vstr", h5t.py_create(dt, logical=True), dt)
    if r < 0.90:
        dt = compound_dtype(rng)
        return RType("compound", h5t.py_create(dt, logical=True), dt)
    if r < 0.95:
        dt = np.dtype((numeric_dtype(rng), tuple(rng.randint(1, 3) for _ in range(rng.randint(1, 2)))))
        return RType("array", h5t.py_create(dt, logical=True), dt)
    dt = np.dtype("V%d" % rng.randint(1, 12))
    return RType("opaque", h5t.py_create(dt, logical=True), dt)


WORDS = ["", "a", "hello", "Grüße", "x y z", "日本", "tab\there", "longer text value", "-1", "3.5"]


def rand_strings(ctx, n, maxbytes=None, ascii_only=False):
    rng = ctx.rng
    out = []
    for _ in range(n):
        w = rng.choice(WORDS)
        if rng.random() < 0.3:
            w += str(rng.randrange(10 ** 6))
        if ascii_only:
            w = w.encode("ascii", "replace").decode()
        b = w.encode("utf-8")
        if maxbytes is not None:
            b = b[:maxbytes]
            # (a cut UTF-8 sequence is fine for bytes, not for text)
            b = b.decode("utf-8", "ignore").encode("utf-8")
        out.append(b if maxbytes is not None else w)
    return out


def values(ctx, rt, shape):
    """Values of rt in shape: smooth, constant or random."""
    rs, rng = ctx.rs, ctx.rng
    n = int(np.prod(shape, dtype=np.int64)) if shape is not None else 0
    mode = rng.choice(["smooth", "smooth", "const", "random"])
    dt = rt.mem
    if rt.kind in ("int", "float"):
        return numeric_values(ctx, dt, shape, mode, rt)
    if rt.kind == "bool":
        v = rs.randint(0, 2, n).astype(bool) if mode == "random" else (np.arange(n) % 3 == 0)
        return v.reshape(shape)
    if rt.kind == "enum":
        members = np.array(list(h5py.check_enum_dtype(dt).values()), dtype=dt)
        idx = rs.randint(0, len(members), n) if mode != "const" else np.zeros(n, int)
        return members[idx].reshape(shape)
    if rt.kind == "fstr":
        size = dt.itemsize - (1 if rt.tid.get_strpad() == h5t.STR_NULLTERM else 0)
        s = rand_strings(ctx, n, maxbytes=max(size, 0),
                         ascii_only=rt.tid.get_cset() == h5t.CSET_ASCII)
        if rt.tid.get_strpad() == h5t.STR_SPACEPAD:
            s = [x.rstrip(b" ") for x in s]  # (trailing spaces are padding)
        return np.array(s, dtype=dt).reshape(shape)
    if rt.kind == "vstr":
        ascii_only = h5py.check_string_dtype(dt).encoding == "ascii"
        a = np.empty(n, dtype=object)
        # (h5py converts only bytes objects to ASCII ones: a str would be
        # written as whatever its pointer points at)
        a[:] = [s.encode("ascii") if ascii_only else s for s in rand_strings(ctx, n, ascii_only=ascii_only)]
        return a.reshape(shape)
    if rt.kind in ("compound", "array", "opaque"):
        raw = rs.randint(0, 256, n * dt.itemsize).astype(np.uint8)
        if mode != "random":
            raw = np.tile(rs.randint(0, 256, dt.itemsize).astype(np.uint8), n)
        a = raw.view(dt) if rt.kind != "array" else raw.view(dt.base)
        a = sanitize(a)
        if rt.kind == "array":
            return a.reshape(tuple(shape) + dt.shape)
        return a.reshape(shape)
    raise ValueError(rt.kind)


def sanitize(a):
    """Random bytes in a compound: no NaN payloads that a conversion could
    change, and null-padded string fields (what h5py gives back for them)."""
    if a.dtype.names is None:
        if a.dtype.kind == "f":
            a = a.copy()
            a[~np.isfinite(a)] = 0
        elif a.dtype.kind == "S":  # printable ASCII (see text_safe)
            b = a.copy().view(np.uint8)
            b[:] = 0x21 + b % 94
            a = b.view(a.dtype).reshape(a.shape)
        return a
    a = a.copy()
    for name in a.dtype.names:
        a[name] = sanitize(a[name])
    return a


def numeric_values(ctx, dt, shape, mode, rt=None):
    rs = ctx.rs
    n = int(np.prod(shape, dtype=np.int64)) if shape is not None else 0
    if dt.kind in "iu":
        info = np.iinfo(dt)
        lo, hi = int(info.min), int(info.max)
        if rt is not None and rt.nbit:  # what the precision holds
            prec = rt.tid.get_precision()
            lo, hi = (-(1 << (prec - 1)), (1 << (prec - 1)) - 1) if dt.kind == "i" else (0, (1 << prec) - 1)
        if mode == "random":
            v = rs.randint(0, 2 ** 62, n, dtype=np.int64) % (hi - lo + 1) + lo if hi - lo < 2 ** 62 else \
                rs.randint(-2 ** 63, 2 ** 63 - 1, n, dtype=np.int64)
            return np.asarray(v).astype(dt).reshape(shape)
        if mode == "const":
            return np.full(n, rs.randint(max(lo, -1000), min(hi, 1000) + 1), dtype=dt).reshape(shape)
        span = min(hi - lo, 2000) / 2
        v = np.round(span * np.sin(np.arange(n) / 13.0) + (lo + hi) / 2 if hi - lo < 4000 else
                     span * np.sin(np.arange(n) / 13.0) + min(max(0, lo + span), hi - span))
        return np.clip(v, lo, hi).astype(dt).reshape(shape)
    if mode == "random":
        v = rs.normal(0, 10 ** rs.randint(-3, 6), n)
        if n and ctx.rng.random() < 0.2:
            v[rs.randint(0, n)] = np.nan
            v[rs.randint(0, n)] = -np.inf
        return v.astype(dt).reshape(shape)
    if mode == "const":
        return np.full(n, rs.normal(0, 100), dtype=dt).reshape(shape)
    return (np.round(100 * np.sin(np.arange(n) / 17.0), 2)).astype(dt).reshape(shape)


# ------------------------------------------------------------------ datasets

def rand_shape(ctx, itemsize, chunked):
    rng = ctx.rng
    rank = rng.choice([0, 1, 1, 1, 2, 2, 2, 3, 4]) if not chunked else rng.choice([1, 1, 2, 2, 3, 4])
    limit = max(1, MAX_BYTES // max(itemsize, 1))
    if rng.random() < 0.5:
        limit = min(limit, rng.choice([1, 10, 100, 1000]))
    shape = []
    for d in range(rank):
        left = max(1, limit // max(1, int(np.prod(shape or [1]))))
        hi = max(1, int(round(left ** (1.0 / (rank - d)))))
        shape.append(rng.randint(1, max(1, min(hi * 2, left))))
    if shape and rng.random() < 0.07:
        shape[rng.randrange(rank)] = 0
    return tuple(shape)


def add_filters(ctx, dcpl, rt, points):
    """A random pipeline for chunks of points elements; returns whether it
    holds a lossy filter."""
    rng = ctx.rng
    first = []  # scale-offset and N-bit only first: libhdf5 overruns its
    # buffers when either meets bytes another filter made (heap corruption)
    if rt.numeric and not rt.nbit and rng.random() < 0.12:
        first.append("scaleoffset")
    if rt.nbit:
        first.append("nbit")
    pipeline = []
    if rng.random() < 0.3:
        pipeline.append("shuffle")
    codecs = [None, None, "gzip", "gzip", "lzf", "lz4", "bshuf", "bshuf_lz4", "blosc"]
    # szip (libaec in Debian's libhdf5) takes integers and floats of up to
    # 32 bits or of 64, in chunks of at least a block.
    if rt.numeric and not rt.nbit and not first and rt.mem.itemsize in (1, 2, 4, 8) and points >= 2:
        codecs.append("szip")
    pipeline.append(rng.choice(codecs))
    if rng.random() < 0.2:
        pipeline.insert(rng.randrange(len(pipeline) + 1), "fletcher32")
    if rng.random() < 0.1:
        rng.shuffle(pipeline)
    pipeline = first + pipeline
    for flt in pipeline:
        if flt is None:
            continue
        if flt == "scaleoffset":
            if rt.kind == "int":
                dcpl.set_scaleoffset(h5z.SO_INT, rng.choice([0, 0, 8]))
            else:
                dcpl.set_scaleoffset(h5z.SO_FLOAT_DSCALE, rng.randint(0, 4))
        elif flt == "nbit":
            dcpl.set_filter(h5z.FILTER_NBIT, h5z.FLAG_OPTIONAL, ())
        elif flt == "shuffle":
            dcpl.set_shuffle()
        elif flt == "fletcher32":
            dcpl.set_fletcher32()
        elif flt == "gzip":
            dcpl.set_deflate(rng.randint(0, 9))
        elif flt == "lzf":
            dcpl.set_filter(LZF, h5z.FLAG_OPTIONAL, ())
        elif flt == "lz4":
            dcpl.set_filter(LZ4, h5z.FLAG_OPTIONAL, (rng.choice([0, 64, 1 << 10]),))
        elif flt == "bshuf":
            dcpl.set_filter(BSHUF, h5z.FLAG_OPTIONAL, (0, 0))
        elif flt == "bshuf_lz4":
            dcpl.set_filter(BSHUF, h5z.FLAG_OPTIONAL, (rng.choice([0, 0, 64]), 2))
        elif flt == "szip":
            dcpl.set_szip(rng.choice([h5z.SZIP_NN_OPTION_MASK, h5z.SZIP_EC_OPTION_MASK]),
                          rng.choice([p for p in range(2, 33, 2) if p <= points]))
        elif flt == "blosc":
            # level, shuffle (none, byte, bit), compressor (blosclz, lz4,
            # lz4hc, snappy, zlib, zstd): the plugin fills in the rest
            dcpl.set_filter(BLOSC, h5z.FLAG_OPTIONAL, (0, 0, 0, 0, rng.randint(1, 9), rng.randint(0, 2),
                                                      rng.randint(0, 5)))
    return "scaleoffset" in pipeline


def fill_for(ctx, rt):
    rng = ctx.rng
    if rt.kind in ("int", "float"):
        return numeric_values(ctx, rt.mem, (1,), rng.choice(["const", "random"]), rt)
    # (no fixed strings: h5py 3.7's set_fill_value hands libhdf5 a string
    # fill value whose stored bytes are whatever memory held)
    if rt.kind == "enum":
        return values(ctx, rt, (1,))
    return None


def make_dataset(ctx, g, name):
    rng = ctx.rng
    rt = rand_type(ctx)
    if os.environ.get("GEN_RANDOM_TRACE"):
        sys.stderr.write("trace: %s %s %s\n" % (name, rt.kind, rt.mem))
        sys.stderr.flush()
    layout = rng.choice(["contiguous", "compact", "chunked", "chunked", "chunked"])
    if rt.nbit:
        # A reduced precision always comes with the N-bit filter (so chunked):
        # its bytes read converted (widened), and random_mount_test.go tells
        # such datasets, which take converted writes, by that filter.
        layout = "chunked"
    itemsize = rt.mem.itemsize if rt.kind != "vstr" else 16
    shape = rand_shape(ctx, itemsize, layout == "chunked")
    if layout == "compact":
        while shape and int(np.prod(shape)) * itemsize > 8000:
            shape = shape[:-1]
    if layout != "chunked" and shape and rng.random() < 0.03:
        shape = None  # a null dataspace
    dcpl = h5p.create(h5p.DATASET_CREATE)
    dcpl.set_obj_track_times(False)
    maxshape = None
    partial = False
    if layout == "compact":
        dcpl.set_layout(h5d.COMPACT)
    elif layout == "chunked":
        maxshape = tuple(rng.choice([s, s, s + rng.randint(1, 40), None]) for s in shape)
        if rng.random() < 0.3:
            maxshape = None
        chunks = []
        for i, s in enumerate(shape):
            top = s if maxshape is None or maxshape[i] is not None and maxshape[i] == s else max(s, 1) + 20
            if maxshape is not None and maxshape[i] is not None:
                top = min(top, maxshape[i])
            top = max(top, 1)
            c = rng.choice([top, rng.randint(1, top), rng.randint(1, max(1, top // 3 + 1))])
            chunks.append(max(1, c))
        while int(np.prod(chunks)) * itemsize > 64 << 10:
            j = int(np.argmax(chunks))
            chunks[j] = max(1, chunks[j] // 2)
        dcpl.set_chunk(tuple(chunks))
        if rt.kind != "vstr":
            add_filters(ctx, dcpl, rt, int(np.prod(chunks)))
        elif rng.random() < 0.5:
            dcpl.set_deflate(rng.randint(1, 9))
        partial = rng.random() < 0.4
    if rng.random() < 0.3 and shape is not None:
        fv = fill_for(ctx, rt)
        if fv is not None:
            dcpl.set_fill_value(np.ascontiguousarray(fv))
    if rng.random() < 0.2:
        dcpl.set_alloc_time(rng.choice([h5d.ALLOC_TIME_EARLY, h5d.ALLOC_TIME_INCR, h5d.ALLOC_TIME_LATE]))
    # FILL_TIME_NEVER leaves what was never written undefined in libhdf5's
    # reads (h5py's buffer as it was): only on datasets written in full.
    fill_time = rng.choice([None, None, h5d.FILL_TIME_ALLOC, h5d.FILL_TIME_IFSET, h5d.FILL_TIME_NEVER])
    write = rng.random() < 0.9
    if fill_time == h5d.FILL_TIME_NEVER and (partial or not write):
        fill_time = None
    if fill_time is not None:
        dcpl.set_fill_time(fill_time)
    try:
        dsid = h5d.create(g.id, name.encode("utf-8"), rt.tid, space_for(shape, maxshape), dcpl=dcpl,
                          lcpl=lcpl_for(name))
    except Exception:
        remove(g, name)
        return False
    if os.environ.get("GEN_RANDOM_TRACE"):
        sys.stderr.write("trace:   shape %s layout %s nbit %s filters %s partial %s\n" % (
            shape, layout, rt.nbit, [dcpl.get_filter(i)[:3] for i in range(dcpl.get_nfilters())]
            if layout == "chunked" else None, partial))
        sys.stderr.flush()
    if shape is None or not write:
        return True
    data = values(ctx, rt, shape)
    try:
        if partial and shape and all(s > 0 for s in shape) and rt.kind not in ("array",):
            sel = []
            for s in shape:
                a = rng.randrange(s)
                b = rng.randint(a + 1, s)
                sel.append(slice(a, b))
            sel = tuple(sel)
            h5py.Dataset(dsid)[sel] = data[sel]
        else:
            arr = np.ascontiguousarray(data)
            dsid.write(h5s.ALL, h5s.ALL, arr, mtype=mem_type(rt, arr))
    except Exception as e:  # the dataset stays, unwritten
        sys.stderr.write("gen_random: %s: write: %s\n" % (name, e))
    return True


# ------------------------------------------------------------------ attributes

def make_attr(ctx, obj, name):
    rng = ctx.rng
    rt = rand_type(ctx, for_attr=True)
    r = rng.random()
    if r < 0.6:
        shape = ()
    elif r < 0.95:
        shape = tuple(rng.randint(1, 5) for _ in range(rng.randint(1, 2)))
    elif r < 0.97:
        shape = (0,)
    else:
        shape = None
    try:
        aid = h5a.create(obj.id, name.encode("utf-8"), rt.tid, space_for(shape))
    except Exception:
        try:
            obj.attrs.__delitem__(name)
        except Exception:
            pass
        return
    if shape is None:
        return
    data = values(ctx, rt, shape)
    if os.environ.get("GEN_RANDOM_TRACE"):
        sys.stderr.write("trace: attr %s %s %s %s\n" % (name, rt.kind, rt.mem, shape))
        sys.stderr.flush()
    if shape and rt.kind == "float":
        data[~np.isfinite(data)] = 0  # (see text_safe in the module doc)
    try:
        arr = np.ascontiguousarray(data)
        aid.write(arr, mtype=mem_type(rt, arr))
    except Exception as e:
        sys.stderr.write("gen_random: attribute %s (%s %s): %s\n" % (name, rt.kind, rt.mem, e))


def add_attrs(ctx, obj):
    rng = ctx.rng
    r = rng.random()
    n = 0 if r < 0.3 else rng.randint(1, 5) if r < 0.85 else rng.randint(9, 30)
    for _ in range(n):
        for _ in range(20):
            name = rng.choice(NAMES + ["units", "scale_factor", "long_name", "valid_range", "_FillValue"])
            if rng.random() < 0.5:
                name += str(rng.randrange(100))
            if name not in obj.attrs:
                break
        else:
            continue
        make_attr(ctx, obj, name)


# ------------------------------------------------------------------ groups and links

def make_group(ctx, parent, name):
    rng = ctx.rng
    gcpl = h5p.create(h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    if rng.random() < 0.25:
        flags = h5p.CRT_ORDER_TRACKED | h5p.CRT_ORDER_INDEXED
        gcpl.set_link_creation_order(flags)
        gcpl.set_attr_creation_order(flags)
    try:
        gid = h5g.create(parent.id, name.encode("utf-8"), lcpl=lcpl_for(name), gcpl=gcpl)
    except Exception:
        remove(parent, name)
        return None
    return h5py.Group(gid)


def fill_group(ctx, g, depth):
    rng = ctx.rng
    n = rng.randint(1, 5)
    for _ in range(n):
        name = fresh_name(ctx, g)
        r = rng.random()
        if r < 0.3 and depth < 3:
            sub = make_group(ctx, g, name)
            if sub is not None:
                ctx.groups.append(sub.name)
                ctx.objects.append(sub.name)
                add_attrs(ctx, sub)
                fill_group(ctx, sub, depth + 1)
        elif r < 0.36 and not ctx.many_links:
            ctx.many_links = True
            sub = make_group(ctx, g, name)
            if sub is not None:
                ctx.groups.append(sub.name)
                many_links(ctx, sub)
        else:
            if make_dataset(ctx, g, name):
                ds = g[name]
                ctx.objects.append(ds.name)
                add_attrs(ctx, ds)


def many_links(ctx, g):
    """Enough links to turn a latest-format group dense (more than 8)."""
    rng = ctx.rng
    for i in range(rng.randint(9, 70)):
        name = "%s_%03d" % (rng.choice(["m", "ünï", "-l", "s p"]), i)
        r = rng.random()
        if r < 0.6:
            dcpl = h5p.create(h5p.DATASET_CREATE)
            dcpl.set_obj_track_times(False)
            dt = numeric_dtype(rng)
            n = rng.randint(0, 20)
            dsid = h5d.create(g.id, name.encode("utf-8"), h5t.py_create(dt), space_for((n,)), dcpl=dcpl,
                              lcpl=lcpl_for(name))
            if n:
                dsid.write(h5s.ALL, h5s.ALL, numeric_values(ctx, dt, (n,), "smooth"))
            ctx.objects.append(g.name + "/" + name)
        elif r < 0.8:
            make_group(ctx, g, name)
        else:
            g[name] = h5py.SoftLink("/" if rng.random() < 0.5 else "/nowhere/%d" % i)


def add_links(ctx):
    rng = ctx.rng
    f = ctx.f
    for _ in range(rng.randint(0, 6)):
        g = f[rng.choice(ctx.groups)]
        name = fresh_name(ctx, g)
        r = rng.random()
        try:
            if r < 0.4 and ctx.objects:
                target = rng.choice(ctx.objects)
                if rng.random() < 0.3:  # relative to g, where it can be
                    prefix = g.name.rstrip("/") + "/"
                    if target.startswith(prefix):
                        target = target[len(prefix):]
                g[name] = h5py.SoftLink(target)
            elif r < 0.5:
                # (not "../x": HDF5 reads ".." as a link of that name, the
                # README shows one that would climb above the mount's root as
                # %2E%2E while dump_ref.py resolves it as a parent)
                g[name] = h5py.SoftLink(rng.choice(["/missing", "nothing/here", "a/../b"]))
            elif r < 0.65:
                g[name] = h5py.ExternalLink(rng.choice(["other.h5", "../x/ünï.h5"]),
                                            rng.choice(["/", "/data", "/a b"]))
            elif ctx.objects:
                target = f[rng.choice(ctx.objects)]
                if isinstance(target, h5py.Group) and rng.random() < 0.5:
                    continue  # fewer groups of several names
                g[name] = target  # a hard link
        except Exception as e:
            sys.stderr.write("gen_random: link %s: %s\n" % (name, e))
            remove(g, name)


def make_file(path, rng):
    latest = rng.random() < 0.5
    fapl_libver = ("latest", "latest") if latest else ("earliest", "latest")
    with h5py.File(path, "w", libver=fapl_libver, track_order=rng.random() < 0.25) as f:
        ctx = Ctx(rng, f, latest)
        add_attrs(ctx, f)
        fill_group(ctx, f, 0)
        add_links(ctx)


def make_one(path, seed, i):
    """Make file i in a child process: some combinations make libhdf5 or a
    filter plugin corrupt its heap and crash (N-bit and scale-offset fed by
    other filters, ...).  A child that crashes, or makes a file over 2 MB,
    is retried with the next attempt's random stream, so the files are still
    a function of the seed."""
    for attempt in range(20):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                stream = "%d:%d" % (seed, i) if attempt == 0 else "%d:%d:%d" % (seed, i, attempt)
                make_file(path, random.Random(stream))
                # Too big for a quick test (many large chunks of a
                # filter that does not compress): another stream.
                code = 0 if os.path.getsize(path) <= 2 << 20 else 3
            finally:
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        if status == 0:
            return
        sys.stderr.write("gen_random: %s: attempt %d failed (status %#x), trying another\n" % (path, attempt, status))
    raise SystemExit("%s: 20 attempts failed" % path)


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        sys.exit(2)
    seed, count, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    os.makedirs(out, exist_ok=True)
    for i in range(count):
        path = os.path.join(out, "r%d_%04d.h5" % (seed, i))
        make_one(path, seed, i)


if __name__ == "__main__":
    main()
