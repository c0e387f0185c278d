//! The admin page's "Add destination" form and its Remove buttons: the
//! same edit of lunora.yaml as `lunora add destination` and `lunora
//! remove destination` ([`crate::ops::destination`]), in two steps.
//!
//! Why two steps: a browser user sees what the edit does before anything
//! is written. A preview (`POST /api/admin/destinations/preview`, or
//! `.../{id}/remove/preview`) validates the edit in memory and answers the
//! unified diff of the file, the block, the cost change and the plan the
//! edited config would deploy (built from the edited text, against the
//! live stacks), with the SHA-256 of the bytes it was made from. The
//! confirmation (`POST /api/admin/destinations`, `.../{id}/remove`) sends
//! that digest back and writes only when the file still has it (409
//! `changed` otherwise), holding the server's one action slot, so two
//! writes cannot interleave. Nothing here deploys: that stays `lunora
//! deploy`, from a terminal or CI.
//!
//! No answer and no log line repeats what the request carried: a body
//! that does not parse is described by its position only, and the ops
//! layer refuses a stream key given instead of a secret ARN without
//! repeating it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path as FsPath, PathBuf};

use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::api::{document, take_slot, ApiError, Body};
use super::Shared;
use crate::config::{self, StackId};
use crate::ops::destination::{self as ops, AddReport, AddRequest, RemoveReport};
use crate::plan::{Counts, StackAction};

/// What the page and the answers say about deploying.
pub const NOT_DEPLOYED: &str = "lunora.yaml only: nothing is deployed from here; run `lunora plan`, then `lunora deploy`, from a terminal or CI";

/// Which edit a preview shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EditAction {
    Add,
    Remove,
}

/// One stack the edited config would change, in words.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StackChange {
    pub stack: String,
    /// The stage it deploys in (`None` for a stack to delete).
    pub stage: Option<String>,
    pub action: StackAction,
    /// How many resources change in it.
    pub resource_changes: usize,
    /// What the next deploy does to it, for people.
    pub summary: String,
    /// The plan's risks for this stack (a running channel, a replacement).
    pub risks: Vec<String>,
}

/// The plan of the edited config against the live stacks, as `lunora
/// plan` would show it once the file is written.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanPreview {
    /// What the rendered stacks were compared with, in words.
    pub compared_with: String,
    pub counts: Counts,
    /// The stacks that change, in stage order (the others are unchanged).
    pub changes: Vec<StackChange>,
}

/// `lunora.destination-preview/v1`: what confirming would write, and why
/// it matters.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationPreview {
    pub action: EditAction,
    pub config: PathBuf,
    pub destination: String,
    /// SHA-256 of the file's bytes the preview was made from, as 64 hex
    /// digits: the confirmation sends it back, and the file is written
    /// only if it still has these bytes.
    pub digest: String,
    /// The unified diff of the file (3 lines of context).
    pub diff: String,
    /// What adding writes: the block, the stage and the cost change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add: Option<AddReport>,
    /// What removing writes and what the next deploy deletes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove: Option<RemoveReport>,
    /// The plan of the edited config; `None` when AWS could not be read
    /// (then `plan_error` says why; the diff is still right).
    pub plan: Option<PlanPreview>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_error: Option<String>,
    /// Nothing is deployed from the server.
    pub next: String,
}

/// The body of the add preview and its confirmation: the options of
/// `lunora add destination`, and for the confirmation the preview's
/// digest. Empty strings count as not given (a form's empty field).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddBody {
    #[serde(default)]
    id: String,
    platform: Option<String>,
    preset: Option<String>,
    ingest_url: Option<String>,
    stream_key_secret: Option<String>,
    json_key: Option<String>,
    stage: Option<String>,
    digest: Option<String>,
}

impl AddBody {
    fn request(&self) -> AddRequest {
        let given = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
        AddRequest {
            id: self.id.trim().to_owned(),
            platform: given(&self.platform),
            preset: given(&self.preset),
            ingest_url: given(&self.ingest_url),
            stream_key_secret: given(&self.stream_key_secret),
            json_key: given(&self.json_key),
            stage: given(&self.stage),
        }
    }
}

/// The body of a removal's confirmation (the preview takes none).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveBody {
    digest: Option<String>,
}

const ADD_FIELDS: &str = "id, platform, preset, ingest_url, stream_key_secret (a Secrets Manager ARN), json_key, stage; and digest to confirm";

