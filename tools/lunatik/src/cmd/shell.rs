//! `lunatik shell [NAME]`: an interactive prompt.

use super::run::{report, run_chunk, Outcome};
use crate::failure::{check_name, connect, failure, Failure};
use lunatik::client::Client;
use lunatik::message::{Attr, Lunatik};
use lunatik::protocol::{cmd, error_kind};
use std::io::{BufRead, Write};

/// Whether a syntax error says the chunk ended too early: the line is
/// incomplete and more input should follow.
fn incomplete(message: &str) -> bool {
    message.trim_end().ends_with("<eof>")
}

/// `lunatik shell`.
pub(crate) fn cmd_shell(name: Option<String>) -> Result<(), Failure> {
    let mut client = connect()?;
    let (name, temporary) = match name {
        Some(n) => (n, false),
        None => {
            let n = format!("shell-{}", std::process::id());
            client
                .request(Lunatik::new(cmd::NEW, vec![Attr::Name(n.clone())]))
                .map_err(|e| failure(e, &n))?;
            (n, true)
        }
    };
    check_name(&name)?;
    let result = repl(&mut client, &name);
    if temporary {
        let _ = client.request(Lunatik::new(cmd::DEL, vec![Attr::Name(name.clone())]));
    }
    result
}

fn repl(client: &mut Client, name: &str) -> Result<(), Failure> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut pending = String::new();
    loop {
        eprint!(
            "{}",
            if pending.is_empty() {
                format!("{name}> ")
            } else {
                format!("{name}>> ")
            }
        );
        let _ = std::io::stderr().flush();
        let Some(line) = lines.next() else {
            eprintln!();
            return Ok(());
        };
        let line = line.map_err(|e| Failure::Other(format!("cannot read standard input: {e}")))?;
        if !pending.is_empty() {
            pending.push('\n');
        }
        pending.push_str(&line);
        // An expression first, as Lua's own prompt does; a chunk that does
        // not compile as one never ran, so trying it as a statement is safe.
        let expr = format!("return {pending}");
        let mut outcome = run_chunk(client, name, "=stdin", expr.as_bytes())?;
        if matches!(
            outcome,
            Outcome::Failed {
                kind: error_kind::SYNTAX,
                ..
            }
        ) {
            outcome = run_chunk(client, name, "=stdin", pending.as_bytes())?;
        }
        match outcome {
            Outcome::Failed {
                kind: error_kind::SYNTAX,
                ref message,
            } if incomplete(message) => continue,
            outcome => {
                if let Err(e) = report(outcome) {
                    eprintln!("{e}");
                }
                pending.clear();
            }
        }
    }
}
