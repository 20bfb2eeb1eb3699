//! TikTok's rules for photo posts (Content Posting API `content/init` with `media_type=PHOTO`, reference
//! Part 1, §1.5, §1.8 and §1.10).
//!
//! TikTok checks images only after accepting the request and then fails the whole post without saying
//! which image was wrong, so these rules are strict where the reference is vague.

use super::text::{grouped, grouped_usize, utf16_len};
use super::{CheckInput, Finding, Fix, Severity, SlideFacts, SlideFormat, fit_width};
use crate::Platform;

const P: Option<Platform> = Some(Platform::Tiktok);

/// Most images in one photo post (`photo_images`, "up to 35") (TT-PHOTO).
pub const MAX_SLIDES: usize = 35;
/// Largest image file, in bytes: "≤ 20 MB" (TT-MEDIA), read as 20,000,000 (smaller than 20 MiB).
pub const MAX_BYTES: u64 = 20_000_000;
/// Widest image, in pixels. The reference says only "maximum 1080p" without an axis; observed, a
/// 1086×1448 image failed a whole carousel (`picture_size_check_failed`) while 941×1672 passed, and
/// 1254×1254 failed (OBS postiz#1875, trypost#120). The safe rule: width ≤ 1080.
pub const MAX_WIDTH: u32 = 1_080;
/// Longest shorter side, in pixels: the reference's safe rule's second half. It follows from
/// [`MAX_WIDTH`] (the shorter side is never longer than the width) and is checked anyway, as written.
pub const MAX_SHORT_SIDE: u32 = 1_080;
/// Longest title of a photo post, in UTF-16 code units (TT-PHOTO).
pub const MAX_TITLE_UTF16: usize = 90;
/// Longest description of a photo post, in UTF-16 code units (TT-PHOTO).
pub const MAX_DESCRIPTION_UTF16: usize = 4_000;
/// Every `privacy_level` TikTok knows (TT-PHOTO).
pub const PRIVACY_LEVELS: [&str; 4] = [
    "PUBLIC_TO_EVERYONE",
    "MUTUAL_FOLLOW_FRIENDS",
    "FOLLOWER_OF_CREATOR",
    "SELF_ONLY",
];
/// The only privacy level an unaudited client may post with (TT-GUIDE).
pub const SELF_ONLY: &str = "SELF_ONLY";

/// Every TikTok rule, in a fixed order.
pub fn check(input: &CheckInput) -> Vec<Finding> {
    let mut out = Vec::new();
    title_length(input, &mut out);
    description_length(input, &mut out);
    privacy(input, &mut out);
    slide_count(input, &mut out);
    for (i, s) in input.slides.iter().enumerate() {
        format(i, s, &mut out);
        file_size(i, s, &mut out);
        dimensions(i, s, &mut out);
        url(i, s, input, &mut out);
    }
    prefixes_configured(input, &mut out);
    out
}

/// What fits TikTok: at most 1,080 wide (ratio kept), JPEG (WebP sources may stay WebP), ≤ 20 MB.
fn variant(s: &SlideFacts) -> Fix {
    let (width, height) = fit_width(
        u64::from(s.width),
        u64::from(s.height),
        u64::from(MAX_WIDTH),
    );
    let format = if s.format == SlideFormat::Webp {
        SlideFormat::Webp
    } else {
        SlideFormat::Jpeg
    };
    Fix::RenderVariant {
        format,
        width,
        height,
        max_bytes: MAX_BYTES,
    }
}

fn variant_hint(fix: &Fix) -> String {
    match fix {
        Fix::RenderVariant {
            format,
            width,
            height,
            ..
        } => format!("render a {width}-wide {format} variant ({width}×{height})"),
    }
}

