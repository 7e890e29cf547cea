//! The host side of the `logging` interface: guest log lines into `tracing`, and
//! the panic message a guest records just before it traps.

use crate::wasm::bindings::foundation::actor::logging as wl;
use crate::wasm::bindings::wit;
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

    fn record_panic(&mut self, mut message: String) -> wasmtime::Result<()> {
        // The message becomes an exit reason that travels to callers and watchers;
        // keep it to a sane size whatever the guest wrote.
        const MAX_PANIC_MESSAGE: usize = 4096;
        if message.len() > MAX_PANIC_MESSAGE {
            let mut cut = MAX_PANIC_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str("...");
        }
        self.panic = Some(message);
        // Every panic in a wasm32 guest aborts; end it here, before the abort's
        // trap. `trapped` reports the recorded message.
        Err(wasmtime::Error::msg("the guest panicked"))
    }
}
