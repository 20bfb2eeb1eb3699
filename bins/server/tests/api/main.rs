//! The HTTP API against a real server on a free port and a fresh database.

/// Runs each named test once on SQLite and once on PostgreSQL, handing it what it needs: `app` (a fresh
/// `TestApp`), `served` (one whose media folder is served over HTTP, for the simulator to pull slides) or
/// `running` (the server over a fresh `TestApp`).
macro_rules! both {
    (@make app $db:ident) => { natronfx_service::testing::TestApp::$db().await };
    (@make served sqlite) => { natronfx_service::testing::TestApp::sqlite_served().await };
    (@make served postgres) => { natronfx_service::testing::TestApp::postgres_served().await };
    (@make running $db:ident) => { crate::spawn_on(both!(@make app $db)).await };
    ($kind:ident: $($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(both!(@make $kind sqlite)).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(both!(@make $kind postgres)).await;
                }
            )*
        }
    };
}

mod accounts;
mod audit;
mod data;
mod generate;
mod openapi;
mod publishing;
mod routes;
mod session;
mod web;

use natronfx_service::Config;
use natronfx_service::testing::TestApp;
use natronfx_service::workflow::{Role, User};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::sync::oneshot;

#[allow(missing_debug_implementations, reason = "test harness")]
pub struct Running {
    pub base: String,
    pub app: TestApp,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn spawn_app() -> Running {
    spawn_on(TestApp::sqlite().await).await
}

/// Serves `app` on a free port, with the local media folder served under `/m/`.
pub async fn spawn_on(app: TestApp) -> Running {
    spawn_with(app, |_| {}).await
}

/// [`spawn_on`] with changes to the configuration.
pub async fn spawn_with(app: TestApp, configure: impl FnOnce(&mut Config)) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let service = app.service.clone();
    let mut config = Config::default();
    config.media.root = app.media_root.display().to_string();
    config.media.public_base_url = "https://media.example.test/m".into();
    configure(&mut config);
    let served = tokio::spawn(async move {
        natronfx_server::serve(listener, service, &config, async {
            let _ = stopped.await;
        })
        .await
    });
    Running {
        base,
        app,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        stop: Some(stop),
        served,
    }
}

