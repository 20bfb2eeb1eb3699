//! The post editor: title, caption with per-platform counters, hashtags, slides (upload, reorder, alt
//! text, remove, render from a spec or from a one-line-per-slide template), targets with their own
//! captions and TikTok choices; findings and previews beside it.

use axum::extract::{Multipart, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use natronfx_service::workflow::quality::{facebook, instagram, tiktok};
use natronfx_service::workflow::{Account, Action, Platform, Post, PostId, Target, authorize};
use natronfx_service::{PostInput, PostPatch, SlideInput, TargetInput, workflow};

use super::layout::{Flash, Section, csrf_field, page};
use super::posts::{Names, findings_card, form_post_id, previews_card};
use super::{PageResult, Viewer, fail, html_page, see_error, see_notice};
use crate::ApiError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/posts/new", get(new_page).post(create))
        .route("/posts/{id}/edit", get(edit_page).post(save))
        .route("/posts/{id}/slides", post(upload))
        .route("/posts/{id}/render", post(render))
        .route("/posts/{id}/quick-slides", post(quick_slides))
        .route("/posts/{id}/generate", post(generate))
}

type Fields = Vec<(String, String)>;

fn field<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

fn all<'a>(fields: &'a Fields, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    fields
        .iter()
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Hashtags typed as `#a, b #c`.
fn hashtag_list(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .map(|t| t.trim_start_matches('#'))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The caption box, with the limits the counters check against.
fn caption_box(name: &str, id: &str, value: &str, rows: u32) -> Markup {
    html! {
        textarea id=(id) name=(name) rows=(rows) data-counters
            data-instagram-chars=(instagram::MAX_CAPTION_CHARS)
            data-instagram-tags=(instagram::MAX_HASHTAGS)
            data-tiktok-chars=(tiktok::MAX_DESCRIPTION_UTF16)
            data-facebook-chars=(facebook::CAPTION_WARN_CHARS) { (value) }
    }
}

const PRIVACY: [&str; 4] = tiktok::PRIVACY_LEVELS;

/// One account's target fields: whether the post goes there, its own caption, TikTok's choices.
fn target_fields(account: &Account, target: Option<&Target>) -> Markup {
    let id = account.id.to_string();
    let options = target.map(|t| t.options.clone()).unwrap_or_default();
    let caption = target
        .and_then(|t| t.caption_override.as_ref())
        .map(|c| c.as_str().to_owned())
        .unwrap_or_default();
    html! {
        fieldset {
            legend {
                label.check {
                    input type="checkbox" name={ "target_" (id) } value="1" checked[target.is_some()];
                    (account.display_name) " " small.muted { (account.platform) }
                    @if account.sandbox { " " span.badge.sandbox { "sandbox" } }
                }
            }
            div.field {
                label for={ "caption_" (id) } { "Caption for this account only" span.muted { " (optional)" } }
                (caption_box(&format!("caption_{id}"), &format!("caption_{id}"), &caption, 2))
            }
            @if account.platform == Platform::Tiktok {
                div.inline-fields {
                    div.field {
                        label for={ "privacy_" (id) } { "Who can see it" }
                        select id={ "privacy_" (id) } name={ "privacy_" (id) } {
                            option value="" { "Choose (TikTok requires it)" }
                            @for p in PRIVACY {
                                option value=(p) selected[options.privacy_level.as_deref() == Some(p)] { (p.replace('_', " ").to_lowercase()) }
                            }
                        }
                    }
                }
                div.row {
                    label.check { input type="checkbox" name={ "nocomment_" (id) } value="1" checked[options.disable_comment]; "Comments off" }
                    label.check { input type="checkbox" name={ "brand_" (id) } value="1" checked[options.brand_content]; "Paid partnership" }
                    label.check { input type="checkbox" name={ "organic_" (id) } value="1" checked[options.brand_organic]; "Your brand" }
                    label.check { input type="checkbox" name={ "music_" (id) } value="1" checked[options.auto_add_music]; "Add music" }
                }
            }
        }
    }
}

/// The targets the form asks for.
fn targets_from(fields: &Fields, accounts: &[Account]) -> Vec<TargetInput> {
    accounts
        .iter()
        .filter(|a| field(fields, &format!("target_{}", a.id)) == "1")
        .map(|a| {
            let id = a.id.to_string();
            let caption = field(fields, &format!("caption_{id}")).trim().to_owned();
            let flag = |p: &str| field(fields, &format!("{p}_{id}")) == "1";
            let privacy = field(fields, &format!("privacy_{id}"));
            TargetInput {
                account: id.clone(),
                caption: (!caption.is_empty()).then_some(caption),
                options: workflow::TargetOptions {
                    privacy_level: (!privacy.is_empty()).then(|| privacy.to_owned()),
                    disable_comment: flag("nocomment"),
                    brand_content: flag("brand"),
                    brand_organic: flag("organic"),
                    auto_add_music: flag("music"),
                },
            }
        })
        .collect()
}

fn content_fields(title: &str, caption: &str, hashtags: &str) -> Markup {
    html! {
        div.field {
            label for="title" { "Title" }
            input #title type="text" name="title" value=(title) maxlength="150" required;
            div.hint { "TikTok shows it above the description (90 characters at most there)." }
        }
        div.field {
            label for="caption" { "Caption" }
            (caption_box("caption", "caption", caption, 6))
        }
        div.field {
            label for="hashtags" { "More hashtags" }
            input #hashtags type="text" name="hashtags" value=(hashtags) placeholder="#coffee morning";
            div.hint { "Added after the caption, beyond the ones written in it." }
        }
    }
}

async fn new_page(
    State(state): State<AppState>,
    v: Viewer,
    Query(flash): Query<Flash>,
) -> PageResult {
    let user = &v.session.user;
    authorize(user, Action::CreatePost, None).map_err(fail)?;
    let accounts = state.service.list_accounts(user).await.map_err(fail)?;
    let c = v.chrome();
    let body = html! {
        div.page-head { h1 { "New post" } }
        form.card method="post" action="/posts/new" {
            (csrf_field(c.csrf))
            (content_fields("", "", ""))
            h2 { "Where it goes" }
            @for a in &accounts { (target_fields(a, None)) }
            div.actions { button.primary type="submit" { "Create draft and add slides" } }
        }
    };
    Ok(html_page(page(
        &c,
        Section::Posts,
        "New post",
        &flash,
        body,
    )))
}

async fn create(State(state): State<AppState>, v: Viewer, Form(fields): Form<Fields>) -> Response {
    let user = &v.session.user;
    let accounts = match state.service.list_accounts(user).await {
        Ok(a) => a,
        Err(e) => return see_error("/posts/new", e),
    };
    let input = PostInput {
        title: field(&fields, "title").to_owned(),
        caption: field(&fields, "caption").to_owned(),
        hashtags: hashtag_list(field(&fields, "hashtags")),
        slides: vec![],
        targets: targets_from(&fields, &accounts),
    };
    match state.service.create_post(user, input).await {
        Ok(post) => see_notice(
            &format!("/posts/{}/edit", post.id),
            "Draft created: add slides",
        ),
        Err(e) => see_error("/posts/new", e),
    }
}

#[allow(
    clippy::result_large_err,
    reason = "the error is the page to answer, built once"
)]
fn id_of(raw: &str) -> Result<PostId, Response> {
    raw.parse::<PostId>()
        .map_err(|e| fail(natronfx_service::Error::from(e)))
}

