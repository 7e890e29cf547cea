//! Process groups and pub/sub subscriptions (docs/semantics.md: "Process groups",
//! "Pub/sub", "Fan-out"); the node delivers a fan-out, `timers` the timers.
//!
//! Groups and subscriptions live under one mutex each, with the reverse index (actor
//! → its groups, its patterns) that the exit path uses to remove an actor everywhere.
//! Every entry carries the sequence number of its join or subscription, which keeps
//! the order (members in join order, subscribers in subscription order) and makes a
//! removal logarithmic. Subscriptions are a subject trie, one token per level, so a
//! publish visits the patterns that can match its topic, not every pattern: no
//! operation costs more than what one actor holds or what one topic matches, and the
//! locks are never held across work proportional to the whole runtime.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
    /// A quota (`max_timers`, `max_subscriptions`, `max_groups`) is used up; the
    /// text names it and its value.
    #[error("quota-exceeded: {0}")]
    QuotaExceeded(String),
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
    /// Each group's members by the sequence number of their first live join.
    members: HashMap<String, BTreeMap<u64, u64>>,
    /// Each actor's groups: the sequence number of its first live join there, and
    /// how many times it joined (as in `pg`, each `leave` undoes one join).
    of: HashMap<u64, HashMap<String, (u64, usize)>>,
    next: u64,
}

#[derive(Default)]
struct Subs {
    /// The patterns, one token per level.
    root: Node,
    /// Each actor's patterns, with their subscription's sequence number.
    of: HashMap<u64, HashMap<String, u64>>,
    next: u64,
}

/// One level of the subject trie: the subscriptions whose pattern ends here, and the
/// next tokens (`*` and `>` are tokens like any other here).
#[derive(Default)]
struct Node {
    subs: BTreeMap<u64, u64>,
    children: HashMap<String, Node>,
}

impl Node {
    /// Adds subscription `seq` of `actor` to the pattern `tokens` below this node.
    fn insert(&mut self, mut tokens: std::str::Split<'_, char>, seq: u64, actor: u64) {
        match tokens.next() {
            None => {
                self.subs.insert(seq, actor);
            }
            Some(token) => self
                .children
                .entry(token.to_string())
                .or_default()
                .insert(tokens, seq, actor),
        }
    }

    /// Removes subscription `seq` from the pattern `tokens` below this node, and the
    /// nodes it leaves empty; whether this node is empty now.
    fn remove(&mut self, mut tokens: std::str::Split<'_, char>, seq: u64) -> bool {
        match tokens.next() {
            None => {
                self.subs.remove(&seq);
            }
            Some(token) => {
                if let Some(child) = self.children.get_mut(token)
                    && child.remove(tokens, seq)
                {
                    self.children.remove(token);
                }
            }
        }
        self.subs.is_empty() && self.children.is_empty()
    }

    /// The subscriptions whose pattern matches the rest of a topic, `tokens`.
    fn collect(&self, tokens: &[&str], out: &mut Vec<(u64, u64)>) {
        let Some((first, rest)) = tokens.split_first() else {
            out.extend(self.subs.iter().map(|(s, a)| (*s, *a)));
            return;
        };
        if let Some(exact) = self.children.get(*first) {
            exact.collect(rest, out);
        }
        if let Some(one) = self.children.get("*") {
            one.collect(rest, out);
        }
        // `>` is last in its pattern and takes one or more tokens: all that is left.
        if let Some(all) = self.children.get(">") {
            out.extend(all.subs.iter().map(|(s, a)| (*s, *a)));
        }
    }
}

/// The most entries an exit removes under one lock (see `Events::remove_actor`).
const REMOVE_CHUNK: usize = 64;

/// Groups, subscriptions and the dead-letter count of one runtime.
#[derive(Default)]
pub(crate) struct Events {
    groups: Mutex<Groups>,
    subs: Mutex<Subs>,
    /// Shared with the slots of children that keep their mailbox, which count what
    /// they hold when it can no longer be delivered.
    pub(crate) dead_letters: Arc<AtomicU64>,
    next_timer: AtomicU64,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Events")
    }
}

impl Events {
    /// `actor` joins `group`; a group it is not in yet is refused once it is in
    /// `max` groups.
    pub(crate) fn join(&self, actor: u64, group: &str, max: usize) -> Result<(), EventError> {
        validate_group(group)?;
        let g = &mut *self.groups.lock().unwrap();
        let of = g.of.entry(actor).or_default();
        let held = of.len();
        match of.get_mut(group) {
            Some((_, joins)) => *joins += 1,
            None if held >= max => {
                if held == 0 {
                    g.of.remove(&actor);
                }
                return Err(EventError::QuotaExceeded(format!(
                    "max_groups: this actor is in {max} groups already, its limit"
                )));
            }
            None => {
                g.next += 1;
                of.insert(group.to_string(), (g.next, 1));
                g.members
                    .entry(group.to_string())
                    .or_default()
                    .insert(g.next, actor);
            }
        }
        Ok(())
    }

