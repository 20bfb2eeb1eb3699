//! Ingest of untrusted uploads: detect, bound, decode safely, orient, normalise and strip metadata.
//!
//! # Output encoding
//!
//! Every accepted image is re-encoded as a **baseline JPEG, quality 92, 8-bit sRGB (RGB8)**, whatever it came
//! in as. Reasons:
//!
//! - JPEG is the only format all three targets accept: Instagram takes JPEG only, TikTok JPEG or WebP,
//!   Facebook PNG or JPEG. Storing one format means no per-platform conversion at publish time.
//! - Re-encoding from decoded pixels is what strips *all* metadata (EXIF, GPS, XMP, IPTC, comments, ICC):
//!   nothing of the original container survives, only pixels.
//! - Quality 92 is visually lossless for photos and far below the 8 MB Instagram limit at our sizes.
//!   Transparent PNG/WebP pixels are flattened over white, which is what the platforms would show anyway.
//!
//! Colour: the `image` crate has no colour management, so embedded ICC profiles are dropped and the
//! samples are taken as sRGB. Wide-gamut photos (Display P3) therefore come out slightly less saturated.

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, RgbImage, error::LimitErrorKind};
use serde::{Deserialize, Serialize};

use crate::key::{EncodedImage, ImageFormat};
use crate::{Error, Result};

/// An accepted upload, normalised and re-encoded (see the module docs for the encoding).
pub type IngestedImage = EncodedImage;

/// JPEG quality used for every ingested image.
pub const INGEST_JPEG_QUALITY: u8 = 92;

/// A declared pixel count more than this many times the file's byte count is a decompression bomb: no
/// real photo compresses anywhere near 1000 pixels per byte.
const BOMB_PIXELS_PER_BYTE: u64 = 1000;

/// Bounds applied to untrusted images before any pixel memory is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IngestLimits {
    /// Largest accepted file, in bytes (default 50 MB).
    pub max_bytes: u64,
    /// Largest accepted width × height (default 40 megapixels).
    pub max_pixels: u64,
    /// Largest accepted width or height (default 20,000).
    pub max_side: u32,
    /// The most memory a decoder may allocate, in bytes (default 512 MiB); passed to `image::Limits`.
    pub max_alloc: u64,
}

impl Default for IngestLimits {
    fn default() -> Self {
        IngestLimits {
            max_bytes: 50 * 1000 * 1000,
            max_pixels: 40 * 1000 * 1000,
            max_side: 20_000,
            max_alloc: 512 * 1024 * 1024,
        }
    }
}

impl IngestLimits {
    fn decoder_limits(&self) -> image::Limits {
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(self.max_side);
        limits.max_image_height = Some(self.max_side);
        limits.max_alloc = Some(self.max_alloc);
        limits
    }
}

/// What the header of an image says, read without decoding pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageFacts {
    /// Detected format.
    pub format: ImageFormat,
    /// Declared width.
    pub width: u32,
    /// Declared height.
    pub height: u32,
    /// Size of the file in bytes.
    pub bytes: u64,
}

impl ImageFacts {
    /// Width × height.
    #[must_use]
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// Reads only the header: format (by content) and declared dimensions. Cheap; never decodes pixels.
///
/// # Errors
/// `unsupported-image-format`, `image-corrupt` (empty, truncated header, zero dimensions).
pub fn probe(bytes: &[u8]) -> Result<ImageFacts> {
    let format = sniff(bytes)?;
    contain_panics(|| {
        let decoder = header_decoder(bytes, format)?;
        let (width, height) = decoder.dimensions();
        if width == 0 || height == 0 {
            return Err(Error::Corrupt {
                detail: format!("the header declares {width}x{height} pixels"),
            });
        }
        Ok(ImageFacts {
            format,
            width,
            height,
            bytes: bytes.len() as u64,
        })
    })
}

/// Checks an image against the limits from its header alone, before any pixel allocation.
///
/// # Errors
/// `image-too-large`, `decompression-bomb`, plus everything [`probe`] returns.
pub fn check(bytes: &[u8], limits: &IngestLimits) -> Result<ImageFacts> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(Error::TooLarge {
            detail: format!(
                "{} bytes, the limit is {} bytes",
                bytes.len(),
                limits.max_bytes
            ),
        });
    }
    let facts = probe(bytes)?;
    let pixels = facts.pixels();
    if pixels > limits.max_pixels && pixels > facts.bytes.saturating_mul(BOMB_PIXELS_PER_BYTE) {
        return Err(Error::DecompressionBomb {
            detail: format!(
                "a {}-byte file declares {}x{} pixels",
                facts.bytes, facts.width, facts.height
            ),
        });
    }
    if pixels > limits.max_pixels {
        return Err(Error::TooLarge {
            detail: format!(
                "{}x{} is {pixels} pixels, the limit is {}",
                facts.width, facts.height, limits.max_pixels
            ),
        });
    }
    if facts.width > limits.max_side || facts.height > limits.max_side {
        return Err(Error::TooLarge {
            detail: format!(
                "{}x{} has a side over {} pixels",
                facts.width, facts.height, limits.max_side
            ),
        });
    }
    Ok(facts)
}

