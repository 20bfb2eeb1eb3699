//! `/media`: upload images (multipart, checked by the ingest rules), render a carousel spec, generate
//! with the image model (labelled with its provenance), list and read.

use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use natronfx_service::Service;
use natronfx_service::store::MediaCursor;
use natronfx_service::workflow::MediaId;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{
    ErrorBody, GenerateDto, GeneratedDto, Items, MediaDto, Page, ProvenanceDto, RenderDto,
    UploadForm,
};
use super::{Body, decode_cursor, encode_cursor, parse_id};
use crate::ApiError;
use crate::auth::Actor;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_media, upload))
        .routes(routes!(get_media))
        .routes(routes!(content))
        .routes(routes!(render))
        .routes(routes!(generate))
        .routes(routes!(provenance))
}

/// Paging of the media list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MediaQuery {
    /// Page size, 1 to 200 (default 50).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Stored images, newest first.
#[utoipa::path(get, path = "/media", tag = "media", params(MediaQuery),
    responses((status = 200, body = Page<MediaDto>), (status = "4XX", body = ErrorBody)))]
async fn list_media(
    State(s): State<Service>,
    Actor(user): Actor,
    query: Result<Query<MediaQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<MediaDto>>, ApiError> {
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let after = match q.cursor.as_deref() {
        Some(c) => {
            let parts = decode_cursor(c, 2)?;
            let bad = || {
                ApiError::bad_request("invalid-cursor", "the cursor is not one this API returned")
            };
            Some(MediaCursor {
                created_at: DateTime::parse_from_rfc3339(&parts[0])
                    .map_err(|_| bad())?
                    .with_timezone(&Utc),
                id: parts[1].parse().map_err(|_| bad())?,
            })
        }
        None => None,
    };
    let items = s.media_page(&user, after, limit).await?;
    let next_cursor = (items.len() == limit as usize)
        .then(|| {
            items
                .last()
                .map(|m| encode_cursor(&[&m.created_at.to_rfc3339(), &m.id.to_string()]))
        })
        .flatten();
    Ok(Json(Page {
        items: items.iter().map(MediaDto::from).collect(),
        next_cursor,
    }))
}

/// Uploads images (JPEG, PNG, WebP by content): each is validated under the configured limits, oriented,
/// stripped of metadata and stored once per content. All parts named `file` are taken, in order.
#[utoipa::path(post, path = "/media", tag = "media",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Items<MediaDto>), (status = "4XX", body = ErrorBody)))]
async fn upload(
    State(s): State<Service>,
    Actor(user): Actor,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    let files = read_files(multipart).await?;
    let mut items = Vec::with_capacity(files.len());
    for bytes in files {
        items.push(MediaDto::from(&s.add_media(&user, bytes).await?));
    }
    Ok((StatusCode::CREATED, Json(Items { items })).into_response())
}

/// The bytes of every `file` part of a multipart form (other parts, such as the CSRF token, are skipped).
pub async fn read_files(mut multipart: Multipart) -> Result<Vec<Vec<u8>>, ApiError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::new(e.status(), "invalid-multipart", e.body_text())
    };
    let mut files = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        if field.name() == Some("file") {
            let bytes = field.bytes().await.map_err(bad)?;
            if !bytes.is_empty() {
                files.push(bytes.to_vec());
            }
        }
    }
    if files.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-input",
            "send at least one image as a multipart part named `file`",
        ));
    }
    Ok(files)
}

/// One stored image's facts.
#[utoipa::path(get, path = "/media/{id}", tag = "media", params(("id" = String, Path, description = "media id")),
    responses((status = 200, body = MediaDto), (status = "4XX", body = ErrorBody)))]
async fn get_media(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
) -> Result<Json<MediaDto>, ApiError> {
    let id: MediaId = parse_id(&id)?;
    Ok(Json(MediaDto::from(&s.media(&user, id).await?)))
}

/// One stored image's bytes.
#[utoipa::path(get, path = "/media/{id}/content", tag = "media", params(("id" = String, Path, description = "media id")),
    responses((status = 200, content_type = "image/*", body = Vec<u8>), (status = "4XX", body = ErrorBody)))]
