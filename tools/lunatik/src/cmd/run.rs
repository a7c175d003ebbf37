//! `lunatik run SCRIPT`, and running a chunk in a state, which `exec`,
//! `shell` and `log` share.

use crate::failure::{check_name, connect, failure, Failure};
use lunatik::cli::ContextArg;
use lunatik::client::{Client, KernelError, RequestError};
use lunatik::message::{source_attrs, Attr, Lunatik};
use lunatik::protocol::{cmd, context, error_kind};
use std::path::{Path, PathBuf};

/// Where Lunatik keeps scripts: `lunatik run NAME` finds NAME.lua here.
const SCRIPT_DIR: &str = "/lib/modules/lua";

/// What a run gave back.
pub(crate) enum Outcome {
    Values(Vec<Vec<u8>>),
    Failed { kind: u32, message: String },
}

/// Runs `source` in state `name`.
pub(crate) fn run_chunk(
    client: &mut Client,
    name: &str,
    chunk: &str,
    source: &[u8],
) -> Result<Outcome, Failure> {
    let mut attrs = vec![
        Attr::Name(name.to_string()),
        Attr::ChunkName(chunk.to_string()),
    ];
    attrs.extend(source_attrs(source));
    let replies = client
        .request(Lunatik::new(cmd::RUN, attrs))
        .map_err(|e| failure(e, name))?;
    let (mut values, mut error, mut kind) = (Vec::new(), None, 0);
    for reply in replies {
        for a in reply.attrs {
            match a {
                Attr::Value(v) => values.push(v),
                Attr::Error(e) => error = Some(String::from_utf8_lossy(&e).into_owned()),
                Attr::ErrorKind(k) => kind = k,
                _ => {}
            }
        }
    }
    Ok(match error {
        Some(message) => Outcome::Failed { kind, message },
        None => Outcome::Values(values),
    })
}

/// What a failure of `kind` is called.
pub(crate) fn kind_name(kind: u32) -> &'static str {
    match kind {
        error_kind::SYNTAX => "syntax error",
        error_kind::MEMORY => "not enough memory",
        error_kind::BUDGET => "instruction budget exceeded",
        _ => "error",
    }
}

/// Prints a run's values, tab-separated, as Lua's own prompt does; a
/// failed run becomes the command's failure.
pub(crate) fn report(outcome: Outcome) -> Result<(), Failure> {
    match outcome {
        Outcome::Values(v) if v.is_empty() => Ok(()),
        Outcome::Values(v) => {
            let line: Vec<String> = v
                .iter()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect();
            println!("{}", line.join("\t"));
            Ok(())
        }
        // Budget, deadline and memory errors say what they are; the
        // others get it said.
        Outcome::Failed { kind, message }
            if message.contains(kind_name(kind))
                || (kind == error_kind::BUDGET && message.contains("time limit exceeded")) =>
        {
            Err(Failure::Script(message))
        }
        // Without memory for a copy of the message the module sends the
        // kind alone (states/replica.rs): no dangling colon then.
        Outcome::Failed { kind, message } if message.is_empty() => {
            Err(Failure::Script(kind_name(kind).to_string()))
        }
        Outcome::Failed { kind, message } => {
            Err(Failure::Script(format!("{}: {}", kind_name(kind), message)))
        }
    }
}

/// Finds a script as Lunatik does: a path, else NAME or NAME.lua under
/// /lib/modules/lua.
fn find_script(script: &str) -> Result<PathBuf, Failure> {
    let direct = PathBuf::from(script);
    if direct.is_file() {
        return Ok(direct);
    }
    for candidate in [
        format!("{SCRIPT_DIR}/{script}"),
        format!("{SCRIPT_DIR}/{script}.lua"),
    ] {
        let p = PathBuf::from(&candidate);
        if !script.contains("..") && p.is_file() {
            return Ok(p);
        }
    }
    Err(Failure::Invalid(format!(
        "no such script: {script} (nor under {SCRIPT_DIR})"
    )))
}

/// The bytes of `path`.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .map_err(|e| Failure::Invalid(format!("cannot read {}: {e}", path.display())))
}

/// `lunatik run`.
/// A state's default name: for a script found under /lib/modules/lua,
/// the name it was asked by, without `.lua` (`lunatik run
/// examples/filter/sni` names the state `examples/filter/sni`, as
/// Lunatik does, and XDP programs use that name); for a file path, the
/// file's name without `.lua`.
fn default_name(script: &str, path: &Path) -> String {
    let asked = if Path::new(script).is_file() {
        path.file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        script.to_string()
    };
    asked.strip_suffix(".lua").unwrap_or(&asked).to_string()
}

pub(crate) fn cmd_run(
    script: &str,
    ctx: Option<ContextArg>,
    percpu: bool,
    name: Option<String>,
    memory: Option<u64>,
    budget: Option<u64>,
    unlimited: bool,
) -> Result<(), Failure> {
    let path = find_script(script)?;
    let name = name.unwrap_or_else(|| default_name(script, &path));
    check_name(&name)?;
    let source = read_file(&path)?;
    let mut client = connect()?;
    let mut attrs = vec![Attr::Name(name.clone())];
    if let Some(c) = ctx {
        attrs.push(Attr::Context(match c {
            ContextArg::Process => context::PROCESS,
            ContextArg::Softirq => context::SOFTIRQ,
        }));
    }
    attrs.extend(memory.map(Attr::Memory));
    attrs.extend(budget.map(Attr::Budget));
    if percpu {
        attrs.push(Attr::Percpu);
    }
    if unlimited {
        attrs.push(Attr::Unlimited);
    }
    client
        .request(Lunatik::new(cmd::NEW, attrs))
        .map_err(|e| match e {
            RequestError::Kernel(KernelError {
                errno: libc::EINVAL,
                message: Some(m),
                ..
            }) => Failure::Invalid(format!("cannot create state {name}: {m}")),
            e => failure(e, &name),
        })?;
    let chunk = format!("@{}", script_label(script, &path));
    let outcome = run_chunk(&mut client, &name, &chunk, &source);
    // A script that fails leaves no half-made state behind.
    if !matches!(outcome, Ok(Outcome::Values(_))) {
        let _ = client.request(Lunatik::new(cmd::DEL, vec![Attr::Name(name.clone())]));
    }
    report(outcome?)
}

/// The name errors give a script: as the user typed it when it is a
/// path, else the file found.
fn script_label(script: &str, path: &Path) -> String {
    if Path::new(script).is_file() {
        script.to_string()
    } else {
        path.display().to_string()
    }
}
