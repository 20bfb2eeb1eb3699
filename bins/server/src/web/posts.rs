//! The post list (filters by state, platform, account and author), one post (content, findings,
//! previews, review, schedule per target, timeline), and the review and schedule actions.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use natronfx_service::store::{PostCursor, PostFilter, PostSearch};
use natronfx_service::workflow::{
    Account, Action, MediaId, Platform, Post, PostId, PostState, TargetState, User, authorize,
};
use natronfx_service::{Service, workflow};
use serde::Deserialize;

use super::layout::{Chrome, Flash, Section, badge, button_form, csrf_field, page, when};
use super::{PageResult, Viewer, fail, html_page, see_error, see_notice, url_encode};
use crate::api::{decode_cursor, encode_cursor};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/posts", get(list))
        .route("/posts/{id}", get(show))
        .route("/posts/{id}/preview/{platform}", get(preview_image))
        .route("/media/{id}", get(media_image))
        .route("/posts/{id}/submit", post(submit))
        .route("/posts/{id}/approve", post(approve))
        .route("/posts/{id}/request-changes", post(request_changes))
        .route("/posts/{id}/reject", post(reject))
        .route("/posts/{id}/schedule", post(schedule))
        .route("/posts/{id}/unschedule", post(unschedule))
        .route("/posts/{id}/archive", post(archive))
}

/// Names of people and accounts, for showing ids as people read them.
pub struct Names {
    people: HashMap<String, String>,
    /// Every account.
    pub accounts: Vec<Account>,
}

impl Names {
    pub async fn load(s: &Service, user: &User) -> Result<Names, Response> {
        let people = s
            .team_members(user)
            .await
            .map_err(fail)?
            .into_iter()
            .map(|u| (u.id.to_string(), u.display_name))
            .collect();
        let accounts = s.list_accounts(user).await.map_err(fail)?;
        Ok(Names { people, accounts })
    }

    pub fn person(&self, id: impl ToString) -> String {
        let id = id.to_string();
        self.people.get(&id).cloned().unwrap_or(id)
    }

    pub fn account(&self, id: workflow::AccountId) -> String {
        self.accounts
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.display_name.clone())
            .unwrap_or_else(|| id.to_string())
    }
}

fn empty_is_none(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.trim().is_empty())
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    platform: Option<String>,
    account: Option<String>,
    author: Option<String>,
    cursor: Option<String>,
    #[serde(flatten)]
    flash: Flash,
}

const PAGE: u32 = 25;

