//! TikTok Content Posting API, photo mode.

use natronfx_platforms::{
    ErrorClass, Next, Platform, PublishProgress, Publisher, RateLimit, TiktokConfig,
    TiktokProgress, TiktokPublisher,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{BEARER, End, SHORT, Seq, drive, request, token};

const CREATOR: &str = "/v2/post/publish/creator_info/query/";
const INIT: &str = "/v2/post/publish/content/init/";
const STATUS: &str = "/v2/post/publish/status/fetch/";

fn publisher(server: &MockServer) -> TiktokPublisher {
    TiktokPublisher::new(TiktokConfig {
        base_url: server.uri(),
        timeout: SHORT,
        init_limit: RateLimit::per_minute(100),
        status_limit: RateLimit::per_minute(100),
        creator_info_limit: RateLimit::per_minute(100),
        ..TiktokConfig::default()
    })
    .expect("adapter builds")
}

fn ok(data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "data": data,
        "error": {"code": "ok", "message": "", "log_id": "202210112248442CB9319E1FB30C1073F3"}
    }))
}

fn fail(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": {"code": code, "message": message, "log_id": "202508160621052A516A30B508A84B7E39"}
    }))
}

fn creator() -> ResponseTemplate {
    ok(json!({
        "creator_avatar_url": "https://p16.tiktokcdn.com/a.jpeg",
        "creator_username": "natron.demo",
        "creator_nickname": "Natron Demo",
        "privacy_level_options": ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
        "comment_disabled": true,
        "duet_disabled": false,
        "stitch_disabled": true,
        "max_video_post_duration_sec": 300
    }))
}

