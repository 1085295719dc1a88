//! The escape test suite of issue 8: every known way around a ptrace
//! sandbox, each trying to create or modify a file outside the writable
//! paths. Each test says what must happen: the attempt fails with a violation
//! recorded, or the process is killed (said so), and nothing outside changes.
//!
//! Cases 10 and 11 (check-then-use races) may get writes out in plain mode:
//! those tests measure and print how many (`RACE ...` lines, run with
//! `--nocapture` to see them); in `--hardened` mode (Landlock) none may.
//! The P1 cases of cases.md (C5, C6, C7, C11, C12, C19), tested in plain
//! mode elsewhere, run here once in `--hardened` mode.
//!
//! Every run is bounded: a catbox still running after [`LIMIT`] is killed with
//! its whole process group and the test fails. The race loops stop after
//! [`RACE_TRIES`] tries or [`RACE_SECONDS`], whichever comes first.

mod common;

use common::bounded::{kill_group, lossy, run_bounded, Raw};

use common::{c_program, catbox_bin, listing, sb_opts, Dirs, Run};
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest any single sandboxed run may take.
const LIMIT: Duration = Duration::from_secs(30);
/// Tries of each race loop (cases 10 and 11).
const RACE_TRIES: u64 = 100_000;
/// Time bound of each race loop, in seconds.
const RACE_SECONDS: u64 = 20;

const SIGSYS_STATUS: i32 = 128 + libc::SIGSYS;

// ---------------------------------------------------------------------------
// helpers

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

fn canon(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

fn cj(dir: &Path, name: &str) -> String {
    s(&canon(dir).join(name))
}

fn prog(name: &str) -> String {
    s(&c_program(name))
}

fn hardened_available() -> bool {
    if catbox_core::landlock_abi().is_none() {
        println!("SKIP: Landlock is not available on this kernel; --hardened cannot run");
        return false;
    }
    true
}

/// `catbox -w ALLOWED --report R OPTS -- ARGS`, from cwd "/", bounded.
fn sbo<S: AsRef<OsStr>>(dirs: &Dirs, opts: &[&str], args: &[S]) -> Run {
    let report = dirs.report_path();
    let _ = std::fs::remove_file(&report);
    let mut cmd = Command::new(catbox_bin());
    cmd.arg("-w")
        .arg(&dirs.allowed)
        .arg("--report")
        .arg(&report)
        .args(opts)
        .arg("--")
        .args(args)
        .current_dir("/");
    let raw = run_bounded(cmd, LIMIT);
    let stdout = lossy(&raw.stdout);
    let stderr = lossy(&raw.stderr);
    let text = std::fs::read_to_string(&report).unwrap_or_else(|e| {
        panic!(
            "no report at {}: {e}; status={} stdout={stdout:?} stderr={stderr:?}",
            report.display(),
            raw.status
        )
    });
    let report: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("bad JSON report: {e}; stderr={stderr:?}"));
    Run {
        status: raw.status,
        stdout,
        stderr,
        report,
    }
}

fn sb<S: AsRef<OsStr>>(dirs: &Dirs, args: &[S]) -> Run {
    sbo(dirs, &[], args)
}

fn sbh<S: AsRef<OsStr>>(dirs: &Dirs, args: &[S]) -> Run {
    sbo(dirs, &["--hardened"], args)
}

/// The same program run natively (no catbox), bounded; for the controls that
/// show a reproducer really writes without the sandbox.
fn native<S: AsRef<OsStr>>(args: &[S]) -> Raw {
    let mut cmd = Command::new(args[0].as_ref());
    cmd.args(&args[1..]).current_dir("/");
    run_bounded(cmd, LIMIT)
}

fn ops(run: &Run) -> Vec<(String, String, String)> {
    run.tuples()
        .into_iter()
        .map(|(o, p, c, _)| (o, p, c))
        .collect()
}

fn t3(op: &str, path: &str, canonical: &str) -> (String, String, String) {
    (op.to_string(), path.to_string(), canonical.to_string())
}

fn assert_unchanged(dir: &Path, before: &[PathBuf], run: &Run) {
    assert_eq!(
        listing(dir),
        before,
        "{} changed: a write got out; {}",
        dir.display(),
        run.describe()
    );
}

fn assert_all_eacces(run: &Run) {
    for v in run.violations() {
        assert_eq!(v["errno"], "EACCES", "{}", run.describe());
    }
}

