//! Process groups and pub/sub subscriptions (docs/semantics.md: "Process groups",
//! "Pub/sub", "Fan-out"); the node delivers a fan-out, `timers` the timers.
//!
//! Groups and subscriptions live in two maps under one mutex each, with the reverse
//! index (actor → its groups, its patterns) that the exit path uses to remove an actor
//! everywhere in one step. Publishing matches the topic against every pattern: fine
//! for the hundreds of patterns an application has; a subject trie is the upgrade
//! path when that stops being true.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::process::registry::validate_name;

/// How a fan-out went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fanout {
    /// Recipients the message was queued for.
    pub delivered: u32,
    /// Recipients that did not get it (mailbox full past the send timeout, or gone);
    /// each is logged and counted in [`crate::Runtime::dead_letters`].
    pub dead_letters: u32,
}

/// Why a timer, group or pub/sub operation was refused; nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("too-large: {0} bytes exceed the maximum message size")]
    TooLarge(u64),
}

/// Whether `topic` (a subject) matches `pattern` (a subject that may use `*` for
/// one token and `>` as its last token for one or more tokens), as NATS does.
///
/// ```
/// assert!(foundation::topic_matches("orders.*", "orders.eu"));
/// assert!(!foundation::topic_matches("orders.*", "orders.eu.paid"));
/// assert!(foundation::topic_matches("orders.>", "orders.eu.paid"));
/// assert!(!foundation::topic_matches("orders.>", "orders"));
/// ```
pub fn topic_matches(pattern: &str, topic: &str) -> bool {
    let mut p = pattern.split('.');
    let mut t = topic.split('.');
    loop {
        match (p.next(), t.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Checks a subject (`wildcards: false`) or a pattern.
pub(crate) fn validate_subject(s: &str, wildcards: bool) -> Result<(), EventError> {
    let what = if wildcards { "pattern" } else { "topic" };
    if s.is_empty() || s.len() > 255 {
        return Err(EventError::Invalid(format!(
            "a {what} is 1 to 255 bytes: {s:?}"
        )));
    }
    let tokens: Vec<&str> = s.split('.').collect();
    for (i, tok) in tokens.iter().enumerate() {
        if tok.is_empty() {
            return Err(EventError::Invalid(format!(
                "{what} {s:?} has an empty token"
            )));
        }
        if tok.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EventError::Invalid(format!(
                "{what} {s:?} contains whitespace or a control character"
            )));
        }
        let wild = *tok == "*" || *tok == ">";
        if wild && !wildcards {
            return Err(EventError::Invalid(format!(
                "topic {s:?} contains a wildcard; publish to a concrete subject"
            )));
        }
        if *tok == ">" && i + 1 != tokens.len() {
            return Err(EventError::Invalid(format!(
                "pattern {s:?}: `>` must be the last token"
            )));
        }
        if !wild && (tok.contains('*') || tok.contains('>')) {
            return Err(EventError::Invalid(format!(
                "{what} {s:?}: `*` and `>` must be whole tokens"
            )));
        }
    }
    Ok(())
}

fn validate_group(group: &str) -> Result<(), EventError> {
    validate_name(group).map_err(|e| EventError::Invalid(format!("group {group:?}: {e}")))
}

#[derive(Default)]
struct Groups {
    /// Memberships in join order (an actor appears once per join).
    members: HashMap<String, Vec<u64>>,
    /// The groups each actor is in.
    of: HashMap<u64, BTreeSet<String>>,
}

#[derive(Default)]
struct Subs {
    /// Subscribers of each pattern, in subscription order.
    by_pattern: HashMap<String, Vec<u64>>,
    /// Subscription order of patterns, so a publish visits them in a stable order.
    order: Vec<String>,
    /// The patterns each actor subscribed to.
    of: HashMap<u64, BTreeSet<String>>,
}

/// Groups, subscriptions and the dead-letter count of one runtime.
#[derive(Default)]
pub(crate) struct Events {
    groups: Mutex<Groups>,
    subs: Mutex<Subs>,
    pub(crate) dead_letters: AtomicU64,
    next_timer: AtomicU64,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Events")
    }
}

