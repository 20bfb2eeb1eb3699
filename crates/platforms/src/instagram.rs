//! Instagram content publishing adapter (Instagram Login or Facebook Login hosts).
//!
//! Flow: one item container per image (`is_carousel_item=true`), then the carousel container with the
//! caption (a single image is one container with the caption); poll each container's `status_code` until
//! `FINISHED`; check `content_publishing_limit`; `media_publish`; read the permalink back.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::Deserialize;

use crate::graph::{self, GraphConfig};
use crate::http::{self, CallKind, id_text};
use crate::limiter::Limiter;
use crate::progress::Container;
use crate::{
    AccountInfo, ErrorClass, ErrorDetail, InstagramProgress, Next, Platform, PlatformError,
    PublishProgress, PublishRequest, Published, Publisher, PublishingQuota, RecentPost,
    RemoteStatus, Result, Step,
};

/// Maximum caption length, in characters.
pub const INSTAGRAM_CAPTION_MAX_CHARS: usize = 2200;
/// Maximum hashtags in a caption.
pub const INSTAGRAM_MAX_HASHTAGS: usize = 30;
/// Maximum @-mentions in a caption.
pub const INSTAGRAM_MAX_MENTIONS: usize = 20;
/// Maximum items in a carousel.
pub const INSTAGRAM_MAX_CAROUSEL_ITEMS: usize = 10;

/// Publishes single images and carousels to an Instagram professional account.
#[derive(Debug)]
pub struct InstagramPublisher {
    config: GraphConfig,
    client: reqwest::Client,
    containers: Limiter,
}

#[derive(Debug, Deserialize)]
struct Created {
    #[serde(deserialize_with = "id_text::one")]
    id: String,
}

/// A container's processing state.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ContainerStatus {
    /// `IN_PROGRESS`, `FINISHED`, `PUBLISHED`, `ERROR` or `EXPIRED`.
    #[serde(default)]
    pub status_code: Option<String>,
    /// Detail, e.g. `Error: Media upload has failed with error code 2207082`.
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Media {
    #[serde(deserialize_with = "id_text::one")]
    id: String,
    #[serde(default)]
    permalink: Option<String>,
    #[serde(default)]
    caption: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
}

#[derive(Debug, Deserialize)]
struct MediaList {
    #[serde(default)]
    data: Vec<Media>,
}

#[derive(Debug, Deserialize)]
struct LimitList {
    #[serde(default)]
    data: Vec<LimitEntry>,
}

#[derive(Debug, Deserialize)]
struct LimitEntry {
    #[serde(default)]
    quota_usage: u32,
    #[serde(default)]
    config: Option<LimitConfig>,
}

