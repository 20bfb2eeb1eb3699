//! The carousel renderer: declarative slides → exact-size baseline JPEGs, deterministically.
//!
//! A slide is painted in layers: background (cover-cropped photo, solid colour or linear gradient), an
//! optional scrim that darkens the photo where text sits, then text blocks stacked at the top, centre and
//! bottom of the padded safe area. Text shrinks to fit (down to each role's minimum size), then long words
//! are broken and extra lines cut with an ellipsis, so no text ever leaves the safe area.

pub mod spec;
pub(crate) mod text;

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use image::RgbImage;

pub use spec::*;
use text::{Face, fonts};

use crate::ingest::{IngestLimits, encode_jpeg};
use crate::key::{EncodedImage, MediaKey};
use crate::store::MediaStore;
use crate::{Error, Result, raster};

/// Instagram refuses images of 8 MiB or more; rendered slides stay below this.
pub const MAX_OUTPUT_BYTES: usize = 8 * 1024 * 1024 - 1;

/// Supplies the encoded bytes of an image background given by media id.
///
/// Rendering is synchronous CPU work, so this is a plain function: fetch the bytes beforehand (see
/// [`fetch_media`]) and hand over a map, or pass a closure.
pub trait MediaResolver: Send + Sync {
    /// The encoded bytes (JPEG, PNG or WebP) of the media with this id.
    ///
    /// # Errors
    /// Any error; it is reported as `background-unavailable` for that id.
    fn fetch(&self, media_id: &str) -> Result<Vec<u8>>;
}

impl<F> MediaResolver for F
where
    F: Fn(&str) -> Result<Vec<u8>> + Send + Sync,
{
    fn fetch(&self, media_id: &str) -> Result<Vec<u8>> {
        self(media_id)
    }
}

impl MediaResolver for HashMap<String, Vec<u8>> {
    fn fetch(&self, media_id: &str) -> Result<Vec<u8>> {
        self.get(media_id).cloned().ok_or_else(|| Error::NotFound {
            key: media_id.to_owned(),
        })
    }
}

/// A resolver that knows no media, for specs that only use files, colours and gradients.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMedia;

impl MediaResolver for NoMedia {
    fn fetch(&self, media_id: &str) -> Result<Vec<u8>> {
        Err(Error::NotFound {
            key: media_id.to_owned(),
        })
    }
}

/// Every media id a carousel refers to, fetched from a store into a map usable as a [`MediaResolver`].
/// Media ids must be [`MediaKey`]s.
///
/// # Errors
/// `invalid-media-key` or the store's error for the first id that cannot be fetched.
pub async fn fetch_media(
    spec: &CarouselSpec,
    store: &dyn MediaStore,
) -> Result<HashMap<String, Vec<u8>>> {
    let mut out = HashMap::new();
    let backgrounds = spec
        .slides
        .iter()
        .filter_map(|s| s.background.as_ref())
        .chain(spec.defaults.background.as_ref());
    for bg in backgrounds {
        if let Background::Image {
            media: Some(id), ..
        } = bg
            && !out.contains_key(id)
        {
            let bytes = store.get(&MediaKey::parse(id)?).await?;
            out.insert(id.clone(), bytes);
        }
    }
    Ok(out)
}

/// Settings for a render that are not part of the spec.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Folder that relative background paths are resolved against (usually the spec file's folder).
    pub base_dir: Option<PathBuf>,
    /// Limits applied when decoding background images.
    pub limits: IngestLimits,
    /// Overrides the spec's JPEG quality.
    pub quality: Option<u8>,
}

impl RenderOptions {
    /// Options that resolve relative paths against the folder of `spec_path`.
    #[must_use]
    pub fn for_spec_file(spec_path: &Path) -> Self {
        RenderOptions {
            base_dir: spec_path.parent().map(Path::to_path_buf),
            ..RenderOptions::default()
        }
    }
}

