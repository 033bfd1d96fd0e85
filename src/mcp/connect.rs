/*!
Reaching one MCP server: a command started in the workspace that speaks MCP on its stdin and
stdout, or a URL that speaks MCP's streamable HTTP (the session id, the server's event stream and
resuming it with `Last-Event-ID` are rmcp's), sent through the program's one HTTP client with the
config's headers and bearer token. What goes wrong is said in one line that names no secret.
*/

use std::collections::HashMap;
use std::process::Stdio;

use agent_tools::Workspace;
use anyhow::{Context, Result, bail};
use rmcp::service::{RoleClient, RunningService, ServiceExt};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};

use crate::config::{McpServerConfig, McpTransport};

/// A started server and the tools it lists.
type Started = (RunningService<RoleClient, ()>, Vec<rmcp::model::Tool>);

/// Starts (or reaches) the server `config` describes, and lists its tools.
pub async fn start(config: &McpServerConfig, workspace: &Workspace) -> Result<Started> {
    match config.transport().map_err(anyhow::Error::msg)? {
        McpTransport::Stdio { command } => start_stdio(command, config, workspace).await,
        McpTransport::Http { url } => start_http(url, config).await,
    }
}

async fn start_http(url: &str, config: &McpServerConfig) -> Result<Started> {
    let mut headers = HashMap::new();
    for (name, value) in &config.headers {
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .with_context(|| format!("the header name `{name}` is not valid"))?;
        // The value may hold a secret: the error names the header only.
        let value = reqwest::header::HeaderValue::from_str(&expand_variables(value, env_var))
            .ok()
            .with_context(|| format!("the value of header `{name}` is not valid in HTTP"))?;
        headers.insert(name, value);
    }
    let mut transport_config =
        StreamableHttpClientTransportConfig::with_uri(url.to_string()).custom_headers(headers);
    if let Some(variable) = &config.bearer_token_env_var {
        match crate::config::env(variable) {
            Some(token) => transport_config = transport_config.auth_header(token),
            None => bail!("its bearer token variable `{variable}` is not set"),
        }
    }
    let http = crate::model::http_client().map_err(anyhow::Error::msg)?;
    let transport = StreamableHttpClientTransport::with_client(http, transport_config);
    let service = ().serve(transport).await.map_err(|error| http_failure(url, error))?;
    let tools = service
        .list_all_tools()
        .await
        .with_context(|| format!("{url} did not list its tools"))?;
    Ok((service, tools))
}

/// What went wrong reaching `url`, in words: a server asking for authorization, or one of
/// MCP's older HTTP+SSE transport (which answers a POST with 404 or 405), says what to do.
fn http_failure(url: &str, error: rmcp::service::ClientInitializeError) -> anyhow::Error {
    let chain = format!("{:#}", anyhow::Error::new(error));
    if chain.contains("Auth required") || chain.contains("401") {
        return anyhow::anyhow!(
            "{url} asks for authorization (HTTP 401): set `bearer_token_env_var` to a variable holding a token it accepts"
        );
    }
    if chain.contains("404") || chain.contains("405") {
        return anyhow::anyhow!(
            "{url} does not take MCP's streamable HTTP here ({chain}); a server of the older HTTP+SSE transport is not supported: use its streamable HTTP endpoint (often `/mcp`)"
        );
    }
    anyhow::anyhow!("{url} did not answer as an MCP server: {chain}")
}

async fn start_stdio(
    command_name: &str,
    config: &McpServerConfig,
    workspace: &Workspace,
) -> Result<Started> {
    let mut command = tokio::process::Command::new(command_name);
    command
        .args(config.args.iter().map(|arg| expand_variables(arg, env_var)))
        .current_dir(workspace.root());
    // Servers, like commands, do not see the API key.
    for name in workspace.scrubbed_env() {
        command.env_remove(name);
    }
    command.envs(
        config
            .env
            .iter()
            .map(|(name, value)| (name, expand_variables(value, env_var))),
    );
    // The server's own log would scribble over the session's view.
    let (transport, _) = TokioChildProcess::builder(command)
        .stderr(Stdio::null())
        .spawn()?;
    let service = ().serve(transport).await?;
    let tools = service.list_all_tools().await?;
    Ok((service, tools))
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// `value` with each `${NAME}` replaced by `lookup(NAME)` (empty when unset), so that a config
/// can name a secret without holding it: `env = { TOKEN = "${GITHUB_TOKEN}" }`.
fn expand_variables(value: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let Some(length) = rest[start + 2..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str(&lookup(&rest[start + 2..start + 2 + length]).unwrap_or_default());
        rest = &rest[start + 2 + length + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_in_the_config_are_expanded() {
        let lookup = |name: &str| (name == "TOKEN").then(|| "secret".to_string());
        assert_eq!(expand_variables("${TOKEN}", lookup), "secret");
        assert_eq!(
            expand_variables("Bearer ${TOKEN}!", lookup),
            "Bearer secret!"
        );
        assert_eq!(expand_variables("${UNSET}-${TOKEN}", lookup), "-secret");
        assert_eq!(
            expand_variables("plain ${unclosed", lookup),
            "plain ${unclosed"
        );
        assert_eq!(expand_variables("é${TOKEN}é", lookup), "ésecreté");
    }
}
