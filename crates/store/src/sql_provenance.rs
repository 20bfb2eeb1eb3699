//! [`ProvenanceStore`](crate::ProvenanceStore) in the SQL both backends accept, instantiated once per
//! backend next to `impl_sql_store!` (whose `append_events` it reuses for the audit chain).

macro_rules! impl_sql_provenance {
    ($store:ty, $db:ty) => {
        mod sql_provenance {
            use super::*;

            use crate::provenance::{MediaProvenance, ProvenanceStore, PublishedTarget};
            use natronfx_workflow::TargetId;

            #[derive(sqlx::FromRow)]
            struct ProvenanceRow {
                id: String,
                media_id: String,
                derived_from: Option<String>,
                generator: String,
                model: String,
                prompt: String,
                size: String,
                quality: Option<String>,
                background: Option<String>,
                usage: String,
                requested_by: Option<String>,
                requested_at: DateTime<Utc>,
            }

            fn corrupt(what: &str, value: &str) -> Error {
                Error::Corrupt(format!("bad {what} `{value}`"))
            }

            impl TryFrom<ProvenanceRow> for MediaProvenance {
                type Error = Error;
                fn try_from(r: ProvenanceRow) -> Result<MediaProvenance> {
                    Ok(MediaProvenance {
                        id: uuid::Uuid::parse_str(&r.id).map_err(|_| corrupt("provenance id", &r.id))?,
                        media_id: r.media_id.parse().map_err(|_| corrupt("media id", &r.media_id))?,
                        derived_from: r
                            .derived_from
                            .as_deref()
                            .map(|s| s.parse().map_err(|_| corrupt("media id", s)))
                            .transpose()?,
                        generator: r.generator,
                        model: r.model,
                        prompt: r.prompt,
                        size: r.size,
                        quality: r.quality,
                        background: r.background,
                        usage: serde_json::from_str(&r.usage).map_err(|_| corrupt("usage", &r.usage))?,
                        requested_by: r
                            .requested_by
                            .as_deref()
                            .map(|s| s.parse().map_err(|_| corrupt("user id", s)))
                            .transpose()?,
                        requested_at: r.requested_at,
                    })
                }
            }

            #[derive(sqlx::FromRow)]
            struct PublishedRow {
                id: String,
                post_id: String,
                account_id: String,
                platform: String,
                scheduled_at: Option<DateTime<Utc>>,
                updated_at: DateTime<Utc>,
            }

            impl TryFrom<PublishedRow> for PublishedTarget {
                type Error = Error;
                fn try_from(r: PublishedRow) -> Result<PublishedTarget> {
                    Ok(PublishedTarget {
                        post_id: r.post_id.parse().map_err(|_| corrupt("post id", &r.post_id))?,
                        target_id: r.id.parse().map_err(|_| corrupt("target id", &r.id))?,
                        account_id: r.account_id.parse().map_err(|_| corrupt("account id", &r.account_id))?,
                        platform: r.platform.parse().map_err(|_| corrupt("platform", &r.platform))?,
                        scheduled_at: r.scheduled_at,
                        post_updated_at: r.updated_at,
                    })
                }
            }

            const PROVENANCE_COLUMNS: &str = "id, media_id, derived_from, generator, model, prompt, size, quality, \
                 background, usage, requested_by, requested_at";

            #[async_trait]
            impl ProvenanceStore for $store {
                async fn insert_media_with_provenance(
                    &self,
                    items: &[(MediaRecord, MediaProvenance)],
                    events: &[AuditEvent],
                ) -> Result<Vec<MediaId>> {
                    let mut tx = self.begin_write().await?;
                    let mut ids = Vec::with_capacity(items.len());
                    // (the record id an item was given, the id its row has), for `derived_from` links.
                    let mut assigned: Vec<(MediaId, String)> = Vec::with_capacity(items.len());
                    for (m, p) in items {
                        sqlx::query(
                            "INSERT INTO media (id, key, sha256, bytes, width, height, format, source, created_by, \
                             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (key) DO UPDATE SET \
                             created_at = CASE WHEN media.purged_at IS NULL THEN media.created_at \
                             ELSE excluded.created_at END, purged_at = NULL",
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
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "INSERT INTO media_provenance ({PROVENANCE_COLUMNS}) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                        )))
                        .bind(p.id.to_string())
                        .bind(&id)
                        .bind(p.derived_from.map(|d| {
                            assigned
                                .iter()
                                .find(|(given, _)| *given == d)
                                .map_or_else(|| d.to_string(), |(_, actual)| actual.clone())
                        }))
                        .bind(&p.generator)
                        .bind(&p.model)
                        .bind(&p.prompt)
                        .bind(&p.size)
                        .bind(&p.quality)
                        .bind(&p.background)
                        .bind(p.usage.to_string())
                        .bind(p.requested_by.map(|u| u.to_string()))
                        .bind(p.requested_at)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| match e {
                            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                                Error::NotFound {
                                    what: "media or user",
                                    id: p.derived_from.map(|d| d.to_string()).unwrap_or_default(),
                                }
                            }
                            other => other.into(),
                        })?;
                        ids.push(id.parse().map_err(|_| corrupt("media id", &id))?);
                        assigned.push((m.id, id));
                    }
                    append_events(&mut tx, events).await?;
                    tx.commit().await?;
                    Ok(ids)
                }

                async fn provenance_of(&self, media: MediaId) -> Result<Vec<MediaProvenance>> {
                    let rows: Vec<ProvenanceRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {PROVENANCE_COLUMNS} FROM media_provenance WHERE media_id = $1 \
                         ORDER BY requested_at DESC, id DESC"
                    )))
                    .bind(media.to_string())
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter().map(MediaProvenance::try_from).collect()
                }

                async fn media_id_by_key(&self, key: &str) -> Result<Option<MediaId>> {
                    let row: Option<(String,)> = sqlx::query_as("SELECT id FROM media WHERE key = $1")
                        .bind(key)
                        .fetch_optional(&self.pool)
                        .await?;
                    row.map(|(id,)| id.parse().map_err(|_| corrupt("media id", &id))).transpose()
                }

                async fn generated_among(&self, media: &[MediaId]) -> Result<Vec<MediaId>> {
                    let mut out = Vec::new();
                    for id in media {
                        let (generated,): (bool,) = sqlx::query_as(
                            "SELECT EXISTS (SELECT 1 FROM media m WHERE m.id = $1 AND (m.source = 'generated' \
                             OR EXISTS (SELECT 1 FROM media_provenance p WHERE p.media_id = m.id)))",
                        )
                        .bind(id.to_string())
                        .fetch_one(&self.pool)
                        .await?;
                        if generated && !out.contains(id) {
                            out.push(*id);
                        }
                    }
                    Ok(out)
                }

                async fn published_targets(
                    &self,
                    after: Option<(PostId, TargetId)>,
                    limit: u32,
                ) -> Result<Vec<PublishedTarget>> {
                    let rows: Vec<PublishedRow> = sqlx::query_as(
                        "SELECT t.id, t.post_id, t.account_id, t.platform, t.scheduled_at, p.updated_at \
                         FROM targets t JOIN posts p ON p.id = t.post_id \
                         WHERE t.state = 'published' AND ($1 IS NULL OR (t.post_id, t.id) > ($1, $2)) \
                         ORDER BY t.post_id, t.id LIMIT $3",
                    )
                    .bind(after.map(|(p, _)| p.to_string()))
                    .bind(after.map(|(_, t)| t.to_string()))
                    .bind(i64::from(limit.clamp(1, 1000)))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter().map(PublishedTarget::try_from).collect()
                }

                async fn count_published_targets(&self) -> Result<i64> {
                    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM targets WHERE state = 'published'")
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(n)
                }
            }
        }
    };
}

pub(crate) use impl_sql_provenance;
