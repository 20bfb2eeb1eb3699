//! "Generate a background" in the slide editor, against the simulator's image endpoint: the image
//! alone becomes a 4:5 slide, text lines are rendered over it, both keep the AI label; with no image
//! key the form is shown switched off and a forged request is refused with the reason; a key an admin
//! seals into the vault (Admin → Vault, or `/api/v1/vault/secrets`) turns it on without a restart.

use natronfx_service::testing::TestApp;
use natronfx_service::workflow::Platform;
use natronfx_service::{ImagesSettings, PostInput, TargetInput};
use natronfx_sim::{SimConfig, SimHandle, Simulator};
use reqwest::StatusCode;
use secrecy::SecretString;

use crate::web::Page;

const KEY: &str = "sk-sim-editor-key";

both!(app:
    the_editor_generates_a_background_as_a_labelled_slide,
    a_key_stored_in_the_vault_turns_generation_on_while_the_server_runs,
);

/// A fresh simulator accepting [`KEY`], and settings pointing at it with no key of their own.
async fn image_sim() -> (SimHandle, ImagesSettings) {
    let sim = Simulator::start(SimConfig {
        openai_api_key: KEY.into(),
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let settings = ImagesSettings {
        base_url: sim.openai_base_url(),
        max_retries: 0,
        ..ImagesSettings::default()
    };
    (sim, settings)
}

async fn draft(app: &TestApp) -> String {
    app.service
        .create_post(
            &app.editor,
            PostInput {
                title: "Generated".into(),
                caption: "Morning #coffee".into(),
                targets: vec![TargetInput {
                    account: "@sandbox.instagram".into(),
                    caption: None,
                    options: Default::default(),
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id
        .to_string()
}

async fn the_editor_generates_a_background_as_a_labelled_slide(mut app: TestApp) {
    // Without a key the form is there but off, and a forged request says why.
    let plain = crate::spawn_on(TestApp::sqlite().await).await;
    let id = draft(&plain.app).await;
    let page = Page::login(&plain, "editor@example.com").await;
    let (_, html) = page.get(&format!("/posts/{id}/edit")).await;
    assert!(html.contains("Image generation is off"), "{html}");
    let (_, to) = page
        .post(
            &format!("/posts/{id}/generate"),
            &[("prompt", "a cup")],
            Some(page.csrf()),
        )
        .await;
    assert!(
        to.contains("image%20generation%20is%20not%20configured"),
        "{to}"
    );

    let (_sim, settings) = image_sim().await;
    let settings = ImagesSettings {
        api_key: Some(SecretString::from(KEY)),
        ..settings
    };
    app.service = app
        .service
        .clone()
        .with_images(settings.client().unwrap().expect("configured"));
    let s = crate::spawn_on(app).await;
    let id = draft(&s.app).await;
    let post_id = id.parse().unwrap();
    let page = Page::login(&s, "editor@example.com").await;
    let (status, html) = page.get(&format!("/posts/{id}/edit")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("action=\"/posts/"), "{html}");
    assert!(!html.contains("Image generation is off"), "{html}");

    // The image alone: one slide, fitted to Instagram's 4:5 portrait.
    let (status, to) = page
        .post(
            &format!("/posts/{id}/generate"),
            &[("prompt", "a steaming cup"), ("size", "1024x1536")],
            Some(page.csrf()),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(to.contains("notice=Generated%20slide%20added"), "{to}");
    let post = s.app.service.post(&s.app.editor, post_id).await.unwrap();
    assert_eq!(post.slides.len(), 1);
    let media = s
        .app
        .service
        .media(&s.app.editor, post.slides[0].media_id)
        .await
        .unwrap();
    assert_eq!((media.width, media.height), (1080, 1350));
    assert_eq!(s.app.service.generated_slides(&post).await.unwrap(), [true]);
    assert!(s.app.service.post_is_aigc(&post).await.unwrap());

    // Two lines of text over a new image: two more slides, still labelled.
    let (_, to) = page
        .post(
            &format!("/posts/{id}/generate"),
            &[
                ("prompt", "beans on a table"),
                ("size", "1024x1024"),
                ("lines", "Fresh roast\nThis Saturday"),
            ],
            Some(page.csrf()),
        )
        .await;
    assert!(to.contains("notice=2%20slides%20rendered"), "{to}");
    let post = s.app.service.post(&s.app.editor, post_id).await.unwrap();
    assert_eq!(
        s.app.service.generated_slides(&post).await.unwrap(),
        [true, true, true]
    );
    let findings = s
        .app
        .service
        .check_post(&s.app.editor, post_id)
        .await
        .unwrap();
    assert!(
        !findings
            .iter()
            .any(|f| f.is_error() && f.platform == Some(Platform::Instagram)),
        "{findings:?}"
    );

    // A prompt the image model refuses stores nothing and says so.
    let (_, to) = page
        .post(
            &format!("/posts/{id}/generate"),
            &[("prompt", "")],
            Some(page.csrf()),
        )
        .await;
    assert!(to.contains("error="), "{to}");
    let post = s.app.service.post(&s.app.editor, post_id).await.unwrap();
    assert_eq!(post.slides.len(), 3);

    // The same through the API, with the provenance to read back.
    let token = s.token(&s.app.editor).await;
    let (status, made) = s
        .call(
            "POST",
            "/api/v1/media/generate",
            Some(&token),
            Some(serde_json::json!({"prompt": "a harbour at dawn", "size": "1024x1536", "fit_to_slide": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let item = &made["items"][0];
    assert_eq!(
        (
            item["media"]["width"].as_i64(),
            item["media"]["height"].as_i64()
        ),
        (Some(1024), Some(1536))
    );
    assert_eq!(
        (
            item["slide"]["width"].as_i64(),
            item["slide"]["height"].as_i64()
        ),
        (Some(1080), Some(1350))
    );
    assert_eq!(item["provenance"]["prompt"], "a harbour at dawn");
    assert!(!made.to_string().contains(KEY), "the key never appears");
    let slide = item["slide"]["id"].as_str().unwrap();
    let (status, origin) = s
        .call(
            "GET",
            &format!("/api/v1/media/{slide}/provenance"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(origin["items"][0]["derived_from"], item["media"]["id"]);
    let (status, bad) = s
        .call(
            "POST",
            "/api/v1/media/generate",
            Some(&token),
            Some(serde_json::json!({"prompt": "x", "size": "999x999"})),
        )
        .await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid-input")),
        "{bad}"
    );
}

async fn a_key_stored_in_the_vault_turns_generation_on_while_the_server_runs(mut app: TestApp) {
    let (_sim, settings) = image_sim().await;
    let store: std::sync::Arc<dyn natronfx_service::store::CredentialStore> =
        app.service.store().clone();
    let keys =
        std::collections::BTreeMap::from([(1, natronfx_vault::KeyMaterial::generate().unwrap())]);
    let vault = natronfx_vault::Vault::new(store, natronfx_vault::Keyring::new(1, keys).unwrap());
    // The configuration says where the API is, and no key.
    app.service = app
        .service
        .clone()
        .with_images_settings(settings)
        .unwrap()
        .with_vault(vault);
    let s = crate::spawn_on(app).await;
    let id = draft(&s.app).await;
    let page = Page::login(&s, "editor@example.com").await;
    let (_, html) = page.get(&format!("/posts/{id}/edit")).await;
    assert!(html.contains("Image generation is off"), "{html}");
    assert!(html.contains("vault secret set images_api_key"), "{html}");

    // Admin → Vault: the key table, and the image key not set.
    let admin = Page::login(&s, "admin@example.com").await;
    let (status, html) = admin.get("/admin/vault").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("data-key=\"1\""), "{html}");
    assert!(html.contains("Not set"), "{html}");
    // An editor cannot seal one.
    let (_, to) = page
        .post(
            "/admin/vault/secrets/images_api_key",
            &[("value", KEY)],
            Some(page.csrf()),
        )
        .await;
    assert!(to.contains("error="), "{to}");
    assert!(
        s.app.service.system_secrets(&s.app.admin).await.unwrap()[0]
            .vault_key_id
            .is_none()
    );

    // The admin seals the key through the page while the server runs: generation is on at once.
    let (status, to) = admin
        .post(
            "/admin/vault/secrets/images_api_key",
            &[("value", KEY)],
            Some(admin.csrf()),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(to.contains("notice=Sealed%20images_api_key"), "{to}");
    let (_, html) = admin.get("/admin/vault").await;
    assert!(html.contains("In use: the value in the vault"), "{html}");
    assert!(!html.contains(KEY));
    let (_, html) = page.get(&format!("/posts/{id}/edit")).await;
    assert!(!html.contains("Image generation is off"), "{html}");
    let (status, to) = page
        .post(
            &format!("/posts/{id}/generate"),
            &[("prompt", "a steaming cup"), ("size", "1024x1536")],
            Some(page.csrf()),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(to.contains("notice=Generated%20slide%20added"), "{to}");
    let post = s
        .app
        .service
        .post(&s.app.editor, id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(s.app.service.generated_slides(&post).await.unwrap(), [true]);

    // The same over the API: listed without its value, replaced, removed.
    let token = s.token(&s.app.admin).await;
    let (status, listed) = s
        .call("GET", "/api/v1/vault/secrets", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["items"][0]["name"], "images_api_key");
    assert_eq!(listed["items"][0]["vault_key_id"], 1);
    assert!(!listed.to_string().contains(KEY));
    let (status, put) = s
        .call(
            "PUT",
            "/api/v1/vault/secrets/images_api_key",
            Some(&token),
            Some(serde_json::json!({"value": "sk-replaced-but-wrong"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{put}");
    assert!(!put.to_string().contains("sk-replaced"), "{put}");
    let (_, to) = page
        .post(
            &format!("/posts/{id}/generate"),
            &[("prompt", "a cup")],
            Some(page.csrf()),
        )
        .await;
    assert!(
        to.contains("error="),
        "the replaced key is the one sent: {to}"
    );
    let (status, gone) = s
        .call(
            "DELETE",
            "/api/v1/vault/secrets/images_api_key",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (status, &gone["removed"]),
        (StatusCode::OK, &serde_json::json!(true))
    );
    let (status, bad) = s
        .call(
            "PUT",
            "/api/v1/vault/secrets/openai",
            Some(&token),
            Some(serde_json::json!({"value": "x"})),
        )
        .await;
    assert_eq!(
        (status, &bad["code"]),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            &serde_json::json!("invalid-input")
        )
    );
    let (_, html) = page.get(&format!("/posts/{id}/edit")).await;
    assert!(html.contains("Image generation is off"), "{html}");
}
