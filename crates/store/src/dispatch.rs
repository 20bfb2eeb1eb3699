//! The dispatcher's storage: claiming due targets with fenced leases, the publish ledger on each target,
//! the publish log, and rate-limit slots shared by every process.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use natronfx_workflow::{AccountId, AuditEvent, PostId, PostSnapshot, TargetId};

use crate::Result;

/// What the dispatcher knows of a target beyond its workflow state. Written whole by the lease holder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchRecord {
    /// The adapter's resumable progress (JSON): every remote id obtained so far.
    pub progress: Option<String>,
    /// The platform's id of the live post; once set, the ledger refuses to send the target again.
    pub published_post_id: Option<String>,
    /// Link to the live post.
    pub permalink: Option<String>,
    /// When the platform confirmed the post.
    pub published_at: Option<DateTime<Utc>>,
    /// The last error, in words, for people.
    pub last_error: Option<String>,
    /// Failed tries so far (for backoff and the retry limit).
    pub retries: i32,
    /// Since when the outcome of a creating call is unknown: reconcile before anything else.
    pub unknown_since: Option<DateTime<Utc>>,
    /// When the first attempt started (the read-back looks for the post from there on).
    pub first_attempt_at: Option<DateTime<Utc>>,
    /// When the target next needs work (a poll, a backoff, a rate slot); `None` means at its schedule.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// A target handed to one worker until `lease_until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The target.
    pub target: TargetId,
    /// Its post.
    pub post: PostId,
    /// Its account.
    pub account: AccountId,
    /// The fencing token: the attempt number this claim holds.
    pub attempt: i64,
    /// The previous holder's lease ran out without a release (it crashed or hung): its last call may
    /// have happened without its answer being recorded.
    pub abandoned: bool,
    /// When the target became due.
    pub due_at: DateTime<Utc>,
    /// The ledger as it was when claimed.
    pub record: DispatchRecord,
}

/// Proof of holding a claim; every write of the dispatcher carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The target.
    pub target: TargetId,
    /// The worker holding it.
    pub worker: String,
    /// The attempt number it holds.
    pub attempt: i64,
}

/// What happens to the lease with a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// Keep holding it, until this instant.
    Extend(DateTime<Utc>),
    /// Hand the target back to the queue.
    Release,
}

/// One line of a target's publishing history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The target.
    pub target: TargetId,
    /// Its post.
    pub post: PostId,
    /// The attempt (fencing token) it belongs to.
    pub attempt: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened: `started`, `remote-id`, `polling`, `published`, `retry`, `failed`, `unknown`, ...
    pub kind: String,
    /// In words, for people.
    pub message: String,
    /// A remote id obtained or looked at.
    pub remote_id: Option<String>,
    /// The platform's HTTP status, when a call failed.
    pub http_status: Option<i32>,
    /// The failure's class (`retryable`, `rate-limited`, `auth`, `terminal`, `outcome-unknown`).
    pub error_class: Option<String>,
    /// The platform's own error code.
    pub error_code: Option<String>,
    /// The platform's trace id (TikTok `log_id`, Graph `fbtrace_id`).
    pub trace_id: Option<String>,
    /// How long the call took.
    pub duration_ms: Option<i64>,
    /// Which worker wrote it.
    pub worker: Option<String>,
}

impl LogEntry {
    /// A plain entry; fill the optional parts with struct update syntax.
    pub fn new(
        target: TargetId,
        post: PostId,
        attempt: i64,
        at: DateTime<Utc>,
        kind: &str,
        message: impl Into<String>,
    ) -> LogEntry {
        LogEntry {
            target,
            post,
            attempt,
            at,
            kind: kind.to_owned(),
            message: message.into(),
            remote_id: None,
            http_status: None,
            error_class: None,
            error_code: None,
            trace_id: None,
            duration_ms: None,
            worker: None,
        }
    }
}

/// How much work is queued, for `/metrics` and the dashboard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Scheduled targets whose time has come.
    pub due: i64,
    /// Scheduled targets still in the future.
    pub waiting: i64,
    /// Targets being published.
    pub in_flight: i64,
    /// Targets whose time passed while the service was down.
    pub missed: i64,
    /// Targets waiting for a person to settle an unknown outcome.
    pub needs_attention: i64,
}

/// The dispatcher's queue and ledger.
#[async_trait]
pub trait DispatchStore: Send + Sync {
    /// Claims up to `limit` targets that need work at `now` (scheduled and due, or in flight and due for
    /// their next step) and whose account is connected, skipping any another worker holds. Each claim
    /// bumps the target's attempt number, the fence of every later write.
    async fn claim_due(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Claim>>;

    /// Writes the lease holder's ledger, the lease change, optionally the post (whole, version-checked,
    /// with its audit events) and log lines, in one transaction. A fence that no longer holds (someone
    /// claimed the target since) is a [`crate::Error::LeaseLost`]; a post changed by someone else is a
    /// [`crate::Error::Conflict`]. Either way nothing is written.
    async fn write_claimed(
        &self,
        fence: &Fence,
        record: &DispatchRecord,
        lease: Lease,
        post: Option<(&PostSnapshot, &[AuditEvent])>,
        log: &[LogEntry],
    ) -> Result<()>;

    /// Ends a claim at once without releasing it, after its holder failed unexpectedly: the next claim
    /// sees it abandoned and reconciles before anything is sent.
    async fn expire_lease(&self, fence: &Fence, now: DateTime<Utc>) -> Result<()>;

    /// Saves a post changed by a person or by recovery (missed targets, republish), with log lines;
    /// the ledger of each target in `reset` is cleared (a deliberate republish starts afresh).
    async fn save_post_logged(
        &self,
        post: &PostSnapshot,
        events: &[AuditEvent],
        log: &[LogEntry],
        reset: &[TargetId],
    ) -> Result<i64>;

    /// A target's ledger.
    async fn dispatch_record(&self, target: TargetId) -> Result<DispatchRecord>;

    /// A post's publishing history, oldest first.
    async fn publish_log(&self, post: PostId) -> Result<Vec<LogEntry>>;

    /// Scheduled targets that nobody holds and that were due before `before`, oldest first.
    async fn overdue_targets(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(PostId, TargetId)>>;

    /// Takes a slot under a per-account limit of `limit` calls per `window_secs`, shared by every process:
    /// `None` when taken, or the instant the next slot frees up.
    async fn reserve_slot(
        &self,
        account: AccountId,
        kind: &str,
        now: DateTime<Utc>,
        window_secs: i64,
        limit: u32,
    ) -> Result<Option<DateTime<Utc>>>;

    /// How much work is queued at `now`.
    async fn queue_depth(&self, now: DateTime<Utc>) -> Result<QueueDepth>;

    /// Makes the unheld targets of `account` that wait for a later attempt due at `now` (called when the
    /// account is connected again, so that what waited for the reconnect goes out at once rather than
    /// after its backoff). Returns how many were woken.
    async fn wake_account_targets(&self, account: AccountId, now: DateTime<Utc>) -> Result<u64>;
}
