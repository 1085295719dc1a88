//! Issue 5's real input: GNU hello's configure + make under `catbox --trace`,
//! then `catbox deps`: it names the packages of the compiler driver, make,
//! the C library headers and the shell, and each owner it names agrees with
//! `dpkg -S`. Skips (and says so) when the source cannot be downloaded or
//! dpkg is absent.

mod common;

use std::process::Command;

use common::real_inputs::hello_tarball;
use serde_json::Value;

/// `dpkg -S PATH` → the package names it prints (architecture kept).
fn dpkg_owners(path: &str) -> Vec<String> {
    let out = Command::new("dpkg")
        .arg("-S")
        .arg(path)
        .output()
        .expect("dpkg");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut v = Vec::new();
    for line in text.lines() {
        if line.starts_with("diversion by") {
            continue;
        }
        if let Some((pkgs, _)) = line.split_once(": ") {
            v.extend(pkgs.split(", ").map(|s| s.to_string()));
        }
    }
    v.sort();
    v
}

#[test]
fn deps_of_hello_match_dpkg() {
    if Command::new("dpkg").arg("--version").output().is_err() {
        eprintln!("SKIP: dpkg is not installed");
        return;
    }
    let tarball = match hello_tarball() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("SKIP: could not download GNU hello ({e})");
            return;
        }
    };
    let d = common::Dirs::new("deps-hello");
    let st = Command::new("tar")
        .arg("-C")
        .arg(&d.allowed)
        .arg("-xzf")
        .arg(&tarball)
        .status()
        .unwrap();
    assert!(st.success());
    let tree = d.allowed.join("hello-2.10");
    let log = d.root.join("trace.jsonl");
    let script = format!(
        "cd '{}' && ./configure >/dev/null && make >/dev/null 2>&1",
        tree.display()
    );
    let run = common::sb_opts(
        &d,
        &["-w", "/tmp", "--trace", log.to_str().unwrap()],
        &["sh", "-c", script.as_str()],
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    let out = Command::new(common::catbox_bin())
        .args(["deps", log.to_str().unwrap(), "--build-dir"])
        .arg(&d.allowed)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a: Value = serde_json::from_slice(&out.stdout).expect("deps JSON");
    let inputs = a["inputs"]["packages"]
        .as_object()
        .expect("inputs by package");
    let has = |p: &str| {
        inputs
            .keys()
            .any(|k| k == p || k.starts_with(&format!("{p}:")))
    };
    // the compiler driver, make, the C library headers and the shell
    for pkg in ["gcc-12", "make", "libc6-dev", "dash"] {
        assert!(
            has(pkg),
            "{pkg} missing from {:?}",
            inputs.keys().collect::<Vec<_>>()
        );
    }
    assert!(
        inputs.iter().any(|(_, files)| files
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "/usr/include/stdio.h")),
        "stdio.h is an input"
    );
    // every owner it names agrees with dpkg -S (a sample of each package)
    let mut checked = 0;
    for (pkg, files) in inputs {
        for f in files.as_array().unwrap().iter().take(2) {
            let f = f.as_str().unwrap();
            let owners = dpkg_owners(f);
            // the other spelling of the same file on a merged-/usr system
            let alt = match f.strip_prefix("/usr") {
                Some(rest) => dpkg_owners(rest),
                None => dpkg_owners(&format!("/usr{f}")),
            };
            assert!(
                owners.contains(pkg) || alt.contains(pkg),
                "deps says {f} belongs to {pkg}; dpkg -S says {owners:?} / {alt:?}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "{checked}");
    // no output of the build is reported as written outside it
    let outside = a["writes_outside"].as_array().unwrap();
    assert!(outside.is_empty(), "{outside:?}");
    let outputs = a["outputs"].as_array().unwrap();
    let hello = tree.join("hello");
    assert!(
        outputs.iter().any(|o| o.as_str() == hello.to_str()),
        "hello is an output"
    );
}
