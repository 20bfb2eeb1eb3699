//! Connected accounts beyond the workflow's [`Account`]: how they were connected, their token
//! lifetimes, OAuth flows in progress, and a per-account lock for refreshing tokens that holds across
//! processes.
//!
//! The store never sees a token: credentials arrive sealed ([`SealedCredential`]) and are written in
//! the same transaction as the account row they belong to.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use natronfx_workflow::{Account, AccountId, AccountStatus, AuditEvent, Platform, UserId};

use crate::{Result, SealedCredential};

/// An account with what its connection knows: login, scopes, token lifetimes, last refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The account itself (status, who connected it, when it was first connected).
    pub account: Account,
    /// Which login issued its credentials (`tiktok`, `instagram`, `facebook`); an Instagram account
    /// reached through a Facebook Page has `facebook`. `None` for sandbox accounts.
    pub login: Option<Platform>,
    /// Scopes the platform granted.
    pub scopes: Vec<String>,
    /// When the access token expires (`None`: it does not, or there is none).
    pub access_expires_at: Option<DateTime<Utc>>,
    /// When the refresh token expires.
    pub refresh_expires_at: Option<DateTime<Utc>>,
    /// When it was last connected (or connected again).
    pub connected_at: Option<DateTime<Utc>>,
    /// When its tokens were last refreshed.
    pub last_refresh_at: Option<DateTime<Utc>>,
    /// Why the last refresh failed, while it keeps failing (cleared by a success or a reconnect).
    pub last_refresh_error: Option<String>,
}

/// What a refresh (or a failed one) changes on a connection, written under its lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshUpdate {
    /// The status afterwards.
    pub status: AccountStatus,
    /// The access token's expiry afterwards.
    pub access_expires_at: Option<DateTime<Utc>>,
    /// The refresh token's expiry afterwards.
    pub refresh_expires_at: Option<DateTime<Utc>>,
    /// When the last successful refresh happened.
    pub last_refresh_at: Option<DateTime<Utc>>,
    /// The failure, or `None` after a success.
    pub last_refresh_error: Option<String>,
}

/// An OAuth flow in progress, as stored: the hash of its `state`, never the state itself.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthState {
    /// SHA-256 of the state value, hex.
    pub state_hash: String,
    /// The platform whose login it is.
    pub platform: Platform,
    /// The user who started it; only they may finish it.
    pub user_id: UserId,
    /// The PKCE verifier sealed by the vault (bound to `state_hash`), when the flow uses PKCE.
    pub verifier: Option<Vec<u8>>,
    /// The redirect URI sent at authorize time (the token call must send the same).
    pub redirect_uri: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
    /// When it was used (a state is single-use).
    pub used_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for OAuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthState")
            .field("state_hash", &self.state_hash)
            .field("platform", &self.platform)
            .field("user_id", &self.user_id)
            .field("verifier_len", &self.verifier.as_ref().map(Vec::len))
            .field("redirect_uri", &self.redirect_uri)
            .field("expires_at", &self.expires_at)
            .field("used_at", &self.used_at)
            .finish()
    }
}

/// What taking a state found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateTake {
    /// The state was live and is now marked used; here it is, with its verifier.
    Taken(OAuthState),
    /// The state was used before (a replay); no verifier.
    AlreadyUsed(OAuthState),
    /// No such state (never issued, or purged long after it expired).
    Unknown,
}

/// Connected accounts: connect, reconnect, disconnect, OAuth states and the refresh lock.
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// Records a new OAuth flow, first purging flows that expired before `purge_before`.
    async fn insert_oauth_state(
        &self,
        state: &OAuthState,
        purge_before: DateTime<Utc>,
    ) -> Result<()>;

    /// Marks a state used at `at` and returns it, atomically: of two takers of the same state exactly
    /// one gets [`StateTake::Taken`]. Expiry and ownership are the caller's to judge.
    async fn take_oauth_state(&self, state_hash: &str, at: DateTime<Utc>) -> Result<StateTake>;

    /// One account with its connection.
    async fn connection(&self, id: AccountId) -> Result<Connection>;

    /// Every account with its connection, by platform and name.
    async fn list_connections(&self) -> Result<Vec<Connection>>;

    /// The account a platform knows by `external_id`, if it was ever connected.
    async fn connection_by_external(
        &self,
        platform: Platform,
        external_id: &str,
    ) -> Result<Option<Connection>>;

    /// Connects an account, or connects it again, with its sealed credentials and audit event, in one
    /// transaction.
    ///
    /// A new (platform, external id) is inserted with `connection.account.id`; a known one is updated in
    /// place (name, status, who and when, login, scopes, expiries; never `created_at` or `sandbox`) and a
    /// refresh token expiry of `None` keeps the stored one, as credentials not given keep the stored
    /// ones. The credentials must be sealed for the account's stored id: when the stored id differs (a
    /// concurrent first connection won), nothing is written and the answer is [`crate::Error::Conflict`].
    async fn save_connection(
        &self,
        connection: &Connection,
        credentials: &[SealedCredential],
        event: &AuditEvent,
    ) -> Result<AccountId>;

    /// Sets an account's status and refresh error, with its audit event (a publish that found the
    /// token refused marks the account `needs_reconnect`).
    async fn set_connection_status(
        &self,
        id: AccountId,
        status: AccountStatus,
        error: Option<&str>,
        event: &AuditEvent,
    ) -> Result<()>;

    /// Disconnects an account: deletes every credential row (gone, not flagged), sets it
    /// `disconnected`, forgets its token expiries, and appends the audit events, in one transaction.
    /// The account row and its publishing history stay. Returns how many credentials were deleted.
    async fn disconnect_account(&self, id: AccountId, events: &[AuditEvent]) -> Result<u64>;

    /// Connected real accounts whose access token expires at or before `before`, soonest first.
    async fn connections_due(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<AccountId>>;

    /// Takes the account's refresh lock: a transaction that holds the account row (PostgreSQL
    /// `SELECT … FOR NO KEY UPDATE`; SQLite's single writer under `BEGIN IMMEDIATE`), so two processes
    /// refreshing the same account take turns, and the second sees what the first wrote. Dropping the
    /// lock without [`ConnectionLock::commit`] rolls back and releases it.
    async fn lock_connection(&self, id: AccountId) -> Result<Box<dyn ConnectionLock>>;
}

/// A held refresh lock on one account (see [`ConnectionStore::lock_connection`]).
#[async_trait]
pub trait ConnectionLock: Send {
    /// The connection and its sealed credentials as they are now, read under the lock.
    async fn read(&mut self) -> Result<(Connection, Vec<SealedCredential>)>;

    /// Writes refreshed credentials (replacing those fields), the connection's new state and an
    /// optional audit event, then commits and releases the lock.
    async fn commit(
        self: Box<Self>,
        update: &RefreshUpdate,
        credentials: &[SealedCredential],
        event: Option<&AuditEvent>,
    ) -> Result<()>;
}
