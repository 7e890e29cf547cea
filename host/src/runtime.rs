//! The runtime: builder, components, spawning, the typed `ActorRef`, shutdown.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::actor_ref::{ActorOptions, ActorRef};
use crate::codec;
use crate::error::{Error, ExitReason, ManifestError, SpawnError};
use crate::events::{EventError, Fanout};
use crate::id::{ActorId, HOST};
use crate::manifest::Manifest;
use crate::node::{
    DEFAULT_MAILBOX_CAPACITY, DEFAULT_MAX_MESSAGE_SIZE, MAX_INSTANCES, MAX_MAILBOX_CAPACITY, Node,
    Settings, SpawnSpec, kill, stop,
};
use crate::probe::Probe;
use crate::process::cell::ActorCell;
use crate::sandbox::{LimitHits, Limits};
use crate::store::{Bucket, StoreConfig, StoreError, Stores, default_data_dir};
use crate::supervisor::server as supervisor;
use crate::supervisor::spec::{ChildInfo, NewChild, SupervisorSpec};
use crate::supervisor::wire::{ChildError, SupervisorReply, SupervisorRequest};
use crate::table_ref::TableRef;
use crate::tables::table::{TableError, TableOptions};
use crate::wasm::engine::{EngineSettings, default_cache_dir};
use crate::wasm::spawn::Wasm;

/// The shortest time slice `RuntimeBuilder::epoch_interval` accepts.
const MIN_EPOCH_INTERVAL: Duration = Duration::from_micros(100);

/// Default time a sender waits for room in a full mailbox.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time `terminate` may take at shutdown (OTP's worker default).
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Configures and builds a [`Runtime`], in the style of wasmtime's `Config`.
///
/// ```
/// # #[tokio::main] async fn main() -> Result<(), foundation::Error> {
/// let runtime = foundation::Runtime::builder()
///     .mailbox_capacity(256)
///     .send_timeout(std::time::Duration::from_secs(1))
///     .cache_dir(None)
///     .build()?;
/// assert_eq!(runtime.actor_count(), 0);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RuntimeBuilder {
    settings: Settings,
    engine: EngineSettings,
    cache_dir: Option<PathBuf>,
    epoch_interval: Duration,
    /// Declared stores, by name.
    stores: BTreeMap<String, StoreConfig>,
    /// Where SQLite stores live (`None`: `$FOUNDATION_DATA_DIR`, else `./data`).
    data_dir: Option<PathBuf>,
    /// The store durable tables write to.
    table_store: Option<String>,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        RuntimeBuilder {
            settings: Settings {
                mailbox_capacity: DEFAULT_MAILBOX_CAPACITY,
                send_timeout: DEFAULT_SEND_TIMEOUT,
                shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
                max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
                max_memory: 256 * 1024 * 1024,
                limits: Limits::default(),
            },
            engine: EngineSettings {
                pooling: true,
                max_instances: 1000,
                max_memory_bytes: 256 * 1024 * 1024,
            },
            cache_dir: default_cache_dir(),
            epoch_interval: Duration::from_millis(1),
            stores: BTreeMap::new(),
            data_dir: None,
            table_store: None,
        }
    }
}

impl RuntimeBuilder {
    /// Mailbox capacity for actors that do not set their own (default 1024; from 1 to
    /// [`MAX_MAILBOX_CAPACITY`](crate::MAX_MAILBOX_CAPACITY), a larger one is lowered
    /// to it).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// let runtime = foundation::Runtime::builder().mailbox_capacity(64).build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// // Actors that set no capacity of their own queue at most 64 messages.
    /// let counter = runtime.spawn("counter", &serde_json::json!({})).await?;
    /// counter.try_cast(&serde_json::json!({ "Add": 1 }))?;
    /// # Ok(()) }
    /// ```
    pub fn mailbox_capacity(&mut self, capacity: usize) -> &mut Self {
        self.settings.mailbox_capacity = capacity.clamp(1, MAX_MAILBOX_CAPACITY);
        self
    }

