//! [`Analysis`]: a transcript regrouped for judging: exchanges with their
//! request, response and stream events, sessions, and the negotiated version.
//! Pure and deterministic.

use std::collections::{BTreeMap, HashMap};

use mcp_harness_wire::stdio_route::{Route, Router};
use mcp_harness_wire::{
    Body, Delivery, EndReason, Fault, FaultPhase, Headers, ProcessEvent, Side, Transcript,
    WireEvent,
};
use serde_json::Value;

/// The version assumed when nothing in the transcript names one.
pub const DEFAULT_VERSION: &str = "2025-03-26";

/// Protocol versions this harness knows.
pub const KNOWN_VERSIONS: [&str; 5] = [
    "2024-11-05",
    "2025-03-26",
    "2025-06-18",
    "2025-11-25",
    "2026-07-28",
];

/// Whether `version` names the stateless era: a date (`YYYY-MM-DD`) on or after
/// 2026-07-28. Anything that is not a date (a garbage version) is not modern.
pub fn is_modern_version(version: &str) -> bool {
    let b = version.as_bytes();
    let is_date = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    is_date && version >= "2026-07-28"
}

/// One server-sent event, as judged.
#[derive(Debug, Clone)]
pub struct EventView {
    /// Transcript record.
    pub seq: u64,
    /// When it was recorded, µs from the transcript's start.
    pub at_us: u64,
    /// `id:` field.
    pub id: Option<String>,
    /// `retry:` field.
    pub retry_ms: Option<u64>,
    /// The JSON message, if the data was JSON.
    pub message: Option<Value>,
    /// The raw data was empty.
    pub empty: bool,
    /// The data was recorded in full and is not JSON (`None` in `message`).
    pub not_json: Option<String>,
    /// Whether the client got it.
    pub delivery: Delivery,
}

/// One line of a stdio transcript, as judged.
#[derive(Debug, Clone)]
pub struct StdioLine {
    /// Transcript record.
    pub seq: u64,
    /// Which server process.
    pub process: u64,
    /// Who wrote it.
    pub from: Side,
    /// The JSON, if the line was JSON.
    pub message: Option<Value>,
    /// The text, if the line was not JSON (and not too long to keep).
    pub text: Option<String>,
    /// The line was empty.
    pub empty: bool,
    /// The line was longer than the recording limit: its size.
    pub truncated: Option<u64>,
    /// The line was not valid UTF-8.
    pub invalid_utf8: bool,
}

/// Something that happened to a stdio server process.
#[derive(Debug, Clone)]
pub struct ProcessRecord {
    /// Transcript record.
    pub seq: u64,
    /// When, µs into the recording.
    pub at_us: u64,
    /// Which process.
    pub process: u64,
    /// What.
    pub event: ProcessEvent,
    /// Details.
    pub detail: Option<String>,
}

/// What a stdio transcript holds besides its messages.
#[derive(Debug, Clone, Default)]
pub struct StdioView {
    /// Every line both ways, in order.
    pub lines: Vec<StdioLine>,
    /// What happened to the processes, in order.
    pub processes: Vec<ProcessRecord>,
    /// Lines the server wrote on stderr.
    pub stderr_lines: u64,
}

/// Regroups the lines of a stdio transcript as exchanges: each client line
/// one (a request, notification or response, as an HTTP POST body would
/// be), the server lines routed to the request they belong to
/// ([`mcp_harness_wire::stdio_route`]), the rest on one standalone exchange
/// per process (HTTP's GET stream).
#[derive(Default)]
struct StdioRegrouping {
    router: Router,
    /// Open requests: (process, id as JSON text) -> exchange number.
    open: HashMap<(u64, String), u64>,
    /// Standalone exchange per process.
    standalone: HashMap<u64, u64>,
    next_exchange: u64,
    view: StdioView,
}

