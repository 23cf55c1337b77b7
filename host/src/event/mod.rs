//! The event: one prediction as it travels from ingest through the filter chain to
//! dispatch. The model is the plugin contract's ([`weir_contract`]), so Weir and the
//! filters' SDKs read, recognise and edit events with one code. The trace context it
//! travels in is Weir's ([`trace`]).

pub mod trace;

pub use weir_contract::event::{Attachment, DestinationName, Event, Predictions, content_type_of};
pub use weir_contract::predictions::Root;
pub use weir_contract::task::{InvalidTask, Task};

/// The prefix of the headers that carry an event's metadata, in both directions:
/// senders may set `X-Weir-Meta-Camera: dock-3`, and receivers get each entry so.
pub const METADATA_HEADER_PREFIX: &str = "x-weir-meta-";
