//! Shared HTTP plumbing: timeouts, bearer tokens marked sensitive, and transport-failure classification.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};

use crate::{ErrorClass, ErrorDetail, Platform, PlatformError, Result};

/// What a call does to remote state; decides how a lost answer is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    /// Reads only; any failure can simply be retried.
    Read,
    /// Creates something invisible that expires on its own (an Instagram container, an unpublished
    /// Facebook photo). A lost answer leaves at most an orphan, so it is retryable.
    CreateHidden,
    /// Creates or triggers the visible post. A lost or ambiguous answer is `OutcomeUnknown`.
    CreatePost,
}

/// A response that arrived in full.
#[derive(Debug)]
pub(crate) struct Raw {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Build a client with an overall timeout per request.
pub(crate) fn client(timeout: Duration, connect_timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| PlatformError::Config(format!("cannot build the http client: {e}")))
}

/// `Authorization: Bearer …`, marked sensitive so it never shows in debug output.
pub(crate) fn bearer(token: &SecretString) -> Result<HeaderValue> {
    let mut value =
        HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())).map_err(|_| {
            PlatformError::invalid(
                "token-malformed",
                "the access token contains invalid characters; reconnect the account",
            )
        })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Send a request and read the whole body, classifying transport failures by call kind.
pub(crate) async fn send(
    platform: Platform,
    kind: CallKind,
    request: reqwest::RequestBuilder,
) -> Result<Raw> {
    let response = request
        .send()
        .await
        .map_err(|e| transport(platform, kind, e))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(|e| {
        let mut err = transport(platform, kind, e);
        if let Some(detail) = detail_mut(&mut err) {
            detail.http_status = Some(status);
        }
        err
    })?;
    Ok(Raw {
        status,
        headers,
        body: body.to_vec(),
    })
}

pub(crate) fn with_auth(
    request: reqwest::RequestBuilder,
    token: &SecretString,
) -> Result<reqwest::RequestBuilder> {
    Ok(request.header(AUTHORIZATION, bearer(token)?))
}

fn detail_mut(err: &mut PlatformError) -> Option<&mut ErrorDetail> {
    match err {
        PlatformError::Retryable { detail, .. }
        | PlatformError::RateLimited { detail, .. }
        | PlatformError::Auth { detail }
        | PlatformError::Terminal { detail }
        | PlatformError::OutcomeUnknown { detail } => Some(detail),
        _ => None,
    }
}

/// Classify a reqwest failure. A connect failure means nothing was sent; anything later (timeout, reset,
/// truncated body) may have reached the platform.
fn transport(platform: Platform, kind: CallKind, err: reqwest::Error) -> PlatformError {
    // Some OAuth calls carry secrets in the query string: never let the URL reach a message.
    let err = err.without_url();
    let what = if err.is_timeout() {
        "the request timed out"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_body() || err.is_decode() {
        "the response was cut off"
    } else {
        "the connection failed"
    };
    let detail = ErrorDetail::new(platform, format!("{what}: {err}"));
    if err.is_builder() {
        return PlatformError::Config(format!("{platform}: {err}"));
    }
    let sent = !err.is_connect();
    let class = if sent && kind == CallKind::CreatePost {
        ErrorClass::OutcomeUnknown
    } else {
        ErrorClass::Retryable
    };
    PlatformError::classified(class, detail, None)
}

/// A `Retry-After` header in seconds (HTTP dates are ignored: the platforms here send seconds if anything).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Count UTF-16 code units, the way TikTok measures titles and descriptions.
pub(crate) fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Serde helpers that keep ids as text whether the platform sends a string or a (big) number.
pub(crate) mod id_text {
    use serde::de::{self, Deserializer, SeqAccess, Visitor};
    use std::fmt;

    struct IdVisitor;

    impl<'de> Visitor<'de> for IdVisitor {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an id as a string or an integer")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: de::Error>(self, _v: f64) -> Result<String, E> {
            // A float here means digits were already lost; refuse rather than store a wrong id.
            Err(E::custom("id is not an exact integer"))
        }
    }

    /// One id.
    pub(crate) fn one<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        d.deserialize_any(IdVisitor)
    }

    /// An optional id.
    pub(crate) fn opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        struct OptVisitor;
        impl<'de> Visitor<'de> for OptVisitor {
            type Value = Option<String>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an optional id")
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                one(d).map(Some)
            }
        }
        d.deserialize_option(OptVisitor)
    }

    /// A list of ids (absent or null gives an empty list).
    pub(crate) fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = Vec<String>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of ids")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Vec::new())
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Vec::new())
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                d.deserialize_any(ListVisitor)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(id) = seq.next_element::<Id>()? {
                    out.push(id.0);
                }
                Ok(out)
            }
        }
        d.deserialize_option(ListVisitor)
    }

    struct Id(String);
    impl<'de> serde::Deserialize<'de> for Id {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            one(d).map(Id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_counts_emoji_as_two_units() {
        assert_eq!(utf16_len("abc"), 3);
        assert_eq!(utf16_len("🎉"), 2);
        assert_eq!(utf16_len("é"), 1);
    }

    #[test]
    fn bearer_header_is_sensitive_and_hidden_from_debug() {
        let value = bearer(&SecretString::from("act.secret-token")).expect("valid header");
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("secret-token"));
    }
}