/// The value of `key=N` in a line of `text`.
fn field(text: &str, key: &str) -> Option<u64> {
    let pat = format!("{key}=");
    text.split_whitespace()
        .find_map(|w| w.strip_prefix(&pat))
        .and_then(|v| v.parse().ok())
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

// ---------------------------------------------------------------------------
// 1, 2: other system call ABIs: the process is killed (SIGSYS)

/// Case 1: `int 0x80` (the i386 ABI) `creat` of an outside file. The seccomp
/// filter kills the process (SECCOMP_RET_KILL_PROCESS): catbox exits
/// 128+SIGSYS, the report says signal 31, and no file appears.
#[test]
fn int80_creat_outside_kills_the_process_with_sigsys() {
    let dirs = Dirs::new("esc-int80");
    let control = Dirs::new("esc-int80-native");
    let raw = native(&[prog("escape_int80"), s(&control.out.join("f"))]);
    let emulated = control.out.join("f").exists();
    println!(
        "int 0x80 natively: status {} stdout {:?} (ia32 emulation {})",
        raw.status,
        lossy(&raw.stdout),
        if emulated {
            "on: the reproducer writes"
        } else {
            "off"
        }
    );
    let target = dirs.out.join("f");
    let run = sb(&dirs, &[prog("escape_int80"), s(&target)]);
    assert_eq!(
        run.status,
        SIGSYS_STATUS,
        "killed by SIGSYS: {}",
        run.describe()
    );
    assert_eq!(run.report["signal"], libc::SIGSYS, "{}", run.describe());
    assert!(run.report["exit_code"].is_null(), "{}", run.describe());
    assert!(
        !run.stdout.contains("int80 creat ->"),
        "the call returned: {}",
        run.describe()
    );
    assert!(!target.exists(), "{}", run.describe());
    assert!(listing(&dirs.out).is_empty(), "{}", run.describe());
}

/// Case 2: x32 system call numbers (`nr | 0x40000000`): killed by SIGSYS,
/// whether or not the kernel has the x32 ABI.
#[test]
fn x32_open_outside_kills_the_process_with_sigsys() {
    let dirs = Dirs::new("esc-x32");
    let control = Dirs::new("esc-x32-native");
    let raw = native(&[prog("escape_x32"), s(&control.out.join("f"))]);
    println!(
        "x32 natively: status {} stdout {:?} (x32 ABI {})",
        raw.status,
        lossy(&raw.stdout),
        if listing(&control.out).is_empty() {
            "off"
        } else {
            "on: the reproducer writes"
        }
    );
    let target = dirs.out.join("f");
    let run = sb(&dirs, &[prog("escape_x32"), s(&target)]);
    assert_eq!(
        run.status,
        SIGSYS_STATUS,
        "killed by SIGSYS: {}",
        run.describe()
    );
    assert_eq!(run.report["signal"], libc::SIGSYS, "{}", run.describe());
    assert!(!run.stdout.contains("x32 open ->"), "{}", run.describe());
    assert!(listing(&dirs.out).is_empty(), "{}", run.describe());
}

// ---------------------------------------------------------------------------
// 3: io_uring

/// Case 3: io_uring_setup, then IORING_OP_OPENAT + IORING_OP_WRITE of an
/// outside file. The setup is denied (EACCES) with a violation
/// `io_uring_setup`, so no operation can be submitted.
#[test]
fn io_uring_open_and_write_outside_is_denied_at_setup() {
    let dirs = Dirs::new("esc-uring");
    let control = Dirs::new("esc-uring-native");
    let raw = native(&[prog("escape_io_uring"), s(&control.out.join("f"))]);
    println!(
        "io_uring natively: status {} stdout {:?}",
        raw.status,
        lossy(&raw.stdout)
    );
    let target = dirs.out.join("f");
    let run = sb(&dirs, &[prog("escape_io_uring"), s(&target)]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(
        run.stdout.contains("io_uring_setup -> -1 errno=13"),
        "{}",
        run.describe()
    );
    let t = run.tuples();
    assert_eq!(t.len(), 1, "{}", run.describe());
    assert_eq!(t[0].0, "io_uring_setup", "{}", run.describe());
    assert_eq!(t[0].3, "EACCES", "{}", run.describe());
    assert!(listing(&dirs.out).is_empty(), "{}", run.describe());
}

// ---------------------------------------------------------------------------
// 4: CLONE_UNTRACED

/// Case 4: children made with CLONE_UNTRACED (fork-like, vfork-like, a
/// thread) stay traced because catbox clears the flag: each one's write is a
/// violation. clone3 with CLONE_UNTRACED fails with ENOSYS (or, if a libc
/// ever got a child from it, that child must be traced too). Nothing is
/// created outside.
#[test]
fn clone_untraced_children_are_still_traced() {
    let dirs = Dirs::new("esc-untraced");
    let base = canon(&dirs.out).join("u");
    let run = sb(&dirs, &[prog("escape_untraced"), s(&base)]);
    assert!(
        listing(&dirs.out).is_empty(),
        "an untraced child wrote: {}",
        run.describe()
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    assert!(run.stdout.contains("escaped=0"), "{}", run.describe());
    let t = ops(&run);
    for kind in ["fork", "vfork", "thread"] {
        let p = format!("{}.{kind}", s(&base));
        let recorded = t.contains(&t3("openat", &p, &p));
        let enosys = run.stdout.contains(&format!("{kind}: open -> -1 errno=38"));
        assert!(
            recorded || enosys,
            "the {kind} child's write was neither recorded nor failed: {}",
            run.describe()
        );
        println!(
            "CLONE_UNTRACED {kind}: {}",
            if recorded {
                "traced, violation recorded"
            } else {
                "untraced, ENOSYS"
            }
        );
    }
    let c3 = format!("{}.clone3", s(&base));
    assert!(
        run.stdout.contains("clone3: -> -1 errno=38") || t.contains(&t3("openat", &c3, &c3)),
        "{}",
        run.describe()
    );
    assert_all_eacces(&run);
}

// ---------------------------------------------------------------------------
// 5: open_by_handle_at

/// A raw `struct file_handle` of `path`, made natively in the test process.
fn file_handle(path: &Path) -> Result<Vec<u8>, std::io::Error> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let mut buf = vec![0u8; 8 + 128];
    buf[..4].copy_from_slice(&128u32.to_ne_bytes());
    let mut mount_id: libc::c_int = 0;
    // SAFETY: buf holds a struct file_handle with room for 128 handle bytes.
    let r = unsafe {
        libc::syscall(
            libc::SYS_name_to_handle_at,
            libc::AT_FDCWD,
            c.as_ptr(),
            buf.as_mut_ptr(),
            &mut mount_id as *mut libc::c_int,
            0,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let n = u32::from_ne_bytes(buf[..4].try_into().unwrap()) as usize;
    buf.truncate(8 + n);
    Ok(buf)
}

/// Case 5: open_by_handle_at with write flags on a handle of an outside file
/// (made natively, passed in a file) is denied with EACCES and a violation
/// before the kernel's own CAP_DAC_READ_SEARCH check; name_to_handle_at of an
/// outside file from inside is a violation too. The file is unchanged.
#[test]
fn open_by_handle_at_for_writing_is_denied() {
    let dirs = Dirs::new("esc-handle");
    let victim = dirs.out.join("victim");
    std::fs::write(&victim, b"orig\n").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o666)).unwrap();
    let handle = match file_handle(&victim) {
        Ok(h) => h,
        Err(e) => {
            println!("SKIP: name_to_handle_at on this filesystem: {e}");
            return;
        }
    };
    let hfile = dirs.root.join("handle");
    std::fs::write(&hfile, &handle).unwrap();
    let before = listing(&dirs.out);
    let run = sb(
        &dirs,
        &[prog("escape_handle"), s(&hfile), s(&dirs.out), s(&victim)],
    );
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        b"orig\n",
        "{}",
        run.describe()
    );
    assert_unchanged(&dirs.out, &before, &run);
    assert_eq!(run.status, 0, "{}", run.describe());
    for what in ["O_WRONLY", "O_RDWR|O_TRUNC", "O_WRONLY|O_APPEND"] {
        assert!(
            run.stdout
                .contains(&format!("open_by_handle_at({what}) -> -1 errno=EACCES")),
            "{what}: {}",
            run.describe()
        );
    }
    let t = run.tuples();
    let n_obh = t.iter().filter(|v| v.0 == "open_by_handle_at").count();
    assert_eq!(n_obh, 3, "{}", run.describe());
    assert!(
        t.iter()
            .any(|v| v.0 == "name_to_handle_at" && v.2 == cj(&dirs.out, "victim")),
        "{}",
        run.describe()
    );
    assert_all_eacces(&run);
    // what the read-only open gave (root: CAP_DAC_READ_SEARCH; a user: EPERM)
    for l in run
        .stdout
        .lines()
        .filter(|l| l.contains("O_RDONLY") || l.contains("read-only"))
    {
        println!("open_by_handle_at read-only: {l}");
    }
}

// ---------------------------------------------------------------------------
// 6: hard links

/// Case 6: a hard link of an outside file into the build dir (link, linkat,
/// linkat AT_EMPTY_PATH on a read-only fd, linkat of /proc/self/fd/N with
/// AT_SYMLINK_FOLLOW), then a write through the link. Every link is a
/// violation naming the outside file; the outside file is unchanged.
#[test]
fn hard_link_of_outside_file_then_write_changes_nothing_outside() {
    let dirs = Dirs::new("esc-link");
    let victim = dirs.out.join("victim");
    std::fs::write(&victim, b"orig\n").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o666)).unwrap();
    let before = listing(&dirs.out);
    let run = sb(
        &dirs,
        &[prog("escape_hardlink"), s(&victim), s(&dirs.allowed)],
    );
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        b"orig\n",
        "{}",
        run.describe()
    );
    assert_unchanged(&dirs.out, &before, &run);
    assert!(run.stdout.contains("wrote=0"), "{}", run.describe());
    assert_eq!(run.status, 0, "{}", run.describe());
    let t = run.tuples();
    let v = cj(&dirs.out, "victim");
    let links: Vec<_> = t
        .iter()
        .filter(|x| x.0 == "link" || x.0 == "linkat")
        .collect();
    assert_eq!(links.len(), 4, "{}", run.describe());
    for l in links {
        assert_eq!(l.2, v, "{}", run.describe());
    }
    assert_all_eacces(&run);
    // no link was made inside either
    for i in 1..=4 {
        let l = dirs.allowed.join(format!("l{i}"));
        assert!(std::fs::symlink_metadata(&l).is_err(), "{}", l.display());
    }
}

