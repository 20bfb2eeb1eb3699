//! Retention: finding and deleting records the policy no longer keeps, kind by kind, and the audit log's
//! anchor that lets its oldest events go without breaking verification. Also the audit log's filter.
//!
//! Every purge takes `apply`: without it the same condition is counted and nothing changes, so a dry run
//! reports exactly what a real run at the same instant would delete.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use natronfx_workflow::{AuditAction, AuditEvent, MediaId, UserId};

use crate::Result;

/// How much one kind of record retention deleted (or would delete).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Records (rows, files, cleared fields).
    pub count: u64,
    /// Bytes freed, where they are known (media files, from their rows' sizes).
    pub bytes: Option<u64>,
}

/// When the media a post uses stop being needed. `None` turns a rule off: that media is kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaCutoffs {
    /// A post whose every target is `published` with a platform post id lets go of its media once the
    /// last of them was confirmed before this instant.
    pub published_before: Option<DateTime<Utc>>,
    /// Any other post with no target waiting or in flight (drafts, posts in review, failed, archived...)
    /// lets go of its media once it was last changed before this instant.
    pub inactive_before: Option<DateTime<Utc>>,
    /// Media no post uses (uploads never placed on a slide) go once stored before this instant.
    pub orphan_before: Option<DateTime<Utc>>,
}

/// A media file whose row retention marked as purged: the caller deletes it from the media store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasedMedia {
    /// The media row.
    pub id: MediaId,
    /// Its key in the media store.
    pub key: String,
    /// Its size.
    pub bytes: i64,
}

/// Where the audit log begins after retention deleted its oldest events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditAnchor {
    /// The first event kept.
    pub first_seq: i64,
    /// The hash of the deleted event it links to.
    pub prev_hash: String,
    /// How many events that purge deleted.
    pub deleted: i64,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Which audit events to list, newest first. Every field narrows; the default lists everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this action.
    pub action: Option<AuditAction>,
    /// Only events about this kind of record (`post`, `account`, `user`, ...).
    pub subject_kind: Option<String>,
    /// Only events about this record.
    pub subject_id: Option<String>,
    /// Only events by this person.
    pub actor: Option<UserId>,
    /// Only events at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only events before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Continue below this `seq` (the last one of the previous page).
    pub before_seq: Option<i64>,
    /// At most this many (the store caps it at 1000; 0 means 50).
    pub limit: u32,
}

/// Deleting what the retention policy no longer keeps. Nothing here decides the policy: callers pass the
/// instants, this only finds and deletes, never a record still in use.
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// Media files every post using them has let go of (see [`MediaCutoffs`]); never a file of a post
    /// with a target scheduled, publishing, missed or needing attention. With `apply` their rows are
    /// marked purged at `now`, re-checked in the same transaction, so a post scheduled meanwhile keeps
    /// its media; deleting the files is the caller's job (after this returns).
    async fn release_media(
        &self,
        cutoffs: &MediaCutoffs,
        now: DateTime<Utc>,
        apply: bool,
    ) -> Result<Vec<ReleasedMedia>>;
    /// Deletes the rows of purged media that nothing refers to any more (no slide, no image derived
    /// from them), with their provenance. Returns how many rows went.
    async fn forget_purged_media(&self) -> Result<u64>;
    /// Clears the purged mark of media whose file could not be deleted, so the next run tries again.
    async fn unmark_purged_media(&self, ids: &[MediaId]) -> Result<()>;
    /// Whether each of these media is purged (its file deleted by retention), in order.
    async fn media_purged(&self, ids: &[MediaId]) -> Result<Vec<bool>>;
    /// Publish-log lines written before `before`, except those of targets waiting or in flight.
    async fn purge_publish_log(&self, before: DateTime<Utc>, apply: bool) -> Result<Purged>;
    /// Clears the error excerpt of settled targets (published, failed, cancelled) of posts unchanged
    /// since before `before`.
    async fn clear_target_errors(&self, before: DateTime<Utc>, apply: bool) -> Result<Purged>;
    /// Archived posts unchanged since before `before`, with their slides, targets, reviews and log;
    /// never one that went live somewhere (its targets are its accounts' history) or has a target
    /// waiting or in flight. Audit events and fingerprints about them stay.
    async fn purge_archived_posts(&self, before: DateTime<Utc>, apply: bool) -> Result<Purged>;
    /// Sessions whose absolute end is at or before `ended_before`, or last seen before `idle_before`.
    async fn purge_ended_sessions(
        &self,
        ended_before: DateTime<Utc>,
        idle_before: DateTime<Utc>,
        apply: bool,
    ) -> Result<Purged>;
    /// Login attempts made before `before`.
    async fn purge_old_login_attempts(&self, before: DateTime<Utc>, apply: bool) -> Result<Purged>;
    /// OAuth flows that expired before `before`.
    async fn purge_expired_oauth_states(
        &self,
        before: DateTime<Utc>,
        apply: bool,
    ) -> Result<Purged>;
    /// Fingerprints of content published before `before` (past the duplicate window).
    async fn purge_fingerprints(&self, before: DateTime<Utc>, apply: bool) -> Result<Purged>;
    /// The oldest audit events, up to the first one at or after `before` (only a prefix of the log goes,
    /// and never its newest event). With `event`, under the chain's lock and in one transaction: `event`
    /// is appended, the prefix deleted and the first event kept recorded as the chain's anchor, so
    /// verification still holds and still catches any other missing event.
    async fn purge_audit(
        &self,
        before: DateTime<Utc>,
        event: Option<&AuditEvent>,
    ) -> Result<Purged>;
    /// The newest anchor, if retention ever deleted audit events.
    async fn audit_anchor(&self) -> Result<Option<AuditAnchor>>;
}
