//! Team-wide things: accounts, the approval policy, the calendar and the audit log.

use axum::Json;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use natronfx_service::Service;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{
    AccountDto, AuditCheckDto, AuditEventDto, CalendarEntryDto, ErrorBody, Items, Page, PolicyDto,
};
use super::{Body, decode_cursor, encode_cursor, page_in_memory};
use crate::ApiError;
use crate::auth::Actor;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(accounts))
        .routes(routes!(get_policy, set_policy))
        .routes(routes!(calendar))
        .routes(routes!(audit))
        .routes(routes!(verify_audit))
}

/// Paging of short lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 500 (default 100).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Connected accounts with their status and token lifetime.
#[utoipa::path(get, path = "/accounts", tag = "team", params(PageQuery),
    responses((status = 200, body = Page<AccountDto>), (status = "4XX", body = ErrorBody)))]
async fn accounts(
    State(s): State<Service>,
    Actor(user): Actor,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<AccountDto>>, ApiError> {
    let all = s.accounts_overview(&user).await?;
    let (items, next_cursor) = page_in_memory(
        all,
        |a| {
            format!(
                "{}|{}|{}",
                a.account.platform, a.account.display_name, a.account.id
            )
        },
        q.cursor.as_deref(),
        q.limit,
    )?;
    Ok(Json(Page {
        items: items.iter().map(AccountDto::from).collect(),
        next_cursor,
    }))
}

/// The team's approval policy.
#[utoipa::path(get, path = "/settings/approval-policy", tag = "team",
    responses((status = 200, body = PolicyDto), (status = "4XX", body = ErrorBody)))]
async fn get_policy(
    State(s): State<Service>,
    Actor(user): Actor,
) -> Result<Json<PolicyDto>, ApiError> {
    Ok(Json(PolicyDto {
        policy: s.team_policy(&user).await?.to_string(),
    }))
}

/// Changes the approval policy (admins).
#[utoipa::path(put, path = "/settings/approval-policy", tag = "team", request_body = PolicyDto,
    responses((status = 200, body = PolicyDto), (status = "4XX", body = ErrorBody)))]
async fn set_policy(
    State(s): State<Service>,
    Actor(user): Actor,
    Body(body): Body<PolicyDto>,
) -> Result<Json<PolicyDto>, ApiError> {
    s.set_approval_policy(&user, body.policy.parse()?).await?;
    Ok(Json(PolicyDto {
        policy: s.team_policy(&user).await?.to_string(),
    }))
}

/// The calendar's range.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// Start (RFC 3339), inclusive.
    from: DateTime<Utc>,
    /// End (RFC 3339), exclusive; at most 62 days after `from`.
    to: DateTime<Utc>,
}

/// Every target with a publish instant in a range, by instant.
#[utoipa::path(get, path = "/calendar", tag = "team", params(RangeQuery),
    responses((status = 200, body = Items<CalendarEntryDto>), (status = "4XX", body = ErrorBody)))]
async fn calendar(
    State(s): State<Service>,
    Actor(user): Actor,
    query: Result<Query<RangeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Items<CalendarEntryDto>>, ApiError> {
    let Query(q) = query?;
    let entries = s.calendar(&user, q.from, q.to).await?;
    Ok(Json(Items {
        items: entries.iter().map(CalendarEntryDto::from).collect(),
    }))
}

/// Filters and paging of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this action (`post-approved`, `account-disconnected`, `data-exported`, ...).
    action: Option<String>,
    /// Only events about this kind of record (`post`, `account`, `user`, ...).
    kind: Option<String>,
    /// Only events about this record (its id).
    subject: Option<String>,
    /// Only events by this person (id or email).
    actor: Option<String>,
    /// From this instant (RFC 3339) or day (`YYYY-MM-DD`, midnight UTC) on.
    since: Option<String>,
    /// Before this instant or day.
    until: Option<String>,
    /// Page size, 1 to 500 (default 100).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The audit log, newest first, filtered by action, record, person and time (admins).
#[utoipa::path(get, path = "/audit", tag = "team", params(AuditQuery),
    responses((status = 200, body = Page<AuditEventDto>), (status = "4XX", body = ErrorBody)))]
async fn audit(
    State(s): State<Service>,
    Actor(user): Actor,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<AuditEventDto>>, ApiError> {
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let before = match q.cursor.as_deref() {
        Some(c) => Some(decode_cursor(c, 1)?[0].parse::<i64>().map_err(|_| {
            ApiError::bad_request("invalid-cursor", "the cursor is not one this API returned")
        })?),
        None => None,
    };
    let query = natronfx_service::AuditQuery {
        action: q.action,
        kind: q.kind,
        subject: q.subject,
        actor: q.actor,
        since: q.since,
        until: q.until,
        before,
        limit,
    };
    let events = s.audit_list(&user, &query).await?;
    let next_cursor = (events.len() == limit as usize)
        .then(|| events.last().map(|e| encode_cursor(&[&e.seq.to_string()])))
        .flatten();
    Ok(Json(Page {
        items: events.iter().map(AuditEventDto::from).collect(),
        next_cursor,
    }))
}

/// Walks the audit log's hash chain (admins). A broken chain answers `audit-chain-broken` naming the first
/// edited, deleted or reordered event.
#[utoipa::path(get, path = "/audit/verify", tag = "team",
    responses((status = 200, body = AuditCheckDto), (status = "4XX", body = ErrorBody)))]
async fn verify_audit(
    State(s): State<Service>,
    Actor(user): Actor,
) -> Result<Json<AuditCheckDto>, ApiError> {
    Ok(Json(AuditCheckDto {
        checked: s.verify_audit(&user).await?,
    }))
}
