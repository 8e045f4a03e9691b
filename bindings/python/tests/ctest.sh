#!/usr/bin/env bash
# CTest driver for the Python binding (label "python").
#   ctest.sh setup <python3> <venv-dir> <librgcd.so>   make the venv, install the package
#                                                      with the CMake-built library bundled
#   ctest.sh run <venv-dir> <librgcd.so> <pytest args…> run pytest on the installed package,
#                                                      loading the CMake-built library
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
*)
    echo "usage: $0 setup|run ..." >&2; exit 2 ;;
esac
