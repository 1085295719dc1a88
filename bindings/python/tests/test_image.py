"""The root view (``image=``), with real sandboxed processes: the function
sees the host's tree, its writes outside the writable paths land in the
image directory, and the host is never changed. Run as root or not (CI runs
both): unprivileged, the view needs user namespaces, which the CI machine
allows."""

import os
import uuid

import pytest

import catbox


def real(p):
    """The canonical path, as catbox reports it."""
    return os.path.realpath(str(p))


def read(path):
    with open(str(path)) as f:
        return f.read()


def write(path, text="x"):
    with open(str(path), "w") as f:
        f.write(text)


def sh(script):
    """A function for catbox.run: run ``sh -c script`` in the sandboxed
    child (exec: its exit status is the run's)."""

    def child():
        os.execvp("sh", ["sh", "-c", script])

    return child


@pytest.fixture
def shared():
    """A directory in /usr/local/share no other run uses; checked absent on
    the host before and after the test."""
    d = "/usr/local/share/catbox-py-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
    assert not os.path.lexists(d)
    yield d
    assert not os.path.lexists(d), "the host was changed: %s exists" % d


def test_image_captures_a_new_directory_outside_the_writable_paths(box, tmp_path, shared):
    rw = real(box / "rw")
    image = real(tmp_path / "image")
    direct = os.path.join(rw, "direct")
    script = "mkdir -p {d} && echo hi > {d}/f && test \"$(cat {d}/f)\" = hi && echo ok > {w}".format(
        d=shared, w=direct
    )
    ret = catbox.run(sh(script), [rw], image=image)
    assert ret.code == 0
    assert ret.violations == []
    # The file is in the image at the same path, not on the host.
    assert read(image + shared + "/f") == "hi\n"
    assert not os.path.exists(shared)
    # The report lists what was added, as the function saw it.
    assert isinstance(ret.image, catbox.Image)
    assert ret.image.dir == image
    assert shared in ret.image.added
    assert shared + "/f" in ret.image.added
    assert [p for p in ret.image.added if p.startswith(shared)] == [shared, shared + "/f"]
    assert ret.image.modified == []
    assert ret.image.removed == []
    # The writable paths stay direct.
    assert read(direct) == "ok\n"
    assert not os.path.exists(image + direct)


def test_image_captures_modifications_and_removals(box, tmp_path):
    rw = real(box / "rw")
    ro = real(box / "ro")
    gone = os.path.join(ro, "gone")
    write(gone, "still here\n")
    image = str(tmp_path / "image")
    seen = os.path.join(rw, "seen")

    def f():
        write(os.path.join(ro, "file"), "changed\n")
        os.unlink(gone)
        # The function sees its own version from then on.
        write(seen, "%s|%s" % (read(os.path.join(ro, "file")), os.path.exists(gone)))

    ret = catbox.run(f, [rw], image=image)
    assert ret.code == 0
    assert ret.violations == []
    assert read(seen) == "changed\n|False"
    # The host is unchanged; the image has the new version and the removal.
    assert read(os.path.join(ro, "file")) == "original\n"
    assert read(gone) == "still here\n"
    assert read(real(image) + ro + "/file") == "changed\n"
    assert ret.image.modified == [os.path.join(ro, "file")]
    assert ret.image.removed == [gone]
    assert gone in read(os.path.join(image, ".catbox-removed")).splitlines()


def test_without_image_ret_image_is_none(box):
    ret = catbox.run(lambda: None, [real(box / "rw")])
    assert ret.code == 0
    assert ret.image is None


def test_relative_and_pathlike_image_directories(box, tmp_path, in_dir, shared):
    rw = real(box / "rw")
    in_dir(tmp_path)
    ret = catbox.run(sh("mkdir -p %s" % shared), [rw], image="relative")
    assert ret.code == 0
    assert ret.image.dir == real(tmp_path / "relative")
    assert os.path.isdir(real(tmp_path / "relative") + shared)
    ret = catbox.run(sh("mkdir -p %s" % shared), [rw], image=tmp_path / "pathlike")
    assert ret.code == 0
    assert ret.image.dir == real(tmp_path / "pathlike")
    assert shared in ret.image.added


def test_non_empty_image_directory_raises_and_keeps_its_content(box, tmp_path):
    rw = real(box / "rw")
    image = tmp_path / "image"
    image.mkdir()
    (image / "kept").write_text("mine\n")
    marker = os.path.join(rw, "ran")
    with pytest.raises(catbox.ImageError, match=r"root view: the image directory .*image is not empty"):
        catbox.run(lambda: write(marker), [rw], image=str(image))
    assert not os.path.exists(marker)
    assert (image / "kept").read_text() == "mine\n"
    assert os.listdir(str(image)) == ["kept"]
    # It is an OSError too.
    with pytest.raises(OSError):
        catbox.run(lambda: write(marker), [rw], image=str(image))
    # A file is no image directory either.
    with pytest.raises(catbox.ImageError, match="not a directory"):
        catbox.run(lambda: write(marker), [rw], image=str(image / "kept"))
    assert not os.path.exists(marker)
    assert (image / "kept").read_text() == "mine\n"


@pytest.mark.parametrize("bad", [42, 3.5, ["/tmp/image"]])
def test_bad_image_argument_raises_type_error(bad):
    with pytest.raises(TypeError):
        catbox.run(lambda: None, image=bad)


def test_empty_image_argument_raises_value_error():
    with pytest.raises(ValueError, match="empty"):
        catbox.run(lambda: None, image="")


def test_writable_paths_stay_direct_as_directories(box, tmp_path):
    # A writable path is a string prefix (``/x/rw`` allows ``/x/rwx`` too):
    # in the root view it is direct for itself and below; what only its
    # prefix or a ``~`` regular expression allows is written, but captured.
    rw = real(box / "rw")
    sibling = rw + "-sibling"
    by_regex = real(box / "ro") + "/by-regex"
    image = real(tmp_path / "image")

    def f():
        write(os.path.join(rw, "direct"), "d\n")
        write(sibling, "s\n")
        write(by_regex, "r\n")

    ret = catbox.run(f, [rw, "~^%s$" % by_regex], image=image)
    assert ret.code == 0
    assert ret.violations == []
    assert read(os.path.join(rw, "direct")) == "d\n"
    assert not os.path.exists(sibling) and read(image + sibling) == "s\n"
    assert not os.path.exists(by_regex) and read(image + by_regex) == "r\n"
    assert sibling in ret.image.added and by_regex in ret.image.added
    assert os.path.join(rw, "direct") not in ret.image.added
