//! `lunatik-tcp`: the TCP ends of the example selftests and benchmark
//! (selftests/suites/09-examples.sh, selftests/bench.d/examples.sh), for
//! what busybox's wget and nc cannot do: choose segment boundaries, time
//! requests, probe many ports at once, send from spoofed addresses.
//!
//! - `lunatik-tcp send ADDR:PORT WAIT_MS PART...`: connects, sends each
//!   PART (`\r`, `\n`, `\\` and `\xHH` escapes understood) as its own TCP
//!   segment, waiting up to WAIT_MS for the peer to acknowledge a part
//!   before sending the next, then reads the answer for up to WAIT_MS.
//!   Prints the answer's first line, or `unacknowledged part N` (exit 3)
//!   when a part is never acknowledged, or `no answer` (exit 1).
//! - `lunatik-tcp rps ADDR:PORT COUNT PATH`: COUNT HTTP/1.0 GET requests
//!   for PATH, one connection each, one after the other; prints
//!   `COUNT requests in NS ns: RPS rps` (exit 1 if one got no answer).
//! - `lunatik-tcp scan ADDR FIRST LAST WAIT_MS`: one connection attempt
//!   to every port FIRST..=LAST, started one after the other without
//!   waiting, then waits up to WAIT_MS for their outcomes; prints
//!   `open N refused N unanswered N`.
//! - `lunatik-tcp synflood ADDR:PORT COUNT SOURCE`: COUNT TCP SYNs from
//!   COUNT consecutive source addresses starting at SOURCE (a raw socket;
//!   needs CAP_NET_RAW); prints `sent COUNT in NS ns: PPS pps`.

use std::io::{Error, ErrorKind, Read, Result, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::ExitCode;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// `PART` with its escapes replaced by the bytes they stand for.
fn unescape(part: &str) -> Vec<u8> {
    let b = part.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b'x' if i + 3 < b.len() => {
                    let hex = std::str::from_utf8(&b[i + 2..i + 4]).ok();
                    match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(v) => {
                            out.push(v);
                            i += 4;
                            continue;
                        }
                        None => out.extend_from_slice(b"\\x"),
                    }
                }
                c => out.push(c),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Bytes sent on `fd` not yet acknowledged by the peer (SIOCOUTQ).
fn unacked(fd: RawFd) -> Result<i32> {
    let mut n: libc::c_int = 0;
    // SAFETY: SIOCOUTQ (TIOCOUTQ) writes one int to the pointer given.
    if unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut n) } < 0 {
        return Err(Error::last_os_error());
    }
    Ok(n)
}

/// Polls `done` every millisecond until it holds or `wait` has passed.
fn wait_for(wait: Duration, mut done: impl FnMut() -> Result<bool>) -> Result<bool> {
    let end = Instant::now() + wait;
    loop {
        if done()? {
            return Ok(true);
        }
        if Instant::now() >= end {
            return Ok(false);
        }
        sleep(Duration::from_millis(1));
    }
}

fn send(addr: &str, wait: Duration, parts: &[&str]) -> Result<ExitCode> {
    let mut s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    for (i, part) in parts.iter().enumerate() {
        s.write_all(&unescape(part))?;
        let fd = s.as_raw_fd();
        if !wait_for(wait, || Ok(unacked(fd)? == 0))? {
            println!("unacknowledged part {}", i + 1);
            return Ok(ExitCode::from(3));
        }
    }
    s.set_read_timeout(Some(wait))?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            // A reset after a partial answer still leaves the answer.
            Err(_) => break,
        }
    }
    match answer
        .split(|&b| b == b'\n')
        .next()
        .filter(|l| !l.is_empty())
    {
        Some(line) => {
            println!("{}", String::from_utf8_lossy(line).trim_end());
            Ok(ExitCode::SUCCESS)
        }
        None => {
            println!("no answer");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn rps(addr: &str, count: u64, path: &str) -> Result<ExitCode> {
    let request = format!("GET {path} HTTP/1.0\r\n\r\n");
    let mut buf = [0u8; 4096];
    let start = Instant::now();
    for _ in 0..count {
        let mut s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.write_all(request.as_bytes())?;
        let mut got = 0;
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) => return Err(e),
            }
        }
        if got == 0 {
            eprintln!("lunatik-tcp: a request got no answer");
            return Ok(ExitCode::FAILURE);
        }
    }
    let ns = start.elapsed().as_nanos().max(1);
    println!(
        "{count} requests in {ns} ns: {} rps",
        u128::from(count) * 1_000_000_000 / ns
    );
    Ok(ExitCode::SUCCESS)
}

/// A non-blocking TCP socket whose connection to `to` has started.
fn start_connect(to: SocketAddrV4) -> Result<OwnedFd> {
    // SAFETY: plain socket(2); the descriptor is owned from here on.
    let fd = unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let sa = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: to.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*to.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: `sa` is a valid sockaddr_in of the length given.
    let rc = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_in).cast(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        let e = Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(e);
        }
    }
    Ok(fd)
}

/// The outcome of a connection attempt so far: Some(0) connected,
/// Some(errno) failed, None still pending.
fn outcome(fd: RawFd) -> Result<Option<i32>> {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no wait.
    if unsafe { libc::poll(&mut p, 1, 0) } < 0 {
        return Err(Error::last_os_error());
    }
    if p.revents == 0 {
        return Ok(None);
    }
    let mut err: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: SO_ERROR writes one int; `len` says how large it is.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut err as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(Error::last_os_error());
    }
    Ok(Some(err))
}