// ---------------------------------------------------------------------------
// 7: a new user + mount namespace and a bind mount

fn mount_fixture(dirs: &Dirs) -> PathBuf {
    let existing = dirs.out.join("existing");
    std::fs::write(&existing, b"orig\n").unwrap();
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(&dirs.out, std::fs::Permissions::from_mode(0o777)).unwrap();
    existing
}

fn mount_case(hardened: bool) {
    let dirs = Dirs::new(if hardened { "esc-mnt-h" } else { "esc-mnt" });
    let existing = mount_fixture(&dirs);
    let before = listing(&dirs.out);
    let opts: &[&str] = if hardened { &["--hardened"] } else { &[] };
    let run = sbo(
        &dirs,
        opts,
        &[prog("escape_mountns"), s(&dirs.out), s(&dirs.allowed)],
    );
    if run.status == 4 {
        println!(
            "SKIP: the kernel refuses unshare(CLONE_NEWUSER|CLONE_NEWNS) here: {}",
            run.stdout
        );
        return;
    }
    println!("mount namespace (hardened={hardened}):\n{}", run.stdout);
    assert_eq!(
        std::fs::read(&existing).unwrap(),
        b"orig\n",
        "{}",
        run.describe()
    );
    assert_unchanged(&dirs.out, &before, &run);
    // The mounts are either denied with a violation, or did not take effect
    // on what the writes reached (checked above).
    let mount_ok = run
        .stdout
        .lines()
        .any(|l| l.starts_with("mount(") && l.contains("-> 0"));
    if mount_ok {
        println!("note: the bind mount itself was allowed (it names a path inside)");
    }
    assert_all_eacces(&run);
}

