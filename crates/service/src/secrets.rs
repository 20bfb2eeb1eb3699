//! Secrets of the system itself kept in the token vault, in place of a configuration setting: the image
//! API key, stored by an admin, sealed at rest, re-sealed by `vault rotate`, never shown again.

use chrono::{DateTime, Utc};
use natronfx_vault::Secret;
use natronfx_workflow::{Action, AuditAction, AuditEvent, User, authorize};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::{Result, Service};

/// Longest secret accepted (API keys are far shorter; this only stops a pasted file).
const MAX_SECRET_LEN: usize = 4096;

/// A secret of the system the vault can keep in place of a configuration setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemSecret {
    /// The OpenAI Images API key, in place of `[images] api_key`.
    ImagesApiKey,
}

impl SystemSecret {
    /// Every secret the vault can keep.
    pub const ALL: [SystemSecret; 1] = [SystemSecret::ImagesApiKey];

    /// The name it is stored and named under (`images_api_key`).
    pub fn name(self) -> &'static str {
        match self {
            SystemSecret::ImagesApiKey => "images_api_key",
        }
    }

    /// The configuration setting it stands in for; a value there takes precedence.
    pub fn setting(self) -> &'static str {
        match self {
            SystemSecret::ImagesApiKey => "images.api_key",
        }
    }

    /// What it is for, in words.
    pub fn purpose(self) -> &'static str {
        match self {
            SystemSecret::ImagesApiKey => "OpenAI Images API key (generate backgrounds)",
        }
    }
}

impl std::str::FromStr for SystemSecret {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        SystemSecret::ALL
            .into_iter()
            .find(|k| k.name() == s || k.name().replace('_', "-") == s)
            .ok_or_else(|| {
                natronfx_workflow::Error::InvalidInput {
                    field: "secret",
                    reason: format!(
                        "`{s}` is not a secret the vault keeps (one of: {})",
                        SystemSecret::ALL.map(SystemSecret::name).join(", ")
                    ),
                }
                .into()
            })
    }
}

/// Where one system secret stands (never its value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SystemSecretStatus {
    /// Its name (`images_api_key`).
    pub name: &'static str,
    /// What it is for.
    pub purpose: &'static str,
    /// The configuration setting it stands in for.
    pub setting: &'static str,
    /// Whether the configuration sets it (that value is used, not the vault's).
    pub in_configuration: bool,
    /// The vault key sealing the stored value, if one is stored.
    pub vault_key_id: Option<u32>,
    /// When the stored value was written, if one is stored.
    pub stored_at: Option<DateTime<Utc>>,
}

impl Service {
    /// Seals `value` into the vault as the system secret `secret`, replacing any stored before
    /// (admins; audited as `secret-stored`). A value set in the configuration still takes precedence.
    pub async fn store_system_secret(
        &self,
        actor: &User,
        secret: SystemSecret,
        value: &SecretString,
    ) -> Result<()> {
        authorize(actor, Action::ManageAccounts, None)?;
        let value = value.expose_secret().trim();
        let refused = if value.is_empty() {
            Some("it is empty")
        } else if value.len() > MAX_SECRET_LEN {
            Some("it is longer than 4096 bytes")
        } else if value.chars().any(char::is_control) {
            Some("it holds a line break or another control character")
        } else {
            None
        };
        if let Some(reason) = refused {
            return Err(natronfx_workflow::Error::InvalidInput {
                field: "secret",
                reason: format!("the value for {} was refused: {reason}", secret.name()),
            }
            .into());
        }
        let vault = self.require_vault()?;
        let event = AuditEvent::new(
            self.now(),
            Some(actor.id),
            AuditAction::SecretStored,
            "vault",
            secret.name(),
        )
        .with_note(Some(format!(
            "sealed under key {}",
            vault.keyring().primary()
        )));
        vault
            .store_service_secret(secret.name(), &Secret::from(value), &event)
            .await?;
        Ok(())
    }

    /// Deletes the stored system secret (admins; audited as `secret-removed` when there was one).
    /// Returns whether there was one.
    pub async fn remove_system_secret(&self, actor: &User, secret: SystemSecret) -> Result<bool> {
        authorize(actor, Action::ManageAccounts, None)?;
        let event = AuditEvent::new(
            self.now(),
            Some(actor.id),
            AuditAction::SecretRemoved,
            "vault",
            secret.name(),
        );
        Ok(self
            .require_vault()?
            .remove_service_secret(secret.name(), &event)
            .await?)
    }

    /// Every system secret the vault can keep, and where each stands (admins).
    pub async fn system_secrets(&self, actor: &User) -> Result<Vec<SystemSecretStatus>> {
        authorize(actor, Action::ManageAccounts, None)?;
        let stored = self.require_vault()?.service_secret_infos().await?;
        Ok(SystemSecret::ALL
            .into_iter()
            .map(|secret| {
                let row = stored.iter().find(|s| s.name == secret.name());
                SystemSecretStatus {
                    name: secret.name(),
                    purpose: secret.purpose(),
                    setting: secret.setting(),
                    in_configuration: self.configured(secret),
                    vault_key_id: row.map(|r| r.key_id),
                    stored_at: row.map(|r| r.updated_at),
                }
            })
            .collect())
    }

    /// The value of a system secret the vault keeps, or `None` without a vault or a stored value.
    pub(crate) async fn stored_system_secret(
        &self,
        secret: SystemSecret,
    ) -> Result<Option<Secret>> {
        match self.vault() {
            Some(vault) => Ok(vault.service_secret(secret.name()).await?),
            None => Ok(None),
        }
    }

    /// Whether the configuration sets the secret itself.
    fn configured(&self, secret: SystemSecret) -> bool {
        match secret {
            SystemSecret::ImagesApiKey => self.images_configured(),
        }
    }
}
