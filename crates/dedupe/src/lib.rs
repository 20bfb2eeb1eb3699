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
//! ```
//! use natronfx_dedupe::caption::CaptionFingerprint;
//! use natronfx_dedupe::index::HammingIndex;
//!
//! let old = CaptionFingerprint::of("Autumn roast is back! https://shop.example.com/?utm_source=ig #coffee");
//! let new = CaptionFingerprint::of("autumn roast is BACK  https://www.shop.example.com #Coffee");
//! assert!(old.is_exact_match(&new));
//!
//! // Slide hashes of the history, each with a reference id; then a new slide to check.
//! let mut index = HammingIndex::build([(0xF0F0_0000_0000_1111, 7), (u64::MAX, 8)])?;
//! index.insert(0x0000_0000_FFFF_0000, 9)?;
//! let hits = index.search(0xF0F0_0000_0000_1113, 3);
//! assert_eq!(hits.len(), 1);
//! assert_eq!((hits[0].id, hits[0].distance), (7, 1));
//! # Ok::<(), natronfx_dedupe::Error>(())
//! ```
//!
#![warn(missing_docs)]

pub mod caption;
mod error;
pub mod image_hash;
pub mod index;

pub use error::{Error, Result};
