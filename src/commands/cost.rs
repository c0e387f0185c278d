//! `lunora cost`: what the configured deployment costs per month, itemised
//! from dated, sourced rates, with and without lunora's stop behaviour, and
//! beside the original plan's $355.80. Offline: it reads the config and a
//! rates file (built in, or `--rates FILE`), never AWS.

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::cli::CostArgs;
use crate::cost::{self, Estimate, GuardBounds, GuardLimits, Item, Rates, Setup, Summary};
use crate::diagnostic::Diagnostics;
use crate::output::{Console, Report};

/// The rates the estimate used.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RatesInfo {
    /// `data/pricing.yaml (built in)` or the `--rates` path.
    pub file: String,
    pub region: String,
    pub currency: String,
    pub hours_per_month: f64,
    pub gb_per_mbps_hour: f64,
    pub single_pipeline_factor: f64,
}

/// What `cost` found.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CostReport {
    pub config: PathBuf,
    pub project: String,
    pub environment: String,
    pub region: String,
    pub input_mode: String,
    /// The destinations priced.
    pub destinations: Vec<String>,
    pub rates: RatesInfo,
    #[serde(flatten)]
    pub summary: Summary,
    /// With `guards:` in the config: what a destination left running costs
    /// at most, and the month with the guards bounding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guards: Option<GuardBounds>,
    /// What the estimate leaves out or assumes.
    pub notes: Vec<String>,
    /// The text's width (`None`: `--wide`, no limit).
    #[serde(skip)]
    pub width: Option<usize>,
}

/// Runs `lunora cost`.
pub fn run(config: &Path, args: &CostArgs, console: &Console) -> anyhow::Result<CostReport> {
    let rates = load_rates(args.rates.as_deref())?;
    cost::check_hours(args.hours, &rates)?;
    let d = super::load(config, console)?;
    let setup = Setup::from_deployment(&d, &args.destinations)?;
    let summary = cost::summarize(&setup, &rates, args.hours)?;

    let mut notes = vec![
        "rates marked * are unverified: the MediaConnect and single-pipeline MediaLive price lists could not be checked; replace them with --rates FILE (a copy of data/pricing.yaml) before relying on a total".to_owned(),
        "MediaLive bills per minute with a 10-minute minimum per start; the estimate counts whole streaming hours".to_owned(),
        "MediaPackage origination assumes the CDN pulls every rendition once; viewer delivery (CDN, data transfer out) is not priced".to_owned(),
        "all channels are assumed to stream the same hours; taxes, reserved pricing and free tiers are not modelled".to_owned(),
    ];
    let guards = match &d.config.guards {
        Some(g) => {
            let limits = GuardLimits {
                input_lost_minutes: g.auto_stop.as_ref().map(|a| a.input_lost_minutes as f64),
                max_session_hours: g.max_session_hours.map(|h| h as f64),
                longest_window_hours: g.schedule.as_ref().and_then(|s| {
                    s.windows
                        .iter()
                        .filter_map(crate::config::window_times)
                        .map(|t| t.hours())
                        .reduce(f64::max)
                }),
                budget_usd: g.budget.as_ref().map(|b| b.monthly_usd),
            };
            if g.auto_stop.is_some() && g.max_session_hours.is_none() {
                notes.push("auto-stop acts only once a channel's input is lost: a channel whose encoder keeps sending is bounded by max_session_hours or a schedule window, not by auto-stop".to_owned());
            }
            if g.max_session_hours.is_some() {
                notes.push("the session limit bounds destinations started with `lunora start`; a channel started in the console has no session, and only auto-stop bounds it".to_owned());
            }
            Some(cost::guard_bounds(
                &setup,
                &rates,
                limits,
                &summary.with_stop,
                summary.idle_hours,
            )?)
        }
        None => None,
    };
    if let Some(note) = region_note(&rates, &d.config.region) {
        console.warn(&note);
        notes.insert(0, note);
    }
    Ok(CostReport {
        config: config.to_path_buf(),
        project: d.config.project.clone(),
        environment: d.config.environment.clone(),
        region: d.config.region.clone(),
        input_mode: d.config.input_mode.as_str().to_owned(),
        destinations: setup.channels.iter().map(|c| c.id.clone()).collect(),
        rates: RatesInfo::of(&rates),
        summary,
        guards,
        notes,
        width: crate::screen::width(args.wide, crate::screen::Stream::Stdout),
    })
}

