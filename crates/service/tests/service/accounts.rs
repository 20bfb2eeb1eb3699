//! Connected accounts against the platform simulator, on SQLite and on PostgreSQL: connecting each
//! platform, the OAuth state's rules, refresh (just in time, forced, swept, refused, concurrent),
//! disconnecting, and no plaintext token in the database, the logs or any output.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::Duration;
use natronfx_service::accounts::{ACCESS_TOKEN, REFRESH_TOKEN};
use natronfx_service::store::{CredentialStore, SealedCredential};
use natronfx_service::testing::TestApp;
use natronfx_service::workflow::{AccountId, AccountStatus, AuditAction, Platform, Role, User};
use natronfx_service::{
    AccountView, AccountsConfig, AppsConfig, Clock as _, ErrorKind, PostInput, Service, SlideInput,
    TargetInput,
};
use natronfx_sim::{Endpoint, Fault, Network, SimConfig, Simulator};
use natronfx_vault::{KeyMaterial, Keyring, Vault};
use secrecy::{ExposeSecret, SecretString};

/// Each test body runs on a fresh SQLite database and on a fresh PostgreSQL database.
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(natronfx_service::testing::TestApp::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(natronfx_service::testing::TestApp::postgres().await).await;
                }
            )*
        }
    };
}

both!(
    tiktok_connects_with_pkce_and_connecting_again_updates_in_place,
    instagram_connects_with_a_long_lived_token_that_refreshes_after_a_day,
    facebook_connects_every_page_and_the_instagram_account_linked_to_it,
    the_state_is_single_use_bound_to_its_user_and_short_lived,
    declined_consent_and_expired_codes_connect_nothing,
    a_refresh_stores_the_new_refresh_token_with_the_access_token,
    a_refused_refresh_asks_for_a_reconnect_and_a_failing_one_is_recorded,
    a_401_gets_one_forced_refresh_then_the_account_needs_reconnect,
    two_processes_refreshing_at_once_make_one_refresh_call,
    the_sweep_refreshes_what_expires_within_its_window,
    disconnecting_revokes_deletes_credentials_and_keeps_history,
    no_plaintext_token_in_the_database_logs_or_outputs,
    rotation_interrupted_halfway_and_resumed_leaves_every_token_readable,
    a_purged_account_leaves_no_secret_in_the_vault,
    an_export_matches_its_schema_and_holds_no_token,
    reconnecting_makes_the_targets_that_waited_for_the_account_due_at_once,
);

// ------------------------------------------------------------------------------------------ the world

/// The simulator on its own thread and runtime, silent in the logs: the traces a test captures are
/// this process's own, so a token they contain leaked from our code, not from the simulator's server.
struct SimThread {
    sim: Simulator,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SimThread {
    fn start() -> SimThread {
        let sim = Simulator::new(SimConfig::default());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the simulator");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = sim.clone();
        let thread = std::thread::spawn(move || {
            let _quiet =
                tracing::subscriber::set_default(tracing::subscriber::NoSubscriber::default());
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let _ = server
                    .serve(listener, async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        SimThread {
            sim,
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.addr)
    }
}

impl Drop for SimThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

const CALLBACK: &str = "https://publisher.example.com/accounts/callback";

fn apps(sim: &SimThread) -> AppsConfig {
    let mut apps = AppsConfig::default();
    let secret = || Some(SecretString::from("sim-secret"));
    apps.tiktok.client_key = "sim-client".into();
    apps.tiktok.client_secret = secret();
    apps.tiktok.redirect_uri = CALLBACK.into();
    apps.tiktok.authorize_url = sim.url("tiktok-www/v2/auth/authorize/");
    apps.tiktok.api_base_url = sim.url("tiktok");
    apps.instagram.client_id = "sim-client".into();
    apps.instagram.client_secret = secret();
    apps.instagram.redirect_uri = CALLBACK.into();
    apps.instagram.authorize_url = sim.url("instagram-www/oauth/authorize");
    apps.instagram.api_base_url = sim.url("instagram-api");
    apps.instagram.graph_base_url = sim.url("instagram");
    apps.facebook.client_id = "sim-client".into();
    apps.facebook.client_secret = secret();
    apps.facebook.redirect_uri = CALLBACK.into();
    apps.facebook.dialog_url = sim.url("facebook-www/v25.0/dialog/oauth");
    apps.facebook.graph_base_url = sim.url("facebook");
    apps
}

struct World {
    app: TestApp,
    sim: SimThread,
    service: Service,
    keys: BTreeMap<u32, KeyMaterial>,
}

fn vault_on(service: &Service, keys: &BTreeMap<u32, KeyMaterial>, primary: u32) -> Vault {
    let store: Arc<dyn CredentialStore> = service.store().clone();
    Vault::new(store, Keyring::new(primary, keys.clone()).expect("keyring"))
}

async fn world(app: TestApp) -> World {
    let sim = SimThread::start();
    let keys = BTreeMap::from([(1, KeyMaterial::generate().expect("key"))]);
    let service = app
        .service
        .clone()
        .with_apps(apps(&sim), AccountsConfig::default());
    let service = service.clone().with_vault(vault_on(&service, &keys, 1));
    World {
        app,
        sim,
        service,
        keys,
    }
}

impl World {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.app.clock.now()
    }

    /// A second service on the same database, as another process would have.
    async fn another_process(&self) -> Service {
        let store = natronfx_service::store::connect(&self.app.db.url)
            .await
            .expect("open the database again");
        let service = Service::new(store, self.app.clock.clone())
            .with_apps(apps(&self.sim), AccountsConfig::default());
        service
            .clone()
            .with_vault(vault_on(&service, &self.keys, 1))
    }

    async fn connect(&self, platform: Platform) -> Vec<AccountView> {
        let start = self
            .service
            .start_connect(&self.app.admin, platform)
            .await
            .expect("start");
        let callback = consent(&start.authorize_url).await;
        self.service
            .finish_connect(&self.app.admin, &callback)
            .await
            .expect("finish")
    }

    async fn connect_one(&self, platform: Platform) -> AccountView {
        let mut views = self.connect(platform).await;
        assert_eq!(views.len(), 1, "{views:#?}");
        views.remove(0)
    }

    /// A stored secret, opened with the test's own keyring.
    async fn stored(&self, account: AccountId, field: &str) -> Option<String> {
        let row = self.service.store().credential(account, field).await.ok()?;
        let ring = Keyring::new(1, self.keys.clone()).expect("keyring");
        Some(
            ring.open(account, field, &row.ciphertext)
                .expect("opens")
                .expose()
                .to_owned(),
        )
    }

    async fn actions(&self, account: AccountId) -> Vec<AuditAction> {
        self.service
            .store()
            .audit_for("account", &account.to_string())
            .await
            .expect("audit")
            .into_iter()
            .map(|e| e.event.action)
            .collect()
    }

    fn token_calls(&self) -> u64 {
        self.sim.sim.calls(Endpoint::TiktokOAuthToken)
    }

    /// Whether the simulator accepts a TikTok access token (user info answers).
    async fn tiktok_accepts(&self, token: &str) -> bool {
        reqwest::Client::new()
            .get(self.sim.url("tiktok/v2/user/info/?fields=open_id"))
            .bearer_auth(token)
            .send()
            .await
            .expect("user info answers")
            .status()
            .is_success()
    }
}

/// Opens the consent page as a browser would and returns where it sends the browser back.
async fn consent(url: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let response = client.get(url).send().await.expect("consent page");
    assert_eq!(response.status().as_u16(), 302, "{url}");
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(location.starts_with(CALLBACK), "{location}");
    location
}

async fn admin2(app: &TestApp) -> User {
    app.service
        .add_user(
            &app.admin,
            "admin2@example.com",
            "Admin Two",
            Role::Admin,
            None,
        )
        .await
        .expect("second admin")
}

// ------------------------------------------------------------------------------------------ connecting

async fn tiktok_connects_with_pkce_and_connecting_again_updates_in_place(app: TestApp) {
    let w = world(app).await;
    let start = w
        .service
        .start_connect(&w.app.admin, Platform::Tiktok)
        .await
        .unwrap();
    let url = reqwest::Url::parse(&start.authorize_url).unwrap();
    let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query["state"], start.state);
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(
        query["code_challenge"].len(),
        64,
        "TikTok's challenge is hex"
    );
    assert_eq!(query["redirect_uri"], CALLBACK);
    assert_eq!(start.expires_at, w.now() + Duration::minutes(10));

    let callback = consent(&start.authorize_url).await;
    let views = w
        .service
        .finish_connect(&w.app.admin, &callback)
        .await
        .unwrap();
    let first = &views[0];
    assert_eq!(views.len(), 1);
    assert_eq!(first.platform, Platform::Tiktok);
    assert_eq!(first.status, AccountStatus::Connected);
    assert_eq!(first.display_name, "natron.demo");
    assert_eq!(first.login, Some(Platform::Tiktok));
    assert_eq!(first.scopes, ["user.info.basic", "video.publish"]);
    assert_eq!(first.connected_by, Some(w.app.admin.id));
    assert_eq!(first.access_expires_at, Some(w.now() + Duration::hours(24)));
    assert_eq!(
        first.refresh_expires_at,
        Some(w.now() + Duration::days(365))
    );
    let fields: Vec<&str> = first.credentials.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, [ACCESS_TOKEN, REFRESH_TOKEN]);
    assert!(first.credentials.iter().all(|c| c.key_id == 1));

    let token = w.service.access_token(first.id).await.unwrap();
    assert!(w.tiktok_accepts(token.expose_secret()).await);
    assert_eq!(w.actions(first.id).await, [AuditAction::AccountConnected]);
    assert_eq!(
        w.service.account(&w.app.viewer, first.id).await.unwrap().id,
        first.id,
        "everyone may look"
    );
    assert_eq!(
        w.service
            .account_by_ref(&w.app.viewer, "NATRON.demo")
            .await
            .unwrap(),
        first.id
    );

    // The same creator connects again (tomorrow): the same account, updated in place.
    w.app.clock.advance(Duration::days(1));
    w.sim.sim.consent_as_tiktok(&first.external_id);
    let again = w.connect_one(Platform::Tiktok).await;
    assert_eq!(again.id, first.id);
    assert_eq!(again.created_at, first.created_at);
    assert_eq!(again.connected_at, Some(w.now()));
    let listed = w.service.connected_accounts(&w.app.admin).await.unwrap();
    assert_eq!(listed.iter().filter(|a| !a.sandbox).count(), 1);
    let fresh = w.service.access_token(first.id).await.unwrap();
    assert_ne!(fresh.expose_secret(), token.expose_secret());
    assert_eq!(
        w.actions(first.id).await,
        [AuditAction::AccountConnected, AuditAction::AccountConnected]
    );

    // Only admins connect accounts.
    let err = w
        .service
        .start_connect(&w.app.editor, Platform::Tiktok)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "permission-denied");
}