fn slides_editor(post: &Post) -> Markup {
    let n = post.slides.len();
    html! {
        @if post.slides.is_empty() {
            p.muted { "No slides yet: upload images or render some below." }
        } @else {
            div.slides {
                @for (i, s) in post.slides.iter().enumerate() {
                    div.slide {
                        img src={ "/media/" (s.media_id) } alt=(s.alt_text.as_str());
                        div.n { "Slide " (i + 1) }
                        input type="hidden" name="slide_media" value=(s.media_id);
                        label.tiny for={ "alt" (i) } { "Alt text" }
                        input type="text" id={ "alt" (i) } name="slide_alt" value=(s.alt_text.as_str()) placeholder="Describe the image";
                        div.actions {
                            button.small type="submit" name="op" value={ "up:" (i) } disabled[i == 0] title="Move earlier" { "↑" }
                            button.small type="submit" name="op" value={ "down:" (i) } disabled[i + 1 == n] title="Move later" { "↓" }
                            button.small.danger type="submit" name="op" value={ "remove:" (i) } title="Remove" { "✕" }
                        }
                    }
                }
            }
        }
    }
}

async fn edit_page(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Query(flash): Query<Flash>,
) -> PageResult {
    let s = &state.service;
    let user = &v.session.user;
    let id = id_of(&id)?;
    let post = s.post(user, id).await.map_err(fail)?;
    authorize(user, Action::EditPost, Some(&post)).map_err(fail)?;
    let findings = s.check_post(user, id).await.map_err(fail)?;
    let names = Names::load(s, user).await?;
    let c = v.chrome();
    let base = format!("/posts/{}", post.id);
    let extra: Vec<String> = post
        .extra_hashtags
        .iter()
        .map(|h| h.as_str().to_owned())
        .collect();
    let can_generate = state.service.can_generate_images().await;
    let body = html! {
        div.page-head {
            h1 { "Edit: " (post.title.as_str()) }
            a.button href=(base) { "Done" }
        }
        @if post.state() != workflow::PostState::Draft {
            div.notice.warn { "This post is " (post.state().as_str().replace('_', " ")) ". Saving a change returns it to draft: approvals are voided and unsent targets come off the schedule." }
        }
        div.split {
            div {
                form.card #editor method="post" action={ (base) "/edit" } {
                    (csrf_field(c.csrf))
                    input type="hidden" name="version" value=(post.version);
                    (content_fields(post.title.as_str(), post.caption.as_str(), &extra.join(" ")))
                    h2 { "Slides" }
                    (slides_editor(&post))
                    h2.spaced { "Where it goes" }
                    @for a in &names.accounts {
                        (target_fields(a, post.targets.iter().find(|t| t.account_id == a.id)))
                    }
                    div.actions {
                        button.primary type="submit" name="op" value="save" { "Save" }
                        button type="submit" name="op" value="save-view" { "Save and view" }
                    }
                }
                div.card #upload {
                    h2 { "Add slides" }
                    form method="post" action={ (base) "/slides" } enctype="multipart/form-data" {
                        (csrf_field(c.csrf))
                        div.field {
                            label for="file" { "Upload images" }
                            input #file type="file" name="file" accept="image/jpeg,image/png,image/webp" multiple required;
                            div.hint { "JPEG, PNG or WebP. They are oriented, stripped of metadata and stored once." }
                        }
                        button type="submit" { "Upload" }
                    }
                    hr;
                    form method="post" action={ (base) "/quick-slides" } {
                        (csrf_field(c.csrf))
                        div.field {
                            label for="lines" { "Text slides" }
                            textarea #lines name="lines" rows="3" placeholder="One slide per line" {}
                        }
                        div.inline-fields {
                            div.field {
                                label for="bg" { "Background" }
                                input #bg type="text" name="background" value="#101828" pattern="#[0-9a-fA-F]{6}";
                            }
                            button type="submit" { "Render text slides" }
                        }
                    }
                    hr;
                    form #generate method="post" action={ (base) "/generate" } {
                        (csrf_field(c.csrf))
                        div.field {
                            label for="prompt" { "Generate a background" }
                            textarea #prompt name="prompt" rows="2" placeholder="What the image shows, e.g. a steaming cup on a wooden table, morning light" required disabled[!can_generate] {}
                            @if can_generate {
                                div.hint { "Made by the image model and labelled AI-generated (TikTok shows the label). Fitted to the 4:5 slide." }
                            } @else {
                                div.hint { "Image generation is off: an admin can keep the OpenAI key in the vault (" code { "natronfx vault secret set images_api_key" } "), or set " code { "[images] api_key" } " (" code { "NATRONFX_IMAGES__API_KEY" } ")." }
                            }
                        }
                        div.field {
                            label for="overlay" { "Text over it (optional)" }
                            textarea #overlay name="lines" rows="2" placeholder="One slide per line; empty for the image alone" disabled[!can_generate] {}
                        }
                        div.inline-fields {
                            div.field {
                                label for="size" { "Shape" }
                                select #size name="size" disabled[!can_generate] {
                                    option value="1024x1536" selected { "Portrait" }
                                    option value="1024x1024" { "Square" }
                                    option value="1536x1024" { "Landscape" }
                                }
                            }
                            button type="submit" disabled[!can_generate] { "Generate" }
                        }
                    }
                    hr;
                    details {
                        summary { "Render from a carousel spec (TOML)" }
                        form.spaced method="post" action={ (base) "/render" } {
                            (csrf_field(c.csrf))
                            div.field {
                                textarea name="spec_toml" rows="8" class="mono" placeholder="[[slides]]\nbackground = { type = \"solid\", color = \"#203040\" }\n[[slides.text]]\nrole = \"title\"\ntext = \"Hello\"" {}
                                div.hint { "Backgrounds may name uploaded media (" code { "media = \"<id>\"" } "), not files." }
                            }
                            button type="submit" { "Render" }
                        }
                    }
                }
            }
            aside {
                (findings_card(&findings))
                (previews_card(&post))
            }
        }
    };
    Ok(html_page(page(
        &c,
        Section::Posts,
        "Edit post",
        &flash,
        body,
    )))
}

