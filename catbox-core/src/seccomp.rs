//! The seccomp BPF filter that decides which calls stop.
//!
//! Built from the decoder table for the active modes: a call stops
//! (`SECCOMP_RET_TRACE`) only if a mode needs it, and only with the argument
//! values that matter (an `open` without write flags never stops). Other
//! architectures' calls (`int 0x80`) and x32 numbers kill the process; numbers
//! newer than the table stop and fail with `ENOSYS`. In fakeroot mode the
//! id calls (`getuid`, `setuid`, ...) return 0 from the filter itself.

use crate::arch;
use crate::decode::table::{Fake, Kind, Need, Trap, TABLE};

/// `SECCOMP_RET_KILL_PROCESS`.
const RET_KILL_PROCESS: u32 = 0x8000_0000;
/// `SECCOMP_RET_TRACE`.
const RET_TRACE: u32 = 0x7ff0_0000;
/// `SECCOMP_RET_ALLOW`.
const RET_ALLOW: u32 = 0x7fff_0000;
/// `SECCOMP_RET_ERRNO` with errno 0: the call is skipped and returns 0,
/// without a stop (fakeroot's getuid and setuid families).
const RET_ZERO: u32 = 0x0005_0000;

const LD_W_ABS: u16 = 0x20;
const JEQ_K: u16 = 0x15;
const JGT_K: u16 = 0x25;
const JGE_K: u16 = 0x35;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;
const JA: u16 = 0x05;

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

/// A binary search over the sorted call numbers (the accumulator holds the
/// number), so an uninteresting call runs a handful of comparisons, not one
/// per table row. Each leaf is a short chain of equality tests ending in
/// `RET_ALLOW`.
fn tree(entries: &[(u32, Vec<libc::sock_filter>)]) -> Vec<libc::sock_filter> {
    if entries.len() <= 3 {
        let mut out = Vec::new();
        for (nr, body) in entries {
            out.push(jump(JEQ_K, *nr, 0, body.len() as u8));
            out.extend_from_slice(body);
        }
        out.push(stmt(RET_K, RET_ALLOW));
        return out;
    }
    let half = entries.len() / 2;
    let left = tree(&entries[..half]);
    let right = tree(&entries[half..]);
    let mut out = vec![
        jump(JGE_K, entries[half].0, 0, 1),
        stmt(JA, left.len() as u32),
    ];
    out.extend(left);
    out.extend(right);
    out
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
    /// The operation log is on: reads, stats, execs and network calls stop too.
    pub trace: bool,
    /// Fakeroot mode: ownership, id and stat calls stop too.
    pub fakeroot: bool,
}

