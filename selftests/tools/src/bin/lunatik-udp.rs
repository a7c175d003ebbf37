//! `lunatik-udp`: the UDP ends of the netfilter selftests and benchmark,
//! since busybox's nc speaks only TCP.
//!
//! - `lunatik-udp flood ADDR:PORT COUNT [SIZE | hex:BYTES]`: sends COUNT
//!   datagrams of SIZE bytes of `x` (64 by default), or of the bytes given
//!   in hexadecimal, as fast as it can and prints
//!   `sent COUNT in NS ns: PPS pps`.
//! - `lunatik-udp listen PORT [SECONDS]`: prints `listening on PORT` on
//!   standard error once the socket is bound (a test waits for that line
//!   rather than sleeping), then each datagram received on PORT, one line
//!   each, printable ASCII kept and other bytes shown as `.`. With
//!   SECONDS it stops after that long and prints `received N` on standard
//!   error; without, it runs until it is killed.

use std::net::{ToSocketAddrs, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn flood(addr: &str, count: u64, payload: &[u8]) -> std::io::Result<()> {
    let to = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    // Not connected: a connected UDP socket reports the ICMP "port
    // unreachable" of an earlier datagram as the error of a later send,
    // which then sends nothing; the tests count datagrams sent to closed
    // ports.
    let sock = UdpSocket::bind("0.0.0.0:0")?;
    let start = Instant::now();
    let (mut sent, mut failed) = (0u64, 0u64);
    while sent < count {
        match sock.send_to(payload, to) {
            Ok(_) => sent += 1,
            // A full queue: try again.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            // Anything else (no buffer space for now): try again, but
            // never forever.
            Err(e) => {
                failed += 1;
                if failed > count.saturating_mul(100) {
                    return Err(e);
                }
            }
        }
    }
    let ns = start.elapsed().as_nanos().max(1);
    println!(
        "sent {sent} in {ns} ns: {} pps",
        u128::from(sent) * 1_000_000_000 / ns
    );
    Ok(())
}

fn listen(port: u16, seconds: Option<u64>) -> std::io::Result<()> {
    let sock = UdpSocket::bind(("0.0.0.0", port))?;
    eprintln!("listening on {port}");
    let end = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    let mut buf = vec![0u8; 65536];
    let mut received = 0u64;
    loop {
        // Without an end, no read timeout: block until the next datagram.
        let timeout = match end {
            None => None,
            Some(end) => match end.checked_duration_since(Instant::now()) {
                Some(left) => Some(left.max(Duration::from_millis(1))),
                None => break,
            },
        };
        sock.set_read_timeout(timeout)?;
        match sock.recv(&mut buf) {
            Ok(n) => {
                received += 1;
                let line: String = buf[..n]
                    .iter()
                    .map(|&b| {
                        if b.is_ascii_graphic() || b == b' ' {
                            b as char
                        } else {
                            '.'
                        }
                    })
                    .collect();
                println!("{line}");
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
    }
    eprintln!("received {received}");
    Ok(())
}

/// The datagram `flood` sends: SIZE bytes of `x`, or `hex:BYTES` decoded.
fn payload(arg: Option<&str>) -> Option<Vec<u8>> {
    match arg {
        None => Some(vec![b'x'; 64]),
        Some(s) => match s.strip_prefix("hex:") {
            Some(hex) if hex.len() % 2 == 0 => (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
                .collect(),
            Some(_) => None,
            None => s.parse().ok().map(|size| vec![b'x'; size]),
        },
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["flood", addr, count, ref rest @ ..] => {
            match (count.parse(), payload(rest.first().copied())) {
                (Ok(count), Some(payload)) => flood(addr, count, &payload),
                _ => Err(std::io::Error::other("bad COUNT, SIZE or hex payload")),
            }
        }
        ["listen", port, ref rest @ ..] if rest.len() <= 1 => {
            match (port.parse(), rest.first().map(|s| s.parse()).transpose()) {
                (Ok(port), Ok(seconds)) => listen(port, seconds),
                _ => Err(std::io::Error::other("bad PORT or SECONDS")),
            }
        }
        _ => {
            eprintln!("usage: lunatik-udp flood ADDR:PORT COUNT [SIZE | hex:BYTES] | listen PORT [SECONDS]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lunatik-udp: {e}");
            ExitCode::FAILURE
        }
    }
}
