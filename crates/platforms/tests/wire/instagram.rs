//! Instagram content publishing over the Graph API.

use chrono::Utc;
use natronfx_platforms::{
    Container, ErrorClass, GraphConfig, InstagramProgress, InstagramPublisher, Next, Platform,
    PublishProgress, Publisher,
};
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{BEARER, End, SHORT, Seq, drive, form, request, token};

const IG: &str = "17841400000000001";

fn publisher(server: &MockServer) -> InstagramPublisher {
    let mut config = GraphConfig::with_host(server.uri(), "v25.0");
    config.timeout = SHORT;
    InstagramPublisher::new(config).expect("adapter builds")
}

fn id(value: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"id": value}))
}

fn status(code: &str, id: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"status_code": code, "id": id}))
}

fn graph_error(http: u16, code: i64, subcode: Option<i64>, message: &str) -> ResponseTemplate {
    let mut error = json!({
        "message": message, "type": "OAuthException", "code": code, "is_transient": false,
        "error_user_title": "title", "error_user_msg": "user message", "fbtrace_id": "A6LJylpZRKw2xKLFsAP-cJh"
    });
    if let Some(sub) = subcode {
        error["error_subcode"] = json!(sub);
    }
    ResponseTemplate::new(http).set_body_json(json!({"error": error}))
}

async fn mount_quota(server: &MockServer, usage: u32, total: u32) {
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{IG}/content_publishing_limit")))
        .and(query_param("fields", "config,quota_usage"))
        .and(header("authorization", BEARER))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"quota_usage": usage, "config": {"quota_total": total, "quota_duration": 86400}}]
        })))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_carousel_builds_items_then_the_parent_with_the_caption_then_publishes() {
    let server = MockServer::start().await;
    mount_quota(&server, 2, 100).await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG}/media")))
        .and(header("authorization", BEARER))
        .and(body_string_contains("is_carousel_item=true"))
        .respond_with(Seq::new(vec![
            id("17889455560051444"),
            id("17889455560051445"),
        ]))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG}/media")))
        .and(body_string_contains("media_type=CAROUSEL"))
        .respond_with(id("17899506308402767"))
        .expect(1)
        .mount(&server)
        .await;
    for (child, first) in [
        ("17889455560051444", "IN_PROGRESS"),
        ("17889455560051445", "FINISHED"),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/v25.0/{child}")))
            .and(query_param("fields", "status_code,status"))
            .respond_with(Seq::new(vec![
                status(first, child),
                status("FINISHED", child),
            ]))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/v25.0/17899506308402767"))
        .and(query_param("fields", "status_code,status"))
        .respond_with(Seq::new(vec![
            status("IN_PROGRESS", "p"),
            status("FINISHED", "p"),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG}/media_publish")))
        .and(header("authorization", BEARER))
        .respond_with(id("17920238422030506"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/17920238422030506"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "17920238422030506", "permalink": "https://www.instagram.com/p/DAbCdEf/", "shortcode": "DAbCdEf",
            "media_type": "CAROUSEL_ALBUM", "timestamp": "2026-09-11T10:00:00+0000"
        })))
        .mount(&server)
        .await;

    let (progress, end) = drive(
        &publisher(&server),
        &request(IG, 2),
        PublishProgress::start(Platform::Instagram),
    )
    .await;
    let End::Done(published) = end else {
        panic!("expected done, got {end:?}")
    };
    assert_eq!(published.post_id.as_deref(), Some("17920238422030506"));
    assert_eq!(
        published.permalink.as_deref(),
        Some("https://www.instagram.com/p/DAbCdEf/")
    );
    let PublishProgress::Instagram(p) = progress else {
        panic!("instagram")
    };
    assert_eq!(p.items.len(), 2);
    assert_eq!(
        p.carousel.as_ref().map(|c| c.id.as_str()),
        Some("17899506308402767")
    );

    let requests = server.received_requests().await.expect("recording");
    let creates: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path() == format!("/v25.0/{IG}/media") && r.method.as_str() == "POST")
        .collect();
    assert_eq!(creates.len(), 3);
    let first = form(creates[0]);
    assert_eq!(
        first.get("image_url").map(String::as_str),
        Some("https://media.example.com/p/0.jpg")
    );
    assert_eq!(
        first.get("is_carousel_item").map(String::as_str),
        Some("true")
    );
    assert!(!first.contains_key("caption"), "children carry no caption");
    assert_eq!(
        form(creates[1]).get("image_url").map(String::as_str),
        Some("https://media.example.com/p/1.jpg")
    );
    let parent = form(creates[2]);
    assert_eq!(
        parent.get("media_type").map(String::as_str),
        Some("CAROUSEL")
    );
    assert_eq!(
        parent.get("children").map(String::as_str),
        Some("17889455560051444,17889455560051445")
    );
    assert_eq!(
        parent.get("caption").map(String::as_str),
        Some("Three new colours #autumn")
    );
    assert!(
        creates[2]
            .headers
            .get("content-type")
            .is_some_and(|v| v == "application/x-www-form-urlencoded")
    );
    let publish = requests
        .iter()
        .find(|r| r.url.path().ends_with("/media_publish"))
        .expect("publish sent");
    assert_eq!(
        form(publish).get("creation_id").map(String::as_str),
        Some("17899506308402767")
    );
    assert!(
        requests
            .iter()
            .all(|r| !r.url.query().unwrap_or("").contains("access_token")),
        "token only in the header"
    );
}

