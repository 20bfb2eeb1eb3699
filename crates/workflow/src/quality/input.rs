//! The facts a quality check reads, gathered beforehand by the caller (who does the I/O).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Hashtag;

/// The encoded format of a slide image, detected from its bytes by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlideFormat {
    /// JPEG: every platform takes it.
    Jpeg,
    /// PNG: Facebook only.
    Png,
    /// WebP: TikTok only.
    Webp,
}

impl SlideFormat {
    /// The lowercase name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            SlideFormat::Jpeg => "jpeg",
            SlideFormat::Png => "png",
            SlideFormat::Webp => "webp",
        }
    }
}

impl fmt::Display for SlideFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the caller measured of one slide image, in carousel order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlideFacts {
    /// Encoded format, from the file's magic bytes (never from its name).
    pub format: SlideFormat,
    /// Width in pixels, after EXIF orientation is applied (as the platform will show it).
    pub width: u32,
    /// Height in pixels, after EXIF orientation is applied.
    pub height: u32,
    /// Size of the file that would be sent, in bytes.
    pub bytes: u64,
    /// The slide's alt text; empty when it has none.
    pub alt_text: String,
    /// The public URL the platform would pull the image from, when it is already known. URL rules are
    /// skipped for a slide without one.
    pub public_url: Option<String>,
    /// What a request to `public_url` just answered, when the caller made one. Skipped when `None`.
    #[serde(default)]
    pub url_probe: Option<UrlProbe>,
}

/// What one real request to a slide's public URL answered (made by the caller with a short timeout and
/// redirects off, as the platforms fetch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum UrlProbe {
    /// An answer came back.
    Answered {
        /// HTTP status.
        status: u16,
        /// The `Content-Type` header, if any.
        content_type: Option<String>,
        /// The `Location` header of a redirect, if any.
        location: Option<String>,
    },
    /// No answer: connection refused, DNS failure, TLS error, or the timeout.
    Failed {
        /// What went wrong, in words.
        reason: String,
    },
}

/// What the person publishing to TikTok chose in the composer, and what TikTok offered them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TikTokChoices {
    /// The privacy level the person picked (`PUBLIC_TO_EVERYONE`, `MUTUAL_FOLLOW_FRIENDS`,
    /// `FOLLOWER_OF_CREATOR` or `SELF_ONLY`), or `None` when nothing was picked yet. TikTok's rules forbid
    /// a default, so `None` is never filled in for the person.
    pub privacy_level: Option<String>,
    /// The creator's `privacy_level_options` from the latest `creator_info` query, or `None` when it was
    /// not fetched (the choice is then checked again at publish time).
    pub creator_privacy_options: Option<Vec<String>>,
    /// The post is marked as branded content (a paid partnership for a third party).
    pub brand_content: bool,
}

/// The team's own rules and platform settings that a check needs, from configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QualityConfig {
    /// Words or phrases the team never publishes. Matched case-insensitively as whole words in the title,
    /// the caption, the hashtags and the alt texts; blank entries are ignored.
    pub banned_terms: Vec<String>,
    /// What the TikTok app has verified in the developer portal's "URL properties". An entry with a scheme
    /// (`https://media.example.com/p/`) is a URL prefix and matches exactly that prefix; an entry without
    /// one (`example.com`) is a verified domain and covers the domain and all its sub-domains.
    pub tiktok_verified_url_prefixes: Vec<String>,
    /// True once the TikTok app passed the Content Posting audit. Until then every post must be
    /// `SELF_ONLY`, so this defaults to `false`.
    pub tiktok_client_audited: bool,
    /// How content that was published before is reported.
    pub duplicates: DuplicatePolicy,
}

/// Which earlier posts count as "the same content again", and how loudly to say so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DuplicatePolicy {
    /// Report it as an error (blocking) instead of a warning.
    pub error: bool,
    /// Compare with posts to the same account only (`account`) or to any account (`all`).
    pub scope: String,
    /// How far back to look, in days.
    pub window_days: u32,
    /// Largest perceptual-hash distance (of 64 bits) at which two slides count as the same image.
    pub radius: u32,
}

