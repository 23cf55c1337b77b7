//! `[storage.jetstream]`: NATS JetStream as the outbox, shared by several Weir
//! instances. Only read when `[storage] kind = "jetstream"`; the limits (`max_pending`,
//! `max_bytes`, `retention`, `retention_bytes`) are `[storage]`'s own, applied to the
//! streams so that every instance of the group shares them.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Secret, Span};

/// How to reach the NATS servers and what to name what Weir keeps there.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct JetStreamConfig {
    /// The servers, `nats://host:port` (or `tls://`); several for a cluster: the
    /// client connects to one and fails over to the others.
    pub servers: Vec<String>,
    /// A token the servers require (`${NATS_TOKEN}`).
    pub token: Option<Secret>,
    /// A user name the servers require, with `password`.
    pub user: Option<String>,
    /// The user's password (`${NATS_PASSWORD}`).
    pub password: Option<Secret>,
    /// A `.creds` file (JWT and NKey seed) for decentralized auth.
    pub credentials: Option<PathBuf>,
    /// Require TLS to the servers.
    pub tls: bool,
    /// PEM certificate authorities trusted for the servers' certificates, besides the
    /// system's.
    pub ca_file: Option<PathBuf>,
    /// A client certificate (PEM) for servers that verify clients, with `key_file`.
    pub cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub key_file: Option<PathBuf>,
    /// What the streams, subjects and consumers are named after: streams
    /// `NAME_DELIVERIES`, `NAME_DEAD`, `NAME_EVENTS`, `NAME_ATTEMPTS` (upper-cased),
    /// subjects `name.deliveries.DESTINATION`, consumers `name-DESTINATION`. Two
    /// groups of instances on one NATS server need two names.
    pub name: String,
    /// Copies of every stream in the cluster (1, 3 or 5): with 3, a node can fail
    /// without losing an acknowledged event. More than 1 needs a NATS cluster.
    pub replicas: usize,
    /// A sender's retry with the same `Idempotency-Key` within this long of the first
    /// is recognised as a duplicate (JetStream's de-duplication window; the server
    /// keeps every id of the window in memory).
    pub dedupe_window: Span,
    /// How long an instance may hold a delivery before JetStream gives it to another
    /// instance (the instance is presumed dead). Weir extends it while a delivery waits
    /// in a batch or is being sent; it must exceed every destination's `timeout`.
    pub ack_wait: Span,
    /// How long ingest waits for JetStream to acknowledge an event before answering
    /// 503 (the event may still have been stored: a retry is recognised).
    pub publish_timeout: Span,
}

impl Default for JetStreamConfig {
    fn default() -> Self {
        JetStreamConfig {
            servers: vec!["nats://127.0.0.1:4222".to_string()],
            token: None,
            user: None,
            password: None,
            credentials: None,
            tls: false,
            ca_file: None,
            cert_file: None,
            key_file: None,
            name: "weir".to_string(),
            replicas: 1,
            dedupe_window: Span(Duration::from_secs(600)),
            ack_wait: Span(Duration::from_secs(60)),
            publish_timeout: Span(Duration::from_secs(2)),
        }
    }
}

impl JetStreamConfig {
    /// What is wrong with these settings, as `(key, problem)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if self.servers.is_empty() {
            problems.push((
                "storage.jetstream.servers",
                "is empty: name at least one NATS server, nats://host:4222".to_string(),
            ));
        }
        for server in &self.servers {
            let scheme_ok = ["nats://", "tls://", "ws://", "wss://"]
                .iter()
                .any(|scheme| server.starts_with(scheme));
            if !scheme_ok || url::Url::parse(server).is_err() {
                problems.push((
                    "storage.jetstream.servers",
                    format!("{server:?} is not a NATS server address; write nats://host:4222 (or tls://host:4222)"),
                ));
            }
        }
        let valid_name = !self.name.is_empty()
            && self.name.len() <= 32
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid_name {
            problems.push((
                "storage.jetstream.name",
                format!(
                    "{:?} is not usable as a stream and subject name; use 1-32 letters, digits, _ or -",
                    self.name
                ),
            ));
        }
        if !matches!(self.replicas, 1 | 3 | 5) {
            problems.push((
                "storage.jetstream.replicas",
                format!("is {}; JetStream keeps 1, 3 or 5 copies", self.replicas),
            ));
        }
        if self.user.is_some() != self.password.is_some() {
            problems.push((
                "storage.jetstream.user",
                "and password go together: set both or neither".to_string(),
            ));
        }
        if self.token.is_some() && self.user.is_some() {
            problems.push((
                "storage.jetstream.token",
                "and user/password are two ways to sign in: choose one".to_string(),
            ));
        }
        if self.cert_file.is_some() != self.key_file.is_some() {
            problems.push((
                "storage.jetstream.cert_file",
                "and key_file go together: set both or neither".to_string(),
            ));
        }
        if self.dedupe_window.0 < Duration::from_secs(1) || self.dedupe_window.0 > Duration::from_secs(7 * 24 * 3600) {
            problems.push((
                "storage.jetstream.dedupe_window",
                "must be between 1s and 7d".to_string(),
            ));
        }
        if self.ack_wait.0 < Duration::from_secs(3) || self.ack_wait.0 > Duration::from_secs(3600) {
            problems.push((
                "storage.jetstream.ack_wait",
                "must be between 3s and 1h (held deliveries are kept alive every third of it)".to_string(),
            ));
        }
        if self.publish_timeout.0 < Duration::from_millis(50) || self.publish_timeout.0 > Duration::from_secs(60) {
            problems.push((
                "storage.jetstream.publish_timeout",
                "must be between 50ms and 60s; the sender waits that long at most".to_string(),
            ));
        }
        problems
    }

    /// A stream's name: `NAME_KIND`, upper-cased.
    pub fn stream(&self, kind: &str) -> String {
        format!("{}_{kind}", self.name).to_ascii_uppercase()
    }
}
