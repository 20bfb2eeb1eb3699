//! AI images: generated through the simulated OpenAI Images API, kept with their provenance, fitted to
//! slides that pass Instagram's checks, and labelled on every post that shows them.

use natronfx_platforms::{ImageQuality, ImageSize};
use natronfx_service::Clock as _;
use natronfx_service::testing::TestApp;
use natronfx_service::workflow::{PostId, TargetOptions};
use natronfx_service::{
    ErrorKind, GenerateRequest, ImagesSettings, PostInput, Service, SlideFit, SlideInput,
    SystemSecret, TargetInput,
};
use natronfx_sim::{Endpoint, Fault, SimConfig, SimHandle, Simulator};
use secrecy::SecretString;

use crate::fixture;

const KEY: &str = "sk-sim-secret-5b1f0c9e77";

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
    generated_portraits_become_labelled_media_whose_fitted_slides_pass_instagram,
    slides_made_from_generated_images_stay_labelled,
    refused_generations_store_nothing_and_never_show_the_key,
    an_image_key_kept_in_the_vault_generates_is_sealed_rotated_and_never_shown,
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

/// The app's service generating through a fresh simulator, with the key in its configuration.
async fn with_images(app: &TestApp) -> (Service, SimHandle) {
    let (sim, settings) = image_sim().await;
    let settings = ImagesSettings {
        api_key: Some(SecretString::from(KEY)),
        ..settings
    };
    let client = settings.client().unwrap().expect("configured");
    (app.service.clone().with_images(client), sim)
}

async fn post(s: &Service, app: &TestApp, slides: &[String]) -> PostId {
    let input = PostInput {
        title: "Generated backgrounds".into(),
        caption: "Autumn roast #coffee".into(),
        hashtags: vec![],
        slides: slides
            .iter()
            .map(|id| SlideInput {
                media_id: id.clone(),
                alt_text: "a cup of coffee".into(),
            })
            .collect(),
        targets: vec![
            TargetInput {
                account: "@sandbox.instagram".into(),
                caption: None,
                options: Default::default(),
            },
            TargetInput {
                account: "@sandbox.tiktok".into(),
                caption: None,
                options: TargetOptions {
                    privacy_level: Some("SELF_ONLY".into()),
                    ..Default::default()
                },
            },
        ],
    };
    s.create_post(&app.editor, input).await.unwrap().id
}

