//! The `Sandbox` builder and the start of a run: fork, attach, filter, exec.

use std::ffi::{CString, OsStr, OsString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fakeroot::FakeDb;
use crate::image::{CopyUp, Handles, Plan, Step};
use crate::landlock::Ruleset;
use crate::paths::Resolver;
use crate::policy::{Network, Policy, Rule, RulePolicy};
use crate::report::{Report, Violation};
use crate::seccomp::{Filter, Modes};
use crate::trace::{self, ptrace, EventHook, Hooks, Tracer, ViolationHook};

/// Events a run can report besides violations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The first child is traced and about to start the user's code.
    ChildInitialized(i32),
    /// An event came from a process that was already gone.
    ChildDiedUnexpectedly(i32),
}

/// A command to run in the sandbox, like `std::process::Command`.
#[derive(Debug, Clone)]
pub struct Command {
    program: OsString,
    args: Vec<OsString>,
    env: Option<Vec<(OsString, OsString)>>,
    cwd: Option<PathBuf>,
}

impl Command {
    /// A command running `program` (searched in `PATH` if it has no `/`).
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command {
            program: program.as_ref().to_os_string(),
            args: Vec::new(),
            env: None,
            cwd: None,
        }
    }

    /// A command from a whole argv; `Err(EmptyCommand)` if it is empty.
    pub fn from_argv<I, S>(argv: I) -> Result<Command>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut it = argv.into_iter();
        let first = it.next().ok_or(Error::EmptyCommand)?;
        if first.as_ref().is_empty() {
            return Err(Error::EmptyCommand);
        }
        let mut c = Command::new(first);
        c.args(it);
        Ok(c)
    }

    /// Add one argument.
    pub fn arg(&mut self, a: impl AsRef<OsStr>) -> &mut Command {
        self.args.push(a.as_ref().to_os_string());
        self
    }

    /// Add arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Set an environment variable (the rest of the environment is inherited).
    pub fn env(&mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> &mut Command {
        let env = self
            .env
            .get_or_insert_with(|| std::env::vars_os().collect());
        env.retain(|(ek, _)| ek != k.as_ref());
        env.push((k.as_ref().to_os_string(), v.as_ref().to_os_string()));
        self
    }

    /// Run in this directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }
}

/// Builds and runs a sandbox.
///
/// ```no_run
/// use catbox_core::{Command, Sandbox};
/// let mut sb = Sandbox::new();
/// sb.allow_write("/tmp")?;
/// let report = sb.run(&Command::from_argv(["sh", "-c", "echo hi > /etc/x"])?)?;
/// assert_eq!(report.violations.len(), 1);
/// # Ok::<(), catbox_core::Error>(())
/// ```
#[derive(Default)]
pub struct Sandbox {
    rules: Vec<Rule>,
    network: Network,
    collect_only: bool,
    policy: Option<Box<dyn Policy>>,
    on_violation: Option<ViolationHook>,
    on_event: Option<EventHook>,
    trace: Option<Box<dyn std::io::Write + Send>>,
    fakeroot: Option<Fakeroot>,
    hardened: bool,
    image: Option<PathBuf>,
}

/// Fakeroot settings of a sandbox.
#[derive(Debug, Clone, Default)]
struct Fakeroot {
    state: Option<PathBuf>,
    manifest: Option<(PathBuf, PathBuf)>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("rules", &self.rules)
            .field("network", &self.network)
            .field("collect_only", &self.collect_only)
            .field("custom_policy", &self.policy.is_some())
            .finish()
    }
}

impl Sandbox {
    /// A sandbox where nothing is writable and the network is denied.
    pub fn new() -> Sandbox {
        Sandbox::default()
    }

    /// Allow writes below `path` (absolute; the path itself and everything
    /// below it, at a component boundary).
    pub fn allow_write(&mut self, path: impl AsRef<Path>) -> Result<&mut Sandbox> {
        self.rules.push(Rule::subtree(path)?);
        Ok(self)
    }

    /// Allow writes to canonical paths that start with `path` as a plain
    /// string (no component boundary): the original catbox's meaning.
    pub fn allow_write_prefix(&mut self, path: impl AsRef<Path>) -> Result<&mut Sandbox> {
        self.rules.push(Rule::prefix(path)?);
        Ok(self)
    }

