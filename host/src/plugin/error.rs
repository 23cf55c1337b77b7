//! Plugin errors, kept apart by whose fault they are.
//!
//! - The guest **declined**: its `filter` returned an error on purpose. The instance is
//!   fine; the route's failure policy decides the event's fate.
//! - The guest **misbehaved**: it trapped, overran its deadline or memory, or returned
//!   something invalid. The instance is thrown away, and the policy applies.
//! - The filter was **busy**: no instance was free in time. Backpressure: the sender is
//!   asked to send the event again, no policy applies.
//! - The **host** failed: a bug. Propagated.
//!
//! Loading has its own error, [`LoadError`], which always names the file.

use std::fmt;
use std::time::Duration;

use weir_contract::EditError;

/// How a guest misbehaved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Misbehavior {
    /// The guest trapped (a Rust panic, an `unreachable`, an out-of-bounds access).
    Trap(String),
    /// The call ran past its deadline and was stopped.
    Deadline(Duration),
    /// The guest tried to grow its memory past its cap.
    Memory {
        /// The cap, in bytes.
        limit: u64,
        /// What the refused growth asked for, in bytes.
        requested: u64,
    },
    /// The guest tried to grow its memory while all instances together held the
    /// memory budget (`[plugins] memory_budget`).
    Budget {
        /// The budget, in bytes.
        budget: u64,
        /// What the refused growth asked for, in bytes.
        requested: u64,
    },
    /// The guest returned a verdict that cannot be applied.
    InvalidOutput(EditError),
    /// A core module broke the JSON ABI: a buffer outside its memory, a verdict that
    /// is not the documented JSON.
    Abi(String),
}

impl fmt::Display for Misbehavior {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Misbehavior::Trap(message) => write!(f, "trapped: {message}"),
            Misbehavior::Deadline(limit) => {
                write!(f, "ran past its deadline of {} ms and was stopped", limit.as_millis())
            }
            Misbehavior::Memory { limit, requested } => write!(
                f,
                "tried to grow its memory to {} past its limit of {}",
                mebibytes(*requested),
                mebibytes(*limit)
            ),
            Misbehavior::Budget { budget, requested } => write!(
                f,
                "could not grow its memory to {}: all plugin instances together hold plugins.memory_budget ({})",
                mebibytes(*requested),
                mebibytes(*budget)
            ),
            Misbehavior::InvalidOutput(invalid) => write!(f, "{invalid}"),
            Misbehavior::Abi(message) => write!(f, "broke the core-module ABI: {message}"),
        }
    }
}

fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

impl Misbehavior {
    /// A short, stable name for metrics and the admin API.
    pub fn kind(&self) -> &'static str {
        match self {
            Misbehavior::Trap(_) => "trap",
            Misbehavior::Deadline(_) => "deadline",
            Misbehavior::Memory { .. } | Misbehavior::Budget { .. } => "memory",
            Misbehavior::InvalidOutput(_) | Misbehavior::Abi(_) => "invalid-output",
        }
    }
}

/// Why running a filter on an event failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FilterError {
    /// The guest's `filter` returned an error.
    #[error("plugin {plugin} could not process the event: {message}")]
    Declined {
        /// The plugin's name.
        plugin: String,
        /// The guest's message.
        message: String,
        /// Whether the guest said the same event could succeed later.
        retryable: bool,
    },
    /// The guest misbehaved; its instance was discarded.
    #[error("plugin {plugin} {misbehavior}")]
    Misbehaved {
        /// The plugin's name.
        plugin: String,
        /// What it did.
        misbehavior: Misbehavior,
    },
    /// A fresh instance could not be made ready: `init` refused the config or failed.
    #[error("plugin {plugin} failed to initialise: {message}")]
    Init {
        /// The plugin's name.
        plugin: String,
        /// Why.
        message: String,
    },
    /// No instance of the filter was free within `[plugins] instance_wait`: the event
    /// must be sent again later. Never a verdict on the event.
    #[error("plugin {plugin} had no instance free: {message}")]
    Busy {
        /// The plugin's name.
        plugin: String,
        /// Why.
        message: String,
    },
    /// The host could not run the filter (a host bug).
    #[error("plugin {plugin} could not be run: {message}")]
    Host {
        /// The plugin's name.
        plugin: String,
        /// Why.
        message: String,
    },
}

