//! Signing in over HTTP: the cookie, CSRF, throttling, rotation, logout, password change, security
//! headers, size limits and metrics. Each story runs on SQLite and on PostgreSQL.

use natronfx_service::testing::{TEST_PASSWORD, TestApp};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::{Value, json};

use crate::{Running, spawn_on, spawn_with};

both!(running:
    a_login_sets_a_hardened_cookie_that_signs_the_browser_in,
    cookie_requests_that_change_state_need_the_csrf_token_and_bearer_requests_do_not,
    wrong_passwords_are_refused_and_repeated_failures_are_throttled,
    signing_in_again_replaces_the_session_and_logout_ends_it,
    a_password_change_over_http_ends_the_other_sessions,
);

/// A browser: a cookie jar of one cookie, and the CSRF token the server gave it.
pub struct Browser<'a> {
    pub server: &'a Running,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
}

/// The `name=value` of the session cookie set by a response, and the whole header.
pub fn set_cookie(headers: &HeaderMap) -> Option<(String, String)> {
    headers.get_all(SET_COOKIE).iter().find_map(|v| {
        let text = v.to_str().ok()?;
        let pair = text.split(';').next()?.trim().to_owned();
        pair.contains("nfx_session")
            .then(|| (pair, text.to_owned()))
    })
}

impl<'a> Browser<'a> {
    pub fn new(server: &'a Running) -> Self {
        Browser {
            server,
            cookie: None,
            csrf: None,
        }
    }

    /// Signs in through the API; keeps the cookie and the CSRF token. Answers the status and body.
    pub async fn login(&mut self, email: &str, password: &str) -> (StatusCode, Value) {
        let mut req = self
            .server
            .client
            .post(format!("{}/api/v1/session", self.server.base))
            .json(&json!({"email": email, "password": password}));
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        if let Some((pair, _)) = set_cookie(resp.headers()) {
            self.cookie = Some(pair);
        }
        let body: Value = resp.json().await.unwrap();
        if let Some(t) = body["csrf_token"].as_str() {
            self.csrf = Some(t.to_owned());
        }
        (status, body)
    }

    /// A request with the cookie, and the CSRF header when `with_csrf`.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        with_csrf: bool,
        extra: &[(&str, &str)],
    ) -> (StatusCode, Value, HeaderMap) {
        let mut req = self.server.client.request(
            method.parse().unwrap(),
            format!("{}{path}", self.server.base),
        );
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        if let (true, Some(t)) = (with_csrf, &self.csrf) {
            req = req.header("x-csrf-token", t);
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
            headers,
        )
    }
}

