"""Fixtures for the catbox tests: real sandboxed processes, no mocks."""

import os

import pytest


@pytest.fixture
def box(tmp_path):
    """A directory tree for a test: ``rw`` (writable in the sandbox) and
    ``ro`` (not writable, holding a file ``ro/file``)."""
    rw = tmp_path / "rw"
    ro = tmp_path / "ro"
    rw.mkdir()
    ro.mkdir()
    (ro / "file").write_text("original\n")
    return tmp_path


def child_errno(fn):
    """Run fn(); return 0 if it succeeded, else the errno it failed with."""
    try:
        fn()
    except OSError as e:
        return e.errno
    return 0


@pytest.fixture
def in_dir():
    """Change to a directory for the test, back afterwards."""
    old = os.getcwd()

    def go(d):
        os.chdir(str(d))

    yield go
    os.chdir(old)
