//! Builds transcripts as the recording proxy would, for check fixtures.
#![allow(dead_code)]

use mcp_harness_wire::{
    Body, Delivery, EndReason, Fault, FaultPhase, Headers, ProcessEvent, Record, Side, Transcript,
    WireEvent,
};
use serde_json::{Value, json};

/// Builds transcripts as a proxy would record them.
pub struct Wire {
    pub records: Vec<Record>,
    pub exchange: u64,
    pub session: Option<String>,
    /// Added to every record's time: `advance` moves the clock.
    pub clock_us: u64,
}

impl Wire {
    pub fn push(&mut self, event: WireEvent) -> u64 {
        let seq = self.records.len() as u64;
        self.records.push(Record {
            seq,
            at_us: self.clock_us + seq * 10,
            event,
        });
        seq
    }

    /// A session on `version` with the given client and server capabilities.
    pub fn session(version: &str, client: Value, server: Value) -> Self {
        let mut wire = Self {
            records: Vec::new(),
            exchange: 0,
            session: None,
            clock_us: 0,
        };
        let x = wire.request("POST", json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": version, "capabilities": client, "clientInfo": {"name": "t", "version": "0"}}}), Headers::default());
        let headers = Headers {
            mcp_session_id: Some("s-1".into()),
            ..Headers::default()
        };
        wire.push(WireEvent::Response { exchange: x, status: 200, headers: Box::new(headers), body: Body::from_json(&json!({"jsonrpc": "2.0", "id": 0, "result": {"protocolVersion": version, "capabilities": server, "serverInfo": {"name": "s", "version": "0"}}})), delivery: Delivery::Delivered });
        wire.session = Some("s-1".into());
        wire
    }

    pub fn legacy() -> Self {
        Self::session(
            "2025-11-25",
            json!({"elicitation": {}, "sampling": {}}),
            json!({"tools": {}, "logging": {}}),
        )
    }

    pub fn request(&mut self, method: &str, body: Value, mut headers: Headers) -> u64 {
        self.exchange += 1;
        if headers.mcp_session_id.is_none() {
            headers.mcp_session_id = self.session.clone();
        }
        let body = if body.is_null() {
            Body::Empty
        } else {
            Body::from_json(&body)
        };
        let exchange = self.exchange;
        self.push(WireEvent::Request {
            exchange,
            conn: 1,
            method: method.into(),
            path: "/mcp".into(),
            headers: Box::new(headers),
            body,
        });
        exchange
    }

    pub fn call(&mut self, id: u64, token: Value) -> u64 {
        let x = self.request("POST", json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "travel_agent", "_meta": {"progressToken": token}}}), Headers::default());
        self.stream(x);
        x
    }

    pub fn stream(&mut self, x: u64) {
        self.push(WireEvent::Response {
            exchange: x,
            status: 200,
            headers: Box::default(),
            body: Body::Empty,
            delivery: Delivery::Delivered,
        });
    }

    pub fn status(&mut self, x: u64, status: u16) {
        self.push(WireEvent::Response {
            exchange: x,
            status,
            headers: Box::default(),
            body: Body::Empty,
            delivery: Delivery::Delivered,
        });
    }

    pub fn event(
        &mut self,
        x: u64,
        id: Option<&str>,
        data: Option<Value>,
        delivery: Delivery,
    ) -> u64 {
        let index = self.records.len() as u32;
        self.push(WireEvent::Sse {
            exchange: x,
            index,
            id: id.map(str::to_owned),
            event: None,
            retry_ms: None,
            data: data.as_ref().map(Body::from_json),
            delivery,
        })
    }

    pub fn sent(&mut self, x: u64, id: &str, data: Value) {
        self.event(x, Some(id), Some(data), Delivery::Delivered);
    }

    pub fn end(&mut self, x: u64, reason: EndReason) {
        self.push(WireEvent::StreamEnd {
            exchange: x,
            reason,
            detail: None,
        });
    }

    pub fn resume(&mut self, last: &str) -> u64 {
        let x = self.request(
            "GET",
            Value::Null,
            Headers {
                last_event_id: Some(last.into()),
                ..Headers::default()
            },
        );
        self.stream(x);
        x
    }

    /// A fault the harness injected that fired on exchange `x` (or on none).
    pub fn fault(&mut self, x: Option<u64>, fault: Fault) {
        self.fault_phase(x, FaultPhase::Fired, fault);
    }

    /// A record of `fault` in `phase`, on exchange `x` (or on none).
    pub fn fault_phase(&mut self, x: Option<u64>, phase: FaultPhase, fault: Fault) {
        self.push(WireEvent::Fault {
            exchange: x,
            phase,
            id: None,
            fault,
            detail: String::new(),
        });
    }

    /// Let `ms` milliseconds pass.
    pub fn advance(&mut self, ms: u64) {
        self.clock_us += ms * 1000;
    }

    pub fn transcript(self) -> Transcript {
        Transcript {
            records: self.records,
        }
    }
}