async fn instagram_connects_with_a_long_lived_token_that_refreshes_after_a_day(app: TestApp) {
    let w = world(app).await;
    let ig = w.connect_one(Platform::Instagram).await;
    assert_eq!(ig.platform, Platform::Instagram);
    assert_eq!(ig.login, Some(Platform::Instagram));
    assert_eq!(ig.display_name, "@sim.instagram");
    assert_eq!(ig.external_id.len(), 17, "every digit of the id kept");
    assert_eq!(
        ig.access_expires_at,
        Some(w.now() + Duration::seconds(5_183_944))
    );
    assert!(
        ig.credentials.iter().all(|c| c.field == ACCESS_TOKEN),
        "Instagram Login has no refresh token"
    );
    assert_eq!(
        ig.scopes,
        [
            "instagram_business_basic",
            "instagram_business_content_publish"
        ]
    );

    // Too young to refresh: nothing is asked of the platform.
    let report = w
        .service
        .refresh_account(&w.app.admin, ig.id)
        .await
        .unwrap();
    assert!(!report.refreshed);
    assert!(report.note.unwrap().contains("24 hours"));
    let before = w.service.access_token(ig.id).await.unwrap();

    w.app.clock.advance(Duration::hours(25));
    w.sim
        .sim
        .advance_clock(std::time::Duration::from_secs(25 * 3600));
    let report = w
        .service
        .refresh_account(&w.app.admin, ig.id)
        .await
        .unwrap();
    assert!(report.refreshed, "{report:?}");
    assert_eq!(report.account.last_refresh_at, Some(w.now()));
    let after = w.service.access_token(ig.id).await.unwrap();
    assert_ne!(after.expose_secret(), before.expose_secret());
    assert_eq!(w.sim.sim.calls(Endpoint::InstagramRefresh), 1);
}

async fn facebook_connects_every_page_and_the_instagram_account_linked_to_it(app: TestApp) {
    let w = world(app).await;
    let page = w.sim.sim.add_facebook_page("Natron Coffee");
    let linked = w.sim.sim.link_instagram_to_page(&page.id, "natron.coffee");
    let views = w.connect(Platform::Facebook).await;
    let as_page = views
        .iter()
        .find(|v| v.platform == Platform::Facebook)
        .expect("the Page");
    let as_ig = views
        .iter()
        .find(|v| v.platform == Platform::Instagram)
        .expect("the linked Instagram account");
    assert_eq!(views.len(), 2);
    assert_eq!(as_page.external_id, page.id);
    assert_eq!(as_page.display_name, "Natron Coffee");
    assert_eq!(as_page.access_expires_at, None, "Page tokens do not expire");
    assert_eq!(as_ig.external_id, linked.id);
    assert_eq!(as_ig.display_name, "@natron.coffee");
    assert_eq!(
        as_ig.login,
        Some(Platform::Facebook),
        "reached through the Page: it publishes on graph.facebook.com"
    );
    let page_token = w.service.access_token(as_page.id).await.unwrap();
    let ig_token = w.service.access_token(as_ig.id).await.unwrap();
    assert_eq!(page_token.expose_secret(), ig_token.expose_secret());

    let report = w
        .service
        .refresh_account(&w.app.admin, as_page.id)
        .await
        .unwrap();
    assert!(!report.refreshed);
    // A Page token the platform refuses cannot be refreshed: the account needs a reconnect.
    let err = w
        .service
        .force_refresh(as_page.id, &page_token)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "account-needs-reconnect");
    let page_view = w.service.account(&w.app.admin, as_page.id).await.unwrap();
    assert_eq!(page_view.status, AccountStatus::NeedsReconnect);
    // Connecting again brings it back.
    let again = w.connect(Platform::Facebook).await;
    assert!(
        again
            .iter()
            .any(|v| v.id == as_page.id && v.status == AccountStatus::Connected)
    );
}

