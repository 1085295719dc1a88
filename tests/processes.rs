//! Process trees under the `catbox` CLI (SPEC §3.1, cases.md C12, C13, C16):
//! clone3 / CLONE_UNTRACED / vfork / posix_spawn children, exec from a
//! non-leader thread, threads, orphaning fork trees, wait statuses, a
//! double-forked daemon, and the supervisor's death.
//!
//! Every run is bounded: a catbox that does not finish within [`LIMIT`] is
//! killed (with its whole process group) and the test fails.

mod common;

use common::bounded::{kill_group, lossy, run_bounded, with_report, LIMIT};

use common::bounded::sbt;
use common::{assert_empty, c_program, catbox_bin, listing, s, Dirs, Run};
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// bounded runs

fn sb<S: AsRef<OsStr>>(dirs: &Dirs, args: &[S]) -> Run {
    sbt(dirs, &[], args).0
}

fn denied(op: &str, path: &str, canonical: &str) -> (String, String, String, String) {
    (op.into(), path.into(), canonical.into(), "EACCES".into())
}

// ---------------------------------------------------------------------------
// /proc scanning (for daemons and the supervisor's death)

fn unique_marker(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("catbox-test-marker-{tag}-{}-{nanos}", std::process::id())
}

/// Live (not zombie) processes whose command line or environment contains
/// `marker`, as (pid, comm).
fn marked_processes(marker: &str) -> Vec<(i32, String)> {
    let needle = marker.as_bytes();
    let contains = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let mut found = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let dir = e.path();
        let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        let state = stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .unwrap_or("");
        if state == "Z" || state == "X" || state.is_empty() {
            continue;
        }
        let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
        let environ = std::fs::read(dir.join("environ")).unwrap_or_default();
        if contains(&cmdline) || contains(&environ) {
            let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            found.push((pid, comm.trim().to_string()));
        }
    }
    found
}

fn kill_all(procs: &[(i32, String)]) {
    for (pid, _) in procs {
        // SAFETY: plain kill(2) of a process this test started.
        unsafe {
            libc::kill(*pid, libc::SIGKILL);
        }
    }
}

// ---------------------------------------------------------------------------
// C12: clone3, CLONE_UNTRACED, vfork, posix_spawn

#[test]
fn c12_clone3_child_is_traced_and_untraced_child_cannot_write() {
    let dirs = Dirs::new("c12");
    let base = dirs.out.join("sv");
    let prog = c_program("spawn_escape");

    // Natively the reproducer creates both files (so the test can fail).
    let native = Dirs::new("c12-native");
    let nbase = native.out.join("sv");
    let mut cmd = Command::new(&prog);
    cmd.arg(&nbase);
    let raw = run_bounded(cmd, LIMIT);
    assert_eq!(raw.status, 0, "native run: {}", lossy(&raw.stderr));
    assert!(native.out.join("sv.clone3").exists());
    assert!(native.out.join("sv.untraced").exists());

    let run = sb(&dirs, &[prog.as_os_str(), base.as_os_str()]);
    let clone3 = s(&dirs.out.join("sv.clone3"));
    assert!(
        !dirs.out.join("sv.clone3").exists(),
        "clone3 child escaped: {}",
        run.describe()
    );
    assert!(
        !dirs.out.join("sv.untraced").exists(),
        "CLONE_UNTRACED child escaped: {}",
        run.describe()
    );
    assert_ne!(run.status, 0, "{}", run.describe());
    assert!(
        run.tuples().contains(&denied("openat", &clone3, &clone3)),
        "the clone3 child's write was not recorded: {}",
        run.describe()
    );
    // Whatever else is recorded (the CLONE_UNTRACED clone, or the untraced
    // child's openat), nothing else outside is named.
    for (op, _, canonical, _) in run.tuples() {
        assert!(
            canonical.starts_with(&s(&base)) || op.starts_with("clone"),
            "unexpected violation {op} {canonical}: {}",
            run.describe()
        );
    }
    assert_empty(&dirs.out, &run);
}

#[test]
fn c12_vfork_and_posix_spawn_children_are_traced() {
    let dirs = Dirs::new("c12v");
    let v = s(&dirs.out.join("vfork"));
    let p = s(&dirs.out.join("pspawn"));
    let prog = c_program("vfork_spawn");
    let run = sb(&dirs, &[s(&prog), v.clone(), p.clone()]);
    assert_eq!(
        run.tuples(),
        vec![denied("openat", &v, &v), denied("openat", &p, &p)],
        "{}",
        run.describe()
    );
    assert_ne!(run.status, 0, "{}", run.describe());
    assert!(
        run.stdout.contains("vfork child status") && run.stdout.contains("posix_spawn child"),
        "{}",
        run.describe()
    );
    assert_empty(&dirs.out, &run);
}

