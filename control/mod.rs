// SPDX-License-Identifier: GPL-2.0

//! The control plane: the handlers of the `LUNATIK` generic netlink family
//! (docs/architecture.md, "Control plane") and the module's set of
//! states behind them.
//!
//! The generated ops table (`netlink/lunatik-nl-gen.c`) calls the
//! `lunatik_nl_*` functions below after genetlink has checked
//! `CAP_NET_ADMIN` and validated every attribute against the op's policy
//! (strictly: unknown or repeated-where-single attributes are refused
//! there). What the policy cannot express (a state name's characters, the
//! total source size, a softirq state's budget) is checked here, with an
//! extack message naming the problem; a refused request changes nothing.

/// The `events` multicast group (the crate root hands its sender to
/// every state).
pub(crate) mod events;
/// The family and safe netlink views.
mod genl;

use crate::control::genl::dump::Dump;
use crate::control::genl::message::{Nest, Put};
use crate::control::genl::request::Request;
use crate::glue::net::{NetRef, Pernet, PernetOps};
use crate::states::library::{Loaded, Runtime};
use crate::states::replica::{Description, RunError};
use crate::states::registry::Registry;
use crate::states::state::{Config, Context, State};
use crate::uapi::name::{Name, NameError};
use crate::uapi::protocol::{self, attr, cmd, context, stats};
use core::ffi::{c_int, CStr};
use kernel::alloc::{flags::GFP_KERNEL, KVVec};
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::{Acquire, Atomic, Release};
use kernel::sync::Arc;

/// What the handlers and the pernet hooks share while [`Control`] lives:
/// the module's states and the runtime new states are made with.
struct Shared {
    registry: Registry,
    runtime: &'static Runtime,
}

/// [`Shared`], published while [`Control`] lives.
static SHARED: Atomic<*mut Shared> = Atomic::new(core::ptr::null_mut());

/// What the handlers share.
fn shared() -> Result<&'static Shared> {
    let p = SHARED.load(Acquire);
    if p.is_null() {
        return Err(ENODEV);
    }
    // SAFETY: a non-null `SHARED` points to the value owned by the live
    // `Control`, which unregisters the family and the pernet subsystem
    // (the only callers) before it clears and frees it.
    Ok(unsafe { &*p })
}

/// The module's states.
fn registry() -> Result<&'static Registry> {
    shared().map(|s| &s.registry)
}

/// The control plane: the states, the pernet subsystem that destroys a
/// namespace's states with it, the family, and the libraries' module-wide
/// state. Dropping it (module unload) unregisters the family, then
/// destroys every state, then unloads the libraries.
pub(crate) struct Control {
    // Fields drop in declaration order: no request arrives once the family
    // is gone, then the pernet exit destroys every namespace's states and
    // runs the libraries' per-namespace exits, then the registry goes,
    // then the libraries' exits run (rcu's waits for the entries still
    // queued for freeing).
    _family: crate::control::genl::family::Registration,
    _pernet: Pernet<Namespaces>,
    _shared: Published,
    _libraries: Loaded,
}

impl Control {
    /// Loads the libraries of `runtime`, creates the registry and
    /// registers the pernet subsystem and the family, in that order
    /// (undone in reverse on failure).
    pub(crate) fn new(runtime: &'static Runtime) -> Result<Self> {
        let libraries = Loaded::new(runtime)?;
        let shared = Published::new(runtime)?;
        let pernet = Pernet::register()?;
        let family = crate::control::genl::family::Registration::new()?;
        Ok(Self {
            _family: family,
            _pernet: pernet,
            _shared: shared,
            _libraries: libraries,
        })
    }
}

/// [`Shared`], published in [`SHARED`] while this lives.
///
/// # Invariants
///
/// `SHARED` holds the pointer of a value leaked from a `KBox` by `new`,
/// freed only by `drop`.
struct Published(());

impl Published {
    fn new(runtime: &'static Runtime) -> Result<Self> {
        let shared = KBox::leak(KBox::new(
            Shared {
                registry: Registry::new()?,
                runtime,
            },
            GFP_KERNEL,
        )?);
        // INVARIANT: published once, from the leaked box.
        SHARED.store(shared, Release);
        Ok(Self(()))
    }
}

impl Drop for Published {
    fn drop(&mut self) {
        let p = SHARED.xchg(core::ptr::null_mut(), Acquire);
        if !p.is_null() {
            // SAFETY: `p` came from `KBox::leak` in `new` (type invariant);
            // its other users, the family and the pernet subsystem, are
            // unregistered before this drops.
            let shared = unsafe { KBox::from_raw(p) };
            shared.registry.clear();
        }
    }
}

