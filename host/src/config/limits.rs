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

/// Default cap on a plugin file's size (`[plugins] max_plugin_size`). A Python filter
/// (CPython inside) is under 20 MiB, a JavaScript one about 12 MiB; compiling takes
/// memory in proportion, so a bigger file is refused before it is compiled.
pub const DEFAULT_MAX_PLUGIN_SIZE: u64 = 64 << 20;

/// Default memory budget of all plugin instances together (`[plugins] memory_budget`):
/// every filter's memory cap times its instances must fit in it, checked at load.
pub const DEFAULT_MEMORY_BUDGET: u64 = 4 << 30;

/// Default longest wait of an event for a free instance of a filter (`[plugins]
/// instance_wait`); past it the sender is answered 503 with `Retry-After`.
pub const DEFAULT_INSTANCE_WAIT: Duration = Duration::from_secs(1);

/// Default instances one filter may run at once (and keep warm): two per core, between
/// 2 and 8, so that the default `plugins.max_instances` holds a dozen filters.
pub fn default_filter_instances() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get() * 2)
        .clamp(2, 8)
}
