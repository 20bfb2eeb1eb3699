//! Facebook Pages' rules for photo posts (`/{page-id}/photos` and multi-photo `/feed`, reference Part 3).

use super::text::{char_len, grouped, grouped_usize};
use super::{CheckInput, Finding, Fix, Severity, SlideFacts, SlideFormat};
use crate::Platform;

const P: Option<Platform> = Some(Platform::Facebook);

/// Most photos in one post. Not documented by Meta; a vendor SDK says "up to 10" and the reference
/// recommends keeping to it (OBS late-dotnet), (FB-PHOTOS).
pub const MAX_SLIDES: usize = 10;
/// Largest photo file, in bytes: "≤ 10 MB" (FB-PHOTOS), read as 10,000,000 (smaller than 10 MiB).
pub const MAX_BYTES: u64 = 10_000_000;
/// Largest PNG Facebook recommends, in bytes, to avoid pixelation (FB-PHOTOS).
pub const PNG_RECOMMENDED_MAX_BYTES: u64 = 1_000_000;
/// Caption length above which a warning is given, in characters. The stored pages document no limit for a
/// photo caption (reference Part 6, note 3), so this is a generous figure, not Meta's.
pub const CAPTION_WARN_CHARS: usize = 5_000;
/// Photos from which a long caption has been seen to fail a multi-photo post: 5 photos with a ~1–2 KB
/// caption gave HTTP 500 "Please reduce the amount of data", while 4 with the same caption passed
/// (OBS code-index 59511294906).
pub const MANY_PHOTOS: usize = 5;
/// Caption size, in UTF-8 bytes, that counts as long next to [`MANY_PHOTOS`] photos: the low end of the
/// observed ~1–2 KB.
pub const LONG_CAPTION_BYTES: usize = 1_000;

/// Every Facebook rule, in a fixed order.
pub fn check(input: &CheckInput) -> Vec<Finding> {
    let mut out = Vec::new();
    let caption = input.published_caption();
    caption_required(input, &caption, &mut out);
    caption_length(&caption, &mut out);
    long_caption_many_photos(input, &caption, &mut out);
    slide_count(input, &mut out);
    for (i, s) in input.slides.iter().enumerate() {
        format(i, s, &mut out);
        file_size(i, s, &mut out);
        png_size(i, s, &mut out);
    }
    out
}

/// What fits Facebook: the same size as a JPEG within 10 MB.
fn variant(s: &SlideFacts) -> Fix {
    Fix::RenderVariant {
        format: SlideFormat::Jpeg,
        width: s.width,
        height: s.height,
        max_bytes: MAX_BYTES,
    }
}

/// A multi-photo post goes through `/feed`, which needs a `message` (FB-FEED).
fn caption_required(input: &CheckInput, caption: &str, out: &mut Vec<Finding>) {
    if input.slides.len() > 1 && caption.trim().is_empty() {
        out.push(Finding::new(
            "facebook-caption-required",
            Severity::Error,
            P,
            format!(
                "a facebook post with {} photos needs a caption, and this one has none",
                input.slides.len()
            ),
            "write a caption",
        ));
    }
}

/// No documented limit: a warning above [`CAPTION_WARN_CHARS`] characters.
fn caption_length(caption: &str, out: &mut Vec<Finding>) {
    let n = char_len(caption);
    if n > CAPTION_WARN_CHARS {
        out.push(Finding::new(
            "facebook-caption-very-long",
            Severity::Warning,
            P,
            format!(
                "the caption has {} characters; facebook documents no limit, but posts this long are unusual and untested",
                grouped_usize(n)
            ),
            format!("consider keeping it under {}", grouped_usize(CAPTION_WARN_CHARS)),
        ));
    }
}

/// Many photos with a long caption has failed with HTTP 500 (see [`MANY_PHOTOS`]): a warning.
fn long_caption_many_photos(input: &CheckInput, caption: &str, out: &mut Vec<Finding>) {
    let photos = input.slides.len();
    if photos >= MANY_PHOTOS && caption.len() >= LONG_CAPTION_BYTES {
        out.push(Finding::new(
            "facebook-long-caption-many-photos",
            Severity::Warning,
            P,
            format!(
                "{photos} photos with a {}-byte caption; facebook has refused posts with 5 or more photos and a caption of 1–2 KB",
                grouped_usize(caption.len())
            ),
            format!(
                "use at most {} photos, or shorten the caption under {} bytes",
                MANY_PHOTOS - 1,
                grouped_usize(LONG_CAPTION_BYTES)
            ),
        ));
    }
}

/// At most 10 photos. No slide at all is the everywhere rule `no-slides`.
fn slide_count(input: &CheckInput, out: &mut Vec<Finding>) {
    let n = input.slides.len();
    if n > MAX_SLIDES {
        out.push(Finding::new(
            "facebook-too-many-slides",
            Severity::Error,
            P,
            format!("the post has {n} photos; a facebook post holds at most {MAX_SLIDES}"),
            format!(
                "remove {} photos, or split them into two posts",
                n - MAX_SLIDES
            ),
        ));
    }
}

