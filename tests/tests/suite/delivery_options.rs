//! Delivery options that fit predictions: expiry (`max_age`), a destination's rate and
//! the receiver's say over it (`WebHook-Allowed-Rate`, 429 with `Retry-After`), order
//! per key (`order_by`), batches, CloudEvents binary mode, and the W3C trace context
//! carried to every attempt.
//!
//! Outcomes are read from Weir's own records (attempt times, dead-letter reasons,
//! metrics) and from what receivers got, never from the test's stopwatch alone.

use std::time::{Duration, Instant};

use serde_json::Value;
use weir::config::BodyFormat;
use weir_tests::config::{Breaker, Destination, Retry, Route, Storage};
use weir_tests::node::required;
use weir_tests::process::WeirProcess;
use weir_tests::receiver::{Answer, Receiver};
use weir_tests::records::{SETTLE, delivery};
use weir_tests::router::start;
use weir_tests::scratch::folder;
use weir_tests::{WeirConfig, camera_multipart, eventually, gap, parse_time};

const SENDERS_TRACE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Route `r` to one destination, `hook`.
fn to_hook(destination: Destination) -> WeirConfig {
    WeirConfig::new()
        .route("r", Route::to(["hook"]))
        .destination("hook", destination)
}

/// The id of the event an ingest answer accepted.
async fn accepted(answer: reqwest::Response) -> String {
    assert_eq!(answer.status(), 202);
    let answer: Value = answer.json().await.unwrap();
    answer["id"].as_str().unwrap().to_string()
}

