//! The dashboard in a real Chromium, against the real `natronfx-server` binary on a fresh database: an
//! admin adds the team, an editor writes a post with two slides and sees its checks, submits it, a
//! reviewer approves it, the editor schedules it to the sandbox accounts, then publishes it now and sees
//! both targets live with their platform ids; a wrong password, forged
//! requests and a viewer trying to approve are refused. Screenshots of the main pages land in
//! `target/screenshots/`.
//!
//! Needs `chromium` and `chromedriver` (`tests/browser/install-chromium`) and the built binaries
//! (`cargo build --bins`; `tests/run` does both the build and, in CI, `.ci/run` the install).

use std::path::{Path, PathBuf};

use natronfx_browser::{Browser, Driver};
use natronfx_e2e::{Cli, Server, free_port};
use serde_json::json;

const ADMIN_PASSWORD: &str = "admin password 1";
const PASSWORD: &str = "team password 1";

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(path)
        .canonicalize()
        .expect("fixture exists")
}

fn shots_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots")
}

fn temp_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("natronfx-browser-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Site<'a> {
    base: String,
    b: &'a Browser,
}

impl Site<'_> {
    async fn open(&self, path: &str) {
        self.b.goto(&format!("{}{path}", self.base)).await;
    }

    async fn login(&self, email: &str, password: &str) {
        self.open("/login").await;
        self.b.fill("#email", email).await;
        self.b.fill("#password", password).await;
        self.b
            .click_and_wait("form[action='/login'] button[type=submit]")
            .await;
    }

    async fn logout(&self) {
        self.b.click_and_wait("form[action='/logout'] button").await;
        assert!(self.b.url().await.contains("/login"), "signed out");
    }

    async fn notice(&self) -> String {
        self.b.text(".notice").await
    }

    async fn state(&self) -> String {
        self.b.text(".page-head .badge").await
    }

    /// Submits a form made up in the page (as a forger would), and waits for the answer.
    async fn forge(&self, action: &str, fields: serde_json::Value) {
        self.b
            .execute(
                "window.__nfxOld = true;
                 const f = document.createElement('form'); f.method = 'post'; f.action = arguments[0];
                 for (const [k, v] of Object.entries(arguments[1])) {
                   const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i);
                 }
                 document.body.appendChild(f); f.submit();",
                json!([action, fields]),
            )
            .await;
        self.b.wait_for_new_page().await;
    }
}

