//! Connecting to NATS and setting up the streams Weir keeps there.
//!
//! Four streams, named after `storage.jetstream.name`:
//! - `NAME_DELIVERIES` (`name.deliveries.DESTINATION`): the outbox. A work queue: a
//!   delivery is removed when an instance acknowledges it; one durable pull consumer per
//!   destination shares its deliveries out among the instances, at most the
//!   destination's in-flight bound unacknowledged across all of them. Bounded by
//!   `storage.max_pending` and `storage.max_bytes`, refusing new messages when full.
//! - `NAME_DEAD` (`name.dead.DESTINATION`): dead letters, kept until replayed.
//! - `NAME_EVENTS` (`name.events.ID`): each event's record, for `/admin/events/{id}`.
//! - `NAME_ATTEMPTS` (`name.attempts.ID.DESTINATION`): the delivery log.
//!
//! The last two are kept for `storage.retention`, bounded by `storage.retention_bytes`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use async_nats::jetstream::{self, consumer, stream};

use crate::config::{JetStreamConfig, StorageConfig};

/// The streams, once set up.
pub struct Streams {
    pub deliveries: stream::Stream,
    pub dead: stream::Stream,
    pub events: stream::Stream,
    pub attempts: stream::Stream,
}

/// Subjects and names derived from the config's `name`.
#[derive(Debug, Clone)]
pub struct Names {
    prefix: String,
}

impl Names {
    pub fn new(settings: &JetStreamConfig) -> Names {
        Names {
            prefix: settings.name.clone(),
        }
    }

    pub fn delivery(&self, destination: &str) -> String {
        format!("{}.deliveries.{destination}", self.prefix)
    }

    pub fn dead(&self, destination: &str) -> String {
        format!("{}.dead.{destination}", self.prefix)
    }

    pub fn all_dead(&self) -> String {
        format!("{}.dead.*", self.prefix)
    }

    pub fn event(&self, token: &str) -> String {
        format!("{}.events.{token}", self.prefix)
    }

    pub fn attempts(&self, token: &str, destination: &str) -> String {
        format!("{}.attempts.{token}.{destination}", self.prefix)
    }

    pub fn consumer(&self, destination: &str) -> String {
        format!("{}-{destination}", self.prefix)
    }

    /// The destination a delivery or dead letter's subject names.
    pub fn destination_of<'a>(&self, subject: &'a str) -> Option<&'a str> {
        subject.rsplit('.').next()
    }

    pub fn object_store(&self) -> String {
        format!("{}_attachments", self.prefix).to_ascii_lowercase()
    }
}

/// What the client's events tell the store.
#[derive(Default)]
pub struct Connection {
    /// Notified at every (re)connection: the pulls open before it were lost with the
    /// connection and must be made again at once.
    pub connected: Notify,
    /// Why the last connection attempt failed (an authorization violation, say), until
    /// one succeeds: what `/readyz` and the 503s say.
    pub last_error: std::sync::Mutex<Option<String>>,
}

impl Connection {
    /// Why the client is not connected, as far as it said.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set_error(&self, error: Option<String>) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = error;
    }
}

