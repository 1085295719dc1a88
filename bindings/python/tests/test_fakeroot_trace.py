"""Fakeroot mode (``fakeroot=``, ``fakeroot_state=``, ``manifest=``) and the
operation log (``trace=``), with real sandboxed processes. Run as root or
not: what the files look like outside is compared with ``os.getuid()``."""

import json
import os
import stat
import sys

import pytest

import catbox


def real(p):
    """The canonical path, as catbox reports it."""
    return os.path.realpath(str(p))


def write(path, text="x"):
    with open(str(path), "w") as f:
        f.write(text)


def observe(out, fn):
    """A function for catbox.run: call fn(), which returns a dict of what
    the sandboxed child saw, and write it as JSON to ``out``."""

    def child():
        seen = fn()
        with open(str(out), "w") as f:
            json.dump(seen, f)

    return child


def seen(out):
    with open(str(out)) as f:
        return json.load(f)


def stat_of(path):
    st = os.lstat(str(path))
    return {
        "uid": st.st_uid,
        "gid": st.st_gid,
        "mode": st.st_mode,
        "rdev": [os.major(st.st_rdev), os.minor(st.st_rdev)],
    }


# ---------------------------------------------------------------- fakeroot


def test_fakeroot_chown_chmod_mknod(box):
    rw = real(box / "rw")
    owned = os.path.join(rw, "owned")
    setuid = os.path.join(rw, "setuid")
    plain = os.path.join(rw, "plain")
    dev = os.path.join(rw, "null")
    out = os.path.join(rw, "seen.json")

    def f():
        write(owned)
        os.chown(owned, 1234, 5678)
        write(setuid)
        os.chmod(setuid, 0o4755)
        write(plain)
        os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        return {
            "ids": [os.getuid(), os.geteuid(), os.getgid(), os.getegid()],
            "owned": stat_of(owned),
            "setuid": stat_of(setuid),
            "plain": stat_of(plain),
            "dev": stat_of(dev),
        }

    ret = catbox.run(observe(out, f), [rw], fakeroot=True)
    assert ret.code == 0
    assert ret.violations == []
    inside = seen(out)
    # Inside: root, and the faked owners, modes and device.
    assert inside["ids"] == [0, 0, 0, 0]
    assert (inside["owned"]["uid"], inside["owned"]["gid"]) == (1234, 5678)
    assert stat.S_IMODE(inside["setuid"]["mode"]) == 0o4755
    assert (inside["plain"]["uid"], inside["plain"]["gid"]) == (0, 0)
    assert stat.S_ISCHR(inside["dev"]["mode"])
    assert inside["dev"]["rdev"] == [1, 3]
    # The result, as the original's remode patch had it.
    assert ret.ownerships == {owned: (1234, 5678)}
    assert set(ret.modes) == {setuid, dev}
    assert stat.S_ISREG(ret.modes[setuid]) and stat.S_IMODE(ret.modes[setuid]) == 0o4755
    assert stat.S_ISCHR(ret.modes[dev])
    # Outside, nothing was faked: the real user's files, an empty file for
    # the device.
    for p in (owned, setuid, plain, dev):
        st = os.lstat(p)
        assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())
    assert stat.S_ISREG(os.lstat(dev).st_mode) and os.path.getsize(dev) == 0


def test_fakeroot_writes_outside_are_still_violations(box):
    target = real(box / "ro" / "file")

    def f():
        try:
            os.chown(target, 0, 0)
            write(target, "changed")
        except OSError as e:
            sys.exit(e.errno)

    ret = catbox.run(f, [real(box / "rw")], fakeroot=True)
    assert ret.code != 0
    assert [v[2] for v in ret.violations] == [target]
    assert (box / "ro" / "file").read_text() == "original\n"


def test_without_fakeroot_ownerships_and_modes_are_empty(box):
    rw = real(box / "rw")
    ret = catbox.run(lambda: os.chmod(rw, 0o755), [rw])
    assert ret.code == 0
    assert ret.ownerships == {} and ret.modes == {}


def test_fakeroot_state_round_trips_across_runs(box, tmp_path):
    rw = real(box / "rw")
    owned = os.path.join(rw, "owned")
    state = str(tmp_path / "fakeroot.state")
    out = os.path.join(rw, "seen.json")

    def first():
        write(owned)
        os.chown(owned, 42, 43)

    ret = catbox.run(first, [rw], fakeroot_state=state)
    assert ret.code == 0
    assert ret.ownerships == {owned: (42, 43)}
    assert os.path.exists(state)

    # A second run (fakeroot implied by the state) sees the owner.
    ret = catbox.run(observe(out, lambda: stat_of(owned)), [rw], fakeroot_state=state)
    assert ret.code == 0
    assert (seen(out)["uid"], seen(out)["gid"]) == (42, 43)
    assert ret.ownerships == {owned: (42, 43)}
    # Without the state, it is just the real user's file, seen as root's.
    ret = catbox.run(observe(out, lambda: stat_of(owned)), [rw], fakeroot=True)
    assert ret.code == 0
    assert (seen(out)["uid"], seen(out)["gid"]) == (0, 0)
    assert ret.ownerships == {}


