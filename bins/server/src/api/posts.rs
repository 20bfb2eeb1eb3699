//! `/posts`: create, read, list, edit, check, preview, fix, review, schedule, archive, history.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use natronfx_service::Service;
use natronfx_service::store::{PostCursor, PostFilter, PostSearch};
use natronfx_service::workflow::{Platform, PostId};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{
    AuditEventDto, CommentDto, ErrorBody, FindingsDto, FixedDto, HistoryDto, NewPostDto, NoteDto,
    Page, PlatformBodyDto, PlatformDto, PostDto, PostPatchDto, PostStateDto, PostSummaryDto,
    PreviewDto, ResolveDto, ScheduleDto, TargetsDto, TimelineDto,
};
use super::{Body, decode_cursor, encode_cursor, optional_body, parse_id};
use crate::ApiError;
use crate::auth::Actor;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_posts, create_post))
        .routes(routes!(get_post, edit_post))
        .routes(routes!(history))
        .routes(routes!(check))
        .routes(routes!(preview))
        .routes(routes!(preview_image))
        .routes(routes!(fix))
        .routes(routes!(submit))
        .routes(routes!(approve))
        .routes(routes!(request_changes))
        .routes(routes!(reject))
        .routes(routes!(schedule))
        .routes(routes!(unschedule))
        .routes(routes!(archive))
        .routes(routes!(timeline))
        .routes(routes!(retry))
        .routes(routes!(cancel))
        .routes(routes!(resolve))
}

fn post_id(raw: &str) -> Result<PostId, ApiError> {
    parse_id(raw)
}

fn dto(post: &natronfx_service::workflow::Post) -> Json<PostDto> {
    Json(PostDto::from(post))
}

/// Filters and paging of the post list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only posts in this state.
    state: Option<PostStateDto>,
    /// Only posts by this author (id).
    author: Option<String>,
    /// Only posts with a target on this platform.
    platform: Option<PlatformDto>,
    /// Only posts with a target on this account (id).
    account: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Lists posts, newest change first.
#[utoipa::path(get, path = "/posts", tag = "posts", params(ListQuery),
    responses((status = 200, body = Page<PostSummaryDto>), (status = "4XX", body = ErrorBody)))]
async fn list_posts(
    State(s): State<Service>,
    Actor(user): Actor,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<PostSummaryDto>>, ApiError> {
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let author = q.author.as_deref().map(parse_id).transpose()?;
    let after = match q.cursor.as_deref() {
        Some(c) => {
            let parts = decode_cursor(c, 2)?;
            let bad = || {
                ApiError::bad_request("invalid-cursor", "the cursor is not one this API returned")
            };
            Some(PostCursor {
                updated_at: DateTime::parse_from_rfc3339(&parts[0])
                    .map_err(|_| bad())?
                    .with_timezone(&Utc),
                id: parts[1].parse().map_err(|_| bad())?,
            })
        }
        None => None,
    };
    let search = PostSearch {
        filter: PostFilter {
            state: q.state.map(Into::into),
            author,
            after,
            limit,
        },
        platform: q.platform.map(Into::into),
        account: q.account.as_deref().map(parse_id).transpose()?,
    };
    let items = s.search_posts(&user, &search).await?;
    let next_cursor = (items.len() == limit as usize)
        .then(|| {
            items
                .last()
                .map(|p| encode_cursor(&[&p.updated_at.to_rfc3339(), &p.id.to_string()]))
        })
        .flatten();
    Ok(Json(Page {
        items: items.iter().map(PostSummaryDto::from).collect(),
        next_cursor,
    }))
}

/// Starts a post in `draft`.
#[utoipa::path(post, path = "/posts", tag = "posts", request_body = NewPostDto,
    responses((status = 201, body = PostDto), (status = "4XX", body = ErrorBody)))]
async fn create_post(
    State(s): State<Service>,
    Actor(user): Actor,
    Body(input): Body<NewPostDto>,
) -> Result<Response, ApiError> {
    let post = s.create_post(&user, input.into()).await?;
    Ok((StatusCode::CREATED, dto(&post)).into_response())
}

/// One post.
#[utoipa::path(get, path = "/posts/{id}", tag = "posts", params(("id" = String, Path, description = "post id")),
    responses((status = 200, body = PostDto), (status = "4XX", body = ErrorBody)))]
async fn get_post(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
) -> Result<Json<PostDto>, ApiError> {
    Ok(dto(&s.post(&user, post_id(&id)?).await?))
}

/// Changes a post's content or targets. Outside `draft` it returns to `draft` and loses its approvals.
#[utoipa::path(patch, path = "/posts/{id}", tag = "posts", params(("id" = String, Path, description = "post id")),
    request_body = PostPatchDto,
    responses((status = 200, body = PostDto), (status = "4XX", body = ErrorBody)))]
