//! The stdio transport's own rules (legacy `basic/transports#stdio`,
//! 2026-07-28 `basic/transports/stdio`; shutdown in `basic/lifecycle`):
//! stdout carries only JSON-RPC messages, one per line, with no embedded
//! newlines; the server exits once its stdin closes. Judged from the `line`
//! and `process` records of a stdio transcript; skipped on HTTP ones.
//! Fixtures: tests/every_check_can_fail.rs (a good and a bad transcript per check).

use std::collections::BTreeSet;

use mcp_harness_wire::{ProcessEvent, Side};
use serde_json::Value;

use crate::analysis::{Analysis, StdioLine};
use crate::check::{Check, Judged, Needs, Rule, Transports, Versions};
use crate::verdict::{Finding, Level};

const LEGACY_SECTION: &str = "basic/transports#stdio";
const MODERN_SECTION: &str = "basic/transports/stdio";

/// The checks of this room.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        id: "stdio.stdout_messages_only",
        rules: &[
            Rule {
                versions: Versions::LEGACY,
                level: Level::Must,
                section: LEGACY_SECTION,
                quote: "The server MUST NOT write anything to its stdout that is not a valid MCP message. The server MAY write UTF-8 strings to its standard error (stderr) for logging purposes.",
            },
            Rule {
                versions: Versions::MODERN,
                level: Level::Must,
                section: MODERN_SECTION,
                quote: "The server MUST NOT write anything to its stdout that is not a valid MCP message. The server MAY write UTF-8 strings to stderr for any logging purposes.",
            },
        ],
        needs: Needs::Nothing,
        transports: Transports::StdioOnly,
        run: stdout_messages_only,
    },
    Check {
        id: "stdio.no_embedded_newlines",
        rules: &[
            Rule {
                versions: Versions::LEGACY,
                level: Level::Must,
                section: LEGACY_SECTION,
                quote: "Messages are delimited by newlines, and MUST NOT contain embedded newlines.",
            },
            Rule {
                versions: Versions::MODERN,
                level: Level::Must,
                section: MODERN_SECTION,
                quote: "Messages are delimited by newlines, and MUST NOT contain embedded newlines.",
            },
        ],
        needs: Needs::Nothing,
        transports: Transports::StdioOnly,
        run: no_embedded_newlines,
    },
    Check {
        id: "stdio.exits_on_stdin_close",
        rules: &[Rule {
            versions: Versions::ALL,
            level: Level::Should,
            section: "basic/lifecycle#shutdown",
            quote: "For the stdio transport, the client SHOULD initiate shutdown by: first, closing the input stream to the child process (the server); waiting for the server to exit, or sending SIGTERM if the server does not exit within a reasonable time; sending SIGKILL if the server does not exit within a reasonable time after SIGTERM. (A server that needs SIGTERM or SIGKILL did not end when its input closed.)",
        }],
        needs: Needs::Nothing,
        transports: Transports::StdioOnly,
        run: exits_on_stdin_close,
    },
];

/// The checks on a client over stdio.
pub(crate) const CLIENT_CHECKS: &[Check] = &[Check {
    id: "client.stdin_messages_only",
    rules: &[
        Rule {
            versions: Versions::LEGACY,
            level: Level::Must,
            section: LEGACY_SECTION,
            quote: "The client MUST NOT write anything to the server's stdin that is not a valid MCP message.",
        },
        Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: MODERN_SECTION,
            quote: "The client MUST NOT write anything to the server's stdin that is not a valid MCP message.",
        },
    ],
    needs: Needs::Nothing,
    transports: Transports::StdioOnly,
    run: stdin_messages_only,
}];

fn stdin_messages_only(a: &Analysis) -> Judged {
    messages_only(
        &lines_from(a, Side::Client),
        &BTreeSet::new(),
        "the client wrote {} on the server's stdin",
        "only JSON-RPC messages on the server's stdin, one per line",
    )
}

/// Each of `lines` must be a message, but those in `excused`: a finding per
/// other line, `observed` saying what it was in place of its `{}`.
fn messages_only(
    lines: &[&StdioLine],
    excused: &BTreeSet<u64>,
    observed: &str,
    expected: &str,
) -> Judged {
    let mut judged = Judged::default();
    for line in lines {
        judged.examined += 1;
        if excused.contains(&line.seq) {
            continue;
        }
        if let Some(what) = not_a_message(line) {
            judged.findings.push(Finding::at(
                line.seq,
                observed.replacen("{}", &what, 1),
                expected,
            ));
        }
    }
    judged
}

