//! TikTok Content Posting API adapter: photo carousels by `PULL_FROM_URL` in `DIRECT_POST` mode.
//!
//! Flow: `creator_info/query` (privacy options, comment switch) → `content/init` (the one creating call,
//! returns `publish_id`) → `status/fetch` until `PUBLISH_COMPLETE` or `FAILED`. Success is decided on
//! `error.code == "ok"`, never on the HTTP status alone.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::http::{self, CallKind, Raw, id_text};
use crate::limiter::{
    Limiter, RateLimit, TIKTOK_CREATOR_INFO_PER_MINUTE, TIKTOK_INIT_PER_MINUTE,
    TIKTOK_STATUS_PER_MINUTE,
};
use crate::{
    AccountInfo, ErrorClass, ErrorDetail, Next, Platform, PlatformError, PrivacyLevel,
    PublishProgress, PublishRequest, Published, Publisher, PublishingQuota, RecentPost,
    RemoteStatus, Result, Step, TiktokProgress,
};

/// Maximum title length of a photo post, in UTF-16 code units.
pub const TIKTOK_TITLE_MAX_UTF16: usize = 90;
/// Maximum description length of a photo post, in UTF-16 code units.
pub const TIKTOK_DESCRIPTION_MAX_UTF16: usize = 4000;
/// Maximum number of images in a photo post.
pub const TIKTOK_MAX_IMAGES: usize = 35;

/// Configuration of the TikTok adapter.
#[derive(Debug, Clone)]
pub struct TiktokConfig {
    /// API host, `https://open.tiktokapis.com` in production.
    pub base_url: String,
    /// Overall timeout of each request.
    pub timeout: Duration,
    /// Connect timeout of each request.
    pub connect_timeout: Duration,
    /// Delay suggested between status polls.
    pub poll_interval: Duration,
    /// Client-side limit on `content/init` per token.
    pub init_limit: RateLimit,
    /// Client-side limit on `status/fetch` per token.
    pub status_limit: RateLimit,
    /// Client-side limit on `creator_info/query` per token.
    pub creator_info_limit: RateLimit,
}

impl Default for TiktokConfig {
    fn default() -> Self {
        Self {
            base_url: "https://open.tiktokapis.com".into(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_secs(5),
            init_limit: RateLimit::per_minute(TIKTOK_INIT_PER_MINUTE),
            status_limit: RateLimit::per_minute(TIKTOK_STATUS_PER_MINUTE),
            creator_info_limit: RateLimit::per_minute(TIKTOK_CREATOR_INFO_PER_MINUTE),
        }
    }
}

/// Publishes photo carousels to TikTok.
#[derive(Debug)]
pub struct TiktokPublisher {
    config: TiktokConfig,
    client: reqwest::Client,
    init_limiter: Limiter,
    status_limiter: Limiter,
    creator_limiter: Limiter,
}

/// What `creator_info/query` says about the creator.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreatorInfo {
    /// The @handle.
    #[serde(default)]
    pub creator_username: Option<String>,
    /// The nickname, to be shown in the composer.
    #[serde(default)]
    pub creator_nickname: Option<String>,
    /// Avatar URL (valid 2 h).
    #[serde(default)]
    pub creator_avatar_url: Option<String>,
    /// Privacy levels the creator may use; the post's level must be one of them.
    #[serde(default)]
    pub privacy_level_options: Vec<String>,
    /// The creator turned comments off.
    #[serde(default)]
    pub comment_disabled: bool,
}

#[derive(Debug, Deserialize)]
struct TtError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    log_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct InitData {
    #[serde(deserialize_with = "id_text::one")]
    publish_id: String,
}

/// The `data` of `status/fetch`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PublishStatus {
    /// `PROCESSING_DOWNLOAD`, `PUBLISH_COMPLETE`, `FAILED`, …
    pub status: String,
    /// Set when `FAILED`.
    #[serde(default)]
    pub fail_reason: Option<String>,
    /// Public post ids as text. The platform spells the field `publicaly_available_post_id`; the
    /// corrected spelling is accepted too.
    #[serde(
        default,
        rename = "publicaly_available_post_id",
        alias = "publicly_available_post_id",
        deserialize_with = "id_text::list"
    )]
    pub post_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct VideoList {
    #[serde(default)]
    videos: Vec<Video>,
}

