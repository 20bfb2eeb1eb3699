//! Browser sessions, login attempts (for throttling), and the paged reads the dashboard and the API list
//! with: posts by platform and account, a calendar of scheduled targets, the audit log and media by cursor.
//!
//! Sessions are kept by the SHA-256 of their id only; the id itself lives in the browser's cookie.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use natronfx_workflow::{
    AccountId, AuditEvent, Platform, PostId, PostState, TargetId, TargetState, UserId,
};

use crate::{MediaRecord, PostFilter, PostSummary, Result, StoredAuditEvent};

/// A signed-in browser, as stored: the hash of its id, never the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the session id, hex.
    pub id_hash: String,
    /// Who is signed in.
    pub user_id: UserId,
    /// When the session started (at login).
    pub created_at: DateTime<Utc>,
    /// Last request seen (recorded at most about once a minute).
    pub last_seen_at: DateTime<Utc>,
    /// The absolute end, whatever the activity.
    pub expires_at: DateTime<Utc>,
    /// The client address at login.
    pub address: String,
    /// The browser's `User-Agent` at login (shortened), so a person can tell their sessions apart.
    pub user_agent: String,
}

/// One password login, successful or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAttempt {
    /// When.
    pub at: DateTime<Utc>,
    /// The email as typed, trimmed and lowercased (it may name nobody).
    pub email: String,
    /// The client address.
    pub address: String,
    /// Whether the password matched.
    pub success: bool,
}

/// Recent failed logins, counted the two ways throttling needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginFailures {
    /// Failures for this email since the window began and since its last successful login.
    pub by_email: i64,
    /// Failures from this address since the window began.
    pub by_address: i64,
}

/// Server-side sessions. Every method that ends or starts one writes its audit event in the same
/// transaction.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Starts a session after a successful login, atomically with the attempt and its audit event. The
    /// session the browser held before (`replaces`, by hash), if any, ends: the id changes at login.
    async fn start_session(
        &self,
        session: &SessionRecord,
        replaces: Option<&str>,
        attempt: &LoginAttempt,
        event: &AuditEvent,
    ) -> Result<()>;
    /// One session by the hash of its id ([`crate::Error::NotFound`] when there is none).
    async fn session(&self, id_hash: &str) -> Result<SessionRecord>;
    /// Notes activity on a session.
    async fn touch_session(&self, id_hash: &str, at: DateTime<Utc>) -> Result<()>;
    /// Ends one session (logout, or found expired), with an optional audit event; says whether it existed.
    async fn end_session(&self, id_hash: &str, event: Option<&AuditEvent>) -> Result<bool>;
    /// A user's sessions, newest first.
    async fn sessions_of(&self, user: UserId) -> Result<Vec<SessionRecord>>;
    /// Replaces a user's password hash and ends every session of theirs but `keep` (by hash), with the
    /// audit event, atomically. Returns how many sessions ended.
    async fn change_password(
        &self,
        user: UserId,
        password_hash: &str,
        keep: Option<&str>,
        event: &AuditEvent,
    ) -> Result<u64>;
    /// Ends every session whose absolute end is at or before `now`, or that was last seen before
    /// `idle_before`. Returns how many.
    async fn purge_sessions(&self, now: DateTime<Utc>, idle_before: DateTime<Utc>) -> Result<u64>;
}

/// Login attempts, for throttling.
#[async_trait]
pub trait LoginAttemptStore: Send + Sync {
    /// Records a failed attempt with its audit event, atomically.
    async fn record_failed_login(&self, attempt: &LoginAttempt, event: &AuditEvent) -> Result<()>;
    /// Failures for `email` and from `address` at or after `since`.
    async fn login_failures(
        &self,
        email: &str,
        address: &str,
        since: DateTime<Utc>,
    ) -> Result<LoginFailures>;
    /// Forgets attempts older than `before`. Returns how many.
    async fn purge_login_attempts(&self, before: DateTime<Utc>) -> Result<u64>;
}

