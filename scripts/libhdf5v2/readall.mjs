// Has libhdf5 2.0 (h5wasm) open each file given and read everything in it:
// every group's links, every attribute, every dataset's values (of one over
// 64 MiB, a corner). Per file, tab-separated: "error PATH OBJECT MESSAGE" for
// each object that failed (h5wasm's own limits, such as float16, included:
// compare with the file before an edit), "error PATH  MESSAGE" when the file
// did not open, "dataset PATH OBJECT DIGEST" for each dataset read, and last
// "ok PATH DIGEST", a digest of all that was read. Exits 0 whatever the
// files held.
//
//   node scripts/libhdf5v2/readall.mjs [--v114] FILE...
//
// libhdf5 2.0 checks more than 1.10 does (bounds of heaps, B-tree nodes,
// messages): a file a mount changed must still open in it. With --v114 the
// reader is libhdf5 1.14 with the filter plugins of h5wasm-plugins
// (install.sh), which reads Zstandard, Blosc, LZ4, LZF, bzip2 and
// Bitshuffle chunks.
import { createHash } from "node:crypto";
import fs from "node:fs";
import { loadJudge } from "./judge.mjs";

// libhdf5 reports a failed read on its error stack, which h5wasm prints to
// standard error and otherwise ignores (a dataset that cannot be read reads
// as zeros): what it writes there while an object is read is that object's
// failure. It is collected here before h5wasm loads.
const diagnostics = [];
const writeSync = fs.writeSync.bind(fs);
fs.writeSync = function (fd, buf, ...rest) {
  if (fd !== 2) {
    return writeSync(fd, buf, ...rest);
  }
  if (typeof buf === "string") {
    diagnostics.push(buf);
    return Buffer.byteLength(buf);
  }
  const off = rest[0] ?? 0;
  const len = rest[1] ?? buf.byteLength - off;
  diagnostics.push(Buffer.from(buf.buffer, buf.byteOffset + off, len).toString());
  return len;
};

// libhdf5's failure in what it wrote since mark: the message of the deepest
// frame of its error stack, short of the plugin search's own frames.
function libhdf5Failure(mark) {
  const frames = diagnostics.slice(mark).join("").split("\n").filter((l) => /^\s*#\d+: /.test(l));
  if (frames.length === 0) {
    return null;
  }
  const own = frames.filter((l) => !/H5PL[a-z]*\.c/.test(l));
  const line = (own.length ? own : frames).at(-1);
  return "libhdf5: " + line.replace(/^.*?\(\): /, "");
}

const v114 = process.argv[2] === "--v114";
const h5wasm = await loadJudge(v114);

const message = (e) => String(e?.message ?? e).split("\n")[0];
const json = (v) => JSON.stringify(v, (k, x) => (typeof x === "bigint" ? x.toString() : ArrayBuffer.isView(x) ? Array.from(x, String) : x)) ?? "";

function readAll(path) {
  const f = new h5wasm.File(path, "r");
  if (f.file_id < 0n) {
    return { digest: "", errors: ["\"/\"\tthe file does not open"], values: [] };
  }
  const h = createHash("sha256");
  const errors = [];
  const values = [];
  const fail = (where, e) => errors.push(`${JSON.stringify(where)}\t${message(e)}`);
  const readObject = (o) => {
    for (const name of Object.keys(o.attrs)) {
      const where = `${o.path} attribute ${name}`;
      const mark = diagnostics.length;
      try {
        h.update(where + json(o.attrs[name].json_value ?? null));
      } catch (e) {
        fail(where, e);
        continue;
      }
      const failed = libhdf5Failure(mark);
      if (failed) {
        fail(where, failed);
      }
    }
    if (!(o instanceof h5wasm.Dataset)) {
      return;
    }
    const mark = diagnostics.length;
    try {
      const n = (o.shape ?? []).reduce((a, b) => a * b, 1);
      // Of a dataset over 64 MiB, a corner.
      const v = n * (o.metadata.size ?? 1) > 64 << 20 ? o.slice(o.shape.map((d, i) => [0, Math.min(d, i === 0 ? 1 : 256)])) : o.value;
      const bytes = ArrayBuffer.isView(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : json(v);
      h.update(bytes);
      if (!o.metadata.virtual_sources && o.metadata.type !== 7) {
        // (A virtual dataset's sources may sit beside another copy; a
        // reference reads as libhdf5's opaque token, with pointers.)
        values.push([o.path, createHash("sha256").update(bytes).digest("hex").slice(0, 16)]);
      }
    } catch (e) {
      fail(o.path, e);
      return;
    }
    const failed = libhdf5Failure(mark);
    if (failed) {
      values.pop();
      fail(o.path, failed);
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
  return { digest: h.digest("hex").slice(0, 16), errors, values };
}

for (const path of process.argv.slice(v114 ? 3 : 2)) {
  try {
    const { digest, errors, values } = readAll(path);
    for (const e of errors) {
      console.log(`error\t${path}\t${e}`);
    }
    if (errors.some((e) => e.includes("\tAborted("))) {
      // WebAssembly aborted: nothing more reads in this process. The
      // caller reads the rest of the files in a new one.
      process.exit(3);
    }
    for (const [obj, sum] of values) {
      console.log(`dataset\t${path}\t${JSON.stringify(obj)}\t${sum}`);
    }
    console.log(`ok\t${path}\t${digest}`);
  } catch (e) {
    console.log(`error\t${path}\t\t${String(e.message ?? e).split("\n")[0]}`);
  }
}
