//! Who is calling: an API token (`Authorization: Bearer`) or a session cookie; the session cookie itself;
//! the client address; and the CSRF guard every state-changing browser request passes.
//!
//! CSRF defence, in two layers: (1) a request that a browser marks as cross-site (`Sec-Fetch-Site`), or
//! whose `Origin` is not this host, is refused whatever it carries; (2) a request carrying the session
//! cookie must also carry the session's CSRF token, in the `X-CSRF-Token` header or a `csrf_token` form
//! field (URL-encoded or multipart). Bearer-token requests are exempt: a browser never adds that header
//! on its own. Logging in has no session yet, so it relies on the first layer and `SameSite=Lax`.

use std::net::SocketAddr;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Multipart, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use natronfx_service::User;

use crate::ApiError;
use crate::state::{AppState, WebSettings};

/// The header JavaScript and API clients send the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field HTML forms send the CSRF token in.
pub const CSRF_FIELD: &str = "csrf_token";

/// The value of cookie `name`, if the request has it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The session id the browser sent, if any.
pub fn session_secret<'a>(headers: &'a HeaderMap, web: &WebSettings) -> Option<&'a str> {
    cookie(headers, web.session_cookie())
}

/// `Set-Cookie` for a new session: `HttpOnly`, `SameSite=Lax`, `Secure` unless plain http on localhost.
pub fn session_cookie(web: &WebSettings, secret: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if web.secure_cookies { "; Secure" } else { "" };
    let value = format!(
        "{}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}",
        web.session_cookie()
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_session_cookie(web: &WebSettings) -> HeaderValue {
    let secure = if web.secure_cookies { "; Secure" } else { "" };
    let value = format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}",
        web.session_cookie()
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The client's address: the peer, or with `trust_forwarded_for` the last hop of `X-Forwarded-For` (the
/// one the trusted proxy added).
pub fn client_address(
    parts_headers: &HeaderMap,
    peer: Option<SocketAddr>,
    web: &WebSettings,
) -> String {
    if web.trust_forwarded_for
        && let Some(forwarded) = parts_headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    {
        return forwarded.to_owned();
    }
    peer.map(|p| p.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The client address of a request (see [`client_address`]).
pub struct ClientAddress(pub String);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Ok(ClientAddress(client_address(
            &parts.headers,
            peer,
            &state.web,
        )))
    }
}

/// The user an API request acts as: from its bearer token (with the token's role) or its session cookie.
pub struct Actor(pub User);

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|h| h.strip_prefix("Bearer "))
                .ok_or_else(|| {
                    ApiError::unauthenticated("the Authorization header must be `Bearer <token>`")
                })?;
            return match state.service.authenticate_token(token.trim()).await {
                Ok(user) => Ok(Actor(user)),
                Err(e) if e.code() == "invalid-credentials" => {
                    Err(ApiError::unauthenticated("unknown or revoked token"))
                }
                Err(e) => Err(e.into()),
            };
        }
        let Some(secret) = session_secret(&parts.headers, &state.web) else {
            return Err(ApiError::unauthenticated(
                "sign in, or send an API token as `Authorization: Bearer <token>`",
            ));
        };
        Ok(Actor(state.service.session(secret).await?.user))
    }
}

/// A signed-in browser on a dashboard page: who, the CSRF token its forms carry, and its session id.
#[derive(Debug, Clone)]
pub struct WebSession {
    /// Who is signed in.
    pub user: User,
    /// The CSRF token of the session.
    pub csrf: String,
    /// The session id (to keep this session when the password changes).
    pub secret: String,
}

/// Where a page sends a browser that is not signed in.
pub struct ToLogin(String);

impl IntoResponse for ToLogin {
    fn into_response(self) -> Response {
        Redirect::to(&self.0).into_response()
    }
}

impl FromRequestParts<AppState> for WebSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into());
        let to_login = || {
            let target = if parts.method == Method::GET {
                format!("/login?next={}", crate::web::url_encode(&next))
            } else {
                "/login".to_owned()
            };
            ToLogin(target).into_response()
        };
        let Some(secret) = session_secret(&parts.headers, &state.web) else {
            return Err(to_login());
        };
        match state.service.session(secret).await {
            Ok(active) => Ok(WebSession {
                user: active.user,
                csrf: active.csrf_token,
                secret: secret.to_owned(),
            }),
            Err(e) if e.kind() == natronfx_service::ErrorKind::Unauthenticated => Err(to_login()),
            Err(e) => Err(crate::web::error_page(&e.into())),
        }
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Whether the browser says this request came from another site.
fn cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => false,
        Some(origin) => {
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let authority = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            authority != Some(host) || host.is_empty()
        }
    }
}

