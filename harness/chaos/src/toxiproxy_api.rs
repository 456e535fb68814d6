//! A Toxiproxy-compatible REST API over our own [`TcpProxy`]s, so existing
//! Toxiproxy clients (toxiproxy-rust, the Go and Ruby clients, curl scripts)
//! drive the harness's TCP faults unchanged.
//!
//! The subset: `GET /version`, `GET|POST /proxies`, `POST /populate`,
//! `GET|POST|DELETE /proxies/{name}`, `GET|POST /proxies/{name}/toxics`,
//! `GET|POST|DELETE /proxies/{name}/toxics/{toxic}`, `POST /reset`. Errors are
//! `{"error": "...", "status": N}` with Toxiproxy's messages and statuses.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::tcp_proxy::{TcpProxy, ToxicChangeError};
use crate::toxics::{Toxic, ToxicKind};

/// The version reported by `GET /version`.
pub const API_VERSION: &str = "2.9.0-mcp-harness";

/// Why the registry could not create or reset a proxy.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The proxy's listening address could not be bound.
    #[error("listen tcp {listen}: {cause}")]
    Listen {
        /// The address it was to listen on.
        listen: String,
        /// What went wrong.
        cause: std::io::Error,
    },
    /// A proxy could not be enabled again.
    #[error("{0}")]
    Enable(std::io::Error),
}

/// All proxies managed through the API.
#[derive(Clone, Default)]
pub struct ProxyRegistry {
    proxies: Arc<Mutex<BTreeMap<String, TcpProxy>>>,
}

struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.0,
            axum::Json(json!({"error": self.1, "status": self.0.as_u16()})),
        )
            .into_response()
    }
}

fn not_found_proxy() -> ApiError {
    ApiError(StatusCode::NOT_FOUND, "proxy not found".into())
}

fn parse_body(bytes: &Bytes) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("bad request body: {e}")))
}

fn field<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

impl ProxyRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Create a proxy (what `POST /proxies` does).
    pub async fn create(
        &self,
        name: &str,
        listen: &str,
        upstream: &str,
        enabled: bool,
    ) -> Result<TcpProxy, RegistryError> {
        let proxy = TcpProxy::start(name, listen, upstream)
            .await
            .map_err(|cause| RegistryError::Listen {
                listen: listen.to_owned(),
                cause,
            })?;
        if !enabled {
            let _ = proxy.set_enabled(false).await;
        }
        self.proxies
            .lock()
            .await
            .insert(name.to_owned(), proxy.clone());
        Ok(proxy)
    }

    /// The proxy named `name`.
    pub async fn get(&self, name: &str) -> Option<TcpProxy> {
        self.proxies.lock().await.get(name).cloned()
    }

    /// Remove every toxic and enable every proxy.
    pub async fn reset(&self) -> Result<(), RegistryError> {
        for proxy in self.proxies.lock().await.values() {
            proxy.clear_toxics();
            proxy
                .set_enabled(true)
                .await
                .map_err(RegistryError::Enable)?;
        }
        Ok(())
    }

    /// Serve the API on `addr`; returns the bound address.
    pub async fn serve(
        self,
        addr: SocketAddr,
    ) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let app = self.router();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok((bound, task))
    }

    /// The API as an axum router.
    pub fn router(self) -> Router {
        Router::new()
            .route("/version", get(version))
            .route("/reset", post(reset))
            .route("/populate", post(populate))
            .route("/proxies", get(list_proxies).post(create_proxy))
            .route(
                "/proxies/{name}",
                get(show_proxy)
                    .post(update_proxy)
                    .patch(update_proxy)
                    .delete(delete_proxy),
            )
            .route(
                "/proxies/{name}/toxics",
                get(list_toxics).post(create_toxic),
            )
            .route(
                "/proxies/{name}/toxics/{toxic}",
                get(show_toxic)
                    .post(update_toxic)
                    .patch(update_toxic)
                    .delete(delete_toxic),
            )
            .layer(axum::middleware::from_fn(refuse_browsers))
            .with_state(self)
    }
}

