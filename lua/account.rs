// SPDX-License-Identifier: GPL-2.0

//! Per-state memory and instruction accounting, and the Lua allocator and
//! count hook that enforce it.
//!
//! `core`-only: the kernel module and the host tests share this file; each
//! supplies the raw allocator through [`RawAlloc`].

use crate::lua::ffi::*;
use core::ffi::{c_int, c_void};

/// Lua instructions between two calls of the count hook. The budget is
/// enforced with this granularity; one hook call per granule keeps the cost
/// of accounting negligible.
pub const BUDGET_GRANULE: c_int = 1000;

/// Bytes of C stack one entry may use below the point it starts from;
/// `lua/lunatik_cstack.c` enforces it.
pub const CSTACK_BUDGET: usize = 6 * 1024;

/// Bytes of C stack below the floor that the message handler of an
/// entry's first "C stack overflow" may use (the traceback).
pub const CSTACK_RESERVE: usize = 3 * 1024;

/// The error a script sees when its entry runs out of instructions.
pub const BUDGET_EXCEEDED: &core::ffi::CStr = c"instruction budget exceeded";

/// The error a script sees when its entry runs past its wall-clock
/// deadline.
pub const TIME_EXCEEDED: &core::ffi::CStr = c"time limit exceeded";

/// Why the current entry was stopped, if it was.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Kill {
    /// Not stopped.
    #[default]
    None,
    /// The instruction budget ran out.
    Budget,
    /// The wall-clock deadline passed.
    Time,
}

impl Kill {
    /// The error message of a stopped entry.
    pub fn message(self) -> &'static core::ffi::CStr {
        match self {
            Kill::Time => TIME_EXCEEDED,
            _ => BUDGET_EXCEEDED,
        }
    }
}

/// A monotonic clock in nanoseconds.
pub type Clock = fn() -> u64;

/// Memory, instruction and time accounting of one interpreter (all its
/// threads).
///
/// # Invariants
///
/// `used` is the sum of the sizes of the live blocks the
/// allocator handed to Lua; `used <= limit` whenever `limit != 0` (0 means no
/// cap); `peak >= used`. The first four fields are read and written by C
/// (`struct lunatik_cstack` in `lua/lunatik_cstack.c`): keep them first.
#[repr(C)]
#[derive(Debug, Default)]
pub struct Account {
    /// Lowest C stack address Lua may use in the current entry; 0 for none.
    pub stack_floor: usize,
    /// Where the entry stands with "C stack overflow" errors (`enum
    /// lunatik_overflow`, written by C; 0 at each entry's start).
    pub stack_overflowed: c_int,
    /// The lowest stack pointer the C checks saw in the entry (written by
    /// C); the entry's start at first.
    pub stack_lowest: usize,
    /// Room below the floor for the first overflow's handler (read by C).
    pub stack_reserve: usize,
    /// C stack an entry may use, in bytes; 0 for [`CSTACK_BUDGET`]. Only
    /// builds whose frames are much larger (sanitizers) change it.
    pub cstack_budget: usize,
    /// Room for the handler; 0 for [`CSTACK_RESERVE`].
    pub cstack_reserve: usize,
    /// The most C stack an entry used, in bytes, as the checks saw it:
    /// what the kernel stack must have room for below an entry point.
    pub deepest_stack: usize,
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
    /// Lua instructions (and units of library work) allowed per entry; 0
    /// for no limit.
    pub budget: u64,
    /// Instructions left in the current entry.
    pub remaining: i64,
    /// Entries stopped by the budget or the deadline.
    pub budget_kills: u64,
    /// Wall-clock time allowed per entry, in nanoseconds; 0 for none.
    pub time_limit_ns: u64,
    /// The clock deadlines and entry times are read from; none for an
    /// interpreter without one (no deadline, no timing).
    pub clock: Option<Clock>,
    /// Called at every budget check when the entry may sleep (process
    /// states: `cond_resched`), so a long entry lets other tasks run.
    pub relax: Option<fn()>,
    /// When the current entry started, by `clock`.
    pub started: u64,
    /// When the current entry must stop, by `clock`; 0 for never.
    pub deadline: u64,
    /// Units of library work charged since the clock was last read.
    pub ticks: i64,
    /// Why the current entry was stopped, if it was.
    pub killed: Kill,
    /// The longest entry so far, in nanoseconds.
    pub longest_entry_ns: u64,
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

impl Account {
    /// Charges `units` of work to the current entry and reads the clock
    /// once per [`BUDGET_GRANULE`] units. Returns why the entry must stop,
    /// if it must; the caller raises the error.
    fn charge(&mut self, units: i64) -> Kill {
        if let why @ (Kill::Budget | Kill::Time) = self.spend(units) {
            return why;
        }
        self.ticks = self.ticks.saturating_add(units);
        if self.ticks >= i64::from(BUDGET_GRANULE) {
            self.ticks = 0;
            return self.check_clock();
        }
        Kill::None
    }

