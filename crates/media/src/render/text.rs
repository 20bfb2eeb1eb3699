//! Text on slides: embedded Noto Sans, measuring, greedy word wrap, shrink-to-fit and coverage blending.
//!
//! No shaping is done (ab_glyph has none): this is right for Latin, Greek and Cyrillic. A character the
//! font has no glyph for (CJK, emoji) is drawn as a visible outlined box so nothing silently disappears;
//! zero-width joiners, variation selectors and skin-tone modifiers are skipped rather than boxed.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use image::RgbImage;

use super::spec::{Color, Weight};

static REGULAR_TTF: &[u8] = include_bytes!("../../assets/fonts/NotoSans-Regular.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../../assets/fonts/NotoSans-Bold.ttf");

/// The ellipsis appended to text cut at `max_lines`.
const ELLIPSIS: char = '\u{2026}';

pub(crate) struct Fonts {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

pub(crate) fn fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| Fonts {
        // The files are compiled in and a test parses them, so failure here is a build defect, not input.
        regular: FontRef::try_from_slice(REGULAR_TTF)
            .expect("embedded NotoSans-Regular.ttf parses"),
        bold: FontRef::try_from_slice(BOLD_TTF).expect("embedded NotoSans-Bold.ttf parses"),
    })
}

impl Fonts {
    pub(crate) fn get(&self, weight: Weight) -> &FontRef<'static> {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }
}

/// One font at one size, ready to measure and draw.
#[derive(Clone, Copy)]
pub(crate) struct Face<'f> {
    font: &'f FontRef<'static>,
    scale: PxScale,
    /// Font size in px (the em square), as in CSS.
    pub size: f32,
    tracking: f32,
}

enum Slot {
    Glyph(GlyphId),
    Missing,
    Skip,
}

fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FE00}'..='\u{FE0F}'
            | '\u{1F3FB}'..='\u{1F3FF}' | '\u{E0020}'..='\u{E007F}' | '\u{FEFF}' | '\u{00AD}')
}

/// A look-alike the font does have, for common typographic characters it lacks (Noto Sans 2020 has no
/// U+2212 MINUS SIGN, for example). Anything else missing is drawn as a box.
fn substitute(c: char) -> Option<char> {
    match c {
        '\u{2212}' => Some('\u{2013}'),
        '\u{2010}' | '\u{2011}' => Some('-'),
        '\u{2007}' | '\u{202F}' | '\u{2009}' | '\u{200A}' | '\u{A0}' => Some(' '),
        _ => None,
    }
}

impl<'f> Face<'f> {
    pub(crate) fn new(font: &'f FontRef<'static>, size: f32, tracking_em: f32) -> Self {
        let units = font.units_per_em().unwrap_or(1000.0);
        Face {
            font,
            scale: PxScale::from(size * font.height_unscaled() / units),
            size,
            tracking: tracking_em * size,
        }
    }

    fn slot(&self, c: char) -> Slot {
        if is_invisible(c) {
            return Slot::Skip;
        }
        let id = self.font.glyph_id(c);
        if id.0 != 0 {
            return Slot::Glyph(id);
        }
        match substitute(c).map(|s| self.font.glyph_id(s)) {
            Some(id) if id.0 != 0 => Slot::Glyph(id),
            _ => Slot::Missing,
        }
    }

    fn missing_advance(&self) -> f32 {
        0.6 * self.size
    }

    /// Distance from the top of a line box to the baseline.
    pub(crate) fn ascent(&self) -> f32 {
        self.font.as_scaled(self.scale).ascent()
    }

    /// Height of one line's ink box (ascent to descent).
    pub(crate) fn content_height(&self) -> f32 {
        let scaled = self.font.as_scaled(self.scale);
        scaled.ascent() - scaled.descent()
    }

    /// Advance width of a run of text, with kerning and tracking.
    pub(crate) fn measure(&self, text: &str) -> f32 {
        let scaled = self.font.as_scaled(self.scale);
        let mut width = 0.0;
        let mut prev: Option<GlyphId> = None;
        let mut any = false;
        for c in text.chars() {
            match self.slot(c) {
                Slot::Glyph(id) => {
                    if let Some(p) = prev {
                        width += scaled.kern(p, id);
                    }
                    width += scaled.h_advance(id) + self.tracking;
                    prev = Some(id);
                    any = true;
                }
                Slot::Missing => {
                    width += self.missing_advance() + self.tracking;
                    prev = None;
                    any = true;
                }
                Slot::Skip => {}
            }
        }
        if any { width - self.tracking } else { 0.0 }
    }

