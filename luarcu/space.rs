// SPDX-License-Identifier: GPL-2.0

//! The rcu tables of each network namespace: what they hold against the
//! namespace's quota, and the index of its named tables.
//!
//! Every namespace gets a [`Space`] when it is made (the pernet `init`
//! callback, rust/net.rs) and loses it when it goes away (`exit`). A
//! module-wide rbtree keyed by the namespace's address finds it; a
//! per-space rbtree keyed by name finds a named table. Both are kernel
//! rbtrees (`kernel::rbtree`): lookups compare names, not hashes, so no
//! choice of names makes them slower than logarithmic, and the table quota
//! bounds their size.
//!
//! Lifetimes: a space is an `Arc`. The module-wide tree holds one
//! reference until the namespace's exit, each table one (it charges the
//! space), and each entry waiting for a grace period one (it is charged
//! until freed). A named table is held by its space's index, which makes a
//! cycle; the namespace's exit breaks it by emptying the index and closing
//! it, so no table can be named in a space whose namespace is gone.
//!
//! Locks: the module-wide tree's lock, a space's index lock and a space's
//! usage lock are never held together, and all are bh-disabling
//! spinlocks, as softirq states make tables and `call_rcu` callbacks
//! release charges from softirq context.

use crate::bh_lock::{new_spinlock_bh, SpinLockBh};
use crate::name::Name;
use crate::net::NetRef;
use crate::rcu_quota::{Exceeded, Limits, Usage, LIMITS};
use crate::rcu_table::{MakeError, Table};
use core::cmp::Ordering;
use kernel::alloc::{flags::GFP_KERNEL, Flags};
use kernel::bindings;
use kernel::prelude::*;
use kernel::rbtree::{RBTree, RBTreeNode, RBTreeNodeReservation};
use kernel::sync::atomic::{Acquire, Atomic, Relaxed, Release};
use kernel::sync::{rcu, Arc};

/// Buckets of a named table.
pub(crate) const NAMED_BUCKETS: usize = 256;

/// A table name as a key of the index, ordered by its bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
struct NameKey(Name);

impl Ord for NameKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.as_bytes().cmp(other.0.as_bytes())
    }
}

impl PartialOrd for NameKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// About the bytes of a node of the index of names (the allocation holds
/// the rbtree links, the key and the value), charged to a named table.
pub(crate) const INDEX_NODE: usize = core::mem::size_of::<bindings::rb_node>()
    + core::mem::size_of::<NameKey>()
    + core::mem::size_of::<Arc<Table>>();

/// The named tables of a space.
struct Index {
    tree: RBTree<NameKey, Arc<Table>>,
    /// Set when the namespace went away: no table may be named any more.
    closed: bool,
}

/// The rcu tables of one network namespace.
///
/// Invariant: `usage` is the sum of what the namespace's live tables were
/// charged for themselves (one table and their bytes each) and of the
/// bytes of every entry they hold or that waits for a grace period; each
/// charge was checked against [`LIMITS`] when it was made.
#[pin_data]
pub(crate) struct Space {
    #[pin]
    usage: SpinLockBh<Usage>,
    #[pin]
    index: SpinLockBh<Index>,
}

/// Bytes and tables of every namespace, for `lunatik stats`: a namespace
/// that went away must bring these back down.
static ALL_BYTES: Atomic<usize> = Atomic::new(0);
static ALL_TABLES: Atomic<usize> = Atomic::new(0);

impl Space {
    fn new(flags: Flags) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                usage <- new_spinlock_bh!(Usage::default(), c"lunatik_rcu_usage"),
                index <- new_spinlock_bh!(
                    Index {
                        tree: RBTree::new(),
                        closed: false,
                    },
                    c"lunatik_rcu_index"
                ),
            }),
            flags,
        )
    }

    /// The space of `net`, unless it has none (it is going away, or the
    /// module is loading or unloading).
    pub(crate) fn of(net: NetRef) -> Option<Arc<Self>> {
        let spaces = spaces()?;
        let tree = spaces.tree.lock();
        tree.get(&(net.as_ptr() as usize)).cloned()
    }

    /// Charges `more`, unless it would cross a limit (then nothing is
    /// charged).
    pub(crate) fn charge(&self, more: Usage) -> Result<(), Exceeded> {
        {
            let mut usage = self.usage.lock();
            *usage = usage.charge(more, LIMITS)?;
        }
        ALL_BYTES.add(more.bytes, Relaxed);
        ALL_TABLES.add(more.tables, Relaxed);
        Ok(())
    }

    /// Gives back `less`, charged earlier.
    pub(crate) fn release(&self, less: Usage) {
        {
            let mut usage = self.usage.lock();
            *usage = usage.release(less);
        }
        ALL_BYTES.fetch_sub(less.bytes, Relaxed);
        ALL_TABLES.fetch_sub(less.tables, Relaxed);
    }

    /// What the namespace's tables hold now.
    pub(crate) fn usage(&self) -> Usage {
        *self.usage.lock()
    }

    /// The named table `name` of this space, made if missing.
    pub(crate) fn named(
        self: &Arc<Self>,
        name: Name,
        flags: Flags,
    ) -> Result<Arc<Table>, MakeError> {
        let key = NameKey(name);
        {
            let index = self.index.lock();
            if index.closed {
                return Err(MakeError::Gone);
            }
            if let Some(t) = index.tree.get(&key) {
                return Ok(t.clone());
            }
        }
        // Allocations happen outside the lock; another state may name the
        // table meanwhile, and then its table wins and this one is dropped
        // (its charge given back) after the lock is released.
        let fresh = Table::new(NAMED_BUCKETS, Some(name), self, flags)?;
        let node = RBTreeNodeReservation::new(flags).map_err(|_| MakeError::NoMemory)?;
        let mut index = self.index.lock();
        if index.closed {
            return Err(MakeError::Gone);
        }
        if let Some(t) = index.tree.get(&key) {
            return Ok(t.clone());
        }
        // The key was just found absent, so nothing is replaced.
        let _ = index.tree.insert(node.into_node(key, fresh.clone()));
        Ok(fresh)
    }

    /// Empties and closes the index: its tables go, as soon as no state
    /// holds them any more.
    fn close(&self) {
        let tree = {
            let mut index = self.index.lock();
            index.closed = true;
            core::mem::take(&mut index.tree)
        };
        // The tables (and their entries) are freed here, outside the lock.
        drop(tree);
    }
}

