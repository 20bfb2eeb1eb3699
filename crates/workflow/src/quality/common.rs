//! Rules that hold on every platform: slides present, a future schedule, a caption, tidy hashtags, and the
//! team's banned terms.

use super::text::{contains_whole_word, repeated_hashtags};
use super::{CheckInput, Finding, Severity, UrlProbe};

/// Every rule that holds whatever the platform. Its findings carry no platform.
pub fn check(input: &CheckInput) -> Vec<Finding> {
    let mut out = Vec::new();
    no_slides(input, &mut out);
    empty_images(input, &mut out);
    schedule_in_past(input, &mut out);
    empty_caption(input, &mut out);
    repeated_tags(input, &mut out);
    banned_terms(input, &mut out);
    missing_alt_text(input, &mut out);
    public_urls(input, &mut out);
    account_ready(input, &mut out);
    looks_like_earlier_posts(input, &mut out);
    out
}

/// Content published before: the same slides (by perceptual hash) or the same caption. A warning unless
/// the team's policy makes it an error; a deliberate re-post is a decision, not an accident.
fn looks_like_earlier_posts(input: &CheckInput, out: &mut Vec<Finding>) {
    let severity = if input.rules.duplicates.error {
        Severity::Error
    } else {
        Severity::Warning
    };
    for earlier in &input.earlier_posts {
        let mut parts = Vec::new();
        if !earlier.slides.is_empty() {
            let numbers: Vec<String> = earlier
                .slides
                .iter()
                .map(|(i, _)| (i + 1).to_string())
                .collect();
            let closest = earlier.slides.iter().map(|(_, d)| *d).min().unwrap_or(0);
            let noun = if numbers.len() == 1 {
                "slide"
            } else {
                "slides"
            };
            parts.push(format!(
                "{noun} {} match (distance {closest})",
                join_and(&numbers)
            ));
        }
        if earlier.same_caption {
            parts.push("the caption is the same".to_owned());
        } else if earlier.caption_similarity >= 50 {
            parts.push(format!("caption {} % similar", earlier.caption_similarity));
        }
        if parts.is_empty() {
            continue;
        }
        out.push(Finding::new(
            "looks-like-earlier-post",
            severity,
            None,
            format!(
                "{}: a post published to {} on {}",
                parts.join("; "),
                earlier.account,
                earlier.published_at.format("%Y-%m-%d")
            ),
            "change the content, or publish it again on purpose",
        ));
    }
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The target account must be connected, and its access token must still work at the scheduled instant
/// unless it can be refreshed before then.
fn account_ready(input: &CheckInput, out: &mut Vec<Finding>) {
    let Some(account) = &input.account else {
        return;
    };
    match account.status {
        crate::AccountStatus::Connected => {}
        crate::AccountStatus::NeedsReconnect => out.push(Finding::new(
            "account-needs-reconnect",
            Severity::Error,
            None,
            format!(
                "{} refused its credentials and must be connected again",
                account.name
            ),
            "reconnect the account, then check again",
        )),
        crate::AccountStatus::Disconnected => out.push(Finding::new(
            "account-disconnected",
            Severity::Error,
            None,
            format!("{} is disconnected", account.name),
            "connect the account or remove this target",
        )),
    }
    let when = input.scheduled_at.unwrap_or(input.now);
    if let Some(expires) = account.access_expires_at
        && !account.refreshable
        && expires <= when
    {
        out.push(Finding::new(
            "account-token-expires",
            Severity::Error,
            None,
            format!(
                "the access token of {} expires at {} and cannot be refreshed",
                account.name,
                expires.format("%Y-%m-%d %H:%M UTC")
            ),
            "reconnect the account before the post is due",
        ));
    }
}

/// The platforms pull each image from its public URL at that moment: it must answer `200` with an image
/// type and no redirect (TikTok refuses redirects outright; Meta fetches once and fails the container).
fn public_urls(input: &CheckInput, out: &mut Vec<Finding>) {
    for (i, s) in input.slides.iter().enumerate() {
        let Some(url) = s.public_url.as_deref() else {
            continue;
        };
        if !url
            .get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
        {
            out.push(
                Finding::new(
                    "media-url-not-https",
                    Severity::Error,
                    None,
                    format!("the image url {url} is not an https url"),
                    "serve media over https (media.public_base_url) from a domain you control",
                )
                .on_slide(i),
            );
        }
        let Some(probe) = s.url_probe.as_ref() else {
            continue;
        };
        let problem = match probe {
            UrlProbe::Failed { reason } => Some((
                "media-url-unreachable",
                format!("the image url {url} did not answer: {reason}"),
                "make the media host reachable from the internet, then check again",
            )),
            UrlProbe::Answered {
                status, location, ..
            } if (300..400).contains(status) => Some((
                "media-url-redirects",
                format!(
                    "the image url {url} redirects ({status}) to {}",
                    location.as_deref().unwrap_or("an unknown place")
                ),
                "serve the image at its final url; the platforms do not follow redirects",
            )),
            UrlProbe::Answered { status, .. } if *status != 200 => Some((
                "media-url-unreachable",
                format!("the image url {url} answered {status} instead of 200"),
                "make sure the media is stored and served at that url",
            )),
            UrlProbe::Answered { content_type, .. }
                if !content_type
                    .as_deref()
                    .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("image/")) =>
            {
                Some((
                    "media-url-wrong-type",
                    format!(
                        "the image url {url} is served as {}",
                        content_type.as_deref().unwrap_or("no content type")
                    ),
                    "serve images with an image/* content type",
                ))
            }
            UrlProbe::Answered { .. } => None,
        };
        if let Some((code, message, hint)) = problem {
            out.push(Finding::new(code, Severity::Error, None, message, hint).on_slide(i));
        }
    }
}