/// Renders the slides of carousels, keeping decoded backgrounds so a photo used on several slides is
/// decoded once.
pub struct Renderer<'a> {
    resolver: &'a dyn MediaResolver,
    options: RenderOptions,
    cache: HashMap<String, Arc<RgbImage>>,
}

impl std::fmt::Debug for Renderer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("options", &self.options)
            .field("cached_backgrounds", &self.cache.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Renderer<'a> {
    /// A renderer resolving media ids through `resolver`.
    #[must_use]
    pub fn new(resolver: &'a dyn MediaResolver, options: RenderOptions) -> Self {
        Renderer {
            resolver,
            options,
            cache: HashMap::new(),
        }
    }

    /// Renders every slide to a JPEG.
    ///
    /// # Errors
    /// `invalid-carousel-spec`, `background-unavailable`, `image-encode-failed`.
    pub fn render_all(&mut self, spec: &CarouselSpec) -> Result<Vec<EncodedImage>> {
        spec.validate()?;
        (0..spec.slides.len())
            .map(|i| self.render_slide(spec, i))
            .collect()
    }

    /// Renders slide `index` (0-based) to a baseline JPEG of exactly the canvas size.
    ///
    /// # Errors
    /// As [`Renderer::render_all`].
    pub fn render_slide(&mut self, spec: &CarouselSpec, index: usize) -> Result<EncodedImage> {
        let pixels = self.render_pixels(spec, index)?;
        let mut quality = self
            .options
            .quality
            .unwrap_or(spec.defaults.quality)
            .clamp(1, 100);
        loop {
            let encoded = encode_jpeg(&pixels, quality)?;
            if encoded.bytes.len() <= MAX_OUTPUT_BYTES || quality <= 50 {
                return Ok(encoded);
            }
            quality -= 10;
        }
    }

    /// Renders slide `index` (0-based) to pixels, before encoding.
    ///
    /// # Errors
    /// As [`Renderer::render_all`].
    pub fn render_pixels(&mut self, spec: &CarouselSpec, index: usize) -> Result<RgbImage> {
        spec.validate()?;
        let slide = spec
            .slides
            .get(index)
            .ok_or_else(|| Error::InvalidSpec(format!("there is no slide {}", index + 1)))?;
        let (width, height) = spec.canvas.size();
        let defaults = &spec.defaults;
        let background = slide
            .background
            .clone()
            .or_else(|| defaults.background.clone())
            .unwrap_or(Background::Solid { color: None });
        let mut canvas = self.paint_background(&background, &defaults.brand, width, height)?;
        let blocks = resolve_blocks(spec, index);
        let is_photo = matches!(background, Background::Image { .. });
        let scrim = slide
            .scrim
            .or(defaults.scrim)
            .or_else(|| is_photo.then(|| automatic_scrim(&blocks)).flatten());
        if let Some(scrim) = scrim {
            paint_scrim(&mut canvas, &scrim);
        }
        let padding = slide.padding.unwrap_or(defaults.padding);
        let placed = layout(&blocks, padding, defaults.gap, width, height);
        for item in &placed {
            draw_block(&mut canvas, item, &defaults.brand);
        }
        Ok(canvas)
    }

    fn paint_background(
        &mut self,
        bg: &Background,
        brand: &Brand,
        width: u32,
        height: u32,
    ) -> Result<RgbImage> {
        match bg {
            Background::Solid { color } => {
                let c = color.unwrap_or(brand.primary);
                Ok(RgbImage::from_pixel(
                    width,
                    height,
                    image::Rgb([c.r, c.g, c.b]),
                ))
            }
            Background::LinearGradient { angle, stops } => {
                Ok(paint_gradient(width, height, *angle, stops))
            }
            Background::Image { media, path, focus } => {
                let source = self.load(media.as_deref(), path.as_deref())?;
                let f = focus.unwrap_or_default();
                raster::cover(&source, width, height, (f.x, f.y))
            }
        }
    }

    fn load(&mut self, media: Option<&str>, path: Option<&Path>) -> Result<Arc<RgbImage>> {
        let (cache_key, reference) = match (media, path) {
            (Some(id), None) => (format!("media:{id}"), id.to_owned()),
            (None, Some(p)) => {
                let full = match &self.options.base_dir {
                    Some(base) if p.is_relative() => base.join(p),
                    _ => p.to_path_buf(),
                };
                (
                    format!("path:{}", full.display()),
                    full.display().to_string(),
                )
            }
            _ => {
                return Err(Error::InvalidSpec(
                    "an image background needs exactly one of `media` or `path`".into(),
                ));
            }
        };
        if let Some(hit) = self.cache.get(&cache_key) {
            return Ok(Arc::clone(hit));
        }
        let unavailable = |detail: String| Error::BackgroundUnavailable {
            reference: reference.clone(),
            detail,
        };
        let bytes = match media {
            Some(id) => self
                .resolver
                .fetch(id)
                .map_err(|e| unavailable(e.to_string()))?,
            None => std::fs::read(&reference).map_err(|e| unavailable(e.to_string()))?,
        };
        let (_, pixels) = crate::ingest::decode(&bytes, &self.options.limits)
            .map_err(|e| unavailable(e.to_string()))?;
        let pixels = Arc::new(pixels);
        self.cache.insert(cache_key, Arc::clone(&pixels));
        Ok(pixels)
    }
}

