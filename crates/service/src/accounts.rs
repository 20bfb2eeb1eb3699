//! Connected accounts: connecting with each platform's OAuth flow, tokens sealed in the vault, refresh
//! just in time and by a sweep under a per-account lock that holds across processes, and disconnecting.
//!
//! The publishing dispatcher asks for tokens with [`Service::access_token`] and, when a platform answers
//! a publish with `401`/invalid token, calls [`Service::force_refresh`] once with the refused token and
//! retries once; if the retry is refused too it calls [`Service::mark_needs_reconnect`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use natronfx_platforms as platforms;
use natronfx_platforms::{
    Callback, Connector, ErrorClass, GrantedAccount, OAuthApp, Pkce, PlatformError, RefreshKind,
};
use natronfx_store::{Connection, RefreshUpdate, SealedCredential, StateTake};
use natronfx_vault::{CredentialInfo, Secret, Vault};
use natronfx_workflow::{
    Account, AccountId, AccountStatus, Action, AuditAction, AuditEvent, Platform, User, UserId,
    authorize,
};
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{Error, Result, Service};

/// The credential field holding an account's access token.
pub const ACCESS_TOKEN: &str = "access_token";
/// The credential field holding an account's refresh token (TikTok).
pub const REFRESH_TOKEN: &str = "refresh_token";
/// How long an OAuth `state` is accepted after the flow starts.
pub const STATE_LIFETIME_MINUTES: i64 = 10;

mod config;
mod error;

pub use config::{AccountsConfig, AppsConfig, FacebookApp, InstagramApp, TiktokApp};
pub use error::AccountError;

// ------------------------------------------------------------------------------------------ views

/// An account as shown to people and scripts: its connection, never a secret.
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    /// Identity.
    pub id: AccountId,
    /// Its platform.
    pub platform: Platform,
    /// The platform's id for it.
    pub external_id: String,
    /// The name people know it by.
    pub display_name: String,
    /// `connected`, `needs_reconnect` or `disconnected`.
    pub status: AccountStatus,
    /// A rehearsal account backed by the simulator.
    pub sandbox: bool,
    /// Which login issued its credentials (`facebook` for Instagram reached through a Page).
    pub login: Option<Platform>,
    /// Scopes the platform granted.
    pub scopes: Vec<String>,
    /// Who connected it last.
    pub connected_by: Option<UserId>,
    /// When it was first connected.
    pub created_at: DateTime<Utc>,
    /// When it was last connected.
    pub connected_at: Option<DateTime<Utc>>,
    /// When the access token expires (`None`: never, or no token).
    pub access_expires_at: Option<DateTime<Utc>>,
    /// When the refresh token expires.
    pub refresh_expires_at: Option<DateTime<Utc>>,
    /// When the tokens were last refreshed.
    pub last_refresh_at: Option<DateTime<Utc>>,
    /// Why the last refresh failed, while it keeps failing.
    pub last_refresh_error: Option<String>,
    /// What is stored for it (field, key id, expiry), without the secrets.
    pub credentials: Vec<CredentialInfo>,
}

/// Where an OAuth flow starts.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectStart {
    /// The platform.
    pub platform: Platform,
    /// Where to send the browser.
    pub authorize_url: String,
    /// The `state` the platform will echo back (single-use, yours only).
    pub state: String,
    /// Where the platform will send the browser back.
    pub redirect_uri: String,
    /// When the state stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// What [`Service::refresh_account`] did.
#[derive(Debug, Clone, Serialize)]
pub struct RefreshReport {
    /// The account afterwards.
    pub account: AccountView,
    /// Whether new tokens were obtained.
    pub refreshed: bool,
    /// Why not, when they were not.
    pub note: Option<String>,
}

/// What one run of the refresh sweep did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SweepReport {
    /// Accounts whose tokens expire within the window.
    pub due: usize,
    /// Accounts refreshed.
    pub refreshed: Vec<AccountId>,
    /// Accounts that needed nothing after all (refreshed by another process meanwhile, or not yet
    /// refreshable).
    pub skipped: Vec<AccountId>,
    /// Accounts whose refresh failed, with the error code and message.
    pub failed: Vec<SweepFailure>,
}

/// One failed refresh of a sweep.
#[derive(Debug, Clone, Serialize)]
pub struct SweepFailure {
    /// The account.
    pub account: AccountId,
    /// The error code.
    pub code: &'static str,
    /// The message.
    pub message: String,
}

/// What disconnecting did.
#[derive(Debug, Clone, Serialize)]
pub struct DisconnectReport {
    /// The account afterwards.
    pub account: AccountView,
    /// `revoked`, `not-offered`, `not-attempted` or `failed`.
    pub revoke: &'static str,
    /// Why, when the token was not revoked.
    pub revoke_note: Option<String>,
    /// How many stored credentials were deleted.
    pub credentials_deleted: u64,
}

// ------------------------------------------------------------------------------------------ state

/// What the service holds for accounts: the vault, the apps, and in-process refresh locks.
#[derive(Debug, Clone, Default)]
pub(crate) struct AccountsState {
    vault: Option<Vault>,
    apps: AppsConfig,
    config: AccountsConfig,
    /// One lock per account so tasks of this process queue here rather than on the database's lock.
    locks: Arc<std::sync::Mutex<HashMap<AccountId, Arc<tokio::sync::Mutex<()>>>>>,
}

