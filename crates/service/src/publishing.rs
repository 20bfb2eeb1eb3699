//! What people do about publishing (cancel, resolve, republish, read the timeline) and what the
//! dispatcher asks of accounts (a token, a reconnect flag).

use chrono::{DateTime, Utc};
use natronfx_store::{DispatchRecord, LogEntry, QueueDepth};
use natronfx_workflow::{
    Account, Action, Platform, Post, PostId, TargetId, TargetState, User, authorize,
};
use secrecy::SecretString;
use serde::Serialize;

use crate::posts::{Gate, ScheduleRequest};
use crate::{Error, Result, Service};

/// A post's publishing history, target by target.
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    /// The post.
    pub post: PostId,
    /// Its state.
    pub state: String,
    /// Each target with its ledger and history.
    pub targets: Vec<TargetTimeline>,
}

/// One target's ledger and history.
#[derive(Debug, Clone, Serialize)]
pub struct TargetTimeline {
    /// The target.
    pub target: TargetId,
    /// Its platform.
    pub platform: Platform,
    /// The account's name.
    pub account: String,
    /// Where it is.
    pub state: TargetState,
    /// When it is (or was) due.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// The platform's id of the live post.
    pub platform_post_id: Option<String>,
    /// Link to it.
    pub permalink: Option<String>,
    /// When it went live.
    pub published_at: Option<DateTime<Utc>>,
    /// The last error, in words.
    pub last_error: Option<String>,
    /// Failed tries so far.
    pub retries: i32,
    /// When it next needs work.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Every step of every attempt, oldest first.
    pub entries: Vec<TimelineEntry>,
}

/// One step of a publish.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Which attempt.
    pub attempt: i64,
    /// What happened (`started`, `remote-id`, `processing`, `published`, `retry`, `failed`, ...).
    pub kind: String,
    /// In words.
    pub message: String,
    /// A remote id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
    /// The platform's HTTP status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<i32>,
    /// The platform's error code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The platform's trace id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// How long the call took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
}

impl From<LogEntry> for TimelineEntry {
    fn from(e: LogEntry) -> Self {
        TimelineEntry {
            at: e.at,
            attempt: e.attempt,
            kind: e.kind,
            message: e.message,
            remote_id: e.remote_id,
            http_status: e.http_status,
            error_code: e.error_code,
            trace_id: e.trace_id,
            duration_ms: e.duration_ms,
        }
    }
}

impl Service {
    /// The token the dispatcher publishes with: the vault's, refreshed just in time when it is about to
    /// expire (under the account's lock, across processes). Sandbox accounts use the simulator's
    /// sandbox token.
    pub async fn publishing_token(&self, account: &Account) -> Result<SecretString> {
        match sandbox_token(account) {
            Some(token) => Ok(token),
            None => self.access_token(account.id).await,
        }
    }

    /// After a platform refused `rejected` as invalid: one forced refresh (or the newer token another
    /// process already obtained).
    pub async fn refreshed_publishing_token(
        &self,
        account: &Account,
        rejected: &SecretString,
    ) -> Result<SecretString> {
        match sandbox_token(account) {
            Some(token) => Ok(token),
            None => self.force_refresh(account.id, rejected).await,
        }
    }

    /// Cancels targets (all that can be, when `targets` is empty) before they are sent.
    pub async fn cancel_targets(
        &self,
        actor: &User,
        id: PostId,
        targets: &[String],
    ) -> Result<Post> {
        let post = self.store.post(id).await?;
        authorize(actor, Action::SchedulePost, Some(&post))?;
        let accounts = self.store.list_accounts().await?;
        let which = Self::target_ids(&post, &accounts, targets, self)?;
        let which = (!which.is_empty()).then_some(which);
        self.change(actor, id, None, Gate::None, |post, now| {
            post.cancel_targets(actor, which.as_deref(), now)
        })
        .await
    }

