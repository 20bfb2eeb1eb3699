//! The crate's one error type and its stable codes.

/// Everything that can go wrong while fingerprinting or indexing content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The image has no pixels, so no perceptual hash can describe it.
    #[error("image has no pixels ({width}x{height}); upload a non-empty image")]
    EmptyImage {
        /// Width of the rejected image.
        width: u32,
        /// Height of the rejected image.
        height: u32,
    },
    /// The index already holds as many hashes as its 32-bit positions can address.
    #[error("near-duplicate index is full ({len} hashes); shard the history by account")]
    IndexFull {
        /// Number of hashes the index held when the insert was refused.
        len: usize,
    },
}

impl Error {
    /// A stable kebab-case code for logs, API bodies and exit-code mapping.
    pub fn code(&self) -> &'static str {
        match self {
            Error::EmptyImage { .. } => "image-empty",
            Error::IndexFull { .. } => "dedupe-index-full",
        }
    }
}

/// Result with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
