//! The README's quickstart, as a reader follows it: the default config `weir run`
//! starts with, the README's own curl, the 202 it says Weir answers, the `log:`
//! delivery on stdout with the dog removed, and `WEIR_WEBHOOK_URL`. The request and
//! the answer are read from README.md, so the test and the README cannot drift apart.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use weir::config::default::default_config;
use weir_tests::process::WeirProcess;
use weir_tests::receiver::Receiver;
use weir_tests::{eventually, workspace};

fn readme() -> String {
    std::fs::read_to_string(workspace().join("README.md")).unwrap()
}

/// The README's curl: its path and its `-d '...'` body.
fn readme_curl() -> (String, String) {
    let readme = readme();
    let start = readme
        .find("curl -s http://127.0.0.1:8080")
        .expect("the README's quickstart curl");
    let command = &readme[start + "curl -s http://127.0.0.1:8080".len()..];
    let path = command[..command.find(' ').unwrap()].to_string();
    let body_start = command.find("-d '").expect("a -d '...' body") + 4;
    let body_len = command[body_start..].find('\'').unwrap();
    (path, command[body_start..body_start + body_len].to_string())
}

/// The answer the README says Weir gives: `202 {...}`.
fn readme_answer() -> Value {
    let readme = readme();
    let start = readme.find("Weir answers `202 ").expect("the README's answer") + "Weir answers `202 ".len();
    let len = readme[start..].find('`').unwrap();
    serde_json::from_str(&readme[start..start + len]).expect("the README's answer is JSON")
}

#[test]
fn the_default_config_is_the_one_the_readme_describes() {
    let config = weir::config::load_str(&default_config(None), "(default config)", &|_| None).unwrap();
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.admin.listen.to_string(), "127.0.0.1:9090");
    assert_eq!(config.routes.keys().collect::<Vec<_>>(), ["demo"]);
    let demo = &config.routes["demo"];
    let plugins: Vec<&str> = demo.filters.iter().map(|f| f.plugin.as_str()).collect();
    assert_eq!(plugins, ["class-filter", "strip-masks"]);
    let filter_config = serde_json::to_value(demo.filters[0].config.as_ref().unwrap()).unwrap();
    assert_eq!(filter_config["classes"], serde_json::json!(["person", "car"]));
    assert_eq!(demo.destinations, ["log"]);
    assert_eq!(config.destinations["log"].url, "log:");
    assert_eq!(config.storage.kind, weir::config::StorageKind::Durable);

    // `weir run` with no config takes WEIR_WEBHOOK_URL as a second destination.
    let check = |webhook: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_weir"));
        command
            .arg("check")
            .current_dir(workspace().join("tests"))
            .env("WEIR_CACHE_DIR", workspace().join("target").join("weir-test-cache"))
            .env_remove("WEIR_CONFIG")
            .env_remove("WEIR_WEBHOOK_URL");
        if let Some(url) = webhook {
            command.env("WEIR_WEBHOOK_URL", url);
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(
        check(None),
        "(default config): ok: 1 route(s), 1 destination(s), 2 plugin(s); durable storage in .weir/outbox.db\n"
    );
    assert_eq!(
        check(Some("https://hooks.example.com/weir")),
        "(default config): ok: 1 route(s), 2 destination(s), 2 plugin(s); durable storage in .weir/outbox.db\n"
    );
}

/// Weir as a child on the default config (with `webhook` as WEIR_WEBHOOK_URL would add
/// it), on free ports instead of 8080/9090 (which this machine may be using); nothing
/// else changed.
fn start_default(name: &str, webhook: Option<&str>) -> WeirProcess {
    let config = default_config(webhook);
    let on_free_ports = config
        .replace("\"127.0.0.1:8080\"", "\"127.0.0.1:0\"")
        .replace("\"127.0.0.1:9090\"", "\"127.0.0.1:0\"");
    assert_eq!(on_free_ports.matches("127.0.0.1:0").count(), 2, "{config}");
    let dir = weir_tests::scratch::folder(name);
    std::fs::write(dir.join("weir.toml"), on_free_ports).unwrap();
    WeirProcess::spawn_file(env!("CARGO_BIN_EXE_weir"), &dir.join("weir.toml"))
}

/// POSTs a JSON body to Weir's ingest listener; the status and the answer.
async fn post(weir: &WeirProcess, path: &str, body: &str) -> (u16, Value) {
    let answer = weir_tests::http_client()
        .post(format!("http://{}{path}", weir.ingest))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

/// The line Weir printed on stdout about event `id`, parsed.
async fn printed(weir: &WeirProcess, id: &str) -> Value {
    let line = eventually("the log: delivery on stdout", Duration::from_secs(30), async || {
        let lines = weir.stdout.lock().unwrap().clone();
        lines.into_iter().find(|line| line.contains(id))
    })
    .await;
    serde_json::from_str(&line).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_curl_is_answered_as_the_readme_says_and_stdout_shows_the_delivery_without_the_dog() {
    let weir = start_default("quickstart", None);
    let (path, body) = readme_curl();
    assert_eq!(path, "/ingest/demo");
    let (status, answer) = post(&weir, &path, &body).await;
    assert_eq!(status, 202);
    let mut expected = readme_answer();
    let id = answer["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("evt_") && expected["id"] == "evt_...", "{answer}");
    expected["id"] = answer["id"].clone();
    assert_eq!(answer, expected);

    // The log: destination prints the delivery on stdout: the person kept, the dog gone.
    let printed = printed(&weir, &id).await;
    assert_eq!(printed["delivery"], "log");
    assert_eq!(printed["webhook-id"], id.as_str());
    assert_eq!(printed["route"], "demo");
    let mut sent: Value = serde_json::from_str(&body).unwrap();
    let dog = sent["predictions"].as_array_mut().unwrap().pop().unwrap();
    assert_eq!(dog["class"], "dog");
    assert_eq!(printed["body"], sent, "{printed}");

    // A frame with neither a person nor a car is dropped, with the reason.
    let cat = r#"{"camera":"dock-3","predictions":[{"class":"cat","confidence":0.9}]}"#;
    let (status, answer) = post(&weir, &path, cat).await;
    assert_eq!(status, 202);
    assert_eq!(answer["status"], "dropped", "{answer}");
    assert_eq!(
        answer["reason"],
        "class-filter: no prediction of person, car at confidence >= 0.5"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weir_webhook_url_also_delivers_to_a_real_receiver() {
    let mut webhook = Receiver::ok().await;
    let weir = start_default("quickstart-webhook", Some(&webhook.url()));
    let (path, body) = readme_curl();
    let (status, answer) = post(&weir, &path, &body).await;
    assert_eq!(status, 202);
    assert_eq!(answer["destinations"], serde_json::json!(["log", "webhook"]));
    let id = answer["id"].as_str().unwrap();
    let mut sent: Value = serde_json::from_str(&body).unwrap();
    sent["predictions"].as_array_mut().unwrap().pop();
    let delivered = webhook.next().await;
    assert_eq!(delivered.header("webhook-id"), id);
    assert_eq!(delivered.json(), sent);
    assert_eq!(printed(&weir, id).await["body"], sent);
}
