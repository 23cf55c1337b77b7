//! Durations (`"10s"`, `"250ms"`), sizes (`"16MiB"`) and rates (`"50/s"`) as config
//! values.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A duration written like `"10s"`, `"250ms"`, `"1m 30s"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span(pub Duration);

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map(Span).map_err(|error| {
            de::Error::custom(format!(
                "{text:?} is not a duration ({error}); write e.g. \"10s\" or \"250ms\""
            ))
        })
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&humantime::format_duration(self.0).to_string())
    }
}

/// A size in bytes, written like `"16MiB"`, `"512KiB"`, `"1GB"` or as a plain number of
/// bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Size(pub u64);

impl Size {
    /// Parses `"16MiB"`-style sizes: binary (KiB, MiB, GiB) and decimal (KB, MB, GB)
    /// units, case-insensitive, optional space; a bare number is bytes.
    pub fn parse(text: &str) -> Result<Size, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let number: f64 = number
            .parse()
            .map_err(|_| format!("{text:?} is not a size; write e.g. \"16MiB\" or \"512KiB\""))?;
        let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kib" => 1 << 10,
            "m" | "mib" => 1 << 20,
            "g" | "gib" => 1 << 30,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            other => {
                return Err(format!(
                    "{text:?} has an unknown unit {other:?}; use B, KiB, MiB, GiB, KB, MB or GB"
                ));
            }
        };
        Ok(Size((number * factor as f64).round() as u64))
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0;
        if bytes >= 1 << 30 && bytes.is_multiple_of(1 << 30) {
            write!(f, "{}GiB", bytes >> 30)
        } else if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
            write!(f, "{}MiB", bytes >> 20)
        } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
            write!(f, "{}KiB", bytes >> 10)
        } else {
            write!(f, "{bytes}B")
        }
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size such as \"16MiB\", or a number of bytes")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size, E> {
                Ok(Size(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Size, E> {
                u64::try_from(v)
                    .map(Size)
                    .map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
                Size::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(SizeVisitor)
    }
}

impl Serialize for Size {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

/// A rate written like `"50/s"`, `"600/min"`, `"1000/h"`: requests per unit of time.
#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    /// Requests per second.
    pub per_second: f64,
    /// As written.
    text: String,
}

impl Rate {
    /// Parses `COUNT/UNIT`: a positive count, per `s`, `min` (or `m`) or `h`.
    pub fn parse(text: &str) -> Result<Rate, String> {
        let wrong =
            || format!("{text:?} is not a rate; write requests per time unit: \"50/s\", \"600/min\", \"1000/h\"");
        let (count, unit) = text.split_once('/').ok_or_else(wrong)?;
        let count: f64 = count.trim().parse().map_err(|_| wrong())?;
        let seconds = match unit.trim() {
            "s" | "sec" | "second" => 1.0,
            "m" | "min" | "minute" => 60.0,
            "h" | "hour" => 3600.0,
            _ => return Err(wrong()),
        };
        if !(count.is_finite() && count > 0.0) {
            return Err(format!("{text:?}: the count must be more than 0"));
        }
        if count / seconds < 1.0 / 3600.0 {
            return Err(format!(
                "{text:?} is slower than one request an hour; write at least \"1/h\""
            ));
        }
        Ok(Rate {
            per_second: count / seconds,
            text: text.trim().to_string(),
        })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Rate::parse(&String::deserialize(deserializer)?).map_err(de::Error::custom)
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes_in_every_unit() {
        let cases = [
            ("16MiB", 16 << 20),
            ("16 mib", 16 << 20),
            ("512KiB", 512 << 10),
            ("1GiB", 1 << 30),
            ("1.5MiB", 3 << 19),
            ("2MB", 2_000_000),
            ("100", 100),
            ("100B", 100),
        ];
        for (text, bytes) in cases {
            assert_eq!(Size::parse(text), Ok(Size(bytes)), "{text}");
        }
        assert!(Size::parse("lots").is_err());
        assert!(Size::parse("3 parsecs").unwrap_err().contains("unknown unit"));
    }

    #[test]
    fn prints_sizes_in_the_largest_exact_unit() {
        assert_eq!(Size(64 << 20).to_string(), "64MiB");
        assert_eq!(Size(1536).to_string(), "1536B");
        assert_eq!(Size(3 << 10).to_string(), "3KiB");
    }

    #[test]
    fn parses_rates_per_second_minute_and_hour() {
        assert_eq!(Rate::parse("50/s").unwrap().per_second, 50.0);
        assert_eq!(Rate::parse("600/min").unwrap().per_second, 10.0);
        assert_eq!(Rate::parse(" 90 / m ").unwrap().per_second, 1.5);
        assert_eq!(Rate::parse("1800/h").unwrap().per_second, 0.5);
        assert_eq!(Rate::parse("0.5/s").unwrap().to_string(), "0.5/s");
        for wrong in ["50", "50/day", "x/s", "0/s", "-1/s", "inf/s", "1e-300/s", "0.5/h"] {
            assert!(Rate::parse(wrong).is_err(), "{wrong}");
        }
    }
}