    /// Draws one line with its baseline at `baseline`, starting at `x`; pixels outside the image are
    /// clipped.
    pub(crate) fn draw(
        &self,
        canvas: &mut RgbImage,
        x: f32,
        baseline: f32,
        text: &str,
        color: Color,
    ) {
        let scaled = self.font.as_scaled(self.scale);
        let alpha = f32::from(color.a) / 255.0;
        let mut caret = x;
        let mut prev: Option<GlyphId> = None;
        for c in text.chars() {
            match self.slot(c) {
                Slot::Glyph(id) => {
                    if let Some(p) = prev {
                        caret += scaled.kern(p, id);
                    }
                    let glyph = id.with_scale_and_position(self.scale, point(caret, baseline));
                    if let Some(outlined) = self.font.outline_glyph(glyph) {
                        let bounds = outlined.px_bounds();
                        let (ox, oy) = (bounds.min.x as i64, bounds.min.y as i64);
                        outlined.draw(|gx, gy, coverage| {
                            blend(
                                canvas,
                                ox + i64::from(gx),
                                oy + i64::from(gy),
                                color,
                                coverage * alpha,
                            );
                        });
                    }
                    caret += scaled.h_advance(id) + self.tracking;
                    prev = Some(id);
                }
                Slot::Missing => {
                    self.draw_missing_box(canvas, caret, baseline, color);
                    caret += self.missing_advance() + self.tracking;
                    prev = None;
                }
                Slot::Skip => {}
            }
        }
    }

    /// The visible stand-in for a character the font cannot draw: an outlined box the height of a capital.
    fn draw_missing_box(&self, canvas: &mut RgbImage, x: f32, baseline: f32, color: Color) {
        let s = self.size;
        let left = (x + 0.08 * s).round() as i64;
        let right = (x + 0.52 * s).round() as i64;
        let top = (baseline - 0.72 * s).round() as i64;
        let bottom = baseline.round() as i64;
        let t = (0.07 * s).round().max(2.0) as i64;
        let alpha = f32::from(color.a) / 255.0;
        for py in top..bottom {
            for px in left..right {
                let edge = py < top + t || py >= bottom - t || px < left + t || px >= right - t;
                if edge {
                    blend(canvas, px, py, color, alpha);
                }
            }
        }
    }
}

/// Blends `color` into one pixel with the given coverage × opacity; off-canvas pixels are ignored.
pub(crate) fn blend(canvas: &mut RgbImage, x: i64, y: i64, color: Color, alpha: f32) {
    let (Ok(x), Ok(y)) = (u32::try_from(x), u32::try_from(y)) else {
        return;
    };
    if x >= canvas.width() || y >= canvas.height() || alpha <= 0.0 {
        return;
    }
    let a = alpha.min(1.0);
    let px = canvas.get_pixel_mut(x, y);
    for (channel, target) in px.0.iter_mut().zip([color.r, color.g, color.b]) {
        let v = f32::from(*channel) + (f32::from(target) - f32::from(*channel)) * a;
        *channel = v.round().clamp(0.0, 255.0) as u8;
    }
}

/// The result of wrapping a text at one size.
pub(crate) struct Wrapped {
    pub lines: Vec<String>,
    /// Some word was wider than the line and had to be broken (or would overflow).
    pub had_overwide_word: bool,
}

