//! AI images: generate with an image model, ingest like an upload, fit to a slide canvas, and keep where
//! every generated (or derived) image came from, so the publishing path can label the post (TikTok
//! `is_aigc`).

use std::sync::Arc;
use std::time::Duration;

use natronfx_media::render::CanvasPreset;
use natronfx_media::{EncodedImage, Fit, PutOutcome};
pub use natronfx_platforms::{ImageBackground, ImageQuality, ImageSize};
use natronfx_platforms::{ImageRequest, ImagesConfig, OpenAiImages};
use natronfx_store::{MediaProvenance, MediaRecord, MediaSource};
use natronfx_workflow::{
    Action, AuditAction, AuditEvent, MediaId, Post, PostId, User, UserId, authorize,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::{Error, MediaView, PostView, Result, Service, SystemSecret};

/// What made generated images: recorded with each.
const GENERATOR: &str = "openai-images";

/// The `[images]` section: the OpenAI Images API. Generation is off until `api_key` is set here, or an
/// admin keeps the key in the vault (`natronfx vault secret set images_api_key`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImagesSettings {
    /// The API key. A secret: read from the file or `NATRONFX_IMAGES__API_KEY`, never written back out.
    #[serde(skip_serializing)]
    pub api_key: Option<SecretString>,
    /// The API's address (the simulator's `/openai` address for a sandbox).
    pub base_url: String,
    /// The model (always sent: the API would otherwise use `dall-e-2`).
    pub model: String,
    /// Longest wait for one generation, in seconds.
    pub timeout_secs: u64,
    /// How many times a rate limit or a server error is retried before it is reported.
    pub max_retries: u32,
}

impl Default for ImagesSettings {
    fn default() -> Self {
        ImagesSettings {
            api_key: None,
            base_url: "https://api.openai.com".into(),
            model: "gpt-image-1".into(),
            timeout_secs: 180,
            max_retries: 2,
        }
    }
}

impl ImagesSettings {
    /// The client, or `None` when no API key is configured.
    ///
    /// # Errors
    /// `image-config-invalid` for an unusable base URL or model.
    pub fn client(&self) -> Result<Option<OpenAiImages>> {
        let Some(key) = self
            .api_key
            .as_ref()
            .filter(|k| !k.expose_secret().trim().is_empty())
        else {
            return Ok(None);
        };
        let mut config = ImagesConfig::new(key.clone());
        config.base_url = self.base_url.clone();
        config.model = self.model.clone();
        config.timeout = Duration::from_secs(self.timeout_secs.max(1));
        config.max_retries = self.max_retries;
        Ok(Some(OpenAiImages::new(config)?))
    }
}

/// How a generated image becomes a slide: the canvas it fills and how.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlideFit {
    /// The slide canvas (`portrait` 1080×1350 by default).
    #[serde(default)]
    pub canvas: CanvasPreset,
    /// Cover-crop around a focal point (default: the centre), or pad with a colour.
    #[serde(default)]
    pub fit: Fit,
}

/// What to generate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    /// What the image shows.
    pub prompt: String,
    /// `1024x1024` (default), `1024x1536` or `1536x1024`.
    #[serde(default = "default_size")]
    pub size: ImageSize,
    /// `low`, `medium`, `high` or `auto` (default).
    #[serde(default)]
    pub quality: ImageQuality,
    /// `opaque` or `auto` (default).
    #[serde(default)]
    pub background: ImageBackground,
    /// How many images, 1 to 10 (default 1).
    #[serde(default = "default_count")]
    pub n: u8,
    /// Also store each image fitted to a slide canvas.
    #[serde(default)]
    pub fit: Option<SlideFit>,
}

fn default_size() -> ImageSize {
    ImageSize::Square
}

fn default_count() -> u8 {
    1
}

impl GenerateRequest {
    /// One image of `size`, with the service's defaults otherwise.
    pub fn new(prompt: impl Into<String>, size: ImageSize) -> Self {
        GenerateRequest {
            prompt: prompt.into(),
            size,
            quality: ImageQuality::Auto,
            background: ImageBackground::Auto,
            n: 1,
            fit: None,
        }
    }
}

