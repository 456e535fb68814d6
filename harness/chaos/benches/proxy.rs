//! Proxy overhead, side by side in one run against one upstream:
//! a direct connection, socat (a plain TCP forwarder), and the recording proxy
//! with no faults. Reports added latency per request (p50, p99), SSE events per
//! second, and memory per 100,000 recorded events beyond their payload.
//!
//! ci/bench-proxy.sh (installs socat), or:
//! cargo bench -p mcp-harness-chaos --bench proxy

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{Full, StreamBody};
use hyper::body::Frame;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use mcp_harness_chaos::{ProxyConfig, Recorder, RecordingProxy};

const EVENT: &str = r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"tok-1","progress":50,"total":100,"message":"Confirming prices..."}}"#;

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

async fn upstream_service(
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, Infallible> {
    use http_body_util::BodyExt;
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    if path == "/events" {
        let n: usize = query
            .strip_prefix("n=")
            .and_then(|n| n.parse().ok())
            .unwrap_or(1000);
        // Batches of 256 events per frame, like a busy server.
        let batch: Bytes = (0..256)
            .map(|i| format!("id: {i}\ndata: {EVENT}\n\n"))
            .collect::<String>()
            .into();
        let frames = n.div_ceil(256);
        let stream = futures::stream::iter(
            (0..frames).map(move |_| Ok::<_, Infallible>(Frame::data(batch.clone()))),
        );
        let response = Response::builder()
            .header("content-type", "text/event-stream")
            .body(StreamBody::new(stream).boxed())
            .unwrap();
        return Ok(response);
    }
    let _ = request.into_body().collect().await;
    Ok(Response::builder()
        .header("content-type", "application/json")
        .body(
            Full::new(Bytes::from_static(
                br#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
            ))
            .boxed(),
        )
        .unwrap())
}

async fn start_upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(upstream_service))
                    .await;
            });
        }
    });
    addr
}

struct Socat(Child);

impl Drop for Socat {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_socat(upstream: SocketAddr) -> Option<(Socat, SocketAddr)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new("socat")
        .arg(format!(
            "TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr,nodelay"
        ))
        .arg(format!("TCP:{upstream},nodelay"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    for _ in 0..200 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Some((Socat(child), addr));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

async fn latencies(base: &str, requests: usize) -> (Duration, Duration) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("{base}/mcp");
    for _ in 0..200 {
        client
            .post(&url)
            .body("{}")
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    }
    let mut times = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        client
            .post(&url)
            .body(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    (times[requests / 2], times[requests * 99 / 100])
}

async fn sse_rate(base: &str, events: usize) -> f64 {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let started = Instant::now();
    let mut response = client
        .get(format!("{base}/events?n={events}"))
        .send()
        .await
        .unwrap();
    let mut bytes = 0usize;
    while let Some(chunk) = response.chunk().await.unwrap() {
        bytes += chunk.len();
    }
    let per_event = format!("id: 0\ndata: {EVENT}\n\n").len();
    assert!(bytes >= events * (per_event - 4), "got {bytes} bytes");
    events as f64 / started.elapsed().as_secs_f64()
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        println!("proxy: benchmark");
        return;
    }
    let full = args.iter().any(|a| a == "--bench");
    let (requests, events) = if full { (5000, 200_000) } else { (200, 5_000) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let upstream = start_upstream().await;
        let direct = format!("http://{upstream}");
        let socat = start_socat(upstream);
        if socat.is_none() {
            eprintln!("socat not found: install it (ci/bench-proxy.sh does) to compare");
        }
        let recorder = Recorder::new(&direct);
        let proxy = RecordingProxy::start(ProxyConfig { upstream: direct.clone(), ..ProxyConfig::default() }, recorder.clone()).await.unwrap();
        let proxied = proxy.base_url();

        println!("{requests} sequential requests per path in 5 interleaved rounds (median of the rounds' percentiles); SSE burst of {events} events of {} payload bytes", EVENT.len());
        let mut paths: Vec<(&str, String)> = vec![("direct", direct.clone())];
        if let Some((_, addr)) = &socat {
            paths.push(("socat", format!("http://{addr}")));
        }
        paths.push(("recording proxy", proxied.clone()));
        let mut rounds: Vec<Vec<(Duration, Duration)>> = vec![Vec::new(); paths.len()];
        for _ in 0..5 {
            for (at, (_, base)) in paths.iter().enumerate() {
                rounds[at].push(latencies(base, requests / 5).await);
            }
        }
        let median = |values: &mut Vec<Duration>| { values.sort(); values[values.len() / 2] };
        let summary: Vec<(Duration, Duration)> = rounds
            .iter()
            .map(|r| (median(&mut r.iter().map(|x| x.0).collect()), median(&mut r.iter().map(|x| x.1).collect())))
            .collect();
        let (d50, d99) = summary[0];
        println!("{:<16} {:>12} {:>12} {:>14} {:>14} {:>14}", "path", "p50", "p99", "added p50", "added p99", "SSE events/s");
        let rss_before_all = rss_bytes();
        let _ = rss_before_all;
        let mut rss_before = 0;
        let mut records_before = 0;
        let mut rss_after = 0;
        let mut recorded = 0;
        for (at, (name, base)) in paths.iter().enumerate() {
            let (p50, p99) = summary[at];
            if *name == "recording proxy" {
                rss_before = rss_bytes();
                records_before = recorder.len();
            }
            let rate = sse_rate(base, events).await;
            if *name == "recording proxy" {
                tokio::time::sleep(Duration::from_millis(200)).await;
                rss_after = rss_bytes();
                recorded = recorder.len() - records_before;
            }
            let added = |v: Duration, d: Duration| if at == 0 { "-".to_owned() } else { format!("{:?}", v.saturating_sub(d)) };
            println!("{:<16} {:>12?} {:>12?} {:>14} {:>14} {:>14.0}", name, p50, p99, added(p50, d50), added(p99, d99), rate);
        }
        if socat.is_some() {
            let socat_added = summary[1].0.saturating_sub(d50);
            let ours = summary[2].0.saturating_sub(d50);
            println!("added p50 latency, recording proxy / socat: {:.2}x", ours.as_secs_f64() / socat_added.as_secs_f64().max(1e-9));
        }
        // Memory: RSS growth while recording the burst (the transcript() copy above is dropped).
        let grown = rss_after.saturating_sub(rss_before) as f64;
        let per_event = grown / recorded.max(1) as f64;
        println!(
            "recorded {recorded} SSE records; RSS grew {:.1} MB: {:.0} bytes per event, {:.0} beyond its {} payload bytes ({:.1} MB per 100,000 events)",
            grown / 1e6, per_event, per_event - EVENT.len() as f64, EVENT.len(), per_event * 100_000.0 / 1e6
        );
    });
}
