//! The declarative carousel spec: serde types that read the same from TOML and JSON.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Output canvas sizes. Every slide of a carousel has the same size, as Instagram crops all items to the
/// first item's ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CanvasPreset {
    /// 1080×1350 (4:5), the tallest ratio Instagram's feed accepts.
    #[default]
    Portrait,
    /// 1080×1080.
    Square,
    /// 1080×1920 (9:16), for TikTok photo mode and stories; Instagram's feed would refuse it.
    Story,
}

impl CanvasPreset {
    /// Width and height in pixels.
    #[must_use]
    pub fn size(self) -> (u32, u32) {
        match self {
            CanvasPreset::Portrait => (1080, 1350),
            CanvasPreset::Square => (1080, 1080),
            CanvasPreset::Story => (1080, 1920),
        }
    }
}

/// An sRGB colour with alpha, written `#rgb`, `#rrggbb` or `#rrggbbaa`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Color {
    /// Red.
    pub r: u8,
    /// Green.
    pub g: u8,
    /// Blue.
    pub b: u8,
    /// Alpha; 255 is opaque.
    pub a: u8,
}

impl Color {
    /// An opaque colour.
    #[must_use]
    pub const fn rgb(r: u8, g: u8, b: u8) -> Self {
        Color { r, g, b, a: 255 }
    }

    /// White.
    pub const WHITE: Color = Color::rgb(255, 255, 255);
    /// Black.
    pub const BLACK: Color = Color::rgb(0, 0, 0);

    /// Parses `#rgb`, `#rrggbb` or `#rrggbbaa`.
    ///
    /// # Errors
    /// `invalid-carousel-spec` for anything else.
    pub fn parse(text: &str) -> Result<Self> {
        let bad =
            || Error::InvalidSpec(format!("colour {text:?} is not #rgb, #rrggbb or #rrggbbaa"));
        let hex = text.trim().strip_prefix('#').ok_or_else(bad)?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
        let nibble = |i: usize| {
            u8::from_str_radix(&hex[i..=i], 16)
                .map(|v| v * 17)
                .map_err(|_| bad())
        };
        match hex.len() {
            3 => Ok(Color::rgb(nibble(0)?, nibble(1)?, nibble(2)?)),
            6 => Ok(Color::rgb(byte(0)?, byte(2)?, byte(4)?)),
            8 => Ok(Color {
                r: byte(0)?,
                g: byte(2)?,
                b: byte(4)?,
                a: byte(6)?,
            }),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.a == 255 {
            write!(f, "#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
        } else {
            write!(
                f,
                "#{:02x}{:02x}{:02x}{:02x}",
                self.r, self.g, self.b, self.a
            )
        }
    }
}

impl fmt::Debug for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl TryFrom<String> for Color {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        Color::parse(&value)
    }
}

impl From<Color> for String {
    fn from(c: Color) -> Self {
        c.to_string()
    }
}

/// A whole carousel: the canvas, shared defaults and the slides in order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarouselSpec {
    /// Canvas size for every slide.
    #[serde(default)]
    pub canvas: CanvasPreset,
    /// Defaults every slide inherits.
    #[serde(default)]
    pub defaults: SlideDefaults,
    /// The slides, first to last.
    pub slides: Vec<SlideSpec>,
}

