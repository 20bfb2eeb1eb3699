//! The one JSON error body of the API, `{"code", "message", "details"}`, and the one mapping from error
//! kinds to HTTP statuses.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use natronfx_service::{Error, ErrorKind};
use serde_json::json;

/// An error answered to an API client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Option<serde_json::Value>,
}

impl ApiError {
    /// An error with an explicit status.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }

    /// No or bad credentials.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    /// A malformed request.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message for people.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The details, when the error has any (the findings of a quality refusal).
    pub fn details(&self) -> Option<&serde_json::Value> {
        self.details.as_ref()
    }
}

fn status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidInput => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let kind = e.kind();
        if kind == ErrorKind::Internal {
            // Details of internal failures go to the log, not to the client.
            tracing::error!(error = %e, "request failed");
            return ApiError::new(
                status(kind),
                e.code(),
                "internal error; the server log has the details",
            );
        }
        let mut error = ApiError::new(status(kind), e.code(), e.to_string());
        // A quality refusal carries every finding, so a client can show them all.
        error.details = e.findings().map(|f| serde_json::json!({ "findings": f }));
        error
    }
}

impl From<natronfx_service::workflow::Error> for ApiError {
    fn from(e: natronfx_service::workflow::Error) -> Self {
        Error::from(e).into()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid-json", r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid-path", r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid-query", r.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "code": self.code, "message": self.message, "details": self.details });
        (self.status, Json(body)).into_response()
    }
}

/// A handler panicked: answer 500 in the usual shape instead of dropping the connection.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal-error",
        "internal error; the server log has the details",
    )
    .into_response()
}

/// Responses under `/api/` that did not come from a handler (a body over the size limit, a timeout, a
/// method the route does not have, ...) get the API's error body too, so clients parse one shape.
pub async fn json_errors_under_api(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !api || is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "payload-too-large",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
        StatusCode::NOT_FOUND => "not-found",
        s if s.is_server_error() => "internal-error",
        _ => "bad-request",
    };
    let message = status
        .canonical_reason()
        .unwrap_or("request refused")
        .to_lowercase();
    ApiError::new(status, code, message).into_response()
}
