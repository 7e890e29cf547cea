//! Mailboxes: a bounded queue for user messages (casts and calls) and an unbounded
//! path for system signals, which user messages can never block.
//!
//! Back-pressure: a sender to a full mailbox waits for room up to a deadline and then
//! gets `MailboxFull`; `try_send` fails at once. Nothing is dropped silently: a message
//! that is not accepted is reported to its sender, and a call accepted by an actor
//! that then dies is answered with `Exited(reason)` (see `node.rs`, the exit path).
//!
//! Both queues live under one mutex with the owner's waker. It allocates nothing
//! until the first message (an idle actor's mailbox is about 200 bytes; two tokio
//! channels took 3.9 KiB, their first blocks allocated up front), and the owner
//! takes a whole batch, signals first, under one lock. Room is counted by a tokio
//! `Semaphore` with one permit per free place: a sender takes one before it queues,
//! the owner gives them back as it takes messages, and places freed while senders
//! wait go to them in the order they came (as with tokio's bounded channel); each
//! waiting sender gives up at its own deadline.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use tokio::sync::{Semaphore, TryAcquireError, oneshot};

use crate::error::{ExitReason, SendError};

/// A DOWN: a monitored actor stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Down {
    /// The monitor that fired.
    pub monitor: u64,
    /// The raw id of the actor that stopped, as it was given to `monitor` (a raw id,
    /// since a guest may monitor any number, even one that was never an actor).
    pub actor: u64,
    /// Why it stopped; `Noproc` if it was gone when the monitor was made.
    pub reason: ExitReason,
}

/// The reply channel of one call.
pub(crate) type ReplyTx = oneshot::Sender<Result<Vec<u8>, SendError>>;

/// A user message.
#[derive(Debug)]
pub(crate) enum Envelope {
    /// Fire-and-forget. `from` is the raw sender id, 0 for the host.
    Cast { from: u64, payload: Vec<u8> },
    /// Request/reply.
    Call {
        from: u64,
        payload: Vec<u8>,
        reply: ReplyTx,
    },
}

/// A system signal, delivered ahead of user messages.
#[derive(Debug)]
pub(crate) enum Signal {
    /// Run `terminate` with this reason (bounded by the shutdown timeout) and stop.
    Stop(ExitReason),
    /// A monitored actor stopped.
    Down(Down),
    /// An exit signal, queued because the receiver traps exits. `placed`: it was
    /// sent with `processes.exit` and holds a place of the mailbox (a permit of
    /// `room`) until it is taken, so such signals are bounded and back-pressured
    /// like casts.
    Exit {
        from: crate::id::ActorId,
        reason: ExitReason,
        placed: bool,
    },
    /// A task this actor started returned (its DOWN follows).
    TaskDone {
        monitor: u64,
        result: Result<Vec<u8>, String>,
    },
    /// This actor now owns `table` (heir of `from`, or given away by it).
    TableTransfer {
        table: u64,
        from: u64,
        data: Vec<u8>,
    },
}

/// The sending side of an actor's mailbox.
#[derive(Debug, Clone)]
pub(crate) struct MailboxTx {
    /// The mailbox, seen as its signal queue by those who only send signals.
    pub(crate) signals: SignalTx,
}

/// Sends system signals to one actor (monitors and links keep these).
#[derive(Debug, Clone)]
pub(crate) struct SignalTx(Arc<Shared>);

/// The receiving side, owned by the actor's task; dropping it closes the mailbox.
#[derive(Debug)]
pub(crate) struct MailboxRx {
    shared: Arc<Shared>,
}

/// The signal queue of a mailbox, for a task that waits on its signals while
/// something else holds the `MailboxRx` (see `ActorTask::run_task`).
#[derive(Debug)]
pub(crate) struct SignalRx(Arc<Shared>);

/// What the owner takes from its mailbox.
#[derive(Debug)]
pub(crate) enum Received {
    /// A signal: signals overtake user messages.
    Signal(Signal),
    /// User messages, appended to the caller's buffer.
    User,
    /// The mailbox was closed.
    Closed,
}

