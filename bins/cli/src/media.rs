//! `natronfx media ...` and `natronfx render`: ingest files, list them, render carousel specs.

use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use natronfx_media::Fit;
use natronfx_media::render::{CanvasPreset, Color, FocalPoint};
use natronfx_service::workflow::User;
use natronfx_service::{
    Error, GenerateRequest, GeneratedMedia, ImageBackground, ImageQuality, ImageSize, MediaView,
    ProvenanceView, Result, Service, SlideFit,
};

use crate::args::MediaCommand;
use crate::output;

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        natronfx_service::workflow::Error::InvalidInput {
            field: "file",
            reason: format!("cannot read {}: {e}", path.display()),
        }
        .into()
    })
}

fn rows(media: &[MediaView]) -> Vec<Vec<String>> {
    media
        .iter()
        .map(|m| {
            vec![
                m.id.to_string(),
                format!("{}×{}", m.width, m.height),
                m.format.clone(),
                format!("{:.1} KB", m.bytes as f64 / 1000.0),
                m.source.clone(),
                m.url.clone(),
            ]
        })
        .collect()
}

const HEADERS: [&str; 6] = ["id", "size", "format", "bytes", "source", "url"];

/// Runs a `media` subcommand.
pub async fn media(service: &Service, actor: &User, cmd: MediaCommand, json: bool) -> Result<()> {
    let shown = match cmd {
        MediaCommand::Add { files } => {
            let mut added = Vec::new();
            for file in &files {
                let media = service
                    .add_media(actor, read(file)?)
                    .await
                    .inspect_err(|_| {
                        if !json {
                            eprintln!("{}: refused", file.display());
                        }
                    })?;
                added.push(media);
            }
            added
        }
        MediaCommand::List { limit } => service.list_media(actor, limit).await?,
        MediaCommand::Show { id } => {
            let id = id.parse().map_err(Error::from)?;
            vec![service.media(actor, id).await?]
        }
        MediaCommand::Provenance { id } => {
            let id = id.parse().map_err(Error::from)?;
            let records = service.media_provenance(actor, id).await?;
            if json {
                output::json(&records);
            } else {
                print_provenance(&records);
            }
            return Ok(());
        }
        generate @ MediaCommand::Generate { .. } => {
            return crate::media::generate(service, actor, generate, json).await;
        }
    };
    if json {
        output::json(&shown);
    } else {
        output::table(&HEADERS, rows(&shown));
    }
    Ok(())
}

