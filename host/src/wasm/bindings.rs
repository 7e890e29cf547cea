//! Host bindings for the actor world, generated from `wit/world.wit`.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "actor-world",
    imports: {
        // A panic ends the instance in the host function that records it: a host
        // error unwinds the guest without the signal an `unreachable` trap costs.
        "foundation:actor/runtime.record-panic": async | trappable,
        default: async,
    },
    exports: { default: async },
    with: { "foundation:actor/tables.table": crate::tables::table::TableHandle },
});

pub(crate) use self::exports::foundation::actor::actor::BatchResult;
pub(crate) use self::foundation::actor::types as wit;
