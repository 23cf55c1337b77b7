//! Weir's own log, as an operator reads it: figures rounded, nothing secret.

use std::time::Duration;

use weir_tests::config::{Destination, Retry, Route, Storage};
use weir_tests::process::WeirProcess;
use weir_tests::receiver::{Answer, Receiver};
use weir_tests::records::SETTLE;
use weir_tests::scratch::folder;
use weir_tests::{WeirConfig, eventually};

#[tokio::test]
async fn latencies_in_the_log_are_rounded_to_the_microsecond() {
    let mut refusing = Receiver::scripted(vec![], Answer::Status(500)).await;
    let config = WeirConfig::new()
        .storage(Storage::memory())
        .route("r", Route::to(["refusing"]))
        .destination(
            "refusing",
            Destination::url(refusing.url())
                .retry(Retry::new().max_retries(1).initial_delay(Duration::from_millis(10))),
        );
    let weir = WeirProcess::spawn(env!("CARGO_BIN_EXE_weir"), &folder("log-latency"), &config);
    let answer = weir.post_json("r", "{}").await;
    assert_eq!(answer.status(), 202);
    refusing.next().await;
    let log = weir.log.clone();
    let line = eventually("a failed attempt in the log", SETTLE, async || {
        log.lock()
            .unwrap()
            .iter()
            .find(|line| line.contains("\"latency_ms\":"))
            .cloned()
    })
    .await;
    // The raw text of the field, as a log reader sees it.
    let figure: String = line
        .split("\"latency_ms\":")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == 'e' || *c == '-')
        .collect();
    let decimals = figure.split('.').nth(1).map_or(0, str::len);
    assert!(decimals <= 3, "latency_ms = {figure} in {line}");
}
