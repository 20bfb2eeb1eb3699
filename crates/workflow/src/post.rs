//! The post aggregate: its content, its targets, its reviews, and every operation that changes them.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::AccountId;
use crate::state::Event;
use crate::{
    Action, ApprovalPolicy, AuditAction, AuditEvent, Decision, Error, Hashtag, Hashtags, MediaId,
    Platform, PostId, PostState, Result, Review, ReviewId, ScheduledAt, TargetId, User, UserId,
    authorize,
};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 150;
/// Hard cap on a caption, in characters. Platform limits are lower and are quality checks.
pub const MAX_CAPTION_CHARS: usize = 10_000;
/// Hard cap on a slide's alt text, in characters.
pub const MAX_ALT_TEXT_CHARS: usize = 5_000;

macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self> {
                $name::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                $name::parse(s)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_newtype!(
    /// A post's internal title: 1 to 150 characters on one line. TikTok shows it as the photo title.
    Title
);
text_newtype!(
    /// A caption: any Unicode, at most 10,000 characters, line breaks kept (as `\n`).
    Caption
);
text_newtype!(
    /// A slide's description for people who cannot see it.
    AltText
);

impl Title {
    /// Trims and checks the length and that it is one line.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        let n = s.chars().count();
        if n == 0 {
            return Err(Error::input("title", "a title is required"));
        }
        if n > MAX_TITLE_CHARS {
            return Err(Error::input(
                "title",
                format!("{n} characters is too long; keep it to {MAX_TITLE_CHARS}"),
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(Error::input(
                "title",
                "a title is one line without control characters",
            ));
        }
        Ok(Title(s.to_owned()))
    }
}

impl Caption {
    /// Normalizes line endings and checks the hard cap.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.replace("\r\n", "\n");
        let n = s.chars().count();
        if n > MAX_CAPTION_CHARS {
            return Err(Error::input(
                "caption",
                format!("{n} characters is too long; the limit is {MAX_CAPTION_CHARS}"),
            ));
        }
        Ok(Caption(s))
    }

    /// Hashtags written in the caption.
    pub fn hashtags(&self) -> Hashtags {
        Hashtags::in_text(&self.0)
    }
}

impl AltText {
    /// Trims and checks the length.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        let n = s.chars().count();
        if n > MAX_ALT_TEXT_CHARS {
            return Err(Error::input(
                "alt text",
                format!("{n} characters is too long; the limit is {MAX_ALT_TEXT_CHARS}"),
            ));
        }
        Ok(AltText(s.to_owned()))
    }
}

/// One image of the carousel, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slide {
    /// The stored image.
    pub media_id: MediaId,
    /// Its description.
    pub alt_text: AltText,
}

/// Per-target choices a platform asks the person for. Only TikTok has any today; they are ignored elsewhere.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TargetOptions {
    /// TikTok privacy level (`PUBLIC_TO_EVERYONE`, `MUTUAL_FOLLOW_FRIENDS`, `FOLLOWER_OF_CREATOR`,
    /// `SELF_ONLY`). TikTok's rules forbid a default: `None` until the person picks one.
    pub privacy_level: Option<String>,
    /// TikTok: turn comments off.
    pub disable_comment: bool,
    /// TikTok: paid partnership promoting a third party ("branded content").
    pub brand_content: bool,
    /// TikTok: promotes the creator's own brand ("your brand").
    pub brand_organic: bool,
    /// TikTok photo posts: let TikTok add recommended music.
    pub auto_add_music: bool,
}

impl TargetOptions {
    /// True when nothing was chosen.
    pub fn is_default(&self) -> bool {
        *self == TargetOptions::default()
    }
}

/// Where a post should go: an account on a platform, with an optional caption for that account only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetSpec {
    /// The platform of the account.
    pub platform: Platform,
    /// The connected account.
    pub account_id: AccountId,
    /// A caption used instead of the post's on this account.
    pub caption_override: Option<Caption>,
    /// The platform's per-post choices.
    #[serde(default)]
    pub options: TargetOptions,
}

/// Where one target is on its way to the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetState {
    /// No publish time yet.
    Unscheduled,
    /// Waiting for its instant.
    Scheduled,
    /// Claimed by a worker that is publishing it.
    Publishing,
    /// Live on the platform.
    Published,
    /// Could not be published; the reason is in its history.
    Failed,
    /// Stopped by a person before publishing.
    Cancelled,
    /// Its time passed while the service was down; a person publishes it now, reschedules or cancels it.
    Missed,
    /// The platform's answer was lost and reading back could not settle whether it is live; a person
    /// looks at the evidence and resolves it. Never retried blindly.
    NeedsAttention,
}

impl TargetState {
    /// Every state.
    pub const ALL: [TargetState; 8] = [
        TargetState::Unscheduled,
        TargetState::Scheduled,
        TargetState::Publishing,
        TargetState::Published,
        TargetState::Failed,
        TargetState::Cancelled,
        TargetState::Missed,
        TargetState::NeedsAttention,
    ];

    /// The snake_case name used in storage and output.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Unscheduled => "unscheduled",
            TargetState::Scheduled => "scheduled",
            TargetState::Publishing => "publishing",
            TargetState::Published => "published",
            TargetState::Failed => "failed",
            TargetState::Cancelled => "cancelled",
            TargetState::Missed => "missed",
            TargetState::NeedsAttention => "needs_attention",
        }
    }

    /// True once a platform call may have happened: such a target is never rewritten by an edit.
    pub fn is_settled_or_in_flight(self) -> bool {
        matches!(
            self,
            TargetState::Publishing | TargetState::Published | TargetState::NeedsAttention
        )
    }

    /// Still waiting for the dispatcher or for a person: while any target is, the post is not finished.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            TargetState::Scheduled
                | TargetState::Publishing
                | TargetState::Missed
                | TargetState::NeedsAttention
        )
    }

    /// A person may put it (back) on the schedule: nothing of it is live or in flight.
    pub fn can_be_scheduled(self) -> bool {
        matches!(
            self,
            TargetState::Unscheduled
                | TargetState::Scheduled
                | TargetState::Cancelled
                | TargetState::Missed
                | TargetState::Failed
        )
    }
}

