//! Perceptual image hashes: 64-bit dHash (the index key) and 64-bit pHash (a confirmation).
//!
//! Both start from the same preprocessing, written out here so that the persisted bit layout does
//! not depend on a resize filter that a dependency bump could change:
//!
//! 1. Luma per pixel, `0.299 R + 0.587 G + 0.114 B` in `f32` (alpha ignored; 16-bit and float
//!    images are first converted to 8-bit RGB by `image`).
//! 2. Exact area averaging down (or up) to a small grid: every grid cell is the mean of the source
//!    area it covers, with fractional edge pixels weighted by their overlap. This is what makes the
//!    hashes insensitive to the resolution the slide was exported at.
//!
//! **dHash**: a 9×8 grid; bit `63 - (8·y + x)` is set when cell `(x, y)` is brighter than cell
//! `(x + 1, y)`. So the most significant bit compares the top-left pair, and rows follow in order.
//!
//! **pHash**: a 32×32 grid, a 2-D DCT-II, the 8×8 lowest frequencies (DC included, row-major from
//! `(0, 0)`), each bit set when the coefficient is above the median of those 64 coefficients. Bit 63
//! is coefficient `(0, 0)`.
//!
//! Measured on the seven fixture photos (`tests/image_hash.rs` pins and re-checks all of this):
//!
//! | edit | dHash bits moved | pHash bits moved |
//! |---|---|---|
//! | JPEG quality 60–90, resize 50–200 %, brightness ±20, contrast, hue ±10°, colour cast | 0–4 | 0–2 |
//! | crop ≤ 5 % per side, photos | 2–20 | 4–18 |
//! | crop ≤ 5 % per side, periodic texture (brick) | 11–39 | 8–24 |
//! | different photos (closest pair of any edited copies) | ≥ 19 | ≥ 22 |
//!
//! Decision: pHash earns its place. It moves about half as many bits as dHash under crops and keeps
//! different photos further apart, at the cost of a 32×32 grid and a small DCT (still microseconds
//! next to decoding). Both are stored; an index can be kept over either. Re-exports are caught by
//! either hash within [`SAME_IMAGE_RADIUS`]; crops of photos by pHash within [`CROP_PHASH_RADIUS`],
//! which is beyond what a multi-million-hash index answers cheaply, so use it to confirm candidates
//! or over one account's history. A repeating texture shifted by a crop is out of reach for both.
//!
//! The cosine table of the DCT comes from `f64::cos`; a platform whose libm rounds differently could
//! in principle flip a coefficient that sits exactly on the median. The golden tests would show it.

use image::DynamicImage;

use crate::{Error, Result};

/// Search radius for "the same image, re-exported": twice the 4 bits that JPEG quality 60–90,
/// resizing and colour shifts moved either hash on the fixtures. Two unrelated random 64-bit
/// hashes fall this close with probability about 3e-10.
pub const SAME_IMAGE_RADIUS: u32 = 8;

/// pHash radius for "the same photo, cropped by up to 5 % per side": the largest distance the
/// fixture photos moved, below the 22 bits that separate different fixture photos.
pub const CROP_PHASH_RADIUS: u32 = 18;

/// Both perceptual hashes of one image, as stored per slide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ImageFingerprint {
    /// 64-bit dHash.
    pub dhash: u64,
    /// 64-bit pHash.
    pub phash: u64,
}

impl ImageFingerprint {
    /// Computes both hashes of decoded pixels.
    ///
    /// # Errors
    /// [`Error::EmptyImage`] when the image has no pixels.
    pub fn of(image: &DynamicImage) -> Result<Self> {
        Ok(ImageFingerprint {
            dhash: dhash(image)?,
            phash: phash(image)?,
        })
    }

    /// Whether `other` looks like the same image re-exported, resized or colour-shifted.
    pub fn is_same_image(&self, other: &Self) -> bool {
        distance(self.dhash, other.dhash) <= SAME_IMAGE_RADIUS
            && distance(self.phash, other.phash) <= SAME_IMAGE_RADIUS
    }

    /// Whether `other` looks like the same photo, possibly cropped by up to 5 % per side.
    pub fn is_same_photo_maybe_cropped(&self, other: &Self) -> bool {
        distance(self.phash, other.phash) <= CROP_PHASH_RADIUS
    }
}

