//! `natronfx media ...` and `natronfx render`: ingest files, list them, render carousel specs.

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use natronfx_service::workflow::User;
use natronfx_service::{Error, MediaView, Result, Service};

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
