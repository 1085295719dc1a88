//! Entry points for the fuzz targets in `fuzz/` (not a stable API).
//!
//! Re-exports a few crate-private helpers so that the fuzzer can call them
//! directly; nothing here is meant for other users.

/// Split a path into (directory, last component, had trailing slashes), as
/// the resolver does (`paths::split_last`).
pub fn split_last(p: &[u8]) -> (&[u8], Option<&[u8]>, bool) {
    crate::paths::split_last(p)
}

/// Append `value` to `buf` as a JSON string, as the operation log does
/// (`trace::log::json_str`; invalid UTF-8 replaced).
pub fn json_str(buf: &mut Vec<u8>, value: &[u8]) {
    crate::trace::log::json_str(buf, value)
}
