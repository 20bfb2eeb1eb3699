//! The renderer: exact sizes, baseline JPEG, determinism, fixtures, text that never leaves the safe area.

use std::collections::HashMap;
use std::sync::Arc;

use image::RgbImage;
use natronfx_media::render::{
    Align, Anchor, Background, CanvasPreset, Color, Insets, SlideSpec, TextBlock, TextRole,
    TextStyle,
};
use natronfx_media::{
    CarouselSpec, IngestLimits, LocalFolderStore, NoMedia, RenderOptions, Renderer, fetch_media,
    ingest_blocking, platform, render_carousel, render_carousel_async, store_image,
};

use crate::support::*;

const FIXTURES: [&str; 3] = [
    "carousels/launch-day.toml",
    "carousels/coffee-guide.json",
    "carousels/story-unicode.toml",
];

fn load(rel: &str) -> (CarouselSpec, RenderOptions) {
    let path = fixture(rel);
    (
        CarouselSpec::from_path(&path).unwrap(),
        RenderOptions::for_spec_file(&path),
    )
}

/// A black slide with one white text block and no scrim, for measuring where ink lands.
fn measuring_spec(canvas: CanvasPreset, block: TextBlock) -> CarouselSpec {
    let mut spec = CarouselSpec {
        canvas,
        slides: vec![SlideSpec {
            background: Some(Background::Solid {
                color: Some(Color::BLACK),
            }),
            scrim: None,
            padding: None,
            text: vec![block],
        }],
        ..CarouselSpec::default()
    };
    spec.defaults.brand.text = Color::WHITE;
    spec
}

/// Bounding box `(left, top, right, bottom)` (inclusive) of pixels noticeably brighter than black.
fn ink_box(img: &RgbImage) -> Option<(u32, u32, u32, u32)> {
    let mut found: Option<(u32, u32, u32, u32)> = None;
    for (x, y, px) in img.enumerate_pixels() {
        if px.0.iter().any(|&c| c > 48) {
            found = Some(match found {
                None => (x, y, x, y),
                Some((l, t, r, b)) => (l.min(x), t.min(y), r.max(x), b.max(y)),
            });
        }
    }
    found
}

fn assert_inside_safe_area(img: &RgbImage, pad: Insets, what: &str) {
    const TOLERANCE: f32 = 4.0;
    let (w, h) = (img.width() as f32, img.height() as f32);
    let Some((l, t, r, b)) = ink_box(img) else {
        panic!("{what}: nothing was drawn");
    };
    assert!(
        l as f32 >= pad.left - TOLERANCE,
        "{what}: ink starts at x={l}"
    );
    assert!(
        t as f32 >= pad.top - TOLERANCE,
        "{what}: ink starts at y={t}"
    );
    assert!(
        (r as f32) < w - pad.right + TOLERANCE,
        "{what}: ink ends at x={r}"
    );
    assert!(
        (b as f32) < h - pad.bottom + TOLERANCE,
        "{what}: ink ends at y={b}"
    );
}

fn render_one(spec: &CarouselSpec) -> RgbImage {
    Renderer::new(&NoMedia, RenderOptions::default())
        .render_pixels(spec, 0)
        .unwrap()
}

#[test]
fn every_fixture_renders_exact_size_baseline_jpegs_under_8_mb() {
    for rel in FIXTURES {
        let (spec, options) = load(rel);
        let (w, h) = spec.canvas.size();
        let slides = render_carousel(&spec, &NoMedia, &options).unwrap();
        assert_eq!(slides.len(), spec.slides.len(), "{rel}");
        for (i, slide) in slides.iter().enumerate() {
            assert_eq!((slide.width, slide.height), (w, h), "{rel} slide {}", i + 1);
            assert!(is_baseline_jpeg(&slide.bytes), "{rel} slide {}", i + 1);
            assert!(slide.bytes.len() < 8 * 1024 * 1024);
            assert_eq!(decode(&slide.bytes).dimensions(), (w, h));
            assert_eq!(slide.key().as_str(), format!("{}.jpg", slide.sha256));
        }
    }
}

