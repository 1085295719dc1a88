//! Whole-program overhead of catbox against native runs and against the
//! tools people use instead; the stopped-call cost; the supervisor's memory.
//!
//! ```text
//! cargo bench --bench overhead
//! ```
//!
//! Environment (all optional):
//! * `CATBOX_BENCH_PAIRS` (default 5): native/sandboxed pairs per row;
//! * `CATBOX_BENCH_ONLY`: a comma-separated subset of the workloads
//!   `hello,zlib,lua,ro,wo,spawn,startup,memory` (default: all);
//! * `CATBOX_BENCH_TOOLS`: a comma-separated subset of the rows run on the
//!   builds, `catbox,collect-only,catbox-fakeroot,trace,hardened,image,strace,
//!   fakeroot,proot,bwrap` (default: all; the loops always run `catbox`,
//!   and the write-open loop also the bare ptrace tracer, the floor);
//! * `CATBOX_BENCH_MEMORY` (default `1000,5000`): the process counts of the
//!   supervisor-memory runs;
//! * `CATBOX`: the catbox binary (default: the release build cargo made for
//!   this bench, `target/release/catbox`);
//! * `CATBOX_SHARED`: the folder holding `real-inputs/fetch-debian-source.sh`
//!   (default `../shared`); `CATBOX_REAL_INPUTS`: the source-tarball cache
//!   (default `target/real-inputs/`).
//!
//! A non-option argument filters workloads by name too
//! (`cargo bench --bench overhead -- zlib`).
//!
//! # What is measured
//!
//! Each row is a workload under one tool. Its runs alternate, native then
//! under the tool (A B A B ...), after one untimed native warm-up; the rows
//! of one workload take turns pair by pair, so that a change in the machine's
//! load spreads over all of them. A row gives the median, min and max of the
//! per-pair ratio tool/native, and for catbox the calls that stopped per run
//! (the report's `stops`) and the cost of one stop, (sandboxed - native) /
//! stops, in microseconds.
//!
//! Workloads:
//! * real builds, from a freshly unpacked Debian orig tarball each run
//!   (fetched with `fetch-debian-source.sh` into the cache once), `make -j2`:
//!   `hello` (GNU hello, `./configure && make -j2`: thousands of short
//!   processes), `zlib` (`./configure && make -j2`), `lua` (lua5.4,
//!   `make -j2 linux`); sandboxed with `-w <tree> -w /tmp`. A build whose
//!   download or native run fails is skipped with a message.
//!   Rows: `catbox` (enforce), `catbox --collect-only`, `catbox --fakeroot`,
//!   `catbox --trace FILE`, `catbox --hardened`, `catbox --image DIR` (the
//!   root view; the build's own tree is writable, so this measures the
//!   namespace, the overlays and, unprivileged, the skeleton), and where installed
//!   `strace -f -o /dev/null`, `fakeroot`, `proot -0` (Debian package
//!   `proot`), `bwrap --dev-bind / /` (package `bubblewrap`);
//! * `ro`/`wo`: 100,000 read-only opens / 20,000 write-opens
//!   (`O_WRONLY|O_CREAT|O_TRUNC`) inside the writable dir, a small C program
//!   compiled here with `cc`; the write-open loop gives the stopped-call cost,
//!   beside that of the floor: a bare ptrace tracer (also compiled here) that
//!   stops every `openat` through seccomp and does nothing but `waitpid` and
//!   `PTRACE_CONT`, the kernel's share of a stop on this machine today;
//! * `spawn`: 2,000 fork+exec of `/bin/true`;
//! * `startup`: `/bin/true` once, the fixed cost of a sandbox;
//! * `memory`: peak RSS of the catbox supervisor on runs that start 1,000 and
//!   5,000 processes (fork+exec loop): its own high-water mark
//!   (`VmHWM`, sampled until it exits) and `wait4`'s `ru_maxrss` (the
//!   largest of catbox and the processes it waited for, as
//!   `/usr/bin/time -f %M` would print).
//!
//! The exit status is 1 when a catbox run failed (or reported a violation);
//! a comparison tool that fails is shown in the table but does not fail the
//! bench.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The C workloads: `loop ro|wo|spawn N PATH`.
const LOOP_C: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s ro|wo|spawn N PATH\n", argv[0]);
        return 2;
    }
    long n = atol(argv[2]);
    const char *path = argv[3];
    for (long i = 0; i < n; i++) {
        if (strcmp(argv[1], "ro") == 0 || strcmp(argv[1], "wo") == 0) {
            int fd = strcmp(argv[1], "ro") == 0
                         ? open(path, O_RDONLY | O_CLOEXEC)
                         : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd < 0) {
                perror(path);
                return 1;
            }
            close(fd);
        } else if (strcmp(argv[1], "spawn") == 0) {
            pid_t pid = fork();
            if (pid < 0) {
                perror("fork");
                return 1;
            }
            if (pid == 0) {
                execl(path, path, (char *)NULL);
                _exit(127);
            }
            int status;
            if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "%s failed\n", path);
                return 1;
            }
        } else {
            fprintf(stderr, "unknown mode %s\n", argv[1]);
            return 2;
        }
    }
    return 0;
}
"#;

