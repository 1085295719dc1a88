//! catbox-core: a build sandbox for Linux, with ptrace and seccomp.
//!
//! A [`Sandbox`] runs a command (or a function in a forked child) and traces
//! its whole process tree. A seccomp filter stops only the calls that matter
//! (writes, and network calls while the network is denied); each stopped
//! call is decoded from a table ([`decode`]), its paths resolved in the
//! tracee's context ([`paths`]), and judged by a [`Policy`]. Writes outside
//! the writable paths fail with `EACCES` and are recorded as [`Violation`]s
//! in the [`Report`].
//!
//! ```no_run
//! use catbox_core::{Command, Sandbox};
//!
//! let mut sandbox = Sandbox::new();
//! sandbox.allow_write("/tmp")?;
//! let report = sandbox.run(&Command::from_argv(["touch", "/etc/catbox-test"])?)?;
//! for v in &report.violations {
//!     println!("{v}");
//! }
//! # Ok::<(), catbox_core::Error>(())
//! ```

#![warn(missing_docs)]

mod arch;
pub mod decode;
pub mod deps;
mod error;
pub mod fakeroot;
#[doc(hidden)]
pub mod fuzzing;
pub mod image;
mod landlock;
pub mod paths;
pub mod policy;
mod report;
mod sandbox;
mod seccomp;
mod trace;

pub use decode::Call;
pub use error::{Error, Result};
pub use image::ImageReport;
pub use landlock::abi_version as landlock_abi;
pub use paths::canonical;
pub use policy::{Network, Policy, Rule, RulePolicy, Subject, Verdict};
pub use report::{Report, Violation};
pub use sandbox::{Command, Event, Sandbox};

/// The version of catbox-core.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
