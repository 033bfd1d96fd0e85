/*!
Runs one model tool call: the PreToolUse hooks, approval where needed, the tool, the PostToolUse
hooks. The loop and `agent tools call` share this path. Nothing here can fail the run: every
problem becomes a tool result the model can act on.
*/

use std::sync::Arc;

use agent_tools::{
    PreparedEdit, ToolCall, ToolOutput, Workspace, apply_diff, edit_file, list_files, read_file,
    run_command, search, write_file,
};
use tokio_util::sync::CancellationToken;

use super::editor::Editor;
use crate::approval::{Approver, DecidedBy, Decision, HookApproval, Placement};
use crate::hooks::{Hooks, Point, Verdict};
use crate::mcp::{McpTool, McpTools};
use crate::protocol::event::{ApprovalAction, Event, Events};
use crate::records::EditJournal;

pub struct ToolRunner {
    workspace: Workspace,
    approver: Approver,
    /// Where applied edits are recorded for undo (none for `agent tools call`).
    journal: Option<EditJournal>,
    turn: u32,
    /// Fired when the user insists on quitting: running commands are killed.
    hard_stop: CancellationToken,
    /// Tools of MCP servers, offered beside ours.
    mcp: std::sync::Arc<McpTools>,
    /// The editor that holds the files, when reads and edits go through it.
    editor: Option<Editor>,
    hooks: Arc<Hooks>,
}

impl ToolRunner {
    pub fn new(workspace: Workspace, approver: Approver, hard_stop: CancellationToken) -> Self {
        Self {
            workspace,
            approver,
            journal: None,
            turn: 0,
            hard_stop,
            mcp: std::sync::Arc::default(),
            editor: None,
            hooks: Arc::default(),
        }
    }

    pub fn with_hooks(mut self, hooks: Arc<Hooks>) -> Self {
        self.hooks = hooks;
        self
    }

    /// The session's hooks (the loop runs the Stop and PreCompact ones).
    pub fn hooks(&self) -> Arc<Hooks> {
        Arc::clone(&self.hooks)
    }

    pub fn with_mcp(mut self, mcp: std::sync::Arc<McpTools>) -> Self {
        self.mcp = mcp;
        self
    }

    /// Runs the call of tool `name`: an MCP server's, or ours (`parsed`, its arguments checked),
    /// between the hooks that run before and after tool calls.
    pub async fn run_named(
        &mut self,
        id: &str,
        name: &str,
        arguments: &str,
        parsed: Result<ToolCall, String>,
        events: &mut Events,
    ) -> ToolOutput {
        let hooks = Arc::clone(&self.hooks);
        let before = hooks
            .fire(&Point::PreToolUse {
                tool_name: name,
                arguments,
            })
            .await;
        emit_all(events, before.events);
        let approval = match before.verdict {
            Verdict::Block { reason } => {
                return ToolOutput::error(format!(
                    "a PreToolUse hook of the user blocked this call; it was not run: {reason}"
                ));
            }
            Verdict::Approve => HookApproval::Given,
            Verdict::Proceed { .. } => HookApproval::NotGiven,
        };
        self.approver.set_hook_approval(approval);
        let mcp = Arc::clone(&self.mcp);
        let output = match mcp.find(name) {
            Some(tool) => self.run_mcp(id, &mcp, tool, arguments, events).await,
            None => self.run(id, parsed, events).await,
        };
        self.approver.set_hook_approval(HookApproval::NotGiven);
        let after = hooks
            .fire(&Point::PostToolUse {
                tool_name: name,
                arguments,
                succeeded: output.status == agent_tools::ToolStatus::Success,
                result: &output.content,
            })
            .await;
        emit_all(events, after.events);
        match after.verdict {
            Verdict::Block { reason } => ToolOutput {
                content: format!(
                    "{}\n[PostToolUse hook of the user] {reason}",
                    output.content
                ),
                status: output.status,
            },
            Verdict::Approve | Verdict::Proceed { .. } => output,
        }
    }

