#!/usr/bin/env bash
# The README's session: build h5mount, mount testdata/weather.h5 and look at it
# with ordinary tools, then unmount.
#
#   scripts/demo.sh [MOUNTPOINT]        (default /tmp/h5mount-weather)
#
# The file is mounted read-only (DEMO_OPTS="-o ro"), so the committed test file
# cannot change; DEMO_OPTS= scripts/demo.sh mounts it read-write.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

MNT=${1:-/tmp/h5mount-weather}
FILE=testdata/weather.h5
read -r -a OPTS <<<"${DEMO_OPTS--o ro}"

mounted=0
cleanup() {
    if [ "$mounted" = 1 ]; then
        echo "(unmounting $MNT)" >&2
        bin/h5mount unmount "$MNT" 2>/dev/null || fusermount3 -u "$MNT" 2>/dev/null ||
            umount "$MNT" 2>/dev/null || true
    fi
}
trap cleanup EXIT

# show a command as typed, then run it
run() {
    printf '\n$ %s\n' "$*"
    eval "$@"
}

go build -o bin/h5mount .
before=$(sha256sum "$FILE")

run bin/h5mount "${OPTS[@]}" "$FILE" "$MNT"
mounted=1
run ls -la "$MNT" "$MNT/15"
run getfattr -d "$MNT/15/temperature"
run "dd if=$MNT/15/temperature bs=8 skip=100 count=10 status=none | od -A d -t f8"
run "cat $MNT/comp | od -A d -t d4 | tail -3"
# element [344,678,23,36] of the 2 TiB float32 dataset /big
run "dd if=$MNT/big bs=4 skip=\$((((344*1024+678)*1024+23)*512+36)) count=1 status=none | od -t f4"
run "du -h $MNT/big; ls -l $MNT/big"
run bin/h5mount unmount "$MNT"
mounted=0

if [ "$(sha256sum "$FILE")" != "$before" ]; then
    echo "demo.sh: note: $FILE changed while mounted (git checkout $FILE restores it)" >&2
fi
