//! The state of one actor's store (`ActorData`): its WASI context, the calls it has
//! not answered, the monitors and timers it holds, its limits (`Governor`, wasmtime's
//! `ResourceLimiter` and epoch callback), and the component its instances come from.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use wasmtime::component::{ComponentExportIndex, ResourceTable};
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::error::{ExitReason, Limit, SpawnError};
use crate::id::ActorId;
use crate::node::{Holdings, Node, SpawnSpec};
use crate::process::cell::ActorCell;
use crate::process::mailbox::ReplyTx;
use crate::sandbox::{Authority, Effective, HitCounters, Permit};
use crate::timers::Timer;
use crate::wasm::bindings::{ActorWorldPre, wit};
use crate::wasm::ticker::EpochTicker;
use crate::wasm::wasi::wasi_ctx;

/// A compiled component, checked to implement the actor world, ready to instantiate.
pub(crate) struct LoadedComponent {
    pub(crate) name: String,
    pub(crate) pre: ActorWorldPre<ActorData>,
    /// Its `task-runner.run` export, if it has one (the export is optional).
    pub(crate) task_run: Option<ComponentExportIndex>,
}

/// The state of one actor's `Store`.
pub(crate) struct ActorData {
    pub(crate) cell: Arc<ActorCell>,
    pub(crate) node: Arc<Node>,
    /// Told when this guest runs busy (epoch callback).
    pub(crate) ticker: Arc<EpochTicker>,
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    /// Calls delivered to the guest and not yet answered (by reply handle), and the
    /// monitors it holds (monitor ref to the raw target id; a DOWN is delivered only
    /// while its monitor is here, so `demonitor` also flushes): what its exit path
    /// answers and removes.
    pub(crate) holdings: Holdings,
    pub(crate) next_handle: u64,
    /// The message the guest's panic hook recorded just before trapping.
    pub(crate) panic: Option<String>,
    /// The actors this one sent to lately (direct-mapped by id), so that a send
    /// rarely takes the process table's lock. Ids are never reused, so a cached cell
    /// is the actor its id named; one that has left the table (`gone`) is not used,
    /// so a send gets `noproc` exactly when a table lookup would.
    pub(crate) recent: [Option<Arc<ActorCell>>; RECENT],
    /// This actor's timers; they die with it.
    pub(crate) timers: HashMap<u64, Timer>,
    /// The actor that started this one linked (its supervisor, or a `spawn-link`
    /// caller).
    pub(crate) parent: Option<u64>,
    /// Its resource limits, and the last one it hit.
    pub(crate) limits: Governor,
    /// Its sandbox and lineage, which the actors and tasks it starts share.
    pub(crate) authority: Authority,
    /// Its limits and quotas.
    pub(crate) quotas: Effective,
}

/// An actor's resource limits, enforced by wasmtime through `ResourceLimiter`.
/// A refused growth is logged with the actor, the limit and its value, counted, and
/// kept: if the guest then traps (as an allocation failure does), the exit reason
/// names the limit instead of a bare `unreachable`.
#[derive(Debug)]
pub(crate) struct Governor {
    label: Arc<str>,
    hits: Arc<HitCounters>,
    max_memory: usize,
    max_table_elements: usize,
    /// The tick the current guest entry last ran through.
    pub(crate) last_tick: Option<u64>,
    pub(crate) hit: Option<(Limit, String)>,
}

impl Governor {
    /// Called when the guest runs through an epoch tick: yield, so a busy guest never
    /// holds its thread (and the deadline's timer, on the same task, is seen). A
    /// guest that ran through the tick before this one too, in this entry, ran a full
    /// slice: it tells `ticker` it is busy (one tick alone is an entry that happened
    /// to span it).
    pub(crate) fn on_tick(&mut self, ticker: &EpochTicker) -> wasmtime::Result<UpdateDeadline> {
        let tick = ticker.ticks();
        if self.last_tick.is_some_and(|last| tick == last + 1) {
            ticker.busy();
        }
        self.last_tick = Some(tick);
        Ok(UpdateDeadline::Yield(1))
    }

    /// The exit reason of an entry cancelled at its deadline (`what` says which
    /// deadline), logged and counted as every limit hit is.
    pub(crate) fn deadline_exceeded(&self, what: String, deadline: Duration) -> ExitReason {
        tracing::warn!(actor = %self.label, limit = "deadline", value = ?deadline, "{what}");
        self.hits.deadline.fetch_add(1, Ordering::Relaxed);
        ExitReason::Limit(Limit::Deadline, what)
    }
}

impl wasmtime::ResourceLimiter for Governor {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            let what = format!(
                "memory-limit: growing linear memory to {desired} bytes exceeds this actor's limit of {} bytes",
                self.max_memory
            );
            tracing::warn!(actor = %self.label, limit = "memory", value = self.max_memory, "{what}");
            self.hits.memory.fetch_add(1, Ordering::Relaxed);
            self.hit = Some((Limit::Memory, what));
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_table_elements {
            let what = format!(
                "table-limit: growing a wasm table to {desired} elements exceeds this actor's limit of {}",
                self.max_table_elements
            );
            tracing::warn!(actor = %self.label, limit = "table-elements", value = self.max_table_elements, "{what}");
            self.hits.table_elements.fetch_add(1, Ordering::Relaxed);
            self.hit = Some((Limit::TableElements, what));
            return Ok(false);
        }
        Ok(true)
    }
}