    /// How long a sender waits for room in a full mailbox before `MailboxFull`
    /// (default 5 s).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// use std::time::Duration;
    /// // A cast to a full mailbox fails with `MailboxFull` after 100 ms.
    /// let runtime = foundation::Runtime::builder().send_timeout(Duration::from_millis(100)).build()?;
    /// # drop(runtime);
    /// # Ok(()) }
    /// ```
    pub fn send_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.settings.send_timeout = timeout;
        self
    }

    /// How long an actor's `terminate` may run when it is stopped (default 5 s).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// use std::time::Duration;
    /// let runtime = foundation::Runtime::builder().shutdown_timeout(Duration::from_secs(1)).build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let counter = runtime.spawn("counter", &serde_json::json!({})).await?;
    /// // `terminate` gets at most a second; then the actor is killed.
    /// runtime.shutdown().await;
    /// assert_eq!(counter.exit_reason(), Some(foundation::ExitReason::Shutdown));
    /// # Ok(()) }
    /// ```
    pub fn shutdown_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.settings.shutdown_timeout = timeout;
        self
    }

    /// The largest message, reply or init argument in bytes (default 8 MiB). Larger
    /// ones are refused at the sender with `TooLarge`, never truncated.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// let runtime = foundation::Runtime::builder().max_message_size(64).build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let counter = runtime.spawn("counter", &serde_json::json!({})).await?;
    /// let big = vec![0u8; 100];
    /// let err = counter.cast(&big).await.unwrap_err();
    /// assert!(matches!(
    ///     err,
    ///     foundation::ActorError::Send(foundation::SendError::TooLarge { max: 64, .. })
    /// ));
    /// # Ok(()) }
    /// ```
    pub fn max_message_size(&mut self, bytes: usize) -> &mut Self {
        self.settings.max_message_size = bytes;
        self
    }

    /// Where compiled components are cached; `None` compiles every time. Default:
    /// `$FOUNDATION_CACHE_DIR`, `$XDG_CACHE_HOME/foundation` or `~/.cache/foundation`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// // Compile every component on load, with no cache on disk.
    /// let runtime = foundation::Runtime::builder().cache_dir(None).build()?;
    /// runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// # Ok(()) }
    /// ```
    pub fn cache_dir(&mut self, dir: Option<PathBuf>) -> &mut Self {
        self.cache_dir = dir;
        self
    }

    /// The longest one guest entry (`init`, a batch of messages, a system message)
    /// may run before the actor is stopped with a `deadline-exceeded` trap (default:
    /// none). Running time, checked at epoch ticks: a wait in a host call counts as at
    /// most one time slice; see `docs/semantics.md`, "Handler deadline".
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// use std::time::Duration;
    /// // No single handler of any actor may run longer than 2 s.
    /// let runtime = foundation::Runtime::builder()
    ///     .handler_deadline(Some(Duration::from_secs(2)))
    ///     .build()?;
    /// # drop(runtime);
    /// # Ok(()) }
    /// ```
    pub fn handler_deadline(&mut self, deadline: Option<Duration>) -> &mut Self {
        self.settings.limits.deadline = deadline;
        self
    }

    /// Default limits and quotas of every actor; an actor's own (from its manifest
    /// entry or [`ActorOptions::sandbox`]) override them field by field. Replaces
    /// what [`RuntimeBuilder::handler_deadline`] set. See `docs/semantics.md`,
    /// "Limits and quotas", for the built-in defaults.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// use std::time::Duration;
    /// let limits = foundation::Limits {
    ///     max_memory: Some(16 << 20),
    ///     deadline: Some(Duration::from_secs(1)),
    ///     ..foundation::Limits::default()
    /// };
    /// let runtime = foundation::Runtime::builder().default_limits(limits).build()?;
    /// # drop(runtime);
    /// # Ok(()) }
    /// ```
    pub fn default_limits(&mut self, limits: Limits) -> &mut Self {
        self.settings.limits = limits;
        self
    }

    /// The time slice: how long a busy guest runs before it yields its thread
    /// (default 1 ms). The epoch ticks this often only while some guest is busy,
    /// and every 10 ms (or this interval, if longer) otherwise; see
    /// `docs/semantics.md`, "Busy guests and fairness". At least 100 µs: a shorter
    /// slice would keep the ticker thread spinning while a guest is busy.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// use std::time::Duration;
    /// // Busy guests yield their thread every 5 ms instead of every millisecond.
    /// let runtime = foundation::Runtime::builder().epoch_interval(Duration::from_millis(5)).build()?;
    /// # drop(runtime);
    /// # Ok(()) }
    /// ```
    pub fn epoch_interval(&mut self, interval: Duration) -> &mut Self {
        self.epoch_interval = interval.max(MIN_EPOCH_INTERVAL);
        self
    }

    /// Whether instances come from wasmtime's pooling allocator (default: yes, with
    /// copy-on-write memory images).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// // Allocate each instance on demand (slower to start, no reservation up front).
    /// let runtime = foundation::Runtime::builder().pooling(false).build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let counter = runtime.spawn("counter", &serde_json::json!({ "start": 2 })).await?;
    /// assert_eq!(counter.call::<_, i64>(&"Get", std::time::Duration::from_secs(5)).await?, 2);
    /// # Ok(()) }
    /// ```
    pub fn pooling(&mut self, enabled: bool) -> &mut Self {
        self.engine.pooling = enabled;
        self
    }

    /// The most live actors at once with the pooling allocator (default 1000; from 1
    /// to [`MAX_INSTANCES`](crate::MAX_INSTANCES), else [`RuntimeBuilder::build`]
    /// fails).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// // Room for 100 live actors and tasks; the 101st spawn is refused.
    /// let runtime = foundation::Runtime::builder().max_instances(100).build()?;
    /// # drop(runtime);
    /// # Ok(()) }
    /// ```
    pub fn max_instances(&mut self, n: u32) -> &mut Self {
        self.engine.max_instances = n;
        self
    }

    /// The largest linear memory of one actor, in bytes (default 256 MiB).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// let runtime = foundation::Runtime::builder().max_memory_bytes(64 << 20).build()?;
    /// # drop(runtime);
    /// # Ok(()) }
    /// ```
    pub fn max_memory_bytes(&mut self, bytes: usize) -> &mut Self {
        self.engine.max_memory_bytes = bytes;
        self
    }

    /// Applies a manifest's `[runtime]` section (the pool's size) and makes its
    /// `[limits]` the default of every actor (its declared actors have them already).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// use std::path::Path;
    /// let manifest = foundation::Manifest::parse(
    ///     "[runtime]\nmax_instances = 50\n[limits]\nmax_memory = \"32 MiB\"\n",
    ///     Path::new("app.toml"),
    ///     Path::new("."),
    /// )?;
    /// let runtime = foundation::Runtime::builder().manifest(&manifest).build()?;
    /// # drop(runtime);
    /// # Ok(()) }
    /// ```
    pub fn manifest(&mut self, manifest: &Manifest) -> &mut Self {
        if let Some(n) = manifest.runtime.max_instances {
            self.max_instances(n);
        }
        // For what the manifest does not declare: children added at run time.
        self.settings.limits = manifest.limits.or(&self.settings.limits);
        for (name, config) in &manifest.stores {
            self.store(name, config.clone());
        }
        if self.data_dir.is_none() {
            self.data_dir = Some(manifest.data_dir.clone());
        }
        if let Some(store) = &manifest.table_store {
            self.table_store(store);
        }
        self
    }

    /// Declares the durable key-value store `name` (see `docs/semantics.md`, "Durable
    /// state"); actors reach it through `wasi:keyvalue` when granted it
    /// ([`Capabilities::keyvalue`](crate::Capabilities::keyvalue)), Rust through
    /// [`Runtime::store`]. Stores open when the runtime is built.
    pub fn store(&mut self, name: &str, config: StoreConfig) -> &mut Self {
        self.stores.insert(name.to_string(), config);
        self
    }

    /// The declared store that durable tables write their rows to (a table created
    /// with `durable` by an actor; see `docs/semantics.md`, "Durable tables").
    pub fn table_store(&mut self, store: &str) -> &mut Self {
        self.table_store = Some(store.to_string());
        self
    }

    /// The directory of the SQLite stores (`foundation.db` in it). Default:
    /// `$FOUNDATION_DATA_DIR`, else `data` in the working directory; with a manifest,
    /// its `[storage] dir`, else `$FOUNDATION_DATA_DIR`, else `data` next to it.
    pub fn data_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Builds the runtime. Must be called within a tokio runtime, whose handle the
    /// actors then run on.
    ///
    /// ```
    /// // Outside a tokio runtime there is nothing to run actors on.
    /// let err = foundation::Runtime::builder().build().unwrap_err();
    /// assert!(err.to_string().contains("within a tokio runtime"));
    /// ```
    pub fn build(&self) -> Result<Runtime, Error> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Engine("Runtime::build must be called within a tokio runtime".into())
        })?;
        if !(1..=MAX_INSTANCES).contains(&self.engine.max_instances) {
            return Err(Error::Engine(format!(
                "max_instances is {}; it must be from 1 to {MAX_INSTANCES}",
                self.engine.max_instances
            )));
        }
        let wasm = Arc::new(Wasm::new(
            &self.engine,
            self.cache_dir.clone(),
            self.epoch_interval,
        )?);
        let settings = Settings {
            max_memory: self.engine.max_memory_bytes,
            ..self.settings.clone()
        };
        let data_dir = match &self.data_dir {
            Some(dir) => dir.clone(),
            None => default_data_dir(Path::new(".")),
        };
        let stores = Stores::open(&self.stores, self.table_store.as_deref(), &data_dir)?;
        let node = Arc::new(Node::new(settings, handle, wasm.clone(), stores));
        Ok(Runtime { node, wasm })
    }
}

