//! Duplicate detection over the publishing history: fingerprints recorded as posts publish, an in-memory
//! near-duplicate index refreshed from the store, and the facts the review-time rule judges.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Duration;
use natronfx_dedupe::caption::CaptionFingerprint;
use natronfx_dedupe::image_hash::ImageFingerprint;
use natronfx_dedupe::index::HammingIndex;
use natronfx_store::{ContentFingerprint, SlideFingerprint};
use natronfx_workflow::{EarlierPost, Post, Target, TargetId, quality};
use tokio::sync::Mutex;

use crate::{Error, Result, Service};

/// The slide-hash index of every recorded fingerprint, and how far into the store it has read.
#[derive(Debug, Default)]
pub(crate) struct History {
    index: HammingIndex,
    loaded_up_to: i64,
    /// Perceptual hashes of recently seen media (content-addressed, so they never go stale); bounded.
    hashes: std::collections::HashMap<natronfx_workflow::MediaId, ImageFingerprint>,
}

/// How many media hashes are kept in memory.
const HASH_CACHE: usize = 4096;

/// Shared between clones of the service.
pub(crate) type SharedHistory = Arc<Mutex<History>>;

impl Service {
    /// Perceptual hashes of a post's slides, from the stored images.
    pub(crate) async fn slide_hashes(&self, post: &Post) -> Result<Vec<ImageFingerprint>> {
        let mut out = Vec::with_capacity(post.slides.len());
        for slide in &post.slides {
            if let Some(known) = self.history.lock().await.hashes.get(&slide.media_id) {
                out.push(*known);
                continue;
            }
            let bytes = self.media_content_by_id(slide.media_id).await?;
            let fingerprint = tokio::task::spawn_blocking(move || -> Result<ImageFingerprint> {
                let (_, pixels) = natronfx_media::ingest::decode(
                    &bytes,
                    &natronfx_media::IngestLimits::default(),
                )?;
                ImageFingerprint::of(&image::DynamicImage::ImageRgb8(pixels))
                    .map_err(|e| Error::Internal(format!("fingerprint: {e}")))
            })
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
            let mut history = self.history.lock().await;
            if history.hashes.len() >= HASH_CACHE {
                history.hashes.clear();
            }
            history.hashes.insert(slide.media_id, fingerprint);
            out.push(fingerprint);
        }
        Ok(out)
    }

    /// The text a target publishes as its caption.
    /// The caption as a target publishes it: its override or the post's, with the extra hashtags.
    pub(crate) fn published_text(post: &Post, target: &Target) -> String {
        let caption = target.caption_override.as_ref().unwrap_or(&post.caption);
        let hashtags: Vec<_> = post.extra_hashtags.iter().cloned().collect();
        quality::published_caption(caption.as_str(), &hashtags)
    }

    /// Records what a target published, for duplicate detection. Called when the platform confirmed it.
    pub async fn record_published(&self, post: &Post, target: TargetId) -> Result<i64> {
        let target = post
            .targets
            .iter()
            .find(|t| t.id == target)
            .ok_or_else(|| {
                Error::Internal(format!("{target} is not a target of post {}", post.id))
            })?;
        let caption = CaptionFingerprint::of(&Self::published_text(post, target));
        let slides = self.slide_hashes(post).await?;
        let fingerprint = ContentFingerprint {
            id: 0,
            post_id: post.id,
            account_id: target.account_id,
            platform: target.platform,
            published_at: self.now(),
            caption_exact: caption.exact.to_vec(),
            caption_simhash: caption.simhash,
            slides: slides
                .iter()
                .enumerate()
                .map(|(i, s)| SlideFingerprint {
                    position: u32::try_from(i).unwrap_or(u32::MAX),
                    dhash: s.dhash,
                    phash: s.phash,
                })
                .collect(),
        };
        let id = self.store.record_fingerprint(&fingerprint).await?;
        self.refresh_history().await?;
        Ok(id)
    }