async fn content(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: MediaId = parse_id(&id)?;
    image_response(&s, &user, id).await
}

/// The bytes of a stored image with its type, for the API and the dashboard.
pub async fn image_response(
    s: &Service,
    user: &natronfx_service::User,
    id: MediaId,
) -> Result<Response, ApiError> {
    let view = s.media(user, id).await?;
    let bytes = s.media_content(user, id).await?;
    let kind = match view.format.as_str() {
        "png" => "image/png",
        "webp" => "image/webp",
        _ => "image/jpeg",
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind),
            // Content-addressed: the bytes behind an id never change.
            (header::CACHE_CONTROL, "private, max-age=86400, immutable"),
        ],
        bytes,
    )
        .into_response())
}

/// Renders a carousel spec and stores every slide. Backgrounds name stored media, never files.
#[utoipa::path(post, path = "/media/render", tag = "media", request_body = RenderDto,
    responses((status = 201, body = Items<MediaDto>), (status = "4XX", body = ErrorBody)))]
async fn render(
    State(s): State<Service>,
    Actor(user): Actor,
    Body(body): Body<RenderDto>,
) -> Result<Response, ApiError> {
    let spec = match (body.spec, body.spec_toml) {
        (Some(json), None) => natronfx_media::CarouselSpec::from_json_str(&json.to_string()),
        (None, Some(toml)) => natronfx_media::CarouselSpec::from_toml_str(&toml),
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-input",
                "give exactly one of `spec` (JSON) or `spec_toml` (TOML text)",
            ));
        }
    }
    .map_err(natronfx_service::Error::from)?;
    let made = s.render_spec(&user, spec).await?;
    Ok((
        StatusCode::CREATED,
        Json(Items {
            items: made.iter().map(MediaDto::from).collect(),
        }),
    )
        .into_response())
}

/// Generates images with the image model; each is stored like an upload with source `generated` and its
/// provenance (prompt, model, size, usage, who asked), and marks the TikTok posts it appears in as
/// AI-generated.
#[utoipa::path(post, path = "/media/generate", tag = "media", request_body = GenerateDto,
    responses((status = 200, body = Items<GeneratedDto>), (status = "4XX", body = ErrorBody)))]
async fn generate(
    State(s): State<Service>,
    Actor(user): Actor,
    Body(body): Body<GenerateDto>,
) -> Result<Json<Items<GeneratedDto>>, ApiError> {
    let mut wire = serde_json::json!({ "prompt": body.prompt });
    for (key, value) in [
        ("size", body.size),
        ("quality", body.quality),
        ("background", body.background),
    ] {
        if let Some(v) = value {
            wire[key] = serde_json::Value::String(v);
        }
    }
    if let Some(n) = body.n {
        wire["n"] = n.into();
    }
    if body.fit_to_slide {
        wire["fit"] = serde_json::json!({});
    }
    let request: natronfx_service::GenerateRequest = serde_json::from_value(wire)
        .map_err(|e| ApiError::bad_request("invalid-input", format!("invalid request: {e}")))?;
    let made = s.generate_media(&user, request).await?;
    Ok(Json(Items {
        items: made
            .iter()
            .map(|m| GeneratedDto {
                media: (&m.media).into(),
                slide: m.slide.as_ref().map(MediaDto::from),
                provenance: (&m.provenance).into(),
            })
            .collect(),
    }))
}

/// Where an image came from, newest first; empty for uploads and plain renders.
#[utoipa::path(get, path = "/media/{id}/provenance", tag = "media", params(("id" = String, Path, description = "media id")),
    responses((status = 200, body = Items<ProvenanceDto>), (status = "4XX", body = ErrorBody)))]
async fn provenance(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
) -> Result<Json<Items<ProvenanceDto>>, ApiError> {
    let id: MediaId = parse_id(&id)?;
    Ok(Json(Items {
        items: s
            .media_provenance(&user, id)
            .await?
            .iter()
            .map(ProvenanceDto::from)
            .collect(),
    }))
}
