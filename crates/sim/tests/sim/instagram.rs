//! The Instagram adapter against the simulated Graph API, on both login hosts.

use std::time::Duration;

use natronfx_platforms::{
    ErrorClass, InstagramPublisher, Next, Platform, PublishProgress, Publisher,
};
use natronfx_sim::{Endpoint, Fault, GraphHost, Loss, SimConfig};

use crate::{End, default_world, drive, request, secret, world};

#[tokio::test]
async fn a_carousel_is_published_once_with_its_images_in_order() {
    let w = default_world().await;
    let account = w
        .sim
        .add_instagram_account("natron.ig", GraphHost::Instagram);
    let ig = InstagramPublisher::new(w.instagram_config()).expect("adapter");
    let req = request(
        &account.id,
        vec![w.jpeg(400, 500), w.jpeg(500, 500), w.jpeg(573, 300)],
    );
    let (_, end) = drive(
        &ig,
        &secret(&account.token),
        &req,
        PublishProgress::start(Platform::Instagram),
    )
    .await;
    let End::Done(published) = end else {
        panic!("expected done, got {end:?}")
    };
    let posts = w.sim.published(&account.id);
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].image_urls, req.image_urls);
    assert_eq!(posts[0].caption, req.caption);
    assert_eq!(published.post_id.as_deref(), Some(posts[0].id.as_str()));
    assert_eq!(
        published.permalink.as_deref(),
        Some(posts[0].permalink.as_str())
    );
    assert!(
        w.sim.contract_warnings().is_empty(),
        "{:?}",
        w.sim.contract_warnings()
    );
    assert_eq!(w.sim.calls(Endpoint::InstagramCreateContainer), 4);
}

#[tokio::test]
async fn a_single_image_publishes_through_the_facebook_login_host() {
    let w = default_world().await;
    let account = w
        .sim
        .add_instagram_account("natron.fb", GraphHost::Facebook);
    let ig = InstagramPublisher::new(w.facebook_config()).expect("adapter");
    let req = request(&account.id, vec![w.jpeg(432, 540)]);
    let (_, end) = drive(
        &ig,
        &secret(&account.token),
        &req,
        PublishProgress::start(Platform::Instagram),
    )
    .await;
    assert!(matches!(end, End::Done(_)), "{end:?}");
    assert_eq!(w.sim.published(&account.id).len(), 1);
    let info = ig
        .account_info(&secret(&account.token), &account.id)
        .await
        .expect("user");
    assert_eq!(info.username.as_deref(), Some("natron.fb"));
}

#[tokio::test]
async fn an_instagram_login_token_on_the_facebook_host_needs_a_reconnect() {
    let w = default_world().await;
    let account = w
        .sim
        .add_instagram_account("natron.ig", GraphHost::Instagram);
    let ig = InstagramPublisher::new(w.facebook_config()).expect("adapter");
    let err = ig
        .publishing_quota(&secret(&account.token), &account.id)
        .await
        .expect_err("wrong host");
    assert_eq!(err.class(), ErrorClass::Auth);
    assert!(
        err.detail()
            .is_some_and(|d| d.message.contains("Cannot parse access token"))
    );
}

#[tokio::test]
async fn a_3_to_4_image_is_refused_with_the_platform_message() {
    let w = default_world().await;
    let account = w
        .sim
        .add_instagram_account("natron.ig", GraphHost::Instagram);
    let ig = InstagramPublisher::new(w.instagram_config()).expect("adapter");
    let req = request(&account.id, vec![w.jpeg(300, 400)]);
    let (_, end) = drive(
        &ig,
        &secret(&account.token),
        &req,
        PublishProgress::start(Platform::Instagram),
    )
    .await;
    let End::Err(err) = end else {
        panic!("expected an error, got {end:?}")
    };
    assert_eq!(err.class(), ErrorClass::Terminal);
    let detail = err.detail().expect("detail");
    assert_eq!(
        (detail.code.as_deref(), detail.subcode),
        (Some("36003"), Some(2_207_009))
    );
    assert_eq!(
        detail.message,
        "The submitted image with aspect ratio 0.75 cannot be published."
    );
    assert!(detail.trace_id.is_some(), "fbtrace_id kept");
    assert!(w.sim.published(&account.id).is_empty());
}

