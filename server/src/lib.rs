//! The folio server process: configuration, the database (embedded or given), middleware,
//! the routes that are not Leptos pages, and [`serve`].
//!
//! [`router`] builds the whole application from an [`AppState`] without a socket, so tests drive
//! it with `oneshot`; `main.rs` only parses the command line and calls into here.

mod accept;
pub mod archive;
pub mod auth;
pub mod client;
pub mod config;
pub mod contact;
pub mod db;
pub mod editor;
pub mod embedded;
pub mod feeds;
pub mod health;
pub mod media;
pub mod observability;
pub mod page_cache;
pub mod rate_limit;
pub mod security;
pub mod seed;
mod statics;
pub mod vitals;

use crate::config::{Config, Database};
use crate::embedded::EmbeddedPostgres;
use crate::observability::{Metrics, REQUEST_ID};
use crate::page_cache::PageCache;
use crate::security::SecurityPolicy;
use app::SiteAssets;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use leptos::config::LeptosOptions;
use leptos::prelude::{AnyView, IntoAny, provide_context};
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use sqlx::PgPool;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

/// Everything a request handler may need; cheap to clone (axum clones the state of every
/// route a request passes, even one the page cache answers, so nothing here is cloned deep).
#[derive(Clone)]
pub struct AppState {
    pub leptos: Arc<LeptosOptions>,
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    pub assets: Arc<SiteAssets>,
    /// Rendered pages for anonymous visitors; off until [`page_cache::follow_changes`] runs.
    pub pages: Arc<PageCache>,
    /// The Web Vitals beacons' writer and limits.
    pub vitals: Arc<vitals::Ingest>,
}

impl FromRef<AppState> for Arc<Config> {
    fn from_ref(state: &AppState) -> Self {
        state.config.clone()
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        LeptosOptions::clone(&state.leptos)
    }
}

impl AppState {
    /// State for a configuration and an open, migrated pool. Starts the beacon writer, so it
    /// must be called inside a Tokio runtime.
    pub fn new(config: Config, pool: PgPool) -> Self {
        let assets = SiteAssets {
            vitals_sample_percent: config.vitals_sample_percent,
            ..statics::site_assets(&config.leptos, &config.public_url)
        };
        let vitals = vitals::Ingest::start(
            pool.clone(),
            config.vitals_limit_per_minute,
            &config.public_url,
        );
        Self {
            vitals: Arc::new(vitals),
            leptos: Arc::new(config.leptos.clone()),
            pool,
            config: Arc::new(config),
            metrics: Arc::new(Metrics::default()),
            assets: Arc::new(assets),
            pages: Arc::new(PageCache::default()),
        }
    }

    /// What every render needs from the server: the pool and the site's assets.
    pub fn leptos_context(&self) -> impl Fn() + Clone + Send + Sync + 'static {
        let pool = self.pool.clone();
        let assets = self.assets.clone();
        move || {
            provide_context(pool.clone());
            provide_context(SiteAssets::clone(&assets));
        }
    }

    /// The owner's session timeouts.
    pub fn timeouts(&self) -> auth::Timeouts {
        auth::Timeouts {
            idle: self.config.session_idle,
            absolute: self.config.session_absolute,
        }
    }

    /// The HTML document around the app.
    pub fn shell(&self) -> impl Fn() -> AnyView + Clone + Send + Sync + 'static {
        let assets = self.assets.clone();
        move || app::shell(SiteAssets::clone(&assets)).into_any()
    }
}

/// Renders the page `parts` asks for (as a GET) with `value` in its context: how a refused form
/// post gets its page back, showing what was typed and what needs fixing.
pub async fn render_with<T: Clone + Send + Sync + 'static>(
    state: &AppState,
    mut parts: axum::http::request::Parts,
    value: T,
) -> axum::response::Response {
    let base = state.leptos_context();
    let context = move || {
        base();
        provide_context(value.clone());
    };
    parts.method = axum::http::Method::GET;
    let render = leptos_axum::render_app_async_with_context(context, state.shell());
    render(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::empty(),
    ))
    .await
}

