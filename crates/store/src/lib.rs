//! NatronFX persistence behind narrow traits, with SQLite (default) and PostgreSQL backends.
//!
//! Each concern has its own small trait ([`UserStore`], [`PostStore`], ...); [`Store`] composes them and is
//! what the service holds. The backend is chosen by the URL scheme in [`connect`], and its migrations are
//! applied there, so a process never runs against an unmigrated database.
//!
//! ```no_run
//! # async fn demo() -> natronfx_store::Result<()> {
//! let store = natronfx_store::connect("sqlite:natronfx.db").await?;
//! let users = store.list_users().await?;
//! # let _ = users; Ok(()) }
//! ```
#![warn(missing_docs)]

mod chain;
mod connections;
mod dispatch;
mod error;
mod model;
mod postgres;
mod provenance;
mod retention;
mod rows;
mod sessions;
mod sql;
mod sql_connections;
mod sql_dispatch;
mod sql_provenance;
mod sql_retention;
mod sql_sessions;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use natronfx_workflow::{
    Account, AccountId, AuditEvent, Email, MediaId, Post, PostId, PostSnapshot, TokenId, User,
    UserId,
};

pub use chain::{ChainBreak, ChainCheck};
pub use connections::{
    Connection, ConnectionLock, ConnectionStore, OAuthState, RefreshUpdate, StateTake,
};
pub use dispatch::{Claim, DispatchRecord, DispatchStore, Fence, Lease, LogEntry, QueueDepth};
pub use error::{Error, Result};
pub use model::{
    ApiToken, ContentFingerprint, MediaRecord, MediaSource, PostCursor, PostFilter, PostSummary,
    SealedCredential, SealedServiceSecret, SlideFingerprint, StoredAuditEvent,
};
pub use postgres::PgStore;
pub use provenance::{MediaProvenance, ProvenanceStore, PublishedTarget};
pub use retention::{
    AuditAnchor, AuditFilter, MediaCutoffs, Purged, ReleasedMedia, RetentionStore,
};
pub use sessions::{
    BrowseStore, CalendarEntry, LoginAttempt, LoginAttemptStore, LoginFailures, MediaCursor,
    PostSearch, SessionRecord, SessionStore,
};
pub use sqlite::SqliteStore;

/// People and their credentials.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Adds a user (with an optional Argon2 PHC password hash) and its audit event, atomically.
    /// A taken email is a [`Error::Conflict`].
    async fn insert_user(
        &self,
        user: &User,
        password_hash: Option<&str>,
        event: &AuditEvent,
    ) -> Result<()>;
    /// One user by id.
    async fn user(&self, id: UserId) -> Result<User>;
    /// One user by email.
    async fn user_by_email(&self, email: &Email) -> Result<User>;
    /// The stored password hash, if the user has a password.
    async fn password_hash(&self, id: UserId) -> Result<Option<String>>;
    /// Every user, by email.
    async fn list_users(&self) -> Result<Vec<User>>;
    /// Saves a user's role, name and disabled flag, with its audit event.
    async fn update_user(&self, user: &User, event: &AuditEvent) -> Result<()>;
    /// Replaces a password hash.
    async fn set_password_hash(&self, id: UserId, hash: &str, event: &AuditEvent) -> Result<()>;
}

/// API tokens, kept only as hashes.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Adds a token by the hash of its secret.
    async fn insert_token(
        &self,
        token: &ApiToken,
        secret_hash: &str,
        event: &AuditEvent,
    ) -> Result<()>;
    /// The live (not revoked) token with this secret hash.
    async fn token_by_hash(&self, secret_hash: &str) -> Result<ApiToken>;
    /// One token.
    async fn token(&self, id: TokenId) -> Result<ApiToken>;
    /// A user's tokens, newest first.
    async fn list_tokens(&self, user: UserId) -> Result<Vec<ApiToken>>;
    /// Revokes a token.
    async fn revoke_token(&self, id: TokenId, at: DateTime<Utc>, event: &AuditEvent) -> Result<()>;
    /// Notes a successful use.
    async fn touch_token(&self, id: TokenId, at: DateTime<Utc>) -> Result<()>;
}

