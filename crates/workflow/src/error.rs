//! The domain's one error type: every broken rule, each with a stable kebab-case code.

use crate::{Action, PostState, Role};

/// Result of a domain operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A rule of the workflow that an operation would break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value did not parse (title, caption, hashtag, email, ...).
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// Which input was wrong.
        field: &'static str,
        /// What was wrong with it, and what to do.
        reason: String,
    },
    /// The actor's role does not allow the action.
    #[error("{role} may not {action}{}", if *.own_only { " on a post they did not write" } else { "" })]
    PermissionDenied {
        /// The actor's role.
        role: Role,
        /// What they tried to do.
        action: Action,
        /// True when the role allows the action on its own posts only.
        own_only: bool,
    },
    /// The author tried to approve their own post under a policy that forbids it.
    #[error("the author may not approve their own post under the `{policy}` approval policy")]
    SelfApproval {
        /// The policy in force.
        policy: String,
    },
    /// The same reviewer approved the same content version twice.
    #[error("you already approved this version of the post; another reviewer must approve it")]
    AlreadyApproved,
    /// The post's state does not allow the transition.
    #[error("cannot {event} a post that is {from}")]
    InvalidTransition {
        /// State the post is in.
        from: PostState,
        /// What was attempted.
        event: &'static str,
    },
    /// A schedule that cannot be honoured.
    #[error("{0}")]
    InvalidSchedule(String),
    /// The account disabled cannot act.
    #[error("user is disabled")]
    UserDisabled,
}

impl Error {
    /// Stable kebab-case code, the same in the CLI, the API and the logs.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidInput { .. } => "invalid-input",
            Error::PermissionDenied { .. } => "permission-denied",
            Error::SelfApproval { .. } => "self-approval-forbidden",
            Error::AlreadyApproved => "already-approved",
            Error::InvalidTransition { .. } => "invalid-transition",
            Error::InvalidSchedule(_) => "invalid-schedule",
            Error::UserDisabled => "user-disabled",
        }
    }

    pub(crate) fn input(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field,
            reason: reason.into(),
        }
    }
}
