//! Publishing on the dashboard: the post page shows each target's ledger (platform id, link, the last
//! error) as the dispatcher left it against the simulator, and its forms retry, cancel and settle
//! targets; the dispatcher's outcomes are counted in the server's metrics.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use natronfx_server::Metrics;
use natronfx_service::Clock as _;
use natronfx_service::testing::TestApp;
use natronfx_service::workflow::{ApprovalPolicy, PostId, TargetOptions, TargetState};
use natronfx_service::{
    DispatchConfig, Dispatcher, PostInput, Publishers, ScheduleRequest, SlideInput, TargetInput,
};
use natronfx_sim::{ClockMode, Endpoint, Fault, SimConfig, SimHandle, Simulator};
use reqwest::StatusCode;

use crate::Running;
use crate::web::Page;

both!(served: the_post_page_shows_the_ledger_and_its_forms_retry_cancel_and_settle);

struct World {
    s: Running,
    sim: SimHandle,
    dispatcher: Dispatcher,
    metrics: Arc<Metrics>,
}

impl World {
    async fn new(app: TestApp) -> World {
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
        let metrics = Arc::new(Metrics::default());
        let dispatcher = Dispatcher::new(
            app.service.clone().with_observer(metrics.clone()),
            DispatchConfig {
                max_inline_poll_ms: 0,
                max_retries: 1,
                retry_base_secs: 10,
                retry_max_secs: 60,
                ..DispatchConfig::default()
            },
            "worker-1",
            publishers.clone(),
            Some(publishers),
        );
        app.service
            .set_approval_policy(&app.admin, ApprovalPolicy::None)
            .await
            .unwrap();
        World {
            s: crate::spawn_on(app).await,
            sim,
            dispatcher,
            metrics,
        }
    }

    /// A post to `accounts`, scheduled ten minutes ahead.
    async fn scheduled(&self, accounts: &[&str], caption: &str, seed: u8) -> PostId {
        let app = &self.s.app;
        let s = &app.service;
        let mut slides = Vec::new();
        for (i, alt) in ["a cup", "the beans"].into_iter().enumerate() {
            slides.push(SlideInput {
                media_id: app
                    .photo(1080, 1350, seed.wrapping_mul(2).wrapping_add(i as u8))
                    .await
                    .to_string(),
                alt_text: alt.into(),
            });
        }
        let post = s
            .create_post(
                &app.editor,
                PostInput {
                    title: "Winter roast".into(),
                    caption: caption.into(),
                    hashtags: vec!["coffee".into()],
                    slides,
                    targets: accounts
                        .iter()
                        .map(|a| TargetInput {
                            account: (*a).into(),
                            caption: None,
                            options: TargetOptions {
                                privacy_level: a.contains("tiktok").then(|| "SELF_ONLY".into()),
                                ..TargetOptions::default()
                            },
                        })
                        .collect(),
                },
            )
            .await
            .unwrap();
        s.submit_post(&app.editor, post.id).await.unwrap();
        let due = app.clock.now() + chrono::Duration::minutes(10);
        s.schedule_post(
            &app.editor,
            post.id,
            ScheduleRequest {
                local: due.format("%Y-%m-%d %H:%M").to_string(),
                ..ScheduleRequest::now()
            },
        )
        .await
        .unwrap();
        post.id
    }

    fn advance(&self, by: chrono::Duration) {
        self.s.app.clock.advance(by);
        self.sim.advance_clock(by.to_std().unwrap());
    }

    /// Steps the dispatcher, five simulated seconds a pass, until it has been idle for a while.
    async fn settle(&self) {
        let mut idle = 0;
        for _ in 0..200 {
            let r = self.dispatcher.run_once().await.unwrap();
            idle = if r.claimed == 0 { idle + 1 } else { 0 };
            if idle > 30 {
                break;
            }
            self.advance(chrono::Duration::seconds(5));
        }
    }

    /// Each target's state, by platform.
    async fn states(&self, post: PostId) -> BTreeMap<String, TargetState> {
        let p = self.s.app.service.store().post(post).await.unwrap();
        p.targets
            .iter()
            .map(|t| (t.platform.to_string(), t.state))
            .collect()
    }
}

