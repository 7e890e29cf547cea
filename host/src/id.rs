//! Actor ids: unique, never 0, never reused while a runtime lives.

use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};

/// The raw id that stands for Rust code (the embedding program, the host): the
/// sender of messages sent from Rust, the owner of tables created from Rust. No actor
/// has it.
pub(crate) const HOST: u64 = 0;

/// An actor's address within one runtime. Ids increase with start order, which is
/// what shutdown's reverse order uses.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActorId(NonZeroU64);

impl ActorId {
    /// The raw id, as the WIT interface and logs show it.
    pub fn get(self) -> u64 {
        self.0.get()
    }

    /// The id with this raw value; `None` for 0, which is never an actor's id.
    pub fn from_raw(raw: u64) -> Option<ActorId> {
        NonZeroU64::new(raw).map(ActorId)
    }
}

impl fmt::Debug for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Hands out ids in increasing order.
#[derive(Debug)]
pub(crate) struct IdGen(AtomicU64);

impl IdGen {
    pub(crate) fn new() -> Self {
        IdGen(AtomicU64::new(1))
    }

    pub(crate) fn next(&self) -> ActorId {
        let raw = self.0.fetch_add(1, Ordering::Relaxed);
        ActorId::from_raw(raw).expect("actor ids start at 1 and a u64 does not wrap")
    }
}
