//! [`ConnectionStore`](crate::ConnectionStore) in SQL both backends accept, instantiated once per
//! backend like `impl_sql_store!`.
//!
//! The only difference is how the refresh lock holds the account row: PostgreSQL appends
//! `FOR NO KEY UPDATE` to the read (a row lock that still lets other transactions insert targets pointing
//! at the account), SQLite has none and relies on `BEGIN IMMEDIATE`, which makes the transaction the one
//! writer of the whole database until it ends.

use chrono::{DateTime, Utc};
use natronfx_workflow::{Account, Platform, UserId};
use sqlx::FromRow;

use crate::connections::{Connection, OAuthState};
use crate::rows::AccountRow;
use crate::{Error, Result};

/// Every column of an account with its connection, in [`ConnectionRow`] order.
pub(crate) const CONNECTION_COLUMNS: &str = "id, platform, external_id, display_name, status, sandbox, \
     connected_by, created_at, login, scopes, access_expires_at, refresh_expires_at, connected_at, \
     last_refresh_at, last_refresh_error";

/// The columns of an OAuth state.
pub(crate) const STATE_COLUMNS: &str =
    "state_hash, platform, user_id, verifier, redirect_uri, created_at, expires_at, used_at";

#[derive(FromRow)]
pub(crate) struct ConnectionRow {
    #[sqlx(flatten)]
    account: AccountRow,
    login: Option<String>,
    scopes: String,
    access_expires_at: Option<DateTime<Utc>>,
    refresh_expires_at: Option<DateTime<Utc>>,
    connected_at: Option<DateTime<Utc>>,
    last_refresh_at: Option<DateTime<Utc>>,
    last_refresh_error: Option<String>,
}