/// The page at `page` (a path on this site) again, with `value` in its context, answered with
/// `status`: a refused form's page showing what was typed and what needs fixing, a preview, a
/// conflict, an import's summary.
pub async fn render_again<T: Clone + Send + Sync + 'static>(
    state: &AppState,
    mut parts: axum::http::request::Parts,
    page: &str,
    value: T,
    status: axum::http::StatusCode,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    parts.uri = match page.parse() {
        Ok(uri) => uri,
        Err(error) => {
            tracing::error!(%error, page, "cannot render a page again");
            return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut response = render_with(state, parts, value).await;
    *response.status_mut() = status;
    response
}

/// The name of the owner's session cookie. `__Host-` makes browsers insist on Secure, Path=/
/// and no Domain, so no other site or subdomain can set or read it.
pub const SESSION_COOKIE: &str = "__Host-folio-session";

/// The page routes, found once per process. Leptos finds them by rendering the app with a
/// process-wide switch on that leaves every resource first polled meanwhile pending forever
/// (leptos#4773), so finding them again while another router serves pages (as the tests do, one
/// router per test on parallel threads) would hang that page's response.
static PAGE_ROUTES: LazyLock<Vec<AxumRouteListing>> =
    LazyLock::new(|| generate_route_list(app::App));

/// The whole application, ready to serve.
pub fn router(state: AppState) -> Router {
    let config = &state.config;
    let policy = Arc::new(SecurityPolicy {
        public_origin: config.public_url.clone(),
        hsts: config.is_https(),
    });

    let context = state.leptos_context();
    let shell = state.shell();
    let not_found = leptos_axum::render_app_async_with_context(context.clone(), shell.clone());

    // Only the owner's sign-in writes to a session, and tower-sessions sets a cookie only once
    // one is written to, so visitors get none.
    let sessions = SessionManagerLayer::new(PostgresStore::new(state.pool.clone()))
        .with_name(SESSION_COOKIE)
        .with_secure(true)
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_path("/")
        // The idle timeout itself is enforced (and logged) by `auth::identify`; the store keeps
        // a record an hour longer so that check sees it, then forgets it.
        .with_expiry(Expiry::OnInactivity(
            time::Duration::try_from(config.session_idle).unwrap_or(time::Duration::hours(2))
                + time::Duration::hours(1),
        ));

    let pages = Router::new()
        .leptos_routes_with_context(&state, PAGE_ROUTES.clone(), context, shell)
        // Matched pages only: 404s for made-up addresses are never stored.
        .route_layer(from_fn_with_state(
            (state.pages.clone(), state.pool.clone()),
            page_cache::layer,
        ));

    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/sitemap.xml", get(feeds::sitemap))
        .route("/feed.xml", get(feeds::atom))
        .route("/robots.txt", get(feeds::robots))
        .merge(pages)
        .route("/contact", post(contact::submit))
        .route(vitals::PATH, post(vitals::submit))
        .route("/sign-in", post(auth::sign_in))
        .route("/setup", post(auth::setup))
        .route("/sign-out", post(auth::sign_out))
        .route(
            "/owner/sign-out-everywhere",
            post(auth::sign_out_everywhere),
        )
        .route("/owner/password", post(auth::change_password))
        .route("/owner/inbox/{id}", post(auth::inbox_action))
        .route(
            "/owner/media",
            post(media::upload).layer(DefaultBodyLimit::max(media::UPLOAD_BODY_LIMIT)),
        )
        .route("/owner/media/{key}/delete", post(media::delete))
        .route("/owner/export", get(archive::download))
        .route(
            "/owner/import",
            post(archive::upload).layer(DefaultBodyLimit::max(archive::IMPORT_BODY_LIMIT)),
        )
        .route("/owner/import/confirm", post(archive::confirm))
        .route("/owner/new/{kind}", post(editor::create))
        .route("/owner/preview/{kind}", post(editor::live_preview))
        .route("/owner/edit/{kind}/{id}", post(editor::save))
        .route("/owner/edit/{kind}/{id}/duplicate", post(editor::duplicate))
        .route("/owner/edit/{kind}/{id}/delete", post(editor::delete))
        .route("/owner/edit/{kind}/{id}/move", post(editor::move_project))
        .route("/owner/history/{kind}/{id}/restore", post(editor::restore))
        .route(
            "/owner/history/{kind}/{id}/undelete",
            post(editor::undelete),
        )
        .route("/media/{file}", get(media::serve))
        .nest_service("/pkg", statics::pkg_service(&state.leptos))
        .fallback_service(statics::public_service(&state.leptos, not_found))
        .layer(from_fn_with_state(Arc::new(state.clone()), auth::identify))
        .layer(sessions)
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(4)))
        .layer(DefaultBodyLimit::max(config.body_limit))
        // Refuses an oversized Content-Length before reading a byte, and caps chunked bodies;
        // only the media upload may be larger.
        .layer(from_fn_with_state(config.body_limit, security::body_limit))
        .layer(from_fn_with_state(policy.clone(), security::same_origin))
        .layer(from_fn_with_state(policy, security::headers))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(from_fn_with_state(
            state.metrics.clone(),
            observability::log_requests,
        ))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
        .with_state(state)
}

