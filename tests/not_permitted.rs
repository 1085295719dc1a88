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

/// Where user namespaces are not permitted, the root view says which step
/// failed and what to check, exits 125, runs nothing and leaves the image
/// directory as it was.
#[test]
fn root_view_without_user_namespaces_is_a_clear_error() {
    let d = Dirs::new("nouserns");
    let marker = d.out.join("ran");
    let image = d.root.join("image");
    let out = Command::new(c_program("deny_syscall"))
        .arg("unshare")
        .arg(catbox_bin())
        .arg("--image")
        .arg(&image)
        .arg("--")
        .arg("sh")
        .arg("-c")
        .arg(format!("echo ran > '{}'", marker.display()))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(
        err.contains("root view: failed to enter a new user and mount namespace"),
        "{err}"
    );
    assert!(
        err.contains("max_user_namespaces"),
        "says what to check: {err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(!marker.exists(), "the command must not run");
    assert_eq!(
        std::fs::read_dir(&image).map(|d| d.count()).unwrap_or(0),
        0,
        "the image directory stays empty"
    );
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
