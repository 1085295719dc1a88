//! The tracer's side of fakeroot mode: what happens at a call's seccomp
//! stop and, for calls whose result matters, at its exit stop.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{ptrace, Tracer};
use crate::arch;
use crate::decode::consts::{AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW};
use crate::decode::table::Fake;
use crate::decode::{Follow, SyscallDesc};
use crate::fakeroot::{STATX_SIZE, STAT_SIZE};
use crate::paths::Resolver;
use crate::policy::Verdict;

/// Work left for a call's exit stop.
#[derive(Debug, Clone)]
pub(super) enum FakeOp {
    /// Patch the stat buffer at this address (statx if true).
    Stat(u64, bool),
    /// Record the mode of (dev, ino) at path.
    Chmod(u64, u64, PathBuf, u32),
    /// Record the device made at path: (type, rdev), and put back the
    /// caller's (mode, dev) argument registers: [(index, value); 2].
    Mknod(PathBuf, u32, u64, [(u8, u64); 2]),
    /// The name path of (dev, ino) goes (nlink before the call).
    Forget(u64, u64, u64, PathBuf),
    /// The name from moved to to; a replaced file (dev, ino, nlink).
    Rename(PathBuf, PathBuf, Option<(u64, u64, u64)>),
    /// A hard link to (dev, ino) was made at path.
    Link(u64, u64, PathBuf),
}

/// `AT_NO_AUTOMOUNT`.
const AT_NO_AUTOMOUNT: u64 = 0x800;
/// `AT_STATX_SYNC_TYPE`.
const AT_STATX_SYNC_TYPE: u64 = 0x6000;
/// `STATX__RESERVED`.
const STATX_RESERVED: u64 = 0x8000_0000;

/// What answering a stat call at its seccomp stop needs (one stop instead
/// of an entry and an exit stop): the device of `/proc` and reused buffers.
/// Only when the tracees' root is the supervisor's own (the supervisor
/// then looks up an absolute path exactly as the tracee would).
#[derive(Debug)]
pub(super) struct StatEmu {
    proc_dev: u64,
    name: Vec<u8>,
    path: Vec<u8>,
}

impl StatEmu {
    pub(super) fn new(resolver: &Resolver) -> Option<StatEmu> {
        use std::os::unix::fs::MetadataExt;
        let ours = std::fs::symlink_metadata("/").ok()?;
        let theirs = resolver.lstat(b"/").ok()?;
        if (theirs.st_dev, theirs.st_ino) != (ours.dev(), ours.ino()) {
            return None;
        }
        Some(StatEmu {
            proc_dev: std::fs::metadata("/proc").ok()?.dev(),
            name: Vec::with_capacity(64),
            path: Vec::with_capacity(libc::PATH_MAX as usize + 1),
        })
    }

    /// `/proc/<tid>/cwd` or `/proc/<tid>/fd/<fd>`, NUL-terminated.
    fn proc_name(&mut self, tid: i32, fd: i32) {
        use std::io::Write;
        self.name.clear();
        let _ = if fd == AT_FDCWD {
            write!(self.name, "/proc/{tid}/cwd\0")
        } else {
            write!(self.name, "/proc/{tid}/fd/{fd}\0")
        };
    }
}

/// A stat result the supervisor computed for a tracee.
enum StatBuf {
    Stat([u8; STAT_SIZE]),
    Statx([u8; STATX_SIZE]),
}

/// A bare name relative to the tracee's cwd or dirfd (`conftest.c`): one
/// `fstatat(/proc/<tid>/cwd/NAME, AT_SYMLINK_NOFOLLOW)`, whose only magic
/// link is the tracee's own cwd or fd. Exact when the call does not follow
/// the name or the name is no symlink; false (the caller takes the general
/// way) otherwise, or on any error.
#[allow(clippy::too_many_arguments)]
fn bare_name_stat(
    emu: &mut StatEmu,
    pid: i32,
    dirfd: i32,
    name: &[u8],
    follow: bool,
    flags: u64,
    mask: u64,
    buf: &mut StatBuf,
) -> bool {
    emu.proc_name(pid, dirfd);
    emu.name.pop();
    emu.name.push(b'/');
    emu.name.extend_from_slice(name);
    emu.name.push(0);
    let nofollow = libc::AT_SYMLINK_NOFOLLOW | (flags & AT_NO_AUTOMOUNT) as libc::c_int;
    let sync = (flags & AT_STATX_SYNC_TYPE) as libc::c_int;
    match buf {
        StatBuf::Stat(b) => {
            if ptrace::stat_into(libc::AT_FDCWD, &emu.name, nofollow, b).is_err() {
                return false;
            }
            let mode = u32::from_ne_bytes(b[24..28].try_into().unwrap_or_default());
            !follow || mode & libc::S_IFMT != libc::S_IFLNK
        }
        StatBuf::Statx(b) => {
            if ptrace::statx_into(libc::AT_FDCWD, &emu.name, nofollow | sync, mask as u32, b)
                .is_err()
            {
                return false;
            }
            let got = u32::from_ne_bytes(b[0..4].try_into().unwrap_or_default());
            let mode = u16::from_ne_bytes([b[28], b[29]]) as u32;
            !follow || (got & libc::STATX_TYPE != 0 && mode & libc::S_IFMT != libc::S_IFLNK)
        }
    }
}