async fn refuse_browsers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let browser = request
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ua.starts_with("Mozilla/"));
    if browser {
        return (StatusCode::FORBIDDEN, "User agent not allowed").into_response();
    }
    next.run(request).await
}

async fn version() -> Response {
    axum::Json(json!({"version": API_VERSION})).into_response()
}

async fn reset(State(registry): State<ProxyRegistry>) -> Result<StatusCode, ApiError> {
    registry
        .reset()
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_proxies(State(registry): State<ProxyRegistry>) -> Response {
    let proxies = registry.proxies.lock().await;
    let map: serde_json::Map<String, Value> = proxies
        .iter()
        .map(|(name, p)| (name.clone(), p.to_json()))
        .collect();
    axum::Json(Value::Object(map)).into_response()
}

async fn create_proxy(
    State(registry): State<ProxyRegistry>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let name = field(&body, "name").ok_or_else(|| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "missing required field: name".into(),
        )
    })?;
    let upstream = field(&body, "upstream").ok_or_else(|| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "missing required field: upstream".into(),
        )
    })?;
    let listen = field(&body, "listen").unwrap_or("127.0.0.1:0");
    let enabled = body.get("enabled").and_then(Value::as_bool).unwrap_or(true);
    if registry.get(name).await.is_some() {
        return Err(ApiError(
            StatusCode::CONFLICT,
            "proxy already exists".into(),
        ));
    }
    let proxy = registry
        .create(name, listen, upstream, enabled)
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok((StatusCode::CREATED, axum::Json(proxy.to_json())).into_response())
}

async fn populate(
    State(registry): State<ProxyRegistry>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let entries = body.as_array().ok_or_else(|| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "bad request body: expected an array of proxies".into(),
        )
    })?;
    for (at, entry) in entries.iter().enumerate() {
        for required in ["name", "upstream"] {
            if field(entry, required).is_none() {
                return Err(ApiError(
                    StatusCode::BAD_REQUEST,
                    format!("missing required field: {required} at proxy {}", at + 1),
                ));
            }
        }
    }
    let mut created = Vec::new();
    for entry in entries {
        let name = field(entry, "name").unwrap_or_default();
        let upstream = field(entry, "upstream").unwrap_or_default();
        let listen = field(entry, "listen").unwrap_or("127.0.0.1:0");
        let enabled = entry
            .get("enabled")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        if let Some(existing) = registry.get(name).await {
            let same_listen = listen.ends_with(":0") || existing.listen().to_string() == listen;
            if same_listen && existing.upstream() == upstream {
                created.push(existing.to_json());
                continue;
            }
            existing.shutdown();
            registry.proxies.lock().await.remove(name);
        }
        let proxy = registry
            .create(name, listen, upstream, enabled)
            .await
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        created.push(proxy.to_json());
    }
    Ok((StatusCode::CREATED, axum::Json(json!({"proxies": created}))).into_response())
}

async fn show_proxy(
    State(registry): State<ProxyRegistry>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let proxy = registry.get(&name).await.ok_or_else(not_found_proxy)?;
    Ok(axum::Json(proxy.to_json()).into_response())
}

async fn update_proxy(
    State(registry): State<ProxyRegistry>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let proxy = registry.get(&name).await.ok_or_else(not_found_proxy)?;
    let listen = field(&body, "listen").map(str::to_owned);
    let upstream = field(&body, "upstream").map(str::to_owned);
    let enabled = body
        .get("enabled")
        .and_then(Value::as_bool)
        .unwrap_or(proxy.enabled());
    let moved = listen
        .as_deref()
        .is_some_and(|l| l != proxy.listen().to_string())
        || upstream.as_deref().is_some_and(|u| u != proxy.upstream());
    let proxy = if moved {
        let toxics = proxy.toxics();
        proxy.shutdown();
        let listen = listen.unwrap_or_else(|| proxy.listen().to_string());
        let upstream = upstream.unwrap_or_else(|| proxy.upstream().to_owned());
        let fresh = registry
            .create(&name, &listen, &upstream, enabled)
            .await
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        for toxic in toxics {
            let _ = fresh.add_toxic(toxic);
        }
        fresh
    } else {
        proxy
            .set_enabled(enabled)
            .await
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        proxy
    };
    Ok(axum::Json(proxy.to_json()).into_response())
}

