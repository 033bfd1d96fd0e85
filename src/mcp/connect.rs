/*!
Reaching one MCP server: a command started in the workspace that speaks MCP on its stdin and
stdout, or a URL that speaks MCP's streamable HTTP (the session id, the server's event stream and
resuming it with `Last-Event-ID` are rmcp's), sent through the program's one HTTP client with the
config's headers and bearer token, or the tokens `agent mcp login` saved. What goes wrong is
said in one line that names no secret.
*/

use std::collections::HashMap;
use std::process::Stdio;

use agent_tools::Workspace;
use anyhow::{Context, Result, bail};
use reqwest::header::{HeaderName, HeaderValue};
use rmcp::service::{RoleClient, RunningService, ServiceExt};
use rmcp::transport::auth::{AuthClient, AuthorizationManager};
use rmcp::transport::streamable_http_client::{
    StreamableHttpClient, StreamableHttpClientTransportConfig,
};
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};

use super::credentials::TokenFile;
use crate::config::{McpServerConfig, McpTransport};

/// A started server and the tools it lists.
type Started = (RunningService<RoleClient, ()>, Vec<rmcp::model::Tool>);

/// Starts (or reaches) the server `config` describes under `name`, and lists its tools.
pub async fn start(name: &str, config: &McpServerConfig, workspace: &Workspace) -> Result<Started> {
    match config.transport().map_err(anyhow::Error::msg)? {
        McpTransport::Stdio { command } => start_stdio(command, config, workspace).await,
        McpTransport::Http { url } => start_http(name, url, config).await,
    }
}

/// What a request to a server by URL carries to say who is asking.
enum Credentials {
    Nothing,
    /// `bearer_token_env_var`'s token.
    Bearer(String),
    /// The tokens `agent mcp login` saved, renewed by rmcp as they expire.
    Login(Box<AuthorizationManager>),
}

/// Which credentials were sent, to word a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Nothing,
    Bearer,
    Login,
}

impl Credentials {
    fn sent(&self) -> Sent {
        match self {
            Self::Nothing => Sent::Nothing,
            Self::Bearer(_) => Sent::Bearer,
            Self::Login(_) => Sent::Login,
        }
    }
}

async fn start_http(name: &str, url: &str, config: &McpServerConfig) -> Result<Started> {
    let mut transport_config = StreamableHttpClientTransportConfig::with_uri(url.to_string())
        .custom_headers(headers(config)?);
    let http = crate::model::http_client().map_err(anyhow::Error::msg)?;
    let credentials = credentials(name, url, config).await?;
    let sent = credentials.sent();
    let service = match credentials {
        Credentials::Nothing => serve(http, transport_config).await,
        Credentials::Bearer(token) => {
            transport_config = transport_config.auth_header(token);
            serve(http, transport_config).await
        }
        Credentials::Login(manager) => {
            serve(AuthClient::new(http, *manager), transport_config).await
        }
    };
    let service = service.map_err(|error| http_failure(name, url, config, sent, error))?;
    let tools = service
        .list_all_tools()
        .await
        .with_context(|| format!("{url} did not list its tools"))?;
    Ok((service, tools))
}

async fn serve<C: StreamableHttpClient + 'static>(
    client: C,
    config: StreamableHttpClientTransportConfig,
) -> Result<RunningService<RoleClient, ()>, rmcp::service::ClientInitializeError> {
    ().serve(StreamableHttpClientTransport::with_client(client, config))
        .await
}

/// The config's headers, `${NAME}` expanded.
fn headers(config: &McpServerConfig) -> Result<HashMap<HeaderName, HeaderValue>> {
    let mut headers = HashMap::new();
    for (name, value) in &config.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .with_context(|| format!("the header name `{name}` is not valid"))?;
        // The value may hold a secret: the error names the header only.
        let value = HeaderValue::from_str(&expand_variables(value, env_var))
            .ok()
            .with_context(|| format!("the value of header `{name}` is not valid in HTTP"))?;
        headers.insert(name, value);
    }
    Ok(headers)
}