/// Case 7 in plain mode: `unshare(CLONE_NEWUSER|CLONE_NEWNS)`, then a bind
/// mount of OUT onto ALLOWED/mnt (and the same with open_tree + move_mount
/// onto ALLOWED/mnt2), then writes below the mount points. OUT must not
/// change: either the mount is denied with a violation or the writes do not
/// reach OUT.
#[test]
fn mount_namespace_bind_mount_of_outside_dir_plain() {
    mount_case(false);
}

/// Case 7 in hardened mode: Landlock forbids mount topology changes, so the
/// bind mounts fail (EPERM) and the writes land in the real ALLOWED/mnt.
#[test]
fn mount_namespace_bind_mount_of_outside_dir_hardened() {
    if hardened_available() {
        mount_case(true);
    }
}

/// Case 7 with the real tool: `unshare -Urm sh -c 'mount --bind OUT
/// ALLOWED/mnt; echo > ALLOWED/mnt/f'`. `unshare -r` needs to write
/// /proc/self/uid_map, which is outside (a violation), so it stops there;
/// whatever happens, OUT is unchanged.
#[test]
fn unshare_tool_bind_mount_changes_nothing_outside() {
    if Command::new("unshare").arg("--help").output().is_err() {
        println!("SKIP: no unshare(1) here");
        return;
    }
    let dirs = Dirs::new("esc-unshare");
    let existing = mount_fixture(&dirs);
    std::fs::create_dir(dirs.allowed.join("mnt")).unwrap();
    let before = listing(&dirs.out);
    let run = sb(
        &dirs,
        &[
            "unshare",
            "-Urm",
            "sh",
            "-c",
            r#"mount --bind "$0" "$1/mnt" && echo pwned > "$1/mnt/f"; echo pwned >> "$1/mnt/existing""#,
            &s(&dirs.out),
            &s(&dirs.allowed),
        ],
    );
    println!(
        "unshare -Urm: status {} stderr {:?} violations {:?}",
        run.status,
        run.stderr,
        ops(&run)
    );
    assert_eq!(
        std::fs::read(&existing).unwrap(),
        b"orig\n",
        "{}",
        run.describe()
    );
    assert_unchanged(&dirs.out, &before, &run);
}

// ---------------------------------------------------------------------------
// 8: the tracee against its supervisor

/// The "fds:" line of escape_supervisor's output.
fn fds_line(stdout: &str) -> String {
    stdout
        .lines()
        .find(|l| l.starts_with("fds:"))
        .unwrap_or("fds: <missing>")
        .to_string()
}

/// Case 8: the first child's parent is the supervisor (catbox). Opening
/// /proc/<supervisor>/mem for writing is denied (EACCES, violation);
/// PTRACE_ATTACH/SEIZE of the supervisor and process_vm_writev into it are
/// denied (EPERM, violation). No write through a read-only mem fd works. The
/// tracee holds no fd of the supervisor's: its fds are exactly those of the
/// same program run without catbox.
#[test]
fn tracee_cannot_write_to_or_attach_the_supervisor() {
    let dirs = Dirs::new("esc-super");
    let run = sb(&dirs, &[prog("escape_supervisor")]);
    assert_eq!(run.status, 0, "{}", run.describe());
    let ppid = field(&run.stdout, "ppid").expect("ppid line").to_string();
    let mem = format!("/proc/{ppid}/mem");
    for l in ["open mem O_RDWR", "open mem O_WRONLY"] {
        assert!(
            run.stdout.contains(&format!("{l} -> -1 errno=EACCES")),
            "{l}: {}",
            run.describe()
        );
    }
    for l in ["ptrace ATTACH", "ptrace SEIZE", "process_vm_writev"] {
        assert!(
            run.stdout.contains(&format!("{l} -> -1 errno=EPERM")),
            "{l}: {}",
            run.describe()
        );
    }
    let t = run.tuples();
    let want = vec![
        ("openat".into(), mem.clone(), mem.clone(), "EACCES".into()),
        ("openat".into(), mem.clone(), mem, "EACCES".into()),
        ("ptrace".into(), String::new(), ppid.clone(), "EPERM".into()),
        ("ptrace".into(), String::new(), ppid.clone(), "EPERM".into()),
        (
            "process_vm_writev".into(),
            String::new(),
            ppid,
            "EPERM".into(),
        ),
    ];
    assert_eq!(t, want, "{}", run.describe());
    for l in run.stdout.lines().filter(|l| l.contains("pwrite")) {
        assert!(l.contains("-> -1"), "a write through a mem fd: {l}");
    }
    for l in run.stdout.lines().filter(|l| l.contains("O_RDONLY")) {
        println!("supervisor memory read: {l}");
    }
    // fds: the same as natively (only what the test passed: 0, 1, 2)
    let raw = native(&[prog("escape_supervisor"), "fds".into()]);
    let native_fds = fds_line(&lossy(&raw.stdout));
    assert_eq!(fds_line(&run.stdout), native_fds, "{}", run.describe());
    println!("tracee {}", fds_line(&run.stdout));
}

