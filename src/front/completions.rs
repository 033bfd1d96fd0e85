/*!
`agent completions SHELL`: the completion script of the command line (subcommands, flags and
their values), written by clap_complete from the same definitions the parser uses.
*/

use std::process::ExitCode;

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};

pub fn completions(args: &CompletionsArgs) -> Result<ExitCode> {
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "agent",
        &mut std::io::stdout(),
    );
    Ok(ExitCode::SUCCESS)
}
