//! Path resolution: `Resolver::resolve` in this process's own context, on
//! any path bytes, with dirfd `AT_FDCWD`, a bad fd or one of a few fds it
//! opened (directories, a file, a pipe, a socket), following or not, with
//! or without `RESOLVE_IN_ROOT`; plus `split_last` on the same bytes.
//!
//! At start the harness builds a scratch tree in the temp directory and
//! chdirs into it: directories, files, relative and absolute symlinks,
//! dangling links, loops, a chain longer than the kernel's 40 links, links
//! into /proc, and a directory tree deeper than `PATH_MAX`. Resolution only
//! opens `O_PATH` and stats; nothing outside the scratch tree is written.
//!
//! Input: byte 0 = flags (bit 0 follow, bit 1 in_root, bit 2 "the fd
//! itself" (no path), bits 3..7 the dirfd choice); the rest is the path.
//!
//! Properties: no panic; `Ok` gives an absolute canonical path (or a
//! non-path such as `pipe:[N]` for `Target::NotAPath`); an absolute
//! canonical has no empty, `.` or `..` component and no trailing slash;
//! `Err` is a positive errno. And where the kernel itself can open the same
//! path from the same place (`O_PATH`, `O_NOFOLLOW` unless follow), the
//! resolver agrees with it: same canonical path, same file type, not
//! "missing".
#![no_main]

use std::ffi::CString;
use std::os::fd::{IntoRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use catbox_core::fuzzing::split_last;
use catbox_core::paths::{Request, Resolver, Target};
use libfuzzer_sys::fuzz_target;

const AT_FDCWD: i32 = libc::AT_FDCWD;
const PATH_MAX: usize = libc::PATH_MAX as usize;

struct Env {
    root: PathBuf,
    fds: Vec<RawFd>,
    tid: i32,
    strict: bool,
}

/// `/proc/<n>/task/...`: how the kernel names what `/proc/thread-self` is.
fn is_task_path(p: &[u8]) -> bool {
    let Some(rest) = p.strip_prefix(b"/proc/") else {
        return false;
    };
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    let rest = &rest[digits..];
    digits > 0 && (rest == b"/task" || rest.starts_with(b"/task/"))
}

static ENV: OnceLock<Env> = OnceLock::new();

extern "C" fn cleanup() {
    if let Some(env) = ENV.get() {
        // remove_dir_all works on fds, so the deep tree goes too.
        let _ = std::fs::remove_dir_all(&env.root);
    }
}

fn sym(target: impl AsRef<Path>, link: impl AsRef<Path>) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

fn o_path(p: &Path) -> RawFd {
    let c = CString::new(p.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid C string.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    assert!(fd >= 0, "open {}", p.display());
    fd
}

fn env() -> &'static Env {
    ENV.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("catbox-fuzz-paths-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("a/b/c")).unwrap();
        std::fs::create_dir_all(root.join("e/f")).unwrap();
        std::fs::write(root.join("a/f"), "f").unwrap();
        std::fs::write(root.join("a/b/g"), "g").unwrap();
        std::fs::create_dir(root.join("ro")).unwrap();
        std::env::set_current_dir(&root).unwrap();
        sym("a/b", "rel");
        sym(root.join("a"), "abs");
        sym(".", "dot");
        sym("..", "up");
        sym("../../../../../../../..", "upup");
        sym("/", "slash");
        sym("/tmp", "tmp");
        sym("nowhere", "dangle");
        sym("nowhere/deeper", "dangle2");
        sym("a/f", "file");
        sym("a/f/", "file_slash");
        sym("loop2", "loop1");
        sym("loop1", "loop2");
        sym("me", "me");
        sym("/proc/self", "proc_self");
        sym("/proc/self/fd", "proc_fd");
        sym("/proc/self/cwd", "proc_cwd");
        sym("/proc/thread-self/root", "proc_root");
        sym("../rel/c", "a/b/c/back");
        sym("../../abs", "a/b/c/abs2");
        sym("e", "e/f/e");
        // A chain of 45 links: over the kernel's limit of 40.
        for i in 0..45 {
            sym(format!("chain{}", i + 1), format!("chain{i}"));
        }
        sym("a", "chain45");
        // A chain of 30: under it.
        for i in 0..30 {
            sym(format!("short{}", i + 1), format!("short{i}"));
        }
        sym("a/b", "short30");
        // A FIFO and a unix socket (O_PATH opens neither for real).
        let fifo = CString::new("a/fifo").unwrap();
        // SAFETY: a valid C string.
        unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) };
        let sock = std::os::unix::net::UnixListener::bind("a/sock").unwrap();
        std::mem::forget(sock);

        // A tree deeper than PATH_MAX: 30 levels of 200-byte names, made
        // through directory fds (its full path cannot be passed to mkdir).
        let name = "D".repeat(200);
        let cname = CString::new(name.as_str()).unwrap();
        let dir_fd = |at: RawFd, c: &CString| {
            // SAFETY: valid fd and C string.
            let fd = unsafe {
                libc::openat(
                    at,
                    c.as_ptr(),
                    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
                )
            };
            assert!(fd >= 0, "open a deep dir");
            fd
        };
        let link_at = |target: &[u8], dir: RawFd, name: &str| {
            let t = CString::new(target).unwrap();
            let l = CString::new(name).unwrap();
            // SAFETY: valid fd and C strings.
            assert_eq!(unsafe { libc::symlinkat(t.as_ptr(), dir, l.as_ptr()) }, 0);
        };
        let mut cur = dir_fd(AT_FDCWD, &CString::new(".").unwrap());
        let mut mid = -1;
        for i in 0..30 {
            // SAFETY: valid fd and C string.
            assert_eq!(
                unsafe { libc::mkdirat(cur, cname.as_ptr(), 0o755) },
                0,
                "mkdir level {i}"
            );
            let next = dir_fd(cur, &cname);
            if i == 15 {
                mid = cur;
            } else {
                // SAFETY: cur is ours.
                unsafe { libc::close(cur) };
            }
            cur = next;
        }
        // `deep` names level 15 (3015 bytes of link); in level 15, links
        // onward (to level 30: past PATH_MAX), back up and out.
        sym(vec![name.as_str(); 15].join("/"), "deep");
        link_at(vec![name.as_str(); 15].join("/").as_bytes(), mid, "more");
        link_at(b"../../../../..", mid, "up5");
        link_at(root.join("a").as_os_str().as_bytes(), mid, "out");
        // In the deepest level: a file and links back out.
        let leaf = CString::new("leaf").unwrap();
        // SAFETY: valid fd and C string.
        let lf = unsafe {
            libc::openat(
                cur,
                leaf.as_ptr(),
                libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                0o644,
            )
        };
        assert!(lf >= 0);
        // SAFETY: lf is ours.
        unsafe { libc::close(lf) };
        link_at(root.join("a").as_os_str().as_bytes(), cur, "out");
        link_at(b"..", cur, "parent");
        let deepest = cur;

        // The fds a dirfd can name.
        let mut fds = vec![
            o_path(&root),
            o_path(&root.join("a/b")),
            o_path(&root.join("a/f")),
            deepest,
            mid,
            o_path(Path::new("/proc/self")),
            o_path(Path::new("/")),
        ];
        let mut p = [0; 2];
        // SAFETY: p has room for two fds.
        assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        fds.extend(p);
        let (s1, _s2) = std::os::unix::net::UnixStream::pair().unwrap();
        fds.push(s1.into_raw_fd());
        std::mem::forget(_s2);
        // SAFETY: registering a plain extern "C" fn.
        unsafe { libc::atexit(cleanup) };
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::syscall(libc::SYS_gettid) } as i32;
        let strict = std::env::var_os("CATBOX_FUZZ_LENIENT").is_none();
        Env {
            root,
            fds,
            tid,
            strict,
        }
    })
}