/// Renders every slide of a carousel (synchronously; a decoder or rasterizer panic becomes an error).
///
/// # Errors
/// As [`Renderer::render_all`].
pub fn render_carousel(
    spec: &CarouselSpec,
    resolver: &dyn MediaResolver,
    options: &RenderOptions,
) -> Result<Vec<EncodedImage>> {
    catch_unwind(AssertUnwindSafe(|| {
        Renderer::new(resolver, options.clone()).render_all(spec)
    }))
    .map_err(|_| Error::Encode("the renderer crashed on this spec".into()))?
}

/// [`render_carousel`] on the blocking thread pool, for async callers.
///
/// # Errors
/// As [`render_carousel`], or `internal-error` if the task is cancelled.
pub async fn render_carousel_async(
    spec: CarouselSpec,
    resolver: Arc<dyn MediaResolver>,
    options: RenderOptions,
) -> Result<Vec<EncodedImage>> {
    tokio::task::spawn_blocking(move || render_carousel(&spec, resolver.as_ref(), &options))
        .await
        .map_err(|e| Error::Task(e.to_string()))?
}

// ---------------------------------------------------------------------------------------------------------
// Painting
// ---------------------------------------------------------------------------------------------------------

const BAYER4: [[f32; 4]; 4] = [
    [0.0, 8.0, 2.0, 10.0],
    [12.0, 4.0, 14.0, 6.0],
    [3.0, 11.0, 1.0, 9.0],
    [15.0, 7.0, 13.0, 5.0],
];

fn paint_gradient(width: u32, height: u32, angle: f32, stops: &[GradientStop]) -> RgbImage {
    let mut stops = stops.to_vec();
    stops.sort_by(|a, b| a.at.total_cmp(&b.at));
    let rad = angle.to_radians();
    let (dx, dy) = (rad.sin(), -rad.cos());
    let (w, h) = (width as f32, height as f32);
    let len = (w * dx).abs() + (h * dy).abs();
    let color_at = |t: f32| -> [f32; 3] {
        let first = stops.first().map(|s| s.color).unwrap_or(Color::BLACK);
        let mut out = [f32::from(first.r), f32::from(first.g), f32::from(first.b)];
        for pair in stops.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if t >= a.at {
                let span = (b.at - a.at).max(f32::EPSILON);
                let k = ((t - a.at) / span).clamp(0.0, 1.0);
                out = [
                    f32::from(a.color.r) + (f32::from(b.color.r) - f32::from(a.color.r)) * k,
                    f32::from(a.color.g) + (f32::from(b.color.g) - f32::from(a.color.g)) * k,
                    f32::from(a.color.b) + (f32::from(b.color.b) - f32::from(a.color.b)) * k,
                ];
            }
        }
        out
    };
    RgbImage::from_fn(width, height, |x, y| {
        let t = ((x as f32 + 0.5 - w / 2.0) * dx + (y as f32 + 0.5 - h / 2.0) * dy) / len + 0.5;
        let c = color_at(t.clamp(0.0, 1.0));
        // Ordered dithering keeps wide, subtle gradients free of visible bands.
        let d = BAYER4[(y % 4) as usize][(x % 4) as usize] / 16.0 - 0.47;
        image::Rgb(c.map(|v| (v + d).round().clamp(0.0, 255.0) as u8))
    })
}

