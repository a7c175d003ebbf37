// SPDX-License-Identifier: GPL-2.0

//! The raw memory behind a `data` view, and its lending: the one place of
//! the `data` library that holds `unsafe` (the library's Lua functions,
//! luadata/data.rs, have none).
//!
//! A [`View`] is a pointer, a length and a read-only flag. Its bytes are
//! only ever reached through raw pointers, copied in or out, or read for
//! the length of a computation that calls no Lua; no Rust reference to
//! them outlives one method. So two views may show the same memory (the
//! packet and the argument of an XDP call may overlap) and a view may be
//! re-pointed between calls without any reference left dangling.
//!
//! The kernel lends memory as views for one call ([`DataArg`],
//! [`KeptArg`], `interp::Lend`), or as views an object keeps ([`push_view`],
//! [`attach`], [`detach`]: the `skb` of luanetfilter/skb.rs).
//!
//! `core`-only, shared with the host tests.

use super::VIEWS;
use crate::lua::ffi::*;
use crate::lua::interp::Lend;
use crate::lua::Lua;
use core::cell::Cell;
use core::ffi::c_void;
use core::marker::PhantomData;

/// A view of memory.
///
/// # Invariants
///
/// `ptr` is valid for `len` bytes (reads, and writes unless `readonly`)
/// for as long as the view is attached, and no Rust reference to those
/// bytes is used while it is, but shared ones to the bytes of a read-only
/// view (memory lent as `&[u8]`); a detached view has a null `ptr` and a
/// `len` of 0.
pub struct View {
    ptr: Cell<*mut u8>,
    len: Cell<usize>,
    readonly: Cell<bool>,
}

impl View {
    /// A view of `len` bytes at `ptr` (none if `ptr` is null).
    ///
    /// # Safety
    ///
    /// `ptr` is null or valid for `len` bytes (and for writes if
    /// `writable`) while the view is attached, which its maker ends with
    /// [`detach`] (or which lasts as long as the view, for bytes inside
    /// its own userdata); no Rust reference to them is used meanwhile,
    /// but shared ones if the view is read-only.
    unsafe fn new(ptr: *mut u8, len: usize, writable: bool) -> Self {
        // INVARIANT: by the contract; a null pointer shows nothing.
        Self {
            ptr: Cell::new(ptr),
            len: Cell::new(if ptr.is_null() { 0 } else { len }),
            readonly: Cell::new(!writable),
        }
    }

    /// The number of bytes shown (0 once detached).
    pub fn len(&self) -> usize {
        self.len.get()
    }

    /// Whether the view shows no bytes (detached, or lent empty).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the view refuses writes.
    pub fn readonly(&self) -> bool {
        self.readonly.get()
    }

    /// Where `width` bytes at `off` start, if they lie inside the view.
    fn at(&self, off: usize, width: usize) -> Option<*mut u8> {
        let end = off.checked_add(width)?;
        if end > self.len() {
            return None;
        }
        // `off <= len`: the offset stays inside the attached block, or is
        // 0 for a detached view (`wrapping_add` keeps a null pointer null
        // without claiming a block).
        Some(self.ptr.get().wrapping_add(off))
    }

    /// Copies the `out.len()` bytes at `off` into `out`; `false`, copying
    /// nothing, if they do not lie inside the view.
    pub fn read(&self, off: usize, out: &mut [u8]) -> bool {
        let Some(p) = self.at(off, out.len()) else {
            return false;
        };
        if !out.is_empty() {
            // SAFETY: the bytes lie inside the view (`at`), readable while
            // it is attached (the invariant); `out` is borrowed exclusively,
            // so it cannot overlap bytes that only shared references or
            // none reach (the invariant).
            unsafe { core::ptr::copy_nonoverlapping(p, out.as_mut_ptr(), out.len()) };
        }
        true
    }