#[test]
fn presets_have_the_documented_sizes_and_feed_presets_suit_instagram_and_tiktok() {
    assert_eq!(CanvasPreset::Portrait.size(), (1080, 1350));
    assert_eq!(CanvasPreset::Square.size(), (1080, 1080));
    assert_eq!(CanvasPreset::Story.size(), (1080, 1920));
    for preset in [CanvasPreset::Portrait, CanvasPreset::Square] {
        let (w, h) = preset.size();
        assert!(platform::instagram_ratio_ok(w, h), "{preset:?}");
    }
    for preset in [
        CanvasPreset::Portrait,
        CanvasPreset::Square,
        CanvasPreset::Story,
    ] {
        let (w, h) = preset.size();
        assert!(platform::tiktok_size_ok(w, h), "{preset:?}");
    }
}

#[test]
fn the_same_spec_renders_to_the_same_bytes() {
    let (spec, options) = load("carousels/launch-day.toml");
    let first = render_carousel(&spec, &NoMedia, &options).unwrap();
    let second = render_carousel(&spec, &NoMedia, &options).unwrap();
    assert_eq!(first, second);
}

/// 64-bit difference hash: 9×8 grey thumbnail, one bit per horizontal neighbour comparison.
fn dhash(img: &RgbImage) -> u64 {
    let grey = image::imageops::grayscale(img);
    let small = image::imageops::resize(&grey, 9, 8, image::imageops::FilterType::Triangle);
    let mut hash = 0u64;
    for y in 0..8 {
        for x in 0..8 {
            hash = (hash << 1) | u64::from(small.get_pixel(x, y)[0] < small.get_pixel(x + 1, y)[0]);
        }
    }
    hash
}

#[test]
fn the_example_slide_still_looks_like_the_committed_one() {
    // Compared by perceptual hash, not bytes: encoders may differ by a few bits between machines.
    let (spec, options) = load("carousels/launch-day.toml");
    let rendered = Renderer::new(&NoMedia, options)
        .render_slide(&spec, 0)
        .unwrap();
    let golden = decode(&read_fixture("carousels/example-slide-1.jpg"));
    let now = decode(&rendered.bytes);
    assert_eq!(now.dimensions(), golden.dimensions());
    let distance = (dhash(&now) ^ dhash(&golden)).count_ones();
    assert!(
        distance <= 4,
        "slide 1 of launch-day.toml changed visibly (dHash distance {distance}); if intended, \
         re-render it into fixtures/carousels/example-slide-1.jpg with the render_spec example"
    );
}

#[test]
fn quality_option_changes_the_output_size() {
    let (spec, options) = load("carousels/coffee-guide.json");
    let high = render_carousel(&spec, &NoMedia, &options).unwrap();
    let low = render_carousel(
        &spec,
        &NoMedia,
        &RenderOptions {
            quality: Some(50),
            ..options
        },
    )
    .unwrap();
    assert!(low[0].bytes.len() < high[0].bytes.len());
}

#[test]
fn toml_and_json_describe_the_same_spec() {
    let (spec, _) = load("carousels/launch-day.toml");
    let json = serde_json::to_string(&spec).unwrap();
    assert_eq!(CarouselSpec::from_json_str(&json).unwrap(), spec);
}

#[test]
fn an_unbreakable_word_is_shrunk_and_broken_but_never_leaves_the_safe_area() {
    for canvas in [
        CanvasPreset::Portrait,
        CanvasPreset::Square,
        CanvasPreset::Story,
    ] {
        for align in [Align::Left, Align::Center, Align::Right] {
            let block = TextBlock::new(TextRole::Title, "W".repeat(120)).with_style(TextStyle {
                size: Some(160.0),
                min_size: Some(60.0),
                align: Some(align),
                ..TextStyle::default()
            });
            let spec = measuring_spec(canvas, block);
            let img = render_one(&spec);
            assert_inside_safe_area(
                &img,
                spec.defaults.padding,
                &format!("{canvas:?} {align:?}"),
            );
        }
    }
}