/// The scrim a photo slide gets when the spec names none, so text is legible on any photo: a fade behind
/// bottom or top text, a light uniform layer for centred text, nothing when there is no text.
fn automatic_scrim(blocks: &[Block]) -> Option<Scrim> {
    let has = |anchor: Anchor| {
        blocks
            .iter()
            .any(|b| b.anchor == anchor && b.role != TextRole::Counter)
    };
    let (fade, opacity) = if has(Anchor::Center) {
        (ScrimFade::Uniform, 0.45)
    } else if has(Anchor::Bottom) {
        (ScrimFade::Bottom, 0.8)
    } else if has(Anchor::Top) {
        (ScrimFade::Top, 0.8)
    } else {
        return None;
    };
    Some(Scrim {
        opacity,
        fade,
        ..Scrim::default()
    })
}

fn scrim_alpha(scrim: &Scrim, y: u32, height: u32) -> f32 {
    let opacity = scrim.opacity.clamp(0.0, 1.0);
    let yf = (y as f32 + 0.5) / height as f32;
    let from_edge = match scrim.fade {
        ScrimFade::Uniform => return opacity,
        ScrimFade::Bottom => yf,
        ScrimFade::Top => 1.0 - yf,
    };
    let start = scrim.start.clamp(0.0, 0.99);
    let t = ((from_edge - start) / (1.0 - start)).clamp(0.0, 1.0);
    // Ease-out: reaches useful darkness quickly, so the first lines of a bottom text block are covered.
    opacity * (1.0 - (1.0 - t) * (1.0 - t))
}