/// A post needs at least one slide: every platform here publishes images.
fn no_slides(input: &CheckInput, out: &mut Vec<Finding>) {
    if input.slides.is_empty() {
        out.push(Finding::new(
            "no-slides",
            Severity::Error,
            None,
            "the post has no slide",
            "add at least one image",
        ));
    }
}

/// An image with a zero side cannot be shown; the ratio rules skip it.
fn empty_images(input: &CheckInput, out: &mut Vec<Finding>) {
    for (i, s) in input.slides.iter().enumerate() {
        if s.width == 0 || s.height == 0 {
            out.push(
                Finding::new(
                    "slide-image-empty",
                    Severity::Error,
                    None,
                    format!("the image is {}×{} pixels", s.width, s.height),
                    "replace the image",
                )
                .on_slide(i),
            );
        }
    }
}

/// A scheduled time must still be ahead: the dispatcher would otherwise publish at once, which nobody
/// approved. An unscheduled target is not checked.
fn schedule_in_past(input: &CheckInput, out: &mut Vec<Finding>) {
    if let Some(at) = input.scheduled_at
        && at <= input.now
    {
        out.push(Finding::new(
            "schedule-in-past",
            Severity::Error,
            None,
            format!(
                "the post is scheduled for {}, which is not after now ({})",
                at.format("%Y-%m-%d %H:%M UTC"),
                input.now.format("%Y-%m-%d %H:%M UTC")
            ),
            "pick a time in the future",
        ));
    }
}

/// A post without words is allowed everywhere except a Facebook multi-photo post (that rule is
/// Facebook's), but is rarely meant.
fn empty_caption(input: &CheckInput, out: &mut Vec<Finding>) {
    if input.caption.trim().is_empty() {
        out.push(Finding::new(
            "caption-empty",
            Severity::Warning,
            None,
            "the caption is empty",
            "write a caption",
        ));
    }
}

