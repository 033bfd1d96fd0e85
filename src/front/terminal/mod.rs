/*!
The terminal front ends: the human view of the event stream, `--json` lines, and the lines
the command-line front ends say on stderr outside any session.
*/

mod isolated;
mod json;
mod review;
mod view;

use crate::session::{Journal, ModelSource, Opening, Place, Snapshot};
pub use isolated::bring_back;
pub use json::JsonLines;

pub use view::{TerminalView, colored_unified, plan_line};

/// Says on stderr which context window is used, for servers other than GLM's (where it is known).
pub fn report_window(settings: &crate::config::Settings) {
    if settings.kind == crate::protocol::modes::ProviderKind::Openai {
        eprintln!("{}", console::style(settings.describe_window()).dim());
    }
}

/// Says on stderr what went wrong outside the session's own events (an MCP server left out).
pub fn report_problem(problem: String) {
    eprintln!("{}", console::style(problem).yellow());
}

/// Says on stderr what a saved change that was offered for review did to `workspace`.
pub fn report_offered(workspace: &std::path::Path, offered: &crate::isolate::Offered) {
    use crate::isolate::Offered;
    match offered {
        Offered::Applied { summary, note } => {
            eprintln!("applied to {}:\n{summary}", workspace.display());
            if let Some(note) = note {
                eprintln!("({note})");
            }
        }
        Offered::NotApplied | Offered::Quit => {}
    }
}

/// How questions are answered here: by the person at this terminal when stdin is one; otherwise
/// no one can answer, and what needs a question is denied.
pub fn interaction() -> crate::approval::Interaction {
    use crate::approval::Interaction;
    match std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        true => Interaction::Asked(std::sync::Arc::new(review::TerminalAsker)),
        false => Interaction::Unattended,
    }
}

/// The terminal as a session's front end (`agent run`, a batch's tasks): questions as
/// [`interaction`] says; files are on disk.
pub struct TerminalFront;

impl crate::session::Front for TerminalFront {
    fn interaction(
        &self,
        _session_id: &str,
        _stop: crate::session::Stop,
    ) -> crate::approval::Interaction {
        interaction()
    }

    fn editor(&self, _session_id: &str) -> Option<crate::agent::Editor> {
        None
    }
}

/// What opens a session on the terminal for these flags (`agent run`, the conversation): in the
/// workspace `real`, or in a worktree of it made for `--isolate` (then without an edit journal:
/// the whole change is reviewed at the end).
pub fn opening(args: &crate::cli::SessionArgs, real: &agent_tools::Workspace) -> Opening<'static> {
    let root = real.root().to_path_buf();
    let place = match args.isolate {
        true => Place::Isolate(root),
        false => Place::Workspace(root),
    };
    let mut opening = Opening::new(
        &TerminalFront,
        place,
        ModelSource::Choice(args.model.choice()),
    );
    opening.begin = args.begin();
    opening.sessions_dir = args.sessions_dir.clone();
    opening.approval = args.workspace.approval_flag();
    opening.sandbox = args.sandbox.choice();
    if args.isolate {
        opening.journal = Journal::NotKept;
    }
    if args.no_snapshot {
        opening.snapshot = Snapshot::Off;
    }
    opening
}
