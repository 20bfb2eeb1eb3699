//! `natronfx vault ...`: which key seals how many secrets, and re-sealing them under the primary key with a
//! progress bar (Ctrl-C stops after the current batch; running it again resumes).

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressStyle};
use natronfx_service::workflow::User;
use natronfx_service::{Result, Service};

use crate::args::VaultCommand;
use crate::output;

/// Runs a `vault` subcommand.
pub async fn vault(service: &Service, actor: &User, cmd: VaultCommand, json: bool) -> Result<()> {
    match cmd {
        VaultCommand::Status => {
            let status = service.vault_status(actor).await?;
            if json {
                output::json(&status);
            } else {
                let rows = status
                    .keys
                    .iter()
                    .map(|k| {
                        vec![
                            k.key_id.to_string(),
                            k.sealed.to_string(),
                            if k.primary { "yes".into() } else { "no".into() },
                            if k.in_keyring {
                                "yes".into()
                            } else {
                                "MISSING".into()
                            },
                            if k.retirable() {
                                "yes".into()
                            } else {
                                "no".into()
                            },
                        ]
                    })
                    .collect();
                output::table(
                    &["key", "seals", "primary", "configured", "removable"],
                    rows,
                );
                let left = status.not_under_primary();
                if left > 0 {
                    println!(
                        "{left} secret(s) are not under the primary key {}: run `natronfx vault rotate`",
                        status.primary
                    );
                }
                for key in status.missing_keys() {
                    println!(
                        "key {key} seals secrets but is not configured: add vault.keys.{key} back"
                    );
                }
            }
        }
        VaultCommand::Rotate { batch } => {
            let total = service.vault_status(actor).await?.not_under_primary();
            let bar = if json {
                ProgressBar::hidden()
            } else {
                ProgressBar::new(total)
            };
            bar.set_style(
                ProgressStyle::with_template(
                    "re-sealing {bar:30} {pos}/{len} secrets ({eta} left)",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            // Ctrl-C stops after the batch in hand; every finished batch is committed.
            let stop = Arc::new(AtomicBool::new(false));
            let watcher = {
                let stop = stop.clone();
                tokio::spawn(async move {
                    if tokio::signal::ctrl_c().await.is_ok() {
                        stop.store(true, Ordering::SeqCst);
                    }
                })
            };
            let report = service
                .rotate_vault(actor, batch, |p| {
                    bar.set_position(p.resealed + p.skipped_changed + p.unreadable);
                    if stop.load(Ordering::SeqCst) {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                })
                .await;
            watcher.abort();
            bar.finish_and_clear();
            let report = report?;
            if json {
                output::json(&report);
            } else {
                println!(
                    "re-sealed {} secret(s) under key {}; {} left",
                    report.resealed, report.primary, report.remaining
                );
                if report.skipped_changed > 0 {
                    println!(
                        "{} were rewritten while rotating and kept their new value",
                        report.skipped_changed
                    );
                }
                if report.unreadable > 0 {
                    println!(
                        "{} could not be opened and were left as they are (see the logs)",
                        report.unreadable
                    );
                }
                if report.stopped || report.remaining > 0 {
                    println!("run `natronfx vault rotate` again to finish");
                } else {
                    println!(
                        "every secret is under key {}; `natronfx vault status` shows which old keys can go",
                        report.primary
                    );
                }
            }
        }
    }
    Ok(())
}
