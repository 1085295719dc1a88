//! The C API from C: compiles the C programs in `tests/c/` with `cc`
//! against `include/catbox.h` and the freshly built `libcatbox.so`, and runs
//! them: natively, under AddressSanitizer (leaks included) and under
//! valgrind (`--leak-check=full`). A missing valgrind or ASan runtime is
//! skipped with a message on stderr.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("catbox-ffi is inside the workspace")
        .to_path_buf()
}

/// The directory holding the `libcatbox.so` cargo built with this test:
/// `target/<profile>/deps` (beside this test binary), or `target/<profile>`
/// after a `cargo build`.
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let deps = exe.parent().expect("test binary has a directory");
    let found = [Some(deps), deps.parent()]
        .into_iter()
        .flatten()
        .find(|d| d.join("libcatbox.so").is_file())
        .map(Path::to_path_buf);
    found.unwrap_or_else(|| panic!("libcatbox.so not found in or above {}", deps.display()))
}

/// The SONAME build.rs gives the library.
fn soname() -> String {
    match env!("CARGO_PKG_VERSION_MAJOR") {
        "0" => format!("libcatbox.so.0.{}", env!("CARGO_PKG_VERSION_MINOR")),
        major => format!("libcatbox.so.{major}"),
    }
}

/// A private copy of the freshly built library, as `libcatbox.so` (to link
/// against) and under its SONAME (what the programs load), like an install.
fn staged_lib() -> &'static Path {
    static STAGED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    STAGED.get_or_init(|| {
        let dir = out_dir().join("lib");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the staging directory");
        std::fs::copy(lib_dir().join("libcatbox.so"), dir.join("libcatbox.so"))
            .expect("copy libcatbox.so");
        std::os::unix::fs::symlink("libcatbox.so", dir.join(soname())).expect("link the SONAME");
        dir
    })
}

/// Scratch space in `CARGO_TARGET_TMPDIR`, one per user (CI runs the tests
/// as root and again as an unprivileged user).
fn out_dir() -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").map_or(0, |m| m.uid());
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("catbox-ffi-c-{uid}"));
    std::fs::create_dir_all(&d).expect("create the output directory");
    d
}

/// Compile `source` into `out`, with `extra` flags; panics with the
/// compiler's output on failure.
fn compile(source: &str, out: &Path, extra: &[&str]) {
    let lib = staged_lib();
    let status = Command::new("cc")
        .args(["-Wall", "-Wextra", "-Werror", "-g"])
        .args(extra)
        .arg("-I")
        .arg(repo().join("include"))
        .arg(repo().join("catbox-ffi/tests/c").join(source))
        .arg("-o")
        .arg(out)
        .arg("-L")
        .arg(lib)
        .arg("-lcatbox")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .status()
        .expect("run cc (install a C compiler)");
    assert!(status.success(), "cc failed to compile {source}");
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    eprintln!("{what}: {}", stdout.trim());
}

#[test]
fn header_included_twice_compiles_in_c99_and_c11() {
    for std in ["-std=c99", "-std=c11"] {
        let out = out_dir().join(format!("header_twice{std}"));
        compile("header_twice.c", &out, &[std, "-pedantic"]);
        run(&mut Command::new(&out), "header_twice");
    }
}

#[test]
fn api_test_passes_natively() {
    let out = out_dir().join("api_test");
    compile("api_test.c", &out, &[]);
    run(&mut Command::new(&out), "api_test");
}

#[test]
fn api_test_passes_under_address_sanitizer_with_no_leak() {
    let out = out_dir().join("api_test_asan");
    // Probe: is an ASan runtime installed?
    let probe = Command::new("cc")
        .args(["-fsanitize=address", "-x", "c", "-", "-o"])
        .arg(out_dir().join("asan_probe"))
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            if let Some(mut i) = c.stdin.take() {
                i.write_all(b"int main(void){return 0;}\n")?;
            }
            c.wait()
        });
    if !matches!(probe, Ok(s) if s.success()) {
        eprintln!("SKIPPED: cc cannot build with -fsanitize=address here");
        return;
    }
    compile("api_test.c", &out, &["-fsanitize=address"]);
    run(
        Command::new(&out).env("ASAN_OPTIONS", "detect_leaks=1:exitcode=1"),
        "api_test under AddressSanitizer",
    );
}

#[test]
fn api_test_passes_under_valgrind_with_no_leak() {
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("SKIPPED: valgrind is not installed (apt-get install valgrind)");
        return;
    }
    let out = out_dir().join("api_test_vg");
    compile("api_test.c", &out, &[]);
    // valgrind cannot emulate seccomp(2) in a forked child: the program
    // checks that runs fail cleanly there (the runs themselves are checked
    // natively and under ASan above).
    run(
        Command::new("valgrind")
            .args([
                "-q",
                "--leak-check=full",
                "--error-exitcode=1",
                "--trace-children=no",
            ])
            .arg(&out)
            .env("CATBOX_TEST_UNDER_VALGRIND", "1"),
        "api_test under valgrind",
    );
}