impl StdioRegrouping {
    fn exchange(
        &mut self,
        seq: u64,
        at_us: u64,
        method: &str,
        body: Option<Value>,
        status: u16,
    ) -> Exchange {
        self.next_exchange += 1;
        Exchange {
            id: self.next_exchange,
            request_seq: seq,
            method: method.to_owned(),
            headers: Headers::default(),
            body,
            body_truncated: false,
            response: Some((seq, status, Headers::default())),
            response_body: None,
            response_delivery: Delivery::Delivered,
            events: Vec::new(),
            end: None,
            request_at_us: at_us,
            end_at_us: None,
            cut_at_us: None,
            end_seq: None,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn line(
        &mut self,
        exchanges: &mut BTreeMap<u64, Exchange>,
        seq: u64,
        at_us: u64,
        process: u64,
        from: Side,
        body: &Body,
        invalid_utf8: bool,
        delivery: Delivery,
    ) {
        let message = body.json();
        self.view.lines.push(StdioLine {
            seq,
            process,
            from,
            message: message.clone(),
            text: match body {
                Body::Text { text } => Some(text.clone()),
                _ => None,
            },
            empty: matches!(body, Body::Empty),
            truncated: match body {
                Body::Truncated { bytes } => Some(*bytes),
                _ => None,
            },
            invalid_utf8,
        });
        match from {
            Side::Client => {
                let Some(message) = message else {
                    return;
                };
                self.router.client_wrote(&message);
                let request = message.get("method").is_some() && message.get("id").is_some();
                let id = message.get("id").map(Value::to_string);
                let x = self.exchange(
                    seq,
                    at_us,
                    "POST",
                    Some(message),
                    if request { 200 } else { 202 },
                );
                if request && let Some(id) = id {
                    self.open.insert((process, id), x.id);
                }
                exchanges.insert(x.id, x);
            }
            Side::Server => {
                let Some(message) = message else {
                    return;
                };
                let route = self.router.server_wrote(&message);
                let is_response = message.get("method").is_none();
                let target = match &route {
                    Route::Request(id) => {
                        let key = (process, id.to_string());
                        let found = self.open.get(&key).copied();
                        if is_response {
                            self.open.remove(&key);
                        }
                        found
                    }
                    Route::Unrelated => None,
                };
                let target = match target {
                    Some(x) => x,
                    None => match self.standalone.get(&process) {
                        Some(x) => *x,
                        None => {
                            let x = self.exchange(seq, at_us, "GET", None, 200);
                            let id = x.id;
                            exchanges.insert(id, x);
                            self.standalone.insert(process, id);
                            id
                        }
                    },
                };
                if let Some(x) = exchanges.get_mut(&target) {
                    x.events.push(EventView {
                        seq,
                        at_us,
                        id: None,
                        retry_ms: None,
                        message: Some(message),
                        empty: false,
                        not_json: None,
                        delivery,
                    });
                    if is_response && matches!(route, Route::Request(_)) && x.method == "POST" {
                        x.end = Some(EndReason::Complete);
                        x.end_at_us = Some(at_us);
                        x.end_seq = Some(seq);
                    }
                }
            }
        }
    }

    fn process(
        &mut self,
        exchanges: &mut BTreeMap<u64, Exchange>,
        seq: u64,
        at_us: u64,
        process: u64,
        event: ProcessEvent,
        detail: &Option<String>,
    ) {
        self.view.processes.push(ProcessRecord {
            seq,
            at_us,
            process,
            event,
            detail: detail.clone(),
        });
        match event {
            ProcessEvent::Started => self.router.clear(),
            // Nothing more will come for what the process left open.
            ProcessEvent::StdoutClosed | ProcessEvent::Exited => {
                let ended: Vec<u64> = self
                    .open
                    .iter()
                    .filter(|((p, _), _)| *p == process)
                    .map(|(_, x)| *x)
                    .chain(self.standalone.get(&process).copied())
                    .collect();
                self.open.retain(|(p, _), _| *p != process);
                self.standalone.remove(&process);
                for id in ended {
                    if let Some(x) = exchanges.get_mut(&id)
                        && x.end.is_none()
                    {
                        x.end = Some(EndReason::UpstreamError);
                        x.end_at_us = Some(at_us);
                        x.end_seq = Some(seq);
                    }
                }
            }
            _ => {}
        }
    }
}

/// One HTTP exchange: request, response and (for SSE) its stream.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Exchange number.
    pub id: u64,
    /// Transcript record of the request.
    pub request_seq: u64,
    /// HTTP method.
    pub method: String,
    /// Request headers that matter.
    pub headers: Headers,
    /// Request body, if JSON.
    pub body: Option<Value>,
    /// The request body was larger than the recording limit (so `body` is
    /// `None` without saying the body was not JSON).
    pub body_truncated: bool,
    /// Response status, record and headers.
    pub response: Option<(u64, u16, Headers)>,
    /// Response body, if JSON (non-stream responses).
    pub response_body: Option<Value>,
    /// Whether the client got the response head.
    pub response_delivery: Delivery,
    /// The stream's events, in order.
    pub events: Vec<EventView>,
    /// How the stream ended.
    pub end: Option<EndReason>,
    /// When the request was recorded (µs since the recording started).
    pub request_at_us: u64,
    /// When the stream ended, if it did (upstream: after a cut, the proxy goes
    /// on recording what the server sends).
    pub end_at_us: Option<u64>,
    /// When the proxy cut or closed the stream for the client, if it did.
    pub cut_at_us: Option<u64>,
    /// The record of the stream's end, if it ended.
    pub end_seq: Option<u64>,
}

impl Exchange {
    /// The JSON-RPC method of the request body, if any.
    pub fn rpc_method(&self) -> Option<&str> {
        self.body.as_ref()?.get("method")?.as_str()
    }

