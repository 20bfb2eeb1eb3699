//! The dispatcher: publishes every due target exactly once, across crashes, faults and processes.
//!
//! Each worker claims due targets with a fenced lease ([`natronfx_store::DispatchStore::claim_due`]),
//! commits the start of an attempt before calling the platform, commits every remote id the moment the
//! adapter returns it, and settles the target from the platform's answer. An unknown outcome (a lost
//! answer on a creating call, a crash between call and commit, an expired lease) is never retried blindly:
//! the worker first asks about what it recorded, then reads the account's recent posts back, and only a
//! read-back that proves the post absent lets it create again. See `ARCHITECTURE.md`, "Publishing".

mod config;
mod publishers;
mod work;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use natronfx_store::LogEntry;
use natronfx_workflow::TargetState;
use tokio::sync::watch;

use crate::{Result, Service};

pub use config::{DispatchConfig, SandboxConfig};
pub use publishers::{Publishers, SandboxSimulator};

/// What one pass of a worker did, target by target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Targets claimed.
    pub claimed: usize,
    /// Went live (or were found live by reconciliation).
    pub published: usize,
    /// Failed for good.
    pub failed: usize,
    /// Will be tried again after a backoff.
    pub retrying: usize,
    /// Handed back to wait: the platform is processing, a rate slot, a reconnect, a read-back.
    pub waiting: usize,
    /// Need a person to settle an unknown outcome.
    pub needs_attention: usize,
    /// Refused by the ledger (already published).
    pub refused: usize,
    /// Nothing to do any more: cancelled, moved, or claimed by another worker meanwhile.
    pub skipped: usize,
}

impl DispatchReport {
    fn add(&mut self, outcome: work::Outcome) {
        use work::Outcome as O;
        match outcome {
            O::Published => self.published += 1,
            O::Failed => self.failed += 1,
            O::Retrying => self.retrying += 1,
            O::Waiting => self.waiting += 1,
            O::NeedsAttention => self.needs_attention += 1,
            O::Refused => self.refused += 1,
            O::Skipped => self.skipped += 1,
        }
    }
}

/// A publishing worker over a [`Service`]. Cheap to clone; clones share nothing but the service.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    service: Service,
    config: DispatchConfig,
    worker: String,
    real: Publishers,
    sandbox: Option<Publishers>,
}

impl Dispatcher {
    /// A worker named `worker` (unique per process: it owns the leases it takes), publishing to real
    /// accounts through `real` and to sandbox accounts through `sandbox`, if any.
    pub fn new(
        service: Service,
        config: DispatchConfig,
        worker: impl Into<String>,
        real: Publishers,
        sandbox: Option<Publishers>,
    ) -> Dispatcher {
        Dispatcher {
            inner: Arc::new(Inner {
                service,
                config,
                worker: worker.into(),
                real,
                sandbox,
            }),
        }
    }

    /// A worker name unique to this process: host, process id and a random suffix.
    pub fn worker_name() -> String {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
        let suffix: u32 = rand::random();
        format!("{host}-{}-{suffix:08x}", std::process::id())
    }

    /// The worker's name, as leases and the publish log show it.
    pub fn worker(&self) -> &str {
        &self.inner.worker
    }

    /// The service it works for.
    pub fn service(&self) -> &Service {
        &self.inner.service
    }

    /// One deterministic pass: claims a batch of due targets and works each to its next resting point
    /// (live, failed, waiting for a poll, a backoff, a rate slot, a read-back or a person).
    pub async fn run_once(&self) -> Result<DispatchReport> {
        let service = &self.inner.service;
        let config = &self.inner.config;
        let now = service.now();
        let claims = service
            .store
            .claim_due(
                &self.inner.worker,
                now,
                now + config.lease(),
                config.batch.max(1),
            )
            .await?;
        let mut report = DispatchReport {
            claimed: claims.len(),
            ..DispatchReport::default()
        };
        let mut tasks = tokio::task::JoinSet::new();
        for claim in claims {
            let worker = self.clone();
            tasks.spawn(async move {
                let fence = worker.fence(&claim);
                let outcome = worker.work(claim).await;
                if let Err(e) = &outcome {
                    // Whatever the last call did is unknown now: end the claim so that the next one
                    // reconciles before anything is sent.
                    tracing::warn!(code = e.code(), error = %e, target = %fence.target, "a target could not be worked; it will be reconciled");
                    let now = worker.service().now();
                    if let Err(e) = worker.service().store.expire_lease(&fence, now).await {
                        tracing::warn!(error = %e, "could not end the claim; it runs out by itself");
                    }
                }
                outcome
            });
        }
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(outcome)) => report.add(outcome),
                Ok(Err(_)) => report.skipped += 1,
                Err(e) => {
                    tracing::error!(error = %e, "a dispatch task panicked; its target will be reclaimed");
                    report.skipped += 1;
                }
            }
        }
        Ok(report)
    }

    /// Marks scheduled targets that were due more than `missed_after` ago as `missed`, for a person to
    /// publish now, reschedule or cancel. Run once when a worker starts, before it claims anything: a
    /// service that was down never publishes hours late by itself. Returns how many were marked.
    pub async fn mark_missed(&self) -> Result<usize> {
        let service = &self.inner.service;
        let now = service.now();
        let before = now - self.inner.config.missed_after();
        let mut marked = 0;
        for (post_id, target_id) in service.store.overdue_targets(before, 10_000).await? {
            let mut post = service.store.post(post_id).await?;
            let Some(target) = post.targets.iter().find(|t| t.id == target_id) else {
                continue;
            };
            let (Some(at), TargetState::Scheduled) = (target.scheduled_at, target.state) else {
                continue;
            };
            let note = format!(
                "was due at {}; the service was not running, so it waits for a person",
                at.instant().format("%Y-%m-%d %H:%M UTC")
            );
            let events = post.record_target_outcome(
                target_id,
                TargetState::Missed,
                Some(note.clone()),
                now,
            )?;
            let log = [LogEntry::new(target_id, post_id, 0, now, "missed", note)];
            match service
                .store
                .save_post_logged(post.snapshot(), &events, &log, &[])
                .await
            {
                Ok(_) => marked += 1,
                // Someone changed the post meanwhile (or a worker started it): leave it be.
                Err(natronfx_store::Error::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if marked > 0 {
            tracing::warn!(
                marked,
                "targets missed their time while the service was down"
            );
        }
        Ok(marked)
    }

    /// Runs until `stop` turns true: marks missed targets, then claims and works batches, sleeping
    /// `idle_poll` when there is nothing to do. A stop lets the current pass finish (every held target
    /// reaches a resting point and its lease is released) before returning.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) -> Result<()> {
        self.mark_missed().await?;
        tracing::info!(worker = %self.inner.worker, "dispatcher started");
        while !*stop.borrow() {
            let report = match self.run_once().await {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(code = e.code(), error = %e, "dispatch pass failed; retrying");
                    DispatchReport::default()
                }
            };
            if report.claimed == 0 {
                tokio::select! {
                    _ = stop.changed() => {}
                    () = tokio::time::sleep(self.inner.config.idle_poll()) => {}
                }
            }
        }
        tracing::info!(worker = %self.inner.worker, "dispatcher stopped");
        Ok(())
    }
}