fn scan(ip: Ipv4Addr, first: u16, last: u16, wait: Duration) -> Result<ExitCode> {
    let mut pending = Vec::new();
    let (mut open, mut refused) = (0, 0);
    for port in first..=last {
        match start_connect(SocketAddrV4::new(ip, port)) {
            Ok(fd) => pending.push(fd),
            Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => refused += 1,
            Err(e) => return Err(e),
        }
    }
    wait_for(wait, || {
        let mut still = Vec::new();
        for fd in pending.drain(..) {
            match outcome(fd.as_raw_fd())? {
                None => still.push(fd),
                Some(0) => open += 1,
                Some(_) => refused += 1,
            }
        }
        pending = still;
        Ok(pending.is_empty())
    })?;
    println!("open {open} refused {refused} unanswered {}", pending.len());
    Ok(ExitCode::SUCCESS)
}

/// The Internet checksum (RFC 1071) of `parts` laid end to end (each of
/// even length but the last).
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum = 0u32;
    for part in parts {
        for pair in part.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            sum += u32::from(word);
        }
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 packet holding a TCP SYN from `src` to `dst`.
fn syn(src: SocketAddrV4, dst: SocketAddrV4, seq: u32) -> Vec<u8> {
    let mut tcp = [0u8; 20];
    tcp[0..2].copy_from_slice(&src.port().to_be_bytes());
    tcp[2..4].copy_from_slice(&dst.port().to_be_bytes());
    tcp[4..8].copy_from_slice(&seq.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = 0x02;
    tcp[14..16].copy_from_slice(&64240u16.to_be_bytes());
    let (s, d) = (src.ip().octets(), dst.ip().octets());
    let pseudo = [s[0], s[1], s[2], s[3], d[0], d[1], d[2], d[3], 0, 6, 0, 20];
    let sum = checksum(&[&pseudo, &tcp]);
    tcp[16..18].copy_from_slice(&sum.to_be_bytes());
    let mut ip = vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0];
    ip.extend_from_slice(&s);
    ip.extend_from_slice(&d);
    let sum = checksum(&[&ip]);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    ip.extend_from_slice(&tcp);
    ip
}

fn synflood(dst: SocketAddrV4, count: u32, source: Ipv4Addr) -> Result<ExitCode> {
    // SAFETY: plain socket(2); IPPROTO_RAW implies IP_HDRINCL.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW) };
    if fd < 0 {
        return Err(Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let to = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(*dst.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    let start = Instant::now();
    for i in 0..count {
        let src = SocketAddrV4::new(Ipv4Addr::from(u32::from(source).wrapping_add(i)), 40000);
        let pkt = syn(src, dst, i.wrapping_mul(2_654_435_761));
        loop {
            // SAFETY: `pkt` and `to` are valid for the lengths given.
            let rc = unsafe {
                libc::sendto(
                    fd.as_raw_fd(),
                    pkt.as_ptr().cast(),
                    pkt.len(),
                    0,
                    (&to as *const libc::sockaddr_in).cast(),
                    size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            };
            if rc >= 0 {
                break;
            }
            let e = Error::last_os_error();
            // A full queue or no buffer for now: try again.
            if !matches!(e.raw_os_error(), Some(libc::ENOBUFS | libc::EAGAIN)) {
                return Err(e);
            }
            sleep(Duration::from_millis(1));
        }
    }
    let ns = start.elapsed().as_nanos().max(1);
    println!(
        "sent {count} in {ns} ns: {} pps",
        u128::from(count) * 1_000_000_000 / ns
    );
    Ok(ExitCode::SUCCESS)
}

fn v4(addr: &str) -> Result<SocketAddrV4> {
    match addr.parse::<SocketAddr>() {
        Ok(SocketAddr::V4(a)) => Ok(a),
        _ => Err(Error::other(format!("not an IPv4 ADDR:PORT: {addr}"))),
    }
}

fn bad(what: &str) -> Error {
    Error::other(format!("bad {what}"))
}

fn run(args: &[&str]) -> Result<ExitCode> {
    let ms = |s: &str| {
        s.parse()
            .map(Duration::from_millis)
            .map_err(|_| bad("WAIT_MS"))
    };
    match *args {
        ["send", addr, wait, ref parts @ ..] if !parts.is_empty() => send(addr, ms(wait)?, parts),
        ["rps", addr, count, path] => rps(addr, count.parse().map_err(|_| bad("COUNT"))?, path),
        ["scan", ip, first, last, wait] => scan(
            ip.parse().map_err(|_| bad("ADDR"))?,
            first.parse().map_err(|_| bad("FIRST"))?,
            last.parse().map_err(|_| bad("LAST"))?,
            ms(wait)?,
        ),
        ["synflood", addr, count, source] => synflood(
            v4(addr)?,
            count.parse().map_err(|_| bad("COUNT"))?,
            source.parse().map_err(|_| bad("SOURCE"))?,
        ),
        _ => {
            eprintln!(
                "usage: lunatik-tcp send ADDR:PORT WAIT_MS PART... | rps ADDR:PORT COUNT PATH\n\
                 \x20      | scan ADDR FIRST LAST WAIT_MS | synflood ADDR:PORT COUNT SOURCE"
            );
            Ok(ExitCode::from(2))
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lunatik-tcp: {e}");
            ExitCode::FAILURE
        }
    }
}
