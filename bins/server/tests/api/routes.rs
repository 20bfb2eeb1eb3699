//! Every API route, with every role (by API token and by session cookie) and with no credentials, against
//! the workflow's permission table (`natronfx_workflow::authorize`).
//!
//! The routes walked are those of the OpenAPI document, which is generated from the router itself; the
//! walk fails when a route has no line in [`TABLE`], so a new route cannot go unchecked.

use std::collections::BTreeSet;

use natronfx_service::testing::{TEST_PASSWORD, TestApp};
use natronfx_service::workflow::{Action, Post, Role, User, authorize};
use natronfx_service::{LoginRequest, PostInput, ScheduleRequest, SlideInput, TargetInput};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::Running;

/// Who may call a route.
#[derive(Debug, Clone, Copy)]
enum Need {
    /// Anyone, signed in or not.
    Public,
    /// Anyone signed in (any role).
    SignedIn,
    /// A browser session (an API token is not enough).
    Session,
    /// What the permission table says for this action (on a post by the editor, where it matters).
    Act(Action),
    /// Revoking a token the editor owns: its owner, or someone who manages users.
    OwnTokenOrAdmin,
}

/// The post a route needs, in the state that lets an allowed caller succeed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fixture {
    None,
    Draft,
    RealMedia,
    InReview,
    Approved,
    Scheduled,
    Media,
    User,
    Token,
    /// A connected account without stored tokens.
    Account,
}

use Fixture as F;
use Need::*;

/// Every route: method, path (as in the OpenAPI document), who may call it, what it needs to exist.
const TABLE: &[(&str, &str, Need, Fixture)] = &[
    ("get", "/me", SignedIn, F::None),
    ("put", "/me/password", SignedIn, F::None),
    ("get", "/me/sessions", Act(Action::ManageOwnTokens), F::None),
    ("get", "/users", Act(Action::ManageUsers), F::None),
    ("post", "/users", Act(Action::ManageUsers), F::None),
    ("patch", "/users/{id}", Act(Action::ManageUsers), F::User),
    (
        "put",
        "/users/{id}/password",
        Act(Action::ManageUsers),
        F::User,
    ),
    ("get", "/tokens", Act(Action::ManageOwnTokens), F::None),
    ("post", "/tokens", Act(Action::ManageOwnTokens), F::None),
    ("delete", "/tokens/{id}", OwnTokenOrAdmin, F::Token),
    ("get", "/posts", Act(Action::ViewPost), F::None),
    ("post", "/posts", Act(Action::CreatePost), F::None),
    ("get", "/posts/{id}", Act(Action::ViewPost), F::Draft),
    ("patch", "/posts/{id}", Act(Action::EditPost), F::Draft),
    (
        "get",
        "/posts/{id}/history",
        Act(Action::ViewPost),
        F::Draft,
    ),
    ("get", "/posts/{id}/check", Act(Action::ViewPost), F::Draft),
    (
        "get",
        "/posts/{id}/previews/{platform}",
        Act(Action::ViewPost),
        F::RealMedia,
    ),
    (
        "get",
        "/posts/{id}/previews/{platform}/image",
        Act(Action::ViewPost),
        F::RealMedia,
    ),
    (
        "post",
        "/posts/{id}/fix",
        Act(Action::EditPost),
        F::RealMedia,
    ),
    (
        "post",
        "/posts/{id}/submit",
        Act(Action::SubmitPost),
        F::Draft,
    ),
    (
        "post",
        "/posts/{id}/approve",
        Act(Action::ReviewPost),
        F::InReview,
    ),
    (
        "post",
        "/posts/{id}/request-changes",
        Act(Action::ReviewPost),
        F::InReview,
    ),
    (
        "post",
        "/posts/{id}/reject",
        Act(Action::ReviewPost),
        F::InReview,
    ),
    (
        "post",
        "/posts/{id}/schedule",
        Act(Action::SchedulePost),
        F::Approved,
    ),
    (
        "post",
        "/posts/{id}/unschedule",
        Act(Action::SchedulePost),
        F::Scheduled,
    ),
    (
        "post",
        "/posts/{id}/archive",
        Act(Action::ArchivePost),
        F::Draft,
    ),
    (
        "get",
        "/posts/{id}/timeline",
        Act(Action::ViewPost),
        F::Draft,
    ),
    (
        "post",
        "/posts/{id}/cancel",
        Act(Action::SchedulePost),
        F::Scheduled,
    ),
    (
        "post",
        "/posts/{id}/retry",
        Act(Action::SchedulePost),
        F::Scheduled,
    ),
    ("get", "/media", Act(Action::ViewPost), F::None),
    ("post", "/media", Act(Action::CreatePost), F::None),
    ("get", "/media/{id}", Act(Action::ViewPost), F::Media),
    (
        "get",
        "/media/{id}/content",
        Act(Action::ViewPost),
        F::Media,
    ),
    ("post", "/media/render", Act(Action::CreatePost), F::None),
    ("post", "/media/generate", Act(Action::CreatePost), F::None),
    (
        "get",
        "/media/{id}/provenance",
        Act(Action::ViewPost),
        F::Media,
    ),
    (
        "post",
        "/posts/{id}/targets/{target}/resolve",
        Act(Action::SchedulePost),
        F::Scheduled,
    ),
    ("get", "/accounts", Act(Action::ViewPost), F::None),
    ("get", "/accounts/{id}", Act(Action::ViewPost), F::Account),
    (
        "post",
        "/accounts/connect",
        Act(Action::ManageAccounts),
        F::None,
    ),
    (
        "post",
        "/accounts/callback",
        Act(Action::ManageAccounts),
        F::None,
    ),
    (
        "post",
        "/accounts/{id}/refresh",
        Act(Action::ManageAccounts),
        F::Account,
    ),
    (
        "post",
        "/accounts/{id}/disconnect",
        Act(Action::ManageAccounts),
        F::Account,
    ),
    (
        "get",
        "/settings/approval-policy",
        Act(Action::ViewPost),
        F::None,
    ),
    (
        "put",
        "/settings/approval-policy",
        Act(Action::ManageUsers),
        F::None,
    ),
    ("get", "/calendar", Act(Action::ViewPost), F::None),
    ("get", "/audit", Act(Action::ViewAudit), F::None),
    ("post", "/retention/run", Act(Action::ManageData), F::None),
    (
        "get",
        "/vault/secrets",
        Act(Action::ManageAccounts),
        F::None,
    ),
    (
        "put",
        "/vault/secrets/{name}",
        Act(Action::ManageAccounts),
        F::None,
    ),
    (
        "delete",
        "/vault/secrets/{name}",
        Act(Action::ManageAccounts),
        F::None,
    ),
    ("post", "/export", Act(Action::ManageData), F::Draft),
    ("get", "/audit/verify", Act(Action::ViewAudit), F::None),
    ("get", "/session", Session, F::None),
    // Last: signing in again and out end the caller's session.
    ("post", "/session", Public, F::None),
    ("delete", "/session", Public, F::None),
];

