//! `lunatik`: create, run, inspect and destroy Lua states inside the
//! kernel (lunatik.ko) over the `LUNATIK` generic netlink family.
//!
//! Every failure is one line on standard error, and the exit code says
//! which kind of failure it was (see `Failure::code` in failure.rs and
//! docs/cli.md). The command line (clap types) is `lunatik::cli`, which
//! `lunatik-gendoc` also reads; this file holds the dispatch, and each
//! command is a file of `cmd/`.

use clap::Parser;
use lunatik::cli::{Cli, Command};
use std::process::ExitCode;

mod cmd;
mod failure;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        // As upstream Lunatik: the command alone opens the prompt.
        None => cmd::shell::cmd_shell(None),
        Some(command) => dispatch(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lunatik: {e}");
            ExitCode::from(e.code())
        }
    }
}

/// Runs one verb.
fn dispatch(command: Command) -> Result<(), failure::Failure> {
    match command {
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
    }
}
