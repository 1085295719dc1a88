"""The issue's "done when": the Python example (examples/python/sandbox.py),
written from the docs alone, sandboxes `make install` of GNU hello 2.10 (no
DESTDIR, prefix /usr/local) and prints the same violations as the `catbox`
command.

Needs the hello source (hello_2.10.orig.tar.gz: $CATBOX_HELLO_TARBALL,
target/real-inputs/ or /tmp/hello-src/, else downloaded with
../shared/real-inputs/fetch-debian-source.sh) and the catbox command
($CATBOX_BIN, else target/release/catbox or target/debug/catbox). Skipped,
saying why, when either is missing.
"""

import os
import re
import shutil
import subprocess
import sys
import tarfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.environ.get("CATBOX_REPO") or os.path.abspath(os.path.join(HERE, "..", "..", ".."))
TARBALL = "hello_2.10.orig.tar.gz"


def target_dir():
    t = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
    return t if os.path.isabs(t) else os.path.join(REPO, t)


def hello_tarball():
    explicit = os.environ.get("CATBOX_HELLO_TARBALL")
    if explicit:
        return explicit if os.path.isfile(explicit) else None
    cache = os.path.join(target_dir(), "real-inputs")
    for d in (cache, "/tmp/hello-src"):
        p = os.path.join(d, TARBALL)
        if os.path.isfile(p):
            return p
    shared = os.environ.get("CATBOX_SHARED") or os.path.join(REPO, "..", "shared")
    fetch = os.path.join(shared, "real-inputs", "fetch-debian-source.sh")
    if not os.path.isfile(fetch):
        return None
    scratch = os.path.join(cache, "fetch-%d" % os.getpid())
    try:
        subprocess.run(["sh", fetch, scratch, "hello"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
        os.makedirs(cache, exist_ok=True)
        os.replace(os.path.join(scratch, TARBALL), os.path.join(cache, TARBALL))
        return os.path.join(cache, TARBALL)
    except (subprocess.SubprocessError, OSError):
        return None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def catbox_bin():
    explicit = os.environ.get("CATBOX_BIN")
    if explicit:
        return explicit
    for profile in ("release", "debug"):
        p = os.path.join(target_dir(), profile, "catbox")
        if os.access(p, os.X_OK):
            return p
    return shutil.which("catbox")


def violations(stderr):
    """The violation lines, without pids (they differ from run to run)."""
    return [
        re.sub(r"\(pid \d+, ", "(", line)
        for line in stderr.splitlines()
        if line.startswith("catbox: violation: ")
    ]


@pytest.fixture(scope="module")
def hello_tree(tmp_path_factory):
    tarball = hello_tarball()
    if tarball is None:
        pytest.skip("SKIP: could not get %s (download failed or no fetch script)" % TARBALL)
    if shutil.which("make") is None or shutil.which("cc") is None:
        pytest.skip("SKIP: make and cc are needed to build GNU hello")
    build = tmp_path_factory.mktemp("hello")
    with tarfile.open(tarball) as t:
        t.extractall(str(build))
    tree = build / "hello-2.10"
    subprocess.run("./configure -q && make -s", shell=True, cwd=str(tree), check=True,
                   stdout=subprocess.DEVNULL)
    return build, tree


def test_python_example_prints_the_same_violations_as_the_catbox_command(hello_tree):
    build, tree = hello_tree
    cli = catbox_bin()
    if cli is None:
        pytest.skip("SKIP: no catbox command (cargo build --release, or set CATBOX_BIN)")
    before = subprocess.run(["find", "/usr/local"], stdout=subprocess.PIPE).stdout

    expected = subprocess.run([cli, "-w", str(build), "--", "make", "install"], cwd=str(tree),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              universal_newlines=True)
    example = os.path.join(REPO, "examples", "python", "sandbox.py")
    import catbox

    site = os.path.dirname(os.path.dirname(os.path.abspath(catbox.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [site] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    got = subprocess.run([sys.executable, example, str(build), "make", "install"], cwd=str(tree),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         universal_newlines=True, env=env)

    want = violations(expected.stderr)
    assert want, "the catbox command reported no violation:\n" + expected.stderr
    assert all('"/usr/local/' in v for v in want), want
    assert violations(got.stderr) == want, got.stderr
    assert got.returncode == expected.returncode != 0
    # Nothing was created in /usr/local.
    assert subprocess.run(["find", "/usr/local"], stdout=subprocess.PIPE).stdout == before
