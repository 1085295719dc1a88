//! The root view of issue 6: `catbox --image DIR` shows the build the host's
//! whole tree, puts its writes outside the writable paths into DIR at the
//! same paths, and never changes the host.
//!
//! Every test runs the real `catbox` binary on real processes and checks
//! three things: what the build saw (its output), what DIR and the report
//! hold afterwards, and that the host tree it touched is byte for byte as it
//! was (a snapshot of the relevant host directories before and after).
//!
//! The tests run in parallel, as root and as an unprivileged user (CI's
//! `catboxci`): every name they write in the view carries the test process's
//! pid and the test's tag. Host files that a test modifies or removes are its
//! own, in a directory under `CARGO_TARGET_TMPDIR` that is *not* a writable
//! path (so it is captured). `/tmp` (where `Dirs` lives) is writable only
//! where a test says so.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::bounded::{run_bounded, with_report, LIMIT};
use common::{catbox_bin, Dirs, Run};

/// One test's directories: `dirs.allowed` is the writable build directory,
/// `image` the image directory (not made beforehand: catbox makes it),
/// `host` a directory of host files the test owns, outside every writable
/// path. `name` is unique to this test and process.
struct Case {
    dirs: Dirs,
    image: PathBuf,
    host: PathBuf,
    name: String,
}

impl Case {
    fn new(tag: &str) -> Case {
        let dirs = Dirs::new(&format!("image-{tag}"));
        let image = dirs.root.join("image");
        let name = format!("catbox-image-{}-{tag}", std::process::id());
        let host = Path::new(env!("CARGO_TARGET_TMPDIR")).join(&name);
        let _ = std::fs::remove_dir_all(&host);
        std::fs::create_dir_all(&host).unwrap();
        std::fs::set_permissions(&host, std::fs::Permissions::from_mode(0o755)).unwrap();
        let host = std::fs::canonicalize(&host).unwrap();
        Case {
            dirs,
            image,
            host,
            name,
        }
    }

