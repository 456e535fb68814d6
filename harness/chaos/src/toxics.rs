//! Toxics with Toxiproxy's names, attributes, units and JSON shapes. Pure.
//!
//! `downstream` is data from the server to the client, `upstream` the other way.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Which direction a toxic acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Client to server.
    Upstream,
    /// Server to client.
    Downstream,
}

impl Stream {
    /// Parse `upstream` / `downstream`, any case.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "upstream" => Some(Self::Upstream),
            "downstream" => Some(Self::Downstream),
            _ => None,
        }
    }

    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Self::Upstream => "upstream",
            Self::Downstream => "downstream",
        }
    }
}

/// What a toxic does, with its attributes in Toxiproxy's units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToxicKind {
    /// Delay each chunk by `latency` ms, plus or minus up to `jitter` ms.
    Latency {
        /// Milliseconds.
        latency: u64,
        /// Milliseconds.
        jitter: u64,
    },
    /// Limit throughput to `rate` KB/s (1 KB = 1000 bytes); 0 passes nothing.
    Bandwidth {
        /// KB per second.
        rate: u64,
    },
    /// Delay the close of the connection by `delay` ms.
    SlowClose {
        /// Milliseconds.
        delay: u64,
    },
    /// Pass no data; close the connection after `timeout` ms (never when 0).
    Timeout {
        /// Milliseconds.
        timeout: u64,
    },
    /// Reset the connection (TCP RST) `timeout` ms after data arrives.
    ResetPeer {
        /// Milliseconds.
        timeout: u64,
    },
    /// Cut data into pieces of `average_size` ± `size_variation` bytes, `delay` µs apart.
    Slicer {
        /// Bytes.
        average_size: u64,
        /// Bytes.
        size_variation: u64,
        /// Microseconds.
        delay: u64,
    },
    /// Close the connection after `bytes` bytes.
    LimitData {
        /// Bytes.
        bytes: u64,
    },
}

/// The toxic types known, by Toxiproxy name.
pub const TOXIC_TYPES: [&str; 7] = [
    "latency",
    "bandwidth",
    "slow_close",
    "timeout",
    "reset_peer",
    "slicer",
    "limit_data",
];

/// A toxic could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToxicError {
    /// Unknown `type`.
    #[error("invalid toxic type")]
    InvalidType,
    /// `stream` is neither upstream nor downstream.
    #[error("stream was invalid, can be either upstream or downstream")]
    InvalidStream,
    /// An attribute is not a non-negative integer.
    #[error("bad request body: attribute `{0}` must be a non-negative integer")]
    BadAttribute(String),
    /// `toxicity` is not between 0 and 1.
    #[error("bad request body: toxicity must be between 0 and 1")]
    BadToxicity,
}

impl ToxicKind {
    /// Its type, as the transcript records it.
    pub fn toxic_type(&self) -> mcp_harness_wire::ToxicType {
        use mcp_harness_wire::ToxicType;
        match self {
            Self::Latency { .. } => ToxicType::Latency,
            Self::Bandwidth { .. } => ToxicType::Bandwidth,
            Self::SlowClose { .. } => ToxicType::SlowClose,
            Self::Timeout { .. } => ToxicType::Timeout,
            Self::ResetPeer { .. } => ToxicType::ResetPeer,
            Self::Slicer { .. } => ToxicType::Slicer,
            Self::LimitData { .. } => ToxicType::LimitData,
        }
    }

    /// The Toxiproxy type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Latency { .. } => "latency",
            Self::Bandwidth { .. } => "bandwidth",
            Self::SlowClose { .. } => "slow_close",
            Self::Timeout { .. } => "timeout",
            Self::ResetPeer { .. } => "reset_peer",
            Self::Slicer { .. } => "slicer",
            Self::LimitData { .. } => "limit_data",
        }
    }

    /// Read a toxic of type `type_name` from `attributes`; missing attributes are
    /// 0, unknown ones are ignored (as Toxiproxy does).
    pub fn from_attributes(
        type_name: &str,
        attributes: &Map<String, Value>,
    ) -> Result<Self, ToxicError> {
        let get = |key: &str| -> Result<u64, ToxicError> {
            match attributes.get(key) {
                None | Some(Value::Null) => Ok(0),
                Some(v) => v
                    .as_u64()
                    .or_else(|| {
                        v.as_f64()
                            .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                            .map(|f| f as u64)
                    })
                    .ok_or_else(|| ToxicError::BadAttribute(key.to_owned())),
            }
        };
        Ok(match type_name {
            "latency" => Self::Latency {
                latency: get("latency")?,
                jitter: get("jitter")?,
            },
            "bandwidth" => Self::Bandwidth { rate: get("rate")? },
            "slow_close" => Self::SlowClose {
                delay: get("delay")?,
            },
            "timeout" => Self::Timeout {
                timeout: get("timeout")?,
            },
            "reset_peer" => Self::ResetPeer {
                timeout: get("timeout")?,
            },
            "slicer" => Self::Slicer {
                average_size: get("average_size")?,
                size_variation: get("size_variation")?,
                delay: get("delay")?,
            },
            "limit_data" => Self::LimitData {
                bytes: get("bytes")?,
            },
            _ => return Err(ToxicError::InvalidType),
        })
    }

    /// Every attribute of the type, as Toxiproxy reports them.
    pub fn attributes(&self) -> Value {
        match *self {
            Self::Latency { latency, jitter } => json!({"latency": latency, "jitter": jitter}),
            Self::Bandwidth { rate } => json!({"rate": rate}),
            Self::SlowClose { delay } => json!({"delay": delay}),
            Self::Timeout { timeout } => json!({"timeout": timeout}),
            Self::ResetPeer { timeout } => json!({"timeout": timeout}),
            Self::Slicer {
                average_size,
                size_variation,
                delay,
            } => {
                json!({"average_size": average_size, "size_variation": size_variation, "delay": delay})
            }
            Self::LimitData { bytes } => json!({"bytes": bytes}),
        }
    }
}

