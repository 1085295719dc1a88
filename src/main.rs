//! `catbox`: run a command in the sandbox from a shell.
//!
//! A thin front end over catbox-core: it parses the options of SPEC §5.2,
//! prints violations as they happen and writes the JSON report.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use catbox_core::{Command, Error, Network, Sandbox};
use clap::Parser;

/// Run COMMAND with writes confined to the given paths; every write
/// elsewhere is denied (EACCES) and reported.
///
/// `catbox deps TRACE --build-dir DIR` analyses an operation log instead
/// (see `catbox deps --help`).
#[derive(Parser, Debug)]
#[command(name = "catbox", version, about, long_about = None)]
struct Cli {
    /// Allow writes below PATH (absolute; repeatable)
    #[arg(short = 'w', long = "write", value_name = "PATH")]
    write: Vec<PathBuf>,
    /// Allow writes to canonical paths matching RE (repeatable)
    #[arg(long = "write-regex", value_name = "RE")]
    write_regex: Vec<String>,
    /// Allow network access (default: denied)
    #[arg(short = 'n', long)]
    network: bool,
    /// Record violations, let the calls through
    #[arg(long)]
    collect_only: bool,
    /// Write the JSON report to FILE ('-' for stdout)
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Write the operation log (JSON Lines) to FILE
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Fake root: record chown and device nodes instead of performing them,
    /// report uid 0 and the recorded owners and modes
    #[arg(long)]
    fakeroot: bool,
    /// Load the fakeroot state from FILE (if it exists) and save it there
    /// at the end (implies --fakeroot)
    #[arg(long, value_name = "FILE")]
    fakeroot_state: Option<PathBuf>,
    /// Write an mtree(5) manifest of --manifest-root with the faked owners,
    /// modes and devices to FILE (implies --fakeroot)
    #[arg(long, value_name = "FILE", requires = "manifest_root")]
    manifest: Option<PathBuf>,
    /// The tree the manifest describes (e.g. the DESTDIR of make install)
    #[arg(long, value_name = "DIR", requires = "manifest")]
    manifest_root: Option<PathBuf>,
    /// Also confine the command with Landlock, so the kernel enforces the
    /// writable paths too (closes check-then-use races; path rules only)
    #[arg(long)]
    hardened: bool,
    /// Root view: show the command the host's whole tree, and put its
    /// writes outside the writable paths into DIR (new or empty) at the same
    /// paths instead of the host; DIR/.catbox-removed lists what it removed
    #[arg(long, value_name = "DIR")]
    image: Option<PathBuf>,
    /// Exit 1 if any violation was recorded
    #[arg(long)]
    fail_on_violation: bool,
    /// Do not print violations to stderr
    #[arg(short, long)]
    quiet: bool,
    /// The command to run and its arguments
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    command: Vec<OsString>,
}