async fn a_login_sets_a_hardened_cookie_that_signs_the_browser_in(s: Running) {
    let resp = s
        .client
        .post(format!("{}/api/v1/session", s.base))
        .json(&json!({"email": "editor@example.com", "password": TEST_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let (pair, header) = set_cookie(resp.headers()).expect("a session cookie");
    let secret = pair.split_once('=').unwrap().1.to_owned();
    assert!(pair.starts_with("nfx_session=nfs_"), "{header}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(header.contains(attribute), "{attribute} missing: {header}");
    }
    assert!(
        !header.contains("Secure"),
        "plain http on localhost: {header}"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["user"]["email"], "editor@example.com");
    assert!(
        !body.to_string().contains(&secret),
        "the id is only in the cookie"
    );
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();

    let b = Browser {
        server: &s,
        cookie: Some(pair),
        csrf: Some(csrf.clone()),
    };
    let (status, me, _) = b.send("GET", "/api/v1/me", None, false, &[]).await;
    assert_eq!(
        (status, me["role"].as_str()),
        (StatusCode::OK, Some("editor"))
    );
    let (status, session, _) = b.send("GET", "/api/v1/session", None, false, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(session["csrf_token"], csrf.as_str());
    let (status, err, _) = s_get_without_cookie(&s, "/api/v1/session").await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
}

async fn s_get_without_cookie(s: &Running, path: &str) -> (StatusCode, Value, HeaderMap) {
    Browser::new(s).send("GET", path, None, false, &[]).await
}

#[tokio::test]
async fn over_https_the_cookie_is_secure_and_host_bound() {
    let s = spawn_with(TestApp::sqlite().await, |c| {
        c.server.public_url = "https://publisher.example.com".into();
    })
    .await;
    let resp = s
        .client
        .post(format!("{}/api/v1/session", s.base))
        .json(&json!({"email": "viewer@example.com", "password": TEST_PASSWORD}))
        .send()
        .await
        .unwrap();
    let (pair, header) = set_cookie(resp.headers()).expect("a session cookie");
    assert!(pair.starts_with("__Host-nfx_session="), "{header}");
    assert!(header.contains("; Secure"), "{header}");
    assert!(!header.contains("Domain"), "{header}");
}

async fn cookie_requests_that_change_state_need_the_csrf_token_and_bearer_requests_do_not(
    s: Running,
) {
    let mut b = Browser::new(&s);
    b.login("editor@example.com", TEST_PASSWORD).await;
    let post = json!({"title": "from the browser"});
    let (status, err, _) = b
        .send("POST", "/api/v1/posts", Some(post.clone()), false, &[])
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("csrf-failed"))
    );
    let (status, err, _) = b
        .send(
            "POST",
            "/api/v1/posts",
            Some(post.clone()),
            false,
            &[("x-csrf-token", "0badc0de")],
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("csrf-failed"))
    );
    // A cross-site request is refused even with the right token.
    let (status, _, _) = b
        .send(
            "POST",
            "/api/v1/posts",
            Some(post.clone()),
            true,
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = b
        .send(
            "POST",
            "/api/v1/posts",
            Some(post.clone()),
            true,
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // None of the refusals wrote anything.
    let (_, list, _) = b.send("GET", "/api/v1/posts", None, false, &[]).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let (status, created, _) = b
        .send(
            "POST",
            "/api/v1/posts",
            Some(post.clone()),
            true,
            &[("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    // Another session's token does not fit this one.
    let mut other = Browser::new(&s);
    other.login("editor@example.com", TEST_PASSWORD).await;
    let (status, _, _) = b
        .send(
            "POST",
            "/api/v1/posts",
            Some(post.clone()),
            false,
            &[("x-csrf-token", other.csrf.as_deref().unwrap())],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Bearer requests carry no ambient credential and need no token, whatever else they send.
    let token = s.token(&s.app.editor).await;
    let resp = s
        .client
        .post(format!("{}/api/v1/posts", s.base))
        .bearer_auth(&token)
        .header("cookie", b.cookie.as_deref().unwrap())
        .json(&post)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    // Reads need no token.
    let (status, _, _) = b.send("GET", "/api/v1/posts", None, false, &[]).await;
    assert_eq!(status, StatusCode::OK);
}

async fn wrong_passwords_are_refused_and_repeated_failures_are_throttled(s: Running) {
    let mut b = Browser::new(&s);
    let max = s.app.service.auth_config().max_failures_per_account;
    for _ in 0..max {
        let (status, body) = b.login("reviewer@example.com", "not the password").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid-credentials"))
        );
        assert!(b.cookie.is_none(), "no cookie for a failed login");
    }
    let (status, body) = b.login("reviewer@example.com", TEST_PASSWORD).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("too-many-attempts"))
    );
    assert!(b.cookie.is_none());
    let (status, body) = b.login("someone@example.com", "x").await;
    assert_eq!(body["code"], "invalid-credentials", "{status}");
    let (status, body) = b.login("", "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

async fn signing_in_again_replaces_the_session_and_logout_ends_it(s: Running) {
    let mut b = Browser::new(&s);
    b.login("viewer@example.com", TEST_PASSWORD).await;
    let first = b.cookie.clone().unwrap();
    b.login("viewer@example.com", TEST_PASSWORD).await;
    let second = b.cookie.clone().unwrap();
    assert_ne!(first, second, "the session id changes at login");
    let stale = Browser {
        server: &s,
        cookie: Some(first),
        csrf: None,
    };
    let (status, err, _) = stale.send("GET", "/api/v1/me", None, false, &[]).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("session-expired"))
    );

    let (status, _, _) = b.send("DELETE", "/api/v1/session", None, false, &[]).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "logout is a state change: it needs the token"
    );
    let (status, _, headers) = b.send("DELETE", "/api/v1/session", None, true, &[]).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, cleared) = set_cookie(&headers).expect("the cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let (status, _, _) = b.send("GET", "/api/v1/me", None, false, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn a_password_change_over_http_ends_the_other_sessions(s: Running) {
    let mut here = Browser::new(&s);
    here.login("editor@example.com", TEST_PASSWORD).await;
    let mut there = Browser::new(&s);
    there.login("editor@example.com", TEST_PASSWORD).await;
    let change =
        json!({"current_password": "wrong wrong wrong", "new_password": "a new long passphrase"});
    let (status, err, _) = here
        .send("PUT", "/api/v1/me/password", Some(change), true, &[])
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid-input"))
    );
    let change =
        json!({"current_password": TEST_PASSWORD, "new_password": "a new long passphrase"});
    let (status, _, _) = here
        .send("PUT", "/api/v1/me/password", Some(change), true, &[])
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = here.send("GET", "/api/v1/me", None, false, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = there.send("GET", "/api/v1/me", None, false, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, sessions, _) = here
        .send("GET", "/api/v1/me/sessions", None, false, &[])
        .await;
    assert_eq!(sessions["items"].as_array().unwrap().len(), 1);
    assert!(
        !sessions.to_string().contains("nfs_"),
        "no session id is ever listed"
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let s = spawn_on(TestApp::sqlite().await).await;
    for path in [
        "/healthz",
        "/api/v1/posts",
        "/api/v1/openapi.json",
        "/nowhere",
    ] {
        let resp = s
            .client
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
    }
}

#[tokio::test]
async fn oversized_bodies_and_wrong_methods_get_the_json_error_body() {
    let s = spawn_with(TestApp::sqlite().await, |c| c.server.max_body_bytes = 1024).await;
    let token = s.token(&s.app.editor).await;
    let big = json!({"title": "x".repeat(4096)});
    let (status, body) = s
        .call("POST", "/api/v1/posts", Some(&token), Some(big))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["code"], "payload-too-large");
    assert!(body.get("details").is_some(), "{body}");
    let (status, body) = s.call("PUT", "/api/v1/posts", Some(&token), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method-not-allowed"))
    );
}

#[tokio::test]
async fn a_request_slower_than_the_timeout_gets_408_with_the_json_error_body() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let s = spawn_with(TestApp::sqlite().await, |c| {
        c.server.request_timeout_secs = 1
    })
    .await;
    let token = s.token(&s.app.editor).await;
    // A body that stops arriving halfway, as a stalled client's would.
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/posts HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"title\": "
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        conn.read_to_end(&mut answer),
    )
    .await
    .expect("the server answers instead of waiting for ever")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("\"code\""),
        "the API's error body: {answer}"
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
    assert_eq!(
        s.app
            .service
            .store()
            .list_posts(&Default::default())
            .await
            .unwrap()
            .len(),
        0,
        "nothing half-written"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let s = spawn_on(TestApp::sqlite().await).await;
    let token = s.token(&s.app.viewer).await;
    for id in [
        "01890a5d-ac96-774b-bcce-b302099a8057",
        "01890a5d-ac96-774b-bcce-b302099a8058",
    ] {
        let (status, _) = s
            .call("GET", &format!("/api/v1/posts/{id}"), Some(&token), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let text = s
        .client
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            "natronfx_http_requests_total{route=\"/api/v1/posts/{id}\",method=\"GET\",status=\"404\"} 2"
        ),
        "{text}"
    );
    assert!(!text.contains("01890a5d"), "raw paths never become labels");
    assert!(text.contains("# TYPE natronfx_publish_queue_depth gauge"));
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn passwords_session_ids_and_tokens_never_reach_the_log() {
    let buffer = LogBuffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    // The test runtime runs the server on this thread, so a thread-local subscriber sees everything.
    let _guard = tracing::subscriber::set_default(subscriber);
    let s = spawn_on(TestApp::sqlite().await).await;
    let mut b = Browser::new(&s);
    let (status, _) = b.login("editor@example.com", TEST_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let session_id = b
        .cookie
        .clone()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let (status, created, _) = b
        .send(
            "POST",
            "/api/v1/tokens",
            Some(json!({"name": "ci"})),
            true,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let token = created["secret"].as_str().unwrap().to_owned();
    let (status, _) = s.call("GET", "/api/v1/posts", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    let change =
        json!({"current_password": TEST_PASSWORD, "new_password": "another secret phrase"});
    let (status, _, _) = b
        .send("PUT", "/api/v1/me/password", Some(change), true, &[])
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    b.login("editor@example.com", "a wrong guess here").await;
    let log = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("/api/v1/session"),
        "the log did capture the requests"
    );
    for secret in [
        TEST_PASSWORD,
        "another secret phrase",
        "a wrong guess here",
        &session_id,
        &token,
    ] {
        assert!(!log.contains(secret), "{secret} is in the log");
    }
}
