//! OAuth endpoints: TikTok Login Kit v2 (authorize, token, refresh, revoke), Instagram Business Login
//! (authorize, short-lived token, long-lived exchange, refresh) and Facebook Login (dialog, code exchange,
//! `fb_exchange_token`). Consent screens agree at once and redirect with a code.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::faults::{Endpoint, Fault};
use crate::respond::{graph_error, json_response, rejection};
use crate::shared::Shared;
use crate::state::{AuthCode, ConsentKind, GraphHost, Network, State, TiktokCreator, TokenKind};

type Ctx = AxumState<Arc<Shared>>;
type Params = Query<HashMap<String, String>>;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/tiktok-www/v2/auth/authorize/", get(tiktok_authorize))
        .route("/tiktok/v2/oauth/token/", post(tiktok_token))
        .route("/tiktok/v2/oauth/revoke/", post(tiktok_revoke))
        .route("/instagram-www/oauth/authorize", get(instagram_authorize))
        .route(
            "/instagram-api/oauth/access_token",
            post(instagram_short_token),
        )
        .route("/instagram/access_token", get(instagram_long_token))
        .route("/instagram/refresh_access_token", get(instagram_refresh))
        .route("/facebook-www/{version}/dialog/oauth", get(facebook_dialog))
}

fn form(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn redirect(location: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location.to_owned())]).into_response()
}

fn bad_page(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/html")],
        format!("<html><body>{message}</body></html>"),
    )
        .into_response()
}

fn with_params(base: &str, params: &[(&str, &str)]) -> String {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{query}")
}

/// The redirect of a declined consent screen, when one was scripted for this kind.
fn declined(
    state: &mut State,
    kind: ConsentKind,
    params: &HashMap<String, String>,
) -> Option<Response> {
    if !state.denials.remove(&kind) {
        return None;
    }
    let redirect_uri = params.get("redirect_uri").filter(|u| !u.is_empty())?;
    let state_param = params.get("state").cloned().unwrap_or_default();
    let location = match kind {
        ConsentKind::Tiktok => with_params(
            redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "The user denied the request"),
                ("state", &state_param),
            ],
        ),
        ConsentKind::InstagramLogin => format!(
            "{}#_",
            with_params(
                redirect_uri,
                &[
                    ("error", "access_denied"),
                    ("error_reason", "user_denied"),
                    ("error_description", "Permissions error"),
                    ("state", &state_param),
                ],
            )
        ),
        ConsentKind::FacebookLogin => format!(
            "{}#_=_",
            with_params(
                redirect_uri,
                &[
                    ("error", "access_denied"),
                    ("error_code", "200"),
                    ("error_description", "Permissions error"),
                    ("error_reason", "user_denied"),
                    ("state", &state_param),
                ],
            )
        ),
    };
    Some(redirect(&location))
}

/// Issue a single-use code for whoever the consent screen logs in as.
fn issue_code(
    state: &mut State,
    kind: ConsentKind,
    params: &HashMap<String, String>,
) -> Result<(String, String), &'static str> {
    if params.get("client_key").or_else(|| params.get("client_id"))
        != Some(&state.config.oauth_client_id)
    {
        return Err("unknown client");
    }
    let Some(redirect_uri) = params
        .get("redirect_uri")
        .filter(|u| !u.is_empty())
        .cloned()
    else {
        return Err("redirect_uri is required");
    };
    if params.get("response_type").map(String::as_str) != Some("code") {
        return Err("response_type must be code");
    }
    let account_id = match state.consent.remove(&kind) {
        Some(id) => id,
        None => match kind {
            ConsentKind::Tiktok => state.create_tiktok_account(TiktokCreator::default()).id,
            ConsentKind::InstagramLogin => {
                state
                    .create_instagram_account("sim.instagram", GraphHost::Instagram)
                    .id
            }
            ConsentKind::FacebookLogin => {
                let id = (100_000_000_000_000_u64 + state.next()).to_string();
                state.fb_users.insert(id.clone(), "Sim User".into());
                id
            }
        },
    };
    let n = state.next();
    let code = format!("sim-code-{n:016x}");
    let now = state.now();
    let code_record = AuthCode {
        kind,
        account_id,
        redirect_uri: redirect_uri.clone(),
        challenge: params.get("code_challenge").cloned(),
        scopes: params.get("scope").cloned().unwrap_or_default(),
        issued_at: now,
    };
    state.codes.insert(code.clone(), code_record);
    Ok((code, redirect_uri))
}

