//! Mailboxes: a bounded queue for user messages (casts and calls) and an unbounded
//! path for system signals, which user messages can never block.
//!
//! Back-pressure: a sender to a full mailbox waits for room up to a deadline and then
//! gets `MailboxFull`; `try_send` fails at once. Nothing is dropped silently: a message
//! that is not accepted is reported to its sender, and a call accepted by an actor
//! that then dies is answered with `Exited(reason)` (see `actor.rs`, the exit path).

use tokio::sync::{mpsc, oneshot};

use crate::error::{ExitReason, SendError};

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
    Down(crate::registry::Down),
    /// An exit signal, queued because the receiver traps exits.
    Exit {
        from: crate::id::ActorId,
        reason: ExitReason,
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
    pub(crate) user: mpsc::Sender<Envelope>,
    pub(crate) signals: mpsc::UnboundedSender<Signal>,
    pub(crate) capacity: usize,
}

/// The receiving side, owned by the actor's task.
#[derive(Debug)]
pub(crate) struct MailboxRx {
    pub(crate) user: mpsc::Receiver<Envelope>,
    pub(crate) signals: mpsc::UnboundedReceiver<Signal>,
}

pub(crate) fn mailbox(capacity: usize) -> (MailboxTx, MailboxRx) {
    let (utx, urx) = mpsc::channel(capacity);
    let (stx, srx) = mpsc::unbounded_channel();
    (
        MailboxTx {
            user: utx,
            signals: stx,
            capacity,
        },
        MailboxRx {
            user: urx,
            signals: srx,
        },
    )
}

impl MailboxTx {
    /// Queues `env`, waiting at most `timeout` for room (the clock is read only when
    /// the mailbox is full).
    pub(crate) async fn send_within(
        &self,
        env: Envelope,
        timeout: std::time::Duration,
    ) -> Result<(), SendError> {
        match self.user.try_send(env) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SendError::Noproc),
            Err(mpsc::error::TrySendError::Full(env)) => {
                self.send_until(env, tokio::time::Instant::now() + timeout)
                    .await
            }
        }
    }

    /// Queues `env`, waiting for room until `deadline`.
    pub(crate) async fn send_until(
        &self,
        env: Envelope,
        deadline: tokio::time::Instant,
    ) -> Result<(), SendError> {
        match self.user.try_send(env) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SendError::Noproc),
            Err(mpsc::error::TrySendError::Full(env)) => {
                let wait = deadline.saturating_duration_since(tokio::time::Instant::now());
                match self.user.send_timeout(env, wait).await {
                    Ok(()) => Ok(()),
                    Err(mpsc::error::SendTimeoutError::Closed(_)) => Err(SendError::Noproc),
                    Err(mpsc::error::SendTimeoutError::Timeout(_)) => Err(SendError::MailboxFull {
                        capacity: self.capacity,
                    }),
                }
            }
        }
    }

    /// Queues `env` only if there is room now.
    pub(crate) fn try_send(&self, env: Envelope) -> Result<(), SendError> {
        self.user.try_send(env).map_err(|e| match e {
            mpsc::error::TrySendError::Closed(_) => SendError::Noproc,
            mpsc::error::TrySendError::Full(_) => SendError::MailboxFull {
                capacity: self.capacity,
            },
        })
    }
}

impl MailboxRx {
    /// Closes the mailbox and answers every call still queued with `Exited(reason)`.
    /// Queued casts die with the actor, as in OTP.
    pub(crate) fn close_and_drain(&mut self, reason: &ExitReason) {
        self.user.close();
        while let Ok(env) = self.user.try_recv() {
            if let Envelope::Call { reply, .. } = env {
                let _ = reply.send(Err(SendError::Exited(reason.clone())));
            }
        }
        self.signals.close();
    }
}
