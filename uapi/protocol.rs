// SPDX-License-Identifier: GPL-2.0

//! The generic netlink family `LUNATIK`, version 1: command, attribute and
//! enum numbers, limits, and a reader of netlink attributes.
//!
//! `core`-only: the module and the `lunatik` CLI (tools/lunatik) both
//! include this file, so they cannot disagree on a number. The numbers come
//! from `netlink/lunatik.yaml`, the family's YNL spec; a host test of the
//! CLI crate compares every one of them with the spec.

/// The family's registered name.
///
/// The family is named `LUNATIK` (docs/architecture.md, "Control plane"),
/// while the kernel's YNL schema allows only lower-case names in a spec
/// (`lunatik` there). The module registers the upper-case name; see
/// `netlink/lunatik.yaml`.
pub const FAMILY_NAME: &str = "LUNATIK";
/// The family's version.
pub const FAMILY_VERSION: u8 = 1;
/// The multicast group carrying `print` output and callback errors.
pub const EVENTS_GROUP: &str = "events";

/// Longest state name, in bytes.
pub const NAME_MAX: usize = 63;
/// Longest chunk name, in bytes.
pub const CHUNK_NAME_MAX: usize = 255;
/// Most bytes of Lua source in one run request.
pub const SOURCE_MAX: usize = 1 << 20;
/// Most bytes in one source attribute; longer sources come in pieces.
/// (The policy's length check for binary attributes is an `s16`.)
pub const SOURCE_PIECE_MAX: usize = 32000;
/// Most bytes of one returned value or error message in a reply.
pub const VALUE_MAX: usize = 65000;

/// Commands (`LUNATIK_CMD_*`).
pub mod cmd {
    /// Create a state.
    pub const NEW: u8 = 1;
    /// Destroy a state.
    pub const DEL: u8 = 2;
    /// Describe one state, or dump them all.
    pub const GET: u8 = 3;
    /// Run a chunk in a state.
    pub const RUN: u8 = 4;
    /// An event of the `events` group.
    pub const EVENT: u8 = 5;
    /// Describe the requester's namespace (its rcu tables' quota).
    pub const NS_GET: u8 = 6;
}

/// Attributes of the `state` set (`LUNATIK_A_*`).
pub mod attr {
    /// The state's name (NUL-terminated string).
    pub const NAME: u16 = 1;
    /// Its context, a [`super::context`] value (u32).
    pub const CONTEXT: u16 = 2;
    /// Memory cap per replica in bytes (uint: 4 or 8 bytes).
    pub const MEMORY: u16 = 3;
    /// Instructions per entry (uint).
    pub const BUDGET: u16 = 4;
    /// One replica per possible CPU (flag).
    pub const PERCPU: u16 = 5;
    /// Chunk name for error messages (NUL-terminated string).
    pub const CHUNK_NAME: u16 = 6;
    /// A piece of Lua source (binary, repeated).
    pub const SOURCE: u16 = 7;
    /// A returned value (NUL-terminated string, repeated).
    pub const VALUE: u16 = 8;
    /// A failed run's message (NUL-terminated string).
    pub const ERROR: u16 = 9;
    /// What kind of failure, an [`super::error_kind`] value (u32).
    pub const ERROR_KIND: u16 = 10;
    /// Statistics (nest of [`super::stats`]).
    pub const STATS: u16 = 11;
    /// A printed line or a callback error (NUL-terminated string).
    pub const MESSAGE: u16 = 12;
    /// A memory or budget of 0 means no limit (flag, process states).
    pub const UNLIMITED: u16 = 13;
    /// The namespace's rcu tables (nest of [`super::rcu`]).
    pub const RCU: u16 = 14;
    /// What calls into the state: one nest of [`super::attachment`] per
    /// netfilter hook or XDP attachment (repeated).
    pub const ATTACHMENT: u16 = 15;
    /// The highest attribute number.
    pub const MAX: u16 = 15;
}

/// Attributes of the `stats` set (`LUNATIK_A_STATS_*`).
pub mod stats {
    /// Number of replicas (u32).
    pub const REPLICAS: u16 = 1;
    /// Bytes in use (uint).
    pub const MEMORY_USED: u16 = 2;
    /// Sum of each replica's highest use (uint).
    pub const MEMORY_PEAK: u16 = 3;
    /// Entries (uint).
    pub const CALLS: u16 = 4;
    /// Failed entries (uint).
    pub const ERRORS: u16 = 5;
    /// Entries stopped by the budget or the time limit (uint).
    pub const BUDGET_KILLS: u16 = 6;
    /// Allocations refused (uint).
    pub const ALLOC_FAILURES: u16 = 7;
    /// The start of the last error (NUL-terminated string).
    pub const LAST_ERROR: u16 = 8;
    /// The longest entry, in nanoseconds (uint).
    pub const LONGEST_ENTRY_NS: u16 = 9;
    /// The highest attribute number.
    pub const MAX: u16 = 9;
}

