// SPDX-License-Identifier: GPL-2.0

//! What a library learns of the replica running its Lua code: the
//! state's namespace, context and name, whether the entry may sleep
//! (docs/architecture.md, "Contexts and locks") and whether it runs for
//! a user's control-plane request.

use super::{Context, ReplicaData};
use crate::glue::net::NetRef;
use crate::lua::ffi::*;
use crate::lua::Lua;
use crate::uapi::name::Name;

/// The namespace and the context of the replica running `lua`: what
/// libraries need from their state.
pub(crate) fn lua_context(lua: &Lua<'_>) -> (NetRef, Context) {
    // SAFETY: every Lua thread in the module belongs to a live `Replica`:
    // `Replica::new` is the only maker of states here, and a `Lua` handle
    // exists only while its thread runs, so its extra space holds the
    // replica's data; the fields are copied out through the pointer,
    // never borrowed.
    unsafe {
        let data = (*lua_getextraspace(lua.as_ptr())).cast::<ReplicaData>();
        ((*data).net, (*data).context)
    }
}

/// The name of the state whose replica runs `lua`.
pub(crate) fn lua_state_name(lua: &Lua<'_>) -> Name {
    // SAFETY: every Lua thread in the module belongs to a live `Replica`
    // (`Replica::new` is the only maker of states here), and a `Lua`
    // handle exists only while its thread runs, so its extra space holds
    // the replica's data, as `state_name` asks.
    unsafe { state_name(lua.as_ptr()) }
}

/// Whether the entry running `L` may sleep: a process state's, or a
/// softirq state's before it is exposed to the packet path (see
/// states/softirq_replica.rs).
///
/// # Safety
///
/// `L` is a thread of a live [`Replica`] (its extra space holds the
/// replica's data).
pub(crate) unsafe fn preemptible(L: *mut lua_State) -> bool {
    // SAFETY: `L` belongs to a live replica (the contract), whose extra
    // space holds its data; the flag is copied out through the pointer,
    // never borrowed.
    unsafe { (*(*lua_getextraspace(L)).cast::<ReplicaData>()).preemptible }
}

/// Whether the entry running `L` is a chunk the control plane runs for a
/// user's request, in that user's task (see `Replica::run`).
///
/// # Safety
///
/// `L` is a thread of a live [`Replica`] (its extra space holds the
/// replica's data).
pub(crate) unsafe fn control_entry(L: *mut lua_State) -> bool {
    // SAFETY: `L` belongs to a live replica (the contract), whose extra
    // space holds its data; the flag is copied out through the pointer,
    // never borrowed.
    unsafe { (*(*lua_getextraspace(L)).cast::<ReplicaData>()).control }
}

/// The name of the state whose replica runs `L`.
///
/// # Safety
///
/// `L` is a thread of a live [`Replica`] (its extra space holds the
/// replica's data).
pub(crate) unsafe fn state_name(L: *mut lua_State) -> Name {
    // SAFETY: `L` belongs to a live replica (the contract), whose extra
    // space holds its data; the name is copied out, never borrowed.
    unsafe { (*(*lua_getextraspace(L)).cast::<ReplicaData>()).name }
}
