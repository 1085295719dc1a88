//! Micro benchmarks of the supervisor's per-stop work, with criterion.
//!
//! ```text
//! cargo bench --bench micro            # all of them, well under 2 minutes
//! cargo bench --bench micro -- resolve # a subset, by name
//! ```
//!
//! * `decode/*`: the table lookup of a call number, and the strace-like
//!   printing of a decoded call (what `--trace` and a violation record cost);
//! * `resolve/*`: [`Resolver::resolve`] of paths in this process's own
//!   context (its pid stands for the tracee's): absolute, relative, missing
//!   last component, through a symlink, and an fd;
//! * `rule/*`: [`Rule::allows`] for subtree and regex rules, matching and
//!   not.
//!
//! Each benchmark measures for a short time (see [`quick`]) so that the whole
//! run stays short on a shared machine; pass criterion's own options after
//! `--` to change that (`-- --measurement-time 5`).

use std::hint::black_box;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Duration;

use catbox_core::decode::{format_sockaddr, lookup, open_flags, Exist, Operand};
use catbox_core::paths::{Request, Resolver, Target};
use catbox_core::policy::Rule;
use catbox_core::Call;
use criterion::{criterion_group, criterion_main, Criterion};

const AT_FDCWD: i32 = libc::AT_FDCWD;

