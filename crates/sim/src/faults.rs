//! Fault injection: a queue of scripted faults per endpoint, or random faults from a seed.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// An endpoint faults can be attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// TikTok `POST /v2/post/publish/creator_info/query/`.
    TiktokCreatorInfo,
    /// TikTok `POST /v2/post/publish/content/init/`.
    TiktokInit,
    /// TikTok `POST /v2/post/publish/status/fetch/`.
    TiktokStatus,
    /// TikTok `POST /v2/video/list/`.
    TiktokVideoList,
    /// TikTok `GET /v2/user/info/`.
    TiktokUserInfo,
    /// Graph `POST /{ig-id}/media`.
    InstagramCreateContainer,
    /// Graph `POST /{ig-id}/media_publish`.
    InstagramPublish,
    /// Graph `GET /{ig-id}/content_publishing_limit`.
    InstagramPublishingLimit,
    /// Graph `GET /{ig-id}/media`.
    InstagramMediaList,
    /// Graph `GET /{id}` (container status, media, page, post, user).
    GraphObject,
    /// Graph `POST /{page-id}/photos`.
    FacebookPhotos,
    /// Graph `POST /{page-id}/feed`.
    FacebookFeed,
    /// Graph `GET /{page-id}/feed`.
    FacebookFeedList,
    /// OpenAI `POST /v1/images/generations`.
    OpenaiImages,
    /// TikTok `POST /v2/oauth/token/` (code exchange and refresh). `ServerError` and `Hang` apply;
    /// `ExpiredToken` answers `invalid_grant`.
    TiktokOAuthToken,
    /// TikTok `POST /v2/oauth/revoke/`.
    TiktokOAuthRevoke,
    /// Instagram Login `GET /refresh_access_token`. `ServerError` and `Hang` apply; `ExpiredToken`
    /// answers code 190.
    InstagramRefresh,
}

impl Endpoint {
    /// Whether the endpoint creates something.
    pub fn creates(self) -> bool {
        matches!(
            self,
            Self::TiktokInit
                | Self::InstagramCreateContainer
                | Self::InstagramPublish
                | Self::FacebookPhotos
                | Self::FacebookFeed
        )
    }
}

/// How a created object's answer gets lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// The connection breaks before a complete answer.
    Drop,
    /// A 500 error body, although the object was created.
    ServerError,
    /// No answer until the client gives up.
    Hang,
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// A server error with the platform's own error body (TikTok `internal_error`, Graph code 2).
    ServerError {
        /// HTTP status (500, 502, 503, …).
        status: u16,
    },
    /// The platform's throttling answer: TikTok 429 `rate_limit_exceeded`, Graph code 4 (80001 for Pages).
    Throttled {
        /// Hint sent as `Retry-After` (TikTok) or `estimated_time_to_regain_access` (Graph).
        retry_after: Option<Duration>,
    },
    /// A bare HTTP 429 with a non-JSON body, as a proxy in front of the platform would send.
    TooManyRequests {
        /// `Retry-After` value, if any.
        retry_after: Option<Duration>,
    },
    /// No answer until the client times out.
    Hang,
    /// The object created by this request takes longer to process.
    SlowProcessing {
        /// Extra "in progress" polls.
        extra_polls: u32,
    },
    /// Answer as if the token had expired.
    ExpiredToken,
    /// The object created by this request fails while processing (TikTok `FAILED` with `internal`,
    /// an Instagram container in `ERROR` with subcode 2207001).
    ProcessingFails,
    /// Perform the request (create the object or the post), then lose the answer.
    CreatedThenLost(Loss),
    /// OpenAI billing quota exhausted: 429 `insufficient_quota`, which is not worth retrying.
    InsufficientQuota,
}

/// Random faults drawn from a seed.
#[derive(Debug, Clone)]
pub struct RandomFaults {
    /// Seed of the generator; the same seed gives the same faults for the same request order.
    pub seed: u64,
    /// Probability of a fault per request, 0.0 to 1.0.
    pub probability: f64,
    /// Faults to choose from, uniformly.
    pub faults: Vec<Fault>,
    /// Endpoints concerned; empty means all.
    pub endpoints: Vec<Endpoint>,
}

/// The simulator's fault plan.
#[derive(Debug, Default)]
pub(crate) struct FaultPlan {
    queues: HashMap<Endpoint, VecDeque<Fault>>,
    random: Option<(RandomFaults, u64)>,
    /// Faults handed out so far.
    pub injected: u64,
}

impl FaultPlan {
    pub(crate) fn push(&mut self, endpoint: Endpoint, fault: Fault) {
        self.queues.entry(endpoint).or_default().push_back(fault);
    }

    pub(crate) fn set_random(&mut self, random: Option<RandomFaults>) {
        self.random = random.map(|r| {
            let state = r.seed ^ 0x9E37_79B9_7F4A_7C15;
            (r, state)
        });
    }

    pub(crate) fn clear(&mut self) {
        self.queues.clear();
        self.random = None;
    }

    /// The fault for the next request to `endpoint`, if any: scripted faults first.
    pub(crate) fn next(&mut self, endpoint: Endpoint) -> Option<Fault> {
        let fault = self.draw(endpoint);
        if fault.is_some() {
            self.injected += 1;
        }
        fault
    }

    fn draw(&mut self, endpoint: Endpoint) -> Option<Fault> {
        if let Some(fault) = self.queues.get_mut(&endpoint).and_then(VecDeque::pop_front) {
            return Some(fault);
        }
        let (random, state) = self.random.as_mut()?;
        if !random.endpoints.is_empty() && !random.endpoints.contains(&endpoint) {
            return None;
        }
        let roll = splitmix(state);
        #[allow(
            clippy::cast_precision_loss,
            reason = "a probability needs no more than 53 bits"
        )]
        let unit = (roll >> 11) as f64 / (1u64 << 53) as f64;
        if unit >= random.probability || random.faults.is_empty() {
            return None;
        }
        let pick = usize::try_from(splitmix(state) % random.faults.len() as u64).unwrap_or(0);
        random.faults.get(pick).cloned()
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_faults_come_first_and_in_order() {
        let mut plan = FaultPlan::default();
        plan.push(Endpoint::TiktokInit, Fault::Hang);
        plan.push(Endpoint::TiktokInit, Fault::ServerError { status: 503 });
        assert_eq!(plan.next(Endpoint::TiktokInit), Some(Fault::Hang));
        assert_eq!(plan.next(Endpoint::TiktokStatus), None);
        assert_eq!(
            plan.next(Endpoint::TiktokInit),
            Some(Fault::ServerError { status: 503 })
        );
        assert_eq!(plan.next(Endpoint::TiktokInit), None);
    }

    #[test]
    fn the_same_seed_gives_the_same_faults() {
        let draw = |seed| {
            let mut plan = FaultPlan::default();
            plan.set_random(Some(RandomFaults {
                seed,
                probability: 0.5,
                faults: vec![Fault::Hang, Fault::ExpiredToken],
                endpoints: vec![],
            }));
            (0..64)
                .map(|_| plan.next(Endpoint::GraphObject))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        let hits = draw(7).iter().filter(|f| f.is_some()).count();
        assert!(
            (16..=48).contains(&hits),
            "about half the requests fail: {hits}"
        );
    }
}
