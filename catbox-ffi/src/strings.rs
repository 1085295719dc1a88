//! C strings in and out, and the checks on pointer arguments.

use std::ffi::{c_char, CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;

use crate::error::{Failure, Status};

/// A C string from bytes that cannot hold a NUL (paths from the kernel, our
/// own messages); should one appear, the string ends there.
pub fn to_cstring(bytes: &[u8]) -> CString {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    CString::new(&bytes[..end]).unwrap_or_default()
}

/// A required C string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid and
/// unchanged for `'a`.
pub unsafe fn arg_cstr<'a>(p: *const c_char, name: &str) -> Result<&'a CStr, Failure> {
    if p.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: non-NULL, and the caller guarantees a valid C string.
    Ok(unsafe { CStr::from_ptr(p) })
}

/// A required C string argument as an OS string (any bytes but NUL).
///
/// # Safety
/// As [`arg_cstr`].
pub unsafe fn arg_os<'a>(p: *const c_char, name: &str) -> Result<&'a OsStr, Failure> {
    // SAFETY: forwarded contract.
    Ok(OsStr::from_bytes(unsafe { arg_cstr(p, name) }?.to_bytes()))
}

/// A required C string argument that must be UTF-8.
///
/// # Safety
/// As [`arg_cstr`].
pub unsafe fn arg_utf8<'a>(p: *const c_char, name: &str) -> Result<&'a str, Failure> {
    // SAFETY: forwarded contract.
    unsafe { arg_cstr(p, name) }?.to_str().map_err(|_| {
        Failure::new(
            Status::CatboxErrInvalidArgument,
            format!("{name} is not valid UTF-8"),
        )
    })
}

/// A required shared reference argument.
///
/// # Safety
/// `p` is NULL or points to a live `T` not mutated for `'a`.
pub unsafe fn arg_ref<'a, T>(p: *const T, name: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller guarantees validity when non-NULL.
    unsafe { p.as_ref() }.ok_or_else(|| Failure::null(name))
}

/// A required exclusive reference argument.
///
/// # Safety
/// `p` is NULL or points to a live `T` not otherwise accessed for `'a`.
pub unsafe fn arg_mut<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: the caller guarantees validity and exclusivity when non-NULL.
    unsafe { p.as_mut() }.ok_or_else(|| Failure::null(name))
}

/// A required out-parameter: checked for NULL before any work, written only
/// on success.
pub fn arg_out<T>(p: *mut T, name: &str) -> Result<*mut T, Failure> {
    if p.is_null() {
        Err(Failure::null(name))
    } else {
        Ok(p)
    }
}