/// Attributes of the `rcu` set (`LUNATIK_A_RCU_*`), all uint.
pub mod rcu {
    /// Bytes the namespace's tables hold.
    pub const BYTES: u16 = 1;
    /// Tables of the namespace.
    pub const TABLES: u16 = 2;
    /// The namespace's quota of bytes.
    pub const BYTES_MAX: u16 = 3;
    /// The namespace's quota of tables.
    pub const TABLES_MAX: u16 = 4;
    /// Bytes held by the tables of every namespace.
    pub const BYTES_ALL: u16 = 5;
    /// Tables of every namespace.
    pub const TABLES_ALL: u16 = 6;
    /// The highest attribute number.
    pub const MAX: u16 = 6;
}

/// Attributes of the `attachment` set (`LUNATIK_A_ATTACHMENT_*`): one
/// kernel object that calls into a state.
pub mod attachment {
    /// What it is, an [`super::attachment_kind`] value (u32).
    pub const KIND: u16 = 1;
    /// A netfilter hook's protocol family, `NFPROTO_*` (u32).
    pub const FAMILY: u16 = 2;
    /// A netfilter hook's hook number within its family (u32).
    pub const HOOKNUM: u16 = 3;
    /// A netfilter hook's priority (s32).
    pub const PRIORITY: u16 = 4;
    /// The device a netdev hook was registered on, by the name it had
    /// then (NUL-terminated string).
    pub const DEVICE: u16 = 5;
    /// The device went away, and the hook with it (flag).
    pub const DEVICE_GONE: u16 = 6;
    /// The highest attribute number.
    pub const MAX: u16 = 6;
}

/// Values of [`attachment::KIND`] (`enum lunatik_attachment_kind`).
pub mod attachment_kind {
    /// A netfilter hook (`netfilter.register`).
    pub const NETFILTER: u32 = 1;
    /// A function XDP programs call (`xdp.attach`).
    pub const XDP: u32 = 2;
}

/// Values of [`attr::CONTEXT`] (`enum lunatik_context`).
pub mod context {
    /// Process context only.
    pub const PROCESS: u32 = 0;
    /// Also softirq.
    pub const SOFTIRQ: u32 = 1;
}

/// Values of [`attr::ERROR_KIND`] (`enum lunatik_error_kind`).
pub mod error_kind {
    /// The chunk did not compile.
    pub const SYNTAX: u32 = 1;
    /// The code raised an error.
    pub const RUNTIME: u32 = 2;
    /// An allocation failed.
    pub const MEMORY: u32 = 3;
    /// The instruction budget ran out.
    pub const BUDGET: u32 = 4;
}

/// Size of a netlink attribute header.
pub const NLA_HDRLEN: usize = 4;
/// Netlink attributes start on 4-byte boundaries.
pub const NLA_ALIGNTO: usize = 4;
/// The nested-attribute flag in an attribute's type.
pub const NLA_F_NESTED: u16 = 1 << 15;
/// The network-byte-order flag in an attribute's type.
pub const NLA_F_NET_BYTEORDER: u16 = 1 << 14;

/// `len` rounded up to the attribute alignment.
pub const fn nla_align(len: usize) -> usize {
    (len + NLA_ALIGNTO - 1) & !(NLA_ALIGNTO - 1)
}

/// Bytes an attribute with `len` bytes of payload takes, padding included.
pub const fn nla_total(len: usize) -> usize {
    nla_align(NLA_HDRLEN + len)
}

/// Reads the attributes in a buffer, in order.
///
/// Yields `(type, payload)` with the type's flag bits cleared, and stops at
/// the end of the buffer or at the first malformed header (too short, or
/// longer than what is left), which the kernel's own validation has
/// already refused for requests.
#[derive(Clone)]
pub struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    /// The attributes in `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { rest: buf }
    }

    /// Whether no byte is left to read: true for a message without
    /// attributes, false even when what is left is too short to be one.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.len() < NLA_HDRLEN {
            return None;
        }
        let len = usize::from(u16::from_ne_bytes([self.rest[0], self.rest[1]]));
        let ty = u16::from_ne_bytes([self.rest[2], self.rest[3]])
            & !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);
        if len < NLA_HDRLEN || len > self.rest.len() {
            self.rest = &[];
            return None;
        }
        let payload = &self.rest[NLA_HDRLEN..len];
        self.rest = self.rest.get(nla_align(len)..).unwrap_or(&[]);
        Some((ty, payload))
    }
}

/// An unsigned integer attribute (`NLA_UINT`): 4 or 8 bytes in host order.
pub fn get_uint(payload: &[u8]) -> Option<u64> {
    match payload.len() {
        4 => Some(u64::from(u32::from_ne_bytes(payload.try_into().ok()?))),
        8 => Some(u64::from_ne_bytes(payload.try_into().ok()?)),
        _ => None,
    }
}

/// A `u32` attribute.
pub fn get_u32(payload: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(payload.try_into().ok()?))
}

/// A string attribute without its terminating NUL (and anything after it).
pub fn get_str(payload: &[u8]) -> &[u8] {
    let end = payload
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(payload.len());
    &payload[..end]
}
