//! Reading a config file and checking it, reporting every problem at once.
//!
//! Each section, route and destination is deserialized on its own, so one typo does
//! not hide the next; then the references between them (routes to destinations and
//! plugins) and the values (URLs, secrets, limits) are checked. Every problem names
//! the file, the key and what to do.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;
use toml::{Table, Value};

use super::env::expand;
use super::limits::{DEFAULT_FILTER_MEMORY, MAX_INSTANCE_MEMORY, MAX_STATE_BYTES, default_filter_instances};
use super::{Config, FailurePolicy, Size, StorageKind};

/// One problem with a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The config file (or `(default config)`).
    pub file: String,
    /// The key, as a dotted path (`destinations.slack.url`); empty for the whole file.
    pub key: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.key, self.message)
        }
    }
}

/// Collects problems for one file.
struct Problems {
    file: String,
    list: Vec<ConfigError>,
    /// Routes and destinations that exist but did not parse (`destinations.hook`):
    /// references to them are not reported again as undefined.
    broken: Vec<String>,
}

impl Problems {
    fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.list.push(ConfigError {
            file: self.file.clone(),
            key: key.into(),
            message: message.into(),
        });
    }
}

/// Reads and checks a config file, expanding `${VAR}` from the process environment.
pub fn load_file(path: &Path) -> Result<Config, Vec<ConfigError>> {
    let (config, problems) = check_file(path);
    match config {
        Some(config) if problems.is_empty() => Ok(config),
        _ => Err(problems),
    }
}

/// Like [`check_str`], for a file; `None` when it cannot be read.
pub fn check_file(path: &Path) -> (Option<Config>, Vec<ConfigError>) {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let (config, problems) = check_str(&text, &file, &|name| std::env::var(name).ok());
            (Some(config), problems)
        }
        Err(error) => (
            None,
            vec![ConfigError {
                file,
                key: String::new(),
                message: format!("cannot read the config file: {error}"),
            }],
        ),
    }
}

/// Checks config text; `file` names it in messages, `env` looks up `${VAR}`s.
pub fn load_str(text: &str, file: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, Vec<ConfigError>> {
    let (config, problems) = check_str(text, file, env);
    if problems.is_empty() { Ok(config) } else { Err(problems) }
}

/// Checks config text and returns what could be read of it along with every problem:
/// `weir check` goes on to check the plugins of the parts that are sound.
pub fn check_str(text: &str, file: &str, env: &dyn Fn(&str) -> Option<String>) -> (Config, Vec<ConfigError>) {
    let mut problems = Problems {
        file: file.to_string(),
        list: Vec::new(),
        broken: Vec::new(),
    };
    let mut table: Table = match text.parse::<Table>() {
        Ok(table) => table,
        Err(error) => {
            let at = error.span().map(|span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!(" at line {line}, column {column}")
            });
            let message = error.message().trim().replace('\n', " ");
            problems.add("", format!("not valid TOML{}: {message}", at.unwrap_or_default()));
            return (Config::default(), problems.list);
        }
    };
    let declared_routes = table
        .get("routes")
        .and_then(Value::as_table)
        .is_some_and(|routes| !routes.is_empty());
    for (key, value) in table.iter_mut() {
        expand_value(value, key, env, &mut problems);
    }

    let mut config = Config::default();
    for (key, value) in table {
        match key.as_str() {
            "server" => section(&key, value, &mut config.server, &mut problems),
            "admin" => section(&key, value, &mut config.admin, &mut problems),
            "plugins" => section(&key, value, &mut config.plugins, &mut problems),
            "storage" => section(&key, value, &mut config.storage, &mut problems),
            "routes" | "destinations" => {
                let Value::Table(entries) = value else {
                    problems.add(&key, format!("must be a table of named entries, like [{key}.NAME]"));
                    continue;
                };
                for (name, entry) in entries {
                    let path = format!("{key}.{name}");
                    let parsed = if key == "routes" {
                        typed(&path, entry, &mut problems).map(|route| {
                            config.routes.insert(name, route);
                        })
                    } else {
                        typed(&path, entry, &mut problems).map(|destination| {
                            config.destinations.insert(name, destination);
                        })
                    };
                    if parsed.is_none() {
                        problems.broken.push(path);
                    }
                }
            }
            other => problems.add(
                other,
                "is not a section Weir knows; the sections are server, admin, plugins, storage, routes, destinations",
            ),
        }
    }
    validate(&config, declared_routes, &mut problems);
    (config, problems.list)
}

