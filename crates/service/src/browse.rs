//! Reads for people browsing the product (post search by platform and account, the calendar, the audit
//! log and media in pages, accounts with their token lifetimes) and rendering a carousel spec sent over
//! the network, which may name stored media but never files on the server.

use chrono::{DateTime, Utc};
use natronfx_media::CarouselSpec;
use natronfx_media::render::Background;
use natronfx_store::{
    AuditFilter, CalendarEntry, MediaCursor, PostSearch, PostSummary, StoredAuditEvent,
};
use natronfx_workflow::{Account, Action, User, authorize};

use crate::{MediaView, Result, Service};

/// Longest calendar range one request may read.
const MAX_CALENDAR_DAYS: i64 = 62;

/// A connected account with what the dashboard shows about its connection.
#[derive(Debug, Clone)]
pub struct AccountOverview {
    /// The account.
    pub account: Account,
    /// When its access token stops working, if the platform said (from the sealed credential's metadata;
    /// nothing is decrypted).
    pub access_expires_at: Option<DateTime<Utc>>,
    /// Whether a refresh token is stored, so access can be renewed without the person.
    pub refreshable: bool,
}

/// Filters on the audit log as people type them; empty text means no filter.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// An action name (`post-approved`, `data-exported`, ...).
    pub action: Option<String>,
    /// The kind of record (`post`, `account`, `user`, ...).
    pub kind: Option<String>,
    /// The record's id.
    pub subject: Option<String>,
    /// Who acted: an id or an email.
    pub actor: Option<String>,
    /// From this instant or day on (RFC 3339, or `YYYY-MM-DD` for midnight UTC).
    pub since: Option<String>,
    /// Before this instant or day.
    pub until: Option<String>,
    /// Continue below this `seq`.
    pub before: Option<i64>,
    /// Page size (0: 50; at most 500).
    pub limit: u32,
}

/// A filter's text, when there is any.
fn text(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

/// An instant as people write it: RFC 3339, or a day (midnight UTC).
fn instant(field: &'static str, text: &str) -> Result<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .ok_or_else(|| {
            natronfx_workflow::Error::InvalidInput {
                field,
                reason: format!(
                    "`{text}` is neither RFC 3339 (2026-12-01T09:00:00Z) nor a date (2026-12-01)"
                ),
            }
            .into()
        })
}

impl Service {
    /// A page of posts, newest change first, filtered by state, author, platform and account.
    pub async fn search_posts(
        &self,
        actor: &User,
        search: &PostSearch,
    ) -> Result<Vec<PostSummary>> {
        authorize(actor, Action::ViewPost, None)?;
        let mut search = search.clone();
        if search.filter.limit == 0 {
            search.filter.limit = 50;
        }
        Ok(self.store.search_posts(&search).await?)
    }