#[tokio::test]
async fn a_reached_quota_stops_before_building_containers() {
    let w = world(SimConfig {
        instagram_quota_total: 1,
        ..SimConfig::default()
    })
    .await;
    let account = w
        .sim
        .add_instagram_account("natron.ig", GraphHost::Instagram);
    let ig = InstagramPublisher::new(w.instagram_config()).expect("adapter");
    let token = secret(&account.token);
    let req = request(&account.id, vec![w.jpeg(400, 500)]);
    let (_, end) = drive(
        &ig,
        &token,
        &req,
        PublishProgress::start(Platform::Instagram),
    )
    .await;
    assert!(matches!(end, End::Done(_)), "{end:?}");
    let quota = ig
        .publishing_quota(&token, &account.id)
        .await
        .expect("quota")
        .expect("instagram has a quota");
    assert_eq!((quota.usage, quota.total), (1, 1));
    let before = w.sim.calls(Endpoint::InstagramCreateContainer);
    let err = ig
        .advance(&token, &req, &PublishProgress::start(Platform::Instagram))
        .await
        .expect_err("quota");
    assert_eq!(err.class(), ErrorClass::RateLimited);
    assert_eq!(w.sim.calls(Endpoint::InstagramCreateContainer), before);
    w.sim.advance_clock(Duration::from_secs(25 * 3600));
    let (_, end) = drive(
        &ig,
        &token,
        &req,
        PublishProgress::start(Platform::Instagram),
    )
    .await;
    assert!(matches!(end, End::Done(_)), "the window moved on: {end:?}");
}

#[tokio::test]
async fn a_lost_publish_answer_never_publishes_twice() {
    let w = default_world().await;
    let account = w
        .sim
        .add_instagram_account("natron.ig", GraphHost::Instagram);
    let ig = InstagramPublisher::new(w.instagram_config()).expect("adapter");
    let token = secret(&account.token);
    let req = request(&account.id, vec![w.jpeg(400, 500), w.jpeg(400, 500)]);
    let started = w.sim.now();
    w.sim.push_fault(
        Endpoint::InstagramPublish,
        Fault::CreatedThenLost(Loss::ServerError),
    );
    let (progress, end) = drive(
        &ig,
        &token,
        &req,
        PublishProgress::start(Platform::Instagram),
    )
    .await;
    let End::Err(err) = end else {
        panic!("expected an error, got {end:?}")
    };
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown);
    // Advancing again sees the container PUBLISHED and still refuses to guess.
    let err = ig
        .advance(&token, &req, &progress)
        .await
        .expect_err("still unknown");
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown);
    let recent = ig
        .recent_posts(&token, &account.id, started)
        .await
        .expect("read back");
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].caption.as_deref(), Some(req.caption.as_str()));
    assert_eq!(w.sim.published(&account.id).len(), 1);
    assert_eq!(w.sim.calls(Endpoint::InstagramPublish), 1);
}

#[tokio::test]
async fn a_resumed_progress_reuses_its_containers() {
    let w = default_world().await;
    let account = w
        .sim
        .add_instagram_account("natron.ig", GraphHost::Instagram);
    let token = secret(&account.token);
    let req = request(&account.id, vec![w.jpeg(400, 500), w.jpeg(400, 500)]);
    let first = InstagramPublisher::new(w.instagram_config()).expect("adapter");
    let mut progress = PublishProgress::start(Platform::Instagram);
    for _ in 0..2 {
        let step = first
            .advance(&token, &req, &progress)
            .await
            .expect("item container");
        assert!(matches!(step.next, Next::Continue));
        progress = step.progress;
    }
    let saved = serde_json::to_value(&progress).expect("serializes");
    let second = InstagramPublisher::new(w.instagram_config()).expect("adapter");
    let (_, end) = drive(
        &second,
        &token,
        &req,
        serde_json::from_value(saved).expect("restores"),
    )
    .await;
    assert!(matches!(end, End::Done(_)), "{end:?}");
    assert_eq!(
        w.sim.calls(Endpoint::InstagramCreateContainer),
        3,
        "two items and one carousel, no more"
    );
    assert_eq!(w.sim.published(&account.id).len(), 1);
}

