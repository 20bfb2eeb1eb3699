//! Per-platform image rules and the variants that satisfy them (see `platform-apis.md`).
//!
//! Generate once, derive per platform: Instagram takes JPEG with a width/height ratio between 4:5 and
//! 1.91:1 (up to 1440 px wide, under 8 MiB); TikTok photo posts take JPEG or WebP with width ≤ 1080 and the
//! shorter side ≤ 1080 (one oversized image fails the whole post); Facebook takes JPEG or PNG up to 10 MB.

use crate::ingest::{IngestLimits, decode, encode_jpeg};
use crate::key::{EncodedImage, ImageFormat};
use crate::{Result, raster};

/// Narrowest ratio (width / height) Instagram's feed accepts: 4:5.
pub const INSTAGRAM_MIN_RATIO: f64 = 0.8;
/// Widest ratio Instagram's feed accepts: 1.91:1.
pub const INSTAGRAM_MAX_RATIO: f64 = 1.91;
/// Widest image Instagram keeps without downscaling.
pub const INSTAGRAM_MAX_WIDTH: u32 = 1440;
/// Instagram's byte limit (exclusive): 8 MiB.
pub const INSTAGRAM_MAX_BYTES: u64 = 8 * 1024 * 1024;
/// TikTok's limit for the width and for the shorter side.
pub const TIKTOK_MAX_SIDE: u32 = 1080;
/// TikTok's byte limit per photo.
pub const TIKTOK_MAX_BYTES: u64 = 20 * 1024 * 1024;

/// Quality used when a variant has to be re-encoded.
const VARIANT_QUALITY: u8 = 90;

/// A reason an image would be refused by a platform.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ImageProblem {
    /// The platform does not take this format.
    Format(ImageFormat),
    /// The file is too big for the platform.
    Bytes {
        /// The file size.
        size: u64,
        /// The platform's limit.
        limit: u64,
    },
    /// Width / height is outside the accepted range.
    AspectRatio(f64),
    /// The pixel size is over the platform's limit.
    Dimensions {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
}

/// True when Instagram's feed accepts this width/height ratio (4:5 up to 1.91:1, inclusive).
#[must_use]
pub fn instagram_ratio_ok(width: u32, height: u32) -> bool {
    if height == 0 {
        return false;
    }
    let ratio = f64::from(width) / f64::from(height);
    // A hair of tolerance so that 1080×1350 (exactly 0.8) is never refused by rounding.
    (INSTAGRAM_MIN_RATIO - 1e-9..=INSTAGRAM_MAX_RATIO + 1e-9).contains(&ratio)
}

/// True when TikTok accepts these dimensions: width ≤ 1080 and the shorter side ≤ 1080.
#[must_use]
pub fn tiktok_size_ok(width: u32, height: u32) -> bool {
    width <= TIKTOK_MAX_SIDE && width.min(height) <= TIKTOK_MAX_SIDE
}

/// What Instagram would refuse about this image.
#[must_use]
pub fn instagram_problems(image: &EncodedImage) -> Vec<ImageProblem> {
    let mut problems = Vec::new();
    if image.format != ImageFormat::Jpeg {
        problems.push(ImageProblem::Format(image.format));
    }
    if image.bytes.len() as u64 >= INSTAGRAM_MAX_BYTES {
        problems.push(ImageProblem::Bytes {
            size: image.bytes.len() as u64,
            limit: INSTAGRAM_MAX_BYTES,
        });
    }
    if !instagram_ratio_ok(image.width, image.height) {
        problems.push(ImageProblem::AspectRatio(
            f64::from(image.width) / f64::from(image.height.max(1)),
        ));
    }
    problems
}

/// What TikTok would refuse about this image.
#[must_use]
pub fn tiktok_problems(image: &EncodedImage) -> Vec<ImageProblem> {
    let mut problems = Vec::new();
    if image.format == ImageFormat::Png {
        problems.push(ImageProblem::Format(image.format));
    }
    if image.bytes.len() as u64 > TIKTOK_MAX_BYTES {
        problems.push(ImageProblem::Bytes {
            size: image.bytes.len() as u64,
            limit: TIKTOK_MAX_BYTES,
        });
    }
    if !tiktok_size_ok(image.width, image.height) {
        problems.push(ImageProblem::Dimensions {
            width: image.width,
            height: image.height,
        });
    }
    problems
}

/// The image as TikTok accepts it: returned unchanged when it already fits, otherwise scaled down (never
/// cropped) so that width ≤ 1080 and the shorter side ≤ 1080, as a JPEG.
///
/// # Errors
/// Decode or encode failures of the input.
pub fn tiktok_variant(image: &EncodedImage) -> Result<EncodedImage> {
    if tiktok_problems(image).is_empty() {
        return Ok(image.clone());
    }
    let (_, pixels) = decode(&image.bytes, &IngestLimits::default())?;
    let (w, h) = pixels.dimensions();
    let scale = (f64::from(TIKTOK_MAX_SIDE) / f64::from(w))
        .min(f64::from(TIKTOK_MAX_SIDE) / f64::from(w.min(h)))
        .min(1.0);
    let nw = ((f64::from(w) * scale).floor() as u32).clamp(1, TIKTOK_MAX_SIDE);
    let nh = ((f64::from(h) * scale).floor() as u32).max(1);
    let resized = raster::cover(&pixels, nw, nh, (0.5, 0.5))?;
    encode_jpeg(&resized, VARIANT_QUALITY)
}

/// The image as Instagram's feed accepts it: unchanged when it fits, otherwise centre-cropped to the
/// nearest accepted ratio, scaled to at most 1440 px wide and encoded as JPEG.
///
/// # Errors
/// Decode or encode failures of the input.
pub fn instagram_variant(image: &EncodedImage) -> Result<EncodedImage> {
    if instagram_problems(image).is_empty() && image.width <= INSTAGRAM_MAX_WIDTH {
        return Ok(image.clone());
    }
    let (_, pixels) = decode(&image.bytes, &IngestLimits::default())?;
    let (w, h) = pixels.dimensions();
    let ratio = (f64::from(w) / f64::from(h)).clamp(INSTAGRAM_MIN_RATIO, INSTAGRAM_MAX_RATIO);
    let mut nw = w.min(INSTAGRAM_MAX_WIDTH);
    let mut nh = (f64::from(nw) / ratio).round() as u32;
    if nh > h {
        nh = h;
        nw = ((f64::from(nh) * ratio).round() as u32).min(INSTAGRAM_MAX_WIDTH);
    }
    // Rounding must never step outside the accepted range.
    while !instagram_ratio_ok(nw, nh) {
        if f64::from(nw) / f64::from(nh) < INSTAGRAM_MIN_RATIO {
            nh -= 1;
        } else {
            nw -= 1;
        }
    }
    let cropped = raster::cover(&pixels, nw.max(1), nh.max(1), (0.5, 0.5))?;
    let mut quality = VARIANT_QUALITY;
    loop {
        let encoded = encode_jpeg(&cropped, quality)?;
        if (encoded.bytes.len() as u64) < INSTAGRAM_MAX_BYTES || quality <= 50 {
            return Ok(encoded);
        }
        quality -= 10;
    }
}
