//! `weir health`: asks a running Weir's admin listener whether it is alive
//! (`/healthz`) or ready (`/readyz`), and exits 0 or 1. It is the container's health
//! check and the Kubernetes probes (host/deploy/): the images Weir ships in have no
//! curl, and the admin listener stays on loopback, out of reach of an HTTP probe.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

/// Arguments of `weir health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The admin listener's URL (default: $WEIR_ADMIN_URL, else http://127.0.0.1:9090).
    #[arg(long, value_name = "URL")]
    admin: Option<String>,
    /// Ask whether Weir is ready (plugins loaded, listeners bound, not shutting down)
    /// rather than alive.
    #[arg(long)]
    ready: bool,
    /// How long to wait for the answer: keep it under the probe's own timeout.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

/// Runs `weir health`: 0 when the answer is 200, 1 otherwise (what container engines
/// and Kubernetes expect of a health command).
pub fn run(args: HealthArgs) -> ExitCode {
    let base = args
        .admin
        .or_else(|| std::env::var("WEIR_ADMIN_URL").ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "http://127.0.0.1:9090".into());
    let url = format!(
        "{}/{}",
        base.trim_end_matches('/'),
        if args.ready { "readyz" } else { "healthz" }
    );
    crate::process::block_on(crate::process::Threads::One, async {
        let client = match reqwest::Client::builder().timeout(args.timeout).build() {
            Ok(client) => client,
            Err(error) => {
                eprintln!("error: cannot make an HTTP client: {error}");
                return ExitCode::FAILURE;
            }
        };
        match client.get(&url).send().await {
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                if status.is_success() {
                    crate::process::out!("{url}: {}", body.trim());
                    ExitCode::SUCCESS
                } else {
                    eprintln!("error: {url} answered {status}: {}", body.trim());
                    ExitCode::FAILURE
                }
            }
            Err(error) => {
                eprintln!("error: cannot reach Weir's admin listener at {url}: {error}");
                ExitCode::FAILURE
            }
        }
    })
}
