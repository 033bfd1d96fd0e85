/*!
The point of a session a hook runs at, with the fields its event adds to the hook's input.
*/

use serde_json::{Map, Value, json};

use crate::protocol::hooks::HookEvent;

/// Why a session starts (SessionStart's `source`, which its matcher matches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartSource {
    Startup,
    Resume,
}

/// What starts a compaction (PreCompact's `trigger`, which its matcher matches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompactTrigger {
    /// The user asked (`/compact`, an editor's or the daemon's compaction).
    Manual,
    /// The conversation neared the context window.
    Auto,
}

/// A point of the session, with what hooks are told of it.
#[derive(Debug, Clone, Copy)]
pub enum Point<'a> {
    SessionStart {
        source: StartSource,
    },
    UserPromptSubmit {
        prompt: &'a str,
    },
    PreToolUse {
        tool_name: &'a str,
        /// The call's arguments as the model wrote them (JSON, normally).
        arguments: &'a str,
    },
    PostToolUse {
        tool_name: &'a str,
        arguments: &'a str,
        succeeded: bool,
        result: &'a str,
    },
    Stop {
        /// The turn goes on because a Stop hook blocked its end before.
        stop_hook_active: bool,
    },
    PreCompact {
        trigger: CompactTrigger,
    },
}

impl Point<'_> {
    pub fn event(&self) -> HookEvent {
        match self {
            Self::SessionStart { .. } => HookEvent::SessionStart,
            Self::UserPromptSubmit { .. } => HookEvent::UserPromptSubmit,
            Self::PreToolUse { .. } => HookEvent::PreToolUse,
            Self::PostToolUse { .. } => HookEvent::PostToolUse,
            Self::Stop { .. } => HookEvent::Stop,
            Self::PreCompact { .. } => HookEvent::PreCompact,
        }
    }

    /// What a hook's matcher matches here, if anything.
    pub fn subject(&self) -> Option<&str> {
        match self {
            Self::PreToolUse { tool_name, .. } | Self::PostToolUse { tool_name, .. } => {
                Some(tool_name)
            }
            Self::SessionStart { source } => Some(source.name()),
            Self::PreCompact { trigger } => Some(trigger.name()),
            Self::UserPromptSubmit { .. } | Self::Stop { .. } => None,
        }
    }

    /// The fields this event adds to the hook's input.
    pub fn fields(&self) -> Map<String, Value> {
        let fields = match self {
            Self::SessionStart { source } => json!({"source": source.name()}),
            Self::UserPromptSubmit { prompt } => json!({"prompt": prompt}),
            Self::PreToolUse {
                tool_name,
                arguments,
            } => json!({"tool_name": tool_name, "tool_input": input(arguments)}),
            Self::PostToolUse {
                tool_name,
                arguments,
                succeeded,
                result,
            } => json!({
                "tool_name": tool_name,
                "tool_input": input(arguments),
                "tool_response": {"success": succeeded, "content": result},
            }),
            Self::Stop { stop_hook_active } => json!({"stop_hook_active": stop_hook_active}),
            Self::PreCompact { trigger } => {
                json!({"trigger": trigger.name(), "custom_instructions": ""})
            }
        };
        match fields {
            Value::Object(fields) => fields,
            _ => Map::new(),
        }
    }
}

impl StartSource {
    fn name(self) -> &'static str {
        match self {
            Self::Startup => "startup",
            Self::Resume => "resume",
        }
    }
}

impl CompactTrigger {
    fn name(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Auto => "auto",
        }
    }
}

/// The call's arguments as an object when they are JSON (as hooks expect), else as written.
fn input(arguments: &str) -> Value {
    serde_json::from_str(arguments).unwrap_or_else(|_| Value::String(arguments.to_string()))
}
