#!/usr/bin/env bash
# Installs the libhdf5 judges that npm has and Debian does not (into
# node_modules directories here, not committed):
#   node_modules/        h5wasm 0.10.3: libhdf5 2.0.0 compiled to WebAssembly,
#                        the judge of files only libhdf5 2.0 writes or reads
#                        (layout message version 5, libver v200);
#   v114/node_modules/   h5wasm 0.8.11 (libhdf5 1.14.6) with h5wasm-plugins
#                        0.2.1: libhdf5's own Zstandard, Blosc, Blosc2, LZ4,
#                        LZF, bzip2 and Bitshuffle filters, the judge of what
#                        a mount compresses with Zstandard (no Debian package
#                        has a Zstandard plugin for libhdf5).
#
#   scripts/libhdf5v2/install.sh     # needs node and npm
set -euo pipefail
cd "$(dirname "$0")"
has() { # DIR PACKAGE VERSION
    [ -f "$1/node_modules/$2/package.json" ] && grep -q "\"version\": \"$3\"" "$1/node_modules/$2/package.json"
}
get() { # DIR PACKAGE@VERSION...
    local dir=$1
    shift
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund "$@" >/dev/null
}
has . h5wasm 0.10.3 || get . h5wasm@0.10.3
has . h5wasm 0.10.3
if ! has v114 h5wasm 0.8.11 || ! has v114 h5wasm-plugins 0.2.1; then
    get v114 h5wasm@0.8.11 h5wasm-plugins@0.2.1
fi
has v114 h5wasm 0.8.11 && has v114 h5wasm-plugins 0.2.1
