// SPDX-License-Identifier: GPL-2.0

//! One Lua VM in the kernel: a `lua_State` with its accounting, its
//! statistics and the kernel's `print`.
//!
//! A [`Machine`] is not synchronised: [`crate::states::state`] keeps each
//! one behind the lock of its context and only calls it with that lock
//! held.
//!
//! The longjmp rule (docs/architecture.md, "The longjmp rule"): every
//! entry goes through [`crate::lua::vm`], which calls Lua in protected mode;
//! the `lua_CFunction`s here hold no value with a destructor across a Lua
//! call that may raise.

use crate::glue::kalloc::KernelAlloc;
use crate::glue::net::NetRef;
use crate::lua::account::{Account, Kill};
use crate::lua::ffi::*;
use crate::lua::vm;
use crate::lua::Lua;
use crate::states::library::Runtime;
use crate::states::ratelimit::{RateLimit, Verdict};
use crate::uapi::name::Name;
use crate::uapi::protocol::{error_kind, VALUE_MAX};
use core::ffi::{c_int, c_void, CStr};
use core::ptr::NonNull;
use kernel::alloc::{
    flags::{GFP_ATOMIC, GFP_KERNEL},
    Flags,
};
use kernel::prelude::*;
use kernel::str::BStr;
use kernel::sync::atomic::{Atomic, Relaxed};

/// Where a state may be entered from, which decides its lock and how it
/// allocates. Fixed when the state is made and stored once, in each of
/// its machines; everything else asks for it ([`context`],
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

/// Machines alive in the module: what leak checks compare.
static LIVE: Atomic<i64> = Atomic::new(0);

/// Number of Lua VMs currently alive in the module.
pub(crate) fn live_machines() -> i64 {
    LIVE.load(Relaxed)
}

/// Bytes of the last error kept in a machine's statistics.
pub(crate) const LAST_ERROR_MAX: usize = 256;

/// How an entry into Lua failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// The chunk did not compile.
    Syntax,
    /// The code raised an error.
    Runtime,
    /// An allocation failed: the memory cap, or the kernel out of memory.
    Memory,
    /// The entry ran out of its instruction budget.
    Budget,
}

impl ErrorKind {
    /// The kernel error code that stands for this failure (the XDP kfuncs
    /// return it negated; docs/architecture.md, "XDP").
    pub(crate) fn errno(self) -> Error {
        match self {
            ErrorKind::Syntax => EINVAL,
            ErrorKind::Runtime => EIO,
            ErrorKind::Memory => ENOMEM,
            ErrorKind::Budget => ECANCELED,
        }
    }

    /// The kind's number in the netlink protocol (`enum lunatik_error_kind`).
    pub(crate) fn protocol(self) -> u32 {
        match self {
            ErrorKind::Syntax => error_kind::SYNTAX,
            ErrorKind::Runtime => error_kind::RUNTIME,
            ErrorKind::Memory => error_kind::MEMORY,
            ErrorKind::Budget => error_kind::BUDGET,
        }
    }
}

/// A failed entry: what went wrong and Lua's message, with its traceback
/// for runtime errors.
#[derive(Debug)]
pub(crate) struct RunError {
    /// The kind of failure.
    pub(crate) kind: ErrorKind,
    /// The message; empty if copying it failed for lack of memory.
    pub(crate) message: KVec<u8>,
}

/// Wall-clock time an entry may take, by kind of entry; 0 for no limit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeLimits {
    /// A call of a function from the kernel ([`Machine::call`]).
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

/// Counters and the last error of one machine; read under its lock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counters {
    /// Entries (runs and calls).
    pub(crate) calls: u64,
    /// Entries that failed.
    pub(crate) errors: u64,
    /// The start of the last error message.
    pub(crate) last_error: [u8; LAST_ERROR_MAX],
    /// Length of `last_error`.
    pub(crate) last_error_len: usize,
}

