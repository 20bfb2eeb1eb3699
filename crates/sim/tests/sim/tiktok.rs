//! The TikTok adapter against the simulated Content Posting API.

use std::time::Duration;

use natronfx_platforms::{
    ErrorClass, Next, Platform, PrivacyLevel, PublishProgress, Publisher, TiktokPublisher,
};
use natronfx_sim::{Endpoint, Fault, Loss, SimConfig, TiktokCreator};

use crate::{End, default_world, drive, request, secret, world};

#[tokio::test]
async fn a_public_carousel_is_published_once_with_its_full_19_digit_id() {
    let w = default_world().await;
    let account = w.sim.add_tiktok_account(TiktokCreator::default());
    let tiktok = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let req = request(&account.id, vec![w.jpeg(540, 960), w.jpeg(540, 675)]);
    let (_, end) = drive(
        &tiktok,
        &secret(&account.token),
        &req,
        PublishProgress::start(Platform::Tiktok),
    )
    .await;
    let End::Done(published) = end else {
        panic!("expected a post, got {end:?}")
    };
    let posts = w.sim.published(&account.id);
    assert_eq!(posts.len(), 1, "exactly one post");
    assert_eq!(posts[0].id.len(), 19);
    assert_eq!(
        published.post_id.as_deref(),
        Some(posts[0].id.as_str()),
        "every digit survives the JSON number"
    );
    assert_eq!(posts[0].image_urls, req.image_urls);
    assert_eq!(posts[0].title.as_deref(), Some("Autumn drop"));
    assert_eq!(
        published.permalink.as_deref(),
        Some(posts[0].permalink.as_str())
    );
}

#[tokio::test]
async fn a_private_post_completes_without_a_public_id() {
    let w = default_world().await;
    let account = w.sim.add_tiktok_account(TiktokCreator::default());
    let tiktok = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let mut req = request(&account.id, vec![w.jpeg(540, 960)]);
    req.privacy_level = Some(PrivacyLevel::SelfOnly);
    let (_, end) = drive(
        &tiktok,
        &secret(&account.token),
        &req,
        PublishProgress::start(Platform::Tiktok),
    )
    .await;
    let End::Done(published) = end else {
        panic!("expected done, got {end:?}")
    };
    assert_eq!(published.post_id, None);
    assert_eq!(w.sim.published(&account.id).len(), 1);
}

#[tokio::test]
async fn images_over_1080_wide_or_png_fail_the_whole_post() {
    let w = default_world().await;
    let account = w.sim.add_tiktok_account(TiktokCreator::default());
    let tiktok = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let token = secret(&account.token);
    for (url, reason) in [
        (w.jpeg(1254, 1254), "picture_size_check_failed"),
        (w.png(540, 960), "file_format_check_failed"),
    ] {
        let req = request(&account.id, vec![w.jpeg(540, 960), url]);
        let (progress, end) = drive(
            &tiktok,
            &token,
            &req,
            PublishProgress::start(Platform::Tiktok),
        )
        .await;
        let End::Failed(err) = end else {
            panic!("expected failure, got {end:?}")
        };
        assert_eq!(err.class(), ErrorClass::Terminal);
        assert_eq!(err.detail().and_then(|d| d.code.as_deref()), Some(reason));
        assert!(!progress.post_requested(), "the failed attempt is cleared");
    }
    assert!(w.sim.published(&account.id).is_empty());
}

#[tokio::test]
async fn a_privacy_level_of_a_private_account_is_checked_against_creator_info() {
    let w = default_world().await;
    let account = w.sim.add_tiktok_account(TiktokCreator {
        private_account: true,
        ..TiktokCreator::default()
    });
    let tiktok = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let req = request(&account.id, vec![w.jpeg(540, 960)]);
    let err = tiktok
        .advance(
            &secret(&account.token),
            &req,
            &PublishProgress::start(Platform::Tiktok),
        )
        .await
        .expect_err("PUBLIC_TO_EVERYONE is not offered");
    assert_eq!(err.code(), "privacy-level-not-allowed");
    assert_eq!(w.sim.calls(Endpoint::TiktokInit), 0);
}

