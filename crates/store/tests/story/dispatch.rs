//! The dispatcher's storage: fenced claims, the ledger, the publish log and shared rate slots.

use std::sync::Arc;

use chrono::Duration;
use natronfx_store::{DispatchRecord, Error, Fence, Lease, LogEntry, Store};
use natronfx_workflow::{
    Account, AccountId, AccountStatus, ApprovalPolicy, AuditAction, AuditEvent, Platform, Post,
    Role, ScheduledAt, TargetState,
};

use crate::{account, new_post, now, user};

stories!(
    due_targets_are_claimed_once_and_fenced,
    a_lease_that_runs_out_is_reclaimed_as_abandoned,
    a_persons_change_beats_a_worker_that_has_not_started,
    rescheduling_clears_backoff_and_retries,
    rate_slots_are_shared_and_free_up_after_the_window,
    only_connected_accounts_are_worked,
    a_reconnected_account_wakes_only_its_waiting_targets,
    the_log_depth_overdue_list_and_republish_reset,
    concurrent_claims_are_disjoint,
);

/// A post with one target per account, approved and scheduled one hour from `now()`.
async fn scheduled(store: &Arc<dyn Store>, accounts: &[&Account]) -> Post {
    let author = user(
        store,
        &format!("a{}@example.com", rand_suffix()),
        Role::Editor,
    )
    .await;
    let mut post = new_post(store, &author, accounts, vec![]).await;
    let mut events = post.submit(&author, ApprovalPolicy::None, now()).unwrap();
    let at = ScheduledAt::new(now() + Duration::hours(1), now()).unwrap();
    events.extend(post.schedule(&author, None, at, now()).unwrap());
    let version = store.save_post(post.snapshot(), &events).await.unwrap();
    let saved = store.post(post.id).await.unwrap();
    assert_eq!(saved.version, version);
    saved
}

fn rand_suffix() -> String {
    let id = natronfx_workflow::UserId::random().to_string();
    id[id.len() - 12..].to_owned()
}

fn fence(c: &natronfx_store::Claim, worker: &str) -> Fence {
    Fence {
        target: c.target,
        worker: worker.into(),
        attempt: c.attempt,
    }
}

