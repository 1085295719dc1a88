//! Hardened mode: a Landlock ruleset in the child that allows writes only
//! beneath the writable paths, so that the kernel itself enforces what the
//! tracer checks and a race between the check and the call (a path buffer
//! rewritten by another thread, a directory swapped for a symlink) cannot
//! get a write out.
//!
//! Landlock governs creating, removing, renaming, linking, writing and
//! truncating files; it does not govern metadata (chmod, chown, utimes,
//! xattrs), which stay checked by the tracer alone.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::policy::Rule;

const CREATE_RULESET_VERSION: u32 = 1;
const RULE_PATH_BENEATH: u32 = 1;

const WRITE_FILE: u64 = 1 << 1;
const REMOVE_DIR: u64 = 1 << 4;
const REMOVE_FILE: u64 = 1 << 5;
const MAKE_CHAR: u64 = 1 << 6;
const MAKE_DIR: u64 = 1 << 7;
const MAKE_REG: u64 = 1 << 8;
const MAKE_SOCK: u64 = 1 << 9;
const MAKE_FIFO: u64 = 1 << 10;
const MAKE_BLOCK: u64 = 1 << 11;
const MAKE_SYM: u64 = 1 << 12;
const REFER: u64 = 1 << 13;
const TRUNCATE: u64 = 1 << 14;

/// Rights that apply to a file (not a directory) in a rule.
const FILE_RIGHTS: u64 = WRITE_FILE | TRUNCATE;

/// Character devices that stay writable, as in the policy.
const DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/random",
    "/dev/urandom",
    "/dev/pts",
];

#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
}

#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

fn hardened(reason: impl Into<String>) -> Error {
    Error::Hardened {
        reason: reason.into(),
    }
}

/// A ready ruleset, created in the supervisor and entered by the child.
#[derive(Debug)]
pub(crate) struct Ruleset {
    fd: OwnedFd,
    /// The Landlock ABI version used.
    pub(crate) abi: u32,
}

/// The Landlock ABI of the running kernel, or `None` without Landlock.
pub fn abi_version() -> Option<u32> {
    // SAFETY: a NULL attribute with the VERSION flag only queries.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<RulesetAttr>(),
            0usize,
            CREATE_RULESET_VERSION,
        )
    };
    (v > 0).then_some(v as u32)
}

impl Ruleset {
    /// Build the ruleset for these writable rules. Regex and string-prefix
    /// rules cannot be expressed to Landlock and are refused; so is a
    /// writable path that does not exist yet.
    pub(crate) fn build(rules: &[Rule]) -> Result<Ruleset> {
        let abi = abi_version().ok_or_else(|| {
            hardened(
                "Landlock is not available on this kernel (needs Linux 5.13 with CONFIG_SECURITY_LANDLOCK \
                 and `landlock` in the lsm= boot list; check /sys/kernel/security/lsm)",
            )
        })?;
        let mut handled = WRITE_FILE
            | REMOVE_DIR
            | REMOVE_FILE
            | MAKE_CHAR
            | MAKE_DIR
            | MAKE_REG
            | MAKE_SOCK
            | MAKE_FIFO
            | MAKE_BLOCK
            | MAKE_SYM;
        if abi >= 2 {
            handled |= REFER;
        }
        if abi >= 3 {
            handled |= TRUNCATE;
        }
        let attr = RulesetAttr {
            handled_access_fs: handled,
        };
        // SAFETY: attr is a live struct of the size passed.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                &attr as *const RulesetAttr,
                std::mem::size_of::<RulesetAttr>(),
                0u32,
            )
        };
        if fd < 0 {
            return Err(hardened(format!(
                "failed to create the Landlock ruleset: {}",
                std::io::Error::last_os_error()
            )));
        }
        // SAFETY: fd was just returned by landlock_create_ruleset.
        let set = Ruleset {
            fd: unsafe { OwnedFd::from_raw_fd(fd as i32) },
            abi,
        };
        for rule in rules {
            match rule {
                Rule::Subtree(p) => {
                    if !p.exists() {
                        return Err(hardened(format!(
                            "writable path {} does not exist: Landlock rules need an existing \
                             directory (create it before the run)",
                            p.display()
                        )));
                    }
                    set.add(p, handled)?;
                }
                Rule::Regex(r) => {
                    return Err(hardened(format!(
                        "regex rule {:?} cannot be expressed as a Landlock rule: use path rules \
                         in hardened mode",
                        r.as_str()
                    )))
                }
                Rule::Prefix(p) => {
                    return Err(hardened(format!(
                        "string-prefix rule {:?} cannot be expressed as a Landlock rule: use \
                         path rules in hardened mode",
                        String::from_utf8_lossy(p)
                    )))
                }
            }
        }
        for dev in DEVICES {
            let p = Path::new(dev);
            if p.exists() {
                set.add(p, handled)?;
            }
        }
        Ok(set)
    }

    fn add(&self, path: &Path, handled: u64) -> Result<()> {
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| hardened(format!("path {} has a NUL byte", path.display())))?;
        // SAFETY: c is a valid path; the fd is owned below.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(hardened(format!(
                "failed to open {} for a Landlock rule: {}",
                path.display(),
                std::io::Error::last_os_error()
            )));
        }
        // SAFETY: fd was just returned by open.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let is_dir = path.is_dir();
        let rule = PathBeneathAttr {
            allowed_access: if is_dir {
                handled
            } else {
                handled & FILE_RIGHTS
            },
            parent_fd: fd.as_raw_fd(),
        };
        // SAFETY: rule is a live packed struct as the kernel expects.
        let r = unsafe {
            libc::syscall(
                libc::SYS_landlock_add_rule,
                self.fd.as_raw_fd(),
                RULE_PATH_BENEATH,
                &rule as *const PathBeneathAttr,
                0u32,
            )
        };
        if r != 0 {
            return Err(hardened(format!(
                "failed to add a Landlock rule for {}: {}",
                path.display(),
                std::io::Error::last_os_error()
            )));
        }
        Ok(())
    }

    /// Enter the ruleset (in the child, after fork; async-signal-safe).
    /// Sets `no_new_privs` first, as Landlock requires. Returns the errno.
    pub(crate) fn restrict_self(&self) -> std::result::Result<(), i32> {
        // SAFETY: plain system calls with integer arguments.
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(*libc::__errno_location());
            }
            if libc::syscall(libc::SYS_landlock_restrict_self, self.fd.as_raw_fd(), 0u32) != 0 {
                return Err(*libc::__errno_location());
            }
        }
        Ok(())
    }
}
