//! Post use cases: create, edit, review, schedule, archive, read, list, history.

use chrono::{DateTime, Utc};
use natronfx_store::{PostFilter, PostSummary, StoredAuditEvent};
use natronfx_workflow::{
    Account, AccountId, Action, AltText, Ambiguity, AuditEvent, Caption, ContentEdit, Hashtag,
    LocalSchedule, Post, PostDraft, PostId, PostState, ScheduledAt, Slide, TargetId, TargetOptions,
    TargetSpec, Title, User, authorize,
};
use serde::Deserialize;

use crate::{Error, Result, Service};

/// A slide as a caller gives it.
#[derive(Debug, Clone, Deserialize)]
pub struct SlideInput {
    /// The stored media's id.
    pub media_id: String,
    /// Its description.
    #[serde(default)]
    pub alt_text: String,
}

/// A target as a caller gives it: an account by id or display name, and an optional caption for it.
#[derive(Debug, Clone, Deserialize)]
pub struct TargetInput {
    /// Account id, or its display name such as `@brand`.
    pub account: String,
    /// A caption used on this account instead of the post's.
    #[serde(default)]
    pub caption: Option<String>,
    /// The platform's per-post choices (TikTok privacy level and toggles).
    #[serde(default)]
    pub options: TargetOptions,
}

/// A new post as a caller gives it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PostInput {
    /// 1 to 150 characters.
    pub title: String,
    /// Up to 10,000 characters.
    #[serde(default)]
    pub caption: String,
    /// Hashtags beyond those written in the caption.
    #[serde(default)]
    pub hashtags: Vec<String>,
    /// Slides in order.
    #[serde(default)]
    pub slides: Vec<SlideInput>,
    /// Where to publish.
    #[serde(default)]
    pub targets: Vec<TargetInput>,
}

/// A change to a post; absent parts stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PostPatch {
    /// New title.
    pub title: Option<String>,
    /// New caption.
    pub caption: Option<String>,
    /// New extra hashtags.
    pub hashtags: Option<Vec<String>>,
    /// New slides.
    pub slides: Option<Vec<SlideInput>>,
    /// New targets.
    pub targets: Option<Vec<TargetInput>>,
    /// The version the caller loaded; a different stored version is a conflict.
    pub expected_version: Option<i64>,
}

/// When to publish, as a person says it.
#[derive(Debug, Clone, Deserialize)]
pub struct ScheduleRequest {
    /// Local date-time, `YYYY-MM-DD HH:MM`, or `now`.
    pub local: String,
    /// IANA zone such as `Europe/Lisbon`.
    pub zone: String,
    /// For a local time that happens twice: `earlier` (default) or `later`.
    #[serde(default)]
    pub ambiguity: Ambiguity,
    /// Only these targets (ids or account names); all unsent targets when empty.
    #[serde(default)]
    pub targets: Vec<String>,
    /// The version the caller loaded.
    pub expected_version: Option<i64>,
}

impl ScheduleRequest {
    /// Every unsent target, now (a second ahead, so the dispatcher picks it up at once).
    pub fn now() -> ScheduleRequest {
        ScheduleRequest {
            local: "now".into(),
            zone: "UTC".into(),
            ambiguity: Default::default(),
            targets: vec![],
            expected_version: None,
        }
    }
}

/// Whether an operation must pass the quality checks before it is saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// No check: the operation moves away from publishing (edit, unschedule, archive, ...).
    None,
    /// Error findings refuse it.
    Quality,
}

fn slides(input: &[SlideInput]) -> Result<Vec<Slide>> {
    input
        .iter()
        .map(|s| {
            Ok(Slide {
                media_id: s.media_id.parse()?,
                alt_text: AltText::parse(&s.alt_text)?,
            })
        })
        .collect()
}

fn hashtags(input: &[String]) -> Result<Vec<Hashtag>> {
    input.iter().map(|h| Ok(Hashtag::parse(h)?)).collect()
}

