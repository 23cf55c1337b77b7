//! The durable outbox: nothing acknowledged is lost, whatever happens to the process;
//! retries keep their schedule across restarts; dead letters replay; a full store
//! pushes back; a circuit breaker spares a failing receiver.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use weir::config::BodyFormat;
use weir_tests::config::{Breaker, Destination, Retry, Route, Storage};
use weir_tests::process::WeirProcess;
use weir_tests::receiver::{Answer, Receiver, free_port};
use weir_tests::records::{SETTLE, delivery};
use weir_tests::router::{Weir, start};
use weir_tests::scratch::{folder, scratch_store};
use weir_tests::{WeirConfig, eventually, gap, parse_time};

/// How long the kill -9 test may take to reach each of its milestones.
const MILESTONE: Duration = Duration::from_secs(120);

/// A retry delay no test outlives: a failed delivery stays pending.
const HOUR: Duration = Duration::from_secs(3600);

/// Waits (bounded by [`MILESTONE`]) until `count` has reached `at_least`.
async fn until_acknowledged(what: &str, acknowledged: &Mutex<BTreeSet<String>>, at_least: usize) {
    eventually(what, MILESTONE, async || {
        (acknowledged.lock().unwrap().len() >= at_least).then_some(())
    })
    .await;
}

/// Runs `weir ARGS --admin URL` against `weir`, as an operator would. A tokio process:
/// the router runs on this test's runtime and must keep serving meanwhile.
async fn operator(weir: &Weir, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(args)
        .args(["--admin", &weir.admin_url("")])
        .output()
        .await
        .expect("running weir")
}

/// Sends event `key` until Weir acknowledges it (through crashes and restarts).
async fn send_until_acknowledged(client: &reqwest::Client, ingest: &Mutex<SocketAddr>, key: &str) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        let url = format!("http://{}/ingest/cameras", *ingest.lock().unwrap());
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(format!(
                r#"{{"key":"{key}","predictions":[{{"class":"person","confidence":0.9}}]}}"#
            ))
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        if let Ok(response) = sent
            && response.status() == 202
        {
            return true;
        }
        // A sender's pace between tries while Weir is down or refusing, not a wait
        // before an assertion: the loop ends in an acknowledgement or after 60 s.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_no_acknowledged_event() {
    let receiver_addr = free_port();
    let dir = folder("crash");
    let config = WeirConfig::new()
        .storage(Storage::durable())
        .route("cameras", Route::to(["hook"]))
        .destination(
            "hook",
            Destination::url(format!("http://{receiver_addr}/hook"))
                .timeout(Duration::from_secs(2))
                .retry(
                    Retry::new()
                        .max_retries(1000)
                        .initial_delay(Duration::from_millis(50))
                        .multiplier(1.5)
                        .max_delay(Duration::from_millis(300))
                        .jitter(0.1),
                )
                .circuit_breaker(Breaker::off()),
        );
    let binary = env!("CARGO_BIN_EXE_weir");
    let weir = WeirProcess::spawn(binary, &dir, &config);
    let ingest = Arc::new(Mutex::new(weir.ingest));
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let client = weir_tests::http_client();

    // Eight senders, each sending its own events as fast as Weir acknowledges them.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut senders = tokio::task::JoinSet::new();
    for sender in 0..8 {
        let (client, ingest, acknowledged, stop) = (client.clone(), ingest.clone(), acknowledged.clone(), stop.clone());
        senders.spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let key = format!("s{sender}-{n:05}");
                if send_until_acknowledged(&client, &ingest, &key).await {
                    acknowledged.lock().unwrap().insert(key);
                } else {
                    panic!("{key} was never acknowledged");
                }
                n += 1;
            }
        });
    }

    // Mid-load, with the receiver down and deliveries piling up: kill -9.
    until_acknowledged("150 acknowledged events before the kill", &acknowledged, 150).await;
    weir.signal("KILL");
    let before_kill = acknowledged.lock().unwrap().len();
    drop(weir);

    // Restart on the same store; the senders' retries get through again.
    let weir = WeirProcess::spawn_file(binary, &dir.join("weir.toml"));
    *ingest.lock().unwrap() = weir.ingest;
    until_acknowledged(
        "150 more acknowledged events after the restart",
        &acknowledged,
        before_kill + 150,
    )
    .await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    // Each sender gives up on an event after 60 s, so this ends.
    while let Some(done) = senders.join_next().await {
        done.unwrap();
    }

    // Now bring the receiver up: everything acknowledged must arrive.
    let listener = tokio::net::TcpListener::bind(receiver_addr).await.unwrap();
    let mut receiver = Receiver::on(listener, vec![], Answer::Status(200)).await;
    let acknowledged = acknowledged.lock().unwrap().clone();
    let arrived = receiver.arrivals(&acknowledged, Duration::from_secs(30)).await;
    assert!(before_kill >= 150 && acknowledged.len() >= before_kill + 150);
    let copies: usize = arrived.values().sum();
    eprintln!(
        "kill -9 test: {} events acknowledged ({before_kill} before the kill), {copies} deliveries arrived",
        acknowledged.len()
    );
    drop(weir);
}

