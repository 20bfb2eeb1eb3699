//! Instagram's rules for feed images and carousels (Graph API content publishing, reference Part 2).
//!
//! Figures come from the platform reference, §2.2 and §2.3. Where the reference gives two figures, the
//! stricter one is used and the rule says so.

use super::text::{char_len, grouped, grouped_usize, hashtag_occurrences, links, mention_count};
use super::{CheckInput, Finding, Fix, Severity, SlideFacts, SlideFormat, fit_width};
use crate::Platform;

const P: Option<Platform> = Some(Platform::Instagram);

/// Longest caption, in characters (Unicode scalar values) (IG-MEDIA).
pub const MAX_CAPTION_CHARS: usize = 2_200;
/// Most hashtags in a caption (IG-MEDIA). Repeats count: the safe reading.
pub const MAX_HASHTAGS: usize = 30;
/// Most @mentions in a caption (IG-MEDIA). Repeats count: the safe reading.
pub const MAX_MENTIONS: usize = 20;
/// Most slides: a single image, or a carousel of 2 to 10 (IG-CP).
pub const MAX_SLIDES: usize = 10;
/// Largest image file, in bytes. The reference says "≤ 8 MB" (IG-MEDIA) and the error text "less than
/// 8 MiB" (8,388,608 bytes) (IG-ERR): the smaller reading, 8,000,000 bytes inclusive, satisfies both.
pub const MAX_BYTES: u64 = 8_000_000;
/// Narrowest aspect ratio, width:height, inclusive: 4:5 (IG-MEDIA).
pub const MIN_RATIO: (u64, u64) = (4, 5);
/// Widest aspect ratio, width:height, inclusive: 1.91:1 (IG-MEDIA).
pub const MAX_RATIO: (u64, u64) = (191, 100);
/// How far a carousel slide's ratio may differ from the first slide's, in percent, before the crop
/// Instagram applies to it is worth a warning. 1 % is about 13 pixels of a 1350-pixel side.
pub const RATIO_TOLERANCE_PERCENT: u64 = 1;
/// Narrowest image Instagram keeps as is; narrower ones are upscaled (IG-MEDIA).
pub const MIN_WIDTH: u32 = 320;
/// Widest image Instagram keeps as is; wider ones are downscaled (IG-MEDIA).
pub const MAX_WIDTH: u32 = 1_440;
/// Longest alt text, in characters (IG-MEDIA).
pub const MAX_ALT_TEXT_CHARS: usize = 1_000;
/// The smallest publishing limit per rolling 24 hours the reference has seen (25 in a v17 example; 50 in
/// the reference page; 100 in the current guide) (IG-LIMIT), (IG-CP). Used only when the account's own
/// `quota_total` was not read.
pub const LOWEST_DOCUMENTED_QUOTA: u32 = 25;

/// Every Instagram rule, in a fixed order.
pub fn check(input: &CheckInput) -> Vec<Finding> {
    let mut out = Vec::new();
    let caption = input.published_caption();
    caption_length(&caption, &mut out);
    hashtag_count(&caption, &mut out);
    mention_count_rule(&caption, &mut out);
    links_not_clickable(&caption, &mut out);
    slide_count(input, &mut out);
    for (i, s) in input.slides.iter().enumerate() {
        format(i, s, &mut out);
        file_size(i, s, &mut out);
        aspect_ratio(i, s, &mut out);
        width(i, s, &mut out);
        alt_text(i, s, &mut out);
    }
    carousel_ratio(input, &mut out);
    quota(input, &mut out);
    out
}

/// Where a slide fits Instagram: its ratio clamped into 4:5 … 1.91:1 by a centred crop, then scaled
/// down to at most 1,440 wide, as a JPEG under 8 MB.
fn variant(s: &SlideFacts) -> Fix {
    let (w, h) = crop_into_range(u64::from(s.width), u64::from(s.height));
    let (width, height) = fit_width(w, h, u64::from(MAX_WIDTH));
    let (width, height) = nudge_into_range(width, height);
    Fix::RenderVariant {
        format: SlideFormat::Jpeg,
        width,
        height,
        max_bytes: MAX_BYTES,
    }
}

fn too_narrow(w: u64, h: u64) -> bool {
    w * MIN_RATIO.1 < h * MIN_RATIO.0
}

fn too_wide(w: u64, h: u64) -> bool {
    w * MAX_RATIO.1 > h * MAX_RATIO.0
}