/// Take a code: single-use, valid for 10 minutes, for the same redirect URI.
fn take_code(
    state: &mut State,
    kind: ConsentKind,
    code: &str,
    redirect_uri: Option<&str>,
) -> Result<AuthCode, &'static str> {
    let now = state.now();
    let record = state
        .codes
        .remove(code)
        .filter(|c| c.kind == kind)
        .ok_or("invalid_grant")?;
    if now.signed_duration_since(record.issued_at) > chrono::Duration::minutes(10) {
        return Err("invalid_grant");
    }
    if redirect_uri.is_some_and(|u| u != record.redirect_uri) {
        return Err("redirect_mismatch");
    }
    Ok(record)
}

// ------------------------------------------------------------------------------------------------ TikTok

async fn tiktok_authorize(AxumState(shared): Ctx, Query(params): Params) -> Response {
    let mut state = shared.lock();
    if params.contains_key("code_challenge")
        && params.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return bad_page("code_challenge_method must be S256");
    }
    if let Some(response) = declined(&mut state, ConsentKind::Tiktok, &params) {
        return response;
    }
    let (code, redirect_uri) = match issue_code(&mut state, ConsentKind::Tiktok, &params) {
        Ok(c) => c,
        Err(m) => return bad_page(m),
    };
    let scopes = params.get("scope").cloned().unwrap_or_default();
    let state_param = params.get("state").cloned().unwrap_or_default();
    redirect(&with_params(
        &redirect_uri,
        &[
            ("code", &code),
            ("scopes", &scopes),
            ("state", &state_param),
        ],
    ))
}

/// TikTok OAuth errors are flat and, as third-party tests model them, come with HTTP 200.
fn tiktok_oauth_error(state: &mut State, error: &str, description: &str) -> Response {
    let log = state.log_id();
    json_response(
        200,
        &json!({ "error": error, "error_description": description, "log_id": log }),
    )
}

/// Scripted faults of an OAuth endpoint: a hang, a server error, or a refused grant.
async fn oauth_fault(shared: &Shared, endpoint: Endpoint) -> Option<Result<Response, Fault>> {
    let fault = {
        let mut state = shared.lock();
        state.count(endpoint);
        state.faults.next(endpoint)
    }?;
    match fault {
        Fault::Hang => Some(Ok(shared.hang().await)),
        other => Some(Err(other)),
    }
}