fn decode(c: &mut Criterion) {
    let openat = libc::SYS_openat as u64;
    c.bench_function("decode/lookup openat", |b| {
        b.iter(|| lookup(black_box(openat)))
    });
    c.bench_function("decode/lookup unstopped (getpid)", |b| {
        b.iter(|| lookup(black_box(libc::SYS_getpid as u64)))
    });

    let desc = lookup(openat).expect("openat is in the table");
    let operands = [Operand {
        raw: b"build/obj/deflate.o".to_vec(),
        canonical: b"/tmp/zlib-1.2.13/build/obj/deflate.o".to_vec(),
        target: Some(Target::Missing),
        exist: Exist::Any,
        write: true,
        path_arg: Some(1),
        error: None,
    }];
    let flags = (libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC) as u64;
    let call = Call {
        pid: 4242,
        desc,
        args: [AT_FDCWD as u64, 0x7ffd_0000_1000, flags, 0o666, 0, 0],
        operands: &operands,
        detail: None,
        family: None,
    };
    let mut buf = String::with_capacity(256);
    c.bench_function("decode/display openat", |b| {
        b.iter(|| {
            use std::fmt::Write;
            buf.clear();
            write!(buf, "{}", black_box(&call)).unwrap();
            buf.len()
        })
    });
    c.bench_function("decode/open_flags", |b| {
        b.iter(|| open_flags(black_box(flags)))
    });

    let mut inet = vec![0u8; 16];
    inet[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
    inet[2..4].copy_from_slice(&80u16.to_be_bytes());
    inet[4..8].copy_from_slice(&[93, 184, 216, 34]);
    c.bench_function("decode/format_sockaddr inet", |b| {
        b.iter(|| format_sockaddr(black_box(&inet)))
    });
    let mut unix = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
    unix.extend_from_slice(b"/run/dbus/system_bus_socket\0");
    c.bench_function("decode/format_sockaddr unix", |b| {
        b.iter(|| format_sockaddr(black_box(&unix)))
    });
}

/// A scratch tree: `DIR/a/b/c/file`, `DIR/link -> a/b`.
struct Tree {
    dir: PathBuf,
}

impl Tree {
    fn new() -> Tree {
        let dir = std::env::temp_dir().join(format!("catbox-micro-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the scratch tree");
        let dir = dir.canonicalize().expect("canonicalize the scratch tree");
        std::fs::create_dir_all(dir.join("a/b/c")).expect("create the scratch tree");
        std::fs::write(dir.join("a/b/c/file"), b"x").expect("write a file");
        let _ = std::os::unix::fs::symlink("a/b", dir.join("link"));
        Tree { dir }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn resolve(c: &mut Criterion) {
    let tree = Tree::new();
    // Relative paths resolve against the tracee's cwd: this process's own.
    std::env::set_current_dir(&tree.dir).expect("chdir into the scratch tree");
    let tid = std::process::id() as i32;
    let mut resolver = Resolver::new().expect("a resolver");
    let mut out = Vec::with_capacity(4096);

    let abs_file = tree.dir.join("a/b/c/file");
    let abs_missing = tree.dir.join("a/b/c/new.o");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "absolute existing",
            abs_file.as_os_str().as_bytes().to_vec(),
        ),
        (
            "absolute missing",
            abs_missing.as_os_str().as_bytes().to_vec(),
        ),
        ("relative existing", b"a/b/c/file".to_vec()),
        ("relative missing", b"a/b/c/new.o".to_vec()),
        ("through a symlink", b"link/c/file".to_vec()),
        ("dot-dot", b"a/b/../b/c/./file".to_vec()),
    ];
    for (name, path) in &cases {
        let req = Request {
            tid,
            dirfd: AT_FDCWD,
            path: Some(path),
            follow: true,
            in_root: false,
        };
        // Check once that it resolves where it should, so that a broken
        // case is not timed as a fast error.
        let t = resolver
            .resolve(&req, &mut out)
            .unwrap_or_else(|e| panic!("resolve {name}: errno {e}"));
        assert!(out.starts_with(tree.dir.as_os_str().as_bytes()), "{name}");
        assert_eq!(t.exists(), !name.contains("missing"), "{name}");
        c.bench_function(&format!("resolve/{name}"), |b| {
            b.iter(|| resolver.resolve(black_box(&req), &mut out))
        });
    }

    let file = std::fs::File::open(&abs_file).expect("open the scratch file");
    let req = Request {
        tid,
        dirfd: file.as_raw_fd(),
        path: None,
        follow: true,
        in_root: false,
    };
    resolver.resolve(&req, &mut out).expect("resolve an fd");
    assert_eq!(out, abs_file.as_os_str().as_bytes());
    c.bench_function("resolve/an fd", |b| {
        b.iter(|| resolver.resolve(black_box(&req), &mut out))
    });
    let _ = std::env::set_current_dir("/");
    drop(tree);
}

fn rules(c: &mut Criterion) {
    let subtree = Rule::subtree("/tmp/catbox-micro-build/zlib-1.2.13").expect("a subtree rule");
    let regex = Rule::regex(r"^/tmp/catbox-micro-build/[^/]+/.*\.(o|a|so)$").expect("a regex");
    let inside = b"/tmp/catbox-micro-build/zlib-1.2.13/obj/deflate.o".as_slice();
    let outside = b"/usr/lib/x86_64-linux-gnu/libz.so.1.2.13".as_slice();
    let near = b"/tmp/catbox-micro-build/zlib-1.2.13x/deflate.o".as_slice();
    assert!(subtree.allows(inside) && !subtree.allows(outside) && !subtree.allows(near));
    assert!(regex.allows(inside) && !regex.allows(outside));
    c.bench_function("rule/subtree match", |b| {
        b.iter(|| subtree.allows(black_box(inside)))
    });
    c.bench_function("rule/subtree miss", |b| {
        b.iter(|| subtree.allows(black_box(outside)))
    });
    c.bench_function("rule/subtree sibling prefix", |b| {
        b.iter(|| subtree.allows(black_box(near)))
    });
    c.bench_function("rule/regex match", |b| {
        b.iter(|| regex.allows(black_box(inside)))
    });
    c.bench_function("rule/regex miss", |b| {
        b.iter(|| regex.allows(black_box(outside)))
    });
    // A typical policy: a few subtrees, then a regex, first match wins.
    let policy = [
        Rule::subtree("/tmp").expect("rule"),
        Rule::subtree("/dev/null").expect("rule"),
        Rule::subtree("/var/tmp/catbox-micro").expect("rule"),
        Rule::regex(r"^/home/[^/]+/\.cache/").expect("rule"),
    ];
    c.bench_function("rule/4-rule policy miss", |b| {
        b.iter(|| policy.iter().any(|r| r.allows(black_box(outside))))
    });
}

/// Short warm-up and measurement: these are nanosecond-scale loops, and the
/// whole bench must stay well under two minutes.
fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(30)
        .configure_from_args()
}

criterion_group! {
    name = micro;
    config = quick();
    targets = decode, resolve, rules
}
criterion_main!(micro);
