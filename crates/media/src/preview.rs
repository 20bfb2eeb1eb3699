//! A preview sheet: what a platform will show of a post, drawn as one PNG (account, slides in the app's
//! frame, the caption as the app cuts it with hashtags and mentions highlighted).

use image::{ImageEncoder, RgbImage};
use natronfx_workflow::preview::{Frame, Preview, SpanKind};

use crate::ingest::{IngestLimits, decode};
use crate::key::{EncodedImage, ImageFormat};
use crate::render::text::{Face, blend, fonts, wrap};
use crate::render::{Color, Weight};
use crate::{Error, Result, raster};

/// Width of every preview sheet, in pixels.
pub const SHEET_WIDTH: u32 = 1200;
/// Height of the slide thumbnails on the sheet.
pub const THUMB_HEIGHT: u32 = 320;
const MARGIN: u32 = 48;
const GAP: u32 = 16;

const BACKGROUND: Color = Color::rgb(250, 250, 250);
const INK: Color = Color::rgb(17, 24, 39);
const MUTED: Color = Color::rgb(107, 114, 128);
const LINK: Color = Color::rgb(0, 84, 166);

fn fill(canvas: &mut RgbImage, x: u32, y: u32, w: u32, h: u32, color: Color) {
    for py in y..(y + h).min(canvas.height()) {
        for px in x..(x + w).min(canvas.width()) {
            canvas.put_pixel(px, py, image::Rgb([color.r, color.g, color.b]));
        }
    }
}

fn paste(canvas: &mut RgbImage, img: &RgbImage, x: u32, y: u32) {
    for (px, py, p) in img.enumerate_pixels() {
        if x + px < canvas.width() && y + py < canvas.height() {
            canvas.put_pixel(x + px, y + py, *p);
        }
    }
}

/// One slide drawn in the app's frame, `THUMB_HEIGHT` high.
fn framed(slide: &RgbImage, frame: Frame) -> Result<RgbImage> {
    let h = THUMB_HEIGHT;
    let (sw, sh) = slide.dimensions();
    match frame {
        Frame::Crop { ratio } => raster::cover(
            slide,
            ((f64::from(h) * ratio).round() as u32).max(1),
            h,
            (0.5, 0.5),
        ),
        Frame::Natural => {
            let w = ((f64::from(h) * f64::from(sw) / f64::from(sh.max(1))).round() as u32)
                .clamp(1, SHEET_WIDTH - 2 * MARGIN);
            raster::cover(slide, w, h, (0.5, 0.5))
        }
        Frame::Fit { ratio } => {
            let w = ((f64::from(h) * ratio).round() as u32).max(1);
            let mut out = RgbImage::from_pixel(w, h, image::Rgb([0, 0, 0]));
            let scale =
                (f64::from(w) / f64::from(sw.max(1))).min(f64::from(h) / f64::from(sh.max(1)));
            let (fw, fh) = (
                ((f64::from(sw) * scale).round() as u32).clamp(1, w),
                ((f64::from(sh) * scale).round() as u32).clamp(1, h),
            );
            let fitted = raster::cover(slide, fw, fh, (0.5, 0.5))?;
            paste(&mut out, &fitted, (w - fw) / 2, (h - fh) / 2);
            Ok(out)
        }
    }
}

/// Lines of the caption as drawable runs: each line a list of (text, colour).
fn caption_lines(preview: &Preview, face: &Face<'_>, max_width: f32) -> Vec<Vec<(String, Color)>> {
    let mut text = preview.caption.clone();
    if preview.truncated {
        text.push_str("\u{2026} more");
    }
    let color_at = |i: usize| {
        preview
            .spans
            .iter()
            .find(|s| s.start <= i && i < s.end)
            .map_or(INK, |s| match s.kind {
                SpanKind::Text => INK,
                SpanKind::Hashtag | SpanKind::Mention => LINK,
            })
    };
    let caption_chars = preview.caption.chars().count();
    let wrapped = wrap(face, &text, max_width, true, true);
    // Walk the original text alongside the wrapped lines to colour each character by its span.
    let all: Vec<char> = text.chars().collect();
    let mut cursor = 0usize;
    let mut lines = Vec::new();
    for line in wrapped.lines {
        let mut runs: Vec<(String, Color)> = Vec::new();
        for c in line.chars() {
            while cursor < all.len() && all[cursor] != c {
                cursor += 1;
            }
            let color = if cursor >= caption_chars {
                MUTED
            } else {
                color_at(cursor)
            };
            cursor += 1;
            match runs.last_mut() {
                Some((s, col)) if *col == color => s.push(c),
                _ => runs.push((c.to_string(), color)),
            }
        }
        lines.push(runs);
    }
    lines
}