/// Entries of `ActorData::recent`.
const RECENT: usize = 4;

impl WasiView for ActorData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl ActorData {
    /// The state of a new instance of `cell` in `sandbox`. Fails if a granted
    /// directory cannot be opened.
    fn new(
        cell: Arc<ActorCell>,
        node: Arc<Node>,
        ticker: Arc<EpochTicker>,
        authority: Authority,
        quotas: Effective,
    ) -> Result<ActorData, String> {
        let label = cell.label.clone();
        // stdout/stderr go to tracing; no stdin, no arguments; the rest is what the
        // sandbox grants.
        let wasi = wasi_ctx(&authority.sandbox.capabilities, &label, &node.hits)?;
        let limits = Governor {
            label,
            hits: node.hits.clone(),
            max_memory: quotas.max_memory,
            max_table_elements: quotas.max_table_elements,
            last_tick: None,
            hit: None,
        };
        Ok(ActorData {
            cell,
            node,
            ticker,
            wasi,
            table: ResourceTable::new(),
            holdings: Holdings::default(),
            next_handle: 1,
            panic: None,
            recent: Default::default(),
            timers: HashMap::new(),
            parent: None,
            limits,
            authority,
            quotas,
        })
    }

    /// A unit of this actor's `max_children` quota, or the error that refuses it.
    pub(crate) fn child_permit(&self) -> Result<Permit, SpawnError> {
        self.authority
            .lineage
            .child_permit(&self.node.hits, &self.cell.label, &self.quotas)
    }

    /// The spec of an actor this one starts: in its sandbox, on its quota.
    pub(crate) fn child_spec(
        &self,
        component: String,
        args: Vec<u8>,
    ) -> Result<SpawnSpec, SpawnError> {
        Ok(SpawnSpec {
            sandbox: Some(self.authority.sandbox.clone()),
            lineage: Some(self.authority.lineage.clone()),
            permit: Some(self.child_permit()?),
            ..SpawnSpec::new(component, args)
        })
    }

    /// This actor's raw id, as the WIT names it.
    pub(crate) fn me(&self) -> u64 {
        self.cell.id.get()
    }

    /// The live actor `to` names, through `recent`.
    pub(crate) fn target(&mut self, to: u64) -> Result<Arc<ActorCell>, wit::SendError> {
        let id = ActorId::from_raw(to).ok_or(wit::SendError::Noproc)?;
        let entry = &mut self.recent[(to % RECENT as u64) as usize];
        if let Some(cell) = entry
            .as_ref()
            .filter(|c| c.id == id && !c.gone.load(Ordering::Acquire))
        {
            return Ok(cell.clone());
        }
        let cell = self.node.registry.get(id).ok_or(wit::SendError::Noproc)?;
        *entry = Some(cell.clone());
        Ok(cell)
    }

    pub(crate) fn add_pending(&mut self, reply: ReplyTx) -> u64 {
        let handle = self.next_handle;
        self.next_handle += 1;
        self.holdings.pending.insert(handle, reply);
        handle
    }

    /// Delivers a reply; a caller that gave up (timeout) has dropped its receiver, so
    /// the reply is dropped here and never appears later (OTP: a late reply is never delivered).
    pub(crate) fn answer(&mut self, handle: u64, payload: &[u8]) -> Result<(), wit::ReplyError> {
        if payload.len() > self.node.settings.max_message_size {
            return Err(wit::ReplyError::TooLarge);
        }
        let tx = self
            .holdings
            .pending
            .remove(&handle)
            .ok_or(wit::ReplyError::UnknownHandle)?;
        let _ = tx.send(Ok(payload.to_vec()));
        Ok(())
    }
}

/// A store for one instance of `cell` in `sandbox`: it yields at every epoch tick,
/// so a busy guest never holds its thread, and its limits hold.
pub(crate) fn new_store(
    engine: &Engine,
    node: &Arc<Node>,
    ticker: &Arc<EpochTicker>,
    cell: &Arc<ActorCell>,
    authority: &Authority,
    limits: Effective,
) -> Result<Store<ActorData>, String> {
    let data = ActorData::new(
        cell.clone(),
        node.clone(),
        ticker.clone(),
        authority.clone(),
        limits,
    )?;
    let mut store = Store::new(engine, data);
    store.limiter(|d| &mut d.limits);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut ctx| {
        let data = ctx.data_mut();
        data.limits.on_tick(&data.ticker)
    });
    Ok(store)
}

/// Starts a guest entry's deadline, and its first time slice: the next yield comes at
/// the next tick, not at the entry's first check. (The epoch moved on while the actor
/// waited for messages; a deadline left where the last entry set it would make every
/// entry after a pause yield at its first check, a wasted reschedule per message when
/// messages hop across many actors.)
pub(crate) fn entering(store: &mut Store<ActorData>) {
    store.set_epoch_deadline(1);
    let limits = &mut store.data_mut().limits;
    limits.last_tick = None;
    // A refusal the guest survived in an earlier entry explains nothing now.
    limits.hit = None;
}
