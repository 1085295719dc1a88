//! Whole-program overhead of catbox: native vs. sandboxed runs, alternated.
//!
//! ```text
//! cargo bench --bench overhead
//! ```
//!
//! Each workload runs as pairs, native then under `catbox` (A B A B ...), and
//! the table gives the median, min and max of the per-pair ratio
//! sandboxed/native, the calls that stopped per sandboxed run (the report's
//! `stops`) and the cost of one stop, (sandboxed - native) / stops.
//!
//! Workloads:
//! * `hello build`: GNU hello 2.10 `./configure && make` from a freshly
//!   unpacked tree each run, sandboxed with `-w <tree> -w /tmp`;
//! * `open O_RDONLY x100000`, `open O_WRONLY|O_CREAT|O_TRUNC x20000` (inside
//!   the writable dir), `fork+exec /bin/true x2000`: a small C program
//!   compiled here with `cc`;
//! * `hello build, strace -f`: for comparison, when strace is installed;
//! * `startup`: `/bin/true` once, the fixed cost of starting a sandbox, by
//!   which to read the short loops.
//!
//! Environment:
//! * `CATBOX_BENCH_PAIRS` (default 5): pairs per workload;
//! * `CATBOX_BENCH_ONLY`: a comma-separated subset of
//!   `hello,strace,ro,wo,spawn,startup`;
//! * `CATBOX`: the catbox binary (default: the release build cargo made for
//!   this bench, `target/release/catbox`);
//! * `CATBOX_SHARED`: the folder holding `real-inputs/fetch-debian-source.sh`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const HELLO_TARBALL: &str = "hello_2.10.orig.tar.gz";

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

/// One measured run.
struct Sample {
    secs: f64,
    stops: Option<u64>,
}

/// A workload: how to prepare a run (untimed), and the command and the
/// catbox write rules for the timed part.
struct Workload {
    name: String,
    /// Run before each timed run; returns (cwd, argv, writable paths).
    prepare: Box<dyn FnMut(usize) -> Result<Prepared, String>>,
    /// Compare against strace -f instead of catbox.
    strace: bool,
}

struct Prepared {
    cwd: PathBuf,
    argv: Vec<String>,
    writable: Vec<PathBuf>,
    cleanup: Option<PathBuf>,
}

struct Row {
    name: String,
    tool: &'static str,
    native: Vec<f64>,
    sandboxed: Vec<f64>,
    stops: Vec<u64>,
    error: Option<String>,
}