struct Shared {
    state: Mutex<State>,
    /// One permit per free place in the user queue (see the module's comment).
    room: Semaphore,
    capacity: usize,
}

#[derive(Default)]
struct State {
    user: VecDeque<Envelope>,
    signals: VecDeque<Signal>,
    /// The owner's task while it waits for a message.
    waker: Option<Waker>,
    closed: bool,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.lock();
        f.debug_struct("Mailbox")
            .field("user", &st.user.len())
            .field("signals", &st.signals.len())
            .field("capacity", &self.capacity)
            .field("free", &self.room.available_permits())
            .field("closed", &st.closed)
            .finish()
    }
}

/// A queue that held more than this keeps at most `SHRUNK` slots once emptied, so an
/// idle actor does not keep the memory of its busiest moment.
const SHRINK_ABOVE: usize = 256;
const SHRUNK: usize = 32;

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; a poisoned state is still sound.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `env` for a sender that holds a place (a permit of `room`, forgotten);
    /// `Noproc` if the mailbox was closed meanwhile.
    fn push_user(&self, env: Envelope) -> Result<(), SendError> {
        let waker = {
            let mut st = self.lock();
            if st.closed {
                return Err(SendError::Noproc);
            }
            debug_assert!(st.user.len() < self.capacity, "a place was taken");
            st.user.push_back(env);
            st.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    fn push_signal(&self, signal: Signal) -> Result<(), Signal> {
        let waker = {
            let mut st = self.lock();
            if st.closed {
                return Err(signal);
            }
            st.signals.push_back(signal);
            st.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Takes a signal if there is one (with `signals`), else up to `max` user
    /// messages (with `user`), else registers the owner's waker.
    fn poll_take(
        &self,
        cx: &mut Context<'_>,
        signals: bool,
        user: Option<(&mut Vec<Envelope>, usize)>,
    ) -> Poll<Received> {
        let mut st = self.lock();
        if signals && let Some(signal) = st.signals.pop_front() {
            if st.signals.is_empty() && st.signals.capacity() > SHRINK_ABOVE {
                st.signals.shrink_to(SHRUNK);
            }
            drop(st);
            if let Signal::Exit { placed: true, .. } = signal {
                self.room.add_permits(1);
            }
            return Poll::Ready(Received::Signal(signal));
        }
        if let Some((buf, max)) = user
            && !st.user.is_empty()
        {
            let n = max.min(st.user.len());
            buf.extend(st.user.drain(..n));
            if st.user.is_empty() && st.user.capacity() > SHRINK_ABOVE {
                st.user.shrink_to(SHRUNK);
            }
            drop(st);
            self.room.add_permits(n);
            return Poll::Ready(Received::User);
        }
        if st.closed {
            return Poll::Ready(Received::Closed);
        }
        register(st, cx);
        Poll::Pending
    }

    /// Closes the mailbox and hands back what was queued; waiting senders get
    /// `Noproc`.
    fn close(&self) -> (VecDeque<Envelope>, VecDeque<Signal>) {
        let (taken, _waker) = {
            let mut st = self.lock();
            st.closed = true;
            (
                (
                    std::mem::take(&mut st.user),
                    std::mem::take(&mut st.signals),
                ),
                st.waker.take(),
            )
        };
        self.room.close();
        taken
    }
}

/// Leaves the owner's waker for the next message, then unlocks. A replaced waker is
/// dropped after the lock is released: dropping the last reference to another task
/// may run that task's destructors, which must not find the lock held.
fn register(mut st: MutexGuard<'_, State>, cx: &Context<'_>) {
    let replaced = match &st.waker {
        Some(w) if w.will_wake(cx.waker()) => None,
        _ => st.waker.replace(cx.waker().clone()),
    };
    drop(st);
    drop(replaced);
}

pub(crate) fn mailbox(capacity: usize) -> (MailboxTx, MailboxRx) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        room: Semaphore::new(capacity),
        capacity,
    });
    (
        MailboxTx {
            signals: SignalTx(shared.clone()),
        },
        MailboxRx { shared },
    )
}

