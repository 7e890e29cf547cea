//! The host side of the `tasks` interface: supervised tasks (Elixir's
//! `Task.Supervisor.async_nolink`), started in a fresh instance and monitored by
//! their starter.

use crate::error::ExitReason;
use crate::id::ActorId;
use crate::node::TaskSpec;
use crate::wasm::bindings::foundation::actor::tasks as wt;
use crate::wasm::bindings::wit;
use crate::wasm::store::ActorData;

impl wt::Host for ActorData {
    fn start_task(
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

    fn shutdown_task(&mut self, task: wit::Task) -> bool {
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
}
