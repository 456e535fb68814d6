//! The headers a run adds to every HTTP request it sends its target (`run
//! --header 'X-Api-Key: ...'`, `--bearer-token`, `MCP_HARNESS_BEARER_TOKEN`):
//! checked once, before any case, and sent as the HTTP client's default
//! headers, so a request that sets one of them itself (a scenario's raw step,
//! a task intruder's token) sends its own instead. Their values are secrets:
//! they are marked sensitive, never printed, and a transcript keeps of them
//! only what it keeps of any request (`Authorization` as a fingerprint, other
//! headers not at all).

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};

/// The headers the harness sets itself on the requests it makes: a run may
/// not replace them (the cases' rules are about them).
const HARNESS_HEADERS: [&str; 9] = [
    "accept",
    "content-type",
    "content-length",
    "host",
    "last-event-id",
    "mcp-method",
    "mcp-name",
    "mcp-protocol-version",
    "mcp-session-id",
];

/// Why a `--header` or `--bearer-token` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// No `:` between name and value.
    #[error("--header `{0}` is not `Name: value` (hint: --header 'X-Api-Key: abc')")]
    NoColon(String),
    /// The name is not an HTTP header name.
    #[error(
        "--header name `{0}` is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)"
    )]
    BadName(String),
    /// The value has characters a header cannot carry (the value is not shown).
    #[error(
        "the value of --header `{0}` cannot be sent in an HTTP header (a line break or a control character?)"
    )]
    BadValue(String),
    /// The harness sets this header itself.
    #[error(
        "--header `{0}`: the harness sets this header itself on every request (the cases judge it)"
    )]
    Reserved(String),
    /// Two credentials for one header.
    #[error(
        "`Authorization` is given twice (by --bearer-token or MCP_HARNESS_BEARER_TOKEN, and by --header): keep one"
    )]
    AuthorizationTwice,
    /// The same name twice.
    #[error("--header `{0}` is given twice")]
    Twice(String),
}

/// The headers of one run, ready to send.
#[derive(Clone, Default)]
pub struct TargetHeaders {
    headers: HeaderMap,
}

impl std::fmt::Debug for TargetHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: the values are credentials.
        f.debug_list().entries(self.names()).finish()
    }
}

impl TargetHeaders {
    /// No headers.
    pub fn none() -> Self {
        Self::default()
    }

    /// From `--header` lines (`Name: value`) and a bearer token.
    pub fn parse(lines: &[String], bearer_token: Option<&str>) -> Result<Self, HeaderError> {
        let mut headers = HeaderMap::new();
        for line in lines {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| HeaderError::NoColon(line.clone()))?;
            let name = name.trim();
            let parsed = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| HeaderError::BadName(name.to_owned()))?;
            if HARNESS_HEADERS.contains(&parsed.as_str()) {
                return Err(HeaderError::Reserved(name.to_owned()));
            }
            let mut value = HeaderValue::from_str(value.trim())
                .map_err(|_| HeaderError::BadValue(name.to_owned()))?;
            value.set_sensitive(true);
            if headers.insert(parsed, value).is_some() {
                return Err(HeaderError::Twice(name.to_owned()));
            }
        }
        if let Some(token) = bearer_token {
            if headers.contains_key(AUTHORIZATION) {
                return Err(HeaderError::AuthorizationTwice);
            }
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.trim()))
                .map_err(|_| HeaderError::BadValue("Authorization".to_owned()))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        Ok(Self { headers })
    }

    /// Whether they carry a credential (`Authorization`).
    pub fn has_authorization(&self) -> bool {
        self.headers.contains_key(AUTHORIZATION)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// Their names, lower case, in a stable order.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.headers.keys().map(|n| n.to_string()).collect();
        names.sort();
        names
    }

    /// The headers, for an HTTP client's defaults.
    pub fn map(&self) -> HeaderMap {
        self.headers.clone()
    }

    /// An HTTP client (no proxy) that sends these on every request that does
    /// not set the same header itself.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .default_headers(self.map())
            .build()
            .expect("a plain HTTP client always builds")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_a_token_parse_and_never_show_their_values() {
        let headers = TargetHeaders::parse(
            &["X-Api-Key:  secret-key-1 ".to_owned()],
            Some("secret-token-2"),
        )
        .unwrap();
        assert_eq!(headers.names(), ["authorization", "x-api-key"]);
        let map = headers.map();
        assert_eq!(map["x-api-key"], "secret-key-1");
        assert_eq!(map["authorization"], "Bearer secret-token-2");
        assert!(map.values().all(HeaderValue::is_sensitive));
        let shown = format!("{headers:?} {map:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[test]
    fn bad_headers_are_refused_without_showing_the_value() {
        let refused = |line: &str, token: Option<&str>| {
            TargetHeaders::parse(&[line.to_owned()], token).unwrap_err()
        };
        assert_eq!(
            refused("X-Api-Key secret", None),
            HeaderError::NoColon("X-Api-Key secret".into())
        );
        assert_eq!(
            refused("X Api: v", None),
            HeaderError::BadName("X Api".into())
        );
        let bad = refused("X-Key: a\u{7}secret", None);
        assert_eq!(bad, HeaderError::BadValue("X-Key".into()));
        assert!(!bad.to_string().contains("secret"));
        assert_eq!(
            refused("mcp-session-id: 1", None),
            HeaderError::Reserved("mcp-session-id".into())
        );
        assert_eq!(
            refused("Authorization: Basic x", Some("t")),
            HeaderError::AuthorizationTwice
        );
        assert_eq!(
            TargetHeaders::parse(&["A: 1".to_owned(), "a: 2".to_owned()], None).unwrap_err(),
            HeaderError::Twice("a".into())
        );
    }
}