/// Greedy word wrap with real advances. Explicit newlines always break. When `wrap` is false only
/// newlines break. A word wider than the line is split between characters when `break_words` is true;
/// otherwise it is left whole and `had_overwide_word` is set so the caller can shrink first.
pub(crate) fn wrap(
    face: &Face<'_>,
    text: &str,
    max_width: f32,
    wrap: bool,
    break_words: bool,
) -> Wrapped {
    let mut lines = Vec::new();
    let mut overwide = false;
    let space = face.measure(" ");
    for paragraph in text.split('\n') {
        let words: Vec<&str> = if wrap {
            paragraph
                .split(is_break_space)
                .filter(|w| !w.is_empty())
                .collect()
        } else {
            let trimmed = paragraph.trim();
            if trimmed.is_empty() {
                Vec::new()
            } else {
                vec![trimmed]
            }
        };
        let mut current = String::new();
        let mut current_width = 0.0_f32;
        for word in words {
            let width = face.measure(word);
            if !current.is_empty() && current_width + space + width <= max_width {
                current.push(' ');
                current.push_str(word);
                current_width += space + width;
                continue;
            }
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            if width <= max_width {
                current.push_str(word);
                current_width = width;
                continue;
            }
            overwide = true;
            if break_words {
                let mut pieces = break_word(face, word, max_width);
                current = pieces.pop().unwrap_or_default();
                current_width = face.measure(&current);
                lines.extend(pieces);
            } else {
                current.push_str(word);
                current_width = width;
            }
        }
        lines.push(current);
    }
    // Leading and trailing blank lines only push real text away from its anchor.
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    while lines.first().is_some_and(String::is_empty) {
        lines.remove(0);
    }
    Wrapped {
        lines,
        had_overwide_word: overwide,
    }
}

/// Whitespace a line may break at: every Unicode space except the no-break ones (U+00A0, U+2007,
/// U+202F), so `60\u{a0}°C` stays together.
fn is_break_space(c: char) -> bool {
    c.is_whitespace() && !matches!(c, '\u{A0}' | '\u{2007}' | '\u{202F}')
}

/// Splits one word into pieces that each fit `max_width` (at least one character per piece).
fn break_word(face: &Face<'_>, word: &str, max_width: f32) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for c in word.chars() {
        current.push(c);
        if face.measure(&current) > max_width && current.chars().count() > 1 {
            current.pop();
            pieces.push(std::mem::take(&mut current));
            current.push(c);
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// Shortens a line until it plus an ellipsis fits.
pub(crate) fn ellipsize(face: &Face<'_>, line: &str, max_width: f32) -> String {
    let mut text: String = line.trim_end().to_owned();
    loop {
        let candidate = format!("{}{ELLIPSIS}", text.trim_end());
        if face.measure(&candidate) <= max_width || text.is_empty() {
            return candidate;
        }
        text.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_fonts_parse_and_have_latin_glyphs() {
        let f = fonts();
        for weight in [Weight::Regular, Weight::Bold] {
            assert_ne!(f.get(weight).glyph_id('é').0, 0);
            assert_ne!(f.get(weight).glyph_id(ELLIPSIS).0, 0);
        }
    }

    #[test]
    fn wrapped_lines_fit_the_width() {
        let face = Face::new(fonts().get(Weight::Regular), 40.0, 0.0);
        let text =
            "The quick brown fox jumps over the lazy dog again and again until the line is full";
        let wrapped = wrap(&face, text, 400.0, true, false);
        assert!(wrapped.lines.len() > 2);
        assert!(wrapped.lines.iter().all(|l| face.measure(l) <= 400.0));
        assert_eq!(wrapped.lines.join(" "), text);
    }

    #[test]
    fn no_break_spaces_keep_their_neighbours_on_one_line() {
        let face = Face::new(fonts().get(Weight::Bold), 80.0, 0.0);
        let width = face.measure("Steam the milk to 60");
        let wrapped = wrap(
            &face,
            "Steam the milk to 60\u{a0}°C",
            width + 1.0,
            true,
            false,
        );
        assert_eq!(
            wrapped.lines,
            vec!["Steam the milk to".to_owned(), "60\u{a0}°C".to_owned()]
        );
    }

    #[test]
    fn an_overwide_word_is_broken_into_fitting_pieces() {
        let face = Face::new(fonts().get(Weight::Bold), 80.0, 0.0);
        let wrapped = wrap(&face, &"W".repeat(60), 500.0, true, true);
        assert!(wrapped.had_overwide_word);
        assert!(wrapped.lines.iter().all(|l| face.measure(l) <= 500.0));
        assert_eq!(wrapped.lines.concat(), "W".repeat(60));
    }
}
