//! Probes: host-side mailboxes with an actor address, so Rust code (tests above all)
//! can be the target of guests' casts and calls and assert on what arrives, with a
//! deadline and no polling. The seed of the test kit.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use crate::codec;
use crate::error::{ActorError, ExitReason, SendError, SpawnError};
use crate::events::EventError;
use crate::id::ActorId;
use crate::node::{Holdings, Node};
use crate::process::cell::{self, ActorCell};
use crate::process::mailbox::{Down, Envelope, MailboxRx, ReplyTx, Signal, mailbox};

/// A message that reached a probe.
#[derive(Debug)]
pub struct Received<M> {
    /// The sending actor, or `None` for the host.
    pub from: Option<ActorId>,
    /// The decoded message.
    pub msg: M,
    /// For a call: the handle to answer it with [`Probe::reply`].
    pub reply: Option<ProbeReply>,
}

/// The reply channel of a call that reached a probe.
#[derive(Debug)]
pub struct ProbeReply(ReplyTx);

/// Why a probe's receive failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// Nothing arrived within the deadline.
    #[error("nothing arrived within {0:?}")]
    Timeout(Duration),
    /// Something arrived that does not decode as the expected type.
    #[error("a message arrived that does not decode: {0}")]
    Decode(String),
    /// A different kind of system message arrived than the one expected.
    #[error("unexpected system message: {0}")]
    Unexpected(String),
}

/// A system message that reached a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SystemMessage {
    /// A monitored actor stopped.
    Down(Down),
    /// A linked actor stopped (or sent an exit signal).
    Exit {
        /// Who it came from.
        from: ActorId,
        /// Its reason.
        reason: ExitReason,
    },
    /// The probe became the owner of a table (heir, or `give_away`).
    TableTransfer {
        /// The table's id ([`crate::Runtime::table_by_id`]).
        table: u64,
        /// The previous owner (0: the host).
        from: u64,
        /// The heir's or the giver's data.
        data: Vec<u8>,
    },
}

/// A host-side mailbox with an actor address. Guests reach it by its id (or a name
/// registered with [`Probe::register`]) like any actor. Dropping it frees the
/// address; later sends get `noproc`.
pub struct Probe {
    cell: Arc<ActorCell>,
    rx: MailboxRx,
    node: Arc<Node>,
    exit_tx: watch::Sender<Option<ExitReason>>,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Probe({})", self.cell.id)
    }
}

impl Probe {
    pub(crate) fn new(node: Arc<Node>, id: ActorId, capacity: usize) -> Probe {
        let (tx, rx) = mailbox(capacity);
        let (exit_tx, exit_rx) = watch::channel(None);
        let cell = Arc::new(ActorCell::new(
            id,
            format!("probe{id}").into(),
            tx,
            exit_rx,
            true,
        ));
        node.registry.insert(cell.clone());
        Probe {
            cell,
            rx,
            node,
            exit_tx,
        }
    }

    /// The probe's address.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let a = runtime.probe();
    /// let b = runtime.probe();
    /// assert_ne!(a.id(), b.id());
    /// # Ok(()) }
    /// ```
    pub fn id(&self) -> ActorId {
        self.cell.id
    }

    /// Registers the probe under `name`, so guests find it with `whereis`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let mut probe = runtime.probe();
    /// probe.register("observer")?;
    /// // Taken while the probe lives.
    /// assert!(runtime.probe().register("observer").is_err());
    /// # Ok(()) }
    /// ```
    pub fn register(&self, name: &str) -> Result<(), SpawnError> {
        self.node
            .registry
            .register(&self.cell, name)
            .map_err(|_| SpawnError::NameTaken(name.to_string()))
    }

    /// Joins process group `group` (see docs/semantics.md, "Process groups").
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let mut probe = runtime.probe();
    /// probe.join("audit")?;
    /// runtime.dispatch("audit", &"entry").await?;
    /// assert_eq!(probe.recv::<String>(std::time::Duration::from_secs(5)).await?.msg, "entry");
    /// # Ok(()) }
    /// ```
    pub fn join(&self, group: &str) -> Result<(), EventError> {
        // A probe is the host's own test kit: no quota.
        self.node.events.join(self.cell.id.get(), group, usize::MAX)
    }