impl MailboxTx {
    fn shared(&self) -> &Shared {
        &self.signals.0
    }

    fn full(&self) -> SendError {
        SendError::MailboxFull {
            capacity: self.shared().capacity,
        }
    }

    /// Queues `env`, waiting at most `timeout` for room (the clock is read only when
    /// the mailbox is full).
    pub(crate) async fn send_within(
        &self,
        env: Envelope,
        timeout: std::time::Duration,
    ) -> Result<(), SendError> {
        match self.shared().room.try_acquire() {
            Ok(place) => {
                place.forget();
                self.shared().push_user(env)
            }
            Err(TryAcquireError::Closed) => Err(SendError::Noproc),
            Err(TryAcquireError::NoPermits) => {
                self.send_until(env, tokio::time::Instant::now() + timeout)
                    .await
            }
        }
    }

    /// Queues `env`, waiting for room until `deadline`. A sender dropped while it
    /// waits leaves the queue of waiting senders.
    pub(crate) async fn send_until(
        &self,
        env: Envelope,
        deadline: tokio::time::Instant,
    ) -> Result<(), SendError> {
        self.take_place(deadline).await?;
        self.shared().push_user(env)
    }

    /// Takes a place of the mailbox (a permit of `room`, forgotten: the owner gives
    /// it back when it takes what was queued in it), waiting until `deadline`.
    async fn take_place(&self, deadline: tokio::time::Instant) -> Result<(), SendError> {
        let place = match self.shared().room.try_acquire() {
            Ok(place) => place,
            Err(TryAcquireError::Closed) => return Err(SendError::Noproc),
            Err(TryAcquireError::NoPermits) => {
                match tokio::time::timeout_at(deadline, self.shared().room.acquire()).await {
                    Ok(Ok(place)) => place,
                    Ok(Err(_closed)) => return Err(SendError::Noproc),
                    Err(_elapsed) => return Err(self.full()),
                }
            }
        };
        place.forget();
        Ok(())
    }

    /// Queues an exit signal sent with `processes.exit` in a place of the mailbox,
    /// as a cast (see [`Signal::Exit`]), waiting for room up to `timeout`.
    pub(crate) async fn send_exit_within(
        &self,
        from: crate::id::ActorId,
        reason: ExitReason,
        timeout: std::time::Duration,
    ) -> Result<(), SendError> {
        self.take_place(tokio::time::Instant::now() + timeout)
            .await?;
        let signal = Signal::Exit {
            from,
            reason,
            placed: true,
        };
        self.shared()
            .push_signal(signal)
            .map_err(|_closed| SendError::Noproc)
    }

    /// Queues `env` only if there is room now.
    pub(crate) fn try_send(&self, env: Envelope) -> Result<(), SendError> {
        match self.shared().room.try_acquire() {
            Ok(place) => {
                place.forget();
                self.shared().push_user(env)
            }
            Err(TryAcquireError::Closed) => Err(SendError::Noproc),
            Err(TryAcquireError::NoPermits) => Err(self.full()),
        }
    }
}

impl SignalTx {
    /// Queues `signal`; it comes back if the mailbox is closed (its owner is gone).
    pub(crate) fn send(&self, signal: Signal) -> Result<(), Signal> {
        self.0.push_signal(signal)
    }
}

impl MailboxRx {
    /// The next signal, else up to `max` user messages appended to `buf`; waits
    /// while both queues are empty.
    pub(crate) async fn recv(&self, buf: &mut Vec<Envelope>, max: usize) -> Received {
        debug_assert!(max > 0, "a batch of no messages would never wait");
        poll_fn(|cx| self.shared.poll_take(cx, true, Some((&mut *buf, max)))).await
    }

    /// The next signal, waiting for one; `None` once the mailbox is closed.
    pub(crate) async fn recv_signal(&self) -> Option<Signal> {
        self.signal_rx().recv().await
    }