pub fn progress(token: Value, value: f64) -> Value {
    json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": token, "progress": value}})
}

pub fn result(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": {"content": []}})
}

pub fn priming(w: &mut Wire, x: u64, id: &str) {
    w.event(x, Some(id), None, Delivery::Delivered);
}

/// A clean call: priming, two progress events, the response.
pub fn clean_call() -> Wire {
    let mut w = Wire::legacy();
    let x = w.call(1, json!("tok"));
    priming(&mut w, x, "1-0");
    w.sent(x, "1-1", progress(json!("tok"), 0.0));
    w.sent(x, "1-2", progress(json!("tok"), 50.0));
    w.sent(x, "1-3", result(1));
    w.end(x, EndReason::Complete);
    w
}

/// A call cut after the first progress, resumed, with the rest replayed.
pub fn cut_and_resumed(replay: &[(&str, Value)]) -> Wire {
    let mut w = Wire::legacy();
    let x = w.call(1, json!("tok"));
    priming(&mut w, x, "1-0");
    w.sent(x, "1-1", progress(json!("tok"), 0.0));
    w.event(
        x,
        Some("1-2"),
        Some(progress(json!("tok"), 50.0)),
        Delivery::Withheld,
    );
    w.event(x, Some("1-3"), Some(result(1)), Delivery::Withheld);
    w.end(x, EndReason::Cut);
    let r = w.resume("1-1");
    for (id, data) in replay {
        w.sent(r, id, data.clone());
    }
    w.end(r, EndReason::Complete);
    w
}

/// Make exchange `x` carry no session id.
pub fn fix_no_session(w: &mut Wire, x: u64) {
    for record in &mut w.records {
        if let WireEvent::Request {
            exchange, headers, ..
        } = &mut record.event
            && *exchange == x
        {
            headers.mcp_session_id = None;
        }
    }
}

pub fn flat_schema() -> Value {
    json!({"type": "object", "properties": {"confirm": {"type": "boolean"}, "notes": {"type": "string"}}, "required": ["confirm"]})
}

pub fn elicit(client: Value, schema: Value) -> Wire {
    let mut w = Wire::session("2025-06-18", client, json!({"tools": {}}));
    let x = w.call(1, json!("tok"));
    w.sent(x, "1-1", json!({"jsonrpc": "2.0", "id": 0, "method": "elicitation/create", "params": {"message": "Confirm?", "requestedSchema": schema}}));
    w
}

pub fn sample(client: Value) -> Wire {
    let mut w = Wire::session("2025-06-18", client, json!({"tools": {}}));
    let x = w.call(1, json!("tok"));
    w.sent(x, "1-1", json!({"jsonrpc": "2.0", "id": 0, "method": "sampling/createMessage", "params": {"messages": [], "maxTokens": 100}}));
    w
}

pub fn log(server: Value) -> Wire {
    let mut w = Wire::session("2025-06-18", json!({}), server);
    let x = w.call(1, json!("tok"));
    w.sent(x, "1-1", json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "step"}}));
    w
}

