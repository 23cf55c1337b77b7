//! The plugin runtime's costs on a 1 KB object-detection event (seed 000's shape):
//!
//! - `class-filter/native`: the same filter compiled natively and run through the SDK's
//!   native harness, which lists the predictions and applies the edits with Weir's own
//!   code: the work of the wasm path without the wasm;
//! - `class-filter/wasm-warm`: the same filter as a component, on a warm instance,
//!   through `Filter::run` (lending the event, the call, checking and applying the
//!   edits);
//!
//! both on a new event each time, whose predictions are parsed during the call (the
//! cost of one parse is in the figure, as it was in contract 0.1, where every filter
//! parsed); the `-parsed` variants reuse one event whose parse is already made, as a
//! filter after the first of a chain, or after ingest, finds it;
//! - `instance/prewarm`: a new instance: instantiation and `init`;
//! - `instance/fresh-per-event`: a filter in fresh-instance mode, per event;
//! - `chain/three-rust-filters`: class-filter, strip-masks, reshape in a row;
//! - `core-module/sample-wat`: the WAT example through the core-module ABI: the ABI's
//!   own cost (the event written as JSON into the guest, the verdict read back) and one
//!   state increment, since the guest itself does almost nothing else;
//! - `state/*`: one operation on a filter's state store as the host performs it (the
//!   lock, the map, the expiry check), on a store of 10,000 keys;
//! - `cooldown/wasm-warm`: the cooldown example, two state operations per event (a
//!   compare-and-set that fails, the event being in its period, and the read before
//!   it in "new objects" mode is not used).
//!
//! Run with `cargo bench -p weir --bench plugins`; figures go in the issue notes and
//! `docs/BENCHMARKS.md`.

use std::hint::black_box;
use std::sync::Arc;

use class_filter::ClassFilter;
use criterion::BatchSize;
use criterion::{Criterion, criterion_group, criterion_main};
use weir::event::{Event, Predictions, Task};
use weir::plugin::examples::example;
use weir::plugin::state::StateHandle;
use weir::plugin::{EngineSettings, Filter, FilterSettings, InstancePolicy, Outcome, Plugin, PluginEngine};
use weir_plugin_sdk::testing::{Harness, Outcome as NativeOutcome, TestEvent};

const EVENT: &str = include_str!("../../tests/fixtures/object-detection.json");
const CONFIG: &str = r#"{"classes":["person","car"],"min_confidence":0.5}"#;