impl CarouselSpec {
    /// Parses a TOML spec.
    ///
    /// # Errors
    /// `invalid-carousel-spec` with the parser's message.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::SpecSyntax(e.to_string()))
    }

    /// Parses a JSON spec.
    ///
    /// # Errors
    /// `invalid-carousel-spec` with the parser's message.
    pub fn from_json_str(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::SpecSyntax(e.to_string()))
    }

    /// Reads a `.toml` or `.json` spec file (chosen by extension, since both are text formats we write).
    ///
    /// # Errors
    /// `invalid-carousel-spec` for syntax errors or another extension, `media-store-unavailable` when the
    /// file cannot be read.
    pub fn from_path(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => Self::from_toml_str(&text),
            Some("json") => Self::from_json_str(&text),
            _ => Err(Error::SpecSyntax(format!(
                "{} is neither .toml nor .json",
                path.display()
            ))),
        }
    }

    /// Checks what serde cannot: at least one slide, image sources, ranges.
    ///
    /// # Errors
    /// `invalid-carousel-spec` naming the first problem.
    pub fn validate(&self) -> Result<()> {
        if self.slides.is_empty() {
            return Err(Error::InvalidSpec(
                "a carousel needs at least one slide".into(),
            ));
        }
        if !(1..=100).contains(&self.defaults.quality) {
            return Err(Error::InvalidSpec(
                "quality must be between 1 and 100".into(),
            ));
        }
        if let Some(bg) = &self.defaults.background {
            bg.validate("defaults")?;
        }
        self.defaults.padding.validate("defaults")?;
        for scrim in self
            .slides
            .iter()
            .filter_map(|s| s.scrim.as_ref())
            .chain(self.defaults.scrim.as_ref())
        {
            if !((0.0..=1.0).contains(&scrim.opacity) && (0.0..=1.0).contains(&scrim.start)) {
                return Err(Error::InvalidSpec(
                    "scrim opacity and start must be 0..=1".into(),
                ));
            }
        }
        if !(0.0..=1000.0).contains(&self.defaults.gap) {
            return Err(Error::InvalidSpec(
                "defaults: gap must be 0..=1000 px".into(),
            ));
        }
        let styles = &self.defaults.styles;
        for style in [styles.title, styles.body, styles.footer, styles.counter] {
            style.validate("defaults.styles")?;
        }
        for (i, slide) in self.slides.iter().enumerate() {
            let at = format!("slide {}", i + 1);
            if let Some(bg) = &slide.background {
                bg.validate(&at)?;
            }
            if let Some(p) = &slide.padding {
                p.validate(&at)?;
            }
            for block in &slide.text {
                if let Some(key) = block.unknown.keys().next() {
                    return Err(Error::InvalidSpec(format!(
                        "{at}: unknown text block field `{key}`"
                    )));
                }
                block.style.validate(&at)?;
            }
        }
        Ok(())
    }
}

/// Settings every slide inherits unless it overrides them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlideDefaults {
    /// Brand colours.
    pub brand: Brand,
    /// Background for slides that give none (default: a solid brand primary).
    pub background: Option<Background>,
    /// Scrim for slides that give none.
    pub scrim: Option<Scrim>,
    /// The account handle (`@natronfx`), used as the default footer text.
    pub handle: Option<String>,
    /// Add a `{n}/{total}` counter to every slide that has none.
    pub show_counter: bool,
    /// Add a footer with the handle to every slide that has none (needs `handle`).
    pub show_handle: bool,
    /// Safe margins between the canvas edges and any text.
    pub padding: Insets,
    /// Vertical space between stacked text blocks, in px.
    pub gap: f32,
    /// JPEG quality, 1..=100.
    pub quality: u8,
    /// Per-role text styles.
    pub styles: RoleStyles,
}

impl Default for SlideDefaults {
    fn default() -> Self {
        SlideDefaults {
            brand: Brand::default(),
            background: None,
            scrim: None,
            handle: None,
            show_counter: false,
            show_handle: false,
            padding: Insets::default(),
            gap: 28.0,
            quality: 90,
            styles: RoleStyles::default(),
        }
    }
}

/// Brand colours.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Brand {
    /// Main colour: solid backgrounds.
    pub primary: Color,
    /// Accent: counters and accent bars.
    pub accent: Color,
    /// Default text colour.
    pub text: Color,
}

impl Default for Brand {
    fn default() -> Self {
        Brand {
            primary: Color::rgb(0x14, 0x1b, 0x2d),
            accent: Color::rgb(0xff, 0xb3, 0x47),
            text: Color::WHITE,
        }
    }
}

