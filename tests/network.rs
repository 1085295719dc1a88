//! Network rules under the `catbox` CLI (SPEC §3.4, §5.2). By default
//! `socket()` of any family but AF_UNIX is a violation `{socket, "", family}`
//! and fails with EACCES; `connect`/`sendto`/`sendmsg` to an inet address is a
//! violation whose canonical is the destination (`127.0.0.1:PORT`,
//! `[::1]:PORT`); AF_UNIX connections are allowed. `-n` allows the network.
//!
//! The only listeners are the tests' own, on 127.0.0.1 (port 0). Sockets for
//! the enforce-mode connect/sendto/sendmsg checks are created natively by the
//! test and inherited by the sandboxed program as descriptor 3 (with the
//! network denied, the program could not create one itself); the same calls
//! are also checked in `--collect-only` mode, where `socket()` goes through.
//!
//! Every run is bounded: a catbox that does not finish within [`LIMIT`] is
//! killed (with its whole process group) and the test fails.

mod common;

use common::bounded::{run_bounded, with_report, LIMIT};

use common::{c_program, catbox_bin, Dirs, Run};
use std::ffi::OsStr;
use std::io::{ErrorKind, Read};
use std::net::{TcpListener, UdpSocket};
use std::os::fd::RawFd;
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// bounded runs

/// `sb` of cases.md with extra options, bounded: `catbox -w ALLOWED --report R
/// OPTS -- ARGS`, from cwd "/". With `inherit`, that (native) descriptor is
/// given to catbox, and so to the command, as descriptor 3.
fn sbt<S: AsRef<OsStr>>(dirs: &Dirs, opts: &[&str], args: &[S], inherit: Option<RawFd>) -> Run {
    let report = dirs.report_path();
    let _ = std::fs::remove_file(&report);
    let mut cmd = Command::new(catbox_bin());
    cmd.arg("-w")
        .arg(&dirs.allowed)
        .arg("--report")
        .arg(&report)
        .args(opts)
        .arg("--")
        .args(args)
        .current_dir("/");
    if let Some(fd) = inherit {
        // SAFETY: only dup2(2), which is async-signal-safe, runs in the child.
        unsafe {
            cmd.pre_exec(move || {
                if libc::dup2(fd, 3) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let raw = run_bounded(cmd, LIMIT);
    with_report(raw, &report)
}

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

// ---------------------------------------------------------------------------
// helpers

fn probe() -> String {
    s(&c_program("net_probe"))
}

/// Violations as (operation, canonical, errno).
fn ops(run: &Run) -> Vec<(String, String, String)> {
    run.tuples()
        .into_iter()
        .map(|(op, _, canonical, errno)| (op, canonical, errno))
        .collect()
}

fn v(op: &str, canonical: &str, errno: &str) -> (String, String, String) {
    (op.into(), canonical.into(), errno.into())
}

/// The probe's result lines, without the descriptor numbers of successful
/// socket() calls ("socket4=5/0" becomes "socket4=ok").
fn results(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .map(|l| match l.split_once('=') {
            Some((name, r)) if name.starts_with("socket") || name.starts_with("udp") => {
                if r.ends_with("/0") && !r.starts_with('-') {
                    format!("{name}=ok")
                } else {
                    l.to_string()
                }
            }
            _ => l.to_string(),
        })
        .collect()
}

/// A native socket with close-on-exec set (so that no other test's child
/// inherits it); `sbt(.., Some(fd))` hands it over as descriptor 3.
struct NativeSocket(RawFd);

impl NativeSocket {
    fn new(family: i32, ty: i32) -> Option<NativeSocket> {
        // SAFETY: plain socket(2).
        let fd = unsafe { libc::socket(family, ty | libc::SOCK_CLOEXEC, 0) };
        (fd >= 0).then_some(NativeSocket(fd))
    }
}

impl Drop for NativeSocket {
    fn drop(&mut self) {
        // SAFETY: closing the descriptor this value owns.
        unsafe {
            libc::close(self.0);
        }
    }
}

fn ipv6_available() -> bool {
    if NativeSocket::new(libc::AF_INET6, libc::SOCK_DGRAM).is_some() {
        true
    } else {
        eprintln!("skipping the IPv6 part: socket(AF_INET6) fails on this host");
        false
    }
}

/// Accepts one connection on 127.0.0.1 (in a thread) and sends what the peer
/// wrote, until it closed (or 5 s of silence).
fn tcp_server() -> (u16, Receiver<Vec<u8>>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("listen on 127.0.0.1:0");
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        l.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + LIMIT;
        while Instant::now() < deadline {
            match l.accept() {
                Ok((mut c, _)) => {
                    let _ = c.set_nonblocking(false);
                    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut buf = Vec::new();
                    let _ = c.read_to_end(&mut buf);
                    let _ = tx.send(buf);
                    return;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Err(_) => return,
            }
        }
    });
    (port, rx)
}

fn assert_no_connection(l: &TcpListener, run: &Run) {
    l.set_nonblocking(true).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    match l.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!(
            "the listener got a connection ({other:?}) although connect was denied; {}",
            run.describe()
        ),
    }
}

fn udp_listener() -> (UdpSocket, u16) {
    let u = UdpSocket::bind("127.0.0.1:0").expect("udp on 127.0.0.1:0");
    let port = u.local_addr().unwrap().port();
    (u, port)
}

/// Datagrams already queued on `u` (waiting at most `wait` for the first).
fn datagrams(u: &UdpSocket, wait: Duration) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    u.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 64];
    while let Ok(n) = u.recv(&mut buf) {
        got.push(buf[..n].to_vec());
        u.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
    }
    got
}