impl RatesInfo {
    fn of(rates: &Rates) -> Self {
        Self {
            file: rates.origin.clone(),
            region: rates.file.region.clone(),
            currency: rates.file.currency.clone(),
            hours_per_month: rates.file.hours_per_month,
            gb_per_mbps_hour: rates.file.gb_per_mbps_hour,
            single_pipeline_factor: rates.file.single_pipeline_factor.value,
        }
    }
}

/// The note when the rates are for another Region than the config's.
fn region_note(rates: &Rates, region: &str) -> Option<String> {
    (rates.file.region != region).then(|| {
        format!(
            "the rates are for {} but the config deploys to {region}: prices differ by Region",
            rates.file.region
        )
    })
}

/// The built-in rates, or the file `--rates` names.
fn load_rates(path: Option<&Path>) -> Result<Rates, Diagnostics> {
    let Some(path) = path else {
        return Ok(Rates::built_in()?);
    };
    let text =
        crate::fsread::read_to_string_bounded(path, crate::fsread::RATES_LIMIT, "rates file")
            .map_err(|e| {
                e.diagnostic("pass a YAML file shaped like the built-in data/pricing.yaml")
            })?;
    Ok(Rates::parse(path, &text)?)
}

/// Two decimals, none for whole numbers.
fn quantity(q: f64) -> String {
    let text = format!("{q:.2}");
    text.strip_suffix(".00").map_or(text.clone(), str::to_owned)
}

fn money(usd: f64) -> String {
    format!("{usd:.2}")
}

/// One estimate as a table: `*` marks an unverified rate; the total and
/// the part on unverified rates close it.
fn table(e: &Estimate, width: Option<usize>) -> String {
    use crate::screen::Align::{Left, Right};
    let mut rows: Vec<Vec<String>> = e
        .items
        .iter()
        .map(|i| {
            vec![
                if i.verified { " " } else { "*" }.to_owned(),
                i.what.clone(),
                quantity(i.quantity),
                i.unit.clone(),
                format!("{:.4}", i.rate_usd),
                money(i.monthly_usd),
            ]
        })
        .collect();
    let closing = |what: &str, usd: f64| {
        vec![
            String::new(),
            what.to_owned(),
            String::new(),
            String::new(),
            String::new(),
            money(usd),
        ]
    };
    rows.push(closing("total", e.total_usd));
    if e.unverified_usd > 0.0 {
        rows.push(closing("of which on unverified rates", e.unverified_usd));
    }
    crate::screen::table(
        &["", "ITEM", "QTY", "UNIT", "RATE $", "$/MONTH"],
        &[Left, Left, Right, Left, Right, Right],
        &rows,
        width,
        2,
    )
}

impl CostReport {
    /// The three totals first: what a manager reads.
    fn headline(&self) -> String {
        use crate::screen::Align::{Left, Right};
        let s = &self.summary;
        let left_out = s.comparison.iter().filter(|r| r.left_out).count();
        let rows = vec![
            vec![
                "(a) with lunora's stop behaviour".to_owned(),
                money(s.with_stop.total_usd),
                format!("{} less than (b)", money(s.stop_saves_usd)),
            ],
            vec![
                "(b) without it (flow and outputs on 24/7)".to_owned(),
                money(s.without_stop.total_usd),
                String::new(),
            ],
            vec![
                "(c) the original plan".to_owned(),
                money(s.original.total_usd),
                if left_out == 0 {
                    String::new()
                } else {
                    format!("leaves out {}", crate::progress::count(left_out, "charge"))
                },
            ],
        ];
        crate::screen::table(
            &["ESTIMATE", "$/MONTH", ""],
            &[Left, Right, Left],
            &rows,
            self.width,
            2,
        )
    }

