//! The load generator: closed loop (N senders, each sending as soon as its last
//! request was answered) for throughput, and open loop (a fixed rate, each latency
//! measured from the time the request was due, so that a stall shows as latency
//! instead of being hidden by a slower send rate) for latency.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use super::sink::{SENT_HEADER, epoch};

/// How requests are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// This many senders, back to back.
    Closed(usize),
    /// This many requests per second, whatever the answers' speed.
    Open(f64),
}

/// What to send.
#[derive(Debug, Clone)]
pub struct Load {
    /// Where: each sender sends to one of these, in turn.
    pub targets: Vec<SocketAddr>,
    /// The path (`/ingest/bench`).
    pub path: String,
    /// The `Content-Type`.
    pub content_type: String,
    /// The body.
    pub body: Bytes,
    /// How fast.
    pub pace: Pace,
}

/// What the load generator saw.
#[derive(Debug, Default, Clone)]
pub struct Sent {
    /// Requests answered 2xx.
    pub ok: u64,
    /// Requests answered otherwise, or failed.
    pub errors: u64,
    /// Response latencies of the 2xx answers, in microseconds.
    pub latencies_us: Vec<u32>,
}

/// Counters the progress line reads while a run goes.
#[derive(Debug, Default)]
pub struct Live {
    /// Requests answered 2xx so far.
    pub ok: AtomicU64,
    /// Failures so far.
    pub errors: AtomicU64,
}

type Sender = http1::SendRequest<Full<Bytes>>;

async fn connect(target: SocketAddr) -> std::io::Result<Sender> {
    let stream = TcpStream::connect(target).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(connection);
    Ok(sender)
}

/// One request; its latency in microseconds when answered 2xx. `due` is when it
/// should have been sent (the open loop's schedule), else now.
async fn send(sender: &mut Option<Sender>, target: SocketAddr, load: &Load, due: Instant) -> Option<u32> {
    if sender.as_ref().is_none_or(|s| s.is_closed()) {
        *sender = connect(target).await.ok();
    }
    let connection = sender.as_mut()?;
    connection.ready().await.ok()?;
    let sent_ns = due.saturating_duration_since(epoch()).as_nanos() as u64;
    let request = Request::post(&load.path)
        .header(hyper::header::HOST, "bench")
        .header(hyper::header::CONTENT_TYPE, &load.content_type)
        .header(SENT_HEADER, sent_ns.to_string())
        .body(Full::new(load.body.clone()))
        .ok()?;
    let response = connection.send_request(request).await.ok()?;
    let ok = response.status().is_success();
    let _ = response.into_body().collect().await;
    ok.then(|| due.elapsed().as_micros().min(u32::MAX as u128) as u32)
}

/// Runs `load` for `duration`.
pub async fn run(load: Arc<Load>, duration: Duration, live: Arc<Live>) -> Sent {
    let until = Instant::now() + duration;
    let results = Arc::new(Mutex::new(Sent::default()));
    let mut workers = tokio::task::JoinSet::new();
    match load.pace {
        Pace::Closed(senders) => {
            for worker in 0..senders.max(1) {
                let (load, results, live) = (load.clone(), results.clone(), live.clone());
                let target = load.targets[worker % load.targets.len()];
                workers.spawn(async move {
                    let mut sender = None;
                    let mut mine = Sent::default();
                    while Instant::now() < until {
                        record(&mut mine, &live, send(&mut sender, target, &load, Instant::now()).await);
                    }
                    merge(&results, mine).await;
                });
            }
        }
        Pace::Open(rate) => {
            let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
            // Enough connections that a slow answer does not hold back the schedule.
            let (tx, rx) = async_channel(1 << 16);
            for worker in 0..64 {
                let (load, results, live, rx) = (load.clone(), results.clone(), live.clone(), rx.clone());
                let target = load.targets[worker % load.targets.len()];
                workers.spawn(async move {
                    let mut sender = None;
                    let mut mine = Sent::default();
                    while let Some(due) = rx.recv().await {
                        record(&mut mine, &live, send(&mut sender, target, &load, due).await);
                    }
                    merge(&results, mine).await;
                });
            }
            let start = Instant::now();
            let mut n: u32 = 0;
            loop {
                let due = start + interval * n;
                if due >= until {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                if tx.send(due).await.is_err() {
                    break;
                }
                n += 1;
            }
            drop(tx);
        }
    }
    while workers.join_next().await.is_some() {}
    Arc::try_unwrap(results).map(Mutex::into_inner).unwrap_or_default()
}

fn record(sent: &mut Sent, live: &Live, latency: Option<u32>) {
    match latency {
        Some(latency) => {
            sent.ok += 1;
            sent.latencies_us.push(latency);
            live.ok.fetch_add(1, Ordering::Relaxed);
        }
        None => {
            sent.errors += 1;
            live.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn merge(results: &Mutex<Sent>, mine: Sent) {
    let mut all = results.lock().await;
    all.ok += mine.ok;
    all.errors += mine.errors;
    all.latencies_us.extend(mine.latencies_us);
}

/// A multi-consumer channel of send times: a bounded tokio mpsc behind a mutex.
fn async_channel(size: usize) -> (tokio::sync::mpsc::Sender<Instant>, SharedReceiver) {
    let (tx, rx) = tokio::sync::mpsc::channel(size);
    (tx, SharedReceiver(Arc::new(Mutex::new(rx))))
}

#[derive(Clone)]
struct SharedReceiver(Arc<Mutex<tokio::sync::mpsc::Receiver<Instant>>>);

impl SharedReceiver {
    async fn recv(&self) -> Option<Instant> {
        self.0.lock().await.recv().await
    }
}