async fn the_state_is_single_use_bound_to_its_user_and_short_lived(app: TestApp) {
    let w = world(app).await;
    let other = admin2(&w.app).await;

    // Replayed.
    let start = w
        .service
        .start_connect(&w.app.admin, Platform::Tiktok)
        .await
        .unwrap();
    let callback = consent(&start.authorize_url).await;
    w.service
        .finish_connect(&w.app.admin, &callback)
        .await
        .unwrap();
    let err = w
        .service
        .finish_connect(&w.app.admin, &callback)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "oauth-state-used");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);

    // Started by someone else: refused, and burnt for its owner too.
    let start = w
        .service
        .start_connect(&other, Platform::Tiktok)
        .await
        .unwrap();
    let callback = consent(&start.authorize_url).await;
    let err = w
        .service
        .finish_connect(&w.app.admin, &callback)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "oauth-state-foreign");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    let err = w
        .service
        .finish_connect(&other, &callback)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "oauth-state-used");

    // Older than ten minutes.
    let start = w
        .service
        .start_connect(&w.app.admin, Platform::Instagram)
        .await
        .unwrap();
    let callback = consent(&start.authorize_url).await;
    w.app.clock.advance(Duration::minutes(11));
    let err = w
        .service
        .finish_connect(&w.app.admin, &callback)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "oauth-state-expired");

    // Never issued, altered, or missing.
    let start = w
        .service
        .start_connect(&w.app.admin, Platform::Tiktok)
        .await
        .unwrap();
    let callback = consent(&start.authorize_url).await;
    let forged = callback.replace(&start.state, "forged-state");
    let err = w
        .service
        .finish_connect(&w.app.admin, &forged)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "oauth-state-unknown");
    let err = w
        .service
        .finish_connect(&w.app.admin, "code=abc")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "oauth-state-unknown");
    let err = w
        .service
        .finish_connect(&w.app.admin, "https://publisher.example.com/cb?state=x")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "oauth-callback-invalid");
    // The untouched callback still works: refusing a forgery does not burn the real state.
    let views = w
        .service
        .finish_connect(&w.app.admin, &callback)
        .await
        .unwrap();
    assert_eq!(views.len(), 1);
    let non_sandbox = w
        .service
        .connected_accounts(&w.app.admin)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| !a.sandbox)
        .count();
    assert_eq!(non_sandbox, 2, "one TikTok creator per consent");
}

async fn declined_consent_and_expired_codes_connect_nothing(app: TestApp) {
    let w = world(app).await;
    let count = || async {
        w.service
            .connected_accounts(&w.app.admin)
            .await
            .unwrap()
            .len()
    };
    let before = count().await;
    for (network, platform) in [
        (Network::Tiktok, Platform::Tiktok),
        (Network::Instagram, Platform::Instagram),
        (Network::Facebook, Platform::Facebook),
    ] {
        w.sim.sim.deny_next_consent(network);
        let start = w
            .service
            .start_connect(&w.app.admin, platform)
            .await
            .unwrap();
        let callback = consent(&start.authorize_url).await;
        let err = w
            .service
            .finish_connect(&w.app.admin, &callback)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "consent-denied", "{platform}");
        assert!(err.to_string().contains("declined"), "{err}");
        // The state was used by the refusal.
        let err = w
            .service
            .finish_connect(&w.app.admin, &callback)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "oauth-state-used");
    }
    // A code the platform no longer accepts (its ten minutes passed on the platform's clock).
    let start = w
        .service
        .start_connect(&w.app.admin, Platform::Tiktok)
        .await
        .unwrap();
    let callback = consent(&start.authorize_url).await;
    w.sim
        .sim
        .advance_clock(std::time::Duration::from_secs(11 * 60));
    let err = w
        .service
        .finish_connect(&w.app.admin, &callback)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "oauth-code-rejected");
    assert_eq!(count().await, before, "nothing was connected");

    // Without an app or a vault, connecting says what to configure.
    let bare = w.app.service.clone();
    let err = bare
        .start_connect(&w.app.admin, Platform::Tiktok)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "vault-not-configured");
    let no_app = w
        .service
        .clone()
        .with_apps(AppsConfig::default(), AccountsConfig::default());
    let err = no_app
        .start_connect(&w.app.admin, Platform::Facebook)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "platform-app-not-configured");
    assert!(err.to_string().contains("apps.facebook.client_id"), "{err}");
}

// ------------------------------------------------------------------------------------------ refreshing

async fn a_refresh_stores_the_new_refresh_token_with_the_access_token(app: TestApp) {
    let w = world(app).await;
    let tt = w.connect_one(Platform::Tiktok).await;
    let old_access = w.stored(tt.id, ACCESS_TOKEN).await.unwrap();
    let old_refresh = w.stored(tt.id, REFRESH_TOKEN).await.unwrap();
    let calls = w.token_calls();

    // Not due: the stored token, no call.
    let token = w.service.access_token(tt.id).await.unwrap();
    assert_eq!(token.expose_secret(), old_access);
    assert_eq!(w.token_calls(), calls);

    // Within the skew: refreshed first.
    w.app
        .clock
        .advance(Duration::hours(24) - Duration::seconds(200));
    let token = w.service.access_token(tt.id).await.unwrap();
    assert_ne!(token.expose_secret(), old_access);
    assert_eq!(w.token_calls(), calls + 1);
    let new_refresh = w.stored(tt.id, REFRESH_TOKEN).await.unwrap();
    assert_ne!(
        new_refresh, old_refresh,
        "the rotated refresh token is stored"
    );
    assert_eq!(
        w.stored(tt.id, ACCESS_TOKEN).await.unwrap(),
        token.expose_secret()
    );
    let view = w.service.account(&w.app.admin, tt.id).await.unwrap();
    assert_eq!(view.access_expires_at, Some(w.now() + Duration::hours(24)));
    assert_eq!(view.last_refresh_at, Some(w.now()));
    let updated: Vec<_> = view.credentials.iter().map(|c| c.updated_at).collect();
    assert_eq!(
        updated,
        [w.now(), w.now()],
        "both tokens written by the same refresh"
    );
    assert!(w.tiktok_accepts(token.expose_secret()).await);
    // The platform rotated the refresh token: the old one no longer works, the stored one does.
    w.app.clock.advance(Duration::hours(24));
    let again = w.service.access_token(tt.id).await.unwrap();
    assert!(w.tiktok_accepts(again.expose_secret()).await);
    assert_eq!(w.token_calls(), calls + 2);
    // Refreshes are routine: no audit event.
    assert_eq!(w.actions(tt.id).await, [AuditAction::AccountConnected]);
}

