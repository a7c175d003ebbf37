// SPDX-License-Identifier: GPL-2.0

//! The tables behind the `rcu` library (luarcu/rcu.rs): hash tables whose
//! readers take no lock.
//!
//! An entry is immutable once published. Readers walk a bucket's list
//! inside an RCU read-side section with acquire loads; writers, one at a
//! time per table (a bh-disabling spinlock, as softirq states write too),
//! publish a new entry with a release store and hand the entry it replaced
//! or removed to `call_rcu`, which frees it after every reader that might
//! see it is done. The module waits for those callbacks on unload
//! (`rcu_barrier` in [`crate::rcu::NamesOwner`]).
//!
//! Nothing here calls Lua: every operation takes plain data and returns
//! plain data, so the library can call Lua before or after, never inside
//! an RCU section or under the lock (DESIGN.md section 4).
//!
//! Each table counts the bytes of its entries and refuses a write that
//! would take it past [`TABLE_CAP`].

use crate::bh_lock::{new_spinlock_bh, SpinLockBh};
use crate::name::Name;
use crate::net::NetRef;
use core::alloc::Layout;
use core::ptr::NonNull;
use kernel::alloc::{allocator::Kmalloc, flags::__GFP_NOWARN, Allocator, Flags, NumaNode};
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::{Acquire, Atomic, Relaxed, Release};
use kernel::sync::{rcu, Arc};

/// Longest key, in bytes (keys are shorter than 256 bytes).
pub(crate) const KEY_MAX: usize = 255;
/// Longest string value, in bytes.
pub(crate) const VALUE_MAX: usize = 64 << 10;
/// Most bytes of entries one table holds.
pub(crate) const TABLE_CAP: usize = 4 << 20;
/// Most buckets of one table.
pub(crate) const MAX_BUCKETS: usize = 1 << 16;

/// What an entry holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    False,
    True,
    Int,
    Str,
}

/// An entry: a header followed by the key's bytes, then the string
/// value's bytes.
///
/// Invariant: once published in a bucket, nothing but `next` changes, and
/// `next` changes only under the table's lock. `size` is the size of the
/// allocation, made by `Kmalloc` with [`Entry::layout`].
#[repr(C)]
pub(crate) struct Entry {
    next: Atomic<*mut Entry>,
    rcu: bindings::callback_head,
    size: usize,
    hash: u32,
    key_len: u8,
    kind: Kind,
    int: i64,
    str_len: usize,
}

/// A value, as written or as read (strings borrowed).
#[derive(Clone, Copy)]
pub(crate) enum Value<'a> {
    Bool(bool),
    Int(i64),
    Str(&'a [u8]),
}

const HEADER: usize = core::mem::size_of::<Entry>();

fn hash(key: &[u8]) -> u32 {
    // FNV-1a: fast, and good enough for keys a script chooses.
    key.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

impl Entry {
    fn layout(size: usize) -> Option<Layout> {
        Layout::from_size_align(size, core::mem::align_of::<Entry>()).ok()
    }

    /// A new, unpublished entry.
    fn new(key: &[u8], value: Value<'_>, flags: Flags) -> Option<NonNull<Entry>> {
        let str_len = match value {
            Value::Str(s) => s.len(),
            _ => 0,
        };
        let size = HEADER + key.len() + str_len;
        let block =
            Kmalloc::alloc(Self::layout(size)?, flags | __GFP_NOWARN, NumaNode::NO_NODE).ok()?;
        let e = block.cast::<Entry>();
        let (kind, int) = match value {
            Value::Bool(false) => (Kind::False, 0),
            Value::Bool(true) => (Kind::True, 0),
            Value::Int(i) => (Kind::Int, i),
            Value::Str(_) => (Kind::Str, 0),
        };
        // SAFETY: `block` is a fresh allocation of `size` bytes, aligned
        // for an Entry; the header and both byte runs fit in it.
        unsafe {
            e.as_ptr().write(Entry {
                next: Atomic::new(core::ptr::null_mut()),
                rcu: bindings::callback_head::default(),
                size,
                hash: hash(key),
                key_len: key.len() as u8,
                kind,
                int,
                str_len,
            });
            let bytes = e.as_ptr().cast::<u8>().add(HEADER);
            core::ptr::copy_nonoverlapping(key.as_ptr(), bytes, key.len());
            if let Value::Str(s) = value {
                core::ptr::copy_nonoverlapping(s.as_ptr(), bytes.add(key.len()), s.len());
            }
        }
        Some(e)
    }

    fn key(&self) -> &[u8] {
        // SAFETY: the key's bytes follow the header (type invariant).
        unsafe {
            core::slice::from_raw_parts(
                (self as *const Entry).cast::<u8>().add(HEADER),
                usize::from(self.key_len),
            )
        }
    }

    pub(crate) fn value(&self) -> Value<'_> {
        match self.kind {
            Kind::False => Value::Bool(false),
            Kind::True => Value::Bool(true),
            Kind::Int => Value::Int(self.int),
            // SAFETY: the string's bytes follow the key (type invariant).
            Kind::Str => Value::Str(unsafe {
                core::slice::from_raw_parts(
                    (self as *const Entry)
                        .cast::<u8>()
                        .add(HEADER + usize::from(self.key_len)),
                    self.str_len,
                )
            }),
        }
    }

    /// Frees an entry nobody can reach any more.
    ///
    /// # Safety
    ///
    /// `e` came from [`Entry::new`], is unlinked, and no reader can hold
    /// it (a grace period has passed, or the table is unreachable).
    unsafe fn free(e: *mut Entry) {
        // SAFETY: by the contract; the layout is the one it was made with.
        unsafe {
            let size = (*e).size;
            if let (Some(p), Some(layout)) = (NonNull::new(e.cast::<u8>()), Self::layout(size)) {
                Kmalloc::free(p, layout);
            }
        }
    }
}