def test_corrupt_fakeroot_state_raises(box, tmp_path):
    rw = real(box / "rw")
    state = tmp_path / "corrupt.state"
    state.write_text("{ not a state file")
    marker = os.path.join(rw, "ran")
    with pytest.raises(catbox.FakerootStateError, match="fakeroot state file.*corrupt.state"):
        catbox.run(lambda: write(marker), [rw], fakeroot_state=str(state))
    assert not os.path.exists(marker)
    assert state.read_text() == "{ not a state file"
    # It is an OSError too.
    with pytest.raises(OSError):
        catbox.run(lambda: None, fakeroot_state=str(state))


def test_manifest(box, tmp_path):
    rw = real(box / "rw")
    root = os.path.join(rw, "root")
    os.mkdir(root)
    manifest = str(tmp_path / "pkg.mtree")

    def f():
        write(os.path.join(root, "file"))
        os.chown(os.path.join(root, "file"), 7, 8)

    ret = catbox.run(f, [rw], manifest=(manifest, root))
    assert ret.code == 0
    with open(manifest) as m:
        text = m.read()
    assert text.startswith("#mtree")
    line = [l for l in text.splitlines() if l.startswith("./file ")]
    assert len(line) == 1 and "uid=7" in line[0] and "gid=8" in line[0]


@pytest.mark.parametrize(
    "kwargs",
    [{"fakeroot_state": 42}, {"trace": 3.5}, {"manifest": "/tmp/m"}, {"manifest": ("/tmp/m",)}],
)
def test_bad_path_arguments_raise_type_error(kwargs):
    with pytest.raises(TypeError):
        catbox.run(lambda: None, **kwargs)


def test_positional_parameters_stay_in_place(box):
    rw = real(box / "rw")
    ret = catbox.run(lambda a: write(os.path.join(rw, a)), [rw], True, False, None, None, ("n",))
    assert ret.code == 0 and os.path.exists(os.path.join(rw, "n"))


# ---------------------------------------------------------------- trace


def events(path):
    with open(str(path)) as f:
        text = f.read()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_trace_writes_a_json_lines_log(box, tmp_path):
    rw = real(box / "rw")
    written = os.path.join(rw, "out.txt")
    denied = real(box / "ro" / "denied")
    log = tmp_path / "trace.jsonl"

    def f():
        write(written, "data")
        try:
            write(denied)
        except OSError:
            pass
        with open(real(box / "ro" / "file")) as r:
            r.read()

    ret = catbox.run(f, [rw], trace=str(log))
    assert ret.code == 0
    evs = events(log)
    assert evs, "empty log"
    for e in evs:
        assert {"t", "pid", "event"} <= set(e)
    writes = [e for e in evs if e["event"] == "write" and e.get("canonical") == written]
    assert writes and writes[0]["result"] == "ok"
    assert any(
        e["event"] == "write" and e.get("canonical") == denied and e["result"] == "EACCES"
        for e in evs
    )
    assert any(e["event"] == "read" and e.get("canonical") == real(box / "ro" / "file") for e in evs)
    assert evs[-1]["event"] == "exit"
    assert len(ret.violations) == 1


def test_trace_with_fakeroot(box, tmp_path):
    rw = real(box / "rw")
    owned = os.path.join(rw, "owned")
    log = tmp_path / "trace.jsonl"

    def f():
        write(owned)
        os.chown(owned, 5, 6)

    ret = catbox.run(f, [rw], fakeroot=True, trace=log)  # a PathLike works too
    assert ret.code == 0
    assert ret.ownerships == {owned: (5, 6)}
    assert any(e.get("canonical") == owned for e in events(log))


def test_trace_file_that_cannot_be_created_raises(box):
    with pytest.raises(OSError, match="operation log"):
        catbox.run(lambda: None, trace=str(box / "no-such-dir" / "log"))


def test_trace_that_cannot_be_written_raises(box):
    rw = real(box / "rw")
    marker = os.path.join(rw, "ran")
    # /dev/full: every write fails with ENOSPC. The function runs, but a
    # truncated log is an error, never a silent success.
    with pytest.raises(catbox.TraceLogError, match="failed to write the operation log"):
        catbox.run(lambda: write(marker), [rw], trace="/dev/full")
    assert os.path.exists(marker)
