//! `lunatik log [--count N]`: events as they happen.

use super::run::kind_name;
use crate::failure::{connect, failure, Failure};
use lunatik::log::format_event;
use lunatik::message::Attr;
use std::io::Write;

/// `lunatik log`.
pub(crate) fn cmd_log(count: Option<u64>) -> Result<(), Failure> {
    let mut client = connect()?;
    client.subscribe().map_err(|e| failure(e, ""))?;
    // Once this line is out, every later event reaches us: the join is
    // complete when the kernel returns. Scripts (and tests) starting a
    // listener wait for it instead of guessing how long joining takes.
    eprintln!("lunatik: listening for events");
    let mut seen = 0;
    while count.map_or(true, |c| seen < c) {
        let ev = client.next_event().map_err(|e| failure(e, ""))?;
        let name = ev.name().unwrap_or("?").to_string();
        let (mut message, mut kind) = (Vec::new(), None);
        for a in ev.attrs {
            match a {
                Attr::Message(m) => message = m,
                Attr::ErrorKind(k) => kind = Some(k),
                _ => {}
            }
        }
        // Scripts choose these bytes; escaped, they cannot drive the
        // operator's terminal.
        let text = format_event(name.as_bytes(), kind.map(kind_name), &message);
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
        seen += 1;
    }
    Ok(())
}