fn section<T: DeserializeOwned>(key: &str, value: Value, slot: &mut T, problems: &mut Problems) {
    if let Some(parsed) = typed(key, value, problems) {
        *slot = parsed;
    }
}

fn typed<T: DeserializeOwned>(key: &str, value: Value, problems: &mut Problems) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(parsed) => Some(parsed),
        Err(error) => {
            let inner = error.path().to_string();
            let path = if inner == "." {
                key.to_string()
            } else {
                format!("{key}.{inner}")
            };
            let mut message = error.into_inner().to_string().trim_end().replace('\n', " ");
            // The TOML deserializer repeats the key (" in `listen`"); the path says it.
            if let Some(at) = message.rfind(" in `").filter(|_| message.ends_with('`')) {
                message.truncate(at);
            }
            problems.add(path, message);
            None
        }
    }
}

fn expand_value(value: &mut Value, path: &str, env: &dyn Fn(&str) -> Option<String>, problems: &mut Problems) {
    match value {
        Value::String(text) => match expand(text, env) {
            Ok(expanded) => *text = expanded,
            Err(message) => problems.add(path, message),
        },
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                expand_value(item, &format!("{path}[{i}]"), env, problems);
            }
        }
        Value::Table(table) => {
            for (key, item) in table.iter_mut() {
                expand_value(item, &format!("{path}.{key}"), env, problems);
            }
        }
        _ => {}
    }
}

/// Names for routes and destinations: they appear in URLs, headers and logs.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Whether `name` can name a plugin: a file stem in the plugin folder, never a path. A
/// separator, `..` or an absolute path would load a file from outside the folder (one
/// the reloader does not watch either).
pub fn is_plugin_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

fn validate(config: &Config, declared_routes: bool, problems: &mut Problems) {
    if !declared_routes {
        problems.add(
            "routes",
            "no routes are defined: add a [routes.NAME] section (see weir.example.toml)",
        );
    }
    if config.server.listen == config.admin.listen && config.server.listen.port() != 0 {
        problems.add(
            "admin.listen",
            format!(
                "is the same address as server.listen ({}); give the admin listener its own port",
                config.admin.listen
            ),
        );
    }
    if !config.admin.listen.ip().is_loopback() && config.admin.token.is_none() {
        problems.add(
            "admin.listen",
            format!(
                "{} can be reached from other machines, and [admin] token is not set: anyone who reaches it \
                 could read events and replay deliveries; set token = \"${{WEIR_ADMIN_TOKEN}}\" in [admin] \
                 (and export WEIR_ADMIN_TOKEN), or listen on 127.0.0.1",
                config.admin.listen
            ),
        );
    }
    if config
        .admin
        .token
        .as_ref()
        .is_some_and(|token| token.expose().trim().len() < 16)
    {
        problems.add(
            "admin.token",
            "is shorter than 16 characters; use a long random one (openssl rand -hex 24)",
        );
    }
    if config.server.max_body.0 < 1024 {
        problems.add(
            "server.max_body",
            format!(
                "{} is too small for any event; use at least 1KiB",
                config.server.max_body
            ),
        );
    }
    validate_connection_limits(config, problems);
    match (&config.server.tls_cert, &config.server.tls_key) {
        (Some(_), None) => problems.add("server.tls_key", "is missing: tls_cert needs its private key"),
        (None, Some(_)) => problems.add("server.tls_cert", "is missing: tls_key needs its certificate"),
        _ => {}
    }
    if config.storage.max_pending == 0 {
        problems.add("storage.max_pending", "must be at least 1");
    }
    if config.storage.kind == StorageKind::Jetstream {
        for (key, problem) in config.storage.jetstream.problems() {
            problems.add(key, problem);
        }
        for (name, destination) in &config.destinations {
            if destination.order_by.is_some() {
                problems.add(
                    format!("destinations.{name}.order_by"),
                    "is not available with [storage] kind = \"jetstream\" (its deliveries are shared out among \
                     instances, which keeps no order per key); remove it, or use durable storage",
                );
            }
        }
    }
    if config.plugins.max_instances == 0 {
        problems.add("plugins.max_instances", "must be at least 1");
    }
    if config.plugins.max_plugin_size.0 < 1024 {
        problems.add(
            "plugins.max_plugin_size",
            "is too small for any plugin; use at least 1KiB",
        );
    }
    let wait = config.plugins.instance_wait.0;
    if wait.is_zero() || wait > std::time::Duration::from_secs(60) {
        problems.add(
            "plugins.instance_wait",
            "must be more than 0 and at most 60s; the sender waits that long",
        );
    }
    validate_instance_budget(config, problems);
    for (name, route) in &config.routes {
        validate_route(config, name, route, problems);
    }
    for (name, destination) in &config.destinations {
        validate_destination(name, destination, problems);
    }
}

