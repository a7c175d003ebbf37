//! `lunatik`: create, run, inspect and destroy Lua states inside the
//! kernel (lunatik.ko) over the `LUNATIK` generic netlink family.
//!
//! Every failure is one line on standard error, and the exit code says
//! which kind of failure it was (see `Failure::code` in failure.rs and
//! docs/cli.md). This file holds the command line (clap types) and the
//! dispatch; each command is a file of `cmd/`.

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

mod cmd;
mod failure;

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
pub(crate) enum ContextArg {
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
    /// XDP programs that call Lua: attach, detach, list, test-run.
    Xdp {
        #[command(subcommand)]
        command: cmd::xdp::XdpCommand,
    },
    /// Print script output and callback errors as they happen.
    Log {
        /// Stop after this many events.
        #[arg(long)]
        count: Option<u64>,
    },
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
        } => cmd::run::cmd_run(
            &script,
            context,
            percpu.is_some(),
            name,
            memory,
            budget,
            unlimited,
        ),
        Command::Stop { name } => cmd::stop::cmd_stop(&name),
        Command::List { json } => cmd::list::cmd_list(json),
        Command::Exec { name, file, code } => cmd::exec::cmd_exec(&name, file, code),
        Command::Stats {
            name,
            json,
            namespace,
        } => cmd::stats::cmd_stats(name, json, namespace),
        Command::Shell { name } => cmd::shell::cmd_shell(name),
        Command::Log { count } => cmd::log::cmd_log(count),
        Command::Xdp { command } => cmd::xdp::run(command).map_err(failure::Failure::Other),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lunatik: {e}");
            ExitCode::from(e.code())
        }
    }
}
