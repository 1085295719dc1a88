//! `catbox deps`: `analyze` on any log bytes (written to a temp file) must
//! not panic, must succeed (the file is readable; bad lines are problems,
//! not errors), and its text and JSON renderings must not panic either.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use catbox_core::deps::{self, DepsOptions};
use libfuzzer_sys::fuzz_target;

struct Env {
    log: PathBuf,
    opts: DepsOptions,
}

static ENV: OnceLock<Env> = OnceLock::new();

extern "C" fn cleanup() {
    if let Some(env) = ENV.get() {
        if let Some(dir) = env.log.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A scratch directory with a build directory and a small fake dpkg
/// database (lists, a diversion, a merged-/usr spelling).
fn env() -> &'static Env {
    ENV.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("catbox-fuzz-deps-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let dpkg = dir.join("dpkg");
        std::fs::create_dir_all(dpkg.join("info")).unwrap();
        std::fs::create_dir_all(dir.join("build")).unwrap();
        std::fs::write(
            dpkg.join("info/libc6:amd64.list"),
            "/.\n/lib\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libc.so.6\n/usr/include/stdio.h\n",
        )
        .unwrap();
        std::fs::write(
            dpkg.join("info/gcc-12.list"),
            "/.\n/usr\n/usr/bin\n/usr/bin/x86_64-linux-gnu-gcc-12\n/usr/bin/gcc\n",
        )
        .unwrap();
        std::fs::write(
            dpkg.join("diversions"),
            "/usr/bin/gcc\n/usr/bin/gcc.real\ngcc-wrapper\n/etc/x\n/etc/x.orig\n:\n",
        )
        .unwrap();
        // SAFETY: registering a plain extern "C" fn.
        unsafe { libc::atexit(cleanup) };
        Env {
            log: dir.join("log.jsonl"),
            opts: DepsOptions {
                build_dir: dir.join("build"),
                dpkg_admin_dir: dpkg,
                ..DepsOptions::default()
            },
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let env = env();
    std::fs::write(&env.log, data).unwrap();
    let a = match deps::analyze(&env.log, &env.opts) {
        Ok(a) => a,
        Err(e) => panic!("analyze failed on a readable log: {e}"),
    };
    let text = a.render_text();
    assert!(!text.is_empty());
    let json = a.to_json();
    let s = serde_json::to_string(&json).unwrap();
    let _: serde_json::Value = serde_json::from_str(&s).unwrap();
});
