//! Give libcatbox.so a SONAME, as a C user expects of an installed library:
//! `libcatbox.so.<major>`, or `libcatbox.so.0.<minor>` while the major
//! version is 0 (where a minor release may break the ABI).

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_else(|_| "0".into());
    let soname = if major == "0" {
        format!("libcatbox.so.0.{minor}")
    } else {
        format!("libcatbox.so.{major}")
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    println!("cargo:rerun-if-changed=build.rs");
}
