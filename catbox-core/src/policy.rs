//! The `Policy` trait and the default policy: writable path rules and the
//! network switch.

use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use regex::bytes::Regex;

use crate::decode::{Call, Exist, Kind};
use crate::error::{Error, Result};
use crate::paths::Target;

/// What to do with a stopped call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let it run.
    Allow,
    /// A violation: record it and fail the call with `errno` (in
    /// collect-only mode, record it and let it run). `subject` says which
    /// operand the record names.
    Deny {
        /// The errno to return (`EACCES`).
        errno: i32,
        /// What the violation record names.
        subject: Subject,
    },
    /// Fail the call with `errno` without a violation: the kernel would
    /// have failed it the same way (`EEXIST` of an existing directory).
    Fail(i32),
    /// Skip the call and make it return this value.
    Fake(i64),
}

/// What a violation record names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// Path operand number `n` of the call.
    Operand(usize),
    /// The call's detail (network destination, family, target pid).
    Detail,
}

/// Decides what happens to each stopped call.
///
/// The engine has already decoded the call and resolved its paths in the
/// tracee's context. Implementations must be quick: they run for every
/// stopped call.
pub trait Policy: Send {
    /// Judge one call.
    fn check(&mut self, call: &Call<'_>) -> Verdict;
}

/// How the network is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Network {
    /// Any socket and destination.
    Allowed,
    /// Only `AF_UNIX` sockets; inet destinations are violations.
    #[default]
    Denied,
    /// No socket at all, `AF_UNIX` included (the original catbox's meaning).
    Strict,
}

/// A writable-path rule.
#[derive(Debug, Clone)]
pub enum Rule {
    /// A subtree: the path itself and everything below it, at a component
    /// boundary.
    Subtree(PathBuf),
    /// A regular expression matched against the canonical path.
    Regex(Regex),
    /// A plain string prefix of the canonical path, with no component
    /// boundary (`/a/b` allows `/a/bc`): the original Python module's
    /// meaning, kept for its drop-in.
    Prefix(Vec<u8>),
}

impl Rule {
    /// A subtree rule. The path must be absolute; it is canonicalized if it
    /// exists (so `/tmp` behind a symlink still matches), and cleaned of
    /// `.` and `..` otherwise.
    pub fn subtree(path: impl AsRef<Path>) -> Result<Rule> {
        let path = path.as_ref();
        if !path.is_absolute() {
            return Err(Error::RelativeRule(path.to_path_buf()));
        }
        let clean = std::fs::canonicalize(path).unwrap_or_else(|_| lexical_clean(path));
        Ok(Rule::Subtree(clean))
    }

    /// A plain string-prefix rule (the original catbox's meaning). The
    /// path must be absolute; it is matched as written.
    pub fn prefix(path: impl AsRef<Path>) -> Result<Rule> {
        let path = path.as_ref();
        if !path.is_absolute() {
            return Err(Error::RelativeRule(path.to_path_buf()));
        }
        Ok(Rule::Prefix(path.as_os_str().as_bytes().to_vec()))
    }

    /// A regex rule.
    pub fn regex(pattern: &str) -> Result<Rule> {
        Regex::new(pattern)
            .map(Rule::Regex)
            .map_err(|source| Error::InvalidRegex {
                pattern: pattern.to_string(),
                reason: one_line(&source.to_string()),
                source,
            })
    }

    /// Whether the rule allows writing `canonical`.
    pub fn allows(&self, canonical: &[u8]) -> bool {
        match self {
            Rule::Subtree(p) => {
                let p = p.as_os_str().as_bytes();
                if p == b"/" {
                    return true;
                }
                canonical.starts_with(p)
                    && (canonical.len() == p.len() || canonical[p.len()] == b'/')
            }
            Rule::Regex(r) => r.is_match(canonical),
            Rule::Prefix(p) => canonical.starts_with(p),
        }
    }
}

/// The last non-empty line of a multi-line message (the regex crate puts
/// the pattern and a caret first, the reason last).
fn one_line(msg: &str) -> String {
    let last = msg
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(msg);
    last.trim().trim_start_matches("error: ").to_string()
}