fn check_split_last(p: &[u8]) {
    let (dir, last, trailing) = split_last(p);
    assert_eq!(
        trailing,
        p.len() > 1 && p.last() == Some(&b'/'),
        "trailing of {p:?}"
    );
    let mut end = p.len();
    while end > 1 && p[end - 1] == b'/' {
        end -= 1;
    }
    let stripped = &p[..end];
    match last {
        Some(last) => {
            assert!(!last.contains(&b'/'), "{p:?}");
            assert!(last != b"." && last != b"..", "{p:?}");
            assert!(!last.is_empty() || p.is_empty(), "empty last of {p:?}");
            let joined = [dir, b"/", last].concat();
            assert!(
                stripped == joined
                    || (dir == b"/" && stripped == [b"/", last].concat())
                    || (dir.is_empty() && stripped == last),
                "split_last({p:?}) = ({dir:?}, {last:?})"
            );
        }
        None => {
            assert_eq!(dir, stripped, "{p:?}");
            assert!(
                dir == b"/"
                    || dir == b"."
                    || dir == b".."
                    || dir.ends_with(b"/.")
                    || dir.ends_with(b"/.."),
                "no last for {p:?}"
            );
        }
    }
}

fn check_canonical(out: &[u8], what: &dyn std::fmt::Debug) {
    assert_eq!(
        out.first(),
        Some(&b'/'),
        "not absolute: {out:?} for {what:?}"
    );
    if out == b"/" {
        return;
    }
    assert!(!out.ends_with(b"/"), "trailing slash: {out:?} for {what:?}");
    for c in out[1..].split(|&c| c == b'/') {
        assert!(
            !c.is_empty() && c != b"." && c != b"..",
            "non-canonical component {:?} in {:?} for {what:?}",
            String::from_utf8_lossy(c),
            String::from_utf8_lossy(out)
        );
    }
    assert!(!out.contains(&0), "NUL in {out:?}");
}

