//! The real input of issue 6: GNU hello 2.10 from Debian's source packages,
//! built and installed as if into `/`.
//!
//! `./configure --prefix=/usr && make && make install` (no DESTDIR) under
//! `catbox -w <build dir> -w /tmp --image DIR` exits 0 with no violations;
//! DIR holds `usr/bin/hello` and its man and info pages; the host's
//! `/usr/bin/hello` is as it was (absent on a machine without the hello
//! package); and in the same run `/usr/bin/hello --version` (the installed
//! binary, by its `/usr` path) succeeds.
//!
//! The source is fetched once with `shared/real-inputs/fetch-debian-source.sh`
//! (apt's download needs root) and cached in `target/real-inputs/`. When it
//! cannot be had, the test says so on stderr (`SKIP:`) and passes.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::bounded::{run_bounded, with_report};
use common::real_inputs::hello_tarball;

/// The installed files, by their path in the view.
const INSTALLED: [&str; 3] = [
    "/usr/bin/hello",
    "/usr/share/man/man1/hello.1",
    "/usr/share/info/hello.info",
];

/// The run without its (long) build output, for assertion messages.
fn brief(run: &common::Run) -> String {
    let tail = |s: &str| {
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    };
    format!(
        "status={}\n--- stdout (tail) ---\n{}\n--- stderr (tail) ---\n{}\n--- report ---\n{}",
        run.status,
        tail(&run.stdout),
        tail(&run.stderr),
        run.report
    )
}

/// What the host has at `p`: type, size, mtime and inode, or nothing.
fn host_state(p: &str) -> Option<(u32, u64, i64, i64, u64)> {
    std::fs::symlink_metadata(p)
        .ok()
        .map(|m| (m.mode(), m.size(), m.mtime(), m.mtime_nsec(), m.ino()))
}

#[test]
fn hello_installs_into_the_image() {
    let tarball = match hello_tarball() {
        Ok(t) => t,
        Err(why) => {
            eprintln!("SKIP: could not download GNU hello ({why})");
            return;
        }
    };

    let dirs = common::Dirs::new("image-hello");
    let build = dirs.allowed.clone();
    let st = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&build)
        .status()
        .expect("run tar");
    assert!(st.success(), "unpacking {}", tarball.display());
    let tree = build.join("hello-2.10");
    assert!(tree.is_dir(), "{} missing after unpacking", tree.display());

    // The image directory is beside the build directory, under /tmp, which
    // is writable in this run: catbox keeps its own tmpfs out of the view.
    let image = dirs.root.join("image");
    let report = dirs.report_path();
    let before: Vec<_> = INSTALLED.iter().map(|p| host_state(p)).collect();
    let mut cmd = Command::new(common::catbox_bin());
    cmd.arg("-w")
        .arg(&build)
        .args(["-w", "/tmp", "--image"])
        .arg(&image)
        .arg("--report")
        .arg(&report)
        .args(["--", "sh", "-c"])
        .arg(format!(
            "cd '{}' && ./configure --prefix=/usr && make && make install && \
             /usr/bin/hello --version",
            tree.display()
        ))
        .current_dir("/");
    let run = with_report(run_bounded(cmd, Duration::from_secs(600)), &report);
    let after: Vec<_> = INSTALLED.iter().map(|p| host_state(p)).collect();

    // The host is as it was (on a machine without the hello package: no
    // /usr/bin/hello before or after). Undo anything that escaped.
    if before != after {
        for (p, (b, a)) in INSTALLED.iter().zip(before.iter().zip(&after)) {
            if b.is_none() && a.is_some() {
                let _ = std::fs::remove_file(p);
            }
        }
        panic!(
            "the host's installed files changed under --image: before {before:?}, after \
             {after:?}\n{}",
            brief(&run)
        );
    }
    if before[0].is_none() {
        assert!(!Path::new("/usr/bin/hello").exists());
    }

    assert_eq!(run.status, 0, "the build failed\n{}", brief(&run));
    assert!(
        run.violations().is_empty(),
        "violations during the build\n{}",
        brief(&run)
    );
    // The last command: the installed hello, run by its /usr path.
    assert!(
        run.stdout
            .lines()
            .any(|l| l.trim() == "hello (GNU Hello) 2.10"),
        "/usr/bin/hello --version did not print its version\n{}",
        brief(&run)
    );

    // DIR holds the installed files at their /usr paths.
    for p in INSTALLED {
        let f = image.join(p.trim_start_matches('/'));
        let md = std::fs::metadata(&f)
            .unwrap_or_else(|e| panic!("{} missing ({e})\n{}", f.display(), brief(&run)));
        assert!(md.is_file() && md.len() > 0, "{}", f.display());
    }
    let hello = image.join("usr/bin/hello");
    assert!(
        std::fs::metadata(&hello).unwrap().mode() & 0o111 != 0,
        "{} is not executable",
        hello.display()
    );
    // It is the real thing: it runs outside the sandbox too.
    let out = Command::new(&hello)
        .output()
        .expect("run the image's hello");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello, world!\n");

    // The report lists them as added (the host has no hello).
    let added: Vec<&str> = run.report["image"]["added"]
        .as_array()
        .expect("report.image.added")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for (p, b) in INSTALLED.iter().zip(&before) {
        if b.is_none() {
            assert!(
                added.contains(p),
                "{p} not in report.image.added\n{}",
                brief(&run)
            );
        }
    }
    // Nothing of the build directory or /tmp (writable paths) is in DIR.
    assert!(
        !image.join(build.strip_prefix("/").unwrap()).exists(),
        "the build directory was captured"
    );
    assert!(
        added.iter().all(|p| !p.starts_with("/tmp/")),
        "writes under /tmp were captured: {added:?}"
    );
}