/// Posts with their slides, targets and reviews, saved as one aggregate under optimistic concurrency.
#[async_trait]
pub trait PostStore: Send + Sync {
    /// Adds a new post with its audit events, atomically.
    async fn insert_post(&self, post: &PostSnapshot, events: &[AuditEvent]) -> Result<()>;
    /// One post, whole.
    async fn post(&self, id: PostId) -> Result<Post>;
    /// Saves a post that was loaded at `post.version`, with its audit events, atomically; returns the new
    /// version. If anyone saved it since, nothing is written and the answer is [`Error::Conflict`].
    async fn save_post(&self, post: &PostSnapshot, events: &[AuditEvent]) -> Result<i64>;
    /// A page of posts, newest change first.
    async fn list_posts(&self, filter: &PostFilter) -> Result<Vec<PostSummary>>;
    /// How many targets of other posts go to `account` (scheduled, publishing or published) with an
    /// instant in `[from, to]`: what a platform's rolling publishing quota counts.
    async fn targets_for_account_between(
        &self,
        account: AccountId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        excluding_post: PostId,
    ) -> Result<i64>;
}

/// Connected accounts (their credentials are kept separately).
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Adds an account with its audit event. The same platform account twice is a [`Error::Conflict`].
    async fn insert_account(&self, account: &Account, event: &AuditEvent) -> Result<()>;
    /// One account.
    async fn account(&self, id: AccountId) -> Result<Account>;
    /// Every account, by platform and name.
    async fn list_accounts(&self) -> Result<Vec<Account>>;
}

/// Facts about stored images.
#[async_trait]
pub trait MediaRecordStore: Send + Sync {
    /// Adds a media row; the same key twice returns the existing row's id instead.
    async fn insert_media(&self, media: &MediaRecord) -> Result<MediaId>;
    /// One media row.
    async fn media(&self, id: MediaId) -> Result<MediaRecord>;
    /// The newest media rows first, at most `limit`.
    async fn list_media(&self, limit: u32) -> Result<Vec<MediaRecord>>;
}

/// Team-wide settings as text (the approval policy, ...).
#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// A setting's value, if set.
    async fn setting(&self, key: &str) -> Result<Option<String>>;
    /// Sets a value, with its audit event.
    async fn set_setting(&self, key: &str, value: &str, event: &AuditEvent) -> Result<()>;
}

/// The append-only audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends events that go with no other write.
    async fn append_audit(&self, events: &[AuditEvent]) -> Result<()>;
    /// Events about one record, oldest first.
    async fn audit_for(
        &self,
        subject_kind: &str,
        subject_id: &str,
    ) -> Result<Vec<StoredAuditEvent>>;
    /// The latest events, newest first.
    async fn recent_audit(&self, limit: u32) -> Result<Vec<StoredAuditEvent>>;
    /// Events that pass `filter`, newest first, one page at a time (see [`AuditFilter::before_seq`]).
    async fn search_audit(&self, filter: &AuditFilter) -> Result<Vec<StoredAuditEvent>>;
    /// Walks the whole log in order and reports the first event whose hash or link does not hold.
    async fn verify_audit_chain(&self) -> Result<ChainCheck>;
}

