//! The host side of the `messaging` interface: cast, call and deferred replies.

use std::time::Duration;

use crate::wasm::bindings::foundation::actor::messaging as wm;
use crate::wasm::bindings::wit;
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
}
