// SPDX-License-Identifier: GPL-2.0

//! The `rcu` library: hash tables shared between states, read without
//! locks under RCU (docs/libraries.md). It exports its [`LIBRARY`], which
//! also reports the quota figures of a namespace to the control plane's
//! `NS_GET` (its `net_stats`); everything else is private to this folder.

use crate::glue::net::NetRef;
use crate::states::library::{Figures, Library, NetStats};
use crate::uapi::protocol::{attr, nla_total, rcu as figure};
use kernel::prelude::*;

/// The quota account of one namespace's tables.
mod pool;
/// The quota's limits and arithmetic (`core`-only, shared with the host
/// tests).
#[allow(unreachable_pub, dead_code)]
mod quota;
/// The Lua side: `rcu.table`, `rcu.map` and the table's metamethods.
mod rcu;
/// The keyed hash of the buckets (`core`-only, shared with the host
/// tests).
#[allow(unreachable_pub, dead_code)]
pub(crate) mod siphash;
/// The tables of each namespace and the index of its named tables.
mod space;
/// The lock-free hash tables.
mod table;

/// The `rcu` library (luarcu/rcu.rs) with its figures for `NS_GET`.
pub(crate) static LIBRARY: Library = Library {
    net_stats: Some(NetStats {
        attr: attr::RCU,
        size: 6 * nla_total(8),
        put: put_stats,
    }),
    ..rcu::LIBRARY
};

/// Writes the quota figures of `net`'s tables, and every namespace's
/// use for comparison, into the `NS_GET` reply (docs/control.md).
fn put_stats(net: NetRef, out: &mut dyn Figures) -> Result {
    let st = space::stats(net);
    out.put_uint(figure::BYTES, st.usage.bytes as u64)?;
    out.put_uint(figure::TABLES, st.usage.tables as u64)?;
    out.put_uint(figure::BYTES_MAX, st.limits.bytes as u64)?;
    out.put_uint(figure::TABLES_MAX, st.limits.tables as u64)?;
    out.put_uint(figure::BYTES_ALL, st.all.bytes as u64)?;
    out.put_uint(figure::TABLES_ALL, st.all.tables as u64)
}
