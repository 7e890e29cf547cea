//! The epoch ticker: advances the engine's epoch on its own thread so busy guests
//! reach their yield point, every time slice while some guest is busy and slower when
//! none is (docs/semantics.md, "Busy guests and fairness").

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use wasmtime::Engine;

/// The slowest the ticker goes, once no guest is busy.
const IDLE_TICK: Duration = Duration::from_millis(10);
/// Ticks without a busy guest before the ticker slows down.
const QUIET_TICKS: u32 = 100;

/// When the ticker wakes next: every `slice` while guests run through ticks, every
/// `IDLE_TICK` once none has for `QUIET_TICKS` ticks (docs/semantics.md, "Busy guests
/// and fairness").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pace {
    slice: Duration,
    quiet: u32,
}

impl Pace {
    pub(crate) fn new(slice: Duration) -> Pace {
        // Start slow: a new runtime has no busy guest yet.
        Pace {
            slice,
            quiet: QUIET_TICKS,
        }
    }

    /// The interval to sleep after a tick; `busy`: a guest ran a full slice (two ticks
    /// in a row in one entry) since the last call.
    pub(crate) fn next(&mut self, busy: bool) -> Duration {
        if busy {
            self.quiet = 0;
        } else {
            self.quiet = self.quiet.saturating_add(1);
        }
        if self.quiet >= QUIET_TICKS {
            self.slice.max(IDLE_TICK)
        } else {
            self.slice
        }
    }
}

/// Advances the engine's epoch on its own thread, so busy guests reach their yield
/// point: every time slice while some guest is busy (it calls [`EpochTicker::busy`]
/// from its epoch callback), slower when none is. Stops when dropped.
#[derive(Debug)]
pub(crate) struct EpochTicker {
    shared: Arc<TickerShared>,
    thread: std::thread::Thread,
    /// The time slice: an interval longer than this is the idle one.
    slice: Duration,
}

#[derive(Debug, Default)]
struct TickerShared {
    /// Ticks so far (the epoch, as this ticker advanced it).
    ticks: AtomicU64,
    /// The current interval between ticks, in nanoseconds.
    interval_ns: AtomicU64,
    stop: AtomicBool,
    /// A guest ran a full slice since the ticker last looked.
    busy: AtomicBool,
}

impl EpochTicker {
    pub(crate) fn start(engine: Engine, slice: Duration) -> EpochTicker {
        let shared = Arc::new(TickerShared::default());
        let ticker = shared.clone();
        // A weak reference: the engine (and the address space its pool reserves) is
        // freed as soon as the runtime drops, not when this thread next wakes.
        let engine = engine.weak();
        let thread = std::thread::Builder::new()
            .name("foundation-epoch".into())
            .spawn(move || {
                let mut pace = Pace::new(slice);
                let mut interval = pace.next(false);
                ticker.publish(interval);
                loop {
                    // An early wake (a guest turned busy, or a spurious one) only
                    // brings the next tick forward.
                    std::thread::park_timeout(interval);
                    if ticker.stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let Some(engine) = engine.upgrade() else {
                        return;
                    };
                    // The count first: a guest that sees the new epoch reads it.
                    ticker.ticks.fetch_add(1, Ordering::Relaxed);
                    engine.increment_epoch();
                    interval = pace.next(ticker.busy.swap(false, Ordering::Relaxed));
                    ticker.publish(interval);
                }
            })
            .expect("spawning the epoch thread")
            .thread()
            .clone();
        EpochTicker {
            shared,
            thread,
            slice,
        }
    }

    /// The ticks so far.
    pub(crate) fn ticks(&self) -> u64 {
        self.shared.ticks.load(Ordering::Relaxed)
    }

    /// The current interval between ticks.
    fn interval(&self) -> Duration {
        Duration::from_nanos(self.shared.interval_ns.load(Ordering::Relaxed))
    }

    /// A guest ran a full slice: keep ticking every slice, or start to.
    pub(crate) fn busy(&self) {
        // Read first: while guests are busy the flag is mostly set already, and a
        // load leaves the cache line shared.
        if !self.shared.busy.load(Ordering::Relaxed) {
            self.shared.busy.store(true, Ordering::Relaxed);
            // A slow ticker sleeps the idle interval: wake it.
            if self.interval() > self.slice {
                self.thread.unpark();
            }
        }
    }
}

impl TickerShared {
    fn publish(&self, interval: Duration) {
        let ns = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
        self.interval_ns.store(ns, Ordering::Relaxed);
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.thread.unpark();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ticker_ticks_every_slice_while_guests_are_busy_and_slows_when_none_is() {
        let slice = Duration::from_millis(1);
        let mut pace = Pace::new(slice);
        assert_eq!(pace.next(false), IDLE_TICK, "a new runtime starts slow");
        assert_eq!(pace.next(true), slice, "a busy guest speeds it up at once");
        for _ in 1..QUIET_TICKS {
            assert_eq!(pace.next(false), slice, "quiet ticks keep the pace a while");
        }
        assert_eq!(pace.next(false), IDLE_TICK, "then it slows down");
        assert_eq!(pace.next(true), slice);
        // A slice longer than the idle tick is kept as it is.
        let mut long = Pace::new(Duration::from_millis(50));
        assert_eq!(long.next(false), Duration::from_millis(50));
        assert_eq!(long.next(true), Duration::from_millis(50));
    }
}