/// Connects, or keeps trying in the background (`retry_on_initial_connect`): Weir
/// starts, reports itself not ready and refuses events with 503 until NATS answers.
pub async fn connect(
    settings: &JetStreamConfig,
    retry: bool,
    connection: Arc<Connection>,
) -> Result<async_nats::Client, String> {
    let mut options = async_nats::ConnectOptions::new()
        .event_callback(move |event| {
            let connection = connection.clone();
            async move {
                match event {
                    async_nats::Event::Connected => {
                        tracing::info!("connected to NATS");
                        connection.set_error(None);
                        connection.connected.notify_waiters();
                    }
                    async_nats::Event::Disconnected => tracing::warn!("lost the connection to NATS; reconnecting"),
                    async_nats::Event::ClientError(error) => {
                        let error = error.to_string();
                        if connection.last_error().as_deref() != Some(error.as_str()) {
                            tracing::warn!(%error, "cannot connect to NATS");
                        }
                        connection.set_error(Some(error));
                    }
                    async_nats::Event::ServerError(error) => {
                        tracing::warn!(%error, "NATS");
                        connection.set_error(Some(error.to_string()));
                    }
                    other => tracing::info!(event = %other, "NATS"),
                }
            }
        })
        .name("weir")
        .connection_timeout(Duration::from_secs(5))
        .request_timeout(Some(settings.publish_timeout.0.max(Duration::from_secs(2))))
        .max_reconnects(None)
        // Reconnect quickly at first and at most every two seconds: the 503s last no
        // longer than the outage.
        .reconnect_delay_callback(|attempts| Duration::from_millis((50u64 << attempts.min(6)).min(2000)));
    if retry {
        options = options.retry_on_initial_connect();
    }
    if let Some(token) = &settings.token {
        options = options.token(token.expose().to_string());
    }
    if let (Some(user), Some(password)) = (&settings.user, &settings.password) {
        options = options.user_and_password(user.clone(), password.expose().to_string());
    }
    if let Some(path) = &settings.credentials {
        options = options
            .credentials_file(path)
            .await
            .map_err(|error| format!("storage.jetstream.credentials {}: {error}", path.display()))?;
    }
    if settings.tls {
        options = options.require_tls(true);
    }
    if let Some(ca) = &settings.ca_file {
        options = options.add_root_certificates(ca.clone());
    }
    if let (Some(cert), Some(key)) = (&settings.cert_file, &settings.key_file) {
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    let servers: Vec<async_nats::ServerAddr> = settings
        .servers
        .iter()
        .map(|server| {
            server
                .parse()
                .map_err(|error| format!("storage.jetstream.servers {server:?}: {error}"))
        })
        .collect::<Result<_, _>>()?;
    options
        .connect(servers)
        .await
        .map_err(|error| format!("cannot connect to NATS: {error}"))
}

/// The settings each stream must have.
pub fn stream_configs(settings: &JetStreamConfig, storage: &StorageConfig) -> [stream::Config; 4] {
    let name = &settings.name;
    let replicas = settings.replicas;
    let kept = |kind: &str, subjects: String| stream::Config {
        name: settings.stream(kind),
        subjects: vec![subjects],
        retention: stream::RetentionPolicy::Limits,
        max_age: storage.retention.0,
        max_bytes: i64::try_from(storage.retention_bytes.0).unwrap_or(i64::MAX),
        num_replicas: replicas,
        allow_direct: true,
        storage: stream::StorageType::File,
        ..Default::default()
    };
    [
        stream::Config {
            name: settings.stream("DELIVERIES"),
            subjects: vec![format!("{name}.deliveries.*")],
            retention: stream::RetentionPolicy::WorkQueue,
            max_messages: i64::try_from(storage.max_pending).unwrap_or(i64::MAX),
            max_bytes: i64::try_from(storage.max_bytes.0).unwrap_or(i64::MAX),
            discard: stream::DiscardPolicy::New,
            duplicate_window: settings.dedupe_window.0,
            num_replicas: replicas,
            // One consumer per destination, and room for many destinations.
            max_consumers: 10_000,
            storage: stream::StorageType::File,
            ..Default::default()
        },
        stream::Config {
            name: settings.stream("DEAD"),
            subjects: vec![format!("{name}.dead.*")],
            retention: stream::RetentionPolicy::Limits,
            num_replicas: replicas,
            allow_direct: true,
            storage: stream::StorageType::File,
            ..Default::default()
        },
        stream::Config {
            // A sender's retry within the window finds the event's record as well as
            // its deliveries, and is answered `duplicate`.
            duplicate_window: settings.dedupe_window.0.min(storage.retention.0),
            ..kept("EVENTS", format!("{name}.events.*"))
        },
        kept("ATTEMPTS", format!("{name}.attempts.*.*")),
    ]
}

/// Creates the streams, or checks that the existing ones have the settings this config
/// asks for (updating what JetStream lets change).
pub async fn streams(js: &jetstream::Context, configs: [stream::Config; 4]) -> Result<Streams, String> {
    let mut opened = Vec::with_capacity(4);
    for config in configs {
        let name = config.name.clone();
        let stream = match js.get_stream(&name).await {
            Ok(mut existing) => {
                let info = existing
                    .info()
                    .await
                    .map_err(|error| format!("stream {name}: {error}"))?;
                if let Some(problem) = mismatch(&info.config, &config) {
                    return Err(format!("stream {name} exists with other settings: {problem}"));
                }
                if differs_in_limits(&info.config, &config) {
                    js.update_stream(config.clone())
                        .await
                        .map_err(|error| format!("stream {name}: cannot update its limits: {error}"))?;
                }
                existing
            }
            Err(_) => js
                .create_stream(config)
                .await
                .map_err(|error| format!("cannot create stream {name}: {error}"))?,
        };
        opened.push(stream);
    }
    let mut opened = opened.into_iter();
    let mut next = || opened.next().expect("four streams");
    Ok(Streams {
        deliveries: next(),
        dead: next(),
        events: next(),
        attempts: next(),
    })
}

/// What an existing stream has that Weir cannot change and cannot work with.
pub fn mismatch(existing: &stream::Config, wanted: &stream::Config) -> Option<String> {
    if existing.retention != wanted.retention {
        return Some(format!(
            "retention {:?}, not {:?} (delete the stream, or choose another storage.jetstream.name)",
            existing.retention, wanted.retention
        ));
    }
    if existing.subjects != wanted.subjects {
        return Some(format!("subjects {:?}, not {:?}", existing.subjects, wanted.subjects));
    }
    if existing.discard != wanted.discard {
        return Some(format!(
            "discard policy {:?}, not {:?} (a full stream must refuse new events, not drop accepted ones)",
            existing.discard, wanted.discard
        ));
    }
    if existing.storage != wanted.storage {
        return Some(format!("storage {:?}, not {:?}", existing.storage, wanted.storage));
    }
    if existing.num_replicas != wanted.num_replicas {
        return Some(format!(
            "{} replicas, not {} (storage.jetstream.replicas)",
            existing.num_replicas, wanted.num_replicas
        ));
    }
    None
}

fn differs_in_limits(existing: &stream::Config, wanted: &stream::Config) -> bool {
    existing.max_messages != wanted.max_messages
        || existing.max_bytes != wanted.max_bytes
        || existing.max_age != wanted.max_age
        || existing.duplicate_window != wanted.duplicate_window
}

/// A destination's consumer: shared by every instance, at most `in_flight` deliveries
/// unacknowledged across all of them. No `backoff`: Weir gives each retry's delay
/// itself (a delayed negative acknowledgement is exact only without one).
pub fn consumer_config(
    names: &Names,
    destination: &str,
    in_flight: usize,
    ack_wait: Duration,
) -> consumer::pull::Config {
    let name = names.consumer(destination);
    consumer::pull::Config {
        durable_name: Some(name.clone()),
        name: Some(name),
        filter_subject: names.delivery(destination),
        ack_policy: consumer::AckPolicy::Explicit,
        ack_wait,
        max_ack_pending: i64::try_from(in_flight.max(1)).unwrap_or(i64::MAX),
        max_deliver: -1,
        ..Default::default()
    }
}

/// Gets a destination's consumer, creating it, or updating its bounds when the config
/// changed them.
pub async fn consumer(
    stream: &stream::Stream,
    config: consumer::pull::Config,
) -> Result<consumer::Consumer<consumer::pull::Config>, String> {
    let name = config.durable_name.clone().unwrap_or_default();
    match stream.get_consumer::<consumer::pull::Config>(&name).await {
        Ok(mut existing) => {
            let info = existing
                .info()
                .await
                .map_err(|error| format!("consumer {name}: {error}"))?;
            if info.config.max_ack_pending != config.max_ack_pending || info.config.ack_wait != config.ack_wait {
                stream
                    .update_consumer(config)
                    .await
                    .map_err(|error| format!("consumer {name}: cannot update: {error}"))
            } else {
                Ok(existing)
            }
        }
        Err(_) => stream
            .create_consumer(config)
            .await
            .map_err(|error| format!("cannot create consumer {name}: {error}")),
    }
}

/// What `weir check` says of the JetStream settings: when a server answers, whether the
/// streams that exist have settings this config can work with. `Err` holds problems;
/// `Ok` a line saying what was found.
pub async fn check(storage: &StorageConfig) -> Result<String, Vec<String>> {
    let settings = &storage.jetstream;
    let servers = settings.servers.join(", ");
    let client = match tokio::time::timeout(Duration::from_secs(5), connect(settings, false, Arc::default())).await {
        Ok(Ok(client)) => client,
        Ok(Err(error)) => {
            return Ok(format!(
                "jetstream storage at {servers}: not reachable now ({error}); streams not checked"
            ));
        }
        Err(_) => {
            return Ok(format!(
                "jetstream storage at {servers}: not reachable now; streams not checked"
            ));
        }
    };
    let js = jetstream::new(client);
    let mut problems = Vec::new();
    let mut found = Vec::new();
    for wanted in stream_configs(settings, storage) {
        match js.get_stream(&wanted.name).await {
            Ok(mut stream) => match stream.info().await {
                Ok(info) => match mismatch(&info.config, &wanted) {
                    Some(problem) => {
                        problems.push(format!("stream {} exists with other settings: {problem}", wanted.name))
                    }
                    None => found.push(format!("{} ({} messages)", wanted.name, info.state.messages)),
                },
                Err(error) => problems.push(format!("stream {}: {error}", wanted.name)),
            },
            Err(_) => found.push(format!("{} (to be created)", wanted.name)),
        }
    }
    if problems.is_empty() {
        Ok(format!("jetstream storage at {servers}: {}", found.join(", ")))
    } else {
        Err(problems)
    }
}