/// The floor of any ptrace sandbox: a tracer that stops the same calls as
/// catbox's filter would on the write-open loop (every `openat`, through a
/// seccomp `RET_TRACE`) and does nothing at a stop but `waitpid` and
/// `PTRACE_CONT`. `floor PROGRAM ARG...`; prints `floor-stops N` on stderr.
/// The difference between catbox's cost per stop and this one's is what
/// catbox's own work (reading the call, resolving its path, deciding) costs;
/// the rest is the kernel's round trip, two context switches and the wakeups,
/// which on a VM vary from one hour to the next.
const FLOOR_C: &str = r#"
#define _GNU_SOURCE
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PROGRAM [ARG...]\n", argv[0]);
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        struct sock_filter f[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 1, 0),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
        };
        struct sock_fprog prog = {sizeof f / sizeof f[0], f};
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0 || raise(SIGSTOP) != 0 ||
            prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
            perror("floor: set up the child");
            _exit(126);
        }
        execvp(argv[1], argv + 1);
        perror(argv[1]);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFSTOPPED(st) ||
        ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL) < 0 ||
        ptrace(PTRACE_CONT, pid, 0, 0) < 0) {
        perror("floor: attach");
        return 1;
    }
    long stops = 0;
    for (;;) {
        if (waitpid(pid, &st, 0) < 0) {
            perror("floor: waitpid");
            return 1;
        }
        if (WIFEXITED(st)) {
            fprintf(stderr, "floor-stops %ld\n", stops);
            return WEXITSTATUS(st);
        }
        if (WIFSIGNALED(st)) {
            return 128 + WTERMSIG(st);
        }
        int sig = 0;
        if (st >> 8 == (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8))) {
            stops++;
        } else if (WSTOPSIG(st) != SIGTRAP) {
            sig = WSTOPSIG(st);
        }
        ptrace(PTRACE_CONT, pid, 0, sig);
    }
}
"#;

/// A row of the builds: catbox in one of its modes, or another tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Catbox,
    CollectOnly,
    CatboxFakeroot,
    Trace,
    Hardened,
    Image,
    Strace,
    Fakeroot,
    Proot,
    Bwrap,
    /// The bare ptrace tracer of [`FLOOR_C`]; on the write-open loop only.
    Floor,
    /// catbox with the supervisor and the program on one CPU (`taskset -c
    /// 0`): a stop then costs no wakeup of another CPU; write-open loop only.
    CatboxCpu0,
    /// The floor on one CPU.
    FloorCpu0,
}

impl Tool {
    const ALL: [Tool; 10] = [
        Tool::Catbox,
        Tool::CollectOnly,
        Tool::CatboxFakeroot,
        Tool::Trace,
        Tool::Hardened,
        Tool::Image,
        Tool::Strace,
        Tool::Fakeroot,
        Tool::Proot,
        Tool::Bwrap,
    ];