async fn the_post_page_shows_the_ledger_and_its_forms_retry_cancel_and_settle(app: TestApp) {
    let w = World::new(app).await;
    let post = w
        .scheduled(
            &["@sandbox.instagram", "@sandbox.facebook"],
            "Fresh roast",
            1,
        )
        .await;
    // Two tries (the first and one retry) fail; the person's retry later goes through.
    for _ in 0..2 {
        w.sim
            .push_fault(Endpoint::FacebookPhotos, Fault::ServerError { status: 502 });
    }
    w.advance(chrono::Duration::minutes(10));
    w.settle().await;
    let states = w.states(post).await;
    assert_eq!(states["instagram"], TargetState::Published);
    assert_eq!(states["facebook"], TargetState::Failed);
    let metrics = w.metrics.render();
    for line in [
        "natronfx_publish_outcomes_total{platform=\"instagram\",outcome=\"published\"} 1",
        "natronfx_publish_outcomes_total{platform=\"facebook\",outcome=\"retrying\"} 1",
        "natronfx_publish_outcomes_total{platform=\"facebook\",outcome=\"failed\"} 1",
    ] {
        assert!(metrics.contains(line), "{line}\n{metrics}");
    }

    // The page shows the live post's id and link, and the failure in words with a way to retry.
    let timeline =
        w.s.app
            .service
            .timeline(&w.s.app.viewer, post)
            .await
            .unwrap();
    let on = |platform: &str| {
        timeline
            .targets
            .iter()
            .find(|t| t.platform.to_string() == platform)
            .unwrap()
    };
    let (ig, fb) = (on("instagram"), on("facebook"));
    let ig_id = ig.platform_post_id.clone().expect("live on Instagram");
    let viewer = Page::login(&w.s, "viewer@example.com").await;
    let (status, html) = viewer.get(&format!("/posts/{post}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"publishing\""), "{html}");
    assert!(html.contains(&ig_id), "the platform id is shown");
    assert!(html.contains("Open on instagram"), "{html}");
    assert!(html.contains("502"), "the error is shown");
    assert!(!html.contains("/retry\""), "a viewer is offered no retry");
    let editor = Page::login(&w.s, "editor@example.com").await;
    let (_, html) = editor.get(&format!("/posts/{post}")).await;
    assert!(
        html.contains(&format!("action=\"/posts/{post}/retry\"")),
        "{html}"
    );
    // A viewer's forged retry is refused; the editor's goes out once.
    let (_, to) = viewer
        .post(
            &format!("/posts/{post}/retry"),
            &[("target", &fb.target.to_string())],
            Some(viewer.csrf()),
        )
        .await;
    assert!(to.contains("error="), "{to}");
    assert_eq!(w.states(post).await["facebook"], TargetState::Failed);
    let (status, to) = editor
        .post(
            &format!("/posts/{post}/retry"),
            &[("target", &fb.target.to_string())],
            Some(editor.csrf()),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(to.contains("notice="), "{to}");
    w.settle().await;
    assert!(
        w.states(post)
            .await
            .values()
            .all(|s| *s == TargetState::Published)
    );
    assert_eq!(w.sim.published("sandbox-facebook").len(), 1);
    assert_eq!(w.sim.published("sandbox-instagram").len(), 1);

    // Cancel one target of a scheduled post from its page.
    let later = w
        .scheduled(&["@sandbox.tiktok", "@sandbox.facebook"], "Late roast", 7)
        .await;
    let targets =
        w.s.app
            .service
            .store()
            .post(later)
            .await
            .unwrap()
            .targets
            .clone();
    let tiktok = targets
        .iter()
        .find(|t| t.platform.to_string() == "tiktok")
        .unwrap()
        .id;
    let facebook = targets
        .iter()
        .find(|t| t.platform.to_string() == "facebook")
        .unwrap()
        .id;
    let (_, to) = editor
        .post(
            &format!("/posts/{later}/cancel"),
            &[("target", &tiktok.to_string())],
            Some(editor.csrf()),
        )
        .await;
    assert!(to.contains("notice=Cancelled"), "{to}");
    let states = w.states(later).await;
    assert_eq!(states["tiktok"], TargetState::Cancelled);
    assert_eq!(states["facebook"], TargetState::Scheduled);

    // A target whose outcome is unknown offers the person a way to settle it.
    let store = w.s.app.service.store();
    let mut p = store.post(later).await.unwrap();
    let events = p
        .record_target_outcome(
            facebook,
            TargetState::NeedsAttention,
            Some("the answer was lost".into()),
            w.s.app.clock.now(),
        )
        .unwrap();
    store
        .save_post_logged(p.snapshot(), &events, &[], &[])
        .await
        .unwrap();
    let (_, html) = editor.get(&format!("/posts/{later}")).await;
    let resolve = format!("/posts/{later}/targets/{facebook}/resolve");
    assert!(html.contains(&resolve), "{html}");
    let (_, to) = editor
        .post(
            &resolve,
            &[("outcome", "live"), ("note", "seen on the page")],
            Some(editor.csrf()),
        )
        .await;
    assert!(to.contains("notice=Marked%20live"), "{to}");
    assert_eq!(w.states(later).await["facebook"], TargetState::Published);
}
