//! Timers (OTP's `erlang:send_after` and `timer:send_interval`): a tokio task per
//! timer that casts its message to its target, with a pending/fired/cancelled state
//! so `cancel` answers exactly whether it stopped something (docs/semantics.md,
//! "Timers"). An actor's timers live in its store and die with it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use crate::node::Node;

/// One timer of an actor: pending, fired (one-shot) or cancelled.
#[derive(Debug)]
pub(crate) struct Timer {
    state: Arc<AtomicU8>,
    task: tokio::task::AbortHandle,
    interval: bool,
}

const PENDING: u8 = 0;
const FIRED: u8 = 1;
const CANCELLED: u8 = 2;

/// How many ticks of period `p`, the first due at `due`, are already past at `now`
/// (their time came while the previous one was held back).
fn missed_ticks(due: tokio::time::Instant, now: tokio::time::Instant, p: Duration) -> u64 {
    if now <= due {
        return 0;
    }
    // A tick whose time is not yet a whole period past is sent late, not skipped.
    let late = now - due;
    (late.as_nanos() / p.as_nanos().max(1)) as u64
}

impl Timer {
    /// Starts a timer owned by `owner` that casts `payload` to `to` after `delay`,
    /// then every `period` if given.
    pub(crate) fn start(
        node: &Arc<Node>,
        owner: u64,
        to: u64,
        delay: Duration,
        period: Option<Duration>,
        payload: Vec<u8>,
        timer: u64,
    ) -> Timer {
        let state = Arc::new(AtomicU8::new(PENDING));
        let flag = state.clone();
        let inner = node.clone();
        let task = node
            .handle
            .spawn(async move {
                let mut due = tokio::time::Instant::now() + delay;
                tokio::time::sleep_until(due).await;
                let what = format!("timer {timer} of #{owner}");
                loop {
                    if period.is_none()
                        && flag
                            .compare_exchange(PENDING, FIRED, Ordering::AcqRel, Ordering::Acquire)
                            .is_err()
                    {
                        return;
                    }
                    inner.fan_out(owner, &[to], &payload, &what).await;
                    let Some(p) = period else { return };
                    // Ticks keep their schedule; those whose time passed while this
                    // one was held back are skipped and counted, never sent in a burst.
                    due += p;
                    let missed = missed_ticks(due, tokio::time::Instant::now(), p);
                    if missed > 0 {
                        due += p * u32::try_from(missed).unwrap_or(u32::MAX);
                        inner.events.dead_letters.fetch_add(missed, Ordering::Relaxed);
                        tracing::warn!(timer, owner, to, missed, "{what}: {missed} interval ticks missed their time (the send was held back) and were skipped; counted as dead letters");
                    }
                    tokio::time::sleep_until(due).await;
                }
            })
            .abort_handle();
        Timer {
            state,
            task,
            interval: period.is_some(),
        }
    }

    /// Stops the timer; true if it was still pending. A one-shot timer that has
    /// fired is left to finish its send (it may be waiting for room), so its message
    /// is delivered or counted as a dead letter, never dropped in between.
    pub(crate) fn cancel(self) -> bool {
        let was_pending = self
            .state
            .compare_exchange(PENDING, CANCELLED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if was_pending || self.interval {
            self.task.abort();
        }
        was_pending
    }

    /// Kills the timer with its owner.
    pub(crate) fn kill(self) {
        self.task.abort();
    }

    /// A one-shot timer that has fired (its entry can go).
    pub(crate) fn is_done(&self) -> bool {
        !self.interval && self.state.load(Ordering::Acquire) != PENDING
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::missed_ticks;

    #[test]
    fn ticks_late_by_a_whole_period_or_more_are_missed() {
        let p = Duration::from_millis(10);
        let due = tokio::time::Instant::now();
        assert_eq!(missed_ticks(due, due - p, p), 0, "not due yet");
        assert_eq!(missed_ticks(due, due, p), 0);
        assert_eq!(missed_ticks(due, due + p / 2, p), 0, "late, sent late");
        assert_eq!(missed_ticks(due, due + p, p), 1);
        assert_eq!(missed_ticks(due, due + p * 5 / 2, p), 2);
    }
}
