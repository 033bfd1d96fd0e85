/*!
Approval of edits and commands: the mode (`--approval ask|edits|all|none`), the read-only
command allowlist, allow/deny rules from the settings, and session-wide "always" answers. What
must be asked goes to the session's front end as a [`Question`] (the terminal's one-key prompts,
an editor's permission request, the daemon's clients); with no one to ask, it is denied.
*/

mod hunks;
mod readonly;
mod remote;

use agent_tools::PreparedEdit;

use crate::mcp::McpTool;
pub use crate::protocol::modes::{ApprovalMode, DecidedBy};
pub use hunks::{FilePick, Hunk, hunks as split_hunks, picked};
pub use readonly::is_read_only;
pub use remote::{Answer, Asker, FileDiff, Question};

/// Whether someone can answer questions, and where.
#[derive(Clone)]
pub enum Interaction {
    /// No one: what needs a question is denied.
    Unattended,
    /// A person, through the session's front end.
    Asked(std::sync::Arc<dyn Asker>),
    /// A PreToolUse hook of the user approved the call: what would be asked is allowed (the
    /// approver stands it in for the front end's while such a call runs).
    ApprovedByHook,
}

/// Whether a PreToolUse hook approved the call being reviewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookApproval {
    Given,
    NotGiven,
}

/// How the commands of this session are confined, as far as approval is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confinement {
    /// Commands run in the OS sandbox (or the user turned it off on purpose).
    Sandboxed,
    /// The sandbox was wanted but cannot be enforced here: every command needs a person's yes.
    Unenforceable,
}

/// Where a command asks to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    InsideSandbox,
    /// The model asked to leave the sandbox: only a person may allow that.
    OutsideSandbox,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead; for edits, possibly with a changed edit (hunks picked, edited by the user) and a
    /// note for the model saying what was applied.
    Approved {
        edit: Option<PreparedEdit>,
        note: Option<String>,
        by: DecidedBy,
    },
    Denied {
        reason: String,
        by: DecidedBy,
    },
    /// Denied, and the user wants the run to stop.
    Quit,
}

/// Command prefixes (as words) that are always allowed or always denied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandRules {
    pub allow: Vec<Vec<String>>,
    pub deny: Vec<Vec<String>>,
}

impl CommandRules {
    pub fn from_strings(allow: &[String], deny: &[String]) -> Self {
        let words = |rules: &[String]| {
            rules
                .iter()
                .filter_map(|rule| shlex::split(rule))
                .filter(|w| !w.is_empty())
                .collect()
        };
        Self {
            allow: words(allow),
            deny: words(deny),
        }
    }
}

pub struct Approver {
    mode: ApprovalMode,
    interaction: Interaction,
    rules: CommandRules,
    accept_all_edits: bool,
    reject_all_edits: bool,
    session_denied: Vec<Vec<String>>,
    session_allowed: Vec<Vec<String>>,
    /// MCP tools the user allowed for the rest of the session.
    tools_allowed: Vec<String>,
    denied: u32,
    quit: bool,
    confinement: Confinement,
    hook_approval: HookApproval,
}

impl Approver {
    pub fn new(mode: ApprovalMode, interaction: Interaction, rules: CommandRules) -> Self {
        Self {
            mode,
            interaction,
            rules,
            accept_all_edits: false,
            reject_all_edits: false,
            session_denied: Vec::new(),
            session_allowed: Vec::new(),
            tools_allowed: Vec::new(),
            denied: 0,
            quit: false,
            confinement: Confinement::Sandboxed,
            hook_approval: HookApproval::NotGiven,
        }
    }

    /// Whether a PreToolUse hook approved the call reviewed next (until set back).
    pub fn set_hook_approval(&mut self, approval: HookApproval) {
        self.hook_approval = approval;
    }

    /// Who answers what needs a question: the front end, or a hook that approved the call.
    fn interaction(&self) -> Interaction {
        match self.hook_approval {
            HookApproval::Given => Interaction::ApprovedByHook,
            HookApproval::NotGiven => self.interaction.clone(),
        }
    }

    /// How commands are confined (default: sandboxed).
    pub fn with_confinement(mut self, confinement: Confinement) -> Self {
        self.confinement = confinement;
        self
    }

    /// MCP tools (`server__tool`) to call without asking, from the settings.
    pub fn with_allowed_tools(mut self, tools: Vec<String>) -> Self {
        self.tools_allowed = tools;
        self
    }