impl FilterError {
    /// The error with whatever text the guest supplied bounded ([`crate::text::cap`]).
    pub(crate) fn bounded(self) -> FilterError {
        let cap = |text: String| crate::text::cap(text, crate::text::MAX_GUEST_TEXT);
        match self {
            FilterError::Declined {
                plugin,
                message,
                retryable,
            } => FilterError::Declined {
                plugin,
                message: cap(message),
                retryable,
            },
            FilterError::Misbehaved { plugin, misbehavior } => FilterError::Misbehaved {
                plugin,
                misbehavior: match misbehavior {
                    Misbehavior::Trap(message) => Misbehavior::Trap(cap(message)),
                    Misbehavior::Abi(message) => Misbehavior::Abi(cap(message)),
                    Misbehavior::InvalidOutput(invalid) => Misbehavior::InvalidOutput(match invalid {
                        EditError::InvalidJson(message) => EditError::InvalidJson(cap(message)),
                        EditError::NoSuchAttachment(name) => EditError::NoSuchAttachment(cap(name)),
                        EditError::NoSuchDestination { name, current } => EditError::NoSuchDestination {
                            name: cap(name),
                            current,
                        },
                        EditError::TooLarge(message) => EditError::TooLarge(cap(message)),
                        other => other,
                    }),
                    other => other,
                },
            },
            FilterError::Init { plugin, message } => FilterError::Init {
                plugin,
                message: cap(message),
            },
            host @ (FilterError::Host { .. } | FilterError::Busy { .. }) => host,
        }
    }

    /// A short, stable name for metrics and the admin API.
    pub fn kind(&self) -> &'static str {
        match self {
            FilterError::Declined { .. } => "declined",
            FilterError::Misbehaved { misbehavior, .. } => misbehavior.kind(),
            FilterError::Init { .. } => "init",
            FilterError::Busy { .. } => "busy",
            FilterError::Host { .. } => "host",
        }
    }
}

/// Why a plugin file could not be loaded.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{path}: cannot read the plugin file: {reason}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// The file is not WebAssembly.
    #[error(
        "{path}: not a WebAssembly file (it does not start with the \\0asm header); build the filter for wasm32-wasip2 (or as a core module, see wit/core-module.md)"
    )]
    NotWasm {
        /// The file.
        path: String,
    },
    /// Cranelift could not compile the component (it is malformed or uses
    /// unsupported features).
    #[error("{path}: cannot compile: {reason}")]
    Compile {
        /// The file.
        path: String,
        /// The compiler's message.
        reason: String,
    },
    /// The component does not fit any served version of the `weir:filter` world.
    #[error("{path}: does not implement the weir:filter world: {reason}")]
    WrongWorld {
        /// The file.
        path: String,
        /// What is missing or mistyped.
        reason: String,
    },
    /// The core module does not fit the JSON ABI of `wit/core-module.md`.
    #[error("{path}: is a core module that does not follow Weir's core-module ABI: {reason}")]
    WrongAbi {
        /// The file.
        path: String,
        /// What is missing or mistyped.
        reason: String,
    },
    /// The component loaded but could not be initialised with its config.
    #[error("{path}: {error}")]
    Init {
        /// The file.
        path: String,
        /// What `init` did.
        error: FilterError,
    },
    /// An engine limit was hit.
    #[error("{path}: {reason}")]
    Limit {
        /// The file.
        path: String,
        /// Which limit.
        reason: String,
    },
}
