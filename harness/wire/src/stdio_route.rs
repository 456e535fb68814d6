//! Which client request a server's stdio line belongs to. Over HTTP a
//! server message travels on the stream of the POST it relates to; over stdio
//! every message shares one pipe, so the harness (its stdio bridge, and the
//! checks regrouping a stdio transcript) routes each one the same way:
//!
//! 1. a response goes to the open request with its id;
//! 2. progress goes to the open request whose `_meta.progressToken` it names;
//! 3. a list-changed, resource-updated or subscription notification goes to
//!    the latest open `subscriptions/listen`, if there is one;
//! 4. anything else (a request to the client, a log message) goes to the
//!    latest open `tools/call`, else the latest open request of any method;
//! 5. what is left is unrelated (HTTP's standalone GET stream).
//!
//! Pure, no I/O.

use serde_json::Value;

/// Where a server message goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// To the open client request with this JSON-RPC id.
    Request(Value),
    /// To no request.
    Unrelated,
}

/// The client requests still waiting for their response, in the order sent.
#[derive(Debug, Clone, Default)]
pub struct Router {
    open: Vec<OpenRequest>,
}

#[derive(Debug, Clone)]
struct OpenRequest {
    id: Value,
    method: String,
    progress_token: Option<Value>,
}

/// Notifications a `subscriptions/listen` stream carries.
fn is_subscription_notification(method: &str) -> bool {
    method.ends_with("/list_changed")
        || method == "notifications/resources/updated"
        || method.starts_with("notifications/subscriptions/")
}

impl Router {
    /// A router with no request open.
    pub fn new() -> Self {
        Self::default()
    }

    /// The client wrote `message`: a request opens (a notification or a
    /// response to the server opens nothing).
    pub fn client_wrote(&mut self, message: &Value) {
        let (Some(method), Some(id)) = (
            message.get("method").and_then(Value::as_str),
            message.get("id"),
        ) else {
            return;
        };
        self.open.push(OpenRequest {
            id: id.clone(),
            method: method.to_owned(),
            progress_token: message.pointer("/params/_meta/progressToken").cloned(),
        });
    }

    /// The server wrote `message`: where it goes (a response closes its request).
    pub fn server_wrote(&mut self, message: &Value) -> Route {
        let method = message.get("method").and_then(Value::as_str);
        let Some(method) = method else {
            // A response (or something without a method): by id.
            let Some(id) = message.get("id") else {
                return self.latest_call();
            };
            return match self.open.iter().position(|r| &r.id == id) {
                Some(at) => Route::Request(self.open.remove(at).id),
                None => Route::Unrelated,
            };
        };
        if method == "notifications/progress"
            && let Some(token) = message.pointer("/params/progressToken")
            && let Some(open) = self
                .open
                .iter()
                .rev()
                .find(|r| r.progress_token.as_ref() == Some(token))
        {
            return Route::Request(open.id.clone());
        }
        if is_subscription_notification(method)
            && let Some(listen) = self
                .open
                .iter()
                .rev()
                .find(|r| r.method == "subscriptions/listen")
        {
            return Route::Request(listen.id.clone());
        }
        self.latest_call()
    }

    fn latest_call(&self) -> Route {
        let call = self.open.iter().rev().find(|r| r.method == "tools/call");
        let any = self
            .open
            .iter()
            .rev()
            .find(|r| r.method != "subscriptions/listen");
        match call.or(any) {
            Some(open) => Route::Request(open.id.clone()),
            None => Route::Unrelated,
        }
    }

    /// Forget every open request (the server process ended: nothing will
    /// answer them).
    pub fn clear(&mut self) {
        self.open.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn responses_go_by_id_progress_by_token_and_the_rest_to_the_latest_call() {
        let mut router = Router::new();
        router.client_wrote(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "a", "_meta": {"progressToken": "ta"}}}));
        router.client_wrote(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "b", "_meta": {"progressToken": "tb"}}}));
        router.client_wrote(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        let progress_a = json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": "ta", "progress": 1}});
        assert_eq!(router.server_wrote(&progress_a), Route::Request(json!(1)));
        let question =
            json!({"jsonrpc": "2.0", "id": 0, "method": "elicitation/create", "params": {}});
        assert_eq!(router.server_wrote(&question), Route::Request(json!(2)));
        let answer_b = json!({"jsonrpc": "2.0", "id": 2, "result": {}});
        assert_eq!(router.server_wrote(&answer_b), Route::Request(json!(2)));
        assert_eq!(router.server_wrote(&question), Route::Request(json!(1)));
        let answer_a = json!({"jsonrpc": "2.0", "id": 1, "result": {}});
        assert_eq!(router.server_wrote(&answer_a), Route::Request(json!(1)));
        assert_eq!(
            router.server_wrote(&answer_a),
            Route::Unrelated,
            "answered already"
        );
        let log = json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {}});
        assert_eq!(router.server_wrote(&log), Route::Unrelated);
    }

    #[test]
    fn subscription_notifications_go_to_the_listen_request() {
        let mut router = Router::new();
        router.client_wrote(
            &json!({"jsonrpc": "2.0", "id": 5, "method": "subscriptions/listen", "params": {}}),
        );
        router.client_wrote(
            &json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {}}),
        );
        let changed = json!({"jsonrpc": "2.0", "method": "notifications/resources/list_changed"});
        assert_eq!(router.server_wrote(&changed), Route::Request(json!(5)));
        let log = json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {}});
        assert_eq!(router.server_wrote(&log), Route::Request(json!(6)));
        router.clear();
        assert_eq!(router.server_wrote(&changed), Route::Unrelated);
    }
}
