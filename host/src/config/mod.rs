//! Weir's configuration: one TOML file, typed, every key documented.
//!
//! `weir.example.toml` at the repository root shows every option with its default.
//! Loading ([`load`]) expands `${ENV}` references, checks every section and entry on
//! its own, and then checks the references between them, so that one run lists every
//! problem ([`ConfigError`]) rather than the first.
//!
//! # Layout
//!
//! - this file: the config types and their defaults.
//! - [`load`]: reading, expanding, deserializing and validating, all problems at once.
//! - [`env`]: `${VAR}` expansion.
//! - [`units`]: durations and sizes.
//! - [`http`]: headers and signing secrets, parsed once.
//! - [`jetstream`]: the NATS JetStream outbox's settings.
//! - [`limits`]: the bounds and defaults runtime modules take their settings from.
//! - [`default`]: the config `weir run` uses when given none.

pub mod default;
pub mod env;
pub mod http;
pub mod jetstream;
pub mod limits;
pub mod load;
pub mod units;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};

pub use http::{Headers, SigningSecret};
pub use jetstream::JetStreamConfig;
pub use load::{ConfigError, check_file, check_str, is_plugin_name, load_file, load_str};
pub use units::{Rate, Size, Span};

/// The whole config file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The ingest listeners and request limits.
    #[serde(default)]
    pub server: ServerConfig,
    /// The admin listener (health, readiness, admin API).
    #[serde(default)]
    pub admin: AdminConfig,
    /// Where plugins come from.
    #[serde(default)]
    pub plugins: PluginsConfig,
    /// Where pending deliveries are kept.
    #[serde(default)]
    pub storage: StorageConfig,
    /// Routes, by name: `POST /ingest/{name}`.
    #[serde(default)]
    pub routes: BTreeMap<String, RouteConfig>,
    /// Destinations, by name.
    #[serde(default)]
    pub destinations: BTreeMap<String, DestinationConfig>,
}

/// `[server]`: where predictions come in.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// TCP address of the ingest listener.
    pub listen: SocketAddr,
    /// Also listen on this Unix socket (sidecars in the same pod or host).
    pub unix_socket: Option<PathBuf>,
    /// Largest request body accepted; larger ones get 413.
    pub max_body: Size,
    /// When set, ingest requests must carry `Authorization: Bearer <token>`.
    pub ingest_token: Option<Secret>,
    /// How long in-flight deliveries may take to finish after SIGTERM.
    pub shutdown_grace: Span,
    /// Connections open at once on each ingest listener; past it, a new connection is
    /// answered 503 and closed.
    pub max_connections: usize,
    /// How long a request's headers may take to arrive, which is also how long an idle
    /// keep-alive connection stays open.
    pub header_timeout: Span,
    /// How long a request's body may take to arrive once its headers have.
    pub body_timeout: Span,
    /// Most bytes of a request's line and headers together.
    pub max_header_bytes: Size,
    /// Most headers in a request.
    pub max_headers: usize,
    /// Deepest nesting of arrays and objects in a predictions document.
    pub max_json_depth: usize,
    /// Most metadata entries a sender may give (headers and form fields).
    pub max_metadata_entries: usize,
    /// Longest metadata key, in bytes.
    pub max_metadata_key: usize,
    /// Longest metadata value, in bytes (it travels to receivers as a header).
    pub max_metadata_value: usize,
    /// With `tls_key`: serve ingest over HTTPS with this PEM certificate chain
    /// (reloaded when the files change).
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            unix_socket: None,
            max_body: Size(32 << 20),
            ingest_token: None,
            shutdown_grace: Span(Duration::from_secs(10)),
            max_connections: 10_000,
            header_timeout: Span(Duration::from_secs(30)),
            body_timeout: Span(Duration::from_secs(60)),
            max_header_bytes: Size(64 << 10),
            max_headers: 100,
            max_json_depth: 64,
            max_metadata_entries: weir_contract::limits::MAX_METADATA_ENTRIES,
            max_metadata_key: weir_contract::limits::MAX_METADATA_KEY,
            max_metadata_value: weir_contract::limits::MAX_METADATA_VALUE,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// `[admin]`: the operator's listener, apart from ingest.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// TCP address of the admin listener (`/healthz`, `/readyz`, `/admin/...`, the
    /// console at `/`).
    pub listen: SocketAddr,
    /// When set, the admin API and the console require it: `Authorization: Bearer
    /// <token>`, or the console's cookie, given once on its sign-in page. `/healthz`,
    /// `/readyz` and `/metrics` stay open for probes and scrapers. Required when
    /// `listen` is not a loopback address.
    pub token: Option<Secret>,
    /// Connections open at once on the admin listener: its own reserve, so health
    /// checks answer while ingest is full.
    pub max_connections: usize,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9090)),
            token: None,
            max_connections: 128,
        }
    }
}