async fn a_refused_refresh_asks_for_a_reconnect_and_a_failing_one_is_recorded(app: TestApp) {
    let w = world(app).await;
    let tt = w.connect_one(Platform::Tiktok).await;
    let original = w.stored(tt.id, ACCESS_TOKEN).await.unwrap();

    // The platform is down while the token still works for a few minutes: the current token is
    // handed out, and the failure recorded once.
    w.app
        .clock
        .advance(Duration::hours(24) - Duration::seconds(120));
    for _ in 0..2 {
        w.sim.sim.push_fault(
            Endpoint::TiktokOAuthToken,
            Fault::ServerError { status: 503 },
        );
        let token = w.service.access_token(tt.id).await.unwrap();
        assert_eq!(token.expose_secret(), original);
    }
    let view = w.service.account(&w.app.admin, tt.id).await.unwrap();
    assert_eq!(view.status, AccountStatus::Connected);
    assert!(view.last_refresh_error.is_some());
    assert_eq!(
        w.actions(tt.id).await,
        [
            AuditAction::AccountConnected,
            AuditAction::AccountRefreshFailed
        ],
        "one event when failures start, not one per attempt"
    );
    // Once it has expired, a failing refresh is an error to retry later.
    w.app.clock.advance(Duration::seconds(300));
    w.sim.sim.push_fault(
        Endpoint::TiktokOAuthToken,
        Fault::ServerError { status: 500 },
    );
    let err = w.service.access_token(tt.id).await.unwrap_err();
    assert_eq!(err.code(), "account-refresh-failed");

    // The platform refuses the refresh token: the account needs a person.
    w.sim
        .sim
        .push_fault(Endpoint::TiktokOAuthToken, Fault::ExpiredToken);
    let err = w.service.access_token(tt.id).await.unwrap_err();
    assert_eq!(err.code(), "account-needs-reconnect");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let view = w.service.account(&w.app.admin, tt.id).await.unwrap();
    assert_eq!(view.status, AccountStatus::NeedsReconnect);
    assert_eq!(
        w.actions(tt.id).await.last(),
        Some(&AuditAction::AccountNeedsReconnect)
    );
    let calls = w.token_calls();
    let err = w.service.access_token(tt.id).await.unwrap_err();
    assert_eq!(err.code(), "account-needs-reconnect");
    assert_eq!(
        w.token_calls(),
        calls,
        "nothing more is asked of the platform"
    );

    // Quality checks see it too.
    let media = w.app.jpeg(1080, 1350).await;
    let post = w
        .service
        .create_post(
            &w.app.editor,
            PostInput {
                title: "Needs a reconnect".into(),
                caption: "Fresh #coffee".into(),
                hashtags: vec![],
                slides: vec![SlideInput {
                    media_id: media.to_string(),
                    alt_text: "a cup".into(),
                }],
                targets: vec![TargetInput {
                    account: tt.id.to_string(),
                    caption: None,
                    options: Default::default(),
                }],
            },
        )
        .await
        .unwrap();
    let findings = w.service.check_post(&w.app.editor, post.id).await.unwrap();
    assert!(
        findings.iter().any(|f| f.code == "account-needs-reconnect"),
        "{findings:#?}"
    );
}

async fn a_401_gets_one_forced_refresh_then_the_account_needs_reconnect(app: TestApp) {
    let w = world(app).await;
    let tt = w.connect_one(Platform::Tiktok).await;
    let first = w.service.access_token(tt.id).await.unwrap();
    let calls = w.token_calls();
    let second = w.service.force_refresh(tt.id, &first).await.unwrap();
    assert_ne!(second.expose_secret(), first.expose_secret());
    assert_eq!(w.token_calls(), calls + 1);
    // Another worker that got the same 401 with the old token gets the new one, without a refresh.
    let again = w.service.force_refresh(tt.id, &first).await.unwrap();
    assert_eq!(again.expose_secret(), second.expose_secret());
    assert_eq!(w.token_calls(), calls + 1);

    // The retry is refused too: the dispatcher marks the account.
    w.service
        .mark_needs_reconnect(tt.id, "tiktok access_token_invalid after a refresh")
        .await
        .unwrap();
    let err = w.service.access_token(tt.id).await.unwrap_err();
    assert_eq!(err.code(), "account-needs-reconnect");
    assert!(err.to_string().contains("access_token_invalid"), "{err}");
    assert_eq!(
        w.actions(tt.id).await.last(),
        Some(&AuditAction::AccountNeedsReconnect)
    );

    // A forced refresh the platform refuses marks it as well.
    let other = w.connect_one(Platform::Tiktok).await;
    let token = w.service.access_token(other.id).await.unwrap();
    w.sim
        .sim
        .push_fault(Endpoint::TiktokOAuthToken, Fault::ExpiredToken);
    let err = w.service.force_refresh(other.id, &token).await.unwrap_err();
    assert_eq!(err.code(), "account-needs-reconnect");
    let view = w.service.account(&w.app.admin, other.id).await.unwrap();
    assert_eq!(view.status, AccountStatus::NeedsReconnect);

    // Sandbox accounts hold no tokens.
    let sandbox = w
        .service
        .account_by_ref(&w.app.admin, "@sandbox.tiktok")
        .await
        .unwrap();
    let err = w.service.access_token(sandbox).await.unwrap_err();
    assert_eq!(err.code(), "account-not-connected");
}

async fn two_processes_refreshing_at_once_make_one_refresh_call(app: TestApp) {
    let w = world(app).await;
    let tt = w.connect_one(Platform::Tiktok).await;
    let other = w.another_process().await;
    for round in 1..=4 {
        w.app.clock.advance(Duration::hours(24));
        let calls = w.token_calls();
        let (a, b, c) = tokio::join!(
            w.service.access_token(tt.id),
            other.access_token(tt.id),
            other.access_token(tt.id),
        );
        let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
        assert_eq!(
            w.token_calls(),
            calls + 1,
            "round {round}: one refresh call"
        );
        assert_eq!(a.expose_secret(), b.expose_secret());
        assert_eq!(b.expose_secret(), c.expose_secret());
        assert!(w.tiktok_accepts(a.expose_secret()).await);
    }
}