/// Frees an entry after a grace period (the `call_rcu` callback).
unsafe extern "C" fn free_after_grace(head: *mut bindings::callback_head) {
    let offset = core::mem::offset_of!(Entry, rcu);
    // SAFETY: `head` is the `rcu` field of an entry handed to call_rcu by
    // `retire`; a grace period has passed, so no reader holds it.
    unsafe { Entry::free(head.cast::<u8>().sub(offset).cast::<Entry>()) }
}

/// Frees `e` once every current reader is done.
///
/// # Safety
///
/// `e` is unlinked from its table and never published again.
unsafe fn retire(e: *mut Entry) {
    // SAFETY: the entry stays allocated until the callback runs; the
    // module waits for pending callbacks before it is unloaded.
    unsafe { bindings::call_rcu(&raw mut (*e).rcu, Some(free_after_grace)) };
}

/// A shared table.
#[pin_data(PinnedDrop)]
pub(crate) struct Table {
    buckets: KVec<Atomic<*mut Entry>>,
    #[pin]
    writer: SpinLockBh<()>,
    used: Atomic<usize>,
    /// The table's name, for a named table.
    pub(crate) name: Option<Name>,
    /// The namespace it belongs to.
    pub(crate) net: NetRef,
}

/// Why a write was refused.
#[derive(Clone, Copy)]
pub(crate) enum WriteError {
    NoMemory,
    Full,
}

impl Table {
    pub(crate) fn new(
        buckets: usize,
        name: Option<Name>,
        net: NetRef,
        flags: Flags,
    ) -> Result<Arc<Self>> {
        let n = buckets.clamp(1, MAX_BUCKETS).next_power_of_two();
        let mut v = KVec::with_capacity(n, flags)?;
        for _ in 0..n {
            v.push(Atomic::new(core::ptr::null_mut()), flags)?;
        }
        Arc::pin_init(
            pin_init!(Self {
                buckets: v,
                writer <- new_spinlock_bh!((), c"lunatik_rcu_table"),
                used: Atomic::new(0),
                name,
                net,
            }),
            flags,
        )
    }

    fn bucket(&self, h: u32) -> &Atomic<*mut Entry> {
        // The bucket count is a power of two (see `new`).
        &self.buckets[(h as usize) & (self.buckets.len() - 1)]
    }

    /// Finds `key` and lets `f` read its entry, inside an RCU read-side
    /// section. `f` must not call Lua.
    pub(crate) fn read<R>(&self, key: &[u8], f: impl FnOnce(Option<&Entry>) -> R) -> R {
        let h = hash(key);
        let _guard = rcu::read_lock();
        let mut p = self.bucket(h).load(Acquire);
        // SAFETY: inside the read-side section every entry reachable from
        // a bucket stays allocated (writers free only after a grace
        // period), and the acquire loads see it fully written.
        while let Some(e) = unsafe { p.as_ref() } {
            if e.hash == h && e.key() == key {
                return f(Some(e));
            }
            p = e.next.load(Acquire);
        }
        f(None)
    }

