//! Our Toxiproxy-compatible REST API driven by a real Toxiproxy client
//! (toxiproxy-rust, blocking, so these are plain threads), with state read back
//! since that client ignores error statuses; and the TOXIPROXY_URL adapter
//! against a wiremock stand-in that answers as Toxiproxy's API documents.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use mcp_harness_chaos::{
    ControlError, ProxyRegistry, RemoteToxiproxy, Stream, Toxic, ToxicControl, ToxicKind,
};
use serde_json::{Value, json};
use toxiproxy_rust::client::Client;
use toxiproxy_rust::proxy::ProxyPack;

/// Start the API on its own runtime thread; returns its address.
fn start_api() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let (addr, task) = ProxyRegistry::new()
                .serve("127.0.0.1:0".parse().unwrap())
                .await
                .unwrap();
            tx.send(addr.to_string()).unwrap();
            let _ = task.await;
        });
    });
    rx.recv_timeout(Duration::from_secs(10)).unwrap()
}

fn echo_upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buffer = [0u8; 1024];
                while let Ok(n) = stream.read(&mut buffer) {
                    if n == 0 || stream.write_all(&buffer[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

fn round_trip(addr: &str) -> std::io::Result<Duration> {
    let started = Instant::now();
    let mut socket = TcpStream::connect(addr)?;
    socket.set_read_timeout(Some(Duration::from_secs(5)))?;
    socket.write_all(b"hi")?;
    let mut answer = [0u8; 2];
    socket.read_exact(&mut answer)?;
    Ok(started.elapsed())
}

fn raw(method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    let client = reqwest::blocking::Client::new();
    let mut request = client.request(method.parse().unwrap(), url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn toxiproxy_rust_drives_our_api() {
    let api = start_api();
    let client = Client::new(api.clone());
    assert!(client.is_running());
    assert!(client.version().unwrap().contains("mcp-harness"));

    let proxies = client
        .populate(vec![ProxyPack::new(
            "echo".into(),
            "127.0.0.1:0".into(),
            echo_upstream(),
        )])
        .expect("populate");
    let listen = proxies[0].proxy_pack.listen.clone();
    assert!(
        !listen.ends_with(":0"),
        "the bound port is reported: {listen}"
    );
    assert!(round_trip(&listen).unwrap() < Duration::from_millis(250));

    let proxy = client.find_and_reset_proxy("echo").expect("proxy exists");
    proxy
        .with_latency("downstream".into(), 300, 0, 1.0)
        .apply(|| {
            let took = round_trip(&listen).unwrap();
            assert!(
                took >= Duration::from_millis(295),
                "latency toxic through the API: {took:?}"
            );
        })
        .unwrap();
    assert!(
        proxy.toxics().unwrap().is_empty(),
        "apply removed the toxic"
    );

    proxy
        .with_down(|| assert!(round_trip(&listen).is_err(), "down refuses"))
        .unwrap();
    assert!(round_trip(&listen).is_ok(), "up again");

    proxy
        .with_bandwidth("downstream".into(), 10, 1.0)
        .with_slicer("upstream".into(), 64, 16, 100, 1.0)
        .with_limit_data("downstream".into(), 1024, 1.0);
    let names: Vec<String> = proxy
        .toxics()
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(
        names,
        [
            "slicer_upstream",
            "bandwidth_downstream",
            "limit_data_downstream"
        ],
        "upstream toxics first"
    );
    client.reset().unwrap();
    let state = client.find_proxy("echo").unwrap().proxy_pack;
    assert!(
        state.toxics.is_empty() && state.enabled,
        "reset removes toxics and enables"
    );

    assert!(
        client.find_proxy("nope").is_err(),
        "a missing proxy is an error"
    );
    assert_eq!(client.all().unwrap().len(), 1);
}

#[test]
fn error_statuses_and_bodies_match_toxiproxy() {
    let api = start_api();
    let base = format!("http://{api}");
    let upstream = echo_upstream();
    let (status, created) = raw(
        "POST",
        &format!("{base}/proxies"),
        Some(json!({"name": "p", "listen": "127.0.0.1:0", "upstream": upstream})),
    );
    assert_eq!(status, 201);
    assert_eq!(created["enabled"], true);
    assert_eq!(created["toxics"], json!([]));
    let (status, body) = raw(
        "POST",
        &format!("{base}/proxies"),
        Some(json!({"name": "p", "upstream": upstream})),
    );
    assert_eq!(
        (status, body),
        (409, json!({"error": "proxy already exists", "status": 409}))
    );
    let (status, body) = raw(
        "POST",
        &format!("{base}/proxies"),
        Some(json!({"upstream": upstream})),
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("missing required field: name"))
    );
    let (status, body) = raw("GET", &format!("{base}/proxies/missing"), None);
    assert_eq!(
        (status, body),
        (404, json!({"error": "proxy not found", "status": 404}))
    );

    let toxics = format!("{base}/proxies/p/toxics");
    let (status, toxic) = raw(
        "POST",
        &toxics,
        Some(json!({"type": "reset_peer", "attributes": {"timeout": 0}})),
    );
    assert_eq!(status, 200);
    assert_eq!(toxic["name"], "reset_peer_downstream");
    let (status, _) = raw("POST", &toxics, Some(json!({"type": "reset_peer"})));
    assert_eq!(status, 409, "same name twice");
    let (status, body) = raw("POST", &toxics, Some(json!({"type": "teleport"})));
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid toxic type"))
    );
    let (status, body) = raw(
        "POST",
        &toxics,
        Some(json!({"type": "latency", "stream": "sideways"})),
    );
    assert_eq!(status, 400, "{body}");
    let (status, updated) = raw(
        "POST",
        &format!("{toxics}/reset_peer_downstream"),
        Some(json!({"attributes": {"timeout": 50}})),
    );
    assert_eq!(
        (status, updated["attributes"]["timeout"].as_u64()),
        (200, Some(50))
    );
    let (status, _) = raw("DELETE", &format!("{toxics}/reset_peer_downstream"), None);
    assert_eq!(status, 204);
    let (status, _) = raw("DELETE", &format!("{toxics}/reset_peer_downstream"), None);
    assert_eq!(status, 404);
    let (status, _) = raw("POST", &format!("{base}/reset"), None);
    assert_eq!(status, 204);
    let (status, _) = raw("DELETE", &format!("{base}/proxies/p"), None);
    assert_eq!(status, 204);
}

#[tokio::test]
async fn the_toxiproxy_url_adapter_follows_the_documented_api() {
    use wiremock::matchers::{body_partial_json, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/proxies")).and(body_partial_json(json!({"name": "mcp"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"name": "mcp", "listen": "127.0.0.1:26379", "upstream": "127.0.0.1:8006", "enabled": true, "toxics": []})))
        .mount(&server).await;
    Mock::given(method("POST"))
        .and(path("/proxies"))
        .and(body_partial_json(json!({"name": "taken"})))
        .respond_with(
            ResponseTemplate::new(409)
                .set_body_json(json!({"error": "proxy already exists", "status": 409})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST")).and(path("/proxies/mcp/toxics"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": "latency_downstream", "type": "latency", "stream": "downstream", "toxicity": 1, "attributes": {"latency": 100, "jitter": 0}})))
        .mount(&server).await;
    Mock::given(method("POST"))
        .and(path("/proxies/gone/toxics"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": "proxy not found", "status": 404})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST")).and(path("/proxies/mcp")).and(body_partial_json(json!({"enabled": false})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": "mcp", "listen": "127.0.0.1:26379", "upstream": "127.0.0.1:8006", "enabled": false, "toxics": []})))
        .mount(&server).await;
    Mock::given(method("DELETE"))
        .and(path("/proxies/mcp/toxics/latency_downstream"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/reset"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;

    let remote = RemoteToxiproxy::new(&server.uri());
    assert_eq!(
        remote
            .create_proxy("mcp", "127.0.0.1:0", "127.0.0.1:8006")
            .await
            .unwrap(),
        "127.0.0.1:26379"
    );
    let taken = remote
        .create_proxy("taken", "127.0.0.1:0", "127.0.0.1:8006")
        .await
        .unwrap_err();
    assert!(
        matches!(taken, ControlError::Status { status: 409, .. }),
        "{taken}"
    );
    assert!(taken.to_string().contains("proxy already exists"));
    let latency = Toxic {
        name: "latency_downstream".into(),
        stream: Stream::Downstream,
        toxicity: 1.0,
        kind: ToxicKind::Latency {
            latency: 100,
            jitter: 0,
        },
    };
    remote.add_toxic("mcp", &latency).await.unwrap();
    let gone = remote.add_toxic("gone", &latency).await.unwrap_err();
    assert!(
        matches!(gone, ControlError::Status { status: 404, .. }),
        "{gone}"
    );
    remote.set_enabled("mcp", false).await.unwrap();
    remote
        .remove_toxic("mcp", "latency_downstream")
        .await
        .unwrap();
    remote.reset().await.unwrap();
    let missing = remote.remove_toxic("mcp", "never_added").await.unwrap_err();
    assert!(
        matches!(missing, ControlError::Status { status: 404, .. }),
        "an unmatched call is an error: {missing}"
    );

    let unreachable = RemoteToxiproxy::new("http://127.0.0.1:9")
        .reset()
        .await
        .unwrap_err();
    assert!(
        matches!(unreachable, ControlError::Transport { .. })
            && unreachable.to_string().contains("TOXIPROXY_URL")
    );
}
