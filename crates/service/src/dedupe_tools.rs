//! Duplicate detection on demand: check an image or a post against the whole publishing history, and
//! rebuild the history's fingerprints from the stored media.
//!
//! "Published", for the rebuild, is what the store records today: targets in state `published` (of posts
//! that are `published` or `partially_published`). Each such target is fingerprinted from its post's
//! slides as stored now and the caption it went out with; its publish instant is the one already recorded
//! in its fingerprint, else its scheduled instant, else the post's last change.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use natronfx_dedupe::caption::CaptionFingerprint;
use natronfx_dedupe::image_hash::{ImageFingerprint, distance};
use natronfx_store::{ContentFingerprint, SlideFingerprint};
use natronfx_workflow::{
    AccountId, Action, AuditAction, AuditEvent, Platform, Post, PostId, TargetId, User, authorize,
    quality,
};
use serde::Serialize;

use crate::{Error, Result, Service};

/// One of our slides that looks like one of theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SlideMatch {
    /// Our slide, from 1 (always 1 for a single image).
    pub ours: usize,
    /// Their slide, from 1.
    pub theirs: u32,
    /// dHash distance (0 = the same picture, up to the radius).
    pub distance: u32,
}

/// Something published before that the checked content looks like.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateMatch {
    /// The earlier post.
    pub post_id: PostId,
    /// Its title, when the post is still stored.
    pub post_title: Option<String>,
    /// The account it went to.
    pub account_id: AccountId,
    /// That account's name (or its id when it is gone).
    pub account: String,
    /// Its platform.
    pub platform: Platform,
    /// When it was published.
    pub published_at: DateTime<Utc>,
    /// The slides that match, closest first per slide of ours.
    pub slides: Vec<SlideMatch>,
    /// How similar the captions are, in percent (only when a post is checked).
    pub caption_similarity: Option<u8>,
    /// The captions normalize to the same text and hashtags.
    pub same_caption: bool,
}

/// What a check found.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateReport {
    /// How many images were compared.
    pub checked_slides: usize,
    /// The dHash radius used.
    pub radius: u32,
    /// Matches, newest publication first.
    pub matches: Vec<DuplicateMatch>,
}

/// What a rebuild did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RebuildReport {
    /// Published targets found.
    pub targets: u64,
    /// Fingerprints recorded (new or replaced).
    pub recorded: u64,
    /// Targets that could not be fingerprinted, with the reason (their media is gone, ...).
    pub skipped: Vec<SkippedTarget>,
}

/// A published target the rebuild could not fingerprint.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedTarget {
    /// The post.
    pub post_id: PostId,
    /// The target.
    pub target_id: TargetId,
    /// Why.
    pub reason: String,
}