/// Applies `op` (`up:N`, `down:N`, `remove:N`) to the slides.
fn reorder(mut slides: Vec<SlideInput>, op: &str) -> Vec<SlideInput> {
    let Some((what, n)) = op.split_once(':') else {
        return slides;
    };
    let Ok(i) = n.parse::<usize>() else {
        return slides;
    };
    match what {
        "up" if i > 0 && i < slides.len() => slides.swap(i, i - 1),
        "down" if i + 1 < slides.len() => slides.swap(i, i + 1),
        "remove" if i < slides.len() => {
            slides.remove(i);
        }
        _ => {}
    }
    slides
}

async fn save(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let back = format!("/posts/{id}/edit");
    let pid = match form_post_id(&id) {
        Ok(pid) => pid,
        Err(back) => return back,
    };
    let user = &v.session.user;
    let accounts = match state.service.list_accounts(user).await {
        Ok(a) => a,
        Err(e) => return see_error(&back, e),
    };
    let slides: Vec<SlideInput> = all(&fields, "slide_media")
        .zip(all(&fields, "slide_alt"))
        .map(|(m, a)| SlideInput {
            media_id: m.to_owned(),
            alt_text: a.trim().to_owned(),
        })
        .collect();
    let op = field(&fields, "op");
    let patch = PostPatch {
        title: Some(field(&fields, "title").to_owned()),
        caption: Some(field(&fields, "caption").to_owned()),
        hashtags: Some(hashtag_list(field(&fields, "hashtags"))),
        slides: Some(reorder(slides, op)),
        targets: Some(targets_from(&fields, &accounts)),
        expected_version: field(&fields, "version").parse().ok(),
    };
    match state.service.edit_post(user, pid, patch).await {
        Ok(post) if op == "save-view" => see_notice(&format!("/posts/{}", post.id), "Saved"),
        Ok(_) => see_notice(&back, "Saved"),
        Err(e) => see_error(&back, e),
    }
}

