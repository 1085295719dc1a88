//! `catbox_config`: the sandbox builder, and the two ways to run it.

use std::ffi::{c_char, c_int, c_void, OsStr};
use std::path::{Path, PathBuf};

use catbox_core::{Command, Event, Network, Sandbox};

use crate::error::{boundary, boundary_value, Failure, Status};
use crate::report::{CViolation, OwnedViolation, Report};
use crate::strings::{arg_mut, arg_os, arg_out, arg_utf8};

/// Network mode: any socket and destination.
pub const CATBOX_NETWORK_ALLOWED: c_int = 0;
/// Network mode (the default): only `AF_UNIX` sockets; every other socket
/// and every connection to an inet address is a violation.
pub const CATBOX_NETWORK_DENIED: c_int = 1;
/// Network mode: no socket at all, `AF_UNIX` included (the original catbox's
/// meaning).
pub const CATBOX_NETWORK_STRICT: c_int = 2;

/// Event: the first child is traced and about to start the user's code.
pub const CATBOX_EVENT_CHILD_INITIALIZED: c_int = 1;
/// Event: an event came from a process that was already gone.
pub const CATBOX_EVENT_CHILD_DIED_UNEXPECTEDLY: c_int = 2;

/// Called for each violation as it happens, on the thread that called
/// `catbox_run_*`. `violation` and its strings are valid only during the
/// call.
pub type ViolationCallback =
    Option<unsafe extern "C" fn(violation: *const CViolation, user_data: *mut c_void)>;

/// Called for each event (`CATBOX_EVENT_*`) with the pid concerned, on the
/// thread that called `catbox_run_*`.
pub type EventCallback =
    Option<unsafe extern "C" fn(event: c_int, pid: c_int, user_data: *mut c_void)>;

/// The function `catbox_run_function` runs in the sandboxed child; its
/// return value is the child's exit code.
pub type ChildFunction = Option<unsafe extern "C" fn(user_data: *mut c_void) -> c_int>;

/// The caller's `user_data`, carried to the callbacks.
struct UserData(*mut c_void);

// SAFETY: the pointer is never dereferenced here, only handed back to the
// caller's callback, and only on the thread that runs the sandbox; the
// header documents that user_data must be usable from that thread.
unsafe impl Send for UserData {}

impl UserData {
    /// The pointer (a method, so that closures capture the whole `Send`
    /// wrapper rather than its non-`Send` field).
    fn get(&self) -> *mut c_void {
        self.0
    }
}

/// A sandbox configuration (opaque): writable paths, network, mode and
/// callbacks. Create with `catbox_config_new`, free with `catbox_config_free`;
/// it can run any number of times.
///
/// Thread safety: not thread-safe. A config may be used from any thread, but
/// from one thread at a time (no call on it may overlap another, including a
/// `catbox_run_*` in progress). Different configs are independent.
pub struct Config {
    sandbox: Sandbox,
    /// The operation log's file (`catbox_config_set_trace_file`), absolute.
    trace: Option<PathBuf>,
    /// Whether `sandbox` holds a log writer no run has used yet. The core
    /// gives its writer to one run; a C config can run many times, so each
    /// later run opens the file again.
    trace_fresh: bool,
}

impl Config {
    /// Run `run` on the sandbox, with the operation log (if any) opened for
    /// it; a report whose log is incomplete is an error, never a report.
    fn run(
        &mut self,
        run: impl FnOnce(&mut Sandbox) -> catbox_core::Result<catbox_core::Report>,
    ) -> Result<Report, Failure> {
        if let Some(path) = &self.trace {
            if !self.trace_fresh {
                self.sandbox.trace_file(path)?;
            }
        }
        self.trace_fresh = false;
        let report = run(&mut self.sandbox)?;
        if let (Some(e), Some(path)) = (&report.log_error, &self.trace) {
            return Err(log_failure(path, e, &report));
        }
        Ok(Report::new(report))
    }
}

/// The error of a run whose operation log could not be written completely.
fn log_failure(path: &Path, error: &str, report: &catbox_core::Report) -> Failure {
    let outcome = match (report.exit_code, report.signal) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        (None, None) => "ended".to_string(),
    };
    Failure::new(
        Status::CatboxErrTraceLog,
        format!(
            "failed to write the operation log {path:?}: {error}; the log is incomplete, so \
             the run gives no report (the sandboxed program {outcome}, with {} violations)",
            report.violations.len()
        ),
    )
}

