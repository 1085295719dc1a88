//! Fakeroot mode (issue 4), each call with real processes.
//!
//! The calls are made with raw `syscall()`s by `tests/c/fakeroot_calls.c`, so
//! that each of `stat`, `lstat`, `fstat`, `newfstatat` (with a path and with
//! `AT_EMPTY_PATH`) and `statx` (both ways) is hit, whatever glibc maps them
//! to. Every test also holds for an unprivileged user: the real owner of a
//! file outside the sandbox is compared with the test process's own
//! `getuid()`/`getgid()`, never with 0.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{c_program, catbox_raw, sb_opts, Dirs, Run};

const S_IFMT: u32 = libc::S_IFMT;
const S_IFREG: u32 = libc::S_IFREG;
const S_IFDIR: u32 = libc::S_IFDIR;
const S_IFLNK: u32 = libc::S_IFLNK;
const S_IFCHR: u32 = libc::S_IFCHR;
const S_IFBLK: u32 = libc::S_IFBLK;

/// The uid and gid of the test process (0 only when the tests run as root).
fn me() -> (u32, u32) {
    // SAFETY: getuid/getgid cannot fail.
    unsafe { (libc::getuid(), libc::getgid()) }
}

fn fc() -> String {
    c_program("fakeroot_calls").display().to_string()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// `dirs.allowed` canonicalized (the report's keys are canonical paths).
fn allowed(dirs: &Dirs) -> PathBuf {
    std::fs::canonicalize(&dirs.allowed).unwrap()
}

fn out_dir(dirs: &Dirs) -> PathBuf {
    std::fs::canonicalize(&dirs.out).unwrap()
}

/// `catbox -w ALLOWED --report R OPTS -- ARGS` with OPTS given as strings.
fn sb(dirs: &Dirs, opts: &[String], args: &[String]) -> Run {
    let opts: Vec<OsString> = opts.iter().map(OsString::from).collect();
    sb_opts(dirs, &opts, args)
}

/// `--fakeroot` and `fakeroot_calls OPS...` (ops separated by ";").
fn fake(dirs: &Dirs, ops: &[String]) -> Run {
    let mut args = vec![fc()];
    args.extend(ops.iter().cloned());
    sb(dirs, &["--fakeroot".into()], &args)
}

/// `--fakeroot` and `sh -c SCRIPT`.
fn fake_sh(dirs: &Dirs, opts: &[String], script: &str) -> Run {
    let mut o = vec!["--fakeroot".to_string()];
    o.extend(opts.iter().cloned());
    sb(dirs, &o, &["sh".into(), "-c".into(), script.into()])
}

/// Split "op a b c ; op d" into arguments.
fn ops(text: &str) -> Vec<String> {
    text.split_whitespace().map(String::from).collect()
}

/// One line of `fakeroot_calls stat`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct St {
    uid: u32,
    gid: u32,
    mode: u32,
    rdev: (u32, u32),
    ino: u64,
}

/// The seven ways `fakeroot_calls stat PATH` looks at a file.
const VIAS: [&str; 7] = [
    "stat",
    "lstat",
    "newfstatat",
    "statx",
    "fstat",
    "newfstatat_empty",
    "statx_empty",
];

/// The `stat` blocks of the output, in order: each a map via → result.
fn stat_blocks(stdout: &str) -> Vec<BTreeMap<String, Result<St, String>>> {
    let mut blocks: Vec<BTreeMap<String, Result<St, String>>> = Vec::new();
    for line in stdout.lines() {
        let mut words = line.split_whitespace();
        let Some(via) = words.next() else { continue };
        if !VIAS.contains(&via) {
            continue;
        }
        let rest: Vec<&str> = words.collect();
        if via == "stat" {
            blocks.push(BTreeMap::new());
        }
        let Some(block) = blocks.last_mut() else {
            continue;
        };
        let field = |k: &str| {
            rest.iter()
                .find_map(|w| w.strip_prefix(k).map(String::from))
                .unwrap_or_default()
        };
        let value = if rest.first().is_some_and(|w| w.starts_with("rc=")) {
            Err(rest.join(" "))
        } else {
            let (ma, mi) = field("rdev=")
                .split_once(',')
                .map(|(a, b)| (a.parse().unwrap(), b.parse().unwrap()))
                .unwrap();
            Ok(St {
                uid: field("uid=").parse().unwrap(),
                gid: field("gid=").parse().unwrap(),
                mode: u32::from_str_radix(&field("mode="), 8).unwrap(),
                rdev: (ma, mi),
                ino: field("ino=").parse().unwrap(),
            })
        };
        block.insert(via.to_string(), value);
    }
    blocks
}

/// Every via of `block` except those in `skip` shows this owner, mode and rdev.
fn assert_block(
    run: &Run,
    block: &BTreeMap<String, Result<St, String>>,
    skip: &[&str],
    (uid, gid, mode, rdev): (u32, u32, u32, (u32, u32)),
    what: &str,
) {
    for via in VIAS {
        if skip.contains(&via) {
            continue;
        }
        let got = block
            .get(via)
            .unwrap_or_else(|| panic!("{what}: no {via} line\n{}", run.describe()));
        let got = got
            .as_ref()
            .unwrap_or_else(|e| panic!("{what}: {via} failed: {e}\n{}", run.describe()));
        assert_eq!(
            (got.uid, got.gid, got.mode, got.rdev),
            (uid, gid, mode, rdev),
            "{what}: {via} shows uid {} gid {} mode {:o} rdev {:?}, expected uid {uid} gid {gid} mode {mode:o} rdev {rdev:?}\n{}",
            got.uid,
            got.gid,
            got.mode,
            got.rdev,
            run.describe()
        );
    }
}

/// The result lines ("OP rc=...") of the C program's non-stat ops.
fn results(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.contains(" rc=") && !VIAS.contains(&l.split(' ').next().unwrap_or("")))
        .map(String::from)
        .collect()
}