/// What the kernel makes of the same request: (canonical, file type), or
/// None if it cannot say (it fails, or the name is too long to read).
fn kernel(req: &Request<'_>) -> Option<(Vec<u8>, u32)> {
    let fd = match req.path {
        None => {
            // SAFETY: dup of any number is harmless.
            let fd = unsafe { libc::fcntl(req.dirfd, libc::F_DUPFD_CLOEXEC, 0) };
            if fd < 0 {
                return None;
            }
            fd
        }
        Some(p) => {
            if p.len() >= PATH_MAX {
                return None;
            }
            let c = CString::new(p).ok()?;
            let mut flags = libc::O_PATH | libc::O_CLOEXEC;
            if !req.follow {
                flags |= libc::O_NOFOLLOW;
            }
            if req.in_root {
                #[repr(C)]
                struct How {
                    flags: u64,
                    mode: u64,
                    resolve: u64,
                }
                let how = How {
                    flags: flags as u64,
                    mode: 0,
                    resolve: 0x10,
                };
                // SAFETY: a valid C string and open_how.
                let fd = unsafe {
                    libc::syscall(
                        libc::SYS_openat2,
                        req.dirfd,
                        c.as_ptr(),
                        &how,
                        std::mem::size_of::<How>(),
                    )
                };
                if fd < 0 {
                    return None;
                }
                fd as RawFd
            } else {
                // SAFETY: a valid C string.
                let fd = unsafe { libc::openat(req.dirfd, c.as_ptr(), flags) };
                if fd < 0 {
                    return None;
                }
                fd
            }
        }
    };
    // SAFETY: fd is ours; st is written by fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::fstat(fd, &mut st) } == 0;
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}"));
    // SAFETY: fd is ours.
    unsafe { libc::close(fd) };
    let link = link.ok()?;
    if !ok {
        return None;
    }
    Some((
        link.as_os_str().as_bytes().to_vec(),
        st.st_mode & libc::S_IFMT,
    ))
}

thread_local! {
    static RESOLVER: std::cell::RefCell<Resolver> = std::cell::RefCell::new(Resolver::new().unwrap());
}

fuzz_target!(|data: &[u8]| {
    let env = env();
    let Some((&flags, path)) = data.split_first() else {
        return;
    };
    check_split_last(path);
    let follow = flags & 1 != 0;
    let in_root = flags & 2 != 0;
    let no_path = flags & 4 != 0;
    let sel = (flags >> 3) as usize;
    let dirfd = match sel {
        0..=9 => AT_FDCWD,
        10 => -1,
        11 => 1_000_000,
        12 => 0,
        n => env.fds[(n - 13) % env.fds.len()],
    };
    let req = Request {
        tid: env.tid,
        dirfd,
        path: if no_path { None } else { Some(path) },
        follow,
        in_root,
    };
    let mut out = Vec::new();
    let res = RESOLVER.with(|r| r.borrow_mut().resolve(&req, &mut out));
    match res {
        Ok(Target::NotAPath) => {
            assert!(
                !out.is_empty() && out[0] != b'/',
                "NotAPath with a path: {out:?} for {req:?}"
            );
        }
        Ok(t) => {
            check_canonical(&out, &req);
            if let Some(p) = req.path {
                // Not followed, a missing last component is kept as written.
                if let (_, Some(last), false) = split_last(p) {
                    if t == Target::Missing && !req.follow {
                        assert!(
                            out.ends_with(last),
                            "missing last {last:?} not kept: {out:?}"
                        );
                    }
                }
            }
        }
        Err(e) => assert!(e > 0 && e < 4096, "bad errno {e} for {req:?}"),
    }
    // The kernel as the oracle, where it can answer. It found that the
    // resolver named `/proc/thread-self` `/proc/<tid>` where the kernel names
    // it `/proc/<tgid>/task/<tid>` (fixed; regressions/paths/thread-self-*);
    // CATBOX_FUZZ_LENIENT=1 skips the oracle for such requests.
    let thread_self = req
        .path
        .is_some_and(|p| p.windows(11).any(|w| w == b"thread-self"));
    let known = |k: &[u8]| !env.strict && (thread_self || is_task_path(k));
    if let Some((kpath, kmode)) = kernel(&req).filter(|(k, _)| !known(k)) {
        let what = format!(
            "{req:?} (path {:?}): resolver {:?} {:?}, kernel {:?} {kmode:o}",
            req.path.map(String::from_utf8_lossy),
            res,
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&kpath),
        );
        match res {
            Ok(Target::Exists(mode)) => {
                assert_eq!(mode, kmode, "file type differs: {what}");
                assert_eq!(out, kpath, "canonical differs: {what}");
            }
            Ok(Target::NotAPath) => assert_eq!(out, kpath, "non-path differs: {what}"),
            Ok(Target::Missing) => panic!("resolver says missing, kernel opened it: {what}"),
            Err(_) => panic!("resolver failed, kernel opened it: {what}"),
        }
    }
});