async fn mount_creator(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(CREATOR))
        .and(header("authorization", BEARER))
        .and(header("content-type", "application/json; charset=UTF-8"))
        .respond_with(creator())
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_photo_post_is_initialised_exactly_as_documented_and_keeps_its_19_digit_id() {
    let server = MockServer::start().await;
    mount_creator(&server).await;
    Mock::given(method("POST"))
        .and(path(INIT))
        .and(header("authorization", BEARER))
        .and(header("content-type", "application/json; charset=UTF-8"))
        .respond_with(ok(json!({"publish_id": "p_pub_url~v2.123456789"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(STATUS))
        .and(header("authorization", BEARER))
        .and(body_json(json!({"publish_id": "p_pub_url~v2.123456789"})))
        .respond_with(Seq::new(vec![
            ok(json!({"status": "PROCESSING_DOWNLOAD", "downloaded_bytes": 0})),
            ResponseTemplate::new(200).set_body_raw(
                r#"{"data":{"status":"PUBLISH_COMPLETE","publicaly_available_post_id":[7345678901234567890],"downloaded_bytes":1024},"error":{"code":"ok","message":"","log_id":"x"}}"#,
                "application/json",
            ),
        ]))
        .expect(2)
        .mount(&server)
        .await;

    let tiktok = publisher(&server);
    let mut req = request("open-id", 3);
    req.cover_index = 1;
    req.toggles.brand_organic = true;
    let (progress, end) = drive(&tiktok, &req, PublishProgress::start(Platform::Tiktok)).await;
    let End::Done(published) = end else {
        panic!("expected a published post, got {end:?}")
    };
    assert_eq!(published.post_id.as_deref(), Some("7345678901234567890"));
    assert_eq!(
        published.permalink.as_deref(),
        Some("https://www.tiktok.com/@natron.demo/photo/7345678901234567890")
    );
    let PublishProgress::Tiktok(p) = progress else {
        panic!("tiktok progress")
    };
    assert_eq!(p.publish_id.as_deref(), Some("p_pub_url~v2.123456789"));

    let requests = server.received_requests().await.expect("recording on");
    let init = requests
        .iter()
        .find(|r| r.url.path() == INIT)
        .expect("init sent");
    let body: Value = init.body_json().expect("json body");
    assert_eq!(
        body,
        json!({
            "media_type": "PHOTO",
            "post_mode": "DIRECT_POST",
            "post_info": {
                "title": "Autumn drop",
                "description": "Three new colours #autumn",
                "privacy_level": "SELF_ONLY",
                "disable_comment": true,
                "auto_add_music": false,
                "brand_content_toggle": false,
                "brand_organic_toggle": true
            },
            "source_info": {
                "source": "PULL_FROM_URL",
                "photo_images": [
                    "https://media.example.com/p/0.jpg",
                    "https://media.example.com/p/1.jpg",
                    "https://media.example.com/p/2.jpg"
                ],
                "photo_cover_index": 1
            },
            "is_aigc": true
        })
    );
    let creator_call = requests
        .iter()
        .find(|r| r.url.path() == CREATOR)
        .expect("creator_info sent");
    assert!(creator_call.body.is_empty(), "creator_info has no body");
}

#[tokio::test]
async fn a_privacy_level_the_creator_does_not_offer_is_refused_before_posting() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(CREATOR))
        .respond_with(ok(json!({"creator_username": "x", "privacy_level_options": ["FOLLOWER_OF_CREATOR", "SELF_ONLY"]})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(INIT))
        .respond_with(ok(json!({"publish_id": "p"})))
        .expect(0)
        .mount(&server)
        .await;
    let mut req = request("open-id", 1);
    req.privacy_level = Some(natronfx_platforms::PrivacyLevel::PublicToEveryone);
    let err = publisher(&server)
        .advance(&token(), &req, &PublishProgress::start(Platform::Tiktok))
        .await
        .expect_err("refused");
    assert_eq!(err.code(), "privacy-level-not-allowed");
}

#[tokio::test]
async fn a_missing_privacy_level_and_an_overlong_title_are_refused_without_a_call() {
    let server = MockServer::start().await;
    let tiktok = publisher(&server);
    let mut req = request("open-id", 1);
    req.privacy_level = None;
    let err = tiktok
        .advance(&token(), &req, &PublishProgress::start(Platform::Tiktok))
        .await
        .expect_err("refused");
    assert_eq!(err.code(), "privacy-level-required");
    let mut req = request("open-id", 1);
    req.title = Some("🎉".repeat(46)); // 92 UTF-16 units, 46 characters
    let err = tiktok
        .advance(&token(), &req, &PublishProgress::start(Platform::Tiktok))
        .await
        .expect_err("refused");
    assert_eq!(err.code(), "title-too-long");
    assert!(
        server
            .received_requests()
            .await
            .expect("recording")
            .is_empty()
    );
}

async fn init_error(response: ResponseTemplate) -> natronfx_platforms::PlatformError {
    let server = MockServer::start().await;
    mount_creator(&server).await;
    Mock::given(method("POST"))
        .and(path(INIT))
        .respond_with(response)
        .mount(&server)
        .await;
    publisher(&server)
        .advance(
            &token(),
            &request("open-id", 1),
            &PublishProgress::start(Platform::Tiktok),
        )
        .await
        .expect_err("init fails")
}

#[tokio::test]
async fn init_errors_are_classified_on_error_code_not_http_status() {
    // Docs say 403, but one integration saw it with HTTP 200: the code decides.
    let err = init_error(fail(200, "url_ownership_unverified", "url not verified")).await;
    assert_eq!(err.class(), ErrorClass::Terminal);
    let detail = err.detail().expect("detail");
    assert_eq!(detail.code.as_deref(), Some("url_ownership_unverified"));
    assert_eq!(
        detail.trace_id.as_deref(),
        Some("202508160621052A516A30B508A84B7E39")
    );
    assert_eq!(detail.http_status, Some(200));

    let err = init_error(fail(
        401,
        "access_token_invalid",
        "Access token is invalid, please refresh token and retry",
    ))
    .await;
    assert_eq!(err.class(), ErrorClass::Auth);
    let err = init_error(
        fail(429, "rate_limit_exceeded", "slow down").insert_header("retry-after", "30"),
    )
    .await;
    assert_eq!(err.class(), ErrorClass::RateLimited);
    assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(30)));
    let err = init_error(fail(
        400,
        "invalid_params",
        "The request post info is empty or incorrect",
    ))
    .await;
    assert_eq!(err.class(), ErrorClass::Terminal);
    let err = init_error(fail(403, "spam_risk_too_many_posts", "cap")).await;
    assert_eq!(err.class(), ErrorClass::RateLimited);
}

#[tokio::test]
async fn a_lost_init_answer_is_outcome_unknown_not_retryable() {
    let err = init_error(fail(500, "internal_error", "internal")).await;
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown);
    let err = init_error(ok(json!({"publish_id": "p"})).set_delay(SHORT * 3)).await;
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown, "{err}");
    let err = init_error(ResponseTemplate::new(200).set_body_string("<html>gateway</html>")).await;
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown);
}

