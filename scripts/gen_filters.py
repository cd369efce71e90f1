#!/usr/bin/python3
"""Write the filter test files: chunked datasets through every filter h5mount
decodes besides deflate/shuffle/fletcher32.

Run with Debian's interpreter (h5py 3.7 on libhdf5 1.10.8) and its filter
plugins (packages hdf5-filter-plugin, hdf5-plugin-lzf, bitshuffle,
hdf5-filter-plugin-zfp-serial), never the python3 on PATH:

    HDF5_PLUGIN_PATH=/usr/lib/x86_64-linux-gnu/hdf5/serial/plugins \
        /usr/bin/python3 scripts/gen_filters.py [OUTDIR]

OUTDIR defaults to testdata/filters/.  It gets one NAME.h5 per filter family
and filters.json, which h5/internal/filter/plugins_test.go reads:

{
  "libhdf5": "1.10.8", "h5py": "3.7.0",
  "files": [
    {
      "file": "lzf.h5"                  in OUTDIR, or
      "path": "../shared/corpus/..."    a shared corpus file, from the project root
      "datasets": [
        {
          "name": "/lzf_i2",            dataset path
          "addr": 1234,                 object header address (h5o.get_info().addr)
          "dtype": "<i2", "itemsize": 2, "shape": [..], "chunks": [..],
          "filters": [[id, n, [cd_values..]], ..],   the pipeline, in write order:
                        n parameters, of which (h5py's limit) the first 16
          "nchunks": chunks stored (every chunk of the extent),
          "masked_chunks": chunks stored with a nonzero filter mask
                          (an optional filter that did not help was skipped),
          "sha256": sha256 of the whole dataset in the file's datatype: what
                    H5Dread returns with the memory type equal to the file
                    type, so no conversion (n-bit padding bits stay zero,
                    big-endian stays big-endian).  Row-major, extent only.
          "expect": "ok" | "unsupported"   (unsupported.h5's SZ: h5mount has no decoder;
                    every chunk must fail with ErrUnsupported naming the filter)
        }
      ]
    }
  ]
}

libhdf5 here has no zstd plugin: zstd.h5 and the bitshuffle+zstd dataset are
written with write_direct_chunk, compressed by the zstd command line tool
(and bit-shuffled by this script, checked against bitshuffle's own
bitshuffle() on the way), and their sha256 is of the data the script wrote.
The corpus file h5ex_d_zstd.h5 is checked the same way: its chunks are
decompressed here by the zstd tool.  Nor is there a VBZ plugin (Oxford
Nanopore's filter for fast5 signals): vbz.h5's chunks are packed by this
script (see gen_vbz) and compressed by the zstd tool.  lzo.h5 is written by
PyTables (its LZO filter, which h5py lacks), and its sha256 is of what
PyTables reads back.  szip.h5 is libhdf5's own szip (Debian builds it on
libaec), with parameters set through h5py's low-level API where h5py's
create_dataset has no word for them (big-endian, 12- and 24-bit pixels);
zfp.h5 is H5Z-ZFP's (package hdf5-filter-plugin-zfp-serial), written and
read back by a process of its own that loads no other plugin (see
write_family_alone); unsupported.h5 holds the one filter nothing here
decodes (see gen_unsupported).
"""

import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

import h5py
import numpy as np
from h5py import h5d, h5p, h5s, h5t, h5z

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "testdata", "filters")
CORPUS = "../shared/corpus/"

LZF, BLOSC, LZ4, BSHUF, ZSTD, BZIP2, VBZ, ZFP = 32000, 32001, 32004, 32008, 32015, 307, 32020, 32013
UNSUPPORTED = (32017,)  # SZ: h5mount answers "unsupported"