/// The token the config names, or the login saved for this server, or nothing.
async fn credentials(name: &str, url: &str, config: &McpServerConfig) -> Result<Credentials> {
    if let Some(variable) = &config.bearer_token_env_var {
        return match crate::config::env(variable) {
            Some(token) => Ok(Credentials::Bearer(token)),
            None => bail!("its bearer token variable `{variable}` is not set"),
        };
    }
    let Some(tokens) = TokenFile::of(name, url) else {
        return Ok(Credentials::Nothing);
    };
    if !tokens.holds_tokens().await {
        return Ok(Credentials::Nothing);
    }
    let relogin = || format!("its saved login cannot be used: run `agent mcp login {name}`");
    let mut manager = tokens.manager(url).await.with_context(relogin)?;
    match manager
        .initialize_from_store()
        .await
        .with_context(relogin)?
    {
        true => Ok(Credentials::Login(Box::new(manager))),
        false => bail!("{}", relogin()),
    }
}

/// What went wrong reaching `url`, in words: a server asking for authorization, or one of
/// MCP's older HTTP+SSE transport (which answers a POST with 404 or 405), says what to do.
fn http_failure(
    name: &str,
    url: &str,
    config: &McpServerConfig,
    sent: Sent,
    error: rmcp::service::ClientInitializeError,
) -> anyhow::Error {
    let chain = format!("{:#}", anyhow::Error::new(error));
    let status = http_status(&chain);
    let refused = chain.contains("Auth required") || chain.contains("uthorization required");
    match (status, refused) {
        (Some("401"), _) | (_, true) => match (sent, &config.bearer_token_env_var) {
            (Sent::Bearer, Some(variable)) => {
                anyhow::anyhow!("{url} refused the token in `{variable}` (HTTP 401)")
            }
            (Sent::Login, _) => anyhow::anyhow!(
                "{url} no longer takes the saved login and it could not be renewed: run `agent mcp login {name}`"
            ),
            (Sent::Nothing | Sent::Bearer, _) => anyhow::anyhow!(
                "{url} needs a login: run `agent mcp login {name}` (or set `bearer_token_env_var` to a variable holding a token it accepts)"
            ),
        },
        (Some(status @ ("404" | "405")), _) => anyhow::anyhow!(
            "{url} answered HTTP {status}: it does not take MCP's streamable HTTP there; a server of the older HTTP+SSE transport is not supported: use its streamable HTTP endpoint (often `/mcp`)"
        ),
        (Some(status), _) => {
            anyhow::anyhow!("{url} answered HTTP {status} instead of starting an MCP session")
        }
        (None, _) if chain.contains("error sending request") => {
            anyhow::anyhow!("{url} did not answer (no connection could be made)")
        }
        (None, _) => anyhow::anyhow!(
            "{url} did not answer as an MCP server: {}",
            without_type_names(&chain)
        ),
    }
}

/// The status in rmcp's "HTTP 503" wording, if the chain has one.
fn http_status(chain: &str) -> Option<&str> {
    let after = &chain[chain.find("HTTP ")? + 5..];
    let digits = after.get(..3)?;
    digits.bytes().all(|b| b.is_ascii_digit()).then_some(digits)
}

/// rmcp's errors name the transport's Rust type (`Transport [rmcp::…<…>]`): noise to a user.
fn without_type_names(chain: &str) -> String {
    match (chain.find(" [rmcp::"), chain.find("]")) {
        (Some(start), Some(end)) if end > start => {
            format!("{}{}", &chain[..start], &chain[end + 1..])
        }
        _ => chain.to_string(),
    }
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

    #[test]
    fn rmcp_errors_are_put_in_words() {
        let chain = "Send message error Transport [rmcp::transport::worker::WorkerTransport<rmcp::X<reqwest::Client>>] error: HTTP 503, when send initialize request";
        assert_eq!(http_status(chain), Some("503"));
        assert_eq!(http_status("HTTP 5"), None);
        assert_eq!(
            without_type_names(chain),
            "Send message error Transport error: HTTP 503, when send initialize request"
        );
    }
}
