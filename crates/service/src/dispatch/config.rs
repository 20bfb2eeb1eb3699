//! `[dispatch]` and `[sandbox]` settings: batch sizes, leases, retries, platform pacing, the simulator.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How the publishing workers behave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DispatchConfig {
    /// `natronfx-server` runs the workers (false: a web-only process; `natronfx worker` runs them alone).
    pub enabled: bool,
    /// Targets claimed (and worked concurrently) per pass.
    pub batch: u32,
    /// How long a claim holds a target before another worker may take it over (and reconcile it).
    pub lease_secs: u64,
    /// Sleep between passes when nothing is due, in milliseconds.
    pub idle_poll_ms: u64,
    /// A target due longer ago than this when a worker starts is `missed`, not published late.
    pub missed_after_secs: u64,
    /// Tries after a retryable failure before the target fails.
    pub max_retries: u32,
    /// First backoff; it doubles with each retry (with jitter).
    pub retry_base_secs: u64,
    /// Longest backoff.
    pub retry_max_secs: u64,
    /// A platform's "processing, ask again in N" shorter than this is waited for in place, in
    /// milliseconds; longer ones hand the target back until then.
    pub max_inline_poll_ms: u64,
    /// TikTok lists a post only once its processing is over: after an unknown outcome, a read-back that
    /// finds nothing counts as "not posted" only after this many seconds.
    pub tiktok_settle_secs: u64,
    /// TikTok `content/init` calls per account per minute (TikTok allows 6).
    pub tiktok_inits_per_minute: u32,
    /// Instagram posts per account per 24 hours, counted here across processes; the account's own
    /// `content_publishing_limit` is read at runtime as well.
    pub instagram_posts_per_day: u32,
    /// Timeout of each platform call, in seconds.
    pub http_timeout_secs: u64,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            enabled: true,
            batch: 16,
            lease_secs: 120,
            idle_poll_ms: 1000,
            missed_after_secs: 3600,
            max_retries: 6,
            retry_base_secs: 15,
            retry_max_secs: 1800,
            max_inline_poll_ms: 3000,
            tiktok_settle_secs: 600,
            tiktok_inits_per_minute: 6,
            instagram_posts_per_day: 50,
            http_timeout_secs: 30,
        }
    }
}

impl DispatchConfig {
    pub(crate) fn lease(&self) -> chrono::Duration {
        chrono::Duration::seconds(i64::try_from(self.lease_secs).unwrap_or(120))
    }
    pub(crate) fn missed_after(&self) -> chrono::Duration {
        chrono::Duration::seconds(i64::try_from(self.missed_after_secs).unwrap_or(3600))
    }
    pub(crate) fn idle_poll(&self) -> Duration {
        Duration::from_millis(self.idle_poll_ms)
    }
    pub(crate) fn max_inline_poll(&self) -> Duration {
        Duration::from_millis(self.max_inline_poll_ms)
    }
    pub(crate) fn retry_base(&self) -> Duration {
        Duration::from_secs(self.retry_base_secs)
    }
    pub(crate) fn retry_max(&self) -> Duration {
        Duration::from_secs(self.retry_max_secs)
    }
    pub(crate) fn tiktok_settle(&self) -> chrono::Duration {
        chrono::Duration::seconds(i64::try_from(self.tiktok_settle_secs).unwrap_or(600))
    }
    /// Timeout of each platform call.
    pub fn http_timeout(&self) -> Duration {
        Duration::from_secs(self.http_timeout_secs)
    }
}

/// Where sandbox accounts publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxConfig {
    /// Base URL of a running simulator (`natronfx sim --sandbox`), or empty to start one inside the
    /// process on a loopback port.
    pub simulator_url: String,
    /// Simulated seconds a platform takes to process a post.
    pub processing_secs: u64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            simulator_url: String::new(),
            processing_secs: 5,
        }
    }
}
