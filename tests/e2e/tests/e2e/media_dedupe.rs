//! `natronfx media generate` against the simulator started from the CLI, and `natronfx dedupe check` and
//! `rebuild` on a history the store says was published, on SQLite and PostgreSQL.

use natronfx_e2e::{Cli, Server};
use natronfx_store::testing::TestDb;
use natronfx_workflow::{PostState, TargetState};

use super::{fixture, photos, team, temp_dir};

/// A team whose config points image generation at a running simulator.
fn team_with_images(db: String, sim: &Server) -> (Cli, String) {
    let cli = team(db);
    let config = cli.cwd.join("natronfx.toml");
    std::fs::write(
        &config,
        format!(
            "[images]\napi_key = \"sk-sim\"\nbase_url = \"{}/openai\"\nmax_retries = 0\n",
            sim.base_url
        ),
    )
    .unwrap();
    (cli, config.display().to_string())
}

fn generate_story(db: String) {
    let sim = Server::start_bin("natronfx", &temp_dir(), &["sim", "--port", "0"]);
    let (cli, config) = team_with_images(db, &sim);
    let ed = |args: &[&str]| {
        let mut all = vec!["--config", config.as_str()];
        all.extend_from_slice(args);
        cli.as_user("ed@example.com", &all)
    };
    let made = ed(&[
        "--json",
        "media",
        "generate",
        "a cup of coffee on a brick wall",
        "--size",
        "1024x1536",
        "--quality",
        "medium",
        "--fit",
        "cover",
        "--focus",
        "0.5,0.3",
    ]);
    assert_eq!(made.code, 0, "{made:?}");
    assert!(
        !format!("{made:?}").contains("sk-sim"),
        "the key never shows"
    );
    let made = made.json();
    let first = &made[0];
    assert_eq!(first["media"]["source"], "generated");
    assert_eq!(
        (&first["media"]["width"], &first["media"]["height"]),
        (&serde_json::json!(1024), &serde_json::json!(1536))
    );
    assert_eq!(
        (&first["slide"]["width"], &first["slide"]["height"]),
        (&serde_json::json!(1080), &serde_json::json!(1350))
    );
    assert_eq!(
        first["provenance"]["prompt"],
        "a cup of coffee on a brick wall"
    );
    assert_eq!(first["provenance"]["model"], "gpt-image-1");
    assert_eq!(first["provenance"]["usage"]["output_tokens"], 1584);
    let slide = first["slide"]["id"].as_str().unwrap().to_owned();

    let shown = ed(&["--json", "media", "provenance", &slide]);
    assert_eq!(shown.code, 0, "{shown:?}");
    assert_eq!(shown.json()[0]["derived_from"], first["media"]["id"]);

    // A post with the generated slide and an uploaded photo says which slide is AI-generated.
    let upload = photos(&cli, "ed@example.com");
    let created = ed(&[
        "--json",
        "post",
        "new",
        "--title",
        "Generated",
        "--slide",
        &format!("{}=a photo", upload[0]),
        "--slide",
        &format!("{slide}=a generated cup"),
        "--target",
        "@sandbox.tiktok",
        "--privacy",
        "SELF_ONLY",
    ]);
    assert_eq!(created.code, 0, "{created:?}");
    assert_eq!(
        created.json()["generated_slides"],
        serde_json::json!([false, true])
    );
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let human = ed(&["post", "show", &id]);
    assert!(
        human.stdout.contains("a generated cup  (AI-generated)"),
        "{}",
        human.stdout
    );

    // A refused prompt is invalid input (exit 6) with its own code, in JSON too; nothing is stored.
    let blocked = ed(&["media", "generate", "a cup [[blocked]]"]);
    assert_eq!(
        (blocked.code, blocked.error_code().as_deref()),
        (6, Some("image-prompt-blocked")),
        "{blocked:?}"
    );
    let blocked = ed(&["--json", "media", "generate", "a cup [[blocked]]"]);
    let body: serde_json::Value = serde_json::from_str(blocked.stderr.trim()).unwrap();
    assert_eq!(body["code"], "image-prompt-blocked");
    let bad_size = ed(&["media", "generate", "a cup", "--size", "1080x1350"]);
    assert_eq!(bad_size.code, 6, "{bad_size:?}");
    let listed = ed(&["--json", "media", "list"]);
    assert_eq!(
        listed.json().as_array().unwrap().len(),
        4,
        "2 photos, 1 image, 1 slide"
    );

    // Without [images] there is nothing to call.
    let unconfigured = cli.as_user("ed@example.com", &["media", "generate", "a cup"]);
    assert_eq!(
        (unconfigured.code, unconfigured.error_code().as_deref()),
        (6, Some("invalid-config")),
        "{unconfigured:?}"
    );
    assert!(sim.terminate().success());
}

