//! Administration: people and their roles, the approval policy, the audit log (Data and Vault have
//! modules of their own).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::html;
use natronfx_service::workflow::{Action, ApprovalPolicy, AuditAction, Role, authorize};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::layout::{Flash, Section, badge, button_form, csrf_field, page, when};
use super::posts::Names;
use super::{PageResult, Viewer, fail, html_page, see_error, see_notice};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users).post(add_user))
        .route("/admin/users/{id}/role", post(set_role))
        .route("/admin/users/{id}/disable", post(disable))
        .route("/admin/users/{id}/password", post(reset_password))
        .route("/admin/policy", get(policy).post(set_policy))
        .route("/admin/audit", get(audit))
}

/// The administration tabs, `current` highlighted.
pub(super) fn tabs(current: &str) -> maud::Markup {
    html! {
        nav.actions.tabs aria-label="Administration" {
            @for (href, label) in [("/admin/users", "People"), ("/admin/policy", "Approval policy"), ("/admin/audit", "Audit log"), ("/admin/data", "Data"), ("/admin/vault", "Vault")] {
                a.button.primary[href == current] href=(href) { (label) }
            }
        }
    }
}

async fn users(State(state): State<AppState>, v: Viewer, Query(flash): Query<Flash>) -> PageResult {
    let user = &v.session.user;
    let people = state.service.list_users(user).await.map_err(fail)?;
    let c = v.chrome();
    let body = html! {
        div.page-head { h1 { "Administration" } }
        (tabs("/admin/users"))
        div.card.table-wrap.flush {
            table {
                thead { tr { th { "Person" } th { "Role" } th.opt { "Added" } th { "" } } }
                tbody {
                    @for p in &people {
                        tr {
                            td { strong { (p.display_name) } br; small.muted { (p.email) } @if p.disabled { " " (badge("disabled")) } }
                            td {
                                @if p.disabled || p.id == user.id { span.badge.role { (p.role) } }
                                @else {
                                    form.row method="post" action={ "/admin/users/" (p.id) "/role" } {
                                        (csrf_field(c.csrf))
                                        select.auto name="role" aria-label={ "Role of " (p.email) } {
                                            @for r in Role::ALL { option value=(r) selected[r == p.role] { (r) } }
                                        }
                                        button.small type="submit" { "Change" }
                                    }
                                }
                            }
                            td.opt { (when(p.created_at, v.tz)) }
                            td {
                                @if !p.disabled && p.id != user.id {
                                    div.actions {
                                        (button_form(&c, &format!("/admin/users/{}/disable", p.id), "Disable", "small danger", Some("Disable this person? They are signed out and can no longer act.")))
                                    }
                                    details {
                                        summary { small { "Set password" } }
                                        form method="post" action={ "/admin/users/" (p.id) "/password" } {
                                            (csrf_field(c.csrf))
                                            input type="password" name="password" minlength="10" autocomplete="new-password" aria-label="New password" required;
                                            button.small type="submit" { "Set" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        form.card method="post" action="/admin/users" {
            h2 { "Add a person" }
            (csrf_field(c.csrf))
            div.inline-fields {
                div.field { label for="email" { "Email" } input #email type="email" name="email" required; }
                div.field { label for="name" { "Name" } input #name type="text" name="display_name"; }
                div.field {
                    label for="role" { "Role" }
                    select #role name="role" { @for r in Role::ALL { option value=(r) selected[r == Role::Editor] { (r) } } }
                }
                div.field {
                    label for="pw" { "First password" }
                    input #pw type="password" name="password" minlength="10" autocomplete="new-password";
                }
                button.primary type="submit" { "Add" }
            }
            p.muted.spaced { small { "Without a password they cannot sign in until one is set here. Editors write and schedule; reviewers approve; viewers read." } }
        }
    };
    Ok(html_page(page(&c, Section::Admin, "People", &flash, body)))
}

#[derive(Debug, Deserialize)]
pub struct NewUser {
    email: String,
    #[serde(default)]
    display_name: String,
    role: String,
    #[serde(default)]
    password: Option<SecretString>,
}

async fn add_user(State(state): State<AppState>, v: Viewer, Form(f): Form<NewUser>) -> Response {
    let back = "/admin/users";
    let role: Role = match f.role.parse() {
        Ok(r) => r,
        Err(e) => return see_error(back, natronfx_service::Error::from(e)),
    };
    let name = if f.display_name.trim().is_empty() {
        f.email.clone()
    } else {
        f.display_name.clone()
    };
    let password = f.password.filter(|p| !p.expose_secret().is_empty());
    match state
        .service
        .add_user(&v.session.user, &f.email, &name, role, password.as_ref())
        .await
    {
        Ok(u) => see_notice(back, &format!("Added {} as {}", u.email, u.role)),
        Err(e) => see_error(back, e),
    }
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    role: String,
}

async fn set_role(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<RoleForm>,
) -> Response {
    let back = "/admin/users";
    let role: Role = match f.role.parse() {
        Ok(r) => r,
        Err(e) => return see_error(back, natronfx_service::Error::from(e)),
    };
    match state.service.set_role(&v.session.user, &id, role).await {
        Ok(u) => see_notice(back, &format!("{} is now {}", u.email, u.role)),
        Err(e) => see_error(back, e),
    }
}

async fn disable(State(state): State<AppState>, v: Viewer, Path(id): Path<String>) -> Response {
    match state.service.disable_user(&v.session.user, &id).await {
        Ok(u) => see_notice("/admin/users", &format!("{} is disabled", u.email)),
        Err(e) => see_error("/admin/users", e),
    }
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    password: SecretString,
}

async fn reset_password(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<PasswordForm>,
) -> Response {
    match state
        .service
        .reset_password(&v.session.user, &id, &f.password)
        .await
    {
        Ok(u) => see_notice(
            "/admin/users",
            &format!("New password set for {}; their sessions ended", u.email),
        ),
        Err(e) => see_error("/admin/users", e),
    }
}

async fn policy(
    State(state): State<AppState>,
    v: Viewer,
    Query(flash): Query<Flash>,
) -> PageResult {
    let user = &v.session.user;
    authorize(user, Action::ManageUsers, None).map_err(fail)?;
    let current = state.service.team_policy(user).await.map_err(fail)?;
    let c = v.chrome();
    let n = match current {
        ApprovalPolicy::Multi(n) => n,
        _ => 2,
    };
    let body = html! {
        div.page-head { h1 { "Administration" } }
        (tabs("/admin/policy"))
        form.card method="post" action="/admin/policy" {
            h2 { "Approval policy" }
            p { "Now: " strong { (current) } }
            (csrf_field(c.csrf))
            fieldset {
                legend { "Before a post may be scheduled" }
                label.check { input type="radio" name="policy" value="none" checked[current == ApprovalPolicy::None]; "No review: submitting approves" }
                label.check { input type="radio" name="policy" value="required" checked[current == ApprovalPolicy::Required]; "One approver who is not the author" }
                label.check {
                    input type="radio" name="policy" value="multi" checked[matches!(current, ApprovalPolicy::Multi(_))];
                    "Several approvers, none the author:"
                    input type="text" name="n" value=(n) inputmode="numeric" aria-label="How many approvers" class="inline-input narrow";
                }
            }
            button.primary type="submit" { "Save policy" }
        }
    };
    Ok(html_page(page(
        &c,
        Section::Admin,
        "Approval policy",
        &flash,
        body,
    )))
}

#[derive(Debug, Deserialize)]
pub struct PolicyForm {
    policy: String,
    #[serde(default)]
    n: String,
}

async fn set_policy(
    State(state): State<AppState>,
    v: Viewer,
    Form(f): Form<PolicyForm>,
) -> Response {
    let text = if f.policy == "multi" {
        format!("multi:{}", f.n.trim())
    } else {
        f.policy
    };
    let policy: ApprovalPolicy = match text.parse() {
        Ok(p) => p,
        Err(e) => return see_error("/admin/policy", natronfx_service::Error::from(e)),
    };
    match state
        .service
        .set_approval_policy(&v.session.user, policy)
        .await
    {
        Ok(()) => see_notice("/admin/policy", &format!("The policy is now {policy}")),
        Err(e) => see_error("/admin/policy", e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
    action: Option<String>,
    kind: Option<String>,
    subject: Option<String>,
    actor: Option<String>,
    since: Option<String>,
    until: Option<String>,
    #[serde(flatten)]
    flash: Flash,
}

impl AuditQuery {
    /// The filters as a query string (without paging), for links that keep them.
    fn filters(&self) -> String {
        [
            ("action", &self.action),
            ("kind", &self.kind),
            ("subject", &self.subject),
            ("actor", &self.actor),
            ("since", &self.since),
            ("until", &self.until),
        ]
        .into_iter()
        .filter_map(|(k, v)| {
            v.as_deref()
                .filter(|v| !v.trim().is_empty())
                .map(|v| format!("{k}={}", super::url_encode(v)))
        })
        .collect::<Vec<_>>()
        .join("&")
    }
}

const AUDIT_PAGE: u32 = 50;

async fn audit(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<AuditQuery>,
) -> PageResult {
    let s = &state.service;
    let user = &v.session.user;
    let query = natronfx_service::AuditQuery {
        action: q.action.clone(),
        kind: q.kind.clone(),
        subject: q.subject.clone(),
        actor: q.actor.clone(),
        since: q.since.clone(),
        until: q.until.clone(),
        before: q.before,
        limit: AUDIT_PAGE,
    };
    // A filter that cannot be read shows the page unfiltered, with the reason.
    let (events, problem) = match s.audit_list(user, &query).await {
        Ok(events) => (events, None),
        Err(e) if e.code() == "invalid-input" || e.code() == "not-found" => (
            s.audit_page(user, q.before, AUDIT_PAGE)
                .await
                .map_err(fail)?,
            Some(e.to_string()),
        ),
        Err(e) => return Err(fail(e)),
    };
    let names = Names::load(s, user).await?;
    let members = s.team_members(user).await.map_err(fail)?;
    let filters = q.filters();
    let page_link = |before: Option<i64>| {
        let mut parts: Vec<String> = Vec::new();
        if !filters.is_empty() {
            parts.push(filters.clone());
        }
        if let Some(seq) = before {
            parts.push(format!("before={seq}"));
        }
        format!("/admin/audit?{}", parts.join("&"))
    };
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let older = (events.len() == AUDIT_PAGE as usize)
        .then(|| events.last().map(|e| e.seq))
        .flatten();
    let c = v.chrome();
    let body = html! {
        div.page-head { h1 { "Administration" } }
        (tabs("/admin/audit"))
        form.filters method="get" action="/admin/audit" {
            div.field {
                label for="a-action" { "Action" }
                select #a-action name="action" {
                    option value="" { "Any action" }
                    @for a in AuditAction::ALL {
                        option value=(a.as_str()) selected[q.action.as_deref() == Some(a.as_str())] { (a.as_str().replace('-', " ")) }
                    }
                }
            }
            div.field {
                label for="a-actor" { "Who" }
                select #a-actor name="actor" {
                    option value="" { "Anyone" }
                    @for m in &members {
                        option value=(m.id) selected[q.actor.as_deref() == Some(m.id.to_string().as_str())] { (m.display_name) }
                    }
                }
            }
            div.field {
                label for="a-kind" { "Record" }
                select #a-kind name="kind" {
                    option value="" { "Any record" }
                    @for k in ["post", "account", "user", "token", "setting", "vault", "media-provenance", "fingerprints", "retention", "export"] {
                        option value=(k) selected[q.kind.as_deref() == Some(k)] { (k) }
                    }
                }
            }
            div.field {
                label for="a-subject" { "Record id" }
                input #a-subject type="text" name="subject" value=(value(&q.subject)) placeholder="e.g. a post's id";
            }
            div.field {
                label for="a-since" { "From" }
                input #a-since type="date" name="since" value=(value(&q.since));
            }
            div.field {
                label for="a-until" { "Before" }
                input #a-until type="date" name="until" value=(value(&q.until));
            }
            button type="submit" { "Filter" }
            a.button href="/admin/audit" { "Clear" }
        }
        @if let Some(problem) = &problem {
            div.notice.error role="alert" { "Filter not applied: " (problem) }
        }
        @if events.is_empty() {
            div.card.empty { p { "No events match." } }
        }
        div.card.table-wrap.flush {
            table {
                thead { tr { th.num { "#" } th { "When" } th { "Who" } th { "What" } th.opt { "On" } th { "Note" } } }
                tbody {
                    @for e in &events {
                        tr {
                            td.num.mono { (e.seq) }
                            td { (when(e.event.at, v.tz)) }
                            td { @match e.event.actor { Some(a) => (names.person(a)), None => span.muted { "—" } } }
                            td {
                                (e.event.action.as_str())
                                @if let (Some(f), Some(t)) = (&e.event.from_state, &e.event.to_state) { br; small.muted { (f) " → " (t) } }
                            }
                            td.opt {
                                @if e.event.subject_kind == "post" { a href={ "/posts/" (e.event.subject_id) } { "post" } }
                                @else if e.event.subject_kind == "user" { (names.person(&e.event.subject_id)) }
                                @else { small.muted { (e.event.subject_kind) " " (e.event.subject_id) } }
                            }
                            td { @if let Some(n) = &e.event.note { small { (n) } } }
                        }
                    }
                }
            }
        }
        div.pager {
            @if q.before.is_some() { a href=(page_link(None)) { "← Newest" } } @else { span {} }
            @if let Some(seq) = older { a href=(page_link(Some(seq))) { "Older →" } }
        }
        p.muted { small { "The log is a hash chain: " code { "natronfx audit verify" } " or " code { "GET /api/v1/audit/verify" } " names the first edited, deleted or reordered event." } }
    };
    Ok(html_page(page(
        &c,
        Section::Admin,
        "Audit log",
        &q.flash,
        body,
    )))
}
