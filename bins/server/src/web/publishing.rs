//! Publishing on the post page: each target's ledger (state, platform id, link, the last error in plain
//! words, every step of every attempt) and what a person does about it: retry what failed or was
//! missed, cancel what has not been sent, settle an outcome that needs attention.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use axum::{Form, Router};
use chrono_tz::Tz;
use maud::{Markup, html};
use natronfx_service::workflow::TargetState;
use natronfx_service::{ScheduleRequest, TargetTimeline, Timeline};
use serde::Deserialize;

use super::layout::{Chrome, badge, csrf_field, when};
use super::posts::act;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/posts/{id}/retry", post(retry))
        .route("/posts/{id}/cancel", post(cancel))
        .route("/posts/{id}/targets/{target}/resolve", post(resolve))
}

/// What the viewer may do about publishing on this post.
#[derive(Debug, Clone, Copy)]
pub struct Allowed {
    /// Retry, cancel and settle (the schedule permission).
    pub act: bool,
}

/// A step's kind as people say it.
fn step(kind: &str) -> String {
    match kind {
        "started" => "Attempt started".into(),
        "remote-id" => "The platform took it".into(),
        "processing" => "The platform is processing".into(),
        "published" => "Live".into(),
        "retry" => "Will try again".into(),
        "failed" => "Failed".into(),
        "missed" => "Missed its time".into(),
        "released" => "Handed back".into(),
        other => {
            let mut s = other.replace(['-', '_'], " ");
            if let Some(first) = s.get(..1) {
                s.replace_range(..1, &first.to_uppercase());
            }
            s
        }
    }
}

fn target_card(c: &Chrome, base: &str, t: &TargetTimeline, tz: Tz, allowed: Allowed) -> Markup {
    let can_cancel = allowed.act
        && matches!(
            t.state,
            TargetState::Scheduled | TargetState::Missed | TargetState::Failed
        );
    let can_retry = allowed.act && matches!(t.state, TargetState::Failed | TargetState::Missed);
    let needs_person = allowed.act && t.state == TargetState::NeedsAttention;
    html! {
        div.publish-target data-target=(t.target) data-state=(t.state.as_str()) {
            div.row {
                strong { (t.account) } " " small.muted { (t.platform) } " " (badge(t.state))
            }
            @if let Some(id) = &t.platform_post_id {
                p.platform-id { small { "Platform id " code { (id) } } }
            }
            @if let Some(link) = &t.permalink {
                p { a href=(link) rel="noopener noreferrer" target="_blank" { "Open on " (t.platform) } }
            }
            @if let Some(at) = t.published_at {
                p { small.muted { "Live since " (when(at, tz)) } }
            } @else if let Some(at) = t.scheduled_at {
                p { small.muted { "Due " (when(at, tz)) } }
            }
            @if let Some(err) = &t.last_error {
                @if t.state != TargetState::Published {
                    p.notice.error role="status" { (err) }
                }
            }
            @if t.retries > 0 {
                p { small.muted { (t.retries) " failed tr" @if t.retries == 1 { "y" } @else { "ies" } " so far"
                    @if let Some(next) = t.next_attempt_at { @if t.state == TargetState::Publishing { "; next at " (when(next, tz)) } } } }
            }
            @if !t.entries.is_empty() {
                details {
                    summary { small { (t.entries.len()) " step" @if t.entries.len() != 1 { "s" } } }
                    ol.timeline {
                        @for e in &t.entries {
                            li {
                                strong { (step(&e.kind)) }
                                " " small.muted { "attempt " (e.attempt) " · " (when(e.at, tz)) }
                                @if !e.message.is_empty() { div.caption { small { (e.message) } } }
                                @if let Some(id) = &e.remote_id { div { small { "id " code { (id) } } } }
                                @if let Some(code) = &e.error_code {
                                    div { small.muted { "platform code " code { (code) }
                                        @if let Some(status) = e.http_status { " · HTTP " (status) } } }
                                }
                            }
                        }
                    }
                }
            }
            @if can_retry || can_cancel {
                div.actions {
                    @if can_retry {
                        form method="post" action={ (base) "/retry" } {
                            (csrf_field(c.csrf))
                            input type="hidden" name="target" value=(t.target);
                            button.small.primary type="submit" { "Publish now" }
                        }
                    }
                    @if can_cancel {
                        form method="post" action={ (base) "/cancel" } {
                            (csrf_field(c.csrf))
                            input type="hidden" name="target" value=(t.target);
                            button.small.danger type="submit" data-confirm="Cancel this target for good? It will not be published." { "Cancel" }
                        }
                    }
                }
            }
            @if needs_person {
                form.resolve method="post" action={ (base) "/targets/" (t.target) "/resolve" } {
                    (csrf_field(c.csrf))
                    p { small { "Whether this went live is unknown: look on " (t.platform) ", then say what you found." } }
                    div.field {
                        label for={ "note-" (t.target) } { "Note" }
                        input id={ "note-" (t.target) } type="text" name="note" placeholder="e.g. the link you saw";
                    }
                    div.actions {
                        button.small.ok type="submit" name="outcome" value="live" { "It is live" }
                        button.small type="submit" name="outcome" value="not-live" { "It is not live" }
                    }
                }
            }
        }
    }
}

