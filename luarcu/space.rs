// SPDX-License-Identifier: GPL-2.0

//! The rcu tables of each network namespace: what they hold against the
//! namespace's quota, and the index of its named tables.
//!
//! Every namespace gets a [`Space`] when it is made (the pernet `init`
//! callback, glue/net.rs) and loses it when it goes away (`exit`). A
//! module-wide rbtree keyed by the namespace's address finds it; a
//! per-space rbtree keyed by name finds a named table. Both are kernel
//! rbtrees (`kernel::rbtree`): lookups compare names, not hashes, so no
//! choice of names makes them slower than logarithmic, and the table quota
//! bounds their size.
//!
//! Lifetimes: a space is an `Arc`. The module-wide tree holds one
//! reference until the namespace's exit, and a state making a table one
//! while it does. The quota account ([`Pool`], luarcu/pool.rs) is an
//! `Arc` of its own, held by the space, each table (it charges the pool)
//! and each entry waiting for a grace period (it is charged until freed).
//! A named table is held by its space's index until the namespace's exit
//! empties the index and closes it, so no table can be named in a space
//! whose namespace is gone.
//!
//! Locks: the module-wide tree's lock, a space's index lock and the
//! pool's lock are never held together, and all are bh-disabling
//! spinlocks, as softirq states make tables and `call_rcu` callbacks
//! release charges from softirq context.

use crate::glue::bh_lock::{new_spinlock_bh, SpinLockBh};
use crate::glue::net::NetRef;
use crate::luarcu::pool::{self, Pool};
use crate::luarcu::quota::{Limits, Usage, LIMITS};
use crate::luarcu::table::{MakeError, Table};
use crate::uapi::name::Name;
use core::cmp::Ordering;
use kernel::alloc::{flags::GFP_KERNEL, Flags};
use kernel::prelude::*;
use kernel::rbtree::{RBTree, RBTreeNode, RBTreeNodeReservation};
use kernel::sync::atomic::{Acquire, Atomic, Release};
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

/// The named tables of a space.
struct Index {
    tree: RBTree<NameKey, Arc<Table>>,
    /// Set when the namespace went away: no table may be named any more.
    closed: bool,
}

/// The rcu tables of one network namespace: their quota account and the
/// index of the named ones.
#[pin_data]
pub(crate) struct Space {
    pool: Arc<Pool>,
    #[pin]
    index: SpinLockBh<Index>,
}

impl Space {
    fn new(flags: Flags) -> Result<Arc<Self>> {
        let pool = Pool::new(flags)?;
        Arc::pin_init(
            pin_init!(Self {
                pool,
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

    /// The namespace's quota account, which its tables charge.
    pub(crate) fn pool(&self) -> &Arc<Pool> {
        &self.pool
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
        let fresh = Table::new(NAMED_BUCKETS, Some(name), &self.pool, flags)?;
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
        usage: Space::of(net).map_or(Usage::default(), |s| s.pool.usage()),
        limits: LIMITS,
        all: pool::all(),
    }
}

/// Spaces by their namespace's address.
type ByNet = RBTree<usize, Arc<Space>>;

/// The spaces of every namespace, by the namespace's address.
///
/// # Invariants
///
/// While the module's control plane lives, `SPACES` points to
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
