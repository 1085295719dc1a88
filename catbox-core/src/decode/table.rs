//! The table of system calls that catbox stops, one row per call.
//!
//! A row names the call, says when the seccomp filter must stop it, which of
//! its arguments are paths, directory fds and flags, and how each argument
//! prints. The filter, the decoder, the policy and the strace-like printer
//! all read this table: adding a call is adding a row.

use super::consts::*;

/// When the seccomp filter stops a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trap {
    /// Every time.
    Always,
    /// When `args[arg] & mask != 0` (low 32 bits).
    IfAnyBit(u8, u32),
    /// When `args[arg] != value` (low 32 bits).
    IfNotEqual(u8, u32),
    /// When `args[arg] & mask == 0` (low 32 bits).
    IfNoBit(u8, u32),
}

/// Which modes need the call to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Confining writes.
    Writes,
    /// Denying the network.
    Network,
    /// Keeping the process tree traced (clone with `CLONE_UNTRACED`, clone3).
    Tree,
    /// Only the operation log (reads, stats, execs).
    Trace,
    /// Only fakeroot mode.
    Fakeroot,
}

/// What a call is, in the operation log (`docs/trace-format.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ev {
    /// Not logged.
    None,
    /// Data or metadata written (or, for an open without write intent, a read).
    Write,
    /// A name created.
    Create,
    /// A name removed.
    Remove,
    /// A name renamed (two paths).
    Rename,
    /// A hard link made (two paths).
    Link,
    /// A file opened for reading.
    Read,
    /// Metadata or existence checked.
    Stat,
    /// A program executed.
    Exec,
    /// A network attempt.
    Net,
}

impl Ev {
    /// The `event` field of the log.
    pub fn name(self) -> &'static str {
        match self {
            Ev::None => "none",
            Ev::Write => "write",
            Ev::Create => "create",
            Ev::Remove => "remove",
            Ev::Rename => "rename",
            Ev::Link => "link",
            Ev::Read => "read",
            Ev::Stat => "stat",
            Ev::Exec => "exec",
            Ev::Net => "net",
        }
    }
}

/// Whether the last component of a path operand is followed if it is a symlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// Always followed.
    Always,
    /// Never followed (the call acts on the link itself).
    Never,
    /// Followed unless `args[arg] & flag != 0` (`AT_SYMLINK_NOFOLLOW`).
    UnlessFlag(u8, u64),
    /// Followed only if `args[arg] & flag != 0` (`AT_SYMLINK_FOLLOW`).
    IfFlag(u8, u64),
    /// Open flags: followed unless `O_NOFOLLOW` or `O_CREAT|O_EXCL`.
    OpenFlags,
}

/// What the call requires of its target, so that a call the kernel would
/// fail anyway gets the kernel's errno and no violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Exist {
    /// It may or may not exist.
    #[default]
    Any,
    /// It must exist, else `ENOENT`.
    Must,
    /// It must not exist, else `EEXIST`.
    MustNot,
    /// Derived from open flags: `O_CREAT|O_EXCL` → must not,
    /// `O_CREAT` → any, otherwise must.
    OpenFlags,
}

/// One path operand of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathArg {
    /// Argument holding the directory fd (`*at` calls) or the fd itself
    /// (`fchmod`); `None` means `AT_FDCWD`.
    pub dirfd: Option<u8>,
    /// Argument holding the path pointer; `None` means the fd itself.
    pub path: Option<u8>,
    /// Whether the last symlink is followed.
    pub follow: Follow,
    /// Argument and flag that make an empty path mean the fd (`AT_EMPTY_PATH`).
    pub empty_path: Option<(u8, u64)>,
    /// Whether a NULL path means the fd (`utimensat`, `futimesat`).
    pub null_is_fd: bool,
    /// What the call requires of the target.
    pub exist: Exist,
}

