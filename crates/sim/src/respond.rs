//! Building the platforms' answers: envelopes, error bodies, lost connections and hangs.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::images::GraphRejection;

/// A JSON response with a status.
pub(crate) fn json_response(status: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body.clone())).into_response()
}

/// TikTok success: `{"data": …, "error": {"code": "ok", …}}`.
pub(crate) fn tiktok_ok(data: &Value, log_id: &str) -> Response {
    json_response(
        200,
        &json!({ "data": data, "error": { "code": "ok", "message": "", "log_id": log_id } }),
    )
}

/// TikTok error: no `data`, an `error` object with a non-ok code.
pub(crate) fn tiktok_error(status: u16, code: &str, message: &str, log_id: &str) -> Response {
    json_response(
        status,
        &json!({ "error": { "code": code, "message": message, "log_id": log_id } }),
    )
}

/// A Graph error envelope.
pub(crate) fn graph_error(
    status: u16,
    rejection: &GraphRejection,
    transient: bool,
    fbtrace: &str,
) -> Response {
    let mut error = json!({
        "message": rejection.message,
        "type": "OAuthException",
        "code": rejection.code,
        "is_transient": transient,
        "fbtrace_id": fbtrace,
    });
    if let Some(sub) = rejection.subcode {
        error["error_subcode"] = json!(sub);
    }
    if let Some(title) = &rejection.user_title {
        error["error_user_title"] = json!(title);
    }
    if let Some(msg) = &rejection.user_message {
        error["error_user_msg"] = json!(msg);
    }
    json_response(status, &json!({ "error": error }))
}

/// A plain Graph rejection without user texts.
pub(crate) fn rejection(
    code: i64,
    subcode: Option<i64>,
    message: impl Into<String>,
) -> GraphRejection {
    GraphRejection {
        code,
        subcode,
        message: message.into(),
        user_title: None,
        user_message: None,
    }
}

/// A bare 429 from a proxy: HTML body, optional `Retry-After`.
pub(crate) fn bare_429(retry_after: Option<Duration>) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::CONTENT_TYPE, "text/html")],
        "<html><body>Too Many Requests</body></html>",
    )
        .into_response();
    if let Some(value) =
        retry_after.and_then(|a| HeaderValue::from_str(&a.as_secs().to_string()).ok())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Headers promise a JSON body, then the connection breaks.
pub(crate) fn dropped() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection dropped",
        ))
    });
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// What a hang turns into if the client is still there after `hang_for`.
pub(crate) fn gateway_timeout() -> Response {
    (
        StatusCode::GATEWAY_TIMEOUT,
        [(header::CONTENT_TYPE, "text/html")],
        "<html><body>504 Gateway Time-out</body></html>",
    )
        .into_response()
}
