//! Platform rules: Instagram's ratio range and TikTok's size limits, and the variants that satisfy them.

use image::RgbImage;
use natronfx_media::ingest::encode_jpeg;
use natronfx_media::platform::{
    ImageProblem, instagram_problems, instagram_ratio_ok, instagram_variant, tiktok_problems,
    tiktok_size_ok, tiktok_variant,
};

fn jpeg(w: u32, h: u32) -> natronfx_media::EncodedImage {
    encode_jpeg(&RgbImage::from_pixel(w, h, image::Rgb([90, 120, 200])), 80).unwrap()
}

#[test]
fn instagram_accepts_4_5_through_1_91_1_only() {
    assert!(instagram_ratio_ok(1080, 1350));
    assert!(instagram_ratio_ok(1080, 1080));
    assert!(instagram_ratio_ok(1910, 1000));
    assert!(
        !instagram_ratio_ok(1080, 1440),
        "3:4 is refused by Instagram"
    );
    assert!(!instagram_ratio_ok(1080, 1920));
    assert!(!instagram_ratio_ok(2000, 1000));
    assert!(!instagram_ratio_ok(1080, 0));
}

#[test]
fn tiktok_needs_width_and_shorter_side_at_most_1080() {
    assert!(tiktok_size_ok(1080, 1920));
    assert!(tiktok_size_ok(941, 1672));
    assert!(!tiktok_size_ok(1086, 1448));
    assert!(!tiktok_size_ok(1254, 1254));
}

#[test]
fn a_tiktok_variant_scales_oversized_images_down_and_leaves_good_ones_alone() {
    let good = jpeg(1080, 1350);
    assert_eq!(tiktok_variant(&good).unwrap(), good);
    for (w, h) in [(1254, 1254), (1086, 1448), (2160, 2700)] {
        let variant = tiktok_variant(&jpeg(w, h)).unwrap();
        assert!(
            tiktok_size_ok(variant.width, variant.height),
            "{w}x{h} -> {variant:?}"
        );
        assert!(tiktok_problems(&variant).is_empty());
        let ratio_in = f64::from(w) / f64::from(h);
        let ratio_out = f64::from(variant.width) / f64::from(variant.height);
        assert!((ratio_in - ratio_out).abs() < 0.01, "not cropped");
    }
}

#[test]
fn an_instagram_variant_crops_a_2_3_image_into_the_accepted_range() {
    let tall = jpeg(1024, 1536);
    assert!(matches!(
        instagram_problems(&tall)[..],
        [ImageProblem::AspectRatio(_)]
    ));
    let variant = instagram_variant(&tall).unwrap();
    assert!(instagram_problems(&variant).is_empty(), "{variant:?}");
    assert!(instagram_ratio_ok(variant.width, variant.height));
    let wide = instagram_variant(&jpeg(3000, 1000)).unwrap();
    assert!(
        instagram_problems(&wide).is_empty() && wide.width <= 1440,
        "{wide:?}"
    );
}