/// A named toxic on one direction of a proxy.
#[derive(Debug, Clone, PartialEq)]
pub struct Toxic {
    /// Unique per proxy; defaults to `<type>_<stream>`.
    pub name: String,
    /// The direction.
    pub stream: Stream,
    /// Probability (0 to 1) that a connection is affected.
    pub toxicity: f32,
    /// What it does.
    pub kind: ToxicKind,
}

impl Toxic {
    /// Read a toxic from Toxiproxy's create-toxic JSON body.
    pub fn from_json(body: &Value) -> Result<Self, ToxicError> {
        let stream_text = body.get("stream").and_then(Value::as_str);
        let stream = match body.get("stream") {
            None | Some(Value::Null) => Stream::Downstream,
            Some(_) => stream_text
                .and_then(Stream::parse)
                .ok_or(ToxicError::InvalidStream)?,
        };
        let type_name = body
            .get("type")
            .and_then(Value::as_str)
            .ok_or(ToxicError::InvalidType)?;
        let empty = Map::new();
        let attributes = body
            .get("attributes")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let kind = ToxicKind::from_attributes(type_name, attributes)?;
        let toxicity = match body.get("toxicity") {
            None | Some(Value::Null) => 1.0,
            Some(v) => v
                .as_f64()
                .filter(|t| (0.0..=1.0).contains(t))
                .ok_or(ToxicError::BadToxicity)? as f32,
        };
        let name = body
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{}_{}", type_name, stream_text.unwrap_or("downstream")));
        Ok(Self {
            name,
            stream,
            toxicity,
            kind,
        })
    }

    /// Toxiproxy's JSON of this toxic.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.kind.type_name(),
            "stream": self.stream.name(),
            "toxicity": self.toxicity,
            "attributes": self.kind.attributes(),
        })
    }
}

/// Sizes of the pieces the slicer cuts `len` bytes into. `draw(n)` returns a
/// random number in `0..n`.
pub fn slice_sizes(
    len: usize,
    average: u64,
    variation: u64,
    mut draw: impl FnMut(u64) -> u64,
) -> Vec<usize> {
    let average = average.max(1);
    let variation = variation.min(average - 1);
    let mut sizes = Vec::new();
    let mut left = len;
    while left > 0 {
        let size = if variation == 0 {
            average
        } else {
            average - variation + draw(2 * variation + 1)
        };
        let size = (size.max(1) as usize).min(left);
        sizes.push(size);
        left -= size;
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_toxiproxy_json_with_defaults() {
        let toxic =
            Toxic::from_json(&json!({"type": "latency", "attributes": {"latency": 300}})).unwrap();
        assert_eq!(toxic.name, "latency_downstream");
        assert_eq!(toxic.stream, Stream::Downstream);
        assert_eq!(toxic.toxicity, 1.0);
        assert_eq!(
            toxic.kind,
            ToxicKind::Latency {
                latency: 300,
                jitter: 0
            }
        );
        assert_eq!(
            toxic.to_json()["attributes"],
            json!({"latency": 300, "jitter": 0})
        );
        let up = Toxic::from_json(&json!({"type": "slicer", "stream": "UPSTREAM", "attributes": {"average_size": 10, "delay": 5}})).unwrap();
        assert_eq!(up.stream, Stream::Upstream);
        assert_eq!(up.name, "slicer_UPSTREAM");
    }

    #[test]
    fn refuses_bad_types_streams_and_attributes() {
        assert_eq!(
            Toxic::from_json(&json!({"type": "teleport"})),
            Err(ToxicError::InvalidType)
        );
        assert_eq!(
            Toxic::from_json(&json!({"attributes": {}})),
            Err(ToxicError::InvalidType)
        );
        assert_eq!(
            Toxic::from_json(&json!({"type": "latency", "stream": "sideways"})),
            Err(ToxicError::InvalidStream)
        );
        assert!(matches!(
            Toxic::from_json(&json!({"type": "latency", "attributes": {"latency": -1}})),
            Err(ToxicError::BadAttribute(_))
        ));
        assert_eq!(
            Toxic::from_json(&json!({"type": "latency", "toxicity": 2.0})),
            Err(ToxicError::BadToxicity)
        );
    }

    #[test]
    fn slicer_sizes_cover_the_chunk_within_bounds() {
        let mut n = 0;
        let sizes = slice_sizes(1000, 50, 20, |range| {
            n += 7;
            n % range
        });
        assert_eq!(sizes.iter().sum::<usize>(), 1000);
        assert!(
            sizes[..sizes.len() - 1]
                .iter()
                .all(|s| (30..=70).contains(s)),
            "{sizes:?}"
        );
        assert_eq!(slice_sizes(10, 4, 0, |_| 0), vec![4, 4, 2]);
        assert_eq!(
            slice_sizes(3, 0, 0, |_| 0),
            vec![1, 1, 1],
            "average 0 must not loop forever"
        );
    }
}
