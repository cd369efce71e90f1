#!/usr/bin/python3
"""Reference dump of an HDF5 file, as h5py (libhdf5) sees it.

Usage (run with Debian's interpreter, which has h5py):

    /usr/bin/python3 scripts/dump_ref.py FILE.h5 [--max-bytes N] [--no-h5debug]
                                         [--window PATH:OFFSET:LENGTH]...
                                         [--probe PATH:I,J,K]...

prints one JSON object on stdout.  gen_testdata.py imports this module and writes
the same JSON beside every test file as NAME.h5.json; Go tests compare what the
h5mount engine reads against it, and can run this script on any other file
(e.g. ../shared/corpus/...) on the fly.

It never crashes on an object h5py cannot read: that object's entry (or that
attribute's) gets an "error" member holding the message, and the rest of the file
is still dumped.  A file that does not open at all gives {"/": {"kind": null,
"error": "..."}}.  The exit status is 0 in both cases (2 only for bad usage).

JSON schema
===========

The text has one line per object (pipe it through `python3 -m json.tool` to read it).
Top level: an object whose keys are HDF5 paths ("/", "/15", "/15/temperature",
...) in depth-first order, children in h5py's iteration order (by name, or by
creation order in a group created with track_order=True).  Every entry has
"kind", one of "group", "dataset", "datatype" (named datatype), "softlink",
"extlink", "udlink" (user-defined link), or null when nothing could be
determined, and optionally "error".

Common to groups, datasets and named datatypes (objects reached by hard links):
  "addr"        object header address (h5py.h5o.get_info(obj.id).addr): two
                names of one object share it (SPEC §2 inode numbers)
  "nlink"       the object's hard link count (H5O_info_t.rc): st_nlink
  "hardlink_of" only on the second and later names of one object: the path
                first seen (depth-first); a group seen again is not descended into
  "ohdr"        facts about the object header, from `h5debug FILE ADDR`
                (absent with --no-h5debug or when h5debug is not installed):
                {"version": 1|2, "mtime": "YYYY-MM-DD HH:MM:SS UTC" or null,
                 "mtime_epoch": the same in seconds since 1970 or null,
                 "attr_storage": "compact"|"dense",
                 for groups "group_storage": "symtab"|"compact-links"|"dense-links",
                            "link_creation_order": bool,
                 for datasets "layout_version": int,
                              "chunk_index": "btree_v1"|"single_chunk"|"implicit"|
                                 "fixed_array"|"extensible_array"|"btree_v2"|null}
  "attrs"       {NAME: attribute}, in h5py's iteration order, see below

Root group only:
  "file"        {"size": bytes, "superblock_version": int, "userblock": bytes,
                 "libhdf5": version of the libhdf5 that made the dump,
                 "h5py": h5py version}

Groups:
  "members"     list of link names in h5py's iteration order

Datasets:
  "dtype"       numpy dtype.str ("<f8", ">i4", "|S10", "|b1", "|O" for variable
                length, "|V12" for compound/opaque)
  "descr"       only for compound types: numpy's dict form with offsets,
                {"names": [...], "formats": [dtype.str | nested descr |
                [base, [dims]]], "offsets": [...], "itemsize": int}
  "subdtype"    only for HDF5 array types: [base dtype.str, [dims]] (dtype is
                then "|V<size>", as numpy spells it)
  "ref"         "object" | "region", only for reference types
  "enum"        {member name: value}, only for enum (and h5py bool) types
  "vlen"        "str" | "bytes" | base dtype.str, only for variable-length types
  "space"       "simple" | "scalar" | "null"
  "shape"       list of ints ([] for scalar, null for a null dataspace)
  "maxshape"    list of ints, -1 = unlimited (null when shape is null)
  "chunks"      list of ints or null
  "layout"      "contiguous" | "chunked" | "compact" | "virtual"
                (dset.id.get_create_plist().get_layout())
  "compression", "compression_opts", "shuffle", "fletcher32", "scaleoffset":
                as h5py's Dataset properties (compression is h5py's name, e.g.
                "gzip", or null)
  "filters"     the pipeline in order: [{"id": int, "name": str, "flags": int,
                "cd_values": [int...]}]
  "fillvalue"   h5py's Dataset.fillvalue as a JSON value (null when the file
                defines none, and for variable-length types)
  "fill"        {"defined": "undefined"|"default"|"user",
                 "time": "ifset"|"alloc"|"never",
                 "alloc_time": "early"|"late"|"incr"}
  "external"    only for contiguous data in external raw files: [[name, offset, size]]
  "itemsize"    bytes per element as HDF5 stores it (H5Tget_size)
  "size_bytes"  elements * itemsize (0 for a null dataspace, itemsize for scalar):
                the st_size SPEC §3 asks for; null for variable-length types
  "storage_size" dset.id.get_storage_size(): bytes allocated in the file
  "num_chunks"  allocated chunks (chunked layout only)
  "chunk_list"  only when 1 <= num_chunks <= 16: [{"offset": [...], "addr": int,
                "size": int, "filter_mask": int}] in the index's order
  "sha256"      sha256 hex of ds[()].tobytes() (C order, stored byte order) --
                exactly the bytes a read of the mounted file returns; b"" for a
                null dataspace.  null when the dataset is larger than --max-bytes
                (default 64 MiB) or its elements have no fixed size (vlen,
                references: see "values")
  "first16"     hex of the first 16 bytes of those same bytes (null as sha256)
  "windows"     only for datasets larger than --max-bytes, and for any --window:
                [{"offset": byte offset, "length": bytes, "sha256": hex}] over the
                same byte stream.  By default: the first MiB, the last MiB, and
                the MiB-aligned 1 MiB windows holding the first byte of each of the
                first 4 allocated chunks.
  "probes"      only for --probe: [{"index": [...], "byte_offset": int,
                "value": JSON value}]
  "values"      only for variable-length / reference datasets with at most 1024
                elements: the elements as JSON values (nested lists); for
                references the path of the object referred to (flat list)
  "props"       the read-only xattrs SPEC §5 asks for, as this dump renders them:
                {"user.h5.dtype", "user.h5.shape", "user.h5.maxshape",
                 "user.h5.chunks", "user.h5.compression", "user.h5.fillvalue",
                 "user.h5.layout"}; a value is null where SPEC leaves it open
                (compound/array/vlen/reference dtype, shape of a null
                dataspace, undefined fill value).  compression is
                the filter pipeline in file order, comma-separated: "shuffle",
                "gzip:LEVEL", "fletcher32", "lzf", "zstd:LEVEL", "lz4",
                "bitshuffle", "szip", "nbit", "scaleoffset", else "filter<ID>".

  "error"       what h5py could not do for this dataset ("; "-joined); every
                member it could fill is still there

Named datatypes: "dtype" (and "descr"/"subdtype"/"enum"/"vlen" as for datasets).

Soft links:  "target" (the stored path, e.g. "/data/contig"),
             "symlink" (the relative symlink text SPEC §2 asks for, e.g.
             "../data/contig"; the target itself when it is not absolute),
             "dangling" (bool: h5py cannot resolve it)
External links: "file", "path", and "target" = "FILE::PATH" (the symlink text)
User-defined links: "link_type" (the H5L type number)

Attributes ("attrs" values):
  "dtype", "shape" (list, [] for scalar, null for a null dataspace),
  "descr"/"enum"/"vlen" as for datasets,
  "string"  for string types: {"length": int or "variable", "cset": "ascii"|"utf8",
             "pad": "nullterm"|"nullpad"|"spacepad"}
  "value"   JSON value: numbers as numbers (float32 values as their exact double
            value; NaN/Inf as the strings "NaN", "Infinity", "-Infinity"),
            strings as str (fixed-length strings decoded by their cset, ascii as
            latin-1, padding stripped), arrays as nested lists, compound as an
            object, null for a null dataspace
  "text"    the value as SPEC §5 says user.NAME reads: integers in decimal,
            floats as the shortest text that round-trips in their own precision
            with Python's spelling ("10.0", "1e-05", float32 0.1 -> "0.1"),
            strings as themselves, enums (h5py bools too) by member name,
            arrays/compounds as JSON (json.dumps, ensure_ascii=False, ", " and
            ": " separators); null where SPEC leaves it open (null dataspace,
            references)
  "text_bytes" len(text.encode("utf-8")) -- > 65536 means getxattr gives E2BIG
  Attributes with more than 1024 elements store "value": null and "text": null,
  "truncated": true, "sha256" (of the raw value bytes) and "text_sha256".
  An attribute h5py cannot read: {"error": "..."} (plus what was known); one
  that libhdf5 cannot even name is keyed "#INDEX", and a failed listing "".
"""

