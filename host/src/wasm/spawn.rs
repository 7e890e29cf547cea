//! The runtime's Wasm side: the engine, the linker, the loaded components and the
//! epoch ticker, and how an actor or a supervised task is started from a component
//! (the node's [`Spawner`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::oneshot;
use wasmtime::Engine;
use wasmtime::component::Linker;

use crate::error::{Error, SpawnError};
use crate::id::ActorId;
use crate::node::{NewCell, Node, SpawnSpec, Spawner, Spawning, TaskSpec, wait_exit};
use crate::process::cell::ActorCell;
use crate::process::sched;
use crate::sandbox::{Authority, Effective};
use crate::wasm::actor::ActorTask;
use crate::wasm::bindings::ActorWorldPre;
use crate::wasm::engine::{self, EngineSettings, chain};
use crate::wasm::host;
use crate::wasm::store::{ActorData, LoadedComponent};
use crate::wasm::ticker::EpochTicker;

/// The optional export with a component's task functions.
const TASK_RUNNER: &str = "foundation:actor/task-runner@0.2.0";

/// Everything Wasm of one runtime.
pub(crate) struct Wasm {
    engine: Engine,
    linker: Linker<ActorData>,
    components: RwLock<HashMap<String, Arc<LoadedComponent>>>,
    cache_dir: Option<PathBuf>,
    /// Advances the epoch; guests tell it when they are busy.
    ticker: Arc<EpochTicker>,
}

impl Wasm {
    /// The engine (checked against `vm.max_map_count` when pooling), the linker and
    /// the ticker with a time slice of `epoch_interval`.
    pub(crate) fn new(
        settings: &EngineSettings,
        cache_dir: Option<PathBuf>,
        epoch_interval: Duration,
    ) -> Result<Wasm, Error> {
        if settings.pooling {
            engine::check_map_count(settings.max_instances, engine::max_map_count())
                .map_err(Error::Engine)?;
        }
        let engine = engine::build_engine(settings)?;
        let linker = host::linker(&engine)?;
        let ticker = Arc::new(EpochTicker::start(engine.clone(), epoch_interval));
        Ok(Wasm {
            engine,
            linker,
            components: RwLock::new(HashMap::new()),
            cache_dir,
            ticker,
        })
    }

    /// Compiles (or loads from the cache) a component and checks that it implements
    /// the actor world; actors can then be spawned from it by `name`. `origin` (a
    /// path, or "bytes") goes into errors.
    pub(crate) fn add(&self, name: &str, bytes: &[u8], origin: &str) -> Result<(), Error> {
        let invalid = |message: String| Error::InvalidComponent {
            name: name.to_string(),
            origin: origin.to_string(),
            message,
        };
        let component = engine::compile(&self.engine, self.cache_dir.as_deref(), bytes)
            .map_err(|e| invalid(format!("not a valid component: {}", chain(&e))))?;
        let pre = self.linker.instantiate_pre(&component).map_err(|e| {
            invalid(format!(
                "its imports are not what foundation offers: {}",
                chain(&e)
            ))
        })?;
        let pre = ActorWorldPre::new(pre).map_err(|e| {
            invalid(format!(
                "does not implement the foundation:actor/actor-world world: {}",
                chain(&e)
            ))
        })?;
        let task_run = component
            .get_export_index(None, TASK_RUNNER)
            .and_then(|runner| component.get_export_index(Some(&runner), "run"));
        self.components.write().unwrap().insert(
            name.to_string(),
            Arc::new(LoadedComponent {
                name: name.to_string(),
                pre,
                task_run,
            }),
        );
        Ok(())
    }

