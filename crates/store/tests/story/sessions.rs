//! Sessions, login attempts and the dashboard's paged reads, on both backends.

use std::sync::Arc;

use chrono::Duration;
use natronfx_store::{LoginAttempt, MediaCursor, PostFilter, PostSearch, SessionRecord, Store};
use natronfx_workflow::{
    AuditAction, AuditEvent, LocalSchedule, Platform, PostState, Role, ScheduledAt, UserId,
};

use super::{account, media, new_post, now, user};

stories!(
    sessions_start_rotate_touch_and_end,
    a_password_change_ends_every_other_session,
    expired_and_idle_sessions_are_purged,
    login_failures_count_per_email_until_a_success_and_per_address_always,
    posts_are_searched_by_platform_and_account,
    the_calendar_lists_targets_in_a_range,
    audit_and_media_pages_follow_their_cursors,
);

fn session(hash: &str, user: UserId) -> SessionRecord {
    SessionRecord {
        id_hash: hash.into(),
        user_id: user,
        created_at: now(),
        last_seen_at: now(),
        expires_at: now() + Duration::hours(12),
        address: "203.0.113.7".into(),
        user_agent: "Firefox".into(),
    }
}

fn attempt(email: &str, address: &str, success: bool, minutes: i64) -> LoginAttempt {
    LoginAttempt {
        at: now() + Duration::minutes(minutes),
        email: email.into(),
        address: address.into(),
        success,
    }
}

fn event(action: AuditAction, user: UserId) -> AuditEvent {
    AuditEvent::new(now(), Some(user), action, "user", user)
}

async fn sessions_start_rotate_touch_and_end(store: Arc<dyn Store>) {
    let ana = user(&store, "ana@example.com", Role::Editor).await;
    let login = event(AuditAction::LoginSucceeded, ana.id);
    let ok = attempt("ana@example.com", "203.0.113.7", true, 0);
    store
        .start_session(&session("h1", ana.id), None, &ok, &login)
        .await
        .unwrap();
    assert_eq!(store.session("h1").await.unwrap(), session("h1", ana.id));
    // Signing in again from the same browser replaces its session: the old id stops working.
    store
        .start_session(&session("h2", ana.id), Some("h1"), &ok, &login)
        .await
        .unwrap();
    assert_eq!(store.session("h1").await.unwrap_err().code(), "not-found");
    let later = now() + Duration::minutes(5);
    store.touch_session("h2", later).await.unwrap();
    assert_eq!(store.session("h2").await.unwrap().last_seen_at, later);
    assert_eq!(store.sessions_of(ana.id).await.unwrap().len(), 1);
    let logout = event(AuditAction::LoggedOut, ana.id);
    assert!(store.end_session("h2", Some(&logout)).await.unwrap());
    assert!(!store.end_session("h2", Some(&logout)).await.unwrap());
    let trail = store.audit_for("user", &ana.id.to_string()).await.unwrap();
    let actions: Vec<_> = trail.iter().map(|e| e.event.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::UserCreated,
            AuditAction::LoginSucceeded,
            AuditAction::LoginSucceeded,
            AuditAction::LoggedOut
        ],
        "one logout event, for the session that existed"
    );
    assert!(
        store
            .verify_audit_chain()
            .await
            .unwrap()
            .first_break
            .is_none()
    );
}

async fn a_password_change_ends_every_other_session(store: Arc<dyn Store>) {
    let ana = user(&store, "ana@example.com", Role::Editor).await;
    let rui = user(&store, "rui@example.com", Role::Viewer).await;
    let ok = attempt("x", "a", true, 0);
    let login = event(AuditAction::LoginSucceeded, ana.id);
    for (h, who) in [
        ("a1", ana.id),
        ("a2", ana.id),
        ("a3", ana.id),
        ("r1", rui.id),
    ] {
        store
            .start_session(&session(h, who), None, &ok, &login)
            .await
            .unwrap();
    }
    let changed = event(AuditAction::PasswordChanged, ana.id);
    let ended = store
        .change_password(ana.id, "$argon2id$new", Some("a2"), &changed)
        .await
        .unwrap();
    assert_eq!(ended, 2);
    assert_eq!(
        store.password_hash(ana.id).await.unwrap().as_deref(),
        Some("$argon2id$new")
    );
    let left: Vec<_> = store
        .sessions_of(ana.id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id_hash)
        .collect();
    assert_eq!(left, ["a2"]);
    assert!(store.session("r1").await.is_ok(), "others keep theirs");
    // Without a session to keep, all of them end.
    assert_eq!(
        store
            .change_password(ana.id, "$argon2id$newer", None, &changed)
            .await
            .unwrap(),
        1
    );
    let missing = store
        .change_password(UserId::random(), "h", None, &changed)
        .await
        .unwrap_err();
    assert_eq!(missing.code(), "not-found");
}