both!(running: every_route_answers_every_role_as_the_permission_table_says);

/// How a caller proves who it is.
#[derive(Debug, Clone)]
enum Credential {
    Nobody,
    Bearer(String),
    Cookie { cookie: String, csrf: String },
}

#[derive(Debug, Clone)]
struct Caller {
    label: String,
    user: Option<User>,
    credential: Credential,
}

fn photo() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/photos/chelsea.png"
    ))
    .unwrap()
}

async fn post_input(app: &TestApp, media: Option<&str>) -> PostInput {
    let mut slides = Vec::new();
    for alt in ["one", "two"] {
        let media_id = match media {
            Some(m) => m.to_owned(),
            None => app.jpeg(1080, 1350).await.to_string(),
        };
        slides.push(SlideInput {
            media_id,
            alt_text: alt.into(),
        });
    }
    PostInput {
        title: "walk".into(),
        caption: "a caption #tag".into(),
        hashtags: vec![],
        slides,
        targets: vec![
            TargetInput {
                account: "@sandbox.instagram".into(),
                caption: None,
                options: Default::default(),
            },
            TargetInput {
                account: "@sandbox.tiktok".into(),
                caption: None,
                options: natronfx_service::workflow::TargetOptions {
                    privacy_level: Some("SELF_ONLY".into()),
                    ..Default::default()
                },
            },
        ],
    }
}

