//! The real input of issue 2: GNU hello 2.10 from Debian's source packages,
//! built under the `catbox` command.
//!
//! 1. `./configure && make` under `catbox -w <build dir> -w /tmp` exits 0 with
//!    no violations, and the built `hello` runs.
//! 2. `make install` (prefix /usr/local, no DESTDIR) fails, reports violations
//!    under /usr/local, and creates nothing there.
//! 3. `make install DESTDIR=<build dir>/image` succeeds with no violations.
//!
//! The source is fetched once with `shared/real-inputs/fetch-debian-source.sh`
//! (apt's download needs root) and cached in `target/real-inputs/`. When it
//! cannot be downloaded, the test says so on stderr and passes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::real_inputs::hello_tarball;

/// Run `catbox -w <build> -w /tmp --report R -- sh -c 'cd TREE && SCRIPT'`.
fn in_tree(dirs: &common::Dirs, tree: &Path, script: &str) -> common::Run {
    let cmd = format!("cd '{}' && {script}", tree.display());
    common::sb_opts(dirs, &["-w", "/tmp"], &["sh", "-c", cmd.as_str()])
}

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

#[test]
fn hello_configure_make_install() {
    let tarball = match hello_tarball() {
        Ok(t) => t,
        Err(why) => {
            eprintln!("SKIP: could not download GNU hello ({why})");
            return;
        }
    };

    // The build directory is `allowed` (the `-w` rule of `sb`); /tmp is also
    // writable, as for a real build.
    let dirs = common::Dirs::new("hello");
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

    // 1. configure && make: exit 0, no violations, and hello runs.
    let run = in_tree(&dirs, &tree, "./configure && make");
    assert_eq!(run.status, 0, "configure && make failed\n{}", brief(&run));
    assert!(
        run.violations().is_empty(),
        "violations during configure && make\n{}",
        brief(&run)
    );
    assert_eq!(run.report["exit_code"], 0, "{}", brief(&run));
    let hello = Command::new(tree.join("hello"))
        .output()
        .expect("run the built hello");
    assert!(hello.status.success());
    assert_eq!(String::from_utf8_lossy(&hello.stdout), "Hello, world!\n");

    // 2. make install to /usr/local: denied, reported, nothing created.
    let usr_local = Path::new("/usr/local");
    let before = common::listing(usr_local);
    let run = in_tree(&dirs, &tree, "make install");
    let after = common::listing(usr_local);
    assert_ne!(run.status, 0, "make install succeeded\n{}", brief(&run));
    let violations = run.tuples();
    assert!(
        !violations.is_empty(),
        "make install reported no violation\n{}",
        brief(&run)
    );
    let under = |p: &str| p == "/usr/local" || p.starts_with("/usr/local/");
    for (op, path, canonical, errno) in &violations {
        assert!(
            under(canonical),
            "violation {op} {path} -> {canonical} is not under /usr/local\n{}",
            brief(&run)
        );
        assert_eq!(errno, "EACCES", "violation {op} {path}\n{}", brief(&run));
    }
    if before != after {
        // Undo what escaped, deepest first, so a broken sandbox leaves no litter.
        let created: Vec<&PathBuf> = after.iter().filter(|p| !before.contains(p)).collect();
        for p in created.iter().rev() {
            let _ = std::fs::remove_file(p).or_else(|_| std::fs::remove_dir(p));
        }
        panic!(
            "/usr/local changed under catbox: created {created:?}, removed {:?}\n{}",
            before
                .iter()
                .filter(|p| !after.contains(p))
                .collect::<Vec<_>>(),
            brief(&run)
        );
    }

    // 3. make install into DESTDIR inside the build dir: no violations.
    let image = build.join("image");
    let run = in_tree(
        &dirs,
        &tree,
        &format!("make install DESTDIR='{}'", image.display()),
    );
    assert_eq!(
        run.status,
        0,
        "make install DESTDIR failed\n{}",
        brief(&run)
    );
    assert!(
        run.violations().is_empty(),
        "violations during make install DESTDIR\n{}",
        brief(&run)
    );
    assert!(
        image.join("usr/local/bin/hello").is_file(),
        "hello not installed into {}",
        image.display()
    );
}
