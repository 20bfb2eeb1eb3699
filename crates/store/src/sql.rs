//! The storage traits implemented once in SQL that both SQLite and PostgreSQL accept.
//!
//! sqlx numbers placeholders `$1, $2, ...` on both backends, and every statement here is plain SQL both
//! understand (`ON CONFLICT`, `RETURNING`, row-value comparison), so one body serves both. The macro is
//! instantiated in `sqlite.rs` and `postgres.rs`, each of which supplies `pool` and `begin_write()`; what
//! truly differs (claiming due targets with `SKIP LOCKED`, write-transaction mode) lives there.

macro_rules! impl_sql_store {
    ($store:ty, $db:ty, $chain_lock:expr) => {
        use async_trait::async_trait;
        use chrono::{DateTime, Utc};
        use natronfx_workflow::{
            Account, AccountId, AuditEvent, Email, MediaId, Post, PostId, PostSnapshot, TokenId, User,
            UserId,
        };

        use crate::rows::{
            AccountRow, AuditRow, MediaRow, PostRow, ReviewRow, SlideRow, SummaryRow, TargetRow, TokenRow,
            UserRow, hashtags_from_json, hashtags_to_json,
        };
        use crate::{
            AccountStore, ApiToken, AuditStore, ContentFingerprint, CredentialStore, Error, FingerprintStore,
            MediaRecord, MediaRecordStore, PostFilter, PostStore, PostSummary, Result, SealedCredential,
            SealedServiceSecret, SettingsStore, StoredAuditEvent, TokenStore, UserStore,
        };
        use crate::rows::{ContentRow, CredentialRow, ServiceSecretRow, SlideHashRow, hash_to_db};

        /// Appends events to the hash chain inside the caller's transaction. The chain head is read under
        /// the backend's lock (SQLite's write lock; a transaction-scoped advisory lock on PostgreSQL), so
        /// concurrent writers never fork it.
        async fn append_events(tx: &mut sqlx::Transaction<'_, $db>, events: &[AuditEvent]) -> Result<()> {
            if events.is_empty() {
                return Ok(());
            }
            let lock: Option<&'static str> = $chain_lock;
            if let Some(lock) = lock {
                sqlx::query(sqlx::AssertSqlSafe(lock)).execute(&mut **tx).await?;
            }
            let head: Option<(Option<String>,)> =
                sqlx::query_as("SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&mut **tx)
                    .await?;
            let mut prev = head.and_then(|h| h.0).unwrap_or_else(|| crate::chain::GENESIS.to_owned());
            for e in events {
                let hash = crate::chain::event_hash(&prev, e);
                sqlx::query(
                    "INSERT INTO audit_events \
                     (at, actor_id, action, subject_kind, subject_id, from_state, to_state, note, prev_hash, hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(crate::chain::stored_instant(e.at))
                .bind(e.actor.map(|a| a.to_string()))
                .bind(e.action.as_str())
                .bind(&e.subject_kind)
                .bind(&e.subject_id)
                .bind(&e.from_state)
                .bind(&e.to_state)
                .bind(&e.note)
                .bind(&prev)
                .bind(&hash)
                .execute(&mut **tx)
                .await?;
                prev = hash;
            }
            Ok(())
        }

        const USER_COLUMNS: &str = "id, email, display_name, role, disabled, created_at";

        #[async_trait]
        impl UserStore for $store {
            async fn insert_user(&self, user: &User, password_hash: Option<&str>, event: &AuditEvent) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO users (id, email, display_name, role, password_hash, disabled, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(user.id.to_string())
                .bind(user.email.as_str())
                .bind(&user.display_name)
                .bind(user.role.as_str())
                .bind(password_hash)
                .bind(user.disabled)
                .bind(user.created_at)
                .execute(&mut *tx)
                .await
                .map_err(|e| match Error::from(e) {
                    Error::Conflict(_) => Error::Conflict(format!("a user with email {} already exists", user.email)),
                    other => other,
                })?;
                append_events(&mut tx, std::slice::from_ref(event)).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn user(&self, id: UserId) -> Result<User> {
                let row: Option<UserRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")))
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await?;
                row.ok_or_else(|| Error::not_found("user", id))?.try_into()
            }

            async fn user_by_email(&self, email: &Email) -> Result<User> {
                let row: Option<UserRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1")))
                        .bind(email.as_str())
                        .fetch_optional(&self.pool)
                        .await?;
                row.ok_or_else(|| Error::not_found("user", email))?.try_into()
            }

            async fn password_hash(&self, id: UserId) -> Result<Option<String>> {
                let row: Option<(Option<String>,)> = sqlx::query_as("SELECT password_hash FROM users WHERE id = $1")
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.ok_or_else(|| Error::not_found("user", id))?.0)
            }

            async fn list_users(&self) -> Result<Vec<User>> {
                let rows: Vec<UserRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users ORDER BY email")))
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter().map(User::try_from).collect()
            }

            async fn update_user(&self, user: &User, event: &AuditEvent) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE users SET display_name = $1, role = $2, disabled = $3 WHERE id = $4")
                    .bind(&user.display_name)
                    .bind(user.role.as_str())
                    .bind(user.disabled)
                    .bind(user.id.to_string())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(Error::not_found("user", user.id));
                }
                append_events(&mut tx, std::slice::from_ref(event)).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn set_password_hash(&self, id: UserId, hash: &str, event: &AuditEvent) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                    .bind(hash)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(Error::not_found("user", id));
                }
                append_events(&mut tx, std::slice::from_ref(event)).await?;
                tx.commit().await?;
                Ok(())
            }
        }

        const TOKEN_COLUMNS: &str = "id, user_id, name, role, created_at, last_used_at, revoked_at";

        #[async_trait]
        impl TokenStore for $store {
            async fn insert_token(&self, token: &ApiToken, secret_hash: &str, event: &AuditEvent) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO api_tokens (id, user_id, name, token_hash, role, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(token.id.to_string())
                .bind(token.user_id.to_string())
                .bind(&token.name)
                .bind(secret_hash)
                .bind(token.role.as_str())
                .bind(token.created_at)
                .execute(&mut *tx)
                .await?;
                append_events(&mut tx, std::slice::from_ref(event)).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn token_by_hash(&self, secret_hash: &str) -> Result<ApiToken> {
                let row: Option<TokenRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
                )))
                .bind(secret_hash)
                .fetch_optional(&self.pool)
                .await?;
                row.ok_or_else(|| Error::not_found("token", "(by secret)"))?.try_into()
            }

            async fn token(&self, id: TokenId) -> Result<ApiToken> {
                let row: Option<TokenRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1")))
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await?;
                row.ok_or_else(|| Error::not_found("token", id))?.try_into()
            }

            async fn list_tokens(&self, user: UserId) -> Result<Vec<ApiToken>> {
                let rows: Vec<TokenRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
                )))
                .bind(user.to_string())
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(ApiToken::try_from).collect()
            }

            async fn revoke_token(&self, id: TokenId, at: DateTime<Utc>, event: &AuditEvent) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(at)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(Error::not_found("live token", id));
                }
                append_events(&mut tx, std::slice::from_ref(event)).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn touch_token(&self, id: TokenId, at: DateTime<Utc>) -> Result<()> {
                sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                    .bind(at)
                    .bind(id.to_string())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }

        /// Saves a whole post inside the caller's transaction, guarded by its version: a concurrent change is
        /// a [`Error::Conflict`]. Returns the new version.
        async fn save_post_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            post: &PostSnapshot,
            events: &[AuditEvent],
        ) -> Result<i64> {
            let done = sqlx::query(
                "UPDATE posts SET title = $1, caption = $2, extra_hashtags = $3, state = $4, \
                 version = version + 1, content_version = $5, updated_at = $6 WHERE id = $7 AND version = $8",
            )
            .bind(post.title.as_str())
            .bind(post.caption.as_str())
            .bind(hashtags_to_json(&post.extra_hashtags))
            .bind(post.state.as_str())
            .bind(i64::from(post.content_version))
            .bind(post.updated_at)
            .bind(post.id.to_string())
            .bind(post.version)
            .execute(&mut **tx)
            .await?;
            if done.rows_affected() == 0 {
                let current: Option<(i64,)> = sqlx::query_as("SELECT version FROM posts WHERE id = $1")
                    .bind(post.id.to_string())
                    .fetch_optional(&mut **tx)
                    .await?;
                return Err(match current {
                    Some((v,)) => Error::Conflict(format!(
                        "post {} was changed by someone else (you had version {}, it is now {v}); \
                         reload it and try again",
                        post.id, post.version
                    )),
                    None => Error::not_found("post", post.id),
                });
            }
            write_post_children(tx, post).await?;
            append_events(tx, events).await?;
            Ok(post.version + 1)
        }

        async fn write_post_children(tx: &mut sqlx::Transaction<'_, $db>, post: &PostSnapshot) -> Result<()> {
            let id = post.id.to_string();
            sqlx::query("DELETE FROM slides WHERE post_id = $1").bind(&id).execute(&mut **tx).await?;
            for (position, slide) in post.slides.iter().enumerate() {
                sqlx::query("INSERT INTO slides (post_id, position, media_id, alt_text) VALUES ($1, $2, $3, $4)")
                    .bind(&id)
                    .bind(i32::try_from(position).map_err(|_| Error::Conflict("too many slides".into()))?)
                    .bind(slide.media_id.to_string())
                    .bind(slide.alt_text.as_str())
                    .execute(&mut **tx)
                    .await
                    .map_err(|e| match e {
                        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                            Error::not_found("media", slide.media_id)
                        }
                        other => other.into(),
                    })?;
            }
            let existing: Vec<(String,)> = sqlx::query_as("SELECT id FROM targets WHERE post_id = $1")
                .bind(&id)
                .fetch_all(&mut **tx)
                .await?;
            for (old,) in existing {
                if !post.targets.iter().any(|t| t.id.to_string() == old) {
                    sqlx::query("DELETE FROM targets WHERE id = $1").bind(old).execute(&mut **tx).await?;
                }
            }
            for t in &post.targets {
                sqlx::query(
                    "INSERT INTO targets \
                     (id, post_id, platform, account_id, caption_override, state, scheduled_at, options) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (id) DO UPDATE SET caption_override = excluded.caption_override, \
                     state = excluded.state, scheduled_at = excluded.scheduled_at, options = excluded.options, \
                     next_attempt_at = CASE WHEN targets.state = excluded.state \
                       AND targets.scheduled_at IS NOT DISTINCT FROM excluded.scheduled_at \
                       THEN targets.next_attempt_at ELSE NULL END, \
                     retries = CASE WHEN targets.state = excluded.state \
                       AND targets.scheduled_at IS NOT DISTINCT FROM excluded.scheduled_at \
                       THEN targets.retries ELSE 0 END",
                )
                .bind(t.id.to_string())
                .bind(&id)
                .bind(t.platform.as_str())
                .bind(t.account_id.to_string())
                .bind(t.caption_override.as_ref().map(|c| c.as_str()))
                .bind(t.state.as_str())
                .bind(t.scheduled_at.map(|s| s.instant()))
                .bind(serde_json::to_string(&t.options).map_err(|e| Error::Corrupt(e.to_string()))?)
                .execute(&mut **tx)
                .await
                .map_err(|e| match e {
                    sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                        Error::not_found("account", t.account_id)
                    }
                    other => other.into(),
                })?;
            }
            for r in &post.reviews {
                sqlx::query(
                    "INSERT INTO reviews (id, post_id, reviewer_id, decision, comment, content_version, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
                )
                .bind(r.id.to_string())
                .bind(&id)
                .bind(r.reviewer.to_string())
                .bind(r.decision.as_str())
                .bind(&r.comment)
                .bind(i64::from(r.content_version))
                .bind(r.at)
                .execute(&mut **tx)
                .await?;
            }
            Ok(())
        }

        #[async_trait]
        impl PostStore for $store {
            async fn insert_post(&self, post: &PostSnapshot, events: &[AuditEvent]) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO posts (id, author_id, title, caption, extra_hashtags, state, version, \
                     content_version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(post.id.to_string())
                .bind(post.author.to_string())
                .bind(post.title.as_str())
                .bind(post.caption.as_str())
                .bind(hashtags_to_json(&post.extra_hashtags))
                .bind(post.state.as_str())
                .bind(post.version)
                .bind(i64::from(post.content_version))
                .bind(post.created_at)
                .bind(post.updated_at)
                .execute(&mut *tx)
                .await?;
                write_post_children(&mut tx, post).await?;
                append_events(&mut tx, events).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn post(&self, id: PostId) -> Result<Post> {
                let key = id.to_string();
                let row: Option<PostRow> = sqlx::query_as(
                    "SELECT id, author_id, title, caption, extra_hashtags, state, version, content_version, \
                     created_at, updated_at FROM posts WHERE id = $1",
                )
                .bind(&key)
                .fetch_optional(&self.pool)
                .await?;
                let row = row.ok_or_else(|| Error::not_found("post", id))?;
                let slides: Vec<SlideRow> =
                    sqlx::query_as("SELECT media_id, alt_text FROM slides WHERE post_id = $1 ORDER BY position")
                        .bind(&key)
                        .fetch_all(&self.pool)
                        .await?;
                let targets: Vec<TargetRow> = sqlx::query_as(
                    "SELECT id, platform, account_id, caption_override, options, state, scheduled_at \
                     FROM targets WHERE post_id = $1 ORDER BY platform, id",
                )
                .bind(&key)
                .fetch_all(&self.pool)
                .await?;
                let reviews: Vec<ReviewRow> = sqlx::query_as(
                    "SELECT id, reviewer_id, decision, comment, content_version, created_at \
                     FROM reviews WHERE post_id = $1 ORDER BY created_at, id",
                )
                .bind(&key)
                .fetch_all(&self.pool)
                .await?;
                let snapshot = PostSnapshot {
                    id: row.id.parse().map_err(|_| Error::Corrupt(format!("bad post id {}", row.id)))?,
                    author: row.author_id.parse().map_err(|_| Error::Corrupt("bad author id".into()))?,
                    title: crate::rows::title(&row.title)?,
                    caption: natronfx_workflow::Caption::parse(&row.caption)?,
                    extra_hashtags: hashtags_from_json(&row.extra_hashtags)?,
                    slides: slides.into_iter().map(TryInto::try_into).collect::<Result<_>>()?,
                    targets: targets.into_iter().map(TryInto::try_into).collect::<Result<_>>()?,
                    state: row.state.parse().map_err(|_| Error::Corrupt(format!("bad state {}", row.state)))?,
                    version: row.version,
                    content_version: u32::try_from(row.content_version)
                        .map_err(|_| Error::Corrupt("negative content version".into()))?,
                    reviews: reviews.into_iter().map(TryInto::try_into).collect::<Result<_>>()?,
                    created_at: row.created_at,
                    updated_at: row.updated_at,
                };
                Ok(Post::restore(snapshot))
            }

            async fn save_post(&self, post: &PostSnapshot, events: &[AuditEvent]) -> Result<i64> {
                let mut tx = self.begin_write().await?;
                let version = save_post_in(&mut tx, post, events).await?;
                tx.commit().await?;
                Ok(version)
            }

            async fn list_posts(&self, filter: &PostFilter) -> Result<Vec<PostSummary>> {
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
                     ORDER BY p.updated_at DESC, p.id DESC LIMIT $5",
                )
                .bind(filter.state.map(|s| s.as_str()))
                .bind(filter.author.map(|a| a.to_string()))
                .bind(filter.after.map(|c| c.updated_at))
                .bind(filter.after.map(|c| c.id.to_string()))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(PostSummary::try_from).collect()
            }

            async fn targets_for_account_between(
                &self,
                account: AccountId,
                from: DateTime<Utc>,
                to: DateTime<Utc>,
                excluding_post: PostId,
            ) -> Result<i64> {
                let (n,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM targets WHERE account_id = $1 AND post_id <> $2 \
                     AND state IN ('scheduled', 'publishing', 'published') \
                     AND scheduled_at >= $3 AND scheduled_at <= $4",
                )
                .bind(account.to_string())
                .bind(excluding_post.to_string())
                .bind(from)
                .bind(to)
                .fetch_one(&self.pool)
                .await?;
                Ok(n)
            }
        }

        const ACCOUNT_COLUMNS: &str =
            "id, platform, external_id, display_name, status, sandbox, connected_by, created_at";

        #[async_trait]
        impl AccountStore for $store {
            async fn insert_account(&self, account: &Account, event: &AuditEvent) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO accounts (id, platform, external_id, display_name, status, sandbox, \
                     connected_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(account.id.to_string())
                .bind(account.platform.as_str())
                .bind(&account.external_id)
                .bind(&account.display_name)
                .bind(account.status.as_str())
                .bind(account.sandbox)
                .bind(account.connected_by.map(|u| u.to_string()))
                .bind(account.created_at)
                .execute(&mut *tx)
                .await?;
                append_events(&mut tx, std::slice::from_ref(event)).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn account(&self, id: AccountId) -> Result<Account> {
                let row: Option<AccountRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1")))
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await?;
                row.ok_or_else(|| Error::not_found("account", id))?.try_into()
            }

            async fn list_accounts(&self) -> Result<Vec<Account>> {
                let rows: Vec<AccountRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY platform, display_name, id"
                )))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(Account::try_from).collect()
            }
        }

        #[async_trait]
        impl MediaRecordStore for $store {
            async fn insert_media(&self, m: &MediaRecord) -> Result<MediaId> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO media (id, key, sha256, bytes, width, height, format, source, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (key) DO UPDATE SET \
                     created_at = CASE WHEN media.purged_at IS NULL THEN media.created_at ELSE excluded.created_at END, \
                     purged_at = NULL",
                )
                .bind(m.id.to_string())
                .bind(&m.key)
                .bind(&m.sha256)
                .bind(m.bytes)
                .bind(m.width)
                .bind(m.height)
                .bind(&m.format)
                .bind(m.source.as_str())
                .bind(m.created_by.map(|u| u.to_string()))
                .bind(m.created_at)
                .execute(&mut *tx)
                .await?;
                let (id,): (String,) = sqlx::query_as("SELECT id FROM media WHERE key = $1")
                    .bind(&m.key)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                id.parse().map_err(|_| Error::Corrupt(format!("bad media id {id}")))
            }

            async fn media(&self, id: MediaId) -> Result<MediaRecord> {
                let row: Option<MediaRow> = sqlx::query_as(
                    "SELECT id, key, sha256, bytes, width, height, format, source, created_by, created_at \
                     FROM media WHERE id = $1",
                )
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
                row.ok_or_else(|| Error::not_found("media", id))?.try_into()
            }

            async fn list_media(&self, limit: u32) -> Result<Vec<MediaRecord>> {
                let rows: Vec<MediaRow> = sqlx::query_as(
                    "SELECT id, key, sha256, bytes, width, height, format, source, created_by, created_at \
                     FROM media WHERE purged_at IS NULL ORDER BY created_at DESC, id DESC LIMIT $1",
                )
                .bind(i64::from(limit.clamp(1, 1000)))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(MediaRecord::try_from).collect()
            }
        }

        #[async_trait]
        impl SettingsStore for $store {
            async fn setting(&self, key: &str) -> Result<Option<String>> {
                let row: Option<(String,)> = sqlx::query_as("SELECT value FROM settings WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.0))
            }

            async fn set_setting(&self, key: &str, value: &str, event: &AuditEvent) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .bind(key)
                .bind(value)
                .bind(event.at)
                .execute(&mut *tx)
                .await?;
                append_events(&mut tx, std::slice::from_ref(event)).await?;
                tx.commit().await?;
                Ok(())
            }
        }

        const AUDIT_COLUMNS: &str =
            "seq, at, actor_id, action, subject_kind, subject_id, from_state, to_state, note";

        #[async_trait]
        impl AuditStore for $store {
            async fn append_audit(&self, events: &[AuditEvent]) -> Result<()> {
                let mut tx = self.begin_write().await?;
                append_events(&mut tx, events).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn audit_for(&self, subject_kind: &str, subject_id: &str) -> Result<Vec<StoredAuditEvent>> {
                let rows: Vec<AuditRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE subject_kind = $1 AND subject_id = $2 ORDER BY seq"
                )))
                .bind(subject_kind)
                .bind(subject_id)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(StoredAuditEvent::try_from).collect()
            }

            async fn verify_audit_chain(&self) -> Result<crate::ChainCheck> {
                let mut prev = crate::chain::GENESIS.to_owned();
                let mut after = i64::MIN;
                let mut checked = 0u64;
                // Retention deleted the oldest events: the newest anchor names the first event kept and the
                // link it must carry. Any other first event must link to the genesis.
                let anchor: Option<(i64, String)> =
                    sqlx::query_as("SELECT first_seq, prev_hash FROM audit_anchors ORDER BY first_seq DESC LIMIT 1")
                        .fetch_optional(&self.pool)
                        .await?;
                let mut anchored_at = None;
                loop {
                    let rows: Vec<crate::rows::ChainRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {AUDIT_COLUMNS}, prev_hash, hash FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT 1000"
                    )))
                    .bind(after)
                    .fetch_all(&self.pool)
                    .await?;
                    let Some(last) = rows.last() else { break };
                    after = last.seq();
                    for row in rows {
                        let (prev_hash, hash) = (row.prev_hash.clone(), row.hash.clone());
                        let stored = StoredAuditEvent::try_from(row.event)?;
                        if checked == 0 {
                            if let Some((first_seq, link)) = &anchor {
                                if *first_seq == stored.seq {
                                    prev = link.clone();
                                    anchored_at = Some(stored.seq);
                                }
                            }
                        }
                        match crate::chain::check_row(&prev, stored.seq, &stored.event, prev_hash.as_deref(), hash.as_deref()) {
                            Ok(next) => prev = next,
                            Err(first_break) => {
                                return Ok(crate::ChainCheck { checked, first_break: Some(first_break), anchored_at });
                            }
                        }
                        checked += 1;
                    }
                }
                Ok(crate::ChainCheck { checked, first_break: None, anchored_at })
            }

            async fn search_audit(&self, filter: &crate::AuditFilter) -> Result<Vec<StoredAuditEvent>> {
                let limit = if filter.limit == 0 { 50 } else { filter.limit.clamp(1, 1000) };
                let rows: Vec<AuditRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_events \
                     WHERE ($1 IS NULL OR action = $1) AND ($2 IS NULL OR subject_kind = $2) \
                       AND ($3 IS NULL OR subject_id = $3) AND ($4 IS NULL OR actor_id = $4) \
                       AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR at < $6) AND ($7 IS NULL OR seq < $7) \
                     ORDER BY seq DESC LIMIT $8"
                )))
                .bind(filter.action.map(|a| a.as_str()))
                .bind(filter.subject_kind.as_deref())
                .bind(filter.subject_id.as_deref())
                .bind(filter.actor.map(|a| a.to_string()))
                .bind(filter.since.map(crate::chain::stored_instant))
                .bind(filter.until.map(crate::chain::stored_instant))
                .bind(filter.before_seq)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(StoredAuditEvent::try_from).collect()
            }

            async fn recent_audit(&self, limit: u32) -> Result<Vec<StoredAuditEvent>> {
                let rows: Vec<AuditRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_events ORDER BY seq DESC LIMIT $1"
                )))
                .bind(i64::from(limit.clamp(1, 1000)))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(StoredAuditEvent::try_from).collect()
            }
        }

        const CREDENTIAL_COLUMNS: &str = "account_id, field, key_id, ciphertext, expires_at, updated_at";

        #[async_trait]
        impl CredentialStore for $store {
            async fn put_credentials(&self, credentials: &[SealedCredential], event: Option<&AuditEvent>) -> Result<()> {
                let mut tx = self.begin_write().await?;
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
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match e {
                        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                            Error::not_found("account", c.account_id)
                        }
                        other => other.into(),
                    })?;
                }
                if let Some(e) = event {
                    append_events(&mut tx, std::slice::from_ref(e)).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn credential(&self, account: AccountId, field: &str) -> Result<SealedCredential> {
                let row: Option<CredentialRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE account_id = $1 AND field = $2"
                )))
                .bind(account.to_string())
                .bind(field)
                .fetch_optional(&self.pool)
                .await?;
                row.ok_or_else(|| Error::not_found("credential", format!("{account}/{field}")))?.try_into()
            }

            async fn credentials_of(&self, account: AccountId) -> Result<Vec<SealedCredential>> {
                let rows: Vec<CredentialRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE account_id = $1 ORDER BY field"
                )))
                .bind(account.to_string())
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(SealedCredential::try_from).collect()
            }

            async fn delete_credentials(&self, account: AccountId, event: &AuditEvent) -> Result<u64> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("DELETE FROM credentials WHERE account_id = $1")
                    .bind(account.to_string())
                    .execute(&mut *tx)
                    .await?;
                append_events(&mut tx, std::slice::from_ref(event)).await?;
                tx.commit().await?;
                Ok(done.rows_affected())
            }

            async fn credential_counts_by_key(&self) -> Result<Vec<(u32, i64)>> {
                let rows: Vec<(i64, i64)> =
                    sqlx::query_as(
                        "SELECT key_id, COUNT(*) FROM \
                         (SELECT key_id FROM credentials UNION ALL SELECT key_id FROM service_secrets) sealed \
                         GROUP BY key_id ORDER BY key_id",
                    )
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter()
                    .map(|(k, n)| Ok((u32::try_from(k).map_err(|_| Error::Corrupt(format!("bad key id {k}")))?, n)))
                    .collect()
            }

            async fn credentials_not_sealed_by(&self, key_id: u32, limit: u32) -> Result<Vec<SealedCredential>> {
                let rows: Vec<CredentialRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE key_id <> $1 \
                     ORDER BY account_id, field LIMIT $2"
                )))
                .bind(i64::from(key_id))
                .bind(i64::from(limit.max(1)))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(SealedCredential::try_from).collect()
            }

            async fn reseal_credential(&self, old: &SealedCredential, new: &SealedCredential) -> Result<bool> {
                let done = sqlx::query(
                    "UPDATE credentials SET key_id = $1, ciphertext = $2 \
                     WHERE account_id = $3 AND field = $4 AND ciphertext = $5",
                )
                .bind(i64::from(new.key_id))
                .bind(&new.ciphertext)
                .bind(old.account_id.to_string())
                .bind(&old.field)
                .bind(&old.ciphertext)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn reseal_credentials(&self, pairs: &[(SealedCredential, SealedCredential)]) -> Result<Vec<bool>> {
                let mut tx = self.begin_write().await?;
                let mut out = Vec::with_capacity(pairs.len());
                for (old, new) in pairs {
                    let done = sqlx::query(
                        "UPDATE credentials SET key_id = $1, ciphertext = $2 \
                         WHERE account_id = $3 AND field = $4 AND ciphertext = $5",
                    )
                    .bind(i64::from(new.key_id))
                    .bind(&new.ciphertext)
                    .bind(old.account_id.to_string())
                    .bind(&old.field)
                    .bind(&old.ciphertext)
                    .execute(&mut *tx)
                    .await?;
                    out.push(done.rows_affected() == 1);
                }
                tx.commit().await?;
                Ok(out)
            }

            async fn put_service_secret(&self, secret: &SealedServiceSecret, event: &AuditEvent) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO service_secrets (name, key_id, ciphertext, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (name) DO UPDATE SET key_id = excluded.key_id, \
                     ciphertext = excluded.ciphertext, updated_at = excluded.updated_at",
                )
                .bind(&secret.name)
                .bind(i64::from(secret.key_id))
                .bind(&secret.ciphertext)
                .bind(secret.updated_at)
                .execute(&mut *tx)
                .await?;
                append_events(&mut tx, std::slice::from_ref(event)).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn service_secret(&self, name: &str) -> Result<SealedServiceSecret> {
                let row: Option<ServiceSecretRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {SERVICE_SECRET_COLUMNS} FROM service_secrets WHERE name = $1"
                )))
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
                row.ok_or_else(|| Error::not_found("service secret", name))?.try_into()
            }

            async fn service_secrets(&self) -> Result<Vec<SealedServiceSecret>> {
                let rows: Vec<ServiceSecretRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {SERVICE_SECRET_COLUMNS} FROM service_secrets ORDER BY name"
                )))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(SealedServiceSecret::try_from).collect()
            }

            async fn delete_service_secret(&self, name: &str, event: &AuditEvent) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("DELETE FROM service_secrets WHERE name = $1")
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                append_events(&mut tx, std::slice::from_ref(event)).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn reseal_service_secret(&self, old: &SealedServiceSecret, new: &SealedServiceSecret) -> Result<bool> {
                let done = sqlx::query(
                    "UPDATE service_secrets SET key_id = $1, ciphertext = $2 WHERE name = $3 AND ciphertext = $4",
                )
                .bind(i64::from(new.key_id))
                .bind(&new.ciphertext)
                .bind(&old.name)
                .bind(&old.ciphertext)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }
        }

        const SERVICE_SECRET_COLUMNS: &str = "name, key_id, ciphertext, updated_at";

        const CONTENT_COLUMNS: &str =
            "id, post_id, account_id, platform, published_at, caption_exact, caption_simhash";

        impl $store {
            async fn load_fingerprints(&self, contents: Vec<ContentRow>) -> Result<Vec<ContentFingerprint>> {
                let (Some(first), Some(last)) = (contents.first().map(|c| c.id), contents.last().map(|c| c.id)) else {
                    return Ok(Vec::new());
                };
                let (lo, hi) = (first.min(last), first.max(last));
                let slides: Vec<SlideHashRow> = sqlx::query_as(
                    "SELECT content_id, position, dhash, phash FROM slide_fingerprints \
                     WHERE content_id BETWEEN $1 AND $2 ORDER BY content_id, position",
                )
                .bind(lo)
                .bind(hi)
                .fetch_all(&self.pool)
                .await?;
                crate::rows::fingerprints(contents, slides)
            }
        }

        #[async_trait]
        impl FingerprintStore for $store {
            async fn record_fingerprint(&self, fp: &ContentFingerprint) -> Result<i64> {
                let mut tx = self.begin_write().await?;
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO content_fingerprints \
                     (post_id, account_id, platform, published_at, caption_exact, caption_simhash) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (post_id, account_id) DO UPDATE SET \
                     published_at = excluded.published_at, caption_exact = excluded.caption_exact, \
                     caption_simhash = excluded.caption_simhash RETURNING id",
                )
                .bind(fp.post_id.to_string())
                .bind(fp.account_id.to_string())
                .bind(fp.platform.as_str())
                .bind(fp.published_at)
                .bind(&fp.caption_exact)
                .bind(hash_to_db(fp.caption_simhash))
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM slide_fingerprints WHERE content_id = $1").bind(id).execute(&mut *tx).await?;
                for s in &fp.slides {
                    sqlx::query(
                        "INSERT INTO slide_fingerprints (content_id, position, dhash, phash) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(id)
                    .bind(i64::from(s.position))
                    .bind(hash_to_db(s.dhash))
                    .bind(hash_to_db(s.phash))
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(id)
            }

            async fn fingerprints_after(&self, after_id: i64, limit: u32) -> Result<Vec<ContentFingerprint>> {
                let contents: Vec<ContentRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {CONTENT_COLUMNS} FROM content_fingerprints WHERE id > $1 ORDER BY id LIMIT $2"
                )))
                .bind(after_id)
                .bind(i64::from(limit.max(1)))
                .fetch_all(&self.pool)
                .await?;
                self.load_fingerprints(contents).await
            }

            async fn fingerprint(&self, id: i64) -> Result<ContentFingerprint> {
                let contents: Vec<ContentRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {CONTENT_COLUMNS} FROM content_fingerprints WHERE id = $1"
                )))
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                self.load_fingerprints(contents).await?.pop().ok_or_else(|| Error::not_found("fingerprint", id))
            }

            async fn fingerprints_by_caption(&self, exact: &[u8]) -> Result<Vec<ContentFingerprint>> {
                let contents: Vec<ContentRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {CONTENT_COLUMNS} FROM content_fingerprints WHERE caption_exact = $1 ORDER BY id"
                )))
                .bind(exact)
                .fetch_all(&self.pool)
                .await?;
                let mut out = Vec::new();
                for c in contents {
                    out.extend(self.load_fingerprints(vec![c]).await?);
                }
                Ok(out)
            }
        }
    };
}

pub(crate) use impl_sql_store;
