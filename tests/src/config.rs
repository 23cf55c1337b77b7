//! The config a test starts Weir with, built in code rather than written as TOML by
//! hand: [`WeirConfig`] and one builder per table (`[server]`, `[plugins]`,
//! `[storage]`, a route, a filter, a destination, its retry and circuit breaker).
//!
//! What it builds is the TOML text Weir reads (its [`Display`](std::fmt::Display)), so
//! every test still goes through Weir's own parser and validation, and a test that
//! writes a config file (`start_file`, `WeirProcess::spawn`, a reload) writes this text.
//! Each setter is named after the key it sets and sets only that key; what a test does
//! not set is left to Weir's defaults, except the two listeners, which are on
//! `127.0.0.1:0` (ports of their own) unless a test says otherwise.
//!
//! ```
//! use serde_json::json;
//! use weir_tests::config::{Destination, Filter, Retry, Route, Storage, WeirConfig};
//!
//! let config = WeirConfig::new()
//!     .storage(Storage::memory())
//!     .route(
//!         "cameras",
//!         Route::to(["hook"]).filter(Filter::plugin("class-filter").config(json!({ "classes": ["person"] }))),
//!     )
//!     .destination(
//!         "hook",
//!         Destination::url("http://127.0.0.1:9/hook").retry(Retry::new().max_retries(0)),
//!     );
//! assert!(config.to_string().contains("[routes.cameras]"));
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value, json};
use weir::config::{BodyFormat, FailurePolicy, InstancesConfig, StateKind, WhenFull};

/// One of Weir's own config values (a word such as `"multipart"`, or
/// `{ send_to = "..." }`), as Weir itself writes it. (A macro: this crate names no
/// `serde::Serialize` bound of its own.)
macro_rules! words {
    ($value:expr) => {
        serde_json::to_value($value).expect("a config value")
    };
}

/// A listener on a port of its own: what every test's Weir listens on.
const ANY_PORT: &str = "127.0.0.1:0";

/// A whole config: its tables, routes and destinations, rendered as TOML by
/// [`Display`](fmt::Display).
#[derive(Debug, Clone)]
pub struct WeirConfig {
    server: Map<String, Value>,
    admin: Map<String, Value>,
    plugins: Map<String, Value>,
    storage: Map<String, Value>,
    routes: Map<String, Value>,
    destinations: Map<String, Value>,
}

impl Default for WeirConfig {
    fn default() -> Self {
        WeirConfig::new()
    }
}

impl WeirConfig {
    /// A config with both listeners on `127.0.0.1:0` and nothing else.
    pub fn new() -> WeirConfig {
        WeirConfig {
            server: Server::new().0,
            admin: table([("listen", json!(ANY_PORT))]),
            plugins: Map::new(),
            storage: Map::new(),
            routes: Map::new(),
            destinations: Map::new(),
        }
    }

    /// `[server]` (replacing what an earlier call set).
    pub fn server(mut self, server: Server) -> WeirConfig {
        self.server = server.0;
        self
    }

    /// `[admin] listen`.
    pub fn admin_listen(mut self, addr: SocketAddr) -> WeirConfig {
        self.admin.insert("listen".into(), json!(addr.to_string()));
        self
    }

    /// `[admin] token`: the admin API and the console require it (`Authorization:
    /// Bearer <token>`, or the console's sign-in cookie).
    pub fn admin_token(mut self, token: &str) -> WeirConfig {
        self.admin.insert("token".into(), json!(token));
        self
    }

    /// `[plugins]` (replacing what an earlier call set).
    pub fn plugins(mut self, plugins: Plugins) -> WeirConfig {
        self.plugins = plugins.0;
        self
    }

    /// `[storage]` (replacing what an earlier call set).
    pub fn storage(mut self, storage: Storage) -> WeirConfig {
        self.storage = storage.0;
        self
    }

    /// `[routes.NAME]`; a route of the same name set earlier is replaced.
    pub fn route(mut self, name: &str, route: Route) -> WeirConfig {
        self.routes.insert(name.into(), Value::Object(route.0));
        self
    }

    /// `[destinations.NAME]`; a destination of the same name set earlier is replaced.
    pub fn destination(mut self, name: &str, destination: Destination) -> WeirConfig {
        self.destinations.insert(name.into(), Value::Object(destination.0));
        self
    }

