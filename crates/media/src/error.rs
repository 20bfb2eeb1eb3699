//! The crate's one error type, with a stable kebab-case code per user-facing failure.

/// Everything that can go wrong while ingesting, storing or rendering media.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a JPEG, PNG or WebP image (detected by content, never by file name).
    #[error("unsupported image format: {found}; upload a JPEG, PNG or WebP image")]
    UnsupportedFormat {
        /// What the content looked like.
        found: String,
    },
    /// The file or its pixel count is over the configured limit.
    #[error("image too large: {detail}; upload a smaller image")]
    TooLarge {
        /// Which limit was exceeded and by how much.
        detail: String,
    },
    /// The data is truncated or invalid for its format.
    #[error("image is corrupt or truncated: {detail}; export the image again and retry")]
    Corrupt {
        /// What the decoder reported.
        detail: String,
    },
    /// The header declares far more pixels (or memory) than the file size can honestly hold.
    #[error("image refused as a decompression bomb: {detail}")]
    DecompressionBomb {
        /// The declared size and the byte size that gave it away.
        detail: String,
    },
    /// The image decoder panicked on this input; the panic was contained.
    #[error("image decoder crashed on this file; it is probably corrupt, export it again")]
    DecoderPanicked,
    /// A media key is not `<64 lowercase hex>.(jpg|png|webp)`.
    #[error("invalid media key {key:?}; expected 64 lowercase hex digits and .jpg, .png or .webp")]
    InvalidKey {
        /// The refused key, as given.
        key: String,
    },
    /// No object is stored under this key.
    #[error("media {key} not found")]
    NotFound {
        /// The key that was looked up.
        key: String,
    },
    /// The local media folder could not be read or written.
    #[error("media folder error at {path}: {source}; check the folder exists and is writable")]
    Io {
        /// The file or folder involved.
        path: String,
        /// The operating system error.
        #[source]
        source: std::io::Error,
    },
    /// The S3-compatible object store refused or failed a request.
    #[error("object store error: {0}; check the endpoint, bucket and credentials")]
    ObjectStore(#[from] object_store::Error),
    /// The WordPress site answered with an error (its `code` and `message`, or a non-JSON failure).
    #[error("WordPress refused the request ({}, http {status}): {message}{}", if code.is_empty() { "no code" } else { code.as_str() }, wordpress_hint(*status, code))]
    WordPress {
        /// The HTTP status.
        status: u16,
        /// WordPress's own code, such as `rest_cannot_create` (empty when the body was not JSON).
        code: String,
        /// WordPress's message.
        message: String,
    },
    /// A remote media store could not be reached or did not answer in time.
    #[error("{0}; check the address and that the site is up")]
    Http(String),
    /// The media store configuration is not usable.
    #[error("invalid media store configuration: {0}")]
    Config(String),
    /// A carousel or slide spec is inconsistent (for example an image background with neither media nor path).
    #[error("invalid carousel spec: {0}")]
    InvalidSpec(String),
    /// A carousel spec file could not be parsed as TOML or JSON.
    #[error("could not parse carousel spec: {0}")]
    SpecSyntax(String),
    /// A slide background referenced a media id or file that could not be loaded.
    #[error("background image {reference} could not be loaded: {detail}")]
    BackgroundUnavailable {
        /// The media id or path.
        reference: String,
        /// Why it failed.
        detail: String,
    },
    /// Encoding the output image failed.
    #[error("could not encode the output image: {0}")]
    Encode(String),
    /// A background task was cancelled or crashed.
    #[error("internal media task failed: {0}")]
    Task(String),
}

impl Error {
    /// The stable, kebab-case code for this error, for API bodies, logs and exit-code mapping.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnsupportedFormat { .. } => "unsupported-image-format",
            Error::TooLarge { .. } => "image-too-large",
            Error::Corrupt { .. } | Error::DecoderPanicked => "image-corrupt",
            Error::DecompressionBomb { .. } => "decompression-bomb",
            Error::InvalidKey { .. } => "invalid-media-key",
            Error::NotFound { .. } => "media-not-found",
            Error::Io { .. } | Error::ObjectStore(_) | Error::Http(_) => "media-store-unavailable",
            Error::WordPress { status, code, .. } => wordpress_code(*status, code),
            Error::Config(_) => "invalid-media-config",
            Error::InvalidSpec(_) | Error::SpecSyntax(_) => "invalid-carousel-spec",
            Error::BackgroundUnavailable { .. } => "background-unavailable",
            Error::Encode(_) => "image-encode-failed",
            Error::Task(_) => "internal-error",
        }
    }

    /// True when the input itself was refused (a 4xx-style error), false for infrastructure failures.
    #[must_use]
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Error::UnsupportedFormat { .. }
                | Error::TooLarge { .. }
                | Error::Corrupt { .. }
                | Error::DecompressionBomb { .. }
                | Error::DecoderPanicked
                | Error::InvalidKey { .. }
                | Error::InvalidSpec(_)
                | Error::SpecSyntax(_)
        )
    }

    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

/// Our code for a WordPress refusal: its own code decides, the HTTP status only when it has none we know.
fn wordpress_code(status: u16, code: &str) -> &'static str {
    match code {
        "incorrect_password"
        | "invalid_username"
        | "invalid_email"
        | "rest_not_logged_in"
        | "rest_forbidden_context" => "media-store-unauthorized",
        "rest_cannot_create" | "rest_cannot_delete" | "rest_cannot_edit" | "rest_forbidden"
        | "rest_cannot_read" => {
            if status == 401 {
                "media-store-unauthorized"
            } else {
                "media-store-forbidden"
            }
        }
        "rest_upload_file_too_big"
        | "rest_upload_limited_space"
        | "rest_upload_user_quota_exceeded" => "media-store-full",
        "rest_post_invalid_id" => "media-not-found",
        _ => match status {
            401 => "media-store-unauthorized",
            403 => "media-store-forbidden",
            413 => "media-store-full",
            400..=499 => "media-store-rejected",
            _ => "media-store-unavailable",
        },
    }
}

/// What to do about a WordPress refusal, as a sentence appended to its message.
fn wordpress_hint(status: u16, code: &str) -> &'static str {
    match wordpress_code(status, code) {
        "media-store-unauthorized" => {
            "; check [media.wordpress] username and application_password, and that the web server passes the Authorization header on"
        }
        "media-store-forbidden" => {
            "; the WordPress user needs the upload_files capability (the Author role or higher)"
        }
        "media-store-full" => "; the site's upload limit or space is exhausted",
        "media-store-rejected" => "; the site refused this file",
        _ => "",
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
