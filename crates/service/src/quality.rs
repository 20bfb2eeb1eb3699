//! Quality checks of a post against every platform it targets: the service gathers the facts (stored image
//! facts, schedules, the account's other posts) and the workflow's pure rules judge them.

use std::collections::HashMap;

use chrono::Duration;
use natronfx_workflow::{
    Action, CheckInput, Finding, Platform, Post, PostId, SlideFacts, SlideFormat, TargetState,
    TikTokChoices, UrlProbe, User, authorize, quality,
};

use crate::{Error, Result, Service};

/// How long a platform-style fetch of a slide's public URL may take before it counts as unreachable.
const URL_PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Requests `url` as the platforms do: a plain GET, no redirect followed, a short timeout.
async fn probe(client: &reqwest::Client, url: &str) -> UrlProbe {
    match client.get(url).send().await {
        Ok(resp) => {
            let header = |name| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            UrlProbe::Answered {
                status: resp.status().as_u16(),
                content_type: header(reqwest::header::CONTENT_TYPE),
                location: header(reqwest::header::LOCATION),
            }
        }
        Err(e) if e.is_timeout() => UrlProbe::Failed {
            reason: format!("no answer within {URL_PROBE_TIMEOUT:?}"),
        },
        Err(e) => UrlProbe::Failed {
            reason: e.to_string(),
        },
    }
}

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
        self.require_media_present(post).await?;
        let mut slides = Vec::with_capacity(post.slides.len());
        let mut keys = Vec::with_capacity(post.slides.len());
        for slide in &post.slides {
            let media = self.store.media(slide.media_id).await?;
            keys.push(natronfx_media::MediaKey::parse(&media.key)?);
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
                url_probe: None,
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
        // Real accounts pull from the public URLs: each distinct URL is requested once, right now.
        // Sandbox accounts are served by the simulator, which also reaches loopback, so they skip this.
        let accounts = self.store.list_accounts().await?;
        let is_sandbox = |id| accounts.iter().any(|a| a.id == id && a.sandbox);
        let mut probes: HashMap<String, UrlProbe> = HashMap::new();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(URL_PROBE_TIMEOUT)
            .build()
            .map_err(|e| Error::Internal(format!("http client: {e}")))?;
        let our_slides = self.slide_hashes_if_history(post).await?;
        let mut all = Vec::new();
        for target in unsent {
            let mut input = base.clone();
            if let Some(slides) = &our_slides {
                input.earlier_posts = self.earlier_posts(post, target, slides).await?;
            }
            if !is_sandbox(target.account_id) {
                input.account = Some(self.account_facts(target.account_id).await?);
            }
            if let (Some(store), false) = (&self.media, is_sandbox(target.account_id)) {
                for (slide, key) in input.slides.iter_mut().zip(&keys) {
                    let url = match store.resolve_public_url(key).await {
                        Ok(url) => url,
                        Err(_) => store.public_url(key),
                    };
                    if !probes.contains_key(&url) {
                        probes.insert(url.clone(), probe(&client, &url).await);
                    }
                    slide.url_probe = probes.get(&url).cloned();
                    slide.public_url = Some(url);
                }
            }
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

    /// The account's connection state and its access token's lifetime, from the sealed credentials'
    /// metadata (nothing is decrypted).
    async fn account_facts(
        &self,
        id: natronfx_workflow::AccountId,
    ) -> Result<natronfx_workflow::AccountFacts> {
        let connection = self.store.connection(id).await?;
        let credentials = self.store.credentials_of(id).await?;
        let field = |name: &str| credentials.iter().find(|c| c.field == name);
        Ok(natronfx_workflow::AccountFacts {
            refreshable: crate::accounts::refreshable(
                &connection,
                field(crate::accounts::REFRESH_TOKEN).is_some(),
            ),
            access_expires_at: field(crate::accounts::ACCESS_TOKEN).and_then(|c| c.expires_at),
            name: connection.account.display_name,
            status: connection.account.status,
        })
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
