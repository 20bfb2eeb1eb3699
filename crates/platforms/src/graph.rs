//! Shared Graph API plumbing for Instagram and Facebook: configuration, the error envelope and its
//! classification.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::http::{self, CallKind, Raw};
use crate::limiter::{INSTAGRAM_CONTAINERS_PER_DAY, RateLimit};
use crate::{ErrorClass, ErrorDetail, Platform, PlatformError, Result};

/// Configuration of a Graph API adapter (Instagram or Facebook).
#[derive(Debug, Clone)]
pub struct GraphConfig {
    /// Host: `https://graph.instagram.com` (Instagram Login) or `https://graph.facebook.com` (Facebook Login).
    pub base_url: String,
    /// API version path segment, e.g. `v25.0`.
    pub version: String,
    /// Overall timeout of each request.
    pub timeout: Duration,
    /// Connect timeout of each request.
    pub connect_timeout: Duration,
    /// Delay suggested between container status polls.
    pub poll_interval: Duration,
    /// Containers and unpublished photos older than this are recreated instead of reused (they expire at 24 h).
    pub max_reuse_age: Duration,
    /// Client-side limit on Instagram containers per account.
    pub container_limit: RateLimit,
}

impl GraphConfig {
    /// Instagram API with Instagram Login (`graph.instagram.com`).
    pub fn instagram_login() -> Self {
        Self::with_host("https://graph.instagram.com", "v25.0")
    }

    /// Instagram API with Facebook Login, or Facebook Pages (`graph.facebook.com`).
    pub fn facebook_login() -> Self {
        Self::with_host("https://graph.facebook.com", "v25.0")
    }

    /// A configuration for any host and version.
    pub fn with_host(base_url: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            version: version.into(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_secs(10),
            max_reuse_age: Duration::from_secs(23 * 3600),
            container_limit: RateLimit::per_day(INSTAGRAM_CONTAINERS_PER_DAY),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!(
            "{}/{}/{}",
            self.base_url.trim_end_matches('/'),
            self.version.trim_matches('/'),
            path.trim_start_matches('/')
        )
    }
}

/// The Graph `error` object.
#[derive(Debug, Default)]
pub(crate) struct GraphError {
    pub code: Option<i64>,
    pub subcode: Option<i64>,
    pub message: String,
    pub is_transient: bool,
    pub user_title: Option<String>,
    pub user_message: Option<String>,
    pub fbtrace_id: Option<String>,
}

fn int(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_owned)
}

pub(crate) fn parse_error(body: &Value) -> Option<GraphError> {
    let e = body.get("error")?;
    if !e.is_object() {
        return None;
    }
    Some(GraphError {
        code: int(e.get("code")),
        subcode: int(e.get("error_subcode")),
        message: text(e.get("message")).unwrap_or_default(),
        is_transient: e
            .get("is_transient")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        user_title: text(e.get("error_user_title")),
        user_message: text(e.get("error_user_msg")),
        fbtrace_id: text(e.get("fbtrace_id")),
    })
}

/// Classify a Graph error by code and subcode first, then by HTTP status.
pub(crate) fn classify(
    code: Option<i64>,
    subcode: Option<i64>,
    transient: bool,
    status: u16,
    kind: CallKind,
) -> ErrorClass {
    let server_side = if kind == CallKind::CreatePost {
        ErrorClass::OutcomeUnknown
    } else {
        ErrorClass::Retryable
    };
    match (code, subcode) {
        // "Activity restricted": the post may have gone out anyway; verify before anything else.
        (Some(4), Some(2_207_051)) => ErrorClass::OutcomeUnknown,
        (Some(9), Some(2_207_042)) => ErrorClass::RateLimited,
        (Some(4 | 17 | 32 | 341 | 613 | 80001), _) => ErrorClass::RateLimited,
        (Some(102 | 190), _) => ErrorClass::Auth,
        (Some(10), _) => ErrorClass::Auth,
        (Some(c), _) if (200..=299).contains(&c) => ErrorClass::Auth,
        (Some(1 | 2), _) => server_side,
        // Instagram content-publishing codes the reference marks as retryable.
        (Some(-1 | -2), _) | (Some(9004), Some(2_207_052)) | (Some(9007), _) => {
            ErrorClass::Retryable
        }
        (Some(24), Some(2_207_006 | 2_207_008)) => ErrorClass::Retryable,
        (Some(_), _) if transient => server_side,
        (Some(_), _) => match status {
            500..=599 => server_side,
            429 => ErrorClass::RateLimited,
            _ => ErrorClass::Terminal,
        },
        (None, _) => match status {
            429 => ErrorClass::RateLimited,
            401 | 403 => ErrorClass::Auth,
            500..=599 => server_side,
            200..=299 => server_side,
            _ => ErrorClass::Terminal,
        },
    }
}

