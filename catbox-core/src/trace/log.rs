//! The operation log writer: JSON Lines as described in
//! `docs/trace-format.md`, streamed through a buffered writer.
//!
//! Lines are built in reusable byte buffers (no serde, no per-event
//! allocation) and written whole.

use std::io::{self, BufWriter, Write};
use std::time::Instant;

use crate::decode::errno_name;

/// The destination of the operation log.
pub(crate) struct Log {
    out: BufWriter<Box<dyn Write + Send>>,
    start: Instant,
    /// The first write error; logging stops after it.
    pub(crate) error: Option<io::Error>,
}

impl Log {
    pub(crate) fn new(out: Box<dyn Write + Send>) -> Log {
        Log {
            out: BufWriter::with_capacity(1 << 16, out),
            start: Instant::now(),
            error: None,
        }
    }

    /// Start a line: `{"t":..,"pid":..,"event":".."`.
    pub(crate) fn head(&self, buf: &mut Vec<u8>, pid: i32, event: &str) {
        buf.clear();
        let t = self.start.elapsed();
        // By hand, not `write!`: this runs for every logged call, and the
        // formatting machinery was a sixth of the supervisor's work.
        buf.extend_from_slice(b"{\"t\":");
        push_uint(buf, t.as_secs());
        buf.push(b'.');
        let us = t.subsec_micros();
        let mut frac = [b'0'; 6];
        let mut v = us;
        for d in frac.iter_mut().rev() {
            *d = b'0' + (v % 10) as u8;
            v /= 10;
        }
        buf.extend_from_slice(&frac);
        buf.extend_from_slice(b",\"pid\":");
        push_int(buf, pid as i64);
        buf.extend_from_slice(b",\"event\":\"");
        buf.extend_from_slice(event.as_bytes());
        buf.push(b'"');
    }

    /// Append the `result` field, close the line and write it.
    pub(crate) fn finish(&mut self, buf: &mut Vec<u8>, errno: Option<i32>) {
        match errno {
            None => buf.extend_from_slice(b",\"result\":\"ok\"}\n"),
            Some(e) => {
                buf.extend_from_slice(b",\"result\":\"");
                buf.extend_from_slice(errno_name(e).as_bytes());
                buf.extend_from_slice(b"\"}\n");
            }
        }
        self.write(buf);
    }

    /// Close the line as it is and write it.
    pub(crate) fn close(&mut self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(b"}\n");
        self.write(buf);
    }

    fn write(&mut self, buf: &[u8]) {
        if self.error.is_none() {
            if let Err(e) = self.out.write_all(buf) {
                self.error = Some(e);
            }
        }
    }

    /// Flush what is buffered; returns the first error of the run.
    pub(crate) fn flush(&mut self) -> Option<io::Error> {
        if self.error.is_none() {
            if let Err(e) = self.out.flush() {
                self.error = Some(e);
            }
        }
        self.error.take()
    }
}

/// Append `,"name":"value"` with the value escaped as a JSON string
/// (invalid UTF-8 replaced).
pub(crate) fn str_field(buf: &mut Vec<u8>, name: &str, value: &[u8]) {
    buf.extend_from_slice(b",\"");
    buf.extend_from_slice(name.as_bytes());
    buf.extend_from_slice(b"\":");
    json_str(buf, value);
}

/// Append `,"name":N`.
pub(crate) fn int_field(buf: &mut Vec<u8>, name: &str, value: i64) {
    buf.extend_from_slice(b",\"");
    buf.extend_from_slice(name.as_bytes());
    buf.extend_from_slice(b"\":");
    push_int(buf, value);
}

fn push_uint(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

fn push_int(buf: &mut Vec<u8>, v: i64) {
    if v < 0 {
        buf.push(b'-');
    }
    push_uint(buf, v.unsigned_abs());
}

/// Append `value` as a JSON string.
pub(crate) fn json_str(buf: &mut Vec<u8>, value: &[u8]) {
    buf.push(b'"');
    // The common case, printable ASCII with nothing to escape, is copied
    // as it is; anything else goes through the escaping below.
    if value
        .iter()
        .all(|&c| (0x20..0x7f).contains(&c) && c != b'"' && c != b'\\')
    {
        buf.extend_from_slice(value);
        buf.push(b'"');
        return;
    }
    for ch in String::from_utf8_lossy(value).chars() {
        match ch {
            '"' => buf.extend_from_slice(b"\\\""),
            '\\' => buf.extend_from_slice(b"\\\\"),
            '\n' => buf.extend_from_slice(b"\\n"),
            '\t' => buf.extend_from_slice(b"\\t"),
            '\r' => buf.extend_from_slice(b"\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(buf, "\\u{:04x}", c as u32);
            }
            c => {
                let mut b = [0u8; 4];
                buf.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
    buf.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_numbers_and_plain_strings() {
        let mut b = Vec::new();
        for v in [0i64, 7, -7, 1234567890, i64::MIN, i64::MAX] {
            b.clear();
            int_field(&mut b, "n", v);
            assert_eq!(String::from_utf8(b.clone()).unwrap(), format!(",\"n\":{v}"));
        }
        b.clear();
        json_str(&mut b, b"/usr/lib/x86_64-linux-gnu/libc.so.6 ~!");
        assert_eq!(b, b"\"/usr/lib/x86_64-linux-gnu/libc.so.6 ~!\"");
        b.clear();
        json_str(&mut b, b"\x7f");
        assert_eq!(String::from_utf8(b).unwrap(), "\"\x7f\"");
        let log = Log::new(Box::new(io::sink()));
        let mut b = Vec::new();
        log.head(&mut b, -3, "exec");
        let s = String::from_utf8(b).unwrap();
        let rest = s.strip_prefix("{\"t\":").unwrap();
        let (t, rest) = rest.split_once(',').unwrap();
        let (secs, micros) = t.split_once('.').unwrap();
        assert!(secs.parse::<u64>().is_ok() && micros.len() == 6, "{s}");
        assert_eq!(rest, "\"pid\":-3,\"event\":\"exec\"");
    }

    #[test]
    fn escapes_json() {
        let mut b = Vec::new();
        json_str(&mut b, b"a\"b\\c\nd\x01\xff");
        assert_eq!(
            String::from_utf8(b).unwrap(),
            "\"a\\\"b\\\\c\\nd\\u0001\u{fffd}\""
        );
    }
}
