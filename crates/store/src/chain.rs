//! The audit log's hash chain: each event's hash covers its content and the previous event's hash, so an
//! edited, deleted or reordered row breaks the chain at that row.
//!
//! Retention may delete the oldest events. It then records an anchor (the first event kept and the hash it
//! links to); verification starts from the newest anchor instead of the genesis link, for that event only,
//! so a deleted event anywhere else, the anchored event included, still breaks the chain.

use chrono::{DateTime, SubsecRound, Utc};
use natronfx_workflow::AuditEvent;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first event.
pub(crate) const GENESIS: &str = "";

/// Instants are hashed and stored at microsecond precision, the finest both databases keep.
pub(crate) fn stored_instant(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// The hash of an event linked to `prev`: SHA-256 over a JSON array of the link and every field.
pub(crate) fn event_hash(prev: &str, e: &AuditEvent) -> String {
    let fields = serde_json::json!([
        prev,
        stored_instant(e.at).to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        e.actor.map(|a| a.to_string()),
        e.action.as_str(),
        e.subject_kind,
        e.subject_id,
        e.from_state,
        e.to_state,
        e.note,
    ]);
    hex::encode(Sha256::digest(fields.to_string().as_bytes()))
}

/// Where the chain breaks, if it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// The row's content no longer matches its hash: it was edited.
    Edited {
        /// The row.
        seq: i64,
    },
    /// The row does not link to the row before it: a row was deleted or rows were reordered before it.
    Unlinked {
        /// The row.
        seq: i64,
    },
    /// The row has no hash at all (written around the log, not through it).
    Unhashed {
        /// The row.
        seq: i64,
    },
}

impl ChainBreak {
    /// The first row that fails.
    pub fn seq(&self) -> i64 {
        match self {
            ChainBreak::Edited { seq }
            | ChainBreak::Unlinked { seq }
            | ChainBreak::Unhashed { seq } => *seq,
        }
    }
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainBreak::Edited { seq } => write!(f, "event {seq} was changed after it was written"),
            ChainBreak::Unlinked { seq } => {
                write!(
                    f,
                    "event {seq} does not follow the event before it: an event was deleted or reordered"
                )
            }
            ChainBreak::Unhashed { seq } => write!(
                f,
                "event {seq} carries no hash: it was written around the log"
            ),
        }
    }
}

/// The result of walking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCheck {
    /// Events checked.
    pub checked: u64,
    /// The first break, if any.
    pub first_break: Option<ChainBreak>,
    /// The first event checked when retention deleted older ones: the chain is verified from this
    /// anchor on, and its link to the deleted event is the one recorded when they were deleted.
    pub anchored_at: Option<i64>,
}

/// Checks one stored row against the hash of the row before it; returns the row's hash to carry on with.
pub(crate) fn check_row(
    prev: &str,
    seq: i64,
    event: &AuditEvent,
    stored_prev: Option<&str>,
    stored_hash: Option<&str>,
) -> Result<String, ChainBreak> {
    let (Some(stored_prev), Some(stored_hash)) = (stored_prev, stored_hash) else {
        return Err(ChainBreak::Unhashed { seq });
    };
    if event_hash(stored_prev, event) != stored_hash {
        return Err(ChainBreak::Edited { seq });
    }
    if stored_prev != prev {
        return Err(ChainBreak::Unlinked { seq });
    }
    Ok(stored_hash.to_owned())
}
