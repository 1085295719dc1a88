//! Run a command under catbox from Rust and print its violations.
//!
//! ```sh
//! cargo run --example sandbox_command -- /tmp sh -c 'echo hi > /tmp/ok; echo no > /etc/nope'
//! ```
//! The first argument is the one writable directory; the rest is the command.

use catbox_core::{Command, Sandbox};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let writable = args
        .next()
        .ok_or("usage: sandbox_command WRITABLE_DIR COMMAND [ARG...]")?;
    let cmd = Command::from_argv(args)?;
    let mut sandbox = Sandbox::new();
    sandbox.allow_write(&writable)?;
    sandbox.on_violation(|v| eprintln!("violation: {v}"));
    let report = sandbox.run(&cmd)?;
    println!(
        "exit status {}, {} violation(s), {} process(es), {} stopped call(s)",
        report.shell_status(),
        report.violations.len(),
        report.processes,
        report.stops
    );
    for v in &report.violations {
        println!(
            "{} {} -> {}",
            v.operation,
            v.path.display(),
            v.canonical.display()
        );
    }
    Ok(())
}
