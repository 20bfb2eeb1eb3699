//! The use cases as the binaries call them: permissions, the review flow, schedules, tokens.

mod dedupe_history;
mod dispatch;
mod generate;
mod retention;

use chrono::Duration;
use natronfx_service::testing::{TEST_PASSWORD, TestApp};
use natronfx_service::workflow::{ApprovalPolicy, PostState, Role, TargetState};
use natronfx_service::workflow::{Platform, TargetOptions};
use natronfx_service::{ErrorKind, PostInput, PostPatch, ScheduleRequest, SlideInput, TargetInput};
use secrecy::{ExposeSecret, SecretString};

mod accounts;
mod auth;
mod browse;

/// A post that passes every quality check: two portrait JPEG slides, Instagram and TikTok (private).
async fn input(app: &TestApp, title: &str) -> PostInput {
    let mut slides = Vec::new();
    for alt in ["a cup", "the beans"] {
        slides.push(SlideInput {
            media_id: app.jpeg(1080, 1350).await.to_string(),
            alt_text: alt.into(),
        });
    }
    PostInput {
        title: title.into(),
        caption: "Fresh roast #coffee".into(),
        hashtags: vec!["morning".into()],
        slides,
        targets: vec![
            TargetInput {
                account: "@sandbox.instagram".into(),
                caption: None,
                options: Default::default(),
            },
            TargetInput {
                account: "@sandbox.tiktok".into(),
                caption: Some("tt caption".into()),
                options: TargetOptions {
                    privacy_level: Some("SELF_ONLY".into()),
                    ..Default::default()
                },
            },
        ],
    }
}

fn schedule(local: &str, zone: &str) -> ScheduleRequest {
    ScheduleRequest {
        local: local.into(),
        zone: zone.into(),
        ambiguity: Default::default(),
        targets: vec![],
        expected_version: None,
    }
}

#[tokio::test]
async fn a_post_goes_from_draft_to_scheduled_and_the_author_cannot_approve_it() {
    let app = TestApp::sqlite().await;
    let s = &app.service;
    let post = s
        .create_post(&app.editor, input(&app, "Winter launch").await)
        .await
        .unwrap();
    assert_eq!(post.state(), PostState::Draft);
    assert_eq!(post.targets.len(), 2);
    s.submit_post(&app.editor, post.id).await.unwrap();
    // The author is an editor: reviewing is not theirs to do.
    let err = s
        .approve_post(&app.editor, post.id, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "permission-denied");
    let post = s
        .approve_post(&app.reviewer, post.id, Some("ship it".into()))
        .await
        .unwrap();
    assert_eq!(post.state(), PostState::Approved);
    let post = s
        .schedule_post(
            &app.editor,
            post.id,
            schedule("2026-12-10 09:00", "Europe/Lisbon"),
        )
        .await
        .unwrap();
    assert_eq!(post.state(), PostState::Scheduled);
    assert!(
        post.targets
            .iter()
            .all(|t| t.state == TargetState::Scheduled)
    );
    let history = s.post_history(&app.viewer, post.id).await.unwrap();
    let to: Vec<_> = history
        .iter()
        .filter_map(|e| e.event.to_state.clone())
        .collect();
    assert_eq!(to, ["draft", "in_review", "approved", "scheduled"]);
}

#[tokio::test]
async fn an_admin_author_cannot_approve_their_own_post_under_required() {
    let app = TestApp::sqlite().await;
    let s = &app.service;
    let post = s
        .create_post(&app.admin, input(&app, "Own post").await)
        .await
        .unwrap();
    s.submit_post(&app.admin, post.id).await.unwrap();
    let err = s.approve_post(&app.admin, post.id, None).await.unwrap_err();
    assert_eq!(err.code(), "self-approval-forbidden");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
}

