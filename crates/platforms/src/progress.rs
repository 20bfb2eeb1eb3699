//! The resumable publish state machine: a serializable record of every remote id obtained so far.
//!
//! None of the platforms accept an idempotency key, so the only protection against a duplicate post is to
//! persist each remote id the moment it exists and to resume from it. [`crate::Publisher::advance`] makes at
//! most one creating call per step and hands back the new [`PublishProgress`] at once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Platform, PlatformError, Published};

/// Everything a publish has created remotely so far, per platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "platform", rename_all = "lowercase")]
pub enum PublishProgress {
    /// A TikTok photo post.
    Tiktok(TiktokProgress),
    /// An Instagram image or carousel.
    Instagram(InstagramProgress),
    /// A Facebook Page photo or multi-photo post.
    Facebook(FacebookProgress),
}

impl PublishProgress {
    /// A fresh progress for a platform: nothing created yet.
    pub fn start(platform: Platform) -> Self {
        match platform {
            Platform::Tiktok => Self::Tiktok(TiktokProgress::default()),
            Platform::Instagram => Self::Instagram(InstagramProgress::default()),
            Platform::Facebook => Self::Facebook(FacebookProgress::default()),
        }
    }

    /// Which platform this progress belongs to.
    pub fn platform(&self) -> Platform {
        match self {
            Self::Tiktok(_) => Platform::Tiktok,
            Self::Instagram(_) => Platform::Instagram,
            Self::Facebook(_) => Platform::Facebook,
        }
    }

    /// Every remote id obtained so far, current and abandoned, for the publish ledger and support.
    pub fn remote_ids(&self) -> Vec<String> {
        match self {
            Self::Tiktok(p) => p
                .failed_publish_ids
                .iter()
                .chain(p.publish_id.iter())
                .cloned()
                .collect(),
            Self::Instagram(p) => p
                .abandoned
                .iter()
                .cloned()
                .chain(p.items.iter().map(|c| c.id.clone()))
                .chain(p.carousel.iter().map(|c| c.id.clone()))
                .chain(p.media_id.iter().cloned())
                .collect(),
            Self::Facebook(p) => p
                .abandoned
                .iter()
                .cloned()
                .chain(p.photos.iter().map(|ph| ph.id.clone()))
                .chain(p.post_id.iter().cloned())
                .collect(),
        }
    }

    /// Whether anything that may become a visible post was already requested.
    pub fn post_requested(&self) -> bool {
        match self {
            Self::Tiktok(p) => p.publish_id.is_some(),
            Self::Instagram(p) => p.media_id.is_some(),
            Self::Facebook(p) => p.post_id.is_some(),
        }
    }
}

/// TikTok: the `publish_id` returned by `content/init`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TiktokProgress {
    /// The current attempt's `publish_id`.
    pub publish_id: Option<String>,
    /// The creator's handle from `creator_info`, used to build the permalink.
    pub creator_username: Option<String>,
    /// Earlier attempts that ended `FAILED`.
    #[serde(default)]
    pub failed_publish_ids: Vec<String>,
}

/// An Instagram container the adapter created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    /// The container id.
    pub id: String,
    /// When it was created (containers expire after 24 h).
    pub created_at: DateTime<Utc>,
    /// Whether its `status_code` was seen `FINISHED`.
    #[serde(default)]
    pub finished: bool,
}

/// Instagram: item containers, the carousel container, then the media id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstagramProgress {
    /// One container per image, in order (a single image post has exactly one, with the caption).
    #[serde(default)]
    pub items: Vec<Container>,
    /// The carousel container (two images or more).
    pub carousel: Option<Container>,
    /// The published media id from `media_publish`.
    pub media_id: Option<String>,
    /// Containers given up on (expired or failed); kept for troubleshooting.
    #[serde(default)]
    pub abandoned: Vec<String>,
}

/// A Facebook photo uploaded with `published=false`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedPhoto {
    /// The photo id.
    pub id: String,
    /// When it was uploaded (unpublished photos are deleted after about 24 h).
    pub uploaded_at: DateTime<Utc>,
}

/// Facebook: unpublished photo ids, then the post id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacebookProgress {
    /// Unpublished photos for a multi-photo post, in order.
    #[serde(default)]
    pub photos: Vec<UploadedPhoto>,
    /// The post id (`{page_id}_{post_id}`), once created.
    pub post_id: Option<String>,
    /// Photos given up on because they were too old to attach.
    #[serde(default)]
    pub abandoned: Vec<String>,
}

/// What to do after a step.
#[derive(Debug)]
#[non_exhaustive]
pub enum Next {
    /// Call `advance` again now.
    Continue,
    /// The platform is processing; call `advance` again after this delay.
    PollAfter(Duration),
    /// The post is live.
    Done(Published),
    /// The platform ended this attempt. The returned progress has been reset so that advancing again
    /// starts a new attempt, which is safe because the failed one did not post. Whether to do so
    /// depends on the error's class.
    Failed(PlatformError),
}

/// The outcome of one step: the progress to persist before anything else, and what to do next.
#[derive(Debug)]
pub struct Step {
    /// The progress after this step; persist it before acting on `next`.
    pub progress: PublishProgress,
    /// What to do next.
    pub next: Next,
}

impl Step {
    pub(crate) fn new(progress: PublishProgress, next: Next) -> Self {
        Self { progress, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_round_trips_through_json_with_every_remote_id() {
        let progress = PublishProgress::Instagram(InstagramProgress {
            items: vec![Container {
                id: "11".into(),
                created_at: Utc::now(),
                finished: true,
            }],
            carousel: None,
            media_id: Some("17920238422030506".into()),
            abandoned: vec!["10".into()],
        });
        let text = serde_json::to_string(&progress).expect("serializes");
        assert!(text.contains(r#""platform":"instagram""#), "{text}");
        let back: PublishProgress = serde_json::from_str(&text).expect("deserializes");
        assert_eq!(back, progress);
        assert_eq!(back.remote_ids(), vec!["10", "11", "17920238422030506"]);
        assert!(back.post_requested());
        let fresh: PublishProgress =
            serde_json::from_str(r#"{"platform":"tiktok","publish_id":null}"#)
                .expect("old rows load");
        assert_eq!(fresh, PublishProgress::start(Platform::Tiktok));
    }
}
