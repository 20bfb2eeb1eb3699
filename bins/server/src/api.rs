//! Routes and handlers. Handlers only translate HTTP to service calls and back: no business rule here.

use axum::extract::{FromRequest, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use natronfx_service::store::{PostCursor, PostFilter, PostSummary};
use natronfx_service::workflow::{Post, PostId, PostState, User};
use natronfx_service::{PostInput, PostPatch, PostView, ScheduleRequest, Service};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ApiError;

/// `/healthz` and `/readyz`.
pub fn health_routes() -> Router<Service> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// Everything under `/api/v1`.
pub fn routes() -> Router<Service> {
    Router::new()
        .route("/me", get(me))
        .route("/accounts", get(accounts))
        .route("/posts", get(list_posts).post(create_post))
        .route("/posts/{id}", get(get_post).patch(edit_post))
        .route("/posts/{id}/history", get(history))
        .route("/posts/{id}/submit", post(submit))
        .route("/posts/{id}/approve", post(approve))
        .route("/posts/{id}/request-changes", post(request_changes))
        .route("/posts/{id}/reject", post(reject))
        .route("/posts/{id}/schedule", post(schedule))
        .route("/posts/{id}/unschedule", post(unschedule))
        .route("/posts/{id}/archive", post(archive))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such API route")
        })
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(service): State<Service>) -> Response {
    match service.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

/// The user a request acts as, from its `Authorization: Bearer` API token.
pub struct Actor(pub User);

impl FromRequestParts<Service> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, service: &Service) -> Result<Self, ApiError> {
        let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthenticated("send an API token as `Authorization: Bearer <token>`")
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::unauthenticated("the Authorization header must be `Bearer <token>`")
            })?;
        match service.authenticate_token(token.trim()).await {
            Ok(user) => Ok(Actor(user)),
            Err(e) if e.code() == "invalid-credentials" => {
                Err(ApiError::unauthenticated("unknown or revoked token"))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// A JSON body whose rejections use the API's error shape.
#[derive(FromRequest)]
#[from_request(via(Json), rejection(ApiError))]
pub struct Body<T>(pub T);

/// A JSON body that may be left out entirely (an empty body means the defaults).
fn optional_body<T: serde::de::DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid-json",
            format!("invalid JSON body: {e}"),
        )
    })
}

fn post_id(raw: &str) -> Result<PostId, ApiError> {
    Ok(raw.parse()?)
}

fn view(post: &Post) -> Json<PostView> {
    Json(PostView::from(post))
}

async fn me(Actor(user): Actor) -> Json<User> {
    Json(user)
}

async fn accounts(State(s): State<Service>, Actor(user): Actor) -> Result<Response, ApiError> {
    Ok(Json(json!({ "items": s.list_accounts(&user).await? })).into_response())
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    state: Option<String>,
    author: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Serialize)]
struct SummaryDto {
    id: PostId,
    title: String,
    state: PostState,
    author: String,
    slide_count: i64,
    target_count: i64,
    next_publish_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    version: i64,
}

impl From<&PostSummary> for SummaryDto {
    fn from(p: &PostSummary) -> Self {
        SummaryDto {
            id: p.id,
            title: p.title.clone(),
            state: p.state,
            author: p.author.to_string(),
            slide_count: p.slide_count,
            target_count: p.target_count,
            next_publish_at: p.next_publish_at,
            updated_at: p.updated_at,
            version: p.version,
        }
    }
}

fn encode_cursor(c: &PostCursor) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        "{}|{}",
        c.updated_at.to_rfc3339(),
        c.id
    ))
}

fn decode_cursor(s: &str) -> Result<PostCursor, ApiError> {
    let bad = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid-cursor",
            "the cursor is not one this API returned",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (at, id) = raw.split_once('|').ok_or_else(bad)?;
    Ok(PostCursor {
        updated_at: DateTime::parse_from_rfc3339(at)
            .map_err(|_| bad())?
            .with_timezone(&Utc),
        id: id.parse().map_err(|_| bad())?,
    })
}

