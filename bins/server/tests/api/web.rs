//! The dashboard's pages and forms over HTTP (the browser test drives the same in Chromium): sign-in,
//! redirects, pages by role, CSRF on forms, the editor's forms, and pages the CSP can serve as they are.

use natronfx_service::testing::{TEST_PASSWORD, TestApp};
use reqwest::StatusCode;
use reqwest::header::LOCATION;

use crate::Running;
use crate::session::set_cookie;

both!(running:
    signing_in_through_the_form_sets_the_cookie_and_follows_next,
    every_page_renders_for_every_role_or_says_why_not,
    forms_need_the_csrf_token,
    a_post_is_written_in_the_editor_and_moved_through_review_by_forms,
);

/// A browser session on the dashboard: the cookie and the CSRF token read from a page.
pub struct Page<'a> {
    s: &'a Running,
    cookie: String,
    csrf: String,
}

fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf_token\" value=\"")? + 25;
    Some(html[at..at + 64].to_owned())
}

impl<'a> Page<'a> {
    pub async fn login(s: &'a Running, email: &str) -> Page<'a> {
        let resp = s
            .client
            .post(format!("{}/login", s.base))
            .form(&[
                ("email", email),
                ("password", TEST_PASSWORD),
                ("next", "/posts"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{email} signs in");
        let (cookie, _) = set_cookie(resp.headers()).expect("cookie");
        let mut page = Page {
            s,
            cookie,
            csrf: String::new(),
        };
        let (_, html) = page.get("/settings").await;
        page.csrf = csrf_in(&html).expect("forms carry the token");
        page
    }

    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let resp = self
            .s
            .client
            .get(format!("{}{path}", self.s.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (resp.status(), resp.text().await.unwrap())
    }

    /// The session's CSRF token.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// The session cookie, for requests the helpers here do not make.
    pub fn cookie(&self) -> &str {
        &self.cookie
    }

    /// Gets a page that redirects; answers the status and where to.
    pub async fn get_location(&self, path: &str) -> (StatusCode, String) {
        let resp = self
            .s
            .client
            .get(format!("{}{path}", self.s.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        let location = resp
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (resp.status(), location)
    }

    /// Posts a form (with the CSRF token unless `token` is `None`); answers the status and where it
    /// redirects.
    pub async fn post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        token: Option<&str>,
    ) -> (StatusCode, String) {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        if let Some(t) = token {
            form.push(("csrf_token", t));
        }
        let resp = self
            .s
            .client
            .post(format!("{}{path}", self.s.base))
            .header("cookie", &self.cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let location = resp
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = resp.text().await.unwrap();
        (status, if location.is_empty() { body } else { location })
    }
}

async fn signing_in_through_the_form_sets_the_cookie_and_follows_next(s: Running) {
    let resp = s
        .client
        .get(format!("{}/posts/new", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/login?next=/posts/new");
    let wrong = s
        .client
        .post(format!("{}/login", s.base))
        .form(&[
            ("email", "editor@example.com"),
            ("password", "nope nope nope"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(wrong.headers()).is_none());
    let html = wrong.text().await.unwrap();
    assert!(html.contains("wrong email or password"), "{html}");
    assert!(
        html.contains("value=\"editor@example.com\""),
        "the email stays filled in"
    );
    let resp = s
        .client
        .post(format!("{}/login", s.base))
        .form(&[
            ("email", "editor@example.com"),
            ("password", TEST_PASSWORD),
            ("next", "/posts/new"),
            ("tz", "Europe/Lisbon"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/posts/new");
    let cookies: Vec<_> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("nfx_session=") && c.contains("HttpOnly"))
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("nfx_tz=Europe/Lisbon"))
    );
    // An absolute or protocol-relative `next` is never followed.
    let resp = s
        .client
        .post(format!("{}/login", s.base))
        .form(&[
            ("email", "viewer@example.com"),
            ("password", TEST_PASSWORD),
            ("next", "//evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()[LOCATION], "/posts");
}

/// Pages every signed-in person may open, and those only admins may.
const PAGES: &[&str] = &[
    "/posts",
    "/calendar",
    "/calendar?view=month",
    "/accounts",
    "/settings",
];
const ADMIN_PAGES: &[&str] = &[
    "/admin/users",
    "/admin/policy",
    "/admin/audit",
    "/admin/data",
    "/admin/vault",
];

async fn every_page_renders_for_every_role_or_says_why_not(s: Running) {
    let post = s
        .app
        .service
        .create_post(
            &s.app.editor,
            natronfx_service::PostInput {
                title: "Page test".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let post_page = format!("/posts/{}", post.id);
    let edit_page = format!("/posts/{}/edit", post.id);
    for email in [
        "admin@example.com",
        "editor@example.com",
        "reviewer@example.com",
        "viewer@example.com",
    ] {
        let page = Page::login(&s, email).await;
        let admin = email.starts_with("admin");
        let can_write = admin || email.starts_with("editor");
        let mut expect: Vec<(&str, bool)> = PAGES.iter().map(|p| (*p, true)).collect();
        expect.extend(ADMIN_PAGES.iter().map(|p| (*p, admin)));
        expect.push((&post_page, true));
        expect.push((&edit_page, can_write));
        expect.push(("/posts/new", can_write));
        for (path, allowed) in expect {
            let (status, html) = page.get(path).await;
            if allowed {
                assert_eq!(status, StatusCode::OK, "{email} {path}: {html}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{email} {path}");
                assert!(html.contains("permission-denied"), "{html}");
            }
            // The CSP allows no inline script or style: pages must not need any.
            assert!(!html.contains(" style=\""), "{path} has an inline style");
            assert!(!html.contains("<script>"), "{path} has an inline script");
            assert!(
                !html.contains("onclick") && !html.contains("onsubmit"),
                "{path} has an inline handler"
            );
        }
    }
    // The stylesheet and script are served from the binary, with types and long cache lifetimes.
    let (_, html) = Page::login(&s, "viewer@example.com")
        .await
        .get("/posts")
        .await;
    for (marker, kind) in [
        ("href=\"/static/app.", "text/css"),
        ("src=\"/static/app.", "text/javascript"),
    ] {
        let at = html.find(marker).unwrap() + marker.len() - "/static/app.".len();
        let path: String = html[at..].chars().take_while(|c| *c != '"').collect();
        let resp = s
            .client
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        assert!(
            resp.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
    }
    let resp = s
        .client
        .get(format!("{}/static/app.0000.css", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

async fn forms_need_the_csrf_token(s: Running) {
    let page = Page::login(&s, "admin@example.com").await;
    let (status, html) = page
        .post("/admin/policy", &[("policy", "none")], None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("csrf-failed"), "{html}");
    let (status, _) = page
        .post("/admin/policy", &[("policy", "none")], Some("0123"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        s.app.service.approval_policy().await.unwrap(),
        natronfx_service::workflow::ApprovalPolicy::Required,
        "refused forms change nothing"
    );
    let csrf = page.csrf.clone();
    let (status, location) = page
        .post("/admin/policy", &[("policy", "none")], Some(&csrf))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    assert_eq!(
        s.app.service.approval_policy().await.unwrap(),
        natronfx_service::workflow::ApprovalPolicy::None
    );
    // Signing out is a form too; afterwards the cookie opens nothing.
    let (status, _) = page.post("/logout", &[], None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, location) = page.post("/logout", &[], Some(&csrf)).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/login?notice=You+are+signed+out")
    );
    let (status, _) = page.get("/posts").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

async fn a_post_is_written_in_the_editor_and_moved_through_review_by_forms(s: Running) {
    let app: &TestApp = &s.app;
    let ed = Page::login(&s, "editor@example.com").await;
    let ig = app.service.list_accounts(&app.editor).await.unwrap();
    let ig = ig
        .iter()
        .find(|a| a.display_name == "@sandbox.instagram")
        .unwrap();
    let target = format!("target_{}", ig.id);
    let (status, location) = ed
        .post(
            "/posts/new",
            &[
                ("title", "From the form"),
                ("caption", "Hello #coffee"),
                ("hashtags", "#morning, beans"),
                (&target, "1"),
            ],
            Some(&ed.csrf),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    assert!(
        location.ends_with("/edit?notice=Draft%20created%3A%20add%20slides"),
        "{location}"
    );
    let id = location
        .trim_start_matches("/posts/")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let post = app
        .service
        .post(&app.editor, id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(post.title.as_str(), "From the form");
    assert_eq!(post.targets.len(), 1);
    assert_eq!(post.extra_hashtags.iter().count(), 2);

    // Upload two slides in one multipart form (the token travels as its first field).
    let photo = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/photos/rocket.jpg"
    ))
    .unwrap();
    let upload = |token: &str| {
        reqwest::multipart::Form::new()
            .text("csrf_token", token.to_owned())
            .part(
                "file",
                reqwest::multipart::Part::bytes(photo.clone()).file_name("a.jpg"),
            )
            .part(
                "file",
                reqwest::multipart::Part::bytes(photo.clone()).file_name("b.jpg"),
            )
    };
    let send = |form: reqwest::multipart::Form| {
        s.client
            .post(format!("{}/posts/{id}/slides", s.base))
            .header("cookie", &ed.cookie)
            .multipart(form)
            .send()
    };
    let refused = send(upload("forged")).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let resp = send(upload(&ed.csrf)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let post = app
        .service
        .post(&app.editor, id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(post.slides.len(), 2, "{:?}", resp.headers().get(LOCATION));

    // Text slides from the built-in template, then reorder and describe them in the editor form.
    let (status, location) = ed
        .post(
            &format!("/posts/{id}/quick-slides"),
            &[
                ("lines", "First words\nSecond words"),
                ("background", "#224466"),
            ],
            Some(&ed.csrf),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    let post = app
        .service
        .post(&app.editor, id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(post.slides.len(), 4, "{location}");
    let (status, html) = ed.get(&format!("/posts/{id}/edit")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("data-counters"),
        "the caption has live counters"
    );
    assert!(
        html.contains("id=\"findings\""),
        "findings sit beside the editor"
    );
    let media: Vec<String> = post.slides.iter().map(|s| s.media_id.to_string()).collect();
    let version = post.version.to_string();
    let mut fields = vec![
        ("version", version.as_str()),
        ("title", "From the form"),
        ("caption", "Hello #coffee"),
        ("hashtags", "morning"),
        (target.as_str(), "1"),
        ("op", "up:3"),
    ];
    let alts = ["one", "two", "three", "four"];
    for (m, a) in media.iter().zip(alts) {
        fields.push(("slide_media", m));
        fields.push(("slide_alt", a));
    }
    let (status, location) = ed
        .post(&format!("/posts/{id}/edit"), &fields, Some(&ed.csrf))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    let post = app
        .service
        .post(&app.editor, id.parse().unwrap())
        .await
        .unwrap();
    let order: Vec<String> = post.slides.iter().map(|s| s.media_id.to_string()).collect();
    assert_eq!(
        order,
        [
            media[0].clone(),
            media[1].clone(),
            media[3].clone(),
            media[2].clone()
        ]
    );
    assert_eq!(post.slides[2].alt_text.as_str(), "four");
    // The same form again, at the old version, is a conflict, said on the page.
    let (_, location) = ed
        .post(&format!("/posts/{id}/edit"), &fields, Some(&ed.csrf))
        .await;
    assert!(location.contains("error="), "{location}");

    // Submit, then a reviewer approves with a comment; a viewer's crafted approval is refused.
    let (_, location) = ed
        .post(&format!("/posts/{id}/submit"), &[], Some(&ed.csrf))
        .await;
    assert!(location.contains("notice=Sent"), "{location}");
    let viewer = Page::login(&s, "viewer@example.com").await;
    let (_, location) = viewer
        .post(
            &format!("/posts/{id}/approve"),
            &[("comment", "me too")],
            Some(&viewer.csrf),
        )
        .await;
    assert!(
        location.contains("error=viewer%20may%20not%20review"),
        "{location}"
    );
    let rev = Page::login(&s, "reviewer@example.com").await;
    let (_, html) = rev.get(&format!("/posts/{id}")).await;
    assert!(html.contains("id=\"review\""));
    let (_, location) = rev
        .post(
            &format!("/posts/{id}/approve"),
            &[("comment", "ok")],
            Some(&rev.csrf),
        )
        .await;
    assert!(location.contains("notice=Approved"), "{location}");
    // Scheduling with no target ticked is refused; with the target, it is scheduled.
    let (_, location) = ed
        .post(
            &format!("/posts/{id}/schedule"),
            &[
                ("local", "2026-12-10T09:00"),
                ("zone", "Europe/Lisbon"),
                ("targets_offered", "1"),
            ],
            Some(&ed.csrf),
        )
        .await;
    assert!(location.contains("error="), "{location}");
    let target_id = post.targets[0].id.to_string();
    let (_, location) = ed
        .post(
            &format!("/posts/{id}/schedule"),
            &[
                ("local", "2026-12-10T09:00"),
                ("zone", "Europe/Lisbon"),
                ("targets_offered", "1"),
                ("target", &target_id),
            ],
            Some(&ed.csrf),
        )
        .await;
    assert!(location.contains("notice=Scheduled"), "{location}");
    let post = app
        .service
        .post(&app.editor, id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        post.state(),
        natronfx_service::workflow::PostState::Scheduled
    );
    let (_, html) = ed
        .get("/calendar?view=month&date=2026-12-10&tz=Europe/Lisbon")
        .await;
    assert!(
        html.contains("09:00 instagram"),
        "the calendar shows it at Lisbon time"
    );
    let (_, html) = ed
        .get("/calendar?view=week&date=2026-12-10&tz=America/New_York")
        .await;
    assert!(
        html.contains("04:00 instagram"),
        "and at New York time for a New Yorker"
    );
}
