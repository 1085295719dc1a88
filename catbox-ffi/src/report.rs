//! `catbox_report`, `catbox_violation`, `catbox_ownership` and
//! `catbox_mode`: the result of a run, read from C.

use std::ffi::{c_char, c_int, CString};
use std::os::unix::ffi::OsStrExt;

use crate::error::{boundary, boundary_value, Failure, Status};
use crate::strings::{arg_out, arg_ref, to_cstring};

/// One violation, as C sees it.
///
/// The strings are borrowed: from the report (valid until
/// `catbox_report_free`) or, in a violation callback, valid only during the
/// call. Copy what you keep.
///
/// Thread safety: plain data; it may be read from any thread while the
/// strings it points to are valid.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CViolation {
    /// The thread that made the call.
    pub pid: c_int,
    /// The system call's name (`"openat"`, `"mkdir"`, `"connect"`, `"socket"`).
    pub operation: *const c_char,
    /// The path exactly as the sandboxed program gave it (`""` if none).
    pub path: *const c_char,
    /// The canonical absolute path, or the destination (`"1.2.3.4:80"`,
    /// `"[::1]:80"`, a unix socket path) or address family of a network call.
    pub canonical: *const c_char,
    /// The errno the call failed with (`EACCES`), or 0 in collect-only mode
    /// (the call ran).
    pub errnum: c_int,
    /// The errno's symbolic name (`"EACCES"`), or NULL in collect-only mode.
    pub errno_name: *const c_char,
}

/// A violation with its strings owned, so that a [`CViolation`] can point
/// into it.
#[derive(Debug)]
pub struct OwnedViolation {
    pid: c_int,
    operation: CString,
    path: CString,
    canonical: CString,
    errnum: c_int,
    errno_name: Option<CString>,
}

impl OwnedViolation {
    pub fn new(v: &catbox_core::Violation) -> OwnedViolation {
        OwnedViolation {
            pid: v.pid,
            operation: to_cstring(v.operation.as_bytes()),
            path: to_cstring(v.path.as_os_str().as_bytes()),
            canonical: to_cstring(v.canonical.as_os_str().as_bytes()),
            errnum: v.errno.unwrap_or(0),
            errno_name: v.errno_name().map(|n| to_cstring(n.as_bytes())),
        }
    }

    /// The C view, borrowing from `self`.
    pub fn as_c(&self) -> CViolation {
        CViolation {
            pid: self.pid,
            operation: self.operation.as_ptr(),
            path: self.path.as_ptr(),
            canonical: self.canonical.as_ptr(),
            errnum: self.errnum,
            errno_name: self
                .errno_name
                .as_deref()
                .map_or(std::ptr::null(), |n| n.as_ptr()),
        }
    }
}

/// A file's faked owner in fakeroot mode, as C sees it.
///
/// `path` is borrowed from the report: valid until `catbox_report_free`.
///
/// Thread safety: plain data, as `catbox_violation`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct COwnership {
    /// The file's path when the run ended.
    pub path: *const c_char,
    /// The owner the sandboxed program gave it (what it sees in `stat`).
    pub uid: u32,
    /// The group the sandboxed program gave it.
    pub gid: u32,
}

/// A file's faked mode in fakeroot mode, as C sees it.
///
/// `path` is borrowed from the report: valid until `catbox_report_free`.
///
/// Thread safety: plain data, as `catbox_violation`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CMode {
    /// The file's path when the run ended.
    pub path: *const c_char,
    /// The full `st_mode` the sandboxed program sees: the type bits
    /// (`S_IFCHR` for a faked device node, `S_IFREG`, ...) and the
    /// permission bits including setuid, setgid and sticky.
    pub mode: u32,
}

/// The result of a run (opaque).
///
/// Thread safety: immutable once returned; the `catbox_report_*` getters may
/// be called from any number of threads at once. `catbox_report_free` must
/// not race with any other use.
#[derive(Debug)]
pub struct Report {
    inner: catbox_core::Report,
    violations: Vec<OwnedViolation>,
    /// `inner.ownerships` with C strings, in the same (path) order.
    ownerships: Vec<(CString, u32, u32)>,
    /// `inner.modes` with C strings, in the same (path) order.
    modes: Vec<(CString, u32)>,
}

impl Report {
    pub fn new(inner: catbox_core::Report) -> Report {
        let violations = inner.violations.iter().map(OwnedViolation::new).collect();
        let ownerships = inner
            .ownerships
            .iter()
            .map(|(p, &(u, g))| (to_cstring(p.as_bytes()), u, g))
            .collect();
        let modes = inner
            .modes
            .iter()
            .map(|(p, &m)| (to_cstring(p.as_bytes()), m))
            .collect();
        Report {
            inner,
            violations,
            ownerships,
            modes,
        }
    }
}

/// The error for an index past the end of one of a report's lists.
fn out_of_range(what: &str, index: usize, len: usize) -> Failure {
    Failure::new(
        Status::CatboxErrInvalidArgument,
        format!("{what} index {index} out of range (the report has {len})"),
    )
}

/// The exit code of the first child (0..255), or -1 if it was killed by a
/// signal (see `catbox_report_signal`) or `report` is NULL.
#[no_mangle]
pub extern "C" fn catbox_report_exit_code(report: *const Report) -> c_int {
    boundary_value(-1, || {
        // SAFETY: the caller passes NULL or a report from catbox_run_*.
        let r = unsafe { arg_ref(report, "report") }?;
        Ok(r.inner.exit_code.unwrap_or(-1))
    })
}

