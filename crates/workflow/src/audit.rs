//! Audit events: who did what to which record, when, and the state change it caused.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::UserId;

/// What happened. Stored as kebab-case text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AuditAction {
    /// A post was created.
    PostCreated,
    /// A post's content or targets changed.
    PostEdited,
    /// A post was sent to review.
    PostSubmitted,
    /// A reviewer approved (possibly one of several approvals needed).
    PostApproved,
    /// A reviewer asked for changes.
    ChangesRequested,
    /// A reviewer rejected the post.
    PostRejected,
    /// Targets got a publish time.
    PostScheduled,
    /// Targets lost their publish time.
    PostUnscheduled,
    /// The post was archived.
    PostArchived,
    /// The dispatcher started publishing the post's due targets.
    PublishStarted,
    /// Every target reached an outcome; the post's state follows them.
    PublishFinished,
    /// Failed targets were put back on the schedule.
    PublishRetried,
    /// A user was created.
    UserCreated,
    /// A user was disabled.
    UserDisabled,
    /// A user's role changed.
    RoleChanged,
    /// An API token was created.
    TokenCreated,
    /// An API token was revoked.
    TokenRevoked,
    /// A team setting changed.
    SettingChanged,
    /// A social account was connected (or a sandbox account created), or connected again.
    AccountConnected,
    /// A target went live (the note names the platform post id).
    TargetPublished,
    /// A target failed for good (the note gives the platform's reason).
    TargetFailed,
    /// Targets were cancelled by a person.
    TargetCancelled,
    /// A target's time passed while the service was down; it waits for a person.
    TargetMissed,
    /// A target's outcome could not be settled by reading back; it waits for a person.
    TargetNeedsAttention,
    /// A person settled a target that needed attention.
    TargetResolved,
    /// A published target was deliberately scheduled again, with a reason.
    TargetRepublished,
    /// The publish ledger refused to send a target that was already published.
    RepublishRefused,
    /// An image model made images (prompt, model and cost are in the media's provenance).
    MediaGenerated,
    /// The fingerprints of published content were recomputed from the stored media.
    FingerprintsRebuilt,
    /// Refreshing an account's token failed for a reason that may pass (the platform was unreachable).
    AccountRefreshFailed,
    /// The platform refused an account's credentials; a person must connect it again.
    AccountNeedsReconnect,
    /// An account was disconnected: its tokens revoked where the platform allows it.
    AccountDisconnected,
    /// An account's stored credentials were deleted from the database.
    CredentialsPurged,
    /// Stored secrets were re-sealed under the vault's primary key.
    VaultRotated,
    /// A secret of the system itself (such as the image API key) was stored in the vault.
    SecretStored,
    /// A secret of the system itself was deleted from the vault.
    SecretRemoved,
    /// Someone signed in with their password.
    LoginSucceeded,
    /// A password login was refused (wrong email or password, or a disabled user).
    LoginFailed,
    /// Someone signed out.
    LoggedOut,
    /// A user changed their password (their other sessions end).
    PasswordChanged,
    /// The retention policy deleted old records (the note counts them per kind).
    RetentionPurged,
    /// Records were exported for troubleshooting or compliance (the note says which).
    DataExported,
}