#[derive(Debug, Deserialize)]
struct LimitConfig {
    quota_total: u32,
    #[serde(default)]
    quota_duration: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct User {
    #[serde(default, deserialize_with = "id_text::opt")]
    id: Option<String>,
    #[serde(default, deserialize_with = "id_text::opt")]
    user_id: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    profile_picture_url: Option<String>,
}

/// Parse a Graph timestamp such as `2026-09-11T10:00:00+0000`.
pub(crate) fn parse_graph_time(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%z")
        .or_else(|_| DateTime::parse_from_rfc3339(value))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

enum Poll {
    Finished,
    Pending,
    Published,
    Expired,
    Failed(PlatformError),
}

impl InstagramPublisher {
    /// Build the adapter.
    pub fn new(config: GraphConfig) -> Result<Self> {
        let client = http::client(config.timeout, config.connect_timeout)?;
        Ok(Self {
            containers: Limiter::new(config.container_limit),
            config,
            client,
        })
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        token: &SecretString,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T> {
        let request = http::with_auth(self.client.get(self.config.url(path)).query(query), token)?;
        let raw = http::send(Platform::Instagram, CallKind::Read, request).await?;
        graph::decode(Platform::Instagram, &raw, CallKind::Read)
    }

    async fn post_form(
        &self,
        token: &SecretString,
        path: &str,
        form: &[(&str, String)],
        kind: CallKind,
    ) -> Result<String> {
        let request = http::with_auth(self.client.post(self.config.url(path)).form(form), token)?;
        let raw = http::send(Platform::Instagram, kind, request).await?;
        let created: Created = graph::decode(Platform::Instagram, &raw, kind)?;
        Ok(created.id)
    }

    async fn create_container(
        &self,
        token: &SecretString,
        account: &str,
        form: &[(&str, String)],
    ) -> Result<Container> {
        self.containers.try_acquire(account).map_err(|wait| {
            PlatformError::classified(
                ErrorClass::RateLimited,
                ErrorDetail::new(
                    Platform::Instagram,
                    "local limit of containers per day reached",
                ),
                Some(wait),
            )
        })?;
        let id = self
            .post_form(
                token,
                &format!("{account}/media"),
                form,
                CallKind::CreateHidden,
            )
            .await?;
        Ok(Container {
            id,
            created_at: Utc::now(),
            finished: false,
        })
    }

    /// `GET /{container-id}?fields=status_code,status`.
    pub async fn container_status(
        &self,
        token: &SecretString,
        container_id: &str,
    ) -> Result<ContainerStatus> {
        self.get(token, container_id, &[("fields", "status_code,status")])
            .await
    }

    async fn poll(&self, token: &SecretString, container_id: &str) -> Result<Poll> {
        let status = self.container_status(token, container_id).await?;
        Ok(
            match status.status_code.as_deref().unwrap_or("IN_PROGRESS") {
                "FINISHED" => Poll::Finished,
                "PUBLISHED" => Poll::Published,
                "EXPIRED" => Poll::Expired,
                "ERROR" => Poll::Failed(container_error(
                    container_id,
                    status.status.as_deref().unwrap_or(""),
                )),
                _ => Poll::Pending,
            },
        )
    }

    async fn quota(&self, token: &SecretString, account: &str) -> Result<PublishingQuota> {
        let list: LimitList = self
            .get(
                token,
                &format!("{account}/content_publishing_limit"),
                &[("fields", "config,quota_usage")],
            )
            .await?;
        let entry = list.data.into_iter().next().ok_or_else(|| {
            PlatformError::classified(
                ErrorClass::Retryable,
                ErrorDetail::new(
                    Platform::Instagram,
                    "content_publishing_limit returned no data",
                ),
                None,
            )
        })?;
        let config = entry.config.ok_or_else(|| {
            PlatformError::classified(
                ErrorClass::Retryable,
                ErrorDetail::new(
                    Platform::Instagram,
                    "content_publishing_limit returned no config",
                ),
                None,
            )
        })?;
        Ok(PublishingQuota {
            usage: entry.quota_usage,
            total: config.quota_total,
            window: Duration::from_secs(config.quota_duration.unwrap_or(86_400)),
        })
    }

    async fn ensure_quota(&self, token: &SecretString, account: &str) -> Result<()> {
        let quota = self.quota(token, account).await?;
        if quota.remaining() == 0 {
            let detail = ErrorDetail {
                code: Some("9".into()),
                subcode: Some(2_207_042),
                ..ErrorDetail::new(
                    Platform::Instagram,
                    format!(
                        "publishing quota used up ({} of {} per window)",
                        quota.usage, quota.total
                    ),
                )
            };
            return Err(PlatformError::classified(
                ErrorClass::RateLimited,
                detail,
                None,
            ));
        }
        Ok(())
    }

    fn reset(current: &InstagramProgress) -> InstagramProgress {
        let mut abandoned = current.abandoned.clone();
        abandoned.extend(current.items.iter().map(|c| c.id.clone()));
        abandoned.extend(current.carousel.iter().map(|c| c.id.clone()));
        InstagramProgress {
            items: Vec::new(),
            carousel: None,
            media_id: None,
            abandoned,
        }
    }

    fn too_old(&self, container: &Container) -> bool {
        let age = Utc::now().signed_duration_since(container.created_at);
        age.to_std()
            .is_ok_and(|age| age >= self.config.max_reuse_age)
    }
}

/// Turn a container in `ERROR` into a classified error, using the subcode in its `status` text.
fn container_error(container_id: &str, status: &str) -> PlatformError {
    let subcode = status
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| s.len() == 7)
        .find_map(|s| s.parse::<i64>().ok());
    let class = match subcode {
        Some(2_207_001 | 2_207_003 | 2_207_008 | 2_207_020 | 2_207_032 | 2_207_052) => {
            ErrorClass::Retryable
        }
        _ => ErrorClass::Terminal,
    };
    let detail = ErrorDetail {
        code: Some("ERROR".into()),
        subcode,
        ..ErrorDetail::new(
            Platform::Instagram,
            format!("container {container_id} failed: {status}"),
        )
    };
    PlatformError::classified(class, detail, None)
}

fn progress_of(progress: &PublishProgress) -> Result<&InstagramProgress> {
    match progress {
        PublishProgress::Instagram(p) => Ok(p),
        other => Err(PlatformError::invalid(
            "progress-platform-mismatch",
            format!(
                "a {} progress cannot be advanced by the instagram adapter",
                other.platform()
            ),
        )),
    }
}

fn ig(progress: InstagramProgress) -> PublishProgress {
    PublishProgress::Instagram(progress)
}

#[async_trait]
impl Publisher for InstagramPublisher {
    fn platform(&self) -> Platform {
        Platform::Instagram
    }

    fn check(&self, request: &PublishRequest) -> Result<()> {
        let count = request.image_urls.len();
        if count == 0 || count > INSTAGRAM_MAX_CAROUSEL_ITEMS {
            return Err(PlatformError::invalid(
                "image-count-out-of-range",
                format!(
                    "an instagram post needs 1 to {INSTAGRAM_MAX_CAROUSEL_ITEMS} images, this one has {count}"
                ),
            ));
        }
        let chars = request.caption.chars().count();
        if chars > INSTAGRAM_CAPTION_MAX_CHARS {
            return Err(PlatformError::invalid(
                "caption-too-long",
                format!(
                    "the instagram caption has {chars} characters; shorten it to {INSTAGRAM_CAPTION_MAX_CHARS}"
                ),
            ));
        }
        let words = || request.caption.split_whitespace();
        let hashtags = words()
            .filter(|w| w.starts_with('#') && w.len() > 1)
            .count();
        if hashtags > INSTAGRAM_MAX_HASHTAGS {
            return Err(PlatformError::invalid(
                "too-many-hashtags",
                format!(
                    "the caption has {hashtags} hashtags; instagram allows {INSTAGRAM_MAX_HASHTAGS}"
                ),
            ));
        }
        let mentions = words()
            .filter(|w| w.starts_with('@') && w.len() > 1)
            .count();
        if mentions > INSTAGRAM_MAX_MENTIONS {
            return Err(PlatformError::invalid(
                "too-many-mentions",
                format!(
                    "the caption has {mentions} mentions; instagram allows {INSTAGRAM_MAX_MENTIONS}"
                ),
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
        let account = request.account_id.as_str();

        if let Some(media_id) = &current.media_id {
            // Published already: only read the permalink back.
            let media: Media = self
                .get(
                    token,
                    media_id,
                    &[("fields", "id,permalink,shortcode,media_type,timestamp")],
                )
                .await?;
            let published = Published {
                post_id: Some(media.id),
                permalink: media.permalink,
            };
            return Ok(Step::new(progress.clone(), Next::Done(published)));
        }

        self.check(request)?;
        let wanted = request.image_urls.len();
        let carousel = wanted > 1;

        // Containers expire after 24 h; never try to publish one that is about to. A progress holding
        // more items than the request has images belongs to another version of the post: start over.
        if current.items.len() > wanted
            || current
                .items
                .iter()
                .chain(current.carousel.iter())
                .any(|c| self.too_old(c))
        {
            return Ok(Step::new(ig(Self::reset(current)), Next::Continue));
        }

        if current.items.is_empty() {
            // Fail early rather than build containers that cannot be published today.
            self.ensure_quota(token, account).await?;
        }

        if current.items.len() < wanted {
            let index = current.items.len();
            let url = request.image_urls.get(index).cloned().unwrap_or_default();
            let form: Vec<(&str, String)> = if carousel {
                vec![("image_url", url), ("is_carousel_item", "true".into())]
            } else {
                vec![("image_url", url), ("caption", request.caption.clone())]
            };
            let container = self.create_container(token, account, &form).await?;
            tracing::info!(container = %container.id, index, "instagram container created");
            let mut next = current.clone();
            next.items.push(container);
            return Ok(Step::new(ig(next), Next::Continue));
        }

        let mut next = current.clone();
        if carousel {
            // Children must be ready before the parent is built.
            let mut pending = false;
            for item in next.items.iter_mut().filter(|c| !c.finished) {
                match self.poll(token, &item.id).await? {
                    Poll::Finished => item.finished = true,
                    Poll::Pending => pending = true,
                    Poll::Expired | Poll::Published => {
                        return Ok(Step::new(ig(Self::reset(current)), Next::Continue));
                    }
                    Poll::Failed(error) => {
                        return Ok(Step::new(ig(Self::reset(current)), Next::Failed(error)));
                    }
                }
            }
            if pending {
                return Ok(Step::new(
                    ig(next),
                    Next::PollAfter(self.config.poll_interval),
                ));
            }
            if next.carousel.is_none() {
                let children = next
                    .items
                    .iter()
                    .map(|c| c.id.as_str())
                    .collect::<Vec<_>>()
                    .join(",");
                let form = vec![
                    ("media_type", "CAROUSEL".to_owned()),
                    ("children", children),
                    ("caption", request.caption.clone()),
                ];
                let container = self.create_container(token, account, &form).await?;
                tracing::info!(container = %container.id, "instagram carousel container created");
                next.carousel = Some(container);
                return Ok(Step::new(ig(next), Next::Continue));
            }
        }

        let target = if carousel {
            next.carousel.as_mut()
        } else {
            next.items.first_mut()
        };
        let Some(target) = target else {
            return Ok(Step::new(ig(Self::reset(current)), Next::Continue));
        };
        // Always look at the target right before publishing: a container already PUBLISHED means an
        // earlier media_publish went through, whatever the saved progress says.
        {
            match self.poll(token, &target.id).await? {
                Poll::Finished => target.finished = true,
                Poll::Pending => {
                    return Ok(Step::new(
                        ig(next),
                        Next::PollAfter(self.config.poll_interval),
                    ));
                }
                Poll::Expired => return Ok(Step::new(ig(Self::reset(current)), Next::Continue)),
                Poll::Failed(error) => {
                    return Ok(Step::new(ig(Self::reset(current)), Next::Failed(error)));
                }
                Poll::Published => {
                    // An earlier media_publish went through but its answer was lost.
                    let detail = ErrorDetail {
                        code: Some("PUBLISHED".into()),
                        ..ErrorDetail::new(
                            Platform::Instagram,
                            format!(
                                "container {} is already published but its media id is unknown",
                                target.id
                            ),
                        )
                    };
                    return Err(PlatformError::classified(
                        ErrorClass::OutcomeUnknown,
                        detail,
                        None,
                    ));
                }
            }
        }
        let creation_id = target.id.clone();
        self.ensure_quota(token, account).await?;
        let media_id = self
            .post_form(
                token,
                &format!("{account}/media_publish"),
                &[("creation_id", creation_id.clone())],
                CallKind::CreatePost,
            )
            .await?;
        tracing::info!(media_id = %media_id, creation_id = %creation_id, "instagram media published");
        next.media_id = Some(media_id);
        Ok(Step::new(ig(next), Next::Continue))
    }

    async fn status(
        &self,
        token: &SecretString,
        progress: &PublishProgress,
    ) -> Result<RemoteStatus> {
        let current = progress_of(progress)?;
        if let Some(media_id) = &current.media_id {
            let media: Media = self
                .get(token, media_id, &[("fields", "id,permalink")])
                .await?;
            return Ok(RemoteStatus::Published(Published {
                post_id: Some(media.id),
                permalink: media.permalink,
            }));
        }
        let target = current.carousel.as_ref().or(current.items.first());
        let Some(target) = target else {
            return Ok(RemoteStatus::NotStarted);
        };
        Ok(match self.poll(token, &target.id).await? {
            Poll::Finished | Poll::Pending => RemoteStatus::Processing,
            // The media id is not known from here; a read-back finds it.
            Poll::Published => RemoteStatus::Published(Published::default()),
            Poll::Expired => RemoteStatus::Failed {
                class: ErrorClass::Retryable,
                reason: "EXPIRED".into(),
            },
            Poll::Failed(error) => RemoteStatus::Failed {
                class: error.class(),
                reason: error
                    .detail()
                    .map(|d| d.message.clone())
                    .unwrap_or_default(),
            },
        })
    }

    async fn recent_posts(
        &self,
        token: &SecretString,
        account_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<RecentPost>> {
        let list: MediaList = self
            .get(
                token,
                &format!("{account_id}/media"),
                &[
                    ("fields", "id,caption,permalink,timestamp,media_type"),
                    ("limit", "25"),
                ],
            )
            .await?;
        Ok(list
            .data
            .into_iter()
            .map(|m| RecentPost {
                id: m.id,
                title: None,
                caption: m.caption,
                permalink: m.permalink,
                created_at: m.timestamp.as_deref().and_then(parse_graph_time),
            })
            // Platforms report whole seconds; compare at that precision.
            .filter(|p| {
                p.created_at
                    .is_none_or(|t| t.timestamp() >= since.timestamp())
            })
            .collect())
    }

    async fn account_info(&self, token: &SecretString, account_id: &str) -> Result<AccountInfo> {
        let user: User = self
            .get(
                token,
                account_id,
                &[("fields", "id,username,name,profile_picture_url")],
            )
            .await?;
        Ok(AccountInfo {
            id: user
                .user_id
                .or(user.id)
                .unwrap_or_else(|| account_id.to_owned()),
            username: user.username,
            display_name: user.name,
            avatar_url: user.profile_picture_url,
        })
    }

    async fn publishing_quota(
        &self,
        token: &SecretString,
        account_id: &str,
    ) -> Result<Option<PublishingQuota>> {
        self.quota(token, account_id).await.map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_container_error_subcode_decides_the_class() {
        let err = container_error(
            "1",
            "Error: Media upload has failed with error code 2207003",
        );
        assert_eq!(err.class(), ErrorClass::Retryable);
        let err = container_error(
            "1",
            "Error: Media upload has failed with error code 2207082",
        );
        assert_eq!(err.class(), ErrorClass::Terminal);
        assert_eq!(err.detail().and_then(|d| d.subcode), Some(2_207_082));
    }

    #[test]
    fn graph_timestamps_parse() {
        let t = parse_graph_time("2026-09-11T10:00:00+0000").expect("graph time");
        assert_eq!(t.to_rfc3339(), "2026-09-11T10:00:00+00:00");
    }
}
