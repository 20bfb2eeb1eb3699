//! Connecting accounts: the real connectors against the simulated consent pages and token endpoints.

use std::collections::HashMap;
use std::time::Duration;

use natronfx_platforms::{
    Connector, ErrorClass, FacebookConnector, FacebookPublisher, InstagramConnector,
    InstagramOAuthConfig, InstagramPublisher, OAuthApp, Pkce, Platform, PublishProgress, Publisher,
    TiktokConnector, TiktokOAuthConfig, TiktokPublisher,
};
use secrecy::{ExposeSecret, SecretString};

use crate::{End, World, default_world, drive, request};

fn app(scopes: &[&str]) -> OAuthApp {
    OAuthApp {
        client_id: "sim-client".into(),
        client_secret: SecretString::from("sim-secret"),
        redirect_uri: "https://publisher.example.com/connect/callback".into(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// Open the consent page like a browser and read the callback's query.
async fn consent(url: &str) -> HashMap<String, String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let response = client.get(url).send().await.expect("consent page answers");
    assert_eq!(
        response.status().as_u16(),
        302,
        "the consent page redirects"
    );
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_owned();
    assert!(
        location.starts_with("https://publisher.example.com/connect/callback?"),
        "{location}"
    );
    let url = reqwest::Url::parse(&location).expect("callback URL");
    let mut query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    if let Some(fragment) = url.fragment() {
        query.insert("#fragment".into(), fragment.to_owned());
    }
    query
}

fn tiktok_connector(w: &World) -> TiktokConnector {
    TiktokConnector::new(
        app(&["user.info.basic", "video.publish"]),
        TiktokOAuthConfig {
            authorize_url: w.sim.tiktok_authorize_url(),
            api_base: w.sim.tiktok_base_url(),
            timeout: Duration::from_secs(2),
        },
    )
    .expect("connector")
}

#[tokio::test]
async fn a_tiktok_account_connects_with_pkce_refreshes_and_revokes() {
    let w = default_world().await;
    let connector = tiktok_connector(&w);
    let pkce = Pkce::new("a".repeat(20) + "-._~" + &"Z9".repeat(12)).expect("verifier");
    let callback = consent(&connector.authorize_url("csrf-1", Some(&pkce)).expect("url")).await;
    assert_eq!(callback["state"], "csrf-1");
    assert_eq!(callback["scopes"], "user.info.basic,video.publish");

    let wrong = Pkce::new("b".repeat(43)).expect("verifier");
    let err = connector
        .exchange_code(&callback["code"], Some(&wrong))
        .await
        .expect_err("wrong verifier");
    assert_eq!(err.class(), ErrorClass::Terminal);

    let callback = consent(&connector.authorize_url("csrf-2", Some(&pkce)).expect("url")).await;
    let grant = connector
        .exchange_code(&callback["code"], Some(&pkce))
        .await
        .expect("tokens");
    let open_id = grant.account_id.clone().expect("open_id");
    let publisher = TiktokPublisher::new(w.tiktok_config()).expect("adapter");
    let info = publisher
        .account_info(&grant.access_token, &open_id)
        .await
        .expect("token works");
    assert_eq!(info.id, open_id);
    let err = connector
        .exchange_code(&callback["code"], Some(&pkce))
        .await
        .expect_err("codes are single-use");
    assert_eq!(err.class(), ErrorClass::Auth);

    let old_refresh = grant.refresh_token.clone().expect("refresh token");
    let fresh = connector.refresh(&old_refresh).await.expect("refreshed");
    assert_ne!(
        fresh
            .refresh_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned()),
        Some(old_refresh.expose_secret().to_owned())
    );
    let err = connector
        .refresh(&old_refresh)
        .await
        .expect_err("the old refresh token rotated away");
    assert_eq!(err.class(), ErrorClass::Auth);

    assert!(
        connector
            .revoke(&fresh.access_token)
            .await
            .expect("revoked")
    );
    let err = publisher
        .account_info(&fresh.access_token, &open_id)
        .await
        .expect_err("revoked token");
    assert_eq!(err.class(), ErrorClass::Auth);
}

#[tokio::test]
async fn an_instagram_login_gives_a_60_day_token_that_refreshes_after_a_day() {
    let w = default_world().await;
    let connector = InstagramConnector::new(
        app(&[
            "instagram_business_basic",
            "instagram_business_content_publish",
        ]),
        InstagramOAuthConfig {
            authorize_url: w.sim.instagram_authorize_url(),
            api_base: w.sim.instagram_api_base_url(),
            graph_base: w.sim.instagram_base_url(),
            timeout: Duration::from_secs(2),
            ..InstagramOAuthConfig::default()
        },
    )
    .expect("connector");
    let callback = consent(&connector.authorize_url("csrf", None).expect("url")).await;
    assert_eq!(callback.get("#fragment").map(String::as_str), Some("_"));
    let grant = connector
        .exchange_code(&callback["code"], None)
        .await
        .expect("tokens");
    assert_eq!(grant.expires_in, Some(Duration::from_secs(5_183_944)));
    let ig_id = grant.account_id.clone().expect("user id");
    assert_eq!(
        ig_id.len(),
        17,
        "a 17-digit id sent as a JSON number keeps every digit"
    );

    let publisher = InstagramPublisher::new(w.instagram_config()).expect("adapter");
    let req = request(&ig_id, vec![w.jpeg(400, 500)]);
    let (_, end) = drive(
        &publisher,
        &grant.access_token,
        &req,
        PublishProgress::start(Platform::Instagram),
    )
    .await;
    assert!(matches!(end, End::Done(_)), "{end:?}");

    let err = connector
        .refresh(&grant.access_token)
        .await
        .expect_err("too young to refresh");
    assert_eq!(err.class(), ErrorClass::Terminal);
    w.sim.advance_clock(Duration::from_secs(25 * 3600));
    let fresh = connector
        .refresh(&grant.access_token)
        .await
        .expect("refreshed");
    assert!(
        publisher
            .account_info(&fresh.access_token, &ig_id)
            .await
            .is_ok()
    );
    assert!(
        !connector
            .revoke(&fresh.access_token)
            .await
            .expect("no revoke call"),
        "instagram has no revoke"
    );
}

#[tokio::test]
async fn a_facebook_login_lists_pages_whose_tokens_publish() {
    let w = default_world().await;
    let page = w.sim.add_facebook_page("Natron Coffee");
    let connector = FacebookConnector::new(
        app(&[
            "pages_manage_posts",
            "pages_read_engagement",
            "pages_show_list",
        ]),
        w.sim.facebook_dialog_url("v25.0"),
        w.facebook_config(),
    )
    .expect("connector");
    let callback = consent(&connector.authorize_url("csrf", None).expect("url")).await;
    let grant = connector
        .exchange_code(&callback["code"], None)
        .await
        .expect("tokens");
    assert_eq!(grant.expires_in, Some(Duration::from_secs(5_184_000)));
    let pages = connector.pages(&grant.access_token).await.expect("pages");
    let listed = pages
        .iter()
        .find(|p| p.id == page.id)
        .expect("the page is listed");
    assert_eq!(listed.name.as_deref(), Some("Natron Coffee"));

    let publisher = FacebookPublisher::new(w.facebook_config()).expect("adapter");
    let err = publisher
        .advance(
            &grant.access_token,
            &request(&page.id, vec![w.jpeg(600, 400)]),
            &PublishProgress::start(Platform::Facebook),
        )
        .await
        .expect_err("a user token cannot post as the Page");
    assert_eq!(err.class(), ErrorClass::Terminal);
    let (_, end) = drive(
        &publisher,
        &listed.access_token,
        &request(&page.id, vec![w.jpeg(600, 400)]),
        PublishProgress::start(Platform::Facebook),
    )
    .await;
    assert!(matches!(end, End::Done(_)), "{end:?}");

    let refreshed = connector
        .refresh(&grant.access_token)
        .await
        .expect("re-exchanged");
    assert!(
        connector
            .revoke(&refreshed.access_token)
            .await
            .expect("revoked")
    );
    let err = connector
        .pages(&refreshed.access_token)
        .await
        .expect_err("revoked");
    assert_eq!(err.class(), ErrorClass::Auth);
}

#[tokio::test]
async fn a_page_linked_to_instagram_reaches_both_with_the_page_token() {
    let w = default_world().await;
    let page = w.sim.add_facebook_page("Natron Coffee");
    let ig = w.sim.link_instagram_to_page(&page.id, "natron.coffee");
    let connector = FacebookConnector::new(
        app(&[
            "pages_show_list",
            "instagram_basic",
            "instagram_content_publish",
        ]),
        w.sim.facebook_dialog_url("v25.0"),
        w.facebook_config(),
    )
    .expect("connector");
    let callback = consent(&connector.authorize_url("csrf", None).expect("url")).await;
    let grant = connector
        .exchange_code(&callback["code"], None)
        .await
        .expect("tokens");
    let accounts = connector.accounts(&grant).await.expect("accounts");
    let as_page = accounts
        .iter()
        .find(|a| a.platform == Platform::Facebook && a.id == page.id)
        .expect("the Page");
    let as_ig = accounts
        .iter()
        .find(|a| a.platform == Platform::Instagram)
        .expect("the linked Instagram account");
    assert_eq!(as_ig.id, ig.id);
    assert_eq!(as_ig.username.as_deref(), Some("natron.coffee"));
    assert_eq!(as_ig.via_page.as_deref(), Some(page.id.as_str()));
    assert_eq!(
        as_ig.access_token.expose_secret(),
        as_page.access_token.expose_secret(),
        "Instagram through a Page publishes with the Page token"
    );
    assert!(as_page.expires_in.is_none(), "Page tokens do not expire");

    let publisher = InstagramPublisher::new(w.facebook_config()).expect("adapter");
    let (_, end) = drive(
        &publisher,
        &as_ig.access_token,
        &request(&ig.id, vec![w.jpeg(400, 500)]),
        PublishProgress::start(Platform::Instagram),
    )
    .await;
    assert!(matches!(end, End::Done(_)), "{end:?}");
    assert_eq!(w.sim.published(&ig.id).len(), 1);
}

#[tokio::test]
async fn a_declined_consent_comes_back_as_access_denied() {
    use natronfx_platforms::Callback;
    use natronfx_sim::Network;
    let w = default_world().await;
    let connector = tiktok_connector(&w);
    w.sim.deny_next_consent(Network::Tiktok);
    let pkce = Pkce::new("v".repeat(43)).expect("verifier");
    let url = connector.authorize_url("csrf-d", Some(&pkce)).expect("url");
    let callback = consent(&url).await;
    assert_eq!(callback["error"], "access_denied");
    assert_eq!(callback["state"], "csrf-d");
    assert!(!callback.contains_key("code"));
    // Only the next visitor declines.
    let again = consent(&url).await;
    assert!(again.contains_key("code"));

    w.sim.deny_next_consent(Network::Facebook);
    let facebook = FacebookConnector::new(
        app(&["pages_show_list"]),
        w.sim.facebook_dialog_url("v25.0"),
        w.facebook_config(),
    )
    .expect("connector");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let location = client
        .get(facebook.authorize_url("csrf-f", None).expect("url"))
        .send()
        .await
        .expect("dialog")
        .headers()["location"]
        .to_str()
        .expect("text")
        .to_owned();
    let parsed = Callback::parse(&location).expect("a refusal");
    let error = parsed.error.expect("error");
    assert!(error.denied_by_user());
    assert_eq!(parsed.state.as_deref(), Some("csrf-f"));
}

#[tokio::test]
async fn token_endpoint_faults_and_issued_secrets() {
    use natronfx_sim::{Endpoint, Fault};
    let w = default_world().await;
    let connector = tiktok_connector(&w);
    let pkce = Pkce::new("w".repeat(43)).expect("verifier");
    let callback = consent(&connector.authorize_url("s", Some(&pkce)).expect("url")).await;
    let grant = connector
        .exchange_code(&callback["code"], Some(&pkce))
        .await
        .expect("tokens");
    let refresh = grant.refresh_token.clone().expect("refresh token");
    let issued = w.sim.issued_secrets();
    assert!(issued.contains(&grant.access_token.expose_secret().to_owned()));
    assert!(issued.contains(&refresh.expose_secret().to_owned()));

    w.sim.push_fault(
        Endpoint::TiktokOAuthToken,
        Fault::ServerError { status: 503 },
    );
    let err = connector
        .refresh(&refresh)
        .await
        .expect_err("a server error");
    assert_eq!(err.class(), ErrorClass::Retryable);
    w.sim
        .push_fault(Endpoint::TiktokOAuthToken, Fault::ExpiredToken);
    let err = connector.refresh(&refresh).await.expect_err("refused");
    assert_eq!(err.class(), ErrorClass::Auth);
    // Faults do not consume the refresh token: it still works afterwards.
    let fresh = connector.refresh(&refresh).await.expect("refreshed");
    assert_eq!(w.sim.calls(Endpoint::TiktokOAuthToken), 4);
    let rotated = fresh.refresh_token.expect("a new refresh token");
    assert!(
        w.sim
            .issued_secrets()
            .contains(&rotated.expose_secret().to_owned())
    );
    assert!(
        w.sim
            .issued_secrets()
            .contains(&refresh.expose_secret().to_owned()),
        "rotated refresh tokens stay listed"
    );
}