/// `body` as `T`, or 400 describing where it went wrong and never what it
/// held (it may hold a stream key pasted into the wrong field).
fn parse<T: serde::de::DeserializeOwned + Default>(
    body: &[u8],
    fields: &str,
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Data => "a field this endpoint does not take, or a value that is not a string",
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => "not JSON",
            serde_json::error::Category::Io => "unreadable",
        };
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!(
                "the body is {what} (line {}, column {}; the value is not repeated): this endpoint takes a JSON object of {fields}",
                e.line(),
                e.column()
            ),
        )
    })
}

/// SHA-256 of `text`, as 64 hex digits.
pub fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The unified diff from `original` to `edited`, 3 lines of context.
pub fn unified_diff(name: &str, original: &str, edited: &str) -> String {
    similar::TextDiff::from_lines(original, edited)
        .unified_diff()
        .context_radius(3)
        .header(name, name)
        .to_string()
}

/// A refusal of the edit (bad input, an invalid config, an unknown id):
/// 404 for an unknown destination, 400 with the one-line reason
/// otherwise. The ops layer's messages never repeat a secret.
fn refusal(e: &anyhow::Error) -> ApiError {
    if let Some(u) = e.downcast_ref::<config::UnknownDestinations>() {
        return ApiError::new(StatusCode::NOT_FOUND, "unknown_destination", u.to_string());
    }
    ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("{e:#}"))
}

fn changed(path: &FsPath) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "changed",
        format!(
            "{} changed since the preview; preview again (nothing was written)",
            path.display()
        ),
    )
}

/// The digest a confirmation must carry.
fn wanted_digest(given: Option<String>) -> Result<String, ApiError> {
    given.filter(|d| !d.is_empty()).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "a confirmation carries the `digest` of its preview (preview first: POST .../preview)",
        )
    })
}

/// Writes `edited` over `original` at `path` if the file still has
/// `wanted`'s bytes; 409 `changed` when it does not, 500 `write_failed`
/// when it cannot be written.
fn write_checked(
    path: &FsPath,
    original: &str,
    edited: &str,
    wanted: &str,
) -> Result<(), ApiError> {
    if digest(original) != wanted {
        return Err(changed(path));
    }
    ops::write(path, original, edited).map_err(|e| {
        // The ops layer refuses a file changed since it was read; anything
        // else (a read-only file, a full disk) is the server's side.
        let now =
            crate::fsread::read_to_string_bounded(path, crate::fsread::CONFIG_LIMIT, "config file")
                .map(|t| digest(&t))
                .unwrap_or_default();
        if now != wanted {
            changed(path)
        } else {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "write_failed",
                format!("{e:#}"),
            )
        }
    })
}

/// The plan of `edited` (the config's text after the edit) against the
/// live stacks, without writing it anywhere.
async fn plan_of(s: &Shared, path: &FsPath, edited: &str) -> Result<PlanPreview, String> {
    let (_, _, library) = ops::load_valid(path).map_err(|e| format!("{e:#}"))?;
    let after = config::from_text(path, edited, &library).map_err(|d| d.to_string())?;
    let built = crate::ops::plan::build(&after, &s.aws, true)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let changes = built
        .plan
        .stacks
        .iter()
        .filter(|p| p.changes())
        .map(|p| {
            let stage = p.stage.clone();
            let summary = match p.action {
                StackAction::Create => format!(
                    "new stack {} will be created{}",
                    p.name,
                    stage
                        .as_deref()
                        .map(|s| format!(" in stage `{s}`"))
                        .unwrap_or_default()
                ),
                StackAction::Update => format!(
                    "stack {} will be updated: {}",
                    p.name,
                    crate::progress::count(p.resources.len(), "resource change")
                ),
                StackAction::Delete => {
                    format!("stack {} will be deleted, with everything in it", p.name)
                }
                StackAction::NoChange => format!("stack {} is unchanged", p.name),
            };
            StackChange {
                stack: p.name.clone(),
                stage,
                action: p.action,
                resource_changes: p.resources.len(),
                summary,
                risks: p.risks.iter().map(|r| r.message.clone()).collect(),
            }
        })
        .collect();
    Ok(PlanPreview {
        compared_with: built.plan.compared_with.clone(),
        counts: built.plan.counts.clone(),
        changes,
    })
}

