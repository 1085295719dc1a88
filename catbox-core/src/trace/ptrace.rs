//! Thin wrappers over the ptrace, wait and memory-reading system calls,
//! and the few file calls with which fakeroot answers a tracee's stat.
//!
//! This is one of the two modules with `unsafe` code (with `seccomp.rs`):
//! each block is a single libc call whose pointers point into live Rust
//! values of the right size.

use std::io;

use crate::arch;

/// `PTRACE_GET_SYSCALL_INFO` (Linux 5.3).
const PTRACE_GET_SYSCALL_INFO: libc::c_uint = 0x420e;
/// `PTRACE_SYSCALL_INFO_EXIT`: `nr` holds the return value.
pub const INFO_EXIT: u8 = 2;
/// `PTRACE_SYSCALL_INFO_SECCOMP`.
pub const INFO_SECCOMP: u8 = 3;

/// `struct ptrace_syscall_info` for a seccomp stop (the entry layout is the same).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct SyscallInfo {
    /// `PTRACE_SYSCALL_INFO_*`.
    pub op: u8,
    _pad: [u8; 3],
    /// `AUDIT_ARCH_*` of the call.
    pub arch: u32,
    /// Instruction pointer.
    pub ip: u64,
    /// Stack pointer.
    pub sp: u64,
    /// The call number.
    pub nr: u64,
    /// The raw arguments.
    pub args: [u64; 6],
    /// `SECCOMP_RET_DATA`.
    pub ret_data: u32,
    _pad2: u32,
}

fn check(r: libc::c_long) -> io::Result<libc::c_long> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Attach to `pid` with `PTRACE_SEIZE` and these options.
pub fn seize(pid: i32, options: libc::c_int) -> io::Result<()> {
    // SAFETY: PTRACE_SEIZE takes no pointers; data carries the options.
    check(unsafe {
        libc::ptrace(
            libc::PTRACE_SEIZE,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            options as libc::c_long as *mut libc::c_void,
        )
    })
    .map(drop)
}

/// Resume a stopped tracee, delivering `sig` (0 for none).
pub fn cont(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: PTRACE_CONT takes no pointers; data carries the signal.
    check(unsafe {
        libc::ptrace(
            libc::PTRACE_CONT,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            sig as libc::c_long as *mut libc::c_void,
        )
    })
    .map(drop)
}

/// Resume a stopped tracee until the exit of its current call.
pub fn syscall(pid: i32) -> io::Result<()> {
    // SAFETY: PTRACE_SYSCALL takes no pointers.
    check(unsafe {
        libc::ptrace(
            libc::PTRACE_SYSCALL,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
        )
    })
    .map(drop)
}

/// Leave a group-stopped tracee stopped but let it be woken by `SIGCONT`.
pub fn listen(pid: i32) -> io::Result<()> {
    // SAFETY: PTRACE_LISTEN takes no pointers.
    check(unsafe {
        libc::ptrace(
            libc::PTRACE_LISTEN,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
        )
    })
    .map(drop)
}

/// `PTRACE_GETEVENTMSG`: the new pid of a fork event, the former tid of an exec.
pub fn event_msg(pid: i32) -> io::Result<u64> {
    let mut msg: libc::c_ulong = 0;
    // SAFETY: data points to a c_ulong the kernel writes.
    check(unsafe {
        libc::ptrace(
            libc::PTRACE_GETEVENTMSG,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            &mut msg as *mut libc::c_ulong as *mut libc::c_void,
        )
    })?;
    Ok(msg as u64)
}

/// The stopped call's number and arguments.
pub fn syscall_info(pid: i32, info: &mut SyscallInfo) -> io::Result<()> {
    // SAFETY: addr is the size of the buffer, data points to it; the kernel
    // writes at most that many bytes.
    check(unsafe {
        libc::ptrace(
            PTRACE_GET_SYSCALL_INFO,
            pid,
            std::mem::size_of::<SyscallInfo>() as *mut libc::c_void,
            info as *mut SyscallInfo as *mut libc::c_void,
        )
    })
    .map(drop)
}

/// Change the number of the call a tracee is stopped in (`PTRACE_POKEUSER`
/// of the number register).
pub fn set_nr(pid: i32, nr: u64) -> io::Result<()> {
    // SAFETY: PTRACE_POKEUSER takes no pointers: addr is an offset into
    // the kernel's `struct user`, data the value.
    check(unsafe {
        libc::ptrace(
            libc::PTRACE_POKEUSER,
            pid,
            arch::NR_USER_OFFSET as *mut libc::c_void,
            nr as *mut libc::c_void,
        )
    })
    .map(drop)
}

