//! Flag values of the Linux system call interface used by the table and the
//! decoder (the same on every architecture Linux supports with these calls).

/// `AT_FDCWD`.
pub const AT_FDCWD: i32 = -100;
/// `AT_SYMLINK_NOFOLLOW`.
pub const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
/// `AT_REMOVEDIR`.
pub const AT_REMOVEDIR: u64 = 0x200;
/// `AT_SYMLINK_FOLLOW`.
pub const AT_SYMLINK_FOLLOW: u64 = 0x400;
/// `AT_EMPTY_PATH`.
pub const AT_EMPTY_PATH: u64 = 0x1000;
/// `UMOUNT_NOFOLLOW`.
pub const UMOUNT_NOFOLLOW: u64 = 8;
/// `O_WRONLY`.
pub const O_WRONLY: u64 = 0o1;
/// `O_RDWR`.
pub const O_RDWR: u64 = 0o2;
/// `O_CREAT`.
pub const O_CREAT: u64 = 0o100;
/// `O_EXCL`.
pub const O_EXCL: u64 = 0o200;
/// `O_TRUNC`.
pub const O_TRUNC: u64 = 0o1000;
/// `O_NOFOLLOW`.
pub const O_NOFOLLOW: u64 = 0o400000;
/// `__O_TMPFILE` (the bit that makes `O_TMPFILE` together with `O_DIRECTORY`).
pub const O_TMPFILE_BIT: u64 = 0o20000000;
/// Open flags that mean write intent.
pub const O_WRITE_MASK: u32 = (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_TMPFILE_BIT) as u32;
/// `AF_UNIX`.
pub const AF_UNIX: u32 = 1;
/// `CLONE_UNTRACED`.
pub const CLONE_UNTRACED: u64 = 0x0080_0000;
/// `PTRACE_ATTACH`.
pub const PTRACE_ATTACH: u64 = 16;
/// `PTRACE_SEIZE`.
pub const PTRACE_SEIZE: u64 = 0x4206;
/// `CLONE_NEWNS`.
pub const CLONE_NEWNS: u64 = 0x0002_0000;
/// `MS_BIND`.
pub const MS_BIND: u64 = 4096;
/// `MS_MOVE`.
pub const MS_MOVE: u64 = 8192;
/// `MOVE_MOUNT_F_EMPTY_PATH`.
pub const MOVE_MOUNT_F_EMPTY_PATH: u64 = 0x4;
/// `MOVE_MOUNT_T_EMPTY_PATH`.
pub const MOVE_MOUNT_T_EMPTY_PATH: u64 = 0x40;
