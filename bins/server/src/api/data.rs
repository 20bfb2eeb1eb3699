//! Admin data use cases: applying the retention policy (a dry run by default) and exporting the record
//! as the JSON bundle `docs/export.schema.json` describes.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use natronfx_service::{ExportScope, Service};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{ErrorBody, ExportRequestDto, RetentionReportDto, RetentionRunDto};
use super::{optional_body, parse_id};
use crate::ApiError;
use crate::auth::Actor;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(retention))
        .routes(routes!(export))
}

/// Applies the retention policy now (admins): with `dry_run` (the default) only counts what it would
/// delete, per kind; otherwise deletes it (never a record still in use) and audits the run.
#[utoipa::path(post, path = "/retention/run", tag = "data",
    request_body(content = Option<RetentionRunDto>, description = "optional; a dry run by default"),
    responses((status = 200, body = RetentionReportDto), (status = "4XX", body = ErrorBody)))]
async fn retention(
    State(s): State<Service>,
    Actor(user): Actor,
    body: Bytes,
) -> Result<Json<RetentionReportDto>, ApiError> {
    let run = optional_body::<RetentionRunDto>(&body)?;
    let report = s.run_retention(Some(&user), s.now(), run.dry_run).await?;
    Ok(Json((&report).into()))
}

/// Exports one post (`post`) or everything (admins, audited as `data-exported`): the JSON bundle
/// described by `docs/export.schema.json`. No secret is ever in it.
#[utoipa::path(post, path = "/export", tag = "data",
    request_body(content = Option<ExportRequestDto>, description = "optional; everything by default"),
    responses((status = 200, description = "the export bundle (docs/export.schema.json)", content_type = "application/json"),
        (status = "4XX", body = ErrorBody)))]
async fn export(
    State(s): State<Service>,
    Actor(user): Actor,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request = optional_body::<ExportRequestDto>(&body)?;
    let scope = match request.post.as_deref() {
        Some(id) => ExportScope::Post(parse_id(id)?),
        None => ExportScope::All,
    };
    let bundle = s.export(&user, scope).await?;
    let bytes = serde_json::to_vec(&bundle)
        .map_err(|e| ApiError::from(natronfx_service::Error::Internal(e.to_string())))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}