    pub(crate) fn leave(&self, actor: u64, group: &str) -> Result<bool, EventError> {
        validate_group(group)?;
        let g = &mut *self.groups.lock().unwrap();
        let Some(of) = g.of.get_mut(&actor) else {
            return Ok(false);
        };
        let Some((seq, joins)) = of.get_mut(group) else {
            return Ok(false);
        };
        *joins -= 1;
        if *joins == 0 {
            let seq = *seq;
            of.remove(group);
            if of.is_empty() {
                g.of.remove(&actor);
            }
            remove_member(&mut g.members, group, seq);
        }
        Ok(true)
    }

    pub(crate) fn members(&self, group: &str) -> Result<Vec<u64>, EventError> {
        validate_group(group)?;
        let g = self.groups.lock().unwrap();
        Ok(g.members
            .get(group)
            .map(|m| m.values().copied().collect())
            .unwrap_or_default())
    }

    /// `actor` subscribes to `pattern`; a new pattern is refused once it holds `max`.
    pub(crate) fn subscribe(
        &self,
        actor: u64,
        pattern: &str,
        max: usize,
    ) -> Result<(), EventError> {
        validate_subject(pattern, true)?;
        let s = &mut *self.subs.lock().unwrap();
        let of = s.of.entry(actor).or_default();
        if of.contains_key(pattern) {
            return Ok(());
        }
        if of.len() >= max {
            if of.is_empty() {
                s.of.remove(&actor);
            }
            return Err(EventError::QuotaExceeded(format!(
                "max_subscriptions: this actor holds {max} subscriptions already, its limit"
            )));
        }
        s.next += 1;
        of.insert(pattern.to_string(), s.next);
        s.root.insert(pattern.split('.'), s.next, actor);
        Ok(())
    }

    pub(crate) fn unsubscribe(&self, actor: u64, pattern: &str) -> Result<bool, EventError> {
        validate_subject(pattern, true)?;
        let s = &mut *self.subs.lock().unwrap();
        let Some(of) = s.of.get_mut(&actor) else {
            return Ok(false);
        };
        let Some(seq) = of.remove(pattern) else {
            return Ok(false);
        };
        if of.is_empty() {
            s.of.remove(&actor);
        }
        s.root.remove(pattern.split('.'), seq);
        Ok(true)
    }

    /// Subscribers whose patterns match `topic`, each once, in the order of their
    /// first matching subscription.
    pub(crate) fn subscribers(&self, topic: &str) -> Result<Vec<u64>, EventError> {
        validate_subject(topic, false)?;
        let tokens: Vec<&str> = topic.split('.').collect();
        let mut matched = Vec::new();
        self.subs
            .lock()
            .unwrap()
            .root
            .collect(&tokens, &mut matched);
        matched.sort_unstable();
        let mut seen = HashSet::with_capacity(matched.len());
        Ok(matched
            .into_iter()
            .filter_map(|(_, actor)| seen.insert(actor).then_some(actor))
            .collect())
    }

    /// The actor stopped: it leaves every group and ends every subscription, in time
    /// proportional to how many it held. The locks are taken per chunk of
    /// `REMOVE_CHUNK` entries, so no join or publish waits on more than that however
    /// much the actor held; this runs before the actor's exit is announced, so
    /// nothing reaches it through a group or a pattern after its DOWN.
    pub(crate) fn remove_actor(&self, actor: u64) {
        let groups = self.groups.lock().unwrap().of.remove(&actor);
        in_chunks(
            &self.groups,
            groups.into_iter().flatten(),
            |g, (group, (seq, _))| remove_member(&mut g.members, &group, seq),
        );
        let patterns = self.subs.lock().unwrap().of.remove(&actor);
        in_chunks(
            &self.subs,
            patterns.into_iter().flatten(),
            |s, (pattern, seq)| {
                s.root.remove(pattern.split('.'), seq);
            },
        );
    }

