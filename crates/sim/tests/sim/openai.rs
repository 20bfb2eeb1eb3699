//! The simulated OpenAI Images endpoint, spoken to with plain HTTP as an images client would.

use std::io::Cursor;
use std::time::Duration;

use base64::Engine;
use natronfx_sim::{BLOCKED_PROMPT_MARKER, Endpoint, Fault};
use serde_json::{Value, json};

use crate::default_world;

async fn call(url: &str, key: &str, body: Value) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = reqwest::Client::new()
        .post(format!("{url}/v1/images/generations"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("answer");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.expect("json body"))
}

#[tokio::test]
async fn a_portrait_jpeg_comes_back_as_base64_with_usage() {
    let w = default_world().await;
    let (status, _, body) = call(
        &w.sim.openai_base_url(),
        "sk-sim",
        json!({"model": "gpt-image-1", "prompt": "a cup of coffee on a brick wall", "size": "1024x1536", "quality": "medium", "output_format": "jpeg", "n": 2}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["size"], "1024x1536");
    assert_eq!(body["usage"]["output_tokens"], 2 * 1584);
    let images = body["data"].as_array().expect("data");
    assert_eq!(images.len(), 2);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(images[0]["b64_json"].as_str().expect("b64"))
        .expect("base64");
    let reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .expect("format");
    assert_eq!(reader.format(), Some(image::ImageFormat::Jpeg));
    assert_eq!(reader.into_dimensions().expect("dims"), (1024, 1536));
}

#[tokio::test]
async fn documented_refusals_come_with_the_documented_codes() {
    let w = default_world().await;
    let url = w.sim.openai_base_url();
    let (status, _, body) = call(
        &url,
        "sk-wrong",
        json!({"model": "gpt-image-1", "prompt": "x"}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_api_key"))
    );
    let (status, _, body) = call(
        &url,
        "sk-sim",
        json!({"model": "gpt-image-1", "prompt": "x", "response_format": "b64_json"}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (400, Some("response_format"))
    );
    let (status, _, body) = call(&url, "sk-sim", json!({"model": "gpt-image-1", "prompt": "x", "background": "transparent", "output_format": "jpeg"})).await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (400, Some("background"))
    );
    let (status, _, body) = call(
        &url,
        "sk-sim",
        json!({"model": "gpt-image-1", "prompt": format!("x {BLOCKED_PROMPT_MARKER}")}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("moderation_blocked"))
    );
    assert_eq!(body["error"]["type"], "image_generation_user_error");

    w.sim.push_fault(
        Endpoint::OpenaiImages,
        Fault::Throttled {
            retry_after: Some(Duration::from_millis(51_840)),
        },
    );
    let (status, headers, body) = call(
        &url,
        "sk-sim",
        json!({"model": "gpt-image-1", "prompt": "x"}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate_limit_exceeded"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("51.84 seconds"))
    );
    assert_eq!(
        headers.get("retry-after-ms").and_then(|v| v.to_str().ok()),
        Some("51840")
    );
    w.sim
        .push_fault(Endpoint::OpenaiImages, Fault::InsufficientQuota);
    let (status, _, body) = call(
        &url,
        "sk-sim",
        json!({"model": "gpt-image-1", "prompt": "x"}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (429, Some("insufficient_quota"))
    );
}
