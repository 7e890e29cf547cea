//! `ActorRef` (a handle to an actor for Rust code: typed calls and casts, stop, kill,
//! its exit) and `ActorOptions` (how to start one).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec;
use crate::error::{ActorError, ExitReason, SendError};
use crate::id::{ActorId, HOST};
use crate::node::{Node, kill, stop, wait_exit};
use crate::process::cell::{ActorCell, Slot};
use crate::sandbox::Sandbox;

/// How to start an actor from Rust: the component, and optionally a name to register
/// and a mailbox capacity.
#[derive(Debug, Clone)]
pub struct ActorOptions {
    pub(crate) component: String,
    pub(crate) name: Option<String>,
    pub(crate) mailbox: Option<usize>,
    pub(crate) sandbox: Sandbox,
}

impl ActorOptions {
    /// Options for an actor of `component`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let c = runtime.spawn_with(foundation::ActorOptions::new("counter"), &serde_json::json!({})).await?;
    /// # drop(c);
    /// # Ok(()) }
    /// ```
    pub fn new(component: &str) -> Self {
        ActorOptions {
            component: component.to_string(),
            name: None,
            mailbox: None,
            sandbox: Sandbox::default(),
        }
    }

    /// Registers the actor under `name` before its `init` runs.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let options = foundation::ActorOptions::new("counter").name("counter");
    /// let c = runtime.spawn_with(options, &serde_json::json!({})).await?;
    /// assert_eq!(c.label(), "counter");
    /// # Ok(()) }
    /// ```
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// Its mailbox capacity (from 1 to
    /// [`MAX_MAILBOX_CAPACITY`](crate::MAX_MAILBOX_CAPACITY); a larger one is lowered
    /// to it).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let options = foundation::ActorOptions::new("counter").mailbox(8);
    /// let c = runtime.spawn_with(options, &serde_json::json!({})).await?;
    /// # drop(c);
    /// # Ok(()) }
    /// ```
    pub fn mailbox(mut self, capacity: usize) -> Self {
        self.mailbox = Some(capacity);
        self
    }

    /// Its linear-memory limit in bytes (capped by the runtime's
    /// [`RuntimeBuilder::max_memory_bytes`](crate::RuntimeBuilder::max_memory_bytes)). Growing past it fails inside the guest,
    /// which usually traps; the exit reason then names the limit.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let options = foundation::ActorOptions::new("counter").max_memory(32 << 20);
    /// let c = runtime.spawn_with(options, &serde_json::json!({})).await?;
    /// # drop(c);
    /// # Ok(()) }
    /// ```
    pub fn max_memory(mut self, bytes: usize) -> Self {
        self.sandbox.limits.max_memory = Some(bytes);
        self
    }

    /// Its handler deadline (see [`RuntimeBuilder::handler_deadline`](crate::RuntimeBuilder::handler_deadline)).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let options = foundation::ActorOptions::new("counter").deadline(std::time::Duration::from_millis(500));
    /// let c = runtime.spawn_with(options, &serde_json::json!({})).await?;
    /// # drop(c);
    /// # Ok(()) }
    /// ```
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.sandbox.limits.deadline = Some(deadline);
        self
    }

    /// Its capabilities and limits (replacing what [`ActorOptions::max_memory`] and
    /// [`ActorOptions::deadline`] set). Actors it starts run in the same sandbox.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let mut sandbox = foundation::Sandbox::default();
    /// sandbox.limits.max_memory = Some(32 << 20);
    /// let options = foundation::ActorOptions::new("counter").sandbox(sandbox);
    /// let c = runtime.spawn_with(options, &serde_json::json!({})).await?;
    /// # drop(c);
    /// # Ok(()) }
    /// ```
    pub fn sandbox(mut self, sandbox: Sandbox) -> Self {
        self.sandbox = sandbox;
        self
    }
}