#[derive(Debug, Deserialize)]
struct Video {
    #[serde(deserialize_with = "id_text::one")]
    id: String,
    #[serde(default)]
    create_time: Option<i64>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    video_description: Option<String>,
    #[serde(default)]
    share_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UserInfoData {
    user: UserInfo,
}

#[derive(Debug, Deserialize)]
struct UserInfo {
    #[serde(default)]
    open_id: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    avatar_url: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

impl TiktokPublisher {
    /// Build the adapter.
    pub fn new(config: TiktokConfig) -> Result<Self> {
        let client = http::client(config.timeout, config.connect_timeout)?;
        Ok(Self {
            init_limiter: Limiter::new(config.init_limit),
            status_limiter: Limiter::new(config.status_limit),
            creator_limiter: Limiter::new(config.creator_info_limit),
            config,
            client,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.config.base_url.trim_end_matches('/'), path)
    }

    fn post_json(&self, path: &str, token: &SecretString) -> Result<reqwest::RequestBuilder> {
        let request = self.client.post(self.url(path)).header(
            reqwest::header::CONTENT_TYPE,
            "application/json; charset=UTF-8",
        );
        http::with_auth(request, token)
    }

    /// `POST /v2/post/publish/creator_info/query/` (no body).
    pub async fn creator_info(&self, token: &SecretString) -> Result<CreatorInfo> {
        limited(self.creator_limiter.try_acquire_token(token))?;
        let request = self.post_json("/v2/post/publish/creator_info/query/", token)?;
        let raw = http::send(Platform::Tiktok, CallKind::Read, request).await?;
        decode(&raw, CallKind::Read)
    }

    /// `POST /v2/post/publish/status/fetch/`.
    pub async fn fetch_status(
        &self,
        token: &SecretString,
        publish_id: &str,
    ) -> Result<PublishStatus> {
        limited(self.status_limiter.try_acquire_token(token))?;
        let request = self
            .post_json("/v2/post/publish/status/fetch/", token)?
            .json(&json!({ "publish_id": publish_id }));
        let raw = http::send(Platform::Tiktok, CallKind::Read, request).await?;
        decode(&raw, CallKind::Read)
    }

    async fn init(
        &self,
        token: &SecretString,
        request: &PublishRequest,
        creator: &CreatorInfo,
    ) -> Result<String> {
        let privacy = request.privacy_level.ok_or_else(privacy_required)?;
        if !creator
            .privacy_level_options
            .iter()
            .any(|o| o == privacy.as_str())
        {
            return Err(PlatformError::invalid(
                "privacy-level-not-allowed",
                format!(
                    "tiktok does not allow {} for this account (allowed: {}); choose one of those",
                    privacy.as_str(),
                    creator.privacy_level_options.join(", ")
                ),
            ));
        }
        let mut post_info = json!({
            "description": request.caption,
            "privacy_level": privacy.as_str(),
            // The creator's own "comments off" setting wins over the post's switch.
            "disable_comment": request.toggles.disable_comment || creator.comment_disabled,
            "auto_add_music": request.toggles.auto_add_music,
            "brand_content_toggle": request.toggles.brand_content,
            "brand_organic_toggle": request.toggles.brand_organic,
        });
        if let Some(title) = &request.title {
            post_info["title"] = Value::String(title.clone());
        }
        let body = json!({
            "media_type": "PHOTO",
            "post_mode": "DIRECT_POST",
            "post_info": post_info,
            "source_info": {
                "source": "PULL_FROM_URL",
                "photo_images": request.image_urls,
                "photo_cover_index": request.cover_index,
            },
            "is_aigc": request.is_aigc,
        });
        limited(self.init_limiter.try_acquire_token(token))?;
        let http_request = self
            .post_json("/v2/post/publish/content/init/", token)?
            .json(&body);
        let raw = http::send(Platform::Tiktok, CallKind::CreatePost, http_request).await?;
        let data: InitData = decode(&raw, CallKind::CreatePost)?;
        Ok(data.publish_id)
    }

    fn permalink(username: Option<&str>, post_id: &str) -> Option<String> {
        username.map(|u| format!("https://www.tiktok.com/@{u}/photo/{post_id}"))
    }
}

fn privacy_required() -> PlatformError {
    PlatformError::invalid(
        "privacy-level-required",
        "choose a tiktok privacy level for this post; there is no default",
    )
}

fn limited(result: Result<(), Duration>) -> Result<()> {
    result.map_err(|wait| {
        PlatformError::classified(
            ErrorClass::RateLimited,
            ErrorDetail::new(Platform::Tiktok, "local rate limit for this token reached"),
            Some(wait),
        )
    })
}

/// How a TikTok `error.code` is handled.
pub(crate) fn classify_code(code: &str, http_status: u16, kind: CallKind) -> ErrorClass {
    match code {
        "access_token_invalid" | "scope_not_authorized" | "scope_permission_missed" => {
            ErrorClass::Auth
        }
        "rate_limit_exceeded"
        | "spam_risk_too_many_posts"
        | "spam_risk_too_many_pending_share"
        | "reached_active_user_cap" => ErrorClass::RateLimited,
        "internal_error" => server_side(kind),
        "invalid_param"
        | "invalid_params"
        | "app_version_check_failed"
        | "spam_risk_user_banned_from_posting"
        | "unaudited_client_can_only_post_to_private_accounts"
        | "url_ownership_unverified"
        | "privacy_level_option_mismatch"
        | "invalid_publish_id"
        | "token_not_authorized_for_specified_publish_id"
        | "invalid_file_upload"
        | "publish_not_cancellable" => ErrorClass::Terminal,
        _ => match http_status {
            401 | 403 if code.is_empty() => ErrorClass::Auth,
            429 => ErrorClass::RateLimited,
            500..=599 => server_side(kind),
            _ => ErrorClass::Terminal,
        },
    }
}

/// How a `fail_reason` of a `FAILED` publish is handled.
pub fn classify_fail_reason(reason: &str) -> ErrorClass {
    match reason {
        "internal" | "photo_pull_failed" | "video_pull_failed" => ErrorClass::Retryable,
        "spam_risk_too_many_posts" => ErrorClass::RateLimited,
        "auth_removed" => ErrorClass::Auth,
        _ => ErrorClass::Terminal,
    }
}

/// A server-side failure is retryable, except on the creating call where the post may exist.
fn server_side(kind: CallKind) -> ErrorClass {
    if kind == CallKind::CreatePost {
        ErrorClass::OutcomeUnknown
    } else {
        ErrorClass::Retryable
    }
}

/// Decode the `{data, error}` envelope; success iff `error.code == "ok"`.
pub(crate) fn decode<T: DeserializeOwned>(raw: &Raw, kind: CallKind) -> Result<T> {
    let retry_after = http::retry_after(&raw.headers);
    let envelope: Option<Value> = serde_json::from_slice(&raw.body).ok();
    let error: Option<TtError> = envelope
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(|e| serde_json::from_value(e.clone()).ok());
    let data = envelope
        .as_ref()
        .and_then(|v| v.get("data"))
        .filter(|d| !d.is_null());
    let ok = match &error {
        Some(e) => e.code == "ok",
        // Tolerate a missing error object on a 2xx with data: dropping a publish_id would be worse.
        None => (200..300).contains(&raw.status) && data.is_some(),
    };
    if ok {
        let value = data
            .cloned()
            .unwrap_or(Value::Object(serde_json::Map::new()));
        return serde_json::from_value(value).map_err(|e| {
            let detail = ErrorDetail {
                http_status: Some(raw.status),
                trace_id: error.as_ref().and_then(|e| e.log_id.clone()),
                ..ErrorDetail::new(Platform::Tiktok, format!("unexpected response data: {e}"))
            };
            let class = if kind == CallKind::CreatePost {
                ErrorClass::OutcomeUnknown
            } else {
                ErrorClass::Retryable
            };
            PlatformError::classified(class, detail, None)
        });
    }
    let (code, message, log_id) = match error {
        Some(e) => (e.code, e.message, e.log_id),
        None => (
            String::new(),
            String::from_utf8_lossy(&raw.body)
                .chars()
                .take(300)
                .collect(),
            None,
        ),
    };
    let class = if code.is_empty() && (200..300).contains(&raw.status) {
        // A 2xx we cannot read: on the creating call the post may exist.
        server_side(kind)
    } else {
        classify_code(&code, raw.status, kind)
    };
    let detail = ErrorDetail {
        platform: Some(Platform::Tiktok),
        http_status: Some(raw.status),
        code: (!code.is_empty()).then_some(code),
        message,
        trace_id: log_id,
        ..ErrorDetail::default()
    };
    Err(PlatformError::classified(class, detail, retry_after))
}

fn progress_of(progress: &PublishProgress) -> Result<&TiktokProgress> {
    match progress {
        PublishProgress::Tiktok(p) => Ok(p),
        other => Err(PlatformError::invalid(
            "progress-platform-mismatch",
            format!(
                "a {} progress cannot be advanced by the tiktok adapter",
                other.platform()
            ),
        )),
    }
}

fn from_unix(seconds: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(seconds, 0).single()
}

#[async_trait]
impl Publisher for TiktokPublisher {
    fn platform(&self) -> Platform {
        Platform::Tiktok
    }

