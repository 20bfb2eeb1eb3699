//! The WordPress media store: against `wiremock` with the reference's request and response pairs, and
//! against a real WordPress when `WP_URL` names one.
//!
//! The real half needs a site: `tests/wordpress` starts one (`../shared/tools/wordpress-up`) and runs this
//! suite with `WP_URL`, `WP_USER` and `WP_APP_PASSWORD` set. Without `WP_URL` those tests say they were
//! skipped and pass; with it, any misbehaviour of the site fails them.

use std::sync::atomic::{AtomicU32, Ordering};

use base64::Engine;
use image::{Rgb, RgbImage};
use natronfx_media::{
    EncodedImage, MediaKey, MediaStore, MediaStoreConfig, PutOutcome, WordPressConfig,
    WordPressStore, store_image,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PASSWORD: &str = "abcd EFGH 1234 ijkl MNOP 5678";

/// A JPEG no other test (or run) stores: WordPress keeps one library for every test.
fn unique_image() -> EncodedImage {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        ^ (u128::from(std::process::id()) << 64)
        ^ u128::from(COUNTER.fetch_add(1, Ordering::Relaxed));
    let bytes = nonce.to_le_bytes();
    let img = RgbImage::from_fn(96, 64, |x, y| {
        let i = ((x / 6) as usize + (y / 8) as usize * 16) % 16;
        Rgb([bytes[i], bytes[(i + 5) % 16], (x * 2 + y) as u8])
    });
    natronfx_media::ingest::encode_jpeg(&img, 90).unwrap()
}

fn config(url: String, pretty: bool) -> WordPressConfig {
    WordPressConfig {
        url,
        username: "natron".into(),
        application_password: SecretString::from(PASSWORD),
        pretty_permalinks: pretty,
        timeout_secs: 5,
    }
}

/// The attachment WordPress answers an upload with (reference 5.3), for `key` at `uploads/2026/09/`.
fn attachment(server: &str, id: u64, key: &MediaKey, original_image: Option<&str>) -> Value {
    let file = match original_image {
        Some(_) => format!("{}-scaled.jpg", key.sha256()),
        None => key.to_string(),
    };
    let mut details = json!({
        "width": 96, "height": 64, "file": format!("2026/09/{file}"), "filesize": 2048,
        "sizes": {}, "image_meta": {"aperture": "0", "credit": "", "camera": "", "caption": "", "created_timestamp": "0",
            "copyright": "", "focal_length": "0", "iso": "0", "shutter_speed": "0", "title": "", "orientation": "0", "keywords": []}
    });
    if let Some(original) = original_image {
        details["original_image"] = json!(original);
    }
    json!({
        "id": id,
        "date": "2026-09-11T10:00:00", "date_gmt": "2026-09-11T10:00:00",
        "guid": {"rendered": format!("{server}/wp-content/uploads/2026/09/{file}"), "raw": format!("{server}/wp-content/uploads/2026/09/{file}")},
        "modified": "2026-09-11T10:00:00", "modified_gmt": "2026-09-11T10:00:00",
        "slug": key.sha256(), "status": "inherit", "type": "attachment",
        "link": format!("{server}/?attachment_id={id}"),
        "title": {"raw": key.sha256(), "rendered": key.sha256()},
        "author": 1, "comment_status": "open", "ping_status": "closed", "template": "", "meta": [],
        "description": {"raw": "", "rendered": ""}, "caption": {"raw": "", "rendered": ""}, "alt_text": "",
        "media_type": "image", "mime_type": "image/jpeg",
        "media_details": details,
        "post": null,
        "source_url": format!("{server}/wp-content/uploads/2026/09/{file}"),
        "missing_image_sizes": [],
        "_links": {"self": [{"href": format!("{server}/wp-json/wp/v2/media/{id}")}]}
    })
}

fn wp_error(code: &str, message: &str, status: u16) -> Value {
    json!({"code": code, "message": message, "data": {"status": status}})
}

async fn mount_lookup(server: &MockServer, key: &MediaKey, found: Value) {
    Mock::given(method("GET"))
        .and(path("/"))
        .and(query_param("rest_route", "/wp/v2/media"))
        .and(query_param("slug", key.sha256()))
        .and(query_param("context", "edit"))
        .respond_with(ResponseTemplate::new(200).set_body_json(found))
        .mount(server)
        .await;
}

fn basic() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("natron:{PASSWORD}"))
    )
}

