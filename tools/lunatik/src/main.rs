//! `lunatik`: create, run, inspect and destroy Lua states inside the
//! kernel (lunatik.ko) over the `LUNATIK` generic netlink family.
//!
//! Every failure is one line on standard error, and the exit code says
//! which kind of failure it was (see [`Failure::code`] and docs/cli.md).

use clap::{Parser, Subcommand, ValueEnum};
use lunatik::client::{Client, KernelError, RequestError};
use lunatik::log::format_event;
use lunatik::message::{source_attrs, Attr, Lunatik, RcuStat, Stat};
use lunatik::name::{Name, NameError};
use lunatik::protocol::{self, cmd, context, error_kind};
use serde::Serialize;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where Lunatik keeps scripts: `lunatik run NAME` finds NAME.lua here.
const SCRIPT_DIR: &str = "/lib/modules/lua";

#[derive(Parser)]
#[command(
    name = "lunatik",
    version,
    about = "Lua states inside the Linux kernel"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum ContextArg {
    /// Process context only (default).
    Process,
    /// Also softirq: the packet path (netfilter, XDP).
    Softirq,
}

#[derive(Clone, Copy, ValueEnum)]
enum PercpuArg {
    /// One Lua VM per possible CPU.
    Percpu,
}

#[derive(Subcommand)]
enum Command {
    /// Create a state and run a script in it (removed again if the
    /// script fails).
    Run {
        /// A script file, or the name of one under /lib/modules/lua.
        script: String,
        /// The state's context.
        #[arg(value_enum)]
        context: Option<ContextArg>,
        /// One VM per possible CPU.
        #[arg(value_enum)]
        percpu: Option<PercpuArg>,
        /// The state's name (default: the script's file name without .lua).
        #[arg(long)]
        name: Option<String>,
        /// Memory cap per VM, in bytes, or with a K, M or G suffix.
        #[arg(long, value_parser = parse_size)]
        memory: Option<u64>,
        /// Instructions per entry (0 for none, process states with
        /// --unlimited only).
        #[arg(long)]
        budget: Option<u64>,
        /// Let --memory 0 or --budget 0 mean no limit (process states).
        #[arg(long)]
        unlimited: bool,
    },
    /// Destroy a state.
    Stop {
        /// The state's name.
        name: String,
    },
    /// List the states of this network namespace.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a file or a piece of code in a state and print what it returns.
    Exec {
        /// The state's name.
        name: String,
        /// A script file ("-" for standard input).
        file: Option<String>,
        /// Code to run instead of a file.
        #[arg(short = 'e', long = "execute", conflicts_with = "file")]
        code: Option<String>,
    },
    /// Show the statistics of one state, or of all and of the namespace.
    Stats {
        /// The state's name.
        name: Option<String>,
        /// Print JSON (an array of states; an object with --namespace).
        #[arg(long)]
        json: bool,
        /// Only the namespace's figures: what its rcu tables hold against
        /// its quota.
        #[arg(long, conflicts_with = "name")]
        namespace: bool,
    },
    /// An interactive Lua prompt in a state (a new one if none is named,
    /// removed on exit).
    Shell {
        /// The state's name.
        name: Option<String>,
    },
    /// Print script output and callback errors as they happen.
    Log {
        /// Stop after this many events.
        #[arg(long)]
        count: Option<u64>,
    },
}

/// A failure of the command, with its exit code.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("{0}")]
    Script(String),
    #[error(
        "the lunatik module is not loaded (no generic netlink family LUNATIK; load lunatik.ko)"
    )]
    NotLoaded,
    #[error("no such state: {0}")]
    NoSuchState(String),
    #[error("a state named {0} already exists")]
    NameTaken(String),
    #[error("{0}")]
    Invalid(String),
    #[error("permission denied: CAP_NET_ADMIN is required")]
    PermissionDenied,
    #[error("script too large: {0}")]
    TooLarge(String),
    #[error("{0}")]
    Other(String),
}