pub fn tasks(statuses: &[&str]) -> Wire {
    let mut w = Wire {
        records: Vec::new(),
        exchange: 0,
        session: None,
        clock_us: 0,
    };
    let discover = w.request("POST", json!({"jsonrpc": "2.0", "id": 0, "method": "server/discover", "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}}}}), Headers::default());
    w.push(WireEvent::Response { exchange: discover, status: 200, headers: Box::default(), body: Body::from_json(&json!({"jsonrpc": "2.0", "id": 0, "result": {"supportedVersions": ["2026-07-28"], "capabilities": {"tools": {}, "extensions": {"io.modelcontextprotocol/tasks": {}}}}})), delivery: Delivery::Delivered });
    for (n, status) in statuses.iter().enumerate() {
        let id = n as u64 + 1;
        let x = w.request(
            "POST",
            json!({"jsonrpc": "2.0", "id": id, "method": "tasks/get", "params": {"taskId": "t1"}}),
            Headers::default(),
        );
        w.push(WireEvent::Response {
            exchange: x,
            status: 200,
            headers: Box::default(),
            body: Body::from_json(
                &json!({"jsonrpc": "2.0", "id": id, "result": {"taskId": "t1", "status": status}}),
            ),
            delivery: Delivery::Delivered,
        });
    }
    w
}

/// A stateless 2026-07-28 run: `server/discover`, then nothing.
pub fn modern() -> Wire {
    discovered(
        json!({"resultType": "complete", "ttlMs": 0, "cacheScope": "private", "supportedVersions": ["2026-07-28"], "capabilities": {"tools": {}, "logging": {}}, "serverInfo": {"name": "s", "version": "0"}}),
    )
}

/// A 2026-07-28 wire that starts with `server/discover` answered with `result`.
fn discovered(result: Value) -> Wire {
    let mut w = Wire {
        records: Vec::new(),
        exchange: 0,
        session: None,
        clock_us: 0,
    };
    let discover = w.request("POST", json!({"jsonrpc": "2.0", "id": 0, "method": "server/discover", "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}}), discover_headers());
    w.push(WireEvent::Response {
        exchange: discover,
        status: 200,
        headers: Box::default(),
        body: Body::from_json(&json!({"jsonrpc": "2.0", "id": 0, "result": result})),
        delivery: Delivery::Delivered,
    });
    w
}

/// The headers a 2026-07-28 client sends with `server/discover`.
pub fn discover_headers() -> Headers {
    Headers {
        mcp_protocol_version: Some("2026-07-28".into()),
        mcp_method: Some("server/discover".into()),
        ..Headers::default()
    }
}

/// [`modern`] whose `server/discover` result names its server in `_meta`.
pub fn modern_named() -> Wire {
    discovered(
        json!({"resultType": "complete", "ttlMs": 0, "cacheScope": "private", "supportedVersions": ["2026-07-28"], "capabilities": {"tools": {}}, "serverInfo": {"name": "s", "version": "0"}, "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "s", "version": "0"}}}),
    )
}

/// A 2026-07-28 tool call (with `log_level` in its `_meta` when given) whose
/// stream carries a log message, then `result`.
pub fn modern_call(log_level: Option<&str>, result: Value) -> Wire {
    let mut w = modern();
    let mut meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    if let Some(level) = log_level {
        meta["io.modelcontextprotocol/logLevel"] = json!(level);
    }
    let x = w.request("POST", json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "long_running_agent", "_meta": meta}}), Headers::default());
    w.stream(x);
    w.event(x, None, Some(json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "step 1"}})), Delivery::Delivered);
    w.event(
        x,
        None,
        Some(json!({"jsonrpc": "2.0", "id": 1, "result": result})),
        Delivery::Delivered,
    );
    w.end(x, EndReason::Complete);
    w
}

/// A multi-select enum: valid from 2025-11-25, not in 2025-06-18.
pub fn multi_select_schema() -> Value {
    json!({"type": "object", "properties": {"seats": {"type": "array", "items": {"type": "string", "enum": ["window", "aisle"]}}}})
}

/// A read of the URI no server has (`MISSING_RESOURCE_URI`) on `w`, answered
/// with `answer` (a JSON-RPC response) as a JSON body.
pub fn read_missing(mut w: Wire, answer: Value) -> Transcript {
    let x = w.request(
        "POST",
        json!({"jsonrpc": "2.0", "id": 5, "method": "resources/read", "params": {"uri": mcp_harness_checks::MISSING_RESOURCE_URI}}),
        Headers::default(),
    );
    w.push(WireEvent::Response {
        exchange: x,
        status: 200,
        headers: Box::default(),
        body: Body::from_json(&answer),
        delivery: Delivery::Delivered,
    });
    w.transcript()
}

/// A "resource not found" error response to request 5 with `code`.
pub fn not_found(code: i64) -> Value {
    json!({"jsonrpc": "2.0", "id": 5, "error": {"code": code, "message": "no such resource", "data": {"uri": mcp_harness_checks::MISSING_RESOURCE_URI}}})
}

/// Requests on `w`, each `(method, params, result-or-error)` answered with a
/// JSON body: a result object, or `{"error": ...}` for an error.
pub fn exchanges(w: Wire, calls: &[(&str, Value, Value)]) -> Transcript {
    let calls: Vec<(&str, &str, Value, Value)> = calls
        .iter()
        .map(|(method, params, answer)| (*method, "", params.clone(), answer.clone()))
        .collect();
    credentialed_exchanges(w, &calls)
}

/// [`exchanges`], each request with an `Authorization` header value (none
/// when empty): `(method, authorization, params, answer)`.
pub fn credentialed_exchanges(mut w: Wire, calls: &[(&str, &str, Value, Value)]) -> Transcript {
    for (n, (method, authorization, params, answer)) in calls.iter().enumerate() {
        let id = 10 + n as u64;
        let mut headers = Headers::default();
        if !authorization.is_empty() {
            headers.keep("Authorization", authorization);
        }
        let x = w.request(
            "POST",
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
            headers,
        );
        let body = match answer.get("error") {
            Some(error) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
            None => json!({"jsonrpc": "2.0", "id": id, "result": answer}),
        };
        w.push(WireEvent::Response {
            exchange: x,
            status: 200,
            headers: Box::default(),
            body: Body::from_json(&body),
            delivery: Delivery::Delivered,
        });
    }
    w.transcript()
}

/// A POST whose body is `body` as written (`this is not json`, or JSON text
/// without an id), answered with status `status` and the JSON `answer`.
pub fn raw_post_answered(body: &str, status: u16, answer: Value) -> Transcript {
    let mut w = Wire::legacy();
    w.exchange += 1;
    let exchange = w.exchange;
    let body = match serde_json::from_str::<Value>(body) {
        Ok(json) => Body::from_json(&json),
        Err(_) => Body::Text { text: body.into() },
    };
    let headers = Headers {
        mcp_session_id: w.session.clone(),
        ..Headers::default()
    };
    w.push(WireEvent::Request {
        exchange,
        conn: 1,
        method: "POST".into(),
        path: "/mcp".into(),
        headers: Box::new(headers),
        body,
    });
    w.push(WireEvent::Response {
        exchange,
        status,
        headers: Box::default(),
        body: Body::from_json(&answer),
        delivery: Delivery::Delivered,
    });
    w.transcript()
}

/// A `tools/list` page of tools named `names` (with `next` as its cursor).
pub fn tools_page(names: &[&str], next: Option<&str>) -> Value {
    let tools: Vec<Value> = names
        .iter()
        .map(|n| json!({"name": n, "inputSchema": {"type": "object", "properties": {}}}))
        .collect();
    let mut page = json!({ "tools": tools });
    if let Some(next) = next {
        page["nextCursor"] = json!(next);
    }
    page
}

/// The per-request `_meta` of 2026-07-28 in `version`.
pub fn meta_of(version: &str) -> Value {
    json!({"io.modelcontextprotocol/protocolVersion": version, "io.modelcontextprotocol/clientCapabilities": {}})
}

/// A 2026-07-28 run, then one request (`method`, `params`) answered with
/// `answer` (a result object, or `{"error": ...}`) and HTTP `status`.
pub fn modern_answered(method: &str, params: Value, answer: Value, status: u16) -> Transcript {
    let mut w = modern();
    let x = w.request(
        "POST",
        json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}),
        Headers::default(),
    );
    let body = match answer.get("error") {
        Some(error) => json!({"jsonrpc": "2.0", "id": 7, "error": error}),
        None => json!({"jsonrpc": "2.0", "id": 7, "result": answer}),
    };
    w.push(WireEvent::Response {
        exchange: x,
        status,
        headers: Box::default(),
        body: Body::from_json(&body),
        delivery: Delivery::Delivered,
    });
    w.transcript()
}

