// SPDX-License-Identifier: GPL-2.0

//! One replica, a Lua interpreter of a state: a `lua_State` with its
//! accounting, its statistics and the kernel's `print`, and what
//! libraries reach their state through. This file is the replica itself; the rest is by job:
//! how an entry fails (error.rs), the figures (stats.rs), what the replica
//! sends out (print.rs), what calls into a state (resource.rs), the
//! work a chunk defers (deferred.rs) and what a library learns of the
//! replica running it (running.rs), all in states/replica/ and used
//! through this module.
//!
//! A [`Replica`] is not synchronised: [`crate::states::state`] keeps each
//! one behind the lock of its context and only calls it with that lock
//! held.
//!
//! The longjmp rule (docs/architecture.md, "The longjmp rule"): every
//! entry goes through [`crate::lua::interp`], which calls Lua in
//! protected mode; the `lua_CFunction`s here hold no value with a destructor across a Lua
//! call that may raise.

mod deferred;
mod error;
mod print;
mod resource;
mod running;
mod stats;

pub(crate) use deferred::{lua_defer, Apply, Deferred, Refusal, Taken, DEFERRED_MAX};
pub(crate) use error::{ErrorKind, RunError, LAST_ERROR_MAX};
pub(crate) use resource::{CallbackError, Description, Owner, Resource};
pub(crate) use running::{control_entry, lua_context, lua_state_name, preemptible};
pub(crate) use stats::{Counters, Stats};

use crate::glue::kalloc::KernelAlloc;
use crate::glue::net::NetRef;
use crate::lua::account::{Account, Kill, CSTACK_BUDGET, CSTACK_RESERVE};
use crate::lua::ffi::*;
use crate::lua::interp;
use crate::states::library::Runtime;
use crate::states::ratelimit::RateLimit;
use crate::uapi::name::Name;
use crate::uapi::protocol::VALUE_MAX;
use core::ffi::{c_int, c_void, CStr};
use core::ptr::NonNull;
use kernel::alloc::{
    flags::{GFP_ATOMIC, GFP_KERNEL},
    Flags,
};
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};
use print::{emit, print};

/// How many times larger the kernel's stacks are than usual: KASAN
/// doubles every task and IRQ stack on x86-64 (`KASAN_STACK_ORDER` in
/// `arch/x86/include/asm/page_64_types.h`), because its redzones make
/// every frame larger. An entry's C stack budget and reserve scale with
/// it, so a script nests as deep under KASAN as without it
/// (docs/states.md, "Limits").
#[cfg(CONFIG_KASAN)]
const KASAN_STACK_ORDER: u32 = 1;
#[cfg(not(CONFIG_KASAN))]
const KASAN_STACK_ORDER: u32 = 0;

/// The C stack one entry of a replica may use below its start.
pub(crate) const ENTRY_CSTACK: usize = CSTACK_BUDGET << KASAN_STACK_ORDER;

/// The room below that for the message handler of an entry's first
/// "C stack overflow".
pub(crate) const ENTRY_CSTACK_RESERVE: usize = CSTACK_RESERVE << KASAN_STACK_ORDER;

/// Where a state may be entered from, which decides its lock and how it
/// allocates. Fixed when the state is made and stored once, in each of
/// its replicas; everything else asks for it ([`lua_context`],
/// [`Context::flags`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    /// Process context only: a mutex, allocations may sleep.
    Process,
    /// Also softirq (the packet path): a bh-disabling spinlock, atomic
    /// allocations.
    Softirq,
}

impl Context {
    /// The allocation flags of the context.
    pub(crate) fn flags(self) -> Flags {
        match self {
            Context::Process => GFP_KERNEL,
            Context::Softirq => GFP_ATOMIC,
        }
    }

    /// Whether allocations must not sleep.
    pub(crate) fn atomic(self) -> bool {
        self == Context::Softirq
    }
}

/// Replicas alive in the module: what leak checks compare.
static LIVE: Atomic<i64> = Atomic::new(0);

