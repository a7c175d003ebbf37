// SPDX-License-Identifier: GPL-2.0

//! The kernel's random numbers, the one place the module draws them:
//! seeds for Lua's hash and `math.random`, keys of the rcu tables' hash,
//! `linux.random`.

use kernel::bindings;

/// A random `u64` from the kernel's RNG; usable from any context.
pub(crate) fn u64() -> u64 {
    // SAFETY: `get_random_u64` may be called from any context.
    unsafe { bindings::get_random_u64() }
}

/// A uniformly random integer in `0..=span`.
pub(crate) fn upto(span: u64) -> u64 {
    if span == u64::MAX {
        return u64();
    }
    let n = span + 1;
    // Reject the top, partial stretch so every value is equally likely.
    let limit = u64::MAX - (u64::MAX % n);
    loop {
        let r = u64();
        if r < limit {
            return r % n;
        }
    }
}
