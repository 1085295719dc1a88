//! `json_str` (the operation log's string escaping): whatever the bytes, the
//! output is one valid JSON string that parses back to the lossy UTF-8 of
//! the input, and it can sit in a JSON object as the log puts it there.
#![no_main]

use catbox_core::fuzzing::json_str;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = Vec::new();
    json_str(&mut buf, data);
    let expect = String::from_utf8_lossy(data);
    let back: String = match serde_json::from_slice(&buf) {
        Ok(s) => s,
        Err(e) => panic!("json_str output is not a JSON string: {e}: {buf:?}"),
    };
    assert_eq!(back, expect, "json_str does not round-trip");
    // No raw control character may be left (JSON Lines: one line per event).
    assert!(
        !buf.iter().any(|&c| c < 0x20),
        "raw control byte in json_str output: {buf:?}"
    );

    // As a field of a log line, appended to existing text.
    let mut line = b"{\"event\":\"read\",\"path\":".to_vec();
    json_str(&mut line, data);
    line.push(b'}');
    let v: serde_json::Value = serde_json::from_slice(&line).expect("log line is not JSON");
    assert_eq!(v["path"].as_str(), Some(&*expect));
});