/// When each attempt of a delivery started, by Weir's record.
fn attempt_times(record: &Value, destination: &str) -> Vec<std::time::SystemTime> {
    delivery(record, destination)["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|attempt| parse_time(&attempt["at"]))
        .collect()
}

#[tokio::test]
async fn a_delivery_older_than_max_age_goes_to_the_dead_letters_unsent() {
    // The first request is held open; the two behind it (one in flight at a time) age
    // past max_age before the lane can take them.
    let mut hook = Receiver::scripted(vec![Answer::Held(200)], Answer::Status(200)).await;
    let weir = start(&to_hook(
        Destination::url(hook.url())
            .max_in_flight(1)
            .max_age(Duration::from_secs(1)),
    ))
    .await;
    let posted = Instant::now();
    let first = accepted(weir.post_json("r", r#"{"predictions":[]}"#).await).await;
    let sent = hook.next().await;
    let age: u128 = sent
        .header("x-weir-event-age-ms")
        .parse()
        .expect("the age in milliseconds");
    assert!(age <= posted.elapsed().as_millis(), "age {age} ms");
    let waiting = [
        accepted(weir.post_json("r", r#"{"predictions":[]}"#).await).await,
        accepted(weir.post_json("r", r#"{"predictions":[]}"#).await).await,
    ];
    // The scenario: time passes while the receiver holds the first request.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    hook.release();
    assert_eq!(delivery(&weir.settled(&first).await, "hook")["state"], "delivered");
    for id in &waiting {
        let record = weir.settled(id).await;
        let made = delivery(&record, "hook");
        assert_eq!(made["state"], "dead", "{record}");
        assert!(made["last_error"].as_str().unwrap().starts_with("expired"), "{record}");
        assert_eq!(made["attempts"], 0, "never sent: {record}");
    }
    assert!(hook.try_next().is_none(), "an expired delivery was sent");
    assert_eq!(
        weir.metric(r#"weir_deliveries_expired_total{destination="hook"}"#)
            .await,
        2
    );
    // The console's count (the admin API's view of the lane).
    let status = weir.admin_json("/admin/destinations").await;
    assert_eq!(status["destinations"][0]["expired"], 2, "{status}");
    weir.stop().await;
}

#[tokio::test]
async fn a_retry_that_would_come_after_the_routes_max_age_is_not_made() {
    let mut hook = Receiver::scripted(vec![], Answer::Status(500)).await;
    let weir = start(
        &WeirConfig::new()
            .route("r", Route::to(["hook"]).max_age(Duration::from_secs(1)))
            .destination(
                "hook",
                Destination::url(hook.url()).retry(
                    Retry::new()
                        .max_retries(5)
                        .initial_delay(Duration::from_secs(5))
                        .jitter(0.0),
                ),
            ),
    )
    .await;
    let id = accepted(weir.post_json("r", r#"{"predictions":[]}"#).await).await;
    hook.next().await;
    let record = weir.settled(&id).await;
    let made = delivery(&record, "hook");
    assert_eq!(made["state"], "dead", "{record}");
    assert_eq!(made["attempts"], 1, "{record}");
    let reason = made["last_error"].as_str().unwrap();
    assert!(
        reason.starts_with("expired") && reason.contains("max_age (1s)"),
        "{reason}"
    );
    assert_eq!(
        weir.metric(r#"weir_deliveries_expired_total{destination="hook"}"#)
            .await,
        1
    );
    weir.stop().await;
}

/// Posts `count` events to route `r` and returns when each was sent to `hook`, by
/// Weir's records, in order.
async fn sent_times(weir: &weir_tests::router::Weir, hook: &mut Receiver, count: usize) -> Vec<std::time::SystemTime> {
    let mut ids = Vec::new();
    for _ in 0..count {
        ids.push(accepted(weir.post_json("r", r#"{"predictions":[]}"#).await).await);
    }
    let mut times = Vec::new();
    for id in &ids {
        times.extend(attempt_times(&weir.settled(id).await, "hook"));
        hook.next().await;
    }
    times.sort();
    times
}

#[tokio::test]
async fn a_rate_spaces_the_requests_of_a_destination() {
    let mut hook = Receiver::ok().await;
    let weir = start(&to_hook(
        Destination::url(hook.url()).max_in_flight(8).rate("10/s").burst(1),
    ))
    .await;
    let times = sent_times(&weir, &mut hook, 11).await;
    // Eleven requests at ten a second, one at a time: ten intervals of 100 ms at least
    // (the records keep milliseconds).
    let span = gap(times[0], times[10]);
    assert!(span >= Duration::from_millis(990), "11 requests in {span:?}");
    let status = weir.admin_json("/admin/destinations").await;
    assert_eq!(status["destinations"][0]["rate_per_second"], 10.0, "{status}");
    weir.stop().await;
}

#[tokio::test]
async fn a_receivers_allowed_rate_lowers_the_pace() {
    // 120 requests a minute: two a second, bursts of two.
    let mut hook = Receiver::scripted(vec![], Answer::Header(200, "webhook-allowed-rate", "120".into())).await;
    let weir = start(
        &WeirConfig::new()
            .route("r", Route::to(["hook"]))
            .destination("hook", Destination::url(hook.url()).max_in_flight(1)),
    )
    .await;
    let first = accepted(weir.post_json("r", r#"{"predictions":[]}"#).await).await;
    hook.next().await;
    weir.settled(&first).await;
    let status = weir.admin_json("/admin/destinations").await;
    assert_eq!(status["destinations"][0]["rate_per_second"], 2.0, "{status}");
    let times = sent_times(&weir, &mut hook, 5).await;
    // Two at once, then three more at 500 ms each: 1.5 s at least.
    let span = gap(times[0], times[4]);
    assert!(span >= Duration::from_millis(1490), "5 requests in {span:?}");
    weir.stop().await;
}

#[tokio::test]
async fn a_429_with_retry_after_pauses_the_whole_destination() {
    let mut hook = Receiver::scripted(vec![Answer::RetryAfter(429, 2)], Answer::Status(200)).await;
    let weir = start(&to_hook(
        Destination::url(hook.url())
            .max_in_flight(4)
            .retry(Retry::new().initial_delay(Duration::from_millis(10)).jitter(0.0)),
    ))
    .await;
    let first = accepted(weir.post_json("r", r#"{"predictions":[]}"#).await).await;
    hook.next().await;
    // Sent after the 429: without the pause they would go at once.
    let later = [
        accepted(weir.post_json("r", r#"{"predictions":[]}"#).await).await,
        accepted(weir.post_json("r", r#"{"predictions":[]}"#).await).await,
    ];
    let refused_at = attempt_times(&weir.settled(&first).await, "hook")[0];
    for id in &later {
        let record = weir.settled(id).await;
        assert_eq!(delivery(&record, "hook")["state"], "delivered", "{record}");
        let sent_at = attempt_times(&record, "hook")[0];
        assert!(
            gap(refused_at, sent_at) >= Duration::from_millis(1990),
            "sent {:?} after the 429 asked for 2 s: {record}",
            gap(refused_at, sent_at)
        );
    }
    assert_eq!(
        weir.metric(r#"weir_destination_pauses_total{destination="hook"}"#)
            .await,
        1
    );
    weir.stop().await;
}

/// The CloudEvent a request is, read by the `cloudevents` PyPI package (the
/// CloudEvents SDK for Python): its attributes, and whether its data is the body.
fn read_by_the_cloudevents_sdk(request: &weir_tests::receiver::Received) -> Option<Value> {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import cloudevents.core.bindings.http"])
        .output();
    let available = match probe {
        Ok(output) if output.status.success() => Ok(()),
        _ => Err("python3 with the cloudevents package (PyPI) is not installed".to_string()),
    };
    required("cloudevents_requests_read_back_with_the_cloudevents_sdk", available)?;
    let dir = folder("cloudevents");
    let headers: serde_json::Map<String, Value> = request
        .headers
        .iter()
        .map(|(name, value)| (name.to_string(), Value::String(value.to_str().unwrap().to_string())))
        .collect();
    std::fs::write(dir.join("headers.json"), Value::Object(headers).to_string()).unwrap();
    std::fs::write(dir.join("body"), &request.body).unwrap();
    let script = r#"
import json, sys
from cloudevents.core.bindings import http
from cloudevents.core.formats.json import JSONFormat
headers = json.load(open(sys.argv[1]))
body = open(sys.argv[2], "rb").read()
event = http.from_http(http.HTTPMessage(headers=headers, body=body), JSONFormat())
data = event.get_data()
if isinstance(data, (dict, list)):
    same = data == json.loads(body)
else:
    same = (data.encode() if isinstance(data, str) else data) == body
print(json.dumps({
    "id": event.get_id(), "source": event.get_source(), "type": event.get_type(),
    "specversion": event.get_specversion(), "time": event.get_time().isoformat(),
    "datacontenttype": event.get_datacontenttype(), "data_is_the_body": same,
}))
"#;
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(dir.join("headers.json"))
        .arg(dir.join("body"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the CloudEvents SDK refused the request: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).unwrap())
}

#[tokio::test]
async fn cloudevents_requests_read_back_with_the_cloudevents_sdk() {
    let mut json = Receiver::ok().await;
    let mut parts = Receiver::ok().await;
    let weir = start(
        &WeirConfig::new()
            .route("cameras", Route::to(["json", "parts"]))
            .destination("json", Destination::url(json.url()).format(BodyFormat::Cloudevents))
            .destination(
                "parts",
                Destination::url(parts.url())
                    .format(BodyFormat::Multipart)
                    .include_image(true)
                    .cloudevents(true),
            ),
    )
    .await;
    let (content_type, body) = camera_multipart("instance-segmentation");
    let id = accepted(weir.post("cameras", &content_type, body).await).await;
    for (request, content_type) in [
        (json.next().await, "application/json"),
        (parts.next().await, "multipart/form-data"),
    ] {
        let Some(read) = read_by_the_cloudevents_sdk(&request) else {
            weir.stop().await;
            return;
        };
        assert_eq!(read["id"], id.as_str(), "{read}");
        assert_eq!(read["id"], request.header("webhook-id"));
        assert_eq!(read["source"], "/weir/routes/cameras");
        assert_eq!(read["type"], "weir.prediction.instance-segmentation");
        assert_eq!(read["specversion"], "1.0");
        assert!(
            read["datacontenttype"].as_str().unwrap().starts_with(content_type),
            "{read}"
        );
        assert_eq!(read["data_is_the_body"], true, "{read}");
        let record = weir.event(&id).await;
        let accepted_at = parse_time(&record["accepted_at"]);
        let time = humantime::parse_rfc3339(request.header("ce-time")).unwrap();
        assert!(
            gap(accepted_at, time) < Duration::from_secs(1),
            "ce-time {time:?} vs {record}"
        );
    }
    weir.stop().await;
}

#[tokio::test]
async fn every_attempt_carries_the_events_trace_with_a_span_of_its_own() {
    let mut hook = Receiver::scripted(vec![Answer::Status(500)], Answer::Status(200)).await;
    let config = WeirConfig::new()
        .storage(Storage::memory())
        .route("r", Route::to(["hook"]))
        .destination(
            "hook",
            Destination::url(hook.url()).retry(Retry::new().initial_delay(Duration::from_millis(10)).jitter(0.0)),
        );
    let weir = WeirProcess::spawn(env!("CARGO_BIN_EXE_weir"), &folder("traces"), &config);
    let client = weir_tests::http_client();
    let answer = client
        .post(format!("http://{}/ingest/r", weir.ingest))
        .header("content-type", "application/json")
        .header("traceparent", SENDERS_TRACE)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    let (failed, delivered) = (hook.next().await, hook.next().await);
    let spans: Vec<&str> = [&failed, &delivered].map(|r| r.header("traceparent")).to_vec();
    for span in &spans {
        let fields: Vec<&str> = span.split('-').collect();
        assert_eq!(fields.len(), 4, "{span}");
        assert_eq!(
            fields[1], "4bf92f3577b34da6a3ce929d0e0e4736",
            "the sender's trace: {span}"
        );
        assert_ne!(fields[2], "00f067aa0ba902b7", "a span of the attempt's own: {span}");
        assert_eq!(fields[3], "01");
    }
    assert_ne!(spans[0], spans[1], "each attempt has its own span");
    // The log line of the failed attempt names the trace.
    let log = weir.log.clone();
    eventually("the failed attempt's log line", SETTLE, async || {
        log.lock()
            .unwrap()
            .iter()
            .any(|line| {
                line.contains("attempt failed; will retry")
                    && line.contains("\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"")
            })
            .then_some(())
    })
    .await;
    // Without a traceparent (or with one that is not valid), Weir starts a trace.
    for given in [None, Some("00-not-a-trace-01")] {
        let mut request = client
            .post(format!("http://{}/ingest/r", weir.ingest))
            .header("content-type", "application/json")
            .body("{}");
        if let Some(given) = given {
            request = request.header("traceparent", given);
        }
        assert_eq!(request.send().await.unwrap().status(), 202);
        let started = hook.next().await;
        let fields: Vec<&str> = started.header("traceparent").split('-').collect();
        assert_eq!(fields.len(), 4, "{fields:?}");
        assert_eq!(fields[0], "00");
        assert!(fields[1].len() == 32 && fields[1].chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(fields[1], "0".repeat(32));
        assert_ne!(fields[1], "4bf92f3577b34da6a3ce929d0e0e4736");
    }
}

/// Posts an event of `camera` with its place in the camera's sequence as metadata.
async fn post_camera(weir: &weir_tests::router::Weir, camera: &str, seq: usize) -> String {
    let answer = weir
        .client
        .post(weir.ingest_url("r"))
        .header("content-type", "application/json")
        .header("x-weir-meta-camera", camera)
        .header("x-weir-meta-seq", seq.to_string())
        .body(r#"{"predictions":[]}"#)
        .send()
        .await
        .unwrap();
    accepted(answer).await
}

#[tokio::test]
async fn each_cameras_events_arrive_in_order_through_random_failures() {
    // A quarter of the answers are 500s, drawn from a fixed seed.
    let mut seed: u64 = 0x5eed;
    let answers = (0..4000)
        .map(|_| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            if (seed >> 33).is_multiple_of(4) {
                Answer::Status(500)
            } else {
                Answer::Status(200)
            }
        })
        .collect();
    let mut hook = Receiver::scripted(answers, Answer::Status(200)).await;
    let weir = start(&to_hook(
        Destination::url(hook.url()).order_by("camera").max_in_flight(16).retry(
            Retry::new()
                .max_retries(30)
                .initial_delay(Duration::from_millis(5))
                .multiplier(1.0)
                .max_delay(Duration::from_millis(5))
                .jitter(0.0),
        ),
    ))
    .await;
    let cameras = ["a", "b", "c"];
    let mut ids = Vec::new();
    for seq in 0..200 {
        for camera in cameras {
            ids.push(post_camera(&weir, camera, seq).await);
        }
    }
    for id in &ids {
        let record = weir.settled(id).await;
        assert_eq!(delivery(&record, "hook")["state"], "delivered", "{record}");
    }
    // Every request the receiver got, in the order it got them: per camera, the
    // sequence never goes back (a retry repeats the same number), and it is complete.
    let mut seen: std::collections::HashMap<String, Vec<usize>> = std::collections::HashMap::new();
    while let Some(request) = hook.try_next() {
        seen.entry(request.header("x-weir-meta-camera").to_string())
            .or_default()
            .push(request.header("x-weir-meta-seq").parse().unwrap());
    }
    for camera in cameras {
        let sequence = &seen[camera];
        let back = sequence.windows(2).find(|pair| pair[1] < pair[0]);
        assert!(back.is_none(), "camera {camera}: {back:?} out of order in {sequence:?}");
        let mut distinct = sequence.clone();
        distinct.dedup();
        assert_eq!(distinct, (0..200).collect::<Vec<_>>(), "camera {camera}");
    }
    let retried = seen.values().map(Vec::len).sum::<usize>() - 600;
    assert!(
        retried > 50,
        "only {retried} retries: the receiver's failures did not happen"
    );
    weir.stop().await;
}

#[tokio::test]
async fn a_failing_key_blocks_only_itself_until_it_is_dead() {
    let mut hook = Receiver::scripted(
        vec![],
        Answer::By(|headers| if headers["x-weir-meta-camera"] == "a" { 500 } else { 200 }),
    )
    .await;
    let weir = start(&to_hook(
        Destination::url(hook.url()).order_by("camera").max_in_flight(4).retry(
            Retry::new()
                .max_retries(2)
                .initial_delay(Duration::from_millis(300))
                .multiplier(1.0)
                .jitter(0.0),
        ),
    ))
    .await;
    let a1 = post_camera(&weir, "a", 1).await;
    let a2 = post_camera(&weir, "a", 2).await;
    let b = [
        post_camera(&weir, "b", 1).await,
        post_camera(&weir, "b", 2).await,
        post_camera(&weir, "b", 3).await,
    ];
    let a1_record = weir.settled(&a1).await;
    let a1_times = attempt_times(&a1_record, "hook");
    assert_eq!(delivery(&a1_record, "hook")["state"], "dead", "{a1_record}");
    assert_eq!(a1_times.len(), 3);
    // b's events went while a1 was still being retried.
    for id in &b {
        let record = weir.settled(id).await;
        assert_eq!(delivery(&record, "hook")["state"], "delivered", "{record}");
        assert!(
            attempt_times(&record, "hook")[0] < a1_times[1],
            "{record} waited for camera a"
        );
    }
    // a2 was held until a1 was dead, then had its own attempts.
    let a2_record = weir.settled(&a2).await;
    let a2_times = attempt_times(&a2_record, "hook");
    assert_eq!(a2_times.len(), 3, "{a2_record}");
    assert!(
        a2_times[0] >= a1_times[2],
        "a2 went before a1 was dead: {a2_record} {a1_record}"
    );
    while hook.try_next().is_some() {}
    weir.stop().await;
}

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[tokio::test]
async fn a_batch_carries_many_events_in_one_signed_request_and_is_retried_whole() {
    let mut hook = Receiver::scripted(vec![Answer::Status(500)], Answer::Status(200)).await;
    let weir = start(&to_hook(
        Destination::url(hook.url())
            .secret(SECRET)
            .batch(serde_json::json!({ "max_events": 10, "max_wait": "300ms" }))
            .retry(Retry::new().initial_delay(Duration::from_millis(50)).jitter(0.0)),
    ))
    .await;
    let mut posted = Vec::new();
    for i in 0..25 {
        posted.push(
            accepted(
                weir.post_json("r", &format!(r#"{{"predictions":[{{"n":{i}}}]}}"#))
                    .await,
            )
            .await,
        );
    }
    let mut records = Vec::new();
    for id in &posted {
        records.push(weir.settled(id).await);
    }
    let verifier = standardwebhooks::Webhook::new(SECRET).unwrap();
    let mut requests = Vec::new();
    while let Some(request) = hook.try_next() {
        verifier
            .verify(&request.body, &request.headers)
            .expect("signed as one body");
        let events = request.json();
        let ids: Vec<String> = events
            .as_array()
            .expect("a JSON array")
            .iter()
            .map(|event| event["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(request.header("x-weir-batch-size"), ids.len().to_string());
        assert!(ids.len() <= 10, "{} events in one request", ids.len());
        // Each event's predictions are its own.
        for event in events.as_array().unwrap() {
            let n = event["predictions"]["predictions"][0]["n"].as_u64().unwrap() as usize;
            assert_eq!(event["id"], posted[n].as_str());
            assert_eq!(event["route"], "r");
        }
        requests.push((request.header("webhook-id").to_string(), ids));
    }
    // The first request failed; the same batch (same webhook-id, same events) went
    // again, and every event arrived in exactly one successful request.
    let (failed_id, failed_ids) = requests[0].clone();
    assert!(failed_id.starts_with("batch_"), "{failed_id}");
    let retried: Vec<_> = requests[1..].iter().filter(|(id, _)| *id == failed_id).collect();
    assert_eq!(retried.len(), 1, "{requests:?}");
    assert_eq!(retried[0].1, failed_ids, "retried whole");
    let mut delivered: Vec<String> = requests[1..].iter().flat_map(|(_, ids)| ids.clone()).collect();
    delivered.sort();
    let mut expected = posted.clone();
    expected.sort();
    assert_eq!(delivered, expected, "each event once");
    assert!(requests.len() <= 8, "{} requests for 25 events", requests.len());
    // Each delivery's record names the batch it went in.
    for record in &records {
        let made = delivery(record, "hook");
        assert_eq!(made["state"], "delivered", "{record}");
        let id = record["id"].as_str().unwrap().to_string();
        let batch = requests[1..]
            .iter()
            .find(|(_, ids)| ids.contains(&id))
            .map(|(batch, _)| batch.clone())
            .unwrap();
        let history = made["history"].as_array().unwrap();
        assert_eq!(history.last().unwrap()["batch"], batch.as_str(), "{record}");
        if failed_ids.contains(&id) {
            assert_eq!(history.len(), 2, "{record}");
            assert_eq!(history[0]["batch"], failed_id.as_str());
        }
    }
    weir.stop().await;
}

#[tokio::test]
async fn an_ndjson_batch_is_one_event_per_line() {
    let mut hook = Receiver::ok().await;
    let weir =
        start(&to_hook(Destination::url(hook.url()).include_predictions(false).batch(
            serde_json::json!({ "max_events": 3, "max_wait": "5s", "format": "ndjson" }),
        )))
        .await;
    let mut posted = Vec::new();
    for _ in 0..3 {
        posted.push(accepted(weir.post_json("r", "{\n  \"predictions\": []\n}").await).await);
    }
    let request = hook.next().await;
    assert_eq!(request.header("content-type"), "application/x-ndjson");
    let text = String::from_utf8(request.body.to_vec()).unwrap();
    let lines: Vec<Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(
        lines.iter().map(|l| l["id"].as_str().unwrap()).collect::<Vec<_>>(),
        posted
    );
    assert!(lines.iter().all(|line| line.get("predictions").is_none()));
    weir.stop().await;
}

#[tokio::test]
async fn a_batching_destination_probes_its_breaker_with_what_is_gathering() {
    let mut hook = Receiver::scripted(vec![Answer::Status(500)], Answer::Status(200)).await;
    let weir = start(&to_hook(
        Destination::url(hook.url())
            .batch(serde_json::json!({ "max_events": 5, "max_wait": "3s" }))
            .circuit_breaker(Breaker::new().failures(1).cooldown(Duration::from_millis(300)))
            .retry(Retry::new().initial_delay(Duration::from_secs(4)).jitter(0.0)),
    ))
    .await;
    let mut first = Vec::new();
    for _ in 0..5 {
        first.push(accepted(weir.post_json("r", r#"{"predictions":[]}"#).await).await);
    }
    // The full batch fails and opens the breaker.
    hook.next().await;
    let probe = accepted(weir.post_json("r", r#"{"predictions":[]}"#).await).await;
    // After the cooldown the one event gathering is the probe: it goes at once, not
    // after the batch's 3 s, and closes the breaker; the failed batch goes again later.
    let record = weir.settled(&probe).await;
    assert_eq!(delivery(&record, "hook")["state"], "delivered", "{record}");
    let failed_at = attempt_times(&weir.event(&first[0]).await, "hook")[0];
    let probed_at = attempt_times(&record, "hook")[0];
    assert!(
        gap(failed_at, probed_at) < Duration::from_millis(2500),
        "probed {:?} after the failure",
        gap(failed_at, probed_at)
    );
    for id in &first {
        let record = weir.settled(id).await;
        assert_eq!(delivery(&record, "hook")["state"], "delivered", "{record}");
    }
    weir.stop().await;
}

#[tokio::test]
async fn concurrency_follows_the_receiver_fewer_when_it_slows_more_when_it_recovers() {
    // The receiver answers in 20 ms (taking any number at once), then in 400 ms for a
    // while (struggling), then in 20 ms again.
    let mut answers = vec![Answer::Slow(200, Duration::from_millis(20)); 1500];
    answers.extend(vec![Answer::Slow(200, Duration::from_millis(400)); 300]);
    let mut hook = Receiver::scripted(answers, Answer::Slow(200, Duration::from_millis(20))).await;
    let weir = start(
        &WeirConfig::new()
            .storage(Storage::memory())
            .route("r", Route::to(["hook"]))
            .destination(
                "hook",
                Destination::url(hook.url()).max_in_flight(64).concurrency("adaptive"),
            ),
    )
    .await;
    let lane = async || weir.admin_json("/admin/destinations").await["destinations"][0].clone();
    let limit = async || lane().await["concurrency_limit"].as_u64().unwrap();
    assert_eq!(limit().await, 8, "an adaptive lane starts at 8");
    // A backlog, so the lane uses all it may.
    let post = async |count: usize| {
        for _ in 0..count / 50 {
            let sends = (0..50).map(|_| weir.post_json("r", r#"{"predictions":[]}"#));
            for answer in futures_util::future::join_all(sends).await {
                assert_eq!(answer.status(), 202);
            }
        }
    };
    post(1500).await;
    // Every quick answer in: the lane is idle and its limit stays where the quick
    // answers left it (read earlier, it may still be growing).
    for _ in 0..1500 {
        hook.next().await;
    }
    eventually("the quick answers to be in", SETTLE, async || {
        (lane().await["in_flight"] == 0).then_some(())
    })
    .await;
    let grown = limit().await;
    assert!(grown > 12, "the limit grows past 8 while answers are quick: {grown}");
    eventually("the limit to fall when answers slow down", SETTLE, async || {
        post(100).await;
        (limit().await < grown).then_some(())
    })
    .await;
    let low = limit().await;
    eventually("the limit to grow again once answers are quick", SETTLE, async || {
        post(200).await;
        (limit().await > low).then_some(())
    })
    .await;
    while hook.try_next().is_some() {}
    weir.stop().await;
}
