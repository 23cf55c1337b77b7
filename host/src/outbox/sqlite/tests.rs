use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;

use super::*;
use crate::event::Attachment;

fn path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weir-outbox-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("outbox.db")
}

fn event(id: &str) -> Arc<Event> {
    let mut event = Event::new(id, "cameras", r#"{"predictions":[]}"#);
    event.attachments.push(Attachment {
        name: "image.jpeg".into(),
        content_type: "image/jpeg".into(),
        data: Bytes::from_static(b"JPEG"),
    });
    event.metadata.push(("camera".into(), "dock-3".into()));
    event.destinations = vec!["a".into(), "b".into()];
    Arc::new(event)
}

fn attempt(status: u16) -> Attempt {
    Attempt {
        at: SystemTime::now(),
        status: Some(status),
        latency: Duration::from_millis(2),
        error: (status >= 300).then(|| format!("answered {status}")),
        response: "nope".into(),
        batch: None,
    }
}

/// Waits until every write sent so far is committed.
async fn flush(outbox: &SqliteOutbox) {
    outbox.expire(UNIX_EPOCH, u64::MAX).await.unwrap();
}

#[tokio::test]
async fn pending_deliveries_and_their_retry_times_survive_a_restart() {
    let path = path("restart");
    let outbox = SqliteOutbox::open(&path, 100, 1 << 20).unwrap();
    assert_eq!(outbox.enqueue(event("e1")).await.unwrap(), Enqueued::Accepted);
    let claimed = outbox.claim("a", 10).await.unwrap().deliveries;
    let later = Instant::now() + Duration::from_secs(3600);
    outbox
        .complete(&claimed[0], &attempt(503), Next::RetryAt(later))
        .await
        .unwrap();
    flush(&outbox).await;
    drop(outbox);

    let reopened = SqliteOutbox::open(&path, 100, 1 << 20).unwrap();
    assert_eq!(reopened.stats().pending, 2);
    // b is due now; a waits for its retry, an hour away.
    let b = reopened.claim("b", 10).await.unwrap();
    assert_eq!(b.deliveries.len(), 1);
    let event = &b.deliveries[0].event;
    assert_eq!(event.attachments[0].data, Bytes::from_static(b"JPEG"));
    assert_eq!(event.metadata, [("camera".to_string(), "dock-3".to_string())]);
    let a = reopened.claim("a", 10).await.unwrap();
    assert!(a.deliveries.is_empty());
    let due_in = a.next_due.unwrap().saturating_duration_since(Instant::now());
    assert!(due_in > Duration::from_secs(3500), "{due_in:?}");
    // The same id is still a duplicate after the restart.
    assert_eq!(reopened.enqueue(self::event("e1")).await.unwrap(), Enqueued::Duplicate);
}

#[tokio::test]
async fn every_attempt_is_recorded_and_dead_letters_replay_after_a_restart() {
    let path = path("dead");
    let outbox = SqliteOutbox::open(&path, 100, 1 << 20).unwrap();
    outbox.enqueue(event("e1")).await.unwrap();
    let a = outbox.claim("a", 10).await.unwrap().deliveries.remove(0);
    outbox
        .complete(&a, &attempt(500), Next::RetryAt(Instant::now()))
        .await
        .unwrap();
    let a = outbox.claim("a", 10).await.unwrap().deliveries.remove(0);
    outbox
        .complete(&a, &attempt(404), Next::Dead("answered 404; not retried".into()))
        .await
        .unwrap();
    flush(&outbox).await;
    drop(outbox);

    let reopened = SqliteOutbox::open(&path, 100, 1 << 20).unwrap();
    assert_eq!(reopened.stats().dead, 1);
    let record = reopened.event("e1").await.unwrap().unwrap();
    let a_record = record.deliveries.iter().find(|d| d.destination == "a").unwrap();
    assert_eq!(a_record.state, DeliveryState::Dead);
    assert_eq!(a_record.attempts, 2);
    assert_eq!(a_record.last_error.as_deref(), Some("answered 404; not retried"));
    assert_eq!(
        a_record.history.iter().map(|h| h.status).collect::<Vec<_>>(),
        [Some(500), Some(404)]
    );
    assert_eq!(a_record.history[0].response, "nope");

    assert_eq!(reopened.replay_dead("a").await.unwrap(), 1);
    let replayed = reopened.claim("a", 10).await.unwrap().deliveries;
    assert_eq!(replayed.len(), 1);
    assert_eq!(replayed[0].event.id, "e1");
    assert_eq!(replayed[0].attempts, 0);
    assert_eq!(reopened.stats().dead, 0);
}

#[tokio::test]
async fn concurrent_events_share_commits() {
    let path = path("group");
    let outbox = Arc::new(SqliteOutbox::open(&path, 10_000, 1 << 30).unwrap());
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let outbox = outbox.clone();
        tasks.spawn(async move { outbox.enqueue(event(&format!("e{i}"))).await.unwrap() });
    }
    while let Some(done) = tasks.join_next().await {
        assert_eq!(done.unwrap(), Enqueued::Accepted);
    }
    assert_eq!(outbox.stats().pending, 400);
    assert!(outbox.commits() < 200, "{} commits for 200 events", outbox.commits());
}

