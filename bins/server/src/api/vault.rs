//! `/vault/secrets`: the secrets the vault keeps for the system itself (the image API key), stored and
//! deleted by admins; a value is accepted, never returned.

use axum::Json;
use axum::extract::{Path, State};
use natronfx_service::{Service, SystemSecret};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Body;
use super::dto::{ErrorBody, Items, SystemSecretDto, SystemSecretRemovedDto, SystemSecretValueDto};
use crate::ApiError;
use crate::auth::Actor;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(store, remove))
}

/// Which secrets the vault can keep for the system, and whether each is stored or set in the
/// configuration (admins).
#[utoipa::path(get, path = "/vault/secrets", tag = "vault",
    responses((status = 200, body = Items<SystemSecretDto>), (status = "4XX", body = ErrorBody)))]
async fn list(
    State(s): State<Service>,
    Actor(user): Actor,
) -> Result<Json<Items<SystemSecretDto>>, ApiError> {
    let secrets = s.system_secrets(&user).await?;
    Ok(Json(Items {
        items: secrets.iter().map(SystemSecretDto::from).collect(),
    }))
}

/// Seals a value into the vault as this secret, replacing any stored before (admins; audited as
/// `secret-stored`). A value set in the configuration still takes precedence.
#[utoipa::path(put, path = "/vault/secrets/{name}", tag = "vault",
    params(("name" = String, Path, description = "`images_api_key`")),
    request_body = SystemSecretValueDto,
    responses((status = 200, body = SystemSecretDto), (status = "4XX", body = ErrorBody)))]
async fn store(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(name): Path<String>,
    Body(body): Body<SystemSecretValueDto>,
) -> Result<Json<SystemSecretDto>, ApiError> {
    let secret: SystemSecret = name.parse()?;
    s.store_system_secret(&user, secret, &body.value).await?;
    status_of(&s, &user, secret).await
}

/// Deletes the stored secret (admins; audited as `secret-removed` when there was one).
#[utoipa::path(delete, path = "/vault/secrets/{name}", tag = "vault",
    params(("name" = String, Path, description = "`images_api_key`")),
    responses((status = 200, body = SystemSecretRemovedDto), (status = "4XX", body = ErrorBody)))]
async fn remove(
    State(s): State<Service>,
    Actor(user): Actor,
    Path(name): Path<String>,
) -> Result<Json<SystemSecretRemovedDto>, ApiError> {
    let secret: SystemSecret = name.parse()?;
    let removed = s.remove_system_secret(&user, secret).await?;
    Ok(Json(SystemSecretRemovedDto {
        name: secret.name().into(),
        removed,
    }))
}

async fn status_of(
    s: &Service,
    user: &natronfx_service::User,
    secret: SystemSecret,
) -> Result<Json<SystemSecretDto>, ApiError> {
    let all = s.system_secrets(user).await?;
    let one = all
        .iter()
        .find(|st| st.name == secret.name())
        .ok_or_else(|| natronfx_service::Error::Internal("a known secret is not listed".into()))?;
    Ok(Json(one.into()))
}