async fn tiktok_token(AxumState(shared): Ctx, body: Bytes) -> Response {
    let params = form(&body);
    match oauth_fault(&shared, Endpoint::TiktokOAuthToken).await {
        Some(Ok(response)) => return response,
        Some(Err(Fault::ServerError { status })) => {
            let log = shared.lock().log_id();
            return json_response(
                status,
                &json!({ "error": "server_error", "error_description": "Internal error.", "log_id": log }),
            );
        }
        Some(Err(Fault::ExpiredToken)) => {
            return tiktok_oauth_error(
                &mut shared.lock(),
                "invalid_grant",
                "Refresh token is invalid or expired.",
            );
        }
        _ => {}
    }
    let mut state = shared.lock();
    if params.get("client_key") != Some(&state.config.oauth_client_id)
        || params.get("client_secret") != Some(&state.config.oauth_client_secret)
    {
        return tiktok_oauth_error(
            &mut state,
            "invalid_client",
            "Client key or secret is incorrect.",
        );
    }
    let now = state.now();
    let (open_id, scopes) = match params.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let code = params.get("code").cloned().unwrap_or_default();
            let record = match take_code(
                &mut state,
                ConsentKind::Tiktok,
                &code,
                params.get("redirect_uri").map(String::as_str),
            ) {
                Ok(r) => r,
                Err("redirect_mismatch") => {
                    return tiktok_oauth_error(
                        &mut state,
                        "invalid_request",
                        "Redirect_uri is not matched with the uri when requesting code.",
                    );
                }
                Err(_) => {
                    return tiktok_oauth_error(
                        &mut state,
                        "invalid_grant",
                        "Authorization code is expired.",
                    );
                }
            };
            if let Some(challenge) = &record.challenge {
                let verifier = params.get("code_verifier").cloned().unwrap_or_default();
                if hex::encode(Sha256::digest(verifier.as_bytes())) != *challenge {
                    return tiktok_oauth_error(
                        &mut state,
                        "invalid_request",
                        "Code verifier or code challenge is invalid.",
                    );
                }
            }
            (record.account_id, record.scopes)
        }
        Some("refresh_token") => {
            let refresh = params.get("refresh_token").cloned().unwrap_or_default();
            // Refresh tokens rotate: the old one stops working.
            match state
                .refresh_tokens
                .remove(&refresh)
                .filter(|(_, until)| *until > now)
            {
                Some((open_id, _)) => (open_id, "user.info.basic,video.publish".to_owned()),
                None => {
                    return tiktok_oauth_error(
                        &mut state,
                        "invalid_grant",
                        "Refresh token is invalid or expired.",
                    );
                }
            }
        }
        _ => {
            return tiktok_oauth_error(
                &mut state,
                "unsupported_grant_type",
                "The grant type is not supported.",
            );
        }
    };
    let access = state.issue_token(
        "act.",
        (Network::Tiktok, None),
        &open_id,
        Some(chrono::Duration::hours(24)),
        TokenKind::Access,
    );
    let n = state.next();
    let refresh = format!("rft.{:032x}", (u128::from(n) << 64) ^ 0xfeed);
    state.issued_refresh.push(refresh.clone());
    state.refresh_tokens.insert(
        refresh.clone(),
        (open_id.clone(), now + chrono::Duration::days(365)),
    );
    json_response(
        200,
        &json!({
            "access_token": access, "expires_in": 86400, "open_id": open_id, "refresh_expires_in": 31536000,
            "refresh_token": refresh, "scope": scopes, "token_type": "Bearer",
        }),
    )
}

async fn tiktok_revoke(AxumState(shared): Ctx, body: Bytes) -> Response {
    let params = form(&body);
    match oauth_fault(&shared, Endpoint::TiktokOAuthRevoke).await {
        Some(Ok(response)) => return response,
        Some(Err(Fault::ServerError { status })) => {
            let log = shared.lock().log_id();
            return json_response(
                status,
                &json!({ "error": "server_error", "error_description": "Internal error.", "log_id": log }),
            );
        }
        _ => {}
    }
    let mut state = shared.lock();
    if params.get("client_key") != Some(&state.config.oauth_client_id)
        || params.get("client_secret") != Some(&state.config.oauth_client_secret)
    {
        return tiktok_oauth_error(
            &mut state,
            "invalid_client",
            "Client key or secret is incorrect.",
        );
    }
    let now = state.now();
    if let Some(token) = params.get("token").and_then(|t| state.tokens.get_mut(t)) {
        token.expires_at = Some(now);
    }
    StatusCode::OK.into_response()
}

// ------------------------------------------------------------------------------------------------ Instagram

async fn instagram_authorize(AxumState(shared): Ctx, Query(params): Params) -> Response {
    let mut state = shared.lock();
    if let Some(response) = declined(&mut state, ConsentKind::InstagramLogin, &params) {
        return response;
    }
    let (code, redirect_uri) = match issue_code(&mut state, ConsentKind::InstagramLogin, &params) {
        Ok(c) => c,
        Err(m) => return bad_page(m),
    };
    let state_param = params.get("state").cloned().unwrap_or_default();
    // Instagram appends `#_` to the redirect.
    redirect(&format!(
        "{}#_",
        with_params(&redirect_uri, &[("code", &code), ("state", &state_param)])
    ))
}

fn instagram_api_error(message: &str) -> Response {
    json_response(
        400,
        &json!({ "error_type": "OAuthException", "code": 400, "error_message": message }),
    )
}