async fn supervisor_request(
    supervisor: &ActorRef,
    request: &SupervisorRequest,
) -> Result<SupervisorReply, SpawnError> {
    supervisor
        .call(request, Duration::from_secs(60))
        .await
        .map_err(|e| SpawnError::Unavailable(format!("supervisor {}: {e}", supervisor.label())))
}

/// A supervisor's refusal as the caller sees it: the child's own start error as it
/// was, the supervisor's reasons (`max_children`, `already_present`, `not_found`, an
/// invalid spec) as `Unavailable` with OTP's words.
fn refusal(e: ChildError) -> SpawnError {
    match e {
        ChildError::StartFailed(e) => e,
        other => SpawnError::Unavailable(other.to_string()),
    }
}

/// The foundation runtime: components, actors, and the engine they run on.
///
/// Dropping it kills every actor still running; call [`Runtime::shutdown`] first for
/// a graceful stop.
pub struct Runtime {
    node: Arc<Node>,
    wasm: Arc<Wasm>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("actors", &self.node.registry.len())
            .field("settings", &self.node.settings)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// The durable key-value store `name`, declared with [`RuntimeBuilder::store`] or
    /// in the manifest (`[stores.NAME]`). The host is granted every store.
    pub fn store(&self, name: &str) -> Result<Bucket, StoreError> {
        self.node.stores.get(name)
    }