// ---------------------------------------------------------------------------
// default: socket() of inet families denied

#[test]
fn default_socket_af_inet_is_denied() {
    let dirs = Dirs::new("net-s4");
    let run = sbt(&dirs, &[], &[probe(), "socket4".into()], None);
    assert_eq!(results(&run), ["socket4=-1/13"], "{}", run.describe());
    run.assert_one_violation("socket", "", "AF_INET");
    assert_eq!(run.status, 0, "{}", run.describe());
}

#[test]
fn default_socket_af_inet6_is_denied() {
    let dirs = Dirs::new("net-s6");
    let run = sbt(
        &dirs,
        &[],
        &[probe(), "socket6".into(), "udp6".into()],
        None,
    );
    assert_eq!(
        results(&run),
        ["socket6=-1/13", "udp6=-1/13"],
        "{}",
        run.describe()
    );
    assert_eq!(
        run.tuples(),
        vec![
            (
                "socket".into(),
                "".into(),
                "AF_INET6".into(),
                "EACCES".into()
            ),
            (
                "socket".into(),
                "".into(),
                "AF_INET6".into(),
                "EACCES".into()
            ),
        ],
        "{}",
        run.describe()
    );
}

#[test]
fn default_socket_af_netlink_is_denied() {
    // "any family other than AF_UNIX"
    let dirs = Dirs::new("net-nl");
    let run = sbt(&dirs, &[], &[probe(), "socketnl".into()], None);
    assert_eq!(results(&run), ["socketnl=-1/13"], "{}", run.describe());
    run.assert_one_violation("socket", "", "AF_NETLINK");
}

#[test]
fn default_udp_socket_is_denied() {
    let dirs = Dirs::new("net-u4");
    let run = sbt(&dirs, &[], &[probe(), "udp4".into()], None);
    assert_eq!(results(&run), ["udp4=-1/13"], "{}", run.describe());
    run.assert_one_violation("socket", "", "AF_INET");
}

// ---------------------------------------------------------------------------
// default: connect/sendto/sendmsg to inet addresses on an inherited socket

