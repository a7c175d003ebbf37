//! The command line of `lunatik`, apart from what the verbs do: `main.rs`
//! parses it, and `lunatik-gendoc` turns the same definition into man
//! pages and shell completions (`make install`), so they cannot drift.

use clap::{Parser, Subcommand, ValueEnum};

/// The whole command line.
#[derive(Parser)]
#[command(
    name = "lunatik",
    version,
    about = "Lua states inside the Linux kernel",
    long_about = "Lua states inside the Linux kernel (lunatik.ko). \
                  Without a verb, opens an interactive prompt in a new state, as `lunatik shell` does."
)]
pub struct Cli {
    /// The verb; none opens the shell.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The context a state runs in.
#[derive(Clone, Copy, ValueEnum)]
pub enum ContextArg {
    /// Process context only (default).
    Process,
    /// Also softirq: the packet path (netfilter, XDP).
    Softirq,
}

/// The `percpu` word of `lunatik run`.
#[derive(Clone, Copy, ValueEnum)]
pub enum PercpuArg {
    /// One Lua VM per possible CPU.
    Percpu,
}

/// The verbs.
#[derive(Subcommand)]
pub enum Command {
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

/// Parses "4096", "64K", "32M" or "1G".
pub fn parse_size(s: &str) -> Result<u64, String> {
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
