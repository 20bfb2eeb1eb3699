//! Key rotation: in batches, stoppable, resumable by a new process, and never overwriting a newer token.

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use natronfx_store::testing::TestDb;
use natronfx_store::{CredentialStore, SealedCredential, SealedServiceSecret, Store};
use natronfx_vault::{Secret, Vault};
use natronfx_workflow::{AccountId, AuditEvent};

use crate::{account, config, keys, vault};

const FIELDS: [&str; 10] = [
    "access_token",
    "refresh_token",
    "page_token",
    "user_token",
    "f4",
    "f5",
    "f6",
    "f7",
    "f8",
    "f9",
];

fn token(account: AccountId, field: &str) -> String {
    format!("tok.{account}.{field}")
}

/// `accounts` accounts with every field of [`FIELDS`], sealed by `vault`, written in one batch.
async fn seed(store: &Arc<dyn Store>, vault: &Vault, accounts: usize) -> Vec<AccountId> {
    let mut ids = Vec::new();
    let mut rows = Vec::new();
    for n in 0..accounts {
        let a = account(store, &format!("@acct{n}")).await;
        for field in FIELDS {
            let secret = Secret::new(token(a, field));
            rows.push(vault.seal_credential(a, field, &secret, None).unwrap());
        }
        ids.push(a);
    }
    store.put_credentials(&rows, None).await.unwrap();
    ids
}

