//! Processes: what every kind of process (actor, supervised task, supervisor, probe)
//! has in common, with no knowledge of Wasm. `mailbox` (the two queues), `cell` (a
//! live process's shared state, its monitors and links), `registry` (the process
//! table and names), `sched` (where a process's loop runs).

pub(crate) mod cell;
pub(crate) mod mailbox;
pub(crate) mod registry;
pub(crate) mod sched;