async fn due_targets_are_claimed_once_and_fenced(store: Arc<dyn Store>) {
    let ig = account(&store, Platform::Instagram, "@brand").await;
    let tt = account(&store, Platform::Tiktok, "@brand.tt").await;
    let post = scheduled(&store, &[&ig, &tt]).await;
    let t0 = now() + Duration::hours(1);
    let lease = t0 + Duration::seconds(60);
    assert!(
        store
            .claim_due("w1", now(), lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );
    let claims = store.claim_due("w1", t0, lease, 10).await.unwrap();
    assert_eq!(claims.len(), 2);
    assert!(
        claims
            .iter()
            .all(|c| c.attempt == 1 && !c.abandoned && c.post == post.id)
    );
    assert_eq!(claims[0].due_at, t0);
    assert!(
        store
            .claim_due("w2", t0, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "held"
    );

    // A wrong fence writes nothing.
    let c = &claims[0];
    let mut stale = fence(c, "w1");
    stale.attempt = 7;
    let record = DispatchRecord {
        progress: Some("{\"platform\":\"tiktok\"}".into()),
        ..DispatchRecord::default()
    };
    let err = store
        .write_claimed(&stale, &record, Lease::Release, None, &[])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LeaseLost(_)), "{err}");
    assert_eq!(
        store.dispatch_record(c.target).await.unwrap(),
        DispatchRecord::default()
    );

    // The holder starts the target: post and ledger in one write.
    let mut p = store.post(post.id).await.unwrap();
    let events = p.start_target(c.target, t0).unwrap();
    let log = [LogEntry::new(
        c.target,
        p.id,
        c.attempt,
        t0,
        "started",
        "attempt 1",
    )];
    let started = DispatchRecord {
        first_attempt_at: Some(t0),
        next_attempt_at: Some(t0 + Duration::seconds(30)),
        ..record.clone()
    };
    store
        .write_claimed(
            &fence(c, "w1"),
            &started,
            Lease::Release,
            Some((p.snapshot(), &events)),
            &log,
        )
        .await
        .unwrap();
    let p = store.post(post.id).await.unwrap();
    assert_eq!(p.state(), natronfx_workflow::PostState::Publishing);
    assert_eq!(
        p.targets.iter().find(|t| t.id == c.target).unwrap().state,
        TargetState::Publishing
    );
    assert_eq!(store.dispatch_record(c.target).await.unwrap(), started);
    // Released, it comes back when its next step is due, with a new fence.
    assert!(
        store
            .claim_due("w2", t0 + Duration::seconds(10), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_due(
            "w2",
            t0 + Duration::seconds(30),
            lease + Duration::seconds(30),
            10,
        )
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempt, 2);
    assert!(!again[0].abandoned, "it was released, not abandoned");
    assert_eq!(again[0].record, started);
    // The first holder's fence is gone.
    let err = store
        .write_claimed(&fence(c, "w1"), &started, Lease::Release, None, &[])
        .await
        .unwrap_err();
    assert_eq!(err.code(), "lease-lost");
}

async fn a_lease_that_runs_out_is_reclaimed_as_abandoned(store: Arc<dyn Store>) {
    let ig = account(&store, Platform::Instagram, "@brand").await;
    scheduled(&store, &[&ig]).await;
    let t0 = now() + Duration::hours(1);
    let first = store
        .claim_due("w1", t0, t0 + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        store
            .claim_due(
                "w2",
                t0 + Duration::seconds(59),
                t0 + Duration::seconds(120),
                10
            )
            .await
            .unwrap()
            .is_empty()
    );
    let second = store
        .claim_due(
            "w2",
            t0 + Duration::seconds(60),
            t0 + Duration::seconds(120),
            10,
        )
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert!(second[0].abandoned, "w1 never released it");
    assert_eq!(second[0].attempt, first[0].attempt + 1);
    let err = store
        .write_claimed(
            &fence(&first[0], "w1"),
            &DispatchRecord::default(),
            Lease::Release,
            None,
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        "lease-lost",
        "a late result never lands over a newer attempt"
    );
    // A holder that fails unexpectedly ends its claim at once; the next claim is abandoned too.
    let t1 = t0 + Duration::seconds(61);
    store
        .expire_lease(&fence(&second[0], "w2"), t1)
        .await
        .unwrap();
    let third = store
        .claim_due("w3", t1, t1 + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(third.len(), 1);
    assert!(third[0].abandoned);
}

async fn a_persons_change_beats_a_worker_that_has_not_started(store: Arc<dyn Store>) {
    let ig = account(&store, Platform::Instagram, "@brand").await;
    let post = scheduled(&store, &[&ig]).await;
    let t0 = now() + Duration::hours(1);
    let claims = store
        .claim_due("w1", t0, t0 + Duration::seconds(60), 10)
        .await
        .unwrap();
    let c = &claims[0];
    // The worker loaded the post ...
    let mut worker_copy = store.post(post.id).await.unwrap();
    // ... then a person cancels the target.
    let editor = user(&store, "ed@example.com", Role::Editor).await;
    let mut p = store.post(post.id).await.unwrap();
    let events = p.cancel_targets(&editor, None, t0).unwrap();
    store.save_post(p.snapshot(), &events).await.unwrap();
    // The worker's start is refused as a conflict; nothing of it is written.
    let events = worker_copy.start_target(c.target, t0).unwrap();
    let err = store
        .write_claimed(
            &fence(c, "w1"),
            &DispatchRecord {
                first_attempt_at: Some(t0),
                ..Default::default()
            },
            Lease::Extend(t0 + Duration::seconds(60)),
            Some((worker_copy.snapshot(), &events)),
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "conflict");
    assert_eq!(
        store.dispatch_record(c.target).await.unwrap(),
        DispatchRecord::default()
    );
    let p = store.post(post.id).await.unwrap();
    assert_eq!(p.targets[0].state, TargetState::Cancelled);
}

async fn rescheduling_clears_backoff_and_retries(store: Arc<dyn Store>) {
    let ig = account(&store, Platform::Instagram, "@brand").await;
    let post = scheduled(&store, &[&ig]).await;
    let t0 = now() + Duration::hours(1);
    let claims = store
        .claim_due("w1", t0, t0 + Duration::seconds(60), 10)
        .await
        .unwrap();
    let c = &claims[0];
    // A failed try: back to the schedule with a backoff and a retry counted.
    let backoff = DispatchRecord {
        retries: 2,
        next_attempt_at: Some(t0 + Duration::hours(5)),
        last_error: Some("instagram 2: service unavailable (http 503)".into()),
        ..Default::default()
    };
    store
        .write_claimed(&fence(c, "w1"), &backoff, Lease::Release, None, &[])
        .await
        .unwrap();
    assert!(
        store
            .claim_due("w1", t0 + Duration::hours(1), t0 + Duration::hours(2), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A person moves it to two hours from now: the backoff no longer applies.
    let editor = user(&store, "ed@example.com", Role::Editor).await;
    let mut p = store.post(post.id).await.unwrap();
    let later = ScheduledAt::new(t0 + Duration::hours(2), t0).unwrap();
    let events = p.schedule(&editor, None, later, t0).unwrap();
    store.save_post(p.snapshot(), &events).await.unwrap();
    let record = store.dispatch_record(c.target).await.unwrap();
    assert_eq!(record.next_attempt_at, None);
    assert_eq!(record.retries, 0);
    let due = store
        .claim_due("w1", t0 + Duration::hours(2), t0 + Duration::hours(3), 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
}

async fn rate_slots_are_shared_and_free_up_after_the_window(store: Arc<dyn Store>) {
    let tt = account(&store, Platform::Tiktok, "@brand.tt").await;
    let other = account(&store, Platform::Tiktok, "@other").await;
    let t0 = now();
    assert_eq!(
        store
            .reserve_slot(tt.id, "tiktok-init", t0, 60, 2)
            .await
            .unwrap(),
        None
    );
    let t1 = t0 + Duration::seconds(10);
    assert_eq!(
        store
            .reserve_slot(tt.id, "tiktok-init", t1, 60, 2)
            .await
            .unwrap(),
        None
    );
    let t2 = t0 + Duration::seconds(20);
    assert_eq!(
        store
            .reserve_slot(tt.id, "tiktok-init", t2, 60, 2)
            .await
            .unwrap(),
        Some(t0 + Duration::seconds(60)),
        "the oldest call leaves the window first"
    );
    assert_eq!(
        store
            .reserve_slot(other.id, "tiktok-init", t2, 60, 2)
            .await
            .unwrap(),
        None,
        "per account"
    );
    assert_eq!(
        store
            .reserve_slot(tt.id, "other-kind", t2, 60, 2)
            .await
            .unwrap(),
        None,
        "per kind"
    );
    assert_eq!(
        store
            .reserve_slot(tt.id, "tiktok-init", t0 + Duration::seconds(60), 60, 2)
            .await
            .unwrap(),
        None
    );
}

async fn only_connected_accounts_are_worked(store: Arc<dyn Store>) {
    let broken = Account {
        id: AccountId::random(),
        platform: Platform::Facebook,
        external_id: "ext-page".into(),
        display_name: "Page".into(),
        status: AccountStatus::NeedsReconnect,
        sandbox: false,
        connected_by: None,
        created_at: now(),
    };
    let ev = AuditEvent::new(
        now(),
        None,
        AuditAction::AccountConnected,
        "account",
        broken.id,
    );
    store.insert_account(&broken, &ev).await.unwrap();
    scheduled(&store, &[&broken]).await;
    let t0 = now() + Duration::hours(1);
    assert!(
        store
            .claim_due("w1", t0, t0 + Duration::seconds(60), 10)
            .await
            .unwrap()
            .is_empty(),
        "its targets wait for the reconnect"
    );
    assert_eq!(store.queue_depth(t0).await.unwrap().due, 1);
}

async fn a_reconnected_account_wakes_only_its_waiting_targets(store: Arc<dyn Store>) {
    let ig = account(&store, Platform::Instagram, "@brand").await;
    let fb = account(&store, Platform::Facebook, "Brand page").await;
    scheduled(&store, &[&ig, &fb]).await;
    let t0 = now() + Duration::hours(1);
    let claims = store
        .claim_due("w1", t0, t0 + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(claims.len(), 2);
    // Both wait a quarter of an hour: one for its account's reconnect, one in a backoff.
    for c in &claims {
        let wait = DispatchRecord {
            next_attempt_at: Some(t0 + Duration::minutes(15)),
            last_error: Some("the platform refused the token".into()),
            ..Default::default()
        };
        store
            .write_claimed(&fence(c, "w1"), &wait, Lease::Release, None, &[])
            .await
            .unwrap();
    }
    let t1 = t0 + Duration::minutes(1);
    assert!(
        store
            .claim_due("w1", t1, t1 + Duration::seconds(60), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Instagram is connected again: its target is due at once, Facebook's still waits.
    assert_eq!(store.wake_account_targets(ig.id, t1).await.unwrap(), 1);
    let due = store
        .claim_due("w1", t1, t1 + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].account, ig.id);
    // A target someone holds is left to its holder.
    assert_eq!(store.wake_account_targets(ig.id, t1).await.unwrap(), 0);
    assert_eq!(store.wake_account_targets(fb.id, t1).await.unwrap(), 1);
}

async fn the_log_depth_overdue_list_and_republish_reset(store: Arc<dyn Store>) {
    let ig = account(&store, Platform::Instagram, "@brand").await;
    let tt = account(&store, Platform::Tiktok, "@brand.tt").await;
    let post = scheduled(&store, &[&ig, &tt]).await;
    let t0 = now() + Duration::hours(1);
    let depth = store.queue_depth(now()).await.unwrap();
    assert_eq!((depth.due, depth.waiting), (0, 2));
    let overdue = store
        .overdue_targets(t0 + Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(overdue.len(), 2);
    assert!(
        store.overdue_targets(t0, 10).await.unwrap().is_empty(),
        "strictly before"
    );

    let claims = store
        .claim_due("w1", t0, t0 + Duration::seconds(60), 1)
        .await
        .unwrap();
    assert_eq!(claims.len(), 1, "the limit holds");
    let c = &claims[0];
    let mut p = store.post(post.id).await.unwrap();
    let mut events = p.start_target(c.target, t0).unwrap();
    events.extend(
        p.record_target_outcome(c.target, TargetState::Published, Some("id 1789".into()), t0)
            .unwrap(),
    );
    let live = DispatchRecord {
        progress: Some("{}".into()),
        published_post_id: Some("1789".into()),
        permalink: Some("https://example.test/p/1789".into()),
        published_at: Some(t0),
        first_attempt_at: Some(t0),
        ..Default::default()
    };
    let log = [
        LogEntry {
            remote_id: Some("1789".into()),
            duration_ms: Some(120),
            worker: Some("w1".into()),
            ..LogEntry::new(c.target, p.id, c.attempt, t0, "published", "live")
        },
        LogEntry {
            http_status: Some(503),
            error_class: Some("retryable".into()),
            error_code: Some("2".into()),
            trace_id: Some("AbC".into()),
            ..LogEntry::new(c.target, p.id, c.attempt, t0, "retry", "later")
        },
    ];
    store
        .write_claimed(
            &fence(c, "w1"),
            &live,
            Lease::Release,
            Some((p.snapshot(), &events)),
            &log,
        )
        .await
        .unwrap();
    assert_eq!(store.publish_log(post.id).await.unwrap(), log.to_vec());
    let depth = store.queue_depth(t0).await.unwrap();
    assert_eq!((depth.due, depth.in_flight), (1, 0));

    // A deliberate republish clears that target's ledger.
    let editor = user(&store, "ed@example.com", Role::Editor).await;
    let mut p = store.post(post.id).await.unwrap();
    let at = ScheduledAt::new(t0 + Duration::hours(1), t0).unwrap();
    let events = p
        .republish_target(&editor, c.target, "wrong crop", at, t0)
        .unwrap();
    store
        .save_post_logged(p.snapshot(), &events, &[], &[c.target])
        .await
        .unwrap();
    assert_eq!(
        store.dispatch_record(c.target).await.unwrap(),
        DispatchRecord::default()
    );
}

async fn concurrent_claims_are_disjoint(store: Arc<dyn Store>) {
    let mut accounts = Vec::new();
    for i in 0..12 {
        accounts.push(account(&store, Platform::Facebook, &format!("page{i}")).await);
    }
    for a in &accounts {
        scheduled(&store, &[a]).await;
    }
    let t0 = now() + Duration::hours(1);
    let lease = t0 + Duration::seconds(60);
    let (a, b, c) = tokio::join!(
        store.claim_due("w1", t0, lease, 5),
        store.claim_due("w2", t0, lease, 5),
        store.claim_due("w3", t0, lease, 5),
    );
    let mut all: Vec<_> = [a.unwrap(), b.unwrap(), c.unwrap()]
        .into_iter()
        .flatten()
        .map(|c| c.target)
        .collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "no target claimed twice");
    assert_eq!(n, 12, "none left behind");
}