/// Requests that start a session: nothing to tie a token to yet.
fn starts_session(req: &Request) -> bool {
    req.method() == Method::POST && matches!(req.uri().path(), "/login" | "/api/v1/session")
}

/// The `csrf_token` field of a URL-encoded form. The token is hex, so no decoding is needed to compare.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    std::str::from_utf8(body)
        .ok()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The `csrf_token` field of a multipart form (put it first, so the search stops early).
async fn multipart_field(content_type: &HeaderValue, body: Bytes, name: &str) -> Option<String> {
    let req = Request::builder()
        .method(Method::POST)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .ok()?;
    let mut multipart = Multipart::from_request(req, &()).await.ok()?;
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(name) {
            return field.text().await.ok();
        }
    }
    None
}

fn refuse(path: &str, message: &str) -> Response {
    let error = ApiError::new(StatusCode::FORBIDDEN, "csrf-failed", message);
    if path.starts_with("/api/") {
        error.into_response()
    } else {
        crate::web::error_page(&error)
    }
}

/// The CSRF guard (see the module documentation). Runs on every request before routing.
pub async fn csrf_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if is_safe(req.method()) || req.headers().contains_key(header::AUTHORIZATION) {
        return next.run(req).await;
    }
    let path = req.uri().path().to_owned();
    if cross_site(req.headers()) {
        tracing::warn!(%path, "cross-site request refused");
        return refuse(&path, "cross-site requests are refused");
    }
    let Some(secret) = session_secret(req.headers(), &state.web).map(str::to_owned) else {
        return next.run(req).await;
    };
    if starts_session(&req) {
        return next.run(req).await;
    }
    if let Some(token) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        if state.service.csrf_matches(&secret, token) {
            return next.run(req).await;
        }
        return refuse(
            &path,
            "the CSRF token does not match this session; reload the page",
        );
    }
    let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
    let kind = content_type
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let is_form = kind.starts_with("application/x-www-form-urlencoded");
    let is_multipart = kind.starts_with("multipart/form-data");
    if !is_form && !is_multipart {
        return refuse(
            &path,
            "send the session's CSRF token in the X-CSRF-Token header",
        );
    }
    // Read the body (already bounded by the body-size limit) to find the token, then hand it on intact.
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, state.web.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                format!(
                    "the request body is larger than {} bytes",
                    state.web.max_body_bytes
                ),
            )
            .into_response();
        }
    };
    let token = match (is_form, content_type) {
        (true, _) => form_field(&bytes, CSRF_FIELD),
        (false, Some(ct)) => multipart_field(&ct, bytes.clone(), CSRF_FIELD).await,
        (false, None) => None,
    };
    match token {
        Some(t) if state.service.csrf_matches(&secret, &t) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        _ => refuse(
            &path,
            "this form has expired or did not come from this site; reload the page",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let h = headers(&[("cookie", "a=1; nfx_session=nfs_x; b=2"), ("cookie", "c=3")]);
        assert_eq!(cookie(&h, "nfx_session"), Some("nfs_x"));
        assert_eq!(cookie(&h, "c"), Some("3"));
        assert_eq!(cookie(&h, "session"), None);
    }

    #[test]
    fn cross_site_requests_are_recognised() {
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(cross_site(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(!cross_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(
            !cross_site(&headers(&[])),
            "no browser headers: not a browser"
        );
        assert!(cross_site(&headers(&[
            ("origin", "https://evil.example"),
            ("host", "publisher.example")
        ])));
        assert!(cross_site(&headers(&[("origin", "null"), ("host", "h")])));
        assert!(!cross_site(&headers(&[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080")
        ])));
    }

    #[test]
    fn form_fields_are_read_by_name() {
        assert_eq!(
            form_field(b"title=x&csrf_token=abc123&y=", "csrf_token").as_deref(),
            Some("abc123")
        );
        assert_eq!(form_field(b"xcsrf_token=1", "csrf_token"), None);
    }

    #[test]
    fn the_forwarded_address_counts_only_when_trusted() {
        let h = headers(&[("x-forwarded-for", "198.51.100.9, 203.0.113.1")]);
        let peer = Some("10.0.0.2:5000".parse().unwrap());
        let mut web = WebSettings {
            secure_cookies: false,
            trust_forwarded_for: false,
            csp: String::new(),
            max_body_bytes: 10,
        };
        assert_eq!(client_address(&h, peer, &web), "10.0.0.2");
        web.trust_forwarded_for = true;
        assert_eq!(client_address(&h, peer, &web), "203.0.113.1");
    }
}
