//! Host tests of the `core`-only parts of the rcu tables: the bucket hash
//! (luarcu/siphash.rs) and the quota arithmetic (luarcu/quota.rs).

use crate::quota::{Exceeded, Limits, Usage, BYTES_MAX, LIMITS, TABLES_MAX};
use crate::siphash::{siphash24, Key};

/// The key of the SipHash reference vectors: bytes 00 01 .. 0f.
const REFERENCE_KEY: Key = Key([0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908]);

/// SipHash-2-4 of the messages 00, 00 01, .. 00 01 .. 3e (lengths 0 to
/// 63) under [`REFERENCE_KEY`]: the reference vectors published with
/// SipHash (vectors.h of the reference implementation), as integers.
#[rustfmt::skip]
const REFERENCE: [u64; 64] = [
    0x726fdb47dd0e0e31, 0x74f839c593dc67fd, 0x0d6c8009d9a94f5a, 0x85676696d7fb7e2d,
    0xcf2794e0277187b7, 0x18765564cd99a68d, 0xcbc9466e58fee3ce, 0xab0200f58b01d137,
    0x93f5f5799a932462, 0x9e0082df0ba9e4b0, 0x7a5dbbc594ddb9f3, 0xf4b32f46226bada7,
    0x751e8fbc860ee5fb, 0x14ea5627c0843d90, 0xf723ca908e7af2ee, 0xa129ca6149be45e5,
    0x3f2acc7f57c29bdb, 0x699ae9f52cbe4794, 0x4bc1b3f0968dd39c, 0xbb6dc91da77961bd,
    0xbed65cf21aa2ee98, 0xd0f2cbb02e3b67c7, 0x93536795e3a33e88, 0xa80c038ccd5ccec8,
    0xb8ad50c6f649af94, 0xbce192de8a85b8ea, 0x17d835b85bbb15f3, 0x2f2e6163076bcfad,
    0xde4daaaca71dc9a5, 0xa6a2506687956571, 0xad87a3535c49ef28, 0x32d892fad841c342,
    0x7127512f72f27cce, 0xa7f32346f95978e3, 0x12e0b01abb051238, 0x15e034d40fa197ae,
    0x314dffbe0815a3b4, 0x027990f029623981, 0xcadcd4e59ef40c4d, 0x9abfd8766a33735c,
    0x0e3ea96b5304a7d0, 0xad0c42d6fc585992, 0x187306c89bc215a9, 0xd4a60abcf3792b95,
    0xf935451de4f21df2, 0xa9538f0419755787, 0xdb9acddff56ca510, 0xd06c98cd5c0975eb,
    0xe612a3cb9ecba951, 0xc766e62cfcadaf96, 0xee64435a9752fe72, 0xa192d576b245165a,
    0x0a8787bf8ecb74b2, 0x81b3e73d20b49b6f, 0x7fa8220ba3b2ecea, 0x245731c13ca42499,
    0xb78dbfaf3a8d83bd, 0xea1ad565322a1a0b, 0x60e61c23a3795013, 0x6606d7e446282b93,
    0x6ca4ecb15c5f91e1, 0x9f626da15c9625f3, 0xe51b38608ef25f57, 0x958a324ceb064572,
];

#[test]
fn siphash24_matches_the_reference_vectors() {
    let message: Vec<u8> = (0u8..64).collect();
    for (len, &expected) in REFERENCE.iter().enumerate() {
        assert_eq!(
            siphash24(&REFERENCE_KEY, &message[..len]),
            expected,
            "message of {len} bytes"
        );
    }
}

#[test]
fn siphash24_depends_on_the_key() {
    // The same keys under two table seeds: a sender who knows one table's
    // buckets learns nothing of another's. Of 256 keys, buckets (the low
    // 8 bits) agree for about 1 in 256 under independent keys; all of
    // them agreeing would mean the seed is ignored.
    let a = Key([1, 2]);
    let b = Key([1, 3]);
    let same = (0u32..256)
        .filter(|i| {
            let k = format!("10.0.{}.{}", i / 16, i % 16);
            siphash24(&a, k.as_bytes()) & 0xff == siphash24(&b, k.as_bytes()) & 0xff
        })
        .count();
    assert!(
        same < 16,
        "{same} of 256 keys share a bucket under both seeds"
    );
}