/// The filters' instances, and their memory, must fit the engine's: what one route's
/// filters may hold can never take instances or memory from another's.
/// The connection layer's and the sender's limits, each within what makes sense.
fn validate_connection_limits(config: &Config, problems: &mut Problems) {
    let server = &config.server;
    let mut within = |key: &str, value: u64, low: u64, high: u64, unit: &str| {
        if value < low || value > high {
            problems.add(
                key,
                format!("{value}{unit} is out of range; use between {low}{unit} and {high}{unit}"),
            );
        }
    };
    within(
        "server.max_connections",
        server.max_connections as u64,
        1,
        1_000_000,
        "",
    );
    within(
        "admin.max_connections",
        config.admin.max_connections as u64,
        1,
        100_000,
        "",
    );
    within(
        "server.max_header_bytes",
        server.max_header_bytes.0,
        8192,
        16 << 20,
        " bytes",
    );
    within("server.max_headers", server.max_headers as u64, 8, 10_000, "");
    within("server.max_json_depth", server.max_json_depth as u64, 2, 512, "");
    within(
        "server.max_metadata_entries",
        server.max_metadata_entries as u64,
        0,
        1024,
        "",
    );
    within(
        "server.max_metadata_key",
        server.max_metadata_key as u64,
        1,
        1024,
        " bytes",
    );
    within(
        "server.max_metadata_value",
        server.max_metadata_value as u64,
        1,
        65536,
        " bytes",
    );
    for (key, span) in [
        ("server.header_timeout", server.header_timeout),
        ("server.body_timeout", server.body_timeout),
    ] {
        if span.0 < Duration::from_millis(100) || span.0 > Duration::from_secs(3600) {
            let span = humantime::format_duration(span.0);
            problems.add(key, format!("{span} is out of range; use between 100ms and 1h"));
        }
    }
}

fn validate_instance_budget(config: &Config, problems: &mut Problems) {
    let filters = config.routes.values().flat_map(|route| route.filters.iter());
    let (mut instances, mut memory) = (0u64, 0u64);
    for filter in filters {
        let count = filter.max_instances.unwrap_or_else(default_filter_instances) as u64;
        instances += count;
        // A memory out of range is reported on its own key; counting it here as well
        // would give one mistake two messages.
        let each = filter.memory.map_or(DEFAULT_FILTER_MEMORY, |m| m.0);
        if each <= MAX_INSTANCE_MEMORY {
            memory += count * each;
        }
    }
    if instances > u64::from(config.plugins.max_instances) {
        problems.add(
            "plugins.max_instances",
            format!(
                "the routes' filters may run {instances} instances at once (each filter's max_instances, default {}), more than plugins.max_instances = {}: raise it, or lower the filters' max_instances",
                default_filter_instances(),
                config.plugins.max_instances
            ),
        );
    }
    if memory > config.plugins.memory_budget.0 {
        problems.add(
            "plugins.memory_budget",
            format!(
                "the routes' filters may use {} of memory at once (each filter's memory times its max_instances), more than plugins.memory_budget = {}: raise it, or lower the filters' memory or max_instances",
                Size(memory),
                config.plugins.memory_budget
            ),
        );
    }
}

