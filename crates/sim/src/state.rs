//! The simulator's world: accounts, tokens, in-flight publishes and containers, and what was published.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::{ClockMode, SimConfig};
use crate::faults::{Endpoint, FaultPlan};

/// A platform the simulator imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// TikTok.
    Tiktok,
    /// Instagram.
    Instagram,
    /// Facebook Pages.
    Facebook,
}

/// Which Graph host a token works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GraphHost {
    /// `graph.instagram.com` (Instagram Login tokens).
    Instagram,
    /// `graph.facebook.com` (Facebook Login and Page tokens).
    Facebook,
}

/// An account created in the simulator, with a working token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimAccount {
    /// The platform-side id: TikTok `open_id`, Instagram user id, Page id.
    pub id: String,
    /// A valid access token for it.
    pub token: String,
    /// The handle or Page name.
    pub username: String,
}

/// How a simulated TikTok creator is set up.
#[derive(Debug, Clone)]
pub struct TiktokCreator {
    /// The @handle.
    pub username: String,
    /// A private account offers `FOLLOWER_OF_CREATOR` instead of `PUBLIC_TO_EVERYONE`.
    pub private_account: bool,
    /// The creator turned comments off.
    pub comment_disabled: bool,
}

impl Default for TiktokCreator {
    fn default() -> Self {
        Self {
            username: "natron.demo".into(),
            private_account: false,
            comment_disabled: false,
        }
    }
}

/// A post that went live, as the platform would list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedPost {
    /// Which platform.
    pub network: Network,
    /// The account it was published to.
    pub account_id: String,
    /// The platform's post id (text; TikTok ids are 19 digits).
    pub id: String,
    /// Title (TikTok).
    pub title: Option<String>,
    /// Caption / description / message.
    pub caption: String,
    /// The image URLs it was made of, in order.
    pub image_urls: Vec<String>,
    /// TikTok privacy level.
    pub privacy_level: Option<String>,
    /// Simulated time of publication.
    pub created_at: DateTime<Utc>,
    /// Link to the post.
    pub permalink: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub network: Network,
    pub host: Option<GraphHost>,
    pub account_id: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub issued_at: DateTime<Utc>,
    pub kind: TokenKind,
}

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A token that can call the APIs for its account.
    Access,
    /// An Instagram Login short-lived token, only good for the long-lived exchange.
    ShortLived,
    /// A Facebook user token: lists Pages, cannot publish to them.
    FacebookUser,
}

/// Who a consent screen logs in as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ConsentKind {
    Tiktok,
    InstagramLogin,
    FacebookLogin,
}

/// An authorization code waiting to be exchanged.
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub kind: ConsentKind,
    pub account_id: String,
    pub redirect_uri: String,
    pub challenge: Option<String>,
    pub scopes: String,
    pub issued_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct TiktokAccount {
    pub creator: TiktokCreator,
}

#[derive(Debug, Clone)]
pub(crate) struct Progression {
    pub created_at: DateTime<Utc>,
    pub polls: u32,
    pub polls_needed: u32,
    pub ready_at: DateTime<Utc>,
}

impl Progression {
    pub(crate) fn new(now: DateTime<Utc>, config: &SimConfig, extra_polls: u32) -> Self {
        let processing = chrono::Duration::from_std(config.processing_time)
            .unwrap_or_else(|_| chrono::Duration::seconds(30));
        Self {
            created_at: now,
            polls: 0,
            polls_needed: config.polls_to_finish + extra_polls,
            ready_at: now + processing,
        }
    }

    /// Count a poll and say whether processing is over.
    pub(crate) fn poll(&mut self, now: DateTime<Utc>) -> bool {
        self.polls += 1;
        self.done(now)
    }

    pub(crate) fn done(&self, now: DateTime<Utc>) -> bool {
        self.polls > self.polls_needed || now >= self.ready_at
    }
}

