// SPDX-License-Identifier: GPL-2.0

//! CPU topology queries and scheduling helpers that `kernel::bindings`
//! does not expose.
//!
//! `num_possible_cpus()` is a C macro over the possible-CPU mask, so it has
//! no symbol Rust could call; the C shim in `glue/cpu.c` turns it into one.

mod ffi {
    // Mirrors glue/cpu.h; keep the two in step.
    extern "C" {
        pub(super) fn lunatik_num_possible_cpus() -> core::ffi::c_uint;
        pub(super) fn lunatik_cpu_possible(cpu: core::ffi::c_uint) -> bool;
        pub(super) fn lunatik_cond_resched();
    }
}

/// Number of CPUs that can ever be online on this machine.
///
/// Per-CPU Lua replicas are allocated for each of them.
pub(crate) fn possible_cpus() -> u32 {
    // SAFETY: the shim only reads the possible-CPU mask, which is fixed after
    // boot; it takes no arguments and is callable from any context.
    unsafe { ffi::lunatik_num_possible_cpus() }
}

/// The ids of the possible CPUs, in increasing order.
pub(crate) fn possible() -> impl Iterator<Item = u32> {
    // SAFETY: the shim only reads the possible-CPU mask (fixed after boot)
    // and checks `cpu` against `nr_cpu_ids` first.
    (0..kernel::cpu::nr_cpu_ids()).filter(|&cpu| unsafe { ffi::lunatik_cpu_possible(cpu) })
}

/// Lets other tasks run if this one has used its share (`cond_resched()`,
/// a macro in C).
///
/// # Safety
///
/// The caller may sleep: process context, no spinlock held, not inside an
/// RCU read-side critical section.
pub(crate) unsafe fn cond_resched() {
    // SAFETY: the caller may sleep (the contract: process context, no
    // spinlock held, outside any RCU read-side section), which is all the
    // C `cond_resched()` needs.
    unsafe { ffi::lunatik_cond_resched() }
}