#[tokio::test]
async fn delivered_records_expire_and_retired_destinations_die() {
    let path = path("expire");
    let outbox = SqliteOutbox::open(&path, 100, 1 << 20).unwrap();
    outbox.enqueue(event("e1")).await.unwrap();
    let a = outbox.claim("a", 10).await.unwrap().deliveries.remove(0);
    outbox.complete(&a, &attempt(200), Next::Delivered).await.unwrap();
    assert_eq!(
        outbox
            .retire("b", "destination b was removed from the config")
            .await
            .unwrap(),
        1
    );
    flush(&outbox).await;
    let stats = outbox.stats();
    assert_eq!((stats.pending, stats.pending_bytes, stats.dead), (0, 0, 1));
    assert!(stats.commits >= 3, "{stats:?}");
    assert_eq!(
        outbox
            .expire(SystemTime::now() + Duration::from_secs(1), u64::MAX)
            .await
            .unwrap(),
        1
    );
    let record = outbox.event("e1").await.unwrap().unwrap();
    assert_eq!(record.deliveries.len(), 1);
    assert_eq!(record.deliveries[0].state, DeliveryState::Dead);
}

#[tokio::test]
async fn the_delivery_log_is_read_in_pages_oldest_or_newest_first() {
    let path = path("attempt-log");
    let outbox = SqliteOutbox::open(&path, 100, 1 << 20).unwrap();
    for n in 0..4 {
        outbox.enqueue(event(&format!("e{n}"))).await.unwrap();
        for (name, status) in [("a", 200), ("b", 503)] {
            let claimed = outbox.claim(name, 10).await.unwrap();
            let next = if status == 200 {
                Next::Delivered
            } else {
                Next::RetryAt(Instant::now() + Duration::from_secs(3600))
            };
            outbox
                .complete(&claimed.deliveries[0], &attempt(status), next)
                .await
                .unwrap();
        }
    }
    flush(&outbox).await;
    let mut cursor = None;
    let mut seen = Vec::new();
    loop {
        let page = outbox.attempts(&AttemptQuery::default(), cursor, 3).await.unwrap();
        assert!(page.attempts.len() <= 3);
        seen.extend(page.attempts.into_iter().map(|a| (a.event_id, a.destination, a.status)));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8, "{seen:?}");
    assert_eq!(seen[0], ("e0".to_string(), "a".to_string(), Some(200)));
    let failed = AttemptQuery {
        status: Some(crate::outbox::StatusFilter::Class(5)),
        newest_first: true,
        ..AttemptQuery::default()
    };
    let page = outbox.attempts(&failed, None, 2).await.unwrap();
    let ids: Vec<&str> = page.attempts.iter().map(|a| a.event_id.as_str()).collect();
    assert_eq!(ids, ["e3", "e2"]);
    assert_eq!(page.attempts[0].response, "nope");
    let later = AttemptQuery {
        since: Some(SystemTime::now() + Duration::from_secs(60)),
        ..AttemptQuery::default()
    };
    assert!(outbox.attempts(&later, None, 10).await.unwrap().attempts.is_empty());
    assert_eq!(
        outbox.destination_counts("b").await.unwrap(),
        DestinationCounts { queued: 4, dead: 0 }
    );
}