#[test]
fn images_are_generated_from_the_cli_on_sqlite() {
    let db = TestDb::sqlite();
    generate_story(db.url.clone());
}

#[tokio::test(flavor = "multi_thread")]
async fn images_are_generated_from_the_cli_on_postgres() {
    let db = TestDb::postgres().await;
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || generate_story(url))
        .await
        .unwrap();
}

/// Marks every target of a post published, as the dispatcher will once the platforms confirm.
async fn publish(db: &str, id: &str) {
    let store = natronfx_store::connect(db).await.unwrap();
    let post = store.post(id.parse().unwrap()).await.unwrap();
    let mut snap = post.snapshot().clone();
    for t in &mut snap.targets {
        t.state = TargetState::Published;
    }
    snap.state = PostState::Published;
    store.save_post(&snap, &[]).await.unwrap();
}

async fn dedupe_story(db: String) {
    let url = db.clone();
    let cli = tokio::task::spawn_blocking(move || team(url))
        .await
        .unwrap();
    let run = |who: &'static str, args: Vec<String>| {
        let cli = cli.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                cli.as_user(who, &args)
            })
            .await
            .unwrap()
        }
    };
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let media = {
        let cli = cli.clone();
        tokio::task::spawn_blocking(move || photos(&cli, "ed@example.com"))
            .await
            .unwrap()
    };
    let created = run(
        "ed@example.com",
        args(&[
            "--json",
            "post",
            "new",
            "--title",
            "Autumn",
            "--caption",
            "Autumn roast is back! #coffee",
            "--slide",
            &format!("{}=coffee", media[0]),
            "--slide",
            &format!("{}=a cat", media[1]),
            "--target",
            "@sandbox.instagram",
        ]),
    )
    .await;
    assert_eq!(created.code, 0, "{created:?}");
    let first = created.json()["id"].as_str().unwrap().to_owned();
    publish(&db, &first).await;

    let coffee = fixture("photos/coffee.png");
    let check = args(&["--json", "dedupe", "check", &coffee]);
    let before = run("ed@example.com", check.clone()).await;
    assert_eq!(before.code, 0, "{before:?}");
    assert_eq!(
        before.json()["matches"],
        serde_json::json!([]),
        "no fingerprints yet"
    );

    let refused = run("ed@example.com", args(&["dedupe", "rebuild"])).await;
    assert_eq!(
        (refused.code, refused.error_code().as_deref()),
        (4, Some("permission-denied"))
    );
    let rebuilt = run("admin@example.com", args(&["--json", "dedupe", "rebuild"])).await;
    assert_eq!(rebuilt.code, 0, "{rebuilt:?}");
    assert_eq!(rebuilt.json()["recorded"], 1);
    let human = run("admin@example.com", args(&["dedupe", "rebuild"])).await;
    assert!(
        human
            .stdout
            .contains("1 published targets: 1 fingerprints recorded, 0 skipped"),
        "{human:?}"
    );

    let after = run("ed@example.com", check).await.json();
    let m = &after["matches"][0];
    assert_eq!(m["post_id"], first.as_str());
    assert_eq!(m["account"], "@sandbox.instagram");
    assert_eq!(m["slides"][0]["theirs"], 1);
    let human = run("ed@example.com", args(&["dedupe", "check", &coffee])).await;
    assert!(
        human
            .stdout
            .contains("1 match for 1 image within distance 8"),
        "{human:?}"
    );
    assert!(human.stdout.contains("@sandbox.instagram"), "{human:?}");
    assert!(human.stdout.contains("1→1 (distance 0)"), "{human:?}");

    // A second post with the same cat and caption: checked by its id.
    let second = run(
        "ed@example.com",
        args(&[
            "--json",
            "post",
            "new",
            "--title",
            "Again",
            "--caption",
            "autumn ROAST is back #coffee",
            "--slide",
            &format!("{}=a cat", media[1]),
            "--target",
            "@sandbox.facebook",
        ]),
    )
    .await;
    let second = second.json()["id"].as_str().unwrap().to_owned();
    let report = run(
        "ed@example.com",
        args(&["--json", "dedupe", "check", &second]),
    )
    .await;
    assert_eq!(report.code, 0, "{report:?}");
    let m = &report.json()["matches"][0];
    assert_eq!(m["post_id"], first.as_str());
    assert_eq!(m["same_caption"], true);
    assert_eq!(m["slides"][0]["theirs"], 2);

    let neither = run(
        "ed@example.com",
        args(&["dedupe", "check", "no-such-thing"]),
    )
    .await;
    assert_eq!(neither.code, 6, "{neither:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicates_are_checked_and_rebuilt_from_the_cli_on_sqlite() {
    let db = TestDb::sqlite();
    dedupe_story(db.url.clone()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicates_are_checked_and_rebuilt_from_the_cli_on_postgres() {
    let db = TestDb::postgres().await;
    dedupe_story(db.url.clone()).await;
}