#[derive(Debug, Clone)]
pub(crate) struct TiktokPublish {
    pub open_id: String,
    pub title: Option<String>,
    pub description: String,
    pub image_urls: Vec<String>,
    pub privacy_level: String,
    /// The pull's outcome; `None` while the photos are still being downloaded.
    pub verdict: Option<Result<(), &'static str>>,
    /// Turns `true` once the pull has finished.
    pub pulled: tokio::sync::watch::Receiver<bool>,
    pub progression: Progression,
    pub post_id: Option<String>,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ContainerKind {
    Single,
    Item,
    Carousel(Vec<String>),
}

#[derive(Debug, Clone)]
pub(crate) struct IgContainer {
    pub ig_user: String,
    pub kind: ContainerKind,
    pub image_url: Option<String>,
    pub caption: String,
    pub progression: Progression,
    pub media_id: Option<String>,
    pub failure: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct FbPhoto {
    pub page: String,
    pub url: String,
    pub uploaded_at: DateTime<Utc>,
    pub attached_to: Option<String>,
}

/// The mutable world, behind one lock (never held across an await).
#[derive(Debug)]
pub(crate) struct State {
    pub config: SimConfig,
    started: Instant,
    started_at: DateTime<Utc>,
    offset: Duration,
    counter: u64,
    pub tokens: HashMap<String, Token>,
    pub tiktok_accounts: HashMap<String, TiktokAccount>,
    pub ig_accounts: HashMap<String, String>,
    pub pages: HashMap<String, String>,
    pub publishes: HashMap<String, TiktokPublish>,
    pub containers: HashMap<String, IgContainer>,
    pub photos: HashMap<String, FbPhoto>,
    pub posts: Vec<PublishedPost>,
    pub faults: FaultPlan,
    pub calls: HashMap<Endpoint, u64>,
    rate: HashMap<(String, Endpoint), VecDeque<DateTime<Utc>>>,
    pub warnings: Vec<String>,
    pub codes: HashMap<String, AuthCode>,
    pub refresh_tokens: HashMap<String, (String, DateTime<Utc>)>,
    pub consent: HashMap<ConsentKind, String>,
    pub fb_users: HashMap<String, String>,
    /// Consent screens whose next visitor declines.
    pub denials: std::collections::HashSet<ConsentKind>,
    /// Facebook Page id → the Instagram professional account linked to it.
    pub ig_links: HashMap<String, String>,
    /// Every refresh token ever issued (rotated ones leave `refresh_tokens`).
    pub issued_refresh: Vec<String>,
}

impl State {
    pub(crate) fn new(config: SimConfig) -> Self {
        Self {
            config,
            started: Instant::now(),
            started_at: Utc::now(),
            offset: Duration::ZERO,
            counter: 0,
            tokens: HashMap::new(),
            tiktok_accounts: HashMap::new(),
            ig_accounts: HashMap::new(),
            pages: HashMap::new(),
            publishes: HashMap::new(),
            containers: HashMap::new(),
            photos: HashMap::new(),
            posts: Vec::new(),
            faults: FaultPlan::default(),
            calls: HashMap::new(),
            rate: HashMap::new(),
            warnings: Vec::new(),
            codes: HashMap::new(),
            refresh_tokens: HashMap::new(),
            consent: HashMap::new(),
            fb_users: HashMap::new(),
            denials: std::collections::HashSet::new(),
            ig_links: HashMap::new(),
            issued_refresh: Vec::new(),
        }
    }

    /// Simulated now.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        let real = match self.config.clock {
            ClockMode::Manual => Duration::ZERO,
            ClockMode::Real => self.started.elapsed(),
        };
        let elapsed = chrono::Duration::from_std(real + self.offset)
            .unwrap_or_else(|_| chrono::Duration::zero());
        self.started_at + elapsed
    }

    pub(crate) fn advance(&mut self, by: Duration) {
        self.offset += by;
    }

    /// A fresh number for ids.
    pub(crate) fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// A TikTok `log_id`-like trace.
    pub(crate) fn log_id(&mut self) -> String {
        let n = self.next();
        format!("{}{:020X}", self.now().format("%Y%m%d%H%M%S"), n)
    }

    /// A Graph `fbtrace_id`-like trace.
    pub(crate) fn fbtrace(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut n = self.next().wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (0..11)
            .map(|_| {
                let c = ALPHABET[usize::try_from(n % 64).unwrap_or(0)];
                n /= 64;
                char::from(c)
            })
            .collect()
    }

    pub(crate) fn count(&mut self, endpoint: Endpoint) {
        *self.calls.entry(endpoint).or_default() += 1;
    }

