// SPDX-License-Identifier: GPL-2.0

//! States: a name, a context, limits, and one replica or one per
//! possible CPU, each behind the lock of its context.
//!
//! This is the internal API later features call: [`State::run`] loads and
//! runs a chunk (in every replica), [`State::call`] calls a Lua function on
//! the current CPU's replica. Both hold the replica's lock for the whole
//! entry and give the entry a fresh instruction budget. States are shared
//! as `Arc<State>`, so a packet path can hold one safely while the control
//! plane destroys it: the replicas close when the last reference goes.

use crate::glue::cpu;
use crate::glue::net::NetRef;
use crate::lua::interp::{Arg, Callee};
use crate::states::library::Runtime;
use crate::states::replica::{
    Apply, CallbackError, Description, ErrorKind, Owner, Replica, Resource, Results, RunError,
    Taken, TimeLimits,
};
use crate::states::softirq_replica::{Refused, SoftirqReplica};
use crate::uapi::name::Name;
use core::ffi::CStr;
use kernel::alloc::{flags::GFP_KERNEL, Flags};
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};
use kernel::sync::{new_mutex, Arc, Mutex};

pub(crate) use crate::states::replica::{Context, Stats};

/// Default memory cap of a state: room for a megabyte of source text
/// while it compiles, and for the tables of a packet filter.
pub(crate) const DEFAULT_MEMORY: usize = 32 << 20;
/// Default instruction budget per entry of a `process` state.
pub(crate) const DEFAULT_BUDGET: u64 = 100_000_000;
/// Default, and largest, instruction budget per entry of a `softirq` state.
/// Its entries hold a spinlock with bottom halves off, so an unbounded or
/// huge budget would let one script stall the CPU (RCU stalls, soft
/// lockups); ten million instructions take well under a second.
pub(crate) const SOFTIRQ_BUDGET: u64 = 10_000_000;
/// Wall-clock time limits of the entries of a `softirq` state. The budget
/// counts work, these count time, whatever the work was (docs/states.md
/// gives the bound an entry may overrun them by).
pub(crate) const SOFTIRQ_TIME_LIMITS: TimeLimits = TimeLimits {
    // A callback from the packet path (a hook, a kfunc): it runs for
    // every packet, on input an attacker may choose.
    call_ns: 50_000_000,
    // A chunk the operator runs, a garbage collection, the finalizers at
    // close: rare, and loading a script may take a while under emulation
    // or a debug kernel; still short of any stall detector.
    run_ns: 500_000_000,
};

/// How to create a state.
#[derive(Clone, Copy)]
pub(crate) struct Config {
    /// The state's name.
    pub(crate) name: Name,
    /// The network namespace it belongs to.
    pub(crate) net: NetRef,
    /// Its context.
    pub(crate) context: Context,
    /// Memory cap per replica, in bytes (0 for none, `process` states with
    /// `unlimited` only).
    pub(crate) memory: usize,
    /// Instructions per entry (0 for none, `process` states with
    /// `unlimited` only).
    pub(crate) budget: u64,
    /// Whether a limit of 0 may mean "none": an operator's explicit choice,
    /// never a default (a forgotten field must not remove every bound).
    pub(crate) unlimited: bool,
    /// One replica per possible CPU instead of one.
    pub(crate) percpu: bool,
    /// The module's libraries and events sender (states/library.rs).
    pub(crate) runtime: &'static Runtime,
}

impl Config {
    /// A single-replica state of the initial namespace in `context` with the
    /// default limits and the module's `runtime`.
    pub(crate) fn new(name: Name, context: Context, runtime: &'static Runtime) -> Self {
        Self {
            runtime,
            name,
            net: NetRef::init(),
            context,
            memory: DEFAULT_MEMORY,
            budget: match context {
                Context::Process => DEFAULT_BUDGET,
                Context::Softirq => SOFTIRQ_BUDGET,
            },
            percpu: false,
            unlimited: false,
        }
    }