/// The same hashtag twice (in the caption, or in the caption and the list) adds nothing. Spelled twice
/// the same way it is noise ([`Severity::Info`]); spelled in different cases it looks careless and one
/// of them is dropped from the list ([`Severity::Warning`]).
fn repeated_tags(input: &CheckInput, out: &mut Vec<Finding>) {
    for spellings in repeated_hashtags(&input.caption, &input.hashtags) {
        let (severity, message) = if spellings.len() > 1 {
            (
                Severity::Warning,
                format!(
                    "the hashtag {} is used more than once, spelled {}",
                    spellings[0],
                    spellings.join(" and ")
                ),
            )
        } else {
            (
                Severity::Info,
                format!("the hashtag {} is used more than once", spellings[0]),
            )
        };
        out.push(Finding::new(
            "hashtag-repeated",
            severity,
            None,
            message,
            format!("keep one {} and remove the others", spellings[0]),
        ));
    }
}

/// The team's banned terms, case-insensitive and whole words only (`cheap` does not match `cheapest`),
/// in the title, the caption as published (list hashtags included) and each slide's alt text.
fn banned_terms(input: &CheckInput, out: &mut Vec<Finding>) {
    let caption = input.published_caption();
    for term in input.rules.banned_terms.iter().map(|t| t.trim()) {
        if term.is_empty() {
            continue;
        }
        let hint = format!("remove or reword `{term}`");
        for (place, text) in [("title", input.title.as_str()), ("caption", &caption)] {
            if contains_whole_word(text, term) {
                out.push(Finding::new(
                    "banned-term",
                    Severity::Error,
                    None,
                    format!("the {place} contains the banned term `{term}`"),
                    hint.clone(),
                ));
            }
        }
        for (i, s) in input.slides.iter().enumerate() {
            if contains_whole_word(&s.alt_text, term) {
                out.push(
                    Finding::new(
                        "banned-term",
                        Severity::Error,
                        None,
                        format!("the alt text contains the banned term `{term}`"),
                        hint.clone(),
                    )
                    .on_slide(i),
                );
            }
        }
    }
}

