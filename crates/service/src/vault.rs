//! The token vault's use cases: which key seals how many secrets, and re-sealing them under the primary
//! key (resumable, audited).

use std::ops::ControlFlow;

use natronfx_vault::{RotationProgress, RotationReport, VaultStatus};
use natronfx_workflow::{Action, AuditAction, AuditEvent, User, authorize};

use crate::{Result, Service};

impl Service {
    /// How many stored secrets each key seals, so an old key can be retired once it seals none
    /// (admins).
    pub async fn vault_status(&self, actor: &User) -> Result<VaultStatus> {
        authorize(actor, Action::ManageAccounts, None)?;
        Ok(self.require_vault()?.status().await?)
    }

    /// Re-seals every secret not under the primary key, `batch` at a time, each batch in one
    /// transaction (admins). `progress` sees the counts after every batch and may stop the rotation;
    /// running it again resumes where it stopped. A secret refreshed meanwhile keeps its new value.
    /// One audit event records what was done.
    pub async fn rotate_vault<F>(
        &self,
        actor: &User,
        batch: u32,
        progress: F,
    ) -> Result<RotationReport>
    where
        F: FnMut(&RotationProgress) -> ControlFlow<()>,
    {
        authorize(actor, Action::ManageAccounts, None)?;
        let vault = self.require_vault()?;
        let report = vault.rotate(batch, progress).await?;
        let note = format!(
            "re-sealed {} under key {}; {} left{}{}",
            report.resealed,
            report.primary,
            report.remaining,
            if report.unreadable > 0 {
                format!("; {} could not be opened", report.unreadable)
            } else {
                String::new()
            },
            if report.stopped {
                "; stopped early"
            } else {
                ""
            }
        );
        let event = AuditEvent::new(
            self.now(),
            Some(actor.id),
            AuditAction::VaultRotated,
            "vault",
            format!("key-{}", report.primary),
        )
        .with_note(Some(note));
        self.store.append_audit(&[event]).await?;
        Ok(report)
    }
}