fn paint_scrim(canvas: &mut RgbImage, scrim: &Scrim) {
    let (width, height) = canvas.dimensions();
    let color = [scrim.color.r, scrim.color.g, scrim.color.b];
    let row_len = width as usize * 3;
    // Opacity is quantised to 1/255 so that rows sharing a level share one lookup table.
    let mut level_tables: Option<(u32, [[u8; 256]; 3])> = None;
    for (y, row) in canvas.chunks_exact_mut(row_len).enumerate() {
        let level = (scrim_alpha(scrim, y as u32, height) * 255.0).round() as u32;
        if level == 0 {
            continue;
        }
        let luts = match &level_tables {
            Some((l, luts)) if *l == level => luts,
            _ => {
                let alpha = level as f32 / 255.0;
                let luts = color.map(|c| {
                    std::array::from_fn(|v| {
                        let v = v as f32;
                        (v + (f32::from(c) - v) * alpha).round().clamp(0.0, 255.0) as u8
                    })
                });
                &level_tables.insert((level, luts)).1
            }
        };
        for px in row.chunks_exact_mut(3) {
            for (ch, lut) in px.iter_mut().zip(luts) {
                *ch = lut[usize::from(*ch)];
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Text layout
// ---------------------------------------------------------------------------------------------------------

/// A text block with every style field decided.
#[derive(Debug, Clone)]
struct Block {
    role: TextRole,
    text: String,
    size: f32,
    min_size: f32,
    weight: Weight,
    color: Color,
    align: Align,
    anchor: Anchor,
    max_lines: u32,
    line_height: f32,
    wrap: bool,
    tracking: f32,
    accent_bar: bool,
    balance: bool,
    backdrop: Option<Color>,
}

fn builtin_style(role: TextRole) -> TextStyle {
    let base = TextStyle {
        size: Some(40.0),
        min_size: Some(24.0),
        weight: Some(Weight::Regular),
        color: None,
        align: Some(Align::Left),
        anchor: Some(Anchor::Bottom),
        max_lines: Some(8),
        line_height: Some(1.35),
        wrap: Some(true),
        uppercase: Some(false),
        tracking: Some(0.0),
        accent_bar: Some(false),
        balance: Some(false),
        backdrop: None,
    };
    match role {
        TextRole::Title => TextStyle {
            size: Some(76.0),
            min_size: Some(36.0),
            weight: Some(Weight::Bold),
            max_lines: Some(5),
            line_height: Some(1.12),
            tracking: Some(-0.01),
            balance: Some(true),
            ..base
        },
        TextRole::Body => base,
        TextRole::Footer => TextStyle {
            size: Some(28.0),
            min_size: Some(18.0),
            max_lines: Some(1),
            line_height: Some(1.3),
            tracking: Some(0.02),
            ..base
        },
        TextRole::Counter => TextStyle {
            size: Some(30.0),
            min_size: Some(18.0),
            weight: Some(Weight::Bold),
            align: Some(Align::Right),
            anchor: Some(Anchor::Top),
            max_lines: Some(1),
            line_height: Some(1.2),
            tracking: Some(0.06),
            ..base
        },
    }
}

fn resolve_blocks(spec: &CarouselSpec, index: usize) -> Vec<Block> {
    let defaults = &spec.defaults;
    let slide = &spec.slides[index];
    let mut blocks = slide.text.clone();
    if defaults.show_counter && !blocks.iter().any(|b| b.role == TextRole::Counter) {
        blocks.insert(0, TextBlock::new(TextRole::Counter, "{n}/{total}"));
    }
    if defaults.show_handle
        && defaults.handle.is_some()
        && !blocks.iter().any(|b| b.role == TextRole::Footer)
    {
        blocks.push(TextBlock::new(TextRole::Footer, "{handle}"));
    }
    let handle = defaults.handle.clone().unwrap_or_default();
    blocks
        .into_iter()
        .filter_map(|b| {
            let style = b
                .style
                .or(defaults.styles.get(b.role))
                .or(builtin_style(b.role));
            let raw = match (&b.text, b.role) {
                (Some(t), _) => t.clone(),
                (None, TextRole::Counter) => "{n}/{total}".into(),
                (None, TextRole::Footer) => "{handle}".into(),
                (None, _) => String::new(),
            };
            let mut text = raw
                .replace("{n}", &(index + 1).to_string())
                .replace("{total}", &spec.slides.len().to_string())
                .replace("{handle}", &handle);
            if style.uppercase == Some(true) {
                text = text.to_uppercase();
            }
            if text.trim().is_empty() {
                return None;
            }
            let default_color = if b.role == TextRole::Counter {
                defaults.brand.accent
            } else {
                defaults.brand.text
            };
            let size = style.size.unwrap_or(40.0);
            Some(Block {
                role: b.role,
                text,
                size,
                min_size: style.min_size.unwrap_or(size).min(size),
                weight: style.weight.unwrap_or(Weight::Regular),
                color: style.color.unwrap_or(default_color),
                align: style.align.unwrap_or(Align::Left),
                anchor: style.anchor.unwrap_or(Anchor::Bottom),
                max_lines: style.max_lines.unwrap_or(8).max(1),
                line_height: style.line_height.unwrap_or(1.3),
                wrap: style.wrap.unwrap_or(true),
                tracking: style.tracking.unwrap_or(0.0),
                accent_bar: style.accent_bar.unwrap_or(false),
                balance: style.balance.unwrap_or(false),
                backdrop: style.backdrop,
            })
        })
        .collect()
}

/// A block fitted at a size, positioned later.
#[derive(Debug, Clone)]
struct Fitted {
    size: f32,
    lines: Vec<String>,
    height: f32,
}

struct Placed {
    block: Block,
    fitted: Fitted,
    top: f32,
    left: f32,
    right: f32,
}

fn accent_bar_metrics(size: f32) -> (f32, f32, f32) {
    let bar_h = (size * 0.09).max(6.0).round();
    let bar_w = (size * 1.3).max(64.0).round();
    let space = (size * 0.4).round();
    (bar_w, bar_h, space)
}

fn block_height(block: &Block, face: &Face<'_>, lines: usize) -> f32 {
    if lines == 0 {
        return 0.0;
    }
    let text_h = (lines as f32 - 1.0) * face.size * block.line_height + face.content_height();
    let bar = if block.accent_bar {
        let (_, h, space) = accent_bar_metrics(face.size);
        h + space
    } else {
        0.0
    };
    text_h + bar
}

/// Fits a block into `max_width` × `max_height` with at most `max_lines` lines and at most `size_cap`.
fn fit(block: &Block, size_cap: f32, max_lines: u32, max_width: f32, max_height: f32) -> Fitted {
    let font = fonts().get(block.weight);
    let mut size = size_cap.max(block.min_size.min(size_cap));
    loop {
        let face = Face::new(font, size, block.tracking);
        let wrapped = text::wrap(&face, &block.text, max_width, block.wrap, false);
        let height = block_height(block, &face, wrapped.lines.len());
        let fits = !wrapped.had_overwide_word
            && wrapped.lines.len() <= max_lines as usize
            && height <= max_height;
        if fits {
            let lines = if block.balance && wrapped.lines.len() > 1 {
                balance(&face, block, wrapped.lines, max_width)
            } else {
                wrapped.lines
            };
            return Fitted {
                size,
                lines,
                height,
            };
        }
        if size <= block.min_size {
            break;
        }
        size = (size * 0.94).max(block.min_size);
    }
    // At the minimum size: break long words, then cut to the lines that fit, ending with an ellipsis.
    let face = Face::new(font, size, block.tracking);
    let mut lines = text::wrap(&face, &block.text, max_width, true, true).lines;
    let mut allowed = (max_lines as usize).min(lines.len());
    while allowed > 0 && block_height(block, &face, allowed) > max_height {
        allowed -= 1;
    }
    if lines.len() > allowed {
        lines.truncate(allowed);
        if let Some(last) = lines.last_mut() {
            *last = text::ellipsize(&face, last, max_width);
        }
    }
    let height = block_height(block, &face, lines.len());
    Fitted {
        size,
        lines,
        height,
    }
}

/// The narrowest wrap width that keeps the same number of lines, found by bisection, so that lines come
/// out of similar length (like CSS `text-wrap: balance`). Every line still fits `max_width`.
fn balance(face: &Face<'_>, block: &Block, greedy: Vec<String>, max_width: f32) -> Vec<String> {
    let count = greedy.len();
    let (mut lo, mut hi) = (max_width * 0.4, max_width);
    let mut best = greedy;
    for _ in 0..12 {
        let mid = (lo + hi) / 2.0;
        let attempt = text::wrap(face, &block.text, mid, block.wrap, false);
        if attempt.lines.len() == count && !attempt.had_overwide_word {
            best = attempt.lines;
            hi = mid;
        } else {
            lo = mid;
        }
    }
    best
}

fn layout(blocks: &[Block], pad: Insets, gap: f32, width: u32, height: u32) -> Vec<Placed> {
    let (w, h) = (width as f32, height as f32);
    let left = pad.left.clamp(0.0, w / 2.0 - 8.0);
    let right = (w - pad.right.clamp(0.0, w / 2.0 - 8.0)).max(left + 16.0);
    let top = pad.top.clamp(0.0, h / 2.0 - 8.0);
    let bottom = (h - pad.bottom.clamp(0.0, h / 2.0 - 8.0)).max(top + 16.0);
    let (safe_w, safe_h) = (right - left, bottom - top);
    let gap = gap.max(0.0);

    let mut blocks: Vec<Block> = blocks.to_vec();
    let mut caps: Vec<(f32, u32)> = blocks.iter().map(|b| (b.size, b.max_lines)).collect();
    let mut fitted: Vec<Fitted>;
    // Shrink the largest text first, then cut lines, then (absurd paddings only) drop the least important
    // block, until the stacks fit the safe area. Bounded: every round makes a cap strictly smaller.
    loop {
        fitted = blocks
            .iter()
            .zip(&caps)
            .map(|(b, &(size, lines))| fit(b, size, lines, safe_w, safe_h))
            .collect();
        let shown: Vec<&Fitted> = fitted.iter().filter(|f| !f.lines.is_empty()).collect();
        let total: f32 = shown.iter().map(|f| f.height).sum::<f32>()
            + gap * shown.len().saturating_sub(1) as f32;
        if total <= safe_h || blocks.is_empty() {
            break;
        }
        let shrinkable = fitted
            .iter()
            .enumerate()
            .filter(|(i, f)| f.size > blocks[*i].min_size + 0.01)
            .max_by(|a, b| a.1.size.total_cmp(&b.1.size))
            .map(|(i, _)| i);
        if let Some(i) = shrinkable {
            caps[i].0 = (fitted[i].size * 0.92).max(blocks[i].min_size);
            continue;
        }
        let longest = fitted
            .iter()
            .enumerate()
            .filter(|(_, f)| f.lines.len() > 1)
            .max_by_key(|(_, f)| f.lines.len())
            .map(|(i, _)| i);
        if let Some(i) = longest {
            caps[i].1 = (fitted[i].lines.len() as u32).saturating_sub(1).max(1);
            continue;
        }
        let priority = |r: TextRole| match r {
            TextRole::Title => 3,
            TextRole::Counter => 2,
            TextRole::Footer => 1,
            TextRole::Body => 0,
        };
        let drop = (0..blocks.len())
            .min_by_key(|&i| priority(blocks[i].role))
            .unwrap_or(0);
        blocks.remove(drop);
        caps.remove(drop);
    }

    let mut placed = Vec::new();
    let mut place = |block: &Block, fitted: &Fitted, y: f32| {
        placed.push(Placed {
            block: block.clone(),
            fitted: fitted.clone(),
            top: y,
            left,
            right,
        });
    };
    let items: Vec<(&Block, &Fitted)> = blocks
        .iter()
        .zip(&fitted)
        .filter(|(_, f)| !f.lines.is_empty())
        .collect();
    let stack_height = |anchor: Anchor| {
        let hs: Vec<f32> = items
            .iter()
            .filter(|(b, _)| b.anchor == anchor)
            .map(|(_, f)| f.height)
            .collect();
        hs.iter().sum::<f32>() + gap * hs.len().saturating_sub(1) as f32
    };
    let (top_h, center_h, bottom_h) = (
        stack_height(Anchor::Top),
        stack_height(Anchor::Center),
        stack_height(Anchor::Bottom),
    );

    let mut y = top;
    for (b, f) in items.iter().filter(|(b, _)| b.anchor == Anchor::Top) {
        place(b, f, y);
        y += f.height + gap;
    }
    let top_end = if top_h > 0.0 { top + top_h + gap } else { top };
    let bottom_start = if bottom_h > 0.0 {
        bottom - bottom_h - gap
    } else {
        bottom
    };
    let mut y =
        (top + (safe_h - center_h) / 2.0).clamp(top_end, (bottom_start - center_h).max(top_end));
    for (b, f) in items.iter().filter(|(b, _)| b.anchor == Anchor::Center) {
        place(b, f, y);
        y += f.height + gap;
    }
    let mut y = bottom;
    for (b, f) in items
        .iter()
        .rev()
        .filter(|(b, _)| b.anchor == Anchor::Bottom)
    {
        y -= f.height;
        place(b, f, y);
        y -= gap;
    }
    placed
}

fn draw_block(canvas: &mut RgbImage, item: &Placed, brand: &Brand) {
    let block = &item.block;
    let face = Face::new(fonts().get(block.weight), item.fitted.size, block.tracking);
    let x_for = |width: f32| match block.align {
        Align::Left => item.left,
        Align::Center => item.left + (item.right - item.left - width) / 2.0,
        Align::Right => item.right - width,
    };
    let mut y = item.top;
    if block.accent_bar {
        let (bar_w, bar_h, space) = accent_bar_metrics(face.size);
        let x0 = x_for(bar_w).round() as i64;
        let y0 = y.round() as i64;
        for py in y0..y0 + bar_h as i64 {
            for px in x0..x0 + bar_w as i64 {
                text::blend(
                    canvas,
                    px,
                    py,
                    brand.accent,
                    f32::from(brand.accent.a) / 255.0,
                );
            }
        }
        y += bar_h + space;
    }
    let advance = face.size * block.line_height;
    if let Some(color) = block.backdrop {
        let widths: Vec<f32> = item.fitted.lines.iter().map(|l| face.measure(l)).collect();
        let x0 = widths
            .iter()
            .map(|&w| x_for(w))
            .fold(f32::INFINITY, f32::min);
        let x1 = widths
            .iter()
            .map(|&w| x_for(w) + w)
            .fold(f32::NEG_INFINITY, f32::max);
        let text_h = (item.fitted.lines.len() as f32 - 1.0) * advance + face.content_height();
        let (pad_x, pad_y) = (0.45 * face.size, 0.05 * face.size);
        paint_rounded_rect(
            canvas,
            (x0 - pad_x, y - pad_y, x1 + pad_x, y + text_h + pad_y),
            0.35 * face.size,
            color,
        );
    }
    for (i, line) in item.fitted.lines.iter().enumerate() {
        let baseline = y + face.ascent() + i as f32 * advance;
        let x = x_for(face.measure(line));
        face.draw(canvas, x, baseline, line, block.color);
    }
}

/// Fills an anti-aliased rounded rectangle `(left, top, right, bottom)` with `color` (alpha respected).
fn paint_rounded_rect(
    canvas: &mut RgbImage,
    rect: (f32, f32, f32, f32),
    radius: f32,
    color: Color,
) {
    let (l, t, r, b) = rect;
    let radius = radius.min((r - l) / 2.0).min((b - t) / 2.0).max(0.0);
    let alpha = f32::from(color.a) / 255.0;
    for py in t.floor() as i64..b.ceil() as i64 {
        for px in l.floor() as i64..r.ceil() as i64 {
            let (cx, cy) = (px as f32 + 0.5, py as f32 + 0.5);
            // Distance outside the rectangle shrunk by the radius gives the rounded corners.
            let dx = (l + radius - cx).max(cx - (r - radius)).max(0.0);
            let dy = (t + radius - cy).max(cy - (b - radius)).max(0.0);
            let outside = (dx * dx + dy * dy).sqrt() - radius;
            let edge_x = (cx - l).min(r - cx) + 0.5;
            let edge_y = (cy - t).min(b - cy) + 0.5;
            let coverage =
                (0.5 - outside).clamp(0.0, 1.0) * edge_x.clamp(0.0, 1.0) * edge_y.clamp(0.0, 1.0);
            text::blend(canvas, px, py, color, coverage * alpha);
        }
    }
}
