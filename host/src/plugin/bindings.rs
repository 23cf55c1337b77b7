//! The generated host bindings of the `weir:filter` world, and nothing else: every
//! other module imports the contract's types from here.

wasmtime::component::bindgen!({
    world: "filter",
    path: "../wit",
    imports: { default: trappable },
    exports: { default: async },
    with: {
        "weir:filter/types.event": super::guest::EventHandle,
    },
});