/// What `lunatik stats` shows of a namespace's tables.
pub(crate) struct Stats {
    /// The namespace's use.
    pub(crate) usage: Usage,
    /// Its quota.
    pub(crate) limits: Limits,
    /// Every namespace's use.
    pub(crate) all: Usage,
}

/// The figures of `net`.
pub(crate) fn stats(net: NetRef) -> Stats {
    Stats {
        usage: Space::of(net).map_or(Usage::default(), |s| s.usage()),
        limits: LIMITS,
        all: Usage {
            bytes: ALL_BYTES.load(Relaxed),
            tables: ALL_TABLES.load(Relaxed),
        },
    }
}

/// Spaces by their namespace's address.
type ByNet = RBTree<usize, Arc<Space>>;

/// The spaces of every namespace, by the namespace's address.
///
/// Invariant: while the module's control plane lives, `SPACES` points to
/// the `Spaces` that [`init`] publishes and [`exit`] frees.
struct Spaces {
    tree: Pin<KBox<SpinLockBh<ByNet>>>,
}

static SPACES: Atomic<*mut Spaces> = Atomic::new(core::ptr::null_mut());

fn spaces() -> Option<&'static Spaces> {
    // SAFETY: non-null only between `init` and `exit` (type invariant);
    // its users (the pernet callbacks, the states and the control plane)
    // are all gone before `exit` runs.
    unsafe { SPACES.load(Acquire).as_ref() }
}

/// Creates the module-wide tree of spaces and publishes it in [`SPACES`]
/// (the library's `init`, on load).
pub(crate) fn init() -> Result {
    let spaces = KBox::new(
        Spaces {
            tree: KBox::pin_init(
                new_spinlock_bh!(RBTree::new(), c"lunatik_rcu_spaces"),
                GFP_KERNEL,
            )?,
        },
        GFP_KERNEL,
    )?;
    SPACES.store(KBox::into_raw(spaces), Release);
    Ok(())
}

/// Frees the tree and waits for the entries retired by `call_rcu` to be
/// freed (the library's `exit`, on unload, after the pernet subsystem has
/// closed every space and every state is gone).
pub(crate) fn exit() {
    let p = SPACES.xchg(core::ptr::null_mut(), Acquire);
    if !p.is_null() {
        // SAFETY: `p` came from KBox::into_raw in `init`; the pernet
        // subsystem, unregistered before this runs, removed every
        // space, and the states are gone.
        drop(unsafe { KBox::from_raw(p) });
    }
    // Entries retired by `call_rcu` point to this module's callback,
    // and hold the last references on their spaces.
    rcu::rcu_barrier();
}

/// Gives a new namespace its space (pernet `init`).
pub(crate) fn net_init(net: NetRef) -> Result {
    let Some(spaces) = spaces() else {
        return Err(ENODEV);
    };
    let node = RBTreeNode::new(net.as_ptr() as usize, Space::new(GFP_KERNEL)?, GFP_KERNEL)?;
    let old = spaces.tree.lock().insert(node);
    // A namespace cannot be made twice; if it were, its old space is
    // closed rather than leaked.
    if let Some(old) = old {
        old.to_key_value().1.close();
    }
    Ok(())
}

/// Closes the space of a namespace that goes away (pernet `exit`, after
/// its states are destroyed); its named tables go with it.
pub(crate) fn net_exit(net: NetRef) {
    let Some(spaces) = spaces() else { return };
    let node = spaces.tree.lock().remove_node(&(net.as_ptr() as usize));
    if let Some(node) = node {
        node.to_key_value().1.close();
    }
}