/// `[plugins]`: where filters come from.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginsConfig {
    /// Folder of `.wasm` filters, named by file stem. The example filters
    /// (the filters of `plugins/rust/`) are always available too;
    /// a file of the same name here takes precedence.
    pub dir: Option<PathBuf>,
    /// Where compiled plugin code is cached between runs (default: `$WEIR_CACHE_DIR`,
    /// else `.weir/cache` under the working directory).
    pub cache_dir: Option<PathBuf>,
    /// Instances that may exist at once across all plugins. The filters' own
    /// `max_instances` must add up to at most this (checked at load).
    pub max_instances: u32,
    /// Largest plugin file Weir compiles; bigger ones are refused at load.
    pub max_plugin_size: Size,
    /// Memory all plugin instances together may use: every filter's `memory` times its
    /// `max_instances` must fit in it (checked at load), and a growth that would pass it
    /// is refused at run time.
    pub memory_budget: Size,
    /// Longest an event waits for a free instance of a filter; past it the sender gets
    /// 503 with `Retry-After` (never a verdict on the event).
    pub instance_wait: Span,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        PluginsConfig {
            dir: None,
            cache_dir: None,
            max_instances: 128,
            max_plugin_size: Size(limits::DEFAULT_MAX_PLUGIN_SIZE),
            memory_budget: Size(limits::DEFAULT_MEMORY_BUDGET),
            instance_wait: Span(limits::DEFAULT_INSTANCE_WAIT),
        }
    }
}

impl PluginsConfig {
    /// The compiled-code cache folder this config means.
    pub fn cache_dir(&self) -> PathBuf {
        self.cache_dir
            .clone()
            .or_else(|| {
                std::env::var_os("WEIR_CACHE_DIR")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| PathBuf::from(".weir/cache"))
    }
}

/// `[storage]`: where pending deliveries wait.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `durable` (the default): every accepted event is on disk before the sender hears
    /// 202, and survives a crash. `memory`: faster, but deliveries still pending when
    /// the process stops are lost.
    pub kind: StorageKind,
    /// The durable store's database file (SQLite).
    pub path: PathBuf,
    /// How long records of delivered events are kept (for the admin API and polling).
    pub retention: Span,
    /// Most bytes of records of delivered events kept: past it, the oldest are
    /// forgotten before their `retention` is up, so a busy Weir's store stays bounded.
    pub retention_bytes: Size,
    /// Most deliveries that may wait at once; past it, ingest answers 503 with
    /// `Retry-After` instead of accepting more.
    pub max_pending: usize,
    /// Most bytes of events (predictions and stored attachments) that may wait at once;
    /// past it, ingest answers 503 likewise.
    pub max_bytes: Size,
    /// `kind = "jetstream"`: the NATS servers and what Weir keeps there.
    pub jetstream: JetStreamConfig,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            kind: StorageKind::Durable,
            path: PathBuf::from(".weir/outbox.db"),
            retention: Span(Duration::from_secs(24 * 3600)),
            retention_bytes: Size(1 << 30),
            max_pending: 20_000,
            max_bytes: Size(64 << 20),
            jetstream: JetStreamConfig::default(),
        }
    }
}

/// Where pending deliveries are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StorageKind {
    /// On disk, crash-safe.
    Durable,
    /// In memory: lost if the process stops.
    Memory,
    /// In NATS JetStream streams, shared by every instance connected to them.
    Jetstream,
}

/// `[routes.NAME]`: one filter chain and where its survivors go.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Filters, run in order.
    #[serde(default)]
    pub filters: Vec<FilterConfig>,
    /// Names of the destinations events of this route go to (filters may narrow them).
    pub destinations: Vec<String>,
    /// What happens to an event when a filter fails on it.
    #[serde(default)]
    pub on_filter_error: FailurePolicy,
    /// Whether a sender may choose, per event, which of the route's destinations get
    /// it (`X-Weir-Destinations`, or a multipart `webhook_ids` field).
    #[serde(default)]
    pub sender_may_choose: bool,
    /// The `max_age` of this route's deliveries to destinations that set none.
    #[serde(default)]
    pub max_age: Option<Span>,
}

