//! The storage story: the same test bodies run on SQLite and on PostgreSQL.
//!
//! Every story is a function taking a fresh store; `stories!` turns each into a `sqlite` and a `postgres`
//! test. The PostgreSQL variants need `NATRONFX_TEST_POSTGRES_URL` and fail without it.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use natronfx_store::testing::TestDb;
use natronfx_store::{
    ApiToken, ContentFingerprint, Error, MediaRecord, MediaSource, PostCursor, PostFilter,
    SealedCredential, SealedServiceSecret, SlideFingerprint, Store,
};
use natronfx_workflow::{
    Account, AccountId, AccountStatus, AltText, ApprovalPolicy, AuditAction, AuditEvent, Caption,
    ContentEdit, Hashtag, MediaId, Platform, Post, PostDraft, PostId, PostState, Role, ScheduledAt,
    Slide, TargetSpec, TargetState, Title, TokenId, User, UserId,
};

macro_rules! stories {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = natronfx_store::testing::TestDb::sqlite();
                    super::$name(db.open().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = natronfx_store::testing::TestDb::postgres().await;
                    super::$name(db.open().await).await;
                }
            )*
        }
    };
}

mod connections;
mod dispatch;

stories!(
    users_round_trip_and_emails_are_unique,
    posts_round_trip_whole,
    concurrent_edits_give_one_conflict,
    a_refused_save_writes_nothing,
    listing_pages_with_a_cursor_and_filters,
    tokens_are_found_by_hash_until_revoked,
    settings_and_audit_trail,
    media_rows_are_content_addressed,
    slides_must_point_at_stored_media,
    credentials_are_replaced_counted_resealed_and_deleted,
    secrets_of_the_system_are_replaced_counted_resealed_and_deleted_with_their_audit_event,
    fingerprints_round_trip_in_pages,
);

mod sessions;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

fn created(user: &User) -> AuditEvent {
    AuditEvent::new(now(), None, AuditAction::UserCreated, "user", user.id)
}

async fn user(store: &Arc<dyn Store>, email: &str, role: Role) -> User {
    let u = User::new(
        UserId::random(),
        email.parse().unwrap(),
        "Someone",
        role,
        now(),
    );
    store
        .insert_user(&u, Some("$argon2id$fake"), &created(&u))
        .await
        .unwrap();
    u
}

async fn account(store: &Arc<dyn Store>, platform: Platform, name: &str) -> Account {
    let a = Account {
        id: AccountId::random(),
        platform,
        external_id: format!("ext-{name}"),
        display_name: name.into(),
        status: AccountStatus::Connected,
        sandbox: true,
        connected_by: None,
        created_at: now(),
    };
    let ev = AuditEvent::new(now(), None, AuditAction::AccountConnected, "account", a.id);
    store.insert_account(&a, &ev).await.unwrap();
    a
}

async fn media(store: &Arc<dyn Store>, n: u8) -> MediaId {
    let sha = format!("{n:02x}").repeat(32);
    store
        .insert_media(&MediaRecord {
            id: MediaId::random(),
            key: format!("{sha}.jpg"),
            sha256: sha,
            bytes: 1234,
            width: 1080,
            height: 1350,
            format: "jpeg".into(),
            source: MediaSource::Rendered,
            created_by: None,
            created_at: now(),
        })
        .await
        .unwrap()
}

async fn new_post(
    store: &Arc<dyn Store>,
    author: &User,
    accounts: &[&Account],
    slides: Vec<Slide>,
) -> Post {
    let draft = PostDraft {
        title: Title::parse("Winter launch ☕").unwrap(),
        caption: Caption::parse("New blend #Coffee\nline two 東京").unwrap(),
        extra_hashtags: vec![Hashtag::parse("launch").unwrap()],
        slides,
        targets: accounts
            .iter()
            .map(|a| TargetSpec {
                platform: a.platform,
                account_id: a.id,
                caption_override: None,
                options: Default::default(),
            })
            .collect(),
    };
    let (post, event) = Post::create(PostId::random(), author, draft, now()).unwrap();
    store.insert_post(post.snapshot(), &[event]).await.unwrap();
    post
}

