//! Browsing reads (search, calendar, audit and media pages, accounts) and rendering a spec sent over the
//! network, on both backends.

use chrono::{Duration, TimeZone, Utc};
use natronfx_service::store::{PostFilter, PostSearch};
use natronfx_service::testing::TestApp;
use natronfx_service::workflow::{ApprovalPolicy, Platform};
use natronfx_service::{ErrorKind, PostInput, TargetInput};

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(natronfx_service::testing::TestApp::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(natronfx_service::testing::TestApp::postgres().await).await;
                }
            )*
        }
    };
}

both!(
    posts_are_found_by_platform_and_the_calendar_shows_scheduled_targets,
    the_audit_log_pages_for_admins_only,
    a_spec_from_the_network_may_not_read_server_files,
    accounts_come_with_their_token_lifetimes,
);

async fn posts_are_found_by_platform_and_the_calendar_shows_scheduled_targets(app: TestApp) {
    let s = &app.service;
    let target = |account: &str| TargetInput {
        account: account.into(),
        caption: None,
        options: Default::default(),
    };
    let ig = s
        .create_post(
            &app.editor,
            PostInput {
                title: "for instagram".into(),
                targets: vec![target("@sandbox.instagram")],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    s.create_post(
        &app.editor,
        PostInput {
            title: "for facebook".into(),
            targets: vec![target("@sandbox.facebook")],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let found = s
        .search_posts(
            &app.viewer,
            &PostSearch {
                platform: Some(Platform::Instagram),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(found.iter().map(|p| p.id).collect::<Vec<_>>(), [ig.id]);
    let all = s
        .search_posts(
            &app.viewer,
            &PostSearch {
                filter: PostFilter {
                    limit: 0,
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 2, "a zero limit means the default page");

    // A scheduled post shows on the calendar at its instant.
    s.set_approval_policy(&app.admin, ApprovalPolicy::None)
        .await
        .unwrap();
    let slides = vec![
        natronfx_service::SlideInput {
            media_id: app.jpeg(1080, 1350).await.to_string(),
            alt_text: "one".into(),
        },
        natronfx_service::SlideInput {
            media_id: app.jpeg(1080, 1350).await.to_string(),
            alt_text: "two".into(),
        },
    ];
    let post = s
        .edit_post(
            &app.editor,
            ig.id,
            natronfx_service::PostPatch {
                slides: Some(slides),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    s.submit_post(&app.editor, post.id).await.unwrap();
    s.schedule_post(
        &app.editor,
        post.id,
        natronfx_service::ScheduleRequest {
            local: "2026-12-10 09:00".into(),
            zone: "Europe/Lisbon".into(),
            ambiguity: Default::default(),
            targets: vec![],
            expected_version: None,
        },
    )
    .await
    .unwrap();
    let day = Utc.with_ymd_and_hms(2026, 12, 10, 0, 0, 0).unwrap();
    let entries = s
        .calendar(&app.viewer, day, day + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].title, "for instagram");
    assert_eq!(
        entries[0].at,
        Utc.with_ymd_and_hms(2026, 12, 10, 9, 0, 0).unwrap()
    );
    let err = s
        .calendar(&app.viewer, day, day - Duration::days(1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = s
        .calendar(&app.viewer, day, day + Duration::days(400))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid-input");
}

async fn the_audit_log_pages_for_admins_only(app: TestApp) {
    let s = &app.service;
    let first = s.audit_page(&app.admin, None, 3).await.unwrap();
    assert_eq!(first.len(), 3);
    let next = s
        .audit_page(&app.admin, first.last().map(|e| e.seq), 3)
        .await
        .unwrap();
    assert!(next.iter().all(|e| e.seq < first[2].seq));
    assert!(!next.is_empty());
    let err = s.audit_page(&app.editor, None, 3).await.unwrap_err();
    assert_eq!(err.code(), "permission-denied");
    let page = s.media_page(&app.viewer, None, 10).await.unwrap();
    assert!(page.is_empty());
}

async fn a_spec_from_the_network_may_not_read_server_files(app: TestApp) {
    let s = &app.service;
    let spec = natronfx_media::CarouselSpec::from_toml_str(
        r#"
[[slides]]
background = { type = "image", path = "/etc/passwd" }
[[slides.text]]
role = "title"
text = "hello"
"#,
    )
    .unwrap();
    let err = s.render_spec(&app.editor, spec).await.unwrap_err();
    assert_eq!(err.code(), "invalid-input");
    assert!(err.to_string().contains("stored media"), "{err}");
    let spec = natronfx_media::CarouselSpec::from_toml_str(
        r##"
[[slides]]
background = { type = "solid", color = "#203040" }
[[slides.text]]
role = "title"
text = "hello"
"##,
    )
    .unwrap();
    let err = s.render_spec(&app.viewer, spec.clone()).await.unwrap_err();
    assert_eq!(err.code(), "permission-denied");
    let made = s.render_spec(&app.editor, spec).await.unwrap();
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].source, "rendered");
}

async fn accounts_come_with_their_token_lifetimes(app: TestApp) {
    let accounts = app.service.accounts_overview(&app.viewer).await.unwrap();
    assert_eq!(
        accounts.len(),
        3,
        "init made one sandbox account per platform"
    );
    assert!(
        accounts
            .iter()
            .all(|a| a.access_expires_at.is_none() && !a.refreshable)
    );
}