    fn check(&self, request: &PublishRequest) -> Result<()> {
        let count = request.image_urls.len();
        if count == 0 || count > TIKTOK_MAX_IMAGES {
            return Err(PlatformError::invalid(
                "image-count-out-of-range",
                format!(
                    "a tiktok photo post needs 1 to {TIKTOK_MAX_IMAGES} images, this one has {count}"
                ),
            ));
        }
        if request.cover_index >= count {
            return Err(PlatformError::invalid(
                "cover-index-out-of-range",
                format!(
                    "the cover index {} is outside the {count} images; pick one of them",
                    request.cover_index
                ),
            ));
        }
        if let Some(title) = &request.title {
            let len = http::utf16_len(title);
            if len > TIKTOK_TITLE_MAX_UTF16 {
                return Err(PlatformError::invalid(
                    "title-too-long",
                    format!(
                        "the tiktok title is {len} UTF-16 units long; shorten it to {TIKTOK_TITLE_MAX_UTF16}"
                    ),
                ));
            }
        }
        let len = http::utf16_len(&request.caption);
        if len > TIKTOK_DESCRIPTION_MAX_UTF16 {
            return Err(PlatformError::invalid(
                "caption-too-long",
                format!(
                    "the tiktok description is {len} UTF-16 units long; shorten it to {TIKTOK_DESCRIPTION_MAX_UTF16}"
                ),
            ));
        }
        let privacy = request.privacy_level.ok_or_else(privacy_required)?;
        if privacy == PrivacyLevel::SelfOnly && request.toggles.brand_content {
            return Err(PlatformError::invalid(
                "branded-content-cannot-be-private",
                "branded content cannot be posted as SELF_ONLY on tiktok; choose a wider audience or turn the toggle off",
            ));
        }
        Ok(())
    }

