//! Working one claimed target to its next resting point: start, drive, settle, retry, reconcile.

use std::time::Instant;

use chrono::{DateTime, Utc};
use natronfx_platforms::{
    ErrorClass, Next, PlatformError, PrivacyLevel, PublishProgress, PublishRequest, PublishToggles,
    Published, Publisher, RemoteStatus,
};
use natronfx_store::{Claim, DispatchRecord, Fence, Lease, LogEntry};
use natronfx_workflow::{
    Account, AuditAction, AuditEvent, Platform, Post, PostId, Target, TargetState,
};
use secrecy::SecretString;

use super::publishers::adapter_platform;
use super::{Dispatcher, after, backoff};
use crate::{Error, Result};

/// Where a target came to rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Published,
    Failed,
    Retrying,
    Waiting,
    NeedsAttention,
    Refused,
    Skipped,
}

impl Outcome {
    /// How the observer counts it; a skipped target was not worked at all.
    fn label(self) -> Option<&'static str> {
        Some(match self {
            Outcome::Published => "published",
            Outcome::Failed => "failed",
            Outcome::Retrying => "retrying",
            Outcome::Waiting => "waiting",
            Outcome::NeedsAttention => "needs_attention",
            Outcome::Refused => "refused",
            Outcome::Skipped => return None,
        })
    }
}

/// A change to the post that goes with a ledger write: a workflow operation returning audit events.
type Change<'a> = &'a (dyn Fn(&mut Post) -> natronfx_workflow::Result<Vec<AuditEvent>> + Sync);

/// Everything one claimed target is worked with.
struct Job {
    fence: Fence,
    post: PostId,
    target: Target,
    account: Account,
    record: DispatchRecord,
    request: PublishRequest,
    progress: PublishProgress,
    publisher: std::sync::Arc<dyn Publisher>,
}

impl Job {
    fn log(&self, at: DateTime<Utc>, kind: &str, message: impl Into<String>) -> LogEntry {
        LogEntry {
            worker: Some(self.fence.worker.clone()),
            ..LogEntry::new(
                self.target.id,
                self.post,
                self.fence.attempt,
                at,
                kind,
                message,
            )
        }
    }

    fn error_log(&self, at: DateTime<Utc>, kind: &str, error: &PlatformError, ms: i64) -> LogEntry {
        let detail = error.detail();
        LogEntry {
            http_status: detail.and_then(|d| d.http_status).map(i32::from),
            error_class: Some(class_name(error.class()).to_owned()),
            error_code: detail
                .and_then(|d| d.code.clone())
                .or_else(|| Some(error.code().to_owned())),
            trace_id: detail.and_then(|d| d.trace_id.clone()),
            duration_ms: Some(ms),
            ..self.log(at, kind, error.to_string())
        }
    }

    fn save_progress(&mut self, progress: PublishProgress) {
        self.record.progress = serde_json::to_string(&progress).ok();
        self.progress = progress;
    }

    /// Nothing at all exists remotely: the target may go back to the schedule.
    fn created_nothing(&self) -> bool {
        self.progress.remote_ids().is_empty()
    }
}

fn class_name(class: ErrorClass) -> &'static str {
    match class {
        ErrorClass::Retryable => "retryable",
        ErrorClass::RateLimited => "rate-limited",
        ErrorClass::Auth => "auth",
        ErrorClass::Terminal => "terminal",
        ErrorClass::OutcomeUnknown => "outcome-unknown",
    }
}

fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

impl Dispatcher {
    /// Works one claim. A refused fence or a post changed by someone else ends quietly: the target is
    /// either someone else's now or no longer due.
    pub(super) async fn work(&self, claim: Claim) -> Result<Outcome> {
        for _ in 0..3 {
            match self.work_once(&claim).await {
                Err(Error::Store(natronfx_store::Error::Conflict(_))) => continue,
                Err(Error::Store(natronfx_store::Error::LeaseLost(reason))) => {
                    tracing::info!(%reason, "lease lost; another worker has the target");
                    return Ok(Outcome::Skipped);
                }
                other => return other,
            }
        }
        self.release(&claim, "the post kept changing; trying again later")
            .await
    }

    async fn release(&self, claim: &Claim, why: &str) -> Result<Outcome> {
        let fence = self.fence(claim);
        let now = self.service().now();
        let log = LogEntry {
            worker: Some(fence.worker.clone()),
            ..LogEntry::new(
                claim.target,
                claim.post,
                claim.attempt,
                now,
                "released",
                why,
            )
        };
        self.service()
            .store
            .write_claimed(&fence, &claim.record, Lease::Release, None, &[log])
            .await?;
        Ok(Outcome::Skipped)
    }

