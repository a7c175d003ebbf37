// SPDX-License-Identifier: GPL-2.0

//! lunatik-rs: Lua scripting inside the Linux kernel.
//!
//! This is the crate root of `lunatik.ko`. The module is one Rust crate plus a
//! few small C shims (see `rust/shim.h`) for what Rust cannot reach from
//! `kernel::bindings`; Kbuild links them into one object.

use kernel::prelude::*;

mod cpu;

module! {
    type: Lunatik,
    name: "lunatik",
    authors: ["lunatik-rs developers"],
    description: "Lua scripting inside the Linux kernel",
    license: "GPL",
}

/// The module's lifetime: created on load, dropped on unload.
struct Lunatik;

impl kernel::Module for Lunatik {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("loaded ({} possible CPUs)\n", cpu::possible_cpus());
        Ok(Lunatik)
    }
}

impl Drop for Lunatik {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
