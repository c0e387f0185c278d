//! `lunora plan`: every stack, rendered, against what is deployed: which
//! stacks and resources change, the template diff, the risks and the
//! security table, as text, JSON (versioned) or markdown for a pull
//! request comment.
//!
//! With credentials (or `--endpoint-url`) the live stacks are read, all at
//! once, and a change set is made for each changed stack and deleted
//! again. Without, the plan compares with the latest release in the local
//! store and says so, so a plan works with no AWS account. The plan
//! itself is built in [`crate::ops::plan`]; this face chooses live or
//! offline, saves it with `--out` and draws it.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::aws::AwsSettings;
use crate::ops::plan::{self as ops_plan, Plan, PlanFile};
use crate::output::{Console, ExitStatus, Report};
use crate::plan::{self, Counts, ResourceAction, Severity, StackAction, StackPlan};

/// What `lunora plan` prints.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct PlanReport {
    pub plan: Plan,
    #[serde(skip)]
    pub detailed_exitcode: bool,
    /// Colour the text (stdout is a terminal and colour is allowed).
    #[serde(skip)]
    pub color: bool,
    /// The text's width (`None`: `--wide`, every line in full).
    #[serde(skip)]
    pub width: Option<usize>,
}

/// `text` in an ANSI colour when `on`.
fn paint(on: bool, code: &str, text: &str) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

fn sign_color(sign: &str) -> &'static str {
    match sign {
        "+" => "32",
        "-" => "31",
        " " => "0",
        "~" => "33",
        _ => "35",
    }
}

pub async fn run(
    config: &Path,
    detailed_exitcode: bool,
    out: Option<&PathBuf>,
    wide: bool,
    settings: &AwsSettings,
    console: &Console,
) -> anyhow::Result<PlanReport> {
    let deployment = super::load(config, console)?;
    let aws = super::aws_for(&deployment, settings, console).await?;
    let online = aws.has_credentials().await;
    // Offline only when nothing asked for AWS: a named profile that yields
    // no credentials is a mistake, not a reason to plan from the store.
    if let (false, Some((profile, from))) = (
        online,
        crate::aws::credentials::requested(settings.profile.as_deref()),
    ) {
        anyhow::bail!(
            "AWS profile `{profile}` (from {from}) gives no usable credentials, so lunora cannot plan against the live stacks (hint: `aws sso login --profile {profile}` or fix the profile; leave the profile unset to plan offline against the release store)"
        );
    }
    let ops_plan::Built {
        plan,
        desired,
        notes,
        ..
    } = ops_plan::build(&deployment, &aws, online).await?;
    for note in &notes {
        console.note(note);
    }
    if let Some(path) = out {
        let file = PlanFile {
            plan: crate::output::Envelope::new("plan", plan.clone()),
            desired,
        };
        let text = serde_json::to_string_pretty(&file)? + "\n";
        crate::fsread::write_atomically(path, text.as_bytes())?;
        console.note(&format!(
            "plan saved to `{}`: `lunora deploy --plan {}` executes exactly this",
            path.display(),
            path.display()
        ));
    }
    Ok(PlanReport {
        plan,
        detailed_exitcode,
        color: console.color_stdout,
        width: crate::screen::width(wide, crate::screen::Stream::Stdout),
    })
}

fn action_word(a: StackAction) -> &'static str {
    match a {
        StackAction::Create => "create",
        StackAction::Update => "update",
        StackAction::NoChange => "no changes",
        StackAction::Delete => "delete",
    }
}

fn action_sign(a: StackAction) -> char {
    match a {
        StackAction::Create => '+',
        StackAction::Update => '~',
        StackAction::NoChange => ' ',
        StackAction::Delete => '-',
    }
}

fn resource_sign(a: ResourceAction) -> &'static str {
    match a {
        ResourceAction::Add => "+",
        ResourceAction::Modify => "~",
        ResourceAction::MayReplace => "~/+-",
        ResourceAction::Replace => "+-",
        ResourceAction::Remove => "-",
    }
}

fn resource_summary(s: &StackPlan) -> String {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &s.resources {
        let word = match r.action {
            ResourceAction::Add => "to add",
            ResourceAction::Modify => "to modify",
            ResourceAction::MayReplace => "may be replaced",
            ResourceAction::Replace => "to replace",
            ResourceAction::Remove => "to remove",
        };
        *by.entry(word).or_default() += 1;
    }
    by.iter()
        .map(|(w, n)| format!("{n} {w}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn counts_line(c: &Counts) -> String {
    format!(
        "{} to create, {} to update, {} to delete, {} unchanged (resources: {} to add, {} to modify, {} to replace, {} to remove)",
        c.create, c.update, c.delete, c.unchanged, c.add, c.modify, c.replace, c.remove
    )
}

impl fmt::Display for PlanReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        self.draw(&mut text)?;
        f.write_str(&crate::screen::fit(&text, self.width))
    }
}

