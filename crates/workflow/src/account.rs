//! Connected social accounts, as the workflow sees them (credentials live in the vault, not here).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{AccountId, Error, Platform, Result, UserId};

/// Whether the product can publish to an account right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Credentials are valid.
    Connected,
    /// The platform refused the credentials; a person must connect the account again.
    NeedsReconnect,
    /// Credentials were removed; the history stays.
    Disconnected,
}

impl AccountStatus {
    /// The snake_case name used in storage and output.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Connected => "connected",
            AccountStatus::NeedsReconnect => "needs_reconnect",
            AccountStatus::Disconnected => "disconnected",
        }
    }
}

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AccountStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "connected" => Ok(AccountStatus::Connected),
            "needs_reconnect" => Ok(AccountStatus::NeedsReconnect),
            "disconnected" => Ok(AccountStatus::Disconnected),
            other => Err(Error::input(
                "account status",
                format!("`{other}` is not an account status"),
            )),
        }
    }
}

/// A social account posts can be published to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Identity.
    pub id: AccountId,
    /// Its platform.
    pub platform: Platform,
    /// The platform's own id for it (TikTok open_id, Instagram user id, Page id).
    pub external_id: String,
    /// The name people know it by (`@brand`).
    pub display_name: String,
    /// Whether it can be published to.
    pub status: AccountStatus,
    /// A rehearsal account backed by the local simulator, never a real one.
    pub sandbox: bool,
    /// Who connected it.
    pub connected_by: Option<UserId>,
    /// When it was first connected.
    pub created_at: DateTime<Utc>,
}
