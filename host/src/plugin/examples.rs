//! The example plugins, built from `plugins/` by the build script and embedded in the
//! binary, so that Weir's default config runs with no plugin folder at all. A file of
//! the same name in the plugin folder takes precedence.

/// An embedded plugin: its name and its component bytes.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// The plugin's name, as routes refer to it.
    pub name: &'static str,
    /// The component.
    pub bytes: &'static [u8],
}

macro_rules! example {
    ($name:literal, $file:literal) => {
        Example {
            name: $name,
            bytes: include_bytes!(concat!(env!("WEIR_EXAMPLE_PLUGINS"), "/", $file)),
        }
    };
}

/// Every embedded example plugin.
pub const EXAMPLES: [Example; 4] = [
    example!("class-filter", "class_filter.wasm"),
    example!("strip-masks", "strip_masks.wasm"),
    example!("reshape", "reshape.wasm"),
    example!("route-by-class", "route_by_class.wasm"),
];

/// The embedded example of this name.
pub fn example(name: &str) -> Option<Example> {
    EXAMPLES.into_iter().find(|example| example.name == name)
}
