//! The JSON endpoints: the original API's paths, answering with the same
//! versioned documents as `--output json` (`lunora.<kind>/v1`), and
//! errors as a `lunora.error/v1` document with a stable `code`, a
//! `message` and an HTTP status that fits.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream, StreamExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Server, Shared};
use crate::health::{Feed, Verdict};
use crate::ops::status::{FlowState, SourceStatus, StatusReading};
use crate::output::Envelope;

/// The largest request body taken (a failover's `{"to":"backup"}` is 15
/// bytes; the admin page's destination form, with its ARN, a few hundred).
pub const BODY_LIMIT: usize = 4096;

/// An error answer: `{"schema":"lunora.error/v1", ..., "code", "message"}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorDocument {
    /// Stable, for programs: `unauthorized`, `read_only`, `not_found`,
    /// `unknown_destination`, `bad_request`, `busy`, `refused`,
    /// `not_running`, `no_thumbnail`, `too_large`, `aws_error`,
    /// `method_not_allowed`, `changed` (lunora.yaml changed since the
    /// preview), `write_failed`, `internal`.
    pub code: String,
    /// For people: what went wrong, and a hint.
    pub message: String,
}

/// An error with its HTTP status.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub doc: ErrorDocument,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            doc: ErrorDocument {
                code: code.to_owned(),
                message: message.into(),
            },
        }
    }

    /// A failure while reading or acting on AWS: 502, with the reason.
    pub fn aws(e: &anyhow::Error) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, "aws_error", format!("{e:#}"))
    }

    /// The document as JSON (for the event stream).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&Envelope::new("error", &self.doc)).unwrap_or_default()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            self.to_json(),
        )
            .into_response()
    }
}

/// A document of `kind` as a JSON response.
pub fn document<R: Serialize>(kind: &str, report: &R) -> Response {
    match serde_json::to_string(&Envelope::new(kind, report)) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("cannot write the {kind} document: {e}"),
        )
        .into_response(),
    }
}

/// JSON that is already a document.
fn raw_document(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The flow: `GET /api/mediaconnect/flow/status`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowStatusDocument {
    pub deployment: String,
    pub region: String,
    /// When the reading was taken: RFC 3339.
    pub read_at: String,
    /// The ingest's verdict and its reason.
    pub verdict: Verdict,
    pub reason: String,
    pub since: Option<String>,
    /// `srt://ip:port` of the primary and backup sources.
    pub endpoint: Option<String>,
    pub backup_endpoint: Option<String>,
    pub flow: FlowState,
    /// The source in use, and how lunora knows (`metric` or `inferred`).
    pub active_source: Option<String>,
    pub active_from: Option<String>,
}

impl FlowStatusDocument {
    pub fn of(r: &StatusReading) -> Self {
        let i = &r.ingest;
        Self {
            deployment: r.deployment.clone(),
            region: r.region.clone(),
            read_at: r.read_at.clone(),
            verdict: i.verdict,
            reason: i.reason.clone(),
            since: i.since.clone(),
            endpoint: i.endpoint.clone(),
            backup_endpoint: i.backup_endpoint.clone(),
            flow: i.flow.clone(),
            active_source: i.active_source.clone(),
            active_from: i.active_from.clone(),
        }
    }
}

/// The SRT sources: `GET /api/mediaconnect/inputs/health`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputsHealthDocument {
    pub deployment: String,
    pub region: String,
    /// When the reading was taken: RFC 3339.
    pub read_at: String,
    pub active_source: Option<String>,
    pub active_from: Option<String>,
    /// Primary first, then the backup.
    pub sources: Vec<SourceStatus>,
    /// What the encoder sends.
    pub feed: Option<Feed>,
}

impl InputsHealthDocument {
    pub fn of(r: &StatusReading) -> Self {
        let i = &r.ingest;
        Self {
            deployment: r.deployment.clone(),
            region: r.region.clone(),
            read_at: r.read_at.clone(),
            active_source: i.active_source.clone(),
            active_from: i.active_from.clone(),
            sources: i.sources.clone(),
            feed: i.feed.clone(),
        }
    }
}