/// One filter of a route.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// The plugin's name: a file stem in the plugin folder, or an example plugin.
    pub plugin: String,
    /// The filter's own configuration, passed to its `init` as JSON.
    #[serde(default)]
    pub config: Option<toml::Value>,
    /// Deadline of one call.
    #[serde(default)]
    pub timeout: Option<Span>,
    /// Memory cap of one instance.
    #[serde(default)]
    pub memory: Option<Size>,
    /// `reuse` warm instances (default) or a `fresh` instance per event.
    #[serde(default)]
    pub instances: Option<InstancesConfig>,
    /// Instances of this filter that may run at once (and stay warm); default two per
    /// core, between 2 and 8.
    #[serde(default)]
    pub max_instances: Option<usize>,
    /// Where the filter's state store is kept: `memory` (the default; kept across hot
    /// reloads, lost at a restart) or `durable` (also written to the durable store, so
    /// it survives a restart; needs `[storage] kind = "durable"`).
    #[serde(default)]
    pub state: Option<StateKind>,
    /// Most entries in the filter's state store (default 10000).
    #[serde(default)]
    pub max_state_entries: Option<usize>,
    /// Most bytes in the filter's state store (default 4MiB).
    #[serde(default)]
    pub max_state_bytes: Option<Size>,
}

/// Where a filter's state store is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StateKind {
    /// In memory: kept across hot reloads, lost at a restart.
    Memory,
    /// Also in the durable store: survives a restart.
    Durable,
}

/// Instance policy of a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstancesConfig {
    /// Reuse warm instances.
    Reuse,
    /// A fresh instance per event.
    Fresh,
}

/// What a route does with an event when one of its filters fails (declines it, traps,
/// overruns its deadline or memory, or returns something invalid).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FailurePolicy {
    /// Stop the event; it is counted and logged (the default: a failed filter may have
    /// been the one that removes what must not be sent).
    #[default]
    Drop,
    /// Skip the failed filter and go on with the event as it was.
    Pass,
    /// Send the event, as it was before the failed filter, to this destination only.
    SendTo(String),
}

impl<'de> Deserialize<'de> for FailurePolicy {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct SendTo {
            send_to: String,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            Table(SendTo),
        }
        let message = "must be \"drop\", \"pass\", or { send_to = \"DESTINATION\" }";
        match Raw::deserialize(deserializer).map_err(|_| serde::de::Error::custom(message))? {
            Raw::Word(word) if word == "drop" => Ok(FailurePolicy::Drop),
            Raw::Word(word) if word == "pass" => Ok(FailurePolicy::Pass),
            Raw::Word(word) => Err(serde::de::Error::custom(format!("{word:?} {message}"))),
            Raw::Table(table) => Ok(FailurePolicy::SendTo(table.send_to)),
        }
    }
}

impl Serialize for FailurePolicy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            FailurePolicy::Drop => serializer.serialize_str("drop"),
            FailurePolicy::Pass => serializer.serialize_str("pass"),
            FailurePolicy::SendTo(name) => {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("send_to", name)?;
                map.end()
            }
        }
    }
}

