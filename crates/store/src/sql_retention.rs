//! [`crate::RetentionStore`] in SQL both backends accept, instantiated next to `impl_sql_store!` (whose
//! `append_events` the audit purge reuses, so the chain's lock is taken the same way).
//!
//! Each purge is one `WHERE` clause used twice: counted for a dry run, deleted for a real one.

/// Target states that still need their post's media and log: waiting, in flight or waiting for a person.
pub(crate) const PENDING_TARGETS: &str = "('scheduled', 'publishing', 'missed', 'needs_attention')";

/// Media whose file retention may delete at `$1` (published cutoff), `$2` (inactive cutoff) and `$3`
/// (orphan cutoff): not purged yet; used by some post, or stored before the orphan cutoff; and every post
/// using it has let go of it: none of its targets needs it, and either all its targets are published with
/// a platform id and the last confirmation is older than the published cutoff, or (any other post) it
/// was last changed before the inactive cutoff.
pub(crate) const RELEASABLE_MEDIA: &str = "m.purged_at IS NULL \
     AND (EXISTS (SELECT 1 FROM slides s WHERE s.media_id = m.id) OR m.created_at < $3) \
     AND NOT EXISTS (SELECT 1 FROM slides s JOIN posts p ON p.id = s.post_id WHERE s.media_id = m.id AND ( \
       EXISTS (SELECT 1 FROM targets t WHERE t.post_id = p.id AND t.state IN \
         ('scheduled', 'publishing', 'missed', 'needs_attention')) \
       OR (CASE WHEN EXISTS (SELECT 1 FROM targets t WHERE t.post_id = p.id) \
              AND NOT EXISTS (SELECT 1 FROM targets t WHERE t.post_id = p.id \
                AND (t.state <> 'published' OR t.published_post_id IS NULL)) \
            THEN (SELECT MAX(COALESCE(t.published_at, p.updated_at)) FROM targets t WHERE t.post_id = p.id) >= $1 \
            ELSE p.updated_at >= $2 END)))";

