//! Counting in text the way the platforms count: hashtags, @mentions, links, UTF-16 units, whole words.

use crate::{Hashtag, Hashtags};

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The text a platform receives as the caption: the caption as written, then, on a new paragraph, each
/// list hashtag that the caption does not already contain (ignoring case), separated by spaces.
///
/// Length, hashtag and banned-term rules measure this text, so what is checked is what is sent.
///
/// ```
/// use natronfx_workflow::{Hashtag, quality::published_caption};
///
/// let list = [Hashtag::parse("coffee").unwrap(), Hashtag::parse("Winter").unwrap()];
/// assert_eq!(published_caption("New blend #Coffee", &list), "New blend #Coffee\n\n#Winter");
/// assert_eq!(published_caption("", &list), "#coffee #Winter");
/// ```
pub fn published_caption(caption: &str, hashtags: &[Hashtag]) -> String {
    let mut present = Hashtags::in_text(caption);
    let mut extra: Vec<&str> = Vec::new();
    for tag in hashtags {
        if present.push(tag.clone()) {
            extra.push(tag.as_str());
        }
    }
    if extra.is_empty() {
        return caption.to_owned();
    }
    let body = caption.trim_end();
    if body.trim().is_empty() {
        extra.join(" ")
    } else {
        format!("{body}\n\n{}", extra.join(" "))
    }
}

/// Every hashtag written in `text`, in order, repeats included, spelled as written (with its `#`).
///
/// Uses the same rules as [`Hashtags::in_text`]: a `#` inside a word (`C#`, `a#b`) starts no tag.
pub(crate) fn hashtag_occurrences(text: &str) -> Vec<String> {
    crate::hashtag::occurrences(text)
        .into_iter()
        .map(String::from)
        .collect()
}

fn is_username_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// How many @mentions `text` holds, repeats included: an `@` that does not follow a letter, digit, `_`,
/// `.` or `@` (so `ana@example.com` is no mention), followed by an Instagram username character.
pub(crate) fn mention_count(text: &str) -> usize {
    let chars: Vec<char> = text.chars().collect();
    (0..chars.len())
        .filter(|&i| {
            chars[i] == '@'
                && (i == 0 || !(is_username_char(chars[i - 1]) || chars[i - 1] == '@'))
                && chars.get(i + 1).is_some_and(|c| is_username_char(*c))
        })
        .count()
}

/// The web links written in `text`: words that start with `http://`, `https://` or `www.` (any case),
/// without the punctuation around them.
pub(crate) fn links(text: &str) -> Vec<&str> {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c: char| matches!(c, '(' | ')' | '<' | '>' | '"' | '\'' | ',')))
        .map(|w| w.trim_end_matches(['.', '!', '?', ';', ':']))
        .filter(|w| {
            let lower = w.to_ascii_lowercase();
            ["http://", "https://", "www."]
                .iter()
                .any(|p| lower.strip_prefix(p).is_some_and(|rest| rest.len() > 1))
        })
        .collect()
}

/// Length in UTF-16 code units, the way TikTok (and JavaScript's `.length`) counts: an emoji outside
/// the Basic Multilingual Plane counts 2.
pub(crate) fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Length in Unicode scalar values, the way Meta counts caption characters.
pub(crate) fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// True when `term` occurs in `text` as a whole word or phrase, ignoring case and the amount of white
/// space: the characters around the match are not letters, digits or `_` (where the term itself starts
/// or ends with one).
pub(crate) fn contains_whole_word(text: &str, term: &str) -> bool {
    // Runs of white space count as one space on both sides, so a phrase matches across a line break.
    let squash = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    let term = squash(term);
    if term.is_empty() {
        return false;
    }
    let text = squash(text);
    let starts_word = term.chars().next().is_some_and(is_word_char);
    let ends_word = term.chars().next_back().is_some_and(is_word_char);
    text.match_indices(term.as_str()).any(|(at, m)| {
        let before_ok = !starts_word || !text[..at].chars().next_back().is_some_and(is_word_char);
        let after_ok = !ends_word
            || !text[at + m.len()..]
                .chars()
                .next()
                .is_some_and(is_word_char);
        before_ok && after_ok
    })
}

/// Hashtags used more than once across the caption and the list, ignoring case: each with every
/// spelling seen, in order of first appearance.
pub(crate) fn repeated_hashtags(caption: &str, list: &[Hashtag]) -> Vec<Vec<String>> {
    let mut order: Vec<String> = Vec::new();
    let mut spellings: Vec<Vec<String>> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    let all = hashtag_occurrences(caption)
        .into_iter()
        .chain(list.iter().map(|t| t.as_str().to_owned()));
    for tag in all {
        let key = tag.to_lowercase();
        match order.iter().position(|k| *k == key) {
            Some(i) => {
                counts[i] += 1;
                if !spellings[i].contains(&tag) {
                    spellings[i].push(tag);
                }
            }
            None => {
                order.push(key);
                spellings.push(vec![tag]);
                counts.push(1);
            }
        }
    }
    spellings
        .into_iter()
        .zip(counts)
        .filter(|(_, n)| *n > 1)
        .map(|(s, _)| s)
        .collect()
}

/// `1234567` as `1,234,567`, for messages people read.
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `usize` as `u64` for [`grouped`]; saturates on the impossible overflow.
pub(crate) fn grouped_usize(n: usize) -> String {
    grouped(u64::try_from(n).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<Hashtag> {
        list.iter().map(|t| Hashtag::parse(t).unwrap()).collect()
    }

    #[test]
    fn published_caption_appends_only_missing_list_tags() {
        let list = tags(&["coffee", "winter"]);
        assert_eq!(
            published_caption("#COFFEE #Winter", &list),
            "#COFFEE #Winter"
        );
        assert_eq!(
            published_caption("Hello \n", &list),
            "Hello\n\n#coffee #winter"
        );
        assert_eq!(published_caption("  ", &[]), "  ");
    }

    #[test]
    fn hashtag_occurrences_keep_repeats_and_skip_words_with_hash_inside() {
        assert_eq!(
            hashtag_occurrences("#A #a C# x#y ##b #"),
            ["#A", "#a", "#b"]
        );
    }

    #[test]
    fn mentions_skip_emails() {
        assert_eq!(
            mention_count("@ana and @rui.f, mail ana@example.com @ @@x"),
            2
        );
    }

    #[test]
    fn links_are_words_with_a_scheme_or_www() {
        assert_eq!(
            links("see https://natron.example/shop. or (www.example.com) not example.com http://"),
            ["https://natron.example/shop", "www.example.com"]
        );
    }

    #[test]
    fn whole_word_matching_ignores_case_and_word_parts() {
        assert!(contains_whole_word("Buy CHEAP stuff", "cheap"));
        assert!(contains_whole_word("#cheap", "cheap"));
        assert!(contains_whole_word("free\n money?", "Free Money"));
        assert!(!contains_whole_word("cheapest", "cheap"));
        assert!(!contains_whole_word("cheap_deal", "cheap"));
        assert!(!contains_whole_word("anything", "  "));
        assert!(contains_whole_word("so $$$ much", "$$$"));
    }

    #[test]
    fn utf16_counts_astral_emoji_twice() {
        assert_eq!(utf16_len("☕"), 1);
        assert_eq!(utf16_len("😀"), 2);
        assert_eq!(char_len("😀"), 1);
    }

    #[test]
    fn grouping_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(2_201), "2,201");
        assert_eq!(grouped(8_000_001), "8,000,001");
    }
}
