//! `lunatik-genl-fuzz`: sends malformed requests to the `LUNATIK` family
//! and checks that every one is refused.
//!
//! First a table of targeted cases, each with the errno and the extack
//! message the kernel must give; then `--count` random messages, each
//! built from a plausible request with at least one defect (unknown
//! command, unknown or unsupported attribute, wrong length, missing NUL,
//! missing required attribute, out-of-range value, invalid name, trailing
//! garbage). Every reply must be an error: a request that succeeds, or a
//! reply carrying data, fails the run. Exit status 0 means all passed.
//!
//! Used by the VM selftests (selftests/suites/03-control.sh), which also
//! check that the set of states is unchanged and the kernel logged no
//! warning.

use lunatik::client::Client;
use lunatik::protocol::{self, attr, cmd};
use std::collections::BTreeMap;
use std::process::ExitCode;

const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_ACK_TLVS: u16 = 0x200;

/// A small, seedable PRNG (xorshift64*), so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Appends an attribute with a raw payload.
fn put(buf: &mut Vec<u8>, ty: u16, payload: &[u8]) {
    let len = (4 + payload.len()) as u16;
    buf.extend_from_slice(&len.to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(payload);
    while buf.len() % 4 != 0 {
        buf.push(0);
    }
}

fn cstr(s: &[u8]) -> Vec<u8> {
    let mut v = s.to_vec();
    v.push(0);
    v
}

/// A whole netlink message for the family.
fn message(family: u16, seq: u32, command: u8, attrs: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    let len = (16 + 4 + attrs.len()) as u32;
    m.extend_from_slice(&len.to_ne_bytes());
    m.extend_from_slice(&family.to_ne_bytes());
    m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&[command, protocol::FAMILY_VERSION, 0, 0]);
    m.extend_from_slice(attrs);
    m
}

/// What the kernel answered to one message.
#[derive(Debug)]
enum Answer {
    /// An error ack: the errno and the extack message.
    Error(i32, String),
    /// Success, or a reply with data: the request was accepted.
    Accepted,
}

fn answer(client: &mut Client, family: u16, command: u8, attrs: &[u8]) -> std::io::Result<Answer> {
    let seq = client.next_seq();
    client.send_raw(&message(family, seq, command, attrs))?;
    loop {
        let d = client.recv_raw()?;
        let mut off = 0;
        while off + 16 <= d.len() {
            let len = u32::from_ne_bytes(d[off..off + 4].try_into().unwrap()) as usize;
            let ty = u16::from_ne_bytes(d[off + 4..off + 6].try_into().unwrap());
            let flags = u16::from_ne_bytes(d[off + 6..off + 8].try_into().unwrap());
            let rseq = u32::from_ne_bytes(d[off + 8..off + 12].try_into().unwrap());
            let body = &d[off + 16..(off + len).min(d.len())];
            off += (len.max(16) + 3) & !3;
            if rseq != seq {
                continue;
            }
            if ty != NLMSG_ERROR {
                return Ok(Answer::Accepted);
            }
            let code = i32::from_ne_bytes(body[..4].try_into().unwrap());
            if code == 0 {
                return Ok(Answer::Accepted);
            }
            let mut msg = String::new();
            if flags & NLM_F_ACK_TLVS != 0 && body.len() >= 20 {
                for (t, p) in protocol::Attrs::new(&body[20..]) {
                    if t == 1 {
                        msg = String::from_utf8_lossy(protocol::get_str(p)).into_owned();
                    }
                }
            }
            return Ok(Answer::Error(-code, msg));
        }
    }
}

/// A targeted case: the request, and the errno and extack text the
/// kernel must answer with ("" when only the errno is checked).
struct Case {
    what: &'static str,
    command: u8,
    attrs: Vec<u8>,
    errno: i32,
    text: &'static str,
}

fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    let mut c = |what, command, build: &dyn Fn(&mut Vec<u8>), errno, text| {
        let mut attrs = Vec::new();
        build(&mut attrs);
        v.push(Case {
            what,
            command,
            attrs,
            errno,
            text,
        });
    };
    c(
        "new without a name",
        cmd::NEW,
        &|_| {},
        libc::EINVAL,
        "missing state name",
    );
    c(
        "new with an empty name",
        cmd::NEW,
        &|b| put(b, attr::NAME, b"\0"),
        libc::EINVAL,
        "empty state name",
    );
    c(
        "new with a space in the name",
        cmd::NEW,
        &|b| put(b, attr::NAME, &cstr(b"a b")),
        libc::EINVAL,
        "state name has a byte outside",
    );
    c(
        "new with a 64-byte name",
        cmd::NEW,
        &|b| put(b, attr::NAME, &cstr(&[b'a'; 64])),
        libc::EINVAL,
        "",
    );
    c(
        "new with an unterminated name",
        cmd::NEW,
        &|b| put(b, attr::NAME, b"abcd"),
        libc::EINVAL,
        "",
    );
    c(
        "new with context 2",
        cmd::NEW,
        &|b| {
            put(b, attr::NAME, &cstr(b"fuzz"));
            put(b, attr::CONTEXT, &2u32.to_ne_bytes());
        },
        libc::ERANGE,
        "",
    );
    c(
        "new with a 2-byte context",
        cmd::NEW,
        &|b| {
            put(b, attr::NAME, &cstr(b"fuzz"));
            put(b, attr::CONTEXT, &[1, 0]);
        },
        libc::EINVAL,
        "invalid attribute length",
    );
    c(
        "new with a 3-byte memory",
        cmd::NEW,
        &|b| {
            put(b, attr::NAME, &cstr(b"fuzz"));
            put(b, attr::MEMORY, &[1, 2, 3]);
        },
        libc::EINVAL,
        "",
    );
    c(
        "new softirq with budget 0",
        cmd::NEW,
        &|b| {
            put(b, attr::NAME, &cstr(b"fuzz"));
            put(b, attr::CONTEXT, &1u32.to_ne_bytes());
            put(b, attr::BUDGET, &0u64.to_ne_bytes());
        },
        libc::EINVAL,
        "softirq states need a budget",
    );
    c(
        "new with a memory cap too small",
        cmd::NEW,
        &|b| {
            put(b, attr::NAME, &cstr(b"fuzz"));
            put(b, attr::MEMORY, &64u64.to_ne_bytes());
        },
        libc::ENOMEM,
        "not enough memory for the state",
    );
    c(
        "new with an unknown attribute",
        cmd::NEW,
        &|b| {
            put(b, attr::NAME, &cstr(b"fuzz"));
            put(b, 200, b"x");
        },
        libc::EINVAL,
        "Unknown attribute type",
    );
    c(
        "new with a reply-only attribute",
        cmd::NEW,
        &|b| {
            put(b, attr::NAME, &cstr(b"fuzz"));
            put(b, attr::VALUE, &cstr(b"x"));
        },
        libc::EINVAL,
        "Unsupported attribute",
    );
    c(
        "new with an attribute past its policy",
        cmd::NEW,
        &|b| {
            put(b, attr::NAME, &cstr(b"fuzz"));
            put(b, attr::RCU, &[]);
        },
        libc::EINVAL,
        "Unknown attribute type",
    );
    c(
        "del of a missing state",
        cmd::DEL,
        &|b| put(b, attr::NAME, &cstr(b"fuzz-none")),
        libc::ENOENT,
        "no such state",
    );
    c(
        "get of a missing state",
        cmd::GET,
        &|b| put(b, attr::NAME, &cstr(b"fuzz-none")),
        libc::ENOENT,
        "no such state",
    );
    c(
        "run without source",
        cmd::RUN,
        &|b| put(b, attr::NAME, &cstr(b"fuzz-none")),
        libc::EINVAL,
        "missing source",
    );
    c(
        "run with a source attribute over 32000 bytes",
        cmd::RUN,
        &|b| {
            put(b, attr::NAME, &cstr(b"fuzz-none"));
            put(b, attr::SOURCE, &vec![b' '; 32001]);
        },
        libc::ERANGE,
        "binary attribute size out of range",
    );
    c(
        "run with more than 1 MiB of source",
        cmd::RUN,
        &|b| {
            put(b, attr::NAME, &cstr(b"fuzz-none"));
            for _ in 0..33 {
                put(b, attr::SOURCE, &vec![b' '; 32000]);
            }
        },
        libc::EFBIG,
        "source too large",
    );
    c(
        "run with a new-only attribute",
        cmd::RUN,
        &|b| {
            put(b, attr::NAME, &cstr(b"fuzz-none"));
            put(b, attr::SOURCE, b"return 1");
            put(b, attr::PERCPU, b"");
        },
        libc::EINVAL,
        "",
    );
    c(
        "run with a truncated attribute",
        cmd::RUN,
        &|b| {
            put(b, attr::NAME, &cstr(b"fuzz-none"));
            b.extend_from_slice(&[200, 0, attr::SOURCE as u8, 0, b'x']);
        },
        libc::EINVAL,
        "",
    );
    c(
        "the event command",
        cmd::EVENT,
        &|b| put(b, attr::NAME, &cstr(b"fuzz")),
        libc::EOPNOTSUPP,
        "",
    );
    // ns-get takes no attribute: genetlink's strict parse refuses any.
    c(
        "ns-get with an attribute",
        cmd::NS_GET,
        &|b| put(b, attr::NAME, &cstr(b"fuzz")),
        libc::EINVAL,
        "Unknown attribute type",
    );
    c(
        "ns-get with trailing bytes",
        cmd::NS_GET,
        &|b| b.extend_from_slice(&[1, 2]),
        libc::EINVAL,
        "bytes leftover after parsing attributes",
    );
    c("command 0", 0, &|_| {}, libc::EOPNOTSUPP, "");
    c("command 200", 200, &|_| {}, libc::EOPNOTSUPP, "");
    v
}

