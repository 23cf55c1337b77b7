//! The generated host bindings of each served version of the `weir:filter` world, and
//! nothing else: the rest of the component runtime imports the contract's types from
//! here.

/// `weir:filter@0.2.0`, the current contract.
pub(crate) mod v0_2 {
    wasmtime::component::bindgen!({
        world: "filter",
        path: "../wit",
        imports: { default: trappable },
        exports: { default: async },
        with: {
            "weir:filter/types.event": crate::plugin::component::guest::Lent,
        },
    });
}

/// `weir:filter@0.1.0`, which filters built before 0.2 were built against.
pub(crate) mod v0_1 {
    wasmtime::component::bindgen!({
        world: "filter",
        path: "../wit/0.1.0",
        imports: { default: trappable },
        exports: { default: async },
        with: {
            "weir:filter/types.event": crate::plugin::component::guest::Lent,
        },
    });
}
