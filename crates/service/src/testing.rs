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

    /// On SQLite.
    pub async fn sqlite() -> TestApp {
        TestApp::on(TestDb::sqlite()).await
    }

    /// On PostgreSQL (fails when the test server is not configured).
    pub async fn postgres() -> TestApp {
        TestApp::on(TestDb::postgres().await).await
    }

    async fn on(db: TestDb) -> TestApp {
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
        ));
        let media_root = std::env::temp_dir().join(format!("natronfx-media-{}", uuid_like()));
        let media =
            natronfx_media::LocalFolderStore::new(&media_root, "https://media.example.test/m")
                .expect("media folder");
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
