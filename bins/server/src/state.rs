//! What every handler can reach: the service, the HTTP settings derived from the configuration, and the
//! metrics.

use std::sync::Arc;

use axum::extract::FromRef;
use natronfx_service::{Config, Service};

use crate::metrics::Metrics;

/// The router's state. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The use cases.
    pub service: Service,
    /// Cookie and address settings.
    pub web: Arc<WebSettings>,
    /// Request and publishing counters for `/metrics`.
    pub metrics: Arc<Metrics>,
}

impl FromRef<AppState> for Service {
    fn from_ref(state: &AppState) -> Service {
        state.service.clone()
    }
}

/// HTTP settings derived once from the configuration.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Mark the session cookie `Secure` (everything but plain http on localhost).
    pub secure_cookies: bool,
    /// Take the client address from `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
    /// The `Content-Security-Policy` of every response.
    pub csp: String,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
}

/// Whether `url` is plain http on a loopback host: the only place session cookies go without `Secure`.
fn plain_http_on_localhost(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    matches!(host, "localhost" | "127.0.0.1" | "::1") || host.starts_with("127.")
}

/// The origin (`scheme://host[:port]`) of a URL.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split('/').next()?;
    (!authority.is_empty()).then(|| format!("{scheme}://{authority}"))
}

impl WebSettings {
    /// Settings for `config`.
    pub fn from_config(config: &Config) -> WebSettings {
        // Slides shown in the dashboard come from the server itself (`/media/...`); the public media
        // origin is allowed too, for links that point there.
        let media = origin(&config.media.public_base_url)
            .map(|o| format!(" {o}"))
            .unwrap_or_default();
        let csp = format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:{media}; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
        );
        WebSettings {
            secure_cookies: !plain_http_on_localhost(&config.server.public_url),
            trust_forwarded_for: config.server.trust_forwarded_for,
            csp,
            max_body_bytes: config.server.max_body_bytes,
        }
    }

    /// The session cookie's name: with `Secure`, the `__Host-` prefix also pins it to this host and `/`.
    pub fn session_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-nfx_session"
        } else {
            "nfx_session"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_secure_except_on_plain_http_localhost() {
        for (url, plain) in [
            ("http://127.0.0.1:8080", true),
            ("http://localhost:3000/", true),
            ("http://[::1]:8080", true),
            ("http://127.0.1.1", true),
            ("https://127.0.0.1:8080", false),
            ("http://publisher.example.com", false),
            ("https://publisher.example.com", false),
            ("http://localhost.example.com", false),
        ] {
            assert_eq!(plain_http_on_localhost(url), plain, "{url}");
        }
        assert_eq!(
            origin("https://cdn.example.com/m/x"),
            Some("https://cdn.example.com".into())
        );
    }
}