    pub(super) fn fence(&self, claim: &Claim) -> Fence {
        Fence {
            target: claim.target,
            worker: self.worker().to_owned(),
            attempt: claim.attempt,
        }
    }

    async fn work_once(&self, claim: &Claim) -> Result<Outcome> {
        let service = self.service();
        let post = service.store.post(claim.post).await?;
        let Some(target) = post.targets.iter().find(|t| t.id == claim.target).cloned() else {
            return Ok(Outcome::Skipped);
        };
        let account = service.store.account(target.account_id).await?;
        let publishers = if account.sandbox {
            self.inner.sandbox.as_ref().ok_or_else(|| {
                Error::Config(
                    "sandbox accounts need the sandbox simulator, which is not running".into(),
                )
            })?
        } else {
            &self.inner.real
        };
        let publisher = publishers.get(target.platform).clone();
        let progress = match &claim.record.progress {
            Some(json) => serde_json::from_str(json).map_err(|e| {
                Error::Internal(format!("stored publish progress is unreadable: {e}"))
            })?,
            None => PublishProgress::start(adapter_platform(target.platform)),
        };
        let request = self.request(&post, &target, &account).await?;
        let mut job = Job {
            fence: self.fence(claim),
            post: post.id,
            target,
            account,
            record: claim.record.clone(),
            request,
            progress,
            publisher,
        };
        let outcome = match job.target.state {
            TargetState::Scheduled => self.fresh(&mut job).await,
            TargetState::Publishing => {
                if claim.abandoned && job.record.unknown_since.is_none() {
                    // The last holder vanished mid-attempt: its last call may have happened unrecorded.
                    job.record.unknown_since = Some(service.now());
                }
                match self.token(&job).await {
                    Err(outcome) => outcome,
                    Ok(token) if job.record.unknown_since.is_some() => {
                        self.reconcile(&mut job, token).await
                    }
                    Ok(token) => self.drive(&mut job, token).await,
                }
            }
            _ => {
                self.release(claim, "no longer waiting to be published")
                    .await
            }
        };
        if let Some(label) = outcome.as_ref().ok().and_then(|o| o.label()) {
            service
                .observer()
                .publish_attempt_ended(job.target.platform, label);
        }
        outcome
    }

    /// The request the platform gets: title, the caption as published, the slides' public URLs.
    async fn request(
        &self,
        post: &Post,
        target: &Target,
        account: &Account,
    ) -> Result<PublishRequest> {
        let service = self.service();
        let mut image_urls = Vec::with_capacity(post.slides.len());
        for slide in &post.slides {
            let media = service.store.media(slide.media_id).await?;
            let key = natronfx_media::MediaKey::parse(&media.key)?;
            // Some backends (WordPress) only know an object's public URL once they assigned it.
            image_urls.push(service.media_store()?.resolve_public_url(&key).await?);
        }
        // TikTok asks that AI-generated content be labelled.
        let is_aigc = service.post_is_aigc(post).await?;
        let options = &target.options;
        Ok(PublishRequest {
            account_id: account.external_id.clone(),
            title: (target.platform == Platform::Tiktok).then(|| post.title.as_str().to_owned()),
            caption: crate::Service::published_text(post, target),
            image_urls,
            privacy_level: options
                .privacy_level
                .as_deref()
                .and_then(PrivacyLevel::parse),
            toggles: PublishToggles {
                disable_comment: options.disable_comment,
                auto_add_music: options.auto_add_music,
                brand_content: options.brand_content,
                brand_organic: options.brand_organic,
            },
            is_aigc,
            cover_index: 0,
        })
    }

    /// Writes the ledger (and, with `change`, the post, reloaded and changed afresh if a person saved it
    /// meanwhile) under the job's fence.
    async fn commit(
        &self,
        job: &Job,
        lease: Lease,
        log: &[LogEntry],
        change: Option<Change<'_>>,
    ) -> Result<()> {
        let store = &self.service().store;
        let Some(change) = change else {
            store
                .write_claimed(&job.fence, &job.record, lease, None, log)
                .await?;
            return Ok(());
        };
        let mut last = None;
        for _ in 0..5 {
            let mut post = store.post(job.post).await?;
            let events = change(&mut post)?;
            match store
                .write_claimed(
                    &job.fence,
                    &job.record,
                    lease,
                    Some((post.snapshot(), &events)),
                    log,
                )
                .await
            {
                Err(natronfx_store::Error::Conflict(e)) => last = Some(e),
                other => return Ok(other?),
            }
        }
        Err(natronfx_store::Error::Conflict(last.unwrap_or_default()).into())
    }

