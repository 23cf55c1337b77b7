//! `weir bench` runs a short scenario end to end and produces well-formed output. (Its
//! figures are not asserted: benchmarks are measured, not tested.)

use serde_json::Value;
use weir_tests::workspace;

#[test]
fn a_short_bench_runs_end_to_end_and_writes_json() {
    let out_file = workspace().join("target").join("test-scratch").join("bench.json");
    std::fs::create_dir_all(out_file.parent().unwrap()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
        .args([
            "bench",
            "--scenario",
            "relay",
            "--scenario",
            "filters-0",
            "--duration",
            "1s",
            "--warmup",
            "200ms",
            "--concurrency",
            "4",
            "--json",
        ])
        .arg(&out_file)
        .env("WEIR_CACHE_DIR", workspace().join("target").join("weir-test-cache"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.starts_with("scenario "), "{stdout}");
    assert!(stdout.lines().nth(1).unwrap().starts_with("relay "), "{stdout}");
    assert!(stdout.lines().nth(2).unwrap().starts_with("filters-0 "), "{stdout}");

    let results: Value = serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 2);
    for result in results {
        // Real figures: events went in and deliveries came out, and every measure is a
        // positive number (a Weir that delivered nothing, or a report of zeros, fails).
        let events = result["events"].as_u64().unwrap_or(0);
        let deliveries = result["deliveries"].as_u64().unwrap_or(0);
        assert!(events > 0, "no events in {result}");
        assert!(deliveries > 0, "no deliveries in {result}");
        // Each event fans out to `fanout` destinations; all of them arrived.
        assert!(
            deliveries >= events * result["fanout"].as_u64().unwrap(),
            "deliveries missing in {result}"
        );
        assert_eq!(result["errors"], 0, "{result}");
        for key in [
            "events_per_s",
            "deliveries_per_s",
            "cpu_s",
            "peak_rss_mb",
            "idle_rss_mb",
            "duration_s",
        ] {
            assert!(result[key].as_f64().is_some_and(|v| v > 0.0), "{key} in {result}");
        }
        for side in ["ingest", "delivery"] {
            let figure = |key: &str| result[side][key].as_f64().unwrap_or(f64::NAN);
            let (p50, p90, p99, max) = (figure("p50_ms"), figure("p90_ms"), figure("p99_ms"), figure("max_ms"));
            assert!(p50 > 0.0, "{side} p50 in {result}");
            // Percentiles of one sample set are ordered, whatever the machine's speed.
            assert!(p50 <= p90 && p90 <= p99 && p99 <= max, "{side} percentiles in {result}");
        }
        assert!(
            result["peak_rss_mb"].as_f64() >= result["idle_rss_mb"].as_f64(),
            "{result}"
        );
    }
    assert_eq!(results[0]["vs_relay"], 1.0);
}

#[test]
fn an_unknown_scenario_is_a_usage_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["bench", "--scenario", "warp-speed"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: no scenario \"warp-speed\"; the scenarios are relay, filters-0"),
        "{stderr}"
    );
}

#[test]
fn list_names_every_scenario_with_what_it_measures() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["bench", "--list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = stdout.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(names[..2], ["relay", "filters-0"], "{stdout}");
    assert!(
        stdout.lines().all(|l| l.split_whitespace().count() > 1),
        "a scenario without a description: {stdout}"
    );
}