#[test]
fn siphash24_spreads_similar_keys() {
    // Keys a script or a packet would use ("k1", "k2", ...) fill 256
    // buckets about evenly: no bucket holds more than a few times its
    // share of 4096 keys.
    let key = Key([0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210]);
    let mut buckets = [0u32; 256];
    for i in 0..4096 {
        let k = format!("k{i}");
        buckets[(siphash24(&key, k.as_bytes()) & 0xff) as usize] += 1;
    }
    let max = buckets.iter().copied().max().unwrap();
    assert!(max <= 40, "a bucket holds {max} of 4096 keys (16 expected)");
}

#[test]
fn defaults_are_the_documented_ones() {
    assert_eq!(BYTES_MAX, 16 * 1024 * 1024);
    assert_eq!(TABLES_MAX, 1024);
    assert_eq!(
        LIMITS,
        Limits {
            bytes: BYTES_MAX,
            tables: TABLES_MAX
        }
    );
}

#[test]
fn charges_up_to_the_limit_exactly() {
    let limits = Limits {
        bytes: 1000,
        tables: 2,
    };
    let u = Usage::default();
    let u = u.charge(Usage::table(400), limits).unwrap();
    let u = u.charge(Usage::bytes(600), limits).unwrap();
    assert_eq!(
        u,
        Usage {
            bytes: 1000,
            tables: 1
        }
    );
    // One byte more is refused; a table of one byte too.
    assert_eq!(u.charge(Usage::bytes(1), limits), Err(Exceeded::Bytes));
    assert_eq!(u.charge(Usage::table(1), limits), Err(Exceeded::Bytes));
    let u = u.release(Usage::bytes(600));
    let u = u.charge(Usage::table(600), limits).unwrap();
    assert_eq!(
        u,
        Usage {
            bytes: 1000,
            tables: 2
        }
    );
    // The table limit is checked before the bytes.
    assert_eq!(u.charge(Usage::table(1), limits), Err(Exceeded::Tables));
    assert_eq!(
        u.charge(Usage::table(10_000), limits),
        Err(Exceeded::Tables)
    );
}

#[test]
fn charges_never_overflow() {
    let limits = Limits {
        bytes: usize::MAX,
        tables: usize::MAX,
    };
    let u = Usage {
        bytes: usize::MAX - 1,
        tables: 0,
    };
    assert_eq!(u.charge(Usage::bytes(2), limits), Err(Exceeded::Bytes));
    assert_eq!(
        u.charge(Usage::bytes(usize::MAX), limits),
        Err(Exceeded::Bytes)
    );
    let u = Usage {
        bytes: 0,
        tables: usize::MAX,
    };
    assert_eq!(u.charge(Usage::table(0), limits), Err(Exceeded::Tables));
}

#[test]
fn releases_return_to_zero_and_stop_there() {
    let mut u = Usage::default();
    let mut charged = Vec::new();
    // A namespace filling its quota with 128 KiB entries (what a 64 KiB
    // string value takes) in tables of 2 KiB: the charges stop before the
    // quota, and releasing them all gives back exactly zero.
    loop {
        let table = Usage::table(2048 + 256);
        let Ok(next) = u.charge(table, LIMITS) else {
            break;
        };
        u = next;
        charged.push(table);
        let entry = Usage::bytes(128 << 10);
        match u.charge(entry, LIMITS) {
            Ok(next) => {
                u = next;
                charged.push(entry);
            }
            Err(e) => {
                assert_eq!(e, Exceeded::Bytes);
                break;
            }
        }
        assert!(u.bytes <= BYTES_MAX);
    }
    let tables = charged.iter().filter(|c| c.tables == 1).count();
    // 16 MiB / (128 KiB + 2.25 KiB): 125 full tables, and the 126th
    // table is made but its entry refused.
    assert_eq!(tables, 126);
    assert_eq!(u.tables, 126);
    for c in charged.iter().rev() {
        u = u.release(*c);
    }
    assert_eq!(u, Usage::default());
    // More released than charged (a bug) stops at zero instead of
    // wrapping to a use that would refuse everything.
    assert_eq!(u.release(Usage::table(5)), Usage::default());
}
