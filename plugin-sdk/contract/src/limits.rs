//! Limits on what a filter may put into an event, the same ones ingest holds senders to:
//! metadata travels to receivers as HTTP headers, which they refuse past a few KiB.

/// Longest metadata key, in bytes.
pub const MAX_METADATA_KEY: usize = 128;

/// Longest metadata value, in bytes: a header value receivers accept.
pub const MAX_METADATA_VALUE: usize = 4096;

/// Most metadata entries an event may carry.
pub const MAX_METADATA_ENTRIES: usize = 64;

/// The limits edits are checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest metadata key, in bytes.
    pub max_metadata_key: usize,
    /// Longest metadata value, in bytes.
    pub max_metadata_value: usize,
    /// Most metadata entries.
    pub max_metadata_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_metadata_key: MAX_METADATA_KEY,
            max_metadata_value: MAX_METADATA_VALUE,
            max_metadata_entries: MAX_METADATA_ENTRIES,
        }
    }
}
