//! [`crate::DispatchStore`] in SQL both backends accept, instantiated next to `impl_sql_store!`.
//!
//! Only the row locks differ: PostgreSQL claims with `FOR UPDATE OF t SKIP LOCKED` (so several processes
//! take disjoint batches) and locks the account row before counting its rate slots; SQLite's
//! `BEGIN IMMEDIATE` already makes every write transaction exclusive.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::dispatch::{DispatchRecord, LogEntry};
use crate::{Error, Result};

/// The ledger columns of `targets`, as read.
#[derive(FromRow)]
pub(crate) struct RecordRow {
    progress: Option<String>,
    published_post_id: Option<String>,
    permalink: Option<String>,
    published_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    retries: i32,
    unknown_since: Option<DateTime<Utc>>,
    first_attempt_at: Option<DateTime<Utc>>,
    next_attempt_at: Option<DateTime<Utc>>,
}

impl From<RecordRow> for DispatchRecord {
    fn from(r: RecordRow) -> DispatchRecord {
        DispatchRecord {
            progress: r.progress,
            published_post_id: r.published_post_id,
            permalink: r.permalink,
            published_at: r.published_at,
            last_error: r.last_error,
            retries: r.retries,
            unknown_since: r.unknown_since,
            first_attempt_at: r.first_attempt_at,
            next_attempt_at: r.next_attempt_at,
        }
    }
}

pub(crate) const RECORD_COLUMNS: &str = "progress, published_post_id, permalink, published_at, last_error, \
     retries, unknown_since, first_attempt_at, next_attempt_at";

/// A claimed target as the claim's `UPDATE ... RETURNING` reads it.
#[derive(FromRow)]
pub(crate) struct ClaimRow {
    pub post_id: String,
    pub account_id: String,
    pub attempt: i32,
    pub scheduled_at: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    pub record: RecordRow,
}

#[derive(FromRow)]
pub(crate) struct LogRow {
    target_id: String,
    post_id: String,
    attempt: i32,
    at: DateTime<Utc>,
    kind: String,
    message: String,
    remote_id: Option<String>,
    http_status: Option<i32>,
    error_class: Option<String>,
    error_code: Option<String>,
    trace_id: Option<String>,
    duration_ms: Option<i64>,
    worker: Option<String>,
}

impl TryFrom<LogRow> for LogEntry {
    type Error = Error;
    fn try_from(r: LogRow) -> Result<LogEntry> {
        Ok(LogEntry {
            target: r
                .target_id
                .parse()
                .map_err(|_| Error::Corrupt(format!("bad target id {}", r.target_id)))?,
            post: r
                .post_id
                .parse()
                .map_err(|_| Error::Corrupt(format!("bad post id {}", r.post_id)))?,
            attempt: i64::from(r.attempt),
            at: r.at,
            kind: r.kind,
            message: r.message,
            remote_id: r.remote_id,
            http_status: r.http_status,
            error_class: r.error_class,
            error_code: r.error_code,
            trace_id: r.trace_id,
            duration_ms: r.duration_ms,
            worker: r.worker,
        })
    }
}

