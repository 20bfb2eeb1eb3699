//! Signing in and out of the dashboard.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::html;
use natronfx_service::LoginRequest;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::layout::{Flash, bare};
use crate::ApiError;
use crate::auth::{ClientAddress, clear_session_cookie, session_cookie, session_secret};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(page).post(submit))
        .route("/logout", post(logout))
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    #[serde(flatten)]
    flash: Flash,
}

/// Only paths on this site, never `//elsewhere` or a full URL.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => {
            n.to_owned()
        }
        _ => "/posts".to_owned(),
    }
}

fn form(next: &str, email: &str, flash: &Flash) -> maud::Markup {
    html! {
        div.login {
            span.brand { "Natron" span { "FX" } " Publisher" }
            div.card {
                h1 { "Sign in" }
                (flash.render())
                form method="post" action="/login" {
                    input type="hidden" name="next" value=(next);
                    input type="hidden" name="tz" value="" data-browser-zone;
                    div.field {
                        label for="email" { "Email" }
                        input #email type="email" name="email" value=(email) autocomplete="username" required autofocus;
                    }
                    div.field {
                        label for="password" { "Password" }
                        input #password type="password" name="password" autocomplete="current-password" required;
                    }
                    button.primary type="submit" { "Sign in" }
                }
            }
        }
    }
}

async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    if let Some(secret) = session_secret(&headers, &state.web)
        && state.service.session(secret).await.is_ok()
    {
        return Redirect::to(&next).into_response();
    }
    Html(bare("Sign in", form(&next, "", &q.flash)).into_string()).into_response()
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: SecretString,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    tz: Option<String>,
}

async fn submit(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = safe_next(f.next.as_deref());
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let result = state
        .service
        .login(LoginRequest {
            email: &f.email,
            password: &f.password,
            address: &address,
            user_agent,
            replaces: session_secret(&headers, &state.web),
        })
        .await;
    match result {
        Ok(session) => {
            let max_age = i64::from(state.service.auth_config().session_absolute_hours) * 3600;
            let mut response = Redirect::to(&next).into_response();
            let h = response.headers_mut();
            h.append(
                header::SET_COOKIE,
                session_cookie(&state.web, session.secret.expose_secret(), max_age),
            );
            if let Some(zone) =
                f.tz.as_deref()
                    .filter(|z| z.parse::<chrono_tz::Tz>().is_ok())
                && let Ok(v) = HeaderValue::from_str(&format!(
                    "nfx_tz={}; Path=/; Max-Age=31536000; SameSite=Lax",
                    super::url_encode(zone)
                ))
            {
                h.append(header::SET_COOKIE, v);
            }
            response
        }
        Err(e) => {
            let error = ApiError::from(e);
            let flash = Flash {
                notice: None,
                error: Some(error.message().to_owned()),
            };
            let status = match error.status() {
                StatusCode::TOO_MANY_REQUESTS => StatusCode::TOO_MANY_REQUESTS,
                s if s.is_server_error() => s,
                _ => StatusCode::UNAUTHORIZED,
            };
            (
                status,
                Html(bare("Sign in", form(&next, &f.email, &flash)).into_string()),
            )
                .into_response()
        }
    }
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(secret) = session_secret(&headers, &state.web)
        && let Err(e) = state.service.logout(secret).await
    {
        tracing::warn!(error = %e, "logout failed");
    }
    let mut response = Redirect::to("/login?notice=You+are+signed+out").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_session_cookie(&state.web));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next(Some("/posts/1")), "/posts/1");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "javascript:x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/posts", "{bad}");
        }
        assert_eq!(safe_next(None), "/posts");
    }
}
