//! OAuth connectors: authorization URL, code exchange, refresh and revoke for each platform.
//!
//! TikTok (Login Kit v2): form-encoded token endpoint with a flat JSON answer; failure is the presence of an
//! `error` key whatever the HTTP status; PKCE challenge is the lower-case **hex** SHA-256 of the verifier.
//! Instagram Login: short-lived token from `api.instagram.com` (wrapped in `data[]` or flat), exchanged for
//! a 60-day token on `graph.instagram.com`, refreshed with `ig_refresh_token`. Facebook Login: code →
//! short-lived user token → `fb_exchange_token` long-lived token → Page tokens from `/me/accounts`.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::graph::{self, GraphConfig};
use crate::http::{self, CallKind, Raw, id_text};
use crate::{ErrorClass, ErrorDetail, Platform, PlatformError, Result};

/// The app registered with a platform.
#[derive(Debug, Clone)]
pub struct OAuthApp {
    /// TikTok `client_key`, Meta app id.
    pub client_id: String,
    /// The app secret (never sent from a browser).
    pub client_secret: SecretString,
    /// The registered redirect URI, sent identically at authorize and token time.
    pub redirect_uri: String,
    /// Scopes to request.
    pub scopes: Vec<String>,
}

/// Tokens obtained from a platform. `Debug` never shows the secrets.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    /// The access token.
    pub access_token: SecretString,
    /// Its lifetime, when the platform says (Page tokens from long-lived user tokens have none).
    pub expires_in: Option<Duration>,
    /// TikTok's refresh token (Meta has none: the long-lived access token is refreshed itself).
    pub refresh_token: Option<SecretString>,
    /// The refresh token's lifetime.
    pub refresh_expires_in: Option<Duration>,
    /// The account the token belongs to (TikTok `open_id`, Instagram `user_id`), when given.
    pub account_id: Option<String>,
    /// Scopes actually granted.
    pub scopes: Vec<String>,
}

/// A PKCE verifier (43–128 characters of `[A-Za-z0-9-._~]`).
#[derive(Debug, Clone)]
pub struct Pkce {
    verifier: SecretString,
}

impl Pkce {
    /// Wrap a verifier, checking its length and alphabet.
    pub fn new(verifier: impl Into<String>) -> Result<Self> {
        let verifier = verifier.into();
        let ok_len = (43..=128).contains(&verifier.len());
        let ok_chars = verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if !(ok_len && ok_chars) {
            return Err(PlatformError::invalid(
                "pkce-verifier-invalid",
                "a PKCE verifier needs 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' or '~'",
            ));
        }
        Ok(Self {
            verifier: SecretString::from(verifier),
        })
    }

    /// The verifier, sent at token time.
    pub fn verifier(&self) -> &SecretString {
        &self.verifier
    }

    /// TikTok's challenge: lower-case hex of SHA-256 (not base64url as in RFC 7636).
    pub fn tiktok_challenge(&self) -> String {
        hex::encode(Sha256::digest(self.verifier.expose_secret().as_bytes()))
    }
}

/// Connects accounts: the browser redirect, then server-side token calls.
#[async_trait]
pub trait Connector: Send + Sync + std::fmt::Debug {
    /// The platform.
    fn platform(&self) -> Platform;

    /// Where to send the user's browser.
    fn authorize_url(&self, state: &str, pkce: Option<&Pkce>) -> Result<String>;

    /// Trade the callback's `code` for tokens.
    async fn exchange_code(&self, code: &str, pkce: Option<&Pkce>) -> Result<TokenGrant>;

    /// Get fresh tokens: TikTok takes the refresh token, Meta the current long-lived access token.
    async fn refresh(&self, refresh: &SecretString) -> Result<TokenGrant>;

    /// Revoke an access token; `false` when the platform has no revoke call.
    async fn revoke(&self, access_token: &SecretString) -> Result<bool>;
}

