/*!
What a new session starts with: the system prompt (how to work and how to edit with the tools the
model is offered) and the workspace context that opens the first message (where the workspace
is, today's date, the project's AGENTS.md and, unless turned off, a snapshot of the workspace
taken for the first task).

The two are kept apart so the system prompt is the same bytes for every session of a
configuration, whatever the workspace: with the tools after it, it is the start every provider's
prefix cache keys on, so a new session in another repository pays only for its own context.
(When the workspace path opened the system prompt, every new session on a local server paid for
the whole prompt again: about 20 s a session for a 1.5B model on two cores.)
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

/// The system prompt: how to work, and how to edit with the tools `client` offers. It depends on
/// the configuration only, never on the workspace.
pub fn system_prompt(client: &ModelClient) -> String {
    SYSTEM_PROMPT
        .replace("{editing}", editing_prompt(client).trim_end())
        .replace("{planning}", planning_prompt(client))
        .replace("{os}", std::env::consts::OS)
}

/// The workspace context: where the workspace is and today's date, then the project's AGENTS.md
/// if any, then the snapshot taken for `task` when asked. Reads files and runs git: call it off
/// the async runtime.
pub fn workspace_context(root: &Path, now: &jiff::Zoned, snapshot_for: Option<&str>) -> String {
    let mut context = format!(
        "The workspace is `{}`. Today is {}.\n",
        root.display(),
        now.strftime("%Y-%m-%d")
    );
    if let Ok(text) = std::fs::read_to_string(root.join("AGENTS.md")) {
        context.push_str("\n# Project instructions (AGENTS.md)\n\n");
        context.push_str(text.trim_end());
        context.push('\n');
    }
    if let Some(task) = snapshot_for {
        context.push('\n');
        context.push_str(&crate::snapshot::snapshot(root, task));
    }
    context
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
/// learns an edit that needs no JSON: the whole file after its path where whole files are the
/// format, a SEARCH/REPLACE block otherwise.
fn editing_prompt(client: &ModelClient) -> String {
    const SEARCH_REPLACE: &str = include_str!("../../prompts/editing/text.md");
    let (tools, text) = match client.edit_tools() {
        EditTools::Diff => (
            include_str!("../../prompts/editing/diff.md"),
            SEARCH_REPLACE,
        ),
        EditTools::Replace => (
            include_str!("../../prompts/editing/replace.md"),
            SEARCH_REPLACE,
        ),
        EditTools::DiffAndReplace => (
            include_str!("../../prompts/editing/diff_and_replace.md"),
            SEARCH_REPLACE,
        ),
        EditTools::Whole => (
            include_str!("../../prompts/editing/whole.md"),
            include_str!("../../prompts/editing/text_whole.md"),
        ),
    };
    match client.text_tool_calls() {
        TextToolCalls::Auto => format!("{tools}{text}"),
        TextToolCalls::Off => tools.to_string(),
    }
}