/// Sealed account credentials. The store never sees plaintext; the vault seals and opens.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Inserts or replaces several fields at once (an access token and the refresh token that came with
    /// it are written in one transaction), with an optional audit event.
    async fn put_credentials(
        &self,
        credentials: &[SealedCredential],
        event: Option<&AuditEvent>,
    ) -> Result<()>;
    /// One field of an account.
    async fn credential(&self, account: AccountId, field: &str) -> Result<SealedCredential>;
    /// Every field of an account.
    async fn credentials_of(&self, account: AccountId) -> Result<Vec<SealedCredential>>;
    /// Deletes every credential of an account, with its audit event; returns how many rows went.
    async fn delete_credentials(&self, account: AccountId, event: &AuditEvent) -> Result<u64>;
    /// How many secrets each key id seals (account credentials and the system's own secrets together),
    /// by key id.
    async fn credential_counts_by_key(&self) -> Result<Vec<(u32, i64)>>;
    /// Up to `limit` credentials sealed by any key other than `key_id` (a rotation batch).
    async fn credentials_not_sealed_by(
        &self,
        key_id: u32,
        limit: u32,
    ) -> Result<Vec<SealedCredential>>;
    /// Replaces `old`'s ciphertext with `new`'s only if the row still holds exactly `old`'s ciphertext,
    /// so a rotation never overwrites a token refreshed meanwhile. Returns whether it replaced it.
    async fn reseal_credential(
        &self,
        old: &SealedCredential,
        new: &SealedCredential,
    ) -> Result<bool>;
    /// [`reseal_credential`](Self::reseal_credential) for a whole batch; a backend writes it in one
    /// transaction. Answers, in order, whether each pair was replaced.
    async fn reseal_credentials(
        &self,
        pairs: &[(SealedCredential, SealedCredential)],
    ) -> Result<Vec<bool>> {
        let mut out = Vec::with_capacity(pairs.len());
        for (old, new) in pairs {
            out.push(self.reseal_credential(old, new).await?);
        }
        Ok(out)
    }
    /// Inserts or replaces a secret of the system itself, with its audit event, in one transaction.
    async fn put_service_secret(
        &self,
        secret: &SealedServiceSecret,
        event: &AuditEvent,
    ) -> Result<()>;
    /// One secret of the system by name ([`Error::NotFound`] when none is stored).
    async fn service_secret(&self, name: &str) -> Result<SealedServiceSecret>;
    /// Every secret of the system, by name.
    async fn service_secrets(&self) -> Result<Vec<SealedServiceSecret>>;
    /// Deletes a secret of the system, with its audit event when there was one; returns whether there
    /// was.
    async fn delete_service_secret(&self, name: &str, event: &AuditEvent) -> Result<bool>;
    /// [`reseal_credential`](Self::reseal_credential) for a secret of the system: replaces `old`'s
    /// ciphertext with `new`'s only if the row still holds exactly `old`'s.
    async fn reseal_service_secret(
        &self,
        old: &SealedServiceSecret,
        new: &SealedServiceSecret,
    ) -> Result<bool>;
}

/// Fingerprints of published content, for the near-duplicate index.
#[async_trait]
pub trait FingerprintStore: Send + Sync {
    /// Records (or replaces) what a post published to an account; returns its compact id.
    async fn record_fingerprint(&self, fingerprint: &ContentFingerprint) -> Result<i64>;
    /// Fingerprints with an id above `after_id`, oldest first, at most `limit` (to load the index in pages).
    async fn fingerprints_after(
        &self,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<ContentFingerprint>>;
    /// One fingerprint by id.
    async fn fingerprint(&self, id: i64) -> Result<ContentFingerprint>;
    /// Fingerprints whose exact caption hash is `exact`.
    async fn fingerprints_by_caption(&self, exact: &[u8]) -> Result<Vec<ContentFingerprint>>;
}

/// Everything the service needs from storage, behind one object.
#[async_trait]
pub trait Store:
    DispatchStore
    + UserStore
    + TokenStore
    + PostStore
    + AccountStore
    + MediaRecordStore
    + SettingsStore
    + AuditStore
    + CredentialStore
    + FingerprintStore
    + ProvenanceStore
    + ConnectionStore
    + SessionStore
    + LoginAttemptStore
    + BrowseStore
    + RetentionStore
    + std::fmt::Debug
{
    /// Which backend this is: `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Answers when the database can serve a query (for readiness checks).
    async fn ping(&self) -> Result<()>;
}

/// Opens the database named by `url`, creating a SQLite file if needed, and applies migrations.
///
/// `sqlite:PATH` (or `sqlite://PATH`) opens a file whose folder must exist; `postgres://` and
/// `postgresql://` open a pool. Anything else is [`Error::UnknownScheme`].
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else {
        Err(Error::UnknownScheme(redact_url(url)))
    }
}

/// A URL with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(start), Some(at)) if at > start => {
            let userinfo = &url[start + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..start + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_appear_in_redacted_urls() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(redact_url("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(redact_url("sqlite:data/x.db"), "sqlite:data/x.db");
    }

    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |dir: &str| {
            let mut v: Vec<String> =
                std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect();
            v.sort();
            v
        };
        assert_eq!(names("sqlite"), names("postgres"));
        assert!(!names("sqlite").is_empty());
    }
}
