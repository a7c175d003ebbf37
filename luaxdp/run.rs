// SPDX-License-Identifier: GPL-2.0

//! The Rust side of the XDP kfuncs (docs/xdp.md): [`lunatik_xdp_run`],
//! which luaxdp/kfunc.c calls for each packet, and the registration of
//! the kfunc set.
//!
//! The kfunc finds the state by name in the softirq index of the
//! receiving device's namespace (states/softirq_index.rs, no lock, no
//! sleep), calls the function `xdp.attach` kept ([`ATTACHED`])
//! on the current CPU's replica with two writable `data` views, over the
//! packet (`data .. data_end`) and the argument bytes, and hands the
//! program its action or a negative errno. The replica keeps the two
//! views and re-attaches them for each packet, so a call allocates
//! nothing; they are detached when the function returns (a script that
//! keeps one sees it empty outside a call).

use crate::glue::net::NetRef;
use crate::lua::vm::{Arg, Value};
use crate::luadata::data::DataArg;
use crate::states::softirq_index;
use crate::states::state::SlotError;
use core::ffi::{c_char, c_int, c_void};
use kernel::bindings;
use kernel::prelude::*;

/// The registry key (its address) under which `xdp.attach` keeps the
/// function the kfuncs call.
pub(crate) static ATTACHED: u8 = 0;

/// The registry keys (their addresses) of the two views each replica
/// keeps for the calls, the packet's and the argument's, re-attached per
/// packet (`data::KeptArg`); one array, so the two addresses differ.
static VIEWS: [u8; 2] = [0; 2];

/// The largest XDP action (`XDP_REDIRECT`).
pub(crate) const ACTION_MAX: i64 = 4;

extern "C" {
    fn lunatik_xdp_register_kfuncs() -> c_int;
}

/// Registers the kfuncs for XDP programs (the library's `init`).
pub(crate) fn register_kfuncs() -> Result {
    // SAFETY: called once from module init (the library registry runs the
    // `init`s there), as register_btf_kfunc_id_set requires for a
    // module's set.
    kernel::error::to_result(unsafe { lunatik_xdp_register_kfuncs() })
}

/// The errno a program gets for a call that gave no action.
fn errno(e: SlotError) -> c_int {
    match e {
        SlotError::Empty => ENOLINK,
        SlotError::Busy => EBUSY,
        SlotError::Failed(kind) => kind.errno(),
        SlotError::Invalid => ERANGE,
    }
    .to_errno()
}

/// Runs the attached function of the softirq state `name` of `net` on a
/// packet (docs/xdp.md, "Verdicts").
///
/// # Safety
///
/// Called by luaxdp/kfunc.c from an XDP program: `net` is the live
/// namespace of the receiving device; `name` points to `name_len`
/// readable bytes; `data` to `data_len` and `arg` (unless null) to
/// `arg_len` readable and writable bytes, all valid for the call.
#[no_mangle]
pub(crate) unsafe extern "C" fn lunatik_xdp_run(
    net: *mut bindings::net,
    name: *const c_char,
    name_len: usize,
    data: *mut c_void,
    data_len: usize,
    arg: *mut c_void,
    arg_len: usize,
) -> c_int {
    // SAFETY: by the function's contract.
    let (net, name, packet, argument) = unsafe {
        (
            NetRef::from_raw(net),
            core::slice::from_raw_parts(name.cast::<u8>(), name_len),
            core::slice::from_raw_parts_mut(data.cast::<u8>(), data_len),
            if arg.is_null() {
                &mut [][..]
            } else {
                core::slice::from_raw_parts_mut(arg.cast::<u8>(), arg_len)
            },
        )
    };
    let (packet, argument) = (
        DataArg::writable(packet).kept(&VIEWS[0]),
        DataArg::writable(argument).kept(&VIEWS[1]),
    );
    let args = [Arg::Lent(&packet), Arg::Lent(&argument)];
    let outcome = softirq_index::with(net, name, |state| {
        state.call_slot(&ATTACHED, &args, |r| match r.get(0) {
            Value::Int(v) if (0..=ACTION_MAX).contains(&v) => Ok(v as c_int),
            _ => Err(b"xdp callback returned no action (an action of linux.xdp)"),
        })
    });
    match outcome {
        None => ENOENT.to_errno(),
        Some(Ok(action)) => action,
        Some(Err(e)) => errno(e),
    }
}