/// A new configuration: nothing writable, network denied, enforce mode.
/// Returns NULL only on an internal error (see `catbox_last_error`).
#[no_mangle]
pub extern "C" fn catbox_config_new() -> *mut Config {
    boundary_value(std::ptr::null_mut(), || {
        Ok(Box::into_raw(Box::new(Config {
            sandbox: Sandbox::new(),
            trace: None,
            trace_fresh: false,
        })))
    })
}

/// Free a configuration. `NULL` is a no-op.
#[no_mangle]
pub extern "C" fn catbox_config_free(config: *mut Config) {
    boundary(|| {
        if !config.is_null() {
            // SAFETY: a non-NULL config came from Box::into_raw in
            // catbox_config_new and, per the contract, is freed only once.
            drop(unsafe { Box::from_raw(config) });
        }
        Ok(())
    });
}

/// Allow writes below `path`: the path itself and everything below it, at a
/// component boundary (`/a/b` allows `/a/b/c`, not `/a/bc`).
///
/// Errors: `CATBOX_ERR_NULL`, `CATBOX_ERR_RELATIVE_PATH`.
#[no_mangle]
pub extern "C" fn catbox_config_allow_write(config: *mut Config, path: *const c_char) -> c_int {
    boundary(|| {
        // SAFETY: the caller passes NULL or a live config, used by no other
        // thread during the call.
        let c = unsafe { arg_mut(config, "config") }?;
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let path = unsafe { arg_os(path, "path") }?;
        c.sandbox.allow_write(path)?;
        Ok(())
    })
}

/// Allow writes to every canonical path that starts with `prefix` as a
/// plain string (no component boundary: `/a/b` allows `/a/bc`): the
/// original catbox's meaning, for its Python drop-in.
///
/// Errors: `CATBOX_ERR_NULL`, `CATBOX_ERR_RELATIVE_PATH`.
#[no_mangle]
pub extern "C" fn catbox_config_allow_write_prefix(
    config: *mut Config,
    prefix: *const c_char,
) -> c_int {
    boundary(|| {
        // SAFETY: as in catbox_config_allow_write.
        let c = unsafe { arg_mut(config, "config") }?;
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let prefix = unsafe { arg_os(prefix, "prefix") }?;
        c.sandbox.allow_write_prefix(prefix)?;
        Ok(())
    })
}

/// Allow writes to canonical paths matching the regular expression
/// `pattern` (Rust `regex` syntax, unanchored: use `^...$` to anchor).
///
/// Errors: `CATBOX_ERR_NULL`, `CATBOX_ERR_INVALID_ARGUMENT` (not UTF-8),
/// `CATBOX_ERR_INVALID_REGEX`.
#[no_mangle]
pub extern "C" fn catbox_config_allow_write_regex(
    config: *mut Config,
    pattern: *const c_char,
) -> c_int {
    boundary(|| {
        // SAFETY: as in catbox_config_allow_write.
        let c = unsafe { arg_mut(config, "config") }?;
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let pattern = unsafe { arg_utf8(pattern, "pattern") }?;
        c.sandbox.allow_write_regex(pattern)?;
        Ok(())
    })
}

/// Set the network mode: `CATBOX_NETWORK_ALLOWED`, `CATBOX_NETWORK_DENIED`
/// (the default) or `CATBOX_NETWORK_STRICT`.
///
/// Errors: `CATBOX_ERR_NULL`, `CATBOX_ERR_INVALID_ARGUMENT` (another value).
#[no_mangle]
pub extern "C" fn catbox_config_set_network(config: *mut Config, mode: c_int) -> c_int {
    boundary(|| {
        // SAFETY: as in catbox_config_allow_write.
        let c = unsafe { arg_mut(config, "config") }?;
        let network = match mode {
            CATBOX_NETWORK_ALLOWED => Network::Allowed,
            CATBOX_NETWORK_DENIED => Network::Denied,
            CATBOX_NETWORK_STRICT => Network::Strict,
            other => {
                return Err(Failure::new(
                    Status::CatboxErrInvalidArgument,
                    format!(
                    "unknown network mode {other} (use CATBOX_NETWORK_ALLOWED, _DENIED or _STRICT)"
                ),
                ))
            }
        };
        c.sandbox.network(network);
        Ok(())
    })
}

/// Collect-only mode (non-zero): violations are recorded but the calls run.
/// Enforce mode (0, the default): they fail with `EACCES`.
///
/// Errors: `CATBOX_ERR_NULL`.
#[no_mangle]
pub extern "C" fn catbox_config_set_collect_only(config: *mut Config, collect_only: bool) -> c_int {
    boundary(|| {
        // SAFETY: as in catbox_config_allow_write.
        let c = unsafe { arg_mut(config, "config") }?;
        c.sandbox.collect_only(collect_only);
        Ok(())
    })
}

