//! The dispatcher, stepped deterministically against the simulator with faults: every branch of the
//! publish path on SQLite and PostgreSQL.

use std::time::Duration;

use natronfx_platforms::{
    Platform as AdapterPlatform, PublishProgress, Publisher, TiktokConfig, TiktokPublisher,
};
use natronfx_service::Clock as _;
use natronfx_service::store::{DispatchRecord, Fence, Lease};
use natronfx_service::testing::TestApp;
use natronfx_service::workflow::PostId;
use natronfx_service::workflow::{ApprovalPolicy, PostState, TargetOptions, TargetState};
use natronfx_service::{
    DispatchConfig, DispatchReport, Dispatcher, PostInput, Publishers, ScheduleRequest, SlideInput,
    TargetInput,
};
use natronfx_sim::{ClockMode, Endpoint, Fault, Loss, SimConfig, SimHandle, Simulator};

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(natronfx_service::testing::TestApp::sqlite_served().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(natronfx_service::testing::TestApp::postgres_served().await).await;
                }
            )*
        }
    };
}

both!(
    a_post_reaches_every_platform_exactly_once,
    a_5xx_before_anything_exists_is_retried_after_a_backoff,
    retries_run_out_into_failed_with_the_last_error,
    a_lost_tiktok_init_is_found_by_read_back_and_never_sent_twice,
    a_lost_instagram_publish_is_found_at_once,
    a_crash_between_call_and_commit_is_reconciled_not_repeated,
    a_rejected_post_fails_with_the_platforms_message,
    missed_targets_wait_for_a_person,
    tiktok_inits_are_paced_per_account,
    the_ledger_refuses_a_second_send_and_republish_is_deliberate,
    cancelling_a_waiting_target_stops_it,
    an_auth_error_refreshes_once_then_the_target_waits_not_fails,
    archiving_a_scheduled_post_stops_its_targets,
);

pub(crate) struct World {
    pub(crate) app: TestApp,
    pub(crate) sim: SimHandle,
    pub(crate) dispatcher: Dispatcher,
}

fn config() -> DispatchConfig {
    DispatchConfig {
        max_inline_poll_ms: 0,
        lease_secs: 60,
        max_retries: 2,
        retry_base_secs: 10,
        retry_max_secs: 60,
        tiktok_settle_secs: 120,
        ..DispatchConfig::default()
    }
}

