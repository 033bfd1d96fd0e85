/*!
The conversation's messages as they are kept, replayed and sent: what the model and the tools
said, and what a turn cost. The model client's request and stream types live in
`model::wire`; these are the part every layer shares.
*/

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// One message of the conversation, as sent to the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum Message {
    System {
        content: String,
    },
    User {
        content: String,
    },
    Assistant {
        content: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        reasoning_content: Option<String>,
        #[serde(skip_serializing_if = "Vec::is_empty", default)]
        tool_calls: Vec<ToolCallMessage>,
    },
    Tool {
        tool_call_id: String,
        content: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCallMessage {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub function: FunctionCall,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionCall {
    pub name: String,
    pub arguments: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(
        default,
        deserialize_with = "cached_tokens",
        rename(deserialize = "prompt_tokens_details")
    )]
    pub cached_tokens: u64,
}

fn cached_tokens<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let details = Option::<Value>::deserialize(deserializer)?;
    Ok(details
        .and_then(|details| details.get("cached_tokens").and_then(Value::as_u64))
        .unwrap_or(0))
}
