// SPDX-License-Identifier: GPL-2.0

//! The set of live states, by network namespace and name.
//!
//! The registry holds one reference to each state; whoever looks a state
//! up gets another. Removing a state drops the registry's reference, and
//! the state's replicas close when the last holder lets go. A name is unique
//! within its namespace: states of different namespaces may share it and
//! never see each other. Dropping the registry (on module unload) removes
//! every state.
//!
//! Softirq states are also published in the RCU index of
//! `states/softirq_index.rs`, which packet paths read without the mutex;
//! the registry keeps it in step and waits for its readers before it lets
//! a removed state go.

use crate::glue::net::NetRef;
use crate::states::softirq_index;
use crate::states::state::{Config, Context, State};
use crate::uapi::name::Name;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::prelude::*;
use kernel::sync::{new_mutex, Arc, Mutex};

/// States by namespace and name. Process context only (it sleeps on a
/// mutex).
pub(crate) struct Registry {
    states: Pin<KBox<Mutex<KVec<Arc<State>>>>>,
}

fn is(state: &State, net: NetRef, name: &Name) -> bool {
    state.config().net == net && state.name() == name
}

impl Registry {
    /// An empty registry.
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            states: KBox::pin_init(new_mutex!(KVec::new(), "lunatik_registry"), GFP_KERNEL)?,
        })
    }

    /// Creates a state; `EEXIST` if its namespace has one of that name.
    pub(crate) fn create(&self, config: Config) -> Result<Arc<State>> {
        let mut states = self.states.lock();
        if states.iter().any(|s| is(s, config.net, &config.name)) {
            return Err(EEXIST);
        }
        let state = State::new(config)?;
        states.reserve(1, GFP_KERNEL)?;
        if config.context == Context::Softirq {
            softirq_index::insert(&state)?;
        }
        // Cannot fail: room was reserved above.
        states.push(state.clone(), GFP_KERNEL)?;
        Ok(state)
    }

    /// The state called `name` in the initial namespace.
    pub(crate) fn get(&self, name: &Name) -> Option<Arc<State>> {
        self.get_in(NetRef::init(), name)
    }

    /// The state called `name` in `net`.
    pub(crate) fn get_in(&self, net: NetRef, name: &Name) -> Option<Arc<State>> {
        self.states
            .lock()
            .iter()
            .find(|s| is(s, net, name))
            .cloned()
    }

    /// The `n`th state of `net` (from 0), in creation order: what a dump
    /// walks through.
    pub(crate) fn nth_in(&self, net: NetRef, n: usize) -> Option<Arc<State>> {
        self.states
            .lock()
            .iter()
            .filter(|s| s.config().net == net)
            .nth(n)
            .cloned()
    }

    /// Removes the state called `name` from the initial namespace.
    pub(crate) fn remove(&self, name: &Name) -> Result<Arc<State>> {
        self.remove_in(NetRef::init(), name)
    }

    /// Removes the state called `name` from `net`; `ENOENT` if there is
    /// none. The state dies when the returned reference and any other are
    /// dropped.
    pub(crate) fn remove_in(&self, net: NetRef, name: &Name) -> Result<Arc<State>> {
        let state = {
            let mut states = self.states.lock();
            let i = states.iter().position(|s| is(s, net, name)).ok_or(ENOENT)?;
            let state = states.remove(i).map_err(|_| ENOENT)?;
            softirq_index::remove(&[&*state]);
            state
        };
        unindexed(core::iter::once(&*state));
        Ok(state)
    }

    /// Removes every state of `net` and returns them, so the caller drops
    /// them outside the registry's lock.
    pub(crate) fn remove_net(&self, net: NetRef) -> KVec<Arc<State>> {
        let mut gone = KVec::new();
        let mut states = self.states.lock();
        let mut i = 0;
        while i < states.len() {
            if states[i].config().net != net {
                i += 1;
                continue;
            }
            let room = gone.reserve(1, GFP_KERNEL).is_ok();
            let Ok(state) = states.remove(i) else { break };
            softirq_index::remove(&[&*state]);
            if room {
                // Cannot fail: room was reserved above.
                let _ = gone.push(state, GFP_KERNEL);
            } else {
                // Without memory for the list the state is dropped right
                // here, under the lock, once no packet path is inside it.
                softirq_index::wait_readers();
                drop(state);
            }
        }
        drop(states);
        unindexed(gone.iter().map(|s| &**s));
        gone
    }

    /// Number of states.
    pub(crate) fn len(&self) -> usize {
        self.states.lock().len()
    }

    /// Removes every state.
    pub(crate) fn clear(&self) {
        // The states are dropped after the lock is released, so closing
        // their replicas does not hold up other users of the registry.
        let states = {
            let mut states = self.states.lock();
            for s in states.iter() {
                softirq_index::remove(&[&**s]);
            }
            core::mem::take(&mut *states)
        };
        softirq_index::wait_readers();
        drop(states);
    }
}

/// Waits for the packet paths that may still be inside `gone`, which were
/// just taken out of the softirq index, if any of them was a softirq state.
fn unindexed<'a>(mut gone: impl Iterator<Item = &'a State>) {
    if gone.any(|s| s.config().context == Context::Softirq) {
        softirq_index::wait_readers();
    }
}
