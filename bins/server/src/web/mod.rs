//! The dashboard: server-rendered HTML pages that work without JavaScript.

use axum::Router;
use axum::response::{IntoResponse, Response};

use crate::ApiError;
use crate::state::AppState;

/// Every dashboard page.
pub fn routes() -> Router<AppState> {
    Router::new()
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

/// An error as a page.
pub fn error_page(error: &ApiError) -> Response {
    (
        error.status(),
        axum::response::Html(format!(
            "<!doctype html><title>{}</title><p>{}",
            error.code(),
            maud::html! { (error.message()) }.into_string()
        )),
    )
        .into_response()
}