    /// Copies `src` to `off`; `false`, writing nothing, if the view is
    /// read-only or the bytes do not lie inside it.
    pub fn write(&self, off: usize, src: &[u8]) -> bool {
        if self.readonly() {
            return false;
        }
        let Some(p) = self.at(off, src.len()) else {
            return false;
        };
        if !src.is_empty() {
            // SAFETY: the bytes lie inside the view (`at`), writable while
            // it is attached and not read-only (the invariant), and then no
            // Rust reference reaches them, so `src` does not overlap them.
            unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), p, src.len()) };
        }
        true
    }

    /// The Internet checksum of the `len` bytes at `off`, if they lie
    /// inside the view.
    pub fn checksum(&self, off: usize, len: usize) -> Option<u16> {
        let p = self.at(off, len)?;
        if len == 0 {
            return Some(super::internet_checksum(&[]));
        }
        // SAFETY: the bytes lie inside the view (`at`), readable while it
        // is attached (the invariant). The slice lives for this sum only,
        // which calls no Lua, so no script writes the bytes meanwhile,
        // and no Rust reference ever writes them (the invariant).
        let bytes = unsafe { core::slice::from_raw_parts(p, len) };
        Some(super::internet_checksum(bytes))
    }

    /// Pushes the `len` bytes at `off` as a string; `false`, pushing
    /// nothing, if they do not lie inside the view. May raise (memory).
    pub fn push_bytes(&self, lua: &mut Lua<'_>, off: usize, len: usize) -> bool {
        let Some(p) = self.at(off, len) else {
            return false;
        };
        if len == 0 {
            lua.push_bytes(&[]);
        } else {
            // SAFETY: the bytes lie inside the view (`at`), readable while
            // it is attached (the invariant), which lasts the whole call
            // (views are detached between calls); Lua copies them before
            // anything may run Lua code that writes them.
            unsafe { lua.push_raw_bytes(p, len) };
        }
        true
    }
}

/// Pushes a view of `size` zeroed bytes held in its own userdata
/// (`data.new`), writable. May raise (memory).
pub(super) fn push_new<'a>(lua: &mut Lua<'a>, size: usize) -> &'a View {
    // SAFETY: `tail` points to `size` bytes of the view's own userdata,
    // which Lua never moves and which live as long as the view; nothing
    // else ever points to them.
    VIEWS.push_with(lua, size, 0, |tail| unsafe { View::new(tail, size, true) })
}

/// Pushes a view of `len` bytes at `ptr`, read-only unless `writable`, and
/// returns it for [`detach`].
///
/// # Safety
///
/// `L` is the running thread of a C function Lua called in protected mode
/// (this raises on memory errors). `ptr` must be null (the view then shows
/// nothing) or valid for `len` bytes (and for writes if `writable`) until
/// [`detach`] is called, with no Rust reference to them used meanwhile
/// (but shared ones if not `writable`), and the caller must keep the view reachable (anchored) until then, so
/// it is not collected.
pub unsafe fn push_view(L: *mut lua_State, ptr: *mut u8, len: usize, writable: bool) -> *mut View {
    // SAFETY: `L` runs a C function in protected mode (the contract), so
    // the handle is sound for this call; the View invariant holds because
    // the caller keeps `ptr` valid for `len` bytes until `detach`.
    unsafe {
        let mut lua = Lua::from_raw(L);
        let view = VIEWS.push(&mut lua, View::new(ptr, len, writable), 0);
        core::ptr::from_ref(view).cast_mut()
    }
}

/// Attaches a view made by [`push_view`] to `len` bytes at `ptr`, read-only
/// unless `writable` (a null `ptr` leaves it detached).
///
/// # Safety
///
/// `view` came from [`push_view`] and its userdata is alive; `ptr` is
/// valid for `len` bytes (and for writes if `writable`) until [`detach`]
/// is called, with no Rust reference to them used meanwhile (but shared
/// ones if not `writable`). Never calls Lua.
pub unsafe fn attach(view: *mut View, ptr: *mut u8, len: usize, writable: bool) {
    // SAFETY: `view` is alive (the contract); its fields are cells, set
    // through a shared reference.
    let view = unsafe { &*view };
    // INVARIANT: by the contract; a null pointer shows nothing.
    view.ptr.set(ptr);
    view.len.set(if ptr.is_null() { 0 } else { len });
    view.readonly.set(!writable);
}