/// Decodes an untrusted image into oriented 8-bit RGB pixels (alpha flattened over white), after
/// [`check`]ing it. Decoder panics become [`Error::DecoderPanicked`].
///
/// # Errors
/// Every refusal code of this module.
pub fn decode(bytes: &[u8], limits: &IngestLimits) -> Result<(ImageFacts, RgbImage)> {
    let facts = check(bytes, limits)?;
    if facts.format == ImageFormat::Jpeg && !jpeg_has_end_marker(bytes) {
        return Err(Error::Corrupt {
            detail: "the JPEG data ends before its end-of-image marker (truncated file)".into(),
        });
    }
    let pixels = contain_panics(|| {
        let mut reader =
            ImageReader::with_format(Cursor::new(bytes), to_image_format(facts.format));
        reader.limits(limits.decoder_limits());
        let mut decoder = reader.into_decoder().map_err(map_image_error)?;
        let orientation = decoder
            .orientation()
            .unwrap_or(image::metadata::Orientation::NoTransforms);
        let mut image = DynamicImage::from_decoder(decoder).map_err(map_image_error)?;
        image.apply_orientation(orientation);
        Ok(flatten_to_rgb8(image))
    })?;
    Ok((facts, pixels))
}

/// Ingests an untrusted upload synchronously: [`decode`], then re-encode as baseline JPEG q92 with no
/// metadata. Prefer [`ingest`] from async code.
///
/// # Errors
/// Every refusal code of this module, or `image-encode-failed`.
pub fn ingest_blocking(bytes: &[u8], limits: &IngestLimits) -> Result<IngestedImage> {
    let (_, pixels) = decode(bytes, limits)?;
    encode_jpeg(&pixels, INGEST_JPEG_QUALITY)
}

/// Ingests an untrusted upload on the blocking thread pool, so a large decode never stalls the runtime.
///
/// # Errors
/// As [`ingest_blocking`], or `internal-error` if the blocking task is cancelled.
pub async fn ingest(bytes: Vec<u8>, limits: IngestLimits) -> Result<IngestedImage> {
    tokio::task::spawn_blocking(move || ingest_blocking(&bytes, &limits))
        .await
        .map_err(|e| Error::Task(e.to_string()))?
}

/// Encodes RGB pixels as a baseline JPEG (never progressive), with no metadata segments.
///
/// With the `fast-jpeg` feature the `jpeg-encoder` crate does the work (several times faster); otherwise
/// the `image` crate's encoder. Both are deterministic: the same pixels give the same bytes.
///
/// # Errors
/// `image-encode-failed` when the encoder refuses (for example a zero-sized image).
pub fn encode_jpeg(pixels: &RgbImage, quality: u8) -> Result<EncodedImage> {
    let quality = quality.clamp(1, 100);
    let mut out = Vec::with_capacity(pixels.as_raw().len() / 8);
    #[cfg(feature = "fast-jpeg")]
    if let (Ok(w), Ok(h)) = (
        u16::try_from(pixels.width()),
        u16::try_from(pixels.height()),
    ) {
        jpeg_encoder::Encoder::new(&mut out, quality)
            .encode(pixels.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
            .map_err(|e| Error::Encode(e.to_string()))?;
        return Ok(EncodedImage::new(
            out,
            ImageFormat::Jpeg,
            pixels.width(),
            pixels.height(),
        ));
    }
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(pixels)
        .map_err(|e| Error::Encode(e.to_string()))?;
    Ok(EncodedImage::new(
        out,
        ImageFormat::Jpeg,
        pixels.width(),
        pixels.height(),
    ))
}

fn sniff(bytes: &[u8]) -> Result<ImageFormat> {
    if bytes.is_empty() {
        return Err(Error::Corrupt {
            detail: "the file is empty".into(),
        });
    }
    ImageFormat::sniff(bytes).ok_or_else(|| Error::UnsupportedFormat {
        found: describe_content(bytes),
    })
}

fn describe_content(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(16)];
    if head.starts_with(b"GIF8") {
        "GIF".into()
    } else if head.starts_with(b"%PDF") {
        "PDF".into()
    } else if head.len() >= 12 && &head[4..8] == b"ftyp" {
        "HEIF/MP4 container".into()
    } else if std::str::from_utf8(bytes.get(..bytes.len().min(512)).unwrap_or_default()).is_ok() {
        "text".into()
    } else {
        "unknown binary data".into()
    }
}

