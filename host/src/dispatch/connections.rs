//! A lane's own connections to its receiver: HTTP/1.1 keep-alive connections to one
//! origin, taken and given back by the lane's attempts.
//!
//! Each lane sends to one URL, so its connections need no pool keyed by origin: a
//! stack of idle connections under an uncontended lock is all the bookkeeping. A
//! shared pooled client (hyper-util's) hashed the origin, locked the shared pool and
//! moved its large request future several times per delivery: 10,000 instructions of
//! the 112,000 Weir spent per event with no filter (docs/BENCHMARKS.md).
//!
//! What the shared client did that a delivery needs is kept: the `Host` header and an
//! origin-form request line; a request that a reused connection closed under goes
//! again on a new connection (a receiver closing an idle keep-alive connection is
//! normal, not a failed attempt: [`Connections::send`] says when); connections idle
//! for [`IDLE_TIMEOUT`] are closed ([`Connections::close_idle`], which the lane calls).
//!
//! A connection is a task of its own (hyper's connection future, spawned when it is
//! made), owned by its [`SendRequest`]: when the lane drops a connection, or the lane
//! itself ends and drops the stack, the task finishes its exchange and ends.

use std::error::Error as StdError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HOST, HeaderValue};
use hyper::{HeaderMap, Method, Request, Response, Uri};
use tower_service::Service;

use super::chunks::Chunks;
use super::client::{ClientKind, Tls};

/// How long an idle connection to a receiver stays open for the next delivery.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a connection must have been idle for a request on it to be sent again,
/// on a new connection, when the connection closes under it ([`Connections::send`]).
pub const REPLAY_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No connection could be made (refused, unresolvable, not allowed, TLS).
    #[error("cannot connect: {0}")]
    Connect(#[source] Box<dyn StdError + Send + Sync>),
    /// The connection failed while the request was sent or answered.
    #[error("request failed: {0}")]
    Request(#[source] hyper::Error),
}

/// One lane's connections to its destination's origin.
pub struct Connections {
    connector: Tls,
    /// What the connector allows, and trusts.
    kind: ClientKind,
    /// The destination URL: where connections go (its scheme, host and port).
    url: Uri,
    /// The `Host` header requests carry, unless the destination sets its own.
    host: HeaderValue,
    /// The request line's target: the URL's path and query.
    target: Uri,
    /// Idle connections, the most recently used last (taken first: the likeliest to
    /// be still open), each with when it became idle.
    idle: Mutex<Vec<(SendRequest<Full<Chunks>>, Instant)>>,
    /// A reused connection of this receiver closed under a request once: copies are
    /// kept for every request on a reused connection from then on.
    closes_under: AtomicBool,
}

/// Whether a request failed because its connection closed before any answer: not
/// sent at all, the connection ending before a whole answer came, or reset.
fn closed_under(error: &hyper::Error) -> bool {
    if error.is_canceled() || error.is_incomplete_message() {
        return true;
    }
    let mut cause = error.source();
    while let Some(inner) = cause {
        if let Some(io) = inner.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionAborted
            );
        }
        cause = inner.source();
    }
    false
}

/// A connection lent to one exchange. Given back ([`Lease::release`]) once the
/// answer was read to its end; dropped otherwise, which closes it.
pub struct Lease<'a> {
    connections: &'a Connections,
    sender: SendRequest<Full<Chunks>>,
}

impl Lease<'_> {
    /// Gives the connection back for the next request, when its answer was read to
    /// the end (a connection with an answer half read cannot carry another).
    pub fn release(self, answer_read: bool) {
        if answer_read && !self.sender.is_closed() {
            self.connections.idle().push((self.sender, Instant::now()));
        }
    }
}

impl Connections {
    /// Connections to `url`'s origin through `connector` (which decides what may be
    /// reached, and speaks TLS for `https`), a connector of this `kind`.
    pub fn new(connector: Tls, url: &Uri, kind: ClientKind) -> Connections {
        let hostname = url.host().unwrap_or_default();
        let default_port = match url.scheme_str() {
            Some("https") => 443,
            _ => 80,
        };
        let host = match url.port_u16() {
            Some(port) if port != default_port => format!("{hostname}:{port}"),
            _ => hostname.to_string(),
        };
        let target = match url.path_and_query() {
            Some(path) if path.as_str() != "/" => Uri::from(path.clone()),
            _ => Uri::from_static("/"),
        };
        Connections {
            connector,
            kind,
            url: url.clone(),
            host: HeaderValue::try_from(host).expect("a URI's host and port are a valid header value"),
            target,
            idle: Mutex::new(Vec::new()),
            closes_under: AtomicBool::new(false),
        }
    }

