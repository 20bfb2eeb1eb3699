//! What a platform will show of a post, as data: the frame its slides are shown in, the caption as the app
//! cuts it, and which words it links. The media crate draws it; the dashboard will show it.

use serde::Serialize;

use crate::Platform;

/// How much of a caption the app shows before its "more" link. The platforms do not document these
/// numbers and they vary by device; they are the commonly observed cut-offs (Instagram's feed: about 125
/// characters), so a preview errs on showing less.
pub fn visible_caption_chars(platform: Platform) -> usize {
    match platform {
        Platform::Instagram => 125,
        Platform::Tiktok => 100,
        Platform::Facebook => 480,
    }
}

/// How the app frames the carousel.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Frame {
    /// Every slide is cropped to one width:height ratio (Instagram: the first slide's, clamped to
    /// 4:5..1.91:1).
    Crop {
        /// Width over height.
        ratio: f64,
    },
    /// Every slide is fitted, letterboxed, into a fixed screen ratio (TikTok's 9:16 photo mode).
    Fit {
        /// Width over height.
        ratio: f64,
    },
    /// Slides are shown as they are.
    Natural,
}

/// What a run of caption text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    /// Plain words.
    Text,
    /// A hashtag, linked by the app.
    Hashtag,
    /// An @mention, linked by the app.
    Mention,
}

/// A run of the visible caption, by character offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    /// First character.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// What it is.
    pub kind: SpanKind,
}

/// Everything a preview shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preview {
    /// The platform.
    pub platform: Platform,
    /// The account's display name.
    pub account: String,
    /// TikTok shows the post's title above the description; the others show none.
    pub title: Option<String>,
    /// How slides are framed.
    pub frame: Frame,
    /// The caption as shown before "more".
    pub caption: String,
    /// True when the app cuts the caption and shows "more".
    pub truncated: bool,
    /// The visible caption split into text, hashtags and mentions.
    pub spans: Vec<Span>,
}

fn frame(platform: Platform, first_slide: Option<(u32, u32)>) -> Frame {
    match platform {
        Platform::Instagram => {
            let ratio = first_slide
                .filter(|(w, h)| *w > 0 && *h > 0)
                .map_or(1.0, |(w, h)| f64::from(w) / f64::from(h))
                .clamp(0.8, 1.91);
            Frame::Crop { ratio }
        }
        Platform::Tiktok => Frame::Fit { ratio: 9.0 / 16.0 },
        Platform::Facebook => Frame::Natural,
    }
}

fn spans(text: &str) -> Vec<Span> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<Span> = Vec::new();
    let mut push = |start: usize, end: usize, kind: SpanKind| {
        if start >= end {
            return;
        }
        match out.last_mut() {
            Some(last) if last.kind == kind && last.end == start => last.end = end,
            _ => out.push(Span { start, end, kind }),
        }
    };
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts_link = (c == '#' || c == '@') && (i == 0 || !is_word(chars[i - 1]));
        if starts_link {
            let mut j = i + 1;
            while j < chars.len()
                && (chars[j].is_alphanumeric() || chars[j] == '_' || (c == '@' && chars[j] == '.'))
            {
                j += 1;
            }
            // A trailing dot ends a sentence, not a handle.
            while j > i + 1 && chars[j - 1] == '.' {
                j -= 1;
            }
            if j > i + 1 {
                push(
                    i,
                    j,
                    if c == '#' {
                        SpanKind::Hashtag
                    } else {
                        SpanKind::Mention
                    },
                );
                i = j;
                continue;
            }
        }
        push(i, i + 1, SpanKind::Text);
        i += 1;
    }
    out
}

/// The preview of `caption` (the text the platform receives) by `account`, with the first slide's size.
pub fn preview(
    platform: Platform,
    account: &str,
    title: &str,
    caption: &str,
    first_slide: Option<(u32, u32)>,
) -> Preview {
    let limit = visible_caption_chars(platform);
    let total = caption.chars().count();
    let truncated = total > limit;
    let shown: String = if truncated {
        // Cut at the last space before the limit so a word is not split, as the apps do.
        let head: String = caption.chars().take(limit).collect();
        match head.rfind(char::is_whitespace) {
            Some(cut) if cut > limit / 2 => head[..cut].trim_end().to_owned(),
            _ => head,
        }
    } else {
        caption.to_owned()
    };
    Preview {
        platform,
        account: account.to_owned(),
        title: (platform == Platform::Tiktok && !title.is_empty()).then(|| title.to_owned()),
        frame: frame(platform, first_slide),
        spans: spans(&shown),
        caption: shown,
        truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instagram_cuts_the_feed_caption_near_125_characters_at_a_word() {
        let long = "word ".repeat(40);
        let p = preview(
            Platform::Instagram,
            "@brand",
            "t",
            &long,
            Some((1080, 1350)),
        );
        assert!(p.truncated);
        assert!(p.caption.chars().count() <= 125);
        assert!(p.caption.ends_with("word"));
        let short = preview(Platform::Instagram, "@brand", "t", "short", None);
        assert!(!short.truncated);
        assert_eq!(short.caption, "short");
        let exactly = "a".repeat(125);
        assert!(!preview(Platform::Instagram, "@b", "t", &exactly, None).truncated);
        assert!(preview(Platform::Instagram, "@b", "t", &format!("{exactly}b"), None).truncated);
    }

    #[test]
    fn hashtags_and_mentions_are_marked() {
        let p = preview(
            Platform::Facebook,
            "Page",
            "t",
            "Hi @ana.b. See #Coffee_2026, not a#b",
            None,
        );
        let marked: Vec<(String, SpanKind)> = p
            .spans
            .iter()
            .filter(|s| s.kind != SpanKind::Text)
            .map(|s| {
                (
                    p.caption
                        .chars()
                        .skip(s.start)
                        .take(s.end - s.start)
                        .collect(),
                    s.kind,
                )
            })
            .collect();
        assert_eq!(
            marked,
            [
                ("@ana.b".to_owned(), SpanKind::Mention),
                ("#Coffee_2026".to_owned(), SpanKind::Hashtag)
            ]
        );
        let covered: usize = p.spans.iter().map(|s| s.end - s.start).sum();
        assert_eq!(
            covered,
            p.caption.chars().count(),
            "spans cover the caption exactly"
        );
    }

    #[test]
    fn frames_follow_each_app() {
        let ig = preview(Platform::Instagram, "a", "t", "", Some((1080, 1080)));
        assert_eq!(ig.frame, Frame::Crop { ratio: 1.0 });
        let tall = preview(Platform::Instagram, "a", "t", "", Some((1080, 1920)));
        assert_eq!(tall.frame, Frame::Crop { ratio: 0.8 }, "clamped to 4:5");
        let tt = preview(Platform::Tiktok, "a", "Title", "", None);
        assert_eq!(tt.title.as_deref(), Some("Title"));
        assert!(matches!(tt.frame, Frame::Fit { .. }));
    }
}
