"""catbox: run a function in a sandbox that confines its writes.

A drop-in for the original (Pardus) ``catbox`` module, over ``libcatbox.so``::

    import catbox

    def build():
        os.system("make install")

    ret = catbox.run(build, ["/var/tmp/build/", "/tmp/"], network=False)
    print(ret.code)
    for operation, path, canonical in ret.violations:
        print(operation, path, canonical)

The function runs in a forked child, traced with its whole process tree.
Writes outside the writable paths fail with ``EACCES`` (or, with
``collect_only=True``, are let through) and are recorded as violations.

``fakeroot=True`` records ``chown`` and device nodes instead of performing
them (``ret.ownerships``, ``ret.modes``) while the function sees itself as
root; ``trace=PATH`` writes the operation log (JSON Lines) of everything it
read, wrote and ran; ``image=DIR`` shows it the host's whole tree and puts
its writes outside the writable paths into DIR instead (``ret.image``).
"""

import collections
import os
import signal as _signal
import sys
import traceback
import ctypes

from . import _ffi

__all__ = [
    "run",
    "canonical",
    "version",
    "has_pcre",
    "CatboxRet",
    "Violation",
    "Image",
    "FakerootStateError",
    "TraceLogError",
    "ImageError",
]

#: A violation with every detail the library records (``.records``).
Violation = collections.namedtuple(
    "Violation", ["operation", "path", "canonical", "pid", "errno"]
)

#: What the image directory holds after a run with ``image=``: ``dir`` (the
#: directory, absolute) and the lists ``added``, ``modified`` and ``removed``
#: of paths as the function saw them (``/usr/local/bin/hello``).
Image = collections.namedtuple("Image", ["dir", "added", "modified", "removed"])

_EVENT_HOOKS = ("child_initialized", "child_died_unexpectedly")


class FakerootStateError(OSError):
    """The fakeroot state file (``fakeroot_state=``) is corrupt or cannot be
    read (the function did not run), or could not be saved."""


class TraceLogError(OSError):
    """The operation log (``trace=``) could not be written completely: the
    function ran, but the log is truncated, so there is no result."""


class ImageError(OSError):
    """The root view (``image=``) could not be set up: the image directory
    is not new or empty (its content is left untouched), or the system
    refused the user or mount namespace or the overlay filesystem. The
    function did not run."""


class CatboxRet(object):
    """What :func:`run` returns.

    ``code``: the function's exit code (``sys.exit(n)`` gives ``n``, an
    uncaught exception 1), or 128+N if the child was killed by signal N.
    ``violations``: ``(operation, path, canonical)`` tuples, in order.
    ``ownerships``: with ``fakeroot=True``, ``{path: (uid, gid)}`` for each
    file whose owner the function changed (what it saw; the file itself
    still belongs to the real user); else empty.
    ``modes``: with ``fakeroot=True``, ``{path: st_mode}`` (type and
    permission bits, setuid/setgid/sticky included) for each file whose mode
    was changed or that was made as a device node; else empty.
    ``signal``: the signal that killed the child, or None.
    ``records``: :class:`Violation` tuples with the pid and errno name too.
    ``image``: with ``image=``, an :class:`Image` (``dir``, ``added``,
    ``modified``, ``removed``) of what the image directory holds; else None.
    """

    def __init__(self):
        self.code = 0
        self.signal = None
        self.violations = []
        self.records = []
        self.ownerships = {}
        self.modes = {}
        self.image = None

    def __repr__(self):
        return "<CatboxRet code=%r violations=%d>" % (self.code, len(self.violations))


def _fsdecode(b):
    return os.fsdecode(b) if b is not None else None


def _original_names(operation, canonical):
    """The original module's names for network violations: every socket()
    is ``socketcall``, and a destination is ``host:port`` for IPv6 too."""
    if operation == "socket":
        operation = "socketcall"
    elif canonical.startswith("[") and "]:" in canonical:
        host, _, port = canonical[1:].rpartition("]:")
        canonical = "%s:%s" % (host, port)
    return operation, canonical


def _record(v):
    operation, canonical = _original_names(
        _fsdecode(v.operation), _fsdecode(v.canonical)
    )
    return Violation(operation, _fsdecode(v.path), canonical, v.pid, _fsdecode(v.errno_name))


