#!/usr/bin/python3
"""Write testdata/producers/: HDF5 files as other libraries write them.

Run with Debian's interpreter and its PyTables, pandas and netCDF4
(python3-tables, python3-pandas, python3-netcdf4), never the python3 on PATH:

    /usr/bin/python3 scripts/gen_producers.py [OUTDIR]

Each FILE gets FILE.json beside it, the reference dump of
scripts/dump_ref.py (what h5py reads). producers_test.go mounts them, and
has each producing library read them before and after a mount edits them.

These libraries write what h5py and h5mount do not: PyTables' classes
(Table, CArray, EArray, VLArray) with their attributes, nested compound
rows, HDF5 time types, enums, half floats, byte strings that fill their
null-terminated fields without a terminator (PyTables' string columns,
pandas' column names), Blosc and bzip2 filters, column indexes (groups of
internal datasets); pandas' fixed and table formats; netCDF-4's dimension
scales, attributes with creation order, named compound, enum and
variable-length types, groups with their own dimensions, and the classic
model.

Files
=====

pytables.h5   /grp: Array, CArrays compressed with zlib, Blosc (blosclz,
              lz4, zstd) and bzip2 behind the shuffle, an EArray, VLArrays
              of int32, byte strings, unicode and pickled objects, a Table
              of 200 rows (string, int, 2x3 float, float, bool, complex
              columns) with an index on one column; a soft and an external
              link; /nested: a Table with a nested column, time, enum, half
              float and complex64 columns; /bigendian, /scalar, /strs.
pandas.h5     a DataFrame in the fixed format (zlib; its object column
              pickled in a VLArray; its column names, one byte each, fill
              their null-terminated strings), the table format with a data column and Blosc, the
              table format with zlib and a categorical column, a Series.
netcdf4.nc    an unlimited dimension, a deflated and shuffled variable with
              a fill value, variable-length strings, a named compound, enum
              and vlen type, a subgroup with its own dimension, a scalar.
classic.nc    NETCDF4_CLASSIC: a deflated int variable, a contiguous one.
"""
import os
import sys
import warnings

import netCDF4
import numpy as np
import pandas as pd
import tables

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dump_ref  # noqa: E402

warnings.simplefilter("ignore")  # PyTables' NaturalNameWarning on purpose-made names


def pytables_file(path, rng):
    with tables.open_file(path, "w", title="made by PyTables") as f:
        g = f.create_group("/", "grp", "a group")
        f.create_array(g, "arr", np.arange(100, dtype="i4").reshape(10, 10), "plain array")
        for comp in ["zlib", "blosc", "blosc:lz4", "blosc:zstd", "bzip2"]:
            filt = tables.Filters(complevel=5, complib=comp, shuffle=True)
            a = f.create_carray(g, "c_" + comp.replace(":", "_"), tables.Float64Atom(), shape=(120, 50),
                                chunkshape=(40, 25), filters=filt)
            a[:] = rng.normal(size=(120, 50)).cumsum(0)
        ea = f.create_earray(g, "earr", tables.Int16Atom(), shape=(0, 5), filters=tables.Filters(1, "zlib"))
        for _ in range(7):
            ea.append(rng.integers(-100, 100, size=(13, 5)).astype("i2"))
        vl = f.create_vlarray(g, "vlarr", tables.Int32Atom(), chunkshape=(8,))
        for i in range(20):
            vl.append(np.arange(i, dtype="i4"))
        vs = f.create_vlarray(g, "vlstr", tables.VLStringAtom(), chunkshape=(4,))
        for i in range(10):
            vs.append(b"row %d" % i * i)
        vu = f.create_vlarray(g, "vluni", tables.VLUnicodeAtom(), filters=tables.Filters(1, "zlib"))
        for i in range(10):
            vu.append("\u00fc%d" % i)
        vo = f.create_vlarray(g, "vlobj", tables.ObjectAtom(), filters=tables.Filters(1, "zlib"))
        for i in range(5):
            vo.append({"row": i, "list": list(range(i))})

        class Row(tables.IsDescription):
            name = tables.StringCol(8)
            idn = tables.Int64Col()
            pressure = tables.Float32Col(shape=(2, 3))
            energy = tables.Float64Col()
            flag = tables.BoolCol()
            cplx = tables.ComplexCol(16)

        t = f.create_table(g, "table", Row, "readout", filters=tables.Filters(3, "blosc"))
        r = t.row
        for i in range(200):
            # names of 8 bytes fill their null-terminated field
            r["name"] = b"part %03d" % i if i % 2 else b"p%d" % i
            r["idn"] = i
            r["pressure"] = np.full((2, 3), i * 0.5)
            r["energy"] = i ** 2
            r["flag"] = i % 3 == 0
            r["cplx"] = complex(i, -i)
            r.append()
        t.flush()
        t.cols.idn.create_index()
        f.set_node_attr(g, "note", "hello")
        f.set_node_attr(g, "numbers", np.arange(5))
        f.set_node_attr(g, "pyobj", {"a": 1})
        f.create_soft_link("/", "soft", "/grp/arr")
        f.create_external_link("/", "ext", "other.h5:/x")

        class Inner(tables.IsDescription):
            a = tables.Int8Col(pos=0)
            s = tables.StringCol(4, pos=1)

        class Nested(tables.IsDescription):
            t32 = tables.Time32Col()
            t64 = tables.Time64Col()
            e = tables.EnumCol(tables.Enum(["red", "green", "blue"]), "red", base="uint8")
            h = tables.Float16Col()
            c8 = tables.ComplexCol(8)
            u = tables.UInt64Col()
            inner = Inner()

        t = f.create_table("/", "nested", Nested, chunkshape=(16,))
        r = t.row
        for i in range(50):
            r["t32"] = 1600000000 + i
            r["t64"] = 1600000000.5 + i
            r["e"] = i % 3
            r["h"] = i / 3
            r["c8"] = complex(i, 1)
            r["u"] = 2 ** 63 + i
            r["inner/a"] = i
            r["inner/s"] = b"abcd"[: i % 5]
            r.append()
        t.flush()
        a = f.create_carray("/", "t64arr", tables.Time64Atom(), shape=(10,), chunkshape=(4,))
        a[:] = np.arange(10) + 0.25
        a = f.create_carray("/", "f16", tables.Float16Atom(), shape=(10,), chunkshape=(4,))
        a[:] = np.arange(10) / 7
        f.create_array("/", "scalar", 3.5)
        f.create_array("/", "strs", [b"a", b"bb", b"ccc"])
        ea = f.create_earray("/", "bigendian", tables.Float64Atom(), shape=(0,), byteorder="big", chunkshape=(4,))
        ea.append(np.arange(5.0))
        # LZO, PyTables' own filter (h5py has none), with its own numbers so
        # that the rest stays as it was.
        lz = f.create_carray(g, "c_lzo", tables.Float64Atom(), shape=(120, 50), chunkshape=(40, 25),
                             filters=tables.Filters(complevel=1, complib="lzo", shuffle=True))
        lz[:] = np.random.default_rng(305).normal(size=(120, 50)).cumsum(0)


