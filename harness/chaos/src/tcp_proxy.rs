//! [`TcpProxy`]: a TCP forwarder whose connections suffer Toxiproxy toxics.
//!
//! Each accepted connection is a link of two directions. Each direction reads
//! chunks as they arrive (stamping their arrival time) and a writer applies the
//! direction's toxics in order before passing bytes on. Toxics added or removed
//! act on live links at the next chunk or timer. As in Toxiproxy, an end of
//! either direction closes the whole link (no half-close).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::toxics::{Stream, Toxic, ToxicKind, slice_sizes};

/// Largest chunk read at once.
const CHUNK: usize = 32 * 1024;

/// A toxic could not be added, changed or removed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToxicChangeError {
    /// A toxic of that name exists already.
    #[error("toxic already exists")]
    Exists,
    /// No toxic of that name.
    #[error("toxic not found")]
    NotFound,
}

struct ProxyState {
    listener: Option<CancellationToken>,
    links: HashMap<u64, CancellationToken>,
}

struct Inner {
    name: String,
    listen: SocketAddr,
    upstream: String,
    toxics: watch::Sender<Vec<Toxic>>,
    state: Mutex<ProxyState>,
    next_link: AtomicU64,
}

/// One named TCP proxy: `listen` -> `upstream`, with toxics.
#[derive(Clone)]
pub struct TcpProxy {
    inner: Arc<Inner>,
}

