//! Path resolution in the tracee's context.
//!
//! A path is resolved as the kernel would resolve it for the tracee: relative
//! to the tracee's cwd or to one of its fds, with `/proc/self` meaning the
//! tracee, following or not following the last symlink as the call does.
//! The walk works on file descriptors (`openat` with `O_PATH`), not strings,
//! so that a cwd or fd deeper than `PATH_MAX` still resolves; only the final
//! directory is turned into a string, through `/proc/self/fd/N`, with a
//! walk up the tree when that string would be too long.
//!
//! The common case costs a handful of calls: one `openat2` of the parent
//! directory with `RESOLVE_NO_SYMLINKS`, one `readlink` of it, one `fstatat`
//! of the last component. Paths with symlinks take the slower
//! component-by-component walk.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::decode::consts::AT_FDCWD;

/// An errno value from a failed resolution: the call would fail with it.
pub type Errno = i32;

const MAX_LINKS: u32 = 40;
const PATH_MAX: usize = libc::PATH_MAX as usize;

/// What a resolved path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Nothing exists there yet (the last component is kept as written).
    Missing,
    /// An existing file of this type (`S_IFMT` bits).
    Exists(u32),
    /// Not a path at all: a pipe, socket or anonymous inode reached through
    /// an fd (`pipe:[123]`).
    NotAPath,
}

impl Target {
    /// Whether something exists there.
    pub fn exists(self) -> bool {
        !matches!(self, Target::Missing)
    }

    /// Whether it is an existing character device.
    pub fn is_char_device(self) -> bool {
        matches!(self, Target::Exists(m) if m == libc::S_IFCHR)
    }
}

/// How the path to resolve is given.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The tracee's thread id.
    pub tid: i32,
    /// The directory fd (`AT_FDCWD` for the cwd) or, when `path` is `None`,
    /// the fd that is the target itself.
    pub dirfd: i32,
    /// The path as the tracee gave it, or `None` for "the fd itself".
    pub path: Option<&'a [u8]>,
    /// Whether a symlink in the last component is followed.
    pub follow: bool,
    /// `RESOLVE_IN_ROOT`: an absolute path starts at `dirfd`.
    pub in_root: bool,
}

/// Resolves tracee paths; holds the reusable buffers and the facts learnt
/// once at start-up.
#[derive(Debug)]
pub struct Resolver {
    proc_dev: u64,
    root: OwnedFd,
    name: Vec<u8>,
    has_openat2: bool,
    /// Whether canonical names may be built from the request itself: true
    /// when the resolver's root is the supervisor's own `/`, so that a
    /// directory reached without symlinks or `..` is named by the path
    /// that reached it, and a tracee's cwd by `/proc/<tid>/cwd` (saves a
    /// `readlink` of an fd, or the open, readlink and close of the cwd).
    lexical: bool,
}

fn errno() -> Errno {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// A NUL-terminated copy of `bytes` in `buf` (reused), or `ENAMETOOLONG`.
fn cstr<'b>(buf: &'b mut Vec<u8>, bytes: &[u8]) -> Result<&'b libc::c_char, Errno> {
    if bytes.len() > PATH_MAX || bytes.contains(&0) {
        return Err(libc::ENAMETOOLONG);
    }
    buf.clear();
    buf.extend_from_slice(bytes);
    buf.push(0);
    // SAFETY: the buffer is NUL-terminated and lives as long as the borrow.
    Ok(unsafe { &*(buf.as_ptr() as *const libc::c_char) })
}

/// A small stack string for `/proc/<n>/...` names.
struct ProcName {
    buf: [u8; 64],
    len: usize,
}

