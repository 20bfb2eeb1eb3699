//! Publishing adapters for TikTok, Instagram and Facebook Pages, and the OpenAI Images client that makes
//! slide backgrounds ([`OpenAiImages`]).
//!
//! Each adapter speaks its platform's contract exactly (paths, trailing slashes, form or JSON bodies,
//! envelopes, big-integer ids kept as text) and turns every failure into one classified
//! [`PlatformError`]. Publishing is a resumable state machine: [`Publisher::advance`] makes at most one
//! creating call and returns the new [`PublishProgress`] to persist before anything else happens.
//!
//! Classification rules shared by the adapters:
//!
//! - The platform's own code decides (TikTok `error.code`, Graph `code`/`error_subcode`), the HTTP status
//!   only when there is no code. TikTok answers some failures with HTTP 200.
//! - A timeout, a cut-off answer or a 5xx on the call that makes the post visible (TikTok `content/init`,
//!   Instagram `media_publish`, Facebook `photos`/`feed`) is [`ErrorClass::OutcomeUnknown`]: the post may
//!   exist; resolve it with [`Publisher::reconcile`] before anything else.
//! - The same on a call that creates something invisible that expires by itself (an Instagram container, an
//!   unpublished Facebook photo) is [`ErrorClass::Retryable`]: at worst an orphan is left behind.
//! - Platform ids are kept as text; TikTok's 19-digit `publicaly_available_post_id` numbers keep every digit.
//!
//! ```no_run
//! use natronfx_platforms::{
//!     Next, Platform, PrivacyLevel, PublishProgress, PublishRequest, PublishToggles, Publisher, TiktokConfig,
//!     TiktokPublisher,
//! };
//! use secrecy::SecretString;
//!
//! # async fn run() -> natronfx_platforms::Result<()> {
//! let tiktok = TiktokPublisher::new(TiktokConfig::default())?;
//! let token = SecretString::from("act.example");
//! let request = PublishRequest {
//!     account_id: "open-id".into(),
//!     title: Some("Autumn drop".into()),
//!     caption: "Three new colours #autumn".into(),
//!     image_urls: vec!["https://media.example.com/p/1.jpg".into()],
//!     privacy_level: Some(PrivacyLevel::SelfOnly),
//!     toggles: PublishToggles::default(),
//!     is_aigc: false,
//!     cover_index: 0,
//! };
//! let mut progress = PublishProgress::start(Platform::Tiktok);
//! loop {
//!     let step = tiktok.advance(&token, &request, &progress).await?;
//!     progress = step.progress; // persist this before anything else
//!     match step.next {
//!         Next::Continue => {}
//!         Next::PollAfter(delay) => tokio::time::sleep(delay).await,
//!         Next::Done(published) => break println!("live: {:?}", published.post_id),
//!         Next::Failed(error) => return Err(error),
//!         _ => break,
//!     }
//! }
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod error;
mod facebook;
mod graph;
mod http;
mod instagram;
mod limiter;
mod model;
mod oauth;
mod openai;
mod progress;
mod publisher;
mod tiktok;

pub use error::{ErrorClass, ErrorDetail, PlatformError, Result};
pub use facebook::{FACEBOOK_MAX_PHOTOS, FacebookPublisher};
pub use graph::GraphConfig;
pub use instagram::{
    ContainerStatus, INSTAGRAM_CAPTION_MAX_CHARS, INSTAGRAM_MAX_CAROUSEL_ITEMS,
    INSTAGRAM_MAX_HASHTAGS, INSTAGRAM_MAX_MENTIONS, InstagramPublisher,
};
pub use limiter::{
    INSTAGRAM_CONTAINERS_PER_DAY, RateLimit, TIKTOK_CREATOR_INFO_PER_MINUTE,
    TIKTOK_INIT_PER_MINUTE, TIKTOK_STATUS_PER_MINUTE,
};
pub use model::{
    AccountInfo, Platform, PrivacyLevel, PublishRequest, PublishToggles, Published,
    PublishingQuota, RecentPost, RemoteStatus,
};
pub use oauth::{
    Callback, CallbackError, Connector, FacebookConnector, GrantedAccount, InstagramConnector,
    InstagramOAuthConfig, OAuthApp, PageGrant, Pkce, RefreshKind, TiktokConnector,
    TiktokOAuthConfig, TokenGrant,
};
pub use openai::{
    GeneratedImages, IMAGE_MAX_COUNT, IMAGE_PROMPT_MAX_CHARS, ImageBackground, ImageGenError,
    ImageQuality, ImageRequest, ImageSize, ImageUsage, ImagesConfig, OpenAiImages,
};
pub use progress::{
    Container, FacebookProgress, InstagramProgress, Next, PublishProgress, Step, TiktokProgress,
    UploadedPhoto,
};
pub use publisher::{Publisher, matches_request};
pub use tiktok::{
    CreatorInfo, PublishStatus, TIKTOK_DESCRIPTION_MAX_UTF16, TIKTOK_MAX_IMAGES,
    TIKTOK_TITLE_MAX_UTF16, TiktokConfig, TiktokPublisher,
};
