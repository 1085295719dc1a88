//! The operation log (`--trace FILE`, docs/trace-format.md): every line is
//! valid JSON with the documented fields, denied writes carry their errno,
//! results come from the kernel, and a million events stream to the file.

mod common;

use common::{c_program, sb_opts, Dirs};
use serde_json::Value;

fn read_log(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("log file");
    assert!(text.ends_with('\n'), "the last line is complete");
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("line {}: {e}: {l}", i + 1));
            assert!(v["t"].is_f64() || v["t"].is_u64(), "t: {l}");
            assert!(v["pid"].is_i64(), "pid: {l}");
            assert!(v["event"].is_string(), "event: {l}");
            v
        })
        .collect()
}

fn find(log: &[Value], f: impl Fn(&Value) -> bool) -> Vec<&Value> {
    log.iter().filter(|v| f(v)).collect()
}

#[test]
fn log_records_reads_writes_execs_and_processes() {
    let d = Dirs::new("trace");
    let log_path = d.root.join("log.jsonl");
    std::fs::write(d.allowed.join("input"), "data").unwrap();
    let a = d.allowed.display().to_string();
    let o = d.out.display().to_string();
    let script = format!(
        "cd '{a}' && cat input > copy && echo x > '{o}/denied'; mkdir sub; mv copy sub/moved; \
         ln sub/moved hard; rm hard; /nonexistent-program 2>/dev/null; sh -c 'exit 3'; exit 5"
    );
    let run = sb_opts(
        &d,
        &["--trace", log_path.to_str().unwrap()],
        &["sh", "-c", &script],
    );
    assert_eq!(run.status, 5, "{}", run.describe());
    let log = read_log(&log_path);
    let root = log[0]["pid"].as_i64().unwrap();
    assert_eq!(log[0]["event"], "start");
    // the first exec is sh with its argv
    let execs = find(&log, |v| v["event"] == "exec");
    assert_eq!(execs[0]["argv"][0], "sh");
    assert_eq!(execs[0]["argv"][2], script.as_str());
    assert_eq!(execs[0]["result"], "ok");
    assert!(execs
        .iter()
        .any(|v| v["argv"][0] == "cat" && v["path"].as_str().unwrap().ends_with("/cat")));
    // a failed exec gets the kernel's errno from the call's exit stop
    assert!(
        execs
            .iter()
            .any(|v| v["path"] == "/nonexistent-program" && v["result"] == "ENOENT"),
        "{execs:?}"
    );
    // the read of the input and the write of the copy
    let input = format!("{a}/input");
    assert!(
        find(&log, |v| v["event"] == "read"
            && v["canonical"] == input.as_str()
            && v["path"] == "input"
            && v["result"] == "ok")
        .len()
            == 1
    );
    let copy = format!("{a}/copy");
    assert!(!find(&log, |v| v["event"] == "write"
        && v["canonical"] == copy.as_str()
        && v["result"] == "ok")
    .is_empty());
    // the denied write carries EACCES
    let denied = format!("{o}/denied");
    assert_eq!(
        find(&log, |v| v["event"] == "write"
            && v["canonical"] == denied.as_str()
            && v["result"] == "EACCES")
        .len(),
        1
    );
    // create, rename (with both names), link, remove
    assert!(!find(&log, |v| v["event"] == "create"
        && v["op"] == "mkdir"
        && v["canonical"] == format!("{a}/sub").as_str())
    .is_empty());
    let renames = find(&log, |v| v["event"] == "rename");
    assert_eq!(renames.len(), 1, "{renames:?}");
    assert_eq!(renames[0]["canonical"], copy.as_str());
    assert_eq!(renames[0]["canonical2"], format!("{a}/sub/moved").as_str());
    assert_eq!(renames[0]["result"], "ok");
    assert_eq!(
        find(&log, |v| v["event"] == "link"
            && v["canonical2"] == format!("{a}/hard").as_str())
        .len(),
        1
    );
    assert_eq!(
        find(&log, |v| v["event"] == "remove"
            && v["canonical"] == format!("{a}/hard").as_str())
        .len(),
        1
    );
    // process starts with parents, exits with codes
    let starts = find(&log, |v| v["event"] == "start");
    assert!(starts.len() >= 6, "{}", starts.len());
    assert!(starts.iter().skip(1).all(|v| v["ppid"].is_i64()));
    assert!(!find(&log, |v| v["event"] == "exit" && v["code"] == 3).is_empty());
    let last_exit = find(&log, |v| v["event"] == "exit" && v["pid"] == root);
    assert_eq!(last_exit.len(), 1);
    assert_eq!(last_exit[0]["code"], 5);
    // every path event has the documented fields
    for v in &log {
        let ev = v["event"].as_str().unwrap();
        if [
            "read", "stat", "write", "create", "remove", "rename", "link",
        ]
        .contains(&ev)
        {
            for f in ["op", "path", "canonical", "result"] {
                assert!(v[f].is_string(), "{f} missing: {v}");
            }
        }
    }
}

