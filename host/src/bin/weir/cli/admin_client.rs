//! `weir events` and `weir dead`: the admin API from the command line, talking to a
//! running Weir's admin listener.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use crate::process::EXIT_USAGE;
use weir::outbox::{DeliveryRecord, EventRecord};

/// Where the admin listener is.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The admin listener's URL (default: $WEIR_ADMIN_URL, else http://127.0.0.1:9090).
    #[arg(long, global = true, value_name = "URL")]
    admin: Option<String>,
    /// The admin token, when the admin listener asks for one (default:
    /// $WEIR_ADMIN_TOKEN).
    #[arg(long, global = true, value_name = "TOKEN")]
    token: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

/// `weir events ...`.
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Show an event's deliveries, each with its attempts.
    Show {
        /// The event id (its `webhook-id`).
        id: String,
    },
}

/// `weir dead ...`.
#[derive(Debug, Subcommand)]
pub enum DeadCommand {
    /// List dead deliveries (given up on, kept for replay).
    List {
        /// Only those of this destination.
        #[arg(long)]
        destination: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Send dead deliveries again (same event, same `webhook-id`).
    Replay {
        /// These deliveries.
        #[arg(long = "id", value_name = "DELIVERY")]
        ids: Vec<u64>,
        /// Every dead delivery of this destination.
        #[arg(long)]
        destination: Option<String>,
    },
}

pub(crate) struct Client {
    pub(crate) base: String,
    http: reqwest::Client,
    token: Option<String>,
}

impl Client {
    pub(crate) fn new(args: &AdminArgs) -> Client {
        let base = args
            .admin
            .clone()
            .or_else(|| std::env::var("WEIR_ADMIN_URL").ok().filter(|v| !v.is_empty()))
            .unwrap_or_else(|| "http://127.0.0.1:9090".into());
        let token = args
            .token
            .clone()
            .or_else(|| std::env::var("WEIR_ADMIN_TOKEN").ok())
            .filter(|v| !v.is_empty());
        Client {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            token,
        }
    }

