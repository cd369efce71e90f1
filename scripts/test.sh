#!/usr/bin/env bash
# The project's test command (see README): installs what the tests need when it is
# missing, then checks formatting, vets, builds and runs every Go test with the
# race detector.  The FUSE integration tests run for real: without /dev/fuse this
# script fails instead of letting them skip.
#
#   scripts/test.sh            # from anywhere; it works from the repository root
#
# testdata/ is committed and not regenerated here (scripts/gen_testdata.py does that).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3          # Debian's interpreter, the one with python3-h5py
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
export H5MOUNT_REQUIRE_FUSE=1  # Go integration tests fail (not skip) without FUSE
export H5MOUNT_PYTHON="$PY"    # for tests that run scripts/dump_ref.py

start=$(date +%s)
step="setup"
trap 'rc=$?; echo "test.sh: FAILED during: $step (exit $rc, $(( $(date +%s) - start ))s)" >&2' ERR

say() { printf '\n== %s\n' "$*"; }

# --- 1. system packages -------------------------------------------------------
step="installing packages"
missing=()
for tool in fusermount3 getfattr setfattr h5dump h5debug gcc zstd nginx; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ! [ -x "$PY" ] || ! "$PY" -c 'import h5py' >/dev/null 2>&1; then
    missing+=("python3-h5py")
fi
# libhdf5's filter plugins (LZ4, bzip2, LZF, Bitshuffle, Blosc, ZFP): tests write with them through h5py;
# PyTables, pandas and netCDF4 read back the files of testdata/producers that a mount edits
for pkg in hdf5-filter-plugin hdf5-plugin-lzf bitshuffle hdf5-filter-plugin-blosc-serial \
    hdf5-filter-plugin-zfp-serial python3-tables python3-pandas python3-netcdf4; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
    say "installing packages (missing: ${missing[*]})"
    $SUDO apt-get update
    # gcc: go test -race needs cgo
    $SUDO apt-get install -y fuse3 attr python3-h5py hdf5-tools hdf5-filter-plugin \
        hdf5-plugin-lzf bitshuffle hdf5-filter-plugin-blosc-serial hdf5-filter-plugin-zfp-serial \
        gcc zstd nginx-light python3-tables python3-pandas python3-netcdf4
fi
if ! command -v go >/dev/null 2>&1; then
    echo "test.sh: no 'go' on PATH (install Go $(sed -n 's/^go //p' go.mod) or newer)" >&2
    false
fi

# versitygw: the S3 server the remote-mount tests run on loopback
if ! command -v versitygw >/dev/null 2>&1; then
    say "installing versitygw into $HOME/go/bin"
    GOBIN="$HOME/go/bin" go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi

# h5wasm: libhdf5 2.0 compiled to WebAssembly, the judge of files only libhdf5 2.0 reads
step="installing h5wasm"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    say "installing nodejs and npm"
    $SUDO apt-get install -y nodejs npm
fi
scripts/libhdf5v2/install.sh

# --- 2. FUSE must be there ------------------------------------------------------
step="checking FUSE"
if ! [ -c /dev/fuse ]; then
    cat >&2 <<'EOF'
test.sh: /dev/fuse does not exist, so the FUSE integration tests cannot run.
         They are never skipped.  Run on a machine (or a container started with
         --device /dev/fuse --cap-add SYS_ADMIN) that has FUSE, e.g. `modprobe fuse`.
EOF
    exit 1
fi
if ! [ -r /dev/fuse ] || ! [ -w /dev/fuse ]; then
    if [ "$(id -u)" -ne 0 ] && ! [ -u "$(command -v fusermount3)" ]; then
        echo "test.sh: /dev/fuse is not usable by $(id -un) and fusermount3 is not setuid" >&2
        exit 1
    fi
fi

# --- 3. test data ---------------------------------------------------------------
step="checking testdata"
for h5 in weather weather_latest features features_latest types links other; do
    for f in "testdata/$h5.h5" "testdata/$h5.h5.json"; do
        if ! [ -s "$f" ]; then
            echo "test.sh: $f is missing; run: $PY scripts/gen_testdata.py" >&2
            exit 1
        fi
    done
done

# --- 4. Go ----------------------------------------------------------------------
step="gofmt"
say "gofmt -l"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
    echo "test.sh: these files need gofmt -w:" >&2
    echo "$unformatted" >&2
    false
fi

step="go vet"
say "go vet ./..."
go vet ./...

step="go build"
say "go build ./..."
go build ./...

step="go test"
say "go test -race -count=1 -timeout 20m ./..."
go test -race -count=1 -timeout 20m ./...

step="fuzz"
say "scripts/fuzz.sh 2s (every fuzz target briefly; scripts/fuzz.sh alone runs them longer)"
FUZZTIME=2s scripts/fuzz.sh

trap - ERR
echo
echo "test.sh: OK - gofmt, go vet, go build, go test -race and the short fuzz run passed ($(( $(date +%s) - start ))s)"