fn ownership(run: &Run, path: &Path) -> Option<(u32, u32)> {
    let v = &run.report["ownerships"][path.to_str().unwrap()];
    let a = v.as_array()?;
    Some((a[0].as_u64()? as u32, a[1].as_u64()? as u32))
}

fn mode_of(run: &Run, path: &Path) -> Option<u32> {
    run.report["modes"][path.to_str().unwrap()]
        .as_u64()
        .map(|m| m as u32)
}

fn touch(p: &Path) {
    std::fs::write(p, b"").unwrap();
}

/// The records of a state file: (path, uid, gid, mode, device).
fn state_records(file: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(file).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["format"], "catbox-fakeroot-1", "{text}");
    v["records"].as_array().unwrap().clone()
}

// ---------------------------------------------------------------------------
// ids

#[test]
fn ids_are_zero_and_setid_to_root_succeeds() {
    let dirs = Dirs::new("fr-ids");
    let run = fake(&dirs, &ops("ids ; setids"));
    assert_eq!(run.status, 0, "{}", run.describe());
    for want in [
        "getuid=0",
        "geteuid=0",
        "getgid=0",
        "getegid=0",
        "getresuid rc=0 0 0 0",
        "getresgid rc=0 0 0 0",
    ] {
        assert!(
            run.stdout.lines().any(|l| l == want),
            "missing {want:?}\n{}",
            run.describe()
        );
    }
    for call in [
        "setuid",
        "setgid",
        "setresuid",
        "setresgid",
        "setreuid",
        "setregid",
        "setgroups",
    ] {
        assert!(
            run.stdout.lines().any(|l| l == format!("{call} rc=0")),
            "{call}(0) did not succeed\n{}",
            run.describe()
        );
    }
    run.assert_no_violations();

    // Through libc and coreutils too: `id -u` and `id -g`.
    let run = fake_sh(&dirs, &[], "id -u; id -g");
    assert_eq!(run.stdout, "0\n0\n", "{}", run.describe());

    // Without --fakeroot the real ids show (so the zeros above are the fake).
    let run = sb(&dirs, &[], &[fc(), "ids".into()]);
    let (uid, gid) = me();
    assert!(
        run.stdout.contains(&format!("getuid={uid}\n"))
            && run.stdout.contains(&format!("getgid={gid}\n")),
        "{}",
        run.describe()
    );
    // ... and setuid(0) really succeeded, with an effect, only for root.
    if uid != 0 {
        let run = sb(&dirs, &[], &[fc(), "setids".into()]);
        assert!(
            run.stdout.contains("setuid rc=-1 errno=EPERM"),
            "{}",
            run.describe()
        );
    }
}

// ---------------------------------------------------------------------------
// chown family

#[test]
fn chown_family_is_recorded_not_performed() {
    let dirs = Dirs::new("fr-chown");
    let a = allowed(&dirs);
    // (call, its extra argument, uid, gid): distinct owners per call.
    let calls: [(&str, &str, u32, u32); 6] = [
        ("chown", "", 101, 201),
        ("lchown", "", 102, 202),
        ("fchown", "", 103, 203),
        ("fchownat", "0", 104, 204),
        ("fchownat", "nofollow", 105, 205),
        ("fchownat", "empty", 106, 206),
    ];
    let mut args = Vec::new();
    for (i, (call, extra, u, g)) in calls.iter().enumerate() {
        let f = a.join(format!("f{i}"));
        touch(&f);
        args.extend(ops(&format!(
            "{call} {} {u} {g} {extra} ; stat {}",
            s(&f),
            s(&f)
        )));
        args.push(";".into());
    }
    let run = fake(&dirs, &args);
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    let res = results(&run.stdout);
    assert_eq!(res.len(), calls.len(), "{}", run.describe());
    for r in &res {
        assert!(r.ends_with(" rc=0"), "{r}\n{}", run.describe());
    }
    let blocks = stat_blocks(&run.stdout);
    assert_eq!(blocks.len(), calls.len(), "{}", run.describe());
    let (uid, gid) = me();
    for (i, (call, extra, u, g)) in calls.iter().enumerate() {
        let f = a.join(format!("f{i}"));
        let what = format!("{call} {extra}");
        assert_block(
            &run,
            &blocks[i],
            &[],
            (
                *u,
                *g,
                S_IFREG | (f.metadata().unwrap().mode() & 0o7777),
                (0, 0),
            ),
            &what,
        );
        // Not performed: outside, the file still belongs to the test user.
        let md = f.metadata().unwrap();
        assert_eq!(
            (md.uid(), md.gid()),
            (uid, gid),
            "{what}: the chown was performed"
        );
        assert_eq!(
            ownership(&run, &f),
            Some((*u, *g)),
            "{what}: report ownerships\n{}",
            run.describe()
        );
    }
}

