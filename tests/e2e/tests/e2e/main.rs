//! End to end, as a new user would: the real `natronfx` and `natronfx-server` binaries on real databases.

mod crash;
mod media_dedupe;
mod retention;

use natronfx_e2e::{Cli, Server};
use natronfx_store::testing::TestDb;

mod accounts;

const PASSWORD: &str = "a long enough password\n";

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "natronfx-e2e-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A fresh database with an admin, an editor and a reviewer, through the CLI.
fn team(db: String) -> Cli {
    let cli = Cli {
        db,
        cwd: temp_dir(),
    };
    let init = cli.run_with_stdin(
        &["init", "--email", "admin@example.com", "--password-stdin"],
        PASSWORD,
    );
    assert_eq!(init.code, 0, "{init:?}");
    for (email, role) in [
        ("ed@example.com", "editor"),
        ("rev@example.com", "reviewer"),
    ] {
        let r = cli.as_user("admin@example.com", &["user", "add", email, "--role", role]);
        assert_eq!(r.code, 0, "{r:?}");
    }
    cli
}

fn fixture(path: &str) -> String {
    format!("{}/../../fixtures/{path}", env!("CARGO_MANIFEST_DIR"))
}

/// Two photos ingested as media through the CLI; their ids.
fn photos(cli: &Cli, who: &str) -> Vec<String> {
    let added = cli.as_user(
        who,
        &[
            "--json",
            "media",
            "add",
            &fixture("photos/coffee.png"),
            &fixture("photos/chelsea.png"),
        ],
    );
    assert_eq!(added.code, 0, "{added:?}");
    added
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

fn new_post(cli: &Cli, author: &str) -> String {
    let media = photos(cli, author);
    let first = format!("{}=A cup of coffee", media[0]);
    let second = format!("{}=A cat", media[1]);
    let r = cli.as_user(
        author,
        &[
            "--json",
            "post",
            "new",
            "--title",
            "Winter launch",
            "--caption",
            "New blend #coffee",
            "--slide",
            &first,
            "--slide",
            &second,
            "--target",
            "@sandbox.instagram",
            "--target",
            "@sandbox.tiktok=Only on TikTok",
            "--privacy",
            "SELF_ONLY",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    r.json()["id"].as_str().unwrap().to_owned()
}

fn review_story(cli: &Cli) {
    let id = new_post(cli, "ed@example.com");
    let submit = cli.as_user("ed@example.com", &["post", "submit", &id]);
    assert_eq!(submit.code, 0, "{submit:?}");
    // The author is an editor, who may not review at all.
    let own = cli.as_user("ed@example.com", &["post", "approve", &id]);
    assert_eq!(
        (own.code, own.error_code().as_deref()),
        (4, Some("permission-denied")),
        "{own:?}"
    );
    let ok = cli.as_user(
        "rev@example.com",
        &["post", "approve", &id, "--comment", "lovely"],
    );
    assert_eq!(ok.code, 0, "{ok:?}");
    let sched = cli.as_user(
        "ed@example.com",
        &[
            "post",
            "schedule",
            &id,
            "--at",
            "2099-06-01 09:00",
            "--tz",
            "Europe/Lisbon",
        ],
    );
    assert_eq!(sched.code, 0, "{sched:?}");
    let show = cli.as_user("ed@example.com", &["--json", "post", "show", &id]);
    let post = show.json();
    assert_eq!(post["state"], "scheduled");
    assert_eq!(post["targets"][0]["scheduled_at"], "2099-06-01T08:00:00Z");
    let history = cli
        .as_user("rev@example.com", &["--json", "post", "history", &id])
        .json();
    let to: Vec<_> = history
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"]["to_state"].as_str())
        .collect();
    assert_eq!(to, ["draft", "in_review", "approved", "scheduled"]);
    let list = cli
        .as_user(
            "rev@example.com",
            &["--json", "post", "list", "--state", "scheduled"],
        )
        .json();
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[test]
fn a_new_team_takes_a_post_to_scheduled_from_the_cli_on_sqlite() {
    let dir = temp_dir();
    let cli = team(format!("sqlite:{}", dir.join("team.db").display()));
    review_story(&cli);
}

#[tokio::test]
async fn a_new_team_takes_a_post_to_scheduled_from_the_cli_on_postgres() {
    let db = TestDb::postgres().await;
    let cli = team(db.url.clone());
    tokio::task::spawn_blocking(move || review_story(&cli))
        .await
        .unwrap();
}

#[test]
fn the_author_cannot_approve_their_own_post_under_required() {
    let cli = team(format!("sqlite:{}", temp_dir().join("t.db").display()));
    let policy = cli
        .as_user("admin@example.com", &["--json", "policy", "show"])
        .json();
    assert_eq!(policy["approval_policy"], "required");
    let id = new_post(&cli, "admin@example.com");
    assert_eq!(
        cli.as_user("admin@example.com", &["post", "submit", &id])
            .code,
        0
    );
    let own = cli.as_user("admin@example.com", &["post", "approve", &id]);
    assert_eq!(
        (own.code, own.error_code().as_deref()),
        (4, Some("self-approval-forbidden")),
        "{own:?}"
    );
    // Under multi:2, two distinct reviewers are needed.
    assert_eq!(
        cli.as_user("admin@example.com", &["policy", "set", "multi:2"])
            .code,
        0
    );
    assert_eq!(
        cli.as_user(
            "admin@example.com",
            &["user", "add", "rev2@example.com", "--role", "reviewer"]
        )
        .code,
        0
    );
    let first = cli
        .as_user("rev@example.com", &["--json", "post", "approve", &id])
        .json();
    assert_eq!(first["state"], "in_review");
    let again = cli.as_user("rev@example.com", &["post", "approve", &id]);
    assert_eq!(
        (again.code, again.error_code().as_deref()),
        (5, Some("already-approved"))
    );
    let second = cli
        .as_user("rev2@example.com", &["--json", "post", "approve", &id])
        .json();
    assert_eq!(second["state"], "approved");
}

#[test]
fn every_illegal_transition_gives_its_code_and_exit_status() {
    let cli = team(format!("sqlite:{}", temp_dir().join("t.db").display()));
    let ed = "ed@example.com";
    let rev = "rev@example.com";
    let draft = new_post(&cli, ed);
    let illegal = |who: &str, args: &[&str]| {
        let r = cli.as_user(who, args);
        assert_eq!(
            (r.code, r.error_code().as_deref()),
            (5, Some("invalid-transition")),
            "{args:?}: {r:?}"
        );
    };
    // From draft.
    illegal(rev, &["post", "approve", &draft]);
    illegal(rev, &["post", "request-changes", &draft]);
    illegal(rev, &["post", "reject", &draft]);
    illegal(
        ed,
        &["post", "schedule", &draft, "--at", "2099-01-01 10:00"],
    );
    illegal(ed, &["post", "unschedule", &draft]);
    // From changes_requested: submit needs an edit first.
    assert_eq!(cli.as_user(ed, &["post", "submit", &draft]).code, 0);
    assert_eq!(
        cli.as_user(
            rev,
            &["post", "request-changes", &draft, "--comment", "typo"]
        )
        .code,
        0
    );
    illegal(ed, &["post", "submit", &draft]);
    illegal(rev, &["post", "approve", &draft]);
    // From rejected: nothing but archive.
    assert_eq!(
        cli.as_user(ed, &["post", "edit", &draft, "--title", "Fixed"])
            .code,
        0
    );
    assert_eq!(cli.as_user(ed, &["post", "submit", &draft]).code, 0);
    assert_eq!(cli.as_user(rev, &["post", "reject", &draft]).code, 0);
    illegal(ed, &["post", "submit", &draft]);
    illegal(ed, &["post", "edit", &draft, "--title", "again"]);
    illegal(
        ed,
        &["post", "schedule", &draft, "--at", "2099-01-01 10:00"],
    );
    // From archived: nothing at all.
    assert_eq!(cli.as_user(ed, &["post", "archive", &draft]).code, 0);
    illegal(ed, &["post", "archive", &draft]);
    illegal(ed, &["post", "edit", &draft, "--title", "again"]);
    // Scheduled: no second submit.
    let p = new_post(&cli, ed);
    cli.as_user(ed, &["post", "submit", &p]);
    cli.as_user(rev, &["post", "approve", &p]);
    assert_eq!(
        cli.as_user(ed, &["post", "schedule", &p, "--at", "2099-01-01 10:00"])
            .code,
        0
    );
    illegal(ed, &["post", "submit", &p]);
    illegal(rev, &["post", "approve", &p]);
    // JSON errors carry the same code.
    let r = cli.as_user(ed, &["--json", "post", "submit", &p]);
    let err: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
    assert_eq!(
        (r.code, err["code"].as_str()),
        (5, Some("invalid-transition"))
    );
}

#[test]
fn bad_input_gets_clear_codes_and_exit_statuses() {
    let cli = team(format!("sqlite:{}", temp_dir().join("t.db").display()));
    let id = new_post(&cli, "ed@example.com");
    cli.as_user("ed@example.com", &["post", "submit", &id]);
    cli.as_user("rev@example.com", &["post", "approve", &id]);
    let gap = cli.as_user(
        "ed@example.com",
        &[
            "post",
            "schedule",
            &id,
            "--at",
            "2099-03-29 02:30",
            "--tz",
            "Europe/Paris",
        ],
    );
    assert_eq!(
        (gap.code, gap.error_code().as_deref()),
        (6, Some("invalid-schedule")),
        "{gap:?}"
    );
    assert!(gap.stderr.contains("does not exist in Europe/Paris"));
    let missing = cli.as_user(
        "ed@example.com",
        &["post", "show", "01890a5d-ac96-774b-bcce-b302099a8057"],
    );
    assert_eq!(
        (missing.code, missing.error_code().as_deref()),
        (3, Some("not-found"))
    );
    let viewer = cli.as_user("nobody@example.com", &["post", "list"]);
    assert_ne!(viewer.code, 0);
    let long = "x".repeat(151);
    let r = cli.as_user("ed@example.com", &["post", "new", "--title", &long]);
    assert_eq!(
        (r.code, r.error_code().as_deref()),
        (6, Some("invalid-input"))
    );
    let usage = cli.run(&["post", "frobnicate"]);
    assert_eq!(usage.code, 2);
    let scheme = Cli {
        db: "mysql://localhost/x".into(),
        cwd: temp_dir(),
    }
    .as_user("a@b.c", &["post", "list"]);
    assert_eq!(
        (scheme.code, scheme.error_code().as_deref()),
        (6, Some("invalid-database-url"))
    );
    assert!(
        scheme.stderr.contains("use sqlite:PATH or postgres://"),
        "{scheme:?}"
    );
    let folder = Cli {
        db: "sqlite:/no/such/folder/x.db".into(),
        cwd: temp_dir(),
    }
    .as_user("a@b.c", &["post", "list"]);
    assert_eq!(folder.code, 6, "{folder:?}");
    assert!(!std::path::Path::new("/no/such/folder").exists());
}

#[test]
fn logs_are_json_lines_when_the_configuration_asks() {
    // `[log] format = "json"` through the environment: every log line is one JSON object with its level
    // and message, and no secret (the first admin's password is printed once, never logged).
    let dir = temp_dir();
    let server = Server::start_bin_with_env(
        "natronfx-server",
        &dir,
        &["--listen", "127.0.0.1:0"],
        &[
            ("NATRONFX_LOG__FORMAT", "json".to_owned()),
            ("NATRONFX_LOG__FILTER", "info".to_owned()),
            (
                "NATRONFX_ADMIN_PASSWORD",
                "a password never logged".to_owned(),
            ),
            ("RUST_LOG", String::new()),
        ],
    );
    let logs: Vec<serde_json::Value> = server
        .banner
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("each log line is a JSON object"))
        .collect();
    let created = logs
        .iter()
        .find(|l| l["fields"]["message"] == "first admin created")
        .unwrap_or_else(|| panic!("the first run is logged: {}", server.banner));
    assert_eq!(created["level"], "INFO");
    assert!(created["timestamp"].is_string());
    assert!(!server.banner.contains("a password never logged"));
    assert!(server.terminate().success());
}

#[test]
fn the_readme_run_command_serves_on_the_default_sqlite_database_and_stops_on_sigterm() {
    // The README's command, minus the fixed port: the server in a fresh folder with no configuration.
    let dir = temp_dir();
    let server = Server::start(&dir, &["--listen", "127.0.0.1:0"]);
    assert!(
        server.banner.contains("database: sqlite"),
        "{}",
        server.banner
    );
    // The first start makes the admin and prints the made-up password once.
    assert!(
        server
            .banner
            .contains("first run: created the admin admin@example.com"),
        "{}",
        server.banner
    );
    let password = server
        .banner
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the password is printed")
        .to_owned();
    assert!(password.len() >= 16, "{password}");
    assert!(
        dir.join("natronfx.db").is_file(),
        "the default database is created in the working folder"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = server.base_url.clone();
    let (health, ready, api) = rt.block_on(async {
        let c = reqwest::Client::new();
        let health = c
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status();
        let ready = c
            .get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status();
        let api = c
            .get(format!("{base}/api/v1/posts"))
            .send()
            .await
            .unwrap()
            .status();
        (health, ready, api)
    });
    assert_eq!(
        (health.as_u16(), ready.as_u16(), api.as_u16()),
        (200, 200, 401)
    );
    // The printed password signs the admin in, and the sandbox accounts are there to publish to.
    let accounts = rt.block_on(async {
        let c = reqwest::Client::new();
        let login = c
            .post(format!("{base}/api/v1/session"))
            .json(&serde_json::json!({"email": "admin@example.com", "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status().as_u16(), 200);
        let cookie = login.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let body: serde_json::Value = c
            .get(format!("{base}/api/v1/accounts"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["items"].as_array().unwrap().len()
    });
    assert_eq!(accounts, 3, "one sandbox account per platform");
    let status = server.terminate();
    assert!(status.success(), "a graceful stop exits 0: {status:?}");
    // A second start finds the admin and makes nobody.
    let again = Server::start(&dir, &["--listen", "127.0.0.1:0"]);
    assert!(!again.banner.contains("first run"), "{}", again.banner);
    assert!(again.terminate().success());
}

#[test]
fn an_api_token_from_the_cli_works_against_the_server() {
    let dir = temp_dir();
    let db = format!("sqlite:{}", dir.join("t.db").display());
    let cli = team(db.clone());
    let token = cli
        .as_user(
            "ed@example.com",
            &["--json", "token", "create", "automation"],
        )
        .json();
    let secret = token["secret"].as_str().unwrap().to_owned();
    let listed = cli.as_user("ed@example.com", &["--json", "token", "list"]);
    assert!(
        !listed.stdout.contains(&secret),
        "the secret is shown once, never listed"
    );
    let server = Server::start(&dir, &["--listen", "127.0.0.1:0", "--db", &db]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = server.base_url.clone();
    let body: serde_json::Value = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{base}/api/v1/posts"))
            .bearer_auth(&secret)
            .json(&serde_json::json!({"title": "From automation"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(body["state"], "draft", "{body}");
    let list = cli
        .as_user("rev@example.com", &["--json", "post", "list"])
        .json();
    assert_eq!(list[0]["title"], "From automation");
    assert!(server.terminate().success());
}

#[test]
fn media_render_and_quality_checks_from_the_cli() {
    let cli = team(format!("sqlite:{}", temp_dir().join("t.db").display()));
    let ed = "ed@example.com";
    // Hostile files are refused with their codes and exit status 6.
    for (file, code) in [
        (
            "images/hostile/not-an-image.jpg",
            "unsupported-image-format",
        ),
        ("images/hostile/bomb-50000x50000.png", "decompression-bomb"),
        ("images/hostile/truncated.jpg", "image-corrupt"),
    ] {
        let r = cli.as_user(ed, &["media", "add", &fixture(file)]);
        assert_eq!(
            (r.code, r.error_code().as_deref()),
            (6, Some(code)),
            "{file}: {r:?}"
        );
    }
    // A rendered carousel lands in the output folder and as media.
    let out = cli.cwd.join("slides");
    let r = cli.as_user(
        ed,
        &[
            "--json",
            "render",
            &fixture("carousels/launch-day.toml"),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let rendered = r.json();
    assert_eq!(rendered.as_array().unwrap().len(), 5);
    assert!(out.join("slide-01.jpg").is_file());
    let listed = cli.as_user(ed, &["--json", "media", "list"]).json();
    assert_eq!(listed.as_array().unwrap().len(), 5);
    // A post without a TikTok privacy choice fails its checks: `post check` says why and exits 6.
    let slide = format!("{}=slide", rendered[0]["media"]["id"].as_str().unwrap());
    let post = cli.as_user(
        ed,
        &[
            "--json",
            "post",
            "new",
            "--title",
            "t",
            "--slide",
            &slide,
            "--target",
            "@sandbox.tiktok",
        ],
    );
    let id = post.json()["id"].as_str().unwrap().to_owned();
    let check = cli.as_user(ed, &["post", "check", &id]);
    assert_eq!(
        (check.code, check.error_code().as_deref()),
        (6, Some("quality-check-failed")),
        "{check:?}"
    );
    assert!(check.stdout.contains("tiktok-privacy"), "{}", check.stdout);
    let submit = cli.as_user(ed, &["--json", "post", "submit", &id]);
    let refusal: serde_json::Value = serde_json::from_str(submit.stderr.trim()).unwrap();
    assert_eq!(
        (submit.code, refusal["code"].as_str()),
        (6, Some("quality-check-failed"))
    );
    let findings = refusal["details"]["findings"]
        .as_array()
        .expect("the findings come along");
    assert!(findings.iter().any(|f| {
        f["code"]
            .as_str()
            .is_some_and(|c| c.starts_with("tiktok-privacy"))
    }));
    let fixed = cli.as_user(
        ed,
        &[
            "post",
            "edit",
            &id,
            "--target",
            "@sandbox.tiktok",
            "--privacy",
            "SELF_ONLY",
        ],
    );
    assert_eq!(fixed.code, 0, "{fixed:?}");
    assert_eq!(cli.as_user(ed, &["post", "check", &id]).code, 0);
    assert_eq!(cli.as_user(ed, &["post", "submit", &id]).code, 0);
    // The preview sheet of the post as TikTok will show it.
    let png = cli.cwd.join("preview.png");
    let r = cli.as_user(
        ed,
        &[
            "--json",
            "post",
            "preview",
            &id,
            "--platform",
            "tiktok",
            "--out",
            png.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let shown = r.json();
    assert_eq!(shown["width"], 1200);
    assert_eq!(shown["preview"]["account"], "@sandbox.tiktok");
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn the_simulator_runs_standalone_from_the_cli() {
    let sim = Server::start_bin("natronfx", &temp_dir(), &["sim", "--port", "0"]);
    let token = sim
        .banner
        .lines()
        .find(|l| l.contains("TikTok"))
        .and_then(|l| l.split("token ").nth(1))
        .map(|t| t.trim().to_owned())
        .expect("the banner prints the demo TikTok token");
    let base = sim.base_url.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (good, bad) = rt.block_on(async {
        let c = reqwest::Client::new();
        let url = format!("{base}/tiktok/v2/post/publish/creator_info/query/");
        let good: serde_json::Value = c
            .post(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let bad = c
            .post(&url)
            .bearer_auth("act.forged")
            .send()
            .await
            .unwrap()
            .status();
        (good, bad)
    });
    assert_eq!(good["error"]["code"], "ok", "{good}");
    assert!(
        good["data"]["privacy_level_options"]
            .as_array()
            .is_some_and(|o| !o.is_empty()),
        "{good}"
    );
    assert_eq!(bad.as_u16(), 401);
    assert!(sim.terminate().success());
}