    /// The JSON-RPC id of the request body, if it is a request.
    pub fn rpc_id(&self) -> Option<&Value> {
        let body = self.body.as_ref()?;
        body.get("method")?;
        body.get("id")
    }

    /// The HTTP status of the response.
    pub fn status(&self) -> Option<u16> {
        self.response.as_ref().map(|r| r.1)
    }

    /// The session this exchange belongs to: the request's id, or the id the
    /// response issued (for `initialize`).
    pub fn session(&self) -> Option<&str> {
        self.headers.mcp_session_id.as_deref().or_else(|| {
            self.response
                .as_ref()
                .and_then(|r| r.2.mcp_session_id.as_deref())
        })
    }

    /// The JSON-RPC messages of the request body: a batch is several.
    pub fn body_messages(&self) -> Vec<&Value> {
        match &self.body {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(one) => vec![one],
            None => Vec::new(),
        }
    }

    /// Whether this is a GET that resumes with `Last-Event-ID`.
    pub fn is_resume(&self) -> bool {
        self.method == "GET" && self.headers.last_event_id.is_some()
    }

    /// Every server message of this exchange with its record and delivery:
    /// the JSON response body, then the stream's messages.
    pub fn server_messages(&self) -> impl Iterator<Item = (u64, &Value, Delivery)> {
        let body = self
            .response_body
            .as_ref()
            .zip(self.response.as_ref())
            .filter(|(b, r)| !is_authorization_error(r.1, b))
            .map(|(b, r)| (r.0, b, self.response_delivery));
        body.into_iter().chain(
            self.events
                .iter()
                .filter_map(|e| e.message.as_ref().map(|m| (e.seq, m, e.delivery))),
        )
    }
}

/// Whether a response body is the authorization layer's, not an MCP message:
/// a 401 or 403 whose JSON is no JSON-RPC message (an OAuth error object,
/// RFC 6750 section 3.1: `{"error": "invalid_token"}`). The authorization
/// spec orders those statuses, not their bodies; a 403 body that is JSON-RPC
/// (the Origin check's error) is still a message.
fn is_authorization_error(status: u16, body: &Value) -> bool {
    matches!(status, 401 | 403) && body.get("jsonrpc").is_none()
}

/// One fault record.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultView {
    /// Its record.
    pub seq: u64,
    /// The exchange it was matched to or hit.
    pub exchange: Option<u64>,
    /// The phase it marks.
    pub phase: FaultPhase,
    /// The declared fault it belongs to.
    pub id: Option<u32>,
    /// The fault.
    pub fault: Fault,
    /// What was done, in words.
    pub detail: String,
}

