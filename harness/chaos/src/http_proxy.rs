//! [`RecordingProxy`]: an HTTP reverse proxy in front of one MCP server that
//! records every exchange and SSE event, and injects the SSE-level faults of a
//! [`FaultPlan`].
//!
//! Bytes are forwarded exactly as the server sent them, one SSE block at a time,
//! so a fault can act between two events. A cut closes both sides at once, so
//! the server sees its client go; after a partition the proxy keeps reading
//! what the server sends (for a bounded time) and records it as withheld: that
//! is what lets a check say "nothing lost" and "nothing duplicated".

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use mcp_harness_wire::{
    Body, Delivery, EndReason, Fault, FaultMark, Headers, SseBlock, SseDecoder, WireEvent,
};
use tokio::net::TcpListener;
use tokio::sync::{Notify, broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::faults::{ExchangeInfo, FaultPlan, FaultRule, HoldUntil, StreamFault, is_response_data};
use crate::recorder::Recorder;

type ProxyBody = BoxBody<Bytes, std::io::Error>;

/// Limits and timeouts of the proxy. Every wait is bounded.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Where to listen (port 0: any free port).
    pub listen: SocketAddr,
    /// The server's base URL, e.g. `http://127.0.0.1:8006`; request paths are appended.
    pub upstream: String,
    /// Largest request or non-stream response body forwarded.
    pub max_body_bytes: usize,
    /// Largest body kept in the transcript (larger ones are recorded as truncated).
    pub record_body_bytes: usize,
    /// Largest SSE event; a larger one ends the stream with an upstream error.
    pub max_event_bytes: usize,
    /// How long to wait for the server's response head.
    pub response_timeout: Duration,
    /// How long an SSE stream may go without a byte before it is ended.
    pub stream_idle_timeout: Duration,
    /// How long to keep recording withheld events after a fault ended delivery.
    pub drain_limit: Duration,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            upstream: "http://127.0.0.1:8006".into(),
            max_body_bytes: 16 * 1024 * 1024,
            record_body_bytes: 1024 * 1024,
            max_event_bytes: 16 * 1024 * 1024,
            response_timeout: Duration::from_secs(30),
            stream_idle_timeout: Duration::from_secs(120),
            drain_limit: Duration::from_secs(30),
        }
    }
}

/// The proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The listen address could not be bound.
    #[error("cannot listen on `{addr}`: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The upstream URL is not an absolute http URL.
    #[error("upstream `{0}` is not an http:// URL (hint: --upstream http://127.0.0.1:8006)")]
    BadUpstream(String),
}

struct Shared {
    config: ProxyConfig,
    recorder: Arc<Recorder>,
    faults: Arc<FaultPlan>,
    http: reqwest::Client,
    next_conn: AtomicU64,
    next_exchange: AtomicU64,
    requests: broadcast::Sender<ExchangeInfo>,
}

