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
//! (`rcu_barrier` in the library's `exit`, luarcu/space.rs).
//!
//! Nothing here calls Lua: every operation takes plain data and returns
//! plain data, so the library can call Lua before or after, never inside
//! an RCU section or under the lock (docs/architecture.md, "The longjmp
//! rule").
//!
//! Memory: every table belongs to the quota account ([`Pool`]) of its
//! network namespace and charges it, before allocating, for its header
//! and bucket array and for each entry, in the bytes the allocator really hands out
//! ([`alloc_size`]); past the namespace's quota the table or the write is
//! refused (luarcu/quota.rs). A replaced or deleted entry stays charged
//! until its `call_rcu` callback frees it, so the quota bounds the memory
//! really in use, including what waits for a grace period.
//!
//! Buckets are chosen by SipHash-2-4 (luarcu/siphash.rs) under a key each
//! table draws from the kernel's RNG, so keys taken from packets cannot be
//! chosen to collide.

use crate::glue::bh_lock::{new_spinlock_bh, SpinLockBh};
use crate::luarcu::pool::Pool;
use crate::luarcu::quota::{Exceeded, Usage};
use crate::luarcu::siphash::{siphash24, Key};
use crate::uapi::name::Name;
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
/// Most buckets of one table.
pub(crate) const MAX_BUCKETS: usize = 1 << 16;

/// The bytes an allocation of `size` bytes really takes: the size of its
/// slab object, or of its pages for large ones (a 64 KiB string value
/// takes 128 KiB). The quota counts these, not the sizes asked for.
pub(crate) fn alloc_size(size: usize) -> usize {
    // SAFETY: `kmalloc_size_roundup` only computes a size; it reads no
    // memory and may be called from any context.
    unsafe { bindings::kmalloc_size_roundup(size) }
}

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
/// # Invariants
///
/// Once published in a bucket, nothing but `next` changes, and
/// `next` changes only under the table's lock. `size` is the size of the
/// allocation, made by `Kmalloc` with [`Entry::layout`], and the entry is
/// charged `alloc_size(size)` bytes in its table's pool until it is
/// freed. `pool` is null until [`retire`] sets it to a reference (from
/// `Arc::into_raw`) on that pool, which the `call_rcu` callback releases.
#[repr(C)]
pub(crate) struct Entry {
    next: Atomic<*mut Entry>,
    rcu: bindings::callback_head,
    pool: *const Pool,
    size: usize,
    hash: u64,
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

impl Entry {
    fn layout(size: usize) -> Option<Layout> {
        Layout::from_size_align(size, core::mem::align_of::<Entry>()).ok()
    }

    /// The size of the entry holding `key` and `value`.
    fn size_for(key: &[u8], value: Value<'_>) -> usize {
        let str_len = match value {
            Value::Str(s) => s.len(),
            _ => 0,
        };
        // At most 72 + 255 + 65536 bytes: no overflow.
        HEADER + key.len() + str_len
    }

