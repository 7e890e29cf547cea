//! One process's cell (what the runtime knows of a live actor, supervisor, task or
//! probe: its mailbox's sending side, its exit watch, its monitors and links) and the
//! stable address (`Slot`) a supervisor keeps for a child across restarts.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};

use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::error::{ExitReason, SendError};
use crate::id::ActorId;
use crate::process::mailbox::{Down, Envelope, MailboxTx, Signal, SignalTx, end_undelivered};

/// What the runtime knows of one live actor; shared by its `ActorRef`s.
#[derive(Debug)]
pub(crate) struct ActorCell {
    pub(crate) id: ActorId,
    /// For logs: the manifest name, or `component#id`.
    pub(crate) label: Arc<str>,
    pub(crate) mailbox: MailboxTx,
    /// `None` while the actor lives; its exit reason afterwards.
    pub(crate) exit: watch::Receiver<Option<ExitReason>>,
    pub(crate) abort: OnceLock<AbortHandle>,
    /// The name this actor holds, if any.
    pub(crate) name: Mutex<Option<String>>,
    /// A host-side probe rather than an actor: shutdown and counts skip it.
    pub(crate) is_probe: bool,
    /// Who monitors this actor and whom it is linked with; closed when it exits.
    pub(crate) observers: Mutex<Observers>,
    /// Whether exit signals reach the actor as messages (OTP's `trap_exit`).
    pub(crate) trap_exit: AtomicBool,
    /// The reason to report when the actor's task is killed from outside (a kill, or
    /// an exit signal that kills it); set before the task is aborted.
    kill_reason: Mutex<Option<ExitReason>>,
    /// Started by a supervisor, which stops it: runtime shutdown skips it.
    pub(crate) supervised: AtomicBool,
    /// Set when it leaves the process table: from then on sends by id get `noproc`,
    /// also through a sender's cache of recent targets.
    pub(crate) gone: AtomicBool,
    /// The supervisor's stable address for this child, if supervised.
    slot: Mutex<Weak<Slot>>,
    /// The largest message it accepts (its `max_message_size`).
    pub(crate) max_message: std::sync::atomic::AtomicUsize,
    /// The quota unit its starter spent on it, given back when it exits.
    pub(crate) permit: crate::sandbox::PermitSlot,
    /// Its sandbox and lineage (unset for probes).
    pub(crate) authority: OnceLock<crate::sandbox::Authority>,
}

/// A stable address: for a supervised child, the supervisor points it at each new
/// instance, so references taken before a restart reach the new one. For any other
/// actor it points at that actor for good.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    /// Empty only between a supervisor making the slot and its child's first
    /// instance being created; nothing can reach the slot before then.
    current: RwLock<Option<Arc<ActorCell>>>,
    /// Set for a child that keeps its mailbox across restarts: where to count what
    /// it kept if it is never delivered. Unset: instances drain their own.
    keeps: OnceLock<Arc<AtomicU64>>,
    /// What its last instance left queued, for the next one, and that instance's
    /// exit reason.
    kept: Mutex<Option<(VecDeque<Envelope>, ExitReason)>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        // No next instance will come: end what was kept as the exit path would.
        self.drop_kept();
    }
}

impl Slot {
    pub(crate) fn new(cell: Arc<ActorCell>) -> Arc<Slot> {
        Arc::new(Slot {
            current: RwLock::new(Some(cell)),
            keeps: OnceLock::new(),
            kept: Mutex::new(None),
        })
    }

    pub(crate) fn get(&self) -> Arc<ActorCell> {
        self.current
            .read()
            .unwrap()
            .clone()
            .expect("a slot is filled before anything can hold it")
    }

    pub(crate) fn set(&self, cell: Arc<ActorCell>) {
        *self.current.write().unwrap() = Some(cell);
    }

    /// Makes each instance leave its queued messages to the next (`keep_mailbox`);
    /// what is never delivered is counted in `dead_letters`.
    pub(crate) fn keep_mailbox(&self, dead_letters: Arc<AtomicU64>) {
        let _ = self.keeps.set(dead_letters);
    }

    /// Whether instances leave their queued messages here.
    pub(crate) fn keeps_mailbox(&self) -> bool {
        self.keeps.get().is_some()
    }

    /// An instance exited with `reason`, leaving `queued`.
    pub(crate) fn keep(&self, queued: VecDeque<Envelope>, reason: ExitReason) {
        let mut kept = self.kept.lock().unwrap();
        match &mut *kept {
            // Kept from an earlier instance that never reached a next one: older first.
            Some((older, _)) => older.extend(queued),
            None => *kept = Some((queued, reason)),
        }
    }