/// The preview document of an edit from `original` to `edited`.
async fn preview(
    s: &Shared,
    action: EditAction,
    destination: String,
    original: &str,
    edited: &str,
    add: Option<AddReport>,
    remove: Option<RemoveReport>,
) -> Response {
    let path = s.deployment().path.clone();
    let (plan, plan_error) = match plan_of(s, &path, edited).await {
        Ok(p) => (Some(p), None),
        Err(e) => (None, Some(e)),
    };
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    document(
        "destination-preview",
        &DestinationPreview {
            action,
            config: path,
            destination,
            digest: digest(original),
            diff: unified_diff(&name, original, edited),
            add,
            remove,
            plan,
            plan_error,
            next: NOT_DEPLOYED.to_owned(),
        },
    )
}

/// `POST /api/admin/destinations/preview`: what adding would write.
pub async fn preview_add(State(s): State<Shared>, Body(body): Body) -> Result<Response, ApiError> {
    let body: AddBody = parse(&body, ADD_FIELDS)?;
    let path = s.deployment().path.clone();
    let prepared = ops::prepare_add(&path, &body.request()).map_err(|e| refusal(&e))?;
    let id = prepared.report.destination.clone();
    Ok(preview(
        &s,
        EditAction::Add,
        id,
        &prepared.original,
        &prepared.edited,
        Some(prepared.report),
        None,
    )
    .await)
}

/// `POST /api/admin/destinations/{id}/remove/preview`: what removing
/// would write.
pub async fn preview_remove(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let _: RemoveBody = parse(&body, "nothing, or {}")?;
    let path = s.deployment().path.clone();
    let prepared = ops::prepare_remove(&path, &id).map_err(|e| refusal(&e))?;
    Ok(preview(
        &s,
        EditAction::Remove,
        id,
        &prepared.original,
        &prepared.edited,
        None,
        Some(prepared.report),
    )
    .await)
}

/// Records an edit in the audit trail and on the server's log (one line,
/// ids only).
async fn record(s: &Shared, action: &str, id: &str, client: SocketAddr) {
    let by = crate::release::Actor::Http { client };
    let mut record = crate::release::AuditRecord::now(action, by);
    record.destinations = BTreeMap::from([(
        id.to_owned(),
        if action == "add-destination" {
            "added"
        } else {
            "removed"
        }
        .to_owned(),
    )]);
    let mut notes = Vec::new();
    crate::ops::operate::audit(&s.deployment(), &s.aws, &record, &mut notes).await;
    let verb = if action == "add-destination" {
        "added destination"
    } else {
        "removed destination"
    };
    crate::output::write_stderr(&format!(
        "lunora serve: {verb} `{id}` in {} ({by}); not deployed\n",
        s.deployment().path.display()
    ));
    for n in notes {
        crate::output::write_stderr(&format!("lunora serve: {n}\n"));
    }
}

/// `POST /api/admin/destinations`: writes the previewed addition, if the
/// file still has the preview's bytes.
pub async fn add(
    State(s): State<Shared>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let body: AddBody = parse(&body, ADD_FIELDS)?;
    let wanted = wanted_digest(body.digest.clone())?;
    let request = body.request();
    confirm(
        &s,
        client,
        &wanted,
        "add-destination",
        &request.id,
        |path| ops::prepare_add(path, &request).map(|p| (p.original, p.edited, p.report)),
    )
    .await
}

/// `POST /api/admin/destinations/{id}/remove`: writes the previewed
/// removal, if the file still has the preview's bytes.
pub async fn remove(
    State(s): State<Shared>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let body: RemoveBody = parse(&body, r#"{"digest": "<the preview's digest>"}"#)?;
    let wanted = wanted_digest(body.digest)?;
    confirm(&s, client, &wanted, "remove-destination", &id, |path| {
        ops::prepare_remove(path, &id).map(|p| (p.original, p.edited, p.report))
    })
    .await
}

/// A confirmation: holding the action slot, prepares the edit again from
/// the file (which must still have the `wanted` digest), writes it, serves
/// the edited config from now on (the pages show the destination added,
/// not deployed, or gone), records it, and answers the `action` document
/// (`add-destination` or `remove-destination`) of the report.
async fn confirm<R: Serialize>(
    s: &Shared,
    client: SocketAddr,
    wanted: &str,
    action: &'static str,
    id: &str,
    prepare: impl FnOnce(&FsPath) -> anyhow::Result<(String, String, R)>,
) -> Result<Response, ApiError> {
    let path = s.deployment().path.clone();
    let _slot = take_slot(s, format!("an edit of {}", path.display()))?;
    if current_digest(&path)? != wanted {
        return Err(changed(&path));
    }
    let (original, edited, report) = prepare(&path).map_err(|e| refusal(&e))?;
    write_checked(&path, &original, &edited, wanted)?;
    // Its answer is on the admin page and the log when it is not served.
    let _ = s.live.check_file();
    record(s, action, id, client).await;
    Ok(document(action, &report))
}

/// The digest of the file as it is now.
fn current_digest(path: &FsPath) -> Result<String, ApiError> {
    crate::fsread::read_to_string_bounded(path, crate::fsread::CONFIG_LIMIT, "config file")
        .map(|t| digest(&t))
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("{}", e.diagnostic("check the file's permissions")),
            )
        })
}

