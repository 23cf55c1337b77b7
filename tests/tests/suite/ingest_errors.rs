//! Every malformed input gets its status and an error body that says what to do;
//! nothing malformed reaches a plugin, and the router keeps serving.

use serde_json::Value;
use weir_tests::config::{Destination, Filter, Route, Server};
use weir_tests::receiver::Receiver;
use weir_tests::router::{Weir, start};
use weir_tests::{WeirConfig, multipart_body};

/// Route `r` to `hook`.
fn to_hook(hook: &Receiver) -> WeirConfig {
    WeirConfig::new()
        .route("r", Route::to(["hook"]))
        .destination("hook", Destination::url(hook.url()))
}

async fn router(hook: &Receiver) -> Weir {
    start(
        &WeirConfig::new()
            .server(Server::new().max_body(64 << 10))
            .route("cameras", Route::to(["hook"]).filter(Filter::plugin("class-filter")))
            .destination("hook", Destination::url(hook.url())),
    )
    .await
}

async fn send(weir: &Weir, path: &str, content_type: Option<&str>, body: Vec<u8>) -> (u16, String) {
    let mut request = weir
        .client
        .post(format!("http://{}{path}", weir.server.ingest_addr()))
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("error bodies are JSON");
    (status, body["error"].as_str().expect("an error message").to_string())
}

