// SPDX-License-Identifier: GPL-2.0

//! Per-state memory and instruction accounting, and the Lua allocator and
//! count hook that enforce it.
//!
//! `core`-only: the kernel module and the host tests share this file; each
//! supplies the raw allocator through [`RawAlloc`].

use crate::ffi::*;
use core::ffi::{c_int, c_void};

/// VM instructions between two calls of the count hook. The budget is
/// enforced with this granularity; one hook call per granule keeps the cost
/// of accounting negligible.
pub const BUDGET_GRANULE: c_int = 1000;

/// Bytes of C stack one entry may use below the point it starts from;
/// `lua/lunatik_cstack.c` enforces it.
pub const CSTACK_BUDGET: usize = 6 * 1024;

/// The error a script sees when its entry runs out of instructions.
pub const BUDGET_EXCEEDED: &core::ffi::CStr = c"instruction budget exceeded";

/// Memory and instruction accounting of one Lua state (all its threads).
///
/// Invariants: `used` is the sum of the sizes of the live blocks the
/// allocator handed to Lua; `used <= limit` whenever `limit != 0` (0 means no
/// cap); `peak >= used`. The first two fields are read and written by C
/// (`struct lunatik_cstack` in `lua/lunatik_cstack.c`): keep them first.
#[repr(C)]
#[derive(Debug, Default)]
pub struct Account {
    /// Lowest C stack address Lua may use in the current entry; 0 for none.
    pub stack_floor: usize,
    /// Whether a "C stack overflow" error is being handled (set by C).
    pub stack_overflowed: c_int,
    /// Bytes currently allocated.
    pub used: usize,
    /// Highest `used` seen.
    pub peak: usize,
    /// Cap on `used`; 0 for none.
    pub limit: usize,
    /// Allocations refused (over the cap or out of kernel memory).
    pub alloc_failures: u64,
    /// Whether allocations must not sleep (entered from softirq).
    pub atomic: bool,
    /// VM instructions allowed per entry; 0 for no limit.
    pub budget: u64,
    /// Instructions left in the current entry.
    pub remaining: i64,
    /// Entries stopped by the budget.
    pub budget_kills: u64,
}

impl Account {
    /// Whether growing an allocation by `grow` bytes stays within the cap.
    pub fn admits(&self, grow: usize) -> bool {
        self.limit == 0 || self.used.checked_add(grow).is_some_and(|n| n <= self.limit)
    }

    /// Records a successful resize from `old` to `new` bytes.
    pub fn record(&mut self, old: usize, new: usize) {
        self.used = self.used - old + new;
        if self.used > self.peak {
            self.peak = self.used;
        }
    }
}

/// The memory behind a state's allocator.
pub trait RawAlloc {
    /// Resizes (or allocates, when `ptr` is null) a block to `new` bytes,
    /// aligned for any Lua value; null on failure, the old block intact.
    ///
    /// # Safety
    ///
    /// `ptr` is null or a live block of `old` bytes from this allocator.
    unsafe fn resize(ptr: *mut c_void, old: usize, new: usize, atomic: bool) -> *mut c_void;

    /// Frees a block of `old` bytes.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of `old` bytes from this allocator.
    unsafe fn free(ptr: *mut c_void, old: usize);
}

/// The `lua_Alloc` of every state: counts each byte against the cap.
/// Past the cap the allocation fails and Lua raises "not enough memory".
///
/// # Safety
///
/// `ud` is the state's `Account`, valid for the state's life; the other
/// arguments follow the `lua_Alloc` contract.
pub unsafe extern "C" fn alloc<A: RawAlloc>(
    ud: *mut c_void,
    ptr: *mut c_void,
    osize: usize,
    nsize: usize,
) -> *mut c_void {
    // SAFETY: Lua passes back the `ud` given to lua_newstate, our Account,
    // and runs one allocator call at a time per state (under its lock).
    let account = unsafe { &mut *ud.cast::<Account>() };
    // With a null block, `osize` is a type tag, not a size.
    let old = if ptr.is_null() { 0 } else { osize };
    if nsize == 0 {
        if !ptr.is_null() {
            // SAFETY: `ptr` is a live block of `old` bytes (Lua's contract).
            unsafe { A::free(ptr, old) };
            account.record(old, 0);
        }
        return core::ptr::null_mut();
    }
    if nsize > old && !account.admits(nsize - old) {
        account.alloc_failures += 1;
        return core::ptr::null_mut();
    }
    // SAFETY: `ptr` is null or a live block of `old` bytes.
    let new = unsafe { A::resize(ptr, old, nsize, account.atomic) };
    if new.is_null() {
        account.alloc_failures += 1;
    } else {
        account.record(old, nsize);
    }
    new
}