    /// Puts failed and missed targets back on the schedule (`when`: a local time or `now`; the targets
    /// it names, else every failed or missed one).
    pub async fn retry_post(
        &self,
        actor: &User,
        id: PostId,
        when: &ScheduleRequest,
    ) -> Result<Post> {
        let post = self.store.post(id).await?;
        authorize(actor, Action::SchedulePost, Some(&post))?;
        let at = self.resolve_schedule(when)?;
        let named = if when.targets.is_empty() {
            Vec::new()
        } else {
            let accounts = self.store.list_accounts().await?;
            Self::target_ids(&post, &accounts, &when.targets, self)?
        };
        let which: Vec<TargetId> = post
            .targets
            .iter()
            .filter(|t| named.is_empty() || named.contains(&t.id))
            .filter(|t| matches!(t.state, TargetState::Failed | TargetState::Missed))
            .map(|t| t.id)
            .collect();
        if which.is_empty() {
            return Err(natronfx_workflow::Error::InvalidInput {
                field: "post",
                reason: "no failed or missed target to retry".into(),
            }
            .into());
        }
        self.change(actor, id, None, Gate::Quality, |post, now| {
            post.schedule(actor, Some(&which), at, now)
        })
        .await
    }

    /// Settles a target whose outcome needed attention: `live` after the person saw it on the platform.
    pub async fn resolve_target(
        &self,
        actor: &User,
        id: PostId,
        target: &str,
        live: bool,
        note: Option<String>,
    ) -> Result<Post> {
        let target = self.one_target(id, target).await?;
        self.change(actor, id, None, Gate::None, |post, now| {
            post.resolve_target(actor, target, live, note, now)
        })
        .await
    }

    /// Sends a published target again, deliberately, with a reason the audit log keeps. Its ledger is
    /// cleared so the dispatcher treats it as a new publish.
    pub async fn republish(
        &self,
        actor: &User,
        id: PostId,
        target: &str,
        reason: &str,
        when: &ScheduleRequest,
    ) -> Result<Post> {
        authorize(actor, Action::ViewPost, None)?;
        let at = self.resolve_schedule(when)?;
        let target = self.one_target(id, target).await?;
        let mut post = self.store.post(id).await?;
        let now = self.now();
        let events = post.republish_target(actor, target, reason, at, now)?;
        self.require_quality(&post).await?;
        let log = [LogEntry::new(
            target,
            id,
            0,
            now,
            "republish",
            format!("{} asked for a republish: {}", actor.email, reason.trim()),
        )];
        self.store
            .save_post_logged(post.snapshot(), &events, &log, &[target])
            .await?;
        Ok(self.store.post(id).await?)
    }

    async fn one_target(&self, id: PostId, target: &str) -> Result<TargetId> {
        let post = self.store.post(id).await?;
        let accounts = self.store.list_accounts().await?;
        Self::target_ids(&post, &accounts, &[target.to_owned()], self)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Internal("no target".into()))
    }

    /// A post's publishing history: each target's ledger and every step of every attempt.
    pub async fn timeline(&self, actor: &User, id: PostId) -> Result<Timeline> {
        authorize(actor, Action::ViewPost, None)?;
        let post = self.store.post(id).await?;
        let log = self.store.publish_log(id).await?;
        let accounts = self.store.list_accounts().await?;
        let mut targets = Vec::with_capacity(post.targets.len());
        for t in &post.targets {
            let record: DispatchRecord = self.store.dispatch_record(t.id).await?;
            targets.push(TargetTimeline {
                target: t.id,
                platform: t.platform,
                account: accounts
                    .iter()
                    .find(|a| a.id == t.account_id)
                    .map_or_else(|| t.account_id.to_string(), |a| a.display_name.clone()),
                state: t.state,
                scheduled_at: t.scheduled_at.map(|s| s.instant()),
                platform_post_id: record.published_post_id,
                permalink: record.permalink,
                published_at: record.published_at,
                last_error: record.last_error,
                retries: record.retries,
                next_attempt_at: record.next_attempt_at,
                entries: log
                    .iter()
                    .filter(|e| e.target == t.id)
                    .cloned()
                    .map(TimelineEntry::from)
                    .collect(),
            });
        }
        Ok(Timeline {
            post: id,
            state: post.state().to_string(),
            targets,
        })
    }

    /// How much publishing work is queued right now.
    pub async fn queue_depth(&self) -> Result<QueueDepth> {
        Ok(self.store.queue_depth(self.now()).await?)
    }
}

/// The token of a sandbox account: it names the account, and only the simulator accepts it.
fn sandbox_token(account: &Account) -> Option<SecretString> {
    if !account.sandbox {
        return None;
    }
    let network = match account.platform {
        Platform::Tiktok => natronfx_sim::Network::Tiktok,
        Platform::Instagram => natronfx_sim::Network::Instagram,
        Platform::Facebook => natronfx_sim::Network::Facebook,
    };
    Some(SecretString::from(natronfx_sim::sandbox_token(
        network,
        &account.external_id,
    )))
}
