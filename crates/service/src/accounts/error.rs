//! Why connecting, refreshing or disconnecting an account failed, with stable codes.

use natronfx_workflow::Platform;

use super::STATE_LIFETIME_MINUTES;

/// Why connecting, refreshing or disconnecting an account failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// No vault key is configured, and the operation needs to seal or open a secret.
    #[error(
        "the token vault has no key: set vault.primary and vault.keys.<id> (NATRONFX_VAULT__PRIMARY, \
         NATRONFX_VAULT__KEYS__<id>) or vault.key_file; generate a key with `openssl rand -base64 32`"
    )]
    VaultNotConfigured,
    /// The platform's OAuth app is not configured.
    #[error("the {platform} app is not configured: set {setting}")]
    AppNotConfigured {
        /// The platform.
        platform: Platform,
        /// The missing setting.
        setting: &'static str,
    },
    /// The callback's `state` was never issued (or was purged long ago).
    #[error("the callback's state is unknown: start again with `account connect`")]
    StateUnknown,
    /// The callback's `state` was used already: a replay.
    #[error("the callback's state was used already: start again with `account connect`")]
    StateUsed,
    /// The callback came more than ten minutes after the flow started.
    #[error(
        "the connection took longer than {STATE_LIFETIME_MINUTES} minutes: start again with `account connect`"
    )]
    StateExpired,
    /// Another user started this flow; only they may finish it.
    #[error("this connection was started by someone else; start your own with `account connect`")]
    StateForeign,
    /// The person declined on the platform's consent screen.
    #[error("{platform} consent was declined{}: nothing was connected", describe(.description))]
    ConsentDenied {
        /// The platform.
        platform: Platform,
        /// The platform's description.
        description: Option<String>,
    },
    /// The platform refused the authorization request itself.
    #[error("{platform} refused the authorization ({error}{}); check the app's settings", describe(.description))]
    AuthorizationRefused {
        /// The platform.
        platform: Platform,
        /// The platform's `error`.
        error: String,
        /// The platform's description.
        description: Option<String>,
    },
    /// The platform refused the authorization code (expired, used, or sent with the wrong verifier).
    #[error(
        "{platform} refused the authorization code ({detail}): start again with `account connect`"
    )]
    CodeRejected {
        /// The platform.
        platform: Platform,
        /// What it said.
        detail: String,
    },
    /// The grant reaches no account (a Facebook user who manages no Page).
    #[error(
        "the {platform} login reaches no account we can publish to (for Facebook: a Page you manage)"
    )]
    NoAccountsGranted {
        /// The platform.
        platform: Platform,
    },
    /// The account was refused by its platform; a person must connect it again.
    #[error("{name} must be connected again ({reason}): run `natronfx account connect {platform}`")]
    NeedsReconnect {
        /// The account's name.
        name: String,
        /// Its platform.
        platform: Platform,
        /// Why.
        reason: String,
    },
    /// The account was disconnected.
    #[error("{name} is disconnected: connect it again to publish to it")]
    Disconnected {
        /// The account's name.
        name: String,
    },
    /// The account has no stored credentials (sandbox accounts publish to the simulator).
    #[error("{name} has no stored credentials{}", sandbox_note(*.sandbox))]
    NotConnected {
        /// The account's name.
        name: String,
        /// Whether it is a sandbox account.
        sandbox: bool,
    },
    /// Refreshing failed for a reason that may pass; the token on hand has expired.
    #[error("refreshing {name}'s token failed ({reason}); try again later")]
    RefreshFailed {
        /// The account's name.
        name: String,
        /// Why.
        reason: String,
    },
    /// The platform did not confirm the revoke; nothing was changed.
    #[error(
        "{platform} did not revoke {name}'s token ({reason}); nothing was changed. Run again later, or with \
         --purge to delete the stored credentials anyway"
    )]
    RevokeFailed {
        /// The account's name.
        name: String,
        /// Its platform.
        platform: Platform,
        /// Why.
        reason: String,
    },
}

fn sandbox_note(sandbox: bool) -> &'static str {
    if sandbox {
        " (sandbox accounts publish to the simulator and hold no tokens)"
    } else {
        ""
    }
}

fn describe(description: &Option<String>) -> String {
    description
        .as_deref()
        .filter(|d| !d.is_empty())
        .map(|d| format!(": {d}"))
        .unwrap_or_default()
}

impl AccountError {
    /// Stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            AccountError::VaultNotConfigured => "vault-not-configured",
            AccountError::AppNotConfigured { .. } => "platform-app-not-configured",
            AccountError::StateUnknown => "oauth-state-unknown",
            AccountError::StateUsed => "oauth-state-used",
            AccountError::StateExpired => "oauth-state-expired",
            AccountError::StateForeign => "oauth-state-foreign",
            AccountError::ConsentDenied { .. } => "consent-denied",
            AccountError::AuthorizationRefused { .. } => "oauth-authorization-refused",
            AccountError::CodeRejected { .. } => "oauth-code-rejected",
            AccountError::NoAccountsGranted { .. } => "no-accounts-granted",
            AccountError::NeedsReconnect { .. } => "account-needs-reconnect",
            AccountError::Disconnected { .. } => "account-disconnected",
            AccountError::NotConnected { .. } => "account-not-connected",
            AccountError::RefreshFailed { .. } => "account-refresh-failed",
            AccountError::RevokeFailed { .. } => "revoke-failed",
        }
    }
}
