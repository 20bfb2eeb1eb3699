//! Vault benchmark: seal and open latency of a typical token, and a key rotation over 100,000 secrets
//! on SQLite (and on PostgreSQL when `NATRONFX_TEST_POSTGRES_URL` is set). Prints a table.
//!
//! Run: `cargo bench -p natronfx-vault --bench vault` (release). `VAULT_BENCH_SECRETS` changes the count.
//! PostgreSQL rotates with 16 re-seals in flight, SQLite with 1 (its writers are serialized).

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use natronfx_store::testing::TestDb;
use natronfx_store::{CredentialStore, SealedCredential, SealedServiceSecret, Store};
use natronfx_vault::{Keyring, Secret, Vault, VaultConfig, generate_key};
use natronfx_workflow::{Account, AccountId, AccountStatus, AuditAction, AuditEvent, Platform};

const FIELDS_PER_ACCOUNT: usize = 100;

fn main() {
    let secrets: usize = std::env::var("VAULT_BENCH_SECRETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let keys: BTreeMap<u32, String> = [1, 2]
        .into_iter()
        .map(|id| (id, generate_key().expect("random key").expose().to_owned()))
        .collect();

    println!(
        "natronfx-vault benchmark ({} build)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!();
    println!(
        "{:<52} {:>12} {:>12} {:>12}",
        "operation", "median", "p99", "target"
    );
    let (seal, open) = seal_open(&keys);
    row("seal, 200-byte token", &seal, "");
    row("open, 200-byte token", &open, "<= 5 µs");
    let crypto = median(&seal) + median(&open);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let db = TestDb::sqlite();
        rotation("sqlite", db.open().await, &keys, secrets, crypto).await;
        if std::env::var(natronfx_store::testing::POSTGRES_URL_VAR).is_ok() {
            let db = TestDb::postgres().await;
            rotation("postgres", db.open().await, &keys, secrets, crypto).await;
        }
    });
}

fn config(primary: u32, keys: &BTreeMap<u32, String>) -> VaultConfig {
    VaultConfig {
        primary,
        keys: keys
            .iter()
            .map(|(id, k)| (*id, k.as_str().into()))
            .collect(),
        key_file: None,
    }
}

fn seal_open(keys: &BTreeMap<u32, String>) -> (Vec<Duration>, Vec<Duration>) {
    let ring = Keyring::from_config(&config(1, keys)).expect("keyring");
    let account = AccountId::random();
    let token = Secret::new(format!("act.{}", "x7Yq2Lm9".repeat(25))[..200].to_owned());
    let (mut seals, mut opens) = (Vec::new(), Vec::new());
    for i in 0..50_000 {
        let t = Instant::now();
        let sealed = ring.seal(account, "access_token", &token).expect("seal");
        let sealed_at = t.elapsed();
        let t = Instant::now();
        let opened = ring.open(account, "access_token", &sealed).expect("open");
        let opened_at = t.elapsed();
        assert_eq!(opened.len(), 200);
        // The first runs warm caches up.
        if i >= 1_000 {
            seals.push(sealed_at);
            opens.push(opened_at);
        }
    }
    (seals, opens)
}

fn median(samples: &[Duration]) -> Duration {
    let mut s = samples.to_vec();
    s.sort_unstable();
    s[s.len() / 2]
}

fn row(name: &str, samples: &[Duration], target: &str) {
    let mut s = samples.to_vec();
    s.sort_unstable();
    let at = |q: f64| s[((s.len() - 1) as f64 * q) as usize];
    println!(
        "{:<52} {:>9.2} µs {:>9.2} µs {:>12}",
        name,
        at(0.5).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
        target
    );
}