    /// Allow writes to canonical paths matching the regular expression.
    pub fn allow_write_regex(&mut self, pattern: &str) -> Result<&mut Sandbox> {
        self.rules.push(Rule::regex(pattern)?);
        Ok(self)
    }

    /// Set how the network is treated (default: denied).
    pub fn network(&mut self, network: Network) -> &mut Sandbox {
        self.network = network;
        self
    }

    /// Record violations but let the calls run.
    pub fn collect_only(&mut self, yes: bool) -> &mut Sandbox {
        self.collect_only = yes;
        self
    }

    /// Use a custom policy instead of the rules.
    pub fn policy(&mut self, policy: impl Policy + 'static) -> &mut Sandbox {
        self.policy = Some(Box::new(policy));
        self
    }

    /// Call `f` for each violation as it happens.
    pub fn on_violation(&mut self, f: impl FnMut(&Violation) + Send + 'static) -> &mut Sandbox {
        self.on_violation = Some(Box::new(f));
        self
    }

    /// Write the operation log (JSON Lines, `docs/trace-format.md`) to
    /// `out` during the next run. Reads, stats and execs then stop too.
    pub fn trace(&mut self, out: impl std::io::Write + Send + 'static) -> &mut Sandbox {
        self.trace = Some(Box::new(out));
        self
    }

    /// Write the operation log to a new file at `path` (truncated if it
    /// exists) during the next run.
    pub fn trace_file(&mut self, path: impl AsRef<Path>) -> Result<&mut Sandbox> {
        let f = std::fs::File::create(path.as_ref()).map_err(|source| Error::Os {
            what: "create the operation log file",
            source,
        })?;
        Ok(self.trace(f))
    }

    /// Fakeroot mode: chown and device nodes are recorded instead of
    /// performed, the process believes it is root, and the stat family
    /// reports the recorded owners and modes (see [`crate::fakeroot`]).
    pub fn fakeroot(&mut self, yes: bool) -> &mut Sandbox {
        self.fakeroot = if yes {
            Some(self.fakeroot.take().unwrap_or_default())
        } else {
            None
        };
        self
    }

    /// Fakeroot mode with its state loaded from `path` at the start of each
    /// run (if the file exists) and saved there at the end, so that several
    /// runs (configure, make, make install) share it.
    pub fn fakeroot_state(&mut self, path: impl AsRef<Path>) -> &mut Sandbox {
        self.fakeroot.get_or_insert_with(Fakeroot::default).state =
            Some(path.as_ref().to_path_buf());
        self
    }

    /// Fakeroot mode, and after each run write an mtree(5) manifest of the
    /// tree at `root` to `file`, with the faked owners, modes and devices.
    pub fn fakeroot_manifest(
        &mut self,
        file: impl AsRef<Path>,
        root: impl AsRef<Path>,
    ) -> &mut Sandbox {
        self.fakeroot.get_or_insert_with(Fakeroot::default).manifest =
            Some((file.as_ref().to_path_buf(), root.as_ref().to_path_buf()));
        self
    }

    /// Hardened mode: the child is also confined by a Landlock ruleset that
    /// allows writes only beneath the writable paths, so the kernel enforces
    /// what the tracer checks (no check-then-use race can get a write out).
    /// Regex and string-prefix rules and collect-only mode are refused in
    /// this mode; Landlock must be available.
    pub fn hardened(&mut self, yes: bool) -> &mut Sandbox {
        self.hardened = yes;
        self
    }