#[tokio::test]
async fn a_failed_pull_resets_the_progress_and_says_why() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(STATUS))
        .respond_with(ok(
            json!({"status": "FAILED", "fail_reason": "picture_size_check_failed"}),
        ))
        .mount(&server)
        .await;
    let saved = PublishProgress::Tiktok(TiktokProgress {
        publish_id: Some("p_pub_url~v2.1".into()),
        creator_username: None,
        failed_publish_ids: vec![],
    });
    let step = publisher(&server)
        .advance(&token(), &request("o", 1), &saved)
        .await
        .expect("status read");
    let Next::Failed(err) = step.next else {
        panic!("expected failure")
    };
    assert_eq!(err.class(), ErrorClass::Terminal);
    assert_eq!(
        err.detail().and_then(|d| d.code.as_deref()),
        Some("picture_size_check_failed")
    );
    let PublishProgress::Tiktok(p) = step.progress else {
        panic!("tiktok")
    };
    assert_eq!(p.publish_id, None);
    assert_eq!(p.failed_publish_ids, vec!["p_pub_url~v2.1".to_owned()]);
}

#[tokio::test]
async fn resuming_with_a_publish_id_only_polls() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(CREATOR))
        .respond_with(creator())
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(INIT))
        .respond_with(ok(json!({"publish_id": "p2"})))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(STATUS))
        .respond_with(ok(
            json!({"status": "PUBLISH_COMPLETE", "publicaly_available_post_id": []}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let saved = PublishProgress::Tiktok(TiktokProgress {
        publish_id: Some("p1".into()),
        creator_username: Some("natron.demo".into()),
        failed_publish_ids: vec![],
    });
    let (_, end) = drive(&publisher(&server), &request("o", 1), saved).await;
    let End::Done(published) = end else {
        panic!("done expected, got {end:?}")
    };
    assert_eq!(published.post_id, None, "a SELF_ONLY post has no public id");
}

#[tokio::test]
async fn status_errors_are_retryable_reads() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(STATUS))
        .respond_with(fail(500, "internal_error", "x"))
        .mount(&server)
        .await;
    let saved = PublishProgress::Tiktok(TiktokProgress {
        publish_id: Some("p".into()),
        ..TiktokProgress::default()
    });
    let err = publisher(&server)
        .advance(&token(), &request("o", 1), &saved)
        .await
        .expect_err("fails");
    assert_eq!(err.class(), ErrorClass::Retryable);
}

#[tokio::test]
async fn the_local_limiter_stops_the_seventh_init_in_a_minute() {
    let server = MockServer::start().await;
    mount_creator(&server).await;
    Mock::given(method("POST"))
        .and(path(INIT))
        .respond_with(ok(json!({"publish_id": "p"})))
        .expect(6)
        .mount(&server)
        .await;
    let tiktok = TiktokPublisher::new(TiktokConfig {
        base_url: server.uri(),
        ..TiktokConfig::default()
    })
    .expect("builds");
    for _ in 0..6 {
        tiktok
            .advance(
                &token(),
                &request("o", 1),
                &PublishProgress::start(Platform::Tiktok),
            )
            .await
            .expect("init ok");
    }
    let err = tiktok
        .advance(
            &token(),
            &request("o", 1),
            &PublishProgress::start(Platform::Tiktok),
        )
        .await
        .expect_err("limited");
    assert_eq!(err.class(), ErrorClass::RateLimited);
    assert!(err.retry_after().is_some());
}

#[tokio::test]
async fn recent_posts_read_back_the_video_list() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/video/list/"))
        .and(header("authorization", BEARER))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"data":{"videos":[{"id":7345678901234567890,"create_time":1790000000,"title":"Autumn drop","share_url":"https://www.tiktok.com/@x/photo/7345678901234567890"}],"cursor":0,"has_more":false},"error":{"code":"ok","message":"","log_id":"l"}}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let since = chrono::DateTime::from_timestamp(1_789_000_000, 0).expect("time");
    let posts = publisher(&server)
        .recent_posts(&token(), "o", since)
        .await
        .expect("read back");
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].id, "7345678901234567890");
}
