//! Sandbox tokens: accounts the simulator has never seen, admitted on first use when configured, and the
//! read-back served over HTTP for tests in another process.

use natronfx_platforms::{InstagramPublisher, Platform, PublishProgress, TiktokPublisher};
use natronfx_sim::{Network, SimConfig, sandbox_token};

use crate::{End, drive, request, secret, world};

#[tokio::test]
async fn a_sandbox_token_publishes_once_the_simulator_allows_them() {
    let w = world(SimConfig {
        sandbox_tokens: true,
        ..SimConfig::default()
    })
    .await;
    let tiktok = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let token = sandbox_token(Network::Tiktok, "sandbox-open-1");
    let req = request("sandbox-open-1", vec![w.jpeg(540, 960)]);
    let (_, end) = drive(
        &tiktok,
        &secret(&token),
        &req,
        PublishProgress::start(Platform::Tiktok),
    )
    .await;
    assert!(matches!(end, End::Done(_)), "{end:?}");
    assert_eq!(w.sim.published("sandbox-open-1").len(), 1);

    let ig = InstagramPublisher::new(w.instagram_config()).expect("adapter");
    let token = sandbox_token(Network::Instagram, "17841400000000999");
    let req = request("17841400000000999", vec![w.jpeg(1080, 1350)]);
    let (_, end) = drive(
        &ig,
        &secret(&token),
        &req,
        PublishProgress::start(Platform::Instagram),
    )
    .await;
    assert!(matches!(end, End::Done(_)), "{end:?}");

    let listed: Vec<serde_json::Value> =
        reqwest::get(format!("http://{}/_sim/published", w.sim.addr()))
            .await
            .expect("read-back")
            .json()
            .await
            .expect("json");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["account_id"], "sandbox-open-1");
}

#[tokio::test]
async fn sandbox_tokens_are_refused_unless_configured_and_must_be_well_formed() {
    let w = world(SimConfig::default()).await;
    let tiktok = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let req = request("sandbox-open-2", vec![w.jpeg(540, 960)]);
    let token = sandbox_token(Network::Tiktok, "sandbox-open-2");
    let (_, end) = drive(
        &tiktok,
        &secret(&token),
        &req,
        PublishProgress::start(Platform::Tiktok),
    )
    .await;
    assert!(matches!(end, End::Err(_)), "{end:?}");

    let w = world(SimConfig {
        sandbox_tokens: true,
        ..SimConfig::default()
    })
    .await;
    let tiktok = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let (_, end) = drive(
        &tiktok,
        &secret("sandbox.tiktok.bad id/../x"),
        &req,
        PublishProgress::start(Platform::Tiktok),
    )
    .await;
    assert!(matches!(end, End::Err(_)), "{end:?}");
    assert!(w.sim.all_published().is_empty());
}