fn validate_route(config: &Config, name: &str, route: &super::RouteConfig, problems: &mut Problems) {
    let key = format!("routes.{name}");
    if !valid_name(name) {
        problems.add(
            &key,
            "route names may use only letters, digits, - and _ (they appear in the ingest URL)",
        );
    }
    if route.destinations.is_empty() {
        problems.add(format!("{key}.destinations"), "is empty: name at least one destination");
    }
    if route.max_age.is_some_and(|age| age.0.is_zero()) {
        problems.add(
            format!("{key}.max_age"),
            "must be more than 0 (leave it out for no limit)",
        );
    }
    let broken = problems.broken.clone();
    let defined = |name: &str| {
        config.destinations.contains_key(name) || broken.iter().any(|b| b == &format!("destinations.{name}"))
    };
    for (i, destination) in route.destinations.iter().enumerate() {
        if !defined(destination) {
            problems.add(
                format!("{key}.destinations[{i}]"),
                format!(
                    "{destination:?} is not a defined destination; define [destinations.{destination}] or remove it"
                ),
            );
        }
        if route.destinations[..i].contains(destination) {
            problems.add(
                format!("{key}.destinations[{i}]"),
                format!("{destination:?} is listed twice"),
            );
        }
    }
    if let FailurePolicy::SendTo(destination) = &route.on_filter_error
        && !defined(destination)
    {
        problems.add(
            format!("{key}.on_filter_error.send_to"),
            format!(
                "{destination:?} is not a defined destination; define [destinations.{destination}] or choose another"
            ),
        );
    }
    for (i, filter) in route.filters.iter().enumerate() {
        let key = format!("{key}.filters[{i}]");
        if filter.plugin.trim().is_empty() {
            problems.add(
                format!("{key}.plugin"),
                "is empty: name a plugin (a file stem in the plugin folder, or an example)",
            );
        } else if !is_plugin_name(&filter.plugin) {
            problems.add(
                format!("{key}.plugin"),
                format!(
                    "{:?} is not a plugin name: name a file of the plugin folder by its stem (letters, digits, '-', '_', '.'; not starting with '.'), never a path; put the file in the folder",
                    filter.plugin
                ),
            );
        }
        if let Some(timeout) = filter.timeout
            && (timeout.0.is_zero() || timeout.0 > std::time::Duration::from_secs(60))
        {
            problems.add(
                format!("{key}.timeout"),
                "must be more than 0 and at most 60s; filters run while the sender waits",
            );
        }
        if let Some(memory) = filter.memory
            && (memory.0 < (1 << 20) || memory.0 > MAX_INSTANCE_MEMORY)
        {
            problems.add(
                format!("{key}.memory"),
                format!("{memory} is out of range; use between 1MiB and 4GiB"),
            );
        }
        if let Some(count) = filter.max_instances
            && !(1..=1024).contains(&count)
        {
            problems.add(format!("{key}.max_instances"), "must be between 1 and 1024");
        }
        if let Some(value) = &filter.config
            && serde_json::to_value(value).is_err()
        {
            problems.add(format!("{key}.config"), "cannot be turned into JSON for the plugin");
        }
        if filter.state == Some(super::StateKind::Durable) && config.storage.kind != StorageKind::Durable {
            problems.add(
                format!("{key}.state"),
                "\"durable\" needs [storage] kind = \"durable\" (the state is written to that store); use \"memory\" or make the storage durable",
            );
        }
        if filter.max_state_entries == Some(0) {
            problems.add(format!("{key}.max_state_entries"), "must be at least 1");
        }
        if let Some(bytes) = filter.max_state_bytes
            && (bytes.0 < 1024 || bytes.0 > MAX_STATE_BYTES)
        {
            problems.add(
                format!("{key}.max_state_bytes"),
                format!("{bytes} is out of range; use between 1KiB and 1GiB"),
            );
        }
    }
}