impl Failure {
    /// The exit code (docs/cli.md lists them).
    fn code(&self) -> u8 {
        match self {
            Failure::Script(_) => 1,
            // 2 is clap's code for a usage error.
            Failure::NotLoaded => 3,
            Failure::NoSuchState(_) => 4,
            Failure::NameTaken(_) => 5,
            Failure::Invalid(_) => 6,
            Failure::PermissionDenied => 7,
            Failure::TooLarge(_) => 8,
            Failure::Other(_) => 9,
        }
    }
}

/// Maps a request's failure on state `name` to the command's.
fn failure(e: RequestError, name: &str) -> Failure {
    match e {
        RequestError::NotLoaded => Failure::NotLoaded,
        RequestError::Kernel(KernelError {
            errno, ref message, ..
        }) => match errno {
            libc::EPERM | libc::EACCES => Failure::PermissionDenied,
            libc::ENOENT => Failure::NoSuchState(name.to_string()),
            libc::EEXIST => Failure::NameTaken(name.to_string()),
            libc::EFBIG | libc::EMSGSIZE => Failure::TooLarge(
                message
                    .clone()
                    .unwrap_or_else(|| format!("the limit is {} bytes", protocol::SOURCE_MAX)),
            ),
            _ => Failure::Other(format!("kernel refused the request: {e}")),
        },
        other => Failure::Other(other.to_string()),
    }
}

fn connect() -> Result<Client, Failure> {
    Client::connect().map_err(|e| match e {
        RequestError::NotLoaded => Failure::NotLoaded,
        RequestError::Kernel(KernelError {
            errno: libc::EPERM, ..
        }) => Failure::PermissionDenied,
        other => Failure::Other(other.to_string()),
    })
}

fn check_name(name: &str) -> Result<(), Failure> {
    Name::new(name.as_bytes()).map(|_| ()).map_err(|e| {
        Failure::Invalid(format!(
            "invalid state name {name:?}: {}",
            match e {
                NameError::Empty => "empty".to_string(),
                NameError::TooLong => format!("longer than {} bytes", protocol::NAME_MAX),
                NameError::BadByte(b) => format!("byte {:?} is not in [A-Za-z0-9_./:-]", b as char),
            }
        ))
    })
}

/// Parses "4096", "64K", "32M" or "1G".
fn parse_size(s: &str) -> Result<u64, String> {
    let (digits, mult) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 1u64 << 10),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 1 << 20),
        Some(b'G' | b'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("not a size: {s:?} (bytes, or a number with K, M or G)"))
}

/// What a run gave back.
enum Outcome {
    Values(Vec<Vec<u8>>),
    Failed { kind: u32, message: String },
}

/// Runs `source` in state `name`.
fn run_chunk(
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

fn kind_name(kind: u32) -> &'static str {
    match kind {
        error_kind::SYNTAX => "syntax error",
        error_kind::MEMORY => "not enough memory",
        error_kind::BUDGET => "instruction budget exceeded",
        _ => "error",
    }
}

/// Prints a run's values, tab-separated, as Lua's own prompt does; a
/// failed run becomes the command's failure.
fn report(outcome: Outcome) -> Result<(), Failure> {
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

fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .map_err(|e| Failure::Invalid(format!("cannot read {}: {e}", path.display())))
}

fn cmd_run(
    script: &str,
    ctx: Option<ContextArg>,
    percpu: bool,
    name: Option<String>,
    memory: Option<u64>,
    budget: Option<u64>,
    unlimited: bool,
) -> Result<(), Failure> {
    let path = find_script(script)?;
    let name = name.unwrap_or_else(|| {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        file.strip_suffix(".lua").unwrap_or(&file).to_string()
    });
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

fn cmd_stop(name: &str) -> Result<(), Failure> {
    check_name(name)?;
    connect()?
        .request(Lunatik::new(cmd::DEL, vec![Attr::Name(name.to_string())]))
        .map_err(|e| failure(e, name))?;
    Ok(())
}

fn cmd_exec(name: &str, file: Option<String>, code: Option<String>) -> Result<(), Failure> {
    check_name(name)?;
    let (chunk, source) = match (file, code) {
        (_, Some(code)) => ("=(command line)".to_string(), code.into_bytes()),
        (Some(f), None) if f == "-" => {
            let mut s = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut s)
                .map_err(|e| Failure::Other(format!("cannot read standard input: {e}")))?;
            ("=stdin".to_string(), s)
        }
        (Some(f), None) => (format!("@{f}"), read_file(Path::new(&f))?),
        (None, None) => return Err(Failure::Invalid("give a file or -e CODE".into())),
    };
    let mut client = connect()?;
    report(run_chunk(&mut client, name, &chunk, &source)?)
}