async fn generated_portraits_become_labelled_media_whose_fitted_slides_pass_instagram(
    app: TestApp,
) {
    let (s, _sim) = with_images(&app).await;
    let request = GenerateRequest {
        quality: ImageQuality::Medium,
        n: 2,
        fit: Some(SlideFit::default()),
        ..GenerateRequest::new("a cup of coffee on a brick wall", ImageSize::Portrait)
    };
    let made = s.generate_media(&app.editor, request).await.unwrap();
    assert_eq!(made.len(), 2);
    for g in &made {
        assert_eq!(
            (
                g.media.width,
                g.media.height,
                g.media.format.as_str(),
                g.media.source.as_str()
            ),
            (1024, 1536, "jpeg", "generated"),
            "ingested like an upload"
        );
        let slide = g.slide.as_ref().expect("fitted to the canvas");
        assert_eq!(
            (slide.width, slide.height, slide.source.as_str()),
            (1080, 1350, "generated")
        );
        let p = &g.provenance;
        assert_eq!(
            (p.model.as_str(), p.prompt.as_str(), p.size.as_str()),
            (
                "gpt-image-1",
                "a cup of coffee on a brick wall",
                "1024x1536"
            )
        );
        assert_eq!(p.usage["output_tokens"], 2 * 1584, "the request's usage");
        assert_eq!(p.requested_by, Some(app.editor.id));
        assert_eq!(p.requested_at, app.clock.now());
        let of_slide = s.media_provenance(&app.viewer, slide.id).await.unwrap();
        assert_eq!(of_slide[0].derived_from, Some(g.media.id));
    }
    assert_ne!(made[0].media.id, made[1].media.id);
    let audit = s.recent_audit(&app.admin, 5).await.unwrap();
    let event = audit
        .iter()
        .find(|e| e.event.action.as_str() == "media-generated")
        .expect("audited");
    assert_eq!(event.event.actor, Some(app.editor.id));
    assert!(
        event
            .event
            .note
            .as_deref()
            .unwrap_or("")
            .contains("gpt-image-1 1024x1536"),
        "{:?}",
        event.event.note
    );

    // The portrait as the model made it is narrower than 4:5: Instagram would refuse it.
    let raw: Vec<String> = made.iter().map(|g| g.media.id.to_string()).collect();
    let raw_post = post(&s, &app, &raw).await;
    let findings = s.check_post(&app.editor, raw_post).await.unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f.is_error()
                && f.platform.map(|p| p.to_string()).as_deref() == Some("instagram")),
        "{findings:#?}"
    );

    // Fitted to the portrait canvas it passes every check, and the post can go to review.
    let fitted: Vec<String> = made
        .iter()
        .map(|g| g.slide.as_ref().unwrap().id.to_string())
        .collect();
    let id = post(&s, &app, &fitted).await;
    let findings = s.check_post(&app.editor, id).await.unwrap();
    assert!(
        !natronfx_service::workflow::blocks(&findings),
        "{findings:#?}"
    );
    s.submit_post(&app.editor, id).await.unwrap();

    // Publishing labels it: every slide is generated.
    let view = s.post_view(&app.viewer, id).await.unwrap();
    assert_eq!(view.generated_slides, Some(vec![true, true]));
    let json = serde_json::to_value(&view).unwrap();
    assert_eq!(json["generated_slides"], serde_json::json!([true, true]));
    let stored = s.post(&app.viewer, id).await.unwrap();
    assert!(s.post_is_aigc(&stored).await.unwrap());

    // One uploaded photo and one generated slide: only the second is generated, the post still is.
    let upload = s
        .add_media(
            &app.editor,
            std::fs::read(fixture("photos/coffee.png")).unwrap(),
        )
        .await
        .unwrap();
    let mixed = post(&s, &app, &[upload.id.to_string(), fitted[0].clone()]).await;
    let view = s.post_view(&app.viewer, mixed).await.unwrap();
    assert_eq!(view.generated_slides, Some(vec![false, true]));
    let only_upload = post(&s, &app, &[upload.id.to_string()]).await;
    let stored = s.post(&app.viewer, only_upload).await.unwrap();
    assert!(!s.post_is_aigc(&stored).await.unwrap());
    assert!(
        s.media_provenance(&app.viewer, upload.id)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn slides_made_from_generated_images_stay_labelled(app: TestApp) {
    let (s, _sim) = with_images(&app).await;
    let made = s
        .generate_media(
            &app.editor,
            GenerateRequest::new("a lighthouse at dusk", ImageSize::Portrait),
        )
        .await
        .unwrap();
    let generated = made[0].media.id;
    assert!(made[0].slide.is_none(), "no fit asked");

    // `post fix` crops it for Instagram: the variant is a rendered image that keeps the label.
    let id = post(&s, &app, &[generated.to_string(), generated.to_string()]).await;
    let (fixed, _) = s
        .fix_post_images(
            &app.editor,
            id,
            natronfx_service::workflow::Platform::Instagram,
        )
        .await
        .unwrap();
    let variant = fixed.slides[0].media_id;
    assert_ne!(variant, generated);
    let shown = s.media(&app.viewer, variant).await.unwrap();
    assert_eq!(shown.source, "rendered");
    assert_eq!(
        s.media_provenance(&app.viewer, variant).await.unwrap()[0].derived_from,
        Some(generated)
    );
    assert_eq!(
        s.post_view(&app.viewer, id).await.unwrap().generated_slides,
        Some(vec![true, true])
    );

    // A carousel rendered over it, with text: still made from a generated image.
    let spec = natronfx_media::CarouselSpec::from_toml_str(&format!(
        r##"
        canvas = "portrait"
        [[slides]]
        background = {{ type = "image", media = "{generated}", focus = {{ x = 0.5, y = 0.3 }} }}
        text = [ {{ role = "title", text = "Lights on" }} ]
        [[slides]]
        background = {{ type = "solid", color = "#224466" }}
        text = [ {{ role = "title", text = "Plain" }} ]
        "##
    ))
    .unwrap();
    let rendered = s
        .render_media(&app.editor, spec, Default::default(), |_, _| {})
        .await
        .unwrap();
    assert_eq!((rendered[0].width, rendered[0].height), (1080, 1350));
    let carousel = post(
        &s,
        &app,
        &[rendered[0].id.to_string(), rendered[1].id.to_string()],
    )
    .await;
    assert_eq!(
        s.post_view(&app.viewer, carousel)
            .await
            .unwrap()
            .generated_slides,
        Some(vec![true, false])
    );

    // Fitting on demand: a generated image stays labelled, an upload does not become labelled.
    let fitted = s
        .fit_media(&app.editor, generated, SlideFit::default())
        .await
        .unwrap();
    assert_eq!((fitted.width, fitted.height), (1080, 1350));
    assert!(
        !s.media_provenance(&app.viewer, fitted.id)
            .await
            .unwrap()
            .is_empty()
    );
    let upload = s
        .add_media(
            &app.editor,
            std::fs::read(fixture("photos/chelsea.png")).unwrap(),
        )
        .await
        .unwrap();
    let plain = s
        .fit_media(&app.editor, upload.id, SlideFit::default())
        .await
        .unwrap();
    assert!(
        s.media_provenance(&app.viewer, plain.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(plain.source, "rendered");
}

async fn refused_generations_store_nothing_and_never_show_the_key(app: TestApp) {
    let (s, sim) = with_images(&app).await;
    let blocked = format!("a cup {}", natronfx_sim::BLOCKED_PROMPT_MARKER);
    let err = s
        .generate_media(
            &app.editor,
            GenerateRequest::new(blocked, ImageSize::Square),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.kind()),
        ("image-prompt-blocked", ErrorKind::InvalidInput)
    );
    assert!(err.to_string().contains("rephrase"), "{err}");

    sim.push_fault(Endpoint::OpenaiImages, Fault::InsufficientQuota);
    let err = s
        .generate_media(
            &app.editor,
            GenerateRequest::new("a cup", ImageSize::Square),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "image-quota-exhausted");

    sim.push_fault(
        Endpoint::OpenaiImages,
        Fault::Throttled {
            retry_after: Some(std::time::Duration::from_secs(12)),
        },
    );
    let err = s
        .generate_media(
            &app.editor,
            GenerateRequest::new("a cup", ImageSize::Square),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.kind()),
        ("image-rate-limited", ErrorKind::Conflict)
    );
    assert!(err.to_string().contains("12.0 s"), "{err}");

    let err = s
        .generate_media(
            &app.viewer,
            GenerateRequest::new("a cup", ImageSize::Square),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "permission-denied");
    let err = app
        .service
        .generate_media(
            &app.editor,
            GenerateRequest::new("a cup", ImageSize::Square),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.kind()),
        ("invalid-config", ErrorKind::InvalidInput),
        "no [images] api_key"
    );
    let empty = GenerateRequest::new("  ", ImageSize::Square);
    assert_eq!(
        s.generate_media(&app.editor, empty)
            .await
            .unwrap_err()
            .code(),
        "image-request-invalid"
    );
    assert!(
        s.list_media(&app.viewer, 10).await.unwrap().is_empty(),
        "refusals store nothing"
    );

    // The key is a secret: not in the settings' Debug, not in any error.
    let settings = ImagesSettings {
        api_key: Some(SecretString::from(KEY)),
        ..ImagesSettings::default()
    };
    assert!(!format!("{settings:?}").contains(KEY));
    assert!(!format!("{s:?}").contains(KEY));
    let mut wrong = ImagesSettings {
        api_key: Some(SecretString::from("sk-wrong-key-9a8b7c6d")),
        base_url: sim.openai_base_url(),
        ..ImagesSettings::default()
    };
    wrong.max_retries = 0;
    let err = app
        .service
        .clone()
        .with_images(wrong.client().unwrap().unwrap())
        .generate_media(
            &app.editor,
            GenerateRequest::new("a cup", ImageSize::Square),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "image-api-key-invalid");
    assert!(!format!("{err} {err:?}").contains("sk-wrong-key"));
}

