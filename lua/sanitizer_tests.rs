//! Negative controls for the sanitizer build (`make asan`): each test
//! overflows a block Lua allocated, on purpose, and must die with an
//! AddressSanitizer report. They exist only in that build (the
//! `lunatik_sanitize` cfg from lua/build.rs) and are ignored even there, so
//! `cargo test` never runs them by accident; the make target runs each one
//! alone and requires it to fail with "heap-buffer-overflow". Without them
//! a sanitizer build that silently lost its instrumentation would still
//! pass.

use super::{ffi, State};

/// The C side is instrumented: Lua's own code reads one byte past a block
/// it allocated. A full userdata of 8 bytes is the last thing in its
/// allocation; pushing it as a 9-byte string makes `luaS_hash` (lstring.c)
/// read the byte after it, before `memcpy` is ever called, so only the
/// compiler's instrumentation of Lua can see it.
#[test]
#[ignore = "crashes on purpose: `make asan` runs it and expects an ASan report"]
fn asan_catches_overflow_in_lua_c() {
    let s = State::new(0, 0).expect("state");
    // SAFETY: none, deliberately: the read past the userdata is the
    // out-of-bounds access ASan must report. The state is idle and nothing
    // here can raise (a 9-byte short string fits in the allocation the
    // state made at creation, and ASan stops the process first anyway).
    unsafe {
        let block = ffi::lua_newuserdatauv(s.L, 8, 0);
        ffi::lua_pushlstring(s.L, block.cast(), 9);
    }
    panic!("ASan did not report the read past the userdata");
}

/// The Rust side is instrumented: a write one byte past a Lua-allocated
/// block, from Rust code.
#[test]
#[ignore = "crashes on purpose: `make asan` runs it and expects an ASan report"]
fn asan_catches_overflow_in_rust() {
    let s = State::new(0, 0).expect("state");
    // SAFETY: none, deliberately: the write one byte past the 8-byte
    // userdata is the access ASan must report.
    unsafe {
        let block = ffi::lua_newuserdatauv(s.L, 8, 0).cast::<u8>();
        block.add(8).write_volatile(0x5a);
    }
    panic!("ASan did not report the write past the userdata");
}