/// A handle to an actor, for calls and casts from Rust. Cheap to clone.
///
/// Messages are any serde type, encoded as MessagePack (the guest SDK's format).
///
/// A reference to a supervised child follows it across restarts: after a restart it
/// reaches the new instance (its [`ActorRef::id`] changes).
#[derive(Clone)]
pub struct ActorRef {
    slot: Arc<Slot>,
    node: Arc<Node>,
}

impl std::fmt::Debug for ActorRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cell = self.slot.get();
        write!(f, "ActorRef({} {})", cell.label, cell.id)
    }
}

impl ActorRef {
    pub(crate) fn new(slot: Arc<Slot>, node: Arc<Node>) -> ActorRef {
        ActorRef { slot, node }
    }

    /// The current instance.
    pub(crate) fn cell(&self) -> Arc<ActorCell> {
        self.slot.get()
    }

    /// The id of the actor's current instance.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let a = runtime.spawn("counter", &serde_json::json!({})).await?;
    /// let b = runtime.spawn("counter", &serde_json::json!({})).await?;
    /// assert_ne!(a.id(), b.id());
    /// # Ok(()) }
    /// ```
    pub fn id(&self) -> ActorId {
        self.cell().id
    }

    /// Its manifest name or registered name at start, else `component#id`; for logs.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let c = runtime.spawn("counter", &serde_json::json!({})).await?;
    /// assert_eq!(c.label(), format!("counter{}", c.id())); // `ActorId` displays as `#N`
    /// # Ok(()) }
    /// ```
    pub fn label(&self) -> String {
        self.cell().label.to_string()
    }