    /// Record a call against a per-token, per-minute limit; `false` when over it.
    pub(crate) fn within_limit(
        &mut self,
        token: &str,
        endpoint: Endpoint,
        per_minute: usize,
    ) -> bool {
        if !self.config.enforce_rate_limits {
            return true;
        }
        let now = self.now();
        let window = self.rate.entry((token.to_owned(), endpoint)).or_default();
        while window
            .front()
            .is_some_and(|t| now.signed_duration_since(*t) >= chrono::Duration::seconds(60))
        {
            window.pop_front();
        }
        if window.len() >= per_minute {
            return false;
        }
        window.push_back(now);
        true
    }

    pub(crate) fn add_token(&mut self, prefix: &str, token: Token) -> String {
        let n = self.next();
        let value = format!(
            "{prefix}{:032x}",
            (u128::from(n) << 64) ^ 0x5eed_0000_0000_0000_0000_0000_0000_0001
        );
        self.tokens.insert(value.clone(), token);
        value
    }

    /// Issue a token.
    pub(crate) fn issue_token(
        &mut self,
        prefix: &str,
        (network, host): (Network, Option<GraphHost>),
        account_id: &str,
        lifetime: Option<chrono::Duration>,
        kind: TokenKind,
    ) -> String {
        let now = self.now();
        let token = Token {
            network,
            host,
            account_id: account_id.to_owned(),
            expires_at: lifetime.map(|l| now + l),
            issued_at: now,
            kind,
        };
        self.add_token(prefix, token)
    }

    pub(crate) fn create_tiktok_account(&mut self, creator: TiktokCreator) -> SimAccount {
        let n = self.next();
        let open_id = format!("sim-open-{n:08x}-b87b-48b9-ac98-410aghda5344");
        let token = self.issue_token(
            "act.",
            (Network::Tiktok, None),
            &open_id,
            Some(chrono::Duration::hours(24)),
            TokenKind::Access,
        );
        let username = creator.username.clone();
        self.tiktok_accounts
            .insert(open_id.clone(), TiktokAccount { creator });
        SimAccount {
            id: open_id,
            token,
            username,
        }
    }

    /// Admit a sandbox token the simulator has not issued, creating its account, when the configuration
    /// allows it. Unknown tokens of any other shape stay unknown.
    pub(crate) fn admit_sandbox_token(&mut self, token: &str) {
        if !self.config.sandbox_tokens || self.tokens.contains_key(token) {
            return;
        }
        let Some((network, account_id)) = parse_sandbox_token(token) else {
            return;
        };
        let host = match network {
            Network::Tiktok => None,
            Network::Instagram => Some(GraphHost::Instagram),
            Network::Facebook => Some(GraphHost::Facebook),
        };
        let name = format!("sandbox-{account_id}");
        match network {
            Network::Tiktok => {
                self.tiktok_accounts
                    .entry(account_id.to_owned())
                    .or_insert_with(|| TiktokAccount {
                        creator: TiktokCreator {
                            username: name,
                            ..TiktokCreator::default()
                        },
                    });
            }
            Network::Instagram => {
                self.ig_accounts
                    .entry(account_id.to_owned())
                    .or_insert(name);
            }
            Network::Facebook => {
                self.pages.entry(account_id.to_owned()).or_insert(name);
            }
        }
        let now = self.now();
        self.tokens.insert(
            token.to_owned(),
            Token {
                network,
                host,
                account_id: account_id.to_owned(),
                expires_at: None,
                issued_at: now,
                kind: TokenKind::Access,
            },
        );
    }

    pub(crate) fn create_instagram_account(
        &mut self,
        username: &str,
        host: GraphHost,
    ) -> SimAccount {
        let id = (17_841_400_000_000_000_u64 + self.next()).to_string();
        let prefix = if host == GraphHost::Instagram {
            "IGAA"
        } else {
            "EAAB"
        };
        let token = self.issue_token(
            prefix,
            (Network::Instagram, Some(host)),
            &id,
            Some(chrono::Duration::days(60)),
            TokenKind::Access,
        );
        self.ig_accounts.insert(id.clone(), username.to_owned());
        SimAccount {
            id,
            token,
            username: username.to_owned(),
        }
    }

    pub(crate) fn create_facebook_page(&mut self, name: &str) -> SimAccount {
        let id = (104_857_600_000_000_u64 + self.next()).to_string();
        let token = self.issue_token(
            "EAAG",
            (Network::Facebook, Some(GraphHost::Facebook)),
            &id,
            None,
            TokenKind::Access,
        );
        self.pages.insert(id.clone(), name.to_owned());
        SimAccount {
            id,
            token,
            username: name.to_owned(),
        }
    }

