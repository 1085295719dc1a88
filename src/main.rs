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

fn fail(msg: impl std::fmt::Display, code: u8) -> ExitCode {
    eprintln!("catbox: {msg}");
    ExitCode::from(code)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("invalid arguments");
            return fail(first.trim_start_matches("error: "), 125);
        }
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
