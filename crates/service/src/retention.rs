//! The retention policy: how long each kind of record is kept (`[retention]`), and the run that deletes
//! what the policy no longer keeps, or with `dry_run` counts it and changes nothing.
//!
//! A run never deletes a record still in use: media of a post with a target waiting or in flight stay,
//! an archived post that went live stays (its targets are its accounts' history), the audit log loses only
//! its oldest events and keeps verifying (see `natronfx_store::RetentionStore::purge_audit`).

use chrono::{DateTime, Duration, Utc};
use natronfx_media::MediaKey;
use natronfx_store::{MediaCutoffs, Purged};
use natronfx_workflow::{Action, AuditAction, AuditEvent, User, authorize};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, Service};

/// How long each kind of record is kept, in days; `0` keeps that kind forever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Whether the server runs the policy daily and `natronfx retention run` may delete (a dry run
    /// always works).
    pub enabled: bool,
    /// Media files of a post whose every target is published (the platform confirmed the post), this
    /// many days after the last confirmation.
    pub published_media_days: u32,
    /// Media files of any other post with nothing waiting or in flight (drafts, posts in review, failed,
    /// archived), this many days after the post last changed.
    pub draft_media_days: u32,
    /// Media files no post uses (uploads never placed on a slide), this many days after they were stored.
    pub orphan_media_days: u32,
    /// Publish attempts (the publishing timeline) and the error excerpts on settled targets.
    pub publish_log_days: u32,
    /// Archived posts that never went live, this many days after they were archived.
    pub archived_post_days: u32,
    /// Sessions, this many days after they ended (signed out, idle or past their absolute end).
    pub session_days: u32,
    /// Login attempts (never less than the throttling window).
    pub login_attempt_days: u32,
    /// OAuth flows, this many days after they expired (a late replay is reported as a replay meanwhile).
    pub oauth_state_days: u32,
    /// Audit events: the longest, for compliance.
    pub audit_days: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            enabled: true,
            published_media_days: 90,
            draft_media_days: 180,
            orphan_media_days: 30,
            publish_log_days: 365,
            archived_post_days: 730,
            session_days: 1,
            login_attempt_days: 1,
            oauth_state_days: 1,
            audit_days: 2555,
        }
    }
}

/// One kind of record in a retention run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindReport {
    /// Which records: `media`, `publish-log`, `error-excerpts`, `archived-posts`, `fingerprints`,
    /// `sessions`, `login-attempts`, `oauth-states`, `audit-events`.
    pub kind: &'static str,
    /// How long the policy keeps them, in days (`None`: forever, nothing of this kind is deleted).
    pub keep_days: Option<u32>,
    /// How many were deleted (or would be).
    pub count: u64,
    /// Bytes freed, where known (media files, from their rows' sizes).
    pub bytes: Option<u64>,
    /// Files the media store failed to delete (they are kept and tried again on the next run).
    #[serde(skip_serializing_if = "is_zero")]
    pub failed: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What a retention run deleted, or with `dry_run` would delete, kind by kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    /// The instant the policy was applied at.
    pub at: DateTime<Utc>,
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// Each kind, in a fixed order.
    pub kinds: Vec<KindReport>,
}

/// Bytes as people read them: `0 B`, `512 B`, `1.5 KiB`, `12.0 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

impl RetentionReport {
    /// The report of one kind.
    pub fn kind(&self, kind: &str) -> Option<&KindReport> {
        self.kinds.iter().find(|k| k.kind == kind)
    }

