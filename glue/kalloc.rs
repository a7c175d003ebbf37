// SPDX-License-Identifier: GPL-2.0

//! Kernel memory for Lua interpreters.
//!
//! Lua asks for blocks of any size, from a few bytes (strings) to megabytes
//! (big tables). A `process` state's blocks come from `kvmalloc`: slab
//! memory for small ones, vmalloc past what the slab can give. A `softirq`
//! state's come from `kmalloc` with `GFP_ATOMIC` only, up to the largest
//! block the page allocator gives (4 MiB on x86_64): vmalloc takes locks
//! that are not softirq-safe (`free_vmap_area_lock`), and the state's own
//! lock is taken in softirq context, so a vmalloc under it is a potential
//! deadlock that lockdep reports. The accounting and the cap live in
//! [`crate::lua::account`]; this is only the raw memory under it.

use crate::lua::account::RawAlloc;
use core::{alloc::Layout, ffi::c_void, ptr::NonNull};
use kernel::alloc::{
    allocator::{KVmalloc, Kmalloc},
    flags::{__GFP_NOWARN, GFP_ATOMIC, GFP_KERNEL},
    Allocator, NumaNode,
};

/// Alignment of every block: `LUAI_MAXALIGN` on x86_64 (an 8-byte
/// integer, pointer or double).
const LUA_ALIGN: usize = 8;

/// `kmalloc` memory with `GFP_ATOMIC` for states entered where sleeping is
/// not allowed, `kvmalloc` memory with `GFP_KERNEL` otherwise; a state is
/// one or the other from its first block to its last. Failures are silent
/// (`__GFP_NOWARN`): a script running out of memory is the script's
/// problem, reported to it as Lua's "not enough memory", not a kernel
/// event. `kvfree` frees either kind.
pub(crate) struct KernelAlloc;

fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size, LUA_ALIGN).ok()
}

impl RawAlloc for KernelAlloc {
    unsafe fn resize(ptr: *mut c_void, old: usize, new: usize, atomic: bool) -> *mut c_void {
        let (Some(new_layout), Some(old_layout)) = (layout(new), layout(old)) else {
            return core::ptr::null_mut();
        };
        let ptr = NonNull::new(ptr.cast());
        // SAFETY: by the trait contract `ptr` is null or a live block of
        // `old` bytes that this allocator made with the same alignment, and
        // with the same `atomic` (a state's context never changes): a
        // kmalloc block for an atomic state, a kvmalloc one otherwise.
        let block = unsafe {
            if atomic {
                Kmalloc::realloc(
                    ptr,
                    new_layout,
                    old_layout,
                    GFP_ATOMIC | __GFP_NOWARN,
                    NumaNode::NO_NODE,
                )
            } else {
                KVmalloc::realloc(
                    ptr,
                    new_layout,
                    old_layout,
                    GFP_KERNEL | __GFP_NOWARN,
                    NumaNode::NO_NODE,
                )
            }
        };
        block.map_or(core::ptr::null_mut(), |b| b.as_ptr().cast())
    }

    unsafe fn free(ptr: *mut c_void, old: usize) {
        let (Some(p), Some(old_layout)) = (NonNull::new(ptr.cast::<u8>()), layout(old)) else {
            return;
        };
        // SAFETY: by the trait contract `p` is a live block of `old` bytes
        // made by this allocator, never used again; `kvfree` (behind
        // KVmalloc::free) frees kmalloc and vmalloc blocks alike.
        unsafe { KVmalloc::free(p, old_layout) }
    }
}
