/*!
Tools from MCP servers. Each server named in the config (`[mcp_servers.NAME]`) is started as a
child process speaking MCP over its stdin and stdout, in the workspace, or reached at its URL over
MCP's streamable HTTP ([`connect`]); its tools are offered to
the model as `NAME__TOOL` beside ours, for the whole session (the tool list never changes within
one, for the provider's prefix cache). A call goes through approval like a command, except for
tools their server marks read-only, and its text comes back as the tool result. A server that
does not start is reported and left out; the session goes on without it.
*/

mod connect;
pub mod credentials;
pub mod login;

use std::collections::BTreeMap;
use std::time::Duration;

use agent_tools::{ToolOutput, Workspace, truncate_head_tail};
use rmcp::model::{CallToolRequestParams, CallToolResult, ContentBlock};
use rmcp::service::{RoleClient, RunningService};

use crate::config::McpServerConfig;
use crate::model::wire::ToolDefinition;

/// How long a server may take to start and list its tools.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(600);
/// Tool results are cut to this many bytes (head and tail), like command output.
const MAX_RESULT_BYTES: usize = 30_000;
/// Providers accept tool names of at most 64 characters.
const MAX_NAME: usize = 64;

/// One tool of one server.
#[derive(Debug, Clone)]
pub struct McpTool {
    /// The name the model sees: `server__tool`.
    pub exposed: String,
    pub read_only: bool,
    server: usize,
    name: String,
    description: String,
    schema: serde_json::Value,
}

impl McpTool {
    /// The name its server gives it.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    /// The JSON Schema of its arguments.
    pub fn schema(&self) -> &serde_json::Value {
        &self.schema
    }
}

/// The running servers and their tools.
#[derive(Default)]
pub struct McpTools {
    servers: Vec<RunningService<RoleClient, ()>>,
    tools: Vec<McpTool>,
}

impl McpTools {
    /// Starts every configured server, all at once (a server run by `npx` can take seconds);
    /// `report` hears of each one that could not be started. Tools keep the config's order.
    pub async fn start(
        configs: &BTreeMap<String, McpServerConfig>,
        workspace: &Workspace,
        mut report: impl FnMut(String),
    ) -> Self {
        let starting = configs.iter().map(|(name, config)| {
            tokio::time::timeout(START_TIMEOUT, connect::start(name, config, workspace))
        });
        let results = futures_util::future::join_all(starting).await;
        let mut started = Self::default();
        for (name, result) in configs.keys().zip(results) {
            match result {
                Ok(Ok((service, tools))) => {
                    let server = started.servers.len();
                    started.servers.push(service);
                    for tool in tools.into_iter().map(|tool| describe(name, server, tool)) {
                        // Names that differ only where `_` replaced a character would clash.
                        if started.find(&tool.exposed).is_some() {
                            report(format!(
                                "MCP tool `{}` left out: another tool has that name",
                                tool.exposed
                            ));
                        } else {
                            started.tools.push(tool);
                        }
                    }
                }
                Ok(Err(error)) => report(format!("MCP server `{name}` left out: {error}")),
                Err(_) => report(format!(
                    "MCP server `{name}` left out: it did not answer within {}s",
                    START_TIMEOUT.as_secs()
                )),
            }
        }
        started
    }

    /// The tools as offered to the model.
    pub fn definitions(&self) -> Vec<ToolDefinition> {
        self.tools
            .iter()
            .map(|tool| {
                ToolDefinition::function(
                    tool.exposed.clone(),
                    tool.description.clone(),
                    tool.schema.clone(),
                )
            })
            .collect()
    }

    /// Every tool, in the config's order.
    pub fn tools(&self) -> &[McpTool] {
        &self.tools
    }

    /// The tool the model calls `exposed`, if it is an MCP tool.
    pub fn find(&self, exposed: &str) -> Option<&McpTool> {
        self.tools.iter().find(|tool| tool.exposed == exposed)
    }

