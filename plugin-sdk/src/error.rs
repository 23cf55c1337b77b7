//! The error a filter returns when it cannot build itself or process an event.

use std::fmt;

/// Why a filter refused its configuration or could not process an event.
///
/// Any error type converts into it with `?`, so parsing with `serde_json` needs no
/// ceremony; [`Error::msg`] makes one from a message.
pub struct Error(String);

impl Error {
    /// An error with this message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Error(message.to_string())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl<E: std::error::Error> From<E> for Error {
    fn from(error: E) -> Self {
        Error(error.to_string())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Error> for String {
    fn from(error: Error) -> String {
        error.0
    }
}