/// Appends stored media to a post's slides.
async fn append_slides(
    state: &AppState,
    user: &workflow::User,
    id: PostId,
    media: Vec<String>,
) -> natronfx_service::Result<Post> {
    let post = state.service.post(user, id).await?;
    let mut slides: Vec<SlideInput> = post
        .slides
        .iter()
        .map(|s| SlideInput {
            media_id: s.media_id.to_string(),
            alt_text: s.alt_text.as_str().to_owned(),
        })
        .collect();
    slides.extend(media.into_iter().map(|m| SlideInput {
        media_id: m,
        alt_text: String::new(),
    }));
    let patch = PostPatch {
        slides: Some(slides),
        expected_version: Some(post.version),
        ..Default::default()
    };
    state.service.edit_post(user, id, patch).await
}

async fn upload(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Response {
    let back = format!("/posts/{id}/edit");
    let pid = match form_post_id(&id) {
        Ok(pid) => pid,
        Err(back) => return back,
    };
    let user = &v.session.user;
    let files = match crate::api::read_files(multipart).await {
        Ok(f) => f,
        Err(e) => return see_error(&back, e),
    };
    let mut media = Vec::new();
    for bytes in files {
        match state.service.add_media(user, bytes).await {
            Ok(m) => media.push(m.id.to_string()),
            Err(e) => return see_error(&back, e),
        }
    }
    let n = media.len();
    match append_slides(&state, user, pid, media).await {
        Ok(_) => see_notice(
            &back,
            &format!(
                "{n} slide{} added: describe {} for people who cannot see {}",
                if n == 1 { "" } else { "s" },
                if n == 1 { "it" } else { "them" },
                if n == 1 { "it" } else { "them" }
            ),
        ),
        Err(e) => see_error(&back, e),
    }
}

async fn render_and_append(
    state: &AppState,
    v: &Viewer,
    id: &str,
    spec: Result<natronfx_media::CarouselSpec, natronfx_media::Error>,
) -> Response {
    let back = format!("/posts/{id}/edit");
    let pid = match form_post_id(id) {
        Ok(pid) => pid,
        Err(back) => return back,
    };
    let user = &v.session.user;
    let spec = match spec {
        Ok(s) => s,
        Err(e) => return see_error(&back, natronfx_service::Error::from(e)),
    };
    let made = match state.service.render_spec(user, spec).await {
        Ok(m) => m,
        Err(e) => return see_error(&back, e),
    };
    let n = made.len();
    match append_slides(
        state,
        user,
        pid,
        made.into_iter().map(|m| m.id.to_string()).collect(),
    )
    .await
    {
        Ok(_) => see_notice(
            &back,
            &format!("{n} slide{} rendered", if n == 1 { "" } else { "s" }),
        ),
        Err(e) => see_error(&back, e),
    }
}

async fn render(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let spec = natronfx_media::CarouselSpec::from_toml_str(field(&fields, "spec_toml"));
    render_and_append(&state, &v, &id, spec).await
}

/// The built-in template: one slide per line of text, on a solid colour.
fn quick_spec(
    lines: &str,
    background: &str,
) -> Result<natronfx_media::CarouselSpec, natronfx_media::Error> {
    let color = if background.len() == 7
        && background.starts_with('#')
        && background[1..].chars().all(|c| c.is_ascii_hexdigit())
    {
        background
    } else {
        "#101828"
    };
    text_slides(
        lines,
        serde_json::json!({ "type": "solid", "color": color }),
    )
}

/// One portrait slide per line of text, each on `background` (a spec background).
fn text_slides(
    lines: &str,
    background: serde_json::Value,
) -> Result<natronfx_media::CarouselSpec, natronfx_media::Error> {
    let mut spec = serde_json::json!({ "canvas": "portrait", "slides": [] });
    for line in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(slides) = spec["slides"].as_array_mut() {
            slides.push(serde_json::json!({
                "background": background,
                "text": [{ "role": "title", "text": line }]
            }));
        }
    }
    natronfx_media::CarouselSpec::from_json_str(&spec.to_string())
}

