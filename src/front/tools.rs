/*!
`agent tools`: list the tools with their schemas, or run one locally through the same dispatch
path the loop uses. Both include the tools of the MCP servers the workspace's config names.
*/

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use agent_tools::{ToolCall, ToolStatus, Workspace};
use anyhow::Result;
use tokio_util::sync::CancellationToken;

use crate::agent::ToolRunner;
use crate::cli::{ToolsAction, ToolsArgs};
use crate::cli::{open_workspace, read_stdin};
use crate::config::{FileConfig, secret_variables};
use crate::front::terminal::{interaction, report_problem};
use crate::mcp::McpTools;
use crate::model::wire::ToolDefinition;
use crate::policy::{approval_mode, approver, confinement, sandbox};
use crate::protocol::event::Events;
use crate::protocol::exit::Exit;

pub async fn tools(args: ToolsArgs) -> Result<ExitCode> {
    match args.action {
        None => {
            let workspace = open_workspace(None)?.with_scrubbed_env(secret_variables(""));
            let mcp = start_mcp(&workspace).await?;
            let listed = list(&mcp, args.json);
            mcp.shutdown().await;
            listed?;
            Ok(ExitCode::SUCCESS)
        }
        Some(ToolsAction::Call {
            name,
            arguments,
            workspace,
            sandbox: sandbox_args,
        }) => {
            let arguments = if arguments == "-" {
                read_stdin("the arguments")?
            } else {
                arguments
            };
            let root = open_workspace(workspace.workspace.as_deref())?;
            let config = FileConfig::load(root.root())?;
            let root = root
                .with_scrubbed_env(secret_variables(""))
                .with_sandbox(sandbox(sandbox_args.choice(), &config));
            let (confinement, why_not) = confinement(root.sandbox());
            if let Some(why_not) = why_not {
                report_problem(format!("warning: {why_not}"));
            }
            let approver = approver(
                approval_mode(workspace.approval_flag(), &config),
                interaction(),
                &config,
                confinement,
            );
            let mcp = Arc::new(start_mcp(&root).await?);
            let mut runner = ToolRunner::new(root, approver, CancellationToken::new())
                .with_mcp(Arc::clone(&mcp));
            let call = ToolCall::parse(&name, &arguments).map_err(|error| error.to_string());
            let output = runner
                .run_named("local", &name, &arguments, call, &mut Events::default())
                .await;
            drop(runner);
            McpTools::shutdown_shared(mcp).await;
            print_ignoring_closed_pipe(&format!("{}\n", output.content.trim_end()))?;
            Ok(ExitCode::from(match output.status {
                ToolStatus::Success => Exit::Success,
                ToolStatus::Error => Exit::Failure,
            }))
        }
    }
}

/// The MCP servers of the workspace's config, started.
async fn start_mcp(workspace: &Workspace) -> Result<McpTools> {
    let config = FileConfig::load(workspace.root())?;
    Ok(McpTools::start(&config.mcp_servers, workspace, report_problem).await)
}

fn list(mcp: &McpTools, json: bool) -> Result<()> {
    // Every tool the agent has; which edit tools a model is offered depends on its edit format.
    let mut definitions: Vec<ToolDefinition> = agent_tools::ToolName::ALL
        .into_iter()
        .map(|tool| {
            let spec = tool.spec();
            ToolDefinition::function(spec.name.into(), spec.description.into(), spec.parameters)
        })
        .collect();
    definitions.extend(mcp.definitions());
    let text = if json {
        format!("{}\n", serde_json::to_string_pretty(&definitions)?)
    } else {
        let mut text = String::new();
        for definition in definitions {
            let spec = definition.function;
            let parameters = serde_json::to_string(&spec.parameters)?;
            text.push_str(&format!(
                "{}\n  {}\n  parameters: {parameters}\n\n",
                spec.name, spec.description
            ));
        }
        text
    };
    print_ignoring_closed_pipe(&text)
}

/// `agent tools | head` must not fail when the reader goes away.
fn print_ignoring_closed_pipe(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(error.into()),
        Ok(()) | Err(_) => Ok(()),
    }
}