/// The state's `Account`, reached through its allocator's user data.
///
/// # Safety
///
/// `L` is a thread of a state created with [`alloc`] and an `Account`.
pub unsafe fn account_of<'a>(L: *mut lua_State) -> &'a mut Account {
    let mut ud: *mut c_void = core::ptr::null_mut();
    // SAFETY: `L` is valid; lua_getallocf only reads the global state.
    unsafe { lua_getallocf(L, &mut ud) };
    // SAFETY: the user data of our allocator is the state's Account.
    unsafe { &mut *ud.cast::<Account>() }
}

/// The count hook: charges one granule to the entry's budget and raises
/// "instruction budget exceeded" when it is spent.
///
/// Once spent, the hook fires on every instruction, so a script that catches
/// the error with `pcall` fails again at its next instruction and the error
/// reaches the entry point whatever the script does.
///
/// # Safety
///
/// Installed by [`begin_entry`] on a state created with [`alloc`].
/// Raises a Lua error (a longjmp): no value with a destructor is live here.
pub unsafe extern "C" fn count_hook(L: *mut lua_State, _ar: *mut lua_Debug) {
    // SAFETY: the hook runs on a thread of an accounted state.
    let account = unsafe { account_of(L) };
    // SAFETY: `L` is valid. Threads created in earlier entries may still
    // count in a different step; what they ran is what they charge.
    let charge = i64::from(unsafe { lua_gethookcount(L) });
    if account.remaining > 0 {
        account.remaining -= charge;
        if account.remaining > 0 {
            if charge != i64::from(BUDGET_GRANULE) {
                // SAFETY: `L` is valid; back to the normal step.
                unsafe { lua_sethook(L, Some(count_hook), LUA_MASKCOUNT, BUDGET_GRANULE) };
            }
            return;
        }
        account.budget_kills += 1;
    }
    // SAFETY: `L` is valid; from now on this thread fails at every
    // instruction until the next entry resets the budget.
    unsafe { lua_sethook(L, Some(count_hook), LUA_MASKCOUNT, 1) };
    // SAFETY: raising from a hook is allowed; nothing here has a destructor.
    unsafe { luaL_error(L, BUDGET_EXCEEDED.as_ptr()) };
}

/// Marks the C stack floor for work about to start on the state: Lua may
/// use [`CSTACK_BUDGET`] bytes below the caller's frame.
///
/// # Safety
///
/// `L` is a thread of a state created with [`alloc`], not running.
#[inline(never)]
pub unsafe fn mark_stack(L: *mut lua_State) {
    let here = 0u8;
    let sp = core::ptr::addr_of!(here) as usize;
    // SAFETY: as above.
    let account = unsafe { account_of(L) };
    account.stack_floor = sp.saturating_sub(CSTACK_BUDGET);
    account.stack_overflowed = 0;
}

/// Starts an entry into the state: a fresh instruction budget and C stack
/// floor.
///
/// # Safety
///
/// `L` is the main thread of a state created with [`alloc`], not running.
pub unsafe fn begin_entry(L: *mut lua_State) {
    // SAFETY: as above.
    unsafe { mark_stack(L) };
    // SAFETY: as above.
    let account = unsafe { account_of(L) };
    if account.budget == 0 {
        // SAFETY: `L` is valid; clearing the hook.
        unsafe { lua_sethook(L, None, 0, 0) };
        return;
    }
    account.remaining = i64::try_from(account.budget).unwrap_or(i64::MAX);
    // SAFETY: `L` is valid; the count restarts with the new hook.
    unsafe { lua_sethook(L, Some(count_hook), LUA_MASKCOUNT, BUDGET_GRANULE) };
}
