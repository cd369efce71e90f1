#!/usr/bin/python3
"""h5mount's benchmark suite: every case against its reference, measured in
the same run, as medians (after a warm-up) and ratios.

    scripts/bench.sh                  full sizes (1 GiB datasets, 100,000 datasets, 4 GiB for RSS)
    BENCH_SCALE=0.05 scripts/bench.sh a quick run at 5% of the sizes
    BENCH_ONLY=gzip,random scripts/bench.sh
                                      only these cases: cat (contiguous, warm and
                                      cold), gzip, lz4, shufflelz4, blosc, bitshuffle,
                                      szip, zfp, zstd, cube, wide, narrow, random,
                                      write, find,
                                      rss, writable (reads through a default,
                                      writable mount)
    BENCH_RUNS=5                      timed runs per case (after a warm-up; default 3)

Every case checks the bytes it reads (or, for writes, what h5py reads back)
against the data it wrote, outside the timed runs.

Needs root (to drop the page cache for the cold cases), /usr/bin/python3 with
h5py, h5ls, and Debian's hdf5-filter-plugin for the LZ4 case.
"""
import os, subprocess, sys, tempfile, time, statistics, shutil, random

import numpy as np
import h5py

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
CASES = {"cat", "gzip", "lz4", "shufflelz4", "blosc", "bitshuffle", "szip", "zfp", "zstd", "cube", "wide", "narrow", "random", "write", "find", "rss", "writable"}
if ONLY - CASES:
    sys.exit("BENCH_ONLY: unknown cases %s (known: %s)" % (",".join(sorted(ONLY - CASES)), ",".join(sorted(CASES))))


def want(case):
    return not ONLY or case in ONLY
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLUGINS = "/usr/lib/x86_64-linux-gnu/hdf5/serial/plugins"
os.environ.setdefault("HDF5_PLUGIN_PATH", PLUGINS)
MIB = 1 << 20

rows = []  # (case, h5mount figure, reference, ratio)


