//! The W3C trace context an event travels in (`traceparent`, W3C Trace Context
//! level 1): the sender's, when its ingest request carried a valid one, else one Weir
//! starts. Every delivery attempt carries the event's trace id with a span id of its
//! own, so a receiver's work joins the sender's trace, and each attempt is told apart.
//!
//! Weir does not export spans of its own (no OTLP): the attempt's span id is the
//! parent a receiver sees, and Weir's log lines carry the trace id.

use std::fmt;

/// The `traceparent` header's name.
pub const TRACEPARENT: &str = "traceparent";

/// A parsed `traceparent`: version 00's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    /// The trace: 16 bytes, not all zero.
    pub trace_id: [u8; 16],
    /// The span that sent this request: 8 bytes, not all zero.
    pub parent_id: [u8; 8],
    /// Trace flags (bit 0: sampled).
    pub flags: u8,
}

impl TraceParent {
    /// Reads a `traceparent` header value; `None` when it is not one (the W3C rule: an
    /// invalid header is ignored and a new trace started, never an error). A version
    /// after 00 is read for its version-00 fields, as the specification asks.
    pub fn parse(value: &str) -> Option<TraceParent> {
        let value = value.trim();
        let bytes = value.as_bytes();
        if bytes.len() < 55 {
            return None;
        }
        let version = hex::<1>(value.get(0..2)?)?[0];
        let exact = version == 0 && bytes.len() != 55;
        let longer = version != 0 && bytes.len() > 55 && bytes[55] != b'-';
        if version == 0xff || exact || longer || bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
            return None;
        }
        let trace_id = hex::<16>(value.get(3..35)?)?;
        let parent_id = hex::<8>(value.get(36..52)?)?;
        let flags = hex::<1>(value.get(53..55)?)?[0];
        (trace_id != [0; 16] && parent_id != [0; 8]).then_some(TraceParent {
            trace_id,
            parent_id,
            flags,
        })
    }

    /// A new trace, sampled, for an event that came without one.
    pub fn start() -> TraceParent {
        TraceParent {
            trace_id: nonzero(fastrand::u128(..)).to_be_bytes(),
            parent_id: nonzero(fastrand::u64(..) as u128).to_be_bytes()[8..]
                .try_into()
                .expect("8 bytes"),
            flags: 0x01,
        }
    }

    /// The same trace, sent from a new span (one delivery attempt).
    pub fn child(&self) -> TraceParent {
        TraceParent {
            parent_id: nonzero(fastrand::u64(..) as u128).to_be_bytes()[8..]
                .try_into()
                .expect("8 bytes"),
            ..*self
        }
    }

    /// The trace id as 32 lowercase hex digits (what log lines carry).
    pub fn trace_id_hex(&self) -> String {
        let mut digits = [0u8; 32];
        lower_hex(&self.trace_id, &mut digits);
        ascii(&digits).to_string()
    }

    /// The header value, `00-{trace id}-{parent id}-{flags}`, written into `out`. Every
    /// delivery attempt sends one: written digit by digit here, it costs a few hundred
    /// instructions, where formatting each byte with `write!` cost more than the rest of
    /// the attempt's headers together.
    pub fn encode<'a>(&self, out: &'a mut [u8; 55]) -> &'a str {
        out.fill(b'-');
        out[0..2].copy_from_slice(b"00");
        lower_hex(&self.trace_id, &mut out[3..35]);
        lower_hex(&self.parent_id, &mut out[36..52]);
        lower_hex(&[self.flags], &mut out[53..55]);
        ascii(out)
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.encode(&mut [0; 55]))
    }
}

/// Writes `bytes` as lowercase hex digits into `out` (twice as long).
fn lower_hex(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (byte, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0x0f)];
    }
}

/// Text that is ASCII by construction (hex digits and dashes).
fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("hex digits and dashes are ASCII")
}

/// `N` bytes from `2N` lowercase hex digits (the specification allows no uppercase).
fn hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in digits.chunks(2).enumerate() {
        let value = |d: u8| match d {
            b'0'..=b'9' => Some(d - b'0'),
            b'a'..=b'f' => Some(d - b'a' + 10),
            _ => None,
        };
        out[i] = value(pair[0])? << 4 | value(pair[1])?;
    }
    Some(out)
}

fn nonzero(value: u128) -> u128 {
    value.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIVEN: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn reads_and_writes_the_w3c_example() {
        let parsed = TraceParent::parse(GIVEN).unwrap();
        assert_eq!(parsed.to_string(), GIVEN);
        assert_eq!(parsed.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(parsed.flags, 1);
    }

    #[test]
    fn writes_every_byte_value_as_two_lowercase_digits() {
        for byte in 1..=255u8 {
            let trace = TraceParent {
                trace_id: [byte; 16],
                parent_id: [byte; 8],
                flags: byte,
            };
            let digits = format!("{byte:02x}");
            let expected = format!("00-{}-{}-{digits}", digits.repeat(16), digits.repeat(8));
            assert_eq!(trace.to_string(), expected);
            assert_eq!(trace.trace_id_hex(), digits.repeat(16));
            assert_eq!(TraceParent::parse(&expected), Some(trace));
        }
    }

    #[test]
    fn refuses_what_the_specification_says_to_ignore() {
        for wrong in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473x-00f067aa0ba902b7-01",
            "0é4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(wrong), None, "{wrong}");
        }
        // A later version is read for version 00's fields.
        let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more";
        assert!(TraceParent::parse(later).is_some());
    }

    #[test]
    fn a_child_keeps_the_trace_with_a_new_span_and_a_start_is_valid() {
        let parent = TraceParent::parse(GIVEN).unwrap();
        let child = parent.child();
        assert_eq!(child.trace_id, parent.trace_id);
        assert_ne!(child.parent_id, parent.parent_id);
        let started = TraceParent::start();
        assert_eq!(TraceParent::parse(&started.to_string()), Some(started));
        assert_ne!(TraceParent::start().trace_id, started.trace_id);
    }
}
