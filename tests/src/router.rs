//! Starting the real router in the test process, on 127.0.0.1 ports of its own, and
//! talking to it.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use weir::config::{Config, Span, load_str};
use weir::server::{Server, StartError};

use crate::config::WeirConfig;
use crate::records;
use crate::scratch::scratch_store;
use crate::workspace;

/// How long an in-process Weir gives deliveries in flight when a test stops it.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A running router.
pub struct Weir {
    /// The server.
    pub server: Server,
    /// An HTTP client for ingest and admin.
    pub client: reqwest::Client,
}

/// Starts Weir on `config`. A config that names no durable store gets a fresh one of
/// its own ([`scratch_store`]), so tests running at once never share one.
pub async fn start(config: &WeirConfig) -> Weir {
    try_start(config).await.unwrap_or_else(|error| match error {
        StartError::Config(problems) => {
            let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
            panic!("config problems:\n{}", lines.join("\n"))
        }
        other => panic!("{other}"),
    })
}

/// Starts Weir, or says why not.
pub async fn try_start(config: &WeirConfig) -> Result<Weir, StartError> {
    let mut parsed =
        load_str(&config.to_string(), "test.toml", &|name| std::env::var(name).ok()).map_err(StartError::Config)?;
    if !config.names_a_store() {
        parsed.storage.path = scratch_store();
    }
    serve(parsed, "test.toml", None).await
}

/// Writes `config` to `path` and starts Weir on the file, watching it for changes as
/// `weir run --config` does.
pub async fn start_file(path: &Path, config: &WeirConfig) -> Weir {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, config.to_string()).unwrap();
    let parsed = weir::config::load_file(path).unwrap_or_else(|problems| {
        panic!(
            "{}",
            problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
        )
    });
    serve(parsed, &path.display().to_string(), Some(path.to_path_buf()))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Starts a server on a parsed config, with the suite's compiled-code cache and a
/// short shutdown grace.
async fn serve(mut config: Config, name: &str, watched: Option<std::path::PathBuf>) -> Result<Weir, StartError> {
    config.plugins.cache_dir = Some(workspace().join("target").join("weir-test-cache"));
    config.server.shutdown_grace = Span(SHUTDOWN_GRACE);
    let server = Server::start(config, name, watched).await?;
    Ok(Weir {
        server,
        client: crate::http_client(),
    })
}

impl Weir {
    /// `http://addr/ingest/{route}`.
    pub fn ingest_url(&self, route: &str) -> String {
        format!("http://{}/ingest/{route}", self.server.ingest_addr())
    }

    /// `http://admin-addr{path}`.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.admin_addr())
    }

    /// GETs an admin endpoint.
    pub async fn admin_get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.admin_url(path))
            .send()
            .await
            .expect("the admin listener answers")
    }

    /// POSTs to an admin endpoint (a reload, a replay), with no body.
    pub async fn admin_post(&self, path: &str) -> reqwest::Response {
        self.client
            .post(self.admin_url(path))
            .send()
            .await
            .expect("the admin listener answers")
    }

    /// GETs an admin endpoint and reads its JSON answer.
    pub async fn admin_json(&self, path: &str) -> Value {
        self.admin_get(path)
            .await
            .json()
            .await
            .expect("the admin listener answers JSON")
    }

    /// `GET /admin/events/{id}`: the event's record, its deliveries and their attempts.
    pub async fn event(&self, id: &str) -> Value {
        self.admin_json(&format!("/admin/events/{id}")).await
    }

    /// The event's record once `check` holds for it (bounded: [`records::SETTLE`]).
    pub async fn event_when(&self, id: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        records::event_when(&self.client, self.server.admin_addr(), id, what, check).await
    }

    /// The event's record once none of its deliveries is pending any more (each
    /// delivered or dead): what Weir did with it, decided by its own records.
    pub async fn settled(&self, id: &str) -> Value {
        self.event_when(id, "every delivery delivered or dead", records::settled)
            .await
    }

    /// Plugin `name`'s entry in `GET /admin/plugins` (`null` when not listed).
    pub async fn plugin(&self, name: &str) -> Value {
        records::plugin_status(&self.client, self.server.admin_addr(), name).await
    }

    /// One series of `/metrics` (0 when Weir has not written it): see [`records::metric`].
    pub async fn metric(&self, series: &str) -> u64 {
        records::metric(&self.metrics().await, series).unwrap_or(0)
    }

    /// The whole `/metrics` text.
    pub async fn metrics(&self) -> String {
        records::metrics(&self.client, self.server.admin_addr()).await
    }

    /// POSTs a body of this content type to a route.
    pub async fn post(&self, route: &str, content_type: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(self.ingest_url(route))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("ingest answers")
    }

    /// POSTs a JSON event to a route.
    pub async fn post_json(&self, route: &str, body: &str) -> reqwest::Response {
        self.post(route, "application/json", body.to_string()).await
    }

    /// Stops the router (graceful, bounded).
    pub async fn stop(self) {
        self.server.stop(Duration::from_secs(10)).await;
    }
}