    fn lease(&self) -> Lease {
        Lease::Extend(self.service().now() + self.inner.config.lease())
    }

    /// The account's token; without one the target waits (it is not failed).
    async fn token(&self, job: &Job) -> std::result::Result<SecretString, Result<Outcome>> {
        match self.service().publishing_token(&job.account).await {
            Ok(token) => Ok(token),
            Err(e) => {
                let now = self.service().now();
                let mut record = job.record.clone();
                record.last_error = Some(e.to_string());
                record.next_attempt_at = Some(after(now, self.inner.config.retry_max()));
                let log = job.log(now, "waiting", format!("no usable token: {e}"));
                let result = self
                    .service()
                    .store
                    .write_claimed(&job.fence, &record, Lease::Release, None, &[log])
                    .await;
                Err(result.map(|()| Outcome::Waiting).map_err(Error::from))
            }
        }
    }

    /// A scheduled target: ledger check, pacing, token, then the attempt starts.
    async fn fresh(&self, job: &mut Job) -> Result<Outcome> {
        let now = self.service().now();
        let target = job.target.id;
        if job.target.scheduled_at.is_none_or(|at| at.instant() > now) {
            job.record.next_attempt_at = None;
            let log = job.log(now, "released", "no longer due");
            self.commit(job, Lease::Release, &[log], None).await?;
            return Ok(Outcome::Skipped);
        }
        if let Some(id) = job.record.published_post_id.clone() {
            // The ledger: published before, and nobody asked for a republish.
            let note = format!(
                "already published as {id}; not sent again (republish to send it deliberately)"
            );
            let log = job.log(now, "refused", note.clone());
            let change = move |p: &mut Post| {
                let mut events = p.start_target(target, now)?;
                events.extend(p.record_target_outcome(
                    target,
                    TargetState::Published,
                    Some(note.clone()),
                    now,
                )?);
                events.push(
                    AuditEvent::new(now, None, AuditAction::RepublishRefused, "post", p.id)
                        .with_note(Some(note.clone())),
                );
                Ok(events)
            };
            self.commit(job, Lease::Release, &[log], Some(&change))
                .await?;
            return Ok(Outcome::Refused);
        }
        if job.progress.post_requested() {
            // A post was asked for in an earlier attempt: never ask again before reconciling.
            job.record.unknown_since = Some(now);
            job.record.next_attempt_at = Some(now);
            let log = job.log(
                now,
                "unknown",
                "an earlier attempt asked for the post; reconciling first",
            );
            let change = move |p: &mut Post| p.start_target(target, now);
            self.commit(job, Lease::Release, &[log], Some(&change))
                .await?;
            return Ok(Outcome::Waiting);
        }
        if let Some(outcome) = self.pace(job, now).await? {
            return Ok(outcome);
        }
        let token = match self.token(job).await {
            Ok(t) => t,
            Err(outcome) => return outcome,
        };
        job.record.first_attempt_at.get_or_insert(now);
        job.record.next_attempt_at = None;
        let attempt = job.fence.attempt;
        let log = job.log(
            now,
            "started",
            format!("attempt {attempt} by {}", job.fence.worker),
        );
        let change = move |p: &mut Post| p.start_target(target, now);
        match self.commit(job, self.lease(), &[log], Some(&change)).await {
            Ok(()) => {}
            // A person cancelled or moved it since the claim: it is not sent.
            Err(Error::Workflow(_)) => {
                let log = job.log(now, "released", "cancelled or moved before it was sent");
                self.commit(job, Lease::Release, &[log], None).await?;
                return Ok(Outcome::Skipped);
            }
            Err(e) => return Err(e),
        }
        self.drive(job, token).await
    }

