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
    /// `inner.image` with C strings.
    image: Option<Image>,
}

/// The root view's part of a report, with C strings.
#[derive(Debug)]
struct Image {
    dir: CString,
    added: Vec<CString>,
    modified: Vec<CString>,
    removed: Vec<CString>,
}

impl Image {
    fn new(i: &catbox_core::ImageReport) -> Image {
        let list = |v: &[std::path::PathBuf]| {
            v.iter()
                .map(|p| to_cstring(p.as_os_str().as_bytes()))
                .collect()
        };
        Image {
            dir: to_cstring(i.dir.as_os_str().as_bytes()),
            added: list(&i.added),
            modified: list(&i.modified),
            removed: list(&i.removed),
        }
    }
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
        let image = inner.image.as_ref().map(Image::new);
        Report {
            inner,
            violations,
            ownerships,
            modes,
            image,
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

/// Whether the run had a root view (`catbox_config_set_image`): then the
/// `catbox_report_image_*` functions say what the image directory holds.
/// False without one or if `report` is NULL.
#[no_mangle]
pub extern "C" fn catbox_report_has_image(report: *const Report) -> bool {
    boundary_value(false, || {
        // SAFETY: the caller passes NULL or a report from catbox_run_*.
        let r = unsafe { arg_ref(report, "report") }?;
        Ok(r.image.is_some())
    })
}

/// The image directory of the run's root view (absolute, as the run
/// resolved it), or NULL without a root view or if `report` is NULL. The
/// string stays valid until `catbox_report_free(report)`.
#[no_mangle]
pub extern "C" fn catbox_report_image_dir(report: *const Report) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: the caller passes NULL or a report from catbox_run_*.
        let r = unsafe { arg_ref(report, "report") }?;
        Ok(r.image
            .as_ref()
            .map_or(std::ptr::null(), |i| i.dir.as_ptr()))
    })
}

/// Which list of the image a getter reads.
#[derive(Clone, Copy)]
enum ImageList {
    Added,
    Modified,
    Removed,
}

impl ImageList {
    fn name(self) -> &'static str {
        match self {
            ImageList::Added => "image added",
            ImageList::Modified => "image modified",
            ImageList::Removed => "image removed",
        }
    }

    fn of(self, i: &Image) -> &[CString] {
        match self {
            ImageList::Added => &i.added,
            ImageList::Modified => &i.modified,
            ImageList::Removed => &i.removed,
        }
    }
}

fn image_len(report: *const Report, list: ImageList) -> usize {
    boundary_value(0, || {
        // SAFETY: the caller passes NULL or a report from catbox_run_*.
        let r = unsafe { arg_ref(report, "report") }?;
        Ok(r.image.as_ref().map_or(0, |i| list.of(i).len()))
    })
}

fn image_path(
    report: *const Report,
    list: ImageList,
    index: usize,
    out: *mut *const c_char,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller passes NULL or a report from catbox_run_*.
        let r = unsafe { arg_ref(report, "report") }?;
        let out = arg_out(out, "out")?;
        let paths = r.image.as_ref().map_or(&[][..], |i| list.of(i));
        let p = paths
            .get(index)
            .ok_or_else(|| out_of_range(list.name(), index, paths.len()))?;
        // SAFETY: out is non-NULL and, per the contract, points to writable
        // memory for one pointer.
        unsafe { out.write(p.as_ptr()) };
        Ok(())
    })
}

/// The number of paths the run's program created that the host does not
/// have (files, links and directories, each one listed; a directory comes
/// before its entries); 0 without a root view or if `report` is NULL.
#[no_mangle]
pub extern "C" fn catbox_report_image_added_len(report: *const Report) -> usize {
    image_len(report, ImageList::Added)
}

/// Added path number `index` (from 0), as the program saw it
/// (`"/usr/local/bin/hello"`; the file is at that path below the image
/// directory). On success writes `*out`, a string that stays valid until
/// `catbox_report_free(report)`.
///
/// Errors: `CATBOX_ERR_NULL`, `CATBOX_ERR_INVALID_ARGUMENT` (index out of
/// range).
#[no_mangle]
pub extern "C" fn catbox_report_image_added(
    report: *const Report,
    index: usize,
    out: *mut *const c_char,
) -> c_int {
    image_path(report, ImageList::Added, index, out)
}

/// The number of host files the run's program changed (its version is in
/// the image directory); 0 without a root view or if `report` is NULL.
#[no_mangle]
pub extern "C" fn catbox_report_image_modified_len(report: *const Report) -> usize {
    image_len(report, ImageList::Modified)
}

/// Modified path number `index` (from 0), as for
/// `catbox_report_image_added`.
///
/// Errors: `CATBOX_ERR_NULL`, `CATBOX_ERR_INVALID_ARGUMENT` (index out of
/// range).
#[no_mangle]
pub extern "C" fn catbox_report_image_modified(
    report: *const Report,
    index: usize,
    out: *mut *const c_char,
) -> c_int {
    image_path(report, ImageList::Modified, index, out)
}

/// The number of host paths the run's program removed (or replaced a
/// directory at: the image then holds the new one), as listed in the image
/// directory's `.catbox-removed`; 0 without a root view or if `report` is
/// NULL.
#[no_mangle]
pub extern "C" fn catbox_report_image_removed_len(report: *const Report) -> usize {
    image_len(report, ImageList::Removed)
}

/// Removed path number `index` (from 0), as for
/// `catbox_report_image_added`.
///
/// Errors: `CATBOX_ERR_NULL`, `CATBOX_ERR_INVALID_ARGUMENT` (index out of
/// range).
#[no_mangle]
pub extern "C" fn catbox_report_image_removed(
    report: *const Report,
    index: usize,
    out: *mut *const c_char,
) -> c_int {
    image_path(report, ImageList::Removed, index, out)
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
