//! Fuzz `mcp_harness::scenario::parse` on arbitrary UTF-8 text (other inputs
//! are skipped). It must never panic, and a reported mistake must point inside
//! the text: line in 1..=lines + 1, column in 1..=that line's length + 1.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mcp_harness::scenario::parse;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Err(err) = parse(Path::new("fuzz.toml"), text) else {
        return;
    };
    assert_eq!(err.path, "fuzz.toml");
    let lines = text.lines().count();
    assert!(
        (1..=lines + 1).contains(&err.line),
        "line {} outside 1..={} ({err})",
        err.line,
        lines + 1
    );
    // The reported line, split on '\n' only as the parser counts lines.
    let line = text.split('\n').nth(err.line - 1).unwrap_or("");
    let width = line.chars().count();
    assert!(
        (1..=width + 1).contains(&err.column),
        "column {} outside 1..={} on line {} ({err})",
        err.column,
        width + 1,
        err.line
    );
});
