//! `weir test DESTINATION`: sends a sample event to one destination of a running Weir,
//! through its real delivery path, and prints what the receiver answered.

use std::process::ExitCode;

use clap::Args;
use serde_json::Value;

use super::admin_client::{AdminArgs, Client, fail, url_escape};

/// Arguments of `weir test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// The destination, by its name in the config.
    destination: String,
    /// The sample's task: object-detection (default), classification,
    /// multilabel-classification, instance-segmentation, semantic-segmentation.
    #[arg(long)]
    task: Option<String>,
    #[command(flatten)]
    admin: AdminArgs,
}

/// Runs `weir test`: exit 0 when the receiver took the event, 1 when not.
pub fn run(args: TestArgs) -> ExitCode {
    let client = Client::new(&args.admin);
    crate::process::block_on(crate::process::Threads::One, async {
        let task = args
            .task
            .as_deref()
            .map(|task| format!("?task={}", url_escape(task)))
            .unwrap_or_default();
        let path = format!("/admin/destinations/{}/test{task}", url_escape(&args.destination));
        match client.call(true, &path).await {
            Ok((200, body)) if args.admin.json => {
                crate::process::out!("{body}");
                verdict(&body)
            }
            Ok((200, body)) => {
                print(&body);
                verdict(&body)
            }
            Ok((_, body)) => fail(body["error"].as_str().unwrap_or("unexpected answer")),
            Err(message) => fail(message),
        }
    })
}

fn verdict(body: &Value) -> ExitCode {
    if body["delivered"] == true {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print(body: &Value) {
    let status = body["status"]
        .as_u64()
        .map_or_else(|| "no answer".to_string(), |s| s.to_string());
    let took = if body["delivered"] == true {
        "took it"
    } else {
        "did not take it"
    };
    crate::process::out!(
        "{}: status {status} in {:.1} ms; the receiver {took}",
        body["destination"].as_str().unwrap_or_default(),
        body["latency_ms"].as_f64().unwrap_or_default()
    );
    if let Some(error) = body["error"].as_str() {
        crate::process::out!("error: {error}");
    }
    let signed = if body["signed"] == true {
        "sent (webhook-id, webhook-timestamp, webhook-signature)"
    } else {
        "not sent (the destination has no secret)"
    };
    crate::process::out!("signature headers: {signed}");
    crate::process::out!("event id: {}", body["event_id"].as_str().unwrap_or_default());
    let response = body["response"].as_str().unwrap_or_default().trim();
    if !response.is_empty() {
        crate::process::out!("answer: {response}");
    }
}
