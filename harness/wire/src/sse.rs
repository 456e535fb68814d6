//! Incremental decoder of `text/event-stream` bodies (the WHATWG SSE format).
//!
//! Feed it bytes as they arrive, in chunks of any size; it yields complete
//! events. It keeps what the harness must see and most clients hide: each
//! event's `id:` and `retry:`, and events whose `data:` is empty (SSE priming).
//! Memory is bounded: an event larger than the configured limit is an error,
//! not an allocation.

/// One dispatched SSE event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `id:` field of this event, if it had one.
    pub id: Option<String>,
    /// The `event:` field (type), if any.
    pub event: Option<String>,
    /// The `retry:` field in milliseconds, if any (and valid).
    pub retry_ms: Option<u64>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// A block of the stream up to and including a blank line: an event, or only
/// comments (keep-alives) when `event` is `None`. `raw` holds its exact bytes, so
/// a proxy can forward the stream byte for byte, block by block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseBlock {
    /// The event the block dispatched, if it had any field.
    pub event: Option<SseEvent>,
    /// The block's bytes as received.
    pub raw: Vec<u8>,
}

/// Why decoding stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    /// An event grew past the limit before its terminating blank line.
    #[error(
        "SSE event larger than the limit of {limit} bytes (hint: raise the event size limit if this server really sends such events)"
    )]
    EventTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A line was not valid UTF-8.
    #[error("SSE stream has invalid UTF-8 at byte {offset}")]
    InvalidUtf8 {
        /// Offset of the line in the stream.
        offset: u64,
    },
}

/// Default limit of one event's size: 16 MiB.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// Incremental SSE decoder.
#[derive(Debug)]
pub struct SseDecoder {
    max_event_bytes: usize,
    /// Bytes of the current, unfinished line.
    line: Vec<u8>,
    /// Whether the last byte seen was `\r` (so a following `\n` is part of it).
    after_cr: bool,
    /// Fields of the event being built.
    pending: SseEvent,
    pending_has_data: bool,
    pending_bytes: usize,
    /// Whether any field was seen since the last dispatch.
    pending_any: bool,
    /// Stream offset of the current line's first byte.
    offset: u64,
    first_line: bool,
    failed: bool,
    /// Bytes of the current block, as received.
    raw: Vec<u8>,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_EVENT_BYTES)
    }
}

impl SseDecoder {
    /// A decoder that refuses events larger than `max_event_bytes`.
    pub fn new(max_event_bytes: usize) -> Self {
        Self {
            max_event_bytes,
            line: Vec::new(),
            after_cr: false,
            pending: SseEvent::default(),
            pending_has_data: false,
            pending_bytes: 0,
            pending_any: false,
            offset: 0,
            first_line: true,
            failed: false,
            raw: Vec::new(),
        }
    }