/// Generates an image and adds it as a slide fitted to the 4:5 canvas, or, with text lines, renders one
/// slide per line over it. Either way the slides keep the image's provenance, so the post is labelled
/// AI-generated.
async fn generate(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let back = format!("/posts/{id}/edit");
    let pid = match form_post_id(&id) {
        Ok(pid) => pid,
        Err(back) => return back,
    };
    let user = &v.session.user;
    let size = natronfx_service::ImageSize::parse(field(&fields, "size"))
        .unwrap_or(natronfx_service::ImageSize::Portrait);
    let lines = field(&fields, "lines").trim().to_owned();
    let mut request = natronfx_service::GenerateRequest::new(field(&fields, "prompt").trim(), size);
    if lines.is_empty() {
        request.fit = Some(natronfx_service::SlideFit::default());
    }
    let made = match state.service.generate_media(user, request).await {
        Ok(mut m) if !m.is_empty() => m.remove(0),
        Ok(_) => {
            return see_error(
                &back,
                ApiError::bad_request("invalid-input", "the image model returned no image"),
            );
        }
        Err(e) => return see_error(&back, e),
    };
    if lines.is_empty() {
        let slide = made.slide.unwrap_or(made.media);
        return match append_slides(&state, user, pid, vec![slide.id.to_string()]).await {
            Ok(_) => see_notice(
                &back,
                "Generated slide added (labelled AI-generated): describe it for people who cannot see it",
            ),
            Err(e) => see_error(&back, e),
        };
    }
    let spec = text_slides(
        &lines,
        serde_json::json!({ "type": "image", "media": made.media.id.to_string() }),
    );
    render_and_append(&state, &v, &id, spec).await
}

