//! OAuth connectors: authorization URL, code exchange, refresh and revoke for each platform.
//!
//! TikTok (Login Kit v2): form-encoded token endpoint with a flat JSON answer; failure is the presence of an
//! `error` key whatever the HTTP status; PKCE challenge is the lower-case **hex** SHA-256 of the verifier.
//! Instagram Login: short-lived token from `api.instagram.com` (wrapped in `data[]` or flat), exchanged for
//! a 60-day token on `graph.instagram.com`, refreshed with `ig_refresh_token`. Facebook Login: code →
//! short-lived user token → `fb_exchange_token` long-lived token → Page tokens from `/me/accounts`, and
//! the Instagram professional account linked to each Page (`instagram_business_account`).
//!
//! After the exchange, [`Connector::accounts`] says which accounts the grant reaches and with which
//! token, and [`Connector::refresh_kind`] how those tokens stay fresh. [`Callback::parse`] reads what the
//! platform appended to the redirect URI: a code, or a refusal.

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

/// One account a grant reaches, with the token that acts on it.
#[derive(Debug, Clone)]
pub struct GrantedAccount {
    /// Where the account lives (an Instagram account reached through a Facebook Page is `Instagram`).
    pub platform: Platform,
    /// The platform's id for it: TikTok `open_id`, Instagram professional account id, Page id.
    pub id: String,
    /// The handle, when the platform has one.
    pub username: Option<String>,
    /// The name to show.
    pub display_name: Option<String>,
    /// The token that publishes to it (a Page token for Pages and for Instagram through a Page).
    pub access_token: SecretString,
    /// Its lifetime, when it has one.
    pub expires_in: Option<Duration>,
    /// The refresh token (TikTok).
    pub refresh_token: Option<SecretString>,
    /// The refresh token's lifetime.
    pub refresh_expires_in: Option<Duration>,
    /// Scopes granted, when the platform says.
    pub scopes: Vec<String>,
    /// The Facebook Page an Instagram account was reached through (its token is the Page's).
    pub via_page: Option<String>,
}

/// How the tokens of a connector's accounts stay fresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshKind {
    /// A separate refresh token buys a new access token (and maybe a new refresh token): TikTok.
    RefreshToken,
    /// The access token itself is exchanged for a fresh one once it is at least `min_age` old and has not
    /// expired: Instagram Login's long-lived tokens.
    AccessToken {
        /// How old a token must be before the platform refreshes it.
        min_age: Duration,
    },
    /// Nothing to refresh: Page tokens from a long-lived user token do not expire; a refused one needs a
    /// new login.
    None,
}

/// What a platform appended to the redirect URI when it sent the browser back.
#[derive(Debug, Clone)]
pub struct Callback {
    /// The `state` echoed back.
    pub state: Option<String>,
    /// The authorization code, when the user agreed (single-use, short-lived: a secret).
    pub code: Option<SecretString>,
    /// Scopes granted, when the platform lists them here (TikTok `scopes`).
    pub scopes: Vec<String>,
    /// The refusal, when the user declined or the platform refused.
    pub error: Option<CallbackError>,
}

/// A refusal on the redirect: `error`, `error_reason` and `error_description`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackError {
    /// `access_denied` when the user declined.
    pub error: String,
    /// Meta's `error_reason` (`user_denied`).
    pub reason: Option<String>,
    /// The platform's description.
    pub description: Option<String>,
}

impl CallbackError {
    /// Whether the user declined on the consent screen (rather than the platform refusing the request).
    pub fn denied_by_user(&self) -> bool {
        self.error == "access_denied" || self.reason.as_deref() == Some("user_denied")
    }
}