/// The publishing card: every target's ledger and history, with the actions the viewer may take.
pub fn publishing_card(c: &Chrome, timeline: &Timeline, tz: Tz, allowed: Allowed) -> Markup {
    let base = format!("/posts/{}", timeline.post);
    let sent = timeline
        .targets
        .iter()
        .any(|t| t.state != TargetState::Unscheduled || !t.entries.is_empty());
    html! {
        @if sent {
            div.card #publishing {
                h2 { "Publishing" }
                @for t in &timeline.targets { (target_card(c, &base, t, tz, allowed)) }
            }
        }
    }
}

/// A target named by a form, when one is.
#[derive(Debug, Default, Deserialize)]
pub struct TargetForm {
    #[serde(default)]
    target: Option<String>,
}

impl TargetForm {
    fn targets(self) -> Vec<String> {
        self.target
            .filter(|t| !t.trim().is_empty())
            .into_iter()
            .collect()
    }
}

async fn retry(
    State(state): State<AppState>,
    v: super::Viewer,
    Path(id): Path<String>,
    Form(f): Form<TargetForm>,
) -> Response {
    let request = ScheduleRequest {
        targets: f.targets(),
        ..ScheduleRequest::now()
    };
    act(&id, "Back on the schedule: publishing now", |pid| {
        state.service.retry_post(&v.session.user, pid, &request)
    })
    .await
}

async fn cancel(
    State(state): State<AppState>,
    v: super::Viewer,
    Path(id): Path<String>,
    Form(f): Form<TargetForm>,
) -> Response {
    let targets = f.targets();
    act(&id, "Cancelled", |pid| {
        state.service.cancel_targets(&v.session.user, pid, &targets)
    })
    .await
}

/// What a person found on the platform.
#[derive(Debug, Deserialize)]
pub struct ResolveForm {
    outcome: String,
    #[serde(default)]
    note: Option<String>,
}

async fn resolve(
    State(state): State<AppState>,
    v: super::Viewer,
    Path((id, target)): Path<(String, String)>,
    Form(f): Form<ResolveForm>,
) -> Response {
    let live = f.outcome == "live";
    let note = f.note.filter(|n| !n.trim().is_empty());
    act(
        &id,
        if live {
            "Marked live"
        } else {
            "Marked not live"
        },
        |pid| {
            state
                .service
                .resolve_target(&v.session.user, pid, &target, live, note)
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_as_sentences() {
        assert_eq!(step("remote-id"), "The platform took it");
        assert_eq!(step("lease-lost"), "Lease lost");
        assert_eq!(step(""), "");
    }
}
