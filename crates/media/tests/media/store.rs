//! One storage story, the same test bodies, on the local folder and on a real S3-compatible server.
//!
//! The S3 half needs a server: `eval "$(../shared/tools/s3-up)"` (from the repository root) exports
//! nothing by itself, so run `set -a; eval "$(../shared/tools/s3-up)"; set +a` or export the printed
//! variables. Without `S3_ENDPOINT` the S3 tests fail and say so.

use std::sync::atomic::{AtomicU32, Ordering};

use natronfx_media::{
    EncodedImage, IngestLimits, LocalFolderStore, MediaKey, MediaStore, PutOutcome, S3Config,
    S3Store, ingest_blocking, store_image,
};
use tempfile::TempDir;

use crate::support::read_fixture;

const PUBLIC: &str = "https://media.example.com/m";

struct Fresh {
    store: Box<dyn MediaStore>,
    prefix: String,
    _dir: Option<TempDir>,
}

fn local() -> Fresh {
    let dir = TempDir::new().unwrap();
    Fresh {
        store: Box::new(LocalFolderStore::new(dir.path().join("media"), PUBLIC).unwrap()),
        prefix: String::new(),
        _dir: Some(dir),
    }
}

fn s3_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: the S3 store tests need a real S3-compatible server. From the repository root run \
             `set -a; eval \"$(../shared/tools/s3-up)\"; set +a` (or `eval \"$(../shared/tools/s3-up)\"` and export \
             S3_ENDPOINT S3_REGION S3_BUCKET AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY) first"
        )
    })
}

/// A fresh key prefix in the test bucket, so runs and tests never see each other's objects.
fn s3() -> Fresh {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let var = s3_var;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let prefix = format!(
        "test-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let config = S3Config {
        endpoint: Some(var("S3_ENDPOINT")),
        region: var("S3_REGION"),
        bucket: var("S3_BUCKET"),
        access_key_id: var("AWS_ACCESS_KEY_ID"),
        secret_access_key: var("AWS_SECRET_ACCESS_KEY"),
        prefix: Some(prefix.clone()),
        allow_http: true,
        path_style: true,
        public_base_url: format!("{PUBLIC}/"),
    };
    Fresh {
        store: Box::new(S3Store::new(&config).unwrap()),
        prefix: format!("{prefix}/"),
        _dir: None,
    }
}

fn photo() -> EncodedImage {
    ingest_blocking(
        &read_fixture("photos/chelsea.png"),
        &IngestLimits::default(),
    )
    .unwrap()
}

async fn stored_bytes_read_back_identically_under_their_hash(fresh: Fresh) {
    let store = fresh.store.as_ref();
    let image = photo();
    let (key, outcome) = store_image(store, &image).await.unwrap();
    assert_eq!(outcome, PutOutcome::Created);
    assert_eq!(key.sha256(), image.sha256);
    assert!(store.exists(&key).await.unwrap());
    assert_eq!(store.get(&key).await.unwrap(), image.bytes);
    assert_eq!(
        store.public_url(&key),
        format!("{PUBLIC}/{}{key}", fresh.prefix)
    );
}

async fn storing_the_same_bytes_twice_keeps_one_copy(fresh: Fresh) {
    let store = fresh.store.as_ref();
    let image = photo();
    let key = image.key();
    assert_eq!(
        store
            .put(&key, image.bytes.clone(), "image/jpeg")
            .await
            .unwrap(),
        PutOutcome::Created
    );
    assert_eq!(
        store
            .put(&key, image.bytes.clone(), "image/jpeg")
            .await
            .unwrap(),
        PutOutcome::AlreadyExisted
    );
    assert_eq!(store.get(&key).await.unwrap(), image.bytes);
}

async fn a_missing_key_is_not_found(fresh: Fresh) {
    let store = fresh.store.as_ref();
    let key = MediaKey::for_bytes(b"never stored", natronfx_media::ImageFormat::Jpeg);
    assert!(!store.exists(&key).await.unwrap());
    assert_eq!(store.get(&key).await.unwrap_err().code(), "media-not-found");
}

