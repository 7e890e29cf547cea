//! The process table (live processes by id, in start order) and the name registry.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};

use crate::error::ExitReason;
use crate::id::ActorId;
use crate::process::cell::ActorCell;
use crate::process::mailbox::{Down, Signal};

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

    /// Live top-level actors (not probes, not supervised: their supervisors stop
    /// them), newest first (reverse start order).
    pub(crate) fn newest_first(&self) -> Vec<Arc<ActorCell>> {
        let actors = self.actors.read().unwrap();
        actors
            .values()
            .rev()
            .filter(|c| !c.is_probe && !c.supervised.load(Ordering::SeqCst))
            .cloned()
            .collect()
    }

    /// Every live actor, supervised or not (not probes).
    pub(crate) fn all_actors(&self) -> Vec<Arc<ActorCell>> {
        let actors = self.actors.read().unwrap();
        actors.values().filter(|c| !c.is_probe).cloned().collect()
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
        cell.gone.store(true, Ordering::Release);
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
    /// Tells `cell`'s monitors and links that it exited: every monitor gets its DOWN,
    /// every linked process an exit signal. Both travel on the receivers' signal
    /// queues, which user messages cannot fill.
    pub(crate) fn notify_exit(&self, cell: &ActorCell, reason: &ExitReason) {
        let (monitors, links) = cell.close_observers(reason);
        for peer in links {
            let Some(peer) = self.get(peer) else {
                continue;
            };
            // A peer that unlinked meanwhile gets nothing.
            if peer.drop_link(cell.id) {
                peer.exit_signal(cell.id, reason.clone(), false);
            }
        }
        for (monitor, watcher) in monitors {
            let _ = watcher.send(Signal::Down(Down {
                monitor,
                actor: cell.id.get(),
                reason: reason.clone(),
            }));
        }
    }
}