    /// Every target with an instant in `[from, to)` (at most about two months), by instant.
    pub async fn calendar(
        &self,
        actor: &User,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CalendarEntry>> {
        authorize(actor, Action::ViewPost, None)?;
        if to <= from || to - from > chrono::Duration::days(MAX_CALENDAR_DAYS) {
            return Err(natronfx_workflow::Error::InvalidInput {
                field: "range",
                reason: format!(
                    "give a range that ends after it starts, of at most {MAX_CALENDAR_DAYS} days"
                ),
            }
            .into());
        }
        Ok(self.store.calendar(from, to).await?)
    }

    /// Audit events before `before` (a `seq`), newest first. Only admins may read the log.
    pub async fn audit_page(
        &self,
        actor: &User,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<StoredAuditEvent>> {
        authorize(actor, Action::ViewAudit, None)?;
        Ok(self.store.audit_page(before, limit.clamp(1, 500)).await?)
    }

    /// Audit events that pass `filter`, newest first, a page at a time (continue with
    /// `before_seq` set to the last `seq` seen). Only admins may read the log.
    pub async fn audit_search(
        &self,
        actor: &User,
        filter: &AuditFilter,
    ) -> Result<Vec<StoredAuditEvent>> {
        authorize(actor, Action::ViewAudit, None)?;
        let mut filter = filter.clone();
        filter.limit = if filter.limit == 0 {
            50
        } else {
            filter.limit.min(500)
        };
        Ok(self.store.search_audit(&filter).await?)
    }

    /// A person by id or email, for filtering the audit log by who acted (admins).
    pub async fn audit_actor(&self, actor: &User, reference: &str) -> Result<User> {
        authorize(actor, Action::ViewAudit, None)?;
        Ok(match reference.parse::<natronfx_workflow::UserId>() {
            Ok(id) => self.store.user(id).await?,
            Err(_) => {
                let email = reference.parse::<natronfx_workflow::Email>()?;
                self.store.user_by_email(&email).await?
            }
        })
    }

    /// The audit log as people ask for it (the CLI's flags, the API's and the dashboard's query): the
    /// text of each filter is read here, once, with an `invalid-input` naming the filter it cannot read.
    pub async fn audit_list(
        &self,
        actor: &User,
        query: &AuditQuery,
    ) -> Result<Vec<StoredAuditEvent>> {
        authorize(actor, Action::ViewAudit, None)?;
        let action = text(&query.action)
            .map(str::parse::<natronfx_workflow::AuditAction>)
            .transpose()?;
        let by = match text(&query.actor) {
            Some(reference) => Some(self.audit_actor(actor, reference).await?.id),
            None => None,
        };
        let filter = AuditFilter {
            action,
            subject_kind: text(&query.kind).map(str::to_owned),
            subject_id: text(&query.subject).map(str::to_owned),
            actor: by,
            since: text(&query.since)
                .map(|t| instant("since", t))
                .transpose()?,
            until: text(&query.until)
                .map(|t| instant("until", t))
                .transpose()?,
            before_seq: query.before,
            limit: query.limit,
        };
        self.audit_search(actor, &filter).await
    }

    /// Stored images after `after`, newest first.
    pub async fn media_page(
        &self,
        actor: &User,
        after: Option<MediaCursor>,
        limit: u32,
    ) -> Result<Vec<MediaView>> {
        authorize(actor, Action::ViewPost, None)?;
        let records = self.store.media_page(after, limit.clamp(1, 500)).await?;
        let mut views = Vec::with_capacity(records.len());
        for r in records {
            views.push(self.view(r).await?);
        }
        Ok(views)
    }

    /// Everyone on the team (names for authors and reviewers), for anyone signed in.
    pub async fn team_members(&self, actor: &User) -> Result<Vec<User>> {
        authorize(actor, Action::ViewPost, None)?;
        Ok(self.store.list_users().await?)
    }

    /// The team's approval policy, for anyone signed in.
    pub async fn team_policy(&self, actor: &User) -> Result<natronfx_workflow::ApprovalPolicy> {
        authorize(actor, Action::ViewPost, None)?;
        self.approval_policy().await
    }

    /// Every account, with its token's lifetime.
    pub async fn accounts_overview(&self, actor: &User) -> Result<Vec<AccountOverview>> {
        let accounts = self.list_accounts(actor).await?;
        let mut out = Vec::with_capacity(accounts.len());
        for account in accounts {
            let credentials = self.store.credentials_of(account.id).await?;
            let field = |name: &str| credentials.iter().find(|c| c.field == name);
            out.push(AccountOverview {
                access_expires_at: field("access_token").and_then(|c| c.expires_at),
                refreshable: field("refresh_token").is_some(),
                account,
            });
        }
        Ok(out)
    }

    /// Renders a carousel spec that came over the network and stores its slides. Backgrounds may name
    /// stored media only: a file path would let the sender read the server's disk, so it is refused.
    pub async fn render_spec(&self, actor: &User, spec: CarouselSpec) -> Result<Vec<MediaView>> {
        authorize(actor, Action::CreatePost, None)?;
        let backgrounds = spec
            .slides
            .iter()
            .filter_map(|s| s.background.as_ref())
            .chain(spec.defaults.background.as_ref());
        for background in backgrounds {
            if let Background::Image { path: Some(_), .. } = background {
                return Err(natronfx_workflow::Error::InvalidInput {
                    field: "spec",
                    reason:
                        "a background must name stored media (`media = \"<id>\"`), not a file path"
                            .into(),
                }
                .into());
            }
        }
        let options = natronfx_media::RenderOptions {
            base_dir: None,
            limits: self.media_limits,
            quality: None,
        };
        self.render_media(actor, spec, options, |_, _| {}).await
    }
}
