//! The JSON API under `/api/v1`, and its OpenAPI document, built from the same annotations.
//!
//! Each area is a module with a `routes()` returning an [`OpenApiRouter`]; [`routes`] merges them. A new
//! area (the dispatcher's retry and timeline, account connections) adds a module and one `.merge(...)`
//! line here: its `#[utoipa::path]` handlers land in the router and in `openapi.json` together, and the
//! permission walk in `tests/api/routes.rs` fails until the new routes are in its table.
//!
//! Handlers only translate HTTP to service calls and back: no business rule here.

mod accounts;
mod data;
pub mod dto;
mod media;
mod people;
mod posts;
mod session;
mod team;
mod vault;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::ApiError;
use crate::state::AppState;

pub use media::{image_response as media_image, read_files};

/// The document's fixed parts; paths and schemas come from the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "NatronFX Publisher API",
        description = "Draft, review, schedule and publish posts to TikTok, Instagram and Facebook. \
            Authenticate with an API token (`Authorization: Bearer nfx_...`, created with `natronfx token \
            create` or `POST /api/v1/tokens`) or with the session cookie of a signed-in browser, which must \
            then send its CSRF token as `X-CSRF-Token` on every state-changing request. Every error is \
            `{\"code\", \"message\", \"details\"}`; lists page with `cursor` and `next_cursor`.",
        license(name = "MIT OR Apache-2.0")
    ),
    servers((url = "/api/v1")),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
    tags(
        (name = "session", description = "Signing in and out"),
        (name = "posts", description = "Posts through review and schedule"),
        (name = "media", description = "Images: upload, render, read"),
        (name = "people", description = "You, people and API tokens"),
        (name = "team", description = "Accounts, the approval policy, the calendar and the audit log"),
        (name = "accounts", description = "Connecting, refreshing and disconnecting platform accounts"),
        (name = "data", description = "Retention and export (admins)"),
        (name = "vault", description = "Secrets the vault keeps for the system, such as the image API key (admins)"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("nfx_...")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "nfx_session",
                "the session cookie (`__Host-nfx_session` over https); send `X-CSRF-Token` too",
            ))),
        );
    }
}

/// Every API route with its documentation, relative to `/api/v1`.
fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(session::routes())
        .merge(people::routes())
        .merge(posts::routes())
        .merge(media::routes())
        .merge(team::routes())
        .merge(accounts::routes())
        .merge(data::routes())
        .merge(vault::routes())
}

/// Everything under `/api/v1` (the document itself at `/api/v1/openapi.json`).
pub fn routes() -> axum::Router<AppState> {
    let (router, _) = api_router().split_for_parts();
    router
        .route("/openapi.json", get(openapi_json))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such API route")
        })
}

/// The OpenAPI 3.1 document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().into_openapi()
}

async fn openapi_json() -> Response {
    Json(openapi()).into_response()
}

/// `/healthz` and `/readyz`.
pub fn health_routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.service.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

/// A JSON body whose rejections use the API's error shape.
#[derive(FromRequest)]
#[from_request(via(Json), rejection(ApiError))]
pub struct Body<T>(pub T);

/// A JSON body that may be left out entirely (an empty body means the defaults).
pub fn optional_body<T: serde::de::DeserializeOwned + Default>(
    bytes: &Bytes,
) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request("invalid-json", format!("invalid JSON body: {e}")))
}

/// An opaque cursor from its parts.
pub fn encode_cursor(parts: &[&str]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(parts.join("|"))
}

/// The parts of a cursor this API returned.
pub fn decode_cursor(s: &str, n: usize) -> Result<Vec<String>, ApiError> {
    let bad = || ApiError::bad_request("invalid-cursor", "the cursor is not one this API returned");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let parts: Vec<String> = raw.split('|').map(str::to_owned).collect();
    if parts.len() != n {
        return Err(bad());
    }
    Ok(parts)
}

/// Pages a short list held in memory (people, tokens, accounts): items after the one whose key is in the
/// cursor, in key order.
pub fn page_in_memory<T, K: Fn(&T) -> String>(
    mut items: Vec<T>,
    key: K,
    cursor: Option<&str>,
    limit: Option<u32>,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    items.sort_by_key(|i| key(i));
    let after = cursor.map(|c| decode_cursor(c, 1)).transpose()?;
    if let Some(after) = after {
        items.retain(|i| key(i) > after[0]);
    }
    let limit = limit.unwrap_or(100).clamp(1, 500) as usize;
    let next = (items.len() > limit).then(|| encode_cursor(&[&key(&items[limit - 1])]));
    items.truncate(limit);
    Ok((items, next))
}

/// Parses an id from a path, as the service's error does for bad input.
pub fn parse_id<T: std::str::FromStr<Err = natronfx_service::workflow::Error>>(
    raw: &str,
) -> Result<T, ApiError> {
    Ok(raw.parse::<T>()?)
}