    async fn run_mcp(
        &mut self,
        id: &str,
        mcp: &McpTools,
        tool: &McpTool,
        arguments: &str,
        events: &mut Events,
    ) -> ToolOutput {
        events.emit(Event::ApprovalRequested {
            id: id.to_string(),
            action: ApprovalAction::ToolCall {
                tool: tool.exposed.clone(),
                arguments: arguments.to_string(),
            },
        });
        let decision = self.approver.review_tool_call(id, tool, arguments).await;
        emit_decision(events, id, &decision);
        match decision {
            Decision::Approved { .. } => mcp.call(tool, arguments).await,
            Decision::Denied { reason, .. } => ToolOutput::error(format!(
                "the user did not approve this call; it was not made.{}",
                because(&reason)
            )),
            Decision::Quit => {
                ToolOutput::error("the user refused this call and stopped the session")
            }
        }
    }

    pub fn with_journal(mut self, journal: EditJournal) -> Self {
        self.journal = Some(journal);
        self
    }

    /// The turn whose edits are being applied (the checkpoint they belong to).
    pub fn set_turn(&mut self, turn: u32) {
        self.turn = turn;
    }

    /// Reads and edits go through `editor` (its buffers) instead of the disk.
    pub fn with_editor(mut self, editor: Editor) -> Self {
        self.workspace = self.workspace.clone().with_buffers(editor.buffers.clone());
        self.editor = Some(editor);
        self
    }

    /// Brings the editor's texts of the files a call reads or edits into the buffers.
    async fn fetch_from_editor(&self, call: &ToolCall) {
        let Some(editor) = &self.editor else { return };
        let paths: Vec<String> = match call {
            ToolCall::ReadFile(args) => vec![args.path.clone()],
            ToolCall::WriteFile(args) => vec![args.path.clone()],
            ToolCall::EditFile(args) => vec![args.path.clone()],
            ToolCall::ApplyDiff(args) => agent_tools::apply_diff::touched_paths(&args.diff),
            ToolCall::ListFiles(_)
            | ToolCall::Search(_)
            | ToolCall::RunCommand(_)
            | ToolCall::UpdatePlan(_) => Vec::new(),
        };
        let absolute = paths
            .iter()
            .filter_map(|path| self.workspace.resolve(path).ok())
            .collect();
        editor.fetch(absolute).await;
    }

    /// The workspace the tools work in.
    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    pub fn approval_mode(&self) -> crate::approval::ApprovalMode {
        self.approver.mode()
    }

    pub fn set_approval_mode(&mut self, mode: crate::approval::ApprovalMode) {
        self.approver.set_mode(mode);
    }

    /// The token whose cancelling kills running commands (one per prompt of a long session).
    pub fn set_hard_stop(&mut self, hard_stop: CancellationToken) {
        self.hard_stop = hard_stop;
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
        self.fetch_from_editor(&call).await;
        let workspace = &self.workspace;
        match call {
            ToolCall::ReadFile(args) => read_file::run(workspace, &args),
            ToolCall::ListFiles(args) => list_files::run(workspace, &args),
            ToolCall::Search(args) => search::run(workspace, &args),
            ToolCall::RunCommand(args) => {
                let placement = match args.leaves_sandbox() {
                    true => Placement::OutsideSandbox,
                    false => Placement::InsideSandbox,
                };
                let action = ApprovalAction::Command {
                    command: args.command.clone(),
                    outside_sandbox: placement == Placement::OutsideSandbox,
                };
                events.emit(Event::ApprovalRequested {
                    id: id.to_string(),
                    action,
                });
                let decision = self
                    .approver
                    .review_command(id, &args.command, placement)
                    .await;
                emit_decision(events, id, &decision);
                match decision {
                    Decision::Approved { .. } => {
                        run_command::run(&self.workspace, &args, self.hard_stop.cancelled()).await
                    }
                    Decision::Denied { reason, .. } => ToolOutput::error(format!(
                        "the user did not approve running this command; it was not run.{}",
                        because(&reason)
                    )),
                    Decision::Quit => {
                        ToolOutput::error("the user refused this command and stopped the session")
                    }
                }
            }
            ToolCall::ApplyDiff(args) => match apply_diff::prepare(workspace, &args.diff) {
                Ok(edit) => self.review_and_commit(id, edit, Vec::new(), events).await,
                Err(error) => ToolOutput::error(format!("nothing was applied: {error}")),
            },
            ToolCall::EditFile(args) => match edit_file::prepare(workspace, &args) {
                Ok(prepared) => {
                    self.review_and_commit(id, prepared.edit, prepared.notes, events)
                        .await
                }
                Err(error) => ToolOutput::error(error),
            },
            ToolCall::UpdatePlan(args) => match args.problem() {
                Some(problem) => ToolOutput::error(format!("the plan was not changed: {problem}")),
                None => {
                    events.emit(Event::Plan {
                        explanation: args.explanation.filter(|text| !text.trim().is_empty()),
                        plan: args.plan,
                    });
                    ToolOutput::success("Plan updated.")
                }
            },
            ToolCall::WriteFile(args) => match write_file::prepare(workspace, &args) {
                Ok(edit) => {
                    let notes = edit
                        .changes
                        .iter()
                        .filter_map(|change| {
                            write_file::loss_note(change.old.as_deref()?, change.new.as_deref()?)
                        })
                        .collect();
                    self.review_and_commit(id, edit, notes, events).await
                }
                Err(error) => ToolOutput::error(format!("nothing was written: {error}")),
            },
        }
    }

