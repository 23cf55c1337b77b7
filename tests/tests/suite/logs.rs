//! Weir's own log, as an operator reads it: figures rounded, nothing secret.

use std::time::Duration;

use weir_tests::process::WeirProcess;
use weir_tests::receiver::{Answer, Receiver};
use weir_tests::workspace;

#[tokio::test]
async fn latencies_in_the_log_are_rounded_to_the_microsecond() {
    let mut refusing = Receiver::scripted(vec![], Answer::Status(500)).await;
    let dir = workspace().join("target").join("test-scratch").join("log-latency");
    let weir = WeirProcess::spawn(
        env!("CARGO_BIN_EXE_weir"),
        &dir,
        &format!(
            "[storage]\nkind = \"memory\"\n[routes.r]\ndestinations = [\"refusing\"]\n[destinations.refusing]\nurl = \"{}\"\n[destinations.refusing.retry]\nmax_retries = 1\ninitial_delay = \"10ms\"\n",
            refusing.url()
        ),
    );
    let answer = weir_tests::http_client()
        .post(format!("http://{}/ingest/r", weir.ingest))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    refusing.next().await;
    let log = weir.log.clone();
    let line = weir_tests::eventually("a failed attempt in the log", Duration::from_secs(30), async || {
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
