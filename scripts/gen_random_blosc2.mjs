// Writes OUT.h5 with COUNT random Blosc2 datasets (element types, ranks
// 1-3, shapes, chunk shapes, codecs, shuffles, delta, levels and block
// sizes drawn from SEED) through libhdf5 1.14 and the Blosc2 plugin of
// h5wasm-plugins, reads each back with them, and writes OUT.h5.json: per
// dataset the sha256 of the bytes libhdf5 read (file order) and what was
// drawn. random_mount_test.go's TestRandomBlosc2Files compares a mount
// with it.
//
//   node scripts/gen_random_blosc2.mjs SEED COUNT OUT
import { createHash } from "node:crypto";
import fs from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const [seedArg, countArg, out] = process.argv.slice(2);
const { loadJudge } = await import(join(here, "libhdf5v2", "judge.mjs"));
const h5wasm = await loadJudge(true);

// libhdf5 reports a failed write or read on its error stack, which h5wasm
// prints to standard error and otherwise ignores: anything there fails.
const writeSync = fs.writeSync.bind(fs);
fs.writeSync = function (fd, buf, ...rest) {
  const text = typeof buf === "string" ? buf : Buffer.from(buf).toString();
  if (fd === 2 && text !== "") {
    throw new Error(`libhdf5 said: ${text}`);
  }
  return writeSync(fd, buf, ...rest);
};

let seed = Number(seedArg);
const draw = (n) => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return Math.floor((seed / 2147483648) * n);
};
const types = [["<B", Uint8Array], ["<b", Int8Array], ["<h", Int16Array], ["<H", Uint16Array],
  ["<i", Int32Array], ["<f", Float32Array], ["<d", Float64Array], ["<q", BigInt64Array]];
// BloscLZ, LZ4, LZ4HC, zstd (the plugin's wasm build has no zlib).
const codecs = [0, 1, 2, 5];
const path = out + ".h5";
fs.rmSync(path, { force: true });
const f = new h5wasm.File(path, "w");
const drawn = [];
for (let k = 0; k < Number(countArg); k++) {
  const [dtype, Kind] = types[draw(types.length)];
  const rank = 1 + draw(3);
  const shape = [], chunks = [];
  for (let d = 0; d < rank; d++) {
    const s = 1 + draw([20000, 150, 30][rank - 1]);
    shape.push(s);
    chunks.push(1 + draw(s));
  }
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Kind(n);
  const style = draw(4); // zeros, smooth, noise, a short cycle
  for (let i = 0; i < n; i++) {
    const v = [0, Math.sin(i / 17) * 100 + draw(3), draw(1 << 30), i % 50][style];
    data[i] = Kind === BigInt64Array ? BigInt(Math.round(v)) : v;
  }
  // revision, block size (0: c-blosc2 chooses), type size and chunk size
  // (set_local's), level, filter (none, shuffle, bit shuffle, delta), codec
  const cd = [0, draw(3) === 0 ? 1024 * (1 + draw(16)) : 0, 0, 0, draw(10), draw(4), codecs[draw(codecs.length)]];
  const name = `d${k}`;
  f.create_dataset({ name, data, shape, chunks, dtype, compression: 32026, compression_opts: cd });
  drawn.push({ name, shape, chunks, dtype, cd });
}
f.close();
const r = new h5wasm.File(path, "r");
for (const d of drawn) {
  const v = r.get(d.name).value;
  d.sha256 = createHash("sha256").update(Buffer.from(v.buffer, v.byteOffset, v.byteLength)).digest("hex");
}
r.close();
fs.writeFileSync(path + ".json", JSON.stringify(drawn, null, 1));