fn crop_into_range(w: u64, h: u64) -> (u64, u64) {
    if too_narrow(w, h) {
        (w, (w * MIN_RATIO.1 / MIN_RATIO.0).max(1))
    } else if too_wide(w, h) {
        ((h * MAX_RATIO.0 / MAX_RATIO.1).max(1), h)
    } else {
        (w, h)
    }
}

/// Scaling rounds; a pixel of height brings a ratio that landed just outside the range back in.
fn nudge_into_range(w: u32, mut h: u32) -> (u32, u32) {
    while h > 1 && too_narrow(u64::from(w), u64::from(h)) {
        h -= 1;
    }
    while too_wide(u64::from(w), u64::from(h)) {
        h += 1;
    }
    (w, h)
}

/// Caption ≤ 2,200 characters, counted as Meta counts them: Unicode scalar values, list hashtags that
/// the publisher appends included.
fn caption_length(caption: &str, out: &mut Vec<Finding>) {
    let n = char_len(caption);
    if n > MAX_CAPTION_CHARS {
        out.push(Finding::new(
            "instagram-caption-too-long",
            Severity::Error,
            P,
            format!(
                "the caption has {} characters; instagram allows {}",
                grouped_usize(n),
                grouped_usize(MAX_CAPTION_CHARS)
            ),
            format!(
                "shorten it by {} characters, or give this account a shorter caption",
                grouped_usize(n - MAX_CAPTION_CHARS)
            ),
        ));
    }
}

/// ≤ 30 hashtags in the caption as published. Instagram does not say whether repeats count; they do here.
fn hashtag_count(caption: &str, out: &mut Vec<Finding>) {
    let n = hashtag_occurrences(caption).len();
    if n > MAX_HASHTAGS {
        out.push(Finding::new(
            "instagram-too-many-hashtags",
            Severity::Error,
            P,
            format!("the caption has {n} hashtags; instagram allows {MAX_HASHTAGS}"),
            format!("remove {} hashtags", n - MAX_HASHTAGS),
        ));
    }
}

/// ≤ 20 @mentions in the caption. An e-mail address is no mention; repeats count.
fn mention_count_rule(caption: &str, out: &mut Vec<Finding>) {
    let n = mention_count(caption);
    if n > MAX_MENTIONS {
        out.push(Finding::new(
            "instagram-too-many-mentions",
            Severity::Error,
            P,
            format!("the caption has {n} @mentions; instagram allows {MAX_MENTIONS}"),
            format!("remove {} @mentions", n - MAX_MENTIONS),
        ));
    }
}

/// Instagram shows links in a caption as plain text.
fn links_not_clickable(caption: &str, out: &mut Vec<Finding>) {
    let found = links(caption);
    if let Some(first) = found.first() {
        out.push(Finding::new(
            "instagram-link-not-clickable",
            Severity::Warning,
            P,
            format!(
                "the caption has {} link(s), starting with {first}, and instagram does not make them clickable",
                found.len()
            ),
            "point people to the link in the account's bio instead",
        ));
    }
}

/// A single image, or a carousel of 2 to 10; more is refused (code 100, subcode 2207028). No slide at all
/// is the everywhere rule `no-slides`.
fn slide_count(input: &CheckInput, out: &mut Vec<Finding>) {
    let n = input.slides.len();
    if n > MAX_SLIDES {
        out.push(Finding::new(
            "instagram-too-many-slides",
            Severity::Error,
            P,
            format!("the post has {n} slides; an instagram carousel holds at most {MAX_SLIDES}"),
            format!(
                "remove {} slides, or split them into two posts",
                n - MAX_SLIDES
            ),
        ));
    }
}

/// JPEG only: PNG and WebP are refused, as are extended JPEGs (MPO, JPS), which the caller reports as
/// JPEG only if it decoded them as such.
fn format(i: usize, s: &SlideFacts, out: &mut Vec<Finding>) {
    if s.format != SlideFormat::Jpeg {
        out.push(
            Finding::new(
                "instagram-format-unsupported",
                Severity::Error,
                P,
                format!("the image is {}; instagram takes jpeg only", s.format),
                "render a jpeg variant",
            )
            .on_slide(i)
            .with_fix(variant(s)),
        );
    }
}

