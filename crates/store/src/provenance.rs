//! Where generated images came from, and what the store knows was published: the records behind AI labels
//! and behind rebuilding the duplicate-detection history.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use natronfx_workflow::{AccountId, AuditEvent, MediaId, Platform, PostId, TargetId, UserId};

use crate::{MediaRecord, Result};

/// How one image came to be: made by an image model, or derived from an image that was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaProvenance {
    /// Identity.
    pub id: uuid::Uuid,
    /// The image it describes (the store sets it to the stored row's id on insert).
    pub media_id: MediaId,
    /// For a derived image (a fitted slide, a variant, a slide rendered over it): the generated original.
    pub derived_from: Option<MediaId>,
    /// Which service made the original, e.g. `openai-images`.
    pub generator: String,
    /// The model, e.g. `gpt-image-1`.
    pub model: String,
    /// The prompt as sent.
    pub prompt: String,
    /// The size the model made, e.g. `1024x1536`.
    pub size: String,
    /// The quality it resolved, when it said.
    pub quality: Option<String>,
    /// The background it used, when it said.
    pub background: Option<String>,
    /// The usage the service reported for the request (a JSON object; `{}` when none).
    pub usage: serde_json::Value,
    /// Who asked.
    pub requested_by: Option<UserId>,
    /// When.
    pub requested_at: DateTime<Utc>,
}

/// A target the store knows was published: the unit the duplicate history is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedTarget {
    /// The post.
    pub post_id: PostId,
    /// The target.
    pub target_id: TargetId,
    /// The account it went to.
    pub account_id: AccountId,
    /// The account's platform.
    pub platform: Platform,
    /// The instant it was scheduled for (the best record of when it went out until publish times are
    /// recorded per attempt).
    pub scheduled_at: Option<DateTime<Utc>>,
    /// The post's last change.
    pub post_updated_at: DateTime<Utc>,
}

/// Generated media with provenance, and the published targets to rebuild fingerprints from.
#[async_trait]
pub trait ProvenanceStore: Send + Sync {
    /// Adds media rows with their provenance and audit events in one transaction. Each media row is
    /// inserted as [`MediaRecordStore::insert_media`](crate::MediaRecordStore::insert_media) does (the
    /// same key twice keeps the existing row) and its provenance points at the resulting id; a
    /// `derived_from` naming an earlier item's record id points at the id that item's row has. Returns the
    /// media ids in order.
    async fn insert_media_with_provenance(
        &self,
        items: &[(MediaRecord, MediaProvenance)],
        events: &[AuditEvent],
    ) -> Result<Vec<MediaId>>;
    /// Every provenance record of one image, newest first (the same bytes may have been generated twice).
    async fn provenance_of(&self, media: MediaId) -> Result<Vec<MediaProvenance>>;
    /// The id of the media row stored under `key`, if any.
    async fn media_id_by_key(&self, key: &str) -> Result<Option<MediaId>>;
    /// Which of `media` are AI-generated: stored with source `generated`, or with any provenance record.
    async fn generated_among(&self, media: &[MediaId]) -> Result<Vec<MediaId>>;
    /// Targets in state `published`, by post then target id, after `after` (a `(post, target)` position
    /// from the previous page), at most `limit`.
    async fn published_targets(
        &self,
        after: Option<(PostId, TargetId)>,
        limit: u32,
    ) -> Result<Vec<PublishedTarget>>;
    /// How many targets are in state `published`.
    async fn count_published_targets(&self) -> Result<i64>;
}
