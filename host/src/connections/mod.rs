//! The connection layer under both listeners: how many connections each may hold, how
//! long a client may take to send its headers (or sit idle between requests), and what
//! happens to requests refused before they reach a handler.
//!
//! Without it, a client that opens connections and sends nothing holds a file
//! descriptor each for ever: enough of them and neither ingest nor `/healthz` can accept
//! a connection at all. Here each listener has its own cap (the admin listener keeps a
//! reserve of its own, so health checks answer while ingest is full), a connection over
//! the cap is answered 503 in JSON and closed at once, hyper's header-read timeout
//! closes slow and idle connections, and requests hyper refuses while parsing (a bad
//! `Content-Length`, a bare LF, a URI or headers too long) are counted by reason in
//! `weir_connections_rejected_total`.
//!
//! # Layout
//!
//! - this file: the accept loop and each connection's task.
//! - [`descriptors`]: raising the process's file-descriptor limit at start.
//! - [`tls`]: the ingest listener's certificate, reloaded when renewed.
//! - [`json_errors`]: JSON bodies for the errors hyper and axum answer with none.

pub mod descriptors;
pub mod json_errors;
pub mod tls;

use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::json_errors::JsonErrors;
use crate::metrics::Metrics;

/// What one listener allows its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// The listener's name in metrics and logs (`ingest`, `ingest-unix`, `admin`).
    pub listener: &'static str,
    /// Connections open at once.
    pub max_connections: usize,
    /// How long a request's headers may take, and how long a connection may sit idle
    /// between requests.
    pub header_timeout: Duration,
    /// Most bytes of a request's line and headers.
    pub max_header_bytes: usize,
    /// Most headers in a request.
    pub max_headers: usize,
}

/// Connections over the cap being answered 503 at once: each holds a descriptor for at
/// most [`REFUSAL_WRITE`], and past this many more are closed without an answer.
const MAX_REFUSALS_IN_FLIGHT: usize = 64;

/// How long writing the 503 to a connection over the cap may take.
const REFUSAL_WRITE: Duration = Duration::from_secs(1);

/// What a connection over the cap hears before it is closed.
const OVER_CAPACITY: &str = "{\"error\":\"Weir has as many connections open as it allows on this listener \
(server.max_connections, or admin.max_connections); close idle connections or try again after Retry-After\"}";

/// Serves `router` on `listener` until `stop`, then lets connections finish the request
/// they are on (hyper's graceful shutdown) and returns once all have closed.
pub async fn serve<L>(
    mut listener: L,
    router: axum::Router,
    limits: ConnectionLimits,
    tls: Option<TlsAcceptor>,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) where
    L: Listener,
    L::Io: Send + Unpin + 'static,
{
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSALS_IN_FLIGHT));
    let builder = Arc::new(builder(&limits));
    let gauge = metrics.connections_open(limits.listener);
    let connections = TaskTracker::new();
    loop {
        // `Listener::accept` retries by itself when accepting fails (out of
        // descriptors, say), after a pause.
        let (io, _) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            metrics.connection_rejected(limits.listener, "over_capacity");
            if let Ok(refusal) = refusing.clone().try_acquire_owned() {
                connections.spawn(async move {
                    let _refusal = refusal;
                    refuse(io).await;
                });
            }
            continue;
        };
        let (builder, router, metrics, gauge, stop, tls) = (
            builder.clone(),
            router.clone(),
            metrics.clone(),
            gauge.clone(),
            stop.clone(),
            tls.clone(),
        );
        connections.spawn(async move {
            let _permit = permit;
            gauge.inc();
            let served = match tls {
                None => serve_http(&builder, io, router, &stop).await,
                // The handshake is bounded like the headers that follow it.
                Some(tls) => match tokio::time::timeout(limits.header_timeout, tls.accept(io)).await {
                    Ok(Ok(stream)) => serve_http(&builder, stream, router, &stop).await,
                    Ok(Err(error)) => {
                        metrics.connection_rejected(limits.listener, "tls_handshake");
                        tracing::debug!(listener = limits.listener, %error, "a TLS handshake failed");
                        Ok(())
                    }
                    Err(_) => {
                        metrics.connection_rejected(limits.listener, "header_timeout");
                        Ok(())
                    }
                },
            };
            gauge.dec();
            if let Err(error) = served
                && let Some(reason) = rejection(&error)
            {
                metrics.connection_rejected(limits.listener, reason);
                tracing::debug!(listener = limits.listener, reason, %error, "a request was refused while being read");
            }
        });
    }
    connections.close();
    connections.wait().await;
}

/// Serves HTTP on one connection until the client closes it, an error ends it, or
/// `stop` (then the request in progress finishes first).
async fn serve_http<I>(
    builder: &http1::Builder,
    io: I,
    router: axum::Router,
    stop: &CancellationToken,
) -> Result<(), hyper::Error>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let service = TowerToHyperService::new(router);
    let connection = builder.serve_connection(TokioIo::new(JsonErrors::new(io)), service);
    tokio::pin!(connection);
    tokio::select! {
        served = connection.as_mut() => served,
        () = stop.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    }
}

/// The HTTP settings every connection of a listener gets. HTTP/1.1 only: senders and
/// health checkers speak it, and serving HTTP/2 as well would mean sniffing each
/// connection's first bytes, a wait no header timeout covers.
fn builder(limits: &ConnectionLimits) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .max_headers(limits.max_headers);
    builder
}

/// Answers a connection over the cap with a 503 it can read, then closes it.
async fn refuse<I: tokio::io::AsyncWrite + Unpin>(mut io: I) {
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{OVER_CAPACITY}",
        OVER_CAPACITY.len()
    );
    let _ = tokio::time::timeout(REFUSAL_WRITE, async {
        io.write_all(answer.as_bytes()).await?;
        io.shutdown().await
    })
    .await;
}

/// Why hyper ended a connection, when it was a refusal of what the client sent rather
/// than the client going away.
fn rejection(error: &hyper::Error) -> Option<&'static str> {
    if error.is_parse_too_large() {
        Some("too_large")
    } else if error.is_parse() || error.is_parse_status() {
        Some("bad_request")
    } else if error.is_timeout() {
        Some("header_timeout")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_over_the_cap_hears_a_json_503() {
        let (mut client, server) = tokio::io::duplex(4096);
        refuse(server).await;
        let mut answer = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut client, &mut answer)
            .await
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
        let body = answer.split("\r\n\r\n").nth(1).unwrap();
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(json["error"].as_str().unwrap().contains("max_connections"));
    }
}