    /// A host file of the test, with this content.
    fn host_file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.host.join(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    /// `catbox -w ALLOWED --image IMAGE --report R OPTS -- sh -c SCRIPT`,
    /// run from `/`, bounded.
    fn run(&self, opts: &[&str], script: &str) -> Run {
        self.run_with(&self.image, opts, script)
    }

    fn run_with(&self, image: &Path, opts: &[&str], script: &str) -> Run {
        let report = self.dirs.report_path();
        let _ = std::fs::remove_file(&report);
        let mut cmd = Command::new(catbox_bin());
        cmd.arg("-w")
            .arg(&self.dirs.allowed)
            .arg("--image")
            .arg(image)
            .arg("--report")
            .arg(&report)
            .args(opts)
            .args(["--", "sh", "-c", script])
            .current_dir("/");
        with_report(run_bounded(cmd, LIMIT), &report)
    }

    /// The image directory's own path (as the report gives it).
    fn image_dir(&self) -> PathBuf {
        std::fs::canonicalize(&self.image).unwrap()
    }

    /// Where the view path `view` lands in the image.
    fn in_image(&self, view: &Path) -> PathBuf {
        self.image.join(view.strip_prefix("/").unwrap())
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        let _ = Command::new("chmod")
            .arg("-R")
            .arg("u+rwx")
            .arg(&self.host)
            .status();
        let _ = std::fs::remove_dir_all(&self.host);
    }
}

/// Status 0 and no violation, or the whole run in the panic message.
fn assert_clean(run: &Run) {
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
}

/// `report.image.KEY` as strings.
fn image_list(run: &Run, key: &str) -> Vec<String> {
    run.report["image"][key]
        .as_array()
        .unwrap_or_else(|| panic!("report.image.{key} is not an array: {}", run.describe()))
        .iter()
        .map(|v| v.as_str().expect("a path string").to_string())
        .collect()
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// Everything below `root` (itself included): inode, mode, owner, size,
/// times, link target and small files' contents, by path. Unreadable entries are
/// recorded as such (and must stay so).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut m = BTreeMap::new();
    fn walk(p: &Path, m: &mut BTreeMap<PathBuf, String>) {
        let md = match std::fs::symlink_metadata(p) {
            Ok(md) => md,
            Err(e) => {
                m.insert(p.to_path_buf(), format!("missing: {}", e.kind()));
                return;
            }
        };
        let ft = md.file_type();
        // ctime changes with any change of content or metadata; small files'
        // contents are compared too (big ones would make the test slow).
        let mut d = format!(
            "ino={} mode={:o} uid={} gid={} size={} mtime={}.{} ctime={}.{}",
            md.ino(),
            md.mode(),
            md.uid(),
            md.gid(),
            md.size(),
            md.mtime(),
            md.mtime_nsec(),
            md.ctime(),
            md.ctime_nsec()
        );
        if ft.is_symlink() {
            d += &format!(" -> {:?}", std::fs::read_link(p).ok());
        } else if ft.is_file() && md.size() <= 64 * 1024 {
            match std::fs::read(p) {
                Ok(c) => d += &format!(" content={:?}", String::from_utf8_lossy(&c)),
                Err(e) => d += &format!(" unreadable={}", e.kind()),
            }
        }
        m.insert(p.to_path_buf(), d);
        if ft.is_dir() {
            match std::fs::read_dir(p) {
                Ok(rd) => {
                    for e in rd.flatten() {
                        walk(&e.path(), m);
                    }
                }
                Err(e) => {
                    m.insert(p.join("<listing>"), format!("unlistable: {}", e.kind()));
                }
            }
        }
    }
    walk(root, &mut m);
    m
}

/// Snapshots of several host paths, to compare before and after a run.
fn snapshots(roots: &[&Path]) -> Vec<BTreeMap<PathBuf, String>> {
    roots.iter().map(|r| snapshot(r)).collect()
}

/// Panics with the differences when the host changed.
fn assert_host_unchanged(
    before: &[BTreeMap<PathBuf, String>],
    after: &[BTreeMap<PathBuf, String>],
    run: &Run,
) {
    for (b, a) in before.iter().zip(after) {
        if b != a {
            let mut diff = Vec::new();
            for (k, v) in b {
                match a.get(k) {
                    None => diff.push(format!("removed {}: {v}", k.display())),
                    Some(w) if w != v => diff.push(format!("changed {}: {v} => {w}", k.display())),
                    _ => {}
                }
            }
            for (k, v) in a {
                if !b.contains_key(k) {
                    diff.push(format!("created {}: {v}", k.display()));
                }
            }
            panic!(
                "the host changed under --image:\n  {}\n{}",
                diff.join("\n  "),
                run.describe()
            );
        }
    }
}

/// Remove a path the sandbox should never have created on the host (so a
/// broken sandbox leaves no litter in /usr/local), saying whether it existed.
fn scrub(p: &Path) -> bool {
    if std::fs::symlink_metadata(p).is_err() {
        return false;
    }
    let _ = std::fs::remove_dir_all(p).or_else(|_| std::fs::remove_file(p));
    true
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn create_in_a_captured_directory() {
    let c = Case::new("create");
    let usr_local = Path::new("/usr/local");
    let file = usr_local.join("bin").join(&c.name);
    let before = snapshots(&[usr_local]);
    let run = c.run(
        &[],
        &format!("echo created > {0} && cat {0}", file.display()),
    );
    let after = snapshots(&[usr_local]);
    let leaked = scrub(&file);
    assert!(!leaked, "{} was created on the host", file.display());
    assert_host_unchanged(&before, &after, &run);
    assert_clean(&run);
    assert_eq!(run.stdout, "created\n", "{}", run.describe());

    // DIR holds the file at its view path.
    assert_eq!(
        std::fs::read_to_string(c.in_image(&file)).ok().as_deref(),
        Some("created\n"),
        "{}",
        run.describe()
    );
    // The report's image section says exactly that.
    assert_eq!(
        run.report["image"]["dir"].as_str(),
        Some(s(&c.image_dir()).as_str()),
        "{}",
        run.describe()
    );
    assert_eq!(image_list(&run, "added"), vec![s(&file)]);
    assert!(
        image_list(&run, "modified").is_empty(),
        "{}",
        run.describe()
    );
    assert!(image_list(&run, "removed").is_empty(), "{}", run.describe());
    // Nothing was removed, so there is no removal to list.
    let removed = std::fs::read_to_string(c.image.join(".catbox-removed")).unwrap_or_default();
    assert_eq!(removed, "", "{}", run.describe());
    // The command line says where the image is and what it holds.
    assert!(
        run.stderr.contains(&format!(
            "image {}: 1 added, 0 modified, 0 removed",
            c.image_dir().display()
        )),
        "{}",
        run.describe()
    );
}

/// A host directory of the test outside `CARGO_TARGET_TMPDIR`, removed on drop.
struct HostDir(PathBuf);

impl HostDir {
    fn new(p: PathBuf) -> HostDir {
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        HostDir(p)
    }
}

impl Drop for HostDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// As an unprivileged user this found that the copy into DIR missed a host
// file changed in place: overlayfs puts the parent directory's mtime back
// after a copy-up, so the copy-out now looks at ctimes.
#[test]
fn modify_a_host_file_copies_it_up() {
    let c = Case::new("modify");
    let appended = c.host_file("appended", "original\n");
    let truncated = c.host_file("truncated", "keep me\n");
    let untouched = c.host_file("untouched", "same\n");
    // Another top-level directory (another overlay), made well before.
    let var = HostDir::new(Path::new("/var/tmp").join(&c.name));
    let other = var.0.join("other");
    std::fs::write(&other, "other\n").unwrap();
    let before = snapshots(&[&c.host, &var.0]);
    let run = c.run(
        &[],
        &format!(
            "echo more >> {a} && echo replaced > {t} && echo more >> {o} && cat {a} {t} {u} {o}",
            a = appended.display(),
            t = truncated.display(),
            u = untouched.display(),
            o = other.display()
        ),
    );
    let after = snapshots(&[&c.host, &var.0]);
    assert_host_unchanged(&before, &after, &run);
    assert_clean(&run);
    // The build sees its own versions, and the host's untouched file.
    assert_eq!(
        run.stdout,
        "original\nmore\nreplaced\nsame\nother\nmore\n",
        "{}",
        run.describe()
    );
    for (f, want) in [
        (&appended, "original\nmore\n"),
        (&truncated, "replaced\n"),
        (&other, "other\nmore\n"),
    ] {
        assert_eq!(
            std::fs::read_to_string(c.in_image(f)).ok().as_deref(),
            Some(want),
            "{} in the image: {:#?}\n{}",
            f.display(),
            snapshot(&c.image),
            run.describe()
        );
    }
    assert!(
        !c.in_image(&untouched).exists(),
        "an unmodified host file was copied into the image"
    );
    let mut modified = vec![s(&appended), s(&truncated), s(&other)];
    modified.sort();
    assert_eq!(image_list(&run, "modified"), modified, "{}", run.describe());
    assert!(image_list(&run, "added").is_empty(), "{}", run.describe());
    assert!(image_list(&run, "removed").is_empty(), "{}", run.describe());
}

#[test]
fn remove_a_host_file() {
    let c = Case::new("remove");
    let victim = c.host_file("victim", "still here\n");
    // A name with a backslash and a newline: `.catbox-removed` escapes them.
    let odd = c.host_file("odd\\name\nline", "odd\n");
    // As an unprivileged user, also a file the user could never remove on
    // the host (root's, in a root-owned directory). Not as root: a broken
    // sandbox would really remove it.
    let system = (!is_root()).then(|| PathBuf::from("/etc/passwd"));
    let mut script = format!(
        "rm {v} && rm '{o}' && test ! -e {v} && test ! -e '{o}' && ls {h}",
        v = victim.display(),
        o = odd.display(),
        h = c.host.display()
    );
    if let Some(sys) = &system {
        script += &format!(" && rm -f {0} && test ! -e {0}", sys.display());
    }
    let etc_passwd = Path::new("/etc/passwd");
    let before = snapshots(&[&c.host, etc_passwd]);
    let run = c.run(&[], &script);
    let after = snapshots(&[&c.host, etc_passwd]);
    assert_host_unchanged(&before, &after, &run);
    assert_clean(&run);
    // The build no longer sees them (ls shows only `untouched` files: none).
    assert_eq!(run.stdout, "", "{}", run.describe());

    let mut expected = vec![s(&victim), s(&odd)];
    if let Some(sys) = &system {
        expected.push(s(sys));
    }
    expected.sort();
    let mut removed = image_list(&run, "removed");
    removed.sort();
    assert_eq!(removed, expected, "{}", run.describe());
    assert!(image_list(&run, "added").is_empty(), "{}", run.describe());
    assert!(
        image_list(&run, "modified").is_empty(),
        "{}",
        run.describe()
    );

    // DIR/.catbox-removed: one view path a line, `\` and newline escaped.
    let text = std::fs::read_to_string(c.image.join(".catbox-removed"))
        .unwrap_or_else(|e| panic!("no .catbox-removed ({e}): {}", run.describe()));
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines.sort();
    let mut escaped: Vec<String> = expected
        .iter()
        .map(|p| p.replace('\\', "\\\\").replace('\n', "\\n"))
        .collect();
    escaped.sort();
    assert_eq!(lines, escaped, ".catbox-removed is {text:?}");
    assert!(text.ends_with('\n'), ".catbox-removed is {text:?}");
    // A removal is only recorded: the image holds no file at those paths.
    assert!(!c.in_image(&victim).exists());
}

#[test]
fn rename_across_the_view() {
    let c = Case::new("rename");
    let src = c.host_file("src", "payload\n");
    let a = c.host_file("a", "renamed in place\n");
    let b = c.host.join("b");
    // The host directory and /usr/local/share are under different top-level
    // directories (two overlays), so `mv` gets EXDEV and copies.
    let dst = Path::new("/usr/local/share").join(&c.name);
    let usr_local = Path::new("/usr/local");
    let before = snapshots(&[&c.host, usr_local]);
    let run = c.run(
        &[],
        &format!(
            "mv {src} {dst} && mv {a} {b} && cat {dst} {b} && test ! -e {src} && test ! -e {a}",
            src = src.display(),
            dst = dst.display(),
            a = a.display(),
            b = b.display()
        ),
    );
    let after = snapshots(&[&c.host, usr_local]);
    let leaked = scrub(&dst);
    assert!(!leaked, "{} was created on the host", dst.display());
    assert_host_unchanged(&before, &after, &run);
    assert_clean(&run);
    assert_eq!(
        run.stdout,
        "payload\nrenamed in place\n",
        "{}",
        run.describe()
    );
    assert_eq!(
        std::fs::read_to_string(c.in_image(&dst)).ok().as_deref(),
        Some("payload\n")
    );
    assert_eq!(
        std::fs::read_to_string(c.in_image(&b)).ok().as_deref(),
        Some("renamed in place\n")
    );
    let mut added = vec![s(&dst), s(&b)];
    added.sort();
    assert_eq!(image_list(&run, "added"), added, "{}", run.describe());
    let mut removed = vec![s(&src), s(&a)];
    removed.sort();
    assert_eq!(image_list(&run, "removed"), removed, "{}", run.describe());
    let text = std::fs::read_to_string(c.image.join(".catbox-removed")).unwrap_or_default();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort();
    assert_eq!(lines, removed, ".catbox-removed is {text:?}");
}

#[test]
fn mkdir_p_of_deep_paths() {
    let c = Case::new("mkdir");
    let top = Path::new("/usr/local/share").join(&c.name);
    let deep = top.join("a/b/c/d/e/f/g/h");
    let other = Path::new("/opt").join(&c.name).join("x/y/z");
    let usr_local = Path::new("/usr/local");
    let opt = Path::new("/opt");
    let before = snapshots(&[usr_local, opt]);
    let run = c.run(
        &[],
        &format!(
            "mkdir -p {d} {o} && echo deep > {d}/file && echo other > {o}/file && \
             test -d {d} && cat {d}/file {o}/file",
            d = deep.display(),
            o = other.display()
        ),
    );
    let after = snapshots(&[usr_local, opt]);
    let leaked = [scrub(&top), scrub(&Path::new("/opt").join(&c.name))];
    assert_eq!(leaked, [false, false], "created on the host");
    assert_host_unchanged(&before, &after, &run);
    assert_clean(&run);
    assert_eq!(run.stdout, "deep\nother\n", "{}", run.describe());
    assert!(c.in_image(&deep).is_dir(), "{}", run.describe());
    assert_eq!(
        std::fs::read_to_string(c.in_image(&deep.join("file")))
            .ok()
            .as_deref(),
        Some("deep\n")
    );
    assert_eq!(
        std::fs::read_to_string(c.in_image(&other.join("file")))
            .ok()
            .as_deref(),
        Some("other\n")
    );
    // Every directory made is listed as added, from the top one down.
    let added = image_list(&run, "added");
    let mut expected = Vec::new();
    let mut p = deep.clone();
    while p != Path::new("/usr/local/share") {
        expected.push(s(&p));
        p = p.parent().unwrap().to_path_buf();
    }
    let mut p = other.clone();
    while p != Path::new("/opt") {
        expected.push(s(&p));
        p = p.parent().unwrap().to_path_buf();
    }
    expected.push(s(&deep.join("file")));
    expected.push(s(&other.join("file")));
    expected.sort();
    assert_eq!(added, expected, "{}", run.describe());
}

#[test]
fn getcwd_in_a_captured_only_directory_shows_the_view_path() {
    let c = Case::new("getcwd");
    let dir = Path::new("/usr/local/share").join(&c.name).join("sub");
    let usr_local = Path::new("/usr/local");
    let before = snapshots(&[usr_local]);
    // pwd -P (the shell's), /bin/pwd (getcwd(3)), readlink of /proc/self/cwd
    // and of /proc/<pid>/cwd from another process.
    let run = c.run(
        &[],
        &format!(
            "mkdir -p {d} && cd {d} && pwd -P && /bin/pwd && readlink /proc/self/cwd && \
             readlink /proc/$$/cwd",
            d = dir.display()
        ),
    );
    let after = snapshots(&[usr_local]);
    let leaked = scrub(&Path::new("/usr/local/share").join(&c.name));
    assert!(!leaked, "created on the host");
    assert_host_unchanged(&before, &after, &run);
    assert_clean(&run);
    let want = format!("{}\n", dir.display());
    assert_eq!(run.stdout, want.repeat(4), "{}", run.describe());
    assert!(c.in_image(&dir).is_dir());
}

#[test]
fn symlink_from_the_build_dir_into_the_captured_area() {
    let c = Case::new("symlink");
    let dir = Path::new("/usr/local/share").join(&c.name);
    let target = dir.join("file");
    let link = c.dirs.allowed.join("link");
    // And a relative link inside the captured area.
    let rel = dir.join("rel");
    let usr_local = Path::new("/usr/local");
    let before = snapshots(&[usr_local]);
    let run = c.run(
        &[],
        &format!(
            "mkdir {d} && echo via-link > {t} && ln -s {t} {l} && ln -s file {r} && \
             cat {l} && echo more >> {l} && cat {r} && readlink -f {l}",
            d = dir.display(),
            t = target.display(),
            l = link.display(),
            r = rel.display()
        ),
    );
    let after = snapshots(&[usr_local]);
    let leaked = scrub(&dir);
    assert!(!leaked, "{} was created on the host", dir.display());
    assert_host_unchanged(&before, &after, &run);
    assert_clean(&run);
    assert_eq!(
        run.stdout,
        format!("via-link\nvia-link\nmore\n{}\n", target.display()),
        "{}",
        run.describe()
    );
    // The link is in the build directory on the host (a writable path),
    // pointing at a view path that only the image has.
    assert_eq!(std::fs::read_link(&link).ok(), Some(target.clone()));
    assert!(!target.exists(), "the link's target exists on the host");
    // The write through the link went into the captured file.
    assert_eq!(
        std::fs::read_to_string(c.in_image(&target)).ok().as_deref(),
        Some("via-link\nmore\n")
    );
    assert_eq!(
        std::fs::read_link(c.in_image(&rel)).ok(),
        Some(PathBuf::from("file"))
    );
    let mut added = vec![s(&dir), s(&target), s(&rel)];
    added.sort();
    assert_eq!(image_list(&run, "added"), added, "{}", run.describe());
}

#[test]
fn exec_of_a_captured_binary_and_its_proc_self_exe() {
    let c = Case::new("exec");
    let t = Path::new("/usr/local/bin").join(format!("{}-true", c.name));
    let rl = Path::new("/usr/local/bin").join(format!("{}-readlink", c.name));
    let usr_local = Path::new("/usr/local");
    let before = snapshots(&[usr_local]);
    let run = c.run(
        &[],
        &format!(
            "cp /bin/true {t} && cp /bin/readlink {rl} && {t} && echo ran && {rl} /proc/self/exe",
            t = t.display(),
            rl = rl.display()
        ),
    );
    let after = snapshots(&[usr_local]);
    let leaked = [scrub(&t), scrub(&rl)];
    assert_eq!(leaked, [false, false], "created on the host");
    assert_host_unchanged(&before, &after, &run);
    assert_clean(&run);
    assert_eq!(
        run.stdout,
        format!("ran\n{}\n", rl.display()),
        "{}",
        run.describe()
    );
    for p in [&t, &rl] {
        let md = std::fs::metadata(c.in_image(p)).unwrap();
        assert!(md.is_file() && md.mode() & 0o111 != 0, "{}", p.display());
    }
}

#[test]
fn writable_paths_stay_direct() {
    let c = Case::new("direct");
    let file = c.dirs.allowed.join("f");
    let nested = c.dirs.allowed.join("d/e/g");
    let captured = Path::new("/usr/local/bin").join(&c.name);
    let run = c.run(
        &[],
        &format!(
            "echo direct > {f} && mkdir -p {n} && rmdir {n} && echo captured > {cap}",
            f = file.display(),
            n = nested.display(),
            cap = captured.display()
        ),
    );
    let leaked = scrub(&captured);
    assert!(!leaked, "{} was created on the host", captured.display());
    assert_clean(&run);
    // On the host, not in the image.
    assert_eq!(
        std::fs::read_to_string(&file).ok().as_deref(),
        Some("direct\n")
    );
    assert!(c.dirs.allowed.join("d/e").is_dir());
    assert!(!c.in_image(&file).exists(), "{}", run.describe());
    assert!(!c.in_image(&c.dirs.allowed).exists(), "{}", run.describe());
    assert_eq!(image_list(&run, "added"), vec![s(&captured)]);

    // With /tmp writable too (the image directory is then under a writable
    // path): /tmp is direct.
    let c2 = Case::new("direct-tmp");
    let tmp_file = std::env::temp_dir().join(format!("{}-tmp", c2.name));
    let _ = std::fs::remove_file(&tmp_file);
    let run = c2.run(
        &["-w", "/tmp"],
        &format!(
            "echo in-tmp > {t} && echo captured > {cap} && cat {t}",
            t = tmp_file.display(),
            cap = captured.display()
        ),
    );
    let content = std::fs::read_to_string(&tmp_file).ok();
    let _ = std::fs::remove_file(&tmp_file);
    let leaked = scrub(&captured);
    assert!(!leaked, "{} was created on the host", captured.display());
    assert_clean(&run);
    assert_eq!(run.stdout, "in-tmp\n", "{}", run.describe());
    assert_eq!(content.as_deref(), Some("in-tmp\n"), "{}", run.describe());
    assert!(!c2.in_image(&tmp_file).exists(), "{}", run.describe());
    assert_eq!(image_list(&run, "added"), vec![s(&captured)]);
    assert_eq!(
        std::fs::read_to_string(c2.in_image(&captured))
            .ok()
            .as_deref(),
        Some("captured\n")
    );
}

#[test]
fn the_operation_log_shows_view_paths() {
    let c = Case::new("trace");
    let log = c.dirs.root.join("trace.jsonl");
    let file = Path::new("/usr/local/bin").join(&c.name);
    let exe = Path::new("/usr/local/bin").join(format!("{}-true", c.name));
    let run = c.run(
        &["--trace", log.to_str().unwrap()],
        &format!(
            "echo x > {f} && cat {f} > /dev/null && cp /bin/true {e} && {e}",
            f = file.display(),
            e = exe.display()
        ),
    );
    let leaked = [scrub(&file), scrub(&exe)];
    assert_eq!(leaked, [false, false], "created on the host");
    assert_clean(&run);
    let text = std::fs::read_to_string(&log).expect("the trace log");
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect();
    let has = |event: &str, path: &Path| {
        events.iter().any(|e| {
            e["event"] == event
                && e["path"].as_str() == Some(path.to_str().unwrap())
                && e["canonical"].as_str() == Some(path.to_str().unwrap())
                && e["result"] == "ok"
        })
    };
    assert!(
        has("write", &file),
        "no write of {}:\n{text}",
        file.display()
    );
    assert!(has("exec", &exe), "no exec of {}:\n{text}", exe.display());
    // The image directory never appears: not as a path, not as a canonical
    // name (its tmpfs and layers are invisible to the log).
    let img = s(&c.image_dir());
    assert!(
        !text.contains(&img),
        "the log names the image directory {img}:\n{text}"
    );
    for e in &events {
        for key in ["path", "canonical"] {
            if let Some(p) = e[key].as_str() {
                assert!(
                    !p.contains(&c.name) || p.starts_with("/usr/local/bin/"),
                    "{key} {p:?} is not a view path: {e}"
                );
            }
        }
    }
}

#[test]
fn a_write_outside_the_captured_directories_is_a_violation() {
    let c = Case::new("outside");
    let top = Path::new("/").join(&c.name);
    let sys = Path::new("/proc/sys").join(&c.name);
    let run = c.run(
        &[],
        &format!(
            "echo x > {t}; echo x > {s}; echo done",
            t = top.display(),
            s = sys.display()
        ),
    );
    let leaked = scrub(&top);
    assert!(!leaked, "{} was created on the host", top.display());
    assert_eq!(run.status, 0, "{}", run.describe());
    assert_eq!(run.stdout, "done\n", "{}", run.describe());
    let mut got = run.tuples();
    got.sort();
    let mut want = vec![
        ("openat".into(), s(&top), s(&top), "EACCES".into()),
        ("openat".into(), s(&sys), s(&sys), "EACCES".into()),
    ];
    want.sort();
    assert_eq!(got, want, "{}", run.describe());
    assert!(image_list(&run, "added").is_empty(), "{}", run.describe());
    assert!(!c.in_image(&top).exists());
}

#[test]
fn fakeroot_with_an_image_gives_the_manifest_the_faked_owners() {
    let c = Case::new("fakeroot");
    let manifest = c.dirs.root.join("manifest");
    let suid = Path::new("/usr/local/bin").join(&c.name);
    let owned = Path::new("/usr/local/bin").join(format!("{}-owned", c.name));
    let usr_local = Path::new("/usr/local");
    let doomed = c.host_file("doomed", "removed in the view\n");
    let before = snapshots(&[usr_local, &c.host]);
    let run = c.run(
        &[
            "--fakeroot",
            "--manifest",
            manifest.to_str().unwrap(),
            "--manifest-root",
            c.image.to_str().unwrap(),
        ],
        &format!(
            "cp /bin/true {s} && chown 0:0 {s} && chmod 4755 {s} && touch {o} && \
             chown 7:8 {o} && stat -c '%u:%g %a' {s} {o} && {s} && rm {d}",
            s = suid.display(),
            o = owned.display(),
            d = doomed.display()
        ),
    );
    let after = snapshots(&[usr_local, &c.host]);
    let leaked = [scrub(&suid), scrub(&owned)];
    assert_eq!(leaked, [false, false], "created on the host");
    assert_host_unchanged(&before, &after, &run);
    assert_clean(&run);
    assert_eq!(run.stdout, "0:0 4755\n7:8 644\n", "{}", run.describe());
    let text = std::fs::read_to_string(&manifest).expect("the manifest");
    let entry = |view: &Path| -> BTreeMap<String, String> {
        let key = format!(".{}", view.display());
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(key.as_str()))
            .unwrap_or_else(|| panic!("no {key} in the manifest:\n{text}"));
        line.split_whitespace()
            .skip(1)
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let e = entry(&suid);
    assert_eq!(
        (e["type"].as_str(), e["uid"].as_str(), e["gid"].as_str()),
        ("file", "0", "0"),
        "{text}"
    );
    assert_eq!(e["mode"], "4755", "{text}");
    assert_eq!(
        e.get("contents").map(String::as_str),
        Some(s(&c.image_dir().join(suid.strip_prefix("/").unwrap())).as_str()),
        "{text}"
    );
    let e = entry(&owned);
    assert_eq!(
        (e["uid"].as_str(), e["gid"].as_str(), e["mode"].as_str()),
        ("7", "8", "0644"),
        "{text}"
    );
    // The removal list is the image's record, not a file of the package.
    assert!(
        c.image.join(".catbox-removed").is_file(),
        "{}",
        run.describe()
    );
    assert!(
        !text.contains(".catbox-removed"),
        "the removal list is in the manifest:\n{text}"
    );
    // The image file itself is the caller's (the chown was only recorded).
    let md = std::fs::metadata(c.in_image(&suid)).unwrap();
    // SAFETY: getuid has no preconditions.
    assert_eq!(md.uid(), unsafe { libc::getuid() });
}

/// Removing and renaming whole host directories. Unprivileged, the host's
/// directories are a skeleton in the upper layer, and a removed one became a
/// whiteout there that the copy-out once opened as a directory: the run
/// failed with ENOTDIR after the build, with no report.
#[test]
fn remove_and_rename_host_directories() {
    let c = Case::new("rmdirs");
    let gone = c.host.join("gone");
    std::fs::create_dir_all(gone.join("inner")).unwrap();
    std::fs::write(gone.join("inner/f"), "gone\n").unwrap();
    let empty = c.host.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let moved = c.host.join("moved");
    std::fs::create_dir_all(moved.join("deeper")).unwrap();
    std::fs::write(moved.join("deeper/f"), "moved\n").unwrap();
    let to = c.host.join("to");
    let before = snapshots(&[&c.host]);
    let run = c.run(
        &[],
        &format!(
            "rm -rf {g} && rmdir {e} && mv {m} {t} && test ! -e {g} && test ! -e {e} \
             && test ! -e {m} && cat {t}/deeper/f",
            g = gone.display(),
            e = empty.display(),
            m = moved.display(),
            t = to.display()
        ),
    );
    let after = snapshots(&[&c.host]);
    assert_host_unchanged(&before, &after, &run);
    assert_clean(&run);
    assert_eq!(run.stdout, "moved\n", "{}", run.describe());
    let removed = image_list(&run, "removed");
    for p in [&gone, &empty, &moved] {
        assert!(
            removed.contains(&s(p)),
            "{} not in removed: {}",
            p.display(),
            run.describe()
        );
    }
    assert!(
        image_list(&run, "added").contains(&s(&to)),
        "{}",
        run.describe()
    );
    assert_eq!(
        std::fs::read_to_string(c.in_image(&to.join("deeper/f")))
            .ok()
            .as_deref(),
        Some("moved\n"),
        "{}",
        run.describe()
    );
    let text = std::fs::read_to_string(c.image.join(".catbox-removed")).unwrap_or_default();
    for p in [&gone, &empty, &moved] {
        assert!(
            text.lines().any(|l| l == s(p)),
            ".catbox-removed is {text:?}"
        );
    }
}

/// `rename` and `link` of a file the build's user does not own. Unprivileged,
/// the overlay cannot copy such a file up (its owner is outside the
/// namespace's map: EOVERFLOW), so the supervisor must first replace it with
/// the caller's copy, as it does for writes. As root, a file of the test's
/// own directory given to another owner; unprivileged, `/etc/passwd` (a
/// broken sandbox could not really rename it).
#[test]
fn rename_and_link_of_a_file_of_another_owner() {
    let c = Case::new("foreign");
    let (victim, watched) = if is_root() {
        let f = c.host_file("foreign", "not mine\n");
        std::os::unix::fs::chown(&f, Some(65534), Some(65534)).unwrap();
        (f, c.host.clone())
    } else {
        (PathBuf::from("/etc/passwd"), PathBuf::from("/etc/passwd"))
    };
    let dir = victim.parent().unwrap();
    let renamed = dir.join(format!("{}.renamed", c.name));
    let linked = dir.join(format!("{}.linked", c.name));
    let before = snapshots(&[&watched, &c.host]);
    let run = c.run(
        &[],
        &format!(
            "mv {v} {r} && test ! -e {v} && ln {r} {l} && cmp {r} {l}",
            v = victim.display(),
            r = renamed.display(),
            l = linked.display()
        ),
    );
    let leaked = scrub(&renamed) | scrub(&linked);
    let after = snapshots(&[&watched, &c.host]);
    assert!(
        !leaked,
        "{} or {} was created on the host",
        renamed.display(),
        linked.display()
    );
    assert_host_unchanged(&before, &after, &run);
    assert_clean(&run);
    assert!(
        image_list(&run, "removed").contains(&s(&victim)),
        "{}",
        run.describe()
    );
    let added = image_list(&run, "added");
    assert!(added.contains(&s(&renamed)), "{}", run.describe());
    assert!(c.in_image(&renamed).is_file(), "{}", run.describe());
}

/// `catbox OPTS -- sh -c 'echo ran > ALLOWED/marker'`: must be refused
/// before the command runs.
fn refused(c: &Case, image: &Path, opts: &[&str]) -> (i32, String) {
    let marker = c.dirs.allowed.join("marker");
    let mut cmd = Command::new(catbox_bin());
    cmd.arg("-w")
        .arg(&c.dirs.allowed)
        .arg("--image")
        .arg(image)
        .args(opts)
        .args(["--", "sh", "-c"])
        .arg(format!("echo ran > {}", marker.display()))
        .current_dir("/");
    let raw = run_bounded(cmd, LIMIT);
    let stderr = common::bounded::lossy(&raw.stderr);
    assert_ne!(raw.status, 0, "not refused: {stderr}");
    assert!(
        !marker.exists(),
        "the command ran although catbox refused: {stderr}"
    );
    (raw.status, stderr)
}

#[test]
fn a_non_empty_image_directory_is_refused_and_kept() {
    let c = Case::new("nonempty");
    std::fs::create_dir_all(c.image.join("usr/bin")).unwrap();
    std::fs::write(c.image.join("usr/bin/precious"), "precious\n").unwrap();
    std::fs::write(c.image.join(".catbox-removed"), "/etc/passwd\n").unwrap();
    let before = snapshot(&c.image);
    let (_, stderr) = refused(&c, &c.image, &[]);
    assert_eq!(snapshot(&c.image), before, "the image directory changed");
    assert!(
        stderr.contains("not empty") && stderr.contains(&s(&c.image)),
        "unclear error: {stderr}"
    );
}

#[test]
fn an_image_path_that_is_a_file_is_refused() {
    let c = Case::new("isfile");
    std::fs::write(&c.image, "a file\n").unwrap();
    let (_, stderr) = refused(&c, &c.image, &[]);
    assert_eq!(
        std::fs::read_to_string(&c.image).ok().as_deref(),
        Some("a file\n")
    );
    assert!(
        stderr.contains("not a directory") && stderr.contains(&s(&c.image)),
        "unclear error: {stderr}"
    );
}

#[test]
fn image_with_hardened_is_refused() {
    let c = Case::new("hardened");
    let (_, stderr) = refused(&c, &c.image, &["--hardened"]);
    assert!(
        stderr.contains("hardened") && stderr.contains("image"),
        "unclear error: {stderr}"
    );
    assert!(
        std::fs::read_dir(&c.image).map_or(true, |mut d| d.next().is_none()),
        "the refused run left files in the image directory"
    );
}

// As root this found set-id bits lost in DIR (chown after chmod); a
// read-only file also once failed the copy (its time was set through a
// descriptor opened for writing).
#[test]
fn modes_survive_the_copy_into_the_image() {
    let c = Case::new("modes");
    let base = Path::new("/usr/local/share").join(&c.name);
    let cases: [(&str, u32); 6] = [
        ("suid", 0o4755),
        ("sgid", 0o2755),
        ("private", 0o600),
        ("exec", 0o711),
        ("readonly", 0o444),
        ("sticky-dir", 0o1777),
    ];
    let mut script = format!("mkdir {} && cd {}", base.display(), base.display());
    for (name, mode) in cases {
        if name.ends_with("-dir") {
            script += &format!(" && mkdir {name} && chmod {mode:o} {name}");
        } else {
            script += &format!(" && echo {name} > {name} && chmod {mode:o} {name}");
        }
    }
    script += " && touch -d @1000000000 readonly && stat -c '%n %a' *";
    let usr_local = Path::new("/usr/local");
    let before = snapshots(&[usr_local]);
    let run = c.run(&[], &script);
    let after = snapshots(&[usr_local]);
    let leaked = scrub(&base);
    assert!(!leaked, "{} was created on the host", base.display());
    assert_host_unchanged(&before, &after, &run);
    assert_clean(&run);
    let mut want_view: Vec<String> = cases.iter().map(|(n, m)| format!("{n} {m:o}")).collect();
    want_view.sort();
    assert_eq!(
        run.stdout.lines().collect::<Vec<_>>(),
        want_view,
        "the build's own view: {}",
        run.describe()
    );
    let got: Vec<String> = cases
        .iter()
        .map(|(n, _)| {
            let md = std::fs::symlink_metadata(c.in_image(&base.join(n))).unwrap();
            format!("{n} {:o}", md.mode() & 0o7777)
        })
        .collect();
    let want: Vec<String> = cases.iter().map(|(n, m)| format!("{n} {m:o}")).collect();
    assert_eq!(got, want, "modes in the image");
    let ro = std::fs::symlink_metadata(c.in_image(&base.join("readonly"))).unwrap();
    assert_eq!(ro.mtime(), 1_000_000_000, "the build's mtime in the image");
}

#[test]
fn an_image_directory_that_is_a_writable_path_is_refused() {
    let c = Case::new("iswritable");
    let (_, stderr) = refused(&c, &c.dirs.allowed, &[]);
    assert!(
        stderr.contains("inside it") && stderr.contains(&s(&c.dirs.allowed)),
        "unclear error: {stderr}"
    );
}

/// An image directory the user cannot write is refused before the build
/// runs (the copy-out would fail after it). Root may write any directory,
/// so this only exists for an unprivileged user.
#[test]
fn an_image_directory_the_user_cannot_write_is_refused() {
    if is_root() {
        eprintln!("SKIP: root can write a mode 0555 directory; run unprivileged");
        return;
    }
    let c = Case::new("readonly");
    std::fs::create_dir(&c.image).unwrap();
    std::fs::set_permissions(&c.image, std::fs::Permissions::from_mode(0o555)).unwrap();
    let (_, stderr) = refused(&c, &c.image, &[]);
    std::fs::set_permissions(&c.image, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(
        stderr.contains("not writable") && stderr.contains(&s(&c.image)),
        "unclear error: {stderr}"
    );
}

/// `--image LINK` where LINK is a symlink to an empty directory: the
/// captured files land in the directory it names.
#[test]
fn an_image_directory_given_through_a_symlink() {
    let c = Case::new("imglink");
    let real = c.dirs.root.join("real-image");
    std::fs::create_dir(&real).unwrap();
    let link = c.dirs.root.join("image-link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let made = c.host.join("made");
    let before = snapshots(&[&c.host]);
    let run = c.run_with(
        &link,
        &[],
        &format!("echo made > {} && cat {0}", made.display()),
    );
    let after = snapshots(&[&c.host]);
    assert_host_unchanged(&before, &after, &run);
    assert_clean(&run);
    assert_eq!(run.stdout, "made\n", "{}", run.describe());
    let real = std::fs::canonicalize(&real).unwrap();
    assert_eq!(
        std::fs::read_to_string(real.join(made.strip_prefix("/").unwrap()))
            .ok()
            .as_deref(),
        Some("made\n"),
        "{}",
        run.describe()
    );
    assert_eq!(
        run.report["image"]["dir"].as_str(),
        Some(s(&real).as_str()),
        "{}",
        run.describe()
    );
}