    /// Changes the approval mode (an editor's `session/set_mode`).
    pub fn set_mode(&mut self, mode: ApprovalMode) {
        self.mode = mode;
    }

    pub fn mode(&self) -> ApprovalMode {
        self.mode
    }

    /// How many actions were refused so far.
    pub fn denied(&self) -> u32 {
        self.denied
    }

    /// The user answered `q` at a prompt.
    pub fn quit_requested(&self) -> bool {
        self.quit
    }

    pub async fn review_edit(&mut self, call_id: &str, edit: &PreparedEdit) -> Decision {
        let decision = match (self.mode, self.interaction()) {
            // The edit is shown by the front end, from the approval request's diff.
            (ApprovalMode::None, _) => Decision::Denied {
                reason: "dry run (--approval none): edits are shown, never applied".into(),
                by: DecidedBy::Settings,
            },
            (ApprovalMode::All | ApprovalMode::Edits, _) => approved(),
            (ApprovalMode::Ask, _) if self.accept_all_edits => approved(),
            (ApprovalMode::Ask, _) if self.reject_all_edits => rejected_for_the_session(),
            (ApprovalMode::Ask, Interaction::Unattended) => unattended(),
            (ApprovalMode::Ask, Interaction::ApprovedByHook) => approved_by_hook(),
            (ApprovalMode::Ask, Interaction::Asked(asker)) => {
                let question = Question::Edit {
                    call_id: call_id.to_string(),
                    summary: edit.summary(),
                    edit: edit.clone(),
                    files: edit
                        .changes
                        .iter()
                        .map(|change| FileDiff {
                            path: change.path.clone(),
                            old: change.old.clone(),
                            new: change.new.clone(),
                        })
                        .collect(),
                };
                let answer = asker.ask(question).await;
                self.remote_edit_answer(answer, edit)
            }
        };
        self.count(decision)
    }

    pub async fn review_command(
        &mut self,
        call_id: &str,
        command: &str,
        placement: Placement,
    ) -> Decision {
        let words = shlex::split(command).unwrap_or_default();
        let needs_a_person = placement == Placement::OutsideSandbox
            || self.confinement == Confinement::Unenforceable;
        let decision = if let Some(rule) = self
            .rules
            .deny
            .iter()
            .find(|rule| starts_with(&words, rule))
        {
            Decision::Denied {
                reason: format!(
                    "commands starting with `{}` are denied by the settings",
                    rule.join(" ")
                ),
                by: DecidedBy::Settings,
            }
        } else if let Some(rule) = self
            .session_denied
            .iter()
            .find(|rule| starts_with(&words, rule))
        {
            Decision::Denied {
                reason: format!(
                    "the user rejected `{}` commands for this session",
                    rule.join(" ")
                ),
                by: DecidedBy::User,
            }
        } else if needs_a_person && self.mode != ApprovalMode::None {
            self.ask_a_person(call_id, command, &words, placement).await
        } else {
            match (self.mode, self.interaction()) {
                (ApprovalMode::None, _) => Decision::Denied {
                    reason: "dry run (--approval none): commands are never run".into(),
                    by: DecidedBy::Settings,
                },
                (ApprovalMode::All, _) => approved(),
                (ApprovalMode::Ask | ApprovalMode::Edits, _)
                    if self.allowed_without_asking(command, &words) =>
                {
                    approved()
                }
                (ApprovalMode::Ask | ApprovalMode::Edits, Interaction::Unattended) => unattended(),
                (ApprovalMode::Ask | ApprovalMode::Edits, Interaction::ApprovedByHook) => {
                    approved_by_hook()
                }
                (ApprovalMode::Ask | ApprovalMode::Edits, Interaction::Asked(asker)) => {
                    let question = Question::Command {
                        call_id: call_id.to_string(),
                        command: command.to_string(),
                        outside_sandbox: false,
                        warning: None,
                    };
                    let answer = asker.ask(question).await;
                    self.remote_command_answer(answer, &words, Placement::InsideSandbox)
                }
            }
        };
        self.count(decision)
    }