impl Service {
    /// Fingerprints of an image file's pixels (decoded under the ingest limits).
    async fn fingerprint_bytes(&self, bytes: Vec<u8>) -> Result<ImageFingerprint> {
        let limits = self.media_limits;
        tokio::task::spawn_blocking(move || -> Result<ImageFingerprint> {
            let (_, pixels) = natronfx_media::ingest::decode(&bytes, &limits)?;
            ImageFingerprint::of(&image::DynamicImage::ImageRgb8(pixels))
                .map_err(|e| Error::Internal(format!("fingerprint: {e}")))
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
    }

    /// Compares images (and optionally a caption) with every recorded fingerprint, all accounts, no
    /// time window. `exclude` leaves out a post's own history.
    async fn compare(
        &self,
        slides: &[ImageFingerprint],
        caption: Option<CaptionFingerprint>,
        exclude: Option<PostId>,
        radius: Option<u32>,
    ) -> Result<DuplicateReport> {
        let radius = radius
            .unwrap_or(self.quality.duplicates.radius)
            .min(natronfx_dedupe::image_hash::SAME_IMAGE_RADIUS * 2);
        self.refresh_history().await?;
        let mut candidates: BTreeMap<i64, ()> = BTreeMap::new();
        for slide in slides {
            for (id, _) in self.history_search(slide.dhash, radius).await {
                candidates.insert(id, ());
            }
        }
        if let Some(caption) = &caption {
            for same in self.store.fingerprints_by_caption(&caption.exact).await? {
                candidates.insert(same.id, ());
            }
        }
        let mut matches = Vec::new();
        for id in candidates.into_keys() {
            // Retention may have deleted it since this process indexed it: it is past the window.
            let earlier = match self.store.fingerprint(id).await {
                Ok(earlier) => earlier,
                Err(natronfx_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            if Some(earlier.post_id) == exclude {
                continue;
            }
            let mut slide_matches = Vec::new();
            for (i, ours) in slides.iter().enumerate() {
                let best = earlier
                    .slides
                    .iter()
                    .map(|theirs| (theirs.position, distance(ours.dhash, theirs.dhash)))
                    .filter(|(_, d)| *d <= radius)
                    .min_by_key(|(_, d)| *d);
                if let Some((position, d)) = best {
                    slide_matches.push(SlideMatch {
                        ours: i + 1,
                        theirs: position + 1,
                        distance: d,
                    });
                }
            }
            let theirs = CaptionFingerprint {
                exact: earlier
                    .caption_exact
                    .as_slice()
                    .try_into()
                    .unwrap_or([0; 32]),
                simhash: earlier.caption_simhash,
            };
            let same_caption = caption.is_some_and(|c| c.is_exact_match(&theirs));
            if slide_matches.is_empty() && !same_caption {
                continue;
            }
            let account = self
                .store
                .account(earlier.account_id)
                .await
                .map(|a| a.display_name)
                .unwrap_or_else(|_| earlier.account_id.to_string());
            let post_title = self
                .store
                .post(earlier.post_id)
                .await
                .ok()
                .map(|p| p.title.as_str().to_owned());
            matches.push(DuplicateMatch {
                post_id: earlier.post_id,
                post_title,
                account_id: earlier.account_id,
                account,
                platform: earlier.platform,
                published_at: earlier.published_at,
                slides: slide_matches,
                caption_similarity: caption
                    .map(|c| (c.similarity(&theirs) * 100.0).round().clamp(0.0, 100.0) as u8),
                same_caption,
            });
        }
        matches.sort_by_key(|m| std::cmp::Reverse(m.published_at));
        Ok(DuplicateReport {
            checked_slides: slides.len(),
            radius,
            matches,
        })
    }

    /// Checks an image (JPEG, PNG or WebP) against every slide published before, on every account.
    /// `radius` defaults to `[quality.duplicates] radius`.
    pub async fn dedupe_check_image(
        &self,
        actor: &User,
        bytes: Vec<u8>,
        radius: Option<u32>,
    ) -> Result<DuplicateReport> {
        authorize(actor, Action::ViewPost, None)?;
        let fingerprint = self.fingerprint_bytes(bytes).await?;
        self.compare(&[fingerprint], None, None, radius).await
    }

    /// Checks a post's slides and caption against everything published before, on every account, except
    /// the post's own publications.
    pub async fn dedupe_check_post(
        &self,
        actor: &User,
        id: PostId,
        radius: Option<u32>,
    ) -> Result<DuplicateReport> {
        let post = self.post(actor, id).await?;
        let slides = self.slide_hashes(&post).await?;
        let hashtags: Vec<_> = post.extra_hashtags.iter().cloned().collect();
        let caption = CaptionFingerprint::of(&quality::published_caption(
            post.caption.as_str(),
            &hashtags,
        ));
        self.compare(&slides, Some(caption), Some(post.id), radius)
            .await
    }

    /// Recomputes the fingerprint of every published target from the stored media (after the hashing
    /// changed, or to fill the history of content published before fingerprints were recorded).
    /// `progress` hears (done, total) after each target. Admins only; audited.
    pub async fn dedupe_rebuild(
        &self,
        actor: &User,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<RebuildReport> {
        authorize(actor, Action::ManageUsers, None)?;
        let total = u64::try_from(self.store.count_published_targets().await?).unwrap_or(0);
        // When each (post, account) was published, as already recorded.
        let mut recorded_at: HashMap<(PostId, AccountId), DateTime<Utc>> = HashMap::new();
        let mut after = 0;
        loop {
            let page = self.store.fingerprints_after(after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for f in page {
                recorded_at.insert((f.post_id, f.account_id), f.published_at);
            }
        }
        let mut report = RebuildReport {
            targets: total,
            ..Default::default()
        };
        let mut done = 0u64;
        let mut position = None;
        let mut current: Option<(Post, std::result::Result<Vec<ImageFingerprint>, String>)> = None;
        progress(0, total);
        loop {
            let page = self.store.published_targets(position, 200).await?;
            let Some(last) = page.last() else { break };
            position = Some((last.post_id, last.target_id));
            for published in page {
                if current.as_ref().map(|(p, _)| p.id) != Some(published.post_id) {
                    let post = self.store.post(published.post_id).await?;
                    let slides = self.slide_hashes(&post).await.map_err(|e| e.to_string());
                    current = Some((post, slides));
                }
                let Some((post, slides)) = &current else {
                    continue;
                };
                done += 1;
                let Some(target) = post.targets.iter().find(|t| t.id == published.target_id) else {
                    continue;
                };
                let slides = match slides {
                    Ok(slides) => slides,
                    Err(reason) => {
                        report.skipped.push(SkippedTarget {
                            post_id: post.id,
                            target_id: target.id,
                            reason: reason.clone(),
                        });
                        progress(done, total);
                        continue;
                    }
                };
                let caption = CaptionFingerprint::of(&Self::published_text(post, target));
                let published_at = recorded_at
                    .get(&(post.id, target.account_id))
                    .copied()
                    .or(published.scheduled_at)
                    .unwrap_or(published.post_updated_at);
                self.store
                    .record_fingerprint(&ContentFingerprint {
                        id: 0,
                        post_id: post.id,
                        account_id: target.account_id,
                        platform: target.platform,
                        published_at,
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
                    })
                    .await?;
                report.recorded += 1;
                progress(done, total);
            }
        }
        // Fingerprints were rewritten under their old ids: the index must forget the old hashes.
        self.reload_history().await?;
        let event = AuditEvent::new(
            self.now(),
            Some(actor.id),
            AuditAction::FingerprintsRebuilt,
            "fingerprints",
            "all",
        )
        .with_note(Some(format!(
            "{} published targets, {} fingerprints recorded, {} skipped",
            report.targets,
            report.recorded,
            report.skipped.len()
        )));
        self.store.append_audit(&[event]).await?;
        Ok(report)
    }
}