/// Which posts to list, beyond [`PostFilter`]: by a target's platform or account.
#[derive(Debug, Clone, Default)]
pub struct PostSearch {
    /// State, author, cursor and page size.
    pub filter: PostFilter,
    /// Only posts with a target on this platform.
    pub platform: Option<Platform>,
    /// Only posts with a target on this account.
    pub account: Option<AccountId>,
}

/// One target with an instant, for the calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEntry {
    /// The post.
    pub post_id: PostId,
    /// Its title.
    pub title: String,
    /// Its state.
    pub post_state: PostState,
    /// The target.
    pub target_id: TargetId,
    /// Its platform.
    pub platform: Platform,
    /// Its account.
    pub account_id: AccountId,
    /// The account's name.
    pub account_name: String,
    /// The target's state.
    pub target_state: TargetState,
    /// When it publishes (or published).
    pub at: DateTime<Utc>,
}

/// Position in the media listing: the last row's instant and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaCursor {
    /// `created_at` of the last row seen.
    pub created_at: DateTime<Utc>,
    /// Its id, to break ties.
    pub id: natronfx_workflow::MediaId,
}

/// Paged and filtered reads for lists that grow without bound.
#[async_trait]
pub trait BrowseStore: Send + Sync {
    /// A page of posts, newest change first, filtered as [`PostSearch`] says.
    async fn search_posts(&self, search: &PostSearch) -> Result<Vec<PostSummary>>;
    /// Every target with an instant in `[from, to)`, by instant.
    async fn calendar(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<CalendarEntry>>;
    /// Audit events before `before_seq` (from the newest when `None`), newest first, at most `limit`.
    async fn audit_page(
        &self,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<StoredAuditEvent>>;
    /// Media rows after `after` (from the newest when `None`), newest first, at most `limit`.
    async fn media_page(&self, after: Option<MediaCursor>, limit: u32) -> Result<Vec<MediaRecord>>;
}

/// Rows of this module's tables as sqlx reads them (shared by both backends).
pub(crate) mod rows {
    use chrono::{DateTime, Utc};
    use sqlx::FromRow;

    use super::{CalendarEntry, SessionRecord, StoredText as _};
    use crate::{Error, Result};

    #[derive(FromRow)]
    pub(crate) struct SessionRow {
        id_hash: String,
        user_id: String,
        created_at: DateTime<Utc>,
        last_seen_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        address: String,
        user_agent: String,
    }

    impl TryFrom<SessionRow> for SessionRecord {
        type Error = Error;
        fn try_from(r: SessionRow) -> Result<SessionRecord> {
            Ok(SessionRecord {
                id_hash: r.id_hash,
                user_id: r.user_id.parse_as("user id")?,
                created_at: r.created_at,
                last_seen_at: r.last_seen_at,
                expires_at: r.expires_at,
                address: r.address,
                user_agent: r.user_agent,
            })
        }
    }

    #[derive(FromRow)]
    pub(crate) struct CalendarRow {
        post_id: String,
        title: String,
        post_state: String,
        target_id: String,
        platform: String,
        account_id: String,
        account_name: String,
        target_state: String,
        at: DateTime<Utc>,
    }

    impl TryFrom<CalendarRow> for CalendarEntry {
        type Error = Error;
        fn try_from(r: CalendarRow) -> Result<CalendarEntry> {
            Ok(CalendarEntry {
                post_id: r.post_id.parse_as("post id")?,
                title: r.title,
                post_state: r.post_state.parse_as("post state")?,
                target_id: r.target_id.parse_as("target id")?,
                platform: r.platform.parse_as("platform")?,
                account_id: r.account_id.parse_as("account id")?,
                account_name: r.account_name,
                target_state: r.target_state.parse_as("target state")?,
                at: r.at,
            })
        }
    }
}

/// Parsing stored text into domain values, a bad value being a corrupt row.
trait StoredText {
    fn parse_as<T: std::str::FromStr>(&self, what: &str) -> Result<T>;
}

impl StoredText for String {
    fn parse_as<T: std::str::FromStr>(&self, what: &str) -> Result<T> {
        self.parse()
            .map_err(|_| crate::Error::Corrupt(format!("bad {what} `{self}`")))
    }
}
