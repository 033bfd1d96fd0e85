/*!
`agent` (or `agent chat`): a conversation in the terminal. One session of the core, opened as
`agent run` opens its (`-C`, `--model`, `--approval`, `--sandbox`, `--isolate`, `-c`,
`--resume`); each message runs a turn shown as `agent run` shows it, edits reviewed inline. Ctrl-C
cancels the running turn (its commands killed) and returns to the prompt; at an empty prompt,
Ctrl-C twice or Ctrl-D leaves. `@path` attaches a file, `!command` runs one in the sandbox and
offers its output with the next message, and slash commands act on the session.
*/

mod commands;
mod input;
mod line;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use agent_tools::Workspace;
use agent_tools::run_command::{self, RunCommandArgs};
use anyhow::Result;
use console::style;

use crate::agent::recorded::last_plan;
use crate::cli::{SessionArgs, open_workspace};
use crate::front::terminal::{TerminalView, bring_back, opening, plan_line};
use crate::model::wire::Message;
use crate::protocol::event::{Event, EventSink, PlanStep};
use crate::protocol::exit::Exit;
use crate::session::{Begin, Session};
use crate::sync::lock;
use input::Input;
use line::{LineEditor, Read};

pub async fn chat(args: SessionArgs) -> Result<ExitCode> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        eprintln!(
            "a conversation needs a terminal; without one, use `agent run TASK` (or `agent run -` with the task on stdin)"
        );
        return Ok(ExitCode::from(Exit::Usage));
    }
    let real = open_workspace(args.workspace.workspace.as_deref())?;
    let session = open(&args, &real, args.begin()).await?;
    let history = crate::config::data_home().join("agent/history");
    let editor = LineEditor::new(real.root(), history)?;
    let mut chat = Chat {
        session,
        args,
        real,
        editor,
        kept: Arc::default(),
        ran: Vec::new(),
    };
    chat.greet().await;
    chat.converse().await?;
    chat.leave().await
}

/// Opens the conversation's session `begin`, as `agent run` would for these flags.
async fn open(args: &SessionArgs, real: &Workspace, begin: Begin) -> Result<Session> {
    let mut opening = opening(args, real);
    opening.begin = begin;
    Session::open(opening).await
}

/// Tokens used so far in this conversation, from its `usage` events.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub prompt: u64,
    pub cached: u64,
    pub completion: u64,
    /// The last request's prompt: how full the context window is.
    pub last_prompt: u64,
}

/// What the conversation keeps across its turns: the tokens used, and the plan as last shown.
#[derive(Debug, Default, Clone)]
pub struct Kept {
    pub tally: Tally,
    pub plan: Vec<PlanStep>,
}

/// Shows a turn on the terminal and counts its tokens.
struct Shown {
    view: TerminalView,
    kept: Arc<Mutex<Kept>>,
}

impl Shown {
    fn new(kept: &Arc<Mutex<Kept>>) -> Self {
        Self {
            view: TerminalView::with_plan(lock(kept).plan.clone()),
            kept: Arc::clone(kept),
        }
    }
}

impl EventSink for Shown {
    fn emit(&mut self, event: &Event) {
        match event {
            Event::Usage {
                prompt_tokens,
                cached_tokens,
                completion_tokens,
                ..
            } => {
                let tally = &mut lock(&self.kept).tally;
                tally.prompt += prompt_tokens;
                tally.cached += cached_tokens;
                tally.completion += completion_tokens;
                tally.last_prompt = *prompt_tokens;
            }
            Event::Plan { plan, .. } => lock(&self.kept).plan.clone_from(plan),
            _ => {}
        }
        self.view.emit(event);
    }
}

struct Chat {
    session: Session,
    args: SessionArgs,
    real: Workspace,
    editor: LineEditor,
    kept: Arc<Mutex<Kept>>,
    /// What `!command`s printed since the last message: it goes with the next one.
    ran: Vec<String>,
}

/// What the conversation does after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Continue,
    Leave,
}

impl Chat {
    async fn greet(&self) {
        eprintln!(
            "{}",
            style(format!(
                "agent in {} (session {}). /help for commands; Ctrl-D leaves. Messages typed while a turn runs wait for it.",
                self.session.workspace.display(),
                self.session.id
            ))
            .dim()
        );
        self.show_recent().await;
    }

    /// A resumed session's last messages, and its plan.
    async fn show_recent(&self) {
        for message in self.session.recent_messages(4) {
            match message {
                Message::User { content } => {
                    eprintln!("{} {}", style("you:").bold(), first_lines(&content))
                }
                Message::Assistant { content, .. } => {
                    eprintln!("{} {}", style("agent:").bold(), first_lines(&content))
                }
                Message::System { .. } | Message::Tool { .. } => {}
            }
        }
        if let Some((_, plan)) = last_plan(&self.session.transcript_text().await) {
            eprintln!("{}", style("plan:").bold());
            for step in &plan {
                eprintln!("{}", plan_line(step));
            }
            lock(&self.kept).plan = plan;
        }
    }

