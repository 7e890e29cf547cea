//! The host side of the `events` interface: timers, process groups and pub/sub.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use crate::events::EventError;
use crate::sandbox::{HitCounters, limit_hit};

use crate::timers::Timer;
use crate::wasm::bindings::foundation::actor::events as we;
use crate::wasm::store::ActorData;

impl ActorData {
    /// Counts and logs a quota refusal (as every limit hit is), passing the result on.
    fn counted<T>(
        &self,
        result: Result<T, EventError>,
        quota: &str,
        max: usize,
        counter: impl Fn(&HitCounters) -> &AtomicU64,
    ) -> Result<T, EventError> {
        result.map_err(|e| match e {
            EventError::QuotaExceeded(why) => EventError::QuotaExceeded(limit_hit(
                counter(&self.node.hits),
                &self.cell.label,
                quota,
                max,
                why,
            )),
            other => other,
        })
    }

    fn check_event_size(&self, msg: &[u8]) -> Result<(), we::EventError> {
        if msg.len() > self.node.settings.max_message_size {
            return Err(we::EventError::TooLarge(msg.len() as u64));
        }
        Ok(())
    }

    fn start_timer(
        &mut self,
        to: u64,
        delay: Duration,
        period: Option<Duration>,
        msg: Vec<u8>,
    ) -> Result<u64, we::EventError> {
        self.check_event_size(&msg)?;
        let max = self.quotas.max_timers;
        if self.timers.len() >= max.min(64) {
            self.timers.retain(|_, t| !t.is_done());
        }
        if self.timers.len() >= max {
            return Err(we::EventError::QuotaExceeded(limit_hit(
                &self.node.hits.timers,
                &self.cell.label,
                "max_timers",
                max,
                format!("max_timers: this actor holds {max} live timers already, its limit"),
            )));
        }
        let id = self.node.events.next_timer();
        let timer = Timer::start(&self.node, self.me(), to, delay, period, msg, id);
        self.timers.insert(id, timer);
        Ok(id)
    }

    /// Fans out without holding `self` across the sends (the store state is not
    /// `Sync`).
    fn fan_out(
        &self,
        to: Vec<u64>,
        msg: Vec<u8>,
        what: String,
    ) -> impl Future<Output = we::Fanout> + Send + 'static {
        let (node, me) = (self.node.clone(), self.me());
        async move { node.fan_out(me, &to, &msg, &what).await.into() }
    }
}

impl we::Host for ActorData {
    fn send_after(&mut self, to: u64, delay_ms: u32, msg: Vec<u8>) -> Result<u64, we::EventError> {
        self.start_timer(to, Duration::from_millis(delay_ms.into()), None, msg)
    }

    fn send_interval(
        &mut self,
        to: u64,
        period_ms: u32,
        msg: Vec<u8>,
    ) -> Result<u64, we::EventError> {
        if period_ms == 0 {
            return Err(we::EventError::Invalid(
                "an interval's period is at least 1 ms".into(),
            ));
        }
        let period = Duration::from_millis(period_ms.into());
        self.start_timer(to, period, Some(period), msg)
    }

    fn cancel_timer(&mut self, timer: u64) -> bool {
        self.timers.remove(&timer).is_some_and(Timer::cancel)
    }

    fn join(&mut self, group: String) -> Result<(), we::EventError> {
        let max = self.quotas.max_groups;
        let joined = self.node.events.join(self.me(), &group, max);
        Ok(self.counted(joined, "max_groups", max, |h| &h.groups)?)
    }

    fn leave(&mut self, group: String) -> Result<bool, we::EventError> {
        Ok(self.node.events.leave(self.me(), &group)?)
    }

    fn members(&mut self, group: String) -> Result<Vec<u64>, we::EventError> {
        Ok(self.node.events.members(&group)?)
    }

    async fn dispatch(
        &mut self,
        group: String,
        msg: Vec<u8>,
    ) -> Result<we::Fanout, we::EventError> {
        self.check_event_size(&msg)?;
        let to = self.node.events.members(&group)?;
        Ok(self
            .fan_out(to, msg, format!("dispatch to group {group:?}"))
            .await)
    }

    fn subscribe(&mut self, pattern: String) -> Result<(), we::EventError> {
        let max = self.quotas.max_subscriptions;
        let subscribed = self.node.events.subscribe(self.me(), &pattern, max);
        Ok(self.counted(subscribed, "max_subscriptions", max, |h| &h.subscriptions)?)
    }

    fn unsubscribe(&mut self, pattern: String) -> Result<bool, we::EventError> {
        Ok(self.node.events.unsubscribe(self.me(), &pattern)?)
    }

    async fn publish(&mut self, topic: String, msg: Vec<u8>) -> Result<we::Fanout, we::EventError> {
        self.check_event_size(&msg)?;
        let to = self.node.events.subscribers(&topic)?;
        Ok(self.fan_out(to, msg, format!("publish to {topic:?}")).await)
    }

    async fn broadcast_from(
        &mut self,
        topic: String,
        msg: Vec<u8>,
    ) -> Result<we::Fanout, we::EventError> {
        self.check_event_size(&msg)?;
        let me = self.me();
        let mut to = self.node.events.subscribers(&topic)?;
        to.retain(|a| *a != me);
        Ok(self
            .fan_out(to, msg, format!("broadcast to {topic:?}"))
            .await)
    }
}
