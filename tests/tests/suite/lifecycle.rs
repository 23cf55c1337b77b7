//! Running as a sidecar: health and readiness, the Unix socket, SIGTERM.

use std::time::Duration;

use weir_tests::process::WeirProcess;
use weir_tests::receiver::{Answer, Receiver};
use weir_tests::router::start;
use weir_tests::workspace;

#[tokio::test]
async fn health_and_readiness_answer_on_the_admin_listener() {
    let hook = Receiver::ok().await;
    let weir = start(&format!(
        "[routes.r]\ndestinations = [\"hook\"]\n[destinations.hook]\nurl = \"{}\"\n",
        hook.url()
    ))
    .await;
    let health = weir.client.get(weir.admin_url("/healthz")).send().await.unwrap();
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
    let dir = workspace().join("target").join("test-scratch").join("unix-socket");
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("ingest.sock");
    let weir = start(&format!(
        "[server]\nunix_socket = \"{}\"\n[routes.r]\ndestinations = [\"hook\"]\n[destinations.hook]\nurl = \"{}\"\n",
        socket.display(),
        hook.url()
    ))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_ingest_drains_memory_storage_and_exits_0() {
    let mut slow = Receiver::scripted(vec![], Answer::Slow(200, Duration::from_millis(300))).await;
    let dir = workspace().join("target").join("test-scratch").join("sigterm");
    let mut weir = WeirProcess::spawn(
        env!("CARGO_BIN_EXE_weir-e2e"),
        &dir,
        &format!(
            "[storage]\nkind = \"memory\"\n[routes.r]\ndestinations = [\"slow\"]\n[destinations.slow]\nurl = \"{}\"\nmax_in_flight = 1\n",
            slow.url()
        ),
    );
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
    // The first delivery is in flight, the other two queued.
    slow.next().await;
    weir.signal("TERM");
    let code = tokio::task::spawn_blocking(move || {
        let code = weir.wait(Duration::from_secs(30));
        (code, weir)
    })
    .await
    .unwrap();
    let (code, weir) = code;
    assert_eq!(code, Some(0), "weir's log:\n{}", weir.log_text());
    // Memory storage drains within the grace period: all three arrived.
    slow.next().await;
    slow.next().await;
    assert!(weir.logged("shutting down"), "no shutdown log");
    assert!(weir.logged("\"stopped\""), "no final log line");
    let refused = client
        .post(format!("http://{}/ingest/r", weir.ingest))
        .body("{}")
        .send()
        .await;
    assert!(refused.is_err(), "ingest still answers after exit");
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
    let weir = start(&format!(
        r#"
[routes.cameras]
filters = [{{ plugin = "class-filter", config = {{ classes = ["person"] }} }}]
destinations = ["hook"]
[destinations.hook]
url = "{}"
max_in_flight = 1
[destinations.hook.retry]
schedule = ["10ms"]
"#,
        hook.url()
    ))
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
        let answer = weir.client.get(weir.admin_url("/metrics")).send().await.unwrap();
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
    let mut text = scrape().await;
    for _ in 0..100 {
        if sample(
            &text,
            r#"weir_delivery_attempts_total{destination="hook",outcome="delivered"}"#,
        ) == Some(2.0)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        text = scrape().await;
    }
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
