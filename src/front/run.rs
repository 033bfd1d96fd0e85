/*!
`agent run`: one task in one session of the core, shown on the terminal (or as `--json` lines),
with Ctrl-C handling; an isolated run's change is reviewed at the end. The outcome becomes the
exit code.
*/

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use agent_tools::run_command;
use anyhow::{Result, bail};

use crate::agent::OutputSchema;
use crate::cli::{RunArgs, open_workspace, read_stdin};
use crate::front::terminal::{JsonLines, TerminalView, bring_back, opening};
use crate::protocol::event::{EventSink, Outcome};
use crate::protocol::exit::Exit;
use crate::session::{Session, Stop};
use crate::sync::lock;

pub async fn run(args: RunArgs) -> Result<ExitCode> {
    let task = read_task(&args.task)?;
    let real = open_workspace(args.session.workspace.workspace.as_deref())?;
    let output_schema = args
        .output_schema
        .as_deref()
        .map(OutputSchema::load)
        .transpose()?;
    let mut opening = opening(&args.session, &real);
    opening.output_schema = output_schema;
    let mut session = Session::open(opening).await?;
    announce_transcript(&args, session.transcript_path());
    let front: Box<dyn EventSink> = match args.json {
        true => Box::new(JsonLines),
        false => Box::new(TerminalView::new()),
    };
    watch_ctrl_c(Arc::clone(&session.stop), Arc::clone(&session.hard_stop));
    let outcome = session.prompt(task, front).await?.outcome;
    let mut denied = session.denied_actions();
    session.close().await;
    if let Some(isolation) = session.take_isolation() {
        let transcript = session.transcript_path();
        let mode = args.session.workspace.approval_flag();
        if !bring_back(isolation, &real, transcript, &session.id, mode).await? {
            denied += 1;
        }
    }
    Ok(exit_code(&outcome, denied))
}

fn exit_code(outcome: &Outcome, denied: u32) -> ExitCode {
    ExitCode::from(match outcome {
        Outcome::Completed if denied > 0 => Exit::Denied,
        Outcome::Completed => Exit::Success,
        Outcome::Error { .. } => Exit::Failure,
        Outcome::InvalidOutput { .. } => Exit::InvalidOutput,
        Outcome::TurnLimit { .. } => Exit::TurnLimit,
        Outcome::RepeatedCall { .. } => Exit::RepeatedCall,
        Outcome::Interrupted => Exit::Interrupted,
        Outcome::Quit => Exit::Quit,
    })
}

/// The transcript's path, on stderr, for the human view only (`--json` keeps stderr quiet).
fn announce_transcript(args: &RunArgs, path: &Path) {
    if !args.json {
        eprintln!(
            "{}",
            console::style(format!("session transcript: {}", path.display())).dim()
        );
    }
}

fn read_task(task: &str) -> Result<String> {
    let task = if task == "-" {
        read_stdin("the task")?
    } else {
        task.to_string()
    };
    if task.trim().is_empty() {
        bail!("the task is empty");
    }
    Ok(task)
}

/// First Ctrl-C: finish the running tool, then stop. Second: kill running commands, exit now.
fn watch_ctrl_c(stop: Stop, hard_stop: Stop) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        lock(&stop).cancel();
        eprintln!(
            "\n{}",
            console::style("stopping after the running tool (Ctrl-C again to quit now)").yellow()
        );
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        lock(&hard_stop).cancel();
        run_command::kill_running_commands();
        std::process::exit(i32::from(Exit::Interrupted.code()));
    });
}
