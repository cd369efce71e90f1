#!/usr/bin/env bash
# Installs h5wasm, libhdf5 2.0.0 compiled to WebAssembly, into
# scripts/libhdf5v2/node_modules (not committed): the judge of the files that
# only libhdf5 2.0 writes or reads (layout message version 5, libver v200).
#
#   scripts/libhdf5v2/install.sh     # needs node and npm
set -euo pipefail
cd "$(dirname "$0")"
VERSION=0.10.3 # libhdf5 2.0.0
if [ -f node_modules/h5wasm/package.json ] &&
    grep -q "\"version\": \"$VERSION\"" node_modules/h5wasm/package.json; then
    exit 0
fi
npm install --no-save --no-package-lock --no-audit --no-fund "h5wasm@$VERSION" >/dev/null
grep -q "\"version\": \"$VERSION\"" node_modules/h5wasm/package.json
