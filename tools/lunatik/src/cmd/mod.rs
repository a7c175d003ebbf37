//! One file per command of `lunatik`.

pub(crate) mod exec;
pub(crate) mod list;
pub(crate) mod log;
pub(crate) mod run;
pub(crate) mod shell;
pub(crate) mod stats;
pub(crate) mod stop;
pub(crate) mod xdp;

use crate::failure::Failure;
use serde::Serialize;

/// Prints `v` as pretty JSON.
pub(crate) fn print_json<T: Serialize>(v: &T) -> Result<(), Failure> {
    let s = serde_json::to_string_pretty(v).map_err(|e| Failure::Other(e.to_string()))?;
    println!("{s}");
    Ok(())
}
