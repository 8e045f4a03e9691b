"""Build hooks: compile librgcd with cargo and bundle it in the package, next to the cffi
extension. Metadata lives in pyproject.toml.

Environment:
  RGCD_PREBUILT_LIB  path of an already built librgcd.so to bundle instead of running cargo
                     (the CMake test run uses the one from its build tree)
  CARGO              the cargo executable (default: cargo on PATH)
"""

import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
CRATE = os.path.normpath(os.path.join(HERE, "..", ".."))
LIBNAME = "librgcd.so"


def _cargo_build(target_dir: str) -> str:
    cargo = os.environ.get("CARGO", "cargo")
    manifest = os.path.join(CRATE, "Cargo.toml")
    if not os.path.exists(manifest):
        raise SystemExit(
            "rgcd: building from source needs the rgcd repository around bindings/python "
            f"(no {manifest}); or set RGCD_PREBUILT_LIB to a built librgcd.so"
        )
    subprocess.check_call(
        [cargo, "build", "--release", "--lib", "--manifest-path", manifest,
         "--target-dir", target_dir]
    )
    return os.path.join(target_dir, "release", LIBNAME)


class BuildWithLibrgcd(build_ext):
    def run(self) -> None:
        lib = os.environ.get("RGCD_PREBUILT_LIB")
        if not lib:
            lib = _cargo_build(os.path.abspath(os.path.join(self.build_temp, "cargo")))
        dest_dir = os.path.join(self.build_lib, "rgcd")
        os.makedirs(dest_dir, exist_ok=True)
        shutil.copyfile(lib, os.path.join(dest_dir, LIBNAME))
        if self.inplace:
            shutil.copyfile(lib, os.path.join(HERE, "src", "rgcd", LIBNAME))
        super().run()


setup(
    cffi_modules=["ffi_build.py:ffibuilder"],
    cmdclass={"build_ext": BuildWithLibrgcd},
)