/// `catbox deps TRACE --build-dir DIR`: what a traced build read, ran and
/// wrote, with the Debian packages that own its inputs.
#[derive(Parser, Debug)]
#[command(name = "catbox deps", version, about, long_about = None)]
struct DepsCli {
    /// The operation log written by `catbox --trace`
    #[arg(value_name = "TRACE")]
    trace: PathBuf,
    /// The build directory (its files are outputs, not inputs)
    #[arg(long, value_name = "DIR")]
    build_dir: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum Format {
    Text,
    Json,
}

fn deps_main(args: impl Iterator<Item = OsString>) -> ExitCode {
    let cli = match DepsCli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let opts = catbox_core::deps::DepsOptions {
        build_dir: cli.build_dir,
        ..Default::default()
    };
    let analysis = match catbox_core::deps::analyze(&cli.trace, &opts) {
        Ok(a) => a,
        Err(e) => return fail(e, 125),
    };
    const SHOWN: usize = 20;
    for p in analysis.problems.iter().take(SHOWN) {
        eprintln!("catbox deps: {}: {p}", cli.trace.display());
    }
    if analysis.problems.len() > SHOWN {
        eprintln!(
            "catbox deps: {}: ... and {} more unusable lines",
            cli.trace.display(),
            analysis.problems.len() - SHOWN
        );
    }
    let text = match cli.format {
        Format::Text => analysis.render_text(),
        Format::Json => match serde_json::to_string_pretty(&analysis.to_json()) {
            Ok(t) => t + "\n",
            Err(e) => return fail(e, 125),
        },
    };
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .is_err()
    {
        return ExitCode::from(125);
    }
    if analysis.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    // clap's message spans lines ("required arguments were not provided:"
    // then the arguments): keep it to one line.
    let msg = e.to_string();
    let mut lines = msg.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut first = lines.next().unwrap_or("invalid arguments").to_string();
    if first.ends_with(':') {
        if let Some(next) = lines.next() {
            first = format!("{first} {next}");
        }
    }
    fail(first.trim_start_matches("error: "), 125)
}

fn fail(msg: impl std::fmt::Display, code: u8) -> ExitCode {
    eprintln!("catbox: {msg}");
    ExitCode::from(code)
}

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    if std::env::args_os().nth(1).is_some_and(|a| a == "deps") {
        let argv0 = args.next().unwrap_or_default();
        args.next();
        return deps_main(std::iter::once(argv0).chain(args));
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    if let Some(first) = cli.command.first() {
        // clap takes an unknown option for the command; a command that
        // starts with '-' must come after `--`.
        let raw: Vec<OsString> = std::env::args_os().collect();
        let after_dashes = raw.windows(2).any(|w| w[0] == "--" && &w[1] == first);
        if first.as_encoded_bytes().starts_with(b"-") && !after_dashes {
            return fail(
                format!(
                    "unknown option '{}' (put the command after `--`; see --help)",
                    first.to_string_lossy()
                ),
                125,
            );
        }
    }
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = match e {
                Error::CommandNotFound(_) => 127,
                Error::NotExecutable { .. } => 126,
                _ => 125,
            };
            fail(e, code)
        }
    }
}

fn run(cli: Cli) -> Result<u8, Error> {
    let cmd = Command::from_argv(&cli.command)?;
    let mut sb = Sandbox::new();
    for w in &cli.write {
        sb.allow_write(w)?;
    }
    for r in &cli.write_regex {
        sb.allow_write_regex(r)?;
    }
    sb.network(if cli.network {
        Network::Allowed
    } else {
        Network::Denied
    });
    sb.collect_only(cli.collect_only);
    if let Some(t) = &cli.trace {
        sb.trace_file(t)?;
    }
    sb.fakeroot(cli.fakeroot);
    sb.hardened(cli.hardened);
    if let Some(s) = &cli.fakeroot_state {
        sb.fakeroot_state(s);
    }
    if let (Some(m), Some(r)) = (&cli.manifest, &cli.manifest_root) {
        sb.fakeroot_manifest(m, r);
    }
    if let Some(dir) = &cli.image {
        sb.image(dir);
    }
    if !cli.quiet {
        sb.on_violation(|v| eprintln!("catbox: violation: {v}"));
    }
    // Terminal signals go to the command (same process group); catbox
    // itself keeps tracing until the command is gone.
    // SAFETY: setting a signal disposition to SIG_IGN has no preconditions.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGQUIT, libc::SIG_IGN);
    }
    let report = sb.run(&cmd)?;
    if let Some(path) = &cli.report {
        let json = serde_json::to_string_pretty(&report).map_err(|e| Error::Os {
            what: "serialize the report",
            source: std::io::Error::other(e),
        })?;
        let res = if path.as_os_str() == "-" {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{json}").and_then(|_| out.flush())
        } else {
            std::fs::write(path, json + "\n")
        };
        res.map_err(|source| Error::Os {
            what: "write the report",
            source,
        })?;
    }
    if let (Some(img), false) = (&report.image, cli.quiet) {
        eprintln!(
            "catbox: image {}: {} added, {} modified, {} removed",
            img.dir.display(),
            img.added.len(),
            img.modified.len(),
            img.removed.len()
        );
    }
    if let Some(e) = &report.log_error {
        eprintln!("catbox: failed to write the operation log: {e}");
        return Ok(125);
    }
    let status = report.shell_status();
    if cli.fail_on_violation && !report.violations.is_empty() && status == 0 {
        return Ok(1);
    }
    Ok(u8::try_from(status.clamp(0, 255)).unwrap_or(1))
}