impl ProcName {
    fn new() -> ProcName {
        ProcName {
            buf: [0; 64],
            len: 0,
        }
    }
    fn push(&mut self, s: &[u8]) -> &mut Self {
        let n = s.len().min(self.buf.len() - 1 - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
        self
    }
    fn num(&mut self, v: i64) -> &mut Self {
        let mut tmp = [0u8; 24];
        let mut i = tmp.len();
        let neg = v < 0;
        let mut u = v.unsigned_abs();
        loop {
            i -= 1;
            tmp[i] = b'0' + (u % 10) as u8;
            u /= 10;
            if u == 0 {
                break;
            }
        }
        if neg {
            i -= 1;
            tmp[i] = b'-';
        }
        self.push(&tmp[i..])
    }
    fn as_ptr(&mut self) -> *const libc::c_char {
        self.buf[self.len] = 0;
        self.buf.as_ptr() as *const libc::c_char
    }
}

fn open_at(dir: RawFd, name: *const libc::c_char, flags: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: `name` is a valid NUL-terminated string; the returned fd is
    // owned by nobody else.
    let fd = unsafe { libc::openat(dir, name, flags | libc::O_CLOEXEC, 0) };
    if fd < 0 {
        Err(errno())
    } else {
        // SAFETY: fd was just returned by openat and is not owned elsewhere.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

fn stat_at(dir: RawFd, name: *const libc::c_char, flags: i32) -> Result<libc::stat, Errno> {
    // SAFETY: an all-zero `stat` is a valid value; fstatat fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers for the duration of the call.
    let r = unsafe { libc::fstatat(dir, name, &mut st, flags) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(st)
    }
}

fn fstat(fd: RawFd) -> Result<libc::stat, Errno> {
    stat_at(fd, c"".as_ptr(), libc::AT_EMPTY_PATH)
}

fn read_link_at(dir: RawFd, name: *const libc::c_char, out: &mut Vec<u8>) -> Result<(), Errno> {
    out.clear();
    out.reserve(PATH_MAX + 1);
    // SAFETY: the buffer has capacity PATH_MAX + 1; readlinkat writes at
    // most that many bytes and returns how many.
    let n = unsafe {
        libc::readlinkat(
            dir,
            name,
            out.as_mut_ptr() as *mut libc::c_char,
            PATH_MAX + 1,
        )
    };
    if n < 0 {
        return Err(errno());
    }
    let n = n as usize;
    if n > PATH_MAX {
        return Err(libc::ENAMETOOLONG);
    }
    // SAFETY: readlinkat initialised the first n bytes.
    unsafe { out.set_len(n) };
    Ok(())
}

pub(crate) fn split_last(p: &[u8]) -> (&[u8], Option<&[u8]>, bool) {
    let mut end = p.len();
    while end > 1 && p[end - 1] == b'/' {
        end -= 1;
    }
    let trailing = end < p.len();
    let p = &p[..end];
    if p == b"/" {
        return (p, None, trailing);
    }
    let (dir, last) = match p.iter().rposition(|&c| c == b'/') {
        Some(0) => (&p[..1], &p[1..]),
        Some(i) => (&p[..i], &p[i + 1..]),
        None => (&p[..0], p),
    };
    if last == b"." || last == b".." {
        (p, None, trailing)
    } else {
        (dir, Some(last), trailing)
    }
}

enum Fd<'a> {
    Borrowed(RawFd, std::marker::PhantomData<&'a ()>),
    Owned(OwnedFd),
}

impl Fd<'_> {
    fn raw(&self) -> RawFd {
        match self {
            Fd::Borrowed(fd, _) => *fd,
            Fd::Owned(fd) => fd.as_raw_fd(),
        }
    }
}

impl Resolver {
    /// Prepare a resolver: opens `/` and learns the device of `/proc`.
    pub fn new() -> std::io::Result<Resolver> {
        let root = open_at(AT_FDCWD, c"/".as_ptr(), libc::O_PATH | libc::O_DIRECTORY)
            .map_err(std::io::Error::from_raw_os_error)?;
        let proc_dev = stat_at(AT_FDCWD, c"/proc".as_ptr(), 0)
            .map(|s| s.st_dev)
            .map_err(std::io::Error::from_raw_os_error)?;
        Ok(Resolver {
            proc_dev,
            root,
            name: Vec::with_capacity(PATH_MAX + 1),
            has_openat2: true,
            lexical: true,
        })
    }

    /// The same resolver with `root` (a directory) as the tracees' root:
    /// absolute paths and absolute symlink targets start there.
    pub fn with_root(mut self, root: &impl AsRawFd) -> std::io::Result<Resolver> {
        self.root = open_at(
            root.as_raw_fd(),
            c".".as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY,
        )
        .map_err(std::io::Error::from_raw_os_error)?;
        // Names built from the request and the kernel's own symlink walks
        // assume the supervisor's `/`.
        self.lexical = false;
        Ok(self)
    }

    /// `lstat` of a canonical (absolute, symlink-free) path as the tracees
    /// see it: relative to the resolver's root, which is the tracees' root
    /// in a root view and `/` otherwise.
    pub fn lstat(&self, path: &[u8]) -> Result<libc::stat, Errno> {
        let rel = match path.iter().position(|&c| c != b'/') {
            Some(i) => &path[i..],
            None => b".".as_slice(),
        };
        let mut buf = Vec::new();
        let c = cstr(&mut buf, rel)?;
        stat_at(self.root.as_raw_fd(), c, libc::AT_SYMLINK_NOFOLLOW)
    }

    /// Resolve `req`, writing the canonical path into `out`.
    pub fn resolve(&mut self, req: &Request<'_>, out: &mut Vec<u8>) -> Result<Target, Errno> {
        out.clear();
        let path = match req.path {
            None => {
                let fd = self.base(req.tid, req.dirfd)?;
                let st = fstat(fd.as_raw_fd())?;
                self.fd_path(fd.as_raw_fd(), out)?;
                if out.first() != Some(&b'/') {
                    return Ok(Target::NotAPath);
                }
                return Ok(Target::Exists(st.st_mode & libc::S_IFMT));
            }
            Some([]) => return Err(libc::ENOENT),
            Some(p) => p,
        };
        let mut links = 0;
        if req.in_root {
            let root = self.base(req.tid, req.dirfd)?;
            return self.resolve_in_root(&root, path, req.follow, out);
        }
        if path[0] == b'/' {
            let root = Fd::Borrowed(self.root.as_raw_fd(), std::marker::PhantomData);
            self.walk(req.tid, root, path, req.follow, &mut links, out)
        } else {
            if self.lexical {
                if let Some(t) = self.in_dir_fast(req, path, out) {
                    return Ok(t);
                }
            }
            let base = self.base(req.tid, req.dirfd)?;
            self.walk(req.tid, Fd::Owned(base), path, req.follow, &mut links, out)
        }
    }

    /// `RESOLVE_IN_ROOT` (openat2): `root` is `/` for the whole resolution,
    /// `..` stops there and absolute symlinks start there. The kernel does
    /// the walk of each directory part; catbox follows the last symlink
    /// itself, re-rooting relative targets at the link's directory.
    fn resolve_in_root(
        &mut self,
        root: &OwnedFd,
        path: &[u8],
        follow: bool,
        out: &mut Vec<u8>,
    ) -> Result<Target, Errno> {
        let mut root_path = Vec::new();
        self.fd_path(root.as_raw_fd(), &mut root_path)?;
        let mut path = path.to_vec();
        for _ in 0..=MAX_LINKS {
            let (dir, last, trailing) = split_last(&path);
            let dir = if dir.is_empty() { &b"."[..] } else { dir };
            let how = OpenHow {
                flags: (libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64,
                mode: 0,
                resolve: RESOLVE_IN_ROOT,
            };
            let parent = openat2(root.as_raw_fd(), cstr(&mut self.name, dir)?, &how)?;
            let Some(last) = last else {
                self.fd_path(parent.as_raw_fd(), out)?;
                return Ok(Target::Exists(libc::S_IFDIR));
            };
            let name = cstr(&mut self.name, last)?;
            match stat_at(parent.as_raw_fd(), name, libc::AT_SYMLINK_NOFOLLOW) {
                Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFLNK && (follow || trailing) => {
                    let mut target = Vec::new();
                    let name = cstr(&mut self.name, last)?;
                    read_link_at(parent.as_raw_fd(), name, &mut target)?;
                    if target.first() != Some(&b'/') {
                        // Re-root: the link's directory relative to the root.
                        let mut dir_path = Vec::new();
                        self.fd_path(parent.as_raw_fd(), &mut dir_path)?;
                        let rel = if root_path == b"/" {
                            &dir_path[..]
                        } else {
                            dir_path.get(root_path.len()..).unwrap_or(b"")
                        };
                        let mut joined = rel.to_vec();
                        joined.push(b'/');
                        joined.extend_from_slice(&target);
                        target = joined;
                    }
                    if trailing {
                        target.push(b'/');
                    }
                    path = target;
                }
                Ok(st) => {
                    self.join(parent.as_raw_fd(), last, out)?;
                    return Ok(Target::Exists(st.st_mode & libc::S_IFMT));
                }
                Err(libc::ENOENT) => {
                    self.join(parent.as_raw_fd(), last, out)?;
                    return Ok(Target::Missing);
                }
                Err(e) => return Err(e),
            }
        }
        Err(libc::ELOOP)
    }

    /// An `O_PATH` fd for the tracee's cwd or one of its fds.
    fn base(&mut self, tid: i32, dirfd: i32) -> Result<OwnedFd, Errno> {
        let mut n = ProcName::new();
        n.push(b"/proc/").num(tid as i64);
        if dirfd == AT_FDCWD {
            n.push(b"/cwd");
        } else {
            if dirfd < 0 {
                return Err(libc::EBADF);
            }
            n.push(b"/fd/").num(dirfd as i64);
        }
        open_at(AT_FDCWD, n.as_ptr(), libc::O_PATH).map_err(|e| {
            if e == libc::ENOENT && dirfd != AT_FDCWD {
                libc::EBADF
            } else {
                e
            }
        })
    }

    fn walk(
        &mut self,
        tid: i32,
        base: Fd<'_>,
        path: &[u8],
        follow: bool,
        links: &mut u32,
        out: &mut Vec<u8>,
    ) -> Result<Target, Errno> {
        // An absolute path starts at the tracees' root. In a root view that
        // is not the supervisor's: walk it relative to the root's fd
        // (openat2 would take a leading `/` as the supervisor's root).
        let (base, path) = match path.iter().position(|&c| c != b'/') {
            Some(i) if i > 0 && !self.lexical => (
                Fd::Borrowed(self.root.as_raw_fd(), std::marker::PhantomData),
                &path[i..],
            ),
            _ => (base, path),
        };
        let (dir, last, trailing) = split_last(path);
        // An absolute directory part opened without symlinks or `..` is
        // named by itself (see `lexical`).
        let mut named = false;
        let parent = if dir.is_empty() {
            base
        } else {
            let (fd, plain) = self.open_dir(tid, base.raw(), dir, links)?;
            named = plain
                && self.lexical
                && dir.first() == Some(&b'/')
                && !dir.split(|&c| c == b'/').any(|c| c == b"..");
            Fd::Owned(fd)
        };
        let Some(last) = last else {
            self.fd_path(parent.raw(), out)?;
            return Ok(Target::Exists(libc::S_IFDIR));
        };
        if last.len() > 255 {
            return Err(libc::ENAMETOOLONG);
        }
        let name = cstr(&mut self.name, last)?;
        match stat_at(parent.raw(), name, libc::AT_SYMLINK_NOFOLLOW) {
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFLNK && (follow || trailing) => {
                *links += 1;
                if *links > MAX_LINKS {
                    return Err(libc::ELOOP);
                }
                if st.st_dev == self.proc_dev {
                    let fd = self.proc_link(tid, parent.raw(), last, 0)?;
                    let st = fstat(fd.as_raw_fd())?;
                    self.fd_path(fd.as_raw_fd(), out)?;
                    if out.first() != Some(&b'/') {
                        return Ok(Target::NotAPath);
                    }
                    return Ok(Target::Exists(st.st_mode & libc::S_IFMT));
                }
                let mut target = Vec::new();
                let name = cstr(&mut self.name, last)?;
                read_link_at(parent.raw(), name, &mut target)?;
                if trailing {
                    target.push(b'/');
                }
                if target.first() == Some(&b'/') {
                    let root = Fd::Borrowed(self.root.as_raw_fd(), std::marker::PhantomData);
                    self.walk(tid, root, &target, follow, links, out)
                } else {
                    self.walk(tid, parent, &target, follow, links, out)
                }
            }
            Ok(st) => {
                if named {
                    lexical_join(dir, last, out);
                } else {
                    self.join(parent.raw(), last, out)?;
                }
                Ok(Target::Exists(st.st_mode & libc::S_IFMT))
            }
            Err(libc::ENOENT) => {
                if named {
                    lexical_join(dir, last, out);
                } else {
                    self.join(parent.raw(), last, out)?;
                }
                Ok(Target::Missing)
            }
            Err(e) => Err(e),
        }
    }

    /// A single name relative to the tracee's cwd or dirfd (`conftest.c`):
    /// the directory's name from `readlink(/proc/<tid>/cwd)` and the name's
    /// type from `fstatat(/proc/<tid>/cwd/NAME)`, two calls instead of an
    /// open, a stat, a readlink and a close. `None` for anything else (a
    /// symlink to follow, an error, a directory that is no path): the
    /// general walk then decides, errors included.
    fn in_dir_fast(&mut self, req: &Request<'_>, path: &[u8], out: &mut Vec<u8>) -> Option<Target> {
        let (dir, last, trailing) = split_last(path);
        let last = last?;
        if !dir.is_empty() || last.len() > 255 || last.contains(&0) {
            return None;
        }
        let mut n = ProcName::new();
        n.push(b"/proc/").num(req.tid as i64);
        if req.dirfd == AT_FDCWD {
            n.push(b"/cwd");
        } else if req.dirfd >= 0 {
            n.push(b"/fd/").num(req.dirfd as i64);
        } else {
            return None;
        }
        let len = n.len;
        read_link_at(AT_FDCWD, n.as_ptr(), out).ok()?;
        if out.first() != Some(&b'/') {
            return None;
        }
        self.name.clear();
        self.name.extend_from_slice(&n.buf[..len]);
        self.name.push(b'/');
        self.name.extend_from_slice(last);
        self.name.push(0);
        // SAFETY: NUL-terminated just above; lives until the call returns.
        let c = unsafe { &*(self.name.as_ptr() as *const libc::c_char) };
        let target = match stat_at(AT_FDCWD, c, libc::AT_SYMLINK_NOFOLLOW) {
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFLNK && (req.follow || trailing) => {
                return None
            }
            Ok(st) => Target::Exists(st.st_mode & libc::S_IFMT),
            Err(libc::ENOENT) => Target::Missing,
            Err(_) => return None,
        };
        if out.last() != Some(&b'/') {
            out.push(b'/');
        }
        out.extend_from_slice(last);
        Some(target)
    }

    fn join(&mut self, dir: RawFd, last: &[u8], out: &mut Vec<u8>) -> Result<(), Errno> {
        self.fd_path(dir, out)?;
        if out.last() != Some(&b'/') {
            out.push(b'/');
        }
        out.extend_from_slice(last);
        Ok(())
    }

    /// Follow a symlink that lives on procfs: `self` and `thread-self` mean
    /// the tracee; other proc links (`fd/N`, `cwd`, `exe`) are magic links,
    /// followed by opening them, which the kernel resolves for the process
    /// they belong to.
    fn proc_link(
        &mut self,
        tid: i32,
        dir: RawFd,
        name: &[u8],
        flags: i32,
    ) -> Result<OwnedFd, Errno> {
        if name == b"self" || name == b"thread-self" {
            // As the kernel: `self` is /proc/<tgid>, `thread-self` is
            // /proc/<tgid>/task/<tid>. (Rare: only paths through them.)
            let tgid = tgid_of(tid).unwrap_or(tid);
            let mut n = ProcName::new();
            n.num(tgid as i64);
            if name == b"thread-self" {
                n.push(b"/task/").num(tid as i64);
            }
            return open_at(dir, n.as_ptr(), libc::O_PATH | libc::O_DIRECTORY);
        }
        let c = cstr(&mut self.name, name)?;
        open_at(dir, c, libc::O_PATH | flags)
    }

    /// Open directory `path` relative to `base`, in the tracee's context;
    /// true if `openat2` did it without meeting a symlink.
    fn open_dir(
        &mut self,
        tid: i32,
        base: RawFd,
        path: &[u8],
        links: &mut u32,
    ) -> Result<(OwnedFd, bool), Errno> {
        if self.has_openat2 {
            let how = OpenHow {
                flags: (libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64,
                mode: 0,
                resolve: RESOLVE_NO_SYMLINKS,
            };
            let c = cstr(&mut self.name, path)?;
            match openat2(base, c, &how) {
                Ok(fd) => return Ok((fd, true)),
                Err(libc::ELOOP) if self.lexical => {
                    // Symlinks on the way (merged /usr: /lib -> usr/lib):
                    // the kernel follows them in one call instead of a
                    // dozen in `walk_dir`. Only magic links are refused;
                    // `/proc/self` would mean the supervisor, and the
                    // only way from there to a directory that is not
                    // on procfs is a magic link or `..`, which leads to
                    // the same place for every process. So a result on
                    // procfs, or any error, takes the walk.
                    let how = OpenHow {
                        resolve: RESOLVE_NO_MAGICLINKS,
                        ..how
                    };
                    let c = cstr(&mut self.name, path)?;
                    if let Ok(fd) = openat2(base, c, &how) {
                        if !on_procfs(fd.as_raw_fd()) {
                            return Ok((fd, false));
                        }
                    }
                }
                Err(libc::ELOOP | libc::EXDEV | libc::EAGAIN) => {}
                Err(libc::ENOSYS) => self.has_openat2 = false,
                Err(e) => return Err(e),
            }
        }
        Ok((self.walk_dir(tid, base, path, links)?, false))
    }

    /// The component-by-component walk, used when the path has symlinks.
    fn walk_dir(
        &mut self,
        tid: i32,
        base: RawFd,
        path: &[u8],
        links: &mut u32,
    ) -> Result<OwnedFd, Errno> {
        let start = if path.first() == Some(&b'/') {
            self.root.as_raw_fd()
        } else {
            base
        };
        let mut cur = open_at(start, c".".as_ptr(), libc::O_PATH | libc::O_DIRECTORY)?;
        for comp in path.split(|&c| c == b'/') {
            if comp.is_empty() || comp == b"." {
                continue;
            }
            if comp.len() > 255 {
                return Err(libc::ENAMETOOLONG);
            }
            let c = cstr(&mut self.name, comp)?;
            match open_at(
                cur.as_raw_fd(),
                c,
                libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
            ) {
                Ok(fd) => cur = fd,
                Err(libc::ENOTDIR) | Err(libc::ELOOP) => {
                    let c = cstr(&mut self.name, comp)?;
                    let st = stat_at(cur.as_raw_fd(), c, libc::AT_SYMLINK_NOFOLLOW)?;
                    if st.st_mode & libc::S_IFMT != libc::S_IFLNK {
                        return Err(libc::ENOTDIR);
                    }
                    *links += 1;
                    if *links > MAX_LINKS {
                        return Err(libc::ELOOP);
                    }
                    cur = if st.st_dev == self.proc_dev {
                        self.proc_link(tid, cur.as_raw_fd(), comp, libc::O_DIRECTORY)?
                    } else {
                        let mut target = Vec::new();
                        let c = cstr(&mut self.name, comp)?;
                        read_link_at(cur.as_raw_fd(), c, &mut target)?;
                        self.walk_dir(tid, cur.as_raw_fd(), &target, links)?
                    };
                }
                Err(e) => return Err(e),
            }
        }
        Ok(cur)
    }

    /// The path of one of catbox's own fds, as the kernel names it.
    fn fd_path(&mut self, fd: RawFd, out: &mut Vec<u8>) -> Result<(), Errno> {
        let mut n = ProcName::new();
        n.push(b"/proc/self/fd/").num(fd as i64);
        match read_link_at(AT_FDCWD, n.as_ptr(), out) {
            Ok(()) => Ok(()),
            Err(libc::ENAMETOOLONG) => walk_up(fd, out),
            Err(e) => Err(e),
        }
    }
}

/// `dir/last` with `dir` (absolute, no `..`) written canonically: empty and
/// `.` components dropped, single slashes.
fn lexical_join(dir: &[u8], last: &[u8], out: &mut Vec<u8>) {
    out.clear();
    for c in dir.split(|&c| c == b'/') {
        if !c.is_empty() && c != b"." {
            out.push(b'/');
            out.extend_from_slice(c);
        }
    }
    out.push(b'/');
    out.extend_from_slice(last);
}

/// The canonical form of `path` as process `pid` (default: this process)
/// would resolve it, following the last symlink if `follow`. Components that
/// do not exist yet are kept as written; a missing directory on the way is
/// an error.
pub fn canonical(
    path: &std::path::Path,
    follow: bool,
    pid: Option<i32>,
) -> std::io::Result<std::path::PathBuf> {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let mut r = Resolver::new()?;
    let tid = pid.unwrap_or_else(|| std::process::id() as i32);
    let mut out = Vec::new();
    let req = Request {
        tid,
        dirfd: AT_FDCWD,
        path: Some(path.as_os_str().as_bytes()),
        follow,
        in_root: false,
    };
    r.resolve(&req, &mut out)
        .map_err(std::io::Error::from_raw_os_error)?;
    Ok(std::ffi::OsString::from_vec(out).into())
}

/// The thread group (process) of a thread, from `/proc/<tid>/status`.
fn tgid_of(tid: i32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;

/// Whether `fd` is on a procfs (any mount of it); true if that cannot be
/// told.
fn on_procfs(fd: RawFd) -> bool {
    const PROC_SUPER_MAGIC: libc::c_long = 0x9fa0;
    // SAFETY: an all-zero statfs is a valid value; fstatfs fills it.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd number and pointer for the duration of the call.
    let r = unsafe { libc::fstatfs(fd, &mut st) };
    r != 0 || st.f_type as libc::c_long == PROC_SUPER_MAGIC
}
const RESOLVE_IN_ROOT: u64 = 0x10;

fn openat2(dir: RawFd, path: *const libc::c_char, how: &OpenHow) -> Result<OwnedFd, Errno> {
    // SAFETY: valid pointers for the duration of the call; openat2 returns
    // a new fd or -1.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            path,
            how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        Err(errno())
    } else {
        // SAFETY: fd was just returned by openat2 and is owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
    }
}

/// `struct open_how` of openat2(2).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct OpenHow {
    /// Open flags.
    pub flags: u64,
    /// Creation mode.
    pub mode: u64,
    /// `RESOLVE_*` flags.
    pub resolve: u64,
}

/// The path of a directory too deep for `/proc/self/fd/N`: walk up with
/// `..`, finding each directory's name in its parent.
fn walk_up(fd: RawFd, out: &mut Vec<u8>) -> Result<(), Errno> {
    let mut names: Vec<Vec<u8>> = Vec::new();
    let mut cur = open_at(fd, c".".as_ptr(), libc::O_PATH | libc::O_DIRECTORY)?;
    loop {
        let st = fstat(cur.as_raw_fd())?;
        let parent = open_at(
            cur.as_raw_fd(),
            c"..".as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY,
        )?;
        let pst = fstat(parent.as_raw_fd())?;
        if pst.st_dev == st.st_dev && pst.st_ino == st.st_ino {
            break;
        }
        let name = find_name(&parent, &st)?;
        names.push(name);
        cur = parent;
    }
    out.clear();
    for n in names.iter().rev() {
        out.push(b'/');
        out.extend_from_slice(n);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    Ok(())
}

fn find_name(parent: &OwnedFd, child: &libc::stat) -> Result<Vec<u8>, Errno> {
    let dup = open_at(
        parent.as_raw_fd(),
        c".".as_ptr(),
        libc::O_RDONLY | libc::O_DIRECTORY,
    )?;
    // SAFETY: fdopendir takes ownership of the fd on success.
    let dir = unsafe { libc::fdopendir(std::os::fd::IntoRawFd::into_raw_fd(dup)) };
    if dir.is_null() {
        return Err(errno());
    }
    let mut found = None;
    loop {
        // SAFETY: dir is a valid DIR*; readdir returns NULL at the end.
        let ent = unsafe { libc::readdir(dir) };
        if ent.is_null() {
            break;
        }
        // SAFETY: d_name is NUL-terminated within the dirent.
        let name = unsafe { std::ffi::CStr::from_ptr((*ent).d_name.as_ptr()) };
        let b = name.to_bytes();
        if b == b"." || b == b".." {
            continue;
        }
        if let Ok(st) = stat_at(parent.as_raw_fd(), name.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) {
            if st.st_dev == child.st_dev && st.st_ino == child.st_ino {
                found = Some(b.to_vec());
                break;
            }
        }
    }
    // SAFETY: dir came from fdopendir and is closed once.
    unsafe { libc::closedir(dir) };
    found.ok_or(libc::ENOENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_last_cases() {
        assert_eq!(split_last(b"a/b"), (&b"a"[..], Some(&b"b"[..]), false));
        assert_eq!(split_last(b"/b"), (&b"/"[..], Some(&b"b"[..]), false));
        assert_eq!(split_last(b"b"), (&b""[..], Some(&b"b"[..]), false));
        assert_eq!(split_last(b"a/b/"), (&b"a"[..], Some(&b"b"[..]), true));
        assert_eq!(split_last(b"/"), (&b"/"[..], None, false));
        assert_eq!(split_last(b"a/.."), (&b"a/.."[..], None, false));
    }

    /// The names built from the request (`lexical`) are the names the
    /// kernel gives (`readlink` of the opened directory), for every shape
    /// of path, relative or absolute, through a dirfd, with symlinks.
    #[test]
    fn lexical_names_match_the_kernel_names() {
        use std::os::unix::ffi::OsStrExt;
        let base = std::env::temp_dir().join(format!("catbox-lexical-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("a/b")).unwrap();
        std::fs::write(base.join("a/f"), b"").unwrap();
        std::os::unix::fs::symlink("a", base.join("la")).unwrap();
        std::os::unix::fs::symlink("f", base.join("a/lf")).unwrap();
        std::os::unix::fs::symlink("/proc/self", base.join("ps")).unwrap();
        std::os::unix::fs::symlink("/proc/self/cwd", base.join("pc")).unwrap();
        std::os::unix::fs::symlink("..", base.join("a/up")).unwrap();
        std::os::unix::fs::symlink("missing", base.join("dang")).unwrap();
        std::os::unix::fs::symlink("loop", base.join("loop")).unwrap();
        let canon = std::fs::canonicalize(&base).unwrap();
        std::os::unix::fs::symlink(&canon, base.join("abs")).unwrap();
        let b = canon.as_os_str().as_bytes();
        let tid = std::process::id() as i32;
        let dir = std::fs::File::open(base.join("a")).unwrap();
        let top = std::fs::File::open(&base).unwrap();
        let file = std::fs::File::open(base.join("a/f")).unwrap();
        let mut paths: Vec<Vec<u8>> = Vec::new();
        for rel in [
            "a/f",
            "a/b",
            "a/b/",
            "a//f",
            "a/./f",
            "./a/f",
            "a/missing",
            "a/b/../f",
            "la/f",
            "la/lf",
            "a/lf",
            "a/lf/",
            "ps",
            "ps/status",
            "a/.",
            "a/..",
            "nodir/x",
            "a/f/x",
            "la/../a/f",
            "la/b/../f",
            "a/up/a/f",
            "a/up/la/b/x",
            "abs/a/f",
            "abs/la/lf",
            "dang/f",
            "loop/f",
            "ps/task/x",
            "ps/../self/status",
            "ps/../../tmp/x",
            "pc/src/x",
            "ps/fd/x",
            "la/up/../la/f",
        ] {
            paths.push(rel.as_bytes().to_vec());
            let mut p = b.to_vec();
            p.push(b'/');
            p.extend_from_slice(rel.as_bytes());
            paths.push(p.clone());
            let mut p2 = b"//".to_vec();
            p2.extend_from_slice(&p);
            paths.push(p2);
        }
        for name in ["f", "b", "b/", "lf", "lf/", "missing", ".", "..", ""] {
            paths.push(name.as_bytes().to_vec());
        }
        let mut fast = Resolver::new().unwrap();
        let mut slow = Resolver::new().unwrap();
        slow.lexical = false;
        let (mut o1, mut o2) = (Vec::new(), Vec::new());
        // Another process as the tracee too, so that /proc/self (this
        // process, the "supervisor") is not the tracee.
        let mut other = std::process::Command::new("sleep")
            .arg("60")
            .current_dir(&base)
            .spawn()
            .unwrap();
        let own = vec![
            AT_FDCWD,
            dir.as_raw_fd(),
            top.as_raw_fd(),
            file.as_raw_fd(),
            9999,
        ];
        let cases = [(tid, own), (other.id() as i32, vec![AT_FDCWD, 0, 9999])];
        for p in &paths {
            for (tid, dirfds) in &cases {
                for (&dirfd, follow) in dirfds.iter().flat_map(|d| [(d, true), (d, false)]) {
                    let req = Request {
                        tid: *tid,
                        dirfd,
                        path: Some(p),
                        follow,
                        in_root: false,
                    };
                    let r1 = fast.resolve(&req, &mut o1);
                    let r2 = slow.resolve(&req, &mut o2);
                    let what = (String::from_utf8_lossy(p).into_owned(), tid, dirfd, follow);
                    assert_eq!(r1, r2, "{what:?}");
                    if r1.is_ok() {
                        assert_eq!(
                            String::from_utf8_lossy(&o1),
                            String::from_utf8_lossy(&o2),
                            "{what:?}"
                        );
                    }
                }
            }
        }
        let _ = other.kill();
        let _ = other.wait();
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn resolves_own_cwd_and_proc_self() {
        let mut r = Resolver::new().unwrap();
        let tid = std::process::id() as i32;
        let mut out = Vec::new();
        let req = Request {
            tid,
            dirfd: AT_FDCWD,
            path: Some(b"x-missing"),
            follow: true,
            in_root: false,
        };
        assert_eq!(r.resolve(&req, &mut out).unwrap(), Target::Missing);
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(out, format!("{}/x-missing", cwd.display()).into_bytes());
        let req = Request {
            tid,
            dirfd: AT_FDCWD,
            path: Some(b"/proc/self/cwd/y"),
            follow: true,
            in_root: false,
        };
        r.resolve(&req, &mut out).unwrap();
        assert_eq!(out, format!("{}/y", cwd.display()).into_bytes());
        // As the kernel resolves them: self is <tgid>, thread-self is
        // <tgid>/task/<tid> (found by the paths fuzz target).
        let req = Request {
            tid,
            dirfd: AT_FDCWD,
            path: Some(b"/proc/thread-self/.."),
            follow: true,
            in_root: false,
        };
        r.resolve(&req, &mut out).unwrap();
        assert_eq!(out, format!("/proc/{tid}/task").into_bytes());
        let req = Request {
            tid,
            dirfd: AT_FDCWD,
            path: Some(b"/nonexistent-dir/y"),
            follow: true,
            in_root: false,
        };
        assert_eq!(r.resolve(&req, &mut out), Err(libc::ENOENT));
    }
}
