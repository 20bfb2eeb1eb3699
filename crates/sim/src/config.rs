//! Simulator configuration: processing speed, validation switches and quotas.

use std::time::Duration;

/// How the simulator's clock moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    /// Time stands still unless a test advances it (deterministic tests).
    Manual,
    /// Time follows the wall clock, plus any manual advance (standalone runs).
    Real,
}

/// Everything that shapes how the simulator answers.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// How the clock moves.
    pub clock: ClockMode,
    /// Fetch `http://` image URLs when the host is a loopback address (the platforms require https).
    pub allow_http_loopback: bool,
    /// Timeout of the simulator's own image downloads.
    pub fetch_timeout: Duration,
    /// Status polls answered "in progress" before a container or publish is done.
    pub polls_to_finish: u32,
    /// Simulated time after which processing is done even if nobody polled.
    pub processing_time: Duration,
    /// How long a "hang" fault holds the request before giving up (clients should time out first).
    pub hang_for: Duration,
    /// Instagram `config.quota_total` (the current guide says 100; older pages say 50 or 25).
    pub instagram_quota_total: u32,
    /// TikTok posts per creator per 24 h before `spam_risk_too_many_posts`.
    pub tiktok_daily_post_cap: u32,
    /// TikTok URL prefixes verified for `PULL_FROM_URL`; empty accepts every URL.
    pub tiktok_verified_prefixes: Vec<String>,
    /// Behave like an unaudited TikTok client: public accounts are refused.
    pub tiktok_unaudited: bool,
    /// Enforce the documented per-token request limits (TikTok 6 init, 30 status, 20 creator_info a minute).
    pub enforce_rate_limits: bool,
    /// The one OAuth app the simulated platforms know (TikTok `client_key`, Meta app id).
    pub oauth_client_id: String,
    /// Its secret.
    pub oauth_client_secret: String,
    /// The API key the simulated OpenAI Images endpoint accepts.
    pub openai_api_key: String,
    /// Accept sandbox tokens (`sandbox.{network}.{account id}`, see [`crate::sandbox_token`]) for accounts
    /// it has never seen, creating the account on first use, so a sandbox survives restarts of either side.
    pub sandbox_tokens: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            clock: ClockMode::Manual,
            allow_http_loopback: true,
            fetch_timeout: Duration::from_secs(5),
            polls_to_finish: 1,
            processing_time: Duration::from_secs(30),
            hang_for: Duration::from_secs(30),
            instagram_quota_total: 100,
            tiktok_daily_post_cap: 15,
            tiktok_verified_prefixes: Vec::new(),
            tiktok_unaudited: false,
            enforce_rate_limits: true,
            oauth_client_id: "sim-client".into(),
            oauth_client_secret: "sim-secret".into(),
            openai_api_key: "sk-sim".into(),
            sandbox_tokens: false,
        }
    }
}
