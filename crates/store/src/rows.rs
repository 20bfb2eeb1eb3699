//! Database rows as sqlx reads them, and their conversion into domain values. Shared by both backends.

use chrono::{DateTime, Utc};
use natronfx_workflow::{
    Account, AltText, AuditAction, AuditEvent, Caption, Hashtags, Review, ScheduledAt, Slide,
    Target, Title, User,
};
use sqlx::FromRow;

use crate::{ApiToken, Error, MediaRecord, MediaSource, PostSummary, Result, StoredAuditEvent};

fn parse<T: std::str::FromStr>(what: &str, s: &str) -> Result<T> {
    s.parse()
        .map_err(|_| Error::Corrupt(format!("bad {what} `{s}`")))
}

#[derive(FromRow)]
pub(crate) struct UserRow {
    id: String,
    email: String,
    display_name: String,
    role: String,
    disabled: bool,
    created_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = Error;
    fn try_from(r: UserRow) -> Result<User> {
        Ok(User {
            id: parse("user id", &r.id)?,
            email: parse("email", &r.email)?,
            display_name: r.display_name,
            role: parse("role", &r.role)?,
            disabled: r.disabled,
            created_at: r.created_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct TokenRow {
    id: String,
    user_id: String,
    name: String,
    role: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = Error;
    fn try_from(r: TokenRow) -> Result<ApiToken> {
        Ok(ApiToken {
            id: parse("token id", &r.id)?,
            user_id: parse("user id", &r.user_id)?,
            name: r.name,
            role: parse("role", &r.role)?,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct AccountRow {
    id: String,
    platform: String,
    external_id: String,
    display_name: String,
    status: String,
    sandbox: bool,
    connected_by: Option<String>,
    created_at: DateTime<Utc>,
}

impl TryFrom<AccountRow> for Account {
    type Error = Error;
    fn try_from(r: AccountRow) -> Result<Account> {
        Ok(Account {
            id: parse("account id", &r.id)?,
            platform: parse("platform", &r.platform)?,
            external_id: r.external_id,
            display_name: r.display_name,
            status: parse("account status", &r.status)?,
            sandbox: r.sandbox,
            connected_by: r
                .connected_by
                .as_deref()
                .map(|s| parse("user id", s))
                .transpose()?,
            created_at: r.created_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct MediaRow {
    id: String,
    key: String,
    sha256: String,
    bytes: i64,
    width: i32,
    height: i32,
    format: String,
    source: String,
    created_by: Option<String>,
    created_at: DateTime<Utc>,
}

impl TryFrom<MediaRow> for MediaRecord {
    type Error = Error;
    fn try_from(r: MediaRow) -> Result<MediaRecord> {
        let source = match r.source.as_str() {
            "upload" => MediaSource::Upload,
            "rendered" => MediaSource::Rendered,
            "generated" => MediaSource::Generated,
            other => return Err(Error::Corrupt(format!("bad media source `{other}`"))),
        };
        Ok(MediaRecord {
            id: parse("media id", &r.id)?,
            key: r.key,
            sha256: r.sha256,
            bytes: r.bytes,
            width: r.width,
            height: r.height,
            format: r.format,
            source,
            created_by: r
                .created_by
                .as_deref()
                .map(|s| parse("user id", s))
                .transpose()?,
            created_at: r.created_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct PostRow {
    pub(crate) id: String,
    pub(crate) author_id: String,
    pub(crate) title: String,
    pub(crate) caption: String,
    pub(crate) extra_hashtags: String,
    pub(crate) state: String,
    pub(crate) version: i64,
    pub(crate) content_version: i32,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

#[derive(FromRow)]
pub(crate) struct SlideRow {
    media_id: String,
    alt_text: String,
}

impl TryFrom<SlideRow> for Slide {
    type Error = Error;
    fn try_from(r: SlideRow) -> Result<Slide> {
        Ok(Slide {
            media_id: parse("media id", &r.media_id)?,
            alt_text: AltText::parse(&r.alt_text)?,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct TargetRow {
    id: String,
    platform: String,
    account_id: String,
    caption_override: Option<String>,
    options: String,
    state: String,
    scheduled_at: Option<DateTime<Utc>>,
}

impl TryFrom<TargetRow> for Target {
    type Error = Error;
    fn try_from(r: TargetRow) -> Result<Target> {
        Ok(Target {
            id: parse("target id", &r.id)?,
            platform: parse("platform", &r.platform)?,
            account_id: parse("account id", &r.account_id)?,
            caption_override: r
                .caption_override
                .as_deref()
                .map(Caption::parse)
                .transpose()?,
            options: serde_json::from_str(&r.options)
                .map_err(|e| Error::Corrupt(format!("bad target options: {e}")))?,
            state: parse("target state", &r.state)?,
            scheduled_at: r.scheduled_at.map(ScheduledAt::from_stored),
        })
    }
}

#[derive(FromRow)]
pub(crate) struct ReviewRow {
    id: String,
    reviewer_id: String,
    decision: String,
    comment: Option<String>,
    content_version: i32,
    created_at: DateTime<Utc>,
}

impl TryFrom<ReviewRow> for Review {
    type Error = Error;
    fn try_from(r: ReviewRow) -> Result<Review> {
        Ok(Review {
            id: parse("review id", &r.id)?,
            reviewer: parse("user id", &r.reviewer_id)?,
            decision: parse("decision", &r.decision)?,
            comment: r.comment,
            content_version: u32::try_from(r.content_version)
                .map_err(|_| Error::Corrupt("negative content version".into()))?,
            at: r.created_at,
        })
    }
}

/// An audit row with its chain columns.
#[derive(FromRow)]
pub(crate) struct ChainRow {
    #[sqlx(flatten)]
    pub(crate) event: AuditRow,
    pub(crate) prev_hash: Option<String>,
    pub(crate) hash: Option<String>,
}

impl ChainRow {
    pub(crate) fn seq(&self) -> i64 {
        self.event.seq
    }
}

#[derive(FromRow)]
pub(crate) struct AuditRow {
    seq: i64,
    at: DateTime<Utc>,
    actor_id: Option<String>,
    action: String,
    subject_kind: String,
    subject_id: String,
    from_state: Option<String>,
    to_state: Option<String>,
    note: Option<String>,
}

impl TryFrom<AuditRow> for StoredAuditEvent {
    type Error = Error;
    fn try_from(r: AuditRow) -> Result<StoredAuditEvent> {
        let action: AuditAction =
            serde_json::from_value(serde_json::Value::String(r.action.clone()))
                .map_err(|_| Error::Corrupt(format!("bad audit action `{}`", r.action)))?;
        Ok(StoredAuditEvent {
            seq: r.seq,
            event: AuditEvent {
                at: r.at,
                actor: r
                    .actor_id
                    .as_deref()
                    .map(|s| parse("user id", s))
                    .transpose()?,
                action,
                subject_kind: r.subject_kind,
                subject_id: r.subject_id,
                from_state: r.from_state,
                to_state: r.to_state,
                note: r.note,
            },
        })
    }
}

#[derive(FromRow)]
pub(crate) struct SummaryRow {
    id: String,
    title: String,
    state: String,
    author_id: String,
    slide_count: i64,
    target_count: i64,
    next_publish_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    version: i64,
}

impl TryFrom<SummaryRow> for PostSummary {
    type Error = Error;
    fn try_from(r: SummaryRow) -> Result<PostSummary> {
        Ok(PostSummary {
            id: parse("post id", &r.id)?,
            title: r.title,
            state: parse("post state", &r.state)?,
            author: parse("user id", &r.author_id)?,
            slide_count: r.slide_count,
            target_count: r.target_count,
            next_publish_at: r.next_publish_at,
            updated_at: r.updated_at,
            version: r.version,
        })
    }
}

/// Decodes the JSON list of extra hashtags.
pub(crate) fn hashtags_from_json(s: &str) -> Result<Hashtags> {
    serde_json::from_str(s).map_err(|e| Error::Corrupt(format!("bad hashtag list: {e}")))
}

/// Encodes the JSON list of extra hashtags.
pub(crate) fn hashtags_to_json(tags: &Hashtags) -> String {
    // Serializing a list of strings cannot fail.
    serde_json::to_string(tags).unwrap_or_else(|_| "[]".into())
}

/// Checks a title read back from storage.
pub(crate) fn title(s: &str) -> Result<Title> {
    Ok(Title::parse(s)?)
}

#[derive(FromRow)]
pub(crate) struct CredentialRow {
    account_id: String,
    field: String,
    key_id: i64,
    ciphertext: Vec<u8>,
    expires_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<CredentialRow> for crate::SealedCredential {
    type Error = Error;
    fn try_from(r: CredentialRow) -> Result<crate::SealedCredential> {
        Ok(crate::SealedCredential {
            account_id: parse("account id", &r.account_id)?,
            field: r.field,
            key_id: u32::try_from(r.key_id)
                .map_err(|_| Error::Corrupt(format!("bad key id {}", r.key_id)))?,
            ciphertext: r.ciphertext,
            expires_at: r.expires_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct ServiceSecretRow {
    name: String,
    key_id: i64,
    ciphertext: Vec<u8>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ServiceSecretRow> for crate::SealedServiceSecret {
    type Error = Error;
    fn try_from(r: ServiceSecretRow) -> Result<crate::SealedServiceSecret> {
        Ok(crate::SealedServiceSecret {
            name: r.name,
            key_id: u32::try_from(r.key_id)
                .map_err(|_| Error::Corrupt(format!("bad key id {}", r.key_id)))?,
            ciphertext: r.ciphertext,
            updated_at: r.updated_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct ContentRow {
    pub(crate) id: i64,
    post_id: String,
    account_id: String,
    platform: String,
    published_at: DateTime<Utc>,
    caption_exact: Vec<u8>,
    caption_simhash: i64,
}

#[derive(FromRow)]
pub(crate) struct SlideHashRow {
    pub(crate) content_id: i64,
    position: i32,
    dhash: i64,
    phash: i64,
}

/// Stored hashes are the u64 bit patterns in a signed 64-bit column.
pub(crate) fn hash_to_db(h: u64) -> i64 {
    i64::from_ne_bytes(h.to_ne_bytes())
}

fn hash_from_db(h: i64) -> u64 {
    u64::from_ne_bytes(h.to_ne_bytes())
}

/// Joins content rows with their slide rows (both ordered by content id).
pub(crate) fn fingerprints(
    contents: Vec<ContentRow>,
    slides: Vec<SlideHashRow>,
) -> Result<Vec<crate::ContentFingerprint>> {
    let mut out = Vec::with_capacity(contents.len());
    for c in contents {
        let mut slide_hashes: Vec<crate::SlideFingerprint> = slides
            .iter()
            .filter(|s| s.content_id == c.id)
            .map(|s| crate::SlideFingerprint {
                position: u32::try_from(s.position).unwrap_or(0),
                dhash: hash_from_db(s.dhash),
                phash: hash_from_db(s.phash),
            })
            .collect();
        slide_hashes.sort_by_key(|s| s.position);
        out.push(crate::ContentFingerprint {
            id: c.id,
            post_id: parse("post id", &c.post_id)?,
            account_id: parse("account id", &c.account_id)?,
            platform: parse("platform", &c.platform)?,
            published_at: c.published_at,
            caption_exact: c.caption_exact,
            caption_simhash: hash_from_db(c.caption_simhash),
            slides: slide_hashes,
        });
    }
    Ok(out)
}