    /// Checks the limits (`EINVAL` otherwise): a `softirq` state needs a
    /// budget of 1 to [`SOFTIRQ_BUDGET`] and a memory cap; a `process`
    /// state may go without either only when `unlimited` says so.
    pub(crate) fn validate(&self) -> Result {
        if self.context == Context::Softirq && !(1..=SOFTIRQ_BUDGET).contains(&self.budget) {
            return Err(EINVAL);
        }
        let unbounded = self.memory == 0 || self.budget == 0;
        if unbounded && (self.context == Context::Softirq || !self.unlimited) {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// Wall-clock time per entry.
    fn time_limits(&self) -> TimeLimits {
        match self.context {
            Context::Process => TimeLimits::NONE,
            Context::Softirq => SOFTIRQ_TIME_LIMITS,
        }
    }
}

/// How much of a run's results [`State::run`] copies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResultLimit {
    /// Bytes of one result.
    pub(crate) value: usize,
    /// Bytes of all results together.
    pub(crate) total: usize,
}

impl ResultLimit {
    /// Every byte of every result (tests and benchmarks).
    #[allow(dead_code)]
    pub(crate) const ALL: Self = Self {
        value: usize::MAX,
        total: usize::MAX,
    };
}

/// One replica behind the lock of its state's context.
enum LockedReplica {
    Process(Pin<KBox<Mutex<Replica>>>),
    Softirq(Pin<KBox<SoftirqReplica>>),
}

impl LockedReplica {
    fn new(config: &Config) -> Result<Self> {
        let softirq = config.context == Context::Softirq;
        let replica = Replica::new(
            config.name,
            config.net,
            config.runtime,
            config.memory,
            config.budget,
            config.time_limits(),
            config.context,
        )?;
        Ok(if softirq {
            LockedReplica::Softirq(KBox::pin_init(SoftirqReplica::new(replica), GFP_KERNEL)?)
        } else {
            LockedReplica::Process(KBox::pin_init(
                new_mutex!(replica, "lunatik_state_process"),
                GFP_KERNEL,
            )?)
        })
    }

    /// Runs `f` on the replica for the control plane (process context).
    fn with<R>(&self, f: impl FnOnce(&mut Replica) -> R) -> R {
        match self {
            LockedReplica::Process(m) => f(&mut m.lock()),
            LockedReplica::Softirq(softirq) => softirq.with(f),
        }
    }
}

/// Why an entry from the packet path gave no result: the error of
/// [`State::call_slot`], which [`Owner::callback`] maps to its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotError {
    /// No function is attached (or the chunk attaching it is running).
    Empty,
    /// This CPU is running the replica already (a re-entry).
    Busy,
    /// The function failed: an error, the budget or deadline, memory.
    Failed(ErrorKind),
    /// It returned something the caller cannot use.
    Invalid,
}

/// A state: what a user names and runs (docs/architecture.md, "Words").
///
/// # Invariants
///
/// `replicas` is never empty; for a per-CPU state it holds one replica per
/// possible CPU and `cpus[i]` is the CPU of `replicas[i]`. Every resource
/// in `resources` calls into this state, which unpublishes and drops them
/// before anything else when it is dropped.
pub(crate) struct State {
    config: Config,
    replicas: KVec<LockedReplica>,
    cpus: KVec<u32>,
    /// Packets given the failure verdict without entering Lua (no memory
    /// to linearize them, or a same-CPU re-entry): errors of the state.
    refused: Atomic<u64>,
    /// The kernel objects calling into the state (netfilter hooks, ...).
    resources: Pin<KBox<Mutex<KVec<KBox<dyn Resource>>>>>,
}