#[tokio::test]
async fn a_rotation_stopped_halfway_resumes_in_a_new_process_and_loses_nothing() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    let keys = keys(&[1, 2]);
    let accounts = seed(&store, &vault(&store, 1, &keys), 100).await;
    assert_eq!(
        vault(&store, 1, &keys)
            .status()
            .await
            .unwrap()
            .key(1)
            .unwrap()
            .sealed,
        1000
    );

    // The operator adds key 2, makes it primary and starts a rotation, which stops after 5 batches.
    let first = vault(&store, 2, &keys);
    let mut seen = Vec::new();
    let report = first
        .rotate(100, |p| {
            seen.push(p.resealed);
            if p.batches == 5 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .await
        .unwrap();
    assert_eq!(seen, vec![100, 200, 300, 400, 500]);
    assert!(report.stopped);
    assert_eq!((report.resealed, report.remaining), (500, 500));
    let status = first.status().await.unwrap();
    assert_eq!(status.key(1).unwrap().sealed, 500);
    assert_eq!(status.key(2).unwrap().sealed, 500);
    assert!(!status.key(1).unwrap().retirable());

    // Halfway, every secret still opens (old ones with key 1, re-sealed ones with key 2).
    for a in &accounts {
        assert_eq!(
            first.secret(*a, "f9").await.unwrap().expose(),
            token(*a, "f9")
        );
    }

    // A new process with the same configuration resumes.
    let second = Vault::from_config(store.clone(), &config(2, &keys)).unwrap();
    let mut batches = 0;
    let report = second
        .rotate(100, |p| {
            batches = p.batches;
            assert_eq!(p.total, 500);
            ControlFlow::Continue(())
        })
        .await
        .unwrap();
    assert!(!report.stopped);
    assert_eq!(batches, 5);
    assert_eq!(
        (
            report.resealed,
            report.skipped_changed,
            report.unreadable,
            report.remaining
        ),
        (500, 0, 0, 0)
    );
    let status = second.status().await.unwrap();
    assert_eq!(status.key(1).unwrap().sealed, 0);
    assert!(status.key(1).unwrap().retirable());
    assert_eq!(status.key(2).unwrap().sealed, 1000);
    assert!(status.key(2).unwrap().primary && !status.key(2).unwrap().retirable());

    // Key 1 is retired: a keyring with key 2 alone opens all 1,000 secrets.
    let only_two = keys
        .iter()
        .filter(|(id, _)| **id == 2)
        .map(|(i, k)| (*i, k.clone()))
        .collect();
    let retired = vault(&store, 2, &only_two);
    for a in &accounts {
        for field in FIELDS {
            assert_eq!(
                retired.secret(*a, field).await.unwrap().expose(),
                token(*a, field)
            );
        }
    }
    let status = retired.status().await.unwrap();
    assert_eq!(
        status.key(1),
        None,
        "a retired key with nothing sealed is not listed"
    );

    // Running it again has nothing to do.
    let again = retired
        .rotate(100, |_| ControlFlow::Continue(()))
        .await
        .unwrap();
    assert_eq!((again.resealed, again.remaining), (0, 0));
}

/// A store where a token refresh lands between a rotation reading a batch and re-sealing it.
struct RefreshDuringRotation {
    inner: Arc<dyn Store>,
    refreshes: Mutex<Vec<SealedCredential>>,
}

#[async_trait]
impl CredentialStore for RefreshDuringRotation {
    async fn put_credentials(
        &self,
        credentials: &[SealedCredential],
        event: Option<&AuditEvent>,
    ) -> natronfx_store::Result<()> {
        self.inner.put_credentials(credentials, event).await
    }
    async fn credential(
        &self,
        account: AccountId,
        field: &str,
    ) -> natronfx_store::Result<SealedCredential> {
        self.inner.credential(account, field).await
    }
    async fn credentials_of(
        &self,
        account: AccountId,
    ) -> natronfx_store::Result<Vec<SealedCredential>> {
        self.inner.credentials_of(account).await
    }
    async fn delete_credentials(
        &self,
        account: AccountId,
        event: &AuditEvent,
    ) -> natronfx_store::Result<u64> {
        self.inner.delete_credentials(account, event).await
    }
    async fn credential_counts_by_key(&self) -> natronfx_store::Result<Vec<(u32, i64)>> {
        self.inner.credential_counts_by_key().await
    }
    async fn credentials_not_sealed_by(
        &self,
        key_id: u32,
        limit: u32,
    ) -> natronfx_store::Result<Vec<SealedCredential>> {
        let batch = self.inner.credentials_not_sealed_by(key_id, limit).await?;
        let refreshes = std::mem::take(&mut *self.refreshes.lock().unwrap());
        if !refreshes.is_empty() {
            self.inner.put_credentials(&refreshes, None).await?;
        }
        Ok(batch)
    }
    async fn reseal_credential(
        &self,
        old: &SealedCredential,
        new: &SealedCredential,
    ) -> natronfx_store::Result<bool> {
        self.inner.reseal_credential(old, new).await
    }
    async fn put_service_secret(
        &self,
        secret: &SealedServiceSecret,
        event: &AuditEvent,
    ) -> natronfx_store::Result<()> {
        self.inner.put_service_secret(secret, event).await
    }
    async fn service_secret(&self, name: &str) -> natronfx_store::Result<SealedServiceSecret> {
        self.inner.service_secret(name).await
    }
    async fn service_secrets(&self) -> natronfx_store::Result<Vec<SealedServiceSecret>> {
        self.inner.service_secrets().await
    }
    async fn delete_service_secret(
        &self,
        name: &str,
        event: &AuditEvent,
    ) -> natronfx_store::Result<bool> {
        self.inner.delete_service_secret(name, event).await
    }
    async fn reseal_service_secret(
        &self,
        old: &SealedServiceSecret,
        new: &SealedServiceSecret,
    ) -> natronfx_store::Result<bool> {
        self.inner.reseal_service_secret(old, new).await
    }
}

#[tokio::test]
async fn a_token_refreshed_during_a_rotation_is_not_overwritten() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    let keys = keys(&[1, 2]);
    let old_config = vault(&store, 1, &keys);
    let accounts = seed(&store, &old_config, 3).await;
    let new_config = vault(&store, 2, &keys);

    // One refresh by a process already on the new configuration, one by a process still on the old one,
    // both landing right after the rotation read its first batch.
    let (a, b) = (accounts[0], accounts[1]);
    let fresh_a = Secret::from("act.refreshed-by-new-process");
    let fresh_b = Secret::from("act.refreshed-by-old-process");
    let interfering = Arc::new(RefreshDuringRotation {
        inner: store.clone(),
        refreshes: Mutex::new(vec![
            new_config
                .seal_credential(a, "access_token", &fresh_a, None)
                .unwrap(),
            old_config
                .seal_credential(b, "access_token", &fresh_b, None)
                .unwrap(),
        ]),
    });
    let rotating = Vault::from_config(interfering, &config(2, &keys)).unwrap();
    let report = rotating
        .rotate(100, |_| ControlFlow::Continue(()))
        .await
        .unwrap();

    // Both stale reads lost their compare-and-swap; b's newer value (still under key 1) was then
    // re-sealed in a later batch.
    assert_eq!(report.skipped_changed, 2);
    assert_eq!(report.resealed, 29);
    assert_eq!(report.remaining, 0);
    assert_eq!(
        new_config.secret(a, "access_token").await.unwrap().expose(),
        "act.refreshed-by-new-process"
    );
    assert_eq!(
        new_config.secret(b, "access_token").await.unwrap().expose(),
        "act.refreshed-by-old-process"
    );
    assert_eq!(
        new_config
            .secret(a, "refresh_token")
            .await
            .unwrap()
            .expose(),
        token(a, "refresh_token")
    );
    assert_eq!(new_config.status().await.unwrap().key(1).unwrap().sealed, 0);
}

#[tokio::test]
async fn a_rotation_refuses_to_start_while_a_sealing_key_is_not_configured() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    let keys = keys(&[1, 2]);
    seed(&store, &vault(&store, 1, &keys), 2).await;
    let only_two = keys
        .iter()
        .filter(|(id, _)| **id == 2)
        .map(|(i, k)| (*i, k.clone()))
        .collect();
    let vault2 = vault(&store, 2, &only_two);

    let status = vault2.status().await.unwrap();
    assert_eq!(status.missing_keys(), vec![1]);
    let k1 = status.key(1).unwrap();
    assert!(!k1.in_keyring && !k1.retirable() && k1.sealed == 20);

    let err = vault2
        .rotate(10, |_| ControlFlow::Continue(()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "unknown-key-id");
    assert!(err.to_string().contains("vault.keys.1"), "{err}");
    assert_eq!(vault2.status().await.unwrap().key(1).unwrap().sealed, 20);
}