#[tokio::test]
async fn an_expired_token_is_an_auth_error() {
    let w = default_world().await;
    let account = w.sim.add_tiktok_account(TiktokCreator::default());
    w.sim.expire_token(&account.token);
    let tiktok = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let err = tiktok
        .advance(
            &secret(&account.token),
            &request(&account.id, vec![w.jpeg(540, 960)]),
            &PublishProgress::start(Platform::Tiktok),
        )
        .await
        .expect_err("expired");
    assert_eq!(err.class(), ErrorClass::Auth);
    let detail = err.detail().expect("detail");
    assert_eq!(detail.code.as_deref(), Some("access_token_invalid"));
    assert!(detail.trace_id.is_some(), "log_id kept");
}

#[tokio::test]
async fn a_lost_init_answer_is_reconciled_by_reading_back_not_by_posting_again() {
    let w = default_world().await;
    let account = w.sim.add_tiktok_account(TiktokCreator::default());
    let tiktok = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let token = secret(&account.token);
    let req = request(&account.id, vec![w.jpeg(540, 960)]);
    let started = w.sim.now();
    w.sim
        .push_fault(Endpoint::TiktokInit, Fault::CreatedThenLost(Loss::Drop));
    let err = tiktok
        .advance(&token, &req, &PublishProgress::start(Platform::Tiktok))
        .await
        .expect_err("lost");
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown);
    // TikTok keeps pulling although nobody polls; once processing is over the read-back shows the post.
    w.sim.advance_clock(Duration::from_secs(120));
    let recent = tiktok
        .recent_posts(&token, &account.id, started)
        .await
        .expect("read back");
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].title.as_deref(), Some("Autumn drop"));
    let found = tiktok
        .reconcile(&token, &req, started)
        .await
        .expect("read back")
        .expect("the post exists");
    assert_eq!(found.post_id.as_deref(), Some(recent[0].id.as_str()));
    assert_eq!(w.sim.published(&account.id).len(), 1);
    assert_eq!(w.sim.calls(Endpoint::TiktokInit), 1);
}

#[tokio::test]
async fn a_saved_progress_resumes_in_a_new_process_without_a_second_init() {
    let w = default_world().await;
    let account = w.sim.add_tiktok_account(TiktokCreator::default());
    let token = secret(&account.token);
    let req = request(&account.id, vec![w.jpeg(540, 960)]);
    let first = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let step = first
        .advance(&token, &req, &PublishProgress::start(Platform::Tiktok))
        .await
        .expect("init");
    assert!(matches!(step.next, Next::PollAfter(_)));
    let saved = serde_json::to_string(&step.progress).expect("progress serializes");
    drop(first);

    let restored: PublishProgress = serde_json::from_str(&saved).expect("progress restores");
    let second = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let (_, end) = drive(&second, &token, &req, restored).await;
    assert!(matches!(end, End::Done(_)), "{end:?}");
    assert_eq!(w.sim.calls(Endpoint::TiktokInit), 1);
    assert_eq!(w.sim.published(&account.id).len(), 1);
}

#[tokio::test]
async fn the_platform_limit_of_six_inits_a_minute_is_a_rate_limit() {
    let w = default_world().await;
    let account = w.sim.add_tiktok_account(TiktokCreator::default());
    let tiktok = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let token = secret(&account.token);
    let mut req = request(&account.id, vec![w.jpeg(540, 960)]);
    req.privacy_level = Some(PrivacyLevel::SelfOnly);
    for _ in 0..6 {
        tiktok
            .advance(&token, &req, &PublishProgress::start(Platform::Tiktok))
            .await
            .expect("init accepted");
    }
    let err = tiktok
        .advance(&token, &req, &PublishProgress::start(Platform::Tiktok))
        .await
        .expect_err("seventh");
    assert_eq!(err.class(), ErrorClass::RateLimited);
    assert_eq!(err.detail().and_then(|d| d.http_status), Some(429));
}

