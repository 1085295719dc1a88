//! The syscall decoder: turns a stopped call into a named call with typed,
//! resolved operands, and prints it like strace.
//!
//! Everything is driven by [`table::TABLE`]; [`lookup`] finds a row by call
//! number in constant time.

pub mod consts;
pub mod table;

use std::fmt;
use std::sync::OnceLock;

use crate::arch;
use crate::paths::Target;
pub use table::{Exist, Fmt, Follow, Kind, PathArg, SyscallDesc, Trap};

/// The table row for call number `nr`, if catbox stops that call.
pub fn lookup(nr: u64) -> Option<&'static SyscallDesc> {
    static INDEX: OnceLock<Vec<Option<&'static SyscallDesc>>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut v = vec![None; arch::MAX_SYSCALL as usize + 1];
        for d in table::TABLE {
            if let Some(nr) = arch::syscall_number(d.name) {
                v[nr as usize] = Some(d);
            }
        }
        v
    });
    index.get(usize::try_from(nr).ok()?).copied().flatten()
}

/// One resolved path operand of a call. Its buffers are reused from one
/// stopped call to the next.
#[derive(Debug, Clone, Default)]
pub struct Operand {
    /// The path exactly as the tracee passed it (empty for an fd).
    pub raw: Vec<u8>,
    /// The canonical absolute path (or `pipe:[N]`-like names for non-paths).
    pub canonical: Vec<u8>,
    /// What is there.
    pub target: Option<Target>,
    /// What the call requires of the target.
    pub exist: Exist,
    /// Whether the operand is written (always true for the write calls;
    /// for opens, from the flags).
    pub write: bool,
    /// Index of the argument that held the path, if any.
    pub path_arg: Option<u8>,
    /// For an operand that is only read: the errno its resolution met
    /// (the kernel will meet it too); `target` is then `None`.
    pub error: Option<i32>,
}

impl Operand {
    /// Forget the previous call's values (the buffers keep their capacity).
    pub fn clear(&mut self) {
        self.raw.clear();
        self.canonical.clear();
        self.target = None;
        self.error = None;
        self.write = false;
        self.exist = Exist::Any;
        self.path_arg = None;
    }
}

/// A decoded call: what a [`Policy`](crate::Policy) sees.
#[derive(Debug)]
pub struct Call<'a> {
    /// The thread that made the call.
    pub pid: i32,
    /// Its table row.
    pub desc: &'static SyscallDesc,
    /// The raw arguments.
    pub args: [u64; 6],
    /// The resolved path operands, in table order.
    pub operands: &'a [Operand],
    /// For network calls: the address family (`socket`) as a name, or the
    /// destination (`1.2.3.4:80`, `[::1]:80`, a unix socket path); for
    /// `ptrace` and `process_vm_writev`, the target pid.
    pub detail: Option<String>,
    /// For network destinations: the address family number.
    pub family: Option<u16>,
}

impl Call<'_> {
    /// The call's name.
    pub fn name(&self) -> &'static str {
        self.desc.name
    }
}

impl fmt::Display for Call<'_> {
    /// strace-like: `openat(AT_FDCWD, "x", O_WRONLY|O_CREAT|O_TRUNC, 0666)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.desc.name)?;
        for (i, kind) in self.desc.fmt.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            let v = self.args[i];
            match kind {
                Fmt::Fd if v as i32 == consts::AT_FDCWD => f.write_str("AT_FDCWD")?,
                Fmt::Fd | Fmt::Int => write!(f, "{}", v as i64 as i32)?,
                Fmt::Path => match self.operands.iter().find(|o| o.path_arg == Some(i as u8)) {
                    Some(o) => write!(f, "{:?}", String::from_utf8_lossy(&o.raw))?,
                    None if v == 0 => f.write_str("NULL")?,
                    None => write!(f, "{v:#x}")?,
                },
                Fmt::OpenFlags => f.write_str(&open_flags(v))?,
                Fmt::Mode => write!(f, "{:#o}", v as u32)?,
                Fmt::AtFlags => write!(f, "{:#x}", v as u32)?,
                Fmt::Hex => write!(f, "{v:#x}")?,
            }
        }
        f.write_str(")")
    }
}

/// Open flags as `O_WRONLY|O_CREAT|...`.
pub fn open_flags(v: u64) -> String {
    let mut s = String::from(match v & 3 {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        2 => "O_RDWR",
        _ => "O_ACCMODE",
    });
    const NAMES: &[(u64, &str)] = &[
        (0o100, "O_CREAT"),
        (0o200, "O_EXCL"),
        (0o400, "O_NOCTTY"),
        (0o1000, "O_TRUNC"),
        (0o2000, "O_APPEND"),
        (0o4000, "O_NONBLOCK"),
        (0o200000, "O_DIRECTORY"),
        (0o400000, "O_NOFOLLOW"),
        (0o2000000, "O_CLOEXEC"),
        (0o20000000, "O_TMPFILE"),
    ];
    for (bit, name) in NAMES {
        if v & bit != 0 {
            s.push('|');
            s.push_str(name);
        }
    }
    s
}

