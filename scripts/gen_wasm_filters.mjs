// Writes the filter fixtures only libhdf5 1.14 with the filter plugins of
// h5wasm-plugins (h5wasm 0.8.11) can write, libhdf5 1.10 and Debian's
// plugins having none for them: testdata/filters/blosc2.h5 (hdf5_plugins'
// H5Zblosc2 on c-blosc2) and testdata/filters/quantize.h5 (BitGroom and
// Granular BitRound, CCR's quantizers). It reads every dataset back with
// the same libhdf5 and plugins and writes testdata/filters/wasm.json, in
// filters.json's format (see scripts/gen_filters.py), for
// h5/internal/filter's TestFilterFiles.
//
// h5wasm gives no object addresses nor chunk filter masks: those come from
// h5py (Debian's libhdf5 1.10), which opens the datasets without reading
// them, so without the plugins.
//
//   scripts/libhdf5v2/install.sh && node scripts/gen_wasm_filters.mjs [OUTDIR]
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, "..", "testdata", "filters");

// libhdf5 reports a failed read or write on its error stack, which h5wasm
// prints to standard error and otherwise ignores (a dataset that cannot be
// read reads as zeros): anything printed there fails the script.
const diagnostics = [];
const writeSync = fs.writeSync.bind(fs);
fs.writeSync = function (fd, buf, ...rest) {
  if (fd !== 2) {
    return writeSync(fd, buf, ...rest);
  }
  const text = typeof buf === "string" ? buf : Buffer.from(buf).toString();
  if (text !== "") {
    diagnostics.push(text); // (the quantizer plugins write empty strings)
  }
  return typeof buf === "string" ? Buffer.byteLength(buf) : (rest[1] ?? buf.byteLength);
};
function checkQuiet(what) {
  if (diagnostics.length) {
    throw new Error(`${what}: libhdf5 said:\n${diagnostics.join("")}`);
  }
}

const { loadJudge } = await import(join(here, "libhdf5v2", "judge.mjs"));
const h5wasm = await loadJudge(true);

// Deterministic values: a smooth wave with a little integer noise, so the
// codecs have something to do and no two chunks are alike.
let seed = 12345;
function rnd() {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed;
}
function wave(n, scale, Kind) {
  const a = new Kind(n);
  for (let i = 0; i < n; i++) {
    const v = Math.sin(i / 37) * scale + (rnd() % 7);
    a[i] = Kind === BigInt64Array || Kind === BigUint64Array ? BigInt(Math.round(v)) : v;
  }
  return a;
}
// noise: bytes no codec shrinks, so that c-blosc2 stores them as they are.
function noise(n, Kind) {
  const b = new Uint8Array(n * Kind.BYTES_PER_ELEMENT);
  for (let i = 0; i < b.length; i++) {
    b[i] = rnd() >> 16;
  }
  return new Kind(b.buffer);
}

// Compressor codes of cd_values[6], shuffles of cd_values[5].
const BLOSCLZ = 0, LZ4 = 1, LZ4HC = 2, ZLIB = 4, ZSTD = 5;
const NOSHUF = 0, SHUF = 1, BITSHUF = 2, DELTA = 3, TRUNC = 4, BYTEDELTA = 35;
// cd_values: revision, block size (0: c-blosc2 chooses), type size and
// chunk size (set_local fills both), level, shuffle, compressor.
const opts = (level, shuffle, codec, block = 0) => [32026, [0, block, 0, 0, level, shuffle, codec]];