#[tokio::test]
async fn status_faults_are_retryable_and_the_next_poll_succeeds() {
    let w = default_world().await;
    let account = w.sim.add_tiktok_account(TiktokCreator::default());
    let tiktok = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let token = secret(&account.token);
    let req = request(&account.id, vec![w.jpeg(540, 960)]);
    let step = tiktok
        .advance(&token, &req, &PublishProgress::start(Platform::Tiktok))
        .await
        .expect("init");
    let progress = step.progress;

    w.sim
        .push_fault(Endpoint::TiktokStatus, Fault::ServerError { status: 500 });
    let err = tiktok
        .advance(&token, &req, &progress)
        .await
        .expect_err("5xx");
    assert_eq!(err.class(), ErrorClass::Retryable);
    w.sim.push_fault(
        Endpoint::TiktokStatus,
        Fault::Throttled {
            retry_after: Some(Duration::from_secs(20)),
        },
    );
    let err = tiktok
        .advance(&token, &req, &progress)
        .await
        .expect_err("429");
    assert_eq!(err.class(), ErrorClass::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(20)));
    w.sim.push_fault(Endpoint::TiktokStatus, Fault::Hang);
    let err = tiktok
        .advance(&token, &req, &progress)
        .await
        .expect_err("timeout");
    assert_eq!(
        err.class(),
        ErrorClass::Retryable,
        "a read that times out is simply retried"
    );

    let (_, end) = drive(&tiktok, &token, &req, progress).await;
    assert!(matches!(end, End::Done(_)), "{end:?}");
    assert_eq!(w.sim.published(&account.id).len(), 1);
}

#[tokio::test]
async fn a_retryable_processing_failure_restarts_cleanly_and_posts_once() {
    let w = default_world().await;
    let account = w.sim.add_tiktok_account(TiktokCreator::default());
    let tiktok = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let token = secret(&account.token);
    let req = request(&account.id, vec![w.jpeg(540, 960)]);
    w.sim
        .push_fault(Endpoint::TiktokInit, Fault::ProcessingFails);
    let (progress, end) = drive(
        &tiktok,
        &token,
        &req,
        PublishProgress::start(Platform::Tiktok),
    )
    .await;
    let End::Failed(err) = end else {
        panic!("failed expected, got {end:?}")
    };
    assert_eq!(err.class(), ErrorClass::Retryable);
    let (_, end) = drive(&tiktok, &token, &req, progress).await;
    assert!(matches!(end, End::Done(_)), "{end:?}");
    assert_eq!(w.sim.published(&account.id).len(), 1);
    assert_eq!(w.sim.calls(Endpoint::TiktokInit), 2);
}

#[tokio::test]
async fn slow_processing_takes_more_polls() {
    let w = default_world().await;
    let account = w.sim.add_tiktok_account(TiktokCreator::default());
    let tiktok = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let token = secret(&account.token);
    w.sim.push_fault(
        Endpoint::TiktokInit,
        Fault::SlowProcessing { extra_polls: 4 },
    );
    let (_, end) = drive(
        &tiktok,
        &token,
        &request(&account.id, vec![w.jpeg(540, 960)]),
        PublishProgress::start(Platform::Tiktok),
    )
    .await;
    assert!(matches!(end, End::Done(_)), "{end:?}");
    assert_eq!(w.sim.calls(Endpoint::TiktokStatus), 6);
}

#[tokio::test]
async fn the_daily_post_cap_is_a_rate_limit() {
    let w = world(SimConfig {
        tiktok_daily_post_cap: 1,
        ..SimConfig::default()
    })
    .await;
    let account = w.sim.add_tiktok_account(TiktokCreator::default());
    let tiktok = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let token = secret(&account.token);
    let req = request(&account.id, vec![w.jpeg(540, 960)]);
    let (_, end) = drive(
        &tiktok,
        &token,
        &req,
        PublishProgress::start(Platform::Tiktok),
    )
    .await;
    assert!(matches!(end, End::Done(_)), "{end:?}");
    let err = tiktok
        .advance(&token, &req, &PublishProgress::start(Platform::Tiktok))
        .await
        .expect_err("cap");
    assert_eq!(err.class(), ErrorClass::RateLimited);
    assert_eq!(
        err.detail().and_then(|d| d.code.as_deref()),
        Some("spam_risk_too_many_posts")
    );
}

