//! The host side of the `messaging` interface: cast, call, deferred replies, and the
//! messages a guest cannot decode.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::error::SendError;
use crate::id::ActorId;

use crate::wasm::bindings::foundation::actor::messaging as wm;
use crate::wasm::bindings::wit;
use crate::wasm::host::{MAX_GUEST_TEXT, bounded};
use crate::wasm::store::ActorData;

impl wm::Host for ActorData {
    async fn cast(&mut self, to: u64, msg: Vec<u8>) -> Result<(), wit::SendError> {
        let target = self.target(to)?;
        self.node
            .cast(self.cell.id.get(), &target, msg)
            .await
            .map_err(Into::into)
    }

    async fn call(
        &mut self,
        to: u64,
        msg: Vec<u8>,
        timeout_ms: u32,
    ) -> Result<Vec<u8>, wit::SendError> {
        let target = self.target(to)?;
        self.node
            .call(
                self.cell.id.get(),
                &target,
                msg,
                Duration::from_millis(timeout_ms.into()),
            )
            .await
            .map_err(Into::into)
    }

    fn reply(&mut self, handle: u64, msg: Vec<u8>) -> Result<(), wit::ReplyError> {
        self.answer(handle, &msg)
    }

    fn unexpected(&mut self, sender: u64, call: Option<u64>, reason: String) {
        let reason = bounded(reason, MAX_GUEST_TEXT);
        self.node.unexpected.fetch_add(1, Ordering::Relaxed);
        let from =
            ActorId::from_raw(sender).map_or_else(|| "the host".to_string(), |id| id.to_string());
        let kind = if call.is_some() { "call" } else { "cast" };
        tracing::warn!(actor = %self.cell.label, id = %self.cell.id, %from, "a {kind} from {from} does not decode: {reason}");
        if let Some(tx) = call.and_then(|handle| self.holdings.pending.remove(&handle)) {
            let _ = tx.send(Err(SendError::Rejected(reason)));
        }
    }
}
