//! Renders a carousel spec file (`.toml` or `.json`) to numbered JPEGs: `render_spec SPEC OUT_DIR`.

use std::path::PathBuf;

use natronfx_media::{CarouselSpec, NoMedia, RenderOptions, render_carousel};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(spec_path), Some(out_dir)) = (args.next(), args.next()) else {
        eprintln!("usage: render_spec SPEC.toml|SPEC.json OUT_DIR");
        std::process::exit(2);
    };
    let spec_path = PathBuf::from(spec_path);
    let spec = CarouselSpec::from_path(&spec_path)?;
    let slides = render_carousel(&spec, &NoMedia, &RenderOptions::for_spec_file(&spec_path))?;
    std::fs::create_dir_all(&out_dir)?;
    let stem = spec_path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("slide");
    for (i, slide) in slides.iter().enumerate() {
        let path = PathBuf::from(&out_dir).join(format!("{stem}-{}.jpg", i + 1));
        std::fs::write(&path, &slide.bytes)?;
        println!(
            "{} {}x{} {} bytes",
            path.display(),
            slide.width,
            slide.height,
            slide.bytes.len()
        );
    }
    Ok(())
}