/// The highest attribute each command takes (its policy's `maxattr`).
fn maxattr(command: u8) -> u16 {
    match command {
        cmd::NEW => attr::PERCPU,
        cmd::RUN => attr::SOURCE,
        _ => attr::NAME,
    }
}

/// A random request with at least one defect.
fn random_request(rng: &mut Rng) -> (u8, Vec<u8>) {
    let command = match rng.below(10) {
        0 => [0u8, cmd::EVENT, 7, 8, 99, 255][rng.below(6) as usize],
        _ => [cmd::NEW, cmd::DEL, cmd::GET, cmd::RUN][rng.below(4) as usize],
    };
    let mut b = Vec::new();
    // A plausible start: a name (valid or not) and the command's fields.
    if rng.below(4) != 0 {
        let name = format!("fuzz-{}", rng.below(1000));
        put(&mut b, attr::NAME, &cstr(name.as_bytes()));
    }
    if command == cmd::RUN && rng.below(2) == 0 {
        put(&mut b, attr::SOURCE, b"return 1");
    }
    if command == cmd::NEW && rng.below(2) == 0 {
        put(&mut b, attr::MEMORY, &(1u64 << 20).to_ne_bytes());
    }
    // The defects; NEW always gets one that its handler or the policy
    // must refuse before creating anything (a missing name is not enough
    // to trust, so the name is broken or another attribute is).
    let defects = 1 + rng.below(3);
    for _ in 0..defects {
        match rng.below(8) {
            // An attribute beyond the command's policy, or type 0.
            0 => {
                let ty = if rng.below(4) == 0 {
                    0
                } else {
                    maxattr(command) + 1 + rng.below(300) as u16
                };
                let n = rng.below(40) as usize;
                put(&mut b, ty, &rng.bytes(n));
            }
            // A name of the wrong shape.
            1 => {
                let bad: Vec<u8> = match rng.below(4) {
                    0 => {
                        let n = 1 + rng.below(8) as usize;
                        rng.bytes(n).into_iter().map(|c| c | 1).collect()
                    }
                    1 => cstr(&vec![b'x'; 64 + rng.below(200) as usize]),
                    2 => cstr(b"no/spaces allowed"),
                    _ => b"\0".to_vec(),
                };
                put(&mut b, attr::NAME, &bad);
            }
            // A fixed-size attribute with the wrong size.
            2 => {
                let ty = [attr::CONTEXT, attr::MEMORY, attr::BUDGET][rng.below(3) as usize];
                let n = [1usize, 2, 3, 5, 6, 7, 9, 12][rng.below(8) as usize];
                put(&mut b, ty, &rng.bytes(n));
            }
            // An out-of-range context.
            3 => put(
                &mut b,
                attr::CONTEXT,
                &(2 + rng.below(1000) as u32).to_ne_bytes(),
            ),
            // Trailing garbage shorter than an attribute header.
            4 => {
                let n = 1 + rng.below(3) as usize;
                b.extend_from_slice(&rng.bytes(n));
            }
            // An attribute header longer than what follows.
            5 => {
                let len = 8 + rng.below(500) as u16;
                b.extend_from_slice(&len.to_ne_bytes());
                b.extend_from_slice(&attr::NAME.to_ne_bytes());
                b.extend_from_slice(b"ab");
            }
            // A flag with a payload, where a flag is allowed.
            6 => {
                let n = 1 + rng.below(8) as usize;
                put(&mut b, attr::PERCPU, &rng.bytes(n));
            }
            // Random bytes as an attribute list, ended by a stub shorter
            // than a header, so even bytes that happen to parse leave
            // garbage behind.
            _ => {
                let n = 4 + rng.below(64) as usize;
                b.extend_from_slice(&rng.bytes(n));
                while b.len() % 4 != 0 {
                    b.push(0);
                }
                b.push(1);
            }
        }
    }
    (command, b)
}