/// A transcript regrouped for the checks.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// Exchanges in order.
    pub exchanges: Vec<Exchange>,
    /// The protocol version the run negotiated.
    pub version: String,
    /// The server's declared capabilities (from `initialize` or `server/discover`).
    pub server_capabilities: Option<Value>,
    /// The client's declared capabilities, per session (`""` for stateless).
    pub client_capabilities: BTreeMap<String, Value>,
    /// Records where the harness killed the server.
    pub kills: Vec<u64>,
    /// The stdio records, when the transcript is of a stdio server (its
    /// messages are regrouped as exchanges too: client lines as POSTs, the
    /// server lines that belong to no request on a GET).
    pub stdio: Option<StdioView>,
    /// Every fault record, in order: declared, matched, fired and cleared.
    pub faults: Vec<FaultView>,
    /// Where a server the harness started listens: (record, bound addresses).
    pub listening: Vec<(u64, Vec<std::net::SocketAddr>)>,
    /// (session, event id) -> index in `exchanges` of the exchange it was first seen on.
    origins: HashMap<(String, String), usize>,
}

fn json_of(body: &mcp_harness_wire::Body) -> Option<Value> {
    body.json()
}

impl Analysis {
    /// Regroup `transcript`.
    pub fn of(transcript: &Transcript) -> Self {
        let mut exchanges: BTreeMap<u64, Exchange> = BTreeMap::new();
        let mut kills: Vec<u64> = Vec::new();
        let mut faults: Vec<FaultView> = Vec::new();
        let mut listening = Vec::new();
        let mut stdio: Option<StdioRegrouping> = None;
        for record in &transcript.records {
            if let WireEvent::Fault {
                exchange,
                phase,
                id,
                fault,
                detail,
            } = &record.event
            {
                faults.push(FaultView {
                    seq: record.seq,
                    exchange: *exchange,
                    phase: *phase,
                    id: *id,
                    fault: fault.clone(),
                    detail: detail.clone(),
                });
            }
            match &record.event {
                WireEvent::Request {
                    exchange,
                    method,
                    headers,
                    body,
                    ..
                } => {
                    exchanges.insert(
                        *exchange,
                        Exchange {
                            id: *exchange,
                            request_seq: record.seq,
                            method: method.clone(),
                            headers: (**headers).clone(),
                            body: json_of(body),
                            body_truncated: matches!(
                                body,
                                mcp_harness_wire::Body::Truncated { .. }
                            ),
                            response: None,
                            response_body: None,
                            response_delivery: Delivery::Delivered,
                            events: Vec::new(),
                            end: None,
                            request_at_us: record.at_us,
                            end_at_us: None,
                            cut_at_us: None,
                            end_seq: None,
                        },
                    );
                }
                WireEvent::Response {
                    exchange,
                    status,
                    headers,
                    body,
                    delivery,
                } => {
                    if let Some(x) = exchanges.get_mut(exchange) {
                        x.response = Some((record.seq, *status, (**headers).clone()));
                        x.response_body = json_of(body);
                        x.response_delivery = *delivery;
                    }
                }
                WireEvent::Sse {
                    exchange,
                    id,
                    retry_ms,
                    data,
                    delivery,
                    ..
                } => {
                    if let Some(x) = exchanges.get_mut(exchange) {
                        x.events.push(EventView {
                            seq: record.seq,
                            at_us: record.at_us,
                            id: id.clone(),
                            retry_ms: *retry_ms,
                            message: data.as_ref().and_then(json_of),
                            empty: data.is_none(),
                            not_json: match data {
                                Some(mcp_harness_wire::Body::Text { text }) => Some(text.clone()),
                                _ => None,
                            },
                            delivery: *delivery,
                        });
                    }
                }
                WireEvent::Fault {
                    phase: FaultPhase::Fired,
                    fault,
                    ..
                } if fault.kills_server() => kills.push(record.seq),
                // Where a stream was broken: when the fault fired, not when
                // its rule was matched to the request.
                WireEvent::Fault {
                    exchange: Some(exchange),
                    phase: FaultPhase::Fired,
                    fault,
                    ..
                } if fault.ends_stream() => {
                    if let Some(x) = exchanges.get_mut(exchange) {
                        x.cut_at_us.get_or_insert(record.at_us);
                    }
                }
                WireEvent::StreamEnd {
                    exchange, reason, ..
                } => {
                    if let Some(x) = exchanges.get_mut(exchange) {
                        x.end = Some(*reason);
                        x.end_at_us = Some(record.at_us);
                        x.end_seq = Some(record.seq);
                    }
                }
                WireEvent::Line {
                    process,
                    from,
                    body,
                    invalid_utf8,
                    delivery,
                } => stdio.get_or_insert_with(Default::default).line(
                    &mut exchanges,
                    record.seq,
                    record.at_us,
                    *process,
                    *from,
                    body,
                    *invalid_utf8,
                    *delivery,
                ),
                WireEvent::Process {
                    process,
                    event,
                    detail,
                } => stdio.get_or_insert_with(Default::default).process(
                    &mut exchanges,
                    record.seq,
                    record.at_us,
                    *process,
                    *event,
                    detail,
                ),
                WireEvent::Stderr { .. } => {
                    stdio.get_or_insert_with(Default::default).view.stderr_lines += 1;
                }
                WireEvent::Listening { addresses } => {
                    listening.push((record.seq, addresses.clone()));
                }
                _ => {}
            }
        }
        let exchanges: Vec<Exchange> = exchanges.into_values().collect();
        let mut analysis = Self {
            exchanges,
            version: DEFAULT_VERSION.into(),
            kills,
            faults,
            listening,
            stdio: stdio.map(|s| s.view),
            ..Self::default()
        };
        analysis.find_version_and_capabilities();
        analysis.index_event_origins();
        analysis
    }

