//! Hot reload: replacing, breaking, half-writing and removing plugins, and changing the
//! config, while Weir serves.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use weir::config::FailurePolicy;
use weir_tests::config::{Destination, Filter, Plugins, Retry, Route, Storage};
use weir_tests::process::WeirProcess;
use weir_tests::receiver::{Receiver, free_port};
use weir_tests::records::{SETTLE, destinations, plugin_status};
use weir_tests::router::start_file;
use weir_tests::scratch::{plugins_folder, scratch_store};
use weir_tests::{WeirConfig, eventually, example_path};

/// A fresh folder for one test: `plugins/` and `weir.toml` go in it.
fn folder(name: &str) -> PathBuf {
    plugins_folder(&format!("reload/{name}"))
}

/// Route `cameras` through plugin `v` (`plugins/v.wasm`) to these destinations.
fn cameras<const N: usize>(destinations: [&str; N]) -> Route {
    Route::to(destinations).filter(Filter::plugin("v"))
}

/// The config these tests start from: memory storage, the folder's plugins, and route
/// `cameras` to `hook`.
fn config(dir: &Path, hook: &Receiver) -> WeirConfig {
    WeirConfig::new()
        .storage(Storage::memory())
        .plugins(Plugins::new().dir(&dir.join("plugins")))
        .route("cameras", cameras(["hook"]))
        .destination("hook", Destination::url(hook.url()))
}

/// Installs an example plugin's build as `plugins/v.wasm`.
fn put(dir: &Path, example: &str) {
    std::fs::copy(example_path(example), dir.join("plugins").join("v.wasm")).unwrap();
}

