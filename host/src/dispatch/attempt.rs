//! One delivery attempt: send the request, read the start of the answer, classify it.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::destination::{Destination, Target};
use super::request::{body, headers, is_image, is_mask};
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
}

/// Makes one attempt of a delivery.
pub async fn attempt(client: &reqwest::Client, destination: &Destination, delivery: &Delivery) -> Outcome {
    let at = SystemTime::now();
    let started = Instant::now();
    let url = match &destination.target {
        Target::Log => return log(destination, delivery, at, started).await,
        Target::Http(url) => url,
    };
    let body = body(&delivery.event, destination);
    let timestamp = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let headers = headers(&delivery.event, destination, &body, delivery.attempts + 1, timestamp);
    let sent = client
        .post(url.clone())
        .headers(headers)
        .timeout(destination.timeout)
        .body(body.bytes)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(error) => {
            let error = if error.is_timeout() {
                format!("no answer within {} ms", destination.timeout.as_millis())
            } else if error.is_connect() {
                format!("cannot connect: {}", root_cause(&error))
            } else {
                format!("request failed: {}", root_cause(&error))
            };
            return Outcome {
                attempt: Attempt {
                    at,
                    status: None,
                    latency: started.elapsed(),
                    error: Some(error),
                    response: String::new(),
                },
                disposition: Disposition::Retryable,
                retry_after: None,
            };
        }
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| parse_retry_after(value, SystemTime::now()));
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let mut prefix = Vec::new();
    let mut stream = response.bytes_stream();
    let mut read_error = None;
    while prefix.len() < RESPONSE_PREFIX {
        match stream.next().await {
            Some(Ok(chunk)) => prefix.extend_from_slice(&chunk[..chunk.len().min(RESPONSE_PREFIX - prefix.len())]),
            Some(Err(error)) => {
                read_error = Some(error);
                break;
            }
            None => break,
        }
    }
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
    let response_text = match read_error {
        Some(e) => format!("{}[body cut off: {}]", String::from_utf8_lossy(&prefix), root_cause(&e)),
        None => String::from_utf8_lossy(&prefix).into_owned(),
    };
    Outcome {
        attempt: Attempt {
            at,
            status: Some(status),
            latency: started.elapsed(),
            error,
            response: response_text,
        },
        disposition,
        retry_after,
    }
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// The `log:` target: the delivery as one JSON line on stdout.
async fn log(destination: &Destination, delivery: &Delivery, at: SystemTime, started: Instant) -> Outcome {
    let event = &delivery.event;
    let body: serde_json::Value = serde_json::from_str(&event.predictions).unwrap_or(serde_json::Value::Null);
    let attachments: Vec<_> = event
        .attachments
        .iter()
        .filter(|a| (!is_image(a) || destination.include_image) && (!is_mask(a) || destination.include_masks))
        .map(|a| serde_json::json!({ "name": a.name, "content_type": a.content_type, "size": a.data.len() }))
        .collect();
    let line = serde_json::json!({
        "delivery": &*destination.name,
        "webhook-id": event.id,
        "route": event.route,
        "task": event.task.as_str(),
        "metadata": event.metadata.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
        "attachments": attachments,
        "body": body,
    });
    let mut stdout = tokio::io::stdout();
    let written = stdout.write_all(format!("{line}\n").as_bytes()).await;
    let _ = stdout.flush().await;
    Outcome {
        attempt: Attempt {
            at,
            status: None,
            latency: started.elapsed(),
            error: written.err().map(|e| format!("cannot write to stdout: {e}")),
            response: String::new(),
        },
        disposition: Disposition::Delivered,
        retry_after: None,
    }
}