/// `lstat` of a canonical path in the tracees' view: (dev, ino, nlink, mode).
fn identity(r: &Resolver, path: &[u8]) -> Option<(u64, u64, u64, u32)> {
    let st = r.lstat(path).ok()?;
    Some((st.st_dev, st.st_ino, st.st_nlink, st.st_mode))
}

impl Tracer {
    /// Calls answered without running: ids are 0, set*id succeed.
    /// Returns the verdict if the call was handled here.
    pub(super) fn fake_ids(
        &mut self,
        pid: i32,
        desc: &SyscallDesc,
        args: &[u64; 6],
    ) -> Option<Verdict> {
        self.fake.as_ref()?;
        match desc.fake {
            Fake::Zero => Some(Verdict::Fake(0)),
            Fake::ZeroRes => {
                for &a in &args[..3] {
                    if ptrace::write_mem(pid, a, &0u32.to_ne_bytes()).is_err() {
                        return Some(Verdict::Fail(libc::EFAULT));
                    }
                }
                Some(Verdict::Fake(0))
            }
            _ => None,
        }
    }

    /// After the policy allowed a call: record or rewrite what fakeroot
    /// mode changes, and say what is left for the exit stop.
    pub(super) fn fake_entry(
        &mut self,
        pid: i32,
        desc: &SyscallDesc,
        args: &[u64; 6],
        n_ops: usize,
        verdict: Verdict,
    ) -> Verdict {
        let runs = match verdict {
            Verdict::Allow => true,
            Verdict::Deny { .. } => self.collect_only,
            _ => false,
        };
        if !runs || self.fake.is_none() {
            return verdict;
        }
        let canon = |t: &Tracer, i: usize| -> Option<Vec<u8>> {
            (i < n_ops).then(|| t.operands[i].canonical.clone())
        };
        let op = match desc.fake {
            Fake::Stat(a) | Fake::Statx(a) => {
                if let Some(v) = self.fake_stat(pid, desc, args) {
                    return v;
                }
                Some(FakeOp::Stat(
                    args[a as usize],
                    matches!(desc.fake, Fake::Statx(_)),
                ))
            }
            Fake::Chown(u, g) => {
                let Some(path) = canon(self, 0) else {
                    return verdict;
                };
                let id = self.identity_of(pid, desc, args, &path);
                if let (Some((dev, ino, _, _)), Some(db)) = (id, self.fake.as_mut()) {
                    db.chown(
                        dev,
                        ino,
                        Path::new(OsStr::from_bytes(&path)),
                        args[u as usize] as u32,
                        args[g as usize] as u32,
                    );
                }
                return Verdict::Fake(0);
            }
            Fake::Chmod(m) => {
                let Some(path) = canon(self, 0) else {
                    return verdict;
                };
                self.identity_of(pid, desc, args, &path)
                    .map(|(dev, ino, _, _)| {
                        FakeOp::Chmod(
                            dev,
                            ino,
                            PathBuf::from(OsStr::from_bytes(&path)),
                            args[m as usize] as u32,
                        )
                    })
            }
            Fake::Mknod(m, d) => {
                let mode = args[m as usize] as u32;
                let kind = mode & libc::S_IFMT;
                if kind != libc::S_IFCHR && kind != libc::S_IFBLK {
                    return verdict;
                }
                let Some(path) = canon(self, 0) else {
                    return verdict;
                };
                // mknod(S_IFREG) makes an empty regular file, in the
                // tracee's own context (umask, owner, permissions).
                if let Ok(mut regs) = ptrace::get_regs(pid) {
                    arch::set_arg(
                        &mut regs,
                        m as usize,
                        (libc::S_IFREG | (mode & 0o7777)) as u64,
                    );
                    arch::set_arg(&mut regs, d as usize, 0);
                    if ptrace::set_regs(pid, &regs).is_err() {
                        return Verdict::Fail(libc::ESRCH);
                    }
                }
                Some(FakeOp::Mknod(
                    PathBuf::from(OsStr::from_bytes(&path)),
                    kind,
                    args[d as usize],
                    [(m, args[m as usize]), (d, args[d as usize])],
                ))
            }
            Fake::Forget => canon(self, 0).and_then(|p| {
                identity(&self.resolver, &p).map(|(dev, ino, nlink, mode)| {
                    let n = if mode & libc::S_IFMT == libc::S_IFDIR {
                        0
                    } else {
                        nlink
                    };
                    FakeOp::Forget(dev, ino, n, PathBuf::from(OsStr::from_bytes(&p)))
                })
            }),
            Fake::Rename => match (canon(self, 0), canon(self, 1)) {
                (Some(src), Some(dst)) => {
                    let replaced = identity(&self.resolver, &dst).map(|(d, i, n, _)| (d, i, n));
                    Some(FakeOp::Rename(
                        PathBuf::from(OsStr::from_bytes(&src)),
                        PathBuf::from(OsStr::from_bytes(&dst)),
                        replaced,
                    ))
                }
                _ => None,
            },
            Fake::Link => match (canon(self, 0), canon(self, 1)) {
                (Some(src), Some(dst)) => identity(&self.resolver, &src).map(|(dev, ino, _, _)| {
                    FakeOp::Link(dev, ino, PathBuf::from(OsStr::from_bytes(&dst)))
                }),
                _ => None,
            },
            Fake::None | Fake::Zero | Fake::ZeroRes => None,
        };
        if let (Some(op), Some(p)) = (op, self.procs.get_mut(&pid)) {
            p.fake_op = Some(op);
        }
        verdict
    }