/// Title ≤ 90 UTF-16 code units: an emoji outside the Basic Multilingual Plane counts 2.
fn title_length(input: &CheckInput, out: &mut Vec<Finding>) {
    let n = utf16_len(&input.title);
    if n > MAX_TITLE_UTF16 {
        out.push(Finding::new(
            "tiktok-title-too-long",
            Severity::Error,
            P,
            format!(
                "the title is {n} UTF-16 units long (emoji count 2); tiktok allows {MAX_TITLE_UTF16}"
            ),
            format!("shorten the title by {} units", n - MAX_TITLE_UTF16),
        ));
    }
}

/// Description (the caption as published, hashtags included) ≤ 4,000 UTF-16 code units.
fn description_length(input: &CheckInput, out: &mut Vec<Finding>) {
    let n = utf16_len(&input.published_caption());
    if n > MAX_DESCRIPTION_UTF16 {
        out.push(Finding::new(
            "tiktok-description-too-long",
            Severity::Error,
            P,
            format!(
                "the caption is {} UTF-16 units long (emoji count 2); tiktok allows {}",
                grouped_usize(n),
                grouped_usize(MAX_DESCRIPTION_UTF16)
            ),
            format!(
                "shorten it by {} units, or give this account a shorter caption",
                grouped_usize(n - MAX_DESCRIPTION_UTF16)
            ),
        ));
    }
}

/// A privacy level picked by a person (TikTok's UX rules forbid a default), one TikTok knows, among the
/// creator's `privacy_level_options` (else 403 `privacy_level_option_mismatch`), `SELF_ONLY` while the
/// client is unaudited, and not `SELF_ONLY` for branded content (a secondary source, so held to the safe
/// side: TikTok would refuse it).
fn privacy(input: &CheckInput, out: &mut Vec<Finding>) {
    let choices = input.tiktok.clone().unwrap_or_default();
    let Some(level) = choices.privacy_level.as_deref().map(str::trim) else {
        out.push(Finding::new(
            "tiktok-privacy-level-missing",
            Severity::Error,
            P,
            "no privacy level is chosen, and tiktok allows no default",
            "choose who can see the post",
        ));
        return;
    };
    if !PRIVACY_LEVELS.contains(&level) {
        out.push(Finding::new(
            "tiktok-privacy-level-invalid",
            Severity::Error,
            P,
            format!("`{level}` is not a tiktok privacy level"),
            format!("choose one of {}", PRIVACY_LEVELS.join(", ")),
        ));
        return;
    }
    match &choices.creator_privacy_options {
        Some(options) if !options.iter().any(|o| o == level) => out.push(Finding::new(
            "tiktok-privacy-level-not-offered",
            Severity::Error,
            P,
            format!(
                "the privacy level {level} is not among the account's options ({})",
                options.join(", ")
            ),
            "choose one of the account's options",
        )),
        Some(_) => {}
        None => out.push(Finding::new(
            "tiktok-privacy-options-unknown",
            Severity::Warning,
            P,
            format!("the account's privacy options were not read, so {level} is not confirmed"),
            "refresh the account's creator info before publishing",
        )),
    }
    if !input.rules.tiktok_client_audited && level != SELF_ONLY {
        out.push(Finding::new(
            "tiktok-unaudited-client-private-only",
            Severity::Error,
            P,
            format!(
                "the privacy level is {level}, but until the tiktok app passes its audit every post must be {SELF_ONLY}"
            ),
            format!("choose {SELF_ONLY}, or mark the app as audited in the configuration once it is"),
        ));
    }
    if choices.brand_content && level == SELF_ONLY {
        out.push(Finding::new(
            "tiktok-branded-content-private",
            Severity::Error,
            P,
            format!("branded content cannot be {SELF_ONLY}"),
            "choose a wider audience, or unmark the post as branded content",
        ));
    }
}