    /// Reads fingerprints recorded since the last refresh (by any process) into the index.
    pub(crate) async fn refresh_history(&self) -> Result<()> {
        let mut history = self.history.lock().await;
        loop {
            let page = self
                .store
                .fingerprints_after(history.loaded_up_to, 1000)
                .await?;
            let Some(last) = page.last() else { break };
            let last_id = last.id;
            for fingerprint in &page {
                let reference = u32::try_from(fingerprint.id)
                    .map_err(|_| Error::Internal("fingerprint ids outgrew the index".into()))?;
                for slide in &fingerprint.slides {
                    history
                        .index
                        .insert(slide.dhash, reference)
                        .map_err(|e| Error::Internal(e.to_string()))?;
                }
            }
            history.loaded_up_to = last_id;
        }
        Ok(())
    }

    /// Forgets the index and reads every fingerprint again (after fingerprints were rewritten in place).
    pub(crate) async fn reload_history(&self) -> Result<()> {
        *self.history.lock().await = History::default();
        self.refresh_history().await
    }

    /// The ids of recorded fingerprints with a slide within `radius` of `hash`, with that distance.
    pub(crate) async fn history_search(&self, hash: u64, radius: u32) -> Vec<(i64, u32)> {
        self.history
            .lock()
            .await
            .index
            .search(hash, radius)
            .into_iter()
            .map(|hit| (i64::from(hit.id), hit.distance))
            .collect()
    }

    /// Earlier posts within the policy's scope and window that share slides or a caption with `post` as
    /// it would go to `target`. The index is as fresh as the caller's `slide_hashes_if_history` left it.
    pub(crate) async fn earlier_posts(
        &self,
        post: &Post,
        target: &Target,
        slides: &[ImageFingerprint],
    ) -> Result<Vec<EarlierPost>> {
        let policy = &self.quality.duplicates;
        let caption = CaptionFingerprint::of(&Self::published_text(post, target));
        // Candidate fingerprints: slide matches by id, with (our slide, distance) pairs.
        let mut candidates: BTreeMap<i64, Vec<(usize, u32)>> = BTreeMap::new();
        {
            let history = self.history.lock().await;
            for (i, slide) in slides.iter().enumerate() {
                for hit in history.index.search(slide.dhash, policy.radius) {
                    let entry = candidates.entry(i64::from(hit.id)).or_default();
                    match entry.iter_mut().find(|(s, _)| *s == i) {
                        Some((_, d)) => *d = (*d).min(hit.distance),
                        None => entry.push((i, hit.distance)),
                    }
                }
            }
        }
        for same in self.store.fingerprints_by_caption(&caption.exact).await? {
            candidates.entry(same.id).or_default();
        }
        let since = self.now() - Duration::days(i64::from(policy.window_days));
        let mut out = Vec::new();
        for (id, matched) in candidates {
            // Retention may have deleted it since this process indexed it: it is past the window.
            let earlier = match self.store.fingerprint(id).await {
                Ok(earlier) => earlier,
                Err(natronfx_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            let in_scope = policy.scope == "all" || earlier.account_id == target.account_id;
            if earlier.post_id == post.id || !in_scope || earlier.published_at < since {
                continue;
            }
            let theirs = CaptionFingerprint {
                exact: earlier
                    .caption_exact
                    .as_slice()
                    .try_into()
                    .unwrap_or([0; 32]),
                simhash: earlier.caption_simhash,
            };
            let account = self
                .store
                .account(earlier.account_id)
                .await
                .map(|a| a.display_name)
                .unwrap_or_else(|_| earlier.account_id.to_string());
            out.push(EarlierPost {
                account,
                published_at: earlier.published_at,
                slides: matched,
                caption_similarity: (caption.similarity(&theirs) * 100.0)
                    .round()
                    .clamp(0.0, 100.0) as u8,
                same_caption: caption.is_exact_match(&theirs),
            });
        }
        Ok(out)
    }

    /// The slide hashes of a post, only when there is any history to compare them with.
    pub(crate) async fn slide_hashes_if_history(
        &self,
        post: &Post,
    ) -> Result<Option<Vec<ImageFingerprint>>> {
        self.refresh_history().await?;
        if self.history.lock().await.index.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.slide_hashes(post).await?))
    }
}