/// How a trapped call is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Writes to its path operands.
    Write,
    /// An open whose write intent comes from the flags in argument `n`.
    Open(u8),
    /// `openat2`: flags in a `struct open_how` (pointer, size arguments).
    OpenHow(u8, u8),
    /// Cannot be checked: denied with a violation while writes are confined.
    DenyWrite,
    /// `socket(family, ...)`.
    Socket,
    /// A call with a destination address (pointer, length arguments).
    SockAddr(u8, u8),
    /// `sendmsg`: the destination is in a `struct msghdr`.
    SendMsg,
    /// `sendmmsg`: an array of `struct mmsghdr` (pointer, count).
    SendMmsg,
    /// `bind`: a unix socket path creates a file.
    Bind,
    /// `ptrace`: attaching to another process is denied.
    Ptrace,
    /// Writing another process's memory is denied.
    DenyAlways,
    /// `clone`: `CLONE_UNTRACED` is cleared.
    Clone,
    /// `clone3`: flags in memory; `CLONE_UNTRACED` makes it fail with `ENOSYS`.
    Clone3,
    /// Reads its path operands (logged only).
    Look,
    /// `mount`: the target is written; the source too for a bind or move.
    Mount,
    /// `unshare`/`setns` into a new mount namespace: denied.
    NewNs,
    /// `execve`/`execveat`: the argv pointer is argument `n` (logged only).
    Exec(u8),
}

/// How an argument prints in the strace-like form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fmt {
    /// A file descriptor (`AT_FDCWD` by name).
    Fd,
    /// A NUL-terminated path.
    Path,
    /// Open flags (`O_WRONLY|O_CREAT`).
    OpenFlags,
    /// An octal mode.
    Mode,
    /// `AT_*` flags.
    AtFlags,
    /// A signed integer.
    Int,
    /// Anything else: hexadecimal.
    Hex,
}

/// One row: everything catbox knows about a call it may stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyscallDesc {
    /// The call's name, as in the violation records (`openat`).
    pub name: &'static str,
    /// Which mode needs the stop.
    pub need: Need,
    /// When the filter stops it.
    pub trap: Trap,
    /// How it is judged.
    pub kind: Kind,
    /// Its path operands, in argument order.
    pub paths: &'static [PathArg],
    /// How each argument prints.
    pub fmt: &'static [Fmt],
    /// What it is in the operation log.
    pub ev: Ev,
    /// What it is in fakeroot mode.
    pub fake: Fake,
}

/// What a call is in fakeroot mode (SPEC §1 job 2). Every row whose value
/// is not `None` stops while fakeroot is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fake {
    /// Nothing to fake.
    None,
    /// `getuid` and friends, `setuid` and friends: return 0, no effect.
    /// The filter answers these itself (`SECCOMP_RET_ERRNO` 0): no stop.
    Zero,
    /// `getresuid`/`getresgid`: write 0 to the three pointed-to ids.
    ZeroRes,
    /// A stat call: patch the `struct stat` at argument `n` on success.
    Stat(u8),
    /// `statx`: patch the `struct statx` at argument `n` on success.
    Statx(u8),
    /// A chown: record (uid argument, gid argument), do not perform.
    Chown(u8, u8),
    /// A chmod: performed, and the full mode (argument `n`) recorded.
    Chmod(u8),
    /// `mknod`: a device becomes an empty file; (mode, dev) arguments.
    Mknod(u8, u8),
    /// `unlink`/`rmdir`: the record goes with the last link.
    Forget,
    /// A rename: the record follows the file; a replaced file is forgotten.
    Rename,
    /// A hard link: the record gains a name.
    Link,
}

const fn p(dirfd: Option<u8>, path: Option<u8>, follow: Follow, exist: Exist) -> PathArg {
    PathArg {
        dirfd,
        path,
        follow,
        empty_path: None,
        null_is_fd: false,
        exist,
    }
}

const fn with_empty(mut a: PathArg, arg: u8, flag: u64) -> PathArg {
    a.empty_path = Some((arg, flag));
    a
}

const fn with_null(mut a: PathArg) -> PathArg {
    a.null_is_fd = true;
    a
}

const fn row(
    name: &'static str,
    trap: Trap,
    kind: Kind,
    paths: &'static [PathArg],
    fmt: &'static [Fmt],
) -> SyscallDesc {
    SyscallDesc {
        name,
        need: Need::Writes,
        trap,
        kind,
        paths,
        fmt,
        ev: Ev::Write,
        fake: Fake::None,
    }
}

/// The same row with another log event.
const fn ev(mut d: SyscallDesc, ev: Ev) -> SyscallDesc {
    d.ev = ev;
    d
}

/// The same row with a fakeroot role.
const fn fk(mut d: SyscallDesc, fake: Fake) -> SyscallDesc {
    d.fake = fake;
    d
}

/// A row stopped only in fakeroot mode.
const fn fake_only(
    name: &'static str,
    fake: Fake,
    paths: &'static [PathArg],
    fmt: &'static [Fmt],
) -> SyscallDesc {
    SyscallDesc {
        name,
        need: Need::Fakeroot,
        trap: Trap::Always,
        kind: Kind::Look,
        paths,
        fmt,
        ev: Ev::None,
        fake,
    }
}