/// A running recording proxy.
pub struct RecordingProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RecordingProxy {
    /// Start listening and forwarding to `config.upstream`, recording into `recorder`.
    pub async fn start(config: ProxyConfig, recorder: Arc<Recorder>) -> Result<Self, ProxyError> {
        let upstream = config.upstream.trim_end_matches('/').to_owned();
        if !upstream.starts_with("http://") || upstream.len() <= "http://".len() {
            return Err(ProxyError::BadUpstream(config.upstream.clone()));
        }
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ProxyError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| ProxyError::Bind {
            addr: config.listen,
            source,
        })?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain HTTP client always builds");
        let shared = Arc::new(Shared {
            config: ProxyConfig { upstream, ..config },
            recorder,
            faults: Arc::new(FaultPlan::new()),
            http,
            next_conn: AtomicU64::new(0),
            next_exchange: AtomicU64::new(0),
            requests: broadcast::channel(256).0,
        });
        let stop = CancellationToken::new();
        let task = tokio::spawn(accept_loop(listener, shared.clone(), stop.clone()));
        Ok(Self {
            addr,
            shared,
            stop,
            task: Some(task),
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` (append the server's path, e.g. `/mcp`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The faults in force; add rules at any time.
    pub fn faults(&self) -> &Arc<FaultPlan> {
        &self.shared.faults
    }

    /// The recorder.
    pub fn recorder(&self) -> &Arc<Recorder> {
        &self.shared.recorder
    }

    /// Put an SSE fault rule in force: it is declared in the transcript (an
    /// `armed` record with a new id and what its selector picks), and the
    /// records of what it does later carry the same id. Returns the id.
    pub fn add_fault(&self, rule: FaultRule) -> u32 {
        let recorder = self.recorder();
        let id = recorder.next_fault_id();
        recorder.fault(
            FaultMark::declared(id),
            &Fault::stream(rule.fault.clone()),
            format!("armed for {}", rule.select),
        );
        self.faults().add(id, rule);
        id
    }

    /// Take out the rule declared as fault `id` (recorded as cleared).
    pub fn remove_fault(&self, id: u32) {
        if let Some(rule) = self.faults().remove(id) {
            self.recorder().fault(
                FaultMark::cleared(Some(id)),
                &Fault::stream(rule.fault),
                format!("no longer armed for {}", rule.select),
            );
        }
    }

    /// Stop accepting and drop every connection.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.cancelled() => break,
        };
        let Ok((stream, _)) = accepted else {
            // Out of file descriptors or similar: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn = shared.next_conn.fetch_add(1, Ordering::Relaxed) + 1;
        let shared = shared.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let abort = Arc::new(Notify::new());
            let service = {
                let abort = abort.clone();
                service_fn(move |request| {
                    let shared = shared.clone();
                    let abort = abort.clone();
                    async move { Ok::<_, Infallible>(handle(shared, conn, abort, request).await) }
                })
            };
            let connection = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                _ = abort.notified() => {}
                _ = stop.cancelled() => {}
            }
        });
    }
}

const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

fn headers_of(map: &hyper::HeaderMap) -> Box<Headers> {
    let mut headers = Headers::default();
    for (name, value) in map {
        if let Ok(value) = value.to_str() {
            headers.keep(name.as_str(), value);
        }
    }
    Box::new(headers)
}

fn text_response(status: StatusCode, text: String) -> Response<ProxyBody> {
    let mut response = Response::new(
        Full::new(Bytes::from(text))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response
}

async fn handle(
    shared: Arc<Shared>,
    conn: u64,
    abort: Arc<Notify>,
    request: Request<Incoming>,
) -> Response<ProxyBody> {
    let exchange = shared.next_exchange.fetch_add(1, Ordering::Relaxed) + 1;
    let recorder = shared.recorder.clone();
    let (parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let headers = headers_of(&parts.headers);
    let bytes = match Limited::new(body, shared.config.max_body_bytes)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            recorder.record(WireEvent::Request {
                exchange,
                conn,
                method: parts.method.to_string(),
                path,
                headers,
                body: Body::Truncated {
                    bytes: shared.config.max_body_bytes as u64,
                },
            });
            recorder.fault(
                FaultMark::fired(None, Some(exchange)),
                &Fault::BodyRefused,
                format!("request body refused by the proxy: {e}"),
            );
            return text_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("mcp-harness proxy: request body refused: {e}"),
            );
        }
    };
    let json: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
    let info = ExchangeInfo::describe(
        parts.method.as_str(),
        json.as_ref(),
        headers.last_event_id.is_some(),
    );
    recorder.record(WireEvent::Request {
        exchange,
        conn,
        method: parts.method.to_string(),
        path: path.clone(),
        headers,
        body: Body::from_bytes(&bytes, shared.config.record_body_bytes),
    });
    let _ = shared.requests.send(info.clone());
    let faults = shared.faults.faults_for(&info);
    for (id, fault) in &faults {
        // The faults that act on the request itself fire now; the others
        // are armed on this exchange and fire when their point comes.
        let at_once = matches!(fault, StreamFault::Answer { .. } | StreamFault::DropRequest);
        let mark = if at_once {
            FaultMark::fired(Some(*id), Some(exchange))
        } else {
            FaultMark::matched(*id, exchange)
        };
        let detail = if at_once {
            "the request never reaches the server".to_owned()
        } else {
            format!("armed on exchange {exchange}")
        };
        recorder.fault(mark, &Fault::stream(fault.clone()), detail);
    }
    if let Some(status) = faults.iter().find_map(|(_, f)| match f {
        StreamFault::Answer { status } => Some(*status),
        _ => None,
    }) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::NOT_FOUND);
        recorder.record(WireEvent::Response {
            exchange,
            status: status.as_u16(),
            headers: Box::default(),
            body: Body::Empty,
            delivery: Delivery::Delivered,
        });
        return text_response(status, String::new());
    }
    if faults.iter().any(|(_, f)| *f == StreamFault::DropRequest) {
        abort.notify_one();
        return std::future::pending().await;
    }

    let mut upstream = shared.http.request(
        parts.method.clone(),
        format!("{}{}", shared.config.upstream, path),
    );
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            upstream = upstream.header(name, value);
        }
    }
    let sent =
        tokio::time::timeout(shared.config.response_timeout, upstream.body(bytes).send()).await;
    let response = match sent {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => {
            end(
                &recorder,
                exchange,
                EndReason::UpstreamError,
                Some(format!("no response from the server: {e}")),
            );
            return text_response(
                StatusCode::BAD_GATEWAY,
                format!("mcp-harness proxy: no response from the server: {e}"),
            );
        }
        Err(_) => {
            let limit = shared.config.response_timeout;
            end(
                &recorder,
                exchange,
                EndReason::Timeout,
                Some(format!("no response head within {limit:?}")),
            );
            return text_response(
                StatusCode::GATEWAY_TIMEOUT,
                format!("mcp-harness proxy: no response within {limit:?}"),
            );
        }
    };
    let status = response.status();
    let response_headers = response.headers().clone();
    let is_stream = response_headers
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/event-stream")
        });
    let dropped = faults
        .iter()
        .find(|(_, f)| *f == StreamFault::DropResponse)
        .map(|(id, _)| *id);
    if let Some(id) = dropped {
        recorder.fault(
            FaultMark::fired(Some(id), Some(exchange)),
            &Fault::stream(StreamFault::DropResponse),
            format!(
                "response {} dropped before the client got it",
                status.as_u16()
            ),
        );
    }
    let dropped = dropped.is_some();
    let delivery = if dropped {
        Delivery::Withheld
    } else {
        Delivery::Delivered
    };

    if is_stream {
        recorder.record(WireEvent::Response {
            exchange,
            status: status.as_u16(),
            headers: headers_of(&response_headers),
            body: Body::Empty,
            delivery,
        });
        let (tx, rx) = mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(16);
        let pump = Pump {
            shared: shared.clone(),
            exchange,
            faults,
            abort: abort.clone(),
            requests: shared.requests.subscribe(),
            close_upstream: false,
        };
        if dropped {
            // The server's stream is closed as soon as its head arrived: the
            // server sees the client go, the client never sees an answer.
            drop(response);
            end(
                &recorder,
                exchange,
                EndReason::Cut,
                Some("response dropped by a fault; server side: closed by the proxy".into()),
            );
            abort.notify_one();
            return std::future::pending().await;
        }
        tokio::spawn(pump.run(response, Some(tx)));
        let body = StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(rx)).boxed();
        return build_response(status, &response_headers, body);
    }

    let body = read_body(response, &shared.config).await;
    let (bytes, error) = match body {
        Ok(bytes) => (bytes, None),
        Err(e) => (Bytes::new(), Some(e.to_string())),
    };
    recorder.record(WireEvent::Response {
        exchange,
        status: status.as_u16(),
        headers: headers_of(&response_headers),
        body: Body::from_bytes(&bytes, shared.config.record_body_bytes),
        delivery,
    });
    if let Some(error) = error {
        end(
            &recorder,
            exchange,
            EndReason::UpstreamError,
            Some(error.clone()),
        );
        return text_response(
            StatusCode::BAD_GATEWAY,
            format!("mcp-harness proxy: {error}"),
        );
    }
    if dropped {
        end(
            &recorder,
            exchange,
            EndReason::Cut,
            Some("response dropped by a fault".into()),
        );
        abort.notify_one();
        return std::future::pending().await;
    }
    build_response(
        status,
        &response_headers,
        Full::new(bytes).map_err(|never| match never {}).boxed(),
    )
}

fn build_response(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: ProxyBody,
) -> Response<ProxyBody> {
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    for (name, value) in headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    response
}

/// Why an upstream response body could not be read whole.
#[derive(Debug, thiserror::Error)]
enum BodyError {
    #[error("response body larger than the limit of {0} bytes")]
    TooLarge(usize),
    #[error("response body failed: {0}")]
    Failed(reqwest::Error),
    #[error("response body stalled for {0:?}")]
    Stalled(Duration),
}

async fn read_body(
    mut response: reqwest::Response,
    config: &ProxyConfig,
) -> Result<Bytes, BodyError> {
    let mut body = Vec::new();
    loop {
        match tokio::time::timeout(config.stream_idle_timeout, response.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                if body.len() + chunk.len() > config.max_body_bytes {
                    return Err(BodyError::TooLarge(config.max_body_bytes));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Ok(None)) => return Ok(Bytes::from(body)),
            Ok(Err(e)) => return Err(BodyError::Failed(e)),
            Err(_) => return Err(BodyError::Stalled(config.stream_idle_timeout)),
        }
    }
}

/// End a streamed body with an error, which makes hyper drop the connection,
/// but only after every frame already queued (and so recorded as delivered) was
/// taken by the connection and had a moment to be written. An abort after
/// 200 ms is the backstop for a connection that never takes them.
async fn end_body_with_error(
    tx: mpsc::Sender<Result<Frame<Bytes>, std::io::Error>>,
    abort: &Arc<Notify>,
    why: &'static str,
) {
    let backstop = abort.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        backstop.notify_one();
    });
    let drained = async {
        while tx.capacity() < tx.max_capacity() && !tx.is_closed() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drained).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let _ = tx
        .send_timeout(Err(std::io::Error::other(why)), Duration::from_millis(100))
        .await;
}

fn end(recorder: &Recorder, exchange: u64, reason: EndReason, detail: Option<String>) {
    recorder.record(WireEvent::StreamEnd {
        exchange,
        reason,
        detail,
    });
}

/// Forwards one SSE response, event by event, applying the exchange's faults.
struct Pump {
    shared: Arc<Shared>,
    exchange: u64,
    faults: Vec<(u32, StreamFault)>,
    abort: Arc<Notify>,
    requests: broadcast::Receiver<ExchangeInfo>,
    /// Set by a fault that ends the server's side too (cut, close with retry):
    /// the pump stops reading and drops the upstream response at once.
    close_upstream: bool,
}

/// Why the client stopped getting events, if it did.
enum Delivering {
    Yes,
    /// No more delivery since `at`, for `reason`.
    Stopped {
        reason: EndReason,
        at: Instant,
    },
}

impl Pump {
    async fn run(
        mut self,
        mut response: reqwest::Response,
        mut client: Option<mpsc::Sender<Result<Frame<Bytes>, std::io::Error>>>,
    ) {
        let recorder = self.shared.recorder.clone();
        let config = self.shared.config.clone();
        let mut decoder = SseDecoder::new(config.max_event_bytes);
        let mut index: u32 = 0;
        let mut delivering = if client.is_some() {
            Delivering::Yes
        } else {
            Delivering::Stopped {
                reason: EndReason::Cut,
                at: Instant::now(),
            }
        };
        let upstream_outcome: (EndReason, Option<String>) = loop {
            if let Delivering::Stopped { at, .. } = delivering
                && at.elapsed() > config.drain_limit
            {
                break (
                    EndReason::Timeout,
                    Some(format!(
                        "stopped recording withheld events after {:?}",
                        config.drain_limit
                    )),
                );
            }
            let next = async {
                match &client {
                    Some(tx) => tokio::select! {
                        chunk = tokio::time::timeout(config.stream_idle_timeout, response.chunk()) => Some(chunk),
                        _ = tx.closed() => None,
                    },
                    None => Some(
                        tokio::time::timeout(config.stream_idle_timeout, response.chunk()).await,
                    ),
                }
            };
            let chunk = match next.await {
                None => {
                    // The client went away on its own: let the server see it too.
                    break (EndReason::ClientGone, None);
                }
                Some(Err(_)) => {
                    break (
                        EndReason::Timeout,
                        Some(format!("no bytes for {:?}", config.stream_idle_timeout)),
                    );
                }
                Some(Ok(Err(e))) => {
                    break (
                        EndReason::UpstreamError,
                        Some(format!("stream failed: {e}")),
                    );
                }
                Some(Ok(Ok(None))) => {
                    if decoder.has_partial_event() {
                        break (
                            EndReason::UpstreamError,
                            Some("stream ended inside an event (no terminating blank line)".into()),
                        );
                    }
                    // Bytes that end no event (the `\n` of a final CRLF, blank
                    // lines) still belong to the stream: pass them on as they came.
                    let rest = decoder.pending_raw().to_vec();
                    if !rest.is_empty()
                        && matches!(delivering, Delivering::Yes)
                        && let Some(tx) = &client
                    {
                        let _ = tx
                            .send_timeout(
                                Ok(Frame::data(Bytes::from(rest))),
                                config.stream_idle_timeout,
                            )
                            .await;
                    }
                    break (EndReason::Complete, None);
                }
                Some(Ok(Ok(Some(chunk)))) => chunk,
            };
            let mut blocks = Vec::new();
            if let Err(e) = decoder.feed_blocks(&chunk, &mut blocks) {
                self.forward_blocks(blocks, &mut index, &mut delivering, &mut client)
                    .await;
                break (EndReason::UpstreamError, Some(e.to_string()));
            }
            self.forward_blocks(blocks, &mut index, &mut delivering, &mut client)
                .await;
            if self.close_upstream {
                break (EndReason::Cut, Some("closed by the proxy".into()));
            }
        };
        // Dropping the response before its end closes the connection to the
        // server (hyper never pools a connection with an unread body).
        drop(response);
        let (reason, detail) = match delivering {
            Delivering::Stopped { reason, .. } => {
                let detail = format!(
                    "server side: {:?}{}",
                    upstream_outcome.0,
                    upstream_outcome
                        .1
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                );
                (reason, Some(detail))
            }
            Delivering::Yes => upstream_outcome,
        };
        if matches!(reason, EndReason::UpstreamError | EndReason::Timeout)
            && let Some(tx) = client.take()
        {
            // Events already recorded as delivered must still reach the client.
            end_body_with_error(tx, &self.abort, "upstream failed").await;
        }
        recorder.record(WireEvent::StreamEnd {
            exchange: self.exchange,
            reason,
            detail,
        });
    }

    /// Forward and record `blocks`. Without faults, the blocks of one upstream
    /// chunk go to the client as one frame and are recorded under one lock; an
    /// event counts as delivered only once its bytes were handed to the client.
    async fn forward_blocks(
        &mut self,
        blocks: Vec<SseBlock>,
        index: &mut u32,
        delivering: &mut Delivering,
        client: &mut Option<mpsc::Sender<Result<Frame<Bytes>, std::io::Error>>>,
    ) {
        let mut out: Vec<u8> = Vec::new();
        let mut records: Vec<WireEvent> = Vec::with_capacity(blocks.len());
        let mut unsent: Vec<usize> = Vec::new();
        for block in blocks {
            let Some(event) = block.event else {
                if matches!(delivering, Delivering::Yes) {
                    out.extend_from_slice(&block.raw);
                }
                continue;
            };
            *index += 1;
            if matches!(delivering, Delivering::Yes) && !self.faults.is_empty() {
                // Faults act between events: everything before this one goes out first.
                self.flush(&mut out, &mut records, &mut unsent, delivering, client)
                    .await;
                self.before_event(*index, &event.data, delivering, client)
                    .await;
            }
            let delivered = matches!(delivering, Delivering::Yes);
            if delivered {
                out.extend_from_slice(&block.raw);
                unsent.push(records.len());
            }
            let data = if event.data.is_empty() {
                None
            } else {
                Some(Body::from_bytes(
                    event.data.as_bytes(),
                    self.shared.config.record_body_bytes,
                ))
            };
            records.push(WireEvent::Sse {
                exchange: self.exchange,
                index: *index,
                id: event.id,
                event: event.event,
                retry_ms: event.retry_ms,
                data,
                delivery: Delivery::Withheld,
            });
        }
        self.flush(&mut out, &mut records, &mut unsent, delivering, client)
            .await;
        self.shared.recorder.record_all(records);
    }

    /// Send the pending bytes; mark the events in them delivered if the client took them.
    async fn flush(
        &mut self,
        out: &mut Vec<u8>,
        records: &mut Vec<WireEvent>,
        unsent: &mut Vec<usize>,
        delivering: &mut Delivering,
        client: &mut Option<mpsc::Sender<Result<Frame<Bytes>, std::io::Error>>>,
    ) {
        if out.is_empty() {
            return;
        }
        let bytes = Bytes::from(std::mem::take(out));
        let sent = match (&*delivering, client.as_ref()) {
            // A client that stops reading must not stall the pump for ever.
            (Delivering::Yes, Some(tx)) => tx
                .send_timeout(
                    Ok(Frame::data(bytes)),
                    self.shared.config.stream_idle_timeout,
                )
                .await
                .is_ok(),
            _ => false,
        };
        if sent {
            for at in unsent.drain(..) {
                if let Some(WireEvent::Sse { delivery, .. }) = records.get_mut(at) {
                    *delivery = Delivery::Delivered;
                }
            }
            // Record what was delivered now, before a fault lets the client react.
            self.shared.recorder.record_all(std::mem::take(records));
        } else {
            unsent.clear();
            if matches!(delivering, Delivering::Yes) {
                *delivering = Delivering::Stopped {
                    reason: EndReason::ClientGone,
                    at: Instant::now(),
                };
            }
        }
    }

    /// Apply the faults due before event number `index` is delivered.
    async fn before_event(
        &mut self,
        index: u32,
        data: &str,
        delivering: &mut Delivering,
        client: &mut Option<mpsc::Sender<Result<Frame<Bytes>, std::io::Error>>>,
    ) {
        let recorder = self.shared.recorder.clone();
        let is_response = is_response_data(data);
        let exchange = Some(self.exchange);
        for (id, fault) in self.faults.clone() {
            let fired = |detail: String| {
                recorder.fault(
                    FaultMark::fired(Some(id), exchange),
                    &Fault::stream(fault.clone()),
                    detail,
                );
            };
            match fault {
                StreamFault::Delay { ms } => {
                    if index == 1 {
                        fired(format!("every event delayed {ms} ms"));
                    }
                    tokio::time::sleep(Duration::from_millis(ms)).await
                }
                StreamFault::Stall { after, ms } if index == after + 1 => {
                    fired(format!("stalled {ms} ms before event {index}"));
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                StreamFault::Cut { .. }
                | StreamFault::CutBeforeResponse
                | StreamFault::Partition { .. }
                | StreamFault::PartitionBeforeResponse
                    if fault.cuts_before(index, is_response) =>
                {
                    // A cut closes the server's side now too; a partition keeps
                    // it open and drains it (recorded as withheld).
                    let server_side = fault.closes_server_side();
                    let delivered = index - 1;
                    fired(if server_side {
                        format!(
                            "connection dropped after {delivered} events, on the client's side and the server's"
                        )
                    } else {
                        format!(
                            "client's connection dropped after {delivered} events; the server's stream is kept and drained"
                        )
                    });
                    self.close_upstream = server_side;
                    // The client's side closes once it has taken what was
                    // already recorded as delivered.
                    match client.take() {
                        Some(tx) => {
                            let abort = self.abort.clone();
                            tokio::spawn(async move {
                                end_body_with_error(tx, &abort, "cut by mcp-harness").await
                            });
                        }
                        None => self.abort.notify_one(),
                    }
                    *delivering = Delivering::Stopped {
                        reason: EndReason::Cut,
                        at: Instant::now(),
                    };
                    return;
                }
                StreamFault::CloseWithRetry { after, retry_ms } if index > after => {
                    fired(format!(
                        "stream closed with retry: {retry_ms} after {after} events"
                    ));
                    if let Some(tx) = client.take() {
                        let sent = tx
                            .send_timeout(
                                Ok(Frame::data(Bytes::from(format!("retry: {retry_ms}\n\n")))),
                                self.shared.config.stream_idle_timeout,
                            )
                            .await
                            .is_ok();
                        // The client saw this `retry:`: it is on the record too
                        // (index 0: written by the proxy, not the server).
                        recorder.record(WireEvent::Sse {
                            exchange: self.exchange,
                            index: 0,
                            id: None,
                            event: None,
                            retry_ms: Some(retry_ms),
                            data: None,
                            delivery: if sent {
                                Delivery::Delivered
                            } else {
                                Delivery::Withheld
                            },
                        });
                    }
                    // A server that closes its stream is done with it.
                    self.close_upstream = true;
                    *delivering = Delivering::Stopped {
                        reason: EndReason::Closed,
                        at: Instant::now(),
                    };
                    return;
                }
                StreamFault::HoldResponse { ref until } if is_response => {
                    fired(format!("response held until {until:?}"));
                    self.hold(until).await;
                }
                _ => {}
            }
        }
    }

    async fn hold(&mut self, until: &HoldUntil) {
        let limit = self.shared.config.drain_limit;
        match until {
            HoldUntil::Elapsed { ms } => tokio::time::sleep(Duration::from_millis(*ms)).await,
            HoldUntil::Request { method } => {
                let wait = async {
                    loop {
                        match self.requests.recv().await {
                            Ok(info)
                                if info.http_method.eq_ignore_ascii_case(method)
                                    || info.rpc_method.as_deref() == Some(method) =>
                            {
                                break;
                            }
                            Err(broadcast::error::RecvError::Closed) => break,
                            _ => {}
                        }
                    }
                };
                let _ = tokio::time::timeout(limit, wait).await;
            }
        }
    }
}