#[test]
fn a_slide_can_widen_its_own_margins() {
    let wide = Insets {
        top: 240.0,
        right: 300.0,
        bottom: 260.0,
        left: 200.0,
    };
    let mut spec = measuring_spec(
        CanvasPreset::Portrait,
        TextBlock::new(
            TextRole::Body,
            "Margins are per slide when a slide says so. ".repeat(30),
        ),
    );
    spec.slides[0].padding = Some(wide);
    let img = render_one(&spec);
    assert_inside_safe_area(&img, wide, "slide padding");
    let (l, _, r, _) = ink_box(&img).unwrap();
    assert!(l >= 196 && r <= 784, "ink spans {l}..{r}");
}

#[test]
fn too_much_text_is_cut_with_an_ellipsis_inside_the_safe_area() {
    let long =
        "Every stage has a checklist and every checklist exists because something went wrong. "
            .repeat(40);
    let spec = CarouselSpec {
        slides: vec![SlideSpec {
            background: Some(Background::Solid {
                color: Some(Color::BLACK),
            }),
            scrim: None,
            padding: None,
            text: vec![
                TextBlock::new(TextRole::Title, long.clone()),
                TextBlock::new(TextRole::Body, long.clone()),
                TextBlock::new(TextRole::Footer, long),
            ],
        }],
        ..CarouselSpec::default()
    };
    let img = render_one(&spec);
    assert_inside_safe_area(&img, spec.defaults.padding, "three overfull blocks");
}

#[test]
fn text_that_fits_keeps_its_size_and_overfull_text_shrinks() {
    let short = measuring_spec(
        CanvasPreset::Portrait,
        TextBlock::new(TextRole::Title, "Short"),
    );
    let long = measuring_spec(
        CanvasPreset::Portrait,
        TextBlock::new(
            TextRole::Title,
            "A much longer headline that needs many more lines than five at this size ".repeat(3),
        ),
    );
    let height = |img: &RgbImage| {
        let (_, t, _, b) = ink_box(img).unwrap();
        b - t
    };
    let short_img = render_one(&short);
    // "Short" at 76 px: the capital S is about 0.71 em tall.
    assert!(
        (50..=62).contains(&height(&short_img)),
        "{}",
        height(&short_img)
    );
    let long_img = render_one(&long);
    assert_inside_safe_area(&long_img, long.defaults.padding, "long title");
}

#[test]
fn characters_without_glyphs_are_drawn_as_visible_boxes_without_crashing() {
    let texts = [
        "日本語",
        "🚀✨",
        "👩\u{200D}💻 family 👨\u{200D}👩\u{200D}👧",
        "e\u{301} Ñ ß Ø ŀ",
        "\u{0}\u{7}\u{FEFF}",
    ];
    for text in texts {
        let spec = measuring_spec(CanvasPreset::Square, TextBlock::new(TextRole::Title, text));
        let img = render_one(&spec);
        if text.starts_with('\u{0}') {
            assert!(
                ink_box(&img).is_none(),
                "control characters must draw nothing"
            );
        } else {
            assert_inside_safe_area(&img, spec.defaults.padding, text);
        }
    }
    // Three CJK characters give three boxes: ink spreads across roughly 3 × 0.6 em.
    let spec = measuring_spec(
        CanvasPreset::Square,
        TextBlock::new(TextRole::Title, "日本語"),
    );
    let (l, _, r, _) = ink_box(&render_one(&spec)).unwrap();
    assert!(
        r - l > 100,
        "boxes should be visible, ink is {} px wide",
        r - l
    );
}