import argparse
import calendar
import hashlib
import json
import math
import os
import posixpath
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import h5py

MiB = 1 << 20
DEFAULT_MAX_BYTES = 64 * MiB
BIG_ATTR_ELEMENTS = 1024
VALUES_LIMIT = 1024

LAYOUTS = {
    h5py.h5d.COMPACT: "compact",
    h5py.h5d.CONTIGUOUS: "contiguous",
    h5py.h5d.CHUNKED: "chunked",
}
if hasattr(h5py.h5d, "VIRTUAL"):
    LAYOUTS[h5py.h5d.VIRTUAL] = "virtual"

FILL_DEFINED = {0: "undefined", 1: "default", 2: "user"}  # H5D_fill_value_t
FILL_TIME = {0: "alloc", 1: "never", 2: "ifset"}  # H5D_fill_time_t
ALLOC_TIME = {1: "early", 2: "late", 3: "incr"}  # H5D_alloc_time_t

CHUNK_INDEX = {
    "v1 b-tree": "btree_v1",
    "single chunk": "single_chunk",
    "implicit": "implicit",
    "fixed array": "fixed_array",
    "extensible array": "extensible_array",
    "v2 b-tree": "btree_v2",
}

UNDEF_ADDR = "18446744073709551615"


# ---------------------------------------------------------------- JSON values

_libm = None


def _fp_default(value=None):
    """Put back the default floating-point environment and return value.

    A filter plugin built with -ffast-math turns on flush-to-zero and
    denormals-are-zero for the whole process when libhdf5 loads it (on the
    first read of a dataset behind it); Python's float repr then prints a
    denormal such as -9.3e-309 as -0.0, and the reference would be wrong.
    glibc's fesetenv(FE_DFL_ENV) clears both."""
    global _libm
    if _libm is None:
        import ctypes
        _libm = ctypes.CDLL("libm.so.6")
        _libm.fesetenv.argtypes = [ctypes.c_void_p]
    _libm.fesetenv(-1)  # FE_DFL_ENV is ((const fenv_t *) -1)
    return value


