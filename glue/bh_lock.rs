// SPDX-License-Identifier: GPL-2.0

//! A spinlock that also disables bottom halves: the lock of `softirq` states.
//!
//! A `softirq` state is entered from the packet path (softirq context) and
//! from process context (the control plane). If process context held a
//! plain spinlock and a softirq on the same CPU tried to take it, the CPU
//! would deadlock; `spin_lock_bh` keeps softirqs off while the lock is held.
//! The kernel crate offers `SpinLock` and `SpinLockIrq` but no bh variant,
//! so this is a [`Backend`] over the C shims in `glue/lock.c`.

use kernel::{
    bindings,
    sync::lock::{Backend, Lock},
};

mod ffi {
    // Mirrors glue/lock.h; keep the two in step.
    extern "C" {
        pub(super) fn lunatik_spin_lock_bh(lock: *mut kernel::bindings::spinlock_t);
        pub(super) fn lunatik_spin_trylock_bh(lock: *mut kernel::bindings::spinlock_t) -> i32;
        pub(super) fn lunatik_spin_unlock_bh(lock: *mut kernel::bindings::spinlock_t);
        pub(super) fn lunatik_local_bh_disable();
        pub(super) fn lunatik_local_bh_enable();
    }
}

/// Bottom halves (and so preemption and migration) are off on this CPU
/// while this guard lives.
pub(crate) struct BhGuard(());

impl BhGuard {
    /// Disables bottom halves on this CPU until the guard is dropped.
    pub(crate) fn new() -> Self {
        // SAFETY: callable from process and softirq context; balanced by
        // `Drop`, on the same CPU since migration is off meanwhile.
        unsafe { ffi::lunatik_local_bh_disable() };
        BhGuard(())
    }
}

impl Drop for BhGuard {
    fn drop(&mut self) {
        // SAFETY: balances the disable of `new`.
        unsafe { ffi::lunatik_local_bh_enable() };
    }
}

/// Creates a [`SpinLockBh`] initialiser with a new lock class.
macro_rules! new_spinlock_bh {
    ($inner:expr, $name:literal) => {
        kernel::sync::lock::Lock::<_, $crate::glue::bh_lock::SpinLockBhBackend>::new(
            $inner,
            $name,
            kernel::static_lock_class!(),
        )
    };
}
pub(crate) use new_spinlock_bh;

/// A spinlock taken with bottom halves disabled.
pub(crate) type SpinLockBh<T> = Lock<T, SpinLockBhBackend>;

/// The `spinlock_t` backend locked with `spin_lock_bh`.
pub(crate) struct SpinLockBhBackend;

// SAFETY: `spin_lock_bh` gives the same mutual exclusion as `spin_lock` (it
// is `spin_lock` with bottom halves disabled first); `unlock` releases what
// `lock` took, on the same CPU since bottom halves stay disabled in between
// and the holder may not sleep.
unsafe impl Backend for SpinLockBhBackend {
    type State = bindings::spinlock_t;
    type GuardState = ();

    unsafe fn init(
        ptr: *mut Self::State,
        name: *const kernel::ffi::c_char,
        key: *mut bindings::lock_class_key,
    ) {
        // SAFETY: the caller guarantees `ptr` is valid for writes and that
        // `name` and `key` live forever.
        unsafe { bindings::__spin_lock_init(ptr, name, key) }
    }

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: the caller guarantees `ptr` is an initialised spinlock.
        unsafe { ffi::lunatik_spin_lock_bh(ptr) }
    }

    unsafe fn try_lock(ptr: *mut Self::State) -> Option<Self::GuardState> {
        // SAFETY: the caller guarantees `ptr` is an initialised spinlock.
        (unsafe { ffi::lunatik_spin_trylock_bh(ptr) } != 0).then_some(())
    }

    unsafe fn unlock(ptr: *mut Self::State, _guard_state: &Self::GuardState) {
        // SAFETY: the caller owns the lock, taken by `lock` or `try_lock`.
        unsafe { ffi::lunatik_spin_unlock_bh(ptr) }
    }

    unsafe fn assert_is_held(ptr: *mut Self::State) {
        // SAFETY: the caller guarantees `ptr` is an initialised spinlock.
        unsafe { bindings::spin_assert_is_held(ptr) }
    }
}