    /// Sets `key` to `value`, or deletes it with `None`.
    pub(crate) fn write(
        &self,
        key: &[u8],
        value: Option<Value<'_>>,
        flags: Flags,
    ) -> Result<(), WriteError> {
        let fresh = match value {
            Some(v) => Some(Entry::new(key, v, flags).ok_or(WriteError::NoMemory)?),
            None => None,
        };
        let h = hash(key);
        let old = {
            let _writer = self.writer.lock();
            // Find the link that points at the key's entry (or the end).
            let mut link = self.bucket(h);
            let mut cur = link.load(Relaxed);
            // SAFETY: under the writer lock no entry is unlinked or freed,
            // so every entry reachable now stays valid until unlock.
            while let Some(e) = unsafe { cur.as_ref() } {
                if e.hash == h && e.key() == key {
                    break;
                }
                link = &e.next;
                cur = e.next.load(Relaxed);
            }
            // SAFETY: as above.
            let old_size = unsafe { cur.as_ref() }.map_or(0, |e| e.size);
            // SAFETY: `fresh` is ours until published.
            let new_size = fresh.map_or(0, |e| unsafe { e.as_ref() }.size);
            let used = self.used.load(Relaxed);
            if new_size > 0 && used - old_size + new_size > TABLE_CAP {
                drop(_writer);
                if let Some(e) = fresh {
                    // SAFETY: never published.
                    unsafe { Entry::free(e.as_ptr()) };
                }
                return Err(WriteError::Full);
            }
            // SAFETY: as above: `cur` is valid under the lock.
            let next =
                unsafe { cur.as_ref() }.map_or(core::ptr::null_mut(), |e| e.next.load(Relaxed));
            match fresh {
                Some(e) => {
                    // SAFETY: `e` is unpublished; after the release store
                    // below readers see it whole.
                    unsafe { e.as_ref() }.next.store(next, Relaxed);
                    link.store(e.as_ptr(), Release);
                }
                None if !cur.is_null() => link.store(next, Release),
                None => {}
            }
            self.used.store(used - old_size + new_size, Relaxed);
            cur
        };
        if !old.is_null() {
            // SAFETY: `old` was unlinked above and is never published again.
            unsafe { retire(old) };
        }
        Ok(())
    }

    /// Copies every entry into `out` as records (see [`Snapshot`]),
    /// inside one RCU read-side section; returns the bytes needed, which
    /// are more than `out.len()` if it did not fit (then `out` holds a
    /// partial copy to discard).
    pub(crate) fn snapshot(&self, out: &mut [u8]) -> usize {
        let _guard = rcu::read_lock();
        let mut at = 0;
        for b in self.buckets.iter() {
            let mut p = b.load(Acquire);
            // SAFETY: as in `read`.
            while let Some(e) = unsafe { p.as_ref() } {
                at = Snapshot::put(out, at, e);
                p = e.next.load(Acquire);
            }
        }
        at
    }
}

#[pinned_drop]
impl PinnedDrop for Table {
    fn drop(self: Pin<&mut Self>) {
        // The last reference is gone, so no reader or writer can reach the
        // entries: free them now.
        for b in self.buckets.iter() {
            let mut p = b.load(Relaxed);
            while !p.is_null() {
                // SAFETY: unreachable (see above); `next` is read first.
                unsafe {
                    let next = (*p).next.load(Relaxed);
                    Entry::free(p);
                    p = next;
                }
            }
        }
    }
}

/// The records of [`Table::snapshot`]: per entry a key length (u8), a
/// kind (u8), an integer (i64, native order) or a string length (the same
/// 8 bytes), the key, then the string.
pub(crate) struct Snapshot;

impl Snapshot {
    const HEAD: usize = 10;

    fn put(out: &mut [u8], at: usize, e: &Entry) -> usize {
        let key = e.key();
        let (kind, word, s): (u8, u64, &[u8]) = match e.value() {
            Value::Bool(b) => (u8::from(b), 0, &[]),
            Value::Int(i) => (2, i as u64, &[]),
            Value::Str(s) => (3, s.len() as u64, s),
        };
        let end = at + Self::HEAD + key.len() + s.len();
        if let Some(rec) = out.get_mut(at..end) {
            rec[0] = key.len() as u8;
            rec[1] = kind;
            rec[2..10].copy_from_slice(&word.to_ne_bytes());
            rec[10..10 + key.len()].copy_from_slice(key);
            rec[10 + key.len()..].copy_from_slice(s);
        }
        end
    }

    /// The record at `at`: key, value and the next record's offset.
    pub(crate) fn get(buf: &[u8], at: usize) -> Option<(&[u8], Value<'_>, usize)> {
        let head = buf.get(at..at + Self::HEAD)?;
        let key_len = usize::from(head[0]);
        let word = u64::from_ne_bytes(head[2..10].try_into().ok()?);
        let str_len = if head[1] == 3 { word as usize } else { 0 };
        let key = buf.get(at + Self::HEAD..at + Self::HEAD + key_len)?;
        let s_at = at + Self::HEAD + key_len;
        let s = buf.get(s_at..s_at + str_len)?;
        let value = match head[1] {
            0 => Value::Bool(false),
            1 => Value::Bool(true),
            2 => Value::Int(word as i64),
            _ => Value::Str(s),
        };
        Some((key, value, s_at + str_len))
    }
}