    /// The original plan's figure beside (a), by kind of charge.
    fn comparison(&self) -> String {
        use crate::screen::Align::{Left, Right};
        let s = &self.summary;
        let mut rows: Vec<Vec<String>> = s
            .comparison
            .iter()
            .map(|r| {
                vec![
                    r.what.clone(),
                    money(r.original_usd),
                    money(r.estimate_usd),
                    if r.left_out { "left out" } else { "" }.to_owned(),
                ]
            })
            .collect();
        rows.push(vec![
            "total".to_owned(),
            money(s.original.total_usd),
            money(s.with_stop.total_usd),
            String::new(),
        ]);
        crate::screen::table(
            &["CHARGE", "ORIGINAL $", "(a) $", ""],
            &[Left, Right, Right, Left],
            &rows,
            self.width,
            2,
        )
    }
}

impl fmt::Display for CostReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.summary;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "lunora cost: {}-{} ({}), {} destination(s), per month",
            self.project,
            self.environment,
            self.region,
            self.destinations.len(),
        );
        let _ = writeln!(
            out,
            "{} h streaming + {} h idle of a {} h month",
            quantity(s.streaming_hours),
            quantity(s.idle_hours),
            quantity(s.month_hours),
        );
        let _ = writeln!(
            out,
            "rates: {}, {}, {}; * marks an unverified rate",
            self.rates.file, self.rates.region, self.rates.currency
        );
        out.push('\n');
        out.push_str(&self.headline());
        out.push('\n');
        if let Some(g) = &self.guards {
            out.push_str(&guards_text(g, self.width));
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "(a) with lunora's stop behaviour: flow stopped and flow outputs disabled between events"
        );
        out.push_str(&table(&s.with_stop, self.width));
        out.push('\n');
        let _ = writeln!(
            out,
            "(b) without it: flow active {} h, flow outputs always enabled",
            quantity(s.month_hours.max(s.streaming_hours))
        );
        out.push_str(&table(&s.without_stop, self.width));
        out.push('\n');
        let _ = writeln!(
            out,
            "(c) the original plan's figure: 100 h, 5 channels, the flow 24/7 as 720 h, $30 flat for data transfer, one output per channel at $0.4212/h"
        );
        out.push_str(&table(&s.original, self.width));
        out.push('\n');
        let _ = writeln!(out, "the original plan beside (a):");
        out.push_str(&self.comparison());
        out.push('\n');
        let _ = writeln!(out, "notes:");
        for n in &self.notes {
            let _ = writeln!(out, "  - {n}");
        }
        f.write_str(&crate::screen::fit(&out, self.width))
    }
}

/// The guards' bound on a forgotten destination, in text.
fn guards_text(g: &GuardBounds, width: Option<usize>) -> String {
    use crate::screen::Align::{Left, Right};
    let mut out = String::new();
    let _ = writeln!(
        out,
        "guards: a destination left running costs at most {}",
        g.bound
    );
    let rows: Vec<Vec<String>> = g
        .forgotten
        .iter()
        .map(|f| {
            vec![
                f.destination.clone(),
                money(f.usd_per_hour),
                f.at_most_usd.map_or("unbounded".to_owned(), money),
                money(f.unguarded_usd),
            ]
        })
        .collect();
    out.push_str(&crate::screen::table(
        &["LEFT RUNNING", "$/HOUR", "AT MOST $", "REST OF MONTH $"],
        &[Left, Right, Right, Right],
        &rows,
        width,
        2,
    ));
    if let (Some(worst), Some(first)) = (g.worst_month_usd, g.forgotten.first()) {
        let _ = writeln!(
            out,
            "worst month with the guards: {} ((a) with {} forgotten once); without them: {}",
            money(worst),
            first.destination,
            money(g.unguarded_month_usd)
        );
    }
    if let (Some(budget), Some(headroom)) = (g.limits.budget_usd, g.budget_headroom_usd) {
        let _ = writeln!(
            out,
            "budget: {} a month, {} {}",
            money(budget),
            money(headroom.abs()),
            if headroom >= 0.0 {
                "to spare in the worst month"
            } else {
                "over it in the worst month"
            }
        );
    }
    out
}

