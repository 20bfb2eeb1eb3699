//! `natronfx worker` and the publishing commands of `natronfx post`: timeline, retry, cancel, resolve,
//! republish.

use natronfx_service::workflow::{Ambiguity, PostId};
use natronfx_service::{Config, Result, ScheduleRequest, Service, Timeline, User, Workers};

use crate::output;

/// A schedule request for `now` or a local time.
pub fn when(at: String, tz: String) -> ScheduleRequest {
    ScheduleRequest {
        local: at,
        zone: tz,
        ambiguity: Ambiguity::Earlier,
        targets: vec![],
        expected_version: None,
    }
}

/// Runs the publishing workers until SIGTERM or Ctrl-C; `once` works one batch and prints the report.
pub async fn worker(service: Service, config: &Config, once: bool, json: bool) -> Result<()> {
    let workers = Workers::start(service, config).await?;
    if once {
        // `start` already runs passes; stop it and report one deterministic pass of our own.
        let dispatcher = workers.dispatcher().clone();
        workers.stop().await?;
        let missed = dispatcher.mark_missed().await?;
        let report = dispatcher.run_once().await?;
        if json {
            output::json(&serde_json::json!({
                "missed": missed,
                "claimed": report.claimed,
                "published": report.published,
                "failed": report.failed,
                "retrying": report.retrying,
                "waiting": report.waiting,
                "needs_attention": report.needs_attention,
                "refused": report.refused,
                "skipped": report.skipped,
            }));
        } else {
            println!(
                "missed {missed}, claimed {}, published {}, failed {}, retrying {}, waiting {}, needs attention {}, refused {}",
                report.claimed,
                report.published,
                report.failed,
                report.retrying,
                report.waiting,
                report.needs_attention,
                report.refused
            );
        }
        return Ok(());
    }
    println!(
        "natronfx worker {} running (Ctrl-C stops it)",
        workers.dispatcher().worker()
    );
    crate::sim::stop_signal().await;
    workers.stop().await?;
    println!("natronfx worker stopped");
    Ok(())
}

/// Prints a post's publishing timeline.
pub async fn timeline(service: &Service, actor: &User, id: PostId, json: bool) -> Result<()> {
    let timeline: Timeline = service.timeline(actor, id).await?;
    if json {
        output::json(&timeline);
        return Ok(());
    }
    println!("post {} ({})", timeline.post, timeline.state);
    for t in &timeline.targets {
        println!();
        let when = t
            .scheduled_at
            .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|| "unscheduled".into());
        println!("{} {} — {} (due {when})", t.platform, t.account, t.state);
        if let Some(id) = &t.platform_post_id {
            println!("  live as {id} {}", t.permalink.as_deref().unwrap_or(""));
        }
        if let Some(error) = &t.last_error {
            println!("  last error: {error}");
        }
        if let Some(next) = t.next_attempt_at {
            println!("  next step at {}", next.format("%Y-%m-%d %H:%M:%S UTC"));
        }
        for e in &t.entries {
            let mut extra = Vec::new();
            if let Some(id) = &e.remote_id {
                extra.push(format!("id {id}"));
            }
            if let Some(status) = e.http_status {
                extra.push(format!("http {status}"));
            }
            if let Some(code) = &e.error_code {
                extra.push(format!("code {code}"));
            }
            if let Some(trace) = &e.trace_id {
                extra.push(format!("trace {trace}"));
            }
            if let Some(ms) = e.duration_ms {
                extra.push(format!("{ms} ms"));
            }
            let extra = if extra.is_empty() {
                String::new()
            } else {
                format!(" [{}]", extra.join(", "))
            };
            println!(
                "  {} #{} {:<15} {}{extra}",
                e.at.format("%H:%M:%S"),
                e.attempt,
                e.kind,
                e.message
            );
        }
    }
    Ok(())
}
