// Writes testdata/hdf5v2/v200.h5 with libhdf5 2.0 (h5wasm) and libver
// bounds v200: filtered chunked datasets get layout message version 5, whose
// chunk indexes store each chunk's size in 8 bytes; libhdf5 1.10 (h5py,
// h5dump here) cannot open them. Next to it, v200.h5.json is what libhdf5
// 2.0 reads back from the file (sha256 of each dataset's bytes in file
// order, shapes, attributes): hdf5v2_test.go compares the mount with it.
//
//   scripts/libhdf5v2/install.sh && node scripts/libhdf5v2/gen.mjs [OUTDIR]
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync, rmSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, "..", "..", "testdata", "hdf5v2");
const h5wasm = await import("h5wasm/node");
await h5wasm.ready;

// Deterministic values: a smooth wave with a little integer noise, so the
// filters have something to do and no two chunks are alike.
function wave(n, scale, Kind) {
  const a = new Kind(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const v = Math.sin(i / 37) * scale + (s % 7);
    a[i] = Kind === BigInt64Array ? BigInt(Math.round(v)) : v;
  }
  return a;
}

const path = join(out, "v200.h5");
mkdirSync(out, { recursive: true });
rmSync(path, { force: true });
const f = new h5wasm.File(path, "w", { libver: "v200" });
f.create_attribute("title", "written by libhdf5 2.0 with libver v200");
f.create_attribute("version", 2);
const fl = f.create_group("filtered");
fl.create_attribute("note", "layout message version 5: chunk sizes in 8 bytes");
// Each chunk index, behind a filter: single chunk, fixed array (edge chunks
// too), extensible array (also one with super blocks), v2 B-tree.
fl.create_dataset({ name: "single", data: wave(1000, 100, Float32Array), shape: [1000], chunks: [1000], compression: "gzip", compression_opts: 4 });
fl.create_dataset({ name: "farray", data: wave(4000, 1000, Float32Array), shape: [40, 100], chunks: [10, 30], compression: "gzip", compression_opts: 6 });
fl.create_dataset({ name: "earray", data: wave(3000, 1e6, Float64Array), shape: [3000], maxshape: [null], chunks: [256], compression: 2, compression_opts: [] });
fl.create_dataset({ name: "earray_many", data: wave(100000, 100, Uint8Array), shape: [100000], maxshape: [null], chunks: [100], compression: "gzip", compression_opts: 1 });
fl.create_dataset({ name: "bt2", data: wave(3500, 3000, Int16Array), shape: [50, 70], maxshape: [null, null], chunks: [16, 16], compression: 3, compression_opts: [] });
const pl = f.create_group("plain");
pl.create_dataset({ name: "farray", data: wave(900, 1e5, Int32Array), shape: [30, 30], chunks: [7, 7] });
pl.create_dataset({ name: "earray", data: wave(500, 1e9, BigInt64Array), shape: [500], maxshape: [null], chunks: [64] });
pl.create_dataset({ name: "bt2", data: wave(400, 60000, Uint16Array), shape: [20, 20], maxshape: [null, null], chunks: [8, 8] });
pl.create_dataset({ name: "contig", data: wave(256, 1, Float64Array), shape: [256] });
const deeper = pl.create_group("sub").create_group("deeper");
deeper.create_dataset({ name: "x", data: wave(64, 10, Float32Array), shape: [8, 8], chunks: [4, 4], compression: "gzip", compression_opts: 9 });
deeper.create_attribute("units", "m/s");
// Links and attributes in dense storage with their creation order tracked,
// strings of both kinds, object references.
const ordered = f.create_group("ordered", true);
for (let i = 0; i < 12; i++) {
  ordered.create_dataset({ name: `d${(i * 7) % 12}`, data: new Int32Array([i, -i]) });
  ordered.create_attribute(`a${(i * 5) % 12}`, i % 2 ? `text ${i}` : i);
}
const text = f.create_group("text");
text.create_dataset({ name: "vlen", data: ["alpha", "béta", "", "gamma delta", "日本語"] });
text.create_dataset({ name: "fixed", data: ["ab", "cde", "fghij"], dtype: "S6" });
const refs = [f.get("plain/farray"), f.get("filtered"), f.get("ordered/d3")].map((o) => o.create_reference());
f.create_group("refs").create_dataset({ name: "objects", data: refs });
f.close();

// The reference: what libhdf5 2.0 reads from the file just written.
const r = new h5wasm.File(path, "r");
const ref = { libhdf5: "2.0.0", h5wasm: "0.10.3", datasets: [], attributes: [], texts: [], listings: [] };
function walk(g) {
  for (const [name, value] of Object.entries(g.attrs)) {
    ref.attributes.push({ path: g.path, name, value: typeof value.value === "bigint" ? Number(value.value) : value.value });
  }
  for (const k of g.keys()) {
    const o = g.get(k);
    if (o instanceof h5wasm.Group) {
      ref.listings.push({ path: o.path, names: o.keys().sort() });
      walk(o);
    } else if (o instanceof h5wasm.Dataset) {
      const v = o.value;
      if (o.metadata.type === 7) {
        // Object references read as their objects' paths, one a line.
        ref.texts.push({ path: o.path, lines: v.map((x) => r.dereference(x).path) });
        continue;
      }
      if (o.metadata.vlen) {
        ref.texts.push({ path: o.path, lines: v });
        continue;
      }
      let bytes;
      if (o.metadata.type === 3) {
        // Fixed-length strings: the stored bytes, padded with nulls.
        bytes = Buffer.concat(v.map((x) => { const b = Buffer.alloc(o.metadata.size); b.write(x); return b; }));
      } else {
        bytes = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      }
      ref.datasets.push({ path: o.path, dtype: o.dtype, shape: o.shape, maxshape: o.maxshape, chunks: o.chunks,
        filters: o.filters.map((x) => x.id), sha256: createHash("sha256").update(bytes).digest("hex") });
      for (const [name, value] of Object.entries(o.attrs)) {
        ref.attributes.push({ path: o.path, name, value: value.value });
      }
    }
  }
}
walk(r);
r.close();
writeFileSync(path + ".json", JSON.stringify(ref, null, 1) + "\n");
console.log(`${path}: ${ref.datasets.length} datasets, ${ref.attributes.length} attributes`);
