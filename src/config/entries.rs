/*!
Entries of the config file that describe something to run or reach: a hook's command, and how to
reach an MCP server (a command, or a URL), with what is wrong with an entry said in words.
*/

use std::collections::BTreeMap;

use serde::Deserialize;

/// One hook: a command run at a point of the session, with the event on stdin as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookConfig {
    /// A pattern the whole tool name (or SessionStart's source, PreCompact's trigger) must
    /// match; absent, empty or `*`: every one.
    #[serde(default)]
    pub matcher: Option<String>,
    pub command: String,
    /// Seconds before it is killed (default 60).
    #[serde(default)]
    pub timeout: Option<u64>,
}

/// How to reach one MCP server: a command speaking MCP on its stdin and stdout, or the URL of
/// one speaking MCP's streamable HTTP.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpServerConfig {
    #[serde(default)]
    pub command: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra environment variables for the server.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub url: Option<String>,
    /// Headers sent with every request (`${NAME}` expanded from the environment).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The variable holding a token sent as `Authorization: Bearer …`.
    #[serde(default)]
    pub bearer_token_env_var: Option<String>,
}

/// How a configured MCP server is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McpTransport<'a> {
    Stdio { command: &'a str },
    Http { url: &'a str },
}

impl McpServerConfig {
    /// How the server is reached, or what is wrong with its entry.
    pub fn transport(&self) -> Result<McpTransport<'_>, String> {
        match (self.command.as_deref(), self.url.as_deref()) {
            (Some(command), None) => Ok(McpTransport::Stdio { command }),
            (None, Some(url)) => Ok(McpTransport::Http { url }),
            (Some(_), Some(_)) => {
                Err("its entry has both `command` and `url`: a server is one or the other".into())
            }
            (None, None) => Err("its entry has neither `command` nor `url`".into()),
        }
    }
}
