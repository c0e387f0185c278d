//! The two pages: streaming (live operations) and admin (the
//! infrastructure, the releases, the presets, the cost).
//!
//! Server-side minijinja templates render the same documents the API
//! serves; `app.js` (embedded, like the CSS: the pages work with no
//! internet) only swaps in the live fragment when the event stream says
//! the reading changed, asks the token once per tab, and confirms each
//! action. With `--token-required` the pages are shells that fetch their
//! fragments with the token.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{context, Environment, Value};
use serde::Serialize;

use super::api::ApiError;
use super::Shared;
use crate::plan::StackAction;

/// The templates, compiled into the binary.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("streaming.html", include_str!("templates/streaming.html")),
    ("live.html", include_str!("templates/live.html")),
    ("admin.html", include_str!("templates/admin.html")),
    ("admin_body.html", include_str!("templates/admin_body.html")),
];

/// The static files, compiled into the binary.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("assets/style.css"),
    ),
];

/// The template environment.
pub struct Pages {
    env: Environment<'static>,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pages")
    }
}

/// `3725` -> `1 h 02 min`.
pub fn uptime(seconds: Option<u64>) -> String {
    match seconds {
        None => "–".to_owned(),
        Some(s) if s < 60 => format!("{s} s"),
        Some(s) if s < 3600 => format!("{} min", s / 60),
        Some(s) => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

/// `11.84` -> `11.8 Mb/s`.
pub fn mbps(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.1} Mb/s"))
}

impl Pages {
    pub fn new() -> anyhow::Result<Self> {
        let mut env = Environment::new();
        // HTML-escape every value (the default for .html names), so a
        // reason or an alert text from AWS cannot inject markup.
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        env.add_filter("uptime", |v: Option<u64>| uptime(v));
        env.add_filter("mbps", |v: Option<f64>| mbps(v));
        Ok(Self { env })
    }

    /// Renders `name` with `ctx`.
    pub fn render(&self, name: &str, ctx: Value) -> Result<String, ApiError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    format!("cannot render {name}: {e:#}"),
                )
            })
    }
}

/// What every page's frame shows.
fn frame(s: &Shared, page: &str) -> Value {
    let d = s.deployment();
    context! {
        page,
        deployment => d.prefix(),
        region => d.config.region,
        read_only => s.options.read_only,
        token_reads => s.options.token_required,
        refresh => s.options.refresh.as_secs(),
    }
}

/// The live fragment's context: the reading, or why there is none.
async fn live_context(s: &Shared) -> Value {
    match s.live.reading().await {
        Ok(r) => {
            context! { reading => Value::from_serialize(r.as_ref()), read_only => s.options.read_only }
        }
        Err(e) => context! { error => format!("{e:#}"), read_only => s.options.read_only },
    }
}

/// `GET /`: the streaming page.
pub async fn streaming(State(s): State<Shared>) -> Result<Html<String>, ApiError> {
    let live = if s.options.token_required {
        None
    } else {
        Some(s.pages.render("live.html", live_context(&s).await)?)
    };
    let ctx = context! { ..frame(&s, "streaming"), ..context! { live } };
    Ok(Html(s.pages.render("streaming.html", ctx)?))
}

/// `GET /fragments/live`: the ingest and the destination cards.
pub async fn live_fragment(State(s): State<Shared>) -> Result<Html<String>, ApiError> {
    Ok(Html(s.pages.render("live.html", live_context(&s).await)?))
}

/// One row of the admin page's stack table.
#[derive(Debug, Serialize)]
struct StackRow {
    name: String,
    stage: Option<String>,
    status: String,
    reason: Option<String>,
    last_updated: Option<String>,
    /// The live stack against the config.
    drift: String,
    in_sync: bool,
}