fn markdown_table(out: &mut String, e: &Estimate) {
    out.push_str("| item | quantity | unit | rate $ | monthly $ | verified | source |\n");
    out.push_str("|---|---:|---|---:|---:|---|---|\n");
    for Item {
        what,
        quantity: q,
        unit,
        rate_usd,
        monthly_usd,
        verified,
        source,
        date,
        ..
    } in &e.items
    {
        let _ = writeln!(
            out,
            "| {what} | {} | {unit} | {rate_usd:.4} | {} | {} | {source} ({date}) |",
            quantity(*q),
            money(*monthly_usd),
            if *verified { "yes" } else { "**no**" },
        );
    }
    let _ = writeln!(out, "| **total** | | | | **{}** | | |", money(e.total_usd));
}

impl Report for CostReport {
    fn kind(&self) -> &'static str {
        "cost"
    }

    fn markdown(&self) -> String {
        let s = &self.summary;
        let mut out = format!(
            "### lunora cost: `{}-{}`, {} h streaming per month\n\nRates: `{}` ({}, {}). Rates marked **no** are unverified.\n\n",
            self.project,
            self.environment,
            quantity(s.streaming_hours),
            self.rates.file,
            self.rates.region,
            self.rates.currency
        );
        out.push_str("#### (a) With lunora's stop behaviour\n\n");
        markdown_table(&mut out, &s.with_stop);
        out.push_str("\n#### (b) Without it (flow 24/7, outputs always enabled)\n\n");
        markdown_table(&mut out, &s.without_stop);
        let _ = writeln!(
            out,
            "\nlunora's stop behaviour saves **${}/month**.\n",
            money(s.stop_saves_usd)
        );
        if let Some(g) = &self.guards {
            let _ = writeln!(
                out,
                "#### Guards\n\nA destination left running costs at most **{}**.\n\n| left running | $/hour | at most $ | rest of month $ |\n|---|---:|---:|---:|",
                g.bound
            );
            for f in &g.forgotten {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    f.destination,
                    money(f.usd_per_hour),
                    f.at_most_usd.map_or("unbounded".to_owned(), money),
                    money(f.unguarded_usd)
                );
            }
            if let Some(worst) = g.worst_month_usd {
                let _ = writeln!(
                    out,
                    "\nWorst month with the guards: **${}**; without them: ${}.\n",
                    money(worst),
                    money(g.unguarded_month_usd)
                );
            }
        }
        out.push_str("#### (c) The original plan's figure\n\n");
        markdown_table(&mut out, &s.original);
        out.push_str("\n| charge | original $ | lunora (a) $ | |\n|---|---:|---:|---|\n");
        for r in &s.comparison {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                r.what.trim(),
                money(r.original_usd),
                money(r.estimate_usd),
                if r.left_out { "left out" } else { "" }
            );
        }
        out.push_str("\n**Notes**\n\n");
        for n in &self.notes {
            let _ = writeln!(out, "- {n}");
        }
        out
    }
}

/// The estimate `--actual` is set beside.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EstimateBeside {
    /// `--hours`: the streaming hours per month the estimate assumes.
    pub streaming_hours: f64,
    /// The estimate with lunora's stop behaviour, (a) of `lunora cost`.
    pub total_usd: f64,
    /// The actual total minus the estimate (negative: under it).
    pub difference_usd: f64,
}