/// Makes an attached view writable or read-only again, over the same
/// bytes.
///
/// # Safety
///
/// `view` came from [`push_view`] and its userdata is alive; if
/// `writable`, its bytes are valid for writes, and no Rust reference to
/// them is used, until [`detach`] is called.
/// Never calls Lua.
pub unsafe fn set_writable(view: *mut View, writable: bool) {
    // SAFETY: `view` is alive (the contract); INVARIANT: writes are
    // allowed if `writable` (the contract).
    unsafe { (*view).readonly.set(!writable) }
}

/// Detaches a view: from now on it reads as empty.
///
/// # Safety
///
/// `view` came from [`push_view`] and its userdata is still alive.
pub unsafe fn detach(view: *mut View) {
    // SAFETY: `view` is alive (the contract); this never calls Lua.
    let view = unsafe { &*view };
    // INVARIANT: a detached view shows nothing.
    view.ptr.set(core::ptr::null_mut());
    view.len.set(0);
}

/// Memory given to a Lua function as a `data` view for one call
/// (`interp::Arg::Lent`): attached while the function runs, detached when the
/// call returns (a view the script kept then reads as empty).
///
/// # Invariants
///
/// `ptr` is null or valid for `len` bytes (and for writes if `writable`)
/// for `'a`, with no Rust reference to them used during `'a`, but shared
/// ones if not `writable`.
#[derive(Debug, Clone, Copy)]
pub struct DataArg<'a> {
    ptr: *mut u8,
    len: usize,
    writable: bool,
    _memory: PhantomData<&'a mut [u8]>,
}

impl<'a> DataArg<'a> {
    /// A read-only view of `bytes`.
    pub fn read_only(bytes: &'a [u8]) -> Self {
        // INVARIANT: `bytes` is borrowed for `'a`, and shared references
        // only read, as the view does.
        Self {
            ptr: bytes.as_ptr().cast_mut(),
            len: bytes.len(),
            writable: false,
            _memory: PhantomData,
        }
    }

    /// A writable view of `bytes`.
    pub fn writable(bytes: &'a mut [u8]) -> Self {
        // INVARIANT: `bytes` is borrowed exclusively for `'a`, and used
        // through the pointer only.
        Self {
            ptr: bytes.as_mut_ptr(),
            len: bytes.len(),
            writable: true,
            _memory: PhantomData,
        }
    }

    /// A view of `len` bytes at `ptr`, read-only unless `writable`, made
    /// from raw parts: it never forms a Rust reference to the bytes, so
    /// the memory may be shared with other views lent at the same time
    /// (the packet and the argument of an XDP call may overlap).
    ///
    /// # Safety
    ///
    /// `ptr` is null (the view then shows nothing) or valid for reads, and
    /// for writes if `writable`, of `len` bytes for all of `'a`; no Rust
    /// reference to those bytes is used during `'a` (other views, made
    /// from raw parts too, may show them).
    pub unsafe fn from_raw_parts(ptr: *mut u8, len: usize, writable: bool) -> Self {
        // INVARIANT: by the contract.
        Self {
            ptr,
            len: if ptr.is_null() { 0 } else { len },
            writable,
            _memory: PhantomData,
        }
    }

    /// Attaches `view` (made by [`push_view`]) to this memory.
    ///
    /// # Safety
    ///
    /// `view` came from [`push_view`] and its userdata is alive; the view is
    /// detached before `'a` ends (`self` borrows the memory for `'a` only).
    pub unsafe fn attach_view(&self, view: *mut View) {
        // SAFETY: by the contract and the DataArg invariant.
        unsafe { attach(view, self.ptr, self.len, self.writable) }
    }