    /// A request to the admin listener, with the token when there is one.
    pub(crate) fn request(&self, post: bool, path: &str) -> reqwest::RequestBuilder {
        let url = format!("{}{path}", self.base);
        let request = if post {
            self.http.post(&url)
        } else {
            self.http.get(&url)
        };
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Why the admin listener could not be reached, said for an operator.
    pub(crate) fn unreachable(&self, error: &reqwest::Error) -> String {
        format!(
            "cannot reach Weir's admin listener at {}: {error}; is `weir run` running? (pass --admin URL)",
            self.base
        )
    }

    pub(crate) async fn call(&self, post: bool, path: &str) -> Result<(u16, Value), String> {
        let url = format!("{}{path}", self.base);
        let response = self
            .request(post, path)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|error| self.unreachable(&error))?;
        let status = response.status().as_u16();
        let body: Value = response
            .json()
            .await
            .map_err(|error| format!("{url} answered something that is not JSON: {error}"))?;
        Ok((status, body))
    }
}

pub(crate) fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

/// Runs `weir events`.
pub fn events(args: AdminArgs, command: EventsCommand) -> ExitCode {
    let client = Client::new(&args);
    crate::process::block_on(crate::process::Threads::One, async {
        let EventsCommand::Show { id } = command;
        let path = format!("/admin/events/{}", url_escape(&id));
        match client.call(false, &path).await {
            Ok((200, body)) if args.json => {
                crate::process::out!("{body}");
                ExitCode::SUCCESS
            }
            Ok((200, body)) => match serde_json::from_value::<EventRecord>(body) {
                Ok(record) => {
                    print_event(&record);
                    ExitCode::SUCCESS
                }
                Err(error) => fail(format!("unexpected answer: {error}")),
            },
            Ok((_, body)) => fail(body["error"].as_str().unwrap_or("unexpected answer")),
            Err(message) => fail(message),
        }
    })
}

pub(crate) fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn print_event(record: &EventRecord) {
    crate::process::out!(
        "event {} (route {}, accepted {})",
        record.id,
        record.route,
        record.accepted_at
    );
    for delivery in &record.deliveries {
        print_delivery(delivery);
    }
}

fn print_delivery(delivery: &DeliveryRecord) {
    let next = delivery
        .next_attempt_at
        .as_deref()
        .map(|at| format!(", next attempt {at}"))
        .unwrap_or_default();
    crate::process::out!(
        "  delivery {} to {}: {} after {} attempt(s){next}",
        delivery.id,
        delivery.destination,
        delivery.state.as_str(),
        delivery.attempts
    );
    if let Some(error) = &delivery.last_error {
        crate::process::out!("    last error: {error}");
    }
    for attempt in &delivery.history {
        let status = attempt.status.map_or("-".to_string(), |s| s.to_string());
        let error = attempt.error.as_deref().map(|e| format!(" {e}")).unwrap_or_default();
        let response = if attempt.response.is_empty() {
            String::new()
        } else {
            format!(" | {}", attempt.response.trim())
        };
        crate::process::out!(
            "    {} status {status} in {:.1} ms{error}{response}",
            attempt.at,
            attempt.latency_ms
        );
    }
}

/// Runs `weir dead`.
pub fn dead(args: AdminArgs, command: DeadCommand) -> ExitCode {
    let client = Client::new(&args);
    crate::process::block_on(crate::process::Threads::One, async {
        match command {
            DeadCommand::List { destination, limit } => {
                let filter = destination
                    .map(|d| format!("&destination={}", url_escape(&d)))
                    .unwrap_or_default();
                match client
                    .call(false, &format!("/admin/deliveries?state=dead&limit={limit}{filter}"))
                    .await
                {
                    Ok((200, body)) if args.json => {
                        crate::process::out!("{body}");
                        ExitCode::SUCCESS
                    }
                    Ok((200, body)) => {
                        let list: Vec<DeliveryRecord> =
                            serde_json::from_value(body["deliveries"].clone()).unwrap_or_default();
                        if list.is_empty() {
                            crate::process::out!("no dead deliveries");
                        }
                        for delivery in &list {
                            crate::process::out!(
                                "{} event {} to {}: {} attempt(s), last status {}: {}",
                                delivery.id,
                                delivery.event_id,
                                delivery.destination,
                                delivery.attempts,
                                delivery.last_status.map_or("-".into(), |s| s.to_string()),
                                delivery.last_error.as_deref().unwrap_or("")
                            );
                        }
                        ExitCode::SUCCESS
                    }
                    Ok((_, body)) => fail(body["error"].as_str().unwrap_or("unexpected answer")),
                    Err(message) => fail(message),
                }
            }
            DeadCommand::Replay { ids, destination } => replay(&client, ids, destination).await,
        }
    })
}

async fn replay(client: &Client, mut ids: Vec<u64>, destination: Option<String>) -> ExitCode {
    if ids.is_empty() && destination.is_none() {
        eprintln!("error: say what to replay: --id DELIVERY (repeatable) or --destination NAME");
        return ExitCode::from(EXIT_USAGE);
    }
    if let Some(destination) = &destination {
        let path = format!(
            "/admin/deliveries?state=dead&limit=10000&destination={}",
            url_escape(destination)
        );
        match client.call(false, &path).await {
            Ok((200, body)) => {
                let list: Vec<DeliveryRecord> = serde_json::from_value(body["deliveries"].clone()).unwrap_or_default();
                ids.extend(list.iter().map(|d| d.id));
            }
            Ok((_, body)) => return fail(body["error"].as_str().unwrap_or("unexpected answer")),
            Err(message) => return fail(message),
        }
    }
    if ids.is_empty() {
        crate::process::out!("no dead deliveries to replay");
        return ExitCode::SUCCESS;
    }
    let bar = ProgressBar::new(ids.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("replaying {bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (mut replayed, mut skipped) = (0, Vec::new());
    for id in ids {
        match client.call(true, &format!("/admin/deliveries/{id}/replay")).await {
            Ok((200, _)) => replayed += 1,
            Ok((_, body)) => skipped.push(format!("{id}: {}", body["error"].as_str().unwrap_or("refused"))),
            Err(message) => {
                bar.abandon();
                return fail(message);
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    crate::process::out!("replayed {replayed} delivery(ies)");
    for line in &skipped {
        eprintln!("skipped {line}");
    }
    if skipped.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