fn main() {
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
    let only: Option<Vec<String>> = std::env::var("CATBOX_BENCH_ONLY")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let wanted = |key: &str| {
        only.as_ref().map_or(true, |o| o.iter().any(|k| k == key))
            && (filter.is_empty() || filter.iter().any(|f| key.contains(f.as_str())))
    };

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

    println!("catbox overhead benchmark");
    println!("  catbox: {}", catbox.display());
    println!("  pairs per workload: {pairs} (CATBOX_BENCH_PAIRS)");
    println!("  cores: {}", num_cpus());
    println!("  kernel: {}", kernel());
    println!();

    let mut workloads: Vec<Workload> = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    // --- GNU hello ---------------------------------------------------------
    if wanted("hello") || wanted("strace") {
        match hello_tarball(&work) {
            Ok(tarball) => {
                let has_strace = Command::new("strace")
                    .arg("-V")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                let mut kinds = Vec::new();
                if wanted("hello") {
                    kinds.push(false);
                }
                if wanted("strace") {
                    if has_strace {
                        kinds.push(true);
                    } else {
                        notes.push("strace row skipped: strace is not installed".into());
                    }
                }
                for strace in kinds {
                    let tarball = tarball.clone();
                    let work = work.clone();
                    workloads.push(Workload {
                        name: "GNU hello ./configure && make".into(),
                        strace,
                        prepare: Box::new(move |i| {
                            let dir = work.join(format!("hello-{i}"));
                            let _ = std::fs::remove_dir_all(&dir);
                            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                            run_quiet(
                                Command::new("tar")
                                    .arg("-xzf")
                                    .arg(&tarball)
                                    .arg("-C")
                                    .arg(&dir),
                            )?;
                            let tree = dir.join("hello-2.10");
                            Ok(Prepared {
                                cwd: tree.clone(),
                                argv: vec!["sh".into(), "-c".into(), "./configure && make".into()],
                                writable: vec![tree, PathBuf::from("/tmp")],
                                cleanup: Some(dir),
                            })
                        }),
                    });
                }
            }
            Err(why) => {
                let msg = format!("SKIP hello rows: could not download GNU hello ({why})");
                eprintln!("{msg}");
                notes.push(msg);
            }
        }
    }

    // --- the C loops -------------------------------------------------------
    if wanted("ro") || wanted("wo") || wanted("spawn") {
        let prog = work.join("loop");
        let src = work.join("loop.c");
        std::fs::write(&src, LOOP_C).expect("write loop.c");
        if let Err(e) = run_quiet(
            Command::new("cc")
                .args(["-O2", "-Wall", "-o"])
                .arg(&prog)
                .arg(&src),
        ) {
            eprintln!("overhead: cannot compile the C workloads with cc: {e}");
            std::process::exit(1);
        }
        let data = work.join("data");
        std::fs::create_dir_all(&data).expect("create the data directory");
        let existing = data.join("existing");
        std::fs::write(&existing, b"catbox\n").expect("write a file to open");
        let mut add = |name: &str, argv: Vec<String>| {
            let (prog, data) = (prog.clone(), data.clone());
            workloads.push(Workload {
                name: name.into(),
                strace: false,
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
                "open O_RDONLY x100000",
                vec!["ro".into(), "100000".into(), existing.display().to_string()],
            );
        }
        if wanted("wo") {
            add(
                "open O_WRONLY\\|O_CREAT\\|O_TRUNC x20000",
                vec![
                    "wo".into(),
                    "20000".into(),
                    data.join("written").display().to_string(),
                ],
            );
        }
        if wanted("spawn") {
            add(
                "fork+exec /bin/true x2000",
                vec!["spawn".into(), "2000".into(), "/bin/true".into()],
            );
        }
    }

    // --- the fixed cost of a run, to read the short loops above by ---------
    if wanted("startup") {
        let dir = work.clone();
        workloads.push(Workload {
            name: "startup: /bin/true once".into(),
            strace: false,
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
        rows.push(measure(w, &catbox, &work, pairs));
    }
    let _ = std::fs::remove_dir_all(&work);

    print_table(&rows);
    for n in &notes {
        println!("note: {n}");
    }
    if rows.iter().any(|r| r.error.is_some()) {
        std::process::exit(1);
    }
}

/// Runs `pairs` native/sandboxed pairs of one workload, after one untimed
/// native warm-up run.
fn measure(w: &mut Workload, catbox: &Path, work: &Path, pairs: usize) -> Row {
    let tool = if w.strace { "strace -f" } else { "catbox" };
    let mut row = Row {
        name: w.name.clone(),
        tool,
        native: Vec::new(),
        sandboxed: Vec::new(),
        stops: Vec::new(),
        error: None,
    };
    eprint!("{} [{}] ", w.name, tool);
    let report = work.join("report.json");
    let run = |w: &mut Workload, i: usize, sandboxed: bool| -> Result<Sample, String> {
        let p = (w.prepare)(i)?;
        let mut cmd;
        if !sandboxed {
            cmd = Command::new(&p.argv[0]);
            cmd.args(&p.argv[1..]);
        } else if w.strace {
            cmd = Command::new("strace");
            cmd.args(["-f", "-o", "/dev/null"]).args(&p.argv);
        } else {
            let _ = std::fs::remove_file(&report);
            cmd = Command::new(catbox);
            for d in &p.writable {
                cmd.arg("-w").arg(d);
            }
            cmd.arg("-q").arg("--report").arg(&report).arg("--");
            cmd.args(&p.argv);
        }
        cmd.current_dir(&p.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let start = Instant::now();
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run {:?}: {e}", p.argv))?;
        let secs = start.elapsed().as_secs_f64();
        if let Some(dir) = &p.cleanup {
            let _ = std::fs::remove_dir_all(dir);
        }
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(10).collect();
            return Err(format!(
                "{} run exited with {}: {}",
                if sandboxed { tool } else { "native" },
                out.status,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
        let mut stops = None;
        if sandboxed && !w.strace {
            let text = std::fs::read_to_string(&report)
                .map_err(|e| format!("no report at {}: {e}", report.display()))?;
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("bad report {text:?}: {e}"))?;
            let n = v["violations"].as_array().map_or(0, |a| a.len());
            if n != 0 {
                return Err(format!("{n} violation(s) in a sandboxed run: {text}"));
            }
            stops = v["stops"].as_u64();
        }
        Ok(Sample { secs, stops })
    };

    let result = (|| -> Result<(), String> {
        run(w, 0, false)?; // warm-up
        for i in 0..pairs {
            let a = run(w, 2 * i + 1, false)?;
            let b = run(w, 2 * i + 2, true)?;
            eprint!(".");
            row.native.push(a.secs);
            row.sandboxed.push(b.secs);
            if let Some(s) = b.stops {
                row.stops.push(s);
            }
        }
        Ok(())
    })();
    eprintln!();
    if let Err(e) = result {
        eprintln!("  FAILED: {e}");
        row.error = Some(e);
    }
    row
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "| workload | under | native (median) | sandboxed (median) | difference (median) | ratio median | ratio min | ratio max | stops/run | µs/stop |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        if let Some(e) = &r.error {
            let first = e.lines().next().unwrap_or("");
            println!("| {} | {} | FAILED: {first} |", r.name, r.tool);
            continue;
        }
        let ratios: Vec<f64> = r
            .native
            .iter()
            .zip(&r.sandboxed)
            .map(|(n, s)| s / n)
            .collect();
        let diffs: Vec<f64> = r
            .native
            .iter()
            .zip(&r.sandboxed)
            .map(|(n, s)| s - n)
            .collect();
        let (stops, per_stop) = if r.stops.len() == r.sandboxed.len() && !r.stops.is_empty() {
            let per: Vec<f64> = r
                .native
                .iter()
                .zip(&r.sandboxed)
                .zip(&r.stops)
                .filter(|(_, &s)| s > 0)
                .map(|((n, s), &k)| (s - n) * 1e6 / k as f64)
                .collect();
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
            r.tool,
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
        "ratio = sandboxed/native per pair; µs/stop = median of (sandboxed - native) / stops per pair"
    );
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

/// The GNU hello tarball: from `target/real-inputs/` (shared with the
/// integration test and the example), else downloaded into it.
fn hello_tarball(work: &Path) -> Result<PathBuf, String> {
    let cache = target_dir().join("real-inputs");
    let cached = cache.join(HELLO_TARBALL);
    if cached.is_file() {
        return Ok(cached);
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
    let dest = work.join("src");
    run_quiet(Command::new("sh").arg(&script).arg(&dest).arg("hello"))?;
    let fetched = dest.join(HELLO_TARBALL);
    if !fetched.is_file() {
        return Err(format!(
            "{} did not leave {HELLO_TARBALL}",
            script.display()
        ));
    }
    let partial = cache.join(format!(".{HELLO_TARBALL}.{}", std::process::id()));
    if std::fs::create_dir_all(&cache).is_ok()
        && std::fs::copy(&fetched, &partial).is_ok()
        && std::fs::rename(&partial, &cached).is_ok()
    {
        Ok(cached)
    } else {
        Ok(fetched)
    }
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}
