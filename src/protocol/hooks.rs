/*!
The points of a session where the user's hooks run, and what a hook's run came to. The names are
Claude Code's, so existing hook scripts find the `hook_event_name` they expect.
*/

use serde::{Deserialize, Serialize};

/// Where in a session a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HookEvent {
    /// A session object's first prompt: a new session, or one resumed.
    SessionStart,
    /// The user's message, before the model sees it.
    UserPromptSubmit,
    /// A tool call, before it is approved and run.
    PreToolUse,
    /// A tool call, after it ran.
    PostToolUse,
    /// The model answered without a tool call: the turn would end.
    Stop,
    /// The conversation is about to be compacted.
    PreCompact,
}

impl HookEvent {
    pub fn name(self) -> &'static str {
        match self {
            Self::SessionStart => "SessionStart",
            Self::UserPromptSubmit => "UserPromptSubmit",
            Self::PreToolUse => "PreToolUse",
            Self::PostToolUse => "PostToolUse",
            Self::Stop => "Stop",
            Self::PreCompact => "PreCompact",
        }
    }
}

/// What one hook's run came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HookOutcome {
    /// It exited 0 (or said nothing that blocks): the session goes on.
    Ok,
    /// It exited 2 or said `"decision": "block"`.
    Blocked,
    /// It said `"decision": "approve"`: a tool call runs without the approval question.
    Approved,
    /// It could not start or exited with another code: a warning, and the session goes on.
    Failed,
    /// It ran past its timeout and was killed with its process group: as `Failed`.
    TimedOut,
}

/// The line a front end shows for a hook's run, when there is something to say (a run that
/// went on quietly has none: it is in `--json` and the transcript).
pub fn hook_line(
    hook: HookEvent,
    command: &str,
    outcome: HookOutcome,
    message: Option<&str>,
) -> Option<String> {
    let why = message
        .map(|message| format!(": {message}"))
        .unwrap_or_default();
    match outcome {
        HookOutcome::Ok => None,
        HookOutcome::Approved => Some(format!("the {} hook `{command}` approved it", hook.name())),
        HookOutcome::Blocked => Some(format!(
            "the {} hook `{command}` blocked it{why}",
            hook.name()
        )),
        HookOutcome::Failed | HookOutcome::TimedOut => Some(format!(
            "warning: the {} hook `{command}` failed{why} (the session goes on)",
            hook.name()
        )),
    }
}
