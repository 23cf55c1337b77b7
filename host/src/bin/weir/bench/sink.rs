//! The benchmark's receiver: answers 200 (after a delay, for paths configured slow),
//! and records when each event arrives relative to when the load generator sent it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Header the load generator stamps with its send time (nanoseconds since [`epoch`]);
/// Weir carries it to receivers as metadata (`x-weir-meta-sent`).
pub const SENT_HEADER: &str = "x-weir-meta-sent";

/// The benchmark's clock origin, shared by the load generator and the sink.
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds since [`epoch`].
pub fn now_ns() -> u64 {
    epoch().elapsed().as_nanos() as u64
}

/// What arrived at one path.
#[derive(Debug, Default, Clone)]
pub struct Arrivals {
    /// Events received (a batch request carries several).
    pub count: u64,
    /// Requests received.
    pub requests: u64,
    /// Send-to-arrival latencies, in microseconds.
    pub latencies_us: Vec<u32>,
}

/// A running sink.
pub struct Sink {
    /// Where it listens.
    pub addr: SocketAddr,
    arrivals: Arc<Mutex<HashMap<String, Arrivals>>>,
    marker: Arc<Marker>,
    stop: CancellationToken,
}

/// The first arrival of a body containing a pattern (the hot-swap scenario's new
/// version).
#[derive(Default)]
struct Marker {
    pattern: Mutex<Option<Vec<u8>>>,
    seen: Mutex<Option<Instant>>,
}

impl Sink {
    /// Starts a sink; requests to `slow_path` are answered after `slow_delay`.
    pub async fn start(slow_path: Option<(String, Duration)>) -> std::io::Result<Sink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let arrivals: Arc<Mutex<HashMap<String, Arrivals>>> = Arc::default();
        let marker: Arc<Marker> = Arc::default();
        let stop = CancellationToken::new();
        let (record, slow, token, mark) = (arrivals.clone(), Arc::new(slow_path), stop.clone(), marker.clone());
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    _ = token.cancelled() => return,
                };
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let (record, slow, mark) = (record.clone(), slow.clone(), mark.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let (record, slow, mark) = (record.clone(), slow.clone(), mark.clone());
                        async move { Ok::<_, Infallible>(answer(request, &record, &slow, &mark).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Sink {
            addr,
            arrivals,
            marker,
            stop,
        })
    }

    /// Starts watching for the first body containing `pattern`.
    pub fn watch_for(&self, pattern: &[u8]) {
        *self.marker.pattern.lock().unwrap_or_else(PoisonError::into_inner) = Some(pattern.to_vec());
        *self.marker.seen.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// When the first body containing the watched pattern arrived.
    pub fn marker_seen(&self) -> Option<Instant> {
        *self.marker.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What arrived so far, by path.
    pub fn arrivals(&self) -> HashMap<String, Arrivals> {
        self.arrivals.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Forgets what arrived (between warm-up and measurement).
    pub fn reset(&self) {
        self.arrivals.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn answer(
    request: Request<Incoming>,
    record: &Mutex<HashMap<String, Arrivals>>,
    slow: &Option<(String, Duration)>,
    marker: &Marker,
) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_string();
    let sent = request
        .headers()
        .get(SENT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let batched = request.headers().contains_key("x-weir-batch-size");
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let pattern = marker.pattern.lock().unwrap_or_else(PoisonError::into_inner).clone();
    if let Some(pattern) = pattern
        && body.windows(pattern.len()).any(|w| w == pattern.as_slice())
    {
        let mut seen = marker.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.get_or_insert_with(Instant::now);
    }
    let now = now_ns();
    let latency_us = |sent: u64| (now.saturating_sub(sent) / 1000).min(u32::MAX as u64) as u32;
    // A batch (`x-weir-batch-size`) is a JSON array of events, each with its metadata.
    let sents: Vec<Option<u64>> = if batched { batch_sent_times(&body) } else { vec![sent] };
    {
        let mut record = record.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = record.entry(path.clone()).or_default();
        entry.requests += 1;
        entry.count += sents.len() as u64;
        entry.latencies_us.extend(sents.into_iter().flatten().map(latency_us));
    }
    if let Some((slow_path, delay)) = slow
        && *slow_path == path
    {
        tokio::time::sleep(*delay).await;
    }
    Response::new(Full::new(Bytes::from_static(b"ok")))
}

/// The send times of a batch's events (their `sent` metadata), one entry per event.
fn batch_sent_times(body: &[u8]) -> Vec<Option<u64>> {
    #[derive(serde::Deserialize)]
    struct Element {
        #[serde(default)]
        metadata: std::collections::HashMap<String, String>,
    }
    let elements: Vec<Element> = serde_json::from_slice(body).unwrap_or_default();
    elements
        .into_iter()
        .map(|element| element.metadata.get("sent").and_then(|v| v.parse().ok()))
        .collect()
}