/// Write the operation log (JSON Lines, `docs/trace-format.md`: every file
/// read, written, created, removed, renamed, linked, stat'ed or executed,
/// every process start and exit, every network attempt) to the file `path`
/// during each run of this config. The file is created (truncated if it
/// exists) now, so a path that cannot be written fails here, and again at
/// the start of every later run: each run's log replaces the previous one.
/// A relative `path` is taken against the current working directory now.
/// Replaces an earlier log file.
///
/// If the log cannot be written completely during a run (a full disk), that
/// run returns `CATBOX_ERR_TRACE_LOG` with the reason and no report: a
/// truncated log is never passed off as a complete one.
///
/// Errors: `CATBOX_ERR_NULL`, `CATBOX_ERR_OS` (the file cannot be created).
#[no_mangle]
pub extern "C" fn catbox_config_set_trace_file(config: *mut Config, path: *const c_char) -> c_int {
    boundary(|| {
        // SAFETY: as in catbox_config_allow_write.
        let c = unsafe { arg_mut(config, "config") }?;
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let path = Path::new(unsafe { arg_os(path, "path") }?);
        let path = absolute(path, "the operation log path")?;
        c.sandbox.trace_file(&path)?;
        c.trace = Some(path);
        c.trace_fresh = true;
        Ok(())
    })
}

/// Fakeroot mode (`on` true): `chown` and device nodes are recorded instead
/// of performed, the program sees itself as root (uid and gid 0), and the
/// stat family reports the recorded owners, modes and device types; files
/// owned by the real user appear owned by root. Writes outside the writable
/// paths are still violations. The report then lists what was recorded
/// (`catbox_report_ownership`, `catbox_report_mode`). `false` turns the mode
/// off, together with any state file and manifest set before.
///
/// Errors: `CATBOX_ERR_NULL`.
#[no_mangle]
pub extern "C" fn catbox_config_set_fakeroot(config: *mut Config, on: bool) -> c_int {
    boundary(|| {
        // SAFETY: as in catbox_config_allow_write.
        let c = unsafe { arg_mut(config, "config") }?;
        c.sandbox.fakeroot(on);
        Ok(())
    })
}

/// Fakeroot mode (implied), with its records loaded from the file `path` at
/// the start of each run (if the file exists; a missing file is an empty
/// state) and saved there at the end, so that several runs (configure, make,
/// make install) share them, as fakeroot's `-i`/`-s` do. The file is read
/// only when a run starts: a corrupt or unreadable one makes that run fail
/// with `CATBOX_ERR_FAKEROOT_STATE` (nothing runs), never an empty state; so
/// does a failure to save it at the end.
///
/// Errors: `CATBOX_ERR_NULL`.
#[no_mangle]
pub extern "C" fn catbox_config_set_fakeroot_state(
    config: *mut Config,
    path: *const c_char,
) -> c_int {
    boundary(|| {
        // SAFETY: as in catbox_config_allow_write.
        let c = unsafe { arg_mut(config, "config") }?;
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let path = unsafe { arg_os(path, "path") }?;
        c.sandbox.fakeroot_state(path);
        Ok(())
    })
}

/// Fakeroot mode (implied), and at the end of each run write to `file` an
/// mtree(5) manifest of the tree at `root` (e.g. the `DESTDIR` of `make
/// install`) with the faked owners, modes and device numbers, which
/// libarchive's `bsdtar -cf pkg.tar @file` turns into the package archive. A
/// manifest that cannot be written makes the run fail with `CATBOX_ERR_OS`.
///
/// Errors: `CATBOX_ERR_NULL`.
#[no_mangle]
pub extern "C" fn catbox_config_set_manifest(
    config: *mut Config,
    file: *const c_char,
    root: *const c_char,
) -> c_int {
    boundary(|| {
        // SAFETY: as in catbox_config_allow_write.
        let c = unsafe { arg_mut(config, "config") }?;
        // SAFETY: the caller passes NULL or NUL-terminated strings.
        let file = unsafe { arg_os(file, "file") }?;
        // SAFETY: as above.
        let root = unsafe { arg_os(root, "root") }?;
        c.sandbox.fakeroot_manifest(file, root);
        Ok(())
    })
}

