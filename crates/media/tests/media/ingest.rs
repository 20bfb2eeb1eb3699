//! Ingest: every refusal code from a real hostile file, orientation, metadata stripping, formats.

use natronfx_media::{ImageFormat, IngestLimits, ingest, ingest_blocking, probe};

use crate::support::*;

#[tokio::test]
async fn a_truncated_jpeg_is_refused_as_corrupt() {
    let err = ingest(
        read_fixture("images/hostile/truncated.jpg"),
        IngestLimits::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "image-corrupt", "{err}");
}

#[tokio::test]
async fn a_small_png_declaring_50000_squared_pixels_is_a_decompression_bomb() {
    let bytes = read_fixture("images/hostile/bomb-50000x50000.png");
    assert!(bytes.len() < 200);
    let facts = probe(&bytes).unwrap();
    assert_eq!((facts.width, facts.height), (50_000, 50_000));
    let err = ingest(bytes, IngestLimits::default()).await.unwrap_err();
    assert_eq!(err.code(), "decompression-bomb", "{err}");
}

#[tokio::test]
async fn an_empty_upload_is_refused_as_corrupt() {
    let err = ingest(
        read_fixture("images/hostile/empty.jpg"),
        IngestLimits::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "image-corrupt", "{err}");
}

#[tokio::test]
async fn a_text_file_named_jpg_is_an_unsupported_format() {
    let err = ingest(
        read_fixture("images/hostile/not-an-image.jpg"),
        IngestLimits::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "unsupported-image-format", "{err}");
    assert!(err.to_string().contains("text"), "{err}");
}

#[test]
fn a_gif_is_an_unsupported_format() {
    let err = ingest_blocking(
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        &IngestLimits::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "unsupported-image-format");
}

#[test]
fn files_over_the_byte_or_pixel_limit_are_too_large() {
    let photo = read_fixture("photos/rocket.jpg");
    let small_bytes = IngestLimits {
        max_bytes: 10_000,
        ..IngestLimits::default()
    };
    assert_eq!(
        ingest_blocking(&photo, &small_bytes).unwrap_err().code(),
        "image-too-large"
    );
    // 640×427 is 273,280 honest pixels in 112 KB: over a 100,000-pixel limit but no bomb.
    let few_pixels = IngestLimits {
        max_pixels: 100_000,
        ..IngestLimits::default()
    };
    assert_eq!(
        ingest_blocking(&photo, &few_pixels).unwrap_err().code(),
        "image-too-large"
    );
}

#[test]
fn a_cut_png_is_refused_as_corrupt() {
    let png = read_fixture("photos/coffee.png");
    let err = ingest_blocking(&png[..png.len() / 2], &IngestLimits::default()).unwrap_err();
    assert_eq!(err.code(), "image-corrupt", "{err}");
}

#[tokio::test]
async fn exif_orientation_is_applied_and_all_metadata_including_gps_is_stripped() {
    let jpeg = encode_jpeg(&red_left_blue_right(64, 32));
    let with_exif = splice_after_soi(&jpeg, &exif_app1(6));
    assert!(contains(&with_exif, b"Exif\0\0"));

    let out = ingest(with_exif, IngestLimits::default()).await.unwrap();

    // Orientation 6 means "rotate 90° clockwise to display": 64×32 becomes 32×64 and the left (red) half
    // ends up on top.
    assert_eq!((out.width, out.height), (32, 64));
    let pixels = decode(&out.bytes);
    assert_eq!(pixels.dimensions(), (32, 64));
    let top = pixels.get_pixel(16, 8);
    let bottom = pixels.get_pixel(16, 56);
    assert!(
        top[0] > 150 && top[2] < 100,
        "top should be red, is {top:?}"
    );
    assert!(
        bottom[2] > 150 && bottom[0] < 100,
        "bottom should be blue, is {bottom:?}"
    );

    assert!(!contains(&out.bytes, b"Exif"), "EXIF survived ingest");
    assert!(
        !contains(&out.bytes, &[0xFF, 0xE1]),
        "an APP1 segment survived ingest"
    );
    assert!(is_baseline_jpeg(&out.bytes));
}

