//! The TOML manifest: which components exist, which actors start from them, with what
//! arguments. Every error names the file, line and column, and what was expected.
//!
//! ```toml
//! [components.counter]
//! path = "target/wasm32-wasip2/release/counter.wasm"  # relative to this file
//! build = "cargo build --release --target wasm32-wasip2"  # optional, for --build
//!
//! [[actors]]
//! name = "counter"
//! component = "counter"
//! mailbox = 1024          # optional; the runtime's default otherwise
//! args = { start = 10 }   # optional; handed to init, encoded as MessagePack
//! ```
//!
//! A supervision tree is a set of named supervisors, each listing its children (actors
//! or other supervisors) by name in start order:
//!
//! ```toml
//! [[supervisors]]
//! name = "root"
//! strategy = "one_for_one"   # one_for_all, rest_for_one
//! max_restarts = 3           # default 1 (OTP)
//! max_seconds = 5            # default 5
//! children = ["counter", "workers"]
//!
//! [[supervisors]]
//! name = "workers"           # nested under root
//! strategy = "one_for_all"
//! children = []              # children can also be added at run time
//! max_children = 100
//!
//! [[actors]]
//! name = "counter"
//! component = "counter"
//! restart = "permanent"      # transient, temporary; supervised actors only
//! keep_mailbox = true        # queued messages go to the next instance; supervised only
//! shutdown = 5000            # milliseconds, "brutal_kill" or "infinity"
//! ```
//!
//! Actors and supervisors that no supervisor lists are top level; they start in the
//! order they appear in the file. Unknown keys are rejected so that a typo never
//! passes silently.
//!
//! Each actor runs in a sandbox: nothing is granted unless its entry says so, and its
//! limits are the manifest's `[limits]` over the runtime's defaults, overridden by its
//! own `limits` (see `docs/semantics.md`, "Security model", for every default):
//!
//! ```toml
//! [runtime]
//! max_instances = 20000       # the pool's size: the most live actors (default 1000)
//!
//! [limits]                    # defaults for every actor of this manifest
//! max_memory = "64 MiB"       # bytes, or a string with B, KiB, MiB, GiB, KB, MB, GB
//! deadline = "2s"             # milliseconds, or a string with ms, s, m
//! init_deadline = "10s"       # the same, or "infinity"; default 5 s
//! max_message_size = "1 MiB"
//! max_table_elements = 10000
//! max_children = 100
//! max_tables = 10
//! max_tasks = 10
//! max_timers = 1000
//! max_subscriptions = 1000
//! max_groups = 1000
//! max_monitors = 100000
//! max_links = 100000
//! max_pending_calls = 10000
//!
//! [[actors]]
//! name = "indexer"
//! component = "indexer"
//! limits = { max_memory = "512 MiB", deadline = 10000 }
//!
//! [actors.capabilities]       # for the actor just above
//! dirs = [
//!   { host = "data", guest = "/data", access = "read-only" },    # or "read-write"
//! ]
//! env = { LOG_LEVEL = "debug" }
//! connect = ["127.0.0.1:4222", "10.0.0.0/8:*", "localhost:5432"]
//! keyvalue = ["orders"]       # stores it may open (wasi:keyvalue)
//! ```
//!
//! Durable key-value stores (see `docs/semantics.md`, "Durable state"):
//!
//! ```toml
//! [storage]
//! dir = "data"                # SQLite's directory; default $FOUNDATION_DATA_DIR, else data/
//! tables = "orders"           # the store durable tables write to (optional)
//!
//! [stores.orders]             # backend = "sqlite" (default): in the data directory
//! max_value_size = "1 MiB"
//!
//! [stores.shared]
//! backend = "postgres"
//! url = "postgres://app@127.0.0.1:5432/app"
//! password_env = "SHARED_DB_PASSWORD"   # the password, read from the environment
//! pool_size = 8
//! ```

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use std::sync::Arc;

use crate::error::{Location, ManifestError};
use crate::node::{DEFAULT_MAX_MESSAGE_SIZE, MAX_INSTANCES, MAX_MAILBOX_CAPACITY};
use crate::sandbox::{Capabilities, DirAccess, Limits, Sandbox};
use crate::store::{StoreConfig, default_data_dir};
use crate::supervisor::spec::{
    AutoShutdown, ChildKind, ChildSpec, Restart, Shutdown, Strategy, SupervisorSpec,
};

/// A parsed, validated manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The file it was read from: the `file` given to `parse`.
    pub(crate) file: PathBuf,
    /// Components, in name order.
    pub(crate) components: Vec<ComponentDecl>,
    /// Actors, in file order.
    pub(crate) actors: Vec<ActorDecl>,
    /// Supervisors, in file order.
    pub(crate) supervisors: Vec<SupervisorDecl>,
    /// The names of the top-level actors and supervisors (those no supervisor
    /// lists), in the order they start.
    pub(crate) roots: Vec<String>,
    /// `[runtime]`: how to size the runtime.
    pub(crate) runtime: RuntimeDecl,
    /// `[limits]`: the defaults of this manifest's actors (already applied to each
    /// actor's sandbox).
    pub(crate) limits: Limits,
    /// `[stores.NAME]`: durable key-value stores.
    pub(crate) stores: BTreeMap<String, StoreConfig>,
    /// Where SQLite stores live: `[storage] dir`, else `$FOUNDATION_DATA_DIR`, else
    /// `data` next to the manifest.
    pub(crate) data_dir: PathBuf,
    /// `[storage] tables`: the store durable tables write to.
    pub(crate) table_store: Option<String>,
    /// Actor and supervisor names to their index in `actors` or `supervisors`.
    index: HashMap<String, Decl>,
}

/// Where a name is declared.
#[derive(Debug, Clone, Copy)]
enum Decl {
    Actor(usize),
    Supervisor(usize),
}

/// The `[runtime]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RuntimeDecl {
    /// The instance pool's size: the most live actors and tasks at once.
    pub(crate) max_instances: Option<u32>,
}

