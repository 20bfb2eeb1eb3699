//! The NatronFX use cases: the one domain layer the CLI and the server share.
//!
//! Every use case takes the acting [`User`], checks what it may do through the workflow's permission
//! table, loads and saves through the store, and answers with a typed [`Error`] whose `code()` is stable.
//! The binaries only parse, call and print.
//!
//! ```no_run
//! # async fn demo() -> natronfx_service::Result<()> {
//! use std::sync::Arc;
//! use natronfx_service::{Service, SystemClock};
//! let store = natronfx_store::connect("sqlite:natronfx.db").await?;
//! let service = Service::new(store, Arc::new(SystemClock));
//! let admin = service.actor("admin@example.com").await?;
//! let posts = service.list_posts(&admin, &Default::default()).await?;
//! # let _ = posts; Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod accounts;
mod auth;
mod browse;
mod clock;
pub mod config;
mod dedupe;
mod dedupe_tools;
pub mod dispatch;
mod error;
mod export;
mod generate;
mod media;
mod observe;
mod people;
mod posts;
mod publishing;
mod quality;
mod retention;
mod secrets;
#[cfg(feature = "testing")]
pub mod testing;
mod vault;

use std::sync::Arc;

use natronfx_store::Store;

pub use accounts::{
    AccountError, AccountView, AccountsConfig, AppsConfig, ConnectStart, DisconnectReport,
    RefreshReport, SweepReport,
};
pub use auth::{ActiveSession, AuthConfig, LoginRequest, NewSession};
pub use browse::{AccountOverview, AuditQuery};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::Config;
pub use dedupe_tools::{DuplicateMatch, DuplicateReport, RebuildReport, SkippedTarget, SlideMatch};
pub use dispatch::{
    DispatchConfig, DispatchReport, Dispatcher, Publishers, SandboxConfig, SandboxSimulator,
    Workers,
};
pub use error::{Error, ErrorKind, Result};
pub use export::{
    EXPORT_SCHEMA_VERSION, ExportAccount, ExportAttempt, ExportAuditEvent, ExportBundle,
    ExportMedia, ExportPost, ExportReview, ExportScope, ExportSlide, ExportTarget,
};
pub use generate::{
    GenerateRequest, GeneratedMedia, ImageBackground, ImageQuality, ImageSize, ImagesSettings,
    ProvenanceView, SlideFit,
};
pub use media::{MediaConfig, MediaView};
pub use observe::{Observer, Unobserved};
pub use people::{FirstAdmin, NewToken};
pub use posts::{PostInput, PostPatch, PostView, ScheduleRequest, SlideInput, TargetInput};
pub use publishing::{TargetTimeline, Timeline, TimelineEntry};
pub use retention::{KindReport, RetentionConfig, RetentionReport, human_bytes};
pub use secrets::{SystemSecret, SystemSecretStatus};

pub use natronfx_store as store;
pub use natronfx_workflow as workflow;
pub use natronfx_workflow::User;

/// The setting holding the team's approval policy.
pub const APPROVAL_POLICY_SETTING: &str = "approval_policy";

/// The use cases, over one store and one clock. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    quality: natronfx_workflow::QualityConfig,
    media: Option<Arc<dyn natronfx_media::MediaStore>>,
    media_limits: natronfx_media::IngestLimits,
    history: dedupe::SharedHistory,
    images: Option<Arc<natronfx_platforms::OpenAiImages>>,
    images_settings: ImagesSettings,
    accounts: accounts::AccountsState,
    auth: AuthConfig,
    observer: Arc<dyn Observer>,
    retention: RetentionConfig,
}

impl Service {
    /// A service over `store`, telling time by `clock`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Service {
            store,
            clock,
            quality: Default::default(),
            media: None,
            media_limits: Default::default(),
            history: Default::default(),
            images: None,
            images_settings: ImagesSettings::default(),
            accounts: Default::default(),
            auth: AuthConfig::default(),
            observer: Arc::new(Unobserved),
            retention: RetentionConfig::default(),
        }
    }

    /// The same service reporting publish outcomes and token refreshes to `observer` (the server's
    /// metrics).
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = observer;
        self
    }

    /// Who hears about publish outcomes and token refreshes.
    pub(crate) fn observer(&self) -> &dyn Observer {
        self.observer.as_ref()
    }

    /// The same service judging posts by the team's quality rules (banned terms, TikTok settings).
    pub fn with_quality(mut self, quality: natronfx_workflow::QualityConfig) -> Self {
        self.quality = quality;
        self
    }

    /// The same service storing media in `store`, refusing uploads beyond `limits`.
    pub fn with_media(
        mut self,
        store: Arc<dyn natronfx_media::MediaStore>,
        limits: natronfx_media::IngestLimits,
    ) -> Self {
        self.media = Some(store);
        self.media_limits = limits;
        self
    }

    /// The same service generating images with `client` (`generate_media`).
    pub fn with_images(mut self, client: natronfx_platforms::OpenAiImages) -> Self {
        self.images = Some(Arc::new(client));
        self
    }

    /// The same service generating images as `settings` say: with their API key when they have one,
    /// else with the key the vault keeps (`images_api_key`), read at each generation so a key stored
    /// while the server runs is used at once.
    ///
    /// # Errors
    /// `image-config-invalid` for an unusable base URL or model next to a configured key.
    pub fn with_images_settings(mut self, settings: ImagesSettings) -> Result<Self> {
        self.images = settings.client()?.map(Arc::new);
        self.images_settings = ImagesSettings {
            api_key: None,
            ..settings
        };
        Ok(self)
    }

    /// The media store, when one is configured (the server serves a local one).
    pub fn media_store_handle(&self) -> Option<&Arc<dyn natronfx_media::MediaStore>> {
        self.media.as_ref()
    }

    /// Opens the database and the media store named in `config` and applies the rest of the
    /// configuration. A `[vault]` section with a missing or malformed key is an error naming the
    /// setting; without a `[vault]` section everything works except what needs a secret
    /// (`vault-not-configured`).
    pub async fn from_config(config: &Config) -> Result<Self> {
        let media = config.media.open()?;
        let service = Service::open(&config.database.url)
            .await?
            .with_quality(config.quality.clone())
            .with_media(media, config.media.limits)
            .with_apps(config.apps.clone(), config.accounts.clone())
            .with_auth(config.auth.clone())
            .with_retention(config.retention.clone());
        let service = service.with_images_settings(config.images.clone())?;
        Ok(match &config.vault {
            Some(vault) => {
                let store: Arc<dyn natronfx_store::CredentialStore> = service.store.clone();
                let vault = natronfx_vault::Vault::from_config(store, vault)?;
                service.with_vault(vault)
            }
            None => service,
        })
    }

    /// Opens the database at `url` (migrating it) with the system clock.
    pub async fn open(url: &str) -> Result<Self> {
        Ok(Service::new(
            natronfx_store::connect(url).await?,
            Arc::new(SystemClock),
        ))
    }

    /// The store, for health checks.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Now, by the service's clock (a test's manual clock, else the system's).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}