    /// What the last instance left, for the next one.
    pub(crate) fn take_kept(&self) -> VecDeque<Envelope> {
        self.kept
            .lock()
            .unwrap()
            .take()
            .map(|(queued, _)| queued)
            .unwrap_or_default()
    }

    /// Ends what was kept when no next instance will take it: calls are answered
    /// `exited(reason)`, casts counted as dead letters (and logged). Returns the
    /// number of casts.
    pub(crate) fn drop_kept(&self) -> usize {
        let Some((queued, reason)) = self.kept.lock().unwrap().take() else {
            return 0;
        };
        // Counted before the calls are answered, so a caller that sees its answer
        // sees the count too.
        let casts = queued
            .iter()
            .filter(|e| matches!(e, Envelope::Cast { .. }))
            .count();
        if casts > 0 {
            if let Some(dead_letters) = self.keeps.get() {
                dead_letters.fetch_add(casts as u64, Ordering::Relaxed);
            }
            tracing::warn!(
                casts,
                "{casts} casts kept for a restart that did not come ({reason}); counted as dead letters"
            );
        }
        end_undelivered(queued, &reason);
        casts
    }
}

/// The monitors on one actor and its links. `exited` is set under the same lock that
/// making a monitor or a link takes, so one made concurrently with the exit either is
/// notified by the exit or sees `exited`: no DOWN or exit signal is lost.
#[derive(Debug, Default)]
pub(crate) struct Observers {
    exited: Option<ExitReason>,
    /// By monitor ref, which grows with each new monitor: iteration is creation
    /// order, and removing one is logarithmic (a watcher's exit removes all of
    /// its monitors, possibly many on one target).
    monitors: BTreeMap<u64, SignalTx>,
    links: HashSet<ActorId>,
}

/// Why a link could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NoProc;

impl ActorCell {
    pub(crate) fn new(
        id: ActorId,
        label: Arc<str>,
        mailbox: MailboxTx,
        exit: watch::Receiver<Option<ExitReason>>,
        is_probe: bool,
    ) -> ActorCell {
        ActorCell {
            id,
            label,
            mailbox,
            exit,
            abort: OnceLock::new(),
            name: Mutex::new(None),
            is_probe,
            observers: Mutex::new(Observers::default()),
            // Probes always trap exits: they receive exit signals as messages.
            trap_exit: AtomicBool::new(is_probe),
            kill_reason: Mutex::new(None),
            supervised: AtomicBool::new(false),
            gone: AtomicBool::new(false),
            slot: Mutex::new(Weak::new()),
            max_message: std::sync::atomic::AtomicUsize::new(usize::MAX),
            permit: crate::sandbox::PermitSlot::default(),
            authority: OnceLock::new(),
        }
    }

    /// Ties this instance to a supervisor's slot.
    pub(crate) fn set_slot(&self, slot: &Arc<Slot>) {
        *self.slot.lock().unwrap() = Arc::downgrade(slot);
    }

    /// Its supervisor's slot, if it keeps its mailbox across restarts.
    pub(crate) fn keeping_slot(&self) -> Option<Arc<Slot>> {
        self.slot
            .lock()
            .unwrap()
            .upgrade()
            .filter(|slot| slot.keeps_mailbox())
    }

    /// The stable address of this actor: its supervisor's slot, or a new one.
    pub(crate) fn slot(self: &Arc<Self>) -> Arc<Slot> {
        self.slot
            .lock()
            .unwrap()
            .upgrade()
            .unwrap_or_else(|| Slot::new(self.clone()))
    }

    /// Kills the actor's task with `reason` (the first reason set wins). A guest busy
    /// in a handler is stopped at its next epoch tick.
    pub(crate) fn kill_with(&self, reason: ExitReason) {
        self.kill_reason.lock().unwrap().get_or_insert(reason);
        if let Some(abort) = self.abort.get() {
            abort.abort();
        }
    }

    /// Stores the handle that kills the actor's task. A kill that came before the
    /// handle existed (between joining the table and starting the task) is carried out
    /// now: `kill_with` sets its reason before looking for the handle, and this looks
    /// for a reason after setting the handle, so one of the two always sees the other.
    pub(crate) fn arm_abort(&self, abort: AbortHandle) {
        let abort = self.abort.get_or_init(|| abort);
        if self.kill_reason.lock().unwrap().is_some() {
            abort.abort();
        }
    }

    /// The reason set by `kill_with`, if any.
    pub(crate) fn take_kill_reason(&self) -> Option<ExitReason> {
        self.kill_reason.lock().unwrap().take()
    }

