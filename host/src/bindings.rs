//! Host bindings for the actor world, generated from `wit/world.wit`.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "actor-world",
    imports: { default: async },
    exports: { default: async },
});

pub(crate) use self::exports::foundation::actor::actor::BatchResult;
pub(crate) use self::foundation::actor::types as wit;
