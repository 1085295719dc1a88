//! The C API of catbox: `libcatbox.so` / `libcatbox.a`, declared in
//! `include/catbox.h` (generated from this crate by cbindgen).
//!
//! This layer only translates between C and [`catbox_core`]: every rule,
//! check and decision lives there. Conventions, for every `catbox_*`
//! function:
//!
//! * handles (`catbox_config`, `catbox_report`) are opaque, created and
//!   freed by catbox; `_free(NULL)` is a no-op;
//! * fallible functions return an `int` status, `CATBOX_OK` (0) or a
//!   negative `CATBOX_ERR_*`, and keep a message for `catbox_last_error()`
//!   (per thread);
//! * a NULL required argument is `CATBOX_ERR_NULL`, never a crash;
//! * out-parameters are written only on success;
//! * no panic crosses the boundary: one becomes `CATBOX_ERR_PANIC`;
//! * callbacks take the caller's `void *user_data`.

#![deny(unsafe_op_in_unsafe_fn)]
// The exports are C entry points: they take raw pointers whose contracts
// (NULL or valid) are documented in the header, check NULL themselves, and
// are not meant to be called from Rust (Rust users have catbox-core). Marking
// them `unsafe fn` would change nothing for C.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod config;
mod error;
mod report;
mod strings;

use std::ffi::{c_char, c_int, CString};
use std::os::unix::ffi::OsStrExt;

pub use config::{
    ChildFunction, Config, EventCallback, ViolationCallback, CATBOX_EVENT_CHILD_DIED_UNEXPECTEDLY,
    CATBOX_EVENT_CHILD_INITIALIZED, CATBOX_NETWORK_ALLOWED, CATBOX_NETWORK_DENIED,
    CATBOX_NETWORK_STRICT,
};
pub use error::Status;
pub use report::{CMode, COwnership, CViolation, Report};

use error::{boundary, boundary_value, Failure};
use strings::{arg_os, arg_out, to_cstring};

/// The major version of the library this header declares (see
/// `catbox_version()` for the library actually loaded).
pub const CATBOX_VERSION_MAJOR: c_int = 0;
/// The minor version of the library this header declares.
pub const CATBOX_VERSION_MINOR: c_int = 1;
/// The patch version of the library this header declares.
pub const CATBOX_VERSION_PATCH: c_int = 0;

/// The NUL-terminated version string, kept in the library's static data.
static VERSION_C: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The version of the loaded library (`"0.1.0"`): a static string, never
/// freed. Thread-safe.
#[no_mangle]
pub extern "C" fn catbox_version() -> *const c_char {
    VERSION_C.as_ptr().cast()
}

/// The message of the last failed `catbox_*` call on this thread, or NULL
/// if none has failed. The string belongs to catbox and stays valid until
/// the next failing call on the same thread. Thread-safe (per thread).
#[no_mangle]
pub extern "C" fn catbox_last_error() -> *const c_char {
    error::last_error_ptr()
}

/// Resolve `path` as a sandboxed process `pid` would see it (relative to its
/// cwd, `/proc/self` meaning it; `pid` <= 0 means this process), following
/// a symlink in the last component if `follow`; components that do not
/// exist are kept as written. On success writes `*out`, a string to free
/// with `catbox_string_free`. Thread-safe.
///
/// Errors: `CATBOX_ERR_NULL`, `CATBOX_ERR_OS` (e.g. no such process, a path
/// too long).
#[no_mangle]
pub extern "C" fn catbox_canonical(
    path: *const c_char,
    follow: bool,
    pid: c_int,
    out: *mut *mut c_char,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let p = unsafe { arg_os(path, "path") }?;
        let out = arg_out(out, "out")?;
        let pid = (pid > 0).then_some(pid);
        let c = catbox_core::canonical(p.as_ref(), follow, pid).map_err(|e| {
            Failure::new(
                Status::CatboxErrOs,
                format!("failed to resolve {:?}: {e}", p),
            )
        })?;
        let s: CString = to_cstring(c.as_os_str().as_bytes());
        // SAFETY: out is non-NULL and points to writable memory for one
        // pointer (the contract).
        unsafe { out.write(s.into_raw()) };
        Ok(())
    })
}

/// Free a string catbox returned (`catbox_canonical`). `NULL` is a no-op.
#[no_mangle]
pub extern "C" fn catbox_string_free(s: *mut c_char) {
    boundary(|| {
        if !s.is_null() {
            // SAFETY: a non-NULL s came from CString::into_raw in this
            // library and, per the contract, is freed only once.
            drop(unsafe { CString::from_raw(s) });
        }
        Ok(())
    });
}

/// A short description of a status code (`"CATBOX_ERR_NULL"` style names
/// are in the header; this gives words). Never NULL; thread-safe.
#[no_mangle]
pub extern "C" fn catbox_status_string(status: c_int) -> *const c_char {
    boundary_value(c"unknown status".as_ptr(), || {
        let s = match status {
            0 => c"ok",
            -1 => c"null argument",
            -2 => c"invalid argument",
            -3 => c"relative path",
            -4 => c"invalid regular expression",
            -5 => c"empty command",
            -6 => c"command not found",
            -7 => c"command not executable",
            -8 => c"ptrace not permitted",
            -9 => c"seccomp not permitted",
            -10 => c"operating system error",
            -11 => c"internal error (panic)",
            -12 => c"other error",
            -13 => c"bad fakeroot state file",
            -14 => c"operation log incomplete",
            -15 => c"root view (image directory) failed",
            _ => c"unknown status",
        };
        Ok(s.as_ptr())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::catbox_config_allow_write;

    #[test]
    fn version_constants_match_cargo() {
        assert_eq!(
            CATBOX_VERSION_MAJOR.to_string(),
            env!("CARGO_PKG_VERSION_MAJOR")
        );
        assert_eq!(
            CATBOX_VERSION_MINOR.to_string(),
            env!("CARGO_PKG_VERSION_MINOR")
        );
        assert_eq!(
            CATBOX_VERSION_PATCH.to_string(),
            env!("CARGO_PKG_VERSION_PATCH")
        );
        assert_eq!(catbox_core::version(), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn header_declares_this_version() {
        let header =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../include/catbox.h"))
                .expect("include/catbox.h is committed");
        for (name, value) in [
            ("MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
            ("MINOR", env!("CARGO_PKG_VERSION_MINOR")),
            ("PATCH", env!("CARGO_PKG_VERSION_PATCH")),
        ] {
            let line = format!("#define CATBOX_VERSION_{name} {value}\n");
            assert!(
                header.contains(&line),
                "include/catbox.h lacks {line:?}: regenerate it"
            );
        }
    }

    #[test]
    fn null_arguments_are_errors() {
        assert_eq!(
            catbox_config_allow_write(std::ptr::null_mut(), c"/tmp".as_ptr()),
            Status::CatboxErrNull as c_int
        );
        // SAFETY: catbox_last_error returns a valid C string after a failure.
        let msg = unsafe { std::ffi::CStr::from_ptr(catbox_last_error()) };
        assert_eq!(msg.to_str().ok(), Some("null parameter: config"));
    }
}
