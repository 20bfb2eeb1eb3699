//! The API's wire format: request and response bodies with their OpenAPI schemas, and their conversion
//! from and to the service's types. Only this file knows the JSON shape.

use chrono::{DateTime, Utc};
use natronfx_service::store::{
    ApiToken, CalendarEntry, PostSummary, SessionRecord, StoredAuditEvent,
};
use natronfx_service::workflow::{
    self as wf, Account, Finding, Post, Review, Slide, Target, TargetOptions, User,
};
use natronfx_service::{AccountOverview, MediaView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Mirrors a domain enum on the wire, with its schema and conversions both ways.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident as $public:ident <=> $domain:path { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        #[schema(as = $public)]
        pub enum $name {
            $(#[doc = $text] #[serde(rename = $text)] $variant,)*
        }
        impl From<$domain> for $name {
            fn from(d: $domain) -> Self {
                use $domain as D;
                match d { $(D::$variant => $name::$variant,)* }
            }
        }
        impl From<$name> for $domain {
            fn from(w: $name) -> Self {
                use $domain as D;
                match w { $($name::$variant => D::$variant,)* }
            }
        }
    };
}

wire_enum!(
    /// What a person may do.
    RoleDto as Role <=> wf::Role { Admin = "admin", Editor = "editor", Reviewer = "reviewer", Viewer = "viewer" }
);
wire_enum!(
    /// Where a post is in its workflow.
    PostStateDto as PostState <=> wf::PostState {
        Draft = "draft", InReview = "in_review", ChangesRequested = "changes_requested", Approved = "approved",
        Rejected = "rejected", Scheduled = "scheduled", Publishing = "publishing", Published = "published",
        PartiallyPublished = "partially_published", Failed = "failed", Archived = "archived",
    }
);
wire_enum!(
    /// Where one target is on its way to the platform.
    TargetStateDto as TargetState <=> wf::TargetState {
        Unscheduled = "unscheduled", Scheduled = "scheduled", Publishing = "publishing",
        Published = "published", Failed = "failed", Cancelled = "cancelled", Missed = "missed",
        NeedsAttention = "needs_attention",
    }
);
wire_enum!(
    /// A social platform.
    PlatformDto as Platform <=> wf::Platform { Tiktok = "tiktok", Instagram = "instagram", Facebook = "facebook" }
);
wire_enum!(
    /// A reviewer's decision.
    DecisionDto as Decision <=> wf::Decision { Approve = "approve", RequestChanges = "request_changes", Reject = "reject" }
);
wire_enum!(
    /// Whether an account can be published to.
    AccountStatusDto as AccountStatus <=> wf::AccountStatus {
        Connected = "connected", NeedsReconnect = "needs_reconnect", Disconnected = "disconnected",
    }
);
wire_enum!(
    /// How much a finding matters; any error blocks publishing.
    SeverityDto as Severity <=> wf::Severity { Error = "error", Warning = "warning", Info = "info" }
);
wire_enum!(
    /// Which instant to take when a local time happens twice.
    AmbiguityDto as Ambiguity <=> wf::Ambiguity { Earlier = "earlier", Later = "later" }
);

/// The one error body of the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable kebab-case code, e.g. `permission-denied`, `quality-check-failed`.
    pub code: String,
    /// What went wrong and what to do, for people.
    pub message: String,
    /// More, for some codes: `{"findings": [...]}` for `quality-check-failed`; otherwise `null`.
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// A page of a list. Pass `next_cursor` back as `cursor` for the next page; it is `null` on the last.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Where the next page starts, or `null`.
    pub next_cursor: Option<String>,
}

/// A list that is always complete.
#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T: ToSchema> {
    /// Every item.
    pub items: Vec<T>,
}

/// A person.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = User)]
pub struct UserDto {
    /// Identity.
    pub id: Uuid,
    /// Login name.
    pub email: String,
    /// Shown to others.
    pub display_name: String,
    /// What they may do (an API token's role when the request used a token).
    pub role: RoleDto,
    /// Disabled people can no longer sign in or act.
    pub disabled: bool,
    /// When the person was added.
    pub created_at: DateTime<Utc>,
}

impl From<&User> for UserDto {
    fn from(u: &User) -> Self {
        UserDto {
            id: u.id.as_uuid(),
            email: u.email.to_string(),
            display_name: u.display_name.clone(),
            role: u.role.into(),
            disabled: u.disabled,
            created_at: u.created_at,
        }
    }
}

/// TikTok's per-post choices (ignored on other platforms).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
#[schema(as = TargetOptions)]
pub struct TargetOptionsDto {
    /// `PUBLIC_TO_EVERYONE`, `MUTUAL_FOLLOW_FRIENDS`, `FOLLOWER_OF_CREATOR` or `SELF_ONLY`; TikTok forbids a
    /// default, so `null` until chosen.
    pub privacy_level: Option<String>,
    /// Turn comments off.
    pub disable_comment: bool,
    /// Paid partnership promoting a third party.
    pub brand_content: bool,
    /// Promotes the creator's own brand.
    pub brand_organic: bool,
    /// Let TikTok add recommended music.
    pub auto_add_music: bool,
}

