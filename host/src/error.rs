//! The library's typed errors. Each names what was wrong; the binary adds context
//! with `anyhow`.

use std::path::PathBuf;
use std::time::Duration;

/// Why an actor stopped. Mirrors `exit-reason` in the WIT.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum ExitReason {
    /// It stopped by its own choice, without error.
    Normal,
    /// It was asked to stop (runtime shutdown, or later its supervisor).
    Shutdown,
    /// It was stopped unconditionally (no `terminate`), or its `terminate` overran
    /// its deadline.
    Killed,
    /// Its instance trapped: the panic message, or wasmtime's trap message.
    Trap(String),
    /// A reason of the actor's own.
    Custom(String),
    /// There was no such actor.
    Noproc,
    /// A limit of its sandbox stopped it: which one, and a message that gives the
    /// limit's value.
    Limit(Limit, String),
}

/// A sandbox limit that can stop an instance (see `docs/semantics.md`, "Limits
/// and quotas").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Limit {
    /// Linear memory would have grown past `max_memory`.
    Memory,
    /// A wasm table would have grown past `max_table_elements`.
    TableElements,
    /// One handler ran past the actor's `deadline`.
    Deadline,
}

impl ExitReason {
    /// Whether this is a normal exit in OTP's sense (`normal` or `shutdown`).
    pub fn is_normal(&self) -> bool {
        matches!(self, ExitReason::Normal | ExitReason::Shutdown)
    }
}

impl std::fmt::Display for ExitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitReason::Normal => f.write_str("normal"),
            ExitReason::Shutdown => f.write_str("shutdown"),
            ExitReason::Killed => f.write_str("killed"),
            ExitReason::Trap(m) => write!(f, "trap: {m}"),
            ExitReason::Custom(m) => write!(f, "{m}"),
            ExitReason::Noproc => f.write_str("noproc"),
            ExitReason::Limit(_, m) => write!(f, "{m}"),
        }
    }
}

/// Why a cast or a call failed. Nothing is dropped silently: every message that was
/// not delivered, and every call that got no reply, ends in one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// No actor lives at that address or under that name.
    #[error("noproc: no actor at that address")]
    Noproc,
    /// The receiver's mailbox stayed full until the deadline (`try_cast`: it was full).
    #[error("mailbox-full: the receiver's mailbox (capacity {capacity}) stayed full")]
    MailboxFull {
        /// The receiver's mailbox capacity.
        capacity: usize,
    },
    /// A call got no reply within its timeout.
    #[error("timeout: no reply within {0:?}")]
    Timeout(Duration),
    /// The receiver stopped before replying, with this reason.
    #[error("the receiver exited before replying: {0}")]
    Exited(ExitReason),
    /// The message is larger than the runtime's maximum message size.
    #[error("message of {size} bytes exceeds the maximum message size of {max} bytes")]
    TooLarge {
        /// The message's size in bytes.
        size: usize,
        /// The runtime's limit.
        max: usize,
    },
    /// The receiver could not decode the call as a request it handles; the text is
    /// its decoder's error. It did not handle the call and goes on.
    #[error("rejected: the receiver cannot decode the call: {0}")]
    Rejected(String),
    /// A quota is used up: the sender's (`max_monitors`, `max_links`) or, for a
    /// call, the receiver's `max_pending_calls`; the text names it and its value.
    #[error("quota-exceeded: {0}")]
    QuotaExceeded(String),
}

/// Why a typed cast or call from Rust failed: delivery, or the encoding of the
/// message or the reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ActorError {
    /// The message was not delivered, or the call got no reply.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The message did not encode.
    #[error("encoding the message: {0}")]
    Encode(String),
    /// The reply did not decode as the expected type.
    #[error("decoding the reply: {0}")]
    Decode(String),
}

/// Why an actor could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum SpawnError {
    /// No component is known by that name.
    #[error("unknown component {name:?} (known: {known})")]
    UnknownComponent {
        /// The name asked for.
        name: String,
        /// The names the runtime knows, comma-separated.
        known: String,
    },
    /// `init` returned an error or trapped.
    #[error("init of actor {actor} failed: {reason}")]
    InitFailed {
        /// The actor's label.
        actor: String,
        /// Why it stopped.
        reason: ExitReason,
    },
    /// The name is already held by a live actor.
    #[error("the name {0:?} is already registered")]
    NameTaken(String),
    /// The instance could not be created, or the runtime is shutting down.
    #[error("cannot start an actor: {0}")]
    Unavailable(String),
    /// The init argument did not encode, or is larger than the maximum message size.
    #[error("init args: {0}")]
    Codec(String),
    /// A quota of the starter's sandbox (`max_children`, `max_tasks`) is used up; the
    /// message names the quota and its value.
    #[error("quota-exceeded: {0}")]
    QuotaExceeded(String),
}

/// A place in a manifest file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Location {
    /// The manifest file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// An invalid manifest: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", location.as_ref().map_or_else(|| file.display().to_string(), |l| l.to_string()))]
#[non_exhaustive]
pub struct ManifestError {
    /// The manifest file.
    pub file: PathBuf,
    /// Where in it, when the error has a place.
    pub location: Option<Location>,
    /// What is wrong.
    pub message: String,
}

/// Errors of the runtime as a whole: configuration, manifests, components.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The manifest is invalid; the error names file, line and column.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A component file could not be read.
    #[error("component {name:?}: cannot read {}: {source}", path.display())]
    ComponentFile {
        /// The component's name.
        name: String,
        /// Its path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A component is not valid Wasm, or does not implement the actor world.
    #[error("component {name:?} ({origin}): {message}")]
    InvalidComponent {
        /// The component's name.
        name: String,
        /// Where it came from (its path, or "bytes").
        origin: String,
        /// What is wrong, from wasmtime's validation.
        message: String,
    },
    /// The engine could not be configured (for example the pooling allocator could not
    /// reserve its memory).
    #[error("cannot configure the wasm engine: {0}")]
    Engine(String),
    /// A store could not be opened (see `docs/semantics.md`, "Durable state").
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// An actor from the manifest could not be started.
    #[error("actor {actor:?}: {source}")]
    Spawn {
        /// The actor's name in the manifest.
        actor: String,
        /// Why.
        #[source]
        source: SpawnError,
    },
}