    /// A builder with the default settings.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// let runtime = foundation::Runtime::builder().build()?;
    /// assert_eq!(runtime.actor_count(), 0);
    /// # Ok(()) }
    /// ```
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// Compiles (or loads from the cache) the component at `path` and checks that it
    /// implements the actor world; actors can then be spawned from it by `name`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), foundation::Error> {
    /// # let path = foundation_fixtures::COUNTER;
    /// let runtime = foundation::Runtime::builder().build()?;
    /// runtime.add_component("counter", path)?;
    /// // Not a component at all: a precise error, nothing registered.
    /// let err = runtime.add_component_bytes("junk", b"junk").unwrap_err();
    /// assert!(err.to_string().starts_with("component \"junk\" (bytes): not a valid component"));
    /// # Ok(()) }
    /// ```
    pub fn add_component(&self, name: &str, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::ComponentFile {
            name: name.to_string(),
            path: path.to_path_buf(),
            source,
        })?;
        self.add(name, &bytes, &path.display().to_string())
    }

    /// Like [`Runtime::add_component`], from the component's bytes.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let bytes = std::fs::read(foundation_fixtures::COUNTER)?;
    /// runtime.add_component_bytes("counter", &bytes)?;
    /// let counter = runtime.spawn("counter", &serde_json::json!({})).await?;
    /// # drop(counter);
    /// # Ok(()) }
    /// ```
    pub fn add_component_bytes(&self, name: &str, bytes: &[u8]) -> Result<(), Error> {
        self.add(name, bytes, "bytes")
    }

    fn add(&self, name: &str, bytes: &[u8], origin: &str) -> Result<(), Error> {
        self.wasm.add(name, bytes, origin)
    }

    /// Loads every component of a manifest. Errors name the manifest line of the
    /// component's `path`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// use std::path::Path;
    /// let text = "[components.counter]\npath = \"no-such.wasm\"\n";
    /// let manifest = foundation::Manifest::parse(text, Path::new("app.toml"), Path::new("/apps"))?;
    /// // The error names the manifest line that declares the file.
    /// let err = runtime.load_components(&manifest).unwrap_err().to_string();
    /// assert!(err.starts_with("app.toml:2:8: "), "{err}");
    /// # Ok(()) }
    /// ```
    pub fn load_components(&self, manifest: &Manifest) -> Result<(), Error> {
        for decl in &manifest.components {
            self.add_component(&decl.name, &decl.path)
                .map_err(|e| ManifestError {
                    file: manifest.file.clone(),
                    location: Some(decl.location.clone()),
                    message: e.to_string(),
                })?;
        }
        Ok(())
    }

    /// Loads a manifest's components and starts its actors in order, each registered
    /// under its manifest name. Stops at the first actor that fails to start (those
    /// already started keep running; [`Runtime::shutdown`] stops them).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let path = foundation_fixtures::COUNTER;
    /// use std::path::Path;
    /// let text = format!(r#"
    ///     [components.counter]
    ///     path = {path:?}
    ///
    ///     [[actors]]
    ///     name = "counter"
    ///     component = "counter"
    ///     args = {{ start = 41 }}
    /// "#);
    /// let manifest = foundation::Manifest::parse(&text, Path::new("app.toml"), Path::new("."))?;
    /// let runtime = foundation::Runtime::builder().build()?;
    /// runtime.start(&manifest).await?;
    /// let counter = runtime.whereis("counter").expect("registered under its manifest name");
    /// let n: i64 = counter.call(&serde_json::json!({ "AddAndGet": 1 }), std::time::Duration::from_secs(5)).await?;
    /// assert_eq!(n, 42);
    /// runtime.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn start(&self, manifest: &Manifest) -> Result<Vec<ActorRef>, Error> {
        self.load_components(manifest)?;
        let mut started = Vec::with_capacity(manifest.roots.len());
        for root in &manifest.roots {
            let cell = if let Some(actor) = manifest.actor(root) {
                let spec = SpawnSpec {
                    name: Some(actor.name.clone()),
                    mailbox: actor.mailbox,
                    sandbox: Some(actor.sandbox.clone()),
                    ..SpawnSpec::new(actor.component.clone(), actor.args.clone())
                };
                self.node.spawn(spec).await
            } else {
                let spec = manifest.supervisor_spec(root);
                supervisor::start(&self.node, spec, Some(root.clone()), None, None, None).await
            };
            let cell = cell.map_err(|source| Error::Spawn {
                actor: root.clone(),
                source,
            })?;
            started.push(self.actor_ref(cell));
        }
        Ok(started)
    }

    /// Starts an actor from component `component` with `args` for its `init`, and
    /// returns once `init` has returned. `init` failing or trapping is
    /// [`SpawnError::InitFailed`] with the reason.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// use serde_json::json;
    /// let counter = runtime.spawn("counter", &json!({ "start": 1 })).await?;
    /// assert!(counter.exit_reason().is_none());
    /// // The counter's init wants an integer `start`.
    /// let err = runtime.spawn("counter", &json!({ "start": "one" })).await.unwrap_err();
    /// assert!(matches!(err, foundation::SpawnError::InitFailed { .. }));
    /// # Ok(()) }
    /// ```
    pub async fn spawn<A: Serialize + ?Sized>(
        &self,
        component: &str,
        args: &A,
    ) -> Result<ActorRef, SpawnError> {
        self.spawn_with(ActorOptions::new(component), args).await
    }

    /// Like [`Runtime::spawn`], with a name and a mailbox capacity.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// use foundation::ActorOptions;
    /// let options = ActorOptions::new("counter").name("hits").mailbox(16);
    /// let hits = runtime.spawn_with(options, &serde_json::json!({})).await?;
    /// assert_eq!(runtime.whereis("hits").map(|a| a.id()), Some(hits.id()));
    /// // A name is held by one live actor at a time.
    /// let again = runtime
    ///     .spawn_with(ActorOptions::new("counter").name("hits"), &serde_json::json!({}))
    ///     .await;
    /// assert!(matches!(again, Err(foundation::SpawnError::NameTaken(_))));
    /// # Ok(()) }
    /// ```
    pub async fn spawn_with<A: Serialize + ?Sized>(
        &self,
        options: ActorOptions,
        args: &A,
    ) -> Result<ActorRef, SpawnError> {
        let args = codec::encode(args).map_err(|e| SpawnError::Codec(e.to_string()))?;
        let spec = SpawnSpec {
            name: options.name,
            mailbox: options.mailbox,
            // The default sandbox is shared rather than allocated per actor.
            sandbox: (!options.sandbox.capabilities.is_empty()
                || options.sandbox.limits != Limits::default())
            .then(|| Arc::new(options.sandbox)),
            ..SpawnSpec::new(options.component, args)
        };
        let cell = self.node.spawn(spec).await?;
        Ok(self.actor_ref(cell))
    }

    fn actor_ref(&self, cell: Arc<ActorCell>) -> ActorRef {
        ActorRef::new(cell.slot(), self.node.clone())
    }

    /// Starts a supervisor and its children (in order), registered as `name` if
    /// given, and returns once every child has started. If one fails to start, those
    /// started are stopped (newest first) and the error names the child.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// use foundation::{ChildSpec, Strategy, SupervisorSpec};
    /// let args = foundation::codec::encode(&serde_json::json!({ "start": 0 }))?;
    /// let spec = SupervisorSpec {
    ///     strategy: Strategy::OneForOne,
    ///     children: vec![ChildSpec::actor("counter", "counter", args).name("counter")],
    ///     ..SupervisorSpec::default()
    /// };
    /// let root = runtime.start_supervisor(spec, Some("root")).await?;
    /// let counter = runtime.whereis("counter").expect("started by the supervisor");
    /// let n: i64 = counter.call(&"Get", std::time::Duration::from_secs(5)).await?;
    /// assert_eq!(n, 0);
    /// // Stopping the supervisor stops its children first.
    /// root.stop(foundation::ExitReason::Shutdown).await;
    /// assert!(runtime.whereis("counter").is_none());
    /// # Ok(()) }
    /// ```
    pub async fn start_supervisor(
        &self,
        spec: SupervisorSpec,
        name: Option<&str>,
    ) -> Result<ActorRef, SpawnError> {
        self.node.refuse_if_shutting_down()?;
        let cell =
            supervisor::start(&self.node, spec, name.map(str::to_string), None, None, None).await?;
        Ok(self.actor_ref(cell))
    }

    /// The live actor registered as `name` (probes are not actors: `None` for them).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// use foundation::ActorOptions;
    /// assert!(runtime.whereis("c").is_none());
    /// let c = runtime.spawn_with(ActorOptions::new("counter").name("c"), &serde_json::json!({})).await?;
    /// assert_eq!(runtime.whereis("c").unwrap().id(), c.id());
    /// # Ok(()) }
    /// ```
    pub fn whereis(&self, name: &str) -> Option<ActorRef> {
        self.node
            .registry
            .whereis(name)
            .filter(|c| !c.is_probe)
            .map(|c| self.actor_ref(c))
    }

    /// The live actor with this id (probes are not actors: `None` for them).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let c = runtime.spawn("counter", &serde_json::json!({})).await?;
    /// let same = runtime.actor(c.id()).expect("alive");
    /// assert_eq!(same.label(), c.label());
    /// c.kill();
    /// c.wait_exit().await;
    /// assert!(runtime.actor(c.id()).is_none());
    /// # Ok(()) }
    /// ```
    pub fn actor(&self, id: ActorId) -> Option<ActorRef> {
        self.node
            .registry
            .get(id)
            .filter(|c| !c.is_probe)
            .map(|c| self.actor_ref(c))
    }

    /// A host-side mailbox with an actor address, for Rust code (tests) to receive
    /// what guests send. Its mailbox has the runtime's default capacity.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let mut probe = runtime.probe();
    /// let counter = runtime.actor(probe.id()); // a probe is not an actor
    /// assert!(counter.is_none());
    /// probe.refute_receive(std::time::Duration::from_millis(10)).await;
    /// # Ok(()) }
    /// ```
    pub fn probe(&self) -> Probe {
        Probe::new(
            self.node.clone(),
            self.node.ids.next(),
            self.node.settings.mailbox_capacity,
        )
    }

    /// Casts `msg` to every subscriber whose pattern matches `topic` (from the host,
    /// sender 0). See docs/semantics.md, "Pub/sub" and "Fan-out".
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let mut probe = runtime.probe();
    /// probe.subscribe("prices.*")?;
    /// let fanout = runtime.publish("prices.EURUSD", &1.09f64).await?;
    /// assert_eq!(fanout.delivered, 1);
    /// let got = probe.recv::<f64>(std::time::Duration::from_secs(5)).await?;
    /// assert_eq!((got.from, got.msg), (None, 1.09));
    /// # Ok(()) }
    /// ```
    pub async fn publish<M: Serialize + ?Sized>(
        &self,
        topic: &str,
        msg: &M,
    ) -> Result<Fanout, EventError> {
        let bytes = self.encode_event(msg)?;
        let to = self.node.events.subscribers(topic)?;
        Ok(self
            .node
            .fan_out(HOST, &to, &bytes, &format!("publish to {topic:?}"))
            .await)
    }

    /// Casts `msg` to every member of `group` (from the host).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let mut probe = runtime.probe();
    /// probe.join("workers")?;
    /// let fanout = runtime.dispatch("workers", &"job").await?;
    /// assert_eq!((fanout.delivered, fanout.dead_letters), (1, 0));
    /// let got = probe.recv::<String>(std::time::Duration::from_secs(5)).await?;
    /// assert_eq!(got.msg, "job");
    /// # Ok(()) }
    /// ```
    pub async fn dispatch<M: Serialize + ?Sized>(
        &self,
        group: &str,
        msg: &M,
    ) -> Result<Fanout, EventError> {
        let bytes = self.encode_event(msg)?;
        let to = self.node.events.members(group)?;
        Ok(self
            .node
            .fan_out(HOST, &to, &bytes, &format!("dispatch to group {group:?}"))
            .await)
    }

    /// The live members of `group`, each once, in join order.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let probe = runtime.probe();
    /// assert!(runtime.members("workers")?.is_empty());
    /// probe.join("workers")?;
    /// assert_eq!(runtime.members("workers")?, [probe.id()]);
    /// drop(probe);
    /// assert!(runtime.members("workers")?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn members(&self, group: &str) -> Result<Vec<ActorId>, EventError> {
        Ok(self
            .node
            .events
            .members(group)?
            .into_iter()
            .filter_map(ActorId::from_raw)
            .collect())
    }

    /// How often each limit and quota was hit since the runtime started (see
    /// `docs/semantics.md`, "Security model").
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let hits = runtime.limit_hits();
    /// assert_eq!(hits, foundation::LimitHits::default(), "nothing ran yet");
    /// # Ok(()) }
    /// ```
    pub fn limit_hits(&self) -> LimitHits {
        self.node.hits.snapshot()
    }

    /// Messages accepted and never delivered, since the runtime started: fan-outs and
    /// timer messages whose recipient's mailbox stayed full past the send timeout or
    /// who was gone, and casts still queued in a mailbox when its actor stopped.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let probe = runtime.probe();
    /// probe.subscribe("news")?;
    /// drop(probe); // unsubscribed by its exit: nobody is left to miss the message
    /// let fanout = runtime.publish("news", &"hello").await?;
    /// assert_eq!((fanout.delivered, runtime.dead_letters()), (0, 0));
    /// # Ok(()) }
    /// ```
    pub fn dead_letters(&self) -> u64 {
        self.node
            .events
            .dead_letters
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Messages an actor could not decode as any message it handles, since the
    /// runtime started: each was logged, a call among them answered
    /// [`SendError::Rejected`](crate::SendError::Rejected), and the actor went on
    /// (see `docs/semantics.md`, "Message encoding").
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// use std::time::Duration;
    /// use foundation::SendError;
    /// let counter = runtime.spawn("counter", &serde_json::json!({ "start": 1 })).await?;
    /// // Not a request the counter knows: rejected, and the counter lives on.
    /// let r = counter.call_raw(b"junk".to_vec(), Duration::from_secs(5)).await;
    /// assert!(matches!(r, Err(SendError::Rejected(_))));
    /// assert_eq!(runtime.unexpected_messages(), 1);
    /// assert_eq!(counter.call::<_, i64>(&"Get", Duration::from_secs(5)).await?, 1);
    /// # Ok(()) }
    /// ```
    pub fn unexpected_messages(&self) -> u64 {
        self.node
            .unexpected
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn encode_event<M: Serialize + ?Sized>(&self, msg: &M) -> Result<Vec<u8>, EventError> {
        let bytes = codec::encode(msg)
            .map_err(|e| EventError::Invalid(format!("the message does not encode: {e}")))?;
        if bytes.len() > self.node.settings.max_message_size {
            return Err(EventError::TooLarge(bytes.len() as u64));
        }
        Ok(bytes)
    }

    /// Creates a table owned by the host (it lives until deleted or the runtime
    /// stops). See docs/semantics.md, "Tables".
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// use foundation::{TableError, TableOptions};
    /// let t = runtime.create_table(TableOptions { name: Some("config".into()), ..TableOptions::default() })?;
    /// t.insert(b"mode", &"fast")?;
    /// // Names are unique among live tables.
    /// let again = runtime.create_table(TableOptions { name: Some("config".into()), ..TableOptions::default() });
    /// assert!(matches!(again, Err(TableError::NameTaken(_))));
    /// # Ok(()) }
    /// ```
    pub fn create_table(&self, options: TableOptions) -> Result<TableRef, TableError> {
        let table = self.node.tables.create(
            HOST,
            options,
            self.node.settings.max_message_size,
            &self.node.registry,
            None,
        )?;
        Ok(TableRef {
            table,
            node: self.node.clone(),
        })
    }

    /// The live table named `name`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// use foundation::TableOptions;
    /// let t = runtime.create_table(TableOptions { name: Some("config".into()), ..TableOptions::default() })?;
    /// t.insert(b"mode", &"fast")?;
    /// let found = runtime.table("config")?;
    /// assert_eq!(found.get::<String>(b"mode")?.as_deref(), Some("fast"));
    /// assert!(runtime.table("nope").is_err());
    /// # Ok(()) }
    /// ```
    pub fn table(&self, name: &str) -> Result<TableRef, TableError> {
        Ok(TableRef {
            table: self.node.tables.by_name(name)?,
            node: self.node.clone(),
        })
    }

    /// The live table with this id (as in a table transfer).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let t = runtime.create_table(foundation::TableOptions::default())?;
    /// assert_eq!(runtime.table_by_id(t.id())?.id(), t.id());
    /// t.delete_table()?;
    /// assert!(runtime.table_by_id(t.id()).is_err());
    /// # Ok(()) }
    /// ```
    pub fn table_by_id(&self, id: u64) -> Result<TableRef, TableError> {
        Ok(TableRef {
            table: self.node.tables.by_id(id)?,
            node: self.node.clone(),
        })
    }

    /// Asks the supervisor `supervisor` to add and start a child (OTP's
    /// `supervisor:start_child`, `DynamicSupervisor.start_child`); returns a reference
    /// to it that follows it across restarts. Waits up to 60 s for the supervisor.
    /// A child that fails to start gives its own error (`InitFailed`, ...) and is not
    /// kept; the supervisor's refusals (`max_children`, `already_present`) are
    /// `Unavailable` with OTP's words.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let sup = runtime.start_supervisor(foundation::SupervisorSpec::default(), None).await?;
    /// let child = foundation::NewChild {
    ///     id: Some("c1".into()),
    ///     component: "counter".into(),
    ///     args: foundation::codec::encode(&serde_json::json!({ "start": 7 }))?,
    ///     ..foundation::NewChild::default()
    /// };
    /// let c1 = runtime.start_child(&sup, child).await?;
    /// assert_eq!(c1.call::<_, i64>(&"Get", std::time::Duration::from_secs(5)).await?, 7);
    /// # Ok(()) }
    /// ```
    pub async fn start_child(
        &self,
        supervisor: &ActorRef,
        child: NewChild,
    ) -> Result<ActorRef, SpawnError> {
        match supervisor_request(supervisor, &SupervisorRequest::StartChild(child)).await? {
            SupervisorReply::Started(id) => ActorId::from_raw(id)
                .and_then(|id| self.node.registry.get(id))
                .map(|cell| self.actor_ref(cell))
                .ok_or_else(|| {
                    SpawnError::Unavailable("the child stopped right after starting".into())
                }),
            SupervisorReply::Error(e) => Err(refusal(e)),
            other => Err(SpawnError::Unavailable(format!(
                "unexpected supervisor reply {other:?}"
            ))),
        }
    }

    /// Stops and removes a supervisor's child by id (OTP's `terminate_child` and
    /// `delete_child`).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let sup = runtime.start_supervisor(foundation::SupervisorSpec::default(), None).await?;
    /// let child = foundation::NewChild { id: Some("c1".into()), component: "counter".into(),
    ///     args: foundation::codec::encode(&serde_json::json!({}))?, ..Default::default() };
    /// let c1 = runtime.start_child(&sup, child).await?;
    /// runtime.terminate_child(&sup, "c1").await?;
    /// assert_eq!(c1.wait_exit().await, foundation::ExitReason::Shutdown);
    /// assert!(runtime.terminate_child(&sup, "c1").await.is_err(), "removed");
    /// # Ok(()) }
    /// ```
    pub async fn terminate_child(&self, supervisor: &ActorRef, id: &str) -> Result<(), SpawnError> {
        match supervisor_request(
            supervisor,
            &SupervisorRequest::TerminateChild(id.to_string()),
        )
        .await?
        {
            SupervisorReply::Terminated => Ok(()),
            SupervisorReply::Error(e) => Err(refusal(e)),
            other => Err(SpawnError::Unavailable(format!(
                "unexpected supervisor reply {other:?}"
            ))),
        }
    }

    /// A supervisor's children in start order (OTP's `which_children`).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let sup = runtime.start_supervisor(foundation::SupervisorSpec::default(), None).await?;
    /// let child = foundation::NewChild { id: Some("c1".into()), component: "counter".into(),
    ///     args: foundation::codec::encode(&serde_json::json!({}))?, ..Default::default() };
    /// let c1 = runtime.start_child(&sup, child).await?;
    /// let children = runtime.which_children(&sup).await?;
    /// assert_eq!(children.len(), 1);
    /// assert_eq!((children[0].id.as_str(), children[0].actor), ("c1", Some(c1.id().get())));
    /// # Ok(()) }
    /// ```
    pub async fn which_children(
        &self,
        supervisor: &ActorRef,
    ) -> Result<Vec<ChildInfo>, SpawnError> {
        match supervisor_request(supervisor, &SupervisorRequest::WhichChildren).await? {
            SupervisorReply::Children(children) => Ok(children),
            SupervisorReply::Error(e) => Err(refusal(e)),
            other => Err(SpawnError::Unavailable(format!(
                "unexpected supervisor reply {other:?}"
            ))),
        }
    }

    /// How many actors are alive.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// assert_eq!(runtime.actor_count(), 0);
    /// let c = runtime.spawn("counter", &serde_json::json!({})).await?;
    /// assert_eq!(runtime.actor_count(), 1);
    /// # drop(c);
    /// # Ok(()) }
    /// ```
    pub fn actor_count(&self) -> usize {
        self.node.registry.len()
    }

    /// Stops every actor, newest first (reverse start order): each runs `terminate`
    /// with reason `shutdown` within the shutdown timeout, and is killed past it. New
    /// spawns are refused from the moment this is called. Then the stores close: every
    /// write they accepted is committed, later operations fail with `unavailable`, and
    /// the data directory is free for another runtime.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// let c = runtime.spawn("counter", &serde_json::json!({})).await?;
    /// runtime.shutdown().await;
    /// assert_eq!(c.exit_reason(), Some(foundation::ExitReason::Shutdown));
    /// // Nothing new starts once shutdown began.
    /// assert!(runtime.spawn("counter", &serde_json::json!({})).await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn shutdown(&self) {
        self.node.begin_shutdown();
        loop {
            let cells = self.node.registry.newest_first();
            if cells.is_empty() {
                break;
            }
            for cell in cells {
                stop(
                    &cell,
                    ExitReason::Shutdown,
                    self.node.settings.shutdown_timeout,
                )
                .await;
            }
        }
        // Every actor is gone: what they wrote is committed; let go of the stores.
        self.node.stores.close().await;
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for cell in self.node.registry.all_actors() {
            kill(&cell);
        }
    }
}
