//! The library's error type.

use std::path::PathBuf;

/// Everything that can go wrong when setting up or running a sandbox.
///
/// Errors that come from the operating system keep the OS error as their
/// `source`. Messages read "failed to `what`: `why`" or say what input was
/// wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A writable path rule was not absolute.
    #[error("writable path {0:?} is not absolute: rules must be absolute paths")]
    RelativeRule(PathBuf),
    /// A writable regex rule did not compile.
    #[error("invalid regular expression {pattern:?}: {reason}")]
    InvalidRegex {
        /// The pattern as given.
        pattern: String,
        /// Why, in one line.
        reason: String,
        /// Why it did not compile.
        #[source]
        source: regex::Error,
    },
    /// The command line to run was empty.
    #[error("no command given to run")]
    EmptyCommand,
    /// The command was not found (as a shell would report it: exit 127).
    #[error("{0}: command not found")]
    CommandNotFound(String),
    /// The command exists but could not be executed (exit 126).
    #[error("cannot execute {program}: {source}")]
    NotExecutable {
        /// The program that failed to execute.
        program: String,
        /// The error from `execve`.
        #[source]
        source: std::io::Error,
    },
    /// A command-line argument or environment entry held a NUL byte.
    #[error("argument {0:?} contains a NUL byte")]
    NulByte(String),
    /// ptrace is not permitted here.
    #[error(
        "failed to trace the child with ptrace: {source} (ptrace is not permitted on this \
         system: check /proc/sys/kernel/yama/ptrace_scope, a container's seccomp profile, or \
         CAP_SYS_PTRACE)"
    )]
    PtraceNotPermitted {
        /// The error from `PTRACE_SEIZE`.
        #[source]
        source: std::io::Error,
    },
    /// The seccomp filter could not be installed.
    #[error(
        "failed to install the seccomp filter: {source} (seccomp filters are not permitted on \
         this system: check `grep Seccomp /proc/self/status` and the kernel's CONFIG_SECCOMP_FILTER)"
    )]
    SeccompNotPermitted {
        /// The error from `seccomp(2)`.
        #[source]
        source: std::io::Error,
    },
    /// Hardened mode cannot be set up as asked.
    #[error("hardened mode: {reason}")]
    Hardened {
        /// Why.
        reason: String,
    },
    /// The fakeroot state file could not be read, parsed or written.
    #[error("fakeroot state file {path:?}: {reason}")]
    FakerootState {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The root view (image directory) cannot be used as asked.
    #[error("root view: {reason}")]
    Image {
        /// Why.
        reason: String,
    },
    /// Setting up the root view failed in the kernel.
    #[error("root view: failed to {what}: {source}{hint}")]
    ImageSetup {
        /// The step that failed.
        what: &'static str,
        /// What the user can do about it ("" if nothing to add).
        hint: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Some other system call catbox itself made failed.
    #[error("failed to {what}: {source}")]
    Os {
        /// What catbox was doing.
        what: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// An [`Error::Os`] from the current `errno`.
    pub(crate) fn last_os(what: &'static str) -> Error {
        Error::Os {
            what,
            source: std::io::Error::last_os_error(),
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