async fn list(State(state): State<AppState>, v: Viewer, Query(q): Query<ListQuery>) -> PageResult {
    let s = &state.service;
    let user = &v.session.user;
    let names = Names::load(s, user).await?;
    let state_f = empty_is_none(q.state.clone());
    let platform_f = empty_is_none(q.platform.clone());
    let account_f = empty_is_none(q.account.clone());
    let author_f = empty_is_none(q.author.clone());
    let after = match q.cursor.as_deref() {
        Some(c) => {
            let parts = decode_cursor(c, 2).map_err(|e| super::error_page(&e))?;
            DateTime::parse_from_rfc3339(&parts[0])
                .ok()
                .zip(parts[1].parse().ok())
                .map(|(at, id)| PostCursor {
                    updated_at: at.with_timezone(&Utc),
                    id,
                })
        }
        None => None,
    };
    let parse = |e: workflow::Error| fail(natronfx_service::Error::from(e));
    let search = PostSearch {
        filter: PostFilter {
            state: state_f
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(parse)?,
            author: author_f
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(parse)?,
            after,
            limit: PAGE,
        },
        platform: platform_f
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(parse)?,
        account: account_f
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(parse)?,
    };
    let posts = s.search_posts(user, &search).await.map_err(fail)?;
    let members = s.team_members(user).await.map_err(fail)?;
    let next = (posts.len() == PAGE as usize)
        .then(|| {
            posts
                .last()
                .map(|p| encode_cursor(&[&p.updated_at.to_rfc3339(), &p.id.to_string()]))
        })
        .flatten();
    let keep = |extra: &str| {
        let mut params = Vec::new();
        for (k, val) in [
            ("state", &state_f),
            ("platform", &platform_f),
            ("account", &account_f),
            ("author", &author_f),
        ] {
            if let Some(val) = val {
                params.push(format!("{k}={}", url_encode(val)));
            }
        }
        if !extra.is_empty() {
            params.push(extra.to_owned());
        }
        format!("/posts?{}", params.join("&"))
    };
    let c = v.chrome();
    let can_create = authorize(user, Action::CreatePost, None).is_ok();
    let selected = |cur: &Option<String>, val: &str| cur.as_deref() == Some(val);
    let body = html! {
        div.page-head {
            h1 { "Posts" }
            @if can_create { a.button.primary href="/posts/new" { "New post" } }
        }
        form.filters method="get" action="/posts" {
            div.field {
                label for="f-state" { "State" }
                select #f-state name="state" {
                    option value="" { "Any state" }
                    @for st in PostState::ALL {
                        option value=(st.as_str()) selected[selected(&state_f, st.as_str())] { (st.as_str().replace('_', " ")) }
                    }
                }
            }
            div.field {
                label for="f-platform" { "Platform" }
                select #f-platform name="platform" {
                    option value="" { "Any platform" }
                    @for p in Platform::ALL {
                        option value=(p.as_str()) selected[selected(&platform_f, p.as_str())] { (p) }
                    }
                }
            }
            div.field {
                label for="f-account" { "Account" }
                select #f-account name="account" {
                    option value="" { "Any account" }
                    @for a in &names.accounts {
                        option value=(a.id) selected[selected(&account_f, &a.id.to_string())] { (a.display_name) " (" (a.platform) ")" }
                    }
                }
            }
            div.field {
                label for="f-author" { "Author" }
                select #f-author name="author" {
                    option value="" { "Anyone" }
                    @for m in &members {
                        option value=(m.id) selected[selected(&author_f, &m.id.to_string())] { (m.display_name) }
                    }
                }
            }
            button type="submit" { "Filter" }
            a.button href="/posts" { "Clear" }
        }
        @if posts.is_empty() {
            div.card.empty {
                p { "No posts match." }
                @if can_create { a.button.primary href="/posts/new" { "Start a post" } }
            }
        } @else {
            div.card.table-wrap.flush {
                table {
                    thead { tr {
                        th { "Title" } th { "State" } th.opt { "Author" } th.opt.num { "Slides" } th.opt.num { "Targets" }
                        th { "Next publish" } th.opt { "Updated" }
                    } }
                    tbody {
                        @for p in &posts {
                            tr {
                                td { a href={ "/posts/" (p.id) } { (p.title) } }
                                td { (badge(p.state)) }
                                td.opt { (names.person(p.author)) }
                                td.opt.num { (p.slide_count) }
                                td.opt.num { (p.target_count) }
                                td { @match p.next_publish_at { Some(at) => (when(at, v.tz)), None => span.muted { "—" } } }
                                td.opt { (when(p.updated_at, v.tz)) }
                            }
                        }
                    }
                }
            }
            div.pager {
                @if q.cursor.is_some() { a href=(keep("")) { "← Newest" } } @else { span {} }
                @if let Some(n) = &next { a href=(keep(&format!("cursor={n}"))) { "Older →" } }
            }
        }
    };
    Ok(html_page(page(&c, Section::Posts, "Posts", &q.flash, body)))
}

#[allow(
    clippy::result_large_err,
    reason = "the error is the page to answer, built once"
)]
fn post_id(raw: &str) -> Result<PostId, Response> {
    raw.parse::<PostId>()
        .map_err(|e| fail(natronfx_service::Error::from(e)))
}

/// The findings list, errors first.
pub fn findings_card(findings: &[workflow::Finding]) -> Markup {
    let errors = findings.iter().filter(|f| f.is_error()).count();
    html! {
        div.card #findings {
            h2 { "Checks" }
            @if findings.is_empty() {
                p.muted { "Every platform rule passes." }
            } @else {
                p {
                    @if errors > 0 { (errors) " must be fixed before this post can move on." }
                    @else { "Nothing blocks this post." }
                }
                ul.findings {
                    @for f in findings {
                        li {
                            (badge(f.severity))
                            " "
                            @if let Some(p) = f.platform { strong { (p) } " " }
                            @if let Some(n) = f.slide { span.muted { "slide " (n) } }
                            span.msg { (f.message) }
                            span.hint { (f.hint) }
                        }
                    }
                }
            }
        }
    }
}