fn sha256(path: &Path) -> String {
    use std::process::Command;
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

const EVENT: &str = r#"{"camera":"dock-3","predictions":[{"class":"person","confidence":0.9,"mask":"mask_0000.png"}]}"#;

/// The send order a delivery carries in its event id (`n-<order>`).
fn send_order(request: &weir_tests::receiver::Received) -> Option<u64> {
    request.header("webhook-id").strip_prefix("n-")?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_replaced_under_load_switches_versions_between_two_events() {
    let dir = folder("replace");
    let mut hook = Receiver::ok().await;
    put(&dir, "strip-masks");
    let weir = start_file(&dir.join("weir.toml"), &config(&dir, &hook)).await;

    // One sender, each event sent once the previous was acknowledged: ingest order is
    // send order, so the switch must fall between two consecutive events.
    let (ingest, client) = (weir.ingest_url("cameras"), weir.client.clone());
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    let sender = tokio::spawn(async move {
        let mut sent = 0u32;
        loop {
            // The event id carries the send order: it survives any reshaping of the body.
            let answer = client
                .post(&ingest)
                .header("content-type", "application/json")
                .header("idempotency-key", format!("n-{sent}"))
                .body(EVENT)
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 202, "ingest failed during the swap");
            sent += 1;
            if *rx.borrow_and_update() {
                return sent;
            }
        }
    });
    // Deliveries: strip-masks' output (mask removed) until the switch, reshape's after.
    // Five of them arrive before the new file is put in place.
    let mut versions = Vec::new();
    while versions.len() < 5 {
        let request = hook.next().await;
        assert_eq!(request.json()["predictions"][0].get("mask"), None);
        versions.push((send_order(&request), "old"));
    }
    put(&dir, "reshape");
    let new_hash = sha256(&dir.join("plugins").join("v.wasm"));
    loop {
        let request = hook.next().await;
        let body = request.json();
        let version = if body.get("text").is_some() { "new" } else { "old" };
        if version == "old" {
            assert_eq!(
                body["predictions"][0].get("mask"),
                None,
                "strip-masks did not run: {body}"
            );
        }
        versions.push((send_order(&request), version));
        if versions.iter().filter(|(_, v)| *v == "new").count() >= 20 {
            break;
        }
    }
    tx.send(true).unwrap();
    let sent = sender.await.unwrap();
    // Take what is still on its way (every event sent was acknowledged, so each has a
    // delivery coming), then check the order.
    while versions.len() < sent as usize {
        let request = hook.next().await;
        let body = request.json();
        versions.push((
            send_order(&request),
            if body.get("text").is_some() { "new" } else { "old" },
        ));
    }
    // Deliveries may overtake each other on the destination's parallel connections, so
    // the order to check is the send order each body carries, not the arrival order.
    versions.sort_by_key(|(n, _)| *n);
    let numbers: Vec<Option<u64>> = versions.iter().map(|(n, _)| *n).collect();
    let expected: Vec<Option<u64>> = (0..u64::from(sent)).map(Some).collect();
    assert_eq!(numbers, expected, "every event delivered exactly once");
    let first_new = versions.iter().position(|(_, v)| *v == "new").unwrap();
    assert!(first_new > 0, "the old version never served");
    assert!(
        versions[first_new..].iter().all(|(_, v)| *v == "new"),
        "an old-version event after a new one"
    );
    let status = weir.plugin("v").await;
    assert_eq!(status["hash"], new_hash.as_str());
    assert_eq!(status["versions"], 2);
    assert_eq!(status["last_error"], Value::Null);
    weir.stop().await;
}

#[tokio::test]
async fn a_broken_file_leaves_the_last_good_version_serving_until_fixed() {
    let dir = folder("broken");
    let mut hook = Receiver::ok().await;
    put(&dir, "strip-masks");
    let weir = start_file(&dir.join("weir.toml"), &config(&dir, &hook)).await;
    let good = sha256(&dir.join("plugins").join("v.wasm"));
    let plugin_file = dir.join("plugins").join("v.wasm");
    let bytes = std::fs::read(example_path("reshape")).unwrap();
    let empty_component = wat::parse_str("(component)").unwrap();
    let route_by_class = std::fs::read(example_path("route-by-class")).unwrap();
    let cases: [(&str, &[u8], &str); 3] = [
        ("truncated", &bytes[..bytes.len() / 3], "cannot compile"),
        (
            "wrong world",
            &empty_component,
            "does not implement the weir:filter world",
        ),
        // route-by-class refuses the route's config ({}): its init fails.
        ("init error", &route_by_class, "refused its config"),
    ];
    for (what, content, expected) in cases {
        std::fs::write(&plugin_file, content).unwrap();
        eventually(what, SETTLE, async || {
            let status = weir.plugin("v").await;
            status["last_error"]
                .as_str()
                .is_some_and(|e| e.contains(expected))
                .then_some(())
        })
        .await;
        let status = weir.plugin("v").await;
        assert_eq!(status["hash"], good.as_str(), "{what}: the version serving changed");
        // Still served by the good version.
        weir.post_json("cameras", EVENT).await;
        let body = hook.next().await.json();
        assert!(
            body["predictions"][0].get("mask").is_none() && body.get("text").is_none(),
            "{what}: {body}"
        );
    }
    // Fixing the file recovers.
    std::fs::write(&plugin_file, &bytes).unwrap();
    eventually("the fixed file", SETTLE, async || {
        weir.plugin("v").await["last_error"].is_null().then_some(())
    })
    .await;
    weir.post_json("cameras", EVENT).await;
    assert!(hook.next().await.json().get("text").is_some());
    assert_eq!(weir.plugin("v").await["versions"], 2);
    weir.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_written_in_chunks_is_loaded_once_complete() {
    // Weir in a process of its own, so its watcher runs while the file is half-written,
    // and its log shows every load it tried.
    let dir = folder("chunks");
    let mut hook = Receiver::ok().await;
    put(&dir, "strip-masks");
    let old = sha256(&dir.join("plugins").join("v.wasm"));
    let weir = WeirProcess::spawn(env!("CARGO_BIN_EXE_weir"), &dir, &config(&dir, &hook));
    let bytes = std::fs::read(example_path("reshape")).unwrap();
    let complete = {
        let staged = dir.join("reshape.staged");
        std::fs::write(&staged, &bytes).unwrap();
        sha256(&staged)
    };
    // Written as a slow copy does: eight chunks, 10 ms apart, from a thread of its own
    // (the watcher's debounce waits for 100 ms of quiet).
    let target = dir.join("plugins").join("v.wasm");
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let mut file = std::fs::File::create(target).unwrap();
        for chunk in bytes.chunks(bytes.len() / 8 + 1) {
            file.write_all(chunk).unwrap();
            file.flush().unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    // What the admin API shows while the file is written and after, until the new
    // version serves.
    let client = weir_tests::http_client();
    let mut seen = Vec::new();
    let last = eventually("the complete file to serve", SETTLE, async || {
        let now = plugin_status(&client, weir.admin, "v").await;
        seen.push(now.clone());
        (writer.is_finished() && now["hash"] == complete.as_str()).then_some(now)
    })
    .await;
    writer.join().unwrap();
    // Only the old and the complete version ever served, and no load was ever refused:
    // a half-written file was never tried.
    for status in &seen {
        assert!(
            status["hash"] == old.as_str() || status["hash"] == complete.as_str(),
            "{status}"
        );
        assert_eq!(status["last_error"], Value::Null, "a partial file was tried: {status}");
    }
    assert_eq!(last["versions"], 2, "loaded more than once: {last}");
    assert!(
        !weir.logged("new plugin file refused") && !weir.logged("new plugin version refused"),
        "a partial file was tried:\n{}",
        weir.log_text()
    );
    let posted = client
        .post(format!("http://{}/ingest/cameras", weir.ingest))
        .header("content-type", "application/json")
        .body(EVENT)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 202);
    assert!(hook.next().await.json().get("text").is_some());
}

#[tokio::test]
async fn a_removed_plugin_applies_the_failure_policy_until_it_is_back() {
    let dir = folder("removed");
    let (mut hook, mut failed) = (Receiver::ok().await, Receiver::ok().await);
    put(&dir, "strip-masks");
    let config = config(&dir, &hook)
        .route(
            "cameras",
            cameras(["hook"]).on_filter_error(FailurePolicy::SendTo("failed".into())),
        )
        .destination("failed", Destination::url(failed.url()));
    let weir = start_file(&dir.join("weir.toml"), &config).await;
    std::fs::remove_file(dir.join("plugins").join("v.wasm")).unwrap();
    eventually("the plugin to be missing", SETTLE, async || {
        (weir.plugin("v").await["missing"] == true).then_some(())
    })
    .await;
    let answer: Value = weir.post_json("cameras", EVENT).await.json().await.unwrap();
    let request = failed.next().await;
    assert!(
        request
            .header("x-weir-meta-weir-error")
            .contains("its file was removed from the plugin folder"),
        "{:?}",
        request.headers
    );
    let record = weir.settled(answer["id"].as_str().unwrap()).await;
    assert_eq!(destinations(&record), ["failed"], "{record}");
    assert!(hook.try_next().is_none());

    put(&dir, "strip-masks");
    eventually("the plugin to be back", SETTLE, async || {
        (weir.plugin("v").await["missing"] == false).then_some(())
    })
    .await;
    weir.post_json("cameras", EVENT).await;
    assert_eq!(hook.next().await.json()["predictions"][0].get("mask"), None);
    weir.stop().await;
}

#[tokio::test]
async fn the_config_reloads_when_valid_and_stays_when_not() {
    let dir = folder("config");
    let (mut hook, mut other) = (Receiver::ok().await, Receiver::ok().await);
    put(&dir, "strip-masks");
    let path = dir.join("weir.toml");
    let original = config(&dir, &hook);
    let weir = start_file(&path, &original).await;

    // A valid change, picked up by the file watcher: a new route and destination.
    let added = original
        .clone()
        .route("yard", Route::to(["other"]))
        .destination("other", Destination::url(other.url()));
    std::fs::write(&path, added.to_string()).unwrap();
    eventually("the new route", SETTLE, async || {
        (weir.post_json("yard", "{}").await.status() == 202).then_some(())
    })
    .await;
    other.next().await;

    // An invalid change is refused with every problem, and changes nothing.
    let ftp = |receiver: &Receiver| Destination::url(receiver.url().replacen("http", "ftp", 1));
    let broken = added
        .destination("hook", ftp(&hook))
        .destination("other", ftp(&other))
        .route("yard", Route::to(["other"]).filter(Filter::plugin("nope")));
    std::fs::write(&path, broken.to_string()).unwrap();
    let answer = weir.admin_post("/admin/reload").await;
    assert_eq!(answer.status(), 422);
    let answer: Value = answer.json().await.unwrap();
    let problems: Vec<&str> = answer["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("destinations.hook.url") && p.contains("scheme \"ftp\"")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("destinations.other.url")),
        "{problems:?}"
    );
    let running: Value = weir.admin_json("/admin/config").await;
    assert_eq!(running["config"]["destinations"]["hook"]["url"], hook.url().as_str());
    assert_eq!(weir.post_json("yard", "{}").await.status(), 202);
    other.next().await;

    // Removing a route and its destination: the route is gone, secrets stay hidden.
    let with_secret = original.destination(
        "hook",
        Destination::url(hook.url()).secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    );
    std::fs::write(&path, with_secret.to_string()).unwrap();
    let answer = weir.admin_post("/admin/reload").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(weir.post_json("yard", "{}").await.status(), 404);
    let running: Value = weir.admin_json("/admin/config").await;
    assert_eq!(running["config"]["destinations"]["hook"]["secret"], "<redacted>");
    weir.post_json("cameras", EVENT).await;
    let delivered = hook.next().await;
    assert!(delivered.header("webhook-signature").starts_with("v1,"));
    weir.stop().await;
}

