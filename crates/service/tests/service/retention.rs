//! The retention policy with a controllable clock, on SQLite and PostgreSQL: what a run deletes and what it
//! keeps (a scheduled post's media, an archived post that went live, fingerprints within the duplicate
//! window), that a dry run counts the same and deletes nothing, and that the audit log still verifies.

use chrono::{DateTime, Duration, Utc};
use natronfx_media::MediaKey;
use natronfx_service::store::OAuthState;
use natronfx_service::testing::{TEST_PASSWORD, TestApp};
use natronfx_service::workflow::{AuditAction, MediaId, Platform, PostId, PostState};
use natronfx_service::{
    Clock as _, LoginRequest, PostInput, RetentionConfig, RetentionReport, ScheduleRequest,
    SlideInput, TargetInput,
};
use secrecy::SecretString;

use crate::dispatch::{World, world};

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
    retention_deletes_what_the_policy_no_longer_keeps_and_nothing_in_use,
    a_disabled_policy_only_dry_runs_and_only_admins_run_it,
);

/// A post by the editor with these slides, to one sandbox account.
async fn post(w: &World, media: &[MediaId], account: &str, title: &str) -> PostId {
    let s = &w.app.service;
    s.create_post(
        &w.app.editor,
        PostInput {
            title: title.into(),
            caption: format!("{title} #coffee"),
            hashtags: vec![],
            slides: media
                .iter()
                .map(|m| SlideInput {
                    media_id: m.to_string(),
                    alt_text: "a photo".into(),
                })
                .collect(),
            targets: vec![TargetInput {
                account: account.into(),
                caption: None,
                options: Default::default(),
            }],
        },
    )
    .await
    .unwrap()
    .id
}

/// Submits (approved at once: the world's policy is `none`) and schedules a post at `at`.
async fn schedule(w: &World, id: PostId, at: DateTime<Utc>) {
    let s = &w.app.service;
    s.submit_post(&w.app.editor, id).await.unwrap();
    s.schedule_post(
        &w.app.editor,
        id,
        ScheduleRequest {
            local: at.format("%Y-%m-%d %H:%M").to_string(),
            zone: "UTC".into(),
            ambiguity: Default::default(),
            targets: vec![],
            expected_version: None,
        },
    )
    .await
    .unwrap();
}

async fn file_exists(app: &TestApp, id: MediaId) -> bool {
    let row = app.service.store().media(id).await.unwrap();
    let store = app.service.media_store_handle().unwrap();
    store
        .exists(&MediaKey::parse(&row.key).unwrap())
        .await
        .unwrap()
}

async fn purged(app: &TestApp, id: MediaId) -> bool {
    app.service.store().media_purged(&[id]).await.unwrap()[0]
}

async fn row_exists(app: &TestApp, id: MediaId) -> bool {
    app.service.store().media(id).await.is_ok()
}

async fn login(app: &TestApp) {
    let pw = SecretString::from(TEST_PASSWORD);
    app.service
        .login(LoginRequest {
            email: "editor@example.com",
            password: &pw,
            address: "192.0.2.1",
            user_agent: "test",
            replaces: None,
        })
        .await
        .unwrap();
}

fn counts(report: &RetentionReport) -> Vec<(&'static str, u64, Option<u64>)> {
    report
        .kinds
        .iter()
        .map(|k| (k.kind, k.count, k.bytes))
        .collect()
}

fn count(report: &RetentionReport, kind: &str) -> u64 {
    report.kind(kind).unwrap().count
}

async fn audit_len(app: &TestApp) -> usize {
    app.service.store().recent_audit(1000).await.unwrap().len()
}

async fn sql(app: &TestApp, statement: &str) {
    if app.db.url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
            .execute(&pool)
            .await
            .unwrap();
    } else {
        let pool = sqlx::PgPool::connect(&app.db.url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
            .execute(&pool)
            .await
            .unwrap();
    }
}

/// A dry run, then a real run at the same instant: the dry run changes nothing and counts exactly what
/// the real run then deletes.
async fn dry_then_real(w: &World, service: &natronfx_service::Service) -> RetentionReport {
    let app = &w.app;
    let now = app.clock.now();
    let audit_before = audit_len(app).await;
    let sessions_before = app.service.my_sessions(&app.editor).await.unwrap().len();
    let dry = service
        .run_retention(Some(&app.admin), now, true)
        .await
        .unwrap();
    assert!(dry.dry_run);
    assert_eq!(
        audit_len(app).await,
        audit_before,
        "a dry run writes nothing"
    );
    assert_eq!(
        app.service.my_sessions(&app.editor).await.unwrap().len(),
        sessions_before,
        "a dry run deletes nothing"
    );
    let real = service
        .run_retention(Some(&app.admin), now, false)
        .await
        .unwrap();
    assert_eq!(
        counts(&real),
        counts(&dry),
        "the dry run said what the run did"
    );
    let last = app.service.store().recent_audit(1).await.unwrap();
    assert_eq!(last[0].event.action, AuditAction::RetentionPurged);
    assert_eq!(last[0].event.actor, Some(app.admin.id));
    real
}