    /// A new, unpublished entry of `size` bytes (from [`Entry::size_for`]).
    fn new(
        key: &[u8],
        value: Value<'_>,
        size: usize,
        hash: u64,
        flags: Flags,
    ) -> Option<NonNull<Entry>> {
        let str_len = match value {
            Value::Str(s) => s.len(),
            _ => 0,
        };
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
                pool: core::ptr::null(),
                size,
                hash,
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

    /// Frees an entry nobody can reach any more; returns the bytes it
    /// was charged, for the caller to release.
    ///
    /// # Safety
    ///
    /// `e` came from [`Entry::new`], is unlinked, and no reader can hold
    /// it (a grace period has passed, or the table is unreachable).
    unsafe fn free(e: *mut Entry) -> usize {
        // SAFETY: by the contract; the layout is the one it was made with.
        unsafe {
            let size = (*e).size;
            if let (Some(p), Some(layout)) = (NonNull::new(e.cast::<u8>()), Self::layout(size)) {
                Kmalloc::free(p, layout);
            }
            alloc_size(size)
        }
    }
}

/// Frees an entry after a grace period and gives its bytes back to its
/// pool (the `call_rcu` callback).
///
/// # Safety
///
/// Called by RCU only, with the head [`retire`] queued.
unsafe extern "C" fn free_after_grace(head: *mut bindings::callback_head) {
    let offset = core::mem::offset_of!(Entry, rcu);
    // SAFETY: `head` is the `rcu` field of an entry handed to call_rcu by
    // `retire`, which stored in `pool` a reference from Arc::into_raw,
    // taken back here exactly once; a grace period has passed, so no
    // reader holds the entry.
    unsafe {
        let e = head.cast::<u8>().sub(offset).cast::<Entry>();
        let pool = Arc::from_raw((*e).pool);
        let bytes = Entry::free(e);
        pool.release(Usage::bytes(bytes));
    }
}

/// Frees `e` once every current reader is done, and only then releases
/// its charge in `pool`.
///
/// # Safety
///
/// `e` is unlinked from its table, whose pool is `pool`, and never
/// published again.
unsafe fn retire(e: *mut Entry, pool: &Arc<Pool>) {
    // The callback may run after the table is gone, so the entry holds a
    // reference on the pool until then.
    let pool = Arc::into_raw(pool.clone());
    // SAFETY: the entry is unpublished and ours; it stays allocated until
    // the callback runs, and the module waits for pending callbacks
    // (`rcu_barrier`) before it is unloaded.
    unsafe {
        (*e).pool = pool;
        bindings::call_rcu(&raw mut (*e).rcu, Some(free_after_grace));
    }
}

/// About the bytes of a node of the index of names (luarcu/space.rs: the
/// allocation holds the rbtree links, the key and the value), charged to
/// a named table.
const INDEX_NODE: usize = core::mem::size_of::<bindings::rb_node>()
    + core::mem::size_of::<Name>()
    + core::mem::size_of::<Arc<Table>>();

/// A shared table.
///
/// # Invariants
///
/// `charge` bytes and one table are charged in `pool` for the
/// table's own memory from before it is made until it is dropped, and
/// every entry linked from `buckets` is charged there as [`Entry`] says.
#[pin_data(PinnedDrop)]
pub(crate) struct Table {
    buckets: KVec<Atomic<*mut Entry>>,
    #[pin]
    writer: SpinLockBh<()>,
    /// The bucket hash's key, from the kernel's RNG.
    seed: Key,
    /// Bytes charged for the table itself.
    charge: usize,
    /// The namespace's quota account, charged for everything the table
    /// holds.
    pool: Arc<Pool>,
    /// The table's name, for a named table.
    pub(crate) name: Option<Name>,
}

/// Why a write was refused.
#[derive(Clone, Copy)]
pub(crate) enum WriteError {
    NoMemory,
    Quota(Exceeded),
}

/// Why a table was not made.
#[derive(Clone, Copy)]
pub(crate) enum MakeError {
    NoMemory,
    Quota(Exceeded),
    /// The namespace is going away (or the module is unloading).
    Gone,
}

impl Table {
    /// The bytes a table of `n` buckets is charged for itself: its header
    /// (with the reference count `Arc` puts before it), its bucket array
    /// and, for a named table, its node in the index of names.
    fn cost(n: usize, named: bool) -> usize {
        let header = Layout::new::<bindings::refcount_t>()
            .extend(Layout::new::<Self>())
            .map_or(core::mem::size_of::<Self>() + 8, |(l, _)| {
                l.pad_to_align().size()
            });
        let buckets = n * core::mem::size_of::<Atomic<*mut Entry>>();
        alloc_size(header) + alloc_size(buckets) + if named { alloc_size(INDEX_NODE) } else { 0 }
    }