/// 1 to 35 images. No slide at all is the everywhere rule `no-slides`.
fn slide_count(input: &CheckInput, out: &mut Vec<Finding>) {
    let n = input.slides.len();
    if n > MAX_SLIDES {
        out.push(Finding::new(
            "tiktok-too-many-slides",
            Severity::Error,
            P,
            format!("the post has {n} slides; a tiktok photo post holds at most {MAX_SLIDES}"),
            format!(
                "remove {} slides, or split them into two posts",
                n - MAX_SLIDES
            ),
        ));
    }
}

/// JPEG or WebP. PNG is not listed and fails in practice (`file_format_check_failed`).
fn format(i: usize, s: &SlideFacts, out: &mut Vec<Finding>) {
    if s.format == SlideFormat::Png {
        let fix = variant(s);
        out.push(
            Finding::new(
                "tiktok-format-unsupported",
                Severity::Error,
                P,
                "the image is png; tiktok takes jpeg or webp only",
                variant_hint(&fix),
            )
            .on_slide(i)
            .with_fix(fix),
        );
    }
}

/// ≤ 20,000,000 bytes.
fn file_size(i: usize, s: &SlideFacts, out: &mut Vec<Finding>) {
    if s.bytes > MAX_BYTES {
        let fix = variant(s);
        out.push(
            Finding::new(
                "tiktok-file-too-large",
                Severity::Error,
                P,
                format!(
                    "the image file is {} bytes; tiktok takes at most {}",
                    grouped(s.bytes),
                    grouped(MAX_BYTES)
                ),
                variant_hint(&fix),
            )
            .on_slide(i)
            .with_fix(fix),
        );
    }
}

/// Width ≤ 1,080 and shorter side ≤ 1,080 (see [`MAX_WIDTH`] for the evidence). One image over it fails
/// the entire carousel.
fn dimensions(i: usize, s: &SlideFacts, out: &mut Vec<Finding>) {
    if s.width <= MAX_WIDTH && s.width.min(s.height) <= MAX_SHORT_SIDE {
        return;
    }
    let fix = variant(s);
    out.push(
        Finding::new(
            "tiktok-image-too-wide",
            Severity::Error,
            P,
            format!(
                "the image is {}×{}; tiktok takes at most {MAX_WIDTH} wide, and one image over it fails the whole post",
                s.width, s.height
            ),
            variant_hint(&fix),
        )
        .on_slide(i)
        .with_fix(fix),
    );
}

