//! One delivery attempt: send the request, read the start of the answer, classify it.

use std::time::{Duration, Instant, SystemTime};

use http_body_util::BodyExt;
use hyper::body::Body;
use tokio::io::AsyncWriteExt;

use super::batch::Batch;
use super::connections::{Connections, SendError};
use super::destination::{Destination, Target};
use super::pace::{ALLOWED_RATE_HEADER, AllowedRate};
use super::request::{Sending, body, headers};
use super::retry::{Disposition, disposition, parse_retry_after};
use crate::outbox::{Attempt, Delivery};

/// Bytes of a response body kept in the attempt record: enough to read an error
/// message, bounded so a receiver answering with megabytes costs nothing.
pub const RESPONSE_PREFIX: usize = 1024;

/// An attempt's record, what it means, and the receiver's `Retry-After`.
#[derive(Debug)]
pub struct Outcome {
    /// The record of the attempt.
    pub attempt: Attempt,
    /// Delivered, retry, or give up.
    pub disposition: Disposition,
    /// How long the receiver asked to wait.
    pub retry_after: Option<Duration>,
    /// The rate the receiver said it accepts (`WebHook-Allowed-Rate`).
    pub allowed_rate: Option<AllowedRate>,
}

/// Makes one attempt of a delivery: on `connections` (the lane's, to the destination
/// URL; `None` for a `log:` destination).
pub async fn attempt(connections: Option<&Connections>, destination: &Destination, delivery: &Delivery) -> Outcome {
    let at = SystemTime::now();
    let started = Instant::now();
    if let Target::Log = destination.target {
        return log(destination, delivery, at, started).await;
    }
    let Some(connections) = connections else {
        return unconnected(at, started);
    };
    let body = body(&delivery.event, destination);
    let sending = Sending {
        attempt: delivery.attempts + 1,
        at,
        accepted_at: delivery.accepted_at,
    };
    let headers = headers(&delivery.event, destination, &body, sending);
    send(connections, destination, body.bytes, headers, at, started).await
}

/// Makes one attempt of a batch of deliveries: one request for all of them, its
/// record marked with the batch's id. (A `log:` destination is never batched: the
/// config refuses it.)
pub async fn attempt_batch(connections: Option<&Connections>, destination: &Destination, batch: &Batch) -> Outcome {
    let at = SystemTime::now();
    let started = Instant::now();
    let Some(connections) = connections else {
        return unconnected(at, started);
    };
    let headers = batch.headers(destination, at);
    let mut outcome = send(connections, destination, batch.body.clone(), headers, at, started).await;
    outcome.attempt.batch = Some(batch.id.clone());
    outcome
}

/// Sends a request to the destination URL and reads the start of its answer, within
/// the destination's timeout, and says what the answer means.
async fn send(
    connections: &Connections,
    destination: &Destination,
    body: super::chunks::Chunks,
    headers: hyper::HeaderMap,
    at: SystemTime,
    started: Instant,
) -> Outcome {
    let exchange = async {
        let (response, lease) = connections.send(headers, body).await?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(hyper::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| parse_retry_after(value, SystemTime::now()));
        let allowed_rate = response
            .headers()
            .get(ALLOWED_RATE_HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(AllowedRate::parse);
        let location = response
            .headers()
            .get(hyper::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        let mut body = response.into_body();
        let mut prefix = Vec::new();
        let mut cut = None;
        let mut read = body.is_end_stream();
        while !read && prefix.len() < RESPONSE_PREFIX {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(chunk) = frame.data_ref() {
                        prefix.extend_from_slice(&chunk[..chunk.len().min(RESPONSE_PREFIX - prefix.len())]);
                    }
                    read = body.is_end_stream();
                }
                Some(Err(error)) => {
                    cut = Some(root_cause(&error));
                    break;
                }
                None => read = true,
            }
        }
        // A connection whose answer was not read to its end (a long body, or one that
        // broke off) is closed rather than used again.
        lease.release(read);
        Ok::<_, SendError>((status, retry_after, allowed_rate, location, prefix, cut))
    };
    let answered = match tokio::time::timeout(destination.timeout, exchange).await {
        Ok(Ok(answered)) => answered,
        Ok(Err(error)) => {
            let error = match &error {
                SendError::Connect(_) => format!("cannot connect: {}", root_cause(&error)),
                SendError::Request(_) => format!("request failed: {}", root_cause(&error)),
            };
            return failed(at, started, error);
        }
        Err(_) => {
            return failed(
                at,
                started,
                format!("no answer within {} ms", destination.timeout.as_millis()),
            );
        }
    };
    let (status, retry_after, allowed_rate, location, prefix, cut) = answered;
    let disposition = disposition(Some(status), destination.retry.retry_client_errors);
    let error = match disposition {
        Disposition::Delivered => None,
        _ if (300..400).contains(&status) => Some(format!(
            "answered {status} (redirect to {}); redirects are not followed: configure the final URL",
            location.as_deref().unwrap_or("nowhere")
        )),
        _ => Some(format!("answered {status}")),
    };
    // The status decides; a body that breaks off is only worth noting.
    let mut response = String::from_utf8_lossy(&prefix).into_owned();
    if let Some(cut) = cut {
        response.push_str(&format!("[body cut off: {cut}]"));
    }
    Outcome {
        attempt: Attempt {
            at,
            status: Some(status),
            latency: started.elapsed(),
            error,
            response,
            batch: None,
        },
        disposition,
        retry_after,
        allowed_rate,
    }
}

