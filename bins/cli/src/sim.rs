//! `natronfx sim`: the platform simulator on its own, with one demo account per platform, for trying the
//! adapters or a sandbox without real credentials. Its tokens are the simulator's own, not secrets.

use std::time::Duration;

use natronfx_service::{Error, Result};
use natronfx_sim::{
    ClockMode, Endpoint, Fault, GraphHost, Loss, RandomFaults, SimConfig, Simulator, TiktokCreator,
};

/// How `natronfx sim` was asked to behave.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Accept sandbox tokens.
    pub sandbox: bool,
    /// Simulated processing time.
    pub processing: Duration,
    /// Share of requests that get a random fault.
    pub faults: f64,
    /// Seed of the random faults.
    pub seed: u64,
}

/// Serves the simulator on `listen` until Ctrl-C or SIGTERM.
pub async fn run(listen: &str, options: SimOptions) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {listen}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Internal(e.to_string()))?;
    let base = format!("http://{addr}");
    let sim = Simulator::new(SimConfig {
        clock: ClockMode::Real,
        allow_http_loopback: true,
        sandbox_tokens: options.sandbox,
        processing_time: options.processing,
        // Hangs outlast any client timeout but not a test run.
        hang_for: Duration::from_secs(40),
        ..SimConfig::default()
    });
    if options.faults > 0.0 {
        sim.set_random_faults(Some(RandomFaults {
            seed: options.seed,
            probability: options.faults.clamp(0.0, 1.0),
            faults: vec![
                Fault::ServerError { status: 500 },
                Fault::ServerError { status: 503 },
                Fault::TooManyRequests {
                    retry_after: Some(Duration::from_secs(1)),
                },
                Fault::Hang,
                Fault::CreatedThenLost(Loss::Drop),
                Fault::CreatedThenLost(Loss::ServerError),
            ],
            endpoints: vec![
                Endpoint::TiktokInit,
                Endpoint::TiktokStatus,
                Endpoint::InstagramCreateContainer,
                Endpoint::InstagramPublish,
                Endpoint::FacebookPhotos,
                Endpoint::FacebookFeed,
            ],
        }));
    }
    let tiktok = sim.add_tiktok_account(TiktokCreator::default());
    let instagram = sim.add_instagram_account("natron.demo", GraphHost::Instagram);
    let page = sim.add_facebook_page("Natron Demo");
    println!(
        "  TikTok     {base}/tiktok      open_id {}  token {}",
        tiktok.id, tiktok.token
    );
    println!(
        "  Instagram  {base}/instagram   ig user {}  token {}",
        instagram.id, instagram.token
    );
    println!(
        "  Facebook   {base}/facebook    page {}  token {}",
        page.id, page.token
    );
    println!("  OpenAI     {base}/openai");
    println!("  Read-back  {base}/_sim/published");
    println!("natronfx sim listening on {base} (Ctrl-C stops it)");
    sim.serve(listener, stop_signal())
        .await
        .map_err(|e| Error::Internal(e.to_string()))
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