async fn list_posts(
    State(s): State<Service>,
    Actor(user): Actor,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let filter = PostFilter {
        state: q.state.as_deref().map(str::parse).transpose()?,
        author: q.author.as_deref().map(str::parse).transpose()?,
        after: q.cursor.as_deref().map(decode_cursor).transpose()?,
        limit,
    };
    let items = s.list_posts(&user, &filter).await?;
    let next = (items.len() == limit as usize)
        .then(|| {
            items.last().map(|p| {
                encode_cursor(&PostCursor {
                    updated_at: p.updated_at,
                    id: p.id,
                })
            })
        })
        .flatten();
    let dtos: Vec<SummaryDto> = items.iter().map(SummaryDto::from).collect();
    Ok(Json(json!({ "items": dtos, "next_cursor": next })).into_response())
}

async fn create_post(
    State(s): State<Service>,
    Actor(user): Actor,
    Body(input): Body<PostInput>,
) -> Result<Response, ApiError> {
    let post = s.create_post(&user, input).await?;
    Ok((StatusCode::CREATED, view(&post)).into_response())
}

async fn get_post(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
) -> Result<Json<PostView>, ApiError> {
    Ok(view(&s.post(&user, post_id(&id)?).await?))
}

async fn edit_post(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
    Body(patch): Body<PostPatch>,
) -> Result<Json<PostView>, ApiError> {
    Ok(view(&s.edit_post(&user, post_id(&id)?, patch).await?))
}

async fn history(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let events = s.post_history(&user, post_id(&id)?).await?;
    let items: Vec<_> = events
        .iter()
        .map(|e| json!({ "seq": e.seq, "event": e.event }))
        .collect();
    Ok(Json(json!({ "items": items })).into_response())
}

async fn submit(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
) -> Result<Json<PostView>, ApiError> {
    Ok(view(&s.submit_post(&user, post_id(&id)?).await?))
}

/// Body of review decisions.
#[derive(Debug, Default, Deserialize)]
pub struct ReviewBody {
    /// A note for the author.
    #[serde(default)]
    pub comment: Option<String>,
}

async fn approve(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<PostView>, ApiError> {
    let comment = optional_body::<ReviewBody>(&body)?.comment;
    Ok(view(&s.approve_post(&user, post_id(&id)?, comment).await?))
}

async fn request_changes(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<PostView>, ApiError> {
    let comment = optional_body::<ReviewBody>(&body)?.comment;
    Ok(view(
        &s.request_changes(&user, post_id(&id)?, comment).await?,
    ))
}

async fn reject(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<PostView>, ApiError> {
    let comment = optional_body::<ReviewBody>(&body)?.comment;
    Ok(view(&s.reject_post(&user, post_id(&id)?, comment).await?))
}

async fn schedule(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
    Body(request): Body<ScheduleRequest>,
) -> Result<Json<PostView>, ApiError> {
    Ok(view(&s.schedule_post(&user, post_id(&id)?, request).await?))
}

/// Body of `unschedule`.
#[derive(Debug, Default, Deserialize)]
pub struct TargetsBody {
    /// Targets (ids or account names); all when empty.
    #[serde(default)]
    pub targets: Vec<String>,
}

async fn unschedule(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<PostView>, ApiError> {
    let targets = optional_body::<TargetsBody>(&body)?.targets;
    Ok(view(
        &s.unschedule_post(&user, post_id(&id)?, &targets).await?,
    ))
}

/// Body of `archive`.
#[derive(Debug, Default, Deserialize)]
pub struct NoteBody {
    /// Why.
    #[serde(default)]
    pub note: Option<String>,
}

async fn archive(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<PostView>, ApiError> {
    let note = optional_body::<NoteBody>(&body)?.note;
    Ok(view(&s.archive_post(&user, post_id(&id)?, note).await?))
}
