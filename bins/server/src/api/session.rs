//! `/session`: sign in with a password (the session id goes into an `HttpOnly` cookie), read the session
//! and its CSRF token, sign out.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use natronfx_service::LoginRequest;
use secrecy::ExposeSecret;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Body;
use super::dto::{ErrorBody, LoginDto, SessionDto, UserDto};
use crate::ApiError;
use crate::auth::{ClientAddress, clear_session_cookie, session_cookie, session_secret};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login, current, logout))
}

/// Signs in. The session id is set as an `HttpOnly`, `SameSite=Lax` cookie (`Secure` unless the server
/// runs on plain http on localhost); a session the browser had before ends. Too many failures for the
/// account or from the address within the window answer `too-many-attempts` (429).
#[utoipa::path(post, path = "/session", tag = "session", request_body = LoginDto, security(()),
    responses((status = 200, body = SessionDto, headers(("set-cookie" = String, description = "the session cookie"))),
        (status = "4XX", body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Body(body): Body<LoginDto>,
) -> Result<Response, ApiError> {
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let session = state
        .service
        .login(LoginRequest {
            email: &body.email,
            password: &body.password,
            address: &address,
            user_agent,
            replaces: session_secret(&headers, &state.web),
        })
        .await?;
    let max_age = i64::from(state.service.auth_config().session_absolute_hours) * 3600;
    let cookie = session_cookie(&state.web, session.secret.expose_secret(), max_age);
    let body = SessionDto {
        user: UserDto::from(&session.user),
        csrf_token: session.csrf_token,
        expires_at: session.expires_at,
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// The signed-in session and its CSRF token.
#[utoipa::path(get, path = "/session", tag = "session", security(("session" = [])),
    responses((status = 200, body = SessionDto), (status = "4XX", body = ErrorBody)))]
async fn current(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<SessionDto>, ApiError> {
    let secret = session_secret(&headers, &state.web)
        .ok_or_else(|| ApiError::unauthenticated("no session: sign in first"))?;
    let active = state.service.session(secret).await?;
    Ok(Json(SessionDto {
        user: UserDto::from(&active.user),
        csrf_token: active.csrf_token,
        expires_at: active.expires_at,
    }))
}

/// Signs out: the session ends and the cookie is cleared.
#[utoipa::path(delete, path = "/session", tag = "session", security(("session" = [])),
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(secret) = session_secret(&headers, &state.web) {
        state.service.logout(secret).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, clear_session_cookie(&state.web))],
    )
        .into_response())
}