/// Margins in px. Reads from a single number (all sides) or a table with `top`, `right`, `bottom`, `left`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "InsetsRepr")]
pub struct Insets {
    /// Top margin.
    pub top: f32,
    /// Right margin.
    pub right: f32,
    /// Bottom margin.
    pub bottom: f32,
    /// Left margin.
    pub left: f32,
}

impl Default for Insets {
    fn default() -> Self {
        Insets {
            top: 88.0,
            right: 88.0,
            bottom: 96.0,
            left: 88.0,
        }
    }
}

impl Insets {
    fn validate(&self, at: &str) -> Result<()> {
        if [self.top, self.right, self.bottom, self.left]
            .iter()
            .all(|v| (0.0..=2000.0).contains(v))
        {
            Ok(())
        } else {
            Err(Error::InvalidSpec(format!(
                "{at}: padding must be 0..=2000 px on every side"
            )))
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum InsetsRepr {
    All(f32),
    Sides {
        top: f32,
        right: f32,
        bottom: f32,
        left: f32,
    },
}

impl From<InsetsRepr> for Insets {
    fn from(repr: InsetsRepr) -> Self {
        match repr {
            InsetsRepr::All(v) => Insets {
                top: v,
                right: v,
                bottom: v,
                left: v,
            },
            InsetsRepr::Sides {
                top,
                right,
                bottom,
                left,
            } => Insets {
                top,
                right,
                bottom,
                left,
            },
        }
    }
}

/// One slide.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlideSpec {
    /// Background; falls back to `defaults.background`, then to a solid brand primary.
    pub background: Option<Background>,
    /// Darkening layer between background and text; falls back to `defaults.scrim`. A photo slide with
    /// neither gets an automatic one behind its text; write `scrim = { opacity = 0 }` to have none.
    pub scrim: Option<Scrim>,
    /// Safe margins for this slide; falls back to `defaults.padding`.
    pub padding: Option<Insets>,
    /// Text blocks. Blocks with the same anchor stack in the order given.
    pub text: Vec<TextBlock>,
}

/// A slide background.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Background {
    /// A photo, cover-cropped to the canvas. Give exactly one of `media` (a media id the caller resolves)
    /// or `path` (a file, relative to the spec's folder).
    Image {
        /// Media id, resolved through the caller's [`super::MediaResolver`].
        #[serde(default)]
        media: Option<String>,
        /// File path, relative to the spec file's folder unless absolute.
        #[serde(default)]
        path: Option<PathBuf>,
        /// The point of the photo (x, y in 0..=1) kept as central as the crop allows.
        #[serde(default)]
        focus: Option<FocalPoint>,
    },
    /// One colour (default: brand primary).
    Solid {
        /// The colour.
        #[serde(default)]
        color: Option<Color>,
    },
    /// A linear gradient with CSS semantics: 0° runs bottom to top, 90° left to right, 180° top to bottom.
    LinearGradient {
        /// Direction in degrees.
        #[serde(default = "default_angle")]
        angle: f32,
        /// At least two colour stops.
        stops: Vec<GradientStop>,
    },
}

fn default_angle() -> f32 {
    180.0
}

impl Background {
    fn validate(&self, at: &str) -> Result<()> {
        match self {
            Background::Image { media, path, focus } => {
                if media.is_some() == path.is_some() {
                    return Err(Error::InvalidSpec(format!(
                        "{at}: an image background needs exactly one of `media` or `path`"
                    )));
                }
                if let Some(f) = focus
                    && !((0.0..=1.0).contains(&f.x) && (0.0..=1.0).contains(&f.y))
                {
                    return Err(Error::InvalidSpec(format!(
                        "{at}: focus x and y must be within 0..=1"
                    )));
                }
                Ok(())
            }
            Background::Solid { .. } => Ok(()),
            Background::LinearGradient { stops, angle } => {
                if stops.len() < 2 || !angle.is_finite() {
                    return Err(Error::InvalidSpec(format!(
                        "{at}: a gradient needs a finite angle and at least two stops"
                    )));
                }
                if stops.iter().any(|s| !(0.0..=1.0).contains(&s.at)) {
                    return Err(Error::InvalidSpec(format!(
                        "{at}: gradient stop positions must be 0..=1"
                    )));
                }
                Ok(())
            }
        }
    }
}

/// A point in an image, as fractions of width and height.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FocalPoint {
    /// 0 = left edge, 1 = right edge.
    pub x: f32,
    /// 0 = top edge, 1 = bottom edge.
    pub y: f32,
}

