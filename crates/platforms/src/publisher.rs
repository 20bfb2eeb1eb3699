//! The `Publisher` trait every platform adapter implements.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::{
    AccountInfo, Platform, PublishProgress, PublishRequest, Published, PublishingQuota, RecentPost,
    RemoteStatus, Result, Step,
};

/// Publishes one post to one account as a resumable sequence of steps.
///
/// Contract:
/// - `advance` performs **at most one** call that creates something remotely and returns right after it,
///   so the caller persists the new remote id before anything else can fail.
/// - An `Err` means the progress passed in is still the truth (nothing new to record), except
///   [`crate::ErrorClass::OutcomeUnknown`], which means a post may exist: read back with `recent_posts`
///   before advancing again.
/// - Advancing from a saved progress never re-creates what it already holds.
#[async_trait]
pub trait Publisher: Send + Sync + std::fmt::Debug {
    /// The platform this adapter speaks to.
    fn platform(&self) -> Platform;

    /// Check a request against the platform's documented limits without any network call.
    fn check(&self, request: &PublishRequest) -> Result<()>;

    /// Perform the next step of the publish.
    async fn advance(
        &self,
        token: &SecretString,
        request: &PublishRequest,
        progress: &PublishProgress,
    ) -> Result<Step>;

    /// Read where the publish stands without creating anything.
    async fn status(
        &self,
        token: &SecretString,
        progress: &PublishProgress,
    ) -> Result<RemoteStatus>;

    /// What the account has published since `since`, newest first where the platform orders them.
    async fn recent_posts(
        &self,
        token: &SecretString,
        account_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<RecentPost>>;

    /// Who the token belongs to.
    async fn account_info(&self, token: &SecretString, account_id: &str) -> Result<AccountInfo>;

    /// The platform's publishing quota, where it has one (Instagram), read at runtime.
    async fn publishing_quota(
        &self,
        token: &SecretString,
        account_id: &str,
    ) -> Result<Option<PublishingQuota>>;

    /// Resolve an unknown outcome: look for this request among the account's posts since `since`.
    ///
    /// `Some` means the post exists and must not be sent again. `None` means it is not visible (yet):
    /// TikTok lists a post only once its pull and moderation are over, so wait past the processing time
    /// before treating `None` as "not posted".
    async fn reconcile(
        &self,
        token: &SecretString,
        request: &PublishRequest,
        since: DateTime<Utc>,
    ) -> Result<Option<Published>> {
        let recent = self.recent_posts(token, &request.account_id, since).await?;
        Ok(recent
            .into_iter()
            .find(|post| matches_request(post, request))
            .map(|post| Published {
                post_id: Some(post.id),
                permalink: post.permalink,
            }))
    }
}

/// Whether a listed post is this request: same caption (whitespace-insensitive), and same title when both
/// have one.
pub fn matches_request(post: &RecentPost, request: &PublishRequest) -> bool {
    let normal = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let caption_matches = post
        .caption
        .as_deref()
        .is_some_and(|c| normal(c) == normal(&request.caption));
    let title_matches = match (&post.title, &request.title) {
        (Some(a), Some(b)) if !a.is_empty() => normal(a) == normal(b),
        _ => true,
    };
    caption_matches && title_matches
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PrivacyLevel, PublishToggles};

    #[test]
    fn a_listed_post_matches_on_caption_and_title() {
        let request = PublishRequest {
            account_id: "a".into(),
            title: Some("Autumn drop".into()),
            caption: "Three new\ncolours  #autumn".into(),
            image_urls: vec![],
            privacy_level: Some(PrivacyLevel::SelfOnly),
            toggles: PublishToggles::default(),
            is_aigc: false,
            cover_index: 0,
        };
        let post = |title: Option<&str>, caption: &str| RecentPost {
            id: "1".into(),
            title: title.map(str::to_owned),
            caption: Some(caption.into()),
            permalink: None,
            created_at: None,
        };
        assert!(matches_request(
            &post(None, "Three new colours #autumn"),
            &request
        ));
        assert!(matches_request(
            &post(Some("Autumn drop"), "Three new colours #autumn"),
            &request
        ));
        assert!(!matches_request(
            &post(Some("Winter drop"), "Three new colours #autumn"),
            &request
        ));
        assert!(!matches_request(&post(None, "Three new colours"), &request));
    }
}