async fn reading(s: &Shared) -> Result<Arc<StatusReading>, ApiError> {
    s.live.reading().await.map_err(|e| ApiError::aws(&e))
}

/// `GET /api/channels/status`: the `lunora status --output json` document.
pub async fn channels_status(State(s): State<Shared>) -> Result<Response, ApiError> {
    let r = reading(&s).await?;
    Ok(document("status", r.as_ref()))
}

/// `GET /api/mediaconnect/flow/status`.
pub async fn flow_status(State(s): State<Shared>) -> Result<Response, ApiError> {
    let r = reading(&s).await?;
    Ok(document("flow-status", &FlowStatusDocument::of(&r)))
}

/// `GET /api/mediaconnect/inputs/health`.
pub async fn inputs_health(State(s): State<Shared>) -> Result<Response, ApiError> {
    let r = reading(&s).await?;
    Ok(document("inputs-health", &InputsHealthDocument::of(&r)))
}

/// `GET /api/admin/platforms`: every platform with its limits.
pub async fn platforms(State(s): State<Shared>) -> Response {
    raw_document(s.platforms.clone())
}

/// `GET /api/admin/presets`: the `lunora presets list --output json`
/// document.
pub async fn presets(State(s): State<Shared>) -> Response {
    raw_document(s.presets.clone())
}

/// 404 naming `id`, with the ids there are.
pub fn unknown_destination(s: &Server, id: &str) -> ApiError {
    let d = s.deployment();
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_destination",
        format!(
            "there is no destination `{id}` in {} (destinations: {})",
            d.path.display(),
            d.destination_ids().join(", ")
        ),
    )
}

/// How long a fetched thumbnail is served before MediaLive is asked
/// again (DescribeThumbnails;
/// https://docs.aws.amazon.com/medialive/latest/ug/thumbnails-work-cli.html).
pub const THUMBNAIL_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// `GET /api/destinations/{id}/thumbnail`: the channel's latest JPEG.
pub async fn thumbnail(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if !s.deployment().destination_ids().contains(&id.as_str()) {
        return Err(unknown_destination(&s, &id));
    }
    let r = reading(&s).await?;
    let d = r.destinations.iter().find(|d| d.id == id);
    let Some((channel, true)) = d.and_then(|d| d.channel_id.as_ref().map(|c| (c, d.running())))
    else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_running",
            format!("`{id}` is not running: MediaLive makes thumbnails only while a channel runs"),
        ));
    };
    let cached = s.thumbnails.lock().ok().and_then(|t| {
        t.get(&id)
            .filter(|(at, _)| at.elapsed() < THUMBNAIL_TTL)
            .map(|(_, jpeg)| Arc::clone(jpeg))
    });
    let jpeg = match cached {
        Some(jpeg) => jpeg,
        None => match crate::aws::media::channel_thumbnail(&s.aws, channel).await {
            Ok(Some(jpeg)) => {
                let jpeg = Arc::new(jpeg);
                if let Ok(mut t) = s.thumbnails.lock() {
                    t.insert(id.clone(), (std::time::Instant::now(), Arc::clone(&jpeg)));
                }
                jpeg
            }
            Ok(None) => {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "no_thumbnail",
                    format!("MediaLive has no thumbnail of `{id}` yet (they start a few seconds after the channel gets input)"),
                ))
            }
            Err(e) => return Err(ApiError::aws(&e)),
        },
    };
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        jpeg.as_ref().clone(),
    )
        .into_response())
}

/// `GET /api/events`: Server-Sent Events. `status` carries the status
/// document (the current one first, then every refresh); `progress` an
/// action's progress event; `action` the report an action ended with;
/// `error` a refresh that failed. The stream ends when the server stops.
pub async fn events(State(s): State<Shared>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let first = match s.live.reading().await {
        Ok(r) => Event::default()
            .event("status")
            .data(super::live::Live::document(&r)),
        Err(e) => Event::default()
            .event("error")
            .data(ApiError::aws(&e).to_json()),
    };
    let rx = s.live.subscribe();
    let mut stopping = s.stopping.clone();
    let rest = stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(e) => {
                    let ev = Event::default().event(e.name).data(e.data.as_str());
                    return Some((Ok(ev), rx));
                }
                // Too far behind: skip to the newest; the next status is
                // complete in itself.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let stream = stream::once(async move { Ok(first) })
        .chain(rest)
        .take_until(async move {
            let _ = stopping.wait_for(|v| *v).await;
        });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// Any other path.
pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such page or endpoint (pages: /, /admin; the API is under /api/)",
    )
}

