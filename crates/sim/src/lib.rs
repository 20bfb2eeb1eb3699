//! A local simulator of the TikTok Content Posting API, the Instagram / Facebook Graph API and the OpenAI
//! Images API.
//!
//! It answers as the platforms do (envelopes, error codes and messages, trailing slashes, 19-digit ids as
//! raw JSON numbers), really downloads the image URLs a post points at and applies each platform's image
//! rules, moves containers and publishes through their states on a clock tests control, injects faults
//! (5xx, throttling, hangs, slow processing, expired tokens, "created but the answer was lost"), and
//! keeps a read-back of everything actually published so tests can assert "exactly once".
//!
//! One listener serves every host under a path prefix:
//!
//! | real host | simulator base URL |
//! |---|---|
//! | `https://open.tiktokapis.com` | `{base}/tiktok` ([`SimHandle::tiktok_base_url`]) |
//! | `https://www.tiktok.com/v2/auth/authorize/` | `{base}/tiktok-www/v2/auth/authorize/` |
//! | `https://graph.instagram.com` | `{base}/instagram` ([`SimHandle::instagram_base_url`]) |
//! | `https://api.instagram.com` | `{base}/instagram-api` |
//! | `https://www.instagram.com/oauth/authorize` | `{base}/instagram-www/oauth/authorize` |
//! | `https://graph.facebook.com` | `{base}/facebook` ([`SimHandle::facebook_base_url`]) |
//! | `https://www.facebook.com/{v}/dialog/oauth` | `{base}/facebook-www/{v}/dialog/oauth` |
//! | `https://api.openai.com` | `{base}/openai` ([`SimHandle::openai_base_url`]) |
//!
//! Processing finishes after [`SimConfig::polls_to_finish`] "in progress" polls, or once
//! [`SimConfig::processing_time`] of simulated time has passed (move it with [`Simulator::advance_clock`]);
//! TikTok keeps pulling a post whose `publish_id` was lost, as the real service does. Where the reference
//! leaves behaviour open, the simulator picks the answer that is harder on clients: TikTok OAuth errors
//! come with HTTP 200, refresh tokens rotate, `publicaly_available_post_id` holds raw 19-digit numbers,
//! Instagram `user_id` is a raw 17-digit number, and a PNG in a carousel fails like a download error.
//!
//! ```no_run
//! use natronfx_sim::{Endpoint, Fault, Loss, SimConfig, Simulator, TiktokCreator};
//!
//! # async fn run() -> natronfx_sim::Result<()> {
//! let sim = Simulator::start(SimConfig::default()).await?;
//! let creator = sim.add_tiktok_account(TiktokCreator::default());
//! sim.push_fault(Endpoint::TiktokInit, Fault::CreatedThenLost(Loss::Drop));
//! // point the TikTok adapter at sim.tiktok_base_url() and publish with creator.token …
//! assert!(sim.published(&creator.id).len() <= 1);
//! sim.shutdown().await?;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod config;
mod faults;
mod graph;
mod images;
mod oauth;
mod openai;
mod respond;
mod server;
mod shared;
mod state;
mod tiktok;

pub use config::{ClockMode, SimConfig};
pub use faults::{Endpoint, Fault, Loss, RandomFaults};
pub use openai::BLOCKED_PROMPT_MARKER;
pub use server::{SimHandle, Simulator, serve};
pub use state::{GraphHost, Network, PublishedPost, SimAccount, TiktokCreator, sandbox_token};

/// Why the simulator could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The listening socket could not be bound.
    #[error("cannot bind the simulator's socket: {0}; pick another address")]
    Bind(std::io::Error),
    /// The server stopped with an I/O error.
    #[error("the simulator stopped: {0}")]
    Serve(std::io::Error),
}

impl SimError {
    /// A stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Bind(_) => "sim-bind-failed",
            Self::Serve(_) => "sim-serve-failed",
        }
    }
}

/// Results of this crate.
pub type Result<T, E = SimError> = std::result::Result<T, E>;
