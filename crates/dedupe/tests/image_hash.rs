//! Perceptual hashes of the fixture photos: pinned values, stability under edits, separation.

use std::path::PathBuf;

use image::imageops::FilterType;
use image::{DynamicImage, GenericImageView};
use std::sync::OnceLock;

use natronfx_dedupe::image_hash::{
    CROP_PHASH_RADIUS, ImageFingerprint, SAME_IMAGE_RADIUS, dhash, distance, phash,
};

const PHOTOS: [&str; 7] = [
    "astronaut.png",
    "brick.png",
    "chelsea.png",
    "coffee.png",
    "grass.png",
    "hubble_deep_field.jpg",
    "rocket.jpg",
];

fn photo(name: &str) -> DynamicImage {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/photos")
        .join(name);
    image::open(&path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

fn jpeg(img: &DynamicImage, quality: u8) -> DynamicImage {
    let mut bytes = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality);
    img.to_rgb8().write_with_encoder(encoder).unwrap();
    image::load_from_memory(&bytes).unwrap()
}

fn scale(img: &DynamicImage, factor: f64, filter: FilterType) -> DynamicImage {
    let w = ((f64::from(img.width()) * factor).round() as u32).max(1);
    let h = ((f64::from(img.height()) * factor).round() as u32).max(1);
    img.resize_exact(w, h, filter)
}

/// Crops the given fractions off the left, top, right and bottom.
fn crop(img: &DynamicImage, left: f64, top: f64, right: f64, bottom: f64) -> DynamicImage {
    let (w, h) = img.dimensions();
    let x = (f64::from(w) * left).round() as u32;
    let y = (f64::from(h) * top).round() as u32;
    let cw = w - x - (f64::from(w) * right).round() as u32;
    let ch = h - y - (f64::from(h) * bottom).round() as u32;
    img.crop_imm(x, y, cw, ch)
}

fn shift_channels(img: &DynamicImage, dr: i16, dg: i16, db: i16) -> DynamicImage {
    let mut rgb = img.to_rgb8();
    for p in rgb.pixels_mut() {
        for (c, d) in p.0.iter_mut().zip([dr, dg, db]) {
            *c = (i16::from(*c) + d).clamp(0, 255) as u8;
        }
    }
    DynamicImage::ImageRgb8(rgb)
}

/// The edits a re-post goes through: re-export, resize, a small crop, a colour tweak.
fn edits(img: &DynamicImage) -> Vec<(&'static str, DynamicImage)> {
    vec![
        ("jpeg q60", jpeg(img, 60)),
        ("jpeg q75", jpeg(img, 75)),
        ("jpeg q90", jpeg(img, 90)),
        ("resize 50% triangle", scale(img, 0.5, FilterType::Triangle)),
        ("resize 75% lanczos", scale(img, 0.75, FilterType::Lanczos3)),
        (
            "resize 150% catmull-rom",
            scale(img, 1.5, FilterType::CatmullRom),
        ),
        ("resize 200% nearest", scale(img, 2.0, FilterType::Nearest)),
        ("crop 5% every side", crop(img, 0.05, 0.05, 0.05, 0.05)),
        ("crop 5% left", crop(img, 0.05, 0.0, 0.0, 0.0)),
        ("crop 5% top", crop(img, 0.0, 0.05, 0.0, 0.0)),
        ("crop 3% left+bottom", crop(img, 0.03, 0.0, 0.0, 0.03)),
        ("brighten +20", img.brighten(20)),
        ("darken -20", img.brighten(-20)),
        ("contrast +10%", img.adjust_contrast(10.0)),
        ("hue +10deg", img.huerotate(10)),
        ("warmer r+15 b-10", shift_channels(img, 15, 0, -10)),
        (
            "resize 50% + jpeg q70",
            jpeg(&scale(img, 0.5, FilterType::Triangle), 70),
        ),
    ]
}

/// Fingerprints of every photo and of every edited copy, computed once for all tests.
struct Hashed {
    name: &'static str,
    original: ImageFingerprint,
    edited: Vec<(&'static str, ImageFingerprint)>,
}

fn hashed() -> &'static [Hashed] {
    static CELL: OnceLock<Vec<Hashed>> = OnceLock::new();
    CELL.get_or_init(|| {
        PHOTOS
            .iter()
            .map(|&name| {
                let img = photo(name);
                Hashed {
                    name,
                    original: ImageFingerprint::of(&img).unwrap(),
                    edited: edits(&img)
                        .into_iter()
                        .map(|(edit, e)| (edit, ImageFingerprint::of(&e).unwrap()))
                        .collect(),
                }
            })
            .collect()
    })
}

fn is_crop(edit: &str) -> bool {
    edit.starts_with("crop")
}

#[test]
fn hash_values_of_the_fixture_photos_are_pinned() {
    // These values are persisted for years of history: a change here must be deliberate, with a
    // migration that re-hashes every stored slide.
    let expected: [(&str, u64, u64); 7] = [
        ("astronaut.png", 0x227242f262cd6a59, 0xc2924c5532bddfc8),
        ("brick.png", 0xa810b5925555d5d2, 0xa2850b396eff06e1),
        ("chelsea.png", 0xabeba56556b47870, 0xb15fe6465121175e),
        ("coffee.png", 0x0c06a4cce1d4f0c9, 0xbb8320376c0f3637),
        ("grass.png", 0x224a579248120e51, 0x92f2e18ba30b770d),
        (
            "hubble_deep_field.jpg",
            0x9f2d5d798aab97a6,
            0x84cc4b96ba4d333e,
        ),
        ("rocket.jpg", 0x1f3f3f2f4f6f6f2e, 0xc0371bec1be51267),
    ];
    for (name, d, p) in expected {
        let img = photo(name);
        assert_eq!(
            dhash(&img).unwrap(),
            d,
            "dhash of {name}: {:#018x}",
            dhash(&img).unwrap()
        );
        assert_eq!(
            phash(&img).unwrap(),
            p,
            "phash of {name}: {:#018x}",
            phash(&img).unwrap()
        );
    }
}

#[test]
fn re_exported_resized_and_recoloured_copies_stay_the_same_image() {
    let mut worst = (0, 0);
    for photo in hashed() {
        for (edit, e) in photo.edited.iter().filter(|(edit, _)| !is_crop(edit)) {
            let (d, p) = (
                distance(photo.original.dhash, e.dhash),
                distance(photo.original.phash, e.phash),
            );
            println!("{:22} {edit:26} dhash {d:2} phash {p:2}", photo.name);
            // Measured at most 4 bits; the radius leaves a 2x margin.
            assert!(
                d <= 4 && p <= 4,
                "{} {edit}: dhash {d}, phash {p}",
                photo.name
            );
            assert!(photo.original.is_same_image(e));
            worst = (worst.0.max(d), worst.1.max(p));
        }
    }
    println!(
        "worst non-crop edit: dhash {} phash {} (radius {SAME_IMAGE_RADIUS})",
        worst.0, worst.1
    );
}

#[test]
fn photos_cropped_up_to_five_percent_per_side_stay_within_the_crop_radius() {
    for photo in hashed().iter().filter(|p| p.name != "brick.png") {
        for (edit, e) in photo.edited.iter().filter(|(edit, _)| is_crop(edit)) {
            let (d, p) = (
                distance(photo.original.dhash, e.dhash),
                distance(photo.original.phash, e.phash),
            );
            println!("{:22} {edit:26} dhash {d:2} phash {p:2}", photo.name);
            assert!(
                photo.original.is_same_photo_maybe_cropped(e),
                "{} {edit}: phash moved {p} bits, radius {CROP_PHASH_RADIUS}",
                photo.name
            );
            assert!(d <= 20, "{} {edit}: dhash moved {d} bits", photo.name);
        }
    }
}

#[test]
fn different_photos_stay_far_apart_even_after_edits() {
    let all = hashed();
    let (mut min_d, mut min_p) = (64, 64);
    let (mut min_orig_d, mut min_orig_p) = (64, 64);
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            min_orig_d = min_orig_d.min(distance(a.original.dhash, b.original.dhash));
            min_orig_p = min_orig_p.min(distance(a.original.phash, b.original.phash));
            let ca = std::iter::once(&a.original).chain(a.edited.iter().map(|(_, f)| f));
            for x in ca {
                let cb = std::iter::once(&b.original).chain(b.edited.iter().map(|(_, f)| f));
                for y in cb {
                    let (d, p) = (distance(x.dhash, y.dhash), distance(x.phash, y.phash));
                    min_d = min_d.min(d);
                    min_p = min_p.min(p);
                    assert!(!x.is_same_image(y), "{} looks like {}", a.name, b.name);
                    assert!(
                        !x.is_same_photo_maybe_cropped(y),
                        "{} looks like a crop of {} (phash {p})",
                        a.name,
                        b.name
                    );
                }
            }
        }
    }
    println!("closest different originals: dhash {min_orig_d}, phash {min_orig_p}");
    println!("closest different clusters (any edits): dhash {min_d}, phash {min_p}");
    assert!(
        min_d > 2 * SAME_IMAGE_RADIUS,
        "dhash clusters {min_d} bits apart"
    );
    assert!(
        min_p > CROP_PHASH_RADIUS,
        "phash clusters {min_p} bits apart"
    );
}
