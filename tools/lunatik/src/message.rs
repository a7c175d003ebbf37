//! The messages of the `LUNATIK` family: attributes and their wire
//! format, on top of netlink-packet-core and netlink-packet-generic.
//!
//! Numbers come from `uapi/protocol.rs`, the file the module uses too.

use crate::protocol::{self, attachment, attr, rcu, stats};
use netlink_packet_core::{
    DecodeError, DefaultNla, Emitable, Nla, NlaBuffer, NlasIterator, Parseable,
    ParseableParametrized,
};
use netlink_packet_generic::{GenlFamily, GenlHeader};

/// An attribute of the `state` set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attr {
    /// The state's name.
    Name(String),
    /// Its context (`protocol::context`).
    Context(u32),
    /// Memory cap per replica, in bytes.
    Memory(u64),
    /// Instructions per entry.
    Budget(u64),
    /// One replica per possible CPU.
    Percpu,
    /// Chunk name for error messages.
    ChunkName(String),
    /// A piece of Lua source.
    Source(Vec<u8>),
    /// A returned value.
    Value(Vec<u8>),
    /// A failed run's message.
    Error(Vec<u8>),
    /// The kind of failure (`protocol::error_kind`).
    ErrorKind(u32),
    /// Statistics.
    Stats(Vec<Stat>),
    /// A printed line or a callback error.
    Message(Vec<u8>),
    /// A memory or budget of 0 means no limit.
    Unlimited,
    /// The namespace's rcu tables.
    Rcu(Vec<RcuStat>),
    /// A kernel object calling into the state (repeated).
    Attachment(Vec<AttachmentAttr>),
    /// Anything else, kept as it came.
    Other(DefaultNla),
}

/// An attribute of the `attachment` set: one netfilter hook or XDP
/// attachment of a state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentAttr {
    /// What it is (`protocol::attachment_kind`).
    Kind(u32),
    /// A netfilter hook's protocol family (`NFPROTO_*`).
    Family(u32),
    /// A netfilter hook's hook number.
    Hooknum(u32),
    /// A netfilter hook's priority.
    Priority(i32),
    /// The device it was registered on.
    Device(String),
    /// The device went away, and the hook with it.
    DeviceGone,
    /// Anything else.
    Other(DefaultNla),
}

/// An attribute of the `rcu` set: what a namespace's rcu tables hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RcuStat {
    /// Bytes the namespace's tables hold.
    Bytes(u64),
    /// Tables of the namespace.
    Tables(u64),
    /// The namespace's quota of bytes.
    BytesMax(u64),
    /// The namespace's quota of tables.
    TablesMax(u64),
    /// Bytes of every namespace's tables.
    BytesAll(u64),
    /// Tables of every namespace.
    TablesAll(u64),
    /// Anything else.
    Other(DefaultNla),
}

/// An attribute of the `stats` set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stat {
    /// Number of replicas.
    Replicas(u32),
    /// Bytes in use.
    MemoryUsed(u64),
    /// Sum of each replica's highest use.
    MemoryPeak(u64),
    /// Entries.
    Calls(u64),
    /// Failed entries.
    Errors(u64),
    /// Entries stopped by the budget.
    BudgetKills(u64),
    /// Allocations refused.
    AllocFailures(u64),
    /// The start of the last error.
    LastError(Vec<u8>),
    /// The longest entry, in nanoseconds.
    LongestEntryNs(u64),
    /// Anything else.
    Other(DefaultNla),
}

/// Payload length of a NUL-terminated string attribute holding `s`.
fn str_len(s: &[u8]) -> usize {
    s.len() + 1
}

fn emit_str(buf: &mut [u8], s: &[u8]) {
    buf[..s.len()].copy_from_slice(s);
    buf[s.len()] = 0;
}

fn parse_uint(p: &[u8]) -> Result<u64, DecodeError> {
    protocol::get_uint(p).ok_or_else(|| DecodeError::from("uint attribute of bad length"))
}

