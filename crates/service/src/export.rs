//! Export for troubleshooting and compliance: one post, or every post, with its reviews, targets (platform
//! ids, permalinks, states), publish attempts, media (key, public URL, SHA-256, size, origin), the
//! accounts it went to and its audit events, as one JSON bundle described by `docs/export.schema.json`.
//!
//! The bundle's types hold no secret by construction: accounts carry their names and status, never a
//! credential; audit notes never hold one either.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use chrono::{DateTime, Utc};
use natronfx_store::{AuditFilter, LogEntry, PostFilter, StoredAuditEvent};
use natronfx_workflow::{
    AccountId, Action, AuditAction, AuditEvent, MediaId, Post, PostId, User, authorize,
};
use serde::Serialize;

use crate::{Result, Service};

/// The version of the bundle's layout; it changes when a field changes meaning or goes.
pub const EXPORT_SCHEMA_VERSION: u32 = 1;

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportScope {
    /// One post and the audit events about it.
    Post(PostId),
    /// Every post and the whole audit log.
    All,
}

/// The bundle.
#[derive(Debug, Clone, Serialize)]
pub struct ExportBundle {
    /// [`EXPORT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// When it was made.
    pub exported_at: DateTime<Utc>,
    /// Who made it.
    pub exported_by: String,
    /// `post` or `all`.
    pub scope: String,
    /// The posts, newest change first.
    pub posts: Vec<ExportPost>,
    /// Every media row a slide of those posts shows.
    pub media: Vec<ExportMedia>,
    /// Every account a target of those posts goes to.
    pub accounts: Vec<ExportAccount>,
    /// The audit events: about the post (one post), or the whole log (all), oldest first.
    pub audit_events: Vec<ExportAuditEvent>,
}

/// One post.
#[derive(Debug, Clone, Serialize)]
pub struct ExportPost {
    /// Id.
    pub id: PostId,
    /// Title.
    pub title: String,
    /// Caption.
    pub caption: String,
    /// Extra hashtags, without `#`.
    pub extra_hashtags: Vec<String>,
    /// Workflow state.
    pub state: String,
    /// Author's user id.
    pub author: String,
    /// Row version.
    pub version: i64,
    /// Content version (reviews refer to it).
    pub content_version: u32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Slides in order.
    pub slides: Vec<ExportSlide>,
    /// Reviews, oldest first.
    pub reviews: Vec<ExportReview>,
    /// Targets with their ledgers.
    pub targets: Vec<ExportTarget>,
    /// Every step of every publish attempt, oldest first.
    pub publish_attempts: Vec<ExportAttempt>,
}

/// One slide.
#[derive(Debug, Clone, Serialize)]
pub struct ExportSlide {
    /// From 1.
    pub position: usize,
    /// The media row.
    pub media_id: MediaId,
    /// Alt text.
    pub alt_text: String,
}

/// One review decision.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReview {
    /// Id.
    pub id: String,
    /// Reviewer's user id.
    pub reviewer: String,
    /// `approve`, `request_changes` or `reject`.
    pub decision: String,
    /// Their comment.
    pub comment: Option<String>,
    /// The content version decided on.
    pub content_version: u32,
    /// When.
    pub at: DateTime<Utc>,
}

/// One target with its publish ledger.
#[derive(Debug, Clone, Serialize)]
pub struct ExportTarget {
    /// Id.
    pub id: String,
    /// Platform.
    pub platform: String,
    /// The account.
    pub account_id: AccountId,
    /// State.
    pub state: String,
    /// When it is (or was) due.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// Its own caption, when it has one.
    pub caption_override: Option<String>,
    /// The platform's id of the live post.
    pub platform_post_id: Option<String>,
    /// Link to it.
    pub permalink: Option<String>,
    /// When the platform confirmed it.
    pub published_at: Option<DateTime<Utc>>,
    /// The last error, in words (cleared by retention after a while).
    pub last_error: Option<String>,
    /// Failed tries.
    pub retries: i32,
}

/// One step of a publish attempt.
#[derive(Debug, Clone, Serialize)]
pub struct ExportAttempt {
    /// The target.
    pub target_id: String,
    /// The attempt number (fencing token).
    pub attempt: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: String,
    /// In words.
    pub message: String,
    /// A remote id obtained or looked at.
    pub remote_id: Option<String>,
    /// The platform's HTTP status.
    pub http_status: Option<i32>,
    /// The failure's class.
    pub error_class: Option<String>,
    /// The platform's error code.
    pub error_code: Option<String>,
    /// The platform's trace id.
    pub trace_id: Option<String>,
    /// How long the call took.
    pub duration_ms: Option<i64>,
}

