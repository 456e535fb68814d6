//! The event id format `{stream}-{seq}`: pure parsing and printing.

use std::fmt;
use std::str::FromStr;

/// A stored event's id: the stream it was sent on and its store-wide sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoredEventId {
    /// The stream's key.
    pub stream: i64,
    /// Store-wide sequence number, strictly increasing across all streams.
    pub seq: i64,
}

/// An event id a client sent that is not of the form `{stream}-{seq}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed event id `{0}` (hint: ids from this server look like `12-345`)")]
pub struct EventIdError(pub String);

impl fmt::Display for StoredEventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.stream, self.seq)
    }
}

impl FromStr for StoredEventId {
    type Err = EventIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || EventIdError(text.chars().take(80).collect());
        let (stream, seq) = text.split_once('-').ok_or_else(bad)?;
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(stream) || !digits(seq) {
            return Err(bad());
        }
        Ok(Self {
            stream: stream.parse().map_err(|_| bad())?,
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let id = StoredEventId {
            stream: 12,
            seq: 345,
        };
        assert_eq!(id.to_string(), "12-345");
        assert_eq!("12-345".parse::<StoredEventId>(), Ok(id));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "12",
            "-1",
            "1-",
            "a-1",
            "1-b",
            "1--2",
            "+1-2",
            "1-2-3",
            "99999999999999999999-1",
        ] {
            assert!(bad.parse::<StoredEventId>().is_err(), "{bad:?} parsed");
        }
    }
}
