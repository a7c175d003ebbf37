// SPDX-License-Identifier: GPL-2.0

//! The life of one interpreter, a `lua_State`, the same in the kernel and
//! on the host, in four files: its sandbox (lua/interp/sandbox.rs: creating it, the
//! standard libraries), `require` (lua/interp/require.rs: libraries and
//! script files by name), running code in it (lua/interp/run.rs:
//! chunks, results, errors, `print`, collections, the close) and calling
//! into it from the kernel (lua/interp/call.rs: arguments, lent values,
//! callbacks). Callers use them through this module, `crate::lua::interp`.
//!
//! `core`-only. The longjmp rule: every Lua call that may raise either runs
//! inside `lua_pcall` or is itself a `lua_CFunction` that Lua calls in
//! protected mode; none of them holds a Rust value with a destructor.

mod call;
// Crate-visible for the host's tests of the script path rules
// (lua/require_tests.rs); everything else goes through the uses below.
pub(crate) mod require;
mod run;
mod sandbox;

pub use call::{call, drop_callback, slot_holds_function, store_callback, Arg, Callee, Lend};
pub use require::{Library, Modules, SCRIPT_PATH_MAX, SCRIPT_ROOT, VERSION};
pub use run::{
    close, collect, error_message, print_line, result_count, results, run, value_at, Value,
};
pub use sandbox::{new_state, open_libs};