impl From<LogEntry> for ExportAttempt {
    fn from(e: LogEntry) -> Self {
        ExportAttempt {
            target_id: e.target.to_string(),
            attempt: e.attempt,
            at: e.at,
            kind: e.kind,
            message: e.message,
            remote_id: e.remote_id,
            http_status: e.http_status,
            error_class: e.error_class,
            error_code: e.error_code,
            trace_id: e.trace_id,
            duration_ms: e.duration_ms,
        }
    }
}

/// One stored image.
#[derive(Debug, Clone, Serialize)]
pub struct ExportMedia {
    /// Id.
    pub id: MediaId,
    /// Content-addressed key.
    pub key: String,
    /// The URL the platforms pulled it from.
    pub public_url: Option<String>,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// Size.
    pub bytes: i64,
    /// Width in pixels.
    pub width: i32,
    /// Height in pixels.
    pub height: i32,
    /// `jpeg`, `png` or `webp`.
    pub format: String,
    /// `upload`, `rendered` or `generated`.
    pub source: String,
    /// Stored.
    pub created_at: DateTime<Utc>,
    /// Whether retention deleted the file (the row and its hash stay).
    pub purged: bool,
}

/// An account a target goes to: never its credentials.
#[derive(Debug, Clone, Serialize)]
pub struct ExportAccount {
    /// Id.
    pub id: AccountId,
    /// Platform.
    pub platform: String,
    /// The platform's id of the account.
    pub external_id: String,
    /// Its name.
    pub display_name: String,
    /// `connected`, `needs_reconnect` or `disconnected`.
    pub status: String,
    /// A sandbox account (publishes to the simulator).
    pub sandbox: bool,
}

/// One audit event with its place in the log.
#[derive(Debug, Clone, Serialize)]
pub struct ExportAuditEvent {
    /// Position in the log.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (`None`: the system).
    pub actor: Option<String>,
    /// What.
    pub action: String,
    /// The kind of record.
    pub subject_kind: String,
    /// The record.
    pub subject_id: String,
    /// State before.
    pub from_state: Option<String>,
    /// State after.
    pub to_state: Option<String>,
    /// A note for people.
    pub note: Option<String>,
}

impl From<StoredAuditEvent> for ExportAuditEvent {
    fn from(s: StoredAuditEvent) -> Self {
        let e = s.event;
        ExportAuditEvent {
            seq: s.seq,
            at: e.at,
            actor: e.actor.map(|a| a.to_string()),
            action: e.action.to_string(),
            subject_kind: e.subject_kind,
            subject_id: e.subject_id,
            from_state: e.from_state,
            to_state: e.to_state,
            note: e.note,
        }
    }
}

impl Service {
    /// Exports a post (or every post) with everything needed to troubleshoot or account for it (admins).
    /// The export itself is recorded in the audit log (`data-exported`) before the bundle is returned.
    pub async fn export(&self, actor: &User, scope: ExportScope) -> Result<ExportBundle> {
        authorize(actor, Action::ManageData, None)?;
        let posts = match scope {
            ExportScope::Post(id) => vec![self.store.post(id).await?],
            ExportScope::All => self.every_post().await?,
        };
        let now = self.now();
        let (subject, note) = match scope {
            ExportScope::Post(id) => (id.to_string(), "one post with its audit events".to_owned()),
            ExportScope::All => (
                "all".to_owned(),
                format!("{} posts and the whole audit log", posts.len()),
            ),
        };
        let event = AuditEvent::new(
            now,
            Some(actor.id),
            AuditAction::DataExported,
            "export",
            subject,
        )
        .with_note(Some(note));
        self.store.append_audit(&[event]).await?;

        let mut media: BTreeMap<MediaId, ExportMedia> = BTreeMap::new();
        let mut accounts: BTreeMap<AccountId, ExportAccount> = BTreeMap::new();
        let mut out = Vec::with_capacity(posts.len());
        for post in &posts {
            for slide in &post.slides {
                if let Entry::Vacant(entry) = media.entry(slide.media_id) {
                    entry.insert(self.export_media(slide.media_id).await?);
                }
            }
            for target in &post.targets {
                if let Entry::Vacant(entry) = accounts.entry(target.account_id) {
                    let a = self.store.account(target.account_id).await?;
                    entry.insert(ExportAccount {
                        id: a.id,
                        platform: a.platform.as_str().to_owned(),
                        external_id: a.external_id,
                        display_name: a.display_name,
                        status: a.status.as_str().to_owned(),
                        sandbox: a.sandbox,
                    });
                }
            }
            out.push(self.export_post(post).await?);
        }
        let audit_events = match scope {
            ExportScope::Post(id) => self.store.audit_for("post", &id.to_string()).await?,
            ExportScope::All => self.whole_audit_log().await?,
        };
        Ok(ExportBundle {
            schema_version: EXPORT_SCHEMA_VERSION,
            exported_at: now,
            exported_by: actor.id.to_string(),
            scope: match scope {
                ExportScope::Post(_) => "post".into(),
                ExportScope::All => "all".into(),
            },
            posts: out,
            media: media.into_values().collect(),
            accounts: accounts.into_values().collect(),
            audit_events: audit_events
                .into_iter()
                .map(ExportAuditEvent::from)
                .collect(),
        })
    }

