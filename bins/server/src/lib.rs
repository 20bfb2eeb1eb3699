//! The NatronFX HTTP server: the JSON API with its OpenAPI document, the dashboard, public media, health
//! checks and metrics, as a library so that tests and host applications can mount the router or serve it
//! on their own listener.

mod api;
mod auth;
mod error;
mod media;
mod metrics;
mod state;
mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{from_fn, from_fn_with_state};
use natronfx_service::{Config, Service};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use api::openapi;
pub use error::ApiError;
pub use metrics::Metrics;
pub use state::{AppState, WebSettings};

/// Command-line flags of `natronfx-server`.
#[derive(Debug, clap::Parser)]
#[command(
    name = "natronfx-server",
    version,
    about = "NatronFX Publisher HTTP server"
)]
pub struct Args {
    /// Configuration file (TOML); see natronfx.example.toml.
    #[arg(long, env = "NATRONFX_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL; overrides the configuration.
    #[arg(long, env = "NATRONFX_DB")]
    pub db: Option<String>,
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port); overrides the configuration.
    #[arg(long)]
    pub listen: Option<String>,
    /// Serve HTTP only: do not run the publishing workers here (`natronfx worker` runs them).
    #[arg(long)]
    pub no_workers: bool,
}

/// Builds the whole application router over `service`, with its own metrics. With the `local` media
/// backend, the media folder is served publicly under `/m/`.
pub fn router(service: Service, config: &Config) -> anyhow::Result<Router> {
    app(service, config, Arc::new(Metrics::default()))
}

/// [`router`] reporting into `metrics`, so that the host (the dispatcher, the token refresher) can feed the
/// same `/metrics`.
pub fn app(service: Service, config: &Config, metrics: Arc<Metrics>) -> anyhow::Result<Router> {
    let web = Arc::new(WebSettings::from_config(config));
    let state = AppState {
        service: service.with_observer(metrics.clone()),
        web: web.clone(),
        metrics,
    };
    let mut app = Router::new()
        .merge(api::health_routes())
        .route("/metrics", axum::routing::get(metrics::serve))
        .nest("/api/v1", api::routes())
        .merge(web::routes());
    if config.media.backend == "local" {
        let folder = natronfx_media::LocalFolderStore::new(
            &config.media.root,
            &config.media.public_base_url,
        )
        .with_context(|| format!("opening the media folder {}", config.media.root))?;
        app = app
            .route("/m/{key}", axum::routing::get(media::serve))
            .layer(axum::Extension(media::PublicMedia(std::sync::Arc::new(
                folder,
            ))));
    }
    let header =
        |v: &str| HeaderValue::from_str(v).unwrap_or_else(|_| HeaderValue::from_static(""));
    Ok(app
        // Route layers (they see the matched route): CSRF first, then counting, so refusals count too.
        .layer(from_fn_with_state(state.clone(), auth::csrf_guard))
        .layer(from_fn_with_state(state.clone(), metrics::track))
        .with_state(state)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(config.server.request_timeout_secs),
        ))
        .layer(RequestBodyLimitLayer::new(config.server.max_body_bytes))
        // Outside the limits, so that their refusals get the API's error body too.
        .layer(from_fn(error::json_errors_under_api))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            header(&web.csp),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(TraceLayer::new_for_http())
        // Outside the trace layer, so that it sees these headers already marked sensitive.
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
        .layer(CatchPanicLayer::custom(error::panic_response)))
}

/// Serves `service` on `listener` until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    service: Service,
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(service, config).map_err(std::io::Error::other)?;
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Resolves when the process is asked to stop (SIGTERM or Ctrl-C). The handlers are installed when this
/// is called, not when the future is first polled, so a stop asked for as soon as the server says it
/// listens is still graceful.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    #[cfg(unix)]
    let int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    async move {
        #[cfg(unix)]
        {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(term) => {},
                () = wait(int) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutdown requested; finishing in-flight requests");
    }
}