macro_rules! impl_sql_retention {
    ($store:ty, $db:ty, $media_lock:expr) => {
        mod sql_retention {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use natronfx_workflow::{AuditEvent, MediaId};

            use super::append_events;
            #[allow(unused_imports, reason = "the store type is named by the macro's caller")]
            use super::*;
            use crate::retention::{AuditAnchor, MediaCutoffs, Purged, ReleasedMedia, RetentionStore};
            use crate::sql_retention::{PENDING_TARGETS, RELEASABLE_MEDIA};
            use crate::{Error, Result};

            /// A rule that is off compares with an instant no record is older than.
            fn or_never(at: Option<DateTime<Utc>>) -> DateTime<Utc> {
                at.unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
            }

            fn count(n: i64) -> Purged {
                Purged {
                    count: u64::try_from(n).unwrap_or(0),
                    bytes: None,
                }
            }

            /// Counts rows matching `condition` in `table`, or deletes them.
            async fn count_or_delete(
                store: &$store,
                table: &str,
                condition: &str,
                binds: &[DateTime<Utc>],
                apply: bool,
            ) -> Result<Purged> {
                if apply {
                    let sql = format!("DELETE FROM {table} WHERE {condition}");
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for b in binds {
                        q = q.bind(*b);
                    }
                    let done = q.execute(&store.pool).await?;
                    Ok(Purged {
                        count: done.rows_affected(),
                        bytes: None,
                    })
                } else {
                    let sql = format!("SELECT COUNT(*) FROM {table} WHERE {condition}");
                    let mut q = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(sql));
                    for b in binds {
                        q = q.bind(*b);
                    }
                    Ok(count(q.fetch_one(&store.pool).await?.0))
                }
            }

            #[derive(sqlx::FromRow)]
            struct ReleasedRow {
                id: String,
                key: String,
                bytes: i64,
            }

            impl TryFrom<ReleasedRow> for ReleasedMedia {
                type Error = Error;
                fn try_from(r: ReleasedRow) -> Result<ReleasedMedia> {
                    Ok(ReleasedMedia {
                        id: r.id.parse().map_err(|_| Error::Corrupt(format!("bad media id {}", r.id)))?,
                        key: r.key,
                        bytes: r.bytes,
                    })
                }
            }

            #[async_trait]
            impl RetentionStore for $store {
                async fn release_media(
                    &self,
                    cutoffs: &MediaCutoffs,
                    now: DateTime<Utc>,
                    apply: bool,
                ) -> Result<Vec<ReleasedMedia>> {
                    let (published, inactive, orphan) = (
                        or_never(cutoffs.published_before),
                        or_never(cutoffs.inactive_before),
                        or_never(cutoffs.orphan_before),
                    );
                    let rows: Vec<ReleasedRow> = if apply {
                        let mut tx = self.begin_write().await?;
                        // Writers of slides and targets wait until this commits, and this sees what they
                        // committed before: a post scheduled at the same moment keeps its media.
                        let lock: Option<&str> = $media_lock;
                        if let Some(lock) = lock {
                            sqlx::query(sqlx::AssertSqlSafe(lock)).execute(&mut *tx).await?;
                        }
                        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                            "UPDATE media SET purged_at = $4 WHERE id IN \
                             (SELECT m.id FROM media m WHERE {RELEASABLE_MEDIA}) RETURNING id, key, bytes"
                        )))
                        .bind(published)
                        .bind(inactive)
                        .bind(orphan)
                        .bind(now)
                        .fetch_all(&mut *tx)
                        .await?;
                        tx.commit().await?;
                        rows
                    } else {
                        sqlx::query_as(sqlx::AssertSqlSafe(format!(
                            "SELECT m.id, m.key, m.bytes FROM media m WHERE {RELEASABLE_MEDIA} ORDER BY m.created_at, m.id"
                        )))
                        .bind(published)
                        .bind(inactive)
                        .bind(orphan)
                        .fetch_all(&self.pool)
                        .await?
                    };
                    rows.into_iter().map(ReleasedMedia::try_from).collect()
                }

                async fn forget_purged_media(&self) -> Result<u64> {
                    // An image derived from another refers to it; forgetting the derived one first lets
                    // its origin go on the next pass.
                    let mut forgotten = 0;
                    loop {
                        let mut tx = self.begin_write().await?;
                        let unused = "SELECT m.id FROM media m WHERE m.purged_at IS NOT NULL \
                             AND NOT EXISTS (SELECT 1 FROM slides s WHERE s.media_id = m.id) \
                             AND NOT EXISTS (SELECT 1 FROM media_provenance pv \
                               WHERE pv.derived_from = m.id AND pv.media_id <> m.id)";
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DELETE FROM media_provenance WHERE media_id IN ({unused})"
                        )))
                        .execute(&mut *tx)
                        .await?;
                        let done = sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM media WHERE id IN ({unused})")))
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        if done.rows_affected() == 0 {
                            return Ok(forgotten);
                        }
                        forgotten += done.rows_affected();
                    }
                }

                async fn unmark_purged_media(&self, ids: &[MediaId]) -> Result<()> {
                    let mut tx = self.begin_write().await?;
                    for id in ids {
                        sqlx::query("UPDATE media SET purged_at = NULL WHERE id = $1")
                            .bind(id.to_string())
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn media_purged(&self, ids: &[MediaId]) -> Result<Vec<bool>> {
                    let mut out = Vec::with_capacity(ids.len());
                    for id in ids {
                        let row: Option<(Option<DateTime<Utc>>,)> =
                            sqlx::query_as("SELECT purged_at FROM media WHERE id = $1")
                                .bind(id.to_string())
                                .fetch_optional(&self.pool)
                                .await?;
                        out.push(matches!(row, Some((Some(_),))));
                    }
                    Ok(out)
                }

                async fn purge_publish_log(&self, before: DateTime<Utc>, apply: bool) -> Result<Purged> {
                    let condition = format!(
                        "at < $1 AND target_id NOT IN (SELECT id FROM targets WHERE state IN {PENDING_TARGETS})"
                    );
                    count_or_delete(self, "publish_log", &condition, &[before], apply).await
                }

                async fn clear_target_errors(&self, before: DateTime<Utc>, apply: bool) -> Result<Purged> {
                    let condition = "last_error IS NOT NULL AND state IN ('published', 'failed', 'cancelled') \
                         AND post_id IN (SELECT id FROM posts WHERE updated_at < $1)";
                    if apply {
                        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "UPDATE targets SET last_error = NULL WHERE {condition}"
                        )))
                        .bind(before)
                        .execute(&self.pool)
                        .await?;
                        Ok(Purged {
                            count: done.rows_affected(),
                            bytes: None,
                        })
                    } else {
                        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                            "SELECT COUNT(*) FROM targets WHERE {condition}"
                        )))
                        .bind(before)
                        .fetch_one(&self.pool)
                        .await?;
                        Ok(count(n))
                    }
                }

                async fn purge_archived_posts(&self, before: DateTime<Utc>, apply: bool) -> Result<Purged> {
                    let condition = format!(
                        "state = 'archived' AND updated_at < $1 AND NOT EXISTS (SELECT 1 FROM targets t \
                         WHERE t.post_id = posts.id AND (t.state IN {PENDING_TARGETS} OR t.published_post_id IS NOT NULL))"
                    );
                    count_or_delete(self, "posts", &condition, &[before], apply).await
                }

                async fn purge_ended_sessions(
                    &self,
                    ended_before: DateTime<Utc>,
                    idle_before: DateTime<Utc>,
                    apply: bool,
                ) -> Result<Purged> {
                    count_or_delete(
                        self,
                        "sessions",
                        "expires_at <= $1 OR last_seen_at < $2",
                        &[ended_before, idle_before],
                        apply,
                    )
                    .await
                }

                async fn purge_old_login_attempts(&self, before: DateTime<Utc>, apply: bool) -> Result<Purged> {
                    count_or_delete(self, "login_attempts", "at < $1", &[before], apply).await
                }

                async fn purge_expired_oauth_states(&self, before: DateTime<Utc>, apply: bool) -> Result<Purged> {
                    count_or_delete(self, "oauth_states", "expires_at < $1", &[before], apply).await
                }

                async fn purge_fingerprints(&self, before: DateTime<Utc>, apply: bool) -> Result<Purged> {
                    count_or_delete(self, "content_fingerprints", "published_at < $1", &[before], apply).await
                }

                async fn purge_audit(&self, before: DateTime<Utc>, event: Option<&AuditEvent>) -> Result<Purged> {
                    let Some(event) = event else {
                        // A real run appends its own event first, so every older event may go then.
                        let (n,): (i64,) = sqlx::query_as(
                            "SELECT COUNT(*) FROM audit_events WHERE seq < COALESCE( \
                             (SELECT MIN(seq) FROM audit_events WHERE at >= $1), \
                             (SELECT MAX(seq) + 1 FROM audit_events), 0)",
                        )
                        .bind(before)
                        .fetch_one(&self.pool)
                        .await?;
                        return Ok(count(n));
                    };
                    let mut tx = self.begin_write().await?;
                    // Appending takes the chain's lock, held until commit: no event is added meanwhile.
                    append_events(&mut tx, std::slice::from_ref(event)).await?;
                    let first: Option<(i64, Option<String>)> = sqlx::query_as(
                        "SELECT seq, prev_hash FROM audit_events WHERE seq = \
                         (SELECT MIN(seq) FROM audit_events WHERE at >= $1)",
                    )
                    .bind(before)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some((first_seq, prev_hash)) = first else {
                        tx.commit().await?;
                        return Ok(Purged::default());
                    };
                    let done = sqlx::query("DELETE FROM audit_events WHERE seq < $1")
                        .bind(first_seq)
                        .execute(&mut *tx)
                        .await?;
                    let deleted = done.rows_affected();
                    if deleted > 0 {
                        sqlx::query(
                            "INSERT INTO audit_anchors (first_seq, prev_hash, deleted, created_at) \
                             VALUES ($1, $2, $3, $4)",
                        )
                        .bind(first_seq)
                        .bind(prev_hash.unwrap_or_default())
                        .bind(i64::try_from(deleted).unwrap_or(i64::MAX))
                        .bind(crate::chain::stored_instant(event.at))
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(Purged {
                        count: deleted,
                        bytes: None,
                    })
                }

                async fn audit_anchor(&self) -> Result<Option<AuditAnchor>> {
                    let row: Option<(i64, String, i64, DateTime<Utc>)> = sqlx::query_as(
                        "SELECT first_seq, prev_hash, deleted, created_at FROM audit_anchors \
                         ORDER BY first_seq DESC LIMIT 1",
                    )
                    .fetch_optional(&self.pool)
                    .await?;
                    Ok(row.map(|(first_seq, prev_hash, deleted, created_at)| AuditAnchor {
                        first_seq,
                        prev_hash,
                        deleted,
                        created_at,
                    }))
                }
            }
        }
    };
}

pub(crate) use impl_sql_retention;