/// The host of an `https://` URL, lowercased, without user info or port.
fn host(url: &str) -> Option<String> {
    let rest = url
        .get(..8)?
        .eq_ignore_ascii_case("https://")
        .then(|| &url[8..])?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    let host = authority.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// True when `url` is covered by one of the verified entries (see
/// [`QualityConfig::tiktok_verified_url_prefixes`](super::QualityConfig::tiktok_verified_url_prefixes)).
fn is_verified(url: &str, entries: &[String]) -> bool {
    let host = host(url);
    entries.iter().map(|e| e.trim()).any(|entry| {
        if entry.contains("://") {
            url.starts_with(entry)
        } else {
            let domain = entry
                .trim_start_matches("*.")
                .trim_matches('.')
                .to_ascii_lowercase();
            !domain.is_empty()
                && host.as_deref().is_some_and(|h| {
                    h == domain
                        || h.strip_suffix(domain.as_str())
                            .is_some_and(|p| p.ends_with('.'))
                })
        }
    })
}

/// TikTok pulls each image from its URL on a domain or URL prefix the app verified (else 403
/// `url_ownership_unverified`). Checked only for slides whose URL is known, and against the configured
/// list only when there is one. That the URL is `https` at all is an everywhere rule
/// (`media-url-not-https`), so it is not reported twice.
fn url(i: usize, s: &SlideFacts, input: &CheckInput, out: &mut Vec<Finding>) {
    let Some(url) = s.public_url.as_deref() else {
        return;
    };
    if host(url).is_none() {
        return;
    }
    let entries = &input.rules.tiktok_verified_url_prefixes;
    if !entries.is_empty() && !is_verified(url, entries) {
        out.push(
            Finding::new(
                "tiktok-url-unverified",
                Severity::Error,
                P,
                format!(
                    "the image url {url} is not under a verified domain or prefix ({})",
                    entries.join(", ")
                ),
                "serve media from a verified domain, or verify this one in the tiktok developer portal and add it to the configuration",
            )
            .on_slide(i),
        );
    }
}

/// With URLs known but no verified prefix configured, nothing can be confirmed: one warning.
fn prefixes_configured(input: &CheckInput, out: &mut Vec<Finding>) {
    if input.rules.tiktok_verified_url_prefixes.is_empty()
        && input.slides.iter().any(|s| s.public_url.is_some())
    {
        out.push(Finding::new(
            "tiktok-url-prefixes-unconfigured",
            Severity::Warning,
            P,
            "no verified tiktok url prefix is configured, so the image urls cannot be checked",
            "add the domains or url prefixes verified in the tiktok developer portal to the configuration",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{codes, input, slide};
    use super::super::{QualityConfig, TikTokChoices};
    use super::*;

    /// A post that passes every TikTok rule.
    fn ok(n: usize) -> CheckInput {
        let mut i = input(n);
        for s in &mut i.slides {
            *s = slide(1080, 1920);
        }
        i.tiktok = Some(TikTokChoices {
            privacy_level: Some("SELF_ONLY".into()),
            creator_privacy_options: Some(vec![
                "PUBLIC_TO_EVERYONE".into(),
                "MUTUAL_FOLLOW_FRIENDS".into(),
                "SELF_ONLY".into(),
            ]),
            brand_content: false,
        });
        i
    }

    fn has(i: &CheckInput, code: &str) -> bool {
        codes(&check(i)).contains(&code)
    }

    proptest::proptest! {
        /// Whatever the source size, the offered variant passes TikTok's size rule and keeps the ratio
        /// to within a pixel.
        #[test]
        fn the_offered_variant_always_fits(w in 1u32..40_000, h in 1u32..40_000) {
            let Fix::RenderVariant { width, height, .. } = variant(&slide(w, h));
            proptest::prop_assert!(width <= MAX_WIDTH && width.min(height) <= MAX_SHORT_SIDE);
            proptest::prop_assert!(height >= 1);
            let exact = f64::from(h) * f64::from(width) / f64::from(w);
            proptest::prop_assert!((f64::from(height) - exact).abs() <= 1.0, "{}×{} from {}×{}", width, height, w, h);
            let mut i = ok(1);
            i.slides[0] = slide(width, height);
            proptest::prop_assert!(!has(&i, "tiktok-image-too-wide"));
        }
    }

    #[test]
    fn a_safe_post_has_no_tiktok_finding() {
        assert_eq!(check(&ok(3)), []);
    }

    #[test]
    fn slide_count_1_to_35() {
        for (n, blocked) in [(1, false), (35, false), (36, true)] {
            assert_eq!(has(&ok(n), "tiktok-too-many-slides"), blocked, "{n}");
        }
    }

    #[test]
    fn jpeg_or_webp_only() {
        for (format, blocked) in [
            (SlideFormat::Jpeg, false),
            (SlideFormat::Webp, false),
            (SlideFormat::Png, true),
        ] {
            let mut i = ok(1);
            i.slides[0].format = format;
            assert_eq!(has(&i, "tiktok-format-unsupported"), blocked, "{format}");
        }
    }

    #[test]
    fn file_size_boundary_20_mb() {
        for (bytes, blocked) in [(20_000_000, false), (20_000_001, true)] {
            let mut i = ok(1);
            i.slides[0].bytes = bytes;
            assert_eq!(has(&i, "tiktok-file-too-large"), blocked, "{bytes}");
        }
    }

    #[test]
    fn width_and_shorter_side_at_most_1080() {
        let cases = [
            (1080, 1920, false),
            (1080, 1350, false),
            (1080, 1080, false),
            (941, 1672, false), // observed to pass
            (1081, 1920, true), // one pixel over
            (1086, 1448, true), // observed to fail the whole carousel
            (1254, 1254, true), // observed to fail
            (1920, 1080, true), // landscape 1080p: wider than 1080
        ];
        for (w, h, blocked) in cases {
            let mut i = ok(5);
            i.slides[3] = slide(w, h);
            let f = check(&i);
            let hits: Vec<_> = f
                .iter()
                .filter(|f| f.code == "tiktok-image-too-wide")
                .collect();
            assert_eq!(!hits.is_empty(), blocked, "{w}×{h}");
            if let Some(hit) = hits.first() {
                assert_eq!(hit.slide, Some(4), "the slide is named");
                assert_eq!(hit.severity, Severity::Error);
            }
        }
    }

    #[test]
    fn an_oversize_slide_says_render_a_1080_wide_variant() {
        let mut i = ok(1);
        i.slides[0] = slide(1086, 1448);
        let f = check(&i);
        let hit = f
            .iter()
            .find(|f| f.code == "tiktok-image-too-wide")
            .unwrap();
        assert_eq!(hit.hint, "render a 1080-wide jpeg variant (1080×1440)");
        assert_eq!(
            hit.fix,
            Some(Fix::RenderVariant {
                format: SlideFormat::Jpeg,
                width: 1080,
                height: 1440,
                max_bytes: MAX_BYTES
            })
        );
        assert!(hit.message.contains("1086×1448"), "{}", hit.message);
    }

    #[test]
    fn title_counts_utf16_units_up_to_90() {
        let cases = [
            ("a".repeat(90), false),
            ("a".repeat(91), true),
            ("😀".repeat(45), false),                // 45 emoji = 90 units
            (format!("{}a", "😀".repeat(45)), true), // 91 units, 46 characters
            (format!("{}😀", "a".repeat(89)), true), // 91 units, 90 characters
        ];
        for (title, blocked) in cases {
            let mut i = ok(1);
            i.title = title.clone();
            assert_eq!(has(&i, "tiktok-title-too-long"), blocked, "{title}");
        }
    }

    #[test]
    fn description_counts_utf16_units_up_to_4000() {
        let cases = [
            ("a".repeat(4_000), false),
            ("a".repeat(4_001), true),
            ("😀".repeat(2_000), false),
            (format!("{}😀", "a".repeat(3_999)), true), // 4,000 characters, 4,001 units
        ];
        for (caption, blocked) in cases {
            let mut i = ok(1);
            let n = caption.chars().count();
            i.caption = caption;
            assert_eq!(has(&i, "tiktok-description-too-long"), blocked, "{n} chars");
        }
    }

    #[test]
    fn privacy_level_must_be_chosen_and_offered() {
        let public = Some("PUBLIC_TO_EVERYONE".to_owned());
        let private_account = Some(vec![
            "FOLLOWER_OF_CREATOR".to_owned(),
            "MUTUAL_FOLLOW_FRIENDS".to_owned(),
            "SELF_ONLY".to_owned(),
        ]);
        let cases: [(Option<TikTokChoices>, bool, &str); 6] = [
            (None, true, "tiktok-privacy-level-missing"),
            (
                Some(TikTokChoices::default()),
                true,
                "tiktok-privacy-level-missing",
            ),
            (
                Some(TikTokChoices {
                    privacy_level: Some("EVERYONE".into()),
                    ..TikTokChoices::default()
                }),
                true,
                "tiktok-privacy-level-invalid",
            ),
            (
                Some(TikTokChoices {
                    privacy_level: public.clone(),
                    creator_privacy_options: private_account.clone(),
                    brand_content: false,
                }),
                true,
                "tiktok-privacy-level-not-offered",
            ),
            (
                Some(TikTokChoices {
                    privacy_level: Some("FOLLOWER_OF_CREATOR".into()),
                    creator_privacy_options: private_account,
                    brand_content: false,
                }),
                false,
                "",
            ),
            (
                Some(TikTokChoices {
                    privacy_level: public,
                    creator_privacy_options: None,
                    brand_content: false,
                }),
                false,
                "tiktok-privacy-options-unknown",
            ),
        ];
        for (choices, blocked, code) in cases {
            let mut i = ok(1);
            i.rules.tiktok_client_audited = true;
            i.tiktok = choices.clone();
            let f = check(&i);
            assert_eq!(super::super::blocks(&f), blocked, "{choices:?}: {f:?}");
            if !code.is_empty() {
                assert!(codes(&f).contains(&code), "{choices:?}: {f:?}");
            }
        }
    }

    #[test]
    fn unaudited_clients_post_self_only() {
        let mut i = ok(1);
        i.tiktok.as_mut().unwrap().privacy_level = Some("PUBLIC_TO_EVERYONE".into());
        assert!(has(&i, "tiktok-unaudited-client-private-only"));
        i.rules.tiktok_client_audited = true;
        assert!(!has(&i, "tiktok-unaudited-client-private-only"));
        i.rules.tiktok_client_audited = false;
        i.tiktok.as_mut().unwrap().privacy_level = Some("SELF_ONLY".into());
        assert!(!has(&i, "tiktok-unaudited-client-private-only"));
    }

    #[test]
    fn branded_content_cannot_be_self_only() {
        let mut i = ok(1);
        i.tiktok.as_mut().unwrap().brand_content = true;
        assert!(has(&i, "tiktok-branded-content-private"));
        i.rules.tiktok_client_audited = true;
        i.tiktok.as_mut().unwrap().privacy_level = Some("MUTUAL_FOLLOW_FRIENDS".into());
        assert!(!has(&i, "tiktok-branded-content-private"));
    }

    #[test]
    fn media_urls_must_be_https_on_a_verified_prefix() {
        let rules = QualityConfig {
            tiktok_verified_url_prefixes: vec![
                "https://media.natron.example/p/".into(),
                "cdn.example.org".into(),
            ],
            ..QualityConfig::default()
        };
        let cases = [
            ("https://media.natron.example/p/1.jpg", None),
            (
                "https://media.natron.example/q/1.jpg",
                Some("tiktok-url-unverified"),
            ),
            ("https://cdn.example.org/a.jpg", None),
            ("https://img.cdn.example.org:443/a.jpg", None),
            (
                "https://evilcdn.example.org/a.jpg",
                Some("tiktok-url-unverified"),
            ),
            ("https://example.org/a.jpg", Some("tiktok-url-unverified")),
            (
                "https://storage.googleapis.com/b/a.jpg",
                Some("tiktok-url-unverified"),
            ),
            // Not https: the everywhere rule reports it, not TikTok's.
            ("http://cdn.example.org/a.jpg", None),
        ];
        for (url, code) in cases {
            let mut i = ok(2);
            i.rules = rules.clone();
            i.slides[1].public_url = Some(url.into());
            let f = check(&i);
            let got: Vec<_> = f
                .iter()
                .filter(|f| f.code.starts_with("tiktok-url"))
                .map(|f| (f.code, f.slide))
                .collect();
            let expected: Vec<_> = code.map(|c| (c, Some(2))).into_iter().collect();
            assert_eq!(got, expected, "{url}");
        }
    }

    #[test]
    fn urls_without_a_configured_prefix_warn_once() {
        let mut i = ok(3);
        assert!(!has(&i, "tiktok-url-prefixes-unconfigured"));
        for s in &mut i.slides {
            s.public_url = Some("https://media.natron.example/x.jpg".into());
        }
        let f = check(&i);
        let hits: Vec<_> = f
            .iter()
            .filter(|f| f.code == "tiktok-url-prefixes-unconfigured")
            .collect();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].severity, Severity::Warning);
    }
}
