//! Facebook Page adapter: one photo via `/{page-id}/photos`, several via unpublished photos
//! (`published=false`) attached to a `/{page-id}/feed` post.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::Deserialize;

use crate::graph::{self, GraphConfig};
use crate::http::{self, CallKind, id_text};
use crate::instagram::parse_graph_time;
use crate::progress::UploadedPhoto;
use crate::{
    AccountInfo, FacebookProgress, Next, Platform, PlatformError, PublishProgress, PublishRequest,
    Published, Publisher, PublishingQuota, RecentPost, RemoteStatus, Result, Step,
};

/// Most photos attached to one feed post (undocumented; third-party SDKs say 10).
pub const FACEBOOK_MAX_PHOTOS: usize = 10;

/// Publishes photos to a Facebook Page with a Page access token.
#[derive(Debug)]
pub struct FacebookPublisher {
    config: GraphConfig,
    client: reqwest::Client,
}

#[derive(Debug, Deserialize)]
struct Created {
    #[serde(deserialize_with = "id_text::one")]
    id: String,
    #[serde(default, deserialize_with = "id_text::opt")]
    post_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Post {
    #[serde(deserialize_with = "id_text::one")]
    id: String,
    #[serde(default)]
    permalink_url: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    created_time: Option<String>,
    #[serde(default)]
    is_published: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct PostList {
    #[serde(default)]
    data: Vec<Post>,
}

#[derive(Debug, Deserialize)]
struct Page {
    #[serde(deserialize_with = "id_text::one")]
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

impl FacebookPublisher {
    /// Build the adapter (use [`GraphConfig::facebook_login`] for production).
    pub fn new(config: GraphConfig) -> Result<Self> {
        let client = http::client(config.timeout, config.connect_timeout)?;
        Ok(Self { config, client })
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        token: &SecretString,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T> {
        let request = http::with_auth(self.client.get(self.config.url(path)).query(query), token)?;
        let raw = http::send(Platform::Facebook, CallKind::Read, request).await?;
        graph::decode(Platform::Facebook, &raw, CallKind::Read)
    }

    async fn post_form(
        &self,
        token: &SecretString,
        path: &str,
        form: &[(String, String)],
        kind: CallKind,
    ) -> Result<Created> {
        let request = http::with_auth(self.client.post(self.config.url(path)).form(form), token)?;
        let raw = http::send(Platform::Facebook, kind, request).await?;
        graph::decode(Platform::Facebook, &raw, kind)
    }

    fn too_old(&self, photo: &UploadedPhoto) -> bool {
        let age = Utc::now().signed_duration_since(photo.uploaded_at);
        age.to_std()
            .is_ok_and(|age| age >= self.config.max_reuse_age)
    }

    async fn read_post(&self, token: &SecretString, post_id: &str) -> Result<Post> {
        self.get(
            token,
            post_id,
            &[(
                "fields",
                "id,is_published,permalink_url,created_time,message",
            )],
        )
        .await
    }
}

fn progress_of(progress: &PublishProgress) -> Result<&FacebookProgress> {
    match progress {
        PublishProgress::Facebook(p) => Ok(p),
        other => Err(PlatformError::invalid(
            "progress-platform-mismatch",
            format!(
                "a {} progress cannot be advanced by the facebook adapter",
                other.platform()
            ),
        )),
    }
}

fn fb(progress: FacebookProgress) -> PublishProgress {
    PublishProgress::Facebook(progress)
}

fn pair(key: &str, value: impl Into<String>) -> (String, String) {
    (key.to_owned(), value.into())
}

#[async_trait]
impl Publisher for FacebookPublisher {
    fn platform(&self) -> Platform {
        Platform::Facebook
    }

    fn check(&self, request: &PublishRequest) -> Result<()> {
        let count = request.image_urls.len();
        if count == 0 || count > FACEBOOK_MAX_PHOTOS {
            return Err(PlatformError::invalid(
                "image-count-out-of-range",
                format!(
                    "a facebook post needs 1 to {FACEBOOK_MAX_PHOTOS} photos, this one has {count}"
                ),
            ));
        }
        if count > 1 && request.caption.trim().is_empty() {
            return Err(PlatformError::invalid(
                "caption-required",
                "a facebook multi-photo post needs a caption; write one",
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
        if let Some(post_id) = &current.post_id {
            let post = self.read_post(token, post_id).await?;
            let permalink = post
                .permalink_url
                .or_else(|| Some(format!("https://www.facebook.com/{}", post.id)));
            return Ok(Step::new(
                progress.clone(),
                Next::Done(Published {
                    post_id: Some(post.id),
                    permalink,
                }),
            ));
        }
        self.check(request)?;
        let page = request.account_id.as_str();
        let mut next = current.clone();

        if request.image_urls.len() == 1 {
            let url = request.image_urls.first().cloned().unwrap_or_default();
            let form = [pair("url", url), pair("caption", request.caption.clone())];
            let created = self
                .post_form(
                    token,
                    &format!("{page}/photos"),
                    &form,
                    CallKind::CreatePost,
                )
                .await?;
            let post_id = created.post_id.unwrap_or_else(|| created.id.clone());
            tracing::info!(post_id = %post_id, "facebook photo published");
            next.photos.push(UploadedPhoto {
                id: created.id,
                uploaded_at: Utc::now(),
            });
            next.post_id = Some(post_id);
            return Ok(Step::new(fb(next), Next::Continue));
        }

        // Unpublished photos are deleted after about a day; re-upload rather than attach a dead id.
        let stale = next.photos.iter().any(|p| self.too_old(p));
        if stale || next.photos.len() > request.image_urls.len() {
            next.abandoned.extend(next.photos.drain(..).map(|p| p.id));
            return Ok(Step::new(fb(next), Next::Continue));
        }
        if next.photos.len() < request.image_urls.len() {
            let url = request
                .image_urls
                .get(next.photos.len())
                .cloned()
                .unwrap_or_default();
            let form = [pair("url", url), pair("published", "false")];
            let created = self
                .post_form(
                    token,
                    &format!("{page}/photos"),
                    &form,
                    CallKind::CreateHidden,
                )
                .await?;
            next.photos.push(UploadedPhoto {
                id: created.id,
                uploaded_at: Utc::now(),
            });
            return Ok(Step::new(fb(next), Next::Continue));
        }
        let mut form = vec![pair("message", request.caption.clone())];
        for (index, photo) in next.photos.iter().enumerate() {
            let media = serde_json::json!({ "media_fbid": photo.id }).to_string();
            form.push((format!("attached_media[{index}]"), media));
        }
        let created = self
            .post_form(token, &format!("{page}/feed"), &form, CallKind::CreatePost)
            .await?;
        tracing::info!(post_id = %created.id, "facebook feed post published");
        next.post_id = Some(created.id);
        Ok(Step::new(fb(next), Next::Continue))
    }

    async fn status(
        &self,
        token: &SecretString,
        progress: &PublishProgress,
    ) -> Result<RemoteStatus> {
        let current = progress_of(progress)?;
        let Some(post_id) = &current.post_id else {
            return Ok(RemoteStatus::NotStarted);
        };
        let post = self.read_post(token, post_id).await?;
        if post.is_published == Some(false) {
            return Ok(RemoteStatus::Processing);
        }
        Ok(RemoteStatus::Published(Published {
            post_id: Some(post.id),
            permalink: post.permalink_url,
        }))
    }

    async fn recent_posts(
        &self,
        token: &SecretString,
        account_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<RecentPost>> {
        let since_text = since.timestamp().to_string();
        let list: PostList = self
            .get(
                token,
                &format!("{account_id}/feed"),
                &[
                    ("fields", "id,message,permalink_url,created_time"),
                    ("since", since_text.as_str()),
                    ("limit", "25"),
                ],
            )
            .await?;
        Ok(list
            .data
            .into_iter()
            .map(|p| RecentPost {
                id: p.id,
                title: None,
                caption: p.message,
                permalink: p.permalink_url,
                created_at: p.created_time.as_deref().and_then(parse_graph_time),
            })
            // Platforms report whole seconds; compare at that precision.
            .filter(|p| {
                p.created_at
                    .is_none_or(|t| t.timestamp() >= since.timestamp())
            })
            .collect())
    }

    async fn account_info(&self, token: &SecretString, account_id: &str) -> Result<AccountInfo> {
        let page: Page = self
            .get(token, account_id, &[("fields", "id,name,username")])
            .await?;
        Ok(AccountInfo {
            id: page.id,
            username: page.username,
            display_name: page.name,
            avatar_url: None,
        })
    }

    async fn publishing_quota(
        &self,
        _token: &SecretString,
        _account_id: &str,
    ) -> Result<Option<PublishingQuota>> {
        // Pages have no publishing quota endpoint; throttling shows up as codes 32 / 80001.
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorClass;

    #[test]
    fn throttle_codes_are_rate_limits() {
        assert_eq!(
            graph::classify(Some(80001), None, false, 400, CallKind::CreatePost),
            ErrorClass::RateLimited
        );
        assert_eq!(
            graph::classify(Some(368), None, false, 400, CallKind::CreatePost),
            ErrorClass::Terminal
        );
    }
}
