//! Host bindings for the actor world, generated from `wit/world.wit`.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "actor-world",
    imports: { default: async },
    exports: { default: async },
    with: { "foundation:actor/tables.table": crate::tables::TableHandle },
});

pub(crate) use self::exports::foundation::actor::actor::BatchResult;
pub(crate) use self::foundation::actor::types as wit;
