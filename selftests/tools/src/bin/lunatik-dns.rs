//! `lunatik-dns`: the DNS server of the packet-rewriting selftests
//! (suite 14-rewrite), since busybox has no DNS server.
//!
//! `lunatik-dns PORT [NAME=ADDR | NAME=truncated]...` answers queries on
//! UDP PORT: for a NAME given with IPv4 addresses, one A record per
//! address (a name may be given several times), each owned by the
//! question's name; for a NAME given as `truncated`, an answer that
//! claims two A records but ends inside the second (a malformed answer
//! for the rewriter to leave alone); NXDOMAIN for other names; no records
//! for other types. It prints `listening on PORT` on standard error once
//! bound (a test waits for that line), then `NAME TYPE` for each
//! question, one line each.
//!
//! Its answers are sent corked (`MSG_MORE`, then an empty send), which
//! makes the kernel compute their UDP checksum in software rather than
//! leave it to the device (`CHECKSUM_PARTIAL`, which a veth pair never
//! computes and its peer never checks): the receiver verifies it, so an
//! answer changed on the way without fixing its checksum is dropped.
//!
//! `lunatik-dns tx-checksum-off DEV` does the same for every packet
//! device DEV sends, TCP included (`ethtool -K DEV tx off`, which busybox
//! lacks): the kernel then computes the checksums before the device, and
//! the receiver verifies them.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::ExitCode;

/// What the server answers for a name.
enum Answer {
    Addresses(Vec<Ipv4Addr>),
    Truncated,
}

/// The lower-cased name of the question at offset 12 and the offset
/// after its type and class, with the type; `None` if malformed.
fn question(q: &[u8]) -> Option<(String, usize, u16)> {
    let mut p = 12;
    let mut labels = Vec::new();
    loop {
        let len = *q.get(p)? as usize;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        labels.push(String::from_utf8_lossy(q.get(p + 1..p + 1 + len)?).to_lowercase());
        p += 1 + len;
    }
    let qtype = u16::from_be_bytes([*q.get(p + 1)?, *q.get(p + 2)?]);
    q.get(p + 4)?;
    Some((labels.join("."), p + 5, qtype))
}

/// The response to query `q`, or `None` to ignore it.
fn respond(q: &[u8], zone: &[(String, Answer)]) -> Option<(Vec<u8>, String)> {
    if q.len() < 12 || q[2] & 0x80 != 0 {
        return None;
    }
    let (name, end, qtype) = question(q)?;
    let found: Vec<&Answer> = zone
        .iter()
        .filter(|(n, _)| *n == name)
        .map(|(_, a)| a)
        .collect();
    let mut records = Vec::new();
    let mut count: u16 = 0;
    let mut rcode = 0u8;
    let record = |out: &mut Vec<u8>, a: Ipv4Addr| {
        // A pointer to the question's name, A, IN, TTL 60, 4 bytes.
        out.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        out.extend_from_slice(&a.octets());
    };
    if found.is_empty() {
        rcode = 3;
    } else if qtype == 1 {
        for a in &found {
            match a {
                Answer::Addresses(v) => {
                    for &addr in v {
                        record(&mut records, addr);
                        count += 1;
                    }
                }
                Answer::Truncated => {
                    record(&mut records, Ipv4Addr::new(192, 0, 2, 99));
                    record(&mut records, Ipv4Addr::new(192, 0, 2, 99));
                    records.truncate(records.len() - 7);
                    count += 2;
                }
            }
        }
    }
    let mut out = Vec::with_capacity(end + records.len());
    out.extend_from_slice(&q[..2]);
    // QR, the query's opcode and RD, RA, the answer code.
    out.push(0x80 | (q[2] & 0x79));
    out.push(0x80 | rcode);
    out.extend_from_slice(&[0, 1]);
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&q[12..end]);
    out.extend_from_slice(&records);
    Some((out, format!("{name} {qtype}")))
}