async fn the_sweep_refreshes_what_expires_within_its_window(app: TestApp) {
    let w = world(app).await;
    let tt = w.connect_one(Platform::Tiktok).await;
    let ig = w.connect_one(Platform::Instagram).await;
    let page = w.sim.sim.add_facebook_page("Natron Coffee");
    let fb = w.connect(Platform::Facebook).await;
    assert!(fb.iter().any(|v| v.external_id == page.id));

    // 19 hours on, TikTok's 24-hour token expires within the 6-hour window; the others do not.
    w.app.clock.advance(Duration::hours(19));
    let report = w.service.refresh_sweep(w.now()).await.unwrap();
    assert_eq!(report.due, 1, "{report:?}");
    assert_eq!(report.refreshed, [tt.id]);
    assert!(report.failed.is_empty());
    let view = w.service.account(&w.app.admin, tt.id).await.unwrap();
    assert_eq!(view.access_expires_at, Some(w.now() + Duration::hours(24)));
    // Run again: nothing is due.
    let report = w.service.refresh_sweep(w.now()).await.unwrap();
    assert_eq!((report.due, report.refreshed.len()), (0, 0));

    // Instagram's 60-day token comes due near its end (59 days 20 hours after it was issued) and is
    // refreshed then.
    w.app.clock.advance(Duration::days(59) + Duration::hours(1));
    w.sim
        .sim
        .advance_clock(std::time::Duration::from_secs(59 * 86400));
    let report = w.service.refresh_sweep(w.now()).await.unwrap();
    assert!(report.refreshed.contains(&ig.id), "{report:?}");
    // The TikTok refresh token still works, so TikTok was refreshed too.
    assert!(report.refreshed.contains(&tt.id), "{report:?}");

    // A failure is reported, not raised, and the sweep carries on.
    w.app.clock.advance(Duration::hours(20));
    w.sim
        .sim
        .push_fault(Endpoint::TiktokOAuthToken, Fault::ExpiredToken);
    let report = w.service.refresh_sweep(w.now()).await.unwrap();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].account, tt.id);
    assert_eq!(report.failed[0].code, "account-needs-reconnect");
}

// ------------------------------------------------------------------------------------------ disconnecting

async fn disconnecting_revokes_deletes_credentials_and_keeps_history(app: TestApp) {
    let w = world(app).await;
    let tt = w.connect_one(Platform::Tiktok).await;
    let media = w.app.jpeg(1080, 1350).await;
    let post = w
        .service
        .create_post(
            &w.app.editor,
            PostInput {
                title: "History".into(),
                caption: "Fresh #coffee".into(),
                hashtags: vec![],
                slides: vec![SlideInput {
                    media_id: media.to_string(),
                    alt_text: "a cup".into(),
                }],
                targets: vec![TargetInput {
                    account: tt.id.to_string(),
                    caption: None,
                    options: Default::default(),
                }],
            },
        )
        .await
        .unwrap();
    let token = w.service.access_token(tt.id).await.unwrap();

    // The platform fails to revoke: nothing changes unless asked to purge.
    w.sim.sim.push_fault(
        Endpoint::TiktokOAuthRevoke,
        Fault::ServerError { status: 503 },
    );
    let err = w
        .service
        .disconnect(&w.app.admin, tt.id, false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "revoke-failed");
    assert!(err.to_string().contains("--purge"), "{err}");
    assert_eq!(
        w.service.store().credentials_of(tt.id).await.unwrap().len(),
        2
    );
    let err = w
        .service
        .disconnect(&w.app.editor, tt.id, false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "permission-denied");

    let report = w
        .service
        .disconnect(&w.app.admin, tt.id, false)
        .await
        .unwrap();
    assert_eq!(report.revoke, "revoked");
    assert_eq!(report.credentials_deleted, 2);
    assert!(
        !w.tiktok_accepts(token.expose_secret()).await,
        "revoked at TikTok"
    );
    assert!(
        w.service
            .store()
            .credentials_of(tt.id)
            .await
            .unwrap()
            .is_empty(),
        "gone from the database"
    );
    assert_eq!(report.account.status, AccountStatus::Disconnected);
    assert!(report.account.credentials.is_empty());
    assert_eq!(report.account.access_expires_at, None);
    let post = w.service.post(&w.app.editor, post.id).await.unwrap();
    assert_eq!(post.targets[0].account_id, tt.id, "the history stays");
    assert_eq!(
        w.actions(tt.id).await,
        [
            AuditAction::AccountConnected,
            AuditAction::AccountDisconnected,
            AuditAction::CredentialsPurged
        ]
    );
    let err = w.service.access_token(tt.id).await.unwrap_err();
    assert_eq!(err.code(), "account-disconnected");

    // Instagram Login offers no revoke: the credentials go all the same.
    let ig = w.connect_one(Platform::Instagram).await;
    let report = w
        .service
        .disconnect(&w.app.admin, ig.id, false)
        .await
        .unwrap();
    assert_eq!(report.revoke, "not-offered");
    assert_eq!(report.credentials_deleted, 1);

    // --purge deletes even when revoking fails.
    let other = w.connect_one(Platform::Tiktok).await;
    w.sim.sim.push_fault(
        Endpoint::TiktokOAuthRevoke,
        Fault::ServerError { status: 503 },
    );
    let report = w
        .service
        .disconnect(&w.app.admin, other.id, true)
        .await
        .unwrap();
    assert_eq!(report.revoke, "failed");
    assert_eq!(report.credentials_deleted, 2);

    // And without the vault key (it was lost): only --purge can delete.
    let again = w.connect_one(Platform::Tiktok).await;
    let keyless = w.app.service.clone();
    let err = keyless
        .disconnect(&w.app.admin, again.id, false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "vault-not-configured");
    let report = keyless
        .disconnect(&w.app.admin, again.id, true)
        .await
        .unwrap();
    assert_eq!(report.credentials_deleted, 2);
}

// ------------------------------------------------------------------------------------------ secrets

/// Everything written to the logs of this process, at `trace`, `log` records included.
fn captured_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .try_init()
            .expect("the test's log subscriber is the only one");
        logs
    })
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

