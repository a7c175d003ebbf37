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
use crate::lua::interp::{Arg, Value};
use crate::luadata::data::DataArg;
use crate::states::softirq_index;
use crate::states::state::SlotError;
use crate::uapi::name::NAME_MAX;
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
/// `arg_len` readable and writable bytes, all valid for the call, which
/// may overlap (the verifier allows it).
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
    // The verifier lets `name`, `data` and `arg` point into the same
    // memory, which the function may write through the views: no Rust
    // reference to any of them may live across the call. The name is
    // copied out first (no state's name is longer than NAME_MAX), and the
    // views are made from raw parts.
    if name_len > NAME_MAX {
        return ENOENT.to_errno();
    }
    let mut copy = [0u8; NAME_MAX];
    // SAFETY: `name` points to `name_len` readable bytes (the function's
    // contract), at most NAME_MAX (checked above); `copy` is a local
    // array, so the two do not overlap.
    unsafe { core::ptr::copy_nonoverlapping(name.cast::<u8>(), copy.as_mut_ptr(), name_len) };
    let name = &copy[..name_len];
    // SAFETY: `net` is the live namespace of the receiving device (the
    // function's contract).
    let net = unsafe { NetRef::from_raw(net) };
    // SAFETY: `data` and `arg` (unless null: the view then shows nothing)
    // point to `data_len` and `arg_len` readable and writable bytes for
    // the call (the function's contract), which the views outlive only
    // detached (`KeptArg` detaches them when the call returns); no Rust
    // reference to those bytes is formed here, so they may overlap.
    let (packet, argument) = unsafe {
        (
            DataArg::from_raw_parts(data.cast::<u8>(), data_len, true).kept(&VIEWS[0]),
            DataArg::from_raw_parts(arg.cast::<u8>(), arg_len, true).kept(&VIEWS[1]),
        )
    };
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
