// SPDX-License-Identifier: GPL-2.0

//! What a replica sends out: the kernel's `print`, and the messages (its
//! lines, the errors of callbacks) that go to the kernel log, prefixed
//! with the state's name, and to the `events` group, within the
//! replica's rate limit (states/ratelimit.rs).

use super::{ErrorKind, ReplicaData};
use crate::lua::ffi::*;
use crate::lua::interp;
use crate::states::ratelimit::Verdict;
use core::ffi::c_int;
use kernel::prelude::*;
use kernel::str::BStr;

/// The kernel's `print`: the arguments, converted as `tostring` does and
/// separated by tabs, go to the kernel log as one line prefixed with the
/// state's name, and to the `events` group, within the rate limit.
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` a thread
/// of a running [`Replica`] (its extra space holds the replica's data).
pub(super) unsafe extern "C" fn print(L: *mut lua_State) -> c_int {
    // SAFETY: called by Lua in protected mode; print_line may raise (a
    // __tostring metamethod, memory, too many arguments) and nothing here
    // has a destructor until it has returned.
    let msg = unsafe { interp::print_line(L) };
    // A line costs far more than an instruction (the kernel log, the
    // console, a netlink message), so each is charged as a few hundred,
    // and a print flood meets its deadline check as often as other work.
    // SAFETY: `L` is a thread of a replica's state, which is accounted,
    // running `print` in protected mode, so the charge may raise into
    // that call; nothing here has a destructor yet (`msg` is a plain
    // slice).
    unsafe {
        crate::lua::account::lunatik_work(L, PRINT_UNITS + (msg.len() / 64) as core::ffi::c_long)
    };
    // SAFETY: a running replica's extra space holds its data.
    let data = unsafe { (*lua_getextraspace(L)).cast::<ReplicaData>() };
    // No Lua call follows, so Rust values may live from here on; the
    // message stays on the Lua stack until this function returns.
    // SAFETY: the extra space holds the running replica's data (type
    // invariant of `Replica`), and nothing borrows its limit.
    unsafe { emit(data, msg, None) };
    0
}

/// Budget units one `print` costs besides its bytes.
const PRINT_UNITS: core::ffi::c_long = 256;

/// Sends `msg` to the kernel log (prefixed with the state's name) and to
/// the `events` listeners of the state's namespace, as an error of `kind`
/// when given, within the replica's rate limit.
///
/// # Safety
///
/// `data` must be the live data of a replica whose Lua code is running on
/// this thread (so nothing else uses its rate limit), and no reference to
/// its `limit` field may exist.
pub(super) unsafe fn emit(data: *mut ReplicaData, msg: &[u8], kind: Option<ErrorKind>) {
    // SAFETY: by the function's contract; the fields are read or, for the
    // limit, updated through the pointer, never borrowed from the whole.
    let (name, net, events, atomic, verdict) = unsafe {
        let now = kernel::bindings::ktime_get_mono_fast_ns();
        (
            (*data).name,
            (*data).net,
            (*data).runtime.events,
            (*data).context.atomic(),
            (*data).limit.check(now),
        )
    };
    let Verdict::Send { suppressed } = verdict else {
        return;
    };
    let shown = BStr::from_bytes(name.as_bytes());
    if suppressed > 0 {
        pr_info!("{}: ({} messages suppressed)\n", shown, suppressed);
        let mut note = [0u8; 48];
        let n = fmt_suppressed(&mut note, suppressed);
        events(net, &name, &note[..n], None, atomic);
    }
    match kind {
        None => pr_info!("{}: {}\n", shown, BStr::from_bytes(msg)),
        Some(_) => pr_warn!("{}: callback failed: {}\n", shown, BStr::from_bytes(msg)),
    }
    events(net, &name, msg, kind.map(ErrorKind::protocol), atomic);
}

/// Writes "(N messages suppressed)" into `buf`, returning its length.
fn fmt_suppressed(buf: &mut [u8], n: u64) -> usize {
    struct W<'a>(&'a mut [u8], usize);
    impl core::fmt::Write for W<'_> {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let end = (self.1 + s.len()).min(self.0.len());
            self.0[self.1..end].copy_from_slice(&s.as_bytes()[..end - self.1]);
            self.1 = end;
            Ok(())
        }
    }
    let mut w = W(buf, 0);
    let _ = core::fmt::write(&mut w, format_args!("({} messages suppressed)", n));
    w.1
}
