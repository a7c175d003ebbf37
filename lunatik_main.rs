// SPDX-License-Identifier: GPL-2.0

//! lunatik-rs: Lua scripting inside the Linux kernel.
//!
//! This is the crate root of `lunatik.ko`. The module is one Rust crate plus
//! Lua compiled freestanding and a few small C shims, each declared in the
//! header beside it, for what Rust cannot reach from `kernel::bindings`;
//! Kbuild links them into one object (Kbuild, and the Kbuild.frag of each
//! folder with C in it).
//!
//! The crate root sits at the top of the repository so that every
//! subsystem is a folder with its `mod.rs`, and the module tree below is
//! the folder tree, with no `#[path]`. The subsystems are listed by layer,
//! lowest first: a module imports only from its own layer and those below,
//! and no modules import each other in a circle (docs/architecture.md,
//! "Layers"). scripts/check-layers.sh reads the layers from the `// Layer`
//! lines below and the files from this tree.

#![allow(non_snake_case)] // `L` is Lua's name for a state, kept as-is.

use kernel::prelude::*;
use states::library::{Library, Runtime};

// Layer 0, the Lua core. Its files and uapi/'s are `core`-only and
// shared with host crates, where their items are public; here they are
// private to the crate, hence the `unreachable_pub` allowances.
#[allow(unreachable_pub, dead_code)]
mod lua;
#[allow(unreachable_pub, dead_code)]
mod uapi;

// Layer 1, kernel glue.
mod glue;

// Layer 2, states.
mod states;

// Layer 3, libraries: one folder each, exporting its LIBRARY.
mod luadata;
mod lualinux;
mod luanetfilter;
mod luarcu;
mod luaset;
mod luaxdp;

// Layer 4, control plane.
mod control;

// Layer 5, module root: this file and the KUnit tests and benchmarks.
#[cfg(CONFIG_KUNIT)]
mod kunit;

/// The module's libraries, beside `byteorder`, which lua/interp/require.rs
/// opens itself. Adding a library is one folder, its `mod` line above and
/// one line here (docs/architecture.md, "The library registry").
static LIBRARIES: &[&Library] = &[
    &luadata::LIBRARY,
    &lualinux::LIBRARY,
    &luarcu::LIBRARY,
    &luaset::LIBRARY,
    &luanetfilter::LIBRARY,
    &luaxdp::LIBRARY,
];

/// What every state is made with: the libraries, the `events` group its
/// `print` and failures go to, and the script files `require` reads.
pub(crate) static RUNTIME: Runtime = Runtime {
    libraries: LIBRARIES,
    events: control::events::send,
    files: Some(states::script::load),
};

module! {
    type: Lunatik,
    name: "lunatik",
    authors: ["lunatik-rs developers"],
    description: "Lua scripting inside the Linux kernel",
    license: "GPL",
}

/// The module's lifetime: created on load, dropped on unload.
struct Lunatik {
    /// The control plane and every state; dropping it on unload
    /// unregisters the family and destroys the states.
    _control: control::Control,
}

impl kernel::Module for Lunatik {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let control = control::Control::new(&RUNTIME)?;
        pr_info!("loaded ({} possible CPUs)\n", glue::cpu::possible_cpus());
        Ok(Lunatik { _control: control })
    }
}

impl Drop for Lunatik {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