async fn deleted_media_is_gone_and_deleting_again_succeeds(fresh: Fresh) {
    let store = fresh.store.as_ref();
    let image = photo();
    let (key, _) = store_image(store, &image).await.unwrap();
    store.delete(&key).await.unwrap();
    assert!(!store.exists(&key).await.unwrap());
    assert_eq!(store.get(&key).await.unwrap_err().code(), "media-not-found");
    store.delete(&key).await.unwrap();
    // And it can be stored again afterwards.
    assert_eq!(
        store_image(store, &image).await.unwrap().1,
        PutOutcome::Created
    );
}

async fn different_images_get_different_keys_and_both_survive(fresh: Fresh) {
    let store = fresh.store.as_ref();
    let a = photo();
    let b = ingest_blocking(&read_fixture("photos/rocket.jpg"), &IngestLimits::default()).unwrap();
    let (ka, _) = store_image(store, &a).await.unwrap();
    let (kb, _) = store_image(store, &b).await.unwrap();
    assert_ne!(ka, kb);
    assert_eq!(store.get(&ka).await.unwrap(), a.bytes);
    assert_eq!(store.get(&kb).await.unwrap(), b.bytes);
}

macro_rules! store_suite {
    ($($test:ident),* $(,)?) => {
        mod local_folder {
            $(#[tokio::test] async fn $test() { super::$test(super::local()).await; })*
        }
        mod s3 {
            $(#[tokio::test] async fn $test() { super::$test(super::s3()).await; })*
        }
    };
}

store_suite!(
    stored_bytes_read_back_identically_under_their_hash,
    storing_the_same_bytes_twice_keeps_one_copy,
    a_missing_key_is_not_found,
    deleted_media_is_gone_and_deleting_again_succeeds,
    different_images_get_different_keys_and_both_survive,
);

// ---- S3 specifics ----

/// Instagram and TikTok pull media by URL and refuse anything not served as an image, so the object
/// must carry its MIME type.
#[tokio::test]
async fn s3_objects_are_served_with_their_image_content_type() {
    use object_store::ObjectStoreExt;

    let fresh = s3();
    let image = photo();
    let (key, _) = store_image(fresh.store.as_ref(), &image).await.unwrap();

    let raw = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(s3_var("S3_ENDPOINT"))
        .with_region(s3_var("S3_REGION"))
        .with_bucket_name(s3_var("S3_BUCKET"))
        .with_access_key_id(s3_var("AWS_ACCESS_KEY_ID"))
        .with_secret_access_key(s3_var("AWS_SECRET_ACCESS_KEY"))
        .with_allow_http(true)
        .build()
        .unwrap();
    let location = object_store::path::Path::from(format!("{}{key}", fresh.prefix));
    let got = raw.get(&location).await.unwrap();
    let content_type = got
        .attributes
        .get(&object_store::Attribute::ContentType)
        .map(|v| v.to_string());
    assert_eq!(content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(got.bytes().await.unwrap().to_vec(), image.bytes);
}

// ---- local folder specifics ----

#[tokio::test]
async fn serving_resolves_only_valid_keys_to_files() {
    let dir = TempDir::new().unwrap();
    let store = LocalFolderStore::new(dir.path(), PUBLIC).unwrap();
    let image = photo();
    let (key, _) = store_image(&store, &image).await.unwrap();

    let served = store.open_for_serving(key.as_str()).await.unwrap().unwrap();
    assert_eq!(served.content_type, "image/jpeg");
    assert_eq!(served.len, image.bytes.len() as u64);
    assert_eq!(std::fs::read(&served.path).unwrap(), image.bytes);

    let missing = MediaKey::for_bytes(b"other", natronfx_media::ImageFormat::Png);
    assert_eq!(
        store.open_for_serving(missing.as_str()).await.unwrap(),
        None
    );

    std::fs::write(dir.path().join("secret.txt"), "do not serve").unwrap();
    let hostile = [
        "../secret.txt",
        "secret.txt",
        "",
        ".",
        "..",
        &key.as_str()[..2],
        &format!("{}/{}", &key.as_str()[..2], key),
        &format!("../{key}"),
        &key.as_str().to_uppercase(),
        &format!("{}.txt", key.sha256()),
        &format!("{key}/"),
        &format!("{key}\0"),
        "%2e%2e%2fsecret.txt",
    ];
    for attempt in hostile {
        let err = store.open_for_serving(attempt).await.unwrap_err();
        assert_eq!(
            err.code(),
            "invalid-media-key",
            "{attempt:?} was not refused"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_puts_of_the_same_image_leave_one_intact_file() {
    let dir = TempDir::new().unwrap();
    let store = std::sync::Arc::new(LocalFolderStore::new(dir.path(), PUBLIC).unwrap());
    let image = std::sync::Arc::new(photo());
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (store, image) = (store.clone(), image.clone());
            tokio::spawn(async move { store_image(store.as_ref(), &image).await.unwrap().1 })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        if task.await.unwrap() == PutOutcome::Created {
            created += 1;
        }
    }
    assert!(created >= 1);
    let key = image.key();
    assert_eq!(store.get(&key).await.unwrap(), image.bytes);
    let shard = store.path_of(&key).parent().unwrap().to_path_buf();
    assert_eq!(
        std::fs::read_dir(shard).unwrap().count(),
        1,
        "temporary files were left behind"
    );
}

#[tokio::test]
async fn a_put_leaves_no_temporary_files_behind() {
    let dir = TempDir::new().unwrap();
    let store = LocalFolderStore::new(dir.path(), PUBLIC).unwrap();
    let (key, _) = store_image(&store, &photo()).await.unwrap();
    let shard = store.path_of(&key).parent().unwrap().to_path_buf();
    let names: Vec<String> = std::fs::read_dir(&shard)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec![key.to_string()]);
}

#[test]
fn media_keys_accept_only_hash_dot_extension() {
    let hash = "a".repeat(64);
    for ok in ["jpg", "png", "webp"] {
        assert!(MediaKey::parse(&format!("{hash}.{ok}")).is_ok());
    }
    for bad in [
        format!("{hash}.jpeg"),
        format!("{hash}.JPG"),
        format!("{}.jpg", "a".repeat(63)),
        format!("{}.jpg", "g".repeat(64)),
        format!("{hash}.jpg.png"),
        format!("/{hash}.jpg"),
    ] {
        assert_eq!(
            MediaKey::parse(&bad).unwrap_err().code(),
            "invalid-media-key",
            "{bad}"
        );
    }
    let json = serde_json::to_string(&MediaKey::parse(&format!("{hash}.png")).unwrap()).unwrap();
    assert_eq!(json, format!("\"{hash}.png\""));
    assert!(serde_json::from_str::<MediaKey>("\"../x.png\"").is_err());
}

#[tokio::test]
async fn the_configured_backend_is_built_from_toml() {
    let dir = TempDir::new().unwrap();
    let config: natronfx_media::MediaStoreConfig = toml::from_str(&format!(
        "backend = \"local\"\nroot = {:?}\npublic_base_url = \"{PUBLIC}\"",
        dir.path().join("m").display().to_string()
    ))
    .unwrap();
    let store = config.build().unwrap();
    let (key, _) = store_image(store.as_ref(), &photo()).await.unwrap();
    assert!(
        dir.path()
            .join("m")
            .join(&key.as_str()[..2])
            .join(key.as_str())
            .is_file()
    );

    let s3: natronfx_media::MediaStoreConfig = toml::from_str(
        "backend = \"s3\"\nendpoint = \"http://127.0.0.1:9\"\nregion = \"us-east-1\"\nbucket = \"b\"\n\
         access_key_id = \"k\"\nsecret_access_key = \"hidden-value\"\nallow_http = true\n\
         public_base_url = \"https://cdn.example.com\"",
    )
    .unwrap();
    assert!(!format!("{s3:?}").contains("hidden-value"));
    let built = s3.build().unwrap();
    assert_eq!(
        built.public_url(&key),
        format!("https://cdn.example.com/{key}")
    );
    let bad: Result<natronfx_media::MediaStoreConfig, _> =
        toml::from_str("backend = \"local\"\nroot = \"/x\"\npublic_base_url = \"ftp://x\"");
    assert_eq!(
        bad.unwrap().build().unwrap_err().code(),
        "invalid-media-config"
    );
}

#[test]
fn s3_config_debug_never_shows_the_secret() {
    let config = S3Config {
        endpoint: None,
        region: "us-east-1".into(),
        bucket: "b".into(),
        access_key_id: "AKIA".into(),
        secret_access_key: "very-secret-value".into(),
        prefix: None,
        allow_http: false,
        path_style: true,
        public_base_url: PUBLIC.into(),
    };
    assert!(!format!("{config:?}").contains("very-secret-value"));
    assert!(!format!("{:?}", S3Store::new(&config).unwrap()).contains("very-secret-value"));
}