async fn delete_proxy(
    State(registry): State<ProxyRegistry>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let proxy = registry
        .proxies
        .lock()
        .await
        .remove(&name)
        .ok_or_else(not_found_proxy)?;
    proxy.shutdown();
    Ok(StatusCode::NO_CONTENT)
}

async fn list_toxics(
    State(registry): State<ProxyRegistry>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let proxy = registry.get(&name).await.ok_or_else(not_found_proxy)?;
    Ok(axum::Json(
        proxy
            .toxics()
            .iter()
            .map(Toxic::to_json)
            .collect::<Vec<_>>(),
    )
    .into_response())
}

fn change_error(e: ToxicChangeError) -> ApiError {
    match e {
        ToxicChangeError::Exists => ApiError(StatusCode::CONFLICT, e.to_string()),
        ToxicChangeError::NotFound => ApiError(StatusCode::NOT_FOUND, e.to_string()),
    }
}

async fn create_toxic(
    State(registry): State<ProxyRegistry>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let proxy = registry.get(&name).await.ok_or_else(not_found_proxy)?;
    let body = parse_body(&body)?;
    let toxic =
        Toxic::from_json(&body).map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.to_string()))?;
    let json = toxic.to_json();
    proxy.add_toxic(toxic).map_err(change_error)?;
    Ok(axum::Json(json).into_response())
}

async fn show_toxic(
    State(registry): State<ProxyRegistry>,
    Path((name, toxic)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let proxy = registry.get(&name).await.ok_or_else(not_found_proxy)?;
    let found = proxy
        .toxics()
        .into_iter()
        .find(|t| t.name == toxic)
        .ok_or_else(|| change_error(ToxicChangeError::NotFound))?;
    Ok(axum::Json(found.to_json()).into_response())
}

async fn update_toxic(
    State(registry): State<ProxyRegistry>,
    Path((name, toxic)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let proxy = registry.get(&name).await.ok_or_else(not_found_proxy)?;
    let current = proxy
        .toxics()
        .into_iter()
        .find(|t| t.name == toxic)
        .ok_or_else(|| change_error(ToxicChangeError::NotFound))?;
    let body = parse_body(&body)?;
    let mut attributes = current
        .kind
        .attributes()
        .as_object()
        .cloned()
        .unwrap_or_default();
    if let Some(changes) = body.get("attributes").and_then(Value::as_object) {
        attributes.extend(changes.clone());
    }
    let kind = ToxicKind::from_attributes(current.kind.type_name(), &attributes)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.to_string()))?;
    let toxicity = match body.get("toxicity") {
        None | Some(Value::Null) => current.toxicity,
        Some(v) => v
            .as_f64()
            .filter(|t| (0.0..=1.0).contains(t))
            .ok_or_else(|| {
                ApiError(
                    StatusCode::BAD_REQUEST,
                    "bad request body: toxicity must be between 0 and 1".into(),
                )
            })? as f32,
    };
    let updated = proxy
        .update_toxic(&toxic, kind, toxicity)
        .map_err(change_error)?;
    Ok(axum::Json(updated.to_json()).into_response())
}

async fn delete_toxic(
    State(registry): State<ProxyRegistry>,
    Path((name, toxic)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let proxy = registry.get(&name).await.ok_or_else(not_found_proxy)?;
    proxy.remove_toxic(&toxic).map_err(change_error)?;
    Ok(StatusCode::NO_CONTENT)
}