    /// Decode `bytes`, appending finished events to `out`. After an error the
    /// decoder stays failed and ignores further input.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        let mut blocks = Vec::new();
        let result = self.feed_blocks(bytes, &mut blocks);
        out.extend(blocks.into_iter().filter_map(|b| b.event));
        result
    }

    /// Decode `bytes`, appending finished blocks (with their raw bytes) to `out`.
    pub fn feed_blocks(&mut self, bytes: &[u8], out: &mut Vec<SseBlock>) -> Result<(), SseError> {
        if self.failed {
            return Ok(());
        }
        for &byte in bytes {
            if self.raw.len() >= self.max_event_bytes {
                self.failed = true;
                return Err(SseError::EventTooLarge {
                    limit: self.max_event_bytes,
                });
            }
            self.raw.push(byte);
            if self.after_cr {
                self.after_cr = false;
                if byte == b'\n' {
                    self.offset += 1;
                    continue;
                }
            }
            match byte {
                b'\n' | b'\r' => {
                    self.after_cr = byte == b'\r';
                    let result = self.end_line(out);
                    self.offset += 1;
                    if let Err(e) = result {
                        self.failed = true;
                        return Err(e);
                    }
                }
                _ => {
                    self.line.push(byte);
                    self.offset += 1;
                }
            }
        }
        Ok(())
    }

    /// Bytes received after the last complete block (an unfinished event).
    pub fn pending_raw(&self) -> &[u8] {
        &self.raw
    }

    /// Whether bytes of an unfinished event are held (the stream ended mid-event
    /// if this is true at its end).
    pub fn has_partial_event(&self) -> bool {
        !self.line.is_empty() || self.pending_any
    }

    fn end_line(&mut self, out: &mut Vec<SseBlock>) -> Result<(), SseError> {
        let line_start = self.offset - self.line.len() as u64;
        let mut raw = std::mem::take(&mut self.line);
        if self.first_line {
            self.first_line = false;
            if raw.starts_with(&[0xEF, 0xBB, 0xBF]) {
                raw.drain(..3);
            }
        }
        if raw.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        let line =
            std::str::from_utf8(&raw).map_err(|_| SseError::InvalidUtf8 { offset: line_start })?;
        if line.starts_with(':') {
            return Ok(()); // comment (keep-alive)
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        self.pending_any = true;
        self.pending_bytes += raw.len();
        match field {
            "data" => {
                if self.pending_has_data {
                    self.pending.data.push('\n');
                }
                self.pending.data.push_str(value);
                self.pending_has_data = true;
            }
            "id" if !value.contains('\0') => self.pending.id = Some(value.to_owned()),
            "event" => self.pending.event = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.pending.retry_ms = value.parse().ok();
            }
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut Vec<SseBlock>) {
        let event = if self.pending_any {
            Some(std::mem::take(&mut self.pending))
        } else {
            self.pending = SseEvent::default();
            None
        };
        out.push(SseBlock {
            event,
            raw: std::mem::take(&mut self.raw),
        });
        self.pending_has_data = false;
        self.pending_bytes = 0;
        self.pending_any = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut decoder = SseDecoder::default();
        let mut out = Vec::new();
        for chunk in chunks {
            decoder.feed(chunk, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn keeps_ids_retry_and_empty_priming_events() {
        let events = decode_all(&[b"data: \nid: 0\nretry: 1000\n\ndata: {\"a\":1}\nid: 1-2\n\n"]);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].id.as_deref(), Some("0"));
        assert_eq!(events[0].retry_ms, Some(1000));
        assert_eq!(events[0].data, "");
        assert_eq!(events[1].data, "{\"a\":1}");
        assert_eq!(events[1].id.as_deref(), Some("1-2"));
    }

    #[test]
    fn any_chunking_gives_the_same_events() {
        let body: &[u8] = b": ping\r\n\r\nevent: message\r\ndata: line one\r\ndata: line two\r\nid: 7\r\n\r\ndata:x\rid:8\r\r";
        let whole = decode_all(&[body]);
        let bytewise: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(decode_all(&bytewise), whole);
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[0].data, "line one\nline two");
        assert_eq!(whole[0].event.as_deref(), Some("message"));
        assert_eq!(whole[1].id.as_deref(), Some("8"));
    }

    #[test]
    fn blocks_carry_the_exact_bytes() {
        let body: &[u8] = b": keep-alive\n\nid: 1\ndata: x\n\ndata: partial";
        let mut decoder = SseDecoder::default();
        let mut blocks = Vec::new();
        for chunk in body.chunks(3) {
            decoder.feed_blocks(chunk, &mut blocks).unwrap();
        }
        assert_eq!(blocks.len(), 2);
        assert!(blocks[0].event.is_none(), "a comment-only block");
        assert_eq!(blocks[1].event.as_ref().unwrap().id.as_deref(), Some("1"));
        let mut rebuilt: Vec<u8> = blocks.iter().flat_map(|b| b.raw.clone()).collect();
        rebuilt.extend_from_slice(decoder.pending_raw());
        assert_eq!(rebuilt, body);
    }

    #[test]
    fn unterminated_event_is_held_not_dispatched() {
        let mut decoder = SseDecoder::default();
        let mut out = Vec::new();
        decoder.feed(b"data: never ends", &mut out).unwrap();
        assert!(out.is_empty());
        assert!(decoder.has_partial_event());
    }

    #[test]
    fn oversized_events_and_bad_utf8_fail_cleanly() {
        let mut decoder = SseDecoder::new(10);
        let mut out = Vec::new();
        assert_eq!(
            decoder.feed(b"data: 0123456789abc\n\n", &mut out),
            Err(SseError::EventTooLarge { limit: 10 })
        );
        let mut decoder = SseDecoder::default();
        assert!(matches!(
            decoder.feed(b"data: \xff\n\n", &mut out),
            Err(SseError::InvalidUtf8 { .. })
        ));
    }
}