    /// Root view: the command sees the host's whole file tree, and its
    /// writes outside the writable paths land in `dir` at the same path
    /// (`/usr/bin/hello` becomes `dir/usr/bin/hello`) instead of the host,
    /// which is never changed. The writable paths stay direct. `dir` must be
    /// new or empty; after the run it holds the build's files and
    /// `dir/.catbox-removed` lists the host paths it removed, and
    /// [`Report::image`] says what was added, modified and removed. See
    /// [`crate::image`] for the mechanism (user and mount namespaces and
    /// overlay filesystems) and its limits. Not with hardened mode.
    pub fn image(&mut self, dir: impl AsRef<Path>) -> &mut Sandbox {
        self.image = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Call `f` for each [`Event`].
    pub fn on_event(&mut self, f: impl FnMut(Event) + Send + 'static) -> &mut Sandbox {
        self.on_event = Some(Box::new(f));
        self
    }

    fn filter(&self) -> Filter {
        Filter::build(Modes {
            writes: true,
            network_denied: self.policy.is_some() || self.network != Network::Allowed,
            strict_network: self.network == Network::Strict,
            trace: self.trace.is_some(),
            fakeroot: self.fakeroot.is_some(),
        })
    }

    /// Run a command and wait until every process it started has exited.
    ///
    /// The calling thread is the tracer: it must not be waiting for other
    /// children of this process meanwhile (the tracer waits for any child).
    pub fn run(&mut self, cmd: &Command) -> Result<Report> {
        let exec = Exec::prepare(cmd)?;
        self.start(Child::Exec(&exec))
    }

    /// Run `f` in a forked child under the sandbox; its return value is the
    /// exit code. `f` runs after `fork` in a copy of this process, so it
    /// should not rely on other threads of the parent.
    pub fn run_function(&mut self, f: impl FnOnce() -> i32) -> Result<Report> {
        let mut f = Some(f);
        let mut call = move || f.take().map(|f| f()).unwrap_or(1);
        self.start(Child::Function(&mut call))
    }

    fn start(&mut self, child: Child<'_>) -> Result<Report> {
        let filter = self.filter();
        let landlock = if self.hardened {
            if self.collect_only {
                return Err(Error::Hardened {
                    reason: "collect-only mode lets writes through, hardened mode forbids them: \
                             choose one"
                        .into(),
                });
            }
            Some(Ruleset::build(&self.rules)?)
        } else {
            None
        };
        let plan = match &self.image {
            Some(_) if self.hardened => {
                return Err(Error::Hardened {
                    reason: "the root view (image directory) cannot be combined with hardened \
                             mode yet: Landlock's rules name host files, the view's are overlay \
                             files"
                        .into(),
                })
            }
            Some(dir) => Some(Plan::prepare(dir, &self.rules, None)?),
            None => None,
        };
        let fake = match &self.fakeroot {
            Some(Fakeroot { state: Some(s), .. }) => Some(FakeDb::load(s)?),
            Some(_) => Some(FakeDb::new()),
            None => None,
        };
        let resolver = Resolver::new().map_err(|source| Error::Os {
            what: "prepare path resolution (open / and stat /proc)",
            source,
        })?;
        let (go_r, go_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        let (ready_r, ready_w) = pipe()?;
        let parent = std::process::id() as i32;
        // SAFETY: fork has no memory-safety preconditions; the child only
        // makes async-signal-safe calls until exec (or runs the user's
        // function, as documented for run_function).
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(Error::last_os("fork the sandboxed child"));
        }
        if pid == 0 {
            drop(go_w);
            drop(err_r);
            drop(ready_r);
            let io = ChildIo {
                go: &go_r,
                err: &err_w,
                ready: &ready_w,
            };
            child_main(parent, io, &filter, landlock.as_ref(), plan.as_ref(), child);
        }
        drop(go_r);
        drop(err_w);
        drop(ready_w);
        if let Err(source) = ptrace::seize(pid, trace::OPTIONS) {
            // SAFETY: plain kill/waitpid on our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
            return Err(Error::PtraceNotPermitted { source });
        }
        let handles = match &plan {
            Some(plan) => match image_setup(plan, pid, &go_w, &ready_r) {
                Ok(h) => Some(h),
                Err(e) => {
                    kill_child(pid);
                    return Err(child_error(&err_r, &child).unwrap_or(e));
                }
            },
            None => None,
        };
        let resolver = match &handles {
            Some(h) => resolver.with_root(&h.root).map_err(|source| Error::Os {
                what: "resolve paths from the view's root",
                source,
            })?,
            None => resolver,
        };
        // While it traces, the supervisor is not dumpable: a same-uid
        // tracee can then neither read its memory through /proc/<pid>/mem
        // nor see its fds. (A tracee with CAP_SYS_PTRACE, i.e. a build run
        // as root, still can.) The child was forked before, so it is not
        // affected; the previous setting is restored after the run.
        // SAFETY: prctl with integer arguments only.
        let dumpable = unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) };
        // SAFETY: as above.
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
        let _restore = Restore(dumpable);
        if let Some(cb) = self.on_event.as_mut() {
            cb(Event::ChildInitialized(pid));
        }
        // Release the child: it installs the filter and execs.
        write_all(go_w.as_raw_fd(), &[1]);
        drop(go_w);
        let custom = self.policy.is_some();
        let copy_up = match (&plan, &handles) {
            (Some(p), Some(h)) => CopyUp::new(p, h),
            _ => None,
        };
        let mut rules = self.rules.clone();
        if let Some(plan) = &plan {
            // Writes into the captured directories land in the image.
            rules.extend(plan.captured().map(|p| Rule::Subtree(p.to_path_buf())));
        }
        let hooks = Hooks {
            policy: self
                .policy
                .take()
                .unwrap_or_else(|| Box::new(RulePolicy::new(rules, self.network))),
            on_violation: self.on_violation.take(),
            on_event: self.on_event.take(),
        };
        let log = self.trace.take().map(crate::trace::log::Log::new);
        let (mut report, hooks, fake) =
            Tracer::new(pid, self.collect_only, resolver, hooks, log, fake)
                .with_copy_up(copy_up)
                .run();
        report.landlock_abi = landlock.as_ref().map(|l| l.abi);
        if let (Some(plan), Some(h)) = (&plan, &handles) {
            report.image = Some(plan.collect(h)?);
        }
        if let (Some(db), Some(cfg)) = (fake, &self.fakeroot) {
            (report.ownerships, report.modes) = match (&plan, &handles) {
                (Some(plan), Some(h)) => db.summary_as(&|p| plan.view_metadata(h, p)),
                _ => db.summary(),
            };
            if let Some(state) = &cfg.state {
                db.save(state)?;
            }
            if let Some((file, root)) = &cfg.manifest {
                let mut out = std::fs::File::create(file).map_err(|source| Error::Os {
                    what: "create the manifest",
                    source,
                })?;
                let view = |rel: &Path| -> Option<(u64, u64)> {
                    let (plan, h) = (plan.as_ref()?, handles.as_ref()?);
                    let root = std::fs::canonicalize(root).ok()?;
                    let below = root.strip_prefix(plan.dir()).ok()?;
                    plan.view_identity(h, &Path::new("/").join(below).join(rel))
                };
                let removal_list = plan
                    .as_ref()
                    .map(|p| p.dir().join(crate::image::REMOVED_FILE));
                let skip = |p: &Path| removal_list.as_deref() == Some(p);
                db.write_manifest_as(root, &mut out, &view, &skip)
                    .map_err(|source| Error::Os {
                        what: "write the manifest",
                        source,
                    })?;
            }
        }
        if custom {
            self.policy = Some(hooks.policy);
        }
        self.on_violation = hooks.on_violation;
        self.on_event = hooks.on_event;
        match child_error(&err_r, &child) {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }
}