    fn find_version_and_capabilities(&mut self) {
        let mut version = None;
        for x in &self.exchanges {
            match x.rpc_method() {
                Some("initialize") => {
                    let session = x.session().unwrap_or_default().to_owned();
                    if let Some(caps) = x
                        .body
                        .as_ref()
                        .and_then(|b| b.pointer("/params/capabilities"))
                    {
                        self.client_capabilities.insert(session, caps.clone());
                    }
                    for (_, message, _) in x.server_messages() {
                        if let Some(result) = message.get("result") {
                            if let Some(v) = result.get("protocolVersion").and_then(Value::as_str) {
                                version.get_or_insert_with(|| v.to_owned());
                            }
                            if let Some(caps) = result.get("capabilities") {
                                self.server_capabilities.get_or_insert_with(|| caps.clone());
                            }
                        }
                    }
                }
                Some(_) => {
                    let meta = x.body.as_ref().and_then(|b| b.pointer("/params/_meta"));
                    if let Some(v) = meta
                        .and_then(|m| m.get("io.modelcontextprotocol/protocolVersion"))
                        .and_then(Value::as_str)
                    {
                        version.get_or_insert_with(|| v.to_owned());
                    }
                    if let Some(caps) =
                        meta.and_then(|m| m.get("io.modelcontextprotocol/clientCapabilities"))
                    {
                        self.client_capabilities
                            .entry(String::new())
                            .or_insert_with(|| caps.clone());
                    }
                    if x.rpc_method() == Some("server/discover") {
                        for (_, message, _) in x.server_messages() {
                            if let Some(caps) = message.pointer("/result/capabilities") {
                                self.server_capabilities.get_or_insert_with(|| caps.clone());
                            }
                        }
                    }
                }
                None => {}
            }
        }
        if version.is_none() {
            version = self
                .exchanges
                .iter()
                .find_map(|x| x.headers.mcp_protocol_version.clone());
        }
        if version.is_none() {
            // No version negotiated (an initialize refused, say): the one the
            // client asked for.
            version = self
                .exchanges
                .iter()
                .filter(|x| x.rpc_method() == Some("initialize"))
                .find_map(|x| {
                    x.body
                        .as_ref()?
                        .pointer("/params/protocolVersion")?
                        .as_str()
                })
                .map(str::to_owned);
        }
        self.version = version.unwrap_or_else(|| DEFAULT_VERSION.into());
    }

    /// Whether a fault that can keep an answer from the client stood in
    /// `exchange`'s way: one that fired on the exchange itself and stops or
    /// holds back delivery (not a stall or a delay), a kill while it was
    /// open, or a fault of the whole connection (a toxic, the network down,
    /// held pipes, stdin closed) fired before it ended.
    pub fn fault_in_the_way(&self, exchange: &Exchange) -> bool {
        let open_at = |seq: u64| exchange.end_seq.is_none_or(|end| seq < end);
        self.fired().any(|f| match f.exchange {
            Some(x) => x == exchange.id && f.fault.stands_in_the_way(),
            None if f.fault.kills_server() => f.seq > exchange.request_seq && open_at(f.seq),
            None => open_at(f.seq),
        })
    }

