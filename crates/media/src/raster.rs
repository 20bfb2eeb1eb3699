//! Pixel operations shared by the renderer and the platform variants: cover-crop and fit resizes.

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;

use crate::{Error, Result};

/// The crop rectangle `(left, top, width, height)` of a `src_w`×`src_h` image that has the aspect ratio of
/// `dst_w`×`dst_h`, as large as possible, and places the focal point `(fx, fy)` (fractions of the source)
/// as close to its centre as the image edges allow.
#[must_use]
pub fn cover_crop_box(
    src_w: u32,
    src_h: u32,
    dst_w: u32,
    dst_h: u32,
    focus: (f32, f32),
) -> (f64, f64, f64, f64) {
    let (sw, sh) = (f64::from(src_w), f64::from(src_h));
    let target = f64::from(dst_w) / f64::from(dst_h);
    let (cw, ch) = if sw / sh > target {
        (sh * target, sh)
    } else {
        (sw, sw / target)
    };
    let left = (f64::from(focus.0) * sw - cw / 2.0).clamp(0.0, sw - cw);
    let top = (f64::from(focus.1) * sh - ch / 2.0).clamp(0.0, sh - ch);
    (left, top, cw, ch)
}

/// Resizes `src` to exactly `width`×`height`, cropping (never distorting) around the focal point.
///
/// # Errors
/// `image-encode-failed` if the resizer refuses the geometry (zero sizes).
pub fn cover(src: &RgbImage, width: u32, height: u32, focus: (f32, f32)) -> Result<RgbImage> {
    let (left, top, cw, ch) = cover_crop_box(src.width(), src.height(), width, height, focus);
    let mut dst = RgbImage::new(width, height);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom))
        .crop(left, top, cw, ch);
    Resizer::new()
        .resize(src, &mut dst, &options)
        .map_err(|e| Error::Encode(format!("resize failed: {e}")))?;
    Ok(dst)
}