async fn instagram_short_token(AxumState(shared): Ctx, body: Bytes) -> Response {
    let params = form(&body);
    let mut state = shared.lock();
    if params.get("client_id") != Some(&state.config.oauth_client_id) {
        return instagram_api_error("Invalid platform app");
    }
    if params.get("client_secret") != Some(&state.config.oauth_client_secret) {
        return instagram_api_error("Error validating client secret.");
    }
    if params.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return instagram_api_error("Unsupported grant_type");
    }
    let code = params.get("code").cloned().unwrap_or_default();
    let Ok(record) = take_code(
        &mut state,
        ConsentKind::InstagramLogin,
        &code,
        params.get("redirect_uri").map(String::as_str),
    ) else {
        return instagram_api_error("Invalid authorization code");
    };
    let token = state.issue_token(
        "IGAA",
        (Network::Instagram, Some(GraphHost::Instagram)),
        &record.account_id,
        Some(chrono::Duration::hours(1)),
        TokenKind::ShortLived,
    );
    let user_id: u64 = record.account_id.parse().unwrap_or_default();
    json_response(
        200,
        &json!({ "data": [{ "access_token": token, "user_id": user_id, "permissions": record.scopes }] }),
    )
}

fn graph_fail(state: &mut State, code: i64, subcode: Option<i64>, message: &str) -> Response {
    let trace = state.fbtrace();
    graph_error(400, &rejection(code, subcode, message), false, &trace)
}

async fn instagram_long_token(AxumState(shared): Ctx, Query(params): Params) -> Response {
    let mut state = shared.lock();
    if params.get("grant_type").map(String::as_str) != Some("ig_exchange_token") {
        return graph_fail(&mut state, 100, None, "Unsupported grant_type");
    }
    if params.get("client_secret") != Some(&state.config.oauth_client_secret) {
        return graph_fail(&mut state, 1, None, "Error validating client secret.");
    }
    let now = state.now();
    let token = params
        .get("access_token")
        .and_then(|t| state.tokens.get(t))
        .cloned();
    let Some(token) =
        token.filter(|t| t.kind == TokenKind::ShortLived && t.expires_at.is_none_or(|e| e > now))
    else {
        return graph_fail(
            &mut state,
            190,
            None,
            "Invalid OAuth access token - Cannot parse access token",
        );
    };
    let long = state.issue_token(
        "IGAA",
        (Network::Instagram, Some(GraphHost::Instagram)),
        &token.account_id,
        Some(chrono::Duration::days(60)),
        TokenKind::Access,
    );
    json_response(
        200,
        &json!({ "access_token": long, "token_type": "bearer", "expires_in": 5_183_944 }),
    )
}

async fn instagram_refresh(AxumState(shared): Ctx, Query(params): Params) -> Response {
    match oauth_fault(&shared, Endpoint::InstagramRefresh).await {
        Some(Ok(response)) => return response,
        Some(Err(Fault::ServerError { status })) => {
            let trace = shared.lock().fbtrace();
            return graph_error(
                status,
                &rejection(
                    2,
                    None,
                    "An unexpected error has occurred. Please retry your request later.",
                ),
                true,
                &trace,
            );
        }
        Some(Err(Fault::ExpiredToken)) => {
            return graph_fail(
                &mut shared.lock(),
                190,
                Some(463),
                "Error validating access token: Session has expired.",
            );
        }
        _ => {}
    }
    let mut state = shared.lock();
    if params.get("grant_type").map(String::as_str) != Some("ig_refresh_token") {
        return graph_fail(&mut state, 100, None, "Unsupported grant_type");
    }
    let now = state.now();
    let token = params
        .get("access_token")
        .and_then(|t| state.tokens.get(t))
        .cloned();
    let Some(token) =
        token.filter(|t| t.kind == TokenKind::Access && t.host == Some(GraphHost::Instagram))
    else {
        return graph_fail(
            &mut state,
            190,
            None,
            "Invalid OAuth access token - Cannot parse access token",
        );
    };
    if token.expires_at.is_some_and(|e| e <= now) {
        return graph_fail(
            &mut state,
            190,
            Some(463),
            "Error validating access token: Session has expired.",
        );
    }
    if now.signed_duration_since(token.issued_at) < chrono::Duration::hours(24) {
        return graph_fail(
            &mut state,
            100,
            None,
            "The access token must be at least 24 hours old to be refreshed.",
        );
    }
    let fresh = state.issue_token(
        "IGAA",
        (Network::Instagram, Some(GraphHost::Instagram)),
        &token.account_id,
        Some(chrono::Duration::days(60)),
        TokenKind::Access,
    );
    json_response(
        200,
        &json!({ "access_token": fresh, "token_type": "bearer", "expires_in": 5_183_944 }),
    )
}

