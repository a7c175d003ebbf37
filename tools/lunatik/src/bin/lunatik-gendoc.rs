//! `lunatik-gendoc DIR`: writes the man pages of `lunatik` (one per verb)
//! into DIR/man1 and its shell completions into DIR/completions, from the
//! same clap definition the command parses (`lunatik::cli`). `make
//! install` runs it; nothing it writes is committed.

use clap::CommandFactory;
use clap_complete::Shell;
use lunatik::cli::Cli;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn generate(dir: &Path) -> Result<(), String> {
    let man = dir.join("man1");
    let completions = dir.join("completions");
    for d in [&man, &completions] {
        std::fs::create_dir_all(d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
    }
    // One page for the command and one per verb (lunatik-run.1, ...).
    clap_mangen::generate_to(Cli::command(), &man)
        .map_err(|e| format!("cannot write man pages into {}: {e}", man.display()))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut Cli::command(), "lunatik", &completions)
            .map_err(|e| format!("cannot write the {shell} completion: {e}"))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: lunatik-gendoc DIR");
        return ExitCode::from(2);
    };
    match generate(&dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lunatik-gendoc: {e}");
            ExitCode::FAILURE
        }
    }
}
