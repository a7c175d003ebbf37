//! `lunatik list`, and the state figures `stats` shares.
//!
//! `list` also shows what calls into each state: its netfilter hooks and
//! its XDP attachment (docs/cli.md, "lunatik list").

use super::print_json;
use crate::failure::{connect, failure, Failure};
use lunatik::client::Client;
use lunatik::message::{AttachmentAttr, Attr, Lunatik, Stat};
use lunatik::protocol::{attachment_kind, cmd, context};
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
    /// Shown by `list` only: `stats --json` keeps its fields.
    #[serde(skip)]
    pub(crate) attachments: Vec<AttachmentInfo>,
}

/// A netfilter hook or XDP attachment of a state, as `list --json`
/// prints it; the netfilter fields are left out for XDP.
#[derive(Serialize, Default, Debug, PartialEq, Eq)]
pub(crate) struct AttachmentInfo {
    pub(crate) kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) hook: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) priority: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) device: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) device_gone: bool,
}

/// A state as `list --json` prints it: its figures and its attachments.
#[derive(Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    state: &'a StateInfo,
    attachments: &'a [AttachmentInfo],
}

/// `linux.nf`'s name of protocol family `pf` (`NFPROTO_*`) and of its
/// hooks, in hook number order; `None` for a family `register` never
/// takes.
fn family(pf: u32) -> Option<(&'static str, &'static [&'static str])> {
    const INET: &[&str] = &[
        "PRE_ROUTING",
        "LOCAL_IN",
        "FORWARD",
        "LOCAL_OUT",
        "POST_ROUTING",
        "INGRESS",
    ];
    Some(match pf {
        1 => ("INET", INET),
        2 => ("IPV4", INET),
        3 => ("ARP", &["IN", "OUT", "FORWARD"]),
        5 => ("NETDEV", &["INGRESS", "EGRESS"]),
        7 => ("BRIDGE", INET),
        10 => ("IPV6", INET),
        _ => return None,
    })
}

/// An attachment from its nest.
fn attachment_info(attrs: &[AttachmentAttr]) -> AttachmentInfo {
    let mut a = AttachmentInfo::default();
    let (mut pf, mut hooknum) = (None, None);
    for attr in attrs {
        match attr {
            AttachmentAttr::Kind(k) => {
                a.kind = match *k {
                    attachment_kind::NETFILTER => "netfilter".into(),
                    attachment_kind::XDP => "xdp".into(),
                    k => k.to_string(),
                }
            }
            AttachmentAttr::Family(v) => pf = Some(*v),
            AttachmentAttr::Hooknum(v) => hooknum = Some(*v),
            AttachmentAttr::Priority(v) => a.priority = Some(*v),
            AttachmentAttr::Device(d) => a.device = Some(d.clone()),
            AttachmentAttr::DeviceGone => a.device_gone = true,
            AttachmentAttr::Other(_) => {}
        }
    }
    let names = pf.and_then(family);
    a.family = pf.map(|pf| names.map_or_else(|| pf.to_string(), |(f, _)| f.to_string()));
    a.hook = hooknum.map(|h| {
        names
            .and_then(|(_, hooks)| hooks.get(h as usize))
            .map_or_else(|| h.to_string(), |h| h.to_string())
    });
    a
}

impl std::fmt::Display for AttachmentInfo {
    /// One line: `netfilter NETDEV INGRESS priority 0 dev veth0`, or
    /// `xdp`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.kind)?;
        for field in [&self.family, &self.hook].into_iter().flatten() {
            write!(f, " {field}")?;
        }
        if let Some(p) = self.priority {
            write!(f, " priority {p}")?;
        }
        if let Some(d) = &self.device {
            write!(f, " dev {d}")?;
            if self.device_gone {
                write!(f, " (gone)")?;
            }
        }
        Ok(())
    }
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
            Attr::Attachment(attrs) => s.attachments.push(attachment_info(attrs)),
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
        let listed: Vec<Listed> = list
            .iter()
            .map(|s| Listed {
                state: s,
                attachments: &s.attachments,
            })
            .collect();
        return print_json(&listed);
    }
    println!(
        "{:<24} {:<8} {:>8} {:>12} {:>10} {:>8}",
        "NAME", "CONTEXT", "REPLICAS", "MEMORY", "CALLS", "ERRORS"
    );
    for s in list {
        println!(
            "{:<24} {:<8} {:>8} {:>12} {:>10} {:>8}",
            s.name, s.context, s.replicas, s.memory_used, s.calls, s.errors
        );
        for a in &s.attachments {
            println!("  {a}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_are_named_as_linux_nf_names_them() {
        let a = attachment_info(&[
            AttachmentAttr::Kind(attachment_kind::NETFILTER),
            AttachmentAttr::Family(5),
            AttachmentAttr::Hooknum(1),
            AttachmentAttr::Priority(-10),
            AttachmentAttr::Device("veth0".into()),
            AttachmentAttr::DeviceGone,
        ]);
        assert_eq!(
            a.to_string(),
            "netfilter NETDEV EGRESS priority -10 dev veth0 (gone)"
        );
        let a = attachment_info(&[
            AttachmentAttr::Kind(attachment_kind::NETFILTER),
            AttachmentAttr::Family(7),
            AttachmentAttr::Hooknum(2),
            AttachmentAttr::Priority(0),
        ]);
        assert_eq!(a.to_string(), "netfilter BRIDGE FORWARD priority 0");
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"kind":"netfilter","family":"BRIDGE","hook":"FORWARD","priority":0}"#
        );
        let a = attachment_info(&[AttachmentAttr::Kind(attachment_kind::XDP)]);
        assert_eq!(a.to_string(), "xdp");
        // Numbers a newer module may send are shown as numbers.
        let a = attachment_info(&[
            AttachmentAttr::Kind(9),
            AttachmentAttr::Family(42),
            AttachmentAttr::Hooknum(7),
        ]);
        assert_eq!(a.to_string(), "9 42 7");
    }
}
