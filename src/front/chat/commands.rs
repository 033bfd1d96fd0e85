/*! The conversation's slash commands. */

use anyhow::Result;
use clap::ValueEnum;
use console::style;

use super::input::COMMANDS;
use super::{Chat, Kept, Next, Shown, open};
use crate::front::terminal::colored_unified;
use crate::protocol::modes::ApprovalMode;
use crate::records::{self, UndoScope};
use crate::session::Begin;
use crate::sync::lock;

impl Chat {
    /// Runs `/name argument`; a problem is said in one line and the conversation goes on.
    pub(super) async fn command(&mut self, name: &str, argument: &str) -> Result<Next> {
        let said = match name {
            "/exit" | "/quit" => return Ok(Next::Leave),
            "/help" => Ok(help()),
            "/undo" => self.undo(),
            "/diff" => self.diff(),
            "/compact" => self.compact().await,
            "/model" => Ok(self.model(argument)),
            "/approval" => self.approval(argument),
            "/sessions" => Ok(self.sessions()),
            "/resume" => {
                self.reopen(Begin::Resume(argument.to_string()), argument)
                    .await
            }
            "/new" => self.reopen(Begin::New, "new").await,
            "/tokens" => Ok(self.tokens()),
            _ => Err(anyhow::anyhow!(
                "unknown command {name}; the commands are {}",
                COMMANDS
                    .iter()
                    .map(|(name, _)| *name)
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
        };
        match said {
            Ok(text) => eprintln!("{text}"),
            Err(problem) => eprintln!("{}", style(format!("{problem:#}")).red()),
        }
        Ok(Next::Continue)
    }

    fn undo(&self) -> Result<String> {
        let workspace = self.workspace()?;
        records::undo(
            self.session.sessions_dir(),
            workspace,
            Some(&self.session.id),
            UndoScope::LastTurn,
        )
    }

    fn diff(&self) -> Result<String> {
        let workspace = self.workspace()?;
        let diff = records::diff(
            self.session.sessions_dir(),
            workspace,
            Some(&self.session.id),
        )?;
        Ok(match diff.trim().is_empty() {
            true => "no changes in this session".to_string(),
            false => colored_unified(&diff),
        })
    }

    fn workspace(&self) -> Result<&agent_tools::Workspace> {
        self.session
            .workspace_handle()
            .ok_or_else(|| anyhow::anyhow!("a turn is running"))
    }

    async fn compact(&mut self) -> Result<String> {
        let shown = Box::new(Shown::new(&self.kept));
        self.session.compact(shown).await?;
        lock(&self.kept).tally.last_prompt = 0;
        Ok("the conversation is now its task and a summary".to_string())
    }

    fn model(&mut self, name: &str) -> String {
        if name.is_empty() {
            return format!(
                "the model is {}; /model NAME changes it",
                self.session.model()
            );
        }
        self.session.set_model(name);
        format!("from now on: {name}")
    }

    fn approval(&mut self, mode: &str) -> Result<String> {
        let parsed = ApprovalMode::from_str(mode, true).map_err(|_| {
            anyhow::anyhow!("/approval takes ask, edits, all or none, not `{mode}`")
        })?;
        self.session.set_mode(parsed);
        Ok(format!("approval from now on: {mode}"))
    }

    fn sessions(&self) -> String {
        let found = records::sessions(self.session.sessions_dir(), Some(self.real.root()));
        if found.is_empty() {
            return "no sessions in this workspace yet".to_string();
        }
        found
            .iter()
            .take(20)
            .map(|summary| {
                let task: String = summary
                    .task
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .take(60)
                    .collect();
                let here = match summary.id == self.session.id {
                    true => " (this one)",
                    false => "",
                };
                format!("{}  {:<14}{task}{here}", summary.id, summary.outcome)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Closes this session and opens another in its place.
    async fn reopen(&mut self, begin: Begin, what: &str) -> Result<String> {
        if what.is_empty() {
            anyhow::bail!("/resume takes a session id (see /sessions)");
        }
        let next = open(&self.args, &self.real, begin).await?;
        self.session.close().await;
        self.session = next;
        *lock(&self.kept) = Kept::default();
        self.show_recent().await;
        Ok(format!("session {}", self.session.id))
    }

    fn tokens(&self) -> String {
        let tally = lock(&self.kept).tally;
        let window = self.session.context_window().max(1);
        format!(
            "this conversation: {} prompt tokens ({} cached), {} completion tokens; the context window is {}% full ({} of {})",
            tally.prompt,
            tally.cached,
            tally.completion,
            tally.last_prompt * 100 / window,
            tally.last_prompt,
            window
        )
    }
}

fn help() -> String {
    let mut text: Vec<String> = COMMANDS
        .iter()
        .map(|(name, what)| format!("  {name:<10} {what}"))
        .collect();
    text.push(String::new());
    text.push("  @path, @path:10-40   attach a file (or those lines) to the message".into());
    text.push(
        "  !command             run it in the sandbox; its output goes with the next message"
            .into(),
    );
    text.push("  Alt-Enter, or \\ at the end of a line: a new line; Up and Ctrl-R: history".into());
    text.push(
        "  Ctrl-C: cancel the running turn; at an empty prompt twice, or Ctrl-D: leave".into(),
    );
    text.join("\n")
}