/// `guards.budget.monthly_usd` beside the actual total.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetBeside {
    pub monthly_usd: f64,
    /// The budget minus the actual total (negative: over it).
    pub remaining_usd: f64,
}

/// What `cost --actual` found: the hours run in a month and their price.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActualReport {
    pub config: PathBuf,
    pub project: String,
    pub environment: String,
    pub region: String,
    /// `YYYY-MM`, UTC.
    pub month: String,
    /// The window counted: the month, or its start up to now.
    pub from: String,
    pub to: String,
    /// True for the current month: counted up to now.
    pub so_far: bool,
    pub rates: RatesInfo,
    /// Every session with hours in the month, oldest first.
    pub sessions: Vec<cost::actual::ActualSession>,
    /// The sum of the destinations' hours.
    pub channel_hours: f64,
    #[serde(flatten)]
    pub cost: cost::actual::ActualCost,
    pub estimate: EstimateBeside,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetBeside>,
    /// Where the hours come from and what they leave out.
    pub notes: Vec<String>,
    #[serde(skip)]
    pub width: Option<usize>,
}

/// Runs `lunora cost --actual`: reads the records, counts and prices.
pub async fn run_actual(
    config: &Path,
    args: &CostArgs,
    settings: &crate::aws::AwsSettings,
    console: &Console,
) -> anyhow::Result<ActualReport> {
    let now = time::OffsetDateTime::now_utc();
    let window =
        cost::actual::month_window(args.month.as_deref(), now).map_err(anyhow::Error::msg)?;
    let rates = load_rates(args.rates.as_deref())?;
    cost::check_hours(args.hours, &rates)?;
    let (d, aws) = super::connect_operating(config, settings, console, "cost --actual").await?;
    let setup = Setup::from_deployment(&d, &args.destinations)?;
    let records = crate::ops::cost_actual::read(&aws, &d, window.from).await?;
    let mut hours = cost::actual::count_hours(&records.events, &records.flow, window);
    if !args.destinations.is_empty() {
        hours
            .destinations
            .retain(|k, _| args.destinations.contains(k));
        hours
            .sessions
            .retain(|s| args.destinations.contains(&s.destination));
    }
    let priced = cost::actual::price(&setup, &rates, &hours)?;
    let summary = cost::summarize(&setup, &rates, args.hours)?;
    let mut notes = records.notes;
    for s in hours.sessions.iter().filter(|s| s.open) {
        notes.push(format!(
            "{} has no recorded stop since {}: counted up to {}{}",
            s.destination,
            s.started_at,
            cost::actual::rfc3339(window.to),
            if window.so_far {
                " (now: still running)"
            } else {
                " (the end of the month)"
            }
        ));
    }
    notes.extend(hours.notes);
    if !priced.unpriced.is_empty() {
        notes.push(format!(
            "hours of {} are shown but not priced: not in the config (any more)",
            priced.unpriced.join(", ")
        ));
    }
    // "The duration of each running resource will be rounded up to the
    // nearest minute, above a 10-minute minimum"
    // (https://aws.amazon.com/medialive/pricing/), applied by
    // cost::actual::billed_seconds.
    notes.push("MediaLive bills running inputs and outputs by the minute, at least 10 minutes per start: each session's MediaLive charges are priced for its billed time (shown as `billed` beside the recorded hours where they differ); data transfer and the flow for the recorded hours".to_owned());
    if let Some(k) = &priced.guard_key {
        notes.push(format!(
            "the guards' KMS key (GuardKey) is counted for every hour of the window: ${} a month prorated hourly, {} of {} h; a key created or deleted during the month costs less, and its requests are not priced",
            money(k.usd_per_month),
            quantity(k.hours),
            quantity(k.month_hours)
        ));
    }
    if window.so_far {
        notes.push(
            "the month is not over: the estimate and the budget are for the whole month".to_owned(),
        );
    }
    if let Some(note) = region_note(&rates, &d.config.region) {
        notes.insert(0, note);
    }
    let total = priced.total_usd;
    let round = |usd: f64| (usd * 100.0).round() / 100.0;
    let budget = d
        .config
        .guards
        .as_ref()
        .and_then(|g| g.budget.as_ref())
        .map(|b| BudgetBeside {
            monthly_usd: b.monthly_usd,
            remaining_usd: round(b.monthly_usd - total),
        });
    Ok(ActualReport {
        config: config.to_path_buf(),
        project: d.config.project.clone(),
        environment: d.config.environment.clone(),
        region: d.config.region.clone(),
        month: format!(
            "{}-{:02}",
            window.from.year(),
            u8::from(window.from.month())
        ),
        from: cost::actual::rfc3339(window.from),
        to: cost::actual::rfc3339(window.to),
        so_far: window.so_far,
        rates: RatesInfo::of(&rates),
        channel_hours: round(hours.destinations.values().sum()),
        sessions: hours.sessions,
        estimate: EstimateBeside {
            streaming_hours: summary.streaming_hours,
            total_usd: summary.with_stop.total_usd,
            difference_usd: round(total - summary.with_stop.total_usd),
        },
        budget,
        cost: priced,
        notes,
        width: crate::screen::width(args.wide, crate::screen::Stream::Stdout),
    })
}