/// Alt text is what people who cannot see the slide get; Instagram and Facebook send it.
fn missing_alt_text(input: &CheckInput, out: &mut Vec<Finding>) {
    for (i, s) in input.slides.iter().enumerate() {
        if s.alt_text.trim().is_empty() {
            out.push(
                Finding::new(
                    "slide-alt-text-missing",
                    Severity::Info,
                    None,
                    "the slide has no alt text",
                    "describe the image for people who cannot see it",
                )
                .on_slide(i),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::super::testing::{codes, input, slide};
    use super::*;
    use crate::Hashtag;

    #[test]
    fn a_post_without_slides_is_blocked() {
        let mut i = input(0);
        assert!(codes(&check(&i)).contains(&"no-slides"));
        i.slides.push(slide(1080, 1350));
        assert!(!codes(&check(&i)).contains(&"no-slides"));
    }

    #[test]
    fn a_zero_sided_image_is_blocked() {
        let mut i = input(2);
        i.slides[1].height = 0;
        let f = check(&i);
        let empty: Vec<_> = f.iter().filter(|f| f.code == "slide-image-empty").collect();
        assert_eq!(empty.len(), 1);
        assert_eq!(empty[0].slide, Some(2));
    }

    #[test]
    fn schedule_must_be_after_now() {
        let mut i = input(1);
        for (offset, blocked) in [
            (Duration::minutes(-1), true),
            (Duration::zero(), true),
            (Duration::seconds(1), false),
        ] {
            i.scheduled_at = Some(i.now + offset);
            assert_eq!(
                codes(&check(&i)).contains(&"schedule-in-past"),
                blocked,
                "{offset}"
            );
        }
        i.scheduled_at = None;
        assert!(!codes(&check(&i)).contains(&"schedule-in-past"));
    }

    #[test]
    fn empty_caption_is_a_warning() {
        let mut i = input(1);
        for (caption, warned) in [("", true), (" \n ", true), ("hello", false)] {
            i.caption = caption.into();
            let f = check(&i);
            let hit = f.iter().find(|f| f.code == "caption-empty");
            assert_eq!(hit.is_some(), warned, "{caption:?}");
            if let Some(hit) = hit {
                assert_eq!(hit.severity, Severity::Warning);
            }
        }
    }

    #[test]
    fn repeated_hashtags_warn_when_spelled_differently() {
        let mut i = input(1);
        i.caption = "New #Coffee and #latte #latte".into();
        i.hashtags = vec![Hashtag::parse("coffee").unwrap()];
        let f: Vec<_> = check(&i)
            .into_iter()
            .filter(|f| f.code == "hashtag-repeated")
            .collect();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(
            f[0].message.contains("#Coffee and #coffee"),
            "{}",
            f[0].message
        );
        assert_eq!(f[1].severity, Severity::Info);
        assert!(f[1].message.contains("#latte"));

        i.caption = "#one #two".into();
        i.hashtags = vec![Hashtag::parse("three").unwrap()];
        assert!(!codes(&check(&i)).contains(&"hashtag-repeated"));
    }

    #[test]
    fn banned_terms_match_whole_words_anywhere_ignoring_case() {
        let mut i = input(2);
        i.rules.banned_terms = vec!["cheap".into(), " ".into(), "free money".into()];
        let cases: [(&str, &str, &str, Vec<Option<usize>>); 6] = [
            ("Winter", "our best blend", "a cup", vec![]),
            ("Winter", "the CHEAPEST blend", "a cup", vec![]),
            ("Cheap winter", "blend", "a cup", vec![None]),
            ("Winter", "so cheap!", "a cup", vec![None]),
            ("Winter", "get Free\nMoney", "a cup", vec![None]),
            ("Winter", "blend", "a cheap cup", vec![Some(1), Some(2)]),
        ];
        for (title, caption, alt, expected) in cases {
            i.title = title.into();
            i.caption = caption.into();
            for s in &mut i.slides {
                s.alt_text = alt.into();
            }
            let hits: Vec<_> = check(&i)
                .into_iter()
                .filter(|f| f.code == "banned-term")
                .map(|f| {
                    assert_eq!(f.severity, Severity::Error);
                    f.slide
                })
                .collect();
            assert_eq!(hits, expected, "{title} / {caption} / {alt}");
        }
        i.caption = "blend".into();
        for s in &mut i.slides {
            s.alt_text = "a cup".into();
        }
        i.hashtags = vec![Hashtag::parse("cheap").unwrap()];
        assert!(codes(&check(&i)).contains(&"banned-term"));
    }

    #[test]
    fn missing_alt_text_is_info() {
        let mut i = input(2);
        i.slides[0].alt_text = "  ".into();
        let f: Vec<_> = check(&i)
            .into_iter()
            .filter(|f| f.code == "slide-alt-text-missing")
            .collect();
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].slide, f[0].severity), (Some(1), Severity::Info));
    }
}

#[cfg(test)]
mod url_tests {
    use super::*;
    use crate::quality::testing::input as input_with_slides;

