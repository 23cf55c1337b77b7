//! Logging through Weir: messages appear in Weir's log, tagged with the plugin's name.
//!
//! Weir keeps at most a few dozen messages per event and cuts long ones, so log what
//! helps someone debugging a route, not every prediction. Outside Weir (native unit
//! tests) messages go to stderr.

#[cfg(target_arch = "wasm32")]
use crate::export::bindings::weir::filter::host::{self, Level};

#[cfg(target_arch = "wasm32")]
fn write(level: Level, message: &str) {
    host::log(level, message);
}

#[cfg(not(target_arch = "wasm32"))]
fn write(level: &str, message: &str) {
    eprintln!("[{level}] {message}");
}

macro_rules! level {
    ($(#[$doc:meta])* $name:ident, $wasm:ident, $native:literal) => {
        $(#[$doc])*
        pub fn $name(message: &str) {
            #[cfg(target_arch = "wasm32")]
            write(Level::$wasm, message);
            #[cfg(not(target_arch = "wasm32"))]
            write($native, message);
        }
    };
}

level!(
    /// Logs at trace level.
    trace, Trace, "trace"
);
level!(
    /// Logs at debug level.
    debug, Debug, "debug"
);
level!(
    /// Logs at info level.
    info, Info, "info"
);
level!(
    /// Logs at warn level.
    warn, Warn, "warn"
);
level!(
    /// Logs at error level.
    error, Error, "error"
);