/// Case 8, the issue's "the supervisor must not be dumpable": without
/// CAP_SYS_PTRACE (dropped from the effective set when run as root, where a
/// root tracee would otherwise read any process's memory), the tracee
/// cannot open /proc/<supervisor>/mem even for reading.
#[test]
fn supervisor_memory_is_not_readable_by_the_tracee() {
    let dirs = Dirs::new("esc-dump");
    let run = sb(&dirs, &[prog("escape_supervisor")]);
    assert_eq!(run.status, 0, "{}", run.describe());
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("open mem O_RDONLY without CAP_SYS_PTRACE ->"))
        .unwrap_or("")
        .to_string();
    assert!(
        line.contains("-> -1"),
        "the tracee opened the supervisor's memory for reading ({line}): catbox does not \
         make the supervisor non-dumpable (PR_SET_DUMPABLE 0); {}",
        run.describe()
    );
}

// ---------------------------------------------------------------------------
// 9: the tracee kills or stops the supervisor

fn unique_marker(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("catbox-esc-marker-{tag}-{}-{nanos}", std::process::id())
}

/// Live processes whose environment or command line holds `marker`.
fn marked(marker: &str) -> Vec<i32> {
    let needle = marker.as_bytes();
    let has = |h: &[u8]| h.windows(needle.len()).any(|w| w == needle);
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let state = stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .unwrap_or("");
        if matches!(state, "Z" | "X" | "") {
            continue;
        }
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let environ = std::fs::read(e.path().join("environ")).unwrap_or_default();
        if has(&cmdline) || has(&environ) {
            v.push(pid);
        }
    }
    v
}

fn kill_pids(pids: &[i32], sig: i32) {
    for p in pids {
        // SAFETY: plain kill(2) of processes this test started.
        unsafe {
            libc::kill(*p, sig);
        }
    }
}

fn proc_state(pid: u32) -> String {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next())
        .unwrap_or("")
        .to_string()
}

fn spawn_catbox(dirs: &Dirs, marker: &str, script: &str, target: &Path) -> Child {
    let mut cmd = Command::new(catbox_bin());
    cmd.arg("-w")
        .arg(&dirs.allowed)
        .arg("--report")
        .arg(dirs.report_path())
        .arg("--")
        .args(["sh", "-c", script])
        .arg(target)
        .env("CATBOX_ESC_MARKER", marker)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    cmd.spawn().expect("spawn catbox")
}

