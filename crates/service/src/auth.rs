//! Signing in with a password: server-side sessions (kept by hash), login throttling per account and per
//! address, logout, idle and absolute expiry, password changes, and the CSRF token tied to a session.
//!
//! The browser holds the session id in a cookie; the database holds only its SHA-256, so a copy of the
//! database signs nobody in. Every login, refused login, logout and password change is audited in the same
//! transaction as its change.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use natronfx_store::{Error as StoreError, LoginAttempt, SessionRecord};
use natronfx_workflow::{Action, AuditAction, AuditEvent, Email, User, authorize};
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::people::{check_password, hash_password, verify_password};
use crate::{Error, Result, Service};

/// Prefix of every session id, so a leaked one is easy to recognise.
const SESSION_PREFIX: &str = "nfs_";
/// Activity is written back at most this often, so reading pages does not write on every request.
const TOUCH_EVERY: Duration = Duration::seconds(60);
/// Longest `User-Agent` kept with a session.
const MAX_USER_AGENT: usize = 200;

/// Sessions and login throttling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Minutes without a request after which a session ends.
    pub session_idle_minutes: u32,
    /// Hours after login at which a session ends, however active.
    pub session_absolute_hours: u32,
    /// Failed logins for one account (by email) within the window before further tries are refused.
    pub max_failures_per_account: u32,
    /// Failed logins from one client address within the window before further tries are refused.
    pub max_failures_per_address: u32,
    /// The throttling window, in minutes.
    pub throttle_window_minutes: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            session_idle_minutes: 120,
            session_absolute_hours: 24,
            max_failures_per_account: 5,
            max_failures_per_address: 20,
            throttle_window_minutes: 15,
        }
    }
}

/// A password login as the server receives it.
#[derive(Debug)]
pub struct LoginRequest<'a> {
    /// The email typed.
    pub email: &'a str,
    /// The password typed.
    pub password: &'a SecretString,
    /// The client's address, for throttling and the audit note.
    pub address: &'a str,
    /// The browser's `User-Agent`.
    pub user_agent: &'a str,
    /// The session id the browser held before, if any: it ends, so the id changes at login.
    pub replaces: Option<&'a str>,
}

/// A session just started: the only moment its id exists outside the browser.
#[derive(Debug)]
pub struct NewSession {
    /// Who signed in.
    pub user: User,
    /// The session id, for the cookie. `Debug` prints it redacted.
    pub secret: SecretString,
    /// The CSRF token forms of this session must carry.
    pub csrf_token: String,
    /// When the session ends at the latest.
    pub expires_at: DateTime<Utc>,
}

/// A live session, looked up from its id.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    /// Who is signed in, as stored now (a role change applies at once).
    pub user: User,
    /// The CSRF token forms of this session must carry.
    pub csrf_token: String,
    /// When the session ends at the latest.
    pub expires_at: DateTime<Utc>,
}

fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The stored form of a session id.
fn session_hash(secret: &str) -> String {
    digest(secret)
}

/// The CSRF token of a session: derived from its id under its own label, so it needs no storage, differs
/// from the id, and reveals nothing about it.
fn csrf_for(secret: &str) -> String {
    digest(&format!("natronfx-csrf-v1\0{secret}"))
}

/// Compares two strings in time that depends only on their lengths.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The email as throttling counts it: trimmed, lowercased, bounded.
fn login_name(email: &str) -> String {
    email.trim().to_lowercase().chars().take(254).collect()
}

/// A password hash no password matches, checked when the email names nobody so that unknown accounts take
/// as long to refuse as wrong passwords.
async fn decoy_hash() -> &'static str {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY
        .get_or_init(|| async {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let random = SecretString::from(hex::encode(bytes));
            hash_password(&random).await.unwrap_or_default()
        })
        .await
}

impl Service {
    /// The same service with these session and throttling settings.
    pub fn with_auth(mut self, auth: AuthConfig) -> Self {
        self.auth = auth;
        self
    }

    /// The session and throttling settings.
    pub fn auth_config(&self) -> &AuthConfig {
        &self.auth
    }

