//! `natronfx dedupe check FILE|POST` and `natronfx dedupe rebuild`.

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use natronfx_service::workflow::{PostId, User};
use natronfx_service::{DuplicateReport, Error, Result, Service};

use crate::args::DedupeCommand;
use crate::output;

fn invalid(reason: String) -> Error {
    natronfx_service::workflow::Error::InvalidInput {
        field: "subject",
        reason,
    }
    .into()
}

/// Runs a `dedupe` subcommand.
pub async fn dedupe(service: &Service, actor: &User, cmd: DedupeCommand, json: bool) -> Result<()> {
    match cmd {
        DedupeCommand::Check { subject, radius } => {
            // A file that exists wins; otherwise the argument must be a post id.
            let path = Path::new(&subject);
            let report = if path.is_file() {
                let bytes = std::fs::read(path)
                    .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
                service.dedupe_check_image(actor, bytes, radius).await?
            } else if let Ok(id) = subject.parse::<PostId>() {
                service.dedupe_check_post(actor, id, radius).await?
            } else {
                return Err(invalid(format!(
                    "`{subject}` is neither an image file nor a post id"
                )));
            };
            if json {
                output::json(&report);
            } else {
                print_report(&report);
            }
            Ok(())
        }
        DedupeCommand::Rebuild => {
            let bar = if json {
                ProgressBar::hidden()
            } else {
                ProgressBar::new(0)
            };
            bar.set_style(
                ProgressStyle::with_template(
                    "fingerprinting {bar:30} {pos}/{len} published targets",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let report = service
                .dedupe_rebuild(actor, |done, total| {
                    bar.set_length(total);
                    bar.set_position(done);
                })
                .await;
            bar.finish_and_clear();
            let report = report?;
            if json {
                output::json(&report);
            } else {
                println!(
                    "{} published targets: {} fingerprints recorded, {} skipped",
                    report.targets,
                    report.recorded,
                    report.skipped.len()
                );
                for s in &report.skipped {
                    println!(
                        "  skipped post {} target {}: {}",
                        s.post_id, s.target_id, s.reason
                    );
                }
            }
            Ok(())
        }
    }
}

fn print_report(report: &DuplicateReport) {
    let rows = report
        .matches
        .iter()
        .map(|m| {
            let slides = m
                .slides
                .iter()
                .map(|s| format!("{}→{} (distance {})", s.ours, s.theirs, s.distance))
                .collect::<Vec<_>>()
                .join(", ");
            let caption = match (m.same_caption, m.caption_similarity) {
                (true, _) => "same".to_owned(),
                (false, Some(p)) => format!("{p} %"),
                (false, None) => "-".to_owned(),
            };
            vec![
                m.published_at.format("%Y-%m-%d").to_string(),
                m.account.clone(),
                m.platform.to_string(),
                m.post_id.to_string(),
                m.post_title.clone().unwrap_or_default(),
                if slides.is_empty() {
                    "-".to_owned()
                } else {
                    slides
                },
                caption,
            ]
        })
        .collect();
    output::table(
        &[
            "published",
            "account",
            "platform",
            "post",
            "title",
            "slides (ours→theirs)",
            "caption",
        ],
        rows,
    );
    println!(
        "{} match{} for {} image{} within distance {}",
        report.matches.len(),
        if report.matches.len() == 1 { "" } else { "es" },
        report.checked_slides,
        if report.checked_slides == 1 { "" } else { "s" },
        report.radius
    );
}
