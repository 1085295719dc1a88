//! The seccomp BPF filter that decides which calls stop.
//!
//! Built from the decoder table for the active modes: a call stops
//! (`SECCOMP_RET_TRACE`) only if a mode needs it, and only with the argument
//! values that matter (an `open` without write flags never stops). Other
//! architectures' calls (`int 0x80`) and x32 numbers kill the process; numbers
//! newer than the table stop and fail with `ENOSYS`.

use crate::arch;
use crate::decode::table::{Need, Trap, TABLE};

/// `SECCOMP_RET_KILL_PROCESS`.
const RET_KILL_PROCESS: u32 = 0x8000_0000;
/// `SECCOMP_RET_TRACE`.
const RET_TRACE: u32 = 0x7ff0_0000;
/// `SECCOMP_RET_ALLOW`.
const RET_ALLOW: u32 = 0x7fff_0000;

const LD_W_ABS: u16 = 0x20;
const JEQ_K: u16 = 0x15;
const JGT_K: u16 = 0x25;
const JGE_K: u16 = 0x35;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;

const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
fn off_arg_lo(i: u8) -> u32 {
    16 + 8 * i as u32
}

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// Which modes the filter serves.
#[derive(Debug, Clone, Copy)]
pub struct Modes {
    /// Writes are confined (or collected).
    pub writes: bool,
    /// The network is denied.
    pub network_denied: bool,
    /// `AF_UNIX` sockets are denied too.
    pub strict_network: bool,
}

/// A compiled filter, ready to install in the child.
#[derive(Debug, Clone)]
pub struct Filter {
    prog: Vec<libc::sock_filter>,
}

impl Filter {
    /// Build the filter for `modes` from the decoder table.
    pub fn build(modes: Modes) -> Filter {
        let mut prog = vec![
            stmt(LD_W_ABS, OFF_ARCH),
            jump(JEQ_K, arch::AUDIT_ARCH, 1, 0),
            stmt(RET_K, RET_KILL_PROCESS),
            stmt(LD_W_ABS, OFF_NR),
            jump(JGE_K, arch::X32_SYSCALL_BIT, 0, 1),
            stmt(RET_K, RET_KILL_PROCESS),
            jump(JGT_K, arch::MAX_SYSCALL, 0, 1),
            stmt(RET_K, RET_TRACE),
        ];
        for desc in TABLE {
            let wanted = match desc.need {
                Need::Writes => modes.writes,
                Need::Network => modes.network_denied,
                Need::Tree => true,
            };
            if !wanted {
                continue;
            }
            let Some(nr) = arch::syscall_number(desc.name) else {
                continue;
            };
            let trap = if desc.name == "socket" && modes.strict_network {
                Trap::Always
            } else {
                desc.trap
            };
            let body: Vec<libc::sock_filter> = match trap {
                Trap::Always => vec![stmt(RET_K, RET_TRACE)],
                Trap::IfAnyBit(arg, mask) => vec![
                    stmt(LD_W_ABS, off_arg_lo(arg)),
                    jump(JSET_K, mask, 0, 1),
                    stmt(RET_K, RET_TRACE),
                    stmt(RET_K, RET_ALLOW),
                ],
                Trap::IfNotEqual(arg, value) => vec![
                    stmt(LD_W_ABS, off_arg_lo(arg)),
                    jump(JEQ_K, value, 1, 0),
                    stmt(RET_K, RET_TRACE),
                    stmt(RET_K, RET_ALLOW),
                ],
            };
            prog.push(jump(JEQ_K, nr, 0, body.len() as u8));
            prog.extend(body);
        }
        prog.push(stmt(RET_K, RET_ALLOW));
        Filter { prog }
    }

    /// Install the filter in the calling process, with `no_new_privs`.
    /// Async-signal-safe (two system calls), so it may run after `fork`.
    /// Returns the errno on failure.
    pub fn install(&self) -> Result<(), i32> {
        let fprog = libc::sock_fprog {
            len: self.prog.len() as u16,
            filter: self.prog.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(last_errno());
        }
        // SAFETY: fprog points to a valid program that outlives the call;
        // the kernel copies it.
        let r = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &fprog as *const libc::sock_fprog,
            )
        };
        if r != 0 {
            return Err(last_errno());
        }
        Ok(())
    }
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EINVAL)
}
