//! The OpenAI Images client against `wiremock` with the reference's request and response pairs, and
//! against the simulator.

use std::time::Duration;

use base64::Engine;
use natronfx_platforms::{
    ImageBackground, ImageGenError, ImageQuality, ImageRequest, ImageSize, ImagesConfig,
    OpenAiImages,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::Seq;

const KEY: &str = "sk-wire-test-key-0123456789";

fn client(base_url: String) -> OpenAiImages {
    let mut config = ImagesConfig::new(SecretString::from(KEY));
    config.base_url = base_url;
    config.timeout = Duration::from_secs(2);
    config.initial_backoff = Duration::from_millis(5);
    OpenAiImages::new(config).expect("client builds")
}

fn portrait(prompt: &str) -> ImageRequest {
    ImageRequest {
        quality: ImageQuality::Medium,
        background: ImageBackground::Opaque,
        user: Some("user-42".into()),
        ..ImageRequest::new(prompt, ImageSize::Portrait)
    }
}

fn fake_jpeg(tag: u8) -> Vec<u8> {
    vec![0xFF, 0xD8, 0xFF, 0xE0, tag, 1, 2, 3, 0xFF, 0xD9]
}

/// The reference's 200 body (4.2), with our images in `data`.
fn success(images: &[Vec<u8>]) -> Value {
    json!({
        "created": 1757012345,
        "background": "opaque",
        "output_format": "jpeg",
        "quality": "medium",
        "size": "1024x1536",
        "data": images.iter().map(|b| json!({"b64_json": base64::engine::general_purpose::STANDARD.encode(b)})).collect::<Vec<_>>(),
        "usage": {
            "input_tokens": 38,
            "input_tokens_details": { "image_tokens": 0, "text_tokens": 38 },
            "output_tokens": 1584,
            "total_tokens": 1622
        }
    })
}

fn error_body(message: &str, kind: &str, param: Option<&str>, code: Option<&str>) -> Value {
    json!({ "error": { "message": message, "type": kind, "param": param, "code": code } })
}

#[tokio::test]
async fn a_generation_sends_the_documented_request_and_decodes_images_and_usage() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/images/generations"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("content-type", "application/json"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-request-id", "req_abc123")
                .set_body_json(success(&[fake_jpeg(1), fake_jpeg(2)])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut request = portrait("a cup of coffee on a brick wall");
    request.n = 2;
    let out = client(server.uri()).generate(&request).await.unwrap();
    assert_eq!(out.images, vec![fake_jpeg(1), fake_jpeg(2)]);
    assert_eq!(out.model, "gpt-image-1");
    assert_eq!(out.size, "1024x1536");
    assert_eq!(out.quality.as_deref(), Some("medium"));
    assert_eq!(out.request_id.as_deref(), Some("req_abc123"));
    let usage = out.usage.expect("usage");
    assert_eq!(
        (
            usage.input_tokens,
            usage.input_text_tokens,
            usage.output_tokens,
            usage.total_tokens
        ),
        (38, 38, 1584, 1622)
    );
    let sent: Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(
        sent,
        json!({
            "model": "gpt-image-1", "prompt": "a cup of coffee on a brick wall", "n": 2, "size": "1024x1536",
            "quality": "medium", "background": "opaque", "output_format": "jpeg", "user": "user-42"
        }),
        "always the model, never response_format or style"
    );
}

#[tokio::test]
async fn a_refused_prompt_is_a_moderation_block_with_the_request_id_and_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/images/generations"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error": {
            "message": "Your request was rejected by the safety system. If you believe this is an error, contact us at help.openai.com and include the request ID 7f1c2a9e-55b1-4c61-9d58-6f3a2b1c0d4e. safety_violations=[sexual].",
            "type": "image_generation_user_error", "param": null, "code": "moderation_blocked",
            "moderation_details": { "moderation_stage": "input", "categories": ["sexual"] }
        }})))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(server.uri())
        .generate(&portrait("something not allowed"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "image-prompt-blocked");
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(text.contains("safety system refused this prompt"), "{text}");
    assert!(text.contains("sexual"), "{text}");
    assert!(
        text.contains("7f1c2a9e-55b1-4c61-9d58-6f3a2b1c0d4e"),
        "{text}"
    );
}

#[tokio::test]
async fn each_documented_refusal_has_its_own_code_and_retry_class() {
    let cases: Vec<(u16, Value, &str, bool)> = vec![
        (
            400,
            error_body(
                "Invalid value: '1080x1350'. Supported values are: '1024x1024', '1024x1536', '1536x1024', and 'auto'.",
                "invalid_request_error",
                Some("size"),
                Some("invalid_value"),
            ),
            "image-request-invalid",
            false,
        ),
        (
            401,
            error_body(
                "Incorrect API key provided: sk-wire-***. You can find your API key at https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                None,
                Some("invalid_api_key"),
            ),
            "image-api-key-invalid",
            false,
        ),
        (
            403,
            error_body(
                "Your organization must be verified to use the model `gpt-image-1`. Please go to: https://platform.openai.com/settings/organization/general and click on Verify Organization. If you just verified, it can take up to 15 minutes for access to propagate.",
                "invalid_request_error",
                None,
                None,
            ),
            "image-organization-unverified",
            false,
        ),
        (
            429,
            error_body(
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                None,
                Some("insufficient_quota"),
            ),
            "image-quota-exhausted",
            false,
        ),
    ];
    for (status, body, code, retryable) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/images/generations"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .expect(1) // none of these is ever retried
            .mount(&server)
            .await;
        let err = client(server.uri())
            .generate(&portrait("a cup"))
            .await
            .unwrap_err();
        assert_eq!((err.code(), err.is_retryable()), (code, retryable), "{err}");
        assert!(!err.to_string().contains(KEY), "{err}");
    }
}

