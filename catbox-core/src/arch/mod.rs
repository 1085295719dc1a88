//! Architecture-specific facts: system call numbers and names, the audit
//! architecture checked by the seccomp filter, and the register layout used
//! to cancel a call or change its return value. Only x86_64 exists today.

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use x86_64::*;

#[cfg(not(target_arch = "x86_64"))]
compile_error!("catbox supports x86_64 Linux only for now (see arch/mod.rs)");
