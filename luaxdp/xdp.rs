// SPDX-License-Identifier: GPL-2.0

//! XDP programs calling Lua (docs/xdp.md): the `xdp` and `linux.xdp`
//! libraries. The kfuncs that call the attached function are in
//! luaxdp/kfunc.c (C, for their BTF) and luaxdp/run.rs.
//!
//! `xdp.attach(f)`, in a softirq state, keeps `f` in the replica's Lua
//! registry under `run::ATTACHED` and defers an operation that exposes the
//! state to the packet path once the chunk is done and records the
//! attachment among the state's resources (where `lunatik list` finds
//! it); `xdp.detach()` forgets `f` and defers the removal of that record.
//! Written against the safe handle (lua/handle.rs): no `unsafe` here, and no
//! value with a destructor is held across a call that may raise (the
//! longjmp rule).

use crate::lua::ffi::lua_CFunction;
use crate::lua::Lua;
use crate::lua_fn;
use crate::luaxdp::run::ATTACHED;
use crate::states::library::Library;
use crate::states::replica::{Apply, Context, Deferred, Description, Refusal, Resource};
use crate::uapi::protocol::attachment_kind;
use core::ffi::{c_int, CStr};
use kernel::alloc::flags::GFP_KERNEL;
use kernel::prelude::*;

/// The XDP actions (`enum xdp_action`): a function's result must be one
/// (`run::ACTION_MAX` is the largest).
const ACTIONS: [(&CStr, i64); 5] = [
    (c"ABORTED", 0),
    (c"DROP", 1),
    (c"PASS", 2),
    (c"TX", 3),
    (c"REDIRECT", 4),
];

/// What `xdp.attach` and `xdp.detach` defer.
#[derive(Clone, Copy)]
enum Op {
    /// Exposes the state, so the kfuncs may enter it, and records the
    /// attachment. There is no kernel object to register: a program
    /// finds the state by name in the softirq index.
    Attach,
    /// Drops the record.
    Detach,
}

/// The record of an attached function among the state's resources, so
/// the control plane can report it (docs/control.md, "Attachments"). It
/// holds no kernel object: the kfuncs reach the state through the softirq
/// index, which the state leaves when it dies.
struct Attachment;

/// Its resource id: no callback's (those are Lua references, from 1).
const ATTACHMENT_ID: i64 = 0;

impl Resource for Attachment {
    fn id(&self) -> i64 {
        ATTACHMENT_ID
    }

    fn unpublish(&mut self) {}

    fn describe(&self) -> Description {
        Description::of(attachment_kind::XDP)
    }
}

/// Whether `r` is an XDP attachment's record.
fn is_attachment(r: &KBox<dyn Resource>) -> bool {
    r.describe().kind == attachment_kind::XDP
}

impl Deferred for Op {
    fn exposes(&self) -> bool {
        matches!(self, Op::Attach)
    }

    fn repeat(&self) -> Option<i64> {
        // Attaching twice, or detaching twice, is doing it once.
        Some(*self as i64)
    }

    fn apply(&self, cx: &mut Apply<'_>) -> Result<(), Refusal> {
        let refusal = |error| Refusal {
            error,
            message: b"xdp.attach: not enough memory",
        };
        match self {
            Op::Attach if !cx.resources.iter().any(is_attachment) => {
                let record: KBox<dyn Resource> =
                    KBox::new(Attachment, GFP_KERNEL).map_err(|e| refusal(e.into()))?;
                cx.resources
                    .push(record, GFP_KERNEL)
                    .map_err(|e| refusal(e.into()))
            }
            Op::Attach => Ok(()),
            Op::Detach => {
                cx.resources.retain(|r| !is_attachment(r));
                Ok(())
            }
        }
    }
}

/// `xdp.attach(f)`: `f(packet, argument)` becomes the function the
/// kfuncs call in this state.
fn attach(lua: &mut Lua<'_>) -> c_int {
    let (_, context) = crate::states::replica::lua_context(lua);
    if context != Context::Softirq {
        lua.error(c"xdp.attach needs a softirq state (lunatik run SCRIPT softirq)");
    }
    lua.check_type(1, crate::lua::ffi::LUA_TFUNCTION);
    // Queued first: a call the queue refuses (docs/states.md, "Deferred
    // work") changes nothing.
    if let Err(e) = crate::states::replica::lua_defer(lua, Op::Attach) {
        lua.error(e.message());
    }
    lua.set_slot(&ATTACHED, 1);
    0
}

/// `xdp.detach()`: the kfuncs find no function here any more (they
/// return `-ENOLINK`).
fn detach(lua: &mut Lua<'_>) -> c_int {
    // Queued first: a call the queue refuses changes nothing.
    if let Err(e) = crate::states::replica::lua_defer(lua, Op::Detach) {
        lua.error(e.message());
    }
    lua.clear_slot(&ATTACHED);
    0
}

/// `require "xdp"`.
fn open_xdp(lua: &mut Lua<'_>) -> c_int {
    let functions: [(&CStr, lua_CFunction); 2] =
        [(c"attach", lua_fn!(attach)), (c"detach", lua_fn!(detach))];
    lua.push_table(functions.len());
    lua.set_functions(&functions);
    1
}

/// `require "linux.xdp"`: the XDP actions, `ABORTED` to `REDIRECT`.
fn open_actions(lua: &mut Lua<'_>) -> c_int {
    lua.push_integers(&ACTIONS);
    1
}

/// The library: its Lua modules, and the kfuncs registered on load (they
/// stay until the module goes).
pub(crate) static LIBRARY: Library = Library {
    init: Some(crate::luaxdp::run::register_kfuncs),
    ..Library::new(
        "xdp",
        &[
            (c"xdp", lua_fn!(open_xdp)),
            (c"linux.xdp", lua_fn!(open_actions)),
        ],
    )
};