def _check(status, what):
    if status == _ffi.CATBOX_OK:
        return
    msg = "%s: %s" % (what, _ffi.last_error())
    if status in (_ffi.CATBOX_ERR_RELATIVE_PATH, _ffi.CATBOX_ERR_NULL):
        raise TypeError(msg)
    if status in (_ffi.CATBOX_ERR_INVALID_REGEX, _ffi.CATBOX_ERR_INVALID_ARGUMENT):
        raise ValueError(msg)
    if status == _ffi.CATBOX_ERR_FAKEROOT_STATE:
        raise FakerootStateError(msg)
    if status == _ffi.CATBOX_ERR_TRACE_LOG:
        raise TraceLogError(msg)
    if status == _ffi.CATBOX_ERR_IMAGE:
        raise ImageError(msg)
    raise OSError(msg)


def _path_arg(p, what):
    """A path argument as bytes; TypeError for anything else."""
    if not isinstance(p, (str, bytes)) and not hasattr(p, "__fspath__"):
        raise TypeError("%s %r is not a path" % (what, p))
    return os.fsencode(p)


def _fakeroot_results(lib, report):
    """The report's ownerships and modes, as dicts."""
    ownerships = {}
    o = _ffi.COwnership()
    for i in range(lib.catbox_report_ownerships_len(report)):
        _check(lib.catbox_report_ownership(report, i, ctypes.byref(o)), "ownerships")
        ownerships[_fsdecode(o.path)] = (o.uid, o.gid)
    modes = {}
    m = _ffi.CMode()
    for i in range(lib.catbox_report_modes_len(report)):
        _check(lib.catbox_report_mode(report, i, ctypes.byref(m)), "modes")
        modes[_fsdecode(m.path)] = m.mode
    return ownerships, modes


def _image_result(lib, report):
    """The report's image, as an :class:`Image`, or None."""
    if not lib.catbox_report_has_image(report):
        return None

    def paths(what):
        length = getattr(lib, "catbox_report_image_%s_len" % what)
        get = getattr(lib, "catbox_report_image_%s" % what)
        out = []
        p = ctypes.c_char_p()
        for i in range(length(report)):
            _check(get(report, i, ctypes.byref(p)), "image %s" % what)
            out.append(_fsdecode(p.value))
        return out

    return Image(
        _fsdecode(lib.catbox_report_image_dir(report)),
        paths("added"),
        paths("modified"),
        paths("removed"),
    )