#[tokio::test]
async fn a_removed_destination_moves_its_pending_deliveries_to_the_dead_letters() {
    let dir = folder("retire");
    let hook = Receiver::ok().await;
    put(&dir, "strip-masks");
    let down = free_port();
    let path = dir.join("weir.toml");
    // The config to start with has a destination `down` that never answers; the one
    // written afterwards is the same without it.
    let without = config(&dir, &hook).storage(Storage::durable().path(&scratch_store()));
    let hour = Duration::from_secs(3600);
    let original = without.clone().route("cameras", cameras(["hook", "down"])).destination(
        "down",
        Destination::url(format!("http://{down}/")).retry(Retry::new().initial_delay(hour).max_delay(hour)),
    );
    let weir = start_file(&path, &original).await;
    weir.post_json("cameras", EVENT).await;
    weir.post_json("cameras", EVENT).await;
    eventually("the failed attempts", SETTLE, async || {
        let pending: Value = weir
            .admin_json("/admin/deliveries?state=pending&destination=down")
            .await;
        pending["deliveries"]
            .as_array()
            .is_some_and(|d| d.len() == 2 && d.iter().all(|d| d["attempts"] == 1))
            .then_some(())
    })
    .await;
    std::fs::write(&path, without.to_string()).unwrap();
    assert_eq!(weir.admin_post("/admin/reload").await.status(), 200);
    let dead: Value = weir.admin_json("/admin/deliveries?state=dead").await;
    let dead = dead["deliveries"].as_array().unwrap();
    assert_eq!(dead.len(), 2);
    assert!(
        dead.iter()
            .all(|d| d["last_error"] == "destination down was removed from the config"),
        "{dead:?}"
    );
    weir.stop().await;
}
