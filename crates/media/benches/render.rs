//! Carousel rendering benchmark: 10 portrait slides over a 4000×3000 photo, against ImageMagick.
//!
//! Run with `cargo bench -p natronfx-media`. Prints a table; asserts nothing. Set `MAGICK_CONVERT` to
//! choose the ImageMagick binary (default `convert` on `PATH`); without it the comparison rows are skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use natronfx_media::render::{
    Background, CanvasPreset, FocalPoint, Scrim, ScrimFade, SlideSpec, TextBlock, TextRole,
};
use natronfx_media::{
    CarouselSpec, IngestLimits, NoMedia, RenderOptions, Renderer, ingest, raster,
};

const SLIDES: usize = 10;
const TITLE: &str = "Launch day: how a rocket leaves the pad";
const BODY: &str = "Seven steps from fuelling to orbit, explained in one minute. Liquid oxygen is loaded in the final hour.";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Upscales a fixture photo to 4000×3000 and writes it as a JPEG, the size of a phone photo.
fn large_photo(dir: &Path) -> PathBuf {
    let bytes = std::fs::read(repo().join("fixtures/photos/rocket.jpg")).expect("fixture photo");
    let (_, pixels) = ingest::decode(&bytes, &IngestLimits::default()).expect("decodes");
    let large = raster::cover(&pixels, 4000, 3000, (0.5, 0.5)).expect("upscales");
    let jpeg = ingest::encode_jpeg(&large, 92).expect("encodes");
    let path = dir.join("large-4000x3000.jpg");
    std::fs::write(&path, &jpeg.bytes).expect("writes");
    path
}

fn spec(photo: &Path) -> CarouselSpec {
    let slides = (0..SLIDES)
        .map(|i| SlideSpec {
            background: Some(Background::Image {
                media: None,
                path: Some(photo.to_path_buf()),
                focus: Some(FocalPoint {
                    x: 0.3 + 0.04 * i as f32,
                    y: 0.5,
                }),
            }),
            scrim: None,
            padding: None,
            text: vec![
                TextBlock::new(TextRole::Title, format!("{TITLE} ({})", i + 1)),
                TextBlock::new(TextRole::Body, BODY),
            ],
        })
        .collect();
    let mut spec = CarouselSpec {
        canvas: CanvasPreset::Portrait,
        slides,
        ..CarouselSpec::default()
    };
    spec.defaults.show_counter = true;
    spec.defaults.quality = 90;
    spec.defaults.scrim = Some(Scrim {
        opacity: 0.8,
        fade: ScrimFade::Bottom,
        ..Scrim::default()
    });
    spec
}

fn per_slide(d: Duration, slides: usize) -> f64 {
    d.as_secs_f64() * 1000.0 / slides as f64
}

/// Renders `indices` with one renderer (the photo is decoded once and reused, as in a real carousel).
fn render_shared(spec: &CarouselSpec, indices: impl Iterator<Item = usize>) {
    let mut renderer = Renderer::new(&NoMedia, RenderOptions::default());
    for i in indices {
        let out = renderer.render_slide(spec, i).expect("renders");
        assert_eq!((out.width, out.height), (1080, 1350));
    }
}

/// Renders each slide with a fresh renderer: decode of the 12 MP photo included, like one `convert` call.
fn render_cold(spec: &CarouselSpec, indices: impl Iterator<Item = usize>) {
    for i in indices {
        let out = Renderer::new(&NoMedia, RenderOptions::default())
            .render_slide(spec, i)
            .expect("renders");
        assert_eq!(out.width, 1080);
    }
}

/// Wall time and CPU time (this process plus waited-for children) of one run.
#[derive(Clone, Copy, Default)]
struct Timing {
    wall: Duration,
    cpu: Duration,
}

/// CPU time used so far by this process and its reaped children, from `/proc/self/stat` (Linux; clock
/// ticks assumed to be 100 Hz, the kernel's user-visible USER_HZ). CPU time is what a slide costs a core,
/// independent of other load on a shared machine; zero where `/proc` is unavailable.
fn cpu_now() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .map(|f| f.parse().unwrap_or(0))
                .collect()
        })
        .unwrap_or_default();
    // After the command name: state is field 3; utime, stime, cutime, cstime are fields 14 to 17.
    let ticks: u64 = fields.get(11..15).map_or(0, |f| f.iter().sum());
    Duration::from_millis(ticks * 10)
}

fn measure(mut f: impl FnMut()) -> Timing {
    let (wall, cpu) = (Instant::now(), cpu_now());
    f();
    Timing {
        wall: wall.elapsed(),
        cpu: cpu_now().saturating_sub(cpu),
    }
}

/// The fastest of `runs` runs (the one least disturbed by other work on the machine).
fn best_of(runs: usize, mut f: impl FnMut()) -> Timing {
    (0..runs)
        .map(|_| measure(&mut f))
        .min_by_key(|t| t.wall)
        .unwrap_or_default()
}

fn two_threads(spec: &CarouselSpec, cold: bool) -> Timing {
    best_of(3, || {
        std::thread::scope(|s| {
            for t in 0..2 {
                s.spawn(move || {
                    let mine = (0..SLIDES).filter(move |i| i % 2 == t);
                    if cold {
                        render_cold(spec, mine)
                    } else {
                        render_shared(spec, mine)
                    }
                });
            }
        });
    })
}