    /// Per-account limits shared by every process: TikTok inits per minute, Instagram posts per day (and
    /// the account's own quota, read at runtime). `Some` when the target must wait for its slot.
    async fn pace(&self, job: &mut Job, now: DateTime<Utc>) -> Result<Option<Outcome>> {
        let config = &self.inner.config;
        let (kind, window, limit) = match job.target.platform {
            // The slot is taken a moment before the call itself; a margin of a few seconds keeps the
            // platform's own one-minute window from still counting the oldest call.
            Platform::Tiktok => ("tiktok-init", 63, config.tiktok_inits_per_minute),
            Platform::Instagram => ("instagram-publish", 86_400, config.instagram_posts_per_day),
            Platform::Facebook => return Ok(None),
        };
        let store = &self.service().store;
        let wait = store
            .reserve_slot(job.account.id, kind, now, window, limit.max(1))
            .await?;
        let Some(until) = wait else {
            return Ok(None);
        };
        job.record.next_attempt_at = Some(until);
        let log = job.log(
            now,
            "waiting",
            format!("{limit} per {window} s for this account reached; next slot at {until}"),
        );
        self.commit(job, Lease::Release, &[log], None).await?;
        Ok(Some(Outcome::Waiting))
    }

    /// Advances the publish step by step, committing every remote id as it appears.
    async fn drive(&self, job: &mut Job, mut token: SecretString) -> Result<Outcome> {
        let mut refreshed = false;
        loop {
            let started = Instant::now();
            let result = job
                .publisher
                .advance(&token, &job.request, &job.progress)
                .await;
            let ms = elapsed_ms(started);
            let now = self.service().now();
            match result {
                Ok(step) => {
                    let before = job.progress.remote_ids();
                    let new_ids: Vec<String> = step
                        .progress
                        .remote_ids()
                        .into_iter()
                        .filter(|id| !before.contains(id))
                        .collect();
                    job.save_progress(step.progress);
                    let mut log: Vec<LogEntry> = new_ids
                        .into_iter()
                        .map(|id| LogEntry {
                            remote_id: Some(id.clone()),
                            duration_ms: Some(ms),
                            ..job.log(now, "remote-id", format!("the platform created {id}"))
                        })
                        .collect();
                    match step.next {
                        Next::Continue => {
                            self.commit(job, self.lease(), &log, None).await?;
                        }
                        Next::PollAfter(delay) if delay <= self.inner.config.max_inline_poll() => {
                            self.commit(job, self.lease(), &log, None).await?;
                            tokio::time::sleep(delay).await;
                        }
                        Next::PollAfter(delay) => {
                            let at = after(now, delay);
                            job.record.next_attempt_at = Some(at);
                            log.push(job.log(
                                now,
                                "processing",
                                format!("the platform is processing; asking again at {at}"),
                            ));
                            self.commit(job, Lease::Release, &log, None).await?;
                            return Ok(Outcome::Waiting);
                        }
                        Next::Done(published) => {
                            return self
                                .settle_published(job, published, "published", log)
                                .await;
                        }
                        Next::Failed(error) => {
                            // The platform ended the attempt and nothing was posted.
                            return self.fail_or_retry(job, &error, ms, log).await;
                        }
                        _ => {
                            job.record.next_attempt_at =
                                Some(after(now, self.inner.config.retry_base()));
                            self.commit(job, Lease::Release, &log, None).await?;
                            return Ok(Outcome::Waiting);
                        }
                    }
                }
                Err(error) if error.class() == ErrorClass::Auth && !refreshed => {
                    refreshed = true;
                    let log = job.error_log(now, "auth", &error, ms);
                    self.commit(job, self.lease(), &[log], None).await?;
                    match self
                        .service()
                        .refreshed_publishing_token(&job.account, &token)
                        .await
                    {
                        Ok(fresh) => token = fresh,
                        Err(_) => return self.fail_or_retry(job, &error, ms, vec![]).await,
                    }
                }
                Err(error) if error.class() == ErrorClass::OutcomeUnknown => {
                    let settle = self.settle_after(job, now);
                    job.record.unknown_since = Some(now);
                    job.record.next_attempt_at = Some(settle);
                    job.record.last_error = Some(error.to_string());
                    let log = job.error_log(now, "unknown", &error, ms);
                    self.commit(job, Lease::Release, &[log], None).await?;
                    return Ok(Outcome::Waiting);
                }
                Err(error) => return self.fail_or_retry(job, &error, ms, vec![]).await,
            }
        }
    }

    /// When to look again after an unknown outcome: at once on Graph (posts list immediately), after the
    /// processing time on TikTok (a post lists only once processed).
    fn settle_after(&self, job: &Job, now: DateTime<Utc>) -> DateTime<Utc> {
        match job.target.platform {
            Platform::Tiktok => now + self.inner.config.tiktok_settle(),
            _ => now + chrono::Duration::seconds(2),
        }
    }