impl Callback {
    /// Reads a redirect: a whole URL (`https://host/callback?code=…&state=…#_`) or only its query
    /// (`code=…&state=…`, with or without the leading `?`). Instagram's `#_` and Facebook's `#_=_`
    /// fragments are ignored.
    pub fn parse(text: &str) -> Result<Callback> {
        let text = text.trim();
        let invalid = || {
            PlatformError::invalid(
                "oauth-callback-invalid",
                "this is not the address the platform sent the browser back to: expected a URL with \
                 code and state (or error) in its query",
            )
        };
        let url = if text.contains("://") {
            reqwest::Url::parse(text).map_err(|_| invalid())?
        } else {
            let query = text.trim_start_matches('?');
            let query = query.split('#').next().unwrap_or_default();
            reqwest::Url::parse(&format!("http://callback.invalid/?{query}"))
                .map_err(|_| invalid())?
        };
        let mut callback = Callback {
            state: None,
            code: None,
            scopes: Vec::new(),
            error: None,
        };
        let (mut error, mut reason, mut description) = (None, None, None);
        for (key, value) in url.query_pairs() {
            let value = value.into_owned();
            match key.as_ref() {
                "state" => callback.state = Some(value),
                "code" => {
                    let code = value.trim_end_matches("#_").to_owned();
                    if !code.is_empty() {
                        callback.code = Some(SecretString::from(code));
                    }
                }
                "scopes" | "granted_scopes" => {
                    callback.scopes = scope_list(Some(&Value::String(value)));
                }
                "error" => error = Some(value),
                "error_reason" => reason = Some(value),
                "error_description" => description = Some(value),
                _ => {}
            }
        }
        if let Some(error) = error {
            callback.error = Some(CallbackError {
                error,
                reason,
                description,
            });
            callback.code = None;
        } else if callback.code.is_none() {
            return Err(invalid());
        }
        Ok(callback)
    }
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

    /// How the tokens of the accounts this connector connects stay fresh.
    fn refresh_kind(&self) -> RefreshKind;

    /// The accounts a fresh grant reaches, each with the token that acts on it: the TikTok creator
    /// (`/v2/user/info/`), the Instagram professional account (`/me`), or every Facebook Page the user
    /// manages (`/me/accounts`) and the Instagram account linked to each.
    async fn accounts(&self, grant: &TokenGrant) -> Result<Vec<GrantedAccount>>;
}

