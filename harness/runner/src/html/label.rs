//! Short labels for transcript records: what a person reads on an arrow of
//! the sequence diagram (`tools/call travel_agent #2`, `progress 25/100`,
//! `200 SSE`). Pure; the full record is in the row's tooltip.

use mcp_harness_wire::{Body, Headers, ProcessEvent};
use serde_json::Value;

/// Longest label drawn on an arrow, in characters.
pub const LABEL_CHARS: usize = 64;

/// `text` cut to `max` characters, with an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A JSON-RPC id as written in labels: `#2`, `#"a"`.
fn id_of(id: &Value) -> String {
    match id {
        Value::String(s) => format!("#\"{}\"", clip(s, 12)),
        other => format!("#{other}"),
    }
}

/// A number without a needless `.0`.
fn number(value: &Value) -> String {
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", n as i64),
        Some(n) => format!("{n}"),
        None => value.to_string(),
    }
}

/// One JSON-RPC message in a few words.
pub fn message(value: &Value) -> String {
    if let Value::Array(items) = value {
        return format!("batch of {}", items.len());
    }
    let Some(object) = value.as_object() else {
        return clip(&value.to_string(), 24);
    };
    let id = object.get("id").map(id_of);
    if let Some(method) = object.get("method").and_then(Value::as_str) {
        let params = object.get("params");
        let detail = match method {
            "notifications/progress" => params.map(|p| {
                let progress = p.get("progress").map(number).unwrap_or_default();
                let total = p
                    .get("total")
                    .map(|t| format!("/{}", number(t)))
                    .unwrap_or_default();
                let token = p
                    .get("progressToken")
                    .map(|t| format!(" token {t}"))
                    .unwrap_or_default();
                format!("{progress}{total}{token}")
            }),
            "tools/call" | "prompts/get" => params
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            "resources/read" | "resources/subscribe" => params
                .and_then(|p| p.get("uri"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            "tasks/get" | "tasks/update" | "tasks/cancel" => params
                .and_then(|p| p.get("taskId"))
                .and_then(Value::as_str)
                .map(|t| clip(t, 12)),
            "notifications/message" => params
                .and_then(|p| p.get("level"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            _ => None,
        };
        let short = method.strip_prefix("notifications/").unwrap_or(method);
        let mut label = short.to_owned();
        if let Some(detail) = detail {
            label.push(' ');
            label.push_str(&detail);
        }
        if let Some(id) = id {
            label.push(' ');
            label.push_str(&id);
        }
        return label;
    }
    let id = id.unwrap_or_else(|| "#?".into());
    if let Some(error) = object.get("error") {
        let code = error.get("code").map(number).unwrap_or_default();
        return format!("error {code} {id}");
    }
    if let Some(result) = object.get("result") {
        let kind = result
            .get("resultType")
            .and_then(Value::as_str)
            .map(|k| format!(" ({k})"))
            .unwrap_or_default();
        let is_error = if result.get("isError") == Some(&Value::Bool(true)) {
            " isError"
        } else {
            ""
        };
        return format!("result {id}{kind}{is_error}");
    }
    "JSON (not JSON-RPC)".into()
}

/// A body in a few words.
pub fn body(body: &Body) -> String {
    match body {
        Body::Empty => String::new(),
        Body::Json { .. } => body.json().map(|v| message(&v)).unwrap_or_default(),
        Body::Text { text } => format!("text \"{}\"", clip(text.trim(), 24)),
        Body::Truncated { bytes } => format!("{bytes} bytes (not kept)"),
    }
}

/// The label of an HTTP request.
pub fn request(method: &str, headers: &Headers, payload: &Body) -> String {
    let mut label = method.to_owned();
    if let Some(id) = &headers.last_event_id {
        label.push_str(&format!(" Last-Event-ID {}", clip(id, 16)));
    }
    let what = body(payload);
    if !what.is_empty() {
        label.push(' ');
        label.push_str(&what);
    }
    clip(&label, LABEL_CHARS)
}

/// The label of an HTTP response head.
pub fn response(status: u16, headers: &Headers, payload: &Body) -> String {
    let kind = match headers.content_type.as_deref() {
        Some(t) if t.starts_with("text/event-stream") => " SSE",
        _ => "",
    };
    let what = body(payload);
    let sep = if what.is_empty() { "" } else { " " };
    clip(&format!("{status}{kind}{sep}{what}"), LABEL_CHARS)
}

/// The label of an SSE event.
pub fn sse(index: u32, id: Option<&str>, retry_ms: Option<u64>, data: Option<&Body>) -> String {
    let mut parts = Vec::new();
    if index == 0 {
        parts.push("(written by the proxy)".to_owned());
    }
    if let Some(id) = id {
        parts.push(format!("id {}", clip(id, 16)));
    }
    if let Some(retry) = retry_ms {
        parts.push(format!("retry {retry} ms"));
    }
    match data.map(body) {
        Some(what) if !what.is_empty() => parts.push(what),
        _ if parts.is_empty() => parts.push("empty event".into()),
        _ => {}
    }
    clip(&parts.join(" · "), LABEL_CHARS)
}

/// The label of a stdio process event.
pub fn process(process: u64, event: ProcessEvent, detail: Option<&str>) -> String {
    let what = match event {
        ProcessEvent::Started => "started",
        ProcessEvent::StdinClosed => "stdin closed",
        ProcessEvent::Sigterm => "SIGTERM",
        ProcessEvent::Sigkill => "SIGKILL",
        ProcessEvent::Exited => "exited",
        ProcessEvent::StdoutClosed => "stdout closed",
    };
    let detail = detail.map(|d| format!(": {d}")).unwrap_or_default();
    clip(&format!("process {process} {what}{detail}"), LABEL_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_read_as_a_few_words() {
        let progress = json!({"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":25.0,"total":100.0,"progressToken":"t"}});
        assert_eq!(message(&progress), "progress 25/100 token \"t\"");
        let call =
            json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"travel_agent"}});
        assert_eq!(message(&call), "tools/call travel_agent #2");
        assert_eq!(
            message(&json!({"jsonrpc":"2.0","id":2,"error":{"code":-32602}})),
            "error -32602 #2"
        );
        assert_eq!(
            message(&json!({"jsonrpc":"2.0","id":"a","result":{"resultType":"input_required"}})),
            "result #\"a\" (input_required)"
        );
        assert_eq!(message(&json!([1, 2])), "batch of 2");
        assert_eq!(clip("abcdef", 4), "abc…");
    }
}