def _exit_code(code):
    """The exit status Python gives ``sys.exit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        sys.stderr.write("%s\n" % (code,))
    except Exception:
        pass
    return 1


def _flush():
    for f in (sys.stdout, sys.stderr):
        try:
            if f is not None:
                f.flush()
        except Exception:
            pass


def _pyapi(name):
    f = getattr(ctypes.pythonapi, name)
    f.restype = None
    f.argtypes = []
    return f


# The interpreter's own fork protocol, as os.fork() follows it: before the
# fork (import lock, os.register_at_fork "before" hooks), then in the parent
# and in the child (threading state, locks, "after" hooks). The fork itself
# happens inside libcatbox, with the GIL held (see _ffi.pylib).
_before_fork = _pyapi("PyOS_BeforeFork")
_after_fork_parent = _pyapi("PyOS_AfterFork_Parent")
_after_fork_child = _pyapi("PyOS_AfterFork_Child")


def run(function, writable_paths=None, network=True, collect_only=False,
        logger=None, event_hooks=None, args=(), fakeroot=False,
        fakeroot_state=None, trace=None, manifest=None, image=None):
    """Run ``function(*args)`` in a forked, sandboxed child.

    writable_paths: absolute paths whose string prefixes are writable
        (``"/tmp/a"`` allows ``/tmp/a``, ``/tmp/a/b`` and ``/tmp/ab``); an
        entry starting with ``~`` is a regular expression matched against
        the canonical path. Everything else is read-only.
    network: a false value denies every socket (violation ``socketcall``)
        and every connection (violation ``connect``, canonical ``host:port``
        or the unix socket's path).
    collect_only: record violations but let the calls run.
    logger: ``logger(operation, path, canonical)`` for each violation, as it
        happens (in this process).
    event_hooks: a dict with ``child_initialized(pid)`` and
        ``child_died_unexpectedly(pid)`` callables.
    args: the function's arguments.
    fakeroot: a true value: ``chown`` is recorded, not performed; the
        function sees uid/gid 0, and ``os.stat`` the recorded owners and
        modes (files of the real user appear root's); ``mknod`` of a device
        makes an empty file that stats as the device. The result's
        ``ownerships`` and ``modes`` list what was recorded.
    fakeroot_state: a path (implies ``fakeroot``): the records are loaded
        from this file at the start (if it exists) and saved there at the
        end, so that several runs share them. A corrupt or unreadable file
        raises :class:`FakerootStateError` and the function does not run.
    trace: a path: the operation log (JSON Lines, ``docs/trace-format.md``)
        of every file the function and its children read, wrote, created,
        removed or ran, every process and network attempt, is written there
        (the file is created or truncated). If it cannot be written
        completely, :class:`TraceLogError` is raised after the run.
    manifest: a ``(file, root)`` pair (implies ``fakeroot``): at the end,
        an mtree(5) manifest of the tree ``root`` with the faked owners,
        modes and devices is written to ``file``, for ``bsdtar``.
    image: a directory (the root view): the function sees the host's whole
        file tree, and its writes outside the writable paths land in this
        directory at the same path (``/usr/bin/hello`` becomes
        ``DIR/usr/bin/hello``) instead of the host, which is never changed.
        The writable paths stay direct, as directories: ``/tmp/a`` is direct
        for ``/tmp/a`` and below it, while ``/tmp/ab``, which its prefix
        also allows, is captured like the rest, and so are the paths a
        ``~`` regular expression allows. The directory must be new or empty
        (a relative one is taken against the current directory); else
        :class:`ImageError` is raised, the function does not run and the
        directory is left as it is. ``ret.image`` lists what was added,
        modified and removed; ``DIR/.catbox-removed`` lists the removals.

    Returns a :class:`CatboxRet`.
    """
    if not callable(function):
        raise TypeError("First argument should be a callable function")
    if logger is not None and not callable(logger):
        raise TypeError("Logger should be a callable function")
    hooks = {}
    if event_hooks is not None:
        if not isinstance(event_hooks, dict):
            raise TypeError("event_hooks should be a dictionary")
        for name, hook in event_hooks.items():
            if not callable(hook):
                raise TypeError("Event hook %r should be a callable function" % (name,))
            if name in _EVENT_HOOKS:
                hooks[name] = hook
    if isinstance(writable_paths, (str, bytes)):
        raise TypeError("writable_paths should be a list of paths")
    paths = []
    for p in writable_paths or []:
        if not isinstance(p, (str, bytes)) and not hasattr(p, "__fspath__"):
            raise TypeError("writable path %r is not a string" % (p,))
        b = os.fsencode(p)
        if b.startswith(b"~"):
            paths.append((True, b[1:]))
        elif not b.startswith(b"/"):
            raise TypeError("writable path %r is not absolute" % (p,))
        else:
            paths.append((False, b))
    if not isinstance(args, tuple):
        args = tuple(args)
    state = _path_arg(fakeroot_state, "fakeroot_state") if fakeroot_state is not None else None
    trace_path = _path_arg(trace, "trace") if trace is not None else None
    if manifest is not None:
        if not isinstance(manifest, (tuple, list)) or len(manifest) != 2:
            raise TypeError("manifest should be a (file, root) pair of paths")
        manifest = (_path_arg(manifest[0], "manifest file"),
                    _path_arg(manifest[1], "manifest root"))
    image_dir = _path_arg(image, "image") if image is not None else None

    ret = CatboxRet()
    failures = []  # exceptions raised by callbacks in this process
    forking = [False]  # between PyOS_BeforeFork and PyOS_AfterFork_Parent

    def fork_done_in_parent():
        if forking[0]:
            forking[0] = False
            _after_fork_parent()

    def on_violation(v, _user_data):
        rec = _record(v.contents)
        ret.records.append(rec)
        ret.violations.append((rec.operation, rec.path, rec.canonical))
        if logger is not None:
            try:
                logger(rec.operation, rec.path, rec.canonical)
            except BaseException as e:
                failures.append(e)

    def on_event(event, pid, _user_data):
        if event == _ffi.CATBOX_EVENT_CHILD_INITIALIZED:
            # The first event, in the parent, right after the fork.
            fork_done_in_parent()
        name = {
            _ffi.CATBOX_EVENT_CHILD_INITIALIZED: "child_initialized",
            _ffi.CATBOX_EVENT_CHILD_DIED_UNEXPECTEDLY: "child_died_unexpectedly",
        }.get(event)
        hook = hooks.get(name)
        if hook is None:
            return
        try:
            hook(pid)
        except BaseException as e:
            failures.append(e)
            if name == "child_initialized":
                # As the original: a failing initialization hook stops the
                # run (its exception is raised once the child is gone).
                try:
                    os.kill(pid, _signal.SIGKILL)
                except OSError:
                    pass

    def child(_user_data):
        # In the forked child: never return into the caller's frames with
        # an exception; the return value is the exit code.
        _after_fork_child()
        sys.dont_write_bytecode = True
        code = 0
        try:
            function(*args)
        except SystemExit as e:
            code = _exit_code(e.code)
        except BaseException:
            try:
                traceback.print_exc()
            except BaseException:
                pass
            code = 1
        _flush()
        return code

    violation_cb = _ffi.VIOLATION_CALLBACK(on_violation)
    event_cb = _ffi.EVENT_CALLBACK(on_event)
    child_fn = _ffi.CHILD_FUNCTION(child)

    lib = _ffi.lib
    config = lib.catbox_config_new()
    if not config:
        raise OSError("catbox: %s" % _ffi.last_error())
    try:
        for is_regex, p in paths:
            if is_regex:
                _check(lib.catbox_config_allow_write_regex(config, p),
                       "invalid writable path %r" % (os.fsdecode(b"~" + p),))
            else:
                _check(lib.catbox_config_allow_write_prefix(config, p),
                       "invalid writable path %r" % (os.fsdecode(p),))
                if image_dir is not None:
                    # The root view binds only subtree rules over the view
                    # (a string prefix names no directory to bind): the
                    # subtree at the prefix, a subset of what it allows,
                    # makes the writable directory direct.
                    _check(lib.catbox_config_allow_write(config, p.rstrip(b"/") or b"/"),
                           "invalid writable path %r" % (os.fsdecode(p),))
        mode = _ffi.CATBOX_NETWORK_ALLOWED if network else _ffi.CATBOX_NETWORK_STRICT
        _check(lib.catbox_config_set_network(config, mode), "network")
        _check(lib.catbox_config_set_collect_only(config, bool(collect_only)), "collect_only")
        if fakeroot:
            _check(lib.catbox_config_set_fakeroot(config, True), "fakeroot")
        if state is not None:
            _check(lib.catbox_config_set_fakeroot_state(config, state), "fakeroot_state")
        if manifest is not None:
            _check(lib.catbox_config_set_manifest(config, manifest[0], manifest[1]), "manifest")
        if trace_path is not None:
            _check(lib.catbox_config_set_trace_file(config, trace_path),
                   "trace %r" % (os.fsdecode(trace_path),))
        if image_dir is not None:
            _check(lib.catbox_config_set_image(config, image_dir),
                   "image %r" % (os.fsdecode(image_dir),))
        _check(lib.catbox_config_set_violation_callback(config, violation_cb, None), "logger")
        _check(lib.catbox_config_set_event_callback(config, event_cb, None), "event_hooks")
        _flush()  # or the child would print the parent's buffered output again
        report = ctypes.c_void_p()
        forking[0] = True
        _before_fork()
        try:
            status = _ffi.pylib.catbox_run_function(config, child_fn, None, ctypes.byref(report))
        finally:
            fork_done_in_parent()  # if the run failed before the event
        _check(status, "catbox.run")
        try:
            code = lib.catbox_report_exit_code(report)
            sig = lib.catbox_report_signal(report)
            ret.ownerships, ret.modes = _fakeroot_results(lib, report)
            ret.image = _image_result(lib, report)
        finally:
            lib.catbox_report_free(report)
    finally:
        lib.catbox_config_free(config)
    if code >= 0:
        ret.code = code
    else:
        ret.signal = sig
        ret.code = 128 + sig
    if failures:
        raise failures[0]
    return ret


def canonical(path, follow=True, pid=None):
    """Resolve ``path`` as process ``pid`` (default: this one) sees it:
    relative to its cwd, ``/proc/self`` meaning it, ``.``/``..``/symlinks
    resolved, the last symlink followed only if ``follow``. Components that
    do not exist yet are kept as written."""
    out = ctypes.c_void_p()
    status = _ffi.lib.catbox_canonical(
        os.fsencode(path), bool(follow), int(pid) if pid is not None else 0, ctypes.byref(out)
    )
    _check(status, "catbox.canonical")
    try:
        return os.fsdecode(ctypes.string_at(out.value))
    finally:
        _ffi.lib.catbox_string_free(out)


def version():
    """The version of libcatbox (``"0.1.0"``)."""
    return _ffi.lib.catbox_version().decode()


def has_pcre():
    """True: writable paths starting with ``~`` are regular expressions."""
    return True