impl Events {
    pub(crate) fn join(&self, actor: u64, group: &str) -> Result<(), EventError> {
        validate_group(group)?;
        let mut g = self.groups.lock().unwrap();
        g.members.entry(group.to_string()).or_default().push(actor);
        g.of.entry(actor).or_default().insert(group.to_string());
        Ok(())
    }

    pub(crate) fn leave(&self, actor: u64, group: &str) -> Result<bool, EventError> {
        validate_group(group)?;
        let mut g = self.groups.lock().unwrap();
        let Some(list) = g.members.get_mut(group) else {
            return Ok(false);
        };
        let Some(pos) = list.iter().rposition(|a| *a == actor) else {
            return Ok(false);
        };
        list.remove(pos);
        let still = list.contains(&actor);
        if list.is_empty() {
            g.members.remove(group);
        }
        if !still && let Some(set) = g.of.get_mut(&actor) {
            set.remove(group);
            if set.is_empty() {
                g.of.remove(&actor);
            }
        }
        Ok(true)
    }

    pub(crate) fn members(&self, group: &str) -> Result<Vec<u64>, EventError> {
        validate_group(group)?;
        let g = self.groups.lock().unwrap();
        let mut seen = BTreeSet::new();
        Ok(g.members
            .get(group)
            .map(|l| l.iter().copied().filter(|a| seen.insert(*a)).collect())
            .unwrap_or_default())
    }

    pub(crate) fn subscribe(&self, actor: u64, pattern: &str) -> Result<(), EventError> {
        validate_subject(pattern, true)?;
        let mut s = self.subs.lock().unwrap();
        if !s.of.entry(actor).or_default().insert(pattern.to_string()) {
            return Ok(());
        }
        if !s.by_pattern.contains_key(pattern) {
            s.order.push(pattern.to_string());
        }
        s.by_pattern
            .entry(pattern.to_string())
            .or_default()
            .push(actor);
        Ok(())
    }

    pub(crate) fn unsubscribe(&self, actor: u64, pattern: &str) -> Result<bool, EventError> {
        validate_subject(pattern, true)?;
        let mut s = self.subs.lock().unwrap();
        Ok(remove_subscription(&mut s, actor, pattern))
    }

    /// Subscribers whose patterns match `topic`, each once, in subscription order.
    pub(crate) fn subscribers(&self, topic: &str) -> Result<Vec<u64>, EventError> {
        validate_subject(topic, false)?;
        let s = self.subs.lock().unwrap();
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for pattern in &s.order {
            if topic_matches(pattern, topic) {
                for a in &s.by_pattern[pattern] {
                    if seen.insert(*a) {
                        out.push(*a);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The actor stopped: it leaves every group and ends every subscription.
    pub(crate) fn remove_actor(&self, actor: u64) {
        {
            let mut g = self.groups.lock().unwrap();
            if let Some(groups) = g.of.remove(&actor) {
                for group in groups {
                    if let Some(list) = g.members.get_mut(&group) {
                        list.retain(|a| *a != actor);
                        if list.is_empty() {
                            g.members.remove(&group);
                        }
                    }
                }
            }
        }
        let mut s = self.subs.lock().unwrap();
        if let Some(patterns) = s.of.get(&actor).cloned() {
            for p in patterns {
                remove_subscription(&mut s, actor, &p);
            }
        }
    }

    pub(crate) fn next_timer(&self) -> u64 {
        self.next_timer.fetch_add(1, Ordering::Relaxed) + 1
    }
}

fn remove_subscription(s: &mut Subs, actor: u64, pattern: &str) -> bool {
    let had = s.of.get_mut(&actor).is_some_and(|set| set.remove(pattern));
    if !had {
        return false;
    }
    if s.of.get(&actor).is_some_and(BTreeSet::is_empty) {
        s.of.remove(&actor);
    }
    if let Some(list) = s.by_pattern.get_mut(pattern) {
        list.retain(|a| *a != actor);
        if list.is_empty() {
            s.by_pattern.remove(pattern);
            s.order.retain(|p| p != pattern);
        }
    }
    true
}