#[tokio::test]
async fn an_upload_is_a_raw_body_with_type_and_name_and_its_source_url_is_public() {
    let server = MockServer::start().await;
    let image = unique_image();
    let key = image.key();
    mount_lookup(&server, &key, json!([])).await;
    Mock::given(method("POST"))
        .and(path("/"))
        .and(query_param("rest_route", "/wp/v2/media"))
        .and(header("authorization", basic().as_str()))
        .and(header("content-type", "image/jpeg"))
        .and(header(
            "content-disposition",
            format!("attachment; filename=\"{key}\"").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header(
                    "location",
                    format!("{}/wp-json/wp/v2/media/57", server.uri()).as_str(),
                )
                .insert_header("x-wp-upload-attachment-id", "57")
                .set_body_json(attachment(&server.uri(), 57, &key, None)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let store = WordPressStore::new(&config(server.uri(), false)).unwrap();
    let (stored, outcome) = store_image(&store, &image).await.unwrap();
    assert_eq!(
        (stored.clone(), outcome),
        (key.clone(), PutOutcome::Created)
    );
    let url = format!("{}/wp-content/uploads/2026/09/{key}", server.uri());
    assert_eq!(store.public_url(&key), url);
    assert_eq!(store.resolve_public_url(&key).await.unwrap(), url);
    let requests = server.received_requests().await.unwrap();
    let upload = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .unwrap();
    assert_eq!(
        upload.body, image.bytes,
        "the bytes as they are, not multipart"
    );
}

#[tokio::test]
async fn a_key_already_in_the_library_is_not_uploaded_again_and_is_read_from_its_original() {
    let server = MockServer::start().await;
    let image = unique_image();
    let key = image.key();
    // WordPress downscaled it: the public URL is the `-scaled` copy, the bytes are in the original.
    let original = key.to_string();
    mount_lookup(
        &server,
        &key,
        json!([attachment(&server.uri(), 9, &key, Some(&original))]),
    )
    .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/wp-content/uploads/2026/09/{key}")))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "image/jpeg")
                .set_body_bytes(image.bytes.clone()),
        )
        .mount(&server)
        .await;
    let store = WordPressStore::new(&config(server.uri(), false)).unwrap();
    assert_eq!(
        store_image(&store, &image).await.unwrap().1,
        PutOutcome::AlreadyExisted
    );
    assert!(store.exists(&key).await.unwrap());
    assert_eq!(store.get(&key).await.unwrap(), image.bytes);
    assert_eq!(
        store.public_url(&key),
        format!(
            "{}/wp-content/uploads/2026/09/{}-scaled.jpg",
            server.uri(),
            key.sha256()
        )
    );
}

#[tokio::test]
async fn deleting_forces_past_the_trash_and_a_missing_attachment_is_already_deleted() {
    let server = MockServer::start().await;
    let key = unique_image().key();
    mount_lookup(
        &server,
        &key,
        json!([attachment(&server.uri(), 42, &key, None)]),
    )
    .await;
    Mock::given(method("DELETE"))
        .and(path("/"))
        .and(query_param("rest_route", "/wp/v2/media/42"))
        .and(query_param("force", "true"))
        .and(header("authorization", basic().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"deleted": true, "previous": attachment(&server.uri(), 42, &key, None)}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let store = WordPressStore::new(&config(server.uri(), false)).unwrap();
    store.delete(&key).await.unwrap();

    // Someone else deleted it between our lookup and our delete.
    let server = MockServer::start().await;
    mount_lookup(
        &server,
        &key,
        json!([attachment(&server.uri(), 43, &key, None)]),
    )
    .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(404).set_body_json(wp_error(
            "rest_post_invalid_id",
            "Invalid post ID.",
            404,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let store = WordPressStore::new(&config(server.uri(), false)).unwrap();
    store.delete(&key).await.unwrap();

    // Nothing stored: nothing to delete, no request beyond the lookup.
    let server = MockServer::start().await;
    mount_lookup(&server, &key, json!([])).await;
    let store = WordPressStore::new(&config(server.uri(), false)).unwrap();
    store.delete(&key).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap_err().code(), "media-not-found");
    assert_eq!(
        store.resolve_public_url(&key).await.unwrap_err().code(),
        "media-not-found"
    );
}

#[tokio::test]
async fn wordpress_refusals_become_our_codes_without_the_password() {
    let cases = [
        (
            401,
            wp_error(
                "incorrect_password",
                "The provided password is an invalid application password.",
                401,
            ),
            "media-store-unauthorized",
        ),
        (
            401,
            wp_error(
                "rest_cannot_create",
                "Sorry, you are not allowed to create posts as this user.",
                401,
            ),
            "media-store-unauthorized",
        ),
        (
            400,
            wp_error(
                "rest_cannot_create",
                "Sorry, you are not allowed to upload media on this site.",
                400,
            ),
            "media-store-forbidden",
        ),
        (
            400,
            wp_error(
                "rest_upload_no_content_disposition",
                "No Content-Disposition supplied.",
                400,
            ),
            "media-store-rejected",
        ),
        (
            400,
            wp_error(
                "rest_upload_user_quota_exceeded",
                "Not enough space to upload.",
                400,
            ),
            "media-store-full",
        ),
        (
            500,
            wp_error(
                "rest_upload_sideload_error",
                "Sorry, you are not allowed to upload this file type.",
                500,
            ),
            "media-store-unavailable",
        ),
    ];
    for (status, body, code) in cases {
        let server = MockServer::start().await;
        let image = unique_image();
        mount_lookup(&server, &image.key(), json!([])).await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body.clone()))
            .mount(&server)
            .await;
        let store = WordPressStore::new(&config(server.uri(), false)).unwrap();
        let err = store_image(&store, &image).await.unwrap_err();
        assert_eq!(err.code(), code, "{err}");
        let text = format!("{err} {err:?}");
        assert!(text.contains(body["code"].as_str().unwrap()), "{text}");
        assert!(!text.contains(PASSWORD) && !text.contains("1234"), "{text}");
    }
    // A web server's own 413 page is not JSON.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(413)
                .set_body_raw("<html>413 Request Entity Too Large</html>", "text/html"),
        )
        .mount(&server)
        .await;
    let store = WordPressStore::new(&config(server.uri(), false)).unwrap();
    let err = store_image(&store, &unique_image()).await.unwrap_err();
    assert_eq!(err.code(), "media-store-full", "{err}");
    // A lookup without valid credentials is refused, not read as "nothing stored".
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(wp_error(
            "rest_forbidden_context",
            "Sorry, you are not allowed to edit posts in this post type.",
            401,
        )))
        .mount(&server)
        .await;
    let store = WordPressStore::new(&config(server.uri(), false)).unwrap();
    let err = store.exists(&unique_image().key()).await.unwrap_err();
    assert_eq!(err.code(), "media-store-unauthorized");
}