#[tokio::test]
async fn unverified_url_prefixes_are_refused_at_init() {
    let w = world(SimConfig {
        tiktok_verified_prefixes: vec!["https://media.example.com/".into()],
        ..SimConfig::default()
    })
    .await;
    let account = w.sim.add_tiktok_account(TiktokCreator::default());
    let tiktok = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let err = tiktok
        .advance(
            &secret(&account.token),
            &request(&account.id, vec![w.jpeg(540, 960)]),
            &PublishProgress::start(Platform::Tiktok),
        )
        .await
        .expect_err("refused");
    assert_eq!(err.class(), ErrorClass::Terminal);
    assert_eq!(
        err.detail().and_then(|d| d.code.as_deref()),
        Some("url_ownership_unverified")
    );
}

#[tokio::test]
async fn account_info_reads_the_user() {
    let w = default_world().await;
    let account = w.sim.add_tiktok_account(TiktokCreator::default());
    let tiktok = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let info = tiktok
        .account_info(&secret(&account.token), &account.id)
        .await
        .expect("user info");
    assert_eq!(info.id, account.id);
    assert_eq!(info.display_name.as_deref(), Some("natron.demo"));
    assert_eq!(
        tiktok
            .publishing_quota(&secret(&account.token), &account.id)
            .await
            .expect("no quota"),
        None
    );
}

#[tokio::test]
async fn a_hang_before_anything_was_created_reads_back_empty_and_a_retry_posts_once() {
    let w = default_world().await;
    let account = w.sim.add_tiktok_account(TiktokCreator::default());
    let tiktok = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let token = secret(&account.token);
    let req = request(&account.id, vec![w.jpeg(540, 960)]);
    let started = w.sim.now();
    w.sim.push_fault(Endpoint::TiktokInit, Fault::Hang);
    let err = tiktok
        .advance(&token, &req, &PublishProgress::start(Platform::Tiktok))
        .await
        .expect_err("timed out");
    assert_eq!(
        err.class(),
        ErrorClass::OutcomeUnknown,
        "the client cannot know the init never ran"
    );
    w.sim.advance_clock(Duration::from_secs(120));
    assert!(
        tiktok
            .recent_posts(&token, &account.id, started)
            .await
            .expect("read back")
            .is_empty()
    );
    let (_, end) = drive(
        &tiktok,
        &token,
        &req,
        PublishProgress::start(Platform::Tiktok),
    )
    .await;
    assert!(matches!(end, End::Done(_)), "{end:?}");
    assert_eq!(w.sim.published(&account.id).len(), 1);
}

#[tokio::test]
async fn status_reads_without_creating_anything() {
    use natronfx_platforms::RemoteStatus;
    let w = default_world().await;
    let account = w.sim.add_tiktok_account(TiktokCreator::default());
    let tiktok = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let token = secret(&account.token);
    let fresh = PublishProgress::start(Platform::Tiktok);
    assert_eq!(
        tiktok.status(&token, &fresh).await.expect("status"),
        RemoteStatus::NotStarted
    );
    let step = tiktok
        .advance(
            &token,
            &request(&account.id, vec![w.jpeg(540, 960)]),
            &fresh,
        )
        .await
        .expect("init");
    assert_eq!(
        tiktok.status(&token, &step.progress).await.expect("status"),
        RemoteStatus::Processing
    );
    let RemoteStatus::Published(published) =
        tiktok.status(&token, &step.progress).await.expect("status")
    else {
        panic!("published after the second poll")
    };
    assert_eq!(
        published.post_id.as_deref(),
        Some(w.sim.published(&account.id)[0].id.as_str())
    );
    assert_eq!(w.sim.calls(Endpoint::TiktokInit), 1);
}