impl Service {
    fn find_account<'a>(&self, accounts: &'a [Account], reference: &str) -> Result<&'a Account> {
        let by_id = reference.parse::<AccountId>().ok();
        accounts
            .iter()
            .find(|a| Some(a.id) == by_id || a.display_name.eq_ignore_ascii_case(reference.trim()))
            .ok_or_else(|| {
                Error::Store(natronfx_store::Error::NotFound {
                    what: "account",
                    id: reference.to_owned(),
                })
            })
    }

    async fn targets(&self, input: &[TargetInput]) -> Result<Vec<TargetSpec>> {
        let accounts = self.store.list_accounts().await?;
        input
            .iter()
            .map(|t| {
                let account = self.find_account(&accounts, &t.account)?;
                Ok(TargetSpec {
                    platform: account.platform,
                    account_id: account.id,
                    caption_override: t.caption.as_deref().map(Caption::parse).transpose()?,
                    options: t.options.clone(),
                })
            })
            .collect()
    }

    /// Starts a post in `draft`.
    pub async fn create_post(&self, actor: &User, input: PostInput) -> Result<Post> {
        authorize(actor, Action::CreatePost, None)?;
        let draft = PostDraft {
            title: Title::parse(&input.title)?,
            caption: Caption::parse(&input.caption)?,
            extra_hashtags: hashtags(&input.hashtags)?,
            slides: slides(&input.slides)?,
            targets: self.targets(&input.targets).await?,
        };
        let (post, event) = Post::create(PostId::random(), actor, draft, self.now())?;
        self.store.insert_post(post.snapshot(), &[event]).await?;
        Ok(self.store.post(post.id).await?)
    }

    /// One post.
    pub async fn post(&self, actor: &User, id: PostId) -> Result<Post> {
        authorize(actor, Action::ViewPost, None)?;
        Ok(self.store.post(id).await?)
    }

    /// A page of posts, newest change first.
    pub async fn list_posts(&self, actor: &User, filter: &PostFilter) -> Result<Vec<PostSummary>> {
        authorize(actor, Action::ViewPost, None)?;
        let mut filter = filter.clone();
        if filter.limit == 0 {
            filter.limit = 50;
        }
        Ok(self.store.list_posts(&filter).await?)
    }

    /// Everything that happened to a post, oldest first.
    pub async fn post_history(&self, actor: &User, id: PostId) -> Result<Vec<StoredAuditEvent>> {
        authorize(actor, Action::ViewPost, None)?;
        self.store.post(id).await?;
        Ok(self.store.audit_for("post", &id.to_string()).await?)
    }

    /// Loads a post, applies one workflow operation, and saves it with its audit events under optimistic
    /// concurrency. Nothing is written when the operation is refused.
    pub(crate) async fn change<F>(
        &self,
        actor: &User,
        id: PostId,
        expected_version: Option<i64>,
        gate: Gate,
        op: F,
    ) -> Result<Post>
    where
        F: FnOnce(&mut Post, DateTime<Utc>) -> natronfx_workflow::Result<Vec<AuditEvent>>,
    {
        authorize(actor, Action::ViewPost, None)?;
        let mut post = self.store.post(id).await?;
        if let Some(expected) = expected_version
            && expected != post.version
        {
            return Err(Error::StaleVersion {
                post: id,
                expected,
                actual: post.version,
            });
        }
        let events = op(&mut post, self.now())?;
        // Moving towards publishing (submit, the approval that completes a review, schedule) needs a post
        // that passes every error-level quality check, judged on the post as it would be saved.
        if gate == Gate::Quality && post.state() != PostState::Draft {
            self.require_quality(&post).await?;
        }
        self.store.save_post(post.snapshot(), &events).await?;
        Ok(self.store.post(id).await?)
    }

    /// Changes content; outside `draft` the post returns to `draft` and loses its approvals.
    pub async fn edit_post(&self, actor: &User, id: PostId, patch: PostPatch) -> Result<Post> {
        let edit = ContentEdit {
            title: patch.title.as_deref().map(Title::parse).transpose()?,
            caption: patch.caption.as_deref().map(Caption::parse).transpose()?,
            extra_hashtags: patch.hashtags.as_deref().map(hashtags).transpose()?,
            slides: patch.slides.as_deref().map(slides).transpose()?,
            targets: match &patch.targets {
                Some(t) => Some(self.targets(t).await?),
                None => None,
            },
        };
        self.change(
            actor,
            id,
            patch.expected_version,
            Gate::None,
            |post, now| post.edit(actor, edit, now),
        )
        .await
    }

    /// Sends a post to review (approving it at once under the `none` policy).
    pub async fn submit_post(&self, actor: &User, id: PostId) -> Result<Post> {
        let policy = self.approval_policy().await?;
        self.change(actor, id, None, Gate::Quality, |post, now| {
            post.submit(actor, policy, now)
        })
        .await
    }

    /// Approves the current content of a post.
    pub async fn approve_post(
        &self,
        actor: &User,
        id: PostId,
        comment: Option<String>,
    ) -> Result<Post> {
        let policy = self.approval_policy().await?;
        self.change(actor, id, None, Gate::Quality, |post, now| {
            post.approve(actor, policy, comment, now)
        })
        .await
    }

    /// Sends a post back to its author.
    pub async fn request_changes(
        &self,
        actor: &User,
        id: PostId,
        comment: Option<String>,
    ) -> Result<Post> {
        self.change(actor, id, None, Gate::None, |post, now| {
            post.request_changes(actor, comment, now)
        })
        .await
    }

    /// Refuses a post for good.
    pub async fn reject_post(
        &self,
        actor: &User,
        id: PostId,
        comment: Option<String>,
    ) -> Result<Post> {
        self.change(actor, id, None, Gate::None, |post, now| {
            post.reject(actor, comment, now)
        })
        .await
    }

    /// The instant a schedule request names: a local time in a zone, or `now` (a few seconds ahead, so
    /// the dispatcher picks it up at once).
    pub(crate) fn resolve_schedule(&self, request: &ScheduleRequest) -> Result<ScheduledAt> {
        let now = self.now();
        if request.local.trim().eq_ignore_ascii_case("now") {
            return Ok(ScheduledAt::new(now + chrono::Duration::seconds(1), now)?);
        }
        let local = LocalSchedule::parse(&request.local, &request.zone, request.ambiguity)?;
        Ok(local.resolve(now)?)
    }

    pub(crate) fn target_ids(
        post: &Post,
        accounts: &[Account],
        refs: &[String],
        svc: &Service,
    ) -> Result<Vec<TargetId>> {
        refs.iter()
            .map(|r| match r.parse::<TargetId>() {
                Ok(id) if post.targets.iter().any(|t| t.id == id) => Ok(id),
                _ => {
                    let account = svc.find_account(accounts, r)?;
                    post.targets
                        .iter()
                        .find(|t| t.account_id == account.id)
                        .map(|t| t.id)
                        .ok_or_else(|| {
                            natronfx_workflow::Error::InvalidInput {
                                field: "target",
                                reason: format!("{r} is not a target of this post"),
                            }
                            .into()
                        })
                }
            })
            .collect()
    }

    /// Gives targets a publish instant from a local time and zone. Gaps, the past and unknown zones are
    /// `invalid-schedule`.
    pub async fn schedule_post(
        &self,
        actor: &User,
        id: PostId,
        request: ScheduleRequest,
    ) -> Result<Post> {
        let at = self.resolve_schedule(&request)?;
        let post = self.store.post(id).await?;
        let accounts = self.store.list_accounts().await?;
        let which = Self::target_ids(&post, &accounts, &request.targets, self)?;
        let which = (!which.is_empty()).then_some(which);
        self.change(
            actor,
            id,
            request.expected_version,
            Gate::Quality,
            |post, now| post.schedule(actor, which.as_deref(), at, now),
        )
        .await
    }

    /// Takes targets (all when `targets` is empty) off the schedule.
    pub async fn unschedule_post(
        &self,
        actor: &User,
        id: PostId,
        targets: &[String],
    ) -> Result<Post> {
        let post = self.store.post(id).await?;
        let accounts = self.store.list_accounts().await?;
        let which = Self::target_ids(&post, &accounts, targets, self)?;
        let which = (!which.is_empty()).then_some(which);
        self.change(actor, id, None, Gate::None, |post, now| {
            post.unschedule(actor, which.as_deref(), now)
        })
        .await
    }

    /// Archives a post.
    pub async fn archive_post(
        &self,
        actor: &User,
        id: PostId,
        note: Option<String>,
    ) -> Result<Post> {
        self.change(actor, id, None, Gate::None, |post, now| {
            post.archive(actor, note, now)
        })
        .await
    }
}

/// A post as both binaries show it: everything stored, plus the derived hashtag list.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PostView {
    /// The stored post.
    #[serde(flatten)]
    pub post: natronfx_workflow::PostSnapshot,
    /// Every hashtag: those in the caption, then the extra ones.
    pub hashtags: Vec<String>,
    /// Per slide, in order: whether its image is AI-generated (TikTok wants such posts labelled).
    /// Filled by [`Service::post_view`](crate::Service::post_view); absent from a view built with `From`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_slides: Option<Vec<bool>>,
}

impl From<&Post> for PostView {
    fn from(post: &Post) -> Self {
        PostView {
            post: post.snapshot().clone(),
            hashtags: post
                .hashtags()
                .iter()
                .map(|h| h.as_str().to_owned())
                .collect(),
            generated_slides: None,
        }
    }
}