/// Sends `buf` to `to` corked, so its checksum is computed in software.
fn send_corked(sock: &UdpSocket, buf: &[u8], to: SocketAddr) -> std::io::Result<()> {
    let SocketAddr::V4(to) = to else {
        return Err(std::io::Error::other("IPv4 only"));
    };
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: to.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*to.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = core::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let fd = sock.as_raw_fd();
    for (data, flags) in [(buf, libc::MSG_MORE), (&[][..], 0)] {
        // SAFETY: `data` and `addr` are valid for the lengths given, for
        // the length of the call.
        let r = unsafe {
            libc::sendto(
                fd,
                data.as_ptr().cast(),
                data.len(),
                flags,
                (&raw const addr).cast(),
                len,
            )
        };
        if r < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn serve(port: u16, zone: &[(String, Answer)]) -> std::io::Result<()> {
    let sock = UdpSocket::bind(("0.0.0.0", port))?;
    eprintln!("listening on {port}");
    let mut buf = [0u8; 512];
    loop {
        let (n, from) = sock.recv_from(&mut buf)?;
        if let Some((answer, line)) = respond(&buf[..n], zone) {
            send_corked(&sock, &answer, from)?;
            println!("{line}");
        }
    }
}

/// The zone from `NAME=ADDR` and `NAME=truncated` arguments.
fn zone(args: &[String]) -> Option<Vec<(String, Answer)>> {
    args.iter()
        .map(|a| {
            let (name, what) = a.split_once('=')?;
            let answer = match what {
                "truncated" => Answer::Truncated,
                addr => Answer::Addresses(vec![addr.parse().ok()?]),
            };
            Some((name.to_lowercase(), answer))
        })
        .collect()
}

/// Turns off the transmit checksum offload of device `dev`
/// (`ETHTOOL_STXCSUM` with 0).
fn tx_checksum_off(dev: &str) -> std::io::Result<()> {
    #[repr(C)]
    struct EthtoolValue {
        cmd: u32,
        data: u32,
    }
    /// `struct ifreq`: the name, then a 24-byte union whose first member
    /// here is the pointer to the ethtool command.
    #[repr(C)]
    struct Ifreq {
        name: [libc::c_char; libc::IFNAMSIZ],
        data: *mut EthtoolValue,
        _rest: [u8; 16],
    }
    const ETHTOOL_STXCSUM: u32 = 0x17;
    if dev.len() >= libc::IFNAMSIZ {
        return Err(std::io::Error::other("device name too long"));
    }
    let mut value = EthtoolValue {
        cmd: ETHTOOL_STXCSUM,
        data: 0,
    };
    let mut ifr = Ifreq {
        name: [0; libc::IFNAMSIZ],
        data: &raw mut value,
        _rest: [0; 16],
    };
    for (d, s) in ifr.name.iter_mut().zip(dev.bytes()) {
        *d = s as libc::c_char;
    }
    let sock = UdpSocket::bind("0.0.0.0:0")?;
    // SAFETY: `ifr` and the `value` it points to live across the call,
    // laid out as the kernel's `struct ifreq` and `struct ethtool_value`.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCETHTOOL, &raw mut ifr) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [cmd, dev] = &args[..] {
        if cmd == "tx-checksum-off" {
            return match tx_checksum_off(dev) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("lunatik-dns: {dev}: {e}");
                    ExitCode::FAILURE
                }
            };
        }
    }
    let (Some(port), Some(zone)) = (
        args.first().and_then(|p| p.parse().ok()),
        args.get(1..).and_then(zone),
    ) else {
        eprintln!("usage: lunatik-dns PORT [NAME=ADDR | NAME=truncated]... | tx-checksum-off DEV");
        return ExitCode::from(2);
    };
    match serve(port, &zone) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lunatik-dns: {e}");
            ExitCode::FAILURE
        }
    }
}
