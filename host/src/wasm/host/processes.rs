//! The host side of the `processes` interface: identity, spawning, names, monitors,
//! links and exit signals.

use std::sync::atomic::Ordering;

use crate::error::{ExitReason, SendError};
use crate::id::ActorId;
use crate::node::SpawnSpec;
use crate::process::cell;
use crate::sandbox::limit_hit;
use crate::wasm::bindings::foundation::actor::processes as wp;
use crate::wasm::bindings::wit;
use crate::wasm::host::convert::name_error;
use crate::wasm::store::ActorData;

impl ActorData {
    /// Whether this actor may hold one more link (`max_links`); the refusal is
    /// counted and logged.
    fn links_left(&self) -> Result<(), String> {
        let max = self.quotas.max_links;
        if self.cell.link_count() < max {
            return Ok(());
        }
        Err(limit_hit(
            &self.node.hits.links,
            &self.cell.label,
            "max_links",
            max,
            format!("max_links: this actor holds {max} links already, its limit"),
        ))
    }
}

impl wp::Host for ActorData {
    fn self_id(&mut self) -> u64 {
        self.cell.id.get()
    }

    fn parent(&mut self) -> Option<u64> {
        self.parent
    }

    async fn spawn(&mut self, component: String, args: Vec<u8>) -> Result<u64, wit::SpawnError> {
        let spec = self.child_spec(component, args)?;
        match self.node.spawn(spec).await {
            Ok(cell) => Ok(cell.id.get()),
            Err(e) => Err(e.into()),
        }
    }

    async fn spawn_link(
        &mut self,
        component: String,
        args: Vec<u8>,
    ) -> Result<u64, wit::SpawnError> {
        self.links_left().map_err(wit::SpawnError::QuotaExceeded)?;
        let spec = SpawnSpec {
            link: Some(self.cell.clone()),
            ..self.child_spec(component, args)?
        };
        match self.node.spawn(spec).await {
            Ok(cell) => Ok(cell.id.get()),
            Err(e) => Err(e.into()),
        }
    }

    fn register(&mut self, name: String) -> Result<(), wit::NameError> {
        self.node
            .registry
            .register(&self.cell, &name)
            .map_err(name_error)
    }

    fn unregister(&mut self, name: String) -> Result<(), wit::NameError> {
        self.node
            .registry
            .unregister(&self.cell, &name)
            .map_err(name_error)
    }

    fn whereis(&mut self, name: String) -> Option<u64> {
        self.node.registry.whereis(&name).map(|c| c.id.get())
    }

    fn monitor(&mut self, target: u64) -> Result<u64, wit::SendError> {
        let max = self.quotas.max_monitors;
        if self.holdings.monitors.len() >= max {
            return Err(wit::SendError::QuotaExceeded(limit_hit(
                &self.node.hits.monitors,
                &self.cell.label,
                "max_monitors",
                max,
                format!("max_monitors: this actor holds {max} monitors already, its limit"),
            )));
        }
        let monitor = self.node.monitor(&self.cell.mailbox.signals, target);
        self.holdings.monitors.insert(monitor, target);
        Ok(monitor)
    }

    fn demonitor(&mut self, monitor: u64) -> bool {
        match self.holdings.monitors.remove(&monitor) {
            Some(target) => {
                if let Some(target) = ActorId::from_raw(target) {
                    self.node.demonitor(target, monitor);
                }
                true
            }
            None => false,
        }
    }

    fn link(&mut self, target: u64) -> Result<(), wit::SendError> {
        let target = ActorId::from_raw(target)
            .and_then(|id| self.node.registry.get(id))
            .ok_or(wit::SendError::Noproc)?;
        if !self.cell.is_linked(target.id) {
            self.links_left().map_err(wit::SendError::QuotaExceeded)?;
        }
        cell::link(&self.cell, &target).map_err(|_| wit::SendError::Noproc)
    }

    fn unlink(&mut self, target: u64) {
        if let Some(target) = ActorId::from_raw(target).and_then(|id| self.node.registry.get(id)) {
            cell::unlink(&self.cell, &target);
        }
    }

    async fn exit(&mut self, target: u64, reason: wit::ExitReason) -> Result<(), wit::SendError> {
        let reason = ExitReason::from(reason);
        // To a dead or unknown target: nothing, as OTP's `exit/2`.
        let Some(target) = ActorId::from_raw(target).and_then(|id| self.node.registry.get(id))
        else {
            return Ok(());
        };
        match target
            .sent_exit(self.cell.id, reason, self.node.settings.send_timeout)
            .await
        {
            // Gone meanwhile: nothing, as above.
            Ok(()) | Err(SendError::Noproc) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn trap_exits(&mut self, enabled: bool) -> bool {
        self.cell.trap_exit.swap(enabled, Ordering::SeqCst)
    }
}
