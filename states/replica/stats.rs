// SPDX-License-Identifier: GPL-2.0

//! A replica's figures: the counters it keeps as it runs, and the
//! statistics copied out of it under its lock, or summed over a state's
//! replicas, for `GET` (docs/control.md).

use super::LAST_ERROR_MAX;

/// Counters and the last error of one replica; read under its lock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counters {
    /// Entries (runs and calls).
    pub(crate) calls: u64,
    /// Entries that failed.
    pub(crate) errors: u64,
    /// The start of the last error message.
    pub(crate) last_error: [u8; LAST_ERROR_MAX],
    /// Length of `last_error`.
    pub(crate) last_error_len: usize,
}

/// Statistics of a replica, copied out under its lock, or of a state,
/// summed over its replicas ([`Stats::add`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stats {
    /// Bytes in use.
    pub(crate) memory_used: usize,
    /// Highest `memory_used` seen (for a state, the sum of each
    /// replica's).
    pub(crate) memory_peak: usize,
    /// Entries (a state's run counts once per replica).
    pub(crate) calls: u64,
    /// Entries that failed.
    pub(crate) errors: u64,
    /// Entries stopped by the instruction budget or the deadline.
    pub(crate) budget_kills: u64,
    /// The longest entry (of any replica), in nanoseconds.
    pub(crate) longest_entry_ns: u64,
    /// The most C stack an entry (of any replica) used, in bytes.
    pub(crate) deepest_stack: usize,
    /// Allocations refused.
    pub(crate) alloc_failures: u64,
    /// The start of the most recent error (for a state, of the first
    /// replica that has one).
    pub(crate) last_error: [u8; LAST_ERROR_MAX],
    /// Length of `last_error`.
    pub(crate) last_error_len: usize,
}

impl Stats {
    /// No entries, no memory.
    pub(crate) const ZERO: Self = Self {
        memory_used: 0,
        memory_peak: 0,
        calls: 0,
        errors: 0,
        budget_kills: 0,
        longest_entry_ns: 0,
        deepest_stack: 0,
        alloc_failures: 0,
        last_error: [0; LAST_ERROR_MAX],
        last_error_len: 0,
    };

    /// Adds another replica's figures: sums, maxima, and its last error
    /// if there is none yet.
    pub(crate) fn add(&mut self, m: &Stats) {
        self.memory_used += m.memory_used;
        self.memory_peak += m.memory_peak;
        self.calls += m.calls;
        self.errors += m.errors;
        self.budget_kills += m.budget_kills;
        self.longest_entry_ns = self.longest_entry_ns.max(m.longest_entry_ns);
        self.deepest_stack = self.deepest_stack.max(m.deepest_stack);
        self.alloc_failures += m.alloc_failures;
        if self.last_error_len == 0 {
            self.last_error = m.last_error;
            self.last_error_len = m.last_error_len;
        }
    }

    /// The last error's text.
    pub(crate) fn last_error(&self) -> &[u8] {
        &self.last_error[..self.last_error_len]
    }
}
