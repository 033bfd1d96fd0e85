/*!
The daemon's request bodies, and what an approval's answer means to the session that asked: the
answer is stored as it came (JSON) and mapped onto the review's [`Answer`] when it is used, so an
answer given while the daemon was down, or before a restart continued the turn, means the same.
*/

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::approval::Answer;
use crate::protocol::event::{PlanStep, StepStatus};
use crate::protocol::modes::ApprovalMode;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// Absolute path of the directory to work in.
    #[schema(value_type = String, pattern = "^/")]
    pub workspace: PathBuf,
    #[schema(min_length = 1, pattern = "\\S")]
    pub task: String,
    /// ask (default), edits, all, none.
    pub approval: Option<ApprovalMode>,
    /// Another model than the daemon's.
    pub model: Option<String>,
    /// Work in a git worktree of the workspace (a copy for a plain directory), as `agent run
    /// --isolate`: the workspace is untouched, and `agent apply ID` brings the change back.
    #[serde(default)]
    pub isolate: bool,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    pub text: String,
    pub request_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
// Named as before in the API document: clients generated from it keep their type.
#[schema(as = Decision)]
pub enum AnswerDecision {
    Approve,
    ApproveAlways,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerApproval {
    pub decision: AnswerDecision,
    /// With `approve`, for an edit: apply only these hunks, by file path (the indexes of the
    /// hunks the question lists for that file). A file left out is not changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hunks: Option<BTreeMap<String, Vec<usize>>>,
    /// With `deny`: why, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl AnswerApproval {
    /// What the question's session makes of this answer.
    pub fn to_answer(&self) -> Answer {
        match (self.decision, &self.hunks) {
            (AnswerDecision::Approve, Some(hunks)) => Answer::AllowHunks(hunks.clone()),
            (AnswerDecision::Approve, None) => Answer::AllowOnce,
            (AnswerDecision::ApproveAlways, _) => Answer::AllowAlways,
            (AnswerDecision::Deny, _) => Answer::RejectOnce {
                reason: self.reason.clone(),
            },
        }
    }

    /// What is wrong with this answer to `question` (as clients are shown it).
    pub fn problem(&self, question: &Value) -> Option<String> {
        match (self.decision, &self.hunks, &self.reason) {
            (AnswerDecision::Deny | AnswerDecision::ApproveAlways, Some(_), _) => {
                Some("`hunks` goes with `approve` only".into())
            }
            (AnswerDecision::Approve | AnswerDecision::ApproveAlways, _, Some(_)) => {
                Some("`reason` goes with `deny` only".into())
            }
            (AnswerDecision::Approve, Some(hunks), None) => hunk_problem(hunks, question),
            (AnswerDecision::Approve | AnswerDecision::ApproveAlways, None, None)
            | (AnswerDecision::Deny, None, _) => None,
        }
    }
}

/// Whether every file and hunk named exists in the edit asked about.
fn hunk_problem(hunks: &BTreeMap<String, Vec<usize>>, question: &Value) -> Option<String> {
    if question["kind"] != "edit" {
        return Some("`hunks` answers an edit, and this question is not one".into());
    }
    let files = question["files"].as_array().cloned().unwrap_or_default();
    for (path, wanted) in hunks {
        let Some(file) = files.iter().find(|file| file["path"] == path.as_str()) else {
            return Some(format!("the edit does not change `{path}`"));
        };
        let count = file["hunks"].as_array().map_or(0, Vec::len);
        if let Some(index) = wanted.iter().find(|index| **index >= count) {
            return Some(format!(
                "`{path}` has {count} hunks: there is no hunk {index}"
            ));
        }
    }
    None
}

/// An answer as stored, back to what the session makes of it (a stored answer always parses;
/// anything else is treated as a refusal).
pub fn stored_answer(stored: &str) -> Answer {
    serde_json::from_str::<AnswerApproval>(stored)
        .map(|answer| answer.to_answer())
        .unwrap_or(Answer::RejectOnce { reason: None })
}

/// A step of the model's plan, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = PlanStep)]
pub struct PlanStepShown {
    /// What the step does.
    pub step: String,
    pub status: StepStatusShown,
}

/// Where a step of the plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = StepStatus)]
pub enum StepStatusShown {
    Pending,
    InProgress,
    Completed,
}

impl From<&PlanStep> for PlanStepShown {
    fn from(step: &PlanStep) -> Self {
        Self {
            step: step.step.clone(),
            status: match step.status {
                StepStatus::Pending => StepStatusShown::Pending,
                StepStatus::InProgress => StepStatusShown::InProgress,
                StepStatus::Completed => StepStatusShown::Completed,
            },
        }
    }
}

/// An error answer: `{"error": message}` with `status`.
pub fn failure(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn question() -> Value {
        json!({"kind": "edit", "files": [{"path": "a.txt", "hunks": [{}, {}]}]})
    }

    #[test]
    fn hunks_must_name_what_the_edit_has() {
        let answer = |hunks: Value| AnswerApproval {
            decision: AnswerDecision::Approve,
            hunks: Some(serde_json::from_value(hunks).unwrap()),
            reason: None,
        };
        assert_eq!(answer(json!({"a.txt": [1]})).problem(&question()), None);
        assert_eq!(
            answer(json!({"a.txt": [2]})).problem(&question()),
            Some("`a.txt` has 2 hunks: there is no hunk 2".into())
        );
        assert_eq!(
            answer(json!({"b.txt": [0]})).problem(&question()),
            Some("the edit does not change `b.txt`".into())
        );
        assert_eq!(
            answer(json!({"a.txt": [0]})).problem(&json!({"kind": "command"})),
            Some("`hunks` answers an edit, and this question is not one".into())
        );
    }

    #[test]
    fn a_reason_goes_with_a_denial() {
        let denial = AnswerApproval {
            decision: AnswerDecision::Deny,
            hunks: None,
            reason: Some("use the helper".into()),
        };
        assert_eq!(denial.problem(&question()), None);
        assert_eq!(
            stored_answer(&serde_json::to_string(&denial).unwrap()),
            Answer::RejectOnce {
                reason: Some("use the helper".into())
            }
        );
        let approval = AnswerApproval {
            reason: Some("why".into()),
            decision: AnswerDecision::Approve,
            hunks: None,
        };
        assert_eq!(
            approval.problem(&question()),
            Some("`reason` goes with `deny` only".into())
        );
    }
}