/// A row stopped only for the operation log.
const fn look(
    name: &'static str,
    kind: Kind,
    ev: Ev,
    paths: &'static [PathArg],
    fmt: &'static [Fmt],
) -> SyscallDesc {
    SyscallDesc {
        name,
        need: Need::Trace,
        trap: Trap::Always,
        kind,
        paths,
        fmt,
        ev,
        fake: Fake::None,
    }
}

/// The same row, not stopped when `AT_EMPTY_PATH` is in argument `flags`.
const fn no_empty(mut d: SyscallDesc, flags: u8) -> SyscallDesc {
    d.trap = Trap::IfNoBit(flags, AT_EMPTY_PATH as u32);
    d
}

const fn tree(name: &'static str, trap: Trap, kind: Kind, fmt: &'static [Fmt]) -> SyscallDesc {
    SyscallDesc {
        name,
        need: Need::Tree,
        trap,
        kind,
        paths: &[],
        fmt,
        ev: Ev::None,
        fake: Fake::None,
    }
}

const fn net(name: &'static str, trap: Trap, kind: Kind, fmt: &'static [Fmt]) -> SyscallDesc {
    SyscallDesc {
        name,
        need: Need::Network,
        trap,
        kind,
        paths: &[],
        fmt,
        ev: Ev::Net,
        fake: Fake::None,
    }
}

use Exist::{Any, Must, MustNot};
use Fmt::{AtFlags, Fd, Hex, Int, Mode, OpenFlags as OFl, Path};
use Follow::{Always, Never};
use Trap::Always as T;

const W: Kind = Kind::Write;
const AT: Option<u8> = None;
const NOFOLLOW: u64 = AT_SYMLINK_NOFOLLOW;