/// Read the tracee's registers.
pub fn get_regs(pid: i32) -> io::Result<arch::Regs> {
    // SAFETY: an all-zero register struct is valid; the kernel fills it.
    let mut regs: arch::Regs = unsafe { std::mem::zeroed() };
    // SAFETY: data points to a register struct of the kernel's layout.
    check(unsafe {
        libc::ptrace(
            libc::PTRACE_GETREGS,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            &mut regs as *mut arch::Regs as *mut libc::c_void,
        )
    })?;
    Ok(regs)
}

/// Write the tracee's registers.
pub fn set_regs(pid: i32, regs: &arch::Regs) -> io::Result<()> {
    // SAFETY: data points to a register struct of the kernel's layout.
    check(unsafe {
        libc::ptrace(
            libc::PTRACE_SETREGS,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            regs as *const arch::Regs as *mut libc::c_void,
        )
    })
    .map(drop)
}

const PAGE: u64 = 4096;

/// Read `buf.len()` bytes at `addr` of the tracee with `process_vm_readv`,
/// split at page boundaries so that a string ending just before an
/// unmapped page still reads. Returns how many bytes were read.
pub fn read_mem(pid: i32, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
    let mut remote = [libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }; 4];
    let mut n = 0;
    let mut a = addr;
    let mut left = buf.len() as u64;
    while left > 0 && n < remote.len() {
        let chunk = (PAGE - a % PAGE).min(left);
        remote[n] = libc::iovec {
            iov_base: a as *mut libc::c_void,
            iov_len: chunk as usize,
        };
        n += 1;
        a += chunk;
        left -= chunk;
    }
    let total = (a - addr) as usize;
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr() as *mut libc::c_void,
        iov_len: total,
    };
    // SAFETY: the local iovec covers `total` bytes of `buf`; the remote
    // iovecs only name tracee addresses, which the kernel checks.
    let r =
        unsafe { libc::process_vm_readv(pid, &local, 1, remote.as_ptr(), n as libc::c_ulong, 0) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// Write `buf` at `addr` of the tracee with `process_vm_writev` (fakeroot's
/// patched stat buffers and ids).
pub fn write_mem(pid: i32, addr: u64, buf: &[u8]) -> io::Result<usize> {
    let local = libc::iovec {
        iov_base: buf.as_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: the local iovec covers `buf`, which the kernel only reads;
    // the remote one names tracee memory, which the kernel checks.
    let r = unsafe { libc::process_vm_writev(pid, &local, 1, &remote, 1, 0) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// Read a NUL-terminated string at `addr` into `out` (without the NUL).
/// `ENAMETOOLONG` if there is no NUL within `max` bytes; `EFAULT` if the
/// memory cannot be read. Reads up to each page end straight into `out`'s
/// spare capacity (no zeroed bounce buffer: this runs on every path).
pub fn read_cstr(pid: i32, addr: u64, max: usize, out: &mut Vec<u8>) -> Result<(), i32> {
    out.clear();
    let mut a = addr;
    while out.len() <= max {
        let want = (PAGE - a % PAGE) as usize;
        out.reserve(want);
        let start = out.len();
        let local = libc::iovec {
            iov_base: out.spare_capacity_mut().as_mut_ptr() as *mut libc::c_void,
            iov_len: want,
        };
        let remote = libc::iovec {
            iov_base: a as *mut libc::c_void,
            iov_len: want,
        };
        // SAFETY: the local iovec covers `want` bytes of `out`'s spare
        // capacity (reserved above), which the kernel only writes; the
        // remote one names tracee memory within one page, which the
        // kernel checks.
        let r = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
        if r < 0 {
            return Err(match io::Error::last_os_error().raw_os_error() {
                Some(libc::ESRCH) => libc::ESRCH,
                _ => libc::EFAULT,
            });
        }
        let got = r as usize;
        if got == 0 {
            return Err(libc::EFAULT);
        }
        // SAFETY: process_vm_readv initialised `got` bytes after `start`.
        unsafe { out.set_len(start + got) };
        if let Some(i) = out[start..].iter().position(|&c| c == 0) {
            out.truncate(start + i);
            return if out.len() > max {
                Err(libc::ENAMETOOLONG)
            } else {
                Ok(())
            };
        }
        a += got as u64;
    }
    Err(libc::ENAMETOOLONG)
}

/// Wait for any traced child (`__WALL`). Returns (pid, raw status).
pub fn wait_any() -> io::Result<(i32, i32)> {
    let mut status = 0;
    // SAFETY: status points to a live c_int.
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::__WALL) };
    if pid < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok((pid, status))
    }
}

/// A NUL-terminated copy of `bytes` in `buf`, or `None` if it holds a NUL
/// or is longer than `PATH_MAX`.
fn c_path<'b>(buf: &'b mut Vec<u8>, bytes: &[u8]) -> Option<&'b [u8]> {
    if bytes.len() >= libc::PATH_MAX as usize || bytes.contains(&0) {
        return None;
    }
    buf.clear();
    buf.extend_from_slice(bytes);
    buf.push(0);
    Some(buf)
}

