//! SPEC §3.6: where ptrace or seccomp is not permitted, catbox says so
//! clearly (and how to check), exits 125, and runs nothing unsandboxed.

mod common;

use common::{c_program, catbox_bin, Dirs};
use std::process::Command;

fn run_denied(which: &str, marker: &std::path::Path) -> std::process::Output {
    Command::new(c_program("deny_syscall"))
        .arg(which)
        .arg(catbox_bin())
        .arg("--")
        .arg("sh")
        .arg("-c")
        .arg(format!("echo ran > '{}'", marker.display()))
        .output()
        .unwrap()
}

#[test]
fn ptrace_not_permitted_is_a_clear_error() {
    let d = Dirs::new("noptrace");
    let marker = d.out.join("ran");
    let out = run_denied("ptrace", &marker);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("ptrace is not permitted"), "{err}");
    assert!(err.contains("ptrace_scope"), "says how to check: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(!marker.exists(), "the command must not run unsandboxed");
}

#[test]
fn seccomp_not_permitted_is_a_clear_error() {
    let d = Dirs::new("noseccomp");
    let marker = d.out.join("ran");
    let out = run_denied("seccomp", &marker);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("seccomp filters are not permitted"), "{err}");
    assert!(
        err.contains("/proc/self/status"),
        "says how to check: {err}"
    );
    assert!(!marker.exists(), "the command must not run unsandboxed");
}

#[test]
fn catbox_inside_catbox_cannot_attach() {
    // The outer sandbox denies PTRACE_SEIZE, so the inner catbox reports
    // that ptrace is not permitted, and the outer records the attempt.
    let d = Dirs::new("nested");
    let run = common::sb(&d, &[catbox_bin().to_str().unwrap(), "--", "true"]);
    assert_eq!(run.status, 125, "{}", run.describe());
    assert!(
        run.stderr.contains("ptrace is not permitted"),
        "{}",
        run.describe()
    );
    let t = run.tuples();
    assert!(
        t.iter().any(|(op, _, _, e)| op == "ptrace" && e == "EPERM"),
        "{}",
        run.describe()
    );
}