impl Running {
    pub async fn token(&self, user: &User) -> String {
        let new = self
            .app
            .service
            .create_token(user, "test", user.role)
            .await
            .unwrap();
        new.secret.expose_secret().to_owned()
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.base);
        let mut req = self.client.request(method.parse().unwrap(), url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

#[tokio::test]
async fn health_and_readiness() {
    let s = spawn_app().await;
    let (status, body) = s.call("GET", "/healthz", None, None).await;
    assert_eq!((status, body), (StatusCode::OK, Value::String("ok".into())));
    let (status, _) = s.call("GET", "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_api_refuses_missing_and_wrong_tokens_with_json_errors() {
    let s = spawn_app().await;
    let (status, body) = s.call("GET", "/api/v1/posts", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "unauthenticated");
    let (status, body) = s
        .call("GET", "/api/v1/posts", Some("nfx_not_a_real_token"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("unknown or revoked")
    );
    let (status, body) = s.call("GET", "/api/v1/nothing-here", Some("x"), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not-found"))
    );
}

#[tokio::test]
async fn a_post_travels_from_draft_to_scheduled_over_http() {
    let s = spawn_app().await;
    let editor = s.token(&s.app.editor).await;
    let reviewer = s.token(&s.app.reviewer).await;
    let viewer = s.token(&s.app.viewer).await;
    let slides = json!([
        {"media_id": s.app.jpeg(1080, 1350).await.to_string(), "alt_text": "a cup"},
        {"media_id": s.app.jpeg(1080, 1350).await.to_string(), "alt_text": "beans"},
    ]);
    let body = json!({
        "title": "Winter launch",
        "caption": "New blend #coffee",
        "hashtags": ["morning"],
        "slides": slides,
        "targets": [
            {"account": "@sandbox.instagram"},
            {"account": "@sandbox.tiktok", "caption": "for tiktok", "options": {"privacy_level": "SELF_ONLY"}}
        ]
    });
    let (status, post) = s
        .call("POST", "/api/v1/posts", Some(&editor), Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    assert_eq!(post["state"], "draft");
    assert_eq!(post["hashtags"], json!(["#coffee", "#morning"]));
    let id = post["id"].as_str().unwrap().to_owned();

    let (status, err) = s
        .call("POST", "/api/v1/posts", Some(&viewer), Some(body))
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("permission-denied"))
    );

    let (status, _) = s
        .call(
            "POST",
            &format!("/api/v1/posts/{id}/submit"),
            Some(&editor),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, err) = s
        .call(
            "POST",
            &format!("/api/v1/posts/{id}/approve"),
            Some(&editor),
            None,
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("permission-denied"))
    );
    let (status, post) = s
        .call(
            "POST",
            &format!("/api/v1/posts/{id}/approve"),
            Some(&reviewer),
            Some(json!({"comment": "ok"})),
        )
        .await;
    assert_eq!(
        (status, post["state"].as_str()),
        (StatusCode::OK, Some("approved"))
    );

    let gap = json!({"local": "2027-03-28 02:30", "zone": "Europe/Paris"});
    let (status, err) = s
        .call(
            "POST",
            &format!("/api/v1/posts/{id}/schedule"),
            Some(&editor),
            Some(gap),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid-schedule"))
    );
    let when = json!({"local": "2026-12-10 09:00", "zone": "Europe/Lisbon"});
    let (status, post) = s
        .call(
            "POST",
            &format!("/api/v1/posts/{id}/schedule"),
            Some(&editor),
            Some(when),
        )
        .await;
    assert_eq!(
        (status, post["state"].as_str()),
        (StatusCode::OK, Some("scheduled")),
        "{post}"
    );
    assert_eq!(post["targets"][0]["scheduled_at"], "2026-12-10T09:00:00Z");

    let (status, err) = s
        .call(
            "POST",
            &format!("/api/v1/posts/{id}/submit"),
            Some(&editor),
            None,
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid-transition"))
    );

    let (status, hist) = s
        .call(
            "GET",
            &format!("/api/v1/posts/{id}/history"),
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(hist["items"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn bad_requests_get_clear_codes() {
    let s = spawn_app().await;
    let editor = s.token(&s.app.editor).await;
    let url = "/api/v1/posts";
    let resp = s
        .client
        .post(format!("{}{url}", s.base))
        .bearer_auth(&editor)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "invalid-json");
    let (status, body) = s
        .call("POST", url, Some(&editor), Some(json!({"title": ""})))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid-input"))
    );
    let (status, body) = s
        .call("GET", "/api/v1/posts/not-an-id", Some(&editor), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid-input"))
    );
    let missing = "/api/v1/posts/01890a5d-ac96-774b-bcce-b302099a8057";
    let (status, body) = s.call("GET", missing, Some(&editor), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not-found"))
    );
}

#[tokio::test]
async fn concurrent_patches_with_the_same_version_give_one_conflict() {
    let s = spawn_app().await;
    let editor = s.token(&s.app.editor).await;
    let (_, post) = s
        .call(
            "POST",
            "/api/v1/posts",
            Some(&editor),
            Some(json!({"title": "v"})),
        )
        .await;
    let id = post["id"].as_str().unwrap();
    let v = post["version"].as_i64().unwrap();
    let path = format!("/api/v1/posts/{id}");
    let a = s.call(
        "PATCH",
        &path,
        Some(&editor),
        Some(json!({"title": "a", "expected_version": v})),
    );
    let b = s.call(
        "PATCH",
        &path,
        Some(&editor),
        Some(json!({"title": "b", "expected_version": v})),
    );
    let ((sa, _), (sb, _)) = tokio::join!(a, b);
    let mut statuses = [sa, sb];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
}

#[tokio::test]
async fn listing_pages_through_every_post_with_cursors() {
    let s = spawn_app().await;
    let editor = s.token(&s.app.editor).await;
    for i in 0..5 {
        s.call(
            "POST",
            "/api/v1/posts",
            Some(&editor),
            Some(json!({"title": format!("p{i}")})),
        )
        .await;
        s.app.clock.advance(chrono::Duration::seconds(1));
    }
    let mut titles = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/posts?limit=2&cursor={c}"),
            None => "/api/v1/posts?limit=2".into(),
        };
        let (status, page) = s.call("GET", &path, Some(&editor), None).await;
        assert_eq!(status, StatusCode::OK);
        titles.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["title"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(titles, ["p4", "p3", "p2", "p1", "p0"]);
    let (status, body) = s
        .call("GET", "/api/v1/posts?cursor=garbage", Some(&editor), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid-cursor"))
    );
}

#[tokio::test]
async fn tokens_act_with_their_role_and_shutdown_is_graceful() {
    let mut s = spawn_app().await;
    let admin_as_viewer = s
        .app
        .service
        .create_token(&s.app.admin, "ro", Role::Viewer)
        .await
        .unwrap();
    let token = admin_as_viewer.secret.expose_secret().to_owned();
    let (status, me) = s.call("GET", "/api/v1/me", Some(&token), None).await;
    assert_eq!(
        (status, me["role"].as_str()),
        (StatusCode::OK, Some("viewer"))
    );
    let (status, _) = s
        .call(
            "POST",
            "/api/v1/posts",
            Some(&token),
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    s.stop.take().unwrap().send(()).unwrap();
    s.served.await.unwrap().unwrap();
}

#[tokio::test]
async fn quality_failures_come_back_as_422_with_the_code() {
    let s = spawn_app().await;
    let editor = s.token(&s.app.editor).await;
    let (_, post) = s
        .call(
            "POST",
            "/api/v1/posts",
            Some(&editor),
            Some(json!({"title": "no slides"})),
        )
        .await;
    let id = post["id"].as_str().unwrap();
    let (status, err) = s
        .call(
            "POST",
            &format!("/api/v1/posts/{id}/submit"),
            Some(&editor),
            None,
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("quality-check-failed")
        )
    );
    let findings = err["details"]["findings"]
        .as_array()
        .expect("the findings come along");
    assert!(
        findings
            .iter()
            .any(|f| f["code"] == "no-slides" && f["severity"] == "error"),
        "{err}"
    );
}

#[tokio::test]
async fn stored_media_is_served_byte_identical_with_no_redirect_and_nothing_else_is() {
    let s = spawn_app().await;
    let photo = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/photos/chelsea.png"
    ))
    .unwrap();
    let media = s.app.service.add_media(&s.app.editor, photo).await.unwrap();
    let stored = s
        .app
        .service
        .media_content(&s.app.viewer, media.id)
        .await
        .unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = format!("{}/m/{}", s.base, media.key);
    let resp = client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    assert_eq!(
        resp.headers()["content-length"],
        stored.len().to_string().as_str()
    );
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(
        resp.bytes().await.unwrap().as_ref(),
        stored.as_slice(),
        "byte-identical"
    );
    let head = client.head(&url).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        head.headers()["content-length"],
        stored.len().to_string().as_str()
    );
    for bad in [
        "/m/".to_owned(),
        "/m/..%2F..%2Fetc%2Fpasswd".to_owned(),
        format!("/m/{}", media.key.replace(".jpg", ".png")),
        format!("/m/{}", &media.key[..2]),
        "/m/0000000000000000000000000000000000000000000000000000000000000000.jpg".to_owned(),
    ] {
        let resp = client.get(format!("{}{bad}", s.base)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{bad}");
    }
}
