//! The host side of each WIT interface a guest imports, one file per interface, each
//! implementing the generated `Host` trait on the store state (`ActorData`), and the
//! one place that adds them all to the linker. `convert` holds every conversion
//! between the host's Rust types and WIT types.

use wasmtime::Engine;
use wasmtime::component::{HasSelf, Linker};

use crate::error::Error;
use crate::wasm::bindings::ActorWorld;
use crate::wasm::engine::chain;
use crate::wasm::store::ActorData;

pub(crate) mod convert;
mod events;
mod keyvalue;
mod logging;
mod messaging;
mod processes;
mod supervision;
mod tables;
mod tasks;

/// Cuts `text` (a guest's) to at most `max` bytes at a character boundary, marking
/// the cut: it becomes an exit reason or an error that travels to other actors.
pub(crate) fn bounded(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("...");
    }
    text
}

/// The longest text a guest may give the host to pass on (a panic message, the
/// reason it rejects a message).
pub(crate) const MAX_GUEST_TEXT: usize = 4096;

/// The linker every actor is instantiated with: WASI 0.2 (what a `wasm32-wasip2`
/// component imports even when it does no I/O; the sandbox decides what it reaches)
/// and foundation's interfaces.
pub(crate) fn linker(engine: &Engine) -> Result<Linker<ActorData>, Error> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| Error::Engine(chain(&e)))?;
    ActorWorld::add_to_linker::<ActorData, HasSelf<ActorData>>(&mut linker, |d| d)
        .map_err(|e| Error::Engine(chain(&e)))?;
    Ok(linker)
}
