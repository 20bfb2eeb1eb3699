//! The service's error: every failure a user can see, with a stable code and a kind that binaries map to
//! an exit code or an HTTP status in one place each.

use natronfx_store as store;
use natronfx_workflow as workflow;

/// Result of a use case.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a failure means to the caller, for choosing an exit code or HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input was wrong; fix it and retry.
    InvalidInput,
    /// The thing does not exist.
    NotFound,
    /// The actor may not do this.
    PermissionDenied,
    /// Nobody is logged in, or the credentials are wrong.
    Unauthenticated,
    /// The state of things does not allow it now (someone else changed it, or the workflow forbids it).
    Conflict,
    /// Too many attempts in a short time; wait and try again.
    RateLimited,
    /// Something failed on our side (database down, ...).
    Internal,
}

/// A use case failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A workflow rule refused the operation.
    #[error(transparent)]
    Workflow(#[from] workflow::Error),
    /// Storage refused or failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// An image was refused, or the media store failed.
    #[error(transparent)]
    Media(#[from] natronfx_media::Error),
    /// The image model refused or failed.
    #[error(transparent)]
    Images(#[from] natronfx_platforms::ImageGenError),
    /// The credentials did not match a live user or token.
    #[error("wrong email or password, or a revoked token")]
    InvalidCredentials,
    /// The operation needs a setting or state that is missing.
    #[error("{0}")]
    NotInitialized(String),
    /// The product is already set up.
    #[error("{0}")]
    AlreadyInitialized(String),
    /// The post was loaded at another version than the one the caller expected.
    #[error("post {post} is at version {actual}, not {expected}; reload it and try again")]
    StaleVersion {
        /// The post.
        post: workflow::PostId,
        /// The version the caller had.
        expected: i64,
        /// The version stored.
        actual: i64,
    },
    /// Configuration could not be read.
    #[error("configuration error: {0}")]
    Config(String),
    /// The post breaks a platform's rules or the team's; the findings say which and how to fix them.
    #[error("the post fails its quality checks: {}", summary(.0))]
    QualityCheckFailed(Vec<natronfx_workflow::Finding>),
    /// The token vault failed: a key problem (at start-up), or a stored secret that does not open.
    #[error(transparent)]
    Vault(#[from] natronfx_vault::Error),
    /// A platform refused or failed a call (OAuth, revoke).
    #[error(transparent)]
    Platform(#[from] natronfx_platforms::PlatformError),
    /// Connecting, refreshing or disconnecting an account failed.
    #[error(transparent)]
    Account(#[from] crate::accounts::AccountError),
    /// The audit log's hash chain does not hold: a row was edited, deleted or reordered.
    #[error("the audit log was tampered with: {0}")]
    AuditChainBroken(String),
    /// Too many failed logins for the account or from the address within the throttling window.
    #[error("too many failed logins; wait {minutes} minutes and try again")]
    TooManyAttempts {
        /// The throttling window.
        minutes: u32,
    },
    /// The session ended (signed out, idle or too old, or the user was disabled).
    #[error("your session has ended; sign in again")]
    SessionExpired,
    /// The retention policy is switched off (`[retention] enabled = false`); only a dry run is allowed.
    #[error(
        "the retention policy is switched off ([retention] enabled = false); enable it, or run with --dry-run"
    )]
    RetentionDisabled,
    /// Slides of the post show media whose files the retention policy deleted.
    #[error(
        "post {post} shows media the retention policy deleted (slide {}); replace those slides first",
        .slides.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    )]
    MediaPurged {
        /// The post.
        post: workflow::PostId,
        /// The slides concerned, numbered from 1.
        slides: Vec<usize>,
    },
    /// Hashing or another internal step failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Workflow(e) => e.code(),
            Error::Store(e) => e.code(),
            Error::Media(e) => e.code(),
            Error::Images(e) => e.code(),
            Error::InvalidCredentials => "invalid-credentials",
            Error::NotInitialized(_) => "not-initialized",
            Error::AlreadyInitialized(_) => "already-initialized",
            Error::StaleVersion { .. } => "conflict",
            Error::Config(_) => "invalid-config",
            Error::QualityCheckFailed(_) => "quality-check-failed",
            Error::AuditChainBroken(_) => "audit-chain-broken",
            Error::Vault(e) => e.code(),
            Error::Platform(e) => e.code(),
            Error::Account(e) => e.code(),
            Error::TooManyAttempts { .. } => "too-many-attempts",
            Error::SessionExpired => "session-expired",
            Error::RetentionDisabled => "retention-disabled",
            Error::MediaPurged { .. } => "media-purged",
            Error::Internal(_) => "internal-error",
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self.code() {
            "invalid-input"
            | "invalid-schedule"
            | "invalid-config"
            | "invalid-database-url"
            | "quality-check-failed"
            | "unsupported-image-format"
            | "image-too-large"
            | "image-corrupt"
            | "decompression-bomb"
            | "invalid-media-key"
            | "invalid-carousel-spec"
            | "background-unavailable"
            | "invalid-media-config"
            | "image-prompt-blocked"
            | "image-request-invalid"
            | "vault-key-missing"
            | "vault-key-malformed"
            | "vault-key-file-permissions"
            | "vault-key-file-unreadable"
            | "oauth-callback-invalid"
            | "oauth-state-unknown"
            | "oauth-state-used"
            | "oauth-state-expired"
            | "oauth-code-rejected"
            | "oauth-authorization-refused"
            | "consent-denied" => ErrorKind::InvalidInput,
            "not-found" | "media-not-found" => ErrorKind::NotFound,
            "permission-denied"
            | "self-approval-forbidden"
            | "user-disabled"
            | "oauth-state-foreign" => ErrorKind::PermissionDenied,
            "invalid-credentials" | "session-expired" => ErrorKind::Unauthenticated,
            "too-many-attempts" => ErrorKind::RateLimited,
            "conflict"
            | "invalid-transition"
            | "already-approved"
            | "already-initialized"
            | "not-initialized"
            | "audit-chain-broken"
            | "lease-lost"
            // Nothing is wrong with the request, only with its timing: the same call succeeds later.
            | "image-rate-limited"
            | "vault-not-configured"
            | "platform-app-not-configured"
            | "unknown-key-id"
            | "credential-not-found"
            | "no-accounts-granted"
            | "account-needs-reconnect"
            | "account-disconnected"
            | "account-not-connected"
            | "revoke-failed"
            | "retention-disabled"
            | "media-purged" => ErrorKind::Conflict,
            _ => ErrorKind::Internal,
        }
    }
}

fn summary(findings: &[natronfx_workflow::Finding]) -> String {
    let errors: Vec<String> = findings
        .iter()
        .filter(|f| f.is_error())
        .map(|f| match (f.platform, f.slide) {
            (Some(p), Some(n)) => format!("{p} slide {n}: {}", f.message),
            (Some(p), None) => format!("{p}: {}", f.message),
            (None, Some(n)) => format!("slide {n}: {}", f.message),
            (None, None) => f.message.clone(),
        })
        .collect();
    errors.join("; ")
}

impl Error {
    /// The quality findings behind a `quality-check-failed`, for callers that show them in detail.
    pub fn findings(&self) -> Option<&[natronfx_workflow::Finding]> {
        match self {
            Error::QualityCheckFailed(f) => Some(f),
            _ => None,
        }
    }
}
