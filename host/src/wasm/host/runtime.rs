//! The host side of the `runtime` interface: messaging, processes, names, monitors,
//! links, tasks, supervisors started by guests, logging and panics.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::codec;
use crate::error::ExitReason;
use crate::id::ActorId;
use crate::node::{SpawnSpec, TaskSpec};
use crate::process::cell;
use crate::supervisor::server as supervisor;
use crate::supervisor::wire::SupervisorWire;
use crate::wasm::bindings::foundation::actor::runtime as wr;
use crate::wasm::bindings::wit;
use crate::wasm::host::convert::name_error;
use crate::wasm::store::ActorData;

impl wit::Host for ActorData {}

impl wr::Host for ActorData {
    async fn self_id(&mut self) -> u64 {
        self.cell.id.get()
    }

    async fn parent(&mut self) -> Option<u64> {
        self.parent
    }

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

    async fn reply(&mut self, handle: u64, msg: Vec<u8>) -> Result<(), wit::ReplyError> {
        self.answer(handle, &msg)
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
        let spec = SpawnSpec {
            link: Some(self.cell.clone()),
            ..self.child_spec(component, args)?
        };
        match self.node.spawn(spec).await {
            Ok(cell) => Ok(cell.id.get()),
            Err(e) => Err(e.into()),
        }
    }

    async fn link(&mut self, target: u64) -> Result<(), wit::SendError> {
        let target = ActorId::from_raw(target)
            .and_then(|id| self.node.registry.get(id))
            .ok_or(wit::SendError::Noproc)?;
        cell::link(&self.cell, &target).map_err(|_| wit::SendError::Noproc)
    }

    async fn unlink(&mut self, target: u64) {
        if let Some(target) = ActorId::from_raw(target).and_then(|id| self.node.registry.get(id)) {
            cell::unlink(&self.cell, &target);
        }
    }

    async fn exit(&mut self, target: u64, reason: wit::ExitReason) {
        let reason = ExitReason::from(reason);
        if let Some(target) = ActorId::from_raw(target).and_then(|id| self.node.registry.get(id)) {
            let untrappable = reason == ExitReason::Killed;
            target.exit_signal(self.cell.id, reason, untrappable);
        }
    }

    async fn trap_exits(&mut self, enabled: bool) -> bool {
        self.cell.trap_exit.swap(enabled, Ordering::SeqCst)
    }

    async fn register(&mut self, name: String) -> Result<(), wit::NameError> {
        self.node
            .registry
            .register(&self.cell, &name)
            .map_err(name_error)
    }

    async fn unregister(&mut self, name: String) -> Result<(), wit::NameError> {
        self.node
            .registry
            .unregister(&self.cell, &name)
            .map_err(name_error)
    }

    async fn whereis(&mut self, name: String) -> Option<u64> {
        self.node.registry.whereis(&name).map(|c| c.id.get())
    }

    async fn monitor(&mut self, target: u64) -> u64 {
        let monitor = self.node.monitor(&self.cell.mailbox.signals, target);
        self.holdings.monitors.insert(monitor, target);
        monitor
    }

    async fn demonitor(&mut self, monitor: u64) -> bool {
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

    async fn start_task(
        &mut self,
        component: String,
        function: String,
        input: Vec<u8>,
    ) -> Result<wit::Task, wit::SpawnError> {
        let permit =
            self.authority
                .lineage
                .task_permit(&self.node.hits, &self.cell.label, &self.quotas)?;
        let spec = TaskSpec {
            component,
            function,
            input,
            authority: self.authority.clone(),
            permit,
        };
        let (id, monitor) = self.node.start_task(&self.cell, spec)?;
        self.holdings.monitors.insert(monitor, id.get());
        Ok(wit::Task {
            id: id.get(),
            monitor,
        })
    }

    async fn start_supervisor(&mut self, spec: Vec<u8>) -> Result<u64, wit::SpawnError> {
        let wire: SupervisorWire = codec::decode(&spec)
            .map_err(|e| wit::SpawnError::Unavailable(format!("not a supervisor spec: {e}")))?;
        let name = wire.name.clone();
        let mut spec = wire.into_spec().map_err(wit::SpawnError::Unavailable)?;
        // Its actor children, now and added later, run in this actor's sandbox and
        // join its lineage, each on its quota.
        spec.sandbox = Some(self.authority.sandbox.clone());
        let permit = self.child_permit()?;
        let cell = supervisor::start(
            &self.node,
            spec,
            name,
            Some(self.cell.clone()),
            None,
            Some(self.authority.lineage.clone()),
        )
        .await?;
        cell.permit.hold(permit);
        Ok(cell.id.get())
    }

    async fn shutdown_task(&mut self, task: wit::Task) -> bool {
        if self.holdings.monitors.remove(&task.monitor).is_none() {
            return false;
        }
        let Some(cell) = ActorId::from_raw(task.id).and_then(|id| self.node.registry.get(id))
        else {
            return false;
        };
        cell.remove_monitor(task.monitor);
        cell.kill_with(ExitReason::Killed);
        true
    }

    async fn log(&mut self, level: wit::Level, msg: String) {
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

    async fn record_panic(&mut self, mut message: String) -> wasmtime::Result<()> {
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