def _float_json(x):
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def jsonable(v, cset_utf8=False):
    """Turn what h5py returns into plain JSON values."""
    if v is None or isinstance(v, h5py.Empty):
        return None
    if isinstance(v, (bytes, np.bytes_)):
        return bytes(v).decode("utf-8" if cset_utf8 else "latin-1", errors="replace")
    if isinstance(v, (str, np.str_)):
        return str(v)
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return _float_json(float(v))
    if isinstance(v, (complex, np.complexfloating)):
        return [_float_json(v.real), _float_json(v.imag)]
    if isinstance(v, np.void):
        if v.dtype.names:
            return {n: jsonable(v[n], cset_utf8) for n in v.dtype.names}
        return bytes(v.tobytes()).hex()
    if isinstance(v, np.ndarray):
        if v.dtype.names:
            return [jsonable(x, cset_utf8) for x in v] if v.ndim else jsonable(v[()], cset_utf8)
        if v.ndim == 0:
            return jsonable(v[()], cset_utf8)
        return [jsonable(x, cset_utf8) for x in v]
    if isinstance(v, (list, tuple)):
        return [jsonable(x, cset_utf8) for x in v]
    if isinstance(v, (h5py.Reference, h5py.RegionReference)):
        return repr(v)
    return repr(v)


def _short_float(x, dt):
    """Python float whose repr is the shortest round-trip text of x in dtype dt."""
    if dt.itemsize >= 8:
        return float(x)
    return float(repr(dt.type(x)))


def _text_scalar_float(x, dt):
    x = dt.type(x)
    if dt.itemsize >= 8:
        return repr(float(x))
    return repr(x)  # numpy's shortest repr for float16/float32: '0.1', '1e-05'


class _NoText(Exception):
    """A value whose text SPEC leaves open (a region reference in a compound)."""


def _textable(v, dt, enum_names, deref=None):
    """JSON value used inside the array/compound text form."""
    if isinstance(v, np.ndarray):
        if v.ndim == 0:
            return _textable(v[()], dt, enum_names, deref)
        return [_textable(x, dt, enum_names, deref) for x in v]
    if isinstance(v, np.void) and v.dtype.names:
        return {n: _textable(v[n], v.dtype.fields[n][0], _dtype_enum_names(v.dtype.fields[n][0]), deref)
                for n in v.dtype.names}
    if isinstance(v, h5py.RegionReference) or (isinstance(v, h5py.Reference) and deref is None):
        raise _NoText()
    if isinstance(v, h5py.Reference):
        # SPEC §5: an object reference reads as its object's path, a null one as ""
        return deref(v) if v else ""
    if isinstance(v, np.bool_) and enum_names is None:
        # an h5py bool is the HDF5 enum FALSE/TRUE: by member name, as at top level
        return "TRUE" if v else "FALSE"
    if enum_names is not None and isinstance(v, (np.integer, np.bool_, int, bool)):
        return enum_names.get(int(v), int(v))
    if isinstance(v, (np.floating, float)):
        base = dt.base if dt is not None else np.dtype("f8")
        if base.kind != "f":
            base = np.dtype("f8")
        return _float_json(_short_float(v, base))
    return jsonable(v, True)


def attr_text(value, dt, shape, enum_names, strinfo, deref=None):
    """The xattr text of SPEC §5, or None where the spec is silent.

    deref gives the path of an object reference inside a compound or array
    (netCDF-4's dimension scales' REFERENCE_LIST, say)."""
    if shape is None:
        return None
    if dt.kind == "O" and strinfo is None and not isinstance(value, (str, bytes)):
        return None
    if len(shape) == 0 and not dt.names:
        v = value
        if isinstance(v, np.ndarray):
            v = v[()]
        if enum_names is not None:
            return str(enum_names.get(int(v), int(v)))
        if isinstance(v, (bytes, np.bytes_)):
            b = bytes(v)
            if strinfo and strinfo.get("pad") == "spacepad":
                b = b.rstrip(b" ")
            b = b.rstrip(b"\0")
            return b.decode("utf-8" if strinfo and strinfo.get("cset") == "utf8" else "latin-1",
                            errors="replace")
        if isinstance(v, str):
            return v
        if isinstance(v, (np.bool_, bool)):
            return "TRUE" if v else "FALSE"
        if isinstance(v, (np.integer, int)):
            return str(int(v))
        if isinstance(v, (np.floating, float)):
            return _text_scalar_float(v, dt if dt.kind == "f" else np.dtype("f8"))
        return None
    try:
        tv = _textable(np.asarray(value) if not isinstance(value, np.ndarray) else value,
                       dt, enum_names, deref)
    except _NoText:
        return None
    return json.dumps(tv, ensure_ascii=False, allow_nan=False)


# ---------------------------------------------------------------- types

def _string_info(tid):
    if not isinstance(tid, h5py.h5t.TypeStringID):
        return None
    pads = {h5py.h5t.STR_NULLTERM: "nullterm", h5py.h5t.STR_NULLPAD: "nullpad",
            h5py.h5t.STR_SPACEPAD: "spacepad"}
    return {
        "length": "variable" if tid.is_variable_str() else tid.get_size(),
        "cset": "utf8" if tid.get_cset() == h5py.h5t.CSET_UTF8 else "ascii",
        "pad": pads.get(tid.get_strpad(), str(tid.get_strpad())),
    }


def _dtype_enum_names(dt):
    """{value: name} from the enum metadata h5py attaches to a dtype, else None."""
    m = h5py.check_enum_dtype(dt) if dt is not None else None
    return {int(v): k for k, v in m.items()} if m else None


def _enum_names(tid):
    """{value: name} for an enum type id (h5py bools are enums too), else None."""
    if not isinstance(tid, h5py.h5t.TypeEnumID):
        return None
    out = {}
    for i in range(tid.get_nmembers()):
        name = tid.get_member_name(i)
        if isinstance(name, bytes):
            name = name.decode("utf-8", errors="replace")
        out[int(tid.get_member_value(i))] = name
    return out


def _descr(dt):
    """A compound dtype as numpy's dict form: names, formats, offsets, itemsize."""
    formats = []
    for n in dt.names:
        fdt = dt.fields[n][0]
        formats.append(_descr(fdt) if fdt.names else _fmt(fdt))
    return {"names": list(dt.names), "formats": formats,
            "offsets": [int(dt.fields[n][1]) for n in dt.names], "itemsize": dt.itemsize}