/// `[destinations.NAME]`: one webhook receiver.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationConfig {
    /// `http://` or `https://` URL, or `log:` to write deliveries to Weir's log. A
    /// `user:password@` in it is sent as HTTP Basic authentication; it is shown
    /// redacted, with the values of its query.
    #[serde(serialize_with = "http::serialize_url")]
    pub url: String,
    /// Body format.
    #[serde(default)]
    pub format: BodyFormat,
    /// With `multipart`: send the `image.jpeg` part.
    #[serde(default)]
    pub include_image: bool,
    /// With `multipart`: send the `mask_NNNN.png` parts.
    #[serde(default)]
    pub include_masks: bool,
    /// Send the predictions document (the default). `false` sends only the event's
    /// id, route, task and metadata, as JSON (a `metadata.json` part in multipart).
    #[serde(default = "yes")]
    pub include_predictions: bool,
    /// Extra request headers (an `Authorization` header, say).
    #[serde(default)]
    pub headers: Headers,
    /// Standard Webhooks signing secret (`whsec_...`): when set, every request carries
    /// `webhook-signature`.
    #[serde(default)]
    pub secret: Option<SigningSecret>,
    /// How long one attempt may take.
    #[serde(default = "default_timeout")]
    pub timeout: Span,
    /// Requests in flight at once to this destination: the most, when `concurrency` is
    /// `adaptive` (the default), or exactly, when it is `fixed`.
    #[serde(default = "default_in_flight")]
    pub max_in_flight: usize,
    /// `adaptive` (the default): the requests in flight follow the receiver's answers
    /// (more while it answers as fast as usual, fewer when it slows down or says it is
    /// overloaded), up to `max_in_flight`; `fixed`: always `max_in_flight`.
    #[serde(default)]
    pub concurrency: Concurrency,
    /// When to try again after a failed attempt.
    #[serde(default)]
    pub retry: RetryConfig,
    /// When to leave a failing receiver alone for a while.
    #[serde(default)]
    pub circuit_breaker: BreakerConfig,
    /// Most of this destination's deliveries that may wait at once (default: an equal
    /// share of `storage.max_pending`), so one dead receiver's backlog cannot fill the
    /// store for the others.
    #[serde(default)]
    pub max_pending: Option<usize>,
    /// Most bytes of events this destination's deliveries may hold at once (default: an
    /// equal share of `storage.max_bytes`).
    #[serde(default)]
    pub max_bytes: Option<Size>,
    /// What happens to a new event when this destination's share is full.
    #[serde(default)]
    pub when_full: WhenFull,
    /// May deliver to loopback and private addresses (a receiver on this machine or the
    /// private network). Off by default: a destination's name could otherwise resolve
    /// to a database or an internal API. Link-local and cloud metadata addresses, and
    /// Weir's own listeners, are refused whatever this says.
    #[serde(default)]
    pub allow_private: bool,
    /// PEM file of certificate authorities trusted for this destination's `https://`
    /// receiver, besides the system's (a receiver with a private CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// A delivery not completed this long after Weir accepted its event goes to the
    /// dead letters as `expired` instead of being sent late (a frame from ten minutes
    /// ago is usually worthless). Default: the route's `max_age`, else no limit.
    #[serde(default)]
    pub max_age: Option<Span>,
    /// Most requests to this destination per unit of time (`"50/s"`, `"600/min"`),
    /// shared by all its deliveries. Default: no limit. A receiver's
    /// `WebHook-Allowed-Rate` answer lowers it (or sets one).
    #[serde(default)]
    pub rate: Option<Rate>,
    /// With `rate`: requests that may go at once after a quiet spell. Default: one
    /// second's worth of the rate, at least 1.
    #[serde(default)]
    pub burst: Option<u32>,
    /// The metadata key (`camera`, say) whose deliveries are sent one at a time, in
    /// ingest order, per value; other values go on in parallel, and a failing value
    /// blocks only itself until its delivery is delivered or dead. Events without the
    /// key are not ordered. Default: no order.
    #[serde(default)]
    pub order_by: Option<String>,
    /// Several events in one request: `batch = { max_events = 100, max_wait = "1s" }`.
    /// Default: one event per request.
    #[serde(default)]
    pub batch: Option<BatchConfig>,
    /// Send each request as a CloudEvent in binary content mode: `ce-id`, `ce-source`,
    /// `ce-type`, `ce-time`, `ce-specversion` headers, the body as it is (JSON or
    /// multipart). `format = "cloudevents"` is the same with the JSON body.
    #[serde(default)]
    pub cloudevents: bool,
}

/// What ingest does with an event bound for a destination whose share of the store is
/// full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WhenFull {
    /// Accept the event; its delivery to this destination goes straight to the dead
    /// letters (replayable once the receiver is back). The other destinations get it
    /// as usual. The default: one dead receiver never refuses events for the others.
    #[default]
    DeadLetter,
    /// Refuse the whole event with 503 and `Retry-After`: nothing for this destination
    /// is ever dropped, at the cost of the others waiting for it too.
    Refuse,
}

impl DestinationConfig {
    /// Which attachments this destination's requests carry: decided here, once, and
    /// used by ingest (to store only what some destination will send) and by delivery
    /// (to build the body).
    pub fn attachments(&self) -> AttachmentRule {
        if self.url != "log:" && self.format.is_json() {
            // The body is the predictions document alone.
            return AttachmentRule::NONE;
        }
        AttachmentRule {
            image: self.include_image,
            masks: self.include_masks,
            others: true,
        }
    }
}

/// Which attachments a destination's requests carry: the frame (`image.*`), the
/// segmentation masks (`mask_*`), and any other file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AttachmentRule {
    /// The frame.
    pub image: bool,
    /// The masks.
    pub masks: bool,
    /// Every other attachment.
    pub others: bool,
}

impl AttachmentRule {
    /// Carries nothing.
    pub const NONE: AttachmentRule = AttachmentRule {
        image: false,
        masks: false,
        others: false,
    };