/// Hamming distance between two 64-bit hashes.
pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// 64-bit difference hash of decoded pixels (layout in the [module documentation](self)).
///
/// # Errors
/// [`Error::EmptyImage`] when the image has no pixels.
pub fn dhash(image: &DynamicImage) -> Result<u64> {
    let grid = luma_grid(image, 9, 8)?;
    let mut hash = 0u64;
    for row in grid.chunks_exact(9) {
        for pair in row.windows(2) {
            hash = (hash << 1) | u64::from(pair[0] > pair[1]);
        }
    }
    Ok(hash)
}

/// 64-bit DCT hash of decoded pixels (layout in the [module documentation](self)).
///
/// # Errors
/// [`Error::EmptyImage`] when the image has no pixels.
pub fn phash(image: &DynamicImage) -> Result<u64> {
    const N: usize = 32;
    const K: usize = 8;
    let grid = luma_grid(image, N, N)?;
    // basis[k][n] = cos(pi * (2n + 1) * k / 2N); the DCT scale factors do not change the median
    // comparison except for row/column 0, so apply them to keep the coefficients comparable.
    let mut basis = [[0f64; N]; K];
    for (k, row) in basis.iter_mut().enumerate() {
        let scale = if k == 0 {
            (1.0 / N as f64).sqrt()
        } else {
            (2.0 / N as f64).sqrt()
        };
        for (n, v) in row.iter_mut().enumerate() {
            let angle = std::f64::consts::PI * ((2 * n + 1) * k) as f64 / (2 * N) as f64;
            *v = scale * angle.cos();
        }
    }
    // Rows first: tmp[y][u] = sum_x grid[y][x] * basis[u][x].
    let mut tmp = [[0f64; K]; N];
    for (y, out) in tmp.iter_mut().enumerate() {
        let row = &grid[y * N..(y + 1) * N];
        for (u, o) in out.iter_mut().enumerate() {
            *o = row
                .iter()
                .zip(basis[u].iter())
                .map(|(&p, &b)| f64::from(p) * b)
                .sum();
        }
    }
    let mut coeffs = [0f64; K * K];
    for v in 0..K {
        for u in 0..K {
            coeffs[v * K + u] = (0..N).map(|y| tmp[y][u] * basis[v][y]).sum();
        }
    }
    let mut sorted = coeffs;
    sorted.sort_by(f64::total_cmp);
    let median = (sorted[K * K / 2 - 1] + sorted[K * K / 2]) / 2.0;
    Ok(coeffs
        .iter()
        .fold(0u64, |h, &c| (h << 1) | u64::from(c > median)))
}

/// Mean luma of each cell of a `cols`×`rows` grid laid over the image, row-major.
fn luma_grid(image: &DynamicImage, cols: usize, rows: usize) -> Result<Vec<f32>> {
    let (width, height) = (image.width(), image.height());
    if width == 0 || height == 0 {
        return Err(Error::EmptyImage { width, height });
    }
    let (w, h) = (width as usize, height as usize);
    let luma = LumaRows::new(image);
    let col_spans = spans(w, cols);
    let row_spans = spans(h, rows);
    let mut grid = vec![0f32; cols * rows];
    let mut line = vec![0f32; w];
    for (gy, row_span) in row_spans.iter().enumerate() {
        let mut acc = vec![0f64; cols];
        for &(y, wy) in &row_span.weights {
            luma.row(y, &mut line);
            for (gx, col_span) in col_spans.iter().enumerate() {
                let sum: f64 = col_span
                    .weights
                    .iter()
                    .map(|&(x, wx)| wx * f64::from(line[x]))
                    .sum();
                acc[gx] += wy * sum;
            }
        }
        for (gx, col_span) in col_spans.iter().enumerate() {
            let area = row_span.length * col_span.length;
            grid[gy * cols + gx] = (acc[gx] / area) as f32;
        }
    }
    Ok(grid)
}

/// The source pixels one grid cell covers along one axis, with their overlap.
struct Span {
    weights: Vec<(usize, f64)>,
    length: f64,
}