fn granted(grant: &TokenGrant, platform: Platform, id: String) -> GrantedAccount {
    GrantedAccount {
        platform,
        id,
        username: None,
        display_name: None,
        access_token: grant.access_token.clone(),
        expires_in: grant.expires_in,
        refresh_token: grant.refresh_token.clone(),
        refresh_expires_in: grant.refresh_expires_in,
        scopes: grant.scopes.clone(),
        via_page: None,
    }
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

    fn refresh_kind(&self) -> RefreshKind {
        RefreshKind::RefreshToken
    }

    async fn accounts(&self, grant: &TokenGrant) -> Result<Vec<GrantedAccount>> {
        let url = format!(
            "{}/v2/user/info/",
            self.config.api_base.trim_end_matches('/')
        );
        let request = http::with_auth(
            self.client
                .get(url)
                .query(&[("fields", "open_id,union_id,avatar_url,display_name")]),
            &grant.access_token,
        )?;
        let raw = http::send(Platform::Tiktok, CallKind::Read, request).await?;
        let data: Value = crate::tiktok::decode(&raw, CallKind::Read)?;
        let user = data.get("user").unwrap_or(&Value::Null);
        let id = text(user.get("open_id"))
            .or_else(|| grant.account_id.clone())
            .ok_or_else(|| unreadable(Platform::Tiktok, &raw))?;
        let mut account = granted(grant, Platform::Tiktok, id);
        account.username = text(user.get("username"));
        account.display_name = text(user.get("display_name"));
        Ok(vec![account])
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
    /// Graph API version for `/me`, e.g. `v25.0`.
    pub version: String,
    /// Timeout of each call.
    pub timeout: Duration,
}

impl Default for InstagramOAuthConfig {
    fn default() -> Self {
        Self {
            authorize_url: "https://www.instagram.com/oauth/authorize".into(),
            api_base: "https://api.instagram.com".into(),
            graph_base: "https://graph.instagram.com".into(),
            version: "v25.0".into(),
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

    fn refresh_kind(&self) -> RefreshKind {
        RefreshKind::AccessToken {
            min_age: Duration::from_secs(24 * 3600),
        }
    }

    async fn accounts(&self, grant: &TokenGrant) -> Result<Vec<GrantedAccount>> {
        // `user_id` is the professional account's id, the one publishing calls take.
        let url = format!(
            "{}/{}/me",
            self.config.graph_base.trim_end_matches('/'),
            self.config.version.trim_matches('/')
        );
        let request = http::with_auth(
            self.client
                .get(url)
                .query(&[("fields", "user_id,username,name")]),
            &grant.access_token,
        )?;
        let raw = http::send(Platform::Instagram, CallKind::Read, request).await?;
        let me: Value = graph::decode(Platform::Instagram, &raw, CallKind::Read)?;
        let id = text(me.get("user_id"))
            .or_else(|| grant.account_id.clone())
            .or_else(|| text(me.get("id")))
            .ok_or_else(|| unreadable(Platform::Instagram, &raw))?;
        let mut account = granted(grant, Platform::Instagram, id);
        account.username = text(me.get("username"));
        account.display_name = text(me.get("name"));
        Ok(vec![account])
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

    /// The Instagram professional account linked to a Page (`GET /{page-id}?fields=instagram_business_account`),
    /// as (id, username). `None` when the Page has none.
    pub async fn linked_instagram(
        &self,
        page: &PageGrant,
    ) -> Result<Option<(String, Option<String>)>> {
        let request = http::with_auth(
            self.client
                .get(self.graph.url(&page.id))
                .query(&[("fields", "instagram_business_account{id,username}")]),
            &page.access_token,
        )?;
        let raw = http::send(Platform::Facebook, CallKind::Read, request).await?;
        let body: Value = graph::decode(Platform::Facebook, &raw, CallKind::Read)?;
        let Some(linked) = body.get("instagram_business_account") else {
            return Ok(None);
        };
        Ok(text(linked.get("id")).map(|id| (id, text(linked.get("username")))))
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

    fn refresh_kind(&self) -> RefreshKind {
        RefreshKind::None
    }

    async fn accounts(&self, grant: &TokenGrant) -> Result<Vec<GrantedAccount>> {
        let mut out = Vec::new();
        for page in self.pages(&grant.access_token).await? {
            let mut account = granted(grant, Platform::Facebook, page.id.clone());
            account.display_name = page.name.clone();
            account.access_token = page.access_token.clone();
            // Page tokens from a long-lived user token do not expire; there is nothing to refresh.
            account.expires_in = None;
            account.refresh_token = None;
            account.refresh_expires_in = None;
            let linked = match self.linked_instagram(&page).await {
                Ok(linked) => linked,
                // A Page the token may not read Instagram fields of simply has no usable link.
                Err(e) if e.class() == ErrorClass::Terminal => {
                    tracing::warn!(page = %page.id, code = e.code(), "cannot read the Page's Instagram account");
                    None
                }
                Err(e) => return Err(e),
            };
            out.push(account);
            if let Some((id, username)) = linked {
                let mut ig = granted(grant, Platform::Instagram, id);
                ig.username = username;
                ig.access_token = page.access_token.clone();
                ig.expires_in = None;
                ig.refresh_token = None;
                ig.refresh_expires_in = None;
                ig.via_page = Some(page.id.clone());
                out.push(ig);
            }
        }
        Ok(out)
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
    fn callbacks_are_read_from_urls_or_queries_with_their_fragments_ignored() {
        let cb = Callback::parse(
            "https://app.example.com/cb?code=AQB-1%2F2&state=s-1&scopes=user.info.basic,video.publish#_",
        )
        .expect("a code");
        assert_eq!(cb.state.as_deref(), Some("s-1"));
        assert_eq!(cb.code.as_ref().map(|c| c.expose_secret()), Some("AQB-1/2"));
        assert_eq!(cb.scopes, ["user.info.basic", "video.publish"]);
        assert!(!format!("{cb:?}").contains("AQB-1"), "the code is a secret");

        let cb = Callback::parse("?code=c0de&state=s-2#_=_").expect("a bare query");
        assert_eq!(cb.code.as_ref().map(|c| c.expose_secret()), Some("c0de"));

        let denied = Callback::parse(
            "https://app.example.com/cb?error=access_denied&error_code=200&error_description=Permissions+error&error_reason=user_denied&state=s-3#_=_",
        )
        .expect("a refusal");
        assert!(denied.code.is_none());
        let error = denied.error.expect("error");
        assert!(error.denied_by_user());
        assert_eq!(error.description.as_deref(), Some("Permissions error"));

        let err = Callback::parse("https://app.example.com/cb?state=s-4").expect_err("no code");
        assert_eq!(err.code(), "oauth-callback-invalid");
        assert!(Callback::parse("not a url at all").is_err());
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
