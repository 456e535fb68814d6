//! Fuzz `SseDecoder`: arbitrary bytes, fed whole, in fuzzer-chosen chunks and
//! byte by byte, must decode to the same events (and the same first error);
//! `feed_blocks` must account for every byte it consumed (the blocks' `raw`
//! plus `pending_raw()` is exactly the consumed prefix of the input), never
//! hold a block larger than the limit, and stay silent once failed.
//!
//! Input layout: byte 0 is a control byte (bits 0-2: number of chunk lengths
//! that follow; bit 7 set: a small event limit of `((b >> 3) & 15) * 8` bytes
//! instead of the default), then that many chunk-length bytes, then the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_harness_wire::sse::DEFAULT_MAX_EVENT_BYTES;
use mcp_harness_wire::{SseBlock, SseDecoder, SseError, SseEvent};

struct Decoded {
    events: Vec<SseEvent>,
    error: Option<SseError>,
}

/// Feed `chunks` with `feed`, keeping the first error.
fn decode(limit: usize, chunks: &[&[u8]]) -> Decoded {
    let mut decoder = SseDecoder::new(limit);
    let mut events = Vec::new();
    let mut error = None;
    for chunk in chunks {
        let before = events.len();
        match decoder.feed(chunk, &mut events) {
            Ok(()) => {
                if error.is_some() {
                    assert_eq!(events.len(), before, "a failed decoder produced events");
                }
            }
            Err(e) => {
                assert!(error.is_none(), "a failed decoder reported a second error");
                error = Some(e);
            }
        }
    }
    Decoded { events, error }
}

/// Split `stream` at the lengths in `lengths` (0 means 1; the rest goes last).
fn split<'a>(stream: &'a [u8], lengths: &[u8]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut rest = stream;
    for &len in lengths {
        let at = (len as usize).max(1).min(rest.len());
        let (head, tail) = rest.split_at(at);
        chunks.push(head);
        rest = tail;
    }
    chunks.push(rest);
    chunks
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let splits = (control & 7) as usize;
    if rest.len() < splits {
        return;
    }
    let (lengths, stream) = rest.split_at(splits);
    let limit = if control & 0x80 != 0 {
        ((control >> 3) & 15) as usize * 8
    } else {
        DEFAULT_MAX_EVENT_BYTES
    };
    let chunks = split(stream, lengths);

    // Same events, same first error, whatever the chunking.
    let whole = decode(limit, &[stream]);
    let pieces = decode(limit, &chunks);
    assert_eq!(pieces.events, whole.events, "chunked != whole");
    assert_eq!(pieces.error, whole.error, "chunked error != whole error");
    let bytewise: Vec<&[u8]> = stream.chunks(1).collect();
    let single = decode(limit, &bytewise);
    assert_eq!(single.events, whole.events, "bytewise != whole");
    assert_eq!(single.error, whole.error, "bytewise error != whole error");

    // Blocks: same events, every consumed byte accounted for, none past the limit.
    let mut decoder = SseDecoder::new(limit);
    let mut blocks: Vec<SseBlock> = Vec::new();
    let mut error = None;
    for chunk in &chunks {
        if let Err(e) = decoder.feed_blocks(chunk, &mut blocks) {
            error.get_or_insert(e);
        }
    }
    assert_eq!(error, whole.error, "feed_blocks error != feed error");
    let events: Vec<SseEvent> = blocks.iter().filter_map(|b| b.event.clone()).collect();
    assert_eq!(events, whole.events, "feed_blocks events != feed events");
    let mut rebuilt: Vec<u8> = Vec::with_capacity(stream.len());
    for block in &blocks {
        assert!(block.raw.len() <= limit, "a block larger than the limit");
        assert!(
            matches!(block.raw.last(), Some(b'\n' | b'\r')),
            "a block that does not end with a line terminator"
        );
        rebuilt.extend_from_slice(&block.raw);
    }
    assert!(decoder.pending_raw().len() <= limit, "pending bytes past the limit");
    rebuilt.extend_from_slice(decoder.pending_raw());
    match &error {
        None => assert_eq!(rebuilt, stream, "blocks + pending != input"),
        Some(SseError::EventTooLarge { .. }) => {
            // Everything before the refused byte was consumed.
            assert!(rebuilt.len() < stream.len());
            assert_eq!(&rebuilt[..], &stream[..rebuilt.len()]);
            assert_eq!(decoder.pending_raw().len(), limit);
        }
        Some(SseError::InvalidUtf8 { offset }) => {
            // Consumed up to and including the end of the bad line.
            assert_eq!(&rebuilt[..], &stream[..rebuilt.len()]);
            assert!(*offset < rebuilt.len() as u64);
            assert!(matches!(rebuilt.last(), Some(b'\n' | b'\r')));
        }
    }
    if error.is_some() {
        // A failed decoder ignores further input.
        let before = blocks.len();
        assert!(decoder.feed_blocks(b"data: more\n\n", &mut blocks).is_ok());
        assert_eq!(blocks.len(), before);
    }
});
