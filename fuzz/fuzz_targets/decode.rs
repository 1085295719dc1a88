//! The decoder: `format_sockaddr` on any bytes, `open_flags`, `errno_name`,
//! `family_name`, `lookup` on any numbers, and the strace-like `Display` of
//! a `Call` built from any table row, arguments and path operands.
#![no_main]

use catbox_core::decode::{self, Fmt, Operand};
use catbox_core::Call;
use libfuzzer_sys::fuzz_target;

fn u64_at(d: &[u8], i: usize) -> u64 {
    let mut b = [0u8; 8];
    for (k, x) in b.iter_mut().enumerate() {
        *x = d.get(i + k).copied().unwrap_or(0);
    }
    u64::from_le_bytes(b)
}

fuzz_target!(|data: &[u8]| {
    // format_sockaddr on the raw bytes.
    let sa = decode::format_sockaddr(data);
    assert_eq!(sa.is_some(), data.len() >= 2);
    if let Some((family, text)) = &sa {
        let (family, text) = (*family, text.as_str());
        assert_eq!(family, u16::from_ne_bytes([data[0], data[1]]));
        match family as i32 {
            libc::AF_INET if data.len() >= 8 => {
                let a: std::net::SocketAddrV4 = text.parse().expect("AF_INET text");
                assert_eq!(a.port(), u16::from_be_bytes([data[2], data[3]]));
                assert_eq!(a.ip().octets(), [data[4], data[5], data[6], data[7]]);
            }
            libc::AF_INET6 if data.len() >= 24 => {
                let a: std::net::SocketAddrV6 = text.parse().expect("AF_INET6 text");
                assert_eq!(a.port(), u16::from_be_bytes([data[2], data[3]]));
                assert_eq!(&a.ip().octets()[..], &data[8..24]);
            }
            libc::AF_UNIX => assert!(!text.contains('\0') || data.get(2) == Some(&0)),
            libc::AF_INET | libc::AF_INET6 => assert!(text.starts_with("AF_")),
            _ => assert_eq!(text, decode::family_name(family as u64).as_str()),
        }
    }

    let a = u64_at(data, 0);
    let b = u64_at(data, 8);

    let flags = decode::open_flags(a);
    assert!(flags.starts_with("O_"), "{flags}");
    assert!(!flags.contains("||") && !flags.ends_with('|'), "{flags}");

    let e = decode::errno_name(a as i32);
    assert!(e.starts_with('E') && e.len() > 1, "{e}");
    let e = decode::errno_name((b as i32).wrapping_neg());
    assert!(e.starts_with('E'), "{e}");

    let fam = decode::family_name(a);
    assert!(fam.starts_with("AF_"), "{fam}");
    let _ = decode::family_name(b);

    let _ = decode::lookup(a);
    let _ = decode::lookup(b);

    // A Call from a table row. Small numbers are far likelier to be rows.
    let nr = a & 0x1ff;
    let Some(desc) = decode::lookup(nr) else {
        return;
    };
    assert_eq!(decode::lookup(nr).map(|d| d.name), Some(desc.name));
    let mut args = [0u64; 6];
    for (i, x) in args.iter_mut().enumerate() {
        *x = u64_at(data, 8 + 8 * i);
    }
    // The rest: path operands, separated by NUL bytes, for the Path args
    // (some left out so that the "NULL"/address forms are printed too).
    let rest = data.get(56..).unwrap_or(&[]);
    let mut raws = rest.split(|&c| c == 0);
    let mut operands = Vec::new();
    for (i, kind) in desc.fmt.iter().enumerate() {
        if *kind == Fmt::Path && (b >> i) & 1 == 1 {
            let mut o = Operand::default();
            o.raw = raws.next().unwrap_or(b"").to_vec();
            o.canonical = o.raw.clone();
            o.path_arg = Some(i as u8);
            operands.push(o);
        }
    }
    let call = Call {
        pid: b as i32,
        desc,
        args,
        operands: &operands,
        detail: sa.map(|s| s.1),
        family: None,
    };
    let s = call.to_string();
    assert_eq!(call.name(), desc.name);
    assert!(
        s.starts_with(desc.name) && s[desc.name.len()..].starts_with('('),
        "{s}"
    );
    assert!(s.ends_with(')'), "{s}");
    let _ = format!("{call:?}");
});