/// Number of replicas currently alive in the module.
pub(crate) fn live_replicas() -> i64 {
    LIVE.load(Relaxed)
}

/// Wall-clock time an entry may take, by kind of entry; 0 for no limit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeLimits {
    /// A call of a function from the kernel ([`Replica::call`]).
    pub(crate) call_ns: u64,
    /// Everything else: running a chunk, collecting, closing.
    pub(crate) run_ns: u64,
}

impl TimeLimits {
    /// No limit.
    pub(crate) const NONE: Self = Self {
        call_ns: 0,
        run_ns: 0,
    };
}

/// What Lua reaches through raw pointers while it runs: the allocator's
/// account (its user data) and, through the thread's extra space, the name
/// `print` prefixes, the namespace its events go to and their rate limit.
/// It lives in its own allocation so its address is stable for the life of
/// the `lua_State`.
struct ReplicaData {
    account: Account,
    /// The state's context; `account.atomic` mirrors it for the
    /// allocator.
    context: Context,
    time: TimeLimits,
    /// Whether entries may sleep: a process state, or a softirq state
    /// not yet reachable from the packet path (states/softirq_replica.rs).
    preemptible: bool,
    /// Whether the running entry is a chunk the control plane runs for a
    /// user's request ([`Replica::run`]), in the requesting task: the only
    /// entries that may read script files with that user's root and
    /// credentials (states/script.rs). Hooks, kfuncs, collections and the
    /// close (finalizers, maybe in a kernel worker) are not.
    control: bool,
    name: Name,
    net: NetRef,
    /// The libraries `require` finds and where events go.
    runtime: &'static Runtime,
    limit: RateLimit,
    counters: Counters,
    /// Work the running chunk asked for (such as `netfilter.register`),
    /// done by the state once the chunk is over; bounded, and charged to
    /// `account` (deferred.rs).
    pending: deferred::Queue,
}

/// One replica.
///
/// # Invariants
///
/// `L` is an open state created with `KernelAlloc` whose
/// allocator user data is `&mut (*data).account` and whose extra space
/// holds `data`; `data` came from `KBox::into_raw` and is freed only after
/// `L` is closed. Lua touches `data` only during calls made through `self`.
pub(crate) struct Replica {
    L: NonNull<lua_State>,
    data: NonNull<ReplicaData>,
}

// SAFETY: an interpreter is plain memory, not tied to the thread that made it;
// the owner moves it between threads only behind a lock (see the module
// documentation), so it is never used from two threads at once.
unsafe impl Send for Replica {}

/// The kernel's monotonic clock for entry deadlines and timings: usable
/// from any context, NMI included, and cheap.
fn clock() -> u64 {
    // SAFETY: reads the fast monotonic clock; no requirement on context.
    unsafe { kernel::bindings::ktime_get_mono_fast_ns() }
}

/// Lets other tasks run during a long entry of a process state.
fn relax() {
    // SAFETY: only preemptible entries relax: those of process states and
    // of softirq states not yet exposed to the packet path, which run Lua
    // under a mutex, where sleeping is allowed (states/softirq_replica.rs).
    unsafe { crate::glue::cpu::cond_resched() }
}

