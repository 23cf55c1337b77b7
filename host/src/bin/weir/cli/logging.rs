//! Log output: human-readable text by default, JSON lines with `--log-format json`.
//! The level comes from `WEIR_LOG` (or `RUST_LOG`), `info` by default.
//!
//! Every line passes [`weir::text::escape_log_line`] on its way out, so whatever a
//! guest or a sender managed to put into a message (a newline, an escape sequence)
//! shows as an escape and can never forge a line of Weir's own. Colours only go to a
//! terminal: a file or a pipe gets plain text.

use std::io::{IsTerminal, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The format of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber. Logs go to stderr so stdout stays for output.
pub fn init(format: LogFormat) {
    let filter = std::env::var("WEIR_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|spec| EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let colours = format == LogFormat::Text && std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colours)
        .with_writer(EscapingStderr { colours });
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Stderr, one escaped line at a time. The formatter writes each event whole, in one
/// `write_all`, which is what lets the line be escaped here.
#[derive(Clone, Copy)]
struct EscapingStderr {
    colours: bool,
}

impl<'a> MakeWriter<'a> for EscapingStderr {
    type Writer = EscapingStderr;

    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

impl Write for EscapingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let line = String::from_utf8_lossy(buf);
        let escaped = weir::text::escape_log_line(&line, self.colours);
        std::io::stderr().lock().write_all(escaped.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
