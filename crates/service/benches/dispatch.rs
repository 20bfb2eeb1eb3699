//! The dispatcher's benchmark: engine throughput and TikTok pacing against the simulator, on SQLite with
//! one process and on PostgreSQL with one and two processes. Prints a table.
//!
//! ```text
//! cargo bench -p natronfx-service --bench dispatch -- [--targets 50000] [--pacing-accounts 1000]
//!     [--backends sqlite,postgres] [--scenarios engine,steady,pacing]
//! ```
//! PostgreSQL runs need `NATRONFX_TEST_POSTGRES_URL` (as the tests do). With two processes, the bench
//! starts a second copy of itself as a worker (`--worker DB SIM MEDIA`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use natronfx_service::store::Store;
use natronfx_service::testing::TestApp;
use natronfx_service::workflow::{
    Account, AccountId, AccountStatus, AltText, ApprovalPolicy, AuditAction, AuditEvent, Caption,
    Platform, Post, PostDraft, PostId, ScheduledAt, Slide, TargetOptions, TargetSpec, Title,
};
use natronfx_service::{DispatchConfig, Dispatcher, Publishers, Service, SystemClock};
use natronfx_sim::{ClockMode, SimConfig, Simulator};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn config() -> DispatchConfig {
    DispatchConfig {
        batch: 64,
        idle_poll_ms: 20,
        max_inline_poll_ms: 200,
        ..DispatchConfig::default()
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--worker") {
        worker(&args[i + 1], &args[i + 2], &args[i + 3]).await;
        return;
    }
    let targets: usize = arg("--targets")
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let pacing_accounts: usize = arg("--pacing-accounts")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let backends = arg("--backends").unwrap_or_else(|| "sqlite,postgres".into());
    let scenarios = arg("--scenarios").unwrap_or_else(|| "engine,steady,pacing".into());
    println!(
        "| scenario | backend | processes | targets | total | throughput | due→started p50 | p99 | notes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for backend in backends.split(',') {
        let runs: &[usize] = if backend == "postgres" { &[1, 2] } else { &[1] };
        for &processes in runs {
            if scenarios.contains("engine") {
                engine(backend, processes, targets).await;
            }
            if scenarios.contains("steady") {
                steady(backend, processes).await;
            }
            if scenarios.contains("pacing") && processes == 1 {
                pacing(backend, pacing_accounts).await;
            }
        }
    }
}

/// A child worker process: publishes until nothing is left.
async fn worker(db: &str, sim: &str, media: &str) {
    let root = std::env::temp_dir().join(format!("natronfx-bench-worker-{}", std::process::id()));
    let store = natronfx_media::LocalFolderStore::new(&root, media).expect("media");
    let service = Service::open(db)
        .await
        .expect("db")
        .with_media(Arc::new(store), Default::default());
    let publishers = Publishers::simulator(sim, Duration::from_secs(10)).expect("adapters");
    let dispatcher = Dispatcher::new(
        service.clone(),
        config(),
        Dispatcher::worker_name(),
        publishers.clone(),
        Some(publishers),
    );
    drain(&dispatcher, &service).await;
    let _ = std::fs::remove_dir_all(root);
}