    async fn settle_published(
        &self,
        job: &mut Job,
        published: Published,
        how: &str,
        mut log: Vec<LogEntry>,
    ) -> Result<Outcome> {
        let now = self.service().now();
        let id = published
            .post_id
            .clone()
            .or_else(|| job.progress.remote_ids().last().cloned())
            .unwrap_or_else(|| "(no id given)".into());
        job.record.published_post_id = Some(id.clone());
        job.record.permalink = published.permalink.clone();
        job.record.published_at = Some(now);
        job.record.unknown_since = None;
        job.record.next_attempt_at = None;
        job.record.last_error = None;
        let note = match &published.permalink {
            Some(link) => format!("{how}: {id} {link}"),
            None => format!("{how}: {id}"),
        };
        log.push(LogEntry {
            remote_id: Some(id),
            ..job.log(now, "published", note.clone())
        });
        let target = job.target.id;
        let change = move |p: &mut Post| {
            p.record_target_outcome(target, TargetState::Published, Some(note.clone()), now)
        };
        self.commit(job, Lease::Release, &log, Some(&change))
            .await?;
        // Fingerprints for duplicate detection; the post is live whatever happens here.
        let post = self.service().store.post(job.post).await?;
        if let Err(e) = self.service().record_published(&post, target).await {
            tracing::warn!(code = e.code(), error = %e, "could not fingerprint a published post");
        }
        Ok(Outcome::Published)
    }

    /// A failure with a known outcome: retry later, wait for a reconnect, or give up.
    async fn fail_or_retry(
        &self,
        job: &mut Job,
        error: &PlatformError,
        ms: i64,
        mut log: Vec<LogEntry>,
    ) -> Result<Outcome> {
        let config = &self.inner.config;
        let now = self.service().now();
        let target = job.target.id;
        job.record.last_error = Some(error.to_string());
        let requeue = job.created_nothing();
        let requeue_change = move |p: &mut Post| p.requeue_target(target, now).map(|()| vec![]);
        match error.class() {
            ErrorClass::Retryable | ErrorClass::RateLimited
                if job.record.retries < i32::try_from(config.max_retries).unwrap_or(i32::MAX) =>
            {
                job.record.retries += 1;
                let delay = backoff(
                    job.record.retries - 1,
                    config.retry_base(),
                    config.retry_max(),
                    error.retry_after(),
                );
                let at = after(now, delay);
                job.record.next_attempt_at = Some(at);
                log.push(LogEntry {
                    message: format!(
                        "{error}; try {} of {} at {at}",
                        job.record.retries, config.max_retries
                    ),
                    ..job.error_log(now, "retry", error, ms)
                });
                let change: Option<Change<'_>> = requeue.then_some(&requeue_change);
                self.commit(job, Lease::Release, &log, change).await?;
                Ok(Outcome::Retrying)
            }
            ErrorClass::Auth => {
                // The account must be reconnected; the target waits for it (or for a person to cancel).
                job.record.next_attempt_at = Some(after(now, config.retry_max()));
                log.push(job.error_log(now, "auth", error, ms));
                let change: Option<Change<'_>> = requeue.then_some(&requeue_change);
                self.commit(job, Lease::Release, &log, change).await?;
                if !job.account.sandbox
                    && let Err(e) = self
                        .service()
                        .mark_needs_reconnect(job.account.id, &error.to_string())
                        .await
                {
                    tracing::warn!(code = e.code(), error = %e, "could not flag the account");
                }
                Ok(Outcome::Waiting)
            }
            _ if job.progress.post_requested() => {
                // The post was asked for and we cannot tell what became of it: a person decides.
                self.needs_attention(job, &error.to_string(), log).await
            }
            _ => {
                job.record.next_attempt_at = None;
                let message = error.to_string();
                log.push(job.error_log(now, "failed", error, ms));
                let change = move |p: &mut Post| {
                    p.record_target_outcome(target, TargetState::Failed, Some(message.clone()), now)
                };
                self.commit(job, Lease::Release, &log, Some(&change))
                    .await?;
                Ok(Outcome::Failed)
            }
        }
    }

    async fn needs_attention(
        &self,
        job: &mut Job,
        evidence: &str,
        mut log: Vec<LogEntry>,
    ) -> Result<Outcome> {
        let now = self.service().now();
        let target = job.target.id;
        job.record.next_attempt_at = None;
        let ids = job.progress.remote_ids().join(", ");
        let note = format!(
            "outcome unknown after {} tries ({evidence}); remote ids: [{ids}]; check the account, then resolve it",
            job.record.retries
        );
        log.push(job.log(now, "needs-attention", note.clone()));
        let change = move |p: &mut Post| {
            p.record_target_outcome(target, TargetState::NeedsAttention, Some(note.clone()), now)
        };
        self.commit(job, Lease::Release, &log, Some(&change))
            .await?;
        Ok(Outcome::NeedsAttention)
    }

