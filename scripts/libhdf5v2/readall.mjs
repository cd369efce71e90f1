// Has libhdf5 2.0 (h5wasm) open each file given and read everything in it:
// every group's links, every attribute, every dataset's values (of one over
// 64 MiB, a corner). Per file, tab-separated: "error PATH OBJECT MESSAGE" for
// each object that failed (h5wasm's own limits, such as float16, included:
// compare with the file before an edit), "error PATH  MESSAGE" when the file
// did not open, and last "ok PATH DIGEST", a digest of what was read. Exits 0
// whatever the files held.
//
//   node scripts/libhdf5v2/readall.mjs FILE...
//
// libhdf5 2.0 checks more than 1.10 does (bounds of heaps, B-tree nodes,
// messages): a file a mount changed must still open in it.
import { createHash } from "node:crypto";

const h5wasm = await import("h5wasm/node");
await h5wasm.ready;

const message = (e) => String(e?.message ?? e).split("\n")[0];
const json = (v) => JSON.stringify(v, (k, x) => (typeof x === "bigint" ? x.toString() : ArrayBuffer.isView(x) ? Array.from(x, String) : x)) ?? "";

function readAll(path) {
  const f = new h5wasm.File(path, "r");
  if (f.file_id < 0n) {
    return { digest: "", errors: ["\"/\"\tthe file does not open"] };
  }
  const h = createHash("sha256");
  const errors = [];
  const fail = (where, e) => errors.push(`${JSON.stringify(where)}\t${message(e)}`);
  const readObject = (o) => {
    for (const name of Object.keys(o.attrs)) {
      const where = `${o.path} attribute ${name}`;
      try {
        h.update(where + json(o.attrs[name].json_value ?? null));
      } catch (e) {
        fail(where, e);
      }
    }
    if (!(o instanceof h5wasm.Dataset)) {
      return;
    }
    try {
      const n = (o.shape ?? []).reduce((a, b) => a * b, 1);
      // Of a dataset over 64 MiB, a corner.
      const v = n * (o.metadata.size ?? 1) > 64 << 20 ? o.slice(o.shape.map((d, i) => [0, Math.min(d, i === 0 ? 1 : 256)])) : o.value;
      h.update(ArrayBuffer.isView(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : json(v));
    } catch (e) {
      fail(o.path, e);
    }
  };
  try {
    readObject(f);
    // libhdf5's own visit of every link (H5Lvisit2), which enters each
    // group once: hard links that make a cycle end there.
    for (const rel of f.paths()) {
      const p = "/" + rel;
      try {
        if (f.get_link(p) !== null || f.get_external_link(p)?.filename !== undefined) {
          continue; // soft and external links: their objects have names of their own
        }
        const o = f.get(p);
        if (o instanceof h5wasm.Group || o instanceof h5wasm.Dataset) {
          readObject(o);
        }
      } catch (e) {
        fail(p, e);
      }
    }
  } catch (e) {
    fail("/", e);
  } finally {
    f.close();
  }
  return { digest: h.digest("hex").slice(0, 16), errors };
}

for (const path of process.argv.slice(2)) {
  try {
    const { digest, errors } = readAll(path);
    for (const e of errors) {
      console.log(`error\t${path}\t${e}`);
    }
    console.log(`ok\t${path}\t${digest}`);
  } catch (e) {
    console.log(`error\t${path}\t\t${String(e.message ?? e).split("\n")[0]}`);
  }
}
