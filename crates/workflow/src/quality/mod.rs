//! Per-platform quality rules: what would make TikTok, Instagram or Facebook refuse a post, or publish it
//! other than the team meant, reported as [`Finding`]s before anything is sent.
//!
//! The rules are pure functions of a [`CheckInput`] that the caller fills in (it measures the images,
//! reads the account's TikTok options and Instagram quota, and passes `now`). Figures come from the
//! platform reference (`platform-apis.md`); where it marks a fact uncertain, the rule takes the safe side
//! and its doc says so. Tags in parentheses, such as (IG-MEDIA) or (OBS postiz#1875), name the
//! reference's sources.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use natronfx_workflow::{CheckInput, Platform, SlideFacts, SlideFormat, Severity, blocks, check};
//!
//! let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
//! let slide = |width, height| SlideFacts {
//!     format: SlideFormat::Jpeg,
//!     width,
//!     height,
//!     bytes: 900_000,
//!     alt_text: "a cup of coffee".into(),
//!     public_url: None,
//!     url_probe: None,
//! };
//! let input = CheckInput::new("Winter blend", "Our new blend #coffee", vec![slide(1080, 1350), slide(1200, 1500)], now);
//!
//! assert!(!blocks(&check(Platform::Instagram, &input)));
//! let tiktok = check(Platform::Tiktok, &input);
//! assert!(blocks(&tiktok));
//! let oversize = tiktok.iter().find(|f| f.code == "tiktok-image-too-wide").unwrap();
//! assert_eq!((oversize.severity, oversize.slide), (Severity::Error, Some(2)));
//! assert_eq!(oversize.hint, "render a 1080-wide jpeg variant (1080×1350)");
//! ```

pub mod common;
pub mod facebook;
mod finding;
mod input;
pub mod instagram;
mod text;
pub mod tiktok;

pub use finding::{Finding, Fix, Severity};
pub use input::{
    AccountFacts, CheckInput, DuplicatePolicy, EarlierPost, QualityConfig, SlideFacts, SlideFormat,
    TikTokChoices, UrlProbe,
};
pub use text::published_caption;

use crate::Platform;

/// Every rule for a post bound for `platform`: the everywhere rules ([`common::check`], findings without
/// a platform) and the platform's own, in display order (see [`Finding::display_order`]).
pub fn check(platform: Platform, input: &CheckInput) -> Vec<Finding> {
    let mut findings = common::check(input);
    findings.extend(match platform {
        Platform::Tiktok => tiktok::check(input),
        Platform::Instagram => instagram::check(input),
        Platform::Facebook => facebook::check(input),
    });
    findings.sort_by(Finding::display_order);
    findings
}

/// True when any finding is an [`Severity::Error`]: the post must not be published as it is.
pub fn blocks(findings: &[Finding]) -> bool {
    findings.iter().any(Finding::is_error)
}

/// The findings of several targets of one post as one list: in display order, with the repeats that the
/// everywhere rules give for each target dropped.
pub fn merge(findings: impl IntoIterator<Item = Finding>) -> Vec<Finding> {
    let mut all: Vec<Finding> = findings.into_iter().collect();
    all.sort_by(Finding::display_order);
    all.dedup();
    all
}

/// `w` × `h` scaled down to at most `max_w` wide, ratio kept (height rounded, at least 1); unchanged
/// when already narrow enough.
pub(crate) fn fit_width(w: u64, h: u64, max_w: u64) -> (u32, u32) {
    let to_u32 = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    if w <= max_w || w == 0 {
        return (to_u32(w), to_u32(h));
    }
    let scaled = (u128::from(h) * u128::from(max_w) + u128::from(w) / 2) / u128::from(w);
    (
        to_u32(max_w),
        to_u32(u64::try_from(scaled).unwrap_or(u64::MAX).max(1)),
    )
}

#[cfg(test)]
pub(crate) mod testing {
    //! Builders for the rule tests: a post that passes every rule unless a test changes it.

    use chrono::{TimeZone, Utc};

    use super::{CheckInput, Finding, SlideFacts, SlideFormat};

    /// A 1080×1350 JPEG of 1 MB with alt text: fine on every platform except TikTok's privacy choice.
    pub(crate) fn slide(width: u32, height: u32) -> SlideFacts {
        SlideFacts {
            format: SlideFormat::Jpeg,
            width,
            height,
            bytes: 1_000_000,
            alt_text: "a cup of coffee on a wooden table".into(),
            public_url: None,
            url_probe: None,
        }
    }

    /// A post with `slides` slides of 1080×1350, a short caption and title, checked at a fixed instant.
    pub(crate) fn input(slides: usize) -> CheckInput {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        CheckInput::new(
            "Winter blend",
            "Our new winter blend is here #coffee",
            (0..slides).map(|_| slide(1080, 1350)).collect(),
            now,
        )
    }

    /// The codes of `findings`, in order.
    pub(crate) fn codes(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.code).collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::testing::{codes, input, slide};
    use super::*;