impl Default for DuplicatePolicy {
    fn default() -> Self {
        DuplicatePolicy {
            error: false,
            scope: "account".into(),
            window_days: 365,
            radius: 8,
        }
    }
}

/// An earlier published post that looks like this one, found by the caller in the fingerprint history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarlierPost {
    /// The account it went to.
    pub account: String,
    /// When.
    pub published_at: DateTime<Utc>,
    /// This post's slides (0-based) that match one of its slides, with the smallest distance.
    pub slides: Vec<(usize, u32)>,
    /// How similar the captions are, in percent.
    pub caption_similarity: u8,
    /// The captions normalize to the same text and hashtags.
    pub same_caption: bool,
}

/// Everything the quality rules read about one post bound for one account.
///
/// The caller gathers it: the post's text, each slide's measured facts, the account's TikTok options and
/// Instagram quota. The rules themselves never do I/O or read the clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInput {
    /// The post's title (TikTok shows it as the photo title; the other platforms do not show it).
    pub title: String,
    /// The target's effective caption as written: its caption override, or else the post's caption.
    pub caption: String,
    /// The post's extra hashtags, given as a list; the publisher appends those not already in the caption
    /// (see [`published_caption`](super::published_caption)).
    pub hashtags: Vec<Hashtag>,
    /// The slides, in carousel order.
    pub slides: Vec<SlideFacts>,
    /// When the target is scheduled to go out, or `None` when it is not scheduled.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// The current instant, passed in because the rules never read the clock.
    pub now: DateTime<Utc>,
    /// The TikTok composer's choices; `None` when the target is not on TikTok or nothing was chosen yet.
    pub tiktok: Option<TikTokChoices>,
    /// Instagram posts already published or scheduled for this account in the rolling 24 hours around
    /// this post's time, not counting this post; `None` when unknown.
    pub instagram_scheduled_in_24h: Option<u32>,
    /// The account's Instagram publishing limit, read from `content_publishing_limit`'s
    /// `config.quota_total`; `None` when it was not read.
    pub instagram_quota_total: Option<u32>,
    /// The target account's state, when the caller read it (`None` skips the account rules).
    #[serde(default)]
    pub account: Option<AccountFacts>,
    /// Earlier posts within the duplicate policy's scope and window that look like this one.
    #[serde(default)]
    pub earlier_posts: Vec<EarlierPost>,
    /// The team's rules and platform settings.
    pub rules: QualityConfig,
}

/// What the caller knows of the target account's connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountFacts {
    /// The account's name, for messages.
    pub name: String,
    /// Whether it can be published to.
    pub status: crate::AccountStatus,
    /// When the stored access token stops working, if known.
    pub access_expires_at: Option<DateTime<Utc>>,
    /// True when a refresh token is stored, so an expiring access token can be renewed before use.
    pub refreshable: bool,
}

impl CheckInput {
    /// An input with the given text and slides, checked at `now`, and nothing else known.
    pub fn new(
        title: impl Into<String>,
        caption: impl Into<String>,
        slides: Vec<SlideFacts>,
        now: DateTime<Utc>,
    ) -> CheckInput {
        CheckInput {
            title: title.into(),
            caption: caption.into(),
            hashtags: Vec::new(),
            slides,
            scheduled_at: None,
            now,
            tiktok: None,
            instagram_scheduled_in_24h: None,
            instagram_quota_total: None,
            account: None,
            earlier_posts: Vec::new(),
            rules: QualityConfig::default(),
        }
    }

    /// The text the platform receives as the caption (TikTok: the description).
    pub fn published_caption(&self) -> String {
        super::published_caption(&self.caption, &self.hashtags)
    }
}
