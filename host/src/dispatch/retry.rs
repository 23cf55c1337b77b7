//! When to try a delivery again: the retry policy as small pure functions.

use std::time::{Duration, SystemTime};

use crate::config::RetryConfig;

/// What one attempt's result means for the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Delivered: a 2xx.
    Delivered,
    /// Worth another attempt (connection failure, timeout, 5xx, 408, 429).
    Retryable,
    /// Trying again will not help (a 4xx that says the request is wrong, a redirect).
    Permanent,
}

/// How an HTTP status (or no status: the request failed) is treated.
pub fn disposition(status: Option<u16>, retry_client_errors: bool) -> Disposition {
    match status {
        None => Disposition::Retryable,
        Some(200..=299) => Disposition::Delivered,
        Some(408 | 429) => Disposition::Retryable,
        Some(300..=399) => Disposition::Permanent,
        Some(400..=499) if retry_client_errors => Disposition::Retryable,
        Some(400..=499) => Disposition::Permanent,
        Some(_) => Disposition::Retryable,
    }
}

/// The delay before retry number `retry` (1 for the first retry), without jitter.
pub fn base_delay(policy: &RetryConfig, retry: u32) -> Duration {
    if let Some(schedule) = &policy.schedule {
        let index = (retry.max(1) as usize - 1).min(schedule.len().saturating_sub(1));
        return schedule.get(index).map_or(Duration::ZERO, |span| span.0);
    }
    let factor = policy.multiplier.powi(retry.saturating_sub(1).min(64) as i32);
    let delay = policy.initial_delay.0.as_secs_f64() * factor;
    Duration::from_secs_f64(delay.min(policy.max_delay.0.as_secs_f64()))
}

/// `delay` moved by up to `jitter` of itself, either way; `unit` is a uniform random
/// number in [0, 1).
pub fn jittered(delay: Duration, jitter: f64, unit: f64) -> Duration {
    let spread = (unit * 2.0 - 1.0) * jitter;
    Duration::from_secs_f64((delay.as_secs_f64() * (1.0 + spread)).max(0.0))
}

/// The delay before retry number `retry`: the schedule's, jittered, or what the
/// receiver asked for with `Retry-After` when that is longer (capped by the policy).
pub fn next_delay(policy: &RetryConfig, retry: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
    let scheduled = jittered(base_delay(policy, retry), policy.jitter, unit);
    match retry_after {
        Some(asked) => scheduled.max(asked.min(policy.max_retry_after.0)),
        None => scheduled,
    }
}

/// Parses a `Retry-After` header: delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate_parse(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form HTTP requires.
fn httpdate_parse(value: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339(&imf_to_rfc3339(value)?).ok()
}

fn imf_to_rfc3339(value: &str) -> Option<String> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let month = match *month {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let day: u32 = day.parse().ok()?;
    let year: u32 = year.parse().ok()?;
    Some(format!("{year:04}-{month:02}-{day:02}T{time}Z"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Span;

    #[test]
    fn classifies_statuses() {
        let cases = [
            (None, false, Disposition::Retryable),
            (Some(200), false, Disposition::Delivered),
            (Some(204), false, Disposition::Delivered),
            (Some(301), false, Disposition::Permanent),
            (Some(400), false, Disposition::Permanent),
            (Some(400), true, Disposition::Retryable),
            (Some(404), false, Disposition::Permanent),
            (Some(408), false, Disposition::Retryable),
            (Some(429), false, Disposition::Retryable),
            (Some(500), false, Disposition::Retryable),
            (Some(503), false, Disposition::Retryable),
        ];
        for (status, retry_4xx, expected) in cases {
            assert_eq!(disposition(status, retry_4xx), expected, "{status:?}");
        }
    }

    #[test]
    fn exponential_delays_grow_and_cap() {
        let policy = RetryConfig::default();
        let delays: Vec<u64> = (1..=6).map(|n| base_delay(&policy, n).as_secs()).collect();
        assert_eq!(delays, [1, 4, 16, 64, 256, 300]);
    }

    #[test]
    fn an_explicit_schedule_repeats_its_last_delay() {
        let policy = RetryConfig {
            schedule: Some(vec![Span(Duration::from_secs(2)), Span(Duration::from_secs(30))]),
            ..RetryConfig::default()
        };
        let delays: Vec<u64> = (1..=3).map(|n| base_delay(&policy, n).as_secs()).collect();
        assert_eq!(delays, [2, 30, 30]);
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let delay = Duration::from_secs(10);
        assert_eq!(jittered(delay, 0.2, 0.0), Duration::from_secs(8));
        assert_eq!(jittered(delay, 0.2, 0.5), Duration::from_secs(10));
        assert!(jittered(delay, 0.2, 0.999_999) <= Duration::from_secs(12));
        assert_eq!(jittered(delay, 0.0, 0.9), delay);
    }

    #[test]
    fn retry_after_is_honoured_within_bounds() {
        let policy = RetryConfig {
            jitter: 0.0,
            max_retry_after: Span(Duration::from_secs(60)),
            ..RetryConfig::default()
        };
        assert_eq!(
            next_delay(&policy, 1, Some(Duration::from_secs(30)), 0.5),
            Duration::from_secs(30)
        );
        assert_eq!(
            next_delay(&policy, 1, Some(Duration::from_secs(9999)), 0.5),
            Duration::from_secs(60)
        );
        // A shorter Retry-After does not shorten the schedule.
        assert_eq!(
            next_delay(&policy, 3, Some(Duration::from_secs(1)), 0.5),
            Duration::from_secs(16)
        );
    }

    #[test]
    fn parses_both_forms_of_retry_after() {
        let now = humantime::parse_rfc3339("2026-11-22T10:00:00Z").unwrap();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 10:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