    fn probe(p: Option<UrlProbe>) -> Vec<&'static str> {
        let mut input = input_with_slides(1);
        input.slides[0].public_url = Some("https://media.example.com/m/a.jpg".into());
        input.slides[0].url_probe = p;
        check(&input)
            .into_iter()
            .filter(|f| f.code.starts_with("media-url"))
            .map(|f| f.code)
            .collect()
    }

    fn answered(
        status: u16,
        content_type: Option<&str>,
        location: Option<&str>,
    ) -> Option<UrlProbe> {
        Some(UrlProbe::Answered {
            status,
            content_type: content_type.map(Into::into),
            location: location.map(Into::into),
        })
    }

    #[test]
    fn a_public_url_must_answer_200_with_an_image_and_no_redirect() {
        assert!(probe(None).is_empty(), "no request made, nothing to judge");
        let mut plain = input_with_slides(1);
        plain.slides[0].public_url = Some("http://media.example.com/m/a.jpg".into());
        let codes: Vec<_> = check(&plain).into_iter().map(|f| f.code).collect();
        assert!(codes.contains(&"media-url-not-https"), "{codes:?}");
        assert!(probe(answered(200, Some("image/jpeg"), None)).is_empty());
        assert_eq!(
            probe(answered(404, Some("text/html"), None)),
            ["media-url-unreachable"]
        );
        assert_eq!(
            probe(answered(301, None, Some("https://x/y.jpg"))),
            ["media-url-redirects"]
        );
        assert_eq!(
            probe(answered(200, Some("text/html; charset=utf-8"), None)),
            ["media-url-wrong-type"]
        );
        assert_eq!(probe(answered(200, None, None)), ["media-url-wrong-type"]);
        let failed = Some(UrlProbe::Failed {
            reason: "timed out".into(),
        });
        assert_eq!(probe(failed), ["media-url-unreachable"]);
    }
}

#[cfg(test)]
mod account_tests {
    use super::*;
    use crate::AccountStatus;
    use crate::quality::AccountFacts;
    use crate::quality::testing::input as input_with_slides;
    use chrono::Duration;

    fn codes(
        status: AccountStatus,
        expires_in: Option<i64>,
        refreshable: bool,
    ) -> Vec<&'static str> {
        let mut input = input_with_slides(1);
        input.scheduled_at = Some(input.now + Duration::hours(2));
        input.account = Some(AccountFacts {
            name: "@brand".into(),
            status,
            access_expires_at: expires_in.map(|h| input.now + Duration::hours(h)),
            refreshable,
        });
        check(&input)
            .into_iter()
            .filter(|f| f.code.starts_with("account-"))
            .map(|f| f.code)
            .collect()
    }

    #[test]
    fn the_account_must_be_connected_with_a_token_that_lasts_or_refreshes() {
        assert!(codes(AccountStatus::Connected, Some(3), false).is_empty());
        assert!(
            codes(AccountStatus::Connected, Some(1), true).is_empty(),
            "refreshed before use"
        );
        assert_eq!(
            codes(AccountStatus::Connected, Some(2), false),
            ["account-token-expires"]
        );
        assert_eq!(
            codes(AccountStatus::NeedsReconnect, None, true),
            ["account-needs-reconnect"]
        );
        assert_eq!(
            codes(AccountStatus::Disconnected, None, false),
            ["account-disconnected"]
        );
    }
}

#[cfg(test)]
mod duplicate_tests {
    use super::*;
    use crate::quality::EarlierPost;
    use crate::quality::testing::input as input_with_slides;
    use chrono::{TimeZone, Utc};

    #[test]
    fn an_earlier_post_is_named_with_its_slides_and_caption_similarity() {
        let mut input = input_with_slides(3);
        input.earlier_posts.push(EarlierPost {
            account: "@brand".into(),
            published_at: Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap(),
            slides: vec![(0, 3), (1, 5)],
            caption_similarity: 91,
            same_caption: false,
        });
        let found: Vec<_> = check(&input)
            .into_iter()
            .filter(|f| f.code == "looks-like-earlier-post")
            .collect();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Warning);
        assert_eq!(
            found[0].message,
            "slides 1 and 2 match (distance 3); caption 91 % similar: a post published to @brand on 2026-11-02"
        );
        input.rules.duplicates.error = true;
        assert!(
            check(&input)
                .iter()
                .any(|f| f.code == "looks-like-earlier-post" && f.is_error())
        );
        input.earlier_posts[0].slides.clear();
        input.earlier_posts[0].caption_similarity = 20;
        assert!(
            !check(&input)
                .iter()
                .any(|f| f.code == "looks-like-earlier-post"),
            "unrelated"
        );
    }
}
