/*!
`update_plan`: the model's plan for work of several steps, sent whole with every change (the
shape Codex uses, so models trained on it fit). A plan that breaks the rules (two steps in
progress, an empty step) is refused with what is wrong, and the plan stays as it was.
*/

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePlanArgs {
    /// Why the plan is as it is now (optional, one or two sentences).
    pub explanation: Option<String>,
    /// The whole plan, in order: every step with its status. At most one step is in_progress.
    pub plan: Vec<PlanStep>,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanStep {
    /// What the step does, in a few words.
    pub step: String,
    /// pending, in_progress or completed.
    pub status: StepStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    InProgress,
    Completed,
}

impl UpdatePlanArgs {
    /// What breaks the plan's rules, for the model; None when the plan is fine.
    pub fn problem(&self) -> Option<String> {
        if self.plan.is_empty() {
            return Some("the plan has no steps; send every step, each with its status".into());
        }
        if let Some(index) = self
            .plan
            .iter()
            .position(|step| step.step.trim().is_empty())
        {
            return Some(format!(
                "step {} is empty; say what each step does",
                index + 1
            ));
        }
        let running: Vec<usize> = self
            .plan
            .iter()
            .enumerate()
            .filter(|(_, step)| step.status == StepStatus::InProgress)
            .map(|(index, _)| index + 1)
            .collect();
        match running.as_slice() {
            [_, _, ..] => Some(format!(
                "steps {} are all in_progress; at most one step is in_progress at a time",
                running
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            [] | [_] => None,
        }
    }

    /// The call's one-line summary: the step in progress, or how far the plan is.
    pub fn headline(&self) -> String {
        let done = self
            .plan
            .iter()
            .filter(|step| step.status == StepStatus::Completed)
            .count();
        match self
            .plan
            .iter()
            .find(|step| step.status == StepStatus::InProgress)
        {
            Some(step) => format!("{done}/{} done, now: {}", self.plan.len(), step.step),
            None => format!("{done}/{} done", self.plan.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(steps: &[(&str, StepStatus)]) -> UpdatePlanArgs {
        UpdatePlanArgs {
            explanation: None,
            plan: steps
                .iter()
                .map(|(step, status)| PlanStep {
                    step: step.to_string(),
                    status: *status,
                })
                .collect(),
        }
    }

    #[test]
    fn a_plan_breaking_the_rules_says_how() {
        use StepStatus::{Completed, InProgress, Pending};
        let problems: Vec<Option<String>> = [
            plan(&[("read", Completed), ("fix", InProgress), ("test", Pending)]),
            plan(&[("read", InProgress), ("fix", InProgress)]),
            plan(&[("read", Completed), ("  ", Pending)]),
            plan(&[]),
        ]
        .iter()
        .map(UpdatePlanArgs::problem)
        .collect();
        assert_eq!(
            problems,
            vec![
                None,
                Some(
                    "steps 1, 2 are all in_progress; at most one step is in_progress at a time"
                        .into()
                ),
                Some("step 2 is empty; say what each step does".into()),
                Some("the plan has no steps; send every step, each with its status".into()),
            ]
        );
    }
}
