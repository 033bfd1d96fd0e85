/*!
Approval asked of the session's front end (the terminal, an editor over ACP, a daemon's clients):
the question goes out as data, the answer may take minutes or never come (the prompt is
cancelled), and it maps onto the decisions.
*/

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use agent_tools::PreparedEdit;

use super::hunks::{FilePick, picked};
use super::{
    Approver, DecidedBy, Decision, Interaction, Placement, approved_by_user, command_prefix,
    rejected_by_user, split_hunks,
};

/// A file an edit would change: its path in the workspace, and its text before and after
/// (None: the file does not exist on that side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    pub path: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// What is to be approved, for the tool call `call_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    Edit {
        call_id: String,
        summary: String,
        /// The edit itself, for a front end that picks hunks or edits it before applying.
        edit: PreparedEdit,
        files: Vec<FileDiff>,
    },
    Command {
        call_id: String,
        command: String,
        outside_sandbox: bool,
        /// Why a person must answer even where a setting would allow it (it leaves the sandbox,
        /// or no sandbox works here).
        warning: Option<String>,
    },
    ToolCall {
        call_id: String,
        tool: String,
        arguments: String,
    },
}

/// The answers a front end can give (ACP's permission options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    AllowOnce,
    /// Allow this and, for the session, what the terminal's `a` covers.
    AllowAlways,
    /// Apply only some hunks of an edit (as the terminal's `s`): for each file path, the indexes
    /// of its hunks to apply, in the order [`super::split_hunks`] gives them. A file left out is
    /// not changed; a file listed keeps its mode change.
    AllowHunks(BTreeMap<String, Vec<usize>>),
    /// Apply this edit instead: the person changed it (picked hunks, edited it), and says how.
    AllowChanged {
        edit: PreparedEdit,
        note: String,
    },
    /// Reject this, with the person's reason for the model when they gave one.
    RejectOnce {
        reason: Option<String>,
    },
    /// Reject this and every later action of its kind in the session.
    RejectAlways,
    /// The person wants to stop (`q`), or the prompt was cancelled while the question was open.
    Cancelled,
}

/// Something that can put a question to the session's front end.
pub trait Asker: Send + Sync {
    fn ask(&self, question: Question) -> Pin<Box<dyn Future<Output = Answer> + Send>>;
}

impl Approver {
    /// A command no setting may allow: one leaving the sandbox, or any when no sandbox works.
    pub(super) async fn ask_a_person(
        &mut self,
        call_id: &str,
        command: &str,
        words: &[String],
        placement: Placement,
    ) -> Decision {
        let warning = match placement {
            Placement::OutsideSandbox => "it asks to run OUTSIDE the sandbox, with all your rights",
            Placement::InsideSandbox => "no sandbox works here: it runs with all your rights",
        };
        match self.interaction() {
            Interaction::Unattended => Decision::Denied {
                reason: format!("{warning}, and no one is at a terminal to allow that"),
                by: DecidedBy::Settings,
            },
            Interaction::ApprovedByHook => Decision::Approved {
                edit: None,
                note: None,
                by: DecidedBy::Hook,
            },
            Interaction::Asked(asker) => {
                let question = Question::Command {
                    call_id: call_id.to_string(),
                    command: command.to_string(),
                    outside_sandbox: placement == Placement::OutsideSandbox,
                    warning: Some(warning.to_string()),
                };
                let answer = asker.ask(question).await;
                self.remote_command_answer(answer, words, placement)
            }
        }
    }

    /// The decision a front end's answer about a command makes.
    pub(super) fn remote_command_answer(
        &mut self,
        answer: Answer,
        words: &[String],
        placement: Placement,
    ) -> Decision {
        match (answer, placement) {
            (Answer::AllowOnce | Answer::AllowHunks(_) | Answer::AllowChanged { .. }, _)
            | (Answer::AllowAlways, Placement::OutsideSandbox) => approved_by_user(),
            (Answer::AllowAlways, Placement::InsideSandbox) => {
                self.session_allowed.push(command_prefix(words));
                approved_by_user()
            }
            (Answer::RejectOnce { reason }, _) => rejected_by_user(reason),
            (Answer::RejectAlways, _) => {
                self.session_denied.push(command_prefix(words));
                rejected_by_user(None)
            }
            (Answer::Cancelled, _) => Decision::Quit,
        }
    }
}

impl Approver {
    /// The decision a front end's answer about an edit makes.
    pub(super) fn remote_edit_answer(&mut self, answer: Answer, edit: &PreparedEdit) -> Decision {
        match answer {
            Answer::AllowOnce => approved_by_user(),
            Answer::AllowChanged { edit, note } => Decision::Approved {
                edit: Some(edit),
                note: Some(note),
                by: DecidedBy::User,
            },
            Answer::AllowAlways => {
                self.accept_all_edits = true;
                approved_by_user()
            }
            Answer::AllowHunks(chosen) => {
                let picks: Vec<FilePick> = edit
                    .changes
                    .iter()
                    .map(|change| {
                        let wanted = chosen.get(&change.path);
                        let count = split_hunks(
                            change.old.as_deref().unwrap_or(""),
                            change.new.as_deref().unwrap_or(""),
                        )
                        .len();
                        FilePick {
                            hunks: (0..count)
                                .map(|index| wanted.is_some_and(|wanted| wanted.contains(&index)))
                                .collect(),
                            mode: wanted.is_some(),
                        }
                    })
                    .collect();
                match picked(edit, &picks) {
                    Some((edit, note)) => Decision::Approved {
                        edit: Some(edit),
                        note: Some(format!("the user reviewed hunk by hunk: {note}")),
                        by: DecidedBy::User,
                    },
                    None => rejected_by_user(Some("the user rejected every hunk".into())),
                }
            }
            Answer::RejectOnce { reason } => rejected_by_user(reason),
            Answer::RejectAlways => {
                self.reject_all_edits = true;
                rejected_by_user(None)
            }
            Answer::Cancelled => Decision::Quit,
        }
    }
}