    /// Pushes a view of the memory (for an object that holds views, such
    /// as the `skb`, which then detaches it).
    ///
    /// # Safety
    ///
    /// `L` is the running thread of a C function Lua called in protected
    /// mode (this raises on memory errors); the view is kept reachable and
    /// detached before `'a` ends, since `self` borrows the memory for `'a`
    /// only.
    pub unsafe fn push_view(&self, L: *mut lua_State) -> *mut View {
        // SAFETY: by the contract and the DataArg invariant.
        unsafe { push_view(L, self.ptr, self.len, self.writable) }
    }

    /// The same memory, lent as the view the state keeps under registry
    /// key `key` (its address) instead of a fresh one per call.
    pub fn kept(self, key: &'static u8) -> KeptArg<'a> {
        KeptArg { memory: self, key }
    }
}

/// Memory lent through a view the state keeps in its registry under `key`
/// and re-attaches for every call (a packet path that calls often: the
/// XDP kfuncs), so a call allocates no view. The view is made detached on
/// the first call and detached again after each call: a script that keeps
/// it holds that one view, showing the current call's memory inside a
/// call and nothing outside one, never freed memory.
///
/// Each argument of a call needs its own key: two arguments lent through
/// one key would be one view showing the second's memory.
#[derive(Debug, Clone, Copy)]
pub struct KeptArg<'a> {
    memory: DataArg<'a>,
    key: &'static u8,
}

// SAFETY: `push` pushes the view kept under `key` (no finalizer, kept in
// the registry for every call), detached until `attach`; `attach` and
// `release` write the view's fields and never call Lua; after `release`
// the view shows no memory.
unsafe impl Lend for KeptArg<'_> {
    unsafe fn push(&self, L: *mut lua_State) -> *mut c_void {
        // SAFETY: `L` is in a protected call (the trait's contract), in
        // which `interp::call` pushes its arguments; a raw read of the
        // registry never raises.
        if let Some(view) = unsafe { self.push_kept(L) } {
            return view;
        }
        // SAFETY: as above; only this function stores under a `KeptArg`
        // key, always a view, which the registry keeps alive for the
        // state's life (scripts cannot reach the registry). The copy fits
        // the LUA_MINSTACK room, and rawsetp pops it.
        unsafe {
            let view = push_view(L, core::ptr::null_mut(), 0, false);
            lua_pushvalue(L, -1);
            lua_rawsetp(L, LUA_REGISTRYINDEX, (self.key as *const u8).cast());
            view.cast()
        }
    }

    fn kept(&self) -> bool {
        true
    }

    unsafe fn push_kept(&self, L: *mut lua_State) -> Option<*mut c_void> {
        // SAFETY: `L` is valid with room for one value (the trait's
        // contract); a raw read of the registry never raises; what `push`
        // stored under the key is a view.
        unsafe {
            if lua_rawgetp(L, LUA_REGISTRYINDEX, (self.key as *const u8).cast()) == LUA_TUSERDATA {
                return Some(lua_touserdata(L, -1));
            }
            lua_pop(L, 1);
            None
        }
    }

    unsafe fn attach(&self, token: *mut c_void) {
        // SAFETY: `token` is the view `push` returned, kept in the
        // registry; the memory outlives the call (the trait's contract),
        // and `release` detaches the view after it.
        unsafe { self.memory.attach_view(token.cast()) }
    }

    unsafe fn release(&self, token: *mut c_void) {
        // SAFETY: `token` is the view `push` returned, kept in the registry.
        unsafe { detach(token.cast()) }
    }
}

// SAFETY: `push` pushes one fresh view without a finalizer; `release`
// detaches it without calling Lua, after which it shows no memory.
unsafe impl Lend for DataArg<'_> {
    unsafe fn push(&self, L: *mut lua_State) -> *mut c_void {
        // SAFETY: by the trait's contract: a protected call, and memory
        // that outlives the call, which `release` ends.
        unsafe { self.push_view(L) }.cast()
    }

    unsafe fn release(&self, token: *mut c_void) {
        // SAFETY: `token` is the view `push` made, still anchored.
        unsafe { detach(token.cast()) }
    }
}