impl TryFrom<ConnectionRow> for Connection {
    type Error = Error;
    fn try_from(r: ConnectionRow) -> Result<Connection> {
        Ok(Connection {
            account: Account::try_from(r.account)?,
            login: r
                .login
                .as_deref()
                .map(|l| {
                    l.parse::<Platform>()
                        .map_err(|_| Error::Corrupt(format!("bad login `{l}`")))
                })
                .transpose()?,
            scopes: serde_json::from_str(&r.scopes)
                .map_err(|e| Error::Corrupt(format!("bad scope list: {e}")))?,
            access_expires_at: r.access_expires_at,
            refresh_expires_at: r.refresh_expires_at,
            connected_at: r.connected_at,
            last_refresh_at: r.last_refresh_at,
            last_refresh_error: r.last_refresh_error,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct StateRow {
    state_hash: String,
    platform: String,
    user_id: String,
    verifier: Option<Vec<u8>>,
    redirect_uri: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
}

impl TryFrom<StateRow> for OAuthState {
    type Error = Error;
    fn try_from(r: StateRow) -> Result<OAuthState> {
        Ok(OAuthState {
            state_hash: r.state_hash,
            platform: r
                .platform
                .parse()
                .map_err(|_| Error::Corrupt(format!("bad platform `{}`", r.platform)))?,
            user_id: r
                .user_id
                .parse::<UserId>()
                .map_err(|_| Error::Corrupt(format!("bad user id `{}`", r.user_id)))?,
            verifier: r.verifier,
            redirect_uri: r.redirect_uri,
            created_at: r.created_at,
            expires_at: r.expires_at,
            used_at: r.used_at,
        })
    }
}

/// Scopes as stored: a JSON list.
pub(crate) fn scopes_to_json(scopes: &[String]) -> String {
    serde_json::to_string(scopes).unwrap_or_else(|_| "[]".into())
}

macro_rules! impl_sql_connections {
    ($store:ty, $db:ty, $row_lock:expr) => {
        mod sql_connections {
            // The parent module holds the store type, its pool and `begin_write`, and the audit log's
            // `append_events`, which these transactions call.
            use super::*;

            use crate::connections::{
                Connection, ConnectionLock, ConnectionStore, OAuthState, RefreshUpdate, StateTake,
            };
            use crate::sql_connections::{
                CONNECTION_COLUMNS, ConnectionRow, STATE_COLUMNS, StateRow, scopes_to_json,
            };
            use natronfx_workflow::{AccountStatus, Platform};

            /// `FOR NO KEY UPDATE` on PostgreSQL, nothing on SQLite.
            const ROW_LOCK: &str = $row_lock;

            async fn read_connection(
                tx: &mut sqlx::Transaction<'static, $db>,
                id: AccountId,
                lock: &str,
            ) -> Result<Connection> {
                let row: Option<ConnectionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {CONNECTION_COLUMNS} FROM accounts WHERE id = $1{lock}"
                )))
                .bind(id.to_string())
                .fetch_optional(&mut **tx)
                .await?;
                row.ok_or_else(|| Error::not_found("account", id))?.try_into()
            }

            async fn write_credentials(
                tx: &mut sqlx::Transaction<'static, $db>,
                credentials: &[SealedCredential],
            ) -> Result<()> {
                for c in credentials {
                    sqlx::query(
                        "INSERT INTO credentials (account_id, field, key_id, ciphertext, expires_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, field) DO UPDATE SET \
                         key_id = excluded.key_id, ciphertext = excluded.ciphertext, \
                         expires_at = excluded.expires_at, updated_at = excluded.updated_at",
                    )
                    .bind(c.account_id.to_string())
                    .bind(&c.field)
                    .bind(i64::from(c.key_id))
                    .bind(&c.ciphertext)
                    .bind(c.expires_at)
                    .bind(c.updated_at)
                    .execute(&mut **tx)
                    .await
                    .map_err(|e| match e {
                        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                            Error::not_found("account", c.account_id)
                        }
                        other => other.into(),
                    })?;
                }
                Ok(())
            }

            /// The refresh lock: a write transaction holding the account row.
            struct SqlConnectionLock {
                tx: sqlx::Transaction<'static, $db>,
                id: AccountId,
            }

            #[async_trait]
            impl ConnectionLock for SqlConnectionLock {
                async fn read(&mut self) -> Result<(Connection, Vec<SealedCredential>)> {
                    let connection = read_connection(&mut self.tx, self.id, "").await?;
                    let rows: Vec<crate::rows::CredentialRow> = sqlx::query_as(
                        "SELECT account_id, field, key_id, ciphertext, expires_at, updated_at \
                         FROM credentials WHERE account_id = $1 ORDER BY field",
                    )
                    .bind(self.id.to_string())
                    .fetch_all(&mut *self.tx)
                    .await?;
                    let credentials = rows
                        .into_iter()
                        .map(SealedCredential::try_from)
                        .collect::<Result<Vec<_>>>()?;
                    Ok((connection, credentials))
                }

                async fn commit(
                    self: Box<Self>,
                    update: &RefreshUpdate,
                    credentials: &[SealedCredential],
                    event: Option<&AuditEvent>,
                ) -> Result<()> {
                    let mut lock = *self;
                    write_credentials(&mut lock.tx, credentials).await?;
                    sqlx::query(
                        "UPDATE accounts SET status = $1, access_expires_at = $2, refresh_expires_at = $3, \
                         last_refresh_at = $4, last_refresh_error = $5 WHERE id = $6",
                    )
                    .bind(update.status.as_str())
                    .bind(update.access_expires_at)
                    .bind(update.refresh_expires_at)
                    .bind(update.last_refresh_at)
                    .bind(update.last_refresh_error.as_deref())
                    .bind(lock.id.to_string())
                    .execute(&mut *lock.tx)
                    .await?;
                    if let Some(e) = event {
                        append_events(&mut lock.tx, std::slice::from_ref(e)).await?;
                    }
                    lock.tx.commit().await?;
                    Ok(())
                }
            }

            #[async_trait]
            impl ConnectionStore for $store {
                async fn insert_oauth_state(
                    &self,
                    state: &OAuthState,
                    purge_before: DateTime<Utc>,
                ) -> Result<()> {
                    let mut tx = self.begin_write().await?;
                    sqlx::query("DELETE FROM oauth_states WHERE expires_at < $1")
                        .bind(purge_before)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "INSERT INTO oauth_states \
                         (state_hash, platform, user_id, verifier, redirect_uri, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(&state.state_hash)
                    .bind(state.platform.as_str())
                    .bind(state.user_id.to_string())
                    .bind(state.verifier.as_deref())
                    .bind(&state.redirect_uri)
                    .bind(state.created_at)
                    .bind(state.expires_at)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn take_oauth_state(&self, state_hash: &str, at: DateTime<Utc>) -> Result<StateTake> {
                    let mut tx = self.begin_write().await?;
                    let row: Option<StateRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {STATE_COLUMNS} FROM oauth_states WHERE state_hash = $1{ROW_LOCK}"
                    )))
                    .bind(state_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(row) = row else {
                        return Ok(StateTake::Unknown);
                    };
                    let state = OAuthState::try_from(row)?;
                    if state.used_at.is_some() {
                        return Ok(StateTake::AlreadyUsed(state));
                    }
                    sqlx::query("UPDATE oauth_states SET used_at = $1, verifier = NULL WHERE state_hash = $2")
                        .bind(at)
                        .bind(state_hash)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(StateTake::Taken(state))
                }

                async fn connection(&self, id: AccountId) -> Result<Connection> {
                    let row: Option<ConnectionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {CONNECTION_COLUMNS} FROM accounts WHERE id = $1"
                    )))
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                    row.ok_or_else(|| Error::not_found("account", id))?.try_into()
                }

                async fn list_connections(&self) -> Result<Vec<Connection>> {
                    let rows: Vec<ConnectionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {CONNECTION_COLUMNS} FROM accounts ORDER BY platform, display_name, id"
                    )))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter().map(Connection::try_from).collect()
                }

                async fn connection_by_external(
                    &self,
                    platform: Platform,
                    external_id: &str,
                ) -> Result<Option<Connection>> {
                    let row: Option<ConnectionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {CONNECTION_COLUMNS} FROM accounts WHERE platform = $1 AND external_id = $2"
                    )))
                    .bind(platform.as_str())
                    .bind(external_id)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(Connection::try_from).transpose()
                }

                async fn save_connection(
                    &self,
                    c: &Connection,
                    credentials: &[SealedCredential],
                    event: &AuditEvent,
                ) -> Result<AccountId> {
                    let a = &c.account;
                    if let Some(other) = credentials.iter().find(|s| s.account_id != a.id) {
                        return Err(Error::Conflict(format!(
                            "a credential for account {} was given with account {}",
                            other.account_id, a.id
                        )));
                    }
                    let mut tx = self.begin_write().await?;
                    let (stored,): (String,) = sqlx::query_as(
                        "INSERT INTO accounts (id, platform, external_id, display_name, status, sandbox, \
                         connected_by, created_at, login, scopes, access_expires_at, refresh_expires_at, \
                         connected_at, last_refresh_at, last_refresh_error) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
                         ON CONFLICT (platform, external_id) DO UPDATE SET \
                         display_name = excluded.display_name, status = excluded.status, \
                         connected_by = excluded.connected_by, login = excluded.login, \
                         scopes = excluded.scopes, access_expires_at = excluded.access_expires_at, \
                         refresh_expires_at = COALESCE(excluded.refresh_expires_at, accounts.refresh_expires_at), \
                         connected_at = excluded.connected_at, last_refresh_at = excluded.last_refresh_at, \
                         last_refresh_error = excluded.last_refresh_error \
                         RETURNING id",
                    )
                    .bind(a.id.to_string())
                    .bind(a.platform.as_str())
                    .bind(&a.external_id)
                    .bind(&a.display_name)
                    .bind(a.status.as_str())
                    .bind(a.sandbox)
                    .bind(a.connected_by.map(|u| u.to_string()))
                    .bind(a.created_at)
                    .bind(c.login.map(|l| l.as_str()))
                    .bind(scopes_to_json(&c.scopes))
                    .bind(c.access_expires_at)
                    .bind(c.refresh_expires_at)
                    .bind(c.connected_at)
                    .bind(c.last_refresh_at)
                    .bind(c.last_refresh_error.as_deref())
                    .fetch_one(&mut *tx)
                    .await?;
                    if stored != a.id.to_string() {
                        return Err(Error::Conflict(format!(
                            "{} account {} was connected as {stored} meanwhile",
                            a.platform, a.external_id
                        )));
                    }
                    write_credentials(&mut tx, credentials).await?;
                    append_events(&mut tx, std::slice::from_ref(event)).await?;
                    tx.commit().await?;
                    Ok(a.id)
                }

                async fn set_connection_status(
                    &self,
                    id: AccountId,
                    status: AccountStatus,
                    error: Option<&str>,
                    event: &AuditEvent,
                ) -> Result<()> {
                    let mut tx = self.begin_write().await?;
                    let done = sqlx::query("UPDATE accounts SET status = $1, last_refresh_error = $2 WHERE id = $3")
                        .bind(status.as_str())
                        .bind(error)
                        .bind(id.to_string())
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(Error::not_found("account", id));
                    }
                    append_events(&mut tx, std::slice::from_ref(event)).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn disconnect_account(&self, id: AccountId, events: &[AuditEvent]) -> Result<u64> {
                    let mut tx = self.begin_write().await?;
                    let done = sqlx::query(
                        "UPDATE accounts SET status = 'disconnected', access_expires_at = NULL, \
                         refresh_expires_at = NULL, last_refresh_error = NULL WHERE id = $1",
                    )
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Err(Error::not_found("account", id));
                    }
                    let deleted = sqlx::query("DELETE FROM credentials WHERE account_id = $1")
                        .bind(id.to_string())
                        .execute(&mut *tx)
                        .await?;
                    append_events(&mut tx, events).await?;
                    tx.commit().await?;
                    Ok(deleted.rows_affected())
                }

                async fn connections_due(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<AccountId>> {
                    let rows: Vec<(String,)> = sqlx::query_as(
                        "SELECT id FROM accounts WHERE status = 'connected' AND sandbox = FALSE \
                         AND access_expires_at IS NOT NULL AND access_expires_at <= $1 \
                         ORDER BY access_expires_at, id LIMIT $2",
                    )
                    .bind(before)
                    .bind(i64::from(limit.clamp(1, 10_000)))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter()
                        .map(|(id,)| id.parse().map_err(|_| Error::Corrupt(format!("bad account id `{id}`"))))
                        .collect()
                }

                async fn lock_connection(&self, id: AccountId) -> Result<Box<dyn ConnectionLock>> {
                    let mut tx = self.begin_write().await?;
                    // Holds the row until commit or rollback (PostgreSQL); SQLite holds the write lock.
                    read_connection(&mut tx, id, ROW_LOCK).await?;
                    Ok(Box::new(SqlConnectionLock { tx, id }))
                }
            }
        }
    };
}

pub(crate) use impl_sql_connections;
