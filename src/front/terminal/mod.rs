/*!
The terminal front ends: the human view of the event stream, `--json` lines, and the lines
the command-line front ends say on stderr outside any session.
*/

mod json;
mod view;

pub use json::JsonLines;
pub use view::TerminalView;

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