/// Case 9a: the tracee SIGKILLs its supervisor. Every traced process dies
/// with it (PTRACE_O_EXITKILL, parent-death signal): within 2 s nothing of
/// the tree runs, and the write the shell would make 1 s later never happens.
#[test]
fn tracee_sigkill_of_the_supervisor_kills_the_tree() {
    let dirs = Dirs::new("esc-kill");
    let target = dirs.out.join("after-kill");
    let marker = unique_marker("kill");
    let mut child = spawn_catbox(
        &dirs,
        &marker,
        r#"(sleep 2; echo x > "$0") & sleep 1; kill -KILL $PPID; sleep 1; echo x > "$0""#,
        &target,
    );
    let start = Instant::now();
    let st = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > Duration::from_secs(15) {
            kill_group(&child);
            kill_pids(&marked(&marker), libc::SIGKILL);
            panic!("catbox was not killed by its tracee");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(st.signal(), Some(libc::SIGKILL), "{st:?}");
    let dead = Instant::now();
    loop {
        let left = marked(&marker);
        if left.is_empty() {
            break;
        }
        if dead.elapsed() > Duration::from_secs(2) {
            kill_pids(&left, libc::SIGKILL);
            panic!("2 s after the supervisor died its tracees still run: {left:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!target.exists(), "{} was written", target.display());
    assert!(listing(&dirs.out).is_empty());
}

/// Case 9b: the tracee SIGSTOPs its supervisor, then tries a write. The
/// write is a trapped call: the tracee blocks at its seccomp stop until the
/// tracer runs again, so within 3 s nothing is written. After SIGCONT the
/// tracer denies it (violation) and the run ends.
#[test]
fn tracee_sigstop_of_the_supervisor_blocks_the_tree() {
    let dirs = Dirs::new("esc-stop");
    let target = dirs.out.join("after-stop");
    let marker = unique_marker("stop");
    let mut child = spawn_catbox(
        &dirs,
        &marker,
        r#"kill -STOP $PPID; echo x > "$0"; echo done"#,
        &target,
    );
    let pid = child.id();
    let cleanup = |child: &Child| {
        // SAFETY: plain kill(2) of the test's own child and its tracees.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGCONT);
        }
        kill_group(child);
        kill_pids(&marked(&marker), libc::SIGKILL);
    };
    let start = Instant::now();
    while proc_state(pid) != "T" {
        if start.elapsed() > Duration::from_secs(10) || child.try_wait().unwrap().is_some() {
            cleanup(&child);
            let _ = child.wait();
            panic!("the supervisor was never stopped by its tracee");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let stopped = Instant::now();
    while stopped.elapsed() < Duration::from_secs(3) {
        if target.exists() {
            cleanup(&child);
            let _ = child.wait();
            panic!(
                "the tracee wrote {} while its supervisor was stopped",
                target.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: plain kill(2) of the test's own child.
    unsafe {
        libc::kill(pid as i32, libc::SIGCONT);
    }
    let resumed = Instant::now();
    let st = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if resumed.elapsed() > Duration::from_secs(15) {
            cleanup(&child);
            let _ = child.wait();
            panic!("catbox did not finish after SIGCONT");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(!target.exists(), "{} was written", target.display());
    assert!(listing(&dirs.out).is_empty());
    let text = std::fs::read_to_string(dirs.report_path()).expect("report");
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    let t = cj(&dirs.out, "after-stop");
    assert!(
        report["violations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["canonical"] == t.as_str() && v["errno"] == "EACCES"),
        "status {st:?}, report {report}"
    );
}

// ---------------------------------------------------------------------------
// 10, 11: check-then-use races

/// One race run; returns (tries made, writes that got out).
fn race_buf(hardened: bool) -> (u64, u64) {
    let dirs = Dirs::new(if hardened { "esc-rbuf-h" } else { "esc-rbuf" });
    let root = canon(&dirs.root);
    // same length, differing in 8 consecutive bytes: "allowed/" vs "out/////"
    let inside = format!("{}/allowed/f", s(&root));
    let outside = format!("{}/out/////f", s(&root));
    let opts: &[&str] = if hardened {
        &["-q", "--hardened"]
    } else {
        &["-q"]
    };
    let run = sbo(
        &dirs,
        opts,
        &[
            prog("escape_race_buf"),
            inside,
            outside,
            RACE_TRIES.to_string(),
            RACE_SECONDS.to_string(),
        ],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let tries = field(&run.stdout, "tries").expect("tries");
    let escaped = file_len(&dirs.out.join("f"));
    let others = listing(&dirs.out)
        .into_iter()
        .filter(|p| p != &dirs.out.join("f"));
    assert_eq!(others.count(), 0, "unexpected files outside");
    println!(
        "RACE path-buffer (case 10) {}: {escaped} writes got out in {tries} tries \
         ({:.0} per 100,000); {} ; {} violations",
        if hardened { "hardened" } else { "plain" },
        escaped as f64 * 100_000.0 / tries.max(1) as f64,
        run.stdout.trim(),
        run.violations().len()
    );
    assert!(tries > 0);
    (tries, escaped)
}

/// Case 10, plain mode: measured and printed; writes may get out (ptrace
/// reads the path before the kernel does). The figure is not asserted.
#[test]
fn race_path_buffer_rewrite_plain_is_measured() {
    let (tries, escaped) = race_buf(false);
    assert!(escaped <= tries);
}

/// Case 10, hardened mode: Landlock checks the path the kernel really uses,
/// so no write gets out.
#[test]
fn race_path_buffer_rewrite_hardened_lets_nothing_out() {
    if !hardened_available() {
        return;
    }
    let (tries, escaped) = race_buf(true);
    assert_eq!(escaped, 0, "{escaped} writes got out in {tries} tries");
}

/// Case 11: ALLOWED/d (a directory) and ALLOWED/s (a symlink to OUT) are
/// exchanged in a loop (renameat2 RENAME_EXCHANGE, by a thread of the
/// sandboxed program) while the other thread opens ALLOWED/d/f for writing.
fn race_swap(hardened: bool) -> (u64, u64) {
    let dirs = Dirs::new(if hardened { "esc-rswap-h" } else { "esc-rswap" });
    let a = canon(&dirs.allowed);
    std::fs::create_dir(a.join("d")).unwrap();
    std::os::unix::fs::symlink(canon(&dirs.out), a.join("s")).unwrap();
    let opts: &[&str] = if hardened {
        &["-q", "--hardened"]
    } else {
        &["-q"]
    };
    let run = sbo(
        &dirs,
        opts,
        &[
            prog("escape_race_swap"),
            s(&a.join("d")),
            s(&a.join("s")),
            s(&a.join("d/f")),
            RACE_TRIES.to_string(),
            RACE_SECONDS.to_string(),
        ],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let tries = field(&run.stdout, "tries").expect("tries");
    let escaped = file_len(&dirs.out.join("f"));
    let others = listing(&dirs.out)
        .into_iter()
        .filter(|p| p != &dirs.out.join("f"));
    assert_eq!(others.count(), 0, "unexpected files outside");
    println!(
        "RACE symlink-swap (case 11) {}: {escaped} writes got out in {tries} tries \
         ({:.0} per 100,000); {} ; {} violations",
        if hardened { "hardened" } else { "plain" },
        escaped as f64 * 100_000.0 / tries.max(1) as f64,
        run.stdout.trim(),
        run.violations().len()
    );
    assert!(tries > 0);
    (tries, escaped)
}

/// Case 11, plain mode: measured and printed, not asserted.
#[test]
fn race_dir_swapped_for_symlink_plain_is_measured() {
    let (tries, escaped) = race_swap(false);
    assert!(escaped <= tries);
}

/// Case 11, hardened mode: no write gets out.
#[test]
fn race_dir_swapped_for_symlink_hardened_lets_nothing_out() {
    if !hardened_available() {
        return;
    }
    let (tries, escaped) = race_swap(true);
    assert_eq!(escaped, 0, "{escaped} writes got out in {tries} tries");
}

// ---------------------------------------------------------------------------
// the P1 cases of cases.md, in --hardened mode

/// C5 hardened: dirfd-relative *at calls on OUT are denied with violations,
/// the `..` escape from ALLOWED too; the same calls on ALLOWED succeed.
#[test]
fn hardened_c5_dirfd_calls() {
    if !hardened_available() {
        return;
    }
    let dirs = Dirs::new("esc-h-c5");
    for d in [&dirs.out, &dirs.allowed] {
        std::fs::write(d.join("victim"), b"v").unwrap();
        std::fs::write(d.join("a"), b"a").unwrap();
    }
    let before = listing(&dirs.out);
    let run = sbh(&dirs, &[prog("dirfd_calls"), "calls".into(), s(&dirs.out)]);
    assert_eq!(run.status, 1, "every call EACCES: {}", run.describe());
    let t = ops(&run);
    assert_eq!(t.len(), 5, "{}", run.describe());
    assert_eq!(t[0], t3("openat", "x", &cj(&dirs.out, "x")));
    assert_eq!(t[1], t3("mkdirat", "d", &cj(&dirs.out, "d")));
    assert_eq!(t[2], t3("unlinkat", "victim", &cj(&dirs.out, "victim")));
    assert_eq!(t[3].0, "renameat");
    assert_eq!(t[4], t3("symlinkat", "s", &cj(&dirs.out, "s")));
    assert_all_eacces(&run);
    assert_unchanged(&dirs.out, &before, &run);

    let run = sbh(
        &dirs,
        &[prog("dirfd_calls"), "escape".into(), s(&dirs.allowed)],
    );
    assert_eq!(run.status, 1, "{}", run.describe());
    run.assert_one_violation("openat", "../escape", &cj(&dirs.root, "escape"));
    assert!(!dirs.root.join("escape").exists());

    let run = sbh(
        &dirs,
        &[prog("dirfd_calls"), "calls".into(), s(&dirs.allowed)],
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    assert!(dirs.allowed.join("x").is_file() && dirs.allowed.join("b").is_file());
}

/// C6 hardened: openat2, including RESOLVE_IN_ROOT, denied outside with
/// violations; allowed inside.
#[test]
fn hardened_c6_openat2() {
    if !hardened_available() {
        return;
    }
    let dirs = Dirs::new("esc-h-c6");
    let o2 = s(&dirs.out.join("o2"));
    let run = sbh(&dirs, &[prog("openat2_probe"), o2.clone(), s(&dirs.out)]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert_eq!(
        ops(&run),
        vec![
            t3("openat2", &o2, &cj(&dirs.out, "o2")),
            t3("openat2", "/in-root", &cj(&dirs.out, "in-root")),
        ],
        "{}",
        run.describe()
    );
    assert_all_eacces(&run);
    assert!(listing(&dirs.out).is_empty());
    let run = sbh(
        &dirs,
        &[
            prog("openat2_probe"),
            s(&dirs.allowed.join("o2")),
            s(&dirs.allowed),
        ],
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    assert!(dirs.allowed.join("o2").is_file() && dirs.allowed.join("in-root").is_file());
}

/// C7 hardened: renameat2 and fchmodat2 outside denied with violations (the
/// mode is checked by the tracer alone: Landlock does not cover chmod).
#[test]
fn hardened_c7_renameat2_fchmodat2() {
    if !hardened_available() {
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let dirs = Dirs::new("esc-h-c7");
    let mv = dirs.allowed.join("mv");
    std::fs::write(&mv, b"x\n").unwrap();
    let mode = dirs.out.join("mode");
    std::fs::write(&mode, b"").unwrap();
    std::fs::set_permissions(&mode, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out_mv = s(&dirs.out.join("mv"));
    let run = sbh(
        &dirs,
        &[prog("new_path_calls"), s(&mv), out_mv.clone(), s(&mode)],
    );
    assert_eq!(run.status, 1, "{}", run.describe());
    assert_eq!(
        ops(&run),
        vec![
            t3("renameat2", &out_mv, &cj(&dirs.out, "mv")),
            t3("fchmodat2", &s(&mode), &cj(&dirs.out, "mode")),
        ],
        "{}",
        run.describe()
    );
    assert_all_eacces(&run);
    assert!(mv.is_file() && !dirs.out.join("mv").exists());
    assert_eq!(std::fs::metadata(&mode).unwrap().mode() & 0o7777, 0o644);
    let m2 = dirs.allowed.join("mode");
    std::fs::write(&m2, b"").unwrap();
    let run = sbh(
        &dirs,
        &[
            prog("new_path_calls"),
            s(&mv),
            s(&dirs.allowed.join("mv2")),
            s(&m2),
        ],
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    assert!(dirs.allowed.join("mv2").is_file());
}

fn meta_fixture(p: &Path) {
    std::fs::write(p, b"m").unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let st = Command::new("touch")
        .args(["-d", "2001-01-01"])
        .arg(p)
        .status()
        .unwrap();
    assert!(st.success());
}

/// C11 hardened: utimensat(fd, NULL), fchmod, fchown through a read-only fd
/// of an outside file are denied with violations; allowed inside.
#[test]
fn hardened_c11_fd_metadata() {
    if !hardened_available() {
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let dirs = Dirs::new("esc-h-c11");
    let m = dirs.out.join("meta");
    meta_fixture(&m);
    let run = sbh(&dirs, &[prog("fd_meta"), s(&m)]);
    assert_eq!(run.status, 1, "{}", run.describe());
    let c = cj(&dirs.out, "meta");
    assert_eq!(
        ops(&run),
        vec![
            t3("utimensat", "", &c),
            t3("fchmod", "", &c),
            t3("fchown", "", &c)
        ],
        "{}",
        run.describe()
    );
    assert_all_eacces(&run);
    let after = std::fs::metadata(&m).unwrap();
    assert_eq!(after.mode() & 0o7777, 0o644);
    assert_eq!(after.mtime(), 978_307_200);
    let m2 = dirs.allowed.join("meta");
    meta_fixture(&m2);
    let run = sbh(&dirs, &[prog("fd_meta"), s(&m2)]);
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
}

/// C12 hardened: a clone3 child is traced (its write is a violation), a
/// CLONE_UNTRACED child cannot write; nothing appears outside.
#[test]
fn hardened_c12_clone3_and_untraced() {
    if !hardened_available() {
        return;
    }
    let dirs = Dirs::new("esc-h-c12");
    let base = canon(&dirs.out).join("sv");
    let run = sbh(&dirs, &[prog("spawn_escape"), s(&base)]);
    assert!(listing(&dirs.out).is_empty(), "{}", run.describe());
    assert_ne!(run.status, 0, "{}", run.describe());
    let c3 = format!("{}.clone3", s(&base));
    assert!(
        ops(&run).contains(&t3("openat", &c3, &c3)),
        "{}",
        run.describe()
    );
    assert_all_eacces(&run);
}

/// C19 hardened: a denied mkdir / shell redirection says "Permission
/// denied" (EACCES, not ENOSYS), with one violation each.
#[test]
fn hardened_c19_denied_calls_are_eacces() {
    if !hardened_available() {
        return;
    }
    let dirs = Dirs::new("esc-h-c19");
    let x = s(&dirs.out.join("x"));
    let run = sbh(&dirs, &["mkdir", &x]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(
        run.stderr.contains("Permission denied"),
        "{}",
        run.describe()
    );
    assert!(!run.stderr.contains("Function not implemented"));
    run.assert_one_violation("mkdir", &x, &cj(&dirs.out, "x"));
    let y = s(&dirs.out.join("y"));
    let run = sbh(&dirs, &["sh", "-c", r#"echo x > "$0""#, &y]);
    assert_ne!(run.status, 0, "{}", run.describe());
    assert!(
        run.stderr.contains("Permission denied"),
        "{}",
        run.describe()
    );
    run.assert_one_violation("openat", &y, &cj(&dirs.out, "y"));
    assert!(listing(&dirs.out).is_empty());
    // inside still works
    let z = s(&dirs.allowed.join("z"));
    let run = sbh(&dirs, &["sh", "-c", r#"mkdir "$0" && echo x > "$0/f""#, &z]);
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    assert!(dirs.allowed.join("z/f").is_file());
}

// ---------------------------------------------------------------------------
// The root view (`--image`): the overlays keep captured writes off the host;
// what is bound into the view as it is stays judged by the tracer.

fn image_opts(dirs: &Dirs) -> Vec<String> {
    vec!["--image".into(), s(&dirs.root.join("image"))]
}

/// Writes into captured directories land in the image, never the host;
/// writes into what is bound as it is (a new file directly in `/`,
/// `/proc/sys`, a symlink made in the view that points there) are violations.
#[test]
fn image_view_writes_never_reach_the_host() {
    let dirs = Dirs::new("esc-image");
    let existing = mount_fixture(&dirs);
    let before = listing(&dirs.out);
    let name = format!("catbox-escape-{}", std::process::id());
    let run = sb_opts(
        &dirs,
        &image_opts(&dirs),
        &[
            "sh",
            "-c",
            r#"echo pwned > "$0/existing"; echo pwned > "$0/new"; echo x > "/$1";
               echo 1 > "/proc/sys/kernel/$1"; ln -s /proc/sys/kernel/ostype "/usr/local/$1";
               echo x > "/usr/local/$1"; true"#,
            &s(&dirs.out),
            &name,
        ],
    );
    assert_eq!(
        std::fs::read(&existing).unwrap(),
        b"orig\n",
        "{}",
        run.describe()
    );
    assert_unchanged(&dirs.out, &before, &run);
    assert!(!Path::new("/").join(&name).exists(), "{}", run.describe());
    assert!(
        !Path::new("/usr/local").join(&name).exists(),
        "{}",
        run.describe()
    );
    let image_out = dirs
        .root
        .join("image")
        .join(dirs.out.strip_prefix("/").unwrap());
    assert_eq!(
        std::fs::read(image_out.join("existing")).unwrap(),
        b"pwned\n",
        "{}",
        run.describe()
    );
    let canon: Vec<String> = run.tuples().into_iter().map(|t| t.2).collect();
    for want in [
        format!("/{name}"),
        format!("/proc/sys/kernel/{name}"),
        "/proc/sys/kernel/ostype".to_string(),
    ] {
        assert!(
            canon.contains(&want),
            "no violation for {want}: {}",
            run.describe()
        );
    }
    assert_all_eacces(&run);
}

/// The build may call mount(2) in its namespace (as root it has the
/// capabilities there): binding a tree that is not captured (`/dev/shm`, the
/// host's own) over a captured path is a violation, so a write there still
/// lands in the image; unmounting a captured directory only shows the
/// view's empty mount point, never the host's directory.
#[test]
fn image_view_bind_mount_and_umount_change_nothing_outside() {
    let dirs = Dirs::new("esc-image-mnt");
    let name = format!("catbox-escape-mnt-{}", std::process::id());
    let shm = Path::new("/dev/shm");
    let run = sb_opts(
        &dirs,
        &image_opts(&dirs),
        &[
            "sh",
            "-c",
            r#"mkdir -p "/usr/local/$0" && mount --bind /dev/shm "/usr/local/$0";
               echo pwned > "/usr/local/$0/$0"; umount -l /usr 2>/dev/null;
               echo pwned > "/usr/$0" 2>/dev/null; true"#,
            &name,
        ],
    );
    assert!(!shm.join(&name).exists(), "{}", run.describe());
    assert!(
        !Path::new("/usr").join(&name).exists(),
        "{}",
        run.describe()
    );
    assert!(
        run.tuples()
            .iter()
            .any(|t| t.0 == "mount" && t.2 == "/dev/shm"),
        "the bind of /dev/shm was not judged: {}",
        run.describe()
    );
    let image = dirs.root.join("image");
    assert!(
        image.join("usr/local").join(&name).join(&name).exists(),
        "the write did not land in the image: {}",
        run.describe()
    );
}