def _fmt(dt):
    if dt.subdtype is not None:
        base, shape = dt.subdtype
        return [_descr(base) if base.names else _fmt(base), list(shape)]
    return dt.str


def type_fields(dt, tid=None):
    """dtype, descr, subdtype, enum, vlen members of an entry."""
    out = {"dtype": dt.str}
    if dt.names:
        out["descr"] = _descr(dt)
    if dt.subdtype is not None:
        out["subdtype"] = _fmt(dt)
    if h5py.check_ref_dtype(dt) is not None:
        out["ref"] = "region" if h5py.check_ref_dtype(dt) is h5py.RegionReference else "object"
    names = _enum_names(tid) if tid is not None else None
    if names is not None:
        out["enum"] = {n: v for v, n in names.items()}
    vl = h5py.check_vlen_dtype(dt)
    sinfo = h5py.check_string_dtype(dt)
    if sinfo is not None and sinfo.length is None:
        out["vlen"] = "str" if sinfo.encoding == "utf-8" else "bytes"
    elif vl is not None:
        out["vlen"] = np.dtype(vl).str
    return out


# ---------------------------------------------------------------- h5debug

def h5debug_info(filename, addr, timeout=20):
    """Parse `h5debug FILE ADDR` (object header dump). None when unavailable."""
    exe = shutil.which("h5debug")
    if exe is None:
        return None
    try:
        p = subprocess.run([exe, filename, str(addr)], capture_output=True, text=True,
                           timeout=timeout, errors="replace")
    except (OSError, subprocess.SubprocessError) as e:
        return {"error": "h5debug: %s" % e}
    out = p.stdout
    info = {}
    m = re.search(r"^Object Header\.\.\.\s*\n(?:.*\n)*?Version:\s+(\d+)", out, re.M)
    if not m:
        return {"error": "h5debug: no object header at %d" % addr}
    info["version"] = int(m.group(1))
    m = re.search(r"^\s*Modification Time:\s+(.+?)\s*$", out, re.M)
    info["mtime"] = m.group(1) if m else None
    if info["mtime"] is None:
        # v1 headers keep it in a message: `mtime_new' / `mtime'
        m = re.search(r"`mtime(?:_new)?'.*?\n(?:.*\n)*?\s*Time:\s+(.+?)\s*$", out, re.M)
        if m:
            info["mtime"] = m.group(1)
    info["mtime_epoch"] = None
    if info["mtime"]:
        try:
            info["mtime_epoch"] = calendar.timegm(
                time.strptime(info["mtime"], "%Y-%m-%d %H:%M:%S UTC"))
        except ValueError:
            pass
    # attribute storage
    m = re.search(r"'Dense' attribute storage fractal heap address:\s+(\d+)", out)
    info["attr_storage"] = "dense" if (m and m.group(1) != UNDEF_ADDR) else "compact"
    # group storage
    if "`stab'" in out:
        info["group_storage"] = "symtab"
    elif "`linfo'" in out:
        m = re.search(r"'Dense' link storage fractal heap address:\s+(\d+)", out)
        info["group_storage"] = "dense-links" if (m and m.group(1) != UNDEF_ADDR) else "compact-links"
        m = re.search(r"Track creation order of links:\s+(\w+)", out)
        info["link_creation_order"] = bool(m and m.group(1).upper() == "TRUE")
    # layout
    m = re.search(r"`layout'.*\n(?:(?!Message \d).*\n)*?\s*Version:\s+(\d+)", out)
    if m:
        info["layout_version"] = int(m.group(1))
        seg = out[m.start():]
        nxt = re.search(r"^Message \d+", seg[1:], re.M)
        if nxt:
            seg = seg[:nxt.start() + 1]
        t = re.search(r"^\s*Type:\s+(\w+)", seg, re.M)
        if t and t.group(1).lower() == "chunked":
            ix = re.search(r"Index Type:\s+(.+?)\s*$", seg, re.M)
            if ix:
                info["chunk_index"] = CHUNK_INDEX.get(ix.group(1).lower(), ix.group(1))
            else:
                # layout message versions 1-3 always use the v1 B-tree
                info["chunk_index"] = "btree_v1" if info["layout_version"] < 4 else None
    return info


# ---------------------------------------------------------------- data bytes

