//! Connected accounts: status, sandbox or real, token lifetime, a banner when one needs reconnecting;
//! connecting through the platform's consent screen (the OAuth callback comes back here), refreshing
//! now, and disconnecting, which deletes every stored secret of the account (with "purge", even when the
//! platform cannot be told).

use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Utc;
use maud::html;
use natronfx_service::workflow::{AccountId, AccountStatus, Action, Platform, authorize};
use serde::Deserialize;

use super::layout::{Flash, Section, page, when};
use super::{PageResult, Viewer, fail, html_page, see_error, see_notice};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/accounts", get(accounts))
        .route("/accounts/connect/{platform}", post(connect))
        .route("/accounts/callback", get(callback))
        .route("/accounts/{id}/refresh", post(refresh))
        .route("/accounts/{id}/disconnect", post(disconnect))
}

const BACK: &str = "/accounts";

/// Starts the platform's consent screen: the browser goes there and comes back to `/accounts/callback`.
async fn connect(
    State(state): State<AppState>,
    v: Viewer,
    Path(platform): Path<String>,
) -> Response {
    let platform: Platform = match platform.parse() {
        Ok(p) => p,
        Err(e) => return see_error(BACK, natronfx_service::Error::from(e)),
    };
    match state.service.start_connect(&v.session.user, platform).await {
        Ok(start) => Redirect::to(&start.authorize_url).into_response(),
        Err(e) => see_error(BACK, e),
    }
}

/// Where the platform sends the browser back: the state must be one this person started.
async fn callback(State(state): State<AppState>, v: Viewer, uri: Uri) -> Response {
    let query = uri.query().unwrap_or_default();
    match state.service.finish_connect(&v.session.user, query).await {
        Ok(accounts) => {
            let names: Vec<String> = accounts
                .iter()
                .map(|a| format!("{} ({})", a.display_name, a.platform))
                .collect();
            see_notice(BACK, &format!("Connected {}", names.join(", ")))
        }
        Err(e) => see_error(BACK, e),
    }
}

#[allow(
    clippy::result_large_err,
    reason = "the error is the redirect to answer, built once"
)]
fn account_id(raw: &str) -> Result<AccountId, Response> {
    raw.parse::<AccountId>()
        .map_err(|e| see_error(BACK, natronfx_service::Error::from(e)))
}

async fn refresh(State(state): State<AppState>, v: Viewer, Path(id): Path<String>) -> Response {
    let id = match account_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match state.service.refresh_account(&v.session.user, id).await {
        Ok(r) if r.refreshed => see_notice(BACK, &format!("Refreshed {}", r.account.display_name)),
        Ok(r) => see_notice(
            BACK,
            &format!(
                "{}: {}",
                r.account.display_name,
                r.note.as_deref().unwrap_or("nothing to refresh")
            ),
        ),
        Err(e) => see_error(BACK, e),
    }
}

/// The disconnect form: `purge` deletes the credentials even when the platform cannot revoke them.
#[derive(Debug, Default, Deserialize)]
pub struct DisconnectForm {
    #[serde(default)]
    purge: Option<String>,
}

async fn disconnect(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<DisconnectForm>,
) -> Response {
    let id = match account_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let purge = f.purge.is_some_and(|p| !p.is_empty() && p != "0");
    match state.service.disconnect(&v.session.user, id, purge).await {
        Ok(r) => see_notice(
            BACK,
            &format!(
                "Disconnected {}: {} stored secret{} deleted; token {}",
                r.account.display_name,
                r.credentials_deleted,
                if r.credentials_deleted == 1 { "" } else { "s" },
                r.revoke.replace('-', " ")
            ),
        ),
        Err(e) => see_error(BACK, e),
    }
}

/// How long until `at`, in words.
fn time_left(at: chrono::DateTime<Utc>, now: chrono::DateTime<Utc>) -> String {
    let left = at - now;
    if left.num_seconds() <= 0 {
        "expired".into()
    } else if left.num_hours() < 2 {
        "in 1 hour".into()
    } else if left.num_hours() < 48 {
        format!("in {} hours", left.num_hours())
    } else {
        format!("in {} days", left.num_days())
    }
}

