//! Bounded runs: a command in its own process group, killed (and the test
//! failed) when it outlives its limit or leaves a process holding its output
//! open after it exits.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use super::{catbox_bin, Dirs, Run};
use std::ffi::OsStr;

/// Longest any single run may take before the test fails.
pub const LIMIT: Duration = Duration::from_secs(30);

/// The raw result of one bounded run.
pub struct Raw {
    /// Exit code, or 128 + the signal.
    pub status: i32,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
    /// From spawn until the direct child (catbox) exited.
    pub elapsed: Duration,
}

pub fn drain<R: Read + Send + 'static>(r: Option<R>) -> Receiver<Vec<u8>> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(mut r) = r {
            let _ = r.read_to_end(&mut v);
        }
        let _ = tx.send(v);
    });
    rx
}

pub fn kill_group(child: &Child) {
    // SAFETY: plain kill(2) on the process group the child leads.
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGKILL);
    }
}

pub fn lossy(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

/// Run `cmd` in its own process group (stdin /dev/null), collecting its
/// output. The test fails, after the whole group is SIGKILLed, if the command
/// has not exited within `limit`, or if its stdout/stderr are still held open
/// 5 s after it exited (some process outlived the run).
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Raw {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn");
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0));
        }
        if start.elapsed() > limit {
            kill_group(&child);
            let _ = child.wait();
            let o = out.recv_timeout(Duration::from_secs(2)).unwrap_or_default();
            let e = err.recv_timeout(Duration::from_secs(2)).unwrap_or_default();
            panic!(
                "{:?} did not finish within {limit:?} (killed): stdout={:?} stderr={:?}",
                cmd,
                lossy(&o),
                lossy(&e)
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    let grace = Duration::from_secs(5);
    match (out.recv_timeout(grace), err.recv_timeout(grace)) {
        (Ok(stdout), Ok(stderr)) => Raw {
            status,
            stdout,
            stderr,
            elapsed,
        },
        _ => {
            kill_group(&child);
            panic!(
                "{cmd:?} exited with {status}, but its stdout/stderr stayed open for 5 s: \
                 a process outlived the sandboxed run"
            );
        }
    }
}

/// A bounded run's result with the JSON report catbox wrote at `report`.
pub fn with_report(raw: Raw, report: &Path) -> Run {
    let stdout = lossy(&raw.stdout);
    let stderr = lossy(&raw.stderr);
    let text = std::fs::read_to_string(report).unwrap_or_else(|e| {
        panic!(
            "no report at {}: {e}; status={} stdout={stdout:?} stderr={stderr:?}",
            report.display(),
            raw.status
        )
    });
    let report: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("bad JSON report {text:?}: {e}; stderr={stderr:?}"));
    Run {
        status: raw.status,
        stdout,
        stderr,
        report,
    }
}

/// `sb` of cases.md with extra options, bounded by [`LIMIT`]: `catbox -w
/// ALLOWED --report R OPTS -- ARGS`, from cwd "/". Returns the run and how
/// long catbox took.
pub fn sbt<S: AsRef<OsStr>>(dirs: &Dirs, opts: &[&str], args: &[S]) -> (Run, Duration) {
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
    let elapsed = raw.elapsed;
    (with_report(raw, &report), elapsed)
}
