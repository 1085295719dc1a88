"""ctypes declarations of libcatbox.so (include/catbox.h), and where to find it.

The library is looked for, in order:

1. the file named by the ``CATBOX_LIBRARY`` environment variable;
2. ``libcatbox.so`` next to this package (what ``pip install`` puts there);
3. the system's library path (``ctypes.util.find_library("catbox")``, then
   ``libcatbox.so``).
"""

import ctypes
import ctypes.util
import os

CATBOX_OK = 0
CATBOX_ERR_NULL = -1
CATBOX_ERR_INVALID_ARGUMENT = -2
CATBOX_ERR_RELATIVE_PATH = -3
CATBOX_ERR_INVALID_REGEX = -4
CATBOX_ERR_EMPTY_COMMAND = -5
CATBOX_ERR_COMMAND_NOT_FOUND = -6
CATBOX_ERR_NOT_EXECUTABLE = -7
CATBOX_ERR_PTRACE_NOT_PERMITTED = -8
CATBOX_ERR_SECCOMP_NOT_PERMITTED = -9
CATBOX_ERR_OS = -10
CATBOX_ERR_PANIC = -11
CATBOX_ERR_OTHER = -12
CATBOX_ERR_FAKEROOT_STATE = -13
CATBOX_ERR_TRACE_LOG = -14
CATBOX_ERR_IMAGE = -15

CATBOX_NETWORK_ALLOWED = 0
CATBOX_NETWORK_DENIED = 1
CATBOX_NETWORK_STRICT = 2

CATBOX_EVENT_CHILD_INITIALIZED = 1
CATBOX_EVENT_CHILD_DIED_UNEXPECTEDLY = 2


class CViolation(ctypes.Structure):
    """``catbox_violation``."""

    _fields_ = [
        ("pid", ctypes.c_int),
        ("operation", ctypes.c_char_p),
        ("path", ctypes.c_char_p),
        ("canonical", ctypes.c_char_p),
        ("errnum", ctypes.c_int),
        ("errno_name", ctypes.c_char_p),
    ]


class COwnership(ctypes.Structure):
    """``catbox_ownership``."""

    _fields_ = [
        ("path", ctypes.c_char_p),
        ("uid", ctypes.c_uint32),
        ("gid", ctypes.c_uint32),
    ]


class CMode(ctypes.Structure):
    """``catbox_mode``."""

    _fields_ = [
        ("path", ctypes.c_char_p),
        ("mode", ctypes.c_uint32),
    ]


VIOLATION_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.POINTER(CViolation), ctypes.c_void_p)
EVENT_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_int, ctypes.c_void_p)
CHILD_FUNCTION = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)

_config_p = ctypes.c_void_p
_report_p = ctypes.c_void_p


