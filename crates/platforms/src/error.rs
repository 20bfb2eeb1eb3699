//! One classification of every platform failure, shared by all adapters.
//!
//! Each adapter turns its platform's error JSON (TikTok's `error` object, the Graph API's `error` envelope)
//! and its transport failures into one [`PlatformError`]. A caller decides what to do from
//! [`PlatformError::class`] alone: retry later, back off, ask for a reconnect, give up, or read back first.

use std::fmt;
use std::time::Duration;

use crate::model::Platform;

/// What a caller should do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Nothing was created; the same step may be tried again later.
    Retryable,
    /// The platform (or the local limiter) asked us to slow down; retry after the hinted delay.
    RateLimited,
    /// The token is invalid, expired or lacks a permission; refresh once, then ask for a reconnect.
    Auth,
    /// The platform refused the content or the request; retrying will not help.
    Terminal,
    /// The request may have created something visible; read back before doing anything else.
    OutcomeUnknown,
}

/// What the platform said, kept for troubleshooting and for the message shown on the post.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorDetail {
    /// Which platform answered.
    pub platform: Option<Platform>,
    /// HTTP status, when a response arrived.
    pub http_status: Option<u16>,
    /// The platform's own code: TikTok `error.code` or `fail_reason`, Graph `error.code` as text.
    pub code: Option<String>,
    /// Graph `error_subcode`.
    pub subcode: Option<i64>,
    /// The platform's message (or a description of the transport failure).
    pub message: String,
    /// Graph `error_user_title`.
    pub user_title: Option<String>,
    /// Graph `error_user_msg`.
    pub user_message: Option<String>,
    /// TikTok `log_id` or Graph `fbtrace_id`.
    pub trace_id: Option<String>,
}

impl ErrorDetail {
    /// A detail with only a platform and a message.
    pub fn new(platform: Platform, message: impl Into<String>) -> Self {
        Self {
            platform: Some(platform),
            message: message.into(),
            ..Self::default()
        }
    }
}

impl fmt::Display for ErrorDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(platform) = self.platform {
            write!(f, "{platform}")?;
        } else {
            write!(f, "platform")?;
        }
        match (&self.code, self.subcode) {
            (Some(code), Some(sub)) => write!(f, " {code}/{sub}")?,
            (Some(code), None) => write!(f, " {code}")?,
            (None, Some(sub)) => write!(f, " subcode {sub}")?,
            (None, None) => {}
        }
        let message = self
            .user_message
            .as_deref()
            .filter(|m| !m.is_empty())
            .unwrap_or(&self.message);
        write!(f, ": {message}")?;
        if let Some(status) = self.http_status {
            write!(f, " (http {status}")?;
            if let Some(trace) = &self.trace_id {
                write!(f, ", trace {trace}")?;
            }
            write!(f, ")")?;
        } else if let Some(trace) = &self.trace_id {
            write!(f, " (trace {trace})")?;
        }
        Ok(())
    }
}

/// Every way a platform call can fail, already classified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlatformError {
    /// A temporary failure (5xx, a transient code, a lost read) where nothing visible was created.
    #[error("{detail}; nothing was posted, try again later")]
    Retryable {
        /// What the platform said.
        detail: Box<ErrorDetail>,
        /// A delay the platform suggested, if any.
        retry_after: Option<Duration>,
    },
    /// The platform or the local limiter asked us to slow down.
    #[error("{detail}; rate limited, wait before trying again")]
    RateLimited {
        /// What the platform said.
        detail: Box<ErrorDetail>,
        /// When to try again, when known.
        retry_after: Option<Duration>,
    },
    /// The token is invalid, expired or lacks a permission.
    #[error("{detail}; the account needs to be reconnected")]
    Auth {
        /// What the platform said.
        detail: Box<ErrorDetail>,
    },
    /// The platform refused the request or the content for good.
    #[error("{detail}; fix the post before publishing again")]
    Terminal {
        /// What the platform said.
        detail: Box<ErrorDetail>,
    },
    /// A creating call was sent but its answer was lost or ambiguous: the post may exist.
    #[error("{detail}; the post may have been published, read back recent posts before retrying")]
    OutcomeUnknown {
        /// What happened.
        detail: Box<ErrorDetail>,
    },
    /// The request was refused locally, before anything was sent.
    #[error("{message}")]
    InvalidRequest {
        /// A stable kebab-case code such as `title-too-long`.
        code: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The adapter could not be built from its configuration.
    #[error("invalid platform configuration: {0}")]
    Config(String),
}

/// Results of this crate.
pub type Result<T, E = PlatformError> = std::result::Result<T, E>;

impl PlatformError {
    /// What a caller should do about this failure.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Retryable { .. } => ErrorClass::Retryable,
            Self::RateLimited { .. } => ErrorClass::RateLimited,
            Self::Auth { .. } => ErrorClass::Auth,
            Self::Terminal { .. } | Self::InvalidRequest { .. } | Self::Config(_) => {
                ErrorClass::Terminal
            }
            Self::OutcomeUnknown { .. } => ErrorClass::OutcomeUnknown,
        }
    }

    /// A stable kebab-case code for users, logs and API bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Retryable { .. } => "platform-unavailable",
            Self::RateLimited { .. } => "platform-rate-limited",
            Self::Auth { .. } => "account-needs-reconnect",
            Self::Terminal { .. } => "platform-rejected",
            Self::OutcomeUnknown { .. } => "publish-outcome-unknown",
            Self::InvalidRequest { code, .. } => code,
            Self::Config(_) => "platform-config-invalid",
        }
    }

    /// The platform's own details, when a platform (or the transport) produced this error.
    pub fn detail(&self) -> Option<&ErrorDetail> {
        match self {
            Self::Retryable { detail, .. }
            | Self::RateLimited { detail, .. }
            | Self::Auth { detail }
            | Self::Terminal { detail }
            | Self::OutcomeUnknown { detail } => Some(detail),
            Self::InvalidRequest { .. } | Self::Config(_) => None,
        }
    }

    /// The delay the platform or the limiter suggested before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Retryable { retry_after, .. } | Self::RateLimited { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// Build an error of the given class around a detail.
    pub fn classified(
        class: ErrorClass,
        detail: ErrorDetail,
        retry_after: Option<Duration>,
    ) -> Self {
        let detail = Box::new(detail);
        match class {
            ErrorClass::Retryable => Self::Retryable {
                detail,
                retry_after,
            },
            ErrorClass::RateLimited => Self::RateLimited {
                detail,
                retry_after,
            },
            ErrorClass::Auth => Self::Auth { detail },
            ErrorClass::Terminal => Self::Terminal { detail },
            ErrorClass::OutcomeUnknown => Self::OutcomeUnknown { detail },
        }
    }

    pub(crate) fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidRequest {
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_keeps_the_platform_codes_and_trace_id() {
        let detail = ErrorDetail {
            platform: Some(Platform::Instagram),
            http_status: Some(400),
            code: Some("36003".into()),
            subcode: Some(2_207_009),
            message: "The submitted image with aspect ratio 0.75 cannot be published.".into(),
            trace_id: Some("A6LJylpZ".into()),
            ..ErrorDetail::default()
        };
        let err = PlatformError::classified(ErrorClass::Terminal, detail, None);
        let text = err.to_string();
        assert!(text.contains("instagram 36003/2207009"), "{text}");
        assert!(text.contains("aspect ratio 0.75"), "{text}");
        assert!(text.contains("trace A6LJylpZ"), "{text}");
        assert_eq!(err.code(), "platform-rejected");
        assert_eq!(err.class(), ErrorClass::Terminal);
    }
}
