#!/usr/bin/env bash
# Builds tests/consumer/consumer.c against an installed rgcd found through
# pkg-config (PKG_CONFIG_PATH must point at its lib/pkgconfig), once linked
# with librgcd.so and once with librgcd.a, and runs both.
#   usage: run.sh <scratch dir>     env: PKG_CONFIG_PATH, optional CC, PKG_CONFIG
set -euo pipefail

out=${1:?usage: run.sh <scratch dir>}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_file="$here/../consumer.c"
cc=${CC:-cc}
pkg_config=${PKG_CONFIG:-pkg-config}

mkdir -p "$out"
"$pkg_config" --exists --print-errors rgcd
echo "rgcd $("$pkg_config" --modversion rgcd) from $("$pkg_config" --variable=pcfiledir rgcd)"

cflags=$("$pkg_config" --cflags rgcd)
libs=$("$pkg_config" --libs rgcd)
libdir=$("$pkg_config" --variable=libdir rgcd)

# Shared: the flags a Makefile would use, plus an rpath to find the library.
set -x
# shellcheck disable=SC2086 # word splitting of pkg-config output is intended
"$cc" -Wall -Wextra -Werror $cflags "$source_file" -o "$out/consumer_shared" \
    $libs "-Wl,-rpath,$libdir"
[[ "$("$out/consumer_shared")" == ok ]]
set +x

# Static: librgcd.a plus Libs.private (pkg-config --static).
static_libs=$("$pkg_config" --static --libs rgcd)
static_libs=${static_libs/-lrgcd/-Wl,-Bstatic -lrgcd -Wl,-Bdynamic}
set -x
# shellcheck disable=SC2086
"$cc" -Wall -Wextra -Werror $cflags "$source_file" -o "$out/consumer_static" $static_libs
[[ "$("$out/consumer_static")" == ok ]]
set +x
if command -v readelf >/dev/null && readelf -d "$out/consumer_static" | grep -q 'NEEDED.*librgcd'; then
    echo "consumer_static depends on librgcd.so" >&2
    exit 1
fi
echo ok