    /// The fault records that mark a fault acting.
    pub fn fired(&self) -> impl Iterator<Item = &FaultView> {
        self.faults.iter().filter(|f| f.phase == FaultPhase::Fired)
    }

    /// The faults that fired on `exchange` itself.
    pub fn faults_on(&self, exchange: &Exchange) -> impl Iterator<Item = &Fault> {
        self.fired()
            .filter(move |f| f.exchange == Some(exchange.id))
            .map(|f| &f.fault)
    }

    /// Whether the server declared tasks (the 2026 extension, or `tasks`).
    pub fn server_declares_tasks(&self) -> bool {
        self.server_capabilities.as_ref().is_some_and(|c| {
            c.pointer("/extensions/io.modelcontextprotocol~1tasks")
                .is_some()
                || c.get("tasks").is_some()
        })
    }

    /// Whether the transcript is of a stdio server.
    pub fn is_stdio(&self) -> bool {
        self.stdio.is_some()
    }

    /// Whether the run was in the stateless 2026-07-28 era (or later).
    pub fn is_modern(&self) -> bool {
        is_modern_version(&self.version)
    }

    /// The client capabilities that apply to `exchange`.
    pub fn client_caps_for(&self, exchange: &Exchange) -> Option<&Value> {
        let session = exchange.session().unwrap_or_default();
        self.client_capabilities
            .get(session)
            .or_else(|| self.client_capabilities.get(""))
    }

    /// The exchange of `session` that a delivered or withheld event id was
    /// first seen on. Event ids need only be unique within a session, so the
    /// same id in two sessions names two events.
    pub fn origin_of(&self, session: Option<&str>, event_id: &str) -> Option<&Exchange> {
        self.origins
            .get(&(session.unwrap_or_default().to_owned(), event_id.to_owned()))
            .map(|&i| &self.exchanges[i])
    }

    /// The first exchange of another session than `exchange`'s that an event
    /// id was seen on, when `exchange`'s session had not seen it before
    /// `exchange` (a replay across sessions).
    pub fn origin_elsewhere(&self, exchange: &Exchange, event_id: &str) -> Option<&Exchange> {
        if self
            .origin_of(exchange.session(), event_id)
            .is_some_and(|o| o.id != exchange.id)
        {
            return None;
        }
        let session = exchange.session().unwrap_or_default();
        self.origins
            .iter()
            .filter(|((s, id), _)| s != session && id == event_id)
            .map(|(_, &i)| &self.exchanges[i])
            .min_by_key(|x| x.request_seq)
    }

    /// The exchange that opened the logical stream `exchange` belongs to: itself,
    /// unless it is a resume, which continues the stream of its `Last-Event-ID`
    /// (followed through resumes of resumes).
    pub fn stream_root<'a>(&'a self, exchange: &'a Exchange) -> &'a Exchange {
        let mut at = exchange;
        for _ in 0..self.exchanges.len() {
            let next = at
                .is_resume()
                .then_some(at.headers.last_event_id.as_deref())
                .flatten()
                .and_then(|id| self.origin_of(at.session(), id));
            match next {
                Some(origin) if origin.id != at.id => at = origin,
                _ => break,
            }
        }
        at
    }

    fn index_event_origins(&mut self) {
        let mut first: HashMap<(String, String), (u64, usize)> = HashMap::new();
        for (i, x) in self.exchanges.iter().enumerate() {
            let session = x.session().unwrap_or_default().to_owned();
            for e in &x.events {
                if let Some(id) = &e.id {
                    let entry = first
                        .entry((session.clone(), id.clone()))
                        .or_insert((e.seq, i));
                    if e.seq < entry.0 {
                        *entry = (e.seq, i);
                    }
                }
            }
        }
        self.origins = first.into_iter().map(|(key, (_, i))| (key, i)).collect();
    }
}
