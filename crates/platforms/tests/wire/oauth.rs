//! OAuth connectors: the exact token calls and their failure shapes.

use natronfx_platforms::{
    Connector, ErrorClass, FacebookConnector, GraphConfig, InstagramConnector,
    InstagramOAuthConfig, OAuthApp, Pkce, TiktokConnector, TiktokOAuthConfig,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{SHORT, form};

fn app() -> OAuthApp {
    OAuthApp {
        client_id: "awx123".into(),
        client_secret: SecretString::from("shh-secret"),
        redirect_uri: "https://publisher.example.com/connect/callback".into(),
        scopes: vec!["user.info.basic".into(), "video.publish".into()],
    }
}

fn tiktok(server: &MockServer) -> TiktokConnector {
    TiktokConnector::new(
        app(),
        TiktokOAuthConfig {
            api_base: server.uri(),
            timeout: SHORT,
            ..TiktokOAuthConfig::default()
        },
    )
    .expect("connector")
}

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

#[test]
fn the_tiktok_authorize_url_carries_the_hex_challenge() {
    let server_less = TiktokConnector::new(app(), TiktokOAuthConfig::default()).expect("connector");
    let pkce = Pkce::new(VERIFIER).expect("verifier");
    let url = reqwest::Url::parse(
        &server_less
            .authorize_url("st4te", Some(&pkce))
            .expect("url"),
    )
    .expect("parses");
    assert_eq!(
        url.as_str().split('?').next(),
        Some("https://www.tiktok.com/v2/auth/authorize/")
    );
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["client_key"], "awx123");
    assert_eq!(q["scope"], "user.info.basic,video.publish");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["state"], "st4te");
    assert_eq!(q["code_challenge"], pkce.tiktok_challenge());
    assert_eq!(q["code_challenge_method"], "S256");
}

#[tokio::test]
async fn a_tiktok_code_is_exchanged_with_a_form_and_read_flat() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token/"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "act.example12345Example12345Example", "expires_in": 86400,
            "open_id": "afd97af1-b87b-48b9-ac98-410aghda5344", "refresh_expires_in": 31536000,
            "refresh_token": "rft.example12345Example12345Example", "scope": "user.info.basic,video.publish",
            "token_type": "Bearer"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let pkce = Pkce::new(VERIFIER).expect("verifier");
    let grant = tiktok(&server)
        .exchange_code("code+with/odd=chars", Some(&pkce))
        .await
        .expect("tokens");
    assert_eq!(
        grant.access_token.expose_secret(),
        "act.example12345Example12345Example"
    );
    assert_eq!(
        grant.account_id.as_deref(),
        Some("afd97af1-b87b-48b9-ac98-410aghda5344")
    );
    assert_eq!(
        grant.scopes,
        vec!["user.info.basic".to_owned(), "video.publish".to_owned()]
    );
    assert_eq!(grant.expires_in.map(|d| d.as_secs()), Some(86_400));
    let requests = server.received_requests().await.expect("recording");
    let sent = form(&requests[0]);
    assert_eq!(sent["client_key"], "awx123");
    assert_eq!(sent["client_secret"], "shh-secret");
    assert_eq!(sent["code"], "code+with/odd=chars");
    assert_eq!(sent["grant_type"], "authorization_code");
    assert_eq!(
        sent["redirect_uri"],
        "https://publisher.example.com/connect/callback"
    );
    assert_eq!(sent["code_verifier"], VERIFIER);
}

#[tokio::test]
async fn a_tiktok_oauth_error_with_http_200_is_still_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "error": "invalid_grant", "error_description": "Refresh token is invalid or expired.",
            "log_id": "202206221854370101130062072500FFA2"
        })))
        .mount(&server)
        .await;
    let err = tiktok(&server)
        .refresh(&SecretString::from("rft.old"))
        .await
        .expect_err("refused");
    assert_eq!(err.class(), ErrorClass::Auth);
    assert_eq!(
        err.detail().and_then(|d| d.trace_id.as_deref()),
        Some("202206221854370101130062072500FFA2")
    );
    let sent = form(&server.received_requests().await.expect("recording")[0]);
    assert_eq!(sent["grant_type"], "refresh_token");
    assert_eq!(sent["refresh_token"], "rft.old");
}

