//! The process table (live actors by id, in start order) and the name registry.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use tokio::sync::watch;
use tokio::task::AbortHandle;

use tokio::sync::mpsc::UnboundedSender;

use crate::error::ExitReason;
use crate::id::ActorId;
use crate::mailbox::{MailboxTx, Signal};

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
    /// Who monitors this actor; closed when it exits.
    pub(crate) monitors: Mutex<Monitors>,
}

/// A DOWN: a monitored actor stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Down {
    /// The monitor that fired.
    pub monitor: u64,
    /// The raw id of the actor that stopped, as it was given to `monitor` (a raw id,
    /// since a guest may monitor any number, even one that was never an actor).
    pub actor: u64,
    /// Why it stopped; `Noproc` if it was gone when the monitor was made.
    pub reason: ExitReason,
}

/// The monitors on one actor. `exited` is set under the same lock that registration
/// takes, so a monitor made concurrently with the exit either is notified by the exit
/// or sees `exited` and notifies itself: no DOWN is lost.
#[derive(Debug, Default)]
pub(crate) struct Monitors {
    exited: Option<ExitReason>,
    watchers: Vec<(u64, UnboundedSender<Signal>)>,
}

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
            monitors: Mutex::new(Monitors::default()),
        }
    }

    /// Adds a monitor whose DOWN goes to `watcher`; if this actor has already exited,
    /// sends the DOWN at once with its exit reason.
    pub(crate) fn add_monitor(&self, monitor: u64, watcher: &UnboundedSender<Signal>) {
        let mut monitors = self.monitors.lock().unwrap();
        match &monitors.exited {
            Some(reason) => {
                let _ = watcher.send(Signal::Down(Down {
                    monitor,
                    actor: self.id.get(),
                    reason: reason.clone(),
                }));
            }
            None => monitors.watchers.push((monitor, watcher.clone())),
        }
    }

    pub(crate) fn remove_monitor(&self, monitor: u64) {
        self.monitors
            .lock()
            .unwrap()
            .watchers
            .retain(|(m, _)| *m != monitor);
    }

    /// Marks the actor exited and sends every monitor its DOWN. DOWNs travel on the
    /// watchers' signal queues, which user messages cannot fill.
    pub(crate) fn notify_exit(&self, reason: &ExitReason) {
        let watchers = {
            let mut monitors = self.monitors.lock().unwrap();
            monitors.exited = Some(reason.clone());
            std::mem::take(&mut monitors.watchers)
        };
        for (monitor, watcher) in watchers {
            let _ = watcher.send(Signal::Down(Down {
                monitor,
                actor: self.id.get(),
                reason: reason.clone(),
            }));
        }
    }
}

/// Why a name operation failed (mirrors the WIT's `name-error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameError {
    AlreadyRegistered,
    AlreadyNamed,
    NotRegistered,
    Invalid,
}

#[derive(Debug, Default)]
pub(crate) struct Registry {
    /// Ordered by id, which is start order.
    actors: RwLock<BTreeMap<ActorId, Arc<ActorCell>>>,
    names: RwLock<HashMap<String, ActorId>>,
}

/// Names are 1 to 255 bytes without control characters.
pub(crate) fn validate_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 255 {
        return Err("a name must be 1 to 255 bytes long");
    }
    if name.chars().any(char::is_control) {
        return Err("a name must not contain control characters");
    }
    Ok(())
}

impl Registry {
    pub(crate) fn insert(&self, cell: Arc<ActorCell>) {
        self.actors.write().unwrap().insert(cell.id, cell);
    }

    pub(crate) fn get(&self, id: ActorId) -> Option<Arc<ActorCell>> {
        self.actors.read().unwrap().get(&id).cloned()
    }

    /// Live actors (not probes), newest first (reverse start order).
    pub(crate) fn newest_first(&self) -> Vec<Arc<ActorCell>> {
        let actors = self.actors.read().unwrap();
        actors
            .values()
            .rev()
            .filter(|c| !c.is_probe)
            .cloned()
            .collect()
    }

    /// Live actors, not counting probes.
    pub(crate) fn len(&self) -> usize {
        self.actors
            .read()
            .unwrap()
            .values()
            .filter(|c| !c.is_probe)
            .count()
    }

    /// Removes a dead actor and frees its name.
    pub(crate) fn remove(&self, id: ActorId) {
        let Some(cell) = self.actors.write().unwrap().remove(&id) else {
            return;
        };
        // Lock order is names, then a cell's name (as in `register`): take the names
        // lock first, never while holding the cell's.
        let mut names = self.names.write().unwrap();
        if let Some(name) = cell.name.lock().unwrap().take()
            && names.get(&name) == Some(&id)
        {
            names.remove(&name);
        }
    }

    pub(crate) fn register(&self, cell: &ActorCell, name: &str) -> Result<(), NameError> {
        validate_name(name).map_err(|_| NameError::Invalid)?;
        let mut names = self.names.write().unwrap();
        let mut own = cell.name.lock().unwrap();
        if names.contains_key(name) {
            return Err(NameError::AlreadyRegistered);
        }
        if own.is_some() {
            return Err(NameError::AlreadyNamed);
        }
        // An actor that is already gone from the table must not take a name that
        // nothing would ever free.
        if !self.actors.read().unwrap().contains_key(&cell.id) {
            return Err(NameError::NotRegistered);
        }
        names.insert(name.to_string(), cell.id);
        *own = Some(name.to_string());
        Ok(())
    }

    pub(crate) fn unregister(&self, cell: &ActorCell, name: &str) -> Result<(), NameError> {
        let mut names = self.names.write().unwrap();
        let mut own = cell.name.lock().unwrap();
        if own.as_deref() != Some(name) {
            return Err(NameError::NotRegistered);
        }
        names.remove(name);
        *own = None;
        Ok(())
    }

    pub(crate) fn whereis(&self, name: &str) -> Option<Arc<ActorCell>> {
        let id = *self.names.read().unwrap().get(name)?;
        self.get(id)
    }
}
