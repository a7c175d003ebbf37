// SPDX-License-Identifier: GPL-2.0

//! lunatik-rs: Lua scripting inside the Linux kernel.
//!
//! This is the crate root of `lunatik.ko`. The module is one Rust crate plus
//! Lua compiled freestanding and a few small C shims (see `rust/shim.h`) for
//! what Rust cannot reach from `kernel::bindings`; Kbuild links them into
//! one object.
//!
//! The `lua/` files, `rust/name.rs` and `luarcu/{quota,siphash}.rs` are
//! `core`-only and shared with host crates, where their items are public;
//! here they are private modules, hence the `unreachable_pub` allowances.

#![allow(non_snake_case)] // `L` is Lua's name for a state, kept as-is.

use kernel::prelude::*;

#[path = "../lua/account.rs"]
#[allow(unreachable_pub, dead_code)]
mod account;
mod bh_lock;
#[path = "../lua/byteorder.rs"]
#[allow(unreachable_pub, dead_code)]
mod byteorder;
mod control;
mod cpu;
#[path = "../luadata/data.rs"]
#[allow(unreachable_pub, dead_code)]
mod data;
#[path = "../luadata/library.rs"]
mod data_library;
mod events;
#[path = "../lua/ffi.rs"]
#[allow(unreachable_pub, dead_code)]
mod ffi;
#[path = "genl/family.rs"]
mod genl;
#[path = "genl/dump.rs"]
mod genl_dump;
#[path = "genl/message.rs"]
mod genl_message;
#[path = "genl/request.rs"]
mod genl_request;
mod kalloc;
mod library;
#[path = "../lualinux/linux.rs"]
mod linux;
#[path = "../lualinux/kernel.rs"]
mod linux_kernel;
#[path = "../lua/lua.rs"]
#[allow(unreachable_pub, dead_code)]
mod lua;
mod machine;
#[path = "../lua/mathlib.rs"]
#[allow(unreachable_pub, dead_code)]
mod mathlib;
#[allow(unreachable_pub, dead_code)]
mod name;
mod net;
#[path = "../luanetfilter/netfilter.rs"]
mod netfilter;
#[path = "../luanetfilter/constants.rs"]
mod nf_constants;
#[path = "../luanetfilter/device.rs"]
mod nf_device;
#[path = "../luanetfilter/hook.rs"]
mod nf_hook;
#[path = "../luanetfilter/write.rs"]
mod nf_write;
#[allow(unreachable_pub, dead_code)]
mod protocol;
mod random;
#[allow(unreachable_pub, dead_code)]
mod ratelimit;
#[path = "../luarcu/rcu.rs"]
mod rcu;
#[path = "../luarcu/pool.rs"]
mod rcu_pool;
#[path = "../luarcu/quota.rs"]
#[allow(unreachable_pub, dead_code)]
mod rcu_quota;
#[path = "../luarcu/siphash.rs"]
#[allow(unreachable_pub, dead_code)]
mod rcu_siphash;
#[path = "../luarcu/space.rs"]
mod rcu_space;
#[path = "../luarcu/table.rs"]
mod rcu_table;
mod registry;
mod script;
#[path = "../luanetfilter/skb.rs"]
#[allow(unreachable_pub, dead_code)]
mod skb;
mod softirq_index;
mod softirq_vm;
mod state;
#[path = "../luaxdp/xdp.rs"]
mod xdp;
#[path = "../luaxdp/run.rs"]
mod xdp_run;
#[path = "../lua/vm.rs"]
#[allow(unreachable_pub, dead_code)]
mod vm;
#[path = "../lua/vm/call.rs"]
#[allow(unreachable_pub, dead_code)]
mod vm_call;
#[path = "../lua/vm/run.rs"]
#[allow(unreachable_pub, dead_code)]
mod vm_run;
#[path = "../lua/vm/require.rs"]
#[allow(unreachable_pub, dead_code)]
mod vm_require;
#[path = "../lua/vm/sandbox.rs"]
#[allow(unreachable_pub, dead_code)]
mod vm_sandbox;

#[cfg(CONFIG_KUNIT)]
mod bench;
#[cfg(CONFIG_KUNIT)]
mod state_tests;

/// The module's libraries, beside `byteorder`, which lua/vm.rs opens
/// itself. Adding a library is one folder and one line here
/// (docs/architecture.md, "The library registry").
static LIBRARIES: &[&library::Library] = &[
    &data_library::LIBRARY,
    &linux::LIBRARY,
    &rcu::LIBRARY,
    &netfilter::LIBRARY,
    &xdp::LIBRARY,
];

/// What every state is made with: the libraries, the `events` group its
/// `print` and failures go to, and the script files `require` reads.
pub(crate) static RUNTIME: library::Runtime = library::Runtime {
    libraries: LIBRARIES,
    events: events::send,
    files: Some(script::load),
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
        pr_info!("loaded ({} possible CPUs)\n", cpu::possible_cpus());
        Ok(Lunatik { _control: control })
    }
}

impl Drop for Lunatik {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