/// An attempt of an HTTP destination given no connections to it: a lane always
/// gives them, so this is Weir's mistake, recorded as a failed attempt, not a panic.
fn unconnected(at: SystemTime, started: Instant) -> Outcome {
    failed(
        at,
        started,
        "no connections to the destination URL (a Weir bug: please report it)".into(),
    )
}

/// An attempt that got no answer.
fn failed(at: SystemTime, started: Instant, error: String) -> Outcome {
    Outcome {
        attempt: Attempt {
            at,
            status: None,
            latency: started.elapsed(),
            error: Some(error),
            response: String::new(),
            batch: None,
        },
        disposition: Disposition::Retryable,
        retry_after: None,
        allowed_rate: None,
    }
}

/// The `log:` line: `fields` with `"body"` last, the predictions as they are (they were
/// checked to be JSON when they entered Weir, so they are not parsed again), or `null`.
/// Line breaks between their tokens become spaces: one delivery, one line. (Inside a
/// JSON string a line break is always escaped, so none is touched there.)
fn log_line(fields: serde_json::Value, predictions: Option<&str>) -> String {
    let mut line = fields.to_string();
    line.pop(); // the object's closing brace
    line.push_str(",\"body\":");
    match predictions {
        Some(text) if text.contains(['\n', '\r']) => line.push_str(&text.trim().replace(['\n', '\r'], " ")),
        Some(text) => line.push_str(text.trim()),
        None => line.push_str("null"),
    }
    line.push_str("}\n");
    line
}

/// The innermost cause of an error: what an attempt's record says went wrong.
pub(crate) fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// The `log:` target: the delivery as one JSON line on stdout.
async fn log(destination: &Destination, delivery: &Delivery, at: SystemTime, started: Instant) -> Outcome {
    let event = &delivery.event;
    let attachments: Vec<_> = destination
        .sent(event)
        .map(|a| serde_json::json!({ "name": a.name, "content_type": a.content_type, "size": a.data.len() }))
        .collect();
    let line = serde_json::json!({
        "delivery": &*destination.name,
        "webhook-id": event.id,
        "route": event.route,
        "task": event.task.as_str(),
        "metadata": event.metadata.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
        "attachments": attachments,
    });
    let mut stdout = tokio::io::stdout();
    let written = stdout
        .write_all(log_line(line, destination.include_predictions.then_some(&*event.predictions)).as_bytes())
        .await;
    let _ = stdout.flush().await;
    Outcome {
        attempt: Attempt {
            at,
            status: None,
            latency: started.elapsed(),
            error: written.err().map(|e| format!("cannot write to stdout: {e}")),
            response: String::new(),
            batch: None,
        },
        disposition: Disposition::Delivered,
        retry_after: None,
        allowed_rate: None,
    }
}

#[cfg(test)]
mod tests {
    use super::log_line;

    #[test]
    fn a_log_line_is_one_line_of_json_with_the_predictions_as_they_came() {
        let fields = serde_json::json!({"delivery": "log", "route": "default"});
        let predictions = "{\r\n  \"predictions\": [\n {\"class\": \"a\\nb\"} ]\n}\n";
        let line = log_line(fields.clone(), Some(predictions));
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1, "{line:?}");
        let read: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            read["body"],
            serde_json::from_str::<serde_json::Value>(predictions).unwrap()
        );
        assert_eq!(read["route"], "default");
        let read: serde_json::Value = serde_json::from_str(&log_line(fields, None)).unwrap();
        assert!(read["body"].is_null());
    }
}