/// An `initialize` request as a client writes it on a stdio server's stdin.
pub const INITIALIZE_LINE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#;
/// The server's answer to [`INITIALIZE_LINE`], on its stdout.
pub const INITIALIZED_LINE: &str = r#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"s","version":"0"}}}"#;

/// A stdio transcript of process 1: started, `lines` in order (each as
/// written, without its newline), then the process events `ending`.
pub fn stdio_transcript(lines: &[(Side, &str)], ending: &[ProcessEvent]) -> Transcript {
    let mut w = Wire {
        records: Vec::new(),
        exchange: 0,
        session: None,
        clock_us: 0,
    };
    w.push(WireEvent::Process {
        process: 1,
        event: ProcessEvent::Started,
        detail: Some("server".into()),
    });
    for (from, text) in lines {
        w.push(WireEvent::Line {
            process: 1,
            from: *from,
            body: Body::from_bytes(text.as_bytes(), 1 << 20),
            invalid_utf8: false,
            delivery: Delivery::Delivered,
        });
    }
    for event in ending {
        w.push(WireEvent::Process {
            process: 1,
            event: *event,
            detail: None,
        });
    }
    w.transcript()
}

/// Typed faults for the fixtures.
#[allow(dead_code)]
pub mod faults {
    use mcp_harness_wire::{Fault, PipeFault, ProcessFault, StreamFault, ToxicType};

    pub fn cut() -> Fault {
        Fault::stream(StreamFault::Cut { after: 1 })
    }
    pub fn partition() -> Fault {
        Fault::stream(StreamFault::Partition { after: 1 })
    }
    pub fn stall() -> Fault {
        Fault::stream(StreamFault::Stall { after: 1, ms: 300 })
    }
    pub fn drop_request() -> Fault {
        Fault::stream(StreamFault::DropRequest)
    }
    pub fn kill() -> Fault {
        Fault::Process {
            fault: ProcessFault::Kill,
        }
    }
    pub fn toxic(toxic: ToxicType) -> Fault {
        Fault::Tcp {
            toxic,
            name: format!("{toxic:?}"),
        }
    }
    pub fn pipe() -> Fault {
        Fault::Pipe {
            holds: PipeFault {
                delay_to_client_ms: 50,
                ..PipeFault::default()
            },
        }
    }
}
