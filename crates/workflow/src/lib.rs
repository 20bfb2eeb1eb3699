//! The NatronFX publishing workflow: the domain model every other crate speaks.
//!
//! This crate is pure. It knows nothing of databases, HTTP, files or the clock: callers pass the current
//! instant in, and every rule answers with a value or a typed [`Error`]. That keeps each rule testable in
//! isolation and impossible to bypass from a handler.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use natronfx_workflow::{ApprovalPolicy, Caption, Post, PostDraft, PostState, Role, Title, User, UserId, PostId};
//!
//! let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
//! let author = User::new(UserId::random(), "ana@example.com".parse().unwrap(), "Ana", Role::Editor, now);
//! let reviewer = User::new(UserId::random(), "rui@example.com".parse().unwrap(), "Rui", Role::Reviewer, now);
//! let draft = PostDraft {
//!     title: Title::parse("Winter launch").unwrap(),
//!     caption: Caption::parse("Our new blend is here #coffee").unwrap(),
//!     extra_hashtags: vec![],
//!     slides: vec![],
//!     targets: vec![],
//! };
//! let (mut post, _created) = Post::create(PostId::random(), &author, draft, now).unwrap();
//! post.submit(&author, ApprovalPolicy::Required, now).unwrap();
//! assert_eq!(post.state(), PostState::InReview);
//! // The author may not approve their own post under `required`.
//! assert!(post.approve(&author, ApprovalPolicy::Required, None, now).is_err());
//! post.approve(&reviewer, ApprovalPolicy::Required, Some("looks good".into()), now).unwrap();
//! assert_eq!(post.state(), PostState::Approved);
//! ```
#![warn(missing_docs)]

mod account;
mod audit;
mod error;
mod hashtag;
mod id;
mod permission;
mod platform;
mod post;
pub mod preview;
pub mod quality;
mod review;
mod schedule;
mod state;
mod user;

pub use account::{Account, AccountStatus};
pub use audit::{AuditAction, AuditEvent};
pub use error::{Error, Result};
pub use hashtag::{Hashtag, Hashtags};
pub use id::{AccountId, MediaId, PostId, ReviewId, TargetId, TokenId, UserId};
pub use permission::{Action, authorize};
pub use platform::Platform;
pub use post::{
    AltText, Caption, ContentEdit, Post, PostDraft, PostSnapshot, Slide, Target, TargetOptions,
    TargetSpec, TargetState, Title,
};
pub use quality::{
    AccountFacts, CheckInput, DuplicatePolicy, EarlierPost, Finding, Fix, QualityConfig, Severity,
    SlideFacts, SlideFormat, TikTokChoices, UrlProbe, blocks, check,
};
pub use review::{ApprovalPolicy, Decision, Review};
pub use schedule::{Ambiguity, LocalSchedule, ScheduledAt};
pub use state::PostState;
pub use user::{Email, Role, User};