/// What Lua reaches through raw pointers while it runs: the allocator's
/// account (its user data) and, through the thread's extra space, the name
/// `print` prefixes, the namespace its events go to and their rate limit.
/// It lives in its own allocation so its address is stable for the life of
/// the `lua_State`.
struct MachineData {
    account: Account,
    /// The state's context; `account.atomic` mirrors it for the
    /// allocator.
    context: Context,
    time: TimeLimits,
    /// Whether entries may sleep: a process state, or a softirq state
    /// not yet reachable from the packet path (states/softirq_vm.rs).
    preemptible: bool,
    name: Name,
    net: NetRef,
    /// The libraries `require` finds and where events go.
    runtime: &'static Runtime,
    limit: RateLimit,
    counters: Counters,
    /// Work the running chunk asked for (such as `netfilter.register`),
    /// done by the state once the chunk is over.
    pending: KVec<KBox<dyn Deferred>>,
}

/// A state as the kernel objects that call into it see it (a netfilter
/// hook, an XDP attachment): states/state.rs implements it, so libraries
/// reach their state without this file knowing either.
pub(crate) trait Owner: Sync {
    /// Calls the stored callback `id` with `args` for the packet path, in
    /// the replica of the current CPU, and lets `read` read its results;
    /// `read` returns `Err(message)` for results that count as a failure
    /// of the state (reported like a failed callback).
    fn callback(
        &self,
        id: i64,
        args: &[vm::Arg<'_>],
        read: &mut dyn FnMut(&Results<'_>) -> Result<(), &'static [u8]>,
    ) -> Result<(), CallbackError>;

    /// Counts an entry the packet path gave up before Lua ran (a packet
    /// without memory to prepare it) as an error of the state.
    fn refuse(&self);
}

/// Why [`Owner::callback`] has no verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallbackError {
    /// Lua did not run: a re-entry on the CPU already running the replica,
    /// or a state the packet path may not enter. Counted by the state.
    Refused,
    /// Lua ran and failed, or `read` refused its results. Counted and
    /// reported by the machine.
    Failed,
}

/// A kernel object that calls into a state (a netfilter hook, an XDP
/// attachment), kept in the state's resource list, which the state drops
/// before anything else when it dies (docs/architecture.md, "Deferred
/// work and resources").
pub(crate) trait Resource: Send + Sync {
    /// The callback it calls.
    fn id(&self) -> i64;

    /// Stops the kernel from entering the state through it. Entries
    /// already inside may run until the next RCU grace period, which the
    /// state waits for, once for all its resources, before dropping them.
    /// Dropping a resource that was not unpublished unpublishes it and
    /// waits for a grace period itself.
    fn unpublish(&mut self);

    /// What it is and where it is attached, as `GET` reports it
    /// (docs/control.md, "Attachments").
    fn describe(&self) -> Description;
}

/// A resource as the control plane reports it: its kind (a
/// `protocol::attachment_kind` value) and the fields of that kind, each
/// left out of the reply when `None`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Description {
    /// The kind (`protocol::attachment_kind`).
    pub(crate) kind: u32,
    /// A netfilter hook's protocol family.
    pub(crate) family: Option<u32>,
    /// A netfilter hook's hook number.
    pub(crate) hooknum: Option<u32>,
    /// A netfilter hook's priority.
    pub(crate) priority: Option<i32>,
    /// The device it was registered on, by the name it had then
    /// (NUL-padded, `IFNAMSIZ` bytes).
    pub(crate) device: Option<[u8; 16]>,
    /// The device went away, and the kernel no longer calls in through
    /// this resource.
    pub(crate) device_gone: bool,
}

impl Description {
    /// A resource of `kind` with no other field.
    pub(crate) const fn of(kind: u32) -> Self {
        Self {
            kind,
            family: None,
            hooknum: None,
            priority: None,
            device: None,
            device_gone: false,
        }
    }
}

