//! `lunora serve`: the streaming and admin dashboards and the HTTP API,
//! a second face over the same operations as the CLI.
//!
//! Why a module of its own: an event crew works from a browser, a tablet
//! or a Stream Deck, not from the deployer's terminal. The handlers here
//! parse a request, call an operation in [`crate::ops`] and answer with
//! the same versioned JSON documents as `--output json` (or a page
//! rendered from them); they hold no AWS logic of their own.
//!
//! - [`auth`]: the bearer token and where the server may listen.
//! - [`live`]: the one status reading every client shares, and the SSE
//!   event stream.
//! - [`api`]: the JSON endpoints and their errors.
//! - [`edit`]: the admin page's destination form: preview an edit of
//!   lunora.yaml, then confirm it (never a deploy).
//! - [`pages`]: the two pages, server-side minijinja templates with their
//!   CSS and JavaScript embedded in the binary (no CDN, works offline).
//!
//! Security: loopback by default; a token for anything that changes state
//! (and for everything with `--token-required`, which non-loopback
//! addresses need); `--read-only` serves pages and GETs only. No response
//! and no log line carries a stream key, passphrase or other secret value:
//! the documents served are the CLI's, which never hold one.

pub mod api;
pub mod auth;
pub mod edit;
pub mod live;
pub mod pages;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::watch;

use crate::aws::Aws;
use crate::config::Deployment;
use api::ApiError;
use auth::Token;
use live::Live;

/// How the server was asked to run.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// Pages and GET endpoints only.
    pub read_only: bool,
    /// Every request under `/api/` and `/fragments/` needs the token,
    /// reads included.
    pub token_required: bool,
    /// How often the shared reading is refreshed while a page watches.
    pub refresh: Duration,
}

/// What every handler shares.
pub struct Server {
    pub aws: Aws,
    pub token: Token,
    pub options: ServeOptions,
    pub live: Arc<Live>,
    pub pages: pages::Pages,
    /// The preset and platform documents, read at start.
    pub presets: String,
    pub platforms: String,
    /// One action (start, stop, failover, an edit of lunora.yaml) at a
    /// time: a second one gets 409 naming the one under way.
    pub action: Arc<tokio::sync::Mutex<()>>,
    pub action_label: std::sync::Mutex<Option<String>>,
    /// The latest thumbnail of each destination and when it was fetched:
    /// every page asks after every reading, AWS is asked at most once per
    /// [`api::THUMBNAIL_TTL`] per destination.
    pub thumbnails: std::sync::Mutex<std::collections::HashMap<String, Thumbnail>>,
    /// Flips to true when the server stops; ends the event streams.
    pub stopping: watch::Receiver<bool>,
}

pub type Shared = Arc<Server>;

impl Server {
    /// A server for `deployment`, with no action under way; `presets` and
    /// `platforms` are the documents `GET /api/admin/presets|platforms`
    /// answer.
    pub fn new(
        deployment: Deployment,
        aws: Aws,
        token: Token,
        options: ServeOptions,
        catalog: (String, String),
        stopping: watch::Receiver<bool>,
    ) -> anyhow::Result<Self> {
        let (presets, platforms) = catalog;
        Ok(Self {
            live: Arc::new(Live::new(
                aws.clone(),
                Arc::new(deployment),
                options.refresh,
            )),
            aws,
            token,
            pages: pages::Pages::new()?,
            presets,
            platforms,
            action: Arc::new(tokio::sync::Mutex::new(())),
            action_label: std::sync::Mutex::new(None),
            thumbnails: std::sync::Mutex::default(),
            stopping,
            options,
        })
    }

    /// The config served now: the one the server started with, or the
    /// file as last written through the form or by hand
    /// ([`Live::check_file`]).
    pub fn deployment(&self) -> Arc<Deployment> {
        self.live.deployment()
    }
}

/// A destination's thumbnail (JPEG) and when it was fetched.
pub type Thumbnail = (std::time::Instant, Arc<Vec<u8>>);

/// Every route.
pub fn router(server: Shared) -> Router {
    Router::new()
        .route("/", get(pages::streaming))
        .route("/admin", get(pages::admin))
        .route("/fragments/live", get(pages::live_fragment))
        .route("/fragments/admin", get(pages::admin_fragment))
        .route("/assets/{file}", get(pages::asset))
        .route("/api/channels/status", get(api::channels_status))
        .route("/api/mediaconnect/flow/status", get(api::flow_status))
        .route("/api/mediaconnect/inputs/health", get(api::inputs_health))
        .route("/api/admin/platforms", get(api::platforms))
        .route("/api/admin/presets", get(api::presets))
        .route("/api/destinations/{id}/thumbnail", get(api::thumbnail))
        .route("/api/destinations/{id}/start-channel", post(api::start))
        .route("/api/destinations/{id}/stop-channel", post(api::stop))
        .route("/api/mediaconnect/failover", post(api::failover))
        .route("/api/admin/destinations/preview", post(edit::preview_add))
        .route("/api/admin/destinations", post(edit::add))
        .route(
            "/api/admin/destinations/{id}/remove/preview",
            post(edit::preview_remove),
        )
        .route("/api/admin/destinations/{id}/remove", post(edit::remove))
        .route("/api/events", get(api::events))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(api::BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&server),
            guard,
        ))
        .with_state(server)
}

/// Needs the token for what changes state (and for every read with
/// `--token-required`), refuses changes in `--read-only`, and sets the
/// security headers on every response.
async fn guard(State(s): State<Shared>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let data = path.starts_with("/api/") || path.starts_with("/fragments/");
    let changes = !matches!(*request.method(), Method::GET | Method::HEAD);
    let mut response = if changes && s.options.read_only {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "read_only",
            "this server is read-only (`lunora serve --read-only`): it serves pages and GET endpoints only",
        )
        .into_response()
    } else if (changes || (data && s.options.token_required))
        && !s.token.accepts(
            request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
        )
    {
        let mut r = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this needs the server's token as `Authorization: Bearer <token>` (printed by `lunora serve` at start, or the value of LUNORA_SERVE_TOKEN)",
        )
        .into_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        r
    } else {
        next.run(request).await
    };
    let h = response.headers_mut();
    // Only this server's own files: no inline script, no CDN, no framing.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Serves on `listener` until `stop` resolves; then ends the event
/// streams and waits at most 5 s for requests under way.
pub async fn serve(
    listener: tokio::net::TcpListener,
    server: Shared,
    stopping: watch::Sender<bool>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let refresher = tokio::spawn(Arc::clone(&server.live).run());
    let app = router(server).into_make_service_with_connect_info::<SocketAddr>();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let graceful = axum::serve(listener, app).with_graceful_shutdown(async move {
        stop.await;
        let _ = stopping.send(true);
        let _ = done_tx.send(());
    });
    let served = tokio::spawn(async move { graceful.await });
    let result = tokio::select! {
        r = served => r.map_err(anyhow::Error::from).and_then(|r| r.map_err(anyhow::Error::from)),
        () = async {
            let _ = done_rx.await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        } => Ok(()),
    };
    refresher.abort();
    result
}