    /// Settle every TikTok publish whose processing time has passed, whether or not anybody polls.
    pub(crate) fn settle_tiktok(&mut self) {
        let now = self.now();
        let due: Vec<String> = self
            .publishes
            .iter()
            .filter(|(_, p)| {
                p.post_id.is_none() && p.verdict == Some(Ok(())) && p.progression.done(now)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            self.complete_tiktok(&id);
        }
    }

    /// Publish a TikTok post whose pull succeeded (once).
    pub(crate) fn complete_tiktok(&mut self, publish_id: &str) {
        let now = self.now();
        let n = self.next();
        let Some(publish) = self.publishes.get_mut(publish_id) else {
            return;
        };
        if publish.post_id.is_some() || publish.verdict != Some(Ok(())) {
            return;
        }
        let post_id = (7_345_678_901_234_560_000_u64 + n).to_string();
        publish.post_id = Some(post_id.clone());
        let username = self
            .tiktok_accounts
            .get(&publish.open_id)
            .map(|a| a.creator.username.clone())
            .unwrap_or_default();
        let post = PublishedPost {
            network: Network::Tiktok,
            account_id: publish.open_id.clone(),
            id: post_id.clone(),
            title: publish.title.clone(),
            caption: publish.description.clone(),
            image_urls: publish.image_urls.clone(),
            privacy_level: Some(publish.privacy_level.clone()),
            created_at: now,
            permalink: format!("https://www.tiktok.com/@{username}/photo/{post_id}"),
        };
        self.posts.push(post);
    }

    /// Posts of an account published within the last 24 h (quota accounting).
    pub(crate) fn posts_last_day(&self, network: Network, account: &str) -> usize {
        let now = self.now();
        self.posts
            .iter()
            .filter(|p| p.network == network && p.account_id == account)
            .filter(|p| now.signed_duration_since(p.created_at) < chrono::Duration::hours(24))
            .count()
    }

    /// The state of an Instagram container, settling it if processing is over.
    pub(crate) fn container_status(
        &mut self,
        id: &str,
        count_poll: bool,
    ) -> Option<(&'static str, String)> {
        let now = self.now();
        let container = self.containers.get(id)?.clone();
        if container.media_id.is_some() {
            return Some(("PUBLISHED", "Published".into()));
        }
        if let Some(failure) = &container.failure {
            return Some(("ERROR", failure.clone()));
        }
        if now.signed_duration_since(container.progression.created_at)
            >= chrono::Duration::hours(24)
        {
            return Some(("EXPIRED", "Expired".into()));
        }
        if let ContainerKind::Carousel(children) = &container.kind {
            for child in children {
                match self.container_status(child, false) {
                    Some(("ERROR", detail)) => return Some(("ERROR", detail)),
                    Some(("FINISHED" | "PUBLISHED", _)) => {}
                    _ => {
                        if count_poll && let Some(c) = self.containers.get_mut(id) {
                            c.progression.polls += 1;
                        }
                        return Some(("IN_PROGRESS", "In Progress".into()));
                    }
                }
            }
        }
        let entry = self.containers.get_mut(id)?;
        let done = if count_poll {
            entry.progression.poll(now)
        } else {
            entry.progression.done(now)
        };
        Some(if done {
            ("FINISHED", "Finished".into())
        } else {
            ("IN_PROGRESS", "In Progress".into())
        })
    }
}

/// The token a sandbox account uses with a simulator that has `sandbox_tokens` on. It is not a secret: it
/// names the account and only the simulator accepts it.
pub fn sandbox_token(network: Network, account_id: &str) -> String {
    let network = match network {
        Network::Tiktok => "tiktok",
        Network::Instagram => "instagram",
        Network::Facebook => "facebook",
    };
    format!("sandbox.{network}.{account_id}")
}

fn parse_sandbox_token(token: &str) -> Option<(Network, &str)> {
    let rest = token.strip_prefix("sandbox.")?;
    let (network, id) = rest.split_once('.')?;
    let network = match network {
        "tiktok" => Network::Tiktok,
        "instagram" => Network::Instagram,
        "facebook" => Network::Facebook,
        _ => return None,
    };
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid.then_some((network, id))
}