/// What [`Deferred::apply`] works on: the state, its namespace and its
/// resource list.
pub(crate) struct Apply<'a> {
    /// The state, for the resources made here to call into. It outlives
    /// them: it drops its resources before anything else.
    pub(crate) owner: *const (dyn Owner + 'static),
    /// The state's namespace.
    pub(crate) net: NetRef,
    /// The state's resources.
    pub(crate) resources: &'a mut KVec<KBox<dyn Resource>>,
    /// Callbacks the replicas may forget (the kernel will no longer call
    /// them) once the work is done.
    pub(crate) forget: &'a mut KVec<i64>,
}

/// Why deferred work failed: the kernel's error and the message the run
/// that asked for it fails with.
pub(crate) struct Refusal {
    /// The kernel's error.
    pub(crate) error: Error,
    /// The run's error message.
    pub(crate) message: &'static [u8],
}

/// Work a library asks for while a chunk runs and that must wait for
/// process context after it (registering a hook sleeps, and a softirq
/// state runs Lua under a spinlock). The state does it when the chunk is
/// over ([`crate::states::state::State::run`]).
pub(crate) trait Deferred: Send {
    /// Whether the work lets the packet path reach the state: the state
    /// is then exposed first (states/softirq_vm.rs).
    fn exposes(&self) -> bool;

