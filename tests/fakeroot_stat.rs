//! Fakeroot mode answers most stat calls at their seccomp stop: the
//! supervisor does the lookup, patches the owner and writes the buffer into
//! the tracee (one stop instead of an entry and an exit stop). What the
//! tracee sees must be byte for byte what the kernel would have written,
//! apart from the faked owner: `tests/c/stat_compare.c` makes every stat
//! call (paths relative, absolute, through a dirfd, symlinks followed or
//! not, trailing slashes, missing files, fds of files, directories, `O_PATH`
//! links, pipes, bad fds, bad flags, masks and buffers, `/proc/self`) and
//! prints each result raw; a native run and a `--fakeroot` run must agree.

mod common;

use std::os::unix::fs::{symlink, PermissionsExt};
use std::process::{Command, Stdio};

use common::{c_program, sb_opts, Dirs};

/// The uid and gid of the test process (0 only when the tests run as root).
fn me() -> (u32, u32) {
    // SAFETY: getuid/getgid cannot fail.
    unsafe { (libc::getuid(), libc::getgid()) }
}

/// A native result line as fakeroot shows it: the test user's ids are 0.
fn as_fakeroot(line: &str) -> String {
    let (uid, gid) = me();
    line.split(' ')
        .map(|w| match w.split_once('=') {
            Some(("uid", v)) if v == uid.to_string() => "uid=0".to_string(),
            Some(("gid", v)) if v == gid.to_string() => "gid=0".to_string(),
            _ => w.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The result part of a line (`rc=` and `errno=`), for results that differ
/// between any two runs (a pipe's inode and times).
fn rc_of(line: &str) -> String {
    line.split(' ')
        .filter(|w| w.starts_with("rc=") || w.starts_with("errno=") || !w.contains('='))
        .filter(|w| w.len() < 64)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn emulated_stat_calls_match_the_kernel() {
    let dirs = Dirs::new("fr-statcmp");
    let t = dirs.allowed.join("t");
    std::fs::create_dir_all(t.join("d")).unwrap();
    std::fs::write(t.join("f"), b"hello\n").unwrap();
    std::fs::write(t.join("d/g"), b"g\n").unwrap();
    symlink("f", t.join("l")).unwrap();
    symlink("d", t.join("dl")).unwrap();
    symlink("missing", t.join("x")).unwrap();
    // Unsearchable (EACCES below it, unless the tests run as root).
    std::fs::create_dir(t.join("n")).unwrap();
    std::fs::set_permissions(t.join("n"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let prog = c_program("stat_compare");

    // Run twice natively: the first exec of the fresh binary moves its
    // atime (relatime), which `stat /proc/self/exe` shows.
    let native = || {
        Command::new(&prog)
            .arg(&t)
            .current_dir("/")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    native();
    let native = native();
    assert!(native.status.success(), "{native:?}");
    let native = String::from_utf8(native.stdout).unwrap();
    let run = sb_opts(
        &dirs,
        &["--fakeroot"],
        &[prog.display().to_string(), t.display().to_string()],
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();

    let want: Vec<&str> = native.lines().collect();
    let got: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(want.len(), got.len(), "{}", run.describe());
    assert!(want.len() > 1000, "{native}");
    for (w, g) in want.iter().zip(&got) {
        // A pipe's inode and times, and a /proc/self symlink itself, are
        // new in every run.
        let op = w.split(' ').next().unwrap_or_default();
        let arg = w.split(' ').nth(1).unwrap_or_default();
        let proc_link = (arg.starts_with("/proc/self/") || arg.starts_with("/dev/fd/"))
            && (op == "lstat"
                || op.contains("nofollow")
                || op.contains("-100-")
                || op.contains("-2100-"));
        if w.contains("-pipe") || proc_link {
            assert_eq!(rc_of(w), rc_of(g));
        } else {
            assert_eq!(as_fakeroot(w), *g, "native (ids mapped) vs --fakeroot");
        }
    }
    for line in ["proc-self-status-same=1", "dev-fd-same=1"] {
        assert!(got.contains(&line), "{}", run.describe());
    }
    // The test user's files appear owned by root.
    assert!(
        got.iter()
            .any(|l| l.starts_with("stat f ") && l.contains(" uid=0 gid=0 ")),
        "{}",
        run.describe()
    );
}
