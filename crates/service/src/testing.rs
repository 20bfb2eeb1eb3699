//! Ready-made services for tests: a throw-away database, a manual clock, and people in every role.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use natronfx_store::testing::TestDb;
use natronfx_workflow::{Role, User};
use secrecy::SecretString;

use crate::{Clock as _, ManualClock, Service};

/// A service on its own database, with a clock at 2026-12-01 09:00 UTC and one user per role.
#[derive(Debug)]
pub struct TestApp {
    /// The service.
    pub service: Service,
    /// The clock it reads.
    pub clock: Arc<ManualClock>,
    /// The database (kept alive as long as the app).
    pub db: TestDb,
    /// An admin (created by `init`).
    pub admin: User,
    /// An editor.
    pub editor: User,
    /// A reviewer.
    pub reviewer: User,
    /// A second reviewer.
    pub reviewer2: User,
    /// A viewer.
    pub viewer: User,
    /// The local media folder (removed when the app is dropped).
    pub media_root: std::path::PathBuf,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.media_root);
    }
}

/// The password every test user has.
pub const TEST_PASSWORD: &str = "correct horse battery";

impl TestApp {
    /// Records a stored JPEG of `width` × `height` (as if ingested) and returns its id, for slides.
    pub async fn jpeg(&self, width: i32, height: i32) -> natronfx_workflow::MediaId {
        use natronfx_store::{MediaRecord, MediaSource};
        let id = natronfx_workflow::MediaId::random();
        let sha = format!("{:0>64}", id.as_uuid().simple().to_string());
        let record = MediaRecord {
            id,
            key: format!("{sha}.jpg"),
            sha256: sha,
            bytes: 400_000,
            width,
            height,
            format: "jpeg".into(),
            source: MediaSource::Rendered,
            created_by: None,
            created_at: self.clock.now(),
        };
        self.service
            .store()
            .insert_media(&record)
            .await
            .expect("insert media")
    }

    /// Ingests a real JPEG photo-like image of `width` × `height` (a gradient with noise, so perceptual
    /// hashes differ per `seed`) as the editor, and returns its id.
    pub async fn photo(&self, width: u32, height: u32, seed: u8) -> natronfx_workflow::MediaId {
        let mut state = u32::from(seed).wrapping_mul(2_654_435_761).max(1);
        let image = image::RgbImage::from_fn(width, height, |x, y| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = (state % 24) as u8;
            let r = ((x * 255 / width.max(1)) as u8).wrapping_add(seed.wrapping_mul(37));
            let g = ((y * 255 / height.max(1)) as u8).wrapping_add(noise);
            let b = (((x / 64 + y / 64 + u32::from(seed)) % 2) * 200) as u8;
            image::Rgb([r, g, b])
        });
        let mut bytes = Vec::new();
        image::DynamicImage::ImageRgb8(image)
            .write_to(
                &mut std::io::Cursor::new(&mut bytes),
                image::ImageFormat::Jpeg,
            )
            .expect("encode");
        self.service
            .add_media(&self.editor, bytes)
            .await
            .expect("ingest")
            .id
    }

    /// On SQLite.
    pub async fn sqlite() -> TestApp {
        TestApp::on(TestDb::sqlite(), None).await
    }

    /// On PostgreSQL (fails when the test server is not configured).
    pub async fn postgres() -> TestApp {
        TestApp::on(TestDb::postgres().await, None).await
    }

    /// On SQLite, with the media folder served over HTTP on a loopback port (as `natronfx-server` serves
    /// it), so a simulator can pull the slides.
    pub async fn sqlite_served() -> TestApp {
        let (listener, base) = media_listener().await;
        TestApp::on(TestDb::sqlite(), Some((listener, base))).await
    }

    /// On PostgreSQL, with the media folder served over HTTP.
    pub async fn postgres_served() -> TestApp {
        let (listener, base) = media_listener().await;
        TestApp::on(TestDb::postgres().await, Some((listener, base))).await
    }

    async fn on(db: TestDb, served: Option<(tokio::net::TcpListener, String)>) -> TestApp {
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
        ));
        let media_root = std::env::temp_dir().join(format!("natronfx-media-{}", uuid_like()));
        let base = served.as_ref().map_or_else(
            || "https://media.example.test/m".to_owned(),
            |s| s.1.clone(),
        );
        let media =
            natronfx_media::LocalFolderStore::new(&media_root, &base).expect("media folder");
        if let Some((listener, _)) = served {
            serve_media(listener, media.clone());
        }
        let service = Service::new(db.open().await, clock.clone())
            .with_media(Arc::new(media), natronfx_media::IngestLimits::default());
        let pw = SecretString::from(TEST_PASSWORD);
        let admin = service
            .init("admin@example.com", "Admin", &pw)
            .await
            .expect("init");
        let add = |email: &'static str, role| {
            let service = service.clone();
            let admin = admin.clone();
            let pw = pw.clone();
            async move {
                service
                    .add_user(&admin, email, email, role, Some(&pw))
                    .await
                    .expect("add user")
            }
        };
        let editor = add("editor@example.com", Role::Editor).await;
        let reviewer = add("reviewer@example.com", Role::Reviewer).await;
        let reviewer2 = add("reviewer2@example.com", Role::Reviewer).await;
        let viewer = add("viewer@example.com", Role::Viewer).await;
        TestApp {
            service,
            clock,
            db,
            admin,
            editor,
            reviewer,
            reviewer2,
            viewer,
            media_root,
        }
    }
}

fn uuid_like() -> String {
    natronfx_workflow::MediaId::random().to_string()
}

async fn media_listener() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    (listener, format!("http://{addr}/m"))
}

/// Serves `GET /m/{key}` from the folder, as the server's public media route does.
fn serve_media(listener: tokio::net::TcpListener, media: natronfx_media::LocalFolderStore) {
    use axum::extract::{Path, State};
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    async fn one(
        State(media): State<natronfx_media::LocalFolderStore>,
        Path(key): Path<String>,
    ) -> axum::response::Response {
        match media.open_for_serving(&key).await {
            Ok(Some(file)) => match tokio::fs::read(&file.path).await {
                Ok(bytes) => ([(header::CONTENT_TYPE, file.content_type)], bytes).into_response(),
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            },
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    }
    let app = axum::Router::new()
        .route("/m/{key}", axum::routing::get(one))
        .with_state(media);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
}
