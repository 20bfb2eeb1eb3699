//! Credentials and the system's own secrets in the database: the same stories on SQLite and PostgreSQL,
//! and no plaintext in the file.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use chrono::Duration;
use natronfx_store::Store;
use natronfx_store::testing::TestDb;
use natronfx_vault::Secret;
use natronfx_workflow::{AuditAction, AuditEvent};

use crate::{account, event, keys, now, vault};

/// Connect, refresh, tamper, disconnect and rotate, against any backend.
async fn story(store: Arc<dyn Store>) {
    let keys = keys(&[1, 2]);
    let vault1 = vault(&store, 1, &keys);
    let brand = account(&store, "@brand").await;
    let other = account(&store, "@other").await;

    // Connecting stores the access and refresh tokens together, with their expiries.
    let access = Secret::from("act.first-access-token");
    let refresh = Secret::from("rft.first-refresh-token");
    let access_expiry = now() + Duration::hours(24);
    let refresh_expiry = now() + Duration::days(365);
    vault1
        .store_secrets(
            brand,
            &[
                ("access_token", &access, Some(access_expiry)),
                ("refresh_token", &refresh, Some(refresh_expiry)),
            ],
            Some(&event(brand)),
        )
        .await
        .unwrap();
    assert_eq!(
        vault1.secret(brand, "access_token").await.unwrap().expose(),
        "act.first-access-token"
    );
    let opened = vault1.credential(brand, "refresh_token").await.unwrap();
    assert_eq!(opened.secret.expose(), "rft.first-refresh-token");
    assert_eq!(
        opened.expires_at.map(|t| t.timestamp()),
        Some(refresh_expiry.timestamp())
    );
    let fields = vault1.fields(brand).await.unwrap();
    assert_eq!(
        fields
            .iter()
            .map(|f| (f.field.as_str(), f.key_id))
            .collect::<Vec<_>>(),
        vec![("access_token", 1), ("refresh_token", 1)]
    );

    // A refresh that returns only a new access token keeps the refresh token.
    vault1
        .store_secrets(
            brand,
            &[("access_token", &Secret::from("act.second"), None)],
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        vault1.secret(brand, "access_token").await.unwrap().expose(),
        "act.second"
    );
    assert_eq!(
        vault1
            .secret(brand, "refresh_token")
            .await
            .unwrap()
            .expose(),
        "rft.first-refresh-token"
    );

    // A write with one bad field writes nothing at all.
    let err = vault1
        .store_secrets(
            brand,
            &[
                ("access_token", &Secret::from("act.third"), None),
                ("Refresh Token", &Secret::from("rft.third"), None),
            ],
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid-credential-field");
    let err = vault1
        .store_secrets(
            brand,
            &[
                ("access_token", &Secret::from("a"), None),
                ("access_token", &Secret::from("b"), None),
            ],
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid-credential-field");
    assert_eq!(
        vault1.secret(brand, "access_token").await.unwrap().expose(),
        "act.second"
    );

    // A ciphertext copied onto another account's row, or another field, does not open.
    let row = store.credential(brand, "access_token").await.unwrap();
    let mut moved = row.clone();
    moved.account_id = other;
    let mut swapped = row.clone();
    swapped.field = "refresh_token".into();
    store.put_credentials(&[moved], None).await.unwrap();
    let err = vault1.secret(other, "access_token").await.unwrap_err();
    assert_eq!(err.code(), "credential-tampered");
    store.put_credentials(&[swapped], None).await.unwrap();
    let err = vault1.secret(brand, "refresh_token").await.unwrap_err();
    assert_eq!(err.code(), "credential-tampered");
    // Relabelling the key id column does not help either.
    let mut relabelled = row.clone();
    relabelled.key_id = 2;
    store.put_credentials(&[relabelled], None).await.unwrap();
    assert_eq!(
        vault1
            .secret(brand, "access_token")
            .await
            .unwrap_err()
            .code(),
        "credential-tampered"
    );
    store.put_credentials(&[row], None).await.unwrap();

    // Reconnecting the account repairs it.
    vault1
        .store_secrets(
            brand,
            &[("refresh_token", &Secret::from("rft.reconnected"), None)],
            None,
        )
        .await
        .unwrap();

    // Unknown fields and unknown accounts.
    let err = vault1.secret(brand, "page_token").await.unwrap_err();
    assert_eq!(err.code(), "credential-not-found");
    let ghost = natronfx_workflow::AccountId::random();
    let err = vault1
        .store_secrets(ghost, &[("access_token", &access, None)], None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not-found");

    // Rotation to key 2 re-seals everything (the tampered copy on `other` is left and reported).
    let vault2 = vault(&store, 2, &keys);
    let report = vault2
        .rotate(10, |_| std::ops::ControlFlow::Continue(()))
        .await
        .unwrap();
    assert_eq!(
        (report.resealed, report.unreadable, report.remaining),
        (2, 1, 1)
    );
    assert_eq!(
        vault2
            .secret(brand, "refresh_token")
            .await
            .unwrap()
            .expose(),
        "rft.reconnected"
    );
    assert_eq!(vault2.status().await.unwrap().key(2).unwrap().sealed, 2);

    // Disconnecting deletes the rows, and the audit log says so (without any secret).
    let audited = |id: natronfx_workflow::AccountId| {
        let store = store.clone();
        async move {
            store
                .audit_for("account", &id.to_string())
                .await
                .unwrap()
                .len()
        }
    };
    let before = audited(other).await;
    let removed = vault2.remove_all(other, &event(other)).await.unwrap();
    assert_eq!(removed, 1);
    assert!(store.credentials_of(other).await.unwrap().is_empty());
    assert_eq!(audited(other).await, before + 1);
    // Connect (account row) + the first store_secrets, both audited.
    assert_eq!(audited(brand).await, 2);
    assert_eq!(
        vault2
            .secret(other, "access_token")
            .await
            .unwrap_err()
            .code(),
        "credential-not-found"
    );
    let status = vault2.status().await.unwrap();
    assert!(status.key(1).unwrap().retirable(), "{status:?}");
    assert_eq!(
        vault2.remove_all(brand, &event(brand)).await.unwrap(),
        2,
        "brand's own two fields go too"
    );
    assert!(store.credentials_of(brand).await.unwrap().is_empty());
    assert_eq!(vault2.status().await.unwrap().not_under_primary(), 0);
}

#[tokio::test]
async fn story_on_sqlite() {
    let db = TestDb::sqlite();
    story(db.open().await).await;
}

#[tokio::test]
async fn story_on_postgres() {
    let db = TestDb::postgres().await;
    story(db.open().await).await;
}

/// A secret of the system (the image API key): sealed bound to its name, read back, counted by the
/// status, re-sealed by a rotation with the account credentials, and deleted with its audit event.
async fn system_secrets(store: Arc<dyn Store>) {
    let keys = keys(&[1, 2]);
    let old = vault(&store, 1, &keys);
    let stored = |name: &str| {
        AuditEvent::new(
            now(),
            None,
            AuditAction::SecretStored,
            "vault",
            name.to_owned(),
        )
    };
    assert!(
        old.service_secret("images_api_key")
            .await
            .unwrap()
            .is_none()
    );
    let key = Secret::from("sk-proj-SystemSecretProbe-0123456789");
    old.store_service_secret("images_api_key", &key, &stored("images_api_key"))
        .await
        .unwrap();
    assert_eq!(
        old.service_secret("images_api_key")
            .await
            .unwrap()
            .unwrap()
            .expose(),
        key.expose()
    );
    let row = store.service_secret("images_api_key").await.unwrap();
    assert!(
        !row.ciphertext
            .windows(key.len())
            .any(|w| w == key.expose().as_bytes())
    );
    assert_eq!(
        old.store_service_secret("Images Key", &key, &stored("x"))
            .await
            .unwrap_err()
            .code(),
        "invalid-credential-field"
    );

    // A ciphertext copied under another name does not open there, and a rotation leaves it alone.
    store
        .put_service_secret(
            &natronfx_store::SealedServiceSecret {
                name: "copied".into(),
                ..row.clone()
            },
            &stored("copied"),
        )
        .await
        .unwrap();
    assert_eq!(
        old.service_secret("copied").await.unwrap_err().code(),
        "credential-tampered"
    );
    let a = account(&store, "@with-token").await;
    old.store_secrets(a, &[("access_token", &Secret::from("tok"), None)], None)
        .await
        .unwrap();
    assert_eq!(old.status().await.unwrap().key(1).unwrap().sealed, 3);

    let new = vault(&store, 2, &keys);
    let report = new
        .rotate(100, |_| ControlFlow::Continue(()))
        .await
        .unwrap();
    assert_eq!(
        (report.resealed, report.unreadable, report.remaining),
        (2, 1, 1),
        "the token and the image key are re-sealed; the copied row cannot be opened: {report:?}"
    );
    assert_eq!(
        store.service_secret("images_api_key").await.unwrap().key_id,
        2
    );
    assert_eq!(
        vault(&store, 2, &BTreeMap::from([(2, keys[&2].clone())]))
            .service_secret("images_api_key")
            .await
            .unwrap()
            .unwrap()
            .expose(),
        key.expose(),
        "key 1 is no longer needed to read it"
    );

    let infos = new.service_secret_infos().await.unwrap();
    assert_eq!(
        infos
            .iter()
            .map(|i| (i.name.as_str(), i.key_id))
            .collect::<Vec<_>>(),
        [("copied", 1), ("images_api_key", 2)]
    );
    let removed = AuditEvent::new(now(), None, AuditAction::SecretRemoved, "vault", "copied");
    assert!(new.remove_service_secret("copied", &removed).await.unwrap());
    assert!(!new.remove_service_secret("copied", &removed).await.unwrap());
    let status = new.status().await.unwrap();
    assert!(status.key(1).unwrap().retirable(), "{status:?}");
}

#[tokio::test]
async fn system_secrets_on_sqlite() {
    let db = TestDb::sqlite();
    system_secrets(db.open().await).await;
}

#[tokio::test]
async fn system_secrets_on_postgres() {
    let db = TestDb::postgres().await;
    system_secrets(db.open().await).await;
}

#[tokio::test]
async fn the_sqlite_file_and_its_wal_hold_no_plaintext_token() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    let keys = keys(&[1]);
    let vault = vault(&store, 1, &keys);
    let probe = "@plaintext-probe-display-name";
    let mut tokens = Vec::new();
    for n in 0..20 {
        let a = account(&store, probe).await;
        let access = format!("act.PlainTextAccessToken{n:04}-EAAGm0PX4ZCpsBA");
        let refresh = format!("rft.PlainTextRefreshToken{n:04}-zYx");
        vault
            .store_secrets(
                a,
                &[
                    ("access_token", &Secret::from(access.as_str()), None),
                    ("refresh_token", &Secret::from(refresh.as_str()), None),
                ],
                Some(&event(a)),
            )
            .await
            .unwrap();
        tokens.push(access);
        tokens.push(refresh);
    }

    let image_key = "sk-proj-PlainTextImageApiKey-0c7d";
    vault
        .store_service_secret(
            "images_api_key",
            &Secret::from(image_key),
            &AuditEvent::new(
                now(),
                None,
                AuditAction::SecretStored,
                "vault",
                "images_api_key",
            ),
        )
        .await
        .unwrap();
    tokens.push(image_key.to_owned());

    let path = db.url.trim_start_matches("sqlite:").to_owned();
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        if let Ok(b) = std::fs::read(format!("{path}{suffix}")) {
            bytes.extend(b);
        }
    }
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(
        contains(probe.as_bytes()),
        "the scan reads the database: the account name is there"
    );
    for token in &tokens {
        assert!(
            !contains(token.as_bytes()),
            "{token} is in the database file"
        );
        // Not even a recognisable fragment.
        assert!(!contains(&token.as_bytes()[4..20]));
    }
    for key in keys.values() {
        assert!(!contains(key.as_bytes()));
    }
    assert_eq!(
        vault
            .secret(store.list_accounts().await.unwrap()[0].id, "refresh_token")
            .await
            .unwrap()
            .expose()
            .len(),
        "rft.PlainTextRefreshToken0000-zYx".len()
    );
}