/// Where an image came from, as both binaries show it.
#[derive(Debug, Clone, Serialize)]
pub struct ProvenanceView {
    /// The service that made it (`openai-images`).
    pub generator: String,
    /// The model.
    pub model: String,
    /// The prompt.
    pub prompt: String,
    /// The size the model made.
    pub size: String,
    /// The quality it resolved.
    pub quality: Option<String>,
    /// The background it used.
    pub background: Option<String>,
    /// The usage the service reported for the request that made it (tokens).
    pub usage: serde_json::Value,
    /// Who asked.
    pub requested_by: Option<UserId>,
    /// When.
    pub requested_at: chrono::DateTime<chrono::Utc>,
    /// For an image made from a generated one (a fitted slide, a variant): that original.
    pub derived_from: Option<MediaId>,
}

impl From<MediaProvenance> for ProvenanceView {
    fn from(p: MediaProvenance) -> Self {
        ProvenanceView {
            generator: p.generator,
            model: p.model,
            prompt: p.prompt,
            size: p.size,
            quality: p.quality,
            background: p.background,
            usage: p.usage,
            requested_by: p.requested_by,
            requested_at: p.requested_at,
            derived_from: p.derived_from,
        }
    }
}

/// One generated image: as the model made it, fitted to a slide when asked, and its provenance.
#[derive(Debug, Clone, Serialize)]
pub struct GeneratedMedia {
    /// The image as generated (ingested like an upload: JPEG, no metadata), source `generated`.
    pub media: MediaView,
    /// The same fitted to the slide canvas, source `generated`, when a fit was asked for.
    pub slide: Option<MediaView>,
    /// Where it came from.
    pub provenance: ProvenanceView,
}

/// One image to store with its record's source and provenance.
struct Derived<'a> {
    image: &'a EncodedImage,
    source: MediaSource,
    provenance: MediaProvenance,
}

impl Service {
    fn record(&self, actor: &User, image: &EncodedImage, source: MediaSource) -> MediaRecord {
        MediaRecord {
            id: MediaId::random(),
            key: image.key().as_str().to_owned(),
            sha256: image.sha256.clone(),
            bytes: i64::try_from(image.bytes.len()).unwrap_or(i64::MAX),
            width: i32::try_from(image.width).unwrap_or(i32::MAX),
            height: i32::try_from(image.height).unwrap_or(i32::MAX),
            format: image.format.extension().replace("jpg", "jpeg"),
            source,
            created_by: Some(actor.id),
            created_at: self.now(),
        }
    }

    /// Stores the objects, then their rows with provenance and `events` in one transaction; removes the
    /// objects it created when the rows cannot be written. A provenance's `derived_from` may name an
    /// earlier item's record id.
    async fn keep_with_provenance(
        &self,
        actor: &User,
        items: Vec<Derived<'_>>,
        events: &[AuditEvent],
    ) -> Result<Vec<MediaId>> {
        let store = self.media_store()?.clone();
        let mut created = Vec::new();
        let mut rows = Vec::with_capacity(items.len());
        let mut stored = Ok(());
        for item in &items {
            match natronfx_media::store_image(store.as_ref(), item.image).await {
                Ok((key, outcome)) => {
                    if outcome == PutOutcome::Created {
                        created.push(key);
                    }
                }
                Err(e) => {
                    stored = Err(Error::from(e));
                    break;
                }
            }
            rows.push((
                self.record(actor, item.image, item.source),
                item.provenance.clone(),
            ));
        }
        // Derived items name their origin by the record id this call gave it.
        let ids: Vec<MediaId> = rows.iter().map(|(r, _)| r.id).collect();
        for (_, p) in &mut rows {
            if let Some(i) = items
                .iter()
                .position(|it| Some(it.provenance.media_id) == p.derived_from)
            {
                p.derived_from = Some(ids[i]);
            }
        }
        let written = match stored {
            Ok(()) => self
                .store
                .insert_media_with_provenance(&rows, events)
                .await
                .map_err(Error::from),
            Err(e) => Err(e),
        };
        match written {
            Ok(ids) => Ok(ids),
            Err(e) => {
                for key in created {
                    if let Err(cleanup) = store.delete(&key).await {
                        tracing::warn!(key = key.as_str(), error = %cleanup, "could not remove orphaned media");
                    }
                }
                Err(e)
            }
        }
    }