#[tokio::test]
async fn every_malformed_input_gets_its_status_and_message() {
    let mut hook = Receiver::ok().await;
    let weir = router(&hook).await;
    let json = Some("application/json");
    let (no_predictions_type, no_predictions) = multipart_body(&[("file", Some("image.jpeg"), "image/jpeg", b"jpeg")]);
    let (two_type, two) = multipart_body(&[
        ("file", Some("predictions.json"), "application/json", b"{}"),
        ("file", Some("predictions.json"), "application/json", b"{}"),
    ]);
    let (bad_type, bad_predictions) =
        multipart_body(&[("predictions", Some("predictions.json"), "application/json", b"{oops")]);
    let no_disposition =
        b"--zzz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"predictions.json\"\r\n\r\n{}\r\n\
        --zzz\r\nContent-Type: text/plain\r\n\r\nnorth\r\n--zzz--\r\n"
            .to_vec();
    // (path, content type, body, expected status, expected start of the message)
    type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            "/ingest/nope",
            json,
            b"{}".to_vec(),
            404,
            "no route named \"nope\"; the routes are: cameras",
        ),
        (
            "/elsewhere",
            json,
            b"{}".to_vec(),
            404,
            "nothing at /elsewhere; POST events to /ingest/{route}",
        ),
        (
            "/ingest/cameras",
            json,
            vec![b' '; 70_000],
            413,
            "the body is larger than the limit of 65536 bytes",
        ),
        (
            "/ingest/cameras",
            json,
            b"{\"predictions\": [".to_vec(),
            400,
            "the body is not valid JSON: EOF while parsing",
        ),
        (
            "/ingest/cameras",
            json,
            b"42".to_vec(),
            422,
            "the body must be a JSON object or array of predictions, not a bare number",
        ),
        (
            "/ingest/cameras",
            json,
            vec![0xff, 0xfe],
            400,
            "the body is not UTF-8 text",
        ),
        (
            "/ingest/cameras",
            Some("text/plain"),
            b"{}".to_vec(),
            415,
            "Content-Type must be application/json or multipart/form-data, got \"text/plain\"",
        ),
        (
            "/ingest/cameras",
            None,
            b"{}".to_vec(),
            415,
            "Content-Type must be application/json or multipart/form-data, got nothing",
        ),
        (
            "/ingest/cameras",
            Some("multipart/form-data"),
            b"x".to_vec(),
            400,
            "multipart/form-data without a boundary parameter",
        ),
        (
            "/ingest/cameras",
            Some("multipart/form-data; boundary=zzz"),
            b"garbage".to_vec(),
            400,
            "malformed multipart body",
        ),
        (
            "/ingest/cameras",
            Some("multipart/form-data; boundary=zzz"),
            no_disposition,
            400,
            "malformed multipart body: part 2 has no Content-Disposition header; \
             give every part `Content-Disposition: form-data; name=\"...\"`",
        ),
        (
            "/ingest/cameras",
            Some(&no_predictions_type),
            no_predictions,
            422,
            "the multipart body has no predictions.json part (parts: image.jpeg)",
        ),
        (
            "/ingest/cameras",
            Some(&two_type),
            two,
            400,
            "two predictions.json parts; send one",
        ),
        (
            "/ingest/cameras",
            Some(&bad_type),
            bad_predictions,
            400,
            "predictions.json is not valid JSON: key must be a string",
        ),
    ];
    for (path, content_type, body, status, message) in cases {
        let (got_status, got_message) = send(&weir, path, content_type, body).await;
        assert_eq!(got_status, status, "{path} {content_type:?}: {got_message}");
        assert!(
            got_message.starts_with(message),
            "{path} {content_type:?}: {got_message}"
        );
    }
    // A big multipart body is refused as it streams in, with 413 too.
    let big = vec![b'x'; 100_000];
    let (big_type, big_body) = multipart_body(&[("file", Some("image.jpeg"), "image/jpeg", &big)]);
    let client = &weir.client;
    let response = client
        .post(weir.ingest_url("cameras"))
        .header("content-type", big_type)
        .header("transfer-encoding", "chunked")
        .body(reqwest::Body::wrap_stream(futures_util::stream::once(async move {
            Ok::<_, std::io::Error>(big_body)
        })))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);

    // Wrong method, and a bad task header.
    let response = client.get(weir.ingest_url("cameras")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    let response = client
        .post(weir.ingest_url("cameras"))
        .header("content-type", "application/json")
        .header("x-weir-task", "weather/rain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // None of it reached a receiver, and the router still serves.
    let ok = weir.post_json("cameras", r#"{"predictions":[{"class":"a"}]}"#).await;
    assert_eq!(ok.status(), 202);
    assert_eq!(hook.next().await.json()["predictions"][0]["class"], "a");
    weir.stop().await;
}

#[tokio::test]
async fn a_bearer_token_is_required_when_configured() {
    let mut hook = Receiver::ok().await;
    let weir = start(&to_hook(&hook).server(Server::new().ingest_token("s3cret"))).await;
    for token in [None, Some("Bearer wrong"), Some("s3cret")] {
        let mut request = weir
            .client
            .post(weir.ingest_url("r"))
            .header("content-type", "application/json")
            .body("{}");
        if let Some(token) = token {
            request = request.header("authorization", token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{token:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
    }
    let response = weir
        .client
        .post(weir.ingest_url("r"))
        .header("content-type", "application/json")
        .header("authorization", "Bearer s3cret")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    hook.next().await;
    weir.stop().await;
}

#[tokio::test]
async fn a_repeated_idempotency_key_is_delivered_once() {
    let mut hook = Receiver::ok().await;
    let weir = start(&to_hook(&hook)).await;
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let response = weir
            .client
            .post(weir.ingest_url("r"))
            .header("content-type", "application/json")
            .header("idempotency-key", "frame-7")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
        statuses.push(
            response.json::<Value>().await.unwrap()["status"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(statuses, ["accepted", "duplicate"]);
    assert_eq!(hook.next().await.header("webhook-id"), "frame-7");
    // One delivery, one attempt: Weir's record of the event, not a quiet spell.
    let record = weir.settled("frame-7").await;
    assert_eq!(record["deliveries"].as_array().unwrap().len(), 1, "{record}");
    assert_eq!(record["deliveries"][0]["attempts"], 1, "{record}");
    assert!(hook.try_next().is_none());
    weir.stop().await;
}
