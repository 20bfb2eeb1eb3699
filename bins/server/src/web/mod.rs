//! The dashboard: server-rendered HTML pages that work without JavaScript (a small script adds live
//! counters and the viewer's time zone). Pages call the same service functions as the API; forms post
//! back with the session's CSRF token and redirect (post, redirect, get), carrying a notice or an error.
//!
//! A new area (account connections, the publishing timeline's retry) adds a module with a `routes()`
//! and one `.merge(...)` line in [`routes`].

mod accounts;
mod admin;
mod calendar;
mod data;
mod editor;
mod layout;
mod login;
mod posts;
mod publishing;
mod settings;
mod vault;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono_tz::Tz;
use maud::html;

use crate::ApiError;
use crate::auth::{WebSession, cookie};
use crate::state::AppState;
pub use layout::Chrome;

/// Every dashboard page.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/posts") }))
        .route("/static/{file}", get(layout::asset))
        .merge(login::routes())
        .merge(posts::routes())
        .merge(publishing::routes())
        .merge(editor::routes())
        .merge(calendar::routes())
        .merge(accounts::routes())
        .merge(admin::routes())
        .merge(data::routes())
        .merge(settings::routes())
        .merge(vault::routes())
}

/// A signed-in viewer of a page: the session and the time zone they read times in (the `tz` query
/// parameter, else the `nfx_tz` cookie the script sets, else UTC).
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The session.
    pub session: WebSession,
    /// The viewer's zone.
    pub tz: Tz,
}

impl Viewer {
    /// The page shell's context.
    pub fn chrome(&self) -> Chrome<'_> {
        Chrome {
            user: &self.session.user,
            csrf: &self.session.csrf,
            tz: self.tz,
        }
    }
}

/// The zone named by the request, if any.
fn requested_zone(parts: &Parts) -> Option<Tz> {
    let from_query = parts.uri.query().and_then(|q| {
        q.split('&')
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| *k == "tz")
            .map(|(_, v)| url_decode(v))
    });
    from_query
        .or_else(|| cookie(&parts.headers, "nfx_tz").map(url_decode))
        .and_then(|z| z.parse::<Tz>().ok())
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let session = WebSession::from_request_parts(parts, state).await?;
        Ok(Viewer {
            session,
            tz: requested_zone(parts).unwrap_or(Tz::UTC),
        })
    }
}

/// Percent-encodes a string for a query parameter.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Decodes a query parameter (`+` is a space).
pub fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where to go after a form: `path` with a notice.
pub fn see_notice(path: &str, notice: &str) -> Response {
    let sep = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{sep}notice={}", url_encode(notice))).into_response()
}

/// Where to go after a refused form: `path` with the error's message.
pub fn see_error(path: &str, error: impl Into<ApiError>) -> Response {
    let error = error.into();
    let sep = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{sep}error={}", url_encode(error.message()))).into_response()
}

/// A refusal or failure as a page.
pub fn error_page(error: &ApiError) -> Response {
    let title = match error.status() {
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::UNAUTHORIZED => "Please sign in",
        s if s.is_server_error() => "Something went wrong",
        _ => "That did not work",
    };
    let body = html! {
        div.card.login {
            h1 { (title) }
            p { (error.message()) }
            p.muted { small { "code: " code { (error.code()) } } }
            p { a.button href="/posts" { "Back to posts" } }
        }
    };
    (
        error.status(),
        Html(layout::bare(title, body).into_string()),
    )
        .into_response()
}

/// A page's answer: HTML, or an error page.
pub type PageResult = Result<Response, Response>;

/// Turns a service error into an error page.
pub fn fail(e: impl Into<ApiError>) -> Response {
    error_page(&e.into())
}

/// Renders markup as a response.
pub fn html_page(markup: maud::Markup) -> Response {
    Html(markup.into_string()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_round_trip() {
        for s in ["Europe/Lisbon", "a b&c=d", "ção #1", "100%"] {
            assert_eq!(url_decode(&url_encode(s)), s);
        }
        assert_eq!(url_decode("a+b%2Fc"), "a b/c");
        assert_eq!(url_decode("bad%zz"), "bad%zz");
    }
}