#[tokio::test]
async fn a_rate_limit_is_retried_with_the_hint_and_then_succeeds() {
    let server = MockServer::start().await;
    let limited = ResponseTemplate::new(429)
        .insert_header("retry-after-ms", "20")
        .set_body_json(error_body(
            "You've exceeded the rate limit, please slow down and try again after 0.02 seconds.",
            "requests",
            None,
            Some("rate_limit_exceeded"),
        ));
    Mock::given(method("POST"))
        .and(path("/v1/images/generations"))
        .respond_with(Seq::new(vec![
            limited,
            ResponseTemplate::new(500).set_body_json(error_body(
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
                None,
                None,
            )),
            ResponseTemplate::new(200).set_body_json(success(&[fake_jpeg(7)])),
        ]))
        .expect(3)
        .mount(&server)
        .await;
    let out = client(server.uri())
        .generate(&portrait("a cup"))
        .await
        .unwrap();
    assert_eq!(out.images, vec![fake_jpeg(7)]);
}

#[tokio::test]
async fn a_rate_limit_that_persists_is_reported_with_its_hint_after_the_retries() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/images/generations"))
        .respond_with(ResponseTemplate::new(429).set_body_json(error_body(
            "You've exceeded the rate limit, please slow down and try again after 0.01 seconds.",
            "requests",
            None,
            Some("rate_limit_exceeded"),
        )))
        .expect(3) // the first try and two retries
        .mount(&server)
        .await;
    let err = client(server.uri())
        .generate(&portrait("a cup"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "image-rate-limited");
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_millis(10)));
}

#[tokio::test]
async fn a_service_that_says_do_not_retry_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/images/generations"))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("x-should-retry", "false")
                .set_body_json(error_body(
                    "The engine is currently overloaded, please try again later.",
                    "service_unavailable_error",
                    None,
                    Some("server_is_overloaded"),
                )),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(server.uri())
        .generate(&portrait("a cup"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "image-service-unavailable");
}

#[tokio::test]
async fn a_silent_service_is_a_timeout_that_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/images/generations"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(5))
                .set_body_json(success(&[fake_jpeg(1)])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut config = ImagesConfig::new(SecretString::from(KEY));
    config.base_url = server.uri();
    config.timeout = Duration::from_millis(300);
    let err = OpenAiImages::new(config)
        .unwrap()
        .generate(&portrait("a cup"))
        .await
        .unwrap_err();
    assert!(matches!(err, ImageGenError::Timeout { .. }), "{err:?}");
    assert_eq!(err.code(), "image-timeout");
}

#[tokio::test]
async fn bad_input_and_unreadable_answers_are_refused_clearly() {
    let server = MockServer::start().await;
    let c = client(server.uri());
    let err = c.generate(&portrait("   ")).await.unwrap_err();
    assert_eq!(err.code(), "image-request-invalid");
    let mut many = portrait("a cup");
    many.n = 11;
    assert_eq!(
        c.generate(&many).await.unwrap_err().code(),
        "image-request-invalid"
    );
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "refused before sending"
    );
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"created": 1, "data": [{"b64_json": "@@not base64@@"}]})),
        )
        .mount(&server)
        .await;
    assert_eq!(
        c.generate(&portrait("a cup")).await.unwrap_err().code(),
        "image-response-invalid"
    );
}

#[tokio::test]
async fn the_simulator_answers_with_a_real_portrait_jpeg_and_refuses_blocked_prompts() {
    let sim = natronfx_sim::Simulator::start(natronfx_sim::SimConfig::default())
        .await
        .expect("simulator");
    let mut config = ImagesConfig::new(SecretString::from("sk-sim"));
    config.base_url = sim.openai_base_url();
    let c = OpenAiImages::new(config).unwrap();
    let out = c.generate(&portrait("a cup of coffee")).await.unwrap();
    assert_eq!(out.images.len(), 1);
    assert_eq!(&out.images[0][..3], &[0xFF, 0xD8, 0xFF], "a JPEG");
    assert_eq!(out.size, "1024x1536");
    assert_eq!(out.usage.expect("usage").output_tokens, 1584);

    let blocked = format!("a cup {}", natronfx_sim::BLOCKED_PROMPT_MARKER);
    let err = c.generate(&portrait(&blocked)).await.unwrap_err();
    assert_eq!(err.code(), "image-prompt-blocked");

    sim.push_fault(
        natronfx_sim::Endpoint::OpenaiImages,
        natronfx_sim::Fault::InsufficientQuota,
    );
    let err = c.generate(&portrait("a cup")).await.unwrap_err();
    assert_eq!(err.code(), "image-quota-exhausted");
    assert_eq!(
        sim.calls(natronfx_sim::Endpoint::OpenaiImages),
        3,
        "the quota refusal was not retried"
    );

    let mut wrong = ImagesConfig::new(SecretString::from("sk-wrong"));
    wrong.base_url = sim.openai_base_url();
    let err = OpenAiImages::new(wrong)
        .unwrap()
        .generate(&portrait("a cup"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "image-api-key-invalid");
    sim.shutdown().await.unwrap();
}
