//! The real input of issue 4: GNU hello 2.10 (Debian's source package) built
//! and packaged in fakeroot mode, as a normal user.
//!
//! 1. `./configure --prefix=/usr`, `make`, `make install DESTDIR=$D`: three
//!    catbox runs (`-w <build dir> -w /tmp`) sharing one `--fakeroot-state`
//!    file, each exit 0 with no violations.
//! 2. A fourth run: `chown -R root:root $D`, `chown 2:2` on the man page,
//!    `chmod 4755 $D/usr/bin/hello`, `mknod $D/dev/null c 1 3`, with
//!    `--manifest M --manifest-root $D`.
//! 3. `bsdtar -cf pkg.tar @M`, then `tar -tvf pkg.tar` (as the test's own
//!    user) shows root/root, 2/2 on the man page, `-rwsr-xr-x` on
//!    usr/bin/hello and a character device 1,3 for dev/null.
//! 4. `ls -l` in a fifth sandboxed run shows the faked owners; outside, the
//!    files belong to the test user and dev/null is an empty regular file.
//!
//! The timings of the three build runs and of the same steps run natively
//! are printed for information (no assertion on them).

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::real_inputs::hello_tarball;

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

fn unpack(tarball: &Path, into: &Path) -> PathBuf {
    std::fs::create_dir_all(into).unwrap();
    let st = Command::new("tar")
        .arg("-xzf")
        .arg(tarball)
        .arg("-C")
        .arg(into)
        .status()
        .expect("run tar");
    assert!(st.success(), "unpacking {}", tarball.display());
    let tree = into.join("hello-2.10");
    assert!(tree.is_dir(), "{} missing after unpacking", tree.display());
    tree
}

/// `catbox -w <build> -w /tmp --fakeroot-state S [EXTRA] -- sh -c 'cd TREE && SCRIPT'`.
fn fake_in(
    dirs: &common::Dirs,
    state: &Path,
    extra: &[String],
    tree: &Path,
    script: &str,
) -> (common::Run, Duration) {
    let mut opts = vec![
        "-w".to_string(),
        "/tmp".into(),
        "--fakeroot-state".into(),
        state.display().to_string(),
    ];
    opts.extend(extra.iter().cloned());
    let cmd = format!("cd '{}' && {script}", tree.display());
    let start = Instant::now();
    let run = common::sb_opts(dirs, &opts, &["sh", "-c", cmd.as_str()]);
    (run, start.elapsed())
}

