//! `lunatik list`, and the state figures `stats` shares.

use super::print_json;
use crate::failure::{connect, failure, Failure};
use lunatik::client::Client;
use lunatik::message::{Attr, Lunatik, Stat};
use lunatik::protocol::{cmd, context};
use serde::Serialize;

/// A state as `list --json` and `stats --json` print it.
#[derive(Serialize, Default)]
pub(crate) struct StateInfo {
    pub(crate) name: String,
    pub(crate) context: &'static str,
    pub(crate) percpu: bool,
    pub(crate) memory_limit: u64,
    pub(crate) budget: u64,
    pub(crate) replicas: u32,
    pub(crate) memory_used: u64,
    pub(crate) memory_peak: u64,
    pub(crate) calls: u64,
    pub(crate) errors: u64,
    pub(crate) budget_kills: u64,
    pub(crate) alloc_failures: u64,
    pub(crate) longest_entry_ns: u64,
    pub(crate) last_error: String,
}

/// A state from its `GET` reply.
pub(crate) fn state_info(m: &Lunatik) -> StateInfo {
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

/// Every state of the namespace.
pub(crate) fn states(client: &mut Client) -> Result<Vec<StateInfo>, Failure> {
    let replies = client
        .dump(Lunatik::new(cmd::GET, vec![]))
        .map_err(|e| failure(e, ""))?;
    Ok(replies.iter().map(state_info).collect())
}

/// `lunatik list`.
pub(crate) fn cmd_list(json: bool) -> Result<(), Failure> {
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
