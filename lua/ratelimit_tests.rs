//! Host tests of the rate limit on what a replica prints (states/ratelimit.rs).

use crate::ratelimit::{RateLimit, Verdict, BURST, INTERVAL_NS};

#[test]
fn burst_passes_then_drops_then_reports() {
    let mut l = RateLimit::new();
    let t0 = 5 * INTERVAL_NS;
    for i in 0..BURST {
        assert_eq!(l.check(t0 + u64::from(i)), Verdict::Send { suppressed: 0 });
    }
    for _ in 0..900 {
        assert_eq!(l.check(t0 + 1000), Verdict::Drop);
    }
    assert_eq!(l.suppressed(), 900);
    // Still the same interval: dropped.
    assert_eq!(l.check(t0 + INTERVAL_NS - 1), Verdict::Drop);
    // The next interval sends again and reports what was dropped, once.
    assert_eq!(l.check(t0 + INTERVAL_NS), Verdict::Send { suppressed: 901 });
    assert_eq!(
        l.check(t0 + INTERVAL_NS + 1),
        Verdict::Send { suppressed: 0 }
    );
}

#[test]
fn first_message_at_time_zero_is_sent() {
    let mut l = RateLimit::new();
    assert_eq!(l.check(0), Verdict::Send { suppressed: 0 });
}

#[test]
fn clock_wrap_does_not_block_forever() {
    let mut l = RateLimit::new();
    for _ in 0..=BURST {
        l.check(u64::MAX - 10);
    }
    assert_eq!(l.check(u64::MAX - 10), Verdict::Drop);
    // Wrapping arithmetic: an interval later, even across the wrap.
    assert!(matches!(l.check(INTERVAL_NS), Verdict::Send { .. }));
}