async fn users_round_trip_and_emails_are_unique(store: Arc<dyn Store>) {
    let ana = user(&store, "Ana@Example.com", Role::Editor).await;
    assert_eq!(store.user(ana.id).await.unwrap(), ana);
    assert_eq!(
        store
            .user_by_email(&"ana@example.com".parse().unwrap())
            .await
            .unwrap()
            .id,
        ana.id
    );
    assert_eq!(
        store.password_hash(ana.id).await.unwrap().as_deref(),
        Some("$argon2id$fake")
    );
    let dup = User::new(
        UserId::random(),
        "ana@example.com".parse().unwrap(),
        "Other",
        Role::Viewer,
        now(),
    );
    let err = store
        .insert_user(&dup, None, &created(&dup))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "conflict", "{err}");
    let mut changed = ana.clone();
    changed.role = Role::Reviewer;
    changed.disabled = true;
    let ev = AuditEvent::new(now(), None, AuditAction::RoleChanged, "user", ana.id);
    store.update_user(&changed, &ev).await.unwrap();
    assert_eq!(store.user(ana.id).await.unwrap(), changed);
    assert_eq!(store.list_users().await.unwrap().len(), 1);
    let missing = store.user(UserId::random()).await.unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }));
}

async fn posts_round_trip_whole(store: Arc<dyn Store>) {
    let author = user(&store, "ana@example.com", Role::Editor).await;
    let reviewer = user(&store, "rui@example.com", Role::Reviewer).await;
    let ig = account(&store, Platform::Instagram, "@brand").await;
    let tt = account(&store, Platform::Tiktok, "@brand.tt").await;
    let slides = vec![
        Slide {
            media_id: media(&store, 1).await,
            alt_text: AltText::parse("first").unwrap(),
        },
        Slide {
            media_id: media(&store, 2).await,
            alt_text: AltText::parse("second").unwrap(),
        },
    ];
    let mut post = new_post(&store, &author, &[&ig, &tt], slides).await;
    assert_eq!(store.post(post.id).await.unwrap(), post);

    // Review and schedule, saving after each step; what comes back is exactly what was saved.
    let events = post
        .submit(&author, ApprovalPolicy::Required, now())
        .unwrap();
    let v = store.save_post(post.snapshot(), &events).await.unwrap();
    let mut post = store.post(post.id).await.unwrap();
    assert_eq!(post.version, v);
    let events = post
        .approve(
            &reviewer,
            ApprovalPolicy::Required,
            Some("lovely".into()),
            now(),
        )
        .unwrap();
    store.save_post(post.snapshot(), &events).await.unwrap();
    let mut post = store.post(post.id).await.unwrap();
    let at = ScheduledAt::new(
        now() + Duration::hours(5) + Duration::milliseconds(123),
        now(),
    )
    .unwrap();
    let events = post.schedule(&author, None, at, now()).unwrap();
    store.save_post(post.snapshot(), &events).await.unwrap();
    let loaded = store.post(post.id).await.unwrap();
    assert_eq!(loaded.state(), PostState::Scheduled);
    assert_eq!(loaded.reviews.len(), 1);
    assert_eq!(loaded.reviews[0].comment.as_deref(), Some("lovely"));
    assert_eq!(loaded.slides, post.slides);
    for t in &loaded.targets {
        assert_eq!(t.state, TargetState::Scheduled);
        assert_eq!(
            t.scheduled_at,
            Some(at),
            "the instant survives storage to the millisecond"
        );
    }
    assert_eq!(loaded.hashtags().len(), 2);
    assert_eq!(loaded.caption.as_str(), "New blend #Coffee\nline two 東京");

    // The audit trail of the post is complete and ordered.
    let trail = store.audit_for("post", &post.id.to_string()).await.unwrap();
    let actions: Vec<_> = trail.iter().map(|e| e.event.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::PostCreated,
            AuditAction::PostSubmitted,
            AuditAction::PostApproved,
            AuditAction::PostScheduled
        ]
    );
    assert!(trail.windows(2).all(|w| w[0].seq < w[1].seq));

    // Removing a target deletes its row; the other keeps its identity.
    let mut post = loaded;
    let keep = post
        .targets
        .iter()
        .find(|t| t.platform == Platform::Tiktok)
        .unwrap()
        .id;
    let edit = ContentEdit {
        targets: Some(vec![TargetSpec {
            platform: Platform::Tiktok,
            account_id: tt.id,
            caption_override: Some(Caption::parse("tt only").unwrap()),
            options: natronfx_workflow::TargetOptions {
                privacy_level: Some("SELF_ONLY".into()),
                disable_comment: true,
                ..Default::default()
            },
        }]),
        ..Default::default()
    };
    let events = post.edit(&author, edit, now()).unwrap();
    store.save_post(post.snapshot(), &events).await.unwrap();
    let loaded = store.post(post.id).await.unwrap();
    assert_eq!(loaded.targets.len(), 1);
    assert_eq!(loaded.targets[0].id, keep);
    assert_eq!(
        loaded.targets[0]
            .caption_override
            .as_ref()
            .unwrap()
            .as_str(),
        "tt only"
    );
    assert_eq!(loaded.state(), PostState::Draft);
}

