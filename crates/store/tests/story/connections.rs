//! Connected accounts on both backends: single-use OAuth states, connecting again in place, disconnecting
//! without losing history, the refresh sweep's query and the per-account refresh lock.

use std::sync::Arc;

use chrono::Duration;
use natronfx_store::{Connection, OAuthState, RefreshUpdate, StateTake, Store};
use natronfx_workflow::{
    Account, AccountId, AccountStatus, AuditAction, AuditEvent, Platform, Role, User,
};

use crate::{now, sealed, user};

stories!(
    oauth_states_are_single_use_and_purged_after_they_expire,
    connecting_again_updates_in_place_and_keeps_the_refresh_token,
    disconnecting_deletes_credentials_and_keeps_the_account,
    due_connections_come_soonest_first_and_refreshes_take_turns,
);

fn state(hash: &str, user: &User, minutes: i64) -> OAuthState {
    OAuthState {
        state_hash: hash.into(),
        platform: Platform::Tiktok,
        user_id: user.id,
        verifier: Some(b"\x01sealed-verifier".to_vec()),
        redirect_uri: "http://127.0.0.1:8765/callback".into(),
        created_at: now(),
        expires_at: now() + Duration::minutes(minutes),
        used_at: None,
    }
}

async fn oauth_states_are_single_use_and_purged_after_they_expire(store: Arc<dyn Store>) {
    let u = user(&store, "ana@example.com", Role::Admin).await;
    store
        .insert_oauth_state(&state("h1", &u, 10), now() - Duration::days(1))
        .await
        .unwrap();
    // Two takers at once: exactly one gets it.
    let (a, b) = tokio::join!(
        store.take_oauth_state("h1", now()),
        store.take_oauth_state("h1", now())
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let taken = [&a, &b]
        .iter()
        .filter(|t| matches!(t, StateTake::Taken(_)))
        .count();
    assert_eq!(taken, 1, "{a:?} {b:?}");
    let StateTake::Taken(first) = (if matches!(a, StateTake::Taken(_)) {
        a
    } else {
        b
    }) else {
        unreachable!()
    };
    assert_eq!(first.user_id, u.id);
    assert_eq!(first.verifier.as_deref(), Some(&b"\x01sealed-verifier"[..]));
    match store.take_oauth_state("h1", now()).await.unwrap() {
        StateTake::AlreadyUsed(s) => {
            assert!(s.used_at.is_some());
            assert!(s.verifier.is_none(), "the verifier is gone once used");
        }
        other => panic!("a replay: {other:?}"),
    }
    assert_eq!(
        store.take_oauth_state("nope", now()).await.unwrap(),
        StateTake::Unknown
    );
    // A new flow purges flows that expired before the given instant.
    store
        .insert_oauth_state(&state("h2", &u, 10), now() + Duration::minutes(11))
        .await
        .unwrap();
    assert_eq!(
        store.take_oauth_state("h1", now()).await.unwrap(),
        StateTake::Unknown
    );
    assert!(matches!(
        store.take_oauth_state("h2", now()).await.unwrap(),
        StateTake::Taken(_)
    ));
}

fn connection(id: AccountId, by: &User, external: &str) -> Connection {
    Connection {
        account: Account {
            id,
            platform: Platform::Tiktok,
            external_id: external.into(),
            display_name: "@brand".into(),
            status: AccountStatus::Connected,
            sandbox: false,
            connected_by: Some(by.id),
            created_at: now(),
        },
        login: Some(Platform::Tiktok),
        scopes: vec!["user.info.basic".into(), "video.publish".into()],
        access_expires_at: Some(now() + Duration::hours(24)),
        refresh_expires_at: Some(now() + Duration::days(365)),
        connected_at: Some(now()),
        last_refresh_at: None,
        last_refresh_error: None,
    }
}

fn connected(id: AccountId) -> AuditEvent {
    AuditEvent::new(now(), None, AuditAction::AccountConnected, "account", id)
}

async fn connecting_again_updates_in_place_and_keeps_the_refresh_token(store: Arc<dyn Store>) {
    let ana = user(&store, "ana@example.com", Role::Admin).await;
    let rui = user(&store, "rui@example.com", Role::Admin).await;
    let id = AccountId::random();
    let first = connection(id, &ana, "open-1");
    let saved = store
        .save_connection(
            &first,
            &[
                sealed(id, "access_token", 1, b"a1"),
                sealed(id, "refresh_token", 1, b"r1"),
            ],
            &connected(id),
        )
        .await
        .unwrap();
    assert_eq!(saved, id);
    assert_eq!(store.connection(id).await.unwrap(), first);
    assert_eq!(
        store
            .connection_by_external(Platform::Tiktok, "open-1")
            .await
            .unwrap()
            .map(|c| c.account.id),
        Some(id)
    );
    assert!(
        store
            .connection_by_external(Platform::Instagram, "open-1")
            .await
            .unwrap()
            .is_none()
    );

    // Connected again by someone else, with a new access token and no refresh token.
    let mut again = connection(id, &rui, "open-1");
    again.account.display_name = "@brand.renamed".into();
    again.account.created_at = now() + Duration::days(3);
    again.connected_at = Some(now() + Duration::days(3));
    again.access_expires_at = Some(now() + Duration::days(4));
    again.refresh_expires_at = None;
    again.scopes = vec!["user.info.basic".into()];
    store
        .save_connection(
            &again,
            &[sealed(id, "access_token", 1, b"a2")],
            &connected(id),
        )
        .await
        .unwrap();
    let stored = store.connection(id).await.unwrap();
    assert_eq!(stored.account.display_name, "@brand.renamed");
    assert_eq!(stored.account.connected_by, Some(rui.id));
    assert_eq!(stored.account.created_at, now(), "first connection kept");
    assert_eq!(stored.connected_at, again.connected_at);
    assert_eq!(stored.scopes, ["user.info.basic"]);
    assert_eq!(
        stored.refresh_expires_at, first.refresh_expires_at,
        "no refresh token given: its expiry stays"
    );
    assert_eq!(
        store
            .credential(id, "refresh_token")
            .await
            .unwrap()
            .ciphertext,
        b"r1",
        "the stored refresh token is never replaced by nothing"
    );
    assert_eq!(
        store
            .credential(id, "access_token")
            .await
            .unwrap()
            .ciphertext,
        b"a2"
    );
    assert_eq!(store.list_accounts().await.unwrap().len(), 1);

    // A racing first connection sealed for another id writes nothing.
    let other = AccountId::random();
    let err = store
        .save_connection(
            &connection(other, &ana, "open-1"),
            &[sealed(other, "access_token", 1, b"a3")],
            &connected(other),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "conflict");
    assert_eq!(
        store
            .credential(id, "access_token")
            .await
            .unwrap()
            .ciphertext,
        b"a2"
    );
    // Credentials sealed for another account are refused before anything is written.
    let err = store
        .save_connection(
            &connection(id, &ana, "open-1"),
            &[sealed(other, "access_token", 1, b"a4")],
            &connected(id),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "conflict");
    let events = store.audit_for("account", &id.to_string()).await.unwrap();
    assert_eq!(events.len(), 2, "one event per connection that happened");
}

async fn disconnecting_deletes_credentials_and_keeps_the_account(store: Arc<dyn Store>) {
    let ana = user(&store, "ana@example.com", Role::Admin).await;
    let id = AccountId::random();
    store
        .save_connection(
            &connection(id, &ana, "open-2"),
            &[
                sealed(id, "access_token", 1, b"a1"),
                sealed(id, "refresh_token", 1, b"r1"),
            ],
            &connected(id),
        )
        .await
        .unwrap();
    let events = [
        AuditEvent::new(now(), None, AuditAction::AccountDisconnected, "account", id)
            .with_states("connected", "disconnected"),
        AuditEvent::new(now(), None, AuditAction::CredentialsPurged, "account", id),
    ];
    assert_eq!(store.disconnect_account(id, &events).await.unwrap(), 2);
    assert!(store.credentials_of(id).await.unwrap().is_empty());
    let stored = store.connection(id).await.unwrap();
    assert_eq!(stored.account.status, AccountStatus::Disconnected);
    assert_eq!(
        (stored.access_expires_at, stored.refresh_expires_at),
        (None, None)
    );
    let actions: Vec<_> = store
        .audit_for("account", &id.to_string())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.action)
        .collect();
    assert_eq!(
        actions,
        [
            AuditAction::AccountConnected,
            AuditAction::AccountDisconnected,
            AuditAction::CredentialsPurged
        ]
    );
    let err = store
        .disconnect_account(AccountId::random(), &events)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not-found");

    // A refused token marks the account for a reconnect.
    let ev = AuditEvent::new(
        now(),
        None,
        AuditAction::AccountNeedsReconnect,
        "account",
        id,
    );
    store
        .set_connection_status(id, AccountStatus::NeedsReconnect, Some("refused"), &ev)
        .await
        .unwrap();
    let stored = store.connection(id).await.unwrap();
    assert_eq!(stored.account.status, AccountStatus::NeedsReconnect);
    assert_eq!(stored.last_refresh_error.as_deref(), Some("refused"));
}