fn magick(convert: &str, photo: &Path, out_dir: &Path, threads: Option<u32>) -> Option<Timing> {
    let font_bold = repo().join("crates/media/assets/fonts/NotoSans-Bold.ttf");
    let font_regular = repo().join("crates/media/assets/fonts/NotoSans-Regular.ttf");
    let run = || -> Option<()> {
        for i in 0..SLIDES {
            let mut cmd = Command::new(convert);
            if let Some(n) = threads {
                cmd.env("MAGICK_THREAD_LIMIT", n.to_string());
            }
            cmd.arg(photo)
                .args([
                    "-resize",
                    "1080x1350^",
                    "-gravity",
                    "center",
                    "-extent",
                    "1080x1350",
                ])
                .args(["-fill", "black", "-colorize", "40%"])
                .args([
                    "(",
                    "-size",
                    "904x",
                    "-background",
                    "none",
                    "-fill",
                    "white",
                ])
                .arg("-font")
                .arg(&font_bold)
                .args(["-pointsize", "76"])
                .arg(format!("caption:{TITLE} ({})", i + 1))
                .args([
                    ")",
                    "-gravity",
                    "southwest",
                    "-geometry",
                    "+88+330",
                    "-composite",
                ])
                .args([
                    "(",
                    "-size",
                    "904x",
                    "-background",
                    "none",
                    "-fill",
                    "white",
                ])
                .arg("-font")
                .arg(&font_regular)
                .args(["-pointsize", "40", &format!("caption:{BODY}")])
                .args([
                    ")",
                    "-gravity",
                    "southwest",
                    "-geometry",
                    "+88+96",
                    "-composite",
                ])
                .args(["-quality", "90", "-interlace", "none"])
                .arg(out_dir.join(format!("magick-{i}.jpg")));
            let status = cmd.output().ok()?;
            if !status.status.success() {
                eprintln!(
                    "convert failed: {}",
                    String::from_utf8_lossy(&status.stderr)
                );
                return None;
            }
        }
        Some(())
    };
    run()?; // warm the page cache and check it works
    let mut ok = true;
    let timing = measure(|| ok = run().is_some());
    ok.then_some(timing)
}

fn main() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let photo = large_photo(dir.path());
    let spec = spec(&photo);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    // Warm up: fonts, page cache, CPU feature detection.
    render_shared(&spec, 0..2);

    let shared_1 = best_of(3, || render_shared(&spec, 0..SLIDES));
    let cold_1 = best_of(3, || render_cold(&spec, 0..SLIDES));
    let shared_2 = two_threads(&spec, false);
    let cold_2 = two_threads(&spec, true);

    // Where the time of one slide goes (1 thread).
    let photo_bytes = std::fs::read(&photo).expect("reads");
    let (_, decoded) = ingest::decode(&photo_bytes, &IngestLimits::default()).expect("decodes");
    let stage_decode = best_of(5, || {
        ingest::decode(&photo_bytes, &IngestLimits::default()).expect("decodes");
    })
    .wall;
    let cropped = raster::cover(&decoded, 1080, 1350, (0.5, 0.5)).expect("crops");
    let stage_crop = best_of(5, || {
        raster::cover(&decoded, 1080, 1350, (0.5, 0.5)).expect("crops");
    })
    .wall;
    let stage_encode = best_of(5, || {
        ingest::encode_jpeg(&cropped, 90).expect("encodes");
    })
    .wall;

    let convert = std::env::var("MAGICK_CONVERT").unwrap_or_else(|_| "convert".into());
    let magick_1 = magick(&convert, &photo, dir.path(), Some(1));
    let magick_all = magick(&convert, &photo, dir.path(), None);

    println!();
    println!(
        "10 portrait slides (1080x1350) over a 4000x3000 JPEG: cover-crop, scrim, wrapped title + body, JPEG q90"
    );
    println!("machine: {cores} cores");
    println!();
    println!("{:<58} {:>10} {:>14}", "case", "wall ms", "CPU ms");
    println!("{:<58} {:>10} {:>14}", "", "per slide", "per slide");
    let row = |name: &str, t: Timing| {
        println!(
            "{name:<58} {:>10.1} {:>14.1}",
            per_slide(t.wall, SLIDES),
            per_slide(t.cpu, SLIDES)
        );
    };
    row(
        "natronfx, 1 thread, photo decoded once per carousel",
        shared_1,
    );
    row("natronfx, 1 thread, photo decoded for every slide", cold_1);
    row(
        "natronfx, 2 threads, photo decoded once per thread",
        shared_2,
    );
    row("natronfx, 2 threads, photo decoded for every slide", cold_2);
    let stage = |name: &str, d: Duration| println!("{name:<58} {:>10.1}", d.as_secs_f64() * 1000.0);
    stage("  stage: decode 4000x3000 JPEG", stage_decode);
    stage("  stage: cover-crop resize to 1080x1350", stage_crop);
    stage("  stage: JPEG q90 encode 1080x1350", stage_encode);
    match (magick_1, magick_all) {
        (Some(m1), Some(mall)) => {
            row("ImageMagick convert, 1 thread (MAGICK_THREAD_LIMIT=1)", m1);
            row("ImageMagick convert, default threads", mall);
            println!();
            let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
            println!("speed-up over ImageMagick (wall time / CPU time):");
            println!(
                "  1 thread, both decoding the photo for every slide:       {:>5.1}x / {:>5.1}x",
                ratio(m1.wall, cold_1.wall),
                ratio(m1.cpu, cold_1.cpu)
            );
            println!(
                "  1 thread, carousel with shared decode vs convert/slide:  {:>5.1}x / {:>5.1}x",
                ratio(m1.wall, shared_1.wall),
                ratio(m1.cpu, shared_1.cpu)
            );
            println!(
                "  all cores, both decoding for every slide:                {:>5.1}x / {:>5.1}x",
                ratio(mall.wall, cold_2.wall),
                ratio(mall.cpu, cold_2.cpu)
            );
        }
        _ => println!(
            "ImageMagick `{convert}` not available: comparison skipped (apt-get install imagemagick)"
        ),
    }
    println!(
        "machine load while measuring: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}
