//! What each part of an ingest request becomes: multipart text fields are metadata and
//! other file parts attachments, `X-Weir-Task` names the task, and `webhook-id` is the
//! event id.

use serde_json::Value;
use weir_tests::receiver::Receiver;
use weir_tests::router::{Weir, start};
use weir_tests::{fixture, fixture_bytes, multipart_body, parse_multipart};

async fn router(hook: &Receiver, format: &str) -> Weir {
    let image = if format == "multipart" {
        "include_image = true\n"
    } else {
        ""
    };
    start(&format!(
        "[routes.r]\ndestinations = [\"hook\"]\n[destinations.hook]\nurl = \"{}\"\nformat = \"{format}\"\n{image}",
        hook.url()
    ))
    .await
}

#[tokio::test]
async fn multipart_text_fields_become_metadata_and_other_file_parts_attachments() {
    let mut hook = Receiver::ok().await;
    let weir = router(&hook, "multipart").await;
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
    let answer = weir
        .client
        .post(weir.ingest_url("r"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
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
    let weir = router(&hook, "json").await;
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
    let weir = router(&hook, "json").await;
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
