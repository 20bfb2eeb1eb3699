//! Redacting secret types: a token in memory is wrapped, zeroized on drop, and never printed or serialized.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroize;

/// Text shown instead of a secret in `Debug` and `Display`.
pub const REDACTED: &str = "[REDACTED]";

/// A secret string (an OAuth access or refresh token, a client secret).
///
/// Zeroized when dropped, printed as `[REDACTED]`, and deliberately not `Serialize`: the only way to the
/// text is [`Secret::expose`], at the place that sends it to the platform.
///
/// ```
/// use natronfx_vault::Secret;
/// let token = Secret::new("act.example-token".to_owned());
/// assert_eq!(format!("{token:?} {token}"), "[REDACTED] [REDACTED]");
/// assert_eq!(token.expose(), "act.example-token");
/// ```
///
/// It cannot be serialized by accident:
///
/// ```compile_fail
/// fn to_json<T: serde::Serialize>(_: &T) {}
/// to_json(&natronfx_vault::Secret::from("act.example-token"));
/// ```
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a string, zeroizing the buffer it came in.
    pub fn new(mut text: String) -> Secret {
        let secret = Secret::copy_of(&text);
        text.zeroize();
        secret
    }

    /// Copies text into a buffer of exactly its length, so turning it into a boxed `str` never reallocates
    /// (a reallocation would leave an unzeroized copy behind in freed memory).
    pub(crate) fn copy_of(text: &str) -> Secret {
        let mut exact = String::with_capacity(text.len());
        exact.push_str(text);
        Secret(SecretString::from(exact))
    }

    /// The secret text. Call it where the secret is used, never to log or store it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The secret as a [`SecretString`], for APIs that take one (the platform adapters), without a copy.
    pub fn into_secret_string(self) -> SecretString {
        self.0
    }

    /// Length in bytes (safe to log).
    pub fn len(&self) -> usize {
        self.expose().len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Secret {
        Secret::new(text)
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Secret {
        Secret::copy_of(text)
    }
}

impl From<SecretString> for Secret {
    fn from(text: SecretString) -> Secret {
        Secret(text)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}