    /// Acts on an exit signal from `from` (docs/semantics.md, "Links and exit
    /// signals"). `untrappable` is OTP's `kill`.
    pub(crate) fn exit_signal(&self, from: ActorId, reason: ExitReason, untrappable: bool) {
        if untrappable {
            self.kill_with(ExitReason::Killed);
        } else if self.trap_exit.load(Ordering::SeqCst) {
            let _ = self.mailbox.signals.send(Signal::Exit {
                from,
                reason,
                placed: false,
            });
        } else if reason != ExitReason::Normal {
            self.kill_with(reason);
        }
    }

    /// An exit signal a process sends with `processes.exit`: as `exit_signal`, but
    /// queued for a trapping receiver in a place of its mailbox, waiting for room up
    /// to `timeout` (back-pressure, as a cast), so a sender cannot queue without
    /// bound.
    pub(crate) async fn sent_exit(
        &self,
        from: ActorId,
        reason: ExitReason,
        timeout: std::time::Duration,
    ) -> Result<(), SendError> {
        // `killed` sent this way cannot be trapped (OTP's `exit(Pid, kill)`).
        let untrappable = reason == ExitReason::Killed;
        if !untrappable && self.trap_exit.load(Ordering::SeqCst) {
            self.mailbox.send_exit_within(from, reason, timeout).await
        } else {
            self.exit_signal(from, reason, untrappable);
            Ok(())
        }
    }

    /// Adds a monitor whose DOWN goes to `watcher`; if this actor has already exited,
    /// sends the DOWN at once with its exit reason.
    pub(crate) fn add_monitor(&self, monitor: u64, watcher: &SignalTx) {
        let mut observers = self.observers.lock().unwrap();
        match &observers.exited {
            Some(reason) => {
                let _ = watcher.send(Signal::Down(Down {
                    monitor,
                    actor: self.id.get(),
                    reason: reason.clone(),
                }));
            }
            None => {
                observers.monitors.insert(monitor, watcher.clone());
            }
        }
    }

    pub(crate) fn remove_monitor(&self, monitor: u64) {
        let mut observers = self.observers.lock().unwrap();
        observers.monitors.remove(&monitor);
    }

    /// Marks the cell exited and takes its monitors and links, under the lock that
    /// making a monitor or a link takes: one made concurrently either is taken here or
    /// sees the exit (`add_monitor` sends its DOWN at once, `link` fails).
    pub(crate) fn close_observers(
        &self,
        reason: &ExitReason,
    ) -> (BTreeMap<u64, SignalTx>, HashSet<ActorId>) {
        let mut observers = self.observers.lock().unwrap();
        observers.exited = Some(reason.clone());
        (
            std::mem::take(&mut observers.monitors),
            std::mem::take(&mut observers.links),
        )
    }

    /// How many links this actor holds.
    pub(crate) fn link_count(&self) -> usize {
        self.observers.lock().unwrap().links.len()
    }

    /// Whether this actor is linked with `peer`.
    pub(crate) fn is_linked(&self, peer: ActorId) -> bool {
        self.observers.lock().unwrap().links.contains(&peer)
    }

    /// Removes the link to `peer` from this side; whether there was one.
    pub(crate) fn drop_link(&self, peer: ActorId) -> bool {
        self.observers.lock().unwrap().links.remove(&peer)
    }
}

/// Links `a` and `b` both ways. Locks the two cells in id order, so concurrent links
/// never deadlock. Fails if `b` has exited.
pub(crate) fn link(a: &ActorCell, b: &ActorCell) -> Result<(), NoProc> {
    if a.id == b.id {
        return Ok(());
    }
    let (first, second) = if a.id < b.id { (a, b) } else { (b, a) };
    let mut first_obs = first.observers.lock().unwrap();
    let mut second_obs = second.observers.lock().unwrap();
    let (a_obs, b_obs) = if a.id < b.id {
        (&mut *first_obs, &mut *second_obs)
    } else {
        (&mut *second_obs, &mut *first_obs)
    };
    if b_obs.exited.is_some() {
        return Err(NoProc);
    }
    if a_obs.exited.is_some() {
        // The caller is on its way out; its exit will not see this link, so do not
        // make half of one.
        return Ok(());
    }
    a_obs.links.insert(b.id);
    b_obs.links.insert(a.id);
    Ok(())
}

/// Removes the link between `a` and `b`, both ways.
pub(crate) fn unlink(a: &ActorCell, b: &ActorCell) {
    if a.id == b.id {
        return;
    }
    let (first, second) = if a.id < b.id { (a, b) } else { (b, a) };
    let mut first_obs = first.observers.lock().unwrap();
    let mut second_obs = second.observers.lock().unwrap();
    first_obs.links.remove(&second.id);
    second_obs.links.remove(&first.id);
}