    /// Calls `tool` with the model's `arguments` (a JSON object, as text).
    pub async fn call(&self, tool: &McpTool, arguments: &str) -> ToolOutput {
        let arguments = match parse_arguments(arguments) {
            Ok(arguments) => arguments,
            Err(message) => return ToolOutput::error(message),
        };
        let Some(server) = self.servers.get(tool.server) else {
            return ToolOutput::error(format!("the server of `{}` is gone", tool.exposed));
        };
        let request = CallToolRequestParams::new(tool.name.clone()).with_arguments(arguments);
        match tokio::time::timeout(CALL_TIMEOUT, server.call_tool(request)).await {
            Ok(Ok(result)) => output_of(&result),
            Ok(Err(rmcp::ServiceError::TransportClosed)) => ToolOutput::error(
                "the MCP call failed: the connection to its server closed before the answer came (the server could not resume it); the call may or may not have run",
            ),
            Ok(Err(error)) => ToolOutput::error(format!("the MCP call failed: {error}")),
            Err(_) => ToolOutput::error(format!(
                "the MCP call did not finish within {}s",
                CALL_TIMEOUT.as_secs()
            )),
        }
    }

    /// Ends every server.
    pub async fn shutdown(self) {
        for server in self.servers {
            let _ = server.cancel().await;
        }
    }

    /// Ends every server, once `shared` is the last hold on them (the session's tool runner is
    /// gone).
    pub async fn shutdown_shared(shared: std::sync::Arc<Self>) {
        if let Ok(tools) = std::sync::Arc::try_unwrap(shared) {
            tools.shutdown().await;
        }
    }
}

fn describe(server_name: &str, server: usize, tool: rmcp::model::Tool) -> McpTool {
    McpTool {
        exposed: exposed_name(server_name, &tool.name),
        read_only: tool
            .annotations
            .as_ref()
            .and_then(|annotations| annotations.read_only_hint)
            .unwrap_or(false),
        server,
        description: tool.description.as_deref().unwrap_or("").to_string(),
        schema: serde_json::Value::Object((*tool.input_schema).clone()),
        name: tool.name.into_owned(),
    }
}

/// `server__tool`, with what providers refuse in a tool name replaced by `_`, and cut to 64.
fn exposed_name(server: &str, tool: &str) -> String {
    format!("{server}__{tool}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(MAX_NAME)
        .collect()
}

fn parse_arguments(arguments: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    if arguments.trim().is_empty() {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_str(arguments) {
        Ok(serde_json::Value::Object(object)) => Ok(object),
        Ok(_) => Err("the arguments must be a JSON object".to_string()),
        Err(error) => Err(format!("the arguments are not valid JSON: {error}")),
    }
}

/// The result's text (other content named, not shown), marked as an error if the tool said so.
fn output_of(result: &CallToolResult) -> ToolOutput {
    let mut parts: Vec<String> = result
        .content
        .iter()
        .map(|block| match block {
            ContentBlock::Text(text) => text.text.clone(),
            ContentBlock::Image(_) => "[an image]".to_string(),
            ContentBlock::Audio(_) => "[audio]".to_string(),
            ContentBlock::Resource(_) => "[an embedded resource]".to_string(),
            ContentBlock::ResourceLink(link) => format!("[resource {}]", link.uri),
            // The enum is non-exhaustive: kinds of content newer than this code.
            _ => "[content of another kind]".to_string(),
        })
        .collect();
    if parts.is_empty()
        && let Some(structured) = &result.structured_content
    {
        parts.push(structured.to_string());
    }
    let text = truncate_head_tail(&parts.join("\n"), MAX_RESULT_BYTES);
    if result.is_error == Some(true) {
        ToolOutput::error(text)
    } else {
        ToolOutput::success(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposed_names_are_what_providers_accept() {
        assert_eq!(exposed_name("files", "read_file"), "files__read_file");
        assert_eq!(
            exposed_name("my server", "get.thing"),
            "my_server__get_thing"
        );
        assert_eq!(exposed_name("s", &"x".repeat(100)).len(), MAX_NAME);
    }

    #[test]
    fn arguments_must_be_an_object() {
        assert_eq!(parse_arguments("").unwrap(), serde_json::Map::new());
        assert!(parse_arguments("[1]").is_err());
        assert!(parse_arguments("{oops").is_err());
        assert_eq!(parse_arguments(r#"{"a":1}"#).unwrap()["a"], 1);
    }
}
