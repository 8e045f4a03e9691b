#!/usr/bin/env bash
# Builds the Go fan-out example against an installed rgcd the way a Go user does: no
# CGO_* flags, the package's default `#cgo pkg-config: --static rgcd` (PKG_CONFIG_PATH must
# point at the install's lib/pkgconfig). Checks that the program runs and that it does not
# depend on librgcd.so (the static library was linked).
#   usage: run.sh <go> <scratch dir>
set -euo pipefail

go=${1:?usage: run.sh <go> <scratch dir>}
out=${2:?usage: run.sh <go> <scratch dir>}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$out"
unset CGO_CFLAGS CGO_LDFLAGS
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=1
if [[ -z ${HOME:-} && -z ${GOCACHE:-} ]]; then
    export GOCACHE="$out/go-build" GOPATH="$out/gopath"
fi
cd "$here/../../../examples/go"
"$go" build -o "$out/fanout" ./fanout
[[ "$("$out/fanout" | head -1)" == "item1 -> ITEM1" ]]
if command -v readelf >/dev/null && readelf -d "$out/fanout" | grep -q 'NEEDED.*librgcd'; then
    echo "the Go program depends on librgcd.so: the static library was not linked" >&2
    exit 1
fi
echo ok
