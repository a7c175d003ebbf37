// SPDX-License-Identifier: GPL-2.0

//! Script files for `require` (docs/libraries.md, "require"): reading
//! `/lib/modules/lua/PATH` and compiling it, as text, in the requiring
//! state, whose allocator charges the compiled chunk to its memory cap.
//!
//! Reading a file may sleep, so it happens only in entries that may: those
//! of process states, and of softirq states before the packet path can
//! reach them, which covers a softirq script's first chunk (`lunatik
//! run`): no hook is registered, and so no packet enters the state, until
//! that chunk has ended (states/softirq_replica.rs). Anywhere else, a packet
//! callback above all, `require` of a file that is not loaded yet fails
//! with an error that says so.
//!
//! A file is read with the root and the credentials of the task running
//! the entry, so only an entry made for a user's request may read one: a
//! chunk the control plane runs (`RUN`), in the requesting task. Other
//! entries that may sleep run in whatever task closes or collects the
//! state: a finalizer at the close may run in the namespace teardown
//! worker, which would resolve the path against init's root and open the
//! file with the kernel's credentials. There `require` of a file that is
//! not loaded yet fails too (issue 22, finding 5).
//!
//! The path comes from `script_path` (lua/interp/require.rs), which admits
//! only dot-separated words; the lookup (states/script.c) stays beneath
//! `/lib/modules/lua` whatever symlinks it meets.

use crate::lua::ffi::*;
use crate::lua::interp::{SCRIPT_PATH_MAX, SCRIPT_ROOT};
use core::ffi::{c_char, c_int, CStr};
use kernel::alloc::{flags::GFP_KERNEL, KVVec};
use kernel::bindings;
use kernel::error::from_err_ptr;
use kernel::prelude::*;

// The shims of states/script.c, declared in states/script.h.
// `struct file` ends in a zero-length array in bindgen's view; only
// pointers to it cross the boundary.
#[allow(improper_ctypes)]
extern "C" {
    fn lunatik_script_open(rel: *const c_char) -> *mut bindings::file;
    fn lunatik_script_size(file: *mut bindings::file) -> bindings::loff_t;
}

/// Largest script file read: the largest chunk the control plane takes.
const FILE_MAX: usize = crate::uapi::protocol::SOURCE_MAX;

/// An open script file.
///
/// # Invariants
///
/// `0` is a file opened by `lunatik_script_open`, whose reference this
/// owns.
struct File(*mut bindings::file);

impl File {
    /// Opens `rel` under /lib/modules/lua (process context).
    fn open(rel: &CStr) -> Result<Self> {
        // SAFETY: `rel` is NUL-terminated; the shim may sleep, and callers
        // run where sleeping is allowed (the module documentation).
        let file = from_err_ptr(unsafe { lunatik_script_open(rel.as_ptr()) })?;
        // INVARIANT: a file the shim opened, not an error pointer.
        Ok(File(file))
    }

    /// The whole file, at most [`FILE_MAX`] bytes (`EFBIG` beyond).
    fn read_all(&self) -> Result<KVVec<u8>> {
        // SAFETY: `self.0` is an open file (type invariant).
        let size = unsafe { lunatik_script_size(self.0) };
        let size = usize::try_from(size).map_err(|_| EINVAL)?;
        if size > FILE_MAX {
            return Err(EFBIG);
        }
        // One byte more than the size: a file that grew since is seen.
        let cap = size + 1;
        let mut buf = KVVec::with_capacity(cap, GFP_KERNEL)?;
        let mut pos: bindings::loff_t = 0;
        loop {
            let done = buf.len();
            let room = cap - done;
            if room == 0 {
                return Err(EFBIG);
            }
            // SAFETY: the spare capacity holds `room` writable bytes; the
            // file is open (type invariant); kernel_read may sleep (see
            // `open`).
            let n = unsafe {
                bindings::kernel_read(
                    self.0,
                    buf.spare_capacity_mut().as_mut_ptr().cast(),
                    room,
                    &mut pos,
                )
            };
            let n = usize::try_from(n).map_err(|_| Error::from_errno(n as i32))?;
            if n == 0 {
                return Ok(buf);
            }
            // SAFETY: kernel_read initialised `n <= room` bytes past `done`.
            unsafe { buf.inc_len(n) };
        }
    }
}

impl Drop for File {
    fn drop(&mut self) {
        // SAFETY: the reference is ours (type invariant).
        unsafe { bindings::fput(self.0) };
    }
}