fn secs(value: Option<&Value>) -> Option<Duration> {
    value.and_then(Value::as_u64).map(Duration::from_secs)
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn scope_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn unreadable(platform: Platform, raw: &Raw) -> PlatformError {
    let detail = ErrorDetail {
        http_status: Some(raw.status),
        ..ErrorDetail::new(platform, "the token response could not be read")
    };
    let class = if raw.status >= 500 {
        ErrorClass::Retryable
    } else {
        ErrorClass::Terminal
    };
    PlatformError::classified(class, detail, None)
}

fn with_query(base: &str, params: &[(&str, &str)]) -> Result<String> {
    reqwest::Url::parse_with_params(base, params)
        .map(String::from)
        .map_err(|e| PlatformError::Config(format!("invalid authorize URL {base}: {e}")))
}

// ---------------------------------------------------------------------------------------------- TikTok

/// Hosts of TikTok Login Kit.
#[derive(Debug, Clone)]
pub struct TiktokOAuthConfig {
    /// Browser authorize page, `https://www.tiktok.com/v2/auth/authorize/`.
    pub authorize_url: String,
    /// API host, `https://open.tiktokapis.com`.
    pub api_base: String,
    /// Timeout of each call.
    pub timeout: Duration,
}

impl Default for TiktokOAuthConfig {
    fn default() -> Self {
        Self {
            authorize_url: "https://www.tiktok.com/v2/auth/authorize/".into(),
            api_base: "https://open.tiktokapis.com".into(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// TikTok Login Kit v2.
#[derive(Debug)]
pub struct TiktokConnector {
    app: OAuthApp,
    config: TiktokOAuthConfig,
    client: reqwest::Client,
}

impl TiktokConnector {
    /// Build the connector.
    pub fn new(app: OAuthApp, config: TiktokOAuthConfig) -> Result<Self> {
        let client = http::client(config.timeout, config.timeout)?;
        Ok(Self {
            app,
            config,
            client,
        })
    }

    async fn token_call(&self, path: &str, form: &[(&str, &str)]) -> Result<Raw> {
        let url = format!("{}{path}", self.config.api_base.trim_end_matches('/'));
        let request = self
            .client
            .post(url)
            .header(reqwest::header::CACHE_CONTROL, "no-cache")
            .form(form);
        http::send(Platform::Tiktok, CallKind::Read, request).await
    }

    fn grant(raw: &Raw) -> Result<TokenGrant> {
        let body: Value =
            serde_json::from_slice(&raw.body).map_err(|_| unreadable(Platform::Tiktok, raw))?;
        tiktok_oauth_error(raw, &body)?;
        let access =
            text(body.get("access_token")).ok_or_else(|| unreadable(Platform::Tiktok, raw))?;
        Ok(TokenGrant {
            access_token: SecretString::from(access),
            expires_in: secs(body.get("expires_in")),
            refresh_token: text(body.get("refresh_token")).map(SecretString::from),
            refresh_expires_in: secs(body.get("refresh_expires_in")),
            account_id: text(body.get("open_id")),
            scopes: scope_list(body.get("scope")),
        })
    }
}

/// TikTok OAuth failures are flat `{"error": "...", "error_description": "...", "log_id": "..."}`, detected
/// by the key, not by the HTTP status.
fn tiktok_oauth_error(raw: &Raw, body: &Value) -> Result<()> {
    let Some(code) = body
        .get("error")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty() && *c != "ok")
    else {
        if raw.status >= 400 {
            return Err(unreadable(Platform::Tiktok, raw));
        }
        return Ok(());
    };
    let class = match code {
        "invalid_grant" => ErrorClass::Auth,
        "server_error" | "temporarily_unavailable" => ErrorClass::Retryable,
        _ if raw.status == 429 => ErrorClass::RateLimited,
        _ => ErrorClass::Terminal,
    };
    let detail = ErrorDetail {
        platform: Some(Platform::Tiktok),
        http_status: Some(raw.status),
        code: Some(code.to_owned()),
        message: text(body.get("error_description")).unwrap_or_default(),
        trace_id: text(body.get("log_id")),
        ..ErrorDetail::default()
    };
    Err(PlatformError::classified(
        class,
        detail,
        http::retry_after(&raw.headers),
    ))
}

#[async_trait]
impl Connector for TiktokConnector {
    fn platform(&self) -> Platform {
        Platform::Tiktok
    }

    fn authorize_url(&self, state: &str, pkce: Option<&Pkce>) -> Result<String> {
        let scope = self.app.scopes.join(",");
        let challenge = pkce.map(Pkce::tiktok_challenge);
        let mut params = vec![
            ("client_key", self.app.client_id.as_str()),
            ("scope", scope.as_str()),
            ("redirect_uri", self.app.redirect_uri.as_str()),
            ("state", state),
            ("response_type", "code"),
        ];
        if let Some(challenge) = &challenge {
            params.push(("code_challenge", challenge.as_str()));
            params.push(("code_challenge_method", "S256"));
        }
        with_query(&self.config.authorize_url, &params)
    }

    async fn exchange_code(&self, code: &str, pkce: Option<&Pkce>) -> Result<TokenGrant> {
        let secret = self.app.client_secret.expose_secret();
        let mut form = vec![
            ("client_key", self.app.client_id.as_str()),
            ("client_secret", secret),
            ("code", code),
            ("grant_type", "authorization_code"),
            ("redirect_uri", self.app.redirect_uri.as_str()),
        ];
        if let Some(pkce) = pkce {
            form.push(("code_verifier", pkce.verifier().expose_secret()));
        }
        let raw = self.token_call("/v2/oauth/token/", &form).await?;
        Self::grant(&raw)
    }

    async fn refresh(&self, refresh: &SecretString) -> Result<TokenGrant> {
        let form = [
            ("client_key", self.app.client_id.as_str()),
            ("client_secret", self.app.client_secret.expose_secret()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose_secret()),
        ];
        let raw = self.token_call("/v2/oauth/token/", &form).await?;
        Self::grant(&raw)
    }

    async fn revoke(&self, access_token: &SecretString) -> Result<bool> {
        let form = [
            ("client_key", self.app.client_id.as_str()),
            ("client_secret", self.app.client_secret.expose_secret()),
            ("token", access_token.expose_secret()),
        ];
        let raw = self.token_call("/v2/oauth/revoke/", &form).await?;
        // Success is an empty body.
        if let Ok(body) = serde_json::from_slice::<Value>(&raw.body) {
            tiktok_oauth_error(&raw, &body)?;
        } else if raw.status >= 400 {
            return Err(unreadable(Platform::Tiktok, &raw));
        }
        Ok(true)
    }
}

// ---------------------------------------------------------------------------------------------- Instagram

/// Hosts of Instagram Business Login.
#[derive(Debug, Clone)]
pub struct InstagramOAuthConfig {
    /// Browser authorize page, `https://www.instagram.com/oauth/authorize`.
    pub authorize_url: String,
    /// Short-lived token host, `https://api.instagram.com`.
    pub api_base: String,
    /// Long-lived token host, `https://graph.instagram.com`.
    pub graph_base: String,
    /// Timeout of each call.
    pub timeout: Duration,
}

impl Default for InstagramOAuthConfig {
    fn default() -> Self {
        Self {
            authorize_url: "https://www.instagram.com/oauth/authorize".into(),
            api_base: "https://api.instagram.com".into(),
            graph_base: "https://graph.instagram.com".into(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Instagram API with Instagram Login.
#[derive(Debug)]
pub struct InstagramConnector {
    app: OAuthApp,
    config: InstagramOAuthConfig,
    client: reqwest::Client,
}

#[derive(Debug, Deserialize)]
struct LongLived {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl InstagramConnector {
    /// Build the connector.
    pub fn new(app: OAuthApp, config: InstagramOAuthConfig) -> Result<Self> {
        let client = http::client(config.timeout, config.timeout)?;
        Ok(Self {
            app,
            config,
            client,
        })
    }

    async fn long_lived(&self, path: &str, query: &[(&str, &str)]) -> Result<LongLived> {
        let url = format!("{}/{path}", self.config.graph_base.trim_end_matches('/'));
        let raw = http::send(
            Platform::Instagram,
            CallKind::Read,
            self.client.get(url).query(query),
        )
        .await?;
        graph::decode(Platform::Instagram, &raw, CallKind::Read)
    }
}

/// `api.instagram.com` answers `{"error_type": "OAuthException", "code": 400, "error_message": "..."}`.
fn instagram_api_error(raw: &Raw, body: &Value) -> Option<PlatformError> {
    let message = text(body.get("error_message"))?;
    let detail = ErrorDetail {
        platform: Some(Platform::Instagram),
        http_status: Some(raw.status),
        code: text(body.get("code")).or_else(|| text(body.get("error_type"))),
        message,
        ..ErrorDetail::default()
    };
    let class = if raw.status >= 500 {
        ErrorClass::Retryable
    } else {
        ErrorClass::Auth
    };
    Some(PlatformError::classified(class, detail, None))
}

#[async_trait]
impl Connector for InstagramConnector {
    fn platform(&self) -> Platform {
        Platform::Instagram
    }

    fn authorize_url(&self, state: &str, _pkce: Option<&Pkce>) -> Result<String> {
        let scope = self.app.scopes.join(",");
        with_query(
            &self.config.authorize_url,
            &[
                ("client_id", self.app.client_id.as_str()),
                ("redirect_uri", self.app.redirect_uri.as_str()),
                ("response_type", "code"),
                ("scope", scope.as_str()),
                ("state", state),
            ],
        )
    }

    async fn exchange_code(&self, code: &str, _pkce: Option<&Pkce>) -> Result<TokenGrant> {
        // The redirect appends `#_` to the code; it is not part of it.
        let code = code.trim_end_matches("#_");
        let url = format!(
            "{}/oauth/access_token",
            self.config.api_base.trim_end_matches('/')
        );
        let form = [
            ("client_id", self.app.client_id.as_str()),
            ("client_secret", self.app.client_secret.expose_secret()),
            ("grant_type", "authorization_code"),
            ("redirect_uri", self.app.redirect_uri.as_str()),
            ("code", code),
        ];
        let raw = http::send(
            Platform::Instagram,
            CallKind::Read,
            self.client.post(url).form(&form),
        )
        .await?;
        let body: Value =
            serde_json::from_slice(&raw.body).map_err(|_| unreadable(Platform::Instagram, &raw))?;
        if let Some(err) = instagram_api_error(&raw, &body) {
            return Err(err);
        }
        if body.get("error").is_some() || raw.status >= 400 {
            return graph::decode::<Value>(Platform::Instagram, &raw, CallKind::Read)
                .and_then(|_| Err(unreadable(Platform::Instagram, &raw)));
        }
        // Documented wrapped in `data[]`; a flat object was also observed.
        let short = body.get("data").and_then(|d| d.get(0)).unwrap_or(&body);
        let short_token =
            text(short.get("access_token")).ok_or_else(|| unreadable(Platform::Instagram, &raw))?;
        let account_id = text(short.get("user_id"));
        let scopes = scope_list(short.get("permissions"));
        let long = self
            .long_lived(
                "access_token",
                &[
                    ("grant_type", "ig_exchange_token"),
                    ("client_secret", self.app.client_secret.expose_secret()),
                    ("access_token", short_token.as_str()),
                ],
            )
            .await?;
        Ok(TokenGrant {
            access_token: SecretString::from(long.access_token),
            expires_in: long.expires_in.map(Duration::from_secs),
            refresh_token: None,
            refresh_expires_in: None,
            account_id,
            scopes,
        })
    }

    async fn refresh(&self, refresh: &SecretString) -> Result<TokenGrant> {
        let long = self
            .long_lived(
                "refresh_access_token",
                &[
                    ("grant_type", "ig_refresh_token"),
                    ("access_token", refresh.expose_secret()),
                ],
            )
            .await?;
        Ok(TokenGrant {
            access_token: SecretString::from(long.access_token),
            expires_in: long.expires_in.map(Duration::from_secs),
            refresh_token: None,
            refresh_expires_in: None,
            account_id: None,
            scopes: Vec::new(),
        })
    }

    async fn revoke(&self, _access_token: &SecretString) -> Result<bool> {
        // Instagram Login has no revoke call; the user removes the app in Instagram's settings.
        Ok(false)
    }
}

// ---------------------------------------------------------------------------------------------- Facebook

/// A Page the user manages, with its Page token.
#[derive(Debug, Clone)]
pub struct PageGrant {
    /// Page id.
    pub id: String,
    /// Page name.
    pub name: Option<String>,
    /// Page access token (no expiry when obtained from a long-lived user token).
    pub access_token: SecretString,
}

/// Facebook Login for Business (Pages, and Instagram through a Page).
#[derive(Debug)]
pub struct FacebookConnector {
    app: OAuthApp,
    dialog_url: String,
    graph: GraphConfig,
    client: reqwest::Client,
}

#[derive(Debug, Deserialize)]
struct Accounts {
    #[serde(default)]
    data: Vec<AccountEntry>,
}

#[derive(Debug, Deserialize)]
struct AccountEntry {
    #[serde(deserialize_with = "id_text::one")]
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

impl FacebookConnector {
    /// Build the connector; `dialog_url` is `https://www.facebook.com/{version}/dialog/oauth` in production.
    pub fn new(app: OAuthApp, dialog_url: impl Into<String>, graph: GraphConfig) -> Result<Self> {
        let client = http::client(graph.timeout, graph.connect_timeout)?;
        Ok(Self {
            app,
            dialog_url: dialog_url.into(),
            graph,
            client,
        })
    }

    async fn token(&self, query: &[(&str, &str)]) -> Result<LongLived> {
        let raw = http::send(
            Platform::Facebook,
            CallKind::Read,
            self.client
                .get(self.graph.url("oauth/access_token"))
                .query(query),
        )
        .await?;
        graph::decode(Platform::Facebook, &raw, CallKind::Read)
    }

    async fn exchange_long_lived(&self, token: &str) -> Result<TokenGrant> {
        let long = self
            .token(&[
                ("grant_type", "fb_exchange_token"),
                ("client_id", self.app.client_id.as_str()),
                ("client_secret", self.app.client_secret.expose_secret()),
                ("fb_exchange_token", token),
            ])
            .await?;
        Ok(TokenGrant {
            access_token: SecretString::from(long.access_token),
            expires_in: long.expires_in.map(Duration::from_secs),
            refresh_token: None,
            refresh_expires_in: None,
            account_id: None,
            scopes: Vec::new(),
        })
    }

    /// The Pages the user manages, with Page tokens (`GET /me/accounts`).
    pub async fn pages(&self, user_token: &SecretString) -> Result<Vec<PageGrant>> {
        let request = http::with_auth(
            self.client
                .get(self.graph.url("me/accounts"))
                .query(&[("fields", "id,name,access_token")]),
            user_token,
        )?;
        let raw = http::send(Platform::Facebook, CallKind::Read, request).await?;
        let accounts: Accounts = graph::decode(Platform::Facebook, &raw, CallKind::Read)?;
        Ok(accounts
            .data
            .into_iter()
            .filter_map(|a| {
                let token = a.access_token?;
                Some(PageGrant {
                    id: a.id,
                    name: a.name,
                    access_token: SecretString::from(token),
                })
            })
            .collect())
    }
}

#[async_trait]
impl Connector for FacebookConnector {
    fn platform(&self) -> Platform {
        Platform::Facebook
    }

    fn authorize_url(&self, state: &str, _pkce: Option<&Pkce>) -> Result<String> {
        let scope = self.app.scopes.join(",");
        with_query(
            &self.dialog_url,
            &[
                ("client_id", self.app.client_id.as_str()),
                ("redirect_uri", self.app.redirect_uri.as_str()),
                ("state", state),
                ("scope", scope.as_str()),
                ("response_type", "code"),
            ],
        )
    }

    async fn exchange_code(&self, code: &str, _pkce: Option<&Pkce>) -> Result<TokenGrant> {
        let short = self
            .token(&[
                ("client_id", self.app.client_id.as_str()),
                ("redirect_uri", self.app.redirect_uri.as_str()),
                ("client_secret", self.app.client_secret.expose_secret()),
                ("code", code),
            ])
            .await?;
        self.exchange_long_lived(&short.access_token).await
    }

    async fn refresh(&self, refresh: &SecretString) -> Result<TokenGrant> {
        // There is no refresh grant: exchanging the long-lived token again gives a fresh one.
        self.exchange_long_lived(refresh.expose_secret()).await
    }

    async fn revoke(&self, access_token: &SecretString) -> Result<bool> {
        let request = http::with_auth(
            self.client.delete(self.graph.url("me/permissions")),
            access_token,
        )?;
        let raw = http::send(Platform::Facebook, CallKind::Read, request).await?;
        let body: Value = graph::decode(Platform::Facebook, &raw, CallKind::Read)?;
        Ok(body.get("success").and_then(Value::as_bool).unwrap_or(true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tiktok_challenge_is_hex_not_base64url() {
        let pkce =
            Pkce::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").expect("valid verifier");
        let challenge = pkce.tiktok_challenge();
        assert_eq!(challenge.len(), 64);
        assert!(
            challenge
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        // The RFC 7636 example verifier; its base64url challenge is E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM.
        assert_eq!(
            challenge,
            "13d31e961a1ad8ec2f16b10c4c982e0876a878ad6df144566ee1894acb70f9c3"
        );
        assert!(Pkce::new("short").is_err());
    }

    #[test]
    fn token_grants_hide_their_secrets_in_debug() {
        let grant = TokenGrant {
            access_token: SecretString::from("act.very-secret"),
            expires_in: None,
            refresh_token: Some(SecretString::from("rft.very-secret")),
            refresh_expires_in: None,
            account_id: None,
            scopes: vec![],
        };
        assert!(!format!("{grant:?}").contains("very-secret"));
    }
}
