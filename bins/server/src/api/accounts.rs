//! `/accounts`: one account, connecting through the platform's consent screen (start, then the
//! callback URL the browser came back to), refreshing now, and disconnecting (stored secrets deleted).
//! The list is in `team`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use natronfx_service::Service;
use natronfx_service::workflow::AccountId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{
    AccountDto, CallbackDto, ConnectDto, ConnectStartDto, DisconnectDto, DisconnectedDto,
    ErrorBody, Items, RefreshDto,
};
use super::{Body, optional_body, parse_id};
use crate::ApiError;
use crate::auth::Actor;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_account))
        .routes(routes!(connect))
        .routes(routes!(callback))
        .routes(routes!(refresh))
        .routes(routes!(disconnect))
}

fn account_id(raw: &str) -> Result<AccountId, ApiError> {
    parse_id(raw)
}

/// One account with its connection (never a secret).
#[utoipa::path(get, path = "/accounts/{id}", tag = "accounts", params(("id" = String, Path, description = "account id")),
    responses((status = 200, body = AccountDto), (status = "4XX", body = ErrorBody)))]
async fn get_account(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
) -> Result<Json<AccountDto>, ApiError> {
    Ok(Json((&s.account(&user, account_id(&id)?).await?).into()))
}

/// Starts connecting an account (admins): a single-use state bound to the caller and the platform's
/// consent screen to send the person to.
#[utoipa::path(post, path = "/accounts/connect", tag = "accounts", request_body = ConnectDto,
    responses((status = 200, body = ConnectStartDto), (status = "4XX", body = ErrorBody)))]
async fn connect(
    State(s): State<Service>,
    Actor(user): Actor,
    Body(body): Body<ConnectDto>,
) -> Result<Json<ConnectStartDto>, ApiError> {
    Ok(Json(
        s.start_connect(&user, body.platform.into()).await?.into(),
    ))
}

/// Finishes connecting (the same caller that started): trades the code for tokens, sealed at rest, and
/// returns every account the login reaches.
#[utoipa::path(post, path = "/accounts/callback", tag = "accounts", request_body = CallbackDto,
    responses((status = 200, body = Items<AccountDto>), (status = "4XX", body = ErrorBody)))]
async fn callback(
    State(s): State<Service>,
    Actor(user): Actor,
    Body(body): Body<CallbackDto>,
) -> Result<Json<Items<AccountDto>>, ApiError> {
    let accounts = s.finish_connect(&user, &body.callback).await?;
    Ok(Json(Items {
        items: accounts.iter().map(AccountDto::from).collect(),
    }))
}

/// Refreshes the account's tokens now (admins), when the platform allows it.
#[utoipa::path(post, path = "/accounts/{id}/refresh", tag = "accounts", params(("id" = String, Path, description = "account id")),
    responses((status = 200, body = RefreshDto), (status = "4XX", body = ErrorBody)))]
async fn refresh(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
) -> Result<Json<RefreshDto>, ApiError> {
    let r = s.refresh_account(&user, account_id(&id)?).await?;
    Ok(Json(RefreshDto {
        account: (&r.account).into(),
        refreshed: r.refreshed,
        note: r.note,
    }))
}

/// Disconnects the account (admins): revokes its token where the platform offers that, deletes every
/// stored secret of it and keeps its history. With `purge`, the secrets are deleted even when the
/// revoke fails.
#[utoipa::path(post, path = "/accounts/{id}/disconnect", tag = "accounts", params(("id" = String, Path, description = "account id")),
    request_body(content = Option<DisconnectDto>, description = "optional"),
    responses((status = 200, body = DisconnectedDto), (status = "4XX", body = ErrorBody)))]
async fn disconnect(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<DisconnectedDto>, ApiError> {
    let purge = optional_body::<DisconnectDto>(&body)?.purge;
    let r = s.disconnect(&user, account_id(&id)?, purge).await?;
    Ok(Json(DisconnectedDto {
        account: (&r.account).into(),
        revoke: r.revoke.to_owned(),
        revoke_note: r.revoke_note,
        credentials_deleted: r.credentials_deleted,
    }))
}