/// A state as `list --json` and `stats --json` print it.
#[derive(Serialize, Default)]
struct StateInfo {
    name: String,
    context: &'static str,
    percpu: bool,
    memory_limit: u64,
    budget: u64,
    replicas: u32,
    memory_used: u64,
    memory_peak: u64,
    calls: u64,
    errors: u64,
    budget_kills: u64,
    alloc_failures: u64,
    longest_entry_ns: u64,
    last_error: String,
}

fn state_info(m: &Lunatik) -> StateInfo {
    let mut s = StateInfo {
        context: "process",
        ..Default::default()
    };
    for a in &m.attrs {
        match a {
            Attr::Name(n) => s.name = n.clone(),
            Attr::Context(c) => {
                s.context = if *c == context::SOFTIRQ {
                    "softirq"
                } else {
                    "process"
                }
            }
            Attr::Percpu => s.percpu = true,
            Attr::Memory(v) => s.memory_limit = *v,
            Attr::Budget(v) => s.budget = *v,
            Attr::Stats(stats) => {
                for st in stats {
                    match st {
                        Stat::Replicas(v) => s.replicas = *v,
                        Stat::MemoryUsed(v) => s.memory_used = *v,
                        Stat::MemoryPeak(v) => s.memory_peak = *v,
                        Stat::Calls(v) => s.calls = *v,
                        Stat::Errors(v) => s.errors = *v,
                        Stat::BudgetKills(v) => s.budget_kills = *v,
                        Stat::AllocFailures(v) => s.alloc_failures = *v,
                        Stat::LongestEntryNs(v) => s.longest_entry_ns = *v,
                        Stat::LastError(e) => {
                            s.last_error = String::from_utf8_lossy(e).into_owned()
                        }
                        Stat::Other(_) => {}
                    }
                }
            }
            _ => {}
        }
    }
    s
}

fn states(client: &mut Client) -> Result<Vec<StateInfo>, Failure> {
    let replies = client
        .dump(Lunatik::new(cmd::GET, vec![]))
        .map_err(|e| failure(e, ""))?;
    Ok(replies.iter().map(state_info).collect())
}

fn print_json<T: Serialize>(v: &T) -> Result<(), Failure> {
    let s = serde_json::to_string_pretty(v).map_err(|e| Failure::Other(e.to_string()))?;
    println!("{s}");
    Ok(())
}

fn cmd_list(json: bool) -> Result<(), Failure> {
    let list = states(&mut connect()?)?;
    if json {
        return print_json(&list);
    }
    println!(
        "{:<24} {:<8} {:>4} {:>12} {:>10} {:>8}",
        "NAME", "CONTEXT", "VMS", "MEMORY", "CALLS", "ERRORS"
    );
    for s in list {
        println!(
            "{:<24} {:<8} {:>4} {:>12} {:>10} {:>8}",
            s.name, s.context, s.replicas, s.memory_used, s.calls, s.errors
        );
    }
    Ok(())
}

/// The namespace's figures as `stats --namespace --json` prints them.
#[derive(Serialize, Default)]
struct NamespaceInfo {
    rcu_bytes: u64,
    rcu_tables: u64,
    rcu_bytes_max: u64,
    rcu_tables_max: u64,
    rcu_bytes_all: u64,
    rcu_tables_all: u64,
}