    /// A call of an MCP tool: asked like a command, unless its server marks it read-only or the
    /// user allowed the tool for the session.
    pub async fn review_tool_call(
        &mut self,
        call_id: &str,
        tool: &McpTool,
        arguments: &str,
    ) -> Decision {
        let allowed = tool.read_only || self.tools_allowed.contains(&tool.exposed);
        let decision = match (self.mode, self.interaction()) {
            (ApprovalMode::None, _) => Decision::Denied {
                reason: "dry run (--approval none): tools of MCP servers are never called".into(),
                by: DecidedBy::Settings,
            },
            (ApprovalMode::All, _) => approved(),
            (ApprovalMode::Ask | ApprovalMode::Edits, _) if allowed => approved(),
            (ApprovalMode::Ask | ApprovalMode::Edits, Interaction::Unattended) => unattended(),
            (ApprovalMode::Ask | ApprovalMode::Edits, Interaction::ApprovedByHook) => {
                approved_by_hook()
            }
            (ApprovalMode::Ask | ApprovalMode::Edits, Interaction::Asked(asker)) => {
                let question = Question::ToolCall {
                    call_id: call_id.to_string(),
                    tool: tool.exposed.clone(),
                    arguments: arguments.to_string(),
                };
                match asker.ask(question).await {
                    Answer::AllowOnce | Answer::AllowHunks(_) | Answer::AllowChanged { .. } => {
                        approved_by_user()
                    }
                    Answer::AllowAlways => {
                        self.tools_allowed.push(tool.exposed.clone());
                        approved_by_user()
                    }
                    Answer::RejectOnce { reason } => rejected_by_user(reason),
                    Answer::RejectAlways => rejected_by_user(None),
                    Answer::Cancelled => Decision::Quit,
                }
            }
        };
        self.count(decision)
    }

    fn allowed_without_asking(&self, command: &str, words: &[String]) -> bool {
        is_read_only(command)
            || (is_simple(command)
                && self
                    .rules
                    .allow
                    .iter()
                    .chain(&self.session_allowed)
                    .any(|rule| starts_with(words, rule)))
    }

    fn count(&mut self, decision: Decision) -> Decision {
        match &decision {
            Decision::Approved { .. } => {}
            Decision::Denied { .. } => self.denied += 1,
            Decision::Quit => {
                self.denied += 1;
                self.quit = true;
            }
        }
        decision
    }
}

/// The decision an answer to "run this?" makes; `allow_always` remembers an "always allow".
/// Approved at a prompt.
fn approved_by_user() -> Decision {
    Decision::Approved {
        edit: None,
        note: None,
        by: DecidedBy::User,
    }
}

/// Rejected at a prompt, with the person's reason when they gave one.
fn rejected_by_user(reason: Option<String>) -> Decision {
    Decision::Denied {
        // No reason given: the result says the user did not approve, and nothing more.
        reason: reason
            .filter(|reason| !reason.trim().is_empty())
            .unwrap_or_default(),
        by: DecidedBy::User,
    }
}

fn rejected_for_the_session() -> Decision {
    Decision::Denied {
        reason: "the user rejected every edit for this session".into(),
        by: DecidedBy::User,
    }
}

/// Approved by the mode or the rules, without a question.
fn approved() -> Decision {
    Decision::Approved {
        edit: None,
        note: None,
        by: DecidedBy::Settings,
    }
}

fn approved_by_hook() -> Decision {
    Decision::Approved {
        edit: None,
        note: None,
        by: DecidedBy::Hook,
    }
}

fn unattended() -> Decision {
    Decision::Denied {
        reason: "no one is at a terminal to approve it (use --yes or --approval)".into(),
        by: DecidedBy::Settings,
    }
}

fn starts_with(words: &[String], prefix: &[String]) -> bool {
    !prefix.is_empty()
        && words.len() >= prefix.len()
        && words.iter().zip(prefix).all(|(word, want)| word == want)
}

/// An allow rule covers one plain command, not a pipeline or list that merely starts with it.
fn is_simple(command: &str) -> bool {
    !command.contains(['|', '&', ';', '>', '<', '$', '`', '\n'])
}

/// What "always allow" covers: the program and its subcommand (`cargo test`, `npm run`), or the
/// program alone when the next word is an option or a path.
fn command_prefix(words: &[String]) -> Vec<String> {
    match words {
        [program, sub, ..] if !sub.starts_with('-') && !sub.contains(['/', '.']) => {
            vec![program.clone(), sub.clone()]
        }
        [program, ..] => vec![program.clone()],
        [] => Vec::new(),
    }
}