    pub(crate) fn next_timer(&self) -> u64 {
        self.next_timer.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// Applies `remove` to each of `items` under `lock`, taking it anew every
/// `REMOVE_CHUNK` items.
fn in_chunks<S, T>(
    lock: &Mutex<S>,
    items: impl IntoIterator<Item = T>,
    mut remove: impl FnMut(&mut S, T),
) {
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        let mut state = lock.lock().unwrap();
        for item in items.by_ref().take(REMOVE_CHUNK) {
            remove(&mut state, item);
        }
    }
}

fn remove_member(members: &mut HashMap<String, BTreeMap<u64, u64>>, group: &str, seq: u64) {
    if let Some(m) = members.get_mut(group) {
        m.remove(&seq);
        if m.is_empty() {
            members.remove(group);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Events, topic_matches};

    /// Every pattern of up to three tokens over `a`, `b`, `*`, `>` (with `>` last).
    fn patterns() -> Vec<String> {
        let tokens = ["a", "b", "*", ">"];
        let mut out: Vec<Vec<&str>> = tokens.iter().map(|t| vec![*t]).collect();
        for _ in 0..2 {
            let longer: Vec<Vec<&str>> = out
                .iter()
                .filter(|p| p.last() != Some(&">"))
                .flat_map(|p| {
                    tokens.iter().map(move |t| {
                        let mut q = p.clone();
                        q.push(t);
                        q
                    })
                })
                .collect();
            out.extend(longer);
        }
        out.sort();
        out.dedup();
        out.into_iter().map(|p| p.join(".")).collect()
    }

    fn topics() -> Vec<String> {
        let mut out = vec![];
        for n in 1..=4u32 {
            for bits in 0..(1u32 << n) {
                let t: Vec<&str> = (0..n)
                    .map(|i| if bits >> i & 1 == 1 { "a" } else { "b" })
                    .collect();
                out.push(t.join("."));
            }
        }
        out
    }

    /// What a publish must reach: the subscribers of matching patterns, each once,
    /// by their first matching subscription (`subs` is in subscription order).
    fn reference(subs: &[(u64, String)], topic: &str) -> Vec<u64> {
        let mut out = vec![];
        for (actor, pattern) in subs {
            if topic_matches(pattern, topic) && !out.contains(actor) {
                out.push(*actor);
            }
        }
        out
    }

    #[test]
    fn the_subject_trie_agrees_with_matching_every_pattern() {
        let events = Events::default();
        let patterns = patterns();
        // Three actors subscribe to overlapping patterns, interleaved.
        let mut subs: Vec<(u64, String)> = vec![];
        for (i, p) in patterns.iter().enumerate() {
            let actor = 1 + (i as u64 % 3);
            if i % 5 != 0 {
                events.subscribe(actor, p, usize::MAX).unwrap();
                // Twice is one subscription.
                events.subscribe(actor, p, usize::MAX).unwrap();
                subs.push((actor, p.clone()));
            }
        }
        let check = |subs: &[(u64, String)]| {
            for t in topics() {
                assert_eq!(events.subscribers(&t).unwrap(), reference(subs, &t), "{t}");
            }
        };
        check(&subs);
        // Unsubscribing every other subscription of actor 1, then actor 2's exit.
        let mut n = 0;
        subs.retain(|(a, p)| {
            if *a == 1 {
                n += 1;
                if n % 2 == 0 {
                    assert!(events.unsubscribe(1, p).unwrap());
                    return false;
                }
            }
            true
        });
        assert!(!events.unsubscribe(1, "no.such").unwrap());
        check(&subs);
        events.remove_actor(2);
        subs.retain(|(a, _)| *a != 2);
        check(&subs);
        for a in [1, 3] {
            events.remove_actor(a);
        }
        check(&[]);
        let s = events.subs.lock().unwrap();
        assert!(
            s.root.subs.is_empty() && s.root.children.is_empty(),
            "pruned"
        );
        assert!(s.of.is_empty());
    }

    #[test]
    fn groups_keep_join_order_and_count_joins() {
        let events = Events::default();
        for (actor, group) in [(1, "g"), (2, "g"), (1, "g"), (3, "g"), (2, "h")] {
            events.join(actor, group, usize::MAX).unwrap();
        }
        assert_eq!(events.members("g").unwrap(), [1, 2, 3]);
        // One leave undoes one join: 1 joined twice.
        assert!(events.leave(1, "g").unwrap());
        assert_eq!(events.members("g").unwrap(), [1, 2, 3]);
        assert!(events.leave(1, "g").unwrap());
        assert_eq!(events.members("g").unwrap(), [2, 3]);
        assert!(!events.leave(1, "g").unwrap());
        // A new join goes last.
        events.join(1, "g", usize::MAX).unwrap();
        assert_eq!(events.members("g").unwrap(), [2, 3, 1]);
        events.remove_actor(2);
        assert_eq!(events.members("g").unwrap(), [3, 1]);
        assert!(events.members("h").unwrap().is_empty());
        let g = events.groups.lock().unwrap();
        assert!(!g.members.contains_key("h") && !g.of.contains_key(&2));
    }
}
