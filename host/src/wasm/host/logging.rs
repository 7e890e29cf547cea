//! The host side of the `logging` interface: guest log lines into `tracing`, and
//! the panic message a guest records just before it traps.

use crate::wasm::bindings::foundation::actor::logging as wl;
use crate::wasm::bindings::wit;
use crate::wasm::host::{MAX_GUEST_TEXT, bounded};
use crate::wasm::store::ActorData;

impl wl::Host for ActorData {
    fn log(&mut self, level: wit::Level, msg: String) {
        let actor = &*self.cell.label;
        let id = self.cell.id;
        match level {
            wit::Level::Trace => tracing::trace!(target: "foundation::guest", actor, %id, "{msg}"),
            wit::Level::Debug => tracing::debug!(target: "foundation::guest", actor, %id, "{msg}"),
            wit::Level::Info => tracing::info!(target: "foundation::guest", actor, %id, "{msg}"),
            wit::Level::Warn => tracing::warn!(target: "foundation::guest", actor, %id, "{msg}"),
            wit::Level::Error => tracing::error!(target: "foundation::guest", actor, %id, "{msg}"),
        }
    }

    fn record_panic(&mut self, message: String) -> wasmtime::Result<()> {
        // The message becomes an exit reason that travels to callers and watchers;
        // keep it to a sane size whatever the guest wrote.
        self.panic = Some(bounded(message, MAX_GUEST_TEXT));
        // Every panic in a wasm32 guest aborts; end it here, before the abort's
        // trap. `trapped` reports the recorded message.
        Err(wasmtime::Error::msg("the guest panicked"))
    }
}