impl Replica {
    /// A new replica for the state `name` with the standard libraries open, a
    /// memory cap of `memory` bytes and `budget` instructions per entry
    /// (0 for no limit), and wall-clock `time` per entry. In a softirq
    /// `context`, every allocation of the state is atomic slab memory (see
    /// [`KernelAlloc`]), as `softirq` states are entered where sleeping is
    /// not allowed; without it, long entries let other tasks run. Its
    /// events go to the listeners of `net` through `runtime`, which also
    /// lists the libraries `require` finds.
    pub(crate) fn new(
        name: Name,
        net: NetRef,
        runtime: &'static Runtime,
        memory: usize,
        budget: u64,
        time: TimeLimits,
        context: Context,
    ) -> Result<Self> {
        let atomic = context.atomic();
        let data = KBox::new(
            ReplicaData {
                account: Account {
                    limit: memory,
                    budget,
                    time_limit_ns: time.run_ns,
                    clock: Some(clock),
                    relax: (!atomic).then_some(relax as fn()),
                    // From the first block on: every block of a softirq
                    // state must come from the atomic allocator, which
                    // resizes and frees it (glue/kalloc.rs).
                    atomic,
                    cstack_budget: ENTRY_CSTACK,
                    cstack_reserve: ENTRY_CSTACK_RESERVE,
                    ..Account::default()
                },
                context,
                time,
                preemptible: !atomic,
                control: false,
                name,
                net,
                runtime,
                limit: RateLimit::new(),
                pending: deferred::Queue::new(),
                counters: Counters {
                    calls: 0,
                    errors: 0,
                    last_error: [0; LAST_ERROR_MAX],
                    last_error_len: 0,
                },
            },
            GFP_KERNEL,
        )?;
        let data = NonNull::from(KBox::leak(data));
        // The kernel RNG may be read from any context (a safe call).
        let seed = crate::glue::random::u64();
        // SAFETY: `data` is a fresh, exclusive allocation that outlives the
        // state: `Drop` (or the failure paths below) closes the state first.
        let L =
            unsafe { interp::new_state::<KernelAlloc>(&raw mut (*data.as_ptr()).account, seed as u32) };
        let Some(L) = NonNull::new(L) else {
            // SAFETY: `data` came from KBox::leak and Lua never saw it.
            drop(unsafe { KBox::from_raw(data.as_ptr()) });
            return Err(ENOMEM);
        };
        // From here on, dropping `replica` closes the state and frees `data`.
        let replica = Replica { L, data };
        LIVE.add(1, Relaxed);
        // SAFETY: the extra space of the main thread is ours to fill; new
        // threads copy it, so every thread of the state can find `data`.
        unsafe { *lua_getextraspace(L.as_ptr()) = data.as_ptr().cast::<c_void>() };
        // SAFETY: a fresh, idle state.
        unsafe { interp::open_libs(L.as_ptr(), seed, print, runtime) }.map_err(|_| ENOMEM)?;
        Ok(replica)
    }

    /// The allocation flags matching this replica's context.
    fn flags(&self) -> Flags {
        self.data().context.flags()
    }

    fn data(&self) -> &ReplicaData {
        // SAFETY: Lua is idle whenever `self` is borrowed outside an entry
        // (type invariant), so nothing writes `data` meanwhile.
        unsafe { self.data.as_ref() }
    }

    fn data_mut(&mut self) -> &mut ReplicaData {
        // SAFETY: `data` came from `KBox::into_raw` and lives until `L`
        // is closed in `drop` (type invariant); Lua touches it only during
        // calls made through `self`, and `&mut self` means none is running
        // and no other reference to it exists.
        unsafe { self.data.as_mut() }
    }

    /// Runs the Lua source `chunk` named `chunkname`, a chunk from the
    /// control plane run in the task of the user who asked for it (the
    /// one entry that may read script files); `each` receives the results
    /// as strings (as `tostring` gives them).
    pub(crate) fn run(
        &mut self,
        chunk: &[u8],
        chunkname: &CStr,
        mut each: impl FnMut(&[u8]) -> Result,
    ) -> Result<(), RunError> {
        let L = self.L.as_ptr();
        self.limit_time(false);
        self.data_mut().control = true;
        // SAFETY: `&mut self` gives exclusive use of the idle state.
        let status = unsafe { interp::run(L, chunk, chunkname) };
        self.data_mut().control = false;
        let outcome = match status {
            Ok(()) => {
                // SAFETY: `run` just succeeded; its results are on the stack
                // until the settop below.
                let copied = unsafe { interp::results(L) }.try_for_each(&mut each);
                copied.map_err(|_| self.no_memory())
            }
            Err(status) => Err(self.error(status)),
        };
        self.finish(outcome)
    }