impl PlanReport {
    /// The plan as text, every line in full ([`fmt::Display`] fits it to
    /// the width).
    fn draw(&self, f: &mut String) -> fmt::Result {
        let p = &self.plan;
        writeln!(
            f,
            "lunora plan: `{}-{}` in {}, compared with {}",
            p.project, p.environment, p.region, p.compared_with
        )?;
        let mut stages: Vec<Option<&str>> = p.stages.iter().map(|s| Some(s.as_str())).collect();
        stages.push(None);
        for stage in stages {
            let stacks: Vec<&StackPlan> = p
                .stacks
                .iter()
                .filter(|s| s.stage.as_deref() == stage)
                .collect();
            if stacks.is_empty() {
                continue;
            }
            writeln!(f)?;
            match stage {
                Some(name) => writeln!(f, "stage `{name}`")?,
                None => writeln!(f, "not in the config any more")?,
            }
            for s in stacks {
                let summary = resource_summary(s);
                write!(
                    f,
                    "  {} `{}`: {}",
                    paint(
                        self.color,
                        sign_color(&action_sign(s.action).to_string()),
                        &action_sign(s.action).to_string()
                    ),
                    s.name,
                    action_word(s.action)
                )?;
                if !summary.is_empty() {
                    write!(f, " ({summary})")?;
                }
                writeln!(f)?;
                for note in &s.notes {
                    writeln!(f, "      note: {note}")?;
                }
                if s.action == StackAction::NoChange {
                    continue;
                }
                for r in &s.resources {
                    write!(
                        f,
                        "      {} {:<28} {}",
                        paint(
                            self.color,
                            sign_color(resource_sign(r.action)),
                            &format!("{:<4}", resource_sign(r.action))
                        ),
                        r.logical_id,
                        r.resource_type
                    )?;
                    if !r.properties.is_empty() {
                        write!(f, "  [{}]", r.properties.join(", "))?;
                    }
                    if !r.replacement_reasons.is_empty() {
                        write!(f, "  replaced because {}", r.replacement_reasons.join("; "))?;
                    }
                    writeln!(f)?;
                    // Scalar values before and after; the template diff
                    // below shows the rest.
                    for (path, change) in r
                        .property_changes
                        .iter()
                        .filter_map(|c| Some((&c.path, c.compact()?)))
                    {
                        writeln!(f, "             {path}: {change}")?;
                    }
                }
                if s.action == StackAction::Update {
                    for line in s.diff.lines() {
                        let code = match line.chars().next() {
                            Some('+') if !line.starts_with("+++") => "32",
                            Some('-') if !line.starts_with("---") => "31",
                            Some('@') => "36",
                            _ => "0",
                        };
                        writeln!(f, "      {}", paint(self.color && code != "0", code, line))?;
                    }
                }
            }
        }
        let security: Vec<(&str, &plan::SecurityChange)> = p
            .stacks
            .iter()
            .flat_map(|s| s.security.iter().map(move |c| (s.name.as_str(), c)))
            .collect();
        if !security.is_empty() {
            writeln!(f)?;
            writeln!(f, "security changes:")?;
            for (stack, c) in security {
                writeln!(
                    f,
                    "  {} {:<5} {}/{}: {}",
                    c.change, c.kind, stack, c.logical_id, c.detail
                )?;
            }
        }
        let risks = p.risks();
        if !risks.is_empty() {
            writeln!(f)?;
            writeln!(f, "risks:")?;
            for r in risks {
                let level = match r.severity {
                    Severity::Critical => paint(self.color, "1;31", "CRITICAL"),
                    Severity::Warning => paint(self.color, "33", "warning"),
                };
                writeln!(f, "  {level}: {}", r.message)?;
            }
            if p.risks().iter().any(|r| r.severity == Severity::Critical) {
                writeln!(f, "  deploy refuses the critical ones unless each is named with `--allow-replace` or `--restart-running`")?;
            }
        }
        if let Some(q) = &p.quotas {
            writeln!(f)?;
            writeln!(f, "MediaLive quotas in {} (account-wide):", q.region)?;
            write!(f, "{q}")?;
            if !q.exceeded().is_empty() {
                writeln!(f, "  deploy refuses this until the quota is raised")?;
            }
        }
        writeln!(f)?;
        if p.has_changes() {
            writeln!(f, "plan: {}", counts_line(&p.counts))
        } else {
            writeln!(f, "no changes: every stack matches the config")
        }
    }
}

