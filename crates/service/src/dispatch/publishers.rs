//! The platform adapters a worker publishes through, and the in-process simulator behind sandbox accounts.

use std::sync::Arc;
use std::time::Duration;

use natronfx_platforms::{
    FacebookPublisher, GraphConfig, InstagramPublisher, Platform, Publisher, RateLimit,
    TiktokConfig, TiktokPublisher,
};
use natronfx_sim::{ClockMode, SimConfig, SimHandle, Simulator};

use crate::{Error, Result};

/// One adapter per platform.
#[derive(Debug, Clone)]
pub struct Publishers {
    tiktok: Arc<dyn Publisher>,
    instagram: Arc<dyn Publisher>,
    facebook: Arc<dyn Publisher>,
}

impl Publishers {
    /// Adapters given explicitly (tests use counting or failing ones).
    pub fn new(
        tiktok: Arc<dyn Publisher>,
        instagram: Arc<dyn Publisher>,
        facebook: Arc<dyn Publisher>,
    ) -> Publishers {
        Publishers {
            tiktok,
            instagram,
            facebook,
        }
    }

    /// The real platforms (open.tiktokapis.com, graph.instagram.com, graph.facebook.com).
    pub fn real(timeout: Duration) -> Result<Publishers> {
        Publishers::with_hosts(
            "https://open.tiktokapis.com",
            "https://graph.instagram.com",
            "https://graph.facebook.com",
            timeout,
        )
    }

    /// A simulator at `base` (`{base}/tiktok`, `{base}/instagram`, `{base}/facebook`). The database holds
    /// the per-account pacing, so the adapters' own in-process limits are opened wide here.
    pub fn simulator(base: &str, timeout: Duration) -> Result<Publishers> {
        let base = base.trim_end_matches('/');
        Publishers::with_hosts(
            &format!("{base}/tiktok"),
            &format!("{base}/instagram"),
            &format!("{base}/facebook"),
            timeout,
        )
    }

    fn with_hosts(
        tiktok: &str,
        instagram: &str,
        facebook: &str,
        timeout: Duration,
    ) -> Result<Self> {
        let config_error = |e: natronfx_platforms::PlatformError| Error::Config(e.to_string());
        // Pacing of the creating calls lives in the database (shared by every process); the adapters' own
        // limiters count per process only, so they are kept for the read-only calls.
        let tiktok = TiktokPublisher::new(TiktokConfig {
            base_url: tiktok.to_owned(),
            timeout,
            // content/init is paced per account in the database, across processes.
            init_limit: RateLimit::per_minute(u32::MAX),
            ..TiktokConfig::default()
        })
        .map_err(config_error)?;
        let graph = |host: &str| GraphConfig {
            timeout,
            container_limit: RateLimit::per_day(u32::MAX),
            ..GraphConfig::with_host(host, "v25.0")
        };
        let instagram = InstagramPublisher::new(graph(instagram)).map_err(config_error)?;
        let facebook = FacebookPublisher::new(graph(facebook)).map_err(config_error)?;
        Ok(Publishers::new(
            Arc::new(tiktok),
            Arc::new(instagram),
            Arc::new(facebook),
        ))
    }

    pub(crate) fn get(&self, platform: natronfx_workflow::Platform) -> &Arc<dyn Publisher> {
        match platform {
            natronfx_workflow::Platform::Tiktok => &self.tiktok,
            natronfx_workflow::Platform::Instagram => &self.instagram,
            natronfx_workflow::Platform::Facebook => &self.facebook,
        }
    }
}

/// The platform as the adapters name it.
pub(crate) fn adapter_platform(platform: natronfx_workflow::Platform) -> Platform {
    match platform {
        natronfx_workflow::Platform::Tiktok => Platform::Tiktok,
        natronfx_workflow::Platform::Instagram => Platform::Instagram,
        natronfx_workflow::Platform::Facebook => Platform::Facebook,
    }
}

/// A simulator running inside this process for sandbox accounts: real time, sandbox tokens accepted,
/// loopback image URLs allowed.
#[derive(Debug)]
pub struct SandboxSimulator {
    handle: SimHandle,
}

impl SandboxSimulator {
    /// Starts it on a free loopback port.
    pub async fn start(processing: Duration) -> Result<SandboxSimulator> {
        let handle = Simulator::start(SimConfig {
            clock: ClockMode::Real,
            allow_http_loopback: true,
            sandbox_tokens: true,
            processing_time: processing,
            ..SimConfig::default()
        })
        .await
        .map_err(|e| Error::Internal(format!("cannot start the sandbox simulator: {e}")))?;
        Ok(SandboxSimulator { handle })
    }

    /// Its base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.handle.addr())
    }

    /// The simulator itself, for read-back in tests.
    pub fn handle(&self) -> &SimHandle {
        &self.handle
    }

    /// Stops it.
    pub async fn shutdown(self) -> Result<()> {
        self.handle
            .shutdown()
            .await
            .map_err(|e| Error::Internal(e.to_string()))
    }
}