impl State {
    /// Creates a state with the standard libraries loaded in every replica.
    pub(crate) fn new(config: Config) -> Result<Arc<Self>> {
        config.validate()?;
        let mut replicas = KVec::new();
        let mut cpus = KVec::new();
        if config.percpu {
            for id in cpu::possible() {
                replicas.push(LockedReplica::new(&config)?, GFP_KERNEL)?;
                cpus.push(id, GFP_KERNEL)?;
            }
        } else {
            replicas.push(LockedReplica::new(&config)?, GFP_KERNEL)?;
        }
        Ok(Arc::new(
            Self {
                config,
                replicas,
                cpus,
                refused: Atomic::new(0),
                resources: KBox::pin_init(
                    new_mutex!(KVec::new(), "lunatik_state_resources"),
                    GFP_KERNEL,
                )?,
            },
            GFP_KERNEL,
        )?)
    }

    /// Makes every replica reachable from the packet path (see
    /// [`SoftirqReplica::expose`]); process states need nothing.
    pub(crate) fn expose(&self) {
        for replica in self.replicas.iter() {
            if let LockedReplica::Softirq(softirq) = replica {
                softirq.expose();
            }
        }
    }

    /// The state's name.
    pub(crate) fn name(&self) -> &Name {
        &self.config.name
    }

    /// The state's configuration.
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// Number of replicas: one, or one per possible CPU.
    pub(crate) fn replicas(&self) -> usize {
        self.replicas.len()
    }

    /// Calls `f` with the description of each of the state's resources,
    /// in the order they were made, until it fails (process context: it
    /// takes the resource list's mutex).
    pub(crate) fn attachments(&self, mut f: impl FnMut(&Description) -> Result) -> Result {
        self.resources
            .lock()
            .iter()
            .try_for_each(|r| f(&r.describe()))
    }

    /// Flags for allocations made while a replica's lock is held.
    fn flags(&self) -> Flags {
        self.config.context.flags()
    }

    /// Runs `chunk` in every replica, in order, and returns the results of
    /// the first as strings, each cut to `limit.value` bytes, and no more
    /// than `limit.total` bytes in all (later results are left out): a
    /// script chooses what it returns, and nothing larger than the reply is
    /// copied. Stops at the first replica that fails: the replicas before
    /// it have run the chunk, the others have not. Then does the work the
    /// chunk deferred (process context).
    ///
    /// Work the packet callbacks deferred since the last run is done
    /// first, so the chunk finds the queue empty (it is bounded,
    /// states/replica/deferred.rs); a refusal of that work is logged but
    /// is not this chunk's error.
    pub(crate) fn run(
        &self,
        chunk: &[u8],
        chunkname: &CStr,
        limit: ResultLimit,
    ) -> Result<KVec<KVec<u8>>, RunError> {
        let _ = self.apply_deferred();
        let flags = self.flags();
        let mut out = KVec::new();
        let mut outcome = Ok(());
        let mut left = limit.total;
        for (i, replica) in self.replicas.iter().enumerate() {
            outcome = replica.with(|m| {
                m.run(chunk, chunkname, |value| {
                    if i == 0 && left > 0 {
                        let n = value.len().min(limit.value).min(left);
                        left -= n;
                        let mut v = KVec::new();
                        v.extend_from_slice(&value[..n], flags)?;
                        out.push(v, flags)?;
                    }
                    Ok(())
                })
            });
            if outcome.is_err() {
                break;
            }
        }
        let deferred = self.apply_deferred();
        outcome?;
        deferred?;
        Ok(out)
    }