#[tokio::test]
async fn a_post_goes_from_draft_to_published_in_the_browser_and_forgeries_are_refused() {
    // A fresh installation: the first admin through the CLI, then the server.
    let dir = temp_dir();
    let db = format!("sqlite:{}", dir.join("browser.db").display());
    let cli = Cli {
        db: db.clone(),
        cwd: dir.clone(),
    };
    let init = cli.run_with_stdin(
        &[
            "init",
            "--email",
            "admin@example.com",
            "--name",
            "Ada Admin",
            "--password-stdin",
        ],
        ADMIN_PASSWORD,
    );
    assert_eq!(init.code, 0, "{init:?}");
    // The sandbox accounts publish to the in-process simulator, which pulls the slides from the
    // server's public media URL: the port is chosen first so that the URL can name it.
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let env = [
        (
            "NATRONFX_MEDIA__PUBLIC_BASE_URL",
            format!("http://{listen}/m"),
        ),
        ("NATRONFX_DISPATCH__IDLE_POLL_MS", "200".to_owned()),
        ("NATRONFX_SANDBOX__PROCESSING_SECS", "1".to_owned()),
    ];
    let server = Server::start_bin_with_env(
        "natronfx-server",
        &dir,
        &["--listen", &listen, "--db", &db],
        &env,
    );
    let driver = Driver::start().await;
    let browser = Browser::open(&driver, 1280, 1000, &shots_dir()).await;
    let site = Site {
        base: server.base_url.clone(),
        b: &browser,
    };
    let b = &browser;

    // A wrong password is refused, on the login page, with no session.
    site.login("admin@example.com", "not the password").await;
    assert!(b.url().await.contains("/login"));
    assert!(
        site.notice().await.contains("wrong email or password"),
        "{}",
        site.notice().await
    );
    b.screenshot("login").await;

    // The admin adds the team.
    site.login("admin@example.com", ADMIN_PASSWORD).await;
    assert!(b.url().await.ends_with("/posts"), "{}", b.url().await);
    for (email, name, role) in [
        ("ed@example.com", "Eddie Editor", "editor"),
        ("rev@example.com", "Rita Reviewer", "reviewer"),
        ("view@example.com", "Vic Viewer", "viewer"),
    ] {
        site.open("/admin/users").await;
        b.fill("#email", email).await;
        b.fill("#name", name).await;
        b.execute(
            "document.querySelector('#role').value = arguments[0];",
            json!([role]),
        )
        .await;
        b.fill("#pw", PASSWORD).await;
        b.click_and_wait("form[action='/admin/users'] button[type=submit]")
            .await;
        assert!(
            site.notice().await.contains(&format!("Added {email}")),
            "{}",
            site.notice().await
        );
    }
    b.screenshot("admin-people").await;
    site.open("/accounts").await;
    assert_eq!(
        b.count("tbody tr").await,
        3,
        "one sandbox account per platform"
    );
    b.screenshot("accounts").await;
    site.logout().await;

    // The editor writes a post for Instagram and TikTok.
    site.login("ed@example.com", PASSWORD).await;
    site.open("/posts/new").await;
    b.fill("#title", "Winter launch").await;
    b.fill("#caption", "Our new blend is here. #coffee #winter")
        .await;
    b.execute(
        "for (const fs of document.querySelectorAll('fieldset')) {
           const name = fs.querySelector('legend').innerText;
           if (name.includes('@sandbox.instagram') || name.includes('@sandbox.tiktok')) {
             fs.querySelector('input[type=checkbox]').checked = true;
           }
           const privacy = fs.querySelector('select[name^=privacy_]');
           if (privacy) { privacy.value = 'SELF_ONLY'; }
         }",
        json!([]),
    )
    .await;
    b.click_and_wait("form[action='/posts/new'] button[type=submit]")
        .await;
    assert!(
        b.url()
            .await
            .ends_with("/edit?notice=Draft+created%3A+add+slides")
            || b.url().await.contains("/edit")
    );
    let post_path = b
        .url()
        .await
        .split("/edit")
        .next()
        .unwrap()
        .replace(&site.base, "");

    // Two slides, uploaded; the checks beside the editor ask for their descriptions.
    b.choose_files(
        "#file",
        &[
            &fixture("photos/rocket.jpg"),
            &fixture("photos/hubble_deep_field.jpg"),
        ],
    )
    .await;
    b.click_and_wait("#upload form[enctype='multipart/form-data'] button")
        .await;
    assert!(
        site.notice().await.contains("2 slides added"),
        "{}",
        site.notice().await
    );
    assert_eq!(b.count(".slide img").await, 2);
    let checks = b.text("#findings").await;
    assert!(
        checks.contains("alt"),
        "the missing descriptions are reported: {checks}"
    );
    assert!(
        b.count("textarea[data-counters] + .counters .counter")
            .await
            >= 3,
        "live counters"
    );
    b.fill("#alt0", "The rocket on the pad at dawn").await;
    b.fill("#alt1", "Thousands of galaxies in one deep field")
        .await;
    b.click_and_wait("button[value='save']").await;
    assert!(
        site.notice().await.contains("Saved"),
        "{}",
        site.notice().await
    );
    assert!(
        !b.text("#findings").await.contains("alt text"),
        "{}",
        b.text("#findings").await
    );
    b.screenshot("editor").await;
    site.open(&post_path).await;
    b.click_and_wait(&format!("form[action='{post_path}/submit'] button"))
        .await;
    assert!(
        site.notice().await.contains("Sent to review"),
        "{}",
        site.notice().await
    );
    assert_eq!(site.state().await, "in review");
    site.open("/posts").await;
    b.screenshot("posts").await;

    // A forged request with a made-up token is refused, and so is one from another site.
    site.open(&post_path).await;
    site.forge(
        &format!("{post_path}/archive"),
        json!({"csrf_token": "forged"}),
    )
    .await;
    assert!(
        b.text("body").await.contains("csrf-failed"),
        "{}",
        b.text("body").await
    );
    let cross_site = format!(
        "data:text/html,<form method=post action='{}{post_path}/archive'><input name=csrf_token value=x></form>\
         <script>document.forms[0].submit()</script>",
        site.base
    );
    b.goto(&cross_site).await;
    b.find("main .card").await;
    assert!(
        b.text("body").await.contains("csrf-failed"),
        "{}",
        b.text("body").await
    );
    site.open(&post_path).await;
    assert_eq!(site.state().await, "in review", "nothing was archived");
    site.logout().await;

    // A viewer sees no review buttons, and a crafted approval is refused by the permission table.
    site.login("view@example.com", PASSWORD).await;
    site.open(&post_path).await;
    assert_eq!(b.count("#review").await, 0);
    let csrf = b
        .execute(
            "return document.querySelector('input[name=csrf_token]').value;",
            json!([]),
        )
        .await;
    site.forge(
        &format!("{post_path}/approve"),
        json!({"csrf_token": csrf, "comment": "sneaky"}),
    )
    .await;
    assert!(
        site.notice().await.contains("may not review"),
        "{}",
        site.notice().await
    );
    assert_eq!(site.state().await, "in review");
    site.logout().await;

    // The reviewer approves, with a comment; on a phone too.
    site.login("rev@example.com", PASSWORD).await;
    site.open(&post_path).await;
    assert!(b.text("#review").await.contains("First review"));
    b.screenshot("review").await;
    b.resize(390, 844).await;
    b.screenshot("review-phone").await;
    b.resize(1280, 1000).await;
    b.fill("#comment", "Lovely, ship it").await;
    b.click_and_wait("button[formaction$='/approve']").await;
    assert!(
        site.notice().await.contains("Approved"),
        "{}",
        site.notice().await
    );
    assert_eq!(site.state().await, "approved");
    site.logout().await;

    // The editor schedules both targets, a month ahead, in Lisbon time.
    site.login("ed@example.com", PASSWORD).await;
    site.open(&post_path).await;
    let day = b
        .execute(
            "const d = new Date(Date.now() + 30 * 864e5);
             const p = n => String(n).padStart(2, '0');
             const day = d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate());
             document.querySelector('#at').value = day + 'T09:30';
             return day;",
            json!([]),
        )
        .await;
    let day = day.as_str().unwrap().to_owned();
    b.fill("#zone", "Europe/Lisbon").await;
    b.click_and_wait("#schedule button[type=submit]").await;
    assert!(
        site.notice().await.contains("Scheduled"),
        "{}",
        site.notice().await
    );
    assert_eq!(site.state().await, "scheduled");
    assert_eq!(
        b.count("td .badge.scheduled").await,
        2,
        "both targets are on the schedule"
    );
    let timeline = b.text("#history .timeline").await;
    for step in [
        "post created",
        "post submitted",
        "post approved",
        "post scheduled",
    ] {
        assert!(timeline.contains(step), "{step}: {timeline}");
    }
    b.screenshot("post").await;

    site.open(&format!("/calendar?view=month&date={day}&tz=Europe/Lisbon"))
        .await;
    assert_eq!(b.count(".cal .entry").await, 2, "{}", b.text(".cal").await);
    assert!(b.text(".cal").await.contains("09:30"));
    b.screenshot("calendar").await;

    // Then the editor publishes now: the workers send both targets to the sandbox, and the post page's
    // publishing card shows them live with each platform's post id.
    site.open(&post_path).await;
    b.click_and_wait("#schedule button[name=now]").await;
    assert!(
        site.notice().await.contains("Publishing now"),
        "{}",
        site.notice().await
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        site.open(&post_path).await;
        if b.count("#publishing [data-state=published]").await == 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not published in time: {}",
            b.text("#publishing").await
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert_eq!(site.state().await, "published");
    assert_eq!(b.count("#publishing .platform-id code").await, 2);
    let ledger = b.text("#publishing").await;
    assert!(ledger.contains("Platform id"), "{ledger}");
    assert!(
        b.text("#history .timeline")
            .await
            .contains("target published")
    );
    b.screenshot("published").await;

    browser.close().await;
    assert!(server.terminate().success());
    let _ = std::fs::remove_dir_all(&dir);
}
