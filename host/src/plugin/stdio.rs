//! Guest stdout and stderr: captured, capped, and turned into log lines.
//!
//! A guest that prints (a Rust panic message, a debugging `console.log`) must neither
//! fail because of it nor fill the host's memory or log. Writes always succeed from the
//! guest's side; past [`OUTPUT_CAP`] bytes between two drains they are counted and
//! discarded, and the drain says how much was cut.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Bytes of guest output kept per stream between drains (one call, normally). Enough
/// for a panic message with context; small enough that a guest printing in a loop
/// costs nothing.
pub const OUTPUT_CAP: usize = 4096;

/// One captured output stream (stdout or stderr) of one instance.
#[derive(Clone, Default)]
pub(crate) struct GuestOutput {
    buffer: Arc<Mutex<Captured>>,
}

#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    discarded: usize,
}

impl GuestOutput {
    fn push(&self, bytes: &[u8]) {
        let mut captured = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let room = OUTPUT_CAP.saturating_sub(captured.bytes.len());
        let kept = bytes.len().min(room);
        captured.bytes.extend_from_slice(&bytes[..kept]);
        captured.discarded += bytes.len() - kept;
    }

    /// Takes what was written since the last drain, as text, with a note of how much
    /// was discarded; `None` when nothing was written.
    pub(crate) fn drain(&self) -> Option<String> {
        let mut captured = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        if captured.bytes.is_empty() && captured.discarded == 0 {
            return None;
        }
        let mut text = String::from_utf8_lossy(&captured.bytes).trim_end().to_string();
        if captured.discarded > 0 {
            text.push_str(&format!(" [... {} more bytes discarded]", captured.discarded));
        }
        captured.bytes.clear();
        captured.discarded = 0;
        Some(text)
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Always ready: excess is discarded, never pushed back on the guest.
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl AsyncWrite for GuestOutput {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_output_and_says_how_much_was_cut() {
        let output = GuestOutput::default();
        assert_eq!(output.drain(), None);
        output.push(b"hello\n");
        assert_eq!(output.drain().as_deref(), Some("hello"));
        output.push(&vec![b'x'; OUTPUT_CAP + 10]);
        let text = output.drain().unwrap();
        assert!(
            text.ends_with(" [... 10 more bytes discarded]"),
            "{}",
            &text[OUTPUT_CAP..]
        );
        assert_eq!(output.drain(), None);
    }
}
