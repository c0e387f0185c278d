//! Checks a saved plan (`lunora plan --out FILE`) before `deploy --plan
//! FILE` acts on it.
//!
//! Why this module exists: a plan file is reviewed, then executed later,
//! possibly by another machine. Between the two it is a plain JSON file
//! that anyone can edit, and the templates in it are what would be
//! deployed: a changed RTMP URL in a template would send a stream
//! elsewhere. So a saved plan is only executed when every template still
//! hashes to the digest its plan recorded, when the set of stacks is the
//! one the plan lists, and when it is exactly what the config renders now.
//! Values in, verdict out; no network.

use std::collections::{BTreeMap, BTreeSet};

use super::{sha256, DesiredStack, StackAction, StackPlan};

/// Why a saved plan is not executed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SavedPlanError {
    /// A template does not hash to the digest its plan recorded.
    #[error("the template of stack `{stack}` in the plan file does not match the digest its plan recorded (the file was edited after `lunora plan --out`)")]
    Tampered { stack: String },
    /// The plan lists a stack to create or update whose template is
    /// missing, or the file carries a template the plan does not list.
    #[error("stack `{stack}` {problem} (the file was edited after `lunora plan --out`)")]
    Inconsistent {
        stack: String,
        problem: &'static str,
    },
    /// The saved template (or parameters, or stage) differs from what the
    /// config renders now.
    #[error("stack `{stack}` in the plan file differs from what the config renders now ({what} changed since `lunora plan --out`)")]
    DiffersFromConfig { stack: String, what: &'static str },
}

/// Checks `saved` (the plan's stacks and the templates the file carries)
/// against itself and against `rendered` (what the config renders now).
pub fn verify(
    plan: &[StackPlan],
    saved: &[DesiredStack],
    rendered: &[DesiredStack],
) -> Result<(), SavedPlanError> {
    let planned: BTreeMap<&str, &StackPlan> = plan.iter().map(|p| (p.name.as_str(), p)).collect();
    let mut carried = BTreeSet::new();
    for d in saved {
        if !carried.insert(d.name.as_str()) {
            return Err(SavedPlanError::Inconsistent {
                stack: d.name.clone(),
                problem: "is carried twice in the plan file",
            });
        }
        let Some(p) = planned.get(d.name.as_str()) else {
            return Err(SavedPlanError::Inconsistent {
                stack: d.name.clone(),
                problem: "has a template in the plan file but is not in its plan",
            });
        };
        if p.template_sha256.as_deref() != Some(sha256(&d.template).as_str()) {
            return Err(SavedPlanError::Tampered {
                stack: d.name.clone(),
            });
        }
    }
    for p in plan {
        if p.action != StackAction::Delete && !carried.contains(p.name.as_str()) {
            return Err(SavedPlanError::Inconsistent {
                stack: p.name.clone(),
                problem: "is in the plan but its template is missing from the plan file",
            });
        }
    }
    let now: BTreeMap<&str, &DesiredStack> =
        rendered.iter().map(|d| (d.name.as_str(), d)).collect();
    for d in saved {
        let Some(r) = now.get(d.name.as_str()) else {
            return Err(SavedPlanError::DiffersFromConfig {
                stack: d.name.clone(),
                what: "the stack is no longer in the config",
            });
        };
        let what = if r.template != d.template {
            "the template"
        } else if r.parameters != d.parameters {
            "the parameters"
        } else if r.stage != d.stage {
            "the stage"
        } else {
            continue;
        };
        return Err(SavedPlanError::DiffersFromConfig {
            stack: d.name.clone(),
            what,
        });
    }
    if let Some(extra) = rendered.iter().find(|r| !carried.contains(r.name.as_str())) {
        return Err(SavedPlanError::DiffersFromConfig {
            stack: extra.name.clone(),
            what: "the stack was added to the config",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::plan_stack;

    fn stack(name: &str, template: &str) -> DesiredStack {
        DesiredStack {
            name: name.into(),
            stage: "platforms".into(),
            template: template.into(),
            parameters: BTreeMap::new(),
        }
    }

    fn saved() -> (Vec<StackPlan>, Vec<DesiredStack>) {
        let desired = vec![
            stack("p-e-flow", r#"{"Resources":{}}"#),
            stack(
                "p-e-dest-twitch",
                r#"{"Resources":{"Url":"rtmp://live.twitch.tv/app"}}"#,
            ),
        ];
        let plan = desired.iter().map(|d| plan_stack(d, None)).collect();
        (plan, desired)
    }

    #[test]
    fn an_untouched_plan_that_matches_the_config_passes() {
        let (plan, desired) = saved();
        assert_eq!(verify(&plan, &desired, &desired), Ok(()));
    }

    #[test]
    fn an_edited_template_is_tampered() {
        let (plan, mut desired) = saved();
        let rendered = desired.clone();
        desired[1].template = r#"{"Resources":{"Url":"rtmp://evil.example/app"}}"#.into();
        assert_eq!(
            verify(&plan, &desired, &rendered),
            Err(SavedPlanError::Tampered {
                stack: "p-e-dest-twitch".into()
            })
        );
    }

    #[test]
    fn an_edited_template_with_a_matching_digest_still_differs_from_the_config() {
        let (mut plan, mut desired) = saved();
        let rendered = desired.clone();
        desired[1].template = r#"{"Resources":{"Url":"rtmp://evil.example/app"}}"#.into();
        plan[1].template_sha256 = Some(sha256(&desired[1].template));
        let err = verify(&plan, &desired, &rendered).expect_err("refused");
        assert_eq!(
            err,
            SavedPlanError::DiffersFromConfig {
                stack: "p-e-dest-twitch".into(),
                what: "the template"
            }
        );
        assert!(err.to_string().contains("`p-e-dest-twitch`"));
    }

    #[test]
    fn edited_parameters_differ_from_the_config() {
        let (plan, mut desired) = saved();
        let rendered = desired.clone();
        desired[0]
            .parameters
            .insert("Url".into(), "rtmp://evil.example".into());
        assert!(matches!(
            verify(&plan, &desired, &rendered),
            Err(SavedPlanError::DiffersFromConfig {
                what: "the parameters",
                ..
            })
        ));
    }

    #[test]
    fn a_removed_template_or_an_added_stack_is_refused() {
        let (plan, desired) = saved();
        assert!(matches!(
            verify(&plan, &desired[..1], &desired),
            Err(SavedPlanError::Inconsistent { .. })
        ));
        let mut rendered = desired.clone();
        rendered.push(stack("p-e-dest-new", "{}"));
        assert!(matches!(
            verify(&plan, &desired, &rendered),
            Err(SavedPlanError::DiffersFromConfig { .. })
        ));
        let mut extra = desired.clone();
        extra.push(stack("p-e-dest-new", "{}"));
        assert!(matches!(
            verify(&plan, &extra, &extra),
            Err(SavedPlanError::Inconsistent { .. })
        ));
    }
}
