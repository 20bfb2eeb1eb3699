//! Review decisions and the team's approval policy.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, ReviewId, UserId};

/// How many approvals a post needs before it can be scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ApprovalPolicy {
    /// Submitting approves: the team reviews nothing.
    None,
    /// One approver who is not the author. The default.
    #[default]
    Required,
    /// N distinct approvers, none of them the author.
    Multi(u8),
}

impl ApprovalPolicy {
    /// Distinct approvals needed (0 under `none`).
    pub fn approvals_needed(self) -> usize {
        match self {
            ApprovalPolicy::None => 0,
            ApprovalPolicy::Required => 1,
            ApprovalPolicy::Multi(n) => n as usize,
        }
    }
}

impl fmt::Display for ApprovalPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApprovalPolicy::None => f.write_str("none"),
            ApprovalPolicy::Required => f.write_str("required"),
            ApprovalPolicy::Multi(n) => write!(f, "multi:{n}"),
        }
    }
}

impl FromStr for ApprovalPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "none" => Ok(ApprovalPolicy::None),
            "required" => Ok(ApprovalPolicy::Required),
            _ => match s.strip_prefix("multi:").map(str::parse::<u8>) {
                Some(Ok(n)) if (1..=10).contains(&n) => Ok(ApprovalPolicy::Multi(n)),
                _ => Err(Error::input(
                    "approval policy",
                    format!("`{s}` is not one of none, required, multi:N (N from 1 to 10)"),
                )),
            },
        }
    }
}

impl TryFrom<String> for ApprovalPolicy {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<ApprovalPolicy> for String {
    fn from(p: ApprovalPolicy) -> String {
        p.to_string()
    }
}

/// What a reviewer decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The content may be published.
    Approve,
    /// The author must change something first.
    RequestChanges,
    /// The post will not be published.
    Reject,
}

impl Decision {
    /// The snake_case name used in storage and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::RequestChanges => "request_changes",
            Decision::Reject => "reject",
        }
    }
}

impl FromStr for Decision {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "approve" => Ok(Decision::Approve),
            "request_changes" => Ok(Decision::RequestChanges),
            "reject" => Ok(Decision::Reject),
            other => Err(Error::input(
                "decision",
                format!("`{other}` is not a review decision"),
            )),
        }
    }
}

/// One reviewer's decision on one version of a post's content.
///
/// Approvals are bound to `content_version`: editing the post creates a new version, and the old
/// approvals no longer count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// Identity.
    pub id: ReviewId,
    /// Who decided.
    pub reviewer: UserId,
    /// What they decided.
    pub decision: Decision,
    /// Why, in their words.
    pub comment: Option<String>,
    /// The content version the decision is about.
    pub content_version: u32,
    /// When.
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_and_print() {
        for (text, policy) in [
            ("none", ApprovalPolicy::None),
            ("required", ApprovalPolicy::Required),
            ("multi:2", ApprovalPolicy::Multi(2)),
            (" MULTI:3 ", ApprovalPolicy::Multi(3)),
        ] {
            assert_eq!(text.parse::<ApprovalPolicy>().unwrap(), policy);
        }
        assert_eq!(ApprovalPolicy::Multi(2).to_string(), "multi:2");
        for bad in ["multi:0", "multi:x", "multi:", "all", "multi:11"] {
            assert!(bad.parse::<ApprovalPolicy>().is_err(), "{bad}");
        }
    }
}
