//! `/me`, `/users` and `/tokens`: yourself, your password and sessions, the people of the team (admins),
//! and API tokens.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use natronfx_service::Service;
use natronfx_service::workflow::TokenId;
use secrecy::ExposeSecret;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{
    CreatedTokenDto, ErrorBody, Items, NewTokenDto, NewUserDto, Page, PasswordChangeDto,
    PasswordResetDto, SessionInfoDto, TokenDto, UserDto, UserPatchDto,
};
use super::{Body, page_in_memory, parse_id};
use crate::ApiError;
use crate::auth::{Actor, session_secret};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(my_sessions))
        .routes(routes!(list_users, add_user))
        .routes(routes!(edit_user))
        .routes(routes!(reset_password))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
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

/// Who you are (with an API token: acting with the token's role).
#[utoipa::path(get, path = "/me", tag = "people",
    responses((status = 200, body = UserDto), (status = "4XX", body = ErrorBody)))]
async fn me(Actor(user): Actor) -> Json<UserDto> {
    Json(UserDto::from(&user))
}

/// Changes your password. Every other session of yours ends; the one making the change stays.
#[utoipa::path(put, path = "/me/password", tag = "people", request_body = PasswordChangeDto,
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    Actor(user): Actor,
    headers: HeaderMap,
    Body(body): Body<PasswordChangeDto>,
) -> Result<StatusCode, ApiError> {
    let keep = session_secret(&headers, &state.web);
    state
        .service
        .change_password(&user, &body.current_password, &body.new_password, keep)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Your signed-in sessions, newest first.
#[utoipa::path(get, path = "/me/sessions", tag = "people",
    responses((status = 200, body = Items<SessionInfoDto>), (status = "4XX", body = ErrorBody)))]
async fn my_sessions(
    State(s): State<Service>,
    Actor(user): Actor,
) -> Result<Json<Items<SessionInfoDto>>, ApiError> {
    let sessions = s.my_sessions(&user).await?;
    Ok(Json(Items {
        items: sessions.iter().map(SessionInfoDto::from).collect(),
    }))
}

/// Every person, by email (admins).
#[utoipa::path(get, path = "/users", tag = "people", params(PageQuery),
    responses((status = 200, body = Page<UserDto>), (status = "4XX", body = ErrorBody)))]
async fn list_users(
    State(s): State<Service>,
    Actor(user): Actor,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<UserDto>>, ApiError> {
    let users = s.list_users(&user).await?;
    let (items, next_cursor) =
        page_in_memory(users, |u| u.email.to_string(), q.cursor.as_deref(), q.limit)?;
    Ok(Json(Page {
        items: items.iter().map(UserDto::from).collect(),
        next_cursor,
    }))
}

/// Adds a person (admins).
#[utoipa::path(post, path = "/users", tag = "people", request_body = NewUserDto,
    responses((status = 201, body = UserDto), (status = "4XX", body = ErrorBody)))]
async fn add_user(
    State(s): State<Service>,
    Actor(user): Actor,
    Body(body): Body<NewUserDto>,
) -> Result<Response, ApiError> {
    let password = body.password;
    let name = body.display_name.unwrap_or_else(|| body.email.clone());
    let added = s
        .add_user(
            &user,
            &body.email,
            &name,
            body.role.into(),
            password.as_ref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(UserDto::from(&added))).into_response())
}

/// Changes a person's role, or disables them (admins). The person is named by id or email.
#[utoipa::path(patch, path = "/users/{id}", tag = "people", params(("id" = String, Path, description = "user id or email")),
    request_body = UserPatchDto,
    responses((status = 200, body = UserDto), (status = "4XX", body = ErrorBody)))]
async fn edit_user(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
    Body(body): Body<UserPatchDto>,
) -> Result<Json<UserDto>, ApiError> {
    if body.disabled == Some(false) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-input",
            "a disabled person cannot be enabled again; add them anew",
        ));
    }
    let mut changed = None;
    if let Some(role) = body.role {
        changed = Some(s.set_role(&user, &id, role.into()).await?);
    }
    if body.disabled == Some(true) {
        changed = Some(s.disable_user(&user, &id).await?);
    }
    match changed {
        Some(u) => Ok(Json(UserDto::from(&u))),
        None => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-input",
            "give `role` or `disabled`",
        )),
    }
}

/// Sets a person's password (admins); every session of theirs ends.
#[utoipa::path(put, path = "/users/{id}/password", tag = "people", params(("id" = String, Path, description = "user id or email")),
    request_body = PasswordResetDto,
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
async fn reset_password(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
    Body(body): Body<PasswordResetDto>,
) -> Result<StatusCode, ApiError> {
    s.reset_password(&user, &id, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Your API tokens, newest first.
#[utoipa::path(get, path = "/tokens", tag = "people", params(PageQuery),
    responses((status = 200, body = Page<TokenDto>), (status = "4XX", body = ErrorBody)))]
async fn list_tokens(
    State(s): State<Service>,
    Actor(user): Actor,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<TokenDto>>, ApiError> {
    let tokens = s.list_tokens(&user).await?;
    // Newest first: ids are time-ordered, so sort by the inverted creation instant.
    let (items, next_cursor) = page_in_memory(
        tokens,
        |t| {
            format!(
                "{:020}|{}",
                i64::MAX - t.created_at.timestamp_micros(),
                t.id
            )
        },
        q.cursor.as_deref(),
        q.limit,
    )?;
    Ok(Json(Page {
        items: items.iter().map(TokenDto::from).collect(),
        next_cursor,
    }))
}

/// Creates an API token acting with a role no higher than yours. The secret is in this answer only.
#[utoipa::path(post, path = "/tokens", tag = "people", request_body = NewTokenDto,
    responses((status = 201, body = CreatedTokenDto), (status = "4XX", body = ErrorBody)))]
async fn create_token(
    State(s): State<Service>,
    Actor(user): Actor,
    Body(body): Body<NewTokenDto>,
) -> Result<Response, ApiError> {
    let role = body.role.map(Into::into).unwrap_or(user.role);
    let new = s.create_token(&user, &body.name, role).await?;
    let created = CreatedTokenDto {
        token: TokenDto::from(&new.token),
        secret: new.secret.expose_secret().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Revokes one of your tokens (admins: anyone's).
#[utoipa::path(delete, path = "/tokens/{id}", tag = "people", params(("id" = String, Path, description = "token id")),
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
async fn revoke_token(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: TokenId = parse_id(&id)?;
    s.revoke_token(&user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