const blosc2 = [
  // 1-D chunks: a super-chunk of one Blosc2 chunk, serialized as a frame.
  ["b2_u1_blosclz", wave(3000, 100, Uint8Array), [3000], [1024], "<B", opts(5, SHUF, BLOSCLZ)],
  ["b2_i2_lz4", wave(5000, 3000, Int16Array), [5000], [2048], "<h", opts(5, SHUF, LZ4)],
  ["b2_i4_lz4hc", wave(4000, 1e6, Int32Array), [4000], [1500], "<i", opts(9, SHUF, LZ4HC)],
  // No ZLIB: the plugin, built without zlib, aborts on compress2.
  ["b2_f8_zstd", wave(3000, 1e5, Float64Array), [3000], [1024], "<d", opts(5, SHUF, ZSTD)],
  ["b2_f8_bitshuffle", wave(2500, 1e3, Float64Array), [2500], [1000], "<d", opts(5, BITSHUF, LZ4)],
  ["b2_i4_noshuffle", wave(2000, 1e4, Int32Array), [2000], [700], "<i", opts(5, NOSHUF, BLOSCLZ)],
  ["b2_i4_delta", wave(3000, 1e4, Int32Array), [3000], [1024], "<i", opts(5, DELTA, ZSTD)],
  // No TRUNC_PREC: cd_values give it no precision (meta 0), which c-blosc2
  // refuses, and the plugin aborts on the way out (pthread_mutex_destroy).
  // No BYTEDELTA (35) either: the plugin fails on it the same way.
  ["b2_u1_noise", noise(5000, Uint8Array), [5000], [2048], "<B", opts(5, SHUF, LZ4)],
  ["b2_f8_noise", noise(3000, Float64Array), [3000], [1024], "<d", opts(5, SHUF, ZSTD)],
  ["b2_i4_level0", wave(2000, 1e4, Int32Array), [2000], [1024], "<i", opts(0, SHUF, BLOSCLZ)],
  ["b2_f8_zeros", new Float64Array(4000), [4000], [1024], "<d", opts(5, SHUF, LZ4)],
  ["b2_i4_runs", new Int32Array(4000).fill(7), [4000], [1024], "<i", opts(5, SHUF, BLOSCLZ)],
  ["b2_i8_smallblocks", wave(20000, 1e9, BigInt64Array), [20000], [8192], "<q", opts(5, SHUF, LZ4, 4096)],
  ["b2_u2_big", wave(150000, 3000, Uint16Array), [150000], [65536], "<H", opts(5, SHUF, ZSTD)],
  // n-D chunks: a b2nd array serialized as a frame, blocks of a shape.
  ["b2_f4_2d_lz4", wave(50 * 37, 100, Float32Array), [50, 37], [16, 16], "<f", opts(5, SHUF, LZ4)],
  ["b2_i2_2d_zstd", wave(100 * 90, 3000, Int16Array), [100, 90], [40, 30], "<h", opts(5, SHUF, ZSTD)],
  ["b2_u1_2d_blosclz", wave(64 * 64, 100, Uint8Array), [64, 64], [64, 64], "<B", opts(5, SHUF, BLOSCLZ)],
  ["b2_f8_3d_zstd", wave(12 * 10 * 9, 1e3, Float64Array), [12, 10, 9], [5, 4, 7], "<d", opts(5, SHUF, ZSTD)],
  ["b2_i8_3d_bitshuffle", wave(20 * 20 * 20, 1e6, BigInt64Array), [20, 20, 20], [8, 8, 8], "<q", opts(5, BITSHUF, LZ4HC)],
  ["b2_f4_2d_noise", noise(40 * 40, Float32Array), [40, 40], [25, 25], "<f", opts(5, SHUF, LZ4)],
  ["b2_f8_2d_zeros", new Float64Array(30 * 30), [30, 30], [16, 16], "<d", opts(5, SHUF, ZSTD)],
  ["b2_i4_2d_smallblocks", wave(100 * 100, 1e5, Int32Array), [100, 100], [50, 60], "<i", opts(5, DELTA, BLOSCLZ, 1000)],
  ["b2_f4_2d_level0", wave(30 * 30, 100, Float32Array), [30, 30], [16, 16], "<f", opts(0, SHUF, LZ4)],
];