fn lexical_clean(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

/// Character devices that a build may open for writing: writing them
/// changes no file.
const WRITABLE_DEVICES: &[&[u8]] = &[
    b"/dev/null",
    b"/dev/zero",
    b"/dev/full",
    b"/dev/tty",
    b"/dev/ptmx",
    b"/dev/random",
    b"/dev/urandom",
];

/// The default policy: writes only where a rule allows, the network as set.
#[derive(Debug, Clone, Default)]
pub struct RulePolicy {
    rules: Vec<Rule>,
    network: Network,
}

impl RulePolicy {
    /// A policy with these rules and network setting.
    pub fn new(rules: Vec<Rule>, network: Network) -> RulePolicy {
        RulePolicy { rules, network }
    }

    /// Whether writing `canonical` is allowed by a rule.
    pub fn writable(&self, canonical: &[u8]) -> bool {
        self.rules.iter().any(|r| r.allows(canonical))
    }

    fn check_paths(&self, call: &Call<'_>) -> Verdict {
        for (i, op) in call.operands.iter().enumerate() {
            if !op.write {
                continue;
            }
            let target = match op.target {
                Some(t) => t,
                None => continue,
            };
            match (op.exist, target.exists()) {
                (Exist::Must, false) => return Verdict::Fail(libc::ENOENT),
                (Exist::MustNot, true) => return Verdict::Fail(libc::EEXIST),
                _ => {}
            }
            if target == Target::NotAPath {
                continue;
            }
            let c = op.canonical.as_slice();
            if target.is_char_device()
                && (WRITABLE_DEVICES.contains(&c) || c.starts_with(b"/dev/pts/"))
            {
                continue;
            }
            if !self.writable(c) {
                return Verdict::Deny {
                    errno: libc::EACCES,
                    subject: Subject::Operand(i),
                };
            }
        }
        Verdict::Allow
    }
}

impl Policy for RulePolicy {
    fn check(&mut self, call: &Call<'_>) -> Verdict {
        let deny = |errno| Verdict::Deny {
            errno,
            subject: Subject::Detail,
        };
        match call.desc.kind {
            Kind::Write | Kind::Open(_) | Kind::OpenHow(..) | Kind::Bind | Kind::Mount => {
                self.check_paths(call)
            }
            // A new mount namespace (only these stop for it; see the table).
            Kind::NewNs => deny(libc::EPERM),
            Kind::Clone | Kind::Clone3 if call.detail.is_some() => deny(libc::EPERM),
            Kind::DenyWrite => deny(libc::EACCES),
            Kind::Socket => match self.network {
                Network::Allowed => Verdict::Allow,
                Network::Denied if call.args[0] as i32 == libc::AF_UNIX => Verdict::Allow,
                _ => deny(libc::EACCES),
            },
            Kind::SockAddr(..) | Kind::SendMsg | Kind::SendMmsg => {
                match (self.network, call.family) {
                    (Network::Allowed, _) | (_, None) => Verdict::Allow,
                    (Network::Denied, Some(f)) if f as i32 == libc::AF_UNIX => Verdict::Allow,
                    (Network::Denied, Some(f))
                        if f as i32 != libc::AF_INET && f as i32 != libc::AF_INET6 =>
                    {
                        Verdict::Allow
                    }
                    _ => deny(libc::EACCES),
                }
            }
            Kind::Ptrace => {
                let req = call.args[0];
                if req == crate::decode::consts::PTRACE_ATTACH
                    || req == crate::decode::consts::PTRACE_SEIZE
                {
                    deny(libc::EPERM)
                } else {
                    Verdict::Allow
                }
            }
            Kind::DenyAlways => deny(libc::EPERM),
            Kind::Clone | Kind::Clone3 | Kind::Look | Kind::Exec(_) => Verdict::Allow,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtree_at_component_boundary() {
        let r = Rule::Subtree(PathBuf::from("/a/b"));
        assert!(r.allows(b"/a/b"));
        assert!(r.allows(b"/a/b/c"));
        assert!(!r.allows(b"/a/bc"));
        assert!(!r.allows(b"/a"));
        let p = Rule::prefix("/a/b").unwrap();
        assert!(p.allows(b"/a/bc") && p.allows(b"/a/b/c") && !p.allows(b"/a/"));
    }

    #[test]
    fn relative_rule_refused() {
        assert!(matches!(
            Rule::subtree("build"),
            Err(Error::RelativeRule(_))
        ));
        assert!(matches!(Rule::regex("("), Err(Error::InvalidRegex { .. })));
    }
}
