//! The sandbox a component filter runs in, seen from inside at run time: no files, no
//! environment, no network. The test guest tries each and reports what it got.

use weir_tests::filters::{guest_filter, modified, run, with_meta};
use weir_tests::fixture_event;

#[tokio::test]
async fn a_filter_reads_no_file() {
    let filter = guest_filter(r#"{"mode":"read-files"}"#).await;
    let event = modified(run(&filter, fixture_event("object-detection")).await);
    let said = event.metadata_value("files").unwrap_or_default().to_string();
    assert_eq!(event.metadata_value("files_read"), Some("0"), "{said}");
}

#[tokio::test]
async fn a_filter_sees_no_environment_and_no_arguments() {
    let filter = guest_filter(r#"{"mode":"read-env"}"#).await;
    let event = modified(run(&filter, fixture_event("object-detection")).await);
    // The test process has PATH, HOME, CARGO_* and more: none of it gets in.
    assert_eq!(event.metadata_value("env"), Some(""));
    assert_eq!(event.metadata_value("args"), Some("0"));
}

#[tokio::test]
async fn a_filter_cannot_open_a_connection() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let filter = guest_filter(r#"{"mode":"connect"}"#).await;
    let event = with_meta(fixture_event("object-detection"), "addr", &addr);
    let event = modified(run(&filter, event).await);
    let said = event.metadata_value("network").unwrap_or_default().to_string();
    assert!(said.starts_with("error: "), "{said}");
    // A connection made would be waiting in the listener's backlog by now.
    match listener.accept() {
        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the guest reached the listener: {other:?}"),
    }
}