#[test]
fn collect_only_log_shows_the_call_succeeding() {
    let d = Dirs::new("trace-collect");
    let log_path = d.root.join("log.jsonl");
    let target = d.out.join("f");
    let run = sb_opts(
        &d,
        &["--collect-only", "--trace", log_path.to_str().unwrap()],
        &["sh", "-c", &format!("echo x > '{}'", target.display())],
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    assert_eq!(run.violations().len(), 1);
    let log = read_log(&log_path);
    let t = target.display().to_string();
    let w = find(&log, |v| {
        v["event"] == "write" && v["canonical"] == t.as_str()
    });
    assert_eq!(w.len(), 1);
    assert_eq!(w[0]["result"], "ok");
}

#[test]
fn network_attempts_are_logged() {
    let d = Dirs::new("trace-net");
    let log_path = d.root.join("log.jsonl");
    let probe = c_program("net_probe");
    // socket() is denied (network off); with -n the connect is logged with
    // its destination and the kernel's result (nothing listens on port 9).
    let run = sb_opts(
        &d,
        &["--trace", log_path.to_str().unwrap()],
        &[probe.to_str().unwrap(), "socket4"],
    );
    assert_eq!(run.violations().len(), 1, "{}", run.describe());
    let log = read_log(&log_path);
    let s = find(&log, |v| v["event"] == "net" && v["op"] == "socket");
    assert_eq!(s.len(), 1, "{log:?}");
    assert_eq!(s[0]["dest"], "AF_INET");
    assert_eq!(s[0]["result"], "EACCES");
    let run = sb_opts(
        &d,
        &["-n", "--trace", log_path.to_str().unwrap()],
        &[probe.to_str().unwrap(), "socket4", "connect4", "9"],
    );
    assert!(run.violations().is_empty(), "{}", run.describe());
    let log = read_log(&log_path);
    let c = find(&log, |v| v["event"] == "net" && v["op"] == "connect");
    assert_eq!(c.len(), 1, "{log:?}");
    assert_eq!(c[0]["dest"], "127.0.0.1:9");
    assert_eq!(c[0]["result"], "ECONNREFUSED");
}

#[test]
fn a_million_events_stream_to_a_complete_file() {
    let d = Dirs::new("trace-million");
    let log_path = d.root.join("log.jsonl");
    let prog = c_program("many_stats");
    let run = sb_opts(
        &d,
        &["--trace", log_path.to_str().unwrap()],
        &[prog.to_str().unwrap(), "1000000"],
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    let text = std::fs::read(&log_path).unwrap();
    assert_eq!(text.last(), Some(&b'\n'));
    let mut n = 0usize;
    for line in text.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
        let v: Value = serde_json::from_slice(line).expect("valid JSON line");
        if v["event"] == "stat" && v["path"] == "/nonexistent-catbox-path" {
            assert_eq!(v["result"], "ENOENT");
            n += 1;
        }
    }
    assert_eq!(n, 1_000_000);
}