#[test]
fn default_connect_inherited_tcp_socket_to_127_0_0_1_is_denied() {
    let dirs = Dirs::new("net-c4");
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let sock = NativeSocket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
    let run = sbt(
        &dirs,
        &[],
        &[
            probe(),
            "fd".into(),
            "3".into(),
            "connect4".into(),
            port.to_string(),
        ],
        Some(sock.0),
    );
    assert_eq!(
        results(&run),
        ["connect4=-1/13"],
        "(-1/9 would mean catbox did not pass descriptor 3 on) {}",
        run.describe()
    );
    assert_eq!(
        ops(&run),
        vec![v("connect", &format!("127.0.0.1:{port}"), "EACCES")],
        "{}",
        run.describe()
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    assert_no_connection(&l, &run);
}

#[test]
fn default_connect_inherited_tcp6_socket_to_ipv6_loopback_is_denied() {
    if !ipv6_available() {
        return;
    }
    let dirs = Dirs::new("net-c6");
    let sock = NativeSocket::new(libc::AF_INET6, libc::SOCK_STREAM).unwrap();
    let run = sbt(
        &dirs,
        &[],
        &[
            probe(),
            "fd".into(),
            "3".into(),
            "connect6".into(),
            "80".into(),
        ],
        Some(sock.0),
    );
    assert_eq!(results(&run), ["connect6=-1/13"], "{}", run.describe());
    assert_eq!(
        ops(&run),
        vec![v("connect", "[::1]:80", "EACCES")],
        "{}",
        run.describe()
    );
}

#[test]
fn default_sendto_and_sendmsg_inherited_udp_socket_are_denied() {
    let dirs = Dirs::new("net-st4");
    let (u, port) = udp_listener();
    let sock = NativeSocket::new(libc::AF_INET, libc::SOCK_DGRAM).unwrap();
    let p = port.to_string();
    let run = sbt(
        &dirs,
        &[],
        &[
            probe(),
            "fd".into(),
            "3".into(),
            "sendto4".into(),
            p.clone(),
            "sendmsg4".into(),
            p,
        ],
        Some(sock.0),
    );
    assert_eq!(
        results(&run),
        ["sendto4=-1/13", "sendmsg4=-1/13"],
        "{}",
        run.describe()
    );
    let dest = format!("127.0.0.1:{port}");
    assert_eq!(
        ops(&run),
        vec![v("sendto", &dest, "EACCES"), v("sendmsg", &dest, "EACCES")],
        "{}",
        run.describe()
    );
    let got = datagrams(&u, Duration::from_millis(100));
    assert!(got.is_empty(), "datagrams got through: {got:?}");
}

#[test]
fn default_sendto_and_sendmsg_inherited_udp6_socket_are_denied() {
    if !ipv6_available() {
        return;
    }
    let dirs = Dirs::new("net-st6");
    let sock = NativeSocket::new(libc::AF_INET6, libc::SOCK_DGRAM).unwrap();
    let run = sbt(
        &dirs,
        &[],
        &[
            probe(),
            "fd".into(),
            "3".into(),
            "sendto6".into(),
            "9".into(),
            "sendmsg6".into(),
            "9".into(),
        ],
        Some(sock.0),
    );
    assert_eq!(
        results(&run),
        ["sendto6=-1/13", "sendmsg6=-1/13"],
        "{}",
        run.describe()
    );
    assert_eq!(
        ops(&run),
        vec![
            v("sendto", "[::1]:9", "EACCES"),
            v("sendmsg", "[::1]:9", "EACCES")
        ],
        "{}",
        run.describe()
    );
}

// ---------------------------------------------------------------------------
// --collect-only: the same calls recorded and let through

#[test]
fn collect_only_records_socket_connect_sendto_sendmsg_and_lets_them_through() {
    let dirs = Dirs::new("net-co4");
    let (tport, rx) = tcp_server();
    let (u, uport) = udp_listener();
    let run = sbt(
        &dirs,
        &["--collect-only"],
        &[
            probe(),
            "socket4".into(),
            "connect4".into(),
            tport.to_string(),
            "write".into(),
            "hello".into(),
            "udp4".into(),
            "sendto4".into(),
            uport.to_string(),
            "sendmsg4".into(),
            uport.to_string(),
        ],
        None,
    );
    assert_eq!(
        results(&run),
        [
            "socket4=ok",
            "connect4=0/0",
            "write=5/0",
            "udp4=ok",
            "sendto4=4/0",
            "sendmsg4=4/0"
        ],
        "{}",
        run.describe()
    );
    let got: Vec<(String, String)> = ops(&run).into_iter().map(|(o, c, _)| (o, c)).collect();
    let t = format!("127.0.0.1:{tport}");
    let d = format!("127.0.0.1:{uport}");
    assert_eq!(
        got,
        vec![
            ("socket".into(), "AF_INET".into()),
            ("connect".into(), t),
            ("socket".into(), "AF_INET".into()),
            ("sendto".into(), d.clone()),
            ("sendmsg".into(), d),
        ],
        "{}",
        run.describe()
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).ok(),
        Some(b"hello".to_vec()),
        "the TCP listener should have got the data"
    );
    assert_eq!(
        datagrams(&u, Duration::from_secs(2)),
        vec![b"ping".to_vec(), b"ping".to_vec()]
    );
}