    #[test]
    fn check_runs_the_everywhere_rules_and_only_the_platforms_own() {
        let mut i = input(11);
        i.caption = String::new();
        for p in Platform::ALL {
            let f = check(p, &i);
            assert!(codes(&f).contains(&"caption-empty"), "{p}");
            assert!(
                f.iter()
                    .all(|f| f.platform.is_none() || f.platform == Some(p)),
                "{p}: {f:?}"
            );
        }
        assert!(codes(&check(Platform::Instagram, &i)).contains(&"instagram-too-many-slides"));
        assert!(codes(&check(Platform::Facebook, &i)).contains(&"facebook-too-many-slides"));
        assert!(!codes(&check(Platform::Tiktok, &i)).contains(&"tiktok-too-many-slides"));
    }

    #[test]
    fn findings_come_errors_first_then_by_platform_and_slide() {
        let mut i = input(3);
        i.caption = String::new();
        i.slides[2] = slide(1086, 1448);
        i.slides[1].bytes = 25_000_000;
        i.slides[0].alt_text = String::new();
        i.scheduled_at = Some(i.now - Duration::hours(1));
        let f = check(Platform::Tiktok, &i);
        let order: Vec<_> = f.iter().map(|f| (f.severity, f.code, f.slide)).collect();
        assert_eq!(
            order,
            [
                (Severity::Error, "schedule-in-past", None),
                (Severity::Error, "tiktok-privacy-level-missing", None),
                (Severity::Error, "tiktok-file-too-large", Some(2)),
                (Severity::Error, "tiktok-image-too-wide", Some(3)),
                (Severity::Warning, "caption-empty", None),
                (Severity::Info, "slide-alt-text-missing", Some(1)),
            ]
        );
        // The order does not depend on the order the input lists things in.
        assert_eq!(check(Platform::Tiktok, &i), f);
    }

    #[test]
    fn blocks_on_any_error_only() {
        let mut i = input(1);
        i.caption = String::new();
        let f = check(Platform::Instagram, &i);
        assert!(!f.is_empty());
        assert!(!blocks(&f), "a warning does not block: {f:?}");
        i.slides.clear();
        assert!(blocks(&check(Platform::Instagram, &i)));
        assert!(!blocks(&[]));
    }

    #[test]
    fn merge_drops_the_everywhere_repeats_of_several_targets() {
        let mut i = input(0);
        i.caption = String::new();
        let all = merge(
            [Platform::Instagram, Platform::Facebook]
                .into_iter()
                .flat_map(|p| check(p, &i)),
        );
        assert_eq!(codes(&all), ["no-slides", "caption-empty"]);
    }

    #[test]
    fn findings_serialize_for_the_cli_and_the_api() {
        let mut i = input(1);
        i.slides[0] = slide(1086, 1448);
        i.tiktok = Some(TikTokChoices {
            privacy_level: Some("SELF_ONLY".into()),
            creator_privacy_options: Some(vec!["SELF_ONLY".into()]),
            brand_content: false,
        });
        let f = check(Platform::Tiktok, &i);
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(
            json,
            serde_json::json!([{
                "code": "tiktok-image-too-wide",
                "severity": "error",
                "platform": "tiktok",
                "slide": 1,
                "message": "the image is 1086×1448; tiktok takes at most 1080 wide, and one image over it fails the whole post",
                "hint": "render a 1080-wide jpeg variant (1080×1440)",
                "fix": {"kind": "render_variant", "format": "jpeg", "width": 1080, "height": 1440, "max_bytes": 20_000_000}
            }])
        );
        let common = serde_json::to_value(check(Platform::Tiktok, &input(0))).unwrap();
        assert_eq!(
            common[0],
            serde_json::json!({
                "code": "no-slides",
                "severity": "error",
                "message": "the post has no slide",
                "hint": "add at least one image"
            })
        );
    }

    #[test]
    fn display_is_one_line() {
        let mut i = input(1);
        i.slides[0].bytes = 9_000_000;
        let f = check(Platform::Instagram, &i);
        assert_eq!(
            f[0].to_string(),
            "error instagram slide 1: the image file is 9,000,000 bytes; instagram takes at most 8,000,000 (instagram-file-too-large)"
        );
    }

    #[test]
    fn the_input_round_trips_through_json() {
        let mut i = input(2);
        i.slides[1].public_url = Some("https://media.natron.example/p/2.jpg".into());
        i.tiktok = Some(TikTokChoices::default());
        let json = serde_json::to_string(&i).unwrap();
        let back: CheckInput = serde_json::from_str(&json).unwrap();
        assert_eq!(back, i);
    }

    #[test]
    fn fit_width_keeps_the_ratio() {
        assert_eq!(fit_width(1086, 1448, 1080), (1080, 1440));
        assert_eq!(fit_width(1080, 1920, 1080), (1080, 1920));
        assert_eq!(fit_width(4000, 1, 1080), (1080, 1));
        assert_eq!(fit_width(0, 10, 1080), (0, 10));
    }
}
