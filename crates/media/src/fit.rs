//! Fitting an image of any shape to a slide canvas: cover-crop around a focal point, or pad with a colour.
//!
//! Image models make fixed sizes (`gpt-image-1`: 1024×1536 at its tallest, a 2:3 ratio narrower than
//! Instagram's 4:5 minimum). A slide is a canvas preset (1080×1350 by default), so a generated image is
//! fitted to it before it becomes a slide.

use image::{Rgb, RgbImage};
use serde::{Deserialize, Serialize};

use crate::ingest::{IngestLimits, decode, encode_jpeg};
use crate::key::EncodedImage;
use crate::render::{CanvasPreset, Color, FocalPoint};
use crate::{Error, Result, raster};

/// JPEG quality of fitted slides (the renderer's choice too).
const FIT_QUALITY: u8 = 90;

/// How an image is made to fill a canvas of another shape.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "lowercase", deny_unknown_fields)]
pub enum Fit {
    /// Scale to cover the canvas and crop the overflow, keeping `focus` as central as the edges allow.
    Cover {
        /// The point of the image (0..=1 on each axis) to keep in view.
        #[serde(default)]
        focus: FocalPoint,
    },
    /// Scale to fit inside the canvas and fill the rest with `color` (nothing is cut off).
    Pad {
        /// The colour of the bands.
        color: Color,
    },
}

impl Default for Fit {
    fn default() -> Self {
        Fit::Cover {
            focus: FocalPoint::default(),
        }
    }
}

impl Fit {
    /// Checks the focal point.
    ///
    /// # Errors
    /// `invalid-carousel-spec` when the focus is outside 0..=1.
    pub fn validate(&self) -> Result<()> {
        if let Fit::Cover { focus } = self
            && !((0.0..=1.0).contains(&focus.x) && (0.0..=1.0).contains(&focus.y))
        {
            return Err(Error::InvalidSpec(
                "focus x and y must be within 0..=1".into(),
            ));
        }
        Ok(())
    }
}

/// Fits decoded pixels to exactly `width`×`height`.
///
/// # Errors
/// `image-encode-failed` for zero sizes.
pub fn fit_pixels(src: &RgbImage, width: u32, height: u32, fit: Fit) -> Result<RgbImage> {
    fit.validate()?;
    match fit {
        Fit::Cover { focus } => raster::cover(src, width, height, (focus.x, focus.y)),
        Fit::Pad { color } => {
            let (sw, sh) = (f64::from(src.width()), f64::from(src.height()));
            let scale = (f64::from(width) / sw).min(f64::from(height) / sh);
            let iw = ((sw * scale).round() as u32).clamp(1, width);
            let ih = ((sh * scale).round() as u32).clamp(1, height);
            let inner = raster::cover(src, iw, ih, (0.5, 0.5))?;
            let mut canvas = RgbImage::from_pixel(width, height, Rgb([color.r, color.g, color.b]));
            image::imageops::replace(
                &mut canvas,
                &inner,
                i64::from((width - iw) / 2),
                i64::from((height - ih) / 2),
            );
            Ok(canvas)
        }
    }
}

/// Decodes an encoded image (under the default ingest limits) and fits it to a canvas preset, as a
/// baseline JPEG.
///
/// # Errors
/// Decoding failures of the input, `invalid-carousel-spec` for a bad focus, encoding failures.
pub fn fit_to_canvas(bytes: &[u8], canvas: CanvasPreset, fit: Fit) -> Result<EncodedImage> {
    let (_, pixels) = decode(bytes, &IngestLimits::default())?;
    let (width, height) = canvas.size();
    encode_jpeg(&fit_pixels(&pixels, width, height, fit)?, FIT_QUALITY)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1024×1536 image: a red band along the top (less than the 256 rows a 4:5 crop removes), the rest
    /// blue.
    fn portrait() -> RgbImage {
        RgbImage::from_fn(1024, 1536, |_, y| {
            if y < 200 {
                Rgb([220, 20, 20])
            } else {
                Rgb([20, 20, 220])
            }
        })
    }

    #[test]
    fn cover_fills_the_canvas_and_keeps_the_focus_in_view() {
        let top = fit_pixels(
            &portrait(),
            1080,
            1350,
            Fit::Cover {
                focus: FocalPoint { x: 0.5, y: 0.0 },
            },
        )
        .unwrap();
        assert_eq!(top.dimensions(), (1080, 1350));
        assert!(top.get_pixel(540, 5)[0] > 200, "the red top stays in view");
        let bottom = fit_pixels(
            &portrait(),
            1080,
            1350,
            Fit::Cover {
                focus: FocalPoint { x: 0.5, y: 1.0 },
            },
        )
        .unwrap();
        assert!(bottom.get_pixel(540, 5)[2] > 200, "the top is cropped away");
    }

    #[test]
    fn pad_keeps_everything_and_fills_the_bands() {
        let padded = fit_pixels(
            &portrait(),
            1080,
            1350,
            Fit::Pad {
                color: Color::rgb(0, 255, 0),
            },
        )
        .unwrap();
        assert_eq!(padded.dimensions(), (1080, 1350));
        // 1024×1536 scaled to 900×1350: 90 px green bands left and right.
        assert_eq!(padded.get_pixel(10, 675), &Rgb([0, 255, 0]));
        assert_eq!(padded.get_pixel(1070, 675), &Rgb([0, 255, 0]));
        assert!(padded.get_pixel(540, 5)[0] > 200, "the top is not cut off");
        assert!(padded.get_pixel(540, 1345)[2] > 200, "nor the bottom");
    }

    #[test]
    fn a_generated_portrait_fitted_to_the_portrait_canvas_is_what_instagram_takes() {
        let generated = encode_jpeg(&portrait(), 90).unwrap();
        assert!(
            crate::platform::instagram_problems(&generated)
                .iter()
                .any(|p| matches!(p, crate::platform::ImageProblem::AspectRatio(_))),
            "2:3 is narrower than 4:5"
        );
        for fit in [
            Fit::default(),
            Fit::Pad {
                color: Color::BLACK,
            },
        ] {
            let slide = fit_to_canvas(&generated.bytes, CanvasPreset::Portrait, fit).unwrap();
            assert_eq!((slide.width, slide.height), (1080, 1350));
            assert!(crate::platform::instagram_problems(&slide).is_empty());
            assert!(crate::platform::tiktok_problems(&slide).is_empty());
        }
    }

    #[test]
    fn a_focus_outside_the_image_is_refused() {
        let err = fit_pixels(
            &portrait(),
            10,
            10,
            Fit::Cover {
                focus: FocalPoint { x: 1.5, y: 0.0 },
            },
        )
        .unwrap_err();
        assert_eq!(err.code(), "invalid-carousel-spec");
    }
}