// The quantizers keep a number of significant digits (cd_values[0]; the
// plugins' set_local adds the element size and the fill value, which they
// leave as it is, as they do NaN).
const BITGROOM = 32022, GRANULARBR = 32023;
const marked = new Float32Array(2000);
for (let i = 0; i < marked.length; i++) {
  marked[i] = i % 97 === 0 ? -999 : i % 89 === 0 ? NaN : Math.sin(i / 13) * 1234.5678 + i / 7;
}
const quantize = [
  ["bitgroom_f4", wave(3000, 1234.5678, Float32Array), [3000], [1024], "<f", [BITGROOM, [3]]],
  ["bitgroom_f8", wave(3000, 98765.4321, Float64Array), [3000], [1024], "<d", [BITGROOM, [5]]],
  ["granularbr_f4", wave(3000, 1234.5678, Float32Array), [3000], [1024], "<f", [GRANULARBR, [3]]],
  ["granularbr_f8_2d", wave(60 * 50, 98765.4321, Float64Array), [60, 50], [16, 20], "<d", [GRANULARBR, [4]]],
  ["granularbr_f4_nan", marked, [2000], [512], "<f", [GRANULARBR, [2]]],
];

fs.mkdirSync(out, { recursive: true });
const entries = [];
for (const [file, datasets] of [["blosc2.h5", blosc2], ["quantize.h5", quantize]]) {
  const path = join(out, file);
  fs.rmSync(path, { force: true });
  const f = new h5wasm.File(path, "w");
  for (const [name, data, shape, chunks, dtype, [id, cd]] of datasets) {
    process.stdout.write(`writing ${name}\n`);
    f.create_dataset({ name, data, shape, chunks, dtype, compression: id, compression_opts: cd });
    checkQuiet(`writing ${name}`);
  }
  f.close();

  // What libhdf5 with the plugin reads back, in the file's byte order.
  const r = new h5wasm.File(path, "r");
  const read = {};
  for (const [name] of datasets) {
    const ds = r.get(name);
    const v = ds.value;
    checkQuiet(`reading ${name}`);
    const bytes = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    read[name] = {
      sha256: createHash("sha256").update(bytes).digest("hex"),
      filters: ds.filters.map((fl) => [fl.id, fl.cd_values.length, fl.cd_values.slice(0, 16)]),
      dtype: ds.dtype,
    };
  }
  r.close();

  const py = `
import h5py, json, sys
f = h5py.File(sys.argv[1], "r")
out = {}
for name in sys.argv[2:]:
    ds = f[name]
    n = ds.id.get_num_chunks()
    infos = [ds.id.get_chunk_info(i) for i in range(n)]
    out[name] = {"addr": h5py.h5o.get_info(ds.id).addr, "dtype": ds.dtype.str, "itemsize": ds.dtype.itemsize,
                 "shape": list(ds.shape), "chunks": list(ds.chunks), "nchunks": n,
                 "masked_chunks": sum(1 for i in infos if i.filter_mask != 0),
                 "stored": sum(i.size for i in infos)}
json.dump(out, sys.stdout)
`;
  const struct = JSON.parse(execFileSync("/usr/bin/python3", ["-c", py, path, ...datasets.map((d) => d[0])]).toString());

  const lines = [];
  for (const [name] of datasets) {
    const s = struct[name], g = read[name];
    lines.push("  " + JSON.stringify({
      name: "/" + name, addr: s.addr, dtype: s.dtype, itemsize: s.itemsize, shape: s.shape, chunks: s.chunks,
      filters: g.filters, nchunks: s.nchunks, masked_chunks: s.masked_chunks, sha256: g.sha256, expect: "ok",
    }));
    console.log(name, s.shape, s.chunks, "stored", s.stored, "bytes", g.filters[0][2].join(","));
  }
  entries.push(` {"file": "${file}", "datasets": [\n${lines.join(",\n")}\n ]}`);
}
const doc = `{"libhdf5": "1.14.6 (h5wasm 0.8.11)", "plugins": "h5wasm-plugins 0.2.1", "files": [
${entries.join(",\n")}
]}
`;
fs.writeFileSync(join(out, "wasm.json"), doc);