async fn drain(dispatcher: &Dispatcher, service: &Service) {
    let mut idle = 0;
    loop {
        let report = dispatcher.run_once().await.expect("pass");
        if report.claimed == 0 {
            let depth = service.queue_depth().await.expect("depth");
            if depth.due + depth.in_flight + depth.waiting == 0 {
                idle += 1;
                if idle > 3 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        } else {
            idle = 0;
        }
    }
}

struct World {
    app: TestApp,
    sim: natronfx_sim::SimHandle,
    media: natronfx_service::workflow::MediaId,
    media_base: String,
}

async fn world(backend: &str, sim: SimConfig) -> World {
    let app = if backend == "postgres" {
        TestApp::postgres_served().await
    } else {
        TestApp::sqlite_served().await
    };
    let sim = Simulator::start(sim).await.expect("simulator");
    let media = app.photo(540, 675, 7).await;
    let view = app.service.media(&app.admin, media).await.expect("media");
    let media_base = view.url.rsplit_once('/').expect("a media URL").0.to_owned();
    World {
        app,
        sim,
        media,
        media_base,
    }
}

/// Inserts `accounts` sandbox accounts of `platform` and `per_account` posts on each, all due at the
/// instants `due(i)`; returns when it is done.
async fn seed(
    w: &World,
    platform: Platform,
    accounts: usize,
    per_account: usize,
    due: impl Fn(usize) -> DateTime<Utc>,
) {
    let store: &Arc<dyn Store> = w.app.service.store();
    let now = Utc::now();
    let mut n = 0;
    for a in 0..accounts {
        let account = Account {
            id: AccountId::random(),
            platform,
            external_id: format!("bench-{platform}-{a}"),
            display_name: format!("@bench.{platform}.{a}"),
            status: AccountStatus::Connected,
            sandbox: true,
            connected_by: None,
            created_at: now,
        };
        let ev = AuditEvent::new(
            now,
            None,
            AuditAction::AccountConnected,
            "account",
            account.id,
        );
        store.insert_account(&account, &ev).await.expect("account");
        for _ in 0..per_account {
            let draft = PostDraft {
                title: Title::parse("Bench").expect("title"),
                caption: Caption::parse(&format!("Bench post {n}")).expect("caption"),
                extra_hashtags: vec![],
                slides: vec![Slide {
                    media_id: w.media,
                    alt_text: AltText::parse("a bench").expect("alt"),
                }],
                targets: vec![TargetSpec {
                    platform,
                    account_id: account.id,
                    caption_override: None,
                    options: TargetOptions {
                        privacy_level: (platform == Platform::Tiktok).then(|| "SELF_ONLY".into()),
                        ..Default::default()
                    },
                }],
            };
            let (mut post, created) =
                Post::create(PostId::random(), &w.app.editor, draft, now).expect("post");
            post.submit(&w.app.editor, ApprovalPolicy::None, now)
                .expect("submit");
            let at = due(n);
            // Scheduling refuses the past; the instant is set as of one second before it.
            post.schedule(
                &w.app.editor,
                None,
                ScheduledAt::new(at, at - chrono::Duration::seconds(1)).expect("at"),
                at - chrono::Duration::seconds(1),
            )
            .expect("schedule");
            store
                .insert_post(post.snapshot(), &[created])
                .await
                .expect("insert");
            n += 1;
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Due→started latencies (ms) of every target, from the publish log.
async fn latencies(w: &World) -> Vec<f64> {
    let store = w.app.service.store();
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_posts(&natronfx_service::store::PostFilter {
                limit: 500,
                after: cursor,
                ..Default::default()
            })
            .await
            .expect("page");
        if page.is_empty() {
            break;
        }
        for summary in &page {
            let post = store.post(summary.id).await.expect("post");
            let log = store.publish_log(summary.id).await.expect("log");
            if let (Some(started), Some(at)) = (
                log.iter().find(|e| e.kind == "started"),
                post.targets[0].scheduled_at,
            ) {
                out.push(
                    (started.at - at.instant()).num_microseconds().unwrap_or(0) as f64 / 1000.0,
                );
            }
        }
        let last = page.last().expect("a page");
        cursor = Some(natronfx_service::store::PostCursor {
            updated_at: last.updated_at,
            id: last.id,
        });
    }
    out.sort_by(f64::total_cmp);
    out
}

/// Works the queue with `processes` processes (this one plus children) until it is empty.
async fn run_workers(w: &World, processes: usize) -> Duration {
    let sim_url = format!("http://{}", w.sim.addr());
    let started = Instant::now();
    let mut children = Vec::new();
    for _ in 1..processes {
        children.push(
            std::process::Command::new(std::env::current_exe().expect("exe"))
                .args(["--worker", &w.app.db.url, &sim_url, &w.media_base])
                .spawn()
                .expect("a worker process"),
        );
    }
    let publishers = Publishers::simulator(&sim_url, Duration::from_secs(10)).expect("adapters");
    let dispatcher = Dispatcher::new(
        w.app.service.clone(),
        config(),
        Dispatcher::worker_name(),
        publishers.clone(),
        Some(publishers),
    );
    drain(&dispatcher, &w.app.service).await;
    for mut c in children {
        c.wait().expect("worker exits");
    }
    started.elapsed()
}

fn real_time_sim() -> SimConfig {
    SimConfig {
        clock: ClockMode::Real,
        sandbox_tokens: true,
        processing_time: Duration::from_millis(1),
        polls_to_finish: 0,
        ..SimConfig::default()
    }
}

async fn app_on_real_clock(w: World) -> World {
    // The bench runs on the wall clock: the service's own clock must be the system's.
    let service = Service::new(w.app.service.store().clone(), Arc::new(SystemClock)).with_media(
        w.app.service.media_store_handle().expect("media").clone(),
        Default::default(),
    );
    let mut w = w;
    w.app.service = service;
    w
}

async fn engine(backend: &str, processes: usize, targets: usize) {
    let w = app_on_real_clock(world(backend, real_time_sim()).await).await;
    let t0 = Utc::now() + chrono::Duration::seconds(2);
    let seeding = Instant::now();
    seed(&w, Platform::Facebook, targets, 1, |_| t0).await;
    eprintln!("seeded {targets} targets in {:?}", seeding.elapsed());
    let wait = (t0 - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait).await;
    let total = run_workers(&w, processes).await;
    let published = w.sim.all_published().len();
    let lat = latencies(&w).await;
    println!(
        "| engine (all due at once, 1 target per account) | {backend} | {processes} | {targets} | {:.1} s | {:.0}/s | {:.0} ms | {:.0} ms | {published} published |",
        total.as_secs_f64(),
        targets as f64 / total.as_secs_f64(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
    );
}

async fn steady(backend: &str, processes: usize) {
    let w = app_on_real_clock(world(backend, real_time_sim()).await).await;
    let rate = 50.0; // targets per second
    let count = 1500;
    let t0 = Utc::now() + chrono::Duration::seconds(3);
    seed(&w, Platform::Facebook, count, 1, |i| {
        t0 + chrono::Duration::microseconds((i as f64 / rate * 1e6) as i64)
    })
    .await;
    let wait = (t0 - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait).await;
    let total = run_workers(&w, processes).await;
    let lat = latencies(&w).await;
    println!(
        "| steady ({rate:.0} targets/s due) | {backend} | {processes} | {count} | {:.1} s | {:.0}/s | {:.0} ms | {:.0} ms | {} published |",
        total.as_secs_f64(),
        count as f64 / total.as_secs_f64(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        w.sim.all_published().len()
    );
}

async fn pacing(backend: &str, accounts: usize) {
    let sim = SimConfig {
        enforce_rate_limits: true,
        ..real_time_sim()
    };
    let w = app_on_real_clock(world(backend, sim).await).await;
    let per_account = 10;
    let t0 = Utc::now() + chrono::Duration::seconds(2);
    seed(&w, Platform::Tiktok, accounts, per_account, |_| t0).await;
    let wait = (t0 - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait).await;
    let total = run_workers(&w, 1).await;
    // Six inits a minute per account: the 10th init can only start after one minute.
    let ideal = Duration::from_secs(60 * ((per_account as u64 - 1) / 6));
    let store = w.app.service.store();
    let mut refused = 0;
    let mut cursor = None;
    loop {
        let page = store
            .list_posts(&natronfx_service::store::PostFilter {
                limit: 500,
                after: cursor,
                ..Default::default()
            })
            .await
            .expect("page");
        let Some(last) = page.last() else { break };
        for s in &page {
            refused += store
                .publish_log(s.id)
                .await
                .expect("log")
                .iter()
                .filter(|e| e.error_code.as_deref() == Some("rate_limit_exceeded"))
                .count();
        }
        cursor = Some(natronfx_service::store::PostCursor {
            updated_at: last.updated_at,
            id: last.id,
        });
    }
    println!(
        "| pacing ({accounts} TikTok accounts × {per_account}) | {backend} | 1 | {} | {:.1} s | ideal {:.0} s ({:.0} % over) | | | {} published, {refused} rate_limit_exceeded |",
        accounts * per_account,
        total.as_secs_f64(),
        ideal.as_secs_f64(),
        (total.as_secs_f64() / ideal.as_secs_f64() - 1.0) * 100.0,
        w.sim.all_published().len(),
    );
}