    /// One line for the audit log: every kind with its count (and bytes).
    fn summary(&self) -> String {
        self.kinds
            .iter()
            .map(|k| match k.bytes {
                Some(b) if k.count > 0 => format!("{} {} ({b} bytes)", k.kind, k.count),
                _ => format!("{} {}", k.kind, k.count),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The instant before which records of a kind kept `days` go, or `None` when kept forever.
fn cutoff(now: DateTime<Utc>, days: u32) -> Option<DateTime<Utc>> {
    (days > 0).then(|| now - Duration::days(i64::from(days)))
}

fn kept(days: u32) -> Option<u32> {
    (days > 0).then_some(days)
}

impl Service {
    /// The same service applying `config` as its retention policy.
    pub fn with_retention(mut self, config: RetentionConfig) -> Self {
        self.retention = config;
        self
    }

    /// The retention policy in force.
    pub fn retention_config(&self) -> &RetentionConfig {
        &self.retention
    }

    /// Applies the retention policy at `now`: deletes (or with `dry_run` counts) every record it no
    /// longer keeps and reports each kind. `actor` is the admin who asked, or `None` for the server's
    /// daily run. A real run writes one `retention-purged` audit event with the counts, in the
    /// transaction that deletes old audit events (the daily run only when it deleted something, so an
    /// idle run leaves no trace); a dry run deletes and writes nothing. A real run is refused while
    /// `[retention] enabled` is false.
    pub async fn run_retention(
        &self,
        actor: Option<&User>,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<RetentionReport> {
        if let Some(actor) = actor {
            authorize(actor, Action::ManageData, None)?;
        }
        let policy = self.retention.clone();
        if !dry_run && !policy.enabled {
            return Err(Error::RetentionDisabled);
        }
        let apply = !dry_run;
        let row = |kind, days: u32, purged: Purged| KindReport {
            kind,
            keep_days: kept(days),
            count: purged.count,
            bytes: purged.bytes,
            failed: 0,
        };

        // Media first: deleting archived posts below would otherwise change which media are in use
        // between a dry run and a real one.
        let media = self.retention_media(&policy, now, apply).await?;

        let log_before = cutoff(now, policy.publish_log_days);
        let none = Purged::default();
        let publish_log = match log_before {
            Some(before) => self.store.purge_publish_log(before, apply).await?,
            None => none,
        };
        let excerpts = match log_before {
            Some(before) => self.store.clear_target_errors(before, apply).await?,
            None => none,
        };
        let window = self.quality.duplicates.window_days;
        let fingerprints = match cutoff(now, window) {
            Some(before) => self.store.purge_fingerprints(before, apply).await?,
            None => none,
        };
        let archived = match cutoff(now, policy.archived_post_days) {
            Some(before) => self.store.purge_archived_posts(before, apply).await?,
            None => none,
        };
        let sessions = match cutoff(now, policy.session_days) {
            Some(ended) => {
                let idle = Duration::minutes(i64::from(self.auth.session_idle_minutes));
                self.store
                    .purge_ended_sessions(ended, ended - idle, apply)
                    .await?
            }
            None => none,
        };
        let attempts = match cutoff(now, policy.login_attempt_days) {
            Some(before) => {
                let window = Duration::minutes(i64::from(self.auth.throttle_window_minutes));
                let before = before.min(now - window);
                self.store.purge_old_login_attempts(before, apply).await?
            }
            None => none,
        };
        let states = match cutoff(now, policy.oauth_state_days) {
            Some(before) => self.store.purge_expired_oauth_states(before, apply).await?,
            None => none,
        };
        if apply {
            // Rows of purged media that no post refers to any more (their posts were just deleted, or
            // they were never used) go with their provenance; their files went already.
            self.store.forget_purged_media().await?;
        }

        let audit_before = cutoff(now, policy.audit_days);
        let audit = match audit_before {
            Some(before) => self.store.purge_audit(before, None).await?,
            None => none,
        };
        let kinds = vec![
            media,
            row("publish-log", policy.publish_log_days, publish_log),
            row("error-excerpts", policy.publish_log_days, excerpts),
            row("archived-posts", policy.archived_post_days, archived),
            row("fingerprints", window, fingerprints),
            row("sessions", policy.session_days, sessions),
            row("login-attempts", policy.login_attempt_days, attempts),
            row("oauth-states", policy.oauth_state_days, states),
            row("audit-events", policy.audit_days, audit),
        ];
        let mut report = RetentionReport {
            at: now,
            dry_run,
            kinds,
        };
        // A scheduled run that found nothing leaves no trace; a person's run is always recorded.
        let idle = actor.is_none() && report.kinds.iter().all(|k| k.count == 0);
        if apply && !idle {
            let event = AuditEvent::new(
                now,
                actor.map(|a| a.id),
                AuditAction::RetentionPurged,
                "retention",
                now.format("%Y-%m-%d").to_string(),
            )
            .with_note(Some(format!("deleted {}", report.summary())));
            match audit_before {
                Some(before) => {
                    let deleted = self.store.purge_audit(before, Some(&event)).await?;
                    if let Some(k) = report.kinds.iter_mut().find(|k| k.kind == "audit-events") {
                        k.count = deleted.count;
                    }
                }
                None => self.store.append_audit(&[event]).await?,
            }
            tracing::info!(summary = %report.summary(), "retention run");
        }
        Ok(report)
    }

    /// Releases media files the policy no longer keeps and deletes them from the media store. A file the
    /// store fails to delete keeps its row unmarked, so the next run tries again.
    async fn retention_media(
        &self,
        policy: &RetentionConfig,
        now: DateTime<Utc>,
        apply: bool,
    ) -> Result<KindReport> {
        let cutoffs = MediaCutoffs {
            published_before: cutoff(now, policy.published_media_days),
            inactive_before: cutoff(now, policy.draft_media_days),
            orphan_before: cutoff(now, policy.orphan_media_days),
        };
        let keep = [
            policy.published_media_days,
            policy.draft_media_days,
            policy.orphan_media_days,
        ]
        .into_iter()
        .filter(|d| *d > 0)
        .min();
        let mut report = KindReport {
            kind: "media",
            keep_days: keep,
            count: 0,
            bytes: Some(0),
            failed: 0,
        };
        // Without a media store there are no files to delete.
        let Some(store) = self.media.as_ref() else {
            return Ok(report);
        };
        let released = self.store.release_media(&cutoffs, now, apply).await?;
        let mut failed = Vec::new();
        let mut bytes = 0u64;
        for media in released {
            if apply {
                let deleted = match MediaKey::parse(&media.key) {
                    Ok(key) => store.delete(&key).await.map_err(Error::from),
                    Err(e) => Err(Error::from(e)),
                };
                if let Err(e) = deleted {
                    tracing::warn!(media = %media.id, code = e.code(), error = %e,
                        "retention could not delete a media file; the next run tries again");
                    failed.push(media.id);
                    continue;
                }
            }
            report.count += 1;
            bytes += u64::try_from(media.bytes).unwrap_or(0);
        }
        if !failed.is_empty() {
            self.store.unmark_purged_media(&failed).await?;
        }
        report.bytes = Some(bytes);
        report.failed = failed.len() as u64;
        Ok(report)
    }

    /// Refuses with `media-purged` when a slide of the post shows media whose file retention deleted:
    /// such a post cannot go out again until those slides are replaced.
    pub(crate) async fn require_media_present(&self, post: &natronfx_workflow::Post) -> Result<()> {
        let ids: Vec<_> = post.slides.iter().map(|s| s.media_id).collect();
        let purged = self.store.media_purged(&ids).await?;
        let slides: Vec<usize> = purged
            .iter()
            .enumerate()
            .filter(|(_, p)| **p)
            .map(|(i, _)| i + 1)
            .collect();
        if slides.is_empty() {
            return Ok(());
        }
        Err(Error::MediaPurged {
            post: post.id,
            slides,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_as_people_count_them() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(400_000 * 3), "1.1 MiB");
    }
}
