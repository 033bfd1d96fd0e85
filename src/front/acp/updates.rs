/*!
What an editor sees of a session: the agent's events as ACP `session/update` notifications
(thinking and message chunks, tool calls and their results), a stored transcript replayed the same
way for `session/load`, and approval questions as `session/request_permission`.
*/

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use agent_client_protocol::Client;
use agent_client_protocol::v1::ConnectionTo;
use agent_client_protocol::v1::schema::{
    ContentBlock, ContentChunk, Diff, PermissionOption, PermissionOptionKind, Plan, PlanEntry,
    PlanEntryPriority, PlanEntryStatus, RequestPermissionOutcome, RequestPermissionRequest,
    SessionNotification, SessionUpdate, ToolCall, ToolCallContent, ToolCallLocation,
    ToolCallStatus, ToolCallUpdate, ToolCallUpdateFields, ToolKind,
};
use agent_tools::ToolStatus;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::agent::recorded::{Recorded, recorded};
use crate::approval::{Answer, Asker, Question};
use crate::protocol::event::{
    ApprovalAction, Event, EventSink, NoticeSubject, PlanStep, StepStatus,
};
use crate::protocol::hooks::hook_line;

/// Sends a session's events to the editor as they happen.
pub struct Updates {
    pub connection: ConnectionTo<Client>,
    pub session_id: String,
}

impl Updates {
    fn send(&self, update: SessionUpdate) {
        let notification = SessionNotification::new(self.session_id.clone(), update);
        // A client that went away cannot be told; the session goes on for the transcript.
        let _ = self.connection.send_notification(notification);
    }
}

impl EventSink for Updates {
    fn emit(&mut self, event: &Event) {
        if let Some(update) = live_update(event) {
            self.send(update);
        }
    }
}

/// The update an event makes while it happens.
fn live_update(event: &Event) -> Option<SessionUpdate> {
    match event {
        Event::Reasoning { text } => Some(SessionUpdate::AgentThoughtChunk(chunk(text))),
        Event::Content { text } => Some(SessionUpdate::AgentMessageChunk(chunk(text))),
        Event::ToolCallStarted {
            id,
            name,
            headline,
            arguments,
        } => Some(tool_call(id, name, headline, arguments)),
        Event::ToolResult {
            id,
            status,
            content,
            ..
        } => Some(tool_result(id, *status, content)),
        // The change an edit makes, shown whether or not it is asked about.
        Event::ApprovalRequested {
            id,
            action: ApprovalAction::Edit { diff, .. },
        } => {
            let shown = ToolCallContent::from(format!("```diff\n{}```", diff));
            let fields = ToolCallUpdateFields::new().content(vec![shown]);
            Some(SessionUpdate::ToolCallUpdate(ToolCallUpdate::new(
                id.clone(),
                fields,
            )))
        }
        // What an editor cannot show elsewhere: a tool source or the sandbox is missing.
        Event::Notice {
            about:
                NoticeSubject::McpServer
                | NoticeSubject::Sandbox
                | NoticeSubject::Daemon
                | NoticeSubject::Hooks,
            message,
        } => Some(SessionUpdate::AgentMessageChunk(chunk(&format!(
            "warning: {message}\n\n"
        )))),
        Event::Plan { plan, .. } => Some(plan_update(plan)),
        Event::Hook {
            hook,
            command,
            outcome,
            message,
            ..
        } => hook_line(*hook, command, *outcome, message.as_deref())
            .map(|line| SessionUpdate::AgentMessageChunk(chunk(&format!("{line}\n\n")))),
        Event::SessionStarted { .. }
        | Event::Notice {
            about: NoticeSubject::ContextWindow,
            ..
        }
        | Event::TurnStarted { .. }
        | Event::Retrying { .. }
        | Event::AssistantTurn { .. }
        | Event::TextCallsRecovered { .. }
        | Event::CallsResumed { .. }
        | Event::Note { .. }
        | Event::ApprovalRequested { .. }
        | Event::ApprovalDecided { .. }
        | Event::Compacting { .. }
        | Event::Compacted { .. }
        | Event::OutputRejected { .. }
        | Event::Usage { .. }
        | Event::Finished { .. } => None,
    }
}