#[tokio::test]
async fn multi_policy_needs_two_reviewers_and_none_needs_nobody() {
    let app = TestApp::sqlite().await;
    let s = &app.service;
    assert_eq!(
        s.set_approval_policy(&app.editor, ApprovalPolicy::None)
            .await
            .unwrap_err()
            .code(),
        "permission-denied"
    );
    s.set_approval_policy(&app.admin, ApprovalPolicy::Multi(2))
        .await
        .unwrap();
    let post = s
        .create_post(&app.editor, input(&app, "Two eyes").await)
        .await
        .unwrap();
    s.submit_post(&app.editor, post.id).await.unwrap();
    let post = s.approve_post(&app.reviewer, post.id, None).await.unwrap();
    assert_eq!(post.state(), PostState::InReview);
    let post = s.approve_post(&app.reviewer2, post.id, None).await.unwrap();
    assert_eq!(post.state(), PostState::Approved);
    s.set_approval_policy(&app.admin, ApprovalPolicy::None)
        .await
        .unwrap();
    let post = s
        .create_post(&app.editor, input(&app, "No review").await)
        .await
        .unwrap();
    assert_eq!(
        s.submit_post(&app.editor, post.id).await.unwrap().state(),
        PostState::Approved
    );
}

#[tokio::test]
async fn a_stale_version_is_a_conflict_and_changes_nothing() {
    let app = TestApp::sqlite().await;
    let s = &app.service;
    let post = s
        .create_post(&app.editor, input(&app, "Versioned").await)
        .await
        .unwrap();
    let v = post.version;
    let patch = |title: &str| PostPatch {
        title: Some(title.into()),
        expected_version: Some(v),
        ..Default::default()
    };
    s.edit_post(&app.editor, post.id, patch("first"))
        .await
        .unwrap();
    let err = s
        .edit_post(&app.editor, post.id, patch("second"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "conflict");
    assert_eq!(
        s.post(&app.viewer, post.id).await.unwrap().title.as_str(),
        "first"
    );
}

#[tokio::test]
async fn schedules_in_a_gap_or_the_past_are_invalid() {
    let app = TestApp::sqlite().await;
    let s = &app.service;
    let post = s
        .create_post(&app.editor, input(&app, "Timing").await)
        .await
        .unwrap();
    s.submit_post(&app.editor, post.id).await.unwrap();
    s.approve_post(&app.reviewer, post.id, None).await.unwrap();
    let err = s
        .schedule_post(
            &app.editor,
            post.id,
            schedule("2027-03-28 02:30", "Europe/Paris"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid-schedule");
    assert!(
        err.to_string().contains("does not exist in Europe/Paris"),
        "{err}"
    );
    let err = s
        .schedule_post(&app.editor, post.id, schedule("2026-11-30 09:00", "UTC"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid-schedule");
    // The clock moves on: what was future becomes past.
    app.clock.advance(Duration::days(30));
    let err = s
        .schedule_post(&app.editor, post.id, schedule("2026-12-10 09:00", "UTC"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid-schedule");
    assert_eq!(
        s.post(&app.viewer, post.id).await.unwrap().state(),
        PostState::Approved
    );
}

#[tokio::test]
async fn viewers_and_reviewers_cannot_write_posts() {
    let app = TestApp::sqlite().await;
    let s = &app.service;
    for who in [&app.viewer, &app.reviewer] {
        let err = s
            .create_post(who, input(&app, "nope").await)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    }
    let post = s
        .create_post(&app.editor, input(&app, "mine").await)
        .await
        .unwrap();
    let other = s
        .add_user(&app.admin, "other@example.com", "Other", Role::Editor, None)
        .await
        .unwrap();
    let err = s
        .edit_post(
            &other,
            post.id,
            PostPatch {
                title: Some("x".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "permission-denied");
}

#[tokio::test]
async fn passwords_and_tokens_authenticate_and_tokens_never_exceed_their_owner() {
    let app = TestApp::sqlite().await;
    let s = &app.service;
    let pw = SecretString::from(TEST_PASSWORD);
    assert_eq!(
        s.authenticate_password("EDITOR@example.com", &pw)
            .await
            .unwrap()
            .id,
        app.editor.id
    );
    let wrong = SecretString::from("wrong password!!");
    assert_eq!(
        s.authenticate_password("editor@example.com", &wrong)
            .await
            .unwrap_err()
            .code(),
        "invalid-credentials"
    );
    assert_eq!(
        s.authenticate_password("nobody@example.com", &pw)
            .await
            .unwrap_err()
            .code(),
        "invalid-credentials"
    );

    let err = s
        .create_token(&app.editor, "ci", Role::Admin)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid-input");
    let new = s
        .create_token(&app.editor, "ci", Role::Editor)
        .await
        .unwrap();
    assert!(
        !format!("{new:?}").contains(new.secret.expose_secret()),
        "Debug redacts the secret"
    );
    let acting = s
        .authenticate_token(new.secret.expose_secret())
        .await
        .unwrap();
    assert_eq!((acting.id, acting.role), (app.editor.id, Role::Editor));
    s.revoke_token(&app.editor, new.token.id).await.unwrap();
    assert_eq!(
        s.authenticate_token(new.secret.expose_secret())
            .await
            .unwrap_err()
            .code(),
        "invalid-credentials"
    );
    assert_eq!(
        s.authenticate_token("nfx_forged").await.unwrap_err().code(),
        "invalid-credentials"
    );

    // A disabled owner's tokens stop working.
    let new = s
        .create_token(&app.viewer, "ro", Role::Viewer)
        .await
        .unwrap();
    s.disable_user(&app.admin, "viewer@example.com")
        .await
        .unwrap();
    assert!(
        s.authenticate_token(new.secret.expose_secret())
            .await
            .is_err()
    );
    assert_eq!(
        s.actor("viewer@example.com").await.unwrap_err().code(),
        "user-disabled"
    );
}

#[tokio::test]
async fn init_runs_once() {
    let app = TestApp::sqlite().await;
    let err = app
        .service
        .init(
            "again@example.com",
            "Again",
            &SecretString::from(TEST_PASSWORD),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "already-initialized");
    let accounts = app.service.list_accounts(&app.viewer).await.unwrap();
    assert_eq!(accounts.len(), 3, "one sandbox account per platform");
    assert!(accounts.iter().all(|a| a.sandbox));
}

#[tokio::test]
async fn the_same_flow_runs_on_postgres() {
    let app = TestApp::postgres().await;
    let s = &app.service;
    let post = s
        .create_post(&app.editor, input(&app, "On PostgreSQL").await)
        .await
        .unwrap();
    s.submit_post(&app.editor, post.id).await.unwrap();
    s.approve_post(&app.reviewer, post.id, None).await.unwrap();
    let post = s
        .schedule_post(
            &app.editor,
            post.id,
            schedule("2026-12-10 09:00", "America/New_York"),
        )
        .await
        .unwrap();
    assert_eq!(post.state(), PostState::Scheduled);
    let at = post.targets[0].scheduled_at.unwrap().instant();
    assert_eq!(at.to_rfc3339(), "2026-12-10T14:00:00+00:00");
}

#[tokio::test]
async fn quality_errors_block_submit_approve_and_schedule_but_not_editing() {
    let app = TestApp::sqlite().await;
    let s = &app.service;
    // No slide at all: the post cannot even be submitted.
    let mut bare = input(&app, "Bare").await;
    bare.slides.clear();
    let post = s.create_post(&app.editor, bare).await.unwrap();
    let err = s.submit_post(&app.editor, post.id).await.unwrap_err();
    assert_eq!(err.code(), "quality-check-failed");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.findings().unwrap().iter().any(|f| f.is_error()));
    assert_eq!(
        s.post(&app.viewer, post.id).await.unwrap().state(),
        PostState::Draft,
        "nothing saved"
    );

    // A 1086-px-wide slide passes Instagram but fails the whole TikTok carousel.
    let mut wide = input(&app, "Wide").await;
    wide.slides[1].media_id = app.jpeg(1086, 1357).await.to_string();
    let post = s.create_post(&app.editor, wide).await.unwrap();
    let findings = s.check_post(&app.viewer, post.id).await.unwrap();
    let tiktok: Vec<_> = findings.iter().filter(|f| f.is_error()).collect();
    assert_eq!(tiktok.len(), 1, "{findings:#?}");
    assert_eq!(
        (tiktok[0].code, tiktok[0].slide),
        ("tiktok-image-too-wide", Some(2))
    );
    assert_eq!(
        s.submit_post(&app.editor, post.id)
            .await
            .unwrap_err()
            .code(),
        "quality-check-failed"
    );
    // Dropping the TikTok target fixes it; the edit itself is never blocked.
    let patch = PostPatch {
        targets: Some(vec![TargetInput {
            account: "@sandbox.instagram".into(),
            caption: None,
            options: Default::default(),
        }]),
        ..Default::default()
    };
    s.edit_post(&app.editor, post.id, patch).await.unwrap();
    s.submit_post(&app.editor, post.id).await.unwrap();

    // TikTok needs an explicit privacy level: no default is ever filled in.
    let mut unchosen = input(&app, "No privacy").await;
    unchosen.targets[1].options.privacy_level = None;
    let post = s.create_post(&app.editor, unchosen).await.unwrap();
    let err = s.submit_post(&app.editor, post.id).await.unwrap_err();
    assert!(
        err.findings()
            .unwrap()
            .iter()
            .any(|f| f.code.starts_with("tiktok-privacy")),
        "{err}"
    );
}

#[tokio::test]
async fn banned_terms_from_configuration_block_a_post() {
    let app = TestApp::sqlite().await;
    let quality = natronfx_service::workflow::QualityConfig {
        banned_terms: vec!["cheap".into()],
        ..Default::default()
    };
    let s = app.service.clone().with_quality(quality);
    let mut post = input(&app, "Sale").await;
    post.caption = "So CHEAP today #coffee".into();
    let post = s.create_post(&app.editor, post).await.unwrap();
    let err = s.submit_post(&app.editor, post.id).await.unwrap_err();
    assert_eq!(err.code(), "quality-check-failed");
    assert!(err.to_string().contains("cheap"), "{err}");

    // A rule that arrives while a post waits for review blocks its approval and its schedule too.
    let permissive = app.service.clone();
    permissive.submit_post(&app.editor, post.id).await.unwrap();
    let err = s
        .approve_post(&app.reviewer, post.id, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "quality-check-failed");
    assert_eq!(
        s.post(&app.viewer, post.id).await.unwrap().state(),
        PostState::InReview
    );
    permissive
        .approve_post(&app.reviewer, post.id, None)
        .await
        .unwrap();
    let err = s
        .schedule_post(&app.editor, post.id, schedule("2026-12-10 09:00", "UTC"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "quality-check-failed");
    assert_eq!(
        s.post(&app.viewer, post.id).await.unwrap().state(),
        PostState::Approved
    );
}

fn fixture(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(path)
}

#[tokio::test]
async fn uploads_are_ingested_stored_once_and_refused_with_stable_codes() {
    let app = TestApp::sqlite().await;
    let s = &app.service;
    let bytes = std::fs::read(fixture("photos/coffee.png")).unwrap();
    let first = s.add_media(&app.editor, bytes.clone()).await.unwrap();
    assert_eq!(
        first.format, "jpeg",
        "uploads are re-encoded without metadata"
    );
    assert!(
        first.url.starts_with("https://media.example.test/m/"),
        "{}",
        first.url
    );
    assert!(first.url.ends_with(&first.key));
    let again = s.add_media(&app.editor, bytes).await.unwrap();
    assert_eq!(again.id, first.id, "the same content is stored once");
    assert_eq!(s.list_media(&app.viewer, 10).await.unwrap().len(), 1);
    let on_disk = std::fs::read_dir(app.media_root.join(&first.key[..2]))
        .unwrap()
        .count();
    assert_eq!(on_disk, 1);

    for (bytes, code) in [
        (Vec::new(), "image-corrupt"),
        (
            b"just some text, named photo.jpg".to_vec(),
            "unsupported-image-format",
        ),
    ] {
        let err = s.add_media(&app.editor, bytes).await.unwrap_err();
        assert_eq!((err.code(), err.kind()), (code, ErrorKind::InvalidInput));
    }
    let err = s.add_media(&app.viewer, vec![]).await.unwrap_err();
    assert_eq!(err.code(), "permission-denied");
    assert_eq!(
        s.list_media(&app.viewer, 10).await.unwrap().len(),
        1,
        "refusals store nothing"
    );
}

#[tokio::test]
async fn a_rendered_carousel_becomes_media_that_passes_the_instagram_checks() {
    let app = TestApp::sqlite().await;
    let s = &app.service;
    let spec_path = fixture("carousels/launch-day.toml");
    let spec =
        natronfx_media::CarouselSpec::from_toml_str(&std::fs::read_to_string(&spec_path).unwrap())
            .unwrap();
    let options = natronfx_media::RenderOptions {
        base_dir: spec_path.parent().map(ToOwned::to_owned),
        ..Default::default()
    };
    let mut steps = Vec::new();
    let slides = s
        .render_media(&app.editor, spec, options, |done, total| {
            steps.push((done, total))
        })
        .await
        .unwrap();
    assert_eq!(slides.len(), 5);
    assert_eq!(steps.last(), Some(&(5, 5)));
    assert!(
        slides
            .iter()
            .all(|m| (m.width, m.height, m.source.as_str()) == (1080, 1350, "rendered"))
    );
    let post = PostInput {
        title: "Launch day".into(),
        caption: "Seven steps to orbit #space".into(),
        hashtags: vec![],
        slides: slides
            .iter()
            .map(|m| SlideInput {
                media_id: m.id.to_string(),
                alt_text: "a slide".into(),
            })
            .collect(),
        targets: vec![TargetInput {
            account: "@sandbox.instagram".into(),
            caption: None,
            options: Default::default(),
        }],
    };
    let post = s.create_post(&app.editor, post).await.unwrap();
    let findings = s.check_post(&app.editor, post.id).await.unwrap();
    assert!(
        !natronfx_service::workflow::blocks(&findings),
        "{findings:#?}"
    );
    s.submit_post(&app.editor, post.id).await.unwrap();
}

/// A stand-in media host: serves the media folder under `/good`, redirects under `/moved`, answers HTML
/// under `/html`.
async fn media_host(root: std::path::PathBuf) -> String {
    use axum::extract::Path;
    use axum::response::IntoResponse;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let good = move |Path(key): Path<String>| {
        let path = root.join(&key[..2]).join(&key);
        async move {
            match std::fs::read(path) {
                Ok(bytes) => ([("content-type", "image/jpeg")], bytes).into_response(),
                Err(_) => axum::http::StatusCode::NOT_FOUND.into_response(),
            }
        }
    };
    let app = axum::Router::new()
        .route("/good/{key}", axum::routing::get(good))
        .route(
            "/moved/{key}",
            axum::routing::get(|| async { axum::response::Redirect::temporary("/elsewhere") }),
        )
        .route(
            "/html/{key}",
            axum::routing::get(|| async { axum::response::Html("<p>hi</p>") }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test]
async fn real_accounts_get_their_public_urls_checked_by_a_real_request() {
    use natronfx_service::workflow::{
        Account, AccountId, AccountStatus, AuditAction, AuditEvent, Platform,
    };
    let app = TestApp::sqlite().await;
    let account = Account {
        id: AccountId::random(),
        platform: Platform::Instagram,
        external_id: "17841400000000000".into(),
        display_name: "@brand".into(),
        status: AccountStatus::Connected,
        sandbox: false,
        connected_by: None,
        created_at: natronfx_service::Clock::now(app.clock.as_ref()),
    };
    let event = AuditEvent::new(
        account.created_at,
        None,
        AuditAction::AccountConnected,
        "account",
        account.id,
    );
    app.service
        .store()
        .insert_account(&account, &event)
        .await
        .unwrap();
    let host = media_host(app.media_root.clone()).await;
    let with_base = |path: &str| {
        let store =
            natronfx_media::LocalFolderStore::new(&app.media_root, &format!("{host}/{path}"))
                .unwrap();
        app.service
            .clone()
            .with_media(std::sync::Arc::new(store), Default::default())
    };
    let s = with_base("good");
    let photo = std::fs::read(fixture("photos/coffee.png")).unwrap();
    let media = s.add_media(&app.editor, photo).await.unwrap();
    let post = PostInput {
        title: "Real account".into(),
        caption: "Fresh #coffee".into(),
        hashtags: vec![],
        slides: vec![SlideInput {
            media_id: media.id.to_string(),
            alt_text: "a cup".into(),
        }],
        targets: vec![TargetInput {
            account: "@brand".into(),
            caption: None,
            options: Default::default(),
        }],
    };
    let post = s.create_post(&app.editor, post).await.unwrap();
    let url_codes = |findings: Vec<natronfx_service::workflow::Finding>| -> Vec<&'static str> {
        findings
            .into_iter()
            .filter(|f| f.code.starts_with("media-url"))
            .map(|f| f.code)
            .collect()
    };
    // The stand-in host is plain http on loopback: that alone is reported; the request itself succeeds.
    assert_eq!(
        url_codes(s.check_post(&app.editor, post.id).await.unwrap()),
        ["media-url-not-https"]
    );
    for (path, code) in [
        ("moved", "media-url-redirects"),
        ("html", "media-url-wrong-type"),
        ("missing", "media-url-unreachable"),
    ] {
        let findings = with_base(path)
            .check_post(&app.editor, post.id)
            .await
            .unwrap();
        assert_eq!(url_codes(findings), ["media-url-not-https", code], "{path}");
    }
    // An access token that has expired and cannot be refreshed blocks the post too.
    let sealed = natronfx_service::store::SealedCredential {
        account_id: account.id,
        field: "access_token".into(),
        key_id: 1,
        ciphertext: vec![1, 2, 3],
        expires_at: Some(
            natronfx_service::Clock::now(app.clock.as_ref()) - chrono::Duration::minutes(1),
        ),
        updated_at: natronfx_service::Clock::now(app.clock.as_ref()),
    };
    app.service
        .store()
        .put_credentials(&[sealed], None)
        .await
        .unwrap();
    let findings = s.check_post(&app.editor, post.id).await.unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f.code == "account-token-expires" && f.is_error()),
        "{findings:#?}"
    );
    let closed =
        natronfx_media::LocalFolderStore::new(&app.media_root, "http://127.0.0.1:9/m").unwrap();
    let s_closed = app
        .service
        .clone()
        .with_media(std::sync::Arc::new(closed), Default::default());
    let err = s_closed
        .submit_post(&app.editor, post.id)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "quality-check-failed");
    assert!(err.to_string().contains("did not answer"), "{err}");
}

#[tokio::test]
async fn post_fix_replaces_oversize_slides_with_tiktok_variants() {
    let app = TestApp::sqlite().await;
    let s = &app.service;
    // A real 1620×2025 JPEG: fine for Instagram (4:5), too wide for TikTok.
    let img = image::RgbImage::from_fn(1620, 2025, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    let big = s.add_media(&app.editor, jpeg).await.unwrap();
    let mut input = input(&app, "Too wide").await;
    input.slides[0].media_id = big.id.to_string();
    let post = s.create_post(&app.editor, input).await.unwrap();
    let before = s.check_post(&app.editor, post.id).await.unwrap();
    assert!(
        before
            .iter()
            .any(|f| f.code == "tiktok-image-too-wide" && f.slide == Some(1)),
        "{before:#?}"
    );

    let (fixed, after) = s
        .fix_post_images(&app.editor, post.id, Platform::Tiktok)
        .await
        .unwrap();
    assert!(!natronfx_service::workflow::blocks(&after), "{after:#?}");
    let replaced = s
        .media(&app.viewer, fixed.slides[0].media_id)
        .await
        .unwrap();
    assert_eq!(
        (replaced.width, replaced.height, replaced.source.as_str()),
        (1080, 1350, "rendered")
    );
    assert_eq!(
        fixed.slides[1].media_id, post.slides[1].media_id,
        "slides that fit are kept"
    );
    assert_eq!(fixed.slides[0].alt_text, post.slides[0].alt_text);
    s.submit_post(&app.editor, post.id).await.unwrap();
}

#[tokio::test]
async fn previews_show_each_platform_its_frame_and_cut_caption() {
    let app = TestApp::sqlite().await;
    let s = &app.service;
    let mut media = Vec::new();
    for photo in [
        "photos/coffee.png",
        "photos/chelsea.png",
        "photos/astronaut.png",
    ] {
        media.push(
            s.add_media(&app.editor, std::fs::read(fixture(photo)).unwrap())
                .await
                .unwrap(),
        );
    }
    let caption = "Our winter blend is back with notes of dark chocolate and orange peel, roasted \
                   slowly in small batches by @roaster.jo for the coldest mornings of the year. #coffee #winter";
    let post = PostInput {
        title: "Winter blend".into(),
        caption: caption.into(),
        hashtags: vec!["roastery".into()],
        slides: media
            .iter()
            .map(|m| SlideInput {
                media_id: m.id.to_string(),
                alt_text: "photo".into(),
            })
            .collect(),
        targets: vec![TargetInput {
            account: "@sandbox.instagram".into(),
            caption: None,
            options: Default::default(),
        }],
    };
    let post = s.create_post(&app.editor, post).await.unwrap();
    let (data, sheet) = s
        .preview_post(&app.viewer, post.id, Platform::Instagram)
        .await
        .unwrap();
    assert_eq!(data.account, "@sandbox.instagram");
    assert!(data.truncated, "the feed cuts a long caption");
    assert!(data.caption.chars().count() <= 125);
    assert!(
        data.spans
            .iter()
            .any(|sp| sp.kind == natronfx_service::workflow::preview::SpanKind::Mention)
    );
    // Three slides in Instagram's frame (the first slide's 3:2) on a sheet of fixed width.
    let png = image::load_from_memory(&sheet.bytes).unwrap();
    assert_eq!(png.width(), natronfx_media::preview::SHEET_WIDTH);
    assert!(
        png.height() > natronfx_media::preview::THUMB_HEIGHT,
        "{}",
        png.height()
    );
    std::fs::write(
        std::env::temp_dir().join("natronfx-preview-instagram.png"),
        &sheet.bytes,
    )
    .unwrap();
    let (tt, tt_sheet) = s
        .preview_post(&app.viewer, post.id, Platform::Tiktok)
        .await
        .unwrap();
    assert_eq!(tt.title.as_deref(), Some("Winter blend"));
    std::fs::write(
        std::env::temp_dir().join("natronfx-preview-tiktok.png"),
        &tt_sheet.bytes,
    )
    .unwrap();
}

#[tokio::test]
async fn an_upload_whose_row_cannot_be_written_leaves_no_object_behind() {
    let app = TestApp::sqlite().await;
    // Break the database under the service: the media row cannot be inserted any more.
    let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
    sqlx::query("ALTER TABLE media RENAME TO media_elsewhere")
        .execute(&pool)
        .await
        .unwrap();
    let photo = std::fs::read(fixture("photos/rocket.jpg")).unwrap();
    let err = app.service.add_media(&app.editor, photo).await.unwrap_err();
    assert_eq!(err.code(), "database-error", "{err}");
    let objects: usize = walk(&app.media_root);
    assert_eq!(objects, 0, "the stored object was removed again");
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn content_published_before_is_reported_at_review_time() {
    let app = TestApp::sqlite().await;
    let s = &app.service;
    let photos = |names: &[&str]| {
        names
            .iter()
            .map(|n| std::fs::read(fixture(n)).unwrap())
            .collect::<Vec<_>>()
    };
    let mut media = Vec::new();
    for bytes in photos(&["photos/coffee.png", "photos/chelsea.png"]) {
        media.push(s.add_media(&app.editor, bytes).await.unwrap());
    }
    let post_with = |title: &str,
                     caption: &str,
                     account: &str,
                     media: &[natronfx_service::MediaView]| PostInput {
        title: title.into(),
        caption: caption.into(),
        hashtags: vec![],
        slides: media
            .iter()
            .map(|m| SlideInput {
                media_id: m.id.to_string(),
                alt_text: "photo".into(),
            })
            .collect(),
        targets: vec![TargetInput {
            account: account.into(),
            caption: None,
            options: Default::default(),
        }],
    };
    let first = s
        .create_post(
            &app.editor,
            post_with(
                "First",
                "Autumn roast is back! #coffee",
                "@sandbox.instagram",
                &media,
            ),
        )
        .await
        .unwrap();
    // Nothing published yet: no finding.
    let before = s.check_post(&app.editor, first.id).await.unwrap();
    assert!(!before.iter().any(|f| f.code == "looks-like-earlier-post"));
    s.record_published(&first, first.targets[0].id)
        .await
        .unwrap();

    // A month later the same photos, re-exported (re-encoded), with the same caption in other case.
    app.clock.advance(Duration::days(30));
    let mut again = Vec::new();
    for m in &media {
        let bytes = s.media_content(&app.editor, m.id).await.unwrap();
        let img = image::load_from_memory(&bytes).unwrap();
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        again.push(s.add_media(&app.editor, out).await.unwrap());
    }
    let second = s
        .create_post(
            &app.editor,
            post_with(
                "Second",
                "AUTUMN roast is back!  #Coffee",
                "@sandbox.instagram",
                &again,
            ),
        )
        .await
        .unwrap();
    let findings = s.check_post(&app.editor, second.id).await.unwrap();
    let dup = findings
        .iter()
        .find(|f| f.code == "looks-like-earlier-post")
        .expect("reported");
    assert!(!dup.is_error(), "a warning by default");
    assert!(
        dup.message.contains("slides 1 and 2 match"),
        "{}",
        dup.message
    );
    assert!(
        dup.message.contains("the caption is the same"),
        "{}",
        dup.message
    );
    assert!(
        dup.message.contains("@sandbox.instagram on 2026-12-01"),
        "{}",
        dup.message
    );

    // Scope is the account by default: the same content to another account is not reported.
    let elsewhere = s
        .create_post(
            &app.editor,
            post_with("Third", "Something else", "@sandbox.facebook", &again),
        )
        .await
        .unwrap();
    let findings = s.check_post(&app.editor, elsewhere.id).await.unwrap();
    assert!(!findings.iter().any(|f| f.code == "looks-like-earlier-post"));

    // A team that wants it blocked says so.
    let strict = natronfx_service::workflow::QualityConfig {
        duplicates: natronfx_service::workflow::DuplicatePolicy {
            error: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let err = s
        .clone()
        .with_quality(strict)
        .submit_post(&app.editor, second.id)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "quality-check-failed");
}
