//! Admin → Data: what the retention policy keeps and would delete now (a dry run on every visit), running
//! it, and exports (the whole record, or one post) downloaded as the JSON `docs/export.schema.json`
//! describes. Exports are forms, not links, so that each (audited) export needs the session's CSRF token.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use maud::html;
use natronfx_service::{ExportScope, RetentionReport, Service, human_bytes};

use super::layout::{Flash, Section, button_form, page, when};
use super::posts::form_post_id;
use super::{PageResult, Viewer, fail, html_page, see_error, see_notice};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/data", get(data))
        .route("/admin/data/retention", post(run_retention))
        .route("/admin/data/export", post(export_all))
        .route("/posts/{id}/export", post(export_post))
}

const BACK: &str = "/admin/data";

fn report_table(report: &RetentionReport) -> maud::Markup {
    html! {
        div.card.table-wrap.flush {
            table {
                thead { tr { th { "Records" } th { "Kept for" } th.num { "To delete" } th.num { "Size" } } }
                tbody {
                    @for k in &report.kinds {
                        tr data-kind=(k.kind) {
                            td { (k.kind.replace('-', " ")) }
                            td { @match k.keep_days { Some(d) => { (d) " days" }, None => span.muted { "forever" } } }
                            td.num { (k.count) }
                            td.num { @match k.bytes { Some(b) => (human_bytes(b)), None => span.muted { "—" } } }
                        }
                    }
                }
            }
        }
    }
}

async fn data(State(state): State<AppState>, v: Viewer, Query(flash): Query<Flash>) -> PageResult {
    let s = &state.service;
    let user = &v.session.user;
    let preview = s
        .run_retention(Some(user), s.now(), true)
        .await
        .map_err(fail)?;
    let enabled = s.retention_config().enabled;
    let pending: u64 = preview.kinds.iter().map(|k| k.count).sum();
    let c = v.chrome();
    let body = html! {
        div.page-head { h1 { "Administration" } }
        (super::admin::tabs(BACK))
        div.card #retention {
            h2 { "Retention" }
            p.muted { small {
                "What the policy (" code { "[retention]" } ") would delete now, " (when(preview.at, v.tz)) ". "
                @if enabled { "The server applies it daily." } @else { "It is switched off: nothing is deleted." }
                " A record still in use (a scheduled post's media, an account's history) is never deleted."
            } }
        }
        (report_table(&preview))
        @if enabled && pending > 0 {
            div.actions {
                (button_form(&c, "/admin/data/retention", "Delete these now", "danger", Some("Delete what the policy no longer keeps? This cannot be undone.")))
            }
        }
        div.card #export {
            h2 { "Export" }
            p { "Every post with its reviews, targets, platform ids, publish attempts, media URLs and hashes, and the audit log, as one JSON file (no secret is ever in it). Each post's page exports that post alone." }
            (button_form(&c, "/admin/data/export", "Export everything (JSON)", "", None))
        }
    };
    Ok(html_page(page(&c, Section::Admin, "Data", &flash, body)))
}

async fn run_retention(State(state): State<AppState>, v: Viewer) -> Response {
    let s = &state.service;
    match s.run_retention(Some(&v.session.user), s.now(), false).await {
        Ok(report) => {
            let count: u64 = report.kinds.iter().map(|k| k.count).sum();
            let bytes: u64 = report.kinds.iter().filter_map(|k| k.bytes).sum();
            see_notice(
                BACK,
                &format!("Deleted {count} record(s), {} of files", human_bytes(bytes)),
            )
        }
        Err(e) => see_error(BACK, e),
    }
}

/// The export as a download.
async fn download(s: &Service, v: &Viewer, scope: ExportScope, name: String) -> Response {
    match s.export(&v.session.user, scope).await {
        Ok(bundle) => match serde_json::to_vec_pretty(&bundle) {
            Ok(bytes) => (
                [
                    (header::CONTENT_TYPE, "application/json".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}\""),
                    ),
                    (header::CACHE_CONTROL, "private, no-store".to_owned()),
                ],
                bytes,
            )
                .into_response(),
            Err(e) => fail(natronfx_service::Error::Internal(e.to_string())),
        },
        Err(e) => fail(e),
    }
}

async fn export_all(State(state): State<AppState>, v: Viewer) -> Response {
    let name = format!(
        "natronfx-export-{}.json",
        Utc::now().format("%Y%m%d-%H%M%S")
    );
    download(&state.service, &v, ExportScope::All, name).await
}

async fn export_post(State(state): State<AppState>, v: Viewer, Path(id): Path<String>) -> Response {
    let pid = match form_post_id(&id) {
        Ok(pid) => pid,
        Err(back) => return back,
    };
    download(
        &state.service,
        &v,
        ExportScope::Post(pid),
        format!("natronfx-post-{pid}.json"),
    )
    .await
}