// ---------------------------------------------------------------------------
// C13: exec from a non-leader thread; threads

#[test]
fn c13_exec_from_thread_write_denied_and_exit_7() {
    let dirs = Dirs::new("c13a");
    let te = s(&dirs.out.join("te"));
    let prog = c_program("exec_from_thread");
    let script = format!("echo hi > '{te}'; exit 7");
    let run = sb(&dirs, &[s(&prog), script]);
    run.assert_one_violation("openat", &te, &te);
    assert_eq!(run.status, 7, "{}", run.describe());
    assert_empty(&dirs.out, &run);
}

#[test]
fn c13_exec_from_thread_exit_3() {
    let dirs = Dirs::new("c13b");
    let prog = c_program("exec_from_thread");
    let run = sb(&dirs, &[s(&prog), "exit 3".to_string()]);
    assert_eq!(run.status, 3, "{}", run.describe());
    run.assert_no_violations();
    assert_eq!(run.report["exit_code"], 3, "{}", run.describe());
}

#[test]
fn c13_exec_from_thread_program_output_survives() {
    // The exec'd program runs normally after the thread exec (no stray
    // SIGTRAP injected): it can print and write inside the rules.
    let dirs = Dirs::new("c13c");
    let ok = s(&dirs.allowed.join("ok"));
    let prog = c_program("exec_from_thread");
    let script = format!("echo inside > '{ok}' && cat '{ok}' && echo done");
    let run = sb(&dirs, &[s(&prog), script]);
    assert_eq!(run.status, 0, "{}", run.describe());
    assert_eq!(run.stdout, "inside\ndone\n", "{}", run.describe());
    run.assert_no_violations();
}

#[test]
fn c13_exec_from_thread_after_the_leader_exited() {
    // The leader calls pthread_exit first; the exec makes it "come back".
    let dirs = Dirs::new("c13d");
    let te = s(&dirs.out.join("te"));
    let prog = c_program("exec_from_thread");
    let script = format!("echo hi > '{te}'; echo still-running; exit 7");
    let run = sb(&dirs, &[s(&prog), script, "leader-exits".into()]);
    run.assert_one_violation("openat", &te, &te);
    assert_eq!(run.stdout, "still-running\n", "{}", run.describe());
    assert_eq!(run.status, 7, "{}", run.describe());
    assert_empty(&dirs.out, &run);
}

fn threads_case(n: usize) {
    let dirs = Dirs::new("c13t");
    let prog = c_program("threads_write");
    let run = sb(&dirs, &[s(&prog), s(&dirs.out), n.to_string()]);
    let expected: BTreeSet<String> = (0..n)
        .map(|i| s(&dirs.out.join(format!("t.{i}"))))
        .collect();
    let t = run.tuples();
    assert_eq!(
        t.len(),
        n,
        "{n} threads, one attempt each: {}",
        run.describe()
    );
    let got: BTreeSet<String> = t.iter().map(|v| v.2.clone()).collect();
    assert_eq!(got, expected, "{}", run.describe());
    for (op, path, canonical, errno) in &t {
        assert_eq!(
            (op.as_str(), path, errno.as_str()),
            ("openat", canonical, "EACCES"),
            "{}",
            run.describe()
        );
    }
    // every thread saw EACCES, none succeeded
    assert_eq!(run.status, 0, "{}", run.describe());
    assert_eq!(
        run.stdout.matches("Permission denied").count(),
        n,
        "{}",
        run.describe()
    );
    assert_empty(&dirs.out, &run);
}

#[test]
fn c13_threads_each_write_once_gives_exactly_n_violations() {
    threads_case(4);
}

#[test]
fn c13_many_concurrent_threads_exactly_n_violations() {
    threads_case(32);
}

// ---------------------------------------------------------------------------
// C16: wait statuses, daemons, supervisor death

#[test]
fn c16a_background_sleep_wait_status() {
    let dirs = Dirs::new("c16a");
    let run = sb(&dirs, &["sh", "-c", "sleep 0.3 & wait $!; echo rc=$?"]);
    assert_eq!(run.stdout, "rc=0\n", "{}", run.describe());
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
}

