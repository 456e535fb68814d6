//! [`ChaosStack`]: the whole chaos path in front of one server, assembled:
//! client -> recording HTTP proxy (SSE faults) -> TCP proxy `mcp` (toxics) -> server.
//!
//! The TCP proxy is ours, in process, unless a real Toxiproxy is named (then the
//! toxics are set on it). Its REST API can be served for outside tools.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use std::collections::HashMap;

use mcp_harness_wire::{Fault, FaultMark, ToxicType};

use crate::faults::{FaultPlan, FaultRule};
use crate::http_proxy::{ProxyConfig, ProxyError, RecordingProxy};
use crate::recorder::{RecordFileError, RecordLimits, Recorder};
use crate::toxic_control::{ControlError, RemoteToxiproxy, ToxicControl};
use crate::toxics::Toxic;
use crate::toxiproxy_api::ProxyRegistry;

/// Name of the TCP proxy in front of the server.
pub const TCP_PROXY_NAME: &str = "mcp";

/// How to assemble the stack.
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// The server's base URL, `http://host:port`.
    pub upstream: String,
    /// Where clients connect (the recording proxy).
    pub listen: SocketAddr,
    /// Serve the Toxiproxy-compatible API here (local TCP proxies only).
    pub api: Option<SocketAddr>,
    /// Also write the transcript to this JSON Lines file.
    pub record: Option<PathBuf>,
    /// Limits and timeouts of the recording proxy (its `listen`/`upstream` are set here).
    pub proxy: ProxyConfig,
    /// Use this Toxiproxy server for the TCP layer instead of our own.
    pub remote: Option<String>,
    /// How much of the transcript is kept in memory.
    pub record_limits: RecordLimits,
}

impl StackConfig {
    /// A stack in front of `upstream` on an ephemeral loopback port.
    pub fn new(upstream: &str) -> Self {
        Self {
            upstream: upstream.to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            api: None,
            record: None,
            proxy: ProxyConfig::default(),
            remote: None,
            record_limits: RecordLimits::default(),
        }
    }
}