/// When a throttled caller may try again: `Retry-After`, or the Business Use Case header's
/// `estimated_time_to_regain_access` (minutes).
pub(crate) fn retry_hint(headers: &HeaderMap) -> Option<Duration> {
    if let Some(after) = http::retry_after(headers) {
        return Some(after);
    }
    let usage: Value =
        serde_json::from_str(headers.get("x-business-use-case-usage")?.to_str().ok()?).ok()?;
    let minutes = usage
        .as_object()?
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|entry| int(entry.get("estimated_time_to_regain_access")))
        .max()?;
    (minutes > 0).then(|| Duration::from_secs(u64::try_from(minutes).unwrap_or(0) * 60))
}

/// Decode a Graph success body, or classify its error.
pub(crate) fn decode<T: DeserializeOwned>(
    platform: Platform,
    raw: &Raw,
    kind: CallKind,
) -> Result<T> {
    let body: Option<Value> = serde_json::from_slice(&raw.body).ok();
    let error = body.as_ref().and_then(parse_error);
    if (200..300).contains(&raw.status) && error.is_none() {
        if let Some(Ok(parsed)) = body.map(serde_json::from_value) {
            return Ok(parsed);
        }
        let detail = ErrorDetail {
            http_status: Some(raw.status),
            ..ErrorDetail::new(platform, "the response could not be read")
        };
        let class = if kind == CallKind::CreatePost {
            ErrorClass::OutcomeUnknown
        } else {
            ErrorClass::Retryable
        };
        return Err(PlatformError::classified(class, detail, None));
    }
    let error = error.unwrap_or_else(|| GraphError {
        message: String::from_utf8_lossy(&raw.body)
            .chars()
            .take(300)
            .collect(),
        ..GraphError::default()
    });
    let class = classify(
        error.code,
        error.subcode,
        error.is_transient,
        raw.status,
        kind,
    );
    let detail = ErrorDetail {
        platform: Some(platform),
        http_status: Some(raw.status),
        code: error.code.map(|c| c.to_string()),
        subcode: error.subcode,
        message: error.message,
        user_title: error.user_title,
        user_message: error.user_message,
        trace_id: error.fbtrace_id,
    };
    let retry_after = match class {
        ErrorClass::RateLimited | ErrorClass::Retryable => retry_hint(&raw.headers),
        _ => None,
    };
    Err(PlatformError::classified(class, detail, retry_after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_codes_map_to_the_documented_actions() {
        let read = CallKind::Read;
        assert_eq!(
            classify(Some(190), Some(463), false, 400, read),
            ErrorClass::Auth
        );
        assert_eq!(
            classify(Some(4), None, false, 400, read),
            ErrorClass::RateLimited
        );
        assert_eq!(
            classify(Some(80001), None, false, 400, read),
            ErrorClass::RateLimited
        );
        assert_eq!(
            classify(Some(4), Some(2_207_051), false, 400, CallKind::CreatePost),
            ErrorClass::OutcomeUnknown
        );
        assert_eq!(
            classify(Some(36003), Some(2_207_009), false, 400, read),
            ErrorClass::Terminal
        );
        assert_eq!(
            classify(Some(9), Some(2_207_042), false, 400, read),
            ErrorClass::RateLimited
        );
        assert_eq!(
            classify(Some(9007), Some(2_207_027), false, 400, read),
            ErrorClass::Retryable
        );
        assert_eq!(
            classify(Some(2), None, true, 500, read),
            ErrorClass::Retryable
        );
        assert_eq!(
            classify(Some(1), None, false, 500, CallKind::CreatePost),
            ErrorClass::OutcomeUnknown
        );
        assert_eq!(
            classify(None, None, false, 503, CallKind::CreateHidden),
            ErrorClass::Retryable
        );
    }

    #[test]
    fn business_use_case_header_gives_the_wait() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-business-use-case-usage",
            r#"{"1234":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":7}]}"#
                .parse()
                .expect("header"),
        );
        assert_eq!(retry_hint(&headers), Some(Duration::from_secs(420)));
    }

    #[test]
    fn urls_join_host_version_and_path() {
        let config = GraphConfig::with_host("http://127.0.0.1:9/graph/", "v25.0");
        assert_eq!(
            config.url("/1789/media"),
            "http://127.0.0.1:9/graph/v25.0/1789/media"
        );
    }
}
