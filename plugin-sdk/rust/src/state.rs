//! The filter's key/value store, kept by Weir across events, instances and hot reloads
//! (and restarts, when the route asks for `state = "durable"`).
//!
//! One store per filter of a route: every instance of the filter sees the same
//! entries, and every operation is atomic across them, so two instances cannot both
//! claim the same key. The store is bounded (entries and bytes, set per filter in the
//! route's config); when a write would pass a bound, expired entries go first, then the
//! least recently used. Keys are at most 1 KiB.
//!
//! ```
//! use std::time::Duration;
//! use weir_plugin_sdk::state;
//!
//! // At most one alert per camera per minute, across every instance of the filter.
//! fn first_in_a_minute(camera: &str) -> Result<bool, weir_plugin_sdk::Refused> {
//!     state::claim(&format!("alert:{camera}"), Duration::from_secs(60))
//! }
//! ```
//!
//! In native unit tests the store is the test harness's ([`crate::testing::Harness`]),
//! running Weir's own code with a clock the test moves.

use std::time::Duration;

use crate::error::Refused;

fn millis(ttl: Option<Duration>) -> Option<u64> {
    ttl.map(|ttl| u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
}

/// The value of a key, or `None` when it is absent or expired.
pub fn get(key: &str) -> Option<Vec<u8>> {
    backend::get(key)
}

/// The value of a key as text, or `None` when it is absent, expired or not UTF-8.
pub fn get_string(key: &str) -> Option<String> {
    get(key).and_then(|bytes| String::from_utf8(bytes).ok())
}

/// Sets a key, to expire after `ttl` (never, when `None`).
pub fn set(key: &str, value: impl AsRef<[u8]>, ttl: Option<Duration>) -> Result<(), Refused> {
    backend::set(key, value.as_ref(), millis(ttl))
}

/// Sets a key to `value` (or deletes it, for `None`) only if its value is `expected`
/// (`None`: absent or expired); whether it did.
pub fn compare_and_set(
    key: &str,
    expected: Option<&[u8]>,
    value: Option<&[u8]>,
    ttl: Option<Duration>,
) -> Result<bool, Refused> {
    backend::compare_and_set(key, expected, value, millis(ttl))
}

/// Claims a key for `ttl`: true for exactly one caller until the key expires (or is
/// deleted). The building block of "at most once per...".
pub fn claim(key: &str, ttl: Duration) -> Result<bool, Refused> {
    compare_and_set(key, None, Some(b"1"), Some(ttl))
}

/// Adds `delta` to the key's value (read as a decimal integer, 0 when absent or
/// expired), stores it with `ttl` and returns it.
pub fn increment(key: &str, delta: i64, ttl: Option<Duration>) -> Result<i64, Refused> {
    backend::increment(key, delta, millis(ttl))
}

/// Deletes a key; whether it was there.
pub fn delete(key: &str) -> bool {
    backend::delete(key)
}

#[cfg(target_arch = "wasm32")]
mod backend {
    use crate::error::Refused;
    use crate::export::bindings::weir::filter::state as host;
    use crate::export::bindings::weir::filter::types::Refusal;

    fn refused(refusal: Refusal) -> Refused {
        Refused {
            kind: refusal.kind,
            message: refusal.message,
        }
    }

    pub(super) fn get(key: &str) -> Option<Vec<u8>> {
        host::get(key)
    }

    pub(super) fn set(key: &str, value: &[u8], ttl: Option<u64>) -> Result<(), Refused> {
        host::set(key, value, ttl).map_err(refused)
    }

    pub(super) fn compare_and_set(
        key: &str,
        expected: Option<&[u8]>,
        value: Option<&[u8]>,
        ttl: Option<u64>,
    ) -> Result<bool, Refused> {
        host::compare_and_set(key, expected, value, ttl).map_err(refused)
    }

    pub(super) fn increment(key: &str, delta: i64, ttl: Option<u64>) -> Result<i64, Refused> {
        host::increment(key, delta, ttl).map_err(refused)
    }

    pub(super) fn delete(key: &str) -> bool {
        host::delete(key)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod backend {
    use crate::error::Refused;
    use crate::testing::with_state;

    pub(super) fn get(key: &str) -> Option<Vec<u8>> {
        with_state(|store, now| store.get(key, now))
    }

    pub(super) fn set(key: &str, value: &[u8], ttl: Option<u64>) -> Result<(), Refused> {
        with_state(|store, now| store.set(key, value.to_vec(), ttl, now)).map_err(Refused::from)
    }

    pub(super) fn compare_and_set(
        key: &str,
        expected: Option<&[u8]>,
        value: Option<&[u8]>,
        ttl: Option<u64>,
    ) -> Result<bool, Refused> {
        with_state(|store, now| store.compare_and_set(key, expected, value.map(<[u8]>::to_vec), ttl, now))
            .map_err(Refused::from)
    }

    pub(super) fn increment(key: &str, delta: i64, ttl: Option<u64>) -> Result<i64, Refused> {
        with_state(|store, now| store.increment(key, delta, ttl, now)).map_err(Refused::from)
    }

    pub(super) fn delete(key: &str) -> bool {
        with_state(|store, now| store.delete(key, now))
    }
}