/// Root view: the sandboxed program sees the host's whole file tree, and its
/// writes outside the writable paths land in the directory `dir` at the same
/// path (`/usr/bin/hello` becomes `dir/usr/bin/hello`) instead of the host,
/// which is never changed; from then on the program sees its own version
/// there (and not what it removed). The paths given with
/// `catbox_config_allow_write` stay direct: writes there hit the real files.
/// (What only a prefix or regular expression rule allows is written, but
/// into the image like the rest.) A relative `dir` is taken against the
/// current working directory now. Replaces an earlier image directory.
///
/// `dir` must be new or empty when a run starts (a missing one is made),
/// so each run of the config needs it emptied first (or another directory
/// set): a run with a non-empty one fails with `CATBOX_ERR_IMAGE`, runs
/// nothing and leaves its content untouched. After a run `dir` holds the
/// program's files and `dir/.catbox-removed` lists the host paths it
/// removed (one a line); the report says what was added, modified and
/// removed (`catbox_report_has_image`, `catbox_report_image_*`).
///
/// It uses a user and a mount namespace and overlay filesystems: run as
/// root, or unprivileged where the system allows user namespaces (Linux
/// 5.11 or later for an unprivileged overlay); otherwise the run fails with
/// `CATBOX_ERR_IMAGE` saying what the system forbids.
///
/// Errors: `CATBOX_ERR_NULL`, `CATBOX_ERR_INVALID_ARGUMENT` (an empty
/// `dir`), `CATBOX_ERR_OS` (the working directory cannot be read).
#[no_mangle]
pub extern "C" fn catbox_config_set_image(config: *mut Config, dir: *const c_char) -> c_int {
    boundary(|| {
        // SAFETY: as in catbox_config_allow_write.
        let c = unsafe { arg_mut(config, "config") }?;
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let dir = Path::new(unsafe { arg_os(dir, "dir") }?);
        if dir.as_os_str().is_empty() {
            return Err(Failure::new(
                Status::CatboxErrInvalidArgument,
                "the image directory is an empty string",
            ));
        }
        let dir = absolute(dir, "the image directory")?;
        c.sandbox.image(dir);
        Ok(())
    })
}

/// `path` made absolute against the current working directory.
fn absolute(path: &Path, what: &str) -> Result<PathBuf, Failure> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    let cwd = std::env::current_dir().map_err(|e| {
        Failure::new(
            Status::CatboxErrOs,
            format!("failed to resolve {what} {path:?}: {e}"),
        )
    })?;
    Ok(cwd.join(path))
}

/// Call `callback(violation, user_data)` for each violation as it happens,
/// on the thread that runs the sandbox. Replaces an earlier callback; a
/// NULL `callback` removes it. `user_data` must stay valid while the config
/// may run.
///
/// Errors: `CATBOX_ERR_NULL` (config).
#[no_mangle]
pub extern "C" fn catbox_config_set_violation_callback(
    config: *mut Config,
    callback: ViolationCallback,
    user_data: *mut c_void,
) -> c_int {
    boundary(|| {
        // SAFETY: as in catbox_config_allow_write.
        let c = unsafe { arg_mut(config, "config") }?;
        let data = UserData(user_data);
        c.sandbox.on_violation(move |v| {
            if let Some(cb) = callback {
                let owned = OwnedViolation::new(v);
                let view = owned.as_c();
                // SAFETY: a C function pointer the caller gave us, called
                // with a violation that lives for the call and the
                // caller's own user_data.
                unsafe { cb(&view, data.get()) };
            }
        });
        Ok(())
    })
}

/// Call `callback(event, pid, user_data)` for each event
/// (`CATBOX_EVENT_CHILD_INITIALIZED`, `CATBOX_EVENT_CHILD_DIED_UNEXPECTEDLY`),
/// on the thread that runs the sandbox. Replaces an earlier callback; a NULL
/// `callback` removes it.
///
/// Errors: `CATBOX_ERR_NULL` (config).
#[no_mangle]
pub extern "C" fn catbox_config_set_event_callback(
    config: *mut Config,
    callback: EventCallback,
    user_data: *mut c_void,
) -> c_int {
    boundary(|| {
        // SAFETY: as in catbox_config_allow_write.
        let c = unsafe { arg_mut(config, "config") }?;
        let data = UserData(user_data);
        c.sandbox.on_event(move |e| {
            let (kind, pid) = match e {
                Event::ChildInitialized(pid) => (CATBOX_EVENT_CHILD_INITIALIZED, pid),
                Event::ChildDiedUnexpectedly(pid) => (CATBOX_EVENT_CHILD_DIED_UNEXPECTEDLY, pid),
                _ => return,
            };
            if let Some(cb) = callback {
                // SAFETY: a C function pointer the caller gave us, with the
                // caller's own user_data.
                unsafe { cb(kind, pid, data.get()) };
            }
        });
        Ok(())
    })
}