async fn concurrent_edits_give_one_conflict(store: Arc<dyn Store>) {
    let author = user(&store, "ana@example.com", Role::Admin).await;
    let post = new_post(&store, &author, &[], vec![]).await;
    // Two people load the same version, then both save at once.
    let copies = [
        store.post(post.id).await.unwrap(),
        store.post(post.id).await.unwrap(),
    ];
    let mut handles = Vec::new();
    for (i, mut mine) in copies.into_iter().enumerate() {
        let store = store.clone();
        let author = author.clone();
        handles.push(tokio::spawn(async move {
            let edit = ContentEdit {
                title: Some(Title::parse(&format!("edit {i}")).unwrap()),
                ..Default::default()
            };
            let events = mine.edit(&author, edit, now()).unwrap();
            store.save_post(mine.snapshot(), &events).await
        }));
    }
    let mut results = Vec::new();
    for h in handles {
        results.push(h.await.unwrap());
    }
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let conflicts: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(ok, 1, "{results:?}");
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].code(), "conflict");
    // The winner's edit is there; the loser's is not half-applied.
    let loaded = store.post(post.id).await.unwrap();
    assert_eq!(loaded.version, post.version + 1);
    let edits = store.audit_for("post", &post.id.to_string()).await.unwrap();
    assert_eq!(
        edits
            .iter()
            .filter(|e| e.event.action == AuditAction::PostEdited)
            .count(),
        1
    );
}

async fn a_refused_save_writes_nothing(store: Arc<dyn Store>) {
    let author = user(&store, "ana@example.com", Role::Admin).await;
    let mut post = new_post(&store, &author, &[], vec![]).await;
    // A slide pointing at media that does not exist fails the whole save.
    let edit = ContentEdit {
        title: Some(Title::parse("changed").unwrap()),
        slides: Some(vec![Slide {
            media_id: MediaId::random(),
            alt_text: AltText::parse("x").unwrap(),
        }]),
        ..Default::default()
    };
    let events = post.edit(&author, edit, now()).unwrap();
    let err = store.save_post(post.snapshot(), &events).await.unwrap_err();
    assert_eq!(err.code(), "not-found", "{err}");
    let loaded = store.post(post.id).await.unwrap();
    assert_eq!(loaded.title.as_str(), "Winter launch ☕");
    assert_eq!(loaded.version, 0);
    let trail = store.audit_for("post", &post.id.to_string()).await.unwrap();
    assert_eq!(
        trail.len(),
        1,
        "no audit event for a save that did not happen"
    );
}