    /// Whether these are connections to `url` through a connector of this `kind`.
    pub fn serves(&self, url: &Uri, kind: &ClientKind) -> bool {
        self.url == *url && self.kind == *kind
    }

    /// POSTs `body` with `headers` to the destination URL on an idle connection or a
    /// new one, and returns the answer's head with the connection lent until the
    /// answer has been read.
    ///
    /// A reused connection can close under a request: a receiver ends idle keep-alive
    /// connections when it likes, and one may do so as a request is written to it. The
    /// request then goes once more on a new connection rather than count as a failed
    /// attempt: it carries its `webhook-id`, which is what receivers deduplicate by
    /// (as HTTP clients replay requests that carry an idempotency key), and a failed
    /// attempt would only send it again later. A request the connection never took
    /// comes back whole; one it took is sent again from a copy, kept when the
    /// connection had been idle for [`REPLAY_AFTER_IDLE`] (receivers close idle
    /// connections after seconds), or always once a connection of this receiver has
    /// closed under a request (one that closes connections after answers without
    /// saying so). Copying the headers of every request would cost a sixtieth of
    /// Weir's work per event.
    pub async fn send(&self, headers: HeaderMap, body: Chunks) -> Result<(Response<Incoming>, Lease<'_>), SendError> {
        let mut headers = headers;
        // A `Host` the destination's own headers set is kept (virtual hosting behind
        // an address).
        headers.entry(HOST).or_insert_with(|| self.host.clone());
        loop {
            let (mut sender, idle_for) = match self.take_idle().await {
                Some((sender, idle_for)) => (sender, Some(idle_for)),
                None => (self.connect().await?, None),
            };
            let copy = idle_for
                .is_some_and(|idle_for| idle_for >= REPLAY_AFTER_IDLE || self.closes_under.load(Ordering::Relaxed))
                .then(|| headers.clone());
            let mut request = Request::new(Full::new(body.clone()));
            *request.method_mut() = Method::POST;
            *request.uri_mut() = self.target.clone();
            *request.headers_mut() = headers;
            let mut error = match sender.try_send_request(request).await {
                Ok(response) => {
                    let lease = Lease {
                        connections: self,
                        sender,
                    };
                    return Ok((response, lease));
                }
                Err(error) => error,
            };
            let closed = idle_for.is_some() && closed_under(error.error());
            if closed {
                self.closes_under.store(true, Ordering::Relaxed);
            }
            headers = match (error.take_message(), copy) {
                (Some(unsent), _) if idle_for.is_some() => unsent.into_parts().0.headers,
                (_, Some(copy)) if closed => copy,
                _ => return Err(SendError::Request(error.into_error())),
            };
        }
    }

    /// Closes the connections idle for [`IDLE_TIMEOUT`]; when the next one will be, if
    /// any is idle.
    pub fn close_idle(&self, now: Instant) -> Option<Instant> {
        let mut idle = self.idle();
        // The stack is in the order connections became idle: the expired ones first.
        let expired = idle
            .iter()
            .take_while(|(_, since)| now.saturating_duration_since(*since) >= IDLE_TIMEOUT)
            .count();
        idle.drain(..expired);
        idle.first().map(|(_, since)| *since + IDLE_TIMEOUT)
    }

    /// How many connections are idle.
    pub fn idle_count(&self) -> usize {
        self.idle().len()
    }

    /// The most recently used idle connection that is still open and ready, and how
    /// long it had been idle.
    async fn take_idle(&self) -> Option<(SendRequest<Full<Chunks>>, Duration)> {
        loop {
            let (mut sender, since) = self.idle().pop()?;
            let idle_for = since.elapsed();
            if idle_for >= IDLE_TIMEOUT {
                // Every other idle connection has waited longer still.
                self.idle().clear();
                return None;
            }
            if sender.is_ready() {
                return Some((sender, idle_for));
            }
            // Given back once its answer was read: ready as soon as its task has seen
            // the end of that answer, or closed.
            if !sender.is_closed() && sender.ready().await.is_ok() {
                return Some((sender, idle_for));
            }
        }
    }