    /// Signs in with an email and password and starts a session. Refused with `too-many-attempts` while the
    /// account or the address has failed too often within the window (the password is not even checked),
    /// and with `invalid-credentials` for a wrong password, an unknown email or a disabled user alike.
    pub async fn login(&self, request: LoginRequest<'_>) -> Result<NewSession> {
        let now = self.now();
        let email = login_name(request.email);
        let address: String = request.address.chars().take(100).collect();
        let window = Duration::minutes(i64::from(self.auth.throttle_window_minutes));
        let failures = self
            .store
            .login_failures(&email, &address, now - window)
            .await?;
        if failures.by_email >= i64::from(self.auth.max_failures_per_account)
            || failures.by_address >= i64::from(self.auth.max_failures_per_address)
        {
            tracing::warn!(%address, "login throttled");
            return Err(Error::TooManyAttempts {
                minutes: self.auth.throttle_window_minutes,
            });
        }
        let user = match email.parse::<Email>() {
            Ok(parsed) => match self.store.user_by_email(&parsed).await {
                Ok(user) => Some(user),
                Err(StoreError::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            },
            Err(_) => None,
        };
        let hash = match &user {
            Some(u) => self.store.password_hash(u.id).await?,
            None => None,
        };
        let matches = match hash {
            Some(hash) => verify_password(request.password, hash).await?,
            None => {
                let _ = verify_password(request.password, decoy_hash().await.to_owned()).await;
                false
            }
        };
        let attempt = |success| LoginAttempt {
            at: now,
            email: email.clone(),
            address: address.clone(),
            success,
        };
        let user = match user {
            Some(user) if matches && !user.disabled => user,
            other => {
                let why = match &other {
                    None => "no such user",
                    Some(u) if u.disabled => "user disabled",
                    Some(_) => "wrong password",
                };
                let event = match &other {
                    Some(u) => AuditEvent::new(now, None, AuditAction::LoginFailed, "user", u.id),
                    None => AuditEvent::new(now, None, AuditAction::LoginFailed, "login", &email),
                }
                .with_note(Some(format!("{why}, from {address}")));
                self.store
                    .record_failed_login(&attempt(false), &event)
                    .await?;
                return Err(Error::InvalidCredentials);
            }
        };
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret = format!(
            "{SESSION_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        );
        let expires_at = now + Duration::hours(i64::from(self.auth.session_absolute_hours));
        let record = SessionRecord {
            id_hash: session_hash(&secret),
            user_id: user.id,
            created_at: now,
            last_seen_at: now,
            expires_at,
            address: address.clone(),
            user_agent: request.user_agent.chars().take(MAX_USER_AGENT).collect(),
        };
        let event = AuditEvent::new(
            now,
            Some(user.id),
            AuditAction::LoginSucceeded,
            "user",
            user.id,
        )
        .with_note(Some(format!("from {address}")));
        let replaces = request.replaces.map(session_hash);
        self.store
            .start_session(&record, replaces.as_deref(), &attempt(true), &event)
            .await?;
        Ok(NewSession {
            user,
            csrf_token: csrf_for(&secret),
            secret: SecretString::from(secret),
            expires_at,
        })
    }

    /// The live session with this id, and who it signs in. A session past its idle or absolute end, or
    /// whose user was disabled, ends here and is `session-expired`.
    pub async fn session(&self, secret: &str) -> Result<ActiveSession> {
        if !secret.starts_with(SESSION_PREFIX) {
            return Err(Error::SessionExpired);
        }
        let hash = session_hash(secret);
        let record = match self.store.session(&hash).await {
            Ok(r) => r,
            Err(StoreError::NotFound { .. }) => return Err(Error::SessionExpired),
            Err(e) => return Err(e.into()),
        };
        let now = self.now();
        let idle = Duration::minutes(i64::from(self.auth.session_idle_minutes));
        let user = self.store.user(record.user_id).await?;
        if now >= record.expires_at || now >= record.last_seen_at + idle || user.disabled {
            self.store.end_session(&hash, None).await?;
            return Err(Error::SessionExpired);
        }
        if now - record.last_seen_at >= TOUCH_EVERY {
            self.store.touch_session(&hash, now).await?;
        }
        Ok(ActiveSession {
            user,
            csrf_token: csrf_for(secret),
            expires_at: record.expires_at,
        })
    }

    /// Whether `token` is the CSRF token of the session `secret`.
    pub fn csrf_matches(&self, secret: &str, token: &str) -> bool {
        same(&csrf_for(secret), token.trim())
    }

    /// Ends a session (signing out). Ending one that does not exist is not an error.
    pub async fn logout(&self, secret: &str) -> Result<()> {
        let hash = session_hash(secret);
        let record = match self.store.session(&hash).await {
            Ok(r) => r,
            Err(StoreError::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let event = AuditEvent::new(
            self.now(),
            Some(record.user_id),
            AuditAction::LoggedOut,
            "user",
            record.user_id,
        );
        self.store.end_session(&hash, Some(&event)).await?;
        Ok(())
    }

    /// Changes the actor's own password after checking the current one. Every other session of theirs
    /// ends; `keep` (the session making the change, by id) stays signed in.
    pub async fn change_password(
        &self,
        actor: &User,
        current: &SecretString,
        new: &SecretString,
        keep: Option<&str>,
    ) -> Result<()> {
        authorize(actor, Action::ManageOwnTokens, None)?;
        let stored = self.store.password_hash(actor.id).await?;
        let ok = match stored {
            Some(hash) => verify_password(current, hash).await?,
            None => false,
        };
        if !ok {
            return Err(natronfx_workflow::Error::InvalidInput {
                field: "current_password",
                reason: "the current password is wrong".into(),
            }
            .into());
        }
        check_password(new)?;
        if new.expose_secret() == current.expose_secret() {
            return Err(natronfx_workflow::Error::InvalidInput {
                field: "new_password",
                reason: "choose a password different from the current one".into(),
            }
            .into());
        }
        let hash = hash_password(new).await?;
        let event = AuditEvent::new(
            self.now(),
            Some(actor.id),
            AuditAction::PasswordChanged,
            "user",
            actor.id,
        );
        let keep = keep.map(session_hash);
        self.store
            .change_password(actor.id, &hash, keep.as_deref(), &event)
            .await?;
        Ok(())
    }

    /// Sets another person's password (admins only), ending all of that person's sessions.
    pub async fn reset_password(
        &self,
        actor: &User,
        who: &str,
        new: &SecretString,
    ) -> Result<User> {
        authorize(actor, Action::ManageUsers, None)?;
        let user = self.user_by_ref(who).await?;
        check_password(new)?;
        let hash = hash_password(new).await?;
        let event = AuditEvent::new(
            self.now(),
            Some(actor.id),
            AuditAction::PasswordChanged,
            "user",
            user.id,
        )
        .with_note(Some("set by an admin".into()));
        self.store
            .change_password(user.id, &hash, None, &event)
            .await?;
        Ok(user)
    }

    /// The actor's own sessions, newest first (hashes only).
    pub async fn my_sessions(&self, actor: &User) -> Result<Vec<SessionRecord>> {
        authorize(actor, Action::ManageOwnTokens, None)?;
        Ok(self.store.sessions_of(actor.id).await?)
    }

    /// Forgets sessions past their ends and login attempts older than a day (or the throttling window,
    /// when longer). Returns how many sessions ended.
    pub async fn purge_expired_sessions(&self) -> Result<u64> {
        let now = self.now();
        let idle = Duration::minutes(i64::from(self.auth.session_idle_minutes));
        let ended = self.store.purge_sessions(now, now - idle).await?;
        let keep =
            Duration::minutes(i64::from(self.auth.throttle_window_minutes)).max(Duration::days(1));
        self.store.purge_login_attempts(now - keep).await?;
        Ok(ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_are_tied_to_their_session_and_reveal_nothing_of_it() {
        let a = csrf_for("nfs_one");
        assert_eq!(a, csrf_for("nfs_one"));
        assert_ne!(a, csrf_for("nfs_two"));
        assert_ne!(
            a,
            session_hash("nfs_one"),
            "the token is not the stored hash"
        );
        assert!(!a.contains("one"));
        assert!(same(&a, &csrf_for("nfs_one")));
        assert!(!same(&a, &a[1..]));
        assert!(!same(&a, &csrf_for("nfs_two")));
    }
}
