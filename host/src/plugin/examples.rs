//! The example plugins, built from `plugins/rust/` by the build script and embedded in the
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

// The table, written by the build script from its one list of examples.
include!(concat!(env!("OUT_DIR"), "/examples.rs"));

/// The embedded example of this name.
pub fn example(name: &str) -> Option<Example> {
    EXAMPLES.into_iter().find(|example| example.name == name)
}

/// The examples' names, for messages: `class-filter, strip-masks, ...`.
pub fn names() -> String {
    EXAMPLES.map(|example| example.name).join(", ")
}