impl AuditAction {
    /// Every action, in the order the log's readers group them.
    pub const ALL: [AuditAction; 42] = [
        AuditAction::PostCreated,
        AuditAction::PostEdited,
        AuditAction::PostSubmitted,
        AuditAction::PostApproved,
        AuditAction::ChangesRequested,
        AuditAction::PostRejected,
        AuditAction::PostScheduled,
        AuditAction::PostUnscheduled,
        AuditAction::PostArchived,
        AuditAction::PublishStarted,
        AuditAction::PublishFinished,
        AuditAction::PublishRetried,
        AuditAction::UserCreated,
        AuditAction::UserDisabled,
        AuditAction::RoleChanged,
        AuditAction::TokenCreated,
        AuditAction::TokenRevoked,
        AuditAction::SettingChanged,
        AuditAction::AccountConnected,
        AuditAction::TargetPublished,
        AuditAction::TargetFailed,
        AuditAction::TargetCancelled,
        AuditAction::TargetMissed,
        AuditAction::TargetNeedsAttention,
        AuditAction::TargetResolved,
        AuditAction::TargetRepublished,
        AuditAction::RepublishRefused,
        AuditAction::MediaGenerated,
        AuditAction::FingerprintsRebuilt,
        AuditAction::AccountRefreshFailed,
        AuditAction::AccountNeedsReconnect,
        AuditAction::AccountDisconnected,
        AuditAction::CredentialsPurged,
        AuditAction::VaultRotated,
        AuditAction::SecretStored,
        AuditAction::SecretRemoved,
        AuditAction::LoginSucceeded,
        AuditAction::LoginFailed,
        AuditAction::LoggedOut,
        AuditAction::PasswordChanged,
        AuditAction::RetentionPurged,
        AuditAction::DataExported,
    ];

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::PostCreated => "post-created",
            AuditAction::PostEdited => "post-edited",
            AuditAction::PostSubmitted => "post-submitted",
            AuditAction::PostApproved => "post-approved",
            AuditAction::ChangesRequested => "changes-requested",
            AuditAction::PostRejected => "post-rejected",
            AuditAction::PostScheduled => "post-scheduled",
            AuditAction::PostUnscheduled => "post-unscheduled",
            AuditAction::PostArchived => "post-archived",
            AuditAction::PublishStarted => "publish-started",
            AuditAction::PublishFinished => "publish-finished",
            AuditAction::PublishRetried => "publish-retried",
            AuditAction::UserCreated => "user-created",
            AuditAction::UserDisabled => "user-disabled",
            AuditAction::RoleChanged => "role-changed",
            AuditAction::TokenCreated => "token-created",
            AuditAction::TokenRevoked => "token-revoked",
            AuditAction::SettingChanged => "setting-changed",
            AuditAction::AccountConnected => "account-connected",
            AuditAction::TargetPublished => "target-published",
            AuditAction::TargetFailed => "target-failed",
            AuditAction::TargetCancelled => "target-cancelled",
            AuditAction::TargetMissed => "target-missed",
            AuditAction::TargetNeedsAttention => "target-needs-attention",
            AuditAction::TargetResolved => "target-resolved",
            AuditAction::TargetRepublished => "target-republished",
            AuditAction::RepublishRefused => "republish-refused",
            AuditAction::MediaGenerated => "media-generated",
            AuditAction::FingerprintsRebuilt => "fingerprints-rebuilt",
            AuditAction::AccountRefreshFailed => "account-refresh-failed",
            AuditAction::AccountNeedsReconnect => "account-needs-reconnect",
            AuditAction::AccountDisconnected => "account-disconnected",
            AuditAction::CredentialsPurged => "credentials-purged",
            AuditAction::VaultRotated => "vault-rotated",
            AuditAction::SecretStored => "secret-stored",
            AuditAction::SecretRemoved => "secret-removed",
            AuditAction::LoginSucceeded => "login-succeeded",
            AuditAction::LoginFailed => "login-failed",
            AuditAction::LoggedOut => "logged-out",
            AuditAction::PasswordChanged => "password-changed",
            AuditAction::RetentionPurged => "retention-purged",
            AuditAction::DataExported => "data-exported",
        }
    }
}

impl std::str::FromStr for AuditAction {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        AuditAction::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                crate::Error::input(
                    "action",
                    format!("`{s}` is not an audit action (e.g. post-approved, data-exported)"),
                )
            })
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the audit log. Secrets never go in here: notes are for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it (`None` for the system itself).
    pub actor: Option<UserId>,
    /// What happened.
    pub action: AuditAction,
    /// The kind of record it happened to: `post`, `user`, `token`, `setting`.
    pub subject_kind: String,
    /// That record's id.
    pub subject_id: String,
    /// The state before, when the event changed one.
    pub from_state: Option<String>,
    /// The state after, when the event changed one.
    pub to_state: Option<String>,
    /// A human note: a review comment, the schedule, what changed.
    pub note: Option<String>,
}

impl AuditEvent {
    /// An event about a record, without a state change.
    pub fn new(
        at: DateTime<Utc>,
        actor: Option<UserId>,
        action: AuditAction,
        subject_kind: &str,
        subject_id: impl ToString,
    ) -> Self {
        AuditEvent {
            at,
            actor,
            action,
            subject_kind: subject_kind.to_owned(),
            subject_id: subject_id.to_string(),
            from_state: None,
            to_state: None,
            note: None,
        }
    }

    /// Adds the state change.
    pub fn with_states(mut self, from: impl ToString, to: impl ToString) -> Self {
        self.from_state = Some(from.to_string());
        self.to_state = Some(to.to_string());
        self
    }

    /// Adds a note.
    pub fn with_note(mut self, note: Option<String>) -> Self {
        self.note = note;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_listed_once_and_reads_back_from_its_name() {
        let mut names: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        for a in AuditAction::ALL {
            assert_eq!(a.as_str().parse::<AuditAction>().unwrap(), a);
            // The stored form (serde) and the name are the same text.
            assert_eq!(
                serde_json::to_value(a).unwrap(),
                serde_json::Value::String(a.as_str().into())
            );
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AuditAction::ALL.len());
        let err = "post-eaten".parse::<AuditAction>().unwrap_err();
        assert!(err.to_string().contains("post-eaten"), "{err}");
    }
}
