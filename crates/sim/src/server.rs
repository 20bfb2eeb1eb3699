//! Running the simulator: in-process for tests (`Simulator::start`) or on any listener (`serve`).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::SimConfig;
use crate::faults::{Endpoint, Fault, RandomFaults};
use crate::shared::Shared;
use crate::state::{ConsentKind, GraphHost, Network, PublishedPost, SimAccount, TiktokCreator};
use crate::{Result, SimError, graph, oauth, openai, tiktok};

/// A simulator: its world and the controls tests use. Cheap to clone; clones share the world.
#[derive(Debug, Clone)]
pub struct Simulator {
    shared: Arc<Shared>,
}

impl Simulator {
    /// A simulator with an empty world.
    pub fn new(config: SimConfig) -> Self {
        Self {
            shared: Arc::new(Shared::new(config)),
        }
    }

    /// Bind 127.0.0.1 on a free port and serve in the background.
    pub async fn start(config: SimConfig) -> Result<SimHandle> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(SimError::Bind)?;
        let addr = listener.local_addr().map_err(SimError::Bind)?;
        let sim = Self::new(config);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = sim.clone();
        let task = tokio::spawn(async move {
            server
                .serve(listener, async {
                    let _ = stop_rx.await;
                })
                .await
        });
        Ok(SimHandle {
            sim,
            addr,
            stop: Some(stop_tx),
            task: Some(task),
        })
    }

    /// The HTTP routes: TikTok under `/tiktok`, Graph under `/instagram` and `/facebook`, consent pages
    /// under `/tiktok-www`, `/instagram-www` and `/facebook-www`, Instagram's token host under `/instagram-api`.
    pub fn router(&self) -> Router {
        Router::new()
            .merge(tiktok::routes())
            .merge(graph::routes())
            .merge(oauth::routes())
            .merge(openai::routes())
            .route("/_sim/published", axum::routing::get(published_route))
            .with_state(self.shared.clone())
    }

    /// Serve on a listener until `shutdown` completes; requests held by a hang are released.
    pub async fn serve<F>(&self, listener: TcpListener, shutdown: F) -> Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let stop = self.shared.stop.clone();
        let signal = async move {
            shutdown.await;
            stop.send_replace(true);
        };
        axum::serve(listener, self.router())
            .with_graceful_shutdown(signal)
            .await
            .map_err(SimError::Serve)
    }

    /// Add a TikTok creator; its token lives 24 h of simulated time.
    pub fn add_tiktok_account(&self, creator: TiktokCreator) -> SimAccount {
        self.shared.lock().create_tiktok_account(creator)
    }

    /// Add an Instagram professional account reachable with a token for `host`
    /// (Instagram Login → `GraphHost::Instagram`, Facebook Login → `GraphHost::Facebook`); 60-day token.
    pub fn add_instagram_account(&self, username: &str, host: GraphHost) -> SimAccount {
        self.shared.lock().create_instagram_account(username, host)
    }

    /// Add a Facebook Page with a Page token that does not expire.
    pub fn add_facebook_page(&self, name: &str) -> SimAccount {
        self.shared.lock().create_facebook_page(name)
    }

    /// Make the next TikTok consent screen log in as this account (by default a new creator is made).
    pub fn consent_as_tiktok(&self, open_id: &str) {
        self.shared
            .lock()
            .consent
            .insert(ConsentKind::Tiktok, open_id.to_owned());
    }

    /// Make the next Instagram Login consent screen log in as this account (by default a new one is made).
    pub fn consent_as_instagram(&self, ig_user_id: &str) {
        self.shared
            .lock()
            .consent
            .insert(ConsentKind::InstagramLogin, ig_user_id.to_owned());
    }

    /// Make the next visitor of this platform's consent screen decline: the browser is sent back with
    /// `error=access_denied` (and Meta's `error_reason=user_denied`) instead of a code.
    pub fn deny_next_consent(&self, network: Network) {
        let kind = match network {
            Network::Tiktok => ConsentKind::Tiktok,
            Network::Instagram => ConsentKind::InstagramLogin,
            Network::Facebook => ConsentKind::FacebookLogin,
        };
        self.shared.lock().denials.insert(kind);
    }

    /// Link a new Instagram professional account to a Page (Instagram API with Facebook Login): the
    /// Page answers it as `instagram_business_account`, and the Page's tokens act for it on
    /// `graph.facebook.com`. The returned token is one of its own, for that host.
    pub fn link_instagram_to_page(&self, page_id: &str, username: &str) -> SimAccount {
        let mut state = self.shared.lock();
        let account = state.create_instagram_account(username, GraphHost::Facebook);
        state
            .ig_links
            .insert(page_id.to_owned(), account.id.clone());
        account
    }

    /// Every token and refresh token issued so far (for tests that prove none of them leaks).
    pub fn issued_secrets(&self) -> Vec<String> {
        let state = self.shared.lock();
        let mut all: Vec<String> = state.tokens.keys().cloned().collect();
        all.extend(state.issued_refresh.iter().cloned());
        all.sort();
        all
    }

    /// Make a token expire now.
    pub fn expire_token(&self, token: &str) {
        let mut state = self.shared.lock();
        let now = state.now();
        if let Some(record) = state.tokens.get_mut(token) {
            record.expires_at = Some(now);
        }
    }

    /// Move simulated time forward.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.lock().advance(by);
    }

    /// Simulated now.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.shared.lock().now()
    }

    /// Script a fault for the next request to `endpoint` (faults queue in order).
    pub fn push_fault(&self, endpoint: Endpoint, fault: Fault) {
        self.shared.lock().faults.push(endpoint, fault);
    }

    /// Inject random faults from a seed, or stop with `None`.
    pub fn set_random_faults(&self, random: Option<RandomFaults>) {
        self.shared.lock().faults.set_random(random);
    }

    /// How many faults were injected so far.
    pub fn faults_injected(&self) -> u64 {
        self.shared.lock().faults.injected
    }

    /// Forget all scripted and random faults.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Everything published to an account, in order, after letting due processing finish.
    pub fn published(&self, account_id: &str) -> Vec<PublishedPost> {
        let mut state = self.shared.lock();
        state.settle_tiktok();
        state
            .posts
            .iter()
            .filter(|p| p.account_id == account_id)
            .cloned()
            .collect()
    }

    /// Everything published anywhere.
    pub fn all_published(&self) -> Vec<PublishedPost> {
        let mut state = self.shared.lock();
        state.settle_tiktok();
        state.posts.clone()
    }

    /// How many requests reached an endpoint (faulted ones included).
    pub fn calls(&self, endpoint: Endpoint) -> u64 {
        self.shared
            .lock()
            .calls
            .get(&endpoint)
            .copied()
            .unwrap_or(0)
    }

    /// Things a client sent that the platform would silently ignore (e.g. a caption on a carousel item).
    pub fn contract_warnings(&self) -> Vec<String> {
        self.shared.lock().warnings.clone()
    }
}