impl Default for FocalPoint {
    fn default() -> Self {
        FocalPoint { x: 0.5, y: 0.5 }
    }
}

/// A colour at a position along a gradient.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradientStop {
    /// The colour.
    pub color: Color,
    /// Position along the gradient line, 0..=1.
    pub at: f32,
}

/// A darkening layer over the background so text stays legible on any photo.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scrim {
    /// Colour of the layer (usually black).
    pub color: Color,
    /// Strongest opacity, 0..=1.
    pub opacity: f32,
    /// Uniform, or fading in toward the bottom or the top.
    pub fade: ScrimFade,
    /// For a fade: the fraction of the height (measured from the faded-out edge) where it starts.
    pub start: f32,
}

impl Default for Scrim {
    fn default() -> Self {
        Scrim {
            color: Color::BLACK,
            opacity: 0.55,
            fade: ScrimFade::Uniform,
            start: 0.35,
        }
    }
}

/// How a scrim's opacity varies over the height.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScrimFade {
    /// The same opacity everywhere.
    #[default]
    Uniform,
    /// Transparent above `start`, darkest at the bottom edge.
    Bottom,
    /// Darkest at the top edge, transparent below `1 - start`.
    Top,
}

/// What a text block is; picks its default style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextRole {
    /// Headline.
    Title,
    /// Body copy.
    Body,
    /// Small print, usually the handle.
    Footer,
    /// Slide counter; default text `{n}/{total}`.
    Counter,
}

/// Font weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weight {
    /// Noto Sans Regular.
    Regular,
    /// Noto Sans Bold.
    Bold,
}

/// Horizontal alignment inside the padded area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    /// Flush left.
    Left,
    /// Centred.
    Center,
    /// Flush right.
    Right,
}

/// Which vertical stack a block joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Anchor {
    /// Stacked downward from the top margin.
    Top,
    /// Stacked as a group centred vertically.
    Center,
    /// Stacked upward from the bottom margin (the last block sits lowest).
    Bottom,
}

/// Text styling; every field is optional so that slide, carousel and built-in defaults layer.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TextStyle {
    /// Preferred font size in px.
    pub size: Option<f32>,
    /// Smallest size shrink-to-fit may use, in px.
    pub min_size: Option<f32>,
    /// Regular or bold.
    pub weight: Option<Weight>,
    /// Text colour (default: brand text; counters use the brand accent).
    pub color: Option<Color>,
    /// Horizontal alignment.
    pub align: Option<Align>,
    /// Vertical stack.
    pub anchor: Option<Anchor>,
    /// Most lines; text beyond is cut with an ellipsis after shrinking to `min_size`.
    pub max_lines: Option<u32>,
    /// Line advance as a multiple of the font size.
    pub line_height: Option<f32>,
    /// Wrap at spaces (default true); when false a line only breaks at explicit newlines.
    pub wrap: Option<bool>,
    /// Render in upper case.
    pub uppercase: Option<bool>,
    /// Extra space between letters, in em.
    pub tracking: Option<f32>,
    /// Draw a short bar in the accent colour above the block.
    pub accent_bar: Option<bool>,
    /// Balance line lengths instead of filling lines greedily (no one-word last line); default on for
    /// titles.
    pub balance: Option<bool>,
    /// A rounded label behind the block (use alpha, e.g. `#00000099`) for text over busy photos.
    pub backdrop: Option<Color>,
}

