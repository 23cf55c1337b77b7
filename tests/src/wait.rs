//! Bounded waits: every wait in the suite ends, in what it waited for or in a failed
//! test that names it, so nothing can hang CI.

use std::time::Duration;

/// How often [`eventually`] looks again.
const POLL: Duration = Duration::from_millis(20);

/// Polls `check` until it gives a value and returns it; panics naming `what` when
/// `limit` passes first. For conditions Weir's own records will show (an attempt
/// recorded, a state reached, a plugin version loaded), in place of a sleep before an
/// assertion.
pub async fn eventually<T>(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}
