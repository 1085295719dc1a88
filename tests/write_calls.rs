//! Table-driven test of every write call of SPEC §3.2, each done with a raw
//! `syscall()` by `tests/c/write_calls.c`.
//!
//! For each call: run on `$OUT` (outside every rule) → the call fails with
//! `EACCES` (exit 1), exactly one violation with the syscall's name, the path
//! as passed and the canonical path, and nothing changed on disk; run on
//! `$ALLOWED` → exit 0, no violation, and the effect is there.
//! Two-path calls (rename, link) are checked in both directions.

mod common;

use common::{c_program, sb_opts, Dirs, Run};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

const OLD_MTIME: i64 = 978_307_200; // 2001-01-01
const SET_MTIME: i64 = 1_000_000_000; // what the C program sets

/// What the call must have done when run on the allowed directory.
#[derive(Clone, Copy, Debug)]
enum Effect {
    /// `new` (in the destination dir) exists with this kind ('f', 'd', 'l', 'p').
    Created(char),
    /// `new` is a regular file holding exactly these bytes.
    CreatedWith(&'static [u8]),
    /// `f` holds exactly these bytes.
    Content(&'static [u8]),
    /// this name is gone.
    Gone(&'static str),
    /// `f` is gone and `new` holds the old content of `f`.
    Renamed,
    /// `new` is a hard link to `f`.
    Linked,
    /// `f` has this permission mode.
    Mode(u32),
    /// `f`'s ctime changed (chown to the same ids).
    CtimeChanged,
    /// `f`'s mtime is this many seconds.
    Mtime(i64),
    /// `f`'s mtime is no longer the 2001 one.
    MtimeChanged,
    /// `f`'s xattr user.test has this value (None: absent).
    Xattr(Option<&'static [u8]>),
    /// `sock` is a unix socket.
    Socket,
    /// nothing visible (the call succeeded: that is the check).
    Nothing,
}

/// Metadata of one directory entry, for "nothing changed" checks.
#[derive(Debug, PartialEq, Eq)]
struct Meta {
    path: PathBuf,
    kind: char,
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
    ino: u64,
    nlink: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    content: Option<Vec<u8>>,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

fn kind_of(m: &std::fs::Metadata) -> char {
    let ft = m.file_type();
    use std::os::unix::fs::FileTypeExt;
    if ft.is_symlink() {
        'l'
    } else if ft.is_dir() {
        'd'
    } else if ft.is_file() {
        'f'
    } else if ft.is_fifo() {
        'p'
    } else if ft.is_socket() {
        's'
    } else {
        '?'
    }
}

fn cpath(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

fn get_xattr(p: &Path, name: &str) -> Option<Vec<u8>> {
    let c = cpath(p);
    let n = CString::new(name).unwrap();
    let mut buf = vec![0u8; 4096];
    let r = unsafe {
        libc::lgetxattr(
            c.as_ptr(),
            n.as_ptr(),
            buf.as_mut_ptr() as *mut libc::c_void,
            buf.len(),
        )
    };
    if r < 0 {
        None
    } else {
        buf.truncate(r as usize);
        Some(buf)
    }
}

fn xattrs(p: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let c = cpath(p);
    let mut buf = vec![0u8; 4096];
    let r =
        unsafe { libc::llistxattr(c.as_ptr(), buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
    if r <= 0 {
        return Vec::new();
    }
    buf.truncate(r as usize);
    let mut v: Vec<(Vec<u8>, Vec<u8>)> = buf
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| {
            let name = String::from_utf8_lossy(n).into_owned();
            (n.to_vec(), get_xattr(p, &name).unwrap_or_default())
        })
        .collect();
    v.sort();
    v
}

fn meta(p: &Path) -> Meta {
    let m = std::fs::symlink_metadata(p).unwrap();
    let kind = kind_of(&m);
    Meta {
        path: p.to_path_buf(),
        kind,
        mode: m.mode(),
        uid: m.uid(),
        gid: m.gid(),
        size: m.size(),
        ino: m.ino(),
        nlink: m.nlink(),
        mtime: (m.mtime(), m.mtime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
        content: if kind == 'f' {
            Some(std::fs::read(p).unwrap())
        } else {
            None
        },
        xattrs: xattrs(p),
    }
}

/// The directory itself and everything below it.
fn snapshot(dir: &Path) -> Vec<Meta> {
    let mut v = vec![meta(dir)];
    for p in common::listing(dir) {
        v.push(meta(&p));
    }
    v
}

/// The fixture described in `tests/c/write_calls.c`. Returns whether the file
/// system supports user xattrs.
fn fixture(dir: &Path) -> bool {
    let f = dir.join("f");
    std::fs::write(&f, b"data\n").unwrap();
    std::fs::write(dir.join("victim"), b"victim\n").unwrap();
    std::fs::create_dir(dir.join("d")).unwrap();
    let c = cpath(&f);
    let ts = [
        libc::timespec {
            tv_sec: OLD_MTIME as libc::time_t,
            tv_nsec: 0,
        },
        libc::timespec {
            tv_sec: OLD_MTIME as libc::time_t,
            tv_nsec: 0,
        },
    ];
    unsafe {
        assert_eq!(libc::chmod(c.as_ptr(), 0o644), 0);
        assert_eq!(
            libc::utimensat(libc::AT_FDCWD, c.as_ptr(), ts.as_ptr(), 0),
            0
        );
    }
    let n = CString::new("user.test").unwrap();
    let r = unsafe {
        libc::setxattr(
            c.as_ptr(),
            n.as_ptr(),
            b"v".as_ptr() as *const libc::c_void,
            1,
            0,
        )
    };
    r == 0
}

fn canon(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir).unwrap()
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

fn run_prog(dirs: &Dirs, opts: &[&str], args: &[&str]) -> Run {
    let prog = c_program("write_calls");
    let mut v = vec![s(&prog)];
    v.extend(args.iter().map(|a| a.to_string()));
    // let ctime/mtime "now" differ from the fixture's, whatever the clock granularity
    std::thread::sleep(std::time::Duration::from_millis(20));
    sb_opts(dirs, opts, &v)
}

fn xattr_unsupported(run: &Run) -> bool {
    run.status == 2 && run.stdout.contains("errno=EOPNOTSUPP")
}

/// Checks a run on an outside target: EACCES (exit 1), exactly one violation
/// (op, path, canonical), and both directories unchanged.
fn expect_denied(dirs: &Dirs, args: &[&str], op: &str, path: &str, canonical: &str) {
    let before_out = snapshot(&dirs.out);
    let before_in = snapshot(&dirs.allowed);
    let run = run_prog(dirs, &[], args);
    assert_eq!(
        run.status,
        1,
        "{args:?}: expected EACCES (exit 1): {}",
        run.describe()
    );
    run.assert_one_violation(op, path, canonical);
    assert_eq!(
        snapshot(&dirs.out),
        before_out,
        "{args:?}: $OUT changed by a denied call: {}",
        run.describe()
    );
    assert_eq!(
        snapshot(&dirs.allowed),
        before_in,
        "{args:?}: $ALLOWED changed by a denied call: {}",
        run.describe()
    );
}

/// Checks a run on the allowed directory: exit 0, no violation, the effect.
/// `xattr_ok`: accept EOPNOTSUPP when the fs has no user xattrs.
fn expect_allowed(dirs: &Dirs, args: &[&str], effect: Effect, xattr_ok: bool) {
    let dir = &dirs.allowed;
    let before = snapshot(dir);
    let f = dir.join("f");
    let old_f = std::fs::symlink_metadata(&f).ok();
    let run = run_prog(dirs, &[], args);
    run.assert_no_violations();
    if xattr_ok && xattr_unsupported(&run) {
        eprintln!("{args:?}: no user xattrs on this fs, effect not checked");
        return;
    }
    assert_eq!(
        run.status,
        0,
        "{args:?}: expected success: {}",
        run.describe()
    );
    let new = dir.join("new");
    let why = format!("{args:?}: effect {effect:?} missing: {}", run.describe());
    match effect {
        Effect::Created(k) => {
            let m = std::fs::symlink_metadata(&new).expect(&why);
            assert_eq!(kind_of(&m), k, "{why}");
        }
        Effect::CreatedWith(c) => {
            assert_eq!(std::fs::read(&new).expect(&why), c, "{why}");
        }
        Effect::Content(c) => {
            assert_eq!(std::fs::read(&f).expect(&why), c, "{why}");
        }
        Effect::Gone(name) => {
            assert!(std::fs::symlink_metadata(dir.join(name)).is_err(), "{why}");
        }
        Effect::Renamed => {
            assert!(std::fs::symlink_metadata(&f).is_err(), "{why}");
            assert_eq!(std::fs::read(&new).expect(&why), b"data\n", "{why}");
        }
        Effect::Linked => {
            let a = std::fs::metadata(&f).expect(&why);
            let b = std::fs::metadata(&new).expect(&why);
            assert_eq!(a.ino(), b.ino(), "{why}");
            assert_eq!(a.nlink(), 2, "{why}");
        }
        Effect::Mode(m) => {
            assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o7777, m, "{why}");
        }
        Effect::CtimeChanged => {
            let old = old_f.unwrap();
            let now = std::fs::metadata(&f).unwrap();
            assert_ne!(
                (now.ctime(), now.ctime_nsec()),
                (old.ctime(), old.ctime_nsec()),
                "{why}"
            );
        }
        Effect::Mtime(t) => {
            assert_eq!(std::fs::metadata(&f).unwrap().mtime(), t, "{why}");
        }
        Effect::MtimeChanged => {
            assert_ne!(std::fs::metadata(&f).unwrap().mtime(), OLD_MTIME, "{why}");
        }
        Effect::Xattr(v) => {
            assert_eq!(get_xattr(&f, "user.test").as_deref(), v, "{why}");
        }
        Effect::Socket => {
            let m = std::fs::symlink_metadata(dir.join("sock")).expect(&why);
            assert_eq!(kind_of(&m), 's', "{why}");
        }
        Effect::Nothing => {
            assert_eq!(snapshot(dir).len(), before.len(), "{why}");
        }
    }
}

/// A one-path call: `name` is the file it acts on ("" = the directory
/// itself), `fd_only` for calls that take only an fd (recorded path "").
fn one_path(op: &str, syscall: &str, name: &str, fd_only: bool, effect: Effect) {
    let dirs = Dirs::new(&format!("wc-{op}"));
    fixture(&dirs.out);
    let xattr_in = fixture(&dirs.allowed);
    let out = s(&dirs.out);
    let (path, canonical) = if name.is_empty() {
        (out.clone(), s(&canon(&dirs.out)))
    } else {
        (format!("{out}/{name}"), s(&canon(&dirs.out).join(name)))
    };
    let path = if fd_only { String::new() } else { path };
    expect_denied(&dirs, &[op, &out], syscall, &path, &canonical);
    let is_xattr = op.contains("xattr");
    expect_allowed(
        &dirs,
        &[op, &s(&dirs.allowed)],
        effect,
        is_xattr && !xattr_in,
    );
}

/// A two-path call (source `$X/f`, destination `$Y/new`): denied from
/// allowed to outside (violation on the destination) and from outside to
/// allowed (violation on the source); allowed when both are allowed.
fn two_paths(op: &str, syscall: &str, effect: Effect) {
    // allowed -> outside
    let dirs = Dirs::new(&format!("wc-{op}-in2out"));
    fixture(&dirs.out);
    fixture(&dirs.allowed);
    let (out, inn) = (s(&dirs.out), s(&dirs.allowed));
    expect_denied(
        &dirs,
        &[op, &inn, &out],
        syscall,
        &format!("{out}/new"),
        &s(&canon(&dirs.out).join("new")),
    );
    // outside -> allowed
    expect_denied(
        &dirs,
        &[op, &out, &inn],
        syscall,
        &format!("{out}/f"),
        &s(&canon(&dirs.out).join("f")),
    );
    // allowed -> allowed
    expect_allowed(&dirs, &[op, &inn, &inn], effect, false);
}

macro_rules! one {
    ($test:ident, $op:expr, $sys:expr, $name:expr, $effect:expr) => {
        #[test]
        fn $test() {
            one_path($op, $sys, $name, false, $effect);
        }
    };
}

macro_rules! one_fd {
    ($test:ident, $op:expr, $sys:expr, $effect:expr) => {
        #[test]
        fn $test() {
            one_path($op, $sys, "f", true, $effect);
        }
    };
}

macro_rules! two {
    ($test:ident, $op:expr, $sys:expr, $effect:expr) => {
        #[test]
        fn $test() {
            two_paths($op, $sys, $effect);
        }
    };
}

// open family
one!(
    open_wronly_creat,
    "open_creat",
    "open",
    "new",
    Effect::CreatedWith(b"X")
);
one!(
    open_rdwr_existing,
    "open_rdwr",
    "open",
    "f",
    Effect::Content(b"Xata\n")
);
one!(
    open_rdonly_trunc,
    "open_trunc",
    "open",
    "f",
    Effect::Content(b"")
);
one!(creat, "creat", "creat", "new", Effect::CreatedWith(b"X"));
one!(openat, "openat", "openat", "new", Effect::CreatedWith(b"X"));
one!(
    openat2,
    "openat2",
    "openat2",
    "new",
    Effect::CreatedWith(b"X")
);
// O_TMPFILE names the directory; canonical = the directory
one!(open_tmpfile, "o_tmpfile", "open", "", Effect::Nothing);
one!(truncate, "truncate", "truncate", "f", Effect::Content(b""));

// names
one!(mkdir, "mkdir", "mkdir", "new", Effect::Created('d'));
one!(mkdirat, "mkdirat", "mkdirat", "new", Effect::Created('d'));
one!(rmdir, "rmdir", "rmdir", "d", Effect::Gone("d"));
one!(unlink, "unlink", "unlink", "victim", Effect::Gone("victim"));
one!(
    unlinkat,
    "unlinkat",
    "unlinkat",
    "victim",
    Effect::Gone("victim")
);
one!(
    unlinkat_removedir,
    "unlinkat_removedir",
    "unlinkat",
    "d",
    Effect::Gone("d")
);
two!(rename, "rename", "rename", Effect::Renamed);
two!(renameat, "renameat", "renameat", Effect::Renamed);
two!(renameat2, "renameat2", "renameat2", Effect::Renamed);
two!(link, "link", "link", Effect::Linked);
two!(linkat, "linkat", "linkat", Effect::Linked);
one!(symlink, "symlink", "symlink", "new", Effect::Created('l'));
one!(
    symlinkat,
    "symlinkat",
    "symlinkat",
    "new",
    Effect::Created('l')
);
one!(mknod_fifo, "mknod", "mknod", "new", Effect::Created('p'));
one!(
    mknodat_fifo,
    "mknodat",
    "mknodat",
    "new",
    Effect::Created('p')
);

// metadata
one!(chmod, "chmod", "chmod", "f", Effect::Mode(0o600));
one!(fchmodat, "fchmodat", "fchmodat", "f", Effect::Mode(0o600));
one!(
    fchmodat2,
    "fchmodat2",
    "fchmodat2",
    "f",
    Effect::Mode(0o600)
);
one!(chown_own_uid, "chown", "chown", "f", Effect::CtimeChanged);
one!(
    lchown_own_uid,
    "lchown",
    "lchown",
    "f",
    Effect::CtimeChanged
);
one!(
    fchownat_own_uid,
    "fchownat",
    "fchownat",
    "f",
    Effect::CtimeChanged
);
one_fd!(fchown_readonly_fd, "fchown", "fchown", Effect::CtimeChanged);
one_fd!(fchmod_readonly_fd, "fchmod", "fchmod", Effect::Mode(0o600));
one!(utime, "utime", "utime", "f", Effect::Mtime(SET_MTIME));
one!(utimes, "utimes", "utimes", "f", Effect::Mtime(SET_MTIME));
one!(
    futimesat,
    "futimesat",
    "futimesat",
    "f",
    Effect::Mtime(SET_MTIME)
);
one!(
    utimensat_path,
    "utimensat",
    "utimensat",
    "f",
    Effect::Mtime(SET_MTIME)
);
one_fd!(
    utimensat_fd_null,
    "utimensat_fd",
    "utimensat",
    Effect::MtimeChanged
);

// xattrs
one!(
    setxattr,
    "setxattr",
    "setxattr",
    "f",
    Effect::Xattr(Some(b"w"))
);
one!(
    lsetxattr,
    "lsetxattr",
    "lsetxattr",
    "f",
    Effect::Xattr(Some(b"w"))
);
one_fd!(
    fsetxattr,
    "fsetxattr",
    "fsetxattr",
    Effect::Xattr(Some(b"w"))
);
one!(
    removexattr,
    "removexattr",
    "removexattr",
    "f",
    Effect::Xattr(None)
);
one!(
    lremovexattr,
    "lremovexattr",
    "lremovexattr",
    "f",
    Effect::Xattr(None)
);
one_fd!(
    fremovexattr,
    "fremovexattr",
    "fremovexattr",
    Effect::Xattr(None)
);

// the rest
one!(bind_unix_socket, "bind", "bind", "sock", Effect::Socket);
one!(
    name_to_handle_at,
    "name_to_handle_at",
    "name_to_handle_at",
    "f",
    Effect::Nothing
);

/// A read-only open of an outside file is no write: it succeeds, no violation.
#[test]
fn open_rdonly_outside_is_no_violation() {
    let dirs = Dirs::new("wc-rdonly");
    fixture(&dirs.out);
    let before = snapshot(&dirs.out);
    let run = run_prog(&dirs, &[], &["open_rdonly", &s(&dirs.out)]);
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    assert_eq!(snapshot(&dirs.out), before);
}

/// `--collect-only`: the outside call runs and is still recorded.
#[test]
fn collect_only_lets_the_call_through_and_records_it() {
    let dirs = Dirs::new("wc-collect");
    fixture(&dirs.out);
    let out = s(&dirs.out);
    let run = run_prog(&dirs, &["--collect-only"], &["open_creat", &out]);
    assert_eq!(run.status, 0, "{}", run.describe());
    let t: Vec<_> = run
        .tuples()
        .into_iter()
        .map(|(op, p, c, _errno)| (op, p, c))
        .collect();
    assert_eq!(
        t,
        vec![(
            "open".to_string(),
            format!("{out}/new"),
            s(&canon(&dirs.out).join("new"))
        )],
        "{}",
        run.describe()
    );
    assert_eq!(
        std::fs::read(dirs.out.join("new")).ok().as_deref(),
        Some(&b"X"[..]),
        "{}",
        run.describe()
    );

    // a metadata call too
    let run = run_prog(&dirs, &["--collect-only"], &["chmod", &out]);
    assert_eq!(run.status, 0, "{}", run.describe());
    assert_eq!(run.violations().len(), 1, "{}", run.describe());
    assert_eq!(run.violations()[0]["operation"], "chmod");
    assert_eq!(
        std::fs::metadata(dirs.out.join("f")).unwrap().mode() & 0o7777,
        0o600
    );
}

/// Sanity check of the fixture/program without catbox: every call succeeds
/// natively (so a failure under catbox is catbox's doing).
#[test]
fn native_all_calls_succeed() {
    let ops = [
        "open_creat",
        "open_rdwr",
        "open_trunc",
        "creat",
        "openat",
        "openat2",
        "o_tmpfile",
        "truncate",
        "mkdir",
        "mkdirat",
        "rmdir",
        "unlink",
        "unlinkat",
        "unlinkat_removedir",
        "rename",
        "renameat",
        "renameat2",
        "link",
        "linkat",
        "symlink",
        "symlinkat",
        "mknod",
        "mknodat",
        "chmod",
        "fchmodat",
        "fchmodat2",
        "chown",
        "lchown",
        "fchownat",
        "fchown",
        "fchmod",
        "utime",
        "utimes",
        "futimesat",
        "utimensat",
        "utimensat_fd",
        "setxattr",
        "lsetxattr",
        "fsetxattr",
        "removexattr",
        "lremovexattr",
        "fremovexattr",
        "bind",
        "name_to_handle_at",
        "open_rdonly",
    ];
    let prog = c_program("write_calls");
    for op in ops {
        let dirs = Dirs::new("wc-native");
        let xattr = fixture(&dirs.out);
        let out = std::process::Command::new(&prog)
            .arg(op)
            .arg(&dirs.out)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !xattr && op.contains("xattr") && stdout.contains("EOPNOTSUPP") {
            continue;
        }
        assert!(out.status.success(), "native {op}: {stdout}");
    }
}
