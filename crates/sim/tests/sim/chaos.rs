//! Random faults on every endpoint, and a caller that follows the error classes: every post ends up
//! published exactly once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use natronfx_platforms::{
    ErrorClass, FacebookPublisher, InstagramPublisher, Next, Platform, PublishProgress,
    PublishRequest, Publisher, TiktokPublisher,
};
use natronfx_sim::{Fault, GraphHost, Loss, RandomFaults, SimConfig, TiktokCreator};
use secrecy::SecretString;

use crate::{request, world};

/// What a dispatcher does: persist progress, retry on retryable classes, read back on unknown outcomes.
async fn publish_like_a_dispatcher(
    publisher: &dyn Publisher,
    token: &SecretString,
    req: &PublishRequest,
    platform: Platform,
    started: DateTime<Utc>,
    advance_clock: &dyn Fn(),
) -> bool {
    let mut progress = PublishProgress::start(platform);
    for _ in 0..200 {
        match publisher.advance(token, req, &progress).await {
            Ok(step) => {
                progress = step.progress;
                match step.next {
                    Next::Done(_) => return true,
                    Next::Failed(e) if e.class() == ErrorClass::Terminal => return false,
                    _ => {}
                }
            }
            Err(e) => match e.class() {
                ErrorClass::Retryable | ErrorClass::RateLimited => advance_clock(),
                ErrorClass::OutcomeUnknown => {
                    // Let the platform finish whatever it started, then look before acting.
                    advance_clock();
                    match publisher.reconcile(token, req, started).await {
                        Ok(Some(_)) => return true,
                        Ok(None) => {}
                        Err(_) => continue,
                    }
                    // Not there: the creating call did not happen, so starting that step again is safe.
                    if platform == Platform::Tiktok {
                        progress = PublishProgress::start(platform);
                    }
                }
                ErrorClass::Auth | ErrorClass::Terminal => panic!("unexpected {e}"),
            },
        }
    }
    panic!("no outcome after 200 steps")
}

fn chaos(seed: u64) -> Option<RandomFaults> {
    Some(RandomFaults {
        seed,
        probability: 0.25,
        faults: vec![
            Fault::ServerError { status: 503 },
            Fault::Throttled {
                retry_after: Some(Duration::from_secs(60)),
            },
            Fault::TooManyRequests { retry_after: None },
            Fault::CreatedThenLost(Loss::Drop),
            Fault::CreatedThenLost(Loss::ServerError),
            Fault::SlowProcessing { extra_polls: 2 },
        ],
        endpoints: vec![],
    })
}

#[tokio::test]
async fn every_post_is_published_exactly_once_under_random_faults() {
    let w = world(SimConfig {
        enforce_rate_limits: false,
        ..SimConfig::default()
    })
    .await;
    let tiktok_account = w.sim.add_tiktok_account(TiktokCreator::default());
    let ig_account = w
        .sim
        .add_instagram_account("natron.ig", GraphHost::Instagram);
    let page = w.sim.add_facebook_page("Natron Coffee");
    let tiktok = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let ig = InstagramPublisher::new(w.instagram_config()).expect("adapter");
    let fb = FacebookPublisher::new(w.facebook_config()).expect("adapter");
    let tick = || w.sim.advance_clock(Duration::from_secs(61));

    for seed in 1..=4u64 {
        w.sim.set_random_faults(chaos(seed));
        let started = w.sim.now();
        let mut req = request(&tiktok_account.id, vec![w.jpeg(540, 960), w.jpeg(540, 960)]);
        req.caption = format!("tiktok run {seed} #autumn");
        assert!(
            publish_like_a_dispatcher(
                &tiktok,
                &SecretString::from(tiktok_account.token.clone()),
                &req,
                Platform::Tiktok,
                started,
                &tick
            )
            .await
        );

        let mut req = request(
            &ig_account.id,
            vec![w.jpeg(400, 500), w.jpeg(400, 500), w.jpeg(400, 500)],
        );
        req.caption = format!("instagram run {seed} #autumn");
        assert!(
            publish_like_a_dispatcher(
                &ig,
                &SecretString::from(ig_account.token.clone()),
                &req,
                Platform::Instagram,
                started,
                &tick
            )
            .await
        );

        let mut req = request(&page.id, vec![w.jpeg(600, 400), w.jpeg(600, 400)]);
        req.caption = format!("facebook run {seed} #autumn");
        assert!(
            publish_like_a_dispatcher(
                &fb,
                &SecretString::from(page.token.clone()),
                &req,
                Platform::Facebook,
                started,
                &tick
            )
            .await
        );
    }
    w.sim.set_random_faults(None);
    assert!(
        w.sim.faults_injected() >= 10,
        "the run met faults: {}",
        w.sim.faults_injected()
    );

    for (account, label) in [
        (&tiktok_account.id, "tiktok"),
        (&ig_account.id, "instagram"),
        (&page.id, "facebook"),
    ] {
        let posts = w.sim.published(account);
        for seed in 1..=4u64 {
            let caption = format!("{label} run {seed} #autumn");
            let count = posts.iter().filter(|p| p.caption == caption).count();
            assert_eq!(count, 1, "{caption} was published {count} times");
        }
    }
}
