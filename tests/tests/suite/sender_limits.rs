//! Limits on what a sender controls, each refused at ingest with a 4xx that names the
//! limit: a body that trickles in, JSON nested without end, metadata too large to
//! travel on as a header.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weir_tests::config::{Destination, Route, Server, Storage};
use weir_tests::router::{Weir, start};
use weir_tests::{WeirConfig, multipart_body};

async fn weir(server: Server) -> Weir {
    start(
        &WeirConfig::new()
            .server(server)
            .storage(Storage::memory())
            .route("r", Route::to(["log"]))
            .destination("log", Destination::url("log:")),
    )
    .await
}

fn error_of(body: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    json["error"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_408() {
    let weir = weir(Server::new().body_timeout(Duration::from_secs(1))).await;
    let mut stream = tokio::net::TcpStream::connect(weir.server.ingest_addr()).await.unwrap();
    stream
        .write_all(b"POST /ingest/r HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let error = error_of(answer.split("\r\n\r\n").nth(1).unwrap());
    assert!(error.contains("server.body_timeout"), "{error}");
    weir.stop().await;
}

#[tokio::test]
async fn json_nested_deeper_than_the_limit_is_422() {
    let weir = weir(Server::new().max_json_depth(32)).await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let answer = weir.post_json("r", &deep).await;
    assert_eq!(answer.status(), 422);
    let error = error_of(&answer.text().await.unwrap());
    assert!(
        error.contains("more than 32 deep") && error.contains("server.max_json_depth"),
        "{error}"
    );
    // At the limit it is accepted.
    let fine = format!("{{\"a\":{}{}}}", "[".repeat(31), "]".repeat(31));
    assert_eq!(weir.post_json("r", &fine).await.status(), 202);
    weir.stop().await;
}

#[tokio::test]
async fn metadata_too_large_to_travel_as_a_header_is_422_from_a_header_or_a_form_field() {
    let weir = weir(Server::new().max_body(4 << 20)).await;
    let big = "x".repeat(1 << 20);
    let (content_type, body) = multipart_body(&[
        (
            "predictions",
            Some("predictions.json"),
            "application/json",
            b"{}".as_slice(),
        ),
        ("camera", None, "text/plain", big.as_bytes()),
    ]);
    let answer = weir.post("r", &content_type, body).await;
    assert_eq!(answer.status(), 422);
    let error = error_of(&answer.text().await.unwrap());
    assert!(
        error.contains("\"camera\" is 1048576 bytes") && error.contains("server.max_metadata_value"),
        "{error}"
    );
    let answer = weir
        .client
        .post(weir.ingest_url("r"))
        .header("content-type", "application/json")
        .header("x-weir-meta-site", "y".repeat(5000))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 422);
    let many = (0..65).fold(
        weir.client
            .post(weir.ingest_url("r"))
            .header("content-type", "application/json"),
        |request, n| request.header(format!("x-weir-meta-k{n}"), "v"),
    );
    let answer = many.body("{}").send().await.unwrap();
    assert_eq!(answer.status(), 422);
    assert!(error_of(&answer.text().await.unwrap()).contains("65 metadata entries"));
    weir.stop().await;
}
