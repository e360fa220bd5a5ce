//! A cheap stopwatch for per-command durations (commandstats `usec`, latency histograms, the slow log).
//!
//! `Instant::now()` is a `clock_gettime` call; on x86 its vDSO reads the time-stamp counter after a fence that
//! waits for every load in flight, so right after a key lookup that missed the cache it costs as much as the
//! miss itself (two reads per command were about 5% of a pipelined SET/GET server's CPU). Where the kernel
//! itself keeps time with the TSC (clocksource `tsc`, so it runs at a constant rate and is synchronised across
//! cores), [`now`] reads the counter directly, without the fence, and [`Reading::elapsed_us`] converts ticks with
//! a ratio measured against `Instant` at start-up and refined by [`calibrate`] (the server's cron). Elsewhere
//! both fall back to `Instant`.
//!
//! ```
//! let start = zedis_util::ticks::now();
//! let us = start.elapsed_us();
//! assert!(us < 60_000_000);
//! ```

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long the first calibration watches the clock (the cron refines it over the whole uptime).
const STARTUP_CALIBRATION: Duration = Duration::from_millis(2);
/// Tries of [`pair`] (the closest one is kept).
const PAIR_TRIES: usize = 5;

/// Not yet decided.
const MODE_UNKNOWN: u8 = 0;
/// Reading the time-stamp counter.
const MODE_TSC: u8 = 1;
/// Reading `Instant` (nanoseconds since [`Anchor::instant`]).
const MODE_INSTANT: u8 = 2;

static MODE: AtomicU8 = AtomicU8::new(MODE_UNKNOWN);
/// Microseconds per tick, as a 32.32 fixed-point number (TSC mode only). Invariant: non-zero once the mode
/// is `MODE_TSC`.
static US_PER_TICK_FP32: AtomicU64 = AtomicU64::new(0);

/// The reference both clocks were read at together; later calibrations measure from it.
struct Anchor {
    instant: Instant,
    ticks: u64,
}

static ANCHOR: OnceLock<Anchor> = OnceLock::new();

/// A point in time from [`now`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading(u64);

impl Reading {
    /// Microseconds elapsed since this reading (0 if the clock seems to have gone back).
    #[inline]
    pub fn elapsed_us(self) -> u64 {
        let end = now().0;
        let delta = end.saturating_sub(self.0);
        if MODE.load(Ordering::Relaxed) == MODE_TSC {
            let fp = US_PER_TICK_FP32.load(Ordering::Relaxed) as u128;
            ((delta as u128 * fp) >> 32) as u64
        } else {
            delta / 1000
        }
    }
}

/// The current reading.
#[inline]
pub fn now() -> Reading {
    match MODE.load(Ordering::Relaxed) {
        MODE_TSC => Reading(read_tsc()),
        MODE_INSTANT => Reading(instant_ns()),
        _ => {
            init();
            now()
        }
    }
}

/// Refines the ticks-to-microseconds ratio from everything measured since start-up (call it now and then:
/// the longer the span, the more exact the ratio). Cheap; does nothing off the TSC.
pub fn calibrate() {
    if MODE.load(Ordering::Relaxed) != MODE_TSC {
        return;
    }
    let Some(anchor) = ANCHOR.get() else {
        return;
    };
    let (instant, ticks) = pair();
    store_ratio(anchor, instant, ticks);
}

/// Whether durations come from the time-stamp counter (for tests and INFO-style reports).
pub fn uses_tsc() -> bool {
    now();
    MODE.load(Ordering::Relaxed) == MODE_TSC
}

/// Decides the mode once (any thread may race here: every racer computes the same answer).
#[cold]
fn init() {
    let anchor = ANCHOR.get_or_init(new_anchor);
    if !tsc_usable() {
        MODE.store(MODE_INSTANT, Ordering::Relaxed);
        return;
    }
    // Watch both clocks for a moment: the first ratio.
    while anchor.instant.elapsed() < STARTUP_CALIBRATION {
        std::hint::spin_loop();
    }
    let (instant, ticks) = pair();
    if store_ratio(anchor, instant, ticks) {
        MODE.store(MODE_TSC, Ordering::Relaxed);
    } else {
        MODE.store(MODE_INSTANT, Ordering::Relaxed);
    }
}

/// Stores the ratio of the nanoseconds to the ticks elapsed since `anchor`; false if it makes no sense (the
/// counter did not advance, or ran backwards).
fn store_ratio(anchor: &Anchor, instant: Instant, ticks: u64) -> bool {
    let ns = instant.duration_since(anchor.instant).as_nanos();
    let elapsed_ticks = ticks.saturating_sub(anchor.ticks) as u128;
    if elapsed_ticks == 0 || ns == 0 {
        return false;
    }
    // µs per tick in 32.32 fixed point: ns / 1000 / ticks * 2^32.
    let fp = (ns << 32) / (elapsed_ticks * 1000);
    let Ok(fp) = u64::try_from(fp) else {
        return false;
    };
    if fp == 0 {
        return false;
    }
    US_PER_TICK_FP32.store(fp, Ordering::Relaxed);
    true
}

/// Nanoseconds since the anchor (the fallback clock).
fn instant_ns() -> u64 {
    let anchor = ANCHOR.get_or_init(new_anchor);
    anchor.instant.elapsed().as_nanos() as u64
}

/// The anchor: both clocks read together.
fn new_anchor() -> Anchor {
    let (instant, ticks) = pair();
    Anchor { instant, ticks }
}

/// `Instant` and the counter read as nearly together as possible: of a few tries, the one whose counter
/// readings around `Instant::now()` are closest (a try interrupted by the scheduler is left out), with the
/// counter's midpoint.
fn pair() -> (Instant, u64) {
    let mut best: Option<(Instant, u64, u64)> = None;
    for _ in 0..PAIR_TRIES {
        let before = read_tsc();
        let instant = Instant::now();
        let after = read_tsc();
        let gap = after.saturating_sub(before);
        if best.is_none_or(|(_, _, best_gap)| gap < best_gap) {
            best = Some((instant, before + gap / 2, gap));
        }
    }
    best.map_or_else(
        || (Instant::now(), read_tsc()),
        |(instant, ticks, _)| (instant, ticks),
    )
}

/// The time-stamp counter (0 where there is none).
#[inline]
fn read_tsc() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: RDTSC is part of x86-64; it reads a counter and has no other effect.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        0
    }
}

/// Whether the kernel keeps time with the TSC itself (so it is invariant and synchronised across cores).
fn tsc_usable() -> bool {
    if !cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        return false;
    }
    std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
        .is_ok_and(|source| source.trim() == "tsc")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_sleep_within_wide_margins() {
        let start = now();
        std::thread::sleep(Duration::from_millis(30));
        calibrate();
        let us = start.elapsed_us();
        // A loaded machine may oversleep; it never undersleeps.
        assert!(us >= 25_000, "measured {us} us for a 30 ms sleep");
        assert!(us < 30_000_000, "measured {us} us for a 30 ms sleep");
    }

    #[test]
    fn agrees_with_instant() {
        let started = Instant::now();
        let start = now();
        std::thread::sleep(Duration::from_millis(50));
        let ours = start.elapsed_us() as i64;
        let theirs = started.elapsed().as_micros() as i64;
        // Within 10% plus scheduling noise between the two reads.
        assert!(
            (ours - theirs).abs() <= theirs / 10 + 5_000,
            "ours {ours} us, Instant {theirs} us (tsc: {})",
            uses_tsc()
        );
    }
}