    async fn advance(
        &self,
        token: &SecretString,
        request: &PublishRequest,
        progress: &PublishProgress,
    ) -> Result<Step> {
        let current = progress_of(progress)?;
        let Some(publish_id) = &current.publish_id else {
            self.check(request)?;
            let creator = self.creator_info(token).await?;
            let publish_id = self.init(token, request, &creator).await?;
            tracing::info!(publish_id = %publish_id, "tiktok publish started");
            let next = TiktokProgress {
                publish_id: Some(publish_id),
                creator_username: creator.creator_username,
                failed_publish_ids: current.failed_publish_ids.clone(),
            };
            return Ok(Step::new(
                PublishProgress::Tiktok(next),
                Next::PollAfter(self.config.poll_interval),
            ));
        };
        let status = self.fetch_status(token, publish_id).await?;
        let next = match status.status.as_str() {
            "PUBLISH_COMPLETE" | "SEND_TO_USER_INBOX" => {
                let post_id = status.post_ids.first().cloned();
                let permalink = post_id
                    .as_deref()
                    .and_then(|id| Self::permalink(current.creator_username.as_deref(), id));
                Next::Done(Published { post_id, permalink })
            }
            "FAILED" => {
                let reason = status.fail_reason.unwrap_or_else(|| "unknown".into());
                let detail = ErrorDetail {
                    code: Some(reason.clone()),
                    ..ErrorDetail::new(
                        Platform::Tiktok,
                        format!("tiktok could not publish the post: {reason}"),
                    )
                };
                let error = PlatformError::classified(classify_fail_reason(&reason), detail, None);
                let mut reset = current.clone();
                reset.failed_publish_ids.push(publish_id.clone());
                reset.publish_id = None;
                return Ok(Step::new(
                    PublishProgress::Tiktok(reset),
                    Next::Failed(error),
                ));
            }
            _ => Next::PollAfter(self.config.poll_interval),
        };
        Ok(Step::new(progress.clone(), next))
    }

    async fn status(
        &self,
        token: &SecretString,
        progress: &PublishProgress,
    ) -> Result<RemoteStatus> {
        let current = progress_of(progress)?;
        let Some(publish_id) = &current.publish_id else {
            return Ok(RemoteStatus::NotStarted);
        };
        let status = self.fetch_status(token, publish_id).await?;
        Ok(match status.status.as_str() {
            "PUBLISH_COMPLETE" | "SEND_TO_USER_INBOX" => {
                let post_id = status.post_ids.first().cloned();
                let permalink = post_id
                    .as_deref()
                    .and_then(|id| Self::permalink(current.creator_username.as_deref(), id));
                RemoteStatus::Published(Published { post_id, permalink })
            }
            "FAILED" => {
                let reason = status.fail_reason.unwrap_or_else(|| "unknown".into());
                RemoteStatus::Failed {
                    class: classify_fail_reason(&reason),
                    reason,
                }
            }
            _ => RemoteStatus::Processing,
        })
    }