pub(crate) async fn world(app: TestApp) -> World {
    let sim = Simulator::start(SimConfig {
        clock: ClockMode::Manual,
        sandbox_tokens: true,
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let publishers =
        Publishers::simulator(&format!("http://{}", sim.addr()), Duration::from_secs(2))
            .expect("adapters");
    let dispatcher = Dispatcher::new(
        app.service.clone(),
        config(),
        "worker-1",
        publishers.clone(),
        Some(publishers),
    );
    app.service
        .set_approval_policy(&app.admin, ApprovalPolicy::None)
        .await
        .unwrap();
    World {
        app,
        sim,
        dispatcher,
    }
}

impl World {
    /// An approved post to the given sandbox accounts, scheduled ten minutes ahead; returns its id.
    async fn scheduled(&self, accounts: &[&str], caption: &str, seed: u8) -> PostId {
        let s = &self.app.service;
        let mut slides = Vec::new();
        for (i, alt) in ["a cup", "the beans"].into_iter().enumerate() {
            slides.push(SlideInput {
                media_id: self
                    .app
                    .photo(1080, 1350, seed.wrapping_mul(2).wrapping_add(i as u8))
                    .await
                    .to_string(),
                alt_text: alt.into(),
            });
        }
        let targets = accounts
            .iter()
            .map(|a| TargetInput {
                account: (*a).into(),
                caption: None,
                options: TargetOptions {
                    privacy_level: a.contains("tiktok").then(|| "SELF_ONLY".into()),
                    ..Default::default()
                },
            })
            .collect();
        let post = s
            .create_post(
                &self.app.editor,
                PostInput {
                    title: "Winter roast".into(),
                    caption: caption.into(),
                    hashtags: vec!["coffee".into()],
                    slides,
                    targets,
                },
            )
            .await
            .unwrap();
        s.submit_post(&self.app.editor, post.id).await.unwrap();
        let due = self.app.clock.now() + chrono::Duration::minutes(10);
        s.schedule_post(
            &self.app.editor,
            post.id,
            ScheduleRequest {
                local: due.format("%Y-%m-%d %H:%M").to_string(),
                zone: "UTC".into(),
                ambiguity: Default::default(),
                targets: vec![],
                expected_version: None,
            },
        )
        .await
        .unwrap();
        post.id
    }

    pub(crate) fn advance(&self, by: chrono::Duration) {
        self.app.clock.advance(by);
        self.sim.advance_clock(by.to_std().unwrap());
    }

    /// Steps the dispatcher (moving both clocks five seconds each pass) until nothing has been claimed
    /// for 200 simulated seconds, summing the reports.
    pub(crate) async fn settle(&self) -> DispatchReport {
        let mut total = DispatchReport::default();
        let mut idle = 0;
        for _ in 0..200 {
            let r = self.dispatcher.run_once().await.unwrap();
            total.published += r.published;
            total.failed += r.failed;
            total.retrying += r.retrying;
            total.needs_attention += r.needs_attention;
            total.refused += r.refused;
            total.claimed += r.claimed;
            if r.claimed == 0 {
                idle += 1;
                if idle > 40 {
                    break;
                }
            } else {
                idle = 0;
            }
            self.advance(chrono::Duration::seconds(5));
        }
        total
    }

    async fn state(&self, post: PostId) -> PostState {
        self.app.service.store().post(post).await.unwrap().state()
    }

    async fn target_states(&self, post: PostId) -> Vec<TargetState> {
        let p = self.app.service.store().post(post).await.unwrap();
        p.targets.iter().map(|t| t.state).collect()
    }

    fn live(&self, external: &str) -> usize {
        self.sim.published(external).len()
    }
}

async fn a_post_reaches_every_platform_exactly_once(app: TestApp) {
    let w = world(app).await;
    let post = w
        .scheduled(
            &["@sandbox.instagram", "@sandbox.tiktok", "@sandbox.facebook"],
            "Fresh roast",
            1,
        )
        .await;
    assert_eq!(
        w.dispatcher.run_once().await.unwrap().claimed,
        0,
        "not due yet"
    );
    w.advance(chrono::Duration::minutes(10));
    let report = w.settle().await;
    assert_eq!(report.published, 3, "{report:?}");
    assert_eq!(w.state(post).await, PostState::Published);
    for external in ["sandbox-instagram", "sandbox-tiktok", "sandbox-facebook"] {
        assert_eq!(w.live(external), 1, "{external}");
    }
    let timeline = w.app.service.timeline(&w.app.viewer, post).await.unwrap();
    for t in &timeline.targets {
        assert_eq!(t.state, TargetState::Published);
        assert!(t.platform_post_id.is_some(), "{t:?}");
        assert!(t.entries.iter().any(|e| e.kind == "started"));
        assert!(
            t.entries
                .iter()
                .any(|e| e.kind == "remote-id" && e.remote_id.is_some())
        );
        assert!(t.entries.iter().any(|e| e.kind == "published"));
    }
    let ig = timeline
        .targets
        .iter()
        .find(|t| t.account == "@sandbox.instagram")
        .unwrap();
    let sim_post = &w.sim.published("sandbox-instagram")[0];
    assert_eq!(ig.platform_post_id.as_deref(), Some(sim_post.id.as_str()));
    assert!(sim_post.caption.starts_with("Fresh roast") && sim_post.caption.ends_with("#coffee"));
    // Nothing more happens however long the dispatcher runs.
    w.advance(chrono::Duration::hours(3));
    assert_eq!(w.settle().await.claimed, 0);
    assert_eq!(w.sim.all_published().len(), 3);
    // The audit log tells the story.
    let audit = w.app.service.recent_audit(&w.app.admin, 200).await.unwrap();
    let actions: Vec<String> = audit.iter().map(|e| e.event.action.to_string()).collect();
    assert!(actions.contains(&"publish-started".to_owned()));
    assert_eq!(
        actions.iter().filter(|a| *a == "target-published").count(),
        3
    );
    assert!(actions.contains(&"publish-finished".to_owned()));
}

async fn a_5xx_before_anything_exists_is_retried_after_a_backoff(app: TestApp) {
    let w = world(app).await;
    let post = w.scheduled(&["@sandbox.facebook"], "Retry me", 2).await;
    w.sim
        .push_fault(Endpoint::FacebookPhotos, Fault::ServerError { status: 503 });
    w.advance(chrono::Duration::minutes(10));
    let first = w.dispatcher.run_once().await.unwrap();
    assert_eq!(first.retrying, 1, "{first:?}");
    assert_eq!(
        w.target_states(post).await,
        vec![TargetState::Scheduled],
        "back on the schedule"
    );
    let record = w.app.service.timeline(&w.app.admin, post).await.unwrap();
    assert!(
        record.targets[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("503"),
        "{record:?}"
    );
    assert_eq!(
        w.dispatcher.run_once().await.unwrap().claimed,
        0,
        "it waits for its backoff"
    );
    let report = w.settle().await;
    assert_eq!(report.published, 1);
    assert_eq!(w.live("sandbox-facebook"), 1);
}

async fn retries_run_out_into_failed_with_the_last_error(app: TestApp) {
    let w = world(app).await;
    let post = w.scheduled(&["@sandbox.facebook"], "Never works", 3).await;
    for _ in 0..5 {
        w.sim
            .push_fault(Endpoint::FacebookPhotos, Fault::ServerError { status: 502 });
    }
    w.advance(chrono::Duration::minutes(10));
    let report = w.settle().await;
    assert_eq!((report.retrying, report.failed), (2, 1), "{report:?}");
    assert_eq!(w.state(post).await, PostState::Failed);
    let t = &w
        .app
        .service
        .timeline(&w.app.admin, post)
        .await
        .unwrap()
        .targets[0];
    assert!(t.last_error.as_deref().unwrap().contains("502"), "{t:?}");
    assert!(
        t.entries
            .iter()
            .any(|e| e.kind == "failed" && e.http_status == Some(502))
    );
    assert_eq!(w.live("sandbox-facebook"), 0);
    // A person retries; it goes out once.
    w.app
        .service
        .schedule_post(&w.app.editor, post, ScheduleRequest::now())
        .await
        .unwrap();
    w.settle().await;
    assert_eq!(w.state(post).await, PostState::Published);
    assert_eq!(w.live("sandbox-facebook"), 1);
}

async fn a_lost_tiktok_init_is_found_by_read_back_and_never_sent_twice(app: TestApp) {
    let w = world(app).await;
    let post = w.scheduled(&["@sandbox.tiktok"], "Lost answer", 4).await;
    w.sim.push_fault(
        Endpoint::TiktokInit,
        Fault::CreatedThenLost(Loss::ServerError),
    );
    w.advance(chrono::Duration::minutes(10));
    let first = w.dispatcher.run_once().await.unwrap();
    assert_eq!(first.waiting, 1, "{first:?}");
    assert_eq!(w.target_states(post).await, vec![TargetState::Publishing]);
    // Until TikTok had time to process, an empty read-back proves nothing: no second init.
    w.advance(chrono::Duration::seconds(20));
    w.dispatcher.run_once().await.unwrap();
    let report = w.settle().await;
    assert_eq!(report.published, 1, "{report:?}");
    assert_eq!(
        w.sim.calls(Endpoint::TiktokInit),
        1,
        "init was never called again"
    );
    assert_eq!(w.live("sandbox-tiktok"), 1);
    let t = &w
        .app
        .service
        .timeline(&w.app.admin, post)
        .await
        .unwrap()
        .targets[0];
    assert!(t.entries.iter().any(|e| e.kind == "unknown"));
    assert!(
        t.entries.iter().any(|e| e.message.contains("read-back")),
        "{t:?}"
    );
}

async fn a_lost_instagram_publish_is_found_at_once(app: TestApp) {
    let w = world(app).await;
    let post = w
        .scheduled(&["@sandbox.instagram"], "Lost publish", 5)
        .await;
    w.sim.push_fault(
        Endpoint::InstagramPublish,
        Fault::CreatedThenLost(Loss::Drop),
    );
    w.advance(chrono::Duration::minutes(10));
    let report = w.settle().await;
    assert_eq!(report.published, 1, "{report:?}");
    assert_eq!(w.sim.calls(Endpoint::InstagramPublish), 1);
    assert_eq!(w.live("sandbox-instagram"), 1);
    assert_eq!(w.state(post).await, PostState::Published);
}

async fn a_crash_between_call_and_commit_is_reconciled_not_repeated(app: TestApp) {
    let w = world(app).await;
    let post = w.scheduled(&["@sandbox.tiktok"], "Crashed worker", 6).await;
    w.advance(chrono::Duration::minutes(10));
    // A worker claims and starts the target, calls TikTok, and dies before recording the publish id.
    let store = w.app.service.store();
    let now = w.app.clock.now();
    let claims = store
        .claim_due("doomed", now, now + chrono::Duration::seconds(60), 10)
        .await
        .unwrap();
    let claim = &claims[0];
    let mut p = store.post(post).await.unwrap();
    let events = p.start_target(claim.target, now).unwrap();
    let fence = Fence {
        target: claim.target,
        worker: "doomed".into(),
        attempt: claim.attempt,
    };
    let started = DispatchRecord {
        first_attempt_at: Some(now),
        ..DispatchRecord::default()
    };
    store
        .write_claimed(
            &fence,
            &started,
            Lease::Extend(now + chrono::Duration::seconds(60)),
            Some((p.snapshot(), &events)),
            &[],
        )
        .await
        .unwrap();
    let tiktok = TiktokPublisher::new(TiktokConfig {
        base_url: format!("http://{}/tiktok", w.sim.addr()),
        ..TiktokConfig::default()
    })
    .unwrap();
    let timeline = w.app.service.timeline(&w.app.admin, post).await.unwrap();
    let _ = timeline;
    let request = natronfx_platforms::PublishRequest {
        account_id: "sandbox-tiktok".into(),
        title: Some("Winter roast".into()),
        caption: "Crashed worker #coffee".into(),
        image_urls: vec![],
        privacy_level: Some(natronfx_platforms::PrivacyLevel::SelfOnly),
        toggles: Default::default(),
        is_aigc: false,
        cover_index: 0,
    };
    let mut request = request;
    for slide in &p.slides {
        let m = w
            .app
            .service
            .media(&w.app.admin, slide.media_id)
            .await
            .unwrap();
        request.image_urls.push(m.url.clone());
    }
    let token = secrecy::SecretString::from(natronfx_sim::sandbox_token(
        natronfx_sim::Network::Tiktok,
        "sandbox-tiktok",
    ));
    let mut progress = PublishProgress::start(AdapterPlatform::Tiktok);
    while !progress.post_requested() {
        progress = tiktok
            .advance(&token, &request, &progress)
            .await
            .unwrap()
            .progress;
    }
    // Its lease is still running: nobody else touches the target.
    assert_eq!(w.dispatcher.run_once().await.unwrap().claimed, 0);
    // Past the lease, the target is abandoned: reconciled, found, never initialised again.
    w.advance(chrono::Duration::seconds(61));
    let report = w.settle().await;
    assert_eq!(report.published, 1, "{report:?}");
    assert_eq!(w.sim.calls(Endpoint::TiktokInit), 1);
    assert_eq!(w.live("sandbox-tiktok"), 1);
    // The dead worker's late write is refused.
    let err = store
        .write_claimed(&fence, &started, Lease::Release, None, &[])
        .await
        .unwrap_err();
    assert_eq!(err.code(), "lease-lost");
}

async fn a_rejected_post_fails_with_the_platforms_message(app: TestApp) {
    let w = world(app).await;
    let post = w.scheduled(&["@sandbox.tiktok"], "Moderated", 7).await;
    w.sim
        .push_fault(Endpoint::TiktokStatus, Fault::ProcessingFails);
    w.advance(chrono::Duration::minutes(10));
    let report = w.settle().await;
    // TikTok said the publish failed: nothing was posted, so the attempt is tried afresh (retryable)
    // or fails with TikTok's reason (terminal); never both posted and failed.
    let live = w.live("sandbox-tiktok");
    let state = w.state(post).await;
    match state {
        PostState::Published => assert_eq!(live, 1),
        PostState::Failed => {
            assert_eq!(live, 0);
            let t = &w
                .app
                .service
                .timeline(&w.app.admin, post)
                .await
                .unwrap()
                .targets[0];
            assert!(t.last_error.is_some(), "{t:?}");
        }
        other => panic!("unexpected {other} after {report:?}"),
    }
}

async fn missed_targets_wait_for_a_person(app: TestApp) {
    let w = world(app).await;
    let post = w
        .scheduled(&["@sandbox.facebook"], "Down for hours", 8)
        .await;
    // The service was down: it starts three hours after the post was due.
    w.advance(chrono::Duration::hours(3));
    assert_eq!(w.dispatcher.mark_missed().await.unwrap(), 1);
    assert_eq!(w.target_states(post).await, vec![TargetState::Missed]);
    assert_eq!(
        w.settle().await.claimed,
        0,
        "never published late by itself"
    );
    assert_eq!(w.live("sandbox-facebook"), 0);
    assert_eq!(w.app.service.queue_depth().await.unwrap().missed, 1);
    // A person publishes it now.
    w.app
        .service
        .schedule_post(&w.app.editor, post, ScheduleRequest::now())
        .await
        .unwrap();
    w.settle().await;
    assert_eq!(w.state(post).await, PostState::Published);
    assert_eq!(w.live("sandbox-facebook"), 1);
}

async fn tiktok_inits_are_paced_per_account(app: TestApp) {
    let w = world(app).await;
    let mut posts = Vec::new();
    for i in 0..8u8 {
        posts.push(
            w.scheduled(&["@sandbox.tiktok"], &format!("Drop number {i}"), 20 + i)
                .await,
        );
    }
    w.advance(chrono::Duration::minutes(10));
    let first = w.dispatcher.run_once().await.unwrap();
    assert_eq!(first.claimed, 8);
    assert_eq!(
        w.sim.calls(Endpoint::TiktokInit),
        6,
        "six inits a minute, then wait"
    );
    let report = w.settle().await;
    assert_eq!(w.sim.calls(Endpoint::TiktokInit), 8);
    assert_eq!(w.live("sandbox-tiktok"), 8);
    assert_eq!(
        report.retrying, 0,
        "the platform never had to refuse: {report:?}"
    );
    for p in posts {
        assert_eq!(w.state(p).await, PostState::Published);
    }
}

async fn the_ledger_refuses_a_second_send_and_republish_is_deliberate(app: TestApp) {
    let w = world(app).await;
    let post = w.scheduled(&["@sandbox.facebook"], "Only once", 9).await;
    w.advance(chrono::Duration::minutes(10));
    w.settle().await;
    assert_eq!(w.live("sandbox-facebook"), 1);
    // A bug or a hand-edited database puts the published target back on the schedule: the ledger refuses.
    let store = w.app.service.store();
    let p = store.post(post).await.unwrap();
    let mut snapshot = p.snapshot().clone();
    snapshot.state = PostState::Scheduled;
    snapshot.targets[0].state = TargetState::Scheduled;
    store.save_post(&snapshot, &[]).await.unwrap();
    let report = w.settle().await;
    assert_eq!(report.refused, 1, "{report:?}");
    assert_eq!(w.live("sandbox-facebook"), 1, "not sent again");
    assert_eq!(w.state(post).await, PostState::Published);
    // A republish needs a reason and is audited; then it goes out again.
    let now = ScheduleRequest::now();
    let err = w
        .app
        .service
        .republish(&w.app.editor, post, "@sandbox.facebook", " ", &now)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid-input");
    w.app
        .service
        .republish(
            &w.app.editor,
            post,
            "@sandbox.facebook",
            "the first crop was wrong",
            &now,
        )
        .await
        .unwrap();
    w.settle().await;
    assert_eq!(w.live("sandbox-facebook"), 2);
    let audit = w.app.service.recent_audit(&w.app.admin, 200).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.event.action.to_string() == "republish-refused")
    );
    assert!(
        audit
            .iter()
            .any(|e| e.event.action.to_string() == "target-republished"
                && e.event.note.as_deref().unwrap_or("").contains("first crop"))
    );
}

async fn cancelling_a_waiting_target_stops_it(app: TestApp) {
    let w = world(app).await;
    let post = w
        .scheduled(&["@sandbox.facebook", "@sandbox.instagram"], "Stop it", 10)
        .await;
    w.sim
        .push_fault(Endpoint::FacebookPhotos, Fault::ServerError { status: 500 });
    w.advance(chrono::Duration::minutes(10));
    w.dispatcher.run_once().await.unwrap();
    // Facebook is waiting for its retry; a person cancels it.
    w.app
        .service
        .cancel_targets(&w.app.editor, post, &["@sandbox.facebook".into()])
        .await
        .unwrap();
    w.settle().await;
    assert_eq!(w.live("sandbox-facebook"), 0);
    assert_eq!(w.live("sandbox-instagram"), 1);
    assert_eq!(w.state(post).await, PostState::PartiallyPublished);
}

async fn an_auth_error_refreshes_once_then_the_target_waits_not_fails(app: TestApp) {
    let w = world(app).await;
    let post = w
        .scheduled(&["@sandbox.facebook"], "Token trouble", 11)
        .await;
    w.sim
        .push_fault(Endpoint::FacebookPhotos, Fault::ExpiredToken);
    w.sim
        .push_fault(Endpoint::FacebookPhotos, Fault::ExpiredToken);
    w.advance(chrono::Duration::minutes(10));
    let first = w.dispatcher.run_once().await.unwrap();
    assert_eq!(first.waiting, 1, "{first:?}");
    assert_eq!(
        w.target_states(post).await,
        vec![TargetState::Scheduled],
        "it waits for the account, it is not failed"
    );
    let t = &w
        .app
        .service
        .timeline(&w.app.admin, post)
        .await
        .unwrap()
        .targets[0];
    assert_eq!(
        t.entries.iter().filter(|e| e.kind == "auth").count(),
        2,
        "one refusal, one forced refresh, one more refusal: {t:?}"
    );
    assert_eq!(w.live("sandbox-facebook"), 0);
    // Once the account works again, it goes out.
    w.advance(chrono::Duration::minutes(31));
    w.settle().await;
    assert_eq!(w.live("sandbox-facebook"), 1);
    assert_eq!(w.state(post).await, PostState::Published);
}

async fn archiving_a_scheduled_post_stops_its_targets(app: TestApp) {
    let w = world(app).await;
    let post = w
        .scheduled(&["@sandbox.facebook"], "Archived in time", 12)
        .await;
    w.advance(chrono::Duration::minutes(10));
    w.app
        .service
        .archive_post(&w.app.editor, post, Some("not this one".into()))
        .await
        .unwrap();
    assert_eq!(w.settle().await.claimed, 0);
    assert_eq!(w.live("sandbox-facebook"), 0);
    assert_eq!(w.target_states(post).await, vec![TargetState::Cancelled]);
}