    /// Answer a stat call at its seccomp stop: the supervisor does the
    /// lookup (the tracee's fd, or its path without magic links, relative
    /// to the tracee's cwd or dirfd), patches the result and writes it into
    /// the tracee's buffer. `None` when it cannot be sure to see what the
    /// kernel would show the tracee (a lookup error, a magic link, a result
    /// on procfs, flags it does not know): the call then runs and its
    /// buffer is patched at the exit stop.
    fn fake_stat(&mut self, pid: i32, desc: &SyscallDesc, args: &[u64; 6]) -> Option<Verdict> {
        let (addr, x) = match desc.fake {
            Fake::Stat(a) => (args[a as usize], false),
            Fake::Statx(a) => (args[a as usize], true),
            _ => return None,
        };
        let emu = self.stat_emu.as_mut()?;
        let pa = desc.paths.first()?;
        let flags = pa.empty_path.map_or(0, |(fa, _)| args[fa as usize]);
        let mask = if x { args[3] } else { 0 };
        let known = if x {
            AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE
        } else {
            AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH
        };
        // Invalid flags or mask: the kernel's EINVAL, by the kernel.
        if flags & !known != 0
            || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
            || mask & STATX_RESERVED != 0
            || mask >> 32 != 0
        {
            return None;
        }
        let follow = match pa.follow {
            Follow::Always => true,
            Follow::Never => false,
            Follow::UnlessFlag(a, f) => args[a as usize] & f == 0,
            _ => return None,
        };
        let dirfd = pa.dirfd.map_or(AT_FDCWD, |a| args[a as usize] as i32);
        let fd_itself = match pa.path {
            // fstat: AT_FDCWD is no fd there (EBADF, from the kernel).
            None if dirfd < 0 => return None,
            None => true,
            // A NULL path (AT_EMPTY_PATH since Linux 6.11): the kernel decides.
            Some(a) if args[a as usize] == 0 => return None,
            Some(_) => {
                let op = self.operands.first()?;
                if op.error.is_some() {
                    return None;
                }
                // An empty path without AT_EMPTY_PATH was failed in `operand`.
                op.raw.is_empty()
            }
        };
        if dirfd < 0 && dirfd != AT_FDCWD {
            return None;
        }
        let sync = (flags & AT_STATX_SYNC_TYPE) as libc::c_int;
        let mut buf = if x {
            StatBuf::Statx([0; STATX_SIZE])
        } else {
            StatBuf::Stat([0; STAT_SIZE])
        };
        let looked = if fd_itself {
            // The tracee's own open file, through its magic link.
            emu.proc_name(pid, dirfd);
            match &mut buf {
                StatBuf::Stat(b) => ptrace::stat_into(libc::AT_FDCWD, &emu.name, 0, b),
                StatBuf::Statx(b) => {
                    ptrace::statx_into(libc::AT_FDCWD, &emu.name, sync, mask as u32, b)
                }
            }
        } else if !self.operands[0].raw.contains(&b'/')
            && bare_name_stat(
                emu,
                pid,
                dirfd,
                &self.operands[0].raw,
                follow,
                flags,
                mask,
                &mut buf,
            )
        {
            Ok(())
        } else {
            let raw = &self.operands[0].raw;
            let base = if raw.first() == Some(&b'/') {
                None
            } else {
                emu.proc_name(pid, dirfd);
                Some(ptrace::open_path(&emu.name).ok()?)
            };
            let dir = base
                .as_ref()
                .map_or(libc::AT_FDCWD, std::os::fd::AsRawFd::as_raw_fd);
            let file = ptrace::open_no_magic(dir, raw, follow, &mut emu.path).ok()?;
            let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
            let empty = libc::AT_EMPTY_PATH;
            let r = match &mut buf {
                StatBuf::Stat(b) => ptrace::stat_into(fd, b"\0", empty, b),
                StatBuf::Statx(b) => ptrace::statx_into(fd, b"\0", empty | sync, mask as u32, b),
            };
            // A file on procfs may be the supervisor's (`/proc/self/...`).
            let dev = match &buf {
                StatBuf::Stat(b) => u64::from_ne_bytes(b[0..8].try_into().unwrap_or_default()),
                StatBuf::Statx(b) => {
                    let rd =
                        |o: usize| u32::from_ne_bytes(b[o..o + 4].try_into().unwrap_or_default());
                    libc::makedev(rd(136), rd(140))
                }
            };
            if r.is_ok() && dev == emu.proc_dev {
                return None;
            }
            r
        };
        looked.ok()?;
        let db = self.fake.as_ref()?;
        let written = match &mut buf {
            StatBuf::Stat(b) => {
                db.patch_stat(b);
                ptrace::write_mem(pid, addr, b).ok() == Some(STAT_SIZE)
            }
            StatBuf::Statx(b) => {
                db.patch_statx(b);
                ptrace::write_mem(pid, addr, b).ok() == Some(STATX_SIZE)
            }
        };
        Some(if written {
            Verdict::Fake(0)
        } else {
            Verdict::Fail(libc::EFAULT)
        })
    }