/// `openat2(dir, path, O_PATH | O_CLOEXEC [| O_NOFOLLOW],
/// RESOLVE_NO_MAGICLINKS)`: the file itself, reached without any magic
/// link (whose meaning depends on the process that walks it). `buf` is a
/// reused buffer for the NUL-terminated path. Returns the errno on failure.
pub fn open_no_magic(
    dir: libc::c_int,
    path: &[u8],
    follow: bool,
    buf: &mut Vec<u8>,
) -> Result<std::os::fd::OwnedFd, i32> {
    use std::os::fd::FromRawFd;
    #[repr(C)]
    struct OpenHow {
        flags: u64,
        mode: u64,
        resolve: u64,
    }
    const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
    let p = c_path(buf, path).ok_or(libc::ENAMETOOLONG)?;
    let mut flags = libc::O_PATH | libc::O_CLOEXEC;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    let how = OpenHow {
        flags: flags as u64,
        mode: 0,
        resolve: RESOLVE_NO_MAGICLINKS,
    };
    // SAFETY: `p` is NUL-terminated and `how` is a live `struct open_how`
    // of the size passed; openat2 returns a new fd or -1.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            p.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        return Err(errno());
    }
    // SAFETY: the fd was just returned by openat2 and nobody else owns it.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as libc::c_int) })
}

fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// `open(path, O_PATH | O_CLOEXEC)`, following magic links (the tracee's
/// `/proc/<tid>/cwd` or `/proc/<tid>/fd/N`). `path` must be NUL-terminated.
pub fn open_path(path: &[u8]) -> Result<std::os::fd::OwnedFd, i32> {
    use std::os::fd::FromRawFd;
    if path.last() != Some(&0) {
        return Err(libc::EINVAL);
    }
    // SAFETY: `path` is NUL-terminated; open returns a new fd or -1.
    let fd = unsafe {
        libc::open(
            path.as_ptr() as *const libc::c_char,
            libc::O_PATH | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(errno());
    }
    // SAFETY: the fd was just returned by open and nobody else owns it.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// `newfstatat(dir, path, buf, flags)` into a raw `struct stat` buffer:
/// the bytes the kernel would write into a tracee's buffer (the system
/// call itself, not libc's wrapper). `path` must be NUL-terminated.
pub fn stat_into(
    dir: libc::c_int,
    path: &[u8],
    flags: libc::c_int,
    out: &mut [u8; crate::fakeroot::STAT_SIZE],
) -> Result<(), i32> {
    if path.last() != Some(&0) {
        return Err(libc::EINVAL);
    }
    const _: () = assert!(std::mem::size_of::<libc::stat>() == crate::fakeroot::STAT_SIZE);
    // SAFETY: `out` has the size of `struct stat` (checked above at compile
    // time) and the kernel writes at most that; `path` is NUL-terminated.
    let r = unsafe {
        libc::syscall(
            libc::SYS_newfstatat,
            dir,
            path.as_ptr() as *const libc::c_char,
            out.as_mut_ptr(),
            flags,
        )
    };
    if r < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

/// `statx(dir, path, flags, mask, buf)` into a raw `struct statx` buffer.
/// `path` must be NUL-terminated.
pub fn statx_into(
    dir: libc::c_int,
    path: &[u8],
    flags: libc::c_int,
    mask: u32,
    out: &mut [u8; crate::fakeroot::STATX_SIZE],
) -> Result<(), i32> {
    if path.last() != Some(&0) {
        return Err(libc::EINVAL);
    }
    // SAFETY: `out` is 256 bytes, the size of `struct statx`, which is
    // all the kernel writes; `path` is NUL-terminated.
    let r = unsafe {
        libc::syscall(
            libc::SYS_statx,
            dir,
            path.as_ptr() as *const libc::c_char,
            flags,
            mask,
            out.as_mut_ptr(),
        )
    };
    if r < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}
