/*!
`agent`: a coding agent for GLM and any OpenAI-compatible endpoint.

This file parses the command line, dispatches, and maps errors to exit codes; nothing else.

Printing is denied everywhere but in the front ends that own a terminal (and here): the core says
what it has to say as events, which each front end shows its own way.
*/
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod agent;
mod approval;
mod cli;
mod config;
mod front;
mod hooks;
mod isolate;
mod mcp;
mod model;
mod policy;
mod protocol;
mod records;
mod session;
mod snapshot;
mod sync;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use front::{acp, batch, chat, completions, run, sandbox_exec, saved, serve, tools, trust};
use protocol::exit::Exit;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    // Confinement holds for one thread: it must come before the runtime starts any.
    let command = match cli.command {
        Some(Command::SandboxExec(args)) => return sandbox_exec::sandbox_exec(args),
        Some(command) => command,
        None => Command::Chat(cli.chat),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&anyhow::Error::from(error)),
    };
    let result = runtime.block_on(async {
        match command {
            Command::Chat(args) => chat::chat(args).await,
            Command::Run(args) => run::run(args).await,
            Command::Tools(args) => tools::tools(args).await,
            Command::Undo(args) => saved::undo(args),
            Command::Diff(args) => saved::diff(args),
            Command::Batch(args) => batch::batch(args).await,
            Command::Review(args) => batch::review(args).await,
            // A batch's results directory, or a session's saved change.
            Command::Apply(args) => match batch::is_results_dir(&args.session) {
                true => batch::apply_batch(&args).await,
                false => saved::apply(args).await,
            },
            Command::Discard(args) => saved::discard(args),
            Command::Sessions(args) => saved::list_sessions(args),
            Command::Trust(args) => trust::trust(args),
            Command::Completions(args) => completions::completions(&args),
            Command::Mcp(args) => front::mcp::mcp(args).await,
            Command::Acp(args) => acp::acp(args).await,
            Command::Serve(args) => serve::serve(args).await,
            Command::SandboxExec(_) => Ok(ExitCode::from(Exit::Failure)),
        }
    });
    // Leftover blocking reads (an unanswered prompt) must not keep the process alive.
    runtime.shutdown_background();
    match result {
        Ok(code) => code,
        Err(error) => fail(&error),
    }
}

/// Help and version print as usual; a usage mistake gets one line and exit code 2.
#[allow(clippy::print_stderr)]
fn usage_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => error.exit(),
        _ => {
            // The first paragraph of clap's message, on one line.
            let rendered = error.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .take_while(|line| !line.trim().is_empty())
                .map(str::trim)
                .collect();
            eprintln!("{} (see `agent --help`)", message.join(" "));
            ExitCode::from(Exit::Usage)
        }
    }
}

#[allow(clippy::print_stderr)]
fn fail(error: &anyhow::Error) -> ExitCode {
    let chain: Vec<String> = error.chain().map(ToString::to_string).collect();
    eprintln!("error: {}", chain.join(": "));
    ExitCode::from(Exit::Failure)
}