/// Recorded hours, and MediaLive's billed hours beside them where they
/// differ (rounded up to the minute, 10 minutes at least per start):
/// `0.05 (billed 0.17)`.
fn hours_cell(hours: f64, billed: f64) -> String {
    if (hours - billed).abs() < 0.005 {
        quantity(hours)
    } else {
        format!("{} (billed {})", quantity(hours), quantity(billed))
    }
}

/// `+12.34` / `-12.34`.
fn signed(usd: f64) -> String {
    if usd >= 0.0 {
        format!("+{}", money(usd))
    } else {
        format!("-{}", money(-usd))
    }
}

impl ActualReport {
    fn cost_rows(&self) -> Vec<Vec<String>> {
        let mut rows: Vec<Vec<String>> = self
            .cost
            .destinations
            .iter()
            .map(|d| {
                vec![
                    d.destination.clone(),
                    hours_cell(d.hours, d.billed_hours),
                    money(d.running_usd),
                    quantity(d.idle_hours),
                    money(d.idle_usd),
                    money(d.total_usd),
                ]
            })
            .collect();
        let f = &self.cost.flow;
        rows.push(vec![
            "flow (ACTIVE)".to_owned(),
            quantity(f.hours),
            money(f.usd),
            String::new(),
            String::new(),
            money(f.usd),
        ]);
        if let Some(k) = &self.cost.guard_key {
            rows.push(vec![
                "guard key (KMS)".to_owned(),
                quantity(k.hours),
                money(k.usd),
                String::new(),
                String::new(),
                money(k.usd),
            ]);
        }
        rows.push(vec![
            "total".to_owned(),
            quantity(self.channel_hours),
            String::new(),
            String::new(),
            String::new(),
            money(self.cost.total_usd),
        ]);
        rows
    }

    fn headline(&self) -> Vec<String> {
        let mut out = vec![format!(
            "actual {}: ${}: {} channel-hour(s) running, the flow ACTIVE {} h, the channels idle the rest",
            if self.so_far { "so far" } else { "for the month" },
            money(self.cost.total_usd),
            quantity(self.channel_hours),
            quantity(self.cost.flow.hours),
        )];
        out.push(format!(
            "estimate (lunora cost --hours {}): ${} for the month; the actual is ${} it",
            quantity(self.estimate.streaming_hours),
            money(self.estimate.total_usd),
            if self.estimate.difference_usd > 0.0 {
                format!("{} over", money(self.estimate.difference_usd))
            } else {
                format!("{} under", money(-self.estimate.difference_usd))
            }
        ));
        if let Some(b) = &self.budget {
            out.push(format!(
                "budget: ${} a month, {} {}",
                money(b.monthly_usd),
                money(b.remaining_usd.abs()),
                if b.remaining_usd >= 0.0 {
                    "left"
                } else {
                    "over it"
                }
            ));
        }
        out
    }
}