    /// Subscribes to topics matching `pattern` (see docs/semantics.md, "Pub/sub").
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let mut probe = runtime.probe();
    /// probe.subscribe("orders.*")?;
    /// runtime.publish("orders.new", &42).await?;
    /// runtime.publish("invoices.new", &43).await?;
    /// assert_eq!(probe.recv::<i32>(std::time::Duration::from_secs(5)).await?.msg, 42);
    /// probe.refute_receive(std::time::Duration::from_millis(20)).await;
    /// # Ok(()) }
    /// ```
    pub fn subscribe(&self, pattern: &str) -> Result<(), EventError> {
        self.node
            .events
            .subscribe(self.cell.id.get(), pattern, usize::MAX)
    }

    /// Waits at most `timeout` for the next message and decodes it as `M`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let mut probe = runtime.probe();
    /// use std::time::Duration;
    /// use foundation::ProbeError;
    /// let timeout = Duration::from_millis(10);
    /// assert_eq!(probe.recv::<i32>(timeout).await.unwrap_err(), ProbeError::Timeout(timeout));
    /// # Ok(()) }
    /// ```
    pub async fn recv<M: DeserializeOwned>(
        &mut self,
        timeout: Duration,
    ) -> Result<Received<M>, ProbeError> {
        let envelope = tokio::time::timeout(timeout, self.rx.recv_user())
            .await
            .map_err(|_| ProbeError::Timeout(timeout))?
            .expect("the probe holds a sender to its own mailbox");
        let (from, payload, reply) = match envelope {
            Envelope::Cast { from, payload } => (from, payload, None),
            Envelope::Call {
                from,
                payload,
                reply,
            } => (from, payload, Some(ProbeReply(reply))),
        };
        Ok(Received {
            from: ActorId::from_raw(from),
            msg: codec::decode(&payload).map_err(|e| ProbeError::Decode(e.to_string()))?,
            reply,
        })
    }

    /// Answers a call received by this probe.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let mut probe = runtime.probe();
    /// # runtime.add_component("testactor", foundation_fixtures::TESTACTOR)?;
    /// # let guest = runtime.spawn("testactor", &serde_json::json!({})).await?;
    /// use std::time::Duration;
    /// use serde_json::{Value, json};
    /// // A guest calls the probe with `{"Echo": "hi"}` and waits for the answer.
    /// # let request = json!({ "CallEcho": { "to": probe.id().get(), "text": "hi", "timeout_ms": 5000 } });
    /// # let pending = tokio::spawn(async move { guest.call::<_, Value>(&request, Duration::from_secs(5)).await });
    /// let call = probe.recv::<Value>(Duration::from_secs(5)).await?;
    /// assert_eq!(call.msg, json!({ "Echo": "hi" }));
    /// probe.reply(call.reply.expect("a call, not a cast"), &json!({ "Text": "hello" }))?;
    /// # assert_eq!(pending.await??, json!({ "Text": "Text(\"hello\")" }));
    /// # Ok(()) }
    /// ```
    pub fn reply<R: Serialize + ?Sized>(
        &self,
        to: ProbeReply,
        reply: &R,
    ) -> Result<(), ActorError> {
        let bytes = codec::encode(reply).map_err(|e| ActorError::Encode(e.to_string()))?;
        let _ = to.0.send(Ok(bytes));
        Ok(())
    }

    /// Monitors `target`: its DOWN arrives through [`Probe::recv_down`]. A dead
    /// target gives a DOWN with `Noproc` at once.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let mut probe = runtime.probe();
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let c = runtime.spawn("counter", &serde_json::json!({})).await?;
    /// let monitor = probe.monitor(c.id());
    /// c.kill();
    /// let down = probe.recv_down(std::time::Duration::from_secs(5)).await?;
    /// assert_eq!((down.monitor, down.reason), (monitor, foundation::ExitReason::Killed));
    /// # Ok(()) }
    /// ```
    pub fn monitor(&self, target: ActorId) -> u64 {
        self.node.monitor(&self.cell.mailbox.signals, target.get())
    }

