//! JSON bodies for the answers Weir's own handlers do not write. hyper answers a
//! request it cannot parse (a bad or repeated `Content-Length`, a bare LF, a URI or
//! headers too long) itself, before any handler exists, with a status and an empty
//! body; axum does the same for a method a route does not take. Every error Weir sends
//! says what to fix, so the connection's writes are watched: an error response with an
//! empty body gets a JSON one.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection whose empty error responses are given a JSON body.
pub struct JsonErrors<I> {
    inner: I,
    /// Bytes of a rewritten response still to be written.
    pending: Vec<u8>,
    written: usize,
}

impl<I> JsonErrors<I> {
    /// Wraps a connection.
    pub fn new(inner: I) -> Self {
        JsonErrors {
            inner,
            pending: Vec::new(),
            written: 0,
        }
    }
}

/// What an empty error of this status means to the client.
fn message(status: u16) -> &'static str {
    match status {
        400 => {
            "the request is not well-formed HTTP/1.1 (for example a Content-Length that is not a number or is given twice, \
             or a line ending in a bare LF); send a well-formed request"
        }
        404 => "nothing here; POST events to /ingest/{route}",
        405 => "this path does not take that method; POST events to /ingest/{route}",
        408 => "the request did not arrive in time (server.header_timeout); send it at once",
        413 => "the request is too large; send smaller events or raise server.max_body",
        414 => "the request's URI is longer than Weir reads; POST events to /ingest/{route}",
        431 => {
            "the request's headers are larger than server.max_header_bytes or more than server.max_headers; \
             send fewer or smaller headers"
        }
        505 => "Weir's listeners speak HTTP/1.1; send HTTP/1.1",
        _ => "the request was refused",
    }
}

/// The response in `head` rewritten with a JSON body, when it is an error response
/// with an empty body written in one piece.
fn rewrite(head: &[u8]) -> Option<Vec<u8>> {
    // Cheap first: most writes are successful responses, or bodies.
    let error = head.starts_with(b"HTTP/1.1 4") || head.starts_with(b"HTTP/1.1 5");
    if !error || head.len() > 1024 {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?;
    if text.matches("\r\n\r\n").count() != 1 {
        // Not exactly one whole response head (pipelined answers, or a body).
        return None;
    }
    let rest = text.strip_prefix("HTTP/1.1 ")?;
    let status: u16 = rest.get(..3)?.parse().ok()?;
    if status < 400 || !text.ends_with("\r\n\r\n") {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    if !lower.contains("\r\ncontent-length: 0\r\n") || lower.contains("\r\ncontent-type:") {
        return None;
    }
    let body = serde_json::json!({ "error": message(status) }).to_string();
    let head = text
        .lines()
        .filter(|line| !line.to_ascii_lowercase().starts_with("content-length:"))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\r\n");
    Some(
        format!(
            "{head}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl<I: AsyncRead + Unpin> AsyncRead for JsonErrors<I> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> JsonErrors<I> {
    /// Writes what is pending of a rewritten response.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for JsonErrors<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(rewritten) = rewrite(buf) {
            self.pending = rewritten;
            // The caller's bytes are taken whole; the rewritten ones go out below or at
            // the next write or flush.
            let _ = self.poll_pending(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_error_response_gets_a_json_body_and_others_pass_unchanged() {
        let empty = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let rewritten = String::from_utf8(rewrite(empty).unwrap()).unwrap();
        assert!(
            rewritten.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{rewritten}"
        );
        let (head, body) = rewritten.split_once("\r\n\r\n").unwrap();
        assert!(head.contains("content-type: application/json"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(json["error"].as_str().unwrap().contains("server.max_header_bytes"));
        for unchanged in [
            &b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
        ] {
            assert!(rewrite(unchanged).is_none(), "{}", String::from_utf8_lossy(unchanged));
        }
    }
}
