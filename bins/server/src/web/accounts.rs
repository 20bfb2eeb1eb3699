//! Connected accounts: status, sandbox or real, token lifetime, and a banner when one needs reconnecting.
//! Connecting and disconnecting link to the account-connection routes.

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use chrono::Utc;
use maud::html;
use natronfx_service::workflow::{AccountStatus, Action, Platform, authorize};

use super::layout::{Flash, Section, page, when};
use super::{PageResult, Viewer, fail, html_page};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/accounts", get(accounts))
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
                        a.button href={ "/accounts/connect/" (p) } { "Connect " (p) }
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
                                    @if a.account.status == AccountStatus::NeedsReconnect {
                                        a.button.small.primary href={ "/accounts/connect/" (a.account.platform) } { "Reconnect" }
                                    } @else if !a.account.sandbox {
                                        form method="post" action={ "/accounts/" (a.account.id) "/disconnect" } {
                                            (super::layout::csrf_field(c.csrf))
                                            button.small.danger type="submit" data-confirm="Disconnect this account? Scheduled posts to it will not publish." { "Disconnect" }
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