    fn component(&self, name: &str) -> Result<Arc<LoadedComponent>, SpawnError> {
        let components = self.components.read().unwrap();
        components.get(name).cloned().ok_or_else(|| {
            let mut known: Vec<_> = components.keys().cloned().collect();
            known.sort();
            SpawnError::UnknownComponent {
                name: name.to_string(),
                known: if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                },
            }
        })
    }

    /// Starts an actor and waits for its `init`, as OTP's `start_link` does.
    async fn start(
        node: Arc<Node>,
        component: Result<Arc<LoadedComponent>, SpawnError>,
        ticker: Arc<EpochTicker>,
        spec: SpawnSpec,
    ) -> Result<Arc<ActorCell>, SpawnError> {
        node.refuse_if_shutting_down()?;
        let sandbox = spec
            .sandbox
            .clone()
            .unwrap_or_else(|| node.default_sandbox.clone());
        let limits = node.effective(&sandbox);
        // Init args are a message to the new actor: its own size limit holds.
        node.check_start_size(spec.args.len(), limits.max_message_size)?;
        let component = component?;
        let id = node.ids.next();
        let label: Arc<str> = match &spec.name {
            Some(name) => name.as_str().into(),
            None => format!("{}{id}", component.name).into(),
        };
        let capacity = spec.mailbox.unwrap_or(node.settings.mailbox_capacity);
        let NewCell { cell, rx, exit_tx } = node.new_cell(
            id,
            label,
            capacity,
            limits.max_message_size,
            spec.name.as_deref(),
            spec.link.as_ref(),
        )?;
        if let Some(permit) = spec.permit {
            cell.permit.hold(permit);
        }
        let authority = Authority {
            sandbox,
            lineage: spec.lineage.clone().unwrap_or_default(),
        };
        let _ = cell.authority.set(authority.clone());
        if let Some(slot) = &spec.slot {
            // Only supervisors pass a slot: the child is theirs to stop.
            cell.supervised.store(true, Ordering::SeqCst);
            // What the last instance left queued (`keep_mailbox`) comes first, before
            // the slot points here and new messages can arrive. The same child spec
            // gives the same capacity, so it fits.
            for envelope in slot.take_kept() {
                if let Err(e) = cell.mailbox.try_send(envelope) {
                    tracing::warn!(actor = %cell.label, "a kept message does not fit the new mailbox: {e}");
                }
            }
            slot.set(cell.clone());
            cell.set_slot(slot);
        }
        if let Some(parent) = &spec.link {
            for (table, data) in spec.inherit {
                let handed = node.tables.by_id(table).and_then(|t| {
                    node.tables
                        .give_away(parent.id.get(), &t, cell.id.get(), data, &node.registry)
                });
                if let Err(e) = handed {
                    tracing::warn!(actor = %cell.label, "table #{table} not handed over: {e}");
                }
            }
        }
        let (init_tx, init_rx) = oneshot::channel();
        let task = ActorTask::new(
            node.clone(),
            ticker,
            cell.clone(),
            component,
            rx,
            exit_tx,
            spec.link.clone(),
            authority,
            limits,
        );
        cell.arm_abort(sched::spawn_actor(
            &node.handle,
            task.run(spec.args, init_tx),
        ));
        match init_rx.await {
            Ok(Ok(())) => Ok(cell),
            // Either way the actor is gone; wait until its exit path has run, so the
            // spawner never sees a half-dead actor (its name still taken, say).
            Ok(Err(_)) | Err(_) => Err(SpawnError::InitFailed {
                actor: cell.label.to_string(),
                reason: wait_exit(&cell).await,
            }),
        }
    }
}

impl Spawner for Wasm {
    fn spawn(&self, node: Arc<Node>, spec: SpawnSpec) -> Spawning {
        // The component is looked up now, so the future does not borrow `self`.
        let component = self.component(&spec.component);
        Box::pin(Wasm::start(node, component, self.ticker.clone(), spec))
    }

    /// Starts a supervised task: `function` of the component's `tasks` export, in a
    /// fresh instance, monitored by `owner`. Runtime shutdown stops it like a
    /// top-level actor (a `Stop` abandons the task); its owner may kill it with
    /// `shutdown-task`.
    fn start_task(
        &self,
        node: &Arc<Node>,
        owner: &ActorCell,
        spec: TaskSpec,
    ) -> Result<(ActorId, u64), SpawnError> {
        node.refuse_if_shutting_down()?;
        let TaskSpec {
            component,
            function,
            input,
            authority,
            permit,
        } = spec;
        // Tasks are for long work: no handler deadline (docs/semantics.md).
        let limits = Effective {
            deadline: None,
            ..node.effective(&authority.sandbox)
        };
        // The input is a message to the task: the sandbox's size limit holds.
        node.check_start_size(input.len(), limits.max_message_size)?;
        let component = self.component(&component)?;
        if component.task_run.is_none() {
            return Err(SpawnError::Unavailable(format!(
                "component {:?} runs no tasks: it does not export {TASK_RUNNER}",
                component.name
            )));
        }
        let id = node.ids.next();
        let label: Arc<str> = format!("{}.{function}{id}", component.name).into();
        let NewCell { cell, rx, exit_tx } = node.new_cell(id, label, 1, usize::MAX, None, None)?;
        cell.permit.hold(permit);
        let _ = cell.authority.set(authority.clone());
        let monitor = node.next_monitor();
        cell.add_monitor(monitor, &owner.mailbox.signals);
        let task = ActorTask::new(
            node.clone(),
            self.ticker.clone(),
            cell.clone(),
            component,
            rx,
            exit_tx,
            None,
            authority,
            limits,
        );
        let owner_signals = owner.mailbox.signals.clone();
        cell.arm_abort(sched::spawn_actor(
            &node.handle,
            task.run_task(function, input, owner_signals, monitor),
        ));
        Ok((id, monitor))
    }
}