impl fmt::Display for TargetState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TargetState {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        TargetState::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| Error::input("target state", format!("`{s}` is not a target state")))
    }
}

/// One publish target of a post: post × account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Identity.
    pub id: TargetId,
    /// The platform of the account.
    pub platform: Platform,
    /// The account.
    pub account_id: AccountId,
    /// A caption for this account only.
    pub caption_override: Option<Caption>,
    /// The platform's per-post choices.
    #[serde(default)]
    pub options: TargetOptions,
    /// Where it is.
    pub state: TargetState,
    /// When it should be published.
    pub scheduled_at: Option<ScheduledAt>,
}

/// What a new post starts with.
#[derive(Debug, Clone)]
pub struct PostDraft {
    /// Its title.
    pub title: Title,
    /// Its caption.
    pub caption: Caption,
    /// Hashtags given as a list, in addition to those in the caption.
    pub extra_hashtags: Vec<Hashtag>,
    /// Its slides, in order.
    pub slides: Vec<Slide>,
    /// Where it should go.
    pub targets: Vec<TargetSpec>,
}

/// A change to a post's content; `None` leaves a part as it is.
#[derive(Debug, Clone, Default)]
pub struct ContentEdit {
    /// New title.
    pub title: Option<Title>,
    /// New caption.
    pub caption: Option<Caption>,
    /// New list of extra hashtags.
    pub extra_hashtags: Option<Vec<Hashtag>>,
    /// New slides.
    pub slides: Option<Vec<Slide>>,
    /// New targets (targets for the same account keep their identity).
    pub targets: Option<Vec<TargetSpec>>,
}

impl ContentEdit {
    fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.caption.is_none()
            && self.extra_hashtags.is_none()
            && self.slides.is_none()
            && self.targets.is_none()
    }
}

/// Everything a post holds, as plain data: what the store saves and loads.
///
/// Read it through a [`Post`] (which dereferences to it); change it only through `Post`'s operations,
/// which enforce the workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostSnapshot {
    /// Identity.
    pub id: PostId,
    /// Who wrote it.
    pub author: UserId,
    /// Title.
    pub title: Title,
    /// Caption.
    pub caption: Caption,
    /// Hashtags given as a list, beyond those in the caption.
    pub extra_hashtags: Hashtags,
    /// Slides in order.
    pub slides: Vec<Slide>,
    /// Targets.
    pub targets: Vec<Target>,
    /// Workflow state.
    pub state: PostState,
    /// Row version for optimistic concurrency; the store bumps it on every save.
    pub version: i64,
    /// Bumped by every content edit; approvals count only for the current one.
    pub content_version: u32,
    /// Every review decision ever made on the post.
    pub reviews: Vec<Review>,
    /// Creation instant.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A post, with the workflow's rules on every change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post(PostSnapshot);

impl Deref for Post {
    type Target = PostSnapshot;
    fn deref(&self) -> &PostSnapshot {
        &self.0
    }
}

fn build_targets(specs: Vec<TargetSpec>, existing: &[Target]) -> Result<Vec<Target>> {
    let mut targets: Vec<Target> = Vec::with_capacity(specs.len());
    for spec in specs {
        if targets.iter().any(|t| t.account_id == spec.account_id) {
            return Err(Error::input(
                "targets",
                format!(
                    "account {} is listed twice; a post goes once to each account",
                    spec.account_id
                ),
            ));
        }
        let id = existing
            .iter()
            .find(|t| t.account_id == spec.account_id)
            .map_or_else(TargetId::random, |t| t.id);
        targets.push(Target {
            id,
            platform: spec.platform,
            account_id: spec.account_id,
            caption_override: spec.caption_override,
            options: spec.options,
            state: TargetState::Unscheduled,
            scheduled_at: None,
        });
    }
    Ok(targets)
}

fn collect_hashtags(tags: Vec<Hashtag>) -> Hashtags {
    let mut out = Hashtags::default();
    for t in tags {
        out.push(t);
    }
    out
}

impl Post {
    /// Starts a post in `draft`.
    pub fn create(
        id: PostId,
        author: &User,
        draft: PostDraft,
        now: DateTime<Utc>,
    ) -> Result<(Post, AuditEvent)> {
        authorize(author, Action::CreatePost, None)?;
        let targets = build_targets(draft.targets, &[])?;
        let post = Post(PostSnapshot {
            id,
            author: author.id,
            title: draft.title,
            caption: draft.caption,
            extra_hashtags: collect_hashtags(draft.extra_hashtags),
            slides: draft.slides,
            targets,
            state: PostState::Draft,
            version: 0,
            content_version: 1,
            reviews: Vec::new(),
            created_at: now,
            updated_at: now,
        });
        let mut event = post.event(author, AuditAction::PostCreated, now);
        event.to_state = Some(PostState::Draft.to_string());
        Ok((post, event))
    }

    /// Rebuilds a post the store loaded. The store is trusted to hand back what it was given.
    pub fn restore(snapshot: PostSnapshot) -> Post {
        Post(snapshot)
    }

    /// The plain data, to save.
    pub fn snapshot(&self) -> &PostSnapshot {
        &self.0
    }

    /// The author.
    pub fn author(&self) -> UserId {
        self.0.author
    }

    /// The workflow state.
    pub fn state(&self) -> PostState {
        self.0.state
    }

    /// Every hashtag of the post: those in the caption, then the extra ones, without duplicates.
    pub fn hashtags(&self) -> Hashtags {
        let mut tags = self.0.caption.hashtags();
        tags.extend(&self.0.extra_hashtags);
        tags
    }

    /// Distinct approvers of the current content version.
    pub fn current_approvers(&self) -> Vec<UserId> {
        let mut approvers: Vec<UserId> = Vec::new();
        for r in &self.0.reviews {
            if r.decision == Decision::Approve
                && r.content_version == self.0.content_version
                && !approvers.contains(&r.reviewer)
            {
                approvers.push(r.reviewer);
            }
        }
        approvers
    }