async fn expired_and_idle_sessions_are_purged(store: Arc<dyn Store>) {
    let ana = user(&store, "ana@example.com", Role::Editor).await;
    let ok = attempt("x", "a", true, 0);
    let login = event(AuditAction::LoginSucceeded, ana.id);
    let mut old = session("old", ana.id);
    old.expires_at = now() + Duration::hours(1);
    let mut idle = session("idle", ana.id);
    idle.last_seen_at = now() - Duration::hours(3);
    let fresh = session("fresh", ana.id);
    for s in [&old, &idle, &fresh] {
        store.start_session(s, None, &ok, &login).await.unwrap();
    }
    let purged = store
        .purge_sessions(now() + Duration::hours(1), now() - Duration::hours(2))
        .await
        .unwrap();
    assert_eq!(purged, 2);
    assert!(store.session("fresh").await.is_ok());
}

async fn login_failures_count_per_email_until_a_success_and_per_address_always(
    store: Arc<dyn Store>,
) {
    let ana = user(&store, "ana@example.com", Role::Editor).await;
    let fail = event(AuditAction::LoginFailed, ana.id);
    for m in 0..3 {
        store
            .record_failed_login(&attempt("ana@example.com", "10.0.0.1", false, m), &fail)
            .await
            .unwrap();
    }
    store
        .record_failed_login(&attempt("bob@example.com", "10.0.0.1", false, 3), &fail)
        .await
        .unwrap();
    let counts = store
        .login_failures("ana@example.com", "10.0.0.1", now())
        .await
        .unwrap();
    assert_eq!((counts.by_email, counts.by_address), (3, 4));
    // The window excludes what came before it.
    let counts = store
        .login_failures("ana@example.com", "10.0.0.1", now() + Duration::minutes(2))
        .await
        .unwrap();
    assert_eq!((counts.by_email, counts.by_address), (1, 2));
    // A success wipes the account's slate, not the address's.
    let login = event(AuditAction::LoginSucceeded, ana.id);
    store
        .start_session(
            &session("s", ana.id),
            None,
            &attempt("ana@example.com", "10.0.0.1", true, 4),
            &login,
        )
        .await
        .unwrap();
    let counts = store
        .login_failures("ana@example.com", "10.0.0.1", now())
        .await
        .unwrap();
    assert_eq!((counts.by_email, counts.by_address), (0, 4));
    let other = store
        .login_failures("ana@example.com", "10.9.9.9", now())
        .await
        .unwrap();
    assert_eq!(other.by_address, 0);
    assert_eq!(
        store
            .purge_login_attempts(now() + Duration::minutes(2))
            .await
            .unwrap(),
        2
    );
}