/// The error the child sent before it exec'd, if it sent one.
fn child_error(err_r: &OwnedFd, child: &Child<'_>) -> Option<Error> {
    let mut msg = [0u8; 8];
    // SAFETY: reading into a local buffer of the given size.
    let n = unsafe { libc::read(err_r.as_raw_fd(), msg.as_mut_ptr() as *mut libc::c_void, 8) };
    if n == 8 {
        let tag = i32::from_ne_bytes([msg[0], msg[1], msg[2], msg[3]]);
        let errno = i32::from_ne_bytes([msg[4], msg[5], msg[6], msg[7]]);
        let source = std::io::Error::from_raw_os_error(errno);
        if let Some(step) = tag.checked_sub(TAG_IMAGE).and_then(Step::from_index) {
            return Some(step.error(source));
        }
        return Some(match (tag, child) {
            (TAG_SECCOMP, _) => Error::SeccompNotPermitted { source },
            (TAG_LANDLOCK, _) => Error::Hardened {
                reason: format!("failed to enter the Landlock ruleset: {source}"),
            },
            (TAG_CHDIR, _) => Error::Os {
                what: "change to the command's working directory",
                source,
            },
            (_, Child::Exec(e)) => Error::NotExecutable {
                program: e.display.clone(),
                source,
            },
            _ => Error::Os {
                what: "start the sandboxed function",
                source,
            },
        });
    }
    None
}

/// Kill and reap a child that could not be started.
fn kill_child(pid: i32) {
    // SAFETY: plain kill/waitpid on our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), libc::__WALL);
    }
}

/// Read one byte the child sends when it reached a step of its setup.
fn wait_ready(ready: &OwnedFd) -> bool {
    let mut b = [0u8; 1];
    loop {
        // SAFETY: reading into a local buffer of the given size.
        let n = unsafe { libc::read(ready.as_raw_fd(), b.as_mut_ptr() as *mut libc::c_void, 1) };
        if n == 1 {
            return true;
        }
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        return false;
    }
}