fn namespace_info(client: &mut Client) -> Result<NamespaceInfo, Failure> {
    let replies = client
        .request(Lunatik::new(cmd::NS_GET, vec![]))
        .map_err(|e| failure(e, ""))?;
    let mut ns = NamespaceInfo::default();
    for a in replies.iter().flat_map(|m| &m.attrs) {
        if let Attr::Rcu(stats) = a {
            for st in stats {
                match *st {
                    RcuStat::Bytes(v) => ns.rcu_bytes = v,
                    RcuStat::Tables(v) => ns.rcu_tables = v,
                    RcuStat::BytesMax(v) => ns.rcu_bytes_max = v,
                    RcuStat::TablesMax(v) => ns.rcu_tables_max = v,
                    RcuStat::BytesAll(v) => ns.rcu_bytes_all = v,
                    RcuStat::TablesAll(v) => ns.rcu_tables_all = v,
                    RcuStat::Other(_) => {}
                }
            }
        }
    }
    Ok(ns)
}

fn print_namespace(ns: &NamespaceInfo) {
    println!("namespace:");
    println!(
        "  rcu tables      {} of {}",
        ns.rcu_tables, ns.rcu_tables_max
    );
    println!(
        "  rcu memory      {} bytes of {}",
        ns.rcu_bytes, ns.rcu_bytes_max
    );
    println!(
        "  all namespaces  {} rcu tables, {} bytes",
        ns.rcu_tables_all, ns.rcu_bytes_all
    );
}

fn cmd_stats(name: Option<String>, json: bool, namespace: bool) -> Result<(), Failure> {
    let mut client = connect()?;
    if namespace {
        let ns = namespace_info(&mut client)?;
        if json {
            return print_json(&ns);
        }
        print_namespace(&ns);
        return Ok(());
    }
    let all = name.is_none();
    let list = match name {
        Some(n) => {
            check_name(&n)?;
            let replies = client
                .request(Lunatik::new(cmd::GET, vec![Attr::Name(n.clone())]))
                .map_err(|e| failure(e, &n))?;
            replies.iter().map(state_info).collect()
        }
        None => states(&mut client)?,
    };
    if json {
        return print_json(&list);
    }
    for s in list {
        println!("{}:", s.name);
        println!(
            "  context         {}{}",
            s.context,
            if s.percpu { ", per-CPU" } else { "" }
        );
        println!("  vms             {}", s.replicas);
        println!(
            "  memory          {} bytes in use, peak {}, cap {} per VM",
            s.memory_used, s.memory_peak, s.memory_limit
        );
        println!("  budget          {} instructions per entry", s.budget);
        println!("  calls           {}", s.calls);
        println!("  errors          {}", s.errors);
        println!("  budget kills    {}", s.budget_kills);
        println!("  alloc failures  {}", s.alloc_failures);
        println!("  longest entry   {} ns", s.longest_entry_ns);
        if !s.last_error.is_empty() {
            println!(
                "  last error      {}",
                s.last_error.lines().next().unwrap_or("")
            );
        }
    }
    if all {
        print_namespace(&namespace_info(&mut client)?);
    }
    Ok(())
}

/// Whether a syntax error says the chunk ended too early: the line is
/// incomplete and more input should follow.
fn incomplete(message: &str) -> bool {
    message.trim_end().ends_with("<eof>")
}

fn cmd_shell(name: Option<String>) -> Result<(), Failure> {
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

fn cmd_log(count: Option<u64>) -> Result<(), Failure> {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            script,
            context,
            percpu,
            name,
            memory,
            budget,
            unlimited,
        } => cmd_run(
            &script,
            context,
            percpu.is_some(),
            name,
            memory,
            budget,
            unlimited,
        ),
        Command::Stop { name } => cmd_stop(&name),
        Command::List { json } => cmd_list(json),
        Command::Exec { name, file, code } => cmd_exec(&name, file, code),
        Command::Stats {
            name,
            json,
            namespace,
        } => cmd_stats(name, json, namespace),
        Command::Shell { name } => cmd_shell(name),
        Command::Log { count } => cmd_log(count),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lunatik: {e}");
            ExitCode::from(e.code())
        }
    }
}
