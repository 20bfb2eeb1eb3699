//! `natronfx sim`: the platform simulator on its own, with one demo account per platform, for trying the
//! adapters or a sandbox without real credentials. Its tokens are the simulator's own, not secrets.

use natronfx_service::{Error, Result};
use natronfx_sim::{ClockMode, GraphHost, SimConfig, Simulator, TiktokCreator};

/// Serves the simulator on `listen` until Ctrl-C or SIGTERM.
pub async fn run(listen: &str) -> Result<()> {
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
        ..SimConfig::default()
    });
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
    println!("natronfx sim listening on {base} (Ctrl-C stops it)");
    let stop = async {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async {
            if let Ok(mut s) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
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
    };
    sim.serve(listener, stop)
        .await
        .map_err(|e| Error::Internal(e.to_string()))
}