    /// Does the work, in process context.
    fn apply(&self, cx: &mut Apply<'_>) -> Result<(), Refusal>;
}

/// Queues `op` for the state to do when the running chunk is over.
///
/// # Safety
///
/// `L` is a thread of a live [`Machine`] that is running (so its data is
/// not otherwise borrowed).
pub(crate) unsafe fn defer(L: *mut lua_State, op: impl Deferred + 'static) -> Result {
    // SAFETY: by the contract; the push is plain Rust, no Lua call.
    unsafe {
        let data = (*lua_getextraspace(L)).cast::<MachineData>();
        let flags = (*data).context.flags();
        let op: KBox<dyn Deferred> = KBox::new(op, flags)?;
        (*data).pending.push(op, flags)?;
    }
    Ok(())
}

/// The namespace and the context of the machine running `L`: what
/// libraries need from their state.
///
/// # Safety
///
/// `L` is a thread of a live [`Machine`] (its extra space holds the
/// machine's data).
pub(crate) unsafe fn context(L: *mut lua_State) -> (NetRef, Context) {
    // SAFETY: by the contract; fields are read through the pointer.
    unsafe {
        let data = (*lua_getextraspace(L)).cast::<MachineData>();
        ((*data).net, (*data).context)
    }
}

/// The namespace and the context of the machine running `lua`.
pub(crate) fn lua_context(lua: &Lua<'_>) -> (NetRef, Context) {
    // SAFETY: every Lua thread in the module belongs to a live `Machine`:
    // `Machine::new` is the only maker of states here, and a `Lua` handle
    // exists only while its thread runs.
    unsafe { context(lua.as_ptr()) }
}

/// The name of the state whose machine runs `lua`.
pub(crate) fn lua_state_name(lua: &Lua<'_>) -> Name {
    // SAFETY: every Lua thread in the module belongs to a live `Machine`
    // (`Machine::new` is the only maker of states here), and a `Lua`
    // handle exists only while its thread runs, so its extra space holds
    // the machine's data, as `state_name` asks.
    unsafe { state_name(lua.as_ptr()) }
}

/// Queues `op` for the state to do when the chunk running `lua` is over.
pub(crate) fn lua_defer(lua: &mut Lua<'_>, op: impl Deferred + 'static) -> Result {
    // SAFETY: every Lua thread in the module belongs to a live `Machine`
    // (`Machine::new` is the only maker of states here), and a `Lua`
    // handle exists only while its thread runs, so the machine is
    // running, and nothing else borrows its data while its Lua code runs.
    unsafe { defer(lua.as_ptr(), op) }
}

/// Whether the entry running `L` may sleep: a process state's, or a
/// softirq state's before it is exposed to the packet path (see
/// states/softirq_vm.rs).
///
/// # Safety
///
/// `L` is a thread of a live [`Machine`] (its extra space holds the
/// machine's data).
pub(crate) unsafe fn preemptible(L: *mut lua_State) -> bool {
    // SAFETY: `L` belongs to a live machine (the contract), whose extra
    // space holds its data; the flag is copied out through the pointer,
    // never borrowed.
    unsafe { (*(*lua_getextraspace(L)).cast::<MachineData>()).preemptible }
}

/// The name of the state whose machine runs `L`.
///
/// # Safety
///
/// `L` is a thread of a live [`Machine`] (its extra space holds the
/// machine's data).
pub(crate) unsafe fn state_name(L: *mut lua_State) -> Name {
    // SAFETY: `L` belongs to a live machine (the contract), whose extra
    // space holds its data; the name is copied out, never borrowed.
    unsafe { (*(*lua_getextraspace(L)).cast::<MachineData>()).name }
}

/// Sends `msg` to the kernel log (prefixed with the state's name) and to
/// the `events` listeners of the state's namespace, as an error of `kind`
/// when given, within the machine's rate limit.
///
/// # Safety
///
/// `data` must be the live data of a machine whose Lua code is running on
/// this thread (so nothing else uses its rate limit), and no reference to
/// its `limit` field may exist.
unsafe fn emit(data: *mut MachineData, msg: &[u8], kind: Option<ErrorKind>) {
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

/// One Lua VM.
///
/// # Invariants
///
/// `L` is an open state created with `KernelAlloc` whose
/// allocator user data is `&mut (*data).account` and whose extra space
/// holds `data`; `data` came from `KBox::into_raw` and is freed only after
/// `L` is closed. Lua touches `data` only during calls made through `self`.
pub(crate) struct Machine {
    L: NonNull<lua_State>,
    data: NonNull<MachineData>,
}

// SAFETY: a Lua state is plain memory, not tied to the thread that made it;
// the owner moves it between threads only behind a lock (see the module
// documentation), so it is never used from two threads at once.
unsafe impl Send for Machine {}

/// The kernel's `print`: the arguments, converted as `tostring` does and
/// separated by tabs, go to the kernel log as one line prefixed with the
/// state's name, and to the `events` group, within the rate limit.
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` a thread
/// of a running [`Machine`] (its extra space holds the machine's data).
unsafe extern "C" fn print(L: *mut lua_State) -> c_int {
    // SAFETY: called by Lua in protected mode; print_line may raise (a
    // __tostring metamethod, memory, too many arguments) and nothing here
    // has a destructor until it has returned.
    let msg = unsafe { vm::print_line(L) };
    // A line costs far more than an instruction (the kernel log, the
    // console, a netlink message), so each is charged as a few hundred,
    // and a print flood meets its deadline check as often as other work.
    // SAFETY: `L` is a thread of a machine's state, which is accounted,
    // running `print` in protected mode, so the charge may raise into
    // that call; nothing here has a destructor yet (`msg` is a plain
    // slice).
    unsafe {
        crate::lua::account::lunatik_work(L, PRINT_UNITS + (msg.len() / 64) as core::ffi::c_long)
    };
    // SAFETY: a running machine's extra space holds its data.
    let data = unsafe { (*lua_getextraspace(L)).cast::<MachineData>() };
    // No Lua call follows, so Rust values may live from here on; the
    // message stays on the Lua stack until this function returns.
    // SAFETY: the extra space holds the running machine's data (type
    // invariant of `Machine`), and nothing borrows its limit.
    unsafe { emit(data, msg, None) };
    0
}

/// Budget units one `print` costs besides its bytes.
const PRINT_UNITS: core::ffi::c_long = 256;

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
    // under a mutex, where sleeping is allowed (states/softirq_vm.rs).
    unsafe { crate::glue::cpu::cond_resched() }
}

/// Statistics of a machine, copied out under its lock, or of a state,
/// summed over its replicas ([`Stats::add`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stats {
    /// Bytes in use.
    pub(crate) memory_used: usize,
    /// Highest `memory_used` seen (for a state, the sum of each
    /// replica's).
    pub(crate) memory_peak: usize,
    /// Entries (a state's run counts once per replica).
    pub(crate) calls: u64,
    /// Entries that failed.
    pub(crate) errors: u64,
    /// Entries stopped by the instruction budget or the deadline.
    pub(crate) budget_kills: u64,
    /// The longest entry (of any replica), in nanoseconds.
    pub(crate) longest_entry_ns: u64,
    /// The most C stack an entry (of any replica) used, in bytes.
    pub(crate) deepest_stack: usize,
    /// Allocations refused.
    pub(crate) alloc_failures: u64,
    /// The start of the most recent error (for a state, of the first
    /// replica that has one).
    pub(crate) last_error: [u8; LAST_ERROR_MAX],
    /// Length of `last_error`.
    pub(crate) last_error_len: usize,
}

impl Stats {
    /// No entries, no memory.
    pub(crate) const ZERO: Self = Self {
        memory_used: 0,
        memory_peak: 0,
        calls: 0,
        errors: 0,
        budget_kills: 0,
        longest_entry_ns: 0,
        deepest_stack: 0,
        alloc_failures: 0,
        last_error: [0; LAST_ERROR_MAX],
        last_error_len: 0,
    };

    /// Adds another replica's figures: sums, maxima, and its last error
    /// if there is none yet.
    pub(crate) fn add(&mut self, m: &Stats) {
        self.memory_used += m.memory_used;
        self.memory_peak += m.memory_peak;
        self.calls += m.calls;
        self.errors += m.errors;
        self.budget_kills += m.budget_kills;
        self.longest_entry_ns = self.longest_entry_ns.max(m.longest_entry_ns);
        self.deepest_stack = self.deepest_stack.max(m.deepest_stack);
        self.alloc_failures += m.alloc_failures;
        if self.last_error_len == 0 {
            self.last_error = m.last_error;
            self.last_error_len = m.last_error_len;
        }
    }

    /// The last error's text.
    pub(crate) fn last_error(&self) -> &[u8] {
        &self.last_error[..self.last_error_len]
    }
}

impl Machine {
    /// A new VM for the state `name` with the standard libraries open, a
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
            MachineData {
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
                    ..Account::default()
                },
                context,
                time,
                preemptible: !atomic,
                name,
                net,
                runtime,
                limit: RateLimit::new(),
                pending: KVec::new(),
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
            unsafe { vm::new_state::<KernelAlloc>(&raw mut (*data.as_ptr()).account, seed as u32) };
        let Some(L) = NonNull::new(L) else {
            // SAFETY: `data` came from KBox::leak and Lua never saw it.
            drop(unsafe { KBox::from_raw(data.as_ptr()) });
            return Err(ENOMEM);
        };
        // From here on, dropping `machine` closes the state and frees `data`.
        let machine = Machine { L, data };
        LIVE.add(1, Relaxed);
        // SAFETY: the extra space of the main thread is ours to fill; new
        // threads copy it, so every thread of the state can find `data`.
        unsafe { *lua_getextraspace(L.as_ptr()) = data.as_ptr().cast::<c_void>() };
        // SAFETY: a fresh, idle state.
        unsafe { vm::open_libs(L.as_ptr(), seed, print, runtime) }.map_err(|_| ENOMEM)?;
        Ok(machine)
    }

    /// The allocation flags matching this machine's context.
    fn flags(&self) -> Flags {
        self.data().context.flags()
    }

    fn data(&self) -> &MachineData {
        // SAFETY: Lua is idle whenever `self` is borrowed outside an entry
        // (type invariant), so nothing writes `data` meanwhile.
        unsafe { self.data.as_ref() }
    }

    fn data_mut(&mut self) -> &mut MachineData {
        // SAFETY: `data` came from `KBox::into_raw` and lives until `L`
        // is closed in `drop` (type invariant); Lua touches it only during
        // calls made through `self`, and `&mut self` means none is running
        // and no other reference to it exists.
        unsafe { self.data.as_mut() }
    }

    /// Runs the Lua source `chunk` named `chunkname`; `each` receives the
    /// results as strings (as `tostring` gives them).
    pub(crate) fn run(
        &mut self,
        chunk: &[u8],
        chunkname: &CStr,
        mut each: impl FnMut(&[u8]) -> Result,
    ) -> Result<(), RunError> {
        let L = self.L.as_ptr();
        self.limit_time(false);
        // SAFETY: `&mut self` gives exclusive use of the idle state.
        let status = unsafe { vm::run(L, chunk, chunkname) };
        let outcome = match status {
            Ok(()) => {
                // SAFETY: `run` just succeeded; its results are on the stack
                // until the settop below.
                let copied = unsafe { vm::results(L) }.try_for_each(&mut each);
                copied.map_err(|_| self.no_memory())
            }
            Err(status) => Err(self.error(status)),
        };
        self.finish(outcome)
    }

    /// Takes the work the last entries deferred.
    pub(crate) fn take_deferred(&mut self) -> KVec<KBox<dyn Deferred>> {
        core::mem::take(&mut self.data_mut().pending)
    }

    /// Whether the registry holds a function under `key` (see
    /// [`vm::Callee::Slot`]).
    pub(crate) fn holds(&mut self, key: &'static u8) -> bool {
        // SAFETY: `&mut self` gives exclusive use of the idle state.
        unsafe { vm::slot_holds_function(self.L.as_ptr(), key) }
    }

    /// Forgets callback `id` (a resource that calls it is gone).
    pub(crate) fn drop_callback(&mut self, id: i64) {
        // SAFETY: the state is idle; dropping a callback neither allocates
        // nor raises (it replaces an existing entry).
        unsafe { vm::drop_callback(self.L.as_ptr(), id) }
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
        func: vm::Callee<'_>,
        args: &[vm::Arg<'_>],
        f: impl FnOnce(&Results<'_>) -> R,
    ) -> Result<R, RunError> {
        let L = self.L.as_ptr();
        self.limit_time(true);
        // SAFETY: `&mut self` gives exclusive use of the idle state.
        let outcome = match unsafe { vm::call(L, func, args) } {
            Ok(()) => Ok(f(&Results {
                L,
                _machine: core::marker::PhantomData,
            })),
            Err(status) => {
                let e = self.error(status);
                // SAFETY: `data` is this machine's; Lua is idle and nothing
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
    /// the machine's last error.
    fn error(&mut self, status: c_int) -> RunError {
        // SAFETY: the failed entry left its message on top of the stack.
        let message = unsafe { vm::error_message(self.L.as_ptr()) };
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
        unsafe { vm::collect(self.L.as_ptr()) }
    }

    /// The machine's statistics.
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

/// The results of a successful [`Machine::call`], valid during the
/// callback that receives them.
///
/// # Invariants
///
/// `L` is the main thread of the machine borrowed for `'a`, whose last
/// call succeeded; its results stay on the stack, untouched, for as long
/// as the value lives (only `Machine::call` makes one, for its callback).
pub(crate) struct Results<'a> {
    L: *mut lua_State,
    _machine: core::marker::PhantomData<&'a mut Machine>,
}

impl Results<'_> {
    /// Number of results.
    pub(crate) fn len(&self) -> usize {
        // SAFETY: the call succeeded and its results are still on the stack.
        unsafe { vm::result_count(self.L) }
    }

    /// Result `n` (from 0); `Nil` past the last.
    pub(crate) fn get(&self, n: usize) -> vm::Value<'_> {
        // SAFETY: the call succeeded and its results are still on the
        // stack for as long as `self` lives (type invariant); the value
        // borrows from `self`.
        unsafe { vm::value_at(self.L, n) }
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        // The last finalizers run as one entry, under a run's limits.
        self.limit_time(false);
        // SAFETY: the state is idle and never used again; closing it frees
        // every block through the allocator, which still reaches `data`.
        unsafe { vm::close(self.L.as_ptr()) };
        // SAFETY: `data` came from KBox::leak; Lua is gone.
        let data = unsafe { KBox::from_raw(self.data.as_ptr()) };
        // Every block Lua allocated went back through the allocator.
        kernel::warn_on!(data.account.used != 0);
        LIVE.add(-1, Relaxed);
    }
}
