//! The page shell (top bar, navigation by role, notices), shared pieces (badges, times, forms with their
//! CSRF field), and the static assets, served from the binary under content-hashed URLs.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maud::{DOCTYPE, Markup, html};
use natronfx_service::workflow::{Action, User, authorize};
use sha2::{Digest, Sha256};

use crate::auth::CSRF_FIELD;

const CSS: &str = include_str!("../../assets/app.css");
const JS: &str = include_str!("../../assets/app.js");

fn short_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..6])
}

/// `/static/app.<hash>.css`: changes whenever the stylesheet does, so it can be cached for a year.
pub fn css_path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| format!("/static/app.{}.css", short_hash(CSS)))
}

/// `/static/app.<hash>.js`.
pub fn js_path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| format!("/static/app.{}.js", short_hash(JS)))
}

/// `GET /static/{file}`: the stylesheet and the script, nothing else.
pub async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let path = format!("/static/{file}");
    let (body, kind) = if path == css_path() {
        (CSS, "text/css; charset=utf-8")
    } else if path == js_path() {
        (JS, "text/javascript; charset=utf-8")
    } else {
        return (axum::http::StatusCode::NOT_FOUND, "not found").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

/// The sections of the top bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Posts,
    Calendar,
    Accounts,
    Admin,
    Settings,
}

/// What every signed-in page knows.
#[derive(Debug, Clone)]
pub struct Chrome<'a> {
    /// Who is looking.
    pub user: &'a User,
    /// The session's CSRF token, for forms.
    pub csrf: &'a str,
    /// The viewer's time zone.
    pub tz: Tz,
}

/// A notice at the top of a page (from `?notice=` or `?error=` after a redirect).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Flash {
    /// Something went well.
    pub notice: Option<String>,
    /// Something was refused.
    pub error: Option<String>,
}

impl Flash {
    pub fn render(&self) -> Markup {
        html! {
            @if let Some(n) = &self.notice { div.notice.ok role="status" { (n) } }
            @if let Some(e) = &self.error { div.notice.error role="alert" { (e) } }
        }
    }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · NatronFX" }
            link rel="stylesheet" href=(css_path());
            script src=(js_path()) defer {}
        }
    }
}

/// A hidden field with the session's CSRF token: every form that changes something carries one.
pub fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(csrf); }
}

/// A one-button form posting to `action` (with the CSRF token).
pub fn button_form(
    c: &Chrome,
    action: &str,
    label: &str,
    class: &str,
    confirm: Option<&str>,
) -> Markup {
    html! {
        form method="post" action=(action) {
            (csrf_field(c.csrf))
            button type="submit" class=(class) data-confirm=[confirm] { (label) }
        }
    }
}

/// A signed-in page.
pub fn page(c: &Chrome, section: Section, title: &str, flash: &Flash, body: Markup) -> Markup {
    let nav = |s: Section, href: &str, label: &str| {
        html! { a href=(href) aria-current=[(s == section).then_some("page")] { (label) } }
    };
    let admin = authorize(c.user, Action::ManageUsers, None).is_ok();
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.topbar {
                    a.brand href="/posts" { "Natron" span { "FX" } }
                    nav.nav aria-label="Main" {
                        (nav(Section::Posts, "/posts", "Posts"))
                        (nav(Section::Calendar, "/calendar", "Calendar"))
                        (nav(Section::Accounts, "/accounts", "Accounts"))
                        @if admin { (nav(Section::Admin, "/admin/users", "Admin")) }
                    }
                    div.who {
                        a href="/settings" aria-current=[(section == Section::Settings).then_some("page")] {
                            (c.user.display_name)
                        }
                        span.badge.role { (c.user.role) }
                        form method="post" action="/logout" {
                            (csrf_field(c.csrf))
                            button.small type="submit" { "Sign out" }
                        }
                    }
                }
                main {
                    (flash.render())
                    (body)
                }
            }
        }
    }
}

/// A page for someone not signed in (the login page, errors).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body { main { (body) } }
        }
    }
}

/// A state or status as a coloured badge.
pub fn badge(value: impl std::fmt::Display) -> Markup {
    let text = value.to_string();
    html! { span class={ "badge " (text) } { (text.replace('_', " ")) } }
}

/// An instant in the viewer's zone: `Thu 10 Dec 2026, 09:00 WET`.
pub fn when(at: DateTime<Utc>, tz: Tz) -> Markup {
    let local = at.with_timezone(&tz);
    html! {
        time datetime=(at.to_rfc3339()) title=(at.format("%Y-%m-%d %H:%M UTC")) {
            (local.format("%a %-d %b %Y, %H:%M %Z"))
        }
    }
}
