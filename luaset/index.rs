// SPDX-License-Identifier: GPL-2.0

//! The layout of a set's bytes and the lookup in them: a hash index whose
//! lookup costs one hash of the key and a scan of one small bucket,
//! whatever the number of members (docs/libraries.md, "set").
//!
//! A set of `n` members has `buckets(n)` buckets, about one for every
//! [`LOAD`] members. Its bytes are the bucket directory, `buckets + 1`
//! little-endian `u32` offsets, then the entries, grouped by bucket:
//! bucket `b` holds the entries from offset `dir[b]` to `dir[b + 1]` of
//! the entry area. An entry is a tag byte (eight bits of the key's hash
//! that the bucket did not use, so most entries of a bucket are passed
//! over without comparing keys), the key's length as a LEB128 varint, the
//! key's bytes and, in a labeled set, its label as a little-endian `u32`.
//! That is the key's length plus 2 to 4 bytes (6 to 8 with a label) and,
//! for the directory, 2 bytes per member.
//!
//! The hash is SipHash-2-4 under a key each set draws from the RNG when it
//! is built (luarcu/siphash.rs): the members are the operator's, but the
//! keys looked up come from packets, and without the set's key a sender
//! cannot pick names that all fall into one bucket.
//!
//! `core`-only, with no `unsafe`: every read and write is bounds checked
//! and fails with `None` rather than panicking, so bytes that do not
//! hold a valid layout give wrong answers at worst, never a fault.

use crate::luarcu::siphash::{siphash24, Key};

/// Members per bucket, on average: a miss scans about this many entries.
pub const LOAD: usize = 2;

/// Bytes of a label in a labeled set's entry.
pub const LABEL: usize = 4;

/// The number of buckets of a set of `n` members (at least one).
pub fn buckets(n: usize) -> usize {
    n.div_ceil(LOAD).max(1)
}

/// Bytes of the directory of `buckets` buckets.
pub fn dir_len(buckets: usize) -> Option<usize> {
    buckets.checked_add(1)?.checked_mul(4)
}

/// The hash of `s` under the set's key.
pub fn hash(key: &Key, s: &[u8]) -> u64 {
    siphash24(key, s)
}

/// The bucket of hash `h` among `buckets`: the high bits of `h` scaled to
/// the range (no division, and any bucket count).
pub fn bucket(h: u64, buckets: usize) -> usize {
    ((u128::from(h) * buckets as u128) >> 64) as usize
}

/// The tag of hash `h`: its low byte, which [`bucket`] barely uses.
pub fn tag(h: u64) -> u8 {
    h as u8
}

/// Bytes of the LEB128 varint of `v`.
fn varint_len(mut v: usize) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Bytes of the entry of a key of `len` bytes.
pub fn entry_len(len: usize, labeled: bool) -> usize {
    1 + varint_len(len) + len + if labeled { LABEL } else { 0 }
}

/// Reads the little-endian `u32` at `at`.
pub fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Writes `v` as a little-endian `u32` at `at`.
pub fn write_u32(bytes: &mut [u8], at: usize, v: u32) -> Option<()> {
    bytes
        .get_mut(at..at.checked_add(4)?)?
        .copy_from_slice(&v.to_le_bytes());
    Some(())
}

/// One entry read from the entry area.
struct Entry<'a> {
    tag: u8,
    key: &'a [u8],
    label: u32,
    /// Where the next entry starts.
    next: usize,
}

/// The entry at `at`.
fn entry(entries: &[u8], at: usize, labeled: bool) -> Option<Entry<'_>> {
    let tag = *entries.get(at)?;
    let mut p = at + 1;
    let mut len = 0usize;
    let mut shift = 0u32;
    loop {
        let b = *entries.get(p)?;
        p += 1;
        len |= usize::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift >= usize::BITS {
            return None;
        }
    }
    let end = p.checked_add(len)?;
    let key = entries.get(p..end)?;
    let (label, next) = if labeled {
        (read_u32(entries, end)?, end + LABEL)
    } else {
        (0, end)
    };
    Some(Entry {
        tag,
        key,
        label,
        next,
    })
}

/// Writes the entry of `key` at `at` and returns where it ends.
pub fn write_entry(
    entries: &mut [u8],
    at: usize,
    tag: u8,
    key: &[u8],
    label: Option<u32>,
) -> Option<usize> {
    *entries.get_mut(at)? = tag;
    let mut p = at + 1;
    let mut len = key.len();
    loop {
        let b = (len & 0x7f) as u8;
        len >>= 7;
        *entries.get_mut(p)? = if len == 0 { b } else { b | 0x80 };
        p += 1;
        if len == 0 {
            break;
        }
    }
    let end = p.checked_add(key.len())?;
    entries.get_mut(p..end)?.copy_from_slice(key);
    match label {
        Some(l) => {
            write_u32(entries, end, l)?;
            end.checked_add(LABEL)
        }
        None => Some(end),
    }
}

/// Whether the entries from `from` to `to` hold `key` (with tag `tag`):
/// its label if so.
pub fn scan(
    entries: &[u8],
    from: usize,
    to: usize,
    labeled: bool,
    tag: u8,
    key: &[u8],
) -> Option<u32> {
    let mut p = from;
    while p < to {
        let e = entry(entries, p, labeled)?;
        if e.tag == tag && e.key == key {
            return Some(e.label);
        }
        p = e.next;
    }
    None
}

/// The shape of a built set: what its bytes hold.
#[derive(Clone, Copy)]
pub struct Shape {
    /// The number of buckets.
    pub buckets: usize,
    /// Whether entries carry labels.
    pub labeled: bool,
    /// The hash key.
    pub key: Key,
}

impl Shape {
    /// Looks `s` up in the set's `bytes`: its label (0 in a plain set) if
    /// it is a member.
    pub fn find(&self, bytes: &[u8], s: &[u8]) -> Option<u32> {
        let h = hash(&self.key, s);
        let b = bucket(h, self.buckets);
        let from = read_u32(bytes, b.checked_mul(4)?)? as usize;
        let to = read_u32(bytes, b.checked_add(1)?.checked_mul(4)?)? as usize;
        let entries = bytes.get(dir_len(self.buckets)?..)?;
        scan(entries, from, to, self.labeled, tag(h), s)
    }

    /// The union of the labels of `s` and of each of its suffixes that
    /// follows a `.` (`"a.b.c"`, `"b.c"`, `"c"`; after a final `.`, the
    /// empty string), 0 if none is a member. `charge` is told the bytes
    /// each level hashes, before it is hashed.
    pub fn walk(&self, bytes: &[u8], s: &[u8], mut charge: impl FnMut(usize)) -> u32 {
        let mut labels = 0;
        let mut i = 0;
        while let Some(rest) = s.get(i..) {
            charge(rest.len());
            labels |= self.find(bytes, rest).unwrap_or(0);
            match rest.iter().position(|&c| c == b'.') {
                Some(dot) => i += dot + 1,
                None => break,
            }
        }
        labels
    }
}