#[test]
fn stacks_place_counter_on_top_and_title_at_the_bottom() {
    let mut spec = measuring_spec(
        CanvasPreset::Portrait,
        TextBlock::new(TextRole::Title, "Bottom"),
    );
    spec.defaults.show_counter = true;
    spec.defaults.brand.accent = Color::WHITE;
    spec.slides.push(spec.slides[0].clone());
    let img = render_one(&spec);
    let top_half = image::imageops::crop_imm(&img, 0, 0, 1080, 300).to_image();
    let (l, _, _, _) = ink_box(&top_half).expect("a counter at the top");
    assert!(l > 800, "the counter is right-aligned, starts at x={l}");
    let bottom = image::imageops::crop_imm(&img, 0, 1000, 1080, 350).to_image();
    assert!(ink_box(&bottom).is_some(), "the title sits at the bottom");
}

#[test]
fn centered_anchor_puts_text_around_the_middle() {
    let block = TextBlock::new(TextRole::Title, "Middle").with_style(TextStyle {
        anchor: Some(Anchor::Center),
        align: Some(Align::Center),
        ..TextStyle::default()
    });
    let img = render_one(&measuring_spec(CanvasPreset::Portrait, block));
    let (l, t, r, b) = ink_box(&img).unwrap();
    let (cx, cy) = ((l + r) / 2, (t + b) / 2);
    assert!((500..=580).contains(&cx), "centre x {cx}");
    assert!((600..=760).contains(&cy), "centre y {cy}");
}

#[test]
fn invalid_specs_are_refused_with_a_clear_code() {
    let cases = [
        ("slides = []", "at least one slide"),
        (
            "[[slides]]\nbackground = { type = \"image\" }",
            "exactly one of",
        ),
        (
            "[[slides]]\nbackground = { type = \"image\", path = \"a.jpg\", media = \"x\" }",
            "exactly one of",
        ),
        (
            "[[slides]]\ntext = [{ role = \"title\", text = \"x\", colour = \"#fff\" }]",
            "colour",
        ),
        (
            "[[slides]]\nbackground = { type = \"solid\", color = \"red\" }",
            "#rrggbb",
        ),
        (
            "[[slides]]\nbackground = { type = \"linear-gradient\", stops = [] }",
            "two stops",
        ),
        ("canvas = \"landscape\"\n[[slides]]", "landscape"),
        (
            "[defaults.styles.body]\nmin_size = 0\n[[slides]]",
            "font sizes",
        ),
        (
            "[defaults.styles.title]\nsize = nan\n[[slides]]",
            "font sizes",
        ),
        ("[defaults]\npadding = -5\n[[slides]]", "padding"),
        ("[[slides]]\nscrim = { opacity = 1.5 }", "opacity"),
        (
            "[[slides]]\ntext = [{ role = \"body\", text = \"x\", max_lines = 0 }]",
            "max_lines",
        ),
    ];
    for (toml, needle) in cases {
        let err = CarouselSpec::from_toml_str(toml)
            .and_then(|spec| render_carousel(&spec, &NoMedia, &RenderOptions::default()))
            .unwrap_err();
        assert_eq!(err.code(), "invalid-carousel-spec", "{toml}: {err}");
        assert!(err.to_string().contains(needle), "{toml}: {err}");
    }
}

#[tokio::test]
async fn image_backgrounds_by_media_id_come_from_the_media_store() {
    let dir = tempfile::TempDir::new().unwrap();
    let store = LocalFolderStore::new(dir.path(), "https://media.example.com/m").unwrap();
    let coffee =
        ingest_blocking(&read_fixture("photos/coffee.png"), &IngestLimits::default()).unwrap();
    let (key, _) = store_image(&store, &coffee).await.unwrap();
    let spec = CarouselSpec::from_toml_str(&format!(
        "[[slides]]\nbackground = {{ type = \"image\", media = \"{key}\", focus = {{ x = 0.2, y = 0.5 }} }}\n\
         text = [{{ role = \"title\", text = \"From the store\" }}]"
    ))
    .unwrap();

    let media = fetch_media(&spec, &store).await.unwrap();
    assert_eq!(media.len(), 1);
    let slides = render_carousel_async(spec.clone(), Arc::new(media), RenderOptions::default())
        .await
        .unwrap();
    assert_eq!((slides[0].width, slides[0].height), (1080, 1350));

    let err = render_carousel(
        &spec,
        &HashMap::<String, Vec<u8>>::new(),
        &RenderOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "background-unavailable");
}