/// Whether `message` is a JSON-RPC 2.0 message (or a batch of them).
fn is_jsonrpc(message: &Value) -> bool {
    match message {
        Value::Object(m) => m.get("jsonrpc") == Some(&Value::from("2.0")),
        Value::Array(items) => !items.is_empty() && items.iter().all(is_jsonrpc),
        _ => false,
    }
}

/// What a line is, in words, when it is not a message.
fn not_a_message(line: &StdioLine) -> Option<String> {
    if let Some(bytes) = line.truncated {
        return Some(format!("a line of {bytes} bytes, past the recording limit"));
    }
    if line.invalid_utf8 {
        return Some("a line that is not UTF-8".into());
    }
    if line.empty {
        return Some("an empty line".into());
    }
    if let Some(text) = &line.text {
        let shown: String = text.chars().take(80).collect();
        return Some(format!("`{shown}`, which is not JSON"));
    }
    match &line.message {
        Some(m) if !is_jsonrpc(m) => Some(format!(
            "JSON that is not a JSON-RPC 2.0 message: {}",
            super::support::short(m)
        )),
        _ => None,
    }
}

/// Runs of server lines that are one message with its newlines kept: each
/// run's records, when joined with `\n` they parse as a JSON-RPC message and
/// no line alone does.
fn split_messages(lines: &[&StdioLine]) -> Vec<Vec<u64>> {
    let mut runs = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        let mut found = None;
        if lines[at].message.is_none() {
            let mut joined = String::new();
            for (n, line) in lines[at..].iter().enumerate().take(64) {
                if line.message.is_some() && n > 0 {
                    break;
                }
                if n > 0 {
                    joined.push('\n');
                }
                joined.push_str(line.text.as_deref().unwrap_or(""));
                if n > 0 && serde_json::from_str::<Value>(&joined).is_ok_and(|m| is_jsonrpc(&m)) {
                    found = Some(n + 1);
                    break;
                }
            }
        }
        match found {
            Some(len) => {
                runs.push(lines[at..at + len].iter().map(|l| l.seq).collect());
                at += len;
            }
            None => at += 1,
        }
    }
    runs
}

/// The server's lines, per process in order.
fn lines_from(a: &Analysis, side: Side) -> Vec<&StdioLine> {
    a.stdio
        .iter()
        .flat_map(|s| s.lines.iter())
        .filter(|l| l.from == side)
        .collect()
}

fn stdout_messages_only(a: &Analysis) -> Judged {
    let lines = lines_from(a, Side::Server);
    // A message with its newlines kept is stdio.no_embedded_newlines's.
    let split: BTreeSet<u64> = split_messages(&lines).into_iter().flatten().collect();
    messages_only(
        &lines,
        &split,
        "the server wrote {} on stdout",
        "only JSON-RPC messages on stdout, one per line (logs go to stderr)",
    )
}

fn no_embedded_newlines(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    let lines = lines_from(a, Side::Server);
    judged.examined = lines.iter().filter(|l| l.message.is_some()).count();
    for run in split_messages(&lines) {
        judged.examined += 1;
        judged.findings.push(Finding::at(
            run[0],
            format!(
                "one message came over {} lines: it holds newlines",
                run.len()
            ),
            "each message on one line, its newlines escaped (`\\n` inside strings)",
        ));
    }
    judged
}

fn exits_on_stdin_close(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    let Some(stdio) = &a.stdio else {
        return judged;
    };
    for closed in stdio
        .processes
        .iter()
        .filter(|p| p.event == ProcessEvent::StdinClosed)
    {
        let after: Vec<_> = stdio
            .processes
            .iter()
            .filter(|p| p.process == closed.process && p.seq > closed.seq)
            .collect();
        let Some(exit) = after.iter().find(|p| p.event == ProcessEvent::Exited) else {
            continue; // the recording ended first: nothing to judge
        };
        judged.examined += 1;
        let forced = after
            .iter()
            .filter(|p| p.seq < exit.seq)
            .find(|p| matches!(p.event, ProcessEvent::Sigterm | ProcessEvent::Sigkill));
        if let Some(signal) = forced {
            let name = match signal.event {
                ProcessEvent::Sigterm => "SIGTERM",
                _ => "SIGKILL",
            };
            judged.findings.push(Finding::at(
                signal.seq,
                format!(
                    "process {} was still running {} ms after its stdin closed and needed {name} ({})",
                    closed.process,
                    (signal.at_us.saturating_sub(closed.at_us)) / 1000,
                    exit.detail.as_deref().unwrap_or("exited")
                ),
                "the server exits once its stdin closes",
            ));
        }
    }
    judged
}