async fn no_plaintext_token_in_the_database_logs_or_outputs(app: TestApp) {
    let logs = captured_logs();
    let w = world(app).await;
    tracing::info!("trace capture works");
    let page = w.sim.sim.add_facebook_page("Natron Coffee");
    w.sim.sim.link_instagram_to_page(&page.id, "natron.coffee");
    let mut outputs = Vec::new();
    let tt = w.connect_one(Platform::Tiktok).await;
    let ig = w.connect_one(Platform::Instagram).await;
    let fb = w.connect(Platform::Facebook).await;
    outputs.push(format!("{tt:?} {ig:?} {fb:?}"));
    outputs.push(serde_json::to_string(&(&tt, &ig, &fb)).unwrap());
    let start = w
        .service
        .start_connect(&w.app.admin, Platform::Tiktok)
        .await
        .unwrap();
    outputs.push(format!("{start:?}"));
    // Refresh every way there is.
    w.app.clock.advance(Duration::hours(25));
    w.sim
        .sim
        .advance_clock(std::time::Duration::from_secs(25 * 3600));
    let token = w.service.access_token(tt.id).await.unwrap();
    outputs.push(format!("{token:?}"));
    let forced = w.service.force_refresh(tt.id, &token).await.unwrap();
    outputs.push(format!("{forced:?}"));
    let report = w
        .service
        .refresh_account(&w.app.admin, ig.id)
        .await
        .unwrap();
    outputs.push(serde_json::to_string(&report).unwrap());
    let sweep = w.service.refresh_sweep(w.now()).await.unwrap();
    outputs.push(serde_json::to_string(&sweep).unwrap());
    w.sim
        .sim
        .push_fault(Endpoint::TiktokOAuthToken, Fault::ExpiredToken);
    let err = w.service.force_refresh(tt.id, &forced).await.unwrap_err();
    outputs.push(format!("{err} {err:?}"));
    let listed = w.service.connected_accounts(&w.app.admin).await.unwrap();
    outputs.push(serde_json::to_string(&listed).unwrap());
    let report = w
        .service
        .disconnect(&w.app.admin, ig.id, false)
        .await
        .unwrap();
    outputs.push(serde_json::to_string(&report).unwrap());
    for e in w.service.store().recent_audit(100).await.unwrap() {
        outputs.push(format!("{:?}", e.event));
    }

    let secrets = w.sim.sim.issued_secrets();
    assert!(secrets.len() >= 8, "{} tokens issued", secrets.len());
    let mut places: Vec<(String, Vec<u8>)> = outputs
        .into_iter()
        .enumerate()
        .map(|(i, o)| (format!("output {i}"), o.into_bytes()))
        .collect();
    places.push((
        "trace logs".into(),
        logs.lock().unwrap_or_else(|p| p.into_inner()).clone(),
    ));
    let traces = &places.last().unwrap().1;
    assert!(
        contains(traces, "trace capture works"),
        "the capture sees this test's logs"
    );
    assert!(
        contains(traces, "TRACE hyper_util") && contains(traces, "sqlx::query"),
        "the HTTP client's and the database's own traces are captured too"
    );
    if let Some(path) = w.app.db.url.strip_prefix("sqlite:") {
        for suffix in ["", "-wal", "-shm"] {
            if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
                places.push((format!("database file{suffix}"), bytes));
            }
        }
        assert!(places.iter().any(|(name, _)| name == "database file"));
    } else {
        // PostgreSQL: every stored byte that could hold a token, as the database returns it.
        let pool = sqlx_dump(&w.app.db.url).await;
        places.push(("database rows".into(), pool));
    }
    for secret in &secrets {
        for (place, bytes) in &places {
            assert!(!contains(bytes, secret), "a token appears in {place}");
        }
    }
    // The state itself is stored only as a hash.
    for (place, bytes) in &places {
        if place.starts_with("database") {
            assert!(!contains(bytes, &start.state), "the raw state in {place}");
        }
    }
}

/// Every account, credential, state and audit row of a PostgreSQL database, as text and bytes.
async fn sqlx_dump(url: &str) -> Vec<u8> {
    use sqlx::Row as _;
    let pool = sqlx::PgPool::connect(url).await.expect("connect");
    let mut out = Vec::new();
    for table in ["accounts", "credentials", "oauth_states", "audit_events"] {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT to_jsonb(t)::text AS row FROM {table} t"
        )))
        .fetch_all(&pool)
        .await
        .expect("dump");
        for row in rows {
            let text: String = row.get("row");
            out.extend_from_slice(text.as_bytes());
        }
    }
    let blobs = sqlx::query("SELECT ciphertext FROM credentials")
        .fetch_all(&pool)
        .await
        .expect("blobs");
    for row in blobs {
        let bytes: Vec<u8> = row.get("ciphertext");
        out.extend_from_slice(&bytes);
    }
    pool.close().await;
    out
}

async fn rotation_interrupted_halfway_and_resumed_leaves_every_token_readable(app: TestApp) {
    let mut w = world(app).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(w.connect_one(Platform::Tiktok).await.id);
    }
    ids.push(w.connect_one(Platform::Instagram).await.id);
    let mut before = Vec::new();
    for id in &ids {
        before.push(w.service.access_token(*id).await.unwrap());
    }

    // A ciphertext moved onto another account's row does not open.
    let store = w.service.store().clone();
    let a = store.credential(ids[0], ACCESS_TOKEN).await.unwrap();
    let moved = SealedCredential {
        account_id: ids[1],
        ..a.clone()
    };
    store.put_credentials(&[moved], None).await.unwrap();
    let err = w.service.access_token(ids[1]).await.unwrap_err();
    assert_eq!(err.code(), "credential-tampered");
    // Put the right one back (from the platform's point of view nothing happened).
    w.sim.sim.consent_as_tiktok(
        &w.service
            .account(&w.app.admin, ids[1])
            .await
            .unwrap()
            .external_id,
    );
    let reconnected = w.connect_one(Platform::Tiktok).await;
    assert_eq!(reconnected.id, ids[1]);
    before[1] = w.service.access_token(ids[1]).await.unwrap();

    // Key 2 becomes primary; the rotation stops after its first batch, as a crash would.
    w.keys
        .insert(2, KeyMaterial::generate().expect("second key"));
    let rotating = w
        .service
        .clone()
        .with_vault(vault_on(&w.service, &w.keys, 2));
    let status = rotating.vault_status(&w.app.admin).await.unwrap();
    assert_eq!(status.key(1).unwrap().sealed, 7);
    let first = rotating
        .rotate_vault(&w.app.admin, 3, |_| std::ops::ControlFlow::Break(()))
        .await
        .unwrap();
    assert!(first.stopped);
    assert_eq!((first.resealed, first.remaining), (3, 4));
    // Halfway, everything still opens (old key for some, new for others).
    for (id, token) in ids.iter().zip(&before) {
        let now = rotating.access_token(*id).await.unwrap();
        assert_eq!(now.expose_secret(), token.expose_secret());
    }
    let resumed = rotating
        .rotate_vault(&w.app.admin, 3, |_| std::ops::ControlFlow::Continue(()))
        .await
        .unwrap();
    assert_eq!((resumed.resealed, resumed.remaining), (4, 0));
    let status = rotating.vault_status(&w.app.admin).await.unwrap();
    assert!(status.key(1).unwrap().retirable());
    assert_eq!(status.key(2).unwrap().sealed, 7);

    // Key 1 retired: every token still opens.
    let retired = BTreeMap::from([(2, w.keys[&2].clone())]);
    let only_new = w
        .service
        .clone()
        .with_vault(vault_on(&w.service, &retired, 2));
    for (id, token) in ids.iter().zip(&before) {
        let now = only_new.access_token(*id).await.unwrap();
        assert_eq!(now.expose_secret(), token.expose_secret());
    }
    let rotations = w
        .service
        .store()
        .recent_audit(10)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event.action == AuditAction::VaultRotated)
        .count();
    assert_eq!(rotations, 2);
    let err = w.service.vault_status(&w.app.editor).await.unwrap_err();
    assert_eq!(err.code(), "permission-denied");
}

// ------------------------------------------------------------------------------------------ configuration

