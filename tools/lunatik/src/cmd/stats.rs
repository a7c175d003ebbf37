//! `lunatik stats [NAME] [--namespace]`.

use super::list::{state_info, states};
use super::print_json;
use crate::failure::{check_name, connect, failure, Failure};
use lunatik::client::Client;
use lunatik::message::{Attr, Lunatik, RcuStat};
use lunatik::protocol::cmd;
use serde::Serialize;

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

/// `lunatik stats`.
pub(crate) fn cmd_stats(name: Option<String>, json: bool, namespace: bool) -> Result<(), Failure> {
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
        println!("  replicas        {}", s.replicas);
        println!(
            "  memory          {} bytes in use, peak {}, cap {} per replica",
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