async fn accounts(
    State(state): State<AppState>,
    v: Viewer,
    Query(flash): Query<Flash>,
) -> PageResult {
    let user = &v.session.user;
    let all = state.service.accounts_overview(user).await.map_err(fail)?;
    let can_manage = authorize(user, Action::ManageUsers, None).is_ok();
    let needs: Vec<_> = all
        .iter()
        .filter(|a| a.account.status == AccountStatus::NeedsReconnect)
        .collect();
    let now = Utc::now();
    let c = v.chrome();
    let body = html! {
        div.page-head {
            h1 { "Accounts" }
            @if can_manage {
                div.actions {
                    @for p in Platform::ALL {
                        form method="post" action={ "/accounts/connect/" (p) } {
                            (super::layout::csrf_field(c.csrf))
                            button type="submit" { "Connect " (p) }
                        }
                    }
                }
            }
        }
        @if !needs.is_empty() {
            div.notice.warn role="alert" {
                strong { (needs.len()) " account" @if needs.len() != 1 { "s" } " need" @if needs.len() == 1 { "s" } " reconnecting: " }
                @for (i, a) in needs.iter().enumerate() { @if i > 0 { ", " } (a.account.display_name) }
                ". Posts to " @if needs.len() == 1 { "it" } @else { "them" } " will not publish until someone signs in to the platform again."
            }
        }
        div.card.table-wrap.flush {
            table {
                thead { tr { th { "Account" } th { "Platform" } th { "Status" } th { "Access" } th.opt { "Connected" } @if can_manage { th {} } } }
                tbody {
                    @for a in &all {
                        tr {
                            td { strong { (a.account.display_name) } @if a.account.sandbox { " " span.badge.sandbox { "sandbox" } } }
                            td { (a.account.platform) }
                            td { (super::layout::badge(a.account.status.as_str())) }
                            td {
                                @if a.account.sandbox { span.muted { "simulated, never expires" } }
                                @else if let Some(at) = a.access_expires_at {
                                    (time_left(at, now)) br; small.muted { (when(at, v.tz)) }
                                    @if !a.refreshable { br; small { "renewed only by reconnecting" } }
                                } @else { span.muted { "unknown" } }
                            }
                            td.opt { (when(a.account.created_at, v.tz)) }
                            @if can_manage {
                                td {
                                    div.actions {
                                        @if matches!(a.account.status, AccountStatus::NeedsReconnect | AccountStatus::Disconnected) && !a.account.sandbox {
                                            form method="post" action={ "/accounts/connect/" (a.account.platform) } {
                                                (super::layout::csrf_field(c.csrf))
                                                button.small.primary type="submit" { "Reconnect" }
                                            }
                                        }
                                        @if a.account.status == AccountStatus::Connected && !a.account.sandbox {
                                            form method="post" action={ "/accounts/" (a.account.id) "/refresh" } {
                                                (super::layout::csrf_field(c.csrf))
                                                button.small type="submit" { "Refresh now" }
                                            }
                                        }
                                        @if a.account.status != AccountStatus::Disconnected && !a.account.sandbox {
                                            form.disconnect method="post" action={ "/accounts/" (a.account.id) "/disconnect" } {
                                                (super::layout::csrf_field(c.csrf))
                                                label.check { input type="checkbox" name="purge" value="1"; small { "delete the secrets even if the platform cannot be told" } }
                                                button.small.danger type="submit" data-confirm="Disconnect this account? Its stored tokens are deleted and scheduled posts to it will not publish." { "Disconnect" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        p.muted { small { "Sandbox accounts publish to the built-in simulator: rehearse the whole workflow with no real credentials." } }
    };
    Ok(html_page(page(
        &c,
        Section::Accounts,
        "Accounts",
        &flash,
        body,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn lifetimes_read_as_people_say_them() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        assert_eq!(time_left(now - Duration::minutes(1), now), "expired");
        assert_eq!(time_left(now + Duration::minutes(10), now), "in 1 hour");
        assert_eq!(time_left(now + Duration::hours(30), now), "in 30 hours");
        assert_eq!(time_left(now + Duration::days(50), now), "in 50 days");
    }
}