fn main() -> ExitCode {
    let mut count = 10_000u64;
    let mut seed = 1u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--count" => count = args.next().and_then(|v| v.parse().ok()).unwrap_or(count),
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).unwrap_or(seed),
            _ => {
                eprintln!("usage: lunatik-genl-fuzz [--count N] [--seed S]");
                return ExitCode::from(2);
            }
        }
    }
    let mut client = match Client::connect() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lunatik-genl-fuzz: {e}");
            return ExitCode::from(3);
        }
    };
    let family = client.family_id();
    let mut failed = 0;

    for case in cases() {
        match answer(&mut client, family, case.command, &case.attrs) {
            Ok(Answer::Error(errno, text)) if errno == case.errno && text.contains(case.text) => {
                println!("ok: {}: errno {errno}, \"{text}\"", case.what);
            }
            Ok(other) => {
                println!(
                    "FAIL: {}: expected errno {} with \"{}\", got {other:?}",
                    case.what, case.errno, case.text
                );
                failed += 1;
            }
            Err(e) => {
                println!("FAIL: {}: {e}", case.what);
                failed += 1;
            }
        }
    }

    let mut rng = Rng(seed.max(1));
    let mut errnos: BTreeMap<i32, u64> = BTreeMap::new();
    for i in 0..count {
        let (command, attrs) = random_request(&mut rng);
        match answer(&mut client, family, command, &attrs) {
            Ok(Answer::Error(errno, _)) => *errnos.entry(errno).or_default() += 1,
            Ok(Answer::Accepted) => {
                println!("FAIL: random message {i} (seed {seed}) was accepted: cmd {command} attrs {attrs:02x?}");
                failed += 1;
            }
            Err(e) => {
                println!("FAIL: random message {i}: {e}");
                failed += 1;
            }
        }
    }
    let summary: Vec<String> = errnos
        .iter()
        .map(|(e, n)| format!("{}={n}", std::io::Error::from_raw_os_error(*e)))
        .collect();
    println!(
        "random messages: {count}, refused by errno: {}",
        summary.join(", ")
    );
    println!("failures: {failed}");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