/// How [`load`] failed.
enum Failure {
    /// The file could not be read: the kernel's error.
    Read(Error),
    /// The text did not compile; Lua's message is on the stack.
    Compile,
}

/// Reads `rel` and compiles it into a function pushed on `L`'s stack.
/// `Ok(false)` when there is no such file.
///
/// Raises nothing: the file and its text are dropped before [`load`]
/// raises (the longjmp rule), and `luaL_loadbufferx` catches its own
/// errors.
///
/// # Safety
///
/// `L` is running [`load`] in an entry that may sleep.
unsafe fn read_and_compile(L: *mut lua_State, rel: &CStr) -> Result<bool, Failure> {
    let text = match File::open(rel).and_then(|f| f.read_all()) {
        Ok(text) => text,
        // A missing file, or a path through a regular file.
        Err(e) if e == ENOENT || e == ENOTDIR => return Ok(false),
        Err(e) => return Err(Failure::Read(e)),
    };
    // "@/lib/modules/lua/REL": errors and tracebacks show the file.
    let mut name = [0u8; SCRIPT_PATH_MAX + 32];
    let parts = [b"@".as_slice(), SCRIPT_ROOT.to_bytes(), rel.to_bytes()];
    let mut at = 0;
    for part in parts {
        let end = (at + part.len()).min(name.len() - 1);
        name[at..end].copy_from_slice(&part[..end - at]);
        at = end;
    }
    // SAFETY: `L` is running (the contract); `text` and `name` outlive the
    // call, which reports failures as a status; "t" refuses bytecode.
    let status = unsafe {
        luaL_loadbufferx(
            L,
            text.as_ptr().cast(),
            text.len(),
            name.as_ptr().cast(),
            c"t".as_ptr(),
        )
    };
    if status == LUA_OK {
        Ok(true)
    } else {
        Err(Failure::Compile)
    }
}

/// `interp::Libraries::files` of kernel states: called by `require` with a
/// path relative to /lib/modules/lua, returns the compiled chunk, or
/// nothing if there is no such file; raises if it cannot be read or
/// compiled, if this entry may not sleep, or if it is not a chunk the
/// control plane runs for a user (whose root and credentials the read
/// uses).
///
/// # Safety
///
/// Called by Lua in protected mode, in a replica.
pub(crate) unsafe extern "C" fn load(L: *mut lua_State) -> c_int {
    // SAFETY: Lua calls this in protected mode with `L` its running thread
    // of a replica (the contract), so `preemptible` and
    // `control_entry` may read the replica's data and every raise lands
    // in that call; `rel` is argument
    // 1, a string that stays on the stack while used; the errors are
    // raised only before `read_and_compile` runs or after it has returned
    // (dropping the file and its text), so no value with a destructor is
    // live, and it runs only where the entry may sleep, as it asks, and
    // in the task of the user whose request runs the chunk.
    unsafe {
        let rel = luaL_checklstring(L, 1, core::ptr::null_mut());
        if !crate::states::replica::preemptible(L) {
            luaL_error(
                L,
                c"cannot read '%s%s' here: script files are read where the state may sleep (a process state, or a softirq state's first chunk); require it when the script loads".as_ptr(),
                SCRIPT_ROOT.as_ptr(),
                rel,
            );
        }
        if !crate::states::replica::control_entry(L) {
            luaL_error(
                L,
                c"cannot read '%s%s' here: require of files is only allowed in an entry from the control plane (a chunk run for a user's request), not in a hook, a collection or a finalizer at the close; require it when the script loads".as_ptr(),
                SCRIPT_ROOT.as_ptr(),
                rel,
            );
        }
        let outcome = read_and_compile(L, CStr::from_ptr(rel));
        match outcome {
            Ok(true) => 1,
            Ok(false) => 0,
            Err(Failure::Compile) => lua_error(L),
            Err(Failure::Read(e)) => {
                let why: &CStr = if e == EXDEV {
                    c"it leads out of /lib/modules/lua"
                } else if e == EFBIG {
                    c"larger than 1 MiB"
                } else if e == EISDIR {
                    c"not a regular file"
                } else if e == EACCES || e == EPERM {
                    c"permission denied"
                } else if e == ELOOP {
                    c"too many symbolic links"
                } else {
                    c"error"
                };
                luaL_error(
                    L,
                    c"cannot read '%s%s': %s (%d)".as_ptr(),
                    SCRIPT_ROOT.as_ptr(),
                    rel,
                    why.as_ptr(),
                    e.to_errno(),
                );
            }
        }
    }
}
