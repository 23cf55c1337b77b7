//! The JetStream store, against real `nats-server` processes the tests start on free
//! ports: several Weir instances share one stream and deliver each event once; one
//! killed with `kill -9` loses nothing the group acknowledged; a NATS node killed in a
//! three-node cluster loses nothing; NATS stopped and started again gives 503s
//! meanwhile, never a hang, and loses nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use weir::config::BodyFormat;
use weir_tests::config::{Breaker, Destination, Retry, Route, Storage};
use weir_tests::nats::{self, NatsCluster, NatsServer};
use weir_tests::node::required;
use weir_tests::process::WeirProcess;
use weir_tests::receiver::{Answer, Receiver, free_port};
use weir_tests::scratch::folder;
use weir_tests::{WeirConfig, eventually, multipart_body, parse_multipart};

/// How long each test may take to reach one of its milestones.
const MILESTONE: Duration = Duration::from_secs(120);

fn nats_binary(test: &str) -> Option<PathBuf> {
    required(test, nats::binary())
}

/// A destination that keeps retrying quickly and never opens its breaker: the tests
/// count deliveries, not the breaker's mercy.
fn patient(url: String) -> Destination {
    Destination::url(url)
        .timeout(Duration::from_secs(2))
        .retry(
            Retry::new()
                .max_retries(1000)
                .initial_delay(Duration::from_millis(50))
                .multiplier(1.5)
                .max_delay(Duration::from_millis(300))
                .jitter(0.1),
        )
        .circuit_breaker(Breaker::off())
}

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_weir")
}

/// Posts event `key` to `ingest` once; the status, or `None` when no answer came in
/// five seconds (a hang: every test fails on it).
async fn post(client: &reqwest::Client, ingest: SocketAddr, key: &str) -> Option<u16> {
    let sent = client
        .post(format!("http://{ingest}/ingest/cameras"))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(format!(
            r#"{{"key":"{key}","predictions":[{{"class":"person","confidence":0.9}}]}}"#
        ))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    match sent {
        Ok(response) => Some(response.status().as_u16()),
        Err(error) if error.is_timeout() => None,
        // Refused while an instance is gone: the sender tries elsewhere.
        Err(_) => Some(0),
    }
}

