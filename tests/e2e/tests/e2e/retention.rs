//! `natronfx retention run`, `natronfx export` and the filters of `natronfx audit list`, from the real
//! CLI on SQLite and PostgreSQL.

use natronfx_e2e::Cli;
use natronfx_store::testing::TestDb;
use natronfx_store::{MediaRecord, MediaSource};
use natronfx_workflow::MediaId;

use super::{new_post, team};

/// An upload nobody used, stored 40 days ago (past the 30 days unused uploads are kept).
async fn old_upload(db: &str) -> MediaId {
    let store = natronfx_store::connect(db).await.unwrap();
    let id = MediaId::random();
    let sha = format!("{:0>64}", id.as_uuid().simple().to_string());
    store
        .insert_media(&MediaRecord {
            id,
            key: format!("{sha}.jpg"),
            sha256: sha,
            bytes: 1_572_864,
            width: 1080,
            height: 1350,
            format: "jpeg".into(),
            source: MediaSource::Upload,
            created_by: None,
            created_at: chrono::Utc::now() - chrono::Duration::days(40),
        })
        .await
        .unwrap()
}

async fn media_exists(db: &str, id: MediaId) -> bool {
    let store = natronfx_store::connect(db).await.unwrap();
    store.media(id).await.is_ok()
}

fn retention_story(db: String, runtime: &tokio::runtime::Handle) {
    let cli: Cli = team(db.clone());
    let upload = runtime.block_on(old_upload(&db));
    let admin = |args: &[&str]| cli.as_user("admin@example.com", args);

    let refused = cli.as_user("ed@example.com", &["retention", "run", "--dry-run"]);
    assert_eq!(
        (refused.code, refused.error_code().as_deref()),
        (4, Some("permission-denied")),
        "{refused:?}"
    );
    let dry = admin(&["retention", "run", "--dry-run"]);
    assert_eq!(dry.code, 0, "{dry:?}");
    let media_line = dry
        .stdout
        .lines()
        .find(|l| l.starts_with("media "))
        .expect("a line for media");
    let cells: Vec<&str> = media_line.split_whitespace().collect();
    assert_eq!(
        cells,
        ["media", "30", "days", "1", "1572864", "1.5", "MiB"],
        "{dry:?}"
    );
    assert!(
        dry.stdout.contains("dry run: nothing was deleted"),
        "{dry:?}"
    );
    assert!(
        runtime.block_on(media_exists(&db, upload)),
        "a dry run deletes nothing"
    );

    let real = admin(&["--json", "retention", "run"]);
    assert_eq!(real.code, 0, "{real:?}");
    let report = real.json();
    assert_eq!(report["dry_run"], false);
    let media = report["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "media")
        .unwrap();
    assert_eq!(
        (&media["count"], &media["bytes"]),
        (&1.into(), &1_572_864.into())
    );
    assert!(
        !runtime.block_on(media_exists(&db, upload)),
        "the unused upload is gone"
    );

    let purged = admin(&["--json", "audit", "list", "--action", "retention-purged"]);
    assert_eq!(purged.code, 0, "{purged:?}");
    let purged = purged.json();
    assert_eq!(purged.as_array().unwrap().len(), 1);
    assert!(
        purged[0]["event"]["note"]
            .as_str()
            .unwrap()
            .contains("media 1 (1572864 bytes)"),
        "{purged}"
    );
    let verify = admin(&["audit", "verify"]);
    assert_eq!(verify.code, 0, "{verify:?}");

    // Export one post to a file, and everything to standard output.
    let post = new_post(&cli, "ed@example.com");
    let file = cli.cwd.join("export.json");
    let refused = cli.as_user(
        "ed@example.com",
        &["export", "--post", &post, "--out", file.to_str().unwrap()],
    );
    assert_eq!(refused.code, 4, "{refused:?}");
    let wrote = admin(&["export", "--post", &post, "--out", file.to_str().unwrap()]);
    assert_eq!(wrote.code, 0, "{wrote:?}");
    assert!(wrote.stdout.starts_with("wrote "), "{wrote:?}");
    let bundle: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(bundle["schema_version"], 1);
    assert_eq!(bundle["posts"][0]["id"], post.as_str());
    assert_eq!(bundle["media"].as_array().unwrap().len(), 2);
    let everything = admin(&["export", "--all", "--out", "-"]);
    assert_eq!(everything.code, 0, "{everything:?}");
    assert_eq!(everything.json()["scope"], "all");
    let neither = admin(&["export", "--out", "-"]);
    assert_eq!(
        neither.code, 2,
        "clap asks for --post or --all: {neither:?}"
    );

    // The log's filters: by action and actor, by record, by time.
    let exports = admin(&[
        "--json",
        "audit",
        "list",
        "--action",
        "data-exported",
        "--actor",
        "admin@example.com",
    ]);
    assert_eq!(exports.json().as_array().unwrap().len(), 2, "{exports:?}");
    let by_editor = admin(&[
        "--json",
        "audit",
        "list",
        "--action",
        "data-exported",
        "--actor",
        "ed@example.com",
    ]);
    assert!(by_editor.json().as_array().unwrap().is_empty());
    let about = admin(&[
        "--json",
        "audit",
        "list",
        "--kind",
        "post",
        "--subject",
        &post,
    ]);
    let about = about.json();
    assert_eq!(about[0]["event"]["action"], "post-created", "{about}");
    let page = admin(&["--json", "audit", "list", "--limit", "2"]);
    let page = page.json();
    let last = page[1]["seq"].as_i64().unwrap();
    let next = admin(&[
        "--json",
        "audit",
        "list",
        "--limit",
        "2",
        "--before",
        &last.to_string(),
    ]);
    assert!(
        next.json()[0]["seq"].as_i64().unwrap() < last,
        "pages go back in time"
    );
    let old = admin(&[
        "audit",
        "list",
        "--since",
        "2000-01-01",
        "--until",
        "2000-01-02",
    ]);
    assert!(old.stdout.contains("(none)"), "{old:?}");
    let bad = admin(&["audit", "list", "--action", "post-eaten"]);
    assert_eq!(
        (bad.code, bad.error_code().as_deref()),
        (6, Some("invalid-input")),
        "{bad:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_export_and_audit_filters_from_the_cli_on_sqlite() {
    let db = TestDb::sqlite();
    let url = db.url.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || retention_story(url, &runtime))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_export_and_audit_filters_from_the_cli_on_postgres() {
    let db = TestDb::postgres().await;
    let url = db.url.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || retention_story(url, &runtime))
        .await
        .unwrap();
}