def pandas_file(path, rng):
    n = 300
    df = pd.DataFrame({"a": np.arange(n), "b": rng.normal(size=n), "s": ["s%d" % i for i in range(n)],
                       "t": pd.date_range("2020-01-01", periods=n, freq="h")})
    df.to_hdf(path, key="df_fixed", format="fixed", complib="zlib", complevel=1)
    df.to_hdf(path, key="df_table", format="table", data_columns=["a"], complib="blosc", complevel=5)
    cat = df.assign(c=pd.Categorical(["x", "y", "zz"] * (n // 3)))
    cat.to_hdf(path, key="df_zlib", format="table", complib="zlib", complevel=9)
    pd.Series(np.arange(10.0)).to_hdf(path, key="series")
    df.to_hdf(path, key="df_lzo", format="table", complib="lzo", complevel=1)


def netcdf_file(path, rng):
    with netCDF4.Dataset(path, "w", format="NETCDF4") as ds:
        ds.createDimension("time", None)
        ds.createDimension("lat", 19)
        ds.createDimension("lon", 36)
        ds.title = "made by netCDF4"
        ds.history = "gen_producers.py"
        t = ds.createVariable("time", "f8", ("time",))
        t.units = "hours since 1800-01-01"
        v = ds.createVariable("temp", "f4", ("time", "lat", "lon"), zlib=True, complevel=4, shuffle=True,
                              chunksizes=(1, 19, 36), fill_value=-999.0)
        v.units = "K"
        v.valid_range = np.array([0, 400], "f4")
        for i in range(6):
            t[i] = i * 6
            v[i] = rng.normal(280, 10, size=(19, 36))
        s = ds.createVariable("names", str, ("lat",))
        s[:] = np.array(["lat%d" % i for i in range(19)], dtype=object)
        cmp = ds.createCompoundType(np.dtype([("x", "f8"), ("y", "i4")]), "pt")
        cv = ds.createVariable("pts", cmp, ("lon",))
        a = np.zeros(36, cmp.dtype)
        a["x"] = np.arange(36)
        a["y"] = -np.arange(36)
        cv[:] = a
        en = ds.createEnumType(np.uint8, "cloud", {"clear": 0, "cumulus": 1, "stratus": 2})
        ev = ds.createVariable("clouds", en, ("lat",), fill_value=0)
        ev[:] = np.arange(19) % 3
        vlt = ds.createVLType(np.int32, "vlt")
        vv = ds.createVariable("vl", vlt, ("lat",))
        o = np.empty(19, object)
        for i in range(19):
            o[i] = np.arange(i % 5, dtype="i4")
        vv[:] = o
        g = ds.createGroup("sub")
        g.createDimension("n", 10)
        x = g.createVariable("x", "i8", ("n",))
        x[:] = np.arange(10)
        sc = ds.createVariable("scalar", "i2")
        sc.assignValue(7)


def classic_file(path, rng):
    with netCDF4.Dataset(path, "w", format="NETCDF4_CLASSIC") as ds:
        ds.createDimension("x", 100)
        ds.createDimension("y", 50)
        v = ds.createVariable("v", "i4", ("x", "y"), zlib=True)
        v[:] = np.arange(5000).reshape(100, 50)
        w = ds.createVariable("w", "f8", ("x",), contiguous=True)
        w[:] = np.linspace(0, 1, 100)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "testdata", "producers")
    os.makedirs(out, exist_ok=True)
    for name, make in [("pytables.h5", pytables_file), ("pandas.h5", pandas_file),
                       ("netcdf4.nc", netcdf_file), ("classic.nc", classic_file)]:
        path = os.path.join(out, name)
        if os.path.exists(path):
            os.remove(path)
        make(path, np.random.default_rng(7))
        d = dump_ref.dump(path)
        with open(path + ".json", "w") as fh:
            fh.write(dump_ref.to_json(d))


if __name__ == "__main__":
    main()