    /// Stores an image made from `origin` (a variant, a fitted or rendered slide). When `origin` is
    /// AI-generated the new image carries its provenance (pointing at the generated original), so slides
    /// made from it are labelled too; otherwise it is stored plainly with `source`.
    pub(crate) async fn keep_derived(
        &self,
        actor: &User,
        image: &EncodedImage,
        source: MediaSource,
        origin: MediaId,
    ) -> Result<MediaView> {
        let Some(first) = self.store.provenance_of(origin).await?.into_iter().next() else {
            let generated = !self.store.generated_among(&[origin]).await?.is_empty();
            let source = if generated {
                MediaSource::Generated
            } else {
                source
            };
            return self.keep(actor, image, source).await;
        };
        let provenance = MediaProvenance {
            id: uuid::Uuid::now_v7(),
            media_id: MediaId::random(),
            derived_from: Some(first.derived_from.unwrap_or(origin)),
            ..first
        };
        let ids = self
            .keep_with_provenance(
                actor,
                vec![Derived {
                    image,
                    source,
                    provenance,
                }],
                &[],
            )
            .await?;
        self.view(self.store.media(ids[0]).await?).await
    }

    /// The media id a background reference (an id or a key) names, when it names stored media.
    pub(crate) async fn media_id_of(&self, reference: &str) -> Result<Option<MediaId>> {
        match reference.parse::<MediaId>() {
            Ok(id) => Ok(Some(id)),
            Err(_) => Ok(self.store.media_id_by_key(reference.trim()).await?),
        }
    }

    /// Whether images can be generated: an image API key is configured, or the vault keeps one.
    pub async fn can_generate_images(&self) -> bool {
        if self.images_configured() {
            return true;
        }
        let Some(vault) = self.vault() else {
            return false;
        };
        match vault.service_secret_infos().await {
            Ok(stored) => stored
                .iter()
                .any(|s| s.name == SystemSecret::ImagesApiKey.name()),
            Err(e) => {
                tracing::warn!(code = e.code(), error = %e, "cannot read the vault's image API key");
                false
            }
        }
    }

    /// Whether the configuration itself gives an image API key (it takes precedence over the vault's).
    pub(crate) fn images_configured(&self) -> bool {
        self.images.is_some()
    }

    /// The image client: the configured key's, else one with the key the vault keeps.
    async fn images_client(&self) -> Result<Arc<OpenAiImages>> {
        if let Some(client) = &self.images {
            return Ok(client.clone());
        }
        if let Some(key) = self
            .stored_system_secret(SystemSecret::ImagesApiKey)
            .await?
        {
            let settings = ImagesSettings {
                api_key: Some(key.into_secret_string()),
                ..self.images_settings.clone()
            };
            if let Some(client) = settings.client()? {
                return Ok(Arc::new(client));
            }
        }
        Err(Error::Config(
            "image generation is not configured: set [images] api_key (or NATRONFX_IMAGES__API_KEY), \
             or keep the key in the vault with `natronfx vault secret set images_api_key`"
                .into(),
        ))
    }