/// A known path with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not take that method",
    )
}

/// A request body of at most [`BODY_LIMIT`] bytes; anything else is an
/// error document (axum's own rejection would be plain text).
pub struct Body(pub Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state).await.map(Body).map_err(|e| {
            ApiError::new(
                e.status(),
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    "too_large"
                } else {
                    "bad_request"
                },
                format!("the request body cannot be read: {e} (bodies here are at most {BODY_LIMIT} bytes of JSON)"),
            )
        })
    }
}

/// The body of `POST .../start-channel`: nothing, or `{}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {}

/// The body of `POST .../stop-channel`: nothing, `{}`, or
/// `{"keep_flow": true}` (as `lunora stop --keep-flow`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StopBody {
    #[serde(default)]
    keep_flow: bool,
}

/// The body of `POST /api/mediaconnect/failover`: `{"to":"backup"}` or
/// `{"to":"primary"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FailoverBody {
    to: crate::ops::failover::SourceTarget,
}

/// `body` as `T`; an empty body is `T::default()` when `empty` is given.
fn parse_body<T: serde::de::DeserializeOwned>(
    body: &[u8],
    empty: Option<T>,
    example: &str,
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        if let Some(v) = empty {
            return Ok(v);
        }
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the body is not what this endpoint takes: {e} (expected {example})"),
        )
    })
}

/// Holds the one action slot, naming the action under way; 409 when
/// another action holds it. Owned, so it can move into the action's task.
pub(super) struct ActionSlot {
    _guard: tokio::sync::OwnedMutexGuard<()>,
    server: Shared,
}

impl Drop for ActionSlot {
    fn drop(&mut self) {
        if let Ok(mut l) = self.server.action_label.lock() {
            *l = None;
        }
    }
}

pub(super) fn take_slot(s: &Shared, label: String) -> Result<ActionSlot, ApiError> {
    match Arc::clone(&s.action).try_lock_owned() {
        Ok(guard) => {
            if let Ok(mut l) = s.action_label.lock() {
                *l = Some(label);
            }
            Ok(ActionSlot {
                _guard: guard,
                server: Arc::clone(s),
            })
        }
        Err(_) => {
            let under_way = s
                .action_label
                .lock()
                .ok()
                .and_then(|l| l.clone())
                .unwrap_or_else(|| "another action".to_owned());
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "busy",
                format!("{under_way} is under way; try again when it ends"),
            ))
        }
    }
}

/// Runs an action on a task of its own, holding the slot, and announces
/// its report of `kind` on the event stream. A client that goes away (a
/// closed tab, a proxy's timeout) does not cancel it: an action half done
/// (a channel started, its wait for RUNNING dropped, no audit record)
/// would be worse than one nobody watches end.
async fn run_action<R, F>(
    s: &Shared,
    label: String,
    kind: &'static str,
    action: F,
) -> Result<(R, Response), ApiError>
where
    R: Serialize + Send + 'static,
    F: std::future::Future<Output = anyhow::Result<R>> + Send + 'static,
{
    let slot = take_slot(s, label)?;
    let server = Arc::clone(s);
    let task = tokio::spawn(async move {
        let _slot = slot;
        let report = action.await?;
        let response = announce(&server, kind, &report);
        Ok::<_, anyhow::Error>((report, response))
    });
    match task.await {
        Ok(done) => done.map_err(|e| operation_error(&e)),
        Err(e) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the {kind} ended abnormally: {e}"),
        )),
    }
}

