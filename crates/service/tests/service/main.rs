//! The use cases as the binaries call them: permissions, the review flow, schedules, tokens.

use chrono::Duration;
use natronfx_service::testing::{TEST_PASSWORD, TestApp};
use natronfx_service::workflow::{ApprovalPolicy, PostState, Role, TargetState};
use natronfx_service::{ErrorKind, PostInput, PostPatch, ScheduleRequest, TargetInput};
use secrecy::{ExposeSecret, SecretString};

fn input(title: &str) -> PostInput {
    PostInput {
        title: title.into(),
        caption: "Fresh roast #coffee".into(),
        hashtags: vec!["morning".into()],
        slides: vec![],
        targets: vec![
            TargetInput {
                account: "@sandbox.instagram".into(),
                caption: None,
            },
            TargetInput {
                account: "@sandbox.tiktok".into(),
                caption: Some("tt caption".into()),
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
        .create_post(&app.editor, input("Winter launch"))
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
    let post = s.create_post(&app.admin, input("Own post")).await.unwrap();
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
    let post = s.create_post(&app.editor, input("Two eyes")).await.unwrap();
    s.submit_post(&app.editor, post.id).await.unwrap();
    let post = s.approve_post(&app.reviewer, post.id, None).await.unwrap();
    assert_eq!(post.state(), PostState::InReview);
    let post = s.approve_post(&app.reviewer2, post.id, None).await.unwrap();
    assert_eq!(post.state(), PostState::Approved);
    s.set_approval_policy(&app.admin, ApprovalPolicy::None)
        .await
        .unwrap();
    let post = s
        .create_post(&app.editor, input("No review"))
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
        .create_post(&app.editor, input("Versioned"))
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
    let post = s.create_post(&app.editor, input("Timing")).await.unwrap();
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
        let err = s.create_post(who, input("nope")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    }
    let post = s.create_post(&app.editor, input("mine")).await.unwrap();
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
        .create_post(&app.editor, input("On PostgreSQL"))
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