fn install_tracing(config: &Config) {
    // `RUST_LOG`, when set to something, wins over `[log] filter`.
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|f| !f.trim().is_empty())
        .unwrap_or_else(|| config.log.filter.clone());
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if config.log.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// On a database with no users: the first admin (`server.first_admin_email`, the password from
/// `NATRONFX_ADMIN_PASSWORD` or made up and printed here, once) and the sandbox accounts, so that a new
/// team can take a post from draft to published at once.
async fn first_run(service: &Service, config: &Config) -> anyhow::Result<()> {
    let password = std::env::var("NATRONFX_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .map(secrecy::SecretString::from);
    let Some(admin) = service
        .first_run(&config.server.first_admin_email, password)
        .await
        .context("creating the first admin")?
    else {
        return Ok(());
    };
    println!(
        "first run: created the admin {} and sandbox accounts for TikTok, Instagram and Facebook",
        admin.user.email
    );
    match &admin.generated_password {
        Some(password) => {
            use secrecy::ExposeSecret as _;
            println!(
                "  password: {}  (shown this once: sign in and change it under Settings)",
                password.expose_secret()
            );
        }
        None => println!("  password: the one in NATRONFX_ADMIN_PASSWORD"),
    }
    Ok(())
}

/// The binary's whole life: configuration, database, listener, serve, stop.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(db) = args.db {
        config.database.url = db;
    }
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    install_tracing(&config);
    let service = Service::from_config(&config).await.with_context(|| {
        format!(
            "opening {}",
            natronfx_service::store::redact_url(&config.database.url)
        )
    })?;
    // Publish outcomes and token refreshes of this process's workers and requests count into /metrics.
    let metrics = Arc::new(Metrics::default());
    let service = service.with_observer(metrics.clone());
    let listener = TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| format!("listening on {}", config.server.listen))?;
    let addr = listener.local_addr()?;
    let shutdown = shutdown_signal();
    first_run(&service, &config).await?;
    let workers = if config.dispatch.enabled && !args.no_workers {
        Some(natronfx_service::Workers::start(service.clone(), &config).await?)
    } else {
        None
    };
    println!(
        "natronfx-server listening on http://{addr} (database: {}, workers: {}); dashboard at {}",
        service.store().backend(),
        workers
            .as_ref()
            .map_or("off".to_owned(), |w| w.dispatcher().worker().to_owned()),
        config.server.public_url
    );
    if WebSettings::from_config(&config).secure_cookies
        && config.server.public_url.starts_with("http://")
    {
        println!(
            "note: session cookies are Secure, so signing in needs https; server.public_url ({}) is plain http \
             and not on localhost",
            config.server.public_url
        );
    }
    // Hourly: sessions nobody comes back for are removed (an expired one is also removed when it is used),
    // and tokens about to expire are refreshed.
    let purger = service.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            if let Err(e) = purger.purge_expired_sessions().await {
                tracing::warn!(error = %e, "could not purge expired sessions");
            }
            // Tokens expiring within the sweep window are refreshed ahead of need.
            match purger.refresh_sweep(chrono::Utc::now()).await {
                Ok(report) => tracing::info!(?report, "token refresh sweep"),
                Err(e) => tracing::warn!(code = e.code(), error = %e, "token refresh sweep failed"),
            }
        }
    });
    // Daily: the retention policy ([retention]) deletes what it no longer keeps.
    if config.retention.enabled {
        let keeper = service.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(24 * 3600));
            loop {
                every.tick().await;
                match keeper.run_retention(None, chrono::Utc::now(), false).await {
                    Ok(report) => tracing::info!(?report, "retention run"),
                    Err(e) => tracing::warn!(code = e.code(), error = %e, "retention run failed"),
                }
            }
        });
    }
    let app = app(service, &config, metrics)?;
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    if let Some(workers) = workers {
        // Every target a worker holds reaches a resting point and is released before the process ends.
        workers.stop().await?;
    }
    println!("natronfx-server stopped");
    Ok(())
}
