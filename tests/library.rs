//! The Rust API of catbox-core: builder, closures, callbacks, events, custom
//! policies. The tracer waits for any child of this process, so every test
//! here holds one lock and spawns nothing else while a sandbox runs.

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use catbox_core::{Call, Command, Error, Event, Network, Policy, Sandbox, Verdict};

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

struct Dirs {
    root: PathBuf,
    allowed: PathBuf,
    out: PathBuf,
}

impl Dirs {
    fn new(tag: &str) -> Dirs {
        let root = std::env::temp_dir().join(format!("catbox-lib-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let allowed = root.join("allowed");
        let out = root.join("out");
        std::fs::create_dir_all(&allowed).unwrap();
        std::fs::create_dir_all(&out).unwrap();
        Dirs { root, allowed, out }
    }
}

impl Drop for Dirs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[test]
fn command_write_denied_outside_allowed_inside() {
    let _g = lock();
    let d = Dirs::new("cmd");
    let mut sb = Sandbox::new();
    sb.allow_write(&d.allowed).unwrap();
    let script = format!(
        "echo a > '{}/in'; echo b > '{}/out'; exit 3",
        d.allowed.display(),
        d.out.display()
    );
    let report = sb
        .run(&Command::from_argv(["sh", "-c", &script]).unwrap())
        .unwrap();
    assert_eq!(report.exit_code, Some(3));
    assert_eq!(report.signal, None);
    assert!(d.allowed.join("in").exists());
    assert!(!d.out.join("out").exists());
    assert_eq!(report.violations.len(), 1, "{report:?}");
    let v = &report.violations[0];
    assert_eq!(v.operation, "openat");
    assert_eq!(v.canonical, d.out.join("out"));
    assert_eq!(v.errno, Some(libc::EACCES));
    assert!(report.processes >= 1 && report.stops >= 2);
}

#[test]
fn function_runs_in_child_and_callbacks_fire() {
    let _g = lock();
    let d = Dirs::new("fn");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let events = Arc::new(Mutex::new(Vec::new()));
    let mut sb = Sandbox::new();
    sb.allow_write(&d.allowed).unwrap();
    let s2 = seen.clone();
    sb.on_violation(move |v| s2.lock().unwrap().push(v.canonical.clone()));
    let e2 = events.clone();
    sb.on_event(move |e| e2.lock().unwrap().push(e));
    let out = d.out.join("f");
    let inside = d.allowed.join("g");
    let report = sb
        .run_function(|| {
            let a = std::fs::write(&out, b"x").is_err();
            let b = std::fs::write(&inside, b"y").is_ok();
            if a && b {
                7
            } else {
                1
            }
        })
        .unwrap();
    assert_eq!(report.exit_code, Some(7), "{report:?}");
    assert_eq!(*seen.lock().unwrap(), vec![d.out.join("f")]);
    let ev = events.lock().unwrap();
    assert!(
        matches!(ev.first(), Some(Event::ChildInitialized(p)) if *p > 0),
        "{ev:?}"
    );
    assert!(!d.out.join("f").exists());
    assert!(d.allowed.join("g").exists());
}

#[test]
fn collect_only_records_and_lets_through() {
    let _g = lock();
    let d = Dirs::new("collect");
    let mut sb = Sandbox::new();
    sb.collect_only(true);
    let f = d.out.join("c");
    let report = sb
        .run_function(|| i32::from(std::fs::write(&f, b"x").is_err()))
        .unwrap();
    assert_eq!(report.exit_code, Some(0));
    assert!(d.out.join("c").exists());
    assert_eq!(report.violations.len(), 1);
    assert_eq!(report.violations[0].errno, None);
}

/// A custom policy sees decoded calls with resolved paths and decides.
struct DenyNamed {
    name: &'static [u8],
    seen: Arc<Mutex<Vec<String>>>,
}

impl Policy for DenyNamed {
    fn check(&mut self, call: &Call<'_>) -> Verdict {
        self.seen.lock().unwrap().push(call.to_string());
        let hit = call
            .operands
            .iter()
            .any(|o| o.canonical.ends_with(self.name));
        if hit {
            Verdict::Fail(libc::EROFS)
        } else {
            Verdict::Allow
        }
    }
}

#[test]
fn custom_policy_decides_and_sees_strace_like_calls() {
    let _g = lock();
    let d = Dirs::new("policy");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut sb = Sandbox::new();
    sb.policy(DenyNamed {
        name: b"/blocked",
        seen: seen.clone(),
    });
    let ok = d.out.join("fine");
    let blocked = d.out.join("blocked");
    let report = sb
        .run_function(|| {
            let a = std::fs::write(&ok, b"x").is_ok();
            let e = std::fs::write(&blocked, b"x").unwrap_err();
            if a && e.raw_os_error() == Some(libc::EROFS) {
                0
            } else {
                1
            }
        })
        .unwrap();
    assert_eq!(report.exit_code, Some(0), "{:?}", seen.lock().unwrap());
    assert!(report.violations.is_empty());
    let seen = seen.lock().unwrap();
    assert!(
        seen.iter().any(|s| s.starts_with("openat(AT_FDCWD, \"")
            && s.contains("/fine\"")
            && s.contains("O_WRONLY|O_CREAT")),
        "{seen:?}"
    );
}

#[test]
fn network_denied_then_allowed() {
    let _g = lock();
    let mut sb = Sandbox::new();
    let try_socket = || {
        // SAFETY: plain socket/close calls.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
        if fd >= 0 {
            unsafe { libc::close(fd) };
            0
        } else {
            1
        }
    };
    let r = sb.run_function(try_socket).unwrap();
    assert_eq!(r.exit_code, Some(1));
    assert_eq!(r.violations[0].operation, "socket");
    assert_eq!(r.violations[0].canonical.as_os_str().as_bytes(), b"AF_INET");
    sb.network(Network::Allowed);
    let r = sb.run_function(try_socket).unwrap();
    assert_eq!(r.exit_code, Some(0));
    assert!(r.violations.is_empty());
}

#[test]
fn builder_errors_are_typed() {
    let mut sb = Sandbox::new();
    assert!(matches!(
        sb.allow_write("relative/dir"),
        Err(Error::RelativeRule(_))
    ));
    assert!(matches!(
        sb.allow_write_regex("(unclosed"),
        Err(Error::InvalidRegex { .. })
    ));
    assert!(matches!(
        Command::from_argv(Vec::<&str>::new()),
        Err(Error::EmptyCommand)
    ));
    let _g = lock();
    let e = sb.run(&Command::new("catbox-no-such-command")).unwrap_err();
    assert!(matches!(e, Error::CommandNotFound(_)), "{e}");
    let e = sb.run(&Command::new("/etc/passwd")).unwrap_err();
    assert!(matches!(e, Error::NotExecutable { .. }), "{e}");
}

#[test]
fn sandbox_is_reusable_and_killed_child_reports_signal() {
    let _g = lock();
    let mut sb = Sandbox::new();
    let r = sb
        .run(&Command::from_argv(["sh", "-c", "kill -TERM $$"]).unwrap())
        .unwrap();
    assert_eq!(r.exit_code, None);
    assert_eq!(r.signal, Some(libc::SIGTERM));
    assert_eq!(r.shell_status(), 128 + libc::SIGTERM);
    let r = sb.run(&Command::from_argv(["true"]).unwrap()).unwrap();
    assert_eq!(r.exit_code, Some(0));
}

/// Lets every call through: only Landlock stands between the child and the
/// file system then.
struct AllowAll;

impl Policy for AllowAll {
    fn check(&mut self, _call: &Call<'_>) -> Verdict {
        Verdict::Allow
    }
}

#[test]
fn hardened_mode_lets_the_kernel_enforce_the_writable_paths() {
    let _g = lock();
    if catbox_core::landlock_abi().is_none() {
        eprintln!("SKIP: Landlock is not available on this kernel");
        return;
    }
    let d = Dirs::new("hardened");
    let mut sb = Sandbox::new();
    sb.allow_write(&d.allowed).unwrap();
    sb.policy(AllowAll);
    sb.hardened(true);
    let out = d.out.join("escape");
    let inside = d.allowed.join("ok");
    let report = sb
        .run_function(|| {
            let denied = std::fs::write(&out, b"x")
                .err()
                .and_then(|e| e.raw_os_error())
                == Some(libc::EACCES);
            let ok = std::fs::write(&inside, b"y").is_ok();
            let null = std::fs::write("/dev/null", b"z").is_ok();
            i32::from(!(denied && ok && null))
        })
        .unwrap();
    assert_eq!(report.exit_code, Some(0), "{report:?}");
    assert!(!d.out.join("escape").exists());
    assert!(d.allowed.join("ok").exists());
    assert!(report.landlock_abi.unwrap_or(0) >= 1);
    // without hardened mode the same policy lets the write out
    sb.hardened(false);
    let out2 = d.out.join("escape2");
    let r = sb
        .run_function(|| i32::from(std::fs::write(&out2, b"x").is_err()))
        .unwrap();
    assert_eq!(r.exit_code, Some(0));
    assert!(d.out.join("escape2").exists());
}
