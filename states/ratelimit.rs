// SPDX-License-Identifier: GPL-2.0

//! A rate limit for the messages a replica sends out (`print` lines and
//! callback errors, to the kernel log and the `events` group).
//!
//! `core`-only, so the host tests check it. A script printing for every
//! packet must not flood the log or the listeners: each replica may send
//! [`BURST`] messages per [`INTERVAL_NS`]; the rest are counted, and the
//! first message of the next interval says how many were dropped.

/// Messages allowed per interval.
pub const BURST: u32 = 100;
/// Length of an interval, in nanoseconds (one second).
pub const INTERVAL_NS: u64 = 1_000_000_000;

/// The verdict on one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send it; `suppressed` messages were dropped before it, since the
    /// last one sent.
    Send {
        /// Messages dropped in earlier intervals.
        suppressed: u64,
    },
    /// Drop it.
    Drop,
}

/// One replica's rate limit state.
#[derive(Debug, Clone, Copy, Default)]
pub struct RateLimit {
    start: u64,
    sent: u32,
    suppressed: u64,
    started: bool,
}

impl RateLimit {
    /// A limit with nothing sent yet.
    pub const fn new() -> Self {
        Self {
            start: 0,
            sent: 0,
            suppressed: 0,
            started: false,
        }
    }

    /// Decides on a message at monotonic time `now` (nanoseconds).
    pub fn check(&mut self, now: u64) -> Verdict {
        if !self.started || now.wrapping_sub(self.start) >= INTERVAL_NS {
            self.started = true;
            self.start = now;
            self.sent = 0;
        }
        if self.sent >= BURST {
            self.suppressed += 1;
            return Verdict::Drop;
        }
        self.sent += 1;
        let suppressed = core::mem::take(&mut self.suppressed);
        Verdict::Send { suppressed }
    }

    /// Messages dropped and not yet reported.
    pub fn suppressed(&self) -> u64 {
        self.suppressed
    }
}