/// Previews of every platform the post targets.
pub fn previews_card(post: &Post) -> Markup {
    let mut platforms: Vec<Platform> = post.targets.iter().map(|t| t.platform).collect();
    platforms.dedup();
    html! {
        @if !platforms.is_empty() && !post.slides.is_empty() {
            div.card #previews {
                h2 { "Previews" }
                p.muted { small { "What each app shows: the frame, the caption cut where the app cuts it, linked tags." } }
                div.previews {
                    @for p in platforms {
                        figure.preview {
                            img src={ "/posts/" (post.id) "/preview/" (p) } alt={ "How " (p) " shows this post" } loading="lazy";
                            figcaption { small { (p) } }
                        }
                    }
                }
            }
        }
    }
}

/// The slides as thumbnails.
pub fn slides_grid(post: &Post) -> Markup {
    html! {
        @if post.slides.is_empty() {
            p.muted { "No slides yet." }
        } @else {
            div.slides {
                @for (i, s) in post.slides.iter().enumerate() {
                    div.slide {
                        img src={ "/media/" (s.media_id) } alt=(s.alt_text.as_str()) loading="lazy";
                        div.n { "Slide " (i + 1) }
                        small { (s.alt_text.as_str()) }
                    }
                }
            }
        }
    }
}

fn timeline(
    events: &[natronfx_service::store::StoredAuditEvent],
    names: &Names,
    tz: chrono_tz::Tz,
) -> Markup {
    html! {
        ol.timeline {
            @for e in events {
                li {
                    strong { (e.event.action.as_str().replace('-', " ")) }
                    @if let (Some(from), Some(to)) = (&e.event.from_state, &e.event.to_state) {
                        " " span.muted { (from.replace('_', " ")) " → " (to.replace('_', " ")) }
                    }
                    br;
                    small.muted {
                        @if let Some(a) = e.event.actor { (names.person(a)) " · " }
                        (when(e.event.at, tz))
                    }
                    @if let Some(n) = &e.event.note { div.caption { small { (n) } } }
                }
            }
        }
    }
}

/// Common zone names for the schedule form (the viewer's own first).
fn zone_list(c: &Chrome) -> Markup {
    html! {
        datalist #zones {
            option value=(c.tz.name()) {}
            @for z in chrono_tz::TZ_VARIANTS.iter() { option value=(z.name()) {} }
        }
    }
}

