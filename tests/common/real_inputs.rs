//! Real third-party inputs: Debian source packages fetched with
//! `shared/real-inputs/fetch-debian-source.sh` and cached in
//! `target/real-inputs/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const TARBALL: &str = "hello_2.10.orig.tar.gz";

/// `target/real-inputs/`: shared with `examples/hello-build.sh`, so that
/// repeated runs do not download again. `CATBOX_REAL_INPUTS` overrides it.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CATBOX_REAL_INPUTS") {
        return PathBuf::from(d);
    }
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("real-inputs")
}

/// The shared folder beside the repository (or `CATBOX_SHARED`).
pub fn fetch_script() -> PathBuf {
    let shared = std::env::var_os("CATBOX_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    shared.join("real-inputs/fetch-debian-source.sh")
}

/// The path of the hello tarball, downloading it into the cache if needed;
/// `Err` says why it could not be had.
pub fn hello_tarball() -> Result<PathBuf, String> {
    let cache = cache_dir();
    let cached = cache.join(TARBALL);
    if cached.is_file() {
        return Ok(cached);
    }
    let script = fetch_script();
    if !script.is_file() {
        return Err(format!(
            "fetch script not found at {} (set CATBOX_SHARED)",
            script.display()
        ));
    }
    // Download into a private directory, then move the file into the cache,
    // so that a concurrent or interrupted run never sees half a tarball.
    let scratch = std::env::temp_dir().join(format!("catbox-hello-fetch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let out = Command::new("sh")
        .arg(&script)
        .arg(&scratch)
        .arg("hello")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let fetched = scratch.join(TARBALL);
    if !out.status.success() || !fetched.is_file() {
        let _ = std::fs::remove_dir_all(&scratch);
        return Err(format!(
            "{} exited with {}: {}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    // Keep it in the cache when the cache is writable (it may not be when the
    // tests run as another user); otherwise use it from a private copy.
    let partial = cache.join(format!(".{TARBALL}.{}", std::process::id()));
    let kept = std::fs::create_dir_all(&cache).is_ok()
        && std::fs::copy(&fetched, &partial).is_ok()
        && std::fs::rename(&partial, &cached).is_ok();
    if kept {
        let _ = std::fs::remove_dir_all(&scratch);
        Ok(cached)
    } else {
        let _ = std::fs::remove_file(&partial);
        Ok(fetched)
    }
}
