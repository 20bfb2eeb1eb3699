//! Quality checks of a post against every platform it targets: the service gathers the facts (stored image
//! facts, schedules, the account's other posts) and the workflow's pure rules judge them.

use chrono::Duration;
use natronfx_workflow::{
    Action, CheckInput, Finding, Platform, Post, PostId, SlideFacts, SlideFormat, TargetState,
    TikTokChoices, User, authorize, quality,
};

use crate::{Error, Result, Service};

impl Service {
    /// The findings of every rule for every unsent target of a post (the everywhere rules alone when it has
    /// no target yet).
    pub async fn check_post(&self, actor: &User, id: PostId) -> Result<Vec<Finding>> {
        authorize(actor, Action::ViewPost, None)?;
        let post = self.store.post(id).await?;
        self.findings(&post).await
    }

    /// The findings for a post as it is (or as it would be after an operation, before it is saved).
    pub(crate) async fn findings(&self, post: &Post) -> Result<Vec<Finding>> {
        let mut slides = Vec::with_capacity(post.slides.len());
        for slide in &post.slides {
            let media = self.store.media(slide.media_id).await?;
            let format = match media.format.as_str() {
                "jpeg" => SlideFormat::Jpeg,
                "png" => SlideFormat::Png,
                "webp" => SlideFormat::Webp,
                other => {
                    return Err(Error::Internal(format!(
                        "media {} has unknown format {other}",
                        media.id
                    )));
                }
            };
            slides.push(SlideFacts {
                format,
                width: u32::try_from(media.width).unwrap_or(0),
                height: u32::try_from(media.height).unwrap_or(0),
                bytes: u64::try_from(media.bytes).unwrap_or(0),
                alt_text: slide.alt_text.as_str().to_owned(),
                public_url: None,
            });
        }
        let mut base = CheckInput::new(
            post.title.as_str(),
            post.caption.as_str(),
            slides,
            self.now(),
        );
        base.hashtags = post.extra_hashtags.iter().cloned().collect();
        base.rules = self.quality.clone();
        let unsent: Vec<_> = post
            .targets
            .iter()
            .filter(|t| !matches!(t.state, TargetState::Published | TargetState::Cancelled))
            .collect();
        if unsent.is_empty() {
            return Ok(quality::common::check(&base));
        }
        let mut all = Vec::new();
        for target in unsent {
            let mut input = base.clone();
            if let Some(caption) = &target.caption_override {
                input.caption = caption.as_str().to_owned();
            }
            input.scheduled_at = target.scheduled_at.map(|s| s.instant());
            match target.platform {
                Platform::Tiktok => {
                    input.tiktok = Some(TikTokChoices {
                        privacy_level: target.options.privacy_level.clone(),
                        creator_privacy_options: None,
                        brand_content: target.options.brand_content,
                    });
                }
                Platform::Instagram => {
                    if let Some(at) = input.scheduled_at {
                        let n = self
                            .store
                            .targets_for_account_between(
                                target.account_id,
                                at - Duration::hours(24),
                                at + Duration::hours(24),
                                post.id,
                            )
                            .await?;
                        input.instagram_scheduled_in_24h =
                            Some(u32::try_from(n).unwrap_or(u32::MAX));
                    }
                }
                Platform::Facebook => {}
            }
            all.extend(quality::check(target.platform, &input));
        }
        Ok(quality::merge(all))
    }

    /// Refuses with `quality-check-failed` when any finding is an error.
    pub(crate) async fn require_quality(&self, post: &Post) -> Result<()> {
        let findings = self.findings(post).await?;
        if quality::blocks(&findings) {
            return Err(Error::QualityCheckFailed(findings));
        }
        Ok(())
    }
}