def _read_flat(ds, start, stop):
    """Bytes of flat elements [start, stop) of ds in C order, in few reads."""
    shape = ds.shape
    out = []

    def rec(prefix, dims, lo, hi):
        # elements [lo, hi) of the sub-array ds[prefix] whose shape is dims
        if lo >= hi:
            return
        if not dims:
            out.append(_element_bytes(ds, ds[tuple(prefix)]))
            return
        inner = 1
        for d in dims[1:]:
            inner *= d
        a = -(-lo // inner)  # first whole row
        b = hi // inner      # end of whole rows
        if a > b:  # inside one row
            i = lo // inner
            rec(prefix + [i], dims[1:], lo - i * inner, hi - i * inner)
            return
        if lo < a * inner:
            i = lo // inner
            rec(prefix + [i], dims[1:], lo - i * inner, inner)
        if a < b:
            out.append(np.ascontiguousarray(ds[tuple(prefix + [slice(a, b)])]).tobytes())
        if b * inner < hi:
            rec(prefix + [b], dims[1:], 0, hi - b * inner)

    rec([], list(shape), start, stop)
    return b"".join(out)


def read_window(ds, offset, length):
    """The bytes [offset, offset+length) of the dataset's byte stream."""
    isz = ds.dtype.itemsize
    total = int(np.prod(ds.shape, dtype=np.int64)) * isz if ds.shape is not None else 0
    end = min(offset + length, total)
    if offset >= end:
        return b""
    e0 = offset // isz
    e1 = -(-end // isz)
    raw = _read_flat(ds, e0, e1) if ds.shape else _all_bytes(ds)
    skip = offset - e0 * isz
    return raw[skip:skip + (end - offset)]


def _fixed_size(dt):
    return not dt.hasobject


# ---------------------------------------------------------------- filters / props

FILTER_NAMES = {1: "deflate", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit",
                6: "scaleoffset", 32000: "lzf", 32001: "blosc", 32004: "lz4",
                32008: "bitshuffle", 32015: "zstd", 32013: "zfp", 32017: "sz"}


def _filters(dcpl):
    out = []
    for i in range(dcpl.get_nfilters()):
        code, flags, cd, name = dcpl.get_filter(i)
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        out.append({"id": int(code), "name": name or FILTER_NAMES.get(code, ""),
                    "flags": int(flags), "cd_values": [int(x) for x in cd]})
    return out


def compression_text(filters):
    parts = []
    for f in filters:
        fid, cd = f["id"], f["cd_values"]
        if fid == 1:
            parts.append("gzip:%d" % (cd[0] if cd else 6))
        elif fid == 32015:
            parts.append("zstd:%d" % cd[0] if cd else "zstd")
        elif fid in FILTER_NAMES and fid != 32015:
            parts.append(FILTER_NAMES[fid])
        else:
            parts.append("filter%d" % fid)
    return ",".join(parts)


# ---------------------------------------------------------------- objects

def dump_attr(obj, name=None, index=None):
    """One attribute entry, opened by name or by index: (name, entry)."""
    _fp_default()
    a = {}
    try:
        if name is None:
            aid = h5py.h5a.open(obj.id, index=index)
            name = aid.name
            if isinstance(name, bytes):
                name = name.decode("utf-8", errors="replace")
        else:
            aid = obj.attrs.get_id(name)
        dt = aid.dtype
        tid = aid.get_type()
        space = aid.get_space()
        null = space.get_simple_extent_type() == h5py.h5s.NULL
        shape = None if null else list(aid.shape)
        a.update(type_fields(dt, tid))
        a["shape"] = shape
        strinfo = _string_info(tid)
        if strinfo is not None:
            a["string"] = strinfo
        enum_names = _enum_names(tid)
        value = obj.attrs[name]
        nelem = 0 if null else int(np.prod(shape, dtype=np.int64))
        utf8 = bool(strinfo and strinfo["cset"] == "utf8")
        text = attr_text(value, dt, shape, enum_names, strinfo, lambda r: obj.file[r].name)
        if nelem > BIG_ATTR_ELEMENTS:
            a["value"] = None
            a["text"] = None
            a["truncated"] = True
            arr = np.asarray(value)
            a["sha256"] = (hashlib.sha256(arr.tobytes()).hexdigest()
                           if _fixed_size(arr.dtype) else None)
            if text is not None:
                a["text_sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
        else:
            a["value"] = jsonable(value, utf8)
            a["text"] = text
        a["text_bytes"] = len(text.encode("utf-8")) if text is not None else None
    except Exception as e:  # noqa: BLE001
        a["error"] = "%s: %s" % (type(e).__name__, e)
    if name is None:
        name = "#%d" % index
    return name, a


def dump_attrs(obj):
    out = {}
    try:
        names = list(obj.attrs.keys())
    except Exception as e:  # noqa: BLE001
        return {"": {"error": "listing attributes: %s" % e}}
    for name in names:
        name, a = dump_attr(obj, name=name)
        out[name] = a
    return out


def _strides(shape):
    strides = [1] * len(shape)
    for k in range(len(shape) - 2, -1, -1):
        strides[k] = strides[k + 1] * shape[k + 1]
    return strides


def _element_bytes(ds, v):
    """The bytes of one element h5py read from ds, as stored in C order."""
    # h5py hands a single element back as a NumPy scalar: a number in native
    # byte order (the stored one may be big-endian), a fixed-length string
    # with its trailing NULs cut ("abc" of an |S15): both as the dataset's
    # type again.  No dtype= for an array datatype: h5py returns the base
    # type with the array dimensions appended, whose bytes are already the
    # stored elements.
    if ds.dtype.kind in "biufS" and not ds.dtype.subdtype:
        v = np.asarray(v, dtype=ds.dtype)
    return np.ascontiguousarray(v).tobytes()


def _all_bytes(ds):
    v = ds[()]
    if isinstance(v, h5py.Empty):
        return b""
    if ds.shape == ():
        return _element_bytes(ds, v)
    return np.ascontiguousarray(v).tobytes()


def dump_dataset(ds, entry, opts, windows=(), probes=(), read=True):
    """Fill a dataset entry.  Whatever h5py cannot do leaves "error" and the rest.
    read=False leaves the values out (for a dataset whose reading crashes libhdf5)."""
    _fp_default()
    errors = []

    def attempt(what, fn):
        try:
            return fn()
        except Exception as e:  # noqa: BLE001
            errors.append("%s: %s" % (what, _err(e)))
            return None

    dcpl = ds.id.get_create_plist()
    tid = ds.id.get_type()
    dt = attempt("dtype", lambda: ds.dtype)
    if dt is not None:
        entry.update(type_fields(dt, tid))
    else:
        entry["dtype"] = None
    stype = ds.id.get_space().get_simple_extent_type()
    space = {h5py.h5s.NULL: "null", h5py.h5s.SCALAR: "scalar"}.get(stype, "simple")
    entry["space"] = space
    shape = None if space == "null" else list(ds.shape)
    entry["shape"] = shape
    entry["maxshape"] = (None if shape is None
                         else [-1 if m is None else int(m) for m in (ds.maxshape or ())])
    entry["chunks"] = list(ds.chunks) if ds.chunks else None
    layout = dcpl.get_layout()
    entry["layout"] = LAYOUTS.get(layout, str(layout))
    entry["compression"] = attempt("compression", lambda: ds.compression)
    entry["compression_opts"] = attempt("compression_opts", lambda: jsonable(ds.compression_opts))
    entry["shuffle"] = bool(attempt("shuffle", lambda: ds.shuffle))
    entry["fletcher32"] = bool(attempt("fletcher32", lambda: ds.fletcher32))
    entry["scaleoffset"] = attempt("scaleoffset", lambda: jsonable(ds.scaleoffset))
    filters = attempt("filters", lambda: _filters(dcpl)) or []
    entry["filters"] = filters
    fixed = dt is not None and not dt.hasobject
    fill_defined = dcpl.fill_value_defined() != 0  # H5D_FILL_VALUE_UNDEFINED
    entry["fillvalue"] = None
    if fixed and fill_defined:
        # (h5py 3.7 segfaults reading the fill value of a variable-length type)
        entry["fillvalue"] = attempt("fillvalue", lambda: jsonable(ds.fillvalue))
    entry["fill"] = {
        "defined": FILL_DEFINED.get(dcpl.fill_value_defined(), str(dcpl.fill_value_defined())),
        "time": FILL_TIME.get(dcpl.get_fill_time(), str(dcpl.get_fill_time())),
        "alloc_time": ALLOC_TIME.get(dcpl.get_alloc_time(), str(dcpl.get_alloc_time())),
    }
    if layout == h5py.h5d.CONTIGUOUS and dcpl.get_external_count() > 0:
        ext = []
        for i in range(dcpl.get_external_count()):
            name, off, size = dcpl.get_external(i)
            ext.append([name.decode("latin-1") if isinstance(name, bytes) else name,
                        int(off), int(size)])
        entry["external"] = ext
    isz = int(tid.get_size())
    entry["itemsize"] = isz
    nelem = 0 if shape is None else int(np.prod(shape, dtype=np.int64))
    vlen = dt is not None and dt.hasobject
    size = None if vlen else nelem * isz
    entry["size_bytes"] = size
    entry["storage_size"] = int(ds.id.get_storage_size())
    chunk_offsets = []
    if layout == h5py.h5d.CHUNKED:
        def chunks():
            n = int(ds.id.get_num_chunks())
            entry["num_chunks"] = n
            if 1 <= n <= 16:
                lst = []
                for i in range(n):
                    ci = ds.id.get_chunk_info(i)
                    lst.append({"offset": [int(x) for x in ci.chunk_offset],
                                "addr": int(ci.byte_offset), "size": int(ci.size),
                                "filter_mask": int(ci.filter_mask)})
                entry["chunk_list"] = lst
            for i in range(min(n, 4)):
                chunk_offsets.append(list(ds.id.get_chunk_info(i).chunk_offset))
        attempt("chunk index", chunks)

    props = {
        "user.h5.dtype": dt.str if (fixed and not dt.names and dt.subdtype is None) else None,
        "user.h5.shape": None if shape is None else ",".join(str(x) for x in shape),
        "user.h5.maxshape": None if shape is None else ",".join(str(x) for x in entry["maxshape"]),
        "user.h5.chunks": ",".join(str(x) for x in entry["chunks"]) if entry["chunks"] else "",
        "user.h5.compression": compression_text(filters),
        "user.h5.fillvalue": None,
        "user.h5.layout": entry["layout"],
    }
    if fixed and fill_defined and not dt.subdtype:
        props["user.h5.fillvalue"] = attempt(
            "fillvalue text", lambda: attr_text(np.asarray(ds.fillvalue, dtype=dt), dt, [],
                                                _enum_names(tid), _string_info(tid)))
    entry["props"] = props
    if not read:
        return

    # data
    entry["sha256"] = None
    entry["first16"] = None
    if vlen:
        if nelem <= VALUES_LIMIT and h5py.check_ref_dtype(dt) is not None:
            def deref():
                v = np.asarray(ds[()])
                return [ds.file[r].name if r else None for r in v.reshape(-1)]
            entry["values"] = attempt("read", deref)
        elif nelem <= VALUES_LIMIT:
            entry["values"] = attempt("read", lambda: jsonable(_fp_default(ds[()]), True))
    elif fixed and size <= opts["max_bytes"]:
        raw = attempt("read", lambda: _all_bytes(ds))
        if raw is not None and len(raw) != size:
            errors.append("read: got %d bytes, expected %d" % (len(raw), size))
        elif raw is not None:
            entry["sha256"] = hashlib.sha256(raw).hexdigest()
            entry["first16"] = raw[:16].hex()
    wins = list(windows)
    if fixed and size > opts["max_bytes"]:
        wins = [(0, MiB), (max(0, size - MiB), min(MiB, size))] + wins
        if chunk_offsets and shape:
            strides = _strides(shape)
            for off in chunk_offsets:
                b = sum(o * s for o, s in zip(off, strides)) * isz
                wins.append((b // MiB * MiB, MiB))
    if wins and fixed:
        seen = set()
        out = []
        for off, length in wins:
            if (off, length) in seen:
                continue
            seen.add((off, length))
            raw = attempt("read window", lambda: read_window(ds, off, length))
            if raw is not None:
                out.append({"offset": off, "length": len(raw),
                            "sha256": hashlib.sha256(raw).hexdigest()})
        entry["windows"] = out
    if probes and shape is not None:
        pr = []
        strides = _strides(shape)
        for idx in probes:
            idx = [int(i) for i in idx]
            pr.append({"index": idx,
                       "byte_offset": sum(i * s for i, s in zip(idx, strides)) * isz,
                       "value": attempt("probe", lambda: jsonable(ds[tuple(idx)], True))})
        entry["probes"] = pr
    if errors:
        entry["error"] = "; ".join(errors)


def _superblock(filename):
    with open(filename, "rb") as fh:
        off = 0
        size = os.fstat(fh.fileno()).st_size
        while off < size:
            fh.seek(off)
            head = fh.read(9)
            if head[:8] == b"\x89HDF\r\n\x1a\n":
                return {"superblock_version": head[8], "userblock": off}
            off = 512 if off == 0 else off * 2
    return {"superblock_version": None, "userblock": None}


def _err(e):
    return "%s: %s" % (type(e).__name__, e)


def _walk(f, filename, use_h5debug, details):
    """Depth-first walk; details(obj, entry, path) adds attrs/data (None: skeleton)."""
    result = {}
    seen = {}  # object header address -> first path

    def object_common(obj, entry, path):
        info = h5py.h5o.get_info(obj.id)
        entry["addr"] = int(info.addr)
        entry["nlink"] = int(info.rc)
        first = seen.get(info.addr)
        if first is not None:
            entry["hardlink_of"] = first
        else:
            seen[info.addr] = path
        if use_h5debug:
            entry["ohdr"] = h5debug_info(filename, info.addr)
        return first is None

    def leaf(obj, kind, path):
        e = {"kind": kind}
        result[path] = e
        try:
            object_common(obj, e, path)
            if details is not None:
                details(obj, e, path)
        except Exception as ex:  # noqa: BLE001
            e["error"] = _err(ex)

    def visit(group, path):
        entry = {"kind": "group"}
        result[path] = entry
        try:
            fresh = object_common(group, entry, path)
            if path == "/":
                fi = {"size": os.path.getsize(filename)}
                fi.update(_superblock(filename))
                fi["libhdf5"] = h5py.version.hdf5_version
                fi["h5py"] = h5py.version.version
                entry["file"] = fi
            names = list(group.keys())
            entry["members"] = names
            if details is not None:
                details(group, entry, path)
        except Exception as e:  # noqa: BLE001
            entry["error"] = _err(e)
            return
        if not fresh:
            return
        for name in names:
            child = posixpath.join(path, name)
            try:
                link = group.get(name, getlink=True)
            except Exception as e:  # noqa: BLE001
                try:
                    ltype = group.id.links.get_info(name.encode("utf-8")).type
                except Exception:  # noqa: BLE001
                    ltype = None
                if ltype is not None and ltype >= 64:  # H5L_TYPE_UD_MIN
                    result[child] = {"kind": "udlink", "link_type": int(ltype)}
                else:
                    result[child] = {"kind": None, "error": _err(e)}
                continue
            if isinstance(link, h5py.SoftLink):
                t = link.path
                sym = posixpath.relpath(t, path) if t.startswith("/") else t
                try:
                    dangling = group.get(name) is None
                except Exception:  # noqa: BLE001
                    dangling = True
                result[child] = {"kind": "softlink", "target": t, "symlink": sym,
                                 "dangling": dangling}
                continue
            if isinstance(link, h5py.ExternalLink):
                result[child] = {"kind": "extlink", "file": link.filename, "path": link.path,
                                 "target": "%s::%s" % (link.filename, link.path)}
                continue
            if not isinstance(link, h5py.HardLink):
                result[child] = {"kind": "udlink", "error": "unknown link %r" % (link,)}
                continue
            try:
                obj = group[name]
            except Exception as e:  # noqa: BLE001
                result[child] = {"kind": None, "error": _err(e)}
                continue
            if isinstance(obj, h5py.Group):
                visit(obj, child)
            elif isinstance(obj, h5py.Dataset):
                leaf(obj, "dataset", child)
            elif isinstance(obj, h5py.Datatype):
                leaf(obj, "datatype", child)
            else:
                result[child] = {"kind": None, "error": "unknown object %r" % (obj,)}

    visit(f["/"], "/")
    return result


def _details(opts, parts=("attrs", "data")):
    def details(obj, entry, path):
        if "data" in parts or "meta" in parts:
            if isinstance(obj, h5py.Dataset):
                dump_dataset(obj, entry, opts, opts["windows"].get(path, ()),
                             opts["probes"].get(path, ()), read="data" in parts)
            elif isinstance(obj, h5py.Datatype):
                entry.update(type_fields(obj.dtype, obj.id))
        if "attrs" in parts:
            entry["attrs"] = dump_attrs(obj)
    return details


def _open(filename):
    try:
        return h5py.File(filename, "r"), None
    except Exception as e:  # noqa: BLE001
        return None, {"/": {"kind": None, "error": _err(e)}}


def _dump_inproc(filename, opts, use_h5debug):
    f, err = _open(filename)
    if err:
        return err
    try:
        try:
            return _walk(f, filename, use_h5debug, _details(opts))
        except Exception as e:  # noqa: BLE001
            return {"/": {"kind": None, "error": _err(e)}}
    finally:
        f.close()


def _child(args, opts, timeout):
    """Run this script in a child process; (json or None, error text or None)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--_opts", json.dumps(opts)] + args
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "h5py did not finish within %d s" % timeout
    if p.returncode == 0:
        try:
            return json.loads(p.stdout.decode("utf-8")), None
        except ValueError as e:
            return None, "bad child output: %s" % e
    if p.returncode < 0:
        return None, "libhdf5/h5py crashed (signal %d) reading this" % -p.returncode
    tail = p.stderr.decode("utf-8", "replace").strip().splitlines()
    return None, "child failed: %s" % (tail[-1] if tail else p.returncode)


def _dump_isolated(filename, opts, use_h5debug):
    """Crash-proof dump: every object (and, if need be, every attribute) is read
    in a child process, so a segfault in libhdf5 costs only that object."""
    skel, err = _child(["--_mode", "skeleton", filename] + ([] if use_h5debug else ["--no-h5debug"]),
                       opts, 600)
    if skel is None:
        return {"/": {"kind": None, "error": err}}
    for path, e in skel.items():
        if e.get("kind") not in ("group", "dataset", "datatype") or "error" in e:
            continue
        got, err = _child(["--_mode", "object", "--_path", path, filename], opts, 600)
        if got is not None:
            e.update(got)
            continue
        if e["kind"] != "group":
            got, derr = _child(["--_mode", "data", "--_path", path, filename], opts, 600)
            if got is None:
                # Its values crash libhdf5: what it says of the dataset
                # (type, shape, filters) is still a reference.
                got, _ = _child(["--_mode", "meta", "--_path", path, filename], opts, 600)
            if got is not None:
                e.update(got)
            if derr is not None:
                e["error"] = derr
        got, aerr = _child(["--_mode", "attrs", "--_path", path, filename], opts, 300)
        if got is None:
            got = {}
            n, _ = _child(["--_mode", "nattrs", "--_path", path, filename], opts, 60)
            for i in range(n or 0):
                one, oerr = _child(["--_mode", "attr", "--_path", path, "--_index", str(i),
                                    filename], opts, 60)
                if one is None:
                    got["#%d" % i] = {"error": oerr}
                else:
                    got.update(one)
            if n is None:
                got[""] = {"error": aerr}
        e["attrs"] = got
    return skel


def _child_main(a, opts):
    f, err = _open(a.file)
    if err:
        print(json.dumps(err))
        return 0
    with f:
        if a._mode == "inproc":
            out = _walk(f, a.file, not a.no_h5debug, _details(opts))
        elif a._mode == "skeleton":
            out = _walk(f, a.file, not a.no_h5debug, None)
        else:
            obj = f[a._path]
            if a._mode == "object":
                out = {}
                _details(opts)(obj, out, a._path)
            elif a._mode in ("data", "meta"):
                out = {}
                _details(opts, (a._mode,))(obj, out, a._path)
            elif a._mode == "attrs":
                out = dump_attrs(obj)
            elif a._mode == "nattrs":
                out = h5py.h5a.get_num_attrs(obj.id)
            elif a._mode == "attr":
                name, one = dump_attr(obj, index=a._index)
                out = {name: one}
            else:
                raise SystemExit("unknown mode %s" % a._mode)
    sys.stdout.write(json.dumps(out, ensure_ascii=False, allow_nan=False))
    return 0


def dump(filename, max_bytes=DEFAULT_MAX_BYTES, use_h5debug=True, windows=None, probes=None,
         isolate=True):
    """Return the reference dump of filename as a dict (see the module doc).

    windows: {path: [(byte_offset, length), ...]} extra windows to hash.
    probes:  {path: [index tuple, ...]} elements whose values to record.
    isolate: True (default) reads the file in a child process and, should libhdf5
             crash on it, again one object at a time; False reads it in this
             process (faster, for files known to be sane).
    """
    opts = {"max_bytes": max_bytes,
            "windows": {k: [list(w) for w in v] for k, v in (windows or {}).items()},
            "probes": {k: [list(i) for i in v] for k, v in (probes or {}).items()}}
    use_h5debug = use_h5debug and shutil.which("h5debug") is not None
    if not isolate:
        return _dump_inproc(filename, opts, use_h5debug)
    got, _ = _child(["--_mode", "inproc", filename] + ([] if use_h5debug else ["--no-h5debug"]),
                    opts, 3600)
    if got is not None:
        return got
    return _dump_isolated(filename, opts, use_h5debug)


def to_json(d):
    """The dump as JSON text: one line per object (compact, yet diffs by object)."""
    lines = ["%s: %s" % (json.dumps(k, ensure_ascii=False),
                         json.dumps(v, ensure_ascii=False, allow_nan=False, separators=(",", ":")))
             for k, v in d.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description="Print the h5py reference dump of an HDF5 file as JSON.")
    ap.add_argument("file")
    ap.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES,
                    help="hash whole datasets up to this many bytes (default 64 MiB)")
    ap.add_argument("--no-h5debug", action="store_true", help="skip the object header facts")
    ap.add_argument("--no-isolate", action="store_true",
                    help="read in this process (a libhdf5 crash then kills the dump)")
    ap.add_argument("--window", action="append", default=[], metavar="PATH:OFFSET:LENGTH")
    ap.add_argument("--probe", action="append", default=[], metavar="PATH:I,J,...")
    # internal: the crash-isolating children
    ap.add_argument("--_opts", help=argparse.SUPPRESS)
    ap.add_argument("--_mode", help=argparse.SUPPRESS)
    ap.add_argument("--_path", help=argparse.SUPPRESS)
    ap.add_argument("--_index", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a._mode:
        return _child_main(a, json.loads(a._opts))
    windows, probes = {}, {}
    for w in a.window:
        p, off, ln = w.rsplit(":", 2)
        windows.setdefault(p, []).append((int(off), int(ln)))
    for pr in a.probe:
        p, idx = pr.rsplit(":", 1)
        probes.setdefault(p, []).append(tuple(int(i) for i in idx.split(",")))
    d = dump(a.file, a.max_bytes, not a.no_h5debug, windows, probes, isolate=not a.no_isolate)
    sys.stdout.write(to_json(d))
    return 0


if __name__ == "__main__":
    sys.exit(main())