// ------------------------------------------------------------------------------------------------ Facebook

async fn facebook_dialog(
    AxumState(shared): Ctx,
    Path(_version): Path<String>,
    Query(mut params): Params,
) -> Response {
    params
        .entry("response_type".into())
        .or_insert_with(|| "code".into());
    let mut state = shared.lock();
    if let Some(response) = declined(&mut state, ConsentKind::FacebookLogin, &params) {
        return response;
    }
    let (code, redirect_uri) = match issue_code(&mut state, ConsentKind::FacebookLogin, &params) {
        Ok(c) => c,
        Err(m) => return bad_page(m),
    };
    let state_param = params.get("state").cloned().unwrap_or_default();
    redirect(&with_params(
        &redirect_uri,
        &[("code", &code), ("state", &state_param)],
    ))
}

/// `GET /{version}/oauth/access_token`: a code exchange or an `fb_exchange_token`.
pub(crate) fn facebook_token(shared: &Shared, params: &HashMap<String, String>) -> Response {
    let mut state = shared.lock();
    if params.get("client_id") != Some(&state.config.oauth_client_id) {
        return graph_fail(
            &mut state,
            101,
            None,
            "Error validating application. Invalid application ID.",
        );
    }
    if params.get("client_secret") != Some(&state.config.oauth_client_secret) {
        return graph_fail(&mut state, 1, None, "Error validating client secret.");
    }
    let now = state.now();
    let user = if params.get("grant_type").map(String::as_str) == Some("fb_exchange_token") {
        let token = params
            .get("fb_exchange_token")
            .and_then(|t| state.tokens.get(t))
            .cloned();
        match token
            .filter(|t| t.kind == TokenKind::FacebookUser && t.expires_at.is_none_or(|e| e > now))
        {
            Some(t) => t.account_id,
            None => {
                return graph_fail(
                    &mut state,
                    190,
                    None,
                    "Invalid OAuth access token - Cannot parse access token",
                );
            }
        }
    } else {
        let code = params.get("code").cloned().unwrap_or_default();
        match take_code(
            &mut state,
            ConsentKind::FacebookLogin,
            &code,
            params.get("redirect_uri").map(String::as_str),
        ) {
            Ok(record) => {
                let short = state.issue_token(
                    "EAAU",
                    (Network::Facebook, Some(GraphHost::Facebook)),
                    &record.account_id,
                    Some(chrono::Duration::hours(1) + chrono::Duration::seconds(383)),
                    TokenKind::FacebookUser,
                );
                return json_response(
                    200,
                    &json!({ "access_token": short, "token_type": "bearer", "expires_in": 5183 }),
                );
            }
            Err(_) => {
                return graph_fail(
                    &mut state,
                    100,
                    Some(36_009),
                    "This authorization code has been used.",
                );
            }
        }
    };
    let long = state.issue_token(
        "EAAU",
        (Network::Facebook, Some(GraphHost::Facebook)),
        &user,
        Some(chrono::Duration::days(60)),
        TokenKind::FacebookUser,
    );
    json_response(
        200,
        &json!({ "access_token": long, "token_type": "bearer", "expires_in": 5_184_000 }),
    )
}

/// `GET /me/accounts`: every Page in the simulator, with its Page token.
pub(crate) fn facebook_accounts(shared: &Shared) -> Response {
    let mut state = shared.lock();
    let mut pages: Vec<(String, String)> = state
        .pages
        .iter()
        .map(|(id, name)| (id.clone(), name.clone()))
        .collect();
    pages.sort();
    let mut data = Vec::new();
    for (id, name) in pages {
        let token = state.issue_token(
            "EAAG",
            (Network::Facebook, Some(GraphHost::Facebook)),
            &id,
            None,
            TokenKind::Access,
        );
        data.push(json!({ "id": id, "name": name, "access_token": token, "category": "Brand", "tasks": ["CREATE_CONTENT", "MANAGE"] }));
    }
    json_response(200, &json!({ "data": data }))
}
