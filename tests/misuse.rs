//! Misuse and plumbing of the `catbox` CLI (SPEC §3.6, §5.2; cases.md C20):
//! every misuse gives its status (125 for catbox's own errors, with a one-line
//! message; 126/127 as a shell) and runs nothing; the program's stdout and
//! stderr pass byte for byte; `--report -`, `-q`, `--version`; debuggers and
//! PTRACE_ATTACH from inside the sandbox fail cleanly.
//!
//! Every run is bounded: a catbox that does not finish within [`LIMIT`] is
//! killed (with its whole process group) and the test fails.

mod common;

use common::bounded::{drain, kill_group, lossy, run_bounded, Raw, LIMIT};

use common::{assert_empty, c_program, catbox_bin, listing, s, Dirs, Run};
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// bounded runs

/// [`common::bounded::sbt`] without the time.
fn sbt<S: AsRef<OsStr>>(dirs: &Dirs, opts: &[&str], args: &[S]) -> Run {
    common::bounded::sbt(dirs, opts, args).0
}

/// `catbox ARGS` exactly, bounded, run in `cwd`; no report is read.
fn catbox_in<S: AsRef<OsStr>>(cwd: &Path, args: &[S]) -> Raw {
    let mut cmd = Command::new(catbox_bin());
    cmd.args(args).current_dir(cwd);
    run_bounded(cmd, LIMIT)
}

// ---------------------------------------------------------------------------
// helpers