def run(*cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def drop_caches():
    # Dirty pages survive a drop: files just written (every case's data)
    # would stay in memory and "cold" runs would read them warm.
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError:
        pass


def median_time(fn, runs=RUNS, warm=True, before=None):
    """Median seconds of fn over runs after a warm-up; fn may return its
    own timing (to leave set-up such as a mount out of it)."""
    if warm:
        if before:
            before()
        fn()
    times = []
    for _ in range(runs):
        if before:
            before()
        t = time.perf_counter()
        own = fn()
        times.append(own if isinstance(own, float) else time.perf_counter() - t)
    return statistics.median(times)


def interleaved(*cases, runs=RUNS):
    """Medians of several (fn, before) cases run in turn, run by run, after
    a warm-up of each: the host's disk and CPU speed drift over minutes, and
    cases timed back to back meet the same drift."""
    for fn, before in cases:
        if before:
            before()
        fn()
    times = [[] for _ in cases]
    for _ in range(runs):
        for (fn, before), ts in zip(cases, times):
            if before:
                before()
            t = time.perf_counter()
            own = fn()
            ts.append(own if isinstance(own, float) else time.perf_counter() - t)
    return [statistics.median(ts) for ts in times]


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


class Mount:
    def __init__(self, bin, file, mnt, *opts):
        self.bin, self.file, self.mnt, self.opts = bin, file, mnt, opts

    def __enter__(self):
        run(self.bin, *self.opts, self.file, self.mnt)
        return self

    def __exit__(self, *a):
        run(self.bin, "unmount", self.mnt)

    def pid(self):
        out = subprocess.run(["pgrep", "-f", "h5mount.*" + self.mnt], capture_output=True, text=True).stdout.split()
        return int(out[0])


def cat(path):
    run("cat", path, stdout=subprocess.DEVNULL)


def same_bytes(path, reference, what):
    """Fails the run unless path holds exactly reference's bytes."""
    if subprocess.run(["cmp", "-s", path, reference]).returncode != 0:
        sys.exit("%s: the bytes read differ from the data written" % what)


def mbps(nbytes, secs):
    return nbytes / MIB / secs


def smooth(n, seed):
    rng = np.random.RandomState(seed)
    t = np.arange(n, dtype=np.float64)
    return np.sin(t * 1e-4) + rng.standard_normal(n) * 0.01


def make_float_dataset(path, name, n, **kw):
    with h5py.File(path, "a") as f:
        ds = f.create_dataset(name, shape=(n,), dtype="<f8", **kw)
        slab = 1 << 21
        for i in range(0, n, slab):
            m = min(slab, n - i)
            ds[i:i + m] = smooth(m, i)


def main():
    work = tempfile.mkdtemp(prefix="h5mount-bench.", dir=os.environ.get("TMPDIR", "/tmp"))
    bin = os.path.join(work, "h5mount")
    try:
        run("go", "build", "-o", bin, ".", cwd=REPO)
        bench(work, bin)
    finally:
        for m in os.listdir(work):
            p = os.path.join(work, m)
            if os.path.ismount(p):
                subprocess.run([bin, "unmount", p])
        shutil.rmtree(work, ignore_errors=True)
    print()
    print("| case | h5mount | against | ratio |")
    print("|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %s | %s |" % r)


def bench(work, bin):
    n = int((1 << 30) * SCALE) // 8
    nbytes = n * 8
    data = os.path.join(work, "data.h5")
    mnt = os.path.join(work, "mnt")
    size = "%d MiB" % (nbytes // MIB)
    print("making %s datasets in %s ..." % (size, work), flush=True)
    # Every dataset holds the same values, so raw.bin is the reference for all.
    make_float_dataset(data, "contiguous", n)
    if want("gzip") or want("random") or want("zstd") or want("writable"):
        make_float_dataset(data, "gzip", n, chunks=(131072,), compression="gzip", compression_opts=4)
    if want("lz4") or want("writable"):
        make_float_dataset(data, "lz4", n, chunks=(131072,), compression=32004)
    if want("shufflelz4"):
        # The noise fills the floats' low bytes, so LZ4 alone finds nothing
        # to compress in them (the lz4 case moves raw bytes on both sides);
        # behind the shuffle it compresses the high bytes (to about 82%).
        make_float_dataset(data, "shufflelz4", n, chunks=(131072,), compression=32004, shuffle=True)
    if want("blosc"):
        # Blosc as PyTables and hdf5plugin users write it: LZ4 inside, byte shuffle.
        make_float_dataset(data, "blosc", n, chunks=(131072,), compression=32001, compression_opts=(0, 0, 0, 0, 5, 1, 1))
    if want("bitshuffle"):
        # Bitshuffle with LZ4 inside, as X-ray detectors write their frames.
        make_float_dataset(data, "bitshuffle", n, chunks=(131072,), compression=32008, compression_opts=(0, 2))
    if want("szip"):
        # szip as NASA's products and netCDF-4 write it: nearest-neighbour
        # coding, 32 pixels a block (64-bit pixels coded as byte planes).
        make_float_dataset(data, "szip", n, chunks=(131072,), compression="szip", compression_opts=("nn", 32))
    if want("zfp"):
        # ZFP lossless (reversible mode), so that it reads back as raw.bin.
        make_float_dataset(data, "zfp", n, chunks=(131072,), compression=32013, compression_opts=(5, 0))
    raw = os.path.join(work, "raw.bin")
    with h5py.File(data, "r") as f, open(raw, "wb") as out:
        out.write(f["contiguous"][()].tobytes())

    def h5py_read(name, fname=data):
        def fn():
            with h5py.File(fname, "r") as f:
                a = f[name][()]
            return a
        return fn

    def check_h5py(name, fname=data):
        if h5py_read(name, fname)().tobytes() != open(raw, "rb").read():
            sys.exit("h5py reads other values from %s" % name)

    def cold_mount_cat(name, fname=data, drop=True, opts=("-o", "ro")):
        # A fresh mount (no chunk cache), caches dropped (or, drop=False,
        # only the mount's own: the HDF5 file stays in the page cache, the
        # issue's "cold-ish"); the cat is timed. opts=() mounts as a user
        # would by default: writable.
        def fn():
            with Mount(bin, fname, mnt, *opts):
                if drop:
                    drop_caches()
                return timed(lambda: cat(os.path.join(mnt, name)))
        return fn

    def check_mount(name, fname=data):
        with Mount(bin, fname, mnt, "-o", "ro"):
            same_bytes(os.path.join(mnt, name), raw, name)

    def cold_read_case(label, fname, name, rawname):
        # A dataset of its own file read whole, from a fresh mount with the
        # caches dropped, against h5py; both checked against rawname first.
        nb = os.path.getsize(rawname)
        with Mount(bin, fname, mnt, "-o", "ro"):
            same_bytes(os.path.join(mnt, name), rawname, name)
        if h5py_read(name, fname)().tobytes() != open(rawname, "rb").read():
            sys.exit("h5py reads other values from %s" % name)
        t_mount, t_h5py = interleaved((cold_mount_cat(name, fname), None), (h5py_read(name, fname), drop_caches))
        rows.append((label % (nb // MIB), "%.0f MB/s" % mbps(nb, t_mount), "h5py %.0f MB/s" % mbps(nb, t_h5py),
                     "%.2fx h5py" % (t_h5py / t_mount)))

    if want("cat"):
        # Sequential reads of contiguous data, warm (the kernel's page cache
        # of the mount and of the plain file) and cold.
        check_mount("contiguous")
        with Mount(bin, data, mnt, "-o", "ro") as m:
            p = os.path.join(mnt, "contiguous")
            plain_w = median_time(lambda: cat(raw))
            mount_w = median_time(lambda: cat(p))
        h5py_w = median_time(h5py_read("contiguous"))
        rows.append(("cat %s contiguous f8, warm" % size, "%.0f MB/s" % mbps(nbytes, mount_w),
                     "plain cat %.0f MB/s; h5py %.0f MB/s" % (mbps(nbytes, plain_w), mbps(nbytes, h5py_w)),
                     "%.2fx plain, %.2fx h5py" % (plain_w / mount_w, h5py_w / mount_w)))
        mount_c, plain_c, h5py_c = interleaved((cold_mount_cat("contiguous"), None), (lambda: cat(raw), drop_caches),
                                               (h5py_read("contiguous"), drop_caches))
        rows.append(("cat %s contiguous f8, cold (remount, caches dropped)" % size, "%.0f MB/s" % mbps(nbytes, mount_c),
                     "plain cat %.0f MB/s; h5py %.0f MB/s" % (mbps(nbytes, plain_c), mbps(nbytes, h5py_c)),
                     "%.2fx plain, %.2fx h5py" % (plain_c / mount_c, h5py_c / mount_c)))

    # Compressed sequential reads: a fresh mount each run (no chunk cache).
    t_h5py_gzip = t_h5py_gzip_warm = None
    for name, label in (("gzip", "gzip:4"), ("lz4", "lz4"), ("shufflelz4", "shuffle+lz4"), ("blosc", "blosc:lz4 (shuffle)"),
                        ("bitshuffle", "bitshuffle:lz4"), ("szip", "szip (nn, 32 pixels a block)"),
                        ("zfp", "zfp (reversible)")):
        if not want(name):
            continue
        check_mount(name)
        check_h5py(name)
        t_mount, t_h5py = interleaved((cold_mount_cat(name), None), (h5py_read(name), drop_caches))
        if name == "gzip":
            t_h5py_gzip = t_h5py
        rows.append(("sequential read, %s %s chunks (cold)" % (size, label), "%.0f MB/s" % mbps(nbytes, t_mount),
                     "h5py %.0f MB/s" % mbps(nbytes, t_h5py), "%.2fx h5py" % (t_h5py / t_mount)))
        # The same with the HDF5 file in the page cache for both: decoding,
        # not the disk, sets the pace.
        t_mount, t_h5py = interleaved((cold_mount_cat(name, drop=False), None), (h5py_read(name), None))
        if name == "gzip":
            t_h5py_gzip_warm = t_h5py
        rows.append(("sequential read, %s %s chunks (remount, file cached)" % (size, label),
                     "%.0f MB/s" % mbps(nbytes, t_mount),
                     "h5py %.0f MB/s" % mbps(nbytes, t_h5py), "%.2fx h5py" % (t_h5py / t_mount)))

    if want("zstd"):
        # shuffle+zstd: libhdf5 has no zstd plugin here, so h5mount writes
        # it, and the reference is h5py reading the gzip dataset.
        zfile = os.path.join(work, "zstd.h5")
        with Mount(bin, zfile, mnt, "--create") as m:
            z = os.path.join(mnt, "zstd")
            run("touch", z)
            run("setfattr", "-n", "user.h5.dtype", "-v", "<f8", z)
            run("setfattr", "-n", "user.h5.shape", "-v", str(n), z)
            run("setfattr", "-n", "user.h5.chunks", "-v", "131072", z)
            run("setfattr", "-n", "user.h5.compression", "-v", "shuffle,zstd:3", z)
            run("dd", "if=" + raw, "of=" + z, "bs=1M", "conv=notrunc", "status=none")
        check_mount("zstd", zfile)
        t_z = median_time(cold_mount_cat("zstd", zfile))
        if t_h5py_gzip is None:
            t_h5py_gzip = median_time(h5py_read("gzip"), before=drop_caches)
        rows.append(("sequential read, %s shuffle+zstd:3 chunks (cold)" % size, "%.0f MB/s" % mbps(nbytes, t_z),
                     "h5py on the gzip one %.0f MB/s (no zstd plugin for libhdf5 here)" % mbps(nbytes, t_h5py_gzip),
                     "%.2fx h5py-gzip" % (t_h5py_gzip / t_z)))
        t_z = median_time(cold_mount_cat("zstd", zfile, drop=False))
        if t_h5py_gzip_warm is None:
            t_h5py_gzip_warm = median_time(h5py_read("gzip"))
        rows.append(("sequential read, %s shuffle+zstd:3 chunks (remount, file cached)" % size,
                     "%.0f MB/s" % mbps(nbytes, t_z),
                     "h5py on the gzip one %.0f MB/s" % mbps(nbytes, t_h5py_gzip_warm),
                     "%.2fx h5py-gzip" % (t_h5py_gzip_warm / t_z)))

    if want("cube"):
        # A (time, lat, lon) float32 cube as climate data stores it:
        # shuffle+gzip chunks of (8, 45, 90), smaller than a plane, so a
        # sequential reader needs each chunk in eight planes' reads.
        planes = max(8, int(256 * SCALE) // 8 * 8)
        cfile, craw = os.path.join(work, "cube.h5"), os.path.join(work, "cube.bin")
        lat, lon = np.arange(721, dtype=np.float32), np.arange(1440, dtype=np.float32)
        rng = np.random.RandomState(7)
        with h5py.File(cfile, "w") as f, open(craw, "wb") as out:
            ds = f.create_dataset("cube", shape=(planes, 721, 1440), dtype="<f4", chunks=(8, 45, 90),
                                  shuffle=True, compression="gzip", compression_opts=4)
            for t in range(planes):
                v = (280 + 20 * np.cos(lat / 50)[:, None] * np.sin(lon / 100 + t)[None, :]
                     + rng.standard_normal((721, 1440)) * 0.1).astype("<f4")
                ds[t] = v
                out.write(v.tobytes())
        cbytes = os.path.getsize(craw)
        cold_read_case("sequential read, %%d MiB (%d, 721, 1440) f4 cube, shuffle+gzip:4 chunks (8, 45, 90) (cold)" % planes,
                       cfile, "cube", craw)

        # The same cube written: made through a mount (touch, setfattr)
        # and filled with one dd, against h5py writing it eight planes
        # (a block of chunks) at a time; both durable at the end.
        wfile = os.path.join(work, "wcube.h5")
        cube = np.fromfile(craw, dtype="<f4").reshape(planes, 721, 1440)

        def prepare():
            if os.path.exists(wfile):
                os.remove(wfile)
            drop_caches()
            cat(craw)

        def by_mount():
            with Mount(bin, wfile, mnt, "--create"):
                c = os.path.join(mnt, "cube")
                run("touch", c)
                for k, v in (("dtype", "<f4"), ("shape", "%d,721,1440" % planes), ("chunks", "8,45,90"),
                             ("compression", "shuffle,gzip:4")):
                    run("setfattr", "-n", "user.h5." + k, "-v", v, c)
                run("dd", "if=" + craw, "of=" + c, "bs=1M", "conv=notrunc", "status=none")

        def by_h5py():
            with h5py.File(wfile, "w") as f:
                d = f.create_dataset("cube", shape=cube.shape, dtype="<f4", chunks=(8, 45, 90),
                                     shuffle=True, compression="gzip", compression_opts=4)
                for t in range(0, planes, 8):
                    d[t:t + 8] = cube[t:t + 8]
            fd = os.open(wfile, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)

        prepare()
        by_mount()
        if h5py_read("cube", wfile)().tobytes() != open(craw, "rb").read():
            sys.exit("h5py reads other values from the cube the mount wrote")
        t_m, t_h = interleaved((by_mount, prepare), (by_h5py, prepare))
        rows.append(("dd write of that cube into a new shuffle+gzip:4 (8, 45, 90) dataset (until unmount)", "%.0f MB/s" % mbps(cbytes, t_m),
                     "h5py %.0f MB/s" % mbps(cbytes, t_h), "%.2fx h5py" % (t_h / t_m)))


    if want("wide"):
        # A wide 2-D float32 array in square chunks, as images and matrices
        # are stored: each row of it crosses a row of eight (2048, 2048)
        # gzip chunks, 128 MiB decoded, more than the mount's default
        # cache, and every read of a few rows needs all eight.
        nrows = max(2048, int(4096 * SCALE) // 2048 * 2048)
        wide, wide_raw = os.path.join(work, "wide.h5"), os.path.join(work, "wide.bin")
        rng = np.random.RandomState(9)
        with h5py.File(wide, "w") as f, open(wide_raw, "wb") as out:
            ds = f.create_dataset("wide", shape=(nrows, 16384), dtype="<f4", chunks=(2048, 2048),
                                  compression="gzip", compression_opts=4)
            for r0 in range(0, nrows, 512):
                v = (np.sin(np.arange(16384) * 1e-3)[None, :] + rng.standard_normal((512, 16384)) * 1e-3).astype("<f4")
                ds[r0:r0 + 512] = v
                out.write(v.tobytes())
        cold_read_case("sequential read, %%d MiB (%d, 16384) f4, gzip:4 chunks (2048, 2048), 128 MiB to a row of chunks "
                       "(cold, default cache)" % nrows, wide, "wide", wide_raw)

    if want("narrow"):
        # Chunks far narrower than the rows, as column-wise writers store
        # tables and time series ((8192, 8) chunks of a (8192, 8192)
        # float32 array): every read of a few rows crosses all 1,024
        # chunks, 32 bytes from each per row.
        ncols = max(1024, int(8192 * SCALE) // 1024 * 1024)
        narrow, narrow_raw = os.path.join(work, "narrow.h5"), os.path.join(work, "narrow.bin")
        rng = np.random.RandomState(10)
        with h5py.File(narrow, "w") as f, open(narrow_raw, "wb") as out:
            ds = f.create_dataset("narrow", shape=(8192, ncols), dtype="<f4", chunks=(8192, 8),
                                  compression="gzip", compression_opts=4)
            for r0 in range(0, 8192, 1024):
                v = (np.cos(np.arange(ncols) * 1e-2)[None, :] + rng.standard_normal((1024, ncols)) * 1e-3).astype("<f4")
                ds[r0:r0 + 1024] = v
                out.write(v.tobytes())
        cold_read_case("sequential read, %%d MiB (8192, %d) f4, gzip:4 chunks (8192, 8) (cold)" % ncols,
                       narrow, "narrow", narrow_raw)

    k = max(100, int(10000 * min(1, SCALE * 4)))
    rnd = random.Random(1)
    offs = [rnd.randrange(0, nbytes - 4096) // 8 * 8 for _ in range(k)]
    q = lambda v, p: sorted(v)[int(p * (len(v) - 1))] * 1e6

    def random_reads(opts):
        # 10,000 random 4 KiB reads over the gzip dataset, from a fresh
        # mount, and h5py's reads of the same elements.
        got = []
        with Mount(bin, data, mnt, *opts):
            fd = os.open(os.path.join(mnt, "gzip"), os.O_RDONLY)
            lat = []
            for o in offs:
                t = time.perf_counter()
                b = os.pread(fd, 4096, o)
                lat.append(time.perf_counter() - t)
                got.append(b)
            os.close(fd)
        with open(raw, "rb") as f:
            for o, b in zip(offs, got):
                if b != os.pread(f.fileno(), 4096, o):
                    sys.exit("random read at %d: the bytes differ" % o)
        with h5py.File(data, "r") as f:
            ds = f["gzip"]
            hl = []
            for o in offs:
                t = time.perf_counter()
                ds[o // 8:o // 8 + 512]
                hl.append(time.perf_counter() - t)
        return lat, hl

    if want("writable"):
        # What a user mounting without -o ro gets: the same reads through a
        # writable mount, against the read-only mount's and h5py's.
        check_mount("lz4")
        t_rw, t_ro, t_h5py = interleaved((cold_mount_cat("lz4", drop=False, opts=()), None),
                                         (cold_mount_cat("lz4", drop=False), None), (h5py_read("lz4"), None))
        rows.append(("sequential read, %s lz4 chunks (remount, file cached), writable mount" % size,
                     "%.0f MB/s" % mbps(nbytes, t_rw),
                     "read-only mount %.0f MB/s; h5py %.0f MB/s" % (mbps(nbytes, t_ro), mbps(nbytes, t_h5py)),
                     "%.2fx read-only, %.2fx h5py" % (t_ro / t_rw, t_h5py / t_rw)))
        lat, hl = random_reads(())
        rows.append(("%d random 4 KiB preads, gzip dataset, writable mount" % k,
                     "p50 %.0f µs, p99 %.0f µs" % (q(lat, .5), q(lat, .99)),
                     "h5py p50 %.0f µs, p99 %.0f µs" % (q(hl, .5), q(hl, .99)),
                     "p50 %.2fx, p99 %.2fx h5py" % (q(hl, .5) / q(lat, .5), q(hl, .99) / q(lat, .99))))

    if want("random"):
        lat, hl = random_reads(("-o", "ro"))
        rows.append(("%d random 4 KiB preads, gzip dataset" % k, "p50 %.0f µs, p99 %.0f µs" % (q(lat, .5), q(lat, .99)),
                     "h5py p50 %.0f µs, p99 %.0f µs" % (q(hl, .5), q(hl, .99)),
                     "p50 %.2fx, p99 %.2fx h5py" % (q(hl, .5) / q(lat, .5), q(hl, .99) / q(lat, .99))))
        # The reads that were the first in their chunk: each of them
        # decodes the chunk, in the mount as in h5py.
        chunk_bytes = 131072 * 8
        seen, first = set(), []
        for i, o in enumerate(offs):
            c = o // chunk_bytes
            if c not in seen and (o + 4095) // chunk_bytes == c:
                first.append(i)
            seen.update((c, (o + 4095) // chunk_bytes))
        fm, fh = [lat[i] for i in first], [hl[i] for i in first]
        rows.append(("  of which the %d first reads of a chunk" % len(first), "p50 %.0f µs, p99 %.0f µs" % (q(fm, .5), q(fm, .99)),
                     "h5py p50 %.0f µs, p99 %.0f µs" % (q(fh, .5), q(fh, .99)),
                     "p50 %.2fx, p99 %.2fx h5py" % (q(fh, .5) / q(fm, .5), q(fh, .99) / q(fm, .99))))

    if want("write"):
        # dd of the data into an existing dataset, durable at the end
        # (unmount; h5py: flush and fsync). Both start with the source in
        # memory: raw.bin in the page cache, the array in h5py's process.
        src = np.fromfile(raw, dtype="<f8")
        for name, kw in (("contiguous", {}), ("gzip", {"chunks": (131072,), "compression": "gzip", "compression_opts": 4}),
                         ("szip", {"chunks": (131072,), "compression": "szip", "compression_opts": ("nn", 32)})):
            target = os.path.join(work, "w.h5")

            def prepare():
                if os.path.exists(target):
                    os.remove(target)
                with h5py.File(target, "w") as f:
                    f.create_dataset("d", shape=(n,), dtype="<f8", **kw)
                drop_caches()
                cat(raw)

            def by_mount():
                with Mount(bin, target, mnt):
                    run("dd", "if=" + raw, "of=" + os.path.join(mnt, "d"), "bs=1M", "conv=notrunc", "status=none")

            def by_h5py():
                with h5py.File(target, "r+") as f:
                    d = f["d"]
                    slab = 1 << 21
                    for i in range(0, n, slab):
                        d[i:i + slab] = src[i:i + slab]
                    f.flush()
                fd = os.open(target, os.O_RDONLY)
                os.fsync(fd)
                os.close(fd)

            prepare()
            by_mount()
            check_h5py("d", target)  # what the mount wrote, before h5py writes
            t_m, t_h = interleaved((by_mount, prepare), (by_h5py, prepare))
            rows.append(("dd write %s into a %s dataset (until unmount)" % (size, name), "%.0f MB/s" % mbps(nbytes, t_m),
                         "h5py %.0f MB/s" % mbps(nbytes, t_h), "%.2fx h5py" % (t_h / t_m)))

    if want("find"):
        # find over 100,000 datasets in 1,000 groups.
        groups, per = max(10, int(1000 * SCALE)), 100
        many = os.path.join(work, "many.h5")
        with h5py.File(many, "w") as f:
            for g in range(groups):
                grp = f.create_group("g%d" % g)
                for d in range(per):
                    grp.create_dataset("d%d" % d, shape=(4,), dtype="<i4")
        count = []

        def find():
            with Mount(bin, many, mnt, "-o", "ro"):
                out = subprocess.run("find %s | wc -l" % mnt, shell=True, check=True, capture_output=True, text=True).stdout
                count.append(int(out))
        t_find = median_time(find)
        if count[-1] != 1 + groups * (per + 1):
            sys.exit("find listed %d entries, want %d" % (count[-1], 1 + groups * (per + 1)))

        def mount_only():
            with Mount(bin, many, mnt, "-o", "ro"):
                pass
        t_mount = median_time(mount_only)

        def visit():
            with h5py.File(many, "r") as f:
                f.visit(lambda name: None)
        t_visit = median_time(visit)
        t_h5ls = median_time(lambda: run("h5ls", "-r", many, stdout=subprocess.DEVNULL))
        rows.append(("mount + find | wc -l, %d datasets in %d groups (%d entries)" % (groups * per, groups, count[-1]),
                     "%.2f s (mount + unmount alone %.2f s)" % (t_find, t_mount),
                     "h5py visit %.2f s; h5ls -r %.2f s" % (t_visit, t_h5ls),
                     "%.2fx h5ls" % (t_h5ls / t_find)))

    if want("rss"):
        # Peak memory while reading a 4 GiB compressed dataset.
        big = os.path.join(work, "big.h5")
        nbig = int((4 << 30) * SCALE) // 8
        slab = 1 << 22
        block = np.repeat(np.arange(slab // 64, dtype=np.float64), 64)
        with h5py.File(big, "w") as f:
            ds = f.create_dataset("d", shape=(nbig,), dtype="<f8", chunks=(131072,), compression="gzip", compression_opts=1)
            for i in range(0, nbig, slab):
                m = min(slab, nbig - i)
                ds[i:i + m] = block[:m]
        cache = "256MiB"
        with Mount(bin, big, mnt, "-o", "ro", "--cache-size", cache) as m:
            # The check reads it all: that is the read whose peak is measured.
            with open(os.path.join(mnt, "d"), "rb") as f:
                for i in range(0, nbig, slab):
                    m_ = min(slab, nbig - i)
                    if f.read(m_ * 8) != block[:m_].tobytes():
                        sys.exit("big: the bytes read differ at element %d" % i)
            with open("/proc/%d/status" % m.pid()) as st:
                hwm = [l for l in st if l.startswith("VmHWM")][0].split()[1]
        rows.append(("peak RSS of the mount reading %d MiB gzip" % (nbig * 8 // MIB), "%d MiB" % (int(hwm) // 1024),
                     "--cache-size %s" % cache, "%.2fx the cache (+%d MiB)" % (int(hwm) / 1024 / 256, int(hwm) // 1024 - 256)))


if __name__ == "__main__":
    main()
