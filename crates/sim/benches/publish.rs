//! End-to-end publish throughput: the real adapters against the simulator, which downloads every image
//! from a local image server. Prints a table; run with `cargo bench -p natronfx-sim`.

use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::header;
use axum::routing::get;
use image::{ImageFormat, Rgb, RgbImage};
use natronfx_platforms::{
    FacebookPublisher, GraphConfig, InstagramPublisher, Next, Platform, PrivacyLevel,
    PublishProgress, PublishRequest, PublishToggles, Publisher, RateLimit, TiktokConfig,
    TiktokPublisher,
};
use natronfx_sim::{Endpoint, GraphHost, SimConfig, Simulator, TiktokCreator};
use secrecy::SecretString;

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    RgbImage::from_pixel(w, h, Rgb([200, 120, 40]))
        .write_to(&mut out, ImageFormat::Jpeg)
        .expect("encode");
    out.into_inner()
}

async fn publish(
    publisher: &dyn Publisher,
    token: &SecretString,
    req: &PublishRequest,
    platform: Platform,
) {
    let mut progress = PublishProgress::start(platform);
    loop {
        let step = publisher
            .advance(token, req, &progress)
            .await
            .expect("step succeeds");
        progress = step.progress;
        match step.next {
            Next::Done(_) => return,
            Next::Continue | Next::PollAfter(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

struct Row {
    platform: &'static str,
    images: usize,
    concurrency: usize,
    posts: usize,
    elapsed: Duration,
    calls: u64,
}

#[tokio::main]
async fn main() {
    let portrait = jpeg(1080, 1350);
    let tall = jpeg(1080, 1920);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let images = format!("http://{}", listener.local_addr().expect("addr"));
    let app = Router::new()
        .route(
            "/portrait.jpg",
            get(move || async move { ([(header::CONTENT_TYPE, "image/jpeg")], portrait) }),
        )
        .route(
            "/tall.jpg",
            get(move || async move { ([(header::CONTENT_TYPE, "image/jpeg")], tall) }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });

    let config = SimConfig {
        enforce_rate_limits: false,
        tiktok_daily_post_cap: u32::MAX,
        instagram_quota_total: u32::MAX,
        ..SimConfig::default()
    };
    let sim = Simulator::start(config).await.expect("simulator");
    let unlimited = RateLimit::per_minute(u32::MAX);
    let tiktok = Arc::new(
        TiktokPublisher::new(TiktokConfig {
            base_url: sim.tiktok_base_url(),
            init_limit: unlimited,
            status_limit: unlimited,
            creator_info_limit: unlimited,
            ..TiktokConfig::default()
        })
        .expect("adapter"),
    );
    let mut ig_config = GraphConfig::with_host(sim.instagram_base_url(), "v25.0");
    ig_config.container_limit = RateLimit::per_day(u32::MAX);
    let instagram = Arc::new(InstagramPublisher::new(ig_config).expect("adapter"));
    let facebook = Arc::new(
        FacebookPublisher::new(GraphConfig::with_host(sim.facebook_base_url(), "v25.0"))
            .expect("adapter"),
    );

    let mut rows = Vec::new();
    for (platform, images_per_post) in [
        (Platform::Tiktok, 5),
        (Platform::Instagram, 5),
        (Platform::Facebook, 5),
    ] {
        for concurrency in [1usize, 8] {
            let posts = 80;
            let accounts: Vec<_> = (0..concurrency)
                .map(|_| match platform {
                    Platform::Tiktok => sim.add_tiktok_account(TiktokCreator::default()),
                    Platform::Instagram => sim.add_instagram_account("bench", GraphHost::Instagram),
                    Platform::Facebook => sim.add_facebook_page("bench"),
                })
                .collect();
            let url = if platform == Platform::Tiktok {
                format!("{images}/tall.jpg")
            } else {
                format!("{images}/portrait.jpg")
            };
            let calls_before: u64 = ALL.iter().map(|e| sim.calls(*e)).sum();
            let started = Instant::now();
            let mut tasks = Vec::new();
            for account in accounts {
                let publisher: Arc<dyn Publisher> = match platform {
                    Platform::Tiktok => tiktok.clone(),
                    Platform::Instagram => instagram.clone(),
                    Platform::Facebook => facebook.clone(),
                };
                let url = url.clone();
                tasks.push(tokio::spawn(async move {
                    let token = SecretString::from(account.token.clone());
                    let req = PublishRequest {
                        account_id: account.id.clone(),
                        title: Some("bench".into()),
                        caption: "bench #natron".into(),
                        image_urls: vec![url; images_per_post],
                        privacy_level: Some(PrivacyLevel::PublicToEveryone),
                        toggles: PublishToggles::default(),
                        is_aigc: false,
                        cover_index: 0,
                    };
                    for _ in 0..posts / concurrency {
                        publish(publisher.as_ref(), &token, &req, platform).await;
                    }
                }));
            }
            for task in tasks {
                task.await.expect("task");
            }
            let elapsed = started.elapsed();
            let calls: u64 = ALL.iter().map(|e| sim.calls(*e)).sum::<u64>() - calls_before;
            rows.push(Row {
                platform: platform.as_str(),
                images: images_per_post,
                concurrency,
                posts,
                elapsed,
                calls,
            });
        }
    }

    println!(
        "| platform | images/post | concurrency | posts | total ms | ms/post | posts/s | API calls/post |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for r in rows {
        let ms = r.elapsed.as_secs_f64() * 1000.0;
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.2} | {:.0} | {:.1} |",
            r.platform,
            r.images,
            r.concurrency,
            r.posts,
            ms,
            ms / r.posts as f64,
            r.posts as f64 / r.elapsed.as_secs_f64(),
            r.calls as f64 / r.posts as f64
        );
    }
    sim.shutdown().await.expect("shutdown");
}

const ALL: [Endpoint; 13] = [
    Endpoint::TiktokCreatorInfo,
    Endpoint::TiktokInit,
    Endpoint::TiktokStatus,
    Endpoint::TiktokVideoList,
    Endpoint::TiktokUserInfo,
    Endpoint::InstagramCreateContainer,
    Endpoint::InstagramPublish,
    Endpoint::InstagramPublishingLimit,
    Endpoint::InstagramMediaList,
    Endpoint::GraphObject,
    Endpoint::FacebookPhotos,
    Endpoint::FacebookFeed,
    Endpoint::FacebookFeedList,
];