/// The control plane's pernet hooks: a namespace gets what each library
/// keeps for it; when it goes away its states are destroyed, then the
/// libraries drop what they kept.
struct Namespaces;

impl PernetOps for Namespaces {
    fn init(net: NetRef) -> Result {
        shared()?.runtime.net_init(net)
    }

    fn exit(net: NetRef) {
        let Ok(shared) = shared() else { return };
        let gone = shared.registry.remove_net(net);
        if !gone.is_empty() {
            pr_info!(
                "destroyed {} states of a network namespace going away\n",
                gone.len()
            );
        }
        drop(gone);
        shared.runtime.net_exit(net);
    }
}

/// A handler's result as the errno genetlink expects.
fn errno(r: Result) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The request's state name, validated.
fn state_name(req: &Request) -> Result<Name> {
    let mut ack = req.ack();
    let Some(raw) = req.attr(attr::NAME) else {
        ack.missing(attr::NAME, c"missing state name");
        return Err(EINVAL);
    };
    Name::new(protocol::get_str(raw)).map_err(|e| {
        ack.message(match e {
            NameError::Empty => c"empty state name",
            NameError::TooLong => c"state name longer than 63 bytes",
            NameError::BadByte(_) => c"state name has a byte outside [A-Za-z0-9_./:-]",
        });
        EINVAL
    })
}

/// The state `name` of the request's namespace.
fn find(req: &Request, name: &Name) -> Result<Arc<State>> {
    registry()?.get_in(req.net(), name).ok_or_else(|| {
        req.ack().message(c"no such state");
        ENOENT
    })
}

/// An `NLA_UINT` attribute of the request that must fit a `usize`.
fn uint(req: &Request, ty: u16) -> Result<Option<u64>> {
    match req.attr(ty) {
        None => Ok(None),
        // The policy admits only 4- or 8-byte payloads.
        Some(p) => protocol::get_uint(p).map(Some).ok_or(EINVAL),
    }
}

fn new(req: &Request) -> Result {
    let name = state_name(req)?;
    let mut ack = req.ack();
    let ctx = match req.attr(attr::CONTEXT).and_then(protocol::get_u32) {
        None | Some(context::PROCESS) => Context::Process,
        Some(context::SOFTIRQ) => Context::Softirq,
        // The policy bounds the value; this is defence in depth.
        Some(_) => {
            ack.message(c"unknown context");
            return Err(EINVAL);
        }
    };
    let mut config = Config::new(name, ctx, shared()?.runtime);
    config.net = req.net();
    if let Some(m) = uint(req, attr::MEMORY)? {
        config.memory = usize::try_from(m).map_err(|_| EINVAL)?;
    }
    if let Some(b) = uint(req, attr::BUDGET)? {
        config.budget = b;
    }
    config.percpu = req.attr(attr::PERCPU).is_some();
    config.unlimited = req.attr(attr::UNLIMITED).is_some();
    if config.validate().is_err() {
        ack.message(match ctx {
            Context::Softirq if config.memory == 0 => {
                c"softirq states need a memory cap (0 would mean none)"
            }
            Context::Softirq => c"softirq states need a budget of 1 to 10000000 instructions",
            Context::Process => {
                c"a memory or budget of 0 removes the limit: ask for it with the unlimited flag"
            }
        });
        return Err(EINVAL);
    }
    match registry()?.create(config) {
        Ok(_) => Ok(()),
        Err(e) if e == EEXIST => {
            ack.message(c"a state of that name exists in this namespace");
            Err(e)
        }
        Err(e) if e == ENOMEM => {
            ack.message(c"not enough memory for the state (is the memory cap too small?)");
            Err(e)
        }
        Err(e) => Err(e),
    }
}

fn del(req: &Request) -> Result {
    let name = state_name(req)?;
    let state = registry()?.remove_in(req.net(), &name).inspect_err(|_| {
        req.ack().message(c"no such state");
    })?;
    // The replicas close here, outside the registry's lock, unless a request
    // in flight still holds the state; then they close when it is done.
    drop(state);
    Ok(())
}