/// Every call catbox may stop.
#[rustfmt::skip]
pub static TABLE: &[SyscallDesc] = &[
    // --- opens: stop only with write intent ---
    row(
        "open",
        Trap::IfAnyBit(1, O_WRITE_MASK),
        Kind::Open(1),
        &[p(AT, Some(0), Follow::OpenFlags, Exist::OpenFlags)],
        &[Path, OFl, Mode],
    ),
    row(
        "openat",
        Trap::IfAnyBit(2, O_WRITE_MASK),
        Kind::Open(2),
        &[p(Some(0), Some(1), Follow::OpenFlags, Exist::OpenFlags)],
        &[Fd, Path, OFl, Mode],
    ),
    row("creat", T, W, &[p(AT, Some(0), Always, Any)], &[Path, Mode]),
    row(
        "openat2",
        T,
        Kind::OpenHow(2, 3),
        &[p(Some(0), Some(1), Follow::OpenFlags, Exist::OpenFlags)],
        &[Fd, Path, Hex, Int],
    ),
    row(
        "open_by_handle_at",
        Trap::IfAnyBit(2, O_WRITE_MASK),
        Kind::DenyWrite,
        &[p(Some(0), None, Always, Any)],
        &[Fd, Hex, OFl],
    ),
    row(
        "name_to_handle_at",
        T,
        W,
        &[with_empty(
            p(Some(0), Some(1), Follow::IfFlag(4, AT_SYMLINK_FOLLOW), Any),
            4,
            AT_EMPTY_PATH,
        )],
        &[Fd, Path, Hex, Hex, AtFlags],
    ),
    // --- names ---
    row(
        "truncate",
        T,
        W,
        &[p(AT, Some(0), Always, Must)],
        &[Path, Int],
    ),
    ev(row(
        "mkdir",
        T,
        W,
        &[p(AT, Some(0), Never, MustNot)],
        &[Path, Mode],
    ), Ev::Create),
    ev(row(
        "mkdirat",
        T,
        W,
        &[p(Some(0), Some(1), Never, MustNot)],
        &[Fd, Path, Mode],
    ), Ev::Create),
    fk(ev(row("rmdir", T, W, &[p(AT, Some(0), Never, Must)], &[Path]), Ev::Remove), Fake::Forget),
    fk(ev(row("unlink", T, W, &[p(AT, Some(0), Never, Must)], &[Path]), Ev::Remove), Fake::Forget),
    fk(ev(row(
        "unlinkat",
        T,
        W,
        &[p(Some(0), Some(1), Never, Must)],
        &[Fd, Path, AtFlags],
    ), Ev::Remove), Fake::Forget),
    fk(ev(row(
        "rename",
        T,
        W,
        &[p(AT, Some(0), Never, Must), p(AT, Some(1), Never, Any)],
        &[Path, Path],
    ), Ev::Rename), Fake::Rename),
    fk(ev(row(
        "renameat",
        T,
        W,
        &[
            p(Some(0), Some(1), Never, Must),
            p(Some(2), Some(3), Never, Any),
        ],
        &[Fd, Path, Fd, Path],
    ), Ev::Rename), Fake::Rename),
    fk(ev(row(
        "renameat2",
        T,
        W,
        &[
            p(Some(0), Some(1), Never, Must),
            p(Some(2), Some(3), Never, Any),
        ],
        &[Fd, Path, Fd, Path, Hex],
    ), Ev::Rename), Fake::Rename),
    fk(ev(row(
        "link",
        T,
        W,
        &[p(AT, Some(0), Never, Must), p(AT, Some(1), Never, MustNot)],
        &[Path, Path],
    ), Ev::Link), Fake::Link),
    fk(ev(row(
        "linkat",
        T,
        W,
        &[
            with_empty(
                p(Some(0), Some(1), Follow::IfFlag(4, AT_SYMLINK_FOLLOW), Must),
                4,
                AT_EMPTY_PATH,
            ),
            p(Some(2), Some(3), Never, MustNot),
        ],
        &[Fd, Path, Fd, Path, AtFlags],
    ), Ev::Link), Fake::Link),
    ev(row(
        "symlink",
        T,
        W,
        &[p(AT, Some(1), Never, MustNot)],
        &[Path, Path],
    ), Ev::Create),
    ev(row(
        "symlinkat",
        T,
        W,
        &[p(Some(1), Some(2), Never, MustNot)],
        &[Path, Fd, Path],
    ), Ev::Create),
    fk(ev(row(
        "mknod",
        T,
        W,
        &[p(AT, Some(0), Never, MustNot)],
        &[Path, Mode, Hex],
    ), Ev::Create), Fake::Mknod(1, 2)),
    fk(ev(row(
        "mknodat",
        T,
        W,
        &[p(Some(0), Some(1), Never, MustNot)],
        &[Fd, Path, Mode, Hex],
    ), Ev::Create), Fake::Mknod(2, 3)),
    // --- metadata ---
    fk(row(
        "chmod",
        T,
        W,
        &[p(AT, Some(0), Always, Must)],
        &[Path, Mode],
    ), Fake::Chmod(1)),
    fk(row(
        "fchmod",
        T,
        W,
        &[p(Some(0), None, Always, Must)],
        &[Fd, Mode],
    ), Fake::Chmod(1)),
    fk(row(
        "fchmodat",
        T,
        W,
        &[p(Some(0), Some(1), Always, Must)],
        &[Fd, Path, Mode],
    ), Fake::Chmod(2)),
    fk(row(
        "fchmodat2",
        T,
        W,
        &[with_empty(
            p(Some(0), Some(1), Follow::UnlessFlag(3, NOFOLLOW), Must),
            3,
            AT_EMPTY_PATH,
        )],
        &[Fd, Path, Mode, AtFlags],
    ), Fake::Chmod(2)),
    fk(row(
        "chown",
        T,
        W,
        &[p(AT, Some(0), Always, Must)],
        &[Path, Int, Int],
    ), Fake::Chown(1, 2)),
    fk(row(
        "lchown",
        T,
        W,
        &[p(AT, Some(0), Never, Must)],
        &[Path, Int, Int],
    ), Fake::Chown(1, 2)),
    fk(row(
        "fchown",
        T,
        W,
        &[p(Some(0), None, Always, Must)],
        &[Fd, Int, Int],
    ), Fake::Chown(1, 2)),
    fk(row(
        "fchownat",
        T,
        W,
        &[with_empty(
            p(Some(0), Some(1), Follow::UnlessFlag(4, NOFOLLOW), Must),
            4,
            AT_EMPTY_PATH,
        )],
        &[Fd, Path, Int, Int, AtFlags],
    ), Fake::Chown(2, 3)),
    row("utime", T, W, &[p(AT, Some(0), Always, Must)], &[Path, Hex]),
    row(
        "utimes",
        T,
        W,
        &[p(AT, Some(0), Always, Must)],
        &[Path, Hex],
    ),
    row(
        "futimesat",
        T,
        W,
        &[with_null(p(Some(0), Some(1), Always, Must))],
        &[Fd, Path, Hex],
    ),
    row(
        "utimensat",
        T,
        W,
        &[with_null(with_empty(
            p(Some(0), Some(1), Follow::UnlessFlag(3, NOFOLLOW), Must),
            3,
            AT_EMPTY_PATH,
        ))],
        &[Fd, Path, Hex, AtFlags],
    ),
    row(
        "setxattr",
        T,
        W,
        &[p(AT, Some(0), Always, Must)],
        &[Path, Path, Hex, Int, Hex],
    ),
    row(
        "lsetxattr",
        T,
        W,
        &[p(AT, Some(0), Never, Must)],
        &[Path, Path, Hex, Int, Hex],
    ),
    row(
        "fsetxattr",
        T,
        W,
        &[p(Some(0), None, Always, Must)],
        &[Fd, Path, Hex, Int, Hex],
    ),
    row(
        "removexattr",
        T,
        W,
        &[p(AT, Some(0), Always, Must)],
        &[Path, Path],
    ),
    row(
        "lremovexattr",
        T,
        W,
        &[p(AT, Some(0), Never, Must)],
        &[Path, Path],
    ),
    row(
        "fremovexattr",
        T,
        W,
        &[p(Some(0), None, Always, Must)],
        &[Fd, Path],
    ),
    row(
        "setxattrat",
        T,
        W,
        &[with_empty(
            p(Some(0), Some(1), Follow::UnlessFlag(2, NOFOLLOW), Must),
            2,
            AT_EMPTY_PATH,
        )],
        &[Fd, Path, AtFlags, Path, Hex, Int],
    ),
    row(
        "removexattrat",
        T,
        W,
        &[with_empty(
            p(Some(0), Some(1), Follow::UnlessFlag(2, NOFOLLOW), Must),
            2,
            AT_EMPTY_PATH,
        )],
        &[Fd, Path, AtFlags, Path],
    ),
    row(
        "file_setattr",
        T,
        W,
        &[with_empty(
            p(Some(0), Some(1), Follow::UnlessFlag(4, NOFOLLOW), Must),
            4,
            AT_EMPTY_PATH,
        )],
        &[Fd, Path, Hex, Int, AtFlags],
    ),
    // --- mounts and roots ---
    // the source of a bind or move mount is checked too (Kind::Mount)
    row(
        "mount",
        T,
        Kind::Mount,
        &[p(AT, Some(1), Always, Any), p(AT, Some(0), Always, Any)],
        &[Path, Path, Path, Hex, Hex],
    ),
    row(
        "umount2",
        T,
        W,
        &[p(AT, Some(0), Follow::UnlessFlag(1, UMOUNT_NOFOLLOW), Any)],
        &[Path, Hex],
    ),
    row(
        "pivot_root",
        T,
        W,
        &[p(AT, Some(0), Always, Any), p(AT, Some(1), Always, Any)],
        &[Path, Path],
    ),
    row("chroot", T, W, &[p(AT, Some(0), Always, Any)], &[Path]),
    // both ends: the mount moved (an open_tree clone of an outside tree
    // is outside) and where it goes
    row(
        "move_mount",
        T,
        W,
        &[
            with_empty(p(Some(2), Some(3), Always, Any), 4, MOVE_MOUNT_T_EMPTY_PATH),
            with_empty(p(Some(0), Some(1), Always, Any), 4, MOVE_MOUNT_F_EMPTY_PATH),
        ],
        &[Fd, Path, Fd, Path, Hex],
    ),
    row(
        "mount_setattr",
        T,
        W,
        &[p(Some(0), Some(1), Always, Any)],
        &[Fd, Path, Hex, Hex, Int],
    ),
    row("io_uring_setup", T, Kind::DenyWrite, &[], &[Int, Hex]),
    ev(row("bind", T, Kind::Bind, &[], &[Fd, Hex, Int]), Ev::Net),
    // --- network ---
    net(
        "socket",
        Trap::IfNotEqual(0, AF_UNIX),
        Kind::Socket,
        &[Int, Int, Int],
    ),
    net("connect", T, Kind::SockAddr(1, 2), &[Fd, Hex, Int]),
    net(
        "sendto",
        Trap::IfNotEqual(4, 0),
        Kind::SockAddr(4, 5),
        &[Fd, Hex, Int, Hex, Hex, Int],
    ),
    net("sendmsg", T, Kind::SendMsg, &[Fd, Hex, Hex]),
    net("sendmmsg", T, Kind::SendMmsg, &[Fd, Hex, Int, Hex]),
    // --- the process tree ---
    tree("ptrace", T, Kind::Ptrace, &[Int, Int, Hex, Hex]),
    tree("process_vm_writev", T, Kind::DenyAlways, &[Int, Hex, Int, Hex, Int, Hex]),
    tree("clone", Trap::IfAnyBit(0, (CLONE_UNTRACED | CLONE_NEWNS) as u32), Kind::Clone, &[Hex, Hex, Hex, Hex, Hex]),
    // a new mount namespace would let a bind mount put an outside tree at
    // an inside path, where the tracer's view no longer matches the tracee's
    tree("unshare", Trap::IfAnyBit(0, CLONE_NEWNS as u32), Kind::NewNs, &[Hex]),
    tree("setns", T, Kind::NewNs, &[Fd, Hex]),
    tree("clone3", T, Kind::Clone3, &[Hex, Int]),
    // --- fakeroot only ---
    fake_only("fstat", Fake::Stat(1), &[p(Some(0), None, Always, Any)], &[Fd, Hex]),
    fake_only("getuid", Fake::Zero, &[], &[]),
    fake_only("geteuid", Fake::Zero, &[], &[]),
    fake_only("getgid", Fake::Zero, &[], &[]),
    fake_only("getegid", Fake::Zero, &[], &[]),
    fake_only("getresuid", Fake::ZeroRes, &[], &[Hex, Hex, Hex]),
    fake_only("getresgid", Fake::ZeroRes, &[], &[Hex, Hex, Hex]),
    fake_only("setuid", Fake::Zero, &[], &[Int]),
    fake_only("setgid", Fake::Zero, &[], &[Int]),
    fake_only("setreuid", Fake::Zero, &[], &[Int, Int]),
    fake_only("setregid", Fake::Zero, &[], &[Int, Int]),
    fake_only("setresuid", Fake::Zero, &[], &[Int, Int, Int]),
    fake_only("setresgid", Fake::Zero, &[], &[Int, Int, Int]),
    fake_only("setfsuid", Fake::Zero, &[], &[Int]),
    fake_only("setfsgid", Fake::Zero, &[], &[Int]),
    fake_only("setgroups", Fake::Zero, &[], &[Int, Hex]),
    // --- the operation log only ---
    fk(look("stat", Kind::Look, Ev::Stat, &[p(AT, Some(0), Always, Any)], &[Path, Hex]), Fake::Stat(1)),
    fk(look("lstat", Kind::Look, Ev::Stat, &[p(AT, Some(0), Never, Any)], &[Path, Hex]), Fake::Stat(1)),
    // fstat() is newfstatat(fd, "", AT_EMPTY_PATH): it names no path, so it does not stop.
    // readlink is not logged: realpath() calls it on every component.
    fk(no_empty(look("newfstatat", Kind::Look, Ev::Stat,
        &[with_empty(p(Some(0), Some(1), Follow::UnlessFlag(3, NOFOLLOW), Any), 3, AT_EMPTY_PATH)],
        &[Fd, Path, Hex, AtFlags]), 3), Fake::Stat(2)),
    fk(no_empty(look("statx", Kind::Look, Ev::Stat,
        &[with_empty(p(Some(0), Some(1), Follow::UnlessFlag(2, NOFOLLOW), Any), 2, AT_EMPTY_PATH)],
        &[Fd, Path, AtFlags, Hex, Hex]), 2), Fake::Statx(4)),
    look("access", Kind::Look, Ev::Stat, &[p(AT, Some(0), Always, Any)], &[Path, Int]),
    look("faccessat", Kind::Look, Ev::Stat, &[p(Some(0), Some(1), Always, Any)], &[Fd, Path, Int]),
    look("faccessat2", Kind::Look, Ev::Stat,
        &[with_empty(p(Some(0), Some(1), Follow::UnlessFlag(3, NOFOLLOW), Any), 3, AT_EMPTY_PATH)],
        &[Fd, Path, Int, AtFlags]),
    look("execve", Kind::Exec(1), Ev::Exec, &[p(AT, Some(0), Always, Any)], &[Path, Hex, Hex]),
    look("execveat", Kind::Exec(2), Ev::Exec,
        &[with_empty(p(Some(0), Some(1), Follow::UnlessFlag(4, NOFOLLOW), Any), 4, AT_EMPTY_PATH)],
        &[Fd, Path, Hex, Hex, AtFlags]),
];
