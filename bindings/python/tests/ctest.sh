#!/usr/bin/env bash
# CTest driver for the Python binding (label "python").
#   ctest.sh setup <python3> <venv-dir> <librgcd.so>   make the venv, install the package
#                                                      with the CMake-built library bundled
#   ctest.sh run <venv-dir> <librgcd.so> <pytest args…> run pytest on the installed package,
#                                                      loading the CMake-built library
#   ctest.sh wheel <python3> <work-dir> <librgcd.so> <build-venv>
#                                                      build a wheel (bundling the CMake-built
#                                                      library), install it in a fresh venv
#                                                      with no cargo, rustc or C compiler
#                                                      reachable, run a program on it
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pkg="$(dirname "$here")"
cmd="$1"; shift
case "$cmd" in
setup)
    python="$1" venv="$2" lib="$3"
    if [[ ! -x "$venv/bin/python" ]]; then
        "$python" -m venv "$venv"
    fi
    # The CI machine brings only Python and pip: fetch the build and test requirements.
    "$venv/bin/python" -m pip install -q --disable-pip-version-check \
        "setuptools>=70.1" "cffi>=1.17" "pytest>=7"
    RGCD_PREBUILT_LIB="$lib" "$venv/bin/python" -m pip install -q --disable-pip-version-check \
        --no-build-isolation --force-reinstall --no-deps "$pkg"
    ;;
run)
    venv="$1" lib="$2"; shift 2
    cd "$here"
    # Run from the tests directory against the installed package, never the source tree.
    RGCD_LIBRARY="$lib" exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
    ;;
wheel)
    python="$1" work="$2" lib="$3" buildvenv="$4"
    rm -rf "$work"
    mkdir -p "$work/wheels" "$work/nobin" "$work/run"
    # The build side: the package's own build, bundling the library CMake built (setup.py's
    # RGCD_PREBUILT_LIB) instead of a second cargo build.
    RGCD_PREBUILT_LIB="$lib" "$buildvenv/bin/python" -m pip wheel -q --disable-pip-version-check \
        --no-build-isolation --no-deps -w "$work/wheels" "$pkg"
    wheel=("$work"/wheels/rgcd-*.whl)
    echo "wheel: $(basename "${wheel[0]}")"
    # The install side: stubs that fail loudly stand in for Rust and C tools, first on a
    # PATH without ~/.cargo/bin; nothing from the build environment leaks in.
    for t in cargo rustc rustup cc gcc c++ g++ clang ld; do
        printf '#!/bin/sh\necho "wheel test: %s must not be needed" >&2\nexit 97\n' "$t" \
            > "$work/nobin/$t"
        chmod +x "$work/nobin/$t"
    done
    path="$work/nobin:/usr/local/bin:/usr/bin:/bin"
    clean=(env -u RGCD_LIBRARY -u RGCD_PREBUILT_LIB -u PYTHONPATH -u CARGO_HOME -u RUSTUP_HOME
           -u RUSTC -u CC -u CXX CARGO="$work/nobin/cargo" PATH="$path")
    if "${clean[@]}" sh -c 'command -v cargo' | grep -qv "$work/nobin"; then
        echo "wheel test: a real cargo is still on PATH" >&2; exit 1
    fi
    "${clean[@]}" "$python" -m venv "$work/venv"
    "${clean[@]}" "$work/venv/bin/python" -m pip install -q --disable-pip-version-check \
        --only-binary :all: "${wheel[0]}"
    cd "$work/run"
    "${clean[@]}" "$work/venv/bin/python" - "$work/venv" <<'PY'
import os, sys, threading
import rgcd

venv = os.path.realpath(sys.argv[1])
assert os.path.realpath(rgcd.__file__).startswith(venv), rgcd.__file__
maps = open("/proc/self/maps").read()
libs = {line.split()[-1] for line in maps.splitlines() if "librgcd" in line}
assert libs and all(os.path.realpath(p).startswith(venv) for p in libs), libs

g = rgcd.Group()
q = rgcd.Queue.global_queue()
hits = [0] * 10_000
for i in range(10_000):
    g.run_async(q, lambda i=i: hits.__setitem__(i, hits[i] + 1))
serial, order = rgcd.Queue("wheel.serial"), []
for i in range(100):
    g.run_async(serial, lambda i=i: order.append(i))
assert g.wait(30)
assert hits == [1] * 10_000 and order == list(range(100))
ticks, done = [], threading.Event()
def tick():
    ticks.append(1)
    if len(ticks) == 3:
        done.set()
t = rgcd.Timer(0.01, tick)
t.start()
assert done.wait(5)
t.cancel()
with rgcd.Executor() as ex:
    assert list(ex.map(lambda x: x * x, range(100))) == [x * x for x in range(100)]
print("wheel ok:", os.path.basename(list(libs)[0]), "from the wheel's package")
PY
    ;;
*)
    echo "usage: $0 setup|run|wheel ..." >&2; exit 2 ;;
esac