async fn posts_are_searched_by_platform_and_account(store: Arc<dyn Store>) {
    let ana = user(&store, "ana@example.com", Role::Editor).await;
    let ig = account(&store, Platform::Instagram, "@brand").await;
    let ig2 = account(&store, Platform::Instagram, "@brand.two").await;
    let tt = account(&store, Platform::Tiktok, "@brand.tt").await;
    let a = new_post(&store, &ana, &[&ig, &tt], vec![]).await;
    let b = new_post(&store, &ana, &[&ig2], vec![]).await;
    let c = new_post(&store, &ana, &[], vec![]).await;
    let ids = |search: PostSearch| {
        let store = store.clone();
        async move {
            let mut v: Vec<_> = store
                .search_posts(&search)
                .await
                .unwrap()
                .into_iter()
                .map(|p| p.id)
                .collect();
            v.sort();
            v
        }
    };
    let page = |filter: PostFilter| PostSearch {
        filter: PostFilter {
            limit: 50,
            ..filter
        },
        ..Default::default()
    };
    let mut all = vec![a.id, b.id, c.id];
    all.sort();
    assert_eq!(ids(page(PostFilter::default())).await, all);
    let mut by_ig = vec![a.id, b.id];
    by_ig.sort();
    assert_eq!(
        ids(PostSearch {
            platform: Some(Platform::Instagram),
            ..page(PostFilter::default())
        })
        .await,
        by_ig
    );
    assert_eq!(
        ids(PostSearch {
            account: Some(ig2.id),
            ..page(PostFilter::default())
        })
        .await,
        [b.id]
    );
    assert_eq!(
        ids(PostSearch {
            account: Some(ig2.id),
            platform: Some(Platform::Tiktok),
            ..page(PostFilter::default())
        })
        .await,
        [],
        "both filters hold for the same target"
    );
    assert_eq!(
        ids(PostSearch {
            platform: Some(Platform::Facebook),
            ..page(PostFilter {
                state: Some(PostState::Draft),
                ..Default::default()
            })
        })
        .await,
        []
    );
}

async fn the_calendar_lists_targets_in_a_range(store: Arc<dyn Store>) {
    let ana = user(&store, "ana@example.com", Role::Admin).await;
    let ig = account(&store, Platform::Instagram, "@brand").await;
    let tt = account(&store, Platform::Tiktok, "@brand.tt").await;
    let mut post = new_post(&store, &ana, &[&ig, &tt], vec![]).await;
    let policy = natronfx_workflow::ApprovalPolicy::None;
    let events = post.submit(&ana, policy, now()).unwrap();
    store.save_post(post.snapshot(), &events).await.unwrap();
    let mut post = store.post(post.id).await.unwrap();
    let at: ScheduledAt = LocalSchedule::parse("2026-12-10 09:00", "UTC", Default::default())
        .unwrap()
        .resolve(now())
        .unwrap();
    let ig_target = post
        .targets
        .iter()
        .find(|t| t.account_id == ig.id)
        .unwrap()
        .id;
    let events = post.schedule(&ana, Some(&[ig_target]), at, now()).unwrap();
    store.save_post(post.snapshot(), &events).await.unwrap();
    let day = at.instant();
    let entries = store
        .calendar(day - Duration::hours(1), day + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(entries.len(), 1, "only the scheduled target has an instant");
    assert_eq!(entries[0].account_name, "@brand");
    assert_eq!(entries[0].platform, Platform::Instagram);
    assert_eq!(entries[0].at, day);
    assert_eq!(entries[0].post_state, PostState::Scheduled);
    // The range is half-open.
    assert!(
        store
            .calendar(day + Duration::seconds(1), day + Duration::days(1))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .calendar(day - Duration::days(1), day)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn audit_and_media_pages_follow_their_cursors(store: Arc<dyn Store>) {
    let ana = user(&store, "ana@example.com", Role::Admin).await;
    for _ in 0..4 {
        store
            .append_audit(&[event(AuditAction::SettingChanged, ana.id)])
            .await
            .unwrap();
    }
    let mut seqs = Vec::new();
    let mut before = None;
    loop {
        let page = store.audit_page(before, 2).await.unwrap();
        if page.is_empty() {
            break;
        }
        before = page.last().map(|e| e.seq);
        seqs.extend(page.iter().map(|e| e.seq));
    }
    assert_eq!(seqs.len(), 5, "the user's creation and four changes");
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "newest first");

    let mut made = Vec::new();
    for n in 0..3 {
        made.push(media(&store, n).await);
    }
    let first = store.media_page(None, 2).await.unwrap();
    assert_eq!(first.len(), 2);
    let last = first.last().unwrap();
    let rest = store
        .media_page(
            Some(MediaCursor {
                created_at: last.created_at,
                id: last.id,
            }),
            2,
        )
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    let mut seen: Vec<_> = first.iter().chain(&rest).map(|m| m.id).collect();
    seen.sort();
    made.sort();
    assert_eq!(seen, made);
}