    /// A new connection, its task spawned.
    async fn connect(&self) -> Result<SendRequest<Full<Chunks>>, SendError> {
        let mut connector = self.connector.clone();
        std::future::poll_fn(|cx| connector.poll_ready(cx))
            .await
            .map_err(SendError::Connect)?;
        let io = connector.call(self.url.clone()).await.map_err(SendError::Connect)?;
        let (sender, connection) = http1::handshake(io)
            .await
            .map_err(|error| SendError::Connect(Box::new(error)))?;
        // Owned by `sender` (see the module's docs); its error, if any, is the
        // exchange's, reported by the attempt.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<(SendRequest<Full<Chunks>>, Instant)>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use bytes::Bytes;
    use http_body_util::BodyExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio::sync::mpsc;

    use super::*;
    use crate::dispatch::client::Clients;
    use crate::dispatch::guard::OwnListeners;

    /// When the test receiver closes a connection.
    #[derive(Clone, Copy, PartialEq)]
    enum Close {
        /// Only when the client does.
        Never,
        /// Right after each answer, without saying so.
        AfterAnswer,
        /// On a connection's second request, unanswered.
        OnSecond,
    }

    /// A receiver written on bare TCP, so that the test sees what went over the wire:
    /// each request's head goes to the channel; each is answered with `answer`, and
    /// the connection closed as `close` says. Counts connections.
    async fn receiver(answer: &'static str, close: Close) -> (Uri, Arc<AtomicUsize>, mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url: Uri = format!("http://{}/hooks/in?x=1", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let (heads, received) = mpsc::channel(1024);
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let heads = heads.clone();
                tokio::spawn(async move {
                    let mut buffer = Vec::new();
                    let mut requests = 0;
                    loop {
                        let mut chunk = [0u8; 4096];
                        let Ok(read) = socket.read(&mut chunk).await else {
                            return;
                        };
                        if read == 0 {
                            return;
                        }
                        buffer.extend_from_slice(&chunk[..read]);
                        // Requests here carry a content-length body of "hi".
                        while let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                            if buffer.len() < end + 4 + 2 {
                                break;
                            }
                            let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
                            buffer.drain(..end + 4 + 2);
                            let _ = heads.try_send(head);
                            requests += 1;
                            if close == Close::OnSecond && requests == 2 {
                                return;
                            }
                            if socket.write_all(answer.as_bytes()).await.is_err() {
                                return;
                            }
                            if close == Close::AfterAnswer {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (url, accepted, received)
    }

    fn connections(url: &Uri) -> Connections {
        let connector = Clients::build(Arc::new(OwnListeners::default())).of(true, None);
        Connections::new(connector, url, (true, None))
    }

    fn request() -> (HeaderMap, Chunks) {
        let mut headers = HeaderMap::new();
        headers.insert(hyper::header::CONTENT_LENGTH, HeaderValue::from_static("2"));
        (headers, Chunks::from(Bytes::from_static(b"hi")))
    }

    /// Sends one request and reads its answer to the end, as an attempt does.
    async fn exchange(connections: &Connections) -> (u16, String) {
        let (response, lease) = connections.send(request().0, request().1).await.unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        lease.release(true);
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

    #[tokio::test]
    async fn requests_go_in_origin_form_with_the_host_and_reuse_one_connection() {
        let (url, accepted, mut heads) = receiver(OK, Close::Never).await;
        let connections = connections(&url);
        for _ in 0..3 {
            assert_eq!(exchange(&connections).await, (200, "ok".into()));
            let head = heads.recv().await.unwrap();
            let host = url.authority().unwrap().as_str();
            assert!(head.starts_with("POST /hooks/in?x=1 HTTP/1.1\r\n"), "{head}");
            assert!(head.to_ascii_lowercase().contains(&format!("host: {host}")), "{head}");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "one keep-alive connection");
        assert_eq!(connections.idle_count(), 1);
    }

    #[tokio::test]
    async fn a_host_header_the_destination_sets_is_the_one_sent() {
        // Virtual hosting behind an address: the destination's `Host` wins over the URL's.
        let (url, _accepted, mut heads) = receiver(OK, Close::Never).await;
        let connections = connections(&url);
        let (mut headers, body) = request();
        headers.insert(HOST, HeaderValue::from_static("hooks.example.test"));
        let (response, lease) = connections.send(headers, body).await.unwrap();
        response.into_body().collect().await.unwrap();
        lease.release(true);
        let head = heads.recv().await.unwrap().to_ascii_lowercase();
        let hosts: Vec<&str> = head.lines().filter(|line| line.starts_with("host:")).collect();
        assert_eq!(hosts, ["host: hooks.example.test"], "{head}");
    }

    #[tokio::test]
    async fn a_request_on_an_idle_connection_closed_under_it_goes_again_on_a_new_one() {
        // The receiver takes the second request of a connection and closes it without
        // an answer, as one ending an idle keep-alive connection just then does.
        let (url, accepted, mut heads) = receiver(OK, Close::OnSecond).await;
        let connections = connections(&url);
        assert_eq!(exchange(&connections).await, (200, "ok".into()));
        tokio::time::sleep(REPLAY_AFTER_IDLE).await;
        assert_eq!(exchange(&connections).await, (200, "ok".into()));
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
        // The request arrived twice: on the old connection, then on the new one.
        for _ in 0..3 {
            assert!(heads.recv().await.unwrap().starts_with("POST /hooks/in?x=1 "));
        }
        // A receiver that did this once has a copy kept for every request on a reused
        // connection, however briefly idle.
        assert_eq!(exchange(&connections).await, (200, "ok".into()));
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_receiver_closing_each_connection_after_its_answer_gets_every_request() {
        // The connection closes after each answer; the next request, sent at once,
        // finds it closed, or has it close under it: handed back unsent, or (the
        // first time) lost, after which every request on a reused connection has a
        // copy to go again with.
        let (url, accepted, _heads) = receiver(OK, Close::AfterAnswer).await;
        let connections = connections(&url);
        let mut failed = 0;
        for _ in 0..300 {
            match connections.send(request().0, request().1).await {
                Ok((response, lease)) => {
                    response.into_body().collect().await.unwrap();
                    lease.release(true);
                }
                // Written just before the close was seen, on a connection idle for
                // less than REPLAY_AFTER_IDLE, before any had closed under a request.
                Err(SendError::Request(_)) => failed += 1,
                Err(error) => panic!("{error}"),
            }
        }
        assert!(failed <= 1, "{failed} of 300 requests failed");
        // Each answer came on a connection of its own.
        assert!(accepted.load(Ordering::SeqCst) >= 300 - failed);
    }

    #[tokio::test]
    async fn a_connection_whose_answer_was_not_read_to_the_end_is_not_used_again() {
        let (url, accepted, _heads) = receiver(OK, Close::Never).await;
        let connections = connections(&url);
        let (_response, lease) = connections.send(request().0, request().1).await.unwrap();
        lease.release(false);
        assert_eq!(connections.idle_count(), 0);
        assert_eq!(exchange(&connections).await, (200, "ok".into()));
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn idle_connections_close_after_the_idle_timeout() {
        let (url, accepted, _heads) = receiver(OK, Close::Never).await;
        let connections = connections(&url);
        exchange(&connections).await;
        let now = Instant::now();
        let due = connections.close_idle(now).expect("one idle connection");
        assert!(due > now && due <= now + IDLE_TIMEOUT);
        assert_eq!(connections.close_idle(now + IDLE_TIMEOUT), None);
        assert_eq!(connections.idle_count(), 0);
        exchange(&connections).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_connect_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url: Uri = format!("http://{}/", listener.local_addr().unwrap()).parse().unwrap();
        drop(listener);
        let error = connections(&url)
            .send(request().0, request().1)
            .await
            .err()
            .expect("nothing listens");
        assert!(matches!(error, SendError::Connect(_)), "{error}");
        let cause = crate::dispatch::attempt::root_cause(&error);
        assert!(cause.contains("refused"), "{cause}");
    }
}
