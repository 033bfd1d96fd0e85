/*!
The one event stream every front end consumes: the terminal view, `--json`, the transcript.
Events are plain data; the loop emits them and never looks at who listens.
*/

use agent_tools::ToolStatus;
pub use agent_tools::plan::{PlanStep, StepStatus};
use serde::Serialize;

use super::hooks::{HookEvent, HookOutcome};
use super::messages::ToolCallMessage;
use super::modes::DecidedBy;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A session starts, or is resumed with a follow-up `task`. The system prompt and the
    /// workspace context the first task opens with are recorded so that a resumed session sends
    /// them byte for byte as before.
    SessionStarted {
        session_id: String,
        model: String,
        base_url: String,
        provider_kind: String,
        workspace: String,
        task: String,
        system_prompt: String,
        #[serde(skip_serializing_if = "String::is_empty")]
        context: String,
        resumed: bool,
    },
    TurnStarted {
        turn: u32,
    },
    Reasoning {
        text: String,
    },
    Content {
        text: String,
    },
    Retrying {
        attempt: u32,
        delay_ms: u64,
        reason: String,
    },
    /// The whole assistant turn as received (and as kept in history).
    AssistantTurn {
        turn: u32,
        reasoning: String,
        content: String,
        tool_calls: Vec<ToolCallMessage>,
        finish_reason: Option<String>,
    },
    /// The reply (recorded as sent just before) was nothing but tool calls written as text;
    /// these are run, and their results go back in one user message.
    TextCallsRecovered {
        calls: Vec<ToolCallMessage>,
    },
    /// The session stopped (a daemon's restart) while these calls of its last turn waited, one
    /// of them for approval; now that it was answered, they run.
    CallsResumed {
        calls: Vec<ToolCallMessage>,
    },
    /// A message the agent added to the conversation in the user's role: results of calls
    /// written as text, a correction of a structured answer.
    Note {
        content: String,
    },
    /// The model's plan changed (`update_plan`): the whole plan as it is now.
    Plan {
        #[serde(skip_serializing_if = "Option::is_none")]
        explanation: Option<String>,
        plan: Vec<PlanStep>,
    },
    /// Something the user should know that is not part of the conversation: the context window
    /// assumed, an MCP server left out, a sandbox that cannot be enforced.
    Notice {
        about: NoticeSubject,
        message: String,
    },
    /// One of the user's hooks ran: which point, its command, how it ended and how long it took;
    /// `message` is why it blocked or failed.
    Hook {
        hook: HookEvent,
        command: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        duration_ms: u64,
        outcome: HookOutcome,
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    ToolCallStarted {
        id: String,
        name: String,
        headline: String,
        arguments: String,
    },
    ApprovalRequested {
        id: String,
        action: ApprovalAction,
    },
    ApprovalDecided {
        id: String,
        approved: bool,
        by: DecidedBy,
        reason: Option<String>,
    },
    ToolResult {
        id: String,
        name: String,
        status: ToolStatus,
        content: String,
    },
    /// The conversation is about to outgrow the model's context window and is being compacted.
    Compacting {
        estimated_tokens: u64,
    },
    /// The session goes on from the task and this summary; from the history with older tool
    /// results cut short when the summary could not be had (None).
    Compacted {
        summary: Option<String>,
    },
    /// The final answer did not satisfy the output schema; the model is asked again.
    OutputRejected {
        attempt: u32,
        problems: String,
    },
    Usage {
        turn: u32,
        prompt_tokens: u64,
        cached_tokens: u64,
        completion_tokens: u64,
    },
    Finished {
        outcome: Outcome,
        answer: String,
        turns: u32,
        prompt_tokens: u64,
        cached_tokens: u64,
        completion_tokens: u64,
        elapsed_ms: u64,
        denied_actions: u32,
        /// The final answer's JSON value, when an output schema was given and it was met.
        #[serde(skip_serializing_if = "Option::is_none")]
        output: Option<serde_json::Value>,
    },
}

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeSubject {
    /// The context window used, and where it comes from (for information).
    ContextWindow,
    /// The sandbox cannot be enforced here: every command needs a person's yes (a warning).
    Sandbox,
    /// An MCP server or tool was left out (a warning).
    McpServer,
    /// The daemon could not record something about the session in its database (a warning:
    /// after a restart the session may not be as it is now).
    Daemon,
    /// Hooks left out: the project's own, in a directory the user has not trusted, or one whose
    /// matcher is not a valid pattern (a warning).
    Hooks,
}

/// What needs approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ApprovalAction {
    /// An edit, as the unified diff of what would change.
    Edit { diff: String, summary: String },
    Command {
        command: String,
        /// The model asked to run it outside the sandbox.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        outside_sandbox: bool,
    },
    /// A call of an MCP server's tool.
    ToolCall { tool: String, arguments: String },
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// The model answered without a tool call.
    Completed,
    TurnLimit {
        max_turns: u32,
    },
    Interrupted,
    /// The user answered `q` at a review prompt.
    Quit,
    /// The model kept making the same call.
    RepeatedCall {
        name: String,
    },
    /// The final answer never satisfied the output schema.
    InvalidOutput {
        problems: String,
    },
    Error {
        message: String,
    },
}

/// A consumer of events.
pub trait EventSink: Send {
    fn emit(&mut self, event: &Event);
}

/// Fans each event out to every sink, in order.
#[derive(Default)]
pub struct Events {
    sinks: Vec<Box<dyn EventSink>>,
}

impl Events {
    pub fn new(sinks: Vec<Box<dyn EventSink>>) -> Self {
        Self { sinks }
    }

    pub fn emit(&mut self, event: Event) {
        for sink in &mut self.sinks {
            sink.emit(&event);
        }
    }
}