    async fn every_post(&self) -> Result<Vec<Post>> {
        let mut filter = PostFilter {
            limit: 500,
            ..Default::default()
        };
        let mut posts = Vec::new();
        loop {
            let page = self.store.list_posts(&filter).await?;
            let Some(last) = page.last() else { break };
            filter.after = Some(natronfx_store::PostCursor {
                updated_at: last.updated_at,
                id: last.id,
            });
            for summary in &page {
                posts.push(self.store.post(summary.id).await?);
            }
        }
        Ok(posts)
    }

    /// Every audit event, oldest first, read in pages.
    async fn whole_audit_log(&self) -> Result<Vec<StoredAuditEvent>> {
        let mut filter = AuditFilter {
            limit: 1000,
            ..Default::default()
        };
        let mut events = Vec::new();
        loop {
            let page = self.store.search_audit(&filter).await?;
            let Some(last) = page.last() else { break };
            filter.before_seq = Some(last.seq);
            events.extend(page);
        }
        events.reverse();
        Ok(events)
    }

    async fn export_media(&self, id: MediaId) -> Result<ExportMedia> {
        let m = self.store.media(id).await?;
        let purged = self
            .store
            .media_purged(&[id])
            .await?
            .first()
            .copied()
            .unwrap_or(false);
        let public_url = match (&self.media, natronfx_media::MediaKey::parse(&m.key)) {
            (Some(store), Ok(key)) => Some(match store.resolve_public_url(&key).await {
                Ok(url) => url,
                Err(_) => store.public_url(&key),
            }),
            _ => None,
        };
        Ok(ExportMedia {
            id: m.id,
            key: m.key,
            public_url,
            sha256: m.sha256,
            bytes: m.bytes,
            width: m.width,
            height: m.height,
            format: m.format,
            source: m.source.as_str().to_owned(),
            created_at: m.created_at,
            purged,
        })
    }

    async fn export_post(&self, post: &Post) -> Result<ExportPost> {
        let mut targets = Vec::with_capacity(post.targets.len());
        for t in &post.targets {
            let record = self.store.dispatch_record(t.id).await?;
            targets.push(ExportTarget {
                id: t.id.to_string(),
                platform: t.platform.as_str().to_owned(),
                account_id: t.account_id,
                state: t.state.as_str().to_owned(),
                scheduled_at: t.scheduled_at.map(|s| s.instant()),
                caption_override: t.caption_override.as_ref().map(|c| c.as_str().to_owned()),
                platform_post_id: record.published_post_id,
                permalink: record.permalink,
                published_at: record.published_at,
                last_error: record.last_error,
                retries: record.retries,
            });
        }
        Ok(ExportPost {
            id: post.id,
            title: post.title.as_str().to_owned(),
            caption: post.caption.as_str().to_owned(),
            extra_hashtags: post
                .extra_hashtags
                .iter()
                .map(|h| h.as_str().to_owned())
                .collect(),
            state: post.state().as_str().to_owned(),
            author: post.author().to_string(),
            version: post.version,
            content_version: post.content_version,
            created_at: post.created_at,
            updated_at: post.updated_at,
            slides: post
                .slides
                .iter()
                .enumerate()
                .map(|(i, s)| ExportSlide {
                    position: i + 1,
                    media_id: s.media_id,
                    alt_text: s.alt_text.as_str().to_owned(),
                })
                .collect(),
            reviews: post
                .reviews
                .iter()
                .map(|r| ExportReview {
                    id: r.id.to_string(),
                    reviewer: r.reviewer.to_string(),
                    decision: r.decision.as_str().to_owned(),
                    comment: r.comment.clone(),
                    content_version: r.content_version,
                    at: r.at,
                })
                .collect(),
            targets,
            publish_attempts: self
                .store
                .publish_log(post.id)
                .await?
                .into_iter()
                .map(ExportAttempt::from)
                .collect(),
        })
    }
}