#[tokio::test]
async fn a_single_image_carries_the_caption_on_its_only_container() {
    let server = MockServer::start().await;
    mount_quota(&server, 0, 100).await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG}/media")))
        .respond_with(id("1001"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/1001"))
        .respond_with(status("FINISHED", "1001"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG}/media_publish")))
        .respond_with(id("2002"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/2002"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"id": "2002", "permalink": "https://www.instagram.com/p/X/"}),
            ),
        )
        .mount(&server)
        .await;
    let (_, end) = drive(
        &publisher(&server),
        &request(IG, 1),
        PublishProgress::start(Platform::Instagram),
    )
    .await;
    assert!(matches!(end, End::Done(_)), "{end:?}");
    let requests = server.received_requests().await.expect("recording");
    let create = requests
        .iter()
        .find(|r| r.url.path() == format!("/v25.0/{IG}/media"))
        .expect("container");
    let body = form(create);
    assert_eq!(
        body.get("caption").map(String::as_str),
        Some("Three new colours #autumn")
    );
    assert!(!body.contains_key("is_carousel_item"));
}

#[tokio::test]
async fn an_aspect_ratio_rejection_is_terminal_with_the_platform_message() {
    let server = MockServer::start().await;
    mount_quota(&server, 0, 100).await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG}/media")))
        .respond_with(graph_error(
            400,
            36003,
            Some(2_207_009),
            "The submitted image with aspect ratio 0.75 cannot be published.",
        ))
        .mount(&server)
        .await;
    let err = publisher(&server)
        .advance(
            &token(),
            &request(IG, 1),
            &PublishProgress::start(Platform::Instagram),
        )
        .await
        .expect_err("rejected");
    assert_eq!(err.class(), ErrorClass::Terminal);
    let detail = err.detail().expect("detail");
    assert_eq!(detail.code.as_deref(), Some("36003"));
    assert_eq!(detail.subcode, Some(2_207_009));
    assert_eq!(detail.trace_id.as_deref(), Some("A6LJylpZRKw2xKLFsAP-cJh"));
    assert!(detail.message.contains("aspect ratio 0.75"));
}

#[tokio::test]
async fn a_used_up_quota_stops_before_any_container_is_built() {
    let server = MockServer::start().await;
    mount_quota(&server, 100, 100).await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG}/media")))
        .respond_with(id("1"))
        .expect(0)
        .mount(&server)
        .await;
    let err = publisher(&server)
        .advance(
            &token(),
            &request(IG, 2),
            &PublishProgress::start(Platform::Instagram),
        )
        .await
        .expect_err("quota");
    assert_eq!(err.class(), ErrorClass::RateLimited);
    let quota = publisher(&server)
        .publishing_quota(&token(), IG)
        .await
        .expect("quota read")
        .expect("instagram has one");
    assert_eq!((quota.usage, quota.total, quota.remaining()), (100, 100, 0));
}

/// The carousel container of `ready_carousel` answers FINISHED.
async fn mount_ready(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v25.0/13"))
        .and(query_param("fields", "status_code,status"))
        .respond_with(status("FINISHED", "13"))
        .mount(server)
        .await;
}

fn ready_carousel() -> PublishProgress {
    let at = Utc::now();
    let container = |id: &str| Container {
        id: id.into(),
        created_at: at,
        finished: true,
    };
    PublishProgress::Instagram(InstagramProgress {
        items: vec![container("11"), container("12")],
        carousel: Some(container("13")),
        media_id: None,
        abandoned: vec![],
    })
}

#[tokio::test]
async fn resuming_a_ready_carousel_reuses_its_container() {
    let server = MockServer::start().await;
    mount_quota(&server, 1, 50).await;
    mount_ready(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG}/media")))
        .respond_with(id("x"))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG}/media_publish")))
        .and(body_string_contains("creation_id=13"))
        .respond_with(id("99"))
        .expect(1)
        .mount(&server)
        .await;
    let step = publisher(&server)
        .advance(&token(), &request(IG, 2), &ready_carousel())
        .await
        .expect("published");
    assert!(matches!(step.next, Next::Continue));
    let PublishProgress::Instagram(p) = step.progress else {
        panic!("instagram")
    };
    assert_eq!(p.media_id.as_deref(), Some("99"));
}