/// The supervisor's side of the root view's setup: map the child's ids once
/// it is in its namespaces, then take handles on the view it built.
fn image_setup(plan: &Plan, pid: i32, go: &OwnedFd, ready: &OwnedFd) -> Result<Handles> {
    let gone = || Error::Image {
        reason: "the child stopped while building the view".into(),
    };
    if !wait_ready(ready) {
        return Err(gone());
    }
    plan.write_maps(pid)?;
    write_all(go.as_raw_fd(), b"M");
    if !wait_ready(ready) {
        return Err(gone());
    }
    plan.handles(pid)
}

/// Puts the supervisor's dumpable flag back when the run ends.
struct Restore(i32);

impl Drop for Restore {
    fn drop(&mut self) {
        if self.0 >= 0 {
            // SAFETY: prctl with integer arguments only.
            unsafe { libc::prctl(libc::PR_SET_DUMPABLE, self.0 as libc::c_ulong, 0, 0, 0) };
        }
    }
}

const TAG_SECCOMP: i32 = 1;
const TAG_CHDIR: i32 = 2;
const TAG_EXEC: i32 = 3;
const TAG_LANDLOCK: i32 = 4;
/// Root view setup steps: this plus [`Step`]'s index.
const TAG_IMAGE: i32 = 16;

enum Child<'a> {
    Exec(&'a Exec),
    Function(&'a mut dyn FnMut() -> i32),
}

/// Everything `execve` needs, prepared before `fork`.
struct Exec {
    path: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    cwd: Option<CString>,
    display: String,
}

fn cstring(s: &OsStr) -> Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| Error::NulByte(s.to_string_lossy().into_owned()))
}