    /// The name in `CATBOX_BENCH_TOOLS`.
    fn key(self) -> &'static str {
        match self {
            Tool::Catbox => "catbox",
            Tool::CollectOnly => "collect-only",
            Tool::CatboxFakeroot => "catbox-fakeroot",
            Tool::Trace => "trace",
            Tool::Hardened => "hardened",
            Tool::Image => "image",
            Tool::Strace => "strace",
            Tool::Fakeroot => "fakeroot",
            Tool::Proot => "proot",
            Tool::Bwrap => "bwrap",
            Tool::Floor => "floor",
            Tool::CatboxCpu0 => "catbox-cpu0",
            Tool::FloorCpu0 => "floor-cpu0",
        }
    }

    /// The name in the table.
    fn label(self) -> &'static str {
        match self {
            Tool::Catbox => "catbox",
            Tool::CollectOnly => "catbox --collect-only",
            Tool::CatboxFakeroot => "catbox --fakeroot",
            Tool::Trace => "catbox --trace FILE",
            Tool::Hardened => "catbox --hardened",
            Tool::Image => "catbox --image DIR",
            Tool::Strace => "strace -f -o /dev/null",
            Tool::Fakeroot => "fakeroot",
            Tool::Proot => "proot -0",
            Tool::Bwrap => "bwrap --dev-bind / /",
            Tool::Floor => "bare ptrace tracer (the floor)",
            Tool::CatboxCpu0 => "catbox, all on one CPU (taskset -c 0)",
            Tool::FloorCpu0 => "the floor, all on one CPU (taskset -c 0)",
        }
    }

    fn is_catbox(self) -> bool {
        matches!(
            self,
            Tool::Catbox
                | Tool::CollectOnly
                | Tool::CatboxFakeroot
                | Tool::Trace
                | Tool::Hardened
                | Tool::Image
                | Tool::CatboxCpu0
        )
    }

    /// The argv prefix of another tool, and its Debian package.
    fn wrapper(self) -> Option<(&'static [&'static str], &'static str)> {
        match self {
            Tool::Strace => Some((&["strace", "-f", "-o", "/dev/null"], "strace")),
            Tool::Fakeroot => Some((&["fakeroot", "--"], "fakeroot")),
            Tool::Proot => Some((&["proot", "-0"], "proot")),
            Tool::Bwrap => Some((&["bwrap", "--dev-bind", "/", "/"], "bubblewrap")),
            _ => None,
        }
    }

    /// Whether another tool is installed and works here (`TOOL /bin/true`).
    fn probe(self) -> Result<(), String> {
        let Some((argv, package)) = self.wrapper() else {
            return Ok(());
        };
        let out = Command::new(argv[0])
            .args(&argv[1..])
            .arg("/bin/true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        match out {
            Err(_) => Err(format!(
                "`{}` row skipped: {} is not installed (Debian package {package})",
                self.label(),
                argv[0]
            )),
            Ok(o) if !o.status.success() => Err(format!(
                "`{}` row skipped: `{} /bin/true` fails here: {}",
                self.label(),
                argv.join(" "),
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Ok(_) => Ok(()),
        }
    }
}

/// A real build from a Debian orig tarball.
struct Build {
    /// The workload key (`CATBOX_BENCH_ONLY`).
    key: &'static str,
    /// The source package, as `fetch-debian-source.sh` takes it.
    package: &'static str,
    /// The shell command run in the unpacked tree.
    script: &'static str,
}

const BUILDS: &[Build] = &[
    Build {
        key: "hello",
        package: "hello",
        script: "./configure && make -j2",
    },
    Build {
        key: "zlib",
        package: "zlib",
        script: "./configure && make -j2",
    },
    Build {
        key: "lua",
        package: "lua5.4",
        script: "make -j2 linux",
    },
];

/// A workload: how to prepare a run (untimed), and the rows it is run under.
struct Workload {
    key: &'static str,
    name: String,
    /// Run before each timed run, with a run number unique in the workload.
    prepare: Box<dyn FnMut(usize) -> Result<Prepared, String>>,
    tools: Vec<Tool>,
}

struct Prepared {
    cwd: PathBuf,
    argv: Vec<String>,
    writable: Vec<PathBuf>,
    /// Removed after the run (untimed).
    cleanup: Option<PathBuf>,
}

struct Row {
    key: &'static str,
    name: String,
    tool: Tool,
    native: Vec<f64>,
    sandboxed: Vec<f64>,
    stops: Vec<u64>,
    error: Option<String>,
    /// The error is catbox's: the bench fails.
    fatal: bool,
}

impl Row {
    fn ratios(&self) -> Vec<f64> {
        self.native
            .iter()
            .zip(&self.sandboxed)
            .map(|(n, s)| s / n)
            .collect()
    }

    /// Median ratio, or `None` for a failed or empty row.
    fn median_ratio(&self) -> Option<f64> {
        if self.error.is_some() || self.native.is_empty() {
            None
        } else {
            Some(median(&self.ratios()))
        }
    }

    /// Per-pair (sandboxed - native) / stops, in microseconds.
    fn per_stop_us(&self) -> Vec<f64> {
        if self.stops.len() != self.sandboxed.len() {
            return Vec::new();
        }
        self.native
            .iter()
            .zip(&self.sandboxed)
            .zip(&self.stops)
            .filter(|(_, &k)| k > 0)
            .map(|((n, s), &k)| (s - n) * 1e6 / k as f64)
            .collect()
    }
}

/// One supervisor-memory run.
struct MemRow {
    spawns: usize,
    processes: Option<u64>,
    /// catbox's own `VmHWM`, KiB.
    hwm_kib: Option<u64>,
    /// `wait4`'s `ru_maxrss` for catbox, KiB.
    maxrss_kib: u64,
    /// The same loop natively, KiB.
    native_maxrss_kib: u64,
    secs: f64,
}

struct Settings {
    pairs: usize,
    catbox: PathBuf,
    work: PathBuf,
    /// The compiled [`FLOOR_C`].
    floor: PathBuf,
}

fn env_list(name: &str) -> Option<Vec<String>> {
    std::env::var(name).ok().map(|v| {
        v.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    })
}

fn main() {
    let started = Instant::now();
    // `cargo bench` passes `--bench`; a filter argument selects workloads too.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let pairs: usize = std::env::var("CATBOX_BENCH_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(5);
    let only = env_list("CATBOX_BENCH_ONLY");
    let tools_wanted = env_list("CATBOX_BENCH_TOOLS");
    let memory_counts: Vec<usize> = env_list("CATBOX_BENCH_MEMORY")
        .map(|v| v.iter().filter_map(|s| s.parse().ok()).collect())
        .unwrap_or_else(|| vec![1000, 5000]);
    let wanted = |key: &str| {
        only.as_ref().map_or(true, |o| o.iter().any(|k| k == key))
            && (filter.is_empty() || filter.iter().any(|f| key.contains(f.as_str())))
    };
    if let Some(t) = &tools_wanted {
        for k in t {
            if !Tool::ALL.iter().any(|tool| tool.key() == k) {
                eprintln!("overhead: unknown tool {k:?} in CATBOX_BENCH_TOOLS");
                std::process::exit(2);
            }
        }
    }

    let catbox = match catbox_binary() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("overhead: {e}");
            std::process::exit(1);
        }
    };
    let work = std::env::temp_dir().join(format!("catbox-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("create the bench directory");
    let work = work
        .canonicalize()
        .expect("canonicalize the bench directory");
    let settings = Settings {
        pairs,
        catbox,
        floor: work.join("floor"),
        work,
    };

    println!("catbox overhead benchmark");
    println!("  catbox: {}", settings.catbox.display());
    println!("  pairs per row: {pairs} (CATBOX_BENCH_PAIRS)");
    println!("  cores: {}", num_cpus());
    println!("  kernel: {}", kernel());
    println!("  load average at start: {}", loadavg());
    println!();

    let mut notes: Vec<String> = Vec::new();

    // --- the rows of the builds ---------------------------------------------
    let mut build_tools = Vec::new();
    if BUILDS.iter().any(|b| wanted(b.key)) {
        for tool in Tool::ALL {
            if tools_wanted
                .as_ref()
                .is_some_and(|t| !t.iter().any(|k| k == tool.key()))
            {
                continue;
            }
            match tool.probe() {
                Ok(()) => build_tools.push(tool),
                Err(msg) => {
                    eprintln!("{msg}");
                    notes.push(msg);
                }
            }
        }
    }

    let mut workloads: Vec<Workload> = Vec::new();
    for build in BUILDS.iter().filter(|b| wanted(b.key)) {
        match orig_tarball(build.package, &settings.work) {
            Ok(tarball) => {
                workloads.push(build_workload(build, tarball, &settings.work, &build_tools))
            }
            Err(why) => {
                let msg = format!(
                    "SKIP {} rows: could not download the {} source ({why})",
                    build.key, build.package
                );
                eprintln!("{msg}");
                notes.push(msg);
            }
        }
    }

    // --- the C loops ----------------------------------------------------------
    let want_loops = ["ro", "wo", "spawn", "memory"].iter().any(|k| wanted(k));
    let prog = settings.work.join("loop");
    let data = settings.work.join("data");
    if want_loops {
        compile_c(LOOP_C, &prog, "the C workloads");
        if wanted("wo") {
            compile_c(FLOOR_C, &settings.floor, "the ptrace floor");
        }
        std::fs::create_dir_all(&data).expect("create the data directory");
        let existing = data.join("existing");
        std::fs::write(&existing, b"catbox\n").expect("write a file to open");
        let mut add = |key: &'static str, name: &str, argv: Vec<String>, tools: Vec<Tool>| {
            let (prog, data) = (prog.clone(), data.clone());
            workloads.push(Workload {
                key,
                name: name.into(),
                tools,
                prepare: Box::new(move |_| {
                    let mut a = vec![prog.display().to_string()];
                    a.extend(argv.iter().cloned());
                    Ok(Prepared {
                        cwd: data.clone(),
                        argv: a,
                        writable: vec![data.clone()],
                        cleanup: None,
                    })
                }),
            });
        };
        if wanted("ro") {
            add(
                "ro",
                "open O_RDONLY x100000",
                vec!["ro".into(), "100000".into(), existing.display().to_string()],
                vec![Tool::Catbox],
            );
        }
        if wanted("wo") {
            add(
                "wo",
                "open O_WRONLY\\|O_CREAT\\|O_TRUNC x20000",
                vec![
                    "wo".into(),
                    "20000".into(),
                    data.join("written").display().to_string(),
                ],
                vec![Tool::Catbox, Tool::Floor, Tool::CatboxCpu0, Tool::FloorCpu0],
            );
        }
        if wanted("spawn") {
            add(
                "spawn",
                "fork+exec /bin/true x2000",
                vec!["spawn".into(), "2000".into(), "/bin/true".into()],
                vec![Tool::Catbox],
            );
        }
    }

    // --- the fixed cost of a run, to read the short loops above by ----------
    if wanted("startup") {
        let dir = settings.work.clone();
        workloads.push(Workload {
            key: "startup",
            name: "startup: /bin/true once".into(),
            tools: vec![Tool::Catbox],
            prepare: Box::new(move |_| {
                Ok(Prepared {
                    cwd: dir.clone(),
                    argv: vec!["/bin/true".into()],
                    writable: vec![dir.clone()],
                    cleanup: None,
                })
            }),
        });
    }

    let mut rows = Vec::new();
    for w in &mut workloads {
        rows.extend(measure(w, &settings, &mut notes));
    }

    let mut memory = Vec::new();
    let mut memory_error = None;
    if wanted("memory") {
        for &n in &memory_counts {
            eprint!("supervisor memory, {n} processes ");
            match memory_run(&settings, &prog, &data, n) {
                Ok(m) => {
                    eprintln!(".");
                    memory.push(m);
                }
                Err(e) => {
                    eprintln!("\n  FAILED: {e}");
                    memory_error = Some(e);
                    break;
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&settings.work);

    print_table(&rows);
    print_stop_cost(&rows);
    if wanted("memory") {
        print_memory(&memory, memory_error.as_deref());
    }
    print_targets(&rows, &memory);
    for n in &notes {
        println!("note: {n}");
    }
    println!();
    println!(
        "total time {:.0} s; load average at the end: {}",
        started.elapsed().as_secs_f64(),
        loadavg()
    );
    if rows.iter().any(|r| r.fatal) || memory_error.is_some() {
        std::process::exit(1);
    }
}

/// The workload of one real build: unpack `tarball` afresh in a private
/// directory, run the build's script there.
fn build_workload(build: &Build, tarball: PathBuf, work: &Path, tools: &[Tool]) -> Workload {
    let file = tarball
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let work = work.to_path_buf();
    let key = build.key;
    let script = build.script;
    Workload {
        key,
        name: format!(
            "{} `{}`",
            file.split(".orig").next().unwrap_or(&file),
            script
        ),
        tools: tools.to_vec(),
        prepare: Box::new(move |i| {
            let dir = work.join(format!("{key}-{i}"));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            run_quiet(
                Command::new("tar")
                    .arg("-xf")
                    .arg(&tarball)
                    .arg("-C")
                    .arg(&dir),
            )?;
            let tree = single_subdir(&dir)?;
            Ok(Prepared {
                cwd: tree.clone(),
                argv: vec!["sh".into(), "-c".into(), script.into()],
                writable: vec![tree, PathBuf::from("/tmp")],
                cleanup: Some(dir),
            })
        }),
    }
}

/// The one directory a tarball unpacked into.
fn single_subdir(dir: &Path) -> Result<PathBuf, String> {
    let mut dirs = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| e.to_string())? {
        let e = e.map_err(|e| e.to_string())?;
        if e.file_type().map_err(|e| e.to_string())?.is_dir() {
            dirs.push(e.path());
        }
    }
    match dirs.len() {
        1 => Ok(dirs.remove(0)),
        n => Err(format!(
            "the tarball unpacked into {n} directories in {}",
            dir.display()
        )),
    }
}

/// One measured run.
struct Sample {
    secs: f64,
    stops: Option<u64>,
}

/// The command of one run: native when `tool` is `None`.
fn command(tool: Option<Tool>, p: &Prepared, s: &Settings, report: &Path, trace: &Path) -> Command {
    let mut cmd;
    match tool {
        None => {
            cmd = Command::new(&p.argv[0]);
        }
        Some(t) if t.is_catbox() => {
            cmd = on_cpu0(&s.catbox, t == Tool::CatboxCpu0);
            for d in &p.writable {
                cmd.arg("-w").arg(d);
            }
            cmd.arg("-q").arg("--report").arg(report);
            match t {
                Tool::CollectOnly => {
                    cmd.arg("--collect-only");
                }
                Tool::CatboxFakeroot => {
                    cmd.arg("--fakeroot");
                }
                Tool::Trace => {
                    cmd.arg("--trace").arg(trace);
                }
                Tool::Hardened => {
                    cmd.arg("--hardened");
                }
                Tool::Image => {
                    // A new, empty image directory each run.
                    let image = s.work.join("image");
                    let _ = std::fs::remove_dir_all(&image);
                    cmd.arg("--image").arg(image);
                }
                _ => {}
            }
            cmd.arg("--").arg(&p.argv[0]);
        }
        Some(t @ (Tool::Floor | Tool::FloorCpu0)) => {
            cmd = on_cpu0(&s.floor, t == Tool::FloorCpu0);
            cmd.arg(&p.argv[0]);
        }
        Some(t) => {
            let (argv, _) = t.wrapper().expect("another tool");
            cmd = Command::new(argv[0]);
            cmd.args(&argv[1..]).arg(&p.argv[0]);
        }
    }
    cmd.args(&p.argv[1..])
        .current_dir(&p.cwd)
        // The builds run their own `make -j2`, not in a jobserver of ours.
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    match user_library_path() {
        Some(v) => cmd.env("LD_LIBRARY_PATH", v),
        None => cmd.env_remove("LD_LIBRARY_PATH"),
    };
    cmd
}

/// Compile the C program `code` to `out` with `cc` (its source beside it, as
/// `OUT.c`), or exit saying what `what` was.
fn compile_c(code: &str, out: &Path, what: &str) {
    let src = out.with_extension("c");
    std::fs::write(&src, code).expect("write a C source");
    if let Err(e) = run_quiet(
        Command::new("cc")
            .args(["-O2", "-Wall", "-o"])
            .arg(out)
            .arg(&src),
    ) {
        eprintln!("overhead: cannot compile {what} with cc: {e}");
        std::process::exit(1);
    }
}

/// A command running `program`, under `taskset -c 0` when `pin`.
fn on_cpu0(program: &Path, pin: bool) -> Command {
    if pin {
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", "0"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// `LD_LIBRARY_PATH` without the directories `cargo bench` prepends (the
/// target directory and the Rust toolchain's libraries). Left in, every
/// program of a build would look for each of its libraries in four more
/// directories (and their `glibc-hwcaps` subdirectories) before the cache:
/// a few more failed opens natively, but five times the stops of the hello
/// build under `--trace` and three times under `--fakeroot`, which no real
/// build sees.
fn user_library_path() -> Option<std::ffi::OsString> {
    let value = std::env::var_os("LD_LIBRARY_PATH")?;
    let target = target_dir();
    let toolchains = std::env::var_os("RUSTUP_HOME").map(|h| Path::new(&h).join("toolchains"));
    let kept: Vec<PathBuf> = std::env::split_paths(&value)
        .filter(|d| {
            !d.starts_with(&target) && !toolchains.as_ref().is_some_and(|t| d.starts_with(t))
        })
        .collect();
    if kept.is_empty() {
        return None;
    }
    std::env::join_paths(kept).ok()
}

/// Runs a workload's rows: one untimed native warm-up, then `pairs` rounds in
/// which each row runs a native/tool pair in turn.
fn measure(w: &mut Workload, s: &Settings, notes: &mut Vec<String>) -> Vec<Row> {
    let mut rows: Vec<Row> = w
        .tools
        .iter()
        .map(|&tool| Row {
            key: w.key,
            name: w.name.clone(),
            tool,
            native: Vec::new(),
            sandboxed: Vec::new(),
            stops: Vec::new(),
            error: None,
            fatal: false,
        })
        .collect();
    if rows.is_empty() {
        return rows;
    }
    let report = s.work.join("report.json");
    let trace = s.work.join("trace.jsonl");
    let mut counter = 0;
    let mut run = |w: &mut Workload, tool: Option<Tool>| -> Result<Sample, String> {
        counter += 1;
        let p = (w.prepare)(counter)?;
        let _ = std::fs::remove_file(&report);
        let _ = std::fs::remove_file(&trace);
        let mut cmd = command(tool, &p, s, &report, &trace);
        cmd.stderr(Stdio::piped());
        let start = Instant::now();
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
        let secs = start.elapsed().as_secs_f64();
        if let Some(dir) = &p.cleanup {
            let _ = std::fs::remove_dir_all(dir);
        }
        let _ = std::fs::remove_file(&trace);
        let who = tool.map_or("native", |t| t.label());
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(10).collect();
            return Err(format!(
                "{who} run exited with {}: {}",
                out.status,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
        let mut stops = None;
        if tool.is_some_and(|t| t.is_catbox()) {
            let text = std::fs::read_to_string(&report)
                .map_err(|e| format!("no report at {}: {e}", report.display()))?;
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("bad report {text:?}: {e}"))?;
            let n = v["violations"].as_array().map_or(0, |a| a.len());
            if n != 0 {
                return Err(format!("{n} violation(s) in a {who} run: {text}"));
            }
            stops = v["stops"].as_u64();
        } else if matches!(tool, Some(Tool::Floor | Tool::FloorCpu0)) {
            stops = String::from_utf8_lossy(&out.stderr)
                .lines()
                .find_map(|l| l.strip_prefix("floor-stops ")?.trim().parse().ok());
        }
        Ok(Sample { secs, stops })
    };

    eprint!("{} ", w.name);
    let _ = std::io::stderr().flush();
    if let Err(e) = run(w, None) {
        eprintln!("\n  SKIPPED: the native run fails: {e}");
        let first = e.lines().next().unwrap_or("").to_string();
        notes.push(format!(
            "SKIP {} rows: the native run fails here: {}",
            w.key,
            e.replace('\n', " / ")
        ));
        for r in &mut rows {
            r.error = Some(format!("skipped, the native run fails: {first}"));
        }
        return rows;
    }
    for _ in 0..s.pairs {
        for r in rows.iter_mut() {
            if r.error.is_some() {
                continue;
            }
            let pair = run(w, None).and_then(|a| Ok((a, run(w, Some(r.tool))?)));
            match pair {
                Ok((a, b)) => {
                    r.native.push(a.secs);
                    r.sandboxed.push(b.secs);
                    if let Some(k) = b.stops {
                        r.stops.push(k);
                    }
                    eprint!(".");
                }
                Err(e) => {
                    eprint!("x");
                    r.fatal = r.tool.is_catbox();
                    notes.push(format!(
                        "{} under {} FAILED: {}",
                        w.key,
                        r.tool.label(),
                        e.replace('\n', " / ")
                    ));
                    r.error = Some(e);
                }
            }
            let _ = std::io::stderr().flush();
        }
    }
    eprintln!();
    for r in &rows {
        if let Some(e) = &r.error {
            eprintln!("  {} FAILED: {e}", r.tool.label());
        }
    }
    rows
}

/// Runs the fork+exec loop `spawns` times under catbox, and once natively,
/// and measures peak RSS.
fn memory_run(s: &Settings, prog: &Path, data: &Path, spawns: usize) -> Result<MemRow, String> {
    let p = Prepared {
        cwd: data.to_path_buf(),
        argv: vec![
            prog.display().to_string(),
            "spawn".into(),
            spawns.to_string(),
            "/bin/true".into(),
        ],
        writable: vec![data.to_path_buf()],
        cleanup: None,
    };
    let report = s.work.join("memory-report.json");
    let trace = s.work.join("memory-trace.jsonl");
    let errors = s.work.join("memory-stderr");
    let stderr = |_: ()| -> Result<Stdio, String> {
        std::fs::File::create(&errors)
            .map(Stdio::from)
            .map_err(|e| e.to_string())
    };

    let mut native = command(None, &p, s, &report, &trace);
    native.stderr(stderr(())?);
    let (_, native_ru, _, _) = spawn_rusage(&mut native, false)?;

    let _ = std::fs::remove_file(&report);
    let mut cmd = command(Some(Tool::Catbox), &p, s, &report, &trace);
    cmd.stderr(stderr(())?);
    let (status, ru, hwm, secs) = spawn_rusage(&mut cmd, true)?;
    if status != 0 {
        return Err(format!(
            "catbox exited with wait status {status:#x}: {}",
            std::fs::read_to_string(&errors).unwrap_or_default().trim()
        ));
    }
    let processes = std::fs::read_to_string(&report)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["processes"].as_u64());
    Ok(MemRow {
        spawns,
        processes,
        hwm_kib: hwm,
        maxrss_kib: ru.ru_maxrss as u64,
        native_maxrss_kib: native_ru.ru_maxrss as u64,
        secs,
    })
}

/// Spawns `cmd`, optionally samples its `VmHWM` until it has exited, and
/// reaps it with `wait4`: (wait status, rusage, VmHWM in KiB, seconds).
fn spawn_rusage(
    cmd: &mut Command,
    sample: bool,
) -> Result<(i32, libc::rusage, Option<u64>, f64), String> {
    let start = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    let pid = child.id() as libc::pid_t;
    let done = Arc::new(AtomicBool::new(false));
    let sampler = sample.then(|| {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = None;
            while !done.load(Ordering::Relaxed) {
                if let Some(k) = vm_hwm(pid) {
                    peak = Some(peak.map_or(k, |p: u64| p.max(k)));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            peak
        })
    });
    // Wait for the exit without reaping, so that the pid cannot be reused
    // while the sampler still reads /proc/PID/status (a zombie's has no
    // VmHWM line).
    // SAFETY: plain syscalls on our own child, with zeroed out-parameters.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        if libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        ) != 0
        {
            return Err(format!("waitid: {}", std::io::Error::last_os_error()));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let hwm = sampler.and_then(|t| t.join().ok()).flatten();
    let mut status = 0;
    // SAFETY: as above; `child` is not waited for by std afterwards.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        if libc::wait4(pid, &mut status, 0, &mut ru) != pid {
            return Err(format!("wait4: {}", std::io::Error::last_os_error()));
        }
        ru
    };
    drop(child);
    Ok((status, ru, hwm, secs))
}

/// `VmHWM` of a live process, KiB.
fn vm_hwm(pid: libc::pid_t) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn print_table(rows: &[Row]) {
    if rows.is_empty() {
        return;
    }
    println!();
    println!(
        "| workload | under | native (median) | under tool (median) | difference (median) | ratio median | ratio min | ratio max | stops/run | µs/stop |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        if let Some(e) = &r.error {
            let first = e.lines().next().unwrap_or("");
            let first: String = first.chars().take(160).collect();
            println!(
                "| {} | {} | FAILED: {} | | | | | | | |",
                r.name,
                r.tool.label(),
                first.replace('|', "\\|")
            );
            continue;
        }
        let ratios = r.ratios();
        let diffs: Vec<f64> = r
            .native
            .iter()
            .zip(&r.sandboxed)
            .map(|(n, s)| s - n)
            .collect();
        let (stops, per_stop) = if r.stops.len() == r.sandboxed.len() && !r.stops.is_empty() {
            let per = r.per_stop_us();
            let med_stops = median(&r.stops.iter().map(|&s| s as f64).collect::<Vec<_>>());
            (
                format!("{med_stops:.0}"),
                if per.is_empty() {
                    "-".to_string()
                } else {
                    format!("{:.2}", median(&per))
                },
            )
        } else {
            ("-".to_string(), "-".to_string())
        };
        println!(
            "| {} | {} | {} | {} | {} | {:.3}x | {:.3}x | {:.3}x | {} | {} |",
            r.name,
            r.tool.label(),
            fmt_secs(median(&r.native)),
            fmt_secs(median(&r.sandboxed)),
            fmt_secs(median(&diffs)),
            median(&ratios),
            ratios.iter().cloned().fold(f64::INFINITY, f64::min),
            ratios.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
            stops,
            per_stop
        );
    }
    println!();
    println!(
        "ratio = under tool / native per pair (median, min, max over {} pairs); µs/stop = median of (sandboxed - native) / stops per pair",
        rows.iter().map(|r| r.native.len()).max().unwrap_or(0)
    );
}

/// The per-stop medians of the write-open loop's rows, by tool.
fn stop_cost(rows: &[Row], tool: Tool) -> Option<(f64, Vec<f64>, u64)> {
    let r = rows
        .iter()
        .find(|r| r.key == "wo" && r.tool == tool && r.error.is_none())?;
    let per = r.per_stop_us();
    if per.is_empty() {
        return None;
    }
    Some((median(&per), per, r.stops.first().copied().unwrap_or(0)))
}

fn print_stop_cost(rows: &[Row]) {
    if !rows.iter().any(|r| r.key == "wo") {
        return;
    }
    println!();
    println!("stopped-call cost (write-open loop, (sandboxed - native) / stops):");
    for tool in [Tool::Catbox, Tool::Floor, Tool::CatboxCpu0, Tool::FloorCpu0] {
        match stop_cost(rows, tool) {
            Some((m, per, stops)) => println!(
                "  {}: median {m:.2} µs, min {:.2} µs, max {:.2} µs over {} pairs, {stops} stops per run",
                tool.label(),
                per.iter().cloned().fold(f64::INFINITY, f64::min),
                per.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                per.len(),
            ),
            None => println!("  {}: no figure (failed or no stops)", tool.label()),
        }
    }
    let own = |a: Tool, b: Tool| Some(stop_cost(rows, a)?.0 - stop_cost(rows, b)?.0);
    if let (Some(two), Some(one)) = (
        own(Tool::Catbox, Tool::Floor),
        own(Tool::CatboxCpu0, Tool::FloorCpu0),
    ) {
        println!(
            "  catbox's own work per stop (catbox - floor): {two:.2} µs across CPUs, {one:.2} µs on one CPU; the rest is the kernel's ptrace round trip"
        );
    }
}

fn print_memory(memory: &[MemRow], error: Option<&str>) {
    println!();
    println!("supervisor memory (catbox enforce, fork+exec loop of /bin/true):");
    println!();
    println!("| processes started | processes in report | catbox VmHWM | wait4 ru_maxrss (catbox and tracees) | native loop ru_maxrss | run time |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for m in memory {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            m.spawns + 1,
            m.processes.map_or("-".into(), |p| p.to_string()),
            m.hwm_kib.map_or("-".into(), fmt_kib),
            fmt_kib(m.maxrss_kib),
            fmt_kib(m.native_maxrss_kib),
            fmt_secs(m.secs)
        );
    }
    if let Some(e) = error {
        println!("| FAILED: {} | | | | | |", e.replace('|', "\\|"));
    }
}

fn fmt_kib(k: u64) -> String {
    format!("{:.1} MiB", k as f64 / 1024.0)
}

/// The targets of issue 7, each met or not by this run's figures.
fn print_targets(rows: &[Row], memory: &[MemRow]) {
    let ratio = |key: &str, tool: Tool| {
        rows.iter()
            .find(|r| r.key == key && r.tool == tool)
            .and_then(Row::median_ratio)
    };
    let mut lines = Vec::new();
    let mut check = |what: String, figure: String, ok: bool| {
        lines.push(format!(
            "| {what} | {figure} | {} |",
            if ok { "met" } else { "NOT met" }
        ));
    };
    for (key, limit) in [("zlib", 1.03), ("lua", 1.03), ("hello", 1.08)] {
        if let Some(r) = ratio(key, Tool::Catbox) {
            check(
                format!("{key}: catbox ≤ {limit:.2}x"),
                format!("{r:.3}x"),
                r <= limit,
            );
        }
        if let (Some(e), Some(c)) = (ratio(key, Tool::Catbox), ratio(key, Tool::CollectOnly)) {
            check(
                format!("{key}: --collect-only within 1% of enforce"),
                format!("{:+.1}%", (c / e - 1.0) * 100.0),
                c <= e * 1.01,
            );
        }
        if let (Some(c), Some(f)) = (ratio(key, Tool::CatboxFakeroot), ratio(key, Tool::Fakeroot)) {
            check(
                format!("{key}: --fakeroot ≤ fakeroot"),
                format!("{c:.3}x vs {f:.3}x"),
                c <= f,
            );
        }
    }
    if let Some(r) = ratio("hello", Tool::Trace) {
        check("hello: --trace ≤ 1.5x".into(), format!("{r:.3}x"), r <= 1.5);
    }
    if let Some((m, _, _)) = stop_cost(rows, Tool::Catbox) {
        let floor = match (
            stop_cost(rows, Tool::Floor),
            stop_cost(rows, Tool::CatboxCpu0),
            stop_cost(rows, Tool::FloorCpu0),
        ) {
            (Some(f), Some(c1), Some(f1)) => format!(
                " (bare ptrace floor {:.2} µs; on one CPU catbox {:.2} µs, floor {:.2} µs)",
                f.0, c1.0, f1.0
            ),
            _ => String::new(),
        };
        check(
            "stopped-call cost ≤ 5 µs".into(),
            format!("{m:.2} µs{floor}"),
            m <= 5.0,
        );
    }
    let hwm = |m: &MemRow| m.hwm_kib.unwrap_or(m.maxrss_kib);
    if let Some(big) = memory.iter().max_by_key(|m| m.spawns) {
        check(
            format!(
                "supervisor peak RSS ≤ 20 MiB at {} processes",
                big.spawns + 1
            ),
            fmt_kib(hwm(big)),
            hwm(big) <= 20 * 1024,
        );
        if let Some(small) = memory.iter().min_by_key(|m| m.spawns) {
            if small.spawns < big.spawns {
                let growth = hwm(big) as f64 - hwm(small) as f64;
                // Allow a little noise (allocator arenas), not growth per process.
                check(
                    format!(
                        "supervisor RSS not growing ({} -> {} processes)",
                        small.spawns + 1,
                        big.spawns + 1
                    ),
                    format!("{:+.0} KiB", growth),
                    growth <= 512.0,
                );
            }
        }
    }
    if lines.is_empty() {
        return;
    }
    println!();
    println!("targets (issue 7):");
    println!();
    println!("| target | measured | |");
    println!("|---|---:|---|");
    for l in lines {
        println!("{l}");
    }
}

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

fn fmt_secs(s: f64) -> String {
    if s.abs() >= 1.0 {
        format!("{s:.2} s")
    } else if s.abs() >= 0.01 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.2} ms", s * 1e3)
    }
}