async fn listing_pages_with_a_cursor_and_filters(store: Arc<dyn Store>) {
    let ana = user(&store, "ana@example.com", Role::Editor).await;
    let bo = user(&store, "bo@example.com", Role::Editor).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let author = if i % 2 == 0 { &ana } else { &bo };
        let draft = PostDraft {
            title: Title::parse(&format!("post {i}")).unwrap(),
            caption: Caption::parse("").unwrap(),
            extra_hashtags: vec![],
            slides: vec![],
            targets: vec![],
        };
        let (mut post, ev) = Post::create(
            PostId::random(),
            author,
            draft,
            now() + Duration::minutes(i),
        )
        .unwrap();
        if i == 3 {
            post.submit(
                author,
                ApprovalPolicy::Required,
                now() + Duration::minutes(i),
            )
            .unwrap();
        }
        store.insert_post(post.snapshot(), &[ev]).await.unwrap();
        ids.push(post.id);
    }
    let mut seen = Vec::new();
    let mut after: Option<PostCursor> = None;
    loop {
        let page = store
            .list_posts(&PostFilter {
                after,
                limit: 3,
                ..Default::default()
            })
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|p| PostCursor {
            updated_at: p.updated_at,
            id: p.id,
        });
        seen.extend(page.into_iter().map(|p| p.id));
    }
    ids.reverse();
    assert_eq!(seen, ids, "every post once, newest first");
    let in_review = store
        .list_posts(&PostFilter {
            state: Some(PostState::InReview),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(in_review.len(), 1);
    assert_eq!(in_review[0].title, "post 3");
    let by_bo = store
        .list_posts(&PostFilter {
            author: Some(bo.id),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_bo.len(), 3);
}

async fn tokens_are_found_by_hash_until_revoked(store: Arc<dyn Store>) {
    let ana = user(&store, "ana@example.com", Role::Editor).await;
    let token = ApiToken {
        id: TokenId::random(),
        user_id: ana.id,
        name: "ci".into(),
        role: Role::Viewer,
        created_at: now(),
        last_used_at: None,
        revoked_at: None,
    };
    let ev = AuditEvent::new(
        now(),
        Some(ana.id),
        AuditAction::TokenCreated,
        "token",
        token.id,
    );
    store.insert_token(&token, "hash-1", &ev).await.unwrap();
    assert_eq!(store.token_by_hash("hash-1").await.unwrap(), token);
    store
        .touch_token(token.id, now() + Duration::minutes(1))
        .await
        .unwrap();
    assert!(store.token(token.id).await.unwrap().last_used_at.is_some());
    let ev = AuditEvent::new(
        now(),
        Some(ana.id),
        AuditAction::TokenRevoked,
        "token",
        token.id,
    );
    store.revoke_token(token.id, now(), &ev).await.unwrap();
    assert_eq!(
        store.token_by_hash("hash-1").await.unwrap_err().code(),
        "not-found"
    );
    assert_eq!(
        store
            .revoke_token(token.id, now(), &ev)
            .await
            .unwrap_err()
            .code(),
        "not-found"
    );
    assert_eq!(store.list_tokens(ana.id).await.unwrap().len(), 1);
}

async fn settings_and_audit_trail(store: Arc<dyn Store>) {
    assert_eq!(store.setting("approval_policy").await.unwrap(), None);
    let ev = AuditEvent::new(
        now(),
        None,
        AuditAction::SettingChanged,
        "setting",
        "approval_policy",
    );
    store
        .set_setting("approval_policy", "multi:2", &ev)
        .await
        .unwrap();
    store
        .set_setting("approval_policy", "none", &ev)
        .await
        .unwrap();
    assert_eq!(
        store.setting("approval_policy").await.unwrap().as_deref(),
        Some("none")
    );
    let recent = store.recent_audit(10).await.unwrap();
    assert_eq!(recent.len(), 2);
    assert!(recent[0].seq > recent[1].seq, "newest first");
    store.ping().await.unwrap();
}

async fn media_rows_are_content_addressed(store: Arc<dyn Store>) {
    let first = media(&store, 7).await;
    let again = media(&store, 7).await;
    assert_eq!(first, again, "the same key is stored once");
    media(&store, 8).await;
    let listed = store.list_media(10).await.unwrap();
    assert_eq!(listed.len(), 2);
    let m = store.media(first).await.unwrap();
    assert_eq!(
        (m.width, m.height, m.source),
        (1080, 1350, MediaSource::Rendered)
    );
}

async fn slides_must_point_at_stored_media(store: Arc<dyn Store>) {
    let author = user(&store, "ana@example.com", Role::Editor).await;
    let draft = PostDraft {
        title: Title::parse("x").unwrap(),
        caption: Caption::parse("").unwrap(),
        extra_hashtags: vec![],
        slides: vec![Slide {
            media_id: MediaId::random(),
            alt_text: AltText::parse("").unwrap(),
        }],
        targets: vec![],
    };
    let (post, ev) = Post::create(PostId::random(), &author, draft, now()).unwrap();
    assert_eq!(
        store
            .insert_post(post.snapshot(), &[ev])
            .await
            .unwrap_err()
            .code(),
        "not-found"
    );
    assert_eq!(
        store.post(post.id).await.unwrap_err().code(),
        "not-found",
        "nothing half-written"
    );
}

#[tokio::test]
async fn unknown_schemes_and_missing_folders_are_clear_errors() {
    let err = natronfx_store::connect("mysql://localhost/x")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported database URL `mysql://localhost/x`: use sqlite:PATH or postgres://..."
    );
    let err = natronfx_store::connect("sqlite:/definitely/not/here/x.db")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid-database-url");
    assert!(
        err.to_string().contains("/definitely/not/here/x.db"),
        "{err}"
    );
    assert!(!std::path::Path::new("/definitely/not/here").exists());
    // A fresh file in an existing folder is created and migrated.
    let db = TestDb::sqlite();
    let store = db.open().await;
    assert_eq!(store.backend(), "sqlite");
    assert!(store.list_users().await.unwrap().is_empty());
}

fn sealed(account: AccountId, field: &str, key_id: u32, bytes: &[u8]) -> SealedCredential {
    SealedCredential {
        account_id: account,
        field: field.into(),
        key_id,
        ciphertext: bytes.to_vec(),
        expires_at: Some(now() + Duration::hours(1)),
        updated_at: now(),
    }
}

async fn credentials_are_replaced_counted_resealed_and_deleted(store: Arc<dyn Store>) {
    let a = account(&store, Platform::Tiktok, "@a").await;
    let b = account(&store, Platform::Instagram, "@b").await;
    let access = sealed(a.id, "access_token", 1, b"\x00sealed-a1");
    let refresh = sealed(a.id, "refresh_token", 1, b"\x00sealed-r1");
    store
        .put_credentials(&[access.clone(), refresh.clone()], None)
        .await
        .unwrap();
    store
        .put_credentials(&[sealed(b.id, "access_token", 2, b"b2")], None)
        .await
        .unwrap();
    assert_eq!(
        store.credential(a.id, "access_token").await.unwrap(),
        access
    );
    assert_eq!(
        store.credential_counts_by_key().await.unwrap(),
        vec![(1, 2), (2, 1)]
    );

    // A rotation batch: everything not yet under key 2.
    let batch = store.credentials_not_sealed_by(2, 10).await.unwrap();
    assert_eq!(batch.len(), 2);
    let resealed = sealed(a.id, "access_token", 2, b"resealed");
    assert!(store.reseal_credential(&access, &resealed).await.unwrap());
    // A refresh wrote a new token meanwhile: the stale re-seal must not overwrite it.
    let fresh = sealed(a.id, "refresh_token", 2, b"fresh");
    store
        .put_credentials(std::slice::from_ref(&fresh), None)
        .await
        .unwrap();
    assert!(
        !store
            .reseal_credential(&refresh, &sealed(a.id, "refresh_token", 2, b"stale"))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .credential(a.id, "refresh_token")
            .await
            .unwrap()
            .ciphertext,
        b"fresh"
    );
    assert_eq!(
        store.credential_counts_by_key().await.unwrap(),
        vec![(2, 3)]
    );

    let ev = AuditEvent::new(now(), None, AuditAction::AccountConnected, "account", a.id);
    assert_eq!(store.delete_credentials(a.id, &ev).await.unwrap(), 2);
    assert!(store.credentials_of(a.id).await.unwrap().is_empty());
    assert_eq!(
        store
            .credential(a.id, "access_token")
            .await
            .unwrap_err()
            .code(),
        "not-found"
    );
    assert_eq!(
        store.account(a.id).await.unwrap().id,
        a.id,
        "the account and its history stay"
    );
    let ghost = sealed(AccountId::random(), "access_token", 2, b"x");
    assert_eq!(
        store
            .put_credentials(&[ghost], None)
            .await
            .unwrap_err()
            .code(),
        "not-found"
    );
}

fn service_secret(name: &str, key_id: u32, bytes: &[u8]) -> SealedServiceSecret {
    SealedServiceSecret {
        name: name.into(),
        key_id,
        ciphertext: bytes.to_vec(),
        updated_at: now(),
    }
}

async fn secrets_of_the_system_are_replaced_counted_resealed_and_deleted_with_their_audit_event(
    store: Arc<dyn Store>,
) {
    let stored = |name: &str| {
        AuditEvent::new(
            now(),
            None,
            AuditAction::SecretStored,
            "vault",
            name.to_owned(),
        )
    };
    assert_eq!(
        store
            .service_secret("images_api_key")
            .await
            .unwrap_err()
            .code(),
        "not-found"
    );
    let first = service_secret("images_api_key", 1, b"\x00sealed-1");
    store
        .put_service_secret(&first, &stored("images_api_key"))
        .await
        .unwrap();
    assert_eq!(store.service_secret("images_api_key").await.unwrap(), first);
    // Replaced, not added.
    let second = service_secret("images_api_key", 1, b"\x00sealed-2");
    store
        .put_service_secret(&second, &stored("images_api_key"))
        .await
        .unwrap();
    store
        .put_service_secret(&service_secret("other", 2, b"o"), &stored("other"))
        .await
        .unwrap();
    let all = store.service_secrets().await.unwrap();
    assert_eq!(
        all.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["images_api_key", "other"]
    );
    assert_eq!(all[0], second);

    // The vault's status counts them with the account credentials.
    let a = account(&store, Platform::Tiktok, "@a").await;
    store
        .put_credentials(&[sealed(a.id, "access_token", 1, b"t")], None)
        .await
        .unwrap();
    assert_eq!(
        store.credential_counts_by_key().await.unwrap(),
        vec![(1, 2), (2, 1)]
    );

    // Re-sealing is a compare-and-swap on the old ciphertext.
    let resealed = service_secret("images_api_key", 2, b"resealed");
    assert!(
        !store
            .reseal_service_secret(&first, &resealed)
            .await
            .unwrap()
    );
    assert!(
        store
            .reseal_service_secret(&second, &resealed)
            .await
            .unwrap()
    );
    assert_eq!(
        store.service_secret("images_api_key").await.unwrap().key_id,
        2
    );

    // Deleting writes its event only when something was deleted.
    let removed = AuditEvent::new(
        now(),
        None,
        AuditAction::SecretRemoved,
        "vault",
        "images_api_key",
    );
    let events = store.recent_audit(100).await.unwrap().len();
    assert!(
        store
            .delete_service_secret("images_api_key", &removed)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_service_secret("images_api_key", &removed)
            .await
            .unwrap()
    );
    let audit = store.recent_audit(100).await.unwrap();
    assert_eq!(audit.len(), events + 1);
    assert_eq!(audit[0].event.action, AuditAction::SecretRemoved);
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.event.action == AuditAction::SecretStored)
            .count(),
        3
    );
    assert_eq!(
        store.credential_counts_by_key().await.unwrap(),
        vec![(1, 1), (2, 1)]
    );
}

