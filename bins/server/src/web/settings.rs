//! Your settings: password, signed-in sessions, API tokens (the secret shown once).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::html;
use natronfx_service::workflow::{Role, TokenId};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::layout::{Flash, Section, button_form, csrf_field, page, when};
use super::{PageResult, Viewer, fail, html_page, see_error, see_notice};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings", get(settings))
        .route("/settings/password", post(change_password))
        .route("/settings/tokens", post(create_token))
        .route("/settings/tokens/{id}/revoke", post(revoke_token))
}

async fn settings(
    State(state): State<AppState>,
    v: Viewer,
    Query(flash): Query<Flash>,
) -> PageResult {
    let s = &state.service;
    let user = &v.session.user;
    let sessions = s.my_sessions(user).await.map_err(fail)?;
    let tokens = s.list_tokens(user).await.map_err(fail)?;
    let c = v.chrome();
    let body = html! {
        div.page-head { h1 { "Settings" } }
        div.split {
            div {
                div.card.table-wrap {
                    h2 { "API tokens" }
                    p.muted { small { "For scripts and automation: send " code { "Authorization: Bearer <token>" } ". A token acts with a role no higher than yours." } }
                    @if tokens.is_empty() { p.muted { "No tokens." } } @else {
                        table {
                            thead { tr { th { "Name" } th { "Role" } th.opt { "Created" } th { "Last used" } th {} } }
                            tbody {
                                @for t in &tokens {
                                    tr {
                                        td { (t.name) }
                                        td { span.badge.role { (t.role) } }
                                        td.opt { (when(t.created_at, v.tz)) }
                                        td { @match t.last_used_at { Some(at) => (when(at, v.tz)), None => span.muted { "never" } } }
                                        td {
                                            @if t.revoked_at.is_some() { span.badge.cancelled { "revoked" } }
                                            @else { (button_form(&c, &format!("/settings/tokens/{}/revoke", t.id), "Revoke", "small danger", Some("Revoke this token? Scripts using it stop working."))) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    form.spaced method="post" action="/settings/tokens" {
                        (csrf_field(c.csrf))
                        div.inline-fields {
                            div.field { label for="tname" { "Name" } input #tname type="text" name="name" placeholder="e.g. publishing script" required; }
                            div.field {
                                label for="trole" { "Role" }
                                select #trole name="role" {
                                    @for r in Role::ALL { @if user.role.includes(r) { option value=(r) selected[r == user.role] { (r) } } }
                                }
                            }
                            button type="submit" { "Create token" }
                        }
                    }
                }
                div.card.table-wrap {
                    h2 { "Where you are signed in" }
                    table {
                        thead { tr { th { "Since" } th { "Last seen" } th.opt { "Address" } th { "Browser" } } }
                        tbody {
                            @for se in &sessions {
                                tr {
                                    td { (when(se.created_at, v.tz)) }
                                    td { (when(se.last_seen_at, v.tz)) }
                                    td.opt.mono { (se.address) }
                                    td { small { (se.user_agent) } }
                                }
                            }
                        }
                    }
                    p.muted { small { "Changing your password signs out every other session." } }
                }
            }
            aside {
                form.card method="post" action="/settings/password" {
                    h2 { "Change password" }
                    (csrf_field(c.csrf))
                    div.field { label for="cur" { "Current password" } input #cur type="password" name="current_password" autocomplete="current-password" required; }
                    div.field { label for="new" { "New password" } input #new type="password" name="new_password" minlength="10" autocomplete="new-password" required; div.hint { "At least 10 characters." } }
                    button.primary type="submit" { "Change password" }
                }
                div.card {
                    h2 { "You" }
                    dl.facts {
                        dt { "Name" } dd { (user.display_name) }
                        dt { "Email" } dd { (user.email) }
                        dt { "Role" } dd { (user.role) }
                        dt { "Time zone" } dd { (v.tz.name()) }
                    }
                }
            }
        }
    };
    Ok(html_page(page(
        &c,
        Section::Settings,
        "Settings",
        &flash,
        body,
    )))
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    current_password: SecretString,
    new_password: SecretString,
}

async fn change_password(
    State(state): State<AppState>,
    v: Viewer,
    Form(f): Form<PasswordForm>,
) -> Response {
    match state
        .service
        .change_password(
            &v.session.user,
            &f.current_password,
            &f.new_password,
            Some(&v.session.secret),
        )
        .await
    {
        Ok(()) => see_notice(
            "/settings",
            "Password changed; your other sessions are signed out",
        ),
        Err(e) => see_error("/settings", e),
    }
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    name: String,
    role: String,
}

async fn create_token(
    State(state): State<AppState>,
    v: Viewer,
    Form(f): Form<TokenForm>,
) -> PageResult {
    let user = &v.session.user;
    let role: Role = match f.role.parse() {
        Ok(r) => r,
        Err(e) => return Ok(see_error("/settings", natronfx_service::Error::from(e))),
    };
    let new = match state.service.create_token(user, &f.name, role).await {
        Ok(t) => t,
        Err(e) => return Ok(see_error("/settings", e)),
    };
    // The secret is shown on this page, once: it is never stored or shown again.
    let c = v.chrome();
    let body = html! {
        div.page-head { h1 { "Token created" } }
        div.card {
            p { "Copy it now: it cannot be shown again." }
            p.secret { (new.secret.expose_secret()) }
            p.muted { small { (new.token.name) " · acts as " (new.token.role) } }
            a.button.primary href="/settings" { "Done" }
        }
    };
    let mut response = html_page(page(
        &c,
        Section::Settings,
        "Token created",
        &Flash::default(),
        body,
    ));
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

async fn revoke_token(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
) -> Response {
    let id: TokenId = match id.parse() {
        Ok(i) => i,
        Err(e) => return see_error("/settings", natronfx_service::Error::from(e)),
    };
    match state.service.revoke_token(&v.session.user, id).await {
        Ok(()) => see_notice("/settings", "Token revoked"),
        Err(e) => see_error("/settings", e),
    }
}
