//! `weir log export`: the delivery log of a running Weir (`GET /admin/attempts`),
//! written to a file as NDJSON, one attempt a line, with a progress bar.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use super::admin_client::{AdminArgs, Client, fail, url_escape};

/// `weir log ...`.
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Write every recorded delivery attempt to a file, one JSON object a line.
    Export(ExportArgs),
}

/// Arguments of `weir log export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The file to write (`-` for stdout).
    #[arg(long, short, value_name = "FILE")]
    output: PathBuf,
    /// Only attempts from this time: RFC 3339, or a span back from now (`2h`).
    #[arg(long)]
    since: Option<String>,
    /// Only attempts before this time: RFC 3339, or a span back from now.
    #[arg(long)]
    until: Option<String>,
    /// Only attempts to this destination.
    #[arg(long)]
    destination: Option<String>,
    /// Only attempts with this answer: ok, failed, none, 2xx..5xx, or a status code.
    #[arg(long)]
    status: Option<String>,
    #[command(flatten)]
    admin: AdminArgs,
}

/// Runs `weir log`.
pub fn run(command: LogCommand) -> ExitCode {
    let LogCommand::Export(args) = command;
    crate::process::block_on(crate::process::Threads::One, export(args))
}

async fn export(args: ExportArgs) -> ExitCode {
    let client = Client::new(&args.admin);
    let filters: Vec<String> = [
        ("since", &args.since),
        ("until", &args.until),
        ("destination", &args.destination),
        ("status", &args.status),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.as_ref().map(|v| format!("{key}={}", url_escape(v))))
    .collect();
    let path = if filters.is_empty() {
        "/admin/attempts".to_string()
    } else {
        format!("/admin/attempts?{}", filters.join("&"))
    };
    let response = match client.request(false, &path).send().await {
        Ok(response) => response,
        Err(error) => return fail(client.unreachable(&error)),
    };
    if !response.status().is_success() {
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        return fail(body["error"].as_str().unwrap_or(status.as_str()));
    }
    let to_stdout = args.output.as_os_str() == "-";
    let mut out: Box<dyn Write> = if to_stdout {
        Box::new(std::io::stdout().lock())
    } else {
        match std::fs::File::create(&args.output) {
            Ok(file) => Box::new(std::io::BufWriter::new(file)),
            Err(error) => return fail(format!("cannot write {}: {error}", args.output.display())),
        }
    };
    let bar = if to_stdout {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} exporting: {pos} attempt(s), {msg} bytes [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let mut stream = response.bytes_stream();
    let (mut lines, mut bytes) = (0u64, 0u64);
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(error) => {
                bar.abandon();
                return fail(format!("the export was cut off after {lines} attempt(s): {error}"));
            }
        };
        if let Err(error) = out.write_all(&chunk) {
            bar.abandon();
            return fail(format!("cannot write {}: {error}", args.output.display()));
        }
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        bytes += chunk.len() as u64;
        bar.set_position(lines);
        bar.set_message(format!("{bytes}"));
    }
    if let Err(error) = out.flush() {
        return fail(format!("cannot write {}: {error}", args.output.display()));
    }
    bar.finish_and_clear();
    if !to_stdout {
        eprintln!("wrote {lines} attempt(s) ({bytes} bytes) to {}", args.output.display());
    }
    ExitCode::SUCCESS
}
