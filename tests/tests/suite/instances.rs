//! Instance reuse, fresh instances, recycling and concurrency.

use std::sync::Arc;

use weir::event::Event;
use weir::plugin::{FilterSettings, InstancePolicy, Outcome};
use weir_tests::filters::{example_filter, guest_filter_with, modified, run};
use weir_tests::{FIXTURES, fixture_event};

async fn counts(settings: FilterSettings, events: usize) -> Vec<String> {
    let filter = guest_filter_with(settings).await;
    let mut counts = Vec::new();
    for _ in 0..events {
        let event = modified(run(&filter, fixture_event("classification")).await);
        counts.push(event.metadata_value("count").unwrap().to_string());
    }
    counts
}

#[tokio::test]
async fn warm_instances_carry_state_and_fresh_ones_do_not() {
    let reuse = FilterSettings {
        config: r#"{"mode":"counter"}"#.into(),
        ..FilterSettings::default()
    };
    assert_eq!(counts(reuse.clone(), 3).await, ["1", "2", "3"]);
    let fresh = FilterSettings {
        policy: InstancePolicy::Fresh,
        ..reuse.clone()
    };
    assert_eq!(counts(fresh, 3).await, ["1", "1", "1"]);
    let recycled = FilterSettings { max_calls: 2, ..reuse };
    assert_eq!(counts(recycled, 5).await, ["1", "2", "1", "2", "1"]);
}

#[tokio::test]
async fn attachment_bytes_reach_the_guest_only_on_request() {
    let filter = guest_filter_with(FilterSettings {
        config: r#"{"mode":"read-attachments"}"#.into(),
        ..FilterSettings::default()
    })
    .await;
    let event = fixture_event("instance-segmentation");
    let total: usize = event.attachments_size();
    let event = modified(run(&filter, event).await);
    assert_eq!(event.metadata_value("bytes"), Some(total.to_string().as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_events_give_the_same_results_as_sequential_ones() {
    let filter = Arc::new(example_filter("class-filter", r#"{"classes":["person","car"],"min_confidence":0.5}"#).await);
    let events: Vec<Arc<Event>> = (0..240)
        .map(|i| {
            let mut event = fixture_event(FIXTURES[i % FIXTURES.len()]);
            event.id = format!("e{i}");
            Arc::new(event)
        })
        .collect();
    let mut sequential = Vec::new();
    for event in &events {
        sequential.push(filter.run(event).await.unwrap());
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (i, event) in events.iter().cloned().enumerate() {
        let filter = filter.clone();
        tasks.spawn(async move { (i, filter.run(&event).await.unwrap()) });
    }
    let mut concurrent: Vec<Option<Outcome>> = vec![None; events.len()];
    while let Some(done) = tasks.join_next().await {
        let (i, outcome) = done.unwrap();
        concurrent[i] = Some(outcome);
    }
    for (i, (one, other)) in sequential.iter().zip(&concurrent).enumerate() {
        assert_eq!(Some(one), other.as_ref(), "event {i}");
    }
    assert!(filter.stats().instances.load(std::sync::atomic::Ordering::Relaxed) > 1);
}
