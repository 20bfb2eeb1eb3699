//! Admin → Vault: which key seals how many stored secrets (and which old key can go), and the secrets the
//! vault keeps for the system itself (the image API key): stored through a password field, never shown
//! again, removed with a confirmation.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::html;
use natronfx_service::{SystemSecret, SystemSecretStatus};
use secrecy::SecretString;
use serde::Deserialize;

use super::layout::{Flash, Section, button_form, csrf_field, page, when};
use super::{PageResult, Viewer, fail, html_page, see_error, see_notice};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/vault", get(vault))
        .route("/admin/vault/secrets/{name}", post(store))
        .route("/admin/vault/secrets/{name}/remove", post(remove))
}

const BACK: &str = "/admin/vault";

async fn vault(State(state): State<AppState>, v: Viewer, Query(flash): Query<Flash>) -> PageResult {
    let s = &state.service;
    let user = &v.session.user;
    // Authorized first; without a vault key the page says how to add one.
    let secrets: Option<Vec<SystemSecretStatus>> = match s.system_secrets(user).await {
        Ok(secrets) => Some(secrets),
        Err(e) if e.code() == "vault-not-configured" => None,
        Err(e) => return Err(fail(e)),
    };
    let status = match secrets {
        Some(_) => Some(s.vault_status(user).await.map_err(fail)?),
        None => None,
    };
    let c = v.chrome();
    let body = html! {
        div.page-head { h1 { "Administration" } }
        (super::admin::tabs(BACK))
        @match (&status, &secrets) {
            (Some(status), Some(secrets)) => {
                div.card #keys {
                    h2 { "Keys" }
                    p.muted { small {
                        "Stored secrets are sealed under the primary key. To change keys, add one to " code { "[vault]" }
                        ", make it primary, run " code { "natronfx vault rotate" } ", and remove the old key once it seals nothing."
                    } }
                }
                div.card.table-wrap.flush {
                    table {
                        thead { tr { th { "Key" } th.num { "Seals" } th { "Primary" } th { "Configured" } th { "Removable" } } }
                        tbody {
                            @for k in &status.keys {
                                tr data-key=(k.key_id) {
                                    td { (k.key_id) }
                                    td.num { (k.sealed) }
                                    td { @if k.primary { "yes" } @else { "no" } }
                                    td { @if k.in_keyring { "yes" } @else { strong { "missing" } } }
                                    td { @if k.retirable() { "yes" } @else { "no" } }
                                }
                            }
                        }
                    }
                }
                @for secret in secrets {
                    div.card id=(secret.name) {
                        h2 { (secret.purpose) }
                        p {
                            @if secret.in_configuration {
                                "In use: the value in the configuration (" code { (secret.setting) } "), which takes precedence over the vault's."
                            } @else if let (Some(key), Some(at)) = (secret.vault_key_id, secret.stored_at) {
                                "In use: the value in the vault, sealed under key " (key) ", stored " (when(at, v.tz)) "."
                            } @else {
                                "Not set: neither the configuration (" code { (secret.setting) } ") nor the vault holds it."
                            }
                        }
                        form method="post" action={ "/admin/vault/secrets/" (secret.name) } {
                            (csrf_field(c.csrf))
                            div.field {
                                label for={ "v-" (secret.name) } {
                                    @if secret.vault_key_id.is_some() { "Replace the stored value" } @else { "Store a value" }
                                }
                                input id={ "v-" (secret.name) } type="password" name="value" autocomplete="off" required;
                            }
                            button.primary type="submit" { "Seal into the vault" }
                        }
                        @if secret.vault_key_id.is_some() {
                            div.actions {
                                (button_form(&c, &format!("/admin/vault/secrets/{}/remove", secret.name), "Remove from the vault", "danger", Some("Remove this secret from the vault?")))
                            }
                        }
                    }
                }
            }
            _ => {
                div.card.notice.warn #no-vault {
                    "The vault has no key, so it keeps no secret. Give it one in " code { "[vault]" }
                    " (for example " code { "NATRONFX_VAULT__PRIMARY=1 NATRONFX_VAULT__KEYS__1=\"$(openssl rand -base64 32)\"" } ") and restart."
                }
            }
        }
    };
    Ok(html_page(page(&c, Section::Admin, "Vault", &flash, body)))
}

/// A value to seal into the vault.
#[derive(Deserialize)]
pub struct SecretForm {
    value: SecretString,
}

async fn store(
    State(state): State<AppState>,
    v: Viewer,
    Path(name): Path<String>,
    Form(f): Form<SecretForm>,
) -> Response {
    let secret: SystemSecret = match name.parse() {
        Ok(s) => s,
        Err(e) => return see_error(BACK, e),
    };
    match state
        .service
        .store_system_secret(&v.session.user, secret, &f.value)
        .await
    {
        Ok(()) => see_notice(BACK, &format!("Sealed {} into the vault", secret.name())),
        Err(e) => see_error(BACK, e),
    }
}

async fn remove(State(state): State<AppState>, v: Viewer, Path(name): Path<String>) -> Response {
    let secret: SystemSecret = match name.parse() {
        Ok(s) => s,
        Err(e) => return see_error(BACK, e),
    };
    match state
        .service
        .remove_system_secret(&v.session.user, secret)
        .await
    {
        Ok(true) => see_notice(BACK, &format!("Removed {} from the vault", secret.name())),
        Ok(false) => see_notice(BACK, &format!("The vault held no {}", secret.name())),
        Err(e) => see_error(BACK, e),
    }
}
