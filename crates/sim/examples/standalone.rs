//! Run the simulator on its own with a few demo accounts: `cargo run -p natronfx-sim --example standalone [addr]`.

use natronfx_sim::{ClockMode, GraphHost, SimConfig, Simulator, TiktokCreator};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8089".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let sim = Simulator::new(SimConfig {
        clock: ClockMode::Real,
        ..SimConfig::default()
    });
    let tiktok = sim.add_tiktok_account(TiktokCreator::default());
    let instagram = sim.add_instagram_account("natron.demo", GraphHost::Instagram);
    let page = sim.add_facebook_page("Natron Demo");
    println!(
        "TikTok     {base}/tiktok      open_id {}  token {}",
        tiktok.id, tiktok.token
    );
    println!(
        "Instagram  {base}/instagram   ig_id {}  token {}",
        instagram.id, instagram.token
    );
    println!(
        "Facebook   {base}/facebook    page {}  token {}",
        page.id, page.token
    );
    println!("OpenAI     {base}/openai      key sk-sim");
    println!("OAuth app  client id sim-client, secret sim-secret; Ctrl-C stops");
    sim.serve(listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