    /// Whether `[storage] path` is set: a test that names no store gets one of its own
    /// from `router::start`.
    pub fn names_a_store(&self) -> bool {
        self.storage.contains_key("path")
    }
}

impl fmt::Display for WeirConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, entries) in [
            ("server", &self.server),
            ("admin", &self.admin),
            ("plugins", &self.plugins),
            ("storage", &self.storage),
        ] {
            if !entries.is_empty() {
                write_table(f, name, entries)?;
            }
        }
        for (kind, named) in [("routes", &self.routes), ("destinations", &self.destinations)] {
            for (name, entries) in named {
                let entries = entries.as_object().expect("routes and destinations are tables");
                write_table(f, &format!("{kind}.{}", key(name)), entries)?;
            }
        }
        Ok(())
    }
}

/// `[server]`: the ingest listeners and request limits.
#[derive(Debug, Clone)]
pub struct Server(Map<String, Value>);

impl Default for Server {
    fn default() -> Self {
        Server::new()
    }
}

impl Server {
    /// Ingest on `127.0.0.1:0`, everything else Weir's default.
    pub fn new() -> Server {
        Server(table([("listen", json!(ANY_PORT))]))
    }

    /// `listen`.
    pub fn listen(self, addr: SocketAddr) -> Server {
        Server(set(self.0, "listen", addr.to_string()))
    }

    /// `ingest_token`: requests must carry `Authorization: Bearer <token>`.
    pub fn ingest_token(self, token: &str) -> Server {
        Server(set(self.0, "ingest_token", token))
    }

    /// `max_body`, in bytes.
    pub fn max_body(self, bytes: u64) -> Server {
        Server(set(self.0, "max_body", bytes))
    }

    /// `unix_socket`: also listen on this socket.
    pub fn unix_socket(self, path: &Path) -> Server {
        Server(set(self.0, "unix_socket", path.display().to_string()))
    }

    /// `shutdown_grace`.
    pub fn shutdown_grace(self, grace: Duration) -> Server {
        Server(set(self.0, "shutdown_grace", span(grace)))
    }

    /// `max_connections`: connections open at once on the ingest listener.
    pub fn max_connections(self, connections: usize) -> Server {
        Server(set(self.0, "max_connections", connections))
    }

    /// `header_timeout`: how long headers may take, and an idle connection may stay.
    pub fn header_timeout(self, timeout: Duration) -> Server {
        Server(set(self.0, "header_timeout", span(timeout)))
    }

    /// `body_timeout`: how long a body may take once the headers are in.
    pub fn body_timeout(self, timeout: Duration) -> Server {
        Server(set(self.0, "body_timeout", span(timeout)))
    }

    /// `max_header_bytes`.
    pub fn max_header_bytes(self, bytes: u64) -> Server {
        Server(set(self.0, "max_header_bytes", bytes))
    }

    /// `tls_cert` and `tls_key`: serve ingest over HTTPS.
    pub fn tls(self, cert: &Path, key: &Path) -> Server {
        let server = Server(set(self.0, "tls_cert", cert.display().to_string()));
        Server(set(server.0, "tls_key", key.display().to_string()))
    }

    /// `max_json_depth`.
    pub fn max_json_depth(self, depth: usize) -> Server {
        Server(set(self.0, "max_json_depth", depth))
    }

    /// `max_metadata_value`, in bytes.
    pub fn max_metadata_value(self, bytes: usize) -> Server {
        Server(set(self.0, "max_metadata_value", bytes))
    }
}

/// `[plugins]`: where filters come from.
#[derive(Debug, Clone, Default)]
pub struct Plugins(Map<String, Value>);

impl Plugins {
    /// Weir's defaults (the example plugins only).
    pub fn new() -> Plugins {
        Plugins(Map::new())
    }

    /// `dir`: the folder of `.wasm` filters.
    pub fn dir(self, dir: &Path) -> Plugins {
        Plugins(set(self.0, "dir", dir.display().to_string()))
    }

    /// `max_instances`.
    pub fn max_instances(self, instances: u32) -> Plugins {
        Plugins(set(self.0, "max_instances", instances))
    }

    /// `memory_budget`: memory all plugin instances together may use, in bytes.
    pub fn memory_budget(self, bytes: u64) -> Plugins {
        Plugins(set(self.0, "memory_budget", bytes))
    }