    async fn recent_posts(
        &self,
        token: &SecretString,
        _account_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<RecentPost>> {
        let request = self
            .post_json("/v2/video/list/", token)?
            .query(&[("fields", "id,create_time,title,video_description,share_url")])
            .json(&json!({ "max_count": 20 }));
        let raw = http::send(Platform::Tiktok, CallKind::Read, request).await?;
        let list: VideoList = decode(&raw, CallKind::Read)?;
        Ok(list
            .videos
            .into_iter()
            .map(|v| RecentPost {
                id: v.id,
                title: v.title,
                caption: v.video_description,
                permalink: v.share_url,
                created_at: v.create_time.and_then(from_unix),
            })
            // Platforms report whole seconds; compare at that precision.
            .filter(|p| {
                p.created_at
                    .is_none_or(|t| t.timestamp() >= since.timestamp())
            })
            .collect())
    }

    async fn account_info(&self, token: &SecretString, _account_id: &str) -> Result<AccountInfo> {
        let request = http::with_auth(
            self.client
                .get(self.url("/v2/user/info/"))
                .query(&[("fields", "open_id,union_id,avatar_url,display_name")]),
            token,
        )?;
        let raw = http::send(Platform::Tiktok, CallKind::Read, request).await?;
        let data: UserInfoData = decode(&raw, CallKind::Read)?;
        Ok(AccountInfo {
            id: data.user.open_id.unwrap_or_default(),
            username: data.user.username,
            display_name: data.user.display_name,
            avatar_url: data.user.avatar_url,
        })
    }

    async fn publishing_quota(
        &self,
        _token: &SecretString,
        _account_id: &str,
    ) -> Result<Option<PublishingQuota>> {
        // TikTok exposes no quota endpoint; its daily cap shows up as `spam_risk_too_many_posts`.
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nineteen_digit_post_id_keeps_every_digit() {
        let body =
            r#"{"status":"PUBLISH_COMPLETE","publicaly_available_post_id":[7345678901234567890]}"#;
        let status: PublishStatus = serde_json::from_str(body).expect("status parses");
        assert_eq!(status.post_ids, vec!["7345678901234567890".to_owned()]);
        let corrected =
            r#"{"status":"PUBLISH_COMPLETE","publicly_available_post_id":["7345678901234567891"]}"#;
        let status: PublishStatus =
            serde_json::from_str(corrected).expect("corrected spelling parses");
        assert_eq!(status.post_ids, vec!["7345678901234567891".to_owned()]);
    }

    #[test]
    fn ids_beyond_2_pow_53_survive_the_json_number_path() {
        for id in [
            9_007_199_254_740_993_u64,
            7_687_305_123_456_789_012,
            u64::MAX,
        ] {
            let body =
                format!(r#"{{"status":"PUBLISH_COMPLETE","publicaly_available_post_id":[{id}]}}"#);
            let value: Value = serde_json::from_str(&body).expect("json");
            let status: PublishStatus = serde_json::from_value(value).expect("status parses");
            assert_eq!(status.post_ids, vec![id.to_string()]);
        }
        let lossy = r#"{"status":"PUBLISH_COMPLETE","publicaly_available_post_id":[7.3e18]}"#;
        assert!(
            serde_json::from_str::<PublishStatus>(lossy).is_err(),
            "a float id is refused, not rounded"
        );
    }

    #[test]
    fn codes_map_to_classes_whatever_the_http_status() {
        assert_eq!(
            classify_code("access_token_invalid", 401, CallKind::Read),
            ErrorClass::Auth
        );
        assert_eq!(
            classify_code("rate_limit_exceeded", 429, CallKind::Read),
            ErrorClass::RateLimited
        );
        assert_eq!(
            classify_code("url_ownership_unverified", 200, CallKind::CreatePost),
            ErrorClass::Terminal
        );
        assert_eq!(
            classify_code("invalid_param", 400, CallKind::Read),
            ErrorClass::Terminal
        );
        assert_eq!(
            classify_code("internal_error", 500, CallKind::Read),
            ErrorClass::Retryable
        );
        assert_eq!(
            classify_code("internal_error", 500, CallKind::CreatePost),
            ErrorClass::OutcomeUnknown
        );
        assert_eq!(
            classify_fail_reason("picture_size_check_failed"),
            ErrorClass::Terminal
        );
        assert_eq!(
            classify_fail_reason("photo_pull_failed"),
            ErrorClass::Retryable
        );
        assert_eq!(classify_fail_reason("auth_removed"), ErrorClass::Auth);
    }
}
