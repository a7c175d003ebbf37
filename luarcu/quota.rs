// SPDX-License-Identifier: GPL-2.0

//! The quota on what a network namespace's rcu tables hold: the limits
//! and the arithmetic of charging and releasing against them.
//!
//! `core`-only: the module keeps one [`Usage`] per namespace under a lock
//! (luarcu/space.rs) and the host tests check the arithmetic here. Nothing
//! in this file allocates, panics or overflows: every sum is checked.
//!
//! What is charged, in bytes as the kernel's allocator hands them out
//! (rounded up to the slab size or page order the allocation really
//! takes): every entry (its header, key and string value), and for every
//! table its header, its bucket array and, for a named table, its node in
//! the namespace's index of names. Every table, named or anonymous, also
//! counts once against [`LIMITS`]`.tables`.

/// Bytes of rcu tables one namespace may hold.
///
/// 16 MiB: room for over a hundred thousand small entries (an integer
/// under a short key takes 96 bytes), or over a hundred 64 KiB strings
/// (128 KiB each as allocated), far more than the filters and counters
/// rcu tables are for,
/// while a host with a thousand namespaces (containers) cannot lose more
/// than 16 GiB to them, and the single namespace of a small machine no
/// more than 16 MiB.
pub const BYTES_MAX: usize = 16 << 20;

/// Tables one namespace may hold, named and anonymous together.
///
/// 1,024: a script needs a handful; the bound keeps the index of names and
/// the per-table overhead (a 2 KiB bucket array by default) small even
/// before the byte quota is reached.
pub const TABLES_MAX: usize = 1024;

/// How much a namespace's tables may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes, as charged (see the module documentation).
    pub bytes: usize,
    /// Tables.
    pub tables: usize,
}

/// The limits every namespace gets.
pub const LIMITS: Limits = Limits {
    bytes: BYTES_MAX,
    tables: TABLES_MAX,
};

/// What a namespace's tables hold, or a change to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes charged.
    pub bytes: usize,
    /// Tables.
    pub tables: usize,
}

/// Which limit a charge would cross.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exceeded {
    /// [`Limits::bytes`].
    Bytes,
    /// [`Limits::tables`].
    Tables,
}

impl Usage {
    /// Some bytes and no table.
    pub const fn bytes(bytes: usize) -> Self {
        Self { bytes, tables: 0 }
    }

    /// One table of `bytes` (its header, buckets and index node).
    pub const fn table(bytes: usize) -> Self {
        Self { bytes, tables: 1 }
    }

    /// The use after charging `more`, if it stays within `limits`
    /// (reaching a limit exactly is allowed). The table limit is checked
    /// first, as it is the one a script creating tables in a loop meets
    /// when its tables are small.
    pub fn charge(self, more: Usage, limits: Limits) -> Result<Usage, Exceeded> {
        let tables = self
            .tables
            .checked_add(more.tables)
            .filter(|&t| t <= limits.tables)
            .ok_or(Exceeded::Tables)?;
        let bytes = self
            .bytes
            .checked_add(more.bytes)
            .filter(|&b| b <= limits.bytes)
            .ok_or(Exceeded::Bytes)?;
        Ok(Usage { bytes, tables })
    }

    /// The use after giving `less` back. Giving back more than was charged
    /// would be a bug of the caller; the counts stop at zero rather than
    /// wrap to a huge use that would refuse every later charge.
    pub fn release(self, less: Usage) -> Usage {
        Usage {
            bytes: self.bytes.saturating_sub(less.bytes),
            tables: self.tables.saturating_sub(less.tables),
        }
    }
}