#[test]
#[allow(
    clippy::result_large_err,
    reason = "figment's Jail API fixes the closure's error type"
)]
fn vault_keys_and_app_secrets_come_from_the_environment_and_are_never_written_back() {
    let key = natronfx_vault::generate_key().expect("key");
    let key = key.expose().to_owned();
    figment::Jail::expect_with(|jail| {
        jail.set_env("NATRONFX_VAULT__PRIMARY", "1");
        jail.set_env("NATRONFX_VAULT__KEYS__1", &key);
        jail.set_env("NATRONFX_APPS__TIKTOK__CLIENT_KEY", "tt-client");
        jail.set_env(
            "NATRONFX_APPS__TIKTOK__CLIENT_SECRET",
            "tt-secret-0123456789",
        );
        jail.set_env("NATRONFX_ACCOUNTS__REFRESH_SKEW_SECS", "60");
        let config = natronfx_service::Config::load(None).map_err(|e| e.to_string())?;
        let vault = config.vault.as_ref().expect("a [vault] section");
        assert_eq!(vault.primary, 1);
        assert!(Keyring::from_config(vault).is_ok());
        assert_eq!(config.apps.tiktok.client_key, "tt-client");
        assert_eq!(
            config
                .apps
                .tiktok
                .client_secret
                .as_ref()
                .map(|s| s.expose_secret().to_owned())
                .as_deref(),
            Some("tt-secret-0123456789")
        );
        assert_eq!(config.accounts.refresh_skew_secs, 60);
        let written = toml::to_string(&config).map_err(|e| e.to_string())?;
        let debugged = format!("{config:?}");
        for text in [&written, &debugged] {
            assert!(!text.contains("tt-secret-0123456789"));
            assert!(!text.contains(&key));
        }
        Ok(())
    });
}

#[tokio::test]
async fn a_missing_or_malformed_vault_key_stops_start_up_naming_the_setting() {
    use natronfx_service::store::testing::TestDb;
    for db in [TestDb::sqlite(), TestDb::postgres().await] {
        start_up_with_vault_settings(&db).await;
    }
}

async fn start_up_with_vault_settings(db: &natronfx_service::store::testing::TestDb) {
    use natronfx_vault::VaultConfig;
    let media = std::env::temp_dir().join(format!("natronfx-media-{}", AccountId::random()));
    let mut config = natronfx_service::Config::default();
    config.database.url = db.url.clone();
    config.media.root = media.display().to_string();
    config.vault = Some(VaultConfig {
        primary: 1,
        keys: BTreeMap::from([(1, SecretString::from("not base64 at all!"))]),
        key_file: None,
    });
    let err = Service::from_config(&config).await.unwrap_err();
    assert_eq!(err.code(), "vault-key-malformed");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("vault.keys.1"), "{err}");
    config.vault = Some(VaultConfig {
        primary: 2,
        keys: BTreeMap::new(),
        key_file: None,
    });
    let err = Service::from_config(&config).await.unwrap_err();
    assert_eq!(err.code(), "vault-key-missing");
    assert!(err.to_string().contains("vault.keys"), "{err}");

    // No [vault] at all: everything but secrets works.
    config.vault = None;
    let service = Service::from_config(&config).await.unwrap();
    let admin = service
        .init(
            "admin@example.com",
            "Admin",
            &SecretString::from(natronfx_service::testing::TEST_PASSWORD),
        )
        .await
        .unwrap();
    assert_eq!(service.connected_accounts(&admin).await.unwrap().len(), 3);
    let err = service
        .start_connect(&admin, Platform::Tiktok)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "vault-not-configured");
    assert!(err.to_string().contains("NATRONFX_VAULT__KEYS"), "{err}");
    let err = service.vault_status(&admin).await.unwrap_err();
    assert_eq!(err.code(), "vault-not-configured");
    let _ = std::fs::remove_dir_all(media);
}

// ------------------------------------------------------------------------------------------ credential removal and export

async fn a_purged_account_leaves_no_secret_in_the_vault(app: TestApp) {
    let w = world(app).await;
    let tt = w.connect_one(Platform::Tiktok).await;
    let sealed = |status: &natronfx_vault::VaultStatus| -> u64 {
        status.keys.iter().map(|k| k.sealed).sum()
    };
    let before = w.service.vault_status(&w.app.admin).await.unwrap();
    assert_eq!(sealed(&before), 2, "an access and a refresh token");
    // Even with the platform refusing to revoke, --purge removes every stored secret.
    w.sim.sim.push_fault(
        Endpoint::TiktokOAuthRevoke,
        Fault::ServerError { status: 503 },
    );
    let report = w
        .service
        .disconnect(&w.app.admin, tt.id, true)
        .await
        .unwrap();
    assert_eq!(report.credentials_deleted, 2);
    let after = w.service.vault_status(&w.app.admin).await.unwrap();
    assert_eq!(
        sealed(&after),
        0,
        "vault status confirms none remain: {after:?}"
    );
    assert!(
        w.service
            .store()
            .credentials_of(tt.id)
            .await
            .unwrap()
            .is_empty()
    );
    let purged = w
        .service
        .store()
        .search_audit(&natronfx_service::store::AuditFilter {
            action: Some(AuditAction::CredentialsPurged),
            subject_id: Some(tt.id.to_string()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(purged.len(), 1, "the purge is in the audit log");
    assert_eq!(purged[0].event.actor, Some(w.app.admin.id));
    assert!(
        purged[0]
            .event
            .note
            .as_deref()
            .unwrap()
            .contains("access_token"),
        "{:?}",
        purged[0].event.note
    );
    w.service.verify_audit(&w.app.admin).await.unwrap();
}

fn export_schema() -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/export.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("docs/export.schema.json"))
        .expect("the schema is JSON")
}

fn assert_matches_schema(bundle: &serde_json::Value) {
    let schema = export_schema();
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("a valid JSON Schema 2020-12");
    let errors: Vec<String> = validator
        .iter_errors(bundle)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "the export breaks its schema: {errors:#?}"
    );
}

