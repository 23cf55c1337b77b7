//! What each part of an ingest request becomes: multipart text fields are metadata and
//! other file parts attachments, `X-Weir-Task` names the task, and `webhook-id` is the
//! event id.

use serde_json::Value;
use weir::config::BodyFormat;
use weir_tests::config::{Destination, Route};
use weir_tests::receiver::Receiver;
use weir_tests::router::{Weir, start};
use weir_tests::{WeirConfig, fixture, fixture_bytes, multipart_body, parse_multipart};

/// Route `r` to `hook` in this format; a multipart destination sends the image too.
async fn router(hook: &Receiver, format: BodyFormat) -> Weir {
    let destination = Destination::url(hook.url())
        .format(format)
        .include_image(format == BodyFormat::Multipart);
    start(
        &WeirConfig::new()
            .route("r", Route::to(["hook"]))
            .destination("hook", destination),
    )
    .await
}

#[tokio::test]
async fn multipart_text_fields_become_metadata_and_other_file_parts_attachments() {
    let mut hook = Receiver::ok().await;
    let weir = router(&hook, BodyFormat::Multipart).await;
    let predictions = fixture("instance-segmentation.json");
    let image = fixture_bytes("image.jpeg");
    let mask = fixture_bytes("instance-segmentation.mask_0000.png");
    let (content_type, body) = multipart_body(&[
        (
            "file",
            Some("predictions.json"),
            "application/json",
            predictions.as_bytes(),
        ),
        ("file", Some("image.jpeg"), "image/jpeg", &image),
        ("file", Some("mask_0000.png"), "image/png", &mask),
        ("file", Some("notes.txt"), "text/plain", b"shift B, lens cleaned"),
        (
            "calibration",
            Some("calibration.json"),
            "application/json",
            b"{\"k\":[1,0,0]}",
        ),
        ("site", None, "text/plain", b"north"),
        ("operator", None, "text/plain", b"ana"),
    ]);
    let answer = weir.post("r", &content_type, body).await;
    assert_eq!(answer.status(), 202);

    let request = hook.next().await;
    // Text fields: metadata, delivered as X-Weir-Meta-* headers, not as parts.
    assert_eq!(request.header("x-weir-meta-site"), "north");
    assert_eq!(request.header("x-weir-meta-operator"), "ana");
    let parts = parse_multipart(request.header("content-type"), request.body.clone()).await;
    let names: Vec<&str> = parts.iter().map(|(name, _, _)| name.as_str()).collect();
    // Other file parts: attachments, under their file names, sent as they came. (The
    // mask is an attachment too, held back by this destination's include_masks.)
    assert_eq!(
        names,
        ["predictions.json", "image.jpeg", "notes.txt", "calibration.json"]
    );
    assert_eq!(parts[2].1, "text/plain");
    assert_eq!(parts[2].2, b"shift B, lens cleaned".as_slice());
    assert_eq!(parts[3].1, "application/json");
    assert_eq!(parts[3].2, b"{\"k\":[1,0,0]}".as_slice());
    weir.stop().await;
}

#[tokio::test]
async fn x_weir_task_names_the_task_over_what_the_document_looks_like() {
    let mut hook = Receiver::ok().await;
    let weir = router(&hook, BodyFormat::Json).await;
    let body = r#"{"predictions":[{"class":"person","confidence":0.9,"bbox":{"x":1,"y":2,"width":3,"height":4}}]}"#;
    assert_eq!(weir.post_json("r", body).await.status(), 202);
    let recognised = hook.next().await.header("x-weir-task").to_string();
    assert_eq!(recognised, "object-detection");

    let named = weir
        .client
        .post(weir.ingest_url("r"))
        .header("content-type", "application/json")
        .header("x-weir-task", "instance-segmentation")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(named.status(), 202);
    assert_eq!(hook.next().await.header("x-weir-task"), "instance-segmentation");
    weir.stop().await;
}