    /// The next user message, waiting for one (signals stay queued); `None` once the
    /// mailbox is closed.
    pub(crate) async fn recv_user(&self) -> Option<Envelope> {
        let mut one = Vec::with_capacity(1);
        poll_fn(|cx| self.shared.poll_take(cx, false, Some((&mut one, 1)))).await;
        one.pop()
    }

    /// The signal queue alone, for waiting on it while the `MailboxRx` is borrowed.
    pub(crate) fn signal_rx(&self) -> SignalRx {
        SignalRx(self.shared.clone())
    }

    /// Closes the mailbox and answers every call still queued with `Exited(reason)`.
    /// Queued casts die with the actor, as in OTP; returns how many did, for the
    /// caller to count and report.
    #[must_use = "casts that died with the actor are dead letters: count them"]
    pub(crate) fn close_and_drain(&mut self, reason: &ExitReason) -> usize {
        end_undelivered(self.close_and_take(), reason)
    }

    /// Closes the mailbox and hands back the user messages still queued, for a child
    /// that keeps its mailbox across a restart.
    pub(crate) fn close_and_take(&mut self) -> VecDeque<Envelope> {
        self.shared.close().0
    }
}

/// Ends messages that will never be handled: each call is answered
/// `Exited(reason)`; returns how many casts there were (dead letters to count).
pub(crate) fn end_undelivered(
    envelopes: impl IntoIterator<Item = Envelope>,
    reason: &ExitReason,
) -> usize {
    let mut casts = 0;
    for env in envelopes {
        match env {
            Envelope::Call { reply, .. } => {
                let _ = reply.send(Err(SendError::Exited(reason.clone())));
            }
            Envelope::Cast { .. } => casts += 1,
        }
    }
    casts
}

impl Drop for MailboxRx {
    fn drop(&mut self) {
        // Outside the lock: dropping a queued call's reply sender wakes its caller.
        drop(self.shared.close());
    }
}

impl SignalRx {
    /// The next signal, waiting for one; `None` once the mailbox is closed.
    pub(crate) async fn recv(&self) -> Option<Signal> {
        poll_fn(|cx| self.0.poll_take(cx, true, None))
            .await
            .into_signal()
    }
}