/// The signal that killed the first child, 0 if it exited, or -1 if
/// `report` is NULL.
#[no_mangle]
pub extern "C" fn catbox_report_signal(report: *const Report) -> c_int {
    boundary_value(-1, || {
        // SAFETY: the caller passes NULL or a report from catbox_run_*.
        let r = unsafe { arg_ref(report, "report") }?;
        Ok(r.inner.signal.unwrap_or(0))
    })
}

/// The number of processes and threads traced (0 if `report` is NULL).
#[no_mangle]
pub extern "C" fn catbox_report_processes(report: *const Report) -> u64 {
    boundary_value(0, || {
        // SAFETY: the caller passes NULL or a report from catbox_run_*.
        let r = unsafe { arg_ref(report, "report") }?;
        Ok(r.inner.processes)
    })
}

/// The number of violations, in the order they happened (0 if `report` is
/// NULL).
#[no_mangle]
pub extern "C" fn catbox_report_violations_len(report: *const Report) -> usize {
    boundary_value(0, || {
        // SAFETY: the caller passes NULL or a report from catbox_run_*.
        let r = unsafe { arg_ref(report, "report") }?;
        Ok(r.violations.len())
    })
}

/// Violation number `index` (from 0). On success writes `*out`, whose
/// strings stay valid until `catbox_report_free(report)`.
///
/// Errors: `CATBOX_ERR_NULL`, `CATBOX_ERR_INVALID_ARGUMENT` (index out of
/// range).
#[no_mangle]
pub extern "C" fn catbox_report_violation(
    report: *const Report,
    index: usize,
    out: *mut CViolation,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller passes NULL or a report from catbox_run_*.
        let r = unsafe { arg_ref(report, "report") }?;
        let out = arg_out(out, "out")?;
        let v = r
            .violations
            .get(index)
            .ok_or_else(|| out_of_range("violation", index, r.violations.len()))?;
        // SAFETY: out is non-NULL and, per the contract, points to writable
        // memory for one catbox_violation.
        unsafe { out.write(v.as_c()) };
        Ok(())
    })
}

/// The number of files whose owner the run changed in fakeroot mode
/// (`catbox_config_set_fakeroot`), sorted by path; 0 without fakeroot or if
/// `report` is NULL.
#[no_mangle]
pub extern "C" fn catbox_report_ownerships_len(report: *const Report) -> usize {
    boundary_value(0, || {
        // SAFETY: the caller passes NULL or a report from catbox_run_*.
        let r = unsafe { arg_ref(report, "report") }?;
        Ok(r.ownerships.len())
    })
}

/// Ownership number `index` (from 0, in path order): the file's path and
/// the owner and group a `chown` gave it (the file itself still belongs to
/// the real user). On success writes `*out`, whose `path` stays valid until
/// `catbox_report_free(report)`.
///
/// Errors: `CATBOX_ERR_NULL`, `CATBOX_ERR_INVALID_ARGUMENT` (index out of
/// range).
#[no_mangle]
pub extern "C" fn catbox_report_ownership(
    report: *const Report,
    index: usize,
    out: *mut COwnership,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller passes NULL or a report from catbox_run_*.
        let r = unsafe { arg_ref(report, "report") }?;
        let out = arg_out(out, "out")?;
        let (path, uid, gid) = r
            .ownerships
            .get(index)
            .ok_or_else(|| out_of_range("ownership", index, r.ownerships.len()))?;
        // SAFETY: out is non-NULL and, per the contract, points to writable
        // memory for one catbox_ownership.
        unsafe {
            out.write(COwnership {
                path: path.as_ptr(),
                uid: *uid,
                gid: *gid,
            })
        };
        Ok(())
    })
}

/// The number of files whose mode the run changed (`chmod`) or that it made
/// as device nodes (`mknod`) in fakeroot mode, sorted by path; 0 without
/// fakeroot or if `report` is NULL.
#[no_mangle]
pub extern "C" fn catbox_report_modes_len(report: *const Report) -> usize {
    boundary_value(0, || {
        // SAFETY: the caller passes NULL or a report from catbox_run_*.
        let r = unsafe { arg_ref(report, "report") }?;
        Ok(r.modes.len())
    })
}

/// Mode number `index` (from 0, in path order): the file's path and the
/// full `st_mode` the sandboxed program sees (type and permission bits,
/// setuid/setgid/sticky included). On success writes `*out`, whose `path`
/// stays valid until `catbox_report_free(report)`.
///
/// Errors: `CATBOX_ERR_NULL`, `CATBOX_ERR_INVALID_ARGUMENT` (index out of
/// range).
#[no_mangle]
pub extern "C" fn catbox_report_mode(
    report: *const Report,
    index: usize,
    out: *mut CMode,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller passes NULL or a report from catbox_run_*.
        let r = unsafe { arg_ref(report, "report") }?;
        let out = arg_out(out, "out")?;
        let (path, mode) = r
            .modes
            .get(index)
            .ok_or_else(|| out_of_range("mode", index, r.modes.len()))?;
        // SAFETY: out is non-NULL and, per the contract, points to writable
        // memory for one catbox_mode.
        unsafe {
            out.write(CMode {
                path: path.as_ptr(),
                mode: *mode,
            })
        };
        Ok(())
    })
}

/// Free a report. `NULL` is a no-op.
#[no_mangle]
pub extern "C" fn catbox_report_free(report: *mut Report) {
    boundary(|| {
        if !report.is_null() {
            // SAFETY: a non-NULL report came from Box::into_raw in
            // catbox_run_* and, per the contract, is freed only once.
            drop(unsafe { Box::from_raw(report) });
        }
        Ok(())
    });
}
