//! Exit statuses, signals and stopped processes under the `catbox` CLI
//! (SPEC §3.1, §5.2; cases.md C14, C15, C19): the command's status passes
//! through (128+N for signal N), the report says `exit_code`/`signal`,
//! stopped tracees stay stopped, signals reach their handlers, a denied call
//! fails with EACCES (not ENOSYS), and violations change the exit status only
//! with `--fail-on-violation`.
//!
//! Every run is bounded: a catbox that does not finish within [`LIMIT`] is
//! killed (with its whole process group) and the test fails.

mod common;

use common::bounded::{drain, kill_group, lossy, with_report, Raw, LIMIT};

use common::bounded::sbt;
use common::{assert_empty, catbox_bin, s, Dirs, Run};
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// bounded runs

fn sb<S: AsRef<OsStr>>(dirs: &Dirs, args: &[S]) -> Run {
    sbt(dirs, &[], args).0
}

/// The state letter of /proc/PID/stat ("R", "S", "T", "t", ...).
fn proc_state(pid: i32) -> String {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next())
        .unwrap_or("")
        .to_string()
}

fn send(pid: i32, sig: i32) {
    // SAFETY: plain kill(2) of a process of this test's run.
    let r = unsafe { libc::kill(pid, sig) };
    assert_eq!(r, 0, "kill({pid}, {sig})");
}

/// A catbox run whose stdout is read line by line while it runs.
struct Live {
    child: Child,
    lines: Receiver<String>,
    stderr: Receiver<Vec<u8>>,
    report: std::path::PathBuf,
}

impl Live {
    fn start<S: AsRef<OsStr>>(dirs: &Dirs, args: &[S]) -> Live {
        let report = dirs.report_path();
        let _ = std::fs::remove_file(&report);
        let mut cmd = Command::new(catbox_bin());
        cmd.arg("-w")
            .arg(&dirs.allowed)
            .arg("--report")
            .arg(&report)
            .arg("--")
            .args(args)
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn().expect("spawn catbox");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines() {
                match l {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        let stderr = drain(child.stderr.take());
        Live {
            child,
            lines,
            stderr,
            report,
        }
    }

    /// The next stdout line, failing the test (and killing the run) after 10 s.
    fn line(&mut self, what: &str) -> String {
        match self.lines.recv_timeout(Duration::from_secs(10)) {
            Ok(l) => l,
            Err(e) => {
                self.abort(&format!("no stdout line ({what}) within 10 s: {e:?}"));
            }
        }
    }

    fn abort(&mut self, msg: &str) -> ! {
        kill_group(&self.child);
        let _ = self.child.wait();
        let e = self
            .stderr
            .recv_timeout(Duration::from_secs(2))
            .unwrap_or_default();
        panic!("{msg}; catbox stderr={:?}", lossy(&e));
    }

    /// Wait (bounded) for catbox to exit; the rest of stdout and the report.
    fn finish(mut self) -> Run {
        let start = Instant::now();
        let status = loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                break st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0));
            }
            if start.elapsed() > LIMIT {
                self.abort(&format!("catbox did not finish within {LIMIT:?}"));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let mut rest = Vec::new();
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            rest.push(l);
        }
        let stderr = self
            .stderr
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_default();
        let stdout: String = rest.iter().map(|l| format!("{l}\n")).collect();
        with_report(
            Raw {
                status,
                stdout: stdout.into_bytes(),
                stderr,
                elapsed: start.elapsed(),
            },
            &self.report,
        )
    }
}

// ---------------------------------------------------------------------------
// C14: exit statuses

#[test]
fn c14_main_process_killed_after_child_exited_0_gives_137() {
    let dirs = Dirs::new("c14a");
    let run = sb(&dirs, &["sh", "-c", "/bin/true; kill -KILL $$"]);
    assert_eq!(run.status, 137, "{}", run.describe());
    assert_eq!(run.report["signal"], 9, "{}", run.describe());
    assert!(
        run.report["exit_code"].is_null(),
        "exit_code must be null when a signal killed the command: {}",
        run.describe()
    );
    run.assert_no_violations();
}

#[test]
fn c14_segv_gives_139() {
    let dirs = Dirs::new("c14b");
    let run = sb(&dirs, &["sh", "-c", "kill -SEGV $$"]);
    assert_eq!(run.status, 139, "{}", run.describe());
    assert_eq!(run.report["signal"], 11, "{}", run.describe());
    assert!(run.report["exit_code"].is_null(), "{}", run.describe());
}

