//! Status codes, the thread-local last error, and the panic boundary that
//! every exported function runs inside.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The status every fallible `catbox_*` function returns: `CATBOX_OK` (0) on
/// success, a negative value on failure, with a message from
/// `catbox_last_error()`. Functions return it as a plain `int`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Success.
    CatboxOk = 0,
    /// A required pointer argument was NULL.
    CatboxErrNull = -1,
    /// An argument was invalid (not UTF-8 where text is needed, an unknown
    /// network mode, an index out of range, a NUL byte in an argument).
    CatboxErrInvalidArgument = -2,
    /// A writable path rule was not absolute.
    CatboxErrRelativePath = -3,
    /// A writable regular expression did not compile.
    CatboxErrInvalidRegex = -4,
    /// The command to run was empty.
    CatboxErrEmptyCommand = -5,
    /// The command was not found (a shell would exit 127).
    CatboxErrCommandNotFound = -6,
    /// The command exists but could not be executed (a shell would exit 126).
    CatboxErrNotExecutable = -7,
    /// ptrace is not permitted on this system.
    CatboxErrPtraceNotPermitted = -8,
    /// seccomp filters are not permitted on this system.
    CatboxErrSeccompNotPermitted = -9,
    /// A system call catbox itself made failed.
    CatboxErrOs = -10,
    /// catbox hit an internal error (a panic was caught at the boundary).
    CatboxErrPanic = -11,
    /// Any other error.
    CatboxErrOther = -12,
    /// The fakeroot state file (`catbox_config_set_fakeroot_state`) could
    /// not be read, parsed or written: corrupt, from another program, or
    /// unreadable. Never treated as empty.
    CatboxErrFakerootState = -13,
    /// The operation log (`catbox_config_set_trace_file`) could not be
    /// written completely (e.g. the disk is full): the run finished but the
    /// log is truncated, so the run fails and gives no report.
    CatboxErrTraceLog = -14,
    /// The root view (`catbox_config_set_image`) could not be used: the
    /// image directory is not new or empty, is not a directory or lies on a
    /// pseudo file system, or the kernel refused the user or mount namespace
    /// or the overlay filesystem (the message says which step failed and
    /// what to do). Nothing ran; what the directory held is left untouched.
    CatboxErrImage = -15,
}

/// A failed call: the status to return and the message to keep.
#[derive(Debug)]
pub struct Failure {
    pub status: Status,
    pub message: String,
}

impl Failure {
    pub fn new(status: Status, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }

    /// A NULL pointer where `name` was required.
    pub fn null(name: &str) -> Failure {
        Failure::new(Status::CatboxErrNull, format!("null parameter: {name}"))
    }
}

impl From<catbox_core::Error> for Failure {
    fn from(e: catbox_core::Error) -> Failure {
        use catbox_core::Error as E;
        let status = match &e {
            E::RelativeRule(_) => Status::CatboxErrRelativePath,
            E::InvalidRegex { .. } => Status::CatboxErrInvalidRegex,
            E::EmptyCommand => Status::CatboxErrEmptyCommand,
            E::CommandNotFound(_) => Status::CatboxErrCommandNotFound,
            E::NotExecutable { .. } => Status::CatboxErrNotExecutable,
            E::NulByte(_) => Status::CatboxErrInvalidArgument,
            E::PtraceNotPermitted { .. } => Status::CatboxErrPtraceNotPermitted,
            E::SeccompNotPermitted { .. } => Status::CatboxErrSeccompNotPermitted,
            E::FakerootState { .. } => Status::CatboxErrFakerootState,
            E::Image { .. } | E::ImageSetup { .. } => Status::CatboxErrImage,
            E::Os { .. } => Status::CatboxErrOs,
            _ => Status::CatboxErrOther,
        };
        Failure::new(status, e.to_string())
    }
}

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Keep `message` as this thread's last error.
pub fn set_last_error(message: &str) {
    let c = crate::strings::to_cstring(message.as_bytes());
    LAST_ERROR.with(|slot| *slot.borrow_mut() = Some(c));
}

/// This thread's last error, or NULL. The pointer stays valid until the
/// next failing call on this thread replaces it.
pub fn last_error_ptr() -> *const c_char {
    LAST_ERROR.with(|slot| {
        slot.borrow()
            .as_deref()
            .map_or(std::ptr::null(), CStr::as_ptr)
    })
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Run `f` inside a panic boundary; turn its result into a status code and
/// keep the message of a failure (or of a panic) as the last error.
pub fn boundary(f: impl FnOnce() -> Result<(), Failure>) -> c_int {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => Status::CatboxOk as c_int,
        Ok(Err(failure)) => {
            set_last_error(&failure.message);
            failure.status as c_int
        }
        Err(payload) => {
            set_last_error(&format!(
                "internal error in catbox (please report it): {}",
                panic_message(payload.as_ref())
            ));
            Status::CatboxErrPanic as c_int
        }
    }
}

/// Like [`boundary`] for functions that return a value rather than a status:
/// on failure or panic, keep the message and return `on_error`.
pub fn boundary_value<T>(on_error: T, f: impl FnOnce() -> Result<T, Failure>) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(failure)) => {
            set_last_error(&failure.message);
            on_error
        }
        Err(payload) => {
            set_last_error(&format!(
                "internal error in catbox (please report it): {}",
                panic_message(payload.as_ref())
            ));
            on_error
        }
    }
}
