//! Every TCP toxic, proven by its measured effect on a real connection through
//! the proxy: bytes received, time taken, resets and closes seen.

use std::time::{Duration, Instant};

use mcp_harness_chaos::{Stream, TcpProxy, Toxic, ToxicKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Upstream: echoes what it reads; on "blast N\n" sends N bytes; on "close" sends
/// "bye" and closes.
async fn upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 4096];
                loop {
                    let n = match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    let text = String::from_utf8_lossy(&buffer[..n]).to_string();
                    if let Some(count) = text
                        .strip_prefix("blast ")
                        .and_then(|t| t.trim().parse::<usize>().ok())
                    {
                        let _ = socket.write_all(&vec![b'x'; count]).await;
                    } else if text.starts_with("close") {
                        let _ = socket.write_all(b"bye").await;
                        return;
                    } else if socket.write_all(&buffer[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

async fn proxy_with(toxic: Option<ToxicKind>, stream: Stream) -> TcpProxy {
    let proxy = TcpProxy::start("test", "127.0.0.1:0", &upstream().await)
        .await
        .unwrap();
    if let Some(kind) = toxic {
        proxy
            .add_toxic(Toxic {
                name: "t".into(),
                stream,
                toxicity: 1.0,
                kind,
            })
            .unwrap();
    }
    proxy
}

/// Read until `want` bytes, EOF or `limit`; returns (bytes, reads, elapsed, outcome).
async fn read_all(
    socket: &mut TcpStream,
    want: usize,
    limit: Duration,
) -> (usize, usize, Duration, std::io::Result<()>) {
    let started = Instant::now();
    let mut total = 0;
    let mut reads = 0;
    let mut buffer = vec![0u8; 65536];
    while total < want {
        match tokio::time::timeout_at((started + limit).into(), socket.read(&mut buffer)).await {
            Err(_) => {
                return (
                    total,
                    reads,
                    started.elapsed(),
                    Err(std::io::ErrorKind::TimedOut.into()),
                );
            }
            Ok(Ok(0)) => {
                return (
                    total,
                    reads,
                    started.elapsed(),
                    Err(std::io::ErrorKind::UnexpectedEof.into()),
                );
            }
            Ok(Ok(n)) => {
                total += n;
                reads += 1;
            }
            Ok(Err(e)) => return (total, reads, started.elapsed(), Err(e)),
        }
    }
    (total, reads, started.elapsed(), Ok(()))
}

#[tokio::test]
async fn no_toxic_passes_bytes_straight_through() {
    let proxy = proxy_with(None, Stream::Downstream).await;
    let mut socket = TcpStream::connect(proxy.listen()).await.unwrap();
    socket.write_all(b"blast 100000\n").await.unwrap();
    let (got, _, elapsed, outcome) = read_all(&mut socket, 100_000, Duration::from_secs(5)).await;
    assert!(outcome.is_ok() && got == 100_000);
    assert!(elapsed < Duration::from_secs(1));
}

#[tokio::test]
async fn latency_delays_each_answer() {
    let proxy = proxy_with(
        Some(ToxicKind::Latency {
            latency: 300,
            jitter: 0,
        }),
        Stream::Downstream,
    )
    .await;
    let mut socket = TcpStream::connect(proxy.listen()).await.unwrap();
    for _ in 0..2 {
        let started = Instant::now();
        socket.write_all(b"ping").await.unwrap();
        let (got, _, _, outcome) = read_all(&mut socket, 4, Duration::from_secs(5)).await;
        assert!(outcome.is_ok() && got == 4);
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_millis(295) && elapsed < Duration::from_millis(1500),
            "round trip {elapsed:?}"
        );
    }
}

#[tokio::test]
async fn bandwidth_limits_throughput() {
    let proxy = proxy_with(Some(ToxicKind::Bandwidth { rate: 100 }), Stream::Downstream).await;
    let mut socket = TcpStream::connect(proxy.listen()).await.unwrap();
    socket.write_all(b"blast 50000\n").await.unwrap();
    let (got, _, elapsed, outcome) = read_all(&mut socket, 50_000, Duration::from_secs(10)).await;
    assert!(outcome.is_ok() && got == 50_000);
    assert!(
        elapsed >= Duration::from_millis(450),
        "50 KB at 100 KB/s took {elapsed:?}"
    );
}

#[tokio::test]
async fn slicer_cuts_data_into_small_delayed_pieces() {
    let proxy = proxy_with(
        Some(ToxicKind::Slicer {
            average_size: 100,
            size_variation: 20,
            delay: 2000,
        }),
        Stream::Downstream,
    )
    .await;
    let mut socket = TcpStream::connect(proxy.listen()).await.unwrap();
    socket.write_all(b"blast 10000\n").await.unwrap();
    let (got, reads, elapsed, outcome) =
        read_all(&mut socket, 10_000, Duration::from_secs(10)).await;
    assert!(outcome.is_ok() && got == 10_000);
    assert!(
        reads >= 50,
        "10 KB in ~100-byte slices arrived in {reads} reads"
    );
    assert!(
        elapsed >= Duration::from_millis(150),
        "~100 slices 2 ms apart took {elapsed:?}"
    );
}

#[tokio::test]
async fn limit_data_closes_after_the_limit() {
    let proxy = proxy_with(
        Some(ToxicKind::LimitData { bytes: 1000 }),
        Stream::Downstream,
    )
    .await;
    let mut socket = TcpStream::connect(proxy.listen()).await.unwrap();
    socket.write_all(b"blast 10000\n").await.unwrap();
    let (got, _, _, outcome) = read_all(&mut socket, 10_000, Duration::from_secs(5)).await;
    assert_eq!(got, 1000);
    assert!(outcome.is_err(), "closed after exactly 1000 bytes");
}

#[tokio::test]
async fn timeout_swallows_data_then_closes() {
    let proxy = proxy_with(
        Some(ToxicKind::Timeout { timeout: 300 }),
        Stream::Downstream,
    )
    .await;
    let mut socket = TcpStream::connect(proxy.listen()).await.unwrap();
    socket.write_all(b"ping").await.unwrap();
    let (got, _, elapsed, outcome) = read_all(&mut socket, 4, Duration::from_secs(5)).await;
    assert_eq!(got, 0, "no data passes a timeout toxic");
    assert_eq!(
        outcome.unwrap_err().kind(),
        std::io::ErrorKind::UnexpectedEof
    );
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(3),
        "closed after {elapsed:?}"
    );
}

#[tokio::test]
async fn timeout_zero_holds_until_removed_then_closes() {
    let proxy = proxy_with(Some(ToxicKind::Timeout { timeout: 0 }), Stream::Downstream).await;
    let mut socket = TcpStream::connect(proxy.listen()).await.unwrap();
    socket.write_all(b"ping").await.unwrap();
    let (got, _, _, outcome) = read_all(&mut socket, 4, Duration::from_millis(500)).await;
    assert_eq!(got, 0);
    assert_eq!(
        outcome.unwrap_err().kind(),
        std::io::ErrorKind::TimedOut,
        "still open, nothing passes"
    );
    proxy.remove_toxic("t").unwrap();
    let (_, _, _, outcome) = read_all(&mut socket, 4, Duration::from_secs(5)).await;
    assert_eq!(
        outcome.unwrap_err().kind(),
        std::io::ErrorKind::UnexpectedEof,
        "removing the toxic closes the link"
    );
}

#[tokio::test]
async fn reset_peer_resets_the_connection() {
    let proxy = proxy_with(Some(ToxicKind::ResetPeer { timeout: 0 }), Stream::Upstream).await;
    let mut socket = TcpStream::connect(proxy.listen()).await.unwrap();
    socket.write_all(b"ping").await.unwrap();
    let (_, _, elapsed, outcome) = read_all(&mut socket, 4, Duration::from_secs(5)).await;
    assert_eq!(
        outcome.unwrap_err().kind(),
        std::io::ErrorKind::ConnectionReset,
        "an RST, not a clean close"
    );
    assert!(elapsed < Duration::from_secs(2));

    let proxy = proxy_with(
        Some(ToxicKind::ResetPeer { timeout: 300 }),
        Stream::Downstream,
    )
    .await;
    let mut socket = TcpStream::connect(proxy.listen()).await.unwrap();
    socket.write_all(b"blast 10\n").await.unwrap();
    let started = Instant::now();
    let (_, _, _, outcome) = read_all(&mut socket, 1_000_000, Duration::from_secs(5)).await;
    assert_eq!(
        outcome.unwrap_err().kind(),
        std::io::ErrorKind::ConnectionReset
    );
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "reset after its timeout: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn slow_close_delays_the_close() {
    let proxy = proxy_with(
        Some(ToxicKind::SlowClose { delay: 400 }),
        Stream::Downstream,
    )
    .await;
    let mut socket = TcpStream::connect(proxy.listen()).await.unwrap();
    let started = Instant::now();
    socket.write_all(b"close").await.unwrap();
    let (got, _, _, outcome) = read_all(&mut socket, 1_000_000, Duration::from_secs(5)).await;
    assert_eq!(got, 3, "the data itself is not delayed");
    assert_eq!(
        outcome.unwrap_err().kind(),
        std::io::ErrorKind::UnexpectedEof
    );
    assert!(
        started.elapsed() >= Duration::from_millis(380),
        "close after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn down_refuses_and_cuts_then_up_serves_again() {
    let proxy = proxy_with(None, Stream::Downstream).await;
    let mut live = TcpStream::connect(proxy.listen()).await.unwrap();
    live.write_all(b"ping").await.unwrap();
    assert_eq!(read_all(&mut live, 4, Duration::from_secs(5)).await.0, 4);
    proxy.set_enabled(false).await.unwrap();
    let (_, _, _, outcome) = read_all(&mut live, 1, Duration::from_secs(5)).await;
    assert!(
        outcome.is_err(),
        "a live connection is closed when the proxy goes down"
    );
    assert!(
        TcpStream::connect(proxy.listen()).await.is_err(),
        "refused while down"
    );
    proxy.set_enabled(true).await.unwrap();
    let mut again = TcpStream::connect(proxy.listen()).await.unwrap();
    again.write_all(b"ping").await.unwrap();
    assert_eq!(read_all(&mut again, 4, Duration::from_secs(5)).await.0, 4);
}

#[tokio::test]
async fn toxics_reach_live_connections_and_toxicity_zero_spares_them() {
    let proxy = proxy_with(None, Stream::Downstream).await;
    let mut socket = TcpStream::connect(proxy.listen()).await.unwrap();
    proxy
        .add_toxic(Toxic {
            name: "slow".into(),
            stream: Stream::Downstream,
            toxicity: 1.0,
            kind: ToxicKind::Latency {
                latency: 300,
                jitter: 0,
            },
        })
        .unwrap();
    let started = Instant::now();
    socket.write_all(b"ping").await.unwrap();
    let _ = read_all(&mut socket, 4, Duration::from_secs(5)).await;
    assert!(
        started.elapsed() >= Duration::from_millis(295),
        "added to a live link"
    );
    proxy.remove_toxic("slow").unwrap();

    proxy
        .add_toxic(Toxic {
            name: "never".into(),
            stream: Stream::Downstream,
            toxicity: 0.0,
            kind: ToxicKind::Timeout { timeout: 0 },
        })
        .unwrap();
    let mut spared = TcpStream::connect(proxy.listen()).await.unwrap();
    spared.write_all(b"ping").await.unwrap();
    assert_eq!(
        read_all(&mut spared, 4, Duration::from_secs(5)).await.0,
        4,
        "toxicity 0 affects no connection"
    );
}

#[tokio::test]
async fn reset_peer_with_a_timeout_forwards_nothing_before_the_reset() {
    let proxy = proxy_with(
        Some(ToxicKind::ResetPeer { timeout: 400 }),
        Stream::Upstream,
    )
    .await;
    let mut socket = TcpStream::connect(proxy.listen()).await.unwrap();
    socket.write_all(b"ping").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    socket.write_all(b"pong").await.unwrap();
    let (received, _, _, outcome) = read_all(&mut socket, 8, Duration::from_secs(5)).await;
    assert_eq!(received, 0, "no echo of data held by the reset toxic");
    assert_eq!(
        outcome.unwrap_err().kind(),
        std::io::ErrorKind::ConnectionReset
    );
}

#[tokio::test]
async fn bandwidth_zero_holds_data_until_the_toxic_goes() {
    let proxy = proxy_with(Some(ToxicKind::Bandwidth { rate: 0 }), Stream::Downstream).await;
    let mut socket = TcpStream::connect(proxy.listen()).await.unwrap();
    socket.write_all(b"hello").await.unwrap();
    let (held, _, _, outcome) = read_all(&mut socket, 5, Duration::from_millis(400)).await;
    assert_eq!(held, 0, "nothing passes at rate 0");
    assert_eq!(outcome.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
    proxy.remove_toxic("t").unwrap();
    let mut buffer = [0u8; 5];
    tokio::time::timeout(Duration::from_secs(5), socket.read_exact(&mut buffer))
        .await
        .expect("the held bytes arrive once the toxic is gone")
        .unwrap();
    assert_eq!(&buffer, b"hello");
}
