/*!
`agent mcp`: the configured MCP servers. `list` reaches each one (started or asked over HTTP) and
says how it is reached, whether it answers, how many tools it has and where its token comes from;
`get` prints one server's tools with their schemas; `add` and `remove` edit the user's config (or
the project's), keeping its comments and layout; `login` runs OAuth in a browser for a server
reached by URL and `logout` forgets its tokens.
*/

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use agent_tools::Workspace;
use anyhow::{Context, Result, bail};

use crate::cli::{McpAddArgs, McpCommand, McpPlace};
use crate::config::edit::{Changed, add_mcp_server, remove_mcp_server, user_config_file};
use crate::config::{FileConfig, McpServerConfig, McpTransport, secret_variables};
use crate::mcp::McpTools;
use crate::mcp::credentials::{Forgotten, TokenFile};
use crate::protocol::exit::Exit;

pub async fn mcp(args: crate::cli::McpArgs) -> Result<ExitCode> {
    match args.command {
        McpCommand::List(place) => list(&place).await,
        McpCommand::Get { name, place } => get(&name, &place).await,
        McpCommand::Add(add) => added(add),
        McpCommand::Login {
            name,
            no_browser,
            callback_port,
            place,
        } => login(&name, browser(no_browser), callback_port, &place).await,
        McpCommand::Logout { name, place } => logout(&name, &place).await,
        McpCommand::Remove {
            name,
            project,
            place,
        } => removed(&name, project, &place),
    }
}

async fn list(place: &McpPlace) -> Result<ExitCode> {
    let (workspace, config) = load(place)?;
    if config.mcp_servers.is_empty() {
        println!("no MCP servers configured (`agent mcp add NAME -- COMMAND` or `--url URL`)");
        return Ok(ExitCode::SUCCESS);
    }
    for (name, server) in &config.mcp_servers {
        let reached = match server.transport() {
            Ok(McpTransport::Stdio { command }) => format!("command `{command}`"),
            Ok(McpTransport::Http { url }) => format!("streamable HTTP {url}"),
            Err(problem) => {
                println!("{name}: not usable: {problem}");
                continue;
            }
        };
        let (tools, problems) = started(name, server, &workspace).await;
        let state = match problems.first() {
            None => format!("answers, {} tool(s)", tools.tools().len()),
            Some(problem) => format!("not reached: {problem}"),
        };
        println!("{name}: {reached}; {state}; {}", token(name, server).await);
        tools.shutdown().await;
    }
    Ok(ExitCode::SUCCESS)
}