impl fmt::Display for ActualReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::screen::Align::{Left, Right};
        let mut out = String::new();
        let _ = writeln!(
            out,
            "lunora cost --actual: {}-{} ({}), {} ({} to {}{})",
            self.project,
            self.environment,
            self.region,
            self.month,
            self.from,
            self.to,
            if self.so_far { ", so far" } else { "" }
        );
        let _ = writeln!(
            out,
            "rates: {}, {}, {}",
            self.rates.file, self.rates.region, self.rates.currency
        );
        out.push('\n');
        for line in self.headline() {
            let _ = writeln!(out, "{line}");
        }
        out.push('\n');
        out.push_str(&crate::screen::table(
            &["RAN", "HOURS", "RUNNING $", "IDLE H", "IDLE $", "TOTAL $"],
            &[Left, Right, Right, Right, Right, Right],
            &self.cost_rows(),
            self.width,
            2,
        ));
        out.push('\n');
        if self.sessions.is_empty() {
            let _ = writeln!(out, "no sessions recorded in {}", self.month);
        } else {
            let rows: Vec<Vec<String>> = self
                .sessions
                .iter()
                .map(|s| {
                    vec![
                        s.destination.clone(),
                        format!("{} ({})", s.started_at, s.started_by),
                        match (&s.ended_at, &s.ended_by) {
                            (Some(at), Some(by)) => format!("{at} ({by})"),
                            _ => "running (no stop recorded)".to_owned(),
                        },
                        hours_cell(s.hours, s.billed_hours),
                    ]
                })
                .collect();
            out.push_str(&crate::screen::table(
                &["SESSION", "STARTED", "ENDED", "HOURS"],
                &[Left, Left, Left, Right],
                &rows,
                self.width,
                2,
            ));
        }
        out.push('\n');
        let _ = writeln!(out, "notes:");
        for n in &self.notes {
            let _ = writeln!(out, "  - {n}");
        }
        f.write_str(&crate::screen::fit(&out, self.width))
    }
}

impl Report for ActualReport {
    fn kind(&self) -> &'static str {
        "cost-actual"
    }

    fn markdown(&self) -> String {
        let mut out = format!(
            "### lunora cost --actual: `{}-{}`, {}{}\n\n",
            self.project,
            self.environment,
            self.month,
            if self.so_far { " (so far)" } else { "" }
        );
        for line in self.headline() {
            let _ = writeln!(out, "- {line}");
        }
        out.push_str("\n| ran | hours | running $ | idle h | idle $ | total $ |\n|---|---:|---:|---:|---:|---:|\n");
        for row in self.cost_rows() {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out.push_str("\n| session | started | ended | hours |\n|---|---|---|---:|\n");
        for s in &self.sessions {
            let _ = writeln!(
                out,
                "| {} | {} ({}) | {} | {} |",
                s.destination,
                s.started_at,
                s.started_by,
                match (&s.ended_at, &s.ended_by) {
                    (Some(at), Some(by)) => format!("{at} ({by})"),
                    _ => "running".to_owned(),
                },
                hours_cell(s.hours, s.billed_hours)
            );
        }
        let _ = writeln!(
            out,
            "\nActual minus estimate: **{}**.\n\n**Notes**\n",
            signed(self.estimate.difference_usd)
        );
        for n in &self.notes {
            let _ = writeln!(out, "- {n}");
        }
        out
    }
}
