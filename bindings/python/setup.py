"""Build step of the catbox Python package: put libcatbox.so into the package.

``pip install ./bindings/python`` runs ``cargo build --release -p catbox-ffi``
in the catbox workspace (two directories up) and copies
``target/release/libcatbox.so`` next to ``catbox/__init__.py``.

Environment:
  CATBOX_PREBUILT_LIBRARY  copy this libcatbox.so instead of building
  CARGO                    the cargo to run (default: cargo)
  CARGO_TARGET_DIR         cargo's target directory (default: <workspace>/target)
"""

import os
import re
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))
WORKSPACE = os.path.abspath(os.path.join(HERE, "..", ".."))


def cargo_version():
    """The workspace version from the root Cargo.toml (0.0.0 if absent)."""
    try:
        with open(os.path.join(WORKSPACE, "Cargo.toml")) as f:
            m = re.search(r'^version\s*=\s*"([^"]+)"', f.read(), re.M)
            return m.group(1) if m else "0.0.0"
    except OSError:
        return "0.0.0"


def build_library():
    prebuilt = os.environ.get("CATBOX_PREBUILT_LIBRARY")
    if prebuilt:
        return prebuilt
    if not os.path.exists(os.path.join(WORKSPACE, "catbox-ffi", "Cargo.toml")):
        raise SystemExit(
            "catbox: the catbox Cargo workspace was not found at %s; build "
            "bindings/python from the repository, or set "
            "CATBOX_PREBUILT_LIBRARY to a libcatbox.so" % WORKSPACE
        )
    cargo = os.environ.get("CARGO", "cargo")
    cmd = [cargo, "build", "--release", "-p", "catbox-ffi"]
    print("catbox: running %s in %s" % (" ".join(cmd), WORKSPACE))
    try:
        subprocess.check_call(cmd, cwd=WORKSPACE)
    except OSError as e:
        raise SystemExit("catbox: cannot run cargo (%s): install Rust from https://rustup.rs" % e)
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(WORKSPACE, "target")
    if not os.path.isabs(target):
        target = os.path.join(WORKSPACE, target)
    return os.path.join(target, "release", "libcatbox.so")


class BuildPyWithLibrary(build_py):
    def run(self):
        super().run()
        lib = build_library()
        dest = os.path.join(self.build_lib, "catbox", "libcatbox.so")
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(lib, dest)
        print("catbox: bundled %s" % lib)


class BinaryDistribution(Distribution):
    """The package holds a native library: a platform wheel, not a pure one."""

    def has_ext_modules(self):
        return True


setup(
    version=cargo_version(),
    cmdclass={"build_py": BuildPyWithLibrary},
    distclass=BinaryDistribution,
)