/// Why folio could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Embedded(#[from] embedded::EmbeddedError),
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("serving failed: {0}")]
    Serve(std::io::Error),
    #[error(transparent)]
    Seed(#[from] seed::SeedError),
}

/// The database folio runs on, and the embedded cluster behind it if there is one.
pub struct OpenDatabase {
    pub pool: PgPool,
    pub embedded: Option<EmbeddedPostgres>,
}

/// Starts the embedded cluster (when no URL is configured), connects and migrates.
pub async fn open_database(config: &Config) -> Result<OpenDatabase, StartError> {
    let (options, embedded) = match &config.database {
        Database::Url(url) => (db::options_from_url(url)?, None),
        Database::Embedded { postgres_bin } => {
            let mut cluster = EmbeddedPostgres::new(&config.data_dir, postgres_bin.as_deref())?;
            cluster.start().await?;
            (cluster.connect_options(), Some(cluster))
        }
    };
    let pool = match db::connect(options, config.db_max_connections).await {
        Ok(pool) => pool,
        Err(error) => {
            if let Some(mut cluster) = embedded {
                let _ = cluster.stop().await;
            }
            return Err(error.into());
        }
    };
    db::migrate(&pool).await?;
    if config.demo_content {
        seed::demo_content(&pool).await?;
    }
    Ok(OpenDatabase { pool, embedded })
}

/// Serves until SIGINT or SIGTERM, then lets open requests finish (up to the configured grace
/// period), closes the pool and stops the embedded cluster if folio started it.
pub async fn serve(config: Config) -> Result<(), StartError> {
    let OpenDatabase { pool, mut embedded } = open_database(&config).await?;
    let addr = config.leptos.site_addr;
    let grace = config.shutdown_timeout;
    let public_url = config.public_url.clone();
    let state = AppState::new(config, pool.clone());
    auth::password::warm_up();
    if let Err(error) = auth::setup::announce(&pool, &public_url).await {
        tracing::error!(%error, "cannot create a setup link");
    }
    tokio::spawn(sessions_cleanup(pool.clone()));
    tokio::spawn(auth::janitor(pool.clone()));
    tokio::spawn(rate_limit::janitor(pool.clone()));
    tokio::spawn(vitals::upkeep::janitor(
        pool.clone(),
        state.config.vitals_retention_days,
    ));
    tokio::spawn(page_cache::follow_changes(
        state.pages.clone(),
        pool.clone(),
    ));

    let result = async {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?
            // Responses written as headers then body would otherwise wait ~40 ms for the
            // client's delayed ACK (Nagle's algorithm) on every reused connection.
            .tap_io(|tcp| {
                if let Err(error) = tcp.set_nodelay(true) {
                    tracing::debug!(%error, "cannot set TCP_NODELAY");
                }
            });
        tracing::info!(%addr, "folio is listening");
        println!("folio is serving on http://{addr} (public address {public_url})");
        let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            shutdown_signal().await;
            let _ = stop_tx.send(());
        });
        tokio::select! {
            served = server => served.map_err(StartError::Serve),
            () = async {
                let _ = stop_rx.await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(grace_secs = grace.as_secs(), "requests still open after the grace period; stopping anyway");
                Ok(())
            }
        }
    }
    .await;

    pool.close().await;
    if let Some(cluster) = embedded.as_mut()
        && let Err(error) = cluster.stop().await
    {
        tracing::error!(%error, "stopping the embedded database failed");
    }
    tracing::info!("folio stopped");
    result
}

/// Deletes expired sessions once an hour.
async fn sessions_cleanup(pool: PgPool) {
    use tower_sessions::session_store::ExpiredDeletion;
    let store = PostgresStore::new(pool);
    if let Err(error) = store
        .continuously_delete_expired(std::time::Duration::from_secs(3600))
        .await
    {
        tracing::error!(%error, "expired-session cleanup stopped");
    }
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(error) => {
            tracing::error!(%error, "cannot listen for SIGTERM");
            std::future::pending::<()>().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received; shutting down"),
        _ = term.recv() => tracing::info!("SIGTERM received; shutting down"),
    }
}
