// Checks a file with libhdf5 2.0 (h5wasm) against what a test expects of it,
// given as JSON:
//
//   {"datasets": [{"path", "shape", "sha256"}],   bytes in file order
//    "attributes": [{"path", "name", "value"}],
//    "groups": ["/path", ...],
//    "absent": ["/path", ...]}
//
//   node scripts/libhdf5v2/check.mjs FILE EXPECT.json [v114]
//
// With v114, the judge is libhdf5 1.14 with the filter plugins of
// h5wasm-plugins (v114/node_modules, see install.sh) instead of libhdf5 2.0.
// Prints one line per mismatch and exits 1 if there was any, 2 if libhdf5
// could not open the file.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { loadJudge } from "./judge.mjs";

const [file, expectPath, judge] = process.argv.slice(2);
const want = JSON.parse(readFileSync(expectPath, "utf8"));
const h5wasm = await loadJudge(judge === "v114");

let f;
try {
  f = new h5wasm.File(file, "r");
} catch (e) {
  console.log(`libhdf5 2.0 cannot open ${file}: ${e.message}`);
  process.exit(2);
}
const bad = [];
const get = (p) => {
  try {
    return f.get(p);
  } catch (e) {
    bad.push(`${p}: ${e.message}`);
    return null;
  }
};
for (const d of want.datasets ?? []) {
  const o = get(d.path);
  if (!(o instanceof h5wasm.Dataset)) {
    bad.push(`${d.path}: not a dataset`);
    continue;
  }
  if (JSON.stringify(o.shape) !== JSON.stringify(d.shape)) {
    bad.push(`${d.path}: shape ${JSON.stringify(o.shape)}, want ${JSON.stringify(d.shape)}`);
    continue;
  }
  let v;
  try {
    v = o.value;
  } catch (e) {
    bad.push(`${d.path}: read: ${e.message}`);
    continue;
  }
  const sum = createHash("sha256").update(Buffer.from(v.buffer, v.byteOffset, v.byteLength)).digest("hex");
  if (sum !== d.sha256) {
    bad.push(`${d.path}: sha256 ${sum}, want ${d.sha256}`);
  }
}
for (const a of want.attributes ?? []) {
  const o = get(a.path);
  const got = o?.attrs?.[a.name];
  if (got === undefined) {
    bad.push(`${a.path}: no attribute ${a.name}`);
    continue;
  }
  const value = typeof got.value === "bigint" ? Number(got.value) : got.value;
  if (JSON.stringify(value) !== JSON.stringify(a.value)) {
    bad.push(`${a.path}: attribute ${a.name} is ${JSON.stringify(value)}, want ${JSON.stringify(a.value)}`);
  }
}
for (const p of want.groups ?? []) {
  if (!(get(p) instanceof h5wasm.Group)) {
    bad.push(`${p}: not a group`);
  }
}
for (const p of want.absent ?? []) {
  let o = null;
  try {
    o = f.get(p);
  } catch {
    o = null;
  }
  if (o) {
    bad.push(`${p}: still there`);
  }
}
f.close();
for (const b of bad) {
  console.log(b);
}
process.exit(bad.length ? 1 : 0);
