//! Shared helpers for the integration tests: run the real `catbox` binary on
//! real processes, compile the C reproducers in `tests/c/`, read the JSON report.
#![allow(dead_code)]

pub mod bounded;
pub mod real_inputs;

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// Path of the `catbox` binary built by cargo for this test run.
pub fn catbox_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_catbox"))
}

/// A pair of fresh directories as in `shared/cases.md`: `allowed` is the only
/// writable rule, `out` is outside every rule but writable by the test user,
/// so only catbox stops a write there. Both are removed on drop.
pub struct Dirs {
    pub root: PathBuf,
    pub allowed: PathBuf,
    pub out: PathBuf,
}

impl Dirs {
    pub fn new(tag: &str) -> Dirs {
        let base = std::env::temp_dir();
        let root = base.join(format!(
            "catbox-test-{}-{}-{}",
            tag,
            std::process::id(),
            unique()
        ));
        let allowed = root.join("allowed");
        let out = root.join("out");
        std::fs::create_dir_all(&allowed).unwrap();
        std::fs::create_dir_all(&out).unwrap();
        // world-writable parents so tests also work when run as another user
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        Dirs { root, allowed, out }
    }

    /// Where `sb` writes its JSON report (outside both directories).
    pub fn report_path(&self) -> PathBuf {
        self.root.join("report.json")
    }
}

impl Drop for Dirs {
    fn drop(&mut self) {
        let _ = Command::new("chmod")
            .arg("-R")
            .arg("u+rwx")
            .arg(&self.root)
            .status();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

/// A path as a `String` (test paths are UTF-8).
pub fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

/// Fail unless `dir` is empty (nothing got written there).
pub fn assert_empty(dir: &Path, run: &Run) {
    let l = listing(dir);
    assert!(
        l.is_empty(),
        "{} should be unchanged but has {l:?}; {}",
        dir.display(),
        run.describe()
    );
}

/// The result of one sandboxed run.
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    /// The parsed JSON report (SPEC 5.2).
    pub report: serde_json::Value,
}

impl Run {
    pub fn violations(&self) -> &Vec<serde_json::Value> {
        self.report["violations"]
            .as_array()
            .expect("violations array")
    }

    /// Violations as (operation, path, canonical, errno) tuples.
    pub fn tuples(&self) -> Vec<(String, String, String, String)> {
        self.violations()
            .iter()
            .map(|v| {
                (
                    v["operation"].as_str().unwrap_or("").to_string(),
                    v["path"].as_str().unwrap_or("").to_string(),
                    v["canonical"].as_str().unwrap_or("").to_string(),
                    v["errno"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// Panics with the whole run printed unless there is exactly one violation
    /// equal to (operation, path, canonical, "EACCES").
    pub fn assert_one_violation(&self, op: &str, path: &str, canonical: &str) {
        let t = self.tuples();
        assert_eq!(
            t,
            vec![(op.into(), path.into(), canonical.into(), "EACCES".into())],
            "{}",
            self.describe()
        );
    }

    pub fn assert_no_violations(&self) {
        assert!(self.violations().is_empty(), "{}", self.describe());
    }

    pub fn describe(&self) -> String {
        format!(
            "status={} stdout={:?} stderr={:?} report={}",
            self.status, self.stdout, self.stderr, self.report
        )
    }
}

/// `sb` of cases.md: `catbox -w ALLOWED --report R -- ARGS...`, run in `cwd`
/// (default "/", so the tracer's cwd differs from any directory under test).
pub fn sb<S: AsRef<OsStr>>(dirs: &Dirs, args: &[S]) -> Run {
    sb_opts(dirs, &[] as &[&str], args)
}

/// Like [`sb`] with extra catbox options before `--`.
pub fn sb_opts<S: AsRef<OsStr>, T: AsRef<OsStr>>(dirs: &Dirs, opts: &[T], args: &[S]) -> Run {
    let report = dirs.report_path();
    let _ = std::fs::remove_file(&report);
    let mut cmd = Command::new(catbox_bin());
    cmd.arg("-w")
        .arg(&dirs.allowed)
        .arg("--report")
        .arg(&report);
    for o in opts {
        cmd.arg(o);
    }
    cmd.arg("--");
    for a in args {
        cmd.arg(a);
    }
    cmd.current_dir("/").stdin(Stdio::null());
    let out = cmd.output().expect("spawn catbox");
    finish(out, &report)
}

/// Run catbox with exactly these arguments (no implicit rule), reading the
/// report from `report` if it exists.
pub fn catbox_raw<S: AsRef<OsStr>>(args: &[S], report: Option<&Path>) -> Run {
    let mut cmd = Command::new(catbox_bin());
    for a in args {
        cmd.arg(a);
    }
    cmd.current_dir("/").stdin(Stdio::null());
    let out = cmd.output().expect("spawn catbox");
    match report {
        Some(r) => finish(out, r),
        None => Run {
            status: code_of(&out),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            report: serde_json::Value::Null,
        },
    }
}

fn code_of(out: &Output) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    out.status
        .code()
        .unwrap_or_else(|| 128 + out.status.signal().unwrap_or(0))
}

fn finish(out: Output, report: &Path) -> Run {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let text = std::fs::read_to_string(report).unwrap_or_else(|e| {
        panic!(
            "no report at {}: {e}; status={:?} stdout={stdout:?} stderr={stderr:?}",
            report.display(),
            out.status
        )
    });
    let report: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON report {text:?}: {e}"));
    Run {
        status: code_of(&out),
        stdout,
        stderr,
        report,
    }
}

/// Compile `tests/c/NAME.c` once per test process and return the binary.
/// The binary is placed in a world-readable directory so the tests also run
/// as an unprivileged user.
pub fn c_program(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("catbox-test-bin-{}", std::process::id()));
        // A directory left by an earlier process with the same (recycled)
        // pid holds binaries of older sources: start afresh.
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        d
    });
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/c")
        .join(format!("{name}.c"));
    let bin = dir.join(name);
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if !bin.exists() {
        let tmp = dir.join(format!("{name}.tmp"));
        let st = Command::new("cc")
            .args(["-O1", "-Wall", "-pthread", "-o"])
            .arg(&tmp)
            .arg(&src)
            .status()
            .expect("run cc");
        assert!(st.success(), "compiling {}", src.display());
        std::fs::rename(&tmp, &bin).unwrap();
    }
    bin
}

/// Every file below `dir` (recursively), for "nothing changed in $OUT" checks.
pub fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    fn walk(d: &Path, v: &mut Vec<PathBuf>) {
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten() {
                let p = e.path();
                v.push(p.clone());
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    walk(&p, v);
                }
            }
        }
    }
    walk(dir, &mut v);
    v.sort();
    v
}