async fn quick_slides(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let spec = quick_spec(field(&fields, "lines"), field(&fields, "background"));
    render_and_append(&state, &v, &id, spec).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slides(ids: &[&str]) -> Vec<SlideInput> {
        ids.iter()
            .map(|i| SlideInput {
                media_id: (*i).into(),
                alt_text: String::new(),
            })
            .collect()
    }

    fn order(v: &[SlideInput]) -> Vec<&str> {
        v.iter().map(|s| s.media_id.as_str()).collect()
    }

    #[test]
    fn slides_move_and_go_away() {
        assert_eq!(
            order(&reorder(slides(&["a", "b", "c"]), "up:2")),
            ["a", "c", "b"]
        );
        assert_eq!(
            order(&reorder(slides(&["a", "b", "c"]), "down:0")),
            ["b", "a", "c"]
        );
        assert_eq!(
            order(&reorder(slides(&["a", "b", "c"]), "remove:1")),
            ["a", "c"]
        );
        assert_eq!(order(&reorder(slides(&["a", "b"]), "up:0")), ["a", "b"]);
        assert_eq!(order(&reorder(slides(&["a", "b"]), "down:1")), ["a", "b"]);
        assert_eq!(order(&reorder(slides(&["a"]), "save")), ["a"]);
    }

    #[test]
    fn hashtags_are_read_from_what_people_type() {
        assert_eq!(hashtag_list("#a, b  #c,,"), ["a", "b", "c"]);
        assert!(hashtag_list("  ").is_empty());
    }

    #[test]
    fn the_text_template_makes_one_slide_per_line() {
        let spec = quick_spec("One\n\n Two \n", "#ff0000").unwrap();
        assert_eq!(spec.slides.len(), 2);
        assert!(quick_spec("", "#000000").is_ok_and(|s| s.slides.is_empty()));
    }
}
