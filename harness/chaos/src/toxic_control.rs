//! [`ToxicControl`]: how the harness sets up TCP proxies and toxics, whether on
//! its own in-process proxies ([`ProxyRegistry`]) or on a real Toxiproxy server
//! named by `TOXIPROXY_URL` ([`RemoteToxiproxy`]).

use std::time::Duration;

use serde_json::{Value, json};

use crate::toxics::Toxic;
use crate::toxiproxy_api::ProxyRegistry;

/// A Toxiproxy operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The server answered with an error status.
    #[error("toxiproxy {operation}: HTTP {status}: {message}")]
    Status {
        /// What was attempted.
        operation: String,
        /// The HTTP status.
        status: u16,
        /// The server's `error` message (or body).
        message: String,
    },
    /// The server could not be reached or answered garbage.
    #[error(
        "toxiproxy {operation}: {message} (hint: is TOXIPROXY_URL right and the server running?)"
    )]
    Transport {
        /// What was attempted.
        operation: String,
        /// What went wrong.
        message: String,
    },
    /// The in-process proxies refused.
    #[error("{0}")]
    Local(String),
}

/// Operations the harness needs from a Toxiproxy, local or remote.
#[allow(async_fn_in_trait)]
pub trait ToxicControl {
    /// Create a proxy `name` listening on `listen` (port 0: any) forwarding to
    /// `upstream`; returns the bound listen address.
    async fn create_proxy(
        &self,
        name: &str,
        listen: &str,
        upstream: &str,
    ) -> Result<String, ControlError>;
    /// Add a toxic to proxy `name`.
    async fn add_toxic(&self, name: &str, toxic: &Toxic) -> Result<(), ControlError>;
    /// Remove toxic `toxic` from proxy `name`.
    async fn remove_toxic(&self, name: &str, toxic: &str) -> Result<(), ControlError>;
    /// Take proxy `name` down or bring it up.
    async fn set_enabled(&self, name: &str, enabled: bool) -> Result<(), ControlError>;
    /// Remove every toxic and enable every proxy.
    async fn reset(&self) -> Result<(), ControlError>;
}

impl ToxicControl for ProxyRegistry {
    async fn create_proxy(
        &self,
        name: &str,
        listen: &str,
        upstream: &str,
    ) -> Result<String, ControlError> {
        let proxy = self
            .create(name, listen, upstream, true)
            .await
            .map_err(|e| ControlError::Local(e.to_string()))?;
        Ok(proxy.listen().to_string())
    }

    async fn add_toxic(&self, name: &str, toxic: &Toxic) -> Result<(), ControlError> {
        let proxy = self
            .get(name)
            .await
            .ok_or_else(|| ControlError::Local(format!("proxy `{name}` not found")))?;
        proxy
            .add_toxic(toxic.clone())
            .map_err(|e| ControlError::Local(e.to_string()))
    }

    async fn remove_toxic(&self, name: &str, toxic: &str) -> Result<(), ControlError> {
        let proxy = self
            .get(name)
            .await
            .ok_or_else(|| ControlError::Local(format!("proxy `{name}` not found")))?;
        proxy
            .remove_toxic(toxic)
            .map_err(|e| ControlError::Local(e.to_string()))
    }

    async fn set_enabled(&self, name: &str, enabled: bool) -> Result<(), ControlError> {
        let proxy = self
            .get(name)
            .await
            .ok_or_else(|| ControlError::Local(format!("proxy `{name}` not found")))?;
        proxy
            .set_enabled(enabled)
            .await
            .map_err(|e| ControlError::Local(e.to_string()))
    }

    async fn reset(&self) -> Result<(), ControlError> {
        ProxyRegistry::reset(self)
            .await
            .map_err(|e| ControlError::Local(e.to_string()))
    }
}

/// A real Toxiproxy server's REST API. Unlike toxiproxy-rust, every error
/// status is an error, and results are read back from the server's answers.
#[derive(Clone)]
pub struct RemoteToxiproxy {
    base: String,
    http: reqwest::Client,
}

impl RemoteToxiproxy {
    /// A client for the API at `base` (e.g. `http://127.0.0.1:8474`).
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("a plain HTTP client always builds"),
        }
    }

    /// From `TOXIPROXY_URL`, when it is set.
    pub fn from_env() -> Option<Self> {
        std::env::var("TOXIPROXY_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .map(|u| Self::new(&u))
    }

    async fn call(
        &self,
        operation: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ControlError> {
        let transport = |message: String| ControlError::Transport {
            operation: operation.to_owned(),
            message,
        };
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| transport(e.to_string()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| transport(e.to_string()))?;
        let json: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text.clone()))
        };
        if !status.is_success() {
            let message = json
                .get("error")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or(text);
            return Err(ControlError::Status {
                operation: operation.to_owned(),
                status: status.as_u16(),
                message,
            });
        }
        Ok(json)
    }
}

impl ToxicControl for RemoteToxiproxy {
    async fn create_proxy(
        &self,
        name: &str,
        listen: &str,
        upstream: &str,
    ) -> Result<String, ControlError> {
        let body = json!({"name": name, "listen": listen, "upstream": upstream, "enabled": true});
        let created = self
            .call(
                "create proxy",
                reqwest::Method::POST,
                "/proxies",
                Some(body),
            )
            .await?;
        created
            .get("listen")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ControlError::Transport {
                operation: "create proxy".into(),
                message: format!("answer has no `listen`: {created}"),
            })
    }

    async fn add_toxic(&self, name: &str, toxic: &Toxic) -> Result<(), ControlError> {
        let added = self
            .call(
                "add toxic",
                reqwest::Method::POST,
                &format!("/proxies/{name}/toxics"),
                Some(toxic.to_json()),
            )
            .await?;
        if added.get("name").and_then(Value::as_str) != Some(toxic.name.as_str()) {
            return Err(ControlError::Transport {
                operation: "add toxic".into(),
                message: format!("the server did not confirm toxic `{}`: {added}", toxic.name),
            });
        }
        Ok(())
    }

    async fn remove_toxic(&self, name: &str, toxic: &str) -> Result<(), ControlError> {
        self.call(
            "remove toxic",
            reqwest::Method::DELETE,
            &format!("/proxies/{name}/toxics/{toxic}"),
            None,
        )
        .await
        .map(drop)
    }

    async fn set_enabled(&self, name: &str, enabled: bool) -> Result<(), ControlError> {
        let updated = self
            .call(
                "update proxy",
                reqwest::Method::POST,
                &format!("/proxies/{name}"),
                Some(json!({"enabled": enabled})),
            )
            .await?;
        if updated.get("enabled").and_then(Value::as_bool) != Some(enabled) {
            return Err(ControlError::Transport {
                operation: "update proxy".into(),
                message: format!(
                    "the proxy is not {}: {updated}",
                    if enabled { "up" } else { "down" }
                ),
            });
        }
        Ok(())
    }

    async fn reset(&self) -> Result<(), ControlError> {
        self.call("reset", reqwest::Method::POST, "/reset", None)
            .await
            .map(drop)
    }
}