/// Why the stack could not start.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// The upstream URL is not `http://host:port[/...]`.
    #[error("upstream `{0}` is not an http://host:port URL")]
    BadUpstream(String),
    /// The recording proxy failed.
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    /// The TCP layer failed.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// The transcript file could not be written.
    #[error(transparent)]
    Record(#[from] RecordFileError),
    /// The API could not be served.
    #[error("cannot serve the toxiproxy API on `{addr}`: {source}")]
    Api {
        /// Where.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

enum TcpLayer {
    Local(ProxyRegistry),
    Remote(RemoteToxiproxy),
}

/// A running chaos stack.
pub struct ChaosStack {
    http: RecordingProxy,
    tcp: TcpLayer,
    api: Option<SocketAddr>,
    api_task: Option<AbortOnDrop>,
    /// The toxics added through [`Self::add_toxic`], by name.
    toxics: std::sync::Mutex<HashMap<String, ToxicType>>,
}

/// A task that stops when its handle is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `host:port` of an `http://host:port/...` URL.
pub fn authority_of(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split('/').next()?;
    (!authority.is_empty()).then_some(authority)
}

impl ChaosStack {
    /// Start every layer.
    pub async fn start(config: StackConfig) -> Result<Self, StackError> {
        let authority = authority_of(&config.upstream)
            .ok_or_else(|| StackError::BadUpstream(config.upstream.clone()))?;
        let recorder = Recorder::with_limits(&config.upstream, config.record_limits);
        if let Some(path) = &config.record {
            recorder.write_to(path)?;
        }
        let (tcp, tcp_listen) = match &config.remote {
            Some(url) => {
                let remote = RemoteToxiproxy::new(url);
                let listen = remote
                    .create_proxy(TCP_PROXY_NAME, "127.0.0.1:0", authority)
                    .await?;
                (TcpLayer::Remote(remote), listen)
            }
            None => {
                let registry = ProxyRegistry::new();
                let listen = registry
                    .create_proxy(TCP_PROXY_NAME, "127.0.0.1:0", authority)
                    .await?;
                (TcpLayer::Local(registry), listen)
            }
        };
        let (api, api_task) = match (&tcp, config.api) {
            (TcpLayer::Local(registry), Some(addr)) => {
                let (bound, task) = registry
                    .clone()
                    .serve(addr)
                    .await
                    .map_err(|source| StackError::Api { addr, source })?;
                (Some(bound), Some(AbortOnDrop(task)))
            }
            _ => (None, None),
        };
        let http = RecordingProxy::start(
            ProxyConfig {
                listen: config.listen,
                upstream: format!("http://{tcp_listen}"),
                ..config.proxy
            },
            recorder,
        )
        .await?;
        Ok(Self {
            http,
            tcp,
            api,
            api_task,
            toxics: std::sync::Mutex::default(),
        })
    }

    /// Where clients connect: `http://ADDR`.
    pub fn base_url(&self) -> String {
        self.http.base_url()
    }

    /// The recording proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.http.addr()
    }

    /// The Toxiproxy API address, when served.
    pub fn api_addr(&self) -> Option<SocketAddr> {
        self.api
    }

    /// The SSE faults in force.
    pub fn faults(&self) -> &Arc<FaultPlan> {
        self.http.faults()
    }

    /// The recorder.
    pub fn recorder(&self) -> &Arc<Recorder> {
        self.http.recorder()
    }

    /// Put an SSE fault rule in force (see [`RecordingProxy::add_fault`]).
    pub fn add_fault(&self, rule: FaultRule) -> u32 {
        self.http.add_fault(rule)
    }

    /// Take out a stream fault rule by the id `add_fault` gave.
    pub fn remove_fault(&self, id: u32) {
        self.http.remove_fault(id)
    }

    /// Add a TCP toxic in front of the server.
    pub async fn add_toxic(&self, toxic: &Toxic) -> Result<(), ControlError> {
        let kind = toxic.kind.toxic_type();
        self.lock_toxics().insert(toxic.name.clone(), kind);
        self.recorder().fault(
            FaultMark::fired(None, None),
            &Fault::Tcp {
                toxic: kind,
                name: toxic.name.clone(),
            },
            format!("toxic {} added: {}", toxic.name, toxic.to_json()),
        );
        match &self.tcp {
            TcpLayer::Local(registry) => registry.add_toxic(TCP_PROXY_NAME, toxic).await,
            TcpLayer::Remote(remote) => remote.add_toxic(TCP_PROXY_NAME, toxic).await,
        }
    }

    /// Remove a TCP toxic (one this stack added is recorded as cleared).
    pub async fn remove_toxic(&self, name: &str) -> Result<(), ControlError> {
        if let Some(kind) = self.lock_toxics().remove(name) {
            self.recorder().fault(
                FaultMark::cleared(None),
                &Fault::Tcp {
                    toxic: kind,
                    name: name.to_owned(),
                },
                format!("toxic {name} removed"),
            );
        }
        match &self.tcp {
            TcpLayer::Local(registry) => registry.remove_toxic(TCP_PROXY_NAME, name).await,
            TcpLayer::Remote(remote) => remote.remove_toxic(TCP_PROXY_NAME, name).await,
        }
    }

    fn lock_toxics(&self) -> std::sync::MutexGuard<'_, HashMap<String, ToxicType>> {
        self.toxics.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take the network to the server down, or bring it up.
    pub async fn set_network(&self, up: bool) -> Result<(), ControlError> {
        let (mark, detail) = if up {
            (FaultMark::cleared(None), "network up")
        } else {
            (FaultMark::fired(None, None), "network down")
        };
        self.recorder().fault(mark, &Fault::Network, detail);
        match &self.tcp {
            TcpLayer::Local(registry) => registry.set_enabled(TCP_PROXY_NAME, up).await,
            TcpLayer::Remote(remote) => remote.set_enabled(TCP_PROXY_NAME, up).await,
        }
    }

    /// Stop every layer.
    pub async fn shutdown(self) {
        if let Some(task) = &self.api_task {
            task.0.abort();
        }
        if let TcpLayer::Local(registry) = &self.tcp
            && let Some(proxy) = registry.get(TCP_PROXY_NAME).await
        {
            proxy.shutdown();
        }
        self.http.shutdown().await;
    }
}
