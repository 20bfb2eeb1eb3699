//! [`SessionStore`](crate::SessionStore), [`LoginAttemptStore`](crate::LoginAttemptStore) and
//! [`BrowseStore`](crate::BrowseStore) in SQL that both backends accept, as a macro instantiated next to
//! `impl_sql_store!` in `sqlite.rs` and `postgres.rs` (it uses that macro's `append_events`, the store's
//! `pool` and `begin_write()`).

macro_rules! impl_sql_sessions {
    ($store:ty, $db:ty) => {
        mod sql_sessions {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use natronfx_workflow::{AuditEvent, UserId};

            use super::append_events;
            #[allow(unused_imports, reason = "the store type is named by the macro's caller")]
            use super::*;
            use crate::rows::{AuditRow, MediaRow, SummaryRow};
            use crate::sessions::rows::{CalendarRow, SessionRow};
            use crate::{
                BrowseStore, CalendarEntry, Error, LoginAttempt, LoginAttemptStore, LoginFailures, MediaCursor,
                MediaRecord, PostSearch, PostSummary, Result, SessionRecord, SessionStore, StoredAuditEvent,
            };

            const SESSION_COLUMNS: &str = "id_hash, user_id, created_at, last_seen_at, expires_at, address, user_agent";

            async fn insert_attempt(tx: &mut sqlx::Transaction<'_, $db>, attempt: &LoginAttempt) -> Result<()> {
                sqlx::query("INSERT INTO login_attempts (at, email, address, success) VALUES ($1, $2, $3, $4)")
                    .bind(attempt.at)
                    .bind(&attempt.email)
                    .bind(&attempt.address)
                    .bind(attempt.success)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            #[async_trait]
            impl SessionStore for $store {
                async fn start_session(
                    &self,
                    session: &SessionRecord,
                    replaces: Option<&str>,
                    attempt: &LoginAttempt,
                    event: &AuditEvent,
                ) -> Result<()> {
                    let mut tx = self.begin_write().await?;
                    if let Some(old) = replaces {
                        sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(old).execute(&mut *tx).await?;
                    }
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                    )))
                    .bind(&session.id_hash)
                    .bind(session.user_id.to_string())
                    .bind(session.created_at)
                    .bind(session.last_seen_at)
                    .bind(session.expires_at)
                    .bind(&session.address)
                    .bind(&session.user_agent)
                    .execute(&mut *tx)
                    .await?;
                    insert_attempt(&mut tx, attempt).await?;
                    append_events(&mut tx, std::slice::from_ref(event)).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn session(&self, id_hash: &str) -> Result<SessionRecord> {
                    let row: Option<SessionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {SESSION_COLUMNS} FROM sessions WHERE id_hash = $1"
                    )))
                    .bind(id_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.ok_or_else(|| Error::not_found("session", "(by id)"))?.try_into()
                }

                async fn touch_session(&self, id_hash: &str, at: DateTime<Utc>) -> Result<()> {
                    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
                        .bind(at)
                        .bind(id_hash)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn end_session(&self, id_hash: &str, event: Option<&AuditEvent>) -> Result<bool> {
                    let mut tx = self.begin_write().await?;
                    let done = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                        .bind(id_hash)
                        .execute(&mut *tx)
                        .await?;
                    let existed = done.rows_affected() > 0;
                    if let (true, Some(event)) = (existed, event) {
                        append_events(&mut tx, std::slice::from_ref(event)).await?;
                    }
                    tx.commit().await?;
                    Ok(existed)
                }

                async fn sessions_of(&self, user: UserId) -> Result<Vec<SessionRecord>> {
                    let rows: Vec<SessionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, id_hash"
                    )))
                    .bind(user.to_string())
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter().map(SessionRecord::try_from).collect()
                }

                async fn change_password(
                    &self,
                    user: UserId,
                    password_hash: &str,
                    keep: Option<&str>,
                    event: &AuditEvent,
                ) -> Result<u64> {
                    let mut tx = self.begin_write().await?;
                    let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                        .bind(password_hash)
                        .bind(user.to_string())
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(Error::not_found("user", user));
                    }
                    let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND ($2 IS NULL OR id_hash <> $2)")
                        .bind(user.to_string())
                        .bind(keep)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    append_events(&mut tx, std::slice::from_ref(event)).await?;
                    tx.commit().await?;
                    Ok(ended)
                }

                async fn purge_sessions(&self, now: DateTime<Utc>, idle_before: DateTime<Utc>) -> Result<u64> {
                    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at < $2")
                        .bind(now)
                        .bind(idle_before)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected())
                }
            }

            #[async_trait]
            impl LoginAttemptStore for $store {
                async fn record_failed_login(&self, attempt: &LoginAttempt, event: &AuditEvent) -> Result<()> {
                    let mut tx = self.begin_write().await?;
                    insert_attempt(&mut tx, attempt).await?;
                    append_events(&mut tx, std::slice::from_ref(event)).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn login_failures(&self, email: &str, address: &str, since: DateTime<Utc>) -> Result<LoginFailures> {
                    // A successful login wipes the account's slate; an address's failures count regardless,
                    // since one address may try many accounts.
                    let (by_email,): (i64,) = sqlx::query_as(
                        "SELECT COUNT(*) FROM login_attempts f WHERE f.email = $1 AND NOT f.success AND f.at >= $2 \
                         AND NOT EXISTS (SELECT 1 FROM login_attempts s WHERE s.email = $1 AND s.success AND s.at >= f.at)",
                    )
                    .bind(email)
                    .bind(since)
                    .fetch_one(&self.pool)
                    .await?;
                    let (by_address,): (i64,) = sqlx::query_as(
                        "SELECT COUNT(*) FROM login_attempts WHERE address = $1 AND NOT success AND at >= $2",
                    )
                    .bind(address)
                    .bind(since)
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(LoginFailures { by_email, by_address })
                }

                async fn purge_login_attempts(&self, before: DateTime<Utc>) -> Result<u64> {
                    let done = sqlx::query("DELETE FROM login_attempts WHERE at < $1")
                        .bind(before)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected())
                }
            }

            #[async_trait]
            impl BrowseStore for $store {
                async fn search_posts(&self, search: &PostSearch) -> Result<Vec<PostSummary>> {
                    let filter = &search.filter;
                    let limit = i64::from(filter.limit.clamp(1, 500));
                    let rows: Vec<SummaryRow> = sqlx::query_as(
                        "SELECT p.id, p.title, p.state, p.author_id, \
                           (SELECT COUNT(*) FROM slides s WHERE s.post_id = p.id) AS slide_count, \
                           (SELECT COUNT(*) FROM targets t WHERE t.post_id = p.id) AS target_count, \
                           (SELECT MIN(t.scheduled_at) FROM targets t WHERE t.post_id = p.id AND t.state = 'scheduled') \
                             AS next_publish_at, \
                           p.updated_at, p.version \
                         FROM posts p \
                         WHERE ($1 IS NULL OR p.state = $1) AND ($2 IS NULL OR p.author_id = $2) \
                           AND ($3 IS NULL OR p.updated_at < $3 OR (p.updated_at = $3 AND p.id < $4)) \
                           AND (($6 IS NULL AND $7 IS NULL) OR EXISTS (SELECT 1 FROM targets t WHERE t.post_id = p.id \
                                AND ($6 IS NULL OR t.platform = $6) AND ($7 IS NULL OR t.account_id = $7))) \
                         ORDER BY p.updated_at DESC, p.id DESC LIMIT $5",
                    )
                    .bind(filter.state.map(|s| s.as_str()))
                    .bind(filter.author.map(|a| a.to_string()))
                    .bind(filter.after.map(|c| c.updated_at))
                    .bind(filter.after.map(|c| c.id.to_string()))
                    .bind(limit)
                    .bind(search.platform.map(|p| p.as_str()))
                    .bind(search.account.map(|a| a.to_string()))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter().map(PostSummary::try_from).collect()
                }

                async fn calendar(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<CalendarEntry>> {
                    let rows: Vec<CalendarRow> = sqlx::query_as(
                        "SELECT p.id AS post_id, p.title, p.state AS post_state, t.id AS target_id, t.platform, \
                           t.account_id, a.display_name AS account_name, t.state AS target_state, t.scheduled_at AS at \
                         FROM targets t JOIN posts p ON p.id = t.post_id JOIN accounts a ON a.id = t.account_id \
                         WHERE t.scheduled_at >= $1 AND t.scheduled_at < $2 AND p.state <> 'archived' \
                         ORDER BY t.scheduled_at, t.id",
                    )
                    .bind(from)
                    .bind(to)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter().map(CalendarEntry::try_from).collect()
                }

                async fn audit_page(&self, before_seq: Option<i64>, limit: u32) -> Result<Vec<StoredAuditEvent>> {
                    let rows: Vec<AuditRow> = sqlx::query_as(
                        "SELECT seq, at, actor_id, action, subject_kind, subject_id, from_state, to_state, note \
                         FROM audit_events WHERE ($1 IS NULL OR seq < $1) ORDER BY seq DESC LIMIT $2",
                    )
                    .bind(before_seq)
                    .bind(i64::from(limit.clamp(1, 1000)))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter().map(StoredAuditEvent::try_from).collect()
                }

                async fn media_page(&self, after: Option<MediaCursor>, limit: u32) -> Result<Vec<MediaRecord>> {
                    let rows: Vec<MediaRow> = sqlx::query_as(
                        "SELECT id, key, sha256, bytes, width, height, format, source, created_by, created_at \
                         FROM media WHERE purged_at IS NULL \
                           AND ($1 IS NULL OR created_at < $1 OR (created_at = $1 AND id < $2)) \
                         ORDER BY created_at DESC, id DESC LIMIT $3",
                    )
                    .bind(after.map(|c| c.created_at))
                    .bind(after.map(|c| c.id.to_string()))
                    .bind(i64::from(limit.clamp(1, 1000)))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter().map(MediaRecord::try_from).collect()
                }
            }
        }
    };
}

pub(crate) use impl_sql_sessions;