/// When to refresh, under the lock.
#[derive(Debug)]
enum Mode {
    /// When the access token expires at or before `before`.
    Due { before: DateTime<Utc> },
    /// Now, unless the stored token is no longer the one the platform refused (someone refreshed).
    Force { rejected: Option<SecretString> },
}

/// The outcome of a refresh attempt that did not fail.
#[derive(Debug)]
enum Outcome {
    Refreshed(Secret),
    NotNeeded(Secret, Option<String>),
}

fn from_platforms(p: platforms::Platform) -> Platform {
    match p {
        platforms::Platform::Tiktok => Platform::Tiktok,
        platforms::Platform::Instagram => Platform::Instagram,
        platforms::Platform::Facebook => Platform::Facebook,
    }
}

/// A platform's lifetime as a duration, capped at ten years.
fn secs(d: StdDuration) -> Duration {
    let ten_years = 10 * 366 * 24 * 3600;
    Duration::seconds(
        i64::try_from(d.as_secs())
            .unwrap_or(ten_years)
            .min(ten_years),
    )
}

/// Seals a secret for one field of an account, dated by the service's clock.
fn seal(
    vault: &Vault,
    account: AccountId,
    field: &str,
    secret: &str,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<SealedCredential> {
    Ok(SealedCredential {
        updated_at: now,
        ..vault.seal_credential(account, field, &Secret::from(secret), expires_at)?
    })
}

fn random_text(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut raw);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn state_hash(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

/// The vault context a PKCE verifier is sealed in: bound to its state.
fn verifier_context(state_hash: &str) -> String {
    format!("natronfx/oauth-state/v1/{state_hash}")
}

/// Whether an account's access token renews itself before it expires: TikTok through its refresh
/// token, Instagram Login by exchanging the token itself. Quality checks use it.
pub(crate) fn refreshable(connection: &Connection, has_refresh_token: bool) -> bool {
    match connection.login {
        Some(Platform::Tiktok) => has_refresh_token,
        Some(Platform::Instagram) => true,
        _ => false,
    }
}

fn view(connection: Connection, credentials: Vec<CredentialInfo>) -> AccountView {
    let a = connection.account;
    AccountView {
        id: a.id,
        platform: a.platform,
        external_id: a.external_id,
        display_name: a.display_name,
        status: a.status,
        sandbox: a.sandbox,
        login: connection.login,
        scopes: connection.scopes,
        connected_by: a.connected_by,
        created_at: a.created_at,
        connected_at: connection.connected_at,
        access_expires_at: connection.access_expires_at,
        refresh_expires_at: connection.refresh_expires_at,
        last_refresh_at: connection.last_refresh_at,
        last_refresh_error: connection.last_refresh_error,
        credentials,
    }
}

fn credential_info(c: &SealedCredential) -> CredentialInfo {
    CredentialInfo {
        field: c.field.clone(),
        key_id: c.key_id,
        expires_at: c.expires_at,
        updated_at: c.updated_at,
    }
}

fn platform_error_text(e: &PlatformError) -> String {
    let text = e.to_string();
    // Keep stored errors short; platform messages can be long.
    text.chars().take(300).collect()
}

// ------------------------------------------------------------------------------------------ the use cases

impl Service {
    /// The same service with a token vault: connecting accounts and handing out tokens work only
    /// with one.
    pub fn with_vault(mut self, vault: Vault) -> Self {
        self.accounts.vault = Some(vault);
        self
    }

    /// The same service with these platform apps and token refresh settings.
    pub fn with_apps(mut self, apps: AppsConfig, config: AccountsConfig) -> Self {
        self.accounts.apps = apps;
        self.accounts.config = config;
        self
    }

    /// The vault, when a key is configured.
    pub fn vault(&self) -> Option<&Vault> {
        self.accounts.vault.as_ref()
    }

    /// The configured platform apps.
    pub fn apps(&self) -> &AppsConfig {
        &self.accounts.apps
    }

    pub(crate) fn require_vault(&self) -> Result<&Vault> {
        self.accounts
            .vault
            .as_ref()
            .ok_or(Error::Account(AccountError::VaultNotConfigured))
    }

    /// The OAuth connector of a login, sending `redirect_uri` (the configured one when `None`).
    fn connector(&self, login: Platform, redirect_uri: Option<&str>) -> Result<Box<dyn Connector>> {
        let timeout = StdDuration::from_secs(self.accounts.config.http_timeout_secs.max(1));
        let apps = &self.accounts.apps;
        let app = |client_id: &str,
                   id_setting: &'static str,
                   secret: &Option<SecretString>,
                   secret_setting: &'static str,
                   redirect: &str,
                   scopes: &[String]| {
            if client_id.trim().is_empty() {
                return Err(Error::Account(AccountError::AppNotConfigured {
                    platform: login,
                    setting: id_setting,
                }));
            }
            let Some(secret) = secret.as_ref().filter(|s| !s.expose_secret().is_empty()) else {
                return Err(Error::Account(AccountError::AppNotConfigured {
                    platform: login,
                    setting: secret_setting,
                }));
            };
            Ok(OAuthApp {
                client_id: client_id.trim().to_owned(),
                client_secret: secret.clone(),
                redirect_uri: redirect_uri.unwrap_or(redirect).to_owned(),
                scopes: scopes.to_vec(),
            })
        };
        Ok(match login {
            Platform::Tiktok => {
                let t = &apps.tiktok;
                Box::new(platforms::TiktokConnector::new(
                    app(
                        &t.client_key,
                        "apps.tiktok.client_key",
                        &t.client_secret,
                        "apps.tiktok.client_secret",
                        &t.redirect_uri,
                        &t.scopes,
                    )?,
                    platforms::TiktokOAuthConfig {
                        authorize_url: t.authorize_url.clone(),
                        api_base: t.api_base_url.clone(),
                        timeout,
                    },
                )?)
            }
            Platform::Instagram => {
                let i = &apps.instagram;
                Box::new(platforms::InstagramConnector::new(
                    app(
                        &i.client_id,
                        "apps.instagram.client_id",
                        &i.client_secret,
                        "apps.instagram.client_secret",
                        &i.redirect_uri,
                        &i.scopes,
                    )?,
                    platforms::InstagramOAuthConfig {
                        authorize_url: i.authorize_url.clone(),
                        api_base: i.api_base_url.clone(),
                        graph_base: i.graph_base_url.clone(),
                        version: i.graph_version.clone(),
                        timeout,
                    },
                )?)
            }
            Platform::Facebook => {
                let f = &apps.facebook;
                let mut graph = platforms::GraphConfig::with_host(
                    f.graph_base_url.clone(),
                    f.graph_version.clone(),
                );
                graph.timeout = timeout;
                graph.connect_timeout = timeout;
                Box::new(platforms::FacebookConnector::new(
                    app(
                        &f.client_id,
                        "apps.facebook.client_id",
                        &f.client_secret,
                        "apps.facebook.client_secret",
                        &f.redirect_uri,
                        &f.scopes,
                    )?,
                    f.dialog_url.clone(),
                    graph,
                )?)
            }
        })
    }

    /// Starts connecting an account: a single-use `state` bound to `actor` for ten minutes (stored as
    /// its hash, with TikTok's PKCE verifier sealed by the vault), and the platform's authorize URL.
    /// Only admins may connect accounts.
    pub async fn start_connect(&self, actor: &User, platform: Platform) -> Result<ConnectStart> {
        authorize(actor, Action::ManageAccounts, None)?;
        let vault = self.require_vault()?;
        let connector = self.connector(platform, None)?;
        let now = self.now();
        let state = random_text(32);
        let hash = state_hash(&state);
        // TikTok requires PKCE for desktop apps and accepts it from web apps: always send it.
        let pkce = match platform {
            Platform::Tiktok => Some(Pkce::new(random_text(48))?),
            _ => None,
        };
        let verifier = pkce
            .as_ref()
            .map(|p| {
                vault.keyring().seal_bound(
                    &verifier_context(&hash),
                    &Secret::from(p.verifier().expose_secret()),
                )
            })
            .transpose()?;
        let redirect_uri = self.accounts.apps.redirect_uri(platform).to_owned();
        let record = natronfx_store::OAuthState {
            state_hash: hash,
            platform,
            user_id: actor.id,
            verifier,
            redirect_uri: redirect_uri.clone(),
            created_at: now,
            expires_at: now + Duration::minutes(STATE_LIFETIME_MINUTES),
            used_at: None,
        };
        let authorize_url = connector.authorize_url(&state, pkce.as_ref())?;
        self.store
            .insert_oauth_state(&record, now - Duration::days(1))
            .await?;
        tracing::info!(%platform, user = %actor.id, "account connection started");
        Ok(ConnectStart {
            platform,
            authorize_url,
            state,
            redirect_uri,
            expires_at: record.expires_at,
        })
    }

    /// Finishes connecting: reads the callback (the whole redirect URL the browser was sent to, or its
    /// query), checks its `state` (known, unused, started by `actor`, under ten minutes old), trades the
    /// code for tokens, and stores every account the login reaches with its tokens sealed by the vault,
    /// in the same transaction as the account row and its audit event. Connecting an account again
    /// updates it in place and keeps a stored refresh token the platform did not replace.
    pub async fn finish_connect(&self, actor: &User, callback: &str) -> Result<Vec<AccountView>> {
        authorize(actor, Action::ManageAccounts, None)?;
        let callback = Callback::parse(callback)?;
        let now = self.now();
        let Some(state) = callback.state.as_deref().filter(|s| !s.is_empty()) else {
            return Err(AccountError::StateUnknown.into());
        };
        let hash = state_hash(state);
        let record = match self.store.take_oauth_state(&hash, now).await? {
            StateTake::Unknown => return Err(AccountError::StateUnknown.into()),
            StateTake::AlreadyUsed(_) => {
                tracing::warn!(user = %actor.id, "an OAuth state was presented again");
                return Err(AccountError::StateUsed.into());
            }
            StateTake::Taken(record) => record,
        };
        if record.user_id != actor.id {
            tracing::warn!(user = %actor.id, owner = %record.user_id, "an OAuth state of another user was presented");
            return Err(AccountError::StateForeign.into());
        }
        if now > record.expires_at {
            return Err(AccountError::StateExpired.into());
        }
        let platform = record.platform;
        if let Some(error) = callback.error {
            return Err(if error.denied_by_user() {
                AccountError::ConsentDenied {
                    platform,
                    description: error.description,
                }
            } else {
                AccountError::AuthorizationRefused {
                    platform,
                    error: error.error,
                    description: error.description,
                }
            }
            .into());
        }
        let vault = self.require_vault()?;
        let pkce = match &record.verifier {
            Some(sealed) => {
                let verifier = vault
                    .keyring()
                    .open_bound(&verifier_context(&hash), sealed)?;
                Some(Pkce::new(verifier.expose())?)
            }
            None => None,
        };
        let connector = self.connector(platform, Some(&record.redirect_uri))?;
        let code = callback
            .code
            .ok_or(Error::Account(AccountError::StateUnknown))?;
        let grant = connector
            .exchange_code(code.expose_secret(), pkce.as_ref())
            .await
            .map_err(|e| match e.class() {
                ErrorClass::Auth | ErrorClass::Terminal => {
                    Error::Account(AccountError::CodeRejected {
                        platform,
                        detail: platform_error_text(&e),
                    })
                }
                _ => Error::Platform(e),
            })?;
        let granted = connector.accounts(&grant).await?;
        if granted.is_empty() {
            return Err(AccountError::NoAccountsGranted { platform }.into());
        }
        let mut views = Vec::with_capacity(granted.len());
        for account in granted {
            let scopes = if account.scopes.is_empty() {
                callback.scopes.clone()
            } else {
                account.scopes.clone()
            };
            let id = self.save_granted(actor, platform, &account, scopes).await?;
            // What waited for this account (a refused token, a reconnect) goes out now, not after its
            // backoff.
            match self.store.wake_account_targets(id, self.now()).await {
                Ok(0) => {}
                Ok(woken) => {
                    tracing::info!(account = %id, woken, "targets waiting for the account are due again")
                }
                Err(e) => {
                    tracing::warn!(account = %id, error = %e, "could not wake the account's waiting targets; they go out after their backoff")
                }
            }
            views.push(self.account_view(id).await?);
        }
        Ok(views)
    }

    /// Seals and stores one granted account, retrying once when a concurrent first connection of the
    /// same platform account won (the credentials must be sealed for the stored id).
    async fn save_granted(
        &self,
        actor: &User,
        login: Platform,
        granted: &GrantedAccount,
        scopes: Vec<String>,
    ) -> Result<AccountId> {
        let vault = self.require_vault()?;
        let platform = from_platforms(granted.platform);
        if granted.access_token.expose_secret().is_empty() {
            return Err(Error::Platform(PlatformError::Config(format!(
                "{platform} answered without an access token"
            ))));
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let now = self.now();
            let existing = self
                .store
                .connection_by_external(platform, &granted.id)
                .await?;
            let id = existing
                .as_ref()
                .map_or_else(AccountId::random, |c| c.account.id);
            let display_name = match (platform, &granted.username, &granted.display_name) {
                (Platform::Facebook, _, Some(name)) => name.clone(),
                (_, Some(username), _) => format!("@{username}"),
                (_, None, Some(name)) => name.clone(),
                _ => format!("{platform}:{}", granted.id),
            };
            let access_expires_at = granted.expires_in.map(|d| now + secs(d));
            let mut sealed = vec![seal(
                vault,
                id,
                ACCESS_TOKEN,
                granted.access_token.expose_secret(),
                access_expires_at,
                now,
            )?];
            // A grant without a refresh token never replaces a stored one.
            let refresh = granted
                .refresh_token
                .as_ref()
                .filter(|r| !r.expose_secret().is_empty());
            let refresh_expires_at = refresh.and(granted.refresh_expires_in.map(|d| now + secs(d)));
            if let Some(refresh) = refresh {
                sealed.push(seal(
                    vault,
                    id,
                    REFRESH_TOKEN,
                    refresh.expose_secret(),
                    refresh_expires_at,
                    now,
                )?);
            }
            let connection = Connection {
                account: Account {
                    id,
                    platform,
                    external_id: granted.id.clone(),
                    display_name: display_name.clone(),
                    status: AccountStatus::Connected,
                    sandbox: false,
                    connected_by: Some(actor.id),
                    created_at: existing.as_ref().map_or(now, |c| c.account.created_at),
                },
                login: Some(login),
                scopes: scopes.clone(),
                access_expires_at,
                refresh_expires_at,
                connected_at: Some(now),
                last_refresh_at: existing.as_ref().and_then(|c| c.last_refresh_at),
                last_refresh_error: None,
            };
            let mut note = format!("{platform} {display_name}");
            if login != platform {
                note.push_str(&format!(" through {login}"));
            }
            if let Some(page) = &granted.via_page {
                note.push_str(&format!(" (Page {page})"));
            }
            if !scopes.is_empty() {
                note.push_str(&format!("; scopes {}", scopes.join(",")));
            }
            let mut event = AuditEvent::new(
                now,
                Some(actor.id),
                AuditAction::AccountConnected,
                "account",
                id,
            )
            .with_note(Some(note));
            if let Some(existing) = &existing {
                event = event.with_states(existing.account.status, AccountStatus::Connected);
                event.note = event.note.map(|n| format!("{n}; connected again"));
            }
            match self
                .store
                .save_connection(&connection, &sealed, &event)
                .await
            {
                Ok(id) => {
                    tracing::info!(account = %id, %platform, "account connected");
                    return Ok(id);
                }
                Err(natronfx_store::Error::Conflict(_)) if attempt < 2 => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn account_view(&self, id: AccountId) -> Result<AccountView> {
        let connection = self.store.connection(id).await?;
        let credentials = self.store.credentials_of(id).await?;
        Ok(view(
            connection,
            credentials.iter().map(credential_info).collect(),
        ))
    }

    /// Finds an account by id or by name (`@brand`, any case).
    pub async fn account_by_ref(&self, actor: &User, reference: &str) -> Result<AccountId> {
        authorize(actor, Action::ViewPost, None)?;
        let reference = reference.trim();
        if let Ok(id) = reference.parse::<AccountId>() {
            return Ok(id);
        }
        let matches: Vec<Account> = self
            .store
            .list_accounts()
            .await?
            .into_iter()
            .filter(|a| a.display_name.eq_ignore_ascii_case(reference))
            .collect();
        match matches.as_slice() {
            [one] => Ok(one.id),
            [] => Err(natronfx_store::Error::NotFound {
                what: "account",
                id: reference.to_owned(),
            }
            .into()),
            _ => Err(natronfx_workflow::Error::InvalidInput {
                field: "account",
                reason: format!("several accounts are called {reference}; use the account's id"),
            }
            .into()),
        }
    }

    /// One account with its connection and what is stored for it (never a secret).
    pub async fn account(&self, actor: &User, id: AccountId) -> Result<AccountView> {
        authorize(actor, Action::ViewPost, None)?;
        self.account_view(id).await
    }

    /// Every account with its connection, by platform and name.
    pub async fn connected_accounts(&self, actor: &User) -> Result<Vec<AccountView>> {
        authorize(actor, Action::ViewPost, None)?;
        let mut out = Vec::new();
        for connection in self.store.list_connections().await? {
            let credentials = self.store.credentials_of(connection.account.id).await?;
            out.push(view(
                connection,
                credentials.iter().map(credential_info).collect(),
            ));
        }
        Ok(out)
    }

    /// Refreshes an account's tokens now (admins), under the same lock as every other refresh.
    pub async fn refresh_account(&self, actor: &User, id: AccountId) -> Result<RefreshReport> {
        authorize(actor, Action::ManageAccounts, None)?;
        let now = self.now();
        let outcome = self
            .refresh_under_lock(id, Mode::Force { rejected: None }, now, Some(actor.id))
            .await?;
        let (refreshed, note) = match outcome {
            Outcome::Refreshed(_) => (true, None),
            Outcome::NotNeeded(_, note) => (false, note),
        };
        Ok(RefreshReport {
            account: self.account_view(id).await?,
            refreshed,
            note,
        })
    }

    /// **For the publishing dispatcher.** A working access token for `account`.
    ///
    /// When the stored token expires within `[accounts] refresh_skew_secs`, it is refreshed first,
    /// under the account's lock: an in-process lock, then the database's (a PostgreSQL row lock, or
    /// SQLite's single writer), re-reading the account once the lock is held, so several processes
    /// asking at once make one refresh call and all get its token. A refresh that fails for a reason
    /// that may pass while the current token still works hands out the current token.
    ///
    /// Errors: `account-needs-reconnect` (the platform refused the account; a person must connect it
    /// again), `account-disconnected`, `account-not-connected` (sandbox accounts have no tokens),
    /// `account-refresh-failed` (the token has expired and refreshing failed for now: retry later),
    /// `vault-not-configured`.
    pub async fn access_token(&self, account: AccountId) -> Result<SecretString> {
        let now = self.now();
        let connection = self.store.connection(account).await?;
        self.check_usable(&connection)?;
        let stored = match self.store.credential(account, ACCESS_TOKEN).await {
            Ok(row) => row,
            Err(natronfx_store::Error::NotFound { .. }) => {
                return Err(not_connected(&connection).into());
            }
            Err(e) => return Err(e.into()),
        };
        let before = now + Duration::seconds(self.skew());
        if stored.expires_at.is_none_or(|e| e > before) {
            let vault = self.require_vault()?;
            return Ok(vault
                .open(account, ACCESS_TOKEN, &stored.ciphertext)?
                .into_secret_string());
        }
        match self
            .refresh_under_lock(account, Mode::Due { before }, now, None)
            .await?
        {
            Outcome::Refreshed(token) | Outcome::NotNeeded(token, _) => {
                Ok(token.into_secret_string())
            }
        }
    }

    /// **For the publishing dispatcher.** The platform refused `rejected` (a `401`, an invalid-token
    /// answer): refresh once and return the new token to retry with.
    ///
    /// If the stored token is no longer `rejected`, another task or process refreshed it meanwhile and
    /// that token is returned without a second refresh. When the refresh is refused (or the platform
    /// has no refresh, as for Facebook Pages), the account becomes `needs_reconnect` with an audit event
    /// and the answer is `account-needs-reconnect`. If the retry with the new token is refused too,
    /// call [`Service::mark_needs_reconnect`].
    pub async fn force_refresh(
        &self,
        account: AccountId,
        rejected: &SecretString,
    ) -> Result<SecretString> {
        let now = self.now();
        match self
            .refresh_under_lock(
                account,
                Mode::Force {
                    rejected: Some(rejected.clone()),
                },
                now,
                None,
            )
            .await?
        {
            Outcome::Refreshed(token) | Outcome::NotNeeded(token, _) => {
                Ok(token.into_secret_string())
            }
        }
    }

    /// **For the publishing dispatcher.** The platform refused the account's credentials even after a
    /// refresh: mark it `needs_reconnect`, with an audit event, so nothing more is sent until a person
    /// connects it again. Does nothing when it is not `connected`.
    pub async fn mark_needs_reconnect(&self, account: AccountId, reason: &str) -> Result<()> {
        let connection = self.store.connection(account).await?;
        if connection.account.status != AccountStatus::Connected {
            return Ok(());
        }
        let reason: String = reason.chars().take(300).collect();
        let event = AuditEvent::new(
            self.now(),
            None,
            AuditAction::AccountNeedsReconnect,
            "account",
            account,
        )
        .with_states(AccountStatus::Connected, AccountStatus::NeedsReconnect)
        .with_note(Some(reason.clone()));
        self.store
            .set_connection_status(
                account,
                AccountStatus::NeedsReconnect,
                Some(&reason),
                &event,
            )
            .await?;
        tracing::warn!(%account, "account needs to be connected again");
        Ok(())
    }

    /// Refreshes every connected account whose access token expires within `[accounts]
    /// refresh_sweep_window_secs` of `now`, each under its lock (an account another process refreshed
    /// meanwhile is skipped). Failures are reported, not raised, so one account never stops the rest.
    pub async fn refresh_sweep(&self, now: DateTime<Utc>) -> Result<SweepReport> {
        let window = i64::try_from(self.accounts.config.refresh_sweep_window_secs)
            .unwrap_or(i64::MAX / 1000);
        let before = now + Duration::seconds(window);
        let due = self.store.connections_due(before, 1000).await?;
        let mut report = SweepReport {
            due: due.len(),
            ..SweepReport::default()
        };
        for id in due {
            match self
                .refresh_under_lock(id, Mode::Due { before }, now, None)
                .await
            {
                Ok(Outcome::Refreshed(_)) => report.refreshed.push(id),
                Ok(Outcome::NotNeeded(..)) => report.skipped.push(id),
                Err(e) => report.failed.push(SweepFailure {
                    account: id,
                    code: e.code(),
                    message: e.to_string(),
                }),
            }
        }
        tracing::info!(
            due = report.due,
            refreshed = report.refreshed.len(),
            failed = report.failed.len(),
            "refresh sweep done"
        );
        Ok(report)
    }

    /// Runs the refresh sweep now, for a person (admins): see [`Service::refresh_sweep`].
    pub async fn refresh_due(&self, actor: &User) -> Result<SweepReport> {
        authorize(actor, Action::ManageAccounts, None)?;
        self.refresh_sweep(self.now()).await
    }

    /// Disconnects an account (admins): revokes its token at the platform where the platform offers
    /// that for one account (TikTok; Instagram Login has no revoke call, and Facebook revokes a person's
    /// whole grant, every Page at once), then deletes its stored credentials from the database and
    /// marks it `disconnected`, keeping the account and its publishing history, with audit events, in
    /// one transaction.
    ///
    /// A revoke that fails changes nothing (`revoke-failed`) unless `purge` is set: then the
    /// credentials are deleted anyway, also when the vault key or the app is missing.
    pub async fn disconnect(
        &self,
        actor: &User,
        id: AccountId,
        purge: bool,
    ) -> Result<DisconnectReport> {
        authorize(actor, Action::ManageAccounts, None)?;
        let connection = self.store.connection(id).await?;
        let name = connection.account.display_name.clone();
        let platform = connection.account.platform;
        let stored = self.store.credentials_of(id).await?;
        let (revoke, revoke_note) = if stored.iter().any(|c| c.field == ACCESS_TOKEN) {
            match self.revoke(&connection).await {
                Ok(RevokeOutcome::Revoked) => ("revoked", None),
                Ok(RevokeOutcome::NotOffered(why)) => ("not-offered", Some(why)),
                Err(e) if purge => ("failed", Some(format!("{} ({})", e, e.code()))),
                Err(Error::Platform(e)) => {
                    return Err(AccountError::RevokeFailed {
                        name,
                        platform,
                        reason: platform_error_text(&e),
                    }
                    .into());
                }
                Err(e) => return Err(e),
            }
        } else {
            ("not-attempted", Some("no stored token".to_owned()))
        };
        let now = self.now();
        let fields: Vec<&str> = stored.iter().map(|c| c.field.as_str()).collect();
        let mut events = vec![
            AuditEvent::new(
                now,
                Some(actor.id),
                AuditAction::AccountDisconnected,
                "account",
                id,
            )
            .with_states(connection.account.status, AccountStatus::Disconnected)
            .with_note(Some(match &revoke_note {
                Some(note) => format!("{platform} {name}; token {revoke}: {note}"),
                None => format!("{platform} {name}; token {revoke}"),
            })),
        ];
        if !fields.is_empty() {
            events.push(
                AuditEvent::new(
                    now,
                    Some(actor.id),
                    AuditAction::CredentialsPurged,
                    "account",
                    id,
                )
                .with_note(Some(format!("deleted {}", fields.join(", ")))),
            );
        }
        let deleted = self.store.disconnect_account(id, &events).await?;
        tracing::info!(account = %id, deleted, revoke, "account disconnected");
        Ok(DisconnectReport {
            account: self.account_view(id).await?,
            revoke,
            revoke_note,
            credentials_deleted: deleted,
        })
    }

    async fn revoke(&self, connection: &Connection) -> Result<RevokeOutcome> {
        let id = connection.account.id;
        match connection.login {
            Some(Platform::Tiktok) => {}
            Some(Platform::Instagram) => {
                return Ok(RevokeOutcome::NotOffered(
                    "Instagram Login has no revoke call; the account owner can remove the app in \
                     Instagram's settings"
                        .into(),
                ));
            }
            Some(Platform::Facebook) => {
                return Ok(RevokeOutcome::NotOffered(
                    "Facebook revokes a person's whole grant (every Page at once), not one Page; remove \
                     the app under Business Integrations to revoke it"
                        .into(),
                ));
            }
            None => return Ok(RevokeOutcome::NotOffered("no login recorded".into())),
        }
        let vault = self.require_vault()?;
        let token = vault.secret(id, ACCESS_TOKEN).await?;
        let connector = self.connector(Platform::Tiktok, None)?;
        if connector.revoke(&token.into_secret_string()).await? {
            Ok(RevokeOutcome::Revoked)
        } else {
            Ok(RevokeOutcome::NotOffered(
                "the platform has no revoke call".into(),
            ))
        }
    }

    fn skew(&self) -> i64 {
        i64::try_from(self.accounts.config.refresh_skew_secs).unwrap_or(i64::MAX / 1000)
    }

    fn check_usable(&self, connection: &Connection) -> Result<()> {
        let a = &connection.account;
        match a.status {
            AccountStatus::Connected => Ok(()),
            AccountStatus::NeedsReconnect => Err(AccountError::NeedsReconnect {
                name: a.display_name.clone(),
                platform: a.platform,
                reason: connection
                    .last_refresh_error
                    .clone()
                    .unwrap_or_else(|| "the platform refused its token".into()),
            }
            .into()),
            AccountStatus::Disconnected => Err(AccountError::Disconnected {
                name: a.display_name.clone(),
            }
            .into()),
        }
    }

    /// The in-process lock of one account.
    fn local_lock(&self, id: AccountId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .accounts
            .locks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        locks.entry(id).or_default().clone()
    }

    /// The one place tokens are refreshed: under the account's in-process and database locks, after
    /// re-reading what is stored, calling the platform only when `mode` still asks for it.
    async fn refresh_under_lock(
        &self,
        id: AccountId,
        mode: Mode,
        now: DateTime<Utc>,
        actor: Option<UserId>,
    ) -> Result<Outcome> {
        let vault = self.require_vault()?;
        let local = self.local_lock(id);
        let _local = local.lock().await;
        let mut lock = self.store.lock_connection(id).await?;
        let (connection, stored) = lock.read().await?;
        self.check_usable(&connection)?;
        let name = connection.account.display_name.clone();
        let Some(access) = stored.iter().find(|c| c.field == ACCESS_TOKEN) else {
            return Err(not_connected(&connection).into());
        };
        let current = vault.open(id, ACCESS_TOKEN, &access.ciphertext)?;
        match &mode {
            Mode::Due { before } => {
                if access.expires_at.is_none_or(|e| e > *before) {
                    return Ok(Outcome::NotNeeded(current, None));
                }
            }
            Mode::Force {
                rejected: Some(rejected),
            } => {
                if current.expose() != rejected.expose_secret() {
                    return Ok(Outcome::NotNeeded(
                        current,
                        Some("refreshed meanwhile".into()),
                    ));
                }
            }
            Mode::Force { rejected: None } => {}
        }
        let refused = matches!(mode, Mode::Force { rejected: Some(_) });
        let login = connection.login.unwrap_or(connection.account.platform);
        let connector = self.connector(login, None)?;
        let secret = match connector.refresh_kind() {
            RefreshKind::RefreshToken => match stored.iter().find(|c| c.field == REFRESH_TOKEN) {
                Some(row) => Some(vault.open(id, REFRESH_TOKEN, &row.ciphertext)?),
                None => None,
            },
            RefreshKind::AccessToken { min_age } => {
                let expired = access.expires_at.is_some_and(|e| e <= now);
                if !expired && access.updated_at > now - secs(min_age) && !refused {
                    return Ok(Outcome::NotNeeded(
                        current,
                        Some(format!(
                            "{} refreshes tokens once they are {} hours old",
                            connection.account.platform,
                            min_age.as_secs() / 3600
                        )),
                    ));
                }
                (!expired).then(|| current.clone())
            }
            RefreshKind::None => {
                if !refused {
                    return Ok(Outcome::NotNeeded(
                        current,
                        Some("this token does not expire; there is nothing to refresh".into()),
                    ));
                }
                None
            }
        };
        let Some(secret) = secret else {
            let reason = "the platform refused the token and it cannot be refreshed".to_owned();
            return Err(self
                .needs_reconnect(lock, &connection, reason, now, actor)
                .await);
        };
        tracing::debug!(account = %id, %login, "refreshing tokens");
        let answer = connector.refresh(&secret.into_secret_string()).await;
        let refreshed =
            matches!(&answer, Ok(grant) if !grant.access_token.expose_secret().is_empty());
        self.observer().token_refresh_ended(
            connection.account.platform,
            if refreshed { "ok" } else { "failed" },
        );
        match answer {
            Ok(grant) if !grant.access_token.expose_secret().is_empty() => {
                let access_expires_at = grant.expires_in.map(|d| now + secs(d));
                let mut sealed = vec![seal(
                    vault,
                    id,
                    ACCESS_TOKEN,
                    grant.access_token.expose_secret(),
                    access_expires_at,
                    now,
                )?];
                let mut refresh_expires_at = connection.refresh_expires_at;
                // The answer may carry a new refresh token: it is stored in the same transaction as
                // the access token, and an empty or missing one never replaces the stored one.
                if let Some(refresh) = grant
                    .refresh_token
                    .as_ref()
                    .filter(|r| !r.expose_secret().is_empty())
                {
                    refresh_expires_at = grant.refresh_expires_in.map(|d| now + secs(d));
                    sealed.push(seal(
                        vault,
                        id,
                        REFRESH_TOKEN,
                        refresh.expose_secret(),
                        refresh_expires_at,
                        now,
                    )?);
                }
                let update = RefreshUpdate {
                    status: AccountStatus::Connected,
                    access_expires_at,
                    refresh_expires_at,
                    last_refresh_at: Some(now),
                    last_refresh_error: None,
                };
                if let Err(e) = lock.commit(&update, &sealed, None).await {
                    // The platform may have rotated the refresh token away: say so loudly.
                    tracing::error!(
                        account = %id,
                        code = e.code(),
                        "tokens were refreshed at the platform but could not be stored; if the platform \
                         rotated the refresh token the account must be connected again"
                    );
                    return Err(e.into());
                }
                tracing::info!(account = %id, "tokens refreshed");
                let token = Secret::from(grant.access_token.expose_secret());
                Ok(Outcome::Refreshed(token))
            }
            Ok(_) => {
                let reason = "the platform answered the refresh without a token".to_owned();
                Err(self
                    .refresh_failed(lock, &connection, reason, now, actor)
                    .await)
            }
            Err(e) if matches!(e.class(), ErrorClass::Auth | ErrorClass::Terminal) => Err(self
                .needs_reconnect(lock, &connection, platform_error_text(&e), now, actor)
                .await),
            Err(e) => {
                let still_valid = access.expires_at.is_none_or(|x| x > now);
                let err = self
                    .refresh_failed(lock, &connection, platform_error_text(&e), now, actor)
                    .await;
                if still_valid
                    && matches!(mode, Mode::Due { .. })
                    && err.code() == "account-refresh-failed"
                {
                    tracing::warn!(account = %id, %name, "refresh failed; the current token still works");
                    return Ok(Outcome::NotNeeded(
                        current,
                        Some("refresh failed; the current token still works".into()),
                    ));
                }
                Err(err)
            }
        }
    }

    /// Marks the locked account `needs_reconnect` with an audit event; returns the error to give.
    async fn needs_reconnect(
        &self,
        lock: Box<dyn natronfx_store::ConnectionLock>,
        connection: &Connection,
        reason: String,
        now: DateTime<Utc>,
        actor: Option<UserId>,
    ) -> Error {
        let a = &connection.account;
        let update = RefreshUpdate {
            status: AccountStatus::NeedsReconnect,
            access_expires_at: connection.access_expires_at,
            refresh_expires_at: connection.refresh_expires_at,
            last_refresh_at: connection.last_refresh_at,
            last_refresh_error: Some(reason.clone()),
        };
        let event = AuditEvent::new(
            now,
            actor,
            AuditAction::AccountNeedsReconnect,
            "account",
            a.id,
        )
        .with_states(a.status, AccountStatus::NeedsReconnect)
        .with_note(Some(reason.clone()));
        if let Err(e) = lock.commit(&update, &[], Some(&event)).await {
            return e.into();
        }
        tracing::warn!(account = %a.id, platform = %a.platform, "account needs to be connected again");
        AccountError::NeedsReconnect {
            name: a.display_name.clone(),
            platform: a.platform,
            reason,
        }
        .into()
    }

    /// Records a refresh that failed for a reason that may pass (audited when it starts failing);
    /// returns the error to give.
    async fn refresh_failed(
        &self,
        lock: Box<dyn natronfx_store::ConnectionLock>,
        connection: &Connection,
        reason: String,
        now: DateTime<Utc>,
        actor: Option<UserId>,
    ) -> Error {
        let a = &connection.account;
        let update = RefreshUpdate {
            status: a.status,
            access_expires_at: connection.access_expires_at,
            refresh_expires_at: connection.refresh_expires_at,
            last_refresh_at: connection.last_refresh_at,
            last_refresh_error: Some(reason.clone()),
        };
        // One event when failures start, not one per attempt while the platform is down.
        let event = connection.last_refresh_error.is_none().then(|| {
            AuditEvent::new(
                now,
                actor,
                AuditAction::AccountRefreshFailed,
                "account",
                a.id,
            )
            .with_note(Some(reason.clone()))
        });
        if let Err(e) = lock.commit(&update, &[], event.as_ref()).await {
            return e.into();
        }
        tracing::warn!(account = %a.id, platform = %a.platform, "token refresh failed");
        AccountError::RefreshFailed {
            name: a.display_name.clone(),
            reason,
        }
        .into()
    }
}

enum RevokeOutcome {
    Revoked,
    NotOffered(String),
}

fn not_connected(connection: &Connection) -> AccountError {
    AccountError::NotConnected {
        name: connection.account.display_name.clone(),
        sandbox: connection.account.sandbox,
    }
}
