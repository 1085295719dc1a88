//! The result of a run: exit status, violations, counts.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::decode::errno_name;

/// One denied (or, in collect-only mode, recorded) operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The thread that made the call.
    pub pid: i32,
    /// The system call's name (`openat`, `mkdir`, `connect`, `socket`).
    pub operation: &'static str,
    /// The path exactly as the tracee gave it ("" where there was none).
    pub path: PathBuf,
    /// The canonical path, or the destination address / family for network
    /// calls, or the target pid for `ptrace`.
    pub canonical: PathBuf,
    /// The errno the call returned, or `None` in collect-only mode, where
    /// the call ran.
    pub errno: Option<i32>,
}

impl Violation {
    /// The errno's symbolic name (`EACCES`), if the call was denied.
    pub fn errno_name(&self) -> Option<&'static str> {
        self.errno.map(errno_name)
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {:?} -> {:?} (pid {}",
            self.operation,
            self.path.as_os_str(),
            self.canonical.as_os_str(),
            self.pid
        )?;
        match self.errno_name() {
            Some(e) => write!(f, ", {e})"),
            None => f.write_str(", allowed: collect-only)"),
        }
    }
}

impl Serialize for Violation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Violation", 5)?;
        st.serialize_field("pid", &self.pid)?;
        st.serialize_field("operation", self.operation)?;
        st.serialize_field("path", &self.path.to_string_lossy())?;
        st.serialize_field("canonical", &self.canonical.to_string_lossy())?;
        st.serialize_field("errno", &self.errno_name())?;
        st.end()
    }
}

/// What happened in a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// The first child's exit code, if it exited.
    pub exit_code: Option<i32>,
    /// The signal that killed the first child, if one did.
    pub signal: Option<i32>,
    /// Violations, in the order they happened.
    pub violations: Vec<Violation>,
    /// Processes and threads traced.
    pub processes: u64,
    /// System calls that stopped for the tracer.
    pub stops: u64,
    /// Fakeroot mode: the apparent owner (uid, gid) of each file whose
    /// owner was changed, by path.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ownerships: BTreeMap<String, (u32, u32)>,
    /// Fakeroot mode: the apparent full mode (`st_mode`, type included) of
    /// each file whose mode was changed or that is a faked device, by path.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub modes: BTreeMap<String, u32>,
    /// Hardened mode: the Landlock ABI version the child was confined with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landlock_abi: Option<u32>,
    /// Root view: what the image directory holds after the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<crate::image::ImageReport>,
    /// Why the operation log is incomplete, if writing it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_error: Option<String>,
}

impl Report {
    /// The status a shell would give: the exit code, or 128 + the signal.
    pub fn shell_status(&self) -> i32 {
        match (self.exit_code, self.signal) {
            (Some(c), _) => c,
            (None, Some(s)) => 128 + s,
            (None, None) => 1,
        }
    }
}
