//! A small in-process sliding-window limiter, keyed by access token.
//!
//! The platforms count per user token (TikTok) or per account (Instagram). This limiter only smooths one
//! process; the cross-process truth lives in the database, which is why the numbers are public constants.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};

/// TikTok `content/init`: requests per minute per user token.
pub const TIKTOK_INIT_PER_MINUTE: u32 = 6;
/// TikTok `status/fetch`: requests per minute per user token.
pub const TIKTOK_STATUS_PER_MINUTE: u32 = 30;
/// TikTok `creator_info/query`: requests per minute per user token.
pub const TIKTOK_CREATOR_INFO_PER_MINUTE: u32 = 20;
/// Instagram: containers an account may create per rolling 24 hours.
pub const INSTAGRAM_CONTAINERS_PER_DAY: u32 = 400;

/// A limit of `max` events per moving `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Events allowed per window.
    pub max: u32,
    /// The moving window.
    pub window: Duration,
}

impl RateLimit {
    /// `max` events per minute.
    pub const fn per_minute(max: u32) -> Self {
        Self {
            max,
            window: Duration::from_secs(60),
        }
    }

    /// `max` events per day.
    pub const fn per_day(max: u32) -> Self {
        Self {
            max,
            window: Duration::from_secs(86_400),
        }
    }
}

/// Counts events per token in a moving window.
#[derive(Debug)]
pub(crate) struct Limiter {
    limit: RateLimit,
    hasher: RandomState,
    seen: Mutex<HashMap<u64, VecDeque<Instant>>>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            hasher: RandomState::new(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Take a slot for `key`, or say how long until one frees up.
    pub(crate) fn try_acquire(&self, key: &str) -> Result<(), Duration> {
        let hash = self.hasher.hash_one(key);
        let now = Instant::now();
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let times = seen.entry(hash).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.limit.window)
        {
            times.pop_front();
        }
        if times.len() >= self.limit.max as usize {
            let oldest = times.front().copied().unwrap_or(now);
            return Err(self.limit.window.saturating_sub(now.duration_since(oldest)));
        }
        times.push_back(now);
        Ok(())
    }

    /// Take a slot keyed by a token (hashed; the token is never stored).
    pub(crate) fn try_acquire_token(&self, token: &SecretString) -> Result<(), Duration> {
        self.try_acquire(token.expose_secret())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seventh_init_in_a_minute_waits() {
        let limiter = Limiter::new(RateLimit::per_minute(TIKTOK_INIT_PER_MINUTE));
        for _ in 0..6 {
            assert!(limiter.try_acquire("token-a").is_ok());
        }
        let wait = limiter
            .try_acquire("token-a")
            .expect_err("seventh call is limited");
        assert!(
            wait <= Duration::from_secs(60) && wait > Duration::from_secs(50),
            "{wait:?}"
        );
        assert!(
            limiter.try_acquire("token-b").is_ok(),
            "other tokens are independent"
        );
    }
}
