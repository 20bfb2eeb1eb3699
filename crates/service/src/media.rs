//! Media use cases: ingest an upload or a rendered carousel into the media store and the database together,
//! list and show stored media, and their public URLs.

use std::sync::Arc;

use natronfx_media::{
    CarouselSpec, EncodedImage, IngestLimits, MediaKey, MediaResolver, MediaStore, PutOutcome,
    RenderOptions,
};
use natronfx_store::{MediaRecord, MediaSource};
use natronfx_workflow::{Action, MediaId, User, authorize};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, Service};

/// Where media bytes live and how they are reached.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// `local` (a folder served by natronfx-server), `s3` (an S3-compatible bucket) or `wordpress` (a
    /// WordPress site's media library).
    pub backend: String,
    /// The local folder (backend `local`); created when missing.
    pub root: String,
    /// The public URL the local folder is served under; the platforms pull images from it, so in
    /// production it must be an https URL on a domain the team controls (and TikTok has verified).
    pub public_base_url: String,
    /// Limits applied to every upload before it is decoded.
    pub limits: IngestLimits,
    /// The bucket (backend `s3`). Holds a secret, so it is read but never written back out.
    #[serde(skip_serializing)]
    pub s3: Option<natronfx_media::S3Config>,
    /// The site (backend `wordpress`). Holds a secret, so it is read but never written back out.
    #[serde(skip_serializing)]
    pub wordpress: Option<natronfx_media::WordPressConfig>,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            backend: "local".into(),
            root: "media".into(),
            public_base_url: "http://127.0.0.1:8080/m".into(),
            limits: IngestLimits::default(),
            s3: None,
            wordpress: None,
        }
    }
}

impl MediaConfig {
    /// Builds the configured store.
    pub fn open(&self) -> Result<Arc<dyn MediaStore>> {
        let which = match self.backend.as_str() {
            "local" => natronfx_media::MediaStoreConfig::Local {
                root: self.root.clone().into(),
                public_base_url: self.public_base_url.clone(),
            },
            "s3" => natronfx_media::MediaStoreConfig::S3(self.s3.clone().ok_or_else(|| {
                Error::Config("media.backend is s3 but [media.s3] is missing".into())
            })?),
            "wordpress" => natronfx_media::MediaStoreConfig::WordPress(
                self.wordpress.clone().ok_or_else(|| {
                    Error::Config(
                        "media.backend is wordpress but [media.wordpress] is missing".into(),
                    )
                })?,
            ),
            other => {
                return Err(Error::Config(format!(
                    "media.backend `{other}` is not one of local, s3, wordpress"
                )));
            }
        };
        Ok(which.build()?)
    }
}

/// A stored image with the URL the platforms pull it from.
#[derive(Debug, Clone, Serialize)]
pub struct MediaView {
    /// Identity (what slides refer to).
    pub id: MediaId,
    /// Content-addressed key.
    pub key: String,
    /// SHA-256 of the bytes.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: i64,
    /// Width in pixels.
    pub width: i32,
    /// Height in pixels.
    pub height: i32,
    /// `jpeg`, `png` or `webp`.
    pub format: String,
    /// `upload`, `rendered` or `generated`.
    pub source: String,
    /// Public URL.
    pub url: String,
    /// When it was stored.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl Service {
    pub(crate) fn media_store(&self) -> Result<&Arc<dyn MediaStore>> {
        self.media
            .as_ref()
            .ok_or_else(|| Error::Config("no media store is configured".into()))
    }

    pub(crate) async fn view(&self, record: MediaRecord) -> Result<MediaView> {
        let key = MediaKey::parse(&record.key)?;
        let store = self.media_store()?;
        // WordPress assigns URLs at upload; the others derive them from the key.
        let url = match store.resolve_public_url(&key).await {
            Ok(url) => url,
            Err(e) => {
                tracing::warn!(key = key.as_str(), error = %e, "cannot resolve the public URL");
                store.public_url(&key)
            }
        };
        Ok(MediaView {
            id: record.id,
            url,
            key: record.key,
            sha256: record.sha256,
            bytes: record.bytes,
            width: record.width,
            height: record.height,
            format: record.format,
            source: record.source.as_str().to_owned(),
            created_at: record.created_at,
        })
    }

