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

mod actor;
mod bindings;
pub mod codec;
mod engine;
mod error;
mod events;
mod frame;
mod id;
mod mailbox;
pub mod manifest;
mod probe;
mod registry;
mod runtime;
mod sandbox;
mod sched;
mod stdio;
mod supervisor;
mod tables;

pub use error::{ActorError, Error, ExitReason, Limit, SendError, SpawnError};
pub use events::{EventError, Fanout, topic_matches};
pub use id::ActorId;
pub use manifest::{Manifest, ManifestError};
pub use probe::{Probe, ProbeError, ProbeReply, Received, SystemMessage};
pub use registry::Down;
pub use runtime::{
    ActorOptions, ActorRef, DEFAULT_MAILBOX_CAPACITY, DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_SEND_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT, Runtime, RuntimeBuilder,
};
pub use sandbox::{
    Capabilities, DEFAULT_MAX_CHILDREN, DEFAULT_MAX_TABLE_ELEMENTS, DEFAULT_MAX_TABLES,
    DEFAULT_MAX_TASKS, DirAccess, LimitHits, Limits, Sandbox, SandboxError,
};
pub use supervisor::{
    AutoShutdown, ChildInfo, ChildKind, ChildSpec, ChildWire, NewChild, Restart, Shutdown,
    Strategy, SupervisorReply, SupervisorRequest, SupervisorSpec, SupervisorWire,
};
pub use tables::{
    DEFAULT_MAX_BYTES as DEFAULT_TABLE_MAX_BYTES, DEFAULT_MAX_ENTRIES as DEFAULT_TABLE_MAX_ENTRIES,
    TableAccess, TableError, TableKind, TableOptions, TableRef,
};
