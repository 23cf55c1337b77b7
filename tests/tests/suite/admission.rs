//! Admission: a full store is backpressure for the destination that filled it, never a
//! refusal of everyone's events, and an event that can never fit is told so (413), not
//! asked to try again forever.

use std::time::Duration;

use weir::config::WhenFull;
use weir_tests::config::{Destination, Route, Storage};
use weir_tests::receiver::{Answer, Receiver};
use weir_tests::records::{delivery, metric};
use weir_tests::router::start;
use weir_tests::{WeirConfig, eventually};

/// Two destinations on one route: `stuck` holds every request open (its deliveries stay
/// pending) and may hold 5 deliveries; `alive` answers at once and has the default share.
async fn stuck_and_alive(storage: Storage, when_full: WhenFull) -> (weir_tests::router::Weir, Receiver, Receiver) {
    let held = Receiver::scripted(vec![], Answer::Held(200)).await;
    let alive = Receiver::ok().await;
    let stuck = Destination::url(held.url())
        .max_in_flight(2)
        .max_pending(5)
        .when_full(when_full);
    let weir = start(
        &WeirConfig::new()
            .storage(storage.max_pending(1000))
            .route("r", Route::to(["stuck", "alive"]))
            .destination("stuck", stuck)
            .destination("alive", Destination::url(alive.url())),
    )
    .await;
    (weir, held, alive)
}

#[tokio::test]
async fn a_stuck_receiver_never_refuses_events_for_the_others() {
    stuck_receiver_on(Storage::memory()).await;
}

#[tokio::test]
async fn a_stuck_receiver_never_refuses_events_for_the_others_in_the_durable_store() {
    stuck_receiver_on(Storage::durable()).await;
}

async fn stuck_receiver_on(storage: Storage) {
    let (weir, held, mut alive) = stuck_and_alive(storage, WhenFull::DeadLetter).await;
    // 30 events: three times what the whole store holds. Each is accepted.
    for n in 0..30 {
        let answer = weir.post_json("r", &format!(r#"{{"n":{n}}}"#)).await;
        assert_eq!(answer.status(), 202, "event {n}: {}", answer.text().await.unwrap());
    }
    for _ in 0..30 {
        alive
            .within(Duration::from_secs(10))
            .await
            .expect("every event reaches alive");
    }
    // The last event's delivery to stuck went straight to the dead letters, saying why.
    let answer = weir.post_json("r", r#"{"n":"last"}"#).await;
    let id = answer.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let record = weir.event(&id).await;
    let stuck = delivery(&record, "stuck");
    assert_eq!(stuck["state"], "dead", "{record:#}");
    let reason = stuck["last_error"].as_str().unwrap();
    assert!(
        reason.contains("stuck's share of the store was full") && reason.contains("max_pending = 5"),
        "{reason}"
    );
    let metrics = weir.metrics().await;
    let shed = metric(
        &metrics,
        r#"weir_destination_shed_deliveries_total{destination="stuck"}"#,
    )
    .unwrap_or(0);
    assert!(shed >= 25, "{metrics}");
    assert_eq!(
        metric(&metrics, r#"weir_destination_pending_deliveries{destination="stuck"}"#),
        Some(5),
        "{metrics}"
    );
    // Once the receiver is back, the dead letters replay.
    held.release();
    let replayed = weir.admin_post("/admin/destinations/stuck/replay-dead").await;
    assert!(replayed.status().is_success(), "{}", replayed.text().await.unwrap());
    let record = weir
        .event_when(&id, "the replayed delivery to stuck delivered", |record| {
            delivery(record, "stuck")["state"] == "delivered"
        })
        .await;
    assert_eq!(delivery(&record, "stuck")["state"], "delivered");
    weir.stop().await;
}

#[tokio::test]
async fn a_destination_that_refuses_when_full_gets_503_with_retry_after_naming_it() {
    let (weir, held, _alive) = stuck_and_alive(Storage::memory(), WhenFull::Refuse).await;
    let refused = eventually(
        "a refusal once stuck's share is full",
        Duration::from_secs(10),
        async || {
            let answer = weir.post_json("r", "{}").await;
            (answer.status() == 503).then_some(answer)
        },
    )
    .await;
    assert_eq!(refused.headers()["retry-after"], "1");
    let body: serde_json::Value = refused.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("destination stuck") && error.contains("when_full") && error.contains("nothing was stored"),
        "{error}"
    );
    held.release();
    weir.stop().await;
}

#[tokio::test]
async fn an_event_larger_than_the_store_is_413_and_never_503() {
    let hook = Receiver::ok().await;
    let weir = start(
        &WeirConfig::new()
            .storage(Storage::memory().max_bytes(4096))
            .route("r", Route::to(["hook"]))
            .destination("hook", Destination::url(hook.url())),
    )
    .await;
    let big = format!(r#"{{"padding":"{}"}}"#, "x".repeat(8192));
    let answer = weir.post_json("r", &big).await;
    assert_eq!(answer.status(), 413);
    let body: serde_json::Value = answer.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("storage.max_bytes (4096 bytes)") && error.contains("can never be accepted"),
        "{error}"
    );
    // A small one still goes through.
    assert_eq!(weir.post_json("r", "{}").await.status(), 202);
    weir.stop().await;
}