/// ≤ 8,000,000 bytes (see [`MAX_BYTES`] for why not 8 MiB).
fn file_size(i: usize, s: &SlideFacts, out: &mut Vec<Finding>) {
    if s.bytes > MAX_BYTES {
        out.push(
            Finding::new(
                "instagram-file-too-large",
                Severity::Error,
                P,
                format!(
                    "the image file is {} bytes; instagram takes at most {}",
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

fn ratio_text(w: u32, h: u32) -> String {
    format!("{:.3}", f64::from(w) / f64::from(h))
}

/// Aspect ratio between 4:5 and 1.91:1 inclusive, compared exactly in integers: 1080×1350 passes and
/// 1080×1351 does not. No tolerance on the bounds: Instagram refuses what is outside (code 36003,
/// subcode 2207009, seen for 0.75).
fn aspect_ratio(i: usize, s: &SlideFacts, out: &mut Vec<Finding>) {
    let (w, h) = (u64::from(s.width), u64::from(s.height));
    if w == 0 || h == 0 || !(too_narrow(w, h) || too_wide(w, h)) {
        return;
    }
    let side = if too_narrow(w, h) {
        "taller than 4:5 (0.800)"
    } else {
        "wider than 1.91:1"
    };
    let fix = variant(s);
    let hint = match &fix {
        Fix::RenderVariant { width, height, .. } => {
            format!("crop it to {width}×{height}")
        }
    };
    out.push(
        Finding::new(
            "instagram-aspect-ratio-out-of-range",
            Severity::Error,
            P,
            format!(
                "the image is {}×{} (ratio {}), {side}; instagram takes 4:5 to 1.91:1",
                s.width,
                s.height,
                ratio_text(s.width, s.height)
            ),
            hint,
        )
        .on_slide(i)
        .with_fix(fix),
    );
}

/// Width 320 … 1,440: outside, Instagram rescales the image itself. Too narrow turns blurry (warning);
/// too wide is only downscaled (info).
fn width(i: usize, s: &SlideFacts, out: &mut Vec<Finding>) {
    if s.width == 0 || s.height == 0 {
        return;
    }
    if s.width < MIN_WIDTH {
        out.push(
            Finding::new(
                "instagram-image-upscaled",
                Severity::Warning,
                P,
                format!(
                    "the image is {} pixels wide; instagram upscales anything under {MIN_WIDTH} and it will look blurry",
                    s.width
                ),
                "use a larger image, ideally 1080 wide",
            )
            .on_slide(i),
        );
    } else if s.width > MAX_WIDTH {
        out.push(
            Finding::new(
                "instagram-image-downscaled",
                Severity::Info,
                P,
                format!(
                    "the image is {} pixels wide; instagram downscales it to {}",
                    grouped(u64::from(s.width)),
                    grouped(u64::from(MAX_WIDTH))
                ),
                "nothing to do, or render a 1080-wide variant to control the result",
            )
            .on_slide(i),
        );
    }
}

/// Alt text ≤ 1,000 characters.
fn alt_text(i: usize, s: &SlideFacts, out: &mut Vec<Finding>) {
    let n = char_len(&s.alt_text);
    if n > MAX_ALT_TEXT_CHARS {
        out.push(
            Finding::new(
                "instagram-alt-text-too-long",
                Severity::Error,
                P,
                format!(
                    "the alt text has {} characters; instagram allows {}",
                    grouped_usize(n),
                    grouped_usize(MAX_ALT_TEXT_CHARS)
                ),
                format!(
                    "shorten it by {} characters",
                    grouped_usize(n - MAX_ALT_TEXT_CHARS)
                ),
            )
            .on_slide(i),
        );
    }
}

/// Instagram crops every carousel slide to the first slide's ratio. A slide whose ratio differs from
/// the first's by more than [`RATIO_TOLERANCE_PERCENT`] loses part of its picture: a warning, with the
/// crop that shows what Instagram would keep.
fn carousel_ratio(input: &CheckInput, out: &mut Vec<Finding>) {
    let Some(first) = input.slides.first() else {
        return;
    };
    if input.slides.len() < 2 {
        return;
    }
    let (w0, h0) = (u64::from(first.width), u64::from(first.height));
    if w0 == 0 || h0 == 0 {
        return;
    }
    for (i, s) in input.slides.iter().enumerate().skip(1) {
        let (w, h) = (u64::from(s.width), u64::from(s.height));
        if w == 0 || h == 0 {
            continue;
        }
        // Compare w/h with w0/h0 by cross-multiplying: no division, no float, no overflow.
        let (a, b) = (u128::from(w * h0), u128::from(w0 * h));
        let (big, small) = (a.max(b), a.min(b));
        if big * 100 <= small * u128::from(100 + RATIO_TOLERANCE_PERCENT) {
            continue;
        }
        let (cw, ch) = if a > b {
            ((h * w0 / h0).max(1), h)
        } else {
            (w, (w * h0 / w0).max(1))
        };
        let (width, height) = fit_width(cw, ch, u64::from(MAX_WIDTH));
        out.push(
            Finding::new(
                "instagram-aspect-ratio-mismatch",
                Severity::Warning,
                P,
                format!(
                    "the image is {}×{} (ratio {}) but the first slide is {}×{} (ratio {}); instagram crops every slide to the first one's ratio",
                    s.width,
                    s.height,
                    ratio_text(s.width, s.height),
                    first.width,
                    first.height,
                    ratio_text(first.width, first.height)
                ),
                format!("crop it to {width}×{height}, or render every slide at one size such as 1080×1350"),
            )
            .on_slide(i)
            .with_fix(Fix::RenderVariant {
                format: SlideFormat::Jpeg,
                width,
                height,
                max_bytes: MAX_BYTES,
            }),
        );
    }
}

/// Posts already in the account's rolling 24 hours, plus this one, must stay within its publishing
/// limit (a carousel counts as one). The limit is read from the account (`config.quota_total`) because
/// the reference's figures disagree (100, 50, 25); when it was not read, exceeding the lowest of them is
/// a warning.
fn quota(input: &CheckInput, out: &mut Vec<Finding>) {
    let Some(used) = input.instagram_scheduled_in_24h else {
        return;
    };
    let with_this = u64::from(used) + 1;
    match input.instagram_quota_total {
        Some(total) if with_this > u64::from(total) => out.push(Finding::new(
            "instagram-quota-exceeded",
            Severity::Error,
            P,
            format!(
                "the account already has {used} posts within 24 hours of this one; instagram allows {total} per rolling 24 hours"
            ),
            "move this post, or another one, at least 24 hours away",
        )),
        Some(_) => {}
        None if with_this > u64::from(LOWEST_DOCUMENTED_QUOTA) => out.push(Finding::new(
            "instagram-quota-unknown",
            Severity::Warning,
            P,
            format!(
                "the account already has {used} posts within 24 hours of this one, and its limit was not read; instagram's documented limits range from {LOWEST_DOCUMENTED_QUOTA} to 100"
            ),
            "reconnect the account so its limit can be read, or spread the posts out",
        )),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{codes, input, slide};
    use super::*;

    fn has(i: &CheckInput, code: &str) -> bool {
        codes(&check(i)).contains(&code)
    }

    #[test]
    fn caption_length_boundary_2200() {
        let mut i = input(1);
        for (n, blocked) in [(2_200, false), (2_201, true)] {
            i.caption = "a".repeat(n);
            assert_eq!(has(&i, "instagram-caption-too-long"), blocked, "{n}");
        }
        // Characters, not bytes: 2,200 emoji pass.
        i.caption = "😀".repeat(2_200);
        assert!(!has(&i, "instagram-caption-too-long"));
        // List hashtags appended by the publisher count.
        i.caption = "a".repeat(2_195);
        i.hashtags = vec![crate::Hashtag::parse("coffee").unwrap()];
        assert!(has(&i, "instagram-caption-too-long"));
        let f = check(&i);
        let hit = f
            .iter()
            .find(|f| f.code == "instagram-caption-too-long")
            .unwrap();
        assert!(hit.message.contains("2,204"), "{}", hit.message);
    }

    #[test]
    fn hashtag_count_boundary_30() {
        let mut i = input(1);
        for (n, blocked) in [(30, false), (31, true)] {
            i.caption = (0..n)
                .map(|k| format!("#tag{k}"))
                .collect::<Vec<_>>()
                .join(" ");
            assert_eq!(has(&i, "instagram-too-many-hashtags"), blocked, "{n}");
        }
        // 29 in the caption and 2 more in the list go over.
        i.caption = (0..29)
            .map(|k| format!("#tag{k}"))
            .collect::<Vec<_>>()
            .join(" ");
        i.hashtags = crate::Hashtags::parse_list(&["x", "y"])
            .unwrap()
            .iter()
            .cloned()
            .collect();
        assert!(has(&i, "instagram-too-many-hashtags"));
    }

    #[test]
    fn mention_count_boundary_20() {
        let mut i = input(1);
        for (n, blocked) in [(20, false), (21, true)] {
            i.caption = (0..n)
                .map(|k| format!("@user{k}"))
                .collect::<Vec<_>>()
                .join(" ");
            assert_eq!(has(&i, "instagram-too-many-mentions"), blocked, "{n}");
        }
        i.caption = (0..25)
            .map(|k| format!("u{k}@example.com"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(!has(&i, "instagram-too-many-mentions"));
    }

    #[test]
    fn slide_count_single_or_carousel_up_to_10() {
        for (n, blocked) in [(1, false), (2, false), (10, false), (11, true)] {
            assert_eq!(has(&input(n), "instagram-too-many-slides"), blocked, "{n}");
        }
        // No slide at all is the everywhere rule, not repeated here.
        assert!(!has(&input(0), "instagram-too-many-slides"));
    }

    #[test]
    fn jpeg_only_with_a_jpeg_variant_as_fix() {
        for (format, blocked) in [
            (SlideFormat::Jpeg, false),
            (SlideFormat::Png, true),
            (SlideFormat::Webp, true),
        ] {
            let mut i = input(1);
            i.slides[0].format = format;
            let f = check(&i);
            let hit = f.iter().find(|f| f.code == "instagram-format-unsupported");
            assert_eq!(hit.is_some(), blocked, "{format}");
            if let Some(hit) = hit {
                assert_eq!(hit.slide, Some(1));
                assert_eq!(
                    hit.fix,
                    Some(Fix::RenderVariant {
                        format: SlideFormat::Jpeg,
                        width: 1080,
                        height: 1350,
                        max_bytes: MAX_BYTES
                    })
                );
            }
        }
    }

    #[test]
    fn file_size_boundary_8_mb() {
        let mut i = input(2);
        for (bytes, blocked) in [(8_000_000, false), (8_000_001, true)] {
            i.slides[1].bytes = bytes;
            let f = check(&i);
            let hit = f.iter().find(|f| f.code == "instagram-file-too-large");
            assert_eq!(hit.is_some(), blocked, "{bytes}");
            if let Some(hit) = hit {
                assert_eq!(hit.slide, Some(2));
                assert!(hit.message.contains("8,000,001"), "{}", hit.message);
            }
        }
    }

    #[test]
    fn aspect_ratio_bounds_are_inclusive_and_exact() {
        let cases = [
            (1080, 1350, false), // 4:5 exactly
            (1080, 1351, true),  // slightly narrower
            (1080, 1080, false),
            (1910, 1000, false), // 1.91:1 exactly
            (1911, 1000, true),  // slightly wider
            (1024, 1536, true),  // 2:3, what image generators give
            (1080, 1440, true),  // 3:4, refused in practice
        ];
        for (w, h, blocked) in cases {
            let i = {
                let mut i = input(1);
                i.slides[0] = slide(w, h);
                i
            };
            assert_eq!(
                has(&i, "instagram-aspect-ratio-out-of-range"),
                blocked,
                "{w}×{h}"
            );
        }
    }

    #[test]
    fn aspect_ratio_fix_crops_into_range() {
        let mut i = input(1);
        for (w, h, fixed) in [
            (1024, 1536, (1024, 1280)),
            (1080, 1351, (1080, 1350)),
            (3000, 1000, (1440, 754)),
            (2000, 3000, (1440, 1800)),
        ] {
            i.slides[0] = slide(w, h);
            let f = check(&i);
            let hit = f
                .iter()
                .find(|f| f.code == "instagram-aspect-ratio-out-of-range")
                .unwrap();
            let Some(Fix::RenderVariant { width, height, .. }) = hit.fix else {
                panic!("no fix for {w}×{h}");
            };
            assert_eq!((width, height), fixed, "{w}×{h}");
            let (w2, h2) = (u64::from(width), u64::from(height));
            assert!(!too_narrow(w2, h2) && !too_wide(w2, h2), "{w}×{h}");
        }
    }

    #[test]
    fn every_slide_should_match_the_first_ratio_within_one_percent() {
        let cases = [
            ((1080, 1080), false),
            ((1200, 1200), false),
            ((1080, 1090), false), // 0.9 % off
            ((1080, 1100), true),  // 1.9 % off
            ((1080, 1350), true),
        ];
        for ((w, h), warned) in cases {
            let mut i = input(3);
            for s in &mut i.slides {
                *s = slide(1080, 1080);
            }
            i.slides[2] = slide(w, h);
            let f = check(&i);
            let hits: Vec<_> = f
                .iter()
                .filter(|f| f.code == "instagram-aspect-ratio-mismatch")
                .collect();
            assert_eq!(!hits.is_empty(), warned, "{w}×{h}");
            if let Some(hit) = hits.first() {
                assert_eq!(hit.severity, Severity::Warning);
                assert_eq!(hit.slide, Some(3));
                assert_eq!(
                    hit.fix,
                    Some(Fix::RenderVariant {
                        format: SlideFormat::Jpeg,
                        width: 1080,
                        height: 1080,
                        max_bytes: MAX_BYTES
                    })
                );
            }
        }
    }

    #[test]
    fn alt_text_boundary_1000() {
        let mut i = input(1);
        for (n, blocked) in [(1_000, false), (1_001, true)] {
            i.slides[0].alt_text = "é".repeat(n);
            assert_eq!(has(&i, "instagram-alt-text-too-long"), blocked, "{n}");
        }
    }

    #[test]
    fn width_outside_320_to_1440_is_rescaled_by_instagram() {
        for (w, code) in [
            (319, Some("instagram-image-upscaled")),
            (320, None),
            (1440, None),
            (1441, Some("instagram-image-downscaled")),
        ] {
            let mut i = input(1);
            i.slides[0] = slide(w, w);
            let c = codes(&check(&i));
            let rescaled: Vec<_> = c
                .iter()
                .filter(|c| c.ends_with("scaled"))
                .copied()
                .collect();
            assert_eq!(rescaled, code.into_iter().collect::<Vec<_>>(), "{w}");
        }
    }

    #[test]
    fn quota_counts_this_post_against_the_accounts_limit() {
        let cases = [
            (Some(49), Some(50), None),
            (Some(50), Some(50), Some(Severity::Error)),
            (Some(99), Some(100), None),
            (Some(24), None, None),
            (Some(25), None, Some(Severity::Warning)),
            (None, Some(50), None),
        ];
        for (used, total, expected) in cases {
            let mut i = input(1);
            i.instagram_scheduled_in_24h = used;
            i.instagram_quota_total = total;
            let got = check(&i)
                .into_iter()
                .find(|f| f.code.starts_with("instagram-quota"))
                .map(|f| f.severity);
            assert_eq!(got, expected, "{used:?} of {total:?}");
        }
    }

    #[test]
    fn links_in_the_caption_warn() {
        let mut i = input(1);
        i.caption = "shop now at https://natron.example/shop".into();
        let f = check(&i);
        let hit = f
            .iter()
            .find(|f| f.code == "instagram-link-not-clickable")
            .unwrap();
        assert_eq!(hit.severity, Severity::Warning);
        i.caption = "shop now, link in bio".into();
        assert!(!has(&i, "instagram-link-not-clickable"));
    }

    proptest::proptest! {
        /// Whatever the source size, the offered variant is one Instagram takes as it is.
        #[test]
        fn the_offered_variant_always_fits(w in 1u32..40_000, h in 1u32..40_000) {
            let mut s = slide(w, h);
            s.format = SlideFormat::Png;
            let Fix::RenderVariant { format, width, height, max_bytes } = variant(&s);
            let (w2, h2) = (u64::from(width), u64::from(height));
            proptest::prop_assert_eq!((format, max_bytes), (SlideFormat::Jpeg, MAX_BYTES));
            proptest::prop_assert!((1..=MAX_WIDTH).contains(&width) && height >= 1, "{}×{}", width, height);
            proptest::prop_assert!(!too_narrow(w2, h2) && !too_wide(w2, h2), "{}×{} from {}×{}", width, height, w, h);
            let mut i = input(1);
            i.slides[0] = slide(width, height);
            proptest::prop_assert!(!crate::quality::blocks(&check(&i)));
        }
    }

    #[test]
    fn a_safe_post_has_no_instagram_finding() {
        let mut i = input(10);
        i.caption = "Our winter blend #coffee @natron".into();
        assert_eq!(check(&i), []);
    }
}
