//! `natronfx vault ...`: which key seals how many secrets, re-sealing them under the primary key with a
//! progress bar (Ctrl-C stops after the current batch; running it again resumes), and the secrets the
//! vault keeps for the system itself (the image API key).

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressStyle};
use natronfx_service::workflow::User;
use natronfx_service::{Error, Result, Service, SystemSecret};
use secrecy::SecretString;

use crate::args::{SecretCommand, VaultCommand};
use crate::output;
use crate::run::{invalid, read_line};

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
        VaultCommand::Secret(cmd) => secret(service, actor, cmd, json).await?,
    }
    Ok(())
}

/// Runs a `vault secret` subcommand.
async fn secret(service: &Service, actor: &User, cmd: SecretCommand, json: bool) -> Result<()> {
    match cmd {
        SecretCommand::List => {
            let secrets = service.system_secrets(actor).await?;
            if json {
                output::json(&secrets);
            } else {
                let rows = secrets
                    .iter()
                    .map(|s| {
                        let stored = match (s.vault_key_id, s.stored_at) {
                            (Some(key), Some(at)) => {
                                format!("yes (key {key}, {})", at.format("%Y-%m-%d %H:%M UTC"))
                            }
                            _ => "no".into(),
                        };
                        let used = if s.in_configuration {
                            format!("configuration ({})", s.setting)
                        } else if s.vault_key_id.is_some() {
                            "vault".into()
                        } else {
                            "none".into()
                        };
                        vec![s.name.to_owned(), stored, used, s.purpose.to_owned()]
                    })
                    .collect();
                output::table(&["secret", "in vault", "in use", "for"], rows);
            }
        }
        SecretCommand::Set { name, stdin } => {
            let secret: SystemSecret = name.parse()?;
            let value = read_secret(secret, stdin).await?;
            service.store_system_secret(actor, secret, &value).await?;
            let shadowed = service
                .system_secrets(actor)
                .await?
                .into_iter()
                .any(|s| s.name == secret.name() && s.in_configuration);
            if json {
                output::json(&serde_json::json!({
                    "stored": secret.name(),
                    "in_configuration": shadowed,
                }));
            } else {
                println!("stored {} in the vault", secret.name());
                if shadowed {
                    println!(
                        "note: the configuration also sets {}, and that value is the one used",
                        secret.setting()
                    );
                }
            }
        }
        SecretCommand::Remove { name } => {
            let secret: SystemSecret = name.parse()?;
            let removed = service.remove_system_secret(actor, secret).await?;
            if json {
                output::json(&serde_json::json!({ "removed": removed, "secret": secret.name() }));
            } else if removed {
                println!("removed {} from the vault", secret.name());
            } else {
                println!("the vault held no {}", secret.name());
            }
        }
    }
    Ok(())
}

/// The secret's value: the first line of standard input, or typed at a prompt that does not echo.
async fn read_secret(secret: SystemSecret, from_stdin: bool) -> Result<SecretString> {
    let line = if from_stdin {
        read_line().await?
    } else {
        let prompt = format!("{} ({}): ", secret.name(), secret.purpose());
        tokio::task::spawn_blocking(move || {
            rpassword::prompt_password(prompt).map_err(|e| {
                invalid(
                    "secret",
                    format!("cannot prompt ({e}); pipe the value in with --stdin"),
                )
            })
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??
    };
    Ok(SecretString::from(
        line.trim_end_matches(['\r', '\n']).to_owned(),
    ))
}