    /// Makes a table of about `buckets` buckets (rounded up to a power of
    /// two, at most [`MAX_BUCKETS`]) in `pool`, charging it first.
    pub(crate) fn new(
        buckets: usize,
        name: Option<Name>,
        pool: &Arc<Pool>,
        flags: Flags,
    ) -> Result<Arc<Self>, MakeError> {
        let n = buckets.clamp(1, MAX_BUCKETS).next_power_of_two();
        let charge = Self::cost(n, name.is_some());
        pool.charge(Usage::table(charge))
            .map_err(MakeError::Quota)?;
        let made = Self::alloc(n, charge, name, pool, flags);
        if made.is_err() {
            pool.release(Usage::table(charge));
        }
        made.map_err(|_| MakeError::NoMemory)
    }

    /// The allocations of [`Table::new`], once charged.
    fn alloc(
        n: usize,
        charge: usize,
        name: Option<Name>,
        pool: &Arc<Pool>,
        flags: Flags,
    ) -> Result<Arc<Self>> {
        let mut v = KVec::with_capacity(n, flags | __GFP_NOWARN)?;
        for _ in 0..n {
            v.push(Atomic::new(core::ptr::null_mut()), flags)?;
        }
        let seed = Key([crate::glue::random::u64(), crate::glue::random::u64()]);
        Arc::pin_init(
            pin_init!(Self {
                buckets: v,
                writer <- new_spinlock_bh!((), c"lunatik_rcu_table"),
                seed,
                charge,
                pool: pool.clone(),
                name,
            }),
            flags,
        )
    }

    fn hash(&self, key: &[u8]) -> u64 {
        siphash24(&self.seed, key)
    }

    fn bucket(&self, h: u64) -> &Atomic<*mut Entry> {
        // The bucket count is a power of two (see `new`).
        &self.buckets[(h as usize) & (self.buckets.len() - 1)]
    }

    /// Finds `key` and lets `f` read its entry, inside an RCU read-side
    /// section. `f` must not call Lua.
    pub(crate) fn read<R>(&self, key: &[u8], f: impl FnOnce(Option<&Entry>) -> R) -> R {
        let h = self.hash(key);
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

    /// Sets `key` to `value`, or deletes it with `None`. A new entry is
    /// charged before it is allocated; the entry it replaces or deletes
    /// stays charged until it is freed after a grace period. A refused
    /// write leaves the table as it was.
    pub(crate) fn write(
        &self,
        key: &[u8],
        value: Option<Value<'_>>,
        flags: Flags,
    ) -> Result<(), WriteError> {
        let h = self.hash(key);
        let fresh = match value {
            Some(v) => {
                let size = Entry::size_for(key, v);
                let cost = Usage::bytes(alloc_size(size));
                self.pool.charge(cost).map_err(WriteError::Quota)?;
                match Entry::new(key, v, size, h, flags) {
                    Some(e) => Some(e),
                    None => {
                        self.pool.release(cost);
                        return Err(WriteError::NoMemory);
                    }
                }
            }
            None => None,
        };
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
            // SAFETY: `cur` is null or an entry reached from a bucket under
            // the writer lock, held until the end of this block; no entry
            // is unlinked or freed without that lock, so it is valid.
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
            cur
        };
        if !old.is_null() {
            // SAFETY: `old` was unlinked above and is never published
            // again; `self.pool` is its table's pool.
            unsafe { retire(old, &self.pool) };
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
            // SAFETY: inside the read-side section `_guard` holds, every
            // entry reachable from a bucket stays allocated (writers free
            // only after a grace period), and the acquire loads see it
            // fully written.
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
        // entries: free them now, then give back what they and the table
        // were charged (entries retired earlier give theirs back in their
        // own callbacks).
        let mut freed = Usage::table(self.charge);
        for b in self.buckets.iter() {
            let mut p = b.load(Relaxed);
            while !p.is_null() {
                // SAFETY: the last reference to the table is gone, so no
                // reader or writer can reach `p`, a live entry of this
                // bucket's chain owned by the table; `next` is read before
                // `p` is freed.
                unsafe {
                    let next = (*p).next.load(Relaxed);
                    freed.bytes += Entry::free(p);
                    p = next;
                }
            }
        }
        self.pool.release(freed);
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
