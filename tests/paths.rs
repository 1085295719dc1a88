//! Path resolution and rule matching through the CLI: cases.md C1, C3, C5,
//! C6, C7, C10, C11, C21, plus `--write-regex`, rule component boundaries and
//! the "write intent without O_CREAT on a missing file" rule (SPEC §3.3, §3.4).

mod common;

use common::{c_program, catbox_raw, listing, sb, sb_opts, Dirs, Run};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

fn canon(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap()
}

/// canonical form of `dir/name` where `dir` exists.
fn cj(dir: &Path, name: &str) -> String {
    s(&canon(dir).join(name))
}

fn prog(name: &str) -> String {
    s(&c_program(name))
}

/// Run `tests/c/path_call.c` under catbox.
fn call(dirs: &Dirs, args: &[&str]) -> Run {
    let mut v = vec![prog("path_call")];
    v.extend(args.iter().map(|a| a.to_string()));
    sb(dirs, &v)
}

/// The errno name path_call/write_calls printed ("0" on success).
fn errno_of(run: &Run) -> String {
    run.stdout
        .lines()
        .filter_map(|l| l.split("errno=").nth(1))
        .next_back()
        .unwrap_or("<none>")
        .trim()
        .to_string()
}

fn sh(dirs: &Dirs, script: &str, arg0: &str) -> Run {
    sb(dirs, &["sh", "-c", script, arg0])
}

fn exists(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}

/// Asserts a call made with path_call succeeded with no violation.
fn assert_ok(run: &Run, what: &str) {
    assert_eq!(run.status, 0, "{what}: {}", run.describe());
    run.assert_no_violations();
}

/// Asserts a path_call run failed with `errno` and recorded no violation.
fn assert_errno_no_violation(run: &Run, errno: &str, what: &str) {
    assert_eq!(errno_of(run), errno, "{what}: {}", run.describe());
    run.assert_no_violations();
}

fn ops(run: &Run) -> Vec<(String, String, String)> {
    run.tuples()
        .into_iter()
        .map(|(o, p, c, _)| (o, p, c))
        .collect()
}

fn t3(op: &str, path: &str, canonical: &str) -> (String, String, String) {
    (op.to_string(), path.to_string(), canonical.to_string())
}

// ---------------------------------------------------------------- C1

#[test]
fn c1a_mkdir_p_inside_allowed() {
    let dirs = Dirs::new("c1a");
    let target = dirs.allowed.join("a/b/c");
    let run = sb(&dirs, &["mkdir", "-p", &s(&target)]);
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    assert!(target.is_dir(), "{}", run.describe());
}

