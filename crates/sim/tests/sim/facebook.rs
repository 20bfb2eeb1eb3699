//! The Facebook Page adapter against the simulated Graph API.

use natronfx_platforms::{ErrorClass, FacebookPublisher, Platform, PublishProgress, Publisher};
use natronfx_sim::{Endpoint, Fault, Loss};

use crate::{End, default_world, drive, request, secret};

#[tokio::test]
async fn a_single_photo_becomes_one_page_post() {
    let w = default_world().await;
    let page = w.sim.add_facebook_page("Natron Coffee");
    let fb = FacebookPublisher::new(w.facebook_config()).expect("adapter");
    let req = request(&page.id, vec![w.png(600, 400)]);
    let (_, end) = drive(
        &fb,
        &secret(&page.token),
        &req,
        PublishProgress::start(Platform::Facebook),
    )
    .await;
    let End::Done(published) = end else {
        panic!("done expected, got {end:?}")
    };
    let posts = w.sim.published(&page.id);
    assert_eq!(posts.len(), 1);
    assert_eq!(published.post_id.as_deref(), Some(posts[0].id.as_str()));
    assert!(posts[0].id.starts_with(&format!("{}_", page.id)));
}

#[tokio::test]
async fn several_photos_become_one_post_with_the_photos_in_order() {
    let w = default_world().await;
    let page = w.sim.add_facebook_page("Natron Coffee");
    let fb = FacebookPublisher::new(w.facebook_config()).expect("adapter");
    let req = request(
        &page.id,
        vec![w.jpeg(600, 400), w.jpeg(400, 600), w.jpeg(500, 500)],
    );
    let (_, end) = drive(
        &fb,
        &secret(&page.token),
        &req,
        PublishProgress::start(Platform::Facebook),
    )
    .await;
    assert!(matches!(end, End::Done(_)), "{end:?}");
    let posts = w.sim.published(&page.id);
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].image_urls, req.image_urls);
    assert_eq!(posts[0].caption, req.caption);
}

#[tokio::test]
async fn a_lost_feed_answer_is_found_by_the_read_back() {
    let w = default_world().await;
    let page = w.sim.add_facebook_page("Natron Coffee");
    let fb = FacebookPublisher::new(w.facebook_config()).expect("adapter");
    let token = secret(&page.token);
    let req = request(&page.id, vec![w.jpeg(600, 400), w.jpeg(400, 600)]);
    let started = w.sim.now();
    w.sim
        .push_fault(Endpoint::FacebookFeed, Fault::CreatedThenLost(Loss::Drop));
    let (_, end) = drive(
        &fb,
        &token,
        &req,
        PublishProgress::start(Platform::Facebook),
    )
    .await;
    let End::Err(err) = end else {
        panic!("error expected, got {end:?}")
    };
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown);
    let recent = fb
        .recent_posts(&token, &page.id, started)
        .await
        .expect("read back");
    assert_eq!(recent.len(), 1);
    assert_eq!(w.sim.published(&page.id).len(), 1);
}

#[tokio::test]
async fn an_unreachable_image_is_refused() {
    let w = default_world().await;
    let page = w.sim.add_facebook_page("Natron Coffee");
    let fb = FacebookPublisher::new(w.facebook_config()).expect("adapter");
    let req = request(&page.id, vec![w.missing()]);
    let err = fb
        .advance(
            &secret(&page.token),
            &req,
            &PublishProgress::start(Platform::Facebook),
        )
        .await
        .expect_err("refused");
    assert_eq!(err.class(), ErrorClass::Terminal);
    assert_eq!(err.detail().and_then(|d| d.code.as_deref()), Some("324"));
}

#[tokio::test]
async fn page_faults_map_to_every_error_class() {
    let w = default_world().await;
    let page = w.sim.add_facebook_page("Natron Coffee");
    let fb = FacebookPublisher::new(w.facebook_config()).expect("adapter");
    let token = secret(&page.token);
    let req = request(&page.id, vec![w.jpeg(600, 400), w.jpeg(400, 600)]);
    let fresh = PublishProgress::start(Platform::Facebook);
    let cases = [
        (
            Fault::Throttled {
                retry_after: Some(std::time::Duration::from_secs(300)),
            },
            ErrorClass::RateLimited,
        ),
        (Fault::ServerError { status: 503 }, ErrorClass::Retryable),
        (Fault::ExpiredToken, ErrorClass::Auth),
    ];
    for (fault, class) in cases {
        w.sim.push_fault(Endpoint::FacebookPhotos, fault.clone());
        let err = fb
            .advance(&token, &req, &fresh)
            .await
            .expect_err("fault answers");
        assert_eq!(err.class(), class, "{fault:?} gave {err}");
    }
    assert!(w.sim.published(&page.id).is_empty());
}

#[tokio::test]
async fn a_resumed_multi_photo_post_reuses_uploaded_photos() {
    let w = default_world().await;
    let page = w.sim.add_facebook_page("Natron Coffee");
    let token = secret(&page.token);
    let req = request(&page.id, vec![w.jpeg(600, 400), w.jpeg(400, 600)]);
    let first = FacebookPublisher::new(w.facebook_config()).expect("adapter");
    let mut progress = PublishProgress::start(Platform::Facebook);
    for _ in 0..2 {
        progress = first
            .advance(&token, &req, &progress)
            .await
            .expect("photo uploaded")
            .progress;
    }
    let saved = serde_json::to_string(&progress).expect("serializes");
    let second = FacebookPublisher::new(w.facebook_config()).expect("adapter");
    let (_, end) = drive(
        &second,
        &token,
        &req,
        serde_json::from_str(&saved).expect("restores"),
    )
    .await;
    assert!(matches!(end, End::Done(_)), "{end:?}");
    assert_eq!(
        w.sim.calls(Endpoint::FacebookPhotos),
        2,
        "no photo uploaded twice"
    );
    assert_eq!(w.sim.published(&page.id).len(), 1);
}
