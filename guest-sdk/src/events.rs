//! Timers, process groups and pub/sub. Every message these deliver is a cast: it
//! arrives in [`crate::Actor::handle_cast`] as this actor's `Cast` type, so send
//! values of the receiver's `Cast` type. See docs/semantics.md: "Timers", "Process
//! groups", "Pub/sub" and "Fan-out".
//!
//! ```no_run
//! use std::time::Duration;
//! use foundation_sdk::events;
//! # #[derive(serde::Serialize)] enum Cast { Tick, Price(u64) }
//! // A tick to this actor every second, until cancelled or this actor stops.
//! let tick = events::send_interval(foundation_sdk::self_id(), Duration::from_secs(1), &Cast::Tick).unwrap();
//! events::subscribe("prices.>").unwrap();
//! let sent = events::publish("prices.eurusd", &Cast::Price(109)).unwrap();
//! assert_eq!(sent.dead_letters, 0);
//! events::cancel_timer(tick);
//! ```

use std::time::Duration;

use serde::Serialize;

use crate::ActorId;
use crate::bindings::foundation::actor::events as we;
use crate::codec;

pub use we::{EventError, Fanout};

/// Names one timer of this actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerRef(u64);

fn encode<M: Serialize + ?Sized>(msg: &M) -> Result<Vec<u8>, EventError> {
    codec::encode(msg).map_err(|e| EventError::Invalid(format!("the message does not encode: {e}")))
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// Casts `msg` to `to` once, after `delay`. The timer dies with this actor.
pub fn send_after<M: Serialize + ?Sized>(
    to: ActorId,
    delay: Duration,
    msg: &M,
) -> Result<TimerRef, EventError> {
    we::send_after(to.get(), millis(delay), &encode(msg)?).map(TimerRef)
}

/// Casts `msg` to `to` every `period` (at least 1 ms), until cancelled or this actor
/// stops.
pub fn send_interval<M: Serialize + ?Sized>(
    to: ActorId,
    period: Duration,
    msg: &M,
) -> Result<TimerRef, EventError> {
    we::send_interval(to.get(), millis(period), &encode(msg)?).map(TimerRef)
}

/// Cancels a timer: true if it was pending (it will not fire, or not again); false
/// if a one-shot timer already fired.
pub fn cancel_timer(timer: TimerRef) -> bool {
    we::cancel_timer(timer.0)
}

/// Joins `group` (memberships count, as in OTP's `pg`).
pub fn join(group: &str) -> Result<(), EventError> {
    we::join(group)
}

/// Removes one membership of `group`; returns whether there was one.
pub fn leave(group: &str) -> Result<bool, EventError> {
    we::leave(group)
}

/// The live members of `group`, each once, in join order.
pub fn members(group: &str) -> Result<Vec<ActorId>, EventError> {
    Ok(we::members(group)?
        .into_iter()
        .filter_map(ActorId::from_raw)
        .collect())
}

/// Casts `msg` to every member of `group`.
pub fn dispatch<M: Serialize + ?Sized>(group: &str, msg: &M) -> Result<Fanout, EventError> {
    we::dispatch(group, &encode(msg)?)
}

/// Subscribes to topics matching `pattern` (`*` one token, `>` the rest).
pub fn subscribe(pattern: &str) -> Result<(), EventError> {
    we::subscribe(pattern)
}

/// Ends the subscription to exactly `pattern`; returns whether there was one.
pub fn unsubscribe(pattern: &str) -> Result<bool, EventError> {
    we::unsubscribe(pattern)
}

/// Casts `msg` to every subscriber whose pattern matches `topic`, once each.
pub fn publish<M: Serialize + ?Sized>(topic: &str, msg: &M) -> Result<Fanout, EventError> {
    we::publish(topic, &encode(msg)?)
}

/// [`publish`], skipping this actor.
pub fn broadcast_from<M: Serialize + ?Sized>(topic: &str, msg: &M) -> Result<Fanout, EventError> {
    we::broadcast_from(topic, &encode(msg)?)
}

impl TimerRef {
    /// The raw ref.
    pub fn get(self) -> u64 {
        self.0
    }
    /// A timer ref from its raw value.
    pub fn from_raw(raw: u64) -> TimerRef {
        TimerRef(raw)
    }
}