async fn show(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Query(flash): Query<Flash>,
) -> PageResult {
    let s = &state.service;
    let user = &v.session.user;
    let id = post_id(&id)?;
    let post = s.post(user, id).await.map_err(fail)?;
    let findings = s.check_post(user, id).await.map_err(fail)?;
    let history = s.post_history(user, id).await.map_err(fail)?;
    let publishing = s.timeline(user, id).await.map_err(fail)?;
    let policy = s.team_policy(user).await.map_err(fail)?;
    let names = Names::load(s, user).await?;
    let c = v.chrome();
    let st = post.state();
    let may = |a: Action| authorize(user, a, Some(&post)).is_ok();
    let can_edit = may(Action::EditPost) && st.is_editable();
    let can_submit = may(Action::SubmitPost) && st == PostState::Draft;
    let can_review = may(Action::ReviewPost) && st == PostState::InReview;
    let can_schedule =
        may(Action::SchedulePost) && matches!(st, PostState::Approved | PostState::Scheduled);
    let can_unschedule = may(Action::SchedulePost) && st == PostState::Scheduled;
    let can_archive = may(Action::ArchivePost) && !st.is_terminal();
    // What happened since the last review decision (for reviewers: what changed).
    let last_review = history.iter().rposition(|e| {
        matches!(
            e.event.action.as_str(),
            "post-approved" | "changes-requested" | "post-rejected"
        )
    });
    let since: Vec<_> = match last_review {
        Some(i) => history[i + 1..].to_vec(),
        None => Vec::new(),
    };
    let unsent: Vec<_> = post
        .targets
        .iter()
        .filter(|t| !matches!(t.state, TargetState::Published | TargetState::Cancelled))
        .collect();
    let approvals = post.current_approvers();
    let base = format!("/posts/{}", post.id);
    let body = html! {
        div.page-head {
            div {
                h1 { (post.title.as_str()) }
                div.row {
                    (badge(st))
                    small.muted { "by " (names.person(post.author)) " · updated " (when(post.updated_at, v.tz)) " · version " (post.version) }
                }
            }
            div.actions {
                @if can_edit { a.button href={ (base) "/edit" } { "Edit" } }
                @if can_submit { (button_form(&c, &format!("{base}/submit"), "Submit for review", "primary", None)) }
                @if can_archive { (button_form(&c, &format!("{base}/archive"), "Archive", "danger", Some("Archive this post? It will not be published."))) }
                @if authorize(user, Action::ManageData, None).is_ok() { (button_form(&c, &format!("{base}/export"), "Export (JSON)", "", None)) }
            }
        }
        div.split.aside-first {
            div {
                div.card {
                    h2 { "Caption" }
                    p.caption { (post.caption.as_str()) }
                    @let tags = post.hashtags();
                    @if !tags.is_empty() {
                        p.muted { @for h in tags.iter() { (h.as_str()) " " } }
                    }
                }
                div.card {
                    h2 { "Slides" }
                    (slides_grid(&post))
                }
                div.card.table-wrap {
                    h2 { "Targets" }
                    @if post.targets.is_empty() {
                        p.muted { "No targets: edit the post to choose where it goes." }
                    } @else {
                        table {
                            thead { tr { th { "Account" } th { "State" } th { "When" } th.opt { "Caption" } } }
                            tbody {
                                @for t in &post.targets {
                                    tr {
                                        td { (names.account(t.account_id)) br; small.muted { (t.platform) } }
                                        td { (badge(t.state)) }
                                        td { @match t.scheduled_at { Some(at) => (when(at.instant(), v.tz)), None => span.muted { "—" } } }
                                        td.opt { @match &t.caption_override { Some(cap) => small { (cap.as_str()) }, None => small.muted { "the post's caption" } } }
                                    }
                                }
                            }
                        }
                    }
                }
                (previews_card(&post))
                div.card #history {
                    h2 { "History" }
                    (timeline(&history, &names, v.tz))
                }
            }
            aside {
                (super::publishing::publishing_card(&c, &publishing, v.tz, super::publishing::Allowed { act: may(Action::SchedulePost) }))
                @if can_review {
                    div.card #review {
                        h2 { "Review" }
                        p.muted { small {
                            "Policy: " strong { (policy) } ". "
                            (approvals.len()) " approval" @if approvals.len() != 1 { "s" } " of this version so far."
                        } }
                        @if last_review.is_some() {
                            h3 { "Since the last review" }
                            @if since.is_empty() { p.muted { "No changes." } } @else { (timeline(&since, &names, v.tz)) }
                        } @else {
                            p.muted { small { "First review of this post." } }
                        }
                        form method="post" {
                            (csrf_field(c.csrf))
                            div.field {
                                label for="comment" { "Comment" }
                                textarea #comment name="comment" placeholder="A note for the author (optional)" class="short" {}
                            }
                            div.actions {
                                button.ok type="submit" formaction={ (base) "/approve" } { "Approve" }
                                button type="submit" formaction={ (base) "/request-changes" } { "Request changes" }
                                button.danger type="submit" formaction={ (base) "/reject" } data-confirm="Reject this post for good?" { "Reject" }
                            }
                        }
                    }
                }
                (findings_card(&findings))
                @if can_schedule && !unsent.is_empty() {
                    div.card #schedule {
                        h2 { "Schedule" }
                        form method="post" action={ (base) "/schedule" } {
                            (csrf_field(c.csrf))
                            div.field {
                                label for="at" { "Local date and time" }
                                input #at type="datetime-local" name="local" required;
                            }
                            div.field {
                                label for="zone" { "Time zone" }
                                input #zone type="text" name="zone" list="zones" value=(c.tz.name()) required;
                                (zone_list(&c))
                                div.hint { "A time the clocks skip is refused; for a time that happens twice, tick below for the second." }
                            }
                            label.check { input type="checkbox" name="later" value="1"; "Take the later of a repeated hour" }
                            input type="hidden" name="targets_offered" value="1";
                            fieldset {
                                legend { "Targets" }
                                @for t in &unsent {
                                    label.check {
                                        input type="checkbox" name="target" value=(t.id) checked;
                                        (names.account(t.account_id)) " " small.muted { (t.platform) }
                                    }
                                }
                            }
                            div.actions {
                                button.primary type="submit" { "Schedule" }
                                button type="submit" name="now" value="1" formnovalidate { "Publish now" }
                            }
                        }
                    }
                }
                @if can_unschedule {
                    div.card {
                        h2 { "Take off the schedule" }
                        (button_form(&c, &format!("{base}/unschedule"), "Unschedule every target", "", None))
                    }
                }
            }
        }
    };
    Ok(html_page(page(
        &c,
        Section::Posts,
        post.title.as_str(),
        &flash,
        body,
    )))
}

