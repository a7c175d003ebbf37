//! The numbers in uapi/protocol.rs (shared by the module and the CLI)
//! against the family's YNL spec, netlink/lunatik.yaml, where YNL numbers
//! attributes and commands from 1 in the order they are listed (unless
//! a `value` says otherwise) and enums from `value-start` (default 0).

use lunatik::protocol::{
    self, attachment, attachment_kind, attr, cmd, context, error_kind, rcu, stats,
};
use serde_yaml::Value;

fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../netlink/lunatik.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).expect("read spec")).expect("parse spec")
}

/// Number of each named entry of a YNL list, from `start`.
fn numbered(list: &Value, start: u64) -> Vec<(String, u64)> {
    let mut n = start;
    let mut out = Vec::new();
    for item in list.as_sequence().expect("list") {
        if let Some(v) = item.get("value").and_then(Value::as_u64) {
            n = v;
        }
        let name = match item {
            Value::String(s) => s.clone(),
            _ => item["name"].as_str().expect("name").to_string(),
        };
        out.push((name, n));
        n += 1;
    }
    out
}

fn find<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_sequence()
        .unwrap()
        .iter()
        .find(|v| v["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("{name} not in spec"))
}

#[test]
fn family_name_matches_the_spec_up_to_case() {
    let s = spec();
    assert_eq!(
        s["name"].as_str().unwrap().to_uppercase(),
        protocol::FAMILY_NAME
    );
    let groups = numbered(&s["mcast-groups"]["list"], 0);
    assert_eq!(groups, vec![(protocol::EVENTS_GROUP.to_string(), 0)]);
}

/// YNL's generator leaves multicast group flags out of the C it makes, so
/// the module sets `GENL_MCAST_CAP_NET_ADMIN` on every group itself
/// (control/genl/family.rs); the spec must say the same, for its other readers.
#[test]
fn every_group_needs_cap_net_admin() {
    let s = spec();
    for group in s["mcast-groups"]["list"].as_sequence().unwrap() {
        let flags: Vec<&str> = group["flags"]
            .as_sequence()
            .map(|f| f.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(flags, ["admin-perm"], "group {:?}", group["name"]);
    }
}

#[test]
fn constants_match() {
    let s = spec();
    let defs = &s["definitions"];
    let value = |n: &str| find(defs, n)["value"].as_u64().unwrap() as usize;
    assert_eq!(value("name-max"), protocol::NAME_MAX);
    assert_eq!(value("name-max"), lunatik::name::NAME_MAX);
    assert_eq!(value("chunk-name-max"), protocol::CHUNK_NAME_MAX);
    assert_eq!(value("source-max"), protocol::SOURCE_MAX);
    assert_eq!(value("source-piece-max"), protocol::SOURCE_PIECE_MAX);
    assert_eq!(value("value-max"), protocol::VALUE_MAX);
}

#[test]
fn enums_match() {
    let s = spec();
    let defs = &s["definitions"];
    let entries = |n: &str| {
        let e = find(defs, n);
        numbered(
            &e["entries"],
            e.get("value-start").and_then(Value::as_u64).unwrap_or(0),
        )
    };
    assert_eq!(
        entries("context"),
        [("process", context::PROCESS), ("softirq", context::SOFTIRQ)]
            .map(|(n, v)| (n.to_string(), u64::from(v)))
    );
    assert_eq!(
        entries("error-kind"),
        [
            ("syntax", error_kind::SYNTAX),
            ("runtime", error_kind::RUNTIME),
            ("memory", error_kind::MEMORY),
            ("budget", error_kind::BUDGET),
        ]
        .map(|(n, v)| (n.to_string(), u64::from(v)))
    );
    assert_eq!(
        entries("attachment-kind"),
        [
            ("netfilter", attachment_kind::NETFILTER),
            ("xdp", attachment_kind::XDP),
        ]
        .map(|(n, v)| (n.to_string(), u64::from(v)))
    );
}

#[test]
fn attributes_match() {
    let s = spec();
    let sets = &s["attribute-sets"];
    let state = numbered(&find(sets, "state")["attributes"], 1);
    let expected = [
        ("name", attr::NAME),
        ("context", attr::CONTEXT),
        ("memory", attr::MEMORY),
        ("budget", attr::BUDGET),
        ("percpu", attr::PERCPU),
        ("chunk-name", attr::CHUNK_NAME),
        ("source", attr::SOURCE),
        ("value", attr::VALUE),
        ("error", attr::ERROR),
        ("error-kind", attr::ERROR_KIND),
        ("stats", attr::STATS),
        ("message", attr::MESSAGE),
        ("unlimited", attr::UNLIMITED),
        ("rcu", attr::RCU),
        ("attachment", attr::ATTACHMENT),
    ]
    .map(|(n, v)| (n.to_string(), u64::from(v)));
    assert_eq!(state, expected);
    assert_eq!(u64::from(attr::MAX), state.last().unwrap().1);

    let st = numbered(&find(sets, "stats")["attributes"], 1);
    let expected = [
        ("replicas", stats::REPLICAS),
        ("memory-used", stats::MEMORY_USED),
        ("memory-peak", stats::MEMORY_PEAK),
        ("calls", stats::CALLS),
        ("errors", stats::ERRORS),
        ("budget-kills", stats::BUDGET_KILLS),
        ("alloc-failures", stats::ALLOC_FAILURES),
        ("last-error", stats::LAST_ERROR),
        ("longest-entry-ns", stats::LONGEST_ENTRY_NS),
    ]
    .map(|(n, v)| (n.to_string(), u64::from(v)));
    assert_eq!(st, expected);
    assert_eq!(u64::from(stats::MAX), st.last().unwrap().1);

    let r = numbered(&find(sets, "rcu")["attributes"], 1);
    let expected = [
        ("bytes", rcu::BYTES),
        ("tables", rcu::TABLES),
        ("bytes-max", rcu::BYTES_MAX),
        ("tables-max", rcu::TABLES_MAX),
        ("bytes-all", rcu::BYTES_ALL),
        ("tables-all", rcu::TABLES_ALL),
    ]
    .map(|(n, v)| (n.to_string(), u64::from(v)));
    assert_eq!(r, expected);
    assert_eq!(u64::from(rcu::MAX), r.last().unwrap().1);

    let a = numbered(&find(sets, "attachment")["attributes"], 1);
    let expected = [
        ("kind", attachment::KIND),
        ("family", attachment::FAMILY),
        ("hooknum", attachment::HOOKNUM),
        ("priority", attachment::PRIORITY),
        ("device", attachment::DEVICE),
        ("device-gone", attachment::DEVICE_GONE),
    ]
    .map(|(n, v)| (n.to_string(), u64::from(v)));
    assert_eq!(a, expected);
    assert_eq!(u64::from(attachment::MAX), a.last().unwrap().1);
}

#[test]
fn commands_match() {
    let s = spec();
    let ops = numbered(&s["operations"]["list"], 1);
    let expected = [
        ("new", cmd::NEW),
        ("del", cmd::DEL),
        ("get", cmd::GET),
        ("run", cmd::RUN),
        ("event", cmd::EVENT),
        ("ns-get", cmd::NS_GET),
    ]
    .map(|(n, v)| (n.to_string(), u64::from(v)));
    assert_eq!(ops, expected);
    // Every command but the event needs CAP_NET_ADMIN.
    for op in s["operations"]["list"].as_sequence().unwrap() {
        if op["name"] != "event" {
            assert_eq!(
                op["flags"][0].as_str(),
                Some("admin-perm"),
                "{:?}",
                op["name"]
            );
        }
    }
}