impl Modes {
    /// Whether the filter stops this row at all, and with which test.
    fn trap(&self, desc: &crate::decode::SyscallDesc) -> Option<Trap> {
        if self.fakeroot && desc.fake != Fake::None {
            return Some(Trap::Always);
        }
        let wanted = match desc.need {
            Need::Writes => self.writes,
            Need::Network => self.network_denied || self.trace,
            Need::Tree => true,
            Need::Trace => self.trace,
            Need::Fakeroot => self.fakeroot,
        };
        if !wanted {
            return None;
        }
        let always = (desc.name == "socket" && self.strict_network)
            || (self.trace && matches!(desc.kind, Kind::Open(_) | Kind::OpenHow(..)));
        Some(if always { Trap::Always } else { desc.trap })
    }
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
        let mut entries: Vec<(u32, Vec<libc::sock_filter>)> = Vec::new();
        for desc in TABLE {
            let (Some(nr), Some(trap)) = (arch::syscall_number(desc.name), modes.trap(desc)) else {
                continue;
            };
            let body = match trap {
                // Answered by the kernel itself: no stop, no tracer.
                Trap::Always if modes.fakeroot && desc.fake == Fake::Zero => {
                    vec![stmt(RET_K, RET_ZERO)]
                }
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
                Trap::IfNoBit(arg, mask) => vec![
                    stmt(LD_W_ABS, off_arg_lo(arg)),
                    jump(JSET_K, mask, 1, 0),
                    stmt(RET_K, RET_TRACE),
                    stmt(RET_K, RET_ALLOW),
                ],
            };
            entries.push((nr, body));
        }
        entries.sort_by_key(|e| e.0);
        prog.extend(tree(&entries));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A classic-BPF interpreter for the instructions the builder emits.
    fn run(prog: &[libc::sock_filter], nr: u32, arch: u32, args: [u64; 6]) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_ne_bytes());
        data[4..8].copy_from_slice(&arch.to_ne_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
        }
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let ins = prog[pc];
            pc += 1;
            match ins.code {
                LD_W_ABS => {
                    let k = ins.k as usize;
                    acc = u32::from_ne_bytes(data[k..k + 4].try_into().unwrap());
                }
                JA => pc += ins.k as usize,
                RET_K => return ins.k,
                code => {
                    let taken = match code {
                        JEQ_K => acc == ins.k,
                        JGT_K => acc > ins.k,
                        JGE_K => acc >= ins.k,
                        JSET_K => acc & ins.k != 0,
                        _ => panic!("unknown opcode {code:#x}"),
                    };
                    pc += if taken { ins.jt } else { ins.jf } as usize;
                }
            }
        }
    }

    /// What the filter must answer, straight from the table.
    fn expected(nr: u32, args: [u64; 6], modes: Modes) -> u32 {
        if nr >= arch::X32_SYSCALL_BIT {
            return RET_KILL_PROCESS;
        }
        if nr > arch::MAX_SYSCALL {
            return RET_TRACE;
        }
        for d in TABLE {
            if arch::syscall_number(d.name) != Some(nr) {
                continue;
            }
            if modes.fakeroot && d.fake == Fake::Zero {
                return RET_ZERO;
            }
            if modes.fakeroot && d.fake != Fake::None {
                return RET_TRACE;
            }
            let wanted = match d.need {
                Need::Writes => modes.writes,
                Need::Network => modes.network_denied || modes.trace,
                Need::Tree => true,
                Need::Trace => modes.trace,
                Need::Fakeroot => modes.fakeroot,
            };
            if !wanted {
                return RET_ALLOW;
            }
            let open = matches!(d.kind, Kind::Open(_) | Kind::OpenHow(..));
            let trap = match d.trap {
                _ if d.name == "socket" && modes.strict_network => true,
                _ if modes.trace && open => true,
                Trap::Always => true,
                Trap::IfAnyBit(a, m) => args[a as usize] as u32 & m != 0,
                Trap::IfNotEqual(a, v) => args[a as usize] as u32 != v,
                Trap::IfNoBit(a, m) => args[a as usize] as u32 & m == 0,
            };
            return if trap { RET_TRACE } else { RET_ALLOW };
        }
        RET_ALLOW
    }

    #[test]
    fn filter_agrees_with_table_for_every_number() {
        for modes in [
            Modes {
                writes: true,
                network_denied: true,
                strict_network: false,
                trace: false,
                fakeroot: false,
            },
            Modes {
                writes: true,
                network_denied: false,
                strict_network: false,
                trace: false,
                fakeroot: false,
            },
            Modes {
                writes: true,
                network_denied: true,
                strict_network: true,
                trace: false,
                fakeroot: false,
            },
            Modes {
                writes: true,
                network_denied: false,
                strict_network: false,
                trace: true,
                fakeroot: false,
            },
            Modes {
                writes: true,
                network_denied: true,
                strict_network: false,
                trace: true,
                fakeroot: true,
            },
        ] {
            let f = Filter::build(modes);
            assert!(f.prog.len() < 400);
            for nr in (0..arch::MAX_SYSCALL + 20).chain([arch::X32_SYSCALL_BIT | 2]) {
                for args in [
                    [0u64; 6],
                    [1, 0o1, 0o101, 0, 5, 0],
                    [2, 0o100, 0o1000, 0x100, 0, 0],
                    [3, 0, 0x1000, 0x1000, 0, 0],
                    [0x0080_0000, 1, 0, 0, 0, 0],
                    [10, 2, 0, 0, 0x1234, 16],
                ] {
                    assert_eq!(
                        run(&f.prog, nr, arch::AUDIT_ARCH, args),
                        expected(nr, args, modes),
                        "nr {nr} args {args:?} modes {modes:?}"
                    );
                }
            }
            assert_eq!(
                run(&f.prog, 5, 0x4000_0003, [0; 6]),
                RET_KILL_PROCESS,
                "i386 arch"
            );
        }
    }
}