/// Runs a command, turning a failure into its stderr.
fn run_quiet(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?} exited with {}: {}",
            cmd,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// `CATBOX`, else the release binary cargo built for this bench, else
/// `target/release/catbox` (built if missing).
fn catbox_binary() -> Result<PathBuf, String> {
    if let Some(c) = std::env::var_os("CATBOX") {
        let c = PathBuf::from(c);
        return if c.is_file() {
            Ok(c)
        } else {
            Err(format!("CATBOX={} is not a file", c.display()))
        };
    }
    if let Some(c) = option_env!("CARGO_BIN_EXE_catbox") {
        let c = PathBuf::from(c);
        if c.is_file() {
            return Ok(c);
        }
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let c = target_dir().join("release/catbox");
    if !c.is_file() {
        eprintln!("building {} ...", c.display());
        run_quiet(
            Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(["build", "--release", "--bin", "catbox"])
                .current_dir(manifest),
        )?;
    }
    Ok(c)
}

fn target_dir() -> PathBuf {
    match option_env!("CARGO_TARGET_TMPDIR") {
        Some(t) => Path::new(t).parent().unwrap_or(Path::new(t)).to_path_buf(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
    }
}

/// The cache of source tarballs, shared with the integration tests and the
/// examples: `CATBOX_REAL_INPUTS`, else `target/real-inputs/`.
fn cache_dir() -> PathBuf {
    std::env::var_os("CATBOX_REAL_INPUTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("real-inputs"))
}

/// The cached orig tarball of a source package (`PKG_VERSION.orig.tar.*`).
/// Only a tarball counts: Debian ships a detached signature
/// (`.orig.tar.gz.asc`) next to it, which sorts after it and is no archive.
fn cached_orig(dir: &Path, package: &str) -> Option<PathBuf> {
    let prefix = format!("{package}_");
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && is_orig_tarball(n))
        })
        .collect();
    found.sort();
    found.pop()
}

