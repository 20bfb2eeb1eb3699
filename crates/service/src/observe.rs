//! What the service tells its host as it works, for counters: how publish attempts ended and how token
//! refreshes went. The server counts them into `/metrics`; without an observer nothing is counted.

use natronfx_workflow::Platform;

/// Receives the service's countable moments. Every method has a do-nothing default, so an observer
/// implements only what it counts. Called inline: implementations must be quick and must not block.
pub trait Observer: Send + Sync + std::fmt::Debug {
    /// A worker's pass over one target ended with `outcome`: `published`, `failed`, `retrying`,
    /// `waiting`, `needs_attention` or `refused`.
    fn publish_attempt_ended(&self, platform: Platform, outcome: &'static str) {
        let _ = (platform, outcome);
    }

    /// A token refresh at `platform` ended: `ok` or `failed`.
    fn token_refresh_ended(&self, platform: Platform, outcome: &'static str) {
        let _ = (platform, outcome);
    }
}

/// The observer of a service nobody watches.
#[derive(Debug, Default, Clone, Copy)]
pub struct Unobserved;

impl Observer for Unobserved {}