#[test]
fn collect_only_records_ipv6_destinations_in_brackets() {
    if !ipv6_available() {
        return;
    }
    let dirs = Dirs::new("net-co6");
    // Nothing listens on [::1]:PORT (the port is taken on 127.0.0.1 only),
    // so connect fails by itself; the record is what matters.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let run = sbt(
        &dirs,
        &["--collect-only"],
        &[
            probe(),
            "socket6".into(),
            "connect6".into(),
            port.clone(),
            "udp6".into(),
            "sendto6".into(),
            port.clone(),
            "sendmsg6".into(),
            port.clone(),
        ],
        None,
    );
    let got: Vec<(String, String)> = ops(&run).into_iter().map(|(o, c, _)| (o, c)).collect();
    let d = format!("[::1]:{port}");
    assert_eq!(
        got,
        vec![
            ("socket".into(), "AF_INET6".into()),
            ("connect".into(), d.clone()),
            ("socket".into(), "AF_INET6".into()),
            ("sendto".into(), d.clone()),
            ("sendmsg".into(), d),
        ],
        "{}",
        run.describe()
    );
    let r = results(&run);
    assert_eq!(r[0], "socket6=ok", "{}", run.describe());
    assert_eq!(r[2], "udp6=ok", "{}", run.describe());
    assert!(
        !r[1].ends_with("/13"),
        "collect-only must not deny connect: {}",
        run.describe()
    );
}

// ---------------------------------------------------------------------------
// AF_UNIX is allowed by default

#[test]
fn default_unix_socket_connect_is_allowed() {
    let dirs = Dirs::new("net-unix");
    let path = dirs.root.join("sock");
    let l = UnixListener::bind(&path).expect("bind unix socket");
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        l.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + LIMIT;
        while Instant::now() < deadline {
            match l.accept() {
                Ok((mut c, _)) => {
                    let _ = c.set_nonblocking(false);
                    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut buf = Vec::new();
                    let _ = c.read_to_end(&mut buf);
                    let _ = tx.send(buf);
                    return;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Err(_) => return,
            }
        }
    });
    let run = sbt(
        &dirs,
        &[],
        &[
            probe(),
            "socketu".into(),
            "connectu".into(),
            s(&path),
            "write".into(),
            "hello".into(),
        ],
        None,
    );
    assert_eq!(
        results(&run),
        ["socketu=ok", "connectu=0/0", "write=5/0"],
        "{}",
        run.describe()
    );
    run.assert_no_violations();
    assert_eq!(run.status, 0, "{}", run.describe());
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).ok(),
        Some(b"hello".to_vec())
    );
}

// ---------------------------------------------------------------------------
// -n: network allowed

#[test]
fn network_allowed_with_n_gives_working_loopback_and_no_violations() {
    let dirs = Dirs::new("net-n");
    let (tport, rx) = tcp_server();
    let (u, uport) = udp_listener();
    let mut args = vec![
        probe(),
        "socket4".into(),
        "connect4".into(),
        tport.to_string(),
        "write".into(),
        "hello".into(),
        "udp4".into(),
        "sendto4".into(),
        uport.to_string(),
        "sendmsg4".into(),
        uport.to_string(),
        "socketnl".into(),
    ];
    let v6 = ipv6_available();
    if v6 {
        args.push("socket6".into());
    }
    let run = sbt(&dirs, &["-n"], &args, None);
    let mut expected = vec![
        "socket4=ok",
        "connect4=0/0",
        "write=5/0",
        "udp4=ok",
        "sendto4=4/0",
        "sendmsg4=4/0",
        "socketnl=ok",
    ];
    if v6 {
        expected.push("socket6=ok");
    }
    assert_eq!(results(&run), expected, "{}", run.describe());
    run.assert_no_violations();
    assert_eq!(run.status, 0, "{}", run.describe());
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).ok(),
        Some(b"hello".to_vec())
    );
    assert_eq!(
        datagrams(&u, Duration::from_secs(2)),
        vec![b"ping".to_vec(), b"ping".to_vec()]
    );
}

#[test]
fn network_allowed_long_option() {
    let dirs = Dirs::new("net-long");
    let run = sbt(&dirs, &["--network"], &[probe(), "socket4".into()], None);
    assert_eq!(results(&run), ["socket4=ok"], "{}", run.describe());
    run.assert_no_violations();
}