    /// Does the work the replicas deferred (states/replica.rs, `Deferred`).
    /// Every replica of a per-CPU state runs the same chunks, so the first
    /// replica's requests stand for all; a resource then calls the
    /// callback of the same id in whichever replica runs on its CPU.
    fn apply_deferred(&self) -> Result<(), RunError> {
        let mut ops = Taken::none();
        for (i, replica) in self.replicas.iter().enumerate() {
            let taken = replica.with(|m| m.take_deferred());
            if i == 0 {
                ops = taken;
            }
        }
        if ops.is_empty() {
            return Ok(());
        }
        // From now on packets may enter the replicas: their entries hold
        // the bh spinlock and meet the softirq deadlines.
        if ops.iter().any(|op| op.exposes()) {
            self.expose();
        }
        let mut failed = None;
        let mut forget = KVec::new();
        {
            let mut resources = self.resources.lock();
            let owner: &(dyn Owner + 'static) = self;
            let mut cx = Apply {
                owner,
                net: self.config.net,
                resources: &mut resources,
                forget: &mut forget,
            };
            for op in ops.iter() {
                if let Err(refusal) = op.apply(&mut cx) {
                    failed.get_or_insert(refusal);
                }
            }
        }
        // The kernel no longer calls them: the replicas may let them go.
        for replica in self.replicas.iter() {
            replica.with(|m| forget.iter().for_each(|id| m.drop_callback(*id)));
        }
        match failed {
            None => Ok(()),
            Some(refusal) => {
                let mut message = KVec::new();
                let _ = message.extend_from_slice(refusal.message, GFP_KERNEL);
                pr_warn!(
                    "{}: {}: error {}\n",
                    kernel::str::BStr::from_bytes(self.name().as_bytes()),
                    kernel::str::BStr::from_bytes(refusal.message),
                    refusal.error.to_errno()
                );
                Err(RunError {
                    kind: ErrorKind::Runtime,
                    message,
                })
            }
        }
    }

    /// Runs `chunk` in replica `n` only (tests and diagnostics).
    pub(crate) fn run_in(
        &self,
        n: usize,
        chunk: &[u8],
        chunkname: &CStr,
        each: impl FnMut(&[u8]) -> Result,
    ) -> Result<(), RunError> {
        let replica = self.replicas.get(n).ok_or(RunError {
            kind: crate::states::replica::ErrorKind::Runtime,
            message: KVec::new(),
        })?;
        replica.with(|m| m.run(chunk, chunkname, each))
    }

    /// Calls the global Lua function `func` with `args` in the replica of
    /// the current CPU (the only one for a state that is not per-CPU);
    /// `f` reads the results while the lock is held.
    pub(crate) fn call<R>(
        &self,
        func: &CStr,
        args: &[Arg<'_>],
        f: impl FnOnce(&Results<'_>) -> R,
    ) -> Result<R, RunError> {
        self.current()
            .with(|m| m.call(Callee::Global(func), args, f))
    }

    /// Calls the function a library keeps under registry key `key` (see
    /// [`Callee::Slot`]) with `args` in the current CPU's replica, for a
    /// packet path in any context that found the state by name (the XDP
    /// kfuncs); `f` turns its results into the caller's value, or into the
    /// message of a failure (a result the caller cannot use), which counts
    /// as an error of the state.
    ///
    /// Contention, as for [`Owner::callback`]: a replica busy on another
    /// CPU is waited for (every entry of an exposed state is bounded in
    /// time, and a filter must not skip its script because packets were
    /// spread over CPUs); a re-entry on the CPU that is running the
    /// replica already is refused at once, as waiting would deadlock.
    pub(crate) fn call_slot<R>(
        &self,
        key: &'static u8,
        args: &[Arg<'_>],
        f: impl FnOnce(&Results<'_>) -> Result<R, &'static [u8]>,
    ) -> Result<R, SlotError> {
        let LockedReplica::Softirq(softirq) = self.current() else {
            // Slots are set by softirq-only libraries.
            return Err(SlotError::Empty);
        };
        // Until the chunk that attached the function has finished, the
        // state is not exposed: nothing is attached yet for the packet
        // path.
        if !softirq.is_exposed() {
            return Err(SlotError::Empty);
        }
        self.enter_packet(softirq, Callee::Slot(key), args, f)
    }

    /// The packet path's one way into a replica, for [`State::call_slot`]
    /// and [`Owner::callback`]: calls `callee` with `args` in `softirq`, the
    /// current CPU's replica, waiting for another CPU that holds it and
    /// refusing a re-entry on this CPU, or an entry before the state is
    /// exposed, which counts as an error of the state (`Busy`). A slot
    /// with no function is `Empty`; `f` turns the results into the
    /// caller's value, or into the message of a failure (`Invalid`,
    /// counted and reported like a failed call).
    ///
    /// Generic and inlined into both callers: it adds no allocation, lock
    /// or indirect call to an entry.
    #[inline(always)]
    fn enter_packet<R>(
        &self,
        softirq: &SoftirqReplica,
        callee: Callee<'_>,
        args: &[Arg<'_>],
        f: impl FnOnce(&Results<'_>) -> Result<R, &'static [u8]>,
    ) -> Result<R, SlotError> {
        let entered = softirq.enter(|m| {
            if let Callee::Slot(key) = callee {
                if !m.holds(key) {
                    return Err(SlotError::Empty);
                }
            }
            match m.call(callee, args, f) {
                Ok(Ok(r)) => Ok(r),
                Ok(Err(message)) => {
                    m.fail(message);
                    Err(SlotError::Invalid)
                }
                // Counted and reported by the replica.
                Err(e) => Err(SlotError::Failed(e.kind)),
            }
        });
        entered.unwrap_or_else(|Refused| {
            self.refuse();
            Err(SlotError::Busy)
        })
    }

    /// The replica for the CPU this runs on. The CPU may change right after
    /// (in process context); that costs only contention, as each replica
    /// has its own lock.
    fn current(&self) -> &LockedReplica {
        let cpu = kernel::cpu::CpuId::current().as_u32();
        let n = self.cpus.iter().position(|&c| c == cpu).unwrap_or(0);
        // The invariant keeps `replicas` non-empty and as long as `cpus`.
        &self.replicas[n]
    }

    /// Runs a full garbage collection in every replica.
    pub(crate) fn collect(&self) {
        for replica in self.replicas.iter() {
            replica.with(|m| m.collect());
        }
    }

    /// Operations waiting in the deferred queues of the replicas
    /// (states/replica/deferred.rs), summed: work packet callbacks asked
    /// for, which the next chunk the control plane runs does.
    pub(crate) fn deferred(&self) -> usize {
        self.replicas.iter().map(|r| r.with(|m| m.deferred())).sum()
    }

    /// The state's statistics, summed over its replicas.
    pub(crate) fn stats(&self) -> Stats {
        let mut stats = Stats::ZERO;
        stats.errors = self.refused.load(Relaxed);
        for replica in self.replicas.iter() {
            let m = replica.with(|m| m.stats());
            stats.add(&m);
        }
        stats
    }
}

impl Owner for State {
    fn callback(
        &self,
        id: i64,
        args: &[Arg<'_>],
        read: &mut dyn FnMut(&Results<'_>) -> Result<(), &'static [u8]>,
    ) -> Result<(), CallbackError> {
        let LockedReplica::Softirq(softirq) = self.current() else {
            // Libraries give the packet path softirq states only; never
            // reached.
            self.refuse();
            return Err(CallbackError::Refused);
        };
        self.enter_packet(softirq, Callee::Callback(id), args, |r| read(r))
            .map_err(|e| match e {
                SlotError::Busy => CallbackError::Refused,
                // `Empty` is for slots only.
                SlotError::Empty | SlotError::Failed(_) | SlotError::Invalid => {
                    CallbackError::Failed
                }
            })
    }

    fn refuse(&self) {
        self.refused.add(1, Relaxed);
    }
}

impl Drop for State {
    fn drop(&mut self) {
        // Resources point into the state: unpublish them, wait once for
        // the entries still inside them, then drop them, before the
        // replicas go.
        let mut resources = core::mem::take(&mut *self.resources.lock());
        if resources.is_empty() {
            return;
        }
        resources.iter_mut().for_each(|r| r.unpublish());
        // Process context (states are destroyed there); waits for every
        // RCU reader, hence every packet inside a resource.
        kernel::sync::rcu::synchronize_rcu();
        drop(resources);
    }
}
