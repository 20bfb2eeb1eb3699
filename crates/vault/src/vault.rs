//! The vault: seals secrets (of accounts, and the system's own such as the image API key) under the
//! primary key into the credential store, opens them, removes them, reports which key seals what, and
//! re-seals old secrets under the primary key.

use std::collections::HashSet;
use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use natronfx_store::{CredentialStore, SealedCredential, SealedServiceSecret};
use natronfx_workflow::{AccountId, AuditEvent};
use serde::Serialize;

use crate::keyring::{credential_context, envelope_key_id, service_secret_context};
use crate::{Error, Keyring, Result, Secret, VaultConfig};

/// Longest accepted field name.
const MAX_FIELD_LEN: usize = 64;

/// Encrypted credentials of connected accounts, over a [`CredentialStore`] and a [`Keyring`].
///
/// Cheap to clone; clones share the store and the keyring.
#[derive(Clone)]
pub struct Vault {
    store: Arc<dyn CredentialStore>,
    keyring: Arc<Keyring>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("keyring", &self.keyring)
            .finish_non_exhaustive()
    }
}

/// An opened credential with what the store knows about it.
#[derive(Debug, Clone)]
pub struct OpenedCredential {
    /// Which secret (`access_token`, ...).
    pub field: String,
    /// The secret itself.
    pub secret: Secret,
    /// When it stops working, if the platform said.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last written.
    pub updated_at: DateTime<Utc>,
}

/// What is stored for one field, without opening it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialInfo {
    /// Which secret.
    pub field: String,
    /// The key that seals it.
    pub key_id: u32,
    /// When it stops working, if the platform said.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last written.
    pub updated_at: DateTime<Utc>,
}

/// What is stored for a secret of the system, without opening it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceSecretInfo {
    /// Which secret (`images_api_key`, ...).
    pub name: String,
    /// The key that seals it.
    pub key_id: u32,
    /// When it was last written.
    pub updated_at: DateTime<Utc>,
}

/// How the keys of the keyring and of the database line up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VaultStatus {
    /// The key id that seals new secrets.
    pub primary: u32,
    /// Every key id that is configured or seals something, ascending.
    pub keys: Vec<KeyStatus>,
}

/// One key id's standing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyStatus {
    /// The key id.
    pub key_id: u32,
    /// How many stored secrets it seals.
    pub sealed: u64,
    /// Whether it seals new secrets.
    pub primary: bool,
    /// Whether the keyring holds it (a key that seals secrets but is not held leaves them unreadable).
    pub in_keyring: bool,
}

impl KeyStatus {
    /// Whether the key can be removed from the configuration without losing anything.
    pub fn retirable(&self) -> bool {
        self.in_keyring && !self.primary && self.sealed == 0
    }
}

impl VaultStatus {
    /// The standing of one key id.
    pub fn key(&self, key_id: u32) -> Option<&KeyStatus> {
        self.keys.iter().find(|k| k.key_id == key_id)
    }

    /// How many secrets are sealed by a key other than the primary (what a rotation would re-seal).
    pub fn not_under_primary(&self) -> u64 {
        self.keys
            .iter()
            .filter(|k| !k.primary)
            .map(|k| k.sealed)
            .sum()
    }

    /// Key ids that seal secrets the keyring cannot open.
    pub fn missing_keys(&self) -> Vec<u32> {
        self.keys
            .iter()
            .filter(|k| !k.in_keyring && k.sealed > 0)
            .map(|k| k.key_id)
            .collect()
    }
}

/// Counts so far, handed to the progress callback after each rotation batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RotationProgress {
    /// Batches done.
    pub batches: u32,
    /// Secrets re-sealed under the primary key so far.
    pub resealed: u64,
    /// Secrets left alone because they were rewritten while being re-sealed.
    pub skipped_changed: u64,
    /// Secrets that could not be opened (tampered or under a key this keyring lacks).
    pub unreadable: u64,
    /// Secrets not under the primary key when the rotation started.
    pub total: u64,
}

/// The outcome of [`Vault::rotate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RotationReport {
    /// The key everything was re-sealed under.
    pub primary: u32,
    /// Secrets re-sealed under the primary key.
    pub resealed: u64,
    /// Secrets left alone because a newer value was written meanwhile (that value is kept).
    pub skipped_changed: u64,
    /// Secrets that could not be opened and were left as they are.
    pub unreadable: u64,
    /// Secrets still not under the primary key afterwards (0 when the rotation is complete).
    pub remaining: u64,
    /// Whether the progress callback stopped the rotation early; running it again resumes.
    pub stopped: bool,
}