    /// Stores an encoded image and its row; removes the object again if the row cannot be written and the
    /// object was new, so a failure leaves nothing half-stored.
    pub(crate) async fn keep(
        &self,
        actor: &User,
        image: &EncodedImage,
        source: MediaSource,
    ) -> Result<MediaView> {
        let store = self.media_store()?;
        let (key, outcome) = natronfx_media::store_image(store.as_ref(), image).await?;
        let record = MediaRecord {
            id: MediaId::random(),
            key: key.as_str().to_owned(),
            sha256: image.sha256.clone(),
            bytes: i64::try_from(image.bytes.len()).unwrap_or(i64::MAX),
            width: i32::try_from(image.width).unwrap_or(i32::MAX),
            height: i32::try_from(image.height).unwrap_or(i32::MAX),
            format: image.format.extension().replace("jpg", "jpeg"),
            source,
            created_by: Some(actor.id),
            created_at: self.now(),
        };
        let id = match self.store.insert_media(&record).await {
            Ok(id) => id,
            Err(e) => {
                if outcome == PutOutcome::Created
                    && let Err(cleanup) = store.delete(&key).await
                {
                    tracing::warn!(key = key.as_str(), error = %cleanup, "could not remove orphaned media");
                }
                return Err(e.into());
            }
        };
        self.view(self.store.media(id).await?).await
    }

    /// Ingests an upload (JPEG, PNG or WebP, by content): validated under the configured limits, oriented,
    /// stripped of metadata, stored once per content.
    pub async fn add_media(&self, actor: &User, bytes: Vec<u8>) -> Result<MediaView> {
        authorize(actor, Action::CreatePost, None)?;
        let image = natronfx_media::ingest(bytes, self.media_limits).await?;
        self.keep(actor, &image, MediaSource::Upload).await
    }

    /// One stored image.
    pub async fn media(&self, actor: &User, id: MediaId) -> Result<MediaView> {
        authorize(actor, Action::ViewPost, None)?;
        self.view(self.store.media(id).await?).await
    }

    /// The newest stored images.
    pub async fn list_media(&self, actor: &User, limit: u32) -> Result<Vec<MediaView>> {
        authorize(actor, Action::ViewPost, None)?;
        let mut out = Vec::new();
        for record in self.store.list_media(limit).await? {
            out.push(self.view(record).await?);
        }
        Ok(out)
    }