/// The plan as an editor's plan view shows it (every step of the same priority: ours has none).
fn plan_update(plan: &[PlanStep]) -> SessionUpdate {
    let entries = plan
        .iter()
        .map(|step| {
            let status = match step.status {
                StepStatus::Pending => PlanEntryStatus::Pending,
                StepStatus::InProgress => PlanEntryStatus::InProgress,
                StepStatus::Completed => PlanEntryStatus::Completed,
            };
            PlanEntry::new(step.step.clone(), PlanEntryPriority::Medium, status)
        })
        .collect();
    SessionUpdate::Plan(Plan::new(entries))
}

/// The updates that show a stored transcript (its lines) as it happened: the user's messages,
/// each turn's thinking and text, each tool call with its final status.
pub fn replayed(transcript: &str) -> Vec<SessionUpdate> {
    let mut updates = Vec::new();
    for (_, event) in recorded(transcript) {
        match event {
            Ok(Recorded::SessionStarted { task, .. }) => {
                updates.push(SessionUpdate::UserMessageChunk(chunk(&task)));
            }
            Ok(Recorded::AssistantTurn {
                reasoning, content, ..
            }) => {
                if !reasoning.is_empty() {
                    updates.push(SessionUpdate::AgentThoughtChunk(chunk(&reasoning)));
                }
                if !content.is_empty() {
                    updates.push(SessionUpdate::AgentMessageChunk(chunk(&content)));
                }
            }
            Ok(Recorded::ToolCallStarted {
                id,
                name,
                headline,
                arguments,
            }) => updates.push(tool_call(&id, &name, &headline, &arguments)),
            Ok(Recorded::ToolResult {
                id,
                status,
                content,
            }) => updates.push(tool_result(&id, status, &content)),
            Ok(Recorded::Plan { plan, .. }) => updates.push(plan_update(&plan)),
            // A line this reader cannot use shows nothing; the rest of the session still does.
            Ok(Recorded::Compacted { .. } | Recorded::Note { .. } | Recorded::Other) | Err(_) => {}
        }
    }
    updates
}

fn chunk(text: &str) -> ContentChunk {
    ContentChunk::new(ContentBlock::from(text.to_string()))
}

fn tool_call(id: &str, name: &str, headline: &str, arguments: &str) -> SessionUpdate {
    let raw: Value = serde_json::from_str(arguments).unwrap_or(Value::String(arguments.into()));
    let locations: Vec<ToolCallLocation> = match name {
        "read_file" | "write_file" | "edit_file" => raw["path"]
            .as_str()
            .map(|path| {
                let line = raw["offset"]
                    .as_u64()
                    .and_then(|line| u32::try_from(line).ok());
                vec![ToolCallLocation::new(path).line(line)]
            })
            .unwrap_or_default(),
        "apply_diff" => agent_tools::apply_diff::touched_paths(raw["diff"].as_str().unwrap_or(""))
            .into_iter()
            .map(ToolCallLocation::new)
            .collect(),
        _ => Vec::new(),
    };
    SessionUpdate::ToolCall(
        ToolCall::new(
            id.to_string(),
            format!("{name} {headline}").trim().to_string(),
        )
        .kind(kind_of(name))
        .status(ToolCallStatus::InProgress)
        .locations(locations)
        .raw_input(raw),
    )
}

fn tool_result(id: &str, status: ToolStatus, content: &str) -> SessionUpdate {
    let status = match status {
        ToolStatus::Success => ToolCallStatus::Completed,
        ToolStatus::Error => ToolCallStatus::Failed,
    };
    let fields = ToolCallUpdateFields::new()
        .status(status)
        .content(vec![ToolCallContent::from(content.to_string())]);
    SessionUpdate::ToolCallUpdate(ToolCallUpdate::new(id.to_string(), fields))
}