async fn preview_image(
    State(state): State<AppState>,
    v: Viewer,
    Path((id, platform)): Path<(String, String)>,
) -> PageResult {
    let id = post_id(&id)?;
    let platform: Platform = platform
        .parse()
        .map_err(|e: workflow::Error| fail(natronfx_service::Error::from(e)))?;
    let (_, sheet) = state
        .service
        .preview_post(&v.session.user, id, platform)
        .await
        .map_err(fail)?;
    Ok((
        [
            (header::CONTENT_TYPE, sheet.content_type),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        sheet.bytes,
    )
        .into_response())
}

async fn media_image(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let id: MediaId = id
        .parse()
        .map_err(|e: workflow::Error| fail(natronfx_service::Error::from(e)))?;
    crate::api::media_image(&state.service, &v.session.user, id)
        .await
        .map_err(fail)
}

#[derive(Debug, Default, Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    comment: Option<String>,
}

fn comment(f: CommentForm) -> Option<String> {
    empty_is_none(f.comment)
}

/// The post a form names in its path, or the way back to the list with the reason.
#[allow(
    clippy::result_large_err,
    reason = "the error is the redirect to answer, built once"
)]
pub(super) fn form_post_id(raw: &str) -> Result<PostId, Response> {
    raw.parse::<PostId>().map_err(|_| {
        see_error(
            "/posts",
            crate::ApiError::bad_request("invalid-input", "no such post"),
        )
    })
}

/// Runs a post action from a form and goes back to the post with a notice or the error.
pub(super) async fn act<F, Fut>(id: &str, done: &str, f: F) -> Response
where
    F: FnOnce(PostId) -> Fut,
    Fut: std::future::Future<Output = natronfx_service::Result<Post>>,
{
    let pid = match form_post_id(id) {
        Ok(pid) => pid,
        Err(back) => return back,
    };
    let back = format!("/posts/{pid}");
    match f(pid).await {
        Ok(_) => see_notice(&back, done),
        Err(e) => see_error(&back, e),
    }
}

async fn submit(State(state): State<AppState>, v: Viewer, Path(id): Path<String>) -> Response {
    act(&id, "Sent to review", |pid| {
        state.service.submit_post(&v.session.user, pid)
    })
    .await
}

async fn approve(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<CommentForm>,
) -> Response {
    act(&id, "Approved", |pid| {
        state.service.approve_post(&v.session.user, pid, comment(f))
    })
    .await
}

async fn request_changes(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<CommentForm>,
) -> Response {
    act(&id, "Sent back to the author", |pid| {
        state
            .service
            .request_changes(&v.session.user, pid, comment(f))
    })
    .await
}

async fn reject(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<CommentForm>,
) -> Response {
    act(&id, "Rejected", |pid| {
        state.service.reject_post(&v.session.user, pid, comment(f))
    })
    .await
}

async fn archive(State(state): State<AppState>, v: Viewer, Path(id): Path<String>) -> Response {
    act(&id, "Archived", |pid| {
        state.service.archive_post(&v.session.user, pid, None)
    })
    .await
}

async fn unschedule(State(state): State<AppState>, v: Viewer, Path(id): Path<String>) -> Response {
    act(&id, "Taken off the schedule", |pid| {
        state.service.unschedule_post(&v.session.user, pid, &[])
    })
    .await
}

async fn schedule(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    // Every target is the default of the service; a form that lists them and has none ticked means none.
    if get("targets_offered") == "1" && !fields.iter().any(|(n, _)| n == "target") {
        return see_error(
            &format!("/posts/{id}"),
            crate::ApiError::bad_request("invalid-input", "tick at least one target to schedule"),
        );
    }
    let now = get("now") == "1";
    let request = natronfx_service::ScheduleRequest {
        // `datetime-local` sends `YYYY-MM-DDTHH:MM`; "Publish now" sends the moment itself.
        local: if now {
            "now".to_owned()
        } else {
            get("local").replacen('T', " ", 1)
        },
        zone: if now {
            "UTC".to_owned()
        } else {
            get("zone").trim().to_owned()
        },
        ambiguity: if get("later") == "1" {
            workflow::Ambiguity::Later
        } else {
            workflow::Ambiguity::Earlier
        },
        targets: fields
            .iter()
            .filter(|(n, _)| n == "target")
            .map(|(_, v)| v.clone())
            .collect(),
        expected_version: None,
    };
    act(
        &id,
        if now { "Publishing now" } else { "Scheduled" },
        |pid| state.service.schedule_post(&v.session.user, pid, request),
    )
    .await
}