    /// `max_plugin_size`: the largest `.wasm` file loaded, in bytes.
    pub fn max_plugin_size(self, bytes: u64) -> Plugins {
        Plugins(set(self.0, "max_plugin_size", bytes))
    }

    /// `instance_wait`: how long an event waits for a free instance.
    pub fn instance_wait(self, wait: Duration) -> Plugins {
        Plugins(set(self.0, "instance_wait", span(wait)))
    }
}

/// `[storage]`: where pending deliveries wait.
#[derive(Debug, Clone)]
pub struct Storage(Map<String, Value>);

impl Storage {
    /// `kind = "durable"`.
    pub fn durable() -> Storage {
        Storage(table([("kind", json!("durable"))]))
    }

    /// `kind = "memory"`.
    pub fn memory() -> Storage {
        Storage(table([("kind", json!("memory"))]))
    }

    /// `kind = "jetstream"` on these servers, its streams named after `name`, with
    /// `ack_wait` (how soon another instance takes over a dead one's deliveries).
    pub fn jetstream(servers: &[String], name: &str, ack_wait: Duration) -> Storage {
        Storage(table([
            ("kind", json!("jetstream")),
            (
                "jetstream",
                json!({ "servers": servers, "name": name, "ack_wait": span(ack_wait) }),
            ),
        ]))
    }

    /// A setting of `[storage.jetstream]`.
    pub fn jetstream_setting(mut self, key: &str, value: impl Into<Value>) -> Storage {
        if let Some(Value::Object(settings)) = self.0.get_mut("jetstream") {
            settings.insert(key.to_string(), value.into());
        }
        self
    }

    /// `path`: the durable store's database file.
    pub fn path(self, path: &Path) -> Storage {
        Storage(set(self.0, "path", path.display().to_string()))
    }

    /// `max_pending`.
    pub fn max_pending(self, deliveries: usize) -> Storage {
        Storage(set(self.0, "max_pending", deliveries))
    }

    /// `max_bytes`, in bytes.
    pub fn max_bytes(self, bytes: u64) -> Storage {
        Storage(set(self.0, "max_bytes", bytes))
    }

    /// `retention`.
    pub fn retention(self, retention: Duration) -> Storage {
        Storage(set(self.0, "retention", span(retention)))
    }
}

/// `[routes.NAME]`: a filter chain and the destinations of what survives it.
#[derive(Debug, Clone)]
pub struct Route(Map<String, Value>);

impl Route {
    /// A route to these destinations, with no filter.
    pub fn to(destinations: impl IntoIterator<Item = impl Into<String>>) -> Route {
        let names: Vec<String> = destinations.into_iter().map(Into::into).collect();
        Route(table([("destinations", json!(names))]))
    }

    /// Adds a filter after those added before.
    pub fn filter(mut self, filter: Filter) -> Route {
        let filters = self.0.entry("filters").or_insert_with(|| json!([]));
        filters
            .as_array_mut()
            .expect("filters is an array")
            .push(Value::Object(filter.0));
        self
    }

    /// `on_filter_error`.
    pub fn on_filter_error(self, policy: FailurePolicy) -> Route {
        Route(set(self.0, "on_filter_error", words!(policy)))
    }

    /// `sender_may_choose`: a sender may name, per event, which of the route's
    /// destinations get it (`X-Weir-Destinations`, a multipart `webhook_ids` field).
    pub fn sender_may_choose(self, may: bool) -> Route {
        Route(set(self.0, "sender_may_choose", may))
    }

    /// `max_age` of the route's deliveries to destinations that set none.
    pub fn max_age(self, age: Duration) -> Route {
        Route(set(self.0, "max_age", span(age)))
    }
}

/// One filter of a route.
#[derive(Debug, Clone)]
pub struct Filter(Map<String, Value>);

impl Filter {
    /// The plugin of this name (a file stem in the plugin folder, or an example).
    pub fn plugin(name: &str) -> Filter {
        Filter(table([("plugin", json!(name))]))
    }

    /// `config`: the filter's own config (a `json!` literal; no nulls, which TOML lacks).
    pub fn config(self, config: Value) -> Filter {
        Filter(set(self.0, "config", config))
    }

    /// `timeout`: the deadline of one call.
    pub fn timeout(self, timeout: Duration) -> Filter {
        Filter(set(self.0, "timeout", span(timeout)))
    }