async fn edit_post(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
    Body(patch): Body<PostPatchDto>,
) -> Result<Json<PostDto>, ApiError> {
    Ok(dto(&s
        .edit_post(&user, post_id(&id)?, patch.into())
        .await?))
}

/// Everything that happened to a post, oldest first.
#[utoipa::path(get, path = "/posts/{id}/history", tag = "posts", params(("id" = String, Path, description = "post id")),
    responses((status = 200, body = HistoryDto), (status = "4XX", body = ErrorBody)))]
async fn history(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
) -> Result<Json<HistoryDto>, ApiError> {
    let events = s.post_history(&user, post_id(&id)?).await?;
    Ok(Json(HistoryDto {
        items: events.iter().map(AuditEventDto::from).collect(),
    }))
}

/// Every platform's quality findings for the post's unsent targets.
#[utoipa::path(get, path = "/posts/{id}/check", tag = "posts", params(("id" = String, Path, description = "post id")),
    responses((status = 200, body = FindingsDto), (status = "4XX", body = ErrorBody)))]
async fn check(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
) -> Result<Json<FindingsDto>, ApiError> {
    let findings = s.check_post(&user, post_id(&id)?).await?;
    Ok(Json(FindingsDto::new(&findings)))
}

/// What a platform will show: the frame, the caption as its app cuts it, linked tags and mentions.
#[utoipa::path(get, path = "/posts/{id}/previews/{platform}", tag = "posts",
    params(("id" = String, Path, description = "post id"), ("platform" = PlatformDto, Path, description = "platform")),
    responses((status = 200, body = PreviewDto), (status = "4XX", body = ErrorBody)))]
async fn preview(
    State(s): State<Service>,
    Actor(user): Actor,
    Path((id, platform)): Path<(String, String)>,
) -> Result<Json<PreviewDto>, ApiError> {
    let platform: Platform = platform.parse()?;
    let (preview, _) = s.preview_post(&user, post_id(&id)?, platform).await?;
    Ok(Json(PreviewDto::from(&preview)))
}

/// The same preview drawn as a PNG sheet.
#[utoipa::path(get, path = "/posts/{id}/previews/{platform}/image", tag = "posts",
    params(("id" = String, Path, description = "post id"), ("platform" = PlatformDto, Path, description = "platform")),
    responses((status = 200, content_type = "image/png", body = Vec<u8>), (status = "4XX", body = ErrorBody)))]
async fn preview_image(
    State(s): State<Service>,
    Actor(user): Actor,
    Path((id, platform)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let platform: Platform = platform.parse()?;
    let (_, sheet) = s.preview_post(&user, post_id(&id)?, platform).await?;
    Ok((
        [
            (header::CONTENT_TYPE, sheet.format.content_type().to_owned()),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        sheet.bytes,
    )
        .into_response())
}

/// Replaces slides that break a platform's image rules with variants that fit, then checks again.
#[utoipa::path(post, path = "/posts/{id}/fix", tag = "posts", params(("id" = String, Path, description = "post id")),
    request_body = PlatformBodyDto,
    responses((status = 200, body = FixedDto), (status = "4XX", body = ErrorBody)))]
async fn fix(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
    Body(body): Body<PlatformBodyDto>,
) -> Result<Json<FixedDto>, ApiError> {
    let (post, findings) = s
        .fix_post_images(&user, post_id(&id)?, body.platform.into())
        .await?;
    Ok(Json(FixedDto {
        post: PostDto::from(&post),
        findings: FindingsDto::new(&findings),
    }))
}

/// Sends a post to review (approved at once under the `none` policy). Refused while a quality check fails.
#[utoipa::path(post, path = "/posts/{id}/submit", tag = "posts", params(("id" = String, Path, description = "post id")),
    responses((status = 200, body = PostDto), (status = "4XX", body = ErrorBody)))]
async fn submit(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
) -> Result<Json<PostDto>, ApiError> {
    Ok(dto(&s.submit_post(&user, post_id(&id)?).await?))
}

/// Approves the post's current content.
#[utoipa::path(post, path = "/posts/{id}/approve", tag = "posts", params(("id" = String, Path, description = "post id")),
    request_body(content = Option<CommentDto>, description = "optional"),
    responses((status = 200, body = PostDto), (status = "4XX", body = ErrorBody)))]
async fn approve(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<PostDto>, ApiError> {
    let comment = optional_body::<CommentDto>(&body)?.comment;
    Ok(dto(&s.approve_post(&user, post_id(&id)?, comment).await?))
}

/// Sends the post back to its author.
#[utoipa::path(post, path = "/posts/{id}/request-changes", tag = "posts", params(("id" = String, Path, description = "post id")),
    request_body(content = Option<CommentDto>, description = "optional"),
    responses((status = 200, body = PostDto), (status = "4XX", body = ErrorBody)))]
