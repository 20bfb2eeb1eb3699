//! Hashtags: parsed from captions or given as a list, normalized to one canonical form.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Longest hashtag accepted, in characters after the `#`. No platform links longer ones.
const MAX_HASHTAG_CHARS: usize = 100;

/// One hashtag: a single leading `#`, then letters, digits or `_` from any script.
///
/// The case the user typed is kept for display; equality ignores case, as the platforms do.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Hashtag(String);

fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Hashtag {
    /// Parses `#tag`, `tag` or `##tag` into `#tag`; refuses spaces, punctuation and empty tags.
    pub fn parse(s: &str) -> Result<Self> {
        let body = s.trim().trim_start_matches('#');
        if body.is_empty() {
            return Err(Error::input(
                "hashtag",
                format!("`{s}` has no text after the #"),
            ));
        }
        if let Some(bad) = body.chars().find(|c| !is_tag_char(*c)) {
            return Err(Error::input(
                "hashtag",
                format!("`{s}` contains `{bad}`; use letters, digits and _ only"),
            ));
        }
        if body.chars().count() > MAX_HASHTAG_CHARS {
            return Err(Error::input(
                "hashtag",
                format!("`{s}` is longer than {MAX_HASHTAG_CHARS} characters"),
            ));
        }
        Ok(Hashtag(format!("#{body}")))
    }

    /// The tag with its `#`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive key used for uniqueness.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl PartialEq for Hashtag {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Hashtag {}

impl TryFrom<String> for Hashtag {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Hashtag::parse(&s)
    }
}

impl From<Hashtag> for String {
    fn from(h: Hashtag) -> String {
        h.0
    }
}

impl fmt::Display for Hashtag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Every hashtag written in `text`, in order, repeats included.
pub(crate) fn occurrences(text: &str) -> Vec<Hashtag> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts_tag =
            chars[i] == '#' && (i == 0 || !is_tag_char(chars[i - 1]) && chars[i - 1] != '#');
        if !starts_tag {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < chars.len() && chars[j] == '#' {
            j += 1;
        }
        let body_start = j;
        while j < chars.len() && is_tag_char(chars[j]) {
            j += 1;
        }
        if j > body_start {
            let body: String = chars[body_start..j].iter().collect();
            if let Ok(tag) = Hashtag::parse(&body) {
                out.push(tag);
            }
        }
        i = j.max(i + 1);
    }
    out
}

/// An ordered list of hashtags without case-insensitive duplicates (the first spelling wins).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hashtags(Vec<Hashtag>);

impl Hashtags {
    /// Every hashtag written in `text`, in order of appearance. A `#` inside a word (`C#`, `a#b`) or
    /// followed by no tag character is not a hashtag.
    pub fn in_text(text: &str) -> Hashtags {
        let mut tags = Hashtags::default();
        for tag in occurrences(text) {
            tags.push(tag);
        }
        tags
    }

    /// Parses a list of hashtags given one by one.
    pub fn parse_list<S: AsRef<str>>(items: &[S]) -> Result<Hashtags> {
        let mut tags = Hashtags::default();
        for item in items {
            tags.push(Hashtag::parse(item.as_ref())?);
        }
        Ok(tags)
    }

    /// Adds a tag unless an equal one (ignoring case) is already there. Returns whether it was added.
    pub fn push(&mut self, tag: Hashtag) -> bool {
        if self.0.contains(&tag) {
            false
        } else {
            self.0.push(tag);
            true
        }
    }

    /// Appends every tag of `other` not already present, keeping order.
    pub fn extend(&mut self, other: &Hashtags) {
        for tag in &other.0 {
            self.push(tag.clone());
        }
    }

    /// The tags in order.
    pub fn iter(&self) -> impl Iterator<Item = &Hashtag> {
        self.0.iter()
    }

    /// How many tags.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is no tag.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(t: &Hashtags) -> Vec<&str> {
        t.iter().map(Hashtag::as_str).collect()
    }

    #[test]
    fn parse_normalizes_to_one_leading_hash() {
        assert_eq!(Hashtag::parse("coffee").unwrap().as_str(), "#coffee");
        assert_eq!(Hashtag::parse("##coffee").unwrap().as_str(), "#coffee");
        assert_eq!(
            Hashtag::parse(" #café_2026 ").unwrap().as_str(),
            "#café_2026"
        );
        assert_eq!(Hashtag::parse("#東京").unwrap().as_str(), "#東京");
        assert_eq!(Hashtag::parse("#кофе").unwrap().as_str(), "#кофе");
    }

    #[test]
    fn parse_refuses_what_platforms_would_not_link() {
        for bad in ["#", "", "# coffee", "#coffee-time", "#a.b", "#emoji☕"] {
            let err = Hashtag::parse(bad).unwrap_err();
            assert_eq!(err.code(), "invalid-input", "{bad}");
        }
        assert!(Hashtag::parse(&"a".repeat(101)).is_err());
        assert!(Hashtag::parse(&"a".repeat(100)).is_ok());
    }

    #[test]
    fn tags_in_text_keep_order_and_ignore_case_duplicates() {
        let t = Hashtags::in_text("New #Coffee!\n#coffee #Latte, C# and a#b ##Morning #");
        assert_eq!(strs(&t), ["#Coffee", "#Latte", "#Morning"]);
    }

    #[test]
    fn extend_keeps_first_spelling() {
        let mut t = Hashtags::in_text("#One #two");
        t.extend(&Hashtags::parse_list(&["TWO", "three"]).unwrap());
        assert_eq!(strs(&t), ["#One", "#two", "#three"]);
    }
}