/// A running in-process simulator. Dropping it stops the server.
#[derive(Debug)]
pub struct SimHandle {
    sim: Simulator,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<()>>>,
}

impl SimHandle {
    /// The simulator's controls.
    pub fn sim(&self) -> &Simulator {
        &self.sim
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL standing in for `https://open.tiktokapis.com`.
    pub fn tiktok_base_url(&self) -> String {
        format!("http://{}/tiktok", self.addr)
    }

    /// Base URL standing in for `https://graph.instagram.com`.
    pub fn instagram_base_url(&self) -> String {
        format!("http://{}/instagram", self.addr)
    }

    /// Base URL standing in for `https://graph.facebook.com`.
    pub fn facebook_base_url(&self) -> String {
        format!("http://{}/facebook", self.addr)
    }

    /// Stands in for `https://www.tiktok.com/v2/auth/authorize/` (consents at once).
    pub fn tiktok_authorize_url(&self) -> String {
        format!("http://{}/tiktok-www/v2/auth/authorize/", self.addr)
    }

    /// Stands in for `https://www.instagram.com/oauth/authorize` (consents at once).
    pub fn instagram_authorize_url(&self) -> String {
        format!("http://{}/instagram-www/oauth/authorize", self.addr)
    }

    /// Stands in for `https://api.instagram.com` (short-lived token exchange).
    pub fn instagram_api_base_url(&self) -> String {
        format!("http://{}/instagram-api", self.addr)
    }

    /// Stands in for `https://www.facebook.com/{version}/dialog/oauth` (consents at once).
    pub fn facebook_dialog_url(&self, version: &str) -> String {
        format!("http://{}/facebook-www/{version}/dialog/oauth", self.addr)
    }

    /// Base URL standing in for `https://api.openai.com` (append `/v1/images/generations`).
    pub fn openai_base_url(&self) -> String {
        format!("http://{}/openai", self.addr)
    }

    /// Stop serving and wait for the server to finish.
    pub async fn shutdown(mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task
                .await
                .map_err(|e| SimError::Serve(std::io::Error::other(e)))?,
            None => Ok(()),
        }
    }
}

impl std::ops::Deref for SimHandle {
    type Target = Simulator;
    fn deref(&self) -> &Simulator {
        &self.sim
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.sim.shared.stop.send_replace(true);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serve a fresh simulator on `listener` until `shutdown` completes (for a standalone binary).
pub async fn serve<F>(listener: TcpListener, config: SimConfig, shutdown: F) -> Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    Simulator::new(config).serve(listener, shutdown).await
}

/// `GET /_sim/published`: the read-back as JSON, for tests that drive the simulator from another process.
async fn published_route(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
) -> axum::Json<Vec<crate::PublishedPost>> {
    let mut state = shared.lock();
    state.settle_tiktok();
    axum::Json(state.posts.clone())
}