#[test]
fn c1b_mkdir_existing_path_is_eexist_without_violation() {
    let dirs = Dirs::new("c1b");
    let run = sb(&dirs, &["mkdir", "/usr"]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(run.stderr.contains("File exists"), "{}", run.describe());
    run.assert_no_violations();
    // raw: an existing outside dir, an ancestor of the rule, an outside file
    for p in [s(&dirs.out), s(&dirs.root), "/".to_string()] {
        let run = call(&dirs, &["mkdir", &p]);
        assert_errno_no_violation(&run, "EEXIST", &format!("mkdir {p}"));
    }
    std::fs::write(dirs.out.join("file"), b"").unwrap();
    let run = call(&dirs, &["mkdir", &s(&dirs.out.join("file"))]);
    assert_errno_no_violation(&run, "EEXIST", "mkdir of an existing file");
}

#[test]
fn c1c_mkdir_missing_dotdot_is_enoent_without_violation() {
    let dirs = Dirs::new("c1c");
    let p = format!("{}/missing/..", s(&dirs.out));
    let run = sb(&dirs, &["mkdir", &p]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(
        run.stderr.contains("No such file or directory"),
        "{}",
        run.describe()
    );
    run.assert_no_violations();
    let run = call(&dirs, &["mkdir", &p]);
    assert_errno_no_violation(&run, "ENOENT", "mkdir OUT/missing/..");
    let p = format!("{}/missing/..", s(&dirs.allowed));
    let run = call(&dirs, &["mkdir", &p]);
    assert_errno_no_violation(&run, "ENOENT", "mkdir ALLOWED/missing/..");
    assert!(listing(&dirs.out).is_empty());
}

#[test]
fn c1d_mkdir_outside_is_denied() {
    let dirs = Dirs::new("c1d");
    let p = s(&dirs.out.join("new"));
    let run = sb(&dirs, &["mkdir", &p]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(
        run.stderr.contains("Permission denied"),
        "{}",
        run.describe()
    );
    run.assert_one_violation("mkdir", &p, &cj(&dirs.out, "new"));
    assert!(!exists(&dirs.out.join("new")));
}

/// A2: a missing ancestor of a rule is not EEXIST: it does not exist.
#[test]
fn c1_missing_ancestor_of_rule_is_not_eexist() {
    let dirs = Dirs::new("c1anc");
    let rule = dirs.out.join("x/y");
    let anc = s(&dirs.out.join("x"));
    let report = dirs.report_path();
    let run = catbox_raw(
        &[
            "-w",
            &s(&rule),
            "--report",
            &s(&report),
            "--",
            &prog("path_call"),
            "mkdir",
            &anc,
        ],
        Some(&report),
    );
    assert_eq!(errno_of(&run), "EACCES", "{}", run.describe());
    run.assert_one_violation("mkdir", &anc, &cj(&dirs.out, "x"));
    assert!(!exists(&dirs.out.join("x")));
}

#[test]
fn c1e_mkdir_through_symlink_to_root_is_denied() {
    let dirs = Dirs::new("c1e");
    std::os::unix::fs::symlink("/", dirs.allowed.join("root")).unwrap();
    let name = format!("cb-new-{}", std::process::id());
    let p = format!("{}/root/{name}", s(&dirs.allowed));
    let run = sb(&dirs, &["mkdir", &p]);
    let escaped = exists(&Path::new("/").join(&name));
    if escaped {
        let _ = std::fs::remove_dir(Path::new("/").join(&name));
    }
    assert_eq!(run.status, 1, "{}", run.describe());
    run.assert_one_violation("mkdir", &p, &format!("/{name}"));
    assert!(!escaped, "/{name} was created");
}

// ---------------------------------------------------------------- C3

/// ALLOWED/l -> OUT/target ("keep\n", 0644, mtime 2001).
fn link_fixture(dirs: &Dirs) -> (PathBuf, PathBuf) {
    let target = dirs.out.join("target");
    std::fs::write(&target, b"keep\n").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    let st = Command::new("touch")
        .args(["-d", "2001-01-01"])
        .arg(&target)
        .status()
        .unwrap();
    assert!(st.success());
    let l = dirs.allowed.join("l");
    std::os::unix::fs::symlink(&target, &l).unwrap();
    (l, target)
}

fn assert_target_intact(target: &Path, why: &str) {
    let m = std::fs::metadata(target).unwrap_or_else(|e| panic!("{why}: target gone: {e}"));
    assert_eq!(std::fs::read(target).unwrap(), b"keep\n", "{why}");
    assert_eq!(m.mode() & 0o7777, 0o644, "{why}: mode changed");
    assert_eq!(m.mtime(), 978_307_200, "{why}: mtime changed");
}

#[test]
fn c3_tools_acting_on_the_link_itself_are_allowed() {
    let dirs = Dirs::new("c3a");
    let (l, target) = link_fixture(&dirs);
    let l2 = dirs.allowed.join("l2");
    let uid = unsafe { libc::getuid() }.to_string();
    let runs: Vec<Vec<String>> = vec![
        vec!["touch".into(), "-h".into(), s(&l)],
        vec!["chown".into(), "-h".into(), uid, s(&l)],
        vec!["mv".into(), s(&l), s(&l2)],
        vec!["rm".into(), s(&l2)],
    ];
    for args in runs {
        let run = sb(&dirs, &args);
        assert_eq!(run.status, 0, "{args:?}: {}", run.describe());
        run.assert_no_violations();
    }
    assert!(!exists(&l) && !exists(&l2));
    assert_target_intact(&target, "no-follow tools");
}

#[test]
fn c3_touch_through_link_is_denied_at_target() {
    let dirs = Dirs::new("c3b");
    let (l, target) = link_fixture(&dirs);
    let run = sb(&dirs, &["touch", &s(&l)]);
    assert_eq!(run.status, 1, "{}", run.describe());
    let t = ops(&run);
    assert!(!t.is_empty(), "{}", run.describe());
    assert_eq!(
        t[0],
        t3("openat", &s(&l), &cj(&dirs.out, "target")),
        "{}",
        run.describe()
    );
    for v in &t {
        assert_eq!(v.2, cj(&dirs.out, "target"), "{}", run.describe());
    }
    assert_target_intact(&target, "touch");
}

#[test]
fn c3_chmod_through_link_is_denied_at_target() {
    let dirs = Dirs::new("c3c");
    let (l, target) = link_fixture(&dirs);
    let run = sb(&dirs, &["chmod", "600", &s(&l)]);
    assert_eq!(run.status, 1, "{}", run.describe());
    run.assert_one_violation("fchmodat", &s(&l), &cj(&dirs.out, "target"));
    assert_target_intact(&target, "chmod");
}

/// linkat: AT_SYMLINK_FOLLOW is the 5th argument.
#[test]
fn c3_flag_linkat_follow() {
    let dirs = Dirs::new("c3-linkat");
    let (l, target) = link_fixture(&dirs);
    let new = dirs.allowed.join("new");
    let run = call(&dirs, &["linkat", &s(&l), &s(&new), "0"]);
    assert_ok(&run, "linkat without AT_SYMLINK_FOLLOW links the symlink");
    assert!(std::fs::symlink_metadata(&new)
        .unwrap()
        .file_type()
        .is_symlink());
    let new2 = dirs.allowed.join("new2");
    let run = call(&dirs, &["linkat", &s(&l), &s(&new2), "follow"]);
    assert_eq!(run.status, 1, "{}", run.describe());
    run.assert_one_violation("linkat", &s(&l), &cj(&dirs.out, "target"));
    assert!(!exists(&new2));
    assert_eq!(std::fs::metadata(&target).unwrap().nlink(), 1);
}

/// fchownat: AT_SYMLINK_NOFOLLOW is the 5th argument, after uid and gid.
#[test]
fn c3_flag_fchownat_nofollow() {
    let dirs = Dirs::new("c3-fchownat");
    let (l, target) = link_fixture(&dirs);
    let run = call(&dirs, &["fchownat", &s(&l), "nofollow"]);
    assert_ok(&run, "fchownat AT_SYMLINK_NOFOLLOW");
    let ctime = std::fs::metadata(&target).unwrap().ctime_nsec();
    let run = call(&dirs, &["fchownat", &s(&l), "0"]);
    assert_eq!(run.status, 1, "{}", run.describe());
    run.assert_one_violation("fchownat", &s(&l), &cj(&dirs.out, "target"));
    assert_eq!(std::fs::metadata(&target).unwrap().ctime_nsec(), ctime);
    assert_target_intact(&target, "fchownat");
}

/// utimensat: AT_SYMLINK_NOFOLLOW is the 4th argument, after the timespec.
#[test]
fn c3_flag_utimensat_nofollow() {
    let dirs = Dirs::new("c3-utimensat");
    let (l, target) = link_fixture(&dirs);
    let run = call(&dirs, &["utimensat", &s(&l), "nofollow"]);
    assert_ok(&run, "utimensat AT_SYMLINK_NOFOLLOW");
    assert_eq!(
        std::fs::symlink_metadata(&l).unwrap().mtime(),
        1_000_000_000
    );
    let run = call(&dirs, &["utimensat", &s(&l), "0"]);
    assert_eq!(run.status, 1, "{}", run.describe());
    run.assert_one_violation("utimensat", &s(&l), &cj(&dirs.out, "target"));
    assert_target_intact(&target, "utimensat");
}

/// fchmodat2: AT_SYMLINK_NOFOLLOW is the 4th argument.
#[test]
fn c3_flag_fchmodat2_nofollow() {
    let dirs = Dirs::new("c3-fchmodat2");
    let (l, target) = link_fixture(&dirs);
    // chmod of a symlink itself: the kernel says EOPNOTSUPP, nothing to deny
    let run = call(&dirs, &["fchmodat2", &s(&l), "nofollow"]);
    assert_errno_no_violation(&run, "EOPNOTSUPP", "fchmodat2 AT_SYMLINK_NOFOLLOW");
    let run = call(&dirs, &["fchmodat2", &s(&l), "0"]);
    assert_eq!(run.status, 1, "{}", run.describe());
    run.assert_one_violation("fchmodat2", &s(&l), &cj(&dirs.out, "target"));
    assert_target_intact(&target, "fchmodat2");
}

/// fchmodat has no flags argument: it always follows.
#[test]
fn c3_fchmodat_always_follows() {
    let dirs = Dirs::new("c3-fchmodat");
    let (l, target) = link_fixture(&dirs);
    let run = call(&dirs, &["fchmodat", &s(&l)]);
    assert_eq!(run.status, 1, "{}", run.describe());
    run.assert_one_violation("fchmodat", &s(&l), &cj(&dirs.out, "target"));
    assert_target_intact(&target, "fchmodat");
}

/// unlinkat: AT_REMOVEDIR is the 3rd argument; it never follows.
#[test]
fn c3_flag_unlinkat_removedir() {
    let dirs = Dirs::new("c3-unlinkat");
    let outdir = dirs.out.join("dir");
    std::fs::create_dir(&outdir).unwrap();
    let dl = dirs.allowed.join("dl");
    std::os::unix::fs::symlink(&outdir, &dl).unwrap();
    // rmdir of a symlink to an outside dir: not followed, the kernel says ENOTDIR
    let run = call(&dirs, &["unlinkat", &s(&dl), "removedir"]);
    assert_errno_no_violation(&run, "ENOTDIR", "unlinkat(link, AT_REMOVEDIR)");
    assert!(outdir.is_dir());
    let run = call(&dirs, &["unlinkat", &s(&outdir), "removedir"]);
    assert_eq!(run.status, 1, "{}", run.describe());
    run.assert_one_violation("unlinkat", &s(&outdir), &cj(&dirs.out, "dir"));
    assert!(outdir.is_dir());
    let run = call(&dirs, &["unlinkat", &s(&dl), "0"]);
    assert_ok(&run, "unlinkat(link, 0) removes the link");
    assert!(!exists(&dl) && outdir.is_dir());
}

/// renameat2: flags are the 5th argument; rename never follows.
#[test]
fn c3_flag_renameat2() {
    let dirs = Dirs::new("c3-renameat2");
    let (l, target) = link_fixture(&dirs);
    let l2 = dirs.allowed.join("l2");
    let run = call(&dirs, &["renameat2", &s(&l), &s(&l2), "noreplace"]);
    assert_ok(&run, "renameat2 RENAME_NOREPLACE of a link");
    assert!(std::fs::symlink_metadata(&l2)
        .unwrap()
        .file_type()
        .is_symlink());
    // RENAME_NOREPLACE onto an existing name: EEXIST, no violation
    std::fs::write(dirs.allowed.join("a"), b"a").unwrap();
    let run = call(
        &dirs,
        &[
            "renameat2",
            &s(&dirs.allowed.join("a")),
            &s(&l2),
            "noreplace",
        ],
    );
    assert_errno_no_violation(&run, "EEXIST", "renameat2 NOREPLACE onto existing");
    // RENAME_EXCHANGE with an outside name changes that name: denied
    let y = dirs.out.join("y");
    std::fs::write(&y, b"y").unwrap();
    let run = call(
        &dirs,
        &["renameat2", &s(&dirs.allowed.join("a")), &s(&y), "exchange"],
    );
    assert_eq!(run.status, 1, "{}", run.describe());
    run.assert_one_violation("renameat2", &s(&y), &cj(&dirs.out, "y"));
    assert_eq!(std::fs::read(&y).unwrap(), b"y");
    assert_target_intact(&target, "renameat2");
}

#[test]
fn c3_chown_follows_lchown_does_not() {
    let dirs = Dirs::new("c3-chown");
    let (l, target) = link_fixture(&dirs);
    let run = call(&dirs, &["lchown", &s(&l)]);
    assert_ok(&run, "lchown of the link");
    let run = call(&dirs, &["chown", &s(&l)]);
    assert_eq!(run.status, 1, "{}", run.describe());
    run.assert_one_violation("chown", &s(&l), &cj(&dirs.out, "target"));
    assert_target_intact(&target, "chown");
}

/// A dangling symlink that a create would follow is checked at its target;
/// O_EXCL and O_NOFOLLOW do not follow.
#[test]
fn c3_dangling_symlink_and_nofollow_opens() {
    let dirs = Dirs::new("c3-dangling");
    let dang = dirs.allowed.join("dang");
    std::os::unix::fs::symlink(dirs.out.join("newfile"), &dang).unwrap();
    let run = call(&dirs, &["open", &s(&dang), "wronly|creat"]);
    assert_eq!(run.status, 1, "{}", run.describe());
    run.assert_one_violation("open", &s(&dang), &cj(&dirs.out, "newfile"));
    assert!(!exists(&dirs.out.join("newfile")));

    let run = call(&dirs, &["open", &s(&dang), "wronly|creat|excl"]);
    assert_errno_no_violation(&run, "EEXIST", "O_CREAT|O_EXCL on a dangling link");
    assert!(!exists(&dirs.out.join("newfile")));

    let (l, target) = link_fixture(&dirs);
    let run = call(&dirs, &["open", &s(&l), "wronly|nofollow"]);
    assert_errno_no_violation(&run, "ELOOP", "O_NOFOLLOW on a link");
    assert_target_intact(&target, "O_NOFOLLOW");

    // a dangling link to a new name inside the allowed dir is fine
    let inner = dirs.allowed.join("inner");
    std::os::unix::fs::symlink(dirs.allowed.join("created"), &inner).unwrap();
    let run = call(&dirs, &["open", &s(&inner), "wronly|creat"]);
    assert_ok(&run, "create through a dangling link inside");
    assert!(dirs.allowed.join("created").is_file());
}

/// symlink: the link name is checked (never followed), the target string is not.
#[test]
fn c3_symlink_checks_the_name_only() {
    let dirs = Dirs::new("c3-symlink");
    let (l, target) = link_fixture(&dirs);
    let run = call(&dirs, &["symlink", "/etc", &s(&dirs.allowed.join("s"))]);
    assert_ok(&run, "symlink to /etc inside");
    let run = call(&dirs, &["symlink", "x", &s(&l)]);
    assert_errno_no_violation(&run, "EEXIST", "symlink onto an existing link");
    let run = call(&dirs, &["symlink", "x", &s(&dirs.out.join("s"))]);
    assert_eq!(run.status, 1, "{}", run.describe());
    run.assert_one_violation("symlink", &s(&dirs.out.join("s")), &cj(&dirs.out, "s"));
    assert!(!exists(&dirs.out.join("s")));
    assert_target_intact(&target, "symlink");
}

// ---------------------------------------------------------------- C5

#[test]
fn c5_shell_relative_path() {
    let dirs = Dirs::new("c5-sh");
    let run = sh(&dirs, "cd \"$0\" && : > rel", &s(&dirs.out));
    assert_ne!(run.status, 0, "{}", run.describe());
    run.assert_one_violation("openat", "rel", &cj(&dirs.out, "rel"));
    assert!(listing(&dirs.out).is_empty());

    let run = sh(&dirs, "cd \"$0\" && : > rel", &s(&dirs.allowed));
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    assert!(dirs.allowed.join("rel").is_file());
}

fn dirfd_fixture(dir: &Path) {
    std::fs::write(dir.join("victim"), b"v").unwrap();
    std::fs::write(dir.join("a"), b"a").unwrap();
}

#[test]
fn c5_dirfd_calls_outside_are_denied() {
    let dirs = Dirs::new("c5-out");
    dirfd_fixture(&dirs.out);
    let before = listing(&dirs.out);
    let run = sb(&dirs, &[prog("dirfd_calls"), "calls".into(), s(&dirs.out)]);
    assert_eq!(
        run.status,
        1,
        "every call must be EACCES: {}",
        run.describe()
    );
    let t = ops(&run);
    assert_eq!(t.len(), 5, "{}", run.describe());
    assert_eq!(t[0], t3("openat", "x", &cj(&dirs.out, "x")));
    assert_eq!(t[1], t3("mkdirat", "d", &cj(&dirs.out, "d")));
    assert_eq!(t[2], t3("unlinkat", "victim", &cj(&dirs.out, "victim")));
    // both names of the rename are outside: either may be the one recorded
    assert!(
        t[3] == t3("renameat", "a", &cj(&dirs.out, "a"))
            || t[3] == t3("renameat", "b", &cj(&dirs.out, "b")),
        "{}",
        run.describe()
    );
    assert_eq!(t[4], t3("symlinkat", "s", &cj(&dirs.out, "s")));
    assert_eq!(listing(&dirs.out), before);
}

#[test]
fn c5_dirfd_calls_allowed_succeed() {
    let dirs = Dirs::new("c5-in");
    dirfd_fixture(&dirs.allowed);
    let run = sb(
        &dirs,
        &[prog("dirfd_calls"), "calls".into(), s(&dirs.allowed)],
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    let a = &dirs.allowed;
    assert!(a.join("x").is_file() && a.join("d").is_dir());
    assert!(!exists(&a.join("victim")) && !exists(&a.join("a")));
    assert!(a.join("b").is_file());
    assert!(std::fs::symlink_metadata(a.join("s"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn c5_dirfd_dotdot_escape_is_denied() {
    let dirs = Dirs::new("c5-esc");
    let run = sb(
        &dirs,
        &[prog("dirfd_calls"), "escape".into(), s(&dirs.allowed)],
    );
    assert_eq!(run.status, 1, "{}", run.describe());
    run.assert_one_violation("openat", "../escape", &cj(&dirs.root, "escape"));
    assert!(!exists(&dirs.root.join("escape")));
}

#[test]
fn c5_tar_extraction_uses_dirfd() {
    if Command::new("tar").arg("--version").output().is_err() {
        println!("SKIP c5_tar_extraction_uses_dirfd: no tar on this system");
        return;
    }
    let dirs = Dirs::new("c5-tar");
    let src = dirs.root.join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("member"), b"hi\n").unwrap();
    let tarball = dirs.root.join("a.tar");
    let st = Command::new("tar")
        .arg("-C")
        .arg(&src)
        .arg("-cf")
        .arg(&tarball)
        .arg("member")
        .status()
        .unwrap();
    assert!(st.success());
    let run = sb(&dirs, &["tar", "-C", &s(&dirs.out), "-xf", &s(&tarball)]);
    assert_eq!(run.status, 2, "{}", run.describe());
    assert!(!exists(&dirs.out.join("member")), "{}", run.describe());
    assert!(
        ops(&run).iter().any(|v| v.2 == cj(&dirs.out, "member")),
        "{}",
        run.describe()
    );
    assert!(listing(&dirs.out).is_empty());

    let run = sb(
        &dirs,
        &["tar", "-C", &s(&dirs.allowed), "-xf", &s(&tarball)],
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    assert_eq!(std::fs::read(dirs.allowed.join("member")).unwrap(), b"hi\n");
}

// ---------------------------------------------------------------- C6

#[test]
fn c6_openat2_outside_denied_including_resolve_in_root() {
    let dirs = Dirs::new("c6-out");
    let o2 = s(&dirs.out.join("o2"));
    let run = sb(&dirs, &[prog("openat2_probe"), o2.clone(), s(&dirs.out)]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert_eq!(
        ops(&run),
        vec![
            t3("openat2", &o2, &cj(&dirs.out, "o2")),
            t3("openat2", "/in-root", &cj(&dirs.out, "in-root")),
        ],
        "{}",
        run.describe()
    );
    assert!(run.stdout.contains("-> -1"), "{}", run.describe());
    assert!(listing(&dirs.out).is_empty());
    for v in run.violations() {
        assert_eq!(v["errno"], "EACCES");
    }
}

#[test]
fn c6_openat2_allowed_succeeds() {
    let dirs = Dirs::new("c6-in");
    let o2 = s(&dirs.allowed.join("o2"));
    let run = sb(&dirs, &[prog("openat2_probe"), o2, s(&dirs.allowed)]);
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    assert!(dirs.allowed.join("o2").is_file());
    assert!(dirs.allowed.join("in-root").is_file());
    assert!(!exists(Path::new("/in-root")));
}

/// RESOLVE_IN_ROOT: ".." cannot climb above the dirfd.
#[test]
fn c6_resolve_in_root_dotdot_stays_in_root() {
    let dirs = Dirs::new("c6-dotdot");
    // inside: "/../../escape" is ALLOWED/escape for the kernel: allowed
    let run = call(
        &dirs,
        &[
            "openat2",
            &s(&dirs.allowed),
            "/../../escape",
            "wronly|creat",
            "in_root",
        ],
    );
    assert_ok(&run, "openat2 IN_ROOT /../../escape below ALLOWED");
    assert!(dirs.allowed.join("escape").is_file());
    assert!(!exists(&dirs.root.join("escape")));

    // outside: "/../allowed/x" from OUT is OUT/allowed/x, not ROOT/allowed/x
    std::fs::create_dir(dirs.out.join("allowed")).unwrap();
    let run = call(
        &dirs,
        &[
            "openat2",
            &s(&dirs.out),
            "/../allowed/x",
            "wronly|creat",
            "in_root",
        ],
    );
    assert_eq!(run.status, 1, "{}", run.describe());
    run.assert_one_violation("openat2", "/../allowed/x", &cj(&dirs.out, "allowed/x"));
    assert!(!exists(&dirs.out.join("allowed/x")));
    assert!(!exists(&dirs.allowed.join("x")));
}

/// The size argument of openat2 is honoured: a larger struct with a zero tail
/// is accepted, a non-zero tail is E2BIG from the kernel.
#[test]
fn c6_openat2_struct_size() {
    let dirs = Dirs::new("c6-size");
    let a = s(&dirs.allowed);
    let run = call(
        &dirs,
        &["openat2", &a, "big0", "wronly|creat", "0", "88", "0"],
    );
    assert_ok(&run, "openat2 with an extended zero tail");
    assert!(dirs.allowed.join("big0").is_file());
    let run = call(
        &dirs,
        &["openat2", &a, "big1", "wronly|creat", "0", "88", "1"],
    );
    assert_errno_no_violation(&run, "E2BIG", "openat2 with a non-zero tail");
    assert!(!exists(&dirs.allowed.join("big1")));
    // read-only openat2 of an outside file: no violation
    std::fs::write(dirs.out.join("f"), b"f").unwrap();
    let run = call(
        &dirs,
        &["openat2", "-", &s(&dirs.out.join("f")), "rdonly", "0"],
    );
    assert_ok(&run, "read-only openat2 outside");
    // write intent with an extended zero tail outside: still denied
    let run = call(
        &dirs,
        &[
            "openat2",
            &s(&dirs.out),
            "big0",
            "wronly|creat",
            "0",
            "88",
            "0",
        ],
    );
    assert_eq!(run.status, 1, "{}", run.describe());
    run.assert_one_violation("openat2", "big0", &cj(&dirs.out, "big0"));
}

// ---------------------------------------------------------------- C7

#[test]
fn c7_renameat2_and_fchmodat2() {
    let dirs = Dirs::new("c7");
    let mv = dirs.allowed.join("mv");
    std::fs::write(&mv, b"x\n").unwrap();
    let mode = dirs.out.join("mode");
    std::fs::write(&mode, b"").unwrap();
    std::fs::set_permissions(&mode, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out_mv = s(&dirs.out.join("mv"));
    let run = sb(
        &dirs,
        &[prog("new_path_calls"), s(&mv), out_mv.clone(), s(&mode)],
    );
    assert_eq!(run.status, 1, "{}", run.describe());
    assert_eq!(
        ops(&run),
        vec![
            t3("renameat2", &out_mv, &cj(&dirs.out, "mv")),
            t3("fchmodat2", &s(&mode), &cj(&dirs.out, "mode")),
        ],
        "{}",
        run.describe()
    );
    assert!(mv.is_file());
    assert!(!exists(&dirs.out.join("mv")));
    assert_eq!(std::fs::metadata(&mode).unwrap().mode() & 0o7777, 0o644);

    // all inside: both succeed
    let m2 = dirs.allowed.join("mode");
    std::fs::write(&m2, b"").unwrap();
    let run = sb(
        &dirs,
        &[
            prog("new_path_calls"),
            s(&mv),
            s(&dirs.allowed.join("mv2")),
            s(&m2),
        ],
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    assert!(dirs.allowed.join("mv2").is_file());
    assert_eq!(std::fs::metadata(&m2).unwrap().mode() & 0o7777, 0o755);
}

// ---------------------------------------------------------------- C10

#[test]
fn c10a_proc_self_cwd_inside() {
    let dirs = Dirs::new("c10a");
    let run = sh(
        &dirs,
        "cd \"$0\" && echo hi > /proc/self/cwd/p",
        &s(&dirs.allowed),
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    assert_eq!(std::fs::read(dirs.allowed.join("p")).unwrap(), b"hi\n");
}

#[test]
fn c10b_proc_self_cwd_outside() {
    let dirs = Dirs::new("c10b");
    let run = sh(
        &dirs,
        "cd \"$0\" && echo hi > /proc/self/cwd/p",
        &s(&dirs.out),
    );
    assert_ne!(run.status, 0, "{}", run.describe());
    run.assert_one_violation("openat", "/proc/self/cwd/p", &cj(&dirs.out, "p"));
    assert!(!exists(&dirs.out.join("p")));
}

#[test]
fn c10_proc_pid_and_thread_self_cwd() {
    let dirs = Dirs::new("c10pid");
    let run = sh(
        &dirs,
        "cd \"$0\" && echo hi > /proc/$$/cwd/p",
        &s(&dirs.out),
    );
    assert_ne!(run.status, 0, "{}", run.describe());
    let t = ops(&run);
    assert_eq!(t.len(), 1, "{}", run.describe());
    assert_eq!(t[0].0, "openat");
    assert_eq!(t[0].2, cj(&dirs.out, "p"), "{}", run.describe());
    let run = sh(
        &dirs,
        "cd \"$0\" && echo hi > /proc/thread-self/cwd/q",
        &s(&dirs.out),
    );
    assert_ne!(run.status, 0, "{}", run.describe());
    run.assert_one_violation("openat", "/proc/thread-self/cwd/q", &cj(&dirs.out, "q"));
    assert!(listing(&dirs.out).is_empty());
    let run = sh(
        &dirs,
        "cd \"$0\" && echo hi > /proc/thread-self/cwd/q",
        &s(&dirs.allowed),
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
}

#[test]
fn c10c_reopen_read_fd_for_writing_via_proc_self_fd() {
    let dirs = Dirs::new("c10c");
    let existing = dirs.out.join("existing");
    std::fs::write(&existing, b"keep\n").unwrap();
    let run = sh(
        &dirs,
        "exec 3<\"$0\"; echo hi > /proc/self/fd/3",
        &s(&existing),
    );
    assert_ne!(run.status, 0, "{}", run.describe());
    run.assert_one_violation("openat", "/proc/self/fd/3", &cj(&dirs.out, "existing"));
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep\n");
}

#[test]
fn c10d_dev_stdout_pipe_and_dev_null_are_not_paths() {
    let dirs = Dirs::new("c10d");
    let run = sh(&dirs, "echo hi > /dev/stdout; echo x > /dev/null", "sh");
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    assert_eq!(run.stdout, "hi\n");
    let run = sh(
        &dirs,
        "echo err > /dev/stderr; echo y >> /proc/self/fd/1",
        "sh",
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    assert_eq!(run.stdout, "y\n");
    assert!(run.stderr.contains("err"), "{}", run.describe());
}

// ---------------------------------------------------------------- C11

fn meta_fixture(p: &Path) {
    std::fs::write(p, b"m").unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let st = Command::new("touch")
        .args(["-d", "2001-01-01"])
        .arg(p)
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn c11_fd_metadata_changes_outside_are_denied() {
    let dirs = Dirs::new("c11-out");
    let m = dirs.out.join("meta");
    meta_fixture(&m);
    let before = std::fs::metadata(&m).unwrap();
    let run = sb(&dirs, &[prog("fd_meta"), s(&m)]);
    assert_eq!(run.status, 1, "{}", run.describe());
    let c = cj(&dirs.out, "meta");
    assert_eq!(
        ops(&run),
        vec![
            t3("utimensat", "", &c),
            t3("fchmod", "", &c),
            t3("fchown", "", &c),
        ],
        "{}",
        run.describe()
    );
    let after = std::fs::metadata(&m).unwrap();
    assert_eq!(after.mode() & 0o7777, 0o644);
    assert_eq!(after.mtime(), 978_307_200);
    assert_eq!(
        (after.ctime(), after.ctime_nsec()),
        (before.ctime(), before.ctime_nsec())
    );
}

#[test]
fn c11_fd_metadata_changes_allowed_succeed() {
    let dirs = Dirs::new("c11-in");
    let m = dirs.allowed.join("meta");
    meta_fixture(&m);
    let run = sb(&dirs, &[prog("fd_meta"), s(&m)]);
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    let after = std::fs::metadata(&m).unwrap();
    assert_eq!(after.mode() & 0o7777, 0o600);
    assert_ne!(after.mtime(), 978_307_200);
}

/// SPEC §3.3: an empty path with `AT_EMPTY_PATH` means the fd.
fn at_empty_path(op: &str, syscall: &str) {
    let dirs = Dirs::new(&format!("empty-{syscall}"));
    let f = dirs.out.join("f");
    meta_fixture(&f);
    let before = std::fs::metadata(&f).unwrap();
    let run = call(&dirs, &[op, &s(&f)]);
    assert_eq!(run.status, 1, "{}", run.describe());
    run.assert_one_violation(syscall, "", &cj(&dirs.out, "f"));
    let after = std::fs::metadata(&f).unwrap();
    assert_eq!(after.mode() & 0o7777, 0o644);
    assert_eq!(after.mtime(), 978_307_200);
    assert_eq!(
        (after.ctime(), after.ctime_nsec()),
        (before.ctime(), before.ctime_nsec())
    );
    let g = dirs.allowed.join("f");
    meta_fixture(&g);
    let run = call(&dirs, &[op, &s(&g)]);
    assert_ok(&run, &format!("{op} inside"));
}

#[test]
fn at_empty_path_fchownat() {
    at_empty_path("fchownat_empty", "fchownat");
}

#[test]
fn at_empty_path_fchmodat2() {
    at_empty_path("fchmodat2_empty", "fchmodat2");
}

#[test]
fn at_empty_path_utimensat() {
    at_empty_path("utimensat_empty", "utimensat");
}

/// `..` after a symlinked directory is resolved as the kernel does
/// (physically), not lexically.
#[test]
fn dotdot_after_symlinked_dir_is_physical() {
    let dirs = Dirs::new("dotdot-link");
    std::fs::create_dir(dirs.out.join("sub")).unwrap();
    std::fs::create_dir(dirs.allowed.join("sub")).unwrap();
    let dirlink = dirs.allowed.join("dirlink");
    std::os::unix::fs::symlink(dirs.out.join("sub"), &dirlink).unwrap();
    let inlink = dirs.out.join("inlink");
    std::os::unix::fs::symlink(dirs.allowed.join("sub"), &inlink).unwrap();

    // lexically ALLOWED/escape, really OUT/escape
    let p = format!("{}/dirlink/../escape", s(&dirs.allowed));
    let run = sh(&dirs, ": > \"$0\"", &p);
    assert_ne!(run.status, 0, "{}", run.describe());
    run.assert_one_violation("openat", &p, &cj(&dirs.out, "escape"));
    assert!(!exists(&dirs.out.join("escape")));
    assert!(!exists(&dirs.allowed.join("escape")));

    // a symlinked directory component
    let p = format!("{}/dirlink/x", s(&dirs.allowed));
    let run = sh(&dirs, ": > \"$0\"", &p);
    assert_ne!(run.status, 0, "{}", run.describe());
    run.assert_one_violation("openat", &p, &cj(&dirs.out, "sub/x"));
    assert!(!exists(&dirs.out.join("sub/x")));

    // lexically OUT/x, really ALLOWED/x: allowed
    let p = format!("{}/inlink/../x", s(&dirs.out));
    let run = sh(&dirs, ": > \"$0\"", &p);
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    assert!(dirs.allowed.join("x").is_file());
    let p = format!("{}/inlink/y", s(&dirs.out));
    let run = sh(&dirs, ": > \"$0\"", &p);
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    assert!(dirs.allowed.join("sub/y").is_file());
}

/// Relative paths with `..`, `.` and repeated slashes: recorded as given,
/// canonical resolved.
#[test]
fn relative_dotdot_dot_and_double_slash() {
    let dirs = Dirs::new("reldots");
    let run = sh(&dirs, "cd \"$0\" && : > ../out/x", &s(&dirs.allowed));
    assert_ne!(run.status, 0, "{}", run.describe());
    run.assert_one_violation("openat", "../out/x", &cj(&dirs.out, "x"));
    let p = format!("{}//./y", s(&dirs.out));
    let run = sh(&dirs, ": > \"$0\"", &p);
    assert_ne!(run.status, 0, "{}", run.describe());
    run.assert_one_violation("openat", &p, &cj(&dirs.out, "y"));
    assert!(listing(&dirs.out).is_empty());
    let run = sh(&dirs, "cd \"$0\" && : > ././/z", &s(&dirs.allowed));
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    assert!(dirs.allowed.join("z").is_file());
}

/// `/proc/self/fd/N/name` where fd N is a directory means the tracee's fd.
#[test]
fn proc_self_fd_as_directory() {
    let dirs = Dirs::new("procfd-dir");
    let script = "exec 3<\"$0\"; : > /proc/self/fd/3/x";
    let run = sh(&dirs, script, &s(&dirs.out));
    assert_ne!(run.status, 0, "{}", run.describe());
    run.assert_one_violation("openat", "/proc/self/fd/3/x", &cj(&dirs.out, "x"));
    assert!(!exists(&dirs.out.join("x")));
    let run = sh(&dirs, script, &s(&dirs.allowed));
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    assert!(dirs.allowed.join("x").is_file());
}

// ---------------------------------------------------------------- C21

const DEEP: &str = "cd \"$0\"; n=$(printf \"d%.0s\" $(seq 200)); \
     for i in $(seq 25); do mkdir \"$n\" && cd \"$n\" || exit 1; done; : > f";

fn has_bash() -> bool {
    Command::new("bash").arg("-c").arg("true").status().is_ok()
}

#[test]
fn c21a_deep_cwd_inside_allowed() {
    if !has_bash() {
        println!("SKIP: no bash");
        return;
    }
    let dirs = Dirs::new("c21a");
    let run = sb(&dirs, &["bash", "-c", DEEP, &s(&dirs.allowed)]);
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    let check = Command::new("bash")
        .arg("-c")
        .arg(
            "cd \"$0\"; n=$(printf \"d%.0s\" $(seq 200)); \
             for i in $(seq 25); do cd \"$n\" || exit 1; done; test -f f",
        )
        .arg(&dirs.allowed)
        .status()
        .unwrap();
    assert!(check.success(), "deep file missing");
}

#[test]
fn c21b_deep_cwd_outside_first_mkdir_denied() {
    if !has_bash() {
        println!("SKIP: no bash");
        return;
    }
    let dirs = Dirs::new("c21b");
    let run = sb(&dirs, &["bash", "-c", DEEP, &s(&dirs.out)]);
    assert_eq!(run.status, 1, "{}", run.describe());
    let n = "d".repeat(200);
    run.assert_one_violation("mkdir", &n, &cj(&dirs.out, &n));
    assert!(listing(&dirs.out).is_empty());
}

/// A write relative to a cwd deeper than PATH_MAX outside: denied, with the
/// full (untruncated) canonical path.
#[test]
fn c21_write_in_deep_outside_cwd_has_full_canonical() {
    if !has_bash() {
        println!("SKIP: no bash");
        return;
    }
    let dirs = Dirs::new("c21deep");
    let mk = Command::new("bash")
        .arg("-c")
        .arg(
            "cd \"$0\"; n=$(printf \"d%.0s\" $(seq 200)); \
             for i in $(seq 25); do mkdir \"$n\" && cd \"$n\" || exit 1; done",
        )
        .arg(&dirs.out)
        .status()
        .unwrap();
    assert!(mk.success());
    let script = "cd \"$0\"; n=$(printf \"d%.0s\" $(seq 200)); \
                  for i in $(seq 25); do cd \"$n\" || exit 9; done; : > f";
    let run = sb(&dirs, &["bash", "-c", script, &s(&dirs.out)]);
    assert_eq!(run.status, 1, "{}", run.describe());
    let mut canonical = s(&canon(&dirs.out));
    for _ in 0..25 {
        canonical.push('/');
        canonical.push_str(&"d".repeat(200));
    }
    canonical.push_str("/f");
    assert!(canonical.len() > 4096);
    run.assert_one_violation("openat", "f", &canonical);
    let check = Command::new("bash")
        .arg("-c")
        .arg(
            "cd \"$0\"; n=$(printf \"d%.0s\" $(seq 200)); \
             for i in $(seq 25); do cd \"$n\" || exit 1; done; test ! -e f",
        )
        .arg(&dirs.out)
        .status()
        .unwrap();
    assert!(check.success(), "f was created in the deep outside dir");
}

#[test]
fn c21c_path_longer_than_path_max_is_enametoolong() {
    let dirs = Dirs::new("c21c");
    let run = sh(&dirs, ": > \"$(printf \"x/%.0s\" $(seq 3000))f\"", "sh");
    assert_ne!(run.status, 0, "{}", run.describe());
    assert!(
        run.stderr.contains("File name too long"),
        "{}",
        run.describe()
    );
    run.assert_no_violations();
    // raw, absolute, under both dirs
    for d in [&dirs.allowed, &dirs.out] {
        let p = format!("{}/{}f", s(d), "x/".repeat(3000));
        let run = call(&dirs, &["open", &p, "wronly|creat"]);
        assert_errno_no_violation(&run, "ENAMETOOLONG", "open of a > PATH_MAX path");
        let run = call(&dirs, &["mkdir", &p]);
        assert_errno_no_violation(&run, "ENAMETOOLONG", "mkdir of a > PATH_MAX path");
    }
}

#[test]
fn c21d_component_longer_than_name_max_is_enametoolong() {
    let dirs = Dirs::new("c21d");
    let run = sh(
        &dirs,
        ": > \"$0/$(printf \"n%.0s\" $(seq 256))\"",
        &s(&dirs.allowed),
    );
    assert_ne!(run.status, 0, "{}", run.describe());
    assert!(
        run.stderr.contains("File name too long"),
        "{}",
        run.describe()
    );
    run.assert_no_violations();
    let p = format!("{}/{}", s(&dirs.allowed), "n".repeat(256));
    let run = call(&dirs, &["open", &p, "wronly|creat"]);
    assert_errno_no_violation(&run, "ENAMETOOLONG", "NAME_MAX+1 component");
    // 255 is fine
    let p = format!("{}/{}", s(&dirs.allowed), "n".repeat(255));
    let run = call(&dirs, &["open", &p, "wronly|creat"]);
    assert_ok(&run, "NAME_MAX component");
}

// ---------------------------------------------------------------- rules

fn regex_escape(p: &str) -> String {
    let mut out = String::new();
    for c in p.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[test]
fn write_regex_allows_matching_canonical_paths() {
    let dirs = Dirs::new("regex");
    let re = format!("^{}/[^/]*\\.log$", regex_escape(&s(&canon(&dirs.out))));
    let log = s(&dirs.out.join("a.log"));
    let txt = s(&dirs.out.join("a.txt"));
    let run = sb_opts(
        &dirs,
        &["--write-regex", &re],
        &["sh", "-c", "echo l > \"$0\"; echo t > \"$1\"", &log, &txt],
    );
    assert_ne!(run.status, 0, "{}", run.describe());
    run.assert_one_violation("openat", &txt, &cj(&dirs.out, "a.txt"));
    assert_eq!(std::fs::read(dirs.out.join("a.log")).unwrap(), b"l\n");
    assert!(!exists(&dirs.out.join("a.txt")));
    // -w still works next to a regex
    let run = sb_opts(
        &dirs,
        &["--write-regex", &re],
        &["sh", "-c", ": > \"$0\"", &s(&dirs.allowed.join("w"))],
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
}

/// The regex is matched against the canonical path, not the string passed.
#[test]
fn write_regex_matches_canonical_not_given_path() {
    let dirs = Dirs::new("regex-canon");
    let re = format!("^{}/[^/]*\\.log$", regex_escape(&s(&canon(&dirs.out))));
    let real = dirs.out.join("real.txt");
    std::fs::write(&real, b"keep\n").unwrap();
    let link = dirs.out.join("link.log");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let run = sb_opts(
        &dirs,
        &["--write-regex", &re],
        &["sh", "-c", "echo x > \"$0\"", &s(&link)],
    );
    assert_ne!(run.status, 0, "{}", run.describe());
    run.assert_one_violation("openat", &s(&link), &cj(&dirs.out, "real.txt"));
    assert_eq!(std::fs::read(&real).unwrap(), b"keep\n");

    // and the other way round: a .txt name whose target matches is allowed
    let reallog = dirs.out.join("real.log");
    std::fs::write(&reallog, b"old\n").unwrap();
    let l2 = dirs.out.join("link2.txt");
    std::os::unix::fs::symlink(&reallog, &l2).unwrap();
    let run = sb_opts(
        &dirs,
        &["--write-regex", &re],
        &["sh", "-c", "echo new > \"$0\"", &s(&l2)],
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    assert_eq!(std::fs::read(&reallog).unwrap(), b"new\n");
}

#[test]
fn write_regex_invalid_is_a_catbox_error() {
    let run = catbox_raw(&["--write-regex", "(unclosed", "--", "true"], None);
    assert_eq!(run.status, 125, "{}", run.describe());
    assert!(!run.stderr.trim().is_empty());
}

/// `-w /a/b` allows `/a/b` and below, not `/a/bc`.
#[test]
fn rule_matches_at_component_boundary() {
    let dirs = Dirs::new("boundary");
    let sibling = dirs.root.join("allowedx");
    std::fs::create_dir(&sibling).unwrap();
    let f = s(&sibling.join("f"));
    let run = sh(&dirs, ": > \"$0\"", &f);
    assert_ne!(run.status, 0, "{}", run.describe());
    run.assert_one_violation("openat", &f, &cj(&sibling, "f"));
    assert!(!exists(&sibling.join("f")));
    // a sibling *file* sharing the prefix
    let g = s(&dirs.root.join("allowed.txt"));
    let run = sh(&dirs, ": > \"$0\"", &g);
    assert_ne!(run.status, 0, "{}", run.describe());
    run.assert_one_violation("openat", &g, &cj(&dirs.root, "allowed.txt"));
    // the rule path itself and below are allowed
    let run = call(&dirs, &["utimensat", &s(&dirs.allowed), "0"]);
    assert_ok(&run, "utimensat of the rule directory itself");
    let run = sh(&dirs, ": > \"$0\"", &s(&dirs.allowed.join("f")));
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
}

/// Write intent without O_CREAT on a missing file: ENOENT, no violation.
#[test]
fn open_write_intent_missing_file_without_creat_is_enoent() {
    let dirs = Dirs::new("enoent");
    let p = s(&dirs.out.join("missing"));
    for flags in ["wronly", "rdwr", "wronly|trunc", "wronly|append"] {
        let run = call(&dirs, &["open", &p, flags]);
        assert_errno_no_violation(&run, "ENOENT", &format!("open({flags}) missing"));
    }
    let run = call(&dirs, &["openat2", "-", &p, "wronly", "0"]);
    assert_errno_no_violation(&run, "ENOENT", "openat2(O_WRONLY) missing");
    assert!(listing(&dirs.out).is_empty());
    // but with O_CREAT it is a write: denied
    let run = call(&dirs, &["open", &p, "wronly|creat"]);
    assert_eq!(run.status, 1, "{}", run.describe());
    run.assert_one_violation("open", &p, &cj(&dirs.out, "missing"));
}

/// Calls the kernel would fail anyway get the kernel's errno, no violation
/// (engine decisions 1 and 2).
#[test]
fn kernel_errors_win_over_violations_outside() {
    let dirs = Dirs::new("kerr");
    let out = &dirs.out;
    std::fs::write(out.join("f"), b"f").unwrap();
    std::fs::write(dirs.allowed.join("g"), b"g").unwrap();
    let missing = s(&out.join("missing"));
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["unlinkat".into(), missing.clone(), "0".into()],
            "ENOENT",
        ),
        (
            vec!["unlinkat".into(), missing.clone(), "removedir".into()],
            "ENOENT",
        ),
        (vec!["fchmodat".into(), missing.clone()], "ENOENT"),
        (vec!["chown".into(), missing.clone()], "ENOENT"),
        (
            vec!["utimensat".into(), missing.clone(), "0".into()],
            "ENOENT",
        ),
        (
            vec![
                "renameat2".into(),
                missing.clone(),
                s(&dirs.allowed.join("z")),
                "0".into(),
            ],
            "ENOENT",
        ),
        (
            vec!["symlink".into(), "x".into(), s(&out.join("f"))],
            "EEXIST",
        ),
        (
            vec![
                "linkat".into(),
                s(&dirs.allowed.join("g")),
                s(&out.join("f")),
                "0".into(),
            ],
            "EEXIST",
        ),
        (
            vec!["open".into(), s(&out.join("f")), "wronly|creat|excl".into()],
            "EEXIST",
        ),
        (vec!["mkdir".into(), s(&out.join("f"))], "EEXIST"),
        (
            vec![
                "open".into(),
                s(&out.join("nodir/x")),
                "wronly|creat".into(),
            ],
            "ENOENT",
        ),
        (vec!["mkdir".into(), s(&out.join("nodir/x"))], "ENOENT"),
        (
            vec!["open".into(), s(&out.join("f/x")), "wronly|creat".into()],
            "ENOTDIR",
        ),
    ];
    for (args, errno) in cases {
        let a: Vec<&str> = args.iter().map(|x| x.as_str()).collect();
        let run = call(&dirs, &a);
        assert_errno_no_violation(&run, errno, &format!("{args:?}"));
    }
    assert_eq!(std::fs::read(out.join("f")).unwrap(), b"f");
}