impl TcpProxy {
    /// Bind `listen` (port 0: any free port) and start forwarding to `upstream`
    /// (`host:port`).
    pub async fn start(name: &str, listen: &str, upstream: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let proxy = Self {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                listen: listener.local_addr()?,
                upstream: upstream.to_owned(),
                toxics: watch::channel(Vec::new()).0,
                state: Mutex::new(ProxyState {
                    listener: None,
                    links: HashMap::new(),
                }),
                next_link: AtomicU64::new(0),
            }),
        };
        proxy.run_listener(listener);
        Ok(proxy)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ProxyState> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn run_listener(&self, listener: TcpListener) {
        let stop = CancellationToken::new();
        self.lock().listener = Some(stop.clone());
        let proxy = self.clone();
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    _ = stop.cancelled() => break,
                };
                match accepted {
                    Ok((client, _)) => {
                        let proxy = proxy.clone();
                        tokio::spawn(async move { proxy.link(client).await });
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        });
    }

    /// The proxy's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The bound listen address.
    pub fn listen(&self) -> SocketAddr {
        self.inner.listen
    }

    /// The upstream `host:port`.
    pub fn upstream(&self) -> &str {
        &self.inner.upstream
    }

    /// Whether the proxy accepts connections.
    pub fn enabled(&self) -> bool {
        self.lock().listener.is_some()
    }

    /// Take the proxy down (listener and every live connection closed) or bring
    /// it back up on the same address.
    pub async fn set_enabled(&self, enabled: bool) -> std::io::Result<()> {
        if enabled == self.enabled() {
            return Ok(());
        }
        if enabled {
            let listener = TcpListener::bind(self.inner.listen).await?;
            self.run_listener(listener);
        } else {
            let mut state = self.lock();
            if let Some(stop) = state.listener.take() {
                stop.cancel();
            }
            for (_, link) in state.links.drain() {
                link.cancel();
            }
        }
        Ok(())
    }

    /// The toxics, upstream ones first, each in insertion order.
    pub fn toxics(&self) -> Vec<Toxic> {
        let mut toxics = self.inner.toxics.borrow().clone();
        toxics.sort_by_key(|t| t.stream == Stream::Downstream);
        toxics
    }

    /// Add `toxic`; live connections feel it from their next chunk.
    pub fn add_toxic(&self, toxic: Toxic) -> Result<(), ToxicChangeError> {
        let mut result = Ok(());
        self.inner.toxics.send_modify(|toxics| {
            if toxics.iter().any(|t| t.name == toxic.name) {
                result = Err(ToxicChangeError::Exists);
            } else {
                toxics.push(toxic);
            }
        });
        result
    }

    /// Change the attributes and toxicity of toxic `name` (type and stream stay).
    pub fn update_toxic(
        &self,
        name: &str,
        kind: ToxicKind,
        toxicity: f32,
    ) -> Result<Toxic, ToxicChangeError> {
        let mut updated = Err(ToxicChangeError::NotFound);
        self.inner.toxics.send_modify(|toxics| {
            if let Some(toxic) = toxics.iter_mut().find(|t| t.name == name) {
                toxic.kind = kind;
                toxic.toxicity = toxicity;
                updated = Ok(toxic.clone());
            }
        });
        updated
    }

    /// Remove toxic `name`.
    pub fn remove_toxic(&self, name: &str) -> Result<(), ToxicChangeError> {
        let mut result = Err(ToxicChangeError::NotFound);
        self.inner.toxics.send_modify(|toxics| {
            let before = toxics.len();
            toxics.retain(|t| t.name != name);
            if toxics.len() < before {
                result = Ok(());
            }
        });
        result
    }

    /// Remove every toxic.
    pub fn clear_toxics(&self) {
        self.inner.toxics.send_modify(Vec::clear);
    }

    /// Stop for good: listener and connections closed.
    pub fn shutdown(&self) {
        let mut state = self.lock();
        if let Some(stop) = state.listener.take() {
            stop.cancel();
        }
        for (_, link) in state.links.drain() {
            link.cancel();
        }
    }

    /// Toxiproxy's JSON of this proxy.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.inner.name,
            "listen": self.inner.listen.to_string(),
            "upstream": self.inner.upstream,
            "enabled": self.enabled(),
            "toxics": self.toxics().iter().map(Toxic::to_json).collect::<Vec<_>>(),
        })
    }

    async fn link(self, client: TcpStream) {
        let server = match tokio::time::timeout(
            Duration::from_secs(10),
            TcpStream::connect(&self.inner.upstream),
        )
        .await
        {
            Ok(Ok(server)) => server,
            _ => return, // dropping the client closes it, as Toxiproxy does
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let id = self.inner.next_link.fetch_add(1, Ordering::Relaxed);
        let token = CancellationToken::new();
        {
            let mut state = self.lock();
            if state.listener.is_none() {
                return;
            }
            state.links.insert(id, token.clone());
        }
        let link = Arc::new(Link {
            token: token.clone(),
            was_reset: std::sync::atomic::AtomicBool::new(false),
            client_fd: client.as_raw_fd(),
            decisions: Mutex::new(HashMap::new()),
        });
        let (client_read, client_write) = client.into_split();
        let (server_read, server_write) = server.into_split();
        let up = tokio::spawn(direction(
            client_read,
            server_write,
            Stream::Upstream,
            self.inner.toxics.subscribe(),
            link.clone(),
        ));
        let down = tokio::spawn(direction(
            server_read,
            client_write,
            Stream::Downstream,
            self.inner.toxics.subscribe(),
            link.clone(),
        ));
        let _ = tokio::join!(up, down);
        self.lock().links.remove(&id);
    }
}

struct Link {
    token: CancellationToken,
    /// Set by a reset: no graceful FIN may go out before the RST.
    was_reset: std::sync::atomic::AtomicBool,
    client_fd: std::os::fd::RawFd,
    decisions: Mutex<HashMap<String, bool>>,
}

impl Link {
    /// Whether `toxic` acts on this link (drawn once per link, by its toxicity).
    fn affected(&self, toxic: &Toxic) -> bool {
        let mut decisions = self.decisions.lock().unwrap_or_else(|e| e.into_inner());
        *decisions.entry(toxic.name.clone()).or_insert_with(|| {
            toxic.toxicity >= 1.0 || rand::rng().random::<f32>() < toxic.toxicity
        })
    }

