//! The tracer: follows the whole process tree, decodes each stopped call,
//! asks the policy, and applies its verdict.
//!
//! Calls stop only at seccomp stops (`PTRACE_EVENT_SECCOMP`); tracees are
//! resumed with `PTRACE_CONT`, so there are no syscall-entry or -exit stops,
//! except when the operation log needs the result of a call that ran: then
//! that one call is resumed with `PTRACE_SYSCALL` and its exit stop read. A
//! denied call is skipped at its seccomp stop by setting its number to -1
//! and its return register to the errno, which the kernel keeps.

mod fake;
pub(crate) mod log;
pub(crate) mod ptrace;

use std::collections::HashMap;
use std::path::PathBuf;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use crate::arch;
use crate::decode::consts::*;
use crate::decode::table::Ev;
use crate::decode::{self, format_sockaddr, Call, Exist, Follow, Kind, Operand, PathArg};
use crate::paths::{Request, Resolver};
use crate::policy::{Policy, Subject, Verdict};
use crate::report::{Report, Violation};
use crate::sandbox::Event;

const EVENT_FORK: i32 = 1;
const EVENT_VFORK: i32 = 2;
const EVENT_CLONE: i32 = 3;
const EVENT_EXEC: i32 = 4;
const EVENT_SECCOMP: i32 = 7;
const EVENT_STOP: i32 = 128;

/// The ptrace options every tracee gets.
pub(crate) const OPTIONS: libc::c_int = libc::PTRACE_O_TRACESECCOMP
    | libc::PTRACE_O_TRACEFORK
    | libc::PTRACE_O_TRACEVFORK
    | libc::PTRACE_O_TRACECLONE
    | libc::PTRACE_O_TRACEEXEC
    | libc::PTRACE_O_TRACESYSGOOD
    | libc::PTRACE_O_EXITKILL;

/// The hasher of the tid map: one multiply (Fibonacci hashing, so the top
/// bits that hashbrown's probing uses vary), not SipHash, which was ~200
/// instructions a stop. Tids are not attacker-chosen.
#[derive(Default)]
struct TidHasher(u64);