fn to_image_format(format: ImageFormat) -> image::ImageFormat {
    match format {
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Webp => image::ImageFormat::WebP,
    }
}

/// A decoder that has read only the header. Dimension limits are left open here so that the caller can
/// tell a bomb from an honest large image; the allocation cap still applies.
fn header_decoder(bytes: &[u8], format: ImageFormat) -> Result<impl ImageDecoder + '_> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), to_image_format(format));
    reader.limits(image::Limits::default());
    reader.into_decoder().map_err(map_image_error)
}

fn contain_panics<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!("image decoder panicked; input refused as corrupt");
            Err(Error::DecoderPanicked)
        }
    }
}

fn map_image_error(error: ImageError) -> Error {
    match error {
        ImageError::Limits(limit) => match limit.kind() {
            LimitErrorKind::DimensionError => Error::TooLarge {
                detail: limit.to_string(),
            },
            _ => Error::DecompressionBomb {
                detail: format!("decoding would exceed the allocation limit ({limit})"),
            },
        },
        ImageError::Unsupported(e) => Error::UnsupportedFormat {
            found: e.to_string(),
        },
        other => Error::Corrupt {
            detail: other.to_string(),
        },
    }
}

/// True when a JPEG has an end-of-image marker after its first scan. Some decoders fill a truncated
/// scan with grey instead of failing; a half-grey photo must be refused, not published.
fn jpeg_has_end_marker(bytes: &[u8]) -> bool {
    // Walk the marker segments up to the first start-of-scan (FFDA).
    let mut at = 2;
    loop {
        let Some(&[0xFF, marker]) = bytes.get(at..at + 2) else {
            return false;
        };
        match marker {
            0xFF => {
                at += 1;
                continue;
            }
            0xDA => break,
            0xD0..=0xD7 | 0x01 => {
                at += 2;
                continue;
            }
            _ => {}
        }
        let Some(&[hi, lo]) = bytes.get(at + 2..at + 4) else {
            return false;
        };
        at += 2 + usize::from(u16::from_be_bytes([hi, lo]));
    }
    // Entropy-coded data stuffs every 0xFF with 0x00, so FFD9 after the scan starts is a real marker.
    bytes[at..].windows(2).any(|w| w == [0xFF, 0xD9])
}

fn flatten_to_rgb8(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let (width, height) = rgba.dimensions();
    let mut out = RgbImage::new(width, height);
    for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
        let a = u32::from(src[3]);
        for c in 0..3 {
            let v = (u32::from(src[c]) * a + 255 * (255 - a) + 127) / 255;
            dst[c] = u8::try_from(v).unwrap_or(u8::MAX);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jpeg_cut_in_the_scan_has_no_end_marker() {
        let pixels = RgbImage::from_pixel(64, 64, image::Rgb([200, 10, 10]));
        let jpeg = encode_jpeg(&pixels, 90).unwrap().bytes;
        assert!(jpeg_has_end_marker(&jpeg));
        assert!(!jpeg_has_end_marker(&jpeg[..jpeg.len() - 40]));
    }

    #[test]
    fn a_panicking_decoder_becomes_a_corrupt_image_error() {
        let result: Result<()> = contain_panics(|| panic!("decoder bug"));
        let err = result.unwrap_err();
        assert!(matches!(err, Error::DecoderPanicked));
        assert_eq!(err.code(), "image-corrupt");
    }

    #[test]
    fn transparent_pixels_become_white() {
        let rgba = image::RgbaImage::from_pixel(2, 2, image::Rgba([0, 0, 0, 0]));
        let rgb = flatten_to_rgb8(DynamicImage::ImageRgba8(rgba));
        assert_eq!(rgb.get_pixel(0, 0), &image::Rgb([255, 255, 255]));
    }
}
