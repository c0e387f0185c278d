//! `lunora cost`: what the configured deployment costs per month, itemised
//! from dated, sourced rates, with and without lunora's stop behaviour, and
//! beside the original plan's $355.80. Offline: it reads the config and a
//! rates file (built in, or `--rates FILE`), never AWS.

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::cli::CostArgs;
use crate::cost::{self, Estimate, Item, Rates, Setup, Summary};
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
    /// What the estimate leaves out or assumes.
    pub notes: Vec<String>,
}

/// Runs `lunora cost`.
pub fn run(config: &Path, args: &CostArgs, console: &Console) -> anyhow::Result<CostReport> {
    cost::check_hours(args.hours)?;
    let rates = load_rates(args.rates.as_deref())?;
    let d = super::load(config, console)?;
    let setup = Setup::from_deployment(&d, &args.destinations)?;
    let summary = cost::summarize(&setup, &rates, args.hours)?;

    let mut notes = vec![
        "rates marked * are unverified: the MediaConnect and single-pipeline MediaLive price lists could not be checked; replace them with --rates FILE (a copy of data/pricing.yaml) before relying on a total".to_owned(),
        "MediaLive bills per minute with a 10-minute minimum per start; the estimate counts whole streaming hours".to_owned(),
        "MediaPackage origination assumes the CDN pulls every rendition once; viewer delivery (CDN, data transfer out) is not priced".to_owned(),
        "all channels are assumed to stream the same hours; taxes, reserved pricing and free tiers are not modelled".to_owned(),
    ];
    if rates.file.region != d.config.region {
        let note = format!(
            "the rates are for {} but the config deploys to {}: prices differ by Region",
            rates.file.region, d.config.region
        );
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
        rates: RatesInfo {
            file: rates.origin.clone(),
            region: rates.file.region.clone(),
            currency: rates.file.currency.clone(),
            hours_per_month: rates.file.hours_per_month,
            gb_per_mbps_hour: rates.file.gb_per_mbps_hour,
            single_pipeline_factor: rates.file.single_pipeline_factor.value,
        },
        summary,
        notes,
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

/// Writes one estimate as an aligned table with its total.
fn table(f: &mut fmt::Formatter<'_>, e: &Estimate) -> fmt::Result {
    let what = e
        .items
        .iter()
        .map(|i| i.what.len())
        .chain(["item".len(), "of which on unverified rates".len()])
        .max()
        .unwrap_or(0);
    let qty = e
        .items
        .iter()
        .map(|i| quantity(i.quantity).len())
        .chain(["quantity".len()])
        .max()
        .unwrap_or(0);
    let unit = e
        .items
        .iter()
        .map(|i| i.unit.len())
        .chain(["unit".len()])
        .max()
        .unwrap_or(0);
    let total = money(e.total_usd).len().max("monthly $".len());
    writeln!(
        f,
        "    {:<what$}  {:>qty$}  {:<unit$}  {:>9}  {:>total$}",
        "item", "quantity", "unit", "rate $", "monthly $"
    )?;
    for i in &e.items {
        writeln!(
            f,
            "  {} {:<what$}  {:>qty$}  {:<unit$}  {:>9.4}  {:>total$}",
            if i.verified { ' ' } else { '*' },
            i.what,
            quantity(i.quantity),
            i.unit,
            i.rate_usd,
            money(i.monthly_usd),
        )?;
    }
    let pad = what + qty + unit + 9 + 6;
    writeln!(f, "    {:<pad$}  {:>total$}", "total", money(e.total_usd))?;
    if e.unverified_usd > 0.0 {
        writeln!(
            f,
            "    {:<pad$}  {:>total$}",
            "of which on unverified rates",
            money(e.unverified_usd)
        )?;
    }
    Ok(())
}

impl fmt::Display for CostReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.summary;
        writeln!(
            f,
            "lunora cost: {}-{} ({}), {} destination(s), {} h streaming + {} h idle of a {} h month",
            self.project,
            self.environment,
            self.region,
            self.destinations.len(),
            quantity(s.streaming_hours),
            quantity(s.idle_hours),
            quantity(s.month_hours),
        )?;
        writeln!(
            f,
            "rates: {}, {}, {}; * = unverified rate (an assumption, or not checked against the AWS price list)",
            self.rates.file, self.rates.region, self.rates.currency
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "(a) with lunora's stop behaviour: flow stopped and flow outputs disabled between events"
        )?;
        table(f, &s.with_stop)?;
        writeln!(f)?;
        writeln!(
            f,
            "(b) without it: flow active {} h, flow outputs always enabled",
            quantity(s.month_hours.max(s.streaming_hours))
        )?;
        table(f, &s.without_stop)?;
        writeln!(f)?;
        writeln!(
            f,
            "lunora's stop behaviour saves ${}/month",
            money(s.stop_saves_usd)
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "(c) the original plan's figure (the original request's estimate: 100 h, 5 channels, flow 24/7 as 720 h, $30 flat transfer, one output per channel at $0.4212/h)"
        )?;
        table(f, &s.original)?;
        writeln!(f)?;
        let what = s
            .comparison
            .iter()
            .map(|r| r.what.len())
            .chain(["total".len()])
            .max()
            .unwrap_or(0);
        writeln!(
            f,
            "    {:<what$}  {:>10}  {:>10}",
            "the original beside (a)", "original $", "lunora $"
        )?;
        for r in &s.comparison {
            writeln!(
                f,
                "    {:<what$}  {:>10}  {:>10}{}",
                r.what,
                money(r.original_usd),
                money(r.estimate_usd),
                if r.left_out { "  left out" } else { "" }
            )?;
        }
        writeln!(
            f,
            "    {:<what$}  {:>10}  {:>10}",
            "total",
            money(s.original.total_usd),
            money(s.with_stop.total_usd)
        )?;
        writeln!(f)?;
        writeln!(f, "notes:")?;
        for n in &self.notes {
            writeln!(f, "  - {n}")?;
        }
        Ok(())
    }
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