#[tokio::test]
async fn webhook_id_becomes_the_event_id_so_a_resend_is_not_delivered_twice() {
    let mut hook = Receiver::ok().await;
    let weir = router(&hook, BodyFormat::Json).await;
    let mut answers = Vec::new();
    for _ in 0..2 {
        let answer = weir
            .client
            .post(weir.ingest_url("r"))
            .header("content-type", "application/json")
            .header("webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
            .body(r#"{"predictions":[]}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 202);
        answers.push(answer.json::<Value>().await.unwrap());
    }
    assert_eq!(answers[0]["id"], "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");
    assert_eq!(answers[0]["status"], "accepted");
    assert_eq!(answers[1]["status"], "duplicate");
    assert_eq!(
        hook.next().await.header("webhook-id"),
        "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
    );
    let record = weir.settled("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W").await;
    assert_eq!(record["deliveries"].as_array().unwrap().len(), 1, "{record}");
    assert_eq!(record["deliveries"][0]["attempts"], 1, "{record}");
    weir.stop().await;
}

/// A multipart body from its parts (each its headers, then its content), with this
/// boundary and line ending.
fn form(boundary: &str, newline: &str, parts: &[(&str, &str)]) -> String {
    let mut body = String::new();
    for (headers, content) in parts {
        body.push_str(&format!("--{boundary}{newline}"));
        for header in headers.split('\n') {
            body.push_str(&format!("{header}{newline}"));
        }
        body.push_str(&format!("{newline}{content}{newline}"));
    }
    body.push_str(&format!("--{boundary}--{newline}"));
    body
}

#[tokio::test]
async fn multipart_as_browsers_and_other_real_clients_send_it_is_read() {
    let mut hook = Receiver::ok().await;
    let weir = router(&hook, BodyFormat::Multipart).await;
    let predictions = (
        "Content-Disposition: form-data; name=\"file\"; filename=\"predictions.json\"\nContent-Type: application/json",
        r#"{"predictions":[{"class":"person","confidence":0.9}]}"#,
    );
    let image = (
        "Content-Disposition: form-data; name=\"file\"; filename=\"image.jpeg\"\nContent-Type: image/jpeg",
        "jpeg",
    );
    // (Content-Type, body, the parts delivered, the metadata delivered)
    let cases = [
        (
            // A browser form: a text field, and a file input left empty.
            "multipart/form-data; boundary=----WebKitFormBoundaryQ2xAbC".to_string(),
            form(
                "----WebKitFormBoundaryQ2xAbC",
                "\r\n",
                &[
                    ("Content-Disposition: form-data; name=\"site\"", "north"),
                    predictions,
                    (
                        "Content-Disposition: form-data; name=\"mask\"; filename=\"\"\nContent-Type: application/octet-stream",
                        "",
                    ),
                ],
            ),
            vec!["predictions.json"],
            Some("north"),
        ),
        (
            // RFC 2046's special characters in the boundary, spaces around it, LF only.
            "multipart/form-data;  boundary= b'()+_,-./:=?".to_string(),
            form("b'()+_,-./:=?", "\n", &[predictions, image]),
            vec!["predictions.json", "image.jpeg"],
            None,
        ),
        (
            // A quoted boundary with spaces, and an RFC 5987 file name.
            "multipart/form-data; boundary=\"camera form 7\"".to_string(),
            form(
                "camera form 7",
                "\r\n",
                &[
                    predictions,
                    (
                        "Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''caf%C3%A9.txt\nContent-Type: text/plain",
                        "notes",
                    ),
                ],
            ),
            vec!["predictions.json", "café.txt"],
            None,
        ),
    ];
    for (content_type, body, names, site) in cases {
        let answer = weir.post("r", &content_type, body).await;
        let status = answer.status();
        assert_eq!(status, 202, "{content_type}: {}", answer.text().await.unwrap());
        let request = hook.next().await;
        let parts = parse_multipart(request.header("content-type"), request.body.clone()).await;
        let delivered: Vec<&str> = parts.iter().map(|(name, _, _)| name.as_str()).collect();
        assert_eq!(delivered, names, "{content_type}");
        if let Some(site) = site {
            assert_eq!(request.header("x-weir-meta-site"), site);
        }
    }
    weir.stop().await;
}