/// Run the command `argv` (a NULL-terminated array, like `execvp`'s;
/// `argv[0]` is searched in `PATH` if it has no `/`) under the sandbox, in
/// the caller's environment and working directory, and wait until every
/// process it started has exited. On success writes `*report_out` (free it
/// with `catbox_report_free`).
///
/// The calling thread is the tracer: while this runs it waits for any child
/// of the process, so other threads must not wait for children meanwhile.
///
/// Errors: `CATBOX_ERR_NULL`, `CATBOX_ERR_EMPTY_COMMAND`,
/// `CATBOX_ERR_COMMAND_NOT_FOUND`, `CATBOX_ERR_NOT_EXECUTABLE`,
/// `CATBOX_ERR_PTRACE_NOT_PERMITTED`, `CATBOX_ERR_SECCOMP_NOT_PERMITTED`,
/// `CATBOX_ERR_OS`, `CATBOX_ERR_FAKEROOT_STATE` (the state file is corrupt
/// or unreadable: nothing ran; or it could not be saved),
/// `CATBOX_ERR_TRACE_LOG` (the run finished but its operation log is
/// incomplete: no report, the message says why and how the program ended),
/// `CATBOX_ERR_IMAGE` (the root view could not be set up: nothing ran).
#[no_mangle]
pub extern "C" fn catbox_run_argv(
    config: *mut Config,
    argv: *const *const c_char,
    report_out: *mut *mut Report,
) -> c_int {
    boundary(|| {
        // SAFETY: as in catbox_config_allow_write.
        let c = unsafe { arg_mut(config, "config") }?;
        if argv.is_null() {
            return Err(Failure::null("argv"));
        }
        let out = arg_out(report_out, "report_out")?;
        let mut args: Vec<&OsStr> = Vec::new();
        for i in 0.. {
            // SAFETY: argv is a NULL-terminated array (the contract); we
            // stop at the first NULL, so every read is inside it.
            let p = unsafe { *argv.add(i) };
            if p.is_null() {
                break;
            }
            // SAFETY: each element before the NULL is a C string.
            args.push(unsafe { arg_os(p, "argv element") }?);
        }
        let cmd = Command::from_argv(&args)?;
        let report = c.run(|sb| sb.run(&cmd))?;
        // SAFETY: out is non-NULL and points to writable memory for one
        // pointer (the contract).
        unsafe { out.write(Box::into_raw(Box::new(report))) };
        Ok(())
    })
}

/// Fork, and in the sandboxed child call `function(user_data)`; its return
/// value is the child's exit code (the child then exits with `_exit`, so
/// flush stdio yourself, or call `exit`). Waits until every process the
/// child started has exited. On success writes `*report_out`.
///
/// The child is a fork of this process: only the calling thread exists
/// there, so `function` should not rely on other threads or on locks they
/// may hold. The calling thread is the tracer, as for `catbox_run_argv`.
///
/// Errors: `CATBOX_ERR_NULL`, `CATBOX_ERR_PTRACE_NOT_PERMITTED`,
/// `CATBOX_ERR_SECCOMP_NOT_PERMITTED`, `CATBOX_ERR_OS`,
/// `CATBOX_ERR_FAKEROOT_STATE`, `CATBOX_ERR_TRACE_LOG`, `CATBOX_ERR_IMAGE`
/// (as for `catbox_run_argv`).
#[no_mangle]
pub extern "C" fn catbox_run_function(
    config: *mut Config,
    function: ChildFunction,
    user_data: *mut c_void,
    report_out: *mut *mut Report,
) -> c_int {
    boundary(|| {
        // SAFETY: as in catbox_config_allow_write.
        let c = unsafe { arg_mut(config, "config") }?;
        let f = function.ok_or_else(|| Failure::null("function"))?;
        let out = arg_out(report_out, "report_out")?;
        let data = UserData(user_data);
        let report = c.run(move |sb| {
            sb.run_function(move || {
                // This runs in the forked child: a panic must not unwind into
                // the copy of the caller's stack there, so it ends the child.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    // SAFETY: the caller's function pointer and user_data.
                    unsafe { f(data.get()) }
                }))
                .unwrap_or(101)
            })
        })?;
        // SAFETY: out is non-NULL and points to writable memory for one
        // pointer (the contract).
        unsafe { out.write(Box::into_raw(Box::new(report))) };
        Ok(())
    })
}
