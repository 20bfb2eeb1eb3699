//! What a quality rule reports: a [`Finding`] with its [`Severity`], and a mechanical [`Fix`] when one exists.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::SlideFormat;
use crate::Platform;

/// How much a finding matters.
///
/// The order is the order of importance: errors sort first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The platform would refuse the post, or the team's rules forbid it: publishing is blocked.
    Error,
    /// The post would go out, but probably not the way the team wants.
    Warning,
    /// Worth knowing; nothing to do unless the team cares.
    Info,
}

impl Severity {
    /// The lowercase name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change that a machine can make to clear a finding, so a caller may offer it as one click.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Fix {
    /// Render a variant of the slide for this platform: scale it (cover-cropping, centred, when the ratio
    /// differs from the source) to exactly `width` × `height`, encode it as `format`, and keep the file
    /// within `max_bytes`.
    RenderVariant {
        /// Format of the variant.
        format: SlideFormat,
        /// Width of the variant, in pixels.
        width: u32,
        /// Height of the variant, in pixels.
        height: u32,
        /// Largest acceptable file, in bytes.
        max_bytes: u64,
    },
}

/// One thing a quality rule noticed about a post bound for a platform.
///
/// Serialized as `{"code", "severity", "platform", "slide", "message", "hint", "fix"}` for the CLI's
/// `--json` output and the API; `platform`, `slide` and `fix` are omitted when absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable kebab-case identifier of the rule, e.g. `instagram-caption-too-long`. Never changes once
    /// released, so scripts and translations can key on it.
    pub code: &'static str,
    /// How much it matters; any [`Severity::Error`] blocks publishing (see [`blocks`](super::blocks)).
    pub severity: Severity,
    /// The platform whose rule this is, or `None` for a rule that holds everywhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// The slide concerned, numbered from 1 as people count, or `None` for the post as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slide: Option<usize>,
    /// What is wrong, with the numbers: lowercase, no trailing period.
    pub message: String,
    /// What to do about it: lowercase, no trailing period.
    pub hint: String,
    /// A mechanical change that clears it, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

impl Finding {
    /// A finding about the post as a whole.
    pub(crate) fn new(
        code: &'static str,
        severity: Severity,
        platform: Option<Platform>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Finding {
        Finding {
            code,
            severity,
            platform,
            slide: None,
            message: message.into(),
            hint: hint.into(),
            fix: None,
        }
    }

    /// The same finding about slide `index` (0-based; stored 1-based).
    pub(crate) fn on_slide(mut self, index: usize) -> Finding {
        self.slide = Some(index + 1);
        self
    }

    /// The same finding with a mechanical fix.
    pub(crate) fn with_fix(mut self, fix: Fix) -> Finding {
        self.fix = Some(fix);
        self
    }

    /// True when it blocks publishing.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The order findings are shown in: errors first, then warnings, then infos; within a severity the
    /// rules that hold everywhere, then by platform, then the post before its slides, slides in order, and
    /// finally by code and message so that the order never depends on how the rules ran.
    pub fn display_order(&self, other: &Finding) -> Ordering {
        (
            self.severity,
            self.platform,
            self.slide,
            self.code,
            &self.message,
        )
            .cmp(&(
                other.severity,
                other.platform,
                other.slide,
                other.code,
                &other.message,
            ))
    }
}

impl std::fmt::Display for Finding {
    /// `error instagram slide 3: message (instagram-image-too-large)`: one line for a terminal.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.severity)?;
        if let Some(p) = self.platform {
            write!(f, " {p}")?;
        }
        if let Some(s) = self.slide {
            write!(f, " slide {s}")?;
        }
        write!(f, ": {} ({})", self.message, self.code)
    }
}
