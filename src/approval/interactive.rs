/*!
The one-key review prompts on the terminal (blocking; run on a blocking thread).

Edits: `y` apply, `n` reject, `s` hunk by hunk, `e` edit in `$EDITOR`, `a` accept this and all later
edits, `d` reject with a reason, `q` reject and stop. Commands: `y`, `n`, `a` (always allow this
command prefix in this session), `d`, `q`.
*/

use std::io::Write;

use agent_tools::{ChangeKind, FileChange, PreparedEdit};
use console::{Term, style};

use super::hunks::{FilePick, file_header, hunks, picked};
use super::render::render_edit;

pub enum EditAnswer {
    Apply {
        edit: PreparedEdit,
        note: Option<String>,
    },
    AcceptAll,
    Reject {
        reason: String,
    },
    Quit,
}

pub enum CommandAnswer {
    Run,
    AlwaysAllowPrefix,
    Reject { reason: String },
    Quit,
}

pub fn ask_edit(edit: &PreparedEdit) -> EditAnswer {
    let term = Term::stderr();
    let _ = term.write_line(&render_edit(edit));
    loop {
        let key = read_key(
            &term,
            "Apply? [y]es [n]o [s]plit hunks [e]dit [a]ll edits [d]eny with reason [q]uit",
        );
        match key {
            Some('y') => {
                return EditAnswer::Apply {
                    edit: edit.clone(),
                    note: None,
                };
            }
            Some('n') => {
                return EditAnswer::Reject {
                    reason: String::new(),
                };
            }
            Some('s') => return by_hunk(&term, edit),
            Some('e') => return in_editor(&term, edit),
            Some('a') => return EditAnswer::AcceptAll,
            Some('d') => {
                return EditAnswer::Reject {
                    reason: read_reason(&term),
                };
            }
            Some('q') | None => return EditAnswer::Quit,
            Some(_) => {}
        }
    }
}

pub fn ask_command(command: &str) -> CommandAnswer {
    ask_to_run(
        &format!("$ {command}"),
        "Run? [y]es [n]o [a]lways allow this command [d]eny with reason [q]uit",
    )
}

/// Asks whether to call an MCP server's tool with these arguments.
pub fn ask_tool_call(tool: &str, arguments: &str) -> CommandAnswer {
    ask_to_run(
        &format!("{tool} {arguments}"),
        "Call? [y]es [n]o [a]lways allow this tool [d]eny with reason [q]uit",
    )
}

fn ask_to_run(shown: &str, question: &str) -> CommandAnswer {
    let term = Term::stderr();
    let _ = term.write_line(&style(shown).bold().to_string());
    loop {
        match read_key(&term, question) {
            Some('y') => return CommandAnswer::Run,
            Some('n') => {
                return CommandAnswer::Reject {
                    reason: String::new(),
                };
            }
            Some('a') => return CommandAnswer::AlwaysAllowPrefix,
            Some('d') => {
                return CommandAnswer::Reject {
                    reason: read_reason(&term),
                };
            }
            Some('q') | None => return CommandAnswer::Quit,
            Some(_) => {}
        }
    }
}

/// Shows the question and reads one key; None when the terminal is gone.
fn read_key(term: &Term, question: &str) -> Option<char> {
    let _ = write!(&*term, "{} ", style(question).yellow());
    let _ = term.flush();
    let key = term.read_char().ok()?;
    let _ = term.write_line(&key.to_string());
    Some(key.to_ascii_lowercase())
}

fn read_reason(term: &Term) -> String {
    let _ = write!(&*term, "{}", style("Why? ").yellow());
    let _ = term.flush();
    term.read_line()
        .map(|line| line.trim().to_string())
        .unwrap_or_default()
}

/// Asks whether to apply an existing file's mode change (a new file's mode comes with it):
/// whether there was one and it was accepted.
fn ask_mode_change(term: &Term, change: &FileChange) -> bool {
    match (&change.kind, change.executable.describe()) {
        (ChangeKind::Modify, Some(mode)) => {
            read_key(term, &format!("Apply the mode change ({mode})? [y/n]")) == Some('y')
        }
        (ChangeKind::Modify | ChangeKind::Create | ChangeKind::Delete, _) => false,
    }
}

/// Asks y/n for every hunk of every file; applies only the accepted ones.
fn by_hunk(term: &Term, edit: &PreparedEdit) -> EditAnswer {
    let mut picks = Vec::new();
    for change in &edit.changes {
        let _ = term.write_line(&file_header(change));
        let split = hunks(
            change.old.as_deref().unwrap_or(""),
            change.new.as_deref().unwrap_or(""),
        );
        let mut accepted = Vec::new();
        for hunk in &split {
            let _ = term.write_line(hunk.rendered.trim_end());
            accepted.push(read_key(term, "Apply this hunk? [y/n]") == Some('y'));
        }
        picks.push(FilePick {
            hunks: accepted,
            mode: ask_mode_change(term, change),
        });
    }
    match picked(edit, &picks) {
        Some((edit, note)) => EditAnswer::Apply {
            edit,
            note: Some(format!("the user reviewed hunk by hunk: {note}")),
        },
        None => EditAnswer::Reject {
            reason: "the user rejected every hunk".into(),
        },
    }
}

/// Opens each new file content in `$VISUAL`/`$EDITOR` and applies what the user saved.
fn in_editor(term: &Term, edit: &PreparedEdit) -> EditAnswer {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let mut changes = Vec::new();
    for change in &edit.changes {
        match edit_one(&editor, change) {
            Ok(edited) => changes.push(edited),
            Err(error) => {
                let _ =
                    term.write_line(&style(format!("editor failed: {error}")).red().to_string());
                return EditAnswer::Reject {
                    reason: format!(
                        "the user tried to edit the change but the editor failed ({error})"
                    ),
                };
            }
        }
    }
    let paths: Vec<&str> = changes.iter().map(|change| change.path.as_str()).collect();
    let note = format!(
        "the user edited your change in their editor before applying it; {} now hold(s) their version, read before editing again",
        paths.join(", ")
    );
    EditAnswer::Apply {
        edit: PreparedEdit { changes },
        note: Some(note),
    }
}

fn edit_one(editor: &str, change: &FileChange) -> anyhow::Result<FileChange> {
    let Some(new) = &change.new else {
        return Ok(change.clone());
    };
    let name = change.path.rsplit('/').next().unwrap_or("edit");
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(name);
    std::fs::write(&path, new)?;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&path)
        .status()?;
    if !status.success() {
        anyhow::bail!("`{editor}` exited with {status}");
    }
    let mut edited = change.clone();
    edited.new = Some(std::fs::read_to_string(&path)?);
    Ok(edited)
}
