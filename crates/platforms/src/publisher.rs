//! The `Publisher` trait every platform adapter implements.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::{
    AccountInfo, Platform, PublishProgress, PublishRequest, PublishingQuota, RecentPost,
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
}