rng = np.random.default_rng(20240611)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def grid(shape, chunks):
    return tuple((s + c - 1) // c for s, c in zip(shape, chunks))


def raw_bytes(ds):
    """The dataset read with the memory type equal to the file type."""
    tid = ds.id.get_type()
    arr = np.empty(ds.shape, dtype=np.dtype("V%d" % tid.get_size()))
    ds.id.read(h5s.ALL, h5s.ALL, arr, mtype=tid)
    return arr.tobytes()


def pipeline(ds):
    pl = ds.id.get_create_plist()
    # h5py's get_filter fetches at most 16 parameters (and reads past them):
    # record the count and the first 16 only.
    res = []
    for i in range(pl.get_nfilters()):
        fid, _, cd, _ = pl.get_filter(i)
        res.append([int(fid), len(cd), [int(v) for v in cd[:16]]])
    return res


def stored_chunks(ds):
    n = ds.id.get_num_chunks()
    return [ds.id.get_chunk_info(i) for i in range(n)]


def describe(ds, data_sha=None):
    infos = stored_chunks(ds)
    want = int(np.prod(grid(ds.shape, ds.chunks)))
    assert len(infos) == want, (ds.name, len(infos), want)
    tid = ds.id.get_type()
    return {
        "name": ds.name,
        "addr": h5py.h5o.get_info(ds.id).addr,
        "dtype": ds.dtype.str if ds.dtype.names is None else str(ds.dtype),
        "itemsize": tid.get_size(),
        "shape": list(ds.shape),
        "chunks": list(ds.chunks),
        "filters": pipeline(ds),
        "nchunks": len(infos),
        "masked_chunks": sum(1 for i in infos if i.filter_mask != 0),
        "sha256": data_sha if data_sha is not None else sha(raw_bytes(ds)),
        "expect": "unsupported" if any(fl[0] in UNSUPPORTED for fl in pipeline(ds)) else "ok",
    }


def smooth(shape, dtype, scale=100.0):
    n = int(np.prod(shape))
    x = np.linspace(0, 6 * np.pi, n)
    v = np.sin(x) * scale + np.cos(3 * x) * scale / 4
    return v.reshape(shape).astype(dtype)


def ints(shape, dtype, lo, hi):
    return rng.integers(lo, hi, size=shape).astype(dtype)


# ---- LZF (h5py's own filter) ----

def gen_lzf(f):
    out = []
    ds = f.create_dataset("lzf_i2", data=smooth((50, 37), "<i2"), chunks=(16, 16), compression="lzf")
    out.append(ds)
    ds = f.create_dataset("lzf_f8_be", data=np.round(smooth((1000,), "<f8"), 0).astype(">f8"), chunks=(128,), compression="lzf")
    out.append(ds)
    ds = f.create_dataset("lzf_f4_shuffle", data=smooth((300,), "<f4"), chunks=(64,), compression="lzf",
                          shuffle=True, fletcher32=True)
    out.append(ds)
    # Incompressible: the optional filter fails and libhdf5 stores those
    # chunks unfiltered, with the filter's mask bit set.
    data = ints((2048,), "u1", 0, 256)
    data[:512] = np.arange(512) % 7
    ds = f.create_dataset("lzf_random_u1", data=data, chunks=(512,), compression="lzf")
    assert sum(1 for i in stored_chunks(ds) if i.filter_mask) == 3
    out.append(ds)
    # Long runs: extended back-references (length byte after the control).
    data = np.zeros(5000, "<i4")
    data[::997] = np.arange(len(data[::997])) + 1
    ds = f.create_dataset("lzf_runs_i4", data=data, chunks=(2500,), compression="lzf")
    out.append(ds)
    return out


# ---- LZ4 (HDF Group plugin 32004) ----

def lz4_blocks(raw):
    """(orig size, block size, [(compressed size, block size)]) of a stored LZ4 chunk."""
    orig = int.from_bytes(raw[:8], "big")
    bs = int.from_bytes(raw[8:12], "big")
    bs = min(bs, orig)
    pos, done, blocks = 12, 0, []
    while done < orig:
        b = min(bs, orig - done)
        cs = int.from_bytes(raw[pos:pos + 4], "big")
        blocks.append((cs, b))
        pos += 4 + cs
        done += b
    assert pos == len(raw), (pos, len(raw))
    return orig, bs, blocks


def gen_lz4(f):
    out = []
    ds = f.create_dataset("lz4_i4", data=smooth((60, 30), "<i4"), chunks=(32, 16), compression=LZ4)
    out.append(ds)
    ds = f.create_dataset("lz4_f8_blocks", data=smooth((1000,), "<f8"), chunks=(200,), compression=LZ4,
                          compression_opts=(256,))
    out.append(ds)
    data = ints((2048,), "u1", 0, 256)
    data[512:1024] = 0
    ds = f.create_dataset("lz4_mixed_u1", data=data, chunks=(2048,), compression=LZ4, compression_opts=(512,))
    raw = ds.id.read_direct_chunk((0,))[1]
    _, _, blocks = lz4_blocks(raw)
    assert any(cs == b for cs, b in blocks) and any(cs < b for cs, b in blocks), blocks
    out.append(ds)
    ds = f.create_dataset("lz4_i2_be", data=smooth((77, 45), ">i2"), chunks=(20, 20), compression=LZ4,
                          compression_opts=(0,))
    out.append(ds)
    ds = f.create_dataset("lz4_shuffle_f4", data=smooth((640,), "<f4"), chunks=(128,), compression=LZ4,
                          compression_opts=(100,), shuffle=True)
    out.append(ds)
    for d in out:
        for info in stored_chunks(d):
            lz4_blocks(d.id.read_direct_chunk(info.chunk_offset)[1])
    return out


# ---- bitshuffle (32008) ----

def bshuf_default_block(elem):
    return max(8192 // elem // 8 * 8, 128)


def bitshuffle_block(b, elem):
    """Bit-transpose one block (a multiple of 8 elements): row 8*j+k holds
    bit k of byte j of every element, eight elements a byte, LSB first."""
    a = np.frombuffer(b, np.uint8).reshape(-1, elem)
    bits = np.unpackbits(a, axis=1, bitorder="little")
    return np.packbits(bits.T, axis=1, bitorder="little").tobytes()


def bitshuffle_blocks(raw, elem, block):
    n = len(raw) // elem
    block = block or bshuf_default_block(elem)
    blocks, i = [], 0
    while i + block <= n:
        blocks.append(bitshuffle_block(raw[i * elem:(i + block) * elem], elem))
        i += block
    last = (n - i) - (n - i) % 8
    if last:
        blocks.append(bitshuffle_block(raw[i * elem:(i + last) * elem], elem))
        i += last
    return blocks, raw[i * elem:]


def zstd_compress(b, level=3):
    with tempfile.NamedTemporaryFile() as t:
        t.write(b)
        t.flush()
        return subprocess.run(["zstd", "-q", "-c", "-%d" % level, t.name], check=True,
                              capture_output=True).stdout


def zstd_decompress(b):
    return subprocess.run(["zstd", "-q", "-d", "-c"], input=b, check=True, capture_output=True).stdout


def padded_chunk(arr, sc, chunks, fill=0):
    buf = np.full(chunks, fill, dtype=arr.dtype)
    sl = tuple(slice(s * c, min((s + 1) * c, n)) for s, c, n in zip(sc, chunks, arr.shape))
    buf[tuple(slice(0, s.stop - s.start) for s in sl)] = arr[sl]
    return buf


def all_scaled(shape, chunks):
    g = grid(shape, chunks)
    return [tuple(int(x) for x in idx) for idx in np.ndindex(*g)]


def optional_filter_dataset(f, name, dtype, shape, chunks, fid, cd):
    dcpl = h5p.create(h5p.DATASET_CREATE)
    dcpl.set_chunk(chunks)
    dcpl.set_filter(fid, h5z.FLAG_OPTIONAL, cd)
    tid = h5t.py_create(np.dtype(dtype))
    dsid = h5d.create(f.id, name.encode(), tid, h5s.create_simple(shape), dcpl=dcpl)
    return h5py.Dataset(dsid)


def gen_bitshuffle(f):
    import bitshuffle.ext as bext

    # Our understanding of the block layout agrees with the library's.
    for dt, n, block in (("<i4", 300, 0), ("<u2", 500, 64), ("<f8", 1500, 0), ("<c16", 77, 16)):
        a = smooth((n,), dt)
        blocks, tail = bitshuffle_blocks(a.tobytes(), a.dtype.itemsize, block)
        assert b"".join(blocks) + tail == bext.bitshuffle(a, block).tobytes(), (dt, n, block)

    out = []
    ds = f.create_dataset("bs_i4", data=smooth((600,), "<i4"), chunks=(300,), compression=BSHUF,
                          compression_opts=(0, 0))
    out.append(ds)
    ds = f.create_dataset("bs_u2_block64", data=ints((30, 30), "<u2", 0, 5000), chunks=(25, 20),
                          compression=BSHUF, compression_opts=(64, 0))
    out.append(ds)
    ds = f.create_dataset("bs_i8", data=smooth((100,), "<i8", 1e9), chunks=(100,), compression=BSHUF)
    out.append(ds)
    ds = f.create_dataset("bs_f8_lz4", data=smooth((1200,), "<f8"), chunks=(1100,), compression=BSHUF,
                          compression_opts=(0, 2))
    out.append(ds)
    ds = f.create_dataset("bs_u1_lz4", data=ints((3000,), "u1", 0, 40), chunks=(1500,), compression=BSHUF,
                          compression_opts=(128, 2))
    out.append(ds)
    ds = f.create_dataset("bs_f4_be_lz4", data=smooth((30, 33), ">f4"), chunks=(16, 16), compression=BSHUF,
                          compression_opts=(0, 2))
    out.append(ds)
    c = (smooth((301,), "<f8") + 1j * smooth((301,), "<f8", 3)).astype("<c16")
    ds = f.create_dataset("bs_c16_lz4", data=c, chunks=(301,), compression=BSHUF, compression_opts=(0, 2))
    out.append(ds)
    res = [(d, None) for d in out]

    # bitshuffle + zstd (compression 3): bitshuffle 0.3.5 has no zstd, so
    # the chunks are made here: 12-byte header (total bytes, block bytes,
    # big-endian), per block a 4-byte big-endian size and a zstd frame,
    # then the elements that do not fill a group of 8, as they are.
    for name, dt, shape, chunks, block in (("bs_f4_zstd", "<f4", (1000,), (700,), 0),
                                           ("bs_i2_be_zstd", ">i2", (30, 41), (16, 16), 64)):
        data = smooth(shape, dt)
        ds = optional_filter_dataset(f, name, dt, shape, chunks, BSHUF, (block, 3, 5))
        elem = data.dtype.itemsize
        for sc in all_scaled(shape, chunks):
            raw = padded_chunk(data, sc, chunks).tobytes()
            blocks, tail = bitshuffle_blocks(raw, elem, block)
            bbytes = (block or bshuf_default_block(elem)) * elem
            stored = len(raw).to_bytes(8, "big") + bbytes.to_bytes(4, "big")
            for b in blocks:
                z = zstd_compress(b, 5)
                stored += len(z).to_bytes(4, "big") + z
            stored += tail
            ds.id.write_direct_chunk(tuple(s * c for s, c in zip(sc, chunks)), stored, 0)
        res.append((ds, sha(data.tobytes())))
    return res


# ---- zstd (32015): no plugin here, chunks made by the zstd tool ----

def gen_zstd(f):
    res = []
    for name, dt, shape, chunks, level in (("zstd_i4", "<i4", (60, 40), (32, 16), 3),
                                           ("zstd_f8_be", ">f8", (300,), (128,), 19),
                                           ("zstd_u1_random", "u1", (3000,), (1024,), 1)):
        data = smooth(shape, dt) if dt != "u1" else ints(shape, dt, 0, 256)
        ds = optional_filter_dataset(f, name, dt, shape, chunks, ZSTD, (level,))
        for sc in all_scaled(shape, chunks):
            raw = padded_chunk(data, sc, chunks).tobytes()
            z = zstd_compress(raw, level)
            assert zstd_decompress(z) == raw
            ds.id.write_direct_chunk(tuple(s * c for s, c in zip(sc, chunks)), z, 0)
        res.append((ds, sha(data.tobytes())))
    return res


# ---- VBZ (32020, Oxford Nanopore): no plugin here, chunks made by this script ----
# A chunk is the decoded size (4 bytes, little-endian), then zstd (the tool)
# of a StreamVByte stream: 2-bit keys, four a byte, low bits first, then the
# values, each the integer sign-extended to 32 bits (or the zigzag of its
# difference from the one before, taken in 16 bits for 2-byte integers as
# ONT's SSE3 code takes it), in key+1 little-endian bytes; in version 1
# integers of one byte take key 0, 1, 2, 3 as 0, 1, 2, 4 nibbles, low nibble
# first.  cd_values: version, integer size, delta-zigzag, zstd level.

def vbz_pack(raw, isize, zigzag, nibbles):
    vals = np.frombuffer(raw, dtype="<i%d" % isize).astype(np.int64)
    if zigzag:
        # differences in 32 bits, but 16 for 2-byte integers (ONT's SSE3 code)
        bits = 16 if isize == 2 else 32
        d = (np.diff(vals, prepend=0) + 2**(bits - 1)) % 2**bits - 2**(bits - 1)
        vals = np.where(d < 0, -2 * d - 1, 2 * d)
    vals = [int(v) % 2**32 for v in vals]
    keys = bytearray((len(vals) + 3) // 4)
    body = bytearray()
    nib = []
    for i, v in enumerate(vals):
        if nibbles:
            k = 0 if v == 0 else 1 if v < 16 else 2 if v < 256 else 3
            nib += [(v >> (4 * j)) & 15 for j in range((1 << k) >> 1)]
        else:
            k = 0 if v < 1 << 8 else 1 if v < 1 << 16 else 2 if v < 1 << 24 else 3
            body += v.to_bytes(4, "little")[:k + 1]
        keys[i // 4] |= k << (2 * (i % 4))
    if nibbles:
        nib += [0] * (len(nib) % 2)
        body = bytes(nib[j] | nib[j + 1] << 4 for j in range(0, len(nib), 2))
    return bytes(keys) + bytes(body)


def gen_vbz(f):
    own = np.random.default_rng(32020)  # its own, so the other files' data stay as they were

    def ints(shape, dtype, lo, hi):
        return own.integers(lo, hi, size=shape).astype(dtype)

    walk = np.cumsum(ints((2500,), "<i4", -40, 41)) + 400  # a nanopore signal's shape
    res = []
    for name, dt, data, chunks, cd in (
            ("vbz_i2_v1", "<i2", walk.astype("<i2"), (1000,), (1, 2, 1, 1)),
            ("vbz_i2_v0", "<i2", walk.astype("<i2"), (700,), (0, 2, 1, 1)),
            ("vbz_i2_plain", "<i2", ints((300,), "<i2", -32768, 32768), (300,), (1, 2, 0, 1)),
            ("vbz_i1_nibbles", "|i1", ints((999,), "|i1", -128, 128), (400,), (1, 1, 1, 1)),
            ("vbz_u1_nibbles_plain", "|u1", ints((333,), "|u1", 0, 256), (333,), (1, 1, 0, 3)),
            ("vbz_i4_no_zstd", "<i4", walk.astype("<i4").reshape(50, 50), (20, 25), (1, 4, 1, 0)),
            ("vbz_f8_zstd_only", "<f8", smooth((600,), "<f8"), (256,), (1, 0, 0, 5))):
        ds = optional_filter_dataset(f, name, dt, data.shape, chunks, VBZ, cd)
        assert data.dtype == np.dtype(dt), name
        version, isize, zigzag, level = cd
        for sc in all_scaled(data.shape, chunks):
            raw = padded_chunk(data, sc, chunks).tobytes()
            body = vbz_pack(raw, isize, zigzag, version == 1 and isize == 1) if isize else raw
            if level:
                z = zstd_compress(body, level)
                assert zstd_decompress(z) == body
                body = z
            ds.id.write_direct_chunk(tuple(s * c for s, c in zip(sc, chunks)), len(raw).to_bytes(4, "little") + body, 0)
        res.append((ds, sha(data.tobytes())))
    return res


# ---- LZO (305, PyTables' filter; pandas' complib="lzo"): PyTables writes it ----
# h5py cannot read it, so the reference bytes are what PyTables reads back.

def gen_lzo(path):
    import tables

    own = np.random.default_rng(305)  # its own, so the other files' data stay as they were
    arrays = [
        ("lzo_f8", smooth((300, 40), "<f8"), (64, 16), False),
        ("lzo_shuffle_i4", np.cumsum(own.integers(-3, 4, size=(5000,))).astype("<i4"), (1000,), True),
        ("lzo_u1_random", own.integers(0, 256, size=(3000,)).astype("u1"), (1024,), False),  # LZO gives up: stored as it is
        ("lzo_i2_be", smooth((77, 13), ">i2"), (20, 13), False),
    ]
    with tables.open_file(path, "w") as t:
        for name, data, chunks, shuffle in arrays:
            flt = tables.Filters(complevel=1, complib="lzo", shuffle=shuffle)
            t.create_carray("/", name, obj=data, chunkshape=chunks, filters=flt)
        rows = np.zeros(700, dtype=[("x", "<f8"), ("n", "<i4"), ("tag", "S6")])
        rows["x"] = np.linspace(0, 7, 700)
        rows["n"] = np.arange(700) % 17
        rows["tag"] = [b"r%d" % (i % 40) for i in range(700)]
        t.create_table("/", "lzo_table", obj=rows, chunkshape=(128,), filters=tables.Filters(complevel=1, complib="lzo"))
    with tables.open_file(path, "r") as t:
        return [("/" + n, sha(t.get_node("/" + n).read().tobytes())) for n in [a[0] for a in arrays] + ["lzo_table"]]


# ---- bzip2 (307) ----

def gen_bzip2(f):
    out = []
    out.append(f.create_dataset("bz2_i4", data=smooth((100, 30), "<i4"), chunks=(64, 16), compression=BZIP2,
                                compression_opts=(9,)))
    out.append(f.create_dataset("bz2_f8_be", data=smooth((500,), ">f8"), chunks=(128,), compression=BZIP2,
                                compression_opts=(1,)))
    return out


# ---- blosc (32001, hdf5-blosc on c-blosc 1.x) ----

def gen_blosc(f):
    out = []
    noise = np.random.default_rng(32001)  # its own: the other files' data stay as they were

    def wavy(shape, dt):
        # Noise in eighths: the low bits of the mantissas stay zero, so that
        # the chunks compress and the files stay small.
        v = smooth(shape, "<f8", 100.0)
        if np.dtype(dt).kind == "f":
            v = np.round(v * 8 + noise.normal(0, 4, size=shape)) / 8
        if np.dtype(dt).kind == "u":
            v += 128
        return v.astype(dt)

    # (Level 0 and chunks under 128 bytes make c-blosc store the chunk as
    # it is, 16 bytes longer: hdf5-blosc then fails and libhdf5 stores the
    # chunk unfiltered. The Go tests write such frames.)
    compound = np.dtype([("t", "<i4"), ("x", "<f8")])         # 12 bytes: split into 12 streams
    wide = np.dtype([("a", "<f8"), ("b", "<f8"), ("c", "<i8")])  # 24 bytes: more than 16, never split
    # cd_values: 4 set by the filter, then clevel, shuffle (0 none, 1 byte,
    # 2 bit), compressor (0 blosclz, 1 lz4, 2 lz4hc, 3 snappy, 4 zlib, 5 zstd)
    specs = (("blosc_lz_i4", "<i4", (40, 30), (32, 16), (5, 1, 0)),
             ("blosc_lz4_bit_i2", ">i2", (500,), (200,), (9, 2, 1)),
             ("blosc_zstd_f8", "<f8", (300,), (150,), (3, 1, 5)),
             # Larger chunks: split into streams (every compressor but zstd),
             # several blocks (zstd at level 1, elements of over 16 bytes, u1
             # at level 1) with a shorter last one, partial edge chunks.
             ("blosc_lz_f8_big", "<f8", (30000,), (20000,), (5, 1, 0)),
             ("blosc_lz4_i4_big", "<i4", (200, 900), (100, 701), (7, 1, 1)),
             ("blosc_lz4hc_bit_u2", "<u2", (100000,), (65536,), (9, 2, 2)),
             ("blosc_snappy_f4", "<f4", (30000,), (25000,), (5, 1, 3)),
             ("blosc_zlib_i8", "<i8", (40000,), (30000,), (6, 1, 4)),
             ("blosc_zstd_bit_f8", "<f8", (20000,), (13333,), (9, 2, 5)),
             ("blosc_zstd_level1_i2", "<i2", (90000,), (60000,), (1, 1, 5)),   # 32 KiB blocks, not split
             ("blosc_lz_plain_u1", "|u1", (300000,), (131072,), (1, 0, 0)),
             ("blosc_lz_level9_f8", "<f8", (12000,), (12000,), (9, 1, 0)),
             ("blosc_bit_odd_i4", "<i4", (3000,), (1001,), (5, 2, 1)),       # not a multiple of 8 elements
             ("blosc_compound", compound, (8000,), (6000,), (5, 1, 0)),
             ("blosc_wide_lz4", wide, (7000,), (6000,), (5, 1, 1)))
    for name, dt, shape, chunks, opts in specs[:3]:
        out.append(f.create_dataset(name, data=smooth(shape, dt), chunks=chunks, compression=BLOSC,
                                    compression_opts=(0, 0, 0, 0) + opts))
    for name, dt, shape, chunks, opts in specs[3:]:
        dt = np.dtype(dt)
        if dt.names:
            data = np.zeros(shape, dt)
            for k in dt.names:
                data[k] = wavy(shape, dt[k])
        elif "snappy" in name:
            # c-blosc gives snappy no room once the splits before have
            # filled the chunk's worth: every split must compress.
            data = np.round(smooth(shape, "<f8") * 8).astype(dt) / 8
        else:
            data = wavy(shape, dt)
        out.append(f.create_dataset(name, data=data, chunks=chunks, compression=BLOSC,
                                    compression_opts=(0, 0, 0, 0) + opts))
    for d in out:
        assert not any(i.filter_mask for i in stored_chunks(d)), d.name
    return out


# ---- szip (4, built into Debian's libhdf5 through libaec) ----

def szip_dataset(f, name, tid, shape, chunks, data, options, ppb, shuffle=False):
    """A dataset through szip with the type tid (precision and byte order as
    given): libhdf5's set_local derives bits per pixel and the scanline."""
    dcpl = h5p.create(h5p.DATASET_CREATE)
    dcpl.set_chunk(chunks)
    if shuffle:
        dcpl.set_shuffle()
    dcpl.set_szip(options, ppb)
    dsid = h5d.create(f.id, name.encode(), tid, h5s.create_simple(shape), dcpl=dcpl)
    dsid.write(h5s.ALL, h5s.ALL, np.ascontiguousarray(data), mtype=h5t.py_create(data.dtype))
    return h5py.Dataset(dsid)


def gen_szip(f):
    NN, EC = h5z.SZIP_NN_OPTION_MASK, h5z.SZIP_EC_OPTION_MASK
    out = []
    # 32- and 64-bit pixels are coded as byte planes; 20 pixels a scanline
    # is not whole blocks of 8 (each scanline padded).
    out.append(f.create_dataset("szip_i4", data=smooth((64, 40), "<i4"), chunks=(32, 20), compression="szip",
                                compression_opts=("nn", 8)))
    out.append(szip_dataset(f, "szip_u1_ec", h5t.STD_U8LE, (300,), (100,), ints((300,), "u1", 0, 200), EC, 16))
    out.append(szip_dataset(f, "szip_i2_be_nn", h5t.STD_I16BE, (100, 70), (64, 64),
                            smooth((100, 70), "<i2", 3000), NN, 32))
    # Mostly zeros: runs of zero blocks, to the end of a segment (64 blocks) and of a scanline.
    z = np.zeros((6, 1500), "<u2")
    z[1, 700:720] = np.arange(20)
    z[3, 5] = 9
    z[4, 1499] = 60000
    out.append(szip_dataset(f, "szip_u2_zeros", h5t.STD_U16LE, (6, 1500), (4, 1500), z, NN, 8))
    out.append(szip_dataset(f, "szip_u2_zeros_ec", h5t.STD_U16LE, (6, 1500), (4, 1500), z, EC, 16))
    out.append(szip_dataset(f, "szip_f8_nn", h5t.IEEE_F64LE, (90, 30), (50, 30), smooth((90, 30), "<f8"), NN, 16))
    out.append(szip_dataset(f, "szip_f4_be_ec", h5t.IEEE_F32BE, (40, 33), (40, 33), smooth((40, 33), ">f4"), EC, 8))
    # Noise: blocks stored as they are; chunks szip cannot shrink are stored unfiltered.
    out.append(szip_dataset(f, "szip_i4_noise", h5t.STD_I32LE, (2000,), (500,),
                            ints((2000,), "<i4", -2**31, 2**31 - 1), NN, 32))
    out.append(szip_dataset(f, "szip_u1_noise", h5t.STD_U8LE, (3000,), (1000,), ints((3000,), "u1", 0, 256), NN, 8))
    # 12 bits a pixel, values of 0-2: the second extension (pairs coded together).
    d = ints((40, 64), "<u2", 0, 3)
    d[20:] = ints((20, 64), "<u2", 0, 4096)
    out.append(szip_dataset(f, "szip_u2_p12", precise(h5t.STD_U16LE, 12), (40, 64), (20, 64), d, NN, 16))
    out.append(szip_dataset(f, "szip_u2_p12_ec", precise(h5t.STD_U16LE, 12), (40, 64), (20, 64), d, EC, 16))
    # 24 bits in four bytes: 5-bit option identifiers, 22-bit splits.
    d = np.round(smooth((1000,), "<f8", 2**22) + 2**23).astype("<u4")
    out.append(szip_dataset(f, "szip_u4_p24", precise(h5t.STD_U32LE, 24), (1000,), (256,), d, NN, 32))
    out.append(szip_dataset(f, "szip_u4_p24_be", precise(h5t.STD_U32BE, 24), (1000,), (256,), d, EC, 32))
    # A chunk's last dimension shorter than a block: the scanline is the chunk (15 pixels).
    out.append(szip_dataset(f, "szip_small_chunk", h5t.STD_I16LE, (7, 11), (3, 5), smooth((7, 11), "<i2"), NN, 8))
    # Longer than 128 blocks: scanlines of 1024 pixels, the last one short.
    out.append(szip_dataset(f, "szip_long_rows", h5t.STD_U8LE, (2, 5000), (2, 5000),
                            (smooth((2, 5000), "<f8", 100) + 120).astype("u1"), NN, 8))
    out.append(szip_dataset(f, "szip_i8_3d", h5t.STD_I64BE, (5, 6, 7), (3, 4, 7), ints((5, 6, 7), "<i8", -1000, 1000),
                            NN, 8))
    out.append(szip_dataset(f, "szip_shuffle_f4", h5t.IEEE_F32LE, (500,), (128,), smooth((500,), "<f4"), NN, 16,
                            shuffle=True))
    out.append(szip_dataset(f, "szip_i1", h5t.STD_I8LE, (400,), (200,), ints((400,), "i1", -128, 128), EC, 32))
    return out


# ---- a filter h5mount cannot decode ----

def gen_unsupported(f):
    """SZ (32017, a lossy compressor of floats), for which neither h5mount
    nor libhdf5 here has a codec: libhdf5 lets an optional filter it lacks
    into a pipeline, and write_direct_chunk stores chunks as though it had
    been applied. Their bytes are the data's, not an SZ stream: nothing may
    decode them, and h5mount must answer every read EOPNOTSUPP naming the
    filter."""
    dcpl = h5p.create(h5p.DATASET_CREATE)
    dcpl.set_chunk((32, 20))
    dcpl.set_filter(32017, h5z.FLAG_OPTIONAL, (3, 0, 0, 0, 20, 32))
    dsid = h5d.create(f.id, b"sz_f4", h5t.IEEE_F32LE, h5s.create_simple((64, 40)), dcpl=dcpl)
    data = smooth((64, 40), "<f4")
    for i in range(2):
        for j in range(2):
            dsid.write_direct_chunk((32 * i, 20 * j), data[32 * i:32 * (i + 1), 20 * j:20 * (j + 1)].tobytes(),
                                    filter_mask=0)
    return [(h5py.Dataset(dsid), sha(data.tobytes()))]


# ---- scale-offset (6, built in) ----

def gen_scaleoffset(f):
    out = []
    d = ints((60, 40), "<i4", 1000, 1500)
    d[::7, ::3] = 7                                       # the fill value: stored as the all-ones marker
    out.append(f.create_dataset("so_i4", data=d, chunks=(32, 16), scaleoffset=0, fillvalue=7))
    d = ints((300,), "<i2", -200, 250)
    out.append(f.create_dataset("so_i2_bits", data=d, chunks=(128,), scaleoffset=10))
    out.append(f.create_dataset("so_u1", data=ints((500,), "u1", 100, 140), chunks=(128,), scaleoffset=0))
    d = ints((64,), "i1", -100, 100)
    d[::5] = -5
    out.append(f.create_dataset("so_i1_fill", data=d, chunks=(20,), scaleoffset=0, fillvalue=-5))
    d = ints((200,), ">i8", -10**12, 10**12)
    out.append(f.create_dataset("so_i8_be", data=d, chunks=(128,), scaleoffset=0))
    d = ints((256,), "<i4", -2**31, 2**31 - 1)
    d[0], d[1] = -2**31, 2**31 - 1                        # span too wide: minbits = 32, stored as is
    out.append(f.create_dataset("so_i4_full", data=d, chunks=(128,), scaleoffset=0))
    d = ints((256,), ">u2", 0, 2**16)
    d[0], d[1] = 0, 2**16 - 1
    out.append(f.create_dataset("so_u2_be_full", data=d, chunks=(100,), scaleoffset=0))
    out.append(f.create_dataset("so_const_i4", data=np.full((90,), 123456, "<i4"), chunks=(50,), scaleoffset=0))
    out.append(f.create_dataset("so_f4", data=smooth((40, 30), "<f4", 30), chunks=(25, 25), scaleoffset=2))
    out.append(f.create_dataset("so_f8_be", data=smooth((400,), ">f8", 1000), chunks=(256,), scaleoffset=3))
    d = smooth((300,), "<f4", 5)
    d[::11] = -999.0
    out.append(f.create_dataset("so_f4_fill", data=d, chunks=(128,), scaleoffset=1, fillvalue=-999.0))
    out.append(f.create_dataset("so_f8_d0", data=smooth((200,), "<f8", 1e5), chunks=(64,), scaleoffset=0))
    out.append(f.create_dataset("so_i4_gzip", data=ints((600,), "<i4", 0, 300), chunks=(256,), scaleoffset=0,
                                compression="gzip", shuffle=True))
    return out


# ---- n-bit (5, built in; h5py has no set_nbit, so the filter is set by id) ----

def nbit_dataset(f, name, tid, shape, chunks, data, mtype=None):
    dcpl = h5p.create(h5p.DATASET_CREATE)
    dcpl.set_chunk(chunks)
    dcpl.set_filter(h5z.FILTER_NBIT, h5z.FLAG_OPTIONAL, ())
    dsid = h5d.create(f.id, name.encode(), tid, h5s.create_simple(shape), dcpl=dcpl)
    if mtype is None:
        h5py.Dataset(dsid)[...] = data
    else:
        dsid.write(h5s.ALL, h5s.ALL, np.ascontiguousarray(data), mtype=mtype)
    return h5py.Dataset(dsid)


def precise(base, precision, offset=0):
    t = base.copy()
    t.set_precision(precision)
    if offset:
        t.set_offset(offset)
    return t


def gen_nbit(f):
    out = []
    out.append(nbit_dataset(f, "nbit_i4_p12", precise(h5t.STD_I32LE, 12), (60, 30), (32, 16),
                            ints((60, 30), "<i4", -2048, 2048)))
    out.append(nbit_dataset(f, "nbit_u2_p10_o3", precise(h5t.STD_U16LE, 10, 3), (500,), (128,),
                            ints((500,), "<u2", 0, 1024)))
    out.append(nbit_dataset(f, "nbit_i4_be_p20_o4", precise(h5t.STD_I32BE, 20, 4), (30, 30), (20, 20),
                            ints((30, 30), "<i4", -2**19, 2**19)))
    out.append(nbit_dataset(f, "nbit_u1_p3_o2", precise(h5t.STD_U8LE, 3, 2), (99,), (40,),
                            ints((99,), "u1", 0, 8)))
    out.append(nbit_dataset(f, "nbit_i8_p40_o9", precise(h5t.STD_I64LE, 40, 9), (150,), (64,),
                            ints((150,), "<i8", -2**39, 2**39)))
    ft = h5t.IEEE_F32LE.copy()                            # as libhdf5's own test_nbit_float
    ft.set_fields(26, 20, 6, 7, 13)
    ft.set_offset(7)
    ft.set_precision(20)
    ft.set_size(4)
    ft.set_ebias(31)
    out.append(nbit_dataset(f, "nbit_f4_p20_o7", ft, (200,), (64,), smooth((200,), "<f4", 3)))
    # Compound: a 14-bit int, a full double, a 5-bit field at bit 1, an
    # array of three 9-bit shorts and a string (no-op for n-bit).
    ct = h5t.create(h5t.COMPOUND, 24)
    ct.insert(b"a", 0, precise(h5t.STD_I32LE, 14))
    ct.insert(b"b", 4, h5t.IEEE_F64LE)
    ct.insert(b"c", 12, precise(h5t.STD_U8LE, 5, 1))
    ct.insert(b"d", 13, h5t.array_create(precise(h5t.STD_I16BE, 9), (3,)))
    st = h5t.C_S1.copy()
    st.set_size(3)
    ct.insert(b"s", 19, st)
    mt = np.dtype([("a", "<i4"), ("b", "<f8"), ("c", "u1"), ("d", "<i2", (3,)), ("s", "S3")])
    n = 130
    cd = np.zeros(n, mt)
    cd["a"] = ints((n,), "<i4", -8192, 8192)
    cd["b"] = smooth((n,), "<f8")
    cd["c"] = ints((n,), "u1", 0, 32)
    cd["d"] = ints((n, 3), "<i2", -256, 256)
    cd["s"] = [b"x%02d" % (i % 100) for i in range(n)]
    out.append(nbit_dataset(f, "nbit_compound", ct, (n,), (50,), cd))
    # Top-level array of four 11-bit ints.
    at = h5t.array_create(precise(h5t.STD_I32LE, 11), (4,))
    d = ints((70, 4), "<i4", -1024, 1024)
    out.append(nbit_dataset(f, "nbit_array", at, (70,), (32,), d, mtype=h5t.array_create(h5t.NATIVE_INT32, (4,))))
    # Full precision: set_local flags "no need to compress", chunks stay raw.
    out.append(nbit_dataset(f, "nbit_full_i4", h5t.STD_I32LE.copy(), (100,), (40,), ints((100,), "<i4", -10, 10)))
    assert out[-1].id.get_create_plist().get_filter(0)[2][1] == 1
    return out


# ---- ZFP (32013, LLNL's H5Z-ZFP plugin on libzfp) ----

def zfp_rate(r):
    lo, hi = struct.unpack("<II", struct.pack("<d", r))
    return (1, 0, lo, hi)


def zfp_precision(p):
    return (2, 0, p)


def zfp_accuracy(a):
    lo, hi = struct.unpack("<II", struct.pack("<d", a))
    return (3, 0, lo, hi)


def zfp_expert(minbits, maxbits, maxprec, minexp):
    return (4, 0, minbits, maxbits, maxprec, minexp & 0xffffffff)


ZFP_REVERSIBLE = (5, 0)


def zfp_specials(shape, dtype):
    """Smooth values with NaN, infinities, signed zeros, denormals and the
    extremes of the type sprinkled in: only the reversible mode keeps them."""
    d = smooth(shape, dtype).ravel()
    fi = np.finfo(dtype)
    specials = [np.nan, np.inf, -np.inf, -0.0, 0.0, fi.tiny / 8, -fi.tiny / 3, fi.tiny, fi.max, -fi.max,
                fi.smallest_subnormal]
    for i, v in enumerate(specials):
        d[(i * 37) % len(d)] = v
    d[-8:] = fi.tiny * np.arange(1, 9) / 16             # a block of denormals only
    return d.reshape(shape).astype(dtype)


def gen_zfp(f):
    """H5Z-ZFP keeps the ZFP stream header (field type and chunk shape, the
    mode) in cd_values, written by its set_local from the convenience
    cd_values (mode, 0, parameters), and stores each chunk as a bare
    stream. The filter is optional: a chunk it cannot take stays raw."""
    out = []
    zrng = np.random.default_rng(32013)  # its own: the files generated after draw from rng as before
    ints = lambda shape, dt, lo, hi: zrng.integers(lo, hi, size=shape, dtype=np.int64).astype(dt)
    noisy = lambda shape, dt, scale: (smooth(shape, "<f8") + zrng.normal(0, scale, shape)).astype(dt)

    def ds(name, data, chunks, cd):
        d = f.create_dataset(name, data=data, chunks=chunks, compression=ZFP, compression_opts=cd)
        assert d.id.get_create_plist().get_filter(0)[0] == ZFP, name
        out.append(d)

    # Fixed rate: whole and fractional bits a value (rounded to whole bits a block).
    ds("zfp_f8_rate16_3d", smooth((20, 24, 20), "<f8"), (16, 12, 10), zfp_rate(16))
    ds("zfp_f4_rate5.5_1d", smooth((1000,), "<f4"), (250,), zfp_rate(5.5))
    ds("zfp_f8_rate2.3_2d", noisy((50, 45), "<f8", 3), (20, 18), zfp_rate(2.3))
    ds("zfp_f4_rate8_4d", smooth((6, 8, 5, 7), "<f4"), (3, 8, 5, 7), zfp_rate(8))
    ds("zfp_f8_rate4_4d", noisy((8, 4, 4, 9), "<f8", 0.5), (8, 4, 4, 9), zfp_rate(4))
    ds("zfp_i4_rate12_2d", ints((30, 40), "<i4", -2**31, 2**31 - 1), (16, 20), zfp_rate(12))
    ds("zfp_i8_rate20_1d", smooth((500,), "<f8", 1e12).astype("<i8"), (128,), zfp_rate(20))
    ds("zfp_f4_const_rate12", np.full((30, 30), 3.25, "<f4"), (16, 16), zfp_rate(12))
    # Fixed precision.
    ds("zfp_f8_prec20_2d", noisy((64, 50), "<f8", 0.01), (32, 25), zfp_precision(20))
    ds("zfp_f4_prec5_3d", smooth((9, 10, 11), "<f4"), (9, 10, 11), zfp_precision(5))
    ds("zfp_i8_prec40_3d", ints((12, 12, 12), "<i8", -2**62, 2**62), (8, 8, 8), zfp_precision(40))
    ds("zfp_i4_prec32_1d", ints((300,), "<i4", -1000, 1000), (100,), zfp_precision(32))
    ds("zfp_f8_prec64_4d", noisy((5, 5, 5, 5), "<f8", 1), (5, 5, 5, 5), zfp_precision(64))
    # Fixed accuracy.
    ds("zfp_f4_acc1e-3_3d", smooth((20, 20, 20), "<f4"), (10, 12, 20), zfp_accuracy(1e-3))
    ds("zfp_f8_acc0.5_1d", noisy((777,), "<f8", 10), (200,), zfp_accuracy(0.5))
    ds("zfp_f8_zeros_acc", np.zeros((40, 40), "<f8"), (20, 20), zfp_accuracy(1e-6))
    ds("zfp_f8_acc1e-300_2d", smooth((20, 20), "<f8", 1e-290), (20, 20), zfp_accuracy(1e-300))
    # Expert: blocks padded to minbits, cut at maxbits, precision and exponent floors.
    d = smooth((48, 40), "<f8")
    d[:16, :16] = 0
    ds("zfp_f8_expert_2d", d, (24, 20), zfp_expert(300, 800, 30, -20))
    ds("zfp_f4_expert_1d", smooth((333,), "<f4"), (111,), zfp_expert(20, 90, 12, -1074))
    ds("zfp_i4_expert_3d", ints((10, 10, 10), "<i4", -2**20, 2**20), (10, 10, 10), zfp_expert(64, 1200, 25, -1074))
    ds("zfp_f8_expert_4d", smooth((4, 6, 4, 5), "<f8"), (4, 6, 4, 5), zfp_expert(1000, 3000, 40, -30))
    # Reversible with minbits: libzfp pads every block but an all-zero one
    # (one bit written, minbits read back): no zero blocks here.
    ds("zfp_f4_expert_rev", zfp_specials((70,), "<f4"), (70,), zfp_expert(40, 4000, 64, -1075))
    # Reversible: lossless, specials included.
    ds("zfp_f8_rev_2d", zfp_specials((30, 26), "<f8"), (16, 13), ZFP_REVERSIBLE)
    ds("zfp_f4_rev_1d", zfp_specials((250,), "<f4"), (100,), ZFP_REVERSIBLE)
    ds("zfp_f8_rev_3d", noisy((10, 12, 14), "<f8", 1e-3), (10, 12, 7), ZFP_REVERSIBLE)
    ds("zfp_f4_rev_4d", smooth((5, 6, 7, 4), "<f4"), (5, 6, 7, 4), ZFP_REVERSIBLE)
    ds("zfp_i4_rev_2d", ints((33, 31), "<i4", -2**31, 2**31 - 1), (33, 31), ZFP_REVERSIBLE)
    ds("zfp_i8_rev_3d", smooth((9, 9, 9), "<f8", 1e15).astype("<i8"), (9, 9, 9), ZFP_REVERSIBLE)
    ds("zfp_i8_rev_4d", ints((4, 5, 4, 6), "<i8", -2**63, 2**63 - 1), (4, 5, 4, 6), ZFP_REVERSIBLE)
    ds("zfp_i4_zeros_rev", np.zeros((50,), "<i4"), (50,), ZFP_REVERSIBLE)
    ds("zfp_f8_const_rev", np.full((12, 12), -7.5, "<f8"), (12, 12), ZFP_REVERSIBLE)
    # Dimensions of one are dropped from the field (four ranks become 2-D, 1-D).
    ds("zfp_f8_singleton", smooth((1, 50, 1, 30), "<f8"), (1, 20, 1, 16), zfp_precision(16))
    ds("zfp_f4_column", smooth((60, 1), "<f4"), (25, 1), zfp_rate(10))
    ds("zfp_i4_5d", ints((2, 3, 1, 4, 5), "<i4", -99, 99), (2, 3, 1, 4, 5), zfp_rate(16))
    return out


# ---- shared corpus files ----

def corpus_entries():
    entries = []
    specs = [
        ("scigolib-hdf5/testdata/hdf5_official/h5ex_d_lzf.h5", None),
        ("scigolib-hdf5/testdata/hdf5_official/h5ex_d_lz4.h5", None),
        ("scigolib-hdf5/testdata/hdf5_official/h5ex_d_bzip2.h5", None),
        ("scigolib-hdf5/testdata/hdf5_official/h5ex_d_zstd.h5", "zstd"),
        ("scigolib-hdf5/testdata/hdf5_official/be_data.h5", None),
        ("scigolib-hdf5/testdata/hdf5_official/h5repack_filters.h5", None),
        ("scigolib-hdf5/testdata/hdf5_official/h5repack_szip.h5", None),
        ("jhdf/jhdf/src/test/resources/hdf5/test_compressed_chunked_datasets_earliest.hdf5", None),
        ("jhdf/jhdf/src/test/resources/hdf5/test_compressed_chunked_datasets_latest.hdf5", None),
    ]
    for rel, how in specs:
        full = os.path.join(ROOT, CORPUS, rel)
        if not os.path.exists(full):
            print("skipping missing corpus file", rel)
            continue
        dsets = []
        with h5py.File(full, "r") as f:
            def visit(name, o):
                if not isinstance(o, h5py.Dataset) or o.chunks is None:
                    return
                ids = [x[0] for x in pipeline(o)]
                if not any(i in (4, 5, 6, LZF, LZ4, BSHUF, ZSTD, BZIP2, BLOSC) for i in ids):
                    return
                if how == "zstd":
                    parts = []
                    for info in sorted(stored_chunks(o), key=lambda i: i.chunk_offset):
                        parts.append(zstd_decompress(o.id.read_direct_chunk(info.chunk_offset)[1]))
                    assert list(o.chunks[1:]) == list(o.shape[1:])   # chunks stack along dim 0
                    dsets.append(describe(o, sha(b"".join(parts))))
                else:
                    dsets.append(describe(o))
            f.visititems(visit)
        entries.append({"path": CORPUS + rel, "datasets": dsets})
    return entries


def write_family(name, gen):
    """NAME.h5 of the datasets gen writes, and its entry in filters.json."""
    path = os.path.join(OUT, name + ".h5")
    with h5py.File(path, "w") as f:
        # (name, sha256 of the data written, for chunks libhdf5 cannot read)
        got = [(d, None) if isinstance(d, h5py.Dataset) else d for d in gen(f)]
        got = [(d.name, s) for d, s in got]
    # Read back from a closed file: while it is open, libhdf5's chunk
    # cache hands back the data as written, before any lossy filter.
    with h5py.File(path, "r") as f:
        dsets = [describe(f[n], s) for n, s in got]
    return {"file": name + ".h5", "datasets": dsets}


# Families written by a process of their own (write_family_alone): the
# generator and the one plugin they need.
ALONE = {"zfp": (gen_zfp, "libh5zzfp.so")}


def flushes_denormals():
    """Whether this thread computes with denormal floats flushed to zero:
    Debian's LZF and bitshuffle plugins are built with -ffast-math, and
    loading them turns that on for the whole process (crtfastmath)."""
    tiny = np.finfo(np.float32).tiny
    return np.float32(tiny) / np.float32(8) == 0


def write_family_alone(name):
    """write_family in a process whose HDF5_PLUGIN_PATH holds the family's
    plugin only (libhdf5 loads every plugin of the path while it looks for
    one). ZFP decodes in floating point: with denormals flushed, libhdf5
    would read back other values than libzfp's arithmetic gives (a scale
    of 2^-1025 taken for zero), and the data written would lose its own."""
    plugin = ALONE[name][1]
    dirs = [d for d in os.environ.get("HDF5_PLUGIN_PATH", "").split(":") if os.path.exists(os.path.join(d, plugin))]
    assert dirs, "no %s in HDF5_PLUGIN_PATH" % plugin
    with tempfile.TemporaryDirectory() as tmp:
        os.symlink(os.path.join(dirs[0], plugin), os.path.join(tmp, plugin))
        env = dict(os.environ, HDF5_PLUGIN_PATH=tmp, GEN_FILTERS_ALONE=name)
        out = subprocess.run([sys.executable, os.path.abspath(__file__), OUT], env=env, check=True,
                             stdout=subprocess.PIPE).stdout
    return json.loads(out)


def main():
    os.makedirs(OUT, exist_ok=True)
    files = []
    for name, gen in (("lzf", gen_lzf), ("lz4", gen_lz4), ("bitshuffle", gen_bitshuffle), ("zstd", gen_zstd),
                      ("vbz", gen_vbz),
                      ("bzip2", gen_bzip2), ("blosc", gen_blosc), ("scaleoffset", gen_scaleoffset),
                      ("nbit", gen_nbit), ("szip", gen_szip), ("zfp", None),
                      ("unsupported", gen_unsupported)):
        files.append(write_family(name, gen) if gen else write_family_alone(name))
    path = os.path.join(OUT, "lzo.h5")
    got = gen_lzo(path)
    with h5py.File(path, "r") as f:
        files.append({"file": "lzo.h5", "datasets": [describe(f[n], s) for n, s in got]})
    files += corpus_entries()
    doc = {"libhdf5": h5py.version.hdf5_version, "h5py": h5py.version.version, "files": files}
    with open(os.path.join(OUT, "filters.json"), "w") as fp:
        # One dataset a line.
        fp.write('{"libhdf5": %s, "h5py": %s, "files": [\n' % (json.dumps(doc["libhdf5"]), json.dumps(doc["h5py"])))
        for i, fe in enumerate(files):
            head = {k: v for k, v in fe.items() if k != "datasets"}
            fp.write(" " + json.dumps(head)[:-1] + ', "datasets": [\n')
            fp.write(",\n".join("  " + json.dumps(d) for d in fe["datasets"]))
            fp.write("\n ]}%s\n" % ("," if i < len(files) - 1 else ""))
        fp.write("]}\n")
    json.load(open(os.path.join(OUT, "filters.json")))
    total = sum(os.path.getsize(os.path.join(OUT, x)) for x in os.listdir(OUT))
    print("wrote %d files, %d bytes" % (len(os.listdir(OUT)), total))


if __name__ == "__main__":
    if os.environ.get("GEN_FILTERS_ALONE"):
        name = os.environ["GEN_FILTERS_ALONE"]
        entry = write_family(name, ALONE[name][0])
        assert not flushes_denormals()
        print(json.dumps(entry))
    else:
        main()