    /// C stack an entry may use, in bytes.
    pub fn cstack_budget(&self) -> usize {
        match self.cstack_budget {
            0 => CSTACK_BUDGET,
            n => n,
        }
    }

    /// Takes `units` from the budget.
    fn spend(&mut self, units: i64) -> Kill {
        if self.killed != Kill::None {
            return self.killed;
        }
        if self.budget != 0 {
            self.remaining = self.remaining.saturating_sub(units);
            if self.remaining <= 0 {
                return self.kill(Kill::Budget);
            }
        }
        Kill::None
    }

    /// Stops the deadline-bound entry whose deadline has passed, and lets
    /// other tasks run where the entry may sleep.
    fn check_clock(&mut self) -> Kill {
        if let (Some(clock), true) = (self.clock, self.deadline != 0) {
            if clock() >= self.deadline {
                return self.kill(Kill::Time);
            }
        }
        if let Some(relax) = self.relax {
            relax();
        }
        Kill::None
    }

    /// Charges the `ran` instructions a thread ran since its count last
    /// restarted, when it is left for another thread, and checks the
    /// deadline: a switch reads the clock whatever the count, so no chain
    /// of short coroutines runs past it. Does not relax: a switch is no
    /// place to sleep, and the next granule will.
    fn switch(&mut self, ran: i64) -> Kill {
        if let why @ (Kill::Budget | Kill::Time) = self.spend(ran) {
            return why;
        }
        if let (Some(clock), true) = (self.clock, self.deadline != 0) {
            self.ticks = 0;
            if clock() >= self.deadline {
                return self.kill(Kill::Time);
            }
        }
        Kill::None
    }