async fn fingerprints_round_trip_in_pages(store: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for i in 0..5u64 {
        let fp = ContentFingerprint {
            id: 0,
            post_id: PostId::random(),
            account_id: AccountId::random(),
            platform: Platform::Instagram,
            published_at: now(),
            caption_exact: vec![i as u8; 32],
            caption_simhash: u64::MAX - i,
            slides: (0..3)
                .map(|p| SlideFingerprint {
                    position: p,
                    dhash: u64::MAX - u64::from(p),
                    phash: 1u64 << 63 | i,
                })
                .collect(),
        };
        let id = store.record_fingerprint(&fp).await.unwrap();
        ids.push((id, fp));
    }
    let first = store.fingerprints_after(0, 3).await.unwrap();
    let rest = store
        .fingerprints_after(first.last().unwrap().id, 10)
        .await
        .unwrap();
    assert_eq!(first.len() + rest.len(), 5);
    for (loaded, (id, fp)) in first.iter().chain(&rest).zip(&ids) {
        assert_eq!(loaded.id, *id);
        assert_eq!(
            ContentFingerprint {
                id: *id,
                ..fp.clone()
            },
            *loaded,
            "hashes keep all 64 bits"
        );
    }
    // Recording the same post × account again replaces it under the same id.
    let (id, mut again) = ids[0].clone();
    again.slides.truncate(1);
    assert_eq!(store.record_fingerprint(&again).await.unwrap(), id);
    let by_caption = store.fingerprints_by_caption(&[0u8; 32]).await.unwrap();
    assert_eq!(by_caption.len(), 1);
    assert_eq!(by_caption[0].slides.len(), 1);
}

