//! Content-addressed media keys and the image formats the crate stores.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// An image format the crate accepts and stores, detected from content, never from a file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// JPEG (JFIF/EXIF), the format every target platform accepts.
    Jpeg,
    /// PNG.
    Png,
    /// WebP (lossy or lossless).
    Webp,
}

impl ImageFormat {
    /// The file extension used in media keys (`jpg`, `png`, `webp`).
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Png => "png",
            ImageFormat::Webp => "webp",
        }
    }

    /// The MIME type served for this format.
    #[must_use]
    pub fn content_type(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Webp => "image/webp",
        }
    }

    /// Detects the format from the first bytes (magic numbers), or `None` when it is none of ours.
    #[must_use]
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageFormat::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageFormat::Png)
        } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageFormat::Webp)
        } else {
            None
        }
    }

    fn from_extension(ext: &str) -> Option<Self> {
        match ext {
            "jpg" => Some(ImageFormat::Jpeg),
            "png" => Some(ImageFormat::Png),
            "webp" => Some(ImageFormat::Webp),
            _ => None,
        }
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// The key of a stored media object: `<sha256 of the bytes, 64 lowercase hex>.<jpg|png|webp>`.
///
/// Only this shape parses, so a key can never contain a path separator, `..` or anything else that
/// would let it escape the media folder or bucket prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MediaKey(String);

impl MediaKey {
    /// Parses and validates a key.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] when the text is not `[0-9a-f]{64}.(jpg|png|webp)`.
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = || Error::InvalidKey {
            key: text.chars().take(100).collect(),
        };
        let (hash, ext) = text.split_once('.').ok_or_else(invalid)?;
        let hash_ok =
            hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !hash_ok || ImageFormat::from_extension(ext).is_none() {
            return Err(invalid());
        }
        Ok(MediaKey(text.to_owned()))
    }

    /// The key for these exact bytes stored in this format.
    #[must_use]
    pub fn for_bytes(bytes: &[u8], format: ImageFormat) -> Self {
        Self::from_sha256_hex(&sha256_hex(bytes), format)
    }

    pub(crate) fn from_sha256_hex(sha256: &str, format: ImageFormat) -> Self {
        MediaKey(format!("{sha256}.{}", format.extension()))
    }

    /// The key as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64-hex-digit SHA-256 part.
    #[must_use]
    pub fn sha256(&self) -> &str {
        &self.0[..64]
    }

    /// The format implied by the extension.
    #[must_use]
    pub fn format(&self) -> ImageFormat {
        ImageFormat::from_extension(&self.0[65..]).unwrap_or(ImageFormat::Jpeg)
    }

    /// The MIME type implied by the extension.
    #[must_use]
    pub fn content_type(&self) -> &'static str {
        self.format().content_type()
    }
}

impl fmt::Display for MediaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for MediaKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl TryFrom<String> for MediaKey {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        Self::parse(&value)
    }
}

impl From<MediaKey> for String {
    fn from(key: MediaKey) -> Self {
        key.0
    }
}

impl AsRef<str> for MediaKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Lowercase hex SHA-256 of the bytes.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// An encoded image ready to store: the bytes plus the facts a caller needs about them.
#[derive(Clone, PartialEq, Eq)]
pub struct EncodedImage {
    /// The encoded file.
    pub bytes: Vec<u8>,
    /// Its format.
    pub format: ImageFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Lowercase hex SHA-256 of `bytes`.
    pub sha256: String,
    /// MIME type of `bytes`.
    pub content_type: &'static str,
}

impl EncodedImage {
    pub(crate) fn new(bytes: Vec<u8>, format: ImageFormat, width: u32, height: u32) -> Self {
        let sha256 = sha256_hex(&bytes);
        EncodedImage {
            bytes,
            format,
            width,
            height,
            sha256,
            content_type: format.content_type(),
        }
    }

    /// The content-addressed key to store these bytes under (`<sha256>.<ext>`).
    #[must_use]
    pub fn key(&self) -> MediaKey {
        MediaKey::from_sha256_hex(&self.sha256, self.format)
    }
}

impl fmt::Debug for EncodedImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncodedImage")
            .field("bytes", &self.bytes.len())
            .field("format", &self.format)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("sha256", &self.sha256)
            .finish()
    }
}
