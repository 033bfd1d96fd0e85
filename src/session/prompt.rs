/*!
The system prompt a new session starts with: the workspace facts, how to edit with the tools the
model is offered, the project's AGENTS.md, and (unless turned off) a snapshot of the workspace
taken for the first task.
*/

use std::path::Path;

use agent_tools::EditTools;

use crate::model::ModelClient;
use crate::model::wire::PlanTool;
use crate::protocol::modes::TextToolCalls;

const SYSTEM_PROMPT: &str = include_str!("../../prompts/system.md");

/// Whether the system prompt carries a snapshot of the workspace (see [`crate::snapshot`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Snapshot {
    /// Taken for the first task (unless the config says `snapshot = false`).
    ForTask,
    Off,
}

/// The system prompt with the workspace facts filled in, how to edit with the tools `client`
/// offers, then the project's AGENTS.md if any, then the snapshot taken for `task` when asked.
/// Reads files and runs git: call it off the async runtime.
pub fn system_prompt(
    root: &Path,
    now: &jiff::Zoned,
    snapshot_for: Option<&str>,
    client: &ModelClient,
) -> String {
    let mut prompt = SYSTEM_PROMPT
        .replace("{editing}", editing_prompt(client).trim_end())
        .replace("{planning}", planning_prompt(client))
        .replace("{workspace}", &root.display().to_string())
        .replace("{os}", std::env::consts::OS)
        .replace("{date}", &now.strftime("%Y-%m-%d").to_string());
    if let Ok(text) = std::fs::read_to_string(root.join("AGENTS.md")) {
        prompt.push_str("\n\n# Project instructions (AGENTS.md)\n\n");
        prompt.push_str(text.trim_end());
        prompt.push('\n');
    }
    if let Some(task) = snapshot_for {
        prompt.push_str("\n\n");
        prompt.push_str(&crate::snapshot::snapshot(root, task));
    }
    prompt
}

/// The line about keeping a plan, when `client` offers `update_plan`.
fn planning_prompt(client: &ModelClient) -> &'static str {
    match client.plan_tool() {
        PlanTool::Offered => {
            "- For work of several steps, keep a plan with `update_plan` (the whole list each time, one step\n  in progress) and update it as steps start and end; skip it for a task of one or two steps.\n"
        }
        PlanTool::LeftOut => "",
    }
}

/// How to edit, for the edit tools `client` offers; a model whose calls may come as text also
/// learns the SEARCH/REPLACE block, which needs no JSON.
fn editing_prompt(client: &ModelClient) -> String {
    let tools = match client.edit_tools() {
        EditTools::Diff => include_str!("../../prompts/editing/diff.md"),
        EditTools::Replace => include_str!("../../prompts/editing/replace.md"),
        EditTools::DiffAndReplace => include_str!("../../prompts/editing/diff_and_replace.md"),
        EditTools::Whole => include_str!("../../prompts/editing/whole.md"),
    };
    match client.text_tool_calls() {
        TextToolCalls::Auto => format!("{tools}{}", include_str!("../../prompts/editing/text.md")),
        TextToolCalls::Off => tools.to_string(),
    }
}
