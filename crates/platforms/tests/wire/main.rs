//! Wire-level tests: each adapter against `wiremock`, with requests and responses shaped exactly as in the
//! platform reference, so the adapters and the simulator cannot drift into the same misreading.

mod facebook;
mod instagram;
mod oauth;
mod openai;
mod tiktok;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use natronfx_platforms::{
    Next, PlatformError, PrivacyLevel, PublishProgress, PublishRequest, PublishToggles, Published,
    Publisher,
};
use secrecy::SecretString;
use wiremock::{Request, Respond, ResponseTemplate};

/// The token every test uses.
pub fn token() -> SecretString {
    SecretString::from("act.wire-test-token")
}

/// The Authorization header value the adapters must send.
pub const BEARER: &str = "Bearer act.wire-test-token";

/// A request with `n` images.
pub fn request(account: &str, n: usize) -> PublishRequest {
    PublishRequest {
        account_id: account.into(),
        title: Some("Autumn drop".into()),
        caption: "Three new colours #autumn".into(),
        image_urls: (0..n)
            .map(|i| format!("https://media.example.com/p/{i}.jpg"))
            .collect(),
        privacy_level: Some(PrivacyLevel::SelfOnly),
        toggles: PublishToggles::default(),
        is_aigc: true,
        cover_index: 0,
    }
}

/// How a drive ended.
#[derive(Debug)]
pub enum End {
    /// Published.
    Done(Published),
    /// The platform ended the attempt.
    Failed(PlatformError),
    /// A call failed.
    Err(PlatformError),
}

/// Advance until done, failed or an error, ignoring poll delays (the mock answers at once).
pub async fn drive(
    publisher: &dyn Publisher,
    req: &PublishRequest,
    mut progress: PublishProgress,
) -> (PublishProgress, End) {
    for _ in 0..50 {
        match publisher.advance(&token(), req, &progress).await {
            Err(e) => return (progress, End::Err(e)),
            Ok(step) => {
                progress = step.progress;
                match step.next {
                    Next::Continue | Next::PollAfter(_) => {}
                    Next::Done(p) => return (progress, End::Done(p)),
                    Next::Failed(e) => return (progress, End::Failed(e)),
                    other => panic!("unexpected step {other:?}"),
                }
            }
        }
    }
    panic!("publish did not end in 50 steps")
}

/// Answers a sequence of responses, repeating the last one.
#[derive(Debug)]
pub struct Seq(Mutex<Vec<ResponseTemplate>>);

impl Seq {
    /// A sequence.
    pub fn new(responses: Vec<ResponseTemplate>) -> Self {
        let mut responses = responses;
        responses.reverse();
        Self(Mutex::new(responses))
    }
}

impl Respond for Seq {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let mut list = self.0.lock().expect("lock");
        if list.len() > 1 {
            list.pop().expect("non-empty")
        } else {
            list[0].clone()
        }
    }
}

/// Decode an `application/x-www-form-urlencoded` body.
pub fn form(request: &Request) -> HashMap<String, String> {
    let body = String::from_utf8(request.body.clone()).expect("utf-8 form");
    let url = reqwest::Url::parse(&format!("http://form.invalid/?{body}")).expect("form parses");
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A short timeout so "hangs" end quickly.
pub const SHORT: Duration = Duration::from_millis(300);