    /// `memory`: the memory cap of one instance, in bytes.
    pub fn memory(self, bytes: u64) -> Filter {
        Filter(set(self.0, "memory", bytes))
    }

    /// `instances`: reuse warm instances, or a fresh one per event.
    pub fn instances(self, instances: InstancesConfig) -> Filter {
        Filter(set(self.0, "instances", words!(instances)))
    }

    /// `max_instances`: instances of this filter that may run at once.
    pub fn max_instances(self, instances: usize) -> Filter {
        Filter(set(self.0, "max_instances", instances))
    }

    /// `state`: where the filter's state store is kept.
    pub fn state(self, state: StateKind) -> Filter {
        Filter(set(self.0, "state", words!(state)))
    }

    /// `max_state_entries`.
    pub fn max_state_entries(self, entries: usize) -> Filter {
        Filter(set(self.0, "max_state_entries", entries))
    }

    /// `max_state_bytes`, in bytes.
    pub fn max_state_bytes(self, bytes: u64) -> Filter {
        Filter(set(self.0, "max_state_bytes", bytes))
    }
}

/// `[destinations.NAME]`: one receiver, and how deliveries reach it.
#[derive(Debug, Clone)]
pub struct Destination(Map<String, Value>);

impl Destination {
    /// A destination at this URL (`http://...`, `https://...` or `log:`).
    pub fn url(url: impl Into<String>) -> Destination {
        let url: String = url.into();
        // The suite's receivers listen on 127.0.0.1, which a destination may reach only
        // with allow_private; tests of that rule set it back with `allow_private(false)`.
        let local = url.contains("//127.0.0.1") || url.contains("@127.0.0.1");
        let destination = Destination(table([("url", Value::String(url))]));
        if local {
            destination.allow_private(true)
        } else {
            destination
        }
    }

    /// `format`: a JSON or a multipart body.
    pub fn format(self, format: BodyFormat) -> Destination {
        Destination(set(self.0, "format", words!(format)))
    }

    /// `include_image`.
    pub fn include_image(self, include: bool) -> Destination {
        Destination(set(self.0, "include_image", include))
    }

    /// `include_masks`.
    pub fn include_masks(self, include: bool) -> Destination {
        Destination(set(self.0, "include_masks", include))
    }

    /// `include_predictions`: `false` sends the event's id, route, task and metadata
    /// without the predictions document.
    pub fn include_predictions(self, include: bool) -> Destination {
        Destination(set(self.0, "include_predictions", include))
    }

    /// `headers`: extra request headers, as (name, value).
    pub fn headers<'a>(self, headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Destination {
        let headers: Map<String, Value> = headers.into_iter().map(|(k, v)| (k.into(), json!(v))).collect();
        Destination(set(self.0, "headers", headers))
    }

    /// `secret`: a Standard Webhooks signing secret (`whsec_...`).
    pub fn secret(self, secret: &str) -> Destination {
        Destination(set(self.0, "secret", secret))
    }

    /// `timeout`: how long one attempt may take.
    pub fn timeout(self, timeout: Duration) -> Destination {
        Destination(set(self.0, "timeout", span(timeout)))
    }

    /// `max_in_flight`.
    pub fn max_in_flight(self, requests: usize) -> Destination {
        Destination(set(self.0, "max_in_flight", requests))
    }

    /// `max_pending`: this destination's share of the store, in deliveries.
    pub fn max_pending(self, deliveries: usize) -> Destination {
        Destination(set(self.0, "max_pending", deliveries))
    }

    /// `max_bytes`: this destination's share of the store, in bytes.
    pub fn max_bytes(self, bytes: u64) -> Destination {
        Destination(set(self.0, "max_bytes", bytes))
    }

    /// `ca_file`: certificate authorities trusted for an `https://` receiver.
    pub fn ca_file(self, path: &Path) -> Destination {
        Destination(set(self.0, "ca_file", path.display().to_string()))
    }

    /// `allow_private`: may reach loopback and private addresses.
    pub fn allow_private(self, allow: bool) -> Destination {
        Destination(set(self.0, "allow_private", allow))
    }

    /// `when_full`: what a new event meets when the share is full.
    pub fn when_full(self, when_full: WhenFull) -> Destination {
        Destination(set(self.0, "when_full", words!(when_full)))
    }

    /// `retry`.
    pub fn retry(self, retry: Retry) -> Destination {
        Destination(set(self.0, "retry", retry.0))
    }

    /// `circuit_breaker`.
    pub fn circuit_breaker(self, breaker: Breaker) -> Destination {
        Destination(set(self.0, "circuit_breaker", breaker.0))
    }

    /// `max_age`: deliveries older than this expire unsent.
    pub fn max_age(self, age: Duration) -> Destination {
        Destination(set(self.0, "max_age", span(age)))
    }

    /// `rate`, as Weir reads it (`"10/s"`).
    pub fn rate(self, rate: &str) -> Destination {
        Destination(set(self.0, "rate", rate))
    }

    /// `burst`.
    pub fn burst(self, burst: u32) -> Destination {
        Destination(set(self.0, "burst", burst))
    }

    /// `concurrency`: `"fixed"` or `"adaptive"`.
    pub fn concurrency(self, concurrency: &str) -> Destination {
        Destination(set(self.0, "concurrency", concurrency))
    }

    /// `cloudevents`.
    pub fn cloudevents(self, cloudevents: bool) -> Destination {
        Destination(set(self.0, "cloudevents", cloudevents))
    }

    /// `batch`: several events per request (`{ max_events = 10, max_wait = "200ms" }`,
    /// as JSON).
    pub fn batch(self, batch: Value) -> Destination {
        Destination(set(self.0, "batch", batch))
    }

    /// `order_by`: the metadata key deliveries are sent in order by.
    pub fn order_by(self, key: &str) -> Destination {
        Destination(set(self.0, "order_by", key))
    }
}