    fn kill(&mut self, why: Kill) -> Kill {
        self.killed = why;
        self.budget_kills += 1;
        why
    }
}

/// Raises the error of a stopped entry and makes `L` fail at each of its
/// next instructions, so that a script that catches the error with `pcall`
/// fails again at once and the error reaches the entry point whatever the
/// script does.
///
/// # Safety
///
/// `L` is a thread of an accounted state, in a context that may raise.
/// Raises a Lua error (a longjmp): no value with a destructor is live here.
unsafe fn raise(L: *mut lua_State, why: Kill) -> ! {
    // SAFETY: `L` is a thread of an accounted state in a context that may
    // raise (the contract), so `lua_error` longjmps to its protected call
    // and skips no destructor (none is live here); `luaL_where` pushes a
    // string that `lua_tolstring` reads in place while it stays on the
    // stack under the pushed message. The message is built without
    // `lua_concat` (which `luaL_error` uses): concatenation charges work,
    // and a charge on a stopped entry would raise again before this error
    // is thrown.
    unsafe {
        lua_sethook(L, Some(count_hook), LUA_MASKCOUNT, 1);
        luaL_where(L, 1);
        let place = lua_tolstring(L, -1, core::ptr::null_mut());
        lua_pushfstring(L, c"%s%s".as_ptr(), place, why.message().as_ptr());
        lua_error(L)
    }
}

/// The count hook: charges one granule to the entry's budget, checks its
/// deadline, and raises "instruction budget exceeded" or "time limit
/// exceeded" when either is spent.
///
/// # Safety
///
/// Installed by [`begin_entry`] on a state created with [`alloc`].
/// Raises a Lua error (a longjmp): no value with a destructor is live here.
pub unsafe extern "C" fn count_hook(L: *mut lua_State, _ar: *mut lua_Debug) {
    // SAFETY: the hook runs on a thread of an accounted state.
    let account = unsafe { account_of(L) };
    // SAFETY: `L` is valid. In a stopped entry, the thread that raised
    // and any thread entered since count in steps of one; what a thread
    // ran is what it charges.
    let charge = unsafe { lua_gethookcount(L) };
    // A granule of instructions is charged whole, and the clock read at
    // every granule.
    let mut why = account.spend(i64::from(charge));
    if why == Kill::None {
        account.ticks = 0;
        why = account.check_clock();
    }
    match why {
        Kill::None => {
            if charge != BUDGET_GRANULE {
                // SAFETY: `L` is valid; back to the normal step.
                unsafe { lua_sethook(L, Some(count_hook), LUA_MASKCOUNT, BUDGET_GRANULE) };
            }
        }
        // SAFETY: raising from a hook is allowed; nothing here has a
        // destructor.
        why => unsafe { raise(L, why) },
    }
}

/// Charges `units` of work done inside a C library function (pattern
/// matching, copying, sorting, compiling: see `lua/luaconf.h`) to the
/// running entry, and raises its error if that spends the budget or passes
/// the deadline.
///
/// # Safety
///
/// Called by the patched Lua library on a thread of an accounted state,
/// where raising is allowed. Raises a Lua error (a longjmp): no value with
/// a destructor is live here.
#[no_mangle]
pub unsafe extern "C" fn lunatik_work(L: *mut lua_State, units: core::ffi::c_long) {
    // SAFETY: the patched library calls this on a thread of an accounted
    // state (the contract), whose allocator data is its `Account`; no
    // other reference to it is live during this call.
    let account = unsafe { account_of(L) };
    // `c_long` is `i64` here but not on every target.
    #[allow(clippy::useless_conversion)]
    let units = i64::from(units).max(0);
    match account.charge(units) {
        Kill::None => {}
        // SAFETY: `L` is a thread of an accounted state where raising is
        // allowed (the contract); `account` is a plain reference and no
        // value with a destructor is live here.
        why => unsafe { raise(L, why) },
    }
}

/// Charges a switch between two threads of a state: `ran` instructions of
/// the thread being left that its count hook has not charged (the patched
/// `lua_resume` and `lua_closethread` restart its count), then checks the
/// deadline, and restarts the count of the thread being entered, `to`, so
/// that it carries no count from an earlier entry. Every instruction of a
/// coroutine is so charged to the entry that resumes it, however short the
/// coroutine or deep the nest.
///
/// Never raises: it runs inside `lua_resume`'s bookkeeping. Past the budget
/// or the deadline, `to` counts in steps of one and so fails at its next
/// instruction: a coroutine at its first, a resumer right after the
/// resume returns.
///
/// # Safety
///
/// Called by the patched Lua core with `L` a thread of an accounted state
/// and `to` null or a thread of the same state.
#[no_mangle]
pub unsafe extern "C" fn lunatik_switch(L: *mut lua_State, ran: c_int, to: *mut lua_State) {
    // SAFETY: `L` is a thread of an accounted state (the contract), whose
    // allocator data is its `Account`; no other reference to it is live
    // during this call.
    let account = unsafe { account_of(L) };
    let why = account.switch(i64::from(ran.max(0)));
    if !to.is_null() {
        let count = if why == Kill::None { BUDGET_GRANULE } else { 1 };
        // SAFETY: `to` is a thread of the same state (the contract);
        // `lua_sethook` only stores the hook, restarts the count and marks
        // the thread's Lua frames to trace, and never raises.
        unsafe { lua_sethook(to, Some(count_hook), LUA_MASKCOUNT, count) };
    }
}

/// Charges `bytes` of work done by the project's own library functions
/// (copies and scans over `data` views and tables), as the patched C
/// library does.
///
/// # Safety
///
/// `L` is a thread of an accounted state, where raising is allowed.
/// Raises a Lua error (a longjmp): no value with a destructor is live
/// here.
pub unsafe fn charge_bytes(L: *mut lua_State, bytes: usize) {
    let units = 1 + bytes / 64;
    // SAFETY: our caller gives `lunatik_work`'s own contract: a thread of
    // an accounted state where raising is allowed.
    unsafe { lunatik_work(L, units.try_into().unwrap_or(core::ffi::c_long::MAX)) }
}

/// Marks the C stack floor for work about to start on the state: Lua may
/// use [`CSTACK_BUDGET`] bytes below the caller's frame.
///
/// # Safety
///
/// `L` is a thread of a state created with [`alloc`], not running.
pub unsafe fn mark_stack(L: *mut lua_State) {
    extern "C" {
        // lua/lunatik_cstack.c: the C stack pointer (no Lua, no locks).
        fn lunatik_stack_pointer() -> usize;
    }
    // SAFETY: the helper only reads its own frame address.
    let sp = unsafe { lunatik_stack_pointer() };
    // SAFETY: `L` is a thread of a state made with [`alloc`] (the
    // contract), so its allocator data is its `Account`; the state is not
    // running, so nothing else holds a reference to it.
    let account = unsafe { account_of(L) };
    account.stack_floor = sp.saturating_sub(account.cstack_budget());
    account.stack_reserve = match account.cstack_reserve {
        0 => CSTACK_RESERVE,
        n => n,
    };
    account.stack_overflowed = 0;
    account.stack_lowest = sp;
}

/// Starts an entry into the state: a fresh instruction budget, deadline
/// and C stack floor. Every path into Lua code (loading, calling, opening
/// the libraries, collecting, closing: finalizers run Lua code) starts
/// with it, so no Lua code runs without a bound.
///
/// # Safety
///
/// `L` is the main thread of a state created with [`alloc`], not running.
pub unsafe fn begin_entry(L: *mut lua_State) {
    // SAFETY: `L` is a thread of a state made with [`alloc`], not running
    // (the contract), which is what `mark_stack` asks.
    unsafe { mark_stack(L) };
    // SAFETY: the state was made with [`alloc`], so its allocator data is
    // its `Account`; it is not running and `mark_stack`'s reference has
    // ended, so this one is the only one.
    let account = unsafe { account_of(L) };
    account.remaining = i64::try_from(account.budget).unwrap_or(i64::MAX);
    account.killed = Kill::None;
    account.ticks = 0;
    account.started = account.clock.map_or(0, |clock| clock());
    account.deadline = match (account.clock, account.time_limit_ns) {
        (Some(_), limit) if limit != 0 => account.started.saturating_add(limit),
        _ => 0,
    };
    // SAFETY: `L` is valid; the count restarts with the new hook. The hook
    // stays on even without a budget: it reads the clock and relaxes.
    unsafe { lua_sethook(L, Some(count_hook), LUA_MASKCOUNT, BUDGET_GRANULE) };
}

/// Ends an entry started by [`begin_entry`]: records its duration. Returns
/// why it was stopped, if it was.
///
/// # Safety
///
/// `L` is the main thread of a state created with [`alloc`], not running.
pub unsafe fn end_entry(L: *mut lua_State) -> Kill {
    // SAFETY: `L` is a thread of a state made with [`alloc`] (the
    // contract), so its allocator data is its `Account`; the state is not
    // running, so nothing else holds a reference to it.
    let account = unsafe { account_of(L) };
    let start = account.stack_floor.saturating_add(account.cstack_budget());
    let used = start.saturating_sub(account.stack_lowest);
    account.deepest_stack = account.deepest_stack.max(used);
    if let Some(clock) = account.clock {
        let took = clock().saturating_sub(account.started);
        account.longest_entry_ns = account.longest_entry_ns.max(took);
    }
    account.killed
}