/// JPEG or PNG (Facebook also takes BMP, GIF and TIFF, which the product never stores). WebP is not
/// listed.
fn format(i: usize, s: &SlideFacts, out: &mut Vec<Finding>) {
    if s.format == SlideFormat::Webp {
        out.push(
            Finding::new(
                "facebook-format-unsupported",
                Severity::Error,
                P,
                "the image is webp; facebook takes jpeg or png",
                "render a jpeg variant",
            )
            .on_slide(i)
            .with_fix(variant(s)),
        );
    }
}

/// ≤ 10,000,000 bytes.
fn file_size(i: usize, s: &SlideFacts, out: &mut Vec<Finding>) {
    if s.bytes > MAX_BYTES {
        out.push(
            Finding::new(
                "facebook-file-too-large",
                Severity::Error,
                P,
                format!(
                    "the image file is {} bytes; facebook takes at most {}",
                    grouped(s.bytes),
                    grouped(MAX_BYTES)
                ),
                "render a smaller jpeg variant",
            )
            .on_slide(i)
            .with_fix(variant(s)),
        );
    }
}

/// A PNG over 1 MB may come out pixelated: a hint, not a block.
fn png_size(i: usize, s: &SlideFacts, out: &mut Vec<Finding>) {
    if s.format == SlideFormat::Png && s.bytes > PNG_RECOMMENDED_MAX_BYTES && s.bytes <= MAX_BYTES {
        out.push(
            Finding::new(
                "facebook-png-may-pixelate",
                Severity::Info,
                P,
                format!(
                    "the png file is {} bytes; facebook recommends pngs under {} to avoid pixelation",
                    grouped(s.bytes),
                    grouped(PNG_RECOMMENDED_MAX_BYTES)
                ),
                "render a jpeg variant",
            )
            .on_slide(i)
            .with_fix(variant(s)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{codes, input};
    use super::*;

    fn has(i: &CheckInput, code: &str) -> bool {
        codes(&check(i)).contains(&code)
    }

    #[test]
    fn a_safe_post_has_no_facebook_finding() {
        assert_eq!(check(&input(4)), []);
    }

    #[test]
    fn at_most_10_photos() {
        for (n, blocked) in [(1, false), (10, false), (11, true)] {
            assert_eq!(has(&input(n), "facebook-too-many-slides"), blocked, "{n}");
        }
    }

    #[test]
    fn file_size_boundary_10_mb() {
        for (bytes, blocked) in [(10_000_000, false), (10_000_001, true)] {
            let mut i = input(1);
            i.slides[0].bytes = bytes;
            assert_eq!(has(&i, "facebook-file-too-large"), blocked, "{bytes}");
        }
    }

    #[test]
    fn jpeg_or_png_only() {
        for (format, blocked) in [
            (SlideFormat::Jpeg, false),
            (SlideFormat::Png, false),
            (SlideFormat::Webp, true),
        ] {
            let mut i = input(1);
            i.slides[0].format = format;
            assert_eq!(has(&i, "facebook-format-unsupported"), blocked, "{format}");
        }
    }

    #[test]
    fn a_large_png_is_only_a_hint() {
        let mut i = input(1);
        i.slides[0].format = SlideFormat::Png;
        for (bytes, hinted) in [(1_000_000, false), (1_000_001, true)] {
            i.slides[0].bytes = bytes;
            let f = check(&i);
            assert_eq!(codes(&f).contains(&"facebook-png-may-pixelate"), hinted);
            assert!(!super::super::blocks(&f));
        }
    }

    #[test]
    fn a_multi_photo_post_needs_a_caption() {
        for (n, caption, blocked) in [
            (1, "", false),
            (2, "", true),
            (2, " \n", true),
            (2, "hi", false),
        ] {
            let mut i = input(n);
            i.caption = caption.into();
            assert_eq!(
                has(&i, "facebook-caption-required"),
                blocked,
                "{n} {caption:?}"
            );
        }
        // List hashtags are a caption once published.
        let mut i = input(2);
        i.caption = String::new();
        i.hashtags = vec![crate::Hashtag::parse("coffee").unwrap()];
        assert!(!has(&i, "facebook-caption-required"));
    }

    #[test]
    fn caption_length_warns_at_a_generous_figure() {
        for (n, warned) in [(5_000, false), (5_001, true)] {
            let mut i = input(1);
            i.caption = "a".repeat(n);
            let f = check(&i);
            assert_eq!(
                codes(&f).contains(&"facebook-caption-very-long"),
                warned,
                "{n}"
            );
            assert!(!super::super::blocks(&f));
        }
    }

    #[test]
    fn many_photos_with_a_long_caption_warn() {
        for (photos, bytes, warned) in [(4, 2_000, false), (5, 999, false), (5, 1_000, true)] {
            let mut i = input(photos);
            i.caption = "a".repeat(bytes);
            assert_eq!(
                has(&i, "facebook-long-caption-many-photos"),
                warned,
                "{photos} photos, {bytes} bytes"
            );
        }
    }
}