/// Writes a few chained events, then lets `tamper` change the database behind the store's back.
async fn chain_story(db: &TestDb, tamper: &[&str]) -> natronfx_store::ChainCheck {
    let store = db.open().await;
    let before = store.verify_audit_chain().await.unwrap().checked;
    let ana = user(
        &store,
        &format!("ana.{}@example.com", MediaId::random()),
        Role::Editor,
    )
    .await;
    for i in 0..5 {
        let ev = AuditEvent::new(
            now(),
            Some(ana.id),
            AuditAction::SettingChanged,
            "setting",
            format!("k{i}"),
        )
        .with_note(Some(format!("note {i}")));
        store.append_audit(&[ev]).await.unwrap();
    }
    let clean = store.verify_audit_chain().await.unwrap();
    assert_eq!(
        (clean.checked, clean.first_break.clone()),
        (before + 6, None),
        "user creation + 5 events"
    );
    for sql in tamper {
        if db.url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&pool)
                .await
                .unwrap();
        } else {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&pool)
                .await
                .unwrap();
        }
    }
    store.verify_audit_chain().await.unwrap()
}

async fn the_audit_chain_names_the_first_edited_deleted_or_swapped_row(db: TestDb) {
    use natronfx_store::ChainBreak;
    let edited = chain_story(
        &db,
        &["UPDATE audit_events SET note = 'forged' WHERE seq = 4"],
    )
    .await;
    assert_eq!(edited.first_break, Some(ChainBreak::Edited { seq: 4 }));
    assert_eq!(edited.checked, 3);
}

