//! The social platforms a post can be published to.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A platform the product publishes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// TikTok photo posts (Content Posting API).
    Tiktok,
    /// Instagram professional accounts (Graph API content publishing).
    Instagram,
    /// Facebook Pages (Graph API).
    Facebook,
}

impl Platform {
    /// Every platform, in display order.
    pub const ALL: [Platform; 3] = [Platform::Tiktok, Platform::Instagram, Platform::Facebook];

    /// The lowercase name used in storage, the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Tiktok => "tiktok",
            Platform::Instagram => "instagram",
            Platform::Facebook => "facebook",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "tiktok" => Ok(Platform::Tiktok),
            "instagram" => Ok(Platform::Instagram),
            "facebook" => Ok(Platform::Facebook),
            other => Err(crate::Error::input(
                "platform",
                format!("`{other}` is not one of tiktok, instagram, facebook"),
            )),
        }
    }
}