def _candidates():
    """(description, path or None) in the order they are tried."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "libcatbox.so")
    system = ctypes.util.find_library("catbox") or "libcatbox.so"
    return [
        ("$CATBOX_LIBRARY", os.environ.get("CATBOX_LIBRARY") or None),
        ("next to the package", here),
        ("the system library path", system),
    ]


def _open(loader):
    tried = []
    explicit_failed = False
    for what, path in _candidates():
        if explicit_failed:
            tried.append("%s: not tried, $CATBOX_LIBRARY is set" % what)
            continue
        if path is None:
            tried.append("%s: not set" % what)
            continue
        if os.sep in path and not os.path.exists(path):
            tried.append("%s: %s does not exist" % (what, path))
        else:
            try:
                return loader(path), path
            except OSError as e:
                tried.append("%s: %s: %s" % (what, path, e))
        # An explicit choice that fails is an error, not a hint.
        explicit_failed = what == "$CATBOX_LIBRARY"
    raise ImportError(
        "catbox: cannot load libcatbox.so. Looked in: "
        + "; ".join("(%d) %s" % (i + 1, t) for i, t in enumerate(tried))
        + ". Set CATBOX_LIBRARY to the library's path, reinstall the package "
        "(pip install ./bindings/python builds it), or install libcatbox "
        "(scripts/install-c.sh)."
    )


lib, LIBRARY_PATH = _open(ctypes.CDLL)
# The same library, called with the GIL held: catbox_run_function forks, and
# the child must inherit an interpreter whose GIL its own thread holds.
pylib = ctypes.PyDLL(LIBRARY_PATH)


def _declare(l):
    c_int, c_char_p, c_void_p, c_bool, c_size_t = (
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_void_p,
        ctypes.c_bool,
        ctypes.c_size_t,
    )
    sig = {
        "catbox_version": (c_char_p, []),
        "catbox_last_error": (c_char_p, []),
        "catbox_status_string": (c_char_p, [c_int]),
        "catbox_canonical": (c_int, [c_char_p, c_bool, c_int, ctypes.POINTER(c_void_p)]),
        "catbox_string_free": (None, [c_void_p]),
        "catbox_config_new": (_config_p, []),
        "catbox_config_free": (None, [_config_p]),
        "catbox_config_allow_write": (c_int, [_config_p, c_char_p]),
        "catbox_config_allow_write_prefix": (c_int, [_config_p, c_char_p]),
        "catbox_config_allow_write_regex": (c_int, [_config_p, c_char_p]),
        "catbox_config_set_network": (c_int, [_config_p, c_int]),
        "catbox_config_set_collect_only": (c_int, [_config_p, c_bool]),
        "catbox_config_set_trace_file": (c_int, [_config_p, c_char_p]),
        "catbox_config_set_fakeroot": (c_int, [_config_p, c_bool]),
        "catbox_config_set_fakeroot_state": (c_int, [_config_p, c_char_p]),
        "catbox_config_set_manifest": (c_int, [_config_p, c_char_p, c_char_p]),
        "catbox_config_set_violation_callback": (c_int, [_config_p, VIOLATION_CALLBACK, c_void_p]),
        "catbox_config_set_event_callback": (c_int, [_config_p, EVENT_CALLBACK, c_void_p]),
        "catbox_run_argv": (c_int, [_config_p, ctypes.POINTER(c_char_p), ctypes.POINTER(_report_p)]),
        "catbox_run_function": (
            c_int,
            [_config_p, CHILD_FUNCTION, c_void_p, ctypes.POINTER(_report_p)],
        ),
        "catbox_report_exit_code": (c_int, [_report_p]),
        "catbox_report_signal": (c_int, [_report_p]),
        "catbox_report_processes": (ctypes.c_uint64, [_report_p]),
        "catbox_report_violations_len": (c_size_t, [_report_p]),
        "catbox_report_violation": (c_int, [_report_p, c_size_t, ctypes.POINTER(CViolation)]),
        "catbox_report_ownerships_len": (c_size_t, [_report_p]),
        "catbox_report_ownership": (c_int, [_report_p, c_size_t, ctypes.POINTER(COwnership)]),
        "catbox_report_modes_len": (c_size_t, [_report_p]),
        "catbox_report_mode": (c_int, [_report_p, c_size_t, ctypes.POINTER(CMode)]),
        "catbox_config_set_image": (c_int, [_config_p, c_char_p]),
        "catbox_report_has_image": (c_bool, [_report_p]),
        "catbox_report_image_dir": (c_char_p, [_report_p]),
        "catbox_report_image_added_len": (c_size_t, [_report_p]),
        "catbox_report_image_added": (c_int, [_report_p, c_size_t, ctypes.POINTER(c_char_p)]),
        "catbox_report_image_modified_len": (c_size_t, [_report_p]),
        "catbox_report_image_modified": (c_int, [_report_p, c_size_t, ctypes.POINTER(c_char_p)]),
        "catbox_report_image_removed_len": (c_size_t, [_report_p]),
        "catbox_report_image_removed": (c_int, [_report_p, c_size_t, ctypes.POINTER(c_char_p)]),
        "catbox_report_free": (None, [_report_p]),
    }
    for name, (restype, argtypes) in sig.items():
        f = getattr(l, name)
        f.restype = restype
        f.argtypes = argtypes


_declare(lib)
_declare(pylib)


def last_error():
    msg = lib.catbox_last_error()
    return os.fsdecode(msg) if msg else "unknown error"