async fn deleted_rows_break_the_chain(db: TestDb) {
    use natronfx_store::ChainBreak;
    let deleted = chain_story(&db, &["DELETE FROM audit_events WHERE seq = 3"]).await;
    assert_eq!(deleted.first_break, Some(ChainBreak::Unlinked { seq: 4 }));
}

async fn swapped_rows_break_the_chain(db: TestDb) {
    use natronfx_store::ChainBreak;
    // Reorder rows 2 and 3. SQLite lets a writer renumber rows; PostgreSQL's identity column does not, so
    // there the two rows' contents trade places instead. Either way the log reads in another order.
    let swap: &[&str] = if db.url.starts_with("sqlite:") {
        &[
            "UPDATE audit_events SET seq = 1000 WHERE seq = 2",
            "UPDATE audit_events SET seq = 2 WHERE seq = 3",
            "UPDATE audit_events SET seq = 3 WHERE seq = 1000",
        ]
    } else {
        &[
            "UPDATE audit_events SET at = o.at, actor_id = o.actor_id, action = o.action, \
           subject_kind = o.subject_kind, subject_id = o.subject_id, from_state = o.from_state, \
           to_state = o.to_state, note = o.note, prev_hash = o.prev_hash, hash = o.hash \
           FROM (SELECT * FROM audit_events WHERE seq IN (2, 3)) AS o \
           WHERE audit_events.seq IN (2, 3) AND o.seq <> audit_events.seq",
        ]
    };
    let swapped = chain_story(&db, swap).await;
    assert_eq!(swapped.first_break, Some(ChainBreak::Unlinked { seq: 2 }));
}

async fn rows_written_around_the_log_break_the_chain(db: TestDb) {
    use natronfx_store::ChainBreak;
    let bypassed = chain_story(
        &db,
        &[
            "INSERT INTO audit_events (at, action, subject_kind, subject_id) \
           VALUES ('2026-12-01T10:00:00Z', 'post-created', 'post', 'x')",
        ],
    )
    .await;
    assert_eq!(bypassed.first_break, Some(ChainBreak::Unhashed { seq: 7 }));
}