async fn get(name: &str, place: &McpPlace) -> Result<ExitCode> {
    let (workspace, config) = load(place)?;
    let Some(server) = config.mcp_servers.get(name) else {
        bail!("no MCP server `{name}` in the config (`agent mcp list` shows them)");
    };
    let (tools, problems) = started(name, server, &workspace).await;
    if let Some(problem) = problems.first() {
        tools.shutdown().await;
        bail!("{problem}");
    }
    for tool in tools.tools() {
        println!("{} (the model calls it {})", tool.name(), tool.exposed);
        if !tool.description().is_empty() {
            println!("  {}", tool.description());
        }
        let schema = serde_json::to_string_pretty(tool.schema()).unwrap_or_default();
        for line in schema.lines() {
            println!("  {line}");
        }
    }
    tools.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Whether `login` may open a browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Browser {
    Open,
    PrintOnly,
}

fn browser(no_browser: bool) -> Browser {
    // Without a display, xdg-open would start a text browser in this very terminal.
    let graphical = cfg!(any(target_os = "macos", target_os = "windows"))
        || std::env::var_os("DISPLAY").is_some()
        || std::env::var_os("WAYLAND_DISPLAY").is_some();
    match !no_browser && graphical {
        true => Browser::Open,
        false => Browser::PrintOnly,
    }
}

async fn login(
    name: &str,
    browser: Browser,
    callback_port: u16,
    place: &McpPlace,
) -> Result<ExitCode> {
    let (url, tokens) = login_target(name, place)?;
    let pending = crate::mcp::login::begin(&url, tokens.clone(), callback_port).await?;
    println!(
        "To log in to `{name}`, open this URL in a browser:\n\n  {}\n",
        pending.authorization_url
    );
    if browser == Browser::Open && open::that_detached(&pending.authorization_url).is_err() {
        println!("(no browser could be opened: open the URL yourself)");
    }
    println!("Waiting for the browser to come back to 127.0.0.1...");
    pending.finish().await?;
    println!(
        "logged in to `{name}`; tokens saved in {}",
        tokens.path().display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn logout(name: &str, place: &McpPlace) -> Result<ExitCode> {
    let (_, tokens) = login_target(name, place)?;
    let forgotten = tokens
        .forget()
        .await
        .with_context(|| format!("cannot remove {}", tokens.path().display()))?;
    match forgotten {
        Forgotten::Yes => println!("logged out of `{name}`"),
        Forgotten::NothingSaved => println!("`{name}` had no saved login"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The URL of the server `name` and the file its tokens go to.
fn login_target(name: &str, place: &McpPlace) -> Result<(String, TokenFile)> {
    let (_, config) = load(place)?;
    let Some(server) = config.mcp_servers.get(name) else {
        bail!("no MCP server `{name}` in the config (`agent mcp list` shows them)");
    };
    let url = match server.transport().map_err(anyhow::Error::msg)? {
        McpTransport::Http { url } => url.to_string(),
        McpTransport::Stdio { .. } => {
            bail!("`{name}` is started by a command; logins are for servers reached by URL")
        }
    };
    if let Some(variable) = &server.bearer_token_env_var {
        bail!(
            "`{name}` sends the token in `{variable}`; remove its bearer_token_env_var to log in instead"
        );
    }
    let tokens = TokenFile::of(name, &url)
        .context("no config directory to keep tokens in: set HOME or XDG_CONFIG_HOME")?;
    Ok((url, tokens))
}

fn added(add: McpAddArgs) -> Result<ExitCode> {
    let server = McpServerConfig {
        command: add.command.first().cloned(),
        args: add.command.iter().skip(1).cloned().collect(),
        env: pairs(&add.env, "--env")?,
        url: add.url,
        headers: pairs(&add.headers, "--header")?,
        bearer_token_env_var: add.bearer_token_env_var,
    };
    server.transport().map_err(anyhow::Error::msg)?;
    let file = config_file(add.project, &add.place)?;
    add_mcp_server(&file, &add.name, &server)?;
    println!("added `{}` to {}", add.name, file.display());
    Ok(ExitCode::SUCCESS)
}

fn removed(name: &str, project: bool, place: &McpPlace) -> Result<ExitCode> {
    let file = config_file(project, place)?;
    match remove_mcp_server(&file, name)? {
        Changed::Yes => {
            println!("removed `{name}` from {}", file.display());
            Ok(ExitCode::SUCCESS)
        }
        Changed::AlreadySo => {
            eprintln!("no MCP server `{name}` in {}", file.display());
            Ok(ExitCode::from(Exit::Failure))
        }
    }
}

/// The workspace and its layered config.
fn load(place: &McpPlace) -> Result<(Workspace, FileConfig)> {
    let dir = workspace_dir(place)?;
    let workspace = Workspace::new(&dir)
        .with_context(|| format!("workspace {}", dir.display()))?
        .with_scrubbed_env(secret_variables(""));
    let config = FileConfig::load(workspace.root())?;
    Ok((workspace, config))
}

fn workspace_dir(place: &McpPlace) -> Result<PathBuf> {
    match &place.workspace {
        Some(dir) => Ok(dir.clone()),
        None => std::env::current_dir().context("no current directory"),
    }
}

/// The user's config file, or the workspace's with `project`.
fn config_file(project: bool, place: &McpPlace) -> Result<PathBuf> {
    match project {
        true => Ok(workspace_dir(place)?.join(".agent/config.toml")),
        false => user_config_file(),
    }
}

/// One server started alone, and what kept it from starting.
async fn started(
    name: &str,
    server: &McpServerConfig,
    workspace: &Workspace,
) -> (McpTools, Vec<String>) {
    let one = BTreeMap::from([(name.to_string(), server.clone())]);
    let mut problems = Vec::new();
    let left_out = format!("MCP server `{name}` left out: ");
    let tools = McpTools::start(&one, workspace, |problem| {
        problems.push(problem.trim_start_matches(&left_out).to_string())
    })
    .await;
    (tools, problems)
}

/// Where the server's token comes from (never the token).
async fn token(name: &str, server: &McpServerConfig) -> String {
    match (&server.url, &server.bearer_token_env_var) {
        (None, _) => "no token".to_string(),
        (Some(url), None) => match TokenFile::of(name, url) {
            Some(file) if file.holds_tokens().await => "logged in".to_string(),
            Some(_) | None => "not logged in".to_string(),
        },
        (Some(_), Some(variable)) => match crate::config::env(variable) {
            Some(_) => format!("token from ${variable}"),
            None => format!("token variable ${variable} is not set"),
        },
    }
}

/// `NAME=VALUE` pairs of a flag.
fn pairs(given: &[String], flag: &str) -> Result<BTreeMap<String, String>> {
    given
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                Ok((name.trim().to_string(), value.to_string()))
            }
            _ => bail!("{flag} takes NAME=VALUE, not `{pair}`"),
        })
        .collect()
}