/// Prepares what a route needs and answers the path with its placeholders filled.
async fn fixture(
    app: &TestApp,
    fixture: Fixture,
    path: &str,
    media: &str,
) -> (String, Option<Post>) {
    let s = &app.service;
    let post = match fixture {
        F::Draft | F::InReview | F::Approved | F::Scheduled => {
            let post = s
                .create_post(&app.editor, post_input(app, None).await)
                .await
                .unwrap();
            if fixture != F::Draft {
                s.submit_post(&app.editor, post.id).await.unwrap();
            }
            if matches!(fixture, F::Approved | F::Scheduled) {
                s.approve_post(&app.reviewer, post.id, None).await.unwrap();
            }
            if fixture == F::Scheduled {
                let when = ScheduleRequest {
                    local: "2026-12-10 09:00".into(),
                    zone: "Europe/Lisbon".into(),
                    ambiguity: Default::default(),
                    targets: vec![],
                    expected_version: None,
                };
                s.schedule_post(&app.editor, post.id, when).await.unwrap();
            }
            Some(s.post(&app.admin, post.id).await.unwrap())
        }
        F::RealMedia => Some(
            s.create_post(&app.editor, post_input(app, Some(media)).await)
                .await
                .unwrap(),
        ),
        _ => None,
    };
    let id = match fixture {
        F::Media => media.to_owned(),
        F::User => {
            let email = format!("walk-{}@example.com", uuid_suffix());
            s.add_user(&app.admin, &email, "Walk", Role::Viewer, None)
                .await
                .unwrap()
                .id
                .to_string()
        }
        F::Token => s
            .create_token(&app.editor, "walk", Role::Editor)
            .await
            .unwrap()
            .token
            .id
            .to_string(),
        F::Account => {
            use natronfx_service::workflow::{
                Account, AccountId, AccountStatus, AuditAction, AuditEvent, Platform,
            };
            let now = chrono::Utc::now();
            let account = Account {
                id: AccountId::random(),
                platform: Platform::Tiktok,
                external_id: format!("walk-{}", uuid_suffix()),
                display_name: format!("@walk-{}", uuid_suffix()),
                status: AccountStatus::Connected,
                sandbox: false,
                connected_by: Some(app.admin.id),
                created_at: now,
            };
            let event = AuditEvent::new(
                now,
                Some(app.admin.id),
                AuditAction::AccountConnected,
                "account",
                account.id,
            );
            s.store().insert_account(&account, &event).await.unwrap();
            account.id.to_string()
        }
        _ => post.as_ref().map(|p| p.id.to_string()).unwrap_or_default(),
    };
    let target = post
        .as_ref()
        .and_then(|p| p.targets.first())
        .map(|t| t.id.to_string())
        .unwrap_or_default();
    let path = path
        .replace("{id}", &id)
        .replace("{target}", &target)
        .replace("{platform}", "instagram")
        .replace("{name}", "images_api_key");
    (path, post)
}

fn uuid_suffix() -> String {
    natronfx_service::workflow::PostId::random().to_string()
}

/// A body that passes validation, so that only permission decides.
fn body(method: &str, path: &str) -> Option<Value> {
    let unique = uuid_suffix();
    match (method, path) {
        ("put", "/me/password") => Some(
            json!({"current_password": "not the current one", "new_password": "irrelevant here"}),
        ),
        ("post", "/users") => {
            Some(json!({"email": format!("new-{unique}@example.com"), "role": "viewer"}))
        }
        ("patch", "/users/{id}") => Some(json!({"role": "reviewer"})),
        ("put", "/users/{id}/password") => Some(json!({"password": "a long enough password"})),
        ("post", "/tokens") => Some(json!({"name": "walk"})),
        ("post", "/posts") => Some(json!({"title": "walk"})),
        ("patch", "/posts/{id}") => Some(json!({"title": "walked"})),
        ("post", "/posts/{id}/fix") => Some(json!({"platform": "tiktok"})),
        ("post", "/posts/{id}/schedule") => {
            Some(json!({"local": "2026-12-10 09:00", "zone": "Europe/Lisbon"}))
        }
        ("post", "/media/render") => Some(
            json!({"spec_toml": "[[slides]]\nbackground = { type = \"solid\", color = \"#102030\" }\n"}),
        ),
        ("put", "/settings/approval-policy") => Some(json!({"policy": "required"})),
        ("post", "/posts/{id}/targets/{target}/resolve") => Some(json!({"live": true})),
        ("post", "/accounts/connect") => Some(json!({"platform": "tiktok"})),
        ("post", "/media/generate") => Some(json!({"prompt": "a cup"})),
        ("post", "/retention/run") => Some(json!({"dry_run": true})),
        ("put", "/vault/secrets/{name}") => Some(json!({"value": "sk-walk-key"})),
        ("post", "/accounts/callback") => {
            Some(json!({"callback": "/accounts/callback?code=c&state=never-issued"}))
        }
        ("post", "/session") => {
            Some(json!({"email": "viewer@example.com", "password": TEST_PASSWORD}))
        }
        _ => None,
    }
}