macro_rules! impl_sql_dispatch {
    ($store:ty, $db:ty, $claim_lock:expr, $account_lock:expr) => {
        mod dispatch_sql {
            use super::*;
            use crate::dispatch::{
                Claim, DispatchRecord, DispatchStore, Fence, Lease, LogEntry, QueueDepth,
            };
            use crate::sql_dispatch::{ClaimRow, LogRow, RECORD_COLUMNS, RecordRow};
            use chrono::{DateTime, Utc};
            use natronfx_workflow::{AccountId, AuditEvent, PostId, PostSnapshot, TargetId};

            async fn insert_log(
                tx: &mut sqlx::Transaction<'_, $db>,
                log: &[LogEntry],
            ) -> Result<()> {
                for e in log {
                    sqlx::query(
                        "INSERT INTO publish_log (target_id, post_id, attempt, at, kind, message, remote_id, \
                         http_status, error_class, error_code, trace_id, duration_ms, worker) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                    )
                    .bind(e.target.to_string())
                    .bind(e.post.to_string())
                    .bind(i32::try_from(e.attempt).unwrap_or(i32::MAX))
                    .bind(e.at)
                    .bind(&e.kind)
                    .bind(&e.message)
                    .bind(&e.remote_id)
                    .bind(e.http_status)
                    .bind(&e.error_class)
                    .bind(&e.error_code)
                    .bind(&e.trace_id)
                    .bind(e.duration_ms)
                    .bind(&e.worker)
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            }

            #[async_trait]
            impl DispatchStore for $store {
                async fn claim_due(
                    &self,
                    worker: &str,
                    now: DateTime<Utc>,
                    lease_until: DateTime<Utc>,
                    limit: u32,
                ) -> Result<Vec<Claim>> {
                    let mut tx = self.begin_write().await?;
                    let lock: &str = $claim_lock;
                    let candidates: Vec<(String, Option<String>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT t.id, t.lease_owner FROM targets t JOIN accounts a ON a.id = t.account_id \
                         WHERE t.state IN ('scheduled', 'publishing') \
                           AND COALESCE(t.next_attempt_at, t.scheduled_at) <= $1 \
                           AND (t.lease_until IS NULL OR t.lease_until <= $1) \
                           AND a.status = 'connected' \
                         ORDER BY COALESCE(t.next_attempt_at, t.scheduled_at), t.id LIMIT $2{lock}"
                    )))
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?;
                    let mut claims = Vec::with_capacity(candidates.len());
                    for (id, previous_owner) in candidates {
                        let row: ClaimRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                            "UPDATE targets SET attempt = attempt + 1, lease_owner = $1, lease_until = $2 \
                             WHERE id = $3 RETURNING post_id, account_id, attempt, scheduled_at, {RECORD_COLUMNS}"
                        )))
                        .bind(worker)
                        .bind(lease_until)
                        .bind(&id)
                        .fetch_one(&mut *tx)
                        .await?;
                        let record = DispatchRecord::from(row.record);
                        let corrupt = |what: &str| Error::Corrupt(format!("bad {what} on target {id}"));
                        claims.push(Claim {
                            target: id.parse().map_err(|_| corrupt("id"))?,
                            post: row.post_id.parse().map_err(|_| corrupt("post id"))?,
                            account: row.account_id.parse().map_err(|_| corrupt("account id"))?,
                            attempt: i64::from(row.attempt),
                            abandoned: previous_owner.is_some(),
                            due_at: record.next_attempt_at.or(row.scheduled_at).unwrap_or(now),
                            record,
                        });
                    }
                    tx.commit().await?;
                    Ok(claims)
                }

                async fn write_claimed(
                    &self,
                    fence: &Fence,
                    record: &DispatchRecord,
                    lease: Lease,
                    post: Option<(&PostSnapshot, &[AuditEvent])>,
                    log: &[LogEntry],
                ) -> Result<()> {
                    let mut tx = self.begin_write().await?;
                    let lock: &str = $claim_lock;
                    if let (Some((post, _)), false) = (post, lock.is_empty()) {
                        // Lock order: the post before any of its targets, as a person's save does, so two
                        // workers settling targets of one post queue up instead of deadlocking.
                        sqlx::query("SELECT 1 FROM posts WHERE id = $1 FOR UPDATE")
                            .bind(post.id.to_string())
                            .execute(&mut *tx)
                            .await?;
                    }
                    let holder: Option<(Option<String>, i32)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT lease_owner, attempt FROM targets t WHERE id = $1{}",
                        if lock.is_empty() { "" } else { " FOR UPDATE" }
                    )))
                    .bind(fence.target.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                    let holds = holder.as_ref().is_some_and(|(owner, attempt)| {
                        owner.as_deref() == Some(fence.worker.as_str()) && i64::from(*attempt) == fence.attempt
                    });
                    if !holds {
                        return Err(Error::LeaseLost(format!(
                            "target {} is no longer held by {} at attempt {}",
                            fence.target, fence.worker, fence.attempt
                        )));
                    }
                    if let Some((post, events)) = post {
                        save_post_in(&mut tx, post, events).await?;
                    }
                    let (owner, until) = match lease {
                        Lease::Extend(until) => (Some(fence.worker.as_str()), Some(until)),
                        Lease::Release => (None, None),
                    };
                    sqlx::query(
                        "UPDATE targets SET progress = $1, published_post_id = $2, permalink = $3, \
                         published_at = $4, last_error = $5, retries = $6, unknown_since = $7, \
                         first_attempt_at = $8, next_attempt_at = $9, lease_owner = $10, lease_until = $11 \
                         WHERE id = $12",
                    )
                    .bind(&record.progress)
                    .bind(&record.published_post_id)
                    .bind(&record.permalink)
                    .bind(record.published_at)
                    .bind(&record.last_error)
                    .bind(record.retries)
                    .bind(record.unknown_since)
                    .bind(record.first_attempt_at)
                    .bind(record.next_attempt_at)
                    .bind(owner)
                    .bind(until)
                    .bind(fence.target.to_string())
                    .execute(&mut *tx)
                    .await?;
                    insert_log(&mut tx, log).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn expire_lease(&self, fence: &Fence, now: DateTime<Utc>) -> Result<()> {
                    sqlx::query(
                        "UPDATE targets SET lease_until = $1 \
                         WHERE id = $2 AND lease_owner = $3 AND attempt = $4",
                    )
                    .bind(now)
                    .bind(fence.target.to_string())
                    .bind(&fence.worker)
                    .bind(i32::try_from(fence.attempt).unwrap_or(i32::MAX))
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn save_post_logged(
                    &self,
                    post: &PostSnapshot,
                    events: &[AuditEvent],
                    log: &[LogEntry],
                    reset: &[TargetId],
                ) -> Result<i64> {
                    let mut tx = self.begin_write().await?;
                    let version = save_post_in(&mut tx, post, events).await?;
                    for target in reset {
                        sqlx::query(
                            "UPDATE targets SET progress = NULL, published_post_id = NULL, permalink = NULL, \
                             published_at = NULL, last_error = NULL, retries = 0, unknown_since = NULL, \
                             first_attempt_at = NULL, next_attempt_at = NULL WHERE id = $1 AND post_id = $2",
                        )
                        .bind(target.to_string())
                        .bind(post.id.to_string())
                        .execute(&mut *tx)
                        .await?;
                    }
                    insert_log(&mut tx, log).await?;
                    tx.commit().await?;
                    Ok(version)
                }

                async fn dispatch_record(&self, target: TargetId) -> Result<DispatchRecord> {
                    let row: Option<RecordRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {RECORD_COLUMNS} FROM targets WHERE id = $1"
                    )))
                    .bind(target.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(DispatchRecord::from)
                        .ok_or_else(|| Error::not_found("target", target))
                }

                async fn publish_log(&self, post: PostId) -> Result<Vec<LogEntry>> {
                    let rows: Vec<LogRow> = sqlx::query_as(
                        "SELECT target_id, post_id, attempt, at, kind, message, remote_id, http_status, \
                         error_class, error_code, trace_id, duration_ms, worker \
                         FROM publish_log WHERE post_id = $1 ORDER BY id",
                    )
                    .bind(post.to_string())
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter().map(LogEntry::try_from).collect()
                }

                async fn overdue_targets(
                    &self,
                    before: DateTime<Utc>,
                    limit: u32,
                ) -> Result<Vec<(PostId, TargetId)>> {
                    let rows: Vec<(String, String)> = sqlx::query_as(
                        "SELECT post_id, id FROM targets WHERE state = 'scheduled' \
                           AND COALESCE(next_attempt_at, scheduled_at) < $1 \
                           AND (lease_until IS NULL OR lease_until <= $1) \
                         ORDER BY COALESCE(next_attempt_at, scheduled_at), id LIMIT $2",
                    )
                    .bind(before)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter()
                        .map(|(p, t)| {
                            let corrupt = || Error::Corrupt(format!("bad target {t} of post {p}"));
                            Ok((p.parse().map_err(|_| corrupt())?, t.parse().map_err(|_| corrupt())?))
                        })
                        .collect()
                }

                async fn reserve_slot(
                    &self,
                    account: AccountId,
                    kind: &str,
                    now: DateTime<Utc>,
                    window_secs: i64,
                    limit: u32,
                ) -> Result<Option<DateTime<Utc>>> {
                    let mut tx = self.begin_write().await?;
                    let lock: Option<&str> = $account_lock;
                    if let Some(lock) = lock {
                        sqlx::query(sqlx::AssertSqlSafe(lock))
                            .bind(account.to_string())
                            .execute(&mut *tx)
                            .await?;
                    }
                    let window_start = now - chrono::Duration::seconds(window_secs);
                    sqlx::query("DELETE FROM rate_slots WHERE account_id = $1 AND kind = $2 AND at <= $3")
                        .bind(account.to_string())
                        .bind(kind)
                        .bind(window_start)
                        .execute(&mut *tx)
                        .await?;
                    let taken: Vec<(DateTime<Utc>,)> = sqlx::query_as(
                        "SELECT at FROM rate_slots WHERE account_id = $1 AND kind = $2 ORDER BY at DESC LIMIT $3",
                    )
                    .bind(account.to_string())
                    .bind(kind)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?;
                    if taken.len() >= limit as usize {
                        // The oldest of the last `limit` calls leaves the window first.
                        let oldest = taken.last().map_or(now, |t| t.0);
                        return Ok(Some(oldest + chrono::Duration::seconds(window_secs)));
                    }
                    sqlx::query("INSERT INTO rate_slots (account_id, kind, at) VALUES ($1, $2, $3)")
                        .bind(account.to_string())
                        .bind(kind)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(None)
                }

                async fn queue_depth(&self, now: DateTime<Utc>) -> Result<QueueDepth> {
                    let (due, waiting, in_flight, missed, needs_attention): (i64, i64, i64, i64, i64) =
                        sqlx::query_as(
                            "SELECT \
                               COALESCE(SUM(CASE WHEN state = 'scheduled' AND COALESCE(next_attempt_at, scheduled_at) <= $1 THEN 1 ELSE 0 END), 0), \
                               COALESCE(SUM(CASE WHEN state = 'scheduled' AND COALESCE(next_attempt_at, scheduled_at) > $1 THEN 1 ELSE 0 END), 0), \
                               COALESCE(SUM(CASE WHEN state = 'publishing' THEN 1 ELSE 0 END), 0), \
                               COALESCE(SUM(CASE WHEN state = 'missed' THEN 1 ELSE 0 END), 0), \
                               COALESCE(SUM(CASE WHEN state = 'needs_attention' THEN 1 ELSE 0 END), 0) \
                             FROM targets WHERE state IN ('scheduled', 'publishing', 'missed', 'needs_attention')",
                        )
                        .bind(now)
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(QueueDepth {
                        due,
                        waiting,
                        in_flight,
                        missed,
                        needs_attention,
                    })
                }

                async fn wake_account_targets(&self, account: AccountId, now: DateTime<Utc>) -> Result<u64> {
                    let mut tx = self.begin_write().await?;
                    let woken = sqlx::query(
                        "UPDATE targets SET next_attempt_at = $2 \
                         WHERE account_id = $1 AND state IN ('scheduled', 'publishing') \
                           AND next_attempt_at > $2 AND (lease_until IS NULL OR lease_until <= $2)",
                    )
                    .bind(account.to_string())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    tx.commit().await?;
                    Ok(woken)
                }
            }
        }
    };
}

pub(crate) use impl_sql_dispatch;
