//! `natronfx retention run`, `natronfx export` and the filters of `natronfx audit list`: what the team
//! keeps, for how long, and what it hands out.

use std::path::Path;

use chrono::Utc;
use natronfx_service::store::StoredAuditEvent;
use natronfx_service::workflow::{PostId, User};
use natronfx_service::{AuditQuery, Error, ExportScope, Result, Service, human_bytes};
use serde_json::json;

use crate::args::{AuditCommand, RetentionCommand};
use crate::output;
use crate::run::invalid;

/// Runs a `retention` subcommand.
pub async fn retention(
    service: &Service,
    actor: &User,
    cmd: RetentionCommand,
    json: bool,
) -> Result<()> {
    let RetentionCommand::Run { dry_run } = cmd;
    let report = service
        .run_retention(Some(actor), Utc::now(), dry_run)
        .await?;
    if json {
        output::json(&report);
        return Ok(());
    }
    let rows = report
        .kinds
        .iter()
        .map(|k| {
            vec![
                k.kind.to_owned(),
                k.keep_days
                    .map_or_else(|| "forever".to_owned(), |d| format!("{d} days")),
                k.count.to_string(),
                k.bytes.map_or_else(|| "-".to_owned(), |b| b.to_string()),
                k.bytes.map_or_else(|| "-".to_owned(), human_bytes),
            ]
        })
        .collect();
    output::table(&["kind", "kept", "count", "bytes", "size"], rows);
    let total: u64 = report.kinds.iter().map(|k| k.count).sum();
    let failed: u64 = report.kinds.iter().map(|k| k.failed).sum();
    if failed > 0 {
        println!(
            "{failed} media file(s) could not be deleted from the media store; they are kept and the next run tries again"
        );
    }
    if dry_run {
        println!("dry run: nothing was deleted ({total} record(s) would be)");
    } else {
        println!("deleted {total} record(s); recorded in the audit log as retention-purged");
    }
    Ok(())
}

/// Runs `export`: builds the bundle (audited) and writes it to `out`.
pub async fn export(
    service: &Service,
    actor: &User,
    post: Option<&str>,
    all: bool,
    out: &Path,
    json: bool,
) -> Result<()> {
    let scope = match (post, all) {
        (Some(id), false) => ExportScope::Post(id.parse::<PostId>()?),
        (None, true) => ExportScope::All,
        _ => return Err(invalid("export", "give either --post ID or --all")),
    };
    let bundle = service.export(actor, scope).await?;
    let text = serde_json::to_string_pretty(&bundle)
        .map_err(|e| Error::Internal(format!("cannot encode the export: {e}")))?;
    let to_stdout = out.as_os_str() == "-";
    if to_stdout {
        println!("{text}");
        return Ok(());
    }
    std::fs::write(out, text.as_bytes())
        .map_err(|e| invalid("out", format!("cannot write {}: {e}", out.display())))?;
    let summary = json!({
        "out": out.display().to_string(),
        "posts": bundle.posts.len(),
        "media": bundle.media.len(),
        "audit_events": bundle.audit_events.len(),
        "bytes": text.len(),
    });
    if json {
        output::json(&summary);
    } else {
        println!(
            "wrote {} ({} post(s), {} media, {} audit event(s), {})",
            out.display(),
            bundle.posts.len(),
            bundle.media.len(),
            bundle.audit_events.len(),
            human_bytes(text.len() as u64)
        );
    }
    Ok(())
}

/// Runs `audit list` with its filters.
pub async fn audit_list(
    service: &Service,
    actor: &User,
    cmd: AuditCommand,
) -> Result<Vec<StoredAuditEvent>> {
    let AuditCommand::List {
        limit,
        action,
        kind,
        subject,
        actor: by,
        since,
        until,
        before,
    } = cmd
    else {
        return Ok(Vec::new());
    };
    let query = AuditQuery {
        action,
        kind,
        subject,
        actor: by,
        since,
        until,
        before,
        limit,
    };
    service.audit_list(actor, &query).await
}