fn plugin(engine: &PluginEngine, name: &str) -> Arc<Plugin> {
    let example = example(name).expect("example plugin");
    Arc::new(Plugin::from_bytes(engine, name, name, example.bytes).expect("plugin loads"))
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let engine = PluginEngine::new(&EngineSettings::default()).unwrap();
    let event = Arc::new(Event::new("bench", "bench", EVENT));
    let filter = |name: &str, config: &str, policy: InstancePolicy| {
        let settings = FilterSettings {
            config: config.into(),
            policy,
            ..FilterSettings::default()
        };
        runtime.block_on(Filter::new(plugin(&engine, name), settings)).unwrap()
    };

    let mut group = c.benchmark_group("predictions");
    // What ingest does with every event: validate and parse the document once, and
    // recognise the task from it.
    group.bench_function("parse", |b| {
        b.iter(|| {
            let predictions = Predictions::parse(black_box(EVENT)).unwrap();
            let task = predictions.document().unwrap().task();
            (predictions, task)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("class-filter");
    // A new event of the same text, its predictions not parsed yet.
    let unparsed = || {
        Arc::new(Event::with_task(
            "bench",
            "bench",
            Predictions::new(EVENT),
            Task::OBJECT_DETECTION,
        ))
    };
    let mut native = Harness::<ClassFilter>::new(CONFIG).unwrap();
    group.bench_function("native", |b| {
        b.iter_batched(
            || TestEvent::new(EVENT),
            |test_event| {
                let outcome = native.filter(black_box(&test_event)).unwrap();
                assert!(matches!(outcome, NativeOutcome::Kept(_)));
                outcome
            },
            BatchSize::SmallInput,
        )
    });
    let parsed_event = TestEvent::new(EVENT);
    group.bench_function("native-parsed", |b| {
        b.iter(|| native.filter(black_box(&parsed_event)).unwrap())
    });
    let warm = filter("class-filter", CONFIG, InstancePolicy::Reuse);
    let warm = &warm;
    group.bench_function("wasm-warm", |b| {
        b.to_async(&runtime).iter_batched(
            unparsed,
            |event| async move {
                let outcome = warm.run(black_box(&event)).await.unwrap();
                assert!(matches!(outcome, Outcome::Modified(_)));
                // Returned, so that freeing it is not timed.
                (outcome, event)
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("wasm-warm-parsed", |b| {
        b.to_async(&runtime).iter(|| async {
            let outcome = warm.run(black_box(&event)).await.unwrap();
            assert!(matches!(outcome, Outcome::Modified(_)));
            outcome
        })
    });
    group.finish();

    let mut group = c.benchmark_group("instance");
    group.bench_function("prewarm", |b| {
        b.to_async(&runtime).iter(|| async {
            // A one-slot pool: each prewarm makes an instance and discards it.
            warm.prewarm().await.unwrap();
        })
    });
    let fresh = filter("class-filter", CONFIG, InstancePolicy::Fresh);
    group.bench_function("fresh-per-event", |b| {
        b.to_async(&runtime)
            .iter(|| async { fresh.run(black_box(&event)).await.unwrap() })
    });
    group.finish();

    let chain = [
        filter("class-filter", CONFIG, InstancePolicy::Reuse),
        filter("strip-masks", "{}", InstancePolicy::Reuse),
        filter("reshape", "{}", InstancePolicy::Reuse),
    ];
    let mut group = c.benchmark_group("chain");
    group.bench_function("three-rust-filters", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut current = event.clone();
            for filter in &chain {
                match filter.run(&current).await.unwrap() {
                    Outcome::Modified(changed) => current = changed,
                    Outcome::Kept => {}
                    Outcome::Dropped(reason) => panic!("dropped: {reason}"),
                }
            }
            black_box(current)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("state");
    let state = StateHandle::detached();
    let now = weir::plugin::state::now_ms();
    state.with(|store| {
        for i in 0..10_000 {
            store
                .set(&format!("camera-{i}/person"), b"1".to_vec(), Some(3_600_000), now)
                .unwrap();
        }
    });
    group.bench_function("get", |b| {
        b.iter(|| state.with(|store| store.get(black_box("camera-5000/person"), now)))
    });
    group.bench_function("compare-and-set-claimed", |b| {
        b.iter(|| {
            state.with(|store| {
                store.compare_and_set(
                    black_box("camera-5000/person"),
                    None,
                    Some(b"1".to_vec()),
                    Some(1000),
                    now,
                )
            })
        })
    });
    group.bench_function("increment", |b| {
        b.iter(|| state.with(|store| store.increment(black_box("counter"), 1, None, now)))
    });
    group.bench_function("set-evicting", |b| {
        let full = StateHandle::detached();
        let mut i = 0u64;
        full.with(|store| {
            store.set_limits(
                weir_contract::state::StoreLimits {
                    max_entries: 10_000,
                    max_bytes: 4 << 20,
                },
                now,
            )
        });
        b.iter(|| {
            i += 1;
            full.with(|store| store.set(&format!("key-{i}"), b"1".to_vec(), None, now))
        })
    });
    group.finish();

    let cooldown = filter(
        "cooldown",
        r#"{"seconds":3600,"key":["field.camera","class"]}"#,
        InstancePolicy::Reuse,
    );
    let mut group = c.benchmark_group("cooldown");
    group.bench_function("wasm-warm", |b| {
        b.to_async(&runtime)
            .iter(|| async { cooldown.run(black_box(&event)).await.unwrap() })
    });
    group.finish();

    let sample = wat::parse_file(concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins/wat/sample/sample.wat")).unwrap();
    let sample = Arc::new(Plugin::from_bytes(&engine, "sample", "sample.wat", &sample).expect("plugin loads"));
    let sample = runtime
        .block_on(Filter::new(sample, FilterSettings::default()))
        .unwrap();
    let mut group = c.benchmark_group("core-module");
    group.bench_function("sample-wat", |b| {
        b.to_async(&runtime)
            .iter(|| async { sample.run(black_box(&event)).await.unwrap() })
    });
    group.finish();
}

criterion_group!(plugins, benches);
criterion_main!(plugins);