impl Exec {
    fn prepare(cmd: &Command) -> Result<Exec> {
        if cmd.program.is_empty() {
            return Err(Error::EmptyCommand);
        }
        let env: Vec<(OsString, OsString)> = match &cmd.env {
            Some(e) => e.clone(),
            None => std::env::vars_os().collect(),
        };
        let path = resolve_program(&cmd.program, &env, cmd.cwd.as_deref())?;
        let mut argv = vec![cstring(&cmd.program)?];
        for a in &cmd.args {
            argv.push(cstring(a)?);
        }
        let envp = env
            .iter()
            .map(|(k, v)| {
                let mut kv = k.clone().into_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                CString::new(kv).map_err(|_| Error::NulByte(k.to_string_lossy().into_owned()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Exec {
            path: cstring(path.as_os_str())?,
            argv,
            envp,
            cwd: cmd
                .cwd
                .as_ref()
                .map(|c| cstring(c.as_os_str()))
                .transpose()?,
            display: cmd.program.to_string_lossy().into_owned(),
        })
    }
}

/// Find the program as `execvp` would, so that "not found" is reported
/// before anything starts.
fn resolve_program(
    prog: &OsStr,
    env: &[(OsString, OsString)],
    cwd: Option<&Path>,
) -> Result<PathBuf> {
    let name = prog.to_string_lossy().into_owned();
    if prog.as_bytes().contains(&b'/') {
        let p = PathBuf::from(prog);
        let full = match cwd {
            Some(c) if p.is_relative() => c.join(&p),
            _ => p.clone(),
        };
        if !full.exists() {
            return Err(Error::CommandNotFound(name));
        }
        return Ok(p);
    }
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| OsString::from("/usr/local/bin:/usr/bin:/bin"));
    let mut not_exec = None;
    for dir in std::env::split_paths(&path) {
        let cand = dir.join(prog);
        if let Ok(md) = std::fs::metadata(&cand) {
            if md.is_file() {
                let c = cstring(cand.as_os_str())?;
                // SAFETY: c is a valid NUL-terminated path.
                if unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0 {
                    return Ok(cand);
                }
                not_exec.get_or_insert(cand);
            }
        }
    }
    match not_exec {
        Some(p) => Ok(p),
        None => Err(Error::CommandNotFound(name)),
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(Error::last_os("create a pipe"));
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn write_all(fd: RawFd, b: &[u8]) {
    // SAFETY: writing from a live buffer; errors are ignored by design
    // (the reader treats a short message as none).
    unsafe { libc::write(fd, b.as_ptr() as *const libc::c_void, b.len()) };
}

fn report_errno(fd: RawFd, tag: i32) {
    let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    let mut msg = [0u8; 8];
    msg[..4].copy_from_slice(&tag.to_ne_bytes());
    msg[4..].copy_from_slice(&e.to_ne_bytes());
    write_all(fd, &msg);
}

/// The child's ends of the pipes to the supervisor.
struct ChildIo<'a> {
    /// The supervisor's go-aheads.
    go: &'a OwnedFd,
    /// An error before exec: tag and errno.
    err: &'a OwnedFd,
    /// The root view's setup progress.
    ready: &'a OwnedFd,
}

/// Wait for one byte from the supervisor; exit if it is gone.
fn wait_go(go: &OwnedFd) {
    let mut b = [0u8; 1];
    // SAFETY: reading into a local buffer; _exit is always safe.
    unsafe {
        if libc::read(go.as_raw_fd(), b.as_mut_ptr() as *mut libc::c_void, 1) != 1 {
            libc::_exit(125);
        }
    }
}

/// Report a failed root view step and exit.
fn image_failed(err: &OwnedFd, step: Step) -> ! {
    report_errno(err.as_raw_fd(), TAG_IMAGE + step as i32);
    // SAFETY: _exit is always safe.
    unsafe { libc::_exit(125) }
}

/// The child side: die with the parent, build the root view if asked, wait
/// to be traced, install the filter, exec (or run the function). Only
/// async-signal-safe calls before the exec.
fn child_main(
    parent: i32,
    io: ChildIo<'_>,
    filter: &Filter,
    landlock: Option<&Ruleset>,
    image: Option<&Plan>,
    child: Child<'_>,
) -> ! {
    let ChildIo { go, err, ready } = io;
    // SAFETY: prctl/getppid with integer arguments; _exit is always safe.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        if libc::getppid() != parent {
            libc::_exit(125);
        }
    }
    if let Some(plan) = image {
        if let Err(step) = plan.child_unshare() {
            image_failed(err, step);
        }
        // The supervisor writes the id maps, then says go.
        write_all(ready.as_raw_fd(), b"U");
        wait_go(go);
        if let Err(step) = plan.child_build() {
            image_failed(err, step);
        }
        // The supervisor takes its handles on the view while we wait in it.
        write_all(ready.as_raw_fd(), b"R");
    }
    wait_go(go);
    if let Some(plan) = image {
        if let Err(step) = plan.child_enter() {
            image_failed(err, step);
        }
    }
    // SAFETY: all calls below are plain system calls on valid arguments.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        libc::signal(libc::SIGQUIT, libc::SIG_DFL);
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
    if let Child::Exec(e) = &child {
        if let Some(cwd) = &e.cwd {
            // SAFETY: cwd is a valid C string.
            if unsafe { libc::chdir(cwd.as_ptr()) } != 0 {
                report_errno(err.as_raw_fd(), TAG_CHDIR);
                // SAFETY: _exit is always safe.
                unsafe { libc::_exit(125) };
            }
        }
    }
    if let Some(set) = landlock {
        if let Err(e) = set.restrict_self() {
            // SAFETY: errno is thread-local and writable.
            unsafe { *libc::__errno_location() = e };
            report_errno(err.as_raw_fd(), TAG_LANDLOCK);
            // SAFETY: _exit is always safe.
            unsafe { libc::_exit(125) };
        }
    }
    if filter.install().is_err() {
        report_errno(err.as_raw_fd(), TAG_SECCOMP);
        // SAFETY: _exit is always safe.
        unsafe { libc::_exit(125) };
    }
    match child {
        Child::Exec(e) => {
            let mut argv: Vec<*const libc::c_char> = e.argv.iter().map(|a| a.as_ptr()).collect();
            argv.push(std::ptr::null());
            let mut envp: Vec<*const libc::c_char> = e.envp.iter().map(|a| a.as_ptr()).collect();
            envp.push(std::ptr::null());
            // SAFETY: NULL-terminated arrays of valid C strings.
            unsafe { libc::execve(e.path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
            let code = match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::ENOENT) => 127,
                _ => 126,
            };
            report_errno(err.as_raw_fd(), TAG_EXEC);
            // SAFETY: _exit is always safe.
            unsafe { libc::_exit(code) }
        }
        Child::Function(f) => {
            let code = f();
            // SAFETY: _exit is always safe.
            unsafe { libc::_exit(code) }
        }
    }
}