    /// The (dev, ino, nlink, mode) of a call's target: by its canonical
    /// path, or for an fd-only call by the tracee's fd.
    fn identity_of(
        &self,
        pid: i32,
        desc: &SyscallDesc,
        args: &[u64; 6],
        canonical: &[u8],
    ) -> Option<(u64, u64, u64, u32)> {
        let fd_only = desc.paths.first().is_some_and(|p| p.path.is_none())
            || self.operands.first().is_some_and(|o| o.raw.is_empty());
        if fd_only {
            let fd = desc.paths.first()?.dirfd? as usize;
            let p = format!("/proc/{pid}/fd/{}", args[fd] as i32);
            let md = std::fs::metadata(p).ok()?;
            use std::os::unix::fs::MetadataExt;
            return Some((md.dev(), md.ino(), md.nlink(), md.mode()));
        }
        identity(&self.resolver, canonical)
    }

    /// At the exit stop: finish what the entry started, if the call worked.
    pub(super) fn fake_exit(&mut self, pid: i32, op: FakeOp, rval: i64) {
        if rval < 0 {
            return;
        }
        let Some(db) = self.fake.as_mut() else { return };
        match op {
            FakeOp::Stat(addr, false) => {
                let mut b = [0u8; STAT_SIZE];
                if ptrace::read_mem(pid, addr, &mut b).ok() == Some(STAT_SIZE) {
                    db.patch_stat(&mut b);
                    let _ = ptrace::write_mem(pid, addr, &b);
                }
            }
            FakeOp::Stat(addr, true) => {
                let mut b = [0u8; STATX_SIZE];
                if ptrace::read_mem(pid, addr, &mut b).ok() == Some(STATX_SIZE) {
                    db.patch_statx(&mut b);
                    let _ = ptrace::write_mem(pid, addr, &b);
                }
            }
            FakeOp::Chmod(dev, ino, path, mode) => db.chmod(dev, ino, &path, mode),
            FakeOp::Mknod(path, kind, rdev, saved) => {
                if let Some((dev, ino, _, _)) =
                    identity(&self.resolver, path.as_os_str().as_bytes())
                {
                    db.mknod(dev, ino, &path, kind, rdev);
                }
                // The kernel preserves argument registers across a call;
                // put back what the caller passed.
                if let Ok(mut regs) = ptrace::get_regs(pid) {
                    for (i, v) in saved {
                        arch::set_arg(&mut regs, i as usize, v);
                    }
                    let _ = ptrace::set_regs(pid, &regs);
                }
            }
            FakeOp::Forget(dev, ino, nlink, path) => db.unlinked(dev, ino, nlink, &path),
            FakeOp::Rename(from, to, replaced) => {
                let moved =
                    identity(&self.resolver, to.as_os_str().as_bytes()).map(|(d, i, _, _)| (d, i));
                if let Some((d, i, n)) = replaced {
                    if Some((d, i)) != moved {
                        db.unlinked(d, i, n, &to);
                    }
                }
                db.renamed(&from, &to);
            }
            FakeOp::Link(dev, ino, path) => db.linked(dev, ino, &path),
        }
    }
}
