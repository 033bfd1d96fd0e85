/*!
`agent tools`: list the tools with their schemas, or run one locally through the same dispatch
path the loop uses.
*/

use std::io::Write;
use std::process::ExitCode;

use agent_tools::{ToolCall, ToolStatus};
use anyhow::Result;
use tokio_util::sync::CancellationToken;

use crate::agent::ToolRunner;
use crate::agent::event::Events;
use crate::cli::{ToolsAction, ToolsArgs};
use crate::config::{FileConfig, approval_mode, approver, secret_variables};
use crate::exit;
use crate::run::{open_workspace, read_stdin, tool_definitions};

pub async fn tools(args: ToolsArgs) -> Result<ExitCode> {
    match args.action {
        None => {
            list(args.json)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(ToolsAction::Call {
            name,
            arguments,
            workspace,
        }) => {
            let arguments = if arguments == "-" {
                read_stdin("the arguments")?
            } else {
                arguments
            };
            let root = open_workspace(workspace.workspace.as_deref())?
                .with_scrubbed_env(secret_variables(""));
            let config = FileConfig::load(root.root())?;
            let approver = approver(approval_mode(&workspace, &config), &config);
            let mut runner = ToolRunner::new(root, approver, CancellationToken::new());
            let call = ToolCall::parse(&name, &arguments).map_err(|error| error.to_string());
            let output = runner.run("local", call, &mut Events::default()).await;
            print_ignoring_closed_pipe(&format!("{}\n", output.content.trim_end()))?;
            Ok(ExitCode::from(match output.status {
                ToolStatus::Success => exit::SUCCESS,
                ToolStatus::Error => exit::FAILURE,
            }))
        }
    }
}

fn list(json: bool) -> Result<()> {
    let definitions = tool_definitions();
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
