//! foundation: Erlang/OTP-style actors as sandboxed WebAssembly components.
//!
//! Each actor is an instance of a `wasm32-wasip2` component implementing the
//! `foundation:actor/actor-world` WIT world, with its own store, memory and bounded
//! mailbox. This crate is the host: build a [`Runtime`], give it components (in code or
//! from a [`Manifest`]), spawn actors, and talk to them through [`ActorRef`].
//!
//! ```
//! use std::time::Duration;
//! # #[tokio::main] async fn main() -> anyhow::Result<()> {
//! # let counter_wasm = foundation_fixtures::COUNTER;
//! let runtime = foundation::Runtime::builder().build()?;
//! runtime.add_component("counter", counter_wasm)?;
//! let counter = runtime.spawn("counter", &serde_json::json!({ "start": 1 })).await?;
//! counter.cast(&serde_json::json!({ "Add": 2 })).await?;
//! let n: i64 = counter.call(&"Get", Duration::from_secs(1)).await?;
//! assert_eq!(n, 3);
//! runtime.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! See `ARCHITECTURE.md` for how the pieces fit and `docs/semantics.md` for the
//! guarantees (ordering, timeouts, exits).

// The layers, lowest first; a module imports only modules above it in this list
// (ARCHITECTURE.md, "Layers"). `codec`, `error`, `id`: leaves. `sandbox`: what an
// actor may reach and use. `process`: mailboxes, cells, the process table. `events`,
// `tables`: groups and subscriptions, ETS. `node`: the shared core and the one exit
// path. `timers`, `supervisor`: built on the node. `manifest`: the TOML file. `wasm`:
// everything that touches wasmtime. The facade (`runtime`, `actor_ref`, `table_ref`,
// `probe`) is on top; nothing imports it.
pub mod codec;
mod error;
mod id;
mod sandbox;

mod process;

mod events;
mod store;
mod tables;

mod node;

mod supervisor;
mod timers;

mod manifest;

mod wasm;

mod actor_ref;
mod probe;
mod runtime;
mod table_ref;

pub use actor_ref::{ActorOptions, ActorRef};
pub use error::{
    ActorError, Error, ExitReason, Limit, Location, ManifestError, SendError, SpawnError,
};
pub use events::{EventError, Fanout, topic_matches};
pub use id::ActorId;
pub use manifest::{BuildCommand, Manifest};
pub use node::{
    DEFAULT_MAILBOX_CAPACITY, DEFAULT_MAX_MESSAGE_SIZE, MAX_INSTANCES, MAX_MAILBOX_CAPACITY,
};
pub use probe::{Probe, ProbeError, ProbeReply, Received, SystemMessage};
pub use process::mailbox::Down;
pub use runtime::{DEFAULT_SEND_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT, Runtime, RuntimeBuilder};
pub use sandbox::{
    Capabilities, DEFAULT_INIT_DEADLINE, DEFAULT_MAX_CHILDREN, DEFAULT_MAX_GROUPS,
    DEFAULT_MAX_LINKS, DEFAULT_MAX_MONITORS, DEFAULT_MAX_PENDING_CALLS, DEFAULT_MAX_SUBSCRIPTIONS,
    DEFAULT_MAX_TABLE_ELEMENTS, DEFAULT_MAX_TABLES, DEFAULT_MAX_TASKS, DEFAULT_MAX_TIMERS,
    DirAccess, LimitHits, Limits, Sandbox, SandboxError,
};
pub use store::{
    Bucket, Cas, DEFAULT_MAX_VALUE_SIZE, KeyPage, LIST_PAGE, MAX_KEY_SIZE, StoreConfig, StoreError,
};
pub use supervisor::spec::{
    AutoShutdown, ChildInfo, ChildKind, ChildSpec, NewChild, Restart, Shutdown, Strategy,
    SupervisorSpec,
};
pub use table_ref::TableRef;
pub use tables::table::{
    DEFAULT_MAX_BYTES as DEFAULT_TABLE_MAX_BYTES, DEFAULT_MAX_ENTRIES as DEFAULT_TABLE_MAX_ENTRIES,
    Entry, Page, TableAccess, TableError, TableKind, TableOptions,
};