/// A progress stream whose events go out on `GET /api/events` as
/// `progress`; the forwarder ends when the operation drops its sender.
fn progress_to_events(s: &Server) -> crate::progress::Progress {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<crate::progress::ProgressEvent>();
    let live = Arc::clone(&s.live);
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            if let Ok(json) = serde_json::to_string(&event) {
                live.send("progress", json);
            }
        }
    });
    crate::progress::Progress::to_channel(tx)
}

/// An operation's error as an answer: 404 for an unknown destination,
/// 502 for the rest (AWS could not be read or refused).
fn operation_error(e: &anyhow::Error) -> ApiError {
    if let Some(u) = e.downcast_ref::<crate::config::UnknownDestinations>() {
        return ApiError::new(StatusCode::NOT_FOUND, "unknown_destination", u.to_string());
    }
    ApiError::aws(e)
}

/// After an action: its report to every page, and a fresh reading.
fn announce<R: Serialize>(s: &Server, kind: &str, report: &R) -> Response {
    let body = serde_json::to_string(&Envelope::new(kind, report)).unwrap_or_default();
    s.live.send("action", body.clone());
    s.live.refresh_now();
    raw_document(body)
}

/// A start or stop that a destination failed: 409 with MediaLive's
/// reason, after the report went out on the event stream.
fn refused(report: &crate::ops::operate::OperateReport) -> ApiError {
    let reasons: Vec<String> = report
        .destinations
        .iter()
        .filter(|d| d.result == "failed")
        .map(|d| format!("{}: {}", d.id, d.message))
        .chain(
            report
                .flow
                .iter()
                .filter(|f| f.action == "failed")
                .map(|f| format!("flow: {}", f.message)),
        )
        .collect();
    ApiError::new(StatusCode::CONFLICT, "refused", reasons.join("; "))
}

/// `POST /api/destinations/{id}/start-channel`: `lunora start ID`.
pub async fn start(
    State(s): State<Shared>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    parse_body::<StartBody>(&body, Some(StartBody::default()), "no body, or {}")?;
    if !s.deployment().destination_ids().contains(&id.as_str()) {
        return Err(unknown_destination(&s, &id));
    }
    let progress = progress_to_events(&s);
    let (aws, deployment) = (s.aws.clone(), s.deployment());
    let by = crate::release::Actor::Http { client };
    let (report, response) = run_action(&s, format!("start {id}"), "start", async move {
        crate::ops::operate::start(&aws, &deployment, &[id], false, &by, &progress).await
    })
    .await?;
    if report.failed() {
        return Err(refused(&report));
    }
    Ok(response)
}

/// `POST /api/destinations/{id}/stop-channel`: `lunora stop ID`.
pub async fn stop(
    State(s): State<Shared>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let body = parse_body::<StopBody>(
        &body,
        Some(StopBody::default()),
        r#"no body, {} or {"keep_flow": true}"#,
    )?;
    if !s.deployment().destination_ids().contains(&id.as_str()) {
        return Err(unknown_destination(&s, &id));
    }
    let progress = progress_to_events(&s);
    let (aws, deployment) = (s.aws.clone(), s.deployment());
    let by = crate::release::Actor::Http { client };
    let (report, response) = run_action(&s, format!("stop {id}"), "stop", async move {
        crate::ops::operate::stop(
            &aws,
            &deployment,
            &[id],
            false,
            body.keep_flow,
            &by,
            &progress,
        )
        .await
    })
    .await?;
    if report.failed() {
        return Err(refused(&report));
    }
    Ok(response)
}

/// `POST /api/mediaconnect/failover` with `{"to":"backup"}`: `lunora
/// failover --to backup`.
pub async fn failover(
    State(s): State<Shared>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let body = parse_body::<FailoverBody>(&body, None, r#"{"to": "backup"} or {"to": "primary"}"#)?;
    let (aws, deployment) = (s.aws.clone(), s.deployment());
    let by = crate::release::Actor::Http { client };
    let (_, response) = run_action(&s, "a failover".to_owned(), "failover", async move {
        crate::ops::failover::failover(&aws, &deployment, body.to, &by).await
    })
    .await?;
    Ok(response)
}