#[tokio::test]
async fn a_restart_keeps_the_retry_schedule() {
    let mut hook = Receiver::scripted(vec![Answer::Status(503)], Answer::Status(200)).await;
    let store = scratch_store();
    let config = WeirConfig::new()
        .storage(Storage::durable().path(&store))
        .route("r", Route::to(["hook"]))
        .destination(
            "hook",
            Destination::url(hook.url()).retry(Retry::new().initial_delay(Duration::from_secs(3)).jitter(0.0)),
        );
    let weir = start(&config).await;
    let answer: Value = weir.post_json("r", r#"{"predictions":[]}"#).await.json().await.unwrap();
    let id = answer["id"].as_str().unwrap().to_string();
    hook.next().await;
    let before = weir
        .event_when(&id, "the failed attempt recorded", |r| {
            r["deliveries"][0]["attempts"] == 1
        })
        .await;
    weir.stop().await;

    // The retry is due 3 s (the schedule's first delay, no jitter) after the failed
    // attempt ended: a real time, not a placeholder.
    let scheduled = &before["deliveries"][0];
    let first = &scheduled["history"][0];
    let due = parse_time(&scheduled["next_attempt_at"]);
    let after_attempt = gap(parse_time(&first["at"]), due);
    let latency = Duration::from_secs_f64(first["latency_ms"].as_f64().unwrap() / 1e3);
    assert!(
        after_attempt >= Duration::from_secs(3) + latency - Duration::from_millis(2),
        "due {after_attempt:?} after the attempt began: {before}"
    );
    // The second delay of this schedule would be 12 s: the 3 s one was chosen.
    assert!(after_attempt < Duration::from_secs(12), "{before}");

    let weir = start(&config).await;
    let record = weir.event(&id).await;
    let delivery = &record["deliveries"][0];
    assert_eq!(delivery["state"], "pending");
    assert_eq!(delivery["attempts"], 1);
    assert_eq!(delivery["last_status"], 503);
    assert_eq!(
        delivery["next_attempt_at"], scheduled["next_attempt_at"],
        "the restart moved the retry"
    );
    let retry = hook.next().await;
    assert_eq!(retry.header("webhook-id"), id);
    assert_eq!(retry.header("x-weir-attempt"), "2");
    // Not at once on restart: when it was due, by Weir's own record of the attempt.
    let record = weir.settled(&id).await;
    let second = &record["deliveries"][0]["history"][1];
    assert!(
        parse_time(&second["at"]) >= due,
        "retried at {} though due at {}",
        second["at"],
        scheduled["next_attempt_at"]
    );
    weir.stop().await;
}

#[tokio::test]
async fn a_dead_letter_replays_with_its_webhook_id() {
    let mut hook = Receiver::scripted(vec![Answer::Status(422)], Answer::Status(200)).await;
    let weir = start(
        &WeirConfig::new()
            .storage(Storage::durable())
            .route("r", Route::to(["hook"]))
            .destination("hook", Destination::url(hook.url())),
    )
    .await;
    let answer: Value = weir.post_json("r", r#"{"predictions":[]}"#).await.json().await.unwrap();
    let id = answer["id"].as_str().unwrap().to_string();
    hook.next().await;

    let dead = eventually("a dead letter", Duration::from_secs(30), async || {
        let list: Value = weir.admin_json("/admin/deliveries?state=dead").await;
        list["deliveries"].as_array().and_then(|l| l.first()).cloned()
    })
    .await;
    assert_eq!(dead["event_id"], id.as_str());
    assert_eq!(dead["last_status"], 422);
    assert_eq!(dead["last_error"], "answered 422; not retried");
    assert_eq!(dead["history"][0]["response"], "answered");

    // `weir dead list` shows it, one line per dead delivery.
    let listed = operator(&weir, &["dead", "list"]).await;
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        format!(
            "{} event {id} to hook: 1 attempt(s), last status 422: answered 422; not retried\n",
            dead["id"]
        )
    );

    // Replay it with the command line, as an operator would.
    let out = operator(&weir, &["dead", "replay", "--destination", "hook"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "replayed 1 delivery(ies)\n");
    let replayed = hook.next().await;
    assert_eq!(replayed.header("webhook-id"), id);

    let shown = operator(&weir, &["events", "show", &id]).await;
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.starts_with(&format!("event {id} (route r, accepted ")), "{text}");
    assert!(text.contains("status 422"), "{text}");
    weir.stop().await;
}

#[tokio::test]
async fn a_full_store_answers_503_with_retry_after_and_recovers() {
    let receiver_addr = free_port();
    let weir = start(
        &WeirConfig::new()
            .storage(Storage::durable().max_pending(3))
            .route("r", Route::to(["hook"]))
            .destination(
                "hook",
                Destination::url(format!("http://{receiver_addr}/hook"))
                    .retry(
                        Retry::new()
                            .max_retries(100)
                            .initial_delay(Duration::from_millis(50))
                            .multiplier(1.0)
                            .jitter(0.0),
                    )
                    .circuit_breaker(Breaker::off()),
            ),
    )
    .await;
    for _ in 0..3 {
        assert_eq!(weir.post_json("r", "{}").await.status(), 202);
    }
    let full = weir.post_json("r", "{}").await;
    assert_eq!(full.status(), 503);
    assert_eq!(full.headers()["retry-after"], "1");
    let body: Value = full.json().await.unwrap();
    let message = body["error"].as_str().unwrap();
    assert!(
        message.starts_with("Weir is holding 3 undelivered deliveries, its limit (3); try again later"),
        "{message}"
    );

    // The receiver comes up; the store drains; ingest accepts again.
    let listener = tokio::net::TcpListener::bind(receiver_addr).await.unwrap();
    let mut receiver = Receiver::on(listener, vec![], Answer::Status(200)).await;
    for _ in 0..3 {
        receiver.next().await;
    }
    eventually("ingest to accept again once the store drained", SETTLE, async || {
        (weir.post_json("r", "{}").await.status() == 202).then_some(())
    })
    .await;
    weir.stop().await;
}

#[tokio::test]
async fn the_circuit_breaker_opens_holds_probes_and_closes() {
    let mut hook = Receiver::scripted(vec![Answer::Status(500); 3], Answer::Status(200)).await;
    let weir = start(
        &WeirConfig::new()
            .storage(Storage::memory())
            .route("r", Route::to(["hook"]))
            .destination(
                "hook",
                Destination::url(hook.url())
                    .retry(
                        Retry::new()
                            .max_retries(10)
                            .initial_delay(Duration::from_millis(10))
                            .multiplier(1.0)
                            .jitter(0.0),
                    )
                    .circuit_breaker(Breaker::new().failures(3).cooldown(Duration::from_millis(800))),
            ),
    )
    .await;
    let breaker = || async {
        let status: Value = weir.admin_json("/admin/destinations").await;
        status["destinations"][0]["circuit_breaker"].clone()
    };
    let answer: Value = weir.post_json("r", "{}").await.json().await.unwrap();
    let id = answer["id"].as_str().unwrap();
    for _ in 0..3 {
        hook.next().await;
    }
    // Three failures in a row: it opened (a count, so a slow look cannot miss it).
    eventually("the breaker to open", Duration::from_secs(30), async || {
        (breaker().await["opened"] == 1).then_some(())
    })
    .await;
    // After the cool-down one probe goes, succeeds, and closes the breaker.
    let probe = hook.next().await;
    assert_eq!(probe.header("x-weir-attempt"), "4");
    eventually("the breaker to close", Duration::from_secs(30), async || {
        (breaker().await["state"] == "closed").then_some(())
    })
    .await;
    // No attempt while it held: by Weir's record, the probe began a full cool-down
    // after the third failure ended (its retry was due after 10 ms).
    let record = weir.settled(id).await;
    let history = record["deliveries"][0]["history"].as_array().unwrap().clone();
    let statuses: Vec<&Value> = history.iter().map(|a| &a["status"]).collect();
    assert_eq!(statuses, [500, 500, 500, 200], "{record}");
    let third_ended =
        parse_time(&history[2]["at"]) + Duration::from_secs_f64(history[2]["latency_ms"].as_f64().unwrap() / 1e3);
    let held = gap(third_ended, parse_time(&history[3]["at"]));
    assert!(
        held >= Duration::from_millis(800) - Duration::from_millis(2),
        "probed {held:?} after the breaker opened: {record}"
    );
    weir.stop().await;
}

#[tokio::test]
async fn attachments_are_stored_once_and_only_when_a_destination_sends_them() {
    let (mut a, mut b, mut c) = (Receiver::ok().await, Receiver::ok().await, Receiver::ok().await);
    let store = scratch_store();
    let with_image = |receiver: &Receiver| {
        Destination::url(receiver.url())
            .format(BodyFormat::Multipart)
            .include_image(true)
    };
    let weir = start(
        &WeirConfig::new()
            .storage(Storage::durable().path(&store))
            .route("frames", Route::to(["a", "b"]))
            .route("counts", Route::to(["c"]))
            .destination("a", with_image(&a))
            .destination("b", with_image(&b))
            .destination("c", Destination::url(c.url())),
    )
    .await;
    let mut ids = Vec::new();
    for route in ["frames", "counts"] {
        let (content_type, body) = weir_tests::camera_multipart("instance-segmentation");
        let answer: Value = weir.post(route, &content_type, body).await.json().await.unwrap();
        ids.push(answer["id"].as_str().unwrap().to_string());
    }
    // Read the store while the deliveries are still recent.
    let connection = rusqlite::Connection::open(&store).unwrap();
    let stored = |id: &str| -> Vec<String> {
        let mut statement = connection
            .prepare("SELECT name FROM attachments WHERE event_id = ? ORDER BY position")
            .unwrap();
        statement
            .query_map([id], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    // Two destinations send the image: stored once. None sends masks: not stored.
    assert_eq!(stored(&ids[0]), ["image.jpeg"]);
    // A JSON destination sends no attachment: nothing stored.
    assert!(stored(&ids[1]).is_empty());
    a.next().await;
    b.next().await;
    c.next().await;
    weir.stop().await;
}

#[tokio::test]
async fn a_delivery_that_keeps_failing_goes_to_the_dead_letters_when_its_retries_run_out() {
    let mut hook = Receiver::scripted(vec![], Answer::Status(503)).await;
    let weir = start(
        &WeirConfig::new()
            .storage(Storage::durable())
            .route("r", Route::to(["hook"]))
            .destination(
                "hook",
                Destination::url(hook.url()).retry(
                    Retry::new()
                        .max_retries(2)
                        .schedule([Duration::from_millis(10)])
                        .jitter(0.0),
                ),
            ),
    )
    .await;
    let answer: Value = weir.post_json("r", "{}").await.json().await.unwrap();
    let id = answer["id"].as_str().unwrap();
    let record = weir.settled(id).await;
    let dead = delivery(&record, "hook");
    assert_eq!(dead["state"], "dead", "{record}");
    assert_eq!(dead["attempts"], 3, "{record}");
    assert_eq!(dead["last_error"], "answered 503; gave up after 3 attempts");
    let statuses: Vec<&Value> = dead["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status"])
        .collect();
    assert_eq!(statuses, [503, 503, 503]);
    // The first attempt and the two retries, and no more.
    for _ in 0..3 {
        hook.next().await;
    }
    assert!(hook.try_next().is_none(), "attempted after giving up");
    let listed: Value = weir.admin_json("/admin/deliveries?state=dead&destination=hook").await;
    assert_eq!(listed["deliveries"][0]["id"], dead["id"], "{listed}");
    weir.stop().await;
}

#[tokio::test]
async fn a_store_holding_max_bytes_answers_503_with_retry_after() {
    let receiver_addr = free_port();
    let weir = start(
        &WeirConfig::new()
            .storage(Storage::durable().max_bytes(4 << 10))
            .route("r", Route::to(["hook"]))
            .destination(
                "hook",
                Destination::url(format!("http://{receiver_addr}/hook"))
                    .retry(Retry::new().max_retries(100).initial_delay(HOUR).max_delay(HOUR))
                    .circuit_breaker(Breaker::off()),
            ),
    )
    .await;
    let event = |size: usize| format!(r#"{{"pad":"{}"}}"#, "x".repeat(size));
    // About 1.3 KiB held (the event and its bookkeeping), then 3.3 KiB more: too much.
    assert_eq!(weir.post_json("r", &event(1000)).await.status(), 202);
    let full = weir.post_json("r", &event(3000)).await;
    assert_eq!(full.status(), 503);
    assert_eq!(full.headers()["retry-after"], "1");
    let body: Value = full.json().await.unwrap();
    let message = body["error"].as_str().unwrap();
    assert!(message.starts_with("Weir is holding "), "{message}");
    assert!(
        message.contains("bytes of undelivered events, its limit (4096); try again later"),
        "{message}"
    );
    // The limit is on bytes, not on count: a small event still fits.
    assert_eq!(weir.post_json("r", &event(100)).await.status(), 202);
    weir.stop().await;
}

#[tokio::test]
async fn dead_letters_replay_by_delivery_id_and_by_destination() {
    let mut a = Receiver::scripted(vec![Answer::Status(422)], Answer::Status(200)).await;
    let mut b = Receiver::scripted(vec![Answer::Status(422)], Answer::Status(200)).await;
    let weir = start(
        &WeirConfig::new()
            .storage(Storage::durable())
            .route("r", Route::to(["a", "b"]))
            .destination("a", Destination::url(a.url()))
            .destination("b", Destination::url(b.url())),
    )
    .await;
    let answer: Value = weir.post_json("r", "{}").await.json().await.unwrap();
    let id = answer["id"].as_str().unwrap().to_string();
    a.next().await;
    b.next().await;
    let record = weir.settled(&id).await;
    assert_eq!(delivery(&record, "a")["state"], "dead", "{record}");
    assert_eq!(delivery(&record, "b")["state"], "dead", "{record}");
    // Two dead letters; `limit` lists the most recent one only.
    let all: Value = weir.admin_json("/admin/deliveries?state=dead").await;
    assert_eq!(all["deliveries"].as_array().unwrap().len(), 2, "{all}");
    let one: Value = weir.admin_json("/admin/deliveries?state=dead&limit=1").await;
    assert_eq!(one["deliveries"].as_array().unwrap().len(), 1, "{one}");

    // `weir dead replay --id N`: that delivery only.
    let b_id = delivery(&record, "b")["id"].as_u64().unwrap();
    let out = operator(&weir, &["dead", "replay", "--id", &b_id.to_string()]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "replayed 1 delivery(ies)\n");
    assert_eq!(b.next().await.header("webhook-id"), id);
    let record = weir
        .event_when(&id, "b delivered", |r| delivery(r, "b")["state"] == "delivered")
        .await;
    assert_eq!(delivery(&record, "a")["state"], "dead", "{record}");

    // POST /admin/destinations/a/replay-dead: every dead delivery of a.
    let replayed: Value = weir
        .admin_post("/admin/destinations/a/replay-dead")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replayed, serde_json::json!({ "destination": "a", "replayed": 1 }));
    assert_eq!(a.next().await.header("webhook-id"), id);
    let record = weir.settled(&id).await;
    assert_eq!(delivery(&record, "a")["state"], "delivered", "{record}");
    assert!(b.try_next().is_none(), "b was replayed twice");
    weir.stop().await;
}

#[tokio::test]
async fn memory_storage_loses_its_pending_deliveries_when_it_stops() {
    let receiver_addr = free_port();
    let config = WeirConfig::new()
        .storage(Storage::memory())
        .route("r", Route::to(["hook"]))
        .destination(
            "hook",
            Destination::url(format!("http://{receiver_addr}/hook"))
                .retry(Retry::new().initial_delay(HOUR).max_delay(HOUR).jitter(0.0)),
        );
    let weir = start(&config).await;
    let answer: Value = weir.post_json("r", "{}").await.json().await.unwrap();
    let id = answer["id"].as_str().unwrap().to_string();
    // Pending: its first attempt failed, its retry is an hour away.
    weir.event_when(&id, "the failed attempt recorded", |r| {
        r["deliveries"][0]["attempts"] == 1
    })
    .await;
    weir.stop().await;

    let weir = start(&config).await;
    let unknown = weir.admin_get(&format!("/admin/events/{id}")).await;
    assert_eq!(unknown.status(), 404, "memory storage kept {id} across a restart");
    let lanes: Value = weir.admin_json("/admin/destinations").await;
    assert_eq!(lanes["outbox"]["pending"], 0, "{lanes}");
    weir.stop().await;
}