#[test]
fn png_with_transparency_becomes_a_jpeg_flattened_on_white() {
    let rgba = image::RgbaImage::from_fn(40, 20, |x, _| {
        if x < 20 {
            image::Rgba([0, 0, 0, 0])
        } else {
            image::Rgba([0, 128, 0, 255])
        }
    });
    let mut png = Vec::new();
    rgba.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();

    let out = ingest_blocking(&png, &IngestLimits::default()).unwrap();

    assert_eq!(out.format, ImageFormat::Jpeg);
    assert_eq!(out.content_type, "image/jpeg");
    let pixels = decode(&out.bytes);
    assert!(
        pixels.get_pixel(5, 10).0.iter().all(|&c| c > 240),
        "transparent part should be white"
    );
    assert!(pixels.get_pixel(35, 10)[1] > 100 && pixels.get_pixel(35, 10)[0] < 60);
}

#[test]
fn webp_is_detected_by_content_and_accepted() {
    let img = image::DynamicImage::ImageRgb8(red_left_blue_right(30, 30)).to_rgba8();
    let mut webp = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
        .encode(img.as_raw(), 30, 30, image::ExtendedColorType::Rgba8)
        .unwrap();
    assert_eq!(probe(&webp).unwrap().format, ImageFormat::Webp);

    let out = ingest_blocking(&webp, &IngestLimits::default()).unwrap();

    assert_eq!(
        (out.width, out.height, out.format),
        (30, 30, ImageFormat::Jpeg)
    );
}

#[test]
fn real_photos_ingest_to_content_addressed_jpegs_and_the_same_upload_gives_the_same_key() {
    for name in [
        "photos/rocket.jpg",
        "photos/astronaut.png",
        "photos/brick.png",
        "photos/hubble_deep_field.jpg",
    ] {
        let bytes = read_fixture(name);
        let facts = probe(&bytes).unwrap();
        let first = ingest_blocking(&bytes, &IngestLimits::default()).unwrap();
        let again = ingest_blocking(&bytes, &IngestLimits::default()).unwrap();
        assert_eq!(
            (first.width, first.height),
            (facts.width, facts.height),
            "{name}"
        );
        assert_eq!(first.sha256, natronfx_media::sha256_hex(&first.bytes));
        assert_eq!(first.key().as_str(), format!("{}.jpg", first.sha256));
        assert_eq!(
            first.key(),
            again.key(),
            "{name}: ingest must be deterministic"
        );
        assert!(is_baseline_jpeg(&first.bytes), "{name}");
    }
}

#[test]
fn probe_reads_the_header_of_each_format() {
    let facts = probe(&read_fixture("photos/chelsea.png")).unwrap();
    assert_eq!(
        (facts.format, facts.width, facts.height),
        (ImageFormat::Png, 451, 300)
    );
    let facts = probe(&read_fixture("photos/rocket.jpg")).unwrap();
    assert_eq!(
        (facts.format, facts.width, facts.height),
        (ImageFormat::Jpeg, 640, 427)
    );
}

mod properties {
    use natronfx_media::{IngestLimits, ingest_blocking};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Arbitrary bytes, and real files with random bytes flipped, never crash ingest: they are
        /// accepted or refused with one of the documented codes.
        #[test]
        fn mangled_files_are_refused_with_a_stable_code_never_a_crash(
            seed in proptest::collection::vec(any::<u8>(), 0..64),
            flips in proptest::collection::vec((0usize..20_000, any::<u8>()), 0..12),
            cut in 0usize..30_000,
            which in 0usize..3,
        ) {
            let mut bytes = match which {
                0 => crate::support::read_fixture("photos/rocket.jpg"),
                1 => crate::support::read_fixture("photos/brick.png"),
                _ => seed.clone(),
            };
            for (at, v) in flips {
                if !bytes.is_empty() {
                    let i = at % bytes.len();
                    bytes[i] = v;
                }
            }
            if which < 2 && cut > 0 {
                bytes.truncate(bytes.len().saturating_sub(cut));
            }
            if let Err(e) = ingest_blocking(&bytes, &IngestLimits::default()) {
                prop_assert!(
                    ["image-corrupt", "unsupported-image-format", "decompression-bomb", "image-too-large"]
                        .contains(&e.code()),
                    "unexpected code {} ({e})", e.code()
                );
            }
        }
    }
}