/// Five events from long ago and three from now; retention deletes the old ones (its own event appended
/// in the same transaction), then `tamper` changes the database behind the store's back.
async fn anchored_story(db: &TestDb, tamper: &[&str]) -> natronfx_store::ChainCheck {
    let store = db.open().await;
    let long_ago = now() - Duration::days(3000);
    for i in 0..8 {
        let at = if i < 5 {
            long_ago + Duration::minutes(i)
        } else {
            now()
        };
        let ev = AuditEvent::new(
            at,
            None,
            AuditAction::SettingChanged,
            "setting",
            format!("k{i}"),
        );
        store.append_audit(&[ev]).await.unwrap();
    }
    let before = now() - Duration::days(2555);
    let dry = store.purge_audit(before, None).await.unwrap();
    assert_eq!(dry.count, 5, "a dry run counts the old prefix");
    assert_eq!(
        store.verify_audit_chain().await.unwrap().checked,
        8,
        "and deletes nothing"
    );
    let purge = AuditEvent::new(
        now(),
        None,
        AuditAction::RetentionPurged,
        "retention",
        "run",
    );
    let done = store.purge_audit(before, Some(&purge)).await.unwrap();
    assert_eq!(done.count, 5);
    let anchor = store.audit_anchor().await.unwrap().expect("an anchor");
    assert_eq!((anchor.first_seq, anchor.deleted), (6, 5));
    let clean = store.verify_audit_chain().await.unwrap();
    assert_eq!(
        (clean.checked, clean.first_break, clean.anchored_at),
        (4, None, Some(6)),
        "three recent events and the purge's own, verified from the anchor"
    );
    let kept = store.recent_audit(10).await.unwrap();
    assert_eq!(
        kept.first().unwrap().event.action,
        AuditAction::RetentionPurged
    );
    assert_eq!(kept.last().unwrap().seq, 6);
    for sql in tamper {
        if db.url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&pool)
                .await
                .unwrap();
        } else {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&pool)
                .await
                .unwrap();
        }
    }
    store.verify_audit_chain().await.unwrap()
}

async fn retention_deletes_the_oldest_events_and_the_chain_still_verifies(db: TestDb) {
    let check = anchored_story(&db, &[]).await;
    assert_eq!(check.first_break, None);
}

async fn after_retention_a_deleted_event_is_still_caught(db: TestDb) {
    use natronfx_store::ChainBreak;
    let middle = anchored_story(&db, &["DELETE FROM audit_events WHERE seq = 7"]).await;
    assert_eq!(middle.first_break, Some(ChainBreak::Unlinked { seq: 8 }));
}

async fn after_retention_deleting_the_anchored_event_is_caught(db: TestDb) {
    use natronfx_store::ChainBreak;
    let first = anchored_story(&db, &["DELETE FROM audit_events WHERE seq = 6"]).await;
    assert_eq!(first.first_break, Some(ChainBreak::Unlinked { seq: 7 }));
}

async fn a_forged_anchor_does_not_hide_a_deleted_prefix(db: TestDb) {
    use natronfx_store::ChainBreak;
    // Someone deletes more of the log and moves the anchor to cover it, without the hash it needs.
    let forged = anchored_story(
        &db,
        &[
            "DELETE FROM audit_events WHERE seq = 6",
            "INSERT INTO audit_anchors (first_seq, prev_hash, deleted, created_at) \
             VALUES (7, 'forged', 1, '2026-12-01T09:00:00Z')",
        ],
    )
    .await;
    assert_eq!(forged.first_break, Some(ChainBreak::Unlinked { seq: 7 }));
}

macro_rules! chain_stories {
    ($($name:ident),*) => {
        mod chain_sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(natronfx_store::testing::TestDb::sqlite()).await;
                }
            )*
        }
        mod chain_postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(natronfx_store::testing::TestDb::postgres().await).await;
                }
            )*
        }
    };
}

chain_stories!(
    the_audit_chain_names_the_first_edited_deleted_or_swapped_row,
    deleted_rows_break_the_chain,
    swapped_rows_break_the_chain,
    rows_written_around_the_log_break_the_chain,
    retention_deletes_the_oldest_events_and_the_chain_still_verifies,
    after_retention_a_deleted_event_is_still_caught,
    after_retention_deleting_the_anchored_event_is_caught,
    a_forged_anchor_does_not_hide_a_deleted_prefix
);

#[tokio::test]
async fn concurrent_writers_on_postgres_never_fork_the_chain() {
    let db = TestDb::postgres().await;
    let store = db.open().await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let ev = AuditEvent::new(
                now(),
                None,
                AuditAction::SettingChanged,
                "setting",
                format!("k{i}"),
            );
            store.append_audit(&[ev.clone(), ev]).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let check = store.verify_audit_chain().await.unwrap();
    assert_eq!((check.checked, check.first_break), (32, None));
}

mod provenance;
