//! Facebook Page photo publishing over the Graph API.

use natronfx_platforms::{
    ErrorClass, FacebookPublisher, GraphConfig, Platform, PublishProgress, Publisher,
};
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{BEARER, End, SHORT, Seq, drive, form, request, token};

const PAGE: &str = "104857600000001";

fn publisher(server: &MockServer) -> FacebookPublisher {
    let mut config = GraphConfig::with_host(server.uri(), "v26.0");
    config.timeout = SHORT;
    FacebookPublisher::new(config).expect("adapter builds")
}

async fn mount_readback(server: &MockServer, post: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/v26.0/{post}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": post, "is_published": true, "permalink_url": format!("https://www.facebook.com/{post}"),
            "created_time": "2026-09-11T10:00:00+0000", "message": "Three new colours #autumn"
        })))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_single_photo_is_one_photos_call_with_the_caption() {
    let server = MockServer::start().await;
    let post = format!("{PAGE}_555");
    Mock::given(method("POST"))
        .and(path(format!("/v26.0/{PAGE}/photos")))
        .and(header("authorization", BEARER))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "777", "post_id": post})),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_readback(&server, &post).await;
    let (_, end) = drive(
        &publisher(&server),
        &request(PAGE, 1),
        PublishProgress::start(Platform::Facebook),
    )
    .await;
    let End::Done(published) = end else {
        panic!("done expected, got {end:?}")
    };
    assert_eq!(published.post_id.as_deref(), Some(post.as_str()));
    let requests = server.received_requests().await.expect("recording");
    let body = form(&requests[0]);
    assert_eq!(
        body.get("url").map(String::as_str),
        Some("https://media.example.com/p/0.jpg")
    );
    assert_eq!(
        body.get("caption").map(String::as_str),
        Some("Three new colours #autumn")
    );
    assert!(!body.contains_key("published"));
}

#[tokio::test]
async fn several_photos_are_uploaded_unpublished_then_attached_to_one_feed_post() {
    let server = MockServer::start().await;
    let post = format!("{PAGE}_556");
    Mock::given(method("POST"))
        .and(path(format!("/v26.0/{PAGE}/photos")))
        .and(body_string_contains("published=false"))
        .respond_with(Seq::new(vec![
            ResponseTemplate::new(200).set_body_json(json!({"id": "901"})),
            ResponseTemplate::new(200).set_body_json(json!({"id": "902"})),
        ]))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v26.0/{PAGE}/feed")))
        .and(header("authorization", BEARER))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": post, "post_supports_client_mutation_id": true})),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_readback(&server, &post).await;
    let (_, end) = drive(
        &publisher(&server),
        &request(PAGE, 2),
        PublishProgress::start(Platform::Facebook),
    )
    .await;
    assert!(matches!(end, End::Done(_)), "{end:?}");
    let requests = server.received_requests().await.expect("recording");
    let feed = requests
        .iter()
        .find(|r| r.url.path().ends_with("/feed"))
        .expect("feed call");
    let body = form(feed);
    assert_eq!(
        body.get("message").map(String::as_str),
        Some("Three new colours #autumn")
    );
    assert_eq!(
        body.get("attached_media[0]").map(String::as_str),
        Some(r#"{"media_fbid":"901"}"#)
    );
    assert_eq!(
        body.get("attached_media[1]").map(String::as_str),
        Some(r#"{"media_fbid":"902"}"#)
    );
}

#[tokio::test]
async fn page_throttling_and_bad_images_are_classified() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v26.0/{PAGE}/photos")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "(#324) Missing or invalid image file", "type": "OAuthException", "code": 324, "fbtrace_id": "Fb1"
        }})))
        .mount(&server)
        .await;
    let err = publisher(&server)
        .advance(
            &token(),
            &request(PAGE, 1),
            &PublishProgress::start(Platform::Facebook),
        )
        .await
        .expect_err("bad image");
    assert_eq!(err.class(), ErrorClass::Terminal);
    assert_eq!(
        err.detail().and_then(|d| d.trace_id.as_deref()),
        Some("Fb1")
    );

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"error": {
            "message": "Please reduce the amount of data you're asking for, then retry your request", "type": "OAuthException", "code": 1
        }})))
        .mount(&server)
        .await;
    let err = publisher(&server)
        .advance(
            &token(),
            &request(PAGE, 1),
            &PublishProgress::start(Platform::Facebook),
        )
        .await
        .expect_err("5xx on the posting call");
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown);
}
