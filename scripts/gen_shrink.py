#!/usr/bin/env python3
"""Chunked datasets of every index kind, full of data, for the shrink test
(h5/resize_test.go), which shrinks them with the engine and has libhdf5 grow
them again: usage gen_shrink.py OUT.h5

Each dataset holds 0, 1, 2, ... (as its type) and its fill value is -1."""
import os
import sys

import numpy as np
import h5py
from h5py import h5d

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_conformance import dataset  # noqa: E402  (libhdf5's own property calls)

DONT_FILTER_PARTIAL_CHUNKS = 2


def main():
    out = sys.argv[1]
    specs = {
        # name: (libver, shape, maxshape, chunks, filters, alloc, chunk_opts)
        "btree1": ("earliest", (401, 7), (None, 7), (2, 3), (), None, None),
        "btree1_gzip": ("earliest", (401, 7), (None, 7), (2, 3), (("deflate", 4),), None, None),
        "earray": ("latest", (2003,), (None,), (2,), (), None, None),
        "earray_gzip": ("latest", (203, 3), (None, 3), (8, 2), ("shuffle", ("deflate", 4)), None, None),
        "btree2": ("latest", (401, 7), (None, None), (2, 3), (), None, None),
        "btree2_gzip": ("latest", (401, 7), (None, None), (2, 3), (("deflate", 4),), None, None),
        "farray": ("latest", (401, 7), (800, 7), (2, 3), (), None, None),
        "farray_gzip": ("latest", (401, 7), (800, 7), (2, 3), (("deflate", 4),), None, None),
        "implicit": ("latest", (401, 7), (800, 7), (2, 3), (), h5d.ALLOC_TIME_EARLY, None),
        # Partial edge chunks stored unfiltered: a shrink makes chunks edges.
        "edge_unfiltered": ("latest", (401, 7), (None, 7), (2, 3), (("deflate", 4),), None,
                            DONT_FILTER_PARTIAL_CHUNKS),
    }
    for libver in ("earliest", "latest"):
        name = out if libver == "earliest" else out + ".latest"
        with h5py.File(name, "w", libver=libver) as f:
            for ds, (lv, shape, maxshape, chunks, filters, alloc, opts) in specs.items():
                if lv != libver:
                    continue
                data = np.arange(np.prod(shape), dtype="<i4").reshape(shape)
                dataset(f, ds, "<i4", shape, data, maxshape=maxshape, chunks=chunks, filters=filters,
                        fill=np.int32(-1), alloc=alloc, chunk_opts=opts)
    # One file: the latest-format datasets copied next to the others keep
    # their layouts (h5py's copy is libhdf5's H5Ocopy).
    with h5py.File(out, "a") as f, h5py.File(out + ".latest", "r") as g:
        for ds in g:
            g.copy(ds, f)
    os.remove(out + ".latest")


if __name__ == "__main__":
    main()
