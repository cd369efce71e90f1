// Loads a judge installed by install.sh: libhdf5 2.0 (h5wasm 0.10.3), or
// with v114 libhdf5 1.14 (h5wasm 0.8.11) with the filter plugins of
// h5wasm-plugins. Imported before h5wasm loads, so that a script can first
// take over what h5wasm prints (readall.mjs).
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export async function loadJudge(v114) {
  const base = join(dirname(fileURLToPath(import.meta.url)), v114 ? "v114" : ".", "node_modules");
  const h5wasm = await import(pathToFileURL(join(base, "h5wasm", "dist", "node", "hdf5_hl.js")));
  const module = await h5wasm.ready;
  if (v114) {
    const plugins = await import(pathToFileURL(join(base, "h5wasm-plugins", "index.mjs")));
    plugins.install_local_plugins(module);
  }
  return h5wasm;
}
