//! Running as a sidecar: health and readiness, the Unix socket, metrics, logs, and the
//! signals (SIGTERM and SIGINT stop gracefully, SIGHUP reloads the config).

use std::time::Duration;

use serde_json::json;
use weir_tests::config::{Destination, Filter, Plugins, Retry, Route, Server, Storage};
use weir_tests::process::WeirProcess;
use weir_tests::receiver::{Answer, Receiver};
use weir_tests::records::SETTLE;
use weir_tests::router::start;
use weir_tests::scratch::folder;
use weir_tests::{WeirConfig, eventually};

/// Route `route` to destination `hook`, on memory storage (a child Weir leaves no
/// store behind).
fn memory_route(route: &str, hook: &Receiver) -> WeirConfig {
    WeirConfig::new()
        .storage(Storage::memory())
        .route(route, Route::to(["hook"]))
        .destination("hook", Destination::url(hook.url()))
}

#[tokio::test]
async fn health_and_readiness_answer_on_the_admin_listener() {
    let hook = Receiver::ok().await;
    let weir = start(
        &WeirConfig::new()
            .route("r", Route::to(["hook"]))
            .destination("hook", Destination::url(hook.url())),
    )
    .await;
    let health = weir.admin_get("/healthz").await;
    assert_eq!(health.status(), 200);
    let ready: serde_json::Value = weir.admin_json("/readyz").await;
    assert_eq!(ready["status"], "ready");
    // Ingest and admin are different listeners.
    let on_ingest = weir
        .client
        .get(format!("http://{}/healthz", weir.server.ingest_addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(on_ingest.status(), 404);
    weir.stop().await;
}

#[tokio::test]
async fn events_come_in_over_a_unix_socket_too() {
    let mut hook = Receiver::ok().await;
    let socket = folder("unix-socket").join("ingest.sock");
    let weir = start(
        &WeirConfig::new()
            .server(Server::new().unix_socket(&socket))
            .route("r", Route::to(["hook"]))
            .destination("hook", Destination::url(hook.url())),
    )
    .await;
    // A plain HTTP/1.1 request over the socket, as a sidecar's runtime would send it.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::UnixStream::connect(&socket).await.unwrap();
    let body = r#"{"predictions":[{"class":"person"}]}"#;
    let request = format!(
        "POST /ingest/r HTTP/1.1\r\nHost: weir\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 202"), "{response}");
    assert_eq!(hook.next().await.json()["predictions"][0]["class"], "person");
    weir.stop().await;
    assert!(!socket.exists(), "the socket file is removed at shutdown");
}

/// Whether a new connection to `addr` is refused (no listener any more).
async fn refused(addr: std::net::SocketAddr) -> bool {
    tokio::net::TcpStream::connect(addr)
        .await
        .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused)
}

