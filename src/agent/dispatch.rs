/*!
Runs one model tool call: parse, approve where needed, execute. The loop and `agent tools call`
share this path. Nothing here can fail the run: every problem becomes a tool result the model
can act on.
*/

use agent_tools::{
    PreparedEdit, ToolCall, ToolOutput, Workspace, apply_diff, list_files, read_file, run_command,
    search, write_file,
};
use tokio_util::sync::CancellationToken;

use super::event::{ApprovalAction, Event, Events};
use crate::review::{Approver, Decision};

pub struct ToolRunner {
    workspace: Workspace,
    approver: Approver,
    /// Fired when the user insists on quitting: running commands are killed.
    hard_stop: CancellationToken,
}

impl ToolRunner {
    pub fn new(workspace: Workspace, approver: Approver, hard_stop: CancellationToken) -> Self {
        Self {
            workspace,
            approver,
            hard_stop,
        }
    }

    pub fn denied_actions(&self) -> u32 {
        self.approver.denied()
    }

    pub async fn run(
        &mut self,
        id: &str,
        call: Result<ToolCall, String>,
        events: &mut Events,
    ) -> ToolOutput {
        let call = match call {
            Ok(call) => call,
            Err(message) => return ToolOutput::error(message),
        };
        let workspace = &self.workspace;
        match call {
            ToolCall::ReadFile(args) => read_file::run(workspace, &args),
            ToolCall::ListFiles(args) => list_files::run(workspace, &args),
            ToolCall::Search(args) => search::run(workspace, &args),
            ToolCall::RunCommand(args) => {
                let action = ApprovalAction::Command {
                    command: args.command.clone(),
                };
                match self.approve(id, action, events).await {
                    Decision::Approved => {
                        run_command::run(&self.workspace, &args, self.hard_stop.cancelled()).await
                    }
                    Decision::Denied { reason } => ToolOutput::error(format!(
                        "the user did not approve running this command; it was not run.{}",
                        because(&reason)
                    )),
                }
            }
            ToolCall::ApplyDiff(args) => match apply_diff::prepare(workspace, &args.diff) {
                Ok(edit) => self.review_and_commit(id, edit, events).await,
                Err(error) => ToolOutput::error(format!("nothing was applied: {error}")),
            },
            ToolCall::WriteFile(args) => match write_file::prepare(workspace, &args) {
                Ok(edit) => self.review_and_commit(id, edit, events).await,
                Err(error) => ToolOutput::error(format!("nothing was written: {error}")),
            },
        }
    }

    async fn review_and_commit(
        &mut self,
        id: &str,
        edit: PreparedEdit,
        events: &mut Events,
    ) -> ToolOutput {
        if edit.changes.is_empty() {
            return ToolOutput::error(
                "the edit changes nothing: the files already have this content",
            );
        }
        let action = ApprovalAction::Edit {
            diff: edit.unified_diff(),
            summary: edit.summary(),
        };
        match self.approve(id, action, events).await {
            Decision::Approved => match edit.commit() {
                Ok(()) => ToolOutput::success(format!("applied:\n{}", edit.summary())),
                Err(error) => ToolOutput::error(error.to_string()),
            },
            Decision::Denied { reason } => ToolOutput::error(format!(
                "the user did not approve this edit; nothing was written.{}",
                because(&reason)
            )),
        }
    }

    async fn approve(&mut self, id: &str, action: ApprovalAction, events: &mut Events) -> Decision {
        events.emit(Event::ApprovalRequested {
            id: id.to_string(),
            action: action.clone(),
        });
        let decision = self.approver.decide(&action).await;
        let (approved, reason) = match &decision {
            Decision::Approved => (true, None),
            Decision::Denied { reason } => (false, Some(reason.clone())),
        };
        events.emit(Event::ApprovalDecided {
            id: id.to_string(),
            approved,
            reason,
        });
        decision
    }
}

fn because(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" Reason: {reason}")
    }
}
