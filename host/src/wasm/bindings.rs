//! Host bindings for the actor world, generated from `wit/world.wit`.
//!
//! Imports are synchronous host functions unless they wait: an async host function
//! costs a blocking context on every call (about a quarter more per import in a
//! measurement here), so only those that wait for another actor, the mailbox or a
//! start are async.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "actor-world",
    imports: {
        // Waits for mailbox room (and, for a call, the reply).
        "foundation:actor/messaging.cast": async,
        "foundation:actor/messaging.call": async,
        // Waits for room when the target traps exits (back-pressure, as a cast).
        "foundation:actor/processes.exit": async,
        // Wait for the new actor's `init`.
        "foundation:actor/processes.spawn": async,
        "foundation:actor/processes.spawn-link": async,
        // Wait for a supervisor: its children's starts, its answer.
        "foundation:actor/supervision": async,
        // Wait for room in each recipient's mailbox.
        "foundation:actor/events.dispatch": async,
        "foundation:actor/events.publish": async,
        "foundation:actor/events.broadcast-from": async,
        // A panic ends the instance in the host function that records it: a host
        // error unwinds the guest without the signal an `unreachable` trap costs.
        "foundation:actor/logging.record-panic": trappable,
        // Wait for the store's threads (or the database): storage I/O never runs on
        // the actor's thread.
        // A durable table's writes wait for its store (a memory table's return at
        // once); creating one waits for its stored rows.
        "foundation:actor/tables.[static]table.create": async,
        "foundation:actor/tables.[method]table.insert": async,
        "foundation:actor/tables.[method]table.insert-new": async,
        "foundation:actor/tables.[method]table.insert-many": async,
        "foundation:actor/tables.[method]table.delete": async,
        "foundation:actor/tables.[method]table.delete-object": async,
        "foundation:actor/tables.[method]table.take": async,
        "foundation:actor/tables.[method]table.update-counter": async,
        "wasi:keyvalue/store": async,
        "wasi:keyvalue/atomics": async,
        "wasi:keyvalue/batch": async,
    },
    exports: { default: async },
    with: {
        "foundation:actor/tables.table": crate::tables::table::TableHandle,
        "wasi:keyvalue/store.bucket": crate::store::Bucket,
        "wasi:keyvalue/atomics.cas": crate::store::CasHandle,
    },
});

pub(crate) use self::exports::foundation::actor::actor::BatchResult;
pub(crate) use self::foundation::actor::types as wit;