#[test]
fn c14_descendant_killed_by_signal_does_not_leak_into_status() {
    let dirs = Dirs::new("c14c");
    let run = sb(&dirs, &["sh", "-c", r#"sh -c "kill -TERM \$\$"; exit 0"#]);
    assert_eq!(run.status, 0, "{}", run.describe());
    assert_eq!(run.report["exit_code"], 0, "{}", run.describe());
    assert!(run.report["signal"].is_null(), "{}", run.describe());
}

#[test]
fn c14_exit_42() {
    let dirs = Dirs::new("c14d");
    let run = sb(&dirs, &["sh", "-c", "exit 42"]);
    assert_eq!(run.status, 42, "{}", run.describe());
    assert_eq!(run.report["exit_code"], 42, "{}", run.describe());
    assert!(run.report["signal"].is_null(), "{}", run.describe());
}

#[test]
fn c14_last_process_to_exit_does_not_decide_the_status() {
    // The main process exits 3 while a child it left behind exits 0 later.
    let dirs = Dirs::new("c14e");
    let run = sb(&dirs, &["sh", "-c", "(sleep 0.3; exit 0) & exit 3"]);
    assert_eq!(run.status, 3, "{}", run.describe());
    assert_eq!(run.report["exit_code"], 3, "{}", run.describe());
}

// ---------------------------------------------------------------------------
// C15: stopped processes, signals passed through

#[test]
fn c15_stopped_background_child_stays_stopped_until_sigcont() {
    let dirs = Dirs::new("c15a");
    let script = "sleep 30 & p=$!; kill -STOP $p; sleep 0.5; ps -o stat= -p $p; \
                  kill -CONT $p; sleep 0.5; ps -o stat= -p $p; kill $p";
    let run = sb(&dirs, &["sh", "-c", script]);
    let states: Vec<&str> = run.stdout.lines().map(str::trim).collect();
    assert_eq!(states.len(), 2, "{}", run.describe());
    assert!(
        states[0].starts_with('T') || states[0].starts_with('t'),
        "stopped process shown as {:?}, not T/t: {}",
        states[0],
        run.describe()
    );
    assert!(
        states[1].starts_with('S') || states[1].starts_with('R'),
        "continued process shown as {:?}: {}",
        states[1],
        run.describe()
    );
    assert_eq!(run.status, 0, "{}", run.describe());
}

#[test]
fn c15_main_tracee_stopping_itself_stays_stopped() {
    // The shell stops itself; it must stay stopped (T or t, never R/S) until
    // the test sends SIGCONT, then go on and exit normally.
    let dirs = Dirs::new("c15b");
    let mut live = Live::start(&dirs, &["sh", "-c", "echo $$; kill -STOP $$; echo resumed"]);
    let pid_line = live.line("pid");
    let pid: i32 = match pid_line.trim().parse() {
        Ok(p) => p,
        Err(_) => live.abort(&format!("expected a pid, got {pid_line:?}")),
    };
    let start = Instant::now();
    loop {
        let st = proc_state(pid);
        if st == "T" || st == "t" {
            break;
        }
        if start.elapsed() > Duration::from_secs(5) {
            live.abort(&format!("the shell never stopped: state {st:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // It stays stopped.
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(20));
        let st = proc_state(pid);
        if st != "T" && st != "t" {
            live.abort(&format!(
                "the stopped shell was resumed by catbox: state {st:?}"
            ));
        }
    }
    if let Ok(l) = live.lines.try_recv() {
        live.abort(&format!("the stopped shell printed {l:?}"));
    }
    send(pid, libc::SIGCONT);
    let l = live.line("after SIGCONT");
    assert_eq!(l, "resumed");
    let run = live.finish();
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
}

#[test]
fn c15_trapped_signal_then_denied_write() {
    let dirs = Dirs::new("c15c");
    let target = s(&dirs.out.join("after-signal"));
    let script = r#"trap "echo got-usr1" USR1; kill -USR1 $$; echo after; echo x > "$0""#;
    let run = sb(&dirs, &["sh", "-c", script, &target]);
    assert_eq!(run.stdout, "got-usr1\nafter\n", "{}", run.describe());
    run.assert_one_violation("openat", &target, &target);
    assert_ne!(
        run.status,
        0,
        "the denied redirection fails: {}",
        run.describe()
    );
    assert_empty(&dirs.out, &run);
}

#[test]
fn c15_signal_from_outside_reaches_the_handler() {
    let dirs = Dirs::new("c15d");
    let script = r#"trap "echo got-usr1; exit 9" USR1; echo $$; while :; do sleep 0.05; done"#;
    let mut live = Live::start(&dirs, &["sh", "-c", script]);
    let pid_line = live.line("pid");
    let pid: i32 = match pid_line.trim().parse() {
        Ok(p) => p,
        Err(_) => live.abort(&format!("expected a pid, got {pid_line:?}")),
    };
    send(pid, libc::SIGUSR1);
    let l = live.line("handler output");
    assert_eq!(l, "got-usr1");
    let run = live.finish();
    assert_eq!(run.status, 9, "{}", run.describe());
}

#[test]
fn c15_default_action_signal_kills_a_child_with_the_right_status() {
    let dirs = Dirs::new("c15e");
    let run = sb(
        &dirs,
        &[
            "sh",
            "-c",
            "sleep 5 & p=$!; kill -TERM $p; wait $p; echo rc=$?",
        ],
    );
    assert_eq!(run.stdout, "rc=143\n", "{}", run.describe());
    assert_eq!(run.status, 0, "{}", run.describe());
}

// ---------------------------------------------------------------------------
// C19: a denied call fails with EACCES, not ENOSYS

#[test]
fn c19_mkdir_outside_is_permission_denied() {
    let dirs = Dirs::new("c19a");
    let x = s(&dirs.out.join("x"));
    let run = sb(&dirs, &["mkdir", &x]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(
        run.stderr
            .lines()
            .any(|l| l.contains("cannot create directory") && l.contains("Permission denied")),
        "mkdir should say Permission denied: {}",
        run.describe()
    );
    assert!(
        !run.stderr.contains("Function not implemented"),
        "{}",
        run.describe()
    );
    run.assert_one_violation("mkdir", &x, &x);
    assert!(!dirs.out.join("x").exists());
}

#[test]
fn c19_shell_redirection_outside_is_permission_denied() {
    let dirs = Dirs::new("c19b");
    let y = s(&dirs.out.join("y"));
    let run = sb(&dirs, &["sh", "-c", r#"echo x > "$0""#, &y]);
    assert_ne!(run.status, 0, "{}", run.describe());
    assert!(
        run.stderr
            .lines()
            .any(|l| l.contains("cannot create") && l.contains("Permission denied")),
        "{}",
        run.describe()
    );
    assert!(
        !run.stderr.contains("Function not implemented"),
        "{}",
        run.describe()
    );
    run.assert_one_violation("openat", &y, &y);
    assert!(!dirs.out.join("y").exists());
}

// ---------------------------------------------------------------------------
// violations and the exit status

#[test]
fn violation_does_not_change_exit_status_0() {
    let dirs = Dirs::new("fov1");
    let v = s(&dirs.out.join("v"));
    let run = sb(&dirs, &["sh", "-c", r#"echo x > "$0"; exit 0"#, &v]);
    run.assert_one_violation("openat", &v, &v);
    assert_eq!(run.status, 0, "{}", run.describe());
    assert_eq!(run.report["exit_code"], 0, "{}", run.describe());
}

#[test]
fn violation_does_not_change_exit_status_5_or_signal() {
    let dirs = Dirs::new("fov2");
    let v = s(&dirs.out.join("v"));
    let run = sb(&dirs, &["sh", "-c", r#"echo x > "$0"; exit 5"#, &v]);
    run.assert_one_violation("openat", &v, &v);
    assert_eq!(run.status, 5, "{}", run.describe());
    let run = sb(&dirs, &["sh", "-c", r#"echo x > "$0"; kill -KILL $$"#, &v]);
    run.assert_one_violation("openat", &v, &v);
    assert_eq!(run.status, 137, "{}", run.describe());
}

#[test]
fn fail_on_violation_exits_1_when_a_violation_was_recorded() {
    let dirs = Dirs::new("fov3");
    let v = s(&dirs.out.join("v"));
    let (run, _) = sbt(
        &dirs,
        &["--fail-on-violation"],
        &["sh", "-c", r#"echo x > "$0"; exit 0"#, &v],
    );
    run.assert_one_violation("openat", &v, &v);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(!dirs.out.join("v").exists());
}

#[test]
fn fail_on_violation_without_violations_keeps_status() {
    let dirs = Dirs::new("fov4");
    let ok = s(&dirs.allowed.join("ok"));
    let (run, _) = sbt(
        &dirs,
        &["--fail-on-violation"],
        &["sh", "-c", r#"echo x > "$0"; exit 0"#, &ok],
    );
    run.assert_no_violations();
    assert_eq!(run.status, 0, "{}", run.describe());
    let (run, _) = sbt(&dirs, &["--fail-on-violation"], &["sh", "-c", "exit 42"]);
    assert_eq!(run.status, 42, "{}", run.describe());
}