impl Report for PlanReport {
    fn kind(&self) -> &'static str {
        "plan"
    }

    fn markdown(&self) -> String {
        let p = &self.plan;
        let mut out = String::new();
        let _ = writeln!(out, "<!-- lunora-plan:{}-{} -->", p.project, p.environment);
        let _ = writeln!(
            out,
            "### lunora plan: `{}-{}` ({})\n",
            p.project, p.environment, p.region
        );
        if p.has_changes() {
            let c = &p.counts;
            let _ = writeln!(
                out,
                "**{} to create · {} to update · {} to delete · {} unchanged** (resources: {} add, {} modify, {} replace, {} remove)\n",
                c.create, c.update, c.delete, c.unchanged, c.add, c.modify, c.replace, c.remove
            );
        } else {
            let _ = writeln!(out, "**No changes.** Every stack matches the config.\n");
        }
        let _ = writeln!(out, "Compared with {}.\n", p.compared_with);
        let risks = p.risks();
        let critical: Vec<_> = risks
            .iter()
            .filter(|r| r.severity == Severity::Critical)
            .collect();
        if !critical.is_empty() {
            let _ = writeln!(
                out,
                "> [!CAUTION]\n> Deploy refuses these unless each is named in an override:"
            );
            for r in critical {
                let _ = writeln!(out, "> - {}", r.message);
            }
            out.push('\n');
        }
        let warnings: Vec<_> = risks
            .iter()
            .filter(|r| r.severity == Severity::Warning)
            .collect();
        if !warnings.is_empty() {
            let _ = writeln!(out, "> [!WARNING]");
            for r in warnings {
                let _ = writeln!(out, "> - {}", r.message);
            }
            out.push('\n');
        }
        let security: Vec<_> = p
            .stacks
            .iter()
            .flat_map(|s| s.security.iter().map(move |c| (s, c)))
            .collect();
        if !security.is_empty() {
            let _ = writeln!(
                out,
                "<details><summary>Security changes ({})</summary>\n",
                security.len()
            );
            let _ = writeln!(out, "| | kind | resource | change |\n|---|---|---|---|");
            for (s, c) in security {
                let _ = writeln!(
                    out,
                    "| {} | {} | `{}`/`{}` | {} |",
                    c.change,
                    c.kind,
                    s.name,
                    c.logical_id,
                    c.detail.replace('|', "\\|")
                );
            }
            let _ = writeln!(out, "\n</details>\n");
        }
        if let Some(q) = &p.quotas {
            if !q.exceeded().is_empty() {
                let _ = writeln!(out, "> [!CAUTION]\n> Deploy refuses this plan: a MediaLive quota would be exceeded.\n");
            }
            let _ = writeln!(
                out,
                "<details><summary>MediaLive quotas in {}</summary>\n\n{}\n</details>\n",
                q.region,
                q.markdown()
            );
        }
        for s in p.stacks.iter().filter(|s| s.changes()) {
            let summary = resource_summary(s);
            let _ = writeln!(
                out,
                "<details><summary><code>{}</code>: {}{}</summary>\n",
                s.name,
                action_word(s.action),
                if summary.is_empty() {
                    String::new()
                } else {
                    format!(" ({summary})")
                }
            );
            if !s.resources.is_empty() {
                let _ = writeln!(
                    out,
                    "| action | logical id | type | details |\n|---|---|---|---|"
                );
                for r in &s.resources {
                    let mut details = r.properties.join(", ");
                    if !r.replacement_reasons.is_empty() {
                        details = format!("**replaced**: {}", r.replacement_reasons.join("; "));
                    }
                    for (path, change) in r
                        .property_changes
                        .iter()
                        .filter_map(|c| Some((&c.path, c.compact()?)))
                    {
                        details
                            .push_str(&format!("<br>`{path}`: `{}`", change.replace('|', "\\|")));
                    }
                    let _ = writeln!(
                        out,
                        "| {} | `{}` | {} | {} |",
                        resource_sign(r.action),
                        r.logical_id,
                        r.resource_type,
                        details
                    );
                }
            }
            for note in &s.notes {
                let _ = writeln!(out, "\n_Note: {note}_");
            }
            if s.action == StackAction::Update && !s.diff.is_empty() {
                let _ = writeln!(out, "\n```diff\n{}```", s.diff);
            }
            let _ = writeln!(out, "\n</details>\n");
        }
        out
    }

    fn status(&self) -> ExitStatus {
        if self.detailed_exitcode && self.plan.has_changes() {
            ExitStatus::Changes
        } else {
            ExitStatus::Success
        }
    }
}