/// A fresh empty working directory for a misuse run, so that "nothing was
/// created" can be checked there.
fn fresh_cwd(dirs: &Dirs) -> PathBuf {
    let d = dirs.root.join("cwd");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn describe(raw: &Raw) -> String {
    format!(
        "status={} stdout={:?} stderr={:?}",
        raw.status,
        lossy(&raw.stdout),
        lossy(&raw.stderr)
    )
}

/// The stderr of `raw` is exactly one non-empty line; returns it.
fn one_line(raw: &Raw) -> String {
    let e = lossy(&raw.stderr);
    let t = e.strip_suffix('\n').unwrap_or(&e);
    assert!(
        !t.trim().is_empty() && !t.contains('\n'),
        "expected a one-line message on stderr: {}",
        describe(raw)
    );
    t.to_string()
}

/// Runs `args` in a fresh cwd, expecting status `want`, a one-line message,
/// and nothing created there.
fn misuse(tag: &str, args: &[&OsStr], want: i32) {
    let dirs = Dirs::new(tag);
    let cwd = fresh_cwd(&dirs);
    let raw = catbox_in(&cwd, args);
    assert_eq!(raw.status, want, "catbox {args:?}: {}", describe(&raw));
    one_line(&raw);
    assert!(
        listing(&cwd).is_empty(),
        "catbox {args:?} created {:?}",
        listing(&cwd)
    );
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn proc_status_field(pid: u32, field: &str) -> String {
    let st = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    st.lines()
        .find_map(|l| l.strip_prefix(field).map(|v| v.trim().to_string()))
        .unwrap_or_default()
}

/// A `sleep 60` outside the sandbox, killed on drop.
struct Victim(Child);

impl Victim {
    fn new() -> Victim {
        let c = Command::new("sleep")
            .arg("60")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn sleep 60");
        Victim(c)
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// ---------------------------------------------------------------------------
// SPEC §3.6 misuse

#[test]
fn relative_rule_paths_are_refused_with_125() {
    for rel in ["build", "./build", "../x", "build/sub", "."] {
        let dirs = Dirs::new("rel");
        let cwd = fresh_cwd(&dirs);
        let marker = dirs.out.join("ran");
        let args: Vec<&OsStr> = vec![
            "-w".as_ref(),
            rel.as_ref(),
            "--".as_ref(),
            "touch".as_ref(),
            marker.as_os_str(),
        ];
        let raw = catbox_in(&cwd, &args);
        assert_eq!(raw.status, 125, "-w {rel}: {}", describe(&raw));
        let line = one_line(&raw);
        assert!(
            line.contains(rel),
            "the message should name the path {rel:?}: {line:?}"
        );
        assert!(!marker.exists(), "-w {rel}: the command ran");
        assert!(listing(&cwd).is_empty(), "-w {rel}: {:?}", listing(&cwd));
    }
}

#[test]
fn relative_rule_path_after_a_good_one_is_refused() {
    let dirs = Dirs::new("rel2");
    let cwd = fresh_cwd(&dirs);
    let marker = dirs.out.join("ran");
    let args: Vec<&OsStr> = vec![
        "-w".as_ref(),
        dirs.allowed.as_os_str(),
        "--write".as_ref(),
        "build".as_ref(),
        "--".as_ref(),
        "touch".as_ref(),
        marker.as_os_str(),
    ];
    let raw = catbox_in(&cwd, &args);
    assert_eq!(raw.status, 125, "{}", describe(&raw));
    assert!(one_line(&raw).contains("build"));
    assert!(!marker.exists());
}

#[test]
fn invalid_regex_is_refused_with_125() {
    for re in ["(", "[a-", "a{2,1}", "*"] {
        let dirs = Dirs::new("regex");
        let cwd = fresh_cwd(&dirs);
        let marker = dirs.out.join("ran");
        let args: Vec<&OsStr> = vec![
            "-w".as_ref(),
            dirs.allowed.as_os_str(),
            "--write-regex".as_ref(),
            re.as_ref(),
            "--".as_ref(),
            "touch".as_ref(),
            marker.as_os_str(),
        ];
        let raw = catbox_in(&cwd, &args);
        assert_eq!(raw.status, 125, "--write-regex {re:?}: {}", describe(&raw));
        one_line(&raw);
        assert!(!marker.exists(), "--write-regex {re:?}: the command ran");
        assert!(listing(&cwd).is_empty());
    }
}

#[test]
fn missing_command_is_127() {
    let dirs = Dirs::new("missing");
    let cwd = fresh_cwd(&dirs);
    for cmd in [
        "/nonexistent-catbox-dir/no-such-command",
        "catbox-no-such-command-xyzzy",
    ] {
        let args: Vec<&OsStr> = vec![
            "-w".as_ref(),
            dirs.allowed.as_os_str(),
            "--".as_ref(),
            cmd.as_ref(),
            "arg".as_ref(),
        ];
        let raw = catbox_in(&cwd, &args);
        assert_eq!(raw.status, 127, "{cmd}: {}", describe(&raw));
        let line = one_line(&raw);
        assert!(
            line.contains(cmd),
            "the message should name {cmd}: {line:?}"
        );
    }
    assert!(listing(&cwd).is_empty());
}

#[test]
fn non_executable_command_is_126() {
    let dirs = Dirs::new("noexec");
    let cwd = fresh_cwd(&dirs);
    let script = dirs.allowed.join("script.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\ntouch {}/ran\n", dirs.out.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    for cmd in [script.as_path(), dirs.allowed.as_path()] {
        let args: Vec<&OsStr> = vec![
            "-w".as_ref(),
            dirs.allowed.as_os_str(),
            "--".as_ref(),
            cmd.as_os_str(),
        ];
        let raw = catbox_in(&cwd, &args);
        assert_eq!(raw.status, 126, "{}: {}", cmd.display(), describe(&raw));
        let line = one_line(&raw);
        assert!(
            line.contains(&s(cmd)),
            "the message should name {}: {line:?}",
            cmd.display()
        );
    }
    assert!(listing(&dirs.out).is_empty());
    assert!(listing(&cwd).is_empty());
}

#[test]
fn empty_argv_is_125() {
    let d = Dirs::new("empty");
    let report = d.root.join("r.json");
    let cases: Vec<Vec<&OsStr>> = vec![
        vec!["--".as_ref()],
        vec![],
        vec!["-w".as_ref(), d.allowed.as_os_str(), "--".as_ref()],
        vec![
            "-w".as_ref(),
            d.allowed.as_os_str(),
            "--report".as_ref(),
            report.as_os_str(),
        ],
    ];
    for args in cases {
        misuse("empty", &args, 125);
    }
}

#[test]
fn unknown_option_is_125() {
    let dirs = Dirs::new("unknown");
    let cwd = fresh_cwd(&dirs);
    let marker = dirs.out.join("ran");
    let args: Vec<&OsStr> = vec![
        "--no-such-option".as_ref(),
        "--".as_ref(),
        "touch".as_ref(),
        marker.as_os_str(),
    ];
    let raw = catbox_in(&cwd, &args);
    assert_eq!(raw.status, 125, "{}", describe(&raw));
    assert!(!raw.stderr.is_empty());
    assert!(!marker.exists());
}

// ---------------------------------------------------------------------------
// the program's output is its own

/// 1 MiB with every byte value, runs of NUL bytes and no trailing newline.
fn binary_data() -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut v: Vec<u8> = (0..=255u8).collect();
    v.extend(std::iter::repeat(0u8).take(4096));
    while v.len() < 1 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.push((x >> 24) as u8);
    }
    v.truncate(1 << 20);
    *v.last_mut().unwrap() = 0;
    v
}

#[test]
fn stdout_passes_byte_for_byte() {
    let dirs = Dirs::new("stdout");
    let data = binary_data();
    let file = dirs.allowed.join("data.bin");
    std::fs::write(&file, &data).unwrap();
    let report = dirs.report_path();
    let args: Vec<&OsStr> = vec![
        "-w".as_ref(),
        dirs.allowed.as_os_str(),
        "--report".as_ref(),
        report.as_os_str(),
        "--".as_ref(),
        "cat".as_ref(),
        file.as_os_str(),
    ];
    let raw = catbox_in(Path::new("/"), &args);
    assert_eq!(raw.status, 0, "stderr={:?}", lossy(&raw.stderr));
    assert_eq!(raw.stdout.len(), data.len(), "stdout length");
    assert!(
        raw.stdout == data,
        "stdout differs from the program's output"
    );
    assert!(raw.stderr.is_empty(), "stderr={:?}", lossy(&raw.stderr));
}

#[test]
fn stderr_passes_byte_for_byte() {
    let dirs = Dirs::new("stderr");
    let data = binary_data();
    let file = dirs.allowed.join("data.bin");
    std::fs::write(&file, &data).unwrap();
    let report = dirs.report_path();
    let args: Vec<&OsStr> = vec![
        "-w".as_ref(),
        dirs.allowed.as_os_str(),
        "--report".as_ref(),
        report.as_os_str(),
        "--".as_ref(),
        "sh".as_ref(),
        "-c".as_ref(),
        r#"cat "$0" >&2"#.as_ref(),
        file.as_os_str(),
    ];
    let raw = catbox_in(Path::new("/"), &args);
    assert_eq!(raw.status, 0, "stdout={:?}", lossy(&raw.stdout));
    assert_eq!(raw.stderr.len(), data.len(), "stderr length");
    assert!(
        raw.stderr == data,
        "stderr differs from the program's output"
    );
    assert!(raw.stdout.is_empty(), "stdout={:?}", lossy(&raw.stdout));
}

#[test]
fn stdin_passes_byte_for_byte() {
    let dirs = Dirs::new("stdin");
    let data = binary_data();
    let out = dirs.allowed.join("copy.bin");
    let mut cmd = Command::new(catbox_bin());
    cmd.arg("-w")
        .arg(&dirs.allowed)
        .arg("--report")
        .arg(dirs.report_path())
        .arg("--")
        .arg("sh")
        .arg("-c")
        .arg(r#"cat > "$0""#)
        .arg(&out)
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().expect("spawn catbox");
    let mut stdin = child.stdin.take().unwrap();
    let feed = data.clone();
    std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(&feed);
    });
    let err = drain(child.stderr.take());
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > LIMIT {
            kill_group(&child);
            let _ = child.wait();
            panic!("catbox did not finish within {LIMIT:?} reading stdin");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let e = err.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
    assert!(status.success(), "{status:?} stderr={:?}", lossy(&e));
    let got = std::fs::read(&out).unwrap_or_default();
    assert_eq!(got.len(), data.len(), "stdin length");
    assert!(got == data, "stdin differs");
}

#[test]
fn stdout_of_a_pipeline_inside_passes_through() {
    // many small writes from several processes, ending without a newline
    let dirs = Dirs::new("stdout2");
    let run = sbt(
        &dirs,
        &[],
        &[
            "sh",
            "-c",
            "seq 1 20000 | sort -n | tr '\\n' ' '; printf end",
        ],
    );
    let want: String = (1..=20000).map(|i| format!("{i} ")).collect::<String>() + "end";
    assert!(
        run.stdout == want,
        "stdout differs: {} bytes, want {}; status={} stderr={:?}",
        run.stdout.len(),
        want.len(),
        run.status,
        run.stderr
    );
    assert_eq!(run.status, 0);
    run.assert_no_violations();
}

#[test]
fn report_dash_prints_json_to_stdout() {
    let dirs = Dirs::new("rdash");
    let args: Vec<&OsStr> = vec![
        "-w".as_ref(),
        dirs.allowed.as_os_str(),
        "--report".as_ref(),
        "-".as_ref(),
        "--".as_ref(),
        "true".as_ref(),
    ];
    let raw = catbox_in(Path::new("/"), &args);
    assert_eq!(raw.status, 0, "{}", describe(&raw));
    let v: serde_json::Value = serde_json::from_slice(&raw.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", describe(&raw)));
    assert_eq!(v["exit_code"], 0, "{v}");
    assert!(v["signal"].is_null(), "{v}");
    assert_eq!(v["violations"], serde_json::json!([]), "{v}");
    assert!(v["processes"].as_u64().unwrap_or(0) >= 1, "{v}");
    assert!(v["stops"].is_u64(), "{v}");
}

#[test]
fn report_dash_lists_violations() {
    let dirs = Dirs::new("rdash2");
    let target = dirs.out.join("r");
    let args: Vec<&OsStr> = vec![
        "-w".as_ref(),
        dirs.allowed.as_os_str(),
        "-q".as_ref(),
        "--report".as_ref(),
        "-".as_ref(),
        "--".as_ref(),
        "sh".as_ref(),
        "-c".as_ref(),
        r#"exec 2>&-; echo x > "$0"; exit 4"#.as_ref(),
        target.as_os_str(),
    ];
    let raw = catbox_in(Path::new("/"), &args);
    assert_eq!(raw.status, 4, "{}", describe(&raw));
    let v: serde_json::Value = serde_json::from_slice(&raw.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", describe(&raw)));
    assert_eq!(v["exit_code"], 4, "{v}");
    let viol = v["violations"].as_array().expect("violations");
    assert_eq!(viol.len(), 1, "{v}");
    assert_eq!(viol[0]["operation"], "openat", "{v}");
    assert_eq!(viol[0]["path"], s(&target), "{v}");
    assert_eq!(viol[0]["canonical"], s(&target), "{v}");
    assert_eq!(viol[0]["errno"], "EACCES", "{v}");
    assert!(viol[0]["pid"].as_u64().unwrap_or(0) >= 1, "{v}");
    assert!(!target.exists());
}

const THREE_WRITES: &str = r#"exec 2>&-; echo a > "$0"; echo b > "$1"; echo c > "$2"; exit 0"#;

#[test]
fn quiet_prints_no_violations() {
    for q in ["-q", "--quiet"] {
        let dirs = Dirs::new("quiet");
        let t: Vec<String> = ["q1", "q2", "q3"]
            .iter()
            .map(|n| s(&dirs.out.join(n)))
            .collect();
        let run = sbt(
            &dirs,
            &[q],
            &["sh", "-c", THREE_WRITES, &t[0], &t[1], &t[2]],
        );
        assert_eq!(run.tuples().len(), 3, "{}", run.describe());
        assert_eq!(run.stderr, "", "{q}: {}", run.describe());
        assert_eq!(run.status, 0, "{}", run.describe());
    }
}

#[test]
fn without_quiet_each_violation_prints_one_line() {
    let dirs = Dirs::new("loud");
    let t: Vec<String> = ["q1", "q2", "q3"]
        .iter()
        .map(|n| s(&dirs.out.join(n)))
        .collect();
    let run = sbt(&dirs, &[], &["sh", "-c", THREE_WRITES, &t[0], &t[1], &t[2]]);
    assert_eq!(run.tuples().len(), 3, "{}", run.describe());
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 3, "one line per violation: {}", run.describe());
    for (line, target) in lines.iter().zip(&t) {
        assert!(
            line.contains(target.as_str()),
            "line {line:?} should name {target}: {}",
            run.describe()
        );
    }
    assert_eq!(run.status, 0, "{}", run.describe());
}

// ---------------------------------------------------------------------------
// C20: debuggers and ptrace from inside

#[test]
fn c20_strace_inside_fails_cleanly() {
    if find_in_path("strace").is_none() {
        eprintln!("skipping: strace is not installed");
        return;
    }
    let dirs = Dirs::new("c20s");
    let run = sbt(&dirs, &[], &["strace", "-f", "true"]);
    assert_ne!(run.status, 0, "{}", run.describe());
    assert!(
        run.stderr.contains("Operation not permitted"),
        "{}",
        run.describe()
    );
    assert_empty(&dirs.out, &run);
}

#[test]
fn c20_gdb_inside_fails_cleanly() {
    if find_in_path("gdb").is_none() {
        eprintln!("skipping: gdb is not installed");
        return;
    }
    let dirs = Dirs::new("c20g");
    let run = sbt(
        &dirs,
        &[],
        &["gdb", "-nx", "-batch", "-ex", "run", "--args", "/bin/true"],
    );
    assert_ne!(run.status, 0, "{}", run.describe());
    assert!(
        run.stderr.contains("Operation not permitted"),
        "{}",
        run.describe()
    );
}

fn attach_case(mode: &str) {
    let victim = Victim::new();
    let pid = victim.0.id();
    let dirs = Dirs::new("c20a");
    let prog = c_program("ptrace_other");
    let run = sbt(&dirs, &[], &[s(&prog), pid.to_string(), mode.to_string()]);
    assert_eq!(run.stdout, "-1 1\n", "{mode}: {}", run.describe());
    assert_eq!(
        run.tuples(),
        vec![(
            "ptrace".to_string(),
            String::new(),
            pid.to_string(),
            "EPERM".to_string()
        )],
        "{mode}: {}",
        run.describe()
    );
    assert_eq!(run.status, 1, "{}", run.describe());
    assert_eq!(
        proc_status_field(pid, "TracerPid:"),
        "0",
        "the outside process is traced"
    );
    let state = proc_status_field(pid, "State:");
    assert!(state.starts_with('S'), "victim state {state}");
}

#[test]
fn c20_ptrace_attach_of_an_outside_process_is_denied_and_recorded() {
    attach_case("attach");
}

#[test]
fn c20_ptrace_seize_of_an_outside_process_is_denied_and_recorded() {
    attach_case("seize");
}

// ---------------------------------------------------------------------------
// --version

#[test]
fn version() {
    for flag in ["--version", "-V"] {
        let raw = catbox_in(Path::new("/"), &[flag]);
        assert_eq!(raw.status, 0, "{flag}: {}", describe(&raw));
        let out = lossy(&raw.stdout);
        assert!(
            out.contains("catbox") && out.contains(env!("CARGO_PKG_VERSION")),
            "{flag}: {}",
            describe(&raw)
        );
    }
}