    /// Renders a carousel spec and stores every slide (source `rendered`). Backgrounds may name stored
    /// media by id or key, or files relative to `options.base_dir`.
    pub async fn render_media(
        &self,
        actor: &User,
        spec: CarouselSpec,
        options: RenderOptions,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Vec<MediaView>> {
        authorize(actor, Action::CreatePost, None)?;
        let resolver = Arc::new(StoreResolver {
            service: self.clone(),
            runtime: tokio::runtime::Handle::current(),
        });
        let backgrounds: Vec<Option<String>> = spec
            .slides
            .iter()
            .map(|slide| {
                match slide
                    .background
                    .as_ref()
                    .or(spec.defaults.background.as_ref())
                {
                    Some(natronfx_media::render::Background::Image {
                        media: Some(reference),
                        ..
                    }) => Some(reference.clone()),
                    _ => None,
                }
            })
            .collect();
        let slides = natronfx_media::render_carousel_async(spec, resolver, options).await?;
        let mut out = Vec::with_capacity(slides.len());
        for (i, slide) in slides.iter().enumerate() {
            // A slide drawn over a generated image is AI-generated content too.
            let origin = match backgrounds.get(i).and_then(Option::as_deref) {
                Some(reference) => self.media_id_of(reference).await?,
                None => None,
            };
            out.push(match origin {
                Some(origin) => {
                    self.keep_derived(actor, slide, MediaSource::Rendered, origin)
                        .await?
                }
                None => self.keep(actor, slide, MediaSource::Rendered).await?,
            });
            progress(i + 1, slides.len());
        }
        Ok(out)
    }

    /// The bytes of a stored image.
    pub async fn media_content(&self, actor: &User, id: MediaId) -> Result<Vec<u8>> {
        authorize(actor, Action::ViewPost, None)?;
        self.media_bytes(&id.to_string()).await
    }

    /// The bytes of a stored image, by id, without a permission check (internal use).
    pub(crate) async fn media_content_by_id(&self, id: MediaId) -> Result<Vec<u8>> {
        self.media_bytes(&id.to_string()).await
    }

    /// The bytes of a stored image, by id or key.
    pub(crate) async fn media_bytes(&self, reference: &str) -> Result<Vec<u8>> {
        let key = match reference.parse::<MediaId>() {
            Ok(id) => MediaKey::parse(&self.store.media(id).await?.key)?,
            Err(_) => MediaKey::parse(reference)?,
        };
        Ok(self.media_store()?.get(&key).await?)
    }
}

/// Lets the renderer (on a blocking thread) read backgrounds from the media store.
struct StoreResolver {
    service: Service,
    runtime: tokio::runtime::Handle,
}

impl MediaResolver for StoreResolver {
    fn fetch(&self, media_id: &str) -> natronfx_media::Result<Vec<u8>> {
        self.runtime
            .block_on(self.service.media_bytes(media_id))
            .map_err(|e| natronfx_media::Error::BackgroundUnavailable {
                reference: media_id.to_owned(),
                detail: e.to_string(),
            })
    }
}

impl Service {
    /// Replaces every slide that breaks `platform`'s image rules with a variant that fits (TikTok: scaled
    /// down to 1080 wide; Instagram: centre-cropped into 4:5..1.91:1, at most 1440 wide), stored as
    /// rendered media. Slides are shared by all targets, so the variant is what every platform gets. This
    /// is an edit: outside draft the post returns to draft. Returns the post's findings afterwards.
    pub async fn fix_post_images(
        &self,
        actor: &User,
        id: natronfx_workflow::PostId,
        platform: natronfx_workflow::Platform,
    ) -> Result<(natronfx_workflow::Post, Vec<natronfx_workflow::Finding>)> {
        use natronfx_workflow::Platform;
        let post = self.post(actor, id).await?;
        // Fixing is editing, whether or not a slide turns out to need a variant.
        natronfx_workflow::authorize(actor, natronfx_workflow::Action::EditPost, Some(&post))?;
        let mut slides = Vec::with_capacity(post.slides.len());
        let mut changed = false;
        for slide in &post.slides {
            // Judge by the stored facts; only slides that need a variant are read and decoded.
            let record = self.store.media(slide.media_id).await?;
            let (w, h) = (
                u32::try_from(record.width).unwrap_or(0),
                u32::try_from(record.height).unwrap_or(0),
            );
            let fits = match platform {
                Platform::Tiktok => {
                    natronfx_media::platform::tiktok_size_ok(w, h)
                        && matches!(record.format.as_str(), "jpeg" | "webp")
                }
                Platform::Instagram => {
                    natronfx_media::platform::instagram_ratio_ok(w, h)
                        && record.format == "jpeg"
                        && w <= 1440
                }
                Platform::Facebook => true,
            };
            let media_id = if fits {
                slide.media_id
            } else {
                let bytes = self.media_bytes(&record.key).await?;
                let image = tokio::task::spawn_blocking(move || {
                    natronfx_media::ingest_blocking(&bytes, &IngestLimits::default())
                })
                .await
                .map_err(|e| Error::Internal(e.to_string()))??;
                let variant = tokio::task::spawn_blocking(move || match platform {
                    Platform::Instagram => natronfx_media::platform::instagram_variant(&image),
                    _ => natronfx_media::platform::tiktok_variant(&image),
                })
                .await
                .map_err(|e| Error::Internal(e.to_string()))??;
                changed = true;
                // A variant of a generated image is still AI-generated content.
                self.keep_derived(actor, &variant, MediaSource::Rendered, slide.media_id)
                    .await?
                    .id
            };
            slides.push(crate::SlideInput {
                media_id: media_id.to_string(),
                alt_text: slide.alt_text.as_str().to_owned(),
            });
        }
        let post = if changed {
            let patch = crate::PostPatch {
                slides: Some(slides),
                expected_version: Some(post.version),
                ..Default::default()
            };
            self.edit_post(actor, id, patch).await?
        } else {
            post
        };
        let findings = self.findings(&post).await?;
        Ok((post, findings))
    }
}

impl Service {
    /// What `platform` will show of a post: the data, and the same drawn as a PNG sheet. The account and
    /// caption are those of the post's first target on that platform (the post's own caption when it has
    /// none there).
    pub async fn preview_post(
        &self,
        actor: &User,
        id: natronfx_workflow::PostId,
        platform: natronfx_workflow::Platform,
    ) -> Result<(natronfx_workflow::preview::Preview, EncodedImage)> {
        let post = self.post(actor, id).await?;
        let target = post.targets.iter().find(|t| t.platform == platform);
        let account = match target {
            Some(t) => self.store.account(t.account_id).await?.display_name,
            None => format!("your {platform} account"),
        };
        let caption = target
            .and_then(|t| t.caption_override.as_ref())
            .unwrap_or(&post.caption)
            .as_str()
            .to_owned();
        let hashtags: Vec<_> = post.extra_hashtags.iter().cloned().collect();
        let text = natronfx_workflow::quality::published_caption(&caption, &hashtags);
        let mut slides = Vec::with_capacity(post.slides.len());
        let mut first = None;
        for slide in &post.slides {
            let record = self.store.media(slide.media_id).await?;
            first.get_or_insert((
                u32::try_from(record.width).unwrap_or(0),
                u32::try_from(record.height).unwrap_or(0),
            ));
            slides.push(self.media_bytes(&record.key).await?);
        }
        let preview = natronfx_workflow::preview::preview(
            platform,
            &account,
            post.title.as_str(),
            &text,
            first,
        );
        let data = preview.clone();
        let sheet = tokio::task::spawn_blocking(move || {
            natronfx_media::preview::render_preview(&data, &slides)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        Ok((preview, sheet))
    }
}