    /// Links the probe with `target`: when the target stops, the probe receives an
    /// exit signal through [`Probe::recv_signal`] (a probe always traps exits).
    /// Errors: `Noproc` when the target is dead.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let mut probe = runtime.probe();
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let c = runtime.spawn("counter", &serde_json::json!({})).await?;
    /// probe.link(c.id())?;
    /// c.stop(foundation::ExitReason::Custom("bye".into())).await;
    /// let signal = probe.recv_signal(std::time::Duration::from_secs(5)).await?;
    /// assert_eq!(
    ///     signal,
    ///     foundation::SystemMessage::Exit { from: c.id(), reason: foundation::ExitReason::Custom("bye".into()) }
    /// );
    /// # Ok(()) }
    /// ```
    pub fn link(&self, target: ActorId) -> Result<(), SendError> {
        let target = self.node.registry.get(target).ok_or(SendError::Noproc)?;
        cell::link(&self.cell, &target).map_err(|_| SendError::Noproc)
    }

    /// Waits at most `timeout` for the next system message: a DOWN of the probe's
    /// monitors, or an exit signal from a linked actor.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let mut probe = runtime.probe();
    /// use std::time::Duration;
    /// assert!(probe.recv_signal(Duration::from_millis(10)).await.is_err(), "nothing yet");
    /// # Ok(()) }
    /// ```
    pub async fn recv_signal(&mut self, timeout: Duration) -> Result<SystemMessage, ProbeError> {
        loop {
            let signal = tokio::time::timeout(timeout, self.rx.recv_signal())
                .await
                .map_err(|_| ProbeError::Timeout(timeout))?
                .expect("the probe holds a sender to its own signals");
            match signal {
                Signal::Down(down) => return Ok(SystemMessage::Down(down)),
                Signal::Exit { from, reason, .. } => {
                    return Ok(SystemMessage::Exit { from, reason });
                }
                Signal::TableTransfer { table, from, data } => {
                    return Ok(SystemMessage::TableTransfer { table, from, data });
                }
                // Nothing asks a probe to stop (shutdown skips probes), and a probe
                // starts no tasks.
                Signal::Stop(_) | Signal::TaskDone { .. } => continue,
            }
        }
    }

    /// Waits at most `timeout` for the next DOWN; any other system message is an error.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let mut probe = runtime.probe();
    /// let other = runtime.probe();
    /// let id = other.id();
    /// drop(other);
    /// // Monitoring the dead gives a DOWN with `noproc` at once.
    /// probe.monitor(id);
    /// let down = probe.recv_down(std::time::Duration::from_secs(5)).await?;
    /// assert_eq!(down.reason, foundation::ExitReason::Noproc);
    /// # Ok(()) }
    /// ```
    pub async fn recv_down(&mut self, timeout: Duration) -> Result<Down, ProbeError> {
        match self.recv_signal(timeout).await? {
            SystemMessage::Down(down) => Ok(down),
            other => Err(ProbeError::Unexpected(format!("{other:?}"))),
        }
    }

    /// Asserts that nothing arrives within `timeout`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let mut probe = runtime.probe();
    /// probe.refute_receive(std::time::Duration::from_millis(10)).await;
    /// # Ok(()) }
    /// ```
    pub async fn refute_receive(&mut self, timeout: Duration) {
        if let Ok(Some(envelope)) = tokio::time::timeout(timeout, self.rx.recv_user()).await {
            panic!("expected no message within {timeout:?}, got {envelope:?}");
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.node.exit(
            &self.cell,
            Some(ExitReason::Normal),
            &mut Holdings::default(),
            &mut self.rx,
            &self.exit_tx,
        );
    }
}