#[tokio::test]
async fn sites_with_pretty_permalinks_are_reached_under_wp_json() {
    let server = MockServer::start().await;
    let key = unique_image().key();
    Mock::given(method("GET"))
        .and(path("/blog/wp-json/wp/v2/media"))
        .and(query_param("slug", key.sha256()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([attachment(
            &server.uri(),
            5,
            &key,
            None
        )])))
        .expect(1)
        .mount(&server)
        .await;
    let store = WordPressStore::new(&config(format!("{}/blog/", server.uri()), true)).unwrap();
    assert!(store.exists(&key).await.unwrap());
    assert!(store.exists(&key).await.unwrap(), "remembered: one request");
}

#[test]
fn the_wordpress_backend_is_configured_from_toml_and_never_shows_its_password() {
    let config: MediaStoreConfig = toml::from_str(&format!(
        "backend = \"wordpress\"\nurl = \"https://blog.example.com\"\nusername = \"natron\"\n\
         application_password = \"{PASSWORD}\""
    ))
    .unwrap();
    assert!(!format!("{config:?}").contains("1234"), "{config:?}");
    let store = config.build().unwrap();
    assert!(!format!("{store:?}").contains("1234"));
    let bad: MediaStoreConfig = toml::from_str(
        "backend = \"wordpress\"\nurl = \"not a url\"\nusername = \"u\"\napplication_password = \"p\"",
    )
    .unwrap();
    assert_eq!(bad.build().unwrap_err().code(), "invalid-media-config");
}