impl Received {
    fn into_signal(self) -> Option<Signal> {
        match self {
            Received::Signal(signal) => Some(signal),
            Received::User | Received::Closed => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Envelope, Received, Signal, mailbox};
    use crate::error::{ExitReason, SendError};

    fn cast(n: u8) -> Envelope {
        Envelope::Cast {
            from: 0,
            payload: vec![n],
        }
    }

    fn payloads(buf: &mut Vec<Envelope>) -> Vec<u8> {
        buf.drain(..)
            .map(|e| match e {
                Envelope::Cast { payload, .. } => payload[0],
                Envelope::Call { .. } => unreachable!(),
            })
            .collect()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn signals_overtake_user_messages_and_batches_keep_order() {
        let (tx, rx) = mailbox(8);
        for n in 0..5 {
            tx.try_send(cast(n)).unwrap();
        }
        tx.signals.send(Signal::Stop(ExitReason::Normal)).unwrap();
        let mut buf = Vec::new();
        assert!(matches!(
            rx.recv(&mut buf, 3).await,
            Received::Signal(Signal::Stop(ExitReason::Normal))
        ));
        assert!(matches!(rx.recv(&mut buf, 3).await, Received::User));
        assert_eq!(payloads(&mut buf), [0, 1, 2]);
        assert!(matches!(rx.recv(&mut buf, 3).await, Received::User));
        assert_eq!(payloads(&mut buf), [3, 4]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_full_mailbox_refuses_at_once_or_after_the_deadline_and_wakes_a_waiter() {
        let (tx, rx) = mailbox(2);
        tx.try_send(cast(0)).unwrap();
        tx.try_send(cast(1)).unwrap();
        assert_eq!(
            tx.try_send(cast(2)),
            Err(SendError::MailboxFull { capacity: 2 })
        );
        // Nobody takes: the wait ends at the deadline.
        assert_eq!(
            tx.send_within(cast(2), Duration::from_millis(20)).await,
            Err(SendError::MailboxFull { capacity: 2 })
        );
        // The owner takes while a sender waits: the sender gets in.
        let waiter = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send_within(cast(2), Duration::from_secs(60)).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "the sender waits for room");
        let mut buf = Vec::new();
        assert!(matches!(rx.recv(&mut buf, 1).await, Received::User));
        assert_eq!(waiter.await.unwrap(), Ok(()));
        assert!(matches!(rx.recv(&mut buf, 8).await, Received::User));
        assert_eq!(payloads(&mut buf), [0, 1, 2]);
    }

    /// Room goes to waiting senders in the order they came, before any newcomer;
    /// one that gives up leaves the line.
    #[tokio::test(flavor = "current_thread")]
    async fn freed_room_goes_to_waiting_senders_in_order_before_newcomers() {
        let (tx, rx) = mailbox(1);
        tx.try_send(cast(0)).unwrap();
        let wait = |n: u8, secs: u64| {
            let tx = tx.clone();
            tokio::spawn(async move { tx.send_within(cast(n), Duration::from_secs(secs)).await })
        };
        let first = wait(1, 60);
        tokio::task::yield_now().await;
        let quitter = wait(9, 60);
        tokio::task::yield_now().await;
        let second = wait(2, 60);
        tokio::task::yield_now().await;
        quitter.abort();
        assert!(quitter.await.unwrap_err().is_cancelled());
        let mut buf = Vec::new();
        for expected in [0, 1, 2] {
            assert!(matches!(rx.recv(&mut buf, 1).await, Received::User));
            assert_eq!(payloads(&mut buf), [expected]);
            // A newcomer finds no room while someone waits for it.
            if expected < 2 {
                assert_eq!(
                    tx.try_send(cast(7)),
                    Err(SendError::MailboxFull { capacity: 1 })
                );
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(first.await.unwrap(), Ok(()));
        assert_eq!(second.await.unwrap(), Ok(()));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn closing_answers_queued_calls_and_wakes_waiting_senders_with_noproc() {
        let (tx, mut rx) = mailbox(1);
        let (reply, answer) = tokio::sync::oneshot::channel();
        tx.try_send(Envelope::Call {
            from: 0,
            payload: vec![],
            reply,
        })
        .unwrap();
        let waiter = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send_within(cast(9), Duration::from_secs(60)).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "the sender waits for room");
        assert_eq!(
            rx.close_and_drain(&ExitReason::Killed),
            0,
            "a call is no dead letter"
        );
        assert_eq!(
            answer.await.unwrap(),
            Err(SendError::Exited(ExitReason::Killed))
        );
        assert_eq!(waiter.await.unwrap(), Err(SendError::Noproc));
        assert_eq!(tx.try_send(cast(0)), Err(SendError::Noproc));
        assert!(tx.signals.send(Signal::Stop(ExitReason::Normal)).is_err());
        assert!(rx.recv_signal().await.is_none());
        drop(rx);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn closing_counts_the_queued_casts_that_die() {
        let (tx, mut rx) = mailbox(8);
        for n in 0..5 {
            tx.try_send(cast(n)).unwrap();
        }
        let (reply, _answer) = tokio::sync::oneshot::channel();
        tx.try_send(Envelope::Call {
            from: 0,
            payload: vec![],
            reply,
        })
        .unwrap();
        assert_eq!(rx.close_and_drain(&ExitReason::Killed), 5);
        assert_eq!(rx.close_and_drain(&ExitReason::Killed), 0, "counted once");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_drained_queue_gives_back_the_memory_of_a_burst() {
        let (tx, rx) = mailbox(1024);
        for n in 0..1024 {
            tx.try_send(cast(n as u8)).unwrap();
        }
        let mut buf = Vec::new();
        while !rx.shared.lock().user.is_empty() {
            rx.recv(&mut buf, 256).await;
        }
        assert!(rx.shared.lock().user.capacity() <= super::SHRINK_ABOVE);
    }
}