#[tokio::test]
async fn a_tiktok_revoke_succeeds_on_an_empty_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth/revoke/"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    assert!(
        tiktok(&server)
            .revoke(&SecretString::from("act.x"))
            .await
            .expect("revoked")
    );
    let sent = form(&server.received_requests().await.expect("recording")[0]);
    assert_eq!(sent["token"], "act.x");
}

#[tokio::test]
async fn an_instagram_code_becomes_a_long_lived_token() {
    let api = MockServer::start().await;
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"access_token": "IGAAshort", "user_id": 17841400000000001_u64, "permissions": "instagram_business_basic,instagram_business_content_publish"}]
        })))
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/access_token"))
        .and(query_param("grant_type", "ig_exchange_token"))
        .and(query_param("client_secret", "shh-secret"))
        .and(query_param("access_token", "IGAAshort"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "IGAAlong", "token_type": "bearer", "expires_in": 5183944}),
        ))
        .expect(1)
        .mount(&graph)
        .await;
    let connector = InstagramConnector::new(
        app(),
        InstagramOAuthConfig {
            api_base: api.uri(),
            graph_base: graph.uri(),
            timeout: SHORT,
            ..InstagramOAuthConfig::default()
        },
    )
    .expect("connector");
    let grant = connector
        .exchange_code("AQBx-code#_", None)
        .await
        .expect("tokens");
    assert_eq!(grant.access_token.expose_secret(), "IGAAlong");
    assert_eq!(grant.account_id.as_deref(), Some("17841400000000001"));
    assert_eq!(grant.expires_in.map(|d| d.as_secs()), Some(5_183_944));
    let sent = form(&api.received_requests().await.expect("recording")[0]);
    assert_eq!(sent["code"], "AQBx-code", "the trailing #_ is stripped");
    assert_eq!(sent["grant_type"], "authorization_code");
}

#[tokio::test]
async fn an_invalid_instagram_code_needs_a_new_login() {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error_type": "OAuthException", "code": 400, "error_message": "Invalid authorization code"
        })))
        .mount(&api)
        .await;
    let connector = InstagramConnector::new(
        app(),
        InstagramOAuthConfig {
            api_base: api.uri(),
            timeout: SHORT,
            ..InstagramOAuthConfig::default()
        },
    )
    .expect("connector");
    let err = connector
        .exchange_code("used", None)
        .await
        .expect_err("refused");
    assert_eq!(err.class(), ErrorClass::Auth);
    assert!(!err.to_string().contains("shh-secret"));
}

#[tokio::test]
async fn facebook_exchanges_twice_then_lists_page_tokens() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .and(query_param("code", "fbcode"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "EAAshort", "token_type": "bearer", "expires_in": 5183}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .and(query_param("grant_type", "fb_exchange_token"))
        .and(query_param("fb_exchange_token", "EAAshort"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "EAAlong", "token_type": "bearer", "expires_in": 5184000}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me/accounts"))
        .and(header("authorization", "Bearer EAAlong"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": "104857600000001", "name": "Natron Coffee", "access_token": "EAApage", "category": "Cafe", "tasks": ["CREATE_CONTENT"]}
        ]})))
        .mount(&server)
        .await;
    let connector = FacebookConnector::new(
        app(),
        "https://www.facebook.com/v25.0/dialog/oauth",
        GraphConfig::with_host(server.uri(), "v25.0"),
    )
    .expect("connector");
    let grant = connector
        .exchange_code("fbcode", None)
        .await
        .expect("tokens");
    assert_eq!(grant.access_token.expose_secret(), "EAAlong");
    let pages = connector.pages(&grant.access_token).await.expect("pages");
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].id, "104857600000001");
    assert_eq!(pages[0].access_token.expose_secret(), "EAApage");
}