async fn admin_json(client: &reqwest::Client, admin: SocketAddr, path: &str) -> Value {
    client
        .get(format!("http://{admin}{path}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Receives until every key of `expected` has arrived; the copies of each, by key.
async fn receive_all(receiver: &mut Receiver, expected: &BTreeSet<String>) -> BTreeMap<String, usize> {
    receiver.arrivals(expected, Duration::from_secs(60)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_stream_deliver_each_event_once_and_share_their_records() {
    let Some(nats) = nats_binary("two_instances_on_one_stream") else {
        return;
    };
    let dir = folder("jetstream-two");
    let server = NatsServer::start(&nats, &dir.join("nats"));
    let mut hook = Receiver::ok().await;
    // The first 2 x 10 requests to `flaky` fail: 10 events, each tried twice, dead.
    let mut flaky = Receiver::scripted(vec![Answer::Status(500); 20], Answer::Status(200)).await;
    let config = WeirConfig::new()
        .storage(Storage::jetstream(&[server.url()], "two", Duration::from_secs(5)))
        .route("cameras", Route::to(["hook"]))
        .route("flaky", Route::to(["flaky"]))
        .destination("hook", patient(hook.url()))
        .destination(
            "flaky",
            Destination::url(flaky.url())
                .retry(Retry::new().max_retries(1).initial_delay(Duration::from_millis(50)))
                .circuit_breaker(Breaker::off()),
        );
    let a = WeirProcess::spawn(binary(), &dir.join("a"), &config);
    let b = WeirProcess::spawn(binary(), &dir.join("b"), &config);
    let client = weir_tests::http_client();

    // 200 events, alternately to each instance; then the first 50 again, each to the
    // instance that did not take it (a sender retrying elsewhere).
    let keys: Vec<String> = (0..200).map(|n| format!("e{n:03}")).collect();
    for (n, key) in keys.iter().enumerate() {
        let ingest = if n % 2 == 0 { a.ingest } else { b.ingest };
        assert_eq!(post(&client, ingest, key).await, Some(202), "{key}");
    }
    for (n, key) in keys.iter().take(50).enumerate() {
        let ingest = if n % 2 == 0 { b.ingest } else { a.ingest };
        let answer: Value = client
            .post(format!("http://{ingest}/ingest/cameras"))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(format!(r#"{{"key":"{key}","predictions":[]}}"#))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["status"], "duplicate", "{key}: {answer}");
    }
    let expected: BTreeSet<String> = keys.iter().cloned().collect();
    let arrived = receive_all(&mut hook, &expected).await;
    // Nothing more comes: each event was delivered once.
    assert!(
        hook.within(Duration::from_secs(2)).await.is_none(),
        "an event arrived twice"
    );
    assert!(arrived.values().all(|&copies| copies == 1), "{arrived:?}");

    // Either instance tells what became of an event the other took.
    for (key, admin) in [("e001", a.admin), ("e000", b.admin)] {
        let record = eventually("the delivery recorded", MILESTONE, async || {
            let record = admin_json(&client, admin, &format!("/admin/events/{key}")).await;
            (record["deliveries"][0]["state"] == "delivered").then_some(record)
        })
        .await;
        assert_eq!(record["deliveries"][0]["attempts"], 1, "{record}");
    }

    // Dead letters made by one instance are listed by the other and replayed by either.
    for n in 0..10 {
        let sent = client
            .post(format!("http://{}/ingest/flaky", a.ingest))
            .header("content-type", "application/json")
            .header("idempotency-key", format!("f{n}"))
            .body(format!(r#"{{"key":"f{n}","predictions":[]}}"#))
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), 202);
    }
    let dead = eventually("ten dead letters, listed by b", MILESTONE, async || {
        let listed = admin_json(&client, b.admin, "/admin/deliveries?state=dead&destination=flaky").await;
        let dead = listed["deliveries"].as_array().cloned().unwrap_or_default();
        (dead.len() == 10).then_some(dead)
    })
    .await;
    assert!(dead.iter().all(|d| d["attempts"] == 2), "{dead:?}");
    let one = dead[0]["id"].as_u64().unwrap();
    let replayed = client
        .post(format!("http://{}/admin/deliveries/{one}/replay", b.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), 200);
    let rest = client
        .post(format!("http://{}/admin/destinations/flaky/replay-dead", a.admin))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(rest["replayed"], 9, "{rest}");
    // The 20 failed attempts came first; then the 10 replays, answered 200.
    for _ in 0..20 {
        flaky.next().await;
    }
    let mut replays = BTreeSet::new();
    while replays.len() < 10 {
        let request = flaky
            .within(Duration::from_secs(30))
            .await
            .expect("every replayed delivery arrives");
        replays.insert(request.header("webhook-id").to_string());
    }
    assert_eq!(replays, (0..10).map(|n| format!("f{n}")).collect::<BTreeSet<_>>());
    let listed = admin_json(&client, a.admin, "/admin/deliveries?state=dead&destination=flaky").await;
    assert_eq!(listed["deliveries"].as_array().map(Vec::len), Some(0), "{listed}");
    drop((a, b, server));
}

/// Senders that post their own events, alternately to the instances still up, each
/// until it is acknowledged; what was acknowledged, and whether any request hung.
struct Senders {
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<BTreeSet<String>>>,
    hung: Arc<Mutex<Vec<String>>>,
    refused: Arc<std::sync::atomic::AtomicUsize>,
    tasks: tokio::task::JoinSet<()>,
}

impl Senders {
    fn start(count: usize, targets: Arc<Mutex<Vec<SocketAddr>>>) -> Senders {
        let client = weir_tests::http_client();
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
        let hung = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for sender in 0..count {
            let (client, targets, stop) = (client.clone(), targets.clone(), stop.clone());
            let (acknowledged, hung, refused) = (acknowledged.clone(), hung.clone(), refused.clone());
            tasks.spawn(async move {
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("s{sender}-{n:05}");
                    let deadline = Instant::now() + Duration::from_secs(90);
                    let mut turn = n;
                    loop {
                        assert!(Instant::now() < deadline, "{key} was never acknowledged");
                        let target = {
                            let targets = targets.lock().unwrap();
                            targets[turn % targets.len()]
                        };
                        turn += 1;
                        match post(&client, target, &key).await {
                            Some(202) => break,
                            Some(503) => {
                                refused.fetch_add(1, Ordering::Relaxed);
                            }
                            Some(_) => {}
                            None => hung.lock().unwrap().push(key.clone()),
                        }
                        // A sender's pace between tries, not a wait before an assertion.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    acknowledged.lock().unwrap().insert(key);
                    n += 1;
                }
            });
        }
        Senders {
            stop,
            acknowledged,
            hung,
            refused,
            tasks,
        }
    }

    async fn until(&self, what: &str, at_least: usize) {
        eventually(what, MILESTONE, async || {
            (self.acknowledged.lock().unwrap().len() >= at_least).then_some(())
        })
        .await;
    }

    fn count(&self) -> usize {
        self.acknowledged.lock().unwrap().len()
    }

    /// Stops them (each finishes the event it is sending) and returns what was
    /// acknowledged; fails if any request hung.
    async fn finish(mut self) -> (BTreeSet<String>, usize) {
        self.stop.store(true, Ordering::Relaxed);
        while let Some(done) = self.tasks.join_next().await {
            done.unwrap();
        }
        let hung = self.hung.lock().unwrap().clone();
        assert!(hung.is_empty(), "requests got no answer in 5 s: {hung:?}");
        let acknowledged = self.acknowledged.lock().unwrap().clone();
        (acknowledged, self.refused.load(Ordering::Relaxed))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_one_instance_with_its_receiver_down_loses_nothing_the_other_delivers_it_all() {
    let Some(nats) = nats_binary("kill_9_of_one_instance") else {
        return;
    };
    let dir = folder("jetstream-kill");
    let server = NatsServer::start(&nats, &dir.join("nats"));
    let receiver_addr = free_port();
    // ack_wait 3 s (the least allowed): the survivor takes over the dead instance's deliveries that soon.
    let config = WeirConfig::new()
        .storage(Storage::jetstream(&[server.url()], "kill", Duration::from_secs(3)))
        .route("cameras", Route::to(["hook"]))
        .destination("hook", patient(format!("http://{receiver_addr}/hook")));
    let a = WeirProcess::spawn(binary(), &dir.join("a"), &config);
    let b = WeirProcess::spawn(binary(), &dir.join("b"), &config);
    let targets = Arc::new(Mutex::new(vec![a.ingest, b.ingest]));
    let senders = Senders::start(6, targets.clone());

    // The receiver is down: deliveries pile up, both instances hold some, retrying.
    senders.until("150 acknowledged events", 150).await;
    a.signal("KILL");
    let before_kill = senders.count();
    drop(a);
    *targets.lock().unwrap() = vec![b.ingest];
    senders
        .until("100 more acknowledged by the survivor", before_kill + 100)
        .await;
    let (acknowledged, _) = senders.finish().await;

    let listener = tokio::net::TcpListener::bind(receiver_addr).await.unwrap();
    let mut receiver = Receiver::on(listener, vec![], Answer::Status(200)).await;
    let arrived = receive_all(&mut receiver, &acknowledged).await;
    let copies: usize = arrived.values().sum();
    eprintln!(
        "jetstream kill -9: {} events acknowledged ({before_kill} before the kill), {copies} deliveries arrived",
        acknowledged.len()
    );
    drop((b, server));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_node_cluster_keeps_every_acknowledged_event_when_a_node_dies() {
    let Some(nats) = nats_binary("a_three_node_cluster") else {
        return;
    };
    let dir = folder("jetstream-cluster");
    let mut cluster = NatsCluster::start(&nats, &dir.join("nats"));
    let mut hook = Receiver::ok().await;
    let config = WeirConfig::new()
        .storage(
            Storage::jetstream(&cluster.urls(), "cluster", Duration::from_secs(5)).jetstream_setting("replicas", 3),
        )
        .route("cameras", Route::to(["hook"]))
        .destination("hook", patient(hook.url()));
    let weir = WeirProcess::spawn(binary(), &dir.join("weir"), &config);
    let client = weir_tests::http_client();
    eventually("the replicated streams set up", MILESTONE, async || {
        let ready = client.get(format!("http://{}/readyz", weir.admin)).send().await.ok()?;
        (ready.status() == 200).then_some(())
    })
    .await;
    let senders = Senders::start(4, Arc::new(Mutex::new(vec![weir.ingest])));
    senders.until("100 acknowledged events", 100).await;
    // The first node is the one Weir connected to first (the list's order): killing it
    // moves the connection as well as the replicas' majority.
    cluster.nodes[0].kill();
    let at_kill = senders.count();
    senders
        .until("100 more acknowledged with a node down", at_kill + 100)
        .await;
    let (acknowledged, refused) = senders.finish().await;
    let arrived = receive_all(&mut hook, &acknowledged).await;
    eprintln!(
        "jetstream cluster: {} events acknowledged ({at_kill} before the node died), {refused} answered 503, {} deliveries",
        acknowledged.len(),
        arrived.values().sum::<usize>()
    );
    drop(weir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_stopped_means_503_and_not_ready_and_started_again_means_nothing_lost() {
    let Some(nats) = nats_binary("nats_stopped") else {
        return;
    };
    let dir = folder("jetstream-outage");
    let mut server = NatsServer::start(&nats, &dir.join("nats"));
    let receiver_addr = free_port();
    let config = WeirConfig::new()
        .storage(Storage::jetstream(&[server.url()], "outage", Duration::from_secs(5)))
        .route("cameras", Route::to(["hook"]))
        .destination("hook", patient(format!("http://{receiver_addr}/hook")));
    let weir = WeirProcess::spawn(binary(), &dir.join("weir"), &config);
    let client = weir_tests::http_client();
    let mut acknowledged = BTreeSet::new();
    for n in 0..50 {
        let key = format!("before-{n}");
        assert_eq!(post(&client, weir.ingest, &key).await, Some(202));
        acknowledged.insert(key);
    }

    server.kill();
    // Every event meets a 503 with Retry-After within the 5 s `post` allows.
    let refused = eventually("a 503 while NATS is down", MILESTONE, async || {
        let response = client
            .post(format!("http://{}/ingest/cameras", weir.ingest))
            .header("content-type", "application/json")
            .header("idempotency-key", "during")
            .body(r#"{"key":"during","predictions":[]}"#)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect("an answer, never a hang");
        (response.status() == 503).then_some(response)
    })
    .await;
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("NATS"), "{body}");
    for n in 0..5 {
        let started = Instant::now();
        assert_eq!(post(&client, weir.ingest, &format!("down-{n}")).await, Some(503));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "a refusal took {:?}",
            started.elapsed()
        );
    }
    let ready = client
        .get(format!("http://{}/readyz", weir.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let ready: Value = ready.json().await.unwrap();
    assert!(ready["reason"].as_str().unwrap().contains("NATS"), "{ready}");
    assert!(weir.metrics().await.contains("weir_outbox_available 0"));

    server.restart();
    server.wait_healthy();
    eventually("accepting again", MILESTONE, async || {
        (post(&client, weir.ingest, "after-0").await == Some(202)).then_some(())
    })
    .await;
    acknowledged.insert("after-0".to_string());
    for n in 1..50 {
        let key = format!("after-{n}");
        assert_eq!(post(&client, weir.ingest, &key).await, Some(202));
        acknowledged.insert(key);
    }
    assert!(weir.metrics().await.contains("weir_outbox_available 1"));

    let listener = tokio::net::TcpListener::bind(receiver_addr).await.unwrap();
    let mut receiver = Receiver::on(listener, vec![], Answer::Status(200)).await;
    // (An event refused with 503 must not arrive: `receive_all` fails on it.)
    receive_all(&mut receiver, &acknowledged).await;
    drop((weir, server));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_larger_than_a_message_travels_through_the_object_store() {
    let Some(nats) = nats_binary("an_image_larger_than_a_message") else {
        return;
    };
    let dir = folder("jetstream-large");
    let server = NatsServer::start(&nats, &dir.join("nats"));
    let mut hook = Receiver::ok().await;
    let config = WeirConfig::new()
        .storage(Storage::jetstream(&[server.url()], "large", Duration::from_secs(5)))
        .route("cameras", Route::to(["hook"]))
        .destination(
            "hook",
            patient(hook.url()).format(BodyFormat::Multipart).include_image(true),
        );
    let weir = WeirProcess::spawn(binary(), &dir.join("weir"), &config);
    // 3 MiB: three times the server's largest message (1 MiB by default).
    let image: Vec<u8> = (0..3 << 20).map(|n: u32| (n % 251) as u8).collect();
    let (content_type, body) = multipart_body(&[
        (
            "file",
            Some("predictions.json"),
            "application/json",
            br#"{"key":"large","predictions":[]}"#,
        ),
        ("file", Some("image.jpeg"), "image/jpeg", &image),
    ]);
    let client = weir_tests::http_client();
    let answer = client
        .post(format!("http://{}/ingest/cameras", weir.ingest))
        .header("content-type", content_type)
        .header("idempotency-key", "large")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202, "{}", answer.text().await.unwrap());
    let request = hook.next().await;
    assert_eq!(request.header("webhook-id"), "large");
    let parts = parse_multipart(request.header("content-type"), request.body.clone()).await;
    let (_, _, sent) = parts
        .iter()
        .find(|(name, _, _)| name == "image.jpeg")
        .expect("the image is delivered");
    assert_eq!(sent.len(), image.len());
    assert!(sent[..] == image[..], "the image arrives unchanged");
    drop((weir, server));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destinations_requests_in_flight_are_bounded_across_the_instances() {
    let Some(nats) = nats_binary("a_destinations_requests_in_flight_are_bounded") else {
        return;
    };
    let dir = folder("jetstream-bound");
    let server = NatsServer::start(&nats, &dir.join("nats"));
    // Every request is held open until released: attempts in flight for as long as the
    // test wants.
    let mut hook = Receiver::scripted(vec![], Answer::Held(200)).await;
    let config = WeirConfig::new()
        // Held requests must not time out while the test looks for a fourth: a timed
        // out attempt is retried 50 ms later, a request the receiver sees, within the
        // two seconds the test watches once the third arrived (with `patient`'s 2 s
        // timeout, whenever the three arrived more than 50 ms apart). The ack_wait
        // exceeds the timeout, as the configuration requires.
        .storage(Storage::jetstream(&[server.url()], "bound", Duration::from_secs(30)))
        .route("cameras", Route::to(["hook"]))
        .destination(
            "hook",
            patient(hook.url()).timeout(Duration::from_secs(20)).max_in_flight(3),
        );
    let a = WeirProcess::spawn(binary(), &dir.join("a"), &config);
    let b = WeirProcess::spawn(binary(), &dir.join("b"), &config);
    let client = weir_tests::http_client();
    let keys: Vec<String> = (0..20).map(|n| format!("b{n:02}")).collect();
    for (n, key) in keys.iter().enumerate() {
        let ingest = if n % 2 == 0 { a.ingest } else { b.ingest };
        assert_eq!(post(&client, ingest, key).await, Some(202), "{key}");
    }
    // Three requests arrive (max_in_flight = 3, for the group, not each instance)...
    let mut arrived = BTreeSet::new();
    for _ in 0..3 {
        let request = hook
            .within(Duration::from_secs(30))
            .await
            .expect("three requests in flight");
        arrived.insert(request.header("webhook-id").to_string());
    }
    // ...and no fourth while they are held, from either instance.
    assert!(
        hook.within(Duration::from_secs(2)).await.is_none(),
        "a fourth request went out while three were in flight"
    );
    hook.release();
    while arrived.len() < keys.len() {
        let request = hook
            .within(Duration::from_secs(30))
            .await
            .expect("every event delivered");
        arrived.insert(request.header("webhook-id").to_string());
    }
    assert_eq!(arrived, keys.iter().cloned().collect::<BTreeSet<_>>());
    let check = std::process::Command::new(binary())
        .args(["check", "--config"])
        .arg(dir.join("a").join("weir.toml"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{said}");
    // `weir check` reads the streams from the server.
    assert!(
        said.contains("BOUND_DELIVERIES (") && said.contains("messages)"),
        "{said}"
    );
    drop((a, b, server));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_removed_by_a_reload_has_its_waiting_retries_dead_lettered() {
    let Some(nats) = nats_binary("a_destination_removed_by_a_reload") else {
        return;
    };
    let dir = folder("jetstream-retire");
    let server = NatsServer::start(&nats, &dir.join("nats"));
    let mut failing = Receiver::scripted(vec![], Answer::Status(500)).await;
    let hook = Receiver::ok().await;
    let storage = Storage::jetstream(&[server.url()], "retire", Duration::from_secs(5));
    let before = WeirConfig::new()
        .storage(storage.clone())
        .route("cameras", Route::to(["hook", "gone"]))
        .destination("hook", patient(hook.url()))
        .destination(
            "gone",
            Destination::url(failing.url())
                .retry(
                    Retry::new()
                        .max_retries(5)
                        .initial_delay(Duration::from_secs(3600))
                        .max_delay(Duration::from_secs(3600)),
                )
                // Room for all ten in flight: each is tried once, then waits (a retry
                // waiting counts against the bound, see docs/JETSTREAM.md).
                .max_in_flight(16)
                .circuit_breaker(Breaker::off()),
        );
    let weir = WeirProcess::spawn(binary(), &dir.join("weir"), &before);
    let client = weir_tests::http_client();
    for n in 0..10 {
        assert_eq!(post(&client, weir.ingest, &format!("r{n}")).await, Some(202));
    }
    // Each tried once and waiting an hour for its retry: held back by JetStream.
    for _ in 0..10 {
        failing.next().await;
    }
    let after = WeirConfig::new()
        .storage(storage)
        .route("cameras", Route::to(["hook"]))
        .destination("hook", patient(hook.url()));
    std::fs::write(&weir.config, after.to_string()).unwrap();
    let reloaded = client
        .post(format!("http://{}/admin/reload", weir.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(reloaded.status(), 200, "{}", reloaded.text().await.unwrap());
    let dead = eventually(
        "the removed destination's deliveries dead-lettered",
        MILESTONE,
        async || {
            let listed = admin_json(&client, weir.admin, "/admin/deliveries?state=dead&destination=gone").await;
            let dead = listed["deliveries"].as_array().cloned().unwrap_or_default();
            (dead.len() == 10).then_some(dead)
        },
    )
    .await;
    let keys: BTreeSet<String> = dead
        .iter()
        .map(|d| d["event_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys, (0..10).map(|n| format!("r{n}")).collect::<BTreeSet<_>>());
    drop((weir, server));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_the_environment_signs_in_and_a_wrong_one_says_why_it_is_refused() {
    let Some(nats) = nats_binary("a_token_from_the_environment") else {
        return;
    };
    let dir = folder("jetstream-token");
    let server = NatsServer::start_with(&nats, &dir.join("nats"), &["--auth", "s3cret-token"]);
    let mut hook = Receiver::ok().await;
    let config = WeirConfig::new()
        .storage(
            Storage::jetstream(&[server.url()], "token", Duration::from_secs(5))
                .jetstream_setting("token", "${NATS_TOKEN}"),
        )
        .route("cameras", Route::to(["hook"]))
        .destination("hook", patient(hook.url()));
    let start = |name: &str, token: &str| {
        let folder = dir.join(name);
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join("weir.toml");
        std::fs::write(&path, config.to_string()).unwrap();
        let mut command = WeirProcess::command(binary(), &path);
        command.env("NATS_TOKEN", token);
        WeirProcess::start(command)
    };
    let signed_in = start("right", "s3cret-token");
    let client = weir_tests::http_client();
    assert_eq!(post(&client, signed_in.ingest, "t1").await, Some(202));
    assert_eq!(hook.next().await.header("webhook-id"), "t1");
    // The config and the admin API never show the token.
    let shown = client
        .get(format!("http://{}/admin/config", signed_in.admin))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!shown.contains("s3cret-token"), "{shown}");

    let refused = start("wrong", "not-the-token");
    let ready = client
        .get(format!("http://{}/readyz", refused.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let ready: Value = ready.json().await.unwrap();
    let reason = ready["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("authorization"), "{ready}");
    let answer = client
        .post(format!("http://{}/ingest/cameras", refused.ingest))
        .header("content-type", "application/json")
        .body(r#"{"key":"t2","predictions":[]}"#)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 503);
    let body: Value = answer.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("authorization"), "{body}");
    drop((signed_in, refused, server));
}