    /// Takes the work the last entries deferred, and gives its charge
    /// back to the memory account.
    pub(crate) fn take_deferred(&mut self) -> Taken {
        let data = self.data_mut();
        data.pending.take(&mut data.account)
    }

    /// Number of operations waiting in the deferred queue.
    pub(crate) fn deferred(&self) -> usize {
        self.data().pending.len()
    }

    /// Whether the registry holds a function under `key` (see
    /// [`interp::Callee::Slot`]).
    pub(crate) fn holds(&mut self, key: &'static u8) -> bool {
        // SAFETY: `&mut self` gives exclusive use of the idle state.
        unsafe { interp::slot_holds_function(self.L.as_ptr(), key) }
    }

    /// Forgets callback `id` (a resource that calls it is gone).
    pub(crate) fn drop_callback(&mut self, id: i64) {
        // SAFETY: the state is idle; dropping a callback neither allocates
        // nor raises (it replaces an existing entry).
        unsafe { interp::drop_callback(self.L.as_ptr(), id) }
    }

    /// Counts a failure found after an entry succeeded in Lua's eyes (a
    /// hook that returned no verdict): an error of the last entry, with
    /// `message` as the last error, reported like a failed callback.
    pub(crate) fn fail(&mut self, message: &[u8]) {
        let counters = &mut self.data_mut().counters;
        counters.errors += 1;
        let n = message.len().min(LAST_ERROR_MAX);
        counters.last_error[..n].copy_from_slice(&message[..n]);
        counters.last_error_len = n;
        // SAFETY: Lua is idle; nothing borrows the limit.
        unsafe { emit(self.data.as_ptr(), message, Some(ErrorKind::Runtime)) };
    }