/// One destination of the file, for the page's Remove buttons.
#[derive(Debug, Serialize)]
pub struct DestinationRow {
    pub id: String,
    pub kind: String,
    pub platform: Option<String>,
    pub preset: String,
    pub stage: Option<String>,
}

/// One preset the form offers for a platform.
#[derive(Debug, Serialize)]
pub struct PresetOption {
    pub platform: String,
    pub id: String,
    pub summary: String,
    pub recommended: bool,
}

/// One platform the form offers (RTMP ones: the others are edited in the
/// file).
#[derive(Debug, Serialize)]
pub struct PlatformOption {
    pub id: String,
    pub name: String,
    pub default_url: Option<String>,
}

/// What the form needs, read from the file now (not the config the
/// server started with): its destinations, the platforms with their
/// fitting presets, and the stages.
#[derive(Debug, Serialize)]
pub struct FormContext {
    pub config: String,
    pub destinations: Vec<DestinationRow>,
    pub platforms: Vec<PlatformOption>,
    pub presets: Vec<PresetOption>,
    pub stages: Vec<String>,
    pub not_deployed: &'static str,
}

/// The form's context, or why there is none (the file is invalid).
pub fn form_context(path: &FsPath) -> anyhow::Result<FormContext> {
    let (_, deployment, library) = ops::load_valid(path)?;
    let stage_of = |id: &str| {
        deployment
            .stages
            .iter()
            .find(|s| s.stacks.contains(&StackId::Destination(id.to_owned())))
            .map(|s| s.name.clone())
    };
    let destinations = deployment
        .config
        .destinations
        .iter()
        .map(|d| DestinationRow {
            id: d.id.clone(),
            kind: serde_json::to_value(d.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            platform: d.platform.clone(),
            preset: d.preset.clone(),
            stage: stage_of(&d.id),
        })
        .collect();
    let rtmp: Vec<PlatformOption> = library
        .platforms
        .values()
        .filter(|e| e.value.kind == crate::presets::model::PlatformKind::Rtmp)
        .map(|e| PlatformOption {
            id: e.value.id.clone(),
            name: e.value.name.clone(),
            default_url: e.value.ingest.as_ref().and_then(|i| i.default_url.clone()),
        })
        .collect();
    let presets = rtmp
        .iter()
        .flat_map(|p| {
            ops::preset_choices(&library, &p.id)
                .into_iter()
                .map(|c| PresetOption {
                    platform: p.id.clone(),
                    id: c.id,
                    summary: c.summary,
                    recommended: c.recommended,
                })
        })
        .collect();
    Ok(FormContext {
        config: path.display().to_string(),
        destinations,
        platforms: rtmp,
        presets,
        stages: deployment
            .config
            .stages
            .iter()
            .flatten()
            .map(|s| s.name.clone())
            .collect(),
        not_deployed: NOT_DEPLOYED,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_that_does_not_parse_is_described_without_its_values() {
        let key = "live_123456789_AbCdEfGhIjKlMnOpQrStUv";
        for body in [
            format!(r#"{{"id": "x", "stream_key_secret": {key}}}"#),
            format!(r#"{{"id": "x", "stream_key": "{key}"}}"#),
            format!(r#"{{"id": "x", "json_key": ["{key}"]}}"#),
            format!(r#"{{"id": "{key}""#),
        ] {
            let e = parse::<AddBody>(body.as_bytes(), ADD_FIELDS).expect_err(&body);
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
            assert!(!e.doc.message.contains(key), "{}", e.doc.message);
            assert!(!e.doc.message.contains("stream_key\""), "{}", e.doc.message);
            assert!(
                e.doc.message.contains("line 1, column"),
                "{}",
                e.doc.message
            );
        }
        let empty: AddBody = parse(b" ", ADD_FIELDS).expect("empty is default");
        assert!(empty.id.is_empty());
    }

    #[test]
    fn empty_form_fields_count_as_not_given() {
        let body: AddBody = parse(
            br#"{"id": " yt-2 ", "platform": "youtube", "preset": "", "stage": "  "}"#,
            ADD_FIELDS,
        )
        .expect("parses");
        let r = body.request();
        assert_eq!(r.id, "yt-2");
        assert_eq!(r.platform.as_deref(), Some("youtube"));
        assert!(r.preset.is_none() && r.stage.is_none() && r.json_key.is_none());
    }

    #[test]
    fn digests_and_diffs_the_text() {
        assert_eq!(
            digest(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let d = unified_diff("lunora.yaml", "a\nb\n", "a\nb\nc\n");
        assert_eq!(
            d,
            "--- lunora.yaml\n+++ lunora.yaml\n@@ -1,2 +1,3 @@\n a\n b\n+c\n"
        );
    }
}

/// The action slot, in the real router: a confirmation while a start,
/// a stop or a failover holds the slot gets 409 `busy` and writes
/// nothing. Deterministic: the test holds the slot itself, as
/// [`super::api::start`] does, instead of timing a slow start; nothing
/// here reaches AWS (the endpoint is a closed port).
#[cfg(test)]
mod slot_tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use super::super::{api::take_slot, auth::Token, router, ServeOptions, Server};
    use super::digest;

    const TOKEN: &str = "slot-test-token-0123456789";

    #[tokio::test(flavor = "multi_thread")]
    async fn a_confirmation_while_an_action_runs_is_busy_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lunora.yaml");
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/lunora.yaml");
        std::fs::copy(example, &path).unwrap();
        let original = std::fs::read_to_string(&path).unwrap();
        let deployment = crate::config::load(&path).unwrap();
        let settings = crate::aws::AwsSettings {
            endpoint_url: Some("http://127.0.0.1:9".to_owned()),
            ..crate::aws::AwsSettings::default()
        };
        let aws = crate::aws::Aws::connect(&settings, "us-east-1")
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let options = ServeOptions {
            listen: listener.local_addr().unwrap(),
            read_only: false,
            token_required: false,
            refresh: std::time::Duration::from_secs(1),
        };
        let (_stop, stopping) = tokio::sync::watch::channel(false);
        let server = Arc::new(
            Server::new(
                deployment,
                aws,
                Token::new(Some(TOKEN.to_owned())).unwrap(),
                options.clone(),
                (String::new(), String::new()),
                stopping,
            )
            .unwrap(),
        );
        let app = router(Arc::clone(&server))
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let post = |path: &str, body: String| {
            reqwest::Client::new()
                .post(format!("http://{}{path}", options.listen))
                .bearer_auth(TOKEN)
                .body(body)
                .send()
        };
        let add = serde_json::json!({
            "id": "youtube-2",
            "platform": "youtube",
            "preset": "youtube-720p30",
            "stream_key_secret": "arn:aws:secretsmanager:us-east-1:123456789012:secret:lunora/stream-keys-AbCdEf",
            "digest": digest(&original),
        })
        .to_string();
        let remove = serde_json::json!({ "digest": digest(&original) }).to_string();
        let confirmations = [
            ("/api/admin/destinations", add),
            ("/api/admin/destinations/twitch/remove", remove),
        ];

        let slot = take_slot(&server, "start twitch".to_owned()).unwrap();
        for (path, body) in &confirmations {
            let r = post(path, body.clone()).await.unwrap();
            assert_eq!(r.status().as_u16(), 409, "{path}");
            let doc: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
            assert_eq!(doc["code"], "busy", "{doc}");
            assert!(
                doc["message"]
                    .as_str()
                    .unwrap()
                    .contains("start twitch is under way"),
                "{doc}"
            );
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), original);

        // The slot free again, the same removal is written (and served).
        drop(slot);
        let (path_, body) = &confirmations[1];
        let r = post(path_, body.clone()).await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
        assert_ne!(std::fs::read_to_string(&path).unwrap(), original);
        assert!(!server.deployment().destination_ids().contains(&"twitch"));
    }
}
