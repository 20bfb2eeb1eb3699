//! `[accounts]` and `[apps.tiktok|instagram|facebook]`: token refresh settings and the OAuth app registered
//! with each platform (client secrets are read, never written back).

use natronfx_workflow::Platform;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// `[accounts]`: how tokens stay fresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountsConfig {
    /// A token expiring within this many seconds is refreshed before it is handed out.
    pub refresh_skew_secs: u64,
    /// The refresh sweep refreshes tokens expiring within this many seconds.
    pub refresh_sweep_window_secs: u64,
    /// Timeout of each call to a platform's OAuth endpoints, in seconds. On SQLite a refresh holds the
    /// database's write lock during its call, so keep it below the 10-second busy timeout.
    pub http_timeout_secs: u64,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        AccountsConfig {
            refresh_skew_secs: 300,
            refresh_sweep_window_secs: 6 * 3600,
            http_timeout_secs: 8,
        }
    }
}

/// `[apps]`: the OAuth app registered with each platform. Client secrets are read, never written back.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AppsConfig {
    /// TikTok Login Kit.
    pub tiktok: TiktokApp,
    /// Instagram API with Instagram Login.
    pub instagram: InstagramApp,
    /// Facebook Login for Business (Pages, and the Instagram accounts linked to them).
    pub facebook: FacebookApp,
}

/// `[apps.tiktok]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TiktokApp {
    /// The app's `client_key`; empty until the app is registered.
    pub client_key: String,
    /// The app's client secret (`NATRONFX_APPS__TIKTOK__CLIENT_SECRET`).
    #[serde(skip_serializing)]
    pub client_secret: Option<SecretString>,
    /// The registered redirect URI. A loopback `http://127.0.0.1:PORT/...` lets `natronfx account
    /// connect` receive the callback itself.
    pub redirect_uri: String,
    /// Scopes to request.
    pub scopes: Vec<String>,
    /// The authorize page (point it at the simulator to rehearse).
    pub authorize_url: String,
    /// The API host.
    pub api_base_url: String,
}

/// `[apps.instagram]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InstagramApp {
    /// The Instagram app id.
    pub client_id: String,
    /// The Instagram app secret (`NATRONFX_APPS__INSTAGRAM__CLIENT_SECRET`).
    #[serde(skip_serializing)]
    pub client_secret: Option<SecretString>,
    /// The registered redirect URI.
    pub redirect_uri: String,
    /// Scopes to request.
    pub scopes: Vec<String>,
    /// The authorize page.
    pub authorize_url: String,
    /// The short-lived token host (`api.instagram.com`).
    pub api_base_url: String,
    /// The Graph host (`graph.instagram.com`): long-lived tokens, refresh, `/me`.
    pub graph_base_url: String,
    /// The Graph API version.
    pub graph_version: String,
}

/// `[apps.facebook]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FacebookApp {
    /// The Meta app id.
    pub client_id: String,
    /// The Meta app secret (`NATRONFX_APPS__FACEBOOK__CLIENT_SECRET`).
    #[serde(skip_serializing)]
    pub client_secret: Option<SecretString>,
    /// The registered redirect URI.
    pub redirect_uri: String,
    /// Scopes to request.
    pub scopes: Vec<String>,
    /// The login dialog, `https://www.facebook.com/{version}/dialog/oauth`.
    pub dialog_url: String,
    /// The Graph host (`graph.facebook.com`).
    pub graph_base_url: String,
    /// The Graph API version.
    pub graph_version: String,
}

const DEFAULT_REDIRECT: &str = "http://127.0.0.1:8765/callback";

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

impl Default for TiktokApp {
    fn default() -> Self {
        TiktokApp {
            client_key: String::new(),
            client_secret: None,
            redirect_uri: DEFAULT_REDIRECT.into(),
            scopes: strings(&["user.info.basic", "video.publish"]),
            authorize_url: "https://www.tiktok.com/v2/auth/authorize/".into(),
            api_base_url: "https://open.tiktokapis.com".into(),
        }
    }
}

impl Default for InstagramApp {
    fn default() -> Self {
        InstagramApp {
            client_id: String::new(),
            client_secret: None,
            redirect_uri: DEFAULT_REDIRECT.into(),
            scopes: strings(&[
                "instagram_business_basic",
                "instagram_business_content_publish",
            ]),
            authorize_url: "https://www.instagram.com/oauth/authorize".into(),
            api_base_url: "https://api.instagram.com".into(),
            graph_base_url: "https://graph.instagram.com".into(),
            graph_version: "v25.0".into(),
        }
    }
}

impl Default for FacebookApp {
    fn default() -> Self {
        FacebookApp {
            client_id: String::new(),
            client_secret: None,
            redirect_uri: DEFAULT_REDIRECT.into(),
            scopes: strings(&[
                "pages_show_list",
                "pages_read_engagement",
                "pages_manage_posts",
                "instagram_basic",
                "instagram_content_publish",
            ]),
            dialog_url: "https://www.facebook.com/v25.0/dialog/oauth".into(),
            graph_base_url: "https://graph.facebook.com".into(),
            graph_version: "v25.0".into(),
        }
    }
}

impl AppsConfig {
    /// The redirect URI configured for a platform's app.
    pub fn redirect_uri(&self, platform: Platform) -> &str {
        match platform {
            Platform::Tiktok => &self.tiktok.redirect_uri,
            Platform::Instagram => &self.instagram.redirect_uri,
            Platform::Facebook => &self.facebook.redirect_uri,
        }
    }
}