/// `signal` stops Weir as the README says: ingest stops while Weir is still alive (an
/// attempt is held in flight by the receiver), `/readyz` answers 503 meanwhile, the
/// queued deliveries of memory storage are still sent once the receiver lets go, and
/// the exit code is 0.
async fn stops_gracefully_on(signal: &str) {
    let mut held = Receiver::scripted(vec![], Answer::Held(200)).await;
    let config = WeirConfig::new()
        .server(Server::new().shutdown_grace(Duration::from_secs(60)))
        .storage(Storage::memory())
        .route("r", Route::to(["held"]))
        .destination("held", Destination::url(held.url()).max_in_flight(1));
    let dir = folder(&format!("signal-{signal}"));
    let mut weir = WeirProcess::spawn(env!("CARGO_BIN_EXE_weir"), &dir, &config);
    let client = weir_tests::http_client();
    for i in 0..3 {
        let answer = client
            .post(format!("http://{}/ingest/r", weir.ingest))
            .header("content-type", "application/json")
            .body(format!(r#"{{"n":{i}}}"#))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 202);
    }
    // The first delivery is in flight (held by the receiver), the other two queued.
    assert_eq!(held.next().await.json()["n"], 0);
    weir.signal(signal);

    // Ingest stops: new connections are refused, while the process is alive.
    let ingest = weir.ingest;
    eventually("ingest to stop listening", SETTLE, async || {
        refused(ingest).await.then_some(())
    })
    .await;
    let readyz = client
        .get(format!("http://{}/readyz", weir.admin))
        .send()
        .await
        .expect("the admin listener answers during the grace period");
    assert_eq!(readyz.status(), 503);
    assert_eq!(readyz.json::<serde_json::Value>().await.unwrap()["status"], "not ready");
    assert!(weir.alive(), "weir exited while an attempt was in flight");

    // The receiver answers: the attempt in flight and the two queued ones are made.
    held.release();
    let code = tokio::task::spawn_blocking(move || {
        let code = weir.wait(Duration::from_secs(30));
        (code, weir)
    })
    .await
    .unwrap();
    let (code, weir) = code;
    assert_eq!(code, Some(0), "weir's log:\n{}", weir.log_text());
    assert_eq!(held.next().await.json()["n"], 1);
    assert_eq!(held.next().await.json()["n"], 2);
    assert!(weir.logged(&format!("received SIG{signal}")), "{}", weir.log_text());
    assert!(weir.logged("shutting down"), "no shutdown log");
    assert!(weir.logged("\"stopped\""), "no final log line");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_ingest_while_alive_drains_memory_storage_and_exits_0() {
    stops_gracefully_on("TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_weir_as_sigterm_does() {
    stops_gracefully_on("INT").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_a_request_already_accepted() {
    // The route's filter takes 3 s; SIGTERM comes while the request is inside it (the
    // guest logs when it starts), and the request still gets its 202 and its delivery.
    let mut hook = Receiver::ok().await;
    let slow = Filter::plugin("weir_test_guest")
        .config(json!({ "mode": "slow", "millis": 3000 }))
        .timeout(Duration::from_secs(30));
    let config = WeirConfig::new()
        .storage(Storage::memory())
        .plugins(Plugins::new().dir(weir_tests::test_guest_path().parent().unwrap()))
        .route("r", Route::to(["hook"]).filter(slow))
        .destination("hook", Destination::url(hook.url()));
    let dir = folder("sigterm-in-request");
    let mut weir = WeirProcess::spawn(env!("CARGO_BIN_EXE_weir"), &dir, &config);
    let client = weir_tests::http_client();
    let url = format!("http://{}/ingest/r", weir.ingest);
    let request = tokio::spawn(async move {
        client
            .post(url)
            .header("content-type", "application/json")
            .header("idempotency-key", "in-flight-1")
            .body("{}")
            .send()
            .await
    });
    let log = weir.log.clone();
    eventually("the filter to start", SETTLE, async || {
        log.lock()
            .unwrap()
            .iter()
            .any(|line| line.contains("slow: started"))
            .then_some(())
    })
    .await;
    weir.signal("TERM");
    let answer = request.await.unwrap().expect("the accepted request is answered");
    assert_eq!(answer.status(), 202);
    assert_eq!(answer.json::<serde_json::Value>().await.unwrap()["status"], "accepted");
    assert_eq!(hook.next().await.header("webhook-id"), "in-flight-1");
    let code = tokio::task::spawn_blocking(move || weir.wait(Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(code, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_config() {
    // weir.toml is a link to a file in another folder: the file watcher (which watches
    // weir.toml's folder) does not see that file change, so only SIGHUP can reload it.
    let dir = folder("sighup");
    let real = dir.join("elsewhere").join("real.toml");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::fs::create_dir_all(dir.join("run")).unwrap();
    let mut hook = Receiver::ok().await;
    std::fs::write(&real, memory_route("r", &hook).to_string()).unwrap();
    let link = dir.join("run").join("weir.toml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let weir = WeirProcess::spawn_file(env!("CARGO_BIN_EXE_weir"), &link);
    let client = weir_tests::http_client();
    let post = async |route: &str| {
        client
            .post(format!("http://{}/ingest/{route}", weir.ingest))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(post("yard").await, 404);
    std::fs::write(&real, memory_route("yard", &hook).to_string()).unwrap();
    weir.signal("HUP");
    eventually("the reloaded route", SETTLE, async || {
        (post("yard").await == 202).then_some(())
    })
    .await;
    assert_eq!(post("r").await, 404);
    hook.next().await;
    assert!(
        weir.logged("received SIGHUP: reloading the config"),
        "{}",
        weir.log_text()
    );
    assert!(weir.logged("config reloaded"), "{}", weir.log_text());
}

/// The value of the sample `line` starts with (name and labels), from `/metrics`.
fn sample(text: &str, line: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(line)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_and_attempts_and_show_the_outbox() {
    // The receiver fails the first attempt, then takes everything.
    let mut hook = Receiver::scripted(vec![Answer::Status(500)], Answer::Status(200)).await;
    let weir = start(
        &WeirConfig::new()
            .route(
                "cameras",
                Route::to(["hook"]).filter(Filter::plugin("class-filter").config(json!({ "classes": ["person"] }))),
            )
            .destination(
                "hook",
                Destination::url(hook.url())
                    .max_in_flight(1)
                    .retry(Retry::new().schedule([Duration::from_millis(10)])),
            ),
    )
    .await;
    let person = r#"{"predictions":[{"class":"person","confidence":0.9}]}"#;
    let cat = r#"{"predictions":[{"class":"cat","confidence":0.9}]}"#;
    for body in [person, person, cat] {
        assert_eq!(weir.post_json("cameras", body).await.status(), 202);
    }
    assert_eq!(weir.post_json("cameras", "not json").await.status(), 400);
    assert_eq!(weir.post_json("nowhere", person).await.status(), 404);
    for _ in 0..3 {
        hook.next().await; // the failed attempt, its retry, the second event
    }
    let scrape = || async {
        let answer = weir.admin_get("/metrics").await;
        assert_eq!(answer.status(), 200);
        assert!(
            answer.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/openmetrics-text")
        );
        answer.text().await.unwrap()
    };
    // The attempt is counted just after the receiver answered it: wait for the count.
    let text = eventually("the second delivered attempt to be counted", SETTLE, async || {
        let text = scrape().await;
        let delivered = sample(
            &text,
            r#"weir_delivery_attempts_total{destination="hook",outcome="delivered"}"#,
        );
        (delivered == Some(2.0)).then_some(text)
    })
    .await;
    for (line, value) in [
        (r#"weir_ingest_requests_total{route="cameras",status="accepted"}"#, 2.0),
        (r#"weir_ingest_requests_total{route="cameras",status="dropped"}"#, 1.0),
        (r#"weir_ingest_requests_total{route="cameras",status="rejected"}"#, 1.0),
        (r#"weir_ingest_requests_total{route="",status="rejected"}"#, 1.0),
        (
            r#"weir_delivery_attempts_total{destination="hook",outcome="retry"}"#,
            1.0,
        ),
        (
            r#"weir_delivery_attempts_total{destination="hook",outcome="delivered"}"#,
            2.0,
        ),
        (
            r#"weir_delivery_attempt_duration_seconds_count{destination="hook"}"#,
            3.0,
        ),
        ("weir_outbox_pending_deliveries", 0.0),
        ("weir_ready", 1.0),
        (
            r#"weir_destination_breaker_state{destination="hook",state="closed"}"#,
            1.0,
        ),
        (r#"weir_plugin_calls_total{plugin="class-filter"}"#, 3.0),
        (r#"weir_plugin_drops_total{plugin="class-filter"}"#, 1.0),
        (r#"weir_plugin_load_failing{plugin="class-filter"}"#, 0.0),
    ] {
        assert_eq!(sample(&text, line), Some(value), "{line} in:\n{text}");
    }
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    weir.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weir_log_debug_logs_every_successful_delivery_in_json_on_stderr() {
    let mut hook = Receiver::ok().await;
    let path = folder("debug-log").join("weir.toml");
    std::fs::write(&path, memory_route("r", &hook).to_string()).unwrap();
    let mut command = WeirProcess::command(env!("CARGO_BIN_EXE_weir"), &path);
    command.env("WEIR_LOG", "debug");
    let weir = WeirProcess::start(command);
    let client = weir_tests::http_client();
    let answer: serde_json::Value = client
        .post(format!("http://{}/ingest/r", weir.ingest))
        .header("content-type", "application/json")
        .header("idempotency-key", "debug-1")
        .body("{}")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["status"], "accepted");
    hook.next().await;
    // Each stderr line is a JSON object; one says this event was delivered, and how.
    let line = eventually("the delivery's log line", SETTLE, async || {
        let lines = weir.log.lock().unwrap().clone();
        lines.into_iter().find_map(|line| {
            let entry: serde_json::Value = serde_json::from_str(&line).ok()?;
            (entry["fields"]["message"] == "delivered" && entry["fields"]["event"] == "debug-1").then_some(entry)
        })
    })
    .await;
    assert_eq!(line["level"], "DEBUG", "{line}");
    assert_eq!(line["fields"]["destination"], "hook", "{line}");
    assert_eq!(line["fields"]["status"], "200", "{line}");
    assert!(line["fields"]["latency_ms"].is_number(), "{line}");
}