/// Writes a state's description: its configuration and statistics.
fn describe(m: &mut impl Put, s: &State) -> Result {
    let c = s.config();
    m.put_str(attr::NAME, s.name().as_bytes())?;
    m.put_u32(
        attr::CONTEXT,
        match c.context {
            Context::Process => context::PROCESS,
            Context::Softirq => context::SOFTIRQ,
        },
    )?;
    m.put_uint(attr::MEMORY, c.memory as u64)?;
    m.put_uint(attr::BUDGET, c.budget)?;
    if c.percpu {
        m.put_flag(attr::PERCPU)?;
    }
    let st = s.stats();
    let replicas = u32::try_from(s.replicas()).unwrap_or(u32::MAX);
    m.put_nest(attr::STATS, |n| {
        n.put_u32(stats::REPLICAS, replicas)?;
        n.put_uint(stats::MEMORY_USED, st.memory_used as u64)?;
        n.put_uint(stats::MEMORY_PEAK, st.memory_peak as u64)?;
        n.put_uint(stats::CALLS, st.calls)?;
        n.put_uint(stats::ERRORS, st.errors)?;
        n.put_uint(stats::BUDGET_KILLS, st.budget_kills)?;
        n.put_uint(stats::ALLOC_FAILURES, st.alloc_failures)?;
        n.put_uint(stats::LONGEST_ENTRY_NS, st.longest_entry_ns)?;
        n.put_str(stats::LAST_ERROR, st.last_error())
    })?;
    s.attachments(|d| m.put_nest(attr::ATTACHMENT, |n| attachment(n, d)))
}

/// Writes one resource of a state (docs/control.md, "Attachments").
fn attachment(n: &mut Nest, d: &Description) -> Result {
    n.put_u32(protocol::attachment::KIND, d.kind)?;
    if let Some(family) = d.family {
        n.put_u32(protocol::attachment::FAMILY, family)?;
    }
    if let Some(hooknum) = d.hooknum {
        n.put_u32(protocol::attachment::HOOKNUM, hooknum)?;
    }
    if let Some(priority) = d.priority {
        n.put_bytes(protocol::attachment::PRIORITY, &priority.to_ne_bytes())?;
    }
    if let Some(device) = &d.device {
        let len = device.iter().position(|&b| b == 0).unwrap_or(device.len());
        n.put_str(protocol::attachment::DEVICE, &device[..len])?;
    }
    if d.device_gone {
        n.put_flag(protocol::attachment::DEVICE_GONE)?;
    }
    Ok(())
}

fn get(req: &Request) -> Result {
    let name = state_name(req)?;
    let state = find(req, &name)?;
    let mut m = req.reply(cmd::GET, bindings::GENLMSG_DEFAULT_SIZE)?;
    describe(&mut m, &state)?;
    req.send(m)
}

/// `NS_GET`: each library's figures of the request's namespace, one nest
/// each (`Library::net_stats`; the rcu tables' use against the quota).
fn ns_get(req: &Request) -> Result {
    // The op takes no attribute. Genetlink's strict parse already refuses
    // any (the op has no policy, so every type is unknown); this checks
    // again rather than rely on how a missing policy is treated.
    if !req.attrs().is_empty() {
        req.ack().message(c"ns-get takes no attributes");
        return Err(EINVAL);
    }
    let runtime = shared()?.runtime;
    let size = runtime
        .net_stats()
        .map(|s| protocol::nla_total(0) + s.size)
        .sum();
    let mut m = req.reply(cmd::NS_GET, size)?;
    let net = req.net();
    for s in runtime.net_stats() {
        m.put_nest(s.attr, |n| (s.put)(net, n))?;
    }
    req.send(m)
}

/// A library writes its `NS_GET` figures into a nest of the reply. (Not
/// imported, so that `put_uint` on a nest stays `Put`'s here.)
impl crate::states::library::Figures for Nest {
    fn put_uint(&mut self, ty: u16, value: u64) -> Result {
        Put::put_uint(self, ty, value)
    }
}

/// Fills one buffer of a dump of the namespace's states; returns the
/// bytes written (0 when the dump is complete).
fn dump(d: &mut Dump) -> Result<c_int> {
    let registry = registry()?;
    let net = d.net();
    let mut i = usize::try_from(d.cursor()).unwrap_or(usize::MAX);
    let mut written = false;
    while let Some(state) = registry.nth_in(net, i) {
        let Some(mut m) = d.message(cmd::GET) else {
            break;
        };
        if describe(&mut m, &state).is_err() {
            // Dropping `m` trims the partial message; the next buffer
            // starts with this state.
            break;
        }
        m.end();
        written = true;
        i += 1;
    }
    let more = registry.nth_in(net, i).is_some();
    if more && !written {
        // One description does not fit an empty buffer: cannot happen
        // with names and last errors this short, but never loop on it.
        return Err(EMSGSIZE);
    }
    d.set_cursor(i as u64);
    Ok(d.len())
}

/// Most bytes of values in one run reply; values past it are left out.
const REPLY_MAX: usize = 1 << 20;