/// What the admin page shows, each part with the reason it is missing.
async fn admin_context(s: &Shared) -> Value {
    let mut problems: Vec<String> = Vec::new();
    // The file as it is now, when it is valid (an edit by hand included).
    if let super::live::FileCheck::Kept(why) = s.live.check_file() {
        problems.push(why);
    }
    let d = &*s.deployment();
    // The plan against the live stacks: their status, and whether each
    // differs from the config (the plan's per-stack action). Preview
    // change sets, made only for stacks that differ, are deleted.
    let stacks: Vec<StackRow> = match crate::ops::plan::build(d, &s.aws, true).await {
        Ok(built) => built
            .plan
            .stacks
            .iter()
            .map(|p| StackRow {
                name: p.name.clone(),
                stage: p.stage.clone(),
                status: p
                    .live_status
                    .clone()
                    .unwrap_or_else(|| "not deployed".to_owned()),
                reason: built
                    .listed
                    .get(&p.name)
                    .and_then(|i| i.status_reason.clone()),
                last_updated: p.live_last_updated.clone(),
                drift: match p.action {
                    StackAction::NoChange => "in sync with the config".to_owned(),
                    StackAction::Update => format!(
                        "differs from the config: {}",
                        crate::progress::count(p.resources.len(), "resource change")
                    ),
                    StackAction::Create => "in the config, not deployed".to_owned(),
                    StackAction::Delete => "deployed, no longer in the config".to_owned(),
                },
                in_sync: p.action == StackAction::NoChange,
            })
            .collect(),
        Err(e) => {
            problems.push(format!("stacks: {e:#}"));
            Vec::new()
        }
    };
    let history = match crate::release::open_store(d, Some(&s.aws)) {
        Ok(store) => match crate::release::history::read(&store).await {
            Ok(h) => Some(h),
            Err(e) => {
                problems.push(format!("releases: {e}"));
                None
            }
        },
        Err(e) => {
            problems.push(format!("releases: {e:#}"));
            None
        }
    };
    let hours = match crate::release::open_store(d, Some(&s.aws)) {
        Ok(store) => match store.audit_log().await {
            Ok(log) => Some(hours_this_month(&log)),
            Err(e) => {
                problems.push(format!("recorded hours: {e}"));
                None
            }
        },
        Err(_) => None,
    };
    let cost = match cost_estimate(d) {
        Ok(c) => Some(c),
        Err(e) => {
            problems.push(format!("cost: {e:#}"));
            None
        }
    };
    let presets: Value = serde_json::from_str::<serde_json::Value>(&s.presets)
        .map(|v| Value::from_serialize(&v))
        .unwrap_or_default();
    let platforms: Value = serde_json::from_str::<serde_json::Value>(&s.platforms)
        .map(|v| Value::from_serialize(&v))
        .unwrap_or_default();
    let last = history.as_ref().and_then(|h| {
        h.releases.iter().rev().find_map(|l| match l {
            crate::release::history::ReleaseLine::Ok(r) => Some(Value::from_serialize(r)),
            crate::release::history::ReleaseLine::Corrupt { .. } => None,
        })
    });
    // The destination form reads the file as it is now: an edit made
    // here or by hand shows at the next rendering.
    let (form, form_error) = if s.options.read_only {
        (None, None)
    } else {
        match super::edit::form_context(&d.path) {
            Ok(f) => (Some(Value::from_serialize(&f)), None),
            Err(e) => (None, Some(format!("{e:#}"))),
        }
    };
    context! {
        stacks,
        form,
        form_error,
        read_only => s.options.read_only,
        history => history.map(|h| Value::from_serialize(&h)),
        last_release => last,
        cost,
        hours,
        presets,
        platforms,
        problems,
    }
}

/// Channel hours recorded since the 1st of this month (UTC).
fn hours_this_month(log: &[crate::release::AuditRecord]) -> Value {
    let now = time::OffsetDateTime::now_utc();
    let first = now
        .replace_day(1)
        .map(|d| d.replace_time(time::Time::MIDNIGHT))
        .unwrap_or(now);
    let by_dest = crate::release::channel_hours(log, first, now);
    let total: f64 = by_dest.values().sum();
    context! {
        total => format!("{total:.2}"),
        destinations => by_dest.into_iter().map(|(k, v)| (k, format!("{v:.2}"))).collect::<Vec<_>>(),
    }
}

/// The monthly estimate at `lunora cost`'s default 100 streaming hours.
fn cost_estimate(d: &crate::config::Deployment) -> anyhow::Result<Value> {
    let rates = crate::cost::Rates::built_in().map_err(|d| anyhow::anyhow!("{d}"))?;
    let setup = crate::cost::Setup::from_deployment(d, &[])?;
    let hours = 100.0;
    let summary = crate::cost::summarize(&setup, &rates, hours)?;
    let mut by_category: BTreeMap<String, f64> = BTreeMap::new();
    for item in &summary.with_stop.items {
        let key = serde_json::to_value(item.category)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        *by_category.entry(key).or_default() += item.monthly_usd;
    }
    Ok(context! {
        hours,
        total_usd => format!("{:.2}", summary.with_stop.total_usd),
        without_stop_usd => format!("{:.2}", summary.without_stop.total_usd),
        stop_saves_usd => format!("{:.2}", summary.stop_saves_usd),
        unverified_usd => format!("{:.2}", summary.with_stop.unverified_usd),
        by_category => by_category.into_iter().map(|(k, v)| (k, format!("{v:.2}"))).collect::<Vec<_>>(),
        region => rates.file.region,
    })
}

/// `GET /admin`: the admin page.
pub async fn admin(State(s): State<Shared>) -> Result<Html<String>, ApiError> {
    let body = if s.options.token_required {
        None
    } else {
        Some(s.pages.render("admin_body.html", admin_context(&s).await)?)
    };
    let ctx = context! { ..frame(&s, "admin"), ..context! { body } };
    Ok(Html(s.pages.render("admin.html", ctx)?))
}

/// `GET /fragments/admin`.
pub async fn admin_fragment(State(s): State<Shared>) -> Result<Html<String>, ApiError> {
    Ok(Html(
        s.pages.render("admin_body.html", admin_context(&s).await)?,
    ))
}

/// `GET /assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, mime, body)) => (
            [
                (header::CONTENT_TYPE, *mime),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no asset `{file}`"),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_uptime_and_bitrate_for_people() {
        assert_eq!(uptime(None), "–");
        assert_eq!(uptime(Some(42)), "42 s");
        assert_eq!(uptime(Some(300)), "5 min");
        assert_eq!(uptime(Some(3725)), "1 h 02 min");
        assert_eq!(mbps(Some(11.84)), "11.8 Mb/s");
        assert_eq!(mbps(None), "–");
    }

    #[test]
    fn every_template_compiles() {
        assert!(Pages::new().is_ok());
    }
}
