//! People who use the product, their roles and email addresses.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::UserId;

/// What a person may do, from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything (and nothing more).
    Viewer,
    /// Reviews posts: approves, requests changes, rejects.
    Reviewer,
    /// Writes posts, submits them for review and schedules approved ones.
    Editor,
    /// Everything, including people, settings and the audit log.
    Admin,
}

impl Role {
    /// Every role, from most to least powerful.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Editor, Role::Reviewer, Role::Viewer];

    /// The lowercase name used in storage, the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Reviewer => "reviewer",
            Role::Viewer => "viewer",
        }
    }

    /// The rank used to cap an API token's role at its owner's (higher is more powerful).
    /// Editor and reviewer are distinct capabilities, so neither includes the other: see [`Role::includes`].
    pub fn includes(self, other: Role) -> bool {
        self == other || self == Role::Admin || other == Role::Viewer
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "editor" => Ok(Role::Editor),
            "reviewer" => Ok(Role::Reviewer),
            "viewer" => Ok(Role::Viewer),
            other => Err(crate::Error::input(
                "role",
                format!("`{other}` is not one of admin, editor, reviewer, viewer"),
            )),
        }
    }
}

/// An email address, trimmed and lowercased; the login name of a user.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        let s = s.trim().to_lowercase();
        let valid = s.len() <= 254
            && !s.chars().any(char::is_whitespace)
            && match s.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.is_empty()
                        && !domain.contains('@')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if valid {
            Ok(Email(s))
        } else {
            Err(crate::Error::input(
                "email",
                format!("`{s}` is not an email address"),
            ))
        }
    }
}

impl TryFrom<String> for Email {
    type Error = crate::Error;
    fn try_from(s: String) -> crate::Result<Self> {
        s.parse()
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person who uses the product. Credentials live elsewhere: this is who they are and what they may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Identity.
    pub id: UserId,
    /// Login name.
    pub email: Email,
    /// How the user is shown to others.
    pub display_name: String,
    /// What the user may do.
    pub role: Role,
    /// A disabled user can no longer act, but their history stays.
    pub disabled: bool,
    /// When the user was created.
    pub created_at: DateTime<Utc>,
}

impl User {
    /// A new, enabled user.
    pub fn new(
        id: UserId,
        email: Email,
        display_name: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Self {
        User {
            id,
            email,
            display_name: display_name.trim().to_owned(),
            role,
            disabled: false,
            created_at: now,
        }
    }

    /// The same user acting with a lower role (an API token's role, capped at the owner's).
    pub fn acting_as(&self, role: Role) -> User {
        let role = if self.role.includes(role) {
            role
        } else {
            Role::Viewer
        };
        User {
            role,
            ..self.clone()
        }
    }
}