/// Draws the preview of a post whose slides are `slides` (encoded JPEG, PNG or WebP) as a PNG.
///
/// # Errors
/// A slide that does not decode, or encoding the sheet.
pub fn render_preview(preview: &Preview, slides: &[Vec<u8>]) -> Result<EncodedImage> {
    let limits = IngestLimits::default();
    let mut thumbs = Vec::with_capacity(slides.len());
    for bytes in slides {
        let (_, pixels) = decode(bytes, &limits)?;
        thumbs.push(framed(&pixels, preview.frame)?);
    }
    // Lay thumbnails out in rows that fit the sheet.
    let inner = SHEET_WIDTH - 2 * MARGIN;
    let mut rows: Vec<Vec<usize>> = vec![Vec::new()];
    let mut used = 0;
    for (i, t) in thumbs.iter().enumerate() {
        let w = t.width().min(inner);
        if used > 0 && used + GAP + w > inner {
            rows.push(Vec::new());
            used = 0;
        }
        used += if used > 0 { GAP } else { 0 } + w;
        if let Some(row) = rows.last_mut() {
            row.push(i);
        }
    }
    let fonts = fonts();
    let label = Face::new(fonts.get(Weight::Bold), 22.0, 0.08);
    let name = Face::new(fonts.get(Weight::Bold), 34.0, 0.0);
    let body = Face::new(fonts.get(Weight::Regular), 30.0, 0.0);
    let title_face = Face::new(fonts.get(Weight::Bold), 32.0, 0.0);
    let lines = caption_lines(preview, &body, inner as f32);
    let line_h = (body.size * 1.4).ceil() as u32;
    let header_h = 120;
    let rows_h = rows.len() as u32 * (THUMB_HEIGHT + GAP);
    let title_h = if preview.title.is_some() { 52 } else { 0 };
    let height = MARGIN + header_h + rows_h + GAP + title_h + lines.len() as u32 * line_h + MARGIN;
    let mut canvas = RgbImage::from_pixel(
        SHEET_WIDTH,
        height,
        image::Rgb([BACKGROUND.r, BACKGROUND.g, BACKGROUND.b]),
    );

    // Header: the platform, then an avatar dot and the account name.
    let mut y = MARGIN;
    label.draw(
        &mut canvas,
        MARGIN as f32,
        y as f32 + label.ascent(),
        &format!("{} PREVIEW", preview.platform.as_str().to_uppercase()),
        MUTED,
    );
    y += 40;
    let r = 28i64;
    let (cx, cy) = (i64::from(MARGIN) + r, i64::from(y) + r);
    for py in (cy - r)..(cy + r) {
        for px in (cx - r)..(cx + r) {
            if (px - cx).pow(2) + (py - cy).pow(2) <= r * r {
                blend(&mut canvas, px, py, LINK, 1.0);
            }
        }
    }
    name.draw(
        &mut canvas,
        (MARGIN + 2 * r as u32 + 18) as f32,
        y as f32 + 2.0 + name.ascent(),
        &preview.account,
        INK,
    );
    y += header_h - 40;

    for row in &rows {
        let mut x = MARGIN;
        for &i in row {
            let t = &thumbs[i];
            let w = t.width().min(inner);
            paste(&mut canvas, t, x, y);
            x += w + GAP;
        }
        y += THUMB_HEIGHT + GAP;
    }
    y += GAP;
    if let Some(title) = &preview.title {
        title_face.draw(
            &mut canvas,
            MARGIN as f32,
            y as f32 + title_face.ascent(),
            title,
            INK,
        );
        y += title_h;
    }
    for line in lines {
        let mut x = MARGIN as f32;
        for (text, color) in line {
            body.draw(&mut canvas, x, y as f32 + body.ascent(), &text, color);
            x += body.measure(&text);
        }
        y += line_h;
    }
    fill(&mut canvas, 0, height - 4, SHEET_WIDTH, 4, LINK);

    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(
            canvas.as_raw(),
            SHEET_WIDTH,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| Error::Encode(e.to_string()))?;
    Ok(EncodedImage::new(
        png,
        ImageFormat::Png,
        SHEET_WIDTH,
        height,
    ))
}