    /// After an unknown outcome: ask about what was recorded, then read the account back; only a
    /// read-back that proves the post absent lets the publish go on, and only a platform that said the
    /// recorded attempt failed lets it ask for the post again.
    async fn reconcile(&self, job: &mut Job, token: SecretString) -> Result<Outcome> {
        let config = &self.inner.config;
        let now = self.service().now();
        let mut evidence = Vec::new();
        let mut failed_by_status = false;
        if !job.progress.remote_ids().is_empty() {
            match job.publisher.status(&token, &job.progress).await {
                Ok(RemoteStatus::Published(published)) => {
                    return self
                        .settle_published(
                            job,
                            published,
                            "found by its status after an unknown outcome",
                            vec![],
                        )
                        .await;
                }
                Ok(RemoteStatus::Processing) => {
                    // It exists and is on its way: keep polling what we have, never create again.
                    job.record.unknown_since = None;
                    let log = job.log(
                        now,
                        "reconciled",
                        "the recorded publish is still processing",
                    );
                    self.commit(job, self.lease(), &[log], None).await?;
                    return self.drive(job, token).await;
                }
                Ok(RemoteStatus::Failed { reason, .. }) => {
                    failed_by_status = true;
                    evidence.push(format!("status: failed ({reason})"));
                }
                Ok(_) => evidence.push("status: nothing started".to_owned()),
                Err(e) => evidence.push(format!("status unavailable: {e}")),
            }
        }
        let since = job.record.first_attempt_at.unwrap_or(now) - chrono::Duration::minutes(10);
        let found = job.publisher.reconcile(&token, &job.request, since).await;
        let settled = self.settle_after(job, job.record.unknown_since.unwrap_or(now));
        let must_wait = match &found {
            Ok(Some(_)) => false,
            // A post was asked for and its fate is unknown: absence in a listing proves nothing yet.
            Ok(None) => !failed_by_status && job.progress.post_requested(),
            Err(_) => true,
        };
        match found {
            Ok(Some(published)) => {
                self.settle_published(job, published, "found on the account by read-back", vec![])
                    .await
            }
            Ok(None)
                if !must_wait
                    && (failed_by_status
                        || job.target.platform != Platform::Tiktok
                        || now >= settled) =>
            {
                // Proven absent: the publish goes on from what was recorded (valid containers are reused).
                job.record.unknown_since = None;
                let log = job.log(
                    now,
                    "reconciled",
                    format!(
                        "read-back: not posted ({}); continuing",
                        evidence.join("; ")
                    ),
                );
                self.commit(job, self.lease(), &[log], None).await?;
                if failed_by_status {
                    // The platform said the recorded attempt failed: that step starts afresh.
                    job.save_progress(PublishProgress::start(adapter_platform(
                        job.target.platform,
                    )));
                }
                self.drive(job, token).await
            }
            Ok(None) if !must_wait => {
                job.record.next_attempt_at = Some(settled);
                let log = job.log(
                    now,
                    "reconciling",
                    format!(
                        "not listed yet ({}); TikTok lists a post once processed, looking again at {settled}",
                        evidence.join("; ")
                    ),
                );
                self.commit(job, Lease::Release, &[log], None).await?;
                Ok(Outcome::Waiting)
            }
            other => {
                let why = match other {
                    Err(e) => format!("read-back failed: {e}"),
                    _ => format!(
                        "the post was asked for and is not listed ({})",
                        evidence.join("; ")
                    ),
                };
                job.record.retries += 1;
                if job.record.retries > i32::try_from(config.max_retries).unwrap_or(i32::MAX) {
                    return self.needs_attention(job, &why, vec![]).await;
                }
                let delay = backoff(
                    job.record.retries - 1,
                    config.retry_base(),
                    config.retry_max(),
                    None,
                );
                let at = after(now, delay);
                job.record.next_attempt_at = Some(at);
                let log = job.log(now, "reconciling", format!("{why}; looking again at {at}"));
                self.commit(job, Lease::Release, &[log], None).await?;
                Ok(Outcome::Waiting)
            }
        }
    }
}