/// A supervisor declared in `[[supervisors]]`.
#[derive(Debug, Clone)]
pub(crate) struct SupervisorDecl {
    /// Its unique name; it is registered under it.
    pub(crate) name: String,
    /// Its restart strategy.
    pub(crate) strategy: Strategy,
    /// Restart intensity: at most this many restarts...
    pub(crate) max_restarts: u32,
    /// ...within this window.
    pub(crate) max_seconds: Duration,
    /// Its children's names, in start order.
    pub(crate) children: Vec<String>,
    /// Its restart type, when it is itself supervised.
    pub(crate) restart: Option<Restart>,
    /// How its supervisor stops it, when it is itself supervised.
    pub(crate) shutdown: Option<Shutdown>,
    /// The most children at once (for children added at run time).
    pub(crate) max_children: Option<usize>,
    /// When significant children shut it down.
    pub(crate) auto_shutdown: AutoShutdown,
    /// Where it is declared.
    pub(crate) location: Location,
}

/// A component declared in `[components.NAME]`.
#[derive(Debug, Clone)]
pub(crate) struct ComponentDecl {
    /// Its name, which actors refer to.
    pub(crate) name: String,
    /// The `.wasm` file, resolved against the manifest's directory.
    pub(crate) path: PathBuf,
    /// A shell command that builds it (`foundation run --build`).
    pub(crate) build: Option<String>,
    /// The directory the build command runs in (the manifest's by default).
    pub(crate) workdir: PathBuf,
    /// Where `path` is written in the manifest, for errors about the file.
    pub(crate) location: Location,
}

