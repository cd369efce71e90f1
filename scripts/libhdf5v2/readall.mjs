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

function readAll(path) {
  const f = new h5wasm.File(path, "r");
  const h = createHash("sha256");
  const seen = new Set();
  const errors = [];
  let where = "/";
  try {
    const visit = (g) => {
      for (const name of Object.keys(g.attrs)) {
        where = `${g.path} attribute ${name}`;
        try {
          h.update(where + JSON.stringify(g.attrs[name].json_value ?? null, (k, v) => (typeof v === "bigint" ? v.toString() : v)));
        } catch (e) {
          errors.push(`${where}\t${String(e.message ?? e).split("\n")[0]}`);
        }
      }
      if (!(g instanceof h5wasm.Group)) {
        return;
      }
      for (const k of g.keys()) {
        where = `${g.path === "/" ? "" : g.path}/${k}`;
        const type = g.get_type(k);
        let o = null;
        if (type === 2 /* H5L dataset or group by H5O type */ || type === 0 || type === 1) {
          o = g.get(k);
        }
        if (o instanceof h5wasm.Group || o instanceof h5wasm.Dataset) {
          const id = o instanceof h5wasm.Group ? `g${o.path}` : `d${o.path}`;
          if (seen.has(id)) {
            continue;
          }
          seen.add(id);
          if (o instanceof h5wasm.Dataset) {
            where = o.path;
            let v;
            try {
              const n = (o.shape ?? []).reduce((a, b) => a * b, 1);
              v = n * (o.metadata.size ?? 1) > 64 << 20 ? o.slice(o.shape.map((d, i) => [0, Math.min(d, i === 0 ? 1 : 256)])) : o.value;
            } catch (e) {
              errors.push(`${where}\t${String(e.message ?? e).split("\n")[0]}`);
              visit(o);
              continue;
            }
            if (ArrayBuffer.isView(v)) {
              h.update(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
            } else {
              h.update(JSON.stringify(v, (k2, x) => (typeof x === "bigint" ? x.toString() : ArrayBuffer.isView(x) ? Array.from(x, String) : x)) ?? "");
            }
          }
          visit(o);
        }
      }
    };
    visit(f);
  } catch (e) {
    errors.push(`${where}\t${String(e.message ?? e).split("\n")[0]}`);
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