    /// Whether an attachment of this name is carried.
    pub fn carries(&self, name: &str) -> bool {
        if name.starts_with("image.") {
            self.image
        } else if name.starts_with("mask_") {
            self.masks
        } else {
            self.others
        }
    }

    /// What either rule carries.
    pub fn or(self, other: AttachmentRule) -> AttachmentRule {
        AttachmentRule {
            image: self.image || other.image,
            masks: self.masks || other.masks,
            others: self.others || other.others,
        }
    }
}

/// `[destinations.NAME.batch]`: several events in one request, for receivers that
/// would rather take a hundred rows at once (a database, a bulk API).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchConfig {
    /// Most events in one request.
    pub max_events: usize,
    /// Most bytes of one request's body (an event larger than this goes alone).
    pub max_bytes: Size,
    /// How long the first event of a batch waits for others before the batch goes as
    /// it is.
    pub max_wait: Span,
    /// `json`: the body is a JSON array, one object per event; `ndjson`: one object
    /// per line (`application/x-ndjson`).
    pub format: BatchFormat,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_events: 100,
            max_bytes: Size(1 << 20),
            max_wait: Span(Duration::from_secs(1)),
            format: BatchFormat::Json,
        }
    }
}

/// How a batch's events are laid out in its body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchFormat {
    /// A JSON array.
    #[default]
    Json,
    /// Newline-delimited JSON.
    Ndjson,
}

/// `[destinations.NAME.circuit_breaker]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// Failed attempts in a row (no answer, timeout, 5xx, 408, 429) that open the
    /// breaker; 0 disables it.
    pub failures: u32,
    /// How long an open breaker waits before one probe.
    pub cooldown: Span,
    /// Longest wait, as failed probes double it.
    pub max_cooldown: Span,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failures: 10,
            cooldown: Span(Duration::from_secs(30)),
            max_cooldown: Span(Duration::from_secs(600)),
        }
    }
}

fn yes() -> bool {
    true
}

fn default_timeout() -> Span {
    Span(Duration::from_secs(10))
}

/// The adaptive limit's ceiling: high enough that a receiver answering in a few
/// milliseconds on a busy machine is not held back, low enough that several lanes to
/// one such receiver do not drown it in connections (docs/BENCHMARKS.md, "Adaptive
/// concurrency").
fn default_in_flight() -> usize {
    128
}

/// How many requests a destination gets at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Concurrency {
    /// Found from the receiver's answers, up to `max_in_flight` (the default).
    #[default]
    Adaptive,
    /// `max_in_flight`, always.
    Fixed,
}

/// How a destination receives events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BodyFormat {
    /// The predictions JSON as the body; event id, route, task and metadata in headers.
    #[default]
    Json,
    /// `multipart/form-data` in the camera-inference shape: `predictions.json`, and the
    /// image and masks when included.
    Multipart,
    /// The JSON body, sent as a CloudEvent in binary content mode (`cloudevents =
    /// true` with `format = "json"`).
    Cloudevents,
}

impl BodyFormat {
    /// Whether the body is the predictions JSON alone (no attachments).
    pub fn is_json(self) -> bool {
        matches!(self, BodyFormat::Json | BodyFormat::Cloudevents)
    }
}

/// `[destinations.NAME.retry]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Retries after the first attempt (so `5` means up to 6 attempts).
    pub max_retries: u32,
    /// Delay before the first retry.
    pub initial_delay: Span,
    /// Each retry waits this many times longer than the previous one.
    pub multiplier: f64,
    /// Longest delay between two attempts.
    pub max_delay: Span,
    /// Randomness added to each delay, as a fraction of it (0.2 = up to ±20 %), so
    /// that retries of many events do not arrive together.
    pub jitter: f64,
    /// Explicit delays, one per retry, instead of the exponential schedule.
    pub schedule: Option<Vec<Span>>,
    /// Longest `Retry-After` a receiver may ask for; longer ones are cut to this.
    pub max_retry_after: Span,
    /// Also retry 4xx answers other than 408 and 429 (off: those mean the request
    /// itself is wrong, and sending it again will not help).
    pub retry_client_errors: bool,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 5,
            initial_delay: Span(Duration::from_secs(1)),
            multiplier: 4.0,
            max_delay: Span(Duration::from_secs(300)),
            jitter: 0.2,
            schedule: None,
            max_retry_after: Span(Duration::from_secs(3600)),
            retry_client_errors: false,
        }
    }
}

/// A string that may hold a secret: printed as `<redacted>` in logs and the admin API.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("<redacted>")
    }
}