impl Vault {
    /// A vault over a credential store (any [`natronfx_store::Store`] is one) and a keyring.
    pub fn new(store: Arc<dyn CredentialStore>, keyring: Keyring) -> Vault {
        Vault {
            store,
            keyring: Arc::new(keyring),
        }
    }

    /// A vault whose keyring comes from configuration; fails, naming the setting, on any key problem.
    pub fn from_config(store: Arc<dyn CredentialStore>, config: &VaultConfig) -> Result<Vault> {
        Ok(Vault::new(store, Keyring::from_config(config)?))
    }

    /// The keyring.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// Seals a secret for one field of one account under the primary key (no storage).
    pub fn seal(&self, account: AccountId, field: &str, secret: &Secret) -> Result<Vec<u8>> {
        self.keyring.seal(account, field, secret)
    }

    /// Opens an envelope sealed for this account and field (no storage).
    pub fn open(&self, account: AccountId, field: &str, envelope: &[u8]) -> Result<Secret> {
        self.keyring.open(account, field, envelope)
    }

    /// Seals a secret into the record the store keeps, for bulk writes with
    /// [`CredentialStore::put_credentials`].
    pub fn seal_credential(
        &self,
        account: AccountId,
        field: &str,
        secret: &Secret,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<SealedCredential> {
        check_field(field)?;
        Ok(SealedCredential {
            account_id: account,
            field: field.to_owned(),
            key_id: self.keyring.primary(),
            ciphertext: self.seal(account, field, secret)?,
            expires_at,
            updated_at: Utc::now(),
        })
    }

    /// Seals and stores several fields of an account in one transaction, so an access token and the
    /// refresh token that came with it are written together or not at all. Existing fields are replaced;
    /// fields not named are kept.
    pub async fn store_secrets(
        &self,
        account: AccountId,
        secrets: &[(&str, &Secret, Option<DateTime<Utc>>)],
        event: Option<&AuditEvent>,
    ) -> Result<()> {
        let mut seen = HashSet::new();
        let mut sealed = Vec::with_capacity(secrets.len());
        for (field, secret, expires_at) in secrets {
            if !seen.insert(*field) {
                return Err(Error::InvalidField {
                    field: (*field).to_owned(),
                    reason: "it appears twice in one write",
                });
            }
            sealed.push(self.seal_credential(account, field, secret, *expires_at)?);
        }
        if sealed.is_empty() && event.is_none() {
            return Ok(());
        }
        self.store.put_credentials(&sealed, event).await?;
        tracing::debug!(
            account = %account,
            fields = ?seen,
            key_id = self.keyring.primary(),
            "credentials stored"
        );
        Ok(())
    }

    /// One secret of an account.
    pub async fn secret(&self, account: AccountId, field: &str) -> Result<Secret> {
        Ok(self.credential(account, field).await?.secret)
    }

    /// One secret of an account, with its expiry.
    pub async fn credential(&self, account: AccountId, field: &str) -> Result<OpenedCredential> {
        let row = self
            .store
            .credential(account, field)
            .await
            .map_err(|e| match e {
                natronfx_store::Error::NotFound { .. } => Error::NotFound {
                    account,
                    field: field.to_owned(),
                },
                other => other.into(),
            })?;
        let secret = self.open_row(&row)?;
        Ok(OpenedCredential {
            field: row.field,
            secret,
            expires_at: row.expires_at,
            updated_at: row.updated_at,
        })
    }

    /// What is stored for an account, without opening anything.
    pub async fn fields(&self, account: AccountId) -> Result<Vec<CredentialInfo>> {
        Ok(self
            .store
            .credentials_of(account)
            .await?
            .into_iter()
            .map(|c| CredentialInfo {
                field: c.field,
                key_id: c.key_id,
                expires_at: c.expires_at,
                updated_at: c.updated_at,
            })
            .collect())
    }

    /// Deletes every credential of an account (the rows are gone, not flagged), with its audit event.
    /// Returns how many were removed.
    pub async fn remove_all(&self, account: AccountId, event: &AuditEvent) -> Result<u64> {
        let removed = self.store.delete_credentials(account, event).await?;
        tracing::info!(account = %account, removed, "credentials removed");
        Ok(removed)
    }

    /// Seals and stores a secret of the system itself (not of an account) under `name`, replacing any
    /// stored before, with its audit event in the same transaction.
    pub async fn store_service_secret(
        &self,
        name: &str,
        secret: &Secret,
        event: &AuditEvent,
    ) -> Result<()> {
        check_field(name)?;
        let sealed = SealedServiceSecret {
            name: name.to_owned(),
            key_id: self.keyring.primary(),
            ciphertext: self
                .keyring
                .seal_bound(&service_secret_context(name), secret)?,
            updated_at: Utc::now(),
        };
        self.store.put_service_secret(&sealed, event).await?;
        tracing::info!(name, key_id = sealed.key_id, "service secret stored");
        Ok(())
    }

    /// A secret of the system, or `None` when none is stored under `name`.
    pub async fn service_secret(&self, name: &str) -> Result<Option<Secret>> {
        match self.store.service_secret(name).await {
            Ok(row) => Ok(Some(self.open_service_row(&row)?)),
            Err(natronfx_store::Error::NotFound { .. }) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    /// The system's stored secrets, without opening any.
    pub async fn service_secret_infos(&self) -> Result<Vec<ServiceSecretInfo>> {
        Ok(self
            .store
            .service_secrets()
            .await?
            .into_iter()
            .map(|s| ServiceSecretInfo {
                name: s.name,
                key_id: s.key_id,
                updated_at: s.updated_at,
            })
            .collect())
    }

    /// Deletes a secret of the system (the row is gone), with its audit event when there was one.
    /// Returns whether there was.
    pub async fn remove_service_secret(&self, name: &str, event: &AuditEvent) -> Result<bool> {
        let removed = self.store.delete_service_secret(name, event).await?;
        tracing::info!(name, removed, "service secret removed");
        Ok(removed)
    }

    /// Per key id: how many secrets it seals, whether it is primary and whether it is configured.
    pub async fn status(&self) -> Result<VaultStatus> {
        let counts = self.store.credential_counts_by_key().await?;
        let mut ids: Vec<u32> = self.keyring.key_ids();
        ids.extend(counts.iter().map(|(k, _)| *k));
        ids.sort_unstable();
        ids.dedup();
        let keys = ids
            .into_iter()
            .map(|key_id| KeyStatus {
                key_id,
                sealed: counts
                    .iter()
                    .find(|(k, _)| *k == key_id)
                    .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0)),
                primary: key_id == self.keyring.primary(),
                in_keyring: self.keyring.contains(key_id),
            })
            .collect();
        Ok(VaultStatus {
            primary: self.keyring.primary(),
            keys,
        })
    }

    /// Re-seals every secret not under the primary key, `batch_size` at a time.
    ///
    /// Each secret is replaced with a compare-and-swap on its old ciphertext, so a token refreshed while
    /// the rotation runs is never overwritten (it was sealed under the primary key anyway), and a
    /// rotation that stops or crashes halfway simply resumes when run again. After each batch
    /// `progress` sees the counts so far and may return [`ControlFlow::Break`] to stop. The system's own
    /// secrets (a handful) are re-sealed last, in one more batch.
    ///
    /// Refuses to start, with [`Error::UnknownKeyId`], while secrets are sealed under a key the keyring
    /// lacks: add that key back first. A secret that fails to open (tampered) is logged, counted as
    /// unreadable and left as it is.
    pub async fn rotate<F>(&self, batch_size: u32, mut progress: F) -> Result<RotationReport>
    where
        F: FnMut(&RotationProgress) -> ControlFlow<()>,
    {
        let primary = self.keyring.primary();
        let before = self.status().await?;
        if let Some(key_id) = before.missing_keys().first() {
            return Err(Error::UnknownKeyId { key_id: *key_id });
        }
        let batch_size = batch_size.max(1);
        let mut counts = RotationProgress {
            batches: 0,
            resealed: 0,
            skipped_changed: 0,
            unreadable: 0,
            total: before.not_under_primary(),
        };
        tracing::info!(
            primary,
            to_reseal = counts.total,
            batch_size,
            "vault rotation started"
        );
        // Rows that failed to open keep matching the query; remember them and read past them.
        let mut unreadable: HashSet<(AccountId, String, Vec<u8>)> = HashSet::new();
        let mut stopped = false;
        loop {
            let limit =
                batch_size.saturating_add(u32::try_from(unreadable.len()).unwrap_or(u32::MAX));
            let rows = self.store.credentials_not_sealed_by(primary, limit).await?;
            let batch: Vec<SealedCredential> = rows
                .into_iter()
                .filter(|r| {
                    !unreadable.contains(&(r.account_id, r.field.clone(), r.ciphertext.clone()))
                })
                .take(batch_size as usize)
                .collect();
            if batch.is_empty() {
                break;
            }
            let mut to_reseal = Vec::with_capacity(batch.len());
            for old in batch {
                match self.open_row(&old) {
                    Ok(secret) => {
                        let new = SealedCredential {
                            key_id: primary,
                            ciphertext: self.seal(old.account_id, &old.field, &secret)?,
                            ..old.clone()
                        };
                        to_reseal.push((old, new));
                    }
                    Err(e) => {
                        tracing::warn!(
                            account = %old.account_id,
                            field = %old.field,
                            key_id = old.key_id,
                            code = e.code(),
                            "credential left under its old key: it cannot be opened"
                        );
                        counts.unreadable += 1;
                        unreadable.insert((old.account_id, old.field, old.ciphertext));
                    }
                }
            }
            // One transaction per batch; each row is still a compare-and-swap on its old ciphertext.
            for swapped in self.store.reseal_credentials(&to_reseal).await? {
                if swapped {
                    counts.resealed += 1;
                } else {
                    counts.skipped_changed += 1;
                }
            }
            counts.batches += 1;
            tracing::debug!(?counts, "vault rotation batch done");
            if progress(&counts).is_break() {
                stopped = true;
                break;
            }
        }
        // Then the system's own secrets, in one last batch (nothing is left to stop after it).
        if !stopped && self.reseal_service_secrets(&mut counts).await? {
            let _ = progress(&counts);
        }
        let remaining = self.status().await?.not_under_primary();
        let report = RotationReport {
            primary,
            resealed: counts.resealed,
            skipped_changed: counts.skipped_changed,
            unreadable: counts.unreadable,
            remaining,
            stopped,
        };
        tracing::info!(?report, "vault rotation finished");
        Ok(report)
    }

    /// Re-seals the system's secrets not under the primary key (a handful: one pass, each a
    /// compare-and-swap on its old ciphertext), adding to `counts`. Returns whether there were any.
    async fn reseal_service_secrets(&self, counts: &mut RotationProgress) -> Result<bool> {
        let primary = self.keyring.primary();
        let old: Vec<SealedServiceSecret> = self
            .store
            .service_secrets()
            .await?
            .into_iter()
            .filter(|s| s.key_id != primary)
            .collect();
        if old.is_empty() {
            return Ok(false);
        }
        for old in old {
            let secret = match self.open_service_row(&old) {
                Ok(secret) => secret,
                Err(e) => {
                    tracing::warn!(
                        name = %old.name,
                        key_id = old.key_id,
                        code = e.code(),
                        "service secret left under its old key: it cannot be opened"
                    );
                    counts.unreadable += 1;
                    continue;
                }
            };
            let new = SealedServiceSecret {
                key_id: primary,
                ciphertext: self
                    .keyring
                    .seal_bound(&service_secret_context(&old.name), &secret)?,
                ..old.clone()
            };
            if self.store.reseal_service_secret(&old, &new).await? {
                counts.resealed += 1;
            } else {
                counts.skipped_changed += 1;
            }
        }
        counts.batches += 1;
        Ok(true)
    }

    /// Opens a stored secret of the system, checking that the key id column agrees with the envelope.
    fn open_service_row(&self, row: &SealedServiceSecret) -> Result<Secret> {
        self.open_stored(
            &service_secret_context(&row.name),
            row.key_id,
            &row.ciphertext,
            || row.name.clone(),
        )
    }

    /// Opens a stored row, checking that the key id column agrees with the envelope.
    fn open_row(&self, row: &SealedCredential) -> Result<Secret> {
        self.open_stored(
            &credential_context(row.account_id, &row.field),
            row.key_id,
            &row.ciphertext,
            || format!("{}/{}", row.account_id, row.field),
        )
    }

    /// Opens an envelope bound to `context` whose row says `key_id` sealed it; a row whose key id
    /// disagrees with its envelope is tampered (`label` names it).
    fn open_stored(
        &self,
        context: &str,
        key_id: u32,
        envelope: &[u8],
        label: impl FnOnce() -> String,
    ) -> Result<Secret> {
        let sealed_by = envelope_key_id(envelope)?;
        if sealed_by != key_id {
            return Err(Error::Tampered {
                context: label(),
                key_id: sealed_by,
            });
        }
        self.keyring.open_bound(context, envelope)
    }
}

/// Field names go into the associated data and logs: keep them short, lowercase and unambiguous.
fn check_field(field: &str) -> Result<()> {
    let reason = if field.is_empty() {
        "it is empty"
    } else if field.len() > MAX_FIELD_LEN {
        "it is longer than 64 characters"
    } else if !field
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        "use only a-z, 0-9 and _"
    } else {
        return Ok(());
    };
    Err(Error::InvalidField {
        field: field.to_owned(),
        reason,
    })
}