/// An actor declared in `[[actors]]`.
#[derive(Debug, Clone)]
pub(crate) struct ActorDecl {
    /// Its unique name; the actor is registered under it.
    pub(crate) name: String,
    /// The component it runs.
    pub(crate) component: String,
    /// Its init argument, encoded as MessagePack.
    pub(crate) args: Vec<u8>,
    /// Its mailbox capacity, when it overrides the runtime's default.
    pub(crate) mailbox: Option<usize>,
    /// Its restart type, when supervised.
    pub(crate) restart: Option<Restart>,
    /// How its supervisor stops it, when supervised.
    pub(crate) shutdown: Option<Shutdown>,
    /// Whether its exit can shut its supervisor down (`auto_shutdown`).
    pub(crate) significant: bool,
    /// Whether what is queued at an exit goes to the next instance.
    pub(crate) keep_mailbox: bool,
    /// Its capabilities, and its limits with the manifest's defaults applied.
    pub(crate) sandbox: Arc<Sandbox>,
    /// Where the actor is declared, for errors about it.
    pub(crate) location: Location,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(default)]
    components: BTreeMap<String, Spanned<RawComponent>>,
    #[serde(default)]
    actors: Vec<Spanned<RawActor>>,
    #[serde(default)]
    supervisors: Vec<Spanned<RawSupervisor>>,
    #[serde(default)]
    runtime: RawRuntime,
    limits: Option<RawLimits>,
    #[serde(default)]
    storage: RawStorage,
    #[serde(default)]
    stores: BTreeMap<String, Spanned<RawStore>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    dir: Option<String>,
    tables: Option<Spanned<String>>,
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum RawBackend {
    #[default]
    Sqlite,
    Postgres,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    #[serde(default)]
    backend: RawBackend,
    url: Option<Spanned<String>>,
    password_env: Option<String>,
    pool_size: Option<Spanned<usize>>,
    max_value_size: Option<Spanned<RawSize>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRuntime {
    max_instances: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_memory: Option<Spanned<RawSize>>,
    max_table_elements: Option<usize>,
    deadline: Option<Spanned<RawDuration>>,
    init_deadline: Option<Spanned<RawDuration>>,
    max_message_size: Option<Spanned<RawSize>>,
    max_children: Option<usize>,
    max_tables: Option<usize>,
    max_tasks: Option<usize>,
    max_timers: Option<usize>,
    max_subscriptions: Option<usize>,
    max_groups: Option<usize>,
    max_monitors: Option<usize>,
    max_links: Option<usize>,
    max_pending_calls: Option<usize>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawSize {
    Bytes(u64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawDuration {
    Millis(u64),
    Text(String),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCapabilities {
    #[serde(default)]
    dirs: Vec<Spanned<RawDir>>,
    #[serde(default)]
    env: Option<Spanned<BTreeMap<String, String>>>,
    #[serde(default)]
    connect: Vec<Spanned<String>>,
    #[serde(default)]
    keyvalue: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDir {
    host: String,
    guest: String,
    access: DirAccess,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSupervisor {
    name: Spanned<String>,
    #[serde(default)]
    strategy: Strategy,
    max_restarts: Option<u32>,
    max_seconds: Option<Spanned<u64>>,
    #[serde(default)]
    children: Vec<Spanned<String>>,
    restart: Option<Spanned<Restart>>,
    shutdown: Option<Spanned<RawShutdown>>,
    max_children: Option<usize>,
    #[serde(default)]
    auto_shutdown: AutoShutdown,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawShutdown {
    Millis(u64),
    Word(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    path: Spanned<String>,
    build: Option<String>,
    workdir: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActor {
    name: Spanned<String>,
    component: Spanned<String>,
    #[serde(default)]
    args: Option<Spanned<toml::Table>>,
    mailbox: Option<Spanned<usize>>,
    restart: Option<Spanned<Restart>>,
    shutdown: Option<Spanned<RawShutdown>>,
    significant: Option<Spanned<bool>>,
    keep_mailbox: Option<Spanned<bool>>,
    limits: Option<RawLimits>,
    capabilities: Option<RawCapabilities>,
}

impl Manifest {
    /// The supervisor spec of manifest supervisor `name`, with its subtree. The
    /// manifest was validated: every child exists.
    pub(crate) fn supervisor_spec(&self, name: &str) -> SupervisorSpec {
        let decl = self.supervisor(name).expect("validated manifest");
        let children = decl
            .children
            .iter()
            .map(|child| {
                if let Some(actor) = self.actor(child) {
                    let mut spec =
                        ChildSpec::actor(child, &actor.component, actor.args.clone()).name(child);
                    if let ChildKind::Actor {
                        mailbox,
                        sandbox,
                        keep_mailbox,
                        ..
                    } = &mut spec.kind
                    {
                        *mailbox = actor.mailbox;
                        *sandbox = Some(actor.sandbox.clone());
                        *keep_mailbox = actor.keep_mailbox;
                    }
                    spec.restart = actor.restart.unwrap_or(spec.restart);
                    spec.shutdown = actor.shutdown.unwrap_or(spec.shutdown);
                    spec.significant = actor.significant;
                    spec
                } else {
                    let sub = self.supervisor(child).expect("validated manifest");
                    let mut spec =
                        ChildSpec::supervisor(child, self.supervisor_spec(child)).name(child);
                    spec.restart = sub.restart.unwrap_or(spec.restart);
                    spec.shutdown = sub.shutdown.unwrap_or(spec.shutdown);
                    spec
                }
            })
            .collect();
        SupervisorSpec {
            strategy: decl.strategy,
            max_restarts: decl.max_restarts,
            max_seconds: decl.max_seconds,
            children,
            max_children: decl.max_children,
            auto_shutdown: decl.auto_shutdown,
            sandbox: None,
        }
    }

    /// Reads and validates a manifest file. Relative paths in it are resolved against
    /// its directory.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Manifest, ManifestError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ManifestError {
            file: path.to_path_buf(),
            location: None,
            message: format!("cannot read the manifest: {e}"),
        })?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Manifest::parse(&text, path, &dir)
    }

    /// Parses and validates manifest text. `file` names it in errors; relative paths
    /// are resolved against `base_dir`.
    pub fn parse(text: &str, file: &Path, base_dir: &Path) -> Result<Manifest, ManifestError> {
        let lines = Lines::new(text, file);
        let at = |span: Range<usize>, message: String| ManifestError {
            file: file.to_path_buf(),
            location: Some(lines.locate(span.start)),
            message,
        };
        let raw: RawManifest = toml::from_str(text).map_err(|e| {
            let message = e.message().trim_end().to_string();
            match e.span() {
                Some(span) => at(span, message),
                None => ManifestError {
                    file: file.to_path_buf(),
                    location: None,
                    message,
                },
            }
        })?;

        let mut components = Vec::with_capacity(raw.components.len());
        for (name, decl) in &raw.components {
            let span = decl.span();
            let decl = decl.get_ref();
            if decl.path.get_ref().trim().is_empty() {
                return Err(at(
                    decl.path.span(),
                    format!("component {name:?}: `path` must not be empty"),
                ));
            }
            if let Some(build) = &decl.build
                && build.trim().is_empty()
            {
                return Err(at(
                    span,
                    format!("component {name:?}: `build` must not be empty"),
                ));
            }
            components.push(ComponentDecl {
                name: name.clone(),
                path: base_dir.join(decl.path.get_ref()),
                build: decl.build.clone(),
                workdir: decl
                    .workdir
                    .as_ref()
                    .map_or_else(|| base_dir.to_path_buf(), |w| base_dir.join(w)),
                location: lines.locate(decl.path.span().start),
            });
        }

        let defaults = match &raw.limits {
            Some(l) => limits(l, "[limits]").map_err(|(span, msg)| at(span, msg))?,
            None => Limits::default(),
        };
        let runtime = RuntimeDecl {
            max_instances: match &raw.runtime.max_instances {
                Some(n) if !(1..=MAX_INSTANCES).contains(n.get_ref()) => {
                    return Err(at(
                        n.span(),
                        format!("[runtime]: `max_instances` must be from 1 to {MAX_INSTANCES}"),
                    ));
                }
                n => n.as_ref().map(|n| *n.get_ref()),
            },
        };

        let stores = stores(&raw.stores).map_err(|(s, m)| at(s, m))?;
        let data_dir = match &raw.storage.dir {
            Some(dir) => base_dir.join(dir),
            None => default_data_dir(base_dir),
        };
        let table_store = match &raw.storage.tables {
            Some(name) if !stores.contains_key(name.get_ref()) => {
                return Err(at(
                    name.span(),
                    format!(
                        "[storage]: `tables` names {:?}, which is not a declared store ([stores.NAME])",
                        name.get_ref()
                    ),
                ));
            }
            Some(name) => Some(name.get_ref().clone()),
            None => None,
        };

        // Every actor and supervisor declared so far, by name.
        let mut index: HashMap<String, Decl> =
            HashMap::with_capacity(raw.actors.len() + raw.supervisors.len());
        let mut actors: Vec<ActorDecl> = Vec::with_capacity(raw.actors.len());
        for actor in &raw.actors {
            let span = actor.span();
            let actor = actor.get_ref();
            let name = actor.name.get_ref();
            if let Err(why) = crate::process::registry::validate_name(name) {
                return Err(at(actor.name.span(), format!("actor name {name:?}: {why}")));
            }
            if let Some(Decl::Actor(first)) = index.get(name) {
                return Err(at(
                    actor.name.span(),
                    format!(
                        "actor name {name:?} is used twice (first at line {})",
                        actors[*first].location.line
                    ),
                ));
            }
            let component = actor.component.get_ref();
            if !raw.components.contains_key(component) {
                let known = if raw.components.is_empty() {
                    "the manifest defines no [components]".to_string()
                } else {
                    let names: Vec<_> = raw.components.keys().map(String::as_str).collect();
                    format!("defined components: {}", names.join(", "))
                };
                return Err(at(
                    actor.component.span(),
                    format!("actor {name:?} uses unknown component {component:?}; {known}"),
                ));
            }
            let mailbox = match &actor.mailbox {
                Some(m) if *m.get_ref() == 0 => {
                    return Err(at(
                        m.span(),
                        format!("actor {name:?}: `mailbox` must be at least 1"),
                    ));
                }
                Some(m) if *m.get_ref() > MAX_MAILBOX_CAPACITY => {
                    return Err(at(
                        m.span(),
                        format!("actor {name:?}: `mailbox` must be at most {MAX_MAILBOX_CAPACITY}"),
                    ));
                }
                Some(m) => Some(*m.get_ref()),
                None => None,
            };
            let args = match &actor.args {
                Some(table) => crate::codec::encode(table.get_ref()).map_err(|e| {
                    at(
                        table.span(),
                        format!("actor {name:?}: `args` cannot be encoded: {e}"),
                    )
                })?,
                None => crate::codec::encode(&toml::Table::new()).expect("an empty table encodes"),
            };
            let own = match &actor.limits {
                Some(l) => limits(l, &format!("actor {name:?}")).map_err(|(s, m)| at(s, m))?,
                None => Limits::default(),
            };
            let capabilities = match &actor.capabilities {
                Some(c) => capabilities(c, name, base_dir, &stores).map_err(|(s, m)| at(s, m))?,
                None => Capabilities::default(),
            };
            let limits = own.or(&defaults);
            // The init argument is the actor's first message: its size limit holds.
            let max_message = limits.max_message_size.unwrap_or(DEFAULT_MAX_MESSAGE_SIZE);
            if args.len() > max_message {
                let span = actor.args.as_ref().map_or(span.clone(), |a| a.span());
                return Err(at(
                    span,
                    format!(
                        "actor {name:?}: `args` encode to {} bytes, more than its max_message_size of {max_message} bytes",
                        args.len()
                    ),
                ));
            }
            index.insert(name.clone(), Decl::Actor(actors.len()));
            actors.push(ActorDecl {
                name: name.clone(),
                component: component.clone(),
                args,
                mailbox,
                restart: actor.restart.as_ref().map(|r| *r.get_ref()),
                shutdown: shutdown(&actor.shutdown, name).map_err(|(span, msg)| at(span, msg))?,
                significant: actor.significant.as_ref().is_some_and(|s| *s.get_ref()),
                keep_mailbox: actor.keep_mailbox.as_ref().is_some_and(|k| *k.get_ref()),
                sandbox: Arc::new(Sandbox {
                    capabilities,
                    limits,
                }),
                location: lines.locate(span.start),
            });
        }

        let mut supervisors: Vec<SupervisorDecl> = Vec::with_capacity(raw.supervisors.len());
        for sup in &raw.supervisors {
            let span = sup.span();
            let sup = sup.get_ref();
            let name = sup.name.get_ref();
            if let Err(why) = crate::process::registry::validate_name(name) {
                return Err(at(
                    sup.name.span(),
                    format!("supervisor name {name:?}: {why}"),
                ));
            }
            let first = index.get(name).map(|decl| match *decl {
                Decl::Actor(i) => actors[i].location.line,
                Decl::Supervisor(i) => supervisors[i].location.line,
            });
            if let Some(line) = first {
                return Err(at(
                    sup.name.span(),
                    format!(
                        "the name {name:?} is also used at line {line}; actors and supervisors share one namespace"
                    ),
                ));
            }
            let max_seconds = match &sup.max_seconds {
                Some(m) if *m.get_ref() == 0 => {
                    return Err(at(
                        m.span(),
                        format!(
                            "supervisor {name:?}: `max_seconds` must be at least 1 (the window in which `max_restarts` restarts are allowed)"
                        ),
                    ));
                }
                Some(m) => *m.get_ref(),
                None => 5,
            };
            index.insert(name.clone(), Decl::Supervisor(supervisors.len()));
            supervisors.push(SupervisorDecl {
                name: name.clone(),
                strategy: sup.strategy,
                max_restarts: sup.max_restarts.unwrap_or(1),
                max_seconds: Duration::from_secs(max_seconds),
                children: sup.children.iter().map(|c| c.get_ref().clone()).collect(),
                restart: sup.restart.as_ref().map(|r| *r.get_ref()),
                shutdown: shutdown(&sup.shutdown, name).map_err(|(span, msg)| at(span, msg))?,
                max_children: sup.max_children,
                auto_shutdown: sup.auto_shutdown,
                location: lines.locate(span.start),
            });
        }

        // Every child exists and has one supervisor.
        let mut parent_of: BTreeMap<&str, &str> = BTreeMap::new();
        for (sup, raw_sup) in supervisors.iter().zip(&raw.supervisors) {
            for child in &raw_sup.get_ref().children {
                let c = child.get_ref().as_str();
                if !index.contains_key(c) {
                    return Err(at(
                        child.span(),
                        format!(
                            "supervisor {:?} lists {c:?}, which is neither an actor nor a supervisor",
                            sup.name
                        ),
                    ));
                }
                if let Some(other) = parent_of.insert(c, &sup.name) {
                    return Err(at(
                        child.span(),
                        format!(
                            "{c:?} is listed by two supervisors ({other:?} and {:?})",
                            sup.name
                        ),
                    ));
                }
            }
        }
        // A supervisor may not contain itself.
        for sup in &supervisors {
            let mut at_name = sup.name.as_str();
            while let Some(parent) = parent_of.get(at_name) {
                if *parent == sup.name {
                    return Err(ManifestError {
                        file: file.to_path_buf(),
                        location: Some(sup.location.clone()),
                        message: format!("supervisor {:?} contains itself", sup.name),
                    });
                }
                at_name = parent;
            }
        }
        // Restart and shutdown mean something only under a supervisor.
        let child_settings =
            |restart: &Option<Spanned<Restart>>, shutdown: &Option<Spanned<RawShutdown>>| {
                restart
                    .as_ref()
                    .map(|r| r.span())
                    .or_else(|| shutdown.as_ref().map(|s| s.span()))
            };
        let unsupervised = raw
            .actors
            .iter()
            .map(|a| {
                (
                    "actor",
                    &a.get_ref().name,
                    child_settings(&a.get_ref().restart, &a.get_ref().shutdown),
                )
            })
            .chain(raw.supervisors.iter().map(|s| {
                (
                    "supervisor",
                    &s.get_ref().name,
                    child_settings(&s.get_ref().restart, &s.get_ref().shutdown),
                )
            }));
        for (kind, name, span) in unsupervised {
            if let Some(span) = span
                && !parent_of.contains_key(name.get_ref().as_str())
            {
                return Err(at(
                    span,
                    format!(
                        "{kind} {:?} has `restart`/`shutdown` but no supervisor lists it",
                        name.get_ref()
                    ),
                ));
            }
        }

        // A kept mailbox goes to a next instance, which only a supervisor starts.
        for raw_actor in &raw.actors {
            let a = raw_actor.get_ref();
            if let Some(keep) = a.keep_mailbox.as_ref().filter(|k| *k.get_ref())
                && !parent_of.contains_key(a.name.get_ref().as_str())
            {
                return Err(at(
                    keep.span(),
                    format!(
                        "actor {:?} has `keep_mailbox` but no supervisor lists it",
                        a.name.get_ref()
                    ),
                ));
            }
        }

        // A significant child can shut its supervisor down only if it may stay down.
        for raw_actor in &raw.actors {
            let a = raw_actor.get_ref();
            let Some(significant) = a.significant.as_ref().filter(|s| *s.get_ref()) else {
                continue;
            };
            let name = a.name.get_ref();
            if !parent_of.contains_key(name.as_str()) {
                return Err(at(
                    significant.span(),
                    format!("actor {name:?} is `significant` but no supervisor lists it"),
                ));
            }
            let restart = a
                .restart
                .as_ref()
                .map_or(Restart::Permanent, |r| *r.get_ref());
            if restart == Restart::Permanent {
                return Err(at(
                    significant.span(),
                    format!(
                        "actor {name:?} is significant and permanent; a significant child must be `restart = \"transient\"` or `\"temporary\"`"
                    ),
                ));
            }
        }

        // Top-level items start in file order.
        let mut roots: Vec<(usize, String)> = raw
            .actors
            .iter()
            .map(|a| (a.span().start, a.get_ref().name.get_ref().clone()))
            .chain(
                raw.supervisors
                    .iter()
                    .map(|s| (s.span().start, s.get_ref().name.get_ref().clone())),
            )
            .filter(|(_, name)| !parent_of.contains_key(name.as_str()))
            .collect();
        roots.sort();

        Ok(Manifest {
            file: file.to_path_buf(),
            components,
            actors,
            supervisors,
            roots: roots.into_iter().map(|(_, name)| name).collect(),
            runtime,
            limits: defaults,
            stores,
            data_dir,
            table_store,
            index,
        })
    }

    /// The actor declared as `name`.
    pub(crate) fn actor(&self, name: &str) -> Option<&ActorDecl> {
        match self.index.get(name)? {
            Decl::Actor(i) => self.actors.get(*i),
            Decl::Supervisor(_) => None,
        }
    }

    /// The supervisor declared as `name`.
    pub(crate) fn supervisor(&self, name: &str) -> Option<&SupervisorDecl> {
        match self.index.get(name)? {
            Decl::Supervisor(i) => self.supervisors.get(*i),
            Decl::Actor(_) => None,
        }
    }

    /// The file it was read from (the `file` given to [`Manifest::parse`]).
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The names of its components, in name order.
    pub fn component_names(&self) -> impl ExactSizeIterator<Item = &str> {
        self.components.iter().map(|c| c.name.as_str())
    }

    /// The names of its actors, in file order.
    pub fn actor_names(&self) -> impl ExactSizeIterator<Item = &str> {
        self.actors.iter().map(|a| a.name.as_str())
    }

    /// The names of its supervisors, in file order.
    pub fn supervisor_names(&self) -> impl ExactSizeIterator<Item = &str> {
        self.supervisors.iter().map(|s| s.name.as_str())
    }

    /// The top-level actors and supervisors (those no supervisor lists), in the
    /// order [`Runtime::start`](crate::Runtime::start) starts them.
    pub fn roots(&self) -> impl ExactSizeIterator<Item = &str> {
        self.roots.iter().map(String::as_str)
    }

    /// The build commands of the components that declare one (`build = "..."`), in
    /// component name order, for a tool to run before loading them
    /// (`foundation run --build` does).
    pub fn build_commands(&self) -> impl Iterator<Item = BuildCommand<'_>> {
        self.components.iter().filter_map(|c| {
            Some(BuildCommand {
                component: &c.name,
                command: c.build.as_deref()?,
                workdir: &c.workdir,
                location: &c.location,
            })
        })
    }
}

/// A component's build command, from its `build` key.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct BuildCommand<'a> {
    /// The component it builds.
    pub component: &'a str,
    /// A shell command (run with `sh -c`).
    pub command: &'a str,
    /// The directory it runs in: the component's `workdir`, else the manifest's.
    pub workdir: &'a Path,
    /// Where the component is declared, for errors about its build.
    pub location: &'a Location,
}

fn shutdown(
    raw: &Option<Spanned<RawShutdown>>,
    owner: &str,
) -> Result<Option<Shutdown>, (Range<usize>, String)> {
    let Some(raw) = raw else { return Ok(None) };
    match raw.get_ref() {
        RawShutdown::Millis(ms) => Ok(Some(Shutdown::Timeout(Duration::from_millis(*ms)))),
        RawShutdown::Word(w) if w == "brutal_kill" => Ok(Some(Shutdown::BrutalKill)),
        RawShutdown::Word(w) if w == "infinity" => Ok(Some(Shutdown::Infinity)),
        RawShutdown::Word(w) => Err((
            raw.span(),
            format!(
                "{owner:?}: `shutdown` is milliseconds, \"brutal_kill\" or \"infinity\", not {w:?}"
            ),
        )),
    }
}

type Spot = (Range<usize>, String);

/// A size in bytes, more than zero: a number, or text such as "64 MiB".
fn size_field(v: &Spanned<RawSize>, owner: &str, key: &str) -> Result<usize, Spot> {
    let bytes = match v.get_ref() {
        RawSize::Bytes(n) => Some(*n),
        RawSize::Text(t) => parse_size(t),
    };
    let bytes = bytes.and_then(|b| usize::try_from(b).ok()).ok_or_else(|| {
        (
            v.span(),
            format!(
                "{owner}: `{key}` is a number of bytes or a size such as \"64 MiB\" (units B, KiB, MiB, GiB, KB, MB, GB)"
            ),
        )
    })?;
    if bytes == 0 {
        return Err((v.span(), format!("{owner}: `{key}` must be more than zero")));
    }
    Ok(bytes)
}

fn limits(raw: &RawLimits, owner: &str) -> Result<Limits, Spot> {
    let size = |v: &Option<Spanned<RawSize>>, key: &str| -> Result<Option<usize>, Spot> {
        v.as_ref().map(|v| size_field(v, owner, key)).transpose()
    };
    let duration = |v: &Option<Spanned<RawDuration>>, key: &str, infinity: bool| {
        let Some(v) = v else { return Ok(None) };
        match v.get_ref() {
            RawDuration::Text(t) if infinity && t.trim() == "infinity" => return Ok(Some(Duration::MAX)),
            RawDuration::Millis(ms) => Some(Duration::from_millis(*ms)),
            RawDuration::Text(t) => parse_duration(t),
        }
        .filter(|d| !d.is_zero())
        .map(Some)
        .ok_or_else(|| {
            let or_infinity = if infinity { ", or \"infinity\"" } else { "" };
            (
                v.span(),
                format!(
                    "{owner}: `{key}` is milliseconds or a duration such as \"2s\" (units ms, s, m), more than zero{or_infinity}"
                ),
            )
        })
    };
    let deadline = duration(&raw.deadline, "deadline", false)?;
    let init_deadline = duration(&raw.init_deadline, "init_deadline", true)?;
    Ok(Limits {
        max_memory: size(&raw.max_memory, "max_memory")?,
        max_table_elements: raw.max_table_elements,
        deadline,
        init_deadline,
        max_message_size: size(&raw.max_message_size, "max_message_size")?,
        max_children: raw.max_children,
        max_tables: raw.max_tables,
        max_tasks: raw.max_tasks,
        max_timers: raw.max_timers,
        max_subscriptions: raw.max_subscriptions,
        max_groups: raw.max_groups,
        max_monitors: raw.max_monitors,
        max_links: raw.max_links,
        max_pending_calls: raw.max_pending_calls,
    })
}

/// A number and the unit after it: "64 MiB" is (64, "MiB"), "500" is (500, "").
fn number_and_unit(text: &str) -> Option<(u64, &str)> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    Some((number.parse().ok()?, unit.trim()))
}

/// "64 MiB", "512KiB", "1 GB", "4096", "4096 B".
fn parse_size(text: &str) -> Option<u64> {
    let (number, unit) = number_and_unit(text)?;
    let scale: u64 = match unit {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return None,
    };
    number.checked_mul(scale)
}

/// "200ms", "2s", "1m", "500".
fn parse_duration(text: &str) -> Option<Duration> {
    let (number, unit) = number_and_unit(text)?;
    match unit {
        "" | "ms" => Some(Duration::from_millis(number)),
        "s" => Some(Duration::from_secs(number)),
        "m" => number.checked_mul(60).map(Duration::from_secs),
        _ => None,
    }
}

/// The `[stores.NAME]` sections.
fn stores(
    raw: &BTreeMap<String, Spanned<RawStore>>,
) -> Result<BTreeMap<String, StoreConfig>, Spot> {
    let mut stores = BTreeMap::new();
    for (name, decl) in raw {
        let span = decl.span();
        let decl = decl.get_ref();
        let max_value = decl
            .max_value_size
            .as_ref()
            .map(|size| size_field(size, &format!("[stores.{name}]"), "max_value_size"))
            .transpose()?;
        let mut config = match decl.backend {
            RawBackend::Sqlite => {
                if let Some(url) = &decl.url {
                    return Err((
                        url.span(),
                        format!(
                            "[stores.{name}]: `url` is for backend = \"postgres\"; a sqlite store lives in the data directory ([storage] dir)"
                        ),
                    ));
                }
                if decl.password_env.is_some() || decl.pool_size.is_some() {
                    return Err((
                        span,
                        format!(
                            "[stores.{name}]: `password_env` and `pool_size` are for backend = \"postgres\""
                        ),
                    ));
                }
                StoreConfig::sqlite()
            }
            RawBackend::Postgres => {
                let Some(url) = &decl.url else {
                    return Err((
                        span,
                        format!(
                            "[stores.{name}]: backend = \"postgres\" needs `url` (\"postgres://USER@HOST:PORT/DATABASE\")"
                        ),
                    ));
                };
                let mut config = StoreConfig::postgres(url.get_ref().clone());
                if let StoreConfig::Postgres {
                    password_env,
                    pool_size,
                    ..
                } = &mut config
                {
                    *password_env = decl.password_env.clone();
                    if let Some(n) = &decl.pool_size {
                        if !(1..=1024).contains(n.get_ref()) {
                            return Err((
                                n.span(),
                                format!("[stores.{name}]: `pool_size` must be from 1 to 1024"),
                            ));
                        }
                        *pool_size = *n.get_ref();
                    }
                }
                config
            }
        };
        if let Some(bytes) = max_value {
            config = config.max_value_size(bytes);
        }
        stores.insert(name.clone(), config);
    }
    Ok(stores)
}

fn capabilities(
    raw: &RawCapabilities,
    actor: &str,
    base_dir: &Path,
    stores: &BTreeMap<String, StoreConfig>,
) -> Result<Capabilities, Spot> {
    let mut caps = Capabilities::default();
    let mut guests: Vec<&str> = Vec::new();
    for dir in &raw.dirs {
        let d = dir.get_ref();
        let host = base_dir.join(&d.host);
        if d.guest.trim().is_empty() {
            return Err((
                dir.span(),
                format!("actor {actor:?}: a directory's `guest` path must not be empty"),
            ));
        }
        if guests.contains(&d.guest.as_str()) {
            return Err((
                dir.span(),
                format!(
                    "actor {actor:?}: two directories are granted as {:?}",
                    d.guest
                ),
            ));
        }
        guests.push(&d.guest);
        if !host.is_dir() {
            return Err((
                dir.span(),
                format!(
                    "actor {actor:?}: directory {} (granted as {:?}) does not exist or is not a directory",
                    host.display(),
                    d.guest
                ),
            ));
        }
        caps = caps.dir(host, &d.guest, d.access);
    }
    if let Some(env) = &raw.env {
        for (key, value) in env.get_ref() {
            if key.is_empty() || key.contains('=') || key.contains('\0') {
                return Err((
                    env.span(),
                    format!("actor {actor:?}: {key:?} is not an environment variable name"),
                ));
            }
            caps = caps.env(key, value);
        }
    }
    for dest in &raw.connect {
        caps = caps
            .connect(dest.get_ref())
            .map_err(|e| (dest.span(), format!("actor {actor:?}: {e}")))?;
    }
    for store in &raw.keyvalue {
        let name = store.get_ref();
        if !stores.contains_key(name) {
            let known = if stores.is_empty() {
                "the manifest declares no [stores]".to_string()
            } else {
                let names: Vec<_> = stores.keys().map(String::as_str).collect();
                format!("declared stores: {}", names.join(", "))
            };
            return Err((
                store.span(),
                format!("actor {actor:?} is granted unknown store {name:?}; {known}"),
            ));
        }
        caps = caps.keyvalue(name);
    }
    Ok(caps)
}

/// Where each line of a manifest starts, so a byte offset becomes a line and column
/// in time logarithmic in the file's size (a manifest of 20k actors locates each).
struct Lines<'a> {
    text: &'a str,
    file: &'a Path,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str, file: &'a Path) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { text, file, starts }
    }

    /// The line (from 1) and column (from 1, in characters) of byte `offset`.
    fn locate(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        // The last line start at or before `offset`; the first is 0.
        let line = self.starts.partition_point(|&start| start <= offset);
        let start = self.starts[line - 1];
        Location {
            file: self.file.to_path_buf(),
            line,
            column: self.text[start..offset].chars().count() + 1,
        }
    }
}

/// What a parsed manifest holds; what a broken one says is tested in the
/// integration tests (`tests/it/manifest.rs`), through the public API.
#[cfg(test)]
mod tests {
    use super::*;

    const COMPONENT: &str = "[components.counter]\npath = \"counter.wasm\"\n";
    const TREE_BASE: &str = "[components.counter]\npath = \"counter.wasm\"\n\n[[actors]]\nname = \"a\"\ncomponent = \"counter\"\n";

    #[test]
    fn a_valid_manifest_parses_with_resolved_paths_and_encoded_args() {
        let text = format!(
            "{COMPONENT}\n[[actors]]\nname = \"c\"\ncomponent = \"counter\"\nmailbox = 8\nargs = {{ start = 10 }}\n"
        );
        let m = Manifest::parse(&text, Path::new("app.toml"), Path::new("/apps/demo")).unwrap();
        assert_eq!(m.components[0].path, Path::new("/apps/demo/counter.wasm"));
        assert_eq!(m.actors[0].mailbox, Some(8));
        assert_eq!(m.actors[0].location.line, 4);
        #[derive(serde::Deserialize, PartialEq, Debug)]
        struct Args {
            start: i64,
        }
        assert_eq!(
            crate::codec::decode::<Args>(&m.actors[0].args).unwrap(),
            Args { start: 10 }
        );
    }

    #[test]
    fn a_supervision_tree_parses_with_roots_in_file_order() {
        let text = format!(
            "{TREE_BASE}\n[[supervisors]]\nname = \"root\"\nstrategy = \"rest_for_one\"\nchildren = [\"inner\"]\n\n\
             [[supervisors]]\nname = \"inner\"\nchildren = [\"b\"]\nshutdown = \"infinity\"\n\n\
             [[actors]]\nname = \"b\"\ncomponent = \"counter\"\nrestart = \"transient\"\nshutdown = \"brutal_kill\"\n"
        );
        let m = Manifest::parse(&text, Path::new("app.toml"), Path::new(".")).unwrap();
        assert_eq!(m.roots, ["a", "root"]);
        let root = m.supervisor("root").unwrap();
        assert_eq!(root.strategy, Strategy::RestForOne);
        assert_eq!((root.max_restarts, root.max_seconds.as_secs()), (1, 5));
        assert_eq!(
            m.supervisor("inner").unwrap().shutdown,
            Some(Shutdown::Infinity)
        );
        let b = m.actor("b").unwrap();
        assert_eq!(
            (b.restart, b.shutdown),
            (Some(Restart::Transient), Some(Shutdown::BrutalKill))
        );
    }

    #[test]
    fn limits_merge_manifest_defaults_under_each_actor_s_own() {
        let text = format!(
            "{COMPONENT}
    [runtime]
    max_instances = 5000

    [limits]
    max_memory = \"64 MiB\"
    deadline = \"2s\"
    max_children = 10

    [[actors]]
    name = \"a\"
    component = \"counter\"
    limits = {{ max_memory = 1048576, max_tables = 3, max_message_size = \"1 KiB\" }}

    [[actors]]
    name = \"b\"
    component = \"counter\"
    limits = {{ deadline = 250, max_tasks = 2, max_table_elements = 500 }}
    "
        );
        let m = Manifest::parse(&text, Path::new("app.toml"), Path::new("/apps/demo")).unwrap();
        assert_eq!(m.runtime.max_instances, Some(5000));
        let a = &m.actors[0].sandbox.limits;
        assert_eq!(a.max_memory, Some(1 << 20));
        assert_eq!(a.deadline, Some(Duration::from_secs(2)));
        assert_eq!(a.max_children, Some(10));
        assert_eq!(a.max_tables, Some(3));
        assert_eq!(a.max_message_size, Some(1024));
        assert_eq!(a.max_tasks, None, "unset: the runtime's default");
        let b = &m.actors[1].sandbox.limits;
        assert_eq!(b.max_memory, Some(64 << 20));
        assert_eq!(b.deadline, Some(Duration::from_millis(250)));
        assert_eq!(b.max_tasks, Some(2));
        assert_eq!(b.max_table_elements, Some(500));
        assert!(m.actors[0].sandbox.capabilities.is_empty());
    }

    #[test]
    fn init_deadline_takes_a_duration_or_infinity() {
        let parse = |v: &str| {
            let text = format!(
                "{COMPONENT}\n[[actors]]\nname = \"c\"\ncomponent = \"counter\"\nlimits = {{ init_deadline = {v} }}\n"
            );
            Manifest::parse(&text, Path::new("app.toml"), Path::new("."))
                .map(|m| m.actors[0].sandbox.limits.init_deadline)
                .map_err(|e| e.to_string())
        };
        assert_eq!(parse("\"infinity\""), Ok(Some(Duration::MAX)));
        assert_eq!(parse("\"10s\""), Ok(Some(Duration::from_secs(10))));
        assert_eq!(parse("250"), Ok(Some(Duration::from_millis(250))));
        assert_eq!(
            parse("0"),
            Err("app.toml:7:28: actor \"c\": `init_deadline` is milliseconds or a duration such as \"2s\" (units ms, s, m), more than zero, or \"infinity\"".into())
        );
        // `deadline` has no infinity: none is its default.
        let text = format!(
            "{COMPONENT}\n[[actors]]\nname = \"c\"\ncomponent = \"counter\"\nlimits = {{ deadline = \"infinity\" }}\n"
        );
        assert!(Manifest::parse(&text, Path::new("app.toml"), Path::new(".")).is_err());
    }

    #[test]
    fn granted_capabilities_reach_the_actor_s_sandbox() {
        let dir = std::env::temp_dir();
        let text = format!(
            "{COMPONENT}\n[[actors]]\nname = \"c\"\ncomponent = \"counter\"\n\n[actors.capabilities]\n\
             dirs = [{{ host = \".\", guest = \"/tmp\", access = \"read-only\" }}]\nenv = {{ A = \"1\" }}\nconnect = [\"127.0.0.1:4222\"]\n"
        );
        let m = Manifest::parse(&text, Path::new("app.toml"), &dir).unwrap();
        assert!(!m.actors[0].sandbox.capabilities.is_empty());
        let plain = format!("{COMPONENT}\n[[actors]]\nname = \"c\"\ncomponent = \"counter\"\n");
        let m = Manifest::parse(&plain, Path::new("app.toml"), &dir).unwrap();
        assert!(m.actors[0].sandbox.capabilities.is_empty());
    }

    #[test]
    fn stores_are_declared_granted_and_checked_with_their_location() {
        let parse =
            |text: &str| Manifest::parse(text, Path::new("app.toml"), Path::new("/apps/bank"));
        let text = format!(
            "{COMPONENT}\n[storage]\ndir = \"state\"\ntables = \"ledger\"\n\n\
             [stores.ledger]\nmax_value_size = \"4 KiB\"\n\n\
             [stores.shared]\nbackend = \"postgres\"\nurl = \"postgres://app@127.0.0.1/app\"\n\
             password_env = \"PW\"\npool_size = 4\n\n\
             [[actors]]\nname = \"c\"\ncomponent = \"counter\"\n\
             capabilities = {{ keyvalue = [\"ledger\", \"shared\"] }}\n"
        );
        let m = parse(&text).unwrap();
        assert_eq!(m.data_dir, Path::new("/apps/bank/state"));
        assert_eq!(m.table_store.as_deref(), Some("ledger"));
        assert_eq!(
            m.stores["ledger"],
            StoreConfig::sqlite().max_value_size(4096)
        );
        assert!(matches!(
            &m.stores["shared"],
            StoreConfig::Postgres { password_env: Some(v), pool_size: 4, .. } if v == "PW"
        ));
        let caps = &m.actors[0].sandbox.capabilities;
        assert!(caps.grants_store("ledger") && caps.grants_store("shared"));
        assert!(!caps.grants_store("other"));
        // The URL may hold a password: Debug never shows it.
        assert!(!format!("{:?}", m.stores["shared"]).contains("127.0.0.1"));

        let unknown = format!(
            "{COMPONENT}\n[stores.ledger]\n\n[[actors]]\nname = \"c\"\ncomponent = \"counter\"\n\
             capabilities = {{ keyvalue = [\"ledgr\"] }}\n"
        );
        let e = parse(&unknown).unwrap_err().to_string();
        assert!(
            e.contains("app.toml:9:30:")
                && e.contains("unknown store \"ledgr\"; declared stores: ledger"),
            "{e}"
        );
        let no_url = format!("{COMPONENT}\n[stores.shared]\nbackend = \"postgres\"\n");
        let e = parse(&no_url).unwrap_err().to_string();
        assert!(e.contains("needs `url`"), "{e}");
        let url_on_sqlite = format!("{COMPONENT}\n[stores.s]\nurl = \"postgres://x\"\n");
        let e = parse(&url_on_sqlite).unwrap_err().to_string();
        assert!(e.contains("`url` is for backend = \"postgres\""), "{e}");
        let bad_tables = format!("{COMPONENT}\n[storage]\ntables = \"nope\"\n");
        let e = parse(&bad_tables).unwrap_err().to_string();
        assert!(e.contains("not a declared store"), "{e}");
        let bad_backend = format!("{COMPONENT}\n[stores.s]\nbackend = \"redis\"\n");
        assert!(parse(&bad_backend).is_err());
    }

    #[test]
    fn the_public_view_lists_names_roots_and_build_commands() {
        let text = "[components.counter]\npath = \"counter.wasm\"\nbuild = \"make counter\"\n\n\
             [components.plain]\npath = \"plain.wasm\"\n\n\
             [[actors]]\nname = \"a\"\ncomponent = \"counter\"\n\n\
             [[supervisors]]\nname = \"root\"\nchildren = [\"b\"]\n\n\
             [[actors]]\nname = \"b\"\ncomponent = \"plain\"\n";
        let m = Manifest::parse(text, Path::new("app.toml"), Path::new("/apps/demo")).unwrap();
        assert_eq!(m.file(), Path::new("app.toml"));
        assert_eq!(
            m.component_names().collect::<Vec<_>>(),
            ["counter", "plain"]
        );
        assert_eq!(m.actor_names().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(m.supervisor_names().collect::<Vec<_>>(), ["root"]);
        assert_eq!(m.roots().collect::<Vec<_>>(), ["a", "root"]);
        let builds: Vec<_> = m.build_commands().collect();
        assert_eq!(builds.len(), 1, "only the component that declares one");
        let b = builds[0];
        assert_eq!((b.component, b.command), ("counter", "make counter"));
        assert_eq!(b.workdir, Path::new("/apps/demo"));
        assert_eq!(
            (b.location.line, b.location.file.as_path()),
            (2, Path::new("app.toml"))
        );
    }
}
