//! Plain request and result types the adapters speak; the domain maps its own types onto these.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A publishing platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// TikTok Content Posting API (photo carousels).
    Tiktok,
    /// Instagram professional accounts (Instagram Login or Facebook Login).
    Instagram,
    /// Facebook Pages.
    Facebook,
}

impl Platform {
    /// The lowercase name used in config files and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tiktok => "tiktok",
            Self::Instagram => "instagram",
            Self::Facebook => "facebook",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// TikTok's post visibility; it must be one of the creator's `privacy_level_options`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PrivacyLevel {
    /// Everyone (public accounts only).
    PublicToEveryone,
    /// Friends who follow each other.
    MutualFollowFriends,
    /// Followers (private accounts only).
    FollowerOfCreator,
    /// Only the creator; the only choice for unaudited apps.
    SelfOnly,
}

impl PrivacyLevel {
    /// The wire value, e.g. `SELF_ONLY`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PublicToEveryone => "PUBLIC_TO_EVERYONE",
            Self::MutualFollowFriends => "MUTUAL_FOLLOW_FRIENDS",
            Self::FollowerOfCreator => "FOLLOWER_OF_CREATOR",
            Self::SelfOnly => "SELF_ONLY",
        }
    }

    /// Parse a wire value; unknown values give `None`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "PUBLIC_TO_EVERYONE" => Some(Self::PublicToEveryone),
            "MUTUAL_FOLLOW_FRIENDS" => Some(Self::MutualFollowFriends),
            "FOLLOWER_OF_CREATOR" => Some(Self::FollowerOfCreator),
            "SELF_ONLY" => Some(Self::SelfOnly),
            _ => None,
        }
    }
}

/// TikTok's interaction and commercial-content switches (all off unless the user turned them on).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishToggles {
    /// Turn comments off.
    pub disable_comment: bool,
    /// Let TikTok add recommended music.
    pub auto_add_music: bool,
    /// Paid partnership promoting a third party.
    pub brand_content: bool,
    /// Promotes the creator's own business.
    pub brand_organic: bool,
}

/// One post to publish to one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishRequest {
    /// The platform-side account id: Instagram user id, Facebook Page id, TikTok `open_id` (informational).
    pub account_id: String,
    /// Title (TikTok only, at most 90 UTF-16 units).
    pub title: Option<String>,
    /// The caption / description, hashtags included.
    pub caption: String,
    /// Public image URLs, in carousel order.
    pub image_urls: Vec<String>,
    /// TikTok visibility; required for TikTok, no default.
    pub privacy_level: Option<PrivacyLevel>,
    /// TikTok interaction and brand switches.
    pub toggles: PublishToggles,
    /// Label the post as AI-generated (TikTok `is_aigc`).
    pub is_aigc: bool,
    /// Index of the cover image (TikTok `photo_cover_index`).
    pub cover_index: usize,
}

/// The platform's identity of a published post.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// The platform's post id, kept as text (TikTok ids exceed 2^53). TikTok leaves it empty for
    /// private posts and until moderation makes the post public.
    pub post_id: Option<String>,
    /// A link to the post, when the platform gives one.
    pub permalink: Option<String>,
}

/// Where a publish stands, read without changing anything.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RemoteStatus {
    /// Nothing that could become a post has been created yet.
    NotStarted,
    /// The platform is still processing.
    Processing,
    /// The post is live.
    Published(Published),
    /// The platform gave up on this attempt.
    Failed {
        /// Whether a new attempt may succeed.
        class: crate::ErrorClass,
        /// The platform's reason, e.g. `picture_size_check_failed`.
        reason: String,
    },
}

/// A post the account recently published, read back for reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentPost {
    /// The platform's post id, as text.
    pub id: String,
    /// Title, when the platform has one.
    pub title: Option<String>,
    /// Caption or description.
    pub caption: Option<String>,
    /// A link to the post.
    pub permalink: Option<String>,
    /// When it was created.
    pub created_at: Option<DateTime<Utc>>,
}

/// Who a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// The platform-side id (TikTok `open_id`, Instagram user id, Page id).
    pub id: String,
    /// The handle, when there is one.
    pub username: Option<String>,
    /// The display name.
    pub display_name: Option<String>,
    /// Avatar URL (short-lived on TikTok).
    pub avatar_url: Option<String>,
}

/// A platform-enforced publishing quota, read at runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishingQuota {
    /// Posts counted in the current window.
    pub usage: u32,
    /// Posts allowed per window.
    pub total: u32,
    /// The moving window.
    pub window: Duration,
}

impl PublishingQuota {
    /// Posts still allowed in the current window.
    pub fn remaining(&self) -> u32 {
        self.total.saturating_sub(self.usage)
    }
}
