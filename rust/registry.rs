// SPDX-License-Identifier: GPL-2.0

//! The set of live states, by name.
//!
//! The registry holds one reference to each state; whoever looks a state
//! up gets another. Removing a state drops the registry's reference, and
//! the state's VMs close when the last holder lets go. Dropping the
//! registry (on module unload) removes every state.

use crate::name::Name;
use crate::state::{Config, State};
use kernel::alloc::flags::GFP_KERNEL;
use kernel::prelude::*;
use kernel::sync::{new_mutex, Arc, Mutex};

/// States by name. Process context only (it sleeps on a mutex).
pub(crate) struct Registry {
    states: Pin<KBox<Mutex<KVec<Arc<State>>>>>,
}

impl Registry {
    /// An empty registry.
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            states: KBox::pin_init(new_mutex!(KVec::new(), "lunatik_registry"), GFP_KERNEL)?,
        })
    }

    /// Creates a state; `EEXIST` if the name is taken.
    pub(crate) fn create(&self, config: Config) -> Result<Arc<State>> {
        let mut states = self.states.lock();
        if states.iter().any(|s| s.name() == &config.name) {
            return Err(EEXIST);
        }
        let state = State::new(config)?;
        states.push(state.clone(), GFP_KERNEL)?;
        Ok(state)
    }

    /// The state called `name`.
    pub(crate) fn get(&self, name: &Name) -> Option<Arc<State>> {
        self.states
            .lock()
            .iter()
            .find(|s| s.name() == name)
            .cloned()
    }

    /// Removes the state called `name`; `ENOENT` if there is none. The
    /// state dies when the returned reference and any other are dropped.
    pub(crate) fn remove(&self, name: &Name) -> Result<Arc<State>> {
        let mut states = self.states.lock();
        let i = states.iter().position(|s| s.name() == name).ok_or(ENOENT)?;
        states.remove(i).map_err(|_| ENOENT)
    }

    /// Number of states.
    pub(crate) fn len(&self) -> usize {
        self.states.lock().len()
    }

    /// Removes every state.
    pub(crate) fn clear(&self) {
        // The states are dropped after the lock is released, so closing
        // their VMs does not hold up other users of the registry.
        let states = core::mem::take(&mut *self.states.lock());
        drop(states);
    }
}