#[tokio::test]
async fn past_the_byte_bound_the_oldest_delivered_events_are_forgotten_first() {
    let path = path("expire-bytes");
    let outbox = SqliteOutbox::open(&path, 1000, 1 << 30).unwrap();
    let one = |id: &str| {
        let mut event = Event::new(id, "r", format!("{{\"pad\":\"{}\"}}", "x".repeat(10_000)));
        event.destinations = vec!["a".into()];
        Arc::new(event)
    };
    for n in 0..10 {
        outbox.enqueue(one(&format!("e{n}"))).await.unwrap();
        // Distinct acceptance times, oldest first.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // e9 stays pending: never forgotten, whatever the bound.
    for delivery in outbox.claim("a", 9).await.unwrap().deliveries {
        outbox
            .complete(&delivery, &attempt(200), Next::Delivered)
            .await
            .unwrap();
    }
    flush(&outbox).await;
    // Room for about three delivered events: the newest three are kept.
    let forgotten = outbox.expire(UNIX_EPOCH, 35_000).await.unwrap();
    assert_eq!(forgotten, 6);
    for n in 0..6 {
        assert!(outbox.event(&format!("e{n}")).await.unwrap().is_none(), "e{n}");
    }
    for n in 6..10 {
        assert!(outbox.event(&format!("e{n}")).await.unwrap().is_some(), "e{n}");
    }
}

#[tokio::test]
async fn an_events_trace_context_is_kept_and_a_version_1_store_is_upgraded() {
    // A store as the previous schema wrote it: no trace column.
    let path = path("schema-1");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    {
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "CREATE TABLE events (id TEXT PRIMARY KEY, route TEXT NOT NULL, task TEXT NOT NULL, \
                 metadata TEXT NOT NULL, predictions TEXT NOT NULL, destinations TEXT NOT NULL, \
                 accepted_at INTEGER NOT NULL, bytes INTEGER NOT NULL); \
                 CREATE TABLE attempts (delivery_id INTEGER NOT NULL, at INTEGER NOT NULL, status INTEGER, \
                 latency_us INTEGER NOT NULL, error TEXT, response TEXT NOT NULL); PRAGMA user_version = 1;",
            )
            .unwrap();
    }
    let outbox = SqliteOutbox::open(&path, 100, 1 << 20).unwrap();
    let mut traced = Arc::unwrap_or_clone(event("e1"));
    traced.trace = Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into());
    assert_eq!(outbox.enqueue(Arc::new(traced)).await.unwrap(), Enqueued::Accepted);
    flush(&outbox).await;
    drop(outbox);
    let reopened = SqliteOutbox::open(&path, 100, 1 << 20).unwrap();
    let claimed = reopened.claim("a", 10).await.unwrap().deliveries;
    assert_eq!(
        claimed[0].event.trace.as_deref(),
        Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    );
}

#[tokio::test]
async fn an_expired_delivery_is_dead_without_an_attempt_and_stays_so() {
    let path = path("expired");
    let outbox = SqliteOutbox::open(&path, 100, 1 << 20).unwrap();
    outbox.enqueue(event("e1")).await.unwrap();
    let claimed = outbox.claim("a", 10).await.unwrap().deliveries;
    outbox.expired(&claimed[0], "expired: too old".into()).await.unwrap();
    flush(&outbox).await;
    assert_eq!(outbox.stats().dead, 1);
    drop(outbox);
    let reopened = SqliteOutbox::open(&path, 100, 1 << 20).unwrap();
    assert!(reopened.claim("a", 10).await.unwrap().deliveries.is_empty());
    let record = reopened.event("e1").await.unwrap().unwrap();
    let a = record.deliveries.iter().find(|d| d.destination == "a").unwrap();
    assert_eq!(a.state, DeliveryState::Dead);
    assert_eq!(a.attempts, 0);
    assert_eq!(a.last_error.as_deref(), Some("expired: too old"));
}
