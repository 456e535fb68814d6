//! Logging: log messages only from a server that declared logging, from
//! 2026-07-28 only for requests that asked for a log level, and never with a
//! stack trace in them.
//! Fixtures: tests/every_check_can_fail.rs (a good and a bad transcript per check).

use super::support::method_of;
use serde_json::Value;

use crate::analysis::{Analysis, Exchange};
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::verdict::{Finding, Level};

/// The checks of this room.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        id: "logging.only_if_declared",
        rules: &[Rule {
            versions: Versions::ALL,
            level: Level::Must,
            section: "server/utilities/logging#capabilities",
            quote: "Servers that emit log message notifications MUST declare the logging capability.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: logging_declared,
    },
    Check {
        id: "logging.only_when_requested",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: "server/utilities/logging",
            quote: "io.modelcontextprotocol/logLevel: the desired log level for this request. If absent, the server MUST NOT send any notifications/message notifications for this request.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: logging_only_when_requested,
    },
    Check {
        id: "logging.no_internal_details",
        rules: &[Rule {
            versions: Versions::ALL,
            level: Level::Must,
            section: "server/utilities/logging#security",
            quote: "Log messages MUST NOT contain: Credentials or secrets, Personal identifying information, Internal system details that could aid attacks (judged: a stack trace, which names the server's files, lines and call chain).",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: no_internal_details,
    },
];

/// The kind of stack trace `text` holds, if it holds one: the markers the
/// usual runtimes print (Python's traceback header, a JavaScript or Java
/// frame, a Rust panic location, a Go goroutine dump, a .NET frame).
fn stack_trace_in(text: &str) -> Option<&'static str> {
    if text.contains("Traceback (most recent call last):") {
        return Some("a Python traceback");
    }
    if text.contains("panicked at ") && text.contains(".rs:") {
        return Some("a Rust panic location");
    }
    if text.contains("goroutine ") && text.contains(" [running]:") {
        return Some("a Go goroutine dump");
    }
    text.lines().map(str::trim).find_map(|line| {
        let frame = line.strip_prefix("at ")?;
        if [".js:", ".mjs:", ".cjs:", ".ts:", "node:internal/"]
            .iter()
            .any(|m| frame.contains(m))
        {
            Some("a JavaScript stack frame")
        } else if frame.contains(".java:") || frame.contains(".kt:") {
            Some("a Java stack frame")
        } else if frame.contains(" in ") && frame.contains(":line ") {
            Some("a .NET stack frame")
        } else {
            None
        }
    })
}

/// Every string in `value`, however deep.
fn strings_of<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|v| strings_of(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings_of(v, out)),
        _ => {}
    }
}

fn no_internal_details(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in &a.exchanges {
        for (seq, message, _) in x.server_messages() {
            if method_of(message) != Some("notifications/message") {
                continue;
            }
            judged.examined += 1;
            let mut texts = Vec::new();
            if let Some(params) = message.get("params") {
                strings_of(params, &mut texts);
            }
            if let Some(kind) = texts.iter().find_map(|t| stack_trace_in(t)) {
                judged.findings.push(Finding::at(
                    seq,
                    format!("a log message carries {kind}"),
                    "log messages without the server's internal details",
                ));
            }
        }
    }
    judged
}

fn logging_declared(a: &Analysis) -> Judged {
    let declared = a
        .server_capabilities
        .as_ref()
        .and_then(|c| c.get("logging"))
        .is_some();
    let mut judged = Judged::default();
    for x in &a.exchanges {
        for (seq, message, _) in x.server_messages() {
            if method_of(message) == Some("notifications/message") {
                judged.examined += 1;
                if !declared {
                    judged.findings.push(Finding::at(
                        seq,
                        "a log message from a server that did not declare `logging`",
                        "declare `logging` before sending notifications/message",
                    ));
                }
            }
        }
    }
    judged
}

/// The log level a request asked for in its `_meta`, if any.
fn requested_level(x: &Exchange) -> Option<&Value> {
    x.body
        .as_ref()?
        .pointer("/params/_meta/io.modelcontextprotocol~1logLevel")
}

fn logging_only_when_requested(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in a.exchanges.iter().filter(|x| x.rpc_id().is_some()) {
        let asked = requested_level(x).is_some();
        // A request's log messages ride its own response stream.
        for (seq, message, _) in x.server_messages() {
            if method_of(message) != Some("notifications/message") {
                continue;
            }
            judged.examined += 1;
            if !asked {
                judged.findings.push(Finding::at(
                    seq,
                    format!(
                        "a log message on the stream of request {} ({}), which set no io.modelcontextprotocol/logLevel",
                        x.rpc_id().cloned().unwrap_or_default(),
                        x.rpc_method().unwrap_or("?")
                    ),
                    "no notifications/message for a request without a log level",
                ));
            }
        }
    }
    judged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_runtime_s_stack_trace_is_recognised_and_plain_text_is_not() {
        for (text, kind) in [
            (
                "Traceback (most recent call last):\n  File \"a.py\", line 1",
                "a Python traceback",
            ),
            (
                "Error: boom\n    at run (/app/server.js:12:5)",
                "a JavaScript stack frame",
            ),
            (
                "Error: x\n    at node:internal/process/task_queues:95:5",
                "a JavaScript stack frame",
            ),
            (
                "java.lang.NullPointerException\n\tat com.acme.Tool.run(Tool.java:17)",
                "a Java stack frame",
            ),
            (
                "thread 'main' panicked at src/main.rs:3:5:\nboom",
                "a Rust panic location",
            ),
            ("goroutine 1 [running]:\nmain.main()", "a Go goroutine dump"),
            (
                "   at Acme.Tool.Run() in C:\\src\\Tool.cs:line 12",
                "a .NET stack frame",
            ),
        ] {
            assert_eq!(stack_trace_in(text), Some(kind), "{text}");
        }
        for text in [
            "Step 3/45: processing",
            "read /home/user/notes.txt at 12:05",
            "meet at noon",
            "look at the logs",
        ] {
            assert_eq!(stack_trace_in(text), None, "{text}");
        }
    }
}
