//! The error a filter returns when it cannot build itself or process an event, and the
//! refusal Weir answers a call with.

use std::fmt;

/// Why a filter refused its configuration or could not process an event.
///
/// Any error type converts into it with `?`, so parsing with `serde_json` or a refused
/// edit needs no ceremony; [`Error::msg`] makes one from a message, and
/// [`Error::retryable`] one that Weir answers with 503 so the sender tries the event
/// again later.
pub struct Error {
    message: String,
    retryable: bool,
}

impl Error {
    /// An error with this message; the route's failure policy decides the event's fate.
    pub fn msg(message: impl fmt::Display) -> Self {
        Error {
            message: message.to_string(),
            retryable: false,
        }
    }

    /// An error the same event may not meet later (a full state store, say): Weir
    /// refuses the event with 503 and `Retry-After` instead of applying the failure
    /// policy, and the sender sends it again.
    pub fn retryable(message: impl fmt::Display) -> Self {
        Error {
            message: message.to_string(),
            retryable: true,
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether retrying the event could succeed.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

impl<E: std::error::Error> From<E> for Error {
    fn from(error: E) -> Self {
        Error::msg(error)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.message, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<Error> for weir_contract::FilterError {
    fn from(error: Error) -> Self {
        weir_contract::FilterError {
            message: error.message,
            retryable: error.retryable,
        }
    }
}

/// Weir refused a call: an edit that does not fit the event, or a state operation past
/// its limits. The event is as it was before the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// What kind of refusal (`no-such-prediction`, `no-such-attachment`,
    /// `no-such-destination`, `invalid-json`, `too-large`, `not-a-number`,
    /// `out-of-range`; later versions may add kinds).
    pub kind: String,
    /// What went wrong, naming the value.
    pub message: String,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refused {}

impl From<weir_contract::EditError> for Refused {
    fn from(error: weir_contract::EditError) -> Self {
        Refused {
            kind: error.kind().into(),
            message: error.to_string(),
        }
    }
}

impl From<weir_contract::state::StateError> for Refused {
    fn from(error: weir_contract::state::StateError) -> Self {
        Refused {
            kind: error.kind().into(),
            message: error.to_string(),
        }
    }
}