fn validate_destination(name: &str, destination: &super::DestinationConfig, problems: &mut Problems) {
    let key = format!("destinations.{name}");
    if !valid_name(name) {
        problems.add(&key, "destination names may use only letters, digits, - and _");
    }
    if destination.url != "log:" {
        let shown = super::http::redacted_url(&destination.url);
        match url::Url::parse(&destination.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                let credentials = !url.username().is_empty() || url.password().is_some();
                let authorization = destination
                    .headers
                    .0
                    .iter()
                    .any(|header| header.name.eq_ignore_ascii_case("authorization"));
                if credentials && authorization {
                    problems.add(
                        format!("{key}.url"),
                        "has user:password@ and headers set Authorization too; keep one (the URL's credentials are sent as Basic authentication)",
                    );
                }
            }
            Ok(url) => problems.add(
                format!("{key}.url"),
                format!(
                    "{shown:?} has scheme {:?}; use an http:// or https:// URL, or log:",
                    url.scheme()
                ),
            ),
            Err(error) => problems.add(
                format!("{key}.url"),
                format!("{shown:?} is not a URL ({error}); use an http:// or https:// URL, or log:"),
            ),
        }
    }
    if destination.format.is_json() && (destination.include_image || destination.include_masks) {
        problems.add(
            &key,
            "include_image and include_masks only apply to format = \"multipart\"; set the format or remove them",
        );
    }
    if let Some(Err(message)) = destination.secret.as_ref().map(|secret| &secret.keys) {
        problems.add(format!("{key}.secret"), message);
    }
    for header in &destination.headers.0 {
        if let Err(message) = &header.parsed {
            problems.add(format!("{key}.headers.{}", header.name), message);
        }
    }
    if destination.timeout.0.is_zero() {
        problems.add(format!("{key}.timeout"), "must be more than 0");
    }
    if destination.max_pending == Some(0) {
        problems.add(
            format!("{key}.max_pending"),
            "must be at least 1 (leave it out for an equal share of storage.max_pending)",
        );
    }
    if destination.max_bytes.is_some_and(|size| size.0 < 1024) {
        problems.add(
            format!("{key}.max_bytes"),
            "must be at least 1KiB (leave it out for an equal share of storage.max_bytes)",
        );
    }
    if destination.max_age.is_some_and(|age| age.0.is_zero()) {
        problems.add(
            format!("{key}.max_age"),
            "must be more than 0 (leave it out for no limit)",
        );
    }
    if destination.burst.is_some() && destination.rate.is_none() {
        problems.add(
            format!("{key}.burst"),
            "only applies with rate; set rate = \"50/s\" (say) or remove it",
        );
    }
    if let Some(batch) = &destination.batch {
        if !destination.format.is_json() {
            problems.add(
                format!("{key}.batch"),
                "batches are JSON (an array, or ndjson): use format = \"json\", or send multipart one event at a time",
            );
        }
        if destination.cloudevents || destination.format == super::BodyFormat::Cloudevents {
            problems.add(
                format!("{key}.batch"),
                "cannot be combined with CloudEvents (binary mode is one event per request); remove one of them",
            );
        }
        if !(1..=10_000).contains(&batch.max_events) {
            problems.add(format!("{key}.batch.max_events"), "must be between 1 and 10000");
        }
        if batch.max_bytes.0 < 1024 {
            problems.add(format!("{key}.batch.max_bytes"), "must be at least 1KiB");
        }
        if batch.max_wait.0 > std::time::Duration::from_secs(3600) {
            problems.add(format!("{key}.batch.max_wait"), "must be at most 1h");
        }
    }
    if destination.order_by.as_ref().is_some_and(|key| key.trim().is_empty()) {
        problems.add(
            format!("{key}.order_by"),
            "is empty; name the metadata key to order by (\"camera\", say) or remove it",
        );
    }
    if destination.burst == Some(0) {
        problems.add(format!("{key}.burst"), "must be at least 1");
    }
    if destination.max_in_flight == 0 || destination.max_in_flight > 1024 {
        problems.add(format!("{key}.max_in_flight"), "must be between 1 and 1024");
    }
    let retry = &destination.retry;
    if retry.multiplier < 1.0 {
        problems.add(
            format!("{key}.retry.multiplier"),
            "must be at least 1 (delays never shrink)",
        );
    }
    if !(0.0..=1.0).contains(&retry.jitter) {
        problems.add(
            format!("{key}.retry.jitter"),
            "must be between 0 and 1 (a fraction of the delay)",
        );
    }
    if retry.schedule.as_ref().is_some_and(Vec::is_empty) {
        problems.add(
            format!("{key}.retry.schedule"),
            "is empty; remove it to use the exponential schedule, or list delays",
        );
    }
    if retry.initial_delay > retry.max_delay {
        problems.add(format!("{key}.retry.initial_delay"), "is longer than retry.max_delay");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, Vec<String>> {
        load_str(text, "weir.toml", &|name| {
            (name == "TOKEN").then(|| "t0k3n".to_string())
        })
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }

    const MINIMAL: &str = r#"
        [routes.cameras]
        destinations = ["hook"]
        [destinations.hook]
        url = "http://127.0.0.1:9000/hook"
    "#;

    #[test]
    fn a_minimal_config_gets_the_defaults() {
        let config = load(MINIMAL).unwrap();
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.destinations["hook"].retry.max_retries, 5);
        assert_eq!(
            config.destinations["hook"].timeout.0,
            std::time::Duration::from_secs(10)
        );
        assert_eq!(config.routes["cameras"].on_filter_error, FailurePolicy::Drop);
    }

    #[test]
    fn expands_environment_variables_and_names_missing_ones() {
        let text = format!("{MINIMAL}\n[server]\ningest_token = \"${{TOKEN}}\"\n");
        let config = load(&text).unwrap();
        assert_eq!(config.server.ingest_token.unwrap().expose(), "t0k3n");
        let text = format!("{MINIMAL}\n[server]\ningest_token = \"${{MISSING}}\"\n");
        assert_eq!(
            load(&text).unwrap_err(),
            [
                "weir.toml: server.ingest_token: environment variable MISSING is not set; export it, or remove the reference"
            ]
        );
    }

    #[test]
    fn lists_every_problem_at_once() {
        let text = r#"
            [server]
            listen = "nowhere"
            [routes.cameras]
            destinations = ["hook", "ghost"]
            on_filter_error = "explode"
            [routes."bad name"]
            destinations = ["hook"]
            [destinations.hook]
            url = "ftp://example.com"
            secret = "hunter2"
            retry = { jitter = 3.0 }
            [extra]
        "#;
        let errors = load(text).unwrap_err();
        assert_eq!(
            errors,
            [
                "weir.toml: extra: is not a section Weir knows; the sections are server, admin, plugins, storage, routes, destinations",
                "weir.toml: routes.cameras.on_filter_error: \"explode\" must be \"drop\", \"pass\", or { send_to = \"DESTINATION\" }",
                "weir.toml: server.listen: invalid socket address syntax",
                "weir.toml: routes.bad name: route names may use only letters, digits, - and _ (they appear in the ingest URL)",
                "weir.toml: destinations.hook.url: \"ftp://example.com\" has scheme \"ftp\"; use an http:// or https:// URL, or log:",
                "weir.toml: destinations.hook.secret: a signing secret must be whsec_ followed by base64 (24 to 64 random bytes); generate one with: echo whsec_$(openssl rand -base64 32)",
                "weir.toml: destinations.hook.retry.jitter: must be between 0 and 1 (a fraction of the delay)",
            ]
        );
    }

    #[test]
    fn an_admin_listener_others_can_reach_needs_a_token() {
        let open = format!("{MINIMAL}\n[admin]\nlisten = \"0.0.0.0:9090\"\n");
        assert_eq!(
            load(&open).unwrap_err(),
            [
                "weir.toml: admin.listen: 0.0.0.0:9090 can be reached from other machines, and [admin] token is not set: \
                 anyone who reaches it could read events and replay deliveries; set token = \"${WEIR_ADMIN_TOKEN}\" in [admin] \
                 (and export WEIR_ADMIN_TOKEN), or listen on 127.0.0.1"
            ]
        );
        let guarded = format!("{open}token = \"0123456789abcdef0123\"\n");
        assert_eq!(
            load(&guarded).unwrap().admin.token.unwrap().expose(),
            "0123456789abcdef0123"
        );
        let short = format!("{open}token = \"short\"\n");
        assert_eq!(
            load(&short).unwrap_err(),
            ["weir.toml: admin.token: is shorter than 16 characters; use a long random one (openssl rand -hex 24)"]
        );
        // On loopback, no token is needed.
        assert!(load(MINIMAL).unwrap().admin.token.is_none());
    }

    #[test]
    fn reports_toml_syntax_errors_with_their_position() {
        let errors = load("[server]\nlisten = \"x\"\n[routes\n").unwrap_err();
        assert_eq!(
            errors,
            ["weir.toml: not valid TOML at line 3, column 8: unclosed table, expected `]`"]
        );
    }
}