/// A destination's `retry`: when to try again after a failed attempt.
#[derive(Debug, Clone, Default)]
pub struct Retry(Map<String, Value>);

impl Retry {
    /// Weir's defaults.
    pub fn new() -> Retry {
        Retry(Map::new())
    }

    /// `max_retries`: retries after the first attempt.
    pub fn max_retries(self, retries: u32) -> Retry {
        Retry(set(self.0, "max_retries", retries))
    }

    /// `initial_delay`.
    pub fn initial_delay(self, delay: Duration) -> Retry {
        Retry(set(self.0, "initial_delay", span(delay)))
    }

    /// `multiplier`.
    pub fn multiplier(self, multiplier: f64) -> Retry {
        Retry(set(self.0, "multiplier", multiplier))
    }

    /// `max_delay`.
    pub fn max_delay(self, delay: Duration) -> Retry {
        Retry(set(self.0, "max_delay", span(delay)))
    }

    /// `jitter`, as a fraction of each delay.
    pub fn jitter(self, jitter: f64) -> Retry {
        Retry(set(self.0, "jitter", jitter))
    }

    /// `schedule`: one delay per retry, the last one repeating.
    pub fn schedule(self, delays: impl IntoIterator<Item = Duration>) -> Retry {
        let delays: Vec<String> = delays.into_iter().map(span).collect();
        Retry(set(self.0, "schedule", delays))
    }

    /// `max_retry_after`.
    pub fn max_retry_after(self, limit: Duration) -> Retry {
        Retry(set(self.0, "max_retry_after", span(limit)))
    }

    /// `retry_client_errors`.
    pub fn retry_client_errors(self, retry: bool) -> Retry {
        Retry(set(self.0, "retry_client_errors", retry))
    }
}

/// A destination's `circuit_breaker`: when to leave a failing receiver alone.
#[derive(Debug, Clone, Default)]
pub struct Breaker(Map<String, Value>);

impl Breaker {
    /// Weir's defaults.
    pub fn new() -> Breaker {
        Breaker(Map::new())
    }

    /// `failures = 0`: no breaker.
    pub fn off() -> Breaker {
        Breaker::new().failures(0)
    }

    /// `failures`: failed attempts in a row that open the breaker.
    pub fn failures(self, failures: u32) -> Breaker {
        Breaker(set(self.0, "failures", failures))
    }

    /// `cooldown`.
    pub fn cooldown(self, cooldown: Duration) -> Breaker {
        Breaker(set(self.0, "cooldown", span(cooldown)))
    }

    /// `max_cooldown`.
    pub fn max_cooldown(self, cooldown: Duration) -> Breaker {
        Breaker(set(self.0, "max_cooldown", span(cooldown)))
    }
}

fn table<const N: usize>(entries: [(&str, Value); N]) -> Map<String, Value> {
    entries
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect()
}

