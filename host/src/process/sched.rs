//! How actors are scheduled: the one place that decides where an actor's loop runs.
//!
//! Today each actor is one tokio task on the runtime's tokio handle; a busy guest
//! yields at every epoch tick, so it cannot hold a worker thread. A run queue can
//! replace this module without touching the rest; it was measured 1.6x faster for
//! message hops in a bare probe that also used synchronous stores, but tokio's share of
//! a PingPong profile here is about 5% (README, "Benchmarks").

use std::future::Future;

use tokio::runtime::Handle;
use tokio::task::AbortHandle;

/// Starts an actor's loop; the handle kills it.
pub(crate) fn spawn_actor(
    handle: &Handle,
    actor_loop: impl Future<Output = ()> + Send + 'static,
) -> AbortHandle {
    handle.spawn(actor_loop).abort_handle()
}