impl TextStyle {
    fn validate(&self, at: &str) -> Result<()> {
        let out_of = |v: Option<f32>, range: std::ops::RangeInclusive<f32>| {
            v.is_some_and(|v| !range.contains(&v))
        };
        if out_of(self.size, 4.0..=400.0) || out_of(self.min_size, 4.0..=400.0) {
            return Err(Error::InvalidSpec(format!(
                "{at}: font sizes must be 4..=400 px"
            )));
        }
        if out_of(self.line_height, 0.8..=3.0) {
            return Err(Error::InvalidSpec(format!(
                "{at}: line_height must be 0.8..=3"
            )));
        }
        if out_of(self.tracking, -0.2..=1.0) {
            return Err(Error::InvalidSpec(format!(
                "{at}: tracking must be -0.2..=1 em"
            )));
        }
        if self.max_lines == Some(0) {
            return Err(Error::InvalidSpec(format!(
                "{at}: max_lines must be at least 1"
            )));
        }
        Ok(())
    }

    /// Fills every unset field from `fallback`.
    #[must_use]
    pub fn or(self, fallback: TextStyle) -> TextStyle {
        TextStyle {
            size: self.size.or(fallback.size),
            min_size: self.min_size.or(fallback.min_size),
            weight: self.weight.or(fallback.weight),
            color: self.color.or(fallback.color),
            align: self.align.or(fallback.align),
            anchor: self.anchor.or(fallback.anchor),
            max_lines: self.max_lines.or(fallback.max_lines),
            line_height: self.line_height.or(fallback.line_height),
            wrap: self.wrap.or(fallback.wrap),
            uppercase: self.uppercase.or(fallback.uppercase),
            tracking: self.tracking.or(fallback.tracking),
            accent_bar: self.accent_bar.or(fallback.accent_bar),
            balance: self.balance.or(fallback.balance),
            backdrop: self.backdrop.or(fallback.backdrop),
        }
    }
}

/// Carousel-wide style per role.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoleStyles {
    /// Titles.
    pub title: TextStyle,
    /// Body copy.
    pub body: TextStyle,
    /// Footers.
    pub footer: TextStyle,
    /// Counters.
    pub counter: TextStyle,
}

impl RoleStyles {
    /// The style for a role.
    #[must_use]
    pub fn get(&self, role: TextRole) -> TextStyle {
        match role {
            TextRole::Title => self.title,
            TextRole::Body => self.body,
            TextRole::Footer => self.footer,
            TextRole::Counter => self.counter,
        }
    }
}

/// One block of text on a slide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextBlock {
    /// What the block is.
    pub role: TextRole,
    /// The text; `{n}` and `{total}` are replaced by the slide number and count. Counters default to
    /// `{n}/{total}`, footers to the handle.
    #[serde(default)]
    pub text: Option<String>,
    /// Style overrides for this block.
    #[serde(flatten)]
    pub style: TextStyle,
    /// Keys that matched no field; [`CarouselSpec::validate`] refuses them so a typo is not silently ignored.
    #[serde(flatten, skip_serializing)]
    unknown: std::collections::BTreeMap<String, serde_json::Value>,
}

impl TextBlock {
    /// A block with the role's default style.
    #[must_use]
    pub fn new(role: TextRole, text: impl Into<String>) -> Self {
        TextBlock {
            role,
            text: Some(text.into()),
            style: TextStyle::default(),
            unknown: std::collections::BTreeMap::new(),
        }
    }

    /// The same block with a style.
    #[must_use]
    pub fn with_style(mut self, style: TextStyle) -> Self {
        self.style = style;
        self
    }
}
