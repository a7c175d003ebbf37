// SPDX-License-Identifier: GPL-2.0

//! The library registry (docs/architecture.md, "The library registry"):
//! what a library of the module is, and the [`Runtime`] a state is made
//! with, which carries the module's list of libraries and its `events`
//! sender down to the replica without the replica importing either.
//!
//! A library is one folder (`lualinux/`, `luanetfilter/`, `luarcu/`, ...)
//! that exports one `static` [`Library`]; the module root
//! (lunatik_main.rs) lists them. Nothing below the root names a
//! library: `require` asks the runtime ([`interp::Modules`]), the control plane
//! calls the libraries' `init`/`exit` and per-namespace hooks through
//! [`Loaded`] and [`Runtime::net_init`]/[`Runtime::net_exit`], and asks
//! them for their figures of a namespace through [`Runtime::net_stats`].

use crate::glue::net::NetRef;
use crate::lua::interp;
use crate::uapi::name::Name;
use kernel::prelude::*;

/// A library of the module: the Lua modules it gives `require`, and what
/// it keeps for the module and for each network namespace.
pub(crate) struct Library {
    /// Its name, for the log.
    pub(crate) name: &'static str,
    /// The Lua modules it gives `require`, by name.
    pub(crate) modules: &'static [interp::Library],
    /// Sets up the library's module-wide state on load, before any
    /// namespace or state exists.
    pub(crate) init: Option<fn() -> Result>,
    /// Tears it down on unload, after every state and namespace is gone.
    pub(crate) exit: Option<fn()>,
    /// Gives a namespace what the library keeps for it, as the namespace
    /// is made (and for every namespace when the module loads).
    pub(crate) net_init: Option<fn(NetRef) -> Result>,
    /// Drops that, when the namespace goes away, after its states are
    /// destroyed.
    pub(crate) net_exit: Option<fn(NetRef)>,
    /// What it reports of a namespace in the control plane's `NS_GET`.
    pub(crate) net_stats: Option<NetStats>,
}

/// A library's figures of a namespace, as the control plane's `NS_GET`
/// reply carries them: one nest of the reply, whose attributes the
/// library writes (docs/control.md). The attribute numbers are the
/// protocol's (uapi/protocol.rs), so the library, not the control plane,
/// says which it uses.
#[derive(Clone, Copy)]
pub(crate) struct NetStats {
    /// The nest's attribute type in the reply.
    pub(crate) attr: u16,
    /// Bytes the attributes `put` writes take at most, padding included
    /// (the nest's own header aside): the reply is sized from it.
    pub(crate) size: usize,
    /// Writes the figures of a namespace into the nest.
    pub(crate) put: fn(NetRef, &mut dyn Figures) -> Result,
}

/// Where a library writes its figures: the inside of a nest of a netlink
/// reply (the control plane implements it).
pub(crate) trait Figures {
    /// Puts an `NLA_UINT` attribute: 4 bytes when the value fits, else 8.
    fn put_uint(&mut self, ty: u16, value: u64) -> Result;
}

impl Library {
    /// A library with Lua modules only; fill in the hooks with
    /// `..Library::new(..)`.
    pub(crate) const fn new(name: &'static str, modules: &'static [interp::Library]) -> Self {
        Self {
            name,
            modules,
            init: None,
            exit: None,
            net_init: None,
            net_exit: None,
            net_stats: None,
        }
    }
}

/// Where a state's `print` and failed callbacks go besides the kernel log:
/// the state's namespace, its name, the message, the error kind (a
/// `protocol::error_kind` value) if it is an error, and whether sending
/// must not sleep. The control plane's `events` group in the module.
pub(crate) type Events = fn(NetRef, &Name, &[u8], Option<u32>, bool);

/// What the module root hands every state: its libraries and where its
/// events go. One `static` in lunatik_main.rs.
pub(crate) struct Runtime {
    /// The libraries, in the order their hooks run (and the reverse for
    /// the `exit`s).
    pub(crate) libraries: &'static [&'static Library],
    /// The events sender.
    pub(crate) events: Events,
    /// The loader of script files `require` reads (states/script.rs).
    pub(crate) files: Option<crate::lua::ffi::lua_CFunction>,
}

impl interp::Modules for Runtime {
    fn find(&self, name: &[u8]) -> Option<crate::lua::ffi::lua_CFunction> {
        self.libraries
            .iter()
            .flat_map(|lib| lib.modules.iter())
            .find(|(n, _)| n.to_bytes() == name)
            .map(|(_, open)| *open)
    }

    fn files(&self) -> Option<crate::lua::ffi::lua_CFunction> {
        self.files
    }
}

impl Runtime {
    /// Runs every library's `net_init` for `net`; if one fails, undoes
    /// those before it.
    pub(crate) fn net_init(&self, net: NetRef) -> Result {
        for (i, lib) in self.libraries.iter().enumerate() {
            if let Some(init) = lib.net_init {
                if let Err(e) = init(net) {
                    self.libraries[..i]
                        .iter()
                        .rev()
                        .filter_map(|l| l.net_exit)
                        .for_each(|exit| exit(net));
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// The libraries' figures of a namespace (for `NS_GET`), in the order
    /// of the libraries.
    pub(crate) fn net_stats(&self) -> impl Iterator<Item = &'static NetStats> + '_ {
        self.libraries
            .iter()
            .filter_map(|lib| lib.net_stats.as_ref())
    }

    /// Runs every library's `net_exit` for `net`, in reverse order.
    pub(crate) fn net_exit(&self, net: NetRef) {
        self.libraries
            .iter()
            .rev()
            .filter_map(|l| l.net_exit)
            .for_each(|exit| exit(net));
    }
}

/// The libraries' module-wide state, set up while this lives: made by
/// running every `init` in order, dropped by running the `exit`s in
/// reverse.
///
/// # Invariants
///
/// Every library of `runtime` with an `init` has run it
/// successfully.
pub(crate) struct Loaded(&'static Runtime);

impl Loaded {
    /// Runs every library's `init`; if one fails, undoes those before it.
    pub(crate) fn new(runtime: &'static Runtime) -> Result<Self> {
        for (i, lib) in runtime.libraries.iter().enumerate() {
            if let Some(init) = lib.init {
                if let Err(e) = init() {
                    pr_err!("library {} failed to load: {}\n", lib.name, e.to_errno());
                    runtime.libraries[..i]
                        .iter()
                        .rev()
                        .filter_map(|l| l.exit)
                        .for_each(|exit| exit());
                    return Err(e);
                }
            }
        }
        // INVARIANT: every `init` above succeeded.
        Ok(Self(runtime))
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        self.0
            .libraries
            .iter()
            .rev()
            .filter_map(|l| l.exit)
            .for_each(|exit| exit());
    }
}