/// Running workers: a [`Dispatcher`] on its own task (plus the in-process sandbox simulator when the
/// configuration asks for one), until [`Workers::stop`].
#[derive(Debug)]
pub struct Workers {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<()>>,
    simulator: Option<SandboxSimulator>,
    dispatcher: Dispatcher,
}

impl Workers {
    /// Builds a dispatcher from `config` (real adapters; sandbox accounts through `[sandbox]`) and starts
    /// it: missed targets are marked first, then due targets are worked until stopped.
    pub async fn start(service: Service, config: &crate::Config) -> Result<Workers> {
        let timeout = config.dispatch.http_timeout();
        let real = Publishers::real(timeout)?;
        let (sandbox, simulator) = if config.sandbox.simulator_url.trim().is_empty() {
            let sim = SandboxSimulator::start(Duration::from_secs(config.sandbox.processing_secs))
                .await?;
            (Publishers::simulator(&sim.base_url(), timeout)?, Some(sim))
        } else {
            (
                Publishers::simulator(&config.sandbox.simulator_url, timeout)?,
                None,
            )
        };
        let dispatcher = Dispatcher::new(
            service,
            config.dispatch.clone(),
            Dispatcher::worker_name(),
            real,
            Some(sandbox),
        );
        let (stop, stopped) = watch::channel(false);
        let running = dispatcher.clone();
        let task = tokio::spawn(async move { running.run(stopped).await });
        Ok(Workers {
            stop,
            task,
            simulator,
            dispatcher,
        })
    }

    /// The dispatcher the workers run.
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// The in-process sandbox simulator's base URL, when one runs.
    pub fn sandbox_url(&self) -> Option<String> {
        self.simulator.as_ref().map(SandboxSimulator::base_url)
    }

    /// Asks the workers to stop, waits for the current pass to finish (every held target reaches a
    /// resting point and is released), then stops the sandbox simulator.
    pub async fn stop(self) -> Result<()> {
        let _ = self.stop.send(true);
        let result = self
            .task
            .await
            .map_err(|e| crate::Error::Internal(format!("the dispatcher task failed: {e}")))?;
        if let Some(sim) = self.simulator {
            sim.shutdown().await?;
        }
        result
    }
}

/// Exponential backoff with full jitter, at least `hint`, at most `max`.
fn backoff(retries: i32, base: Duration, max: Duration, hint: Option<Duration>) -> Duration {
    let exp = u32::try_from(retries.clamp(0, 20)).unwrap_or(20);
    let ceiling = base.saturating_mul(2u32.saturating_pow(exp)).min(max);
    let jittered = ceiling.mul_f64(0.5 + rand::random::<f64>() * 0.5);
    jittered
        .max(hint.unwrap_or_default())
        .max(Duration::from_secs(1))
}

fn after(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(d).unwrap_or_else(|_| chrono::Duration::hours(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_honours_hints() {
        let base = Duration::from_secs(10);
        let max = Duration::from_secs(300);
        for retries in 0..12 {
            let d = backoff(retries, base, max, None);
            assert!(d <= max, "{d:?}");
            assert!(d >= Duration::from_secs(1));
        }
        assert!(backoff(1, base, max, None) <= Duration::from_secs(20));
        assert!(backoff(8, base, max, None) >= Duration::from_secs(150));
        assert_eq!(
            backoff(0, base, max, Some(Duration::from_secs(900))),
            Duration::from_secs(900),
            "a platform's retry hint wins"
        );
    }
}