fn set(mut entries: Map<String, Value>, key: &str, value: impl Into<Value>) -> Map<String, Value> {
    entries.insert(key.into(), value.into());
    entries
}

/// A duration as Weir reads one (`"250ms"`, `"1h"`).
fn span(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

fn write_table(f: &mut fmt::Formatter<'_>, name: &str, entries: &Map<String, Value>) -> fmt::Result {
    writeln!(f, "[{name}]")?;
    for (name, value) in entries {
        writeln!(f, "{} = {}", key(name), inline(value))?;
    }
    Ok(())
}

/// A key: bare when TOML allows it, quoted otherwise.
fn key(name: &str) -> String {
    let bare = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare { name.to_string() } else { string(name) }
}

/// A TOML basic string. JSON's escapes are TOML's too; TOML also wants DEL escaped.
fn string(text: &str) -> String {
    Value::String(text.into()).to_string().replace('\u{7f}', "\\u007F")
}

/// A value written inline: arrays and inline tables, as a config line holds them.
fn inline(value: &Value) -> String {
    match value {
        Value::Null => panic!("TOML has no null: leave the key out instead"),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(text) => string(text),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(inline).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(entries) if entries.is_empty() => "{}".into(),
        Value::Object(entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|(name, value)| format!("{} = {}", key(name), inline(value)))
                .collect();
            format!("{{ {} }}", entries.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use weir::config::{Config, StorageKind, load_str};

    use super::*;

    /// A route to a `log:` destination: Weir refuses a config without a route.
    fn routed(config: WeirConfig) -> WeirConfig {
        config
            .route("r", Route::to(["log"]))
            .destination("log", Destination::url("log:"))
    }

    fn parsed(config: &WeirConfig) -> Config {
        let text = config.to_string();
        load_str(&text, "builder.toml", &|_| None).unwrap_or_else(|problems| {
            let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
            panic!("{}\nin:\n{text}", problems.join("\n"))
        })
    }

    #[test]
    fn an_empty_config_listens_on_ports_of_its_own_and_keeps_every_default() {
        let config = parsed(&routed(WeirConfig::new()));
        let any_port: SocketAddr = ANY_PORT.parse().unwrap();
        assert_eq!((config.server.listen, config.admin.listen), (any_port, any_port));
        let defaults = Config::default();
        assert_eq!(config.server.max_body, defaults.server.max_body);
        assert_eq!(config.storage.kind, StorageKind::Durable);
        assert_eq!(config.storage.path, defaults.storage.path);
        assert_eq!(config.routes.keys().collect::<Vec<_>>(), ["r"]);
        assert!(!WeirConfig::new().names_a_store());
        assert!(config.admin.token.is_none());
    }

    #[test]
    fn server_admin_plugins_and_storage_say_what_was_asked() {
        let builder = routed(WeirConfig::new())
            .server(
                Server::new()
                    .ingest_token("s3cret")
                    .max_body(64 << 10)
                    .unix_socket(Path::new("/tmp/weir test/ingest.sock"))
                    .shutdown_grace(Duration::from_secs(60)),
            )
            .admin_listen("127.0.0.1:9999".parse().unwrap())
            .admin_token("admin-token-0123456789")
            .plugins(Plugins::new().dir(Path::new("/tmp/plugins")).max_instances(7))
            .storage(
                Storage::durable()
                    .path(Path::new("/tmp/store/outbox.db"))
                    .max_pending(3)
                    .max_bytes(4 << 10)
                    .retention(Duration::from_secs(90)),
            );
        assert!(builder.names_a_store());
        let config = parsed(&builder);
        assert_eq!(config.server.listen.to_string(), ANY_PORT);
        assert_eq!(config.server.ingest_token.unwrap().expose(), "s3cret");
        assert_eq!(config.server.max_body.0, 64 << 10);
        assert_eq!(
            config.server.unix_socket,
            Some(PathBuf::from("/tmp/weir test/ingest.sock"))
        );
        assert_eq!(config.server.shutdown_grace.0, Duration::from_secs(60));
        assert_eq!(config.admin.listen.to_string(), "127.0.0.1:9999");
        assert_eq!(config.admin.token.unwrap().expose(), "admin-token-0123456789");
        assert_eq!(config.plugins.dir, Some(PathBuf::from("/tmp/plugins")));
        assert_eq!(config.plugins.max_instances, 7);
        assert_eq!(config.storage.kind, StorageKind::Durable);
        assert_eq!(config.storage.path, PathBuf::from("/tmp/store/outbox.db"));
        assert_eq!(config.storage.max_pending, 3);
        assert_eq!(config.storage.max_bytes.0, 4096);
        assert_eq!(config.storage.retention.0, Duration::from_secs(90));
        assert_eq!(
            parsed(&routed(WeirConfig::new()).storage(Storage::memory()))
                .storage
                .kind,
            StorageKind::Memory
        );
    }

    #[test]
    fn routes_and_their_filters_say_what_was_asked() {
        let builder = WeirConfig::new()
            .storage(Storage::durable())
            .route(
                "cameras",
                Route::to(["hook", "failed"])
                    .filter(Filter::plugin("class-filter").config(json!({
                        "classes": ["person", "car"],
                        "min_confidence": 0.5,
                        "nested": { "a \"quoted\" key": "line\nbreak", "n": 1 },
                    })))
                    .filter(
                        Filter::plugin("cooldown")
                            .timeout(Duration::from_millis(250))
                            .memory(32 << 20)
                            .instances(InstancesConfig::Fresh)
                            .state(StateKind::Durable)
                            .max_state_entries(10)
                            .max_state_bytes(1 << 10),
                    )
                    .on_filter_error(FailurePolicy::SendTo("failed".into())),
            )
            .route(
                "yard",
                Route::to(["hook"])
                    .on_filter_error(FailurePolicy::Pass)
                    .sender_may_choose(true),
            )
            .destination("hook", Destination::url("http://127.0.0.1:1/hook"))
            .destination("failed", Destination::url("log:"));
        let config = parsed(&builder);
        let cameras = &config.routes["cameras"];
        assert_eq!(cameras.destinations, ["hook", "failed"]);
        assert_eq!(cameras.on_filter_error, FailurePolicy::SendTo("failed".into()));
        let plugins: Vec<&str> = cameras.filters.iter().map(|f| f.plugin.as_str()).collect();
        assert_eq!(plugins, ["class-filter", "cooldown"]);
        let filter_config = serde_json::to_value(cameras.filters[0].config.as_ref().unwrap()).unwrap();
        assert_eq!(
            filter_config,
            json!({
                "classes": ["person", "car"],
                "min_confidence": 0.5,
                "nested": { "a \"quoted\" key": "line\nbreak", "n": 1 },
            })
        );
        let cooldown = &cameras.filters[1];
        assert_eq!(cooldown.config, None);
        assert_eq!(cooldown.timeout.unwrap().0, Duration::from_millis(250));
        assert_eq!(cooldown.memory.unwrap().0, 32 << 20);
        assert_eq!(cooldown.instances, Some(InstancesConfig::Fresh));
        assert_eq!(cooldown.state, Some(StateKind::Durable));
        assert_eq!(cooldown.max_state_entries, Some(10));
        assert_eq!(cooldown.max_state_bytes.unwrap().0, 1024);
        assert_eq!(config.routes["yard"].on_filter_error, FailurePolicy::Pass);
        assert!(config.routes["yard"].filters.is_empty());
        assert!(config.routes["yard"].sender_may_choose && !cameras.sender_may_choose);
    }

    #[test]
    fn destinations_with_their_retry_and_breaker_say_what_was_asked() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let builder = WeirConfig::new()
            .route("r", Route::to(["no-masks", "plain"]))
            .destination(
                "no-masks",
                Destination::url("http://127.0.0.1:1/hook")
                    .format(BodyFormat::Multipart)
                    .include_image(true)
                    .include_masks(false)
                    .include_predictions(false)
                    .headers([("Authorization", "Bearer x"), ("X-Team", "yard")])
                    .secret(secret)
                    .timeout(Duration::from_millis(200))
                    .max_in_flight(2)
                    .retry(
                        Retry::new()
                            .max_retries(100)
                            .initial_delay(Duration::from_millis(50))
                            .multiplier(1.0)
                            .max_delay(Duration::from_secs(3600))
                            .jitter(0.0)
                            .max_retry_after(Duration::from_secs(5))
                            .retry_client_errors(true),
                    )
                    .circuit_breaker(
                        Breaker::new()
                            .failures(3)
                            .cooldown(Duration::from_millis(800))
                            .max_cooldown(Duration::from_secs(10)),
                    ),
            )
            .destination(
                "plain",
                Destination::url("http://127.0.0.1:2/hook")
                    .retry(Retry::new().schedule([Duration::from_millis(10), Duration::from_secs(1)]))
                    .circuit_breaker(Breaker::off()),
            );
        let config = parsed(&builder);
        let hook = &config.destinations["no-masks"];
        assert_eq!(hook.url, "http://127.0.0.1:1/hook");
        assert_eq!(hook.format, BodyFormat::Multipart);
        assert!(hook.include_image && !hook.include_masks && !hook.include_predictions);
        let headers: Vec<(String, String)> = hook
            .headers
            .parsed()
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_string()))
            .collect();
        let expected = [("authorization", "Bearer x"), ("x-team", "yard")].map(|(n, v)| (n.to_string(), v.to_string()));
        assert_eq!(headers, expected);
        assert!(hook.secret.is_some());
        assert_eq!(hook.timeout.0, Duration::from_millis(200));
        assert_eq!(hook.max_in_flight, 2);
        let retry = &hook.retry;
        assert_eq!(retry.max_retries, 100);
        assert_eq!(retry.initial_delay.0, Duration::from_millis(50));
        assert_eq!((retry.multiplier, retry.jitter), (1.0, 0.0));
        assert_eq!(retry.max_delay.0, Duration::from_secs(3600));
        assert_eq!(retry.max_retry_after.0, Duration::from_secs(5));
        assert!(retry.retry_client_errors);
        let breaker = &hook.circuit_breaker;
        assert_eq!(breaker.failures, 3);
        assert_eq!(breaker.cooldown.0, Duration::from_millis(800));
        assert_eq!(breaker.max_cooldown.0, Duration::from_secs(10));

        let plain = &config.destinations["plain"];
        assert_eq!(plain.format, BodyFormat::Json);
        assert!(plain.include_predictions);
        let schedule: Vec<Duration> = plain.retry.schedule.as_ref().unwrap().iter().map(|s| s.0).collect();
        assert_eq!(schedule, [Duration::from_millis(10), Duration::from_secs(1)]);
        assert_eq!(plain.circuit_breaker.failures, 0);
        // Only what was set: the rest is Weir's default.
        assert_eq!(
            plain.retry.max_retries,
            weir::config::RetryConfig::default().max_retries
        );
    }

    #[test]
    fn a_later_call_replaces_an_earlier_one_of_the_same_name() {
        let builder = WeirConfig::new()
            .route("r", Route::to(["a"]))
            .destination("a", Destination::url("http://127.0.0.1:1/a"))
            .destination("a", Destination::url("http://127.0.0.1:2/a"))
            .route("r", Route::to(["a"]).filter(Filter::plugin("strip-masks")))
            .storage(Storage::durable())
            .storage(Storage::memory());
        let config = parsed(&builder);
        assert_eq!(config.destinations["a"].url, "http://127.0.0.1:2/a");
        assert_eq!(config.routes["r"].filters.len(), 1);
        assert_eq!(config.storage.kind, StorageKind::Memory);
        assert_eq!(builder.to_string().matches("[destinations.a]").count(), 1);
    }

    #[test]
    fn values_toml_spells_differently_are_written_as_toml() {
        assert_eq!(key("no-masks"), "no-masks");
        assert_eq!(key("a.b"), "\"a.b\"");
        assert_eq!(key(""), "\"\"");
        assert_eq!(string("tab\there \u{7f}"), "\"tab\\there \\u007F\"");
        assert_eq!(inline(&json!({})), "{}");
        assert_eq!(
            inline(&json!({ "k": [1, 2.5, true, "x"] })),
            "{ k = [1, 2.5, true, \"x\"] }"
        );
        assert_eq!(span(Duration::from_millis(1500)), "1s 500ms");
        let odd = routed(WeirConfig::new()).route(
            "r",
            Route::to(["log"]).filter(Filter::plugin("class-filter").config(json!({ "": "empty key", "a.b": [] }))),
        );
        let config = parsed(&odd);
        let filter_config = serde_json::to_value(config.routes["r"].filters[0].config.as_ref().unwrap()).unwrap();
        assert_eq!(filter_config, json!({ "": "empty key", "a.b": [] }));
    }
}