fn run(req: &Request) -> Result {
    let name = state_name(req)?;
    let mut ack = req.ack();
    let (mut total, mut pieces) = (0usize, 0usize);
    for (_, p) in req.attrs().filter(|&(t, _)| t == attr::SOURCE) {
        total += p.len();
        pieces += 1;
    }
    if pieces == 0 {
        ack.missing(attr::SOURCE, c"missing source");
        return Err(EINVAL);
    }
    if total > protocol::SOURCE_MAX {
        ack.message_fmt(format_args!(
            "source too large: {} bytes, the limit is {}",
            total,
            protocol::SOURCE_MAX
        ));
        return Err(EFBIG);
    }
    let state = find(req, &name)?;
    let chunkname = match req.attr(attr::CHUNK_NAME) {
        // The policy guarantees the NUL.
        Some(p) => CStr::from_bytes_until_nul(p).map_err(|_| EINVAL)?,
        None => c"=run",
    };
    let mut source = KVVec::with_capacity(total, GFP_KERNEL)?;
    for (_, p) in req.attrs().filter(|&(t, _)| t == attr::SOURCE) {
        source.extend_from_slice(p, GFP_KERNEL)?;
    }
    let limit = crate::states::state::ResultLimit {
        value: protocol::VALUE_MAX,
        total: REPLY_MAX,
    };
    let outcome = state.run(&source, chunkname, limit);
    drop(source);
    match outcome {
        Ok(values) => {
            let mut size = 0;
            let mut n = 0;
            for v in values.iter() {
                let s = protocol::nla_total(v.len().min(protocol::VALUE_MAX) + 1);
                if size + s > REPLY_MAX {
                    break;
                }
                size += s;
                n += 1;
            }
            let mut m = req.reply(cmd::RUN, size)?;
            for v in values.iter().take(n) {
                m.put_str(attr::VALUE, &v[..v.len().min(protocol::VALUE_MAX)])?;
            }
            req.send(m)
        }
        Err(RunError { kind, message }) => {
            let text = &message[..message.len().min(protocol::VALUE_MAX)];
            let mut m = req.reply(
                cmd::RUN,
                protocol::nla_total(text.len() + 1) + protocol::nla_total(4),
            )?;
            m.put_str(attr::ERROR, text)?;
            m.put_u32(attr::ERROR_KIND, kind.protocol())?;
            req.send(m)
        }
    }
}

/// Runs `f` on the request genetlink passed to a `doit` handler.
///
/// # Safety
///
/// `info` must be the live `genl_info` of a request of this family.
unsafe fn doit(info: *mut bindings::genl_info, f: fn(&Request) -> Result) -> c_int {
    // SAFETY: by the function's contract.
    match unsafe { Request::from_raw(info) } {
        Some(req) => errno(f(&req)),
        None => EINVAL.to_errno(),
    }
}

/// Defines the `doit` entry points the generated ops table
/// (netlink/lunatik-nl-gen.h) names, one per handler: each runs its
/// handler on the request through [`doit`].
macro_rules! doit_handlers {
    ($($(#[doc = $doc:literal])* $name:ident => $handler:ident;)*) => {$(
        $(#[doc = $doc])*
        ///
        /// # Safety
        ///
        /// Called by genetlink only, with the live request.
        #[no_mangle]
        pub(crate) unsafe extern "C" fn $name(
            _skb: *mut bindings::sk_buff,
            info: *mut bindings::genl_info,
        ) -> c_int {
            // SAFETY: genetlink passes the live request.
            unsafe { doit(info, $handler) }
        }
    )*};
}

doit_handlers! {
    /// `LUNATIK_CMD_NEW`.
    lunatik_nl_new_doit => new;
    /// `LUNATIK_CMD_DEL`.
    lunatik_nl_del_doit => del;
    /// `LUNATIK_CMD_GET` for one state.
    lunatik_nl_get_doit => get;
    /// `LUNATIK_CMD_RUN`.
    lunatik_nl_run_doit => run;
    /// `LUNATIK_CMD_NS_GET`.
    lunatik_nl_ns_get_doit => ns_get;
}

/// `LUNATIK_CMD_GET` as a dump of the namespace's states.
///
/// # Safety
///
/// Called by genetlink only, with the live dump buffer and callback.
#[no_mangle]
pub(crate) unsafe extern "C" fn lunatik_nl_get_dumpit(
    skb: *mut bindings::sk_buff,
    cb: *mut bindings::netlink_callback,
) -> c_int {
    // SAFETY: genetlink passes the live dump.
    let Some(mut d) = (unsafe { Dump::from_raw(skb, cb) }) else {
        return EINVAL.to_errno();
    };
    match dump(&mut d) {
        Ok(n) => n,
        Err(e) => e.to_errno(),
    }
}
