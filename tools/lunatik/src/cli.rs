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
    /// One replica per possible CPU.
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
        /// One replica per possible CPU.
        #[arg(value_enum)]
        percpu: Option<PercpuArg>,
        /// The state's name (default: the script's file name without .lua).
        #[arg(long)]
        name: Option<String>,
        /// Memory cap per replica, in bytes, or with a K, M or G suffix.
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
        command: XdpCommand,
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

/// How `lunatik xdp attach` attaches a program.
#[derive(Clone, Copy, ValueEnum)]
pub enum Mode {
    /// In the driver (veth, most NICs), before an skb exists.
    Native,
    /// On the skb, after the driver: works on every device.
    Generic,
}

impl Mode {
    /// The mode's name, as `lunatik xdp list` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Native => "native",
            Mode::Generic => "generic",
        }
    }
}

/// The `xdp` verbs.
#[derive(Subcommand)]
pub enum XdpCommand {
    /// Load an eBPF object and attach one of its XDP programs to a device.
    Attach {
        /// The device.
        dev: String,
        /// The eBPF object file.
        object: std::path::PathBuf,
        /// The program (default: the object's first).
        #[arg(long)]
        prog: Option<String>,
        /// Where it runs.
        #[arg(long, value_enum, default_value = "native")]
        mode: Mode,
        /// Fill hash map MAP with the lines of FILE as keys (MAP=FILE).
        #[arg(long = "map", value_name = "MAP=FILE")]
        maps: Vec<String>,
    },
    /// Detach the XDP program of a device (in either mode).
    Detach {
        /// The device.
        dev: String,
    },
    /// List the devices of this namespace with an XDP program.
    List,
    /// Run a program on a frame with BPF_PROG_TEST_RUN and print the
    /// result ("retval R", and "ns N" per run with --repeat).
    Test {
        /// The eBPF object file.
        object: std::path::PathBuf,
        /// The program (default: the object's first).
        #[arg(long)]
        prog: Option<String>,
        /// The frame, as hexadecimal text (whitespace ignored).
        #[arg(long)]
        data: std::path::PathBuf,
        /// Runs inside one call; the kernel reports the mean time.
        #[arg(long, default_value_t = 1)]
        repeat: u32,
        /// Also run every truncation of the frame, from 0 bytes up, and
        /// print "LEN retval R" (or "LEN error E" when the kernel refuses
        /// the frame) for each.
        #[arg(long)]
        truncations: bool,
        /// Fill hash map MAP with the lines of FILE as keys (MAP=FILE).
        #[arg(long = "map", value_name = "MAP=FILE")]
        maps: Vec<String>,
    },
}