async fn due_connections_come_soonest_first_and_refreshes_take_turns(store: Arc<dyn Store>) {
    let ana = user(&store, "ana@example.com", Role::Admin).await;
    let mut ids = Vec::new();
    for (n, hours) in [(1, 5), (2, 1), (3, 30)] {
        let id = AccountId::random();
        let mut c = connection(id, &ana, &format!("open-due-{n}"));
        c.access_expires_at = Some(now() + Duration::hours(hours));
        store
            .save_connection(&c, &[sealed(id, "access_token", 1, b"a")], &connected(id))
            .await
            .unwrap();
        ids.push(id);
    }
    assert_eq!(
        store
            .connections_due(now() + Duration::hours(6), 10)
            .await
            .unwrap(),
        [ids[1], ids[0]]
    );
    assert_eq!(
        store
            .connections_due(now() + Duration::hours(6), 1)
            .await
            .unwrap(),
        [ids[1]]
    );

    // Two refreshers of one account: the second waits for the first and sees what it wrote.
    let id = ids[1];
    let mut first = store.lock_connection(id).await.unwrap();
    let (before, creds) = first.read().await.unwrap();
    assert_eq!(creds.len(), 1);
    let second = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut lock = store.lock_connection(id).await.unwrap();
            let seen = lock.read().await.unwrap();
            drop(lock);
            seen
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !second.is_finished(),
        "the second refresher waits while the first holds the lock"
    );
    let update = RefreshUpdate {
        status: AccountStatus::Connected,
        access_expires_at: Some(now() + Duration::hours(24)),
        refresh_expires_at: before.refresh_expires_at,
        last_refresh_at: Some(now()),
        last_refresh_error: None,
    };
    let ev = AuditEvent::new(now(), None, AuditAction::AccountConnected, "account", id);
    first
        .commit(
            &update,
            &[sealed(id, "access_token", 2, b"fresh")],
            Some(&ev),
        )
        .await
        .unwrap();
    let (after, creds) = second.await.unwrap();
    assert_eq!(after.access_expires_at, update.access_expires_at);
    assert_eq!(after.last_refresh_at, Some(now()));
    assert_eq!(creds[0].ciphertext, b"fresh");
    assert_eq!(
        store
            .connections_due(now() + Duration::hours(6), 10)
            .await
            .unwrap(),
        [ids[0]]
    );

    // A lock dropped without commit changes nothing and lets the next one in.
    let mut abandoned = store.lock_connection(id).await.unwrap();
    abandoned.read().await.unwrap();
    drop(abandoned);
    let mut next = store.lock_connection(id).await.unwrap();
    assert_eq!(next.read().await.unwrap().1[0].ciphertext, b"fresh");
    drop(next);
    assert_eq!(
        store
            .lock_connection(AccountId::random())
            .await
            .err()
            .map(|e| e.code()),
        Some("not-found")
    );
}
