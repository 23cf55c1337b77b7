//! A webhook receiver for tests: listens on 127.0.0.1, records every request, and
//! answers from a script (statuses, delays, or never).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Received {
    /// A header as text ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }
}

/// How a receiver answers one request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// This status, at once.
    Status(u16),
    /// This status with a `Retry-After` header of this many seconds.
    RetryAfter(u16, u64),
    /// This status after this delay.
    Slow(u16, Duration),
    /// Never answer.
    Never,
    /// This redirect status with this `Location`.
    Redirect(u16, String),
    /// This status once the receiver is released ([`Receiver::release`]); until then
    /// the request is held open, an attempt in flight for as long as the test wants.
    Held(u16),
    /// This status with this header (name, value).
    Header(u16, &'static str, String),
    /// The status this function gives the request's headers.
    By(fn(&HeaderMap) -> u16),
}

#[derive(Clone)]
struct Script {
    answers: Arc<Mutex<VecDeque<Answer>>>,
    otherwise: Answer,
    tx: mpsc::UnboundedSender<Received>,
    released: tokio::sync::watch::Receiver<bool>,
}

/// A running receiver.
pub struct Receiver {
    /// Where it listens.
    pub addr: SocketAddr,
    rx: mpsc::UnboundedReceiver<Received>,
    release: tokio::sync::watch::Sender<bool>,
    _server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// A receiver that answers 200 to everything.
    pub async fn ok() -> Receiver {
        Receiver::scripted(vec![], Answer::Status(200)).await
    }

    /// A receiver that gives `answers` in order, then `otherwise` forever.
    pub async fn scripted(answers: Vec<Answer>, otherwise: Answer) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Receiver::on(listener, answers, otherwise).await
    }

    /// A scripted receiver on a listener of the caller's (a port chosen in advance).
    pub async fn on(listener: tokio::net::TcpListener, answers: Vec<Answer>, otherwise: Answer) -> Receiver {
        let (tx, rx) = mpsc::unbounded_channel();
        let (release, released) = tokio::sync::watch::channel(false);
        let script = Script {
            answers: Arc::new(Mutex::new(answers.into())),
            otherwise,
            tx,
            released,
        };
        // A receiver takes what a real one would: an event with a large image is well
        // past axum's default 2 MB.
        let app = axum::Router::new()
            .fallback(answer)
            .layer(axum::extract::DefaultBodyLimit::max(64 << 20))
            .with_state(script);
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            addr,
            rx,
            release,
            _server: server,
        }
    }

    /// The URL to configure as a destination.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// The next request, waiting at most 10 seconds.
    pub async fn next(&mut self) -> Received {
        self.within(Duration::from_secs(10))
            .await
            .expect("the receiver got nothing within 10 s")
    }

    /// The next request, if one comes within `limit`.
    pub async fn within(&mut self, limit: Duration) -> Option<Received> {
        tokio::time::timeout(limit, self.rx.recv()).await.ok().flatten()
    }

    /// Lets every [`Answer::Held`] request, held now or later, be answered.
    pub fn release(&self) {
        let _ = self.release.send(true);
    }

    /// Receives until every key of `expected` has arrived (each request's JSON body
    /// carries its event's `key`, which must also be its `webhook-id`), waiting at most
    /// `patience` for each request; the copies that arrived, by key. Fails on a key
    /// that was never expected (an event delivered without an acknowledgement).
    pub async fn arrivals(
        &mut self,
        expected: &std::collections::BTreeSet<String>,
        patience: Duration,
    ) -> std::collections::BTreeMap<String, usize> {
        let mut arrived: std::collections::BTreeMap<String, usize> = Default::default();
        while !expected.iter().all(|key| arrived.contains_key(key)) {
            let Some(request) = self.within(patience).await else {
                let missing: Vec<_> = expected.iter().filter(|k| !arrived.contains_key(*k)).take(10).collect();
                panic!(
                    "{} acknowledged events never arrived, e.g. {missing:?}",
                    expected.len() - arrived.len()
                );
            };
            let key = request.json()["key"].as_str().unwrap().to_string();
            // Every copy of an event carries the same webhook-id: its key.
            assert_eq!(request.header("webhook-id"), key);
            *arrived.entry(key).or_default() += 1;
        }
        let unacknowledged: Vec<&String> = arrived.keys().filter(|key| !expected.contains(*key)).collect();
        assert!(
            unacknowledged.is_empty(),
            "events arrived without an acknowledgement: {unacknowledged:?}"
        );
        arrived
    }

    /// A request that already arrived, without waiting.
    pub fn try_next(&mut self) -> Option<Received> {
        self.rx.try_recv().ok()
    }
}

/// An address nothing listens on (yet): a receiver that is down, to be brought up
/// later with [`Receiver::on`] on a listener bound to it.
pub fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

async fn answer(State(script): State<Script>, headers: HeaderMap, body: Bytes) -> Response {
    let answer = script
        .answers
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| script.otherwise.clone());
    let answer = match answer {
        Answer::By(judge) => Answer::Status(judge(&headers)),
        answer => answer,
    };
    let _ = script.tx.send(Received { headers, body });
    let status = |code: u16| StatusCode::from_u16(code).unwrap();
    match answer {
        Answer::Status(code) => (status(code), "answered").into_response(),
        Answer::RetryAfter(code, seconds) => {
            (status(code), [("retry-after", seconds.to_string())], "later").into_response()
        }
        Answer::Slow(code, delay) => {
            tokio::time::sleep(delay).await;
            (status(code), "slowly").into_response()
        }
        Answer::Never => std::future::pending().await,
        Answer::Redirect(code, location) => (status(code), [("location", location)], "moved").into_response(),
        Answer::Header(code, name, value) => (status(code), [(name, value)], "answered").into_response(),
        Answer::By(_) => unreachable!("judged above"),
        Answer::Held(code) => {
            let mut released = script.released.clone();
            let _ = released.wait_for(|released| *released).await;
            (status(code), "released").into_response()
        }
    }
}
