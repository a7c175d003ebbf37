// SPDX-License-Identifier: GPL-2.0

//! Network namespaces: the handle a state keeps of its namespace, and a
//! pernet registration generic over what runs when a namespace is made
//! and when it goes away ([`PernetOps`], which the control plane
//! implements: it destroys the namespace's states and calls the
//! libraries' per-namespace hooks).

use core::ptr::NonNull;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::bindings;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::types::Opaque;

/// A network namespace a state belongs to, without a reference on it.
///
/// Holding a reference would keep the namespace alive for as long as its
/// states, so it could never go away. Instead the pernet exit of
/// [`Pernet`] destroys a namespace's states before the namespace is
/// freed.
///
/// # Invariants
///
/// The namespace is live for as long as any state or request
/// holding this handle: requests run in a socket of the namespace, which
/// holds a reference, and states are removed by the pernet exit.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct NetRef(NonNull<bindings::net>);

// SAFETY: a `struct net` is shared by every CPU; the handle only passes its
// address around and the invariant keeps that address live.
unsafe impl Send for NetRef {}
// SAFETY: a shared `&NetRef` offers nothing but the address of a
// `struct net`, which every CPU shares and the type invariant keeps live;
// nothing is mutated through it.
unsafe impl Sync for NetRef {}

impl NetRef {
    /// Wraps `net`.
    ///
    /// # Safety
    ///
    /// `net` must be a non-null pointer to a live namespace that stays
    /// live while the handle is used (the type invariant).
    pub(crate) unsafe fn from_raw(net: *mut bindings::net) -> Self {
        // SAFETY: non-null by the function's contract.
        Self(unsafe { NonNull::new_unchecked(net) })
    }

    /// The initial namespace (for states made inside the module, such as
    /// its KUnit tests).
    pub(crate) fn init() -> Self {
        // SAFETY: `init_net` lives as long as the kernel.
        unsafe { Self::from_raw(&raw mut bindings::init_net) }
    }

    /// The raw pointer.
    pub(crate) fn as_ptr(self) -> *mut bindings::net {
        self.0.as_ptr()
    }
}

/// What a pernet subsystem does for each namespace.
pub(crate) trait PernetOps {
    /// Runs as a namespace is made, and for every existing one when the
    /// subsystem registers; an error refuses the namespace.
    fn init(net: NetRef) -> Result;
    /// Runs as a namespace goes away, and for every namespace left when
    /// the registration is dropped.
    fn exit(net: NetRef);
}

/// A pernet subsystem calling `T`'s hooks.
///
/// # Invariants
///
/// `ops` is registered with `register_pernet_subsys` for the life of the
/// value and is at a stable address (the kernel links it).
pub(crate) struct Pernet<T: PernetOps> {
    ops: Pin<KBox<Opaque<bindings::pernet_operations>>>,
    _ops: core::marker::PhantomData<T>,
}

/// The kernel's entry for a new namespace.
///
/// # Safety
///
/// Called by the kernel only, with a namespace being made.
unsafe extern "C" fn init_net<T: PernetOps>(net: *mut bindings::net) -> core::ffi::c_int {
    // SAFETY: the namespace is live while its init callback runs, and
    // until its exit callbacks return.
    let net = unsafe { NetRef::from_raw(net) };
    kernel::error::from_result(|| T::init(net).map(|()| 0))
}

/// The kernel's entry for a namespace going away.
///
/// # Safety
///
/// Called by the kernel only, with a namespace going away.
unsafe extern "C" fn exit_net<T: PernetOps>(net: *mut bindings::net) {
    // SAFETY: the namespace is live until its exit callbacks return.
    T::exit(unsafe { NetRef::from_raw(net) });
}

// SAFETY: after registration the kernel owns `ops`; this handle only
// unregisters it, which any thread may do. `T` is only a marker.
unsafe impl<T: PernetOps> Send for Pernet<T> {}
// SAFETY: `&Pernet` gives no access to `ops`.
unsafe impl<T: PernetOps> Sync for Pernet<T> {}

impl<T: PernetOps> Pernet<T> {
    /// Registers the subsystem.
    pub(crate) fn register() -> Result<Self> {
        let ops = KBox::pin(
            Opaque::new(bindings::pernet_operations {
                init: Some(init_net::<T>),
                exit: Some(exit_net::<T>),
                ..Default::default()
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: `ops` is a valid pernet_operations at a pinned address
        // that lives until `drop` unregisters it.
        to_result(unsafe { bindings::register_pernet_subsys(ops.get()) })?;
        // INVARIANT: registered just above, at the pinned address of `ops`.
        Ok(Self {
            ops,
            _ops: core::marker::PhantomData,
        })
    }
}

impl<T: PernetOps> Drop for Pernet<T> {
    fn drop(&mut self) {
        // SAFETY: registered in `register` (type invariant). This calls
        // `exit` for every namespace still there.
        unsafe { bindings::unregister_pernet_subsys(self.ops.get()) };
    }
}