async fn rotation(
    backend: &str,
    store: Arc<dyn Store>,
    keys: &BTreeMap<u32, String>,
    secrets: usize,
    crypto_per_row: Duration,
) {
    let old = Vault::from_config(store.clone(), &config(1, keys)).expect("vault");
    let t = Instant::now();
    let accounts = secrets.div_ceil(FIELDS_PER_ACCOUNT);
    let mut ids = Vec::with_capacity(accounts);
    for n in 0..accounts {
        let a = Account {
            id: AccountId::random(),
            platform: Platform::Instagram,
            external_id: format!("bench-{n}"),
            display_name: format!("@bench{n}"),
            status: AccountStatus::Connected,
            sandbox: true,
            connected_by: None,
            created_at: chrono::Utc::now(),
        };
        let event = AuditEvent::new(
            a.created_at,
            None,
            AuditAction::AccountConnected,
            "account",
            a.id,
        );
        store.insert_account(&a, &event).await.expect("account");
        ids.push(a.id);
    }
    let mut batch = Vec::with_capacity(10_000);
    let mut written = 0;
    for (n, a) in ids.iter().enumerate() {
        for f in 0..FIELDS_PER_ACCOUNT {
            if written == secrets {
                break;
            }
            let secret = Secret::new(format!("tok.{n:06}.{f:03}.{}", "q".repeat(180)));
            batch.push(
                old.seal_credential(*a, &format!("f{f:03}"), &secret, None)
                    .expect("seal"),
            );
            written += 1;
            if batch.len() == 10_000 {
                store.put_credentials(&batch, None).await.expect("insert");
                batch.clear();
            }
        }
    }
    store.put_credentials(&batch, None).await.expect("insert");
    let seeded = t.elapsed();

    let timed = Arc::new(Timed {
        inner: store.clone(),
        reads: Mutex::new(Duration::ZERO),
    });
    let new = Vault::from_config(timed.clone(), &config(2, keys)).expect("vault");
    let t = Instant::now();
    let report = new
        .rotate(1_000, |_| ControlFlow::Continue(()))
        .await
        .expect("rotate");
    let rotated = t.elapsed();
    let reads = *timed.reads.lock().expect("timer");
    assert_eq!((report.resealed as usize, report.remaining), (secrets, 0));
    let status = new.status().await.expect("status");
    assert_eq!(status.key(1).map(|k| k.sealed), Some(0));

    println!(
        "{:<52} {:>12} {:>12} {:>12}",
        format!("{backend}: seed {secrets} secrets (batches of 10k)"),
        format!("{:.2} s", seeded.as_secs_f64()),
        "",
        ""
    );
    println!(
        "{:<52} {:>12} {:>12} {:>12}",
        format!("{backend}: rotate {secrets} (batch 1000, one transaction per batch)"),
        format!("{:.2} s", rotated.as_secs_f64()),
        format!("{:.1} µs/row", rotated.as_secs_f64() * 1e6 / secrets as f64),
        "<= 10 s"
    );
    let crypto = crypto_per_row.mul_f64(secrets as f64);
    for (name, spent) in [
        ("  of which batch reads (1 query per 1000)", reads),
        ("  of which open + seal (from the medians above)", crypto),
        (
            "  of which re-seal writes (1 UPDATE per row)",
            rotated.saturating_sub(reads).saturating_sub(crypto),
        ),
    ] {
        println!(
            "{:<52} {:>12} {:>12}",
            name,
            format!("{:.2} s", spent.as_secs_f64()),
            format!("{:.1} µs/row", spent.as_secs_f64() * 1e6 / secrets as f64),
        );
    }
}

/// Measures the time a rotation spends reading batches.
struct Timed {
    inner: Arc<dyn Store>,
    reads: Mutex<Duration>,
}

#[async_trait]
impl CredentialStore for Timed {
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
        let t = Instant::now();
        let rows = self.inner.credentials_not_sealed_by(key_id, limit).await;
        *self.reads.lock().expect("timer") += t.elapsed();
        rows
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

    async fn reseal_credentials(
        &self,
        pairs: &[(SealedCredential, SealedCredential)],
    ) -> natronfx_store::Result<Vec<bool>> {
        self.inner.reseal_credentials(pairs).await
    }
}
