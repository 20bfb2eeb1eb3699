//! Public media: the local media folder served under `/m/<key>` for the platforms to pull, with exact
//! types and lengths, long cache lifetimes (keys are content hashes), `HEAD`, no listing and no redirects.

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use natronfx_media::LocalFolderStore;

/// The local folder being served, when the media backend is `local`.
#[derive(Debug, Clone)]
pub struct PublicMedia(pub Arc<LocalFolderStore>);

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "not found",
    )
        .into_response()
}

/// `GET` and `HEAD /m/{key}`.
pub async fn serve(Extension(media): Extension<PublicMedia>, Path(key): Path<String>) -> Response {
    let served = match media.0.open_for_serving(&key).await {
        Ok(Some(file)) => file,
        Ok(None) => return not_found(),
        Err(e) if e.code() == "invalid-media-key" => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read media");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let bytes = match tokio::fs::read(&served.path).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "cannot read media file");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let etag = format!("\"{}\"", key.split('.').next().unwrap_or_default());
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, served.content_type.to_owned()),
            (header::CONTENT_LENGTH, bytes.len().to_string()),
            (
                header::CACHE_CONTROL,
                "public, max-age=31536000, immutable".to_owned(),
            ),
            (header::ETAG, etag),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        Body::from(bytes),
    )
        .into_response()
}