#[tokio::test]
async fn activity_restricted_on_publish_means_the_outcome_is_unknown() {
    let server = MockServer::start().await;
    mount_quota(&server, 1, 50).await;
    mount_ready(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG}/media_publish")))
        .respond_with(graph_error(
            400,
            4,
            Some(2_207_051),
            "Application request limit reached",
        ))
        .mount(&server)
        .await;
    let err = publisher(&server)
        .advance(&token(), &request(IG, 2), &ready_carousel())
        .await
        .expect_err("unknown");
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown);
}

#[tokio::test]
async fn a_publish_that_times_out_is_outcome_unknown() {
    let server = MockServer::start().await;
    mount_quota(&server, 1, 50).await;
    mount_ready(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG}/media_publish")))
        .respond_with(id("99").set_delay(SHORT * 3))
        .mount(&server)
        .await;
    let err = publisher(&server)
        .advance(&token(), &request(IG, 2), &ready_carousel())
        .await
        .expect_err("timeout");
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown);
}

#[tokio::test]
async fn a_container_in_error_ends_the_attempt_and_resets() {
    let server = MockServer::start().await;
    let mut progress = ready_carousel();
    if let PublishProgress::Instagram(p) = &mut progress
        && let Some(c) = p.carousel.as_mut()
    {
        c.finished = false;
    }
    Mock::given(method("GET"))
        .and(path("/v25.0/13"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status_code": "ERROR", "status": "Error: Media upload has failed with error code 2207082", "id": "13"
        })))
        .mount(&server)
        .await;
    let step = publisher(&server)
        .advance(&token(), &request(IG, 2), &progress)
        .await
        .expect("read ok");
    let Next::Failed(err) = step.next else {
        panic!("failed expected")
    };
    assert_eq!(err.class(), ErrorClass::Terminal);
    let PublishProgress::Instagram(p) = step.progress else {
        panic!("instagram")
    };
    assert!(p.items.is_empty() && p.carousel.is_none());
    assert_eq!(
        p.abandoned,
        vec!["11".to_owned(), "12".to_owned(), "13".to_owned()]
    );
}

#[tokio::test]
async fn an_expired_token_is_an_auth_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(graph_error(
            400,
            190,
            Some(463),
            "Error validating access token: Session has expired",
        ))
        .mount(&server)
        .await;
    let err = publisher(&server)
        .publishing_quota(&token(), IG)
        .await
        .expect_err("expired");
    assert_eq!(err.class(), ErrorClass::Auth);
    assert_eq!(err.code(), "account-needs-reconnect");
}

#[tokio::test]
async fn throttling_codes_back_off_with_the_usage_header_hint() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(graph_error(400, 80001, None, "There have been too many calls to this Page account").insert_header(
            "x-business-use-case-usage",
            r#"{"17841400000000001":[{"type":"instagram","call_count":100,"estimated_time_to_regain_access":5}]}"#,
        ))
        .mount(&server)
        .await;
    let err = publisher(&server)
        .publishing_quota(&token(), IG)
        .await
        .expect_err("throttled");
    assert_eq!(err.class(), ErrorClass::RateLimited);
    assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(300)));
}

#[tokio::test]
async fn server_errors_while_building_containers_are_retryable() {
    let server = MockServer::start().await;
    mount_quota(&server, 0, 100).await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG}/media")))
        .respond_with(graph_error(
            500,
            2,
            None,
            "An unexpected error has occurred. Please retry your request later.",
        ))
        .mount(&server)
        .await;
    let err = publisher(&server)
        .advance(
            &token(),
            &request(IG, 2),
            &PublishProgress::start(Platform::Instagram),
        )
        .await
        .expect_err("5xx");
    assert_eq!(err.class(), ErrorClass::Retryable);
}

#[tokio::test]
async fn a_saved_progress_whose_container_was_published_never_publishes_again() {
    let server = MockServer::start().await;
    mount_quota(&server, 1, 50).await;
    Mock::given(method("GET"))
        .and(path("/v25.0/13"))
        .respond_with(status("PUBLISHED", "13"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG}/media_publish")))
        .respond_with(id("99"))
        .expect(0)
        .mount(&server)
        .await;
    let err = publisher(&server)
        .advance(&token(), &request(IG, 2), &ready_carousel())
        .await
        .expect_err("already published");
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown);
}
