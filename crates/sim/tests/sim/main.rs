//! Integration tests: the real adapters from `natronfx-platforms` against the running simulator, which
//! downloads test images from a small local image server.

mod chaos;
mod facebook;
mod instagram;
mod oauth;
mod openai;
mod sandbox;
mod tiktok;
mod wire;

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use image::{ImageFormat, Rgb, RgbImage};
use natronfx_platforms::{
    GraphConfig, Next, PlatformError, PrivacyLevel, PublishProgress, PublishRequest,
    PublishToggles, Published, Publisher, RateLimit, TiktokConfig,
};
use natronfx_sim::{SimConfig, SimHandle, Simulator};
use secrecy::SecretString;

/// Client timeout used against the simulator: hangs end quickly.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);

/// A simulator plus an image server it can fetch from.
pub struct World {
    /// The simulator.
    pub sim: SimHandle,
    images: String,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("images", &self.images)
            .finish_non_exhaustive()
    }
}

impl World {
    /// A JPEG of the given size (served over http on loopback).
    pub fn jpeg(&self, w: u32, h: u32) -> String {
        format!("{}/img/{w}x{h}.jpg", self.images)
    }

    /// A PNG of the given size.
    pub fn png(&self, w: u32, h: u32) -> String {
        format!("{}/img/{w}x{h}.png", self.images)
    }

    /// A URL that answers 404.
    pub fn missing(&self) -> String {
        format!("{}/nothing-here.jpg", self.images)
    }

    /// TikTok adapter config pointing at the simulator, with the local limiter out of the way.
    pub fn tiktok_config(&self) -> TiktokConfig {
        TiktokConfig {
            base_url: self.sim.tiktok_base_url(),
            timeout: CLIENT_TIMEOUT,
            init_limit: RateLimit::per_minute(1000),
            status_limit: RateLimit::per_minute(1000),
            creator_info_limit: RateLimit::per_minute(1000),
            ..TiktokConfig::default()
        }
    }

    /// Graph config for the Instagram Login host.
    pub fn instagram_config(&self) -> GraphConfig {
        let mut config = GraphConfig::with_host(self.sim.instagram_base_url(), "v25.0");
        config.timeout = CLIENT_TIMEOUT;
        config
    }

    /// Graph config for the Facebook Login host.
    pub fn facebook_config(&self) -> GraphConfig {
        let mut config = GraphConfig::with_host(self.sim.facebook_base_url(), "v25.0");
        config.timeout = CLIENT_TIMEOUT;
        config
    }
}

async fn image(Path(spec): Path<String>) -> impl IntoResponse {
    let Some((dims, ext)) = spec.rsplit_once('.') else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some((w, h)) = dims
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (format, mime) = match ext {
        "jpg" => (ImageFormat::Jpeg, "image/jpeg"),
        "png" => (ImageFormat::Png, "image/png"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    static CACHE: OnceLock<Mutex<HashMap<String, Vec<u8>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(bytes) = cache.lock().expect("cache").get(&spec).cloned() {
        return ([(header::CONTENT_TYPE, mime)], bytes).into_response();
    }
    let img = RgbImage::from_pixel(w, h, Rgb([200, 120, 40]));
    let mut out = Cursor::new(Vec::new());
    if img.write_to(&mut out, format).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let bytes = out.into_inner();
    cache.lock().expect("cache").insert(spec, bytes.clone());
    ([(header::CONTENT_TYPE, mime)], bytes).into_response()
}

/// Start a simulator and an image server.
pub async fn world(config: SimConfig) -> World {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind image server");
    let images = format!("http://{}", listener.local_addr().expect("addr"));
    let app = Router::new().route("/img/{spec}", get(image));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let sim = Simulator::start(config).await.expect("simulator starts");
    World { sim, images }
}

/// A simulator with default settings.
pub async fn default_world() -> World {
    world(SimConfig {
        hang_for: Duration::from_secs(5),
        ..SimConfig::default()
    })
    .await
}

/// A request to `account` with these images.
pub fn request(account: &str, urls: Vec<String>) -> PublishRequest {
    PublishRequest {
        account_id: account.into(),
        title: Some("Autumn drop".into()),
        caption: "Three new colours #autumn".into(),
        image_urls: urls,
        privacy_level: Some(PrivacyLevel::PublicToEveryone),
        toggles: PublishToggles::default(),
        is_aigc: false,
        cover_index: 0,
    }
}

/// A token as the adapters take it.
pub fn secret(token: &str) -> SecretString {
    SecretString::from(token.to_owned())
}

/// How a drive ended.
#[derive(Debug)]
pub enum End {
    /// Published.
    Done(Published),
    /// The platform ended the attempt.
    Failed(PlatformError),
    /// A call failed.
    Err(PlatformError),
}

/// Advance until done, failed or an error (poll delays are skipped: the simulator counts polls).
pub async fn drive(
    publisher: &dyn Publisher,
    token: &SecretString,
    req: &PublishRequest,
    mut progress: PublishProgress,
) -> (PublishProgress, End) {
    for _ in 0..60 {
        match publisher.advance(token, req, &progress).await {
            Err(e) => return (progress, End::Err(e)),
            Ok(step) => {
                progress = step.progress;
                match step.next {
                    Next::Continue | Next::PollAfter(_) => {}
                    Next::Done(p) => return (progress, End::Done(p)),
                    Next::Failed(e) => return (progress, End::Failed(e)),
                    other => panic!("unexpected step {other:?}"),
                }
            }
        }
    }
    panic!("publish did not end in 60 steps")
}