impl std::hash::Hasher for TidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_i32(&mut self, v: i32) {
        self.0 = (v as u32 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type TidMap<V> = HashMap<i32, V, std::hash::BuildHasherDefault<TidHasher>>;

#[derive(Debug, Default)]
struct Proc {
    /// Whether the tracee's first stop (the auto-attach `PTRACE_EVENT_STOP`)
    /// has been seen.
    started: bool,
    /// A log line waiting for the result of the call at its exit stop.
    pending: Vec<u8>,
    /// Whether `pending` holds a line.
    has_pending: bool,
    /// Fakeroot work left for the exit stop of the current call.
    fake_op: Option<fake::FakeOp>,
}

/// A violation callback.
pub(crate) type ViolationHook = Box<dyn FnMut(&Violation) + Send>;
/// An event callback.
pub(crate) type EventHook = Box<dyn FnMut(Event) + Send>;

/// What the tracer borrows from the sandbox for one run, handed back after.
pub(crate) struct Hooks {
    pub policy: Box<dyn Policy>,
    pub on_violation: Option<ViolationHook>,
    pub on_event: Option<EventHook>,
}

/// One run's tracer state.
pub(crate) struct Tracer {
    procs: TidMap<Proc>,
    root: i32,
    report: Report,
    collect_only: bool,
    resolver: Resolver,
    operands: Vec<Operand>,
    info: ptrace::SyscallInfo,
    hooks: Hooks,
    log: Option<log::Log>,
    line: Vec<u8>,
    argv: Vec<u8>,
    /// Fakeroot records, when fakeroot mode is on.
    pub(crate) fake: Option<crate::fakeroot::FakeDb>,
    /// An unprivileged root view's copy-up of files the build cannot write.
    copy_up: Option<crate::image::CopyUp>,
    /// Fakeroot's stat calls answered at their seccomp stop, when possible.
    stat_emu: Option<fake::StatEmu>,
    /// In fakeroot mode, a call number the filter itself answers with 0
    /// (`getuid`): a call skipped with result 0 becomes that call.
    zero_nr: Option<u64>,
}

fn is_stop_signal(sig: i32) -> bool {
    matches!(
        sig,
        libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
    )
}

impl Tracer {
    /// Copy host files the build cannot write before it changes them (an
    /// unprivileged root view).
    pub(crate) fn with_copy_up(mut self, cu: Option<crate::image::CopyUp>) -> Tracer {
        self.copy_up = cu;
        self
    }

    pub(crate) fn new(
        root: i32,
        collect_only: bool,
        resolver: Resolver,
        hooks: Hooks,
        log: Option<log::Log>,
        fake: Option<crate::fakeroot::FakeDb>,
    ) -> Tracer {
        let mut procs = TidMap::default();
        procs.insert(
            root,
            Proc {
                started: true,
                ..Proc::default()
            },
        );
        let stat_emu = fake.as_ref().and_then(|_| fake::StatEmu::new(&resolver));
        let zero_nr = fake
            .as_ref()
            .and_then(|_| arch::syscall_number("getuid"))
            .map(u64::from);
        let mut t = Tracer {
            procs,
            root,
            report: Report {
                processes: 1,
                ..Report::default()
            },
            collect_only,
            resolver,
            operands: vec![Operand::default(), Operand::default()],
            info: ptrace::SyscallInfo::default(),
            hooks,
            log,
            line: Vec::with_capacity(8192),
            argv: Vec::new(),
            fake,
            copy_up: None,
            stat_emu,
            zero_nr,
        };
        t.log_start(root, std::process::id() as i32);
        t
    }

    fn log_start(&mut self, pid: i32, ppid: i32) {
        if let Some(l) = self.log.as_mut() {
            l.head(&mut self.line, pid, "start");
            log::int_field(&mut self.line, "ppid", ppid as i64);
            l.close(&mut self.line);
        }
    }

    fn log_exit(&mut self, pid: i32, status: i32) {
        if let Some(l) = self.log.as_mut() {
            l.head(&mut self.line, pid, "exit");
            if libc::WIFEXITED(status) {
                log::int_field(&mut self.line, "code", libc::WEXITSTATUS(status) as i64);
            } else {
                log::int_field(&mut self.line, "signal", libc::WTERMSIG(status) as i64);
            }
            l.close(&mut self.line);
        }
    }

    /// Finish the pending line of `from` (the tid that made the call) with
    /// `errno` and write it.
    fn finish_pending(&mut self, from: i32, errno: Option<i32>) {
        let Some(l) = self.log.as_mut() else { return };
        if let Some(p) = self.procs.get_mut(&from) {
            if p.has_pending {
                p.has_pending = false;
                l.finish(&mut p.pending, errno);
            }
        }
    }

    fn died(&mut self, pid: i32) {
        if let Some(cb) = self.hooks.on_event.as_mut() {
            cb(Event::ChildDiedUnexpectedly(pid));
        }
    }

    /// Resume `pid`; a tracee that vanished meanwhile is reported.
    fn resume(&mut self, pid: i32, sig: i32) {
        if ptrace::cont(pid, sig).is_err() {
            self.died(pid);
        }
    }

    fn add(&mut self, pid: i32) -> &mut Proc {
        let report = &mut self.report;
        self.procs.entry(pid).or_insert_with(|| {
            report.processes += 1;
            Proc::default()
        })
    }

    /// Run until every traced process has exited.
    pub(crate) fn run(mut self) -> (Report, Hooks, Option<crate::fakeroot::FakeDb>) {
        while !self.procs.is_empty() {
            let (pid, status) = match ptrace::wait_any() {
                Ok(v) => v,
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(_) => break,
            };
            if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                self.finish_pending(pid, Some(libc::ESRCH));
                self.log_exit(pid, status);
                self.procs.remove(&pid);
                if pid == self.root {
                    if libc::WIFEXITED(status) {
                        self.report.exit_code = Some(libc::WEXITSTATUS(status));
                    } else {
                        self.report.signal = Some(libc::WTERMSIG(status));
                    }
                }
                continue;
            }
            if !libc::WIFSTOPPED(status) {
                continue;
            }
            let sig = libc::WSTOPSIG(status);
            let event = status >> 16;
            let started = std::mem::replace(&mut self.add(pid).started, true);
            match event {
                EVENT_SECCOMP => self.syscall(pid),
                EVENT_FORK | EVENT_VFORK | EVENT_CLONE => {
                    if let Ok(child) = ptrace::event_msg(pid) {
                        self.add(child as i32);
                        self.log_start(child as i32, pid);
                    }
                    self.resume(pid, 0);
                }
                EVENT_EXEC => {
                    let former = ptrace::event_msg(pid).map(|f| f as i32).unwrap_or(pid);
                    self.finish_pending(former, None);
                    if former != pid {
                        self.procs.remove(&former);
                    }
                    self.resume(pid, 0);
                }
                0 if sig == libc::SIGTRAP | 0x80 => {
                    // The exit stop of a call whose result the log needs.
                    if ptrace::syscall_info(pid, &mut self.info).is_ok()
                        && self.info.op == ptrace::INFO_EXIT
                    {
                        let rval = self.info.nr as i64;
                        let err = (rval < 0 && rval > -4096).then_some(-rval as i32);
                        self.finish_pending(pid, err);
                        if let Some(op) = self.procs.get_mut(&pid).and_then(|p| p.fake_op.take()) {
                            self.fake_exit(pid, op, rval);
                        }
                    }
                    self.resume(pid, 0);
                }
                EVENT_STOP => {
                    if started && is_stop_signal(sig) {
                        if ptrace::listen(pid).is_err() {
                            self.died(pid);
                        }
                    } else {
                        self.resume(pid, 0);
                    }
                }
                0 => self.resume(pid, sig),
                _ => self.resume(pid, 0),
            }
        }
        if let Some(e) = self.log.as_mut().and_then(|l| l.flush()) {
            self.report.log_error = Some(e.to_string());
        }
        (self.report, self.hooks, self.fake)
    }

    fn syscall(&mut self, pid: i32) {
        if ptrace::syscall_info(pid, &mut self.info).is_err() {
            self.died(pid);
            return;
        }
        self.report.stops += 1;
        if self.info.op != ptrace::INFO_SECCOMP || self.info.arch != arch::AUDIT_ARCH {
            self.resume(pid, 0);
            return;
        }
        let nr = self.info.nr;
        let args = self.info.args;
        let Some(desc) = decode::lookup(nr) else {
            // A number newer than the table: fail it so libc falls back.
            self.finish(pid, Verdict::Fail(libc::ENOSYS));
            return;
        };
        if let Some(v) = self.fake_ids(pid, desc, &args) {
            self.finish(pid, v);
            return;
        }
        let verdict = match desc.kind {
            Kind::Clone if args[0] & CLONE_NEWNS == 0 => {
                self.clear_untraced(pid, args[0]);
                Verdict::Allow
            }
            Kind::Clone3 => {
                let mut b = [0u8; 8];
                let flags = match ptrace::read_mem(pid, args[0], &mut b) {
                    Ok(8) => u64::from_ne_bytes(b),
                    _ => 0,
                };
                if flags & CLONE_UNTRACED != 0 {
                    Verdict::Fail(libc::ENOSYS)
                } else if flags & CLONE_NEWNS != 0 {
                    self.judge(pid, desc, args)
                } else {
                    Verdict::Allow
                }
            }
            _ => self.judge(pid, desc, args),
        };
        self.finish(pid, verdict);
    }

    /// Take `CLONE_UNTRACED` out of a `clone` so the child stays traced.
    fn clear_untraced(&mut self, pid: i32, flags: u64) {
        if flags & CLONE_UNTRACED == 0 {
            return;
        }
        if let Ok(mut regs) = ptrace::get_regs(pid) {
            arch::set_arg(&mut regs, 0, flags & !CLONE_UNTRACED);
            let _ = ptrace::set_regs(pid, &regs);
        }
    }

    /// Apply a verdict and resume (to the call's exit stop if the log is
    /// waiting for its result).
    fn finish(&mut self, pid: i32, verdict: Verdict) {
        let ret = match verdict {
            Verdict::Allow => None,
            Verdict::Deny { errno, .. } if !self.collect_only => Some(-(errno as i64)),
            Verdict::Deny { .. } => None,
            Verdict::Fail(errno) => Some(-(errno as i64)),
            Verdict::Fake(v) => Some(v),
        };
        if let (Some(0), Some(nr)) = (ret, self.zero_nr) {
            // The kernel re-checks a call the tracer changed at its seccomp
            // stop; the filter answers this one with 0 (SECCOMP_RET_ERRNO
            // 0) and skips it. One POKEUSER instead of GETREGS + SETREGS.
            if ptrace::set_nr(pid, nr).is_err() {
                self.died(pid);
                return;
            }
        } else if let Some(ret) = ret {
            match ptrace::get_regs(pid) {
                Ok(mut regs) => {
                    arch::skip_with_return(&mut regs, ret);
                    if ptrace::set_regs(pid, &regs).is_err() {
                        self.died(pid);
                        return;
                    }
                }
                Err(_) => {
                    self.died(pid);
                    return;
                }
            }
        }
        let wait_exit = self
            .procs
            .get(&pid)
            .is_some_and(|p| p.has_pending || p.fake_op.is_some());
        let r = if wait_exit {
            ptrace::syscall(pid)
        } else {
            ptrace::cont(pid, 0)
        };
        if r.is_err() {
            self.died(pid);
        }
    }

    /// Decode the call, ask the policy, record a violation.
    fn judge(&mut self, pid: i32, desc: &'static decode::SyscallDesc, args: [u64; 6]) -> Verdict {
        let mut detail = None;
        let mut family = None;
        let mut n_ops = 0;
        let decoded = (|| -> Result<(), i32> {
            match desc.kind {
                Kind::Socket => detail = Some(decode::family_name(args[0])),
                Kind::SockAddr(p, l) => {
                    if let Some((f, d)) = self.sockaddr(pid, args[p as usize], args[l as usize])? {
                        family = Some(f);
                        detail = Some(d);
                    }
                }
                Kind::SendMsg => {
                    if let Some((f, d)) = self.msghdr_dest(pid, args[1])? {
                        family = Some(f);
                        detail = Some(d);
                    }
                }
                Kind::SendMmsg => {
                    let count = args[2].min(1024);
                    for i in 0..count {
                        if let Some((f, d)) = self.msghdr_dest(pid, args[1] + 64 * i)? {
                            let inet = f as i32 == libc::AF_INET || f as i32 == libc::AF_INET6;
                            family = Some(f);
                            detail = Some(d);
                            if inet {
                                break;
                            }
                        }
                    }
                }
                Kind::Ptrace => detail = Some((args[1] as i32).to_string()),
                // Only reached with CLONE_NEWNS (see `syscall`), or setns.
                Kind::Clone | Kind::Clone3 | Kind::NewNs => detail = Some("CLONE_NEWNS".into()),
                Kind::DenyAlways => detail = Some((args[0] as i32).to_string()),
                Kind::Bind => {
                    n_ops = self.bind_operand(pid, args)?;
                }
                Kind::Exec(a) if self.log.is_some() => {
                    n_ops = desc.paths.len();
                    self.operands[0].clear();
                    self.read_argv(pid, args[a as usize]);
                    self.operand(pid, desc, &desc.paths[0], &args, 0)?;
                }
                _ => {
                    n_ops = desc.paths.len();
                    for op in &mut self.operands[..n_ops] {
                        op.clear();
                    }
                    for (i, pa) in desc.paths.iter().enumerate() {
                        self.operand(pid, desc, pa, &args, i)?;
                    }
                }
            }
            Ok(())
        })();
        if let Err(errno) = decoded {
            let verdict = Verdict::Fail(errno);
            if self.log.is_some() && desc.ev != Ev::None {
                self.log_call(pid, desc, n_ops, verdict, detail.as_deref());
            }
            return verdict;
        }
        let call = Call {
            pid,
            desc,
            args,
            operands: &self.operands[..n_ops],
            detail,
            family,
        };
        let verdict = self.hooks.policy.check(&call);
        // A file changed, renamed or linked in an unprivileged view must be
        // one the overlay can copy up: the caller's own (a rename or a link
        // copies up its source too, whichever operand is the write).
        if let (Verdict::Allow, Some(cu), Ev::Write | Ev::Rename | Ev::Link) =
            (&verdict, &self.copy_up, desc.ev)
        {
            for op in call.operands {
                if (op.write || desc.ev != Ev::Write)
                    && op.target == Some(crate::paths::Target::Exists(libc::S_IFREG))
                {
                    cu.ensure(&op.canonical);
                }
            }
        }
        if let Verdict::Deny { errno, subject } = verdict {
            let (path, canonical) = match subject {
                Subject::Operand(i) if i < n_ops => {
                    let op = &self.operands[i];
                    (bytes_path(&op.raw), bytes_path(&op.canonical))
                }
                _ => (
                    PathBuf::new(),
                    PathBuf::from(call.detail.clone().unwrap_or_default()),
                ),
            };
            let v = Violation {
                pid,
                operation: desc.name,
                path,
                canonical,
                errno: if self.collect_only { None } else { Some(errno) },
            };
            if let Some(cb) = self.hooks.on_violation.as_mut() {
                cb(&v);
            }
            self.report.violations.push(v);
        }
        let Call { detail, .. } = call;
        let verdict = self.fake_entry(pid, desc, &args, n_ops, verdict);
        if self.log.is_some() && desc.ev != Ev::None {
            self.log_call(pid, desc, n_ops, verdict, detail.as_deref());
        }
        verdict
    }

    /// Write the log line of a judged call, or keep it pending until the
    /// call's exit stop when only the kernel knows the result.
    fn log_call(
        &mut self,
        pid: i32,
        desc: &'static decode::SyscallDesc,
        n_ops: usize,
        verdict: Verdict,
        detail: Option<&str>,
    ) {
        let Some(l) = self.log.as_mut() else { return };
        let ops = &self.operands[..n_ops];
        let mut ev = desc.ev;
        if matches!(desc.kind, Kind::Open(_) | Kind::OpenHow(..))
            && ops.first().is_some_and(|o| !o.write)
        {
            ev = Ev::Read;
        }
        let buf = &mut self.line;
        l.head(buf, pid, ev.name());
        log::str_field(buf, "op", desc.name.as_bytes());
        if ev == Ev::Net {
            match (ops.first(), detail) {
                (Some(o), _) => log::str_field(buf, "dest", &o.canonical),
                (None, Some(d)) => log::str_field(buf, "dest", d.as_bytes()),
                (None, None) => log::str_field(buf, "dest", b""),
            }
        } else if let Some(o) = ops.first() {
            log::str_field(buf, "path", &o.raw);
            log::str_field(buf, "canonical", &o.canonical);
            if ev == Ev::Exec {
                buf.extend_from_slice(b",\"argv\":");
                buf.extend_from_slice(&self.argv);
            }
            if let Some(o2) = ops.get(1) {
                log::str_field(buf, "path2", &o2.raw);
                log::str_field(buf, "canonical2", &o2.canonical);
            }
        }
        let known = match verdict {
            Verdict::Deny { errno, .. } if !self.collect_only => Some(Some(errno)),
            Verdict::Fail(errno) => Some(Some(errno)),
            Verdict::Fake(v) if v < 0 => Some(Some(-v as i32)),
            Verdict::Fake(_) => Some(None),
            _ if matches!(ev, Ev::Read | Ev::Stat) => {
                Some(ops.first().and_then(|o| match o.target {
                    _ if o.error.is_some() => o.error,
                    Some(crate::paths::Target::Missing) => Some(libc::ENOENT),
                    _ => None,
                }))
            }
            _ => None,
        };
        match known {
            Some(errno) => l.finish(buf, errno),
            None => {
                if let Some(p) = self.procs.get_mut(&pid) {
                    std::mem::swap(&mut p.pending, buf);
                    p.has_pending = true;
                }
            }
        }
    }

    /// Read an execve argv array into `self.argv` as a JSON array. The
    /// pointers are read 64 at a time (one call, not one per argument).
    fn read_argv(&mut self, pid: i32, mut ptr: u64) {
        self.argv.clear();
        self.argv.push(b'[');
        let mut s = Vec::new();
        let mut ptrs = [0u8; 8 * 64];
        let (mut have, mut next) = (0usize, 0usize);
        for i in 0..4096 {
            if next == have {
                // Refill; a short read (the array ends before an unmapped
                // page) keeps what was read.
                have = match ptrace::read_mem(pid, ptr, &mut ptrs) {
                    Ok(n) if ptr != 0 => n / 8,
                    _ => 0,
                };
                next = 0;
                if have == 0 {
                    break;
                }
                ptr += 8 * have as u64;
            }
            let a = u64::from_ne_bytes(ptrs[8 * next..8 * next + 8].try_into().unwrap_or_default());
            next += 1;
            if a == 0 || ptrace::read_cstr(pid, a, 128 * 1024, &mut s).is_err() {
                break;
            }
            if i > 0 {
                self.argv.push(b',');
            }
            log::json_str(&mut self.argv, &s);
        }
        self.argv.push(b']');
    }

    /// Decode and resolve path operand `i` of a call.
    fn operand(
        &mut self,
        pid: i32,
        desc: &'static decode::SyscallDesc,
        pa: &PathArg,
        args: &[u64; 6],
        i: usize,
    ) -> Result<(), i32> {
        let (mut flags, mut in_root) = (0u64, false);
        let mut write = !matches!(desc.kind, Kind::Look | Kind::Exec(_));
        match desc.kind {
            Kind::Open(a) => {
                flags = args[a as usize];
                write = flags as u32 & O_WRITE_MASK != 0;
            }
            // The source of a mount is written only by a bind or move.
            Kind::Mount if i == 1 => write = args[3] & (MS_BIND | MS_MOVE) != 0,
            Kind::OpenHow(p, s) => {
                if args[s as usize] < 24 {
                    return Err(libc::EINVAL);
                }
                let mut b = [0u8; 24];
                if ptrace::read_mem(pid, args[p as usize], &mut b).map_err(|_| libc::EFAULT)? != 24
                {
                    return Err(libc::EFAULT);
                }
                flags = u64::from_ne_bytes(b[..8].try_into().unwrap_or_default());
                let resolve = u64::from_ne_bytes(b[16..24].try_into().unwrap_or_default());
                in_root = resolve & 0x10 != 0;
                write = flags as u32 & O_WRITE_MASK != 0;
            }
            _ => {}
        }
        let follow = match pa.follow {
            Follow::Always => true,
            Follow::Never => false,
            Follow::UnlessFlag(a, f) => args[a as usize] & f == 0,
            Follow::IfFlag(a, f) => args[a as usize] & f != 0,
            Follow::OpenFlags => {
                flags & O_NOFOLLOW == 0 && flags & (O_CREAT | O_EXCL) != (O_CREAT | O_EXCL)
            }
        };
        let exist = match pa.exist {
            Exist::OpenFlags if flags & O_TMPFILE_BIT != 0 => Exist::Must,
            Exist::OpenFlags if flags & (O_CREAT | O_EXCL) == (O_CREAT | O_EXCL) => Exist::MustNot,
            Exist::OpenFlags if flags & O_CREAT != 0 => Exist::Any,
            Exist::OpenFlags => Exist::Must,
            e => e,
        };
        let dirfd = pa
            .dirfd
            .map(|a| args[a as usize] as i32)
            .unwrap_or(AT_FDCWD);
        // The caller cleared the operand (`Operand::clear`) before this call.
        let op = &mut self.operands[i];
        op.write = write;
        op.exist = exist;
        op.path_arg = pa.path;
        let mut fd_itself = pa.path.is_none();
        if let Some(a) = pa.path {
            let ptr = args[a as usize];
            if ptr == 0 {
                if !pa.null_is_fd {
                    return Err(libc::EFAULT);
                }
                fd_itself = true;
            } else {
                if let Err(e) =
                    ptrace::read_cstr(pid, ptr, libc::PATH_MAX as usize - 1, &mut op.raw)
                {
                    if write {
                        return Err(e);
                    }
                    op.error = Some(e);
                    return Ok(());
                }
                if op.raw.is_empty() {
                    match pa.empty_path {
                        Some((fa, f)) if args[fa as usize] & f != 0 => fd_itself = true,
                        _ => return Err(libc::ENOENT),
                    }
                }
            }
        }
        if !write && self.log.is_none() {
            return Ok(());
        }
        let req = Request {
            tid: pid,
            dirfd,
            path: if fd_itself { None } else { Some(&op.raw) },
            follow,
            in_root,
        };
        match self.resolver.resolve(&req, &mut op.canonical) {
            Ok(target) => op.target = Some(target),
            // A read is never failed by catbox: the kernel decides.
            Err(e) if !write => op.error = Some(e),
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// A unix socket path given to `bind` becomes operand 0.
    fn bind_operand(&mut self, pid: i32, args: [u64; 6]) -> Result<usize, i32> {
        let len = (args[2] as usize).min(110);
        if args[1] == 0 || len <= 2 {
            return Ok(0);
        }
        let mut buf = [0u8; 110];
        let got = ptrace::read_mem(pid, args[1], &mut buf[..len]).map_err(|_| libc::EFAULT)?;
        if got < 3 || u16::from_ne_bytes([buf[0], buf[1]]) as i32 != libc::AF_UNIX || buf[2] == 0 {
            return Ok(0);
        }
        let path = &buf[2..got];
        let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
        let op = &mut self.operands[0];
        op.raw.clear();
        op.raw.extend_from_slice(&path[..end]);
        op.write = true;
        op.exist = Exist::Any;
        op.path_arg = None;
        let req = Request {
            tid: pid,
            dirfd: AT_FDCWD,
            path: Some(&op.raw),
            follow: false,
            in_root: false,
        };
        op.target = Some(self.resolver.resolve(&req, &mut op.canonical)?);
        Ok(1)
    }

    fn sockaddr(&mut self, pid: i32, ptr: u64, len: u64) -> Result<Option<(u16, String)>, i32> {
        if ptr == 0 || len < 2 {
            return Ok(None);
        }
        let mut buf = [0u8; 128];
        let len = (len as usize).min(buf.len());
        let got = ptrace::read_mem(pid, ptr, &mut buf[..len]).map_err(|_| libc::EFAULT)?;
        Ok(format_sockaddr(&buf[..got]))
    }

    fn msghdr_dest(&mut self, pid: i32, msg: u64) -> Result<Option<(u16, String)>, i32> {
        let mut hdr = [0u8; 16];
        if ptrace::read_mem(pid, msg, &mut hdr).map_err(|_| libc::EFAULT)? != 16 {
            return Err(libc::EFAULT);
        }
        let name = u64::from_ne_bytes(hdr[..8].try_into().unwrap_or_default());
        let len = u32::from_ne_bytes(hdr[8..12].try_into().unwrap_or_default());
        self.sockaddr(pid, name, len as u64)
    }
}

fn bytes_path(b: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(b))
}