// ---- a real WordPress ----

/// The site `tests/wordpress` started, or `None` (and a note) when `WP_URL` is not set.
fn real_site(password: Option<&str>) -> Option<WordPressStore> {
    let Ok(url) = std::env::var("WP_URL") else {
        eprintln!(
            "skipped: WP_URL is not set; tests/wordpress starts a WordPress and runs these tests against it"
        );
        return None;
    };
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("WP_URL is set but {name} is not: set both (tests/wordpress does)")
        })
    };
    let config = WordPressConfig {
        url,
        username: var("WP_USER"),
        application_password: SecretString::from(
            password.map_or_else(|| var("WP_APP_PASSWORD"), str::to_owned),
        ),
        pretty_permalinks: false,
        timeout_secs: 30,
    };
    Some(WordPressStore::new(&config).expect("the WordPress store builds"))
}

#[tokio::test]
async fn real_wordpress_keeps_reads_serves_and_deletes_media() {
    let Some(store) = real_site(None) else { return };
    let image = unique_image();
    let (key, outcome) = store_image(&store, &image).await.unwrap();
    assert_eq!(outcome, PutOutcome::Created);
    assert!(store.exists(&key).await.unwrap());
    assert_eq!(store.get(&key).await.unwrap(), image.bytes);

    // What the platforms would pull: the source_url, served as a JPEG, byte for byte.
    let url = store.resolve_public_url(&key).await.unwrap();
    assert_eq!(store.public_url(&key), url);
    assert!(url.ends_with(&format!("/{key}")), "{url}");
    let served = reqwest::get(&url).await.unwrap();
    assert_eq!(served.status().as_u16(), 200);
    assert_eq!(
        served.headers()["content-type"].to_str().unwrap(),
        "image/jpeg"
    );
    assert_eq!(served.bytes().await.unwrap().to_vec(), image.bytes);

    // Another process (a fresh store) finds it by its hash and does not upload it again.
    let other = real_site(None).unwrap();
    assert!(other.exists(&key).await.unwrap());
    assert_eq!(other.resolve_public_url(&key).await.unwrap(), url);
    assert_eq!(
        store_image(&other, &image).await.unwrap().1,
        PutOutcome::AlreadyExisted
    );

    other.delete(&key).await.unwrap();
    let fresh = real_site(None).unwrap();
    assert!(!fresh.exists(&key).await.unwrap());
    assert_eq!(fresh.get(&key).await.unwrap_err().code(), "media-not-found");
    fresh.delete(&key).await.unwrap();
    assert_eq!(
        reqwest::get(&url).await.unwrap().status().as_u16(),
        404,
        "the file is gone from the uploads folder"
    );
    // And it can be stored again.
    assert_eq!(
        store_image(&fresh, &image).await.unwrap().1,
        PutOutcome::Created
    );
    fresh.delete(&key).await.unwrap();
}

#[tokio::test]
async fn real_wordpress_keeps_different_images_apart_and_misses_unknown_keys() {
    let Some(store) = real_site(None) else { return };
    let (a, b) = (unique_image(), unique_image());
    let (ka, _) = store_image(&store, &a).await.unwrap();
    let (kb, _) = store_image(&store, &b).await.unwrap();
    assert_ne!(ka, kb);
    assert_eq!(store.get(&ka).await.unwrap(), a.bytes);
    assert_eq!(store.get(&kb).await.unwrap(), b.bytes);
    let never = unique_image().key();
    assert!(!store.exists(&never).await.unwrap());
    assert_eq!(
        store.get(&never).await.unwrap_err().code(),
        "media-not-found"
    );
    store.delete(&ka).await.unwrap();
    store.delete(&kb).await.unwrap();
}

#[tokio::test]
async fn real_wordpress_refuses_a_wrong_application_password_with_our_code() {
    let Some(store) = real_site(Some("wrongwrongwrongwrongwron")) else {
        return;
    };
    let err = store_image(&store, &unique_image()).await.unwrap_err();
    assert_eq!(err.code(), "media-store-unauthorized", "{err}");
    assert!(!format!("{err} {err:?}").contains("wrongwrong"));
    let err = store.exists(&unique_image().key()).await.unwrap_err();
    assert_eq!(err.code(), "media-store-unauthorized", "{err}");
}