    /// Reset the client's connection: linger 0, then close, so it gets an RST.
    /// The caller holds a half of the client socket, so the descriptor is open.
    fn reset(&self) {
        self.was_reset.store(true, Ordering::SeqCst);
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: `client_fd` is open (see above); setsockopt only reads `linger`.
        unsafe {
            libc::setsockopt(
                self.client_fd,
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            );
        }
        self.token.cancel();
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Move bytes one way through the toxics in force.
async fn direction(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    stream: Stream,
    mut toxics: watch::Receiver<Vec<Toxic>>,
    link: Arc<Link>,
) {
    let (tx, mut rx) = mpsc::channel::<(Bytes, Instant)>(64);
    let reader_token = link.token.clone();
    let reader = tokio::spawn(async move {
        let mut buffer = vec![0u8; CHUNK];
        loop {
            let read = tokio::select! {
                read = from.read(&mut buffer) => read,
                _ = reader_token.cancelled() => break,
            };
            match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx
                        .send((Bytes::copy_from_slice(&buffer[..n]), Instant::now()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    });

    let mut sent: u64 = 0;
    let mut timeout_since: Option<Instant> = None;
    let mut first_data: Option<Instant> = None;
    let mut reset_since: Option<Instant> = None;
    // A chunk held back by a bandwidth of 0, passed on once the toxics change.
    let mut held: Option<(Bytes, Instant)> = None;
    loop {
        let active: Vec<Toxic> = toxics
            .borrow()
            .iter()
            .filter(|t| t.stream == stream && link.affected(t))
            .cloned()
            .collect();
        let timeout = active.iter().find_map(|t| match t.kind {
            ToxicKind::Timeout { timeout } => Some(timeout),
            _ => None,
        });
        match (timeout, timeout_since) {
            (Some(_), None) => timeout_since = Some(Instant::now()),
            (None, Some(_)) => {
                // Toxiproxy closes connections when their timeout toxic is removed.
                link.token.cancel();
                break;
            }
            _ => {}
        }
        let close_at = match (timeout, timeout_since) {
            (Some(ms), Some(since)) if ms > 0 => Some(since + Duration::from_millis(ms)),
            _ => None,
        };
        let reset_after = active.iter().find_map(|t| match t.kind {
            ToxicKind::ResetPeer { timeout } => Some(timeout),
            _ => None,
        });
        match (reset_after, reset_since) {
            (Some(_), None) => reset_since = Some(Instant::now()),
            (None, Some(_)) => reset_since = None,
            _ => {}
        }
        // The reset fires `timeout` ms after both the toxic and the first data are there.
        let reset_at = match (reset_after, reset_since, first_data) {
            (Some(ms), Some(since), Some(data)) => {
                Some(since.max(data) + Duration::from_millis(ms))
            }
            _ => None,
        };
        if let Some((chunk, arrival)) = held.take()
            && timeout.is_none()
            && reset_after.is_none()
        {
            match pass_chunk(
                chunk,
                arrival,
                &active,
                &mut to,
                &mut sent,
                &link,
                &mut toxics,
            )
            .await
            {
                Passed::Yes => {}
                Passed::Held(chunk) => held = Some((chunk, arrival)),
                Passed::LinkOver => break,
            }
            continue;
        }
        tokio::select! {
            _ = link.token.cancelled() => break,
            changed = toxics.changed() => if changed.is_err() { break },
            _ = sleep_until_opt(close_at) => { link.token.cancel(); break }
            _ = sleep_until_opt(reset_at) => { link.reset(); break }
            item = rx.recv(), if held.is_none() => {
                let Some((chunk, arrival)) = item else {
                    // The source closed: maybe slowly, then the whole link.
                    if let Some(delay) = active.iter().find_map(|t| match t.kind { ToxicKind::SlowClose { delay } => Some(delay), _ => None }) {
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_millis(delay)) => {}
                            _ = link.token.cancelled() => {}
                        }
                    }
                    link.token.cancel();
                    break;
                };
                if first_data.is_none() {
                    first_data = Some(Instant::now());
                    if active.iter().any(|t| matches!(t.kind, ToxicKind::ResetPeer { timeout: 0 })) {
                        link.reset();
                        break;
                    }
                    if active.iter().any(|t| matches!(t.kind, ToxicKind::ResetPeer { .. })) {
                        continue; // re-arm timers with the first data time
                    }
                }
                if timeout.is_some() || reset_after.is_some() {
                    // A timeout toxic swallows everything; so does a pending reset
                    // (Toxiproxy forwards nothing once reset_peer holds the data).
                    continue;
                }
                match pass_chunk(chunk, arrival, &active, &mut to, &mut sent, &link, &mut toxics).await {
                    Passed::Yes => {}
                    Passed::Held(chunk) => held = Some((chunk, arrival)),
                    Passed::LinkOver => break,
                }
            }
        }
    }
    reader.abort();
    if link.was_reset.load(Ordering::SeqCst) {
        // Dropping a write half sends a FIN; after a reset only the RST may go out.
        to.forget();
    } else {
        let _ = to.shutdown().await;
    }
}

/// What became of a chunk.
enum Passed {
    /// Written.
    Yes,
    /// Held back by a bandwidth of 0 until the toxics changed: try again.
    Held(Bytes),
    /// The link is over.
    LinkOver,
}

/// Apply latency, limit_data, bandwidth and slicer to one chunk and write it.
async fn pass_chunk(
    chunk: Bytes,
    arrival: Instant,
    active: &[Toxic],
    to: &mut OwnedWriteHalf,
    sent: &mut u64,
    link: &Link,
    toxics: &mut watch::Receiver<Vec<Toxic>>,
) -> Passed {
    let mut chunk = chunk;
    let mut close_after = false;
    for toxic in active {
        match toxic.kind {
            ToxicKind::Latency { latency, jitter } => {
                let jitter = jitter as i64;
                let offset = if jitter > 0 {
                    rand::rng().random_range(-jitter..=jitter)
                } else {
                    0
                };
                let delay = Duration::from_millis((latency as i64 + offset).max(0) as u64);
                tokio::select! {
                    _ = tokio::time::sleep_until(arrival + delay) => {}
                    _ = link.token.cancelled() => return Passed::LinkOver,
                }
            }
            ToxicKind::LimitData { bytes } => {
                let room = bytes.saturating_sub(*sent);
                if (chunk.len() as u64) >= room {
                    chunk.truncate(room as usize);
                    close_after = true;
                }
            }
            _ => {}
        }
    }
    let bandwidth = active.iter().find_map(|t| match t.kind {
        ToxicKind::Bandwidth { rate } => Some(rate),
        _ => None,
    });
    if bandwidth == Some(0) {
        // Nothing passes until the toxic changes or goes.
        tokio::select! {
            _ = toxics.changed() => {}
            _ = link.token.cancelled() => return Passed::LinkOver,
        }
        return Passed::Held(chunk);
    }
    let slicer = active.iter().find_map(|t| match t.kind {
        ToxicKind::Slicer {
            average_size,
            size_variation,
            delay,
        } => Some((average_size, size_variation, delay)),
        _ => None,
    });
    let pieces: Vec<Bytes> = match slicer {
        Some((average, variation, _)) => {
            let sizes = slice_sizes(chunk.len(), average, variation, |n| {
                rand::rng().random_range(0..n.max(1))
            });
            let mut at = 0;
            sizes
                .into_iter()
                .map(|size| {
                    let piece = chunk.slice(at..at + size);
                    at += size;
                    piece
                })
                .collect()
        }
        None => match bandwidth {
            // Smooth the rate: pieces of at most 1/10 s worth of bytes.
            Some(rate) => {
                let step = ((rate * 100) as usize).max(1);
                (0..chunk.len())
                    .step_by(step)
                    .map(|at| chunk.slice(at..(at + step).min(chunk.len())))
                    .collect()
            }
            None => vec![chunk],
        },
    };
    let count = pieces.len();
    for (i, piece) in pieces.into_iter().enumerate() {
        if let Some(rate) = bandwidth {
            let wait = Duration::from_secs_f64(piece.len() as f64 / (rate as f64 * 1000.0));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = link.token.cancelled() => return Passed::LinkOver,
            }
        }
        let written = tokio::select! {
            written = to.write_all(&piece) => written.is_ok(),
            _ = link.token.cancelled() => return Passed::LinkOver,
        };
        if !written {
            link.token.cancel();
            return Passed::LinkOver;
        }
        *sent += piece.len() as u64;
        if let Some((_, _, delay)) = slicer
            && i + 1 < count
            && delay > 0
        {
            tokio::time::sleep(Duration::from_micros(delay)).await;
        }
    }
    let _ = to.flush().await;
    if close_after {
        link.token.cancel();
        return Passed::LinkOver;
    }
    Passed::Yes
}
