//! Connected accounts over HTTP against the simulator's OAuth: connect through the API and through the
//! dashboard's callback, the state's single use, refresh, disconnect with every stored secret deleted,
//! no token in any answer, and token refreshes counted in `/metrics`.

use std::collections::BTreeMap;
use std::sync::Arc;

use natronfx_service::accounts::ACCESS_TOKEN;
use natronfx_service::store::CredentialStore;
use natronfx_service::testing::TestApp;
use natronfx_service::workflow::{AccountId, AuditAction};
use natronfx_service::{AccountsConfig, AppsConfig};
use natronfx_sim::{SimConfig, SimHandle, Simulator};
use natronfx_vault::{KeyMaterial, Keyring, Vault};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::Running;
use crate::web::Page;

both!(app: accounts_connect_refresh_and_disconnect_over_the_api_and_the_dashboard);

const CALLBACK: &str = "https://publisher.example.com/accounts/callback";

fn apps(sim: &SimHandle) -> AppsConfig {
    let url = |path: &str| format!("http://{}/{path}", sim.addr());
    let mut apps = AppsConfig::default();
    let secret = || Some(SecretString::from("sim-secret"));
    apps.tiktok.client_key = "sim-client".into();
    apps.tiktok.client_secret = secret();
    apps.tiktok.redirect_uri = CALLBACK.into();
    apps.tiktok.authorize_url = url("tiktok-www/v2/auth/authorize/");
    apps.tiktok.api_base_url = url("tiktok");
    apps.instagram.client_id = "sim-client".into();
    apps.instagram.client_secret = secret();
    apps.instagram.redirect_uri = CALLBACK.into();
    apps.instagram.authorize_url = url("instagram-www/oauth/authorize");
    apps.instagram.api_base_url = url("instagram-api");
    apps.instagram.graph_base_url = url("instagram");
    apps
}

/// The server over a service with the vault and apps that talk to `sim`.
async fn serve(mut app: TestApp, sim: &SimHandle) -> Running {
    let keys = BTreeMap::from([(1, KeyMaterial::generate().expect("key"))]);
    let store: Arc<dyn CredentialStore> = app.service.store().clone();
    let vault = Vault::new(store, Keyring::new(1, keys).expect("keyring"));
    app.service = app
        .service
        .clone()
        .with_apps(apps(sim), AccountsConfig::default())
        .with_vault(vault);
    crate::spawn_on(app).await
}

/// Opens the consent screen as a browser would; answers where it sends the browser back.
async fn consent(s: &Running, url: &str) -> String {
    let resp = s.client.get(url).send().await.expect("consent page");
    assert_eq!(resp.status().as_u16(), 302, "{url}");
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(CALLBACK), "{location}");
    location
}

fn assert_no_secret(sim: &SimHandle, text: &str) {
    for secret in sim.issued_secrets() {
        assert!(!text.contains(&secret), "a token leaked into an answer");
    }
}

async fn accounts_connect_refresh_and_disconnect_over_the_api_and_the_dashboard(app: TestApp) {
    let sim = Simulator::start(SimConfig::default())
        .await
        .expect("simulator");
    let s = serve(app, &sim).await;
    let admin = s.token(&s.app.admin).await;
    let editor = s.token(&s.app.editor).await;

    // Only admins connect accounts.
    let (status, body) = s
        .call(
            "POST",
            "/api/v1/accounts/connect",
            Some(&editor),
            Some(json!({"platform": "tiktok"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("permission-denied"))
    );

    // Through the API: start, consent, callback.
    let (status, start) = s
        .call(
            "POST",
            "/api/v1/accounts/connect",
            Some(&admin),
            Some(json!({"platform": "tiktok"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{start}");
    assert_eq!(start["redirect_uri"], CALLBACK);
    let back = consent(&s, start["authorize_url"].as_str().unwrap()).await;
    let (status, connected) = s
        .call(
            "POST",
            "/api/v1/accounts/callback",
            Some(&admin),
            Some(json!({"callback": back})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{connected}");
    let account = &connected["items"][0];
    assert_eq!(account["platform"], "tiktok");
    assert_eq!(account["status"], "connected");
    assert_eq!(account["refreshable"], true);
    assert_no_secret(&sim, &connected.to_string());
    let id = account["id"].as_str().unwrap().to_owned();
    // The state was used up.
    let (status, body) = s
        .call(
            "POST",
            "/api/v1/accounts/callback",
            Some(&admin),
            Some(json!({"callback": back})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("oauth-state-used"))
    );

    let (status, one) = s
        .call(
            "GET",
            &format!("/api/v1/accounts/{id}"),
            Some(&editor),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert!(one["access_expires_at"].is_string(), "{one}");
    let (status, refreshed) = s
        .call(
            "POST",
            &format!("/api/v1/accounts/{id}/refresh"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(refreshed["refreshed"], true, "{refreshed}");
    assert_no_secret(&sim, &refreshed.to_string());
    let metrics = s
        .client
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("natronfx_token_refreshes_total{platform=\"tiktok\",outcome=\"ok\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("natronfx_publish_queue_depth{state=\"due\"} 0"),
        "{metrics}"
    );

    // Through the dashboard: the form starts it, the platform sends the browser back to the callback.
    let page = Page::login(&s, "admin@example.com").await;
    let (status, html) = page.get("/accounts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("action=\"/accounts/connect/instagram\""),
        "{html}"
    );
    let (status, to) = page
        .post("/accounts/connect/instagram", &[], Some(page.csrf()))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
    let back = consent(&s, &to).await;
    let query = back.split_once('?').unwrap().1;
    let (status, to) = page
        .get_location(&format!("/accounts/callback?{query}"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(to.starts_with("/accounts?notice=Connected"), "{to}");
    let (_, html) = page.get("/accounts").await;
    assert!(html.contains("instagram"), "{html}");
    assert_no_secret(&sim, &html);
    // A callback whose state this person did not start connects nothing.
    let (_, to) = page
        .get_location("/accounts/callback?code=c&state=never-issued")
        .await;
    assert!(to.starts_with("/accounts?error="), "{to}");

    // Disconnecting from the dashboard deletes every stored secret and says so in the audit log.
    let account: AccountId = id.parse().unwrap();
    let store = s.app.service.store().clone();
    assert!(store.credential(account, ACCESS_TOKEN).await.is_ok());
    let (status, to) = page
        .post(
            &format!("/accounts/{id}/disconnect"),
            &[("purge", "1")],
            Some(page.csrf()),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(to.contains("notice=Disconnected"), "{to}");
    assert!(
        store.credentials_of(account).await.unwrap().is_empty(),
        "no secret of the account remains"
    );
    let actions: Vec<AuditAction> = store
        .audit_for("account", &id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.action)
        .collect();
    assert!(
        actions.contains(&AuditAction::AccountDisconnected),
        "{actions:?}"
    );
    let (_, one) = s
        .call("GET", &format!("/api/v1/accounts/{id}"), Some(&admin), None)
        .await;
    assert_eq!(one["status"], "disconnected", "{one}");
    // The API's disconnect answers what it did.
    let ig = s
        .app
        .service
        .connected_accounts(&s.app.admin)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.platform == natronfx_service::workflow::Platform::Instagram && !a.sandbox)
        .unwrap();
    let (status, gone): (StatusCode, Value) = s
        .call(
            "POST",
            &format!("/api/v1/accounts/{}/disconnect", ig.id),
            Some(&admin),
            Some(json!({"purge": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{gone}");
    assert!(gone["credentials_deleted"].as_u64().unwrap() >= 1, "{gone}");
    assert_eq!(gone["account"]["status"], "disconnected");
}