#[test]
fn c16a_wait_without_pid_does_not_hang() {
    // ranweiler/pete #119: `bash -c 'sleep 1; wait; echo ok'` hung.
    let dirs = Dirs::new("c16a2");
    let run = sb(&dirs, &["sh", "-c", "sleep 0.2; wait; echo ok"]);
    assert_eq!(run.stdout, "ok\n", "{}", run.describe());
    assert_eq!(run.status, 0, "{}", run.describe());
}

#[test]
fn c16b_child_exit_status_reaches_the_waiting_shell() {
    let dirs = Dirs::new("c16b");
    let run = sb(&dirs, &["sh", "-c", "sh -c 'exit 5' & wait $!; echo rc=$?"]);
    assert_eq!(run.stdout, "rc=5\n", "{}", run.describe());
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
}

#[test]
fn c16b_many_children_statuses() {
    // several children exiting with distinct statuses, reaped in order
    let dirs = Dirs::new("c16b2");
    let script = "for i in 1 2 3 4 5 6; do sh -c \"exit $i\" & eval p$i=\\$!; done; \
                  for i in 1 2 3 4 5 6; do eval wait \\$p$i; printf '%s ' $?; done; echo";
    let run = sb(&dirs, &["sh", "-c", script]);
    assert_eq!(run.stdout, "1 2 3 4 5 6 \n", "{}", run.describe());
    assert_eq!(run.status, 0, "{}", run.describe());
}

