/*!
Chat-completions wire types, our own rather than async-openai's typed ones: GLM needs
`reasoning_content` on messages and deltas (kept byte for byte for preserved thinking), an open
`finish_reason`, and `thinking`/`tool_stream` on requests.
*/

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

pub use crate::protocol::messages::{FunctionCall, Message, ToolCallMessage, Usage};

/// A tool as advertised: `{"type": "function", "function": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolDefinition {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: FunctionSpec,
}

/// Whether `update_plan` is offered. Its schema and the prompt's line about it cost every request
/// a few hundred tokens, which a small context window (a local model's) cannot spare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanTool {
    Offered,
    LeftOut,
}

impl PlanTool {
    /// Offered from a 32k context window up.
    pub fn for_window(context_window: u64) -> Self {
        match context_window >= crate::config::SMALL_WINDOW {
            true => PlanTool::Offered,
            false => PlanTool::LeftOut,
        }
    }
}

/// A tool's name, description and JSON schema of its arguments: ours, or an MCP server's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionSpec {
    pub name: String,
    pub description: String,
    pub parameters: serde_json::Value,
}

impl ToolDefinition {
    /// Our own tools, as offered to a model that edits with `edit` (and keeps a plan or not).
    pub fn ours(edit: agent_tools::EditTools, plan: PlanTool) -> Vec<Self> {
        agent_tools::ToolName::specs(edit)
            .into_iter()
            .filter(|spec| match plan {
                PlanTool::Offered => true,
                PlanTool::LeftOut => spec.name != agent_tools::ToolName::UpdatePlan.as_str(),
            })
            .map(|spec| {
                Self::function(
                    spec.name.to_string(),
                    spec.description.to_string(),
                    spec.parameters,
                )
            })
            .collect()
    }

    pub fn function(name: String, description: String, parameters: serde_json::Value) -> Self {
        Self {
            kind: "function",
            function: FunctionSpec {
                name,
                description,
                parameters,
            },
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Thinking {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub clear_thinking: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct StreamOptions {
    pub include_usage: bool,
}

/// The request body. Optional GLM fields are left out for `openai`-kind providers.
#[derive(Debug, Serialize)]
pub struct ChatRequest<'a> {
    pub model: &'a str,
    pub messages: &'a [Message],
    pub tools: &'a [ToolDefinition],
    pub stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Thinking>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_stream: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<&'a Value>,
}

/// One `data:` event of the stream.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Chunk {
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    pub usage: Option<Usage>,
    pub error: Option<ErrorBody>,
    /// Added by our transport when the body ended without `[DONE]` (see `transport.rs`).
    #[serde(default, rename = "agent_stream_cut")]
    pub stream_cut: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChunkChoice {
    #[serde(default)]
    pub delta: Delta,
    pub finish_reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Delta {
    pub reasoning_content: Option<String>,
    pub content: Option<String>,
    pub tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ToolCallDelta {
    pub index: Option<usize>,
    pub id: Option<String>,
    pub function: Option<FunctionDelta>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct FunctionDelta {
    pub name: Option<String>,
    /// Usually a string; some servers send the arguments as a JSON object.
    #[serde(default, deserialize_with = "string_or_json")]
    pub arguments: Option<String>,
}

/// `{"error": {"code": "1302" | 1302, "message": "...", "type": "..."}}`, in an HTTP body or a
/// stream frame (`type` is what OpenAI-compatible servers such as llama.cpp classify by).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default, deserialize_with = "string_or_json")]
    pub code: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "string_or_json")]
    pub kind: Option<String>,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Deserialize)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

fn string_or_json<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text),
        Some(other) => Some(other.to_string()),
    })
}

#[cfg(test)]
mod plan_tool_tests {
    use super::*;

    #[test]
    fn small_windows_are_not_offered_the_plan_tool() {
        let names = |window: u64| -> Vec<String> {
            ToolDefinition::ours(
                agent_tools::EditTools::Replace,
                PlanTool::for_window(window),
            )
            .into_iter()
            .map(|tool| tool.function.name)
            .collect()
        };
        let small = names(16_384);
        let large = names(128_000);
        assert_eq!(
            small,
            [
                "read_file",
                "list_files",
                "search",
                "run_command",
                "edit_file",
                "write_file"
            ]
        );
        assert_eq!(large[..small.len()], small[..]);
        assert_eq!(large[small.len()..], ["update_plan".to_string()]);
    }
}
