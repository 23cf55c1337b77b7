//! The connection layer: idle and slow clients cannot exhaust the listeners, a
//! connection over the cap hears a JSON 503, health checks have their own reserve, and
//! what hyper refuses while parsing is answered and counted.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_tests::config::{Destination, Route, Server, Storage};
use weir_tests::receiver::Receiver;
use weir_tests::router::{Weir, start};
use weir_tests::{WeirConfig, eventually};

async fn weir(server: Server) -> (Weir, Receiver) {
    let hook = Receiver::ok().await;
    let weir = start(
        &WeirConfig::new()
            .server(server)
            .storage(Storage::memory())
            .route("r", Route::to(["hook"]))
            .destination("hook", Destination::url(hook.url())),
    )
    .await;
    (weir, hook)
}

/// Sends `request` on a new connection and reads until the server closes it (bounded).
async fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn two_thousand_idle_and_slowloris_connections_leave_ingest_and_health_answering() {
    let (weir, mut hook) = weir(Server::new().header_timeout(Duration::from_secs(120))).await;
    let ingest = weir.server.ingest_addr();
    let mut held = Vec::new();
    for n in 0..2000 {
        let mut stream = TcpStream::connect(ingest).await.unwrap();
        if n % 2 == 0 {
            // Slowloris: half a request line, never finished.
            stream.write_all(b"POST /ingest/r HT").await.unwrap();
        }
        held.push(stream);
    }
    eventually(
        "Weir to hold the 2,000 connections",
        Duration::from_secs(30),
        async || (weir.metric(r#"weir_connections_open{listener="ingest"}"#).await >= 2000).then_some(()),
    )
    .await;
    // A normal event and a health check, each bounded well below the 120 s after which
    // the idle ones would be closed: neither waits for them.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let answer = client
        .post(weir.ingest_url("r"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("ingest answers with 2,000 idle connections open");
    assert_eq!(answer.status(), 202);
    hook.within(Duration::from_secs(20))
        .await
        .expect("the event is delivered");
    let health = client.get(weir.admin_url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    drop(held);
    weir.stop().await;
}

#[tokio::test]
async fn idle_and_half_sent_requests_are_closed_after_the_header_timeout() {
    let (weir, _hook) = weir(Server::new().header_timeout(Duration::from_secs(1))).await;
    let ingest = weir.server.ingest_addr();
    let mut streams = Vec::new();
    for n in 0..50 {
        let mut stream = TcpStream::connect(ingest).await.unwrap();
        if n % 2 == 0 {
            stream
                .write_all(b"POST /ingest/r HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
        }
        streams.push(stream);
    }
    for mut stream in streams {
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut rest)).await;
        assert!(
            closed.is_ok(),
            "a connection was still open 20 s after a 1 s header timeout"
        );
        let text = String::from_utf8_lossy(&rest);
        assert!(rest.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
    }
    let timeouts = weir
        .metric(r#"weir_connections_rejected_total{listener="ingest",reason="header_timeout"}"#)
        .await;
    assert!(timeouts >= 25, "{timeouts} header timeouts counted");
    weir.stop().await;
}

#[tokio::test]
async fn a_connection_over_the_cap_hears_a_json_503_while_health_still_answers() {
    let (weir, _hook) = weir(Server::new().max_connections(20)).await;
    let ingest = weir.server.ingest_addr();
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(TcpStream::connect(ingest).await.unwrap());
    }
    eventually("the 20 connections to be open", Duration::from_secs(10), async || {
        (weir.metric(r#"weir_connections_open{listener="ingest"}"#).await == 20).then_some(())
    })
    .await;
    let answer = exchange(
        ingest,
        b"POST /ingest/r HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("retry-after: 1"), "{answer}");
    let body: serde_json::Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert!(body["error"].as_str().unwrap().contains("max_connections"), "{body}");
    assert_eq!(weir.admin_get("/healthz").await.status(), 200);
    assert!(
        weir.metric(r#"weir_connections_rejected_total{listener="ingest",reason="over_capacity"}"#)
            .await
            >= 1
    );
    // Closing the idle ones makes room again.
    drop(held);
    eventually("ingest to accept events again", Duration::from_secs(10), async || {
        (weir.post_json("r", "{}").await.status() == 202).then_some(())
    })
    .await;
    weir.stop().await;
}

#[tokio::test]
async fn requests_refused_while_parsing_are_answered_and_counted_by_reason() {
    let (weir, _hook) = weir(Server::new().max_header_bytes(16 << 10)).await;
    let ingest = weir.server.ingest_addr();
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (
            b"POST /ingest/r HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}".to_vec(),
            "HTTP/1.1 400",
            "bad_request",
        ),
        (
            b"POST /ingest/r HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}".to_vec(),
            "HTTP/1.1 400",
            "bad_request",
        ),
        (
            b"POST /ingest/r HTTP/1.1\r\nHost: x\r\nX-A: a\nb\r\n\r\n".to_vec(),
            "HTTP/1.1 400",
            "bad_request",
        ),
        (
            format!(
                "POST /ingest/r HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
                "a".repeat(100_000)
            )
            .into_bytes(),
            "HTTP/1.1 431",
            "too_large",
        ),
        (
            format!("POST /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000)).into_bytes(),
            "HTTP/1.1 4",
            "too_large",
        ),
    ];
    for (request, status, reason) in cases {
        let line = format!(r#"weir_connections_rejected_total{{listener="ingest",reason="{reason}"}}"#);
        let before = weir.metric(&line).await;
        let answer = exchange(ingest, &request).await;
        assert!(
            answer.starts_with(status),
            "{}: {answer}",
            String::from_utf8_lossy(&request[..request.len().min(80)])
        );
        // Refused before any handler, and still a JSON error saying what to fix.
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        let json: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|_| panic!("not a JSON error: {answer}"));
        assert!(json["error"].as_str().is_some_and(|e| e.len() > 20), "{answer}");
        eventually("the refusal to be counted", Duration::from_secs(5), async || {
            (weir.metric(&line).await > before).then_some(())
        })
        .await;
    }
    weir.stop().await;
}