fn query(path: &str) -> &'static str {
    match path {
        "/calendar" => "?from=2026-12-01T00:00:00Z&to=2026-12-31T00:00:00Z",
        _ => "",
    }
}

/// Whether the table lets `caller` through (`None`: nobody signed in, so 401).
fn allowed(need: Need, caller: &Caller, post: Option<&Post>, app: &TestApp) -> Option<bool> {
    let Some(user) = &caller.user else {
        return match need {
            Public => Some(true),
            _ => None,
        };
    };
    Some(match need {
        Public | SignedIn => true,
        Session => matches!(caller.credential, Credential::Cookie { .. }),
        Act(action) => authorize(user, action, post).is_ok(),
        OwnTokenOrAdmin => {
            user.id == app.editor.id || authorize(user, Action::ManageUsers, None).is_ok()
        }
    })
}

async fn send(
    s: &Running,
    caller: &Caller,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let url = format!("{}/api/v1{path}", s.base);
    let mut req = s
        .client
        .request(method.to_uppercase().parse().unwrap(), url);
    match &caller.credential {
        Credential::Nobody => {}
        Credential::Bearer(t) => req = req.bearer_auth(t),
        Credential::Cookie { cookie, csrf } => {
            req = req.header("cookie", cookie).header("x-csrf-token", csrf);
        }
    }
    if method == "post" && path == "/media" {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(photo()).file_name("cat.png"),
        );
        req = req.multipart(form);
    } else if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn every_route_answers_every_role_as_the_permission_table_says(s: Running) {
    let app = &s.app;
    // The routes the router has are the routes the table lists.
    let doc = serde_json::to_value(natronfx_server::openapi()).unwrap();
    let served: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(|m| (m.clone(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let listed: BTreeSet<(String, String)> = TABLE
        .iter()
        .map(|(m, p, _, _)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(served, listed, "every route needs a line in TABLE");

    let media = app
        .service
        .add_media(&app.editor, photo())
        .await
        .unwrap()
        .id
        .to_string();
    let mut callers = vec![Caller {
        label: "nobody".into(),
        user: None,
        credential: Credential::Nobody,
    }];
    let users = [&app.admin, &app.editor, &app.reviewer, &app.viewer];
    for user in users {
        let token = s.token(user).await;
        callers.push(Caller {
            label: format!("{} (token)", user.role),
            user: Some(user.clone()),
            credential: Credential::Bearer(token),
        });
    }
    for user in users {
        let pw = SecretString::from(TEST_PASSWORD);
        let session = app
            .service
            .login(LoginRequest {
                email: user.email.as_str(),
                password: &pw,
                address: "127.0.0.1",
                user_agent: "walk",
                replaces: None,
            })
            .await
            .unwrap();
        callers.push(Caller {
            label: format!("{} (session)", user.role),
            user: Some(user.clone()),
            credential: Credential::Cookie {
                cookie: format!("nfx_session={}", session.secret.expose_secret()),
                csrf: session.csrf_token,
            },
        });
    }

    let mut checked = 0;
    for (method, template, need, fix) in TABLE {
        for caller in &callers {
            let (path, post) = fixture(app, *fix, template, &media).await;
            let path = format!("{path}{}", query(template));
            let (status, answer) = send(&s, caller, method, &path, body(method, template)).await;
            let what = format!(
                "{} {template} as {}: {status} {answer}",
                method.to_uppercase(),
                caller.label
            );
            assert!(status.as_u16() < 500, "{what}");
            match allowed(*need, caller, post.as_ref(), app) {
                None => assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}"),
                Some(true) => assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "allowed, yet refused: {what}"
                ),
                // A route that needs a browser session answers an API token as if no one had signed in.
                Some(false) if matches!(need, Session) => {
                    assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}")
                }
                Some(false) => {
                    assert_eq!(
                        status,
                        StatusCode::FORBIDDEN,
                        "refused by the table: {what}"
                    );
                    assert_eq!(answer["code"], "permission-denied", "{what}");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, TABLE.len() * callers.len());
}