    pub fn quit_requested(&self) -> bool {
        self.approver.quit_requested()
    }

    /// Shows the edit for approval and writes what was approved; `notes` (how the edit was found,
    /// what it removes) follow the summary in the model's result.
    async fn review_and_commit(
        &mut self,
        id: &str,
        edit: PreparedEdit,
        notes: Vec<String>,
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
        events.emit(Event::ApprovalRequested {
            id: id.to_string(),
            action,
        });
        let decision = self.approver.review_edit(id, &edit).await;
        emit_decision(events, id, &decision);
        match decision {
            Decision::Approved {
                edit: reviewed,
                note,
                ..
            } => {
                let applied = reviewed.unwrap_or(edit);
                let written = match &self.editor {
                    Some(editor) if Editor::can_write(&applied) => editor.write(&applied).await,
                    Some(_) | None => applied.commit().map_err(|error| error.to_string()),
                };
                match written {
                    Ok(()) => {
                        let note = note.map(|note| format!("\n({note})")).unwrap_or_default();
                        let journal = match self
                            .journal
                            .as_mut()
                            .map(|journal| journal.record(self.turn, &applied))
                        {
                            Some(Err(error)) => {
                                format!("\n(warning: could not record the edit for undo: {error})")
                            }
                            Some(Ok(())) | None => String::new(),
                        };
                        let notes: String = notes
                            .iter()
                            .map(|note| format!("\n(note: {note})"))
                            .collect();
                        ToolOutput::success(format!(
                            "applied:\n{}{note}{notes}{journal}",
                            applied.summary()
                        ))
                    }
                    Err(error) => ToolOutput::error(error),
                }
            }
            Decision::Denied { reason, .. } => ToolOutput::error(format!(
                "the user did not approve this edit; nothing was written.{}",
                because(&reason)
            )),
            Decision::Quit => ToolOutput::error(
                "the user rejected this edit and stopped the session; nothing was written",
            ),
        }
    }
}

fn emit_all(events: &mut Events, hooked: Vec<Event>) {
    for event in hooked {
        events.emit(event);
    }
}

fn emit_decision(events: &mut Events, id: &str, decision: &Decision) {
    let (approved, reason, by) = match decision {
        Decision::Approved { note, by, .. } => (true, note.clone(), *by),
        Decision::Denied { reason, by } => (
            false,
            Some(reason.clone()).filter(|reason| !reason.is_empty()),
            *by,
        ),
        Decision::Quit => (
            false,
            Some("the user stopped the session".to_string()),
            DecidedBy::User,
        ),
    };
    events.emit(Event::ApprovalDecided {
        id: id.to_string(),
        approved,
        by,
        reason,
    });
}

fn because(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" Reason: {reason}")
    }
}
