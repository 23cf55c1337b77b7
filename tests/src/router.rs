//! Starting the real router in the test process, on 127.0.0.1 ports of its own, and
//! talking to it.

use std::time::Duration;

use weir::config::load_str;
use weir::server::{Server, StartError};

use crate::workspace;

/// A running router.
pub struct Weir {
    /// The server.
    pub server: Server,
    /// An HTTP client for ingest and admin.
    pub client: reqwest::Client,
}

/// Starts Weir on `config` (TOML; listeners are forced to 127.0.0.1:0).
pub async fn start(config: &str) -> Weir {
    try_start(config).await.unwrap_or_else(|error| match error {
        StartError::Config(problems) => {
            let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
            panic!("config problems:\n{}", lines.join("\n"))
        }
        other => panic!("{other}"),
    })
}

/// Starts Weir, or says why not.
pub async fn try_start(config: &str) -> Result<Weir, StartError> {
    let mut parsed = load_str(config, "test.toml", &|name| std::env::var(name).ok()).map_err(StartError::Config)?;
    let any_port = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    parsed.server.listen = any_port;
    parsed.admin.listen = any_port;
    parsed.server.shutdown_grace = weir::config::Span(Duration::from_secs(2));
    parsed.plugins.cache_dir = Some(workspace().join("target").join("weir-test-cache"));
    if !config.contains("path =") {
        parsed.storage.path = scratch_store();
    }
    let server = Server::start(parsed, "test.toml", None).await?;
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

    /// GETs an admin endpoint and reads its JSON answer.
    pub async fn admin_json(&self, path: &str) -> serde_json::Value {
        self.client
            .get(self.admin_url(path))
            .send()
            .await
            .expect("the admin listener answers")
            .json()
            .await
            .expect("the admin listener answers JSON")
    }

    /// `GET /admin/events/{id}`: the event's record, its deliveries and their attempts.
    pub async fn event(&self, id: &str) -> serde_json::Value {
        self.admin_json(&format!("/admin/events/{id}")).await
    }

    /// The event's record once `check` holds for it (bounded: [`SETTLE`]).
    pub async fn event_when(
        &self,
        id: &str,
        what: &str,
        check: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        event_when(&self.client, self.server.admin_addr(), id, what, check).await
    }

    /// The event's record once none of its deliveries is pending any more (each
    /// delivered or dead): what Weir did with it, decided by its own records.
    pub async fn settled(&self, id: &str) -> serde_json::Value {
        self.event_when(id, "every delivery delivered or dead", settled).await
    }

    /// POSTs a JSON event to a route.
    pub async fn post_json(&self, route: &str, body: &str) -> reqwest::Response {
        self.client
            .post(self.ingest_url(route))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("ingest answers")
    }

    /// Stops the router (graceful, bounded).
    pub async fn stop(self) {
        self.server.stop(Duration::from_secs(10)).await;
    }
}

/// How long the suite waits for Weir's records to show an outcome before failing.
pub const SETTLE: Duration = Duration::from_secs(30);

/// Whether an event record has deliveries and none of them is pending.
pub fn settled(record: &serde_json::Value) -> bool {
    record["deliveries"]
        .as_array()
        .is_some_and(|list| !list.is_empty() && list.iter().all(|d| d["state"] != "pending"))
}

/// An event's record from the admin listener at `admin`, once `check` holds for it
/// (bounded: [`SETTLE`]). For Weir in the test process and Weir as a child alike.
pub async fn event_when(
    client: &reqwest::Client,
    admin: std::net::SocketAddr,
    id: &str,
    what: &str,
    check: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let url = format!("http://{admin}/admin/events/{id}");
    crate::eventually(&format!("event {id}: {what}"), SETTLE, async || {
        let answer = client.get(&url).send().await.ok()?;
        let record: serde_json::Value = answer.json().await.ok()?;
        check(&record).then_some(record)
    })
    .await
}

/// The delivery of an event record to `destination`.
#[track_caller]
pub fn delivery<'a>(record: &'a serde_json::Value, destination: &str) -> &'a serde_json::Value {
    record["deliveries"]
        .as_array()
        .and_then(|list| list.iter().find(|d| d["destination"] == destination))
        .unwrap_or_else(|| panic!("no delivery to {destination} in {record}"))
}

/// The destinations an event record has deliveries to, sorted.
pub fn destinations(record: &serde_json::Value) -> Vec<String> {
    let mut names: Vec<String> = record["deliveries"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|d| d["destination"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Writes `config` (which should listen on 127.0.0.1:0) to `path` and starts Weir on
/// the file, watching it for changes as `weir run --config` does.
pub async fn start_file(path: &std::path::Path, config: &str) -> Weir {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, config).unwrap();
    let mut parsed = weir::config::load_file(path).unwrap_or_else(|problems| {
        panic!(
            "{}",
            problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
        )
    });
    parsed.plugins.cache_dir = Some(workspace().join("target").join("weir-test-cache"));
    parsed.server.shutdown_grace = weir::config::Span(Duration::from_secs(2));
    let server = Server::start(parsed, &path.display().to_string(), Some(path.to_path_buf()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    Weir {
        server,
        client: crate::http_client(),
    }
}

/// A fresh database path for one test's durable store.
pub fn scratch_store() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = workspace()
        .join("target")
        .join("test-scratch")
        .join("stores")
        .join(format!("{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("outbox.db")
}
