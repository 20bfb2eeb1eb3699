//! Content fingerprints for catching accidental re-posts, and a near-duplicate index over years of history.
//!
//! - [`caption`]: normalized captions with an exact BLAKE3 hash and a 64-bit SimHash.
//! - [`image_hash`]: 64-bit perceptual hashes (dHash) of decoded images.
//! - [`index`]: an exact Hamming-radius index (multi-index hashing with a scan fallback) over
//!   millions of 64-bit hashes, each with a `u32` reference id.
//!
//! Everything persisted is a plain value (`u64`, `[u8; 32]`, `u32`), so storage and policy live
//! elsewhere.
//!
#![warn(missing_docs)]

pub mod caption;
mod error;
pub mod image_hash;
mod index;

pub use error::{Error, Result};