    /// Calls `func` (a global function or a stored callback) with `args`;
    /// `f` reads its results.
    /// A failure is also reported to the log and the `events` group (within
    /// the rate limit), since nobody waits for a callback's result.
    pub(crate) fn call<R>(
        &mut self,
        func: interp::Callee<'_>,
        args: &[interp::Arg<'_>],
        f: impl FnOnce(&Results<'_>) -> R,
    ) -> Result<R, RunError> {
        let L = self.L.as_ptr();
        self.limit_time(true);
        // SAFETY: `&mut self` gives exclusive use of the idle state.
        let outcome = match unsafe { interp::call(L, func, args) } {
            Ok(()) => Ok(f(&Results {
                L,
                _replica: core::marker::PhantomData,
            })),
            Err(status) => {
                let e = self.error(status);
                // SAFETY: `data` is this replica's; Lua is idle and nothing
                // borrows the limit.
                unsafe { emit(self.data.as_ptr(), &e.message, Some(e.kind)) };
                Err(e)
            }
        };
        self.finish(outcome)
    }

    /// Counts the entry, drops what it left on the stack.
    fn finish<T>(&mut self, outcome: Result<T, RunError>) -> Result<T, RunError> {
        // SAFETY: the entry is over; clearing the stack never raises.
        unsafe { lua_settop(self.L.as_ptr(), 0) };
        let counters = &mut self.data_mut().counters;
        counters.calls += 1;
        if outcome.is_err() {
            counters.errors += 1;
        }
        outcome
    }

    /// The error of the entry that just failed with `status`, recorded as
    /// the replica's last error.
    fn error(&mut self, status: c_int) -> RunError {
        // SAFETY: the failed entry left its message on top of the stack.
        let message = unsafe { interp::error_message(self.L.as_ptr()) };
        // The account knows whether the budget or the deadline stopped
        // the entry; the message text may be anything a script raised.
        let kind = if self.data().account.killed != Kill::None {
            ErrorKind::Budget
        } else if status == LUA_ERRSYNTAX {
            ErrorKind::Syntax
        } else if status == LUA_ERRMEM {
            ErrorKind::Memory
        } else {
            ErrorKind::Runtime
        };
        let flags = self.flags();
        let counters = &mut self.data_mut().counters;
        let n = message.len().min(LAST_ERROR_MAX);
        counters.last_error[..n].copy_from_slice(&message[..n]);
        counters.last_error_len = n;
        let mut copy = KVec::new();
        // A script chooses its error's size; no reply carries more than
        // VALUE_MAX bytes of it, so no more is copied. Without memory for
        // the copy the caller still learns the kind.
        let _ = copy.extend_from_slice(&message[..message.len().min(VALUE_MAX)], flags);
        RunError {
            kind,
            message: copy,
        }
    }

    fn no_memory(&mut self) -> RunError {
        RunError {
            kind: ErrorKind::Memory,
            message: KVec::new(),
        }
    }

    /// Says whether the next entries may sleep. Those that may have no
    /// deadline (they hold no CPU: other tasks run at each budget check)
    /// and call `cond_resched`; the others meet the context's deadlines.
    pub(crate) fn set_preemptible(&mut self, preemptible: bool) {
        self.data_mut().preemptible = preemptible;
    }

    /// Sets the time limit of the next entry: a call's, or a run's (which
    /// also covers collections and the close), unless it may sleep.
    fn limit_time(&mut self, call: bool) {
        let data = self.data_mut();
        data.account.time_limit_ns = match (data.preemptible, call) {
            (true, _) => 0,
            (false, true) => data.time.call_ns,
            (false, false) => data.time.run_ns,
        };
        data.account.relax = data.preemptible.then_some(relax as fn());
    }

    /// Runs a full garbage collection.
    pub(crate) fn collect(&mut self) {
        self.limit_time(false);
        // SAFETY: the state is idle; a full collection runs finalizers in
        // protected mode.
        unsafe { interp::collect(self.L.as_ptr()) }
    }

    /// The replica's statistics.
    pub(crate) fn stats(&self) -> Stats {
        let d = self.data();
        Stats {
            memory_used: d.account.used,
            memory_peak: d.account.peak,
            calls: d.counters.calls,
            errors: d.counters.errors,
            budget_kills: d.account.budget_kills,
            longest_entry_ns: d.account.longest_entry_ns,
            deepest_stack: d.account.deepest_stack,
            alloc_failures: d.account.alloc_failures,
            last_error: d.counters.last_error,
            last_error_len: d.counters.last_error_len,
        }
    }
}

/// The results of a successful [`Replica::call`], valid during the
/// callback that receives them.
///
/// # Invariants
///
/// `L` is the main thread of the replica borrowed for `'a`, whose last
/// call succeeded; its results stay on the stack, untouched, for as long
/// as the value lives (only `Replica::call` makes one, for its callback).
pub(crate) struct Results<'a> {
    L: *mut lua_State,
    _replica: core::marker::PhantomData<&'a mut Replica>,
}

impl Results<'_> {
    /// Number of results.
    pub(crate) fn len(&self) -> usize {
        // SAFETY: the call succeeded and its results are still on the stack.
        unsafe { interp::result_count(self.L) }
    }

    /// Result `n` (from 0); `Nil` past the last.
    pub(crate) fn get(&self, n: usize) -> interp::Value<'_> {
        // SAFETY: the call succeeded and its results are still on the
        // stack for as long as `self` lives (type invariant); the value
        // borrows from `self`.
        unsafe { interp::value_at(self.L, n) }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        // The last finalizers run as one entry, under a run's limits.
        self.limit_time(false);
        // SAFETY: the state is idle and never used again; closing it frees
        // every block through the allocator, which still reaches `data`.
        unsafe { interp::close(self.L.as_ptr()) };
        // SAFETY: `data` came from KBox::leak; Lua is gone.
        let mut data = unsafe { KBox::from_raw(self.data.as_ptr()) };
        // Work a packet callback deferred and no chunk took: it is never
        // done, and its charge goes back with it.
        let data = &mut *data;
        drop(data.pending.take(&mut data.account));
        // Every block Lua allocated went back through the allocator.
        kernel::warn_on!(data.account.used != 0);
        LIVE.add(-1, Relaxed);
    }
}