#[test]
fn photo_slides_without_a_scrim_get_one_behind_their_text() {
    let toml = |scrim: &str| {
        format!(
            "[[slides]]\nbackground = {{ type = \"image\", path = \"photos/brick.png\" }}\n{scrim}\n\
             text = [{{ role = \"title\", text = \"x\", color = \"#ffffff00\" }}]"
        )
    };
    let options = RenderOptions {
        base_dir: Some(fixture("")),
        ..RenderOptions::default()
    };
    let render = |text: &str| {
        Renderer::new(&NoMedia, options.clone())
            .render_pixels(&CarouselSpec::from_toml_str(text).unwrap(), 0)
            .unwrap()
    };
    let automatic = render(&toml(""));
    let none = render(&toml("scrim = { opacity = 0 }"));
    let mean = |img: &RgbImage, y0: u32, y1: u32| {
        let rows = img.rows().skip(y0 as usize).take((y1 - y0) as usize);
        let sum: u64 = rows.flat_map(|r| r.flat_map(|p| p.0)).map(u64::from).sum();
        sum as f64 / f64::from((y1 - y0) * img.width() * 3)
    };
    // Bottom text: the bottom band is darkened, the top band is untouched.
    assert!(mean(&automatic, 1150, 1350) < 0.5 * mean(&none, 1150, 1350));
    assert!((mean(&automatic, 0, 200) - mean(&none, 0, 200)).abs() < 1.0);
}

#[test]
fn a_hostile_background_file_is_refused_not_rendered() {
    let spec = CarouselSpec::from_toml_str(
        "[[slides]]\nbackground = { type = \"image\", path = \"images/hostile/bomb-50000x50000.png\" }",
    )
    .unwrap();
    let options = RenderOptions {
        base_dir: Some(fixture("")),
        ..RenderOptions::default()
    };
    let err = render_carousel(&spec, &NoMedia, &options).unwrap_err();
    assert_eq!(err.code(), "background-unavailable");
    assert!(err.to_string().contains("decompression bomb"), "{err}");
}

mod properties {
    use natronfx_media::render::{Align, Anchor, CanvasPreset, TextBlock, TextRole, TextStyle};
    use proptest::prelude::*;

    fn anchor() -> impl Strategy<Value = Anchor> {
        prop_oneof![
            Just(Anchor::Top),
            Just(Anchor::Center),
            Just(Anchor::Bottom)
        ]
    }
    fn align() -> impl Strategy<Value = Align> {
        prop_oneof![Just(Align::Left), Just(Align::Center), Just(Align::Right)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Whatever the text, size and placement, ink stays inside the padded safe area.
        #[test]
        fn text_never_leaves_the_safe_area(
            words in proptest::collection::vec("[A-Za-zÀ-ÿ0-9W@#&—…!?]{1,40}|日本|🚀", 1..80),
            size in 20.0f32..180.0,
            min in 12.0f32..40.0,
            lines in 1u32..12,
            anchor in anchor(),
            align in align(),
            story in any::<bool>(),
        ) {
            let block = TextBlock::new(TextRole::Body, words.join(" ")).with_style(TextStyle {
                size: Some(size),
                min_size: Some(min),
                max_lines: Some(lines),
                anchor: Some(anchor),
                align: Some(align),
                ..TextStyle::default()
            });
            let canvas = if story { CanvasPreset::Story } else { CanvasPreset::Square };
            let spec = super::measuring_spec(canvas, block);
            let img = super::render_one(&spec);
            super::assert_inside_safe_area(&img, spec.defaults.padding, &words.join(" "));
        }
    }
}
