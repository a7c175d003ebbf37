// SPDX-License-Identifier: GPL-2.0

//! SipHash-2-4 (Aumasson and Bernstein, 2012), the keyed hash of the rcu
//! tables' buckets.
//!
//! Keys of an rcu table may come from packets. With an unkeyed hash (the
//! tables used FNV-1a before) a sender can pick keys that all land in one
//! bucket and turn every lookup into a walk of a long list. SipHash is a
//! pseudorandom function: without the 128-bit key, which each table draws
//! from the kernel's RNG, its outputs cannot be predicted, so colliding
//! keys cannot be chosen in advance.
//!
//! `core`-only: the module uses it and the host tests check it against the
//! reference vectors. It takes a byte slice and returns an integer; it
//! cannot fail or panic.

/// A 128-bit SipHash key, as two 64-bit words (the first eight key bytes,
/// little-endian, are `0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key(pub [u64; 2]);

/// The four words of SipHash's state.
struct Sip([u64; 4]);

impl Sip {
    /// One SipRound.
    #[inline(always)]
    fn round(&mut self) {
        let [mut v0, mut v1, mut v2, mut v3] = self.0;
        v0 = v0.wrapping_add(v1);
        v1 = v1.rotate_left(13) ^ v0;
        v0 = v0.rotate_left(32);
        v2 = v2.wrapping_add(v3);
        v3 = v3.rotate_left(16) ^ v2;
        v0 = v0.wrapping_add(v3);
        v3 = v3.rotate_left(21) ^ v0;
        v2 = v2.wrapping_add(v1);
        v1 = v1.rotate_left(17) ^ v2;
        v2 = v2.rotate_left(32);
        self.0 = [v0, v1, v2, v3];
    }

    /// Absorbs one message word with two rounds (the "2" of 2-4).
    #[inline(always)]
    fn absorb(&mut self, m: u64) {
        self.0[3] ^= m;
        self.round();
        self.round();
        self.0[0] ^= m;
    }
}

/// SipHash-2-4 of `data` under `key`.
pub fn siphash24(key: &Key, data: &[u8]) -> u64 {
    let [k0, k1] = key.0;
    // The initial constants spell "somepseudorandomlygeneratedbytes".
    let mut s = Sip([
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ]);
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        s.absorb(u64::from_le_bytes(b));
    }
    // The last word: the remaining bytes, little-endian, and the length
    // modulo 256 in the top byte.
    let mut last = (data.len() as u64) << 56;
    for (i, &b) in words.remainder().iter().enumerate() {
        last |= u64::from(b) << (8 * i);
    }
    s.absorb(last);
    // Finalisation: four rounds (the "4").
    s.0[2] ^= 0xff;
    for _ in 0..4 {
        s.round();
    }
    s.0[0] ^ s.0[1] ^ s.0[2] ^ s.0[3]
}