impl From<&TargetOptions> for TargetOptionsDto {
    fn from(o: &TargetOptions) -> Self {
        TargetOptionsDto {
            privacy_level: o.privacy_level.clone(),
            disable_comment: o.disable_comment,
            brand_content: o.brand_content,
            brand_organic: o.brand_organic,
            auto_add_music: o.auto_add_music,
        }
    }
}

impl From<TargetOptionsDto> for TargetOptions {
    fn from(o: TargetOptionsDto) -> Self {
        TargetOptions {
            privacy_level: o.privacy_level,
            disable_comment: o.disable_comment,
            brand_content: o.brand_content,
            brand_organic: o.brand_organic,
            auto_add_music: o.auto_add_music,
        }
    }
}

/// One image of the carousel.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Slide)]
pub struct SlideDto {
    /// The stored image.
    pub media_id: Uuid,
    /// Its description.
    pub alt_text: String,
}

impl From<&Slide> for SlideDto {
    fn from(s: &Slide) -> Self {
        SlideDto {
            media_id: s.media_id.as_uuid(),
            alt_text: s.alt_text.as_str().to_owned(),
        }
    }
}

/// Where a post goes: one account, with an optional caption of its own.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Target)]
pub struct TargetDto {
    /// Identity.
    pub id: Uuid,
    /// The account's platform.
    pub platform: PlatformDto,
    /// The account.
    pub account_id: Uuid,
    /// A caption used on this account instead of the post's.
    pub caption_override: Option<String>,
    /// The platform's per-post choices.
    pub options: TargetOptionsDto,
    /// Where it is.
    pub state: TargetStateDto,
    /// When it publishes (UTC).
    pub scheduled_at: Option<DateTime<Utc>>,
}

impl From<&Target> for TargetDto {
    fn from(t: &Target) -> Self {
        TargetDto {
            id: t.id.as_uuid(),
            platform: t.platform.into(),
            account_id: t.account_id.as_uuid(),
            caption_override: t.caption_override.as_ref().map(|c| c.as_str().to_owned()),
            options: (&t.options).into(),
            state: t.state.into(),
            scheduled_at: t.scheduled_at.map(|s| s.instant()),
        }
    }
}

/// One reviewer's decision on one version of the content.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Review)]
pub struct ReviewDto {
    /// Identity.
    pub id: Uuid,
    /// Who decided.
    pub reviewer: Uuid,
    /// What.
    pub decision: DecisionDto,
    /// Why.
    pub comment: Option<String>,
    /// The content version it is about (approvals of older versions no longer count).
    pub content_version: u32,
    /// When.
    pub at: DateTime<Utc>,
}

impl From<&Review> for ReviewDto {
    fn from(r: &Review) -> Self {
        ReviewDto {
            id: r.id.as_uuid(),
            reviewer: r.reviewer.as_uuid(),
            decision: r.decision.into(),
            comment: r.comment.clone(),
            content_version: r.content_version,
            at: r.at,
        }
    }
}