fn parse_u32(p: &[u8]) -> Result<u32, DecodeError> {
    protocol::get_u32(p).ok_or_else(|| DecodeError::from("u32 attribute of bad length"))
}

fn parse_string(p: &[u8]) -> String {
    String::from_utf8_lossy(protocol::get_str(p)).into_owned()
}

impl Nla for Attr {
    fn value_len(&self) -> usize {
        match self {
            Attr::Name(s) | Attr::ChunkName(s) => str_len(s.as_bytes()),
            Attr::Context(_) | Attr::ErrorKind(_) => 4,
            Attr::Memory(_) | Attr::Budget(_) => 8,
            Attr::Percpu | Attr::Unlimited => 0,
            Attr::Source(b) => b.len(),
            Attr::Value(b) | Attr::Error(b) | Attr::Message(b) => str_len(b),
            Attr::Stats(s) => s.as_slice().buffer_len(),
            Attr::Rcu(s) => s.as_slice().buffer_len(),
            Attr::Attachment(s) => s.as_slice().buffer_len(),
            Attr::Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Attr::Name(_) => attr::NAME,
            Attr::Context(_) => attr::CONTEXT,
            Attr::Memory(_) => attr::MEMORY,
            Attr::Budget(_) => attr::BUDGET,
            Attr::Percpu => attr::PERCPU,
            Attr::Unlimited => attr::UNLIMITED,
            Attr::ChunkName(_) => attr::CHUNK_NAME,
            Attr::Source(_) => attr::SOURCE,
            Attr::Value(_) => attr::VALUE,
            Attr::Error(_) => attr::ERROR,
            Attr::ErrorKind(_) => attr::ERROR_KIND,
            Attr::Stats(_) => attr::STATS | protocol::NLA_F_NESTED,
            Attr::Message(_) => attr::MESSAGE,
            Attr::Rcu(_) => attr::RCU | protocol::NLA_F_NESTED,
            Attr::Attachment(_) => attr::ATTACHMENT | protocol::NLA_F_NESTED,
            Attr::Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            Attr::Name(s) | Attr::ChunkName(s) => emit_str(buf, s.as_bytes()),
            Attr::Context(v) | Attr::ErrorKind(v) => buf[..4].copy_from_slice(&v.to_ne_bytes()),
            Attr::Memory(v) | Attr::Budget(v) => buf[..8].copy_from_slice(&v.to_ne_bytes()),
            Attr::Percpu | Attr::Unlimited => {}
            Attr::Source(b) => buf[..b.len()].copy_from_slice(b),
            Attr::Value(b) | Attr::Error(b) | Attr::Message(b) => emit_str(buf, b),
            Attr::Stats(s) => s.as_slice().emit(buf),
            Attr::Rcu(s) => s.as_slice().emit(buf),
            Attr::Attachment(s) => s.as_slice().emit(buf),
            Attr::Other(n) => n.emit_value(buf),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for Attr {
    fn parse(nla: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let p = nla.value();
        Ok(match nla.kind() {
            attr::NAME => Attr::Name(parse_string(p)),
            attr::CONTEXT => Attr::Context(parse_u32(p)?),
            attr::MEMORY => Attr::Memory(parse_uint(p)?),
            attr::BUDGET => Attr::Budget(parse_uint(p)?),
            attr::PERCPU => Attr::Percpu,
            attr::UNLIMITED => Attr::Unlimited,
            attr::CHUNK_NAME => Attr::ChunkName(parse_string(p)),
            attr::SOURCE => Attr::Source(p.to_vec()),
            attr::VALUE => Attr::Value(protocol::get_str(p).to_vec()),
            attr::ERROR => Attr::Error(protocol::get_str(p).to_vec()),
            attr::ERROR_KIND => Attr::ErrorKind(parse_u32(p)?),
            attr::STATS => Attr::Stats(parse_all(p)?),
            attr::MESSAGE => Attr::Message(protocol::get_str(p).to_vec()),
            attr::RCU => Attr::Rcu(parse_all(p)?),
            attr::ATTACHMENT => Attr::Attachment(parse_all(p)?),
            _ => Attr::Other(DefaultNla::parse(nla)?),
        })
    }
}

impl Nla for Stat {
    fn value_len(&self) -> usize {
        match self {
            Stat::Replicas(_) => 4,
            Stat::LastError(b) => str_len(b),
            Stat::Other(n) => n.value_len(),
            _ => 8,
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Stat::Replicas(_) => stats::REPLICAS,
            Stat::MemoryUsed(_) => stats::MEMORY_USED,
            Stat::MemoryPeak(_) => stats::MEMORY_PEAK,
            Stat::Calls(_) => stats::CALLS,
            Stat::Errors(_) => stats::ERRORS,
            Stat::BudgetKills(_) => stats::BUDGET_KILLS,
            Stat::AllocFailures(_) => stats::ALLOC_FAILURES,
            Stat::LastError(_) => stats::LAST_ERROR,
            Stat::LongestEntryNs(_) => stats::LONGEST_ENTRY_NS,
            Stat::Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            Stat::Replicas(v) => buf[..4].copy_from_slice(&v.to_ne_bytes()),
            Stat::MemoryUsed(v)
            | Stat::MemoryPeak(v)
            | Stat::Calls(v)
            | Stat::Errors(v)
            | Stat::BudgetKills(v)
            | Stat::LongestEntryNs(v)
            | Stat::AllocFailures(v) => buf[..8].copy_from_slice(&v.to_ne_bytes()),
            Stat::LastError(b) => emit_str(buf, b),
            Stat::Other(n) => n.emit_value(buf),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for Stat {
    fn parse(nla: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let p = nla.value();
        Ok(match nla.kind() {
            stats::REPLICAS => Stat::Replicas(parse_u32(p)?),
            stats::MEMORY_USED => Stat::MemoryUsed(parse_uint(p)?),
            stats::MEMORY_PEAK => Stat::MemoryPeak(parse_uint(p)?),
            stats::CALLS => Stat::Calls(parse_uint(p)?),
            stats::ERRORS => Stat::Errors(parse_uint(p)?),
            stats::BUDGET_KILLS => Stat::BudgetKills(parse_uint(p)?),
            stats::ALLOC_FAILURES => Stat::AllocFailures(parse_uint(p)?),
            stats::LAST_ERROR => Stat::LastError(protocol::get_str(p).to_vec()),
            stats::LONGEST_ENTRY_NS => Stat::LongestEntryNs(parse_uint(p)?),
            _ => Stat::Other(DefaultNla::parse(nla)?),
        })
    }
}

impl Nla for RcuStat {
    fn value_len(&self) -> usize {
        match self {
            RcuStat::Other(n) => n.value_len(),
            _ => 8,
        }
    }

    fn kind(&self) -> u16 {
        match self {
            RcuStat::Bytes(_) => rcu::BYTES,
            RcuStat::Tables(_) => rcu::TABLES,
            RcuStat::BytesMax(_) => rcu::BYTES_MAX,
            RcuStat::TablesMax(_) => rcu::TABLES_MAX,
            RcuStat::BytesAll(_) => rcu::BYTES_ALL,
            RcuStat::TablesAll(_) => rcu::TABLES_ALL,
            RcuStat::Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            RcuStat::Bytes(v)
            | RcuStat::Tables(v)
            | RcuStat::BytesMax(v)
            | RcuStat::TablesMax(v)
            | RcuStat::BytesAll(v)
            | RcuStat::TablesAll(v) => buf[..8].copy_from_slice(&v.to_ne_bytes()),
            RcuStat::Other(n) => n.emit_value(buf),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for RcuStat {
    fn parse(nla: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let p = nla.value();
        Ok(match nla.kind() {
            rcu::BYTES => RcuStat::Bytes(parse_uint(p)?),
            rcu::TABLES => RcuStat::Tables(parse_uint(p)?),
            rcu::BYTES_MAX => RcuStat::BytesMax(parse_uint(p)?),
            rcu::TABLES_MAX => RcuStat::TablesMax(parse_uint(p)?),
            rcu::BYTES_ALL => RcuStat::BytesAll(parse_uint(p)?),
            rcu::TABLES_ALL => RcuStat::TablesAll(parse_uint(p)?),
            _ => RcuStat::Other(DefaultNla::parse(nla)?),
        })
    }
}

impl Nla for AttachmentAttr {
    fn value_len(&self) -> usize {
        match self {
            AttachmentAttr::Kind(_)
            | AttachmentAttr::Family(_)
            | AttachmentAttr::Hooknum(_)
            | AttachmentAttr::Priority(_) => 4,
            AttachmentAttr::Device(s) => str_len(s.as_bytes()),
            AttachmentAttr::DeviceGone => 0,
            AttachmentAttr::Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            AttachmentAttr::Kind(_) => attachment::KIND,
            AttachmentAttr::Family(_) => attachment::FAMILY,
            AttachmentAttr::Hooknum(_) => attachment::HOOKNUM,
            AttachmentAttr::Priority(_) => attachment::PRIORITY,
            AttachmentAttr::Device(_) => attachment::DEVICE,
            AttachmentAttr::DeviceGone => attachment::DEVICE_GONE,
            AttachmentAttr::Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            AttachmentAttr::Kind(v) | AttachmentAttr::Family(v) | AttachmentAttr::Hooknum(v) => {
                buf[..4].copy_from_slice(&v.to_ne_bytes())
            }
            AttachmentAttr::Priority(v) => buf[..4].copy_from_slice(&v.to_ne_bytes()),
            AttachmentAttr::Device(s) => emit_str(buf, s.as_bytes()),
            AttachmentAttr::DeviceGone => {}
            AttachmentAttr::Other(n) => n.emit_value(buf),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for AttachmentAttr {
    fn parse(nla: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let p = nla.value();
        Ok(match nla.kind() {
            attachment::KIND => AttachmentAttr::Kind(parse_u32(p)?),
            attachment::FAMILY => AttachmentAttr::Family(parse_u32(p)?),
            attachment::HOOKNUM => AttachmentAttr::Hooknum(parse_u32(p)?),
            attachment::PRIORITY => AttachmentAttr::Priority(parse_u32(p)? as i32),
            attachment::DEVICE => AttachmentAttr::Device(parse_string(p)),
            attachment::DEVICE_GONE => AttachmentAttr::DeviceGone,
            _ => AttachmentAttr::Other(DefaultNla::parse(nla)?),
        })
    }
}

/// Parses every attribute in `buf`.
fn parse_all<A>(buf: &[u8]) -> Result<Vec<A>, DecodeError>
where
    A: for<'a> Parseable<NlaBuffer<&'a [u8]>>,
{
    NlasIterator::new(buf)
        .map(|nla| nla.and_then(|nla| A::parse(&nla)))
        .collect()
}

/// A message of the family: a command and its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lunatik {
    /// The command (`protocol::cmd`).
    pub cmd: u8,
    /// The attributes, in order.
    pub attrs: Vec<Attr>,
}

impl Lunatik {
    /// A message with command `cmd` and `attrs`.
    pub fn new(cmd: u8, attrs: Vec<Attr>) -> Self {
        Self { cmd, attrs }
    }

    /// The state name it carries.
    pub fn name(&self) -> Option<&str> {
        self.attrs.iter().find_map(|a| match a {
            Attr::Name(n) => Some(n.as_str()),
            _ => None,
        })
    }
}

impl GenlFamily for Lunatik {
    fn family_name() -> &'static str {
        protocol::FAMILY_NAME
    }

    fn command(&self) -> u8 {
        self.cmd
    }

    fn version(&self) -> u8 {
        protocol::FAMILY_VERSION
    }
}

impl Emitable for Lunatik {
    fn buffer_len(&self) -> usize {
        self.attrs.as_slice().buffer_len()
    }

    fn emit(&self, buf: &mut [u8]) {
        self.attrs.as_slice().emit(buf)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for Lunatik {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        Ok(Self {
            cmd: header.cmd,
            attrs: parse_all(buf)?,
        })
    }
}

/// Splits Lua source into `source` attributes of at most
/// [`protocol::SOURCE_PIECE_MAX`] bytes (one, possibly empty, at least).
pub fn source_attrs(source: &[u8]) -> Vec<Attr> {
    if source.is_empty() {
        return vec![Attr::Source(Vec::new())];
    }
    source
        .chunks(protocol::SOURCE_PIECE_MAX)
        .map(|c| Attr::Source(c.to_vec()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::context;
    use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};
    use netlink_packet_generic::GenlMessage;

    fn emit(attrs: &[Attr]) -> Vec<u8> {
        let mut buf = vec![0; attrs.buffer_len()];
        attrs.emit(&mut buf);
        buf
    }

    #[test]
    fn new_request_bytes() {
        let bytes = emit(&[
            Attr::Name("ab".into()),
            Attr::Context(context::SOFTIRQ),
            Attr::Memory(1 << 20),
            Attr::Percpu,
        ]);
        let mut expected = Vec::new();
        // name: len 7 (4 + "ab\0"), type 1, padded to 8.
        expected.extend_from_slice(&[7, 0, 1, 0, b'a', b'b', 0, 0]);
        // context: len 8, type 2, u32 1.
        expected.extend_from_slice(&[8, 0, 2, 0]);
        expected.extend_from_slice(&1u32.to_ne_bytes());
        // memory: len 12, type 3, u64.
        expected.extend_from_slice(&[12, 0, 3, 0]);
        expected.extend_from_slice(&(1u64 << 20).to_ne_bytes());
        // percpu: a bare header.
        expected.extend_from_slice(&[4, 0, 5, 0]);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn reply_round_trip_through_a_whole_message() {
        let reply = Lunatik::new(
            protocol::cmd::GET,
            vec![
                Attr::Name("filter".into()),
                Attr::Context(context::PROCESS),
                Attr::Budget(100_000_000),
                Attr::Stats(vec![
                    Stat::Replicas(2),
                    Stat::MemoryUsed(22_302),
                    Stat::Calls(5),
                    Stat::LastError(b"x.lua:1: boom".to_vec()),
                ]),
            ],
        );
        let mut genl = GenlMessage::from_payload(reply.clone());
        genl.set_resolved_family_id(30);
        let mut nl = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(genl));
        nl.finalize();
        let mut buf = vec![0; nl.buffer_len()];
        nl.serialize(&mut buf);
        // nlmsghdr: the family id is the message type.
        assert_eq!(u16::from_ne_bytes([buf[4], buf[5]]), 30);
        // genlmsghdr: command and version.
        assert_eq!(
            &buf[16..18],
            &[protocol::cmd::GET, protocol::FAMILY_VERSION]
        );
        let back = NetlinkMessage::<GenlMessage<Lunatik>>::deserialize(&buf).unwrap();
        let NetlinkPayload::InnerMessage(inner) = back.payload else {
            panic!("not a family message")
        };
        assert_eq!(inner.payload, reply);
        assert_eq!(inner.payload.name(), Some("filter"));
        // The nest carries the nested flag on the wire.
        let stats_at = 20 + 12 + 8 + 12;
        let ty = u16::from_ne_bytes([buf[stats_at + 2], buf[stats_at + 3]]);
        assert_eq!(ty, attr::STATS | protocol::NLA_F_NESTED);
    }

    #[test]
    fn kernel_uints_of_four_bytes_parse() {
        // The kernel sends NLA_UINT values that fit in 32 bits as 4 bytes.
        let mut buf = vec![8, 0, attr::MEMORY as u8, 0];
        buf.extend_from_slice(&4096u32.to_ne_bytes());
        let attrs: Vec<Attr> = parse_all(&buf).unwrap();
        assert_eq!(attrs, vec![Attr::Memory(4096)]);
        // Anything but 4 or 8 bytes is an error, not a guess.
        let bad = [7, 0, attr::MEMORY as u8, 0, 1, 2, 3, 0];
        assert!(parse_all::<Attr>(&bad).is_err());
    }

    #[test]
    fn namespace_reply_round_trip() {
        // The kernel sends small uints as 4 bytes; the CLI emits 8. Both
        // parse to the same values.
        let mut nest = Vec::new();
        for (ty, v) in [(rcu::BYTES, 4096u32), (rcu::TABLES, 2)] {
            nest.extend_from_slice(&[8, 0, ty as u8, 0]);
            nest.extend_from_slice(&v.to_ne_bytes());
        }
        let mut buf = vec![(4 + nest.len()) as u8, 0, attr::RCU as u8, 0x80];
        buf.extend_from_slice(&nest);
        let attrs: Vec<Attr> = parse_all(&buf).unwrap();
        assert_eq!(
            attrs,
            vec![Attr::Rcu(vec![RcuStat::Bytes(4096), RcuStat::Tables(2)])]
        );
        let full = vec![Attr::Rcu(vec![
            RcuStat::Bytes(1 << 33),
            RcuStat::Tables(3),
            RcuStat::BytesMax(16 << 20),
            RcuStat::TablesMax(1024),
            RcuStat::BytesAll(1 << 34),
            RcuStat::TablesAll(9),
        ])];
        let back: Vec<Attr> = parse_all(&emit(&full)).unwrap();
        assert_eq!(back, full);
    }

    #[test]
    fn attachments_round_trip() {
        let attrs = vec![
            Attr::Attachment(vec![
                AttachmentAttr::Kind(protocol::attachment_kind::NETFILTER),
                AttachmentAttr::Family(5),
                AttachmentAttr::Hooknum(0),
                AttachmentAttr::Priority(-300),
                AttachmentAttr::Device("veth0".into()),
                AttachmentAttr::DeviceGone,
            ]),
            Attr::Attachment(vec![AttachmentAttr::Kind(protocol::attachment_kind::XDP)]),
        ];
        let buf = emit(&attrs);
        // Each attachment is its own nest, flagged as one.
        let ty = u16::from_ne_bytes([buf[2], buf[3]]);
        assert_eq!(ty, attr::ATTACHMENT | protocol::NLA_F_NESTED);
        let back: Vec<Attr> = parse_all(&buf).unwrap();
        assert_eq!(back, attrs);
    }

    #[test]
    fn unknown_attributes_are_kept() {
        let buf = [8, 0, 99, 0, 1, 2, 3, 4];
        let attrs: Vec<Attr> = parse_all(&buf).unwrap();
        assert!(matches!(&attrs[..], [Attr::Other(n)] if n.kind() == 99));
    }

    #[test]
    fn sources_travel_in_pieces() {
        let source = vec![b'x'; protocol::SOURCE_MAX];
        let pieces = source_attrs(&source);
        assert_eq!(
            pieces.len(),
            protocol::SOURCE_MAX.div_ceil(protocol::SOURCE_PIECE_MAX)
        );
        let mut joined = Vec::new();
        for p in &pieces {
            let Attr::Source(b) = p else { panic!() };
            assert!(b.len() <= protocol::SOURCE_PIECE_MAX);
            joined.extend_from_slice(b);
        }
        assert_eq!(joined, source);
        // An empty chunk is still one (empty) source attribute.
        assert_eq!(source_attrs(b""), vec![Attr::Source(Vec::new())]);
    }

    #[test]
    fn attribute_reader_stops_at_malformed_headers() {
        // A good attribute, then one claiming more bytes than remain.
        let buf = [5, 0, 1, 0, b'a', 0, 0, 0, 200, 0, 2, 0, 1];
        let all: Vec<_> = protocol::Attrs::new(&buf).collect();
        assert_eq!(all, vec![(1, &b"a"[..])]);
        // A length below the header size ends the walk too.
        let buf = [2, 0, 1, 0, 8, 0, 1, 0];
        assert_eq!(protocol::Attrs::new(&buf).count(), 0);
        // Flag bits are masked off the type.
        let buf = [4, 0, 11, 0x80];
        assert_eq!(protocol::Attrs::new(&buf).next(), Some((11, &[][..])));
    }
}