    fn event(&self, actor: &User, action: AuditAction, now: DateTime<Utc>) -> AuditEvent {
        AuditEvent::new(now, Some(actor.id), action, "post", self.0.id)
    }

    fn transition(&mut self, event: Event, now: DateTime<Utc>) -> Result<(PostState, PostState)> {
        let from = self.0.state;
        let to = from.after(event)?;
        self.0.state = to;
        self.0.updated_at = now;
        Ok((from, to))
    }

    /// Changes content. Outside `draft`, the post returns to `draft`, its approvals stop counting and its
    /// unsent targets lose their schedule: what reviewers approved is no longer what would be published.
    pub fn edit(
        &mut self,
        actor: &User,
        edit: ContentEdit,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>> {
        authorize(actor, Action::EditPost, Some(self))?;
        if edit.is_empty() {
            return Err(Error::input("edit", "nothing to change"));
        }
        // Check the state first so that a refused edit changes nothing.
        self.0.state.after(Event::Edit)?;
        let mut changed = Vec::new();
        let mut next = self.0.clone();
        if let Some(title) = edit.title {
            changed.push("title");
            next.title = title;
        }
        if let Some(caption) = edit.caption {
            changed.push("caption");
            next.caption = caption;
        }
        if let Some(tags) = edit.extra_hashtags {
            changed.push("hashtags");
            next.extra_hashtags = collect_hashtags(tags);
        }
        if let Some(slides) = edit.slides {
            changed.push("slides");
            next.slides = slides;
        }
        if let Some(specs) = edit.targets {
            changed.push("targets");
            next.targets = build_targets(specs, &self.0.targets)?;
        } else {
            for t in &mut next.targets {
                t.state = TargetState::Unscheduled;
                t.scheduled_at = None;
            }
        }
        next.content_version += 1;
        let from = self.0.state;
        self.0 = next;
        let (_, to) = self.transition(Event::Edit, now)?;
        let note = Some(format!("changed {}", changed.join(", ")));
        let mut events = vec![
            self.event(actor, AuditAction::PostEdited, now)
                .with_note(note),
        ];
        if from != to {
            events[0] = events[0].clone().with_states(from, to);
        }
        Ok(events)
    }

    /// Sends the post to review. Under the `none` policy it is approved at once.
    pub fn submit(
        &mut self,
        actor: &User,
        policy: ApprovalPolicy,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>> {
        authorize(actor, Action::SubmitPost, Some(self))?;
        if self.0.state == PostState::ChangesRequested {
            return Err(Error::InvalidTransition {
                from: self.0.state,
                event: "submit (edit it first)",
            });
        }
        let (from, to) = self.transition(Event::Submit, now)?;
        let mut events = vec![
            self.event(actor, AuditAction::PostSubmitted, now)
                .with_states(from, to),
        ];
        if policy.approvals_needed() == 0 {
            let (from, to) = self.transition(Event::Approve, now)?;
            events.push(
                self.event(actor, AuditAction::PostApproved, now)
                    .with_states(from, to)
                    .with_note(Some("approval policy is none".into())),
            );
        }
        Ok(events)
    }

    fn record_review(
        &mut self,
        actor: &User,
        decision: Decision,
        comment: Option<String>,
        now: DateTime<Utc>,
    ) {
        self.0.reviews.push(Review {
            id: ReviewId::random(),
            reviewer: actor.id,
            decision,
            comment,
            content_version: self.0.content_version,
            at: now,
        });
    }

    /// Approves the current content. The post becomes `approved` once the policy's count of distinct
    /// approvers (none of them the author) is reached; until then it stays `in_review`.
    pub fn approve(
        &mut self,
        actor: &User,
        policy: ApprovalPolicy,
        comment: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>> {
        authorize(actor, Action::ReviewPost, Some(self))?;
        // The state check first: approving a draft is an invalid transition whoever asks.
        self.0.state.after(Event::Approve)?;
        if actor.id == self.0.author && policy.approvals_needed() > 0 {
            return Err(Error::SelfApproval {
                policy: policy.to_string(),
            });
        }
        if self.current_approvers().contains(&actor.id) {
            return Err(Error::AlreadyApproved);
        }
        self.record_review(actor, Decision::Approve, comment.clone(), now);
        let have = self.current_approvers().len();
        let need = policy.approvals_needed().max(1);
        let event = self.event(actor, AuditAction::PostApproved, now);
        if have >= need {
            let (from, to) = self.transition(Event::Approve, now)?;
            Ok(vec![event.with_states(from, to).with_note(comment)])
        } else {
            self.0.updated_at = now;
            let note = format!("approval {have} of {need}")
                + &comment.map(|c| format!(": {c}")).unwrap_or_default();
            Ok(vec![event.with_note(Some(note))])
        }
    }

    /// Sends the post back to its author.
    pub fn request_changes(
        &mut self,
        actor: &User,
        comment: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>> {
        self.decide(
            actor,
            Decision::RequestChanges,
            Event::RequestChanges,
            AuditAction::ChangesRequested,
            comment,
            now,
        )
    }

    /// Refuses the post for good.
    pub fn reject(
        &mut self,
        actor: &User,
        comment: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>> {
        self.decide(
            actor,
            Decision::Reject,
            Event::Reject,
            AuditAction::PostRejected,
            comment,
            now,
        )
    }

    fn decide(
        &mut self,
        actor: &User,
        decision: Decision,
        event: Event,
        action: AuditAction,
        comment: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>> {
        authorize(actor, Action::ReviewPost, Some(self))?;
        let (from, to) = self.transition(event, now)?;
        self.record_review(actor, decision, comment.clone(), now);
        Ok(vec![
            self.event(actor, action, now)
                .with_states(from, to)
                .with_note(comment),
        ])
    }

    /// Gives targets a publish instant: the listed ones, or every target not yet sent. Missed and failed
    /// targets may be put back on the schedule too; the post then returns to `scheduled` (or stays
    /// `publishing` while other targets are in flight).
    pub fn schedule(
        &mut self,
        actor: &User,
        which: Option<&[TargetId]>,
        at: ScheduledAt,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>> {
        authorize(actor, Action::SchedulePost, Some(self))?;
        let at = ScheduledAt::new(at.instant(), now)?;
        let event = self.schedule_event()?;
        if self.0.targets.is_empty() {
            return Err(Error::input(
                "targets",
                "the post has no target; add an account to publish to first",
            ));
        }
        self.check_targets(which)?;
        let mut scheduled = Vec::new();
        for t in &mut self.0.targets {
            let chosen = which.is_none_or(|ids| ids.contains(&t.id));
            if chosen && t.state.can_be_scheduled() {
                t.state = TargetState::Scheduled;
                t.scheduled_at = Some(at);
                scheduled.push(format!("{} {}", t.platform, t.account_id));
            }
        }
        if scheduled.is_empty() {
            return Err(Error::input(
                "targets",
                "no target left to schedule; they are published or being published",
            ));
        }
        let note = format!("{} at {at}", scheduled.join(", "));
        let mut audit = self
            .event(actor, AuditAction::PostScheduled, now)
            .with_note(Some(note));
        if let Some(event) = event {
            let (from, to) = self.transition(event, now)?;
            audit = audit.with_states(from, to);
        }
        self.0.updated_at = now;
        Ok(vec![audit])
    }

    /// Which post-level event putting targets on the schedule is, refusing states that cannot take it.
    fn schedule_event(&self) -> Result<Option<Event>> {
        match self.0.state {
            PostState::Failed | PostState::PartiallyPublished => Ok(Some(Event::Retry)),
            // Other targets are in flight: the post stays `publishing` and this one joins the queue.
            PostState::Publishing => Ok(None),
            state => state.after(Event::Schedule).map(|_| Some(Event::Schedule)),
        }
    }

    fn check_targets(&self, which: Option<&[TargetId]>) -> Result<()> {
        match which
            .unwrap_or_default()
            .iter()
            .find(|id| !self.0.targets.iter().any(|t| t.id == **id))
        {
            Some(missing) => Err(Error::input(
                "target",
                format!("{missing} is not a target of this post"),
            )),
            None => Ok(()),
        }
    }

    /// Stops targets for good before they are sent: waiting, missed or failed ones become `cancelled`.
    /// A target in flight or whose outcome needs a person cannot be cancelled.
    pub fn cancel_targets(
        &mut self,
        actor: &User,
        which: Option<&[TargetId]>,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>> {
        authorize(actor, Action::SchedulePost, Some(self))?;
        if matches!(self.0.state, PostState::Published | PostState::Archived) {
            return Err(Error::InvalidTransition {
                from: self.0.state,
                event: "cancel targets of",
            });
        }
        self.check_targets(which)?;
        let mut cancelled = Vec::new();
        for t in &mut self.0.targets {
            if which.is_none_or(|ids| ids.contains(&t.id))
                && matches!(
                    t.state,
                    TargetState::Unscheduled
                        | TargetState::Scheduled
                        | TargetState::Missed
                        | TargetState::Failed
                )
            {
                t.state = TargetState::Cancelled;
                t.scheduled_at = None;
                cancelled.push(format!("{} {}", t.platform, t.account_id));
            }
        }
        if cancelled.is_empty() {
            return Err(Error::input(
                "targets",
                "no target can be cancelled; they are published, in flight or need attention",
            ));
        }
        self.0.updated_at = now;
        let mut events = vec![
            self.event(actor, AuditAction::TargetCancelled, now)
                .with_note(Some(cancelled.join(", "))),
        ];
        match self.0.state {
            PostState::Scheduled if !self.0.targets.iter().any(|t| t.state.is_pending()) => {
                let (from, to) = self.transition(Event::Unschedule, now)?;
                events[0] = events[0].clone().with_states(from, to);
            }
            PostState::Publishing => events.extend(self.settle(now)?),
            _ => {}
        }
        Ok(events)
    }

    /// A person settles a target whose outcome needed attention, after looking at the platform:
    /// `live` marks it published, otherwise it is failed (and may be scheduled again).
    pub fn resolve_target(
        &mut self,
        actor: &User,
        target: TargetId,
        live: bool,
        note: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>> {
        authorize(actor, Action::SchedulePost, Some(self))?;
        let t = self.target_mut(target)?;
        if t.state != TargetState::NeedsAttention {
            return Err(Error::input(
                "target",
                format!("{target} does not need attention (it is {})", t.state),
            ));
        }
        t.state = if live {
            TargetState::Published
        } else {
            TargetState::Failed
        };
        let label = format!("{} {}", t.platform, t.account_id);
        self.0.updated_at = now;
        let verdict = if live { "live" } else { "not posted" };
        let note = match note {
            Some(n) if !n.trim().is_empty() => {
                format!("{label}: resolved as {verdict}: {}", n.trim())
            }
            _ => format!("{label}: resolved as {verdict}"),
        };
        let mut events = vec![
            self.event(actor, AuditAction::TargetResolved, now)
                .with_note(Some(note)),
        ];
        if self.0.state == PostState::Publishing {
            events.extend(self.settle(now)?);
        }
        Ok(events)
    }

    /// Sends a published target again, deliberately: only with a reason, which the audit log keeps.
    pub fn republish_target(
        &mut self,
        actor: &User,
        target: TargetId,
        reason: &str,
        at: ScheduledAt,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>> {
        authorize(actor, Action::SchedulePost, Some(self))?;
        let at = ScheduledAt::new(at.instant(), now)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::input(
                "reason",
                "a republish needs a reason; it is kept in the audit log",
            ));
        }
        if self.0.state == PostState::Archived {
            return Err(Error::InvalidTransition {
                from: self.0.state,
                event: "republish",
            });
        }
        let t = self.target_mut(target)?;
        if t.state != TargetState::Published {
            return Err(Error::input(
                "target",
                format!(
                    "{target} is not published (it is {}); schedule it instead",
                    t.state
                ),
            ));
        }
        t.state = TargetState::Scheduled;
        t.scheduled_at = Some(at);
        let label = format!("{} {}", t.platform, t.account_id);
        let mut audit = self
            .event(actor, AuditAction::TargetRepublished, now)
            .with_note(Some(format!("{label} at {at}: {reason}")));
        let event = match self.0.state {
            PostState::Publishing => None,
            _ => Some(Event::Republish),
        };
        if let Some(event) = event {
            let (from, to) = self.transition(event, now)?;
            audit = audit.with_states(from, to);
        }
        self.0.updated_at = now;
        Ok(vec![audit])
    }

    fn target_mut(&mut self, target: TargetId) -> Result<&mut Target> {
        self.0
            .targets
            .iter_mut()
            .find(|t| t.id == target)
            .ok_or_else(|| Error::input("target", format!("{target} is not a target of this post")))
    }

    /// Takes targets off the schedule; with none left, the post is `approved` again.
    pub fn unschedule(
        &mut self,
        actor: &User,
        which: Option<&[TargetId]>,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>> {
        authorize(actor, Action::SchedulePost, Some(self))?;
        if self.0.state != PostState::Scheduled {
            return Err(Error::InvalidTransition {
                from: self.0.state,
                event: "unschedule",
            });
        }
        for t in &mut self.0.targets {
            if t.state == TargetState::Scheduled && which.is_none_or(|ids| ids.contains(&t.id)) {
                t.state = TargetState::Unscheduled;
                t.scheduled_at = None;
            }
        }
        let mut event = self.event(actor, AuditAction::PostUnscheduled, now);
        if !self
            .0
            .targets
            .iter()
            .any(|t| t.state == TargetState::Scheduled)
        {
            let (from, to) = self.transition(Event::Unschedule, now)?;
            event = event.with_states(from, to);
        }
        self.0.updated_at = now;
        Ok(vec![event])
    }

    /// Puts the post away. Unsent targets are cancelled; history stays.
    pub fn archive(
        &mut self,
        actor: &User,
        note: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>> {
        authorize(actor, Action::ArchivePost, Some(self))?;
        let (from, to) = self.transition(Event::Archive, now)?;
        for t in &mut self.0.targets {
            if matches!(t.state, TargetState::Unscheduled | TargetState::Scheduled) {
                t.state = TargetState::Cancelled;
            }
        }
        Ok(vec![
            self.event(actor, AuditAction::PostArchived, now)
                .with_states(from, to)
                .with_note(note),
        ])
    }
}

/// Transitions driven by the dispatcher, not by a person.
impl Post {
    fn system_event(&self, action: AuditAction, now: DateTime<Utc>) -> AuditEvent {
        AuditEvent::new(now, None, action, "post", self.0.id)
    }

    /// A worker claimed the first due target: `scheduled → publishing`.
    pub fn begin_publishing(&mut self, now: DateTime<Utc>) -> Result<Vec<AuditEvent>> {
        let (from, to) = self.transition(Event::StartPublishing, now)?;
        Ok(vec![
            self.system_event(AuditAction::PublishStarted, now)
                .with_states(from, to),
        ])
    }

    /// A worker is about to call the platform for a due target: the target becomes `publishing`, and so
    /// does the post if it was `scheduled`. Refused unless the target is scheduled and due, so a target a
    /// person cancelled or moved since it was claimed is never sent.
    pub fn start_target(
        &mut self,
        target: TargetId,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>> {
        let t = self.target_mut(target)?;
        let due = t.scheduled_at.is_some_and(|at| at.instant() <= now);
        if t.state != TargetState::Scheduled || !due {
            return Err(Error::input(
                "target",
                format!("{target} is not due (it is {})", t.state),
            ));
        }
        t.state = TargetState::Publishing;
        self.0.updated_at = now;
        if self.0.state == PostState::Scheduled {
            self.begin_publishing(now)
        } else {
            Ok(vec![])
        }
    }

    /// A publish attempt ended without creating anything and will be tried again later: the target
    /// waits on the schedule again, where a person may still cancel or move it.
    pub fn requeue_target(&mut self, target: TargetId, now: DateTime<Utc>) -> Result<()> {
        let t = self.target_mut(target)?;
        if t.state != TargetState::Publishing {
            return Err(Error::input(
                "target",
                format!("{target} is not being published (it is {})", t.state),
            ));
        }
        t.state = TargetState::Scheduled;
        self.0.updated_at = now;
        Ok(())
    }

    /// Records a target's outcome (`published`, `failed`, `cancelled`, `missed` or `needs_attention`,
    /// with a note for people); once no target is waiting, in flight or waiting for a person, the post's
    /// state follows its targets: all live → `published`, some → `partially_published`, none → `failed`.
    pub fn record_target_outcome(
        &mut self,
        target: TargetId,
        outcome: TargetState,
        note: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>> {
        let action = match outcome {
            TargetState::Published => AuditAction::TargetPublished,
            TargetState::Failed => AuditAction::TargetFailed,
            TargetState::Cancelled => AuditAction::TargetCancelled,
            TargetState::Missed => AuditAction::TargetMissed,
            TargetState::NeedsAttention => AuditAction::TargetNeedsAttention,
            other => {
                return Err(Error::input(
                    "outcome",
                    format!("{other} is not an outcome"),
                ));
            }
        };
        let t = self.target_mut(target)?;
        t.state = outcome;
        let label = format!("{} {}", t.platform, t.account_id);
        self.0.updated_at = now;
        let note = match note {
            Some(n) => format!("{label}: {n}"),
            None => label,
        };
        let mut events = vec![self.system_event(action, now).with_note(Some(note))];
        if self.0.state == PostState::Publishing {
            events.extend(self.settle(now)?);
        }
        Ok(events)
    }

    /// Once nothing is pending, the post's state follows its targets.
    fn settle(&mut self, now: DateTime<Utc>) -> Result<Vec<AuditEvent>> {
        if self.0.targets.iter().any(|t| t.state.is_pending()) {
            return Ok(vec![]);
        }
        let live = self
            .0
            .targets
            .iter()
            .filter(|t| t.state == TargetState::Published)
            .count();
        let event = match live {
            0 => Event::NonePublished,
            n if n == self.0.targets.len() => Event::AllPublished,
            _ => Event::SomePublished,
        };
        let (from, to) = self.transition(event, now)?;
        Ok(vec![
            self.system_event(AuditAction::PublishFinished, now)
                .with_states(from, to),
        ])
    }

    /// Puts failed (and missed) targets back on the schedule at `at`: `failed | partially_published →
    /// scheduled`.
    pub fn retry(
        &mut self,
        actor: &User,
        at: ScheduledAt,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>> {
        authorize(actor, Action::SchedulePost, Some(self))?;
        let at = ScheduledAt::new(at.instant(), now)?;
        let (from, to) = self.transition(Event::Retry, now)?;
        for t in &mut self.0.targets {
            if matches!(t.state, TargetState::Failed | TargetState::Missed) {
                t.state = TargetState::Scheduled;
                t.scheduled_at = Some(at);
            }
        }
        Ok(vec![
            self.event(actor, AuditAction::PublishRetried, now)
                .with_states(from, to),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
    }

    fn user(role: Role) -> User {
        User::new(
            UserId::random(),
            "u@example.com".parse().unwrap(),
            "U",
            role,
            now(),
        )
    }

    fn draft() -> PostDraft {
        PostDraft {
            title: Title::parse("Launch").unwrap(),
            caption: Caption::parse("Hello #World").unwrap(),
            extra_hashtags: vec![
                Hashtag::parse("world").unwrap(),
                Hashtag::parse("launch").unwrap(),
            ],
            slides: vec![Slide {
                media_id: MediaId::random(),
                alt_text: AltText::parse("a cup").unwrap(),
            }],
            targets: vec![TargetSpec {
                platform: Platform::Instagram,
                account_id: AccountId::random(),
                caption_override: None,
                options: Default::default(),
            }],
        }
    }

    fn post(author: &User) -> Post {
        Post::create(PostId::random(), author, draft(), now())
            .unwrap()
            .0
    }

    fn later(h: i64) -> ScheduledAt {
        ScheduledAt::new(now() + Duration::hours(h), now()).unwrap()
    }

    #[test]
    fn text_limits_are_enforced_at_the_boundary() {
        assert!(Title::parse(&"t".repeat(150)).is_ok());
        assert_eq!(
            Title::parse(&"t".repeat(151)).unwrap_err().code(),
            "invalid-input"
        );
        assert!(Title::parse("   ").is_err());
        assert!(Title::parse("two\nlines").is_err());
        assert!(Caption::parse(&"é".repeat(10_000)).is_ok());
        assert!(Caption::parse(&"é".repeat(10_001)).is_err());
        assert!(
            Caption::parse("").is_ok(),
            "an empty caption is a quality warning, not invalid"
        );
        assert_eq!(Caption::parse("a\r\nb").unwrap().as_str(), "a\nb");
    }

    #[test]
    fn hashtags_merge_caption_and_list() {
        let p = post(&user(Role::Editor));
        let tags: Vec<_> = p.hashtags().iter().map(|t| t.as_str().to_owned()).collect();
        assert_eq!(tags, ["#World", "#launch"]);
    }

    #[test]
    fn full_happy_path_under_required() {
        let author = user(Role::Editor);
        let reviewer = user(Role::Reviewer);
        let mut p = post(&author);
        p.submit(&author, ApprovalPolicy::Required, now()).unwrap();
        let err = p
            .approve(&author, ApprovalPolicy::Required, None, now())
            .unwrap_err();
        assert_eq!(
            err.code(),
            "permission-denied",
            "an editor cannot review at all"
        );
        let ev = p
            .approve(
                &reviewer,
                ApprovalPolicy::Required,
                Some("ok".into()),
                now(),
            )
            .unwrap();
        assert_eq!(ev[0].to_state.as_deref(), Some("approved"));
        p.schedule(&author, None, later(2), now()).unwrap();
        assert_eq!(p.state(), PostState::Scheduled);
        assert_eq!(p.targets[0].state, TargetState::Scheduled);
    }

    #[test]
    fn an_admin_author_cannot_approve_their_own_post() {
        let admin = user(Role::Admin);
        let mut p = post(&admin);
        p.submit(&admin, ApprovalPolicy::Required, now()).unwrap();
        let err = p
            .approve(&admin, ApprovalPolicy::Required, None, now())
            .unwrap_err();
        assert_eq!(err.code(), "self-approval-forbidden");
        assert_eq!(p.state(), PostState::InReview);
        assert!(p.reviews.is_empty(), "a refused approval records nothing");
    }

    #[test]
    fn multi_needs_distinct_approvers() {
        let author = user(Role::Editor);
        let (r1, r2) = (user(Role::Reviewer), user(Role::Reviewer));
        let policy = ApprovalPolicy::Multi(2);
        let mut p = post(&author);
        p.submit(&author, policy, now()).unwrap();
        let ev = p.approve(&r1, policy, None, now()).unwrap();
        assert_eq!(p.state(), PostState::InReview);
        assert_eq!(ev[0].note.as_deref(), Some("approval 1 of 2"));
        assert_eq!(
            p.approve(&r1, policy, None, now()).unwrap_err().code(),
            "already-approved"
        );
        p.approve(&r2, policy, None, now()).unwrap();
        assert_eq!(p.state(), PostState::Approved);
    }

    #[test]
    fn editing_after_approval_returns_to_draft_and_voids_approvals() {
        let author = user(Role::Editor);
        let reviewer = user(Role::Reviewer);
        let mut p = post(&author);
        p.submit(&author, ApprovalPolicy::Required, now()).unwrap();
        p.approve(&reviewer, ApprovalPolicy::Required, None, now())
            .unwrap();
        p.schedule(&author, None, later(1), now()).unwrap();
        let edit = ContentEdit {
            caption: Some(Caption::parse("changed").unwrap()),
            ..Default::default()
        };
        let ev = p.edit(&author, edit, now()).unwrap();
        assert_eq!(p.state(), PostState::Draft);
        assert_eq!(ev[0].from_state.as_deref(), Some("scheduled"));
        assert!(p.current_approvers().is_empty());
        assert_eq!(p.targets[0].state, TargetState::Unscheduled);
        assert_eq!(p.targets[0].scheduled_at, None);
        // Re-submitting needs a fresh approval; the old one does not count.
        p.submit(&author, ApprovalPolicy::Required, now()).unwrap();
        assert_eq!(p.state(), PostState::InReview);
        p.approve(&reviewer, ApprovalPolicy::Required, None, now())
            .unwrap();
        assert_eq!(p.state(), PostState::Approved);
    }

    #[test]
    fn changes_requested_goes_back_to_draft_on_edit_only() {
        let author = user(Role::Editor);
        let reviewer = user(Role::Reviewer);
        let mut p = post(&author);
        p.submit(&author, ApprovalPolicy::Required, now()).unwrap();
        p.request_changes(&reviewer, Some("fix typo".into()), now())
            .unwrap();
        assert_eq!(
            p.submit(&author, ApprovalPolicy::Required, now())
                .unwrap_err()
                .code(),
            "invalid-transition"
        );
        let edit = ContentEdit {
            title: Some(Title::parse("Fixed").unwrap()),
            ..Default::default()
        };
        p.edit(&author, edit, now()).unwrap();
        assert_eq!(p.state(), PostState::Draft);
    }

    #[test]
    fn none_policy_approves_on_submit() {
        let author = user(Role::Editor);
        let mut p = post(&author);
        let ev = p.submit(&author, ApprovalPolicy::None, now()).unwrap();
        assert_eq!(ev.len(), 2);
        assert_eq!(p.state(), PostState::Approved);
    }

    #[test]
    fn illegal_operations_change_nothing() {
        let author = user(Role::Editor);
        let reviewer = user(Role::Reviewer);
        let mut p = post(&author);
        let before = p.clone();
        assert_eq!(
            p.approve(&reviewer, ApprovalPolicy::Required, None, now())
                .unwrap_err()
                .code(),
            "invalid-transition"
        );
        assert_eq!(
            p.reject(&reviewer, None, now()).unwrap_err().code(),
            "invalid-transition"
        );
        assert_eq!(
            p.schedule(&author, None, later(1), now())
                .unwrap_err()
                .code(),
            "invalid-transition"
        );
        assert_eq!(
            p.unschedule(&author, None, now()).unwrap_err().code(),
            "invalid-transition"
        );
        assert_eq!(p, before);
        p.archive(&author, None, now()).unwrap();
        assert_eq!(
            p.archive(&author, None, now()).unwrap_err().code(),
            "invalid-transition"
        );
        let edit = ContentEdit {
            title: Some(Title::parse("x").unwrap()),
            ..Default::default()
        };
        assert_eq!(
            p.edit(&author, edit, now()).unwrap_err().code(),
            "invalid-transition"
        );
        assert_eq!(p.targets[0].state, TargetState::Cancelled);
    }

    #[test]
    fn scheduling_in_the_past_is_refused() {
        let author = user(Role::Admin);
        let reviewer = user(Role::Reviewer);
        let mut p = post(&author);
        p.submit(&author, ApprovalPolicy::Required, now()).unwrap();
        p.approve(&reviewer, ApprovalPolicy::Required, None, now())
            .unwrap();
        let at = later(1);
        let err = p
            .schedule(&author, None, at, now() + Duration::hours(2))
            .unwrap_err();
        assert_eq!(err.code(), "invalid-schedule");
        assert_eq!(p.state(), PostState::Approved);
    }

    #[test]
    fn a_target_per_account_at_most() {
        let author = user(Role::Editor);
        let mut d = draft();
        d.targets.push(d.targets[0].clone());
        assert_eq!(
            Post::create(PostId::random(), &author, d, now())
                .unwrap_err()
                .code(),
            "invalid-input"
        );
    }

    #[test]
    fn the_post_follows_its_targets_to_an_outcome() {
        let author = user(Role::Editor);
        let reviewer = user(Role::Reviewer);
        let mut d = draft();
        d.targets.push(TargetSpec {
            platform: Platform::Tiktok,
            account_id: AccountId::random(),
            caption_override: None,
            options: Default::default(),
        });
        let mut p = Post::create(PostId::random(), &author, d, now()).unwrap().0;
        p.submit(&author, ApprovalPolicy::Required, now()).unwrap();
        p.approve(&reviewer, ApprovalPolicy::Required, None, now())
            .unwrap();
        p.schedule(&author, None, later(1), now()).unwrap();
        p.begin_publishing(now()).unwrap();
        let (a, b) = (p.targets[0].id, p.targets[1].id);
        let ev = p
            .record_target_outcome(a, TargetState::Published, Some("id 7".into()), now())
            .unwrap();
        assert_eq!(ev.len(), 1, "only the target's own event");
        assert_eq!(ev[0].action, AuditAction::TargetPublished);
        assert_eq!(
            p.state(),
            PostState::Publishing,
            "one target is still in flight"
        );
        let ev = p
            .record_target_outcome(b, TargetState::Failed, None, now())
            .unwrap();
        assert_eq!(ev[1].to_state.as_deref(), Some("partially_published"));
        p.retry(&author, later(2), now()).unwrap();
        assert_eq!(p.state(), PostState::Scheduled);
        assert_eq!(p.targets[1].state, TargetState::Scheduled);
        assert_eq!(
            p.targets[0].state,
            TargetState::Published,
            "a live target is never sent again"
        );
    }

    #[test]
    fn unschedule_returns_to_approved_when_nothing_is_left() {
        let author = user(Role::Editor);
        let reviewer = user(Role::Reviewer);
        let mut p = post(&author);
        p.submit(&author, ApprovalPolicy::Required, now()).unwrap();
        p.approve(&reviewer, ApprovalPolicy::Required, None, now())
            .unwrap();
        p.schedule(&author, None, later(3), now()).unwrap();
        p.unschedule(&author, None, now()).unwrap();
        assert_eq!(p.state(), PostState::Approved);
        assert_eq!(p.targets[0].scheduled_at, None);
    }

    fn scheduled_two_targets() -> (User, Post) {
        let author = user(Role::Editor);
        let reviewer = user(Role::Reviewer);
        let mut d = draft();
        d.targets.push(TargetSpec {
            platform: Platform::Tiktok,
            account_id: AccountId::random(),
            caption_override: None,
            options: Default::default(),
        });
        let mut p = Post::create(PostId::random(), &author, d, now()).unwrap().0;
        p.submit(&author, ApprovalPolicy::Required, now()).unwrap();
        p.approve(&reviewer, ApprovalPolicy::Required, None, now())
            .unwrap();
        p.schedule(&author, None, later(1), now()).unwrap();
        (author, p)
    }

    #[test]
    fn a_target_starts_only_when_scheduled_and_due() {
        let (author, mut p) = scheduled_two_targets();
        let a = p.targets[0].id;
        let before = p.clone();
        assert!(p.start_target(a, now()).is_err(), "not due yet");
        assert_eq!(p, before, "a refusal changes nothing");
        let due = now() + Duration::hours(2);
        let ev = p.start_target(a, due).unwrap();
        assert_eq!(ev[0].action, AuditAction::PublishStarted);
        assert_eq!(p.state(), PostState::Publishing);
        assert!(p.start_target(a, due).is_err(), "already in flight");
        // The second target starts without another post-level event.
        assert!(p.start_target(p.targets[1].id, due).unwrap().is_empty());
        // Cancelling in flight is refused; requeueing puts it back where a person can cancel it.
        assert!(p.cancel_targets(&author, Some(&[a]), due).is_err());
        p.requeue_target(a, due).unwrap();
        assert_eq!(p.targets[0].state, TargetState::Scheduled);
        p.cancel_targets(&author, Some(&[a]), due).unwrap();
        assert_eq!(p.targets[0].state, TargetState::Cancelled);
        assert_eq!(p.state(), PostState::Publishing, "the other is in flight");
    }

    #[test]
    fn missed_and_unsettled_targets_hold_the_post_until_a_person_acts() {
        let (author, mut p) = scheduled_two_targets();
        let (a, b) = (p.targets[0].id, p.targets[1].id);
        let due = now() + Duration::hours(2);
        p.start_target(a, due).unwrap();
        p.record_target_outcome(b, TargetState::Missed, None, due)
            .unwrap();
        let ev = p
            .record_target_outcome(a, TargetState::NeedsAttention, Some("lost".into()), due)
            .unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(
            p.state(),
            PostState::Publishing,
            "nothing settles by itself"
        );
        // A target that needs attention cannot be rescheduled or cancelled: it may be live.
        let mut copy = p.clone();
        copy.schedule(&author, Some(&[a]), later(5), due)
            .unwrap_err();
        // The missed one is published now (rescheduled) by a person, and the other resolved as live.
        let soon = due + Duration::minutes(1);
        p.schedule(
            &author,
            Some(&[b]),
            ScheduledAt::new(soon, due).unwrap(),
            due,
        )
        .unwrap();
        assert_eq!(p.targets[1].state, TargetState::Scheduled);
        let ev = p
            .resolve_target(&author, a, true, Some("seen on the profile".into()), due)
            .unwrap();
        assert_eq!(ev[0].action, AuditAction::TargetResolved);
        assert_eq!(p.state(), PostState::Publishing);
        p.start_target(b, soon).unwrap();
        let ev = p
            .record_target_outcome(b, TargetState::Published, None, soon)
            .unwrap();
        assert_eq!(ev[1].to_state.as_deref(), Some("published"));
    }

    #[test]
    fn cancelling_every_waiting_target_returns_a_scheduled_post_to_approved() {
        let (author, mut p) = scheduled_two_targets();
        p.cancel_targets(&author, None, now()).unwrap();
        assert_eq!(p.state(), PostState::Approved);
        assert!(
            p.targets
                .iter()
                .all(|t| t.state == TargetState::Cancelled && t.scheduled_at.is_none())
        );
        let viewer = user(Role::Viewer);
        let (_, mut q) = scheduled_two_targets();
        assert_eq!(
            q.cancel_targets(&viewer, None, now()).unwrap_err().code(),
            "permission-denied"
        );
    }

    #[test]
    fn a_republish_needs_a_published_target_and_a_reason() {
        let (author, mut p) = scheduled_two_targets();
        let (a, b) = (p.targets[0].id, p.targets[1].id);
        let due = now() + Duration::hours(2);
        p.start_target(a, due).unwrap();
        p.start_target(b, due).unwrap();
        p.record_target_outcome(a, TargetState::Published, None, due)
            .unwrap();
        p.record_target_outcome(b, TargetState::Published, None, due)
            .unwrap();
        assert_eq!(p.state(), PostState::Published);
        let at = ScheduledAt::new(due + Duration::hours(1), due).unwrap();
        assert_eq!(
            p.republish_target(&author, a, "  ", at, due)
                .unwrap_err()
                .code(),
            "invalid-input"
        );
        let ev = p
            .republish_target(&author, a, "the first one was cropped", at, due)
            .unwrap();
        assert_eq!(ev[0].action, AuditAction::TargetRepublished);
        assert_eq!(p.state(), PostState::Scheduled);
        assert_eq!(p.targets[0].state, TargetState::Scheduled);
        assert!(
            p.republish_target(&author, a, "again", at, due).is_err(),
            "only a published target"
        );
    }
}