/// A post, whole.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Post)]
pub struct PostDto {
    /// Identity.
    pub id: Uuid,
    /// Who wrote it.
    pub author: Uuid,
    /// 1 to 150 characters.
    pub title: String,
    /// The caption.
    pub caption: String,
    /// Hashtags given as a list, beyond those written in the caption.
    pub extra_hashtags: Vec<String>,
    /// Every hashtag: those in the caption, then the extra ones.
    pub hashtags: Vec<String>,
    /// Slides in order.
    pub slides: Vec<SlideDto>,
    /// Where it goes.
    pub targets: Vec<TargetDto>,
    /// Workflow state.
    pub state: PostStateDto,
    /// Pass back as `expected_version` to refuse edits over someone else's.
    pub version: i64,
    /// Bumped by every content edit.
    pub content_version: u32,
    /// Every review decision.
    pub reviews: Vec<ReviewDto>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&Post> for PostDto {
    fn from(p: &Post) -> Self {
        PostDto {
            id: p.id.as_uuid(),
            author: p.author.as_uuid(),
            title: p.title.as_str().to_owned(),
            caption: p.caption.as_str().to_owned(),
            extra_hashtags: p
                .extra_hashtags
                .iter()
                .map(|h| h.as_str().to_owned())
                .collect(),
            hashtags: p.hashtags().iter().map(|h| h.as_str().to_owned()).collect(),
            slides: p.slides.iter().map(SlideDto::from).collect(),
            targets: p.targets.iter().map(TargetDto::from).collect(),
            state: p.state().into(),
            version: p.version,
            content_version: p.content_version,
            reviews: p.reviews.iter().map(ReviewDto::from).collect(),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// One line of the post list.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PostSummary)]
pub struct PostSummaryDto {
    /// Identity.
    pub id: Uuid,
    /// Title.
    pub title: String,
    /// State.
    pub state: PostStateDto,
    /// Author's id.
    pub author: Uuid,
    /// Number of slides.
    pub slide_count: i64,
    /// Number of targets.
    pub target_count: i64,
    /// The earliest scheduled instant among its targets.
    pub next_publish_at: Option<DateTime<Utc>>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Row version.
    pub version: i64,
}

impl From<&PostSummary> for PostSummaryDto {
    fn from(p: &PostSummary) -> Self {
        PostSummaryDto {
            id: p.id.as_uuid(),
            title: p.title.clone(),
            state: p.state.into(),
            author: p.author.as_uuid(),
            slide_count: p.slide_count,
            target_count: p.target_count,
            next_publish_at: p.next_publish_at,
            updated_at: p.updated_at,
            version: p.version,
        }
    }
}

/// A slide as a client gives it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SlideInput)]
pub struct SlideInputDto {
    /// A stored image's id.
    pub media_id: String,
    /// Its description (screen readers read it).
    #[serde(default)]
    pub alt_text: String,
}

/// A target as a client gives it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TargetInput)]
pub struct TargetInputDto {
    /// Account id, or its display name such as `@brand`.
    pub account: String,
    /// A caption for this account only.
    #[serde(default)]
    pub caption: Option<String>,
    /// The platform's per-post choices.
    #[serde(default)]
    pub options: TargetOptionsDto,
}

fn slides_in(v: Vec<SlideInputDto>) -> Vec<natronfx_service::SlideInput> {
    v.into_iter()
        .map(|s| natronfx_service::SlideInput {
            media_id: s.media_id,
            alt_text: s.alt_text,
        })
        .collect()
}

fn targets_in(v: Vec<TargetInputDto>) -> Vec<natronfx_service::TargetInput> {
    v.into_iter()
        .map(|t| natronfx_service::TargetInput {
            account: t.account,
            caption: t.caption,
            options: t.options.into(),
        })
        .collect()
}

/// A new post.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewPost)]
pub struct NewPostDto {
    /// 1 to 150 characters.
    pub title: String,
    /// Up to 10,000 characters.
    #[serde(default)]
    pub caption: String,
    /// Hashtags beyond those written in the caption (with or without `#`).
    #[serde(default)]
    pub hashtags: Vec<String>,
    /// Slides in order.
    #[serde(default)]
    pub slides: Vec<SlideInputDto>,
    /// Where to publish.
    #[serde(default)]
    pub targets: Vec<TargetInputDto>,
}

impl From<NewPostDto> for natronfx_service::PostInput {
    fn from(d: NewPostDto) -> Self {
        natronfx_service::PostInput {
            title: d.title,
            caption: d.caption,
            hashtags: d.hashtags,
            slides: slides_in(d.slides),
            targets: targets_in(d.targets),
        }
    }
}

/// A change to a post; parts left out stay as they are. Outside `draft` the post returns to `draft`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PostPatch)]
pub struct PostPatchDto {
    /// New title.
    pub title: Option<String>,
    /// New caption.
    pub caption: Option<String>,
    /// New extra hashtags.
    pub hashtags: Option<Vec<String>>,
    /// New slides, in order.
    pub slides: Option<Vec<SlideInputDto>>,
    /// New targets (targets for the same account keep their identity).
    pub targets: Option<Vec<TargetInputDto>>,
    /// The version you loaded; if someone saved since, the answer is `conflict`.
    pub expected_version: Option<i64>,
}

impl From<PostPatchDto> for natronfx_service::PostPatch {
    fn from(d: PostPatchDto) -> Self {
        natronfx_service::PostPatch {
            title: d.title,
            caption: d.caption,
            hashtags: d.hashtags,
            slides: d.slides.map(slides_in),
            targets: d.targets.map(targets_in),
            expected_version: d.expected_version,
        }
    }
}

/// When to publish, as a person says it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Schedule)]
pub struct ScheduleDto {
    /// Local date and time, `YYYY-MM-DD HH:MM`.
    pub local: String,
    /// IANA zone, e.g. `Europe/Lisbon`.
    pub zone: String,
    /// For a time that happens twice (clocks fall back): `earlier` (default) or `later`.
    #[serde(default)]
    pub ambiguity: Option<AmbiguityDto>,
    /// Only these targets (ids or account names); every unsent target when empty.
    #[serde(default)]
    pub targets: Vec<String>,
    /// The version you loaded.
    #[serde(default)]
    pub expected_version: Option<i64>,
}

impl From<ScheduleDto> for natronfx_service::ScheduleRequest {
    fn from(d: ScheduleDto) -> Self {
        natronfx_service::ScheduleRequest {
            local: d.local,
            zone: d.zone,
            ambiguity: d.ambiguity.map(Into::into).unwrap_or_default(),
            targets: d.targets,
            expected_version: d.expected_version,
        }
    }
}

/// A review decision's note (the body may be left out).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Comment)]
pub struct CommentDto {
    /// A note for the author.
    pub comment: Option<String>,
}

/// Which targets (the body may be left out: all of them).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Targets)]
pub struct TargetsDto {
    /// Target ids or account names; every target when empty.
    #[serde(default)]
    pub targets: Vec<String>,
}

/// Why (the body may be left out).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Note)]
pub struct NoteDto {
    /// A note for the history.
    pub note: Option<String>,
}

/// A mechanical change that clears a finding.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Fix)]
pub struct FixDto {
    /// `render_variant`: render the slide as `format` at `width` × `height` within `max_bytes`.
    pub kind: String,
    /// Target format.
    pub format: Option<String>,
    /// Target width.
    pub width: Option<u32>,
    /// Target height.
    pub height: Option<u32>,
    /// Largest file.
    pub max_bytes: Option<u64>,
}

/// One thing a quality rule noticed.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Finding)]
pub struct FindingDto {
    /// Stable rule code, e.g. `instagram-caption-too-long`.
    pub code: String,
    /// Errors block submitting, the approval that completes a review, and scheduling.
    pub severity: SeverityDto,
    /// The platform whose rule it is (`null`: every platform).
    pub platform: Option<PlatformDto>,
    /// The slide concerned, from 1 (`null`: the post as a whole).
    pub slide: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: String,
    /// A change that clears it, when one exists.
    pub fix: Option<FixDto>,
}

impl From<&Finding> for FindingDto {
    fn from(f: &Finding) -> Self {
        // The fix's JSON is the workflow's own; read its fields back rather than matching a
        // non-exhaustive enum.
        let fix = f
            .fix
            .as_ref()
            .and_then(|fix| serde_json::to_value(fix).ok())
            .map(|v| FixDto {
                kind: v["kind"].as_str().unwrap_or_default().to_owned(),
                format: v["format"].as_str().map(str::to_owned),
                width: v["width"].as_u64().and_then(|n| u32::try_from(n).ok()),
                height: v["height"].as_u64().and_then(|n| u32::try_from(n).ok()),
                max_bytes: v["max_bytes"].as_u64(),
            });
        FindingDto {
            code: f.code.to_owned(),
            severity: f.severity.into(),
            platform: f.platform.map(Into::into),
            slide: f.slide,
            message: f.message.clone(),
            hint: f.hint.clone(),
            fix,
        }
    }
}

/// Every finding of a post.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Findings)]
pub struct FindingsDto {
    /// True when an error blocks publishing.
    pub blocked: bool,
    /// Errors first.
    pub findings: Vec<FindingDto>,
}

impl FindingsDto {
    /// The findings, as the API shows them.
    pub fn new(findings: &[Finding]) -> Self {
        FindingsDto {
            blocked: wf::blocks(findings),
            findings: findings.iter().map(FindingDto::from).collect(),
        }
    }
}

/// Which platform.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PlatformBody)]
pub struct PlatformBodyDto {
    /// The platform.
    pub platform: PlatformDto,
}

/// A post after its slides were fixed for a platform, with its findings.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Fixed)]
pub struct FixedDto {
    /// The post.
    pub post: PostDto,
    /// Its findings afterwards.
    pub findings: FindingsDto,
}

/// A run of the visible caption.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Span)]
pub struct SpanDto {
    /// First character (by Unicode scalar).
    pub start: usize,
    /// One past the last.
    pub end: usize,
    /// `text`, `hashtag` or `mention`.
    pub kind: String,
}

/// What a platform will show of a post.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Preview)]
pub struct PreviewDto {
    /// The platform.
    pub platform: PlatformDto,
    /// The account's name.
    pub account: String,
    /// TikTok shows the title; the others none.
    pub title: Option<String>,
    /// `crop` (one ratio for every slide), `fit` (letterboxed in a fixed screen) or `natural`.
    pub frame: String,
    /// Width over height of the frame, when it has one.
    pub frame_ratio: Option<f64>,
    /// The caption as shown before "more".
    pub caption: String,
    /// True when the app cuts the caption.
    pub truncated: bool,
    /// The visible caption as text, hashtags and mentions.
    pub spans: Vec<SpanDto>,
}

impl From<&wf::preview::Preview> for PreviewDto {
    fn from(p: &wf::preview::Preview) -> Self {
        use wf::preview::{Frame, SpanKind};
        let (frame, frame_ratio) = match p.frame {
            Frame::Crop { ratio } => ("crop", Some(ratio)),
            Frame::Fit { ratio } => ("fit", Some(ratio)),
            Frame::Natural => ("natural", None),
        };
        PreviewDto {
            platform: p.platform.into(),
            account: p.account.clone(),
            title: p.title.clone(),
            frame: frame.into(),
            frame_ratio,
            caption: p.caption.clone(),
            truncated: p.truncated,
            spans: p
                .spans
                .iter()
                .map(|s| SpanDto {
                    start: s.start,
                    end: s.end,
                    kind: match s.kind {
                        SpanKind::Text => "text",
                        SpanKind::Hashtag => "hashtag",
                        SpanKind::Mention => "mention",
                    }
                    .into(),
                })
                .collect(),
        }
    }
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AuditEvent)]
pub struct AuditEventDto {
    /// Position in the log.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (`null`: the system, or someone not signed in).
    pub actor: Option<Uuid>,
    /// What happened, e.g. `post-approved`, `login-failed`.
    pub action: String,
    /// Kind of record: `post`, `user`, `token`, `setting`, `account`, `login`.
    pub subject_kind: String,
    /// That record's id.
    pub subject_id: String,
    /// State before.
    pub from_state: Option<String>,
    /// State after.
    pub to_state: Option<String>,
    /// A note for people.
    pub note: Option<String>,
}

impl From<&StoredAuditEvent> for AuditEventDto {
    fn from(e: &StoredAuditEvent) -> Self {
        AuditEventDto {
            seq: e.seq,
            at: e.event.at,
            actor: e.event.actor.map(|a| a.as_uuid()),
            action: e.event.action.as_str().to_owned(),
            subject_kind: e.event.subject_kind.clone(),
            subject_id: e.event.subject_id.clone(),
            from_state: e.event.from_state.clone(),
            to_state: e.event.to_state.clone(),
            note: e.event.note.clone(),
        }
    }
}

/// A connected social account.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Account)]
pub struct AccountDto {
    /// Identity.
    pub id: Uuid,
    /// Platform.
    pub platform: PlatformDto,
    /// The platform's id for it.
    pub external_id: String,
    /// The name people know it by.
    pub display_name: String,
    /// Whether it can be published to.
    pub status: AccountStatusDto,
    /// A rehearsal account backed by the local simulator.
    pub sandbox: bool,
    /// When it was connected.
    pub created_at: DateTime<Utc>,
    /// When its access token stops working, if known.
    pub access_expires_at: Option<DateTime<Utc>>,
    /// Whether access renews without a person.
    pub refreshable: bool,
}

impl AccountDto {
    /// An account without credential facts.
    pub fn plain(a: &Account) -> Self {
        AccountDto {
            id: a.id.as_uuid(),
            platform: a.platform.into(),
            external_id: a.external_id.clone(),
            display_name: a.display_name.clone(),
            status: a.status.into(),
            sandbox: a.sandbox,
            created_at: a.created_at,
            access_expires_at: None,
            refreshable: false,
        }
    }
}

impl From<&AccountOverview> for AccountDto {
    fn from(o: &AccountOverview) -> Self {
        AccountDto {
            access_expires_at: o.access_expires_at,
            refreshable: o.refreshable,
            ..AccountDto::plain(&o.account)
        }
    }
}

/// A stored image.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Media)]
pub struct MediaDto {
    /// Identity (use it in slides).
    pub id: Uuid,
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
    /// The public URL the platforms pull it from.
    pub url: String,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

impl From<&MediaView> for MediaDto {
    fn from(m: &MediaView) -> Self {
        MediaDto {
            id: m.id.as_uuid(),
            key: m.key.clone(),
            sha256: m.sha256.clone(),
            bytes: m.bytes,
            width: m.width,
            height: m.height,
            format: m.format.clone(),
            source: m.source.clone(),
            url: m.url.clone(),
            created_at: m.created_at,
        }
    }
}

/// A carousel to render: a spec as JSON (`spec`) or TOML text (`spec_toml`). Backgrounds name stored media
/// (`{"type": "image", "media": "<id>"}`), never files.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Render)]
pub struct RenderDto {
    /// The spec as a JSON object (see `fixtures/carousels` for the format).
    #[schema(value_type = Option<Object>)]
    pub spec: Option<serde_json::Value>,
    /// The spec as TOML text.
    pub spec_toml: Option<String>,
}

/// The form of a media upload: one or more `file` parts.
#[derive(Debug, ToSchema)]
#[allow(
    dead_code,
    reason = "documents the multipart form in the OpenAPI document; never built"
)]
pub struct UploadForm {
    /// JPEG, PNG or WebP, recognised by content.
    #[schema(value_type = Vec<String>, format = Binary)]
    pub file: Vec<u8>,
}

/// An API token.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Token)]
pub struct TokenDto {
    /// Identity.
    pub id: Uuid,
    /// Its label.
    pub name: String,
    /// The role it acts with.
    pub role: RoleDto,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last used.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revoked (a revoked token authenticates nothing).
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&ApiToken> for TokenDto {
    fn from(t: &ApiToken) -> Self {
        TokenDto {
            id: t.id.as_uuid(),
            name: t.name.clone(),
            role: t.role.into(),
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A token to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewToken)]
pub struct NewTokenDto {
    /// A label, 1 to 100 characters.
    pub name: String,
    /// The role it acts with; at most your own (default: your own).
    #[serde(default)]
    pub role: Option<RoleDto>,
}

/// A token just created: the secret is shown this once.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CreatedToken)]
pub struct CreatedTokenDto {
    /// The token.
    pub token: TokenDto,
    /// Send it as `Authorization: Bearer <secret>`. It cannot be shown again.
    pub secret: String,
}

/// A person to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewUser)]
pub struct NewUserDto {
    /// Login name.
    pub email: String,
    /// Shown to others (default: the email).
    #[serde(default)]
    pub display_name: Option<String>,
    /// What they may do.
    pub role: RoleDto,
    /// A first password (at least 10 characters); without one they cannot sign in until an admin sets it.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<secrecy::SecretString>,
}

/// A change to a person.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UserPatch)]
pub struct UserPatchDto {
    /// A new role.
    pub role: Option<RoleDto>,
    /// `true` disables the person (their history stays). Disabling cannot be undone here.
    pub disabled: Option<bool>,
}

/// A password set by an admin.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PasswordReset)]
pub struct PasswordResetDto {
    /// At least 10 characters. Every session of the person ends.
    #[schema(value_type = String, format = Password)]
    pub password: secrecy::SecretString,
}

/// Changing one's own password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PasswordChange)]
pub struct PasswordChangeDto {
    /// The password now.
    #[schema(value_type = String, format = Password)]
    pub current_password: secrecy::SecretString,
    /// The new one, at least 10 characters. Every other session ends.
    #[schema(value_type = String, format = Password)]
    pub new_password: secrecy::SecretString,
}

/// Signing in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Login)]
pub struct LoginDto {
    /// Email.
    pub email: String,
    /// Password.
    #[schema(value_type = String, format = Password)]
    pub password: secrecy::SecretString,
}

/// The signed-in session (the id itself stays in the `HttpOnly` cookie).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Session)]
pub struct SessionDto {
    /// Who is signed in.
    pub user: UserDto,
    /// Send it as `X-CSRF-Token` with every state-changing request made with the cookie.
    pub csrf_token: String,
    /// When the session ends at the latest.
    pub expires_at: DateTime<Utc>,
}

/// One of your sessions.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SessionInfo)]
pub struct SessionInfoDto {
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// Last activity (to the minute).
    pub last_seen_at: DateTime<Utc>,
    /// When it ends at the latest.
    pub expires_at: DateTime<Utc>,
    /// Address at login.
    pub address: String,
    /// Browser at login.
    pub user_agent: String,
}

impl From<&SessionRecord> for SessionInfoDto {
    fn from(s: &SessionRecord) -> Self {
        SessionInfoDto {
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
            address: s.address.clone(),
            user_agent: s.user_agent.clone(),
        }
    }
}

/// The team's approval policy.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Policy)]
pub struct PolicyDto {
    /// `none` (submitting approves), `required` (one approver who is not the author) or `multi:N`.
    pub policy: String,
}

/// The audit log's hash chain checked.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AuditCheck)]
pub struct AuditCheckDto {
    /// How many events were checked (the chain holds).
    pub checked: u64,
}

/// One entry of the calendar.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CalendarEntry)]
pub struct CalendarEntryDto {
    /// The post.
    pub post_id: Uuid,
    /// Its title.
    pub title: String,
    /// Its state.
    pub post_state: PostStateDto,
    /// The target.
    pub target_id: Uuid,
    /// The platform.
    pub platform: PlatformDto,
    /// The account.
    pub account_id: Uuid,
    /// The account's name.
    pub account_name: String,
    /// The target's state.
    pub target_state: TargetStateDto,
    /// When (UTC).
    pub at: DateTime<Utc>,
}

impl From<&CalendarEntry> for CalendarEntryDto {
    fn from(e: &CalendarEntry) -> Self {
        CalendarEntryDto {
            post_id: e.post_id.as_uuid(),
            title: e.title.clone(),
            post_state: e.post_state.into(),
            target_id: e.target_id.as_uuid(),
            platform: e.platform.into(),
            account_id: e.account_id.as_uuid(),
            account_name: e.account_name.clone(),
            target_state: e.target_state.into(),
            at: e.at,
        }
    }
}

/// One entry of a post's history.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = History)]
pub struct HistoryDto {
    /// Events, oldest first.
    pub items: Vec<AuditEventDto>,
}

/// A post's publishing history, target by target.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Timeline)]
pub struct TimelineDto {
    /// The post.
    pub post: Uuid,
    /// Its state.
    pub state: String,
    /// Each target with its ledger and every step of every attempt.
    pub targets: Vec<TargetTimelineDto>,
}

/// One target's ledger and history.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TargetTimeline)]
pub struct TargetTimelineDto {
    /// The target.
    pub target: Uuid,
    /// Its platform.
    pub platform: PlatformDto,
    /// The account's name.
    pub account: String,
    /// Where it is.
    pub state: TargetStateDto,
    /// When it is (or was) due.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// The platform's id of the live post.
    pub platform_post_id: Option<String>,
    /// Link to it.
    pub permalink: Option<String>,
    /// When it went live.
    pub published_at: Option<DateTime<Utc>>,
    /// The last error, in words.
    pub last_error: Option<String>,
    /// Failed tries so far.
    pub retries: i32,
    /// When it next needs work.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Every step, oldest first.
    pub entries: Vec<TimelineEntryDto>,
}

/// One step of a publish.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TimelineEntry)]
pub struct TimelineEntryDto {
    /// When.
    pub at: DateTime<Utc>,
    /// Which attempt.
    pub attempt: i64,
    /// `started`, `remote-id`, `processing`, `published`, `retry`, `failed`, `unknown`, `reconciled`, ...
    pub kind: String,
    /// In words.
    pub message: String,
    /// A remote id.
    pub remote_id: Option<String>,
    /// The platform's HTTP status.
    pub http_status: Option<i32>,
    /// The platform's error code.
    pub error_code: Option<String>,
    /// The platform's trace id.
    pub trace_id: Option<String>,
    /// How long the call took.
    pub duration_ms: Option<i64>,
}

impl From<natronfx_service::Timeline> for TimelineDto {
    fn from(t: natronfx_service::Timeline) -> Self {
        TimelineDto {
            post: t.post.as_uuid(),
            state: t.state,
            targets: t
                .targets
                .into_iter()
                .map(|t| TargetTimelineDto {
                    target: t.target.as_uuid(),
                    platform: t.platform.into(),
                    account: t.account,
                    state: t.state.into(),
                    scheduled_at: t.scheduled_at,
                    platform_post_id: t.platform_post_id,
                    permalink: t.permalink,
                    published_at: t.published_at,
                    last_error: t.last_error,
                    retries: t.retries,
                    next_attempt_at: t.next_attempt_at,
                    entries: t
                        .entries
                        .into_iter()
                        .map(|e| TimelineEntryDto {
                            at: e.at,
                            attempt: e.attempt,
                            kind: e.kind,
                            message: e.message,
                            remote_id: e.remote_id,
                            http_status: e.http_status,
                            error_code: e.error_code,
                            trace_id: e.trace_id,
                            duration_ms: e.duration_ms,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl From<&natronfx_service::AccountView> for AccountDto {
    fn from(a: &natronfx_service::AccountView) -> Self {
        AccountDto {
            id: a.id.as_uuid(),
            platform: a.platform.into(),
            external_id: a.external_id.clone(),
            display_name: a.display_name.clone(),
            status: a.status.into(),
            sandbox: a.sandbox,
            created_at: a.created_at,
            access_expires_at: a.access_expires_at,
            refreshable: a
                .credentials
                .iter()
                .any(|c| c.field == natronfx_service::accounts::REFRESH_TOKEN),
        }
    }
}

/// Which platform to connect.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = ConnectRequest)]
pub struct ConnectDto {
    /// The platform whose consent screen to open.
    pub platform: PlatformDto,
}

/// Where an account connection starts: send the person's browser to `authorize_url`; the platform
/// sends it back to `redirect_uri` with a code and this `state`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ConnectStart)]
pub struct ConnectStartDto {
    /// The platform.
    pub platform: PlatformDto,
    /// The platform's consent screen.
    pub authorize_url: String,
    /// Single-use, bound to the caller, valid for ten minutes.
    pub state: String,
    /// Where the platform sends the browser back.
    pub redirect_uri: String,
    /// When the state stops being accepted.
    pub expires_at: DateTime<Utc>,
}

impl From<natronfx_service::ConnectStart> for ConnectStartDto {
    fn from(s: natronfx_service::ConnectStart) -> Self {
        ConnectStartDto {
            platform: s.platform.into(),
            authorize_url: s.authorize_url,
            state: s.state,
            redirect_uri: s.redirect_uri,
            expires_at: s.expires_at,
        }
    }
}

/// The URL (or just its query) the platform sent the browser back to.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = ConnectCallback)]
pub struct CallbackDto {
    /// E.g. `https://app.example/accounts/callback?code=...&state=...`.
    pub callback: String,
}

/// What a refresh did.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RefreshResult)]
pub struct RefreshDto {
    /// The account afterwards.
    pub account: AccountDto,
    /// Whether new tokens were obtained.
    pub refreshed: bool,
    /// Why not, when they were not.
    pub note: Option<String>,
}

/// How to disconnect.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = DisconnectRequest)]
pub struct DisconnectDto {
    /// Delete the stored credentials even when the platform cannot be told (the revoke failed).
    #[serde(default)]
    pub purge: bool,
}

/// What disconnecting did.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = DisconnectResult)]
pub struct DisconnectedDto {
    /// The account afterwards (`disconnected`).
    pub account: AccountDto,
    /// `revoked`, `not-offered`, `not-attempted` or `failed`.
    pub revoke: String,
    /// Why the token was not revoked, when it was not.
    pub revoke_note: Option<String>,
    /// How many stored secrets were deleted.
    pub credentials_deleted: u64,
}

/// What a person found on the platform about a target whose outcome was unknown.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = ResolveRequest)]
pub struct ResolveDto {
    /// Whether the post is live on the platform.
    pub live: bool,
    /// What they saw (a link, a time).
    #[serde(default)]
    pub note: Option<String>,
}

/// What to generate with the image model.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = GenerateRequest)]
pub struct GenerateDto {
    /// What the image shows.
    pub prompt: String,
    /// `1024x1024` (default), `1024x1536` or `1536x1024`.
    #[serde(default)]
    pub size: Option<String>,
    /// `low`, `medium`, `high` or `auto` (default).
    #[serde(default)]
    pub quality: Option<String>,
    /// `opaque` or `auto` (default).
    #[serde(default)]
    pub background: Option<String>,
    /// How many images, 1 to 10 (default 1).
    #[serde(default)]
    pub n: Option<u8>,
    /// Also store each image fitted to the 1080×1350 slide canvas (cover-cropped around the centre).
    #[serde(default)]
    pub fit_to_slide: bool,
}

/// Where a generated image came from.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Provenance)]
pub struct ProvenanceDto {
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
    /// Token usage the image service reported.
    #[schema(value_type = Object)]
    pub usage: serde_json::Value,
    /// Who asked.
    pub requested_by: Option<Uuid>,
    /// When.
    pub requested_at: DateTime<Utc>,
    /// For an image made from a generated one (a fitted slide): that original.
    pub derived_from: Option<Uuid>,
}

impl From<&natronfx_service::ProvenanceView> for ProvenanceDto {
    fn from(p: &natronfx_service::ProvenanceView) -> Self {
        ProvenanceDto {
            generator: p.generator.clone(),
            model: p.model.clone(),
            prompt: p.prompt.clone(),
            size: p.size.clone(),
            quality: p.quality.clone(),
            background: p.background.clone(),
            usage: p.usage.clone(),
            requested_by: p.requested_by.map(|u| u.as_uuid()),
            requested_at: p.requested_at,
            derived_from: p.derived_from.map(|m| m.as_uuid()),
        }
    }
}

/// One generated image: as made, fitted to a slide when asked, and where it came from.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = GeneratedMedia)]
pub struct GeneratedDto {
    /// The image as generated (source `generated`).
    pub media: MediaDto,
    /// The same fitted to the slide canvas, when asked.
    pub slide: Option<MediaDto>,
    /// Its provenance.
    pub provenance: ProvenanceDto,
}

/// How to apply the retention policy.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = RetentionRun)]
pub struct RetentionRunDto {
    /// Only count what would be deleted (the default).
    #[serde(default = "yes")]
    pub dry_run: bool,
}

fn yes() -> bool {
    true
}

impl Default for RetentionRunDto {
    fn default() -> Self {
        RetentionRunDto { dry_run: true }
    }
}

/// What a retention run deleted, or would.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RetentionReport)]
pub struct RetentionReportDto {
    /// When the policy was applied.
    pub at: DateTime<Utc>,
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// Each kind of record.
    pub kinds: Vec<RetentionKindDto>,
}

/// One kind of record in a retention run.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RetentionKind)]
pub struct RetentionKindDto {
    /// `media`, `publish-log`, `error-excerpts`, `archived-posts`, `fingerprints`, `sessions`,
    /// `login-attempts`, `oauth-states` or `audit-events`.
    pub kind: String,
    /// How long the policy keeps them (`null`: forever).
    pub keep_days: Option<u32>,
    /// How many were (or would be) deleted.
    pub count: u64,
    /// Bytes freed, where known.
    pub bytes: Option<u64>,
    /// Files the media store failed to delete (tried again next run).
    pub failed: u64,
}

impl From<&natronfx_service::RetentionReport> for RetentionReportDto {
    fn from(r: &natronfx_service::RetentionReport) -> Self {
        RetentionReportDto {
            at: r.at,
            dry_run: r.dry_run,
            kinds: r
                .kinds
                .iter()
                .map(|k| RetentionKindDto {
                    kind: k.kind.to_owned(),
                    keep_days: k.keep_days,
                    count: k.count,
                    bytes: k.bytes,
                    failed: k.failed,
                })
                .collect(),
        }
    }
}

/// What to export.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = ExportRequest)]
pub struct ExportRequestDto {
    /// One post's id; everything when left out.
    #[serde(default)]
    pub post: Option<String>,
}

/// A secret the vault keeps for the system itself, in place of a configuration setting (never its value).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SystemSecret)]
pub struct SystemSecretDto {
    /// Its name (`images_api_key`: the OpenAI Images API key).
    pub name: String,
    /// What it is for.
    pub purpose: String,
    /// The configuration setting it stands in for (`images.api_key`).
    pub setting: String,
    /// Whether the configuration sets it; that value is then used, not the vault's.
    pub in_configuration: bool,
    /// The vault key sealing the stored value, when one is stored.
    pub vault_key_id: Option<u32>,
    /// When the stored value was written, when one is stored.
    pub stored_at: Option<DateTime<Utc>>,
}

impl From<&natronfx_service::SystemSecretStatus> for SystemSecretDto {
    fn from(s: &natronfx_service::SystemSecretStatus) -> Self {
        SystemSecretDto {
            name: s.name.into(),
            purpose: s.purpose.into(),
            setting: s.setting.into(),
            in_configuration: s.in_configuration,
            vault_key_id: s.vault_key_id,
            stored_at: s.stored_at,
        }
    }
}

/// The value to seal into the vault.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SystemSecretValue)]
pub struct SystemSecretValueDto {
    /// The secret itself, one line; it is never returned or logged.
    #[schema(value_type = String, format = Password)]
    pub value: secrecy::SecretString,
}

/// Whether a stored secret was deleted.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SystemSecretRemoved)]
pub struct SystemSecretRemovedDto {
    /// The secret.
    pub name: String,
    /// Whether the vault held it.
    pub removed: bool,
}