#[test]
fn c16c_double_forked_daemon_is_waited_for_and_confined() {
    let dirs = Dirs::new("c16c");
    let late = s(&dirs.out.join("late"));
    let marker = unique_marker("c16c");
    let report = dirs.report_path();
    let mut cmd = Command::new(catbox_bin());
    cmd.arg("-w")
        .arg(&dirs.allowed)
        .arg("--report")
        .arg(&report)
        .arg("--")
        .arg("sh")
        .arg("-c")
        .arg(r#"(setsid sh -c "sleep 1; echo late > \"$0\"" &) ; exit 0"#)
        .arg(&late)
        .env("CATBOX_TEST_MARKER", &marker)
        .current_dir("/");
    let raw = run_bounded(cmd, LIMIT);
    let elapsed = raw.elapsed;
    let left = marked_processes(&marker);
    kill_all(&left);
    let run = with_report(raw, &report);
    assert!(
        left.is_empty(),
        "processes of the run still alive after catbox returned: {left:?}; {}",
        run.describe()
    );
    assert!(
        elapsed >= Duration::from_millis(900),
        "catbox returned after {elapsed:?}, before the daemon (sleep 1) exited; {}",
        run.describe()
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_one_violation("openat", &late, &late);
    std::thread::sleep(Duration::from_millis(200));
    assert_empty(&dirs.out, &run);
}

#[test]
fn c16d_supervisor_sigkill_kills_the_whole_tree() {
    let dirs = Dirs::new("c16d");
    let target = dirs.out.join("after-kill");
    let marker = unique_marker("c16d");
    let mut cmd = Command::new(catbox_bin());
    cmd.arg("-w")
        .arg(&dirs.allowed)
        .arg("--")
        .arg("sh")
        .arg("-c")
        .arg(r#"sleep 30; echo x > "$0""#)
        .arg(&target)
        .arg(&marker)
        .env("CATBOX_TEST_MARKER", &marker)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let mut child = cmd.spawn().expect("spawn catbox");

    // Wait until the `sleep 30` runs under catbox.
    let start = Instant::now();
    loop {
        let procs = marked_processes(&marker);
        if procs.iter().any(|(_, comm)| comm == "sleep") {
            break;
        }
        if let Some(st) = child.try_wait().unwrap() {
            kill_all(&procs);
            panic!("catbox exited ({st:?}) before the sleep started");
        }
        if start.elapsed() > Duration::from_secs(15) {
            kill_group(&child);
            kill_all(&procs);
            let _ = child.wait();
            panic!("`sleep 30` never started under catbox; processes: {procs:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }

    // SIGKILL the supervisor only (not its group).
    // SAFETY: plain kill(2) of our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    let st = child.wait().unwrap();
    assert_eq!(st.signal(), Some(libc::SIGKILL));

    let killed_at = Instant::now();
    loop {
        let left = marked_processes(&marker);
        if left.is_empty() {
            break;
        }
        if killed_at.elapsed() > Duration::from_secs(2) {
            kill_all(&left);
            panic!("2 s after catbox was SIGKILLed, its tracees still run: {left:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!target.exists(), "{} was written", target.display());
}

// ---------------------------------------------------------------------------
// orphaning fork trees, fork+exec trees

fn attempt_lines(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.starts_with("attempt "))
        .map(|l| l.to_string())
        .collect()
}

#[test]
fn orphaning_fork_tree_every_attempt_is_one_violation() {
    fork_tree_case(3, 3);
}

#[test]
fn wide_orphaning_fork_tree_every_attempt_is_one_violation() {
    fork_tree_case(12, 4);
}

fn fork_tree_case(k: usize, m: usize) {
    let prog = c_program("fork_tree");
    let total = 1 + k + k * m;
    let (k, m) = (k.to_string(), m.to_string());
    let (k, m) = (k.as_str(), m.as_str());

    // Natively: count the attempts (and check that they succeed there).
    let native = Dirs::new("ftree-native");
    let mut cmd = Command::new(&prog);
    cmd.arg(&native.out).arg(k).arg(m);
    let raw = run_bounded(cmd, LIMIT);
    assert_eq!(raw.status, 0, "native: {}", lossy(&raw.stderr));
    let native_lines = attempt_lines(&lossy(&raw.stdout));
    assert_eq!(native_lines.len(), total, "{native_lines:?}");
    assert_eq!(listing(&native.out).len(), native_lines.len());

    let dirs = Dirs::new("ftree");
    let run = sb(&dirs, &[s(&prog), s(&dirs.out), k.into(), m.into()]);
    let lines = attempt_lines(&run.stdout);
    assert_eq!(
        lines.len(),
        native_lines.len(),
        "attempts under catbox vs natively: {}",
        run.describe()
    );
    assert!(
        lines.iter().all(|l| l.ends_with("-> -1 Permission denied")),
        "{}",
        run.describe()
    );
    let t = run.tuples();
    assert_eq!(t.len(), lines.len(), "{}", run.describe());
    // Each attempt's path appears in exactly one violation.
    let attempted: BTreeSet<String> = lines
        .iter()
        .map(|l| l["attempt ".len()..l.find(" -> ").unwrap()].to_string())
        .collect();
    let recorded: BTreeSet<String> = t.iter().map(|v| v.2.clone()).collect();
    assert_eq!(attempted, recorded, "{}", run.describe());
    for (op, path, canonical, errno) in &t {
        assert_eq!(
            (op.as_str(), path, errno.as_str()),
            ("openat", canonical, "EACCES"),
            "{}",
            run.describe()
        );
    }
    assert_eq!(run.status, 0, "{}", run.describe());
    assert!(
        run.report["processes"].as_u64().unwrap_or(0) >= total as u64,
        "{total} processes ran: {}",
        run.describe()
    );
    assert_empty(&dirs.out, &run);
}

#[test]
fn fork_exec_pipelines_are_traced() {
    let dirs = Dirs::new("pipes");
    let p1 = s(&dirs.out.join("p1"));
    let p2 = s(&dirs.out.join("p2"));
    let last = dirs.allowed.join("last");
    let script = r#"echo a | tr a b > "$0"
printf '3\n1\n2\n' | sort | head -n 1 > "$1"
echo ok | cat
seq 1 1000 | sort -n | tail -n 1 > "$2""#;
    let run = sb(&dirs, &["sh", "-c", script, &p1, &p2, &s(&last)]);
    assert_eq!(
        run.tuples(),
        vec![denied("openat", &p1, &p1), denied("openat", &p2, &p2)],
        "{}",
        run.describe()
    );
    assert_eq!(run.stdout, "ok\n", "{}", run.describe());
    assert_eq!(run.status, 0, "{}", run.describe());
    assert_eq!(
        std::fs::read_to_string(&last).unwrap_or_default(),
        "1000\n",
        "{}",
        run.describe()
    );
    assert!(
        run.report["processes"].as_u64().unwrap_or(0) >= 8,
        "a shell and its pipeline children: {}",
        run.describe()
    );
    assert_empty(&dirs.out, &run);
}

#[test]
fn nested_shells_write_from_the_innermost() {
    // sh -> sh -> sh, each level exec'd from a fork; the innermost writes.
    let dirs = Dirs::new("nested");
    let deep = s(&dirs.out.join("deep"));
    let script = r#"sh -c 'sh -c "echo deep > \"\$0\"; echo inner-rc=\$?" "$0"; echo middle' "$0"; echo outer"#;
    let run = sb(&dirs, &["sh", "-c", script, &deep]);
    run.assert_one_violation("openat", &deep, &deep);
    assert_eq!(
        run.stdout,
        "inner-rc=2\nmiddle\nouter\n",
        "{}",
        run.describe()
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    assert_empty(&dirs.out, &run);
}
