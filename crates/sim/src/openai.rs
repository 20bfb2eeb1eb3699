//! OpenAI Images API: `POST /v1/images/generations` for the GPT image models, answering with base64
//! images of the requested size and format, the documented usage figures and the documented errors.

use std::io::Cursor;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::routing::post;
use base64::Engine;
use image::{ImageFormat, Rgb, RgbImage};
use serde_json::{Value, json};

use crate::faults::{Endpoint, Fault};
use crate::respond::{self, json_response};
use crate::shared::Shared;

type Ctx = AxumState<Arc<Shared>>;

/// A prompt containing this marker is refused by the simulated safety system.
pub const BLOCKED_PROMPT_MARKER: &str = "[[blocked]]";

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/openai/v1/images/generations", post(generate))
}

fn error(
    status: u16,
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Response {
    json_response(
        status,
        &json!({ "error": { "message": message, "type": kind, "param": param, "code": code } }),
    )
}

fn invalid(param: &str, code: &str, message: &str) -> Response {
    error(
        400,
        message,
        "invalid_request_error",
        Some(param),
        Some(code),
    )
}

/// Width and height for a model and a `size` value.
fn dimensions(model: &str, size: &str) -> Option<(u32, u32)> {
    let gpt_image_2 = model.starts_with("gpt-image-2") || model == "chatgpt-image-latest";
    match size {
        "auto" => return Some((1024, 1024)),
        "1024x1024" => return Some((1024, 1024)),
        "1536x1024" => return Some((1536, 1024)),
        "1024x1536" => return Some((1024, 1536)),
        _ if !gpt_image_2 => return None,
        _ => {}
    }
    let (w, h) = size.split_once('x')?;
    let (w, h): (u32, u32) = (w.parse().ok()?, h.parse().ok()?);
    let ratio_ok = w <= 3 * h && h <= 3 * w;
    let area_ok = u64::from(w) * u64::from(h) <= 3840 * 2160 && w.max(h) <= 3840;
    (w % 16 == 0 && h % 16 == 0 && w > 0 && ratio_ok && area_ok).then_some((w, h))
}

/// Output tokens per image (gpt-image-1 figures; larger sizes scale with area).
fn output_tokens(quality: &str, (w, h): (u32, u32)) -> u64 {
    let square = match quality {
        "low" => 272,
        "high" => 4160,
        _ => 1056,
    };
    square * u64::from(w) * u64::from(h) / (1024 * 1024)
}

fn encode(format: &str, (w, h): (u32, u32), shade: u8) -> Option<Vec<u8>> {
    let format = match format {
        "jpeg" => ImageFormat::Jpeg,
        "webp" => ImageFormat::WebP,
        _ => ImageFormat::Png,
    };
    let mut out = Cursor::new(Vec::new());
    RgbImage::from_pixel(w, h, Rgb([shade, 96, 160]))
        .write_to(&mut out, format)
        .ok()?;
    Some(out.into_inner())
}

async fn generate(AxumState(shared): Ctx, headers: HeaderMap, body: Bytes) -> Response {
    let fault = {
        let mut state = shared.lock();
        state.count(Endpoint::OpenaiImages);
        state.faults.next(Endpoint::OpenaiImages)
    };
    match fault {
        Some(Fault::Hang) => return shared.hang().await,
        Some(Fault::ServerError { status }) => {
            return error(
                status,
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
                None,
                None,
            );
        }
        Some(Fault::Throttled { retry_after }) => {
            let seconds = retry_after.map_or(20.0, |d| d.as_secs_f64());
            let mut response = error(
                429,
                &format!(
                    "You've exceeded the rate limit, please slow down and try again after {seconds:.2} seconds."
                ),
                "requests",
                None,
                Some("rate_limit_exceeded"),
            );
            if let Ok(value) = HeaderValue::from_str(&format!("{}", (seconds * 1000.0).round())) {
                response.headers_mut().insert("retry-after-ms", value);
            }
            return response;
        }
        Some(Fault::TooManyRequests { retry_after }) => return respond::bare_429(retry_after),
        Some(Fault::InsufficientQuota) => {
            return error(
                429,
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                None,
                Some("insufficient_quota"),
            );
        }
        _ => {}
    }
    let expected = format!("Bearer {}", shared.lock().config.openai_api_key);
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if given != expected || matches!(fault, Some(Fault::ExpiredToken)) {
        return error(
            401,
            "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            None,
            Some("invalid_api_key"),
        );
    }
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(&body) else {
        return error(
            400,
            "We could not parse the JSON body of your request.",
            "invalid_request_error",
            None,
            None,
        );
    };
    for unknown in ["response_format", "style"] {
        if request.contains_key(unknown) {
            return invalid(
                unknown,
                "unknown_parameter",
                &format!("Unknown parameter: '{unknown}'."),
            );
        }
    }
    let text = |key: &str, default: &str| {
        request
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_owned()
    };
    let model = text("model", "dall-e-2");
    if !(model.starts_with("gpt-image-") || model == "chatgpt-image-latest") {
        return invalid(
            "model",
            "unsupported_model",
            "The simulator serves GPT image models only; send \"model\" explicitly.",
        );
    }
    let prompt = text("prompt", "");
    if prompt.is_empty() {
        return invalid(
            "prompt",
            "missing_required_parameter",
            "Missing required parameter: 'prompt'.",
        );
    }
    if prompt.chars().count() > 32_000 {
        return invalid(
            "prompt",
            "string_above_max_length",
            "Invalid 'prompt': string too long. Expected a string with maximum length 32000.",
        );
    }
    if request.get("stream").and_then(Value::as_bool) == Some(true) {
        return invalid(
            "stream",
            "unsupported_value",
            "Streaming is not simulated; send stream=false.",
        );
    }
    let n = request.get("n").and_then(Value::as_u64).unwrap_or(1);
    if !(1..=10).contains(&n) {
        return invalid(
            "n",
            "integer_above_max_value",
            "Invalid 'n': expected a value between 1 and 10.",
        );
    }
    let size = text("size", "auto");
    let Some(dims) = dimensions(&model, &size) else {
        return invalid(
            "size",
            "invalid_value",
            &format!(
                "Invalid value: '{size}'. Supported values are: '1024x1024', '1024x1536', '1536x1024', and 'auto'."
            ),
        );
    };
    let quality = text("quality", "auto");
    if !["low", "medium", "high", "auto"].contains(&quality.as_str()) {
        return invalid(
            "quality",
            "invalid_value",
            &format!(
                "Invalid value: '{quality}'. Supported values are: 'low', 'medium', 'high', and 'auto'."
            ),
        );
    }
    let format = text("output_format", "png");
    if !["png", "jpeg", "webp"].contains(&format.as_str()) {
        return invalid(
            "output_format",
            "invalid_value",
            &format!("Invalid value: '{format}'. Supported values are: 'png', 'jpeg', and 'webp'."),
        );
    }
    let background = text("background", "auto");
    if !["transparent", "opaque", "auto"].contains(&background.as_str())
        || (background == "transparent" && format == "jpeg")
    {
        return invalid(
            "background",
            "invalid_value",
            "Transparent background requires output_format png or webp.",
        );
    }
    if prompt.contains(BLOCKED_PROMPT_MARKER) {
        let id = shared.lock().next();
        return json_response(
            400,
            &json!({ "error": {
                "message": format!("Your request was rejected by the safety system. If you believe this is an error, contact us at help.openai.com and include the request ID req_sim{id:08x}. safety_violations=[sexual]."),
                "type": "image_generation_user_error", "param": null, "code": "moderation_blocked",
                "moderation_details": { "moderation_stage": "input", "categories": ["sexual"] }
            }}),
        );
    }
    let resolved_quality = if quality == "auto" {
        "medium".to_owned()
    } else {
        quality
    };
    let mut data = Vec::new();
    for i in 0..n {
        let shade = u8::try_from(i * 20 % 256).unwrap_or(0);
        let Some(bytes) = encode(&format, dims, shade) else {
            return error(
                500,
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
                None,
                None,
            );
        };
        data.push(json!({ "b64_json": base64::engine::general_purpose::STANDARD.encode(bytes) }));
    }
    let created = shared.lock().now().timestamp();
    let text_tokens = (prompt.len() as u64).div_ceil(4);
    let output = output_tokens(&resolved_quality, dims) * n;
    json_response(
        200,
        &json!({
            "created": created,
            "background": if background == "transparent" { "transparent" } else { "opaque" },
            "output_format": format,
            "quality": resolved_quality,
            "size": format!("{}x{}", dims.0, dims.1),
            "data": data,
            "usage": {
                "input_tokens": text_tokens,
                "input_tokens_details": { "image_tokens": 0, "text_tokens": text_tokens },
                "output_tokens": output,
                "total_tokens": text_tokens + output,
            },
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_model_rules() {
        assert_eq!(dimensions("gpt-image-1", "1024x1536"), Some((1024, 1536)));
        assert_eq!(dimensions("gpt-image-1", "1080x1350"), None);
        assert_eq!(dimensions("gpt-image-2", "1088x1360"), Some((1088, 1360)));
        assert_eq!(
            dimensions("gpt-image-2", "1080x1350"),
            None,
            "sides must be multiples of 16"
        );
        assert_eq!(
            dimensions("gpt-image-2", "3840x640"),
            None,
            "ratio beyond 3:1"
        );
        assert_eq!(output_tokens("medium", (1024, 1536)), 1584);
        assert_eq!(output_tokens("low", (1024, 1024)), 272);
    }
}
