//! Media for NatronFX Publisher: safe ingest of untrusted images, content-addressed media stores, and the
//! carousel renderer that turns a declarative slide spec into platform-ready JPEGs.
//!
//! - [`ingest`](mod@ingest): detect JPEG/PNG/WebP by content, refuse oversized files and decompression bombs before
//!   allocating, decode under `catch_unwind` on the blocking pool, apply EXIF orientation, strip all
//!   metadata by re-encoding as baseline JPEG.
//! - [`store`]: the [`MediaStore`] trait over [`MediaKey`]s (`<sha256>.jpg`), with [`LocalFolderStore`]
//!   and [`S3Store`] backends, and a safe path lookup for serving the local folder; [`WordPressStore`] keeps
//!   media in a WordPress site's media library.
//! - [`render`]: [`CarouselSpec`] (TOML or JSON) → one JPEG per slide, with embedded Noto Sans.
//! - [`platform`]: Instagram and TikTok image rules and variants.
//! - [`fit`](mod@fit): an image of any shape (a generated 1024×1536) fitted to a slide canvas, cover-cropped
//!   around a focal point or padded.
//!
//! Output JPEGs are baseline and sRGB. The `fast-jpeg` feature swaps the `image` crate's JPEG encoder for
//! `jpeg-encoder` (several times faster; licence `(MIT OR Apache-2.0) AND IJG`, see `Cargo.toml`).
//!
//! Image work is synchronous and pure (`*_blocking`, [`render_carousel`]); the async wrappers run it on
//! Tokio's blocking pool.
//!
//! # Example
//!
//! ```
//! use natronfx_media::{CarouselSpec, NoMedia, RenderOptions, render_carousel, platform};
//!
//! let spec = CarouselSpec::from_toml_str(r##"
//!     canvas = "square"
//!     [defaults]
//!     show_counter = true
//!     [[slides]]
//!     background = { type = "linear-gradient", angle = 160, stops = [
//!         { color = "#1d2b64", at = 0.0 }, { color = "#f8cdda", at = 1.0 } ] }
//!     text = [ { role = "title", text = "Hello, carousel" } ]
//! "##)?;
//! let slides = render_carousel(&spec, &NoMedia, &RenderOptions::default())?;
//! assert_eq!((slides[0].width, slides[0].height), (1080, 1080));
//! assert!(platform::instagram_problems(&slides[0]).is_empty());
//! assert!(slides[0].key().as_str().ends_with(".jpg"));
//! # Ok::<(), natronfx_media::Error>(())
//! ```
#![warn(missing_docs)]

mod error;
pub mod fit;
pub mod ingest;
mod key;
pub mod platform;
pub mod preview;
pub mod raster;
pub mod render;
pub mod store;
mod wordpress;

pub use error::{Error, Result};
pub use fit::{Fit, fit_to_canvas};
pub use ingest::{ImageFacts, IngestLimits, IngestedImage, ingest, ingest_blocking, probe};
pub use key::{EncodedImage, ImageFormat, MediaKey, sha256_hex};
pub use render::{
    CarouselSpec, MediaResolver, NoMedia, RenderOptions, Renderer, fetch_media, render_carousel,
    render_carousel_async,
};
pub use store::{
    LocalFolderStore, MediaStore, MediaStoreConfig, PutOutcome, S3Config, S3Store, ServedFile,
    store_image,
};
pub use wordpress::{WordPressConfig, WordPressStore};
