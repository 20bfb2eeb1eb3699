//! The post's states and the one table of legal transitions between them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Where a post is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostState {
    /// Being written.
    Draft,
    /// Waiting for reviewers.
    InReview,
    /// A reviewer asked for changes; the next edit returns it to draft.
    ChangesRequested,
    /// Approved under the team's policy; ready to schedule.
    Approved,
    /// Refused by a reviewer.
    Rejected,
    /// At least one target has a publish time.
    Scheduled,
    /// The dispatcher is publishing its targets.
    Publishing,
    /// Every target is live.
    Published,
    /// Some targets are live and others failed.
    PartiallyPublished,
    /// No target could be published.
    Failed,
    /// Put away; kept for history.
    Archived,
}

/// What can happen to a post. Each maps to at most one next state in [`PostState::after`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    Edit,
    Submit,
    Approve,
    RequestChanges,
    Reject,
    Schedule,
    Unschedule,
    StartPublishing,
    AllPublished,
    SomePublished,
    NonePublished,
    Retry,
    Republish,
    Archive,
}

impl Event {
    pub(crate) fn verb(self) -> &'static str {
        match self {
            Event::Edit => "edit",
            Event::Submit => "submit",
            Event::Approve => "approve",
            Event::RequestChanges => "request changes on",
            Event::Reject => "reject",
            Event::Schedule => "schedule",
            Event::Unschedule => "unschedule",
            Event::StartPublishing => "start publishing",
            Event::AllPublished | Event::SomePublished | Event::NonePublished => {
                "finish publishing"
            }
            Event::Retry => "retry",
            Event::Republish => "republish",
            Event::Archive => "archive",
        }
    }
}

impl PostState {
    /// Every state, for tables and exhaustive tests.
    pub const ALL: [PostState; 11] = [
        PostState::Draft,
        PostState::InReview,
        PostState::ChangesRequested,
        PostState::Approved,
        PostState::Rejected,
        PostState::Scheduled,
        PostState::Publishing,
        PostState::Published,
        PostState::PartiallyPublished,
        PostState::Failed,
        PostState::Archived,
    ];

    /// The snake_case name used in storage, the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            PostState::Draft => "draft",
            PostState::InReview => "in_review",
            PostState::ChangesRequested => "changes_requested",
            PostState::Approved => "approved",
            PostState::Rejected => "rejected",
            PostState::Scheduled => "scheduled",
            PostState::Publishing => "publishing",
            PostState::Published => "published",
            PostState::PartiallyPublished => "partially_published",
            PostState::Failed => "failed",
            PostState::Archived => "archived",
        }
    }

    /// A terminal state has no way out: nothing more happens to the post by itself (only a deliberate,
    /// audited republish takes a published post back to the schedule).
    pub fn is_terminal(self) -> bool {
        matches!(self, PostState::Published | PostState::Archived)
    }

    /// Content may change in these states (the post then returns to draft and loses its approvals).
    pub fn is_editable(self) -> bool {
        self.after(Event::Edit).is_ok()
    }

    /// The transition table. Anything not listed is an [`Error::InvalidTransition`], never a no-op.
    pub(crate) fn after(self, event: Event) -> Result<PostState> {
        use Event as E;
        use PostState as S;
        let next = match (self, event) {
            (
                S::Draft | S::InReview | S::ChangesRequested | S::Approved | S::Scheduled,
                E::Edit,
            ) => S::Draft,
            (S::Draft, E::Submit) => S::InReview,
            (S::InReview, E::Approve) => S::Approved,
            (S::InReview, E::RequestChanges) => S::ChangesRequested,
            (S::InReview, E::Reject) => S::Rejected,
            (S::Approved | S::Scheduled, E::Schedule) => S::Scheduled,
            (S::Scheduled, E::Unschedule) => S::Approved,
            (S::Scheduled, E::StartPublishing) => S::Publishing,
            (S::Publishing, E::AllPublished) => S::Published,
            (S::Publishing, E::SomePublished) => S::PartiallyPublished,
            (S::Publishing, E::NonePublished) => S::Failed,
            (S::PartiallyPublished | S::Failed, E::Retry) => S::Scheduled,
            (S::Published | S::PartiallyPublished | S::Failed, E::Republish) => S::Scheduled,
            (s, E::Archive) if !s.is_terminal() => S::Archived,
            (from, event) => {
                return Err(Error::InvalidTransition {
                    from,
                    event: event.verb(),
                });
            }
        };
        Ok(next)
    }
}

impl fmt::Display for PostState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PostState {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        PostState::ALL
            .into_iter()
            .find(|st| st.as_str() == s.trim())
            .ok_or_else(|| Error::input("state", format!("`{s}` is not a post state")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENTS: [Event; 14] = [
        Event::Edit,
        Event::Submit,
        Event::Approve,
        Event::RequestChanges,
        Event::Reject,
        Event::Schedule,
        Event::Unschedule,
        Event::StartPublishing,
        Event::AllPublished,
        Event::SomePublished,
        Event::NonePublished,
        Event::Retry,
        Event::Republish,
        Event::Archive,
    ];

    #[test]
    fn the_whole_table_is_as_designed() {
        // Every legal (from, event) pair; everything else must be refused.
        let legal: usize = PostState::ALL
            .iter()
            .flat_map(|s| EVENTS.iter().map(move |e| s.after(*e)))
            .filter(Result::is_ok)
            .count();
        // 5 edits + submit + 3 reviews + 2 schedules + unschedule + start + 3 outcomes + 2 retries
        // + 3 republishes + 9 archives (every state but published and archived).
        assert_eq!(legal, 5 + 1 + 3 + 2 + 1 + 1 + 3 + 2 + 3 + 9);
    }

    #[test]
    fn terminal_states_have_no_way_out_but_a_deliberate_republish() {
        for s in [PostState::Published, PostState::Archived] {
            for e in EVENTS {
                if s == PostState::Published && e == Event::Republish {
                    assert_eq!(s.after(e).unwrap(), PostState::Scheduled);
                    continue;
                }
                let err = s.after(e).unwrap_err();
                assert_eq!(err.code(), "invalid-transition");
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for s in PostState::ALL {
            assert_eq!(s.as_str().parse::<PostState>().unwrap(), s);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
    }

    #[test]
    fn an_illegal_transition_names_state_and_attempt() {
        let err = PostState::Draft.after(Event::Approve).unwrap_err();
        assert_eq!(err.to_string(), "cannot approve a post that is draft");
    }
}