fn kind_of(tool: &str) -> ToolKind {
    match tool {
        "read_file" => ToolKind::Read,
        "list_files" | "search" => ToolKind::Search,
        "run_command" => ToolKind::Execute,
        "apply_diff" | "edit_file" | "write_file" => ToolKind::Edit,
        _ => ToolKind::Other,
    }
}

/// Puts approval questions to the editor as `session/request_permission`.
pub struct PermissionAsker {
    pub connection: ConnectionTo<Client>,
    pub session_id: String,
    /// The running prompt's stop: a pending question resolves as cancelled when it fires.
    pub stop: Arc<Mutex<CancellationToken>>,
}

impl Asker for PermissionAsker {
    fn ask(&self, question: Question) -> Pin<Box<dyn Future<Output = Answer> + Send>> {
        let request = permission_request(&self.session_id, question);
        let sent = self.connection.send_request(request);
        let stop = crate::sync::lock(&self.stop).clone();
        Box::pin(async move {
            tokio::select! {
                response = sent.block_task() => match response {
                    Ok(response) => answer_of(&response.outcome),
                    // The client could not answer: nothing is allowed.
                    Err(_) => Answer::RejectOnce { reason: None },
                },
                () = stop.cancelled() => Answer::Cancelled,
            }
        })
    }
}

const OPTIONS: [(&str, &str, PermissionOptionKind); 4] = [
    ("allow_once", "Allow", PermissionOptionKind::AllowOnce),
    (
        "allow_always",
        "Always allow",
        PermissionOptionKind::AllowAlways,
    ),
    ("reject_once", "Reject", PermissionOptionKind::RejectOnce),
    (
        "reject_always",
        "Always reject",
        PermissionOptionKind::RejectAlways,
    ),
];

fn permission_request(session_id: &str, question: Question) -> RequestPermissionRequest {
    let (call_id, fields) = match question {
        Question::Edit {
            call_id,
            summary,
            files,
            ..
        } => {
            let diffs: Vec<ToolCallContent> = files
                .into_iter()
                .map(|file| {
                    ToolCallContent::from(
                        Diff::new(file.path, file.new.unwrap_or_default()).old_text(file.old),
                    )
                })
                .collect();
            let fields = ToolCallUpdateFields::new()
                .kind(ToolKind::Edit)
                .title(format!("Apply: {summary}"))
                .content(diffs);
            (call_id, fields)
        }
        Question::Command {
            call_id,
            command,
            outside_sandbox,
            ..
        } => {
            let title = match outside_sandbox {
                true => format!("Run OUTSIDE the sandbox: {command}"),
                false => format!("Run: {command}"),
            };
            let fields = ToolCallUpdateFields::new()
                .kind(ToolKind::Execute)
                .title(title)
                .raw_input(serde_json::json!({ "command": command }));
            (call_id, fields)
        }
        Question::ToolCall {
            call_id,
            tool,
            arguments,
        } => {
            let raw: Value = serde_json::from_str(&arguments).unwrap_or(Value::String(arguments));
            let fields = ToolCallUpdateFields::new()
                .kind(ToolKind::Other)
                .title(format!("Call {tool}"))
                .raw_input(raw);
            (call_id, fields)
        }
    };
    let options = OPTIONS
        .iter()
        .map(|(id, name, kind)| PermissionOption::new(id.to_string(), name.to_string(), *kind))
        .collect();
    RequestPermissionRequest::new(
        session_id.to_string(),
        ToolCallUpdate::new(call_id, fields),
        options,
    )
}

fn answer_of(outcome: &RequestPermissionOutcome) -> Answer {
    match outcome {
        RequestPermissionOutcome::Selected(selected) => match &*selected.option_id.0 {
            "allow_once" => Answer::AllowOnce,
            "allow_always" => Answer::AllowAlways,
            "reject_always" => Answer::RejectAlways,
            _ => Answer::RejectOnce { reason: None },
        },
        RequestPermissionOutcome::Cancelled => Answer::Cancelled,
        _ => Answer::RejectOnce { reason: None },
    }
}