async fn an_export_matches_its_schema_and_holds_no_token(app: TestApp) {
    use natronfx_service::ExportScope;
    use natronfx_service::store::LogEntry;
    let w = world(app).await;
    let tt = w.connect_one(Platform::Tiktok).await;
    let ig = w.connect_one(Platform::Instagram).await;
    // A token refreshed once, so the simulator issued more than one of each.
    w.service
        .force_refresh(tt.id, &w.service.access_token(tt.id).await.unwrap())
        .await
        .unwrap();
    let media = w.app.photo(1080, 1350, 7).await;
    let post = w
        .service
        .create_post(
            &w.app.editor,
            PostInput {
                title: "Exported".into(),
                caption: "Fresh #coffee".into(),
                hashtags: vec!["roast".into()],
                slides: vec![SlideInput {
                    media_id: media.to_string(),
                    alt_text: "a cup".into(),
                }],
                targets: vec![
                    TargetInput {
                        account: tt.id.to_string(),
                        caption: Some("for tiktok".into()),
                        options: Default::default(),
                    },
                    TargetInput {
                        account: ig.id.to_string(),
                        caption: None,
                        options: Default::default(),
                    },
                ],
            },
        )
        .await
        .unwrap();
    // Another post, reviewed (a sandbox account skips the checks that reach the network).
    let reviewed = w
        .service
        .create_post(
            &w.app.editor,
            PostInput {
                title: "Reviewed".into(),
                caption: "Dark roast #coffee".into(),
                hashtags: vec![],
                slides: vec![SlideInput {
                    media_id: media.to_string(),
                    alt_text: "a cup".into(),
                }],
                targets: vec![TargetInput {
                    account: "@sandbox.instagram".into(),
                    caption: None,
                    options: Default::default(),
                }],
            },
        )
        .await
        .unwrap();
    w.service
        .submit_post(&w.app.editor, reviewed.id)
        .await
        .unwrap();
    w.service
        .request_changes(&w.app.reviewer, reviewed.id, Some("brighter please".into()))
        .await
        .unwrap();
    // A line of publishing history, as the dispatcher writes it.
    let stored = w.service.store().post(post.id).await.unwrap();
    let target = stored.targets[0].id;
    w.service
        .store()
        .save_post_logged(
            stored.snapshot(),
            &[],
            &[LogEntry {
                remote_id: Some("v_pub_1".into()),
                http_status: Some(503),
                ..LogEntry::new(
                    target,
                    post.id,
                    1,
                    w.now(),
                    "retry",
                    "the platform was busy",
                )
            }],
            &[],
        )
        .await
        .unwrap();

    let err = w
        .service
        .export(&w.app.editor, ExportScope::Post(post.id))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "permission-denied");
    let one = w
        .service
        .export(&w.app.admin, ExportScope::Post(post.id))
        .await
        .unwrap();
    let all = w
        .service
        .export(&w.app.admin, ExportScope::All)
        .await
        .unwrap();
    let one = serde_json::to_value(&one).unwrap();
    let all = serde_json::to_value(&all).unwrap();
    assert_matches_schema(&one);
    assert_matches_schema(&all);
    // The schema is strict: a field it does not describe (say, a token) is refused.
    let mut leaked = one.clone();
    leaked["accounts"][0]["access_token"] = "t".into();
    let schema = export_schema();
    assert!(
        !jsonschema::draft202012::is_valid(&schema, &leaked),
        "an undescribed field breaks the schema"
    );

    assert_eq!(one["schema_version"], 1);
    assert_eq!(one["posts"].as_array().unwrap().len(), 1);
    let p = &one["posts"][0];
    assert_eq!(p["targets"].as_array().unwrap().len(), 2);
    assert_eq!(all["posts"].as_array().unwrap().len(), 2);
    let reviews: Vec<&serde_json::Value> = all["posts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["reviews"].as_array().unwrap())
        .collect();
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0]["decision"], "request_changes");
    assert_eq!(p["publish_attempts"][0]["remote_id"], "v_pub_1");
    let m = &one["media"][0];
    let row = w.service.store().media(media).await.unwrap();
    assert_eq!(
        (m["sha256"].as_str(), m["bytes"].as_i64()),
        (Some(row.sha256.as_str()), Some(row.bytes))
    );
    assert!(m["public_url"].as_str().unwrap().ends_with(&row.key));
    assert_eq!(one["accounts"].as_array().unwrap().len(), 2);
    assert_eq!(all["accounts"].as_array().unwrap().len(), 3);
    let actions: Vec<&str> = one["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["post-created"]);
    assert!(all["audit_events"].as_array().unwrap().len() > actions.len());

    let exported = w
        .service
        .store()
        .search_audit(&natronfx_service::store::AuditFilter {
            action: Some(AuditAction::DataExported),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(exported.len(), 2, "each export is audited");
    assert_eq!(exported[1].event.subject_id, post.id.to_string());

    let secrets = w.sim.sim.issued_secrets();
    assert!(secrets.len() >= 4, "{} tokens issued", secrets.len());
    for bundle in [&one, &all] {
        let text = serde_json::to_string(bundle).unwrap();
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "a token is in the export");
        }
    }
}

/// A post to the TikTok account scheduled and claimed once, then handed back to wait for a reconnect, as
/// the dispatcher does after the platform refused the token twice: reconnecting makes it due at once.
async fn reconnecting_makes_the_targets_that_waited_for_the_account_due_at_once(app: TestApp) {
    use natronfx_service::store::{DispatchRecord, Fence, Lease};
    use natronfx_service::workflow::{ApprovalPolicy, ScheduledAt};

    let w = world(app).await;
    let tt = w.connect_one(Platform::Tiktok).await;
    let s = &w.service;
    let media = w.app.jpeg(1080, 1920).await;
    let draft = s
        .create_post(
            &w.app.editor,
            PostInput {
                title: "Waits for its account".into(),
                caption: "Soon #coffee".into(),
                slides: vec![SlideInput {
                    media_id: media.to_string(),
                    alt_text: "a cup".into(),
                }],
                targets: vec![TargetInput {
                    account: tt.display_name.clone(),
                    caption: None,
                    options: Default::default(),
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // Submitted and scheduled through the workflow itself: this test is about the queue, not the checks
    // (which would probe the slide's public URL).
    let now = w.now();
    let mut post = s.store().post(draft.id).await.unwrap();
    let mut events = post
        .submit(&w.app.editor, ApprovalPolicy::None, now)
        .unwrap();
    let at = ScheduledAt::new(now + Duration::minutes(1), now).unwrap();
    events.extend(post.schedule(&w.app.editor, None, at, now).unwrap());
    s.store().save_post(post.snapshot(), &events).await.unwrap();

    let due = now + Duration::minutes(1);
    let claims = s
        .store()
        .claim_due("w1", due, due + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(claims.len(), 1);
    let claim = &claims[0];
    let wait = DispatchRecord {
        next_attempt_at: Some(due + Duration::minutes(15)),
        last_error: Some("tiktok access_token_invalid".into()),
        ..Default::default()
    };
    let fence = Fence {
        target: claim.target,
        worker: "w1".into(),
        attempt: claim.attempt,
    };
    s.store()
        .write_claimed(&fence, &wait, Lease::Release, None, &[])
        .await
        .unwrap();
    s.mark_needs_reconnect(tt.id, "tiktok access_token_invalid after a refresh")
        .await
        .unwrap();
    w.app.clock.advance(Duration::minutes(2));
    let later = w.now();
    assert!(
        s.store()
            .claim_due("w1", later, later + Duration::seconds(60), 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing goes to an account that needs reconnecting"
    );

    // The same person signs in to TikTok again: the account is connected and its target due now.
    w.sim.sim.consent_as_tiktok(&tt.external_id);
    let again = w.connect_one(Platform::Tiktok).await;
    assert_eq!(again.id, tt.id);
    assert_eq!(again.status, AccountStatus::Connected);
    let record = s.store().dispatch_record(claim.target).await.unwrap();
    assert_eq!(record.next_attempt_at, Some(later));
    let claims = s
        .store()
        .claim_due("w1", later, later + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(claims.len(), 1, "it goes out now, not after its backoff");
}
