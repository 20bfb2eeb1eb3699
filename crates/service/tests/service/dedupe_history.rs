//! `dedupe check` and `dedupe rebuild` as the CLI calls them: an image or a post against the publishing
//! history, and the history recomputed from what the store says was published.

use natronfx_service::testing::TestApp;
use natronfx_service::workflow::{PostId, PostState, TargetState};
use natronfx_service::{MediaView, PostInput, Service, SlideInput, TargetInput};

use crate::fixture;

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(natronfx_service::testing::TestApp::sqlite().await).await; })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(natronfx_service::testing::TestApp::postgres().await).await; })*
        }
    };
}

both_backends!(
    an_image_or_a_post_is_checked_against_everything_published,
    rebuild_fingerprints_what_the_store_says_was_published,
);

async fn upload(s: &Service, app: &TestApp, name: &str) -> MediaView {
    s.add_media(&app.editor, std::fs::read(fixture(name)).unwrap())
        .await
        .unwrap()
}

/// The same picture re-exported: decoded and encoded again as PNG.
fn reexported(name: &str) -> Vec<u8> {
    let img = image::load_from_memory(&std::fs::read(fixture(name)).unwrap()).unwrap();
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

async fn post(
    s: &Service,
    app: &TestApp,
    caption: &str,
    media: &[&MediaView],
    accounts: &[&str],
) -> PostId {
    let input = PostInput {
        title: format!("Post: {caption}"),
        caption: caption.into(),
        hashtags: vec![],
        slides: media
            .iter()
            .map(|m| SlideInput {
                media_id: m.id.to_string(),
                alt_text: "photo".into(),
            })
            .collect(),
        targets: accounts
            .iter()
            .map(|a| TargetInput {
                account: (*a).into(),
                caption: None,
                options: Default::default(),
            })
            .collect(),
    };
    s.create_post(&app.editor, input).await.unwrap().id
}

async fn an_image_or_a_post_is_checked_against_everything_published(app: TestApp) {
    let s = &app.service;
    let coffee = upload(s, &app, "photos/coffee.png").await;
    let cat = upload(s, &app, "photos/chelsea.png").await;
    let first = post(
        s,
        &app,
        "Autumn roast is back! #coffee",
        &[&coffee, &cat],
        &["@sandbox.instagram"],
    )
    .await;
    let stored = s.post(&app.editor, first).await.unwrap();
    s.record_published(&stored, stored.targets[0].id)
        .await
        .unwrap();

    // The coffee photo, re-exported, matches slide 1 of the first post.
    let report = s
        .dedupe_check_image(&app.viewer, reexported("photos/coffee.png"), None)
        .await
        .unwrap();
    assert_eq!((report.checked_slides, report.radius), (1, 8));
    assert_eq!(report.matches.len(), 1, "{report:#?}");
    let m = &report.matches[0];
    assert_eq!(m.post_id, first);
    assert_eq!(
        m.post_title.as_deref(),
        Some("Post: Autumn roast is back! #coffee")
    );
    assert_eq!(m.account, "@sandbox.instagram");
    assert_eq!(m.published_at.date_naive().to_string(), "2026-12-01");
    assert_eq!((m.slides[0].ours, m.slides[0].theirs), (1, 1));
    assert!(m.slides[0].distance <= 8);
    assert_eq!(m.caption_similarity, None, "an image has no caption");

    // An unrelated photo matches nothing.
    let report = s
        .dedupe_check_image(&app.viewer, reexported("photos/rocket.jpg"), None)
        .await
        .unwrap();
    assert!(report.matches.is_empty(), "{report:#?}");

    // A new post with the cat first and the same caption in other case, to another account: the check
    // looks across every account and says which slides and how similar the caption is.
    let again = upload(s, &app, "photos/grass.png").await;
    let second = post(
        s,
        &app,
        "AUTUMN roast is back!  #Coffee",
        &[&cat, &again],
        &["@sandbox.facebook"],
    )
    .await;
    let report = s
        .dedupe_check_post(&app.viewer, second, None)
        .await
        .unwrap();
    assert_eq!(report.checked_slides, 2);
    assert_eq!(report.matches.len(), 1, "{report:#?}");
    let m = &report.matches[0];
    assert_eq!(m.post_id, first);
    assert_eq!(m.slides.len(), 1);
    assert_eq!(
        (m.slides[0].ours, m.slides[0].theirs, m.slides[0].distance),
        (1, 2, 0)
    );
    assert!(m.same_caption);
    assert_eq!(m.caption_similarity, Some(100));

    // A post is not its own duplicate.
    let report = s.dedupe_check_post(&app.viewer, first, None).await.unwrap();
    assert!(report.matches.is_empty(), "{report:#?}");

    let err = s
        .dedupe_check_image(&app.viewer, b"not an image".to_vec(), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "unsupported-image-format");
}

/// Marks targets as the dispatcher would once the platforms confirmed them.
async fn publish(s: &Service, id: PostId, live: &[&str]) {
    let store = s.store();
    let post = store.post(id).await.unwrap();
    let accounts = store.list_accounts().await.unwrap();
    let mut snap = post.snapshot().clone();
    for t in &mut snap.targets {
        let name = &accounts
            .iter()
            .find(|a| a.id == t.account_id)
            .unwrap()
            .display_name;
        t.state = if live.contains(&name.as_str()) {
            TargetState::Published
        } else {
            TargetState::Failed
        };
    }
    snap.state = if snap
        .targets
        .iter()
        .all(|t| t.state == TargetState::Published)
    {
        PostState::Published
    } else {
        PostState::PartiallyPublished
    };
    store.save_post(&snap, &[]).await.unwrap();
}

async fn rebuild_fingerprints_what_the_store_says_was_published(app: TestApp) {
    let s = &app.service;
    let coffee = upload(s, &app, "photos/coffee.png").await;
    let cat = upload(s, &app, "photos/chelsea.png").await;
    let rocket = upload(s, &app, "photos/rocket.jpg").await;
    let both = post(
        s,
        &app,
        "Roast day",
        &[&coffee],
        &["@sandbox.instagram", "@sandbox.tiktok"],
    )
    .await;
    let half = post(
        s,
        &app,
        "Cat day",
        &[&cat],
        &["@sandbox.instagram", "@sandbox.facebook"],
    )
    .await;
    let draft = post(s, &app, "Rocket day", &[&rocket], &["@sandbox.instagram"]).await;
    publish(s, both, &["@sandbox.instagram", "@sandbox.tiktok"]).await;
    publish(s, half, &["@sandbox.facebook"]).await;

    // Nothing was recorded as it published (it predates fingerprints): nothing is found.
    let before = s
        .dedupe_check_image(&app.viewer, reexported("photos/coffee.png"), None)
        .await
        .unwrap();
    assert!(before.matches.is_empty());

    let err = s.dedupe_rebuild(&app.editor, |_, _| {}).await.unwrap_err();
    assert_eq!(err.code(), "permission-denied");

    let mut steps = Vec::new();
    let report = s
        .dedupe_rebuild(&app.admin, |done, total| steps.push((done, total)))
        .await
        .unwrap();
    assert_eq!((report.targets, report.recorded), (3, 3), "{report:#?}");
    assert!(report.skipped.is_empty());
    assert_eq!(steps.first(), Some(&(0, 3)));
    assert_eq!(steps.last(), Some(&(3, 3)));

    let coffee_hits = s
        .dedupe_check_image(&app.viewer, reexported("photos/coffee.png"), None)
        .await
        .unwrap();
    let mut accounts: Vec<_> = coffee_hits
        .matches
        .iter()
        .map(|m| m.account.clone())
        .collect();
    accounts.sort();
    assert_eq!(accounts, ["@sandbox.instagram", "@sandbox.tiktok"]);
    let cat_hits = s
        .dedupe_check_image(&app.viewer, reexported("photos/chelsea.png"), None)
        .await
        .unwrap();
    assert_eq!(cat_hits.matches.len(), 1, "only the target that went out");
    assert_eq!(cat_hits.matches[0].account, "@sandbox.facebook");
    let rocket_hits = s
        .dedupe_check_image(&app.viewer, reexported("photos/rocket.jpg"), None)
        .await
        .unwrap();
    assert!(
        rocket_hits.matches.is_empty(),
        "a draft was never published: {draft}"
    );

    // Again: the same fingerprints are replaced, not added; a post whose image is gone is skipped
    // with the reason, and its old fingerprint stays.
    let media_file = app.media_root.join(&coffee.key[..2]).join(&coffee.key);
    std::fs::remove_file(media_file).unwrap();
    let report = s.dedupe_rebuild(&app.admin, |_, _| {}).await.unwrap();
    assert_eq!((report.targets, report.recorded), (3, 1), "{report:#?}");
    assert_eq!(report.skipped.len(), 2);
    assert!(report.skipped.iter().all(|k| k.post_id == both));
    assert!(
        report.skipped[0].reason.contains("not found"),
        "{}",
        report.skipped[0].reason
    );
    let fingerprints = s.store().fingerprints_after(0, 100).await.unwrap();
    assert_eq!(fingerprints.len(), 3);

    let audit = s.recent_audit(&app.admin, 3).await.unwrap();
    assert_eq!(audit[0].event.action.as_str(), "fingerprints-rebuilt");
    assert_eq!(
        audit[0].event.note.as_deref(),
        Some("3 published targets, 1 fingerprints recorded, 2 skipped")
    );
}