async fn retention_deletes_what_the_policy_no_longer_keeps_and_nothing_in_use(app: TestApp) {
    let w = world(app).await;
    let app = &w.app;
    let s = &app.service;
    let t0 = app.clock.now();

    // Day 0: an upload nobody uses, a post published at once, a post scheduled far ahead that shares a
    // slide with it, a draft, an archived draft, a session and an OAuth flow that both end soon.
    let orphan = app.photo(1080, 1350, 50).await;
    let (shared, published_only, scheduled_only) = (
        app.photo(1080, 1350, 1).await,
        app.photo(1080, 1350, 2).await,
        app.photo(1080, 1350, 3).await,
    );
    let published = post(&w, &[shared, published_only], "@sandbox.instagram", "Live").await;
    schedule(&w, published, t0 + Duration::minutes(10)).await;
    w.advance(Duration::minutes(11));
    let report = w.settle().await;
    assert_eq!(report.published, 1, "{report:?}");
    assert_eq!(
        s.store().post(published).await.unwrap().state(),
        PostState::Published
    );
    sql(
        app,
        &format!(
            "UPDATE targets SET last_error = 'the platform said no' WHERE post_id = '{published}'"
        ),
    )
    .await;
    let log_lines = s.store().publish_log(published).await.unwrap().len();
    assert!(log_lines > 0);
    let waiting = post(&w, &[shared, scheduled_only], "@sandbox.facebook", "Later").await;
    schedule(&w, waiting, t0 + Duration::days(1000)).await;
    let old_draft_media = app.photo(1080, 1350, 4).await;
    let old_draft = post(&w, &[old_draft_media], "@sandbox.tiktok", "Old draft").await;
    let archived_media = app.photo(1080, 1350, 5).await;
    let archived = post(&w, &[archived_media], "@sandbox.tiktok", "Dropped").await;
    s.archive_post(&app.editor, archived, None).await.unwrap();
    login(app).await;
    s.store()
        .insert_oauth_state(
            &OAuthState {
                state_hash: "ab".repeat(32),
                platform: Platform::Tiktok,
                user_id: app.admin.id,
                verifier: None,
                redirect_uri: "http://127.0.0.1:8765/callback".into(),
                created_at: app.clock.now(),
                expires_at: app.clock.now() + Duration::minutes(10),
                used_at: None,
            },
            t0 - Duration::days(1),
        )
        .await
        .unwrap();
    let fingerprints = s.store().fingerprints_after(0, 100).await.unwrap().len();
    assert_eq!(fingerprints, 1, "the publish recorded its fingerprint");

    // Day 100: the published post's own media (90 days) and the unused upload (30 days) go; the media
    // it shares with the scheduled post, the drafts' (180 days), its log (365 days) and its fingerprint
    // (the 365-day duplicate window) stay.
    w.advance(Duration::days(100));
    login(app).await;
    let freed: i64 = s.store().media(published_only).await.unwrap().bytes
        + s.store().media(orphan).await.unwrap().bytes;
    let run = dry_then_real(&w, s).await;
    assert_eq!(
        (count(&run, "media"), run.kind("media").unwrap().bytes),
        (2, Some(u64::try_from(freed).unwrap())),
        "{run:#?}"
    );
    assert_eq!(count(&run, "sessions"), 1, "{run:#?}");
    assert_eq!(count(&run, "login-attempts"), 1, "{run:#?}");
    assert_eq!(count(&run, "oauth-states"), 1, "{run:#?}");
    for kind in [
        "publish-log",
        "error-excerpts",
        "archived-posts",
        "fingerprints",
        "audit-events",
    ] {
        assert_eq!(count(&run, kind), 0, "{kind}: {run:#?}");
    }
    assert!(!file_exists(app, published_only).await, "its file is gone");
    assert!(purged(app, published_only).await);
    assert!(
        row_exists(app, published_only).await,
        "the row stays: the post's history keeps its key and hash"
    );
    assert!(
        !row_exists(app, orphan).await,
        "nothing refers to the upload"
    );
    for kept in [shared, scheduled_only, old_draft_media, archived_media] {
        assert!(file_exists(app, kept).await && !purged(app, kept).await);
    }
    assert_eq!(
        s.store().fingerprints_after(0, 100).await.unwrap().len(),
        1,
        "fingerprints outlive the media"
    );
    assert_eq!(
        s.store().publish_log(published).await.unwrap().len(),
        log_lines
    );
    assert_eq!(s.my_sessions(&app.editor).await.unwrap().len(), 1);
    // A post whose media went cannot go out again until its slides are replaced.
    let target = s.store().post(published).await.unwrap().targets[0].id;
    let err = s
        .republish(
            &app.editor,
            published,
            &target.to_string(),
            "once more",
            &ScheduleRequest::now(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "media-purged", "{err}");

    // Day 700: a new draft. Day 800: the old drafts' media (180 days) go, the archived post (730 days),
    // the publish log and error excerpt (365 days), the fingerprint (365 days) and, under a 700-day audit
    // policy, every audit event before day 100. The scheduled post keeps everything.
    w.advance(Duration::days(600));
    let new_draft_media = app.photo(1080, 1350, 6).await;
    post(&w, &[new_draft_media], "@sandbox.tiktok", "New draft").await;
    w.advance(Duration::days(100));
    let audit_700 = s.clone().with_retention(RetentionConfig {
        audit_days: 700,
        ..RetentionConfig::default()
    });
    let run = dry_then_real(&w, &audit_700).await;
    assert_eq!(count(&run, "media"), 2, "{run:#?}");
    assert_eq!(count(&run, "archived-posts"), 1, "{run:#?}");
    assert_eq!(count(&run, "publish-log"), log_lines as u64, "{run:#?}");
    assert_eq!(count(&run, "error-excerpts"), 1, "{run:#?}");
    assert_eq!(count(&run, "fingerprints"), 1, "{run:#?}");
    assert_eq!(count(&run, "sessions"), 1, "{run:#?}");
    assert!(count(&run, "audit-events") > 10, "{run:#?}");
    assert!(!file_exists(app, old_draft_media).await);
    assert!(purged(app, old_draft_media).await && row_exists(app, old_draft_media).await);
    assert_eq!(
        s.store().post(archived).await.unwrap_err().code(),
        "not-found",
        "the archived post is gone"
    );
    assert!(
        !row_exists(app, archived_media).await,
        "and its media row with it"
    );
    assert!(
        s.store().post(old_draft).await.is_ok(),
        "a draft is kept, only its media go"
    );
    for kept in [shared, scheduled_only, new_draft_media] {
        assert!(file_exists(app, kept).await && !purged(app, kept).await);
    }
    assert_eq!(
        s.store().post(waiting).await.unwrap().state(),
        PostState::Scheduled
    );
    assert!(s.store().publish_log(published).await.unwrap().is_empty());
    let ledger = s.store().dispatch_record(target).await.unwrap();
    assert_eq!(ledger.last_error, None, "the error excerpt is cleared");
    assert!(
        ledger.published_post_id.is_some(),
        "the platform id stays: it is the account's history"
    );
    assert!(
        s.store()
            .fingerprints_after(0, 100)
            .await
            .unwrap()
            .is_empty()
    );
    let check = s.verify_audit_chain(&app.admin).await.unwrap();
    assert!(check.anchored_at.is_some(), "{check:?}");
    // Storing the same bytes again brings the file back under the same row.
    assert_eq!(app.photo(1080, 1350, 2).await, published_only);
    assert!(file_exists(app, published_only).await && !purged(app, published_only).await);
    let oldest = s.store().search_audit(&Default::default()).await.unwrap();
    assert!(
        oldest
            .iter()
            .all(|e| e.event.at >= t0 + Duration::days(100)),
        "only events of the last 700 days remain"
    );
}

async fn a_disabled_policy_only_dry_runs_and_only_admins_run_it(app: TestApp) {
    let now = app.clock.now();
    let off = app.service.clone().with_retention(RetentionConfig {
        enabled: false,
        ..RetentionConfig::default()
    });
    let err = off
        .run_retention(Some(&app.admin), now, false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "retention-disabled");
    let dry = off
        .run_retention(Some(&app.admin), now, true)
        .await
        .unwrap();
    assert!(dry.kinds.iter().all(|k| k.count == 0), "{dry:#?}");
    let err = app
        .service
        .run_retention(Some(&app.editor), now, true)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "permission-denied");
    // The server's daily run acts as the system, and leaves no trace when it finds nothing to delete.
    let before = app.service.store().recent_audit(1).await.unwrap()[0].seq;
    let run = app.service.run_retention(None, now, false).await.unwrap();
    assert!(!run.dry_run);
    assert!(run.kinds.iter().all(|k| k.count == 0), "{run:#?}");
    assert_eq!(
        app.service.store().recent_audit(1).await.unwrap()[0].seq,
        before
    );
    // An admin's run is always recorded.
    app.service
        .run_retention(Some(&app.admin), now, false)
        .await
        .unwrap();
    let last = app.service.store().recent_audit(1).await.unwrap();
    assert_eq!(
        (last[0].event.action, last[0].event.actor),
        (AuditAction::RetentionPurged, Some(app.admin.id))
    );
    // A refused sign-in leaves a login attempt; days later the daily run deletes it and says so.
    let wrong = secrecy::SecretString::from("not the password at all");
    let refused = app
        .service
        .login(natronfx_service::LoginRequest {
            email: "editor@example.com",
            password: &wrong,
            address: "192.0.2.7",
            user_agent: "test",
            replaces: None,
        })
        .await;
    assert!(refused.is_err());
    let later = now + chrono::Duration::days(3);
    let run = app.service.run_retention(None, later, false).await.unwrap();
    assert!(run.kinds.iter().any(|k| k.count > 0), "{run:#?}");
    let last = app.service.store().recent_audit(1).await.unwrap();
    assert_eq!(
        (last[0].event.action, last[0].event.actor),
        (AuditAction::RetentionPurged, None)
    );
}