/// Whether a file name is an orig tarball (`*.orig.tar`, optionally
/// compressed), not a signature or checksum beside one.
fn is_orig_tarball(name: &str) -> bool {
    name.rsplit_once(".orig.tar")
        .is_some_and(|(_, rest)| matches!(rest, "" | ".gz" | ".xz" | ".bz2" | ".lzma" | ".zst"))
}

/// The orig tarball of `package`: from the cache, else downloaded with
/// `fetch-debian-source.sh` (as `PKG`, then as `PKG/bookworm` for when a
/// newer security upload is listed but not on the mirror) and kept there.
fn orig_tarball(package: &str, work: &Path) -> Result<PathBuf, String> {
    let cache = cache_dir();
    if let Some(t) = cached_orig(&cache, package) {
        return Ok(t);
    }
    let shared = std::env::var_os("CATBOX_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let script = shared.join("real-inputs/fetch-debian-source.sh");
    if !script.is_file() {
        return Err(format!(
            "fetch script not found at {} (set CATBOX_SHARED)",
            script.display()
        ));
    }
    eprintln!("fetching the {package} source ...");
    let mut why = Vec::new();
    for spec in [package.to_string(), format!("{package}/bookworm")] {
        let dest = work.join(format!("src-{}", spec.replace('/', "-")));
        let _ = std::fs::remove_dir_all(&dest);
        let fetched = run_quiet(Command::new("sh").arg(&script).arg(&dest).arg(&spec))
            .map_err(|e| e.lines().last().unwrap_or("").to_string())
            .and_then(|()| {
                cached_orig(&dest, package)
                    .ok_or_else(|| format!("no {package}_*.orig.tar.* was downloaded"))
            });
        match fetched {
            Ok(t) => {
                let name = t.file_name().expect("a file name").to_owned();
                let partial = cache.join(format!(
                    ".{}.{}",
                    name.to_string_lossy(),
                    std::process::id()
                ));
                let cached = cache.join(&name);
                if std::fs::create_dir_all(&cache).is_ok()
                    && std::fs::copy(&t, &partial).is_ok()
                    && std::fs::rename(&partial, &cached).is_ok()
                {
                    return Ok(cached);
                }
                let _ = std::fs::remove_file(&partial);
                return Ok(t);
            }
            Err(e) => why.push(format!("{spec}: {e}")),
        }
    }
    Err(why.join("; "))
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}