/// Splits `source` pixels into `cells` equal spans with fractional overlaps.
fn spans(source: usize, cells: usize) -> Vec<Span> {
    let step = source as f64 / cells as f64;
    (0..cells)
        .map(|cell| {
            let start = cell as f64 * step;
            let end = if cell + 1 == cells {
                source as f64
            } else {
                (cell + 1) as f64 * step
            };
            let first = start.floor() as usize;
            let last = (end.ceil() as usize).min(source);
            let weights = (first..last)
                .filter_map(|p| {
                    let overlap = end.min(p as f64 + 1.0) - start.max(p as f64);
                    (overlap > 0.0).then_some((p, overlap))
                })
                .collect();
            Span {
                weights,
                length: end - start,
            }
        })
        .collect()
}

/// Row access to luma values without copying 8-bit gray or RGB images.
enum LumaRows<'a> {
    Gray(&'a image::GrayImage),
    Rgb(std::borrow::Cow<'a, image::RgbImage>),
}

impl<'a> LumaRows<'a> {
    fn new(image: &'a DynamicImage) -> Self {
        match image {
            DynamicImage::ImageLuma8(gray) => LumaRows::Gray(gray),
            DynamicImage::ImageRgb8(rgb) => LumaRows::Rgb(std::borrow::Cow::Borrowed(rgb)),
            other => LumaRows::Rgb(std::borrow::Cow::Owned(other.to_rgb8())),
        }
    }

    fn row(&self, y: usize, out: &mut [f32]) {
        match self {
            LumaRows::Gray(gray) => {
                let w = out.len();
                let raw = &gray.as_raw()[y * w..(y + 1) * w];
                for (o, &p) in out.iter_mut().zip(raw) {
                    *o = f32::from(p);
                }
            }
            LumaRows::Rgb(rgb) => {
                let w = out.len();
                let raw = &rgb.as_raw()[y * w * 3..(y + 1) * w * 3];
                for (o, p) in out.iter_mut().zip(raw.chunks_exact(3)) {
                    *o =
                        0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, Luma, RgbImage};

    #[test]
    fn empty_images_are_an_error_not_a_panic() {
        let empty = DynamicImage::ImageRgb8(RgbImage::new(0, 10));
        let err = dhash(&empty).unwrap_err();
        assert_eq!(err.code(), "image-empty");
        assert!(phash(&empty).is_err());
    }

    #[test]
    fn tiny_and_flat_images_hash_without_trouble() {
        let one = DynamicImage::ImageRgb8(RgbImage::from_pixel(1, 1, image::Rgb([9, 9, 9])));
        assert_eq!(dhash(&one).unwrap(), 0);
        assert!(phash(&one).is_ok());
        let flat = DynamicImage::ImageLuma8(GrayImage::from_pixel(640, 480, Luma([128])));
        assert_eq!(dhash(&flat).unwrap(), 0);
    }

    #[test]
    fn dhash_bit_layout_is_row_major_from_the_most_significant_bit() {
        // A horizontal ramp that gets darker to the right: every left cell is brighter.
        let darker_right = GrayImage::from_fn(90, 80, |x, _| Luma([255 - (x * 255 / 89) as u8]));
        assert_eq!(
            dhash(&DynamicImage::ImageLuma8(darker_right)).unwrap(),
            u64::MAX
        );
        // Only the top row darker to the right: only the top 8 bits.
        let top_row = GrayImage::from_fn(90, 80, |x, y| {
            Luma([if y < 10 {
                255 - (x * 255 / 89) as u8
            } else {
                0
            }])
        });
        assert_eq!(
            dhash(&DynamicImage::ImageLuma8(top_row)).unwrap(),
            0xFF00_0000_0000_0000
        );
    }

    #[test]
    fn area_spans_cover_every_source_pixel_once() {
        for (source, cells) in [(1, 9), (9, 9), (10, 9), (451, 9), (1000, 32), (7, 32)] {
            let total: f64 = spans(source, cells)
                .iter()
                .flat_map(|s| s.weights.iter().map(|&(_, w)| w))
                .sum();
            assert!(
                (total - source as f64).abs() < 1e-9,
                "{source} into {cells}"
            );
        }
    }
}