#[tokio::test]
async fn expired_containers_are_rebuilt_before_publishing() {
    let w = default_world().await;
    let account = w
        .sim
        .add_instagram_account("natron.ig", GraphHost::Instagram);
    let ig = InstagramPublisher::new(w.instagram_config()).expect("adapter");
    let token = secret(&account.token);
    let req = request(&account.id, vec![w.jpeg(400, 500), w.jpeg(400, 500)]);
    let mut progress = PublishProgress::start(Platform::Instagram);
    for _ in 0..2 {
        progress = ig
            .advance(&token, &req, &progress)
            .await
            .expect("item")
            .progress;
    }
    w.sim.advance_clock(Duration::from_secs(25 * 3600));
    let (progress, end) = drive(&ig, &token, &req, progress).await;
    assert!(matches!(end, End::Done(_)), "{end:?}");
    let PublishProgress::Instagram(p) = progress else {
        panic!("instagram")
    };
    assert_eq!(p.abandoned.len(), 2, "the expired items were given up");
    assert_eq!(w.sim.published(&account.id).len(), 1);
}

#[tokio::test]
async fn a_container_that_fails_processing_restarts_and_posts_once() {
    let w = default_world().await;
    let account = w
        .sim
        .add_instagram_account("natron.ig", GraphHost::Instagram);
    let ig = InstagramPublisher::new(w.instagram_config()).expect("adapter");
    let token = secret(&account.token);
    let req = request(&account.id, vec![w.jpeg(400, 500)]);
    w.sim
        .push_fault(Endpoint::InstagramCreateContainer, Fault::ProcessingFails);
    let (progress, end) = drive(
        &ig,
        &token,
        &req,
        PublishProgress::start(Platform::Instagram),
    )
    .await;
    let End::Failed(err) = end else {
        panic!("failed expected, got {end:?}")
    };
    assert_eq!(err.class(), ErrorClass::Retryable);
    assert_eq!(err.detail().and_then(|d| d.subcode), Some(2_207_001));
    let (_, end) = drive(&ig, &token, &req, progress).await;
    assert!(matches!(end, End::Done(_)), "{end:?}");
    assert_eq!(w.sim.published(&account.id).len(), 1);
}

#[tokio::test]
async fn throttling_and_expired_tokens_are_classified() {
    let w = default_world().await;
    let account = w
        .sim
        .add_instagram_account("natron.ig", GraphHost::Instagram);
    let ig = InstagramPublisher::new(w.instagram_config()).expect("adapter");
    let token = secret(&account.token);
    w.sim.push_fault(
        Endpoint::InstagramPublishingLimit,
        Fault::Throttled {
            retry_after: Some(Duration::from_secs(120)),
        },
    );
    let err = ig
        .publishing_quota(&token, &account.id)
        .await
        .expect_err("throttled");
    assert_eq!(err.class(), ErrorClass::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    w.sim.push_fault(
        Endpoint::InstagramPublishingLimit,
        Fault::TooManyRequests { retry_after: None },
    );
    let err = ig
        .publishing_quota(&token, &account.id)
        .await
        .expect_err("bare 429");
    assert_eq!(err.class(), ErrorClass::RateLimited);
    w.sim.expire_token(&account.token);
    let err = ig
        .publishing_quota(&token, &account.id)
        .await
        .expect_err("expired");
    assert_eq!(err.class(), ErrorClass::Auth);
    assert_eq!(err.detail().and_then(|d| d.subcode), Some(463));
}
