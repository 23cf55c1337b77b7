//! The bounds and defaults of what the config sets: they live with the config, which
//! validates against them, and the runtime modules take their settings from here.

use std::time::Duration;

/// The largest linear memory any one plugin instance may grow to; per-filter limits must
/// be at most this. The plugin engine's pooling allocator reserves address space (not
/// memory) for this many bytes per slot.
pub const MAX_INSTANCE_MEMORY: u64 = 4 << 30;

/// Default deadline of one filter call. Filters take microseconds; 50 ms leaves room
/// for an interpreted language's slow path while keeping a stuck filter from holding
/// an event long.
pub const DEFAULT_FILTER_TIMEOUT: Duration = Duration::from_millis(50);

/// Default memory cap of one plugin instance. A Rust filter needs one or two MiB, a
/// JavaScript engine about ten; 64 MiB leaves room for decoding an image.
pub const DEFAULT_FILTER_MEMORY: u64 = 64 << 20;

/// Default number of events a plugin instance serves before it is replaced.
pub const DEFAULT_MAX_CALLS: u32 = 10_000;

/// Largest state store a filter may ask for: state lives in memory, one store per
/// filter of a route.
pub const MAX_STATE_BYTES: u64 = 1 << 30;