/// Runs `render SPEC --out DIR`.
pub async fn render(
    service: &Service,
    actor: &User,
    spec_path: &Path,
    out: &Path,
    json: bool,
) -> Result<()> {
    let text = String::from_utf8(read(spec_path)?)
        .map_err(|_| invalid_spec("the spec is not UTF-8 text"))?;
    let is_json = spec_path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let spec = if is_json {
        natronfx_media::CarouselSpec::from_json_str(&text)
    } else {
        natronfx_media::CarouselSpec::from_toml_str(&text)
    }
    .map_err(Error::from)?;
    let options = natronfx_media::RenderOptions {
        base_dir: spec_path.parent().map(ToOwned::to_owned),
        ..Default::default()
    };
    std::fs::create_dir_all(out)
        .map_err(|e| invalid_spec(&format!("cannot create {}: {e}", out.display())))?;
    let bar = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(spec.slides.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("rendering {bar:30} {pos}/{len} slides")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let slides = service
        .render_media(actor, spec, options, |done, _| {
            bar.set_position(done as u64)
        })
        .await?;
    bar.finish_and_clear();
    let mut files = Vec::new();
    for (i, slide) in slides.iter().enumerate() {
        let path = out.join(format!("slide-{:02}.jpg", i + 1));
        let bytes = service.media_content(actor, slide.id).await?;
        std::fs::write(&path, bytes)
            .map_err(|e| invalid_spec(&format!("cannot write {}: {e}", path.display())))?;
        files.push(path);
    }
    if json {
        let items: Vec<_> = slides
            .iter()
            .zip(&files)
            .map(|(m, f)| serde_json::json!({ "file": f, "media": m }))
            .collect();
        output::json(&items);
    } else {
        for (m, f) in slides.iter().zip(&files) {
            println!("{}  media {}  {}×{}", f.display(), m.id, m.width, m.height);
        }
    }
    Ok(())
}

fn invalid_spec(reason: &str) -> Error {
    natronfx_service::workflow::Error::InvalidInput {
        field: "render",
        reason: reason.to_owned(),
    }
    .into()
}

fn invalid(field: &'static str, reason: String) -> Error {
    natronfx_service::workflow::Error::InvalidInput { field, reason }.into()
}

/// The `--fit`, `--canvas`, `--focus` and `--pad-color` options as a slide fit.
fn slide_fit(
    fit: Option<&str>,
    canvas: &str,
    focus: Option<&str>,
    pad_color: &str,
) -> Result<Option<SlideFit>> {
    let Some(fit) = fit else {
        if focus.is_some() {
            return Err(invalid("focus", "--focus needs --fit cover".into()));
        }
        return Ok(None);
    };
    let canvas: CanvasPreset =
        serde_json::from_value(serde_json::json!(canvas.trim())).map_err(|_| {
            invalid(
                "canvas",
                format!("`{canvas}` is not portrait, square or story"),
            )
        })?;
    let fit = match fit.trim() {
        "cover" => {
            let focus = match focus {
                None => FocalPoint::default(),
                Some(text) => {
                    let parsed = text
                        .split_once(',')
                        .and_then(|(x, y)| Some((x.trim().parse().ok()?, y.trim().parse().ok()?)));
                    let Some((x, y)) = parsed else {
                        return Err(invalid(
                            "focus",
                            format!("`{text}` is not X,Y (two fractions such as 0.5,0.3)"),
                        ));
                    };
                    FocalPoint { x, y }
                }
            };
            Fit::Cover { focus }
        }
        "pad" => Fit::Pad {
            color: Color::parse(pad_color).map_err(|_| {
                invalid(
                    "pad-color",
                    format!("`{pad_color}` is not a #rrggbb colour"),
                )
            })?,
        },
        other => {
            return Err(invalid("fit", format!("`{other}` is not cover or pad")));
        }
    };
    Ok(Some(SlideFit { canvas, fit }))
}

/// Runs `media generate`, with a spinner on standard error while the image model works.
async fn generate(service: &Service, actor: &User, cmd: MediaCommand, json: bool) -> Result<()> {
    let MediaCommand::Generate {
        prompt,
        size,
        quality,
        background,
        count,
        fit,
        canvas,
        focus,
        pad_color,
    } = cmd
    else {
        return Ok(());
    };
    let request = GenerateRequest {
        prompt,
        size: ImageSize::parse(&size).ok_or_else(|| {
            invalid(
                "size",
                format!("`{size}` is not 1024x1024, 1024x1536 or 1536x1024"),
            )
        })?,
        quality: ImageQuality::parse(&quality).ok_or_else(|| {
            invalid(
                "quality",
                format!("`{quality}` is not low, medium, high or auto"),
            )
        })?,
        background: ImageBackground::parse(&background).ok_or_else(|| {
            invalid(
                "background",
                format!("`{background}` is not opaque or auto"),
            )
        })?,
        n: count,
        fit: slide_fit(fit.as_deref(), &canvas, focus.as_deref(), &pad_color)?,
    };
    let spinner = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    spinner.set_message(format!(
        "generating {} {} image{}",
        request.n,
        request.size,
        if request.n == 1 { "" } else { "s" }
    ));
    spinner.enable_steady_tick(Duration::from_millis(120));
    let made = service.generate_media(actor, request).await;
    spinner.finish_and_clear();
    let made = made?;
    if json {
        output::json(&made);
    } else {
        print_generated(&made);
    }
    Ok(())
}

fn print_generated(made: &[GeneratedMedia]) {
    let mut rows = Vec::new();
    for g in made {
        for (role, m) in
            std::iter::once(("generated", &g.media)).chain(g.slide.as_ref().map(|s| ("slide", s)))
        {
            rows.push(vec![
                m.id.to_string(),
                role.to_owned(),
                format!("{}×{}", m.width, m.height),
                format!("{:.1} KB", m.bytes as f64 / 1000.0),
                m.url.clone(),
            ]);
        }
    }
    output::table(&["id", "image", "size", "bytes", "url"], rows);
    if let Some(first) = made.first() {
        let p = &first.provenance;
        println!(
            "{} by {} at {}, {} tokens: {:?}",
            p.size,
            p.model,
            p.requested_at.format("%Y-%m-%d %H:%M UTC"),
            p.usage["total_tokens"],
            p.prompt
        );
        println!("slides made from these images mark the post as AI-generated on TikTok");
    }
}

fn print_provenance(records: &[ProvenanceView]) {
    let rows = records
        .iter()
        .map(|p| {
            vec![
                p.requested_at.format("%Y-%m-%d %H:%M").to_string(),
                p.model.clone(),
                p.size.clone(),
                p.usage["total_tokens"].to_string(),
                p.requested_by.map(|u| u.to_string()).unwrap_or_default(),
                p.derived_from.map(|d| d.to_string()).unwrap_or_default(),
                p.prompt.clone(),
            ]
        })
        .collect();
    output::table(
        &[
            "requested",
            "model",
            "size",
            "tokens",
            "by",
            "derived from",
            "prompt",
        ],
        rows,
    );
}