    /// The status line shown before each prompt.
    fn status(&self) -> String {
        let tally = lock(&self.kept).tally;
        let window = self.session.context_window().max(1);
        format!(
            "{} · context {}% · approval {}",
            self.session.model(),
            tally.last_prompt * 100 / window,
            mode_name(self.session.mode())
        )
    }

    async fn converse(&mut self) -> Result<()> {
        let mut initial = String::new();
        let mut interrupted_at_empty_prompt = false;
        loop {
            eprintln!("{}", style(self.status()).dim());
            let read = self
                .editor
                .read("› ".to_string(), std::mem::take(&mut initial))
                .await?;
            let line = match read {
                Read::Eof => return Ok(()),
                Read::Interrupted if interrupted_at_empty_prompt => return Ok(()),
                Read::Interrupted => {
                    interrupted_at_empty_prompt = true;
                    eprintln!("{}", style("(Ctrl-C again or Ctrl-D to leave)").dim());
                    continue;
                }
                Read::Line(line) => line,
            };
            interrupted_at_empty_prompt = false;
            self.editor.remember(&line);
            match input::parse(&line) {
                Input::Empty => {}
                Input::Command { name, argument } => {
                    if self.command(&name, &argument).await? == Next::Leave {
                        return Ok(());
                    }
                }
                Input::Shell(command) => self.shell(&command).await,
                Input::Message(text) => {
                    if let Some(unsent) = self.send(&text).await {
                        initial = unsent;
                    }
                }
            }
        }
    }

    /// Runs a turn on `text`; gives the text back when it could not be sent.
    async fn send(&mut self, text: &str) -> Option<String> {
        let Some(workspace) = self.session.workspace_handle() else {
            return Some(text.to_string());
        };
        let message = match input::with_attachments(text, workspace) {
            Ok(message) => message,
            Err(problem) => {
                eprintln!("{}", style(problem).red());
                return Some(text.to_string());
            }
        };
        let message = input::with_shell_output(message, &self.ran);
        self.ran.clear();
        let (stop, hard_stop) = (
            Arc::clone(&self.session.stop),
            Arc::clone(&self.session.hard_stop),
        );
        let shown = Box::new(Shown::new(&self.kept));
        let turn = self.session.prompt(message, shown);
        tokio::pin!(turn);
        let ended = loop {
            tokio::select! {
                ended = &mut turn => break ended,
                Ok(()) = tokio::signal::ctrl_c() => {
                    lock(&stop).cancel();
                    lock(&hard_stop).cancel();
                    run_command::kill_running_commands();
                    eprintln!("\n{}", style("interrupted; the session goes on").yellow());
                }
            }
        };
        match ended {
            Ok(_) => None,
            Err(error) => {
                eprintln!("{}", style(format!("the turn failed: {error:#}")).red());
                eprintln!("{}", style("(Up brings the message back)").dim());
                None
            }
        }
    }

    /// `!command`: runs it in the sandbox, shows its output, and keeps it for the next message.
    async fn shell(&mut self, command: &str) {
        let Some(workspace) = self.session.workspace_handle() else {
            return;
        };
        let args = RunCommandArgs {
            command: command.to_string(),
            timeout_secs: None,
            outside_sandbox: None,
        };
        let interrupted = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        match run_command::execute(workspace, &args, interrupted).await {
            Ok(finished) => {
                let output = agent_tools::truncate_head_tail(&finished.output(), 20_000);
                let code = finished
                    .exit_code()
                    .map_or_else(|| "killed".to_string(), |code| format!("exit code {code}"));
                eprint!("{output}");
                eprintln!("{}", style(format!("({code})")).dim());
                self.ran.push(format!(
                    "[I ran `{command}` ({code}):]\n```\n{}\n```",
                    output.trim_end()
                ));
            }
            Err(error) => eprintln!("{}", style(format!("cannot run it: {error}")).red()),
        }
    }

    /// Leaves: ends the session, and offers an isolated session's change.
    async fn leave(mut self) -> Result<ExitCode> {
        self.session.close().await;
        let denied = match self.session.take_isolation() {
            Some(isolation) => {
                let transcript = self.session.transcript_path().to_path_buf();
                let mode = self.args.workspace.approval_flag();
                !bring_back(isolation, &self.real, &transcript, &self.session.id, mode).await?
            }
            None => false,
        };
        Ok(ExitCode::from(match denied {
            true => Exit::Denied,
            false => Exit::Success,
        }))
    }
}

fn mode_name(mode: crate::protocol::modes::ApprovalMode) -> &'static str {
    use crate::protocol::modes::ApprovalMode;
    match mode {
        ApprovalMode::Ask => "ask",
        ApprovalMode::Edits => "edits",
        ApprovalMode::All => "all",
        ApprovalMode::None => "none",
    }
}

/// The first lines of a message, for a resumed session's recap.
fn first_lines(text: &str) -> String {
    let lines: Vec<&str> = text.trim().lines().take(3).collect();
    let more = match text.trim().lines().count() > 3 {
        true => " …",
        false => "",
    };
    format!("{}{more}", lines.join("\n  "))
}