/// The symbolic name of an errno value (`EACCES`).
pub fn errno_name(e: i32) -> &'static str {
    match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::ENOEXEC => "ENOEXEC",
        libc::EBADF => "EBADF",
        libc::ECHILD => "ECHILD",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ENOTTY => "ENOTTY",
        libc::ETXTBSY => "ETXTBSY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::ESPIPE => "ESPIPE",
        libc::EROFS => "EROFS",
        libc::EMLINK => "EMLINK",
        libc::EPIPE => "EPIPE",
        libc::ERANGE => "ERANGE",
        libc::EDEADLK => "EDEADLK",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOLCK => "ENOLCK",
        libc::ENOSYS => "ENOSYS",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::ELOOP => "ELOOP",
        libc::ENODATA => "ENODATA",
        libc::ENOTSOCK => "ENOTSOCK",
        libc::EDESTADDRREQ => "EDESTADDRREQ",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::EPROTOTYPE => "EPROTOTYPE",
        libc::ENOPROTOOPT => "ENOPROTOOPT",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENETDOWN => "ENETDOWN",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::ECONNABORTED => "ECONNABORTED",
        libc::ECONNRESET => "ECONNRESET",
        libc::ENOBUFS => "ENOBUFS",
        libc::EISCONN => "EISCONN",
        libc::ENOTCONN => "ENOTCONN",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::EALREADY => "EALREADY",
        libc::EINPROGRESS => "EINPROGRESS",
        libc::EDQUOT => "EDQUOT",
        libc::ESTALE => "ESTALE",
        libc::ECANCELED => "ECANCELED",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::EILSEQ => "EILSEQ",
        _ => "EUNKNOWN",
    }
}

/// The name of an address family (`AF_INET`), or its number.
pub fn family_name(f: u64) -> String {
    match f as i32 {
        libc::AF_UNIX => "AF_UNIX".into(),
        libc::AF_INET => "AF_INET".into(),
        libc::AF_INET6 => "AF_INET6".into(),
        libc::AF_NETLINK => "AF_NETLINK".into(),
        libc::AF_PACKET => "AF_PACKET".into(),
        libc::AF_BLUETOOTH => "AF_BLUETOOTH".into(),
        libc::AF_VSOCK => "AF_VSOCK".into(),
        libc::AF_ALG => "AF_ALG".into(),
        n => format!("AF_{n}"),
    }
}

/// A socket address read from tracee memory, as a destination string:
/// `1.2.3.4:80`, `[::1]:80`, a unix path, or `@name` for an abstract
/// unix socket. Returns (family, text).
pub fn format_sockaddr(bytes: &[u8]) -> Option<(u16, String)> {
    if bytes.len() < 2 {
        return None;
    }
    let family = u16::from_ne_bytes([bytes[0], bytes[1]]);
    let text = match family as i32 {
        libc::AF_INET if bytes.len() >= 8 => {
            let port = u16::from_be_bytes([bytes[2], bytes[3]]);
            let ip = std::net::Ipv4Addr::new(bytes[4], bytes[5], bytes[6], bytes[7]);
            format!("{ip}:{port}")
        }
        libc::AF_INET6 if bytes.len() >= 24 => {
            let port = u16::from_be_bytes([bytes[2], bytes[3]]);
            let mut a = [0u8; 16];
            a.copy_from_slice(&bytes[8..24]);
            format!("[{}]:{port}", std::net::Ipv6Addr::from(a))
        }
        libc::AF_UNIX => {
            let path = &bytes[2..];
            if path.first() == Some(&0) {
                if path.len() <= 1 {
                    String::new()
                } else {
                    format!("@{}", String::from_utf8_lossy(&path[1..]))
                }
            } else {
                let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
                String::from_utf8_lossy(&path[..end]).into_owned()
            }
        }
        _ => family_name(family as u64),
    };
    Some((family, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_a_number_and_fmt_covers_paths() {
        for d in table::TABLE {
            assert!(arch::syscall_number(d.name).is_some(), "{}", d.name);
            for p in d.paths {
                if let Some(a) = p.path {
                    assert_eq!(d.fmt[a as usize], Fmt::Path, "{}", d.name);
                }
            }
        }
        assert_eq!(lookup(2).map(|d| d.name), Some("open"));
        assert_eq!(lookup(452).map(|d| d.name), Some("fchmodat2"));
        assert!(lookup(0).is_none());
    }

    #[test]
    fn sockaddrs() {
        let mut v4 = vec![0u8; 16];
        v4[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        v4[2..4].copy_from_slice(&80u16.to_be_bytes());
        v4[4..8].copy_from_slice(&[1, 2, 3, 4]);
        assert_eq!(format_sockaddr(&v4).unwrap().1, "1.2.3.4:80");
        let mut v6 = vec![0u8; 28];
        v6[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
        v6[2..4].copy_from_slice(&443u16.to_be_bytes());
        v6[23] = 1;
        assert_eq!(format_sockaddr(&v6).unwrap().1, "[::1]:443");
    }
}