fn native(tree: &Path, script: &str) -> Duration {
    let start = Instant::now();
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(tree)
        .output()
        .expect("run sh");
    let t = start.elapsed();
    assert!(
        out.status.success(),
        "native {script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    t
}

fn uid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

#[test]
fn hello_fakeroot_package() {
    let tarball = match hello_tarball() {
        Ok(t) => t,
        Err(why) => {
            eprintln!("SKIP: could not download GNU hello ({why})");
            return;
        }
    };
    let dirs = common::Dirs::new("fr-hello");
    let build = std::fs::canonicalize(&dirs.allowed).unwrap();
    let tree = unpack(&tarball, &build);
    let dest = build.join("image");
    let state = dirs.root.join("fakeroot.state");
    let d = dest.display().to_string();

    // 1. Three build runs sharing the state file.
    let steps = [
        ("configure", "./configure --prefix=/usr".to_string()),
        ("make", "make".to_string()),
        ("make install", format!("make install DESTDIR='{d}'")),
    ];
    let mut times = Vec::new();
    for (name, script) in &steps {
        let (run, t) = fake_in(&dirs, &state, &[], &tree, script);
        assert_eq!(run.status, 0, "{name} failed\n{}", brief(&run));
        assert!(
            run.violations().is_empty(),
            "violations during {name}\n{}",
            brief(&run)
        );
        assert!(state.is_file(), "{name}: no state file written");
        times.push(t);
    }
    for p in [
        "usr/bin/hello",
        "usr/share/man/man1/hello.1",
        "usr/share/info/hello.info",
    ] {
        assert!(dest.join(p).is_file(), "{p} not installed into {d}");
    }

    // The same steps natively, for the timings only.
    let ntree = unpack(&tarball, &dirs.root.join("native"));
    let ndest = dirs.root.join("native-image");
    let ntimes = [
        native(&ntree, "./configure --prefix=/usr"),
        native(&ntree, "make"),
        native(
            &ntree,
            &format!("make install DESTDIR='{}'", ndest.display()),
        ),
    ];
    for (i, (name, _)) in steps.iter().enumerate() {
        eprintln!(
            "timing (information only): {name:<13} catbox --fakeroot {:>7.2}s  native {:>7.2}s  ratio {:.2}",
            times[i].as_secs_f64(),
            ntimes[i].as_secs_f64(),
            times[i].as_secs_f64() / ntimes[i].as_secs_f64()
        );
    }

    // 2. The packaging run.
    let manifest = dirs.root.join("hello.mtree");
    let man = "usr/share/man/man1/hello.1";
    let script = format!(
        "chown -R root:root '{d}' && chown 2:2 '{d}/{man}' && chmod 4755 '{d}/usr/bin/hello' && \
         mkdir -p '{d}/dev' && mknod '{d}/dev/null' c 1 3"
    );
    let (run, _) = fake_in(
        &dirs,
        &state,
        &[
            "--manifest".into(),
            manifest.display().to_string(),
            "--manifest-root".into(),
            d.clone(),
        ],
        &tree,
        &script,
    );
    assert_eq!(run.status, 0, "packaging run failed\n{}", brief(&run));
    assert!(run.violations().is_empty(), "{}", brief(&run));
    let key = |p: &str| serde_json::Value::String(format!("{d}/{p}"));
    let own = &run.report["ownerships"];
    assert_eq!(
        own[key(man).as_str().unwrap()],
        serde_json::json!([2, 2]),
        "{}",
        brief(&run)
    );
    assert_eq!(
        own[key("usr/bin/hello").as_str().unwrap()],
        serde_json::json!([0, 0]),
        "{}",
        brief(&run)
    );
    assert_eq!(
        run.report["modes"][key("usr/bin/hello").as_str().unwrap()],
        serde_json::json!(libc::S_IFREG | 0o4755),
        "{}",
        brief(&run)
    );
    assert_eq!(
        run.report["modes"][key("dev/null").as_str().unwrap()]
            .as_u64()
            .map(|m| m as u32 & libc::S_IFMT),
        Some(libc::S_IFCHR),
        "{}",
        brief(&run)
    );
    let mtree = std::fs::read_to_string(&manifest).expect("manifest written");

    // 3. The archive, built and listed as the test's own user.
    let have_bsdtar = Command::new("bsdtar")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_bsdtar {
        eprintln!(
            "SKIP (archive part): bsdtar is not installed (apt-get install libarchive-tools)"
        );
    } else {
        let tar = dirs.root.join("pkg.tar");
        let out = Command::new("bsdtar")
            .arg("-cf")
            .arg(&tar)
            .arg(format!("@{}", manifest.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "bsdtar -cf pkg.tar @{}: {}\n{mtree}",
            manifest.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let out = Command::new("tar").arg("-tvf").arg(&tar).output().unwrap();
        assert!(out.status.success(), "tar -tvf");
        let listing = String::from_utf8_lossy(&out.stdout).into_owned();
        eprintln!(
            "tar -tvf pkg.tar: {} entries, among them:",
            listing.lines().count()
        );
        for l in listing.lines() {
            if l.ends_with("/hello") || l.ends_with("/hello.1") || l.ends_with("/null") {
                eprintln!("  {l}");
            }
        }
        let entry = |name: &str| {
            listing
                .lines()
                .find(|l| l.ends_with(&format!(" ./{name}")))
                .unwrap_or_else(|| panic!("{name} not in the archive:\n{listing}"))
                .split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>()
        };
        // GNU tar -tv: MODE OWNER/GROUP SIZE-or-MAJ,MIN DATE TIME NAME
        assert_eq!(
            entry("usr/bin/hello")[..2],
            ["-rwsr-xr-x", "root/root"],
            "{listing}"
        );
        assert_eq!(entry(man)[1], "2/2", "{listing}");
        let null = entry("dev/null");
        assert!(null[0].starts_with("crw"), "{listing}");
        assert_eq!(null[1..3], ["root/root", "1,3"], "{listing}");
        for line in listing.lines() {
            if !line.ends_with(&format!(" ./{man}")) {
                assert!(
                    line.contains(" root/root "),
                    "not root/root: {line}\n{listing}"
                );
            }
        }
    }

    // 4. Inside, ls -l shows the faked owners; outside, the user owns it all.
    let (run, _) = fake_in(
        &dirs,
        &state,
        &[],
        &tree,
        &format!(
            "ls -l '{d}/usr/bin/hello' '{d}/dev/null' && ls -ln '{d}/{man}' && '{d}/usr/bin/hello'"
        ),
    );
    assert_eq!(run.status, 0, "{}", brief(&run));
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", run.stdout);
    let hello = lines
        .iter()
        .find(|l| l.ends_with("/usr/bin/hello"))
        .unwrap();
    assert!(
        hello.starts_with("-rwsr-xr-x") && hello.contains(" root root "),
        "ls -l of usr/bin/hello: {hello}"
    );
    let null = lines.iter().find(|l| l.ends_with("/dev/null")).unwrap();
    assert!(
        null.starts_with("crw") && null.contains(" root root ") && null.contains("1, 3"),
        "ls -l of dev/null: {null}"
    );
    let manl = lines.iter().find(|l| l.ends_with(man)).unwrap();
    assert!(manl.contains(" 2 2 "), "ls -ln of the man page: {manl}");
    assert_eq!(lines[3], "Hello, world!");

    let me = uid();
    let mut n = 0;
    for e in common::listing(&dest) {
        let md = e.symlink_metadata().unwrap();
        assert_eq!(
            md.uid(),
            me,
            "{} is not owned by the test user",
            e.display()
        );
        n += 1;
    }
    assert!(n > 5, "{n} files in the image");
    let md = dest.join("dev/null").symlink_metadata().unwrap();
    assert!(md.is_file() && md.len() == 0, "dev/null outside: {md:?}");
}