async fn request_changes(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<PostDto>, ApiError> {
    let comment = optional_body::<CommentDto>(&body)?.comment;
    Ok(dto(&s
        .request_changes(&user, post_id(&id)?, comment)
        .await?))
}

/// Refuses the post for good.
#[utoipa::path(post, path = "/posts/{id}/reject", tag = "posts", params(("id" = String, Path, description = "post id")),
    request_body(content = Option<CommentDto>, description = "optional"),
    responses((status = 200, body = PostDto), (status = "4XX", body = ErrorBody)))]
async fn reject(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<PostDto>, ApiError> {
    let comment = optional_body::<CommentDto>(&body)?.comment;
    Ok(dto(&s.reject_post(&user, post_id(&id)?, comment).await?))
}

/// Gives targets a publish instant from a local time and zone.
#[utoipa::path(post, path = "/posts/{id}/schedule", tag = "posts", params(("id" = String, Path, description = "post id")),
    request_body = ScheduleDto,
    responses((status = 200, body = PostDto), (status = "4XX", body = ErrorBody)))]
async fn schedule(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
    Body(request): Body<ScheduleDto>,
) -> Result<Json<PostDto>, ApiError> {
    Ok(dto(&s
        .schedule_post(&user, post_id(&id)?, request.into())
        .await?))
}

/// Takes targets (all when none are named) off the schedule.
#[utoipa::path(post, path = "/posts/{id}/unschedule", tag = "posts", params(("id" = String, Path, description = "post id")),
    request_body(content = Option<TargetsDto>, description = "optional"),
    responses((status = 200, body = PostDto), (status = "4XX", body = ErrorBody)))]
async fn unschedule(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<PostDto>, ApiError> {
    let targets = optional_body::<TargetsDto>(&body)?.targets;
    Ok(dto(&s
        .unschedule_post(&user, post_id(&id)?, &targets)
        .await?))
}

/// Archives the post.
#[utoipa::path(post, path = "/posts/{id}/archive", tag = "posts", params(("id" = String, Path, description = "post id")),
    request_body(content = Option<NoteDto>, description = "optional"),
    responses((status = 200, body = PostDto), (status = "4XX", body = ErrorBody)))]
async fn archive(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<PostDto>, ApiError> {
    let note = optional_body::<NoteDto>(&body)?.note;
    Ok(dto(&s.archive_post(&user, post_id(&id)?, note).await?))
}

/// The publishing timeline: every attempt of every target, remote ids, platform ids, links and errors.
#[utoipa::path(get, path = "/posts/{id}/timeline", tag = "posts", params(("id" = String, Path, description = "post id")),
    responses((status = 200, body = TimelineDto), (status = "4XX", body = ErrorBody)))]
async fn timeline(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
) -> Result<Json<TimelineDto>, ApiError> {
    Ok(Json(s.timeline(&user, post_id(&id)?).await?.into()))
}

/// Puts failed and missed targets back on the schedule: now, or at the local time given.
#[utoipa::path(post, path = "/posts/{id}/retry", tag = "posts", params(("id" = String, Path, description = "post id")),
    request_body(content = Option<ScheduleDto>, description = "optional; `local` may be `now` (the default)"),
    responses((status = 200, body = PostDto), (status = "4XX", body = ErrorBody)))]
async fn retry(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<PostDto>, ApiError> {
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        natronfx_service::ScheduleRequest::now()
    } else {
        serde_json::from_slice::<ScheduleDto>(&body)
            .map_err(|e| ApiError::bad_request("invalid-json", format!("invalid JSON body: {e}")))?
            .into()
    };
    Ok(dto(&s.retry_post(&user, post_id(&id)?, &request).await?))
}

/// Stops targets (all that can be, when none are named) for good before they are sent.
#[utoipa::path(post, path = "/posts/{id}/cancel", tag = "posts", params(("id" = String, Path, description = "post id")),
    request_body(content = Option<TargetsDto>, description = "optional"),
    responses((status = 200, body = PostDto), (status = "4XX", body = ErrorBody)))]
async fn cancel(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<PostDto>, ApiError> {
    let targets = optional_body::<TargetsDto>(&body)?.targets;
    Ok(dto(&s
        .cancel_targets(&user, post_id(&id)?, &targets)
        .await?))
}

/// Settles a target whose outcome needs attention, after a person looked on the platform: live, or
/// not live (it can then be retried).
#[utoipa::path(post, path = "/posts/{id}/targets/{target}/resolve", tag = "posts",
    params(("id" = String, Path, description = "post id"), ("target" = String, Path, description = "target id")),
    request_body = ResolveDto,
    responses((status = 200, body = PostDto), (status = "4XX", body = ErrorBody)))]
async fn resolve(
    State(s): State<Service>,
    Actor(user): Actor,
    Path((id, target)): Path<(String, String)>,
    Body(body): Body<ResolveDto>,
) -> Result<Json<PostDto>, ApiError> {
    Ok(dto(&s
        .resolve_target(&user, post_id(&id)?, &target, body.live, body.note)
        .await?))
}