    /// Calls the actor and waits at most `timeout` for the reply.
    ///
    /// Fails at once with `Noproc` if the actor is dead, and with `Exited(reason)` if
    /// it stops before replying; with `Timeout` after `timeout`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// use std::time::Duration;
    /// use foundation::{ActorError, ExitReason, SendError};
    /// let counter = runtime.spawn("counter", &serde_json::json!({ "start": 5 })).await?;
    /// let n: i64 = counter.call(&"Get", Duration::from_secs(5)).await?;
    /// assert_eq!(n, 5);
    /// assert_eq!(counter.stop(ExitReason::Shutdown).await, ExitReason::Shutdown);
    /// let dead = counter.call::<_, i64>(&"Get", Duration::from_secs(5)).await;
    /// assert_eq!(dead, Err(ActorError::Send(SendError::Noproc)));
    /// # Ok(()) }
    /// ```
    pub async fn call<M: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        msg: &M,
        timeout: Duration,
    ) -> Result<R, ActorError> {
        let bytes = codec::encode(msg).map_err(|e| ActorError::Encode(e.to_string()))?;
        let reply = self.call_raw(bytes, timeout).await?;
        codec::decode(&reply).map_err(|e| ActorError::Decode(e.to_string()))
    }

    /// [`ActorRef::call`] with encoded bytes.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let c = runtime.spawn("counter", &serde_json::json!({ "start": 3 })).await?;
    /// let request = foundation::codec::encode(&"Get")?;
    /// let reply = c.call_raw(request, std::time::Duration::from_secs(5)).await?;
    /// assert_eq!(foundation::codec::decode::<i64>(&reply)?, 3);
    /// # Ok(()) }
    /// ```
    pub async fn call_raw(&self, msg: Vec<u8>, timeout: Duration) -> Result<Vec<u8>, SendError> {
        self.node.call(HOST, &self.cell(), msg, timeout).await
    }

    /// Casts to the actor, waiting for room in its mailbox up to the runtime's send
    /// timeout, then failing with `MailboxFull`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// use serde_json::json;
    /// let c = runtime.spawn("counter", &json!({})).await?;
    /// c.cast(&json!({ "Add": 2 })).await?;
    /// // Casts from one sender arrive in order, before this later call.
    /// assert_eq!(c.call::<_, i64>(&"Get", std::time::Duration::from_secs(5)).await?, 2);
    /// # Ok(()) }
    /// ```
    pub async fn cast<M: Serialize + ?Sized>(&self, msg: &M) -> Result<(), ActorError> {
        let bytes = codec::encode(msg).map_err(|e| ActorError::Encode(e.to_string()))?;
        Ok(self.cast_raw(bytes).await?)
    }

    /// [`ActorRef::cast`] with encoded bytes.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let c = runtime.spawn("counter", &serde_json::json!({})).await?;
    /// c.cast_raw(foundation::codec::encode(&"Reset")?).await?;
    /// assert_eq!(c.call::<_, i64>(&"Get", std::time::Duration::from_secs(5)).await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn cast_raw(&self, msg: Vec<u8>) -> Result<(), SendError> {
        self.node.cast(HOST, &self.cell(), msg).await
    }

    /// Casts only if the mailbox has room now; `MailboxFull` otherwise.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// use foundation::{ActorOptions, ActorError, SendError};
    /// use serde_json::json;
    /// let counter = runtime
    ///     .spawn_with(ActorOptions::new("counter").name("c").mailbox(1), &json!({}))
    ///     .await?;
    /// match counter.try_cast(&json!({ "Add": 1 })) {
    ///     Ok(()) => {}
    ///     // Back-pressure: shed load or retry later, but nothing was queued.
    ///     Err(ActorError::Send(SendError::MailboxFull { capacity })) => {
    ///         eprintln!("counter busy ({capacity} queued)")
    ///     }
    ///     Err(e) => return Err(e.into()),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn try_cast<M: Serialize + ?Sized>(&self, msg: &M) -> Result<(), ActorError> {
        let bytes = codec::encode(msg).map_err(|e| ActorError::Encode(e.to_string()))?;
        Ok(self.node.try_cast(HOST, &self.cell(), bytes)?)
    }

    /// The exit reason, once the actor has stopped.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let c = runtime.spawn("counter", &serde_json::json!({})).await?;
    /// assert_eq!(c.exit_reason(), None);
    /// c.stop(foundation::ExitReason::Normal).await;
    /// assert_eq!(c.exit_reason(), Some(foundation::ExitReason::Normal));
    /// # Ok(()) }
    /// ```
    pub fn exit_reason(&self) -> Option<ExitReason> {
        self.cell().exit.borrow().clone()
    }

    /// Waits until the actor stops and returns why.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let c = runtime.spawn("counter", &serde_json::json!({})).await?;
    /// let watcher = tokio::spawn({ let c = c.clone(); async move { c.wait_exit().await } });
    /// c.kill();
    /// assert_eq!(watcher.await?, foundation::ExitReason::Killed);
    /// # Ok(()) }
    /// ```
    pub async fn wait_exit(&self) -> ExitReason {
        wait_exit(&self.cell()).await
    }

    /// Asks the actor to stop with `reason` (its `terminate` runs, within the shutdown
    /// timeout; past it the actor is killed) and returns its final exit reason.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// use foundation::ExitReason;
    /// let c = runtime.spawn("counter", &serde_json::json!({})).await?;
    /// let reason = ExitReason::Custom("maintenance".into());
    /// assert_eq!(c.stop(reason.clone()).await, reason);
    /// # Ok(()) }
    /// ```
    pub async fn stop(&self, reason: ExitReason) -> ExitReason {
        stop(&self.cell(), reason, self.node.settings.shutdown_timeout).await
    }

    /// Kills the actor: no `terminate`; watchers see `killed`. A guest busy in a
    /// handler is stopped at its next epoch tick.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let c = runtime.spawn("counter", &serde_json::json!({})).await?;
    /// c.kill();
    /// assert_eq!(c.wait_exit().await, foundation::ExitReason::Killed);
    /// # Ok(()) }
    /// ```
    pub fn kill(&self) {
        kill(&self.cell())
    }
}