/// A vault over the app's database with these keys, `primary` sealing.
fn vault_on(
    app: &TestApp,
    keys: &std::collections::BTreeMap<u32, natronfx_vault::KeyMaterial>,
    primary: u32,
) -> natronfx_vault::Vault {
    let store: std::sync::Arc<dyn natronfx_service::store::CredentialStore> =
        app.service.store().clone();
    natronfx_vault::Vault::new(
        store,
        natronfx_vault::Keyring::new(primary, keys.clone()).expect("keyring"),
    )
}

async fn an_image_key_kept_in_the_vault_generates_is_sealed_rotated_and_never_shown(app: TestApp) {
    // No key in the configuration: only where the API is.
    let (_sim, settings) = image_sim().await;
    let keys = std::collections::BTreeMap::from([
        (1, natronfx_vault::KeyMaterial::generate().unwrap()),
        (2, natronfx_vault::KeyMaterial::generate().unwrap()),
    ]);
    let on_key = |primary: u32| {
        app.service
            .clone()
            .with_images_settings(settings.clone())
            .unwrap()
            .with_vault(vault_on(&app, &keys, primary))
    };
    let s = on_key(1);
    let ask = || GenerateRequest::new("a cup of coffee", ImageSize::Square);
    assert!(!s.can_generate_images().await);
    let err = s.generate_media(&app.editor, ask()).await.unwrap_err();
    assert_eq!(err.code(), "invalid-config");
    assert!(
        err.to_string().contains("vault secret set images_api_key"),
        "{err}"
    );

    // Only admins store it, and an empty value or a pasted file is refused.
    let key = SecretString::from(format!("  {KEY}\n"));
    let err = s
        .store_system_secret(&app.editor, SystemSecret::ImagesApiKey, &key)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "permission-denied");
    for bad in ["   ", "line one\nline two"] {
        let err = s
            .store_system_secret(
                &app.admin,
                SystemSecret::ImagesApiKey,
                &SecretString::from(bad),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "invalid-input", "{bad:?}");
    }
    assert_eq!(
        "images-api-key".parse::<SystemSecret>().unwrap(),
        SystemSecret::ImagesApiKey
    );
    assert_eq!(
        "openai".parse::<SystemSecret>().unwrap_err().code(),
        "invalid-input"
    );

    s.store_system_secret(&app.admin, SystemSecret::ImagesApiKey, &key)
        .await
        .unwrap();
    assert!(s.can_generate_images().await);
    let status = s.system_secrets(&app.admin).await.unwrap();
    assert_eq!(status.len(), 1);
    assert_eq!(
        (
            status[0].name,
            status[0].in_configuration,
            status[0].vault_key_id
        ),
        ("images_api_key", false, Some(1))
    );
    assert_eq!(
        s.system_secrets(&app.viewer).await.unwrap_err().code(),
        "permission-denied"
    );

    // The simulator accepts only the right bearer key: the stored one (trimmed) is sent.
    let made = s.generate_media(&app.editor, ask()).await.unwrap();
    assert_eq!(made.len(), 1);
    // Another process on the same database reads it too, without a restart.
    assert!(on_key(1).can_generate_images().await);

    // Sealed at rest; neither the audit log nor any view or error shows it.
    let row = s.store().service_secret("images_api_key").await.unwrap();
    assert!(
        !row.ciphertext
            .windows(KEY.len())
            .any(|w| w == KEY.as_bytes())
    );
    let audit = s.recent_audit(&app.admin, 20).await.unwrap();
    let stored = audit
        .iter()
        .find(|e| e.event.action.as_str() == "secret-stored")
        .expect("audited");
    assert_eq!(
        (stored.event.actor, stored.event.subject_id.as_str()),
        (Some(app.admin.id), "images_api_key")
    );
    let shown = format!(
        "{audit:?} {status:?} {s:?} {}",
        serde_json::to_string(&status).unwrap()
    );
    assert!(!shown.contains(KEY));

    // A rotation re-seals it under the new primary key; the old key can then go.
    let rotated = on_key(2);
    let report = rotated
        .rotate_vault(&app.admin, 10, |_| std::ops::ControlFlow::Continue(()))
        .await
        .unwrap();
    assert_eq!((report.resealed, report.remaining), (1, 0), "{report:?}");
    let only_new = app
        .service
        .clone()
        .with_images_settings(settings.clone())
        .unwrap()
        .with_vault(vault_on(
            &app,
            &keys
                .iter()
                .filter(|(id, _)| **id == 2)
                .map(|(id, k)| (*id, k.clone()))
                .collect(),
            2,
        ));
    assert_eq!(
        only_new
            .generate_media(&app.editor, ask())
            .await
            .unwrap()
            .len(),
        1
    );

    // A key set in the configuration takes precedence over the vault's.
    let wrong = SecretString::from("sk-wrong-key-in-the-vault-42");
    rotated
        .store_system_secret(&app.admin, SystemSecret::ImagesApiKey, &wrong)
        .await
        .unwrap();
    let err = rotated
        .generate_media(&app.editor, ask())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "image-api-key-invalid");
    assert!(!format!("{err} {err:?}").contains("sk-wrong-key"));
    let configured = app
        .service
        .clone()
        .with_images_settings(ImagesSettings {
            api_key: Some(SecretString::from(KEY)),
            ..settings.clone()
        })
        .unwrap()
        .with_vault(vault_on(&app, &keys, 2));
    assert!(configured.system_secrets(&app.admin).await.unwrap()[0].in_configuration);
    assert_eq!(
        configured
            .generate_media(&app.editor, ask())
            .await
            .unwrap()
            .len(),
        1
    );

    // Removed: generation is off again, and the removal is audited once.
    assert!(
        rotated
            .remove_system_secret(&app.admin, SystemSecret::ImagesApiKey)
            .await
            .unwrap()
    );
    assert!(
        !rotated
            .remove_system_secret(&app.admin, SystemSecret::ImagesApiKey)
            .await
            .unwrap()
    );
    assert!(!rotated.can_generate_images().await);
    let removals = rotated
        .recent_audit(&app.admin, 50)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.event.action.as_str() == "secret-removed")
        .count();
    assert_eq!(removals, 1);
    // Without a vault there is nothing to store it in.
    assert_eq!(
        app.service
            .store_system_secret(&app.admin, SystemSecret::ImagesApiKey, &key)
            .await
            .unwrap_err()
            .code(),
        "vault-not-configured"
    );
}
