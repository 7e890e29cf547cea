//! Everything that touches wasmtime: the engine and its compile cache (`engine`), the
//! epoch ticker (`ticker`), the generated bindings (`bindings`), a store's state
//! (`store`) and WASI context (`wasi`, `stdio`), the actor loop (`actor`), the batch
//! frames (`frame`), starting actors and tasks (`spawn`), and the host side of each
//! WIT interface (`host`). Nothing outside this module names a wasmtime type.

pub(crate) mod actor;
pub(crate) mod bindings;
pub(crate) mod engine;
pub(crate) mod host;
pub(crate) mod spawn;
pub(crate) mod stdio;
pub(crate) mod store;
pub(crate) mod ticker;
pub(crate) mod wasi;