    /// Generates images with the configured image model and stores each as media with source `generated`
    /// and its provenance (prompt, model, size, usage, who asked, when), after the same ingest as an
    /// upload; with `fit`, also the image fitted to a slide canvas (a 1024×1536 portrait is narrower than
    /// Instagram's 4:5, so it is cover-cropped or padded to 1080×1350). One audit event records the
    /// request. A refused prompt (`image-prompt-blocked`), an exhausted quota and the other failures of
    /// the image service store nothing.
    pub async fn generate_media(
        &self,
        actor: &User,
        request: GenerateRequest,
    ) -> Result<Vec<GeneratedMedia>> {
        authorize(actor, Action::CreatePost, None)?;
        if let Some(fit) = &request.fit {
            fit.fit.validate()?;
        }
        let client = self.images_client().await?;
        self.media_store()?;
        let wire = ImageRequest {
            prompt: request.prompt.clone(),
            size: request.size,
            quality: request.quality,
            background: request.background,
            n: request.n,
            user: Some(actor.id.to_string()),
        };
        let generated = client.generate(&wire).await?;
        let usage = match generated.usage {
            Some(u) => serde_json::to_value(u).map_err(|e| Error::Internal(e.to_string()))?,
            None => serde_json::json!({}),
        };
        let requested_at = self.now();
        let mut originals = Vec::with_capacity(generated.images.len());
        let mut slides = Vec::with_capacity(generated.images.len());
        for bytes in generated.images {
            let image = natronfx_media::ingest(bytes, self.media_limits).await?;
            let slide = match request.fit {
                Some(SlideFit { canvas, fit }) => {
                    let source = image.bytes.clone();
                    Some(
                        tokio::task::spawn_blocking(move || {
                            natronfx_media::fit_to_canvas(&source, canvas, fit)
                        })
                        .await
                        .map_err(|e| Error::Internal(e.to_string()))??,
                    )
                }
                None => None,
            };
            originals.push(image);
            slides.push(slide);
        }
        let provenance = |derived_from: Option<MediaId>| MediaProvenance {
            id: uuid::Uuid::now_v7(),
            media_id: MediaId::random(),
            derived_from,
            generator: GENERATOR.into(),
            model: generated.model.clone(),
            prompt: request.prompt.clone(),
            size: generated.size.clone(),
            quality: generated.quality.clone(),
            background: generated.background.clone(),
            usage: usage.clone(),
            requested_by: Some(actor.id),
            requested_at,
        };
        let mut items = Vec::new();
        for (original, slide) in originals.iter().zip(&slides) {
            let own = provenance(None);
            let origin = own.media_id;
            items.push(Derived {
                image: original,
                source: MediaSource::Generated,
                provenance: own,
            });
            if let Some(slide) = slide {
                items.push(Derived {
                    image: slide,
                    source: MediaSource::Generated,
                    provenance: provenance(Some(origin)),
                });
            }
        }
        let tokens = generated.usage.map_or(0, |u| u.total_tokens);
        let event = AuditEvent::new(
            requested_at,
            Some(actor.id),
            AuditAction::MediaGenerated,
            "media-provenance",
            items[0].provenance.id,
        )
        .with_note(Some(format!(
            "{} {}, {} image(s), {tokens} tokens",
            generated.model,
            generated.size,
            originals.len()
        )));
        let ids = self.keep_with_provenance(actor, items, &[event]).await?;
        let per_image = if request.fit.is_some() { 2 } else { 1 };
        let mut out = Vec::with_capacity(originals.len());
        for chunk in ids.chunks(per_image) {
            let media = self.view(self.store.media(chunk[0]).await?).await?;
            let slide = match chunk.get(1) {
                Some(id) => Some(self.view(self.store.media(*id).await?).await?),
                None => None,
            };
            let provenance = self
                .store
                .provenance_of(chunk[0])
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| Error::Internal("provenance was not stored".into()))?;
            out.push(GeneratedMedia {
                media,
                slide,
                provenance: provenance.into(),
            });
        }
        Ok(out)
    }

    /// Stores `media` fitted to a slide canvas, as rendered media (keeping its AI provenance when it was
    /// generated).
    pub async fn fit_media(&self, actor: &User, id: MediaId, fit: SlideFit) -> Result<MediaView> {
        authorize(actor, Action::CreatePost, None)?;
        fit.fit.validate()?;
        let bytes = self.media_bytes(&id.to_string()).await?;
        let fitted = tokio::task::spawn_blocking(move || {
            natronfx_media::fit_to_canvas(&bytes, fit.canvas, fit.fit)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        self.keep_derived(actor, &fitted, MediaSource::Rendered, id)
            .await
    }

    /// Where an image came from, newest first; empty for uploads and plain renders.
    pub async fn media_provenance(&self, actor: &User, id: MediaId) -> Result<Vec<ProvenanceView>> {
        authorize(actor, Action::ViewPost, None)?;
        self.store.media(id).await?;
        Ok(self
            .store
            .provenance_of(id)
            .await?
            .into_iter()
            .map(ProvenanceView::from)
            .collect())
    }

    /// For each slide of `post`, in order: whether its image is AI-generated (made by an image model, or
    /// made from such an image). No permission check: the publishing path calls it.
    pub async fn generated_slides(&self, post: &Post) -> Result<Vec<bool>> {
        let ids: Vec<MediaId> = post.slides.iter().map(|s| s.media_id).collect();
        let generated = self.store.generated_among(&ids).await?;
        Ok(ids.iter().map(|id| generated.contains(id)).collect())
    }

    /// Whether publishing `post` must label it AI-generated (TikTok `PublishRequest::is_aigc`): true when
    /// any slide is. No permission check: the publishing path calls it.
    pub async fn post_is_aigc(&self, post: &Post) -> Result<bool> {
        Ok(self.generated_slides(post).await?.contains(&true))
    }

    /// A post as both binaries show it, with which slides are AI-generated.
    pub async fn post_view(&self, actor: &User, id: PostId) -> Result<PostView> {
        let post = self.post(actor, id).await?;
        let mut view = PostView::from(&post);
        view.generated_slides = Some(self.generated_slides(&post).await?);
        Ok(view)
    }
}