#[test]
fn lchown_records_the_link_and_chown_its_target() {
    let dirs = Dirs::new("fr-lchown");
    let a = allowed(&dirs);
    let f = a.join("f");
    let l = a.join("l");
    touch(&f);
    std::os::unix::fs::symlink("f", &l).unwrap();
    let run = fake(
        &dirs,
        &ops(&format!(
            "lchown {l} 7 8 ; chown {l} 9 10 ; stat {l} ; fchownat {l} 11 12 nofollow ; stat {l}",
            l = s(&l)
        )),
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    let perm = f.metadata().unwrap().mode() & 0o7777;
    let b = stat_blocks(&run.stdout);
    assert_eq!(b.len(), 2, "{}", run.describe());
    // lstat sees the link's record, everything else follows to f.
    assert_block(
        &run,
        &b[0],
        &["lstat"],
        (9, 10, S_IFREG | perm, (0, 0)),
        "chown through the link",
    );
    let link = b[0]["lstat"].as_ref().unwrap();
    assert_eq!(
        (link.uid, link.gid, link.mode & S_IFMT),
        (7, 8, S_IFLNK),
        "lstat of the link\n{}",
        run.describe()
    );
    let link = b[1]["lstat"].as_ref().unwrap();
    assert_eq!(
        (link.uid, link.gid),
        (11, 12),
        "fchownat AT_SYMLINK_NOFOLLOW\n{}",
        run.describe()
    );
    assert_eq!(b[1]["stat"].as_ref().unwrap().uid, 9, "{}", run.describe());
    assert_eq!(ownership(&run, &l), Some((11, 12)), "{}", run.describe());
    assert_eq!(ownership(&run, &f), Some((9, 10)), "{}", run.describe());
    let (uid, _) = me();
    assert_eq!(f.symlink_metadata().unwrap().uid(), uid);
    assert_eq!(l.symlink_metadata().unwrap().uid(), uid);
}

#[test]
fn minus_one_leaves_the_owner_or_group_unchanged() {
    let dirs = Dirs::new("fr-minus1");
    let a = allowed(&dirs);
    let f = a.join("f");
    let g = a.join("g");
    touch(&f);
    touch(&g);
    let run = fake(
        &dirs,
        &ops(&format!(
            "chown {f} 7 -1 ; stat {f} ; chown {f} -1 8 ; stat {f} ; fchown {f} -1 -1 ; stat {f} ; chown {g} -1 -1 ; stat {g}",
            f = s(&f),
            g = s(&g)
        )),
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    let perm = f.metadata().unwrap().mode() & 0o7777;
    let b = stat_blocks(&run.stdout);
    assert_eq!(b.len(), 4, "{}", run.describe());
    let m = S_IFREG | perm;
    assert_block(&run, &b[0], &[], (7, 0, m, (0, 0)), "chown f 7 -1");
    assert_block(&run, &b[1], &[], (7, 8, m, (0, 0)), "then chown f -1 8");
    assert_block(&run, &b[2], &[], (7, 8, m, (0, 0)), "then fchown f -1 -1");
    assert_block(&run, &b[3], &[], (0, 0, m, (0, 0)), "chown g -1 -1");
    assert_eq!(ownership(&run, &f), Some((7, 8)), "{}", run.describe());
    assert!(
        matches!(ownership(&run, &g), None | Some((0, 0))),
        "{}",
        run.describe()
    );
}

#[test]
fn chown_chmod_mknod_outside_the_writable_paths_are_violations() {
    let dirs = Dirs::new("fr-outside");
    let o = out_dir(&dirs);
    let f = o.join("f");
    touch(&f);
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    let before = f.metadata().unwrap();
    let run = fake(
        &dirs,
        &ops(&format!(
            "chown {f} 123 456 ; lchown {f} 123 456 ; fchown {f} 123 456 ; fchownat {f} 123 456 0 ; \
             chmod {f} 4755 ; mknod {n} c 1 3 ; stat {f}",
            f = s(&f),
            n = s(&o.join("n"))
        )),
    );
    assert_ne!(run.status, 0, "{}", run.describe());
    let res = results(&run.stdout);
    assert_eq!(res.len(), 6, "{}", run.describe());
    for r in &res {
        assert!(r.ends_with("rc=-1 errno=EACCES"), "{r}\n{}", run.describe());
    }
    let fc_ = s(&f);
    let n = s(&o.join("n"));
    assert_eq!(
        run.tuples(),
        vec![
            ("chown".into(), fc_.clone(), fc_.clone(), "EACCES".into()),
            ("lchown".into(), fc_.clone(), fc_.clone(), "EACCES".into()),
            ("fchown".into(), "".into(), fc_.clone(), "EACCES".into()),
            ("fchownat".into(), "f".into(), fc_.clone(), "EACCES".into()),
            ("chmod".into(), fc_.clone(), fc_.clone(), "EACCES".into()),
            ("mknod".into(), n.clone(), n.clone(), "EACCES".into()),
        ],
        "{}",
        run.describe()
    );
    // Nothing changed outside, nothing recorded, nothing shown.
    let after = f.metadata().unwrap();
    assert_eq!(
        (after.uid(), after.gid(), after.mode()),
        (before.uid(), before.gid(), before.mode())
    );
    assert!(!o.join("n").exists(), "mknod outside created a file");
    assert_eq!(ownership(&run, &f), None, "{}", run.describe());
    assert_eq!(mode_of(&run, &f), None, "{}", run.describe());
    let b = stat_blocks(&run.stdout);
    assert_block(
        &run,
        &b[0],
        &[],
        (0, 0, S_IFREG | 0o644, (0, 0)),
        "after denied calls",
    );
}

#[test]
fn files_of_the_user_appear_owned_by_root() {
    let dirs = Dirs::new("fr-owner");
    let a = allowed(&dirs);
    let made_outside = dirs.out.join("mine");
    touch(&made_outside);
    let made_inside = a.join("new");
    let run = fake_sh(
        &dirs,
        &[],
        &format!(
            "touch {n} && {fc} stat {m} \\; stat {n} && stat -c '%u:%g %U:%G' {m} {n}",
            n = s(&made_inside),
            m = s(&made_outside),
            fc = fc()
        ),
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    let b = stat_blocks(&run.stdout);
    assert_eq!(b.len(), 2, "{}", run.describe());
    for (blk, p) in b.iter().zip([&made_outside, &made_inside]) {
        let perm = p.metadata().unwrap().mode() & 0o7777;
        assert_block(
            &run,
            blk,
            &[],
            (0, 0, S_IFREG | perm, (0, 0)),
            &p.display().to_string(),
        );
    }
    assert!(
        run.stdout.ends_with("0:0 root:root\n0:0 root:root\n"),
        "{}",
        run.describe()
    );
    let (uid, gid) = me();
    let md = made_inside.metadata().unwrap();
    assert_eq!((md.uid(), md.gid()), (uid, gid));
    // A file of another owner keeps its owner (only root can make one).
    if uid == 0 {
        let other = dirs.out.join("other");
        touch(&other);
        std::os::unix::fs::chown(&other, Some(4242), Some(4343)).unwrap();
        let run = fake(&dirs, &ops(&format!("stat {}", s(&other))));
        let b = stat_blocks(&run.stdout);
        assert_block(
            &run,
            &b[0],
            &[],
            (
                4242,
                4343,
                S_IFREG | (other.metadata().unwrap().mode() & 0o7777),
                (0, 0),
            ),
            "a file owned by 4242:4343",
        );
    } else {
        eprintln!("note: the 'other owner stays' check needs root to make such a file; skipped");
    }
}

// ---------------------------------------------------------------------------
// chmod

#[test]
fn chmod_is_performed_and_the_full_mode_recorded() {
    let dirs = Dirs::new("fr-chmod");
    let a = allowed(&dirs);
    let (f, g, d) = (a.join("f"), a.join("g"), a.join("d"));
    touch(&f);
    touch(&g);
    std::fs::create_dir(&d).unwrap();
    let run = fake_sh(
        &dirs,
        &[],
        &format!(
            "{fc} chmod {f} 4755 \\; fchmod {g} 2711 \\; fchmodat {d} 1777 \\; stat {f} \\; stat {g} \\; stat {d} \
             && echo more >> {f} && {fc} stat {f} && stat -c %a {f} {g} {d} \
             && {fc} chmod {g} 0640 \\; stat {g}",
            fc = fc(),
            f = s(&f),
            g = s(&g),
            d = s(&d)
        ),
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    let b = stat_blocks(&run.stdout);
    assert_eq!(b.len(), 5, "{}", run.describe());
    assert_block(
        &run,
        &b[0],
        &[],
        (0, 0, S_IFREG | 0o4755, (0, 0)),
        "chmod 4755",
    );
    assert_block(
        &run,
        &b[1],
        &[],
        (0, 0, S_IFREG | 0o2711, (0, 0)),
        "fchmod 2711",
    );
    assert_block(
        &run,
        &b[2],
        &[],
        (0, 0, S_IFDIR | 0o1777, (0, 0)),
        "fchmodat 1777",
    );
    // Writing to a setuid file makes the kernel drop the bit for a normal
    // user; the recorded mode still shows.
    let outside = f.metadata().unwrap().mode() & 0o7777;
    eprintln!(
        "after the write, the kernel's mode of f is {outside:04o} (the recorded one is 4755)"
    );
    assert_block(
        &run,
        &b[3],
        &[],
        (0, 0, S_IFREG | 0o4755, (0, 0)),
        "chmod 4755 then a write",
    );
    assert!(
        run.stdout.contains("\n4755\n2711\n1777\n"),
        "stat -c %a\n{}",
        run.describe()
    );
    // A later chmod replaces the record.
    assert_block(
        &run,
        &b[4],
        &[],
        (0, 0, S_IFREG | 0o640, (0, 0)),
        "chmod 0640",
    );
    // Performed: the permission bits are on the file outside.
    assert_eq!(f.metadata().unwrap().mode() & 0o777, 0o755);
    assert_eq!(g.metadata().unwrap().mode() & 0o777, 0o640);
    assert_eq!(d.metadata().unwrap().mode() & 0o777, 0o777);
    // Reported with the type bits.
    assert_eq!(
        mode_of(&run, &f),
        Some(S_IFREG | 0o4755),
        "{}",
        run.describe()
    );
    assert_eq!(
        mode_of(&run, &g),
        Some(S_IFREG | 0o640),
        "{}",
        run.describe()
    );
    assert_eq!(
        mode_of(&run, &d),
        Some(S_IFDIR | 0o1777),
        "{}",
        run.describe()
    );
    // The test user still owns them outside.
    let (uid, _) = me();
    assert_eq!(f.metadata().unwrap().uid(), uid);
}

// ---------------------------------------------------------------------------
// mknod

#[test]
fn mknod_devices_are_empty_files_that_stat_as_devices() {
    let dirs = Dirs::new("fr-mknod");
    let a = allowed(&dirs);
    let (null, sda, fifo, tty) = (a.join("null"), a.join("sda"), a.join("fifo"), a.join("tty"));
    let run = fake_sh(
        &dirs,
        &[],
        &format!(
            "{fc} mknod {null} c 1 3 \\; mknodat {sda} b 8 1 \\; mknod {fifo} p 0 0 \\; \
             stat {null} \\; stat {sda} \\; stat {fifo} && mknod {tty} c 5 0 && \
             stat -c '%F %t %T' {null} {sda} {tty} && stat -c %F {fifo} && ls -l {null} {sda}",
            fc = fc(),
            null = s(&null),
            sda = s(&sda),
            fifo = s(&fifo),
            tty = s(&tty)
        ),
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    let perm = |p: &Path| p.symlink_metadata().unwrap().mode() & 0o7777;
    let b = stat_blocks(&run.stdout);
    assert_eq!(b.len(), 3, "{}", run.describe());
    assert_block(
        &run,
        &b[0],
        &[],
        (0, 0, S_IFCHR | perm(&null), (1, 3)),
        "mknod c 1 3",
    );
    assert_block(
        &run,
        &b[1],
        &[],
        (0, 0, S_IFBLK | perm(&sda), (8, 1)),
        "mknodat b 8 1",
    );
    assert_block(
        &run,
        &b[2],
        &[],
        (0, 0, libc::S_IFIFO | perm(&fifo), (0, 0)),
        "mknod fifo",
    );
    for want in [
        "character special file 1 3",
        "block special file 8 1",
        "character special file 5 0",
        "fifo",
    ] {
        assert!(
            run.stdout.lines().any(|l| l == want),
            "missing {want:?}\n{}",
            run.describe()
        );
    }
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("crw") && l.contains(" root root ") && l.contains("1, 3")),
        "ls -l of the device\n{}",
        run.describe()
    );
    // Outside: empty regular files, and a real FIFO.
    for p in [&null, &sda, &tty] {
        let md = p.symlink_metadata().unwrap();
        assert!(
            md.file_type().is_file(),
            "{} is not a regular file",
            p.display()
        );
        assert_eq!(md.len(), 0, "{} is not empty", p.display());
        assert_eq!(md.uid(), me().0);
    }
    assert!(fifo.symlink_metadata().unwrap().file_type().is_fifo());
    assert_eq!(
        mode_of(&run, &null),
        Some(S_IFCHR | perm(&null)),
        "{}",
        run.describe()
    );
    assert_eq!(
        mode_of(&run, &sda),
        Some(S_IFBLK | perm(&sda)),
        "{}",
        run.describe()
    );
    assert_eq!(mode_of(&run, &fifo), None, "a FIFO needs no record");
}

// ---------------------------------------------------------------------------
// records follow the inode

#[test]
fn record_follows_rename() {
    let dirs = Dirs::new("fr-rename");
    let a = allowed(&dirs);
    let (x, y) = (a.join("x"), a.join("y"));
    touch(&x);
    let run = fake_sh(
        &dirs,
        &[],
        &format!(
            "{fc} chown {x} 11 12 \\; chmod {x} 4700 && mv {x} {y} && {fc} stat {y}",
            fc = fc(),
            x = s(&x),
            y = s(&y)
        ),
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    let b = stat_blocks(&run.stdout);
    assert_block(
        &run,
        &b[0],
        &[],
        (11, 12, S_IFREG | 0o4700, (0, 0)),
        "renamed file",
    );
    assert_eq!(ownership(&run, &y), Some((11, 12)), "{}", run.describe());
    assert_eq!(
        mode_of(&run, &y),
        Some(S_IFREG | 0o4700),
        "{}",
        run.describe()
    );
    assert_eq!(ownership(&run, &x), None, "{}", run.describe());
}

#[test]
fn rename_over_a_recorded_file_forgets_the_replaced_one() {
    let dirs = Dirs::new("fr-rename-over");
    let a = allowed(&dirs);
    let state = dirs.root.join("state.json");
    let (x, y) = (a.join("x"), a.join("y"));
    touch(&x);
    touch(&y);
    let run = fake_sh(
        &dirs,
        &["--fakeroot-state".into(), s(&state)],
        &format!(
            "{fc} chown {y} 5 5 \\; chown {x} 6 6 && mv {x} {y} && {fc} stat {y}",
            fc = fc(),
            x = s(&x),
            y = s(&y)
        ),
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    let b = stat_blocks(&run.stdout);
    let perm = y.metadata().unwrap().mode() & 0o7777;
    assert_block(
        &run,
        &b[0],
        &[],
        (6, 6, S_IFREG | perm, (0, 0)),
        "y after mv x y",
    );
    let recs = state_records(&state);
    assert_eq!(recs.len(), 1, "the replaced file's record stayed: {recs:?}");
    assert_eq!(recs[0]["uid"], 6);
}

#[test]
fn record_survives_unlink_of_one_of_two_links() {
    let dirs = Dirs::new("fr-link");
    let a = allowed(&dirs);
    let state = dirs.root.join("state.json");
    let (x, y) = (a.join("x"), a.join("y"));
    touch(&x);
    let ino = x.metadata().unwrap().ino();
    let run = fake_sh(
        &dirs,
        &["--fakeroot-state".into(), s(&state)],
        &format!(
            "{fc} chown {x} 11 12 && ln {x} {y} && {fc} stat {y} && rm {x} && {fc} stat {y}",
            fc = fc(),
            x = s(&x),
            y = s(&y)
        ),
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    let perm = y.metadata().unwrap().mode() & 0o7777;
    let b = stat_blocks(&run.stdout);
    assert_eq!(b.len(), 2, "{}", run.describe());
    assert_block(
        &run,
        &b[0],
        &[],
        (11, 12, S_IFREG | perm, (0, 0)),
        "the hard link",
    );
    assert_block(
        &run,
        &b[1],
        &[],
        (11, 12, S_IFREG | perm, (0, 0)),
        "the link left after rm of the first name",
    );
    // Kept in the state...
    let recs = state_records(&state);
    assert!(
        recs.iter().any(|r| r["ino"] == ino && r["uid"] == 11),
        "record lost from the state: {recs:?}"
    );
    // ... and shown in a later run.
    let run2 = fake_sh(
        &dirs,
        &["--fakeroot-state".into(), s(&state)],
        &format!("stat -c %u:%g {}", s(&y)),
    );
    assert_eq!(run2.stdout, "11:12\n", "{}", run2.describe());
    // The report names the file by the name it still has.
    assert_eq!(
        ownership(&run, &y),
        Some((11, 12)),
        "ENGINE BUG: after `ln x y; rm x` the record is kept (stat y shows 11:12) but the \
         report's ownerships does not list y (its record still names the removed x)\n{}",
        run.describe()
    );
}

#[test]
fn record_follows_a_renamed_parent_directory() {
    let dirs = Dirs::new("fr-dirmv");
    let a = allowed(&dirs);
    let (d, e) = (a.join("d"), a.join("e"));
    std::fs::create_dir(&d).unwrap();
    touch(&d.join("x"));
    let run = fake_sh(
        &dirs,
        &[],
        &format!(
            "{fc} chown {dx} 5 6 && mv {d} {e} && {fc} stat {ex}",
            fc = fc(),
            dx = s(&d.join("x")),
            d = s(&d),
            e = s(&e),
            ex = s(&e.join("x"))
        ),
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    let perm = e.join("x").metadata().unwrap().mode() & 0o7777;
    let b = stat_blocks(&run.stdout);
    assert_block(&run, &b[0], &[], (5, 6, S_IFREG | perm, (0, 0)), "e/x");
    assert_eq!(
        ownership(&run, &e.join("x")),
        Some((5, 6)),
        "ENGINE BUG: after `mv d e` the record of d/x is kept (stat e/x shows 5:6) but the \
         report's ownerships does not list e/x (its record still names d/x)\n{}",
        run.describe()
    );
}

#[test]
fn unlink_of_the_last_link_forgets_the_record() {
    let dirs = Dirs::new("fr-unlink");
    let a = allowed(&dirs);
    let state = dirs.root.join("state.json");
    let x = a.join("x");
    // Within one run: the new files may reuse x's inode; none inherits.
    let script = format!(
        "touch {x} && {fc} chown {x} 11 12 \\; chmod {x} 4755 \\; stat {x} && rm {x} && \
         for i in 1 2 3 4 5 6 7 8; do touch {a}/n$i; done && \
         for i in 1 2 3 4 5 6 7 8; do {fc} stat {a}/n$i; done",
        fc = fc(),
        x = s(&x),
        a = s(&a)
    );
    let run = fake_sh(&dirs, &["--fakeroot-state".into(), s(&state)], &script);
    assert_eq!(run.status, 0, "{}", run.describe());
    let b = stat_blocks(&run.stdout);
    assert_eq!(b.len(), 9, "{}", run.describe());
    let old_ino = b[0]["stat"].as_ref().unwrap().ino;
    assert_eq!(b[0]["stat"].as_ref().unwrap().uid, 11);
    let mut reused = false;
    for (i, blk) in b[1..].iter().enumerate() {
        let n = a.join(format!("n{}", i + 1));
        let perm = n.metadata().unwrap().mode() & 0o7777;
        reused |= blk["stat"].as_ref().unwrap().ino == old_ino;
        assert_block(&run, blk, &[], (0, 0, S_IFREG | perm, (0, 0)), &s(&n));
    }
    eprintln!("inode of the removed file reused by a new one in the same run: {reused}");
    assert_eq!(state_records(&state), Vec::<serde_json::Value>::new());
    assert!(
        run.report["ownerships"].is_null() || run.report["ownerships"] == serde_json::json!({})
    );

    // Across runs: recorded in one, removed in the next, then a new file.
    let y = a.join("y");
    let run = fake_sh(
        &dirs,
        &["--fakeroot-state".into(), s(&state)],
        &format!("touch {y} && {fc} chown {y} 21 22", fc = fc(), y = s(&y)),
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    let y_ino = y.metadata().unwrap().ino();
    assert_eq!(state_records(&state).len(), 1);
    let run = fake_sh(
        &dirs,
        &["--fakeroot-state".into(), s(&state)],
        &format!(
            "rm {y} && for i in 1 2 3 4 5 6 7 8; do touch {a}/m$i; done && stat -c '%i %u:%g' {a}/m*",
            y = s(&y),
            a = s(&a)
        ),
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    for line in run.stdout.lines() {
        let (ino, owner) = line.split_once(' ').unwrap();
        if ino == y_ino.to_string() {
            eprintln!("inode {ino} of the removed y reused in the next run");
        }
        assert_eq!(
            owner,
            "0:0",
            "a new file inherited a record: {line}\n{}",
            run.describe()
        );
    }
    assert_eq!(state_records(&state), Vec::<serde_json::Value>::new());
}

// ---------------------------------------------------------------------------
// state file

#[test]
fn state_round_trips_across_runs() {
    let dirs = Dirs::new("fr-state");
    let a = allowed(&dirs);
    let state = dirs.root.join("state.json");
    let (f, dev) = (a.join("f"), a.join("dev"));
    touch(&f);
    let opt = ["--fakeroot-state".to_string(), s(&state)];
    let run = sb(
        &dirs,
        &opt,
        &ops(&format!(
            "{} chown {f} 21 22 ; chmod {f} 4711 ; mknod {dev} c 4 5",
            fc(),
            f = s(&f),
            dev = s(&dev)
        )),
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    let recs = state_records(&state);
    assert_eq!(recs.len(), 2, "{recs:?}");

    // The second run sees the first one's records (--fakeroot-state alone
    // implies --fakeroot).
    let run = sb(
        &dirs,
        &opt,
        &ops(&format!(
            "{} stat {f} ; stat {dev} ; ids",
            fc(),
            f = s(&f),
            dev = s(&dev)
        )),
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    assert!(run.stdout.contains("getuid=0\n"), "{}", run.describe());
    let b = stat_blocks(&run.stdout);
    assert_eq!(b.len(), 2, "{}", run.describe());
    let dperm = dev.metadata().unwrap().mode() & 0o7777;
    assert_block(
        &run,
        &b[0],
        &[],
        (21, 22, S_IFREG | 0o4711, (0, 0)),
        "f in run 2",
    );
    assert_block(
        &run,
        &b[1],
        &[],
        (0, 0, S_IFCHR | dperm, (4, 5)),
        "dev in run 2",
    );
    assert_eq!(ownership(&run, &f), Some((21, 22)), "{}", run.describe());
    assert_eq!(
        mode_of(&run, &f),
        Some(S_IFREG | 0o4711),
        "{}",
        run.describe()
    );
    assert_eq!(
        mode_of(&run, &dev),
        Some(S_IFCHR | dperm),
        "{}",
        run.describe()
    );
    // Saving again kept them.
    assert_eq!(state_records(&state).len(), 2);

    // A run without the state file does not see them.
    let run = fake(&dirs, &ops(&format!("stat {} ; stat {}", s(&f), s(&dev))));
    let b = stat_blocks(&run.stdout);
    assert_eq!(b[0]["stat"].as_ref().unwrap().uid, 0, "{}", run.describe());
    assert_eq!(
        b[1]["stat"].as_ref().unwrap().mode & S_IFMT,
        S_IFREG,
        "{}",
        run.describe()
    );
}

/// Runs with a bad state file: exit 125, one clear line naming the file,
/// the command not started, the file untouched.
fn assert_state_refused(dirs: &Dirs, state: &Path, want_in_message: &str) {
    let before = std::fs::symlink_metadata(state).unwrap();
    let bytes = {
        // read with the permission restored, if it was taken away
        let mode = before.mode();
        if mode & 0o400 == 0 && me().0 != 0 {
            None
        } else {
            Some(std::fs::read(state).unwrap())
        }
    };
    let ran = dirs.allowed.join("ran");
    let run = catbox_raw(
        &[
            "-w".to_string(),
            s(&dirs.allowed),
            "--fakeroot-state".into(),
            s(state),
            "--".into(),
            "touch".into(),
            s(&ran),
        ],
        None,
    );
    assert_eq!(run.status, 125, "{}", run.describe());
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "not one line: {:?}", run.stderr);
    assert!(lines[0].starts_with("catbox: "), "{:?}", run.stderr);
    assert!(
        lines[0].contains(&s(state)),
        "the message does not name the file: {:?}",
        run.stderr
    );
    assert!(
        lines[0].contains(want_in_message),
        "expected {want_in_message:?} in {:?}",
        run.stderr
    );
    assert!(!ran.exists(), "the command ran despite the bad state file");
    let after = std::fs::symlink_metadata(state).unwrap();
    assert_eq!(
        (
            after.mode(),
            after.len(),
            after.mtime(),
            after.mtime_nsec(),
            after.ino()
        ),
        (
            before.mode(),
            before.len(),
            before.mtime(),
            before.mtime_nsec(),
            before.ino()
        ),
        "the state file was touched"
    );
    if let Some(b) = bytes {
        assert_eq!(std::fs::read(state).unwrap(), b, "the state file changed");
    }
}

#[test]
fn corrupt_state_file_is_an_error() {
    let dirs = Dirs::new("fr-corrupt");
    let state = dirs.root.join("state.json");
    for (text, want) in [
        ("this is not JSON\n", "not a catbox fakeroot state file"),
        ("", "not a catbox fakeroot state file"),
        ("[1, 2, 3]\n", "not a catbox fakeroot state file"),
        (
            "{\"format\": \"fakeroot-0\", \"records\": []}\n",
            "unknown format",
        ),
        (
            "{\"format\": \"catbox-fakeroot-1\", \"records\": [{\"dev\": \"x\"}]}\n",
            "not a catbox fakeroot state file",
        ),
    ] {
        std::fs::write(&state, text).unwrap();
        assert_state_refused(&dirs, &state, want);
    }
    // A state file that does not exist yet is the first run: fine, created.
    std::fs::remove_file(&state).unwrap();
    let run = sb(
        &dirs,
        &["--fakeroot-state".into(), s(&state)],
        &["true".to_string()],
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    assert_eq!(state_records(&state), Vec::<serde_json::Value>::new());
}

#[test]
fn unreadable_state_file_is_an_error() {
    if me().0 == 0 {
        eprintln!("SKIP: unreadable_state_file_is_an_error: running as root, which reads a chmod 000 file anyway");
        return;
    }
    let dirs = Dirs::new("fr-unreadable");
    let state = dirs.root.join("state.json");
    std::fs::write(
        &state,
        "{\"format\": \"catbox-fakeroot-1\", \"records\": []}\n",
    )
    .unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o000)).unwrap();
    assert_state_refused(&dirs, &state, "cannot read");
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(state_records(&state), Vec::<serde_json::Value>::new());
}

// ---------------------------------------------------------------------------
// manifest

#[test]
fn manifest_requires_manifest_root() {
    let dirs = Dirs::new("fr-manifest-args");
    let m = dirs.root.join("M");
    for args in [
        vec!["--manifest".to_string(), s(&m), "--".into(), "true".into()],
        vec![
            "--manifest-root".to_string(),
            s(&dirs.allowed),
            "--".into(),
            "true".into(),
        ],
    ] {
        let run = catbox_raw(&args, None);
        assert_eq!(run.status, 125, "{args:?}: {}", run.describe());
        let lines: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(lines.len(), 1, "{args:?}: not one line: {:?}", run.stderr);
        assert!(!m.exists());
        let other = if args[0] == "--manifest" {
            "--manifest-root"
        } else {
            "--manifest"
        };
        assert!(
            lines[0].contains(other),
            "CLI BUG: {args:?}: the one-line message does not say that {other} is missing: {:?}",
            run.stderr
        );
    }
}

/// mtree lines: name → {key: value}.
fn parse_mtree(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut words = line.split(' ');
        let name = words.next().unwrap().to_string();
        let kv = words
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        out.insert(name, kv);
    }
    out
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn manifest_lists_faked_metadata_and_bsdtar_accepts_it() {
    let dirs = Dirs::new("fr-manifest");
    let a = allowed(&dirs);
    let d = a.join("D");
    let m = dirs.root.join("pkg.mtree");
    std::fs::create_dir_all(d.join("usr/bin")).unwrap();
    std::fs::write(d.join("usr/bin/tool"), b"#!/bin/sh\n").unwrap();
    std::fs::write(d.join("usr/bin/a b#c"), b"odd name\n").unwrap();
    let script = format!(
        "cd {d} && chown -R 0:0 . && chown 2:3 'usr/bin/a b#c' && chmod 4755 usr/bin/tool && \
         mkdir -p dev && mknod dev/null c 1 3 && mknod dev/sda b 8 0 && mkfifo dev/fifo && \
         ln -s ../usr/bin/tool dev/link && chmod 1777 dev",
        d = s(&d)
    );
    let run = fake_sh(
        &dirs,
        &["--manifest".into(), s(&m), "--manifest-root".into(), s(&d)],
        &script,
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_no_violations();
    let text = std::fs::read_to_string(&m).expect("manifest written");
    assert!(text.starts_with("#mtree"), "{text}");
    let mt = parse_mtree(&text);
    let get = |name: &str| {
        mt.get(name)
            .unwrap_or_else(|| panic!("{name} not in the manifest:\n{text}"))
    };
    let check = |name: &str, kv: &[(&str, &str)]| {
        let e = get(name);
        for (k, v) in kv {
            assert_eq!(
                e.get(*k).map(String::as_str),
                Some(*v),
                "{name}: {k} in the manifest:\n{text}"
            );
        }
    };
    check(".", &[("type", "dir"), ("uid", "0"), ("gid", "0")]);
    check(
        "./usr/bin/tool",
        &[
            ("type", "file"),
            ("uid", "0"),
            ("gid", "0"),
            ("mode", "4755"),
        ],
    );
    check(
        "./usr/bin/a\\040b\\043c",
        &[("type", "file"), ("uid", "2"), ("gid", "3")],
    );
    check(
        "./dev/null",
        &[("type", "char"), ("uid", "0"), ("device", "native,1,3")],
    );
    check("./dev/sda", &[("type", "block"), ("device", "native,8,0")]);
    check("./dev/fifo", &[("type", "fifo")]);
    check(
        "./dev/link",
        &[("type", "link"), ("link", "../usr/bin/tool")],
    );
    check("./dev", &[("type", "dir"), ("mode", "1777")]);

    if !have("bsdtar") {
        eprintln!("SKIP: bsdtar is not installed (apt-get install libarchive-tools): archive check skipped");
        return;
    }
    let tar = dirs.root.join("pkg.tar");
    let out = Command::new("bsdtar")
        .arg("-cf")
        .arg(&tar)
        .arg(format!("@{}", s(&m)))
        .current_dir(&dirs.root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bsdtar -cf @manifest: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("bsdtar")
        .arg("-tvf")
        .arg(&tar)
        .arg("--numeric-owner")
        .output()
        .unwrap();
    assert!(out.status.success());
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = |suffix: &str| {
        listing
            .lines()
            .find(|l| l.ends_with(&format!(" {suffix}")))
            .unwrap_or_else(|| panic!("{suffix} not in the archive:\n{listing}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    // bsdtar -tv: MODE LINKS OWNER GROUP SIZE-or-DEV ...
    let tool = line("./usr/bin/tool");
    assert_eq!(
        (tool[0], tool[2], tool[3]),
        ("-rwsr-xr-x", "0", "0"),
        "{listing}"
    );
    let odd = line("./usr/bin/a b#c");
    assert_eq!((odd[2], odd[3]), ("2", "3"), "{listing}");
    let null = line("./dev/null");
    assert!(null[0].starts_with('c'), "{listing}");
    assert_eq!(null[4], "1,3", "{listing}");
    let sda = line("./dev/sda");
    assert!(sda[0].starts_with('b'), "{listing}");
    assert!(line("./dev/fifo")[0].starts_with('p'), "{listing}");
    assert!(
        line("./dev/link -> ../usr/bin/tool")[0].starts_with('l'),
        "{listing}"
    );
    assert_eq!(line("./dev/")[0], "drwxrwxrwt", "{listing}");
    // The archive's tool has the tree's contents.
    let out = Command::new("bsdtar")
        .arg("-xOf")
        .arg(&tar)
        .arg("./usr/bin/tool")
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"#!/bin/sh\n");
    // And the tree outside still belongs to the test user, as a plain file.
    let md = d.join("dev/null").symlink_metadata().unwrap();
    assert!(md.file_type().is_file());
    assert_eq!(md.uid(), me().0);
    assert_eq!(d.join("usr/bin/tool").metadata().unwrap().uid(), me().0);
}

#[test]
fn cp_a_of_a_faked_device_keeps_its_permission_bits() {
    // `cp -a` makes the copy with mknodat(0600), fchownat, then sets the
    // permission bits with setxattr("system.posix_acl_access"), not chmod.
    // Debian's fakeroot shows the copy as crw-r-----, like the source.
    let dirs = Dirs::new("fr-cp-a");
    let a = allowed(&dirs);
    let run = fake_sh(
        &dirs,
        &[],
        &format!(
            "cd {} && mknod n c 1 3 && chmod 640 n && cp -a n n2 && stat -c '%n %A %t,%T %u:%g' n n2",
            s(&a)
        ),
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    assert_eq!(
        run.stdout,
        "n crw-r----- 1,3 0:0\nn2 crw-r----- 1,3 0:0\n",
        "ENGINE BUG: the copy of a faked device keeps the 0600 recorded at its mknodat: the \
         mode set afterwards through setxattr(system.posix_acl_access) is hidden by the record\n{}",
        run.describe()
    );
}

#[test]
fn mknod_keeps_the_callers_argument_registers() {
    // The kernel preserves rdi, rsi, rdx, r10, r8, r9 across `syscall`; code
    // with an inline syscall may rely on it. Faking a device node must not
    // leave the rewritten mode and device in the tracee's registers.
    let dirs = Dirs::new("fr-regs");
    let n = allowed(&dirs).join("n");
    let prog = c_program("fakeroot_mknod_regs").display().to_string();
    let run = sb(&dirs, &["--fakeroot".into()], &[prog, s(&n)]);
    assert!(n.exists(), "{}", run.describe());
    assert_eq!(
        run.status,
        0,
        "ENGINE BUG: after a faked mknod the tracee's rsi/rdx hold S_IFREG|mode and 0 instead of \
         the mode and device it passed (set at entry, never restored at exit)\n{}",
        run.describe()
    );
}

/// With the root view, the report's owners and modes name the build's view:
/// a file made and chowned in a captured directory (it lives in the image)
/// and one in a writable directory (on the host) are both listed.
#[test]
fn fakeroot_with_image_reports_owners_of_files_in_the_view() {
    let dirs = Dirs::new("fr-image");
    let name = format!("catbox-fr-image-{}", std::process::id());
    let image = dirs.root.join("image");
    let script = format!(
        "mkdir -p /usr/local/{name} && echo hi > /usr/local/{name}/f && \
         chown 7:8 /usr/local/{name}/f && chmod 4755 /usr/local/{name}/f && \
         echo w > {a}/w && chown 9:9 {a}/w",
        a = s(&allowed(&dirs))
    );
    let run = fake_sh(&dirs, &["--image".into(), s(&image)], &script);
    assert_eq!(run.status, 0, "{}", run.describe());
    let in_view = format!("/usr/local/{name}/f");
    assert_eq!(
        run.report["ownerships"][&in_view],
        serde_json::json!([7, 8]),
        "{}",
        run.describe()
    );
    assert_eq!(
        run.report["modes"][&in_view],
        serde_json::json!(libc::S_IFREG | 0o4755),
        "{}",
        run.describe()
    );
    let direct = s(&allowed(&dirs).join("w"));
    assert_eq!(
        run.report["ownerships"][&direct],
        serde_json::json!([9, 9]),
        "{}",
        run.describe()
    );
    assert!(image.join("usr/local").join(&name).join("f").exists());
    assert!(!Path::new("/usr/local").join(&name).exists());
}
